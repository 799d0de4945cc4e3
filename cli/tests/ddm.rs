//! `mdmkit ddm ...`, run as the built binary against an SQLite store a simulated device
//! enrolled in.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use mdmkit_core::engine::Engine;
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{AtRestKey, SqliteStore, StatusItemRecord, StatusUpdate};
use mdmkit_core::EnrollmentId;
use mdmkit_tests::{DeviceCa, SimulatedDevice};

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

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = mdmkit(dir, args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

const DECLARATIONS: &str = r#"[
  {"Type": "com.apple.configuration.passcode.settings", "Identifier": "passcode",
   "Payload": {"MinimumLength": 6}},
  {"Type": "com.apple.activation.simple", "Identifier": "activation",
   "Payload": {"StandardConfigurations": ["passcode"]}}
]"#;

#[test]
fn declare_assign_list_sync_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let types = ok(d, &["ddm", "types"]);
    assert_eq!(types.lines().count(), 38);
    assert!(types.contains("com.apple.configuration.passcode.settings"));

    std::fs::write(d.join("base.json"), DECLARATIONS).unwrap();
    let out = ok(d, &["ddm", "declare", "base.json", "--set", "base"]);
    assert!(
        out.starts_with("2 declaration(s) in set base, 2 changed"),
        "{out}"
    );
    assert!(out.contains("not synchronised"), "{out}");
    let out = ok(d, &["ddm", "declare", "base.json", "--set", "base"]);
    assert!(
        out.starts_with("2 declaration(s) in set base, 0 changed"),
        "{out}"
    );
    let out = ok(
        d,
        &[
            "ddm",
            "declare",
            "--set",
            "base",
            "--type",
            "com.apple.configuration.passcode.settings",
            "--identifier",
            "passcode",
            "--key",
            "MinimumLength=8",
        ],
    );
    assert!(out.contains("1 changed"), "{out}");

    // Refused input: exit 2, a code, nothing stored.
    std::fs::write(
        d.join("bad.json"),
        r#"{"Type": "com.apple.activation.simple", "Identifier": "dangling",
            "Payload": {"StandardConfigurations": ["missing"]}}"#,
    )
    .unwrap();
    let output = mdmkit(d, &["ddm", "declare", "bad.json", "--set", "base"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("[declaration_reference]"),
        "{}",
        stderr(&output)
    );
    let output = mdmkit(
        d,
        &[
            "ddm",
            "declare",
            "--set",
            "base",
            "--type",
            "com.apple.configuration.passcode.settings",
            "--identifier",
            "p2",
            "--key",
            "MinimumLength=many",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let listed: serde_json::Value =
        serde_json::from_str(&ok(d, &["ddm", "list", "--set", "base", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // A device enrolls (through the engine, on the same database).
    let ca = DeviceCa::new("CLI DDM CA").unwrap();
    std::fs::write(d.join("ca.pem"), ca.certificate_pem().unwrap()).unwrap();
    let device = SimulatedDevice::new("UDID-DDM", "com.apple.mgmt.External.cli")
        .with_identity(ca.issue("UDID-DDM").unwrap());
    let key = AtRestKey::load_or_create(&d.join("mdmkit.key")).unwrap();
    let location = d.join("mdmkit.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Arc::new(
            SqliteStore::open(location.to_str().unwrap(), key.clone())
                .await
                .unwrap(),
        );
        let engine = Engine::builder(store.clone(), Arc::new(RecordingPusher::new()))
            .device_ca(ca.certificate_pem().unwrap())
            .build()
            .unwrap();
        for body in [
            device.authenticate().unwrap(),
            device.token_update(&[1; 32], "MAGIC").unwrap(),
        ] {
            let response = engine.handle_checkin(device.request(body).unwrap()).await;
            assert_eq!(response.status, 200, "{:?}", response.error);
        }
        store.close().await;
    });

    let out = ok(
        d,
        &["ddm", "assign", "base", "UDID-DDM", "--device-ca", "ca.pem"],
    );
    assert!(out.contains("UDID-DDM: queued"), "{out}");
    let out = ok(d, &["ddm", "sync", "UDID-DDM", "--device-ca", "ca.pem"]);
    assert_eq!(out.trim(), "UDID-DDM: unchanged");
    let out = ok(
        d,
        &[
            "ddm",
            "sync",
            "UDID-DDM",
            "--enable",
            "--device-ca",
            "ca.pem",
        ],
    );
    assert!(out.contains("UDID-DDM: queued"), "{out}");
    let out = ok(d, &["ddm", "list", "--enrollment", "UDID-DDM"]);
    assert_eq!(out.lines().count(), 2, "{out}");

    // Status reports, stored through the library as the engine does.
    let output = mdmkit(d, &["ddm", "status", "UDID-DDM"]);
    assert_eq!(output.status.code(), Some(2));
    runtime.block_on(async {
        let store = SqliteStore::open(location.to_str().unwrap(), key)
            .await
            .unwrap();
        let update = StatusUpdate::new(
            vec![
                StatusItemRecord::new("softwareupdate.install-state", "\"downloading\""),
                StatusItemRecord::new(
                    "management.declarations",
                    r#"{"activations":[{"identifier":"activation","server-token":"t","active":true,"valid":"valid"}],"configurations":[],"assets":[],"management":[]}"#,
                ),
            ],
            r#"[{"StatusItem":"passcode.is-compliant"}]"#,
            true,
        );
        use mdmkit_core::store::DeclarationStore;
        store
            .record_status(&EnrollmentId::device("UDID-DDM"), &update)
            .await
            .unwrap();
        store.close().await;
    });
    let out = ok(
        d,
        &[
            "ddm",
            "status",
            "UDID-DDM",
            "--item",
            "softwareupdate.install-state",
        ],
    );
    assert_eq!(
        out.trim(),
        format!("{:<50} \"downloading\"", "softwareupdate.install-state")
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(d, &["ddm", "status", "UDID-DDM", "--json"])).unwrap();
    assert_eq!(json["items"]["softwareupdate.install-state"], "downloading");
    assert_eq!(json["errors"][0]["StatusItem"], "passcode.is-compliant");
    let listed: serde_json::Value = serde_json::from_str(&ok(
        d,
        &["ddm", "list", "--enrollment", "UDID-DDM", "--json"],
    ))
    .unwrap();
    let activation = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["identifier"] == "activation")
        .unwrap();
    assert_eq!(activation["valid"], "valid");
    let output = mdmkit(d, &["ddm", "status", "UDID-DDM", "--item", "no.such-item"]);
    assert_eq!(output.status.code(), Some(2));

    // Deleting what the activation refers to is refused; the activation can go.
    let output = mdmkit(d, &["ddm", "delete", "passcode"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(ok(d, &["ddm", "delete", "activation"]).starts_with("deleted activation"));
}
