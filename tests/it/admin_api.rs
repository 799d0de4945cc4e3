//! A strict, consistent admin API (issue 14, item 5), over real HTTP: core's MDM router
//! and the web layer's admin API (over the service) served on loopback, a signed simulated
//! device, raw HTTP/1.1 requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mdmkit_core::engine::http::mdm_router;
use mdmkit_core::engine::{Action, ActionOutcome, Engine};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{AuditQuery, MemoryStore, SharedStore};
use mdmkit_core::{EnrollmentId, Secret};
use mdmkit_service::{settings, Mdm, MdmConfig};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use mdmkit_web::api::{self, ApiKey};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOPIC: &str = "com.apple.mgmt.External.admin-api-test";
const KEY: &str = "admin-api-test-key-0123456789";
const BEARER: &str = "Bearer admin-api-test-key-0123456789";

struct Server {
    addr: String,
    mdm: Mdm,
    engine: Engine,
    store: SharedStore,
    ca: DeviceCa,
}

async fn server() -> Server {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let ca = DeviceCa::new("Admin API Test CA").unwrap();
    let ca_pem = String::from_utf8(ca.certificate_pem().unwrap()).unwrap();
    let config = MdmConfig::new("memory:")
        .pusher(Arc::new(RecordingPusher::new()))
        .setting(settings::DEVICE_CA_CERTIFICATE, ca_pem)
        .setting(
            settings::ENROLLMENT_PROFILE_ID,
            "com.example.mdm.enrollment",
        );
    let mdm = Mdm::with_store(store.clone(), config).await.unwrap();
    let engine = mdm.engine().unwrap().clone();
    let app = mdm_router(engine.clone())
        .merge(mdmkit_web::admin_router(&mdm, Secret::new(KEY.as_bytes().to_vec())).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        addr,
        mdm,
        engine,
        store,
        ca,
    }
}

fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({} {}): {:?}",
                self.status,
                self.content_type,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// An error answer: JSON `{"error": {"code", "message"}}`.
    fn error_code(&self) -> String {
        assert!(
            self.content_type.starts_with("application/json"),
            "{} answered as {:?}",
            self.status,
            self.content_type
        );
        let error = &self.json()["error"];
        assert!(error["message"].is_string(), "{error}");
        error["code"].as_str().unwrap().to_owned()
    }
}

impl Server {
    /// One HTTP/1.1 request with a raw (possibly non-UTF-8) path.
    async fn raw(&self, method: &str, path: &[u8], key: bool, body: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(&self.addr).await.unwrap();
        let mut head = Vec::new();
        head.extend_from_slice(method.as_bytes());
        head.push(b' ');
        head.extend_from_slice(path);
        head.extend_from_slice(
            format!(
                " HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
                self.addr,
                body.len()
            )
            .as_bytes(),
        );
        if key {
            head.extend_from_slice(format!("Authorization: {BEARER}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        stream.write_all(&head).await.unwrap();
        // The server may answer (and close) before the whole body was sent.
        let _ = stream.write_all(body).await;
        read_reply(&mut stream).await
    }

    async fn call(&self, method: &str, path: &str, body: &str) -> Reply {
        self.raw(method, path.as_bytes(), true, body.as_bytes())
            .await
    }

    /// An enrolled, signed device.
    async fn device(&self, name: &str) -> SimulatedDevice {
        self.device_with_os(name, "17.4").await
    }

    async fn device_with_os(&self, name: &str, os_version: &str) -> SimulatedDevice {
        let udid = unique(name);
        let mut device =
            SimulatedDevice::new(&udid, TOPIC).with_identity(self.ca.issue("device").unwrap());
        device.os_version = os_version.to_owned();
        for body in [
            device.authenticate().unwrap(),
            device.token_update(&[1; 32], "magic").unwrap(),
        ] {
            let response = self
                .engine
                .handle_checkin(device.request(body).unwrap())
                .await;
            assert_eq!(response.status, 200, "{:?}", response.error);
        }
        device
    }

    async fn pending(&self, device: &SimulatedDevice) -> usize {
        self.store
            .pending_commands(&EnrollmentId::device(&device.udid))
            .await
            .unwrap()
            .len()
    }
}

async fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut response))
        .await
        .expect("the server answers")
        .ok();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete answer");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        content_type,
        body,
    }
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&bytes[..end]).unwrap(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&bytes[end + 2..end + 2 + size]);
        bytes = &bytes[end + 4 + size..];
    }
    out
}

fn action_path(device: &SimulatedDevice, action: &str) -> String {
    format!("/admin/devices/{}/actions/{action}", device.udid)
}

#[tokio::test]
async fn action_bodies_are_strict_and_nothing_is_queued_for_a_bad_one() {
    let s = server().await;
    let device = s.device("strict").await;
    let long = "x".repeat(15 * 1024 * 1024);
    let cases: Vec<(String, String)> = vec![
        (action_path(&device, "lock"), r#"{"mesage": "hi"}"#.into()),
        (action_path(&device, "lock"), r#"{"message": 5}"#.into()),
        (
            action_path(&device, "lock"),
            format!(r#"{{"message": "{}"}}"#, "m".repeat(5000)),
        ),
        (
            action_path(&device, "device-information"),
            r#"{"queries": [1, 2, 3]}"#.into(),
        ),
        (
            action_path(&device, "remove-profile"),
            r#"{"identifier": ""}"#.into(),
        ),
        (action_path(&device, "unlock"), r#"{"force": true}"#.into()),
        (
            action_path(&device, "wipe"),
            r#"{"PIN": "1", "PIN": "2"}"#.into(),
        ),
        (
            format!("/admin/devices/{}/commands", device.udid),
            r#"{"RequestType": "EraseDevice", "PIN": "123456", "RequestType": "DeviceLock"}"#
                .into(),
        ),
        (
            format!("/admin/devices/{}/commands", device.udid),
            r#"{"RequestType": "InstallProfile", "Payload": "aGVsbG8gd29ybGQ="}"#.into(),
        ),
        (
            format!("/admin/devices/{}/commands", device.udid),
            format!(
                r#"{{"RequestType": "DeviceLock", "Message": "{}"}}"#,
                "m".repeat(9000)
            ),
        ),
    ];
    for (path, body) in &cases {
        let reply = s.call("POST", path, body).await;
        assert_eq!(reply.status, 400, "{path} {body}: {:?}", reply.json());
        reply.error_code();
    }
    let reply = s
        .call(
            "POST",
            &action_path(&device, "lock"),
            &format!(r#"{{"message": "{long}"}}"#),
        )
        .await;
    assert!(
        [400, 413].contains(&reply.status),
        "a 15 MB message: {}",
        reply.status
    );
    reply.error_code();
    assert_eq!(
        s.pending(&device).await,
        0,
        "a refused body queued something"
    );

    let reply = s
        .call(
            "POST",
            &action_path(&device, "lock"),
            r#"{"message": "ok"}"#,
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    assert_eq!(s.pending(&device).await, 1);
}

#[tokio::test]
async fn every_error_is_json_with_a_code_and_the_key_comes_first() {
    let s = server().await;
    let device = s.device("errors").await;

    let reply = s.call("GET", "/admin/nothing-here", "").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "not_found")
    );
    let reply = s.call("GET", &action_path(&device, "lock"), "").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (405, "method_not_allowed")
    );
    let reply = s
        .call("POST", &action_path(&device, "no-such-action"), "")
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "not_found")
    );
    let reply = s
        .raw("GET", b"/admin/devices/%FF%FE/queue", true, b"")
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (400, "path_invalid")
    );
    let big = vec![b' '; 13 * 1024 * 1024];
    let reply = s
        .raw("POST", action_path(&device, "lock").as_bytes(), true, &big)
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (413, "body_too_large")
    );

    // Without a key: 401 before the path is decoded or the body read.
    let reply = s
        .raw("GET", b"/admin/devices/%FF%FE/queue", false, b"")
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (401, "unauthorized")
    );
    let reply = s
        .raw("POST", action_path(&device, "lock").as_bytes(), false, &big)
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (401, "unauthorized")
    );
    // The answer comes without the body being sent at all.
    let mut stream = TcpStream::connect(&s.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 16000000\r\n\r\n",
        action_path(&device, "lock")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut first))
        .await
        .expect("401 before the body")
        .unwrap();
    assert_eq!(&first, b"HTTP/1.1 401");
}

#[tokio::test]
async fn mdm_endpoints_answer_405_to_post() {
    let s = server().await;
    let device = s.device("post").await;
    for path in ["/mdm/checkin", "/mdm/server", "/mdm"] {
        let body = device.idle().unwrap();
        let reply = s.raw("POST", path.as_bytes(), false, &body).await;
        assert_eq!(reply.status, 405, "POST {path}");
    }
}

#[tokio::test]
async fn the_queue_of_an_unknown_device_is_404() {
    let s = server().await;
    let reply = s
        .call("GET", "/admin/devices/no-such-device/queue", "")
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "not_found")
    );
    let device = s.device("queue").await;
    let reply = s
        .call("GET", &format!("/admin/devices/{}/queue", device.udid), "")
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), serde_json::json!({"items": [], "next": null}));
}

#[tokio::test]
async fn admin_actions_are_audited_with_the_keys_name() {
    // `admin_router` names its one key "default" (`api::router` takes several named keys).
    let s = server().await;
    let device = s.device("audit").await;
    let reply = s
        .call(
            "POST",
            &action_path(&device, "lock"),
            r#"{"message": "lost"}"#,
        )
        .await;
    assert_eq!(reply.status, 200);
    let uuid = reply.json()["command_uuid"].as_str().unwrap().to_owned();
    let reply = s.call("POST", &action_path(&device, "unlock"), "").await;
    assert_eq!(reply.status, 200);
    let reply = s
        .call(
            "POST",
            &action_path(&device, "remove-profile"),
            r#"{"identifier": ""}"#,
        )
        .await;
    assert_eq!(reply.status, 400);

    let mut query = AuditQuery::default();
    query.target = Some(EnrollmentId::device(&device.udid).to_string());
    let events = s.store.list_audit_events(&query).await.unwrap();
    let summary: Vec<(String, String, Value)> = events
        .iter()
        .rev()
        .map(|e| {
            (
                e.actor.clone(),
                e.action.clone(),
                serde_json::from_str(e.detail.as_deref().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(summary.len(), 3, "{summary:?}");
    assert!(summary.iter().all(|(actor, ..)| actor == "api-key:default"));
    assert_eq!(summary[0].1, "device.lock");
    assert_eq!(summary[0].2["outcome"], "queued");
    assert_eq!(summary[0].2["command_uuid"], uuid.as_str());
    assert_eq!(summary[1].1, "device.unlock");
    assert_eq!(summary[2].1, "device.remove-profile");
    assert_eq!(summary[2].2["outcome"], "refused");
    assert_eq!(summary[2].2["error"], "json_invalid");

    // Changes other than device actions name the key too (not a plain `admin`).
    let reply = s
        .call(
            "POST",
            "/admin/certificate-kinds",
            r#"{"name": "Signing", "usage": "signing"}"#,
        )
        .await;
    assert_eq!(reply.status, 200);
    let mut query = AuditQuery::default();
    query.target = Some("signing".into());
    let events = s.store.list_audit_events(&query).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "certificate.kind_add");
    assert_eq!(events[0].actor, "api-key:default");
}

#[tokio::test]
async fn implausible_identifiers_are_refused_at_authenticate() {
    let s = server().await;
    for udid in [
        "a/b".to_owned(),
        "..\\x".to_owned(),
        "abc\u{202E}def".to_owned(),
        "line\nbreak".to_owned(),
        "x".repeat(129),
    ] {
        let device = SimulatedDevice::new(&udid, TOPIC).with_identity(s.ca.issue("odd").unwrap());
        let response = s
            .engine
            .handle_checkin(device.request(device.authenticate().unwrap()).unwrap())
            .await;
        assert_eq!(response.status, 400, "{udid:?} was accepted");
        assert!(response.error.unwrap().contains("plausible"));
        assert!(s
            .store
            .get_enrollment(&EnrollmentId::device(&udid))
            .await
            .unwrap()
            .is_none());
    }
    // 128 characters of a real UDID's alphabet are fine.
    let device = s.device(&"A-0".repeat(40)).await;
    assert!(device.udid.len() <= 128);
}

#[tokio::test]
async fn an_unparsable_os_version_does_not_block_lock_or_wipe() {
    let s = server().await;
    let device = s.device_with_os("odd-os", "seventeen point four").await;
    let reply = s
        .call("POST", &action_path(&device, "lock"), r#"{"message": "x"}"#)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let reply = s.call("POST", &action_path(&device, "wipe"), "{}").await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    // A safety action is not gated by a version the device reports, even an old one.
    let old = s.device_with_os("old-os", "3.0").await;
    let reply = s.call("POST", &action_path(&old, "lock"), "").await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
}

#[tokio::test]
async fn named_keys_are_audited_under_their_names_and_the_table_is_shared() {
    let s = server().await;
    let device = s.device("named").await;
    let app = api::router(
        &s.mdm,
        vec![
            ApiKey::new("ops", Secret::new(b"ops-key-0123456789".to_vec())),
            ApiKey::new("helpdesk", Secret::new(b"helpdesk-key-012345".to_vec())),
        ],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\
         Authorization: Bearer helpdesk-key-012345\r\n\r\n",
        action_path(&device, "locate")
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let reply = read_reply(&mut stream).await;
    // Locate needs a supervised device in lost mode: refused, and audited all the same.
    assert_eq!(reply.status, 409, "{:?}", reply.json());
    let mut query = AuditQuery::default();
    query.target = Some(EnrollmentId::device(&device.udid).to_string());
    let events = s.store.list_audit_events(&query).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "api-key:helpdesk");
    assert_eq!(events[0].action, "device.locate");
    assert!(events[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("command_not_supported"));

    // The table the HTTP API uses is the engine's: the same parse, the same run.
    let action = Action::parse("lock", br#"{"message": "from a binding"}"#).unwrap();
    assert_eq!(action.name(), "lock");
    let outcome = s
        .engine
        .run_action(&EnrollmentId::device(&device.udid), action)
        .await
        .unwrap();
    assert!(matches!(outcome, ActionOutcome::Queued(_)));
    assert_eq!(s.pending(&device).await, 1);
}

/// One request with the API key to a server on `addr`; the JSON answer.
async fn call_at(addr: &str, method: &str, path: &str, body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Length: {}\r\nAuthorization: {BEARER}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    read_reply(&mut stream).await
}

const PUSH_TOPIC: &str = "com.apple.mgmt.External.aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

/// A deployment set up with `init` (memory store), served by the admin API alone.
async fn deployment_api() -> String {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let config = || MdmConfig::new("memory:").pusher(Arc::new(RecordingPusher::new()));
    let mdm = Mdm::with_store(store.clone(), config()).await.unwrap();
    let mut options = mdmkit_service::InitOptions::default();
    options.base_url = Some("https://mdm.example.test".into());
    options.enrollment_profile_id = Some("com.example.mdm".into());
    mdm.enrollment().init(options).await.unwrap();
    let mdm = Mdm::with_store(store, config()).await.unwrap();
    let app = api::router(
        &mdm,
        vec![ApiKey::new("ops", Secret::new(KEY.as_bytes().to_vec()))],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

/// Requests a CSR and installs the certificate a test "Apple" CA issues for it, through
/// the API.
async fn install_push_cert(addr: &str) {
    let reply = call_at(
        addr,
        "POST",
        "/admin/push-certificates/csr",
        r#"{"email": "admin@example.test"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let csr = reply.json()["csr_pem"].as_str().unwrap().to_owned();
    let request = mdmkit_apns::CertificateRequest::parse(csr.as_bytes()).unwrap();
    let issued = mdmkit_apns::testing::TestCa::new("Apple test push CA")
        .issue_push_cert_for_request(
            PUSH_TOPIC,
            &request,
            time::OffsetDateTime::now_utc() + time::Duration::days(300),
        );
    use base64::Engine as _;
    let install = serde_json::json!({
        "certificate": base64::engine::general_purpose::STANDARD.encode(issued),
        "apple_id": "admin@example.test",
        "note": "obtained 2026-12-01",
    });
    let reply = call_at(
        addr,
        "POST",
        "/admin/push-certificates",
        &install.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    assert_eq!(reply.json()["action"], "installed");
    assert_eq!(reply.json()["topic"], PUSH_TOPIC);
}

#[tokio::test]
async fn the_push_certificate_lifecycle_through_the_api() {
    let addr = deployment_api().await;
    install_push_cert(&addr).await;
    // A second install body with an unknown key is refused before anything is read.
    let reply = call_at(
        &addr,
        "POST",
        "/admin/push-certificates",
        r#"{"certificate": "x", "apple_id": "a", "apple-id": "b"}"#,
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (400, "json_invalid")
    );

    let reply = call_at(&addr, "GET", "/admin/push-certificates", "").await;
    let listed = reply.json();
    assert_eq!(listed["items"][0]["topic"], PUSH_TOPIC, "{listed}");
    assert_eq!(listed["items"][0]["status"], "valid");
    assert_eq!(listed["next"], serde_json::Value::Null);
    let edit = format!("/admin/push-certificates/{PUSH_TOPIC}");
    let reply = call_at(&addr, "PATCH", &edit, r#"{"note": "renew in autumn"}"#).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    assert_eq!(reply.json()["note"], "renew in autumn");
    let reply = call_at(&addr, "GET", &format!("{edit}/history"), "").await;
    let actions: Vec<String> = reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["installed", "edited"]);
    let reply = call_at(&addr, "GET", "/admin/expiry", "").await;
    assert_eq!(reply.json()["items"][0]["kind"], "push_certificate");
    assert_eq!(reply.json()["items"][0]["renew_now"], false);
    let reply = call_at(
        &addr,
        "GET",
        "/admin/push-certificates/mismatched-enrollments",
        "",
    )
    .await;
    assert_eq!(reply.json()["items"], serde_json::json!([]));

    // Delete keeps the note, which can still be edited.
    let reply = call_at(&addr, "DELETE", &edit, "").await;
    assert_eq!(reply.json()["note"], "renew in autumn");
    let reply = call_at(&addr, "DELETE", &edit, "").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "topic_not_found")
    );
    let reply = call_at(&addr, "GET", "/admin/deleted-push-certificates", "").await;
    assert_eq!(reply.json()["items"][0]["note"], "renew in autumn");
    let reply = call_at(
        &addr,
        "PATCH",
        &format!("/admin/deleted-push-certificates/{PUSH_TOPIC}"),
        r#"{"apple_id": "new@example.test"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    assert_eq!(reply.json()["apple_id"], "new@example.test");
    let reply = call_at(&addr, "GET", "/admin/push-certificates", "").await;
    assert_eq!(reply.json()["items"], serde_json::json!([]));
}

#[tokio::test]
async fn invitations_links_and_settings_through_the_api() {
    let addr = deployment_api().await;
    // Without a push certificate no enrollment profile can be made, but invitations can.
    let reply = call_at(
        &addr,
        "POST",
        "/admin/invitations",
        r#"{"user_id": "bob", "email": "bob@example.test", "ttl_hours": 2}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let first = reply.json();
    assert_eq!(first["sent"], false);
    assert!(first["registration_link"]
        .as_str()
        .unwrap()
        .starts_with("https://mdm.example.test/enroll?token="));
    let id = first["invitation"]["id"].as_str().unwrap().to_owned();
    let reply = call_at(&addr, "GET", "/admin/invitations?user=bob", "").await;
    assert_eq!(reply.json()["items"][0]["id"], id.as_str());
    let reply = call_at(
        &addr,
        "POST",
        &format!("/admin/invitations/{id}/resend"),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let resent = reply.json();
    let new_id = resent["invitation"]["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    assert_ne!(resent["portal_link"], first["portal_link"]);
    let reply = call_at(&addr, "GET", "/admin/invitations", "").await;
    let ids: Vec<String> = reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, std::slice::from_ref(&new_id));
    let reply = call_at(
        &addr,
        "POST",
        &format!("/admin/invitations/{id}/resend"),
        "",
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "not_found")
    );

    // The registration link sent with the invitation is listed (by id, never its token).
    let reply = call_at(&addr, "GET", "/admin/enrollment-links?user=bob", "").await;
    let links = reply.json();
    assert_eq!(links["items"].as_array().unwrap().len(), 1, "{links}");
    assert_eq!(links["items"][0]["invitation"], new_id.as_str());
    let reply = call_at(&addr, "DELETE", &format!("/admin/invitations/{new_id}"), "").await;
    assert_eq!(reply.json()["revoked"], true);
    let reply = call_at(&addr, "DELETE", &format!("/admin/invitations/{new_id}"), "").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "not_found")
    );

    // A plain enrollment link (the profile names the push topic), listed and revoked.
    install_push_cert(&addr).await;
    let reply = call_at(
        &addr,
        "POST",
        "/admin/enrollment-links",
        r#"{"user_id": "bob"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    assert!(reply.json()["url"].as_str().unwrap().contains("token="));
    let reply = call_at(&addr, "GET", "/admin/enrollment-links", "").await;
    let link_id = reply.json()["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/enrollment-links/{link_id}");
    assert_eq!(call_at(&addr, "DELETE", &path, "").await.status, 200);
    let reply = call_at(&addr, "DELETE", &path, "").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "not_found")
    );

    // Settings: paged, checked, secrets never shown.
    let reply = call_at(&addr, "GET", "/admin/settings?limit=2", "").await;
    let page = reply.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap().to_owned();
    let reply = call_at(
        &addr,
        "GET",
        &format!("/admin/settings?limit=500&after={next}"),
        "",
    )
    .await;
    let rest = reply.json()["items"].as_array().unwrap().clone();
    assert!(rest.iter().all(|s| s["name"] != page["items"][0]["name"]));
    let key = rest.iter().find(|s| s["name"] == "device_ca_key").unwrap();
    assert_eq!(
        (key["is_set"].clone(), key["value"].clone()),
        (true.into(), Value::Null)
    );
    let reply = call_at(
        &addr,
        "PUT",
        "/admin/settings/organisation",
        r#"{"value": "Acme"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let reply = call_at(
        &addr,
        "PUT",
        "/admin/settings/server_url",
        r#"{"value": "ftp://x"}"#,
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (400, "setting_invalid")
    );
    let reply = call_at(&addr, "DELETE", "/admin/settings/organisation", "").await;
    assert_eq!(reply.json()["removed"], true);
    for (path, code) in [
        ("/admin/settings?after=bogus", "invalid_input"),
        ("/admin/settings?bogus=1", "query_invalid"),
        ("/admin/settings?limit=many", "query_invalid"),
    ] {
        let reply = call_at(&addr, "GET", path, "").await;
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (400, code),
            "{path}"
        );
    }
}

/// Every route of the table (the one the OpenAPI document is checked against) answers:
/// never the router's own 404 or 405, never a server error.
#[tokio::test]
async fn every_route_answers() {
    let addr = deployment_api().await;
    for route in api::routes() {
        let path = route
            .path
            .replace("{action}", "lock")
            .replace("{topic}", PUSH_TOPIC)
            .replace("{name}", "organisation")
            .replace("{user}", "alice")
            .replace(['{', '}'], "");
        let reply = call_at(&addr, route.method, &path, "").await;
        assert!(
            reply.status < 500 && reply.status != 405,
            "{} {path}: {}",
            route.method,
            reply.status
        );
        if reply.status == 404 {
            assert_ne!(
                reply.json()["error"]["message"],
                "no such endpoint",
                "{} {path} is not routed",
                route.method
            );
        }
    }
    let reply = call_at(&addr, "GET", "/api/openapi.json", "").await;
    assert_eq!(reply.json()["openapi"], "3.1.0");
}

#[tokio::test]
async fn device_lists_are_paged() {
    let s = server().await;
    let mut udids = Vec::new();
    for _ in 0..3 {
        udids.push(s.device("paged").await.udid);
    }
    udids.sort();
    let reply = s.call("GET", "/admin/devices?limit=2", "").await;
    let first = reply.json();
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["enrollment_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [udids[0].as_str(), udids[1].as_str()]);
    let next = first["next"].as_str().unwrap();
    let reply = s
        .call("GET", &format!("/admin/devices?limit=2&after={next}"), "")
        .await;
    let second = reply.json();
    assert_eq!(second["items"][0]["enrollment_id"], udids[2].as_str());
    assert_eq!(second["next"], Value::Null);
    let reply = s.call("GET", "/admin/devices?user=nobody", "").await;
    assert_eq!(reply.json()["items"], serde_json::json!([]));
}

#[tokio::test]
async fn portal_users_and_their_certificates_through_the_api() {
    let addr = deployment_api().await;
    let reply = call_at(
        &addr,
        "POST",
        "/admin/portal-users",
        r#"{"id": "alice", "email": "alice@example.test", "name": "Alice"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let reply = call_at(&addr, "GET", "/admin/portal-users", "").await;
    assert_eq!(reply.json()["items"][0]["email"], "alice@example.test");
    let reply = call_at(&addr, "GET", "/admin/portal-users/alice", "").await;
    assert_eq!(reply.json()["name"], "Alice");
    let reply = call_at(&addr, "GET", "/admin/portal-users/nobody", "").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "not_found")
    );

    let reply = call_at(
        &addr,
        "POST",
        "/admin/certificate-kinds",
        r#"{"name": "S/MIME signing", "usage": "signing"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let kind = reply.json()["id"].as_str().unwrap().to_owned();
    let reply = call_at(
        &addr,
        "POST",
        "/admin/certificate-kinds",
        r#"{"name": "S/MIME signing", "usage": "signing"}"#,
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (409, "kind_exists")
    );
    let reply = call_at(&addr, "GET", "/admin/certificate-kinds", "").await;
    assert_eq!(reply.json()["items"][0]["id"], kind.as_str());

    use base64::Engine as _;
    let identity = mdmkit_certstore::testing::TestIdentity::for_email("alice@example.test");
    let upload = |password: &str| {
        serde_json::json!({
            "kind": kind,
            "pkcs12": base64::engine::general_purpose::STANDARD
                .encode(identity.pkcs12_modern("secret-password")),
            "password": password,
            "name": "mail",
        })
        .to_string()
    };
    let path = "/admin/portal-users/alice/certificates";
    let reply = call_at(&addr, "POST", path, &upload("wrong")).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (400, "p12_bad_password")
    );
    let reply = call_at(&addr, "POST", path, &upload("secret-password")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.json()["has_private_key"], true);
    let reply = call_at(&addr, "GET", path, "").await;
    assert_eq!(reply.json()["items"][0]["id"], id.as_str());
    let cert = format!("/admin/certificates/{id}");
    let reply = call_at(&addr, "PATCH", &cert, r#"{"name": "work mail"}"#).await;
    assert_eq!(reply.json()["name"], "work mail");
    let reply = call_at(&addr, "POST", &format!("{cert}/clear-private-key"), "").await;
    assert_eq!(reply.json()["has_private_key"], false);
    let reply = call_at(&addr, "GET", &cert, "").await;
    assert_eq!(reply.json()["has_private_key"], false);
    let reply = call_at(&addr, "DELETE", &cert, "").await;
    assert_eq!(reply.json()["deleted"], true);
    let reply = call_at(&addr, "DELETE", &cert, "").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "not_found")
    );
    let reply = call_at(&addr, "GET", &cert, "").await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (404, "unknown_certificate")
    );
}
