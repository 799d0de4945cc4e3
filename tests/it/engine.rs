//! The engine end to end: simulated devices that sign their messages, against the memory
//! store, SQLite and (when `MDMKIT_TEST_POSTGRES_URL` is set) PostgreSQL.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mdmkit_core::command::{Command, CommandEnvelope, DeviceLock, EraseDevice, InstallProfile};
use mdmkit_core::engine::{
    Engine, Event, LockOptions, LostModeOptions, MdmRequest, MdmResponse, RecordingSink,
    SIGNATURE_HEADER,
};
use mdmkit_core::profile::payloads::WebClipManaged;
use mdmkit_core::profile::{self, Payload, Profile, SigningIdentity};
use mdmkit_core::push::{ProgressCallback, RecordingPusher};
use mdmkit_core::store::{AtRestKey, EnrollmentRecord, MemoryStore, SharedStore, SqliteStore};
use mdmkit_core::{CommandStatus, EnrollmentId, Error};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use plist::{Dictionary, Value};

const TOPIC: &str = "com.apple.mgmt.External.engine-test";

/// Runs a scenario against every backend available.
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(std::sync::Arc::new(super::MemoryStore::new())).await;
            })*
        }
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("mdmkit.db");
                let store = super::SqliteStore::open(
                    path.to_str().unwrap(),
                    super::AtRestKey::from_bytes(&[7; 32]).unwrap(),
                )
                .await
                .unwrap();
                super::$name(std::sync::Arc::new(store)).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let Some(store) = super::postgres_store().await else { return };
                super::$name(store).await;
            })*
        }
    };
}

async fn postgres_store() -> Option<SharedStore> {
    match std::env::var("MDMKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!(
                "mdmkit_engine_{}_{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            );
            let store = mdmkit_core::store::PostgresStore::connect_in_schema(
                &url,
                &schema,
                AtRestKey::from_bytes(&[7; 32]).unwrap(),
            )
            .await
            .unwrap();
            Some(Arc::new(store))
        }
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: engine test on PostgreSQL (set MDMKIT_TEST_POSTGRES_URL)"
            );
            None
        }
    }
}

on_every_store!(
    device_enrolls_receives_lock_defers_and_checks_out,
    another_device_cannot_read_or_answer_a_queue,
    bad_messages_answer_400_and_store_nothing,
    actions_refused_before_anything_is_queued,
    renewed_identity_certificates,
    hooks_bulk_actions_and_the_combined_endpoint,
    tls_client_certificate_identifies_the_device,
    encrypted_profiles_go_to_the_device_certificate,
    remembered_certificates_still_have_every_signature_checked,
    bulk_refusals_keep_order_codes_and_messages,
    bulk_install_profile_with_a_bad_payload_is_refused,
);

struct Fixture {
    engine: Engine,
    pusher: Arc<RecordingPusher>,
    events: Arc<RecordingSink>,
    ca: DeviceCa,
}

fn fixture(store: SharedStore) -> Fixture {
    let ca = DeviceCa::new("Test Device CA").unwrap();
    let pusher = Arc::new(RecordingPusher::new());
    let events = Arc::new(RecordingSink::new());
    let engine = Engine::builder(store, pusher.clone())
        .device_ca(ca.certificate_pem().unwrap())
        .events(events.clone())
        .enrollment_profile_identifier("com.example.mdm.enrollment")
        .build()
        .unwrap();
    Fixture {
        engine,
        pusher,
        events,
        ca,
    }
}

fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Fixture {
    fn device(&self, name: &str) -> SimulatedDevice {
        let udid = unique(name);
        SimulatedDevice::new(&udid, TOPIC).with_identity(self.ca.issue(&udid).unwrap())
    }

    async fn checkin(&self, device: &SimulatedDevice, body: Vec<u8>) -> MdmResponse {
        self.engine
            .handle_checkin(device.request(body).unwrap())
            .await
    }

    async fn command(&self, device: &SimulatedDevice, body: Vec<u8>) -> MdmResponse {
        self.engine
            .handle_command(device.request(body).unwrap())
            .await
    }

    async fn enroll(&self, device: &SimulatedDevice) {
        let response = self.checkin(device, device.authenticate().unwrap()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
        let response = self
            .checkin(device, device.token_update(&[1; 32], "MAGIC").unwrap())
            .await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }

    async fn pending(&self, device: &SimulatedDevice) -> usize {
        self.engine
            .store()
            .pending_commands(&id(device))
            .await
            .unwrap()
            .len()
    }
}

fn id(device: &SimulatedDevice) -> EnrollmentId {
    EnrollmentId::device(&device.udid)
}

fn request_type(body: &[u8]) -> &'static str {
    CommandEnvelope::decode(body).unwrap().request_type()
}

async fn device_enrolls_receives_lock_defers_and_checks_out(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("lifecycle");

    // Authenticate: recorded, disabled until TokenUpdate.
    let response = f.checkin(&device, device.authenticate().unwrap()).await;
    assert_eq!((response.status, response.body.len()), (200, 0));
    let record = store.get_enrollment(&id(&device)).await.unwrap().unwrap();
    assert!(!record.enabled);
    assert_eq!(record.enrolled_topic.as_deref(), Some(TOPIC));
    assert!(record.identity_cert_sha256.is_some());
    assert!(matches!(
        f.engine.lock(&id(&device), LockOptions::default()).await,
        Err(Error::EnrollmentDisabled(_))
    ));

    // TokenUpdate: push info and UnlockToken stored, enabled.
    let response = f
        .checkin(&device, device.token_update(&[1; 32], "MAGIC").unwrap())
        .await;
    assert_eq!(response.status, 200);
    let record = store.get_enrollment(&id(&device)).await.unwrap().unwrap();
    assert!(record.enabled);
    let push = record.push.unwrap();
    assert_eq!(
        (push.token.as_slice(), push.push_magic.as_str()),
        (&[1u8; 32][..], "MAGIC")
    );
    assert!(record.unlock_token.is_some());

    // An administrator locks it: queued and pushed.
    let mut options = LockOptions::default();
    options.message = Some("Lost phone, call 555-0100".into());
    let queued = f.engine.lock(&id(&device), options).await.unwrap();
    assert!(queued.push.unwrap().is_delivered());
    assert_eq!(f.pusher.pushed().len(), 1);

    // The device wakes up: Idle -> DeviceLock -> Acknowledged -> nothing more.
    let response = f.command(&device, device.idle().unwrap()).await;
    assert_eq!(response.status, 200);
    let envelope = CommandEnvelope::decode(&response.body).unwrap();
    assert_eq!(envelope.command_uuid, queued.command_uuid);
    assert_eq!(envelope.request_type(), "DeviceLock");
    let ack = device
        .answer(
            &response.body,
            CommandStatus::Acknowledged,
            Dictionary::new(),
        )
        .unwrap();
    let response = f.command(&device, ack).await;
    assert_eq!((response.status, response.body.len()), (200, 0));
    let status = store.command_status(&queued.command_uuid).await.unwrap();
    assert_eq!(status[0].status, Some(CommandStatus::Acknowledged));

    // A query: NotNow is not resent on the same connection, Idle gets it again.
    let query = f
        .engine
        .query_device_information(&id(&device), vec!["IsSupervised".into()])
        .await
        .unwrap();
    let response = f.command(&device, device.idle().unwrap()).await;
    assert_eq!(request_type(&response.body), "DeviceInformation");
    let not_now = device
        .answer(&response.body, CommandStatus::NotNow, Dictionary::new())
        .unwrap();
    let response = f.command(&device, not_now).await;
    assert_eq!((response.status, response.body.len()), (200, 0));
    let response = f.command(&device, device.idle().unwrap()).await;
    let envelope = CommandEnvelope::decode(&response.body).unwrap();
    assert_eq!(envelope.command_uuid, query.command_uuid);
    let mut answers = Dictionary::new();
    answers.insert("IsSupervised".into(), Value::Boolean(true));
    answers.insert("OSVersion".into(), Value::String("17.5".into()));
    let mut answer = Dictionary::new();
    answer.insert("QueryResponses".into(), Value::Dictionary(answers));
    let body = device
        .answer(&response.body, CommandStatus::Acknowledged, answer)
        .unwrap();
    assert_eq!(f.command(&device, body).await.status, 200);
    let facts = f.engine.device_facts(&id(&device)).await.unwrap();
    assert!(facts.supervised);
    assert_eq!(facts.os_version.as_deref(), Some("17.5"));
    // Supervised now, so lost mode is allowed.
    let mut lost = LostModeOptions::default();
    lost.message = Some("Found? Call 555-0100".into());
    f.engine.enable_lost_mode(&id(&device), lost).await.unwrap();

    // Retire: RemoveProfile of the enrollment profile, then CheckOut disables.
    let retire = f.engine.retire(&id(&device)).await.unwrap();
    let removal = store
        .get_command(&retire.command_uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removal.request_type, "RemoveProfile");
    assert!(String::from_utf8_lossy(&removal.payload).contains("com.example.mdm.enrollment"));
    let response = f.checkin(&device, device.check_out().unwrap()).await;
    assert_eq!(response.status, 200);
    let record = store.get_enrollment(&id(&device)).await.unwrap().unwrap();
    assert!(!record.enabled);
    assert_eq!(
        f.command(&device, device.idle().unwrap()).await.status,
        400,
        "a checked-out device gets no commands"
    );

    // Every accepted check-in and result was published.
    let events = f.events.events();
    let checkins: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Checkin { message_type, .. } => Some(message_type.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(checkins, ["Authenticate", "TokenUpdate", "CheckOut"]);
    let results: Vec<CommandStatus> = events
        .iter()
        .filter_map(|e| match e {
            Event::CommandResult { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    use CommandStatus::{Acknowledged, Idle, NotNow};
    assert_eq!(
        results,
        [Idle, Acknowledged, Idle, NotNow, Idle, Acknowledged]
    );
}

async fn another_device_cannot_read_or_answer_a_queue(store: SharedStore) {
    let f = fixture(store.clone());
    let victim = f.device("victim");
    let attacker = f.device("attacker");
    f.enroll(&victim).await;
    f.enroll(&attacker).await;
    let queued = f
        .engine
        .lock(&id(&victim), LockOptions::default())
        .await
        .unwrap();
    let command = store
        .get_command(&queued.command_uuid)
        .await
        .unwrap()
        .unwrap();

    // The attacker speaks as the victim (its UDID) but signs with its own certificate.
    let mut spoof = victim.clone();
    spoof.identity = attacker.identity.clone();
    let events_before = f.events.events().len();
    let response = f.command(&spoof, spoof.idle().unwrap()).await;
    assert_eq!((response.status, response.body.len()), (400, 0));
    let ack = spoof
        .answer(
            &command.payload,
            CommandStatus::Acknowledged,
            Dictionary::new(),
        )
        .unwrap();
    assert_eq!(f.command(&spoof, ack).await.status, 400);
    // Nor can it re-Authenticate as the victim: its certificate is bound to itself.
    assert_eq!(
        f.checkin(&spoof, spoof.authenticate().unwrap())
            .await
            .status,
        400
    );
    assert_eq!(
        f.checkin(&spoof, spoof.token_update(&[9; 32], "EVIL").unwrap())
            .await
            .status,
        400
    );

    // Nothing changed: the command is still pending and undelivered, push info intact.
    let pending = store.pending_commands(&id(&victim)).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, None);
    assert_eq!(pending[0].delivered_at, None);
    let record = store.get_enrollment(&id(&victim)).await.unwrap().unwrap();
    assert_eq!(record.push.unwrap().push_magic, "MAGIC");
    assert!(record.enabled);
    assert_eq!(f.events.events().len(), events_before);

    // The victim itself still gets its command.
    let response = f.command(&victim, victim.idle().unwrap()).await;
    assert_eq!(request_type(&response.body), "DeviceLock");
}

async fn bad_messages_answer_400_and_store_nothing(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("bad");

    // No enrollment yet: a TokenUpdate or a result has no bound certificate.
    let token_update = device.token_update(&[1; 32], "MAGIC").unwrap();
    let response = f.checkin(&device, token_update.clone()).await;
    assert_eq!(response.status, 400);
    assert!(response.error.unwrap().contains("device_auth_failed"));
    assert_eq!(f.command(&device, device.idle().unwrap()).await.status, 400);

    // Unsigned, signed by a foreign CA, tampered, garbage signature.
    let authenticate = device.authenticate().unwrap();
    let mut unsigned = device.clone();
    unsigned.identity = None;
    assert_eq!(f.checkin(&unsigned, authenticate.clone()).await.status, 400);
    let foreign = DeviceCa::new("Someone else's CA").unwrap();
    let mut stranger = device.clone();
    stranger.identity = Some(foreign.issue(&device.udid).unwrap());
    assert_eq!(f.checkin(&stranger, authenticate.clone()).await.status, 400);
    let mut tampered = device.request(authenticate.clone()).unwrap();
    tampered.body = device
        .authenticate()
        .unwrap()
        .iter()
        .map(|b| if *b == b'S' { b'Z' } else { *b })
        .collect();
    assert_eq!(f.engine.handle_checkin(tampered).await.status, 400);
    let garbage =
        MdmRequest::put(authenticate.clone()).with_header(SIGNATURE_HEADER, "bm90IGNtcw==");
    assert_eq!(f.engine.handle_checkin(garbage).await.status, 400);

    // A signed body that is not a plist, or a plist that is not a check-in.
    for body in [
        b"not a plist".to_vec(),
        b"<plist><dict><key>MessageType</key><string>Nonsense</string><key>UDID</key><string>x</string></dict></plist>".to_vec(),
        b"<plist><dict><key>MessageType</key><string>Authenticate</string></dict></plist>".to_vec(),
    ] {
        let response = f.checkin(&device, body).await;
        assert_eq!((response.status, response.body.len()), (400, 0));
    }
    // Wrong method.
    let mut get = device.request(authenticate.clone()).unwrap();
    get.method = "GET".into();
    assert_eq!(f.engine.handle_checkin(get).await.status, 405);

    assert!(store.get_enrollment(&id(&device)).await.unwrap().is_none());
    assert!(store.get_device(&device.udid).await.unwrap().is_none());
    assert!(f.events.events().is_empty());

    // Enrolled: a result for a command never queued to it, and a malformed result.
    f.enroll(&device).await;
    let stranger_command = CommandEnvelope::new(mdmkit_core::command::DeviceLock::new())
        .to_xml()
        .unwrap();
    let body = device
        .answer(
            &stranger_command,
            CommandStatus::Acknowledged,
            Dictionary::new(),
        )
        .unwrap();
    assert_eq!(f.command(&device, body).await.status, 400);
    let mut bad_status = Dictionary::new();
    bad_status.insert("UDID".into(), Value::String(device.udid.clone()));
    bad_status.insert("Status".into(), Value::String("Maybe".into()));
    let body = mdmkit_core::plist_io::write(
        &Value::Dictionary(bad_status),
        mdmkit_core::PlistFormat::Xml,
    )
    .unwrap();
    assert_eq!(f.command(&device, body).await.status, 400);
    let queued = f
        .engine
        .lock(&id(&device), LockOptions::default())
        .await
        .unwrap();
    let command = store
        .get_command(&queued.command_uuid)
        .await
        .unwrap()
        .unwrap();
    let mut bad_answer = Dictionary::new();
    bad_answer.insert("MessageResult".into(), Value::Integer(5.into()));
    let body = device
        .answer(&command.payload, CommandStatus::Acknowledged, bad_answer)
        .unwrap();
    assert_eq!(f.command(&device, body).await.status, 400);
    let pending = store.pending_commands(&id(&device)).await.unwrap();
    assert_eq!((pending.len(), pending[0].status), (1, None));
}

/// The engine remembers a certificate whose chain it verified (by its SHA-256); every
/// later message must still carry a signature over its own body by that certificate's key.
async fn remembered_certificates_still_have_every_signature_checked(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("remembered");
    f.enroll(&device).await;
    let other = f.device("remembered-other");
    f.enroll(&other).await;
    let idle = device.idle().unwrap();

    // The body changed after signing.
    let mut tampered = device.request(idle.clone()).unwrap();
    tampered.body = idle
        .iter()
        .map(|b| if *b == b'I' { b'J' } else { *b })
        .collect();
    let response = f.engine.handle_command(tampered).await;
    assert_eq!(response.status, 400);
    assert!(response.error.unwrap().contains("device_auth_failed"));
    // The signature of another of its messages, over another body.
    let token_update = device
        .request(device.token_update(&[1; 32], "MAGIC").unwrap())
        .unwrap();
    let signature = token_update.header(SIGNATURE_HEADER).unwrap().to_owned();
    let swapped = MdmRequest::put(idle.clone()).with_header(SIGNATURE_HEADER, signature);
    assert_eq!(f.engine.handle_command(swapped).await.status, 400);
    // Another enrolled device's valid signature over its own Idle, sent for this device.
    let theirs = other.request(other.idle().unwrap()).unwrap();
    let signature = theirs.header(SIGNATURE_HEADER).unwrap().to_owned();
    let borrowed = MdmRequest::put(idle.clone()).with_header(SIGNATURE_HEADER, signature);
    assert_eq!(f.engine.handle_command(borrowed).await.status, 400);
    // The same UDID with a certificate from a CA the engine does not trust.
    let foreign = DeviceCa::new("Someone else's CA").unwrap();
    let mut stranger = device.clone();
    stranger.identity = Some(foreign.issue(&device.udid).unwrap());
    assert_eq!(f.command(&stranger, idle.clone()).await.status, 400);
    // The same message, as signed: answered, and again (its certificate remembered).
    for _ in 0..2 {
        let response = f.command(&device, idle.clone()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
    // The TLS client certificate path remembers the same way and still checks it.
    let der = device.identity.as_ref().unwrap().certificate_der().unwrap();
    for _ in 0..2 {
        let response = f
            .engine
            .handle_command(MdmRequest::put(idle.clone()).with_peer_certificate(der.clone()))
            .await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
    let foreign_der = stranger
        .identity
        .as_ref()
        .unwrap()
        .certificate_der()
        .unwrap();
    let response = f
        .engine
        .handle_command(MdmRequest::put(idle).with_peer_certificate(foreign_der))
        .await;
    assert_eq!(response.status, 400);
}

async fn actions_refused_before_anything_is_queued(store: SharedStore) {
    let f = fixture(store.clone());

    // Unlock without an UnlockToken.
    let no_token = f.device("no-unlock-token");
    assert_eq!(
        f.checkin(&no_token, no_token.authenticate().unwrap())
            .await
            .status,
        200
    );
    let body = no_token.token_update_with(&[2; 32], "M", None).unwrap();
    assert_eq!(f.checkin(&no_token, body).await.status, 200);
    let error = f.engine.unlock(&id(&no_token)).await.unwrap_err();
    assert_eq!(error.code(), "unlock_token_missing");

    // Lost mode, locate and the lost-mode sound on an unsupervised device.
    let unsupervised = f.device("unsupervised");
    f.enroll(&unsupervised).await;
    let mut lost = LostModeOptions::default();
    lost.message = Some("lost".into());
    let error = f
        .engine
        .enable_lost_mode(&id(&unsupervised), lost)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "command_not_supported");
    assert!(error.to_string().contains("supervised"), "{error}");
    assert!(f.engine.locate(&id(&unsupervised)).await.is_err());
    assert!(f
        .engine
        .play_lost_mode_sound(&id(&unsupervised))
        .await
        .is_err());
    // ... and lost mode with neither message nor phone number.
    assert_eq!(
        f.engine
            .enable_lost_mode(&id(&unsupervised), LostModeOptions::default())
            .await
            .unwrap_err()
            .code(),
        "missing_key"
    );

    // Wipe and unlock on a User Enrollment.
    let mut byod = f.device("byod");
    byod.user_enrollment = true;
    f.enroll(&byod).await;
    let record = store.get_enrollment(&id(&byod)).await.unwrap().unwrap();
    assert_eq!(record.enrollment_type.as_deref(), Some("User"));
    let error = f
        .engine
        .wipe(&id(&byod), EraseDevice::new())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "command_not_supported");
    assert!(error.to_string().contains("User Enrollment"), "{error}");
    assert!(f.engine.unlock(&id(&byod)).await.is_err());

    // A Mac cannot be locked without a PIN; a profile must be a profile.
    let mut mac = f.device("mac");
    mac.product_name = "MacBookPro18,3".into();
    mac.os_version = "14.4".into();
    f.enroll(&mac).await;
    let error = f
        .engine
        .lock(&id(&mac), LockOptions::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("PIN"), "{error}");
    assert!(f
        .engine
        .install_profile(&id(&mac), b"not a profile".to_vec())
        .await
        .is_err());
    // Unknown enrollments.
    assert_eq!(
        f.engine
            .lock(&EnrollmentId::device("nobody"), LockOptions::default())
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );

    for device in [&no_token, &unsupervised, &byod, &mac] {
        assert_eq!(
            f.pending(device).await,
            0,
            "nothing queued for {}",
            device.udid
        );
    }
    assert!(f.pusher.pushed().is_empty(), "nothing pushed");

    // The same actions succeed where they may.
    let mut options = LockOptions::default();
    options.pin = Some("123456".into());
    f.engine.lock(&id(&mac), options).await.unwrap();
    f.engine.unlock(&id(&unsupervised)).await.unwrap();
    f.engine
        .wipe(&id(&unsupervised), EraseDevice::new())
        .await
        .unwrap();
    assert_eq!(f.pending(&unsupervised).await, 2);
}

async fn renewed_identity_certificates(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("renewed");
    f.enroll(&device).await;
    f.engine
        .lock(&id(&device), LockOptions::default())
        .await
        .unwrap();

    // A renewed certificate is refused until the device re-Authenticates with it ...
    let renewed = device
        .clone()
        .with_identity(f.ca.issue(&device.udid).unwrap());
    assert_eq!(
        f.command(&renewed, renewed.idle().unwrap()).await.status,
        400
    );
    assert_eq!(f.pending(&device).await, 1);
    // ... which binds it and clears the queue; the old certificate is refused afterwards.
    f.enroll(&renewed).await;
    assert_eq!(f.pending(&device).await, 0);
    assert_eq!(
        f.command(&renewed, renewed.idle().unwrap()).await.status,
        200
    );
    assert_eq!(f.command(&device, device.idle().unwrap()).await.status, 400);

    // Or the application rebinds it explicitly, with no new Authenticate.
    let again = device
        .clone()
        .with_identity(f.ca.issue(&device.udid).unwrap());
    assert_eq!(f.command(&again, again.idle().unwrap()).await.status, 400);
    let der = again.identity.as_ref().unwrap().certificate_der().unwrap();
    f.engine.rebind_identity(&id(&device), &der).await.unwrap();
    assert_eq!(f.command(&again, again.idle().unwrap()).await.status, 200);
    assert_eq!(
        f.command(&renewed, renewed.idle().unwrap()).await.status,
        400
    );

    // A certificate bound to another device, or from a foreign CA, cannot be rebound.
    let other = f.device("other");
    f.enroll(&other).await;
    let other_der = other.identity.as_ref().unwrap().certificate_der().unwrap();
    let error = f
        .engine
        .rebind_identity(&id(&device), &other_der)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "device_auth_failed");
    let foreign = DeviceCa::new("foreign").unwrap().issue("x").unwrap();
    assert!(f
        .engine
        .rebind_identity(&id(&device), &foreign.certificate_der().unwrap())
        .await
        .is_err());
    assert_eq!(f.command(&again, again.idle().unwrap()).await.status, 200);
}

async fn hooks_bulk_actions_and_the_combined_endpoint(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("hooks");
    // Through the combined endpoint (CheckInURL == ServerURL).
    for body in [
        device.authenticate().unwrap(),
        device.token_update(&[3; 32], "M").unwrap(),
    ] {
        let response = f.engine.handle(device.request(body).unwrap()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
    f.engine
        .query_device_information(&id(&device), vec!["OSVersion".into()])
        .await
        .unwrap();
    let response = f
        .engine
        .handle(device.request(device.idle().unwrap()).unwrap())
        .await;
    assert_eq!(request_type(&response.body), "DeviceInformation");

    // UserAuthenticate is declined with 410 by default.
    let mut user_auth = Dictionary::new();
    user_auth.insert(
        "MessageType".into(),
        Value::String("UserAuthenticate".into()),
    );
    user_auth.insert("UDID".into(), Value::String(device.udid.clone()));
    user_auth.insert("UserID".into(), Value::String("user-1".into()));
    let body =
        mdmkit_core::plist_io::write(&Value::Dictionary(user_auth), mdmkit_core::PlistFormat::Xml)
            .unwrap();
    assert_eq!(f.checkin(&device, body).await.status, 410);

    // SetBootstrapToken is stored; GetBootstrapToken answers it.
    let mut set = Dictionary::new();
    set.insert(
        "MessageType".into(),
        Value::String("SetBootstrapToken".into()),
    );
    set.insert("UDID".into(), Value::String(device.udid.clone()));
    set.insert("BootstrapToken".into(), Value::Data(b"bootstrap!".to_vec()));
    let body = mdmkit_core::plist_io::write(&Value::Dictionary(set), mdmkit_core::PlistFormat::Xml)
        .unwrap();
    assert_eq!(f.checkin(&device, body).await.status, 200);
    let mut get = Dictionary::new();
    get.insert(
        "MessageType".into(),
        Value::String("GetBootstrapToken".into()),
    );
    get.insert("UDID".into(), Value::String(device.udid.clone()));
    let body = mdmkit_core::plist_io::write(&Value::Dictionary(get), mdmkit_core::PlistFormat::Xml)
        .unwrap();
    let response = f.checkin(&device, body).await;
    assert_eq!(response.status, 200);
    let answer =
        mdmkit_core::plist_io::parse_dictionary(&response.body, Default::default()).unwrap();
    assert_eq!(
        answer.get("BootstrapToken").and_then(Value::as_data),
        Some(&b"bootstrap!"[..])
    );

    // A user channel's first TokenUpdate creates its enrollment (accepted by default).
    let mut user_update = Dictionary::new();
    user_update.insert("MessageType".into(), Value::String("TokenUpdate".into()));
    user_update.insert("UDID".into(), Value::String(device.udid.clone()));
    user_update.insert("UserID".into(), Value::String("user-1".into()));
    user_update.insert("Topic".into(), Value::String(TOPIC.into()));
    user_update.insert("Token".into(), Value::Data(vec![4; 32]));
    user_update.insert("PushMagic".into(), Value::String("UM".into()));
    let body = mdmkit_core::plist_io::write(
        &Value::Dictionary(user_update),
        mdmkit_core::PlistFormat::Xml,
    )
    .unwrap();
    assert_eq!(f.checkin(&device, body).await.status, 200);
    let user = EnrollmentId::user(&device.udid, "user-1");
    assert!(store.get_enrollment(&user).await.unwrap().unwrap().enabled);

    // Bulk: one command to many, one refused, pushes with progress; check-in-now and sync.
    let second = f.device("bulk-2");
    f.enroll(&second).await;
    let pushed_before = f.pusher.pushed().len();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let progress: ProgressCallback = Arc::new(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let outcome = f
        .engine
        .enqueue_command_many(
            &[
                id(&device),
                id(&second),
                EnrollmentId::device("unknown-device"),
            ],
            mdmkit_core::command::DeviceInformation::new(vec!["UDID".into()]),
            Some(progress),
        )
        .await
        .unwrap();
    assert_eq!(outcome.queued, vec![id(&device), id(&second)]);
    assert_eq!(outcome.refused.len(), 1);
    assert_eq!(outcome.refused[0].1, "not_found");
    assert_eq!(outcome.pushes.len(), 2);
    assert!(calls.load(Ordering::Relaxed) >= 2);
    assert_eq!(f.pusher.pushed().len(), pushed_before + 2);
    let status = store.command_status(&outcome.command_uuid).await.unwrap();
    assert_eq!(status.len(), 2);
    assert!(f
        .engine
        .check_in_now(&id(&second))
        .await
        .unwrap()
        .is_delivered());
    let synced = f.engine.sync_topic(TOPIC, None).await.unwrap();
    assert!(synced.len() >= 3, "both devices and the user channel");
}

async fn tls_client_certificate_identifies_the_device(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("tls");
    let der = device.identity.as_ref().unwrap().certificate_der().unwrap();
    // No Mdm-Signature: the TLS client certificate the HTTP layer passes in identifies it.
    let over_tls =
        |body: Vec<u8>, der: &[u8]| MdmRequest::put(body).with_peer_certificate(der.to_vec());
    let response = f
        .engine
        .handle_checkin(over_tls(device.authenticate().unwrap(), &der))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let body = device.token_update(&[6; 32], "TLS").unwrap();
    assert_eq!(
        f.engine.handle_checkin(over_tls(body, &der)).await.status,
        200
    );
    f.engine
        .lock(&id(&device), LockOptions::default())
        .await
        .unwrap();
    let response = f
        .engine
        .handle_command(over_tls(device.idle().unwrap(), &der))
        .await;
    assert_eq!(request_type(&response.body), "DeviceLock");

    // Another device's certificate, a foreign CA's, or bytes that are not a certificate.
    let other = f.ca.issue("other-tls").unwrap().certificate_der().unwrap();
    let foreign = DeviceCa::new("foreign")
        .unwrap()
        .issue(&device.udid)
        .unwrap()
        .certificate_der()
        .unwrap();
    for bad in [other, foreign, b"not DER".to_vec()] {
        let response = f
            .engine
            .handle_command(over_tls(device.idle().unwrap(), &bad))
            .await;
        assert_eq!(response.status, 400);
    }
    assert_eq!(f.pending(&device).await, 1);
}

/// The profile bytes of the InstallProfile the device gets at its next check-in.
async fn next_installed_profile(f: &Fixture, device: &SimulatedDevice) -> Vec<u8> {
    let response = f.command(device, device.idle().unwrap()).await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let envelope = CommandEnvelope::decode(&response.body).unwrap();
    let Command::InstallProfile(install) = envelope.command else {
        panic!("expected InstallProfile, got {}", envelope.request_type());
    };
    let answer = device
        .answer(
            &response.body,
            CommandStatus::Acknowledged,
            Dictionary::new(),
        )
        .unwrap();
    assert_eq!(f.command(device, answer).await.status, 200);
    install.payload.into_vec()
}

async fn encrypted_profiles_go_to_the_device_certificate(store: SharedStore) {
    let f = fixture(store.clone());
    let udid = unique("encrypted");
    let device = SimulatedDevice::new(&udid, TOPIC).with_identity(f.ca.issue_rsa(&udid).unwrap());
    f.enroll(&device).await;
    let identity = device.identity.clone().unwrap();
    let record = store.get_enrollment(&id(&device)).await.unwrap().unwrap();
    assert_eq!(
        record.identity_certificate,
        Some(identity.certificate_der().unwrap())
    );

    let profile = Profile::new("com.example.secret")
        .with_display_name("Secret settings")
        .with_payload(Payload::new(
            "com.example.secret.clip",
            WebClipManaged::new("https://portal.example.com", "Portal"),
        ));
    f.engine
        .install_profile_encrypted(&id(&device), &profile, None)
        .await
        .unwrap();
    let bytes = next_installed_profile(&f, &device).await;
    assert_eq!(
        Profile::read(&bytes).unwrap_err().code(),
        "profile_invalid",
        "the payloads are not readable without the key"
    );
    assert_eq!(identity.decrypt_profile(&bytes).unwrap(), profile);

    // Signed outside, encrypted inside.
    let signer_ca = mdmkit_enrollment::DeviceCa::generate("Profile Signer", 30).unwrap();
    let signer = SigningIdentity::from_bytes(
        &signer_ca.certificate_pem().unwrap(),
        signer_ca.private_key_pem().unwrap().expose(),
        None,
    )
    .unwrap();
    f.engine
        .install_profile_encrypted(&id(&device), &profile, Some(&signer))
        .await
        .unwrap();
    let bytes = next_installed_profile(&f, &device).await;
    let verified = profile::verify(&bytes, Some(&signer_ca.certificate_pem().unwrap())).unwrap();
    assert!(verified.profile.is_encrypted());
    assert_eq!(identity.decrypt_profile(&bytes).unwrap(), profile);

    // A rebound certificate is the one profiles are encrypted to from then on.
    let renewed = device
        .clone()
        .with_identity(f.ca.issue_rsa(&device.udid).unwrap());
    let renewed_identity = renewed.identity.clone().unwrap();
    let der = renewed_identity.certificate_der().unwrap();
    f.engine.rebind_identity(&id(&device), &der).await.unwrap();
    let record = store.get_enrollment(&id(&device)).await.unwrap().unwrap();
    assert_eq!(record.identity_certificate, Some(der));
    f.engine
        .install_profile_encrypted(&id(&device), &profile, None)
        .await
        .unwrap();
    let bytes = next_installed_profile(&f, &renewed).await;
    assert_eq!(renewed_identity.decrypt_profile(&bytes).unwrap(), profile);
    assert_eq!(
        identity.decrypt_profile(&bytes).unwrap_err().code(),
        "profile_not_recipient"
    );
    // So is the certificate of a new Authenticate (re-enrollment).
    let reenrolled = device
        .clone()
        .with_identity(f.ca.issue_rsa(&device.udid).unwrap());
    f.enroll(&reenrolled).await;
    let record = store.get_enrollment(&id(&device)).await.unwrap().unwrap();
    assert_eq!(
        record.identity_certificate,
        Some(
            reenrolled
                .identity
                .as_ref()
                .unwrap()
                .certificate_der()
                .unwrap()
        )
    );

    // An EC identity cannot receive an encrypted profile; nor can a device whose
    // certificate is not stored. Nothing is queued for either.
    let ec_device = f.device("ec");
    f.enroll(&ec_device).await;
    let error = f
        .engine
        .install_profile_encrypted(&id(&ec_device), &profile, None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "key_not_supported", "{error}");
    let mut record = store
        .get_enrollment(&id(&ec_device))
        .await
        .unwrap()
        .unwrap();
    record.identity_certificate = None;
    store.put_enrollment(&record).await.unwrap();
    let error = f
        .engine
        .install_profile_encrypted(&id(&ec_device), &profile, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::IdentityCertificateMissing(_)),
        "{error}"
    );
    assert_eq!(error.code(), "identity_certificate_missing");
    assert_eq!(f.pending(&ec_device).await, 0);
    assert_eq!(f.pending(&device).await, 0);
    let error = f
        .engine
        .install_profile_encrypted(&EnrollmentId::device("nobody"), &profile, None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "not_found");
}

/// One bulk DeviceLock (no PIN) to good, unknown, disabled, unsupported (tvOS), PIN-less
/// Mac and platform-unknown enrollments, across more than one read batch: the good ones
/// are queued in the order given (a repeated one twice), every other one is refused with
/// the code and message one `enqueue_command` gives it.
async fn bulk_refusals_keep_order_codes_and_messages(store: SharedStore) {
    let f = fixture(store.clone());
    let good = f.device("bulk-good");
    f.enroll(&good).await;
    let second = f.device("bulk-second");
    f.enroll(&second).await;
    let disabled = f.device("bulk-disabled");
    f.enroll(&disabled).await;
    store.set_enabled(&id(&disabled), false).await.unwrap();
    let mut tv = f.device("bulk-tv");
    tv.product_name = "AppleTV14,1".into();
    f.enroll(&tv).await;
    let mut mac = f.device("bulk-mac");
    mac.product_name = "MacBookPro18,3".into();
    mac.os_version = "14.4".into();
    f.enroll(&mac).await;
    // An enrollment whose device has no record: its platform is unknown.
    let bare = EnrollmentId::device(&unique("bulk-bare"));
    let mut record = EnrollmentRecord::new(bare.clone());
    record.enabled = true;
    store.put_enrollment(&record).await.unwrap();
    let unknown = EnrollmentId::device(&unique("bulk-unknown"));

    let mut targets = vec![
        id(&good),
        unknown.clone(),
        id(&disabled),
        id(&tv),
        id(&mac),
        bare.clone(),
    ];
    let filler: Vec<EnrollmentId> = (0..1_200)
        .map(|i| EnrollmentId::device(&format!("{}-{i}", unique("bulk-filler"))))
        .collect();
    targets.extend(filler.iter().cloned());
    targets.extend([id(&second), id(&tv), id(&good)]);

    let outcome = f
        .engine
        .enqueue_command_many(&targets, DeviceLock::new(), None)
        .await
        .unwrap();
    assert_eq!(outcome.queued, vec![id(&good), id(&second), id(&good)]);
    let refused: Vec<(EnrollmentId, &str)> = outcome
        .refused
        .iter()
        .map(|(id, code, _)| (id.clone(), *code))
        .collect();
    let mut expected = vec![
        (unknown.clone(), "not_found"),
        (id(&disabled), "enrollment_disabled"),
        (id(&tv), "command_not_supported"),
        (id(&mac), "command_not_supported"),
        (bare.clone(), "command_not_supported"),
    ];
    expected.extend(filler.iter().map(|id| (id.clone(), "not_found")));
    expected.push((id(&tv), "command_not_supported"));
    assert_eq!(refused, expected);
    assert!(
        outcome.refused[3].2.contains("PIN"),
        "{:?}",
        outcome.refused[3]
    );
    assert!(
        outcome.refused[4].2.contains("unknown"),
        "{:?}",
        outcome.refused[4]
    );
    // The same code and message as one device at a time.
    for (target, code, message) in outcome.refused.iter().take(5) {
        let error = f
            .engine
            .enqueue_command(target, DeviceLock::new())
            .await
            .unwrap_err();
        assert_eq!((error.code(), error.to_string()), (*code, message.clone()));
    }
    assert_eq!(outcome.pushes.len(), 2, "one push per queued enrollment");
    assert_eq!(
        store
            .command_status(&outcome.command_uuid)
            .await
            .unwrap()
            .len(),
        2
    );
    for device in [&disabled, &tv, &mac] {
        assert_eq!(
            f.pending(device).await,
            0,
            "nothing queued for {}",
            device.udid
        );
    }

    // Nothing to queue: no command stored, nothing pushed.
    let pushed = f.pusher.pushed().len();
    let outcome = f
        .engine
        .enqueue_command_many(&[unknown, id(&tv)], DeviceLock::new(), None)
        .await
        .unwrap();
    assert!(outcome.queued.is_empty());
    assert_eq!(outcome.refused.len(), 2);
    assert!(store
        .command_status(&outcome.command_uuid)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(f.pusher.pushed().len(), pushed);
}

/// A bulk InstallProfile whose payload is not a profile: every enrollment that could run
/// it is refused with the profile's error (the one a single enqueue gives), the others
/// with their own; nothing is queued. A good payload is queued.
async fn bulk_install_profile_with_a_bad_payload_is_refused(store: SharedStore) {
    let f = fixture(store.clone());
    let good = f.device("bulk-profile");
    f.enroll(&good).await;
    let second = f.device("bulk-profile-2");
    f.enroll(&second).await;
    let disabled = f.device("bulk-profile-disabled");
    f.enroll(&disabled).await;
    store.set_enabled(&id(&disabled), false).await.unwrap();
    let unknown = EnrollmentId::device(&unique("bulk-profile-unknown"));
    let targets = [id(&good), unknown.clone(), id(&disabled), id(&second)];

    let bad = || InstallProfile::new(mdmkit_core::Data::new(b"not a profile".to_vec()));
    let single = f
        .engine
        .enqueue_command(&id(&good), bad())
        .await
        .unwrap_err();
    let outcome = f
        .engine
        .enqueue_command_many(&targets, bad(), None)
        .await
        .unwrap();
    assert!(outcome.queued.is_empty());
    assert!(outcome.pushes.is_empty());
    assert_eq!(
        outcome.refused,
        vec![
            (id(&good), single.code(), single.to_string()),
            (
                unknown.clone(),
                "not_found",
                f.engine
                    .enqueue_command(&unknown, bad())
                    .await
                    .unwrap_err()
                    .to_string()
            ),
            (
                id(&disabled),
                "enrollment_disabled",
                f.engine
                    .enqueue_command(&id(&disabled), bad())
                    .await
                    .unwrap_err()
                    .to_string()
            ),
            (id(&second), single.code(), single.to_string()),
        ]
    );
    assert_eq!(f.pending(&good).await, 0);
    assert_eq!(f.pending(&second).await, 0);
    assert!(f.pusher.pushed().is_empty());

    let profile = Profile::new("com.example.bulk")
        .with_display_name("Bulk")
        .with_payload(Payload::new(
            "com.example.bulk.clip",
            WebClipManaged::new("https://portal.example.com", "Portal"),
        ));
    let outcome = f
        .engine
        .enqueue_command_many(
            &targets,
            InstallProfile::new(mdmkit_core::Data::new(profile.to_xml().unwrap())),
            None,
        )
        .await
        .unwrap();
    assert_eq!(outcome.queued, vec![id(&good), id(&second)]);
    assert_eq!(
        outcome
            .refused
            .iter()
            .map(|(_, code, _)| *code)
            .collect::<Vec<_>>(),
        ["not_found", "enrollment_disabled"]
    );
    assert_eq!(f.pending(&good).await, 1);
}
