//! A strict, consistent admin API (issue 14, item 5), over real HTTP: the engine's MDM and
//! admin routers served on loopback, a signed simulated device, raw HTTP/1.1 requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mdmkit_core::engine::http::{admin_router, admin_router_with_keys, mdm_router, ApiKey};
use mdmkit_core::engine::{Action, ActionOutcome, Engine};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{AuditQuery, MemoryStore, SharedStore};
use mdmkit_core::{EnrollmentId, Secret};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOPIC: &str = "com.apple.mgmt.External.admin-api-test";
const KEY: &str = "admin-api-test-key-0123456789";
const BEARER: &str = "Bearer admin-api-test-key-0123456789";

struct Server {
    addr: String,
    engine: Engine,
    store: SharedStore,
    ca: DeviceCa,
}

async fn server() -> Server {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let ca = DeviceCa::new("Admin API Test CA").unwrap();
    let engine = Engine::builder(store.clone(), Arc::new(RecordingPusher::new()))
        .device_ca(ca.certificate_pem().unwrap())
        .enrollment_profile_identifier("com.example.mdm.enrollment")
        .build()
        .unwrap();
    let app = mdm_router(engine.clone()).merge(admin_router(
        engine.clone(),
        Secret::new(KEY.as_bytes().to_vec()),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        addr,
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

    /// An error answer: JSON with a code.
    fn error_code(&self) -> String {
        assert!(
            self.content_type.starts_with("application/json"),
            "{} answered as {:?}",
            self.status,
            self.content_type
        );
        self.json()["error"].as_str().unwrap().to_owned()
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
    assert_eq!(reply.json(), serde_json::json!([]));
}

#[tokio::test]
async fn admin_actions_are_audited_with_the_keys_name() {
    // `admin_router` names its one key "default" (`admin_router_with_keys` names several).
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
    let app = admin_router_with_keys(
        s.engine.clone(),
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
