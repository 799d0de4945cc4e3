//! The built-in device CA: issues each enrolling device its identity certificate,
//! packaged as PKCS#12 for the enrollment profile's identity payload.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use openssl::x509::{X509Builder, X509Name, X509NameBuilder, X509};

use mdmkit_core::engine::DeviceIdentity;
use mdmkit_core::Secret;

use crate::{Error, Result};

/// How long issued device identity certificates are valid.
const IDENTITY_VALIDITY_DAYS: u32 = 365;

/// A certificate authority for device identity certificates. `Debug` never shows the key.
pub struct DeviceCa {
    certificate: X509,
    key: PKey<Private>,
}

impl std::fmt::Debug for DeviceCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCa")
            .field("subject", &subject_text(&self.certificate))
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A device identity the CA issued: the certificate, and the PKCS#12 package (certificate
/// and private key) with its password, both redacted in `Debug`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedIdentity {
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// Lowercase hex SHA-256 of the certificate DER (what the engine binds at Authenticate).
    pub sha256: String,
    /// The PKCS#12 package (certificate, key and CA certificate).
    pub pkcs12: Secret,
    /// The PKCS#12 password.
    pub password: Secret,
}

impl DeviceCa {
    /// Creates a new self-signed CA (RSA 2048, valid `validity_days` days).
    pub fn generate(common_name: &str, validity_days: u32) -> Result<Self> {
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let name = x509_name(common_name)?;
        let mut builder = base_builder(&name, &name, &key, validity_days)?;
        builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        builder.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        builder.sign(&key, MessageDigest::sha256())?;
        Ok(Self {
            certificate: builder.build(),
            key,
        })
    }

    /// Loads a CA from its certificate and (unencrypted) private key, PEM. The key must
    /// belong to the certificate.
    pub fn from_pem(certificate_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let certificate = X509::from_pem(certificate_pem)
            .map_err(|e| Error::Certificate(format!("CA certificate is not PEM: {e}")))?;
        let key = PKey::private_key_from_pem(key_pem)
            .map_err(|e| Error::Certificate(format!("CA key is not PEM: {e}")))?;
        let public = certificate.public_key()?;
        if !public.public_eq(&key) {
            return Err(Error::Certificate(
                "the CA key does not belong to the CA certificate".into(),
            ));
        }
        Ok(Self { certificate, key })
    }

    /// The CA certificate, PEM (what the engine's `device_ca` is configured with).
    pub fn certificate_pem(&self) -> Result<Vec<u8>> {
        Ok(self.certificate.to_pem()?)
    }

    /// The CA certificate, DER (the enrollment profile's root payload).
    pub fn certificate_der(&self) -> Result<Vec<u8>> {
        Ok(self.certificate.to_der()?)
    }

    /// The CA private key, PEM (unencrypted: store it as a secret).
    pub fn private_key_pem(&self) -> Result<Secret> {
        Ok(Secret::new(self.key.private_key_to_pem_pkcs8()?))
    }

    /// Issues a device identity certificate (RSA 2048, client authentication) with this
    /// common name, packaged as PKCS#12 under a fresh random password.
    ///
    /// The package uses PBE-SHA1-3DES and a SHA-1 MAC: Apple devices do not read the
    /// AES-based PKCS#12 that OpenSSL 3 writes by default.
    pub fn issue(&self, common_name: &str) -> Result<IssuedIdentity> {
        if common_name.is_empty() {
            return Err(Error::InvalidInput("empty identity common name".into()));
        }
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let subject = x509_name(common_name)?;
        let mut builder = base_builder(
            &subject,
            self.certificate.subject_name(),
            &key,
            IDENTITY_VALIDITY_DAYS,
        )?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()?,
        )?;
        builder.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
        builder.sign(&self.key, MessageDigest::sha256())?;
        let certificate = builder.build();

        let password = random_token(18)?;
        let mut chain = openssl::stack::Stack::new()?;
        chain.push(self.certificate.clone())?;
        let pkcs12 = Pkcs12::builder()
            .name(common_name)
            .pkey(&key)
            .cert(&certificate)
            .ca(chain)
            .key_algorithm(Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC)
            .cert_algorithm(Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC)
            .mac_md(MessageDigest::sha1())
            .build2(&password)?
            .to_der()?;
        // The fingerprint exactly as the engine binds it at Authenticate.
        let DeviceIdentity {
            certificate_der,
            sha256,
            ..
        } = DeviceIdentity::from_der(certificate.to_der()?);
        Ok(IssuedIdentity {
            sha256,
            certificate_der,
            pkcs12: Secret::new(pkcs12),
            password: Secret::new(password.into_bytes()),
        })
    }
}

/// A certificate given as PEM or DER, as DER (for payloads such as the external CA root of
/// [`ScepSettings`](crate::ScepSettings)).
pub fn certificate_der(pem_or_der: &[u8]) -> Result<Vec<u8>> {
    let certificate = if pem_or_der.trim_ascii_start().starts_with(b"-----BEGIN") {
        X509::from_pem(pem_or_der)
    } else {
        X509::from_der(pem_or_der)
    }
    .map_err(|e| Error::Certificate(format!("not a PEM or DER certificate: {e}")))?;
    Ok(certificate.to_der()?)
}

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(bytes))
}

/// A random URL-safe token of `bytes` random bytes (base64url, no padding).
pub(crate) fn random_token(bytes: usize) -> Result<String> {
    use base64::Engine as _;
    let mut buffer = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buffer)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

fn x509_name(common_name: &str) -> Result<X509Name> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)
        .map_err(|e| Error::InvalidInput(format!("common name not accepted: {e}")))?;
    Ok(name.build())
}

fn base_builder(
    subject: &X509Name,
    issuer: &openssl::x509::X509NameRef,
    key: &PKey<Private>,
    validity_days: u32,
) -> Result<X509Builder> {
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(subject)?;
    builder.set_issuer_name(issuer)?;
    builder.set_pubkey(key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(validity_days)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    Ok(builder)
}

fn subject_text(certificate: &X509) -> String {
    certificate
        .subject_name()
        .entries()
        .filter_map(|entry| entry.data().to_string().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_identity_chains_to_the_ca_and_opens_with_its_password() {
        let ca = DeviceCa::generate("Test Device CA", 30).unwrap();
        let identity = ca.issue("device-1").unwrap();
        let password = identity.password.expose_str().unwrap();
        let parsed = Pkcs12::from_der(identity.pkcs12.expose())
            .unwrap()
            .parse2(password)
            .unwrap();
        let cert = parsed.cert.unwrap();
        assert_eq!(cert.to_der().unwrap(), identity.certificate_der);
        assert!(parsed.pkey.is_some());
        let ca_cert = X509::from_der(&ca.certificate_der().unwrap()).unwrap();
        assert!(cert.verify(&ca_cert.public_key().unwrap()).unwrap());
        assert_eq!(identity.sha256, sha256_hex(&identity.certificate_der));
        assert!(Pkcs12::from_der(identity.pkcs12.expose())
            .unwrap()
            .parse2("wrong")
            .is_err());
        assert!(!format!("{identity:?}").contains(password));
    }

    #[test]
    fn ca_round_trips_through_pem_and_refuses_a_foreign_key() {
        let ca = DeviceCa::generate("CA", 30).unwrap();
        let other = DeviceCa::generate("Other", 30).unwrap();
        let cert = ca.certificate_pem().unwrap();
        let key = ca.private_key_pem().unwrap();
        assert!(DeviceCa::from_pem(&cert, key.expose()).is_ok());
        let foreign = other.private_key_pem().unwrap();
        let err = DeviceCa::from_pem(&cert, foreign.expose()).unwrap_err();
        assert_eq!(err.code(), "certificate_unreadable");
        assert!(DeviceCa::from_pem(b"junk", key.expose()).is_err());
        assert!(matches!(ca.issue(""), Err(Error::InvalidInput(_))));
    }
}
