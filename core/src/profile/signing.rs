//! Signing profiles as CMS SignedData, and verifying signed profiles.
//!
//! A signed `.mobileconfig` is a DER-encoded CMS (PKCS #7) SignedData whose content is the
//! profile's XML; macOS and iOS show the signer when installing it. Signing uses OpenSSL.

use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;

use super::Profile;
use crate::plist_io::{self, DecodeLimits};
use crate::Error;

fn certificate_error(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Certificate(format!("{what}: {error}"))
}

/// The first reason in an OpenSSL error stack, without its codes and source locations.
pub(crate) fn reason(errors: &openssl::error::ErrorStack) -> String {
    errors
        .errors()
        .iter()
        .filter_map(|e| e.reason())
        .next()
        .unwrap_or("unknown OpenSSL error")
        .to_owned()
}

/// Reads every certificate of a PEM bundle, or one DER certificate.
pub(crate) fn read_certificates(bytes: &[u8], what: &str) -> Result<Vec<X509>, Error> {
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let certs = X509::stack_from_pem(bytes).map_err(|e| certificate_error(what, reason(&e)))?;
        if certs.is_empty() {
            return Err(Error::Certificate(format!("{what}: no certificate found")));
        }
        Ok(certs)
    } else {
        X509::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| certificate_error(what, format!("neither PEM nor DER ({})", reason(&e))))
    }
}

/// Reads an unencrypted private key, PEM or DER.
pub(crate) fn read_private_key(key: &[u8], what: &str) -> Result<PKey<Private>, Error> {
    if key.trim_ascii_start().starts_with(b"-----BEGIN") {
        PKey::private_key_from_pem(key)
    } else {
        PKey::private_key_from_der(key)
    }
    .map_err(|e| {
        Error::Certificate(format!(
            "{what}: not a readable private key ({})",
            reason(&e)
        ))
    })
}

/// The certificate, private key and chain that sign profiles.
///
/// `Debug` never shows the key.
pub struct SigningIdentity {
    certificate: X509,
    key: PKey<Private>,
    chain: Vec<X509>,
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("subject", &self.subject())
            .field("key", &"<redacted>")
            .field("chain", &self.chain.len())
            .finish()
    }
}

impl SigningIdentity {
    /// Reads a signer certificate (PEM or DER), its private key (PEM or DER, unencrypted)
    /// and optionally a chain of intermediate certificates (PEM bundle or DER). The key must
    /// belong to the certificate.
    pub fn from_bytes(certificate: &[u8], key: &[u8], chain: Option<&[u8]>) -> Result<Self, Error> {
        let certificate = read_certificates(certificate, "signer certificate")?.remove(0);
        let key = read_private_key(key, "signer key")?;
        let public = certificate
            .public_key()
            .map_err(|e| certificate_error("signer certificate", e))?;
        if !public.public_eq(&key) {
            return Err(Error::Certificate(
                "signer key does not belong to the signer certificate".into(),
            ));
        }
        let chain = match chain {
            Some(bytes) => read_certificates(bytes, "chain")?,
            None => Vec::new(),
        };
        Ok(Self {
            certificate,
            key,
            chain,
        })
    }

    /// The signer certificate's subject, as one line.
    pub fn subject(&self) -> String {
        subject_line(&self.certificate)
    }
}

fn subject_line(cert: &X509) -> String {
    cert.subject_name()
        .entries()
        .map(|e| {
            format!(
                "{}={}",
                e.object().nid().short_name().unwrap_or("?"),
                String::from_utf8_lossy(e.data().as_slice())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `bytes` look like a signed profile (DER SignedData) rather than a plist.
pub fn is_signed(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x30)
}

/// Signs a profile: validates it, writes its XML and wraps it in CMS SignedData (DER) with
/// the signer certificate and chain included.
pub fn sign(profile: &Profile, identity: &SigningIdentity) -> Result<Vec<u8>, Error> {
    let xml = profile.to_xml()?;
    sign_bytes(&xml, identity)
}

/// Signs profile bytes that are already written (a `.mobileconfig` from elsewhere).
pub fn sign_bytes(content: &[u8], identity: &SigningIdentity) -> Result<Vec<u8>, Error> {
    let mut chain = Stack::new().map_err(|e| Error::Signature(e.to_string()))?;
    for cert in &identity.chain {
        chain
            .push(cert.clone())
            .map_err(|e| Error::Signature(e.to_string()))?;
    }
    let signed = Pkcs7::sign(
        &identity.certificate,
        &identity.key,
        &chain,
        content,
        Pkcs7Flags::BINARY,
    )
    .map_err(|e| Error::Signature(format!("cannot sign: {}", reason(&e))))?;
    signed
        .to_der()
        .map_err(|e| Error::Signature(format!("cannot encode: {e}")))
}

/// A signed profile whose signature verified.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedProfile {
    /// The profile.
    pub profile: Profile,
    /// The signed content: the profile's bytes as signed.
    pub content: Vec<u8>,
    /// The signer certificate, DER.
    pub signer_der: Vec<u8>,
    /// The signer certificate's subject, as one line.
    pub signer_subject: String,
}

/// Verifies a signed profile. The signature must match the content (a tampered or garbled
/// file is an error). With `trusted` roots (PEM bundle or DER), the signer's certificate
/// must also chain to one of them; without, the chain is not checked.
///
/// The profile inside may be encrypted ([`Profile::is_encrypted`]); it is returned as it is,
/// for [`decrypt`](super::decrypt).
pub fn verify(signed: &[u8], trusted: Option<&[u8]>) -> Result<VerifiedProfile, Error> {
    let pkcs7 = Pkcs7::from_der(signed)
        .map_err(|_| Error::Signature("not a signed profile (no CMS SignedData in DER)".into()))?;
    let mut store = X509StoreBuilder::new().map_err(|e| Error::Signature(e.to_string()))?;
    let mut flags = Pkcs7Flags::BINARY;
    match trusted {
        Some(bytes) => {
            for cert in read_certificates(bytes, "trusted certificates")? {
                store
                    .add_cert(cert)
                    .map_err(|e| Error::Signature(e.to_string()))?;
            }
            // Profile signers are rarely e-mail certificates: accept any purpose.
            store
                .set_purpose(openssl::x509::X509PurposeId::ANY)
                .map_err(|e| Error::Signature(e.to_string()))?;
        }
        None => flags |= Pkcs7Flags::NOVERIFY,
    }
    let store = store.build();
    let none = Stack::new().map_err(|e| Error::Signature(e.to_string()))?;
    let mut content = Vec::new();
    pkcs7
        .verify(&none, &store, None, Some(&mut content), flags)
        .map_err(|e| Error::Signature(format!("the signature does not verify: {}", reason(&e))))?;
    let signers = pkcs7
        .signers(&none, flags)
        .map_err(|e| Error::Signature(format!("no signer certificate: {}", reason(&e))))?;
    let signer = signers
        .iter()
        .next()
        .ok_or_else(|| Error::Signature("no signer certificate".into()))?
        .to_owned();
    let profile =
        Profile::from_dictionary(plist_io::parse_dictionary(&content, DecodeLimits::DEFAULT)?)?;
    Ok(VerifiedProfile {
        profile,
        content,
        signer_der: signer
            .to_der()
            .map_err(|e| Error::Signature(e.to_string()))?,
        signer_subject: subject_line(&signer),
    })
}
