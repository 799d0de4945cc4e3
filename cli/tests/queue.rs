//! `mdmkit queue show` and `mdmkit db migrate`, run as the built binary.

use std::path::Path;
use std::process::{Command, Output};

use mdmkit_core::store::{
    AtRestKey, CommandQueue, CommandResultRecord, NextCommand, QueuedCommand, SqliteStore,
};
use mdmkit_core::{CommandStatus, EnrollmentId};

fn mdmkit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn db_migrate_creates_database_and_owner_only_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = mdmkit(dir.path(), &["db", "migrate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "database schema at version 4");
    assert!(dir.path().join("mdmkit.db").exists(), "default --db");
    let key_file = dir.path().join("mdmkit.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Again: nothing to do, same key.
    let output = mdmkit(dir.path(), &["db", "migrate"]);
    assert!(output.status.success());
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);

    // Explicit options, given after the subcommand (they are global).
    let output = mdmkit(
        dir.path(),
        &[
            "db",
            "migrate",
            "--db",
            "other.db",
            "--key-file",
            "other.key",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("other.db").exists());
    assert!(dir.path().join("other.key").exists());
}

#[test]
fn queue_show_lists_pending_commands_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let id = EnrollmentId::device("UDID-CLI");
    let output = mdmkit(dir.path(), &["queue", "show", "UDID-CLI", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "[]");
    let output = mdmkit(dir.path(), &["queue", "show", "UDID-CLI"]);
    assert_eq!(stdout(&output).trim(), "no pending commands for UDID-CLI");

    // Fill the queue through the library, with the key the CLI created.
    let key = AtRestKey::load_or_create(&dir.path().join("mdmkit.key")).unwrap();
    let location = dir.path().join("mdmkit.db");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqliteStore::open(location.to_str().unwrap(), key)
            .await
            .unwrap();
        for (uuid, request_type, priority) in [
            ("AAAA-1", "DeviceInformation", 0),
            ("AAAA-2", "DeviceLock", 10),
            ("AAAA-3", "InstalledApplicationList", 0),
            ("AAAA-4", "ProfileList", 0),
        ] {
            store
                .enqueue(
                    &QueuedCommand::new(uuid, request_type, b"<plist/>".to_vec())
                        .with_priority(priority),
                    std::slice::from_ref(&id),
                )
                .await
                .unwrap();
        }
        // AAAA-2 goes first (priority), the device defers it; AAAA-1 is acknowledged.
        store
            .next_command(&id, &NextCommand::after_idle())
            .await
            .unwrap();
        store
            .record_result(
                &id,
                &CommandResultRecord::new("AAAA-2", CommandStatus::NotNow, Vec::new()),
            )
            .await
            .unwrap();
        store
            .record_result(
                &id,
                &CommandResultRecord::new("AAAA-1", CommandStatus::Acknowledged, Vec::new()),
            )
            .await
            .unwrap();
        store
            .next_command(&id, &NextCommand::after_result(CommandStatus::NotNow))
            .await
            .unwrap();
        store.close().await;
    });

    let output = mdmkit(dir.path(), &["queue", "show", "UDID-CLI", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let entries: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let entries = entries.as_array().unwrap();
    let uuids: Vec<&str> = entries
        .iter()
        .map(|e| e["command_uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids, ["AAAA-2", "AAAA-3", "AAAA-4"]);
    assert_eq!(entries[0]["status"], "NotNow");
    assert_eq!(entries[0]["priority"], 10);
    assert_eq!(entries[0]["request_type"], "DeviceLock");
    assert!(entries[0]["delivered_at"].is_null());
    assert_eq!(entries[1]["status"], "Pending");
    assert!(
        entries[1]["delivered_at"].is_string(),
        "AAAA-3 was handed out"
    );
    assert!(entries[2]["delivered_at"].is_null());

    let output = mdmkit(dir.path(), &["queue", "show", "UDID-CLI"]);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("COMMAND UUID"));
    assert!(lines[1].starts_with("AAAA-2") && lines[1].contains("NotNow"));
    assert!(lines[2].starts_with("AAAA-3") && lines[2].contains("Pending"));
}

#[test]
fn bad_input_is_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.key"), "not a key").unwrap();
    let output = mdmkit(dir.path(), &["queue", "show", "X", "--key-file", "bad.key"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("store_crypto"),
        "{}",
        stderr(&output)
    );

    let output = mdmkit(dir.path(), &["queue", "show", " "]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("empty"));

    let output = mdmkit(dir.path(), &["db", "migrate", "--db", ""]);
    assert_eq!(output.status.code(), Some(2));

    // Another key than the one the database was written with.
    let output = mdmkit(dir.path(), &["db", "migrate"]);
    assert!(output.status.success());
    let key = AtRestKey::load_or_create(&dir.path().join("mdmkit.key")).unwrap();
    let location = dir.path().join("mdmkit.db");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use mdmkit_core::store::{EnrollmentRecord, EnrollmentStore};
        let store = SqliteStore::open(location.to_str().unwrap(), key)
            .await
            .unwrap();
        let mut record = EnrollmentRecord::new(EnrollmentId::device("K"));
        record.unlock_token = Some(mdmkit_core::Secret::from("unlock"));
        store.put_enrollment(&record).await.unwrap();
        store.close().await;
    });
    let other = AtRestKey::generate().unwrap();
    std::fs::write(dir.path().join("other.key"), other.to_hex()).unwrap();
    // Queue inspection needs no secret, so it works; the key is still checked to be a key.
    let output = mdmkit(
        dir.path(),
        &["queue", "show", "K", "--key-file", "other.key"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn unreachable_database_is_a_failure_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let output = mdmkit(
        dir.path(),
        &["db", "migrate", "--db", "/nonexistent-dir/sub/x.db"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("store_backend"));
    let output = mdmkit(
        dir.path(),
        &[
            "db",
            "migrate",
            "--db",
            "postgres://nobody@127.0.0.1:1/none",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}
