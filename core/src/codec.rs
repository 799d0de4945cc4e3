//! Conversion between typed Rust values and plist values.
//!
//! Every typed message in mdmkit (commands, their responses, check-in messages) converts to
//! and from a [`plist::Value`] through [`PlistCodec`]. Decoding names the key path of any
//! value of the wrong type, and leaves the keys a type does not model in the dictionary it
//! was given, so that the caller can keep them (see the `extra` field of every message).

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use plist::{Dictionary, Value};

use crate::Error;

/// A value that has a plist representation.
pub trait PlistCodec: Sized {
    /// The value as a plist value.
    fn to_plist(&self) -> Value;

    /// The value as a plist value, moving what it owns (strings, data, arrays, the `extra`
    /// keys) instead of cloning it: the same value as [`to_plist`](Self::to_plist) gives.
    /// The default clones; containers and the generated check-in messages move.
    fn into_plist(self) -> Value {
        self.to_plist()
    }

    /// Reads the value from a plist value found at `path`.
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error>;
}

/// Where a value sits in a message: a chain of keys and array indexes, rendered with dots
/// (`Settings.3.Enabled`) only when an error needs it.
#[derive(Debug, Clone, Copy)]
pub struct KeyPath<'a> {
    parent: Option<&'a KeyPath<'a>>,
    segment: Segment<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> KeyPath<'a> {
    /// The path of a top-level value.
    pub const ROOT: KeyPath<'static> = KeyPath {
        parent: None,
        segment: Segment::Root,
    };

    /// A path that starts with a name (for example the RequestType of a command).
    pub fn named(name: &'a str) -> Self {
        KeyPath {
            parent: None,
            segment: Segment::Key(name),
        }
    }

    /// The path of `key` inside the dictionary at this path.
    pub fn key(&'a self, key: &'a str) -> KeyPath<'a> {
        KeyPath {
            parent: Some(self),
            segment: Segment::Key(key),
        }
    }

    /// The path of item `index` of the array at this path.
    pub fn index(&'a self, index: usize) -> KeyPath<'a> {
        KeyPath {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }
}

impl fmt::Display for KeyPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut current = Some(self);
        while let Some(path) = current {
            match path.segment {
                Segment::Root => {}
                Segment::Key(key) => parts.push(key.to_owned()),
                Segment::Index(index) => parts.push(index.to_string()),
            }
            current = path.parent;
        }
        parts.reverse();
        f.write_str(&parts.join("."))
    }
}

/// The name of a plist value's type, as error messages show it.
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "array",
        Value::Dictionary(_) => "dictionary",
        Value::Boolean(_) => "boolean",
        Value::Data(_) => "data",
        Value::Date(_) => "date",
        Value::Real(_) => "real",
        Value::Integer(_) => "integer",
        Value::String(_) => "string",
        Value::Uid(_) => "uid",
        _ => "unknown",
    }
}

/// The error for a value of the wrong type.
pub fn wrong_type(path: &KeyPath<'_>, expected: &'static str, found: &Value) -> Error {
    Error::WrongType {
        path: path.to_string(),
        expected,
        found: kind_name(found),
    }
}

/// Binary data (a plist `<data>` value).
///
/// `Debug` shows only the length: data values carry tokens and keys (push tokens,
/// UnlockToken, bootstrap tokens, PKCS#12 blobs) that must not reach logs.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Data(Vec<u8>);

impl Data {
    /// Wraps bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Data({} bytes)", self.0.len())
    }
}

impl std::ops::Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Data {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for Data {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl PlistCodec for String {
    fn to_plist(&self) -> Value {
        Value::String(self.clone())
    }
    fn into_plist(self) -> Value {
        Value::String(self)
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(wrong_type(path, "string", &other)),
        }
    }
}

impl PlistCodec for bool {
    fn to_plist(&self) -> Value {
        Value::Boolean(*self)
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        match value {
            Value::Boolean(b) => Ok(b),
            other => Err(wrong_type(path, "boolean", &other)),
        }
    }
}

impl PlistCodec for i64 {
    fn to_plist(&self) -> Value {
        Value::Integer((*self).into())
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        match value {
            Value::Integer(i) => i.as_signed().ok_or_else(|| Error::InvalidValue {
                path: path.to_string(),
                value: i.to_string(),
                allowed: "integers up to 2^63-1".into(),
            }),
            other => Err(wrong_type(path, "integer", &other)),
        }
    }
}

impl PlistCodec for f64 {
    fn to_plist(&self) -> Value {
        Value::Real(*self)
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        match value {
            Value::Real(r) => Ok(r),
            // Devices and tools write whole reals as integers; the value is the same.
            Value::Integer(i) => match (i.as_signed(), i.as_unsigned()) {
                (Some(v), _) => Ok(v as f64),
                (None, Some(v)) => Ok(v as f64),
                (None, None) => Err(wrong_type(path, "real", &Value::Integer(i))),
            },
            other => Err(wrong_type(path, "real", &other)),
        }
    }
}

impl PlistCodec for Data {
    fn to_plist(&self) -> Value {
        Value::Data(self.0.clone())
    }
    fn into_plist(self) -> Value {
        Value::Data(self.0)
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        match value {
            Value::Data(d) => Ok(Data(d)),
            other => Err(wrong_type(path, "data", &other)),
        }
    }
}

impl PlistCodec for SystemTime {
    fn to_plist(&self) -> Value {
        Value::Date((*self).into())
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        match value {
            Value::Date(d) => Ok(d.into()),
            other => Err(wrong_type(path, "date", &other)),
        }
    }
}

impl PlistCodec for Dictionary {
    fn to_plist(&self) -> Value {
        Value::Dictionary(self.clone())
    }
    fn into_plist(self) -> Value {
        Value::Dictionary(self)
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        expect_dictionary(value, path)
    }
}

impl PlistCodec for Value {
    fn to_plist(&self) -> Value {
        self.clone()
    }
    fn into_plist(self) -> Value {
        self
    }
    fn from_plist(value: Value, _path: &KeyPath<'_>) -> Result<Self, Error> {
        Ok(value)
    }
}

impl<T: PlistCodec> PlistCodec for Vec<T> {
    fn to_plist(&self) -> Value {
        Value::Array(self.iter().map(PlistCodec::to_plist).collect())
    }
    fn into_plist(self) -> Value {
        Value::Array(self.into_iter().map(PlistCodec::into_plist).collect())
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| T::from_plist(item, &path.index(i)))
                .collect(),
            other => Err(wrong_type(path, "array", &other)),
        }
    }
}

impl<T: PlistCodec> PlistCodec for BTreeMap<String, T> {
    fn to_plist(&self) -> Value {
        let mut dict = Dictionary::new();
        for (key, value) in self {
            dict.insert(key.clone(), value.to_plist());
        }
        Value::Dictionary(dict)
    }
    fn into_plist(self) -> Value {
        let mut dict = Dictionary::new();
        for (key, value) in self {
            dict.insert(key, value.into_plist());
        }
        Value::Dictionary(dict)
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        let dict = expect_dictionary(value, path)?;
        let mut map = BTreeMap::new();
        for (key, value) in dict {
            let item = T::from_plist(value, &path.key(&key))?;
            map.insert(key, item);
        }
        Ok(map)
    }
}

/// The dictionary inside `value`, or a wrong-type error.
pub fn expect_dictionary(value: Value, path: &KeyPath<'_>) -> Result<Dictionary, Error> {
    match value {
        Value::Dictionary(dict) => Ok(dict),
        other => Err(wrong_type(path, "dictionary", &other)),
    }
}

/// Removes and decodes a key that must be present.
pub fn required<T: PlistCodec>(
    dict: &mut Dictionary,
    key: &str,
    path: &KeyPath<'_>,
) -> Result<T, Error> {
    match dict.remove(key) {
        Some(value) => T::from_plist(value, &path.key(key)),
        None => Err(Error::MissingKey {
            path: path.key(key).to_string(),
        }),
    }
}

/// Removes and decodes a key that may be absent.
pub fn optional<T: PlistCodec>(
    dict: &mut Dictionary,
    key: &str,
    path: &KeyPath<'_>,
) -> Result<Option<T>, Error> {
    dict.remove(key)
        .map(|value| T::from_plist(value, &path.key(key)))
        .transpose()
}

/// Inserts a value under `key`.
pub fn put<T: PlistCodec>(dict: &mut Dictionary, key: &str, value: &T) {
    dict.insert(key.to_owned(), value.to_plist());
}

/// Inserts a value under `key` when there is one.
pub fn put_optional<T: PlistCodec>(dict: &mut Dictionary, key: &str, value: &Option<T>) {
    if let Some(value) = value {
        put(dict, key, value);
    }
}

/// [`put`], moving the value in ([`PlistCodec::into_plist`]).
pub fn put_owned<T: PlistCodec>(dict: &mut Dictionary, key: &str, value: T) {
    dict.insert(key.to_owned(), value.into_plist());
}

/// [`put_optional`], moving the value in ([`PlistCodec::into_plist`]).
pub fn put_optional_owned<T: PlistCodec>(dict: &mut Dictionary, key: &str, value: Option<T>) {
    if let Some(value) = value {
        put_owned(dict, key, value);
    }
}

/// Reads a string value that must be one of a strict enumeration's values.
pub fn strict_enum<T: Copy>(
    value: Value,
    path: &KeyPath<'_>,
    all: &[T],
    as_str: impl Fn(&T) -> &str,
) -> Result<T, Error> {
    let text = String::from_plist(value, path)?;
    all.iter()
        .copied()
        .find(|candidate| as_str(candidate) == text)
        .ok_or_else(|| Error::InvalidValue {
            path: path.to_string(),
            value: text,
            allowed: all.iter().map(&as_str).collect::<Vec<_>>().join(", "),
        })
}

/// A dictionary with `key: tag` first, then the keys of `rest` (a dictionary value).
pub fn into_tagged_dictionary(key: &str, tag: &str, rest: Value) -> Dictionary {
    let mut dict = Dictionary::new();
    dict.insert(key.to_owned(), Value::String(tag.to_owned()));
    if let Value::Dictionary(rest) = rest {
        for (k, v) in rest {
            dict.insert(k, v);
        }
    }
    dict
}

/// [`into_tagged_dictionary`] as a value.
pub fn with_tag(key: &str, tag: &str, rest: Value) -> Value {
    Value::Dictionary(into_tagged_dictionary(key, tag, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_render_with_dots_and_indexes() {
        let root = KeyPath::named("Settings");
        let item = root.index(3);
        let key = item.key("Enabled");
        assert_eq!(key.to_string(), "Settings.3.Enabled");
        assert_eq!(KeyPath::ROOT.key("A").to_string(), "A");
    }

    #[test]
    fn decoding_names_the_path_of_a_wrong_type() {
        let mut dict = Dictionary::new();
        dict.insert("Count".into(), Value::String("x".into()));
        let path = KeyPath::named("Cmd");
        let err = required::<i64>(&mut dict, "Count", &path).unwrap_err();
        assert_eq!(err.to_string(), "Cmd.Count: expected integer, found string");
        let err = required::<i64>(&mut dict, "Other", &path).unwrap_err();
        assert_eq!(err.code(), "missing_key");
    }

    #[test]
    fn data_debug_hides_the_bytes() {
        let data = Data::new(b"secret-token".to_vec());
        assert_eq!(format!("{data:?}"), "Data(12 bytes)");
    }

    #[test]
    fn reals_accept_integers() {
        let v = f64::from_plist(Value::Integer(3.into()), &KeyPath::ROOT).unwrap();
        assert_eq!(v, 3.0);
    }
}
