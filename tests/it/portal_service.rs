//! The service layer's sessions, administrators, portal and users' certificates end to
//! end: what the web pages, the admin API and the bindings call, one function per
//! operation, with every refusal's code.

use std::sync::Arc;
use std::time::Duration;

use mdmkit_certstore::testing::{IdentitySpec, TestIdentity};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{
    now_micros, AuditQuery, MemoryStore, PrivacySettings, PushCertificateRecord, SharedStore,
    TokenKind, TokenRecord,
};
use mdmkit_core::{CommandStatus, EnrollmentId, Secret};
use mdmkit_service::{settings, Mdm, MdmConfig};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use plist::{Dictionary, Value};

const TOPIC: &str = "com.apple.mgmt.External.portal-service-test";

struct Deployment {
    store: SharedStore,
    mdm: Mdm,
    ca: DeviceCa,
}

/// A deployment on a memory store: a device CA, the public URLs, a push certificate
/// record for the topic, a pusher that records.
async fn deployment() -> Deployment {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let push = PushCertificateRecord::new(
        TOPIC,
        vec![1, 2, 3],
        Secret::new(b"key".to_vec()),
        time::OffsetDateTime::now_utc() + time::Duration::days(300),
    );
    store.put_push_certificate(&push).await.unwrap();
    let ca = DeviceCa::new("Portal Service Test CA").unwrap();
    let pem = String::from_utf8(ca.certificate_pem().unwrap()).unwrap();
    let config = MdmConfig::new("memory:")
        .pusher(Arc::new(RecordingPusher::new()))
        .setting(settings::DEVICE_CA_CERTIFICATE, pem)
        .setting(settings::ENROLLMENT_PROFILE_ID, "com.example.portal-test")
        .setting(settings::PORTAL_URL, "https://mdm.example.test/portal")
        .setting(settings::ENROLLMENT_URL, "https://mdm.example.test/enroll");
    let mdm = Mdm::with_store(store.clone(), config).await.unwrap();
    Deployment { store, mdm, ca }
}

impl Deployment {
    /// A portal user with a password, made through an invitation it accepts.
    async fn user(&self, id: &str, password: &str) -> mdmkit_service::SignedIn {
        let invited = self
            .mdm
            .enrollment()
            .invite(id, &format!("{id}@example.test"), Duration::from_secs(3600))
            .await
            .unwrap();
        let token = invited
            .portal_link
            .split("token=")
            .nth(1)
            .unwrap()
            .to_owned();
        let signed_in = self
            .mdm
            .portal()
            .accept_invitation(&token, password)
            .await
            .unwrap();
        assert_eq!(signed_in.user_id, id);
        // The invitation's token is spent.
        assert_eq!(
            self.mdm
                .portal()
                .accept_invitation(&token, password)
                .await
                .unwrap_err()
                .code(),
            "token_invalid"
        );
        signed_in
    }

    /// Enrolls a simulated device (Authenticate, TokenUpdate) owned by `owner`.
    async fn device(&self, udid: &str, owner: &str) -> SimulatedDevice {
        let device = SimulatedDevice::new(udid, TOPIC).with_identity(self.ca.issue(udid).unwrap());
        let engine = self.mdm.engine().unwrap();
        for body in [
            device.authenticate().unwrap(),
            device.token_update(b"push-token", "magic").unwrap(),
        ] {
            let response = engine.handle_checkin(device.request(body).unwrap()).await;
            assert_eq!(response.status, 200, "{:?}", response.error);
        }
        self.store
            .set_owner(&EnrollmentId::device(udid), Some(owner))
            .await
            .unwrap();
        device
    }

    /// The device fetches its next command; returns its body.
    async fn next_command(&self, device: &SimulatedDevice) -> Vec<u8> {
        let engine = self.mdm.engine().unwrap();
        let response = engine
            .handle_command(device.request(device.idle().unwrap()).unwrap())
            .await;
        assert_eq!(response.status, 200, "{:?}", response.error);
        response.body
    }

    /// The device answers `command` with `keys` and `status`.
    async fn answer(
        &self,
        device: &SimulatedDevice,
        command: &[u8],
        status: CommandStatus,
        keys: Dictionary,
    ) {
        let engine = self.mdm.engine().unwrap();
        let body = device.answer(command, status, keys).unwrap();
        let response = engine.handle_command(device.request(body).unwrap()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }

    /// The device reports itself supervised and named (locating needs supervision).
    async fn describe(&self, device: &SimulatedDevice, name: &str) {
        let id = EnrollmentId::device(&device.udid);
        self.mdm
            .engine()
            .unwrap()
            .query_device_information(&id, vec!["IsSupervised".into(), "DeviceName".into()])
            .await
            .unwrap();
        let command = self.next_command(device).await;
        let mut answers = Dictionary::new();
        answers.insert("IsSupervised".into(), Value::Boolean(true));
        answers.insert("DeviceName".into(), Value::String(name.into()));
        let mut keys = Dictionary::new();
        keys.insert("QueryResponses".into(), Value::Dictionary(answers));
        self.answer(device, &command, CommandStatus::Acknowledged, keys)
            .await;
    }

    async fn audit_actions(&self, actor: &str) -> Vec<String> {
        let mut query = AuditQuery::default();
        query.actor = Some(actor.to_owned());
        self.store
            .list_audit_events(&query)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.action)
            .collect()
    }
}

fn code<T: std::fmt::Debug>(result: mdmkit_service::Result<T>) -> &'static str {
    result.unwrap_err().code()
}

#[tokio::test]
async fn administrators_sign_in_and_out_with_store_backed_sessions() {
    let d = deployment().await;
    let admins = d.mdm.admins();
    let root = admins
        .add("Root@Example.test", Some("Root"), "correct horse")
        .await
        .unwrap();
    assert!(root.id.starts_with("adm_") && root.enabled, "{root:?}");
    assert_eq!(
        code(admins.add("root@example.test", None, "other").await),
        "store_conflict"
    );
    assert_eq!(
        code(admins.add("not an address", None, "pw").await),
        "invalid_input"
    );
    assert_eq!(
        code(admins.add("empty@example.test", None, "").await),
        "invalid_input"
    );
    assert_eq!(admins.list().await.unwrap(), vec![root.clone()]);
    // The administrator is not a portal user, and the reverse.
    assert_eq!(
        code(
            d.mdm
                .portal()
                .sign_in("root@example.test", "correct horse")
                .await
        ),
        "sign_in_failed"
    );

    let signed_in = admins
        .sign_in("root@example.test", "correct horse")
        .await
        .unwrap();
    assert!(!format!("{signed_in:?}").contains(&signed_in.token));
    assert_eq!(signed_in.token.len(), 43, "256 bits, base64url");
    assert_eq!(signed_in.user_id, root.id);
    let hours = (signed_in.expires_at - time::OffsetDateTime::now_utc()).whole_hours();
    assert!((11..=12).contains(&hours), "{hours}");
    // Only the hash is stored.
    let stored = d
        .store
        .get_token(&mdmkit_enrollment::token_hash(&signed_in.token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.kind, TokenKind::AdminSession);
    assert!(d.store.get_token(&signed_in.token).await.unwrap().is_none());

    // Another server on the same store accepts the session.
    let other = Mdm::with_store(d.store.clone(), MdmConfig::new("memory:"))
        .await
        .unwrap();
    let session = other.admins().session(&signed_in.token).await.unwrap();
    assert_eq!(session.admin_id, root.id);
    assert_eq!(session.email, "Root@Example.test");
    assert_eq!(session.name.as_deref(), Some("Root"));
    // A portal session check does not accept an administrator's session.
    assert_eq!(
        code(d.mdm.portal().session(&signed_in.token).await),
        "not_signed_in"
    );
    assert_eq!(code(admins.session("made-up").await), "not_signed_in");
    assert_eq!(code(admins.session("").await), "not_signed_in");

    // Signed out: refused everywhere.
    admins.sign_out(&signed_in.token).await.unwrap();
    assert_eq!(
        code(other.admins().session(&signed_in.token).await),
        "not_signed_in"
    );
    admins.sign_out(&signed_in.token).await.unwrap();

    // A password change ends every session; the old password no longer works.
    let first = admins
        .sign_in("root@example.test", "correct horse")
        .await
        .unwrap();
    let second = admins
        .sign_in("root@example.test", "correct horse")
        .await
        .unwrap();
    admins
        .set_password(&root.id, "battery staple")
        .await
        .unwrap();
    for token in [&first.token, &second.token] {
        assert_eq!(code(admins.session(token).await), "not_signed_in");
    }
    assert_eq!(
        code(admins.sign_in("root@example.test", "correct horse").await),
        "sign_in_failed"
    );
    assert_eq!(
        code(admins.set_password("adm_nobody", "x").await),
        "not_found"
    );

    // Disabled: the session ends and sign-in fails like a wrong password.
    let third = admins
        .sign_in("root@example.test", "battery staple")
        .await
        .unwrap();
    admins.set_enabled(&root.id, false).await.unwrap();
    assert_eq!(code(admins.session(&third.token).await), "not_signed_in");
    assert_eq!(
        code(admins.sign_in("root@example.test", "battery staple").await),
        "sign_in_failed"
    );
    admins.set_enabled(&root.id, true).await.unwrap();

    // Deleted: the session ends.
    let fourth = admins
        .sign_in("root@example.test", "battery staple")
        .await
        .unwrap();
    assert!(admins.delete(&root.id).await.unwrap());
    assert!(!admins.delete(&root.id).await.unwrap());
    assert_eq!(code(admins.session(&fourth.token).await), "not_signed_in");
    assert!(admins.list().await.unwrap().is_empty());

    let actions = d.audit_actions("admin").await;
    for action in ["admin.add", "admin.delete", "admin.password_change"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    let actions = d.audit_actions(&root.id).await;
    for action in ["admin.sign_in", "admin.sign_out"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn administrator_sign_in_is_locked_out_apart_from_the_portal() {
    let d = deployment().await;
    let admins = d.mdm.admins();
    admins.add("ops@example.test", None, "right").await.unwrap();
    // A portal user with the same address: its failures do not count for the admin.
    d.user("ops", "portal-pw").await;
    for _ in 0..5 {
        assert_eq!(
            code(d.mdm.portal().sign_in("ops@example.test", "wrong").await),
            "sign_in_failed"
        );
    }
    assert_eq!(
        code(
            d.mdm
                .portal()
                .sign_in("ops@example.test", "portal-pw")
                .await
        ),
        "rate_limited"
    );
    admins.sign_in("ops@example.test", "right").await.unwrap();
    for _ in 0..5 {
        assert_eq!(
            code(admins.sign_in("OPS@example.test", "wrong").await),
            "sign_in_failed"
        );
    }
    assert_eq!(
        code(admins.sign_in("ops@example.test", "right").await),
        "rate_limited"
    );
    assert_eq!(
        code(admins.sign_in("nobody@example.test", "x").await),
        "sign_in_failed"
    );
}

#[tokio::test]
async fn portal_sessions_end_at_expiry_sign_out_password_change_and_disable() {
    let d = deployment().await;
    let portal = d.mdm.portal();
    let first = d.user("alice", "pw").await;
    let session = portal.session(&first.token).await.unwrap();
    assert_eq!(session.user_id(), "alice");
    let account = session.user().await.unwrap();
    assert_eq!(account.email, "alice@example.test");

    assert_eq!(
        code(portal.sign_in("alice@example.test", "wrong").await),
        "sign_in_failed"
    );
    assert_eq!(
        code(portal.sign_in("nobody@example.test", "pw").await),
        "sign_in_failed"
    );
    let second = portal.sign_in("ALICE@example.test", "pw").await.unwrap();
    assert_ne!(first.token, second.token);

    // An expired session is refused (and forgotten).
    let expired = "expired-session-value";
    let mut record = TokenRecord::new(
        mdmkit_enrollment::token_hash(expired),
        TokenKind::Session,
        "alice",
    );
    record.expires_at = Some(now_micros() - time::Duration::seconds(1));
    d.store.put_token(&record).await.unwrap();
    assert_eq!(code(portal.session(expired).await), "not_signed_in");
    assert!(d
        .store
        .get_token(&mdmkit_enrollment::token_hash(expired))
        .await
        .unwrap()
        .is_none());

    // Signed out: refused.
    portal.sign_out(&second.token).await.unwrap();
    assert_eq!(code(portal.session(&second.token).await), "not_signed_in");

    // A password change ends every session of the user and returns a new one.
    let third = portal.sign_in("alice@example.test", "pw").await.unwrap();
    assert_eq!(
        code(session.change_password("wrong", "new pw").await),
        "sign_in_failed"
    );
    let fresh = session.change_password("pw", "new pw").await.unwrap();
    for token in [&first.token, &third.token] {
        assert_eq!(code(portal.session(token).await), "not_signed_in");
    }
    let session = portal.session(&fresh.token).await.unwrap();
    portal
        .sign_in("alice@example.test", "new pw")
        .await
        .unwrap();

    // The account: name and address; another user's address is a conflict.
    d.user("bob", "pw").await;
    assert_eq!(
        code(session.update_account(None, Some("bob@example.test")).await),
        "store_conflict"
    );
    let account = session
        .update_account(Some("Alice A."), Some("alice@new.example"))
        .await
        .unwrap();
    assert_eq!(account.name.as_deref(), Some("Alice A."));
    assert_eq!(account.email, "alice@new.example");

    // A disabled user: the session is refused, and so is every operation.
    let mut user = d.store.get_portal_user("alice").await.unwrap().unwrap();
    user.enabled = false;
    d.store.put_portal_user(&user).await.unwrap();
    assert_eq!(code(portal.session(&fresh.token).await), "not_signed_in");
    assert_eq!(code(session.user().await), "not_signed_in");
    assert_eq!(code(session.devices().await), "not_signed_in");

    // The session_hours setting sets how long a new session lasts; it is checked.
    d.mdm
        .settings()
        .set(settings::SESSION_HOURS, "2")
        .await
        .unwrap();
    let short = portal.sign_in("bob@example.test", "pw").await.unwrap();
    let minutes = (short.expires_at - time::OffsetDateTime::now_utc()).whole_minutes();
    assert!((110..=120).contains(&minutes), "{minutes} minutes");
    for bad in ["0", "8761", "two", "1.5"] {
        assert_eq!(
            code(d.mdm.settings().set(settings::SESSION_HOURS, bad).await),
            "setting_invalid",
            "{bad}"
        );
    }

    // Five failures lock the account, whatever the password.
    for _ in 0..5 {
        let _ = portal.sign_in("bob@example.test", "wrong").await;
    }
    assert_eq!(
        code(portal.sign_in("bob@example.test", "pw").await),
        "rate_limited"
    );
    let actions = d.audit_actions("alice").await;
    assert!(
        actions.iter().any(|a| a == "portal.sign_out"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn the_signed_in_user_acts_on_their_own_devices_only() {
    let d = deployment().await;
    let alice = d.user("alice", "pw").await;
    d.user("bob", "pw").await;
    let device = d.device("UDID-ALICE", "alice").await;
    d.device("UDID-BOB", "bob").await;
    d.describe(&device, "Alice's iPhone").await;
    let session = d.mdm.portal().session(&alice.token).await.unwrap();

    let devices = session.devices().await.unwrap();
    assert_eq!(devices.len(), 1, "{devices:?}");
    let view = &devices[0];
    assert_eq!(view.enrollment_id, "UDID-ALICE");
    assert_eq!(view.name.as_deref(), Some("Alice's iPhone"));
    assert_eq!(view.os_version.as_deref(), Some("17.4"));
    assert!(view.enabled && view.last_seen.is_some(), "{view:?}");
    // Location is off by default: no locate.
    assert!(!view.actions.iter().any(|a| a == "locate"), "{view:?}");
    for action in ["lock", "wipe", "retire", "checkin"] {
        assert!(
            view.actions.iter().any(|a| a == action),
            "{action}: {view:?}"
        );
    }
    assert_eq!(session.device("UDID-ALICE").await.unwrap(), *view);

    // Another user's device is answered like a missing one, and nothing is queued.
    for id in ["UDID-BOB", "UDID-NOBODY"] {
        assert_eq!(code(session.device(id).await), "device_not_found");
        assert_eq!(code(session.lock(id, None, None).await), "device_not_found");
        assert_eq!(code(session.unlock(id).await), "device_not_found");
        assert_eq!(code(session.locate(id).await), "device_not_found");
        assert_eq!(code(session.location(id).await), "device_not_found");
        assert_eq!(code(session.wipe(id).await), "device_not_found");
        assert_eq!(code(session.retire(id).await), "device_not_found");
        assert_eq!(code(session.check_in(id).await), "device_not_found");
        assert_eq!(
            code(session.command_state(id, "any").await),
            "device_not_found"
        );
    }
    assert!(d
        .store
        .pending_commands(&EnrollmentId::device("UDID-BOB"))
        .await
        .unwrap()
        .is_empty());

    // Lock: queued, pushed; its state follows the device.
    let locked = session
        .lock("UDID-ALICE", Some("Call IT"), Some("+1 555 0100"))
        .await
        .unwrap();
    assert!(locked.pushed, "{locked:?}");
    let uuid = locked.command_uuid.clone().unwrap();
    assert_eq!(
        session.command_state("UDID-ALICE", &uuid).await.unwrap(),
        "queued"
    );
    let command = d.next_command(&device).await;
    assert_eq!(
        session.command_state("UDID-ALICE", &uuid).await.unwrap(),
        "pushed"
    );
    d.answer(&device, &command, CommandStatus::NotNow, Dictionary::new())
        .await;
    assert_eq!(
        session.command_state("UDID-ALICE", &uuid).await.unwrap(),
        "not_now"
    );
    let command = d.next_command(&device).await;
    d.answer(
        &device,
        &command,
        CommandStatus::Acknowledged,
        Dictionary::new(),
    )
    .await;
    assert_eq!(
        session.command_state("UDID-ALICE", &uuid).await.unwrap(),
        "acknowledged"
    );
    assert_eq!(
        code(session.command_state("UDID-ALICE", "no-such-command").await),
        "not_found"
    );
    // A check-in is a push only.
    let checked = session.check_in("UDID-ALICE").await.unwrap();
    assert!(
        checked.pushed && checked.command_uuid.is_none(),
        "{checked:?}"
    );
    // Unlock: ClearPasscode with the UnlockToken of the device's TokenUpdate.
    let unlocked = session.unlock("UDID-ALICE").await.unwrap();
    let command = d.next_command(&device).await;
    d.answer(&device, &command, CommandStatus::Error, Dictionary::new())
        .await;
    assert_eq!(
        session
            .command_state("UDID-ALICE", unlocked.command_uuid.as_deref().unwrap())
            .await
            .unwrap(),
        "error"
    );

    // Locating: refused by privacy (nothing queued), then allowed.
    assert_eq!(
        code(session.locate("UDID-ALICE").await),
        "location_disabled"
    );
    assert_eq!(
        code(session.location("UDID-ALICE").await),
        "location_disabled"
    );
    assert!(d
        .store
        .pending_commands(&EnrollmentId::device("UDID-ALICE"))
        .await
        .unwrap()
        .is_empty());
    let mut privacy = PrivacySettings::default();
    privacy.allow_location = true;
    d.store.put_privacy_settings(&privacy).await.unwrap();
    let view = session.device("UDID-ALICE").await.unwrap();
    assert!(view.actions.iter().any(|a| a == "locate"), "{view:?}");
    assert_eq!(session.location("UDID-ALICE").await.unwrap(), None);
    let located = session.locate("UDID-ALICE").await.unwrap();
    let command = d.next_command(&device).await;
    let mut keys = Dictionary::new();
    keys.insert("Latitude".into(), Value::Real(52.52));
    keys.insert("Longitude".into(), Value::Real(13.405));
    keys.insert("HorizontalAccuracy".into(), Value::Real(25.0));
    d.answer(&device, &command, CommandStatus::Acknowledged, keys)
        .await;
    assert_eq!(
        session
            .command_state("UDID-ALICE", located.command_uuid.as_deref().unwrap())
            .await
            .unwrap(),
        "acknowledged"
    );
    let location = session.location("UDID-ALICE").await.unwrap().unwrap();
    assert_eq!(location.latitude, 52.52);
    assert_eq!(location.longitude, 13.405);
    assert_eq!(location.horizontal_accuracy, Some(25.0));

    // A registration link for another device, and its QR code.
    let link = session.registration_link().await.unwrap();
    assert!(
        link.url
            .starts_with("https://mdm.example.test/enroll?token="),
        "{}",
        link.url
    );
    assert_eq!(link.user_id, "alice");
    let svg = mdmkit_service::registration_qr_svg(&link.url).unwrap();
    assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    assert_eq!(
        mdmkit_service::registration_qr_svg("").unwrap_err().code(),
        "invalid_input"
    );
    assert_eq!(
        mdmkit_service::registration_qr_svg(&"x".repeat(5000))
            .unwrap_err()
            .code(),
        "invalid_input"
    );

    // Branding: none, then the administrator's.
    assert!(session.branding().await.unwrap().is_none());
    let mut branding = mdmkit_core::store::Branding::new("Example Corp");
    branding.primary_colour = Some("#112233".into());
    mdmkit_enrollment::set_branding(&d.store, "admin", &branding)
        .await
        .unwrap();
    let branding = d.mdm.portal().branding().await.unwrap().unwrap();
    assert_eq!(branding.name, "Example Corp");
    assert_eq!(branding.primary_colour.as_deref(), Some("#112233"));

    // Wipe and retire are queued for the user's own device.
    assert!(session
        .wipe("UDID-ALICE")
        .await
        .unwrap()
        .command_uuid
        .is_some());
    assert!(session
        .retire("UDID-ALICE")
        .await
        .unwrap()
        .command_uuid
        .is_some());
    let actions = d.audit_actions("alice").await;
    for action in [
        "portal.lock",
        "portal.locate",
        "portal.wipe",
        "portal.retire",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn users_upload_and_manage_their_own_certificates() {
    let d = deployment().await;
    let alice = d.user("alice", "pw").await;
    d.user("bob", "pw").await;
    let certs = d.mdm.user_certs();
    let kind = certs.add_kind("Signing", "signing").await.unwrap();
    assert_eq!(kind.id, "signing");
    assert_eq!(kind.usage, "signing");
    assert_eq!(
        code(certs.add_kind("Signing", "signing").await),
        "kind_exists"
    );
    assert_eq!(
        code(certs.add_kind("Other", "smuggling").await),
        "invalid_input"
    );

    let session = d.mdm.portal().session(&alice.token).await.unwrap();
    let own = session.certificates();
    assert_eq!(own.kinds().await.unwrap(), vec![kind.clone()]);
    assert!(own.list().await.unwrap().is_empty());

    let identity = TestIdentity::for_email("alice@example.test");
    let added = own
        .add(
            "Signing",
            identity.pkcs12_modern("secret"),
            "secret",
            Some("Mail"),
        )
        .await
        .unwrap();
    assert_eq!(added.name, "Mail");
    assert_eq!(added.kind, "signing");
    assert_eq!(added.owner, "alice");
    assert!(added.has_private_key);
    assert!(added.subject.contains("alice@example.test"), "{added:?}");
    assert_eq!(own.list().await.unwrap(), vec![added.clone()]);

    // Every refusal has its own code, and stores nothing.
    let expired = TestIdentity::new(&IdentitySpec::new("alice@example.test").valid_days(-30, -1));
    for (file, password, expected) in [
        (b"not a pkcs12 file".to_vec(), "secret", "p12_not_pkcs12"),
        (
            identity.pkcs12_modern("secret"),
            "wrong",
            "p12_bad_password",
        ),
        (
            expired.pkcs12_modern("secret"),
            "secret",
            "certificate_expired",
        ),
        (
            identity.pkcs12_cert_only("secret"),
            "secret",
            "p12_no_private_key",
        ),
        (vec![0x30; 300 * 1024], "secret", "p12_too_large"),
    ] {
        assert_eq!(
            code(own.add("signing", file, password, None).await),
            expected
        );
    }
    assert_eq!(
        code(
            own.add("no-such-kind", identity.pkcs12_modern("s"), "s", None)
                .await
        ),
        "unknown_kind"
    );
    assert_eq!(own.list().await.unwrap().len(), 1);

    // Rename, clear the key, delete; another user sees none of it.
    let renamed = own.edit(&added.id, "Work mail").await.unwrap();
    assert_eq!(renamed.name, "Work mail");
    let bob = d
        .mdm
        .portal()
        .sign_in("bob@example.test", "pw")
        .await
        .unwrap();
    let bob = d.mdm.portal().session(&bob.token).await.unwrap();
    let bobs = bob.certificates();
    assert!(bobs.list().await.unwrap().is_empty());
    assert_eq!(
        code(bobs.edit(&added.id, "mine").await),
        "unknown_certificate"
    );
    assert_eq!(
        code(bobs.clear_private_key(&added.id).await),
        "unknown_certificate"
    );
    assert!(!bobs.delete(&added.id).await.unwrap());
    // The administrator's view.
    assert_eq!(certs.list("alice").await.unwrap().len(), 1);
    assert_eq!(certs.get(&added.id).await.unwrap().name, "Work mail");

    let cleared = own.clear_private_key(&added.id).await.unwrap();
    assert!(!cleared.has_private_key);
    assert!(own.delete(&added.id).await.unwrap());
    assert!(!own.delete(&added.id).await.unwrap());
    assert!(own.list().await.unwrap().is_empty());

    // The administrator uploads for a user.
    let for_bob = certs
        .add(
            "bob",
            "signing",
            TestIdentity::for_email("bob@example.test").pkcs12_modern("pw"),
            "pw",
            None,
        )
        .await
        .unwrap();
    assert_eq!(bobs.list().await.unwrap(), vec![for_bob.clone()]);
    assert_eq!(certs.edit(&for_bob.id, "Bob").await.unwrap().name, "Bob");
    assert!(
        !certs
            .clear_private_key(&for_bob.id)
            .await
            .unwrap()
            .has_private_key
    );
    assert!(certs.delete(&for_bob.id).await.unwrap());
    assert!(!certs.delete(&for_bob.id).await.unwrap());
    let actions = d.audit_actions("alice").await;
    assert!(
        actions.iter().any(|a| a == "portal.certificate_add"),
        "{actions:?}"
    );
}

/// A configuration with an S/MIME signing identity of `kind`, assigned to `user`.
async fn mail_configuration(store: &SharedStore, kind: &str, user: &str) {
    use mdmkit_core::profile::payloads::{
        MailManaged, MailManagedEmailAccountType, MailManagedIncomingMailServerAuthentication,
        MailManagedOutgoingMailServerAuthentication, SecurityPkcs12,
    };
    use mdmkit_core::profile::{Payload, Profile};
    use mdmkit_core::store::{Assignment, AssignmentTarget, ConfigurationRecord};
    const SIGNING_UUID: &str = "2F0C3C39-9A53-4B8E-8E7A-0D5E4C1B0002";
    let mail = MailManaged::new(
        MailManagedEmailAccountType::EmailTypeIMAP,
        MailManagedIncomingMailServerAuthentication::EmailAuthPassword,
        "imap.example.test",
        MailManagedOutgoingMailServerAuthentication::EmailAuthPassword,
        "smtp.example.test",
    )
    .with_smime_signing_enabled(true)
    .with_smime_signing_certificate_uuid(SIGNING_UUID);
    let profile = Profile::new("com.example.mail")
        .with_payload(Payload::new("com.example.mail.account", mail))
        .with_payload(
            Payload::new(
                "com.example.mail.signing",
                SecurityPkcs12::new(mdmkit_core::Data::default()),
            )
            .with_uuid(SIGNING_UUID),
        )
        .to_xml()
        .unwrap();
    let mut config = ConfigurationRecord::new("mail", "Mail", profile);
    config.certificate_kinds = vec![kind.into()];
    store.put_configuration(&config).await.unwrap();
    store
        .assign_configuration(&Assignment::new(
            "mail",
            AssignmentTarget::User(user.into()),
        ))
        .await
        .unwrap();
}

/// What the CLI's `certs import/edit/export`, `portal as`, `portal webclip` and `portal
/// branding` call: one service function each, audited with the handle's actor.
#[tokio::test]
async fn administrators_import_with_the_repush_report_change_export_and_push_web_clips() {
    let d = deployment().await;
    d.user("alice", "pw").await;
    d.device("UDID-CERTS-1", "alice").await;
    mail_configuration(&d.store, "signing", "alice").await;
    let admin = d.mdm.acting_as("adm_0123456789abcdef");
    let certs = admin.user_certs();
    certs.add_kind("Signing", "signing").await.unwrap();
    certs.add_kind("Encryption", "encryption").await.unwrap();

    // The upload re-installs the configuration on alice's device, queued and pushed.
    let identity = TestIdentity::for_email("alice@example.test");
    let report = certs
        .import(
            "alice",
            "signing",
            identity.pkcs12_modern("pw"),
            Some("pw"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(report.certificate.owner, "alice");
    assert_eq!(report.not_repushed, 0);
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.repushed.len(), 1, "{report:?}");
    let entry = &report.repushed[0];
    assert_eq!(entry.configuration_id, "mail");
    assert_eq!(entry.enrollment_id, "UDID-CERTS-1");
    assert!(entry.outcome.pushed, "{entry:?}");
    let queue = d.mdm.devices().queue("UDID-CERTS-1").await.unwrap();
    assert_eq!(
        Some(queue[0].command_uuid.as_str()),
        entry.outcome.command_uuid.as_deref()
    );
    assert_eq!(queue[0].request_type, "InstallProfile");
    // No password is not an empty one.
    assert_eq!(
        code(
            certs
                .import("alice", "signing", identity.pkcs12_modern("pw"), None, None)
                .await
        ),
        "p12_password_required"
    );

    // Without a device CA nothing is re-pushed, and the report counts what was not.
    let bare = Mdm::with_store(
        d.store.clone(),
        MdmConfig::new("memory:").pusher(Arc::new(RecordingPusher::new())),
    )
    .await
    .unwrap();
    let unpushed = bare
        .user_certs()
        .import(
            "alice",
            "signing",
            TestIdentity::for_email("alice@example.test").pkcs12_modern("pw"),
            Some("pw"),
            None,
        )
        .await
        .unwrap();
    assert!(unpushed.repushed.is_empty());
    assert_eq!(unpushed.not_repushed, 1);

    // Change of kind and name; nothing to change is refused.
    let id = report.certificate.id.clone();
    let changed = certs
        .change(&id, Some("Work"), Some("Encryption"))
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.kind.as_str()),
        ("Work", "encryption")
    );
    assert_eq!(code(certs.change(&id, None, None).await), "invalid_input");
    assert_eq!(
        code(certs.change(&id, None, Some("nope")).await),
        "unknown_kind"
    );

    // Export: as stored, or under a new password (which then opens it).
    let stored = certs.export(&id, None).await.unwrap();
    assert!(!stored.expose().is_empty());
    let resealed = certs.export(&id, Some("new password")).await.unwrap();
    certs
        .import(
            "alice",
            "signing",
            resealed.expose().to_vec(),
            Some("new password"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        code(certs.export("missing", None).await),
        "unknown_certificate"
    );

    // The portal as alice: the lock is queued and pushed.
    let portal = admin.portal();
    let session = portal.act_as("alice").await.unwrap();
    let lock = session
        .lock("UDID-CERTS-1", Some("lost"), None)
        .await
        .unwrap();
    assert!(lock.pushed, "{lock:?}");
    assert_eq!(code(portal.act_as("ghost").await), "not_found");

    // The Web Clip goes to the stored portal URL, labelled with the branding's name.
    let branding = admin
        .set_branding("Example Portal", Some("#112233"), None, None)
        .await
        .unwrap();
    assert_eq!(branding.name, "Example Portal");
    assert_eq!(branding.primary_colour.as_deref(), Some("#112233"));
    assert_eq!(
        code(admin.set_branding("", None, None, None).await),
        "invalid_input"
    );
    let clip = mdmkit_service::WebClipInput::new("com.example.webclip");
    let pushed = portal.push_web_clip("alice", &clip).await.unwrap();
    assert!(!pushed.signed);
    assert_eq!(pushed.queued.len(), 1, "{pushed:?}");
    assert_eq!(pushed.queued[0].0, "UDID-CERTS-1");
    assert!(pushed.queued[0].1.pushed);
    assert_eq!(
        code(portal.push_web_clip("ghost", &clip).await),
        "not_found"
    );

    // Every change names the administrator.
    let actions = d.audit_actions("adm_0123456789abcdef").await;
    for action in [
        "certificate.kind_add",
        "certificate.add",
        "certificate.edit",
        "certificate.export",
        "portal.webclip_push",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// `mdmkit enroll profile`: a profile made at once, with the flags overriding the stored
/// settings.
#[tokio::test]
async fn a_profile_is_issued_with_overrides_of_the_stored_settings() {
    use mdmkit_service::ProfileRequest;
    let d = deployment().await;
    d.user("alice", "pw").await;
    let enrollment = d.mdm.enrollment();
    // The stored settings have the CA's certificate but not its key (or a ServerURL).
    let mut request = ProfileRequest::default();
    assert_eq!(
        code(enrollment.issue_profile("alice", &request).await),
        "setting_missing"
    );
    let ca = mdmkit_enrollment::DeviceCa::generate("Issue Test CA", 30).unwrap();
    request.device_ca = Some((
        ca.certificate_pem().unwrap(),
        ca.private_key_pem().unwrap().expose().to_vec(),
    ));
    request.server_url = Some("https://mdm.example.test/mdm".into());
    // The stored push certificate is a placeholder here: the topic is given.
    request.topic = Some(TOPIC.into());
    let profile = enrollment.issue_profile("alice", &request).await.unwrap();
    assert!(profile.signed);
    assert_eq!(profile.user_id, "alice");
    assert_eq!(profile.identity_sha256.as_deref().map(str::len), Some(64));
    let verified =
        mdmkit_core::profile::verify(&profile.profile, Some(&ca.certificate_pem().unwrap()))
            .unwrap();
    assert!(verified.profile.payloads.iter().any(|p| matches!(
        &p.content,
        mdmkit_core::profile::PayloadContent::Mdm(m)
            if m.topic == TOPIC && m.server_url == "https://mdm.example.test/mdm"
    )));
    request.unsigned = true;
    let unsigned = enrollment.issue_profile("alice", &request).await.unwrap();
    assert!(!unsigned.signed);
    assert_eq!(
        code(enrollment.issue_profile("ghost", &request).await),
        "not_found"
    );
}

/// `mdmkit push-cert notify`: its flags override the stored SMTP settings for one sending.
#[tokio::test]
async fn expiry_notices_take_overrides_of_the_stored_settings() {
    use mdmkit_apns::testing::{SmtpReceiver, SmtpSecurity};
    use mdmkit_service::{NoticeOptions, OtherCredentials};
    let d = deployment().await;
    let soon = PushCertificateRecord::new(
        "com.apple.mgmt.External.expiring",
        vec![4, 5, 6],
        Secret::new(b"key".to_vec()),
        time::OffsetDateTime::now_utc() + time::Duration::days(10),
    );
    d.store.put_push_certificate(&soon).await.unwrap();
    let expiry = d.mdm.expiry();
    let others = OtherCredentials::default();
    // Nothing stored, nothing given.
    assert_eq!(
        code(
            expiry
                .send_due_notices_with(&others, &NoticeOptions::default())
                .await
        ),
        "setting_missing"
    );
    let server = SmtpReceiver::start(SmtpSecurity::Plain);
    let mut options = NoticeOptions::default();
    options.smtp_url = Some(format!("smtp://127.0.0.1:{}", server.port()));
    options.smtp_from = Some("mdm@example.test".into());
    options.recipients = vec!["ops@example.test".into()];
    options.organisation = Some("Example Org".into());
    let sent = expiry
        .send_due_notices_with(&others, &options)
        .await
        .unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].key.contains("com.apple.mgmt.External.expiring"),
        "{sent:?}"
    );
    assert!(expiry
        .send_due_notices_with(&others, &options)
        .await
        .unwrap()
        .is_empty());
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, vec!["ops@example.test"]);
    assert!(received[0].decoded().contains("Example Org"));
    options.smtp_url = Some("http://x".into());
    assert_eq!(
        code(expiry.send_due_notices_with(&others, &options).await),
        "smtp_url"
    );
}
