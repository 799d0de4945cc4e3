//! The global store options (`--db`, `--key-file`) and how subcommands open the store.

use std::future::Future;
use std::path::PathBuf;

use mdmkit_core::store::{AtRestKey, SharedStore};
use mdmkit_service::settings;
use mdmkit_service::{ActionOutcome, Mdm};

use crate::{read_input, CliError, CliResult};

/// Where the store is and how its secrets are encrypted; global options of `mdmkit`.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalOpts {
    /// The store: an SQLite file (path or sqlite: URL) or postgres://user@host/database.
    #[arg(long, global = true, value_name = "URL", default_value = "mdmkit.db")]
    pub db: String,

    /// The at-rest encryption key (64 hex digits), readable by its owner only; created
    /// (0600) only for a new, empty store.
    #[arg(long, global = true, value_name = "FILE", default_value = "mdmkit.key")]
    pub key_file: PathBuf,
}

impl GlobalOpts {
    /// Reads the key file; one readable by others than its owner is refused.
    pub fn key(&self) -> CliResult<AtRestKey> {
        Ok(AtRestKey::load(&self.key_file)?)
    }
}

/// Opens the store named by `--db` (applying pending migrations) with the `--key-file` key,
/// verified against the store's key check. When the key file does not exist, a new key is
/// written to it (0600), but only for a new, empty store: an existing store is refused
/// and the new key file removed again.
pub async fn open_store(opts: &GlobalOpts) -> CliResult<SharedStore> {
    if opts.db.is_empty() {
        return Err(CliError::input("--db must not be empty"));
    }
    if opts.key_file.exists() {
        return Ok(mdmkit_core::store::open(&opts.db, opts.key()?).await?);
    }
    let key = AtRestKey::generate()?;
    // The key file first: a store never records the check of a key that is not saved.
    key.create_file(&opts.key_file)?;
    match mdmkit_core::store::open_new(&opts.db, key).await {
        Ok(store) => Ok(store),
        Err(error) => {
            // Best effort: the key belongs to nothing, and the error below says why.
            let _ = std::fs::remove_file(&opts.key_file);
            match error {
                mdmkit_core::Error::StoreNotEmpty(_) => Err(CliError::input(format!(
                    "the key file {} does not exist, and {} already holds a store: pass the \
                     --key-file it was created with [store_not_empty]",
                    opts.key_file.display(),
                    opts.db
                ))),
                other => Err(other.into()),
            }
        }
    }
}

/// Runs a future to completion on a runtime made for one subcommand.
pub fn block_on<F: Future>(future: F) -> CliResult<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// The deployment for a subcommand that acts on devices (`portal as`, `portal webclip`,
/// `certs import`): its engine pushes through the push certificates installed in the
/// store. `device_ca` files (PEM) and `enrollment_profile_id`, when given, override the
/// stored settings for this run.
pub async fn deployment(
    opts: &GlobalOpts,
    device_ca: &[String],
    enrollment_profile_id: Option<String>,
) -> CliResult<Mdm> {
    let mut ca = String::new();
    for path in device_ca {
        let der_or_pem = read_input(path)?;
        let pem = pem_certificates(&der_or_pem)
            .ok_or_else(|| CliError::input(format!("--device-ca {path}: not a certificate")))?;
        ca.push_str(&pem);
    }
    open_mdm(opts, |mut config| {
        if !ca.is_empty() {
            config = config.setting(settings::DEVICE_CA_CERTIFICATE, ca);
        }
        if let Some(id) = enrollment_profile_id {
            config = config.setting(settings::ENROLLMENT_PROFILE_ID, id);
        }
        config
    })
    .await
}

/// Certificates given as PEM or DER, as PEM text.
fn pem_certificates(bytes: &[u8]) -> Option<String> {
    let certificates = match openssl::x509::X509::stack_from_pem(bytes) {
        Ok(certificates) if !certificates.is_empty() => certificates,
        _ => vec![openssl::x509::X509::from_der(bytes).ok()?],
    };
    let mut text = String::new();
    for certificate in certificates {
        text.push_str(std::str::from_utf8(&certificate.to_pem().ok()?).ok()?);
    }
    Some(text)
}

/// One line for a queued command: `queued UUID, pushed` or `queued UUID, not pushed:
/// REASON` (issue 13 §5: every command the CLI queues is pushed and says so).
pub fn outcome_line(outcome: &ActionOutcome) -> String {
    let uuid = outcome.command_uuid.as_deref().unwrap_or_default();
    if outcome.pushed {
        format!("queued {uuid}, pushed\n")
    } else {
        format!("queued {uuid}, not pushed: {}\n", outcome.push)
    }
}

/// Opens the deployment on the `--db` store with the `--key-file` key, the given settings
/// overriding the stored ones for this run (command-line flags).
pub async fn open_mdm(
    opts: &GlobalOpts,
    config: impl FnOnce(mdmkit_service::MdmConfig) -> mdmkit_service::MdmConfig,
) -> CliResult<mdmkit_service::Mdm> {
    let store = open_store(opts).await?;
    let base = mdmkit_service::MdmConfig::new(opts.db.clone());
    Ok(mdmkit_service::Mdm::with_store(store, config(base)).await?)
}
