//! Profiles written by people as JSON, with Apple's key names.

use plist::{Dictionary, Value};
use serde_json::{Map, Value as Json};

use super::payloads::{payload_info, COMMON_KEYS, TOP_LEVEL_KEYS};
use super::{new_uuid, Profile, PROFILE_PAYLOAD_TYPE};
use crate::codec::KeyPath;
use crate::json::{dictionary_from_json, infer_from_json};
use crate::Error;

fn spec_error(path: &str, message: impl Into<String>) -> Error {
    Error::Json {
        path: path.to_owned(),
        message: message.into(),
    }
}

impl Profile {
    /// Builds a profile from a JSON spec: the profile itself with Apple's key names
    /// (top-level keys and a `PayloadContent` array of payloads), data values as base64
    /// strings and dates as RFC 3339 strings. `PayloadUUID`, `PayloadVersion` and
    /// `PayloadIdentifier` may be left out, at the top and in each payload: UUIDs are then
    /// new, versions 1, and identifiers derived from the profile's (`<profile>.<n>`).
    /// Keys the schema does not define for a known payload type are refused (they are
    /// usually typing mistakes); payload types the schema does not know are taken as they
    /// are. The profile is validated before it is returned.
    pub fn from_json_spec(spec: &Json) -> Result<Profile, Error> {
        let Json::Object(object) = spec else {
            return Err(spec_error("", "the spec must be a JSON object"));
        };
        let root = KeyPath::named("Profile");
        let mut top = Map::new();
        let mut payloads_json = None;
        for (key, value) in object {
            if key == "PayloadContent" {
                payloads_json = Some(value);
            } else {
                top.insert(key.clone(), value.clone());
            }
        }
        let mut dict = dictionary_from_json(&top, TOP_LEVEL_KEYS, &root)?;
        dict.entry("PayloadType")
            .or_insert_with(|| Value::String(PROFILE_PAYLOAD_TYPE.into()));
        let identifier = match dict.get("PayloadIdentifier") {
            Some(Value::String(id)) => id.clone(),
            _ => {
                let id = format!("com.mdmkit.profile.{}", new_uuid().to_lowercase());
                dict.insert("PayloadIdentifier".into(), Value::String(id.clone()));
                id
            }
        };
        fill_defaults(&mut dict);

        let items = match payloads_json {
            Some(Json::Array(items)) => items.as_slice(),
            Some(_) => return Err(spec_error("Profile.PayloadContent", "must be an array")),
            None => &[],
        };
        let mut payloads = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let label = format!("PayloadContent.{index}");
            let Json::Object(item) = item else {
                return Err(spec_error(&label, "each payload must be a JSON object"));
            };
            let payload_type = item
                .get("PayloadType")
                .and_then(Json::as_str)
                .ok_or_else(|| Error::MissingKey {
                    path: format!("{label}.PayloadType"),
                })?;
            let path = KeyPath::named(&label);
            let mut payload = match payload_info(payload_type) {
                Some(info) => {
                    let (common, own): (Map<String, Json>, Map<String, Json>) = item
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .partition(|(k, _)| COMMON_KEYS.iter().any(|c| c.name == k));
                    let mut dict = dictionary_from_json(&common, COMMON_KEYS, &path)?;
                    for (k, v) in dictionary_from_json(&own, info.keys, &path)? {
                        dict.insert(k, v);
                    }
                    dict
                }
                None => item
                    .iter()
                    .map(|(k, v)| (k.clone(), infer_from_json(v)))
                    .collect::<Dictionary>(),
            };
            payload
                .entry("PayloadIdentifier")
                .or_insert_with(|| Value::String(format!("{identifier}.{}", index + 1)));
            fill_defaults(&mut payload);
            payloads.push(Value::Dictionary(payload));
        }
        dict.insert("PayloadContent".into(), Value::Array(payloads));
        let profile = Profile::from_dictionary(dict)?;
        profile.validate()?;
        Ok(profile)
    }
}

fn fill_defaults(dict: &mut Dictionary) {
    dict.entry("PayloadUUID")
        .or_insert_with(|| Value::String(new_uuid()));
    dict.entry("PayloadVersion")
        .or_insert_with(|| Value::Integer(1.into()));
}
