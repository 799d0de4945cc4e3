//! Throw-away S/MIME identities and PKCS#12 files for tests and benchmarks (feature
//! `testing`). Nothing here is for production use.

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

/// How a test identity's certificate is made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IdentitySpec {
    /// The e-mail address (subject alternative name and common name).
    pub email: String,
    /// Start of validity, in days from now (negative: in the past).
    pub not_before_days: i64,
    /// End of validity, in days from now (negative: expired).
    pub not_after_days: i64,
    /// The extended key usage: `Some(true)` emailProtection, `Some(false)` serverAuth
    /// only, `None` no extension.
    pub email_protection: Option<bool>,
}

impl IdentitySpec {
    /// A valid S/MIME certificate for `email` (from yesterday to a year from now).
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            not_before_days: -1,
            not_after_days: 365,
            email_protection: Some(true),
        }
    }

    /// Sets the validity window in days from now.
    pub fn valid_days(mut self, not_before_days: i64, not_after_days: i64) -> Self {
        self.not_before_days = not_before_days;
        self.not_after_days = not_after_days;
        self
    }

    /// Sets the extended key usage (see [`email_protection`](Self::email_protection)).
    pub fn with_email_protection(mut self, value: Option<bool>) -> Self {
        self.email_protection = value;
        self
    }
}

/// A certificate authority and an S/MIME identity it issued (EC P-256 keys).
pub struct TestIdentity {
    /// The issuing CA's certificate.
    pub ca_certificate: X509,
    /// The identity's certificate.
    pub certificate: X509,
    /// The identity's private key.
    pub key: PKey<Private>,
}

impl std::fmt::Debug for TestIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIdentity").finish_non_exhaustive()
    }
}

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256 group");
    PKey::from_ec_key(EcKey::generate(&group).expect("EC key")).expect("PKey")
}

fn days(offset: i64) -> Asn1Time {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Asn1Time::from_unix(now + offset * 86_400).expect("time")
}

fn serial() -> Asn1Integer {
    let mut bytes = [0u8; 12];
    openssl::rand::rand_bytes(&mut bytes).expect("random");
    bytes[0] &= 0x7f;
    BigNum::from_slice(&bytes)
        .and_then(|n| n.to_asn1_integer())
        .expect("serial")
}

impl TestIdentity {
    /// Issues an identity as `spec` says.
    pub fn new(spec: &IdentitySpec) -> Self {
        let ca_key = ec_key();
        let mut name = X509NameBuilder::new().expect("name");
        name.append_entry_by_text("CN", "mdmkit test S/MIME CA")
            .expect("CN");
        let ca_name = name.build();
        let mut ca = X509Builder::new().expect("builder");
        ca.set_version(2).expect("version");
        ca.set_serial_number(&serial()).expect("serial");
        ca.set_subject_name(&ca_name).expect("subject");
        ca.set_issuer_name(&ca_name).expect("issuer");
        ca.set_pubkey(&ca_key).expect("key");
        ca.set_not_before(&days(-30)).expect("nb");
        ca.set_not_after(&days(3650)).expect("na");
        ca.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
            .expect("ext");
        ca.sign(&ca_key, MessageDigest::sha256()).expect("sign");
        let ca_certificate = ca.build();

        let key = ec_key();
        let mut name = X509NameBuilder::new().expect("name");
        name.append_entry_by_text("CN", &spec.email).expect("CN");
        name.append_entry_by_text("O", "mdmkit tests").expect("O");
        let subject = name.build();
        let mut leaf = X509Builder::new().expect("builder");
        leaf.set_version(2).expect("version");
        leaf.set_serial_number(&serial()).expect("serial");
        leaf.set_subject_name(&subject).expect("subject");
        leaf.set_issuer_name(ca_certificate.subject_name())
            .expect("issuer");
        leaf.set_pubkey(&key).expect("key");
        leaf.set_not_before(&days(spec.not_before_days))
            .expect("nb");
        leaf.set_not_after(&days(spec.not_after_days)).expect("na");
        let context = leaf.x509v3_context(Some(&ca_certificate), None);
        let san = SubjectAlternativeName::new()
            .email(&spec.email)
            .build(&context)
            .expect("san");
        leaf.append_extension(san).expect("ext");
        match spec.email_protection {
            Some(true) => leaf
                .append_extension(
                    ExtendedKeyUsage::new()
                        .email_protection()
                        .build()
                        .expect("eku"),
                )
                .expect("ext"),
            Some(false) => leaf
                .append_extension(ExtendedKeyUsage::new().server_auth().build().expect("eku"))
                .expect("ext"),
            None => {}
        }
        leaf.sign(&ca_key, MessageDigest::sha256()).expect("sign");
        Self {
            ca_certificate,
            certificate: leaf.build(),
            key,
        }
    }

    /// A valid S/MIME identity for `email`.
    pub fn for_email(email: &str) -> Self {
        Self::new(&IdentitySpec::new(email))
    }

    fn chain(&self) -> Stack<X509> {
        let mut chain = Stack::new().expect("stack");
        chain.push(self.ca_certificate.clone()).expect("push");
        chain
    }

    /// A modern PKCS#12 (AES-256-CBC, PBKDF2, SHA-256 MAC) with key, certificate and CA.
    pub fn pkcs12_modern(&self, password: &str) -> Vec<u8> {
        let mut builder = Pkcs12::builder();
        builder
            .name("test identity")
            .pkey(&self.key)
            .cert(&self.certificate)
            .ca(self.chain())
            .key_algorithm(Nid::AES_256_CBC)
            .cert_algorithm(Nid::AES_256_CBC)
            .mac_md(MessageDigest::sha256());
        builder
            .build2(password)
            .and_then(|p| p.to_der())
            .expect("PKCS#12")
    }

    /// A legacy PKCS#12 as older Windows and Keychain exports make it: 3DES key, RC2-40
    /// certificates, SHA-1 MAC. Needs OpenSSL's legacy provider.
    pub fn pkcs12_legacy(&self, password: &str) -> Vec<u8> {
        mdmkit_core::openssl_legacy::load_legacy_provider();
        let mut builder = Pkcs12::builder();
        builder
            .name("test identity")
            .pkey(&self.key)
            .cert(&self.certificate)
            .ca(self.chain())
            .key_algorithm(Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC)
            .cert_algorithm(Nid::PBE_WITHSHA1AND40BITRC2_CBC)
            .mac_md(MessageDigest::sha1());
        builder
            .build2(password)
            .and_then(|p| p.to_der())
            .expect("legacy PKCS#12")
    }

    /// A PKCS#12 with the certificate only (no key).
    pub fn pkcs12_cert_only(&self, password: &str) -> Vec<u8> {
        let mut builder = Pkcs12::builder();
        builder
            .cert(&self.certificate)
            .mac_md(MessageDigest::sha256());
        builder
            .build2(password)
            .and_then(|p| p.to_der())
            .expect("PKCS#12")
    }

    /// A modern PKCS#12 with this many iterations for the key derivations and the MAC.
    pub fn pkcs12_with_iterations(&self, password: &str, iterations: u32) -> Vec<u8> {
        let mut builder = Pkcs12::builder();
        builder
            .pkey(&self.key)
            .cert(&self.certificate)
            .key_iter(iterations)
            .mac_iter(iterations)
            .mac_md(MessageDigest::sha256());
        builder
            .build2(password)
            .and_then(|p| p.to_der())
            .expect("PKCS#12")
    }

    /// The certificate, PEM.
    pub fn certificate_pem(&self) -> Vec<u8> {
        self.certificate.to_pem().expect("PEM")
    }

    /// The private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> Vec<u8> {
        self.key.private_key_to_pem_pkcs8().expect("PEM")
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        self.ca_certificate.to_pem().expect("PEM")
    }
}
