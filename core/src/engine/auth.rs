//! Device authentication: which identity certificate sent a message.
//!
//! A device proves who it is with its identity certificate (the one its enrollment
//! profile installed), either by signing every body (`Mdm-Signature`: base64 CMS
//! SignedData, detached, over the body; Apple's `SignMessage` setting) or as the TLS
//! client certificate of the connection. Either way the certificate must chain to one of
//! the CA certificates the application configured. Which enrollment a certificate may
//! speak for is decided by the engine (see [`Engine`](super::Engine)).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::{Stack, StackRef};
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509PurposeId, X509Ref, X509StoreContext, X509};

use base64::Engine as _;

use crate::profile::read_certificates;
use crate::Error;

/// The header that carries a device's CMS signature over the body.
pub const SIGNATURE_HEADER: &str = "Mdm-Signature";

/// How long a certificate whose chain was verified is trusted without building its chain
/// again (never past the expiry of a certificate of that chain).
pub const CHAIN_CACHE_TTL: Duration = Duration::from_secs(600);

/// The most certificates whose verified chain is remembered.
pub const CHAIN_CACHE_ENTRIES: usize = 100_000;

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

/// A certificate whose chain to a configured CA was verified.
#[derive(Debug, Clone, Copy)]
struct VerifiedChain {
    /// When it was verified.
    at: Instant,
    /// The earliest expiry of the chain's certificates, seconds since 1970.
    expires: i64,
}

/// Verifies device identity certificates against the CA certificates the application
/// trusts for device identities.
///
/// A device sends the same identity certificate with every message: the chain of a
/// certificate that verified is remembered by the certificate's SHA-256 (at most
/// [`CHAIN_CACHE_ENTRIES`], each for [`CHAIN_CACHE_TTL`] and never past the expiry of a
/// certificate of its chain), so later messages pay for their signature only. Every
/// signature is verified, every time.
pub struct DeviceAuthenticator {
    store: X509Store,
    cas: usize,
    verified: Mutex<HashMap<[u8; 32], VerifiedChain>>,
}

impl std::fmt::Debug for DeviceAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthenticator")
            .field("cas", &self.cas)
            .finish_non_exhaustive()
    }
}

fn auth_error(what: &str, error: impl std::fmt::Display) -> Error {
    Error::DeviceAuth(format!("{what}: {error}"))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Seconds since 1970 of an ASN.1 time.
fn unix_time(time: &Asn1TimeRef) -> Result<i64, openssl::error::ErrorStack> {
    let epoch = Asn1Time::from_unix(0)?;
    let diff = epoch.diff(time)?;
    Ok(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
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
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Verifies an `Mdm-Signature` header value over `body` and returns the signer.
    ///
    /// The signature is verified every time; the chain of a signer certificate only when
    /// it is not remembered as verified (see [`DeviceAuthenticator`]).
    pub fn verify_signature(&self, header: &str, body: &[u8]) -> Result<DeviceIdentity, Error> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(header.trim())
            .map_err(|e| auth_error("Mdm-Signature is not base64", e))?;
        let pkcs7 = Pkcs7::from_der(&der)
            .map_err(|_| Error::DeviceAuth("Mdm-Signature is not CMS SignedData".into()))?;
        let none = Stack::new().map_err(|e| auth_error("openssl", e))?;
        let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY;
        // The signers' certificates, from the certificates the signature carries; each must
        // chain to a configured CA (the others it carries may be intermediates).
        let signers = pkcs7
            .signers(&none, flags)
            .map_err(|e| auth_error("Mdm-Signature has no signer", first_reason(&e)))?;
        let carried = pkcs7.signed().and_then(|signed| signed.certificates());
        let mut identity = None;
        for signer in &signers {
            let der = signer.to_der().map_err(|e| auth_error("signer", e))?;
            let digest = openssl::sha::sha256(&der);
            self.verify_chain(signer, carried.unwrap_or(&none), &digest)
                .map_err(|reason| auth_error("Mdm-Signature does not verify", reason))?;
            if identity.is_none() {
                identity = Some(DeviceIdentity {
                    certificate_der: der,
                    sha256: hex::encode(digest),
                });
            }
        }
        let identity =
            identity.ok_or_else(|| Error::DeviceAuth("Mdm-Signature has no signer".into()))?;
        // Every signer's chain is verified above: here the signatures over the body.
        pkcs7
            .verify(
                &none,
                &self.store,
                Some(body),
                None,
                flags | Pkcs7Flags::NOVERIFY,
            )
            .map_err(|e| auth_error("Mdm-Signature does not verify", first_reason(&e)))?;
        Ok(identity)
    }

    /// Verifies a TLS client certificate (DER) the HTTP layer received.
    pub fn verify_certificate(&self, der: &[u8]) -> Result<DeviceIdentity, Error> {
        let cert = X509::from_der(der)
            .map_err(|e| auth_error("client certificate is not DER", first_reason(&e)))?;
        let chain = Stack::new().map_err(|e| auth_error("openssl", e))?;
        let digest = openssl::sha::sha256(der);
        self.verify_chain(&cert, &chain, &digest)
            .map_err(|reason| {
                auth_error("client certificate does not chain to a device CA", reason)
            })?;
        Ok(DeviceIdentity {
            certificate_der: der.to_vec(),
            sha256: hex::encode(digest),
        })
    }

    /// Checks that `cert` (whose DER has the SHA-256 `digest`) chains to a configured CA,
    /// with `untrusted` as possible intermediates: from what was remembered, else by
    /// building and verifying its chain (then remembered). The error is the reason.
    fn verify_chain(
        &self,
        cert: &X509Ref,
        untrusted: &StackRef<X509>,
        digest: &[u8; 32],
    ) -> Result<(), String> {
        let now = unix_now();
        {
            let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = verified.get(digest) {
                if entry.at.elapsed() < CHAIN_CACHE_TTL && now < entry.expires {
                    return Ok(());
                }
            }
        }
        let mut context = X509StoreContext::new().map_err(|e| first_reason(&e))?;
        let verified = context
            .init(&self.store, cert, untrusted, |c| {
                if !c.verify_cert()? {
                    return Ok(Err(c.error().error_string().to_owned()));
                }
                // The earliest expiry of the chain: the verification holds until then.
                let mut expires = i64::MAX;
                if let Some(chain) = c.chain() {
                    for link in chain {
                        expires = expires.min(unix_time(link.not_after())?);
                    }
                }
                Ok(Ok(expires))
            })
            .map_err(|e| first_reason(&e))?;
        let expires = verified?;
        let mut remembered = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if remembered.len() >= CHAIN_CACHE_ENTRIES {
            // Forget what expired; if that is not enough, everything (the next message of
            // each device verifies its chain again).
            remembered
                .retain(|_, entry| entry.at.elapsed() < CHAIN_CACHE_TTL && now < entry.expires);
            if remembered.len() >= CHAIN_CACHE_ENTRIES {
                remembered.clear();
            }
        }
        remembered.insert(
            *digest,
            VerifiedChain {
                at: Instant::now(),
                expires,
            },
        );
        Ok(())
    }
}

fn first_reason(stack: &openssl::error::ErrorStack) -> String {
    stack
        .errors()
        .first()
        .and_then(|e| e.reason().map(str::to_owned))
        .unwrap_or_else(|| stack.to_string())
}
