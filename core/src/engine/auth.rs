//! Device authentication: which identity certificate sent a message.
//!
//! A device proves who it is with its identity certificate (the one its enrollment
//! profile installed), either by signing every body (`Mdm-Signature`: base64 CMS
//! SignedData, detached, over the body; Apple's `SignMessage` setting) or as the TLS
//! client certificate of the connection. Either way the certificate must chain to one of
//! the CA certificates the application configured. Which enrollment a certificate may
//! speak for is decided by the engine (see [`Engine`](super::Engine)).

use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509PurposeId, X509StoreContext, X509};

use base64::Engine as _;

use crate::profile::read_certificates;
use crate::Error;

/// The header that carries a device's CMS signature over the body.
pub const SIGNATURE_HEADER: &str = "Mdm-Signature";

/// A device identity certificate that was verified against the configured CAs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceIdentity {
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// Lowercase hex SHA-256 of the DER: what an enrollment is bound to.
    pub sha256: String,
}

impl DeviceIdentity {
    /// The identity of a certificate (DER), without verifying it.
    pub fn from_der(certificate_der: Vec<u8>) -> Self {
        let sha256 = hex::encode(openssl::sha::sha256(&certificate_der));
        Self {
            certificate_der,
            sha256,
        }
    }
}

/// Verifies device identity certificates against the CA certificates the application
/// trusts for device identities.
pub struct DeviceAuthenticator {
    store: X509Store,
    cas: usize,
}

impl std::fmt::Debug for DeviceAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthenticator")
            .field("cas", &self.cas)
            .finish()
    }
}

fn auth_error(what: &str, error: impl std::fmt::Display) -> Error {
    Error::DeviceAuth(format!("{what}: {error}"))
}

impl DeviceAuthenticator {
    /// An authenticator trusting the CA certificates in `pem_or_der` (each a PEM bundle or
    /// one DER certificate). At least one certificate is required.
    pub fn new(cas: &[Vec<u8>]) -> Result<Self, Error> {
        let mut builder = X509StoreBuilder::new().map_err(|e| Error::Certificate(e.to_string()))?;
        let mut count = 0;
        for bytes in cas {
            for cert in read_certificates(bytes, "device CA")? {
                builder
                    .add_cert(cert)
                    .map_err(|e| Error::Certificate(format!("device CA: {e}")))?;
                count += 1;
            }
        }
        if count == 0 {
            return Err(Error::Certificate(
                "no device CA certificate configured".into(),
            ));
        }
        // Device identity certificates are not e-mail certificates: accept any purpose.
        builder
            .set_purpose(X509PurposeId::ANY)
            .map_err(|e| Error::Certificate(e.to_string()))?;
        Ok(Self {
            store: builder.build(),
            cas: count,
        })
    }

    /// Verifies an `Mdm-Signature` header value over `body` and returns the signer.
    pub fn verify_signature(&self, header: &str, body: &[u8]) -> Result<DeviceIdentity, Error> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(header.trim())
            .map_err(|e| auth_error("Mdm-Signature is not base64", e))?;
        let pkcs7 = Pkcs7::from_der(&der)
            .map_err(|_| Error::DeviceAuth("Mdm-Signature is not CMS SignedData".into()))?;
        let none = Stack::new().map_err(|e| auth_error("openssl", e))?;
        let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY;
        pkcs7
            .verify(&none, &self.store, Some(body), None, flags)
            .map_err(|e| auth_error("Mdm-Signature does not verify", first_reason(&e)))?;
        let signers = pkcs7
            .signers(&none, flags)
            .map_err(|e| auth_error("Mdm-Signature has no signer", first_reason(&e)))?;
        let signer = signers
            .iter()
            .next()
            .ok_or_else(|| Error::DeviceAuth("Mdm-Signature has no signer".into()))?;
        let der = signer.to_der().map_err(|e| auth_error("signer", e))?;
        Ok(DeviceIdentity::from_der(der))
    }

    /// Verifies a TLS client certificate (DER) the HTTP layer received.
    pub fn verify_certificate(&self, der: &[u8]) -> Result<DeviceIdentity, Error> {
        let cert = X509::from_der(der)
            .map_err(|e| auth_error("client certificate is not DER", first_reason(&e)))?;
        let chain = Stack::new().map_err(|e| auth_error("openssl", e))?;
        let mut context = X509StoreContext::new().map_err(|e| auth_error("openssl", e))?;
        let verified = context
            .init(&self.store, &cert, &chain, |c| {
                let ok = c.verify_cert()?;
                Ok((ok, c.error()))
            })
            .map_err(|e| auth_error("client certificate", first_reason(&e)))?;
        match verified {
            (true, _) => Ok(DeviceIdentity::from_der(der.to_vec())),
            (false, error) => Err(auth_error(
                "client certificate does not chain to a device CA",
                error.error_string(),
            )),
        }
    }
}

fn first_reason(stack: &openssl::error::ErrorStack) -> String {
    stack
        .errors()
        .first()
        .and_then(|e| e.reason().map(str::to_owned))
        .unwrap_or_else(|| stack.to_string())
}
