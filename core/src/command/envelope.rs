//! The command envelope: a command with its CommandUUID, as it travels to a device.

use plist::{Dictionary, Value};

use super::{Command, COMMANDS};
use crate::codec::{self, KeyPath};
use crate::plist_io::{self, DecodeLimits, PlistFormat};
use crate::schema::{self, MessageInfo};
use crate::Error;

/// A command with its CommandUUID: the plist `{CommandUUID, Command: {RequestType, ...}}`
/// that the server returns to a device.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandEnvelope {
    /// The identifier the device echoes in its result.
    pub command_uuid: String,
    /// The command.
    pub command: Command,
}

impl CommandEnvelope {
    /// Wraps a command with a new random CommandUUID (an upper-case UUID, as Apple's tools
    /// make them).
    pub fn new(command: impl Into<Command>) -> Self {
        Self::with_uuid(uuid::Uuid::new_v4().to_string().to_uppercase(), command)
    }

    /// Wraps a command with a CommandUUID chosen by the caller.
    pub fn with_uuid(command_uuid: impl Into<String>, command: impl Into<Command>) -> Self {
        Self {
            command_uuid: command_uuid.into(),
            command: command.into(),
        }
    }

    /// The command's RequestType.
    pub fn request_type(&self) -> &'static str {
        self.command.request_type()
    }

    /// The envelope as a plist dictionary.
    pub fn to_dictionary(&self) -> Dictionary {
        let mut dict = Dictionary::new();
        dict.insert(
            "CommandUUID".into(),
            Value::String(self.command_uuid.clone()),
        );
        dict.insert(
            "Command".into(),
            Value::Dictionary(self.command.to_dictionary()),
        );
        dict
    }

    /// The envelope as an XML plist, the format devices are sent.
    pub fn to_xml(&self) -> Result<Vec<u8>, Error> {
        self.encode(PlistFormat::Xml)
    }

    /// The envelope as a binary plist.
    pub fn to_binary(&self) -> Result<Vec<u8>, Error> {
        self.encode(PlistFormat::Binary)
    }

    /// The envelope as a plist in the given format.
    pub fn encode(&self, format: PlistFormat) -> Result<Vec<u8>, Error> {
        plist_io::write(&Value::Dictionary(self.to_dictionary()), format)
    }

    /// Reads an envelope from an XML or binary plist.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_with_limits(bytes, DecodeLimits::DEFAULT)
    }

    /// Reads an envelope from an XML or binary plist within `limits`.
    pub fn decode_with_limits(bytes: &[u8], limits: DecodeLimits) -> Result<Self, Error> {
        Self::from_dictionary(plist_io::parse_dictionary(bytes, limits)?)
    }

    /// Reads an envelope from a plist dictionary.
    pub fn from_dictionary(mut dict: Dictionary) -> Result<Self, Error> {
        let command_uuid: String = codec::required(&mut dict, "CommandUUID", &KeyPath::ROOT)?;
        let command: Dictionary = codec::required(&mut dict, "Command", &KeyPath::ROOT)?;
        Ok(Self {
            command_uuid,
            command: Command::from_dictionary(command)?,
        })
    }
}

/// What Apple's schema says about the command with this RequestType.
pub fn command_info(request_type: &str) -> Option<&'static MessageInfo> {
    COMMANDS
        .iter()
        .copied()
        .find(|info| info.name == request_type)
}

/// Checks a command dictionary (with its `RequestType`) strictly against the schema: known
/// RequestType, no unknown keys, required keys present, types and allowed values respected.
/// For commands a person wrote (the `mdmkit command render` tool, bindings); typed commands
/// built in Rust are valid by construction except for allowed integer values.
pub fn validate_command_dictionary(dict: &Dictionary) -> Result<(), Error> {
    let request_type = dict
        .get("RequestType")
        .ok_or_else(|| Error::MissingKey {
            path: "RequestType".into(),
        })?
        .as_string()
        .ok_or_else(|| Error::WrongType {
            path: "RequestType".into(),
            expected: "string",
            found: codec::kind_name(&dict["RequestType"]),
        })?;
    let info = command_info(request_type)
        .ok_or_else(|| Error::UnknownRequestType(request_type.to_owned()))?;
    let mut keys = dict.clone();
    keys.remove("RequestType");
    schema::validate_dictionary(&keys, info.keys, &KeyPath::named(info.name))
}

/// A typed command from a whole command dictionary (`RequestType` and its keys), checked
/// strictly against the schema first (see [`validate_command_dictionary`]): what the
/// language bindings take from a dict, map or object written with Apple's key names.
pub fn command_from_dictionary(dict: Dictionary) -> Result<Command, Error> {
    validate_command_dictionary(&dict)?;
    Command::from_dictionary(dict)
}

/// A typed command from its RequestType and its keys, checked strictly against the schema
/// first (see [`validate_command_dictionary`]): for commands a person wrote (the command
/// line, an admin API, bindings).
pub fn command_from_keys(request_type: &str, keys: Dictionary) -> Result<Command, Error> {
    let info = command_info(request_type)
        .ok_or_else(|| Error::UnknownRequestType(request_type.to_owned()))?;
    let mut dict = Dictionary::new();
    dict.insert("RequestType".into(), Value::String(info.name.into()));
    for (k, v) in keys {
        if k != "RequestType" {
            dict.insert(k, v);
        }
    }
    validate_command_dictionary(&dict)?;
    Command::from_dictionary(dict)
}
