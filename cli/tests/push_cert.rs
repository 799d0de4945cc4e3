//! `mdmkit push-cert` end to end: the built binary against files made by a test CA.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mdmkit_apns::testing::TestCa;
use mdmkit_apns::{CertificateRequest, CsrSubject, PrivateKey};
use time::{Duration, OffsetDateTime};

const TOPIC: &str = "com.apple.mgmt.External.11111111-2222-3333-4444-555555555555";

fn mdmkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A refusal: exit code 2 and exactly one line on standard error containing `needle`.
fn assert_refused(output: &Output, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path: PathBuf = dir.join(name);
    write_secret(&path, bytes);
    path.to_string_lossy().into_owned()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[test]
fn inspect_prints_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Test Apple CA");
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let cert = ca.issue_push_cert(Some(TOPIC), &key, now() + Duration::days(30));
    let pem = write(dir.path(), "push.pem", &ca.pem_of(&cert));

    let output = mdmkit(&["push-cert", "inspect", &pem]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains(&format!("topic:          {TOPIC}")), "{text}");
    assert!(text.contains("URGENT"), "{text}");

    let output = mdmkit(&["push-cert", "inspect", &pem, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["topic"], TOPIC);
    assert_eq!(value["status"], "expiring_soon");
    assert_eq!(value["has_private_key"], false);
    let days = value["days_remaining"].as_i64().unwrap();
    assert!((29..=30).contains(&days), "{days}");
    for field in ["subject", "issuer", "serial", "not_before", "not_after"] {
        assert!(value[field].is_string(), "{field}");
    }

    let p12 = write(dir.path(), "push.p12", &TestCa::pkcs12(&cert, &key, "pw"));
    let password = write(dir.path(), "password", b"pw\n");
    let output = mdmkit(&[
        "push-cert",
        "inspect",
        &p12,
        "--json",
        "--password-file",
        &password,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["has_private_key"], true);
}

#[test]
fn inspect_refuses_bad_files_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Test Apple CA");
    let key = PrivateKey::generate_rsa_2048().unwrap();

    let garbage = write(dir.path(), "garbage", b"\x00\x01 this is not a certificate");
    assert_refused(
        &mdmkit(&["push-cert", "inspect", &garbage]),
        "[certificate_unreadable]",
    );

    let empty = write(dir.path(), "empty", b"");
    assert_refused(&mdmkit(&["push-cert", "inspect", &empty]), "[empty_input]");

    let missing = dir.path().join("missing").to_string_lossy().into_owned();
    assert_refused(&mdmkit(&["push-cert", "inspect", &missing]), "cannot read");

    let cert = ca.issue_push_cert(Some(TOPIC), &key, now() + Duration::days(300));
    let p12 = write(
        dir.path(),
        "push.p12",
        &TestCa::pkcs12(&cert, &key, "right"),
    );
    let wrong = write(dir.path(), "wrong", b"wrong\n");
    assert_refused(
        &mdmkit(&["push-cert", "inspect", &p12, "--password-file", &wrong]),
        "[p12_bad_password]",
    );

    let no_uid = ca.issue_push_cert(None, &key, now() + Duration::days(300));
    let no_uid = write(dir.path(), "no-uid.der", &no_uid);
    assert_refused(&mdmkit(&["push-cert", "inspect", &no_uid]), "[no_topic]");

    let wrong_prefix =
        ca.issue_push_cert(Some("com.example.push"), &key, now() + Duration::days(300));
    let wrong_prefix = write(dir.path(), "wrong-prefix.pem", &ca.pem_of(&wrong_prefix));
    assert_refused(
        &mdmkit(&["push-cert", "inspect", &wrong_prefix]),
        "[not_mdm_topic]",
    );
}

struct VendorFilesOnDisk {
    cert: String,
    key: String,
    wwdr: String,
    root: String,
}

fn vendor_on_disk(dir: &Path) -> VendorFilesOnDisk {
    let root = TestCa::new("Test Apple Root CA");
    let wwdr = root.issue_intermediate("Test Apple WWDR CA");
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let cert = wwdr.issue_leaf("MDM Vendor: Example", &key, now() + Duration::days(200));
    VendorFilesOnDisk {
        cert: write(dir, "vendor.der", &cert),
        key: write(dir, "vendor.key", &key.to_pem().unwrap()),
        wwdr: write(dir, "wwdr.pem", &wwdr.certificate_pem()),
        root: write(dir, "root.der", &root.certificate_der()),
    }
}

/// Checks an upload file with the `openssl` command, not with mdmkit's own code: the
/// signature of the CSR's DER verifies with the public key of the chain's first certificate.
fn verify_with_openssl(dir: &Path, upload_path: &str, expected_csr_der: &[u8]) {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let encoded = std::fs::read_to_string(upload_path).unwrap();
    let xml = engine.decode(encoded.trim()).unwrap();
    let plist: plist::Dictionary = plist::from_bytes(&xml).unwrap();
    let csr = engine
        .decode(plist["PushCertRequestCSR"].as_string().unwrap())
        .unwrap();
    assert_eq!(csr, expected_csr_der);
    let signature = engine
        .decode(plist["PushCertSignature"].as_string().unwrap())
        .unwrap();
    let chain = plist["PushCertCertificateChain"].as_string().unwrap();
    assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 3);
    let csr_path = write(dir, "check.csr.der", &csr);
    let sig_path = write(dir, "check.sig", &signature);
    let chain_path = write(dir, "check.chain.pem", chain.as_bytes());
    let pubkey = Command::new("openssl")
        .args(["x509", "-in", &chain_path, "-noout", "-pubkey"])
        .output()
        .expect("openssl is installed");
    assert!(pubkey.status.success());
    let pub_path = write(dir, "check.pub.pem", &pubkey.stdout);
    let verified = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            &pub_path,
            "-signature",
            &sig_path,
            &csr_path,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout).trim(),
        "Verified OK"
    );
}

#[test]
fn vendor_sign_produces_an_upload_that_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let vendor = vendor_on_disk(dir.path());
    let (_key, request) =
        CertificateRequest::generate(&CsrSubject::new("admin@example.com")).unwrap();
    let csr = write(
        dir.path(),
        "customer.csr",
        request.to_pem().unwrap().as_bytes(),
    );
    let out = dir.path().join("upload.b64").to_string_lossy().into_owned();
    let output = mdmkit(&[
        "push-cert",
        "vendor-sign",
        "--csr",
        &csr,
        "--vendor-cert",
        &vendor.cert,
        "--vendor-key",
        &vendor.key,
        "--wwdr",
        &vendor.wwdr,
        "--apple-root",
        &vendor.root,
        "-o",
        &out,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    verify_with_openssl(dir.path(), &out, request.der());
}

#[test]
fn vendor_sign_refuses_mistakes_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let vendor = vendor_on_disk(dir.path());
    let (_key, request) =
        CertificateRequest::generate(&CsrSubject::new("admin@example.com")).unwrap();
    let csr = write(dir.path(), "customer.csr", request.der());
    let out = dir.path().join("upload.b64").to_string_lossy().into_owned();
    let sign = |csr: &str, key: &str, wwdr: &str, root: &str| {
        mdmkit(&[
            "push-cert",
            "vendor-sign",
            "--csr",
            csr,
            "--vendor-cert",
            &vendor.cert,
            "--vendor-key",
            key,
            "--wwdr",
            wwdr,
            "--apple-root",
            root,
            "-o",
            &out,
        ])
    };
    let garbage = write(dir.path(), "garbage", b"garbage");
    assert_refused(
        &sign(&garbage, &vendor.key, &vendor.wwdr, &vendor.root),
        "[csr_unreadable]",
    );
    let other_key = write(
        dir.path(),
        "other.key",
        &PrivateKey::generate_rsa_2048().unwrap().to_pem().unwrap(),
    );
    assert_refused(
        &sign(&csr, &other_key, &vendor.wwdr, &vendor.root),
        "[vendor_key_mismatch]",
    );
    assert_refused(
        &sign(&csr, &vendor.key, &vendor.root, &vendor.wwdr),
        "[chain_mismatch]",
    );
    assert!(!Path::new(&out).exists());
}

/// `mdmkit --db <dir>/mdmkit.db --key-file <dir>/mdmkit.key push-cert ...`
fn with_store(dir: &Path, args: &[&str]) -> Output {
    let db = dir.join("mdmkit.db").to_string_lossy().into_owned();
    let key = dir.join("mdmkit.key").to_string_lossy().into_owned();
    let mut all = vec!["--db", db.as_str(), "--key-file", key.as_str(), "push-cert"];
    all.extend_from_slice(args);
    mdmkit(&all)
}

/// `push-cert csr`, then Apple's certificate for that CSR, written to a PEM file.
fn request_and_issue(dir: &Path, apple: &TestCa, topic: &str, days: i64, name: &str) -> String {
    let csr_path = dir
        .join(format!("{name}.csr"))
        .to_string_lossy()
        .into_owned();
    let output = with_store(
        dir,
        &[
            "csr",
            "--email",
            "admin@example.com",
            "--org",
            "Example Inc.",
            "-o",
            &csr_path,
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let request = CertificateRequest::parse(&std::fs::read(&csr_path).unwrap()).unwrap();
    assert!(request.subject().unwrap().contains("O=Example Inc."));
    let der = apple.issue_push_cert_for_request(topic, &request, now() + Duration::days(days));
    write(dir, &format!("{name}.pem"), &apple.pem_of(&der))
}

fn json_of(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_str(&stdout(output)).unwrap()
}

const T2: &str = "com.apple.mgmt.External.99999999-2222-3333-4444-555555555555";

#[test]
fn csr_install_renew_edit_delete_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let apple = TestCa::new("Test Apple CA");

    let first = request_and_issue(d, &apple, TOPIC, 365, "first");
    let installed = json_of(&with_store(
        d,
        &[
            "install",
            &first,
            "--apple-id",
            "mdm@example.com",
            "--note",
            "obtained 2026",
            "--json",
        ],
    ));
    assert_eq!(installed["action"], "installed");
    assert_eq!(installed["topic"], TOPIC);
    assert_eq!(installed["synchronise_devices"], false);

    let status = json_of(&with_store(d, &["status", "--json"]));
    let certificates = status["certificates"].as_array().unwrap();
    assert_eq!(certificates.len(), 1);
    assert_eq!(certificates[0]["topic"], TOPIC);
    assert_eq!(certificates[0]["apple_id"], "mdm@example.com");
    assert_eq!(certificates[0]["note"], "obtained 2026");
    assert_eq!(certificates[0]["status"], "valid");
    assert!(certificates[0]["days_remaining"].as_i64().unwrap() >= 364);
    assert_eq!(status["stale_pending_keys"].as_array().unwrap().len(), 0);

    // Another topic is refused while TOPIC is registered.
    let other = request_and_issue(d, &apple, T2, 365, "other");
    let refused = with_store(d, &["install", &other, "--apple-id", "mdm@example.com"]);
    assert_refused(&refused, "[topic_mismatch]");
    assert!(stderr(&refused).contains("reinstall its enrollment profile"));

    // A certificate whose key was never requested here, and an expired one.
    let stranger = PrivateKey::generate_rsa_2048().unwrap();
    let foreign = apple.issue_push_cert(Some(TOPIC), &stranger, now() + Duration::days(300));
    let foreign = write(d, "foreign.der", &foreign);
    assert_refused(
        &with_store(d, &["install", &foreign, "--apple-id", "a@b.example"]),
        "[key_mismatch]",
    );
    let wrong_key = write(
        d,
        "wrong.key",
        &PrivateKey::generate_rsa_2048().unwrap().to_pem().unwrap(),
    );
    assert_refused(
        &with_store(
            d,
            &[
                "install",
                &foreign,
                "--apple-id",
                "a@b.example",
                "--key",
                &wrong_key,
            ],
        ),
        "[key_mismatch]",
    );
    let expired = request_and_issue(d, &apple, TOPIC, -1, "expired");
    assert_refused(
        &with_store(d, &["install", &expired, "--apple-id", "a@b.example"]),
        "[certificate_expired]",
    );
    // The right key supplied with a foreign certificate installs it: a renewal.
    let right_key = write(d, "right.key", &stranger.to_pem().unwrap());
    let renewed = json_of(&with_store(
        d,
        &[
            "install",
            &foreign,
            "--apple-id",
            "a@b.example",
            "--key",
            &right_key,
            "--json",
        ],
    ));
    assert_eq!(renewed["action"], "renewed");

    let edited = with_store(
        d,
        &["edit", "--topic", TOPIC, "--note", "renew in November"],
    );
    assert!(edited.status.success(), "{}", stderr(&edited));
    let deleted = with_store(d, &["delete", "--topic", TOPIC]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(stdout(&deleted).contains("the note is kept: renew in November"));
    let status = json_of(&with_store(d, &["status", "--json"]));
    assert!(status["certificates"].as_array().unwrap().is_empty());

    let history = json_of(&with_store(d, &["history", "--topic", TOPIC, "--json"]));
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["installed", "renewed", "edited", "deleted"]);
    assert_eq!(history[3]["note"], "renew in November");
    assert_eq!(history[0]["note"], "obtained 2026");

    assert_refused(
        &with_store(d, &["delete", "--topic", TOPIC]),
        "[topic_not_found]",
    );

    // After the deletion, status still shows the topic's Apple ID and note, which can be
    // edited.
    let status = json_of(&with_store(d, &["status", "--json"]));
    let deleted = status["deleted"].as_array().unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["topic"], TOPIC);
    assert_eq!(deleted[0]["note"], "renew in November");
    assert!(deleted[0]["apple_id"].is_string());
    let text = stdout(&with_store(d, &["status"]));
    assert!(text.contains("deleted:"), "{text}");
    assert!(text.contains("note:           renew in November"), "{text}");
    let edited = with_store(d, &["edit", "--topic", TOPIC, "--note", "ask the IT team"]);
    assert!(edited.status.success(), "{}", stderr(&edited));
    let status = json_of(&with_store(d, &["status", "--json"]));
    assert_eq!(status["deleted"][0]["note"], "ask the IT team");
    assert_refused(
        &with_store(
            d,
            &[
                "edit",
                "--topic",
                "com.apple.mgmt.External.never",
                "--note",
                "x",
            ],
        ),
        "[topic_not_found]",
    );
}

#[test]
fn status_highlights_and_notify_sends_once() {
    use mdmkit_apns::testing::{SmtpReceiver, SmtpSecurity};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let apple = TestCa::new("Test Apple CA");
    let cert = request_and_issue(d, &apple, TOPIC, 45, "soon");
    let output = with_store(d, &["install", &cert, "--apple-id", "mdm@example.com"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let text = stdout(&with_store(d, &["status"]));
    assert!(text.contains(&format!("topic:          {TOPIC}")), "{text}");
    assert!(text.contains("URGENT"), "{text}");
    assert!(text.contains("Apple ID:       mdm@example.com"), "{text}");

    // The vendor certificate and a DEP token are watched too.
    let vendor_key = PrivateKey::generate_rsa_2048().unwrap();
    let vendor = apple.issue_leaf(
        "MDM Vendor: Example",
        &vendor_key,
        now() + Duration::days(10),
    );
    let vendor = write(d, "vendor.der", &vendor);
    let dep = format!(
        "Main ABM token={}",
        mdmkit_apns::expiry::rfc3339(now() + Duration::days(100))
    );
    let status = json_of(&with_store(
        d,
        &[
            "status",
            "--json",
            "--vendor-cert",
            &vendor,
            "--dep-token",
            &dep,
        ],
    ));
    let kinds: Vec<(&str, &str)> = status["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("vendor_certificate", "expiring_soon"),
            ("push_certificate", "expiring_soon"),
            ("dep_server_token", "valid"),
        ]
    );
    assert_refused(
        &with_store(d, &["status", "--dep-token", "no-equals-sign"]),
        "expected NAME=TIME",
    );
    assert_refused(
        &with_store(d, &["status", "--dep-token", "x=tomorrow"]),
        "RFC 3339",
    );

    let server = SmtpReceiver::start(SmtpSecurity::Plain);
    let url = format!("smtp://127.0.0.1:{}", server.port());
    let notify = || {
        with_store(
            d,
            &[
                "notify",
                "--smtp",
                &url,
                "--from",
                "mdm@example.com",
                "--to",
                "admin@example.com",
                "--company",
                "Example Inc.",
                "--admin-url",
                "https://mdm.example.com",
            ],
        )
    };
    let first = notify();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).starts_with("sent 1 notice(s)"),
        "{}",
        stdout(&first)
    );
    let second = notify();
    assert!(
        stdout(&second).starts_with("sent 0 notice(s)"),
        "{}",
        stdout(&second)
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = received[0].decoded();
    assert!(
        mail.contains("renew it with the Apple ID mdm@example.com"),
        "{mail}"
    );

    let bad = with_store(
        d,
        &[
            "notify",
            "--smtp",
            "http://x",
            "--from",
            "a@b.example",
            "--to",
            "c@d.example",
        ],
    );
    assert_refused(&bad, "[smtp_url]");
}

#[test]
fn mismatched_devices_lists_other_and_unknown_topics() {
    use mdmkit_core::store::{AtRestKey, EnrollmentRecord};
    use mdmkit_core::EnrollmentId;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let apple = TestCa::new("Test Apple CA");
    let cert = request_and_issue(d, &apple, TOPIC, 300, "push");
    let output = with_store(d, &["install", &cert, "--apple-id", "mdm@example.com"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = AtRestKey::load_or_create(&d.join("mdmkit.key")).unwrap();
        let db = d.join("mdmkit.db").to_string_lossy().into_owned();
        let store = mdmkit_core::store::open(&db, key).await.unwrap();
        for (id, topic) in [("DEV-A", Some(TOPIC)), ("DEV-B", Some(T2)), ("DEV-C", None)] {
            let mut record = EnrollmentRecord::new(EnrollmentId::device(id));
            record.enrolled_topic = topic.map(str::to_owned);
            store.put_enrollment(&record).await.unwrap();
        }
    });

    let listed = json_of(&with_store(d, &["mismatched-devices", "--json"]));
    assert_eq!(
        listed,
        serde_json::json!([
            {"enrollment": "DEV-B", "enrolled_topic": T2},
            {"enrollment": "DEV-C", "enrolled_topic": null},
        ])
    );
    let text = stdout(&with_store(d, &["mismatched-devices"]));
    assert!(text.contains("DEV-C  enrolled topic unknown"), "{text}");
}

#[test]
fn notify_over_starttls_with_a_company_ca() {
    use mdmkit_apns::testing::{SmtpReceiver, SmtpSecurity};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let apple = TestCa::new("Test Apple CA");
    let cert = request_and_issue(d, &apple, TOPIC, 20, "soon");
    let output = with_store(d, &["install", &cert, "--apple-id", "mdm@example.com"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let server = SmtpReceiver::start(SmtpSecurity::StartTls);
    let ca = write(d, "smtp-ca.pem", server.ca_pem());
    let url = format!("smtp://127.0.0.1:{}?tls=required", server.port());
    let args = [
        "notify",
        "--smtp",
        &url,
        "--from",
        "mdm@example.com",
        "--to",
        "admin@example.com",
    ];
    // Without the company CA the server's certificate is not trusted: nothing is sent, and
    // the failure is not the user's input (exit 1).
    let untrusted = with_store(d, &args);
    assert_eq!(untrusted.status.code(), Some(1), "{}", stderr(&untrusted));
    assert_eq!(stderr(&untrusted).lines().count(), 1);
    assert!(server.received().is_empty());

    let mut trusted = args.to_vec();
    trusted.extend_from_slice(&["--smtp-ca", &ca]);
    let output = with_store(d, &trusted);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(server.received().len(), 1);
    assert!(server.received()[0].over_tls);
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
