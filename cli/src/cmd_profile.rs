//! `mdmkit profile build|sign|verify|inspect|encrypt|decrypt`: configuration profiles.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use mdmkit_core::json::dictionary_to_json;
use mdmkit_core::profile::{self, Profile, SigningIdentity};
use serde_json::json;

use crate::{print_out, read_input, write_secret_output, CliError, CliResult};

/// Subcommands of `mdmkit profile`.
#[derive(Debug, Subcommand)]
pub enum ProfileCmd {
    /// Build a .mobileconfig from a JSON spec written with Apple's key names.
    Build {
        /// The spec: the profile's keys and a PayloadContent array of payloads (`-` reads
        /// standard input).
        spec: String,
        /// Where to write the profile (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Sign a .mobileconfig (CMS SignedData, DER).
    Sign {
        /// The profile to sign.
        input: String,
        /// The signer certificate (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
        /// The signer's private key (PEM or DER, unencrypted).
        #[arg(long)]
        key: PathBuf,
        /// Intermediate certificates to include (PEM bundle).
        #[arg(long)]
        chain: Option<PathBuf>,
        /// Where to write the signed profile.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Verify a signed profile; prints the signer and the profile's identifier.
    Verify {
        /// The signed profile.
        file: String,
        /// Trusted root certificates (PEM bundle or DER): the signer must chain to one.
        /// Without it only the signature is checked.
        #[arg(long)]
        ca: Option<PathBuf>,
    },
    /// Print a profile (signed or not, encrypted or not) as JSON.
    Inspect {
        /// The profile.
        file: String,
    },
    /// Encrypt a profile's payloads to a device certificate (EncryptedPayloadContent); sign
    /// the result afterwards if wanted.
    Encrypt {
        /// The profile (XML or binary plist, not signed).
        input: String,
        /// The device's identity certificate (PEM or DER, RSA key).
        #[arg(long)]
        cert: PathBuf,
        /// Where to write the encrypted profile (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Decrypt an encrypted profile (signed or not) with the device's certificate and key;
    /// writes the profile with its payloads, unsigned.
    Decrypt {
        /// The encrypted profile.
        input: String,
        /// The certificate the profile is encrypted to (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
        /// Its private key (PEM or DER, unencrypted).
        #[arg(long)]
        key: PathBuf,
        /// Where to write the decrypted profile (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

fn read_path(path: &Path) -> CliResult<Vec<u8>> {
    read_input(&path.to_string_lossy())
}

fn write_output(output: Option<&PathBuf>, bytes: &[u8]) -> CliResult<()> {
    match output {
        // A profile may carry passwords or an identity: owner-only.
        Some(path) => write_secret_output(path, bytes),
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(bytes)
                .map_err(|e| CliError::failure(format!("cannot write output: {e}")))
        }
    }
}

fn in_file(file: &str, error: mdmkit_core::Error) -> CliError {
    CliError::input(format!("{file}: {error} [{}]", error.code()))
}

/// Runs `mdmkit profile ...`.
pub fn run(cmd: ProfileCmd) -> CliResult<()> {
    match cmd {
        ProfileCmd::Build { spec, output } => {
            let text = read_input(&spec)?;
            let json: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| CliError::input(format!("{spec}: not JSON: {e}")))?;
            let profile = Profile::from_json_spec(&json).map_err(|e| in_file(&spec, e))?;
            let xml = profile.to_xml().map_err(|e| in_file(&spec, e))?;
            write_output(output.as_ref(), &xml)
        }
        ProfileCmd::Sign {
            input,
            cert,
            key,
            chain,
            output,
        } => {
            let content = read_input(&input)?;
            if profile::is_signed(&content) {
                return Err(CliError::input(format!(
                    "{input}: the profile is already signed"
                )));
            }
            Profile::read_maybe_encrypted(&content)
                .and_then(|p| p.validate())
                .map_err(|e| in_file(&input, e))?;
            let chain = chain.as_ref().map(|p| read_path(p)).transpose()?;
            let identity = SigningIdentity::from_bytes(
                &read_path(&cert)?,
                &read_path(&key)?,
                chain.as_deref(),
            )?;
            let signed = profile::sign_bytes(&content, &identity)?;
            write_output(Some(&output), &signed)
        }
        ProfileCmd::Verify { file, ca } => {
            let bytes = read_input(&file)?;
            let trusted = ca.as_ref().map(|p| read_path(p)).transpose()?;
            let verified =
                profile::verify(&bytes, trusted.as_deref()).map_err(|e| in_file(&file, e))?;
            print_out(&format!(
                "verified: {} signed by {}{}\n",
                verified.profile.identifier,
                verified.signer_subject,
                if trusted.is_some() {
                    " (chain trusted)"
                } else {
                    " (signature only; give --ca to check the chain)"
                }
            ));
            Ok(())
        }
        ProfileCmd::Inspect { file } => {
            let bytes = read_input(&file)?;
            let (profile, signer) = if profile::is_signed(&bytes) {
                let verified = profile::verify(&bytes, None).map_err(|e| in_file(&file, e))?;
                (verified.profile, Some(verified.signer_subject))
            } else {
                (
                    Profile::read_maybe_encrypted(&bytes).map_err(|e| in_file(&file, e))?,
                    None,
                )
            };
            let value = json!({
                "signed": signer.is_some(),
                "signer": signer,
                "encrypted": profile.is_encrypted(),
                "profile": dictionary_to_json(&profile.to_dictionary()),
            });
            print_out(&format!("{value:#}\n"));
            Ok(())
        }
        ProfileCmd::Encrypt {
            input,
            cert,
            output,
        } => {
            let content = read_input(&input)?;
            if profile::is_signed(&content) {
                return Err(CliError::input(format!(
                    "{input}: the profile is signed; encrypt the unsigned profile, then sign"
                )));
            }
            let profile = Profile::read(&content).map_err(|e| in_file(&input, e))?;
            let encrypted = profile::encrypt(&profile, &read_path(&cert)?)?;
            write_output(output.as_ref(), &encrypted.to_xml()?)
        }
        ProfileCmd::Decrypt {
            input,
            cert,
            key,
            output,
        } => {
            let content = read_input(&input)?;
            let encrypted =
                Profile::read_maybe_encrypted(&content).map_err(|e| in_file(&input, e))?;
            if !encrypted.is_encrypted() {
                return Err(CliError::input(format!(
                    "{input}: the profile is not encrypted (no EncryptedPayloadContent)"
                )));
            }
            let profile = profile::decrypt(&encrypted, &read_path(&cert)?, &read_path(&key)?)
                .map_err(|e| in_file(&input, e))?;
            write_output(output.as_ref(), &profile.to_xml()?)
        }
    }
}
