//! The main job, part two: a whole deployment run from its store, across processes.
//!
//! Every step is the `mdmkit` command an administrator types (`init`, `settings`,
//! `push-cert csr|install|status`, `serve`, `invite`, `portal as … lock`); this program only
//! plays the parts no command can: Apple (issuing push certificates from the CSRs, and the
//! APNs server, a loopback mock that records which certificate each push presented) and an
//! iPhone (fetching the registration link from `serve`, enrolling with the profile it
//! serves, answering commands). The renewal at the end is installed by one process while
//! `serve` runs in another, and the next push presents the new certificate: no restart.
//!
//! Run by `scripts/demo.sh` with the path of the `mdmkit` binary as its argument.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mdmkit_apns::mock::{MockConfig, MockServer, TestPki};
use mdmkit_apns::testing::TestCa;
use mdmkit_apns::CertificateRequest;
use mdmkit_core::{CommandEnvelope, CommandStatus};
use mdmkit_tests::{DeviceIdentityKey, SimulatedDevice};
use time::OffsetDateTime;

#[path = "support/http.rs"]
mod http_client;
use http_client::http;

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// The topic "Apple" puts in the push certificates it issues.
const TOPIC: &str = "com.apple.mgmt.External.5d0c1b8e-9f4a-4c1e-8a7b-deployment01";
const UDID: &str = "00008110-000A1B2C3D4E5F60";

/// Runs `mdmkit` on the demo's store; prints the command and its output; fails on failure.
struct Mdmkit {
    binary: PathBuf,
    dir: PathBuf,
}

impl Mdmkit {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.dir)
            .args(["--db", "mdmkit.db", "--key-file", "mdmkit.key"])
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Fallible<String> {
        println!("$ mdmkit {}", args.join(" "));
        let output = self.command(args).output()?;
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        for line in stdout.lines() {
            println!("  {line}");
        }
        if !output.status.success() {
            return Err(format!(
                "mdmkit {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(stdout)
    }
}

/// `mdmkit serve` in its own process; stopped (SIGTERM, then waited for) when dropped.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A device request to `serve`: signed with the device's identity (`Mdm-Signature`).
fn device_put(
    server: &Server,
    device: &SimulatedDevice,
    path: &str,
    body: Vec<u8>,
) -> Fallible<(u16, Vec<u8>)> {
    let request = device.request(body)?;
    let signature = request
        .header("Mdm-Signature")
        .ok_or("unsigned")?
        .to_owned();
    http(
        server.address,
        "PUT",
        path,
        &[("Mdm-Signature", &signature)],
        &request.body,
    )
}

/// "Apple": issues a push certificate for the CSR `mdmkit push-cert csr` wrote.
fn issue(apple: &TestCa, dir: &Path, csr: &str, out: &str, days: i64) -> Fallible<()> {
    let request = CertificateRequest::parse(&std::fs::read(dir.join(csr))?)?;
    let der = apple.issue_push_cert_for_request(
        TOPIC,
        &request,
        OffsetDateTime::now_utc() + time::Duration::days(days),
    );
    std::fs::write(dir.join(out), apple.pem_of(&der))?;
    Ok(())
}

fn serial_of_pem(path: &Path) -> Fallible<String> {
    let certificate = openssl::x509::X509::from_pem(&std::fs::read(path)?)?;
    let serial = certificate
        .serial_number()
        .to_bn()?
        .to_hex_str()?
        .to_string();
    Ok(serial.to_ascii_lowercase())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Fallible<()> {
    let binary = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: deployment PATH-TO-mdmkit")?;
    // The commands run in the demo's own directory: the binary's path must not be relative.
    let binary =
        std::fs::canonicalize(&binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let dir = tempfile::tempdir()?;
    let mdmkit = Mdmkit {
        binary,
        dir: dir.path().to_path_buf(),
    };

    println!("\n== 6. A deployment from its store: init, serve, invite, enroll, lock, renew");
    // "Apple": the CA that issues push certificates, and APNs (the mock trusts that CA for
    // client certificates and records the serial each connection presented).
    let apple = TestCa::new("Apple Push (demo)");
    // Only its server certificate is used (the mock's TLS identity and the CA to trust).
    let pki = TestPki::generate("com.apple.mgmt.External.mock")?;
    let apns = MockServer::start(MockConfig::new(
        pki.server_cert_pem.clone(),
        pki.server_key_pem.clone(),
        apple.certificate_pem(),
    ))
    .await?;
    std::fs::write(dir.path().join("apns-ca.pem"), &pki.ca_pem)?;

    println!("-- a) init: the device CA and the public URLs go into the store");
    mdmkit.run(&[
        "init",
        "--url",
        "https://mdm.example.com",
        "--enrollment-profile-id",
        "com.example.mdm.enrollment",
        "--organisation",
        "Example Corp",
        "--admin-email",
        "it@example.com",
    ])?;
    mdmkit.run(&["settings", "set", "apns_endpoint", &apns.url()])?;
    mdmkit.run(&["settings", "set", "apns_server_ca", "@apns-ca.pem"])?;
    mdmkit.run(&["settings", "show"])?;

    println!("-- b) the push certificate: CSR here, issued by \"Apple\", installed with Apple ID and note");
    mdmkit.run(&[
        "push-cert",
        "csr",
        "--email",
        "it@example.com",
        "-o",
        "push.csr",
    ])?;
    issue(&apple, dir.path(), "push.csr", "push.pem", 365)?;
    mdmkit.run(&[
        "push-cert",
        "install",
        "push.pem",
        "--apple-id",
        "it@example.com",
        "--note",
        "obtained 2026-12-01",
    ])?;
    let first_serial = serial_of_pem(&dir.path().join("push.pem"))?;

    println!("-- c) mdmkit serve, in its own process, from the store alone");
    std::fs::write(
        dir.path().join("api.key"),
        "demo-admin-api-key-0123456789\n",
    )?;
    set_owner_only(&dir.path().join("api.key"))?;
    println!("$ mdmkit serve --listen 127.0.0.1:0 --api-key-file api.key &");
    let mut child = mdmkit
        .command(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--api-key-file",
            "api.key",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    print!("  {line}");
    let address: SocketAddr = line
        .trim()
        .rsplit("//")
        .next()
        .ok_or("no address")?
        .parse()?;
    let server = Server { child, address };

    println!("-- d) invite alice (no SMTP configured: the links are printed)");
    let invited = mdmkit.run(&["invite", "--user", "alice", "--email", "alice@example.com"])?;
    let link = invited
        .lines()
        .find_map(|line| line.strip_prefix("registration link: "))
        .ok_or("no registration link")?;
    let path = link.trim_start_matches("https://mdm.example.com");

    println!("-- e) alice's iPhone opens the link: serve returns the signed enrollment profile");
    let (status, profile) = http(server.address, "GET", path, &[], b"")?;
    println!("   GET {path}: HTTP {status}, {} bytes", profile.len());
    let identity = DeviceIdentityKey::from_enrollment_profile(&profile)?;
    let device = SimulatedDevice::new(UDID, TOPIC).with_identity(identity);
    for (name, body) in [
        ("Authenticate", device.authenticate()?),
        (
            "TokenUpdate",
            device.token_update(&[0xA1; 32], "push-magic-alice")?,
        ),
    ] {
        let (status, _) = device_put(&server, &device, "/mdm/checkin", body)?;
        println!("   {name}: HTTP {status}");
    }
    let (status, _) = http(server.address, "GET", path, &[], b"")?;
    println!("   the same link again: HTTP {status} (spent)");

    println!("-- f) from the portal, alice locks her iPhone: queued and pushed");
    let locked = mdmkit.run(&[
        "portal",
        "as",
        "alice",
        "lock",
        UDID,
        "--message",
        "Found? Call +81 3 0000 0000",
    ])?;
    if !locked.contains(", pushed") {
        return Err("the lock was not pushed".into());
    }
    let (status, command) = device_put(&server, &device, "/mdm/server", device.idle()?)?;
    let envelope = CommandEnvelope::decode(&command)?;
    println!(
        "   the device checks in: HTTP {status}, {}",
        envelope.request_type()
    );
    let ack = device.answer(
        &command,
        CommandStatus::Acknowledged,
        plist::Dictionary::new(),
    )?;
    let (status, _) = device_put(&server, &device, "/mdm/server", ack)?;
    println!("   the device acknowledges: HTTP {status}");

    println!("-- g) renewal: a new certificate (same topic) installed while serve runs");
    mdmkit.run(&[
        "push-cert",
        "csr",
        "--email",
        "it@example.com",
        "-o",
        "renew.csr",
    ])?;
    issue(&apple, dir.path(), "renew.csr", "renewed.pem", 365)?;
    let renewed_serial = serial_of_pem(&dir.path().join("renewed.pem"))?;
    let installed_at = Instant::now();
    mdmkit.run(&[
        "push-cert",
        "install",
        "renewed.pem",
        "--apple-id",
        "it@example.com",
        "--note",
        "renewed 2026-12-01",
    ])?;
    // serve (the other process) pushes; the mock says which certificate it presented.
    let key = "Authorization: Bearer demo-admin-api-key-0123456789";
    let (name, value) = key.split_once(": ").ok_or("header")?;
    let action = format!("/admin/devices/{UDID}/actions/check-in-now");
    let delay = loop {
        let before = apns.received().len();
        let (status, body) = http(server.address, "POST", &action, &[(name, value)], b"{}")?;
        if status != 200 {
            return Err(format!(
                "check-in-now: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        let pushes = apns.received();
        let serial = pushes
            .get(before..)
            .and_then(|new| new.last())
            .and_then(|push| push.client_serial.clone())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if serial == renewed_serial {
            break installed_at.elapsed();
        }
        if installed_at.elapsed() > Duration::from_secs(20) {
            return Err("serve did not pick up the renewed certificate within 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "   serve's next push presented serial {renewed_serial} (was {first_serial}), {} ms after the install, without a restart",
        delay.as_millis()
    );
    mdmkit.run(&["push-cert", "status"])?;
    drop(server);
    println!("   serve stopped (SIGTERM: requests in flight finish)");
    apns.shutdown().await;
    Ok(())
}

#[cfg(unix)]
fn set_owner_only(path: &Path) -> Fallible<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_owner_only(_path: &Path) -> Fallible<()> {
    Ok(())
}
