//! Every declaration type, status item and protocol message round-trips through its typed
//! form from a sample built from the schema; bad input gets typed errors.

use serde_json::{json, Map, Value as Json};

use super::*;
use crate::codec::{KeyPath, PlistCodec};
use crate::schema::{KeyInfo, ValueKind};

/// A JSON value for `info` with every key present: the first allowed value, the smallest
/// number of a range, one item per array, the first alternative of a chosen shape.
fn sample(info: &KeyInfo) -> Json {
    match info.kind {
        ValueKind::String => json!(info.allowed.first().copied().unwrap_or("sample")),
        ValueKind::Integer => {
            if let Some(first) = info.allowed.first() {
                json!(first.parse::<i64>().unwrap())
            } else if let Some((min, _)) = info.range.filter(|(min, _)| min.is_finite()) {
                json!(min as i64)
            } else {
                json!(2)
            }
        }
        ValueKind::Real => json!(info.range.map_or(1.5, |(min, _)| if min.is_finite() {
            min + 0.5
        } else {
            1.5
        })),
        ValueKind::Boolean => json!(true),
        ValueKind::Data => json!("AAEC"),
        ValueKind::Date => json!("2024-01-02T03:04:05Z"),
        ValueKind::Array => match info.item {
            Some(item) => json!([sample(item)]),
            None => json!(["sample"]),
        },
        ValueKind::Dictionary => {
            if info.discriminator.is_some() {
                return Json::Object(sample_object(info.keys[0].keys));
            }
            if let Some(value) = info.map_value {
                return json!({ "some-key": sample(value) });
            }
            Json::Object(sample_object(info.keys))
        }
        ValueKind::Any => json!("sample"),
    }
}

fn sample_object(keys: &[KeyInfo]) -> Map<String, Json> {
    keys.iter()
        .map(|k| (k.name.to_owned(), sample(k)))
        .collect()
}

#[test]
fn the_schema_has_every_declaration_type_and_status_item() {
    assert_eq!(DECLARATION_TYPES.len(), 38);
    assert_eq!(STATUS_ITEMS.len(), 44);
    assert_eq!(protocol::MESSAGES.len(), 3);
    for category in [
        DeclarationCategory::Activation,
        DeclarationCategory::Asset,
        DeclarationCategory::Configuration,
        DeclarationCategory::Management,
    ] {
        assert!(DECLARATION_TYPES.iter().any(|t| t.category == category));
    }
    for t in DECLARATION_TYPES {
        assert_eq!(
            category_of(t.info.name),
            Some(t.category),
            "{}",
            t.info.name
        );
        assert!(
            !t.info.platforms.is_empty(),
            "{} has platforms",
            t.info.name
        );
    }
}

#[test]
fn every_declaration_type_round_trips_from_a_sample() {
    for t in DECLARATION_TYPES {
        let payload = sample_object(t.info.keys);
        let declaration = Declaration::from_parts("sample", t.info.name, &payload)
            .unwrap_or_else(|e| panic!("{}: {e}", t.info.name));
        assert!(
            !matches!(declaration.payload, DeclarationPayload::Other { .. }),
            "{} is typed",
            t.info.name
        );
        assert_eq!(
            declaration.payload_json(),
            Json::Object(payload),
            "{}",
            t.info.name
        );
        let json = declaration.to_json();
        assert_eq!(json["Type"], t.info.name);
        assert_eq!(json["ServerToken"], declaration.server_token());
        let again = Declaration::from_json(&json).unwrap();
        assert_eq!(again, declaration, "{}", t.info.name);
        assert_eq!(again.server_token(), declaration.server_token());
    }
}

#[test]
fn every_status_item_round_trips_from_a_sample() {
    for info in STATUS_ITEMS {
        let value = sample(&info.keys[0]);
        let path = KeyPath::named(info.name);
        let plist = value_from_json_lenient(&value, Some(&info.keys[0]), &path).unwrap();
        let typed = StatusValue::from_value(info.name, plist)
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert!(!matches!(typed, StatusValue::Other { .. }), "{}", info.name);
        assert_eq!(typed.item(), info.name);
        assert_eq!(
            crate::json::plist_to_json(&typed.to_value()),
            value,
            "{}",
            info.name
        );
    }
}

#[test]
fn every_protocol_message_round_trips_from_a_sample() {
    use protocol::{DeclarationItemsResponse, StatusReport, TokensResponse};
    fn check<T: PlistCodec>(info: &crate::schema::MessageInfo) -> T {
        let object = sample_object(info.keys);
        let dict =
            dictionary_from_json_lenient(&object, info.keys, &KeyPath::named(info.name)).unwrap();
        let typed = T::from_plist(plist::Value::Dictionary(dict), &KeyPath::named(info.name))
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert_eq!(
            crate::json::plist_to_json(&typed.to_plist()),
            Json::Object(object)
        );
        typed
    }
    let items: DeclarationItemsResponse = check(&protocol::declaration_items_response::INFO);
    assert_eq!(items.declarations.activations[0].identifier, "sample");
    let report: StatusReport = check(&protocol::status_report::INFO);
    assert_eq!(report.full_report, Some(true));
    let _: TokensResponse = check(&protocol::tokens_response::INFO);
}

#[test]
fn unknown_keys_and_types_are_kept() {
    let payload = json!({ "MinimumLength": 6, "NewerOsKey": { "x": [1, 2] } });
    let declaration = Declaration::from_parts(
        "p",
        "com.apple.configuration.passcode.settings",
        payload.as_object().unwrap(),
    )
    .unwrap();
    assert_eq!(declaration.payload_json(), payload);
    let newer = json!({
        "Type": "com.apple.configuration.from-a-newer-os",
        "Identifier": "n",
        "Payload": { "Anything": true }
    });
    let declaration = Declaration::from_json(&newer).unwrap();
    assert!(matches!(
        declaration.payload,
        DeclarationPayload::Other { .. }
    ));
    assert_eq!(declaration.to_json()["Payload"], newer["Payload"]);
    assert_eq!(
        declaration.category(),
        Some(DeclarationCategory::Configuration)
    );
}

#[test]
fn bad_declarations_get_typed_errors() {
    let passcode = "com.apple.configuration.passcode.settings";
    let bad = |payload: Json| {
        Declaration::from_parts("p", passcode, payload.as_object().unwrap())
            .unwrap_err()
            .code()
    };
    assert_eq!(bad(json!({ "MinimumLength": "six" })), "wrong_type");
    assert_eq!(bad(json!({ "MinimumLength": 99 })), "invalid_value");
    let activation = |predicate: &str| {
        Declaration::from_json(&json!({
            "Type": "com.apple.activation.simple",
            "Identifier": "act",
            "Payload": { "StandardConfigurations": ["p"], "Predicate": predicate }
        }))
    };
    let err = activation("(@status(device.model.family) == 'iPad'").unwrap_err();
    assert_eq!(err.code(), "declaration_invalid");
    assert!(err.to_string().contains("act"), "{err}");
    assert!(activation("@status(device.model.family) == 'iPad'").is_ok());
    let missing = Declaration::from_json(&json!({
        "Type": "com.apple.activation.simple",
        "Identifier": "act",
        "Payload": {}
    }))
    .unwrap_err();
    assert_eq!(missing.code(), "missing_key");
    let enum_value = Declaration::from_json(&json!({
        "Type": "com.apple.asset.data",
        "Identifier": "a",
        "Payload": { "Reference": { "DataURL": "https://x" }, "Authentication": { "Type": "Magic" } }
    }))
    .unwrap_err();
    assert_eq!(enum_value.code(), "invalid_value");
    let long = "x".repeat(65);
    assert_eq!(
        Declaration::new(long, declarations::ConfigurationPasscodeSettings::new())
            .unwrap_err()
            .code(),
        "declaration_invalid"
    );
    assert_eq!(
        Declaration::from_json(&json!([1])).unwrap_err().code(),
        "declaration_invalid"
    );
}

#[test]
fn references_must_exist_and_fit() {
    let activation = Declaration::new(
        "act",
        declarations::ActivationSimple::new(vec!["cfg".into()]),
    )
    .unwrap();
    let config = Declaration::new(
        "cfg",
        declarations::ConfigurationServicesConfigurationFiles::new("com.apple.sshd", "asset"),
    )
    .unwrap();
    let asset = Declaration::new(
        "asset",
        declarations::AssetData::new(declarations::AssetDataReference::new("https://x/y.zip")),
    )
    .unwrap();
    let none = Default::default();
    assert!(check_references(&[activation.clone(), config.clone(), asset.clone()], &none).is_ok());
    let err = check_references(std::slice::from_ref(&activation), &none).unwrap_err();
    assert_eq!(err.code(), "declaration_reference");
    assert!(err.to_string().contains("cfg"), "{err}");
    let err = check_references(std::slice::from_ref(&config), &none).unwrap_err();
    assert!(err.to_string().contains("DataAssetReference"), "{err}");
    // An asset of the wrong type.
    let mut existing = std::collections::BTreeMap::new();
    existing.insert(
        "asset".to_owned(),
        "com.apple.asset.credential.userpassword".to_owned(),
    );
    let err = check_references(&[config], &existing).unwrap_err();
    assert!(err.to_string().contains("com.apple.asset.data"), "{err}");
    // An activation naming an asset.
    let wrong = Declaration::new(
        "act2",
        declarations::ActivationSimple::new(vec!["asset".into()]),
    )
    .unwrap();
    assert!(check_references(&[wrong, asset], &none).is_err());
}

#[test]
fn server_tokens_follow_content() {
    let a = Declaration::new(
        "p",
        declarations::ConfigurationPasscodeSettings::new().with_minimum_length(6),
    )
    .unwrap();
    let same = Declaration::new(
        "p",
        declarations::ConfigurationPasscodeSettings::new().with_minimum_length(6),
    )
    .unwrap();
    let edited = Declaration::new(
        "p",
        declarations::ConfigurationPasscodeSettings::new().with_minimum_length(8),
    )
    .unwrap();
    assert_eq!(a.server_token(), same.server_token());
    assert_ne!(a.server_token(), edited.server_token());
    assert_eq!(a.server_token().len(), MAX_IDENTIFIER_BYTES);
    // Key order in the input does not matter.
    let x = Declaration::from_parts(
        "o",
        "com.apple.management.organization-info",
        json!({"Name": "A", "URL": "https://a"})
            .as_object()
            .unwrap(),
    );
    let y = Declaration::from_parts(
        "o",
        "com.apple.management.organization-info",
        json!({"URL": "https://a", "Name": "A"})
            .as_object()
            .unwrap(),
    );
    if let (Ok(x), Ok(y)) = (x, y) {
        assert_eq!(x.server_token(), y.server_token());
    }
}

#[test]
fn status_reports_are_flattened_and_checked() {
    let report = json!({
        "StatusItems": {
            "device": {
                "identifier": { "udid": "U1", "serial-number": "S1" },
                "model": { "family": "iPhone" }
            },
            "softwareupdate": { "install-state": "a-newer-state" },
            "management": {
                "declarations": {
                    "activations": [{ "identifier": "act", "server-token": "t", "active": true, "valid": "valid" }],
                    "configurations": [{ "identifier": "cfg", "server-token": "t", "active": false, "valid": "invalid",
                        "reasons": [{ "code": "Error.ConfigurationCannotBeApplied" }] }],
                    "assets": [],
                    "management": []
                }
            },
            "vendor": { "thing": 1 }
        },
        "Errors": [{ "StatusItem": "passcode.is-compliant", "Reasons": [{ "Code": "Error.Unknown" }] }],
        "FullReport": true
    });
    let update = parse_status_report(report.to_string().as_bytes()).unwrap();
    assert!(update.full_report);
    let names: Vec<&str> = update.items.iter().map(|i| i.item.as_str()).collect();
    assert_eq!(
        names,
        [
            "device.identifier.udid",
            "device.identifier.serial-number",
            "device.model.family",
            "softwareupdate.install-state",
            "management.declarations",
            "vendor"
        ]
    );
    let states = serve::declaration_states(&update.items);
    assert_eq!(states["act"], (true, "valid".to_owned()));
    assert_eq!(states["cfg"], (false, "invalid".to_owned()));
    let install = update
        .items
        .iter()
        .find(|i| i.item == "softwareupdate.install-state")
        .unwrap();
    assert!(matches!(
        serve::typed_status_value(install).unwrap(),
        StatusValue::SoftwareupdateInstallState(status::SoftwareupdateInstallState::Other(_))
    ));
    assert!(update.errors.contains("Error.Unknown"));

    let code = |body: &[u8]| parse_status_report(body).unwrap_err().code();
    assert_eq!(code(b"not json"), "declarative_request_invalid");
    assert_eq!(code(b"[1, 2]"), "declarative_request_invalid");
    assert_eq!(code(br#"{"FullReport": "yes"}"#), "wrong_type");
    assert_eq!(
        code(br#"{"StatusItems": {"passcode": {"is-present": "yes"}}}"#),
        "wrong_type"
    );
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    assert_eq!(code(deep.as_bytes()), "declarative_request_invalid");
    let deep_object = "{\"a\":".repeat(100_000) + "1" + &"}".repeat(100_000);
    assert_eq!(code(deep_object.as_bytes()), "declarative_request_invalid");
    let nested = format!(
        "{{\"StatusItems\": {}1{}}}",
        "{\"a\":".repeat(100),
        "}".repeat(100)
    );
    assert_eq!(code(nested.as_bytes()), "declarative_request_invalid");
}

#[test]
fn capabilities_hold_back_unsupported_declarations() {
    use crate::store::DeclarationRecord;
    let record = |id: &str, t: &str| DeclarationRecord::new(id, t, "s", "tok", "{}");
    let assigned = vec![
        record("a", "com.apple.configuration.passcode.settings"),
        record("b", "com.apple.configuration.math.settings"),
        record("c", "com.apple.activation.simple"),
    ];
    let capabilities = json!({
        "supported-payloads": { "declarations": {
            "configurations": ["com.apple.configuration.passcode.settings"]
        } }
    });
    let all = EffectiveDeclarations::filter(assigned.clone(), None);
    assert_eq!(all.declarations.len(), 3);
    let some = EffectiveDeclarations::filter(assigned, Some(&capabilities));
    let ids: Vec<&str> = some
        .declarations
        .iter()
        .map(|d| d.identifier.as_str())
        .collect();
    assert_eq!(ids, ["a", "c"]);
    assert_eq!(some.refused[0].0.identifier, "b");
    assert_ne!(some.declarations_token(), all.declarations_token());
    assert!(some.find("configuration", "a").is_some());
    assert!(some.find("activation", "a").is_none());
    assert!(some.find("configuration", "b").is_none());
    let manifest = protocol_json(&some.manifest());
    assert_eq!(
        manifest["Declarations"]["Configurations"][0]["Identifier"],
        "a"
    );
    assert_eq!(
        manifest["Declarations"]["Activations"][0]["ServerToken"],
        "tok"
    );
    assert_eq!(manifest["DeclarationsToken"], some.declarations_token());
}

use serve::protocol_json;

#[test]
fn incremental_lists_merge_by_identifier() {
    assert!(serve::is_removable_list("app.managed.list"));
    assert!(!serve::is_removable_list("management.declarations"));
    assert!(!serve::is_removable_list("device.model.family"));
    let old = vec![
        json!({"identifier": "a", "state": "installed"}),
        json!({"identifier": "b", "state": "installed"}),
    ];
    let new = vec![
        json!({"identifier": "a", "_removed": true}),
        json!({"identifier": "b", "state": "updating"}),
        json!({"identifier": "c", "state": "installing"}),
        json!({"identifier": "z", "_removed": true}),
    ];
    assert_eq!(
        serve::merge_entries(old, new),
        vec![
            json!({"identifier": "b", "state": "updating"}),
            json!({"identifier": "c", "state": "installing"}),
        ]
    );
}
