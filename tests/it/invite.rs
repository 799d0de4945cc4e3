//! Invitations end to end: an invited user's device enrolls with the registration link
//! from the e-mail, the user sets a password with the portal link, signs in and locks the
//! device, which receives and acknowledges the DeviceLock. Expired, reused and revoked
//! links are refused; a failed send leaves nothing usable.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mdmkit_core::engine::LockOptions;
use mdmkit_core::notify::{EmailMessage, Notifier};
use mdmkit_core::profile::{verify, PayloadContent};
use mdmkit_core::store::AuditQuery;
use mdmkit_core::{CommandStatus, EnrollmentId};
use mdmkit_enrollment::{
    DeviceCa, Enroller, EnrollmentLinks, EnrollmentProfileSettings, Error, InvitationTemplate,
    Invitations, PortalConfig, ScepSettings,
};
use plist::Dictionary;

use crate::enrollment::{fixture, request_type, Fixture, PROFILE_ID, TOPIC};

const PORTAL: &str = "https://portal.example.com/accept";
const REGISTRATION: &str = "https://mdm.example.com/enroll";

/// Keeps every message instead of sending it.
#[derive(Default)]
struct RecordingNotifier {
    sent: Mutex<Vec<EmailMessage>>,
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, message: EmailMessage) -> Result<(), mdmkit_core::Error> {
        self.sent.lock().unwrap().push(message);
        Ok(())
    }
}

impl RecordingNotifier {
    fn last(&self) -> EmailMessage {
        self.sent.lock().unwrap().last().cloned().unwrap()
    }
}

/// A mail server that is down.
struct FailingNotifier;

#[async_trait]
impl Notifier for FailingNotifier {
    async fn send(&self, _message: EmailMessage) -> Result<(), mdmkit_core::Error> {
        Err(mdmkit_core::Error::Notify("connection refused".into()))
    }
}

fn links() -> EnrollmentLinks {
    EnrollmentLinks::new(PORTAL, REGISTRATION).unwrap()
}

fn invitations(f: &Fixture, notifier: Arc<dyn Notifier>) -> Invitations {
    Invitations::new(f.store.clone(), notifier, links())
}

/// The token value of the first link starting with `base` in `text`.
fn token_in(text: &str, base: &str) -> String {
    let prefix = format!("{base}?token=");
    let start = text
        .find(&prefix)
        .unwrap_or_else(|| panic!("{prefix} in {text}"))
        + prefix.len();
    text[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn invited_user_enrolls_sets_a_password_signs_in_and_locks_the_device() {
    let f = fixture(PortalConfig::default()).await;
    let notifier = Arc::new(RecordingNotifier::default());
    let invitations = invitations(&f, notifier.clone());
    let sent = invitations
        .invite("carol", "carol@example.com", Duration::from_secs(3600))
        .await
        .unwrap();
    // The user did not exist: the invitation made them, without a password.
    let user = f.store.get_portal_user("carol").await.unwrap().unwrap();
    assert_eq!(user.email, "carol@example.com");
    assert!(user.password_hash.is_none());

    let message = notifier.last();
    assert_eq!(message.to, vec!["carol@example.com".to_string()]);
    let registration = token_in(&message.text_body, REGISTRATION);
    let portal = token_in(&message.text_body, PORTAL);
    assert_eq!(
        sent.registration_link.expose_str().unwrap(),
        format!("{REGISTRATION}?token={registration}")
    );
    assert_eq!(
        sent.portal_link.expose_str().unwrap(),
        format!("{PORTAL}?token={portal}")
    );
    assert!(!format!("{sent:?}").contains(&registration));
    // Only hashes are stored: no token value appears among the stored keys.
    for token in f.store.list_tokens("carol").await.unwrap() {
        assert_ne!(token.token_hash, registration);
        assert_ne!(token.token_hash, portal);
    }

    let device = f.enroll_with(&registration, "carol", "UDID-CAROL-1").await;
    let id = EnrollmentId::device("UDID-CAROL-1");
    let record = f.store.get_enrollment(&id).await.unwrap().unwrap();
    assert_eq!(record.owner.as_deref(), Some("carol"));

    assert!(matches!(
        f.portal.sign_in("carol@example.com", "first pw").await,
        Err(Error::SignInFailed)
    ));
    assert_eq!(
        invitations.accept(&portal, "first pw").await.unwrap(),
        "carol"
    );
    let session = f
        .portal
        .sign_in("carol@example.com", "first pw")
        .await
        .unwrap();
    let devices = f.portal.devices(&session).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].enrollment_id, id);

    let queued = f
        .portal
        .lock(&session, id.as_str(), LockOptions::default())
        .await
        .unwrap();
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

    // Both links worked once; a second use is refused.
    assert!(matches!(
        f.enroller.enroll(&registration).await,
        Err(Error::TokenInvalid)
    ));
    assert!(matches!(
        invitations.accept(&portal, "another pw").await,
        Err(Error::TokenInvalid)
    ));
    f.portal
        .sign_in("carol@example.com", "first pw")
        .await
        .unwrap();

    let listed = invitations.list(Some("carol")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, sent.invitation.id);
    assert!(listed[0].accepted_at.is_some());
    assert!(listed[0].registered_at.is_some());
    assert_eq!(invitations.list(None).await.unwrap(), listed);

    let audit = f
        .store
        .list_audit_events(&AuditQuery::default())
        .await
        .unwrap();
    for action in ["invitation.create", "invitation.accept"] {
        let event = audit.iter().find(|e| e.action == action).unwrap();
        assert_eq!(event.target.as_deref(), Some(sent.invitation.id.as_str()));
        assert!(event.detail.as_deref().unwrap().contains("\"ok\""));
    }
    let text = format!("{audit:?}");
    assert!(!text.contains(&registration) && !text.contains(&portal));
}

#[tokio::test]
async fn expired_and_revoked_invitations_are_refused() {
    let f = fixture(PortalConfig::default()).await;
    let notifier = Arc::new(RecordingNotifier::default());
    let invitations = invitations(&f, notifier.clone());

    let expiring = invitations
        .invite("dave", "dave@example.com", Duration::from_secs(3600))
        .await
        .unwrap();
    let message = notifier.last();
    // Move both tokens' expiry into the past, as time would.
    for mut token in f.store.list_tokens("dave").await.unwrap() {
        token.expires_at = Some(time::OffsetDateTime::now_utc() - time::Duration::minutes(1));
        f.store.delete_token(&token.token_hash).await.unwrap();
        f.store.put_token(&token).await.unwrap();
    }
    assert!(matches!(
        f.enroller
            .enroll(&token_in(&message.text_body, REGISTRATION))
            .await,
        Err(Error::TokenInvalid)
    ));
    assert!(matches!(
        invitations
            .accept(&token_in(&message.text_body, PORTAL), "pw")
            .await,
        Err(Error::TokenInvalid)
    ));
    let listed = invitations.list(Some("dave")).await.unwrap();
    assert!(listed[0].is_expired(time::OffsetDateTime::now_utc()));
    assert_eq!(listed[0].id, expiring.invitation.id);

    let revoked = invitations
        .invite("dave", "Dave@Example.com", Duration::from_secs(3600))
        .await
        .unwrap();
    let message = notifier.last();
    assert!(invitations.revoke(&revoked.invitation.id).await.unwrap());
    assert!(matches!(
        f.enroller
            .enroll(&token_in(&message.text_body, REGISTRATION))
            .await,
        Err(Error::TokenInvalid)
    ));
    assert!(matches!(
        invitations
            .accept(&token_in(&message.text_body, PORTAL), "pw")
            .await,
        Err(Error::TokenInvalid)
    ));
    assert!(!invitations.revoke(&revoked.invitation.id).await.unwrap());
    // Only the expired invitation is left, with its own registration token.
    let listed = invitations.list(Some("dave")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, expiring.invitation.id);
    let mut kinds: Vec<&str> = f
        .store
        .list_tokens("dave")
        .await
        .unwrap()
        .iter()
        .map(|t| t.kind.as_str())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, vec!["enrollment", "invitation"]);
    let audit = f
        .store
        .list_audit_events(&AuditQuery::default())
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "invitation.revoke"
        && e.target.as_deref() == Some(revoked.invitation.id.as_str())));

    // An empty password does not spend a good invitation.
    let good = invitations
        .invite("dave", "dave@example.com", Duration::from_secs(3600))
        .await
        .unwrap();
    let portal = token_in(&notifier.last().text_body, PORTAL);
    assert!(matches!(
        invitations.accept(&portal, "").await,
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(invitations.accept(&portal, "pw").await.unwrap(), "dave");
    assert!(invitations.revoke(&good.invitation.id).await.unwrap());
}

#[tokio::test]
async fn bad_addresses_and_failed_sends_leave_nothing_usable() {
    let f = fixture(PortalConfig::default()).await;
    let notifier = Arc::new(RecordingNotifier::default());
    let invitations = invitations(&f, notifier.clone());
    for email in ["erin", "erin@", "erin@example.com\nBcc: x@example.com"] {
        let error = invitations
            .invite("erin", email, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_input", "{email:?}");
    }
    assert!(f.store.get_portal_user("erin").await.unwrap().is_none());
    f.portal
        .add_user("frank", "frank@example.com", None)
        .await
        .unwrap();
    let error = invitations
        .invite("frank", "someone-else@example.com", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_input");
    assert!(notifier.sent.lock().unwrap().is_empty());

    let failing = Invitations::new(f.store.clone(), Arc::new(FailingNotifier), links());
    let error = failing
        .invite("frank", "frank@example.com", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "notify_failed");
    assert!(f.store.list_tokens("frank").await.unwrap().is_empty());
    assert!(failing.list(Some("frank")).await.unwrap().is_empty());
    let audit = f
        .store
        .list_audit_events(&AuditQuery::default())
        .await
        .unwrap();
    let event = audit
        .iter()
        .find(|e| e.action == "invitation.create")
        .unwrap();
    assert!(event.detail.as_deref().unwrap().contains("notify_failed"));

    // The application's own template is used.
    let custom = invitations.clone().with_template(
        InvitationTemplate::new("Welcome {name}", "Register: {registration_link}").unwrap(),
    );
    custom
        .invite("frank", "frank@example.com", Duration::from_secs(60))
        .await
        .unwrap();
    let message = notifier.last();
    assert_eq!(message.subject, "Welcome frank");
    assert!(message
        .text_body
        .starts_with(&format!("Register: {REGISTRATION}?token=")));
}

#[tokio::test]
async fn the_portal_makes_a_registration_link_for_another_device() {
    let f = fixture(PortalConfig::default()).await;
    f.portal
        .add_user("gina", "gina@example.com", None)
        .await
        .unwrap();
    f.portal.set_password("gina", "pw").await.unwrap();
    let session = f.portal.sign_in("gina@example.com", "pw").await.unwrap();
    let link = f
        .portal
        .registration_link(&session, &links(), Duration::from_secs(600))
        .await
        .unwrap();
    let token = token_in(link.expose_str().unwrap(), REGISTRATION);
    f.enroll_with(&token, "gina", "UDID-GINA-2").await;
    let devices = f.portal.devices(&session).await.unwrap();
    assert_eq!(devices[0].enrollment_id.as_str(), "UDID-GINA-2");
    assert!(matches!(
        f.enroller.enroll(&token).await,
        Err(Error::TokenInvalid)
    ));
    assert!(matches!(
        f.portal
            .registration_link(&session, &links(), Duration::ZERO)
            .await,
        Err(Error::InvalidInput(_))
    ));
    let audit = f
        .store
        .list_audit_events(&AuditQuery::default())
        .await
        .unwrap();
    let event = audit
        .iter()
        .find(|e| e.action == "portal.registration_link")
        .unwrap();
    assert_eq!(event.actor, "gina");
}

#[tokio::test]
async fn a_scep_enrollment_profile_has_no_pkcs12_and_spends_the_token() {
    let f = fixture(PortalConfig::default()).await;
    f.portal
        .add_user("hank", "hank@example.com", None)
        .await
        .unwrap();
    let external = DeviceCa::generate("External SCEP CA", 30).unwrap();
    let scep = ScepSettings::new(
        "https://scep.example.com/scep",
        vec![("CN".into(), "hank".into())],
        external.certificate_der().unwrap(),
    );
    let settings = EnrollmentProfileSettings::new(PROFILE_ID, "https://mdm.example.com/mdm", TOPIC)
        .with_scep(scep);
    let enroller = Enroller::scep(f.store.clone(), settings, f.signer.clone()).unwrap();
    let token = enroller
        .create_token("hank", Duration::from_secs(60))
        .await
        .unwrap();
    let value = token.value.expose_str().unwrap();
    let signed = enroller.enroll(value).await.unwrap();
    assert_eq!(signed.user_id, "hank");
    assert_eq!(signed.identity_sha256, None);
    let profile = verify(&signed.profile, None).unwrap().profile;
    let types: Vec<&str> = profile
        .payloads
        .iter()
        .map(|p| p.content.payload_type())
        .collect();
    assert_eq!(
        types,
        vec![
            "com.apple.mdm",
            "com.apple.security.scep",
            "com.apple.security.root"
        ]
    );
    assert!(!profile
        .payloads
        .iter()
        .any(|p| matches!(p.content, PayloadContent::SecurityPkcs12(_))));
    assert!(matches!(
        enroller.enroll(value).await,
        Err(Error::TokenInvalid)
    ));
    // Built-in settings cannot make a CA-less enroller.
    let built_in = EnrollmentProfileSettings::new(PROFILE_ID, "https://mdm.example.com/mdm", TOPIC);
    assert!(Enroller::scep(f.store.clone(), built_in, f.signer.clone()).is_err());
}
