//! Support for mdmkit's cross-crate end-to-end tests (`tests/it`).
//!
//! [`SimulatedDevice`] plays the device side of the protocol: it writes the check-in
//! messages and command results a real device sends, so the tests can drive the server side
//! exactly as a device would.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use mdmkit_core::checkin::{Authenticate, CheckinMessage, TokenUpdate};
use mdmkit_core::{CommandEnvelope, CommandStatus, Data, Error, PlistFormat};
use plist::{Dictionary, Value};

/// The device side of the MDM protocol, for tests.
#[derive(Debug, Clone)]
pub struct SimulatedDevice {
    /// The device's UDID.
    pub udid: String,
    /// The push topic it enrolled with.
    pub topic: String,
    /// The format it writes its bodies in.
    pub format: PlistFormat,
}

impl SimulatedDevice {
    /// A device with this UDID enrolling under `topic`.
    pub fn new(udid: &str, topic: &str) -> Self {
        Self {
            udid: udid.to_owned(),
            topic: topic.to_owned(),
            format: PlistFormat::Xml,
        }
    }

    /// The Authenticate check-in body.
    pub fn authenticate(&self) -> Result<Vec<u8>, Error> {
        let mut message = Authenticate::new(self.topic.clone());
        message.udid = Some(self.udid.clone());
        message.serial_number = Some("SIMULATED01".into());
        CheckinMessage::Authenticate(message).encode(self.format)
    }

    /// The TokenUpdate check-in body.
    pub fn token_update(&self, token: &[u8], push_magic: &str) -> Result<Vec<u8>, Error> {
        let mut message =
            TokenUpdate::new(self.topic.clone(), Data::new(token.to_vec()), push_magic);
        message.udid = Some(self.udid.clone());
        message.unlock_token = Some(Data::new(b"simulated unlock token".to_vec()));
        CheckinMessage::TokenUpdate(message).encode(self.format)
    }

    /// The result body answering a command the server sent (as plist bytes), with `status`
    /// and the answer's keys.
    pub fn answer(
        &self,
        command: &[u8],
        status: CommandStatus,
        answer: Dictionary,
    ) -> Result<Vec<u8>, Error> {
        let envelope = CommandEnvelope::decode(command)?;
        let mut dict = answer;
        dict.insert("UDID".into(), Value::String(self.udid.clone()));
        dict.insert("CommandUUID".into(), Value::String(envelope.command_uuid));
        dict.insert("Status".into(), Value::String(status.as_str().into()));
        mdmkit_core::plist_io::write(&Value::Dictionary(dict), self.format)
    }

    /// The Idle body a device sends when it asks for its next command.
    pub fn idle(&self) -> Result<Vec<u8>, Error> {
        let mut dict = Dictionary::new();
        dict.insert("UDID".into(), Value::String(self.udid.clone()));
        dict.insert("Status".into(), Value::String("Idle".into()));
        mdmkit_core::plist_io::write(&Value::Dictionary(dict), self.format)
    }
}
