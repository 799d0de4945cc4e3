//! Configuration profiles: typed payloads, the profile around them, validation, reading and
//! writing `.mobileconfig` files, and signing.
//!
//! A [`Profile`] holds its own keys (PayloadIdentifier, PayloadUUID, PayloadScope, ...) and a
//! list of [`Payload`]s. Each payload is its common keys ([`PayloadCommon`]) plus its typed
//! content ([`PayloadContent`], one variant per PayloadType of Apple's schema, generated in
//! [`payloads`]). Nothing is written before [`Profile::validate`] passes: required keys,
//! types, allowed values and ranges, unique identifiers and UUIDs, and references between
//! payloads (an MDM payload's IdentityCertificateUUID must name an identity payload of the
//! same profile, and the like).
//!
//! ```
//! use mdmkit_core::profile::payloads::{SecurityRoot, WebClipManaged};
//! use mdmkit_core::profile::{Payload, Profile};
//! use mdmkit_core::Data;
//!
//! let clip = WebClipManaged::new("https://portal.example.com", "Portal");
//! let profile = Profile::new("com.example.portal")
//!     .with_display_name("Self-service portal")
//!     .with_payload(Payload::new("com.example.portal.clip", clip));
//! let xml = profile.to_xml().unwrap();
//! assert_eq!(Profile::read(&xml).unwrap(), profile);
//! # let _ = (SecurityRoot::new(Data::default()),);
//! ```

use std::collections::{BTreeMap, HashSet};
use std::time::SystemTime;

use plist::{Dictionary, Value};

use crate::codec::{self, KeyPath, PlistCodec};
use crate::plist_io::{self, DecodeLimits, PlistFormat};
use crate::schema::{self, KeyInfo, Platform, UnknownKeys};
use crate::Error;

mod encryption;
pub mod payloads;
mod signing;
mod spec;

pub use encryption::{decrypt, decrypt_bytes, encrypt, ENCRYPTED_PAYLOAD_CONTENT, IS_ENCRYPTED};
pub use payloads::{payload_info, PayloadContent};
pub(crate) use signing::read_certificates;
pub use signing::{is_signed, sign, sign_bytes, verify, SigningIdentity, VerifiedProfile};

/// The PayloadType of a profile's top level.
pub const PROFILE_PAYLOAD_TYPE: &str = "Configuration";

/// Payload types that carry an identity (a certificate with its private key, or the means to
/// obtain one).
pub const IDENTITY_PAYLOAD_TYPES: [&str; 4] = [
    "com.apple.security.pkcs12",
    "com.apple.security.scep",
    "com.apple.security.acme",
    "com.apple.ADCertificate.managed",
];

/// Payload types that carry a certificate without a private key.
pub const CERTIFICATE_PAYLOAD_TYPES: [&str; 3] = [
    "com.apple.security.root",
    "com.apple.security.pem",
    "com.apple.security.pkcs1",
];

/// What a reference key must point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// An identity payload.
    Identity,
    /// A certificate or identity payload.
    Certificate,
}

/// Keys whose value names another payload of the same profile by its PayloadUUID, with what
/// that payload must be. Found at any depth of a payload (VPN keeps its certificate reference
/// in `VPN.PayloadCertificateUUID`, Wi-Fi its anchors in `EAPClientConfiguration`).
const REFERENCE_KEYS: [(&str, Target); 18] = [
    ("IdentityCertificateUUID", Target::Identity),
    ("SMIMESigningCertificateUUID", Target::Identity),
    ("SMIMEEncryptionCertificateUUID", Target::Identity),
    ("PayloadCertificateUUID", Target::Identity),
    ("AuthenticationCertificateUUID", Target::Identity),
    ("DeviceCertificateUUID", Target::Identity),
    ("ControllerCertificateUUID", Target::Identity),
    ("ResourcePayloadCertificateUUID", Target::Identity),
    ("certificateUUID", Target::Identity),
    ("PayloadCertificateAnchorUUID", Target::Certificate),
    ("LeaderPayloadCertificateAnchorUUID", Target::Certificate),
    ("MemberPayloadCertificateAnchorUUID", Target::Certificate),
    ("DeviceCACertificateUUIDs", Target::Certificate),
    ("ControllerCACertificateUUIDs", Target::Certificate),
    ("ServerURLPinningCertificateUUIDs", Target::Certificate),
    ("CheckInURLPinningCertificateUUIDs", Target::Certificate),
    ("EncryptCertPayloadUUID", Target::Certificate),
    ("EncryptionCertificateUUID", Target::Certificate),
];

/// Payload types whose `PayloadCertificateUUID` names a certificate rather than an identity.
const CERTIFICATE_REFERENCE_TYPES: [&str; 2] =
    ["com.apple.security.certificatepreference", "com.apple.MCX"];

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// The `PayloadScope` of a macOS profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadScope {
    /// Installed for the whole system.
    System,
    /// Installed for the user.
    User,
}

impl PayloadScope {
    /// Apple's value.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadScope::System => "System",
            PayloadScope::User => "User",
        }
    }
}

impl PlistCodec for PayloadScope {
    fn to_plist(&self) -> Value {
        Value::String(self.as_str().into())
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        codec::strict_enum(
            value,
            path,
            &[PayloadScope::System, PayloadScope::User],
            |s| s.as_str(),
        )
    }
}

/// The keys every payload has, handled once for all payload types.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PayloadCommon {
    /// `PayloadIdentifier`: reverse-DNS, unique within the profile.
    pub identifier: String,
    /// `PayloadUUID`: unique within the profile; the same UUID replaces the payload when the
    /// profile is installed again.
    pub uuid: String,
    /// `PayloadVersion` (1 unless Apple says otherwise).
    pub version: i64,
    /// `PayloadDisplayName`.
    pub display_name: Option<String>,
    /// `PayloadDescription`.
    pub description: Option<String>,
    /// `PayloadOrganization`.
    pub organization: Option<String>,
}

impl PayloadCommon {
    /// Common keys with this identifier, a new UUID and version 1.
    pub fn new(identifier: impl Into<String>) -> Self {
        Self {
            identifier: identifier.into(),
            uuid: new_uuid(),
            version: 1,
            display_name: None,
            description: None,
            organization: None,
        }
    }

    fn write(&self, dict: &mut Dictionary) {
        codec::put(dict, "PayloadIdentifier", &self.identifier);
        codec::put(dict, "PayloadUUID", &self.uuid);
        codec::put(dict, "PayloadVersion", &self.version);
        codec::put_optional(dict, "PayloadDisplayName", &self.display_name);
        codec::put_optional(dict, "PayloadDescription", &self.description);
        codec::put_optional(dict, "PayloadOrganization", &self.organization);
    }

    fn read(dict: &mut Dictionary, path: &KeyPath<'_>) -> Result<Self, Error> {
        Ok(Self {
            identifier: codec::required(dict, "PayloadIdentifier", path)?,
            uuid: codec::required(dict, "PayloadUUID", path)?,
            version: codec::optional(dict, "PayloadVersion", path)?.unwrap_or(1),
            display_name: codec::optional(dict, "PayloadDisplayName", path)?,
            description: codec::optional(dict, "PayloadDescription", path)?,
            organization: codec::optional(dict, "PayloadOrganization", path)?,
        })
    }
}

/// One payload of a profile: its common keys and its typed content.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Payload {
    /// PayloadIdentifier, PayloadUUID, PayloadVersion and the display keys.
    pub common: PayloadCommon,
    /// The payload's own keys, typed by its PayloadType.
    pub content: PayloadContent,
}

impl Payload {
    /// A payload with this identifier, a new PayloadUUID and PayloadVersion 1.
    pub fn new(identifier: impl Into<String>, content: impl Into<PayloadContent>) -> Self {
        Self {
            common: PayloadCommon::new(identifier),
            content: content.into(),
        }
    }

    /// Sets the PayloadUUID (to keep it stable across versions of a profile).
    pub fn with_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.common.uuid = uuid.into();
        self
    }

    /// Sets PayloadDisplayName.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.common.display_name = Some(name.into());
        self
    }

    /// The PayloadType.
    pub fn payload_type(&self) -> &str {
        self.content.payload_type()
    }

    /// The payload as Apple writes it: PayloadType and the common keys, then its own.
    pub fn to_dictionary(&self) -> Dictionary {
        let mut dict = Dictionary::new();
        dict.insert(
            "PayloadType".into(),
            Value::String(self.payload_type().into()),
        );
        self.common.write(&mut dict);
        for (k, v) in self.content.to_dictionary() {
            dict.insert(k, v);
        }
        dict
    }

    /// Reads a payload dictionary.
    pub fn from_dictionary(mut dict: Dictionary, path: &KeyPath<'_>) -> Result<Self, Error> {
        let payload_type: String = codec::required(&mut dict, "PayloadType", path)?;
        let common = PayloadCommon::read(&mut dict, path)?;
        let label = payload_label(&payload_type, &common.identifier);
        let content =
            PayloadContent::from_dictionary(&payload_type, dict, &KeyPath::named(&label))?;
        Ok(Self { common, content })
    }

    fn label(&self) -> String {
        payload_label(self.payload_type(), &self.common.identifier)
    }
}

/// How errors name a payload: its type and identifier.
fn payload_label(payload_type: &str, identifier: &str) -> String {
    format!("{payload_type}({identifier})")
}

impl PlistCodec for Payload {
    fn to_plist(&self) -> Value {
        Value::Dictionary(self.to_dictionary())
    }
    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {
        Payload::from_dictionary(codec::expect_dictionary(value, path)?, path)
    }
}

/// Something in a profile that a platform does not support.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformIssue {
    /// The payload, as `PayloadType(PayloadIdentifier)`.
    pub payload: String,
    /// The key path inside the payload, or `None` when the whole payload type is unsupported.
    pub key_path: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// A configuration profile (`.mobileconfig`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Profile {
    /// `PayloadIdentifier`: reverse-DNS; installing a profile with the same identifier
    /// replaces the installed one.
    pub identifier: String,
    /// `PayloadUUID`.
    pub uuid: String,
    /// `PayloadVersion` (1).
    pub version: i64,
    /// `PayloadDisplayName`.
    pub display_name: Option<String>,
    /// `PayloadDescription`.
    pub description: Option<String>,
    /// `PayloadOrganization`.
    pub organization: Option<String>,
    /// `PayloadScope` (macOS): System or User.
    pub scope: Option<PayloadScope>,
    /// `PayloadRemovalDisallowed`.
    pub removal_disallowed: Option<bool>,
    /// `HasRemovalPasscode`.
    pub has_removal_passcode: Option<bool>,
    /// `RemovalDate`: when the device removes the profile.
    pub removal_date: Option<SystemTime>,
    /// `DurationUntilRemoval`: seconds after installation until removal.
    pub duration_until_removal: Option<f64>,
    /// `PayloadExpirationDate`.
    pub expiration_date: Option<SystemTime>,
    /// `ConsentText`: text shown before installation, by language code (`default`, `en`, ...).
    pub consent_text: Option<BTreeMap<String, String>>,
    /// `TargetDeviceType`: 0 any, 1 iPhone/iPad, 2 Apple Watch, 3 HomePod, 4 Apple TV,
    /// 5 Mac, 6 Vision Pro.
    pub target_device_type: Option<i64>,
    /// `PayloadContent`: the payloads (empty when they are encrypted).
    pub payloads: Vec<Payload>,
    /// `EncryptedPayloadContent`: the payloads encrypted to a device certificate (CMS
    /// EnvelopedData, DER), written with `IsEncrypted` = true instead of `PayloadContent`.
    /// Set by [`encrypt`], cleared by [`decrypt`].
    pub encrypted_payload_content: Option<crate::Data>,
    /// Top-level keys this version of mdmkit does not model, kept as they were.
    pub extra: Dictionary,
}

impl Profile {
    /// An empty profile with this identifier, a new PayloadUUID and PayloadVersion 1.
    pub fn new(identifier: impl Into<String>) -> Self {
        Self {
            identifier: identifier.into(),
            uuid: new_uuid(),
            version: 1,
            display_name: None,
            description: None,
            organization: None,
            scope: None,
            removal_disallowed: None,
            has_removal_passcode: None,
            removal_date: None,
            duration_until_removal: None,
            expiration_date: None,
            consent_text: None,
            target_device_type: None,
            payloads: Vec::new(),
            encrypted_payload_content: None,
            extra: Dictionary::new(),
        }
    }

    /// Sets the PayloadUUID (to keep it stable across versions of a profile).
    pub fn with_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = uuid.into();
        self
    }

    /// Sets PayloadDisplayName.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets PayloadDescription.
    pub fn with_description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Sets PayloadOrganization.
    pub fn with_organization(mut self, name: impl Into<String>) -> Self {
        self.organization = Some(name.into());
        self
    }

    /// Sets PayloadScope.
    pub fn with_scope(mut self, scope: PayloadScope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Sets PayloadRemovalDisallowed.
    pub fn with_removal_disallowed(mut self, disallowed: bool) -> Self {
        self.removal_disallowed = Some(disallowed);
        self
    }

    /// Adds a payload.
    pub fn with_payload(mut self, payload: Payload) -> Self {
        self.payloads.push(payload);
        self
    }

    /// The profile as a plist dictionary (not validated).
    pub fn to_dictionary(&self) -> Dictionary {
        let mut dict = Dictionary::new();
        codec::put(&mut dict, "PayloadType", &PROFILE_PAYLOAD_TYPE.to_owned());
        codec::put(&mut dict, "PayloadIdentifier", &self.identifier);
        codec::put(&mut dict, "PayloadUUID", &self.uuid);
        codec::put(&mut dict, "PayloadVersion", &self.version);
        codec::put_optional(&mut dict, "PayloadDisplayName", &self.display_name);
        codec::put_optional(&mut dict, "PayloadDescription", &self.description);
        codec::put_optional(&mut dict, "PayloadOrganization", &self.organization);
        codec::put_optional(&mut dict, "PayloadScope", &self.scope);
        codec::put_optional(
            &mut dict,
            "PayloadRemovalDisallowed",
            &self.removal_disallowed,
        );
        codec::put_optional(&mut dict, "HasRemovalPasscode", &self.has_removal_passcode);
        codec::put_optional(&mut dict, "RemovalDate", &self.removal_date);
        codec::put_optional(
            &mut dict,
            "DurationUntilRemoval",
            &self.duration_until_removal,
        );
        codec::put_optional(&mut dict, "PayloadExpirationDate", &self.expiration_date);
        codec::put_optional(&mut dict, "ConsentText", &self.consent_text);
        codec::put_optional(&mut dict, "TargetDeviceType", &self.target_device_type);
        match &self.encrypted_payload_content {
            Some(envelope) => {
                codec::put(&mut dict, IS_ENCRYPTED, &true);
                codec::put(&mut dict, ENCRYPTED_PAYLOAD_CONTENT, envelope);
            }
            None => codec::put(&mut dict, "PayloadContent", &self.payloads),
        }
        for (k, v) in &self.extra {
            dict.insert(k.clone(), v.clone());
        }
        dict
    }

    /// Reads a profile dictionary. An encrypted profile (`EncryptedPayloadContent`) is read
    /// with no payloads and its envelope in [`Profile::encrypted_payload_content`].
    pub fn from_dictionary(mut dict: Dictionary) -> Result<Self, Error> {
        let path = KeyPath::named("Profile");
        let payload_type: String = codec::required(&mut dict, "PayloadType", &path)?;
        if payload_type != PROFILE_PAYLOAD_TYPE {
            return Err(Error::InvalidValue {
                path: path.key("PayloadType").to_string(),
                value: payload_type,
                allowed: PROFILE_PAYLOAD_TYPE.into(),
            });
        }
        let encrypted_payload_content: Option<crate::Data> =
            codec::optional(&mut dict, ENCRYPTED_PAYLOAD_CONTENT, &path)?;
        if encrypted_payload_content.is_some() {
            let is_encrypted: Option<bool> = codec::optional(&mut dict, IS_ENCRYPTED, &path)?;
            if is_encrypted == Some(false) {
                return Err(Error::Profile {
                    path: path.key(IS_ENCRYPTED).to_string(),
                    message: format!("is false but the profile has {ENCRYPTED_PAYLOAD_CONTENT}"),
                });
            }
            let payloads: Option<Vec<Value>> = codec::optional(&mut dict, "PayloadContent", &path)?;
            if payloads.is_some_and(|p| !p.is_empty()) {
                return Err(Error::Profile {
                    path: path.key("PayloadContent").to_string(),
                    message: format!(
                        "a profile has either PayloadContent or {ENCRYPTED_PAYLOAD_CONTENT}, not both"
                    ),
                });
            }
        }
        Ok(Self {
            identifier: codec::required(&mut dict, "PayloadIdentifier", &path)?,
            uuid: codec::required(&mut dict, "PayloadUUID", &path)?,
            version: codec::optional(&mut dict, "PayloadVersion", &path)?.unwrap_or(1),
            display_name: codec::optional(&mut dict, "PayloadDisplayName", &path)?,
            description: codec::optional(&mut dict, "PayloadDescription", &path)?,
            organization: codec::optional(&mut dict, "PayloadOrganization", &path)?,
            scope: codec::optional(&mut dict, "PayloadScope", &path)?,
            removal_disallowed: codec::optional(&mut dict, "PayloadRemovalDisallowed", &path)?,
            has_removal_passcode: codec::optional(&mut dict, "HasRemovalPasscode", &path)?,
            removal_date: codec::optional(&mut dict, "RemovalDate", &path)?,
            duration_until_removal: codec::optional(&mut dict, "DurationUntilRemoval", &path)?,
            expiration_date: codec::optional(&mut dict, "PayloadExpirationDate", &path)?,
            consent_text: codec::optional(&mut dict, "ConsentText", &path)?,
            target_device_type: codec::optional(&mut dict, "TargetDeviceType", &path)?,
            payloads: codec::optional(&mut dict, "PayloadContent", &path)?.unwrap_or_default(),
            encrypted_payload_content,
            extra: dict,
        })
    }

    /// Reads a `.mobileconfig`: an XML or binary plist, or a signed profile (CMS SignedData,
    /// DER), whose signature is then checked (but not its certificate chain: use [`verify`]
    /// for that).
    ///
    /// A profile whose payloads are encrypted to a device is an [`Error::Profile`] naming
    /// `EncryptedPayloadContent`: read it with [`decrypt_bytes`] when you hold the device's
    /// key, or keep it encrypted with [`Profile::read_maybe_encrypted`].
    pub fn read(bytes: &[u8]) -> Result<Self, Error> {
        let profile = Self::read_maybe_encrypted(bytes)?;
        if profile.is_encrypted() {
            return Err(Error::Profile {
                path: format!("Profile.{ENCRYPTED_PAYLOAD_CONTENT}"),
                message: "the payloads are encrypted to a device; only the holder of its key \
                          can read them (profile::decrypt)"
                    .into(),
            });
        }
        Ok(profile)
    }

    /// Reads a `.mobileconfig` like [`Profile::read`], but an encrypted profile is read as it
    /// is: its own keys, no payloads, and its envelope in
    /// [`Profile::encrypted_payload_content`].
    pub fn read_maybe_encrypted(bytes: &[u8]) -> Result<Self, Error> {
        if is_signed(bytes) {
            return Ok(verify(bytes, None)?.profile);
        }
        Self::from_dictionary(plist_io::parse_dictionary(bytes, DecodeLimits::DEFAULT)?)
    }

    /// Whether the payloads are encrypted (`EncryptedPayloadContent`; see [`encrypt`]).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted_payload_content.is_some()
    }

    /// Validates the profile, then writes it as an XML plist (`.mobileconfig`).
    pub fn to_xml(&self) -> Result<Vec<u8>, Error> {
        self.validate()?;
        plist_io::write(&Value::Dictionary(self.to_dictionary()), PlistFormat::Xml)
    }

    /// Checks everything the schema and the profile format require: top-level and payload
    /// keys present, of the right type, among the allowed values and within range;
    /// identifiers and UUIDs unique within the profile; every reference to another payload
    /// pointing to one of a suitable type. The first problem is the error; its message names
    /// the payload and the key path. Of an encrypted profile only the profile's own keys are
    /// checked (its payloads were validated when it was encrypted).
    pub fn validate(&self) -> Result<(), Error> {
        let top = self.to_dictionary();
        let top_path = KeyPath::named("Profile");
        // The payloads are checked one by one below, against their own types.
        let mut top_keys = top.clone();
        top_keys.insert("PayloadContent".into(), Value::Array(Vec::new()));
        schema::validate_dictionary_with(
            &top_keys,
            payloads::TOP_LEVEL_KEYS,
            &top_path,
            UnknownKeys::Accept,
        )?;
        if self.is_encrypted() {
            if !self.payloads.is_empty() {
                return Err(Error::Profile {
                    path: top_path.key("PayloadContent").to_string(),
                    message: format!(
                        "a profile has either PayloadContent or {ENCRYPTED_PAYLOAD_CONTENT}, not both"
                    ),
                });
            }
            return Ok(());
        }
        if self.payloads.is_empty() {
            return Err(Error::Profile {
                path: top_path.key("PayloadContent").to_string(),
                message: "a profile needs at least one payload".into(),
            });
        }
        let mut identifiers = HashSet::from([self.identifier.as_str()]);
        let mut uuids = HashSet::from([self.uuid.as_str()]);
        for payload in &self.payloads {
            let label = payload.label();
            let path = KeyPath::named(&label);
            if !identifiers.insert(&payload.common.identifier) {
                return Err(Error::Profile {
                    path: path.key("PayloadIdentifier").to_string(),
                    message: format!(
                        "{:?} is used twice in the profile",
                        payload.common.identifier
                    ),
                });
            }
            if !uuids.insert(&payload.common.uuid) {
                return Err(Error::Profile {
                    path: path.key("PayloadUUID").to_string(),
                    message: format!("{:?} is used twice in the profile", payload.common.uuid),
                });
            }
            let mut common = Dictionary::new();
            common.insert(
                "PayloadType".into(),
                Value::String(payload.payload_type().into()),
            );
            payload.common.write(&mut common);
            schema::validate_dictionary_with(
                &common,
                payloads::COMMON_KEYS,
                &path,
                UnknownKeys::Accept,
            )?;
            if let Some(info) = payload.content.info() {
                schema::validate_dictionary_with(
                    &payload.content.to_dictionary(),
                    info.keys,
                    &path,
                    UnknownKeys::Accept,
                )?;
            }
        }
        self.check_references()
    }

    fn check_references(&self) -> Result<(), Error> {
        let by_uuid: BTreeMap<&str, &Payload> = self
            .payloads
            .iter()
            .map(|p| (p.common.uuid.as_str(), p))
            .collect();
        for payload in &self.payloads {
            let label = payload.label();
            let mut found = Vec::new();
            collect_references(
                &Value::Dictionary(payload.content.to_dictionary()),
                String::new(),
                &mut found,
            );
            for (key_path, key, uuid) in found {
                let wanted = match REFERENCE_KEYS.iter().find(|(name, _)| *name == key) {
                    Some((_, _))
                        if key == "PayloadCertificateUUID"
                            && CERTIFICATE_REFERENCE_TYPES.contains(&payload.payload_type()) =>
                    {
                        Target::Certificate
                    }
                    Some((_, target)) => *target,
                    None => continue,
                };
                let path = format!("{label}.{key_path}");
                let target = by_uuid.get(uuid.as_str()).ok_or_else(|| Error::Profile {
                    path: path.clone(),
                    message: format!("no payload in the profile has PayloadUUID {uuid:?}"),
                })?;
                let target_type = target.payload_type();
                let fits = match wanted {
                    Target::Identity => IDENTITY_PAYLOAD_TYPES.contains(&target_type),
                    Target::Certificate => {
                        IDENTITY_PAYLOAD_TYPES.contains(&target_type)
                            || CERTIFICATE_PAYLOAD_TYPES.contains(&target_type)
                    }
                };
                if !fits {
                    let kind = match wanted {
                        Target::Identity => {
                            "an identity payload (PKCS #12, SCEP, ACME or AD certificate)"
                        }
                        Target::Certificate => "a certificate or identity payload",
                    };
                    return Err(Error::Profile {
                        path,
                        message: format!(
                            "points to {} which is {target_type}, not {kind}",
                            target.label()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// What `platform` does not support in this profile: whole payload types, and keys
    /// that the platform ignores. An empty list means the platform supports everything in
    /// it. The payloads of an encrypted profile cannot be seen: check the profile before
    /// [`encrypt`].
    pub fn unsupported_on(&self, platform: Platform) -> Vec<PlatformIssue> {
        let mut issues = Vec::new();
        for payload in &self.payloads {
            let label = payload.label();
            let Some(info) = payload.content.info() else {
                continue;
            };
            if info.support(platform).is_none() {
                issues.push(PlatformIssue {
                    payload: label,
                    key_path: None,
                    message: format!("{platform} does not support {} payloads", info.name),
                });
                continue;
            }
            let dict = payload.content.to_dictionary();
            unsupported_keys(&dict, info.keys, platform, "", &label, &mut issues);
        }
        issues
    }
}

/// Collects `(key path, key, uuid)` for every reference key found in a payload.
fn collect_references(value: &Value, path: String, found: &mut Vec<(String, String, String)>) {
    match value {
        Value::Dictionary(dict) => {
            for (key, value) in dict {
                let key_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if REFERENCE_KEYS.iter().any(|(name, _)| name == key) {
                    match value {
                        Value::String(uuid) => {
                            found.push((key_path.clone(), key.clone(), uuid.clone()))
                        }
                        Value::Array(items) => {
                            for (i, item) in items.iter().enumerate() {
                                if let Value::String(uuid) = item {
                                    found.push((
                                        format!("{key_path}.{i}"),
                                        key.clone(),
                                        uuid.clone(),
                                    ));
                                }
                            }
                        }
                        _ => {}
                    }
                } else {
                    collect_references(value, key_path, found);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_references(item, format!("{path}.{i}"), found);
            }
        }
        _ => {}
    }
}

fn unsupported_keys(
    dict: &Dictionary,
    keys: &'static [KeyInfo],
    platform: Platform,
    prefix: &str,
    label: &str,
    issues: &mut Vec<PlatformIssue>,
) {
    for (name, value) in dict {
        let Some(info) = keys.iter().find(|k| k.name == name) else {
            continue;
        };
        let key_path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if info.not_on.contains(&platform) {
            issues.push(PlatformIssue {
                payload: label.to_owned(),
                key_path: Some(key_path.clone()),
                message: format!("{platform} does not support {key_path}"),
            });
            continue;
        }
        if let Value::Dictionary(inner) = value {
            if !info.keys.is_empty() && info.discriminator.is_none() {
                unsupported_keys(inner, info.keys, platform, &key_path, label, issues);
            }
        }
    }
}
