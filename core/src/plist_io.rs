//! Reading and writing property lists with limits on size and nesting.
//!
//! Device bodies are untrusted. [`parse`] reads XML and binary plists through the
//! `plist` crate's event stream and builds the tree itself, so that a body nested deeper
//! than [`DecodeLimits::max_depth`] is refused before it can exhaust the stack, and a body
//! larger than [`DecodeLimits::max_body_bytes`] is refused before it is read at all.

use std::io::Cursor;

use plist::stream::{Event, Reader};
use plist::{Dictionary, Value};

use crate::Error;

/// Limits applied to every untrusted property list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The largest body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The deepest nesting of arrays and dictionaries accepted (the top-level dictionary is
    /// depth 1).
    pub max_depth: usize,
}

impl DecodeLimits {
    /// 8 MiB and 64 levels: large enough for an InstalledApplicationList of a well-used Mac,
    /// far below what could hurt the server.
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_body_bytes: 8 * 1024 * 1024,
        max_depth: 64,
    };
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The format a property list is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlistFormat {
    /// XML, what Apple's documentation shows and devices accept everywhere.
    #[default]
    Xml,
    /// Apple's binary format (`bplist00`).
    Binary,
}

enum Container {
    Array(Vec<Value>),
    Dictionary(Dictionary, Option<String>),
}

/// Parses an untrusted property list (XML or binary) within `limits`.
pub fn parse(bytes: &[u8], limits: DecodeLimits) -> Result<Value, Error> {
    if bytes.len() > limits.max_body_bytes {
        return Err(Error::BodyTooLarge {
            size: bytes.len(),
            limit: limits.max_body_bytes,
        });
    }
    let start = bytes.trim_ascii_start();
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    if start.is_empty() {
        return Err(Error::MalformedPlist("empty body".into()));
    }
    // Apple's MDM speaks XML and binary plists only; the plist crate would also read the
    // old OpenStep text format, in which almost any text is a valid string.
    if !start.starts_with(b"<") && !start.starts_with(b"bplist") {
        return Err(Error::MalformedPlist(
            "not an XML or binary property list".into(),
        ));
    }
    let mut stack: Vec<Container> = Vec::new();
    let mut root: Option<Value> = None;
    for event in Reader::new(Cursor::new(bytes)) {
        let event = event.map_err(|e| Error::MalformedPlist(e.to_string()))?;
        let value = match event {
            Event::StartArray(_) | Event::StartDictionary(_) => {
                if stack.len() >= limits.max_depth {
                    return Err(Error::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                stack.push(if matches!(event, Event::StartArray(_)) {
                    Container::Array(Vec::new())
                } else {
                    Container::Dictionary(Dictionary::new(), None)
                });
                continue;
            }
            Event::EndCollection => match stack.pop() {
                Some(Container::Array(items)) => Value::Array(items),
                Some(Container::Dictionary(dict, None)) => Value::Dictionary(dict),
                Some(Container::Dictionary(_, Some(key))) => {
                    return Err(Error::MalformedPlist(format!(
                        "dictionary key {key:?} has no value"
                    )))
                }
                None => return Err(Error::MalformedPlist("unbalanced end of collection".into())),
            },
            Event::Boolean(b) => Value::Boolean(b),
            Event::Data(d) => Value::Data(d.into_owned()),
            Event::Date(d) => Value::Date(d),
            Event::Integer(i) => Value::Integer(i),
            Event::Real(r) => Value::Real(r),
            Event::String(s) => {
                // A string directly inside a dictionary with no pending key is a key.
                if let Some(Container::Dictionary(_, pending @ None)) = stack.last_mut() {
                    *pending = Some(s.into_owned());
                    continue;
                }
                Value::String(s.into_owned())
            }
            Event::Uid(u) => Value::Uid(u),
            _ => return Err(Error::MalformedPlist("unsupported plist event".into())),
        };
        match stack.last_mut() {
            Some(Container::Array(items)) => items.push(value),
            Some(Container::Dictionary(dict, pending)) => match pending.take() {
                Some(key) => {
                    dict.insert(key, value);
                }
                None => {
                    return Err(Error::MalformedPlist(
                        "dictionary key is not a string".into(),
                    ))
                }
            },
            None => {
                if root.is_some() {
                    return Err(Error::MalformedPlist(
                        "more than one top-level value".into(),
                    ));
                }
                root = Some(value);
            }
        }
    }
    if !stack.is_empty() {
        return Err(Error::MalformedPlist("unexpected end of input".into()));
    }
    root.ok_or_else(|| Error::MalformedPlist("no value".into()))
}

/// Parses an untrusted property list whose top level must be a dictionary.
pub fn parse_dictionary(bytes: &[u8], limits: DecodeLimits) -> Result<Dictionary, Error> {
    match parse(bytes, limits)? {
        Value::Dictionary(dict) => Ok(dict),
        other => Err(Error::WrongType {
            path: String::new(),
            expected: "dictionary",
            found: crate::codec::kind_name(&other),
        }),
    }
}

/// Writes a value as a property list in the given format.
pub fn write(value: &Value, format: PlistFormat) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let result = match format {
        PlistFormat::Xml => value.to_writer_xml(&mut out),
        PlistFormat::Binary => value.to_writer_binary(&mut out),
    };
    result.map_err(|e| Error::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested_arrays(depth: usize) -> Vec<u8> {
        let mut xml = String::from("<?xml version=\"1.0\"?><plist version=\"1.0\">");
        xml.push_str(&"<array>".repeat(depth));
        xml.push_str(&"</array>".repeat(depth));
        xml.push_str("</plist>");
        xml.into_bytes()
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing_the_stack() {
        let err = parse(&nested_arrays(100_000), DecodeLimits::DEFAULT).unwrap_err();
        assert_eq!(err.code(), "plist_too_deep");
        assert!(parse(&nested_arrays(64), DecodeLimits::DEFAULT).is_ok());
        assert!(parse(&nested_arrays(65), DecodeLimits::DEFAULT).is_err());
    }

    /// A binary plist of `depth` arrays, each holding the next, written byte by byte so
    /// that the test never builds (or drops) the deep tree itself.
    fn nested_binary_arrays(depth: u32) -> Vec<u8> {
        let mut bytes = b"bplist00".to_vec();
        let mut offsets = Vec::new();
        for i in 0..depth {
            offsets.push(bytes.len() as u32);
            if i + 1 < depth {
                bytes.push(0xA1);
                bytes.extend_from_slice(&(i + 1).to_be_bytes());
            } else {
                bytes.push(0xA0);
            }
        }
        let table = bytes.len() as u64;
        for offset in offsets {
            bytes.extend_from_slice(&offset.to_be_bytes());
        }
        bytes.extend_from_slice(&[0; 6]);
        bytes.extend_from_slice(&[4, 4]);
        bytes.extend_from_slice(&u64::from(depth).to_be_bytes());
        bytes.extend_from_slice(&0u64.to_be_bytes());
        bytes.extend_from_slice(&table.to_be_bytes());
        bytes
    }

    #[test]
    fn refuses_deep_binary_nesting_too() {
        let err = parse(&nested_binary_arrays(100_000), DecodeLimits::DEFAULT).unwrap_err();
        assert_eq!(err.code(), "plist_too_deep");
        let shallow = parse(&nested_binary_arrays(3), DecodeLimits::DEFAULT).unwrap();
        assert_eq!(
            shallow,
            Value::Array(vec![Value::Array(vec![Value::Array(vec![])])])
        );
    }

    #[test]
    fn refuses_large_bodies_and_garbage() {
        let limits = DecodeLimits {
            max_body_bytes: 10,
            max_depth: 8,
        };
        assert_eq!(
            parse(&[b' '; 11], limits).unwrap_err().code(),
            "body_too_large"
        );
        assert_eq!(parse(b"", limits).unwrap_err().code(), "plist_malformed");
        assert_eq!(
            parse(b"<plist><dict><key>a", DecodeLimits::DEFAULT)
                .unwrap_err()
                .code(),
            "plist_malformed"
        );
    }

    #[test]
    fn xml_and_binary_give_the_same_tree() {
        let mut dict = Dictionary::new();
        dict.insert("A".into(), Value::Integer(7.into()));
        dict.insert(
            "B".into(),
            Value::Array(vec![Value::Boolean(true), Value::Data(vec![1, 2, 3])]),
        );
        let value = Value::Dictionary(dict);
        for format in [PlistFormat::Xml, PlistFormat::Binary] {
            let bytes = write(&value, format).unwrap();
            assert_eq!(parse(&bytes, DecodeLimits::DEFAULT).unwrap(), value);
        }
    }

    #[test]
    fn top_level_must_be_a_dictionary_when_asked() {
        let bytes = write(&Value::Array(vec![]), PlistFormat::Xml).unwrap();
        let err = parse_dictionary(&bytes, DecodeLimits::DEFAULT).unwrap_err();
        assert_eq!(err.code(), "wrong_type");
    }
}
