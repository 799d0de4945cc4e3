//! The global store options (`--db`, `--key-file`) and how subcommands open the store.

use std::future::Future;
use std::path::PathBuf;

use std::sync::Arc;

use mdmkit_core::engine::Engine;
use mdmkit_core::store::{AtRestKey, SharedStore};

use crate::cmd_serve::NoPushCertificate;
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

/// An engine over `store` that queues commands without pushing (the device gets them at
/// its next check-in), for the subcommands that act on devices outside `serve`:
/// `portal as`, `portal webclip`, `certs import`. `device_ca` are the `--device-ca` files.
pub fn queueing_engine(
    store: SharedStore,
    device_ca: &[String],
    enrollment_profile_id: Option<String>,
) -> CliResult<Engine> {
    let mut builder = Engine::builder(store, Arc::new(NoPushCertificate));
    for path in device_ca {
        builder = builder.device_ca(read_input(path)?);
    }
    if let Some(id) = enrollment_profile_id {
        builder = builder.enrollment_profile_identifier(id);
    }
    builder
        .build()
        .map_err(|e| CliError::input(format!("--device-ca: {e}")))
}
