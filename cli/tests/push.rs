//! `mdmkit push`: the mock server as a process, and `push send` against it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use mdmkit_apns::mock::TestPki;

const TOPIC: &str = "com.apple.mgmt.External.cli-test";

fn mdmkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mdmkit"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mdmkit-cli-push-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_pki(dir: &Path) {
    let pki = TestPki::generate(TOPIC).unwrap();
    for (name, pem) in [
        ("ca.pem", &pki.ca_pem),
        ("server.pem", &pki.server_cert_pem),
        ("server.key", &pki.server_key_pem),
        ("client.pem", &pki.client_cert_pem),
        ("client.key", &pki.client_key_pem),
    ] {
        std::fs::write(dir.join(name), pem).unwrap();
    }
}

/// A mock server process; killed when dropped.
struct Mock {
    child: Child,
    url: String,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_mock(dir: &Path, script: Option<&str>) -> Mock {
    let mut command = mdmkit();
    command.args(["push", "mock-server", "--listen", "127.0.0.1:0"]);
    for (flag, file) in [
        ("--ca", "ca.pem"),
        ("--cert", "server.pem"),
        ("--key", "server.key"),
    ] {
        command.arg(flag).arg(dir.join(file));
    }
    if let Some(script) = script {
        let path = dir.join("script.json");
        std::fs::write(&path, script).unwrap();
        command.arg("--script").arg(path);
    }
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Mock { child, url }
}

/// The client options of every pushing subcommand.
fn client_args(command: &mut Command, dir: &Path, mock: &Mock) {
    command
        .arg("--cert")
        .arg(dir.join("client.pem"))
        .arg("--key")
        .arg(dir.join("client.key"))
        .args(["--endpoint", &mock.url, "--server-ca"])
        .arg(dir.join("ca.pem"));
}

fn send(dir: &Path, mock: &Mock, token: &str) -> Output {
    let mut command = mdmkit();
    command.args(["push", "send", "--token", token, "--magic", "MAGIC-1"]);
    client_args(&mut command, dir, mock);
    command.output().unwrap()
}

#[test]
fn send_prints_the_apns_id_or_the_reason() {
    let dir = temp_dir("send");
    write_pki(&dir);
    let mock = start_mock(
        &dir,
        Some(r#"{"tokens": {"0bad": [{"status": 410, "timestamp": 1700000000000}]}}"#),
    );

    let ok = send(&dir, &mock, "00ff00ff");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let apns_id = String::from_utf8(ok.stdout).unwrap();
    assert_eq!(apns_id.trim().len(), 36, "{apns_id}");

    let gone = send(&dir, &mock, "0BAD");
    assert_eq!(gone.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(
        stderr.contains("Unregistered")
            && stderr.contains("410")
            && stderr.contains("since 2023-11-14T22:13:20Z"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("1700000000000"),
        "a time for people: {stderr}"
    );
}

#[test]
fn bad_input_exits_2() {
    let dir = temp_dir("bad");
    write_pki(&dir);
    let mock = start_mock(&dir, None);
    for token in ["xyz", "abc", ""] {
        let out = send(&dir, &mock, token);
        assert_eq!(out.status.code(), Some(2), "{token:?}");
    }
    let mut zero_attempts = mdmkit();
    zero_attempts.args([
        "push",
        "send",
        "--token",
        "00",
        "--magic",
        "M",
        "--attempts",
        "0",
    ]);
    client_args(&mut zero_attempts, &dir, &mock);
    assert_eq!(zero_attempts.output().unwrap().status.code(), Some(2));
    let mut bad_endpoint = mdmkit();
    bad_endpoint.args(["push", "send", "--token", "00", "--magic", "M"]);
    bad_endpoint
        .arg("--cert")
        .arg(dir.join("client.pem"))
        .arg("--key")
        .arg(dir.join("client.key"))
        .args(["--endpoint", "http://127.0.0.1:1"]);
    let out = bad_endpoint.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_endpoint"));
    // A key that does not exist.
    let out = mdmkit()
        .args(["push", "send", "--token", "00", "--magic", "M"])
        .args([
            "--cert",
            "/nonexistent/c.pem",
            "--key",
            "/nonexistent/k.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A broken script.
    let out = mdmkit()
        .args(["push", "mock-server", "--listen", "127.0.0.1:0"])
        .arg("--ca")
        .arg(dir.join("ca.pem"))
        .arg("--cert")
        .arg(dir.join("server.pem"))
        .arg("--key")
        .arg(dir.join("server.key"))
        .arg("--script")
        .arg(dir.join("ca.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_script"));
}

#[test]
fn mock_pki_writes_usable_files() {
    let dir = temp_dir("pki");
    let out = mdmkit()
        .args(["push", "mock-pki", "--topic", TOPIC, "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mock = start_mock(&dir, None);
    let ok = send(&dir, &mock, "abcdef");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// A store with four enrollments on the topic: two plain, one whose push APNs answers 410,
/// one whose pushes always fail (503).
fn make_store(dir: &Path) {
    use mdmkit_core::push::PushInfo;
    use mdmkit_core::store::{open, AtRestKey, EnrollmentRecord};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = AtRestKey::load_or_create(&dir.join("mdmkit.key")).unwrap();
        let store = open(dir.join("mdmkit.db").to_str().unwrap(), key)
            .await
            .unwrap();
        for (id, token) in [
            ("UDID-A", "aa01"),
            ("UDID-B", "bb02"),
            ("UDID-GONE", "0bad"),
            ("UDID-DOWN", "d0e5"),
        ] {
            store
                .put_enrollment(&EnrollmentRecord::new(id.into()))
                .await
                .unwrap();
            let token = (0..token.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&token[i..i + 2], 16).unwrap())
                .collect();
            store
                .set_push_info(
                    &id.into(),
                    &PushInfo::new(token, format!("magic-{id}"), TOPIC),
                )
                .await
                .unwrap();
        }
        // Known to the store but never sent a TokenUpdate.
        store
            .put_enrollment(&EnrollmentRecord::new("UDID-NEW".into()))
            .await
            .unwrap();
    });
}

fn store_push(dir: &Path, mock: &Mock, args: &[&str]) -> Output {
    let mut command = mdmkit();
    command.arg("--db").arg(dir.join("mdmkit.db"));
    command.arg("--key-file").arg(dir.join("mdmkit.key"));
    command.arg("push").args(args);
    client_args(&mut command, dir, mock);
    command
        .args(["--timeout", "5", "--attempts", "2"])
        .output()
        .unwrap()
}

#[test]
fn push_device_and_all_use_the_store() {
    let dir = temp_dir("store");
    write_pki(&dir);
    make_store(&dir);
    let mock = start_mock(
        &dir,
        Some(
            r#"{"tokens": {"0bad": [{"status": 410, "timestamp": 1700000000000}],
                           "d0e5": [{"status": 503}, {"status": 503}, {"status": 503},
                                    {"status": 503}, {"status": 503}, {"status": 503},
                                    {"status": 503}, {"status": 503}, {"status": 503},
                                    {"status": 503}, {"status": 503}, {"status": 503}]}}"#,
        ),
    );

    let one = store_push(&dir, &mock, &["device", "UDID-A"]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert_eq!(String::from_utf8(one.stdout).unwrap().trim().len(), 36);

    let new = store_push(&dir, &mock, &["device", "UDID-NEW"]);
    assert_eq!(new.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&new.stderr).contains("no push token"));

    let all = store_push(&dir, &mock, &["all"]);
    let stdout = String::from_utf8_lossy(&all.stdout);
    let stderr = String::from_utf8_lossy(&all.stderr);
    // UDID-DOWN keeps failing: the summary says so and the exit code too.
    assert_eq!(all.status.code(), Some(1), "{stdout} {stderr}");
    assert!(
        stdout.contains("delivered 2, rejected 1 (Unregistered 1), failed 1"),
        "{stdout}"
    );
    assert!(stderr.contains("1 pushes failed"), "{stderr}");

    // The 410 marked the token invalid: the next bulk push leaves it out, and pushing the
    // device alone says why.
    let again = store_push(&dir, &mock, &["all"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        stdout.contains("delivered 2, rejected 0, failed 1"),
        "{stdout}"
    );
    let gone = store_push(&dir, &mock, &["device", "UDID-GONE"]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("invalid (410)"));
}
