//! The protocol without a deployment: commands rendered from JSON, device messages
//! decoded to JSON, the schema's list of commands. Pure functions; no store, no I/O.

use mdmkit_core::command::{self, CommandEnvelope, COMMANDS};
use mdmkit_core::json::{dictionary_to_json, plist_to_json};
use mdmkit_core::schema::MessageInfo;
use mdmkit_core::{Checkin, Command, CommandResult, PlistFormat};
use plist::{Dictionary, Value};
use serde::Serialize;

use crate::{Error, Result};

/// Keys of check-in messages that carry secrets; redacted unless asked for.
pub const SECRET_KEYS: [&str; 3] = ["UnlockToken", "BootstrapToken", "TokenData"];

/// A typed command from JSON text with Apple's key names and its `RequestType`
/// (`{"RequestType": "DeviceLock", "Message": "Call IT"}`), checked against the schema.
pub fn command_from_json_text(text: &str) -> Result<Command> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::input(format!("the command is not JSON: {e}")))?;
    let serde_json::Value::Object(object) = value else {
        return Err(Error::input("the command must be a JSON object"));
    };
    let request_type = object
        .get("RequestType")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| Error::input("the command has no RequestType string"))?
        .to_owned();
    Ok(mdmkit_core::json::command_from_json(
        &request_type,
        &object,
    )?)
}

/// Renders a command given as JSON (see [`command_from_json_text`]) as the plist a device
/// receives (`{CommandUUID, Command}`), XML or binary; a CommandUUID is made when `None`.
pub fn render_command(json: &str, command_uuid: Option<&str>, binary: bool) -> Result<Vec<u8>> {
    let command = command_from_json_text(json)?;
    let envelope = match command_uuid {
        Some(uuid) => CommandEnvelope::with_uuid(uuid, command),
        None => CommandEnvelope::new(command),
    };
    let format = if binary {
        PlistFormat::Binary
    } else {
        PlistFormat::Xml
    };
    Ok(envelope.encode(format)?)
}

/// A command plist decoded back to JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DecodedCommand {
    /// The CommandUUID.
    pub command_uuid: String,
    /// The RequestType.
    pub request_type: String,
    /// The command's keys (without RequestType).
    pub command: serde_json::Value,
}

/// Decodes a command plist (what a server sends a device).
pub fn decode_command(body: &[u8]) -> Result<DecodedCommand> {
    let envelope = CommandEnvelope::decode(body)?;
    let mut keys = envelope.command.to_dictionary();
    keys.remove("RequestType");
    Ok(DecodedCommand {
        command_uuid: envelope.command_uuid.clone(),
        request_type: envelope.request_type().to_owned(),
        command: serde_json::Value::Object(dictionary_to_json(&keys)),
    })
}

/// A check-in message decoded: its type, its enrollment and its keys as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DecodedCheckin {
    /// The MessageType (`Authenticate`, `TokenUpdate`...).
    pub message_type: String,
    /// The canonical enrollment identifier (`UDID`, or `UDID:user` on a user channel).
    pub enrollment_id: String,
    /// The message's keys (without MessageType); secrets redacted unless asked for.
    pub message: serde_json::Value,
}

/// Decodes a check-in message (XML or binary plist), typed against Apple's schema.
/// `show_secrets: false` replaces UnlockToken, BootstrapToken and TokenData with a note
/// giving their length.
pub fn decode_checkin(body: &[u8], show_secrets: bool) -> Result<DecodedCheckin> {
    let checkin = Checkin::decode(body)?;
    let message_type = checkin.message.message_type();
    let mut message = checkin.message.into_dictionary();
    message.remove("MessageType");
    if !show_secrets {
        redact(&mut message);
    }
    Ok(DecodedCheckin {
        message_type: message_type.to_owned(),
        enrollment_id: checkin.enrollment_id.as_str().to_owned(),
        message: serde_json::Value::Object(dictionary_to_json(&message)),
    })
}

/// A command result decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DecodedResult {
    /// `Acknowledged`, `Error`, `CommandFormatError`, `NotNow` or `Idle`.
    pub status: String,
    /// The CommandUUID (`None` for Idle).
    pub command_uuid: Option<String>,
    /// The RequestType, when known (given or in the result).
    pub request_type: Option<String>,
    /// The enrollment it came from.
    pub enrollment_id: String,
    /// The ErrorChain, as JSON.
    pub error_chain: Vec<serde_json::Value>,
    /// The typed answer's keys, when the RequestType is known and has answer keys.
    pub response: Option<serde_json::Value>,
}

/// Decodes a command result; `request_type` types the answer when the result does not
/// name it.
pub fn decode_result(body: &[u8], request_type: Option<&str>) -> Result<DecodedResult> {
    let result = CommandResult::decode(body, request_type)?;
    let error_chain = result
        .error_chain
        .iter()
        .map(|item| plist_to_json(&mdmkit_core::codec::PlistCodec::to_plist(item)))
        .collect();
    Ok(DecodedResult {
        status: result.status.as_str().to_owned(),
        command_uuid: result.command_uuid.clone(),
        request_type: result.request_type.clone(),
        enrollment_id: result.enrollment_id.as_str().to_owned(),
        error_chain,
        response: result.response.as_ref().map(|response| {
            serde_json::Value::Object(dictionary_to_json(&response.to_dictionary()))
        }),
    })
}

/// Any stored plist (a command result's body) as JSON.
pub fn plist_bytes_to_json(body: &[u8]) -> Result<serde_json::Value> {
    let value = mdmkit_core::plist_io::parse(body, mdmkit_core::DecodeLimits::DEFAULT)?;
    Ok(plist_to_json(&value))
}

/// One command of Apple's schema, with where it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RequestTypeInfo {
    /// The RequestType.
    pub name: String,
    /// Where it runs: `iOS 4.0`, `macOS 10.7 (supervised)`...
    pub platforms: Vec<String>,
}

/// Every RequestType of Apple's schema, in the schema's order.
pub fn request_types() -> Vec<RequestTypeInfo> {
    COMMANDS
        .iter()
        .map(|info| RequestTypeInfo {
            name: info.name.to_owned(),
            platforms: platforms(info),
        })
        .collect()
}

/// The schema facts of one RequestType.
pub fn request_type(name: &str) -> Result<RequestTypeInfo> {
    let info = command::command_info(name)
        .ok_or_else(|| mdmkit_core::Error::UnknownRequestType(name.to_owned()))?;
    Ok(RequestTypeInfo {
        name: info.name.to_owned(),
        platforms: platforms(info),
    })
}

fn platforms(info: &MessageInfo) -> Vec<String> {
    info.platforms
        .iter()
        .map(|p| {
            let mut flags = Vec::new();
            if p.supervised_only {
                flags.push("supervised");
            }
            if p.requires_dep {
                flags.push("ADE");
            }
            if p.user_channel && !p.device_channel {
                flags.push("user channel");
            }
            if flags.is_empty() {
                format!("{} {}", p.platform, p.introduced)
            } else {
                format!("{} {} ({})", p.platform, p.introduced, flags.join(", "))
            }
        })
        .collect()
}

fn redact(dict: &mut Dictionary) {
    for key in SECRET_KEYS {
        if let Some(Value::Data(bytes)) = dict.get(key) {
            let note = format!("<redacted: {} bytes>", bytes.len());
            dict.insert(key.to_owned(), Value::String(note));
        }
    }
}
