//! The browser tests' deployment (`tests/browser/`): a fresh store, `mdmkit serve` in its
//! own process, and the parts no web page can play — Apple (push certificates issued for
//! the console's CSRs; the APNs server, a loopback mock) and an iPhone (enrolling with the
//! profile a registration link serves, answering the commands it is pushed).
//!
//! Usage: `web-fixture PATH-TO-mdmkit`. Prints one JSON line when `serve` is up (its URL
//! and the administrator's credentials), then answers one JSON line per command line read
//! on standard input:
//!
//! * `issue CSR-PATH DAYS [other]`: a push certificate for the CSR (the deployment's topic,
//!   or another one with `other`), written as PEM; `{"pem": path}`;
//! * `invite USER EMAIL`: `mdmkit invite`; `{"portal": url, "registration": url}`;
//! * `enroll URL`: the device fetches the profile and checks in (Authenticate, TokenUpdate);
//!   `{"udid": …}`;
//! * `poll`: the device checks in, acknowledges every command it gets; `{"commands": […]}`;
//! * `p12`: a PKCS#12 identity for the test user; `{"path": …, "password": …}`;
//! * `pushes`: how many pushes the mock APNs received; `{"count": n}`;
//! * `quit`.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// The topic "Apple" puts in the deployment's push certificates.
const TOPIC: &str = "com.apple.mgmt.External.5d0c1b8e-9f4a-4c1e-8a7b-browsertest1";
/// Another organisation's topic (refused once a certificate is registered).
const OTHER_TOPIC: &str = "com.apple.mgmt.External.0f9e8d7c-6b5a-4d3c-9b2a-othertopic01";
const UDID: &str = "00008110-000B2C3D4E5F6A70";
const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "console-password-1";
const P12_PASSWORD: &str = "p12-password";

/// `mdmkit serve`, stopped (SIGTERM, then waited for) when dropped.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

struct Fixture {
    binary: PathBuf,
    dir: PathBuf,
    address: SocketAddr,
    apple: TestCa,
    device: Option<SimulatedDevice>,
}

impl Fixture {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.dir)
            .args(["--db", "mdmkit.db", "--key-file", "mdmkit.key"])
            .args(args);
        command
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Fallible<String> {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.unwrap_or_default().as_bytes())?;
        }
        let output = child.wait_with_output()?;
        if !output.status.success() {
            return Err(format!(
                "mdmkit {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn device_put(&self, path: &str, body: Vec<u8>) -> Fallible<(u16, Vec<u8>)> {
        let device = self.device.as_ref().ok_or("no device enrolled")?;
        let request = device.request(body)?;
        let signature = request
            .header("Mdm-Signature")
            .ok_or("unsigned")?
            .to_owned();
        http(
            self.address,
            "PUT",
            path,
            &[("Mdm-Signature", &signature)],
            &request.body,
        )
    }

    fn handle(&mut self, line: &str) -> Fallible<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["issue", csr, days, rest @ ..] => {
                let topic = if rest.first() == Some(&"other") {
                    OTHER_TOPIC
                } else {
                    TOPIC
                };
                let request = CertificateRequest::parse(&std::fs::read(csr)?)?;
                let der = self.apple.issue_push_cert_for_request(
                    topic,
                    &request,
                    OffsetDateTime::now_utc() + time::Duration::days(days.parse()?),
                );
                let path = self.dir.join(format!("push-{}.pem", fastrand_name()));
                std::fs::write(&path, self.apple.pem_of(&der))?;
                Ok(json_object(&[("pem", &path.display().to_string())]))
            }
            ["invite", user, email] => {
                let out = self.run(&["invite", "--user", user, "--email", email], None)?;
                let link = |prefix: &str| {
                    out.lines()
                        .find_map(|l| l.strip_prefix(prefix))
                        .map(str::to_owned)
                        .ok_or(format!("no {prefix}"))
                };
                Ok(json_object(&[
                    ("portal", &link("portal link: ")?),
                    ("registration", &link("registration link: ")?),
                ]))
            }
            ["enroll", url] => {
                let path = url
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
                    .ok_or("not a URL")?;
                let (status, profile) = http(self.address, "GET", path, &[], b"")?;
                if status != 200 {
                    return Err(format!("GET {path}: HTTP {status}").into());
                }
                let identity = DeviceIdentityKey::from_enrollment_profile(&profile)?;
                self.device = Some(SimulatedDevice::new(UDID, TOPIC).with_identity(identity));
                let authenticate = self.device.as_ref().ok_or("no device")?.authenticate()?;
                let token_update = self
                    .device
                    .as_ref()
                    .ok_or("no device")?
                    .token_update(&[0xB7; 32], "push-magic-browser")?;
                for body in [authenticate, token_update] {
                    let (status, _) = self.device_put("/mdm/checkin", body)?;
                    if status != 200 {
                        return Err(format!("check-in: HTTP {status}").into());
                    }
                }
                Ok(json_object(&[("udid", UDID)]))
            }
            ["poll"] => {
                let mut commands = Vec::new();
                let mut body = self.device.as_ref().ok_or("no device")?.idle()?;
                loop {
                    let (status, command) = self.device_put("/mdm/server", body)?;
                    if status != 200 || command.is_empty() {
                        break;
                    }
                    let envelope = CommandEnvelope::decode(&command)?;
                    commands.push(format!("\"{}\"", envelope.request_type()));
                    body = self.device.as_ref().ok_or("no device")?.answer(
                        &command,
                        CommandStatus::Acknowledged,
                        plist::Dictionary::new(),
                    )?;
                    if commands.len() > 20 {
                        break;
                    }
                }
                Ok(format!("{{\"commands\":[{}]}}", commands.join(",")))
            }
            ["p12"] => {
                let identity =
                    mdmkit_certstore::testing::TestIdentity::for_email("alice@example.com");
                let path = self.dir.join("alice.p12");
                std::fs::write(&path, identity.pkcs12_modern(P12_PASSWORD))?;
                Ok(json_object(&[
                    ("path", &path.display().to_string()),
                    ("password", P12_PASSWORD),
                ]))
            }
            _ => Err(format!("unknown command: {line}").into()),
        }
    }
}

/// A short random name for a file.
fn fastrand_name() -> String {
    let mut bytes = [0u8; 6];
    let _ = openssl::rand::rand_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A flat JSON object of strings, one line (serde_json does the escaping).
fn json_object(pairs: &[(&str, &str)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), serde_json::Value::from(*value)))
        .collect();
    serde_json::Value::Object(object).to_string()
}

fn free_port() -> Fallible<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_until_up(address: SocketAddr) -> Fallible<()> {
    for _ in 0..300 {
        if let Ok((200, _)) = http(address, "GET", "/healthz", &[], b"") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("serve did not come up".into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Fallible<()> {
    let binary = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: web-fixture PATH-TO-mdmkit")?;
    let binary =
        std::fs::canonicalize(&binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let temp = tempfile::tempdir()?;
    let apple = TestCa::new("Apple Push (browser tests)");
    let pki = TestPki::generate("com.apple.mgmt.External.mock")?;
    let apns = MockServer::start(MockConfig::new(
        pki.server_cert_pem.clone(),
        pki.server_key_pem.clone(),
        apple.certificate_pem(),
    ))
    .await?;
    std::fs::write(temp.path().join("apns-ca.pem"), &pki.ca_pem)?;
    let port = free_port()?;
    let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut fixture = Fixture {
        binary,
        dir: temp.path().to_path_buf(),
        address,
        apple,
        device: None,
    };
    let url = format!("http://127.0.0.1:{port}");
    fixture.run(
        &[
            "init",
            "--url",
            &url,
            "--enrollment-profile-id",
            "com.example.mdm.enrollment",
            "--organisation",
            "Example Corp",
            "--admin-email",
            "it@example.com",
        ],
        None,
    )?;
    // Enrollment profiles need an https ServerURL; the simulated device posts to `serve`
    // directly, so the name only has to be well formed.
    fixture.run(
        &[
            "settings",
            "set",
            "server_url",
            "https://mdm.example.test/mdm",
        ],
        None,
    )?;
    fixture.run(&["settings", "set", "apns_endpoint", &apns.url()], None)?;
    fixture.run(&["settings", "set", "apns_server_ca", "@apns-ca.pem"], None)?;
    fixture.run(
        &["admin", "add", ADMIN_EMAIL, "--name", "Browser Test"],
        Some(&format!("{ADMIN_PASSWORD}\n")),
    )?;
    fixture.run(
        &["certs", "kinds", "add", "Signing", "--use", "signing"],
        None,
    )?;
    set_branding(&fixture.dir).await?;

    let child = fixture
        .command(&["serve", "--listen", &address.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let _server = Server { child };
    wait_until_up(address)?;
    println!(
        "{}",
        json_object(&[
            ("url", &url),
            ("adminEmail", ADMIN_EMAIL),
            ("adminPassword", ADMIN_PASSWORD),
            ("dir", &fixture.dir.display().to_string()),
        ])
    );
    std::io::stdout().flush()?;

    for line in BufReader::new(std::io::stdin()).lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "quit" {
            break;
        }
        let answer = if line == "pushes" {
            Ok(format!("{{\"count\":{}}}", apns.received().len()))
        } else {
            fixture.handle(line)
        };
        match answer {
            Ok(json) => println!("{json}"),
            Err(error) => println!("{}", json_object(&[("error", &error.to_string())])),
        }
        std::io::stdout().flush()?;
    }
    drop(_server);
    apns.shutdown().await;
    Ok(())
}

/// The portal's branding, with an SVG logo that tries to run script (it must not).
async fn set_branding(dir: &Path) -> Fallible<()> {
    let key = std::fs::read_to_string(dir.join("mdmkit.key"))?;
    let store = mdmkit_core::store::open(
        &dir.join("mdmkit.db").display().to_string(),
        mdmkit_core::store::AtRestKey::from_hex(key.trim())?,
    )
    .await?;
    let mut branding = mdmkit_core::store::Branding::new("Example Corp Devices");
    branding.primary_colour = Some("#24477F".into());
    branding.accent_colour = Some("#0B6E4F".into());
    branding.logo = Some(
        br##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><script>document.title="pwned"</script><rect width="120" height="40" fill="#24477F"/><text x="10" y="26" fill="#fff" font-size="18">Example</text></svg>"##
            .to_vec(),
    );
    mdmkit_enrollment::set_branding(&store, "browser-test", &branding).await?;
    Ok(())
}
