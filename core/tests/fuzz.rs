//! Property tests: the decoders never panic on arbitrary or damaged input, and plist trees
//! survive the parser unchanged. Bounded case counts keep CI fast.

use std::time::{Duration, SystemTime};

use mdmkit_core::plist_io::{self, DecodeLimits, PlistFormat};
use mdmkit_core::{Checkin, CommandEnvelope, CommandResult};
use plist::{Dictionary, Value};
use proptest::prelude::*;

const TOKEN_UPDATE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
  <key>MessageType</key><string>TokenUpdate</string>
  <key>PushMagic</key><string>M-1</string>
  <key>Token</key><data>AAECAw==</data>
  <key>Topic</key><string>com.apple.mgmt.X</string>
  <key>UDID</key><string>D-1</string>
</dict></plist>"#;

const RESULT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
  <key>CommandUUID</key><string>C-1</string>
  <key>QueryResponses</key><dict><key>OSVersion</key><string>17.4</string></dict>
  <key>RequestType</key><string>DeviceInformation</string>
  <key>Status</key><string>Acknowledged</string>
  <key>UDID</key><string>D-1</string>
</dict></plist>"#;

fn decode_everything(bytes: &[u8]) {
    let _ = plist_io::parse(bytes, DecodeLimits::DEFAULT);
    let _ = Checkin::decode(bytes);
    let _ = CommandResult::decode(bytes, None);
    let _ = CommandResult::decode(bytes, Some("DeviceInformation"));
    let _ = CommandEnvelope::decode(bytes);
}

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for xml in [TOKEN_UPDATE, RESULT] {
        out.push(xml.as_bytes().to_vec());
        let value = plist_io::parse(xml.as_bytes(), DecodeLimits::DEFAULT).unwrap();
        out.push(plist_io::write(&value, PlistFormat::Binary).unwrap());
    }
    out
}

fn plist_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(|i| Value::Integer(i.into())),
        (-1.0e9f64..1.0e9).prop_map(Value::Real),
        "[a-zA-Z0-9 <>&'\"]{0,12}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Data),
        (0u64..4_000_000_000)
            .prop_map(|s| Value::Date((SystemTime::UNIX_EPOCH + Duration::from_secs(s)).into())),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(("[A-Za-z]{1,8}", inner), 0..6)
                .prop_map(|pairs| { Value::Dictionary(pairs.into_iter().collect::<Dictionary>()) }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
        let mut with_magic = b"bplist00".to_vec();
        with_magic.extend_from_slice(&bytes);
        decode_everything(&with_magic);
    }

    #[test]
    fn damaged_real_bodies_never_panic(
        seed in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = seeds()[seed].clone();
        for (index, byte) in edits {
            let i = index.index(bytes.len());
            bytes[i] = byte;
        }
        decode_everything(&bytes);
        let keep = cut.index(bytes.len());
        decode_everything(&bytes[..keep]);
    }

    #[test]
    fn plist_trees_survive_both_formats(tree in plist_tree()) {
        for format in [PlistFormat::Xml, PlistFormat::Binary] {
            let bytes = plist_io::write(&tree, format).unwrap();
            let back = plist_io::parse(&bytes, DecodeLimits::DEFAULT).unwrap();
            prop_assert_eq!(&back, &tree);
        }
    }

    #[test]
    fn nesting_is_refused_exactly_past_the_limit(depth in 1usize..200, binary in any::<bool>()) {
        let mut value = Value::Array(vec![]);
        for _ in 1..depth {
            value = Value::Array(vec![value]);
        }
        let format = if binary { PlistFormat::Binary } else { PlistFormat::Xml };
        let bytes = plist_io::write(&value, format).unwrap();
        let limits = DecodeLimits { max_depth: 100, ..DecodeLimits::DEFAULT };
        let parsed = plist_io::parse(&bytes, limits);
        prop_assert_eq!(parsed.is_ok(), depth <= 100);
    }
}
