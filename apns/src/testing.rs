//! A throw-away certificate authority for tests, examples and benchmarks (feature `testing`).
//!
//! It issues push-like certificates (with or without a `UID`), MDM vendor certificates and
//! intermediates, so that tests never depend on Apple-issued files. Test code only: the
//! functions panic on OpenSSL failures instead of returning errors.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::x509::extension::BasicConstraints;
use openssl::x509::{X509Name, X509NameBuilder, X509};
use time::OffsetDateTime;

use crate::key::PrivateKey;

/// A certificate authority with its key.
#[derive(Debug)]
pub struct TestCa {
    certificate: X509,
    key: PrivateKey,
}

impl TestCa {
    /// A new self-signed root CA with the given common name, valid for ten years.
    pub fn new(common_name: &str) -> Self {
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let name = name(&[(Nid::COMMONNAME, common_name)]);
        let now = OffsetDateTime::now_utc();
        let certificate = build(
            &name,
            &name,
            &key,
            &key,
            now - time::Duration::days(1),
            now + time::Duration::days(3650),
            true,
        );
        Self { certificate, key }
    }

    /// A CA issued by this one (for example an Apple WWDR-like intermediate).
    pub fn issue_intermediate(&self, common_name: &str) -> TestCa {
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let now = OffsetDateTime::now_utc();
        let certificate = build(
            &name(&[(Nid::COMMONNAME, common_name)]),
            self.certificate.subject_name(),
            &key,
            &self.key,
            now - time::Duration::days(1),
            now + time::Duration::days(3650),
            true,
        );
        TestCa { certificate, key }
    }

    /// A push-like certificate for `key`, valid until `not_after` (and from a year before),
    /// with `UID=topic` in its subject when `topic` is given. Returns DER.
    pub fn issue_push_cert(
        &self,
        topic: Option<&str>,
        key: &PrivateKey,
        not_after: OffsetDateTime,
    ) -> Vec<u8> {
        let mut entries = vec![
            (Nid::COUNTRYNAME, "US"),
            (Nid::COMMONNAME, "APSP:11111111-2222-3333-4444-555555555555"),
        ];
        if let Some(topic) = topic {
            entries.push((Nid::USERID, topic));
        }
        self.issue(&name(&entries), key, not_after)
    }

    /// A leaf certificate (for example an MDM vendor certificate) with the given common name
    /// for `key`, valid until `not_after`. Returns DER.
    pub fn issue_leaf(
        &self,
        common_name: &str,
        key: &PrivateKey,
        not_after: OffsetDateTime,
    ) -> Vec<u8> {
        self.issue(&name(&[(Nid::COMMONNAME, common_name)]), key, not_after)
    }

    fn issue(&self, subject: &X509Name, key: &PrivateKey, not_after: OffsetDateTime) -> Vec<u8> {
        let not_before = not_after - time::Duration::days(365);
        build(
            subject,
            self.certificate.subject_name(),
            key,
            &self.key,
            not_before,
            not_after,
            false,
        )
        .to_der()
        .unwrap()
    }

    /// This CA's certificate in PEM.
    pub fn certificate_pem(&self) -> Vec<u8> {
        self.certificate.to_pem().unwrap()
    }

    /// This CA's certificate in DER.
    pub fn certificate_der(&self) -> Vec<u8> {
        self.certificate.to_der().unwrap()
    }

    /// This CA's private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// A DER certificate converted to PEM.
    pub fn pem_of(&self, der: &[u8]) -> Vec<u8> {
        X509::from_der(der).unwrap().to_pem().unwrap()
    }

    /// A PKCS#12 file holding `certificate` (DER) and `key`, protected by `password`.
    pub fn pkcs12(certificate: &[u8], key: &PrivateKey, password: &str) -> Vec<u8> {
        let certificate = X509::from_der(certificate).unwrap();
        let mut builder = Pkcs12::builder();
        builder.name("push").pkey(key.pkey()).cert(&certificate);
        builder.build2(password).unwrap().to_der().unwrap()
    }
}

fn name(entries: &[(Nid, &str)]) -> X509Name {
    let mut builder = X509NameBuilder::new().unwrap();
    for (nid, value) in entries {
        builder.append_entry_by_nid(*nid, value).unwrap();
    }
    builder.build()
}

fn build(
    subject: &openssl::x509::X509NameRef,
    issuer: &openssl::x509::X509NameRef,
    key: &PrivateKey,
    issuer_key: &PrivateKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    is_ca: bool,
) -> X509 {
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    builder
        .set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
        .unwrap();
    builder.set_subject_name(subject).unwrap();
    builder.set_issuer_name(issuer).unwrap();
    builder.set_pubkey(key.pkey()).unwrap();
    builder
        .set_not_before(&Asn1Time::from_unix(not_before.unix_timestamp()).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::from_unix(not_after.unix_timestamp()).unwrap())
        .unwrap();
    if is_ca {
        builder
            .append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
    }
    builder
        .sign(issuer_key.pkey(), MessageDigest::sha256())
        .unwrap();
    builder.build()
}
