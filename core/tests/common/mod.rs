//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use mdmkit_core::schema::{KeyInfo, ValueKind};
use plist::{Dictionary, Value};

/// A value of every key the schema describes, valid for the schema: the first allowed
/// value where there is a list, every optional key filled in.
pub fn sample_value(info: &KeyInfo) -> Value {
    sample_at_depth(info, 0)
}

/// Self-referential structures (a home screen's folders hold pages of icons and folders)
/// end in empty arrays at this depth.
const MAX_SAMPLE_DEPTH: usize = 6;

fn sample_at_depth(info: &KeyInfo, depth: usize) -> Value {
    match info.kind {
        ValueKind::String => Value::String(
            info.allowed
                .first()
                .map_or_else(|| format!("sample-{}", info.name), |v| v.to_string()),
        ),
        ValueKind::Integer => Value::Integer(
            info.allowed
                .first()
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(7)
                .into(),
        ),
        ValueKind::Real => Value::Real(1.5),
        ValueKind::Boolean => Value::Boolean(true),
        ValueKind::Data => Value::Data(vec![0xDE, 0xAD, 0xBE, 0xEF]),
        ValueKind::Date => {
            Value::Date((SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)).into())
        }
        ValueKind::Array if depth >= MAX_SAMPLE_DEPTH => Value::Array(Vec::new()),
        ValueKind::Array => Value::Array(vec![match info.item {
            Some(item) => sample_at_depth(item, depth + 1),
            None => Value::String("item".into()),
        }]),
        ValueKind::Dictionary => {
            if info.discriminator.is_some() {
                // One dictionary of the first alternative.
                Value::Dictionary(sample_keys(info.keys[0].keys, depth + 1))
            } else if let Some(value) = info.map_value {
                let mut dict = Dictionary::new();
                dict.insert("free-key".into(), sample_at_depth(value, depth + 1));
                Value::Dictionary(dict)
            } else if info.keys.is_empty() {
                let mut dict = Dictionary::new();
                dict.insert("AppKey".into(), Value::String("app value".into()));
                Value::Dictionary(dict)
            } else {
                Value::Dictionary(sample_keys(info.keys, depth + 1))
            }
        }
        ValueKind::Any => Value::String("anything".into()),
    }
}

/// A dictionary with every key of `keys` filled in.
pub fn sample_dictionary(keys: &[KeyInfo]) -> Dictionary {
    sample_keys(keys, 0)
}

fn sample_keys(keys: &[KeyInfo], depth: usize) -> Dictionary {
    keys.iter()
        .map(|k| (k.name.to_owned(), sample_at_depth(k, depth)))
        .collect()
}

/// Parses an XML plist written in a test.
pub fn dict(xml: &str) -> Dictionary {
    plist::from_bytes(xml.as_bytes()).expect("test fixture is a valid plist")
}
