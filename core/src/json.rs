//! Conversion between plist values and JSON, guided by the schema where it has to be.
//!
//! JSON has no data or date type: data values are base64 strings and dates RFC 3339
//! strings, both ways. Converting JSON to a plist needs the schema to know which strings
//! are data or dates and which numbers are reals, so [`value_from_json`] takes the key's
//! [`KeyInfo`]. The command-line tool and the language bindings use this module to accept
//! commands written by people.

use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plist::{Dictionary, Value};
use serde_json::{Map, Number, Value as Json};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::codec::KeyPath;
use crate::schema::{KeyInfo, ValueKind};
use crate::Error;

fn json_error(path: &KeyPath<'_>, message: impl Into<String>) -> Error {
    Error::Json {
        path: path.to_string(),
        message: message.into(),
    }
}

/// A date as an RFC 3339 string in UTC.
pub fn format_date(date: SystemTime) -> String {
    OffsetDateTime::from(date)
        .format(&Rfc3339)
        .unwrap_or_else(|_| String::from("invalid date"))
}

/// Parses an RFC 3339 date.
pub fn parse_date(text: &str, path: &KeyPath<'_>) -> Result<SystemTime, Error> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| json_error(path, format!("{text:?} is not an RFC 3339 date: {e}")))
}

/// A plist value as JSON (data as base64, dates as RFC 3339, UIDs as numbers).
pub fn plist_to_json(value: &Value) -> Json {
    match value {
        Value::String(s) => Json::String(s.clone()),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => match (i.as_signed(), i.as_unsigned()) {
            (Some(v), _) => Json::Number(v.into()),
            (None, Some(v)) => Json::Number(v.into()),
            (None, None) => Json::Null,
        },
        Value::Real(r) => Number::from_f64(*r).map_or(Json::Null, Json::Number),
        Value::Data(d) => Json::String(BASE64.encode(d)),
        Value::Date(d) => Json::String(format_date((*d).into())),
        Value::Array(items) => Json::Array(items.iter().map(plist_to_json).collect()),
        Value::Dictionary(dict) => Json::Object(dictionary_to_json(dict)),
        Value::Uid(uid) => Json::Number(uid.get().into()),
        _ => Json::Null,
    }
}

/// A plist dictionary as a JSON object, keys in the same order.
pub fn dictionary_to_json(dict: &Dictionary) -> Map<String, Json> {
    dict.iter()
        .map(|(k, v)| (k.clone(), plist_to_json(v)))
        .collect()
}

/// Converts a JSON object to a plist dictionary whose keys are described by `keys`.
/// A key the schema does not define is an error.
pub fn dictionary_from_json(
    object: &Map<String, Json>,
    keys: &'static [KeyInfo],
    path: &KeyPath<'_>,
) -> Result<Dictionary, Error> {
    let mut dict = Dictionary::new();
    for (name, json) in object {
        let info = keys
            .iter()
            .find(|k| k.name == name)
            .ok_or_else(|| Error::UnknownKey {
                path: path.key(name).to_string(),
            })?;
        dict.insert(name.clone(), value_from_json(json, info, &path.key(name))?);
    }
    Ok(dict)
}

/// Converts a JSON value to the plist value the schema expects for `info`.
pub fn value_from_json(json: &Json, info: &KeyInfo, path: &KeyPath<'_>) -> Result<Value, Error> {
    let expected = |what: &str| json_error(path, format!("expected {what}, found {json}"));
    match info.kind {
        ValueKind::String => match json {
            Json::String(s) => Ok(Value::String(s.clone())),
            _ => Err(expected("a string")),
        },
        ValueKind::Integer => json
            .as_i64()
            .map(|i| Value::Integer(i.into()))
            .ok_or_else(|| expected("an integer")),
        ValueKind::Real => json
            .as_f64()
            .map(Value::Real)
            .ok_or_else(|| expected("a number")),
        ValueKind::Boolean => json
            .as_bool()
            .map(Value::Boolean)
            .ok_or_else(|| expected("true or false")),
        ValueKind::Data => match json {
            Json::String(s) => BASE64
                .decode(s.trim())
                .map(Value::Data)
                .map_err(|e| json_error(path, format!("not base64: {e}"))),
            _ => Err(expected("a base64 string")),
        },
        ValueKind::Date => match json {
            Json::String(s) => Ok(Value::Date(parse_date(s, path)?.into())),
            _ => Err(expected("an RFC 3339 date string")),
        },
        ValueKind::Array => match json {
            Json::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match info.item {
                    Some(item_info) => value_from_json(item, item_info, &path.index(i)),
                    None => Ok(infer_from_json(item)),
                })
                .collect::<Result<_, _>>()
                .map(Value::Array),
            _ => Err(expected("an array")),
        },
        ValueKind::Dictionary => {
            let Json::Object(object) = json else {
                return Err(expected("an object"));
            };
            if let Some(discriminator) = info.discriminator {
                let tag = object
                    .get(discriminator)
                    .and_then(Json::as_str)
                    .unwrap_or("");
                let alternative = info.alternative(tag).ok_or_else(|| Error::InvalidValue {
                    path: path.key(discriminator).to_string(),
                    value: tag.to_owned(),
                    allowed: info
                        .keys
                        .iter()
                        .map(|k| k.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
                dictionary_from_json(object, alternative.keys, path).map(Value::Dictionary)
            } else if let Some(map_value) = info.map_value {
                object
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), value_from_json(v, map_value, &path.key(k))?)))
                    .collect::<Result<Dictionary, Error>>()
                    .map(Value::Dictionary)
            } else if info.keys.is_empty() {
                Ok(infer_from_json(json))
            } else {
                dictionary_from_json(object, info.keys, path).map(Value::Dictionary)
            }
        }
        ValueKind::Any => Ok(infer_from_json(json)),
    }
}

/// Converts JSON with no schema to guide it: strings stay strings, whole numbers become
/// integers, other numbers reals, `null` an empty string.
pub fn infer_from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::String(String::new()),
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i.into()),
            None => Value::Real(n.as_f64().unwrap_or_default()),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(infer_from_json).collect()),
        Json::Object(object) => Value::Dictionary(
            object
                .iter()
                .map(|(k, v)| (k.clone(), infer_from_json(v)))
                .collect(),
        ),
    }
}

/// Converts a value written as text on a command line (`Key=Value`) to the plist value the
/// schema expects: numbers and booleans are parsed, data is base64, dates RFC 3339, and
/// arrays and dictionaries are written as JSON.
pub fn value_from_text(text: &str, info: &KeyInfo, path: &KeyPath<'_>) -> Result<Value, Error> {
    let json = match info.kind {
        ValueKind::String | ValueKind::Data | ValueKind::Date => Json::String(text.to_owned()),
        ValueKind::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Json::Bool(true),
            "false" | "no" | "0" => Json::Bool(false),
            _ => {
                return Err(json_error(
                    path,
                    format!("expected true or false, found {text:?}"),
                ))
            }
        },
        ValueKind::Integer | ValueKind::Real => serde_json::from_str::<Number>(text.trim())
            .map(Json::Number)
            .map_err(|_| json_error(path, format!("expected a number, found {text:?}")))?,
        ValueKind::Array | ValueKind::Dictionary | ValueKind::Any => {
            match serde_json::from_str(text) {
                Ok(json) => json,
                Err(_) if info.kind == ValueKind::Any => Json::String(text.to_owned()),
                Err(e) => return Err(json_error(path, format!("expected JSON: {e}"))),
            }
        }
    };
    value_from_json(&json, info, path)
}

/// A typed command from its RequestType and a JSON object of its keys (as the admin API
/// and the command line take them), validated against Apple's schema.
pub fn command_from_json(
    request_type: &str,
    object: &Map<String, Json>,
) -> Result<crate::Command, Error> {
    let info = crate::command::command_info(request_type)
        .ok_or_else(|| Error::UnknownRequestType(request_type.to_owned()))?;
    let mut keys = object.clone();
    keys.remove("RequestType");
    let keys = dictionary_from_json(&keys, info.keys, &KeyPath::named(info.name))?;
    crate::command::command_from_keys(info.name, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_from_json_are_typed_and_checked_against_the_schema() {
        let object = |text: &str| match serde_json::from_str(text) {
            Ok(Json::Object(object)) => object,
            other => panic!("not an object: {other:?}"),
        };
        let command = command_from_json(
            "DeviceLock",
            &object(r#"{"RequestType": "DeviceLock", "Message": "hi", "PhoneNumber": "1"}"#),
        )
        .unwrap();
        let crate::Command::DeviceLock(lock) = command else {
            panic!("expected DeviceLock");
        };
        assert_eq!(lock.message.as_deref(), Some("hi"));
        assert_eq!(
            command_from_json("NoSuchCommand", &Map::new())
                .unwrap_err()
                .code(),
            "unknown_request_type"
        );
        assert_eq!(
            command_from_json("DeviceLock", &object(r#"{"Bogus": 1}"#))
                .unwrap_err()
                .code(),
            "unknown_key"
        );
        assert_eq!(
            command_from_json("DeviceLock", &object(r#"{"Message": 5}"#))
                .unwrap_err()
                .code(),
            "json_invalid"
        );
    }

    static DATA_KEY: KeyInfo = KeyInfo {
        name: "Payload",
        kind: ValueKind::Data,
        required: true,
        allowed: &[],
        range: None,
        not_on: &[],
        keys: &[],
        item: None,
        map_value: None,
        discriminator: None,
    };

    #[test]
    fn data_and_dates_round_trip_through_json() {
        let path = KeyPath::named("X");
        let value = value_from_json(&Json::String("AQID".into()), &DATA_KEY, &path).unwrap();
        assert_eq!(value, Value::Data(vec![1, 2, 3]));
        assert_eq!(plist_to_json(&value), Json::String("AQID".into()));
        let date = parse_date("2024-02-29T12:00:00Z", &path).unwrap();
        assert_eq!(format_date(date), "2024-02-29T12:00:00Z");
        assert_eq!(
            parse_date("yesterday", &path).unwrap_err().code(),
            "json_invalid"
        );
    }

    #[test]
    fn text_values_follow_the_schema() {
        let path = KeyPath::named("X");
        let bool_key = KeyInfo {
            kind: ValueKind::Boolean,
            ..DATA_KEY
        };
        assert_eq!(
            value_from_text("yes", &bool_key, &path).unwrap(),
            Value::Boolean(true)
        );
        assert!(value_from_text("maybe", &bool_key, &path).is_err());
        assert!(value_from_text("!!", &DATA_KEY, &path).is_err());
    }
}
