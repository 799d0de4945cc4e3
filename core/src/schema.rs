//! Facts from Apple's device-management schema that the library needs at run time: which
//! keys a message has and of what type, and which platforms run it under which conditions.
//!
//! The tables themselves are generated from Apple's schema (see `tools/gen_schema.py`) and
//! live beside the types they describe: [`crate::command::COMMANDS`] and
//! [`crate::checkin::MESSAGES`].

use std::cmp::Ordering;
use std::fmt;

use plist::{Dictionary, Value};

use crate::codec::{kind_name, KeyPath};
use crate::Error;

/// An Apple operating system that can be managed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// iOS and iPadOS (the schema describes both as iOS; Shared iPad is a mode of it).
    Ios,
    /// macOS.
    MacOs,
    /// tvOS.
    TvOs,
    /// visionOS.
    VisionOs,
    /// watchOS.
    WatchOs,
}

impl Platform {
    /// Every platform, in the schema's order.
    pub const ALL: [Platform; 5] = [
        Platform::Ios,
        Platform::MacOs,
        Platform::TvOs,
        Platform::VisionOs,
        Platform::WatchOs,
    ];

    /// Apple's name of the platform.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "iOS",
            Platform::MacOs => "macOS",
            Platform::TvOs => "tvOS",
            Platform::VisionOs => "visionOS",
            Platform::WatchOs => "watchOS",
        }
    }

    /// Parses Apple's name of a platform (case-insensitive; "iPadOS" is iOS).
    pub fn parse(name: &str) -> Option<Platform> {
        let lower = name.to_ascii_lowercase();
        if lower == "ipados" {
            return Some(Platform::Ios);
        }
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(&lower))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a message behaves under User Enrollment, per the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentMode {
    /// Allowed.
    Allowed,
    /// Refused by the device.
    Forbidden,
    /// Accepted but without effect.
    Ignored,
}

/// How a message behaves on a Shared iPad, per the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedIpadSupport {
    /// Allowed, forbidden or ignored.
    pub mode: EnrollmentMode,
    /// Whether it runs on the device channel.
    pub device_channel: bool,
    /// Whether it runs on the user channel.
    pub user_channel: bool,
}

/// Where and how one platform supports a command or check-in message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformSupport {
    /// The platform.
    pub platform: Platform,
    /// The first OS version that supports it.
    pub introduced: &'static str,
    /// The OS version that deprecated it, if any.
    pub deprecated: Option<&'static str>,
    /// The OS version that removed it, if any.
    pub removed: Option<&'static str>,
    /// Whether the device must be supervised.
    pub supervised_only: bool,
    /// Whether the device must have enrolled through Automated Device Enrollment.
    pub requires_dep: bool,
    /// Whether the enrollment must be user-approved (macOS).
    pub requires_user_approved_mdm: bool,
    /// Whether it runs on the device channel.
    pub device_channel: bool,
    /// Whether it runs on the user channel.
    pub user_channel: bool,
    /// How it behaves under User Enrollment.
    pub user_enrollment: EnrollmentMode,
    /// How it behaves on a Shared iPad (iOS only).
    pub shared_ipad: Option<SharedIpadSupport>,
    /// The MDM access right the enrollment profile must grant, if any.
    pub access_rights: Option<&'static str>,
}

/// The plist type of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `<string>`
    String,
    /// `<integer>`
    Integer,
    /// `<real>`
    Real,
    /// `<true/>` or `<false/>`
    Boolean,
    /// `<data>`
    Data,
    /// `<date>`
    Date,
    /// `<array>`
    Array,
    /// `<dict>`
    Dictionary,
    /// Any plist value.
    Any,
}

impl ValueKind {
    /// The type's name as error messages show it.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::String => "string",
            ValueKind::Integer => "integer",
            ValueKind::Real => "real",
            ValueKind::Boolean => "boolean",
            ValueKind::Data => "data",
            ValueKind::Date => "date",
            ValueKind::Array => "array",
            ValueKind::Dictionary => "dictionary",
            ValueKind::Any => "any",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (ValueKind::Any, _)
                | (ValueKind::String, Value::String(_))
                | (ValueKind::Integer, Value::Integer(_))
                | (ValueKind::Real, Value::Real(_) | Value::Integer(_))
                | (ValueKind::Boolean, Value::Boolean(_))
                | (ValueKind::Data, Value::Data(_))
                | (ValueKind::Date, Value::Date(_))
                | (ValueKind::Array, Value::Array(_))
                | (ValueKind::Dictionary, Value::Dictionary(_))
        )
    }
}

/// One key of a message, as the schema defines it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyInfo {
    /// Apple's key name.
    pub name: &'static str,
    /// Its plist type.
    pub kind: ValueKind,
    /// Whether the key must be present.
    pub required: bool,
    /// The values the schema allows, as text (empty when any value of the type is allowed).
    pub allowed: &'static [&'static str],
    /// The smallest and largest numbers allowed, for integers and reals with a range.
    pub range: Option<(f64, f64)>,
    /// Platforms that support the message or payload but not this key.
    pub not_on: &'static [Platform],
    /// For a dictionary: its known keys. For a dictionary with a
    /// [`discriminator`](KeyInfo::discriminator): the alternatives, one per value of it.
    pub keys: &'static [KeyInfo],
    /// For an array: what each item is.
    pub item: Option<&'static KeyInfo>,
    /// For a dictionary whose keys are free (app identifiers, for example): what each
    /// value is.
    pub map_value: Option<&'static KeyInfo>,
    /// For a dictionary that takes one of several shapes: the key whose value chooses it.
    pub discriminator: Option<&'static str>,
}

impl KeyInfo {
    /// The known key with this name, for a dictionary.
    pub fn key(&self, name: &str) -> Option<&'static KeyInfo> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// For a dictionary with a discriminator: the alternative whose discriminator value is
    /// `value`.
    pub fn alternative(&self, value: &str) -> Option<&'static KeyInfo> {
        let discriminator = self.discriminator?;
        self.keys.iter().find(|alt| {
            alt.key(discriminator)
                .is_some_and(|k| k.allowed.contains(&value))
        })
    }
}

/// What the schema says about one command or check-in message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessageInfo {
    /// The RequestType or MessageType.
    pub name: &'static str,
    /// The schema's title for it.
    pub title: &'static str,
    /// The platforms that support it; a platform not listed does not.
    pub platforms: &'static [PlatformSupport],
    /// The keys the server sends (commands) or the device sends (check-in messages).
    pub keys: &'static [KeyInfo],
    /// The keys of the answer: what the device returns in its result (commands) or what
    /// the server answers (check-in messages).
    pub response_keys: &'static [KeyInfo],
}

/// The enrollment channel a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channel {
    /// The device channel.
    #[default]
    Device,
    /// A user channel (macOS users, Shared iPad users).
    User,
}

/// What the server knows about a device, to decide whether it can run a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The device's platform.
    pub platform: Platform,
    /// Its OS version (`"17.4"`), or `None` when unknown (then versions are not checked).
    pub os_version: Option<String>,
    /// Whether it is supervised.
    pub supervised: bool,
    /// Whether it enrolled through Automated Device Enrollment.
    pub dep_enrolled: bool,
    /// Whether it is a User Enrollment (BYOD).
    pub user_enrollment: bool,
    /// Whether it is a Shared iPad.
    pub shared_ipad: bool,
    /// The channel the command would travel on.
    pub channel: Channel,
}

impl DeviceFacts {
    /// Facts for a device of `platform` of which nothing else is known.
    pub fn new(platform: Platform) -> Self {
        Self {
            platform,
            os_version: None,
            supervised: false,
            dep_enrolled: false,
            user_enrollment: false,
            shared_ipad: false,
            channel: Channel::Device,
        }
    }
}

/// Compares dotted version numbers (`"10.13.6"` < `"11.0"`); missing parts count as 0.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parse = |v: &str| -> Vec<u64> {
        v.split('.')
            .map(|part| {
                part.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0)
            })
            .collect()
    };
    let (a, b) = (parse(a), parse(b));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        match x.cmp(&y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

impl MessageInfo {
    /// The support entry for one platform, or `None` when the platform does not support it.
    pub fn support(&self, platform: Platform) -> Option<&'static PlatformSupport> {
        self.platforms.iter().find(|s| s.platform == platform)
    }

    /// Checks that a device described by `facts` can run this command; the error says why
    /// not.
    pub fn check(&self, facts: &DeviceFacts) -> Result<(), Error> {
        let refuse = |reason: String| Error::CommandNotSupported {
            request_type: self.name.to_owned(),
            reason,
        };
        let support = self
            .support(facts.platform)
            .ok_or_else(|| refuse(format!("not available on {}", facts.platform)))?;
        if let Some(version) = &facts.os_version {
            if compare_versions(version, support.introduced) == Ordering::Less {
                return Err(refuse(format!(
                    "needs {} {} or later (device runs {version})",
                    facts.platform, support.introduced
                )));
            }
            if let Some(removed) = support.removed {
                if compare_versions(version, removed) != Ordering::Less {
                    return Err(refuse(format!("removed in {} {removed}", facts.platform)));
                }
            }
        }
        if support.supervised_only && !facts.supervised {
            return Err(refuse("the device must be supervised".into()));
        }
        if support.requires_dep && !facts.dep_enrolled {
            return Err(refuse(
                "the device must have enrolled through Automated Device Enrollment".into(),
            ));
        }
        if facts.user_enrollment && support.user_enrollment == EnrollmentMode::Forbidden {
            return Err(refuse("not allowed under User Enrollment".into()));
        }
        let (device_channel, user_channel) = match (facts.shared_ipad, support.shared_ipad) {
            (true, Some(shared)) => {
                if shared.mode == EnrollmentMode::Forbidden {
                    return Err(refuse("not allowed on a Shared iPad".into()));
                }
                (shared.device_channel, shared.user_channel)
            }
            _ => (support.device_channel, support.user_channel),
        };
        match facts.channel {
            Channel::Device if !device_channel => {
                Err(refuse("not available on the device channel".into()))
            }
            Channel::User if !user_channel => {
                Err(refuse("not available on the user channel".into()))
            }
            _ => Ok(()),
        }
    }
}

/// How [`validate_dictionary_with`] treats keys the schema does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownKeys {
    /// An unknown key is an error (input a person wrote against a known schema).
    Refuse,
    /// Unknown keys are accepted and not checked (payloads may carry keys of newer OS
    /// versions or of an app's own preferences).
    Accept,
}

/// Checks a dictionary strictly against the schema: every key known, every required key
/// present, every value of the right type, among the allowed values and within the range.
/// Decoding is more lenient (it keeps unknown keys and does not check values); this is for
/// input a person wrote.
pub fn validate_dictionary(
    dict: &Dictionary,
    keys: &'static [KeyInfo],
    path: &KeyPath<'_>,
) -> Result<(), Error> {
    validate_dictionary_with(dict, keys, path, UnknownKeys::Refuse)
}

/// [`validate_dictionary`] with a choice about unknown keys.
pub fn validate_dictionary_with(
    dict: &Dictionary,
    keys: &'static [KeyInfo],
    path: &KeyPath<'_>,
    unknown: UnknownKeys,
) -> Result<(), Error> {
    for (name, value) in dict {
        match keys.iter().find(|k| k.name == name) {
            Some(info) => validate_value_with(value, info, &path.key(name), unknown)?,
            None if unknown == UnknownKeys::Accept => {}
            None => {
                return Err(Error::UnknownKey {
                    path: path.key(name).to_string(),
                })
            }
        }
    }
    if let Some(missing) = keys
        .iter()
        .find(|k| k.required && !dict.contains_key(k.name))
    {
        return Err(Error::MissingKey {
            path: path.key(missing.name).to_string(),
        });
    }
    Ok(())
}

/// Checks one value strictly against its key's schema (see [`validate_dictionary`]).
pub fn validate_value(value: &Value, info: &KeyInfo, path: &KeyPath<'_>) -> Result<(), Error> {
    validate_value_with(value, info, path, UnknownKeys::Refuse)
}

/// [`validate_value`] with a choice about unknown keys.
pub fn validate_value_with(
    value: &Value,
    info: &KeyInfo,
    path: &KeyPath<'_>,
    unknown: UnknownKeys,
) -> Result<(), Error> {
    if !info.kind.accepts(value) {
        return Err(Error::WrongType {
            path: path.to_string(),
            expected: info.kind.as_str(),
            found: kind_name(value),
        });
    }
    if !info.allowed.is_empty() {
        let text = match value {
            Value::String(s) => Some(s.clone()),
            Value::Integer(i) => Some(i.to_string()),
            _ => None,
        };
        if let Some(text) = text {
            if !info.allowed.contains(&text.as_str()) {
                return Err(Error::InvalidValue {
                    path: path.to_string(),
                    value: text,
                    allowed: info.allowed.join(", "),
                });
            }
        }
    }
    if let Some((min, max)) = info.range {
        let number = match value {
            Value::Integer(i) => i.as_signed().map(|v| v as f64),
            Value::Real(r) => Some(*r),
            _ => None,
        };
        if let Some(number) = number {
            if number < min || number > max {
                return Err(Error::InvalidValue {
                    path: path.to_string(),
                    value: number.to_string(),
                    allowed: format!("{min} to {max}"),
                });
            }
        }
    }
    match value {
        Value::Array(items) => {
            if let Some(item) = info.item {
                for (i, v) in items.iter().enumerate() {
                    validate_value_with(v, item, &path.index(i), unknown)?;
                }
            }
        }
        Value::Dictionary(dict) => {
            if let Some(discriminator) = info.discriminator {
                let chosen = dict.get(discriminator).and_then(Value::as_string);
                let alternative = chosen.and_then(|c| info.alternative(c)).ok_or_else(|| {
                    Error::InvalidValue {
                        path: path.key(discriminator).to_string(),
                        value: chosen.unwrap_or_default().to_owned(),
                        allowed: info
                            .keys
                            .iter()
                            .map(|k| k.name)
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                })?;
                validate_dictionary_with(dict, alternative.keys, path, unknown)?;
            } else if let Some(map_value) = info.map_value {
                for (k, v) in dict {
                    validate_value_with(v, map_value, &path.key(k), unknown)?;
                }
            } else if !info.keys.is_empty() {
                validate_dictionary_with(dict, info.keys, path, unknown)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("10.13.6", "11.0"), Ordering::Less);
        assert_eq!(compare_versions("17.0", "17"), Ordering::Equal);
        assert_eq!(compare_versions("10.10", "10.9"), Ordering::Greater);
    }

    #[test]
    fn platforms_parse_by_name() {
        assert_eq!(Platform::parse("macos"), Some(Platform::MacOs));
        assert_eq!(Platform::parse("iPadOS"), Some(Platform::Ios));
        assert_eq!(Platform::parse("palmos"), None);
    }
}
