//! [`SqliteStore`]: the embedded default backend, one SQLite file in WAL mode.

use std::path::Path;
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
    AdminStore, CommandQueue, ConfigurationStore, DeclarationStore, EnrollmentStore, PortalStore,
    PushCertificateStore, UserCertificateStore,
};
use crate::secret_file::restrict_to_owner;
use crate::{CommandStatus, EnrollmentId, Error, Result, Secret};

const MIGRATIONS: Migrations = &[
    (1, include_str!("migrations/sqlite_0001_initial.sql")),
    (2, include_str!("migrations/sqlite_0002_portal.sql")),
    (3, include_str!("migrations/sqlite_0003_key_check.sql")),
    (4, include_str!("migrations/sqlite_0004_ddm.sql")),
    (5, include_str!("migrations/sqlite_0005_settings.sql")),
    (6, include_str!("migrations/sqlite_0006_expiry_notices.sql")),
    (7, include_str!("migrations/sqlite_0007_admin_users.sql")),
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
    /// The schema version this mdmkit migrates databases to (its last migration).
    pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

    /// Opens (creating it if missing) the database at `location`, a file path or a
    /// `sqlite:` URL, applies pending migrations and verifies `key` against the store's
    /// key check ([`Error::StoreKeyMismatch`] for another key, with nothing written). A
    /// new database records the key's check.
    ///
    /// The database file is created readable by its owner only (0600 on Unix), and an
    /// existing one (with its `-wal` and `-shm` files) is narrowed to that; SQLite gives
    /// the `-wal` and `-shm` files it creates the database file's mode.
    pub async fn open(location: &str, key: AtRestKey) -> Result<Self> {
        Self::open_with(location, key, KeyUse::Existing).await
    }

    /// Like [`open`](Self::open), for a key that was just created: refused with
    /// [`Error::StoreNotEmpty`] (nothing written) when the database already holds data
    /// or another key's check.
    pub async fn open_new(location: &str, key: AtRestKey) -> Result<Self> {
        Self::open_with(location, key, KeyUse::New).await
    }

    async fn open_with(location: &str, key: AtRestKey, key_use: KeyUse) -> Result<Self> {
        let options = if location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(location)
                .map_err(|e| Error::StoreInput(format!("bad SQLite location {location:?}: {e}")))?
        } else {
            SqliteConnectOptions::new().filename(location)
        };
        let in_memory = location.contains(":memory:") || location.contains("mode=memory");
        if !in_memory {
            owner_only_database(options.get_filename())?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            // Deleted and overwritten content is zeroed, not left in free space: a
            // replaced secret (or the plaintext an older version kept) does not linger.
            .pragma("secure_delete", "ON");
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
        if let Err(error) = store.apply_migrations(MIGRATIONS, key_use).await {
            store.pool.close().await;
            return Err(error);
        }
        // Into the main file now: what an open re-sealed (the plaintext an older version
        // kept) must not wait for the next checkpoint to leave it. A reader elsewhere may
        // hold the checkpoint back; that is not an error.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&store.pool)
            .await
            .map_err(backend)?;
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

/// Creates the database file owner-only before SQLite does (SQLite would create it 0644
/// and give its `-wal` and `-shm` files the same mode), or narrows an existing one and
/// its `-wal` and `-shm` files to the owner.
fn owner_only_database(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                match restrict_to_owner(Path::new(&name)) {
                    Ok(()) => {}
                    // Another user's file (a shared deployment): its owner chose its mode,
                    // and only the owner may change it.
                    Err(_) if !owned_by_us(Path::new(&name)) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(())
        }
        // A directory that does not exist: let SQLite report it.
        Err(_) => Ok(()),
    }
}

/// Whether the process can change the file's mode (it owns it): probed by setting the
/// mode it already has, which only the owner (or root) may do.
fn owned_by_us(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(metadata) => std::fs::set_permissions(path, metadata.permissions()).is_ok(),
        Err(_) => false,
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

super::settings_sql::impl_sql_settings!(SqliteStore, Sqlite);
