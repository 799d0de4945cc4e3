//! Support for mdmkit's cross-crate end-to-end tests (`tests/it`), benchmarks and the demo.
//!
//! [`SimulatedDevice`] plays the device side of the protocol: it writes the check-in
//! messages and command results a real device sends, and signs them with its identity
//! certificate (`Mdm-Signature`) as a device with `SignMessage` does, so the tests can
//! drive the server side exactly as a device would. [`DeviceCa`] issues those identity
//! certificates.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use base64::Engine as _;
use mdmkit_core::checkin::{
    Authenticate, CheckOut, CheckinMessage, DeclarativeManagement, TokenUpdate,
};
use mdmkit_core::engine::{MdmRequest, SIGNATURE_HEADER};
use mdmkit_core::{CommandEnvelope, CommandStatus, Data, Error, PlistFormat};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::BasicConstraints;
use openssl::x509::{X509Name, X509NameRef, X509};
use plist::{Dictionary, Value};

fn openssl_error(error: openssl::error::ErrorStack) -> Error {
    Error::Certificate(error.to_string())
}

fn ec_key() -> Result<PKey<Private>, Error> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(openssl_error)?;
    PKey::from_ec_key(EcKey::generate(&group).map_err(openssl_error)?).map_err(openssl_error)
}

fn name(common_name: &str) -> Result<X509Name, Error> {
    let mut name = X509Name::builder().map_err(openssl_error)?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)
        .map_err(openssl_error)?;
    Ok(name.build())
}

fn certificate(
    subject: &X509NameRef,
    issuer: &X509NameRef,
    public: &PKey<Private>,
    signer: &PKey<Private>,
    ca: bool,
) -> Result<X509, Error> {
    let mut builder = X509::builder().map_err(openssl_error)?;
    builder.set_version(2).map_err(openssl_error)?;
    let mut serial = BigNum::new().map_err(openssl_error)?;
    serial
        .rand(127, MsbOption::MAYBE_ZERO, false)
        .map_err(openssl_error)?;
    let serial = Asn1Integer::from_bn(&serial).map_err(openssl_error)?;
    builder.set_serial_number(&serial).map_err(openssl_error)?;
    builder.set_subject_name(subject).map_err(openssl_error)?;
    builder.set_issuer_name(issuer).map_err(openssl_error)?;
    builder.set_pubkey(public).map_err(openssl_error)?;
    let not_before = Asn1Time::days_from_now(0).map_err(openssl_error)?;
    let not_after = Asn1Time::days_from_now(365).map_err(openssl_error)?;
    builder.set_not_before(&not_before).map_err(openssl_error)?;
    builder.set_not_after(&not_after).map_err(openssl_error)?;
    if ca {
        let constraints = BasicConstraints::new()
            .critical()
            .ca()
            .build()
            .map_err(openssl_error)?;
        builder
            .append_extension(constraints)
            .map_err(openssl_error)?;
    }
    builder
        .sign(signer, MessageDigest::sha256())
        .map_err(openssl_error)?;
    Ok(builder.build())
}

/// A throw-away CA that issues device identity certificates (EC P-256, fast to make).
pub struct DeviceCa {
    certificate: X509,
    key: PKey<Private>,
}

impl std::fmt::Debug for DeviceCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCa").finish_non_exhaustive()
    }
}

impl DeviceCa {
    /// A new self-signed CA.
    pub fn new(common_name: &str) -> Result<Self, Error> {
        let key = ec_key()?;
        let name = name(common_name)?;
        let certificate = certificate(&name, &name, &key, &key, true)?;
        Ok(Self { certificate, key })
    }

    /// The CA certificate, PEM (what the engine is configured with).
    pub fn certificate_pem(&self) -> Result<Vec<u8>, Error> {
        self.certificate.to_pem().map_err(openssl_error)
    }

    /// A new device identity certificate and key (EC P-256) issued by this CA.
    pub fn issue(&self, common_name: &str) -> Result<Arc<DeviceIdentityKey>, Error> {
        self.issue_with_key(common_name, ec_key()?)
    }

    /// A new device identity certificate and key issued by this CA, with an RSA 2048 key
    /// (as SCEP and PKCS #12 identities of real devices are; profiles can be encrypted to
    /// it).
    pub fn issue_rsa(&self, common_name: &str) -> Result<Arc<DeviceIdentityKey>, Error> {
        let rsa = openssl::rsa::Rsa::generate(2048).map_err(openssl_error)?;
        self.issue_with_key(common_name, PKey::from_rsa(rsa).map_err(openssl_error)?)
    }

    fn issue_with_key(
        &self,
        common_name: &str,
        key: PKey<Private>,
    ) -> Result<Arc<DeviceIdentityKey>, Error> {
        let subject = name(common_name)?;
        let certificate = certificate(
            &subject,
            self.certificate.subject_name(),
            &key,
            &self.key,
            false,
        )?;
        Ok(Arc::new(DeviceIdentityKey { certificate, key }))
    }
}

/// A device identity: certificate and private key. `Debug` never shows the key.
pub struct DeviceIdentityKey {
    certificate: X509,
    key: PKey<Private>,
}

impl std::fmt::Debug for DeviceIdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIdentityKey")
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl DeviceIdentityKey {
    /// The certificate and private key as one PEM (what a TLS client presents).
    pub fn to_pem(&self) -> Result<Vec<u8>, Error> {
        let mut pem = self.certificate.to_pem().map_err(openssl_error)?;
        pem.extend(self.key.private_key_to_pem_pkcs8().map_err(openssl_error)?);
        Ok(pem)
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> Result<Vec<u8>, Error> {
        self.certificate.to_der().map_err(openssl_error)
    }

    /// The identity a device installs from a signed enrollment profile: the signature is
    /// verified, then the `com.apple.security.pkcs12` payload is opened with its password.
    pub fn from_enrollment_profile(signed: &[u8]) -> Result<Arc<Self>, Error> {
        use mdmkit_core::profile::PayloadContent;
        let verified = mdmkit_core::profile::verify(signed, None)?;
        let pkcs12 = verified
            .profile
            .payloads
            .iter()
            .find_map(|payload| match &payload.content {
                PayloadContent::SecurityPkcs12(pkcs12) => Some(pkcs12),
                _ => None,
            })
            .ok_or_else(|| Error::MissingKey {
                path: "com.apple.security.pkcs12 payload".into(),
            })?;
        let parsed = openssl::pkcs12::Pkcs12::from_der(pkcs12.payload_content.as_bytes())
            .and_then(|p| p.parse2(pkcs12.password.as_deref().unwrap_or_default()))
            .map_err(openssl_error)?;
        match (parsed.cert, parsed.pkey) {
            (Some(certificate), Some(key)) => Ok(Arc::new(Self { certificate, key })),
            _ => Err(Error::MissingKey {
                path: "PKCS#12 certificate and key".into(),
            }),
        }
    }

    /// Reads a profile the server sent (plist or signed) and decrypts its
    /// `EncryptedPayloadContent` with this identity, as the device does.
    pub fn decrypt_profile(&self, bytes: &[u8]) -> Result<mdmkit_core::profile::Profile, Error> {
        let key = self.key.private_key_to_der().map_err(openssl_error)?;
        mdmkit_core::profile::decrypt_bytes(bytes, &self.certificate_der()?, &key)
    }

    /// The `Mdm-Signature` header value for `body`: base64 of a detached CMS signature.
    pub fn sign(&self, body: &[u8]) -> Result<String, Error> {
        let none = Stack::new().map_err(openssl_error)?;
        let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY;
        let signed =
            Pkcs7::sign(&self.certificate, &self.key, &none, body, flags).map_err(openssl_error)?;
        let der = signed.to_der().map_err(openssl_error)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(der))
    }
}

/// The device side of the MDM protocol, for tests.
#[derive(Debug, Clone)]
pub struct SimulatedDevice {
    /// The device's UDID (for a User Enrollment: its EnrollmentID).
    pub udid: String,
    /// The push topic it enrolled with.
    pub topic: String,
    /// The format it writes its bodies in.
    pub format: PlistFormat,
    /// Whether it is a User Enrollment (identified by `EnrollmentID`, not `UDID`).
    pub user_enrollment: bool,
    /// The product name it reports ("iPhone15,2").
    pub product_name: String,
    /// The OS version it reports.
    pub os_version: String,
    /// The identity certificate it signs with, if any.
    pub identity: Option<Arc<DeviceIdentityKey>>,
}

impl SimulatedDevice {
    /// An iPhone with this UDID enrolling under `topic`, with no identity certificate.
    pub fn new(udid: &str, topic: &str) -> Self {
        Self {
            udid: udid.to_owned(),
            topic: topic.to_owned(),
            format: PlistFormat::Xml,
            user_enrollment: false,
            product_name: "iPhone15,2".into(),
            os_version: "17.4".into(),
            identity: None,
        }
    }

    /// The same device signing with `identity`.
    pub fn with_identity(mut self, identity: Arc<DeviceIdentityKey>) -> Self {
        self.identity = Some(identity);
        self
    }

    fn identify(&self, dict: &mut Dictionary) {
        let key = if self.user_enrollment {
            "EnrollmentID"
        } else {
            "UDID"
        };
        dict.insert(key.into(), Value::String(self.udid.clone()));
    }

    /// The Authenticate check-in body.
    pub fn authenticate(&self) -> Result<Vec<u8>, Error> {
        let mut message = Authenticate::new(self.topic.clone());
        if self.user_enrollment {
            message.enrollment_id = Some(self.udid.clone());
        } else {
            message.udid = Some(self.udid.clone());
            message.serial_number = Some("SIMULATED01".into());
        }
        message.product_name = Some(self.product_name.clone());
        message.os_version = Some(self.os_version.clone());
        CheckinMessage::Authenticate(message).encode(self.format)
    }

    /// The TokenUpdate check-in body (with an UnlockToken, as a device channel sends).
    pub fn token_update(&self, token: &[u8], push_magic: &str) -> Result<Vec<u8>, Error> {
        self.token_update_with(token, push_magic, Some(b"simulated unlock token"))
    }

    /// The TokenUpdate check-in body with or without an UnlockToken.
    pub fn token_update_with(
        &self,
        token: &[u8],
        push_magic: &str,
        unlock_token: Option<&[u8]>,
    ) -> Result<Vec<u8>, Error> {
        let mut message =
            TokenUpdate::new(self.topic.clone(), Data::new(token.to_vec()), push_magic);
        if self.user_enrollment {
            message.enrollment_id = Some(self.udid.clone());
        } else {
            message.udid = Some(self.udid.clone());
        }
        message.unlock_token = unlock_token.map(|t| Data::new(t.to_vec()));
        CheckinMessage::TokenUpdate(message).encode(self.format)
    }

    /// The CheckOut check-in body.
    pub fn check_out(&self) -> Result<Vec<u8>, Error> {
        let mut message = CheckOut::new(self.topic.clone());
        if self.user_enrollment {
            message.enrollment_id = Some(self.udid.clone());
        } else {
            message.udid = Some(self.udid.clone());
        }
        CheckinMessage::CheckOut(message).encode(self.format)
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
        self.identify(&mut dict);
        dict.insert("CommandUUID".into(), Value::String(envelope.command_uuid));
        dict.insert("Status".into(), Value::String(status.as_str().into()));
        mdmkit_core::plist_io::write(&Value::Dictionary(dict), self.format)
    }

    /// The `DeclarativeManagement` check-in body for `endpoint` (`tokens`,
    /// `declaration-items`, `declaration/configuration/ID`, `status`), with `data` (the
    /// status report) when given.
    pub fn declarative_management(
        &self,
        endpoint: &str,
        data: Option<&[u8]>,
    ) -> Result<Vec<u8>, Error> {
        let mut message = DeclarativeManagement::new(endpoint);
        if self.user_enrollment {
            message.enrollment_id = Some(self.udid.clone());
        } else {
            message.udid = Some(self.udid.clone());
        }
        message.data = data.map(|d| Data::new(d.to_vec()));
        CheckinMessage::DeclarativeManagement(message).encode(self.format)
    }

    /// The Idle body a device sends when it asks for its next command.
    pub fn idle(&self) -> Result<Vec<u8>, Error> {
        let mut dict = Dictionary::new();
        self.identify(&mut dict);
        dict.insert("Status".into(), Value::String("Idle".into()));
        mdmkit_core::plist_io::write(&Value::Dictionary(dict), self.format)
    }

    /// A `PUT` of `body` as the device sends it: signed with its identity certificate
    /// (`Mdm-Signature`) when it has one, unsigned otherwise.
    pub fn request(&self, body: Vec<u8>) -> Result<MdmRequest, Error> {
        let signature = match &self.identity {
            Some(identity) => Some(identity.sign(&body)?),
            None => None,
        };
        let request = MdmRequest::put(body);
        Ok(match signature {
            Some(signature) => request.with_header(SIGNATURE_HEADER, signature),
            None => request,
        })
    }
}
