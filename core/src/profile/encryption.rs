//! Encrypting a profile's payloads to a device certificate (`EncryptedPayloadContent`), and
//! decrypting them with the device's key.
//!
//! An encrypted profile keeps its top-level keys (PayloadIdentifier, PayloadUUID,
//! PayloadDisplayName, ...) in the clear, so the device and its user can see what is being
//! installed; instead of `PayloadContent` it carries `IsEncrypted` = true and
//! `EncryptedPayloadContent`: a CMS (PKCS #7) EnvelopedData, DER, whose content is the XML
//! plist of the PayloadContent array. Only the holder of the recipient certificate's private
//! key (the device, for its identity certificate) can read the payloads.
//!
//! The envelope is the classic PKCS #7 one OpenSSL's `PKCS7_encrypt` writes: one
//! KeyTransRecipientInfo per recipient, named by issuer and serial number, the content key
//! wrapped with RSA PKCS #1 v1.5, and the content encrypted with AES-256-CBC — the
//! envelope other MDM servers send; it is checked here with `openssl cms -decrypt` /
//! `openssl smime -decrypt -inform DER`, not on a device. The recipient certificate must hold
//! an RSA key: key transport needs one (device identities from SCEP or PKCS #12 payloads
//! are RSA).
//!
//! Signing an encrypted profile works as for any other profile ([`sign`](super::sign)): the
//! signature is outside, the encryption inside.

use openssl::nid::Nid;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkey::Id;
use openssl::stack::Stack;
use openssl::symm::Cipher;
use openssl::x509::X509;
use plist::Value;

use super::signing::{read_certificates, read_private_key, reason};
use super::{Payload, Profile};
use crate::codec::{KeyPath, PlistCodec};
use crate::plist_io::{self, DecodeLimits, PlistFormat};
use crate::{Data, Error};

/// The top-level key that holds the encrypted payloads.
pub const ENCRYPTED_PAYLOAD_CONTENT: &str = "EncryptedPayloadContent";

/// The top-level key that marks a profile as encrypted.
pub const IS_ENCRYPTED: &str = "IsEncrypted";

/// The OpenSSL reason when no RecipientInfo of the envelope names the certificate.
const NO_RECIPIENT_REASON: &str = "no recipient matches certificate";

fn encryption_error(message: impl Into<String>) -> Error {
    Error::ProfileEncryption(message.into())
}

/// Reads one certificate and checks that its key can receive an encrypted profile (RSA).
fn recipient_certificate(bytes: &[u8], what: &str) -> Result<X509, Error> {
    let certificate = read_certificates(bytes, what)?.remove(0);
    let key = certificate.public_key().map_err(|e| {
        Error::Certificate(format!("{what}: unreadable public key ({})", reason(&e)))
    })?;
    if key.id() != Id::RSA {
        return Err(Error::KeyNotSupported(format!(
            "{what} has a {} key; EncryptedPayloadContent needs an RSA key (key transport)",
            key_kind(key.id())
        )));
    }
    Ok(certificate)
}

fn key_kind(id: Id) -> &'static str {
    match id {
        Id::EC => "EC",
        Id::ED25519 => "Ed25519",
        Id::ED448 => "Ed448",
        Id::DSA => "DSA",
        Id::DH => "DH",
        _ => "non-RSA",
    }
}

/// Encrypts the payloads of `profile` to the certificate `recipient` (PEM or DER, an RSA
/// key; for a device, its identity certificate). The profile is validated first. The
/// result keeps the profile's own keys, has no payloads and carries
/// [`Profile::encrypted_payload_content`]; write it with [`Profile::to_xml`] or sign it with
/// [`sign`](super::sign).
///
/// Errors: the profile's validation error; [`Error::Profile`] when it is already
/// encrypted; [`Error::Certificate`] when `recipient` is not a certificate;
/// [`Error::KeyNotSupported`] when its key is not RSA.
pub fn encrypt(profile: &Profile, recipient: &[u8]) -> Result<Profile, Error> {
    if profile.is_encrypted() {
        return Err(Error::Profile {
            path: format!("Profile.{ENCRYPTED_PAYLOAD_CONTENT}"),
            message: "the profile is already encrypted".into(),
        });
    }
    profile.validate()?;
    let certificate = recipient_certificate(recipient, "recipient certificate")?;
    let content = plist_io::write(&profile.payloads.to_plist(), PlistFormat::Xml)?;
    let mut recipients = Stack::new().map_err(|e| encryption_error(e.to_string()))?;
    recipients
        .push(certificate)
        .map_err(|e| encryption_error(e.to_string()))?;
    let envelope = Pkcs7::encrypt(
        &recipients,
        &content,
        Cipher::aes_256_cbc(),
        Pkcs7Flags::BINARY,
    )
    .and_then(|envelope| envelope.to_der())
    .map_err(|e| encryption_error(format!("cannot encrypt: {}", reason(&e))))?;
    let mut encrypted = profile.clone();
    encrypted.payloads.clear();
    encrypted.extra.remove(IS_ENCRYPTED);
    encrypted.encrypted_payload_content = Some(Data::new(envelope));
    Ok(encrypted)
}

/// Decrypts the payloads of an encrypted profile with the recipient's certificate and
/// private key (each PEM or DER; the key unencrypted). The result is the profile with its
/// payloads and without [`Profile::encrypted_payload_content`]. A profile that is not
/// encrypted is returned as it is.
///
/// Errors: [`Error::Certificate`] when the certificate or key is unreadable or the key does
/// not belong to the certificate; [`Error::NotRecipient`] when the payloads are encrypted to
/// another certificate; [`Error::ProfileEncryption`] when the envelope is garbled or its
/// content is not a PayloadContent array; the payloads' decoding errors. (A key pair whose
/// certificate has the issuer and serial number of the real recipient but another key is a
/// [`Error::ProfileEncryption`]: OpenSSL, on purpose, does not tell that from a garbled
/// envelope.)
pub fn decrypt(profile: &Profile, certificate: &[u8], key: &[u8]) -> Result<Profile, Error> {
    let Some(envelope) = &profile.encrypted_payload_content else {
        return Ok(profile.clone());
    };
    let certificate = read_certificates(certificate, "recipient certificate")?.remove(0);
    let key = read_private_key(key, "recipient key")?;
    let public = certificate
        .public_key()
        .map_err(|e| Error::Certificate(format!("recipient certificate: {}", reason(&e))))?;
    if !public.public_eq(&key) {
        return Err(Error::Certificate(
            "recipient key does not belong to the recipient certificate".into(),
        ));
    }
    let pkcs7 = Pkcs7::from_der(envelope.as_bytes()).map_err(|_| {
        encryption_error(format!(
            "{ENCRYPTED_PAYLOAD_CONTENT} is not a CMS EnvelopedData (DER)"
        ))
    })?;
    if pkcs7.type_().map(|t| t.nid()) != Some(Nid::PKCS7_ENVELOPED) {
        return Err(encryption_error(format!(
            "{ENCRYPTED_PAYLOAD_CONTENT} is a CMS structure but not EnvelopedData"
        )));
    }
    let content = pkcs7
        .decrypt(&key, &certificate, Pkcs7Flags::BINARY)
        .map_err(|e| {
            let why = reason(&e);
            if why == NO_RECIPIENT_REASON {
                Error::NotRecipient(
                    "the payloads are encrypted to another certificate than the one given".into(),
                )
            } else {
                encryption_error(format!("cannot decrypt {ENCRYPTED_PAYLOAD_CONTENT}: {why}"))
            }
        })?;
    let path = KeyPath::named("Profile");
    let path = path.key(ENCRYPTED_PAYLOAD_CONTENT);
    let value = plist_io::parse(&content, DecodeLimits::DEFAULT).map_err(|e| {
        encryption_error(format!(
            "the decrypted {ENCRYPTED_PAYLOAD_CONTENT} is not a property list ({e})"
        ))
    })?;
    if !matches!(value, Value::Array(_)) {
        return Err(encryption_error(format!(
            "the decrypted {ENCRYPTED_PAYLOAD_CONTENT} is not a PayloadContent array"
        )));
    }
    let payloads = Vec::<Payload>::from_plist(value, &path)?;
    let mut decrypted = profile.clone();
    decrypted.encrypted_payload_content = None;
    decrypted.payloads = payloads;
    Ok(decrypted)
}

/// Reads a profile that may be encrypted (an XML or binary plist, or a signed profile whose
/// signature is then checked, not its chain) and decrypts it like [`decrypt`].
pub fn decrypt_bytes(bytes: &[u8], certificate: &[u8], key: &[u8]) -> Result<Profile, Error> {
    decrypt(&Profile::read_maybe_encrypted(bytes)?, certificate, key)
}
