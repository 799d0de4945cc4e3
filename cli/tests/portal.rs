//! `mdmkit portal user ...` and `mdmkit portal as U ...`, run as the built binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use mdmkit_core::store::{
    AtRestKey, CommandQueue, DeviceRecord, EnrollmentRecord, EnrollmentStore, PortalStore,
    SqliteStore,
};
use mdmkit_core::EnrollmentId;

fn mdmkit(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn store(dir: &Path) -> SqliteStore {
    let key = AtRestKey::load_or_create(&dir.join("mdmkit.key")).unwrap();
    SqliteStore::open(dir.join("mdmkit.db").to_str().unwrap(), key)
        .await
        .unwrap()
}

#[test]
fn users_and_acting_as_a_user_with_the_portals_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    for (user, email) in [("alice", "alice@example.com"), ("bob", "bob@example.com")] {
        let output = mdmkit(
            path,
            &["portal", "user", "add", user, "--email", email],
            b"",
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let output = mdmkit(path, &["portal", "user", "passwd", "alice"], b"s3cret\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = mdmkit(path, &["portal", "user", "passwd", "alice"], b"\n");
    assert_eq!(output.status.code(), Some(2), "empty password refused");
    let output = mdmkit(
        path,
        &[
            "portal",
            "user",
            "add",
            "carol",
            "--email",
            "alice@example.com",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2), "duplicate e-mail refused");

    let ca = mdmkit_tests::DeviceCa::new("CLI device CA").unwrap();
    std::fs::write(path.join("device-ca.pem"), ca.certificate_pem().unwrap()).unwrap();
    // Alice owns UDID-A (enrolled through the library).
    let id = EnrollmentId::device("UDID-A");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = store(path).await;
        let user = store.get_portal_user("alice").await.unwrap().unwrap();
        assert!(user.password_hash.is_some());
        let mut record = EnrollmentRecord::new(id.clone());
        record.enabled = true;
        record.owner = Some("alice".into());
        store.put_enrollment(&record).await.unwrap();
        let mut device = DeviceRecord::new("UDID-A");
        device.product_name = Some("iPhone15,2".into());
        device.os_version = Some("17.4".into());
        store.put_device(&device).await.unwrap();
    });

    let output = mdmkit(
        path,
        &[
            "portal",
            "as",
            "alice",
            "--device-ca",
            "device-ca.pem",
            "devices",
        ],
        b"",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listing = text(&output.stdout);
    assert!(
        listing.starts_with("UDID-A\tiPhone15,2\tenabled\t"),
        "{listing}"
    );
    assert!(listing.contains("lock"));

    let output = mdmkit(
        path,
        &[
            "portal",
            "as",
            "bob",
            "--device-ca",
            "device-ca.pem",
            "lock",
            "UDID-A",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("device not found"),
        "{}",
        text(&output.stderr)
    );
    let output = mdmkit(
        path,
        &[
            "portal",
            "as",
            "bob",
            "--device-ca",
            "device-ca.pem",
            "devices",
        ],
        b"",
    );
    assert_eq!(text(&output.stdout), "");
    runtime.block_on(async {
        assert!(store(path)
            .await
            .pending_commands(&id)
            .await
            .unwrap()
            .is_empty());
    });

    let output = mdmkit(
        path,
        &[
            "portal",
            "as",
            "alice",
            "--device-ca",
            "device-ca.pem",
            "locate",
            "UDID-A",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("location disabled by privacy settings"));

    let output = mdmkit(path, &["privacy", "set"], b"");
    assert_eq!(output.status.code(), Some(2), "nothing to set");
    let output = mdmkit(path, &["privacy", "set", "--location", "on"], b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("location: on (server)\n"));
    // Allowed by privacy now: refused only because this device is not supervised.
    let output = mdmkit(
        path,
        &[
            "portal",
            "as",
            "alice",
            "--device-ca",
            "device-ca.pem",
            "locate",
            "UDID-A",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    let error = text(&output.stderr);
    assert!(
        !error.contains("privacy") && error.contains("supervised"),
        "{error}"
    );
    let output = mdmkit(path, &["privacy", "set", "--location", "off"], b"");
    assert!(output.status.success(), "{}", text(&output.stderr));

    let output = mdmkit(
        path,
        &[
            "portal",
            "as",
            "alice",
            "--device-ca",
            "device-ca.pem",
            "lock",
            "UDID-A",
            "--message",
            "Found? Call me",
        ],
        b"",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("queued "));
    runtime.block_on(async {
        let pending = store(path).await.pending_commands(&id).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].command.request_type, "DeviceLock");
    });

    let output = mdmkit(
        path,
        &[
            "portal",
            "as",
            "nobody",
            "--device-ca",
            "device-ca.pem",
            "devices",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn enroll_profile_writes_a_signed_profile_for_a_user() {
    use mdmkit_core::profile::{is_signed, verify, PayloadContent, Profile};
    use mdmkit_core::store::{PushCertificateRecord, PushCertificateStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let output = mdmkit(
        path,
        &[
            "portal",
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.com",
        ],
        b"",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let push = PushCertificateRecord::new(
            "com.apple.mgmt.External.cli",
            vec![1],
            mdmkit_core::Secret::new(b"k".to_vec()),
            time::OffsetDateTime::now_utc() + time::Duration::days(30),
        );
        store(path).await.put_push_certificate(&push).await.unwrap();
    });
    let ca = mdmkit_enrollment::DeviceCa::generate("CLI CA", 30).unwrap();
    let signer = mdmkit_enrollment::DeviceCa::generate("CLI signer", 30).unwrap();
    for (name, bytes) in [
        ("ca.pem", ca.certificate_pem().unwrap()),
        ("ca.key", ca.private_key_pem().unwrap().expose().to_vec()),
        ("sign.pem", signer.certificate_pem().unwrap()),
        (
            "sign.key",
            signer.private_key_pem().unwrap().expose().to_vec(),
        ),
    ] {
        std::fs::write(path.join(name), bytes).unwrap();
    }
    let args = |user: &'static str| {
        vec![
            "enroll",
            "profile",
            "--user",
            user,
            "--ca-cert",
            "ca.pem",
            "--ca-key",
            "ca.key",
            "--sign-cert",
            "sign.pem",
            "--sign-key",
            "sign.key",
            "--server-url",
            "https://mdm.example.com/mdm",
            "--topic",
            "com.apple.mgmt.External.cli",
            "--identifier",
            "com.example.mdm.enrollment",
            "-o",
            "enroll.mobileconfig",
        ]
    };
    let output = mdmkit(path, &args("alice"), b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    // It holds the identity's PKCS#12 and its password.
    assert_owner_only(path.join("enroll.mobileconfig"));
    let signed = std::fs::read(path.join("enroll.mobileconfig")).unwrap();
    let profile = verify(&signed, Some(&signer.certificate_pem().unwrap()))
        .unwrap()
        .profile;
    assert!(profile.payloads.iter().any(
        |p| matches!(&p.content, PayloadContent::Mdm(m) if m.topic == "com.apple.mgmt.External.cli")
    ));

    // Without a signer the profile is signed with the device CA, as a served link's is.
    let mut unsigned: Vec<&str> = args("alice");
    unsigned.drain(8..12);
    assert!(!unsigned.contains(&"--sign-cert"));
    let stdout = ok(path, &unsigned);
    assert!(stdout.contains(": signed enrollment profile"), "{stdout}");
    let written = std::fs::read(path.join("enroll.mobileconfig")).unwrap();
    verify(&written, Some(&ca.certificate_pem().unwrap())).unwrap();

    // With --unsigned it is written unsigned, as XML a device can install.
    unsigned.push("--unsigned");
    let stdout = ok(path, &unsigned);
    assert!(stdout.contains("unsigned enrollment profile"), "{stdout}");
    assert_owner_only(path.join("enroll.mobileconfig"));
    let written = std::fs::read(path.join("enroll.mobileconfig")).unwrap();
    assert!(!is_signed(&written));
    let profile = Profile::read(&written).unwrap();
    assert!(profile
        .payloads
        .iter()
        .any(|p| matches!(&p.content, PayloadContent::SecurityPkcs12(_))));
    // --sign-cert without --sign-key is refused.
    let mut half: Vec<&str> = args("alice");
    half.drain(10..12);
    let output = mdmkit(path, &half, b"");
    assert_eq!(output.status.code(), Some(2), "--sign-cert alone");

    let output = mdmkit(path, &args("ghost"), b"");
    assert_eq!(output.status.code(), Some(2), "unknown user");
    let mut wrong_key = args("alice");
    wrong_key[7] = "sign.key";
    let output = mdmkit(path, &wrong_key, b"");
    assert_eq!(output.status.code(), Some(2), "CA key that is not the CA's");
}

/// Runs `mdmkit` and returns standard output, failing with standard error.
fn ok(dir: &Path, args: &[&str]) -> String {
    let output = mdmkit(dir, args, b"");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs `mdmkit`, expects exit code 2 and returns standard error.
fn refused(dir: &Path, args: &[&str]) -> String {
    let output = mdmkit(dir, args, b"");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stderr)
}

/// Users alice and bob; alice owns an iPhone and a Mac, bob an iPhone.
fn two_users_with_devices(path: &Path) -> tokio::runtime::Runtime {
    for (user, email) in [("alice", "alice@example.com"), ("bob", "bob@example.com")] {
        ok(path, &["portal", "user", "add", user, "--email", email]);
    }
    let ca = mdmkit_tests::DeviceCa::new("CLI device CA").unwrap();
    std::fs::write(path.join("device-ca.pem"), ca.certificate_pem().unwrap()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = store(path).await;
        for (udid, owner, model) in [
            ("UDID-A", "alice", "iPhone15,2"),
            ("UDID-MAC", "alice", "MacBookPro18,3"),
            ("UDID-B", "bob", "iPhone15,2"),
        ] {
            let mut record = EnrollmentRecord::new(EnrollmentId::device(udid));
            record.enabled = true;
            record.owner = Some(owner.into());
            store.put_enrollment(&record).await.unwrap();
            let mut device = DeviceRecord::new(udid);
            device.product_name = Some(model.into());
            store.put_device(&device).await.unwrap();
        }
    });
    runtime
}

#[test]
fn privacy_per_user_and_per_device_set_show_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let _runtime = two_users_with_devices(path);

    assert_eq!(
        ok(path, &["privacy", "show"]),
        "location: off (server)\napp inventory: off (server)\n"
    );
    assert_eq!(
        ok(
            path,
            &["privacy", "set", "--user", "alice", "--location", "on"]
        ),
        "location: on (user)\napp inventory: off (server)\n"
    );
    assert_eq!(
        ok(
            path,
            &[
                "privacy",
                "set",
                "--device",
                "UDID-A",
                "--app-inventory",
                "on"
            ]
        ),
        "location: on (user)\napp inventory: on (enrollment)\n"
    );
    assert_eq!(
        ok(
            path,
            &["privacy", "set", "--device", "UDID-A", "--location", "off"]
        ),
        "location: off (enrollment)\napp inventory: on (enrollment)\n",
        "the earlier app-inventory override is kept"
    );
    assert_eq!(
        ok(path, &["privacy", "show", "--device", "UDID-MAC"]),
        "location: on (user)\napp inventory: off (server)\n"
    );
    assert_eq!(
        ok(path, &["privacy", "show", "--user", "bob"]),
        "location: off (server)\napp inventory: off (server)\n"
    );
    // The portal obeys it: UDID-A (device override off) is refused on privacy grounds,
    // the Mac (alice's override on) gets past privacy to the capability check.
    let as_alice = |verb: &'static str, device: &'static str| {
        vec![
            "portal",
            "as",
            "alice",
            "--device-ca",
            "device-ca.pem",
            verb,
            device,
        ]
    };
    let error = refused(path, &as_alice("locate", "UDID-A"));
    assert!(
        error.contains("location disabled by privacy settings"),
        "{error}"
    );
    let error = refused(path, &as_alice("locate", "UDID-MAC"));
    assert!(!error.contains("privacy"), "{error}");

    assert_eq!(
        ok(path, &["privacy", "clear", "--device", "UDID-A"]),
        "cleared the privacy override of enrollment:UDID-A\n"
    );
    assert_eq!(
        ok(path, &["privacy", "clear", "--device", "UDID-A"]),
        "enrollment:UDID-A had no privacy override\n"
    );
    assert_eq!(
        ok(path, &["privacy", "show", "--device", "UDID-A"]),
        "location: on (user)\napp inventory: off (server)\n"
    );

    refused(
        path,
        &["privacy", "set", "--user", "ghost", "--location", "on"],
    );
    refused(path, &["privacy", "show", "--device", "UDID-NONE"]);
    refused(path, &["privacy", "clear"]);
    refused(
        path,
        &[
            "privacy",
            "set",
            "--user",
            "alice",
            "--device",
            "UDID-A",
            "--location",
            "on",
        ],
    );
    refused(path, &["privacy", "set", "--user", "alice"]);
}

#[test]
fn branding_set_show_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let logo = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-logo".to_vec();
    std::fs::write(path.join("logo.png"), &logo).unwrap();
    std::fs::write(path.join("logo.gif"), b"GIF89a-not-accepted").unwrap();
    let mut big = logo.clone();
    big.resize(512 * 1024 + 1, 0);
    std::fs::write(path.join("big.png"), &big).unwrap();

    refused(path, &["portal", "branding", "show"]);
    let shown = ok(
        path,
        &[
            "portal",
            "branding",
            "set",
            "--name",
            "Example Corp",
            "--primary",
            "#003366",
            "--accent",
            "#ffcc00",
            "--logo",
            "logo.png",
        ],
    );
    assert_eq!(
        shown,
        format!(
            "name: Example Corp\nprimary colour: #003366\naccent colour: #FFCC00\nlogo: image/png, {} bytes\n",
            logo.len()
        )
    );
    let json: serde_json::Value = serde_json::from_str(&ok(
        path,
        &[
            "portal",
            "branding",
            "show",
            "--json",
            "--logo-out",
            "out.png",
        ],
    ))
    .unwrap();
    assert_eq!(json["name"], "Example Corp");
    assert_eq!(json["accent_colour"], "#FFCC00");
    assert_eq!(json["logo_content_type"], "image/png");
    assert_eq!(std::fs::read(path.join("out.png")).unwrap(), logo);

    for (args, expected) in [
        (vec!["--name", "X", "--primary", "#12345"], "not #RRGGBB"),
        (vec!["--name", "X", "--accent", "blue"], "not #RRGGBB"),
        (
            vec!["--name", "X", "--logo", "logo.gif"],
            "PNG, JPEG or SVG",
        ),
        (vec!["--name", "X", "--logo", "big.png"], "at most 524288"),
        (vec!["--name", " "], "portal name"),
    ] {
        let mut all = vec!["portal", "branding", "set"];
        all.extend(args);
        let error = refused(path, &all);
        assert!(error.contains(expected), "{error}");
    }
    // Refusals left the stored branding alone.
    assert!(ok(path, &["portal", "branding", "show"]).starts_with("name: Example Corp\n"));
}

#[test]
fn webclip_goes_to_the_users_iphone_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let runtime = two_users_with_devices(path);
    let out = ok(
        path,
        &[
            "portal",
            "webclip",
            "--user",
            "alice",
            "--url",
            "https://portal.example.com",
            "--label",
            "Portal",
            "--device-ca",
            "device-ca.pem",
        ],
    );
    assert!(out.contains("queued UDID-A (command "), "{out}");
    assert!(out.contains("skipped UDID-MAC: macOS"), "{out}");
    runtime.block_on(async {
        let store = store(path).await;
        let pending = store
            .pending_commands(&EnrollmentId::device("UDID-A"))
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].command.request_type, "InstallProfile");
        for other in ["UDID-MAC", "UDID-B"] {
            assert!(store
                .pending_commands(&EnrollmentId::device(other))
                .await
                .unwrap()
                .is_empty());
        }
    });
    let error = refused(
        path,
        &[
            "portal",
            "webclip",
            "--user",
            "alice",
            "--url",
            "http://portal.example.com",
            "--device-ca",
            "device-ca.pem",
        ],
    );
    assert!(error.contains("https"), "{error}");
    refused(
        path,
        &[
            "portal",
            "webclip",
            "--user",
            "ghost",
            "--url",
            "https://portal.example.com",
            "--device-ca",
            "device-ca.pem",
        ],
    );
}

#[test]
fn the_certificates_tab_as_a_user() {
    use mdmkit_certstore::testing::TestIdentity;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let _runtime = two_users_with_devices(path);
    ok(
        path,
        &["certs", "kinds", "add", "Signing", "--use", "signing"],
    );
    let identity = TestIdentity::for_email("alice@example.com");
    std::fs::write(path.join("alice.p12"), identity.pkcs12_modern("pw")).unwrap();
    write_secret(path.join("pw.txt"), "pw\n");
    write_secret(path.join("wrong.txt"), "nope\n");
    fn tab<'a>(user: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "portal",
            "as",
            user,
            "--device-ca",
            "device-ca.pem",
            "certs",
        ];
        args.extend_from_slice(rest);
        args
    }
    let out = ok(
        path,
        &tab(
            "alice",
            &[
                "add",
                "--kind",
                "Signing",
                "--password-file",
                "pw.txt",
                "alice.p12",
            ],
        ),
    );
    let id = out
        .strip_prefix("imported ")
        .and_then(|rest| rest.split(':').next())
        .unwrap()
        .to_owned();
    let error = refused(
        path,
        &tab(
            "alice",
            &[
                "add",
                "--kind",
                "Signing",
                "--password-file",
                "wrong.txt",
                "alice.p12",
            ],
        ),
    );
    assert!(error.contains("p12_bad_password"), "{error}");
    assert!(ok(path, &tab("alice", &["list"])).contains(&id));
    assert_eq!(
        ok(path, &tab("bob", &["list"])),
        "no certificates for bob\n"
    );
    let id = id.as_str();
    for rest in [
        vec!["delete", id],
        vec!["clear-key", id],
        vec!["edit", id, "--name", "x"],
    ] {
        let error = refused(path, &tab("bob", &rest));
        assert!(error.contains("unknown_certificate"), "{error}");
    }
    assert!(ok(path, &tab("alice", &["clear-key", id])).contains("cleared"));
    assert_eq!(
        ok(path, &tab("alice", &["delete", id])),
        format!("deleted {id}\n")
    );
    assert_eq!(
        ok(path, &tab("alice", &["list"])),
        "no certificates for alice\n"
    );
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

/// Asserts that a file mdmkit wrote holding a secret is readable by its owner only.
fn assert_owner_only(path: impl AsRef<std::path::Path>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path.as_ref())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.as_ref().display());
    }
}
