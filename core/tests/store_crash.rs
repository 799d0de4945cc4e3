//! Crash safety of the SQLite store: a process killed (SIGKILL) in the middle of bulk
//! enqueues leaves each command queued to every target or to none, and loses no result
//! stored before.
//!
//! The test re-runs its own binary as the child process: with `MDMKIT_CRASH_CHILD` set to
//! a database path, the same test function enqueues in a loop until it is killed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use mdmkit_core::store::{
    AtRestKey, CommandQueue, CommandResultRecord, QueuedCommand, SqliteStore,
};
use mdmkit_core::{CommandStatus, EnrollmentId};

const TARGETS: usize = 20_000;
const CHILD_ENV: &str = "MDMKIT_CRASH_CHILD";

fn key() -> AtRestKey {
    AtRestKey::from_bytes(&[3; 32]).unwrap()
}

fn targets() -> Vec<EnrollmentId> {
    (0..TARGETS)
        .map(|i| EnrollmentId::device(&format!("CRASH-{i:06}")))
        .collect()
}

fn bulk_command(n: usize) -> QueuedCommand {
    QueuedCommand::new(
        format!("bulk-{n}"),
        "DeviceInformation",
        b"<plist/>".to_vec(),
    )
}

/// The child: bulk-enqueues forever, announcing each enqueue before it starts.
fn run_child(path: &str) -> ! {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(path, key()).await.unwrap();
        let targets = targets();
        for n in 0.. {
            println!("begin {n}");
            store.enqueue(&bulk_command(n), &targets).await.unwrap();
            println!("done {n}");
        }
    });
    unreachable!("the child loops until it is killed")
}

#[test]
fn killed_bulk_enqueue_is_all_or_nothing() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        run_child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let location = path.to_str().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // Before the crash: a command with a stored result.
    let earlier = EnrollmentId::device("EARLIER");
    runtime.block_on(async {
        let store = SqliteStore::open(&location, key()).await.unwrap();
        store
            .enqueue(
                &QueuedCommand::new("before", "DeviceLock", b"<plist/>".to_vec()),
                std::slice::from_ref(&earlier),
            )
            .await
            .unwrap();
        store
            .record_result(
                &earlier,
                &CommandResultRecord::new(
                    "before",
                    CommandStatus::Acknowledged,
                    b"<plist>result</plist>".to_vec(),
                ),
            )
            .await
            .unwrap();
        store.close().await;
    });

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_bulk_enqueue_is_all_or_nothing",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &location)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut completed = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("done ") {
            completed += 1;
        }
        // Kill as soon as an enqueue begins after two completed ones: mid-transaction.
        if completed >= 2 && line.starts_with("begin ") {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert!(completed >= 2, "the child enqueued before it was killed");

    runtime.block_on(async {
        let store = SqliteStore::open(&location, key()).await.unwrap();
        let mut fully_queued = 0;
        for n in 0..completed + 2 {
            let uuid = format!("bulk-{n}");
            let statuses = store.command_status(&uuid).await.unwrap();
            let command = store.get_command(&uuid).await.unwrap();
            match command {
                Some(_) => {
                    assert_eq!(statuses.len(), TARGETS, "{uuid}: every target or none");
                    fully_queued += 1;
                }
                None => assert!(statuses.is_empty(), "{uuid}: no target without command"),
            }
        }
        assert!(fully_queued >= completed, "completed enqueues survive");
        let before = store.command_status("before").await.unwrap();
        assert_eq!(before.len(), 1);
        let result = before[0]
            .result
            .as_ref()
            .expect("the earlier result survives");
        assert_eq!(result.status, CommandStatus::Acknowledged);
        assert_eq!(result.payload, b"<plist>result</plist>".to_vec());
    });
}
