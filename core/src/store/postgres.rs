//! [`PostgresStore`]: the backend for fleets that outgrow one machine.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool, Postgres, Row, Transaction};
use time::OffsetDateTime;

use super::crypto::AtRestKey;
use super::model::*;
use super::sql::*;
use super::{
    AdminStore, CommandQueue, ConfigurationStore, DeclarationStore, EnrollmentStore, PortalStore,
    PushCertificateStore, UserCertificateStore,
};
use crate::{CommandStatus, EnrollmentId, Error, Result, Secret};

const MIGRATIONS: Migrations = &[
    (1, include_str!("migrations/postgres_0001_initial.sql")),
    (2, include_str!("migrations/postgres_0002_portal.sql")),
    (3, include_str!("migrations/postgres_0003_key_check.sql")),
    (4, include_str!("migrations/postgres_0004_ddm.sql")),
    (5, include_str!("migrations/postgres_0005_settings.sql")),
    (
        6,
        include_str!("migrations/postgres_0006_expiry_notices.sql"),
    ),
    (7, include_str!("migrations/postgres_0007_admin_users.sql")),
];

/// The advisory lock key that serialises migrations of several engines starting at once.
const MIGRATION_LOCK: i64 = 0x6d64_6d6b_6974; // "mdmkit"

/// Every store trait in a PostgreSQL database, through a connection pool.
///
/// Several engine instances may share one database: dequeues lock rows with
/// `FOR UPDATE SKIP LOCKED`, so two of them never hand out the same command, and
/// migrations run under an advisory lock. Secrets are sealed with the [`AtRestKey`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    key: AtRestKey,
}

impl PostgresStore {
    /// The schema version this mdmkit migrates databases to (its last migration).
    pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

    /// Connects to `url` (`postgres://user:password@host/database`), applies pending
    /// migrations and verifies `key` against the store's key check
    /// ([`Error::StoreKeyMismatch`] for another key, with nothing written). A new
    /// database records the key's check.
    pub async fn connect(url: &str, key: AtRestKey) -> Result<Self> {
        Self::connect_with(Self::parse(url)?, key, KeyUse::Existing).await
    }

    /// Like [`connect`](Self::connect), for a key that was just created: refused with
    /// [`Error::StoreNotEmpty`] (nothing written) when the database already holds data
    /// or another key's check.
    pub async fn connect_new(url: &str, key: AtRestKey) -> Result<Self> {
        Self::connect_with(Self::parse(url)?, key, KeyUse::New).await
    }

    /// Connects to `url` with every table in `schema` (created if missing), so several
    /// independent stores can share one database. `schema` is letters, digits and `_`.
    pub async fn connect_in_schema(url: &str, schema: &str, key: AtRestKey) -> Result<Self> {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !schema.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(Error::StoreInput(format!(
                "schema name {schema:?} must be letters, digits and _"
            )));
        }
        let options = Self::parse(url)?;
        let mut connection = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(backend)?;
        // Under the migration lock: two engines creating the schema at once would clash.
        let mut tx = connection.begin().await.map_err(backend)?;
        Self::lock_migrations(&mut tx).await?;
        sqlx::raw_sql(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        connection.close().await.map_err(backend)?;
        Self::connect_with(
            options.options([("search_path", schema)]),
            key,
            KeyUse::Existing,
        )
        .await
    }

    fn parse(url: &str) -> Result<PgConnectOptions> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::StoreInput(
                "a PostgreSQL URL starts with postgres:// or postgresql://".to_owned(),
            ));
        }
        PgConnectOptions::from_str(url)
            .map_err(|e| Error::StoreInput(format!("bad PostgreSQL URL: {e}")))
    }

    async fn connect_with(
        options: PgConnectOptions,
        key: AtRestKey,
        key_use: KeyUse,
    ) -> Result<Self> {
        // One direct connection first: an unreachable server fails now, not after the
        // pool's acquire timeout.
        sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(backend)?
            .close()
            .await
            .map_err(backend)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // No ping before each use, which would double the round trips; a broken
            // connection fails its query and leaves the pool, and lifetimes recycle them.
            .test_before_acquire(false)
            .idle_timeout(Duration::from_secs(300))
            .max_lifetime(Duration::from_secs(1800))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(backend)?;
        let store = Self { pool, key };
        if let Err(error) = store.apply_migrations(MIGRATIONS, key_use).await {
            store.pool.close().await;
            return Err(error);
        }
        Ok(store)
    }

    /// The claim and the command's row come back in one round trip.
    const CLAIM_RETURNS_COMMAND: bool = true;

    /// The identifier list parameter: a `text[]` read with `unnest`.
    fn id_list_param(ids: &[&str]) -> Result<Vec<String>> {
        Ok(ids.iter().map(|id| (*id).to_owned()).collect())
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(backend)
    }

    async fn lock_migrations(tx: &mut Transaction<'_, Postgres>) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl_sql_store!(
    PostgresStore,
    Postgres,
    id_list = "SELECT unnest($1::text[]) AS value",
    skip_locked = " FOR UPDATE SKIP LOCKED",
    claim_prefix = "WITH claimed AS (",
    claim_suffix = ") SELECT c.command_uuid, c.request_type, c.payload, c.priority, \
        c.created_at FROM mdmkit_commands c JOIN claimed USING (command_uuid)"
);

super::settings_sql::impl_sql_settings!(PostgresStore, Postgres);
