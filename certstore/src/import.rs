//! Opening and checking an uploaded PKCS#12 file, and rewriting stored packages.
//!
//! Before OpenSSL sees the password, the file's outer structure is read with an ASN.1
//! parser: that is where a missing MAC and excessive key-derivation iteration counts are
//! found, so that an upload cannot make the server spend seconds deriving keys. The
//! encrypted SafeContents are then decrypted here (`encrypted_safe`, after the MAC
//! verifies) and their bags capped the same way, before OpenSSL parses the file.

use std::borrow::Cow;

use openssl::nid::Nid;
use openssl::pkcs12::{ParsedPkcs12_2, Pkcs12};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;
use time::OffsetDateTime;
use x509_parser::der_parser::asn1_rs::{Any, Class, Oid, Tag};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::encrypted_safe;
use crate::{Error, Result};

/// Caps on what an upload may cost the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportLimits {
    /// The largest file accepted, in bytes (default 256 KiB).
    pub max_file_size: usize,
    /// The largest iteration count of one key derivation or MAC (default 200,000; common
    /// exporters use 2,000 to 10,000).
    pub max_iterations: u64,
    /// The largest sum of the iteration counts of the whole file (default 600,000).
    pub max_total_iterations: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_file_size: 256 * 1024,
            max_iterations: 200_000,
            max_total_iterations: 600_000,
        }
    }
}

impl ImportLimits {
    /// Sets [`max_file_size`](Self::max_file_size).
    pub fn with_max_file_size(mut self, bytes: usize) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Sets [`max_iterations`](Self::max_iterations).
    pub fn with_max_iterations(mut self, iterations: u64) -> Self {
        self.max_iterations = iterations;
        self
    }

    /// Sets [`max_total_iterations`](Self::max_total_iterations).
    pub fn with_max_total_iterations(mut self, iterations: u64) -> Self {
        self.max_total_iterations = iterations;
        self
    }
}

/// What a certificate says about itself, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// The subject, as a distinguished name.
    pub subject: String,
    /// The issuer, as a distinguished name.
    pub issuer: String,
    /// The serial number, lowercase hex with colons.
    pub serial: String,
    /// The e-mail addresses: rfc822Name subject alternative names, then the subject's
    /// emailAddress attributes, without duplicates.
    pub emails: Vec<String>,
    /// The start of validity.
    pub not_before: OffsetDateTime,
    /// The end of validity.
    pub not_after: OffsetDateTime,
    /// Whether the extended key usage allows e-mail protection (or is absent).
    pub fit_for_email: bool,
}

impl CertificateInfo {
    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| Error::UnreadableCertificate(e.to_string()))?;
        let mut emails: Vec<String> = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::RFC822Name(address) = name {
                    push_unique(&mut emails, address);
                }
            }
        }
        for attribute in cert.subject().iter_email() {
            if let Ok(address) = attribute.as_str() {
                push_unique(&mut emails, address);
            }
        }
        let fit_for_email = match cert.extended_key_usage() {
            Ok(None) => true,
            Ok(Some(eku)) => eku.value.email_protection,
            Err(_) => false,
        };
        Ok(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string(),
            emails,
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            fit_for_email,
        })
    }
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|known| known.eq_ignore_ascii_case(value)) {
        list.push(value.to_owned());
    }
}

/// An uploaded PKCS#12 file that passed every check.
#[derive(Debug)]
#[non_exhaustive]
pub struct CheckedPkcs12 {
    /// The certificate matching the private key, DER.
    pub certificate_der: Vec<u8>,
    /// The other certificates of the file (the chain), DER, in file order.
    pub chain_der: Vec<Vec<u8>>,
    /// What the certificate says.
    pub info: CertificateInfo,
}

/// Checks an uploaded PKCS#12 file as the store does before keeping it: its format, size
/// and iteration counts, its MAC, the password (`None`: no password was given, which opens
/// only files protected by no or an empty password; `Some("")`: the empty password), one
/// private key and the certificate matching it, valid at `now` and fit for e-mail.
pub fn check_pkcs12(
    bytes: &[u8],
    password: Option<&str>,
    limits: &ImportLimits,
    now: OffsetDateTime,
) -> Result<CheckedPkcs12> {
    let parsed = open_checked(bytes, password, limits)?;
    let (Some(key), Some(cert)) = (parsed.pkey.as_ref(), parsed.cert.as_ref()) else {
        return Err(if parsed.pkey.is_none() {
            Error::P12NoPrivateKey
        } else {
            Error::P12NoMatchingCertificate
        });
    };
    if !cert
        .public_key()
        .map(|public| public.public_eq(key))
        .unwrap_or(false)
    {
        return Err(Error::P12NoMatchingCertificate);
    }
    let certificate_der = to_der(cert)?;
    let info = CertificateInfo::from_der(&certificate_der)?;
    if now > info.not_after {
        return Err(Error::CertificateExpired {
            not_after: rfc3339(info.not_after),
        });
    }
    if now < info.not_before {
        return Err(Error::CertificateNotYetValid {
            not_before: rfc3339(info.not_before),
        });
    }
    if !info.fit_for_email {
        return Err(Error::NotForEmail);
    }
    let mut chain_der = Vec::new();
    if let Some(chain) = &parsed.ca {
        for extra in chain {
            chain_der.push(to_der(extra)?);
        }
    }
    Ok(CheckedPkcs12 {
        certificate_der,
        chain_der,
        info,
    })
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn to_der(cert: &openssl::x509::X509Ref) -> Result<Vec<u8>> {
    cert.to_der()
        .map_err(|e| Error::UnreadableCertificate(e.to_string()))
}

/// Opens a file after the structural checks, mapping password failures.
fn open_checked(
    bytes: &[u8],
    password: Option<&str>,
    limits: &ImportLimits,
) -> Result<ParsedPkcs12_2> {
    if password.is_some_and(|p| p.contains('\0')) {
        return Err(Error::InvalidPassword);
    }
    if bytes.len() > limits.max_file_size {
        return Err(Error::FileTooLarge {
            size: bytes.len(),
            limit: limits.max_file_size,
        });
    }
    let mut outline = Outline::read(bytes)?;
    if outline.mac.is_none() {
        return Err(Error::P12NoMac);
    }
    // Everything visible is capped before any key is derived, ours included.
    outline.check_caps(limits)?;
    // Then the bags inside encrypted SafeContents, whose own key derivations OpenSSL would
    // run after decrypting them: the MAC is verified and each SafeContents decrypted here
    // (both capped above), and their bags capped the same way, before OpenSSL parses.
    let no_password = |error| match (error, password) {
        (Error::P12BadPassword, None) => Error::P12PasswordRequired,
        (error, _) => error,
    };
    outline
        .read_encrypted_safes(password)
        .map_err(no_password)?;
    outline.check_caps(limits)?;
    open_stored(bytes, password).map_err(no_password)
}

impl Outline<'_> {
    /// Refuses an outline whose iteration counts or key bags exceed `limits`.
    fn check_caps(&self, limits: &ImportLimits) -> Result<()> {
        let largest = self.iterations.iter().copied().max().unwrap_or(0);
        if largest > limits.max_iterations {
            return Err(Error::TooManyIterations {
                iterations: largest,
                limit: limits.max_iterations,
            });
        }
        let total = self
            .iterations
            .iter()
            .fold(0u64, |sum, n| sum.saturating_add(*n));
        if total > limits.max_total_iterations {
            return Err(Error::TooManyIterations {
                iterations: total,
                limit: limits.max_total_iterations,
            });
        }
        if self.key_bags > 1 {
            return Err(Error::P12SeveralKeys {
                count: self.key_bags,
            });
        }
        Ok(())
    }
}

/// Opens a package (no structural checks: the store wrote or checked it).
pub(crate) fn open_stored(bytes: &[u8], password: Option<&str>) -> Result<ParsedPkcs12_2> {
    if password.is_some_and(|p| p.contains('\0')) {
        return Err(Error::InvalidPassword);
    }
    mdmkit_core::openssl_legacy::load_legacy_provider();
    let pkcs12 = Pkcs12::from_der(bytes).map_err(|_| Error::NotPkcs12)?;
    // OpenSSL tries both the absent and the empty password when given "".
    pkcs12
        .parse2(password.unwrap_or(""))
        .map_err(|_| Error::P12BadPassword)
}

/// Writes a new package with modern algorithms (AES-256, PBKDF2, SHA-256 MAC) holding
/// `cert`, `chain` and, when given, `key`.
pub(crate) fn build_package(
    cert: &X509,
    chain: Option<Stack<X509>>,
    key: Option<&PKey<Private>>,
    password: Option<&str>,
    friendly_name: &str,
) -> Result<Vec<u8>> {
    if password.is_some_and(|p| p.contains('\0')) {
        return Err(Error::InvalidPassword);
    }
    let mut builder = Pkcs12::builder();
    builder.name(friendly_name).cert(cert);
    if let Some(key) = key {
        builder.pkey(key);
    }
    if let Some(chain) = chain {
        builder.ca(chain);
    }
    builder
        .mac_md(openssl::hash::MessageDigest::sha256())
        .key_algorithm(Nid::AES_256_CBC)
        .cert_algorithm(Nid::AES_256_CBC);
    let pkcs12 = builder
        .build2(password.unwrap_or(""))
        .map_err(|e| Error::Crypto(e.to_string()))?;
    pkcs12.to_der().map_err(|e| Error::Crypto(e.to_string()))
}

const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const OID_PBES2: &str = "1.2.840.113549.1.5.13";
const OID_PBKDF2: &str = "1.2.840.113549.1.5.12";
const OID_PBMAC1: &str = "1.2.840.113549.1.5.14";
/// pbeWithSHAAnd128BitRC4 ... pbewithSHAAnd40BitRC2-CBC (RFC 7292 appendix C).
const OID_PKCS12_PBE_PREFIX: &str = "1.2.840.113549.1.12.1.";
/// PKCS#5 v1.5 schemes: pbeWithMD2AndDES-CBC (1) ... pbeWithSHA1AndRC2-CBC (11).
const OIDS_PKCS5_V1: [&str; 6] = [
    "1.2.840.113549.1.5.1",
    "1.2.840.113549.1.5.3",
    "1.2.840.113549.1.5.4",
    "1.2.840.113549.1.5.6",
    "1.2.840.113549.1.5.10",
    "1.2.840.113549.1.5.11",
];
const OID_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const OID_SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const OID_SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";
/// How deep safeContentsBags may nest (OpenSSL recurses into them; real files never
/// nest).
const MAX_BAG_NESTING: usize = 4;

/// What the structure of a PKCS#12 file shows: first its outer, unencrypted structure, then
/// (after [`Outline::read_encrypted_safes`]) also the bags inside its encrypted safes.
///
/// The structure is read as strict DER: definite lengths only, and every element must
/// consume its enclosing bytes exactly (no trailing data at any level), so the outline
/// sees every structure OpenSSL will read. OpenSSL ignores bytes after an encoded
/// structure; an outline that skipped such a structure would miss its iteration counts.
/// Anything that does not have the expected shape is refused before OpenSSL sees it.
#[derive(Debug, Default)]
struct Outline<'a> {
    /// The MAC, when the file has one.
    mac: Option<MacData<'a>>,
    /// The content the MAC covers: the DER AuthenticatedSafe.
    auth_safe: &'a [u8],
    /// The encryptedData safes not yet decrypted.
    encrypted_safes: Vec<EncryptedSafe<'a>>,
    /// Every iteration count read so far (MAC, content encryption, shrouded keys in plain
    /// safe contents, and those in decrypted safe contents).
    iterations: Vec<u64>,
    /// Key bags read so far.
    key_bags: usize,
}

impl<'a> Outline<'a> {
    /// PFX ::= SEQUENCE { version INTEGER, authSafe ContentInfo, macData MacData OPTIONAL }
    fn read(bytes: &'a [u8]) -> Result<Self> {
        let pfx = only_sequence(bytes)?;
        let [version, auth_safe, mac @ ..] = pfx.as_slice() else {
            return Err(Error::NotPkcs12);
        };
        if integer(version)? != 3 || mac.len() > 1 {
            return Err(Error::NotPkcs12);
        }
        let mut outline = Outline::default();
        if let Some(mac) = mac.first() {
            outline.read_mac(mac)?;
        }
        // AuthenticatedSafe ::= SEQUENCE OF ContentInfo, in a data ContentInfo.
        let (kind, content) = content_info(auth_safe)?;
        if kind != OID_DATA {
            return Err(Error::P12UnsupportedAlgorithm(format!(
                "authenticated safe of content type {kind} (only password integrity is supported)"
            )));
        }
        outline.auth_safe = octet_string(&content)?;
        for info in only_sequence(outline.auth_safe)? {
            outline.read_safe(&info)?;
        }
        Ok(outline)
    }

    /// Verifies the MAC with `password` (as OpenSSL tries it), decrypts every encryptedData
    /// safe with the password that verified, and reads the SafeContents inside as strictly
    /// as the plain ones, adding their iteration counts and key bags. The MAC and the
    /// content encryptions must have passed [`Outline::check_caps`]: their derivations run
    /// here.
    fn read_encrypted_safes(&mut self, password: Option<&str>) -> Result<()> {
        if self.encrypted_safes.is_empty() {
            return Ok(());
        }
        let mac = self.mac.as_ref().ok_or(Error::P12NoMac)?;
        let password = encrypted_safe::verified_password(mac, self.auth_safe, password)?;
        for safe in std::mem::take(&mut self.encrypted_safes) {
            let plain = encrypted_safe::decrypt(&safe.algorithm, safe.content, &password)?;
            self.read_safe_contents(&plain, 0)?;
        }
        Ok(())
    }

    /// MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
    fn read_mac(&mut self, mac: &Any<'a>) -> Result<()> {
        let fields = sequence(mac)?;
        let [digest_info, salt, rest @ ..] = fields.as_slice() else {
            return Err(Error::NotPkcs12);
        };
        let salt = octet_string(salt)?;
        let iterations = match rest {
            [] => 1,
            [iterations] => integer(iterations)?,
            _ => return Err(Error::NotPkcs12),
        };
        // DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
        let digest = sequence(digest_info)?;
        let [algorithm, value] = digest.as_slice() else {
            return Err(Error::NotPkcs12);
        };
        let digest = octet_string(value)?;
        let (kind, params) = algorithm_identifier(algorithm)?;
        if kind == OID_PBMAC1 {
            // PBMAC1-params ::= SEQUENCE { keyDerivationFunc, messageAuthScheme }
            let params = params.ok_or(Error::NotPkcs12)?;
            let fields = sequence(&params)?;
            let [kdf, scheme] = fields.as_slice() else {
                return Err(Error::NotPkcs12);
            };
            algorithm_identifier(scheme)?;
            self.read_kdf(kdf)?;
        }
        self.mac = Some(MacData {
            algorithm: algorithm.clone(),
            digest,
            salt,
            iterations,
        });
        self.iterations.push(iterations);
        Ok(())
    }

    /// One ContentInfo of the AuthenticatedSafe: data (a SafeContents) or encryptedData.
    fn read_safe(&mut self, info: &Any<'a>) -> Result<()> {
        let (kind, content) = content_info(info)?;
        match kind.as_str() {
            OID_DATA => self.read_safe_contents(octet_string(&content)?, 0),
            OID_ENCRYPTED_DATA => {
                // EncryptedData ::= SEQUENCE { version INTEGER, EncryptedContentInfo }
                // EncryptedContentInfo ::= SEQUENCE { contentType OID,
                //     contentEncryptionAlgorithm AlgorithmIdentifier,
                //     encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
                let fields = sequence(&content)?;
                let [version, encrypted] = fields.as_slice() else {
                    return Err(Error::NotPkcs12);
                };
                integer(version)?;
                let fields = sequence(encrypted)?;
                let [content_type, algorithm, rest @ ..] = fields.as_slice() else {
                    return Err(Error::NotPkcs12);
                };
                oid(content_type)?;
                match rest {
                    // Nothing to decrypt (OpenSSL refuses it).
                    [] => {}
                    [value] if value.class() == Class::ContextSpecific && value.tag() == Tag(0) => {
                        if value.header.is_constructed() {
                            return Err(Error::NotPkcs12);
                        }
                        self.encrypted_safes.push(EncryptedSafe {
                            algorithm: algorithm.clone(),
                            content: value.data,
                        });
                    }
                    _ => return Err(Error::NotPkcs12),
                }
                self.read_encryption(algorithm)
            }
            other => Err(Error::P12UnsupportedAlgorithm(format!(
                "safe of content type {other}"
            ))),
        }
    }

    /// SafeContents ::= SEQUENCE OF SafeBag
    fn read_safe_contents(&mut self, bytes: &[u8], depth: usize) -> Result<()> {
        for bag in only_sequence(bytes)? {
            self.read_safe_bag(&bag, depth)?;
        }
        Ok(())
    }

    /// SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OPTIONAL }
    fn read_safe_bag(&mut self, bag: &Any<'_>, depth: usize) -> Result<()> {
        let fields = sequence(bag)?;
        let [kind, value, attributes @ ..] = fields.as_slice() else {
            return Err(Error::NotPkcs12);
        };
        match attributes {
            [] => {}
            [set] if set.tag() == Tag::Set && set.class() == Class::Universal => {
                children(set.data)?;
            }
            _ => return Err(Error::NotPkcs12),
        }
        let kind = oid(kind)?;
        let value = explicit(value)?;
        match kind.as_str() {
            OID_KEY_BAG => self.key_bags += 1,
            OID_SHROUDED_KEY_BAG => {
                self.key_bags += 1;
                // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
                let fields = sequence(&value)?;
                let [algorithm, encrypted] = fields.as_slice() else {
                    return Err(Error::NotPkcs12);
                };
                octet_string(encrypted)?;
                self.read_encryption(algorithm)?;
            }
            OID_SAFE_CONTENTS_BAG => {
                if depth >= MAX_BAG_NESTING {
                    return Err(Error::NotPkcs12);
                }
                for inner in sequence(&value)? {
                    self.read_safe_bag(&inner, depth + 1)?;
                }
            }
            // Certificate, CRL, secret and unknown bags: no key derivation before they
            // are read (OpenSSL skips the kinds it does not know).
            _ => {}
        }
        Ok(())
    }

    /// A password-based encryption AlgorithmIdentifier: PBES2 (PBKDF2 inside) or a
    /// PKCS#12 / PKCS#5 v1 scheme (parameters `SEQUENCE { salt OCTET STRING, iterations
    /// INTEGER }`). Anything else cannot be bounded and is refused.
    fn read_encryption(&mut self, algorithm: &Any<'_>) -> Result<()> {
        let (kind, params) = algorithm_identifier(algorithm)?;
        let params = params.ok_or(Error::NotPkcs12)?;
        if kind == OID_PBES2 {
            // PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }
            let fields = sequence(&params)?;
            let [kdf, scheme] = fields.as_slice() else {
                return Err(Error::NotPkcs12);
            };
            algorithm_identifier(scheme)?;
            self.read_kdf(kdf)
        } else if kind.starts_with(OID_PKCS12_PBE_PREFIX) || OIDS_PKCS5_V1.contains(&kind.as_str())
        {
            let fields = sequence(&params)?;
            let [salt, iterations] = fields.as_slice() else {
                return Err(Error::NotPkcs12);
            };
            octet_string(salt)?;
            self.iterations.push(integer(iterations)?);
            Ok(())
        } else {
            Err(Error::P12UnsupportedAlgorithm(format!(
                "encryption scheme {kind}"
            )))
        }
    }

    /// A key-derivation AlgorithmIdentifier: only PBKDF2 is accepted.
    /// PBKDF2-params ::= SEQUENCE { salt CHOICE { OCTET STRING, AlgorithmIdentifier },
    ///     iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT }
    fn read_kdf(&mut self, kdf: &Any<'_>) -> Result<()> {
        self.iterations.push(Pbkdf2::read(kdf)?.iterations);
        Ok(())
    }
}

/// MacData, kept to verify it before decrypting the encrypted safes.
#[derive(Debug)]
pub(crate) struct MacData<'a> {
    /// The DigestInfo's AlgorithmIdentifier: a digest, or PBMAC1.
    pub(crate) algorithm: Any<'a>,
    /// The MAC value.
    pub(crate) digest: &'a [u8],
    /// macSalt (unused by PBMAC1).
    pub(crate) salt: &'a [u8],
    /// The iteration count (unused by PBMAC1).
    pub(crate) iterations: u64,
}

/// An encryptedData safe: its encryption scheme and the encrypted SafeContents.
#[derive(Debug)]
struct EncryptedSafe<'a> {
    algorithm: Any<'a>,
    content: &'a [u8],
}

/// PBKDF2 parameters as an AlgorithmIdentifier gives them.
/// PBKDF2-params ::= SEQUENCE { salt CHOICE { OCTET STRING, AlgorithmIdentifier },
///     iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT }
#[derive(Debug)]
pub(crate) struct Pbkdf2<'a> {
    /// The salt, `None` for the (never used) AlgorithmIdentifier choice.
    pub(crate) salt: Option<&'a [u8]>,
    /// The iteration count.
    pub(crate) iterations: u64,
    /// The key length, when given.
    pub(crate) key_length: Option<u64>,
    /// The PRF's OID, `None` for the default (hmacWithSHA1).
    pub(crate) prf: Option<String>,
}

impl<'a> Pbkdf2<'a> {
    /// Reads a key-derivation AlgorithmIdentifier: only PBKDF2 is accepted.
    pub(crate) fn read(kdf: &Any<'a>) -> Result<Self> {
        let (kind, params) = algorithm_identifier(kdf)?;
        if kind != OID_PBKDF2 {
            return Err(Error::P12UnsupportedAlgorithm(format!(
                "key derivation {kind} (only PBKDF2 is accepted)"
            )));
        }
        let fields = sequence(&params.ok_or(Error::NotPkcs12)?)?;
        let [salt, iterations, rest @ ..] = fields.as_slice() else {
            return Err(Error::NotPkcs12);
        };
        let salt = if salt.tag() == Tag::Sequence {
            algorithm_identifier(salt)?;
            None
        } else {
            Some(octet_string(salt)?)
        };
        let iterations = integer(iterations)?;
        let (key_length, prf) = match rest {
            [] => (None, None),
            [prf] if prf.tag() == Tag::Sequence => (None, Some(algorithm_identifier(prf)?.0)),
            [key_length] => (Some(integer(key_length)?), None),
            [key_length, prf] => (
                Some(integer(key_length)?),
                Some(algorithm_identifier(prf)?.0),
            ),
            _ => return Err(Error::NotPkcs12),
        };
        Ok(Self {
            salt,
            iterations,
            key_length,
            prf,
        })
    }
}

/// The elements of a DER encoding that must be exactly one element (nothing after it).
fn only_element(bytes: &[u8]) -> Result<Any<'_>> {
    match Any::from_der(bytes) {
        Ok(([], any)) => Ok(any),
        _ => Err(Error::NotPkcs12),
    }
}

/// The elements of `bytes`, which must be exactly one SEQUENCE.
fn only_sequence(bytes: &[u8]) -> Result<Vec<Any<'_>>> {
    let any = only_element(bytes)?;
    let items = sequence(&any)?;
    // The borrow of `any` ends here; its children borrow `bytes`.
    Ok(items)
}

/// The elements of a universal SEQUENCE, which must fill it exactly.
pub(crate) fn sequence<'a>(any: &Any<'a>) -> Result<Vec<Any<'a>>> {
    if any.tag() != Tag::Sequence || any.class() != Class::Universal || !any.header.is_constructed()
    {
        return Err(Error::NotPkcs12);
    }
    children(any.data)
}

/// DER elements back to back filling `data` exactly.
fn children(data: &[u8]) -> Result<Vec<Any<'_>>> {
    let mut items = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (next, item) = Any::from_der(rest).map_err(|_| Error::NotPkcs12)?;
        items.push(item);
        rest = next;
    }
    Ok(items)
}

/// The one element inside a `[0] EXPLICIT` wrapper.
fn explicit<'a>(any: &Any<'a>) -> Result<Any<'a>> {
    if any.class() != Class::ContextSpecific || any.tag() != Tag(0) || !any.header.is_constructed()
    {
        return Err(Error::NotPkcs12);
    }
    let (rest, inner) = Any::from_der(any.data).map_err(|_| Error::NotPkcs12)?;
    if !rest.is_empty() {
        return Err(Error::NotPkcs12);
    }
    Ok(inner)
}

/// ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }: the type and
/// the content.
fn content_info<'a>(info: &Any<'a>) -> Result<(String, Any<'a>)> {
    let fields = sequence(info)?;
    let [kind, content] = fields.as_slice() else {
        return Err(Error::NotPkcs12);
    };
    Ok((oid(kind)?, explicit(content)?))
}

/// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
pub(crate) fn algorithm_identifier<'a>(any: &Any<'a>) -> Result<(String, Option<Any<'a>>)> {
    let fields = sequence(any)?;
    match fields.as_slice() {
        [kind] => Ok((oid(kind)?, None)),
        [kind, params] => Ok((oid(kind)?, Some(params.clone()))),
        _ => Err(Error::NotPkcs12),
    }
}

/// A primitive OCTET STRING's content (DER has no constructed form).
pub(crate) fn octet_string<'a>(any: &Any<'a>) -> Result<&'a [u8]> {
    if any.tag() != Tag::OctetString
        || any.class() != Class::Universal
        || any.header.is_constructed()
    {
        return Err(Error::NotPkcs12);
    }
    Ok(any.data)
}

pub(crate) fn oid(any: &Any<'_>) -> Result<String> {
    if any.tag() != Tag::Oid || any.class() != Class::Universal || any.data.is_empty() {
        return Err(Error::NotPkcs12);
    }
    Ok(Oid::new(Cow::Borrowed(any.data)).to_id_string())
}

/// A non-negative INTEGER; saturates at `u64::MAX`.
pub(crate) fn integer(any: &Any<'_>) -> Result<u64> {
    if any.tag() != Tag::Integer
        || any.class() != Class::Universal
        || any.data.is_empty()
        || any.data[0] & 0x80 != 0
    {
        return Err(Error::NotPkcs12);
    }
    let digits: Vec<u8> = any.data.iter().copied().skip_while(|b| *b == 0).collect();
    if digits.len() > 8 {
        return Ok(u64::MAX);
    }
    Ok(digits.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;
    use crate::testing::{IdentitySpec, TestIdentity};

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn check(bytes: &[u8], password: Option<&str>) -> Result<CheckedPkcs12> {
        check_pkcs12(bytes, password, &ImportLimits::default(), now())
    }

    /// Runs the openssl command line in `dir` and returns the file it wrote.
    fn openssl_export(dir: &Path, identity: &TestIdentity, extra: &[&str]) -> Vec<u8> {
        std::fs::write(dir.join("cert.pem"), identity.certificate_pem()).unwrap();
        std::fs::write(dir.join("key.pem"), identity.key_pem()).unwrap();
        std::fs::write(dir.join("ca.pem"), identity.ca_pem()).unwrap();
        let output = Command::new("openssl")
            .current_dir(dir)
            .args(["pkcs12", "-export", "-in", "cert.pem", "-inkey", "key.pem"])
            .args(["-certfile", "ca.pem", "-out", "out.p12"])
            .args(extra)
            .output()
            .expect("the openssl command line is installed");
        assert!(
            output.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read(dir.join("out.p12")).unwrap()
    }

    #[test]
    fn modern_file_imports_with_chain_and_details() {
        let identity = TestIdentity::for_email("alice@example.com");
        let checked = check(&identity.pkcs12_modern("pw"), Some("pw")).unwrap();
        assert_eq!(
            checked.certificate_der,
            identity.certificate.to_der().unwrap()
        );
        assert_eq!(
            checked.chain_der,
            vec![identity.ca_certificate.to_der().unwrap()]
        );
        assert_eq!(checked.info.emails, vec!["alice@example.com".to_owned()]);
        assert!(checked.info.subject.contains("alice@example.com"));
        assert!(checked.info.issuer.contains("mdmkit test S/MIME CA"));
        assert!(!checked.info.serial.is_empty());
    }

    #[test]
    fn legacy_file_imports_and_modern_still_does() {
        let identity = TestIdentity::for_email("bob@example.com");
        let legacy = identity.pkcs12_legacy("pw");
        assert!(check(&legacy, Some("pw")).is_ok());
        // The legacy provider must not have displaced the default algorithms.
        assert!(check(&identity.pkcs12_modern("pw"), Some("pw")).is_ok());
    }

    #[test]
    fn openssl_command_line_modern_and_legacy_files_import() {
        let dir = tempfile::tempdir().unwrap();
        let identity = TestIdentity::for_email("carol@example.com");
        let modern = openssl_export(dir.path(), &identity, &["-passout", "pass:pw"]);
        assert!(check(&modern, Some("pw")).is_ok());
        let legacy = openssl_export(dir.path(), &identity, &["-legacy", "-passout", "pass:pw"]);
        assert!(check(&legacy, Some("pw")).is_ok());
    }

    #[test]
    fn empty_password_and_no_password_differ() {
        let identity = TestIdentity::for_email("dan@example.com");
        let empty = identity.pkcs12_modern("");
        assert!(check(&empty, Some("")).is_ok());
        assert!(check(&empty, None).is_ok());
        let protected = identity.pkcs12_modern("pw");
        assert!(matches!(
            check(&protected, None),
            Err(Error::P12PasswordRequired)
        ));
        assert!(matches!(
            check(&protected, Some("")),
            Err(Error::P12BadPassword)
        ));
    }

    #[test]
    fn wrong_password_is_a_clear_error() {
        let identity = TestIdentity::for_email("erin@example.com");
        let error = check(&identity.pkcs12_modern("right"), Some("wrong")).unwrap_err();
        assert!(matches!(error, Error::P12BadPassword));
        assert_eq!(error.code(), "p12_bad_password");
        assert!(error.to_string().contains("wrong password"));
    }

    #[test]
    fn password_with_nul_is_refused() {
        let identity = TestIdentity::for_email("fay@example.com");
        let error = check(&identity.pkcs12_modern("pw"), Some("p\0w")).unwrap_err();
        assert!(matches!(error, Error::InvalidPassword));
    }

    #[test]
    fn cert_only_file_is_refused() {
        let identity = TestIdentity::for_email("gus@example.com");
        let error = check(&identity.pkcs12_cert_only("pw"), Some("pw")).unwrap_err();
        assert!(matches!(error, Error::P12NoPrivateKey), "{error}");
    }

    #[test]
    fn file_without_mac_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let identity = TestIdentity::for_email("hal@example.com");
        let no_mac = openssl_export(dir.path(), &identity, &["-nomac", "-passout", "pass:pw"]);
        let error = check(&no_mac, Some("pw")).unwrap_err();
        assert!(matches!(error, Error::P12NoMac), "{error}");
    }

    #[test]
    fn corrupted_and_truncated_files_are_refused_without_panic() {
        let identity = TestIdentity::for_email("ivy@example.com");
        let good = identity.pkcs12_modern("pw");
        let mut corrupted = good.clone();
        let middle = corrupted.len() / 2;
        for byte in &mut corrupted[middle..middle + 16] {
            *byte ^= 0x5a;
        }
        assert!(check(&corrupted, Some("pw")).is_err());
        for cut in [1, 10, good.len() / 3, good.len() - 1] {
            let error = check(&good[..cut], Some("pw")).unwrap_err();
            assert!(matches!(error, Error::NotPkcs12), "cut at {cut}: {error}");
        }
        assert!(matches!(check(&[], Some("pw")), Err(Error::NotPkcs12)));
    }

    #[test]
    fn expired_certificate_is_refused_with_its_expiry() {
        let identity =
            TestIdentity::new(&IdentitySpec::new("jo@example.com").valid_days(-400, -35));
        let error = check(&identity.pkcs12_modern("pw"), Some("pw")).unwrap_err();
        let Error::CertificateExpired { not_after } = &error else {
            panic!("expected expiry, got {error}");
        };
        let expected = (now() - time::Duration::days(35)).date().to_string();
        assert!(
            not_after.starts_with(&expected),
            "{not_after} vs {expected}"
        );
        assert!(error.to_string().contains(&expected));
    }

    #[test]
    fn not_yet_valid_certificate_is_refused() {
        let identity = TestIdentity::new(&IdentitySpec::new("kim@example.com").valid_days(3, 30));
        let error = check(&identity.pkcs12_modern("pw"), Some("pw")).unwrap_err();
        assert!(matches!(error, Error::CertificateNotYetValid { .. }));
    }

    #[test]
    fn extended_key_usage_must_allow_email() {
        let server = TestIdentity::new(
            &IdentitySpec::new("lee@example.com").with_email_protection(Some(false)),
        );
        let error = check(&server.pkcs12_modern("pw"), Some("pw")).unwrap_err();
        assert!(matches!(error, Error::NotForEmail));
        let none =
            TestIdentity::new(&IdentitySpec::new("lee@example.com").with_email_protection(None));
        assert!(check(&none.pkcs12_modern("pw"), Some("pw")).is_ok());
    }

    #[test]
    fn pem_and_der_certificates_are_not_pkcs12() {
        let identity = TestIdentity::for_email("max@example.com");
        for bytes in [
            identity.certificate_pem(),
            identity.certificate.to_der().unwrap(),
            identity.key_pem(),
            b"hello".to_vec(),
        ] {
            let error = check(&bytes, Some("pw")).unwrap_err();
            assert!(matches!(error, Error::NotPkcs12), "{error}");
            assert_eq!(error.to_string(), "the file must be PKCS#12");
        }
    }

    #[test]
    fn size_and_iteration_caps() {
        let identity = TestIdentity::for_email("ned@example.com");
        let file = identity.pkcs12_modern("pw");
        let small = ImportLimits::default().with_max_file_size(file.len() - 1);
        let error = check_pkcs12(&file, Some("pw"), &small, now()).unwrap_err();
        assert!(matches!(error, Error::FileTooLarge { .. }));

        let heavy = identity.pkcs12_with_iterations("pw", 50_000);
        let capped = ImportLimits::default().with_max_iterations(10_000);
        let error = check_pkcs12(&heavy, Some("pw"), &capped, now()).unwrap_err();
        assert!(
            matches!(
                error,
                Error::TooManyIterations {
                    iterations: 50_000,
                    limit: 10_000
                }
            ),
            "{error}"
        );
        let total = ImportLimits::default().with_max_total_iterations(60_000);
        let error = check_pkcs12(&heavy, Some("pw"), &total, now()).unwrap_err();
        assert!(
            matches!(error, Error::TooManyIterations { limit: 60_000, .. }),
            "{error}"
        );
        assert!(check_pkcs12(&heavy, Some("pw"), &ImportLimits::default(), now()).is_ok());
    }
}

#[cfg(test)]
mod real_world {
    use std::path::Path;

    use super::*;

    /// micromdm's push certificate (RC2-40 certificates, a 3DES key, a SHA-1 MAC, as older
    /// Keychain exports make them): its encrypted SafeContents is decrypted and read before
    /// OpenSSL opens it.
    #[test]
    fn legacy_push_certificate_opens_after_its_encrypted_safe_is_read() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fuzz/corpus/pkcs12/micromdm-pushcert.p12");
        let bytes = std::fs::read(path).unwrap();
        let mut outline = Outline::read(&bytes).unwrap();
        assert_eq!(outline.encrypted_safes.len(), 1);
        let visible = outline.iterations.len();
        outline.read_encrypted_safes(Some("secret")).unwrap();
        assert!(outline.encrypted_safes.is_empty());
        assert_eq!(outline.iterations.len(), visible, "certificate bags only");
        let limits = ImportLimits::default();
        let parsed = open_checked(&bytes, Some("secret"), &limits).unwrap();
        assert!(parsed.pkey.is_some() && parsed.cert.is_some());
        let error = open_checked(&bytes, Some("wrong"), &limits)
            .map(drop)
            .unwrap_err();
        assert!(matches!(error, Error::P12BadPassword), "{error}");
        let error = open_checked(&bytes, None, &limits).map(drop).unwrap_err();
        assert!(matches!(error, Error::P12PasswordRequired), "{error}");
    }
}

#[cfg(test)]
mod several_keys {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};

    use super::*;
    use crate::testing::TestIdentity;

    #[test]
    fn file_with_two_private_keys_is_refused() {
        let mut keystore = KeyStore::new();
        for (alias, marker) in [("first", 1u8), ("second", 2u8)] {
            let identity = TestIdentity::for_email(&format!("{alias}@example.com"));
            let key = PrivateKey::from_der(&identity.key.private_key_to_pkcs8().unwrap()).unwrap();
            let cert = Certificate::from_der(&identity.certificate.to_der().unwrap()).unwrap();
            let chain = PrivateKeyChain::new(vec![marker; 20], key, [cert]);
            keystore.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
        }
        let file = keystore.writer("pw").write().unwrap();
        // OpenSSL alone opens it and silently keeps the first key.
        assert!(open_stored(&file, Some("pw")).is_ok());
        let error = check_pkcs12(
            &file,
            Some("pw"),
            &ImportLimits::default(),
            OffsetDateTime::now_utc(),
        )
        .unwrap_err();
        assert!(
            matches!(error, Error::P12SeveralKeys { count: 2 }),
            "{error}"
        );
    }
}
