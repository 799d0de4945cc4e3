//! The store conformance suite and at-rest encryption checks against SQLite.

use mdmkit_core::store::{
    conformance, AtRestKey, CommandQueue, EnrollmentRecord, EnrollmentStore, PendingCsrKey,
    PortalStore, PortalUser, PushCertificateRecord, PushCertificateStore, QueuedCommand,
    SqliteStore, UserCertificateRecord, UserCertificateStore,
};
use mdmkit_core::{EnrollmentId, Secret};

mod common;

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
    assert_eq!(
        store.schema_version().await.unwrap(),
        SqliteStore::SCHEMA_VERSION
    );
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

    // Another key is refused at open, before anything is written.
    let other = AtRestKey::from_bytes(&[8; 32]).unwrap();
    let error = SqliteStore::open(&location, other).await.unwrap_err();
    assert_eq!(error.code(), "store_key_mismatch");
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
        SqliteStore::SCHEMA_VERSION
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
    assert_eq!(
        store.schema_version().await.unwrap(),
        SqliteStore::SCHEMA_VERSION
    );
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

/// A raw look at a database file, past the store.
async fn raw(location: &str) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(location)
        .connect()
        .await
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The main file and its write-ahead log, as an attacker with the files reads them.
fn file_bytes(location: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(location).unwrap();
    for suffix in ["-wal", "-shm"] {
        if let Ok(more) = std::fs::read(format!("{location}{suffix}")) {
            bytes.extend(more);
        }
    }
    bytes
}

#[tokio::test]
async fn raw_messages_command_payloads_and_results_are_sealed() {
    use mdmkit_core::store::{
        CommandResultRecord, ConfigurationRecord, ConfigurationStore, DeviceRecord,
    };
    use mdmkit_core::CommandStatus;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.db");
    let location = path.to_str().unwrap();
    let store = SqliteStore::open(location, key()).await.unwrap();
    let id = EnrollmentId::device("RAW");
    let mut record = EnrollmentRecord::new(id.clone());
    record.token_update_message = Some(b"<key>UnlockToken</key><data>RAW-UNLOCK</data>".to_vec());
    record.authenticate_message = Some(b"RAW-AUTHENTICATE".to_vec());
    store.put_enrollment(&record).await.unwrap();
    let mut device = DeviceRecord::new("RAW");
    device.device_information = Some(b"RAW-DEVICE-INFORMATION".to_vec());
    store.put_device(&device).await.unwrap();
    let clear = QueuedCommand::new("CP", "ClearPasscode", b"RAW-CLEAR-PASSCODE".to_vec());
    store
        .enqueue(&clear, std::slice::from_ref(&id))
        .await
        .unwrap();
    // The same command again: compared with what is stored (unsealed), not refused.
    store
        .enqueue(&clear, std::slice::from_ref(&id))
        .await
        .unwrap();
    let changed = QueuedCommand::new("CP", "ClearPasscode", b"OTHER".to_vec());
    assert_eq!(
        store
            .enqueue(&changed, std::slice::from_ref(&id))
            .await
            .unwrap_err()
            .code(),
        "store_conflict"
    );
    store
        .record_result(
            &id,
            &CommandResultRecord::new("CP", CommandStatus::Acknowledged, b"RAW-RESULT".to_vec()),
        )
        .await
        .unwrap();
    let configuration = ConfigurationRecord::new("wifi", "Wi-Fi", b"RAW-WIFI-PASSWORD".to_vec());
    store.put_configuration(&configuration).await.unwrap();

    // Everything reads back.
    let loaded = store.get_enrollment(&id).await.unwrap().unwrap();
    assert_eq!(loaded.token_update_message, record.token_update_message);
    assert_eq!(loaded.authenticate_message, record.authenticate_message);
    assert_eq!(
        store
            .get_device("RAW")
            .await
            .unwrap()
            .unwrap()
            .device_information,
        device.device_information
    );
    assert_eq!(
        store.get_command("CP").await.unwrap().unwrap().payload,
        clear.payload
    );
    let status = store.command_status("CP").await.unwrap();
    assert_eq!(status[0].result.as_ref().unwrap().payload, b"RAW-RESULT");
    assert_eq!(
        store
            .get_configuration("wifi")
            .await
            .unwrap()
            .unwrap()
            .payload,
        configuration.payload
    );
    store.close().await;
    let bytes = file_bytes(location);
    assert!(contains(&bytes, b"ClearPasscode"), "the raw read sees data");
    for secret in [
        &b"RAW-UNLOCK"[..],
        b"RAW-AUTHENTICATE",
        b"RAW-DEVICE-INFORMATION",
        b"RAW-CLEAR-PASSCODE",
        b"RAW-RESULT",
        b"RAW-WIFI-PASSWORD",
    ] {
        assert!(
            !contains(&bytes, secret),
            "{} in plaintext",
            String::from_utf8_lossy(secret)
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn database_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &str| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perms.db");
    let location = path.to_str().unwrap();
    let store = SqliteStore::open(location, key()).await.unwrap();
    let mut record = EnrollmentRecord::new(EnrollmentId::device("PERMS"));
    record.unlock_token = Some(Secret::from("x"));
    store.put_enrollment(&record).await.unwrap();
    // The write-ahead log and shared memory exist while the store is open.
    for file in [
        location.to_owned(),
        format!("{location}-wal"),
        format!("{location}-shm"),
    ] {
        assert_eq!(mode(&file), 0o600, "{file}");
    }
    store.close().await;

    // A database left world-readable (by an older version) is narrowed at open, with its
    // write-ahead log and shared memory (kept alive by another connection meanwhile).
    let mut other = raw(location).await;
    sqlx::query("SELECT COUNT(*) FROM mdmkit_enrollments")
        .execute(&mut other)
        .await
        .unwrap();
    let files = [
        location.to_owned(),
        format!("{location}-wal"),
        format!("{location}-shm"),
    ];
    for file in &files {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let store = SqliteStore::open(location, key()).await.unwrap();
    for file in &files {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    store.close().await;
}

#[tokio::test]
async fn a_new_key_is_only_for_a_new_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let location = path.to_str().unwrap();
    // A new store takes a new key and records its check.
    let store = SqliteStore::open_new(location, key()).await.unwrap();
    store.close().await;
    let store = SqliteStore::open(location, key()).await.unwrap();
    store.close().await;
    // Even empty, a store with a key check refuses another new key.
    let error = SqliteStore::open_new(location, AtRestKey::generate().unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "store_not_empty");
    // A store that holds data refuses a new key even when its key matches.
    let store = SqliteStore::open(location, key()).await.unwrap();
    store
        .put_portal_user(&PortalUser::new("u", "u@example.com"))
        .await
        .unwrap();
    store.close().await;
    assert_eq!(
        SqliteStore::open_new(location, key())
            .await
            .unwrap_err()
            .code(),
        "store_not_empty"
    );
    // The shared entry point too.
    assert_eq!(
        mdmkit_core::store::open_new(location, AtRestKey::generate().unwrap())
            .await
            .err()
            .unwrap()
            .code(),
        "store_not_empty"
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_at_open_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.db");
    let location = path.to_str().unwrap();
    let store = SqliteStore::open(location, key()).await.unwrap();
    store.close().await;
    let mut connection = raw(location).await;
    let before: Vec<u8> = sqlx::query_scalar("SELECT key_check FROM mdmkit_store_key")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    // Neither the key nor its hash is stored.
    assert_ne!(before, [7u8; 32]);
    assert!(!contains(&file_bytes(location), &[7u8; 32]));
    let wrong = AtRestKey::from_bytes(&[8; 32]).unwrap();
    let error = SqliteStore::open(location, wrong.clone())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "store_key_mismatch");
    assert!(error.to_string().contains("nothing was written"), "{error}");
    assert_eq!(
        mdmkit_core::store::open(location, wrong.clone())
            .await
            .err()
            .unwrap()
            .code(),
        "store_key_mismatch"
    );
    assert_eq!(
        mdmkit_core::store::migrate(location, wrong)
            .await
            .unwrap_err()
            .code(),
        "store_key_mismatch"
    );
    let after: Vec<u8> = sqlx::query_scalar("SELECT key_check FROM mdmkit_store_key")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(before, after);
}

/// A database as version 2 left it: migrations 1 and 2, sealed secrets, plaintext raw
/// messages, command payloads and results, no key check.
async fn version_2_database(location: &str, with_data: bool) {
    use sqlx::ConnectOptions;
    let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(location)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    for sql in [
        include_str!("../src/store/migrations/sqlite_0001_initial.sql"),
        include_str!("../src/store/migrations/sqlite_0002_portal.sql"),
        "CREATE TABLE mdmkit_schema_migrations (version BIGINT PRIMARY KEY, \
         applied_at BIGINT NOT NULL); \
         INSERT INTO mdmkit_schema_migrations VALUES (1, 0), (2, 0);",
    ] {
        sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
    }
    if !with_data {
        return;
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
    sqlx::raw_sql(
        "INSERT INTO mdmkit_commands VALUES ('V2C', 'ClearPasscode', X'56322D434C454152', 0, 0); \
         INSERT INTO mdmkit_command_targets (enrollment_id, command_uuid, priority, status, \
         finished, result_payload, result_at) \
         VALUES ('V2', 'V2C', 0, 'Acknowledged', TRUE, X'56322D524553554C54', 0);",
    )
    .execute(&mut connection)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_database_from_before_key_checks_is_verified_then_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let location = path.to_str().unwrap();
    version_2_database(location, true).await;

    // The wrong key cannot open the sealed UnlockToken: refused, and the database is as
    // it was (still version 2, raw columns untouched, no key check).
    let error = SqliteStore::open(location, AtRestKey::from_bytes(&[8; 32]).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "store_key_mismatch");
    let mut connection = raw(location).await;
    let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM mdmkit_schema_migrations")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(version, 2);
    let message: Vec<u8> =
        sqlx::query_scalar("SELECT token_update_message FROM mdmkit_enrollments")
            .fetch_one(&mut connection)
            .await
            .unwrap();
    assert_eq!(message, b"V2-TOKEN-UPDATE");
    // A new key for it is refused too.
    assert_eq!(
        SqliteStore::open_new(location, AtRestKey::generate().unwrap())
            .await
            .unwrap_err()
            .code(),
        "store_not_empty"
    );

    // The right key: migrated, the plaintext sealed, the key check recorded.
    let store = SqliteStore::open(location, key()).await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        SqliteStore::SCHEMA_VERSION
    );
    let id = EnrollmentId::device("V2");
    let loaded = store.get_enrollment(&id).await.unwrap().unwrap();
    assert_eq!(loaded.unlock_token.unwrap().expose(), b"V2-UNLOCK");
    assert_eq!(loaded.token_update_message.unwrap(), b"V2-TOKEN-UPDATE");
    assert_eq!(
        store.get_command("V2C").await.unwrap().unwrap().payload,
        b"V2-CLEAR"
    );
    assert_eq!(
        store.command_status("V2C").await.unwrap()[0]
            .result
            .as_ref()
            .unwrap()
            .payload,
        b"V2-RESULT"
    );
    store.close().await;
    {
        use sqlx::Connection;
        connection.close().await.unwrap();
    }
    let bytes = file_bytes(location);
    for secret in [
        &b"V2-TOKEN-UPDATE"[..],
        b"V2-CLEAR",
        b"V2-RESULT",
        b"V2-UNLOCK",
    ] {
        assert!(
            !contains(&bytes, secret),
            "{}",
            String::from_utf8_lossy(secret)
        );
    }
    // From now on the key check decides.
    assert_eq!(
        SqliteStore::open(location, AtRestKey::from_bytes(&[8; 32]).unwrap())
            .await
            .unwrap_err()
            .code(),
        "store_key_mismatch"
    );

    // An empty version 2 database takes the key it is opened with.
    let empty = dir.path().join("v2-empty.db");
    let empty = empty.to_str().unwrap();
    version_2_database(empty, false).await;
    let store = SqliteStore::open(empty, key()).await.unwrap();
    store.close().await;
    assert_eq!(
        SqliteStore::open(empty, AtRestKey::from_bytes(&[8; 32]).unwrap())
            .await
            .unwrap_err()
            .code(),
        "store_key_mismatch"
    );
}

#[tokio::test]
async fn rotate_key_reseals_everything_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rotate.db");
    let location = path.to_str().unwrap();
    let store = SqliteStore::open(location, key()).await.unwrap();
    common::fill_every_sealed_column(&store).await;
    let new_key = AtRestKey::from_bytes(&[42; 32]).unwrap();

    // A value the current key cannot open: the rotation fails and changes nothing.
    let mut connection = raw(location).await;
    sqlx::query("UPDATE mdmkit_enrollments SET bootstrap_token = $1 WHERE id = $2")
        .bind(
            AtRestKey::from_bytes(&[1; 32])
                .unwrap()
                .seal(b"x", "mdmkit_enrollments.bootstrap_token\0DEVICE-ROT2")
                .unwrap(),
        )
        .bind("DEVICE-ROT2")
        .execute(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        store.rotate_key(&new_key).await.unwrap_err().code(),
        "store_crypto"
    );
    sqlx::query("UPDATE mdmkit_enrollments SET bootstrap_token = NULL WHERE id = $1")
        .bind("DEVICE-ROT2")
        .execute(&mut connection)
        .await
        .unwrap();
    drop(connection);
    // Everything is still under the old key.
    common::assert_every_sealed_column_reads(&store).await;

    // Another key than the store's cannot rotate.
    store.close().await;
    let count = store_rotate(location, &new_key).await;
    assert!(count >= 13, "{count} values re-sealed");
    assert_eq!(
        SqliteStore::open(location, key()).await.unwrap_err().code(),
        "store_key_mismatch"
    );
    let store = SqliteStore::open(location, new_key.clone()).await.unwrap();
    common::assert_every_sealed_column_reads(&store).await;
    // The store's key rotates again.
    store
        .rotate_key(&AtRestKey::generate().unwrap())
        .await
        .unwrap();
    store.close().await;
    let stale = SqliteStore::open(location, new_key).await.unwrap_err();
    assert_eq!(stale.code(), "store_key_mismatch");
}

async fn store_rotate(location: &str, new_key: &AtRestKey) -> u64 {
    assert_eq!(
        mdmkit_core::store::rotate_key(location, AtRestKey::from_bytes(&[5; 32]).unwrap(), new_key)
            .await
            .unwrap_err()
            .code(),
        "store_key_mismatch"
    );
    mdmkit_core::store::rotate_key(location, key(), new_key)
        .await
        .unwrap()
}
