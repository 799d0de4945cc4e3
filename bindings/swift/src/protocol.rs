//! The protocol without a deployment (`mdmkit_service::protocol`), push certificate files
//! and configuration profiles: pure functions, no store, no I/O.

use std::sync::Arc;

use mdmkit_core::command::{command_from_dictionary, CommandEnvelope};
use mdmkit_core::profile::{self, SigningIdentity};
use mdmkit_core::{DecodeLimits, PlistFormat};
use mdmkit_service::protocol as service;

use crate::records::{
    CertificateInfo, DecodedCheckin, DecodedCommand, DecodedResult, RequestTypeInfo,
};
use crate::{MdmError, Result};

fn envelope(command: mdmkit_core::Command, command_uuid: Option<String>) -> CommandEnvelope {
    match command_uuid {
        Some(uuid) => CommandEnvelope::with_uuid(uuid, command),
        None => CommandEnvelope::new(command),
    }
}

/// Renders a command given as JSON text with Apple's key names and its `RequestType`
/// (`{"RequestType": "DeviceLock", "Message": "Call IT"}`; data as base64, dates as RFC 3339)
/// as the plist a device receives, XML or binary, checked against Apple's schema. A
/// CommandUUID is made when `command_uuid` is `nil`.
#[uniffi::export]
pub fn render_command(
    command_json: String,
    command_uuid: Option<String>,
    binary: bool,
) -> Result<Vec<u8>> {
    Ok(service::render_command(
        &command_json,
        command_uuid.as_deref(),
        binary,
    )?)
}

/// Renders a command given as a plist dictionary (what Swift's `PropertyListSerialization`
/// makes of a `[String: Any]` with Apple's key names, `RequestType` included), checked
/// against Apple's schema: the dictionary route, where values keep their plist types.
#[uniffi::export]
pub fn render_command_plist(
    command_plist: Vec<u8>,
    command_uuid: Option<String>,
    binary: bool,
) -> Result<Vec<u8>> {
    let value = mdmkit_core::plist_io::parse(&command_plist, DecodeLimits::DEFAULT)?;
    let plist::Value::Dictionary(dictionary) = value else {
        return Err(MdmError::invalid_input(
            "the command must be a plist dictionary",
        ));
    };
    let command = command_from_dictionary(dictionary)?;
    let format = if binary {
        PlistFormat::Binary
    } else {
        PlistFormat::Xml
    };
    Ok(envelope(command, command_uuid).encode(format)?)
}

/// Decodes a command plist (what a server sends a device).
#[uniffi::export]
pub fn decode_command(body: Vec<u8>) -> Result<DecodedCommand> {
    let decoded = service::decode_command(&body)?;
    Ok(DecodedCommand {
        command_uuid: decoded.command_uuid,
        request_type: decoded.request_type,
        command_json: decoded.command.to_string(),
    })
}

/// Decodes a check-in message (XML or binary plist), typed against Apple's schema; the
/// secrets it may carry (UnlockToken, BootstrapToken, TokenData) are redacted.
#[uniffi::export]
pub fn decode_checkin(body: Vec<u8>) -> Result<DecodedCheckin> {
    let decoded = service::decode_checkin(&body, false)?;
    Ok(DecodedCheckin {
        message_type: decoded.message_type,
        enrollment_id: decoded.enrollment_id,
        message_json: decoded.message.to_string(),
    })
}

/// Decodes a command result; `request_type` types the answer when the result does not
/// name it.
#[uniffi::export]
pub fn decode_result(body: Vec<u8>, request_type: Option<String>) -> Result<DecodedResult> {
    let decoded = service::decode_result(&body, request_type.as_deref())?;
    Ok(DecodedResult {
        status: decoded.status,
        command_uuid: decoded.command_uuid,
        request_type: decoded.request_type,
        enrollment_id: decoded.enrollment_id,
        error_chain_json: decoded
            .error_chain
            .iter()
            .map(ToString::to_string)
            .collect(),
        response_json: decoded.response.map(|response| response.to_string()),
    })
}

/// Every RequestType of Apple's schema, in the schema's order.
#[uniffi::export]
pub fn request_types() -> Vec<RequestTypeInfo> {
    service::request_types()
        .into_iter()
        .map(RequestTypeInfo::from)
        .collect()
}

/// The schema facts of one RequestType; `unknown_request_type` when Apple has none.
#[uniffi::export]
pub fn request_type(name: String) -> Result<RequestTypeInfo> {
    Ok(service::request_type(&name)?.into())
}

/// Reads a push certificate file (PEM, DER, or PKCS#12 with its password) without storing
/// anything: topic, expiry, days remaining, the 60-day flag.
#[uniffi::export]
pub fn inspect_push_certificate(
    data: Vec<u8>,
    password: Option<String>,
) -> Result<CertificateInfo> {
    Ok(mdmkit_service::push_certs::inspect(&data, password.as_deref())?.into())
}

/// Every error code a call can fail with, sorted.
#[uniffi::export]
pub fn error_codes() -> Vec<String> {
    mdmkit_service::Error::all_codes()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// A configuration profile (`.mobileconfig`).
#[derive(Debug, uniffi::Object)]
#[uniffi::export(Display)]
pub struct Profile(profile::Profile);

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Identifiers and payload types only: payload values may be secrets (Wi-Fi
        // passwords, certificates' keys).
        write!(
            f,
            "Profile(identifier: {:?}, payload_types: {:?})",
            self.0.identifier,
            self.payload_types()
        )
    }
}

/// Builds a profile from a JSON spec with Apple's key names (top-level keys and a
/// `PayloadContent` array); UUIDs, versions and payload identifiers may be left out.
/// Validated before it is returned.
#[uniffi::export]
pub fn profile_from_spec(spec_json: String) -> Result<Arc<Profile>> {
    let spec: serde_json::Value = serde_json::from_str(&spec_json)
        .map_err(|e| MdmError::invalid_input(format!("the spec is not JSON: {e}")))?;
    Ok(Arc::new(Profile(profile::Profile::from_json_spec(&spec)?)))
}

/// Reads a `.mobileconfig` (XML or binary plist; a signed one is unwrapped without
/// checking its signer, see [`verify_profile`]).
#[uniffi::export]
pub fn profile_read(data: Vec<u8>) -> Result<Arc<Profile>> {
    Ok(Arc::new(Profile(profile::Profile::read_maybe_encrypted(
        &data,
    )?)))
}

#[uniffi::export]
impl Profile {
    /// `PayloadIdentifier`.
    pub fn identifier(&self) -> String {
        self.0.identifier.clone()
    }

    /// `PayloadUUID`.
    pub fn uuid(&self) -> String {
        self.0.uuid.clone()
    }

    /// The payload types, in order (empty when the payloads are encrypted).
    pub fn payload_types(&self) -> Vec<String> {
        self.0
            .payloads
            .iter()
            .map(|payload| payload.payload_type().to_owned())
            .collect()
    }

    /// Whether the payloads are encrypted to a device.
    pub fn is_encrypted(&self) -> bool {
        self.0.is_encrypted()
    }

    /// The profile as an XML plist: the content of a `.mobileconfig` file.
    pub fn to_xml(&self) -> Result<Vec<u8>> {
        Ok(self.0.to_xml()?)
    }

    /// Signs the profile (CMS, DER) with a certificate and its unencrypted private key
    /// (PEM or DER), optionally with intermediate certificates.
    pub fn sign(
        &self,
        certificate: Vec<u8>,
        key: Vec<u8>,
        chain: Option<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let identity = SigningIdentity::from_bytes(&certificate, &key, chain.as_deref())?;
        Ok(profile::sign(&self.0, &identity)?)
    }

    /// The profile with its payloads encrypted to a device's certificate (PEM or DER, RSA):
    /// only that device can read them.
    pub fn encrypt(&self, recipient: Vec<u8>) -> Result<Arc<Profile>> {
        Ok(Arc::new(Profile(profile::encrypt(&self.0, &recipient)?)))
    }
}

/// A signed profile whose signature verified.
#[derive(Debug, uniffi::Record)]
pub struct VerifiedProfile {
    /// The profile inside.
    pub profile: Arc<Profile>,
    /// The signer certificate's subject.
    pub signer_subject: String,
    /// The signer certificate (DER).
    pub signer_certificate: Vec<u8>,
}

/// Verifies a signed profile; with `trusted` roots (PEM or DER) its signer must chain to
/// one. `profile_signature` when it does not verify.
#[uniffi::export]
pub fn verify_profile(signed: Vec<u8>, trusted: Option<Vec<u8>>) -> Result<VerifiedProfile> {
    let verified = profile::verify(&signed, trusted.as_deref())?;
    Ok(VerifiedProfile {
        profile: Arc::new(Profile(verified.profile)),
        signer_subject: verified.signer_subject,
        signer_certificate: verified.signer_der,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkin(index: usize) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><plist version=\"1.0\"><dict>\
             <key>MessageType</key><string>TokenUpdate</string>\
             <key>UDID</key><string>UDID-{index}</string>\
             <key>Topic</key><string>com.apple.mgmt.External.x</string>\
             <key>Token</key><data>AQID</data><key>PushMagic</key><string>m</string>\
             <key>UnlockToken</key><data>c2VjcmV0</data></dict></plist>"
        )
        .into_bytes()
    }

    /// The Rust side of the per-call overhead figure (tools/overhead.py times the same
    /// 10,000 decodes through UniFFI's Python bindings): run with `--nocapture`.
    #[test]
    fn decodes_ten_thousand_checkins_with_secrets_redacted() {
        let bodies: Vec<Vec<u8>> = (0..10_000).map(checkin).collect();
        let started = std::time::Instant::now();
        let decoded: Vec<DecodedCheckin> = bodies
            .iter()
            .map(|body| decode_checkin(body.clone()).unwrap())
            .collect();
        let elapsed = started.elapsed();
        println!(
            "rust: 10000 decode_checkin in {:.1} ms ({:.1} µs per call)",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / 10_000.0
        );
        assert_eq!(decoded[9_999].enrollment_id, "UDID-9999");
        assert!(decoded.iter().all(|d| !d.message_json.contains("c2VjcmV0")));
    }

    #[test]
    fn plist_route_refuses_what_is_not_a_dictionary() {
        let error = render_command_plist(b"<plist><array/></plist>".to_vec(), None, false);
        assert_eq!(error.unwrap_err().code(), "invalid_input");
    }
}
