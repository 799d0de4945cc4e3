//! The store conformance suite against PostgreSQL, when `MDMKIT_TEST_POSTGRES_URL` names a
//! server (scripts/postgres.sh starts one). Each test works in a schema of its own, so runs
//! never collide. Without the variable every test prints that it was skipped.

use std::sync::Arc;

use mdmkit_core::store::{
    conformance, AtRestKey, CommandQueue, EnrollmentRecord, EnrollmentStore, NextCommand,
    PostgresStore, QueuedCommand,
};
use mdmkit_core::{EnrollmentId, Secret};

mod common;

fn url() -> Option<String> {
    match std::env::var("MDMKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Straight to standard error, past the test harness's output capture, so the
            // skip shows in a normal `cargo test` run.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL store test (set MDMKIT_TEST_POSTGRES_URL, e.g. with \
                 `. scripts/postgres.sh`)"
            );
            None
        }
    }
}

fn key() -> AtRestKey {
    AtRestKey::from_bytes(&[9; 32]).unwrap()
}

fn fresh_schema() -> String {
    format!("mdmkit_test_{}", uuid::Uuid::new_v4().simple())
}

async fn drop_schema(url: &str, schema: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&mut connection)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let Some(url) = url() else { return };
    let schema = fresh_schema();
    let store = PostgresStore::connect_in_schema(&url, &schema, key())
        .await
        .unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        PostgresStore::SCHEMA_VERSION
    );
    conformance::run_all(&store).await;
    store.close().await;
    drop_schema(&url, &schema).await;
}

/// Several engines on one database: migrations at once, then dequeues at once from
/// separate pools never hand out the same command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_engines_share_one_database() {
    let Some(url) = url() else { return };
    let schema = fresh_schema();
    let (a, b) = tokio::join!(
        PostgresStore::connect_in_schema(&url, &schema, key()),
        PostgresStore::connect_in_schema(&url, &schema, key())
    );
    let engines = [Arc::new(a.unwrap()), Arc::new(b.unwrap())];
    let id = EnrollmentId::device("SHARED");
    let uuids: Vec<String> = (0..40).map(|i| format!("shared-{i:02}")).collect();
    for uuid in &uuids {
        engines[0]
            .enqueue(
                &QueuedCommand::new(uuid.as_str(), "DeviceInformation", b"<plist/>".to_vec()),
                std::slice::from_ref(&id),
            )
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let engine = Arc::clone(&engines[worker % 2]);
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut handed = Vec::new();
            while let Some(command) = engine
                .next_command(&id, &NextCommand::after_idle())
                .await
                .unwrap()
            {
                handed.push(command.command_uuid);
            }
            handed
        }));
    }
    let mut handed = Vec::new();
    for task in tasks {
        handed.extend(task.await.unwrap());
    }
    handed.sort();
    assert_eq!(handed, uuids, "each command handed out exactly once");
    for engine in &engines {
        engine.close().await;
    }
    drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn postgres_secrets_are_encrypted_at_rest() {
    let Some(url) = url() else { return };
    let schema = fresh_schema();
    let store = PostgresStore::connect_in_schema(&url, &schema, key())
        .await
        .unwrap();
    let id = EnrollmentId::device("PG-SECRET");
    let mut record = EnrollmentRecord::new(id.clone());
    record.unlock_token = Some(Secret::from("PG-UNLOCK-PLAINTEXT"));
    record.bootstrap_token = Some(Secret::from("PG-BOOTSTRAP-PLAINTEXT"));
    store.put_enrollment(&record).await.unwrap();
    store.close().await;

    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
    let raw: (Vec<u8>, Vec<u8>) = sqlx::query_as(&format!(
        "SELECT unlock_token, bootstrap_token FROM \"{schema}\".mdmkit_enrollments"
    ))
    .fetch_one(&mut connection)
    .await
    .unwrap();
    for (column, plaintext) in [
        (&raw.0, &b"PG-UNLOCK-PLAINTEXT"[..]),
        (&raw.1, &b"PG-BOOTSTRAP-PLAINTEXT"[..]),
    ] {
        assert!(!column.windows(plaintext.len()).any(|w| w == plaintext));
    }
    let error = PostgresStore::connect_in_schema(&url, &schema, AtRestKey::generate().unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "store_key_mismatch");
    drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn bad_schema_names_and_urls_are_refused() {
    let error = PostgresStore::connect("mysql://nope", key())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "store_input");
    let error = PostgresStore::connect_in_schema("postgres://127.0.0.1/x", "bad\"name", key())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "store_input");
}

/// A URL whose connections work in `schema` (the search path), for `connect`,
/// `connect_new` and `rotate_key`, which take no schema.
fn schema_url(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

async fn raw(url: &str, schema: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\""
    ))
    .execute(&mut connection)
    .await
    .unwrap();
    connection
}

/// Every column of every mdmkit table, cast to text.
async fn every_value_as_text(connection: &mut sqlx::PgConnection, schema: &str) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_name LIKE 'mdmkit_%'",
    )
    .bind(schema)
    .fetch_all(&mut *connection)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    let mut all = String::new();
    for table in tables {
        // Byte columns as text are hex (\x...): their UTF-8 reading is added too.
        let rows: Vec<Option<String>> =
            sqlx::query_scalar(&format!("SELECT CAST(t.* AS text) FROM \"{table}\" t"))
                .fetch_all(&mut *connection)
                .await
                .unwrap();
        for row in rows.into_iter().flatten() {
            all.push_str(&row);
            all.push('\n');
        }
    }
    all
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn postgres_every_sealed_column_holds_no_plaintext() {
    let Some(url) = url() else { return };
    let schema = fresh_schema();
    let store = PostgresStore::connect_in_schema(&url, &schema, key())
        .await
        .unwrap();
    common::fill_every_sealed_column(&store).await;
    common::assert_every_sealed_column_reads(&store).await;
    store.close().await;
    let mut connection = raw(&url, &schema).await;
    let all = every_value_as_text(&mut connection, &schema).await;
    assert!(all.contains("ROT-topic"), "the raw read sees data");
    for secret in [
        "unlock",
        "bootstrap",
        "authenticate",
        "token-update",
        "information",
        "ROT-payload",
        "ROT-result",
        "ROT-push-key",
        "ROT-csr-key",
        "ROT-p12",
        "ROT-hash",
        "ROT-config-payload",
    ] {
        assert!(
            !all.contains(secret) && !all.contains(&hex_of(secret)),
            "{secret} in plaintext"
        );
    }
    drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn postgres_key_check_new_keys_and_wrong_keys() {
    let Some(url) = url() else { return };
    let schema = fresh_schema();
    let _ = raw(&url, &schema).await;
    let location = schema_url(&url, &schema);
    let store = PostgresStore::connect_new(&location, key()).await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        PostgresStore::SCHEMA_VERSION
    );
    store.close().await;
    let mut connection = raw(&url, &schema).await;
    let check: Vec<u8> = sqlx::query_scalar("SELECT key_check FROM mdmkit_store_key")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(check.len(), 32);
    assert_ne!(check, [9u8; 32]);
    assert_eq!(
        PostgresStore::connect_new(&location, AtRestKey::generate().unwrap())
            .await
            .unwrap_err()
            .code(),
        "store_not_empty"
    );
    assert_eq!(
        mdmkit_core::store::open(&location, AtRestKey::generate().unwrap())
            .await
            .err()
            .unwrap()
            .code(),
        "store_key_mismatch"
    );
    let again: Vec<u8> = sqlx::query_scalar("SELECT key_check FROM mdmkit_store_key")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(check, again, "nothing written by the refused opens");
    let store = PostgresStore::connect(&location, key()).await.unwrap();
    store.close().await;
    drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn postgres_database_from_before_key_checks() {
    let Some(url) = url() else { return };
    let schema = fresh_schema();
    let mut connection = raw(&url, &schema).await;
    for sql in [
        include_str!("../src/store/migrations/postgres_0001_initial.sql"),
        include_str!("../src/store/migrations/postgres_0002_portal.sql"),
        "CREATE TABLE mdmkit_schema_migrations (version BIGINT PRIMARY KEY, \
         applied_at BIGINT NOT NULL); \
         INSERT INTO mdmkit_schema_migrations VALUES (1, 0), (2, 0);",
    ] {
        sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
    }
    let sealed = key()
        .seal(b"V2-UNLOCK", "mdmkit_enrollments.unlock_token\0V2")
        .unwrap();
    sqlx::query(
        "INSERT INTO mdmkit_enrollments (id, device_id, unlock_token, enabled, \
         token_update_message, created_at, updated_at) VALUES ('V2', 'V2', $1, TRUE, $2, 0, 0)",
    )
    .bind(sealed)
    .bind(&b"V2-TOKEN-UPDATE"[..])
    .execute(&mut connection)
    .await
    .unwrap();
    sqlx::query("INSERT INTO mdmkit_commands VALUES ('V2C', 'ClearPasscode', $1, 0, 0)")
        .bind(&b"V2-CLEAR"[..])
        .execute(&mut connection)
        .await
        .unwrap();
    let location = schema_url(&url, &schema);
    let error = PostgresStore::connect(&location, AtRestKey::generate().unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "store_key_mismatch");
    let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM mdmkit_schema_migrations")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(version, 2, "nothing written by the refused open");
    let store = PostgresStore::connect(&location, key()).await.unwrap();
    let loaded = store
        .get_enrollment(&EnrollmentId::device("V2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.unlock_token.unwrap().expose(), b"V2-UNLOCK");
    assert_eq!(loaded.token_update_message.unwrap(), b"V2-TOKEN-UPDATE");
    assert_eq!(
        store.get_command("V2C").await.unwrap().unwrap().payload,
        b"V2-CLEAR"
    );
    store.close().await;
    let all = every_value_as_text(&mut connection, &schema).await;
    for secret in ["V2-TOKEN-UPDATE", "V2-CLEAR", "V2-UNLOCK"] {
        assert!(!all.contains(&hex_of(secret)), "{secret} in plaintext");
    }
    drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn postgres_rotate_key() {
    let Some(url) = url() else { return };
    let schema = fresh_schema();
    let store = PostgresStore::connect_in_schema(&url, &schema, key())
        .await
        .unwrap();
    common::fill_every_sealed_column(&store).await;
    let new_key = AtRestKey::from_bytes(&[43; 32]).unwrap();
    // A value the store's key cannot open: nothing changes.
    let mut connection = raw(&url, &schema).await;
    sqlx::query("UPDATE mdmkit_enrollments SET bootstrap_token = $1 WHERE id = 'DEVICE-ROT2'")
        .bind(vec![1u8; 40])
        .execute(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        store.rotate_key(&new_key).await.unwrap_err().code(),
        "store_crypto"
    );
    sqlx::query("UPDATE mdmkit_enrollments SET bootstrap_token = NULL WHERE id = 'DEVICE-ROT2'")
        .execute(&mut connection)
        .await
        .unwrap();
    common::assert_every_sealed_column_reads(&store).await;
    store.close().await;

    let location = schema_url(&url, &schema);
    assert_eq!(
        mdmkit_core::store::rotate_key(&location, AtRestKey::generate().unwrap(), &new_key)
            .await
            .unwrap_err()
            .code(),
        "store_key_mismatch"
    );
    let count = mdmkit_core::store::rotate_key(&location, key(), &new_key)
        .await
        .unwrap();
    assert!(count >= 13, "{count}");
    assert_eq!(
        PostgresStore::connect(&location, key())
            .await
            .unwrap_err()
            .code(),
        "store_key_mismatch"
    );
    let store = PostgresStore::connect(&location, new_key).await.unwrap();
    common::assert_every_sealed_column_reads(&store).await;
    store.close().await;
    drop_schema(&url, &schema).await;
}
