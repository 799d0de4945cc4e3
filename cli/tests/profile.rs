//! `mdmkit profile build|sign|verify|inspect|encrypt|decrypt`, run as an administrator runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mdmkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .args(args)
        .output()
        .expect("mdmkit runs")
}

fn workdir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mdmkit-cli-profile-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_refused(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

const SPEC: &str = r#"{
  "PayloadIdentifier": "com.example.test",
  "PayloadDisplayName": "Test",
  "PayloadContent": [
    {"PayloadType": "com.apple.security.root", "PayloadUUID": "ROOT-1", "PayloadContent": "MIIB"},
    {"PayloadType": "com.apple.wifi.managed", "SSID_STR": "Corp", "EncryptionType": "WPA2",
     "EAPClientConfiguration": {"AcceptEAPTypes": [25], "PayloadCertificateAnchorUUID": ["ROOT-1"]}},
    {"PayloadType": "com.vendor.custom", "Anything": {"goes": [1, 2]}}
  ]
}"#;

fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("signer.pem"), dir.join("signer.key"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=CLI Test Signer",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl command line");
    assert!(status.status.success(), "{}", stderr(&status));
    (cert, key)
}

#[test]
fn build_fills_in_identifiers_and_uuids_and_writes_a_mobileconfig() {
    let dir = workdir("build");
    let spec = dir.join("spec.json");
    std::fs::write(&spec, SPEC).unwrap();
    let out_file = dir.join("out.mobileconfig");
    let out = mdmkit(&["profile", "build", path(&spec), "-o", path(&out_file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dict: plist::Dictionary = plist::from_file(&out_file).unwrap();
    assert_eq!(dict["PayloadType"].as_string(), Some("Configuration"));
    assert_eq!(dict["PayloadVersion"].as_signed_integer(), Some(1));
    assert!(dict["PayloadUUID"].as_string().unwrap().len() >= 32);
    let payloads = dict["PayloadContent"].as_array().unwrap();
    assert_eq!(payloads.len(), 3);
    let wifi = payloads[1].as_dictionary().unwrap();
    assert_eq!(
        wifi["PayloadIdentifier"].as_string(),
        Some("com.example.test.2")
    );
    let custom = payloads[2].as_dictionary().unwrap();
    assert!(
        custom["Anything"].as_dictionary().is_some(),
        "unknown payload kept"
    );

    let inspect = mdmkit(&["profile", "inspect", path(&out_file)]);
    assert!(inspect.status.success());
    let json: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(json["signed"], false);
    assert_eq!(json["profile"]["PayloadContent"][1]["SSID_STR"], "Corp");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_specs_name_the_payload_and_key_path() {
    let dir = workdir("bad");
    let cases = [
        (SPEC.replace("\"SSID_STR\"", "\"SSID\""), "unknown key PayloadContent.1.SSID"),
        (SPEC.replace("\"WPA2\"", "\"WPA9\""), "com.apple.wifi.managed(com.example.test.2).EncryptionType: \"WPA9\" is not allowed"),
        (
            SPEC.replace("[\"ROOT-1\"]", "[\"NOWHERE\"]"),
            "com.apple.wifi.managed(com.example.test.2).EAPClientConfiguration.PayloadCertificateAnchorUUID.0",
        ),
        (SPEC.replace("\"MIIB\"", "\"M!\""), "PayloadContent.0.PayloadContent: not base64"),
        ("[1, 2]".to_owned(), "must be a JSON object"),
        ("{".to_owned(), "not JSON"),
    ];
    for (i, (spec, needle)) in cases.iter().enumerate() {
        let file = dir.join(format!("spec{i}.json"));
        std::fs::write(&file, spec).unwrap();
        assert_refused(&mdmkit(&["profile", "build", path(&file)]), needle);
    }
    assert_refused(
        &mdmkit(&["profile", "build", "/nonexistent/spec.json"]),
        "cannot read",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sign_verify_and_inspect_a_signed_profile() {
    let dir = workdir("sign");
    let spec = dir.join("spec.json");
    std::fs::write(&spec, SPEC).unwrap();
    let unsigned = dir.join("p.mobileconfig");
    assert!(
        mdmkit(&["profile", "build", path(&spec), "-o", path(&unsigned)])
            .status
            .success()
    );
    let (cert, key) = self_signed(&dir);
    let signed = dir.join("signed.mobileconfig");
    let out = mdmkit(&[
        "profile",
        "sign",
        path(&unsigned),
        "--cert",
        path(&cert),
        "--key",
        path(&key),
        "-o",
        path(&signed),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let verify = mdmkit(&["profile", "verify", path(&signed), "--ca", path(&cert)]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(
        text.contains("com.example.test signed by CN=CLI Test Signer (chain trusted)"),
        "{text}"
    );

    let inspect = mdmkit(&["profile", "inspect", path(&signed)]);
    let json: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(json["signed"], true);
    assert_eq!(json["signer"], "CN=CLI Test Signer");

    // Tampered, unsigned, wrong key, missing files: one line each, non-zero.
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes.windows(4).position(|w| w == b"Corp").unwrap();
    bytes[at] = b'K';
    let tampered = dir.join("tampered.mobileconfig");
    std::fs::write(&tampered, &bytes).unwrap();
    assert_refused(
        &mdmkit(&["profile", "verify", path(&tampered)]),
        "does not verify",
    );
    assert_refused(
        &mdmkit(&["profile", "verify", path(&unsigned)]),
        "not a signed profile",
    );
    let (other_cert, _) = self_signed(&workdir("other"));
    assert_refused(
        &mdmkit(&[
            "profile",
            "verify",
            path(&signed),
            "--ca",
            path(&other_cert),
        ]),
        "does not verify",
    );
    assert_refused(
        &mdmkit(&[
            "profile",
            "sign",
            path(&unsigned),
            "--cert",
            path(&cert),
            "--key",
            path(&cert),
            "-o",
            path(&dir.join("x")),
        ]),
        "signer key",
    );
    assert_refused(
        &mdmkit(&[
            "profile",
            "sign",
            path(&signed),
            "--cert",
            path(&cert),
            "--key",
            path(&key),
            "-o",
            path(&dir.join("x")),
        ]),
        "already signed",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn encrypt_to_a_device_certificate_then_sign_inspect_and_decrypt() {
    let dir = workdir("encrypt");
    let spec = dir.join("spec.json");
    std::fs::write(&spec, SPEC).unwrap();
    let plain = dir.join("p.mobileconfig");
    assert!(
        mdmkit(&["profile", "build", path(&spec), "-o", path(&plain)])
            .status
            .success()
    );
    let (device_cert, device_key) = self_signed(&workdir("device"));
    let encrypted = dir.join("encrypted.mobileconfig");
    let out = mdmkit(&[
        "profile",
        "encrypt",
        path(&plain),
        "--cert",
        path(&device_cert),
        "-o",
        path(&encrypted),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(std::fs::read(&encrypted).unwrap()).unwrap();
    assert!(
        text.contains("<key>EncryptedPayloadContent</key>"),
        "{text}"
    );
    assert!(!text.contains("com.apple.wifi.managed"), "{text}");

    let inspect = mdmkit(&["profile", "inspect", path(&encrypted)]);
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    let json: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(json["encrypted"], true);
    assert_eq!(json["profile"]["PayloadIdentifier"], "com.example.test");

    let decrypted = dir.join("decrypted.mobileconfig");
    let out = mdmkit(&[
        "profile",
        "decrypt",
        path(&encrypted),
        "--cert",
        path(&device_cert),
        "--key",
        path(&device_key),
        "-o",
        path(&decrypted),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&decrypted).unwrap(),
        std::fs::read(&plain).unwrap()
    );

    // Signed after encryption: verifies, and still decrypts.
    let (signer_cert, signer_key) = self_signed(&dir);
    let signed = dir.join("signed.mobileconfig");
    let out = mdmkit(&[
        "profile",
        "sign",
        path(&encrypted),
        "--cert",
        path(&signer_cert),
        "--key",
        path(&signer_key),
        "-o",
        path(&signed),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verify = mdmkit(&[
        "profile",
        "verify",
        path(&signed),
        "--ca",
        path(&signer_cert),
    ]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    let out = mdmkit(&[
        "profile",
        "decrypt",
        path(&signed),
        "--cert",
        path(&device_cert),
        "--key",
        path(&device_key),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, std::fs::read(&plain).unwrap());

    // Refusals: one line each, exit 2.
    let (other_cert, other_key) = self_signed(&workdir("other-device"));
    assert_refused(
        &mdmkit(&[
            "profile",
            "decrypt",
            path(&encrypted),
            "--cert",
            path(&other_cert),
            "--key",
            path(&other_key),
        ]),
        "profile_not_recipient",
    );
    assert_refused(
        &mdmkit(&[
            "profile",
            "decrypt",
            path(&encrypted),
            "--cert",
            path(&device_cert),
            "--key",
            path(&other_key),
        ]),
        "does not belong",
    );
    assert_refused(
        &mdmkit(&[
            "profile",
            "decrypt",
            path(&plain),
            "--cert",
            path(&device_cert),
            "--key",
            path(&device_key),
        ]),
        "not encrypted",
    );
    assert_refused(
        &mdmkit(&[
            "profile",
            "encrypt",
            path(&encrypted),
            "--cert",
            path(&device_cert),
        ]),
        "EncryptedPayloadContent",
    );
    assert_refused(
        &mdmkit(&[
            "profile",
            "encrypt",
            path(&signed),
            "--cert",
            path(&device_cert),
        ]),
        "is signed",
    );
    assert_refused(
        &mdmkit(&["profile", "encrypt", path(&plain), "--cert", path(&spec)]),
        "certificate_unreadable",
    );
    let ec_cert = dir.join("ec.pem");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=EC device",
        ])
        .arg("-keyout")
        .arg(dir.join("ec.key"))
        .arg("-out")
        .arg(&ec_cert)
        .output()
        .expect("openssl command line");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_refused(
        &mdmkit(&["profile", "encrypt", path(&plain), "--cert", path(&ec_cert)]),
        "key_not_supported",
    );
    std::fs::remove_dir_all(&dir).ok();
}
