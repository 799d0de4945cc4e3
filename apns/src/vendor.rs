//! MDM-vendor signing of a customer's CSR, producing the file uploaded to Apple's Push
//! Certificates Portal.
//!
//! The upload file is the base64 of an XML plist with three strings:
//! `PushCertRequestCSR` (base64 of the CSR's DER), `PushCertCertificateChain` (the vendor
//! certificate, Apple's WWDR intermediate and Apple's root, in PEM, in that order) and
//! `PushCertSignature` (base64 of the RSA PKCS#1 v1.5 SHA-256 signature of the CSR's DER made
//! with the vendor's key).

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::sign::{Signer, Verifier};
use openssl::x509::{X509NameRef, X509};
use time::OffsetDateTime;

use crate::csr::{CertificateRequest, CsrSubject};
use crate::error::{Error, Result};
use crate::expiry::rfc3339;
use crate::key::PrivateKey;
use crate::push_cert::{read_certificate, read_pem_certificates, CertificateFields};

const CSR_KEY: &str = "PushCertRequestCSR";
const CHAIN_KEY: &str = "PushCertCertificateChain";
const SIGNATURE_KEY: &str = "PushCertSignature";

/// The files an MDM vendor signs with, as read from disk.
#[derive(Clone, Default)]
pub struct VendorFiles {
    /// The MDM vendor certificate Apple issued (DER or PEM).
    pub vendor_certificate: Vec<u8>,
    /// Its private key (PEM, possibly encrypted).
    pub vendor_key: Vec<u8>,
    /// The password of an encrypted vendor key.
    pub vendor_key_password: Option<String>,
    /// Apple's WWDR intermediate certificate that issued the vendor certificate (DER or PEM).
    pub wwdr_certificate: Vec<u8>,
    /// Apple's root certificate (Apple Root CA), which issued the WWDR certificate (DER or PEM).
    pub apple_root_certificate: Vec<u8>,
}

impl fmt::Debug for VendorFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorFiles")
            .field("vendor_certificate", &self.vendor_certificate.len())
            .field("vendor_key", &"<redacted>")
            .field(
                "vendor_key_password",
                &self.vendor_key_password.as_ref().map(|_| "<redacted>"),
            )
            .field("wwdr_certificate", &self.wwdr_certificate.len())
            .field("apple_root_certificate", &self.apple_root_certificate.len())
            .finish()
    }
}

/// An MDM vendor's signing credentials, checked to form a chain up to Apple's root.
#[derive(Debug, Clone)]
pub struct VendorSigner {
    certificate: X509,
    key: PrivateKey,
    wwdr: X509,
    apple_root: X509,
    subject: String,
    not_after: OffsetDateTime,
}

impl VendorSigner {
    /// Reads and checks the vendor's files: the key must be RSA and belong to the vendor
    /// certificate, the WWDR certificate must have issued the vendor certificate and the root
    /// must have issued the WWDR certificate, and the vendor certificate must not have expired.
    pub fn from_files(files: &VendorFiles) -> Result<Self> {
        let certificate = read_certificate(&files.vendor_certificate, "vendor certificate")?;
        let key = PrivateKey::from_pem(
            &files.vendor_key,
            files.vendor_key_password.as_deref(),
            "vendor key",
        )?;
        let wwdr = read_certificate(&files.wwdr_certificate, "WWDR certificate")?;
        let apple_root = read_certificate(&files.apple_root_certificate, "Apple root certificate")?;
        Self::new(certificate, key, wwdr, apple_root)
    }

    fn new(certificate: X509, key: PrivateKey, wwdr: X509, apple_root: X509) -> Result<Self> {
        if !key.is_rsa() {
            return Err(Error::NotRsa {
                what: "vendor key".into(),
            });
        }
        let public = certificate.public_key().map_err(Error::crypto)?;
        if !public.public_eq(key.pkey()) {
            return Err(Error::VendorKeyMismatch);
        }
        check_issued(
            &certificate,
            &wwdr,
            "the vendor certificate was not issued by the WWDR certificate supplied: supply \
             the Apple WWDR intermediate named as the vendor certificate's issuer",
        )?;
        check_issued(
            &wwdr,
            &apple_root,
            "the WWDR certificate was not issued by the Apple root certificate supplied: \
             supply Apple Root CA",
        )?;
        let fields = CertificateFields::read(
            &certificate.to_der().map_err(Error::crypto)?,
            "vendor certificate",
        )?;
        if OffsetDateTime::now_utc() >= fields.not_after {
            return Err(Error::Expired {
                topic: format!("MDM vendor certificate {}", fields.subject),
                not_after: rfc3339(fields.not_after),
            });
        }
        Ok(Self {
            certificate,
            key,
            wwdr,
            apple_root,
            subject: fields.subject,
            not_after: fields.not_after,
        })
    }

    /// The vendor certificate's subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// When the vendor certificate expires (it is renewed at Apple's developer site, yearly).
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Signs a customer's CSR: the separate-parties flow, where the customer made the CSR.
    pub fn sign(&self, request: &CertificateRequest) -> Result<PushCertUpload> {
        let mut signer =
            Signer::new(MessageDigest::sha256(), self.key.pkey()).map_err(Error::crypto)?;
        signer.update(request.der()).map_err(Error::crypto)?;
        let signature = signer.sign_to_vec().map_err(Error::crypto)?;
        let mut chain = String::new();
        for certificate in [&self.certificate, &self.wwdr, &self.apple_root] {
            let pem = certificate.to_pem().map_err(Error::crypto)?;
            chain.push_str(&String::from_utf8_lossy(&pem));
        }
        Ok(PushCertUpload {
            csr_der: request.der().to_vec(),
            certificate_chain: chain,
            signature,
        })
    }

    /// The vendor-is-the-customer flow in one call: generates the key and CSR and signs it.
    /// The returned key must be kept (see `PushCertLifecycle::create_signed_request`, which
    /// stores it as the pending key).
    pub fn create_signed_request(
        &self,
        subject: &CsrSubject,
    ) -> Result<(PrivateKey, CertificateRequest, PushCertUpload)> {
        let (key, request) = CertificateRequest::generate(subject)?;
        let upload = self.sign(&request)?;
        Ok((key, request, upload))
    }
}

fn check_issued(child: &X509, issuer: &X509, message: &str) -> Result<()> {
    let issuer_key = issuer.public_key().map_err(Error::crypto)?;
    let same_name = names_equal(child.issuer_name(), issuer.subject_name());
    let signed = child.verify(&issuer_key).unwrap_or(false);
    if same_name && signed {
        Ok(())
    } else {
        Err(Error::ChainMismatch(message.to_owned()))
    }
}

fn names_equal(a: &X509NameRef, b: &X509NameRef) -> bool {
    match (a.to_der(), b.to_der()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The file a customer uploads to Apple's Push Certificates Portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushCertUpload {
    csr_der: Vec<u8>,
    certificate_chain: String,
    signature: Vec<u8>,
}

impl PushCertUpload {
    /// The signed CSR, in DER.
    pub fn csr_der(&self) -> &[u8] {
        &self.csr_der
    }

    /// The PEM chain: vendor certificate, WWDR intermediate, Apple root.
    pub fn certificate_chain(&self) -> &str {
        &self.certificate_chain
    }

    /// The vendor's signature of the CSR's DER.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The XML plist.
    pub fn to_plist_xml(&self) -> Result<Vec<u8>> {
        let mut dictionary = plist::Dictionary::new();
        dictionary.insert(CSR_KEY.into(), BASE64.encode(&self.csr_der).into());
        dictionary.insert(CHAIN_KEY.into(), self.certificate_chain.clone().into());
        dictionary.insert(SIGNATURE_KEY.into(), BASE64.encode(&self.signature).into());
        let mut xml = Vec::new();
        plist::Value::Dictionary(dictionary)
            .to_writer_xml(&mut xml)
            .map_err(|e| Error::Crypto(format!("cannot write the plist: {e}")))?;
        Ok(xml)
    }

    /// The upload file's content: the base64 of the XML plist.
    pub fn to_base64(&self) -> Result<String> {
        Ok(BASE64.encode(self.to_plist_xml()?))
    }

    /// Reads an upload file (base64 of the plist, or the plist itself) and checks that the
    /// signature is the first chain certificate's signature of the CSR.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = |detail: &str| Error::InvalidInput {
            field: "push certificate upload file".into(),
            detail: detail.to_owned(),
        };
        let trimmed: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if trimmed.is_empty() {
            return Err(Error::EmptyInput {
                what: "push certificate upload file".into(),
            });
        }
        let xml = BASE64.decode(&trimmed).unwrap_or_else(|_| bytes.to_vec());
        let dictionary: plist::Dictionary =
            plist::from_bytes(&xml).map_err(|_| bad("not a plist, nor base64 of one"))?;
        let string = |key: &str| {
            dictionary
                .get(key)
                .and_then(plist::Value::as_string)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("{key} is missing or not a string")))
        };
        let csr_der = BASE64
            .decode(string(CSR_KEY)?)
            .map_err(|_| bad("PushCertRequestCSR is not base64"))?;
        let certificate_chain = string(CHAIN_KEY)?;
        let signature = BASE64
            .decode(string(SIGNATURE_KEY)?)
            .map_err(|_| bad("PushCertSignature is not base64"))?;
        let upload = Self {
            csr_der,
            certificate_chain,
            signature,
        };
        upload.verify()?;
        Ok(upload)
    }

    /// Checks the signature with the vendor certificate (the chain's first certificate).
    pub fn verify(&self) -> Result<()> {
        let chain = read_pem_certificates(self.certificate_chain.as_bytes(), "certificate chain")?;
        let vendor = X509::from_der(&chain[0]).map_err(Error::crypto)?;
        let public = vendor.public_key().map_err(Error::crypto)?;
        let mut verifier =
            Verifier::new(MessageDigest::sha256(), &public).map_err(Error::crypto)?;
        verifier.update(&self.csr_der).map_err(Error::crypto)?;
        if verifier.verify(&self.signature).unwrap_or(false) {
            Ok(())
        } else {
            Err(Error::InvalidInput {
                field: "push certificate upload file".into(),
                detail: "the signature does not match the vendor certificate".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestCa;
    use openssl::symm::Cipher;
    use time::Duration;

    struct Vendor {
        files: VendorFiles,
        root: TestCa,
        wwdr: TestCa,
    }

    fn vendor() -> Vendor {
        let root = TestCa::new("Test Apple Root CA");
        let wwdr = root.issue_intermediate("Test Apple WWDR CA");
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let certificate = wwdr.issue_leaf(
            "MDM Vendor: Example",
            &key,
            OffsetDateTime::now_utc() + Duration::days(200),
        );
        Vendor {
            files: VendorFiles {
                vendor_certificate: certificate,
                vendor_key: key.to_pem().unwrap(),
                vendor_key_password: None,
                wwdr_certificate: wwdr.certificate_pem(),
                apple_root_certificate: root.certificate_der(),
            },
            root,
            wwdr,
        }
    }

    #[test]
    fn signs_a_customer_request_and_reads_it_back() {
        let vendor = vendor();
        let signer = VendorSigner::from_files(&vendor.files).unwrap();
        let (_key, request) =
            CertificateRequest::generate(&CsrSubject::new("admin@example.com")).unwrap();
        let upload = signer.sign(&request).unwrap();
        assert_eq!(upload.csr_der(), request.der());
        let encoded = upload.to_base64().unwrap();
        let xml = String::from_utf8(BASE64.decode(&encoded).unwrap()).unwrap();
        assert!(xml.contains("<key>PushCertRequestCSR</key>"));
        assert!(xml.contains("<key>PushCertCertificateChain</key>"));
        assert!(xml.contains("<key>PushCertSignature</key>"));
        let back = PushCertUpload::parse(encoded.as_bytes()).unwrap();
        assert_eq!(back, upload);
        let chain = read_pem_certificates(upload.certificate_chain().as_bytes(), "chain").unwrap();
        assert_eq!(chain.len(), 3);
        assert_eq!(chain[1], vendor.wwdr.certificate_der());
        assert_eq!(chain[2], vendor.root.certificate_der());
        assert!(format!("{:?}", vendor.files).contains("<redacted>"));
    }

    #[test]
    fn reads_an_encrypted_vendor_key() {
        let mut vendor = vendor();
        let key = PrivateKey::from_pem(&vendor.files.vendor_key, None, "k").unwrap();
        vendor.files.vendor_key = key
            .pkey()
            .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"vendor-pw")
            .unwrap();
        assert_eq!(
            VendorSigner::from_files(&vendor.files).unwrap_err().code(),
            "key_bad_password"
        );
        vendor.files.vendor_key_password = Some("wrong".into());
        assert_eq!(
            VendorSigner::from_files(&vendor.files).unwrap_err().code(),
            "key_bad_password"
        );
        vendor.files.vendor_key_password = Some("vendor-pw".into());
        VendorSigner::from_files(&vendor.files).unwrap();
    }

    #[test]
    fn refuses_mismatched_key_and_chain() {
        let vendor = vendor();
        let mut files = vendor.files.clone();
        files.vendor_key = PrivateKey::generate_rsa_2048().unwrap().to_pem().unwrap();
        assert_eq!(
            VendorSigner::from_files(&files).unwrap_err().code(),
            "vendor_key_mismatch"
        );

        let mut files = vendor.files.clone();
        std::mem::swap(
            &mut files.wwdr_certificate,
            &mut files.apple_root_certificate,
        );
        let error = VendorSigner::from_files(&files).unwrap_err();
        assert_eq!(error.code(), "chain_mismatch");
        assert!(error.to_string().contains("WWDR"));

        let mut files = vendor.files.clone();
        files.apple_root_certificate = TestCa::new("Other root").certificate_pem();
        assert_eq!(
            VendorSigner::from_files(&files).unwrap_err().code(),
            "chain_mismatch"
        );

        let mut files = vendor.files.clone();
        files.wwdr_certificate = Vec::new();
        assert_eq!(
            VendorSigner::from_files(&files).unwrap_err().code(),
            "empty_input"
        );
    }

    #[test]
    fn refuses_an_expired_vendor_certificate() {
        let vendor = vendor();
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let mut files = vendor.files.clone();
        files.vendor_certificate = vendor.wwdr.issue_leaf(
            "MDM Vendor: Example",
            &key,
            OffsetDateTime::now_utc() - Duration::days(1),
        );
        files.vendor_key = key.to_pem().unwrap();
        assert_eq!(
            VendorSigner::from_files(&files).unwrap_err().code(),
            "certificate_expired"
        );
    }

    #[test]
    fn tampered_upload_fails_verification() {
        let vendor = vendor();
        let signer = VendorSigner::from_files(&vendor.files).unwrap();
        let (_key, request) =
            CertificateRequest::generate(&CsrSubject::new("admin@example.com")).unwrap();
        let (_other_key, other) =
            CertificateRequest::generate(&CsrSubject::new("admin@example.com")).unwrap();
        let mut upload = signer.sign(&request).unwrap();
        upload.csr_der = other.der().to_vec();
        assert_eq!(upload.verify().unwrap_err().code(), "invalid_input");
    }
}
