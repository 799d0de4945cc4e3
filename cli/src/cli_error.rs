//! The one error type of the command-line tool.

use std::fmt;

/// A failure to report to the user: one line of text and an exit code.
#[derive(Debug)]
pub struct CliError {
    message: String,
    exit_code: u8,
}

/// The result of a subcommand.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// Bad input from the user (unknown name, missing key, wrong value, unreadable file):
    /// exit code 2.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: 2,
        }
    }

    /// Any other failure (a store, a network peer): exit code 1.
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: 1,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, always: a multi-line library message is folded.
        f.write_str(&self.message.replace('\n', " "))
    }
}

impl From<mdmkit_core::Error> for CliError {
    fn from(error: mdmkit_core::Error) -> Self {
        let message = format!("{error} [{}]", error.code());
        match error.code() {
            // The database failed: not the user's input.
            "store_backend" => CliError::failure(message),
            _ => CliError::input(message),
        }
    }
}

/// Reads a file named on the command line (`-` is standard input), with a clear error.
pub fn read_input(path: &str) -> CliResult<Vec<u8>> {
    use std::io::Read;
    if path == "-" {
        let mut buffer = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buffer)
            .map_err(|e| CliError::input(format!("cannot read standard input: {e}")))?;
        Ok(buffer)
    } else {
        std::fs::read(path).map_err(|e| CliError::input(format!("cannot read {path}: {e}")))
    }
}

/// Reads a file holding a secret (a key, a password) named on the command line (`-` is
/// standard input). A file that others than its owner can read is refused with one line,
/// as ssh does ([`secret_file_too_open`](mdmkit_core::Error::SecretFileTooOpen)).
pub fn read_secret_input(path: &str) -> CliResult<Vec<u8>> {
    if path == "-" {
        return read_input(path);
    }
    Ok(mdmkit_core::secret_file::read_secret_file(
        std::path::Path::new(path),
    )?)
}

/// Writes a file holding a secret (a key, a PKCS#12, a profile that may carry an identity
/// or passwords), readable by its owner only (0600).
pub fn write_secret_output(path: &std::path::Path, bytes: &[u8]) -> CliResult<()> {
    mdmkit_core::secret_file::write_secret_file(path, bytes)
        .map_err(|e| CliError::failure(format!("{e} [{}]", e.code())))
}

/// Prints text on standard output. A closed pipe (`mdmkit ... | head`) ends the program
/// quietly instead of panicking as `println!` would.
pub fn print_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

impl From<mdmkit_service::Error> for CliError {
    fn from(error: mdmkit_service::Error) -> Self {
        match error {
            mdmkit_service::Error::Core(inner) => inner.into(),
            mdmkit_service::Error::SettingMissing { .. } => CliError::input(error.to_string()),
            other => {
                let message = format!("{other} [{}]", other.code());
                match other.code() {
                    "store_backend" | "connection_failure" | "tls_failure" | "smtp" => {
                        CliError::failure(message)
                    }
                    _ => CliError::input(message),
                }
            }
        }
    }
}

impl From<mdmkit_web::Error> for CliError {
    fn from(error: mdmkit_web::Error) -> Self {
        match error {
            mdmkit_web::Error::Service(inner) => inner.into(),
            other => CliError::failure(format!("{other} [{}]", other.code())),
        }
    }
}
