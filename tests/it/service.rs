//! The service layer and `mdmkit serve`'s web layer end to end: a deployment set up with
//! `init` runs from its store alone. A push certificate is requested and installed through
//! the service, a user is invited, the registration link is fetched over HTTP, the
//! simulated device enrolls with the profile it serves and appears in the user's devices,
//! and the same link is refused the second time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use mdmkit_apns::testing::TestCa;
use mdmkit_apns::CertificateRequest;
use mdmkit_service::push_certs::InstallInput;
use mdmkit_service::{settings, InitOptions, Mdm, MdmConfig};
use mdmkit_tests::{DeviceIdentityKey, SimulatedDevice};
use time::OffsetDateTime;

const TOPIC: &str = "com.apple.mgmt.External.11111111-2222-3333-4444-555555555555";
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// One HTTP/1.1 exchange on a fresh connection: (status, headers, body).
fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    stream.write_all(body).expect("write body");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let split = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, answer[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

async fn open(path: &std::path::Path) -> Mdm {
    Mdm::open(MdmConfig::new(path.to_string_lossy()).key_hex(KEY))
        .await
        .expect("open the deployment")
}

/// Starts `serve` on a free loopback port; returns its address and the shutdown trigger.
async fn start(mdm: Mdm) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let options = mdmkit_web::ServeOptions::new("127.0.0.1:0".parse().unwrap());
    tokio::spawn(async move {
        mdmkit_web::serve(
            mdm,
            options,
            async move {
                let _ = stopped.await;
            },
            move |bound| {
                let _ = bound_tx.send(bound.listen);
            },
        )
        .await
        .expect("serve");
    });
    (bound_rx.await.expect("bound"), stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_runs_from_its_store_and_serves_the_enrollment_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mdmkit.db");

    // Before init: the engine names the missing setting and how to set it.
    let mdm = open(&db).await;
    let error = mdm.engine().map(|_| ()).unwrap_err();
    assert_eq!(error.code(), "setting_missing");
    assert!(error.to_string().contains("mdmkit init"), "{error}");

    let mut options = InitOptions::default();
    options.base_url = Some("https://mdm.example.test/".into());
    options.enrollment_profile_id = Some("com.example.mdm".into());
    options.organisation = Some("Example Corp".into());
    let report = mdm.enrollment().init(options).await.unwrap();
    assert_eq!(report.device_ca, "created");
    assert!(report.written.contains(&settings::SERVER_URL.to_owned()));

    // Reopened, the deployment runs from the stored settings alone.
    let mdm = open(&db).await;
    assert!(mdm.engine().is_ok());
    assert_eq!(
        mdm.settings()
            .get(settings::SERVER_URL)
            .await
            .unwrap()
            .as_deref(),
        Some("https://mdm.example.test/mdm")
    );
    let listed = mdm.settings().list().await.unwrap();
    let key = listed
        .iter()
        .find(|entry| entry.name == settings::DEVICE_CA_KEY)
        .unwrap();
    assert!(key.is_set && key.secret && key.value.is_none(), "{key:?}");
    // init again keeps the device CA.
    let again = mdm.enrollment().init(InitOptions::default()).await.unwrap();
    assert_eq!(again.device_ca, "kept");

    // The push certificate: CSR here, "Apple" issues, install with Apple ID and note.
    let csr = mdm
        .push_certs()
        .create_request("admin@example.test", None)
        .await
        .unwrap();
    let request = CertificateRequest::parse(csr.as_bytes()).unwrap();
    let apple = TestCa::new("Apple test push CA");
    let not_after = OffsetDateTime::now_utc() + time::Duration::days(200);
    let issued = apple.issue_push_cert_for_request(TOPIC, &request, not_after);
    let mut input = InstallInput::new(issued, "admin@example.test");
    input.note = Some("obtained 2026-12-01".into());
    let installed = mdm.push_certs().install(input).await.unwrap();
    assert_eq!(installed.topic, TOPIC);
    let status = mdm.push_certs().status().await.unwrap();
    assert_eq!(status.len(), 1);
    assert!(
        (199..=200).contains(&status[0].days_remaining),
        "{status:?}"
    );
    assert_eq!(mdm.push_certs().topic().await.unwrap(), TOPIC);

    // An invitation without SMTP settings: the links come back, unsent.
    let invited = mdm
        .enrollment()
        .invite("alice", "alice@example.test", Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(!invited.sent);
    let link = invited.registration_link.clone();
    assert!(
        link.starts_with("https://mdm.example.test/enroll?token="),
        "{link}"
    );
    let path = &link["https://mdm.example.test".len()..];

    let (address, stop) = start(mdm.clone()).await;
    let (status, headers, _) = http(address, "GET", "/healthz", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/plain; charset=utf-8")
    );

    // The registration link serves the signed enrollment profile...
    let (status, headers, profile) = http(address, "GET", path, &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&profile));
    assert_eq!(
        header(&headers, "content-type"),
        Some(mdmkit_web::ENROLLMENT_PROFILE_TYPE)
    );
    // ...which a device enrolls with, over HTTP, signing with the identity it carries.
    let identity = DeviceIdentityKey::from_enrollment_profile(&profile).unwrap();
    let device = SimulatedDevice::new("UDID-ALICE-1", TOPIC).with_identity(identity);
    for body in [
        device.authenticate().unwrap(),
        device.token_update(b"token-alice-1", "magic-1").unwrap(),
    ] {
        let request = device.request(body).unwrap();
        let signature = request.header("Mdm-Signature").unwrap().to_owned();
        let (status, _, answer) = http(
            address,
            "PUT",
            "/mdm/checkin",
            &[("Mdm-Signature", &signature)],
            &request.body,
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    }
    // The device is the invited user's.
    let page = mdm.devices().list(Some("alice"), None, 50).await.unwrap();
    assert_eq!(page.devices.len(), 1, "{page:?}");
    assert_eq!(page.devices[0].device_id, "UDID-ALICE-1");
    assert_eq!(page.devices[0].owner.as_deref(), Some("alice"));

    // DDM assets the server serves: routed to the engine, authenticated like MDM requests.
    let signed = device.request(Vec::new()).unwrap();
    let signature = signed.header("Mdm-Signature").unwrap().to_owned();
    let (status, _, _) = http(
        address,
        "GET",
        "/mdm/assets/no-such-asset",
        &[("Mdm-Signature", &signature)],
        b"",
    );
    assert_eq!(status, 404);
    let (status, _, _) = http(address, "GET", "/mdm/assets/no-such-asset", &[], b"");
    assert_eq!(status, 400, "unauthenticated");

    // Declarative Device Management through the service: a configuration and the activation
    // that refers to it, assigned to the device; a dangling reference stores nothing.
    let ddm = mdm.declarations();
    let dangling = r#"{"Type": "com.apple.activation.simple", "Identifier": "act.bad",
        "Payload": {"StandardConfigurations": ["no.such.configuration"]}}"#;
    let refused = ddm.declare("baseline", dangling).await.unwrap_err();
    assert_eq!(refused.code(), "declaration_reference", "{refused}");
    assert!(ddm.list(Some("baseline")).await.unwrap().is_empty());
    let declarations = r#"[
        {"Type": "com.apple.configuration.passcode.settings", "Identifier": "cfg.passcode",
         "Payload": {"RequirePasscode": true, "MinimumLength": 6}},
        {"Type": "com.apple.activation.simple", "Identifier": "act.baseline",
         "Payload": {"StandardConfigurations": ["cfg.passcode"]}}]"#;
    let declared = ddm.declare("baseline", declarations).await.unwrap();
    assert_eq!(declared.changed.len(), 2, "{declared:?}");
    assert!(declared.synchronised, "{declared:?}");
    let assigned = ddm.assign("baseline", "UDID-ALICE-1").await.unwrap();
    assert!(assigned.synchronised, "{assigned:?}");
    assert_eq!(assigned.synced[0].outcome, "queued", "{assigned:?}");
    let listed = ddm.list(Some("baseline")).await.unwrap();
    assert_eq!(listed.len(), 2);
    // Unchanged declarations keep their token: nothing to synchronise.
    let again = ddm.declare("baseline", declarations).await.unwrap();
    assert!(
        again.changed.is_empty() && again.synced.is_empty(),
        "{again:?}"
    );
    assert!(ddm.status("UDID-ALICE-1").await.unwrap().is_none());
    assert_eq!(ddm.delete("no.such").await.unwrap_err().code(), "not_found");
    assert_eq!(
        ddm.declare("baseline", "not json")
            .await
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    // The queued DeclarativeManagement command is not the device's business in this test.
    mdm.store()
        .clear_pending(&mdmkit_core::EnrollmentId::new("UDID-ALICE-1"))
        .await
        .unwrap();

    // The same link again is refused, and nothing is issued.
    let (status, _, body) = http(address, "GET", path, &[], b"");
    assert_eq!(status, 410, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = http(address, "GET", "/enroll", &[], b"");
    assert_eq!(status, 400);

    // A lock is queued (and says why it was not pushed), and the device gets it.
    let outcome = mdm
        .devices()
        .lock("UDID-ALICE-1", Some("Call IT".into()), None, None)
        .await
        .unwrap();
    let uuid = outcome.command_uuid.clone().unwrap();
    let request = device.request(device.idle().unwrap()).unwrap();
    let signature = request.header("Mdm-Signature").unwrap().to_owned();
    let (status, _, command) = http(
        address,
        "PUT",
        "/mdm/server",
        &[("Mdm-Signature", &signature)],
        &request.body,
    );
    assert_eq!(status, 200);
    let decoded = mdmkit_service::protocol::decode_command(&command).unwrap();
    assert_eq!(decoded.request_type, "DeviceLock");
    assert_eq!(decoded.command_uuid, uuid);
    assert_eq!(mdm.devices().queue("UDID-ALICE-1").await.unwrap().len(), 1);

    // Unknown devices and commands are typed refusals.
    assert_eq!(
        mdm.devices().get("UDID-NOBODY").await.unwrap_err().code(),
        "not_found"
    );
    assert_eq!(
        mdm.devices().queue("UDID-NOBODY").await.unwrap_err().code(),
        "not_found"
    );
    assert_eq!(
        mdm.devices()
            .command_status("no-such-command")
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn settings_are_checked_and_secrets_never_shown() {
    let mdm = Mdm::open(MdmConfig::new("memory:")).await.unwrap();
    let settings = mdm.settings();
    for (name, value, code) in [
        (
            settings::SERVER_URL,
            "ftp://mdm.example.test",
            "setting_invalid",
        ),
        (
            settings::SERVER_URL,
            "http://mdm.example.test/mdm",
            "setting_invalid",
        ),
        (settings::ADMIN_EMAIL, "not an address", "setting_invalid"),
        (settings::ORGANISATION, "two\nlines", "setting_invalid"),
        (
            settings::DEVICE_CA_CERTIFICATE,
            "not a certificate",
            "setting_invalid",
        ),
        ("no_such_setting", "x", "setting_invalid"),
    ] {
        let error = settings.set(name, value).await.unwrap_err();
        assert_eq!(error.code(), code, "{name}={value:?}: {error}");
        assert!(!error.to_string().contains("two\nlines"));
    }
    settings
        .set(settings::SERVER_URL, "http://127.0.0.1:8080/mdm")
        .await
        .unwrap();
    settings
        .set(
            settings::SMTP_URL,
            "smtps://mailer:hunter2@mail.example.test",
        )
        .await
        .unwrap();
    let error = settings.get(settings::SMTP_URL).await.unwrap_err();
    assert_eq!(error.code(), "setting_invalid");
    let listed = settings.list().await.unwrap();
    let shown = format!("{listed:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(settings.unset(settings::SERVER_URL).await.unwrap());
    let missing = settings.require(settings::SERVER_URL).await.unwrap_err();
    assert_eq!(missing.code(), "setting_missing");
    assert!(missing
        .to_string()
        .contains("mdmkit settings set server_url"));
}

#[tokio::test]
async fn the_vendor_certificate_and_ade_tokens_in_the_settings_are_watched() {
    let mdm = Mdm::open(MdmConfig::new("memory:")).await.unwrap();
    let settings = mdm.settings();
    let now = OffsetDateTime::now_utc();
    let ca = TestCa::new("Vendor CA");
    let key = mdmkit_apns::PrivateKey::generate_rsa_2048().unwrap();
    let vendor = ca.pem_of(&ca.issue_leaf(
        "MDM Vendor: Example Corp",
        &key,
        now + time::Duration::days(30),
    ));
    settings
        .set(
            settings::VENDOR_CERTIFICATE,
            std::str::from_utf8(&vendor).unwrap(),
        )
        .await
        .unwrap();
    for bad in [
        "school",
        "school=next week",
        "=2027-03-01T00:00:00Z",
        "a=2027-03-01T00:00:00Z, a=2027-04-01T00:00:00Z",
    ] {
        let error = settings.set(settings::ADE_TOKENS, bad).await.unwrap_err();
        assert_eq!(error.code(), "setting_invalid", "{bad:?}");
    }
    let school = (now + time::Duration::days(200))
        .replace_nanosecond(0)
        .unwrap();
    let office = (now - time::Duration::days(2))
        .replace_nanosecond(0)
        .unwrap();
    let rfc = |at: OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    settings
        .set(
            settings::ADE_TOKENS,
            &format!("school={}, office={}", rfc(school), rfc(office)),
        )
        .await
        .unwrap();

    let dashboard = mdm
        .expiry()
        .dashboard(&mdmkit_service::OtherCredentials::default())
        .await
        .unwrap();
    let entry = |kind: &str, name: &str| {
        dashboard
            .iter()
            .find(|entry| entry.kind == kind && entry.name.contains(name))
            .unwrap_or_else(|| panic!("{kind} {name} missing from {dashboard:?}"))
            .clone()
    };
    let vendor_entry = entry("vendor_certificate", "MDM Vendor: Example Corp");
    assert!(vendor_entry.renew_now);
    assert_eq!(vendor_entry.status, "expiring_soon");
    assert!((29..=30).contains(&vendor_entry.days_remaining));
    let school_entry = entry("dep_server_token", "school");
    assert_eq!(school_entry.not_after, school);
    assert!(!school_entry.renew_now);
    assert_eq!(entry("dep_server_token", "office").status, "expired");
    // Soonest first.
    assert_eq!(dashboard[0].name, "office");

    // A token given by the caller replaces the stored one of the same name.
    let renewed = now + time::Duration::days(365);
    let mut given = mdmkit_service::OtherCredentials::default();
    given.ade_tokens.push(("office".into(), renewed));
    let dashboard = mdm.expiry().dashboard(&given).await.unwrap();
    let offices: Vec<_> = dashboard.iter().filter(|e| e.name == "office").collect();
    assert_eq!(offices.len(), 1, "{dashboard:?}");
    assert_eq!(offices[0].status, "valid");
}

#[tokio::test]
async fn a_wrong_or_missing_key_and_an_unknown_override_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let missing = Mdm::open(MdmConfig::new(db.to_string_lossy()))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "invalid_input");
    let bad = Mdm::open(MdmConfig::new(db.to_string_lossy()).key_hex("zz"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "store_crypto", "{bad}");
    let unknown = Mdm::open(MdmConfig::new("memory:").setting("bogus", "1"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "setting_invalid");
}

/// A deployment with a device CA, a push certificate and one invited user; returns it and
/// a registration link path.
async fn deployment(dir: &std::path::Path) -> (Mdm, String) {
    let db = dir.join("mdmkit.db");
    let mdm = open(&db).await;
    let mut options = InitOptions::default();
    options.base_url = Some("https://mdm.example.test".into());
    options.enrollment_profile_id = Some("com.example.mdm".into());
    mdm.enrollment().init(options).await.unwrap();
    let mdm = open(&db).await;
    let csr = mdm
        .push_certs()
        .create_request("admin@example.test", None)
        .await
        .unwrap();
    let request = CertificateRequest::parse(csr.as_bytes()).unwrap();
    let issued = TestCa::new("Apple test push CA").issue_push_cert_for_request(
        TOPIC,
        &request,
        OffsetDateTime::now_utc() + time::Duration::days(300),
    );
    mdm.push_certs()
        .install(InstallInput::new(issued, "admin@example.test"))
        .await
        .unwrap();
    let link = mdm
        .enrollment()
        .invite("bob", "bob@example.test", Duration::from_secs(600))
        .await
        .unwrap()
        .registration_link;
    let path = link["https://mdm.example.test".len()..].to_owned();
    (mdm, path)
}

async fn start_with(
    mdm: Mdm,
    options: mdmkit_web::ServeOptions,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        mdmkit_web::serve(
            mdm,
            options,
            async move {
                let _ = stopped.await;
            },
            move |bound| {
                let _ = bound_tx.send(bound.listen);
            },
        )
        .await
        .expect("serve");
    });
    (bound_rx.await.expect("bound"), stop)
}

/// The device's identity, from the enrollment profile the link serves.
fn enroll_over_http(address: SocketAddr, path: &str) -> std::sync::Arc<DeviceIdentityKey> {
    let (status, _, profile) = http(address, "GET", path, &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&profile));
    DeviceIdentityKey::from_enrollment_profile(&profile).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_the_certificate_header_counts_only_from_trusted_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (mdm, path) = deployment(dir.path()).await;
    // The test connects from 127.0.0.1: trusted in one server, not in the other.
    let mut trusting = mdmkit_web::ServeOptions::new("127.0.0.1:0".parse().unwrap());
    trusting.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let mut distrusting = mdmkit_web::ServeOptions::new("127.0.0.1:0".parse().unwrap());
    distrusting.trusted_proxies = vec!["127.0.0.2".parse().unwrap()];
    let (trusted, stop_trusted) = start_with(mdm.clone(), trusting).await;
    let (untrusted, stop_untrusted) = start_with(mdm.clone(), distrusting).await;

    let identity = enroll_over_http(trusted, &path);
    let device = SimulatedDevice::new("UDID-PROXY-1", TOPIC).with_identity(identity.clone());
    let certificate = openssl::x509::X509::from_der(&identity.certificate_der().unwrap())
        .unwrap()
        .to_pem()
        .unwrap();
    let escaped: String = certificate
        .iter()
        .map(|&byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    // Unsigned bodies: the certificate comes only from the header.
    let body = device.authenticate().unwrap();
    let header = [("X-SSL-Client-Cert", escaped.as_str())];
    let (status, _, answer) = http(untrusted, "PUT", "/mdm/checkin", &header, &body);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&answer));
    assert!(mdm.devices().get("UDID-PROXY-1").await.is_err());
    let (status, _, answer) = http(trusted, "PUT", "/mdm/checkin", &header, &body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert!(mdm.devices().get("UDID-PROXY-1").await.is_ok());
    // A header that is not a certificate, from the trusted proxy: refused like none.
    let token = device.token_update(b"token", "magic").unwrap();
    let junk = [("X-SSL-Client-Cert", "not%20a%20certificate")];
    let (status, _, _) = http(trusted, "PUT", "/mdm/checkin", &junk, &token);
    assert_eq!(status, 400);
    let _ = stop_trusted.send(());
    let _ = stop_untrusted.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_a_device_authenticates_with_its_client_certificate() {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};

    let dir = tempfile::tempdir().unwrap();
    let (mdm, path) = deployment(dir.path()).await;
    // The server's own certificate, from a throwaway CA.
    let ca = TestCa::new("Server test CA");
    let key = mdmkit_apns::PrivateKey::generate_rsa_2048().unwrap();
    let leaf = ca.issue_leaf(
        "localhost",
        &key,
        OffsetDateTime::now_utc() + time::Duration::days(30),
    );
    let mut options = mdmkit_web::ServeOptions::new("127.0.0.1:0".parse().unwrap());
    options.tls = Some((
        ca.pem_of(&leaf),
        mdmkit_core::Secret::new(key.to_pem().unwrap()),
    ));
    let (address, stop) = start_with(mdm.clone(), options).await;

    let exchange = move |identity: Option<Vec<u8>>, request: Vec<u8>| {
        tokio::task::spawn_blocking(move || {
            let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
            connector.set_verify(SslVerifyMode::NONE);
            if let Some(pem) = identity {
                let certificate = openssl::x509::X509::from_pem(&pem).unwrap();
                let key = openssl::pkey::PKey::private_key_from_pem(&pem).unwrap();
                connector.set_certificate(&certificate).unwrap();
                connector.set_private_key(&key).unwrap();
            }
            let connector = connector.build();
            let tcp = TcpStream::connect(address).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut tls = connector.connect("localhost", tcp).unwrap();
            tls.write_all(&request).unwrap();
            let mut answer = Vec::new();
            let _ = tls.read_to_end(&mut answer);
            String::from_utf8_lossy(&answer).to_string()
        })
    };
    let get = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    // A browser without a client certificate still gets the enrollment profile.
    let answer = exchange(None, get.into_bytes()).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert!(
        answer.contains(mdmkit_web::ENROLLMENT_PROFILE_TYPE),
        "{}",
        &answer[..answer.len().min(400)]
    );

    // A new link for the device itself (the first one was spent by the browser).
    let invited = mdm
        .enrollment()
        .invite("carol", "carol@example.test", Duration::from_secs(600))
        .await
        .unwrap();
    let signed = mdm
        .enrollment()
        .enroll(invited.registration_link.split("token=").nth(1).unwrap())
        .await
        .unwrap();
    let identity = DeviceIdentityKey::from_enrollment_profile(&signed.profile).unwrap();
    let device = SimulatedDevice::new("UDID-TLS-1", TOPIC).with_identity(identity.clone());
    let body = device.authenticate().unwrap();
    let put = |body: &[u8]| {
        let mut request = format!(
            "PUT /mdm/checkin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        request
    };
    // Unsigned body, no client certificate: refused.
    let answer = exchange(None, put(&body)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    // Unsigned body, the identity as the TLS client certificate: authenticated.
    let answer = exchange(Some(identity.to_pem().unwrap()), put(&body))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let device_record = mdm.devices().get("UDID-TLS-1").await.unwrap();
    assert_eq!(device_record.owner.as_deref(), Some("carol"));
    let _ = stop.send(());
}
