//! The main demonstration: what mdmkit does today, step by step.
//!
//! Run it with `scripts/demo.sh` (or `cargo run -p mdmkit-examples --bin demo`).
//!
//! Steps 1-3 show the protocol types on their own. Step 4 runs the engine on the embedded
//! SQLite store (a temporary file): a simulated iPhone enrolls with messages signed by its
//! identity certificate, an administrator locks it, the lock is pushed through the APNs
//! client to the loopback mock APNs server, and the device fetches and acknowledges it.
//! Step 5 is enrollment and the self-service portal on the same store: an invitation by
//! e-mail, a device enrolled through its registration link, the user's first password, a
//! lock from the portal, and another user who cannot see the device.

use std::sync::Arc;
use std::time::Duration;

use mdmkit_apns::client::{ApnsClient, ApnsConfig, ClientIdentity, Endpoint};
use mdmkit_apns::lifecycle::{InstallRequest, PushCertLifecycle};
use mdmkit_apns::mock::{MockConfig, MockServer, TestPki};
use mdmkit_apns::push_cert::PushCertificate;
use mdmkit_core::command::{CommandEnvelope, DeviceInformation, DeviceLock};
use mdmkit_core::engine::{Engine, LockOptions, MdmResponse};
use mdmkit_core::notify::{EmailMessage, Notifier};
use mdmkit_core::profile::SigningIdentity;
use mdmkit_core::schema::{DeviceFacts, Platform};
use mdmkit_core::store::{AtRestKey, AuditQuery, SharedStore, SqliteStore};
use mdmkit_core::{
    Checkin, CheckinMessage, CommandResponse, CommandResult, EnrollmentId, Error, Secret,
};
use mdmkit_enrollment::{
    DeviceCa as EnrollmentCa, Enroller, EnrollmentLinks, EnrollmentProfileSettings, Invitations,
    OwnerBinding, Portal, PortalConfig,
};
use mdmkit_tests::{DeviceCa, DeviceIdentityKey, SimulatedDevice};
use time::OffsetDateTime;

/// A TokenUpdate as an iPhone sends it after enrolling.
const TOKEN_UPDATE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
  <key>MessageType</key><string>TokenUpdate</string>
  <key>Topic</key><string>com.apple.mgmt.External.2f1c9b9e-6d1f-4e8a-9d0b-demo00000001</string>
  <key>UDID</key><string>00008030-001A2B3C4D5E6F70</string>
  <key>Token</key><data>3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=</data>
  <key>PushMagic</key><string>7E5C3F1A-8B2D-4C6E-9F0A-1B2C3D4E5F60</string>
  <key>UnlockToken</key><data>ZGVtby11bmxvY2stdG9rZW4=</data>
  <key>AwaitingConfiguration</key><false/>
</dict>
</plist>"#;

/// The same device's answer to a DeviceInformation command.
const DEVICE_INFORMATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
  <key>UDID</key><string>00008030-001A2B3C4D5E6F70</string>
  <key>CommandUUID</key><string>D1A6B0E2-0000-4000-8000-000000000002</string>
  <key>Status</key><string>Acknowledged</string>
  <key>QueryResponses</key>
  <dict>
    <key>DeviceName</key><string>Amy's iPhone</string>
    <key>OSVersion</key><string>17.4.1</string>
    <key>ModelName</key><string>iPhone</string>
    <key>IsSupervised</key><false/>
    <key>BatteryLevel</key><real>0.82</real>
  </dict>
</dict>
</plist>"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protocol_steps()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(engine_steps())
}

fn protocol_steps() -> Result<(), Error> {
    println!("== 1. Build a DeviceLock command");
    let lock = DeviceLock::new()
        .with_message("This iPhone was lost. Please call 555-0100.")
        .with_phone_number("555-0100");
    let envelope = CommandEnvelope::with_uuid("6F9619FF-8B86-4011-B42D-00C04FC964FF", lock);
    let facts = DeviceFacts::new(Platform::Ios);
    envelope.command.info().check(&facts)?;
    println!("(iOS can run {}.)", envelope.request_type());
    println!("{}", String::from_utf8_lossy(&envelope.to_xml()?));

    println!("== 2. Decode a TokenUpdate check-in");
    let checkin = Checkin::decode(TOKEN_UPDATE.as_bytes())?;
    println!("enrollment: {}", checkin.enrollment_id);
    if let CheckinMessage::TokenUpdate(update) = &checkin.message {
        println!("topic:      {}", update.topic);
        println!("push magic: {}", update.push_magic);
        println!("push token: {} bytes", update.token.len());
        // Debug output never shows token bytes.
        println!("unlock:     {:?}", update.unlock_token);
    }

    println!("\n== 3. Ask for device information and decode the answer");
    let query = DeviceInformation::new(vec![
        "DeviceName".into(),
        "OSVersion".into(),
        "BatteryLevel".into(),
    ]);
    let query = CommandEnvelope::with_uuid("D1A6B0E2-0000-4000-8000-000000000002", query);
    println!("sent {} {}", query.request_type(), query.command_uuid);
    let result = CommandResult::decode(DEVICE_INFORMATION.as_bytes(), Some(query.request_type()))?;
    println!("status: {} for {:?}", result.status, result.command_uuid);
    if let Some(CommandResponse::DeviceInformation(info)) = &result.response {
        if let Some(q) = &info.query_responses {
            println!("device name:   {}", q.device_name.as_deref().unwrap_or("?"));
            println!("OS version:    {}", q.os_version.as_deref().unwrap_or("?"));
            println!(
                "battery level: {:.0}%",
                q.battery_level.unwrap_or_default() * 100.0
            );
        }
    }
    Ok(())
}

/// The push topic of the engine steps (the mock PKI puts it in a 64-character field).
const TOPIC: &str = "com.apple.mgmt.External.5c1b7d4e-demo";

fn show(step: &str, response: &MdmResponse) {
    let body = if response.body.is_empty() {
        "empty body".to_owned()
    } else {
        format!("{} bytes", response.body.len())
    };
    println!("   {step}: HTTP {} ({body})", response.status);
}

async fn engine_steps() -> Result<(), Box<dyn std::error::Error>> {
    println!("\n== 4. The engine on the embedded SQLite store");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("mdmkit-demo.db");
    let store: SharedStore = Arc::new(
        SqliteStore::open(
            path.to_str().unwrap_or("mdmkit-demo.db"),
            AtRestKey::generate()?,
        )
        .await?,
    );
    println!("store:  SQLite at {}", path.display());

    // The mock APNs server on loopback, and the real APNs client pointed at it.
    let pki = TestPki::generate(TOPIC)?;
    let apns = MockServer::start(MockConfig::new(
        pki.server_cert_pem.clone(),
        pki.server_key_pem.clone(),
        pki.ca_pem.clone(),
    ))
    .await?;
    let identity = ClientIdentity::from_pem(&pki.client_cert_pem, &pki.client_key_pem)?;
    let config = ApnsConfig::new(Endpoint::from_url(&apns.url())?, identity)
        .server_ca_pem(pki.ca_pem.clone());
    let pusher = Arc::new(ApnsClient::new(config)?);
    let pusher_for_portal = pusher.clone();
    println!("APNs:   mock server at {}", apns.url());

    // Device identities come from the enrollment's CA; the engine trusts it.
    let device_ca = DeviceCa::new("Demo Device Identity CA")?;
    let engine = Engine::builder(store.clone(), pusher)
        .device_ca(device_ca.certificate_pem()?)
        .enrollment_profile_identifier("com.example.mdm.enrollment")
        .build()?;
    let udid = "00008030-001A2B3C4D5E6F70";
    let device = SimulatedDevice::new(udid, TOPIC).with_identity(device_ca.issue(udid)?);
    let enrollment = EnrollmentId::device(udid);

    println!("-- a) the device enrolls (every body signed: Mdm-Signature)");
    let response = engine
        .handle_checkin(device.request(device.authenticate()?)?)
        .await;
    show("Authenticate", &response);
    let record = store
        .get_enrollment(&enrollment)
        .await?
        .ok_or("not enrolled")?;
    println!(
        "   bound identity certificate sha256 {}..., enabled: {}",
        record
            .identity_cert_sha256
            .as_deref()
            .unwrap_or("?")
            .get(..16)
            .unwrap_or("?"),
        record.enabled
    );
    let token = [
        0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
        19, 20, 21, 22, 23, 24, 25, 26, 27,
    ];
    let response = engine
        .handle_checkin(device.request(device.token_update(&token, "7E5C3F1A-DEMO")?)?)
        .await;
    show("TokenUpdate", &response);
    let record = store
        .get_enrollment(&enrollment)
        .await?
        .ok_or("not enrolled")?;
    println!(
        "   enabled: {}, UnlockToken stored: {}",
        record.enabled,
        record.unlock_token.is_some()
    );

    println!("-- b) an administrator locks it: queued, then pushed");
    let mut options = LockOptions::default();
    options.message = Some("This iPhone was lost. Please call 555-0100.".into());
    options.phone_number = Some("555-0100".into());
    let queued = engine.lock(&enrollment, options).await?;
    println!("   queued DeviceLock {}", queued.command_uuid);
    println!("   push: {:?}", queued.push);
    for push in apns.received() {
        println!(
            "   mock APNs received {} {} -> {}",
            push.method, push.path, push.status
        );
    }

    println!("-- c) the device wakes up and asks for its next command");
    let response = engine.handle_command(device.request(device.idle()?)?).await;
    show("Idle", &response);
    let delivered = CommandEnvelope::decode(&response.body)?;
    println!(
        "   delivered {} {}",
        delivered.request_type(),
        delivered.command_uuid
    );

    println!("-- d) the device acknowledges it");
    let ack = device.answer(
        &response.body,
        mdmkit_core::CommandStatus::Acknowledged,
        plist::Dictionary::new(),
    )?;
    let response = engine.handle_command(device.request(ack)?).await;
    show("Acknowledged", &response);
    for target in store.command_status(&queued.command_uuid).await? {
        println!(
            "   {} for {}: {:?}",
            queued.command_uuid, target.enrollment_id, target.status
        );
    }
    println!(
        "   still pending: {}",
        store.pending_commands(&enrollment).await?.len()
    );

    println!("-- e) a second device signing with the first one's UDID is refused");
    let intruder = SimulatedDevice::new(udid, TOPIC).with_identity(device_ca.issue("intruder")?);
    let response = engine
        .handle_command(intruder.request(intruder.idle()?)?)
        .await;
    show("Idle as someone else", &response);
    println!(
        "   reason (logged, not sent): {}",
        response.error.unwrap_or_default()
    );
    portal_steps(&store, pusher_for_portal, &pki).await?;
    apns.shutdown().await;
    Ok(())
}

/// Prints each invitation instead of sending it (an application passes its SMTP notifier).
struct PrintingNotifier;

#[async_trait::async_trait]
impl Notifier for PrintingNotifier {
    async fn send(&self, message: EmailMessage) -> Result<(), Error> {
        println!(
            "   e-mail to {}: {:?}",
            message.to.join(", "),
            message.subject
        );
        for line in message.text_body.lines().filter(|l| !l.trim().is_empty()) {
            println!("   | {line}");
        }
        Ok(())
    }
}

/// The token value of a link (`...?token=VALUE`).
fn token_of(link: &Secret) -> String {
    let link = link.expose_str().unwrap_or_default();
    link.split_once("token=")
        .map(|(_, token)| token.to_owned())
        .unwrap_or_default()
}

async fn portal_steps(
    store: &SharedStore,
    pusher: Arc<ApnsClient>,
    pki: &TestPki,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n== 5. Enrollment and the self-service portal (same store)");
    // The push certificate is registered first: enrollment profiles carry its topic.
    let mut pem = pki.client_cert_pem.clone();
    pem.extend_from_slice(&pki.client_key_pem);
    let certificate = PushCertificate::parse(&pem, None)?;
    PushCertLifecycle::new(store.clone())
        .install(
            InstallRequest::new(certificate, "mdm-admin@example.com").note("demo"),
            OffsetDateTime::now_utc(),
        )
        .await?;
    println!("   push certificate for {TOPIC} registered");

    let ca = Arc::new(EnrollmentCa::generate("Demo Enrollment CA", 365)?);
    let signer_ca = EnrollmentCa::generate("Demo Profile Signer", 365)?;
    let signer = SigningIdentity::from_bytes(
        &signer_ca.certificate_pem()?,
        signer_ca.private_key_pem()?.expose(),
        None,
    )?;
    let engine = Engine::builder(store.clone(), pusher)
        .device_ca(ca.certificate_pem()?)
        .enrollment_profile_identifier("com.example.mdm.enrollment")
        .events(Arc::new(OwnerBinding::new(store.clone())))
        .build()?;
    let settings = EnrollmentProfileSettings::new(
        "com.example.mdm.enrollment",
        "https://mdm.example.com/mdm",
        TOPIC,
    );
    let enroller = Enroller::new(store.clone(), ca, settings, Arc::new(signer));
    let links = EnrollmentLinks::new(
        "https://portal.example.com/accept",
        "https://mdm.example.com/enroll",
    )?;
    let invitations = Invitations::new(store.clone(), Arc::new(PrintingNotifier), links);
    let portal = Portal::new(engine.clone(), PortalConfig::default());

    println!("-- a) an administrator invites Amy");
    let sent = invitations
        .invite("amy", "amy@example.com", Duration::from_secs(72 * 3600))
        .await?;
    println!(
        "   invitation {}...",
        sent.invitation.id.get(..16).unwrap_or("?")
    );

    println!("-- b) Amy opens the registration link on her iPhone: a signed enrollment profile");
    let enrollment = enroller.enroll(&token_of(&sent.registration_link)).await?;
    println!(
        "   {} bytes, signed: {}, identity sha256 {}...",
        enrollment.profile.len(),
        enrollment.signed,
        enrollment
            .identity_sha256
            .as_deref()
            .and_then(|s| s.get(..16))
            .unwrap_or("?")
    );
    let again = enroller.enroll(&token_of(&sent.registration_link)).await;
    println!(
        "   the same link again: {}",
        again.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let udid = "00008110-000A1B2C3D4E5F60";
    let device = SimulatedDevice::new(udid, TOPIC).with_identity(
        DeviceIdentityKey::from_enrollment_profile(&enrollment.profile)?,
    );
    for body in [
        device.authenticate()?,
        device.token_update(&[7; 32], "AMY-MAGIC")?,
    ] {
        let response = engine.handle_checkin(device.request(body)?).await;
        show("check-in", &response);
    }

    println!("-- c) Amy sets her password through the portal link and signs in");
    invitations
        .accept(&token_of(&sent.portal_link), "correct horse battery")
        .await?;
    let session = portal
        .sign_in("amy@example.com", "correct horse battery")
        .await?;
    for listed in portal.devices(&session).await? {
        println!(
            "   her device {}: can {}",
            listed.enrollment_id,
            listed.actions.join(", ")
        );
    }

    println!("-- d) she locks it from the portal; the device fetches and acknowledges the lock");
    let queued = portal.lock(&session, udid, LockOptions::default()).await?;
    println!(
        "   queued DeviceLock {}, push: {:?}",
        queued.command_uuid, queued.push
    );
    let response = engine.handle_command(device.request(device.idle()?)?).await;
    let delivered = CommandEnvelope::decode(&response.body)?;
    println!("   delivered {}", delivered.request_type());
    let ack = device.answer(
        &response.body,
        mdmkit_core::CommandStatus::Acknowledged,
        plist::Dictionary::new(),
    )?;
    show(
        "Acknowledged",
        &engine.handle_command(device.request(ack)?).await,
    );

    println!("-- e) another user cannot see or lock Amy's iPhone");
    portal
        .add_user("bob", "bob@example.com", Some("Bob"))
        .await?;
    portal.set_password("bob", "bobs password").await?;
    let bob = portal.sign_in("bob@example.com", "bobs password").await?;
    let refused = portal.lock(&bob, udid, LockOptions::default()).await;
    println!(
        "   Bob's attempt: {}; pending commands on the iPhone: {}",
        refused.err().map(|e| e.to_string()).unwrap_or_default(),
        store
            .pending_commands(&EnrollmentId::device(udid))
            .await?
            .len()
    );
    let audit = store.list_audit_events(&AuditQuery::default()).await?;
    println!("   audit log (newest first):");
    for event in audit.iter().take(6) {
        println!(
            "   {} {} {} {}",
            event.actor,
            event.action,
            event.target.as_deref().unwrap_or("-"),
            event.detail.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
