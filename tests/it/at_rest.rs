//! No secret at rest in plaintext: simulated devices enroll (UnlockToken), escrow a
//! BootstrapToken, get a ClearPasscode and a wipe with a PIN queued, a user's PKCS#12
//! is imported with its password and re-pushed in an InstallProfile, and a push
//! certificate is installed; then every byte the store keeps (the SQLite file with its
//! `-wal` and `-shm`, every column of every PostgreSQL table as text) is searched for
//! each secret, raw and in the encodings a plist or a bytea column would give it.

use std::sync::Arc;

use base64::Engine as _;
use mdmkit_certstore::testing::TestIdentity;
use mdmkit_certstore::{CertStore, ImportRequest};
use mdmkit_core::command::EraseDevice;
use mdmkit_core::engine::Engine;
use mdmkit_core::profile::payloads::{
    MailManaged, MailManagedEmailAccountType, MailManagedIncomingMailServerAuthentication,
    MailManagedOutgoingMailServerAuthentication, SecurityPkcs12,
};
use mdmkit_core::profile::{Payload, Profile};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{
    Assignment, AssignmentTarget, AtRestKey, CertificatePurpose, ConfigurationRecord,
    PushCertificateRecord, SharedStore,
};
use mdmkit_core::{CommandStatus, Data, EnrollmentId, Secret};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use plist::{Dictionary, Value};

const TOPIC: &str = "com.apple.mgmt.External.at-rest";
const UNLOCK_TOKEN: &[u8] = b"E2E-UNLOCK-TOKEN-7c1d9a0b";
const BOOTSTRAP_TOKEN: &[u8] = b"E2E-BOOTSTRAP-TOKEN-55e2f1";
const WIPE_PIN: &str = "482913";
const P12_PASSWORD: &str = "E2E-P12-PASSWORD-d41f";
const SIGNING_UUID: &str = "5C4B0A43-0D3C-4E4B-9E53-1B0C3D1C0A7E";

fn key() -> AtRestKey {
    AtRestKey::from_bytes(&[21; 32]).unwrap()
}

/// Every secret the scenario put in, as the byte strings that must not appear.
struct Secrets {
    named: Vec<(String, Vec<u8>)>,
}

impl Secrets {
    fn add(&mut self, name: &str, bytes: &[u8]) {
        self.named.push((name.to_owned(), bytes.to_vec()));
    }

    /// Each secret raw, and base64-encoded (how a plist carries data), with a prefix of
    /// the encoding long enough to find it when the encoder wraps lines.
    fn needles(&self) -> Vec<(String, Vec<u8>)> {
        let mut needles = Vec::new();
        for (name, bytes) in &self.named {
            needles.push((format!("{name} (raw)"), bytes.clone()));
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            let prefix = &encoded[..encoded.len().min(32)];
            needles.push((format!("{name} (base64)"), prefix.as_bytes().to_vec()));
        }
        needles
    }
}

fn mail_profile() -> Vec<u8> {
    let mail = MailManaged::new(
        MailManagedEmailAccountType::EmailTypeIMAP,
        MailManagedIncomingMailServerAuthentication::EmailAuthPassword,
        "imap.example.com",
        MailManagedOutgoingMailServerAuthentication::EmailAuthPassword,
        "smtp.example.com",
    )
    .with_smime_signing_enabled(true)
    .with_smime_signing_certificate_uuid(SIGNING_UUID);
    Profile::new("com.example.mail")
        .with_payload(Payload::new("com.example.mail.account", mail))
        .with_payload(
            Payload::new(
                "com.example.mail.signing",
                SecurityPkcs12::new(Data::default()),
            )
            .with_uuid(SIGNING_UUID),
        )
        .to_xml()
        .unwrap()
}

fn checkin_body(udid: &str, message_type: &str, extra: &[(&str, Value)]) -> Vec<u8> {
    let mut dict = Dictionary::new();
    dict.insert("MessageType".into(), Value::String(message_type.into()));
    dict.insert("UDID".into(), Value::String(udid.into()));
    for (name, value) in extra {
        dict.insert((*name).into(), value.clone());
    }
    mdmkit_core::plist_io::write(&Value::Dictionary(dict), mdmkit_core::PlistFormat::Xml).unwrap()
}

/// Drives every path that stores a secret, checking each is readable back through the
/// store; returns the secrets to look for.
async fn put_every_secret(store: SharedStore, run: &str) -> Secrets {
    let mut secrets = Secrets { named: Vec::new() };
    let ca = DeviceCa::new("At Rest CA").unwrap();
    let pusher = Arc::new(RecordingPusher::new());
    let engine = Engine::builder(store.clone(), pusher)
        .device_ca(ca.certificate_pem().unwrap())
        .build()
        .unwrap();

    // An iPhone: enrolls with an UnlockToken, escrows a BootstrapToken.
    let udid = format!("AT-REST-PHONE-{run}");
    let phone = SimulatedDevice::new(&udid, TOPIC).with_identity(ca.issue(&udid).unwrap());
    for body in [
        phone.authenticate().unwrap(),
        phone
            .token_update_with(&[4; 32], "MAGIC", Some(UNLOCK_TOKEN))
            .unwrap(),
        checkin_body(
            &udid,
            "SetBootstrapToken",
            &[("BootstrapToken", Value::Data(BOOTSTRAP_TOKEN.to_vec()))],
        ),
    ] {
        let response = engine.handle_checkin(phone.request(body).unwrap()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
    secrets.add("UnlockToken", UNLOCK_TOKEN);
    secrets.add("BootstrapToken", BOOTSTRAP_TOKEN);
    let phone_id = EnrollmentId::device(&udid);
    let record = store.get_enrollment(&phone_id).await.unwrap().unwrap();
    assert_eq!(record.unlock_token.unwrap().expose(), UNLOCK_TOKEN);
    assert_eq!(record.bootstrap_token.unwrap().expose(), BOOTSTRAP_TOKEN);

    // ClearPasscode carries the UnlockToken: queued, delivered, acknowledged.
    engine.unlock(&phone_id).await.unwrap();
    let response = engine
        .handle_command(phone.request(phone.idle().unwrap()).unwrap())
        .await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    assert!(
        response
            .body
            .windows(b"ClearPasscode".len())
            .any(|w| w == b"ClearPasscode"),
        "the device got ClearPasscode"
    );
    let ack = phone
        .answer(
            &response.body,
            CommandStatus::Acknowledged,
            Dictionary::new(),
        )
        .unwrap();
    let response = engine.handle_command(phone.request(ack).unwrap()).await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    // And once more, left in the queue.
    engine.unlock(&phone_id).await.unwrap();

    // A Mac: a wipe with a PIN, queued.
    let mac_udid = format!("AT-REST-MAC-{run}");
    let mut mac =
        SimulatedDevice::new(&mac_udid, TOPIC).with_identity(ca.issue(&mac_udid).unwrap());
    mac.product_name = "MacBookPro18,3".into();
    mac.os_version = "14.4".into();
    for body in [
        mac.authenticate().unwrap(),
        mac.token_update_with(&[5; 32], "MAGIC", None).unwrap(),
    ] {
        let response = engine.handle_checkin(mac.request(body).unwrap()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
    let mac_id = EnrollmentId::device(&mac_udid);
    engine
        .wipe(&mac_id, EraseDevice::new().with_pin(WIPE_PIN))
        .await
        .unwrap();
    secrets.add("wipe PIN", WIPE_PIN.as_bytes());

    // A user's PKCS#12 and its password: imported, and re-pushed to the phone inside
    // an InstallProfile.
    let owner = format!("alice-{run}");
    store.set_owner(&phone_id, Some(&owner)).await.unwrap();
    let certs = CertStore::new(store.clone()).with_installer(Arc::new(engine.clone()));
    let kind = certs
        .add_kind(&format!("Signing {run}"), CertificatePurpose::Signing)
        .await
        .unwrap();
    let configuration = format!("mail-{run}");
    let mut mail = ConfigurationRecord::new(configuration.as_str(), "Mail", mail_profile());
    mail.certificate_kinds = vec![kind.id.clone()];
    store.put_configuration(&mail).await.unwrap();
    store
        .assign_configuration(&Assignment::new(
            configuration.as_str(),
            AssignmentTarget::User(owner.clone()),
        ))
        .await
        .unwrap();
    let identity = TestIdentity::for_email("alice@example.com");
    let p12 = identity.pkcs12_legacy(P12_PASSWORD);
    let outcome = certs
        .import(
            ImportRequest::new(owner.as_str(), kind.name.as_str(), p12.clone())
                .with_password(P12_PASSWORD),
        )
        .await
        .unwrap();
    assert_eq!(outcome.repush.installs.len(), 1, "{:?}", outcome.repush);
    secrets.add("PKCS#12 password", P12_PASSWORD.as_bytes());
    // The PKCS#12 whole, and a stretch from its middle (its encrypted key).
    secrets.add("PKCS#12", &p12);
    let middle = p12.len() / 2;
    secrets.add("PKCS#12 middle", &p12[middle..middle + 48]);

    // A push certificate's private key.
    let private_key = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    let pem = private_key.private_key_to_pem().unwrap();
    let der = private_key.private_key_to_der().unwrap();
    store
        .put_push_certificate(&PushCertificateRecord::new(
            format!("{TOPIC}.{run}"),
            b"certificate".to_vec(),
            Secret::new(pem.clone()),
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
    let pem_text = String::from_utf8(pem).unwrap();
    let pem_line = pem_text.lines().nth(2).unwrap();
    secrets.add("push private key (PEM line)", pem_line.as_bytes());
    secrets.add("push private key (DER)", &der[7..39]);
    secrets
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_no_plaintext(haystack: &[u8], needles: &[(String, Vec<u8>)], what: &str) {
    for (name, needle) in needles {
        assert!(!find(haystack, needle), "{name} in plaintext in {what}");
    }
}

fn database_files(location: &str) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let name = format!("{location}{suffix}");
            std::fs::read(&name).ok().map(|bytes| (name, bytes))
        })
        .collect()
}

#[tokio::test]
async fn no_secret_in_plaintext_in_the_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdmkit.db");
    let location = path.to_str().unwrap().to_owned();
    let store: SharedStore = mdmkit_core::store::open(&location, key()).await.unwrap();
    let secrets = put_every_secret(store.clone(), "sqlite").await;
    let needles = secrets.needles();

    // While the store is open: the write-ahead log holds the recent writes.
    let files = database_files(&location);
    assert!(files.iter().any(|(name, _)| name.ends_with("-wal")));
    let all: Vec<u8> = files.iter().flat_map(|(_, bytes)| bytes.clone()).collect();
    assert!(find(&all, b"ClearPasscode"), "the raw read sees the queue");
    assert!(
        find(&all, TOPIC.as_bytes()),
        "the raw read sees enrollments"
    );
    assert_no_plaintext(&all, &needles, "the open SQLite files");
    #[cfg(unix)]
    for (name, _) in &files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(name).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    drop(store);

    // Reopened and closed (checkpointed into the main file).
    let store = mdmkit_core::store::SqliteStore::open(&location, key())
        .await
        .unwrap();
    store.close().await;
    let all: Vec<u8> = database_files(&location)
        .into_iter()
        .flat_map(|(_, bytes)| bytes)
        .collect();
    assert_no_plaintext(&all, &needles, "the closed SQLite files");
}

#[tokio::test]
async fn no_secret_in_plaintext_in_any_postgres_column() {
    let url = match std::env::var("MDMKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: at-rest scan on PostgreSQL (set MDMKIT_TEST_POSTGRES_URL)"
            );
            return;
        }
    };
    let schema = format!(
        "mdmkit_at_rest_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let store = mdmkit_core::store::PostgresStore::connect_in_schema(&url, &schema, key())
        .await
        .unwrap();
    let secrets = put_every_secret(Arc::new(store.clone()), "postgres").await;
    store.close().await;

    let mut connection = {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&url).await.unwrap()
    };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_name LIKE 'mdmkit_%'",
    )
    .bind(&schema)
    .fetch_all(&mut connection)
    .await
    .unwrap();
    assert!(tables.len() > 15, "{tables:?}");
    let mut all = String::new();
    for table in &tables {
        let rows: Vec<Option<String>> = sqlx::query_scalar(&format!(
            "SELECT CAST(t.* AS text) FROM \"{schema}\".\"{table}\" t"
        ))
        .fetch_all(&mut connection)
        .await
        .unwrap();
        for row in rows.into_iter().flatten() {
            all.push_str(&row);
            all.push('\n');
        }
    }
    assert!(all.contains("ClearPasscode"), "the raw read sees the queue");
    // A bytea column reads as \x and lowercase hex: look for that form too.
    let mut needles = secrets.needles();
    let hex: Vec<(String, Vec<u8>)> = needles
        .iter()
        .map(|(name, bytes)| {
            let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            (format!("{name} (hex)"), text.into_bytes())
        })
        .collect();
    needles.extend(hex);
    assert_no_plaintext(all.as_bytes(), &needles, "the PostgreSQL tables");
    sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&mut connection)
        .await
        .unwrap();
}
