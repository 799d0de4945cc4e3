//! `mdmkit admin add|list|delete|passwd`, run as the built binary: a deployment's first
//! administrator, who then signs in through the service.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

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

async fn mdm(dir: &Path) -> mdmkit_service::Mdm {
    let key = std::fs::read_to_string(dir.join("mdmkit.key")).unwrap();
    mdmkit_service::Mdm::open(
        mdmkit_service::MdmConfig::new(dir.join("mdmkit.db").to_string_lossy()).key_hex(key),
    )
    .await
    .unwrap()
}

#[test]
fn the_first_administrator_is_added_listed_renamed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let output = mdmkit(
        path,
        &["admin", "add", "root@example.com", "--name", "Root"],
        b"correct horse\n",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("added administrator adm_"));
    let output = mdmkit(path, &["admin", "add", "ROOT@example.com"], b"pw\n");
    assert_eq!(output.status.code(), Some(2), "duplicate address refused");
    assert!(
        text(&output.stderr).contains("store_conflict"),
        "{}",
        text(&output.stderr)
    );
    let output = mdmkit(path, &["admin", "add", "empty@example.com"], b"\n");
    assert_eq!(output.status.code(), Some(2), "empty password refused");

    let output = mdmkit(path, &["admin", "list", "--json"], b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let admins = listed.as_array().unwrap();
    assert_eq!(admins.len(), 1, "{listed}");
    assert_eq!(admins[0]["email"], "root@example.com");
    assert_eq!(admins[0]["name"], "Root");
    assert!(admins[0].get("password_hash").is_none());
    let id = admins[0]["id"].as_str().unwrap().to_owned();
    let output = mdmkit(path, &["admin", "list"], b"");
    assert!(text(&output.stdout).contains(&format!("{id}\troot@example.com\tRoot\tenabled")));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mdm = mdm(path).await;
        let signed_in = mdm
            .admins()
            .sign_in("root@example.com", "correct horse")
            .await
            .unwrap();
        assert_eq!(signed_in.user_id, id);
    });

    let output = mdmkit(path, &["admin", "passwd", &id], b"battery staple\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = mdmkit(path, &["admin", "passwd", "adm_nobody"], b"x\n");
    assert_eq!(output.status.code(), Some(2));
    runtime.block_on(async {
        let mdm = mdm(path).await;
        let admins = mdm.admins();
        let refused = admins
            .sign_in("root@example.com", "correct horse")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), "sign_in_failed");
        admins
            .sign_in("root@example.com", "battery staple")
            .await
            .unwrap();
    });

    let output = mdmkit(path, &["admin", "delete", &id], b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = mdmkit(path, &["admin", "delete", &id], b"");
    assert_eq!(output.status.code(), Some(2), "already deleted");
    let output = mdmkit(path, &["admin", "list", "--json"], b"");
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(listed.as_array().unwrap().is_empty());
}
