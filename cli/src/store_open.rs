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

    /// The at-rest encryption key (64 hex digits); created, readable by the owner only,
    /// when absent.
    #[arg(long, global = true, value_name = "FILE", default_value = "mdmkit.key")]
    pub key_file: PathBuf,
}

impl GlobalOpts {
    /// Reads the key file, creating it when absent.
    pub fn key(&self) -> CliResult<AtRestKey> {
        Ok(AtRestKey::load_or_create(&self.key_file)?)
    }
}

/// Opens the store named by `--db` (applying pending migrations) with the `--key-file` key.
pub async fn open_store(opts: &GlobalOpts) -> CliResult<SharedStore> {
    if opts.db.is_empty() {
        return Err(CliError::input("--db must not be empty"));
    }
    let key = opts.key()?;
    Ok(mdmkit_core::store::open(&opts.db, key).await?)
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
