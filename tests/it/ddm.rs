//! Declarative Device Management end to end: a simulated device that signs its messages
//! runs the whole flow against the engine on the memory store, SQLite and (when
//! `MDMKIT_TEST_POSTGRES_URL` is set) PostgreSQL.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mdmkit_core::command::{Command, CommandEnvelope};
use mdmkit_core::ddm::declarations::{
    ActivationSimple, AssetData, AssetDataReference, ConfigurationManagementStatusSubscriptions,
    ConfigurationManagementStatusSubscriptionsStatusItemsItem, ConfigurationPasscodeSettings,
    ConfigurationServicesConfigurationFiles, ManagementOrganizationInfo,
};
use mdmkit_core::ddm::{served_data_asset, Declaration, DeclarationPayload};
use mdmkit_core::engine::{Engine, MdmResponse, SyncOutcome};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{AssetDataRecord, AtRestKey, MemoryStore, SharedStore, SqliteStore};
use mdmkit_core::{CommandStatus, EnrollmentId};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use plist::Dictionary;
use serde_json::{json, Value as Json};

const TOPIC: &str = "com.apple.mgmt.External.ddm-test";

macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(std::sync::Arc::new(super::MemoryStore::new())).await;
            })*
        }
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("mdmkit.db");
                let store = super::SqliteStore::open(
                    path.to_str().unwrap(),
                    super::AtRestKey::from_bytes(&[7; 32]).unwrap(),
                )
                .await
                .unwrap();
                super::$name(std::sync::Arc::new(store)).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let Some(store) = super::postgres_store().await else { return };
                super::$name(store).await;
            })*
        }
    };
}

async fn postgres_store() -> Option<SharedStore> {
    match std::env::var("MDMKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!(
                "mdmkit_ddm_{}_{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            );
            let store = mdmkit_core::store::PostgresStore::connect_in_schema(
                &url,
                &schema,
                AtRestKey::from_bytes(&[7; 32]).unwrap(),
            )
            .await
            .unwrap();
            Some(Arc::new(store))
        }
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: DDM test on PostgreSQL (set MDMKIT_TEST_POSTGRES_URL)"
            );
            None
        }
    }
}

on_every_store!(
    a_device_runs_the_whole_declarative_flow,
    bad_declarations_and_reports_store_nothing,
    assets_are_served_to_their_devices_only,
    the_service_stores_only_without_a_device_ca,
);

struct Fixture {
    engine: Engine,
    pusher: Arc<RecordingPusher>,
    ca: DeviceCa,
}

fn fixture(store: SharedStore) -> Fixture {
    let ca = DeviceCa::new("DDM Test Device CA").unwrap();
    let pusher = Arc::new(RecordingPusher::new());
    let engine = Engine::builder(store, pusher.clone())
        .device_ca(ca.certificate_pem().unwrap())
        .build()
        .unwrap();
    Fixture { engine, pusher, ca }
}

fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn id(device: &SimulatedDevice) -> EnrollmentId {
    EnrollmentId::device(&device.udid)
}

impl Fixture {
    fn device(&self, name: &str) -> SimulatedDevice {
        let udid = unique(name);
        SimulatedDevice::new(&udid, TOPIC).with_identity(self.ca.issue(&udid).unwrap())
    }

    async fn enroll(&self, device: &SimulatedDevice) {
        for body in [
            device.authenticate().unwrap(),
            device.token_update(&[1; 32], "MAGIC").unwrap(),
        ] {
            let response = self
                .engine
                .handle_checkin(device.request(body).unwrap())
                .await;
            assert_eq!(response.status, 200, "{:?}", response.error);
        }
    }

    async fn ddm(
        &self,
        device: &SimulatedDevice,
        endpoint: &str,
        data: Option<&[u8]>,
    ) -> MdmResponse {
        let body = device.declarative_management(endpoint, data).unwrap();
        self.engine
            .handle_checkin(device.request(body).unwrap())
            .await
    }

    async fn ddm_json(&self, device: &SimulatedDevice, endpoint: &str) -> Json {
        let response = self.ddm(device, endpoint, None).await;
        assert_eq!(response.status, 200, "{endpoint}: {:?}", response.error);
        assert!(response
            .headers
            .iter()
            .any(|(n, v)| n == "Content-Type" && v == "application/json"));
        serde_json::from_slice(&response.body).unwrap()
    }

    /// The device asks for its next command, expects a `DeclarativeManagement` one and
    /// acknowledges it; returns the SyncTokens it carried.
    async fn take_sync_command(&self, device: &SimulatedDevice) -> Json {
        let response = self
            .engine
            .handle_command(device.request(device.idle().unwrap()).unwrap())
            .await;
        assert_eq!(response.status, 200, "{:?}", response.error);
        let envelope = CommandEnvelope::decode(&response.body).unwrap();
        let Command::DeclarativeManagement(command) = &envelope.command else {
            panic!(
                "expected DeclarativeManagement, got {}",
                envelope.request_type()
            );
        };
        let tokens: Json =
            serde_json::from_slice(command.data.as_ref().unwrap().as_bytes()).unwrap();
        let ack = device
            .answer(
                &response.body,
                CommandStatus::Acknowledged,
                Dictionary::new(),
            )
            .unwrap();
        let response = self
            .engine
            .handle_command(device.request(ack).unwrap())
            .await;
        assert_eq!(response.status, 200, "{:?}", response.error);
        assert!(response.body.is_empty(), "nothing else queued");
        tokens
    }
}

fn passcode(min_length: i64) -> Declaration {
    Declaration::new(
        "passcode",
        ConfigurationPasscodeSettings::new().with_minimum_length(min_length),
    )
    .unwrap()
}

fn base_set() -> Vec<Declaration> {
    let asset = Declaration::new(
        "sshd-files",
        AssetData::new(
            AssetDataReference::new("https://mdm.example.com/assets/sshd.zip")
                .with_content_type("application/zip"),
        ),
    )
    .unwrap();
    let files = Declaration::new(
        "sshd",
        ConfigurationServicesConfigurationFiles::new("com.apple.sshd", "sshd-files"),
    )
    .unwrap();
    let subscriptions = Declaration::new(
        "subscriptions",
        ConfigurationManagementStatusSubscriptions::new(vec![
            ConfigurationManagementStatusSubscriptionsStatusItemsItem::new(
                "softwareupdate.install-state",
            ),
            ConfigurationManagementStatusSubscriptionsStatusItemsItem::new("passcode.is-compliant"),
        ]),
    )
    .unwrap();
    let activation = Declaration::new(
        "activation",
        ActivationSimple::new(vec![
            "passcode".into(),
            "sshd".into(),
            "subscriptions".into(),
        ])
        .with_predicate("@status(device.model.family) == 'iPhone'"),
    )
    .unwrap();
    let org = Declaration::new("org", ManagementOrganizationInfo::new("Example Org")).unwrap();
    vec![passcode(6), asset, files, subscriptions, activation, org]
}

async fn a_device_runs_the_whole_declarative_flow(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("ddm");
    f.enroll(&device).await;

    // Enable: the command carries the (empty) SyncTokens, and the device is pushed.
    f.engine
        .enable_declarative_management(&id(&device))
        .await
        .unwrap();
    assert_eq!(f.pusher.pushed().len(), 1);
    let empty_tokens = f.take_sync_command(&device).await;
    let tokens = f.ddm_json(&device, "tokens").await;
    assert_eq!(tokens, empty_tokens);
    let items = f.ddm_json(&device, "declaration-items").await;
    assert_eq!(items["Declarations"]["Configurations"], json!([]));

    // Declaring a set nobody has pushes nobody; assigning it pushes the device.
    let set = unique("base");
    let declared = f.engine.declare(&set, &base_set()).await.unwrap();
    assert_eq!(declared.declared.changed.len(), 6);
    assert!(declared.synced.is_empty());
    assert_eq!(f.pusher.pushed().len(), 1);
    let outcome = f
        .engine
        .assign_declaration_set(&set, &id(&device))
        .await
        .unwrap();
    assert!(matches!(outcome, SyncOutcome::Queued(_)), "{outcome:?}");
    assert_eq!(f.pusher.pushed().len(), 2);
    let sync = f.take_sync_command(&device).await;
    let tokens = f.ddm_json(&device, "tokens").await;
    assert_eq!(tokens, sync);
    let token = tokens["SyncTokens"]["DeclarationsToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        json!(token),
        empty_tokens["SyncTokens"]["DeclarationsToken"]
    );

    // The manifest, and each declaration exactly as declared.
    let items = f.ddm_json(&device, "declaration-items").await;
    assert_eq!(items["DeclarationsToken"], json!(token));
    let mut fetched = 0;
    for (category, key) in [
        ("activation", "Activations"),
        ("asset", "Assets"),
        ("configuration", "Configurations"),
        ("management", "Management"),
    ] {
        for item in items["Declarations"][key].as_array().unwrap() {
            let identifier = item["Identifier"].as_str().unwrap();
            let declaration = f
                .ddm_json(&device, &format!("declaration/{category}/{identifier}"))
                .await;
            assert_eq!(declaration["ServerToken"], item["ServerToken"]);
            let expected = base_set()
                .into_iter()
                .find(|d| d.identifier == identifier)
                .unwrap();
            assert_eq!(declaration, expected.to_json());
            assert_eq!(Declaration::from_json(&declaration).unwrap(), expected);
            fetched += 1;
        }
    }
    assert_eq!(fetched, 6);
    // The wrong category is not found.
    assert_eq!(
        f.ddm(&device, "declaration/asset/passcode", None)
            .await
            .status,
        404
    );

    // A status report with errors and the declarations' states.
    let report = json!({
        "StatusItems": {
            "device": { "model": { "family": "iPhone" } },
            "passcode": { "is-compliant": false },
            "softwareupdate": { "install-state": "downloading" },
            "management": {
                "client-capabilities": {
                    "supported-versions": ["1.0.0"],
                    "supported-features": {},
                    "supported-payloads": { "declarations": {
                        "activations": ["com.apple.activation.simple"],
                        "assets": ["com.apple.asset.data"],
                        "configurations": [
                            "com.apple.configuration.passcode.settings",
                            "com.apple.configuration.services.configuration-files",
                            "com.apple.configuration.management.status-subscriptions"
                        ],
                        "management": ["com.apple.management.organization-info"]
                    }, "status-items": [] }
                },
                "declarations": {
                    "activations": [{ "identifier": "activation", "server-token": "x", "active": true, "valid": "valid" }],
                    "configurations": [{ "identifier": "sshd", "server-token": "x", "active": false, "valid": "invalid",
                        "reasons": [{ "code": "Error.ConfigurationCannotBeApplied", "description": "no sshd" }] }],
                    "assets": [],
                    "management": []
                }
            }
        },
        "Errors": [{ "StatusItem": "screensharing.connection.group.unresolved-connection",
                     "Reasons": [{ "Code": "Error.NotSupported" }] }],
        "FullReport": true
    });
    let response = f
        .ddm(&device, "status", Some(report.to_string().as_bytes()))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let status = store.get_status(&id(&device)).await.unwrap().unwrap();
    let names: Vec<&str> = status.items.iter().map(|i| i.item.as_str()).collect();
    assert!(names.contains(&"softwareupdate.install-state"), "{names:?}");
    assert!(status.errors.contains("Error.NotSupported"));
    let states = mdmkit_core::ddm::serve::declaration_states(&status.items);
    assert_eq!(states["sshd"], (false, "invalid".to_owned()));
    assert!(status.full_report_at.is_some());
    // An incremental report replaces its items only.
    let incremental = json!({
        "StatusItems": { "softwareupdate": { "install-state": "installing" } },
        "Errors": []
    });
    let response = f
        .ddm(&device, "status", Some(incremental.to_string().as_bytes()))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    let status = store.get_status(&id(&device)).await.unwrap().unwrap();
    let install = status
        .items
        .iter()
        .find(|i| i.item == "softwareupdate.install-state")
        .unwrap();
    assert_eq!(install.value, "\"installing\"");
    assert!(status.items.iter().any(|i| i.item == "device.model.family"));
    assert_eq!(status.errors, "[]");
    // List items of incremental reports merge by identifier; `_removed` removes.
    for apps in [
        json!([{ "identifier": "com.example.a", "state": "installed" },
               { "identifier": "com.example.b", "state": "installing" }]),
        json!([{ "identifier": "com.example.a", "_removed": true },
               { "identifier": "com.example.b", "state": "installed" }]),
    ] {
        let report =
            json!({ "StatusItems": { "app": { "managed": { "list": apps } } }, "Errors": [] });
        let response = f
            .ddm(&device, "status", Some(report.to_string().as_bytes()))
            .await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
    let status = store.get_status(&id(&device)).await.unwrap().unwrap();
    let apps = status
        .items
        .iter()
        .find(|i| i.item == "app.managed.list")
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Json>(&apps.value).unwrap(),
        json!([{ "identifier": "com.example.b", "state": "installed" }])
    );

    // The capabilities match what is assigned: nothing held back, the token unchanged.
    assert_eq!(
        f.ddm_json(&device, "tokens").await["SyncTokens"]["DeclarationsToken"],
        json!(token)
    );

    // An unchanged declaration changes nothing and pushes nobody.
    let pushed = f.pusher.pushed().len();
    let again = f.engine.declare(&set, &[passcode(6)]).await.unwrap();
    assert!(again.declared.changed.is_empty());
    assert!(again.synced.is_empty());
    let sync = f.engine.sync_declarations(&[id(&device)]).await.unwrap();
    assert_eq!(sync[0].1, SyncOutcome::Unchanged);
    assert_eq!(f.pusher.pushed().len(), pushed);

    // An edited one changes the token and pushes the device.
    let edited = f.engine.declare(&set, &[passcode(8)]).await.unwrap();
    assert_eq!(edited.declared.changed, vec!["passcode".to_owned()]);
    assert!(matches!(edited.synced[0].1, SyncOutcome::Queued(_)));
    assert_eq!(f.pusher.pushed().len(), pushed + 1);
    let sync = f.take_sync_command(&device).await;
    let new_token = sync["SyncTokens"]["DeclarationsToken"].clone();
    assert_ne!(new_token, json!(token));
    assert_eq!(
        f.ddm_json(&device, "tokens").await["SyncTokens"]["DeclarationsToken"],
        new_token
    );
    let fetched = f
        .ddm_json(&device, "declaration/configuration/passcode")
        .await;
    assert_eq!(fetched["Payload"]["MinimumLength"], 8);

    // A declaration type from a newer OS is kept and served; once the device says it
    // does not support it, it is held back (the token does not count it).
    let newer = Declaration::from_json(&json!({
        "Type": "com.apple.configuration.from-a-newer-os",
        "Identifier": "newer",
        "Payload": { "Setting": 1 }
    }))
    .unwrap();
    assert!(matches!(newer.payload, DeclarationPayload::Other { .. }));
    f.engine.declare(&set, &[newer]).await.unwrap();
    assert_eq!(
        f.ddm(&device, "declaration/configuration/newer", None)
            .await
            .status,
        404
    );
    assert_eq!(
        f.ddm_json(&device, "tokens").await["SyncTokens"]["DeclarationsToken"],
        new_token
    );
    let other_device = f.device("ddm-capable");
    f.enroll(&other_device).await;
    f.engine
        .assign_declaration_set(&set, &id(&other_device))
        .await
        .unwrap();
    let newer = f
        .ddm_json(&other_device, "declaration/configuration/newer")
        .await;
    assert_eq!(newer["Payload"]["Setting"], 1);

    // Another device, not assigned the set, cannot fetch its declarations: the same 404
    // as a declaration that does not exist.
    let stranger = f.device("ddm-stranger");
    f.enroll(&stranger).await;
    let not_assigned = f
        .ddm(&stranger, "declaration/configuration/passcode", None)
        .await;
    let missing = f
        .ddm(&stranger, "declaration/configuration/no-such", None)
        .await;
    assert_eq!(not_assigned.status, 404);
    assert_eq!(
        (not_assigned.status, not_assigned.body.len()),
        (missing.status, missing.body.len())
    );
    let items = f.ddm_json(&stranger, "declaration-items").await;
    assert_eq!(items["Declarations"]["Configurations"], json!([]));
    assert_eq!(f.ddm(&stranger, "no-such-endpoint", None).await.status, 404);
}

async fn bad_declarations_and_reports_store_nothing(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("ddm-bad");
    f.enroll(&device).await;
    let set = unique("bad");
    f.engine.declare(&set, &base_set()).await.unwrap();
    f.engine
        .assign_declaration_set(&set, &id(&device))
        .await
        .unwrap();
    let before = store.list_declarations(Some(&set)).await.unwrap();

    // A reference to a missing configuration: refused, nothing of the batch stored.
    let dangling = Declaration::new(
        "dangling",
        ActivationSimple::new(vec!["passcode".into(), "missing-config".into()]),
    )
    .unwrap();
    let err = f
        .engine
        .declare(&set, &[passcode(10), dangling])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "declaration_reference");
    assert!(err.to_string().contains("missing-config"), "{err}");
    // A configuration naming an asset of the wrong kind.
    let wrong_asset = Declaration::new(
        "wrong-asset",
        ConfigurationServicesConfigurationFiles::new("com.apple.sshd", "passcode"),
    )
    .unwrap();
    let err = f.engine.declare(&set, &[wrong_asset]).await.unwrap_err();
    assert_eq!(err.code(), "declaration_reference");
    assert_eq!(store.list_declarations(Some(&set)).await.unwrap(), before);
    // Deleting what another declaration refers to is refused too.
    let err = f.engine.delete_declaration("sshd-files").await.unwrap_err();
    assert_eq!(err.code(), "declaration_reference");
    assert_eq!(store.list_declarations(Some(&set)).await.unwrap(), before);

    // Bad status reports answer 400 and store nothing.
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    for body in [
        b"not json".to_vec(),
        br#"{"StatusItems": {"passcode": {"is-compliant": "no"}}, "Errors": []}"#.to_vec(),
        br#"{"StatusItems": [], "Errors": []}"#.to_vec(),
        deep.into_bytes(),
    ] {
        let response = f.ddm(&device, "status", Some(&body)).await;
        assert_eq!(response.status, 400);
        assert!(response.error.unwrap().contains("("));
    }
    let response = f.ddm(&device, "status", None).await;
    assert_eq!(response.status, 400);
    assert_eq!(store.get_status(&id(&device)).await.unwrap(), None);
}

async fn assets_are_served_to_their_devices_only(store: SharedStore) {
    let f = fixture(store.clone());
    let device = f.device("ddm-asset");
    let stranger = f.device("ddm-asset-stranger");
    f.enroll(&device).await;
    f.enroll(&stranger).await;
    let asset_id = unique("sshd-data");
    let data = AssetDataRecord::new(&asset_id, "application/zip", b"PK\x03\x04 files".to_vec());
    store.put_asset_data(&data).await.unwrap();
    let asset =
        served_data_asset(format!("https://mdm.example.com/assets/{asset_id}"), &data).unwrap();
    let config = Declaration::new(
        unique("sshd"),
        ConfigurationServicesConfigurationFiles::new("com.apple.sshd", &asset_id),
    )
    .unwrap();
    let set = unique("assets");
    f.engine.declare(&set, &[asset, config]).await.unwrap();
    f.engine
        .assign_declaration_set(&set, &id(&device))
        .await
        .unwrap();

    let fetched = f
        .ddm_json(&device, &format!("declaration/asset/{asset_id}"))
        .await;
    assert_eq!(fetched["Payload"]["Authentication"]["Type"], "MDM");
    assert_eq!(
        fetched["Payload"]["Reference"]["Hash-SHA-256"],
        json!(data.sha256)
    );
    assert_eq!(
        fetched["Payload"]["Reference"]["Size"],
        json!(data.data.len())
    );

    let get = |device: &SimulatedDevice| {
        let mut request = device.request(Vec::new()).unwrap();
        request.method = "GET".into();
        request
    };
    let response = f.engine.handle_asset(get(&device), &asset_id).await;
    assert_eq!(response.status, 200, "{:?}", response.error);
    assert_eq!(response.body, data.data);
    assert!(response
        .headers
        .contains(&("Content-Type".to_owned(), "application/zip".to_owned())));
    // Another device, an unknown asset: the same 404. No signature: 400. Not GET: 405.
    let other = f.engine.handle_asset(get(&stranger), &asset_id).await;
    let missing = f.engine.handle_asset(get(&device), "no-such-asset").await;
    assert_eq!((other.status, other.body.len()), (404, 0));
    assert_eq!((missing.status, missing.body.len()), (404, 0));
    let mut unsigned = mdmkit_core::engine::MdmRequest::put(Vec::new());
    unsigned.method = "GET".into();
    assert_eq!(f.engine.handle_asset(unsigned, &asset_id).await.status, 400);
    let put = device.request(Vec::new()).unwrap();
    assert_eq!(f.engine.handle_asset(put, &asset_id).await.status, 405);
}

/// The service's `Declarations` handle on a deployment without a device CA: declarations,
/// assignments and deletions are stored and say they were not synchronised; the effective
/// declarations carry the states reported; a status report is read whole or one item.
async fn the_service_stores_only_without_a_device_ca(store: SharedStore) {
    use mdmkit_core::store::{StatusItemRecord, StatusUpdate};
    let mdm =
        mdmkit_service::Mdm::with_store(store.clone(), mdmkit_service::MdmConfig::new("memory:"))
            .await
            .unwrap();
    assert_eq!(mdm.engine().unwrap_err().code(), "setting_missing");
    let ddm = mdm.declarations();
    let declared = ddm.declare_all("base", &base_set()).await.unwrap();
    assert!(!declared.synchronised, "{declared:?}");
    assert!(declared.synced.is_empty());
    assert_eq!(declared.changed_sets, vec!["base".to_owned()]);
    assert_eq!(declared.records.len(), 6);
    assert_eq!(declared.changed.len(), 6);
    let passcode_entry = declared
        .records
        .iter()
        .find(|r| r.identifier == "passcode")
        .unwrap();
    assert_eq!(
        passcode_entry.declaration_type,
        "com.apple.configuration.passcode.settings"
    );

    let udid = unique("UDID-STORED");
    let enrollment = EnrollmentId::device(&udid);
    let assigned = ddm.assign("base", &udid).await.unwrap();
    assert!(
        !assigned.synchronised && assigned.synced.is_empty(),
        "{assigned:?}"
    );
    assert_eq!(
        store
            .declarations_for_enrollment(&enrollment)
            .await
            .unwrap()
            .len(),
        6
    );
    // Nothing was queued: there is no engine to synchronise with.
    assert_eq!(
        ddm.sync(std::slice::from_ref(&udid))
            .await
            .unwrap_err()
            .code(),
        "setting_missing"
    );

    // Before any status report: no states, and no report to read.
    let effective = ddm.list_for(&udid).await.unwrap();
    assert_eq!(effective.len(), 6);
    assert!(effective
        .iter()
        .all(|e| e.active.is_none() && e.valid.is_none()));
    assert_eq!(
        ddm.status_report(&udid, None).await.unwrap_err().code(),
        "not_found"
    );

    let declarations_status = json!({
        "activations": [{"identifier": "activation", "server-token": "t",
                         "active": true, "valid": "valid"}],
        "configurations": [], "assets": [], "management": []
    });
    let update = StatusUpdate::new(
        vec![
            StatusItemRecord::new("softwareupdate.install-state", "\"downloading\""),
            StatusItemRecord::new("management.declarations", declarations_status.to_string()),
            StatusItemRecord::new("passcode.is-compliant", "\"not a boolean\""),
        ],
        r#"[{"StatusItem":"device.model.family"}]"#,
        true,
    );
    store.record_status(&enrollment, &update).await.unwrap();

    let effective = ddm.list_for(&udid).await.unwrap();
    let activation = effective
        .iter()
        .find(|e| e.declaration.identifier == "activation")
        .unwrap();
    assert_eq!(activation.active, Some(true));
    assert_eq!(activation.valid.as_deref(), Some("valid"));
    let passcode = effective
        .iter()
        .find(|e| e.declaration.identifier == "passcode")
        .unwrap();
    assert_eq!((passcode.active, passcode.valid.as_deref()), (None, None));

    let whole = ddm.status_report(&udid, None).await.unwrap();
    assert_eq!(whole.items.len(), 3, "{whole:?}");
    assert_eq!(whole.errors[0]["StatusItem"], "device.model.family");
    assert_eq!(
        whole.errors_json,
        r#"[{"StatusItem":"device.model.family"}]"#
    );
    assert!(whole.full_report_at.is_some());
    let one = ddm
        .status_report(&udid, Some("softwareupdate.install-state"))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].value, json!("downloading"));
    assert_eq!(one.items[0].value_json, "\"downloading\"");
    assert_eq!(one.items[0].schema_error, None);
    // A stored value that does not fit the schema is reported with why.
    let bad = ddm
        .status_report(&udid, Some("passcode.is-compliant"))
        .await
        .unwrap();
    assert!(bad.items[0].schema_error.is_some(), "{bad:?}");
    // An item the device never reported is a typed refusal, not an empty report.
    let unknown = ddm
        .status_report(&udid, Some("no.such-item"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "not_found", "{unknown}");
    assert!(unknown.to_string().contains("no.such-item"), "{unknown}");

    // Deleting: refused while referred to, stored only otherwise, not_found after.
    assert!(ddm.delete("passcode").await.is_err());
    let deleted = ddm.delete("activation").await.unwrap();
    assert!(
        !deleted.synchronised && deleted.synced.is_empty(),
        "{deleted:?}"
    );
    assert_eq!(
        ddm.delete("activation").await.unwrap_err().code(),
        "not_found"
    );
    assert_eq!(ddm.list(Some("base")).await.unwrap().len(), 5);

    // Removing the assignment is stored only; removing it again is refused.
    let removed = ddm.unassign("base", &udid).await.unwrap();
    assert!(!removed.synchronised, "{removed:?}");
    assert!(store
        .declarations_for_enrollment(&enrollment)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ddm.unassign("base", &udid).await.unwrap_err().code(),
        "invalid_input"
    );
}
