//! The SQL backends' shared implementation.
//!
//! SQLite and PostgreSQL run the same statements: `$N` parameters, `ON CONFLICT`,
//! `RETURNING`, booleans, 64-bit integers (times are Unix microseconds) and byte strings.
//! Where the dialects differ (a list of identifiers bound as one parameter, row locks,
//! write transactions), each backend supplies its piece to [`impl_sql_store!`].

use time::OffsetDateTime;

use super::crypto::AtRestKey;
use crate::{CommandStatus, Error, Result, Secret};

/// The schema migrations of one backend: (version, SQL), in order.
pub(crate) type Migrations = &'static [(i64, &'static str)];

pub(crate) fn backend(error: sqlx::Error) -> Error {
    Error::StoreBackend(error.to_string())
}

/// Maps a unique-constraint violation to a conflict, anything else to a backend error.
pub(crate) fn conflict_or_backend(error: sqlx::Error, what: &str) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::StoreConflict(what.to_owned())
        }
        _ => backend(error),
    }
}

pub(crate) fn to_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|e| Error::StoreBackend(format!("stored time {micros} out of range: {e}")))
}

pub(crate) fn opt_from_micros(micros: Option<i64>) -> Result<Option<OffsetDateTime>> {
    micros.map(from_micros).transpose()
}

pub(crate) fn parse_status(name: &str) -> Result<CommandStatus> {
    name.parse()
        .map_err(|_| Error::StoreBackend(format!("stored command status {name:?} is unknown")))
}

pub(crate) fn to_i32(value: i64, column: &str) -> Result<i32> {
    i32::try_from(value)
        .map_err(|_| Error::StoreBackend(format!("stored {column} {value} out of range")))
}

/// The associated data binding a sealed value to its table, column and row.
fn context(table: &str, column: &str, row: &str) -> String {
    format!("{table}.{column}\0{row}")
}

pub(crate) fn seal(
    key: &AtRestKey,
    secret: Option<&Secret>,
    table: &str,
    column: &str,
    row: &str,
) -> Result<Option<Vec<u8>>> {
    secret
        .map(|secret| key.seal(secret.expose(), &context(table, column, row)))
        .transpose()
}

pub(crate) fn unseal(
    key: &AtRestKey,
    sealed: Option<Vec<u8>>,
    table: &str,
    column: &str,
    row: &str,
) -> Result<Option<Secret>> {
    sealed
        .map(|sealed| key.open(&sealed, &context(table, column, row)))
        .transpose()
}

/// Seals plain bytes (a raw message, a command payload) like a [`Secret`].
pub(crate) fn seal_bytes(
    key: &AtRestKey,
    bytes: Option<&[u8]>,
    table: &str,
    column: &str,
    row: &str,
) -> Result<Option<Vec<u8>>> {
    bytes
        .map(|bytes| key.seal(bytes, &context(table, column, row)))
        .transpose()
}

/// Opens what [`seal_bytes`] sealed.
pub(crate) fn unseal_bytes(
    key: &AtRestKey,
    sealed: Option<Vec<u8>>,
    table: &str,
    column: &str,
    row: &str,
) -> Result<Option<Vec<u8>>> {
    Ok(unseal(key, sealed, table, column, row)?.map(Secret::into_bytes))
}

/// The row part of a command result's context: its enrollment and command.
pub(crate) fn target_row(enrollment_id: &str, command_uuid: &str) -> String {
    format!("{enrollment_id}\0{command_uuid}")
}

/// A column whose every value is sealed, and the key columns naming a value's row (their
/// values joined with NUL form the row part of the value's context).
pub(crate) struct SealedColumn {
    pub(crate) table: &'static str,
    pub(crate) column: &'static str,
    pub(crate) keys: &'static [&'static str],
    /// Sealed only since schema version 3 (plaintext in stores created before).
    pub(crate) since_v3: bool,
}

const fn sealed(
    table: &'static str,
    column: &'static str,
    keys: &'static [&'static str],
    since_v3: bool,
) -> SealedColumn {
    SealedColumn {
        table,
        column,
        keys,
        since_v3,
    }
}

/// Every sealed column of the SQL schema: what key rotation re-seals.
pub(crate) const SEALED_COLUMNS: &[SealedColumn] = &[
    sealed("mdmkit_enrollments", "unlock_token", &["id"], false),
    sealed("mdmkit_enrollments", "bootstrap_token", &["id"], false),
    sealed("mdmkit_push_certificates", "private_key", &["topic"], false),
    sealed("mdmkit_csr_keys", "private_key", &["id"], false),
    sealed("mdmkit_user_certificates", "pkcs12", &["id"], false),
    sealed(
        "mdmkit_user_certificates",
        "pkcs12_password",
        &["id"],
        false,
    ),
    sealed("mdmkit_portal_users", "password_hash", &["id"], false),
    sealed("mdmkit_admin_users", "password_hash", &["id"], false),
    sealed("mdmkit_enrollments", "authenticate_message", &["id"], true),
    sealed("mdmkit_enrollments", "token_update_message", &["id"], true),
    sealed("mdmkit_devices", "device_information", &["device_id"], true),
    sealed("mdmkit_commands", "payload", &["command_uuid"], true),
    sealed(
        "mdmkit_command_targets",
        "result_payload",
        &["enrollment_id", "command_uuid"],
        true,
    ),
    sealed("mdmkit_configurations", "payload", &["id"], true),
];

/// The tables whose rows make a store "hold data" (a new key is refused for it).
pub(crate) const DATA_TABLES: &[&str] = &[
    "mdmkit_enrollments",
    "mdmkit_devices",
    "mdmkit_commands",
    "mdmkit_push_certificates",
    "mdmkit_csr_keys",
    "mdmkit_user_certificates",
    "mdmkit_certificate_kinds",
    "mdmkit_configurations",
    "mdmkit_portal_users",
    "mdmkit_admin_users",
    "mdmkit_tokens",
    "mdmkit_settings",
    "mdmkit_audit_events",
];

/// How an open treats the at-rest key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyUse {
    /// The store's key: verified against the store's key check.
    Existing,
    /// A key just created: accepted only for a store that holds no data yet.
    New,
}

/// Implements every store trait for `$store` (a struct with `pool: sqlx::Pool<$db>` and
/// `key: AtRestKey`), given the dialect's pieces:
///
/// * `id_list`: a subquery selecting a column `value` from the identifier list bound as
///   parameter `$1` (built by `Self::id_list_param`);
/// * `skip_locked`: the row-locking clause for the dequeue subquery;
/// * `claim_prefix`, `claim_suffix`: wrapped around the dequeue's `UPDATE ... RETURNING
///   command_uuid`; when `Self::CLAIM_RETURNS_COMMAND`, they make it return the whole
///   command row in the same round trip;
/// * `Self::begin_write()`: a transaction that takes the write lock up front.
macro_rules! impl_sql_store {
    (
        $store:ident,
        $db:ty,
        id_list = $id_list:literal,
        skip_locked = $skip_locked:literal,
        claim_prefix = $claim_prefix:literal,
        claim_suffix = $claim_suffix:literal
    ) => {
        const ENROLLMENT_COLUMNS: &str = "id, enrollment_type, enrolled_topic, push_token, \
            push_magic, push_topic, push_invalid_since, unlock_token, bootstrap_token, \
            identity_cert_sha256, identity_certificate, owner, enabled, authenticate_message, \
            token_update_message, last_seen, created_at, updated_at";
        const DEVICE_COLUMNS: &str = "device_id, serial_number, model, product_name, \
            os_version, build_version, device_information, updated_at";
        const USER_CERT_COLUMNS: &str = "id, owner, kind_id, name, certificate_der, pkcs12, \
            pkcs12_password, has_private_key, subject, issuer, serial, not_after, uploaded_at, \
            updated_at";
        const TOKEN_COLUMNS: &str =
            "token_hash, kind, user_id, email, created_at, expires_at, used_at, invitation";
        const ACCOUNT_COLUMNS: &str =
            "id, email, name, password_hash, enabled, created_at, updated_at";

        type DbRow = <$db as sqlx::Database>::Row;

        fn push_certificate_event_from_row(row: &DbRow) -> Result<PushCertificateEvent> {
            let topic: String = row.try_get("topic").map_err(backend)?;
            let action: String = row.try_get("action").map_err(backend)?;
            let mut event = PushCertificateEvent::new(
                topic,
                PushCertificateAction::parse(&action).ok_or_else(|| {
                    Error::StoreBackend(format!("stored action {action:?} is unknown"))
                })?,
            );
            event.serial = row.try_get("serial").map_err(backend)?;
            event.not_after = opt_from_micros(row.try_get("not_after").map_err(backend)?)?;
            event.apple_id = row.try_get("apple_id").map_err(backend)?;
            event.note = row.try_get("note").map_err(backend)?;
            event.at = from_micros(row.try_get("at").map_err(backend)?)?;
            Ok(event)
        }

        impl $store {
            /// Applies the schema migrations this version knows and the database lacks,
            /// and verifies the at-rest key (or records its check in a new store), in one
            /// transaction: a wrong key leaves the database as it was. Returns the schema
            /// version.
            async fn apply_migrations(
                &self,
                migrations: $crate::store::sql::Migrations,
                key_use: KeyUse,
            ) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                Self::lock_migrations(&mut tx).await?;
                sqlx::raw_sql(
                    "CREATE TABLE IF NOT EXISTS mdmkit_schema_migrations \
                     (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                )
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                let current: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM mdmkit_schema_migrations")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(backend)?;
                let current = current.unwrap_or(0);
                let latest = migrations.last().map_or(0, |(version, _)| *version);
                if current > latest {
                    return Err(Error::StoreBackend(format!(
                        "the database schema is version {current}, newer than this mdmkit \
                         (version {latest})"
                    )));
                }
                for (version, sql) in migrations.iter().filter(|(version, _)| *version > current) {
                    sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(backend)?;
                    sqlx::query(
                        "INSERT INTO mdmkit_schema_migrations (version, applied_at) VALUES ($1, $2)",
                    )
                    .bind(*version)
                    .bind(to_micros(now_micros()))
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                self.verify_key(&mut tx, key_use).await?;
                tx.commit().await.map_err(backend)?;
                Ok(latest)
            }

            /// Verifies the at-rest key against the store's key check, inside the open's
            /// transaction. A store without a check gets one: an empty store at once; a
            /// store from before key checks once the key has opened one of its sealed
            /// values (its plaintext raw columns are sealed at the same time).
            async fn verify_key(
                &self,
                tx: &mut Transaction<'static, $db>,
                key_use: KeyUse,
            ) -> Result<()> {
                let stored: Option<Vec<u8>> =
                    sqlx::query_scalar("SELECT key_check FROM mdmkit_store_key WHERE id = 1")
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(backend)?;
                if let Some(check) = stored {
                    if key_use == KeyUse::New {
                        return Err(Error::StoreNotEmpty(
                            "this store already has an at-rest key: open it with the key it \
                             was created with"
                                .to_owned(),
                        ));
                    }
                    if !self.key.matches_check(&check)? {
                        return Err(Error::StoreKeyMismatch(
                            "the store was created with another key; nothing was written"
                                .to_owned(),
                        ));
                    }
                    return Ok(());
                }
                if Self::holds_data(tx).await? {
                    if key_use == KeyUse::New {
                        return Err(Error::StoreNotEmpty(
                            "this store already holds data: a new at-rest key is only for a \
                             new, empty store; open it with the key it was created with"
                                .to_owned(),
                        ));
                    }
                    self.open_one_sealed_value(tx).await?;
                    for column in SEALED_COLUMNS.iter().filter(|column| column.since_v3) {
                        self.reseal_column(tx, column, None, &self.key).await?;
                    }
                }
                Self::write_key_check(tx, &self.key).await
            }

            /// Whether any table holds a row.
            async fn holds_data(tx: &mut Transaction<'static, $db>) -> Result<bool> {
                for table in DATA_TABLES {
                    let row: Option<i64> = sqlx::query_scalar(&format!(
                        "SELECT CAST(1 AS BIGINT) FROM {table} LIMIT 1"
                    ))
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(backend)?;
                    if row.is_some() {
                        return Ok(true);
                    }
                }
                Ok(false)
            }

            /// Opens the first sealed value found (a store from before key checks): a
            /// key that cannot is the wrong key.
            async fn open_one_sealed_value(&self, tx: &mut Transaction<'static, $db>) -> Result<()> {
                for column in SEALED_COLUMNS.iter().filter(|column| !column.since_v3) {
                    let rows = Self::sealed_values(tx, column, true).await?;
                    if let Some((parts, sealed)) = rows.into_iter().next() {
                        let row = parts.join("\0");
                        return unseal(&self.key, Some(sealed), column.table, column.column, &row)
                            .map(|_| ())
                            .map_err(|_| {
                                Error::StoreKeyMismatch(format!(
                                    "the key does not open {}.{}; nothing was written",
                                    column.table, column.column
                                ))
                            });
                    }
                }
                Ok(())
            }

            /// The non-null values of a sealed column with the row part of their context
            /// (the first one only when `first_only`).
            async fn sealed_values(
                tx: &mut Transaction<'static, $db>,
                column: &SealedColumn,
                first_only: bool,
            ) -> Result<Vec<(Vec<String>, Vec<u8>)>> {
                let sql = format!(
                    "SELECT {keys}, {col} FROM {table} WHERE {col} IS NOT NULL{limit}",
                    keys = column.keys.join(", "),
                    col = column.column,
                    table = column.table,
                    limit = if first_only { " LIMIT 1" } else { "" },
                );
                let rows = sqlx::query(&sql).fetch_all(&mut **tx).await.map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let mut parts = Vec::with_capacity(column.keys.len());
                        for index in 0..column.keys.len() {
                            parts.push(row.try_get::<String, _>(index).map_err(backend)?);
                        }
                        let value: Vec<u8> =
                            row.try_get(column.keys.len()).map_err(backend)?;
                        Ok((parts, value))
                    })
                    .collect()
            }

            /// Re-seals every value of `column` under `to`: values sealed under `from`,
            /// or plaintext when `from` is `None`. Returns how many values were re-sealed.
            async fn reseal_column(
                &self,
                tx: &mut Transaction<'static, $db>,
                column: &SealedColumn,
                from: Option<&AtRestKey>,
                to: &AtRestKey,
            ) -> Result<u64> {
                let values = Self::sealed_values(tx, column, false).await?;
                let condition: Vec<String> = column
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(index, key)| format!("{key} = ${}", index + 2))
                    .collect();
                let sql = format!(
                    "UPDATE {table} SET {col} = $1 WHERE {condition}",
                    table = column.table,
                    col = column.column,
                    condition = condition.join(" AND "),
                );
                let mut count = 0;
                for (parts, value) in values {
                    let row = parts.join("\0");
                    let plain = match from {
                        Some(from) => unseal(from, Some(value), column.table, column.column, &row)?
                            .map(Secret::into_bytes)
                            .unwrap_or_default(),
                        None => value,
                    };
                    let sealed = seal_bytes(to, Some(&plain), column.table, column.column, &row)?;
                    let mut query = sqlx::query(&sql).bind(sealed);
                    for part in parts {
                        query = query.bind(part);
                    }
                    query.execute(&mut **tx).await.map_err(backend)?;
                    count += 1;
                }
                Ok(count)
            }

            async fn write_key_check(
                tx: &mut Transaction<'static, $db>,
                key: &AtRestKey,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_store_key (id, key_check, created_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET key_check = excluded.key_check, \
                     created_at = excluded.created_at",
                )
                .bind(key.key_check()?)
                .bind(to_micros(now_micros()))
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
                Ok(())
            }

            /// Re-seals every sealed value of the store under `new_key` and records the
            /// new key's check, in one transaction: after a crash the store is entirely
            /// under the old key or entirely under the new one. Returns how many values
            /// were re-sealed.
            ///
            /// This handle keeps the old key: close it and open the store with the new
            /// key. Stop the servers that use the store first (one still holding the old
            /// key would write values the new key cannot open).
            pub async fn rotate_key(&self, new_key: &AtRestKey) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                Self::lock_migrations(&mut tx).await?;
                let stored: Option<Vec<u8>> =
                    sqlx::query_scalar("SELECT key_check FROM mdmkit_store_key WHERE id = 1")
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend)?;
                match stored {
                    Some(check) if self.key.matches_check(&check)? => {}
                    _ => {
                        return Err(Error::StoreKeyMismatch(
                            "the current key does not match this store; nothing was re-sealed"
                                .to_owned(),
                        ))
                    }
                }
                let mut count = 0;
                for column in SEALED_COLUMNS {
                    count += self
                        .reseal_column(&mut tx, column, Some(&self.key), new_key)
                        .await?;
                }
                Self::write_key_check(&mut tx, new_key).await?;
                tx.commit().await.map_err(backend)?;
                Ok(count)
            }

            /// The schema version of the database (the last migration applied).
            pub async fn schema_version(&self) -> Result<i64> {
                let version: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM mdmkit_schema_migrations")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(backend)?;
                Ok(version.unwrap_or(0))
            }

            /// Closes every connection of the pool.
            pub async fn close(&self) {
                self.pool.close().await;
            }

            fn enrollment_from_row(&self, row: &DbRow) -> Result<EnrollmentRecord> {
                let id: String = row.try_get("id").map_err(backend)?;
                let push_token: Option<Vec<u8>> = row.try_get("push_token").map_err(backend)?;
                let push = match push_token {
                    Some(token) => {
                        let mut push = PushInfo::new(
                            token,
                            row.try_get::<Option<String>, _>("push_magic")
                                .map_err(backend)?
                                .unwrap_or_default(),
                            row.try_get::<Option<String>, _>("push_topic")
                                .map_err(backend)?
                                .unwrap_or_default(),
                        );
                        push.invalid_since =
                            opt_from_micros(row.try_get("push_invalid_since").map_err(backend)?)?;
                        Some(push)
                    }
                    None => None,
                };
                let mut record = EnrollmentRecord::new(EnrollmentId::new(id.clone()));
                record.enrollment_type = row.try_get("enrollment_type").map_err(backend)?;
                record.enrolled_topic = row.try_get("enrolled_topic").map_err(backend)?;
                record.push = push;
                record.unlock_token = unseal(
                    &self.key,
                    row.try_get("unlock_token").map_err(backend)?,
                    "mdmkit_enrollments",
                    "unlock_token",
                    &id,
                )?;
                record.bootstrap_token = unseal(
                    &self.key,
                    row.try_get("bootstrap_token").map_err(backend)?,
                    "mdmkit_enrollments",
                    "bootstrap_token",
                    &id,
                )?;
                record.identity_cert_sha256 =
                    row.try_get("identity_cert_sha256").map_err(backend)?;
                record.identity_certificate =
                    row.try_get("identity_certificate").map_err(backend)?;
                record.owner = row.try_get("owner").map_err(backend)?;
                record.enabled = row.try_get("enabled").map_err(backend)?;
                record.authenticate_message = unseal_bytes(
                    &self.key,
                    row.try_get("authenticate_message").map_err(backend)?,
                    "mdmkit_enrollments",
                    "authenticate_message",
                    &id,
                )?;
                record.token_update_message = unseal_bytes(
                    &self.key,
                    row.try_get("token_update_message").map_err(backend)?,
                    "mdmkit_enrollments",
                    "token_update_message",
                    &id,
                )?;
                record.last_seen = opt_from_micros(row.try_get("last_seen").map_err(backend)?)?;
                record.created_at = from_micros(row.try_get("created_at").map_err(backend)?)?;
                record.updated_at = from_micros(row.try_get("updated_at").map_err(backend)?)?;
                Ok(record)
            }

            fn device_from_row(&self, row: &DbRow) -> Result<DeviceRecord> {
                let device_id: String = row.try_get("device_id").map_err(backend)?;
                let mut record = DeviceRecord::new(&device_id);
                record.serial_number = row.try_get("serial_number").map_err(backend)?;
                record.model = row.try_get("model").map_err(backend)?;
                record.product_name = row.try_get("product_name").map_err(backend)?;
                record.os_version = row.try_get("os_version").map_err(backend)?;
                record.build_version = row.try_get("build_version").map_err(backend)?;
                record.device_information = unseal_bytes(
                    &self.key,
                    row.try_get("device_information").map_err(backend)?,
                    "mdmkit_devices",
                    "device_information",
                    &device_id,
                )?;
                record.updated_at = from_micros(row.try_get("updated_at").map_err(backend)?)?;
                Ok(record)
            }

            fn push_target_from_row(row: &DbRow) -> Result<PushTarget> {
                let id: String = row.try_get("id").map_err(backend)?;
                let mut push = PushInfo::new(
                    row.try_get("push_token").map_err(backend)?,
                    row.try_get::<String, _>("push_magic").map_err(backend)?,
                    row.try_get::<String, _>("push_topic").map_err(backend)?,
                );
                push.invalid_since =
                    opt_from_micros(row.try_get("push_invalid_since").map_err(backend)?)?;
                Ok(PushTarget::new(EnrollmentId::new(id), push))
            }

            fn command_from_row(&self, row: &DbRow) -> Result<QueuedCommand> {
                let uuid: String = row.try_get("command_uuid").map_err(backend)?;
                let payload = unseal_bytes(
                    &self.key,
                    Some(row.try_get("payload").map_err(backend)?),
                    "mdmkit_commands",
                    "payload",
                    &uuid,
                )?
                .unwrap_or_default();
                let mut command = QueuedCommand::new(
                    uuid,
                    row.try_get::<String, _>("request_type").map_err(backend)?,
                    payload,
                );
                command.priority = to_i32(row.try_get("priority").map_err(backend)?, "priority")?;
                command.created_at = from_micros(row.try_get("created_at").map_err(backend)?)?;
                Ok(command)
            }

            fn push_certificate_from_row(&self, row: &DbRow) -> Result<PushCertificateRecord> {
                let topic: String = row.try_get("topic").map_err(backend)?;
                let private_key = unseal(
                    &self.key,
                    Some(row.try_get("private_key").map_err(backend)?),
                    "mdmkit_push_certificates",
                    "private_key",
                    &topic,
                )?
                .unwrap_or_else(|| Secret::new(Vec::new()));
                let mut record = PushCertificateRecord::new(
                    topic,
                    row.try_get("certificate_der").map_err(backend)?,
                    private_key,
                    from_micros(row.try_get("not_after").map_err(backend)?)?,
                );
                record.apple_id = row.try_get("apple_id").map_err(backend)?;
                record.note = row.try_get("note").map_err(backend)?;
                record.created_at = from_micros(row.try_get("created_at").map_err(backend)?)?;
                record.updated_at = from_micros(row.try_get("updated_at").map_err(backend)?)?;
                Ok(record)
            }

            fn csr_key_from_row(&self, row: &DbRow) -> Result<PendingCsrKey> {
                let id: String = row.try_get("id").map_err(backend)?;
                let private_key = unseal(
                    &self.key,
                    Some(row.try_get("private_key").map_err(backend)?),
                    "mdmkit_csr_keys",
                    "private_key",
                    &id,
                )?
                .unwrap_or_else(|| Secret::new(Vec::new()));
                let mut key = PendingCsrKey::new(id, private_key);
                key.created_at = from_micros(row.try_get("created_at").map_err(backend)?)?;
                Ok(key)
            }

            fn kind_from_row(row: &DbRow) -> Result<CertificateKind> {
                let purpose: String = row.try_get("purpose").map_err(backend)?;
                let mut kind = CertificateKind::new(
                    row.try_get::<String, _>("id").map_err(backend)?,
                    row.try_get::<String, _>("name").map_err(backend)?,
                    CertificatePurpose::parse(&purpose).ok_or_else(|| {
                        Error::StoreBackend(format!("stored purpose {purpose:?} is unknown"))
                    })?,
                );
                kind.description = row.try_get("description").map_err(backend)?;
                Ok(kind)
            }

            fn user_certificate_from_row(&self, row: &DbRow) -> Result<UserCertificateRecord> {
                let id: String = row.try_get("id").map_err(backend)?;
                let mut record = UserCertificateRecord::new(
                    id.clone(),
                    row.try_get::<String, _>("owner").map_err(backend)?,
                    row.try_get::<String, _>("kind_id").map_err(backend)?,
                    row.try_get::<String, _>("name").map_err(backend)?,
                    row.try_get("certificate_der").map_err(backend)?,
                );
                record.pkcs12 = unseal(
                    &self.key,
                    row.try_get("pkcs12").map_err(backend)?,
                    "mdmkit_user_certificates",
                    "pkcs12",
                    &id,
                )?;
                record.pkcs12_password = unseal(
                    &self.key,
                    row.try_get("pkcs12_password").map_err(backend)?,
                    "mdmkit_user_certificates",
                    "pkcs12_password",
                    &id,
                )?;
                record.has_private_key = row.try_get("has_private_key").map_err(backend)?;
                record.subject = row.try_get("subject").map_err(backend)?;
                record.issuer = row.try_get("issuer").map_err(backend)?;
                record.serial = row.try_get("serial").map_err(backend)?;
                record.not_after = opt_from_micros(row.try_get("not_after").map_err(backend)?)?;
                record.uploaded_at = from_micros(row.try_get("uploaded_at").map_err(backend)?)?;
                record.updated_at = from_micros(row.try_get("updated_at").map_err(backend)?)?;
                Ok(record)
            }

            fn declaration_from_row(row: &DbRow) -> Result<DeclarationRecord> {
                let mut record = DeclarationRecord::new(
                    row.try_get::<String, _>("identifier").map_err(backend)?,
                    row.try_get::<String, _>("declaration_type").map_err(backend)?,
                    row.try_get::<String, _>("set_name").map_err(backend)?,
                    row.try_get::<String, _>("server_token").map_err(backend)?,
                    row.try_get::<String, _>("body").map_err(backend)?,
                );
                record.updated_at = from_micros(row.try_get("updated_at").map_err(backend)?)?;
                Ok(record)
            }

            fn configuration_from_row(&self, row: &DbRow) -> Result<ConfigurationRecord> {
                let id: String = row.try_get("id").map_err(backend)?;
                let payload = unseal_bytes(
                    &self.key,
                    Some(row.try_get("payload").map_err(backend)?),
                    "mdmkit_configurations",
                    "payload",
                    &id,
                )?
                .unwrap_or_default();
                let mut record = ConfigurationRecord::new(
                    id,
                    row.try_get::<String, _>("name").map_err(backend)?,
                    payload,
                );
                let kinds: String = row.try_get("certificate_kinds").map_err(backend)?;
                record.certificate_kinds = serde_json::from_str(&kinds).map_err(|e| {
                    Error::StoreBackend(format!("stored certificate kinds unreadable: {e}"))
                })?;
                record.created_at = from_micros(row.try_get("created_at").map_err(backend)?)?;
                record.updated_at = from_micros(row.try_get("updated_at").map_err(backend)?)?;
                Ok(record)
            }

            fn assignment_from_row(row: &DbRow) -> Result<Assignment> {
                let kind: String = row.try_get("target_kind").map_err(backend)?;
                let id: String = row.try_get("target_id").map_err(backend)?;
                let target = AssignmentTarget::from_parts(&kind, &id).ok_or_else(|| {
                    Error::StoreBackend(format!("stored assignment target kind {kind:?} is unknown"))
                })?;
                let mut assignment = Assignment::new(
                    row.try_get::<String, _>("configuration_id").map_err(backend)?,
                    target,
                );
                assignment.assigned_at = from_micros(row.try_get("assigned_at").map_err(backend)?)?;
                Ok(assignment)
            }

            fn account_from_row<A: Account>(&self, row: &DbRow) -> Result<A> {
                let id: String = row.try_get("id").map_err(backend)?;
                let password_hash = unseal(
                    &self.key,
                    row.try_get("password_hash").map_err(backend)?,
                    A::TABLE,
                    "password_hash",
                    &id,
                )?;
                Ok(A::from_parts(AccountParts {
                    email: row.try_get("email").map_err(backend)?,
                    name: row.try_get("name").map_err(backend)?,
                    password_hash,
                    enabled: row.try_get("enabled").map_err(backend)?,
                    created_at: from_micros(row.try_get("created_at").map_err(backend)?)?,
                    updated_at: from_micros(row.try_get("updated_at").map_err(backend)?)?,
                    id,
                }))
            }

            /// Stores a portal user or an administrator (its own table; the e-mail address
            /// unique within it, case-insensitively).
            async fn put_account<A: Account>(&self, account: &A) -> Result<()> {
                let account = account.view();
                sqlx::query(&format!(
                    "INSERT INTO {} (id, email, email_lower, name, \
                     password_hash, enabled, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET \
                     email = excluded.email, email_lower = excluded.email_lower, \
                     name = excluded.name, password_hash = excluded.password_hash, \
                     enabled = excluded.enabled, created_at = excluded.created_at, \
                     updated_at = excluded.updated_at",
                    A::TABLE
                ))
                .bind(account.id)
                .bind(account.email)
                .bind(account.email.to_lowercase())
                .bind(account.name)
                .bind(seal(&self.key, account.password_hash, A::TABLE, "password_hash", account.id)?)
                .bind(account.enabled)
                .bind(to_micros(account.created_at))
                .bind(to_micros(account.updated_at))
                .execute(&self.pool)
                .await
                .map_err(|e| {
                    conflict_or_backend(
                        e,
                        &format!("another {} has the e-mail address {:?}", A::WHO, account.email),
                    )
                })?;
                Ok(())
            }

            /// The accounts of one kind that match `filter` (an SQL condition on `$1`, or
            /// none), in identifier order.
            async fn select_accounts<A: Account>(
                &self,
                filter: Option<(&str, &str)>,
            ) -> Result<Vec<A>> {
                let condition = filter.map(|(condition, _)| condition).unwrap_or("TRUE");
                let sql = format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM {} WHERE {condition} ORDER BY id",
                    A::TABLE
                );
                let mut query = sqlx::query(&sql);
                if let Some((_, value)) = filter {
                    query = query.bind(value);
                }
                let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
                rows.iter().map(|row| self.account_from_row(row)).collect()
            }

            /// Deletes an account and the tokens of its kind it owns, in one transaction.
            async fn delete_account<A: Account>(&self, id: &str) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let tokens = if A::ADMIN {
                    "DELETE FROM mdmkit_tokens WHERE user_id = $1 AND kind = $2"
                } else {
                    "DELETE FROM mdmkit_tokens WHERE user_id = $1 AND kind <> $2"
                };
                sqlx::query(tokens)
                    .bind(id)
                    .bind(TokenKind::AdminSession.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let done = sqlx::query(&format!("DELETE FROM {} WHERE id = $1", A::TABLE))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            fn token_from_row(row: &DbRow) -> Result<TokenRecord> {
                let kind: String = row.try_get("kind").map_err(backend)?;
                let mut token = TokenRecord::new(
                    row.try_get::<String, _>("token_hash").map_err(backend)?,
                    TokenKind::parse(&kind).ok_or_else(|| {
                        Error::StoreBackend(format!("stored token kind {kind:?} is unknown"))
                    })?,
                    row.try_get::<String, _>("user_id").map_err(backend)?,
                );
                token.email = row.try_get("email").map_err(backend)?;
                token.created_at = from_micros(row.try_get("created_at").map_err(backend)?)?;
                token.expires_at = opt_from_micros(row.try_get("expires_at").map_err(backend)?)?;
                token.used_at = opt_from_micros(row.try_get("used_at").map_err(backend)?)?;
                token.invitation = row.try_get("invitation").map_err(backend)?;
                Ok(token)
            }

            fn audit_from_row(row: &DbRow) -> Result<AuditEvent> {
                let mut event = AuditEvent::new(
                    row.try_get::<String, _>("actor").map_err(backend)?,
                    row.try_get::<String, _>("action").map_err(backend)?,
                );
                event.id = row.try_get("id").map_err(backend)?;
                event.at = from_micros(row.try_get("at").map_err(backend)?)?;
                event.target = row.try_get("target").map_err(backend)?;
                event.detail = row.try_get("detail").map_err(backend)?;
                Ok(event)
            }

            async fn update_enrollment<'q>(
                &self,
                id: &EnrollmentId,
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            ) -> Result<()> {
                let done = query.execute(&self.pool).await.map_err(backend)?;
                if done.rows_affected() == 0 {
                    return Err(Error::NotFound {
                        kind: "enrollment",
                        id: id.to_string(),
                    });
                }
                Ok(())
            }
        }

        #[async_trait]
        impl EnrollmentStore for $store {
            async fn put_enrollment(&self, record: &EnrollmentRecord) -> Result<()> {
                let id = record.id.as_str();
                let push = record.push.as_ref();
                sqlx::query(
                    "INSERT INTO mdmkit_enrollments (id, device_id, enrollment_type, \
                     enrolled_topic, push_token, push_magic, push_topic, push_invalid_since, \
                     unlock_token, bootstrap_token, identity_cert_sha256, identity_certificate, \
                     owner, enabled, authenticate_message, token_update_message, last_seen, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (id) DO UPDATE SET \
                     device_id = excluded.device_id, enrollment_type = excluded.enrollment_type, \
                     enrolled_topic = excluded.enrolled_topic, push_token = excluded.push_token, \
                     push_magic = excluded.push_magic, push_topic = excluded.push_topic, \
                     push_invalid_since = excluded.push_invalid_since, \
                     unlock_token = excluded.unlock_token, \
                     bootstrap_token = excluded.bootstrap_token, \
                     identity_cert_sha256 = excluded.identity_cert_sha256, \
                     identity_certificate = excluded.identity_certificate, \
                     owner = excluded.owner, enabled = excluded.enabled, \
                     authenticate_message = excluded.authenticate_message, \
                     token_update_message = excluded.token_update_message, \
                     last_seen = excluded.last_seen, created_at = excluded.created_at, \
                     updated_at = excluded.updated_at",
                )
                .bind(id)
                .bind(record.id.device_part())
                .bind(record.enrollment_type.as_deref())
                .bind(record.enrolled_topic.as_deref())
                .bind(push.map(|p| p.token.as_slice()))
                .bind(push.map(|p| p.push_magic.as_str()))
                .bind(push.map(|p| p.topic.as_str()))
                .bind(push.and_then(|p| p.invalid_since).map(to_micros))
                .bind(seal(&self.key, record.unlock_token.as_ref(), "mdmkit_enrollments", "unlock_token", id)?)
                .bind(seal(&self.key, record.bootstrap_token.as_ref(), "mdmkit_enrollments", "bootstrap_token", id)?)
                .bind(record.identity_cert_sha256.as_deref())
                .bind(record.identity_certificate.as_deref())
                .bind(record.owner.as_deref())
                .bind(record.enabled)
                .bind(seal_bytes(&self.key, record.authenticate_message.as_deref(), "mdmkit_enrollments", "authenticate_message", id)?)
                .bind(seal_bytes(&self.key, record.token_update_message.as_deref(), "mdmkit_enrollments", "token_update_message", id)?)
                .bind(record.last_seen.map(to_micros))
                .bind(to_micros(record.created_at))
                .bind(to_micros(record.updated_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn get_enrollment(&self, id: &EnrollmentId) -> Result<Option<EnrollmentRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {ENROLLMENT_COLUMNS} FROM mdmkit_enrollments WHERE id = $1"
                ))
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| self.enrollment_from_row(&row)).transpose()
            }

            async fn get_enrollments(&self, ids: &[EnrollmentId]) -> Result<Vec<EnrollmentRecord>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<&str> = ids.iter().map(EnrollmentId::as_str).collect();
                let rows = sqlx::query(&format!(
                    "SELECT {ENROLLMENT_COLUMNS} FROM mdmkit_enrollments WHERE id IN ({}) \
                     ORDER BY id",
                    $id_list
                ))
                .bind(Self::id_list_param(&ids)?)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| self.enrollment_from_row(row)).collect()
            }

            async fn list_enrollments(
                &self,
                query: &EnrollmentQuery,
            ) -> Result<Vec<EnrollmentRecord>> {
                // A plain equality when the identity is asked for, so its index is used
                // (the engine looks devices up by certificate at every Authenticate).
                let identity = if query.identity_cert_sha256.is_some() {
                    "identity_cert_sha256 = $6"
                } else {
                    "$6 IS NULL"
                };
                let rows = sqlx::query(&format!(
                    "SELECT {ENROLLMENT_COLUMNS} FROM mdmkit_enrollments \
                     WHERE ($1 IS NULL OR owner = $1) AND ($2 IS NULL OR device_id = $2) \
                     AND ($3 IS NULL OR enabled = $3) AND ($4 IS NULL OR id > $4) \
                     AND {identity} ORDER BY id LIMIT $5"
                ))
                .bind(query.owner.as_deref())
                .bind(query.device_id.as_deref())
                .bind(query.enabled)
                .bind(query.after.as_ref().map(EnrollmentId::as_str))
                .bind(query.limit.map_or(i64::MAX, i64::from))
                .bind(query.identity_cert_sha256.as_deref())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| self.enrollment_from_row(row)).collect()
            }

            async fn delete_enrollment(&self, id: &EnrollmentId) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_enrollments WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_push_info(&self, id: &EnrollmentId, push: &PushInfo) -> Result<()> {
                self.update_enrollment(
                    id,
                    sqlx::query(
                        "UPDATE mdmkit_enrollments SET push_token = $2, push_magic = $3, \
                         push_topic = $4, push_invalid_since = NULL, enabled = TRUE, \
                         updated_at = $5 WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .bind(push.token.as_slice())
                    .bind(push.push_magic.as_str())
                    .bind(push.topic.as_str())
                    .bind(to_micros(now_micros())),
                )
                .await
            }

            async fn get_push_info(&self, id: &EnrollmentId) -> Result<Option<PushInfo>> {
                let row = sqlx::query(
                    "SELECT id, push_token, push_magic, push_topic, push_invalid_since \
                     FROM mdmkit_enrollments WHERE id = $1 AND push_token IS NOT NULL",
                )
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| Self::push_target_from_row(&row).map(|target| target.push))
                    .transpose()
            }

            async fn mark_push_token_invalid(
                &self,
                id: &EnrollmentId,
                token: &[u8],
                at: OffsetDateTime,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE mdmkit_enrollments SET push_invalid_since = $3 \
                     WHERE id = $1 AND push_token = $2",
                )
                .bind(id.as_str())
                .bind(token)
                .bind(to_micros(at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn push_targets_for_topic(&self, topic: &str) -> Result<Vec<PushTarget>> {
                let rows = sqlx::query(
                    "SELECT id, push_token, push_magic, push_topic, push_invalid_since \
                     FROM mdmkit_enrollments WHERE push_topic = $1 AND enabled = TRUE \
                     AND push_token IS NOT NULL AND push_invalid_since IS NULL ORDER BY id",
                )
                .bind(topic)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(Self::push_target_from_row).collect()
            }

            async fn push_targets_for(&self, ids: &[EnrollmentId]) -> Result<Vec<PushTarget>> {
                let ids: Vec<&str> = ids.iter().map(EnrollmentId::as_str).collect();
                let rows = sqlx::query(concat!(
                    "SELECT id, push_token, push_magic, push_topic, push_invalid_since \
                     FROM mdmkit_enrollments WHERE id IN (",
                    $id_list,
                    ") AND enabled = TRUE AND push_token IS NOT NULL \
                     AND push_invalid_since IS NULL ORDER BY id"
                ))
                .bind(Self::id_list_param(&ids)?)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(Self::push_target_from_row).collect()
            }

            async fn set_enabled(&self, id: &EnrollmentId, enabled: bool) -> Result<()> {
                self.update_enrollment(
                    id,
                    sqlx::query(
                        "UPDATE mdmkit_enrollments SET enabled = $2, updated_at = $3 WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .bind(enabled)
                    .bind(to_micros(now_micros())),
                )
                .await
            }

            async fn set_unlock_token(
                &self,
                id: &EnrollmentId,
                token: Option<&Secret>,
            ) -> Result<()> {
                let sealed = seal(&self.key, token, "mdmkit_enrollments", "unlock_token", id.as_str())?;
                self.update_enrollment(
                    id,
                    sqlx::query(
                        "UPDATE mdmkit_enrollments SET unlock_token = $2, updated_at = $3 \
                         WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .bind(sealed)
                    .bind(to_micros(now_micros())),
                )
                .await
            }

            async fn set_bootstrap_token(
                &self,
                id: &EnrollmentId,
                token: Option<&Secret>,
            ) -> Result<()> {
                let sealed =
                    seal(&self.key, token, "mdmkit_enrollments", "bootstrap_token", id.as_str())?;
                self.update_enrollment(
                    id,
                    sqlx::query(
                        "UPDATE mdmkit_enrollments SET bootstrap_token = $2, updated_at = $3 \
                         WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .bind(sealed)
                    .bind(to_micros(now_micros())),
                )
                .await
            }

            async fn set_owner(&self, id: &EnrollmentId, owner: Option<&str>) -> Result<()> {
                self.update_enrollment(
                    id,
                    sqlx::query(
                        "UPDATE mdmkit_enrollments SET owner = $2, updated_at = $3 WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .bind(owner)
                    .bind(to_micros(now_micros())),
                )
                .await
            }

            async fn touch_enrollment(&self, id: &EnrollmentId, at: OffsetDateTime) -> Result<()> {
                self.update_enrollment(
                    id,
                    sqlx::query("UPDATE mdmkit_enrollments SET last_seen = $2 WHERE id = $1")
                        .bind(id.as_str())
                        .bind(to_micros(at)),
                )
                .await
            }

            async fn put_device(&self, record: &DeviceRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_devices (device_id, serial_number, model, product_name, \
                     os_version, build_version, device_information, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (device_id) DO UPDATE \
                     SET serial_number = excluded.serial_number, model = excluded.model, \
                     product_name = excluded.product_name, os_version = excluded.os_version, \
                     build_version = excluded.build_version, \
                     device_information = excluded.device_information, \
                     updated_at = excluded.updated_at",
                )
                .bind(record.device_id.as_str())
                .bind(record.serial_number.as_deref())
                .bind(record.model.as_deref())
                .bind(record.product_name.as_deref())
                .bind(record.os_version.as_deref())
                .bind(record.build_version.as_deref())
                .bind(seal_bytes(&self.key, record.device_information.as_deref(), "mdmkit_devices", "device_information", record.device_id.as_str())?)
                .bind(to_micros(record.updated_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn get_device(&self, device_id: &str) -> Result<Option<DeviceRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM mdmkit_devices WHERE device_id = $1"
                ))
                .bind(device_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| self.device_from_row(&row)).transpose()
            }

            async fn get_devices(&self, device_ids: &[&str]) -> Result<Vec<DeviceRecord>> {
                if device_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let rows = sqlx::query(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM mdmkit_devices WHERE device_id IN ({}) \
                     ORDER BY device_id",
                    $id_list
                ))
                .bind(Self::id_list_param(device_ids)?)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| self.device_from_row(row)).collect()
            }
        }

        #[async_trait]
        impl CommandQueue for $store {
            async fn enqueue(&self, command: &QueuedCommand, targets: &[EnrollmentId]) -> Result<()> {
                if targets.is_empty() {
                    return Err(Error::StoreInput(format!(
                        "command {:?} has no target",
                        command.command_uuid
                    )));
                }
                let ids: Vec<&str> = targets.iter().map(EnrollmentId::as_str).collect();
                let id_list = Self::id_list_param(&ids)?;
                let sealed_payload = seal_bytes(
                    &self.key,
                    Some(command.payload.as_slice()),
                    "mdmkit_commands",
                    "payload",
                    &command.command_uuid,
                )?;
                let mut tx = self.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO mdmkit_commands (command_uuid, request_type, payload, priority, \
                     created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (command_uuid) DO NOTHING",
                )
                .bind(command.command_uuid.as_str())
                .bind(command.request_type.as_str())
                .bind(sealed_payload)
                .bind(i64::from(command.priority))
                .bind(to_micros(command.created_at))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                if inserted.rows_affected() == 0 {
                    let row = sqlx::query(
                        "SELECT request_type, payload, priority FROM mdmkit_commands \
                         WHERE command_uuid = $1",
                    )
                    .bind(command.command_uuid.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
                    let request_type: String = row.try_get("request_type").map_err(backend)?;
                    let payload = unseal_bytes(
                        &self.key,
                        Some(row.try_get("payload").map_err(backend)?),
                        "mdmkit_commands",
                        "payload",
                        &command.command_uuid,
                    )?
                    .unwrap_or_default();
                    let priority: i64 = row.try_get("priority").map_err(backend)?;
                    if request_type != command.request_type
                        || payload != command.payload
                        || priority != i64::from(command.priority)
                    {
                        return Err(Error::StoreConflict(format!(
                            "command {:?} is already queued with a different payload",
                            command.command_uuid
                        )));
                    }
                }
                sqlx::query(concat!(
                    "INSERT INTO mdmkit_command_targets (enrollment_id, command_uuid, priority) \
                     SELECT value, $2, $3 FROM (",
                    $id_list,
                    ") AS ids WHERE TRUE ON CONFLICT (enrollment_id, command_uuid) DO NOTHING"
                ))
                .bind(id_list)
                .bind(command.command_uuid.as_str())
                .bind(i64::from(command.priority))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(())
            }

            async fn next_command(
                &self,
                id: &EnrollmentId,
                request: &NextCommand,
            ) -> Result<Option<QueuedCommand>> {
                let redeliver_before = request.at - request.redeliver_after;
                let query = sqlx::query(concat!(
                    $claim_prefix,
                    "UPDATE mdmkit_command_targets SET delivered_at = $1 WHERE seq = (\
                     SELECT seq FROM mdmkit_command_targets WHERE enrollment_id = $2 \
                     AND finished = FALSE \
                     AND ($3 = FALSE OR status IS NULL OR status <> 'NotNow') \
                     AND (delivered_at IS NULL OR delivered_at <= $4) \
                     ORDER BY priority DESC, seq LIMIT 1",
                    $skip_locked,
                    ") RETURNING command_uuid",
                    $claim_suffix
                ))
                .bind(to_micros(request.at))
                .bind(id.as_str())
                .bind(request.skip_not_now)
                .bind(to_micros(redeliver_before));
                // One connection for the claim and the read that may follow.
                let mut connection = self.pool.acquire().await.map_err(backend)?;
                let Some(row) = query.fetch_optional(&mut *connection).await.map_err(backend)?
                else {
                    return Ok(None);
                };
                if Self::CLAIM_RETURNS_COMMAND {
                    return self.command_from_row(&row).map(Some);
                }
                let uuid: String = row.try_get("command_uuid").map_err(backend)?;
                let row = sqlx::query(
                    "SELECT command_uuid, request_type, payload, priority, created_at \
                     FROM mdmkit_commands WHERE command_uuid = $1",
                )
                .bind(uuid.as_str())
                .fetch_optional(&mut *connection)
                .await
                .map_err(backend)?;
                match row {
                    Some(row) => self.command_from_row(&row).map(Some),
                    None => Err(Error::NotFound {
                        kind: "command",
                        id: uuid,
                    }),
                }
            }

            async fn record_result(
                &self,
                id: &EnrollmentId,
                result: &CommandResultRecord,
            ) -> Result<()> {
                if result.status == CommandStatus::Idle {
                    return Err(Error::StoreInput(
                        "an Idle status carries no command result".to_owned(),
                    ));
                }
                let is_final = result.status.is_final();
                let sealed_result = seal_bytes(
                    &self.key,
                    Some(result.payload.as_slice()),
                    "mdmkit_command_targets",
                    "result_payload",
                    &target_row(id.as_str(), &result.command_uuid),
                )?;
                let done = sqlx::query(
                    "UPDATE mdmkit_command_targets SET status = $3, finished = $4, \
                     delivered_at = NULL, result_payload = $5, result_at = $6 \
                     WHERE enrollment_id = $1 AND command_uuid = $2 \
                     AND (finished = FALSE OR $4 = TRUE)",
                )
                .bind(id.as_str())
                .bind(result.command_uuid.as_str())
                .bind(result.status.as_str())
                .bind(is_final)
                .bind(sealed_result)
                .bind(to_micros(result.received_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                if done.rows_affected() > 0 {
                    return Ok(());
                }
                let queued: Option<i64> = sqlx::query_scalar(
                    "SELECT seq FROM mdmkit_command_targets \
                     WHERE enrollment_id = $1 AND command_uuid = $2",
                )
                .bind(id.as_str())
                .bind(result.command_uuid.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                match queued {
                    // Finished already, and this late result is not final: kept as it was.
                    Some(_) => Ok(()),
                    None => Err(Error::CommandNotQueued {
                        command_uuid: result.command_uuid.clone(),
                        enrollment: id.to_string(),
                    }),
                }
            }

            async fn clear_pending(&self, id: &EnrollmentId) -> Result<u64> {
                let done = sqlx::query(
                    "DELETE FROM mdmkit_command_targets \
                     WHERE enrollment_id = $1 AND finished = FALSE",
                )
                .bind(id.as_str())
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected())
            }

            async fn pending_commands(&self, id: &EnrollmentId) -> Result<Vec<PendingCommand>> {
                let rows = sqlx::query(
                    "SELECT c.command_uuid, c.request_type, c.payload, c.priority, c.created_at, \
                     t.status, t.delivered_at FROM mdmkit_command_targets t \
                     JOIN mdmkit_commands c ON c.command_uuid = t.command_uuid \
                     WHERE t.enrollment_id = $1 AND t.finished = FALSE \
                     ORDER BY t.priority DESC, t.seq",
                )
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let status: Option<String> = row.try_get("status").map_err(backend)?;
                        Ok(PendingCommand {
                            command: self.command_from_row(row)?,
                            status: status.as_deref().map(parse_status).transpose()?,
                            delivered_at: opt_from_micros(
                                row.try_get("delivered_at").map_err(backend)?,
                            )?,
                        })
                    })
                    .collect()
            }

            async fn get_command(&self, command_uuid: &str) -> Result<Option<QueuedCommand>> {
                let row = sqlx::query(
                    "SELECT command_uuid, request_type, payload, priority, created_at \
                     FROM mdmkit_commands WHERE command_uuid = $1",
                )
                .bind(command_uuid)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| self.command_from_row(&row)).transpose()
            }

            async fn command_status(&self, command_uuid: &str) -> Result<Vec<CommandTargetStatus>> {
                let rows = sqlx::query(
                    "SELECT enrollment_id, status, delivered_at, result_payload, result_at \
                     FROM mdmkit_command_targets WHERE command_uuid = $1 ORDER BY enrollment_id",
                )
                .bind(command_uuid)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let status: Option<String> = row.try_get("status").map_err(backend)?;
                        let status = status.as_deref().map(parse_status).transpose()?;
                        let result_at = opt_from_micros(row.try_get("result_at").map_err(backend)?)?;
                        let enrollment_id: String =
                            row.try_get("enrollment_id").map_err(backend)?;
                        let payload = unseal_bytes(
                            &self.key,
                            row.try_get("result_payload").map_err(backend)?,
                            "mdmkit_command_targets",
                            "result_payload",
                            &target_row(&enrollment_id, command_uuid),
                        )?;
                        let result = match (status, result_at) {
                            (Some(status), Some(received_at)) => Some(CommandResultRecord {
                                command_uuid: command_uuid.to_owned(),
                                status,
                                payload: payload.unwrap_or_default(),
                                received_at,
                            }),
                            _ => None,
                        };
                        Ok(CommandTargetStatus {
                            enrollment_id: EnrollmentId::new(enrollment_id),
                            command_uuid: command_uuid.to_owned(),
                            status,
                            delivered_at: opt_from_micros(
                                row.try_get("delivered_at").map_err(backend)?,
                            )?,
                            result,
                        })
                    })
                    .collect()
            }

            async fn purge_finished(&self, finished_before: OffsetDateTime) -> Result<u64> {
                let cutoff = to_micros(finished_before);
                let mut tx = self.begin_write().await?;
                let removed = sqlx::query(
                    "DELETE FROM mdmkit_command_targets WHERE finished = TRUE AND result_at < $1",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
                // Only commands created before the cutoff: a command enqueued again right
                // now may not have its targets yet.
                sqlx::query(
                    "DELETE FROM mdmkit_commands WHERE created_at < $1 AND NOT EXISTS \
                     (SELECT 1 FROM mdmkit_command_targets t \
                     WHERE t.command_uuid = mdmkit_commands.command_uuid)",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(removed)
            }
        }

        #[async_trait]
        impl PushCertificateStore for $store {
            async fn put_push_certificate(&self, record: &PushCertificateRecord) -> Result<()> {
                let topic = record.topic.as_str();
                sqlx::query(
                    "INSERT INTO mdmkit_push_certificates (topic, certificate_der, private_key, \
                     apple_id, note, not_after, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (topic) DO UPDATE SET \
                     certificate_der = excluded.certificate_der, \
                     private_key = excluded.private_key, apple_id = excluded.apple_id, \
                     note = excluded.note, not_after = excluded.not_after, \
                     created_at = excluded.created_at, updated_at = excluded.updated_at",
                )
                .bind(topic)
                .bind(record.certificate_der.as_slice())
                .bind(seal(&self.key, Some(&record.private_key), "mdmkit_push_certificates", "private_key", topic)?)
                .bind(record.apple_id.as_deref())
                .bind(record.note.as_deref())
                .bind(to_micros(record.not_after))
                .bind(to_micros(record.created_at))
                .bind(to_micros(record.updated_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn get_push_certificate(
                &self,
                topic: &str,
            ) -> Result<Option<PushCertificateRecord>> {
                let row = sqlx::query("SELECT * FROM mdmkit_push_certificates WHERE topic = $1")
                    .bind(topic)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                row.map(|row| self.push_certificate_from_row(&row)).transpose()
            }

            async fn list_push_certificates(&self) -> Result<Vec<PushCertificateRecord>> {
                let rows = sqlx::query("SELECT * FROM mdmkit_push_certificates ORDER BY topic")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(|row| self.push_certificate_from_row(row)).collect()
            }

            async fn delete_push_certificate(&self, topic: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_push_certificates WHERE topic = $1")
                    .bind(topic)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn append_push_certificate_event(
                &self,
                event: &PushCertificateEvent,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_push_certificate_events (topic, action, serial, \
                     not_after, apple_id, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(event.topic.as_str())
                .bind(event.action.as_str())
                .bind(event.serial.as_deref())
                .bind(event.not_after.map(to_micros))
                .bind(event.apple_id.as_deref())
                .bind(event.note.as_deref())
                .bind(to_micros(event.at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn push_certificate_history(
                &self,
                topic: &str,
            ) -> Result<Vec<PushCertificateEvent>> {
                let rows = sqlx::query(
                    "SELECT * FROM mdmkit_push_certificate_events WHERE topic = $1 ORDER BY id",
                )
                .bind(topic)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(push_certificate_event_from_row).collect()
            }

            async fn put_pending_csr_key(&self, key: &PendingCsrKey) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_csr_keys (id, private_key, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET private_key = excluded.private_key, \
                     created_at = excluded.created_at",
                )
                .bind(key.id.as_str())
                .bind(seal(&self.key, Some(&key.private_key), "mdmkit_csr_keys", "private_key", &key.id)?)
                .bind(to_micros(key.created_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn get_pending_csr_key(&self, id: &str) -> Result<Option<PendingCsrKey>> {
                let row = sqlx::query("SELECT * FROM mdmkit_csr_keys WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                row.map(|row| self.csr_key_from_row(&row)).transpose()
            }

            async fn list_pending_csr_keys(&self) -> Result<Vec<PendingCsrKey>> {
                let rows = sqlx::query("SELECT * FROM mdmkit_csr_keys ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(|row| self.csr_key_from_row(row)).collect()
            }

            async fn delete_pending_csr_key(&self, id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_csr_keys WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn latest_push_certificate_events(&self) -> Result<Vec<PushCertificateEvent>> {
                let rows = sqlx::query(
                    "SELECT * FROM mdmkit_push_certificate_events WHERE id IN \
                     (SELECT MAX(id) FROM mdmkit_push_certificate_events GROUP BY topic) \
                     ORDER BY topic",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(push_certificate_event_from_row).collect()
            }

            async fn claim_notice(
                &self,
                key: &str,
                now: OffsetDateTime,
                min_interval: time::Duration,
            ) -> Result<bool> {
                // One statement: the row's lock (PostgreSQL) or the write lock (SQLite)
                // makes the test and the update one step for every server on the store.
                let claimed: Option<String> = sqlx::query_scalar(
                    "INSERT INTO mdmkit_expiry_notices (notice_key, claimed_at) VALUES ($1, $2) \
                     ON CONFLICT (notice_key) DO UPDATE SET claimed_at = excluded.claimed_at \
                     WHERE mdmkit_expiry_notices.claimed_at <= $3 RETURNING notice_key",
                )
                .bind(key)
                .bind(to_micros(now))
                .bind(now.checked_sub(min_interval).map_or(i64::MIN, to_micros))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                Ok(claimed.is_some())
            }

            async fn release_notice(&self, key: &str, claimed_at: OffsetDateTime) -> Result<bool> {
                let done = sqlx::query(
                    "DELETE FROM mdmkit_expiry_notices WHERE notice_key = $1 AND claimed_at = $2",
                )
                .bind(key)
                .bind(to_micros(claimed_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl UserCertificateStore for $store {
            async fn put_certificate_kind(&self, kind: &CertificateKind) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_certificate_kinds (id, name, purpose, description) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     purpose = excluded.purpose, description = excluded.description",
                )
                .bind(kind.id.as_str())
                .bind(kind.name.as_str())
                .bind(kind.purpose.as_str())
                .bind(kind.description.as_deref())
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn get_certificate_kind(&self, id: &str) -> Result<Option<CertificateKind>> {
                let row = sqlx::query("SELECT * FROM mdmkit_certificate_kinds WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                row.map(|row| Self::kind_from_row(&row)).transpose()
            }

            async fn list_certificate_kinds(&self) -> Result<Vec<CertificateKind>> {
                let rows = sqlx::query("SELECT * FROM mdmkit_certificate_kinds ORDER BY id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(Self::kind_from_row).collect()
            }

            async fn delete_certificate_kind(&self, id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_certificate_kinds WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn put_user_certificate(&self, record: &UserCertificateRecord) -> Result<()> {
                let id = record.id.as_str();
                sqlx::query(&format!(
                    "INSERT INTO mdmkit_user_certificates ({USER_CERT_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                     ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, \
                     kind_id = excluded.kind_id, name = excluded.name, \
                     certificate_der = excluded.certificate_der, pkcs12 = excluded.pkcs12, \
                     pkcs12_password = excluded.pkcs12_password, \
                     has_private_key = excluded.has_private_key, subject = excluded.subject, \
                     issuer = excluded.issuer, serial = excluded.serial, \
                     not_after = excluded.not_after, uploaded_at = excluded.uploaded_at, \
                     updated_at = excluded.updated_at"
                ))
                .bind(id)
                .bind(record.owner.as_str())
                .bind(record.kind_id.as_str())
                .bind(record.name.as_str())
                .bind(record.certificate_der.as_slice())
                .bind(seal(&self.key, record.pkcs12.as_ref(), "mdmkit_user_certificates", "pkcs12", id)?)
                .bind(seal(&self.key, record.pkcs12_password.as_ref(), "mdmkit_user_certificates", "pkcs12_password", id)?)
                .bind(record.has_private_key)
                .bind(record.subject.as_deref())
                .bind(record.issuer.as_deref())
                .bind(record.serial.as_deref())
                .bind(record.not_after.map(to_micros))
                .bind(to_micros(record.uploaded_at))
                .bind(to_micros(record.updated_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn get_user_certificate(&self, id: &str) -> Result<Option<UserCertificateRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {USER_CERT_COLUMNS} FROM mdmkit_user_certificates WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| self.user_certificate_from_row(&row)).transpose()
            }

            async fn list_user_certificates(
                &self,
                owner: &str,
            ) -> Result<Vec<UserCertificateRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {USER_CERT_COLUMNS} FROM mdmkit_user_certificates WHERE owner = $1 \
                     ORDER BY uploaded_at, id"
                ))
                .bind(owner)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| self.user_certificate_from_row(row)).collect()
            }

            async fn delete_user_certificate(&self, id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_user_certificates WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl ConfigurationStore for $store {
            async fn put_configuration(&self, record: &ConfigurationRecord) -> Result<()> {
                let kinds = serde_json::to_string(&record.certificate_kinds)
                    .map_err(|e| Error::StoreInput(format!("certificate kinds: {e}")))?;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO mdmkit_configurations (id, name, payload, certificate_kinds, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     payload = excluded.payload, certificate_kinds = excluded.certificate_kinds, \
                     created_at = excluded.created_at, updated_at = excluded.updated_at",
                )
                .bind(record.id.as_str())
                .bind(record.name.as_str())
                .bind(seal_bytes(&self.key, Some(record.payload.as_slice()), "mdmkit_configurations", "payload", &record.id)?)
                .bind(kinds)
                .bind(to_micros(record.created_at))
                .bind(to_micros(record.updated_at))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                sqlx::query("DELETE FROM mdmkit_configuration_kinds WHERE configuration_id = $1")
                    .bind(record.id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                for kind in &record.certificate_kinds {
                    sqlx::query(
                        "INSERT INTO mdmkit_configuration_kinds (configuration_id, kind_id) \
                         VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(record.id.as_str())
                    .bind(kind.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                tx.commit().await.map_err(backend)?;
                Ok(())
            }

            async fn get_configuration(&self, id: &str) -> Result<Option<ConfigurationRecord>> {
                let row = sqlx::query("SELECT * FROM mdmkit_configurations WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                row.map(|row| self.configuration_from_row(&row)).transpose()
            }

            async fn list_configurations(&self) -> Result<Vec<ConfigurationRecord>> {
                let rows = sqlx::query("SELECT * FROM mdmkit_configurations ORDER BY id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(|row| self.configuration_from_row(row)).collect()
            }

            async fn configurations_using_kind(
                &self,
                kind_id: &str,
            ) -> Result<Vec<ConfigurationRecord>> {
                let rows = sqlx::query(
                    "SELECT c.* FROM mdmkit_configurations c \
                     JOIN mdmkit_configuration_kinds k ON k.configuration_id = c.id \
                     WHERE k.kind_id = $1 ORDER BY c.id",
                )
                .bind(kind_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| self.configuration_from_row(row)).collect()
            }

            async fn delete_configuration(&self, id: &str) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                for sql in [
                    "DELETE FROM mdmkit_assignments WHERE configuration_id = $1",
                    "DELETE FROM mdmkit_configuration_kinds WHERE configuration_id = $1",
                ] {
                    sqlx::query(sql)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                let done = sqlx::query("DELETE FROM mdmkit_configurations WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn assign_configuration(&self, assignment: &Assignment) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT id FROM mdmkit_configurations WHERE id = $1")
                        .bind(assignment.configuration_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend)?;
                if exists.is_none() {
                    return Err(Error::NotFound {
                        kind: "configuration",
                        id: assignment.configuration_id.clone(),
                    });
                }
                sqlx::query(
                    "INSERT INTO mdmkit_assignments (configuration_id, target_kind, target_id, \
                     assigned_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(assignment.configuration_id.as_str())
                .bind(assignment.target.kind())
                .bind(assignment.target.id())
                .bind(to_micros(assignment.assigned_at))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(())
            }

            async fn unassign_configuration(
                &self,
                configuration_id: &str,
                target: &AssignmentTarget,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "DELETE FROM mdmkit_assignments WHERE configuration_id = $1 \
                     AND target_kind = $2 AND target_id = $3",
                )
                .bind(configuration_id)
                .bind(target.kind())
                .bind(target.id())
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn assignments_of_configuration(
                &self,
                configuration_id: &str,
            ) -> Result<Vec<Assignment>> {
                let rows = sqlx::query(
                    "SELECT * FROM mdmkit_assignments WHERE configuration_id = $1 \
                     ORDER BY target_kind, target_id",
                )
                .bind(configuration_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(Self::assignment_from_row).collect()
            }

            async fn assignments_of_target(
                &self,
                target: &AssignmentTarget,
            ) -> Result<Vec<Assignment>> {
                let rows = sqlx::query(
                    "SELECT * FROM mdmkit_assignments WHERE target_kind = $1 AND target_id = $2 \
                     ORDER BY configuration_id",
                )
                .bind(target.kind())
                .bind(target.id())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(Self::assignment_from_row).collect()
            }
        }

        #[async_trait]
        impl PortalStore for $store {
            async fn put_portal_user(&self, user: &PortalUser) -> Result<()> {
                self.put_account(user).await
            }

            async fn get_portal_user(&self, id: &str) -> Result<Option<PortalUser>> {
                Ok(self.select_accounts(Some(("id = $1", id))).await?.pop())
            }

            async fn find_portal_user_by_email(&self, email: &str) -> Result<Option<PortalUser>> {
                let email = email.to_lowercase();
                Ok(self.select_accounts(Some(("email_lower = $1", &email))).await?.pop())
            }

            async fn list_portal_users(&self) -> Result<Vec<PortalUser>> {
                self.select_accounts(None).await
            }

            async fn delete_portal_user(&self, id: &str) -> Result<bool> {
                self.delete_account::<PortalUser>(id).await
            }

            async fn put_token(&self, token: &TokenRecord) -> Result<()> {
                sqlx::query(&format!(
                    "INSERT INTO mdmkit_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(token.token_hash.as_str())
                .bind(token.kind.as_str())
                .bind(token.user_id.as_str())
                .bind(token.email.as_deref())
                .bind(to_micros(token.created_at))
                .bind(token.expires_at.map(to_micros))
                .bind(token.used_at.map(to_micros))
                .bind(token.invitation.as_deref())
                .execute(&self.pool)
                .await
                .map_err(|e| conflict_or_backend(e, "a token with this hash is already stored"))?;
                Ok(())
            }

            async fn get_token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM mdmkit_tokens WHERE token_hash = $1"
                ))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| Self::token_from_row(&row)).transpose()
            }

            async fn use_token(
                &self,
                token_hash: &str,
                at: OffsetDateTime,
            ) -> Result<Option<TokenRecord>> {
                let row = sqlx::query(&format!(
                    "UPDATE mdmkit_tokens SET used_at = $2 WHERE token_hash = $1 \
                     AND used_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
                     RETURNING {TOKEN_COLUMNS}"
                ))
                .bind(token_hash)
                .bind(to_micros(at))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| Self::token_from_row(&row)).transpose()
            }

            async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM mdmkit_tokens WHERE user_id = $1 \
                     ORDER BY created_at, token_hash"
                ))
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(Self::token_from_row).collect()
            }

            async fn delete_token(&self, token_hash: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn get_privacy_settings(&self) -> Result<PrivacySettings> {
                let value: Option<String> =
                    sqlx::query_scalar("SELECT value FROM mdmkit_settings WHERE name = 'privacy'")
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)?;
                match value {
                    Some(value) => serde_json::from_str(&value).map_err(|e| {
                        Error::StoreBackend(format!("stored privacy settings unreadable: {e}"))
                    }),
                    None => Ok(PrivacySettings::default()),
                }
            }

            async fn put_privacy_settings(&self, settings: &PrivacySettings) -> Result<()> {
                let value = serde_json::to_string(settings)
                    .map_err(|e| Error::StoreInput(format!("privacy settings: {e}")))?;
                sqlx::query(
                    "INSERT INTO mdmkit_settings (name, value) VALUES ('privacy', $1) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(value)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn get_privacy_override(
                &self,
                scope: &PrivacyScope,
            ) -> Result<Option<PrivacyOverride>> {
                let row = sqlx::query(
                    "SELECT allow_location, allow_app_inventory FROM mdmkit_privacy_overrides \
                     WHERE scope_kind = $1 AND scope_id = $2",
                )
                .bind(scope.kind())
                .bind(scope.id())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| {
                    let mut settings = PrivacyOverride::default();
                    settings.allow_location = row.try_get("allow_location").map_err(backend)?;
                    settings.allow_app_inventory =
                        row.try_get("allow_app_inventory").map_err(backend)?;
                    Ok(settings)
                })
                .transpose()
            }

            async fn put_privacy_override(
                &self,
                scope: &PrivacyScope,
                settings: &PrivacyOverride,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_privacy_overrides \
                     (scope_kind, scope_id, allow_location, allow_app_inventory, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope_kind, scope_id) DO UPDATE \
                     SET allow_location = excluded.allow_location, \
                     allow_app_inventory = excluded.allow_app_inventory, \
                     updated_at = excluded.updated_at",
                )
                .bind(scope.kind())
                .bind(scope.id())
                .bind(settings.allow_location)
                .bind(settings.allow_app_inventory)
                .bind(to_micros(now_micros()))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn delete_privacy_override(&self, scope: &PrivacyScope) -> Result<bool> {
                let done = sqlx::query(
                    "DELETE FROM mdmkit_privacy_overrides WHERE scope_kind = $1 AND scope_id = $2",
                )
                .bind(scope.kind())
                .bind(scope.id())
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn get_branding(&self) -> Result<Option<Branding>> {
                let row = sqlx::query(
                    "SELECT name, primary_colour, accent_colour, logo, logo_content_type, \
                     updated_at FROM mdmkit_branding WHERE id = 1",
                )
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.map(|row| {
                    let mut branding =
                        Branding::new(row.try_get::<String, _>("name").map_err(backend)?);
                    branding.primary_colour = row.try_get("primary_colour").map_err(backend)?;
                    branding.accent_colour = row.try_get("accent_colour").map_err(backend)?;
                    branding.logo = row.try_get("logo").map_err(backend)?;
                    branding.logo_content_type =
                        row.try_get("logo_content_type").map_err(backend)?;
                    branding.updated_at =
                        from_micros(row.try_get("updated_at").map_err(backend)?)?;
                    Ok(branding)
                })
                .transpose()
            }

            async fn put_branding(&self, branding: &Branding) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_branding (id, name, primary_colour, accent_colour, logo, \
                     logo_content_type, updated_at) VALUES (1, $1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     primary_colour = excluded.primary_colour, \
                     accent_colour = excluded.accent_colour, logo = excluded.logo, \
                     logo_content_type = excluded.logo_content_type, \
                     updated_at = excluded.updated_at",
                )
                .bind(branding.name.as_str())
                .bind(branding.primary_colour.as_deref())
                .bind(branding.accent_colour.as_deref())
                .bind(branding.logo.as_deref())
                .bind(branding.logo_content_type.as_deref())
                .bind(to_micros(branding.updated_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn record_sign_in_failure(
                &self,
                account: &str,
                at: OffsetDateTime,
                max_failures: u32,
                lockout: time::Duration,
            ) -> Result<Option<OffsetDateTime>> {
                let now = to_micros(at);
                let forget_before = to_micros(at - lockout);
                let mut tx = self.begin_write().await?;
                // Forget failures and lockouts that have passed (here, not on a timer).
                sqlx::query(
                    "DELETE FROM mdmkit_sign_in_failures WHERE last_failure <= $1 \
                     AND (locked_until IS NULL OR locked_until <= $2)",
                )
                .bind(forget_before)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                // A lockout that has ended starts the count again; a running one stays.
                let locked_until: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO mdmkit_sign_in_failures \
                     (account, failures, locked_until, last_failure) \
                     VALUES ($1, 1, CASE WHEN $2 <= 1 THEN $3 END, $4) \
                     ON CONFLICT (account) DO UPDATE SET \
                     failures = CASE WHEN mdmkit_sign_in_failures.locked_until <= $4 \
                         THEN 1 ELSE mdmkit_sign_in_failures.failures + 1 END, \
                     locked_until = CASE \
                         WHEN mdmkit_sign_in_failures.locked_until > $4 \
                             THEN mdmkit_sign_in_failures.locked_until \
                         WHEN mdmkit_sign_in_failures.locked_until IS NULL \
                             AND mdmkit_sign_in_failures.failures + 1 >= $2 THEN $3 \
                         WHEN $2 <= 1 THEN $3 \
                         ELSE NULL END, \
                     last_failure = $4 \
                     RETURNING locked_until",
                )
                .bind(account)
                .bind(i64::from(max_failures))
                .bind(to_micros(at + lockout))
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                opt_from_micros(locked_until)
            }

            async fn sign_in_locked_until(
                &self,
                account: &str,
                at: OffsetDateTime,
            ) -> Result<Option<OffsetDateTime>> {
                let until: Option<i64> = sqlx::query_scalar(
                    "SELECT locked_until FROM mdmkit_sign_in_failures \
                     WHERE account = $1 AND locked_until > $2",
                )
                .bind(account)
                .bind(to_micros(at))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .flatten();
                opt_from_micros(until)
            }

            async fn clear_sign_in_failures(&self, account: &str) -> Result<()> {
                sqlx::query("DELETE FROM mdmkit_sign_in_failures WHERE account = $1")
                    .bind(account)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            async fn append_audit_event(&self, event: &AuditEvent) -> Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO mdmkit_audit_events (at, actor, action, target, detail) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(to_micros(event.at))
                .bind(event.actor.as_str())
                .bind(event.action.as_str())
                .bind(event.target.as_deref())
                .bind(event.detail.as_deref())
                .fetch_one(&self.pool)
                .await
                .map_err(backend)
            }

            async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
                let rows = sqlx::query(
                    "SELECT * FROM mdmkit_audit_events WHERE ($1 IS NULL OR actor = $1) \
                     AND ($2 IS NULL OR target = $2) AND ($3 IS NULL OR id < $3) \
                     ORDER BY id DESC LIMIT $4",
                )
                .bind(query.actor.as_deref())
                .bind(query.target.as_deref())
                .bind(query.before_id)
                .bind(i64::from(query.limit.unwrap_or(100)))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(Self::audit_from_row).collect()
            }
        }

        #[async_trait]
        impl AdminStore for $store {
            async fn put_admin_user(&self, user: &AdminUserRecord) -> Result<()> {
                self.put_account(user).await
            }

            async fn get_admin_user(&self, id: &str) -> Result<Option<AdminUserRecord>> {
                Ok(self.select_accounts(Some(("id = $1", id))).await?.pop())
            }

            async fn find_admin_user_by_email(&self, email: &str) -> Result<Option<AdminUserRecord>> {
                let email = email.to_lowercase();
                Ok(self.select_accounts(Some(("email_lower = $1", &email))).await?.pop())
            }

            async fn list_admin_users(&self) -> Result<Vec<AdminUserRecord>> {
                self.select_accounts(None).await
            }

            async fn delete_admin_user(&self, id: &str) -> Result<bool> {
                self.delete_account::<AdminUserRecord>(id).await
            }
        }

        #[async_trait]
        impl DeclarationStore for $store {
            async fn put_declarations(&self, records: &[DeclarationRecord]) -> Result<()> {
                let mut tx = self.begin_write().await?;
                for record in records {
                    sqlx::query(
                        "INSERT INTO mdmkit_ddm_declarations (identifier, declaration_type, \
                         set_name, server_token, body, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (identifier) DO UPDATE SET \
                         declaration_type = excluded.declaration_type, \
                         set_name = excluded.set_name, server_token = excluded.server_token, \
                         body = excluded.body, updated_at = excluded.updated_at",
                    )
                    .bind(record.identifier.as_str())
                    .bind(record.declaration_type.as_str())
                    .bind(record.set_name.as_str())
                    .bind(record.server_token.as_str())
                    .bind(record.json.as_str())
                    .bind(to_micros(record.updated_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                tx.commit().await.map_err(backend)?;
                Ok(())
            }

            async fn get_declaration(&self, identifier: &str) -> Result<Option<DeclarationRecord>> {
                let row = sqlx::query("SELECT * FROM mdmkit_ddm_declarations WHERE identifier = $1")
                    .bind(identifier)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                row.map(|row| Self::declaration_from_row(&row)).transpose()
            }

            async fn list_declarations(
                &self,
                set_name: Option<&str>,
            ) -> Result<Vec<DeclarationRecord>> {
                let rows = sqlx::query(
                    "SELECT * FROM mdmkit_ddm_declarations WHERE ($1 IS NULL OR set_name = $1) \
                     ORDER BY identifier",
                )
                .bind(set_name)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(Self::declaration_from_row).collect()
            }

            async fn delete_declaration(&self, identifier: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_ddm_declarations WHERE identifier = $1")
                    .bind(identifier)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn assign_declaration_set(
                &self,
                set_name: &str,
                enrollment: &EnrollmentId,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_ddm_set_assignments (enrollment_id, set_name) \
                     VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(enrollment.as_str())
                .bind(set_name)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn unassign_declaration_set(
                &self,
                set_name: &str,
                enrollment: &EnrollmentId,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "DELETE FROM mdmkit_ddm_set_assignments WHERE enrollment_id = $1 \
                     AND set_name = $2",
                )
                .bind(enrollment.as_str())
                .bind(set_name)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }

            async fn declaration_sets_of(&self, enrollment: &EnrollmentId) -> Result<Vec<String>> {
                sqlx::query_scalar(
                    "SELECT set_name FROM mdmkit_ddm_set_assignments WHERE enrollment_id = $1 \
                     ORDER BY set_name",
                )
                .bind(enrollment.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)
            }

            async fn enrollments_of_declaration_set(
                &self,
                set_name: &str,
            ) -> Result<Vec<EnrollmentId>> {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT enrollment_id FROM mdmkit_ddm_set_assignments WHERE set_name = $1 \
                     ORDER BY enrollment_id",
                )
                .bind(set_name)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                Ok(ids.into_iter().map(EnrollmentId::new).collect())
            }

            async fn declarations_for_enrollment(
                &self,
                enrollment: &EnrollmentId,
            ) -> Result<Vec<DeclarationRecord>> {
                let rows = sqlx::query(
                    "SELECT d.* FROM mdmkit_ddm_declarations d \
                     JOIN mdmkit_ddm_set_assignments a ON a.set_name = d.set_name \
                     WHERE a.enrollment_id = $1 ORDER BY d.identifier",
                )
                .bind(enrollment.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.iter().map(Self::declaration_from_row).collect()
            }

            async fn record_status(
                &self,
                enrollment: &EnrollmentId,
                update: &StatusUpdate,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                if update.full_report {
                    sqlx::query("DELETE FROM mdmkit_ddm_status_items WHERE enrollment_id = $1")
                        .bind(enrollment.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                for item in &update.items {
                    sqlx::query(
                        "INSERT INTO mdmkit_ddm_status_items (enrollment_id, item, value, \
                         reported_at) VALUES ($1, $2, $3, $4) ON CONFLICT (enrollment_id, item) \
                         DO UPDATE SET value = excluded.value, reported_at = excluded.reported_at",
                    )
                    .bind(enrollment.as_str())
                    .bind(item.item.as_str())
                    .bind(item.value.as_str())
                    .bind(to_micros(item.reported_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                let full_at = update.full_report.then(|| to_micros(update.received_at));
                sqlx::query(
                    "INSERT INTO mdmkit_ddm_enrollments (enrollment_id, errors, full_report_at, \
                     has_status) VALUES ($1, $2, $3, TRUE) ON CONFLICT (enrollment_id) DO UPDATE \
                     SET errors = excluded.errors, has_status = TRUE, full_report_at = \
                     COALESCE(excluded.full_report_at, mdmkit_ddm_enrollments.full_report_at)",
                )
                .bind(enrollment.as_str())
                .bind(update.errors.as_str())
                .bind(full_at)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(())
            }

            async fn get_status(
                &self,
                enrollment: &EnrollmentId,
            ) -> Result<Option<DeclarativeStatus>> {
                let row = sqlx::query(
                    "SELECT errors, full_report_at FROM mdmkit_ddm_enrollments \
                     WHERE enrollment_id = $1 AND has_status",
                )
                .bind(enrollment.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let rows = sqlx::query(
                    "SELECT item, value, reported_at FROM mdmkit_ddm_status_items \
                     WHERE enrollment_id = $1 ORDER BY item",
                )
                .bind(enrollment.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                let mut items = Vec::with_capacity(rows.len());
                for r in &rows {
                    let mut item = StatusItemRecord::new(
                        r.try_get::<String, _>("item").map_err(backend)?,
                        r.try_get::<String, _>("value").map_err(backend)?,
                    );
                    item.reported_at = from_micros(r.try_get("reported_at").map_err(backend)?)?;
                    items.push(item);
                }
                Ok(Some(DeclarativeStatus {
                    items,
                    errors: row.try_get("errors").map_err(backend)?,
                    full_report_at: opt_from_micros(
                        row.try_get("full_report_at").map_err(backend)?,
                    )?,
                }))
            }

            async fn set_synced_declarations_token(
                &self,
                enrollment: &EnrollmentId,
                token: &str,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_ddm_enrollments (enrollment_id, synced_token) \
                     VALUES ($1, $2) ON CONFLICT (enrollment_id) DO UPDATE \
                     SET synced_token = excluded.synced_token",
                )
                .bind(enrollment.as_str())
                .bind(token)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn synced_declarations_token(
                &self,
                enrollment: &EnrollmentId,
            ) -> Result<Option<String>> {
                let token: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT synced_token FROM mdmkit_ddm_enrollments WHERE enrollment_id = $1",
                )
                .bind(enrollment.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                Ok(token.flatten())
            }

            async fn put_asset_data(&self, record: &AssetDataRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mdmkit_ddm_asset_data (identifier, content_type, data, sha256, \
                     updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (identifier) DO UPDATE \
                     SET content_type = excluded.content_type, data = excluded.data, \
                     sha256 = excluded.sha256, updated_at = excluded.updated_at",
                )
                .bind(record.identifier.as_str())
                .bind(record.content_type.as_str())
                .bind(record.data.as_slice())
                .bind(record.sha256.as_str())
                .bind(to_micros(record.updated_at))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn get_asset_data(&self, identifier: &str) -> Result<Option<AssetDataRecord>> {
                let row = sqlx::query("SELECT * FROM mdmkit_ddm_asset_data WHERE identifier = $1")
                    .bind(identifier)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let mut record = AssetDataRecord::new(
                    row.try_get::<String, _>("identifier").map_err(backend)?,
                    row.try_get::<String, _>("content_type").map_err(backend)?,
                    row.try_get::<Vec<u8>, _>("data").map_err(backend)?,
                );
                record.sha256 = row.try_get("sha256").map_err(backend)?;
                record.updated_at = from_micros(row.try_get("updated_at").map_err(backend)?)?;
                Ok(Some(record))
            }

            async fn delete_asset_data(&self, identifier: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM mdmkit_ddm_asset_data WHERE identifier = $1")
                    .bind(identifier)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use impl_sql_store;
