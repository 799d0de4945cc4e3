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
    assert!(text(&output.stdout).starts_with("location: on\n"));
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
    use mdmkit_core::profile::{verify, PayloadContent};
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
            "-o",
            "enroll.mobileconfig",
        ]
    };
    let output = mdmkit(path, &args("alice"), b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let signed = std::fs::read(path.join("enroll.mobileconfig")).unwrap();
    let profile = verify(&signed, Some(&signer.certificate_pem().unwrap()))
        .unwrap()
        .profile;
    assert!(profile.payloads.iter().any(
        |p| matches!(&p.content, PayloadContent::Mdm(m) if m.topic == "com.apple.mgmt.External.cli")
    ));

    let output = mdmkit(path, &args("ghost"), b"");
    assert_eq!(output.status.code(), Some(2), "unknown user");
    let mut wrong_key = args("alice");
    wrong_key[7] = "sign.key";
    let output = mdmkit(path, &wrong_key, b"");
    assert_eq!(output.status.code(), Some(2), "CA key that is not the CA's");
}
