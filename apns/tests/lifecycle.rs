//! The push certificate lifecycle over the memory store, end to end through the public API.

use std::sync::Arc;

use mdmkit_apns::lifecycle::{PushCertLifecycle, NOTICE_AUDIT_ACTION};
use mdmkit_apns::monitor::{Credential, CredentialKind, ExpiryMonitor};
use mdmkit_apns::testing::{SmtpReceiver, SmtpSecurity, TestCa};
use mdmkit_apns::{
    CertificateRequest, CsrSubject, ExpiryStatus, FollowUp, InstallAction, InstallRequest,
    PrivateKey, PushCertUpload, PushCertificate, SmtpNotifier, VendorFiles, VendorSigner,
};
use mdmkit_core::store::{
    EnrollmentRecord, MemoryStore, PushCertificateAction, PushInfo, SharedStore,
};
use mdmkit_core::EnrollmentId;
use time::{Duration, OffsetDateTime};

const T1: &str = "com.apple.mgmt.External.11111111-1111-1111-1111-111111111111";
const T2: &str = "com.apple.mgmt.External.22222222-2222-2222-2222-222222222222";

struct Setup {
    store: SharedStore,
    lifecycle: PushCertLifecycle,
    apple: TestCa,
}

fn setup() -> Setup {
    let store: SharedStore = Arc::new(MemoryStore::new());
    Setup {
        lifecycle: PushCertLifecycle::new(store.clone()),
        store,
        apple: TestCa::new("Test Apple Application Integration CA"),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn subject() -> CsrSubject {
    CsrSubject::new("admin@example.com").organization("Example Inc.")
}

impl Setup {
    /// Steps 1 and 2: a request made here, and Apple's certificate for it.
    async fn apple_certificate(&self, topic: &str, not_after: OffsetDateTime) -> PushCertificate {
        let request = self.lifecycle.create_request(&subject()).await.unwrap();
        let der = self
            .apple
            .issue_push_cert_for_request(topic, &request, not_after);
        PushCertificate::parse(&der, None).unwrap()
    }

    async fn install(&self, topic: &str, note: &str) -> mdmkit_apns::InstallOutcome {
        let certificate = self
            .apple_certificate(topic, now() + Duration::days(365))
            .await;
        let request = InstallRequest::new(certificate, "mdm@example.com").note(note);
        self.lifecycle.install(request, now()).await.unwrap()
    }
}

#[tokio::test]
async fn install_uses_the_pending_key_and_removes_it() {
    let s = setup();
    let outcome = s.install(T1, "obtained 2026-11-21").await;
    assert_eq!(outcome.action, InstallAction::Installed);
    assert_eq!(outcome.topic, T1);
    assert!(outcome.follow_up.is_none());
    assert!(s.store.list_pending_csr_keys().await.unwrap().is_empty());

    let status = s.lifecycle.status(now()).await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].topic, T1);
    assert_eq!(status[0].apple_id.as_deref(), Some("mdm@example.com"));
    assert_eq!(status[0].note.as_deref(), Some("obtained 2026-11-21"));
    assert_eq!(status[0].status, ExpiryStatus::Valid);
    assert_eq!(status[0].serial, outcome.certificate.serial());

    let identity = s.lifecycle.identity(T1).await.unwrap();
    assert!(identity
        .matches_key(identity.private_key().unwrap())
        .unwrap());
}

#[tokio::test]
async fn install_with_a_supplied_key() {
    let s = setup();
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let der = s
        .apple
        .issue_push_cert(Some(T1), &key, now() + Duration::days(300));
    let certificate = PushCertificate::parse(&der, None).unwrap();
    let request = InstallRequest::new(certificate.clone(), "mdm@example.com").key(key);
    let outcome = s.lifecycle.install(request, now()).await.unwrap();
    assert_eq!(outcome.action, InstallAction::Installed);

    // A PKCS#12 file carries its key.
    let s = setup();
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let der = s
        .apple
        .issue_push_cert(Some(T1), &key, now() + Duration::days(300));
    let p12 = TestCa::pkcs12(&der, &key, "pw");
    let certificate = PushCertificate::parse(&p12, Some("pw")).unwrap();
    let request = InstallRequest::new(certificate, "mdm@example.com");
    s.lifecycle.install(request, now()).await.unwrap();
}

#[tokio::test]
async fn a_supplied_key_also_clears_its_pending_copy() {
    let s = setup();
    let request = s.lifecycle.create_request(&subject()).await.unwrap();
    let pending = s.store.list_pending_csr_keys().await.unwrap();
    assert_eq!(pending.len(), 1);
    let key = PrivateKey::from_pem(pending[0].private_key.expose(), None, "key").unwrap();
    let der = s
        .apple
        .issue_push_cert_for_request(T1, &request, now() + Duration::days(300));
    let certificate = PushCertificate::parse(&der, None).unwrap();
    let request = InstallRequest::new(certificate, "a@b.example").key(key);
    s.lifecycle.install(request, now()).await.unwrap();
    assert!(s.store.list_pending_csr_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn refuses_key_mismatch() {
    let s = setup();
    // No pending key and no key: the certificate was requested elsewhere.
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let der = s
        .apple
        .issue_push_cert(Some(T1), &key, now() + Duration::days(300));
    let certificate = PushCertificate::parse(&der, None).unwrap();
    let error = s
        .lifecycle
        .install(
            InstallRequest::new(certificate.clone(), "a@b.example"),
            now(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "key_mismatch");
    assert!(error.to_string().contains("matches no pending"), "{error}");

    // A key supplied that is not the certificate's.
    let other = PrivateKey::generate_rsa_2048().unwrap();
    let request = InstallRequest::new(certificate, "a@b.example").key(other);
    let error = s.lifecycle.install(request, now()).await.unwrap_err();
    assert_eq!(error.code(), "key_mismatch");
    assert!(s.lifecycle.status(now()).await.unwrap().is_empty());
}

#[tokio::test]
async fn refuses_an_expired_certificate() {
    let s = setup();
    let certificate = s.apple_certificate(T1, now() - Duration::days(1)).await;
    let request = InstallRequest::new(certificate, "a@b.example");
    let error = s.lifecycle.install(request, now()).await.unwrap_err();
    assert_eq!(error.code(), "certificate_expired");
    assert!(s.lifecycle.status(now()).await.unwrap().is_empty());
}

#[tokio::test]
async fn refuses_another_topic_while_one_is_registered() {
    let s = setup();
    s.install(T1, "first").await;
    let certificate = s.apple_certificate(T2, now() + Duration::days(365)).await;
    let request = InstallRequest::new(certificate, "mdm@example.com");
    let error = s.lifecycle.install(request, now()).await.unwrap_err();
    assert_eq!(error.code(), "topic_mismatch");
    let message = error.to_string();
    assert!(message.contains(T1) && message.contains(T2), "{message}");
    assert!(message.contains("delete it first"), "{message}");
    assert!(
        message.contains("reinstall its enrollment profile"),
        "{message}"
    );

    // After deleting the registered one, the other topic installs.
    s.lifecycle.delete(T1).await.unwrap();
    let certificate = s.apple_certificate(T2, now() + Duration::days(365)).await;
    let request = InstallRequest::new(certificate, "mdm@example.com");
    s.lifecycle.install(request, now()).await.unwrap();
}

#[tokio::test]
async fn renewal_replaces_and_keeps_history() {
    let s = setup();
    let first = s.install(T1, "obtained 2025").await;
    let second = s.install(T1, "obtained 2026").await;
    assert_eq!(second.action, InstallAction::Renewed);
    assert_ne!(first.certificate.serial(), second.certificate.serial());

    let status = s.lifecycle.status(now()).await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].serial, second.certificate.serial());
    assert_eq!(status[0].note.as_deref(), Some("obtained 2026"));

    let history = s.lifecycle.history(T1).await.unwrap();
    let entries: Vec<_> = history
        .iter()
        .map(|e| (e.action, e.serial.clone().unwrap(), e.note.clone().unwrap()))
        .collect();
    assert_eq!(
        entries,
        vec![
            (
                PushCertificateAction::Installed,
                first.certificate.serial().to_owned(),
                "obtained 2025".to_owned()
            ),
            (
                PushCertificateAction::Renewed,
                second.certificate.serial().to_owned(),
                "obtained 2026".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn renewing_an_expired_certificate_asks_to_synchronise_devices() {
    let s = setup();
    let soon = now() + Duration::days(2);
    let certificate = s.apple_certificate(T1, soon).await;
    s.lifecycle
        .install(InstallRequest::new(certificate, "a@b.example"), now())
        .await
        .unwrap();
    let device = EnrollmentId::device("UDID-1");
    s.store
        .put_enrollment(&EnrollmentRecord::new(device.clone()))
        .await
        .unwrap();
    s.store
        .set_push_info(&device, &PushInfo::new(vec![1, 2, 3], "magic", T1))
        .await
        .unwrap();

    // Renewed three days later, when the old one had expired.
    let later = now() + Duration::days(3);
    let certificate = s.apple_certificate(T1, now() + Duration::days(365)).await;
    let outcome = s
        .lifecycle
        .install(InstallRequest::new(certificate, "a@b.example"), later)
        .await
        .unwrap();
    assert_eq!(outcome.action, InstallAction::Renewed);
    match outcome.follow_up {
        Some(FollowUp::SynchroniseDevices { topic, targets }) => {
            assert_eq!(topic, T1);
            assert_eq!(targets.len(), 1);
            assert_eq!(targets[0].enrollment_id, device);
        }
        other => panic!("expected a synchronisation follow-up, got {other:?}"),
    }

    // A renewal before expiry needs nothing.
    let certificate = s.apple_certificate(T1, now() + Duration::days(400)).await;
    let outcome = s
        .lifecycle
        .install(InstallRequest::new(certificate, "a@b.example"), now())
        .await
        .unwrap();
    assert!(outcome.follow_up.is_none());
}

#[tokio::test]
async fn edit_and_delete_keep_the_note() {
    let s = setup();
    s.install(T1, "obtained 2026-11-21").await;
    let edited = s
        .lifecycle
        .edit(T1, Some("new@example.com".into()), None)
        .await
        .unwrap();
    assert_eq!(edited.apple_id.as_deref(), Some("new@example.com"));
    assert_eq!(edited.note.as_deref(), Some("obtained 2026-11-21"));
    let edited = s
        .lifecycle
        .edit(T1, None, Some("renew in November".into()))
        .await
        .unwrap();
    assert_eq!(edited.note.as_deref(), Some("renew in November"));

    let kept = s.lifecycle.delete(T1).await.unwrap();
    assert_eq!(kept.as_deref(), Some("renew in November"));
    assert!(s.lifecycle.status(now()).await.unwrap().is_empty());
    assert_eq!(
        s.lifecycle.kept_note(T1).await.unwrap().as_deref(),
        Some("renew in November")
    );
    let last = s.lifecycle.history(T1).await.unwrap().pop().unwrap();
    assert_eq!(last.action, PushCertificateAction::Deleted);
    assert_eq!(last.note.as_deref(), Some("renew in November"));

    // The deleted topic is still shown with its Apple ID and note, which can be edited.
    let deleted = s.lifecycle.deleted_topics().await.unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].topic, T1);
    assert_eq!(deleted[0].apple_id.as_deref(), Some("new@example.com"));
    assert_eq!(deleted[0].note.as_deref(), Some("renew in November"));
    assert!(deleted[0].serial.is_some());
    let deleted_at = deleted[0].deleted_at;
    let edited = s
        .lifecycle
        .edit_deleted(T1, None, Some("renew with the IT account".into()))
        .await
        .unwrap();
    assert_eq!(edited.note.as_deref(), Some("renew with the IT account"));
    assert_eq!(edited.apple_id.as_deref(), Some("new@example.com"));
    let deleted = s.lifecycle.deleted_topics().await.unwrap();
    assert_eq!(deleted, vec![edited]);
    assert_eq!(deleted[0].deleted_at, deleted_at);
    assert_eq!(
        s.lifecycle
            .edit_deleted(T2, None, Some("x".into()))
            .await
            .unwrap_err()
            .code(),
        "topic_not_found"
    );

    // Installing the topic again without a note brings the kept note back.
    let certificate = s.apple_certificate(T1, now() + Duration::days(365)).await;
    let request = InstallRequest::new(certificate, "new@example.com");
    s.lifecycle.install(request, now()).await.unwrap();
    let status = s.lifecycle.status(now()).await.unwrap();
    assert_eq!(status[0].note.as_deref(), Some("renew with the IT account"));
    assert!(s.lifecycle.deleted_topics().await.unwrap().is_empty());
    assert_eq!(
        s.lifecycle
            .edit_deleted(T1, None, Some("x".into()))
            .await
            .unwrap_err()
            .code(),
        "topic_not_found",
        "a registered topic is edited with edit"
    );

    assert_eq!(
        s.lifecycle.delete(T2).await.unwrap_err().code(),
        "topic_not_found"
    );
    assert_eq!(
        s.lifecycle.edit(T2, None, None).await.unwrap_err().code(),
        "topic_not_found"
    );
}

#[tokio::test]
async fn lists_enrollments_under_another_or_unknown_topic() {
    let s = setup();
    s.install(T1, "n").await;
    for (id, topic) in [("A", Some(T1)), ("B", Some(T2)), ("C", None)] {
        let mut record = EnrollmentRecord::new(EnrollmentId::device(id));
        record.enrolled_topic = topic.map(str::to_owned);
        s.store.put_enrollment(&record).await.unwrap();
    }
    let mismatched = s.lifecycle.mismatched_enrollments().await.unwrap();
    let found: Vec<_> = mismatched
        .iter()
        .map(|m| (m.enrollment.as_str(), m.enrolled_topic.as_deref()))
        .collect();
    assert_eq!(found, vec![("B", Some(T2)), ("C", None)]);
}

#[tokio::test]
async fn several_topics_one_per_tenant() {
    let mut s = setup();
    s.lifecycle = s.lifecycle.clone().multiple_topics(true);
    s.install(T1, "tenant one").await;
    s.install(T2, "tenant two").await;
    let topics: Vec<_> = s
        .lifecycle
        .status(now())
        .await
        .unwrap()
        .into_iter()
        .map(|st| st.topic)
        .collect();
    assert_eq!(topics, vec![T1, T2]);

    // Tenant one uploading a certificate with another topic is refused.
    let other = "com.apple.mgmt.External.33333333-3333-3333-3333-333333333333";
    let certificate = s
        .apple_certificate(other, now() + Duration::days(365))
        .await;
    let request = InstallRequest::new(certificate, "a@b.example").renewing(T1);
    assert_eq!(
        s.lifecycle
            .install(request, now())
            .await
            .unwrap_err()
            .code(),
        "topic_mismatch"
    );
    let certificate = s.apple_certificate(T1, now() + Duration::days(365)).await;
    let request = InstallRequest::new(certificate, "a@b.example").renewing(T1);
    let outcome = s.lifecycle.install(request, now()).await.unwrap();
    assert_eq!(outcome.action, InstallAction::Renewed);
}

#[tokio::test]
async fn a_running_engine_picks_up_a_renewal() {
    let s = setup();
    s.install(T1, "n").await;
    let before = s.lifecycle.identity(T1).await.unwrap();
    let mut changes = s.lifecycle.subscribe();
    let renewed = s.install(T1, "n").await;
    let change = changes.recv().await.unwrap();
    assert_eq!(change.topic, T1);
    assert_eq!(change.action, PushCertificateAction::Renewed);
    let after = s.lifecycle.identity(T1).await.unwrap();
    assert_ne!(after.serial(), before.serial());
    assert_eq!(after.serial(), renewed.certificate.serial());
    assert!(after.matches_key(after.private_key().unwrap()).unwrap());
}

#[tokio::test]
async fn reports_stale_pending_keys() {
    let s = setup();
    s.lifecycle.create_request(&subject()).await.unwrap();
    let week = Duration::days(7);
    assert!(s
        .lifecycle
        .stale_pending_keys(week, now())
        .await
        .unwrap()
        .is_empty());
    let stale = s
        .lifecycle
        .stale_pending_keys(week, now() + Duration::days(8))
        .await
        .unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].age_days, 8);
}

fn vendor() -> (VendorSigner, Vec<u8>) {
    let root = TestCa::new("Test Apple Root CA");
    let wwdr = root.issue_intermediate("Test Apple WWDR CA");
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let certificate = wwdr.issue_leaf("MDM Vendor: Example", &key, now() + Duration::days(200));
    let signer = VendorSigner::from_files(&VendorFiles {
        vendor_certificate: certificate.clone(),
        vendor_key: key.to_pem().unwrap(),
        vendor_key_password: None,
        wwdr_certificate: wwdr.certificate_pem(),
        apple_root_certificate: root.certificate_pem(),
    })
    .unwrap();
    (signer, certificate)
}

/// Verifies an upload's signature with the `openssl` command (independently of mdmkit).
fn openssl_verifies(upload: &PushCertUpload, vendor_der: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("csr.der"), upload.csr_der()).unwrap();
    std::fs::write(path("sig"), upload.signature()).unwrap();
    std::fs::write(path("vendor.der"), vendor_der).unwrap();
    let pubkey = std::process::Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-in",
            &path("vendor.der"),
            "-noout",
            "-pubkey",
        ])
        .output()
        .expect("openssl is installed");
    std::fs::write(path("pub.pem"), &pubkey.stdout).unwrap();
    let verified = std::process::Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            &path("pub.pem"),
            "-signature",
            &path("sig"),
            &path("csr.der"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout).trim(),
        "Verified OK"
    );
}

#[tokio::test]
async fn vendor_is_the_customer_in_one_call() {
    let s = setup();
    let (signer, vendor_der) = vendor();
    let upload = s
        .lifecycle
        .create_signed_request(&signer, &subject())
        .await
        .unwrap();
    let parsed = PushCertUpload::parse(upload.to_base64().unwrap().as_bytes()).unwrap();
    openssl_verifies(&parsed, &vendor_der);
    // Apple issues the certificate for the signed CSR; its pending key installs it.
    let request = CertificateRequest::parse(parsed.csr_der()).unwrap();
    let der = s
        .apple
        .issue_push_cert_for_request(T1, &request, now() + Duration::days(365));
    let certificate = PushCertificate::parse(&der, None).unwrap();
    s.lifecycle
        .install(InstallRequest::new(certificate, "a@b.example"), now())
        .await
        .unwrap();
}

#[tokio::test]
async fn vendor_and_customer_apart() {
    // The customer makes the CSR; the vendor (another party, no store) signs it.
    let s = setup();
    let request = s.lifecycle.create_request(&subject()).await.unwrap();
    let csr_pem = request.to_pem().unwrap();
    let (signer, vendor_der) = vendor();
    let upload = signer
        .sign(&CertificateRequest::parse(csr_pem.as_bytes()).unwrap())
        .unwrap();
    openssl_verifies(&upload, &vendor_der);
    let der = s
        .apple
        .issue_push_cert_for_request(T1, &request, now() + Duration::days(365));
    let certificate = PushCertificate::parse(&der, None).unwrap();
    s.lifecycle
        .install(InstallRequest::new(certificate, "a@b.example"), now())
        .await
        .unwrap();
}

#[tokio::test]
async fn notices_are_sent_once_per_interval() {
    let s = setup();
    let certificate = s.apple_certificate(T1, now() + Duration::days(30)).await;
    let request = InstallRequest::new(certificate, "mdm@example.com").note("n");
    s.lifecycle.install(request, now()).await.unwrap();

    let server = SmtpReceiver::start(SmtpSecurity::Plain);
    let notifier = SmtpNotifier::new(
        &format!("smtp://127.0.0.1:{}", server.port()),
        "mdm@example.com",
    )
    .unwrap();
    let monitor = ExpiryMonitor::new()
        .notify_interval(Duration::days(7))
        .recipient("admin@example.com")
        .company("Example Inc.")
        .admin_url("https://mdm.example.com/admin");
    // A DEP token far from expiry gets no notice.
    let dep = Credential::new(
        CredentialKind::DepServerToken,
        "Main ABM token",
        now() + Duration::days(200),
    );
    let others = [dep];

    let t0 = now();
    let sent = s
        .lifecycle
        .send_due_notices(&monitor, &notifier, &others, t0)
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].key, format!("push_certificate:{T1}"));
    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0].decoded();
    assert!(mail.contains("Example Inc."), "{mail}");
    assert!(
        mail.contains(&format!(
            "The Apple Push certificate for topic {T1} expires on"
        )),
        "{mail}"
    );
    assert!(
        mail.contains("renew it with the Apple ID mdm@example.com"),
        "{mail}"
    );
    assert!(mail.contains("https://mdm.example.com/admin"), "{mail}");

    // Not again within the interval, even from another lifecycle on the same store.
    let again = PushCertLifecycle::new(s.store.clone());
    for later in [t0 + Duration::hours(1), t0 + Duration::days(6)] {
        let sent = again
            .send_due_notices(&monitor, &notifier, &others, later)
            .await
            .unwrap();
        assert!(sent.is_empty());
    }
    assert_eq!(server.received().len(), 1);

    // Once the interval has passed, again.
    let sent = again
        .send_due_notices(&monitor, &notifier, &others, t0 + Duration::days(7))
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(server.received().len(), 2);

    let mut query = mdmkit_core::store::AuditQuery::default();
    query.target = Some(format!("push_certificate:{T1}"));
    let audit = mdmkit_core::store::PortalStore::list_audit_events(&*s.store, &query)
        .await
        .unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|e| e.action == NOTICE_AUDIT_ACTION));
}
