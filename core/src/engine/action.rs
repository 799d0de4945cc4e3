//! The one table of device actions every front end uses: [`Action`], parsed strictly from
//! an action name and its JSON options, run by [`Engine::run_action`].
//!
//! Parsing is strict because the options come from people and programs that make
//! mistakes: unknown keys, wrong types, duplicate keys, empty identifiers and overlong
//! strings are refused with a typed error (`json_invalid`) before anything is queued.

use base64::Engine as _;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{Engine, LockOptions, LostModeOptions, Queued};
use crate::command::{Command, EraseDevice};
use crate::json::command_from_json;
use crate::push::PushOutcome;
use crate::store::AuditEvent;
use crate::{EnrollmentId, Error, Result};

/// The longest lock-screen message or footnote, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1024;
/// The longest phone number, PIN, identifier or query name, in characters.
pub const MAX_SHORT_CHARS: usize = 255;
/// The most DeviceInformation queries in one action.
pub const MAX_QUERIES: usize = 256;
/// The largest profile (decoded bytes) an action installs.
pub const MAX_PROFILE_BYTES: usize = 8 * 1024 * 1024;
/// The longest string value of a raw command (`/commands`), in characters, except the
/// base64 `Payload` of a profile (bounded by [`MAX_PROFILE_BYTES`]).
pub const MAX_COMMAND_STRING_CHARS: usize = 8 * 1024;

/// The DeviceInformation keys asked when an action names none.
pub const DEFAULT_QUERIES: [&str; 5] = [
    "DeviceName",
    "OSVersion",
    "ProductName",
    "SerialNumber",
    "IsSupervised",
];

/// A device action with its options: what an administrator, the portal or a binding asks
/// [`Engine::run_action`] to do to one enrollment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// `lock`: DeviceLock (options `message`, `phone_number`, `pin`).
    Lock(LockOptions),
    /// `unlock`: ClearPasscode with the stored UnlockToken.
    Unlock,
    /// `enable-lost-mode`: EnableLostMode (`message`, `phone_number`, `footnote`).
    EnableLostMode(LostModeOptions),
    /// `disable-lost-mode`: DisableLostMode.
    DisableLostMode,
    /// `locate`: DeviceLocation.
    Locate,
    /// `play-lost-mode-sound`: PlayLostModeSound.
    PlayLostModeSound,
    /// `wipe`: EraseDevice (options: its keys, as Apple names them: `PIN`, ...).
    Wipe(EraseDevice),
    /// `retire`: RemoveProfile of the enrollment profile.
    Retire,
    /// `check-in-now`: a push only.
    CheckInNow,
    /// `device-information`: DeviceInformation (`queries`: names; default
    /// [`DEFAULT_QUERIES`]).
    DeviceInformation {
        /// The keys asked.
        queries: Vec<String>,
    },
    /// `install-profile`: InstallProfile (`profile`: base64; `encrypt`: true encrypts the
    /// payloads to the device's identity certificate).
    InstallProfile {
        /// The profile (plist or signed).
        profile: Vec<u8>,
        /// Whether to encrypt the payloads to the device's identity certificate.
        encrypt: bool,
    },
    /// `remove-profile`: RemoveProfile (`identifier`).
    RemoveProfile {
        /// The profile's `PayloadIdentifier`.
        identifier: String,
    },
    /// Any typed command (`{"RequestType": ..., keys}`), checked like the actions.
    Command(Box<Command>),
}

/// What [`Engine::run_action`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionOutcome {
    /// A command was queued (and pushed).
    Queued(Queued),
    /// Only a push was sent ([`Action::CheckInNow`]).
    Pushed(PushOutcome),
}

impl Action {
    /// Every action name [`Action::parse`] knows, as the admin API and the CLI spell them.
    pub const NAMES: [&'static str; 13] = [
        "lock",
        "unlock",
        "enable-lost-mode",
        "disable-lost-mode",
        "locate",
        "play-lost-mode-sound",
        "wipe",
        "retire",
        "check-in-now",
        "device-information",
        "install-profile",
        "remove-profile",
        "command",
    ];

    /// The action's name (one of [`Action::NAMES`]).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Lock(_) => "lock",
            Action::Unlock => "unlock",
            Action::EnableLostMode(_) => "enable-lost-mode",
            Action::DisableLostMode => "disable-lost-mode",
            Action::Locate => "locate",
            Action::PlayLostModeSound => "play-lost-mode-sound",
            Action::Wipe(_) => "wipe",
            Action::Retire => "retire",
            Action::CheckInNow => "check-in-now",
            Action::DeviceInformation { .. } => "device-information",
            Action::InstallProfile { .. } => "install-profile",
            Action::RemoveProfile { .. } => "remove-profile",
            Action::Command(_) => "command",
        }
    }

    /// Parses an action from its name and its options, a JSON object (an empty body is
    /// no options). Unknown names are [`Error::NotFound`]; malformed options
    /// [`Error::Json`] (or the schema's error for `wipe` and `command`).
    pub fn parse(name: &str, body: &[u8]) -> Result<Action> {
        let options = strict_object(body)?;
        let none = |options: Map<String, Json>| -> Result<()> {
            match options.keys().next() {
                None => Ok(()),
                Some(key) => Err(json_error(key, format!("{name} takes no options"))),
            }
        };
        Ok(match name {
            "lock" => {
                let o: LockBody = typed(options)?;
                Action::Lock(LockOptions {
                    message: limited("message", o.message, MAX_MESSAGE_CHARS)?,
                    phone_number: limited("phone_number", o.phone_number, MAX_SHORT_CHARS)?,
                    pin: limited("pin", o.pin, MAX_SHORT_CHARS)?,
                })
            }
            "enable-lost-mode" => {
                let o: LostModeBody = typed(options)?;
                Action::EnableLostMode(LostModeOptions {
                    message: limited("message", o.message, MAX_MESSAGE_CHARS)?,
                    phone_number: limited("phone_number", o.phone_number, MAX_SHORT_CHARS)?,
                    footnote: limited("footnote", o.footnote, MAX_MESSAGE_CHARS)?,
                })
            }
            "unlock" => none(options).map(|()| Action::Unlock)?,
            "disable-lost-mode" => none(options).map(|()| Action::DisableLostMode)?,
            "locate" => none(options).map(|()| Action::Locate)?,
            "play-lost-mode-sound" => none(options).map(|()| Action::PlayLostModeSound)?,
            "retire" => none(options).map(|()| Action::Retire)?,
            "check-in-now" => none(options).map(|()| Action::CheckInNow)?,
            "wipe" => {
                check_strings(&options, "EraseDevice", MAX_SHORT_CHARS, false)?;
                if options.contains_key("RequestType") {
                    return Err(json_error(
                        "RequestType",
                        "wipe takes EraseDevice's keys only",
                    ));
                }
                match command_from_json("EraseDevice", &options)? {
                    Command::EraseDevice(erase) => Action::Wipe(erase),
                    _ => return Err(Error::UnknownRequestType("EraseDevice".into())),
                }
            }
            "device-information" => {
                let o: QueriesBody = typed(options)?;
                let queries = match o.queries {
                    None => DEFAULT_QUERIES.map(str::to_owned).to_vec(),
                    Some(queries) => {
                        if queries.is_empty() || queries.len() > MAX_QUERIES {
                            return Err(json_error(
                                "queries",
                                format!("give 1 to {MAX_QUERIES} names"),
                            ));
                        }
                        for query in &queries {
                            identifier("queries[]", query)?;
                        }
                        queries
                    }
                };
                Action::DeviceInformation { queries }
            }
            "install-profile" => {
                let o: ProfileBody = typed(options)?;
                if o.profile.len() > MAX_PROFILE_BYTES.div_ceil(3) * 4 + 4 {
                    return Err(json_error(
                        "profile",
                        format!("larger than {MAX_PROFILE_BYTES} bytes"),
                    ));
                }
                let profile = base64::engine::general_purpose::STANDARD
                    .decode(o.profile.trim())
                    .map_err(|e| json_error("profile", format!("must be base64: {e}")))?;
                if profile.is_empty() {
                    return Err(json_error("profile", "is empty"));
                }
                Action::InstallProfile {
                    profile,
                    encrypt: o.encrypt.unwrap_or(false),
                }
            }
            "remove-profile" => {
                let o: IdentifierBody = typed(options)?;
                identifier("identifier", &o.identifier)?;
                Action::RemoveProfile {
                    identifier: o.identifier,
                }
            }
            "command" => Action::Command(Box::new(command_from_object(options)?)),
            other => {
                return Err(Error::NotFound {
                    kind: "action",
                    id: other.to_owned(),
                })
            }
        })
    }

    /// Parses a raw command (`{"RequestType": ..., keys}`) as the `/commands` endpoint
    /// takes it.
    pub fn parse_command(body: &[u8]) -> Result<Action> {
        Action::parse("command", body)
    }
}

fn command_from_object(object: Map<String, Json>) -> Result<Command> {
    let request_type = match object.get("RequestType") {
        Some(Json::String(name)) if !name.is_empty() => name.clone(),
        Some(_) => return Err(json_error("RequestType", "must be a non-empty string")),
        None => {
            return Err(Error::MissingKey {
                path: "RequestType".into(),
            })
        }
    };
    check_strings(&object, &request_type, MAX_COMMAND_STRING_CHARS, true)?;
    command_from_json(&request_type, &object)
}

/// Refuses strings longer than `limit` anywhere in `object` (a profile's base64
/// `Payload` excepted when `payload_exempt`).
fn check_strings(
    object: &Map<String, Json>,
    path: &str,
    limit: usize,
    payload_exempt: bool,
) -> Result<()> {
    fn walk(value: &Json, path: &str, limit: usize) -> Result<()> {
        match value {
            Json::String(text) if text.chars().count() > limit => {
                Err(json_error(path, format!("longer than {limit} characters")))
            }
            Json::Array(items) => items.iter().try_for_each(|v| walk(v, path, limit)),
            Json::Object(map) => map
                .iter()
                .try_for_each(|(k, v)| walk(v, &format!("{path}.{k}"), limit)),
            _ => Ok(()),
        }
    }
    for (key, value) in object {
        let path = format!("{path}.{key}");
        if payload_exempt && key == "Payload" {
            if let Json::String(text) = value {
                if text.len() > MAX_PROFILE_BYTES.div_ceil(3) * 4 + 4 {
                    return Err(json_error(
                        &path,
                        format!("larger than {MAX_PROFILE_BYTES} bytes"),
                    ));
                }
                continue;
            }
        }
        walk(value, &path, limit)?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockBody {
    message: Option<String>,
    phone_number: Option<String>,
    pin: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LostModeBody {
    message: Option<String>,
    phone_number: Option<String>,
    footnote: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueriesBody {
    queries: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    profile: String,
    encrypt: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentifierBody {
    identifier: String,
}

fn json_error(path: &str, message: impl Into<String>) -> Error {
    Error::Json {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn typed<T: serde::de::DeserializeOwned>(options: Map<String, Json>) -> Result<T> {
    serde_json::from_value(Json::Object(options)).map_err(|e| json_error("options", e.to_string()))
}

fn limited(field: &str, value: Option<String>, limit: usize) -> Result<Option<String>> {
    match value {
        Some(text) if text.chars().count() > limit => {
            Err(json_error(field, format!("longer than {limit} characters")))
        }
        other => Ok(other),
    }
}

/// A non-empty identifier of at most [`MAX_SHORT_CHARS`] characters without control
/// characters.
fn identifier(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(json_error(field, "must not be empty"));
    }
    if value.chars().count() > MAX_SHORT_CHARS || value.chars().any(char::is_control) {
        return Err(json_error(
            field,
            format!("must be at most {MAX_SHORT_CHARS} characters, none a control character"),
        ));
    }
    Ok(())
}

/// Parses a JSON object, refusing duplicate keys at any depth (serde_json keeps the last
/// one silently, so `{"RequestType": "EraseDevice", "RequestType": "DeviceLock"}` would
/// be a lock). An empty body is an empty object.
pub fn strict_object(body: &[u8]) -> Result<Map<String, Json>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<StrictJson>(body) {
        Ok(StrictJson(Json::Object(object))) => Ok(object),
        Ok(_) => Err(json_error("body", "must be a JSON object")),
        Err(error) => Err(json_error("body", error.to_string())),
    }
}

/// A JSON value whose objects have no duplicate keys.
struct StrictJson(Json);

impl<'de> Deserialize<'de> for StrictJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictJson)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Json, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> std::result::Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> std::result::Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictJson(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Json, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictJson(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            object.insert(key, value);
        }
        Ok(Json::Object(object))
    }
}

impl Engine {
    /// Runs one action on one enrollment: the capability checks, the command queued and
    /// pushed (or, for [`Action::CheckInNow`], the push alone).
    pub async fn run_action(
        &self,
        enrollment: &EnrollmentId,
        action: Action,
    ) -> Result<ActionOutcome> {
        let queued = match action {
            Action::Lock(options) => self.lock(enrollment, options).await?,
            Action::Unlock => self.unlock(enrollment).await?,
            Action::EnableLostMode(options) => self.enable_lost_mode(enrollment, options).await?,
            Action::DisableLostMode => self.disable_lost_mode(enrollment).await?,
            Action::Locate => self.locate(enrollment).await?,
            Action::PlayLostModeSound => self.play_lost_mode_sound(enrollment).await?,
            Action::Wipe(erase) => self.wipe(enrollment, erase).await?,
            Action::Retire => self.retire(enrollment).await?,
            Action::CheckInNow => {
                return Ok(ActionOutcome::Pushed(self.check_in_now(enrollment).await?))
            }
            Action::DeviceInformation { queries } => {
                self.query_device_information(enrollment, queries).await?
            }
            Action::InstallProfile {
                profile,
                encrypt: false,
            } => self.install_profile(enrollment, profile).await?,
            Action::InstallProfile {
                profile,
                encrypt: true,
            } => {
                if crate::profile::is_signed(&profile) {
                    return Err(Error::Signature(
                        "give the unsigned profile to encrypt (the server holds no signer)".into(),
                    ));
                }
                let profile = crate::profile::Profile::read(&profile)?;
                self.install_profile_encrypted(enrollment, &profile, None)
                    .await?
            }
            Action::RemoveProfile { identifier } => {
                self.remove_profile(enrollment, &identifier).await?
            }
            Action::Command(command) => self.enqueue_command(enrollment, *command).await?,
        };
        Ok(ActionOutcome::Queued(queued))
    }

    /// [`Engine::run_action`], recorded in the audit log (the store's
    /// [`append_audit_event`](crate::store::PortalStore::append_audit_event)): `actor`
    /// (who, e.g. `"api-key:ops"`), `device.<action name>`, the enrollment, and the
    /// outcome (the CommandUUID, or the error's code). A failure to write the audit event
    /// fails the call.
    pub async fn run_action_as(
        &self,
        actor: &str,
        enrollment: &EnrollmentId,
        action: Action,
    ) -> Result<ActionOutcome> {
        let name = action.name();
        let request_type = match &action {
            Action::Command(command) => Some(command.request_type().to_owned()),
            _ => None,
        };
        let outcome = self.run_action(enrollment, action).await;
        let detail = match &outcome {
            Ok(ActionOutcome::Queued(queued)) => serde_json::json!({
                "outcome": "queued",
                "command_uuid": queued.command_uuid,
                "request_type": request_type,
            }),
            Ok(ActionOutcome::Pushed(_)) => serde_json::json!({"outcome": "pushed"}),
            Err(error) => serde_json::json!({
                "outcome": "refused",
                "error": error.code(),
                "request_type": request_type,
            }),
        };
        let mut event = AuditEvent::new(actor, format!("device.{name}"));
        event.target = Some(enrollment.to_string());
        event.detail = Some(detail.to_string());
        self.store.append_audit_event(&event).await?;
        if let Err(error) = &outcome {
            tracing::info!(actor, action = name, enrollment = %enrollment, code = error.code(), "device action refused");
        }
        outcome
    }
}
