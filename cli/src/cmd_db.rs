//! `mdmkit db`: the store's database.

use clap::Subcommand;

use crate::store_open::{block_on, GlobalOpts};
use crate::{CliError, CliResult};

/// Manage the store's database.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database if needed and apply pending schema migrations.
    Migrate,
}

/// Runs a `db` subcommand.
pub fn run(command: DbCommand, opts: &GlobalOpts) -> CliResult<()> {
    match command {
        DbCommand::Migrate => {
            if opts.db.is_empty() {
                return Err(CliError::input("--db must not be empty"));
            }
            let key = opts.key()?;
            let version = block_on(mdmkit_core::store::migrate(&opts.db, key))??;
            println!("database schema at version {version}");
            Ok(())
        }
    }
}
