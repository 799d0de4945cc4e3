//! Command results: what a device sends to the server URL.

use plist::{Dictionary, Value};

use crate::codec::{self, KeyPath, PlistCodec};
use crate::command::CommandResponse;
use crate::plist_io::{self, DecodeLimits, PlistFormat};
use crate::{CommandStatus, EnrollmentId, Error};

/// The keys that identify the sender of a result; they are not part of the answer.
const IDENTITY_KEYS: [&str; 7] = [
    "UDID",
    "EnrollmentID",
    "UserID",
    "EnrollmentUserID",
    "UserShortName",
    "UserLongName",
    "NotOnConsole",
];

/// One entry of a result's `ErrorChain`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ErrorChainItem {
    /// `ErrorCode`: the error's numeric code.
    pub error_code: i64,
    /// `ErrorDomain`: the domain the code belongs to.
    pub error_domain: String,
    /// `LocalizedDescription`: a description in the device's language.
    pub localized_description: String,
    /// `USEnglishDescription`: a description in U.S. English, when the device sends one.
    pub us_english_description: Option<String>,
    /// Keys this version of mdmkit does not model, kept as they were.
    pub extra: Dictionary,
}

impl ErrorChainItem {
    /// Creates an entry.
    pub fn new(
        error_code: i64,
        error_domain: impl Into<String>,
        localized_description: impl Into<String>,
    ) -> Self {
        Self {
            error_code,
            error_domain: error_domain.into(),
            localized_description: localized_description.into(),
            us_english_description: None,
            extra: Dictionary::new(),
        }
    }
}

impl PlistCodec for ErrorChainItem {
    fn to_plist(&self) -> Value {
        let mut dict = Dictionary::new();
        codec::put(&mut dict, "ErrorCode", &self.error_code);
        codec::put(&mut dict, "ErrorDomain", &self.error_domain);
        codec::put(
            &mut dict,
            "LocalizedDescription",
            &self.localized_description,
        );
        codec::put_optional(
            &mut dict,
            "USEnglishDescription",
            &self.us_english_description,
        );
        for (k, v) in &self.extra {
            dict.insert(k.clone(), v.clone());
        }
        Value::Dictionary(dict)
    }

    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        let mut dict = codec::expect_dictionary(value, path)?;
        Ok(Self {
            error_code: codec::required(&mut dict, "ErrorCode", path)?,
            error_domain: codec::required(&mut dict, "ErrorDomain", path)?,
            localized_description: codec::optional(&mut dict, "LocalizedDescription", path)?
                .unwrap_or_default(),
            us_english_description: codec::optional(&mut dict, "USEnglishDescription", path)?,
            extra: dict,
        })
    }
}

/// A command result (or an Idle report) as a device sends it to the server URL.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CommandResult {
    /// The enrollment that sent it.
    pub enrollment_id: EnrollmentId,
    /// The status.
    pub status: CommandStatus,
    /// The command it answers; absent when the status is Idle.
    pub command_uuid: Option<String>,
    /// The command's RequestType, when the device sent it or the caller supplied it.
    pub request_type: Option<String>,
    /// Why the command failed, for the Error status.
    pub error_chain: Vec<ErrorChainItem>,
    /// The answer's keys: typed when the RequestType is known, else as sent. `None` when
    /// the result carries nothing beside its status.
    pub response: Option<CommandResponse>,
    /// The identity keys as sent (`UDID`, `EnrollmentID`, `UserID`, ...).
    pub identity: Dictionary,
}

impl CommandResult {
    /// Decodes a result body with the default limits. `request_type` is the RequestType of
    /// the command being answered, when the caller knows it (a device does not always say).
    pub fn decode(bytes: &[u8], request_type: Option<&str>) -> Result<Self, Error> {
        Self::decode_with_limits(bytes, request_type, DecodeLimits::DEFAULT)
    }

    /// Decodes a result body within `limits`.
    pub fn decode_with_limits(
        bytes: &[u8],
        request_type: Option<&str>,
        limits: DecodeLimits,
    ) -> Result<Self, Error> {
        Self::from_dictionary(plist_io::parse_dictionary(bytes, limits)?, request_type)
    }

    /// Decodes a result dictionary.
    pub fn from_dictionary(
        mut dict: Dictionary,
        request_type: Option<&str>,
    ) -> Result<Self, Error> {
        let enrollment_id = EnrollmentId::from_message(&dict)?;
        let path = KeyPath::ROOT;
        let status: String = codec::required(&mut dict, "Status", &path)?;
        let status: CommandStatus = status.parse()?;
        let command_uuid: Option<String> = codec::optional(&mut dict, "CommandUUID", &path)?;
        if command_uuid.is_none() && status != CommandStatus::Idle {
            return Err(Error::MissingKey {
                path: "CommandUUID".into(),
            });
        }
        let sent_type: Option<String> = codec::optional(&mut dict, "RequestType", &path)?;
        let request_type = sent_type.or_else(|| request_type.map(str::to_owned));
        let error_chain: Vec<ErrorChainItem> =
            codec::optional(&mut dict, "ErrorChain", &path)?.unwrap_or_default();
        let mut identity = Dictionary::new();
        for key in IDENTITY_KEYS {
            if let Some(value) = dict.remove(key) {
                identity.insert(key.to_owned(), value);
            }
        }
        let response = if dict.is_empty() {
            None
        } else {
            Some(match &request_type {
                Some(rt) => CommandResponse::decode(rt, dict)?,
                None => CommandResponse::Other(dict),
            })
        };
        Ok(Self {
            enrollment_id,
            status,
            command_uuid,
            request_type,
            error_chain,
            response,
            identity,
        })
    }

    /// The result as a plist dictionary, as a device would send it.
    pub fn to_dictionary(&self) -> Dictionary {
        let mut dict = self.identity.clone();
        if let Some(uuid) = &self.command_uuid {
            dict.insert("CommandUUID".into(), Value::String(uuid.clone()));
        }
        if let Some(rt) = &self.request_type {
            dict.insert("RequestType".into(), Value::String(rt.clone()));
        }
        dict.insert("Status".into(), Value::String(self.status.as_str().into()));
        if !self.error_chain.is_empty() {
            codec::put(&mut dict, "ErrorChain", &self.error_chain);
        }
        if let Some(response) = &self.response {
            for (k, v) in response.to_dictionary() {
                dict.insert(k, v);
            }
        }
        dict
    }

    /// The result as a plist in the given format.
    pub fn encode(&self, format: PlistFormat) -> Result<Vec<u8>, Error> {
        plist_io::write(&Value::Dictionary(self.to_dictionary()), format)
    }
}
