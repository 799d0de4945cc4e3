//! Check-in messages decode into one typed enum; every MessageType round-trips.

mod common;

use common::{dict, sample_dictionary};
use mdmkit_core::checkin::{
    self, user_authenticate_challenge, Checkin, CheckinMessage, GetBootstrapTokenResponse, MESSAGES,
};
use mdmkit_core::{Data, PlistFormat};
use plist::{Dictionary, Value};

const TOKEN_UPDATE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
  <key>AwaitingConfiguration</key><false/>
  <key>MessageType</key><string>TokenUpdate</string>
  <key>PushMagic</key><string>5E1B9D3C-0000-4000-8000-00000000AAAA</string>
  <key>Token</key><data>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</data>
  <key>Topic</key><string>com.apple.mgmt.External.11111111-2222-3333-4444-555555555555</string>
  <key>UDID</key><string>0000FE00-1A2B3C4D5E6F7A8B</string>
  <key>UnlockToken</key><data>c2VjcmV0LXVubG9jaw==</data>
  <key>FutureKey</key><string>kept</string>
</dict>
</plist>"#;

#[test]
fn all_eight_message_types_round_trip() {
    assert_eq!(MESSAGES.len(), 8);
    for info in MESSAGES {
        let mut dict = Dictionary::new();
        dict.insert("MessageType".into(), Value::String(info.name.into()));
        for (k, v) in sample_dictionary(info.keys) {
            dict.insert(k, v);
        }
        dict.insert("UDID".into(), Value::String("DEVICE-1".into()));
        let message = CheckinMessage::from_dictionary(dict.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert_eq!(message.message_type(), info.name);
        assert_eq!(message.to_dictionary(), dict, "{}", info.name);
        for format in [PlistFormat::Xml, PlistFormat::Binary] {
            let bytes = message.encode(format).unwrap();
            let checkin = Checkin::decode(&bytes).unwrap();
            assert_eq!(checkin.message, message);
        }
    }
}

#[test]
fn token_update_decodes_typed_and_keeps_unknown_keys() {
    let checkin = Checkin::decode(TOKEN_UPDATE.as_bytes()).unwrap();
    assert_eq!(checkin.enrollment_id.as_str(), "0000FE00-1A2B3C4D5E6F7A8B");
    let CheckinMessage::TokenUpdate(update) = &checkin.message else {
        panic!("not a TokenUpdate: {:?}", checkin.message);
    };
    assert_eq!(update.push_magic, "5E1B9D3C-0000-4000-8000-00000000AAAA");
    assert_eq!(update.token.len(), 32);
    assert_eq!(update.unlock_token.as_deref(), Some(&b"secret-unlock"[..]));
    assert_eq!(update.awaiting_configuration, Some(false));
    assert_eq!(
        update.extra.get("FutureKey").and_then(Value::as_string),
        Some("kept")
    );
    // Secrets do not reach Debug output.
    let debug = format!("{update:?}");
    assert!(!debug.contains("secret"), "{debug}");
    // A round trip keeps the unknown key.
    assert_eq!(checkin.message.to_dictionary(), dict(TOKEN_UPDATE));
}

#[test]
fn user_channels_resolve_to_one_enrollment_id() {
    let body = r#"<plist version="1.0"><dict>
      <key>MessageType</key><string>TokenUpdate</string>
      <key>Topic</key><string>com.apple.mgmt.X</string>
      <key>UDID</key><string>MAC-1</string>
      <key>UserID</key><string>USER-501</string>
      <key>UserShortName</key><string>amy</string>
      <key>UserLongName</key><string>Amy</string>
      <key>Token</key><data>AQ==</data>
      <key>PushMagic</key><string>M</string>
    </dict></plist>"#;
    let checkin = Checkin::decode(body.as_bytes()).unwrap();
    assert_eq!(checkin.enrollment_id.as_str(), "MAC-1:USER-501");
    assert!(checkin.enrollment_id.is_user_channel());

    let byod = r#"<plist version="1.0"><dict>
      <key>MessageType</key><string>Authenticate</string>
      <key>Topic</key><string>com.apple.mgmt.X</string>
      <key>EnrollmentID</key><string>BYOD-7</string>
    </dict></plist>"#;
    assert_eq!(
        Checkin::decode(byod.as_bytes())
            .unwrap()
            .enrollment_id
            .as_str(),
        "BYOD-7"
    );
}

#[test]
fn bad_check_ins_get_typed_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "<plist><dict><key>UDID</key><string>D</string></dict></plist>",
            "missing_key",
        ),
        (
            "<plist><dict><key>MessageType</key><string>Hello</string><key>UDID</key><string>D</string></dict></plist>",
            "unknown_message_type",
        ),
        (
            "<plist><dict><key>MessageType</key><string>CheckOut</string><key>UDID</key><string>D</string><key>Topic</key><integer>5</integer></dict></plist>",
            "wrong_type",
        ),
        (
            "<plist><dict><key>MessageType</key><string>CheckOut</string><key>Topic</key><string>T</string></dict></plist>",
            "missing_enrollment_id",
        ),
        ("<plist><array/></plist>", "wrong_type"),
        ("not a plist at all", "plist_malformed"),
        ("", "plist_malformed"),
    ];
    for (body, code) in cases {
        let err = Checkin::decode(body.as_bytes()).unwrap_err();
        assert_eq!(err.code(), *code, "{body}: {err}");
    }
    let err = Checkin::decode(
        b"<plist><dict><key>MessageType</key><string>CheckOut</string><key>UDID</key><string>D</string><key>Topic</key><integer>5</integer></dict></plist>",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CheckOut.Topic: expected string, found integer"
    );
}

#[test]
fn server_answers_are_plists_with_apples_keys() {
    let body = checkin::response_body(
        &GetBootstrapTokenResponse::new().with_bootstrap_token(Data::new(vec![9, 9])),
    )
    .unwrap();
    let answer: Dictionary = plist::from_bytes(&body).unwrap();
    assert_eq!(answer.get("BootstrapToken"), Some(&Value::Data(vec![9, 9])));

    let body = user_authenticate_challenge("nonce-1").unwrap();
    let answer: Dictionary = plist::from_bytes(&body).unwrap();
    assert_eq!(
        answer.get("DigestChallenge").and_then(Value::as_string),
        Some("nonce-1")
    );
}

/// `into_dictionary` (by value) must give what `to_dictionary` gives, keys in the same
/// order: a field the generator forgot to move would be a missing key here. Every message
/// type with every key filled in, the test's TokenUpdate with an unknown key, and every
/// check-in of the fuzz corpus (which holds the real-world vectors of nanomdm).
#[test]
fn into_dictionary_is_to_dictionary() {
    fn same(message: &CheckinMessage, what: &str) {
        let by_reference = message.to_dictionary();
        let by_value = message.clone().into_dictionary();
        assert_eq!(by_value, by_reference, "{what}");
        assert_eq!(
            by_value.keys().collect::<Vec<_>>(),
            by_reference.keys().collect::<Vec<_>>(),
            "{what}: key order"
        );
    }
    for info in MESSAGES {
        let mut dict = Dictionary::new();
        dict.insert("MessageType".into(), Value::String(info.name.into()));
        for (k, v) in sample_dictionary(info.keys) {
            dict.insert(k, v);
        }
        dict.insert("UDID".into(), Value::String("DEVICE-1".into()));
        dict.insert("FutureKey".into(), Value::String("kept".into()));
        let message = CheckinMessage::from_dictionary(dict.clone()).unwrap();
        same(&message, info.name);
        assert_eq!(message.into_dictionary(), dict, "{}", info.name);
    }
    same(
        &Checkin::decode(TOKEN_UPDATE.as_bytes()).unwrap().message,
        "TOKEN_UPDATE",
    );
    // A value of an enumeration the schema does not list (kept as sent) moves too.
    let mut get_token = Dictionary::new();
    get_token.insert("MessageType".into(), Value::String("GetToken".into()));
    get_token.insert(
        "TokenServiceType".into(),
        Value::String("com.example.future-service".into()),
    );
    get_token.insert("UDID".into(), Value::String("DEVICE-1".into()));
    let message = CheckinMessage::from_dictionary(get_token.clone()).unwrap();
    same(&message, "GetToken with an unlisted TokenServiceType");
    assert_eq!(message.into_dictionary(), get_token);
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz/corpus/checkin");
    let mut decoded = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        if let Ok(checkin) = Checkin::decode(&std::fs::read(&path).unwrap()) {
            same(&checkin.message, &path.display().to_string());
            decoded += 1;
        }
    }
    assert!(
        decoded >= 16,
        "only {decoded} check-ins decoded in {}",
        corpus.display()
    );
}

/// The answers' types move their values too (`into_plist` is `to_plist`).
#[test]
fn responses_into_plist_is_to_plist() {
    use mdmkit_core::codec::PlistCodec;
    let mut response =
        GetBootstrapTokenResponse::new().with_bootstrap_token(Data::new(b"token".to_vec()));
    response
        .extra
        .insert("FutureKey".into(), Value::String("kept".into()));
    assert_eq!(response.clone().into_plist(), response.to_plist());
    let answer = checkin::GetTokenResponse::new(Data::new(b"data".to_vec()));
    assert_eq!(answer.clone().into_plist(), answer.to_plist());
}
