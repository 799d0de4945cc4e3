//! Every command of Apple's schema renders and parses back; the envelope is what devices
//! expect.

mod common;

use common::sample_dictionary;
use mdmkit_core::command::{
    self, validate_command_dictionary, Command, CommandEnvelope, CommandResponse, DeviceLock,
    EraseDevice, EraseDeviceObliterationBehavior, InstallProfile, COMMANDS,
};
use mdmkit_core::schema::{Channel, DeviceFacts, Platform};
use mdmkit_core::{Data, PlistFormat};
use plist::{Dictionary, Value};

#[test]
fn the_schema_has_all_66_request_types() {
    assert_eq!(COMMANDS.len(), 66);
    let mut names: Vec<_> = COMMANDS.iter().map(|c| c.name).collect();
    names.dedup();
    assert_eq!(names.len(), 66);
    assert!(command::command_info("DeviceLock").is_some());
    assert!(command::command_info("Nope").is_none());
}

#[test]
fn every_request_type_renders_and_parses_back_equal() {
    for info in COMMANDS {
        let mut dict = Dictionary::new();
        dict.insert("RequestType".into(), Value::String(info.name.into()));
        for (k, v) in sample_dictionary(info.keys) {
            dict.insert(k, v);
        }
        validate_command_dictionary(&dict)
            .unwrap_or_else(|e| panic!("{}: sample does not validate: {e}", info.name));
        let command =
            Command::from_dictionary(dict.clone()).unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert_eq!(command.request_type(), info.name);
        assert_eq!(command.to_dictionary(), dict, "{}", info.name);
        let envelope = CommandEnvelope::with_uuid("UUID-1", command);
        for format in [PlistFormat::Xml, PlistFormat::Binary] {
            let bytes = envelope.encode(format).unwrap();
            let back = CommandEnvelope::decode(&bytes).unwrap();
            assert_eq!(back, envelope, "{} {format:?}", info.name);
        }
    }
}

#[test]
fn every_response_with_keys_decodes_typed_and_round_trips() {
    for info in COMMANDS.iter().filter(|c| !c.response_keys.is_empty()) {
        let dict = sample_dictionary(info.response_keys);
        let response = CommandResponse::decode(info.name, dict.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert!(
            !matches!(response, CommandResponse::Other(_)),
            "{} should be typed",
            info.name
        );
        assert_eq!(response.to_dictionary(), dict, "{}", info.name);
    }
}

#[test]
fn device_lock_is_exactly_the_plist_apple_expects() {
    let lock = DeviceLock::new()
        .with_message("Lost phone")
        .with_phone_number("555-0100");
    let xml = CommandEnvelope::with_uuid("9F0C3A0E-1111-4C4C-8888-000000000001", lock)
        .to_xml()
        .unwrap();
    let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
<plist version=\"1.0\">\n\
<dict>\n\
\t<key>CommandUUID</key>\n\
\t<string>9F0C3A0E-1111-4C4C-8888-000000000001</string>\n\
\t<key>Command</key>\n\
\t<dict>\n\
\t\t<key>RequestType</key>\n\
\t\t<string>DeviceLock</string>\n\
\t\t<key>Message</key>\n\
\t\t<string>Lost phone</string>\n\
\t\t<key>PhoneNumber</key>\n\
\t\t<string>555-0100</string>\n\
\t</dict>\n\
</dict>\n\
</plist>";
    assert_eq!(String::from_utf8(xml).unwrap().trim_end(), expected);
}

#[test]
fn data_keys_are_plist_data_and_new_uuids_are_unique() {
    let profile = InstallProfile::new(Data::new(b"<plist/>".to_vec()));
    let a = CommandEnvelope::new(profile.clone());
    let b = CommandEnvelope::new(profile);
    assert_ne!(a.command_uuid, b.command_uuid);
    let dict = a.command.to_dictionary();
    assert_eq!(
        dict.get("Payload"),
        Some(&Value::Data(b"<plist/>".to_vec()))
    );
}

#[test]
fn enumerated_values_are_enums_and_unknown_ones_are_refused() {
    let erase = EraseDevice::new()
        .with_obliteration_behavior(EraseDeviceObliterationBehavior::DoNotObliterate);
    let dict = Command::from(erase).to_dictionary();
    assert_eq!(
        dict.get("ObliterationBehavior").and_then(Value::as_string),
        Some("DoNotObliterate")
    );
    let mut bad = dict.clone();
    bad.insert(
        "ObliterationBehavior".into(),
        Value::String("Sometimes".into()),
    );
    let err = Command::from_dictionary(bad).unwrap_err();
    assert_eq!(err.code(), "invalid_value");
    assert!(err.to_string().contains("EraseDevice.ObliterationBehavior"));
}

#[test]
fn unknown_keys_survive_a_round_trip_but_strict_validation_names_them() {
    let mut dict = Dictionary::new();
    dict.insert("RequestType".into(), Value::String("DeviceLock".into()));
    dict.insert("FutureKey".into(), Value::Integer(1.into()));
    let command = Command::from_dictionary(dict.clone()).unwrap();
    assert_eq!(command.to_dictionary(), dict);
    let err = validate_command_dictionary(&dict).unwrap_err();
    assert_eq!(err.code(), "unknown_key");
    assert_eq!(err.to_string(), "unknown key DeviceLock.FutureKey");
}

#[test]
fn bad_command_dictionaries_get_typed_errors() {
    let mut dict = Dictionary::new();
    dict.insert("RequestType".into(), Value::String("MakeCoffee".into()));
    assert_eq!(
        Command::from_dictionary(dict).unwrap_err().code(),
        "unknown_request_type"
    );
    let mut dict = Dictionary::new();
    dict.insert("RequestType".into(), Value::String("InstallProfile".into()));
    let err = Command::from_dictionary(dict.clone()).unwrap_err();
    assert_eq!(err.code(), "missing_key");
    assert_eq!(
        err.to_string(),
        "missing required key InstallProfile.Payload"
    );
    dict.insert("Payload".into(), Value::String("not data".into()));
    let err = Command::from_dictionary(dict).unwrap_err();
    assert_eq!(err.code(), "wrong_type");
    assert!(CommandEnvelope::decode(b"garbage").is_err());
}

#[test]
fn platform_availability_refuses_what_a_device_cannot_run() {
    let lock = command::command_info("DeviceLock").unwrap();
    assert!(lock.check(&DeviceFacts::new(Platform::Ios)).is_ok());
    let err = lock.check(&DeviceFacts::new(Platform::TvOs)).unwrap_err();
    assert_eq!(err.code(), "command_not_supported");

    let lost_mode = command::command_info("EnableLostMode").unwrap();
    let mut phone = DeviceFacts::new(Platform::Ios);
    assert!(lost_mode
        .check(&phone)
        .unwrap_err()
        .to_string()
        .contains("supervised"));
    phone.supervised = true;
    assert!(lost_mode.check(&phone).is_ok());
    phone.os_version = Some("9.0".into());
    assert!(lost_mode
        .check(&phone)
        .unwrap_err()
        .to_string()
        .contains("or later"));

    let mut mac_user = DeviceFacts::new(Platform::MacOs);
    mac_user.channel = Channel::User;
    assert!(lock
        .check(&mac_user)
        .unwrap_err()
        .to_string()
        .contains("user channel"));

    let mut byod = DeviceFacts::new(Platform::Ios);
    byod.user_enrollment = true;
    let erase = command::command_info("EraseDevice").unwrap();
    assert!(erase
        .check(&byod)
        .unwrap_err()
        .to_string()
        .contains("User Enrollment"));
}
