//! Apple MDM push certificates: parsing (PEM, DER, PKCS#12, PEM chain), topic and expiry.

use openssl::pkcs12::Pkcs12;
use openssl::x509::X509;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::error::{Error, Result};
use crate::expiry::{self, ExpiryStatus, DEFAULT_WARNING_DAYS};
use crate::key::{contains, PrivateKey};

/// The OID of the LDAP `UID` attribute, which holds an MDM push certificate's topic.
pub const UID_OID: &str = "0.9.2342.19200300.100.1.1";

/// The prefix every MDM push topic starts with.
pub const MDM_TOPIC_PREFIX: &str = "com.apple.mgmt";

const WHAT: &str = "push certificate file";

/// An Apple MDM push certificate, as issued by Apple's Push Certificates Portal.
///
/// The topic is the subject's `UID` attribute (not its CN) and always starts with
/// `com.apple.mgmt`; parsing refuses any other certificate with a clear error.
#[derive(Clone)]
pub struct PushCertificate {
    der: Vec<u8>,
    chain: Vec<Vec<u8>>,
    private_key: Option<PrivateKey>,
    topic: String,
    subject: String,
    issuer: String,
    serial: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl PushCertificate {
    /// Parses a push certificate in any of the forms an administrator may have: PEM (a single
    /// certificate, or a chain file, possibly with its private key), DER, or PKCS#12 (with
    /// `password`; a PKCS#12 file without password is tried with the empty password).
    pub fn parse(bytes: &[u8], password: Option<&str>) -> Result<Self> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::EmptyInput { what: WHAT.into() });
        }
        if contains(bytes, b"-----BEGIN") {
            return Self::from_pem(bytes, password);
        }
        // x509-parser first: OpenSSL 3's certificate decoding is two orders of magnitude
        // slower, and parsing must stay cheap for dashboards listing many certificates.
        if X509Certificate::from_der(bytes).is_ok() {
            return Self::from_der(bytes);
        }
        if Pkcs12::from_der(bytes).is_ok() {
            return Self::from_pkcs12(bytes, password.unwrap_or(""));
        }
        Err(Error::UnreadableCertificate {
            what: WHAT.into(),
            detail: "unrecognised content".into(),
        })
    }

    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.is_empty() {
            return Err(Error::EmptyInput { what: WHAT.into() });
        }
        Self::from_parts(der.to_vec(), Vec::new(), None)
    }

    /// Parses a PEM file holding the push certificate, optionally followed or preceded by its
    /// issuers and its private key (decrypted with `password` when encrypted).
    ///
    /// In a chain file the push certificate is the one whose subject carries a `UID`.
    pub fn from_pem(pem: &[u8], password: Option<&str>) -> Result<Self> {
        if pem.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::EmptyInput { what: WHAT.into() });
        }
        let certificates = read_pem_certificates(pem, WHAT)?;
        let leaf_index = certificates
            .iter()
            .position(|der| uid_of(der).is_some_and(|uid| uid.starts_with(MDM_TOPIC_PREFIX)))
            .or_else(|| certificates.iter().position(|der| uid_of(der).is_some()))
            .unwrap_or(0);
        let mut chain = certificates;
        let leaf = chain.remove(leaf_index);
        let key = if contains(pem, b"PRIVATE KEY-----") {
            Some(PrivateKey::from_pem(pem, password, "push certificate key")?)
        } else {
            None
        };
        Self::from_parts(leaf, chain, key)
    }

    /// Opens a PKCS#12 file with `password` and parses the certificate (and key) it holds.
    pub fn from_pkcs12(bytes: &[u8], password: &str) -> Result<Self> {
        if bytes.is_empty() {
            return Err(Error::EmptyInput { what: WHAT.into() });
        }
        let parsed = open_pkcs12(bytes, password)?;
        let certificate = parsed.cert.ok_or(Error::P12NoCertificate)?;
        let der = certificate.to_der().map_err(Error::crypto)?;
        let chain = match parsed.ca {
            Some(stack) => stack
                .iter()
                .map(|c| c.to_der().map_err(Error::crypto))
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        Self::from_parts(der, chain, parsed.pkey.map(PrivateKey::from_pkey))
    }

    fn from_parts(der: Vec<u8>, chain: Vec<Vec<u8>>, key: Option<PrivateKey>) -> Result<Self> {
        let fields = CertificateFields::read(&der, WHAT)?;
        let topic = match fields.uid {
            None => {
                return Err(Error::NoTopic {
                    subject: fields.subject,
                })
            }
            Some(uid) if !uid.starts_with(MDM_TOPIC_PREFIX) => {
                return Err(Error::NotMdmTopic { topic: uid })
            }
            Some(uid) => uid,
        };
        Ok(Self {
            der,
            chain,
            private_key: key,
            topic,
            subject: fields.subject,
            issuer: fields.issuer,
            serial: fields.serial,
            not_before: fields.not_before,
            not_after: fields.not_after,
        })
    }

    /// The push topic (the subject's `UID`), for example
    /// `com.apple.mgmt.External.e0bd1eac-1f17-4c8e-8a63-dd17d3dd35d9`.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The subject, as `C=US, CN=APSP:..., UID=com.apple.mgmt...`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer, as `C=US, O=Apple Inc., ...`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The serial number, upper-case hexadecimal without separators.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The start of validity (UTC).
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// The end of validity (UTC).
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Whole days remaining until expiry at `now`, rounded down (negative once expired).
    pub fn days_remaining(&self, now: OffsetDateTime) -> i64 {
        expiry::days_remaining(self.not_after, now)
    }

    /// Valid, expiring soon (60 days or fewer remaining) or expired, at `now`.
    pub fn status(&self, now: OffsetDateTime) -> ExpiryStatus {
        self.status_with_threshold(now, DEFAULT_WARNING_DAYS)
    }

    /// Like [`status`](Self::status) with a warning threshold other than 60 days.
    pub fn status_with_threshold(&self, now: OffsetDateTime, warning_days: u32) -> ExpiryStatus {
        ExpiryStatus::at(self.not_after, now, warning_days)
    }

    /// Whether the certificate has expired at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.not_after
    }

    /// The certificate in DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate in PEM.
    pub fn to_pem(&self) -> Result<String> {
        let pem = X509::from_der(&self.der)
            .and_then(|c| c.to_pem())
            .map_err(Error::crypto)?;
        String::from_utf8(pem).map_err(|e| Error::Crypto(e.to_string()))
    }

    /// The other certificates found in the file (issuers), in DER.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The private key found with the certificate (in a PKCS#12 file or a PEM file), if any.
    pub fn private_key(&self) -> Option<&PrivateKey> {
        self.private_key.as_ref()
    }

    /// Attaches the certificate's private key (for example one read from a separate file).
    pub fn with_private_key(mut self, key: PrivateKey) -> Self {
        self.private_key = Some(key);
        self
    }

    /// Whether `key` is the private key of this certificate's public key.
    pub fn matches_key(&self, key: &PrivateKey) -> Result<bool> {
        let certificate = X509::from_der(&self.der).map_err(Error::crypto)?;
        let public = certificate.public_key().map_err(Error::crypto)?;
        Ok(public.public_eq(key.pkey()))
    }
}

impl std::fmt::Debug for PushCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushCertificate")
            .field("topic", &self.topic)
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .field("chain", &self.chain.len())
            .field("private_key", &self.private_key)
            .finish_non_exhaustive()
    }
}

/// The fields of any X.509 certificate that mdmkit shows to administrators.
pub(crate) struct CertificateFields {
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) serial: String,
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
    pub(crate) uid: Option<String>,
}

impl CertificateFields {
    pub(crate) fn read(der: &[u8], what: &str) -> Result<Self> {
        let unreadable = |detail: String| Error::UnreadableCertificate {
            what: what.to_owned(),
            detail,
        };
        let (_, certificate) =
            X509Certificate::from_der(der).map_err(|e| unreadable(e.to_string()))?;
        let time = |t: x509_parser::time::ASN1Time| {
            OffsetDateTime::from_unix_timestamp(t.timestamp())
                .map_err(|e| unreadable(format!("validity out of range: {e}")))
        };
        Ok(Self {
            subject: name_string(certificate.subject()),
            issuer: name_string(certificate.issuer()),
            serial: hex_serial(certificate.raw_serial()),
            not_before: time(certificate.validity().not_before)?,
            not_after: time(certificate.validity().not_after)?,
            uid: uid_from(&certificate),
        })
    }
}

/// A name in the order of its attributes, as `C=US, CN=..., UID=...` (OpenSSL's short
/// names; other attributes by dotted OID).
pub(crate) fn name_string(name: &X509Name<'_>) -> String {
    let parts: Vec<String> = name
        .iter_attributes()
        .map(|attribute| {
            let oid = attribute.attr_type().to_id_string();
            let key = match oid.as_str() {
                "2.5.4.3" => "CN",
                "2.5.4.6" => "C",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "2.5.4.5" => "serialNumber",
                "1.2.840.113549.1.9.1" => "emailAddress",
                UID_OID => "UID",
                other => other,
            };
            let value = match attribute.as_str() {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(attribute.as_slice()).into_owned(),
            };
            format!("{key}={value}")
        })
        .collect();
    parts.join(", ")
}

fn uid_from(certificate: &X509Certificate<'_>) -> Option<String> {
    certificate
        .subject()
        .iter_attributes()
        .find(|attribute| attribute.attr_type().to_id_string() == UID_OID)
        .map(|attribute| match attribute.as_str() {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(attribute.as_slice()).into_owned(),
        })
}

fn uid_of(der: &[u8]) -> Option<String> {
    X509Certificate::from_der(der)
        .ok()
        .and_then(|(_, certificate)| uid_from(&certificate))
}

fn hex_serial(raw: &[u8]) -> String {
    let significant = match raw.iter().position(|&b| b != 0) {
        Some(start) => &raw[start..],
        None => &raw[raw.len().saturating_sub(1)..],
    };
    hex::encode_upper(significant)
}

/// Reads every `CERTIFICATE` block of a PEM file, as DER (other blocks, such as a private
/// key, are skipped).
pub(crate) fn read_pem_certificates(pem: &[u8], what: &str) -> Result<Vec<Vec<u8>>> {
    let unreadable = |detail: String| Error::UnreadableCertificate {
        what: what.to_owned(),
        detail,
    };
    if !contains(pem, b"-----BEGIN CERTIFICATE-----") {
        return Err(unreadable("no PEM CERTIFICATE block found".into()));
    }
    let mut certificates = Vec::new();
    let mut problem = None;
    for block in Pem::iter_from_buffer(pem).take(MAX_PEM_BLOCKS) {
        match block {
            Ok(block) if block.label == "CERTIFICATE" => certificates.push(block.contents),
            Ok(_) => {}
            Err(error) => {
                problem.get_or_insert_with(|| error.to_string());
            }
        }
    }
    if certificates.is_empty() {
        return Err(unreadable(
            problem.unwrap_or_else(|| "no PEM CERTIFICATE block found".into()),
        ));
    }
    Ok(certificates)
}

/// More PEM blocks than any certificate file holds: a bound on the work done on hostile input.
const MAX_PEM_BLOCKS: usize = 64;

/// Reads one certificate given as PEM or DER (the first one of a PEM file).
pub(crate) fn read_certificate(bytes: &[u8], what: &str) -> Result<X509> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyInput {
            what: what.to_owned(),
        });
    }
    let der = if contains(bytes, b"-----BEGIN") {
        read_pem_certificates(bytes, what)?.remove(0)
    } else {
        bytes.to_vec()
    };
    // x509-parser is stricter than OpenSSL about trailing data and structure: check with it
    // so that both parsers agree on what they read.
    CertificateFields::read(&der, what)?;
    X509::from_der(&der).map_err(|e| Error::UnreadableCertificate {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

pub(crate) fn open_pkcs12(bytes: &[u8], password: &str) -> Result<openssl::pkcs12::ParsedPkcs12_2> {
    if password.contains('\0') {
        return Err(Error::InvalidPassword);
    }
    mdmkit_core::openssl_legacy::load_legacy_provider();
    let pkcs12 = Pkcs12::from_der(bytes).map_err(|e| Error::UnreadableCertificate {
        what: "PKCS#12 file".into(),
        detail: e.to_string(),
    })?;
    pkcs12.parse2(password).map_err(|_| Error::P12BadPassword)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestCa;
    use time::Duration;

    const TOPIC: &str = "com.apple.mgmt.External.11111111-2222-3333-4444-555555555555";

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn reads_pem_der_and_chain() {
        let ca = TestCa::new("Test Apple CA");
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let cert = ca.issue_push_cert(Some(TOPIC), &key, now() + Duration::days(365));
        let pem = ca.pem_of(&cert);

        let from_pem = PushCertificate::parse(&pem, None).unwrap();
        assert_eq!(from_pem.topic(), TOPIC);
        assert!(
            from_pem.subject().contains("CN=APSP:"),
            "{}",
            from_pem.subject()
        );
        assert!(from_pem.issuer().contains("Test Apple CA"));
        assert!(!from_pem.serial().is_empty());
        assert!(from_pem.matches_key(&key).unwrap());
        assert_eq!(from_pem.status(now()), ExpiryStatus::Valid);

        let from_der = PushCertificate::parse(&cert, None).unwrap();
        assert_eq!(from_der.topic(), TOPIC);
        assert_eq!(from_der.der(), &cert[..]);

        // A chain file with the issuer first and the key last.
        let mut chain = ca.certificate_pem();
        chain.extend_from_slice(&pem);
        chain.extend_from_slice(&key.to_pem().unwrap());
        let from_chain = PushCertificate::parse(&chain, None).unwrap();
        assert_eq!(from_chain.topic(), TOPIC);
        assert_eq!(from_chain.chain().len(), 1);
        assert!(from_chain
            .matches_key(from_chain.private_key().unwrap())
            .unwrap());
    }

    #[test]
    fn reads_pkcs12_and_refuses_wrong_password() {
        let ca = TestCa::new("Test Apple CA");
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let cert = ca.issue_push_cert(Some(TOPIC), &key, now() + Duration::days(365));
        let p12 = TestCa::pkcs12(&cert, &key, "pw");
        let parsed = PushCertificate::parse(&p12, Some("pw")).unwrap();
        assert_eq!(parsed.topic(), TOPIC);
        assert!(parsed.matches_key(parsed.private_key().unwrap()).unwrap());
        let wrong = PushCertificate::parse(&p12, Some("nope")).unwrap_err();
        assert_eq!(wrong.code(), "p12_bad_password");
        let missing = PushCertificate::parse(&p12, None).unwrap_err();
        assert_eq!(missing.code(), "p12_bad_password");
        let nul = PushCertificate::from_pkcs12(&p12, "a\0b").unwrap_err();
        assert_eq!(nul.code(), "invalid_password");
    }

    #[test]
    fn refuses_garbage_empty_no_uid_and_wrong_prefix() {
        assert_eq!(
            PushCertificate::parse(b"", None).unwrap_err().code(),
            "empty_input"
        );
        assert_eq!(
            PushCertificate::parse(b" \n", None).unwrap_err().code(),
            "empty_input"
        );
        assert_eq!(
            PushCertificate::parse(b"\x00garbage\xff", None)
                .unwrap_err()
                .code(),
            "certificate_unreadable"
        );
        assert_eq!(
            PushCertificate::parse(
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                None
            )
            .unwrap_err()
            .code(),
            "certificate_unreadable"
        );
        assert_eq!(
            PushCertificate::parse(b"-----BEGIN PUBLIC KEY-----\n", None)
                .unwrap_err()
                .code(),
            "certificate_unreadable"
        );

        let ca = TestCa::new("Test Apple CA");
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let no_uid = ca.issue_push_cert(None, &key, now() + Duration::days(30));
        let error = PushCertificate::parse(&no_uid, None).unwrap_err();
        assert_eq!(error.code(), "no_topic");
        assert!(error.to_string().contains("no UID attribute"));

        let wrong = ca.issue_push_cert(Some("com.example.app"), &key, now() + Duration::days(30));
        let error = PushCertificate::parse(&wrong, None).unwrap_err();
        assert_eq!(error.code(), "not_mdm_topic");
        assert!(error.to_string().contains("com.example.app"));
    }

    #[test]
    fn status_follows_the_sixty_day_boundary() {
        let ca = TestCa::new("Test Apple CA");
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let cert = ca.issue_push_cert(Some(TOPIC), &key, now() + Duration::days(365));
        let cert = PushCertificate::parse(&cert, None).unwrap();
        let not_after = cert.not_after();
        for (days, status) in [
            (59, ExpiryStatus::ExpiringSoon),
            (60, ExpiryStatus::ExpiringSoon),
            (61, ExpiryStatus::Valid),
        ] {
            let at = not_after - Duration::days(days);
            assert_eq!(cert.days_remaining(at), days);
            assert_eq!(cert.status(at), status, "{days} days");
        }
        assert_eq!(cert.status(not_after), ExpiryStatus::Expired);
        assert_eq!(
            cert.status_with_threshold(not_after - Duration::days(61), 61),
            ExpiryStatus::ExpiringSoon
        );
    }

    #[test]
    fn expired_certificate_reports_expired() {
        let ca = TestCa::new("Test Apple CA");
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let cert = ca.issue_push_cert(Some(TOPIC), &key, now() - Duration::days(2));
        let cert = PushCertificate::parse(&cert, None).unwrap();
        assert!(cert.is_expired(now()));
        assert_eq!(cert.status(now()), ExpiryStatus::Expired);
        assert!(cert.days_remaining(now()) <= -2);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let ca = TestCa::new("Test Apple CA");
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let cert = ca.issue_push_cert(Some(TOPIC), &key, now() + Duration::days(365));
        let p12 = TestCa::pkcs12(&cert, &key, "pw");
        let parsed = PushCertificate::parse(&p12, Some("pw")).unwrap();
        let shown = format!("{parsed:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("PRIVATE"));
    }
}
