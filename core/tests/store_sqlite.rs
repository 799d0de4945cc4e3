//! The store conformance suite and at-rest encryption checks against SQLite.

use mdmkit_core::store::{
    conformance, AtRestKey, CommandQueue, EnrollmentRecord, EnrollmentStore, PendingCsrKey,
    PortalStore, PortalUser, PushCertificateRecord, PushCertificateStore, QueuedCommand,
    SqliteStore, UserCertificateRecord, UserCertificateStore,
};
use mdmkit_core::{EnrollmentId, Secret};

fn key() -> AtRestKey {
    AtRestKey::from_bytes(&[7; 32]).unwrap()
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conformance.db");
    let store = SqliteStore::open(path.to_str().unwrap(), key())
        .await
        .unwrap();
    conformance::run_all(&store).await;
    // The suite uses unique identifiers: a second run on the same file passes too.
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn sqlite_in_memory_and_url_locations_work() {
    let store = SqliteStore::open("sqlite::memory:", key()).await.unwrap();
    conformance::enrollments(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("url.db").display());
    let store = SqliteStore::open(&url, key()).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 4);
}

/// Every secret the store holds, as distinctive plaintext.
const SECRETS: [&[u8]; 7] = [
    b"UNLOCK-TOKEN-PLAINTEXT",
    b"BOOTSTRAP-TOKEN-PLAINTEXT",
    b"PUSH-PRIVATE-KEY-PLAINTEXT",
    b"CSR-PRIVATE-KEY-PLAINTEXT",
    b"PKCS12-BLOB-PLAINTEXT",
    b"PKCS12-PASSWORD-PLAINTEXT",
    b"PASSWORD-HASH-PLAINTEXT",
];

#[tokio::test]
async fn secrets_are_encrypted_at_rest_and_need_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.db");
    let location = path.to_str().unwrap().to_owned();
    let store = SqliteStore::open(&location, key()).await.unwrap();

    let id = EnrollmentId::device("SECRET-DEVICE");
    let mut enrollment = EnrollmentRecord::new(id.clone());
    enrollment.unlock_token = Some(Secret::new(SECRETS[0]));
    enrollment.bootstrap_token = Some(Secret::new(SECRETS[1]));
    store.put_enrollment(&enrollment).await.unwrap();
    let certificate = PushCertificateRecord::new(
        "com.apple.mgmt.External.secret",
        b"public certificate".to_vec(),
        Secret::new(SECRETS[2]),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    store.put_push_certificate(&certificate).await.unwrap();
    store
        .put_pending_csr_key(&PendingCsrKey::new("csr", Secret::new(SECRETS[3])))
        .await
        .unwrap();
    let mut user_certificate =
        UserCertificateRecord::new("uc", "user", "kind", "name", b"der".to_vec());
    user_certificate.pkcs12 = Some(Secret::new(SECRETS[4]));
    user_certificate.pkcs12_password = Some(Secret::new(SECRETS[5]));
    store.put_user_certificate(&user_certificate).await.unwrap();
    let mut user = PortalUser::new("user", "user@example.com");
    user.password_hash = Some(Secret::new(SECRETS[6]));
    store.put_portal_user(&user).await.unwrap();
    store
        .enqueue(
            &QueuedCommand::new("C1", "DeviceLock", b"<plist/>".to_vec()),
            std::slice::from_ref(&id),
        )
        .await
        .unwrap();
    store.close().await;

    // The raw database: main file and write-ahead log.
    let mut raw = std::fs::read(&path).unwrap();
    for suffix in ["-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{location}{suffix}")) {
            raw.extend(bytes);
        }
    }
    assert!(
        raw.windows(b"public certificate".len())
            .any(|w| w == b"public certificate"),
        "the raw read sees stored data"
    );
    for secret in SECRETS {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "{} found in plaintext",
            String::from_utf8_lossy(secret)
        );
    }

    // The same key reads everything back.
    let store = SqliteStore::open(&location, key()).await.unwrap();
    let loaded = store.get_enrollment(&id).await.unwrap().unwrap();
    assert_eq!(loaded.unlock_token.unwrap().expose(), SECRETS[0]);
    assert_eq!(
        store
            .get_push_certificate(&certificate.topic)
            .await
            .unwrap()
            .unwrap()
            .private_key
            .expose(),
        SECRETS[2]
    );
    store.close().await;

    // Another key cannot.
    let other = AtRestKey::from_bytes(&[8; 32]).unwrap();
    let store = SqliteStore::open(&location, other).await.unwrap();
    let error = store.get_enrollment(&id).await.unwrap_err();
    assert_eq!(error.code(), "store_crypto");
    assert_eq!(
        store.get_user_certificate("uc").await.unwrap_err().code(),
        "store_crypto"
    );
}

#[tokio::test]
async fn data_survives_reopening_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db");
    let location = path.to_str().unwrap();
    let id = EnrollmentId::device("REOPEN");
    {
        let store = SqliteStore::open(location, key()).await.unwrap();
        store
            .enqueue(
                &QueuedCommand::new("R1", "DeviceInformation", b"<plist/>".to_vec()),
                std::slice::from_ref(&id),
            )
            .await
            .unwrap();
        store.close().await;
    }
    assert_eq!(
        mdmkit_core::store::migrate(location, key()).await.unwrap(),
        4
    );
    let store = mdmkit_core::store::open(location, key()).await.unwrap();
    let pending = store.pending_commands(&id).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].command.command_uuid, "R1");
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    let location = path.to_str().unwrap();
    let store = SqliteStore::open(location, key()).await.unwrap();
    store.close().await;
    {
        use sqlx::ConnectOptions;
        let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(location)
            .connect()
            .await
            .unwrap();
        sqlx::query("INSERT INTO mdmkit_schema_migrations (version, applied_at) VALUES (99, 0)")
            .execute(&mut connection)
            .await
            .unwrap();
    }
    let error = SqliteStore::open(location, key()).await.unwrap_err();
    assert_eq!(error.code(), "store_backend");
    assert!(error.to_string().contains("newer"), "{error}");
}

#[tokio::test]
async fn bad_locations_are_errors() {
    let error = SqliteStore::open("/nonexistent-dir/sub/x.db", key())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "store_backend");
}

/// Two stores on one file (as two engine processes would be): concurrent dequeues never
/// hand out the same command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_never_hand_out_a_command_twice() {
    use mdmkit_core::store::NextCommand;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let location = path.to_str().unwrap();
    let a = Arc::new(SqliteStore::open(location, key()).await.unwrap());
    let b = Arc::new(SqliteStore::open(location, key()).await.unwrap());
    let id = EnrollmentId::device("SHARED");
    let uuids: Vec<String> = (0..40).map(|i| format!("shared-{i:02}")).collect();
    for uuid in &uuids {
        a.enqueue(
            &QueuedCommand::new(uuid.as_str(), "DeviceInformation", b"<plist/>".to_vec()),
            std::slice::from_ref(&id),
        )
        .await
        .unwrap();
    }
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let store = if worker % 2 == 0 {
            Arc::clone(&a)
        } else {
            Arc::clone(&b)
        };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut handed = Vec::new();
            while let Some(command) = store
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
}

#[tokio::test]
async fn a_version_1_database_is_upgraded_keeping_its_settings() {
    use mdmkit_core::store::{PrivacyOverride, PrivacyScope};
    use sqlx::ConnectOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let location = path.to_str().unwrap();
    {
        // A database as mdmkit with only the first migration left it.
        let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(location)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        sqlx::raw_sql(include_str!(
            "../src/store/migrations/sqlite_0001_initial.sql"
        ))
        .execute(&mut connection)
        .await
        .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE mdmkit_schema_migrations (version BIGINT PRIMARY KEY, \
             applied_at BIGINT NOT NULL); \
             INSERT INTO mdmkit_schema_migrations VALUES (1, 0); \
             INSERT INTO mdmkit_settings (name, value) \
             VALUES ('privacy', '{\"allow_location\":true}');",
        )
        .execute(&mut connection)
        .await
        .unwrap();
    }
    let store = SqliteStore::open(location, key()).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 4);
    assert!(store.get_privacy_settings().await.unwrap().allow_location);
    let scope = PrivacyScope::User("alice".into());
    let mut settings = PrivacyOverride::default();
    settings.allow_location = Some(false);
    store.put_privacy_override(&scope, &settings).await.unwrap();
    assert_eq!(
        store.get_privacy_override(&scope).await.unwrap(),
        Some(settings)
    );
    assert_eq!(store.get_branding().await.unwrap(), None);
}
