//! `mdmkit serve`, run as the built binary: a signed simulated device enrolls over HTTP,
//! an administrator locks it through the admin API, the device fetches the lock; a profile
//! encrypted to the device through the admin API.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use mdmkit_core::{CommandEnvelope, CommandStatus};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use serde_json::Value;

const TOPIC: &str = "com.apple.mgmt.External.serve-test";
const API_KEY: &str = "test-api-key-0123456789";

/// The server process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, ca_pem: &[u8]) -> Server {
    start_with(dir, ca_pem, &[])
}

/// [`start`] with more arguments.
fn start_with(dir: &std::path::Path, ca_pem: &[u8], extra: &[&str]) -> Server {
    std::fs::write(dir.join("device-ca.pem"), ca_pem).unwrap();
    write_secret(dir.join("api.key"), format!("{API_KEY}\n"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .current_dir(dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--device-ca",
            "device-ca.pem",
            "--api-key-file",
            "api.key",
            "--enrollment-profile-id",
            "com.example.enrollment",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Server { child, addr }
}

/// One HTTP/1.1 request; returns the status and the body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&bytes[..end]).unwrap(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&bytes[end + 2..end + 2 + size]);
        bytes = &bytes[end + 4 + size..];
    }
}

fn device_put(
    server: &Server,
    path: &str,
    device: &SimulatedDevice,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let request = device.request(body).unwrap();
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    http(&server.addr, "PUT", path, &headers, &request.body)
}

fn admin(server: &Server, method: &str, path: &str, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {API_KEY}");
    let (status, body) = http(
        &server.addr,
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    );
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn serve_enrolls_a_signed_device_and_runs_an_admin_action() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DeviceCa::new("Serve Test CA").unwrap();
    let server = start(dir.path(), &ca.certificate_pem().unwrap());
    let udid = "SERVE-DEVICE-1";
    let device = SimulatedDevice::new(udid, TOPIC).with_identity(ca.issue(udid).unwrap());

    // Enrollment over HTTP, signed; an unsigned body is refused with 400 (never 401).
    let mut unsigned = device.clone();
    unsigned.identity = None;
    let (status, _) = device_put(
        &server,
        "/mdm/checkin",
        &unsigned,
        device.authenticate().unwrap(),
    );
    assert_eq!(status, 400);
    let (status, _) = device_put(
        &server,
        "/mdm/checkin",
        &device,
        device.authenticate().unwrap(),
    );
    assert_eq!(status, 200);
    let body = device.token_update(&[5; 32], "MAGIC").unwrap();
    assert_eq!(device_put(&server, "/mdm", &device, body).0, 200);

    // The admin API needs the key.
    let (status, _) = http(&server.addr, "GET", "/admin/devices", &[], b"");
    assert_eq!(status, 401);
    let (status, devices) = admin(&server, "GET", "/admin/devices", "");
    assert_eq!(status, 200);
    assert_eq!(devices["items"][0]["enrollment_id"], udid);
    assert_eq!(devices["items"][0]["enabled"], true);

    // Lock through the admin API; no push certificate for the device's topic, so the push
    // is refused with the reason, and the command is not lost.
    let (status, queued) = admin(
        &server,
        "POST",
        &format!("/admin/devices/{udid}/actions/lock"),
        r#"{"message": "Call 555-0100"}"#,
    );
    assert_eq!(status, 200, "{queued}");
    let uuid = queued["command_uuid"].as_str().unwrap().to_owned();
    let reason = queued["push"].as_str().unwrap_or_default();
    assert!(reason.starts_with("topic_not_found: "), "{queued}");
    // A refused action is a typed error.
    let (status, error) = admin(
        &server,
        "POST",
        &format!("/admin/devices/{udid}/actions/enable-lost-mode"),
        r#"{"message": "lost"}"#,
    );
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (409, Some("command_not_supported"))
    );
    // Any typed command.
    let (status, info) = admin(
        &server,
        "POST",
        &format!("/admin/devices/{udid}/commands"),
        r#"{"RequestType": "DeviceInformation", "Queries": ["OSVersion"]}"#,
    );
    assert_eq!(status, 200, "{info}");
    let (_, queue) = admin(&server, "GET", &format!("/admin/devices/{udid}/queue"), "");
    assert_eq!(queue["items"].as_array().unwrap().len(), 2);
    assert_eq!(queue["items"][0]["request_type"], "DeviceLock");

    // The device fetches the lock and acknowledges it.
    let (status, command) = device_put(&server, "/mdm/server", &device, device.idle().unwrap());
    assert_eq!(status, 200);
    assert_eq!(
        CommandEnvelope::decode(&command).unwrap().command_uuid,
        uuid
    );
    let ack = device
        .answer(
            &command,
            CommandStatus::Acknowledged,
            plist::Dictionary::new(),
        )
        .unwrap();
    let (status, next) = device_put(&server, "/mdm/server", &device, ack);
    assert_eq!(status, 200);
    assert_eq!(
        CommandEnvelope::decode(&next).unwrap().request_type(),
        "DeviceInformation"
    );
    let (status, shown) = admin(&server, "GET", &format!("/admin/commands/{uuid}"), "");
    assert_eq!(status, 200);
    assert_eq!(shown["items"][0]["status"], "Acknowledged");
    let (status, shown) = admin(&server, "GET", &format!("/admin/devices/{udid}"), "");
    assert_eq!(
        (status, shown["product_name"].as_str()),
        (200, Some("iPhone15,2"))
    );
}

#[test]
fn serve_refuses_a_missing_device_ca_or_a_short_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .current_dir(dir.path())
        .args(["serve", "--device-ca", "missing.pem"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    std::fs::write(dir.path().join("ca.pem"), b"not a certificate").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .current_dir(dir.path())
        .args(["serve", "--device-ca", "ca.pem"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let ca = DeviceCa::new("CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.certificate_pem().unwrap()).unwrap();
    write_secret(dir.path().join("short.key"), b"short");
    let output = Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .current_dir(dir.path())
        .args([
            "serve",
            "--device-ca",
            "ca.pem",
            "--api-key-file",
            "short.key",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("16 characters"));
}

/// One request a receiver got: headers (lowercase names) and body.
type Received = (Vec<(String, String)>, Vec<u8>);

/// A loopback HTTP/1.1 receiver answering 200 to everything; sends each request to the
/// returned channel.
fn webhook_receiver() -> (String, std::sync::mpsc::Receiver<Received>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let sender = sender.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut headers = Vec::new();
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        let trimmed = line.trim_end();
                        if trimmed.is_empty() {
                            break;
                        }
                        let (name, value) = trimmed.split_once(':').unwrap();
                        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
                    }
                    let length: usize = headers
                        .iter()
                        .find(|(name, _)| name == "content-length")
                        .map_or(0, |(_, value)| value.parse().unwrap());
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    writer
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .unwrap();
                    if sender.send((headers, body)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, receiver)
}

#[test]
fn serve_posts_signed_events_to_the_webhook() {
    use mdmkit_core::engine::webhook::verify_signature;

    let dir = tempfile::tempdir().unwrap();
    let (url, events) = webhook_receiver();
    write_secret(dir.path().join("hook.secret"), "s3cret-for-the-hook\n");
    let ca = DeviceCa::new("Serve Webhook CA").unwrap();
    let server = start_with(
        dir.path(),
        &ca.certificate_pem().unwrap(),
        &[
            "--webhook-url",
            &url,
            "--webhook-secret-file",
            "hook.secret",
        ],
    );
    let udid = "SERVE-WEBHOOK-1";
    let device = SimulatedDevice::new(udid, TOPIC).with_identity(ca.issue(udid).unwrap());
    let (status, _) = device_put(
        &server,
        "/mdm/checkin",
        &device,
        device.authenticate().unwrap(),
    );
    assert_eq!(status, 200);
    let (headers, body) = events
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the Authenticate event reaches the webhook");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    verify_signature(
        b"s3cret-for-the-hook",
        &header("x-mdmkit-timestamp"),
        &body,
        &header("x-mdmkit-signature"),
        time::OffsetDateTime::now_utc(),
        std::time::Duration::from_secs(300),
    )
    .unwrap();
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["type"], "checkin");
    assert_eq!(json["message_type"], "Authenticate");
    assert_eq!(json["enrollment_id"], udid);
}

#[test]
fn serve_refuses_a_webhook_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DeviceCa::new("CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.certificate_pem().unwrap()).unwrap();
    write_secret(dir.path().join("hook.secret"), "secret\n");
    write_secret(dir.path().join("empty.secret"), "\n");
    for (url, secret, expected) in [
        ("http://hooks.example.com/x", "hook.secret", "https"),
        (
            "https://hooks.example.com/x",
            "empty.secret",
            "secret is empty",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_mdmkit"))
            .current_dir(dir.path())
            .args([
                "serve",
                "--device-ca",
                "ca.pem",
                "--webhook-url",
                url,
                "--webhook-secret-file",
                secret,
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains("[webhook_invalid]"), "{stderr}");
    }
}

#[test]
fn serve_installs_a_profile_encrypted_to_the_device() {
    use base64::Engine as _;
    use mdmkit_core::profile::payloads::WebClipManaged;
    use mdmkit_core::profile::{Payload, Profile};

    let dir = tempfile::tempdir().unwrap();
    let ca = DeviceCa::new("Serve Encrypt CA").unwrap();
    let server = start(dir.path(), &ca.certificate_pem().unwrap());
    let udid = "SERVE-ENCRYPT-1";
    let identity = ca.issue_rsa(udid).unwrap();
    let device = SimulatedDevice::new(udid, TOPIC).with_identity(identity.clone());
    let body = device.authenticate().unwrap();
    assert_eq!(device_put(&server, "/mdm/checkin", &device, body).0, 200);
    let body = device.token_update(&[6; 32], "MAGIC").unwrap();
    assert_eq!(device_put(&server, "/mdm", &device, body).0, 200);

    let profile = Profile::new("com.example.serve.secret").with_payload(Payload::new(
        "com.example.serve.secret.clip",
        WebClipManaged::new("https://portal.example.com", "Portal"),
    ));
    let b64 = base64::engine::general_purpose::STANDARD.encode(profile.to_xml().unwrap());
    let path = format!("/admin/devices/{udid}/actions/install-profile");
    let (status, queued) = admin(
        &server,
        "POST",
        &path,
        &format!(r#"{{"profile": "{b64}", "encrypt": true}}"#),
    );
    assert_eq!(status, 200, "{queued}");
    let (status, error) = admin(
        &server,
        "POST",
        &path,
        &format!(r#"{{"profile": "{b64}", "encrypt": "yes"}}"#),
    );
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("json_invalid"))
    );

    let (status, command) = device_put(&server, "/mdm/server", &device, device.idle().unwrap());
    assert_eq!(status, 200);
    let envelope = CommandEnvelope::decode(&command).unwrap();
    let mdmkit_core::Command::InstallProfile(install) = envelope.command else {
        panic!("expected InstallProfile, got {}", envelope.request_type());
    };
    assert_eq!(
        identity
            .decrypt_profile(install.payload.as_bytes())
            .unwrap(),
        profile
    );

    // An EC identity cannot receive one: 409, nothing queued.
    let ec_udid = "SERVE-ENCRYPT-EC";
    let ec_device = SimulatedDevice::new(ec_udid, TOPIC).with_identity(ca.issue(ec_udid).unwrap());
    let body = ec_device.authenticate().unwrap();
    assert_eq!(device_put(&server, "/mdm/checkin", &ec_device, body).0, 200);
    let body = ec_device.token_update(&[7; 32], "MAGIC").unwrap();
    assert_eq!(device_put(&server, "/mdm", &ec_device, body).0, 200);
    let (status, error) = admin(
        &server,
        "POST",
        &format!("/admin/devices/{ec_udid}/actions/install-profile"),
        &format!(r#"{{"profile": "{b64}", "encrypt": true}}"#),
    );
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (409, Some("key_not_supported"))
    );
    let (_, queue) = admin(
        &server,
        "GET",
        &format!("/admin/devices/{ec_udid}/queue"),
        "",
    );
    assert_eq!(queue["items"].as_array().unwrap().len(), 0);
}

/// Writes a file holding a secret as a careful user would: readable by its owner only
/// (mdmkit refuses secret files that others can read).
fn write_secret(path: impl AsRef<std::path::Path>, bytes: impl AsRef<[u8]>) {
    let path = path.as_ref();
    std::fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// `serve` verifies the at-rest key when it opens the store: a wrong key stops it at
/// start (not 500s at every check-in later), and an API key file others can read is
/// refused with one line.
#[test]
fn serve_refuses_a_wrong_key_and_an_open_api_key_file_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DeviceCa::new("Serve Key CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.certificate_pem().unwrap()).unwrap();
    // A server that starts anyway is stopped after a while, and the test fails.
    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mdmkit"))
            .current_dir(dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    };
    assert!(run(&["db", "migrate"]).status.success());
    write_secret(
        dir.path().join("wrong.key"),
        mdmkit_core::store::AtRestKey::generate().unwrap().to_hex(),
    );
    let output = run(&[
        "serve",
        "--device-ca",
        "ca.pem",
        "--listen",
        "127.0.0.1:0",
        "--key-file",
        "wrong.key",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[store_key_mismatch]"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));

    std::fs::write(dir.path().join("open-api.key"), "0123456789abcdef0123\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("open-api.key"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        let output = run(&[
            "serve",
            "--device-ca",
            "ca.pem",
            "--listen",
            "127.0.0.1:0",
            "--api-key-file",
            "open-api.key",
        ]);
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("permissions 0640 for 'open-api.key' are too open"),
            "{stderr}"
        );
    }
}
