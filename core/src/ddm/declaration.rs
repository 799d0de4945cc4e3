//! A declaration: Type + Identifier + ServerToken + Payload, its JSON, its server token and
//! its validation against Apple's schema.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plist::{Dictionary, Value};
use serde_json::{Map, Value as Json};

use super::{declaration_type_info, DeclarationCategory, DeclarationPayload, DeclarationTypeInfo};
use crate::codec::KeyPath;
use crate::schema::{validate_dictionary_with, KeyInfo, UnknownKeys, ValueKind};
use crate::Error;

/// The longest Identifier and ServerToken Apple allows, in bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 64;

/// One declaration, as the server stores it and a device fetches it.
///
/// The ServerToken is derived from the content ([`Declaration::server_token`]): an
/// unchanged declaration keeps its token, any change gives a new one.
///
/// ```
/// use mdmkit_core::ddm::declarations::ConfigurationPasscodeSettings;
/// use mdmkit_core::ddm::Declaration;
///
/// let passcode = ConfigurationPasscodeSettings::new().with_minimum_length(6);
/// let declaration = Declaration::new("passcode", passcode).unwrap();
/// let json = declaration.to_json();
/// assert_eq!(json["Type"], "com.apple.configuration.passcode.settings");
/// assert_eq!(json["Payload"]["MinimumLength"], 6);
/// assert_eq!(Declaration::from_json(&json).unwrap(), declaration);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Declaration {
    /// The declaration's Identifier (unique per server, at most 64 bytes).
    pub identifier: String,
    /// The typed payload (its Type comes with it).
    pub payload: DeclarationPayload,
}

impl Declaration {
    /// A declaration with this Identifier and payload, validated
    /// ([`Declaration::validate`]).
    pub fn new(
        identifier: impl Into<String>,
        payload: impl Into<DeclarationPayload>,
    ) -> Result<Self, Error> {
        let declaration = Self {
            identifier: identifier.into(),
            payload: payload.into(),
        };
        declaration.validate()?;
        Ok(declaration)
    }

    /// The declaration's Type.
    pub fn declaration_type(&self) -> &str {
        self.payload.declaration_type()
    }

    /// What Apple's schema says about the Type (`None` for a type this version does not
    /// know, a newer OS's).
    pub fn type_info(&self) -> Option<&'static DeclarationTypeInfo> {
        declaration_type_info(self.declaration_type())
    }

    /// The category, from the Type ([`category_of`]).
    pub fn category(&self) -> Option<DeclarationCategory> {
        category_of(self.declaration_type())
    }

    /// The JSON object a device fetches: `Type`, `Identifier`, `ServerToken`, `Payload`.
    pub fn to_json(&self) -> Json {
        let mut object = Map::new();
        object.insert("Type".into(), Json::String(self.declaration_type().into()));
        object.insert("Identifier".into(), Json::String(self.identifier.clone()));
        object.insert("ServerToken".into(), Json::String(self.server_token()));
        object.insert("Payload".into(), self.payload_json());
        Json::Object(object)
    }

    /// The payload as JSON.
    pub fn payload_json(&self) -> Json {
        Json::Object(crate::json::dictionary_to_json(
            &self.payload.to_dictionary(),
        ))
    }

    /// The ServerToken: the SHA-256 (hex) of the canonical JSON (keys sorted) of Type,
    /// Identifier and Payload.
    pub fn server_token(&self) -> String {
        let mut object = Map::new();
        object.insert("Identifier".into(), Json::String(self.identifier.clone()));
        object.insert("Payload".into(), self.payload_json());
        object.insert("Type".into(), Json::String(self.declaration_type().into()));
        let canonical = canonical_json(&Json::Object(object));
        hex::encode(openssl::sha::sha256(canonical.as_bytes()))
    }

    /// Reads a declaration from its JSON object (a `ServerToken` in it is ignored: the
    /// token is derived from the content) and validates it. A Type this version does not
    /// know is kept as [`DeclarationPayload::Other`].
    pub fn from_json(json: &Json) -> Result<Self, Error> {
        let object = json.as_object().ok_or_else(|| Error::DeclarationInvalid {
            identifier: String::new(),
            message: "a declaration is a JSON object".into(),
        })?;
        let text = |key: &str| -> Result<String, Error> {
            match object.get(key) {
                Some(Json::String(s)) => Ok(s.clone()),
                Some(_) => Err(Error::WrongType {
                    path: key.into(),
                    expected: "string",
                    found: "another type",
                }),
                None => Err(Error::MissingKey { path: key.into() }),
            }
        };
        let declaration_type = text("Type")?;
        let identifier = text("Identifier")?;
        let payload = match object.get("Payload") {
            Some(Json::Object(payload)) => payload,
            Some(_) => {
                return Err(Error::WrongType {
                    path: "Payload".into(),
                    expected: "dictionary",
                    found: "another type",
                })
            }
            None => {
                return Err(Error::MissingKey {
                    path: "Payload".into(),
                })
            }
        };
        let declaration = Self::from_parts(&identifier, &declaration_type, payload)?;
        declaration.validate()?;
        Ok(declaration)
    }

    /// Reads a declaration from its Type, Identifier and payload (JSON), checking the
    /// payload against the schema: required keys, types, allowed values, ranges. Keys the
    /// schema does not define are kept.
    pub fn from_parts(
        identifier: &str,
        declaration_type: &str,
        payload: &Map<String, Json>,
    ) -> Result<Self, Error> {
        let path = KeyPath::named(declaration_type);
        let keys: &'static [KeyInfo] = declaration_type_info(declaration_type)
            .map(|t| t.info.keys)
            .unwrap_or(&[]);
        let dict = dictionary_from_json_lenient(payload, keys, &path)?;
        validate_dictionary_with(&dict, keys, &path, UnknownKeys::Accept)?;
        let payload = DeclarationPayload::from_dictionary(declaration_type, dict, &path)?;
        Ok(Self {
            identifier: identifier.to_owned(),
            payload,
        })
    }

    /// Checks the Identifier (present, at most 64 bytes), the Type (it must name a
    /// category), the payload against the schema (required keys, types, allowed values,
    /// ranges) and an activation's predicate (balanced syntax).
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |message: String| Error::DeclarationInvalid {
            identifier: self.identifier.clone(),
            message,
        };
        if self.identifier.is_empty() {
            return Err(invalid("the Identifier is empty".into()));
        }
        if self.identifier.len() > MAX_IDENTIFIER_BYTES {
            return Err(invalid(format!(
                "the Identifier is {} bytes long (at most {MAX_IDENTIFIER_BYTES})",
                self.identifier.len()
            )));
        }
        if self.category().is_none() {
            return Err(invalid(format!(
                "Type {:?} is not an activation, asset, configuration or management type",
                self.declaration_type()
            )));
        }
        if let Some(info) = self.type_info() {
            let dict = self.payload.to_dictionary();
            validate_dictionary_with(
                &dict,
                info.info.keys,
                &KeyPath::named(info.info.name),
                UnknownKeys::Accept,
            )?;
        }
        if let DeclarationPayload::ActivationSimple(activation) = &self.payload {
            if let Some(predicate) = &activation.predicate {
                check_predicate(predicate).map_err(|message| {
                    invalid(format!(
                        "its Predicate {predicate:?} is malformed: {message}"
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// The Identifiers this declaration refers to, with the payload key that holds each and
    /// the Types the referenced declaration may have (configurations for an activation's
    /// StandardConfigurations, the schema's asset types for asset references).
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        if let DeclarationPayload::ActivationSimple(activation) = &self.payload {
            for target in &activation.standard_configurations {
                out.push(Reference {
                    key: "StandardConfigurations".into(),
                    target: target.clone(),
                    allowed: Allowed::Category(DeclarationCategory::Configuration),
                });
            }
        }
        if let Some(info) = self.type_info() {
            let dict = Value::Dictionary(self.payload.to_dictionary());
            for reference in info.asset_references {
                let parts: Vec<&str> = reference.key_path.split('.').collect();
                let mut found = Vec::new();
                collect_at(&dict, &parts, &mut found);
                for target in found {
                    out.push(Reference {
                        key: reference.key_path.into(),
                        target,
                        allowed: Allowed::Types(reference.asset_types),
                    });
                }
            }
        }
        out
    }
}

/// What a declaration refers to (see [`Declaration::references`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reference {
    /// The payload key holding the reference.
    pub key: String,
    /// The referenced Identifier.
    pub target: String,
    /// What the referenced declaration may be.
    pub allowed: Allowed,
}

/// The declarations a [`Reference`] may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allowed {
    /// Any declaration of this category.
    Category(DeclarationCategory),
    /// A declaration of one of these Types.
    Types(&'static [&'static str]),
}

impl Allowed {
    /// Whether a declaration of `declaration_type` fits.
    pub fn accepts(&self, declaration_type: &str) -> bool {
        match self {
            Allowed::Category(category) => category_of(declaration_type) == Some(*category),
            Allowed::Types(types) => types.contains(&declaration_type),
        }
    }

    /// The allowed types, for messages.
    pub fn describe(&self) -> String {
        match self {
            Allowed::Category(category) => format!("a {}", category.as_str()),
            Allowed::Types(types) => types.join(" or "),
        }
    }
}

/// Checks every reference of `declarations` against the declarations that will exist once
/// they are stored: `existing` (Identifier to Type) with `declarations` added.
pub fn check_references(
    declarations: &[Declaration],
    existing: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let mut known = existing.clone();
    for d in declarations {
        known.insert(d.identifier.clone(), d.declaration_type().to_owned());
    }
    for d in declarations {
        for reference in d.references() {
            let reason = match known.get(&reference.target) {
                None => "does not exist".to_owned(),
                Some(t) if !reference.allowed.accepts(t) => {
                    format!("is a {t}, not {}", reference.allowed.describe())
                }
                Some(_) => continue,
            };
            return Err(Error::DeclarationReference {
                identifier: d.identifier.clone(),
                key: reference.key,
                target: reference.target,
                reason,
            });
        }
    }
    Ok(())
}

fn collect_at(value: &Value, parts: &[&str], out: &mut Vec<String>) {
    let Some((first, rest)) = parts.split_first() else {
        if let Value::String(s) = value {
            out.push(s.clone());
        }
        return;
    };
    match (value, *first) {
        (Value::Array(items), "*") => {
            for item in items {
                collect_at(item, rest, out);
            }
        }
        (Value::Dictionary(dict), key) => {
            if let Some(v) = dict.get(key) {
                collect_at(v, rest, out);
            }
        }
        _ => {}
    }
}

impl DeclarationCategory {
    /// The name Apple uses in the `declaration/<category>/<identifier>` endpoint.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclarationCategory::Activation => "activation",
            DeclarationCategory::Asset => "asset",
            DeclarationCategory::Configuration => "configuration",
            DeclarationCategory::Management => "management",
        }
    }

    /// Reads [`as_str`](Self::as_str)'s names.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "activation" => DeclarationCategory::Activation,
            "asset" => DeclarationCategory::Asset,
            "configuration" => DeclarationCategory::Configuration,
            "management" => DeclarationCategory::Management,
            _ => return None,
        })
    }
}

/// The category of a Type: its first component that names one
/// (`com.apple.configuration.…`, `com.example.asset.…`).
pub fn category_of(declaration_type: &str) -> Option<DeclarationCategory> {
    declaration_type
        .split('.')
        .find_map(DeclarationCategory::parse)
}

/// Checks that an activation predicate's parentheses, brackets and braces balance and its
/// quoted strings are closed (NSPredicate syntax: `'…'` and `"…"`, backslash escapes).
/// Its meaning is left to the device.
pub fn check_predicate(predicate: &str) -> Result<(), String> {
    if predicate.trim().is_empty() {
        return Err("it is empty".into());
    }
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in predicate.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => stack.push((c, at)),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match stack.pop() {
                    Some((o, _)) if o == open => {}
                    Some((o, oat)) => {
                        return Err(format!("{c:?} at {at} closes {o:?} opened at {oat}"))
                    }
                    None => return Err(format!("{c:?} at {at} closes nothing")),
                }
            }
            _ => {}
        }
    }
    if let Some(q) = quote {
        return Err(format!("a {q} quote is not closed"));
    }
    if let Some((o, at)) = stack.pop() {
        return Err(format!("{o:?} opened at {at} is not closed"));
    }
    Ok(())
}

/// JSON with every object's keys sorted, no whitespace: the input of server tokens.
pub fn canonical_json(json: &Json) -> String {
    fn sorted(json: &Json) -> Json {
        match json {
            Json::Object(object) => {
                let mut keys: Vec<&String> = object.keys().collect();
                keys.sort();
                Json::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&object[k])))
                        .collect(),
                )
            }
            Json::Array(items) => Json::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(json).to_string()
}

/// Converts a JSON object to a plist dictionary, guided by the schema where there is one:
/// numbers become reals where the schema says real, strings data or dates where it says
/// so. Keys the schema does not define are converted as they look and kept; values of
/// the wrong type are converted as they look too, for validation to report.
pub fn dictionary_from_json_lenient(
    object: &Map<String, Json>,
    keys: &'static [KeyInfo],
    path: &KeyPath<'_>,
) -> Result<Dictionary, Error> {
    let mut dict = Dictionary::new();
    for (name, json) in object {
        let info = keys.iter().find(|k| k.name == name);
        dict.insert(
            name.clone(),
            value_from_json_lenient(json, info, &path.key(name))?,
        );
    }
    Ok(dict)
}

/// [`dictionary_from_json_lenient`] for one value; `info` is its key's schema, if known.
pub fn value_from_json_lenient(
    json: &Json,
    info: Option<&KeyInfo>,
    path: &KeyPath<'_>,
) -> Result<Value, Error> {
    let Some(info) = info else {
        return Ok(crate::json::infer_from_json(json));
    };
    Ok(match (info.kind, json) {
        (ValueKind::Real, Json::Number(n)) => Value::Real(n.as_f64().unwrap_or_default()),
        (ValueKind::Data, Json::String(s)) => {
            Value::Data(BASE64.decode(s.trim()).map_err(|e| Error::Json {
                path: path.to_string(),
                message: format!("not base64: {e}"),
            })?)
        }
        (ValueKind::Date, Json::String(s)) => Value::Date(crate::json::parse_date(s, path)?.into()),
        (ValueKind::Array, Json::Array(items)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| value_from_json_lenient(item, info.item, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (ValueKind::Dictionary, Json::Object(object)) => {
            let keys = match info.discriminator {
                Some(discriminator) => object
                    .get(discriminator)
                    .and_then(Json::as_str)
                    .and_then(|tag| info.alternative(tag))
                    .map_or(&[][..], |alt| alt.keys),
                None => info.keys,
            };
            let mut dict = Dictionary::new();
            for (name, v) in object {
                let key_info = keys.iter().find(|k| k.name == name).or(info.map_value);
                dict.insert(
                    name.clone(),
                    value_from_json_lenient(v, key_info, &path.key(name))?,
                );
            }
            Value::Dictionary(dict)
        }
        _ => crate::json::infer_from_json(json),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_must_balance() {
        assert!(check_predicate("(@status(device.model.family) == \"iPad\")").is_ok());
        assert!(check_predicate("a IN {'x)', 'y'}").is_ok());
        assert!(check_predicate("(a == 1").is_err());
        assert!(check_predicate("a == 1)").is_err());
        assert!(check_predicate("(a == 1]").is_err());
        assert!(check_predicate("a == 'x").is_err());
        assert!(check_predicate("  ").is_err());
    }

    #[test]
    fn categories_come_from_the_type() {
        assert_eq!(
            category_of("com.apple.configuration.passcode.settings"),
            Some(DeclarationCategory::Configuration)
        );
        assert_eq!(
            category_of("com.apple.asset.data"),
            Some(DeclarationCategory::Asset)
        );
        assert_eq!(
            category_of("com.example.configuration.thing"),
            Some(DeclarationCategory::Configuration)
        );
        assert_eq!(category_of("com.apple.nothing"), None);
    }
}
