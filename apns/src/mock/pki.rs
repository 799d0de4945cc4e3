//! Throwaway certificates for the mock: a CA, a server certificate for the loopback
//! address, and a client (push) certificate with a topic.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Name, X509};

use crate::Error;

/// A CA with a server certificate for `127.0.0.1`/`localhost` and a client certificate
/// whose subject UID is the push topic, all PEM and valid for a day. Private keys are
/// P-256. For tests and local trials only.
#[derive(Clone)]
#[non_exhaustive]
pub struct TestPki {
    /// The CA certificate (trust it on both sides).
    pub ca_pem: Vec<u8>,
    /// The server certificate.
    pub server_cert_pem: Vec<u8>,
    /// The server private key.
    pub server_key_pem: Vec<u8>,
    /// The client (push) certificate.
    pub client_cert_pem: Vec<u8>,
    /// The client private key.
    pub client_key_pem: Vec<u8>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestPki { .. }")
    }
}

fn key() -> Result<PKey<Private>, openssl::error::ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn name(entries: &[(Nid, &str)]) -> Result<openssl::x509::X509Name, openssl::error::ErrorStack> {
    let mut builder = X509Name::builder()?;
    for (nid, value) in entries {
        builder.append_entry_by_nid(*nid, value)?;
    }
    Ok(builder.build())
}

fn issue(
    subject: &openssl::x509::X509NameRef,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    server: bool,
) -> Result<X509, openssl::error::ErrorStack> {
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(subject)?;
    builder.set_pubkey(key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(1)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    match issuer {
        None => {
            builder.set_issuer_name(subject)?;
            builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
            builder.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()?,
            )?;
            builder.sign(key, MessageDigest::sha256())?;
        }
        Some((ca, ca_key)) => {
            builder.set_issuer_name(ca.subject_name())?;
            builder.append_extension(BasicConstraints::new().build()?)?;
            if server {
                let san = SubjectAlternativeName::new()
                    .ip("127.0.0.1")
                    .dns("localhost")
                    .build(&builder.x509v3_context(Some(ca), None))?;
                builder.append_extension(san)?;
            }
            builder.sign(ca_key, MessageDigest::sha256())?;
        }
    }
    Ok(builder.build())
}

impl TestPki {
    /// Generates a new set; the client certificate's subject UID is `topic`.
    pub fn generate(topic: &str) -> Result<Self, Error> {
        Self::generate_inner(topic).map_err(|e| Error::Tls(e.to_string()))
    }

    fn generate_inner(topic: &str) -> Result<Self, openssl::error::ErrorStack> {
        let ca_key = key()?;
        let ca_name = name(&[(Nid::COMMONNAME, "mdmkit mock APNs CA")])?;
        let ca = issue(&ca_name, &ca_key, None, false)?;
        let server_key = key()?;
        let server_name = name(&[(Nid::COMMONNAME, "localhost")])?;
        let server = issue(&server_name, &server_key, Some((&ca, &ca_key)), true)?;
        let client_key = key()?;
        let client_name = name(&[
            (Nid::USERID, topic),
            (Nid::COMMONNAME, &format!("APSP:{topic}")),
        ])?;
        let client = issue(&client_name, &client_key, Some((&ca, &ca_key)), false)?;
        Ok(Self {
            ca_pem: ca.to_pem()?,
            server_cert_pem: server.to_pem()?,
            server_key_pem: server_key.private_key_to_pem_pkcs8()?,
            client_cert_pem: client.to_pem()?,
            client_key_pem: client_key.private_key_to_pem_pkcs8()?,
        })
    }
}
