//! [`SqliteStore`]: the embedded default backend, one SQLite file in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;

use super::crypto::AtRestKey;
use super::model::*;
use super::sql::*;
use super::{
    CommandQueue, ConfigurationStore, DeclarationStore, EnrollmentStore, PortalStore,
    PushCertificateStore, UserCertificateStore,
};
use crate::{CommandStatus, EnrollmentId, Error, Result, Secret};

const MIGRATIONS: Migrations = &[
    (1, include_str!("migrations/sqlite_0001_initial.sql")),
    (2, include_str!("migrations/sqlite_0002_portal.sql")),
    (4, include_str!("migrations/sqlite_0004_ddm.sql")),
];

/// Every store trait in one SQLite file (WAL journal, migrations applied on open).
///
/// Safe under concurrent async use: a pool of connections reads in parallel, writes take
/// SQLite's write lock up front and wait for it (busy timeout), and each operation is one
/// statement or one transaction. Secrets are sealed with the [`AtRestKey`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    key: AtRestKey,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `location`, a file path or a
    /// `sqlite:` URL, and applies pending migrations.
    pub async fn open(location: &str, key: AtRestKey) -> Result<Self> {
        let options = if location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(location)
                .map_err(|e| Error::StoreInput(format!("bad SQLite location {location:?}: {e}")))?
        } else {
            SqliteConnectOptions::new().filename(location)
        };
        let in_memory = location.contains(":memory:") || location.contains("mode=memory");
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            // A local file: no connection to test before each use (a round trip per query).
            .test_before_acquire(false)
            // An in-memory database exists once per connection: keep exactly one.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .connect_with(options)
            .await
            .map_err(backend)?;
        let store = Self { pool, key };
        store.apply_migrations(MIGRATIONS).await?;
        Ok(store)
    }

    /// SQLite has no `UPDATE` inside `WITH`: the command is read in a second statement.
    const CLAIM_RETURNS_COMMAND: bool = false;

    /// The identifier list parameter: a JSON array read with `json_each`.
    fn id_list_param(ids: &[&str]) -> Result<String> {
        serde_json::to_string(ids).map_err(|e| Error::StoreInput(format!("identifiers: {e}")))
    }

    /// A transaction holding the write lock from its start, so it never fails half-way
    /// when another connection writes first.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }

    /// The write lock of `begin_write` already serialises migrations.
    async fn lock_migrations(_tx: &mut Transaction<'static, Sqlite>) -> Result<()> {
        Ok(())
    }
}

impl_sql_store!(
    SqliteStore,
    Sqlite,
    id_list = "SELECT value FROM json_each($1)",
    skip_locked = "",
    claim_prefix = "",
    claim_suffix = ""
);
