//! Decoding a check-in body and answering it.

use plist::Value;

use super::CheckinMessage;
use crate::codec::PlistCodec;
use crate::plist_io::{self, DecodeLimits, PlistFormat};
use crate::{EnrollmentId, Error};

/// A decoded check-in message with the enrollment it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkin {
    /// The canonical enrollment identifier (see [`EnrollmentId`]).
    pub enrollment_id: EnrollmentId,
    /// The message.
    pub message: CheckinMessage,
}

impl Checkin {
    /// Decodes a check-in body (XML or binary plist) with the default limits.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_with_limits(bytes, DecodeLimits::DEFAULT)
    }

    /// Decodes a check-in body within `limits`.
    pub fn decode_with_limits(bytes: &[u8], limits: DecodeLimits) -> Result<Self, Error> {
        let dict = plist_io::parse_dictionary(bytes, limits)?;
        // The identity is read before the typed decode: some messages (GetBootstrapToken,
        // SetBootstrapToken) carry identity keys the schema does not list for them.
        let enrollment_id = EnrollmentId::from_message(&dict)?;
        let message = CheckinMessage::from_dictionary(dict)?;
        Ok(Self {
            enrollment_id,
            message,
        })
    }
}

impl CheckinMessage {
    /// The message as a plist (XML or binary), as a device would send it.
    pub fn encode(&self, format: PlistFormat) -> Result<Vec<u8>, Error> {
        plist_io::write(&Value::Dictionary(self.to_dictionary()), format)
    }
}

/// The body of the server's answer to a check-in message that needs one (for example a
/// [`GetBootstrapTokenResponse`](super::GetBootstrapTokenResponse) or a
/// [`GetTokenResponse`](super::GetTokenResponse)), as an XML plist.
pub fn response_body<T: PlistCodec>(response: &T) -> Result<Vec<u8>, Error> {
    plist_io::write(&response.to_plist(), PlistFormat::Xml)
}

/// The body that asks the device for the user's credentials in answer to a first
/// `UserAuthenticate` message: `{DigestChallenge: challenge}`. (To decline the user
/// channel the server answers HTTP 410 with no body instead; the schema defines no keys
/// for this answer, so it is written here.)
pub fn user_authenticate_challenge(challenge: &str) -> Result<Vec<u8>, Error> {
    let mut dict = plist::Dictionary::new();
    dict.insert(
        "DigestChallenge".into(),
        Value::String(challenge.to_owned()),
    );
    plist_io::write(&Value::Dictionary(dict), PlistFormat::Xml)
}
