//! A user's S/MIME certificate upload reaches their enrolled device: the certificate store
//! re-pushes the Mail configuration through the engine, the simulated device fetches the
//! InstallProfile with its next Idle; deleting the certificate pushes nothing.

use std::sync::Arc;

use mdmkit_certstore::testing::TestIdentity;
use mdmkit_certstore::{CertStore, ImportRequest};
use mdmkit_core::command::{Command, CommandEnvelope};
use mdmkit_core::engine::Engine;
use mdmkit_core::profile::payloads::{
    MailManaged, MailManagedEmailAccountType, MailManagedIncomingMailServerAuthentication,
    MailManagedOutgoingMailServerAuthentication, SecurityPkcs12,
};
use mdmkit_core::profile::{Payload, PayloadContent, Profile};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{
    Assignment, AssignmentTarget, AtRestKey, CertificatePurpose, ConfigurationRecord, MemoryStore,
    SharedStore, SqliteStore,
};
use mdmkit_core::{CommandStatus, Data, EnrollmentId};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use plist::Dictionary;

const TOPIC: &str = "com.apple.mgmt.External.certstore-test";
const SIGNING_UUID: &str = "5C4B0A43-0D3C-4E4B-9E53-1B0C3D1C0001";

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

async fn upload_reaches_the_device(store: SharedStore) {
    let ca = DeviceCa::new("Test Device CA").unwrap();
    let pusher = Arc::new(RecordingPusher::new());
    let engine = Engine::builder(store.clone(), pusher.clone())
        .device_ca(ca.certificate_pem().unwrap())
        .build()
        .unwrap();
    let device = SimulatedDevice::new("CERTSTORE-UDID-1", TOPIC)
        .with_identity(ca.issue("CERTSTORE-UDID-1").unwrap());
    for body in [
        device.authenticate().unwrap(),
        device.token_update(&[3; 32], "MAGIC").unwrap(),
    ] {
        let response = engine.handle_checkin(device.request(body).unwrap()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
    let enrollment = EnrollmentId::device(&device.udid);
    store.set_owner(&enrollment, Some("alice")).await.unwrap();

    let mut mail = ConfigurationRecord::new("mail", "Mail", mail_profile());
    mail.certificate_kinds = vec!["signing".into()];
    store.put_configuration(&mail).await.unwrap();
    store
        .assign_configuration(&Assignment::new(
            "mail",
            AssignmentTarget::User("alice".into()),
        ))
        .await
        .unwrap();

    let certs = CertStore::new(store.clone()).with_installer(Arc::new(engine.clone()));
    certs
        .add_kind("Signing", CertificatePurpose::Signing)
        .await
        .unwrap();
    let identity = TestIdentity::for_email("alice@example.com");
    let file = identity.pkcs12_legacy("pw");
    let outcome = certs
        .import(ImportRequest::new("alice", "Signing", file.clone()).with_password("pw"))
        .await
        .unwrap();
    assert_eq!(outcome.repush.installs.len(), 1, "{:?}", outcome.repush);
    assert_eq!(outcome.repush.installs[0].enrollment_id, enrollment);
    assert_eq!(pusher.pushed().len(), 1);

    // The device wakes up and fetches the profile with the certificate in it.
    let response = engine
        .handle_command(device.request(device.idle().unwrap()).unwrap())
        .await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let envelope = CommandEnvelope::decode(&response.body).unwrap();
    assert_eq!(
        envelope.command_uuid,
        outcome.repush.installs[0].command_uuid
    );
    let Command::InstallProfile(install) = &envelope.command else {
        panic!("expected InstallProfile, got {}", envelope.request_type());
    };
    let profile = Profile::read(install.payload.as_bytes()).unwrap();
    let package = profile
        .payloads
        .iter()
        .find_map(|payload| match &payload.content {
            PayloadContent::SecurityPkcs12(p) => Some(p),
            _ => None,
        })
        .unwrap();
    assert_eq!(package.payload_content.as_bytes(), file.as_slice());
    assert_eq!(package.password.as_deref(), Some("pw"));
    let ack = device
        .answer(
            &response.body,
            CommandStatus::Acknowledged,
            Dictionary::new(),
        )
        .unwrap();
    let response = engine.handle_command(device.request(ack).unwrap()).await;
    assert_eq!((response.status, response.body.len()), (200, 0));

    // Clearing the key and deleting push nothing and queue nothing.
    certs
        .clear_private_key(&outcome.certificate.id)
        .await
        .unwrap();
    assert!(certs.delete(&outcome.certificate.id).await.unwrap());
    assert_eq!(pusher.pushed().len(), 1);
    assert!(store
        .pending_commands(&enrollment)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn upload_reaches_the_device_on_memory() {
    upload_reaches_the_device(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn upload_reaches_the_device_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdmkit.db");
    let store = SqliteStore::open(
        path.to_str().unwrap(),
        AtRestKey::from_bytes(&[9; 32]).unwrap(),
    )
    .await
    .unwrap();
    upload_reaches_the_device(Arc::new(store)).await;
}
