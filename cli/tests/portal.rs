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
