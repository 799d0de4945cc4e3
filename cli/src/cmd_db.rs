//! `mdmkit db`: the store's database.
//!
//! Maintenance of the store itself (schema migrations, re-sealing under a new at-rest
//! key), beneath any deployment: there is nothing of the service to assemble, so these
//! call core's store functions directly.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use mdmkit_core::store::AtRestKey;

use crate::store_open::{block_on, open_store, GlobalOpts};
use crate::{CliError, CliResult};

/// Manage the store's database.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database if needed and apply pending schema migrations.
    Migrate,
    /// Re-seal every secret in the store under a new at-rest key, in one transaction,
    /// and record the new key's check. Stop every server using the store first; then use
    /// the new key file (the old one no longer opens the store).
    RotateKey {
        /// The new key: an existing key file (64 hex digits, readable by its owner only),
        /// or created with a new random key (0600) when it does not exist.
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

/// Runs a `db` subcommand.
pub fn run(command: DbCommand, opts: &GlobalOpts) -> CliResult<()> {
    match command {
        DbCommand::Migrate => {
            if opts.db.is_empty() {
                return Err(CliError::input("--db must not be empty"));
            }
            let version = block_on(async {
                let store = open_store(opts).await?;
                drop(store);
                Ok::<_, CliError>(mdmkit_core::store::migrate(&opts.db, opts.key()?).await?)
            })??;
            println!("database schema at version {version}");
            Ok(())
        }
        DbCommand::RotateKey { new_key_file } => rotate_key(opts, &new_key_file),
    }
}

fn rotate_key(opts: &GlobalOpts, new_key_file: &Path) -> CliResult<()> {
    if opts.db.is_empty() || opts.db == "memory:" {
        return Err(CliError::input(
            "--db must name an SQLite or PostgreSQL store",
        ));
    }
    if same_file(&opts.key_file, new_key_file) {
        return Err(CliError::input(
            "--new-key-file must be another file than --key-file",
        ));
    }
    let key = opts.key()?;
    let created = !new_key_file.exists();
    let new_key = if created {
        let new_key = AtRestKey::generate()?;
        new_key.create_file(new_key_file)?;
        new_key
    } else {
        AtRestKey::load(new_key_file)?
    };
    let result = block_on(mdmkit_core::store::rotate_key(&opts.db, key, &new_key))?;
    match result {
        Ok(count) => {
            println!(
                "re-sealed {count} values under the key in {}; use --key-file {} from now on",
                new_key_file.display(),
                new_key_file.display()
            );
            Ok(())
        }
        Err(error) => {
            if created {
                // Best effort: nothing was sealed under it.
                let _ = std::fs::remove_file(new_key_file);
            }
            Err(error.into())
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
