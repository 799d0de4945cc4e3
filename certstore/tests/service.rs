//! The certificate store service over the memory and SQLite stores: kinds, import,
//! listing, edit, clear private key, delete, export, and re-push.

use std::sync::Arc;

use mdmkit_certstore::testing::TestIdentity;
use mdmkit_certstore::{CertStore, CertificateEdit, Error, ImportRequest, RecordingInstaller};
use mdmkit_core::profile::payloads::{
    MailManaged, MailManagedEmailAccountType, MailManagedIncomingMailServerAuthentication,
    MailManagedOutgoingMailServerAuthentication, SecurityPkcs12, WebClipManaged,
};
use mdmkit_core::profile::{Payload, PayloadContent, Profile};
use mdmkit_core::store::{
    Assignment, AssignmentTarget, AtRestKey, AuditQuery, CertificatePurpose, ConfigurationRecord,
    EnrollmentRecord, MemoryStore, SharedStore,
};
use mdmkit_core::{Data, EnrollmentId};
use openssl::pkcs12::Pkcs12;

const SIGNING_UUID: &str = "11111111-1111-1111-1111-111111111111";
const ENCRYPTION_UUID: &str = "22222222-2222-2222-2222-222222222222";

fn mail_profile() -> Vec<u8> {
    let mail = MailManaged::new(
        MailManagedEmailAccountType::EmailTypeIMAP,
        MailManagedIncomingMailServerAuthentication::EmailAuthPassword,
        "imap.example.com",
        MailManagedOutgoingMailServerAuthentication::EmailAuthPassword,
        "smtp.example.com",
    )
    .with_smime_enabled(true)
    .with_smime_signing_enabled(true)
    .with_smime_signing_certificate_uuid(SIGNING_UUID)
    .with_smime_encryption_enabled(true)
    .with_smime_encryption_certificate_uuid(ENCRYPTION_UUID);
    Profile::new("com.example.mail")
        .with_display_name("Mail")
        .with_payload(Payload::new("com.example.mail.account", mail))
        .with_payload(
            Payload::new(
                "com.example.mail.signing",
                SecurityPkcs12::new(Data::default()),
            )
            .with_uuid(SIGNING_UUID),
        )
        .with_payload(
            Payload::new(
                "com.example.mail.encryption",
                SecurityPkcs12::new(Data::default()),
            )
            .with_uuid(ENCRYPTION_UUID),
        )
        .to_xml()
        .unwrap()
}

struct Fixture {
    store: SharedStore,
    certs: CertStore,
    installer: Arc<RecordingInstaller>,
}

async fn fixture(store: SharedStore) -> Fixture {
    let installer = Arc::new(RecordingInstaller::new());
    let certs = CertStore::new(store.clone()).with_installer(installer.clone());
    certs
        .add_kind("Signing", CertificatePurpose::Signing)
        .await
        .unwrap();
    certs
        .add_kind("Encryption", CertificatePurpose::Encryption)
        .await
        .unwrap();
    // Two enabled devices and one disabled device for alice, one device for bob.
    for (id, owner, enabled) in [
        ("alice-iphone", "alice", true),
        ("alice-ipad", "alice", true),
        ("alice-old", "alice", false),
        ("bob-iphone", "bob", true),
    ] {
        let mut record = EnrollmentRecord::new(EnrollmentId::new(id));
        record.owner = Some(owner.into());
        record.enabled = enabled;
        store.put_enrollment(&record).await.unwrap();
    }
    let mut mail = ConfigurationRecord::new("mail", "Mail with S/MIME", mail_profile());
    mail.certificate_kinds = vec!["signing".into(), "encryption".into()];
    store.put_configuration(&mail).await.unwrap();
    store
        .assign_configuration(&Assignment::new(
            "mail",
            AssignmentTarget::User("alice".into()),
        ))
        .await
        .unwrap();
    store
        .assign_configuration(&Assignment::new(
            "mail",
            AssignmentTarget::User("bob".into()),
        ))
        .await
        .unwrap();
    // A configuration that uses no certificate: never re-pushed.
    let clip = Profile::new("com.example.clip")
        .with_payload(Payload::new(
            "com.example.clip.portal",
            WebClipManaged::new("https://portal.example.com", "Portal"),
        ))
        .to_xml()
        .unwrap();
    store
        .put_configuration(&ConfigurationRecord::new("clip", "Portal", clip))
        .await
        .unwrap();
    store
        .assign_configuration(&Assignment::new(
            "clip",
            AssignmentTarget::User("alice".into()),
        ))
        .await
        .unwrap();
    Fixture {
        store,
        certs,
        installer,
    }
}

fn memory() -> SharedStore {
    Arc::new(MemoryStore::new())
}

fn pkcs12_payload<'a>(profile: &'a Profile, uuid: &str) -> Option<&'a SecurityPkcs12> {
    profile
        .payloads
        .iter()
        .find_map(|payload| match &payload.content {
            PayloadContent::SecurityPkcs12(p) if payload.common.uuid == uuid => Some(p),
            _ => None,
        })
}

#[tokio::test]
async fn upload_repushes_to_each_of_the_users_devices_with_the_certificate() {
    let f = fixture(memory()).await;
    let identity = TestIdentity::for_email("alice@example.com");
    let file = identity.pkcs12_modern("secret");
    let outcome = f
        .certs
        .import(ImportRequest::new("alice", "Signing", file.clone()).with_password("secret"))
        .await
        .unwrap();
    assert_eq!(outcome.certificate.kind_name, "Signing");
    assert_eq!(outcome.certificate.emails, vec!["alice@example.com"]);
    assert!(outcome.certificate.has_private_key);
    assert!(
        outcome.repush.failures.is_empty(),
        "{:?}",
        outcome.repush.failures
    );
    let targets: Vec<(&str, &str)> = outcome
        .repush
        .installs
        .iter()
        .map(|i| (i.configuration_id.as_str(), i.enrollment_id.as_str()))
        .collect();
    assert_eq!(
        targets,
        vec![("mail", "alice-ipad"), ("mail", "alice-iphone")]
    );

    let installs = f.installer.installs();
    assert_eq!(installs.len(), 2);
    for ((enrollment, bytes, command_uuid), reported) in
        installs.iter().zip(&outcome.repush.installs)
    {
        assert_eq!(enrollment, &reported.enrollment_id);
        assert_eq!(command_uuid, &reported.command_uuid);
        let profile = Profile::read(bytes).unwrap();
        profile.validate().unwrap();
        assert_eq!(profile.identifier, "com.example.mail");
        let signing = pkcs12_payload(&profile, SIGNING_UUID).unwrap();
        assert_eq!(signing.payload_content.as_bytes(), file.as_slice());
        assert_eq!(signing.password.as_deref(), Some("secret"));
        // The package in the profile opens with its password and holds the identity.
        let parsed = Pkcs12::from_der(signing.payload_content.as_bytes())
            .unwrap()
            .parse2("secret")
            .unwrap();
        assert_eq!(
            parsed.cert.unwrap().to_der().unwrap(),
            identity.certificate.to_der().unwrap()
        );
        // No encryption certificate yet: its payload and reference are left out.
        assert!(pkcs12_payload(&profile, ENCRYPTION_UUID).is_none());
        let PayloadContent::MailManaged(mail) = &profile.payloads[0].content else {
            panic!("mail payload first");
        };
        assert_eq!(
            mail.smime_signing_certificate_uuid.as_deref(),
            Some(SIGNING_UUID)
        );
        assert_eq!(mail.smime_encryption_certificate_uuid, None);
    }

    // An encryption certificate next: both are filled.
    let encryption = TestIdentity::for_email("alice@example.com");
    let outcome = f
        .certs
        .import(
            ImportRequest::new("alice", "encryption", encryption.pkcs12_legacy("enc"))
                .with_password("enc"),
        )
        .await
        .unwrap();
    assert_eq!(outcome.repush.installs.len(), 2);
    let (_, bytes, _) = f.installer.installs().pop().unwrap();
    let profile = Profile::read(&bytes).unwrap();
    assert_eq!(
        pkcs12_payload(&profile, SIGNING_UUID)
            .unwrap()
            .payload_content
            .as_bytes(),
        file.as_slice()
    );
    assert_eq!(
        pkcs12_payload(&profile, ENCRYPTION_UUID)
            .unwrap()
            .password
            .as_deref(),
        Some("enc")
    );
}

#[tokio::test]
async fn delete_and_clear_key_repush_nothing() {
    let f = fixture(memory()).await;
    let identity = TestIdentity::for_email("alice@example.com");
    let outcome = f
        .certs
        .import(
            ImportRequest::new("alice", "Signing", identity.pkcs12_modern("pw"))
                .with_password("pw"),
        )
        .await
        .unwrap();
    let id = outcome.certificate.id.clone();
    let before = f.installer.installs().len();
    assert_eq!(before, 2);

    let cleared = f.certs.clear_private_key(&id).await.unwrap();
    assert!(!cleared.has_private_key);
    let listed = f.certs.list("alice").await.unwrap();
    assert!(!listed[0].has_private_key);
    // The stored package opens with the same password and holds no key any more.
    let exported = f.certs.export(&id, None).await.unwrap();
    let parsed = Pkcs12::from_der(exported.expose())
        .unwrap()
        .parse2("pw")
        .unwrap();
    assert!(parsed.pkey.is_none());
    // Without a key OpenSSL lists every certificate as "other": the leaf and its CA, once each.
    let mut certs: Vec<Vec<u8>> = parsed
        .ca
        .unwrap()
        .iter()
        .map(|c| c.to_der().unwrap())
        .collect();
    certs.sort();
    let mut expected = vec![
        identity.certificate.to_der().unwrap(),
        identity.ca_certificate.to_der().unwrap(),
    ];
    expected.sort();
    assert_eq!(certs, expected);
    // Exported under a new password, still without a key.
    let again = f.certs.export(&id, Some("other")).await.unwrap();
    let parsed = Pkcs12::from_der(again.expose())
        .unwrap()
        .parse2("other")
        .unwrap();
    assert!(parsed.pkey.is_none());
    assert_eq!(f.installer.installs().len(), before);

    assert!(f.certs.delete(&id).await.unwrap());
    assert!(!f.certs.delete(&id).await.unwrap());
    assert!(f.certs.list("alice").await.unwrap().is_empty());
    assert_eq!(f.installer.installs().len(), before);
}

#[tokio::test]
async fn list_edit_and_export() {
    let f = fixture(memory()).await;
    let identity = TestIdentity::for_email("bob@example.com");
    let outcome = f
        .certs
        .import(
            ImportRequest::new("bob", "signing", identity.pkcs12_modern(""))
                .with_password("")
                .with_name("Work signing"),
        )
        .await
        .unwrap();
    let id = outcome.certificate.id;
    let list = f.certs.list("bob").await.unwrap();
    assert_eq!(list.len(), 1);
    let cert = &list[0];
    assert_eq!(cert.name, "Work signing");
    assert_eq!(cert.kind_id, "signing");
    assert!(cert.subject.contains("bob@example.com"));
    assert!(cert.issuer.contains("mdmkit test S/MIME CA"));
    assert!(!cert.serial.is_empty());
    assert!(cert.expires_at > cert.uploaded_at);
    assert!(f.certs.list("alice").await.unwrap().is_empty());

    let edited = f
        .certs
        .edit(
            &id,
            &CertificateEdit::new()
                .with_name("Renamed")
                .with_kind("Encryption"),
        )
        .await
        .unwrap();
    assert_eq!(
        (edited.name.as_str(), edited.kind_id.as_str()),
        ("Renamed", "encryption")
    );
    let error = f
        .certs
        .edit(&id, &CertificateEdit::new().with_kind("nope"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnknownKind(_)));
    let error = f
        .certs
        .edit("missing", &CertificateEdit::new())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unknown_certificate");

    let exported = f.certs.export(&id, Some("new password")).await.unwrap();
    let parsed = Pkcs12::from_der(exported.expose())
        .unwrap()
        .parse2("new password")
        .unwrap();
    assert!(parsed.pkey.unwrap().public_eq(&identity.key));
}

#[tokio::test]
async fn refusals_store_nothing_and_repush_nothing() {
    let f = fixture(memory()).await;
    let identity = TestIdentity::for_email("alice@example.com");
    let cases: Vec<(ImportRequest, &str)> = vec![
        (
            ImportRequest::new("alice", "Signing", identity.pkcs12_modern("pw"))
                .with_password("bad"),
            "p12_bad_password",
        ),
        (
            ImportRequest::new("alice", "Signing", identity.certificate_pem()),
            "p12_not_pkcs12",
        ),
        (
            ImportRequest::new("alice", "Unknown", identity.pkcs12_modern("pw"))
                .with_password("pw"),
            "unknown_kind",
        ),
        (
            ImportRequest::new("alice", "Signing", identity.pkcs12_modern("pw")),
            "p12_password_required",
        ),
    ];
    for (request, code) in cases {
        assert_eq!(f.certs.import(request).await.unwrap_err().code(), code);
    }
    assert!(f.certs.list("alice").await.unwrap().is_empty());
    assert!(f.installer.installs().is_empty());
}

#[tokio::test]
async fn kinds_are_unique_and_found_by_id_or_name() {
    let f = fixture(memory()).await;
    let error = f
        .certs
        .add_kind("signing", CertificatePurpose::Signing)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::KindExists(_)));
    let kind = f
        .certs
        .add_kind("S/MIME  Work", CertificatePurpose::Encryption)
        .await
        .unwrap();
    assert_eq!(kind.id, "s-mime-work");
    assert_eq!(
        f.certs.find_kind("s/mime  work").await.unwrap().id,
        "s-mime-work"
    );
    assert_eq!(f.certs.list_kinds().await.unwrap().len(), 3);
    assert!(f
        .certs
        .add_kind(" / ", CertificatePurpose::Signing)
        .await
        .is_err());
}

#[tokio::test]
async fn sqlite_store_encrypts_the_package_and_password_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("certs.db");
    let location = path.to_str().unwrap().to_owned();
    let store = mdmkit_core::store::open(&location, AtRestKey::generate().unwrap())
        .await
        .unwrap();
    let f = fixture(store).await;
    let identity = TestIdentity::for_email("alice@example.com");
    let file = identity.pkcs12_modern("a-distinctive-password");
    let outcome = f
        .certs
        .import(
            ImportRequest::new("alice", "Signing", file.clone())
                .with_password("a-distinctive-password"),
        )
        .await
        .unwrap();
    assert_eq!(outcome.repush.installs.len(), 2);
    assert_eq!(f.certs.list("alice").await.unwrap().len(), 1);
    let exported = f.certs.export(&outcome.certificate.id, None).await.unwrap();
    assert_eq!(exported.expose(), file.as_slice());
    drop(f);
    let raw = std::fs::read(&path).unwrap();
    let wal = std::fs::read(dir.path().join("certs.db-wal")).unwrap_or_default();
    for bytes in [&raw, &wal] {
        assert!(!bytes.windows(22).any(|w| w == b"a-distinctive-password"));
        assert!(!bytes.windows(64).any(|w| w == &file[file.len() - 64..]));
    }
}

#[tokio::test]
async fn exchange_configuration_assigned_to_one_enrollment_and_unusable_configurations() {
    use mdmkit_core::profile::payloads::EasAccount;
    let f = fixture(memory()).await;
    let store = f.store.clone();
    // Exchange with S/MIME encryption, assigned to one of alice's devices only.
    let eas = Profile::new("com.example.eas")
        .with_payload(Payload::new(
            "com.example.eas.account",
            EasAccount::new()
                .with_host("mail.example.com")
                .with_smime_encryption_enabled(true)
                .with_smime_encryption_certificate_uuid(ENCRYPTION_UUID),
        ))
        .with_payload(
            Payload::new(
                "com.example.eas.identity",
                SecurityPkcs12::new(Data::default()),
            )
            .with_uuid(ENCRYPTION_UUID),
        )
        .to_xml()
        .unwrap();
    let mut record = ConfigurationRecord::new("eas", "Exchange", eas);
    record.certificate_kinds = vec!["encryption".into()];
    store.put_configuration(&record).await.unwrap();
    store
        .assign_configuration(&Assignment::new(
            "eas",
            AssignmentTarget::Enrollment(EnrollmentId::new("alice-iphone")),
        ))
        .await
        .unwrap();
    // Bob's device is assigned too, but it is not alice's: never installed for her.
    store
        .assign_configuration(&Assignment::new(
            "eas",
            AssignmentTarget::Enrollment(EnrollmentId::new("bob-iphone")),
        ))
        .await
        .unwrap();
    // A configuration that claims the kind but holds no profile: reported, not fatal.
    let mut broken = ConfigurationRecord::new("broken", "Broken", b"not a profile".to_vec());
    broken.certificate_kinds = vec!["encryption".into()];
    store.put_configuration(&broken).await.unwrap();

    let identity = TestIdentity::for_email("alice@example.com");
    let outcome = f
        .certs
        .import(
            ImportRequest::new("alice", "Encryption", identity.pkcs12_modern("")).with_password(""),
        )
        .await
        .unwrap();
    let targets: Vec<(&str, &str)> = outcome
        .repush
        .installs
        .iter()
        .map(|i| (i.configuration_id.as_str(), i.enrollment_id.as_str()))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("eas", "alice-iphone"),
            ("mail", "alice-ipad"),
            ("mail", "alice-iphone")
        ]
    );
    // "broken" is not a readable profile: reported, the others still installed.
    assert_eq!(outcome.repush.failures.len(), 1);
    let failure = &outcome.repush.failures[0];
    assert_eq!(failure.configuration_id, "broken");
    assert_eq!(failure.enrollment_id, None);
    assert!(
        failure.error.contains("not a readable profile"),
        "{}",
        failure.error
    );
    let (enrollment, bytes, _) = f.installer.installs().remove(0);
    assert_eq!(enrollment.as_str(), "alice-iphone");
    let profile = Profile::read(&bytes).unwrap();
    assert_eq!(profile.identifier, "com.example.eas");
    let identity_payload = pkcs12_payload(&profile, ENCRYPTION_UUID).unwrap();
    // An empty password is a password: it is written to the payload.
    assert_eq!(identity_payload.password.as_deref(), Some(""));
}

#[tokio::test]
async fn repush_through_the_engine_queues_install_profile_and_pushes() {
    use mdmkit_core::engine::Engine;
    use mdmkit_core::push::RecordingPusher;
    use mdmkit_core::store::{DeviceRecord, PushInfo};
    use mdmkit_core::{Command, CommandEnvelope};

    let store = memory();
    let identity = TestIdentity::for_email("alice@example.com");
    let pusher = Arc::new(RecordingPusher::new());
    let engine = Engine::builder(store.clone(), pusher.clone())
        .device_ca(identity.ca_pem())
        .build()
        .unwrap();
    let base = fixture(store.clone()).await;
    let certs = base.certs.clone().with_installer(Arc::new(engine));
    // alice's iPhone is a known iPhone with a push token; her iPad is not known yet.
    let mut device = DeviceRecord::new("alice-iphone");
    device.product_name = Some("iPhone15,2".into());
    store.put_device(&device).await.unwrap();
    store
        .set_push_info(
            &EnrollmentId::new("alice-iphone"),
            &PushInfo::new(vec![7; 32], "magic", "com.apple.mgmt.External.test"),
        )
        .await
        .unwrap();

    let file = identity.pkcs12_modern("pw");
    let outcome = certs
        .import(ImportRequest::new("alice", "Signing", file.clone()).with_password("pw"))
        .await
        .unwrap();
    assert_eq!(outcome.repush.installs.len(), 1);
    let install = &outcome.repush.installs[0];
    assert_eq!(install.enrollment_id.as_str(), "alice-iphone");
    // The iPad's platform is unknown: the engine refuses it, and the report says so.
    assert_eq!(outcome.repush.failures.len(), 1);
    assert_eq!(
        outcome.repush.failures[0]
            .enrollment_id
            .as_ref()
            .map(|id| id.as_str()),
        Some("alice-ipad")
    );

    let pending = store
        .pending_commands(&EnrollmentId::new("alice-iphone"))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].command.command_uuid, install.command_uuid);
    assert_eq!(pending[0].command.request_type, "InstallProfile");
    let envelope = CommandEnvelope::decode(&pending[0].command.payload).unwrap();
    let Command::InstallProfile(command) = envelope.command else {
        panic!("not InstallProfile");
    };
    let profile = Profile::read(command.payload.as_bytes()).unwrap();
    assert_eq!(
        pkcs12_payload(&profile, SIGNING_UUID)
            .unwrap()
            .payload_content
            .as_bytes(),
        file.as_slice()
    );
    assert_eq!(pusher.pushed().len(), 1);
    assert_eq!(pusher.pushed()[0].enrollment_id.as_str(), "alice-iphone");
}

#[tokio::test]
async fn no_password_is_kept_apart_from_an_empty_one() {
    let f = fixture(memory()).await;
    let identity = TestIdentity::for_email("alice@example.com");
    // A file protected by the empty password, uploaded without a password.
    f.certs
        .import(ImportRequest::new(
            "alice",
            "Signing",
            identity.pkcs12_modern(""),
        ))
        .await
        .unwrap();
    let (_, bytes, _) = f.installer.installs().pop().unwrap();
    let profile = Profile::read(&bytes).unwrap();
    // No Password key: the device asks the user, as for any file uploaded without one.
    assert_eq!(
        pkcs12_payload(&profile, SIGNING_UUID).unwrap().password,
        None
    );
}

#[tokio::test]
async fn the_certificates_tab_is_limited_to_the_users_own_certificates_and_audited() {
    let f = fixture(memory()).await;
    let alice = f.certs.for_owner("alice");
    let bob = f.certs.for_owner("bob");
    let identity = TestIdentity::for_email("alice@example.com");
    let added = alice
        .add(
            "Signing",
            identity.pkcs12_modern("pw"),
            Some("pw"),
            Some("Work"),
        )
        .await
        .unwrap();
    let id = added.certificate.id.clone();
    assert_eq!(added.certificate.owner, "alice");
    // The upload path re-pushes the configuration using the kind, to alice's devices only.
    assert_eq!(added.repush.installs.len(), 2, "{:?}", added.repush);
    let installs = f.installer.installs();
    assert!(!installs.is_empty());
    assert!(installs
        .iter()
        .all(|(enrollment, _, _)| enrollment.as_str().starts_with("alice-")));
    assert_eq!(alice.list().await.unwrap().len(), 1);

    // Bob sees none of it; alice's certificate is answered like a missing one.
    assert!(bob.list().await.unwrap().is_empty());
    let missing = bob.delete("no-such-certificate").await.unwrap_err();
    let attempts = [
        bob.edit(&id, &CertificateEdit::new().with_name("Mine now"))
            .await
            .map(|_| ()),
        bob.clear_private_key(&id).await.map(|_| ()),
        bob.delete(&id).await,
    ];
    for attempt in attempts {
        let error = attempt.unwrap_err();
        assert!(matches!(&error, Error::UnknownCertificate(got) if got == &id));
        assert_eq!(error.code(), missing.code());
        assert_eq!(
            error.to_string(),
            missing.to_string().replace("no-such-certificate", &id)
        );
    }
    let untouched = f.certs.get(&id).await.unwrap();
    assert_eq!(untouched.name, "Work");
    assert!(untouched.has_private_key);

    // Typed refusals of the upload path pass through.
    let error = alice
        .add(
            "Signing",
            identity.pkcs12_modern("pw"),
            Some("wrong-password"),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::P12BadPassword), "{error:?}");
    let error = alice
        .add("Signing", b"not a PKCS#12 file".to_vec(), None, None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotPkcs12), "{error:?}");

    // Alice edits, clears the key and deletes her own.
    let edited = alice
        .edit(&id, &CertificateEdit::new().with_name("Personal"))
        .await
        .unwrap();
    assert_eq!(edited.name, "Personal");
    assert!(!alice.clear_private_key(&id).await.unwrap().has_private_key);
    alice.delete(&id).await.unwrap();
    assert!(matches!(
        alice.delete(&id).await.unwrap_err(),
        Error::UnknownCertificate(_)
    ));
    assert!(alice.list().await.unwrap().is_empty());

    // Every operation is in the audit log, refusals included, with no password in it.
    let mut query = AuditQuery::default();
    query.actor = Some("bob".into());
    let by_bob = f.store.list_audit_events(&query).await.unwrap();
    let actions: Vec<&str> = by_bob.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "portal.certificate_list",
            "portal.certificate_delete",
            "portal.certificate_edit",
            "portal.certificate_clear_private_key",
            "portal.certificate_delete",
        ]
    );
    assert!(by_bob[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("unknown_certificate"));
    assert_eq!(by_bob[0].target.as_deref(), Some(id.as_str()));
    query.actor = Some("alice".into());
    let by_alice = f.store.list_audit_events(&query).await.unwrap();
    assert_eq!(by_alice.len(), 9);
    assert!(by_alice
        .iter()
        .any(|e| e.detail.as_deref().unwrap().contains("p12_bad_password")));
    assert!(by_alice
        .iter()
        .all(|e| !e.detail.as_deref().unwrap().contains("wrong-password")));
}
