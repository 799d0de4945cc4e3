//! Enrollment takeover (issue 14, item 1): a spare identity certificate from the device CA
//! must never move another user's enrollment to itself. Simulated devices that install
//! their identity from the signed enrollment profile, against the memory store, SQLite and
//! (when `MDMKIT_TEST_POSTGRES_URL` is set) PostgreSQL.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mdmkit_core::engine::{Engine, LockOptions, MdmResponse};
use mdmkit_core::profile::SigningIdentity;
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{AtRestKey, MemoryStore, PushCertificateRecord, SharedStore, SqliteStore};
use mdmkit_core::{CommandEnvelope, CommandStatus, EnrollmentId, Secret};
use mdmkit_enrollment::PortalConfig;
use mdmkit_enrollment::{DeviceCa, Enroller, EnrollmentProfileSettings, OwnerBinding, Portal};
use mdmkit_tests::{DeviceIdentityKey, SimulatedDevice};

const TOPIC: &str = "com.apple.mgmt.External.takeover-test";

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
                    super::AtRestKey::from_bytes(&[9; 32]).unwrap(),
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
            let schema = format!("mdmkit_takeover_{}", unique("s").replace('-', "_"));
            let store = mdmkit_core::store::PostgresStore::connect_in_schema(
                &url,
                &schema,
                AtRestKey::from_bytes(&[9; 32]).unwrap(),
            )
            .await
            .unwrap();
            Some(Arc::new(store))
        }
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: takeover test on PostgreSQL (set MDMKIT_TEST_POSTGRES_URL)"
            );
            None
        }
    }
}

on_every_store!(
    a_spare_identity_of_another_user_cannot_take_over,
    a_spare_identity_cannot_take_over_without_owner_binding,
    the_same_owner_re_enrolls_and_the_old_secrets_are_gone,
    external_identities_follow_the_policy_hook,
);

fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

struct Fixture {
    store: SharedStore,
    engine: Engine,
    enroller: Enroller,
    /// A second trusted CA standing for an external SCEP CA: its identities have no
    /// recorded user.
    external_ca: mdmkit_tests::DeviceCa,
}

async fn fixture(store: SharedStore, owner_binding: bool) -> Fixture {
    let push = PushCertificateRecord::new(
        TOPIC,
        vec![1, 2, 3],
        Secret::new(b"key".to_vec()),
        time::OffsetDateTime::now_utc() + time::Duration::days(300),
    );
    store.put_push_certificate(&push).await.unwrap();
    let ca = Arc::new(DeviceCa::generate("Takeover Test Device CA", 30).unwrap());
    let external_ca = mdmkit_tests::DeviceCa::new("External SCEP CA").unwrap();
    let signer_ca = DeviceCa::generate("Takeover Profile Signer", 30).unwrap();
    let signer = SigningIdentity::from_bytes(
        &signer_ca.certificate_pem().unwrap(),
        signer_ca.private_key_pem().unwrap().expose(),
        None,
    )
    .unwrap();
    let mut builder = Engine::builder(store.clone(), Arc::new(RecordingPusher::new()))
        .device_ca(ca.certificate_pem().unwrap())
        .device_ca(external_ca.certificate_pem().unwrap());
    if owner_binding {
        builder = builder.events(Arc::new(OwnerBinding::new(store.clone())));
    }
    let engine = builder.build().unwrap();
    let settings = EnrollmentProfileSettings::new(
        "com.example.mdm.enrollment",
        "https://mdm.example.com/mdm",
        TOPIC,
    );
    let enroller = Enroller::new(store.clone(), ca, settings, Arc::new(signer));
    let portal = Portal::new(engine.clone(), PortalConfig::default());
    for user in ["alice", "bob"] {
        if store.get_portal_user(user).await.unwrap().is_none() {
            portal
                .add_user(user, &format!("{user}@example.com"), None)
                .await
                .unwrap();
        }
    }
    Fixture {
        store,
        engine,
        enroller,
        external_ca,
    }
}

impl Fixture {
    /// An identity issued for `user` through a registration token, as the device installs
    /// it from the signed enrollment profile.
    async fn identity_for(&self, user: &str) -> Arc<DeviceIdentityKey> {
        let token = self
            .enroller
            .create_token(user, Duration::from_secs(600))
            .await
            .unwrap();
        let signed = self
            .enroller
            .enroll(token.value.expose_str().unwrap())
            .await
            .unwrap();
        DeviceIdentityKey::from_enrollment_profile(&signed.profile).unwrap()
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

    /// Authenticate and TokenUpdate (push token `token`, UnlockToken `unlock`): both 200.
    async fn enroll(&self, device: &SimulatedDevice, token: &[u8], unlock: &[u8]) {
        let response = self.checkin(device, device.authenticate().unwrap()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
        let body = device
            .token_update_with(token, "magic", Some(unlock))
            .unwrap();
        let response = self.checkin(device, body).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
}

fn id(device: &SimulatedDevice) -> EnrollmentId {
    EnrollmentId::device(&device.udid)
}

fn request_type(body: &[u8]) -> &'static str {
    CommandEnvelope::decode(body).unwrap().request_type()
}

/// The issue's reproduction: bob's spare identity sends alice's UDID. It must be refused,
/// leave alice's enrollment untouched, and alice's unlock must go to alice's device.
async fn takeover_by_another_user_is_refused(store: SharedStore, owner_binding: bool) {
    let f = fixture(store.clone(), owner_binding).await;
    let alice = SimulatedDevice::new(&unique("alice-iphone"), TOPIC)
        .with_identity(f.identity_for("alice").await);
    f.enroll(&alice, b"alice-push", b"alice unlock token").await;
    f.store
        .set_bootstrap_token(&id(&alice), Some(&Secret::new(b"alice bootstrap".to_vec())))
        .await
        .unwrap();
    let before = f.store.get_enrollment(&id(&alice)).await.unwrap().unwrap();
    assert_eq!(
        before.owner.as_deref(),
        owner_binding.then_some("alice"),
        "OwnerBinding sets the owner, nothing else does"
    );
    let locked = f
        .engine
        .lock(&id(&alice), LockOptions::default())
        .await
        .unwrap();

    // Bob's spare identity, speaking for alice's UDID.
    let spare = f.identity_for("bob").await;
    let attacker = SimulatedDevice::new(&alice.udid, TOPIC).with_identity(spare.clone());
    let response = f.checkin(&attacker, attacker.authenticate().unwrap()).await;
    assert_eq!(response.status, 400, "the takeover was accepted");
    let reason = response.error.unwrap();
    assert!(reason.contains("another user"), "{reason}");
    let response = f
        .checkin(
            &attacker,
            attacker.token_update(b"bob-push", "bob").unwrap(),
        )
        .await;
    assert_eq!(response.status, 400);

    // Nothing of alice's enrollment moved: certificate, secrets, owner, queue.
    let after = f.store.get_enrollment(&id(&alice)).await.unwrap().unwrap();
    assert_eq!(after.identity_cert_sha256, before.identity_cert_sha256);
    assert_eq!(after.owner, before.owner);
    assert_eq!(
        after.unlock_token.as_ref().map(|t| t.expose().to_vec()),
        Some(b"alice unlock token".to_vec())
    );
    assert_eq!(after.push.as_ref().unwrap().token, b"alice-push".to_vec());
    assert!(after.bootstrap_token.is_some());
    assert!(after.enabled);

    // Alice's device still works and gets her lock, then her unlock.
    let response = f.command(&alice, alice.idle().unwrap()).await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let lock_payload = response.body;
    let lock = CommandEnvelope::decode(&lock_payload).unwrap();
    assert_eq!(lock.command_uuid, locked.command_uuid);
    f.engine.unlock(&id(&alice)).await.unwrap();
    let response = f.command(&attacker, attacker.idle().unwrap()).await;
    assert_eq!(response.status, 400, "the attacker's Idle must be refused");

    // Bob's spare identity binds to bob's own new device, and then never to alice's.
    let bobs = SimulatedDevice::new(&unique("bob-ipad"), TOPIC).with_identity(spare);
    f.enroll(&bobs, b"bob-push", b"bob unlock token").await;
    let attacker =
        SimulatedDevice::new(&alice.udid, TOPIC).with_identity(bobs.identity.clone().unwrap());
    let response = f.checkin(&attacker, attacker.authenticate().unwrap()).await;
    assert_eq!(response.status, 400);
    let answer = alice
        .answer(
            &lock_payload,
            CommandStatus::Acknowledged,
            Default::default(),
        )
        .unwrap();
    let response = f.command(&alice, answer).await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    assert_eq!(request_type(&response.body), "ClearPasscode");
}

async fn a_spare_identity_of_another_user_cannot_take_over(store: SharedStore) {
    takeover_by_another_user_is_refused(store, true).await;
}

async fn a_spare_identity_cannot_take_over_without_owner_binding(store: SharedStore) {
    takeover_by_another_user_is_refused(store, false).await;
}

/// A wiped device re-enrolls with a new identity of the same owner: accepted, and every
/// secret of the old binding and its queue are gone; the old certificate is refused.
async fn the_same_owner_re_enrolls_and_the_old_secrets_are_gone(store: SharedStore) {
    let f = fixture(store.clone(), true).await;
    let first = SimulatedDevice::new(&unique("alice-mac"), TOPIC)
        .with_identity(f.identity_for("alice").await);
    f.enroll(&first, b"old-push", b"old unlock token").await;
    f.store
        .set_bootstrap_token(&id(&first), Some(&Secret::new(b"old bootstrap".to_vec())))
        .await
        .unwrap();
    f.engine
        .lock(&id(&first), LockOptions::default())
        .await
        .unwrap();

    let again =
        SimulatedDevice::new(&first.udid, TOPIC).with_identity(f.identity_for("alice").await);
    let response = f.checkin(&again, again.authenticate().unwrap()).await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let record = f.store.get_enrollment(&id(&again)).await.unwrap().unwrap();
    assert!(
        record.unlock_token.is_none(),
        "the old UnlockToken survived"
    );
    assert!(
        record.bootstrap_token.is_none(),
        "the old bootstrap token survived"
    );
    assert!(record.push.is_none(), "the old push token survived");
    assert!(record.token_update_message.is_none());
    assert!(!record.enabled);
    assert_eq!(record.owner.as_deref(), Some("alice"));
    assert!(f
        .store
        .pending_commands(&id(&again))
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        f.engine.unlock(&id(&again)).await,
        Err(mdmkit_core::Error::UnlockTokenMissing(_))
    ));

    // The old certificate is no longer the device's.
    let response = f.command(&first, first.idle().unwrap()).await;
    assert_eq!(response.status, 400);
    let body = again
        .token_update_with(b"new-push", "magic", Some(b"new unlock token"))
        .unwrap();
    let response = f.checkin(&again, body).await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let record = f.store.get_enrollment(&id(&again)).await.unwrap().unwrap();
    assert!(record.enabled);
    assert_eq!(
        record.unlock_token.map(|t| t.expose().to_vec()),
        Some(b"new unlock token".to_vec())
    );
}

/// Identities with no recorded user (an external SCEP CA): they renew an unowned
/// enrollment, but never take over one with a bound certificate and an owner.
async fn external_identities_follow_the_policy_hook(store: SharedStore) {
    let f = fixture(store.clone(), true).await;
    let alice = SimulatedDevice::new(&unique("alice-phone"), TOPIC)
        .with_identity(f.identity_for("alice").await);
    f.enroll(&alice, b"alice-push", b"alice unlock").await;

    let external = f.external_ca.issue("scep identity").unwrap();
    let attacker = SimulatedDevice::new(&alice.udid, TOPIC).with_identity(external);
    let response = f.checkin(&attacker, attacker.authenticate().unwrap()).await;
    assert_eq!(
        response.status, 400,
        "an external identity took over an owned enrollment"
    );
    assert!(response.error.unwrap().contains("policy"));
    let record = f.store.get_enrollment(&id(&alice)).await.unwrap().unwrap();
    assert!(record.unlock_token.is_some());

    // An unowned device of the external CA renews its certificate: accepted, secrets dropped.
    let kiosk = SimulatedDevice::new(&unique("kiosk"), TOPIC)
        .with_identity(f.external_ca.issue("kiosk 1").unwrap());
    f.enroll(&kiosk, b"kiosk-push", b"kiosk unlock").await;
    let renewed = SimulatedDevice::new(&kiosk.udid, TOPIC)
        .with_identity(f.external_ca.issue("kiosk 1 renewed").unwrap());
    let response = f.checkin(&renewed, renewed.authenticate().unwrap()).await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let record = f.store.get_enrollment(&id(&kiosk)).await.unwrap().unwrap();
    assert!(record.unlock_token.is_none() && record.push.is_none());

    // A user's spare identity may not take over that unowned, bound enrollment by default.
    let spare = SimulatedDevice::new(&kiosk.udid, TOPIC).with_identity(f.identity_for("bob").await);
    let response = f.checkin(&spare, spare.authenticate().unwrap()).await;
    assert_eq!(response.status, 400);
}

/// Captures the text of every `tracing` event on this thread (the tests' runtime is
/// single-threaded).
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<String>>>);

struct FieldText(String);

impl tracing::field::Visit for FieldText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = FieldText(format!("{} ", event.metadata().level()));
        event.record(&mut text);
        self.0.lock().unwrap().push(text.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn every_refusal_is_logged_with_its_reason() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.clone());
    let f = fixture(Arc::new(MemoryStore::new()), true).await;
    let alice = SimulatedDevice::new(&unique("alice-log"), TOPIC)
        .with_identity(f.identity_for("alice").await);
    f.enroll(&alice, b"push", b"SECRET-UNLOCK-VALUE").await;
    let attacker =
        SimulatedDevice::new(&alice.udid, TOPIC).with_identity(f.identity_for("bob").await);
    let response = f.checkin(&attacker, attacker.authenticate().unwrap()).await;
    assert_eq!(response.status, 400);
    let unsigned = SimulatedDevice::new(&alice.udid, TOPIC);
    let response = f.command(&unsigned, unsigned.idle().unwrap()).await;
    assert_eq!(response.status, 400);

    let lines = captured.0.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.starts_with("WARN")
            && l.contains("identity takeover")
            && l.contains("another user")
            && l.contains(&alice.udid)),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("WARN")
            && l.contains("MDM authentication failed")
            && l.contains("no Mdm-Signature")),
        "{lines:#?}"
    );
    // Secrets never reach the log.
    assert!(!lines
        .iter()
        .any(|l| l.contains("SECRET-UNLOCK-VALUE") || l.contains("U0VDUkVU")));
}
