//! The store conformance suite against PostgreSQL, when `MDMKIT_TEST_POSTGRES_URL` names a
//! server (scripts/postgres.sh starts one). Each test works in a schema of its own, so runs
//! never collide. Without the variable every test prints that it was skipped.

use std::sync::Arc;

use mdmkit_core::store::{
    conformance, AtRestKey, CommandQueue, EnrollmentRecord, EnrollmentStore, NextCommand,
    PostgresStore, QueuedCommand,
};
use mdmkit_core::{EnrollmentId, Secret};

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
    assert_eq!(store.schema_version().await.unwrap(), 4);
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
    let other = PostgresStore::connect_in_schema(&url, &schema, AtRestKey::generate().unwrap())
        .await
        .unwrap();
    assert_eq!(
        other.get_enrollment(&id).await.unwrap_err().code(),
        "store_crypto"
    );
    other.close().await;
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
