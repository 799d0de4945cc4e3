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

fn send(dir: &Path, mock: &Mock, token: &str) -> Output {
    mdmkit()
        .args(["push", "send", "--token", token, "--magic", "MAGIC-1"])
        .arg("--cert")
        .arg(dir.join("client.pem"))
        .arg("--key")
        .arg(dir.join("client.key"))
        .args(["--endpoint", &mock.url, "--server-ca"])
        .arg(dir.join("ca.pem"))
        .output()
        .unwrap()
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
        stderr.contains("Unregistered") && stderr.contains("410"),
        "{stderr}"
    );
    assert!(stderr.contains("1700000000000"), "{stderr}");
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
