//! Enrollment and the self-service portal end to end: a user gets an enrollment token, a
//! simulated device installs the identity from the signed profile and enrolls, the user
//! signs in and acts on the device through the portal.

use std::sync::Arc;
use std::time::Duration;

use mdmkit_core::command::CommandEnvelope;
use mdmkit_core::engine::{Engine, LockOptions, MdmResponse};
use mdmkit_core::profile::{verify, PayloadContent, SigningIdentity};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{
    AuditQuery, MemoryStore, PrivacyScope, PrivacySettings, PrivacySource, PushCertificateRecord,
    SharedStore,
};
use mdmkit_core::{CommandStatus, EnrollmentId, Secret};
use mdmkit_enrollment::{
    DeviceCa, Enroller, EnrollmentProfileSettings, Error, OwnerBinding, Portal, PortalConfig,
    PrivacyChange, WebClipSettings,
};
use mdmkit_tests::{DeviceIdentityKey, SimulatedDevice};
use plist::{Dictionary, Value};

pub(crate) const TOPIC: &str = "com.apple.mgmt.External.enrollment-test";
pub(crate) const PROFILE_ID: &str = "com.example.mdm.enrollment";

pub(crate) struct Fixture {
    pub(crate) store: SharedStore,
    pub(crate) engine: Engine,
    pub(crate) enroller: Enroller,
    pub(crate) portal: Portal,
    pub(crate) signer: Arc<SigningIdentity>,
}

pub(crate) async fn fixture(config: PortalConfig) -> Fixture {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let push = PushCertificateRecord::new(
        TOPIC,
        vec![1, 2, 3],
        Secret::new(b"key".to_vec()),
        time::OffsetDateTime::now_utc() + time::Duration::days(300),
    );
    store.put_push_certificate(&push).await.unwrap();
    let ca = Arc::new(DeviceCa::generate("Enrollment Test Device CA", 30).unwrap());
    let signer_ca = DeviceCa::generate("Profile Signer", 30).unwrap();
    let signer = SigningIdentity::from_bytes(
        &signer_ca.certificate_pem().unwrap(),
        signer_ca.private_key_pem().unwrap().expose(),
        None,
    )
    .unwrap();
    let engine = Engine::builder(store.clone(), Arc::new(RecordingPusher::new()))
        .device_ca(ca.certificate_pem().unwrap())
        .enrollment_profile_identifier(PROFILE_ID)
        .events(Arc::new(OwnerBinding::new(store.clone())))
        .build()
        .unwrap();
    let settings = EnrollmentProfileSettings::new(PROFILE_ID, "https://mdm.example.com/mdm", TOPIC)
        .with_check_in_url("https://mdm.example.com/checkin");
    let signer = Arc::new(signer);
    let enroller = Enroller::new(store.clone(), ca, settings, signer.clone());
    let portal = Portal::new(engine.clone(), config);
    Fixture {
        store,
        engine,
        enroller,
        portal,
        signer,
    }
}

impl Fixture {
    async fn user(&self, id: &str, password: &str) {
        self.portal
            .add_user(id, &format!("{id}@example.com"), Some(id))
            .await
            .unwrap();
        self.portal.set_password(id, password).await.unwrap();
    }

    /// Enrolls a simulated device for `user` with a fresh token; returns it.
    async fn enroll(&self, user: &str, udid: &str) -> SimulatedDevice {
        self.enroll_model(user, udid, None).await
    }

    /// Enrolls a simulated device reporting `product_name` (default: an iPhone).
    async fn enroll_model(
        &self,
        user: &str,
        udid: &str,
        product_name: Option<&str>,
    ) -> SimulatedDevice {
        let token = self
            .enroller
            .create_token(user, Duration::from_secs(3600))
            .await
            .unwrap();
        self.enroll_token_model(token.value.expose_str().unwrap(), user, udid, product_name)
            .await
    }

    /// Enrolls a simulated device with an enrollment token value meant for `user`: the
    /// device installs the identity from the signed profile, authenticates and sends its
    /// TokenUpdate.
    pub(crate) async fn enroll_with(&self, token: &str, user: &str, udid: &str) -> SimulatedDevice {
        self.enroll_token_model(token, user, udid, None).await
    }

    /// [`Fixture::enroll_with`], the device reporting `product_name` (default: an iPhone).
    async fn enroll_token_model(
        &self,
        token: &str,
        user: &str,
        udid: &str,
        product_name: Option<&str>,
    ) -> SimulatedDevice {
        let signed = self.enroller.enroll(token).await.unwrap();
        assert_eq!(signed.user_id, user);
        let identity = DeviceIdentityKey::from_enrollment_profile(&signed.profile).unwrap();
        let mut device = SimulatedDevice::new(udid, TOPIC).with_identity(identity);
        if let Some(product_name) = product_name {
            device.product_name = product_name.to_owned();
        }
        for body in [
            device.authenticate().unwrap(),
            device.token_update(b"push-token", "magic").unwrap(),
        ] {
            let response = self
                .engine
                .handle_checkin(device.request(body).unwrap())
                .await;
            assert_eq!(response.status, 200, "{:?}", response.error);
        }
        device
    }

    pub(crate) async fn command(&self, device: &SimulatedDevice, body: Vec<u8>) -> MdmResponse {
        self.engine
            .handle_command(device.request(body).unwrap())
            .await
    }
}

pub(crate) fn request_type(body: &[u8]) -> String {
    CommandEnvelope::decode(body)
        .unwrap()
        .command
        .request_type()
        .to_string()
}

#[tokio::test]
async fn enrollment_profile_has_mdm_identity_and_root_payloads_and_is_signed() {
    let f = fixture(PortalConfig::default()).await;
    f.user("alice", "correct horse").await;
    let token = f
        .enroller
        .create_token("alice", Duration::from_secs(60))
        .await
        .unwrap();
    let signed = f
        .enroller
        .enroll(token.value.expose_str().unwrap())
        .await
        .unwrap();
    let profile = verify(&signed.profile, None).unwrap().profile;
    assert_eq!(profile.identifier, PROFILE_ID);
    let mut identity_uuid = None;
    let mut mdm = None;
    let mut has_root = false;
    for payload in &profile.payloads {
        match &payload.content {
            PayloadContent::SecurityPkcs12(p) => {
                identity_uuid = Some(payload.common.uuid.clone());
                assert!(p.password.is_some());
            }
            PayloadContent::SecurityRoot(_) => has_root = true,
            PayloadContent::Mdm(m) => mdm = Some(m.clone()),
            _ => {}
        }
    }
    let mdm = mdm.unwrap();
    assert_eq!(Some(mdm.identity_certificate_uuid.clone()), identity_uuid);
    assert_eq!(mdm.topic, TOPIC);
    assert_eq!(mdm.server_url, "https://mdm.example.com/mdm");
    assert_eq!(
        mdm.check_in_url.as_deref(),
        Some("https://mdm.example.com/checkin")
    );
    assert_eq!(mdm.sign_message, Some(true));
    assert_eq!(mdm.check_out_when_removed, Some(true));
    assert_eq!(mdm.access_rights, Some(8191));
    assert!(mdm.server_capabilities.is_some());
    assert!(has_root);
}

#[tokio::test]
async fn enroll_sign_in_lock_and_the_device_acknowledges() {
    let f = fixture(PortalConfig::default()).await;
    f.user("alice", "correct horse").await;
    let device = f.enroll("alice", "UDID-ALICE-1").await;
    let id = EnrollmentId::device("UDID-ALICE-1");
    let record = f.store.get_enrollment(&id).await.unwrap().unwrap();
    assert_eq!(record.owner.as_deref(), Some("alice"));

    assert!(matches!(
        f.portal.sign_in("alice@example.com", "wrong").await,
        Err(Error::SignInFailed)
    ));
    assert!(matches!(
        f.portal.sign_in("nobody@example.com", "x").await,
        Err(Error::SignInFailed)
    ));
    let session = f
        .portal
        .sign_in("alice@example.com", "correct horse")
        .await
        .unwrap();
    let devices = f.portal.devices(&session).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].enrollment_id, id);
    for action in ["lock", "unlock", "wipe", "retire", "checkin"] {
        assert!(
            devices[0].actions.contains(&action),
            "{action}: {:?}",
            devices[0].actions
        );
    }
    assert!(!devices[0].actions.contains(&"locate"));

    let mut options = LockOptions::default();
    options.message = Some("Lost phone".into());
    let queued = f.portal.lock(&session, id.as_str(), options).await.unwrap();
    let response = f.command(&device, device.idle().unwrap()).await;
    assert_eq!(request_type(&response.body), "DeviceLock");
    let ack = device
        .answer(
            &response.body,
            CommandStatus::Acknowledged,
            Dictionary::new(),
        )
        .unwrap();
    assert_eq!(f.command(&device, ack).await.status, 200);
    let status = f.store.command_status(&queued.command_uuid).await.unwrap();
    assert_eq!(status[0].status, Some(CommandStatus::Acknowledged));

    let audit = f
        .store
        .list_audit_events(&AuditQuery::default())
        .await
        .unwrap();
    let lock = audit.iter().find(|e| e.action == "portal.lock").unwrap();
    assert_eq!(lock.actor, "alice");
    assert_eq!(lock.target.as_deref(), Some(id.as_str()));
    assert!(lock.detail.as_deref().unwrap().contains("\"ok\""));

    // Check-in, unlock, wipe and retire go through the engine too.
    f.portal.check_in(&session, id.as_str()).await.unwrap();
    f.portal.unlock(&session, id.as_str()).await.unwrap();
    f.portal
        .wipe(
            &session,
            id.as_str(),
            mdmkit_core::command::EraseDevice::new(),
        )
        .await
        .unwrap();
    f.portal.retire(&session, id.as_str()).await.unwrap();
    assert_eq!(f.store.pending_commands(&id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn another_users_device_is_not_found_nothing_queued_and_audited() {
    let f = fixture(PortalConfig::default()).await;
    f.user("alice", "alice pw").await;
    f.user("bob", "bob pw").await;
    f.enroll("alice", "UDID-ALICE").await;
    f.enroll("bob", "UDID-BOB").await;
    let bob_device = EnrollmentId::device("UDID-BOB");
    let alice = f
        .portal
        .sign_in("alice@example.com", "alice pw")
        .await
        .unwrap();
    let devices = f.portal.devices(&alice).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].enrollment_id.as_str(), "UDID-ALICE");

    let foreign = f
        .portal
        .lock(&alice, bob_device.as_str(), LockOptions::default())
        .await
        .unwrap_err();
    let missing = f
        .portal
        .lock(&alice, "UDID-NOBODY", LockOptions::default())
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), "device_not_found");
    assert_eq!(foreign.code(), missing.code());
    assert_eq!(
        foreign.to_string().replace("UDID-BOB", "X"),
        missing.to_string().replace("UDID-NOBODY", "X")
    );
    for result in [
        f.portal
            .unlock(&alice, bob_device.as_str())
            .await
            .map(|_| ()),
        f.portal
            .locate(&alice, bob_device.as_str())
            .await
            .map(|_| ()),
        f.portal
            .wipe(
                &alice,
                bob_device.as_str(),
                mdmkit_core::command::EraseDevice::new(),
            )
            .await
            .map(|_| ()),
        f.portal
            .retire(&alice, bob_device.as_str())
            .await
            .map(|_| ()),
        f.portal
            .check_in(&alice, bob_device.as_str())
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(Error::DeviceNotFound(_))),
            "{result:?}"
        );
    }
    assert!(f
        .store
        .pending_commands(&bob_device)
        .await
        .unwrap()
        .is_empty());

    let audit = f
        .store
        .list_audit_events(&AuditQuery::default())
        .await
        .unwrap();
    let attempt = audit
        .iter()
        .find(|e| e.action == "portal.lock" && e.target.as_deref() == Some("UDID-BOB"))
        .unwrap();
    assert_eq!(attempt.actor, "alice");
    assert!(attempt
        .detail
        .as_deref()
        .unwrap()
        .contains("device_not_found"));
}

#[tokio::test]
async fn location_follows_the_privacy_settings() {
    let f = fixture(PortalConfig::default()).await;
    f.user("alice", "pw").await;
    let device = f.enroll("alice", "UDID-LOC").await;
    let id = EnrollmentId::device("UDID-LOC");
    // Locating needs a supervised device: the device reports it.
    f.engine
        .query_device_information(&id, vec!["IsSupervised".into()])
        .await
        .unwrap();
    let response = f.command(&device, device.idle().unwrap()).await;
    let mut answers = Dictionary::new();
    answers.insert("IsSupervised".into(), Value::Boolean(true));
    let mut answer = Dictionary::new();
    answer.insert("QueryResponses".into(), Value::Dictionary(answers));
    let body = device
        .answer(&response.body, CommandStatus::Acknowledged, answer)
        .unwrap();
    assert_eq!(f.command(&device, body).await.status, 200);

    let session = f.portal.sign_in("alice@example.com", "pw").await.unwrap();
    let error = f.portal.locate(&session, id.as_str()).await.unwrap_err();
    assert!(matches!(error, Error::LocationDisabled));
    assert_eq!(error.to_string(), "location disabled by privacy settings");
    assert!(f.store.pending_commands(&id).await.unwrap().is_empty());

    let mut privacy = PrivacySettings::default();
    privacy.allow_location = true;
    f.store.put_privacy_settings(&privacy).await.unwrap();
    let devices = f.portal.devices(&session).await.unwrap();
    assert!(devices[0].actions.contains(&"locate"));
    f.portal.locate(&session, id.as_str()).await.unwrap();
    let response = f.command(&device, device.idle().unwrap()).await;
    assert_eq!(request_type(&response.body), "DeviceLocation");
}

#[tokio::test]
async fn expired_reused_unknown_and_revoked_tokens_are_refused() {
    let f = fixture(PortalConfig::default()).await;
    f.user("alice", "pw").await;
    let token = f
        .enroller
        .create_token("alice", Duration::from_secs(3600))
        .await
        .unwrap();
    let value = token.value.expose_str().unwrap().to_string();
    f.enroller.enroll(&value).await.unwrap();
    assert!(matches!(
        f.enroller.enroll(&value).await,
        Err(Error::TokenInvalid)
    ));

    let expired = f
        .enroller
        .create_token("alice", Duration::ZERO)
        .await
        .unwrap();
    assert!(matches!(
        f.enroller.enroll(expired.value.expose_str().unwrap()).await,
        Err(Error::TokenInvalid)
    ));
    assert!(matches!(
        f.enroller.enroll("no-such-token").await,
        Err(Error::TokenInvalid)
    ));

    let revoked = f
        .enroller
        .create_token("alice", Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(f
        .enroller
        .revoke_token(revoked.value.expose_str().unwrap())
        .await
        .unwrap());
    assert!(matches!(
        f.enroller.enroll(revoked.value.expose_str().unwrap()).await,
        Err(Error::TokenInvalid)
    ));
    // A token for a user who does not exist is never made.
    assert!(f
        .enroller
        .create_token("ghost", Duration::from_secs(60))
        .await
        .is_err());
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_per_account() {
    let mut config = PortalConfig::default();
    config.max_failures = 3;
    config.lockout = Duration::from_secs(3600);
    let f = fixture(config).await;
    f.user("alice", "right").await;
    f.user("bob", "bobs").await;
    for _ in 0..3 {
        assert!(matches!(
            f.portal.sign_in("alice@example.com", "wrong").await,
            Err(Error::SignInFailed)
        ));
    }
    assert!(matches!(
        f.portal.sign_in("alice@example.com", "right").await,
        Err(Error::RateLimited { .. })
    ));
    // The count is in the store: another portal on it (a second server, or this one
    // restarted) refuses too, and the address's case does not matter.
    let other_server = Portal::new(f.engine.clone(), config);
    match other_server.sign_in("Alice@Example.com", "right").await {
        Err(Error::RateLimited { retry_after_secs }) => {
            assert!(
                (3000..=3600).contains(&retry_after_secs),
                "{retry_after_secs}"
            )
        }
        other => panic!("expected a lockout, got {other:?}"),
    }
    f.portal.sign_in("bob@example.com", "bobs").await.unwrap();
    // Two failures, then a success: the count starts again.
    for _ in 0..2 {
        assert!(other_server
            .sign_in("bob@example.com", "wrong")
            .await
            .is_err());
    }
    f.portal.sign_in("bob@example.com", "bobs").await.unwrap();
    for _ in 0..2 {
        assert!(matches!(
            f.portal.sign_in("bob@example.com", "wrong").await,
            Err(Error::SignInFailed)
        ));
    }
    other_server
        .sign_in("bob@example.com", "bobs")
        .await
        .unwrap();
    assert!(matches!(
        f.portal.set_password("alice", "").await,
        Err(Error::InvalidInput(_))
    ));
    let user = f.store.get_portal_user("alice").await.unwrap().unwrap();
    let hash = user.password_hash.unwrap();
    assert!(hash.expose_str().unwrap().starts_with("$argon2id$"));
    assert!(!format!("{hash:?}").contains("argon2"));
}

#[tokio::test]
async fn the_user_changes_name_email_and_password() {
    let f = fixture(PortalConfig::default()).await;
    f.user("alice", "old pw").await;
    f.user("bob", "bob pw").await;
    let session = f
        .portal
        .sign_in("alice@example.com", "old pw")
        .await
        .unwrap();
    assert!(matches!(
        f.portal.change_password(&session, "not it", "new pw").await,
        Err(Error::SignInFailed)
    ));
    f.portal
        .change_password(&session, "old pw", "new pw")
        .await
        .unwrap();
    assert!(f
        .portal
        .sign_in("alice@example.com", "old pw")
        .await
        .is_err());
    let taken = f
        .portal
        .update_account(&session, None, Some("bob@example.com"))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), "store_conflict");
    assert!(matches!(
        f.portal
            .update_account(&session, None, Some("no-at-sign"))
            .await,
        Err(Error::InvalidInput(_))
    ));
    let user = f
        .portal
        .update_account(&session, Some("Alice A."), Some("alice@new.example"))
        .await
        .unwrap();
    assert_eq!(user.name.as_deref(), Some("Alice A."));
    f.portal
        .sign_in("alice@new.example", "new pw")
        .await
        .unwrap();
}

impl Fixture {
    /// Has the device report itself supervised (locating needs it).
    async fn supervise(&self, device: &SimulatedDevice) {
        let id = EnrollmentId::device(&device.udid);
        self.engine
            .query_device_information(&id, vec!["IsSupervised".into()])
            .await
            .unwrap();
        let response = self.command(device, device.idle().unwrap()).await;
        let mut answers = Dictionary::new();
        answers.insert("IsSupervised".into(), Value::Boolean(true));
        let mut answer = Dictionary::new();
        answer.insert("QueryResponses".into(), Value::Dictionary(answers));
        let body = device
            .answer(&response.body, CommandStatus::Acknowledged, answer)
            .unwrap();
        assert_eq!(self.command(device, body).await.status, 200);
    }
}

#[tokio::test]
async fn location_follows_the_per_user_and_per_device_privacy_overrides() {
    let f = fixture(PortalConfig::default()).await;
    f.user("alice", "pw").await;
    let phone = f.enroll("alice", "UDID-PRIV-PHONE").await;
    let tablet = f
        .enroll_model("alice", "UDID-PRIV-IPAD", Some("iPad14,1"))
        .await;
    f.supervise(&phone).await;
    f.supervise(&tablet).await;
    let phone_id = EnrollmentId::device("UDID-PRIV-PHONE");
    let tablet_id = EnrollmentId::device("UDID-PRIV-IPAD");
    let session = f.portal.sign_in("alice@example.com", "pw").await.unwrap();
    let locatable = |devices: Vec<mdmkit_enrollment::PortalDevice>| -> Vec<String> {
        devices
            .into_iter()
            .filter(|d| d.actions.contains(&"locate"))
            .map(|d| d.enrollment_id.to_string())
            .collect()
    };
    let refused = |result: Result<_, Error>| {
        let error = result.unwrap_err();
        assert!(matches!(error, Error::LocationDisabled), "{error:?}");
    };

    // The server forbids it (the default); alice's own override allows it.
    refused(f.portal.locate(&session, phone_id.as_str()).await);
    let user = PrivacyScope::User("alice".into());
    mdmkit_enrollment::set_privacy(
        &f.store,
        "admin",
        Some(&user),
        PrivacyChange::new().with_location(true),
    )
    .await
    .unwrap();
    assert_eq!(
        locatable(f.portal.devices(&session).await.unwrap()),
        [tablet_id.to_string(), phone_id.to_string()]
    );
    f.portal.locate(&session, phone_id.as_str()).await.unwrap();
    let response = f.command(&phone, phone.idle().unwrap()).await;
    assert_eq!(request_type(&response.body), "DeviceLocation");

    // The tablet's own override forbids it, over alice's.
    let tablet_scope = PrivacyScope::Enrollment(tablet_id.clone());
    let effective = mdmkit_enrollment::set_privacy(
        &f.store,
        "admin",
        Some(&tablet_scope),
        PrivacyChange::new().with_location(false),
    )
    .await
    .unwrap();
    assert_eq!(effective.location.source, PrivacySource::Enrollment);
    let before = f.store.pending_commands(&tablet_id).await.unwrap().len();
    refused(f.portal.locate(&session, tablet_id.as_str()).await);
    assert_eq!(
        f.store.pending_commands(&tablet_id).await.unwrap().len(),
        before,
        "nothing queued"
    );
    assert_eq!(
        locatable(f.portal.devices(&session).await.unwrap()),
        [phone_id.to_string()]
    );
    f.portal.locate(&session, phone_id.as_str()).await.unwrap();

    // The server allows it, alice's override forbids it: refused on the phone, while the
    // tablet's own override (now allowing) wins over alice's.
    mdmkit_enrollment::set_privacy(
        &f.store,
        "admin",
        None,
        PrivacyChange::new().with_location(true),
    )
    .await
    .unwrap();
    mdmkit_enrollment::set_privacy(
        &f.store,
        "admin",
        Some(&user),
        PrivacyChange::new().with_location(false),
    )
    .await
    .unwrap();
    mdmkit_enrollment::set_privacy(
        &f.store,
        "admin",
        Some(&tablet_scope),
        PrivacyChange::new().with_location(true),
    )
    .await
    .unwrap();
    refused(f.portal.locate(&session, phone_id.as_str()).await);
    f.portal.locate(&session, tablet_id.as_str()).await.unwrap();

    // Clearing both overrides falls back to the server (allowing).
    assert!(mdmkit_enrollment::clear_privacy(&f.store, "admin", &user)
        .await
        .unwrap());
    assert!(
        mdmkit_enrollment::clear_privacy(&f.store, "admin", &tablet_scope)
            .await
            .unwrap()
    );
    assert_eq!(
        locatable(f.portal.devices(&session).await.unwrap()),
        [tablet_id.to_string(), phone_id.to_string()]
    );

    // Overrides need an existing user or enrollment; every change is audited.
    let ghost = PrivacyScope::User("ghost".into());
    let error = mdmkit_enrollment::set_privacy(
        &f.store,
        "admin",
        Some(&ghost),
        PrivacyChange::new().with_location(true),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "not_found");
    let mut query = AuditQuery::default();
    query.actor = Some("admin".into());
    let changes = f.store.list_audit_events(&query).await.unwrap();
    assert_eq!(
        changes
            .iter()
            .filter(|e| e.action == "privacy.set" || e.action == "privacy.clear")
            .count(),
        7
    );
    let refusal = f
        .store
        .list_audit_events(&AuditQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "portal.locate" && e.target.as_deref() == Some(phone_id.as_str()))
        .unwrap();
    assert!(refusal
        .detail
        .as_deref()
        .unwrap()
        .contains("location_disabled"));
}

#[tokio::test]
async fn the_web_clip_goes_to_the_users_ios_devices_only() {
    let f = fixture(PortalConfig::default()).await;
    f.user("alice", "pw").await;
    f.user("bob", "pw").await;
    let phone = f.enroll("alice", "UDID-CLIP-PHONE").await;
    let _mac = f
        .enroll_model("alice", "UDID-CLIP-MAC", Some("MacBookPro18,3"))
        .await;
    let _bobs = f.enroll("bob", "UDID-CLIP-BOB").await;
    // The branding logo (a PNG) is the default icon.
    let logo = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-test-logo".to_vec();
    let branding = mdmkit_enrollment::branding::branding(
        "Example Corp",
        Some("#003366"),
        None,
        Some(logo.clone()),
    )
    .unwrap();
    mdmkit_enrollment::set_branding(&f.store, "admin", &branding)
        .await
        .unwrap();
    assert_eq!(
        f.portal.branding().await.unwrap().unwrap().logo.as_deref(),
        Some(logo.as_slice())
    );

    let signer_ca = DeviceCa::generate("Web Clip Signer", 30).unwrap();
    let signer = SigningIdentity::from_bytes(
        &signer_ca.certificate_pem().unwrap(),
        signer_ca.private_key_pem().unwrap().expose(),
        None,
    )
    .unwrap();
    let settings = WebClipSettings::new(
        "com.example.portal.webclip",
        "https://portal.example.com/",
        "Example Portal",
    );
    let report =
        mdmkit_enrollment::push_web_clip(&f.engine, "admin", "alice", &settings, Some(&signer))
            .await
            .unwrap();
    assert!(report.signed);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(
        report
            .queued
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        ["UDID-CLIP-PHONE"]
    );
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].0.as_str(), "UDID-CLIP-MAC");
    assert!(
        report.skipped[0].1.contains("macOS"),
        "{}",
        report.skipped[0].1
    );
    for id in ["UDID-CLIP-MAC", "UDID-CLIP-BOB"] {
        assert!(
            f.store
                .pending_commands(&EnrollmentId::device(id))
                .await
                .unwrap()
                .is_empty(),
            "nothing queued to {id}"
        );
    }

    // The phone fetches a signed InstallProfile with Apple's Web Clip keys.
    let response = f.command(&phone, phone.idle().unwrap()).await;
    let envelope = CommandEnvelope::decode(&response.body).unwrap();
    let mdmkit_core::Command::InstallProfile(install) = envelope.command else {
        panic!("not InstallProfile: {:?}", envelope.command);
    };
    let verified = verify(
        &install.payload,
        Some(&signer_ca.certificate_pem().unwrap()),
    )
    .unwrap();
    let profile = verified.profile;
    assert_eq!(profile.identifier, "com.example.portal.webclip");
    let PayloadContent::WebClipManaged(clip) = &profile.payloads[0].content else {
        panic!("not a Web Clip: {:?}", profile.payloads[0].content);
    };
    assert_eq!(clip.url, "https://portal.example.com/");
    assert_eq!(clip.label, "Example Portal");
    assert_eq!(
        clip.icon.as_ref().map(|d| d.as_bytes()),
        Some(logo.as_slice())
    );
    assert_eq!(clip.is_removable, Some(true));

    // An unknown user is refused; the push is audited.
    let error = mdmkit_enrollment::push_web_clip(&f.engine, "admin", "ghost", &settings, None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "not_found");
    let mut query = AuditQuery::default();
    query.target = Some("alice".into());
    let events = f.store.list_audit_events(&query).await.unwrap();
    let push = events
        .iter()
        .find(|e| e.action == "portal.webclip_push")
        .unwrap();
    let detail = push.detail.as_deref().unwrap();
    assert!(
        detail.contains("UDID-CLIP-PHONE") && detail.contains("UDID-CLIP-MAC"),
        "{detail}"
    );
}
