//! The customer's key pair and certificate signing request (CSR) for a push certificate.

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509NameBuilder, X509Req};

use crate::error::{Error, Result};
use crate::key::{contains, PrivateKey};

/// The common name used when the caller gives none.
pub const DEFAULT_COMMON_NAME: &str = "MDM Push Certificate";

/// The subject of a push certificate request: e-mail address (required), common name and
/// organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrSubject {
    email: String,
    common_name: String,
    organization: Option<String>,
}

impl CsrSubject {
    /// A subject with the administrator's e-mail address and the default common name.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            common_name: DEFAULT_COMMON_NAME.to_owned(),
            organization: None,
        }
    }

    /// Sets the common name (CN).
    pub fn common_name(mut self, common_name: impl Into<String>) -> Self {
        self.common_name = common_name.into();
        self
    }

    /// Sets the organisation (O).
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    fn validate(&self) -> Result<()> {
        self.email
            .parse::<lettre::Address>()
            .map_err(|e| Error::EmailAddress {
                address: self.email.clone(),
                detail: e.to_string(),
            })?;
        let check = |field: &str, value: &str| {
            if value.trim().is_empty() {
                Err(Error::InvalidInput {
                    field: field.to_owned(),
                    detail: "must not be empty".into(),
                })
            } else if value.len() > 64 {
                Err(Error::InvalidInput {
                    field: field.to_owned(),
                    detail: "at most 64 characters".into(),
                })
            } else {
                Ok(())
            }
        };
        check("common name", &self.common_name)?;
        if let Some(organization) = &self.organization {
            check("organization", organization)?;
        }
        Ok(())
    }
}

/// A PKCS#10 certificate signing request, held as DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    der: Vec<u8>,
}

impl CertificateRequest {
    /// Generates the customer's RSA-2048 key and a CSR for it. Store the key (encrypted) until
    /// Apple's certificate comes back: the certificate is useless without it.
    pub fn generate(subject: &CsrSubject) -> Result<(PrivateKey, CertificateRequest)> {
        subject.validate()?;
        let key = PrivateKey::generate_rsa_2048()?;
        let request = Self::for_key(subject, &key)?;
        Ok((key, request))
    }

    /// A CSR for an existing key.
    pub fn for_key(subject: &CsrSubject, key: &PrivateKey) -> Result<Self> {
        subject.validate()?;
        let mut name = X509NameBuilder::new().map_err(Error::crypto)?;
        name.append_entry_by_nid(Nid::COMMONNAME, &subject.common_name)
            .map_err(|e| invalid("common name", e))?;
        if let Some(organization) = &subject.organization {
            name.append_entry_by_nid(Nid::ORGANIZATIONNAME, organization)
                .map_err(|e| invalid("organization", e))?;
        }
        name.append_entry_by_nid(Nid::PKCS9_EMAILADDRESS, &subject.email)
            .map_err(|e| invalid("e-mail address", e))?;
        let name = name.build();
        let mut builder = X509Req::builder().map_err(Error::crypto)?;
        builder.set_version(0).map_err(Error::crypto)?;
        builder.set_subject_name(&name).map_err(Error::crypto)?;
        builder.set_pubkey(key.pkey()).map_err(Error::crypto)?;
        builder
            .sign(key.pkey(), MessageDigest::sha256())
            .map_err(Error::crypto)?;
        let der = builder.build().to_der().map_err(Error::crypto)?;
        Ok(Self { der })
    }

    /// Reads a CSR in PEM or DER and checks its self-signature.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::EmptyInput {
                what: "certificate signing request".into(),
            });
        }
        let unreadable = |e: openssl::error::ErrorStack| Error::UnreadableCsr {
            detail: e.to_string(),
        };
        let request = if contains(bytes, b"-----BEGIN") {
            X509Req::from_pem(bytes).map_err(unreadable)?
        } else {
            X509Req::from_der(bytes).map_err(unreadable)?
        };
        let public = request.public_key().map_err(unreadable)?;
        if !request.verify(&public).map_err(unreadable)? {
            return Err(Error::UnreadableCsr {
                detail: "its signature does not match its public key".into(),
            });
        }
        let der = request.to_der().map_err(Error::crypto)?;
        Ok(Self { der })
    }

    /// The CSR in DER (what the vendor signs).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The CSR in PEM.
    pub fn to_pem(&self) -> Result<String> {
        let pem = X509Req::from_der(&self.der)
            .and_then(|r| r.to_pem())
            .map_err(Error::crypto)?;
        String::from_utf8(pem).map_err(|e| Error::Crypto(e.to_string()))
    }

    /// The DER SubjectPublicKeyInfo of the requested key.
    pub fn public_key_der(&self) -> Result<Vec<u8>> {
        X509Req::from_der(&self.der)
            .and_then(|r| r.public_key())
            .and_then(|k| k.public_key_to_der())
            .map_err(Error::crypto)
    }

    /// The requested subject, as `CN=..., O=..., emailAddress=...`.
    pub fn subject(&self) -> Result<String> {
        use x509_parser::prelude::FromDer;
        let (_, request) =
            x509_parser::certification_request::X509CertificationRequest::from_der(&self.der)
                .map_err(|e| Error::UnreadableCsr {
                    detail: e.to_string(),
                })?;
        Ok(crate::push_cert::name_string(
            &request.certification_request_info.subject,
        ))
    }
}

fn invalid(field: &str, error: openssl::error::ErrorStack) -> Error {
    Error::InvalidInput {
        field: field.to_owned(),
        detail: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_self_consistent_request() {
        let subject = CsrSubject::new("admin@example.com")
            .common_name("Example MDM")
            .organization("Example Inc.");
        let (key, request) = CertificateRequest::generate(&subject).unwrap();
        assert_eq!(
            request.public_key_der().unwrap(),
            key.public_key_der().unwrap()
        );
        let subject = request.subject().unwrap();
        assert!(subject.contains("CN=Example MDM"), "{subject}");
        assert!(subject.contains("O=Example Inc."), "{subject}");
        assert!(
            subject.contains("emailAddress=admin@example.com"),
            "{subject}"
        );
        let pem = request.to_pem().unwrap();
        assert_eq!(CertificateRequest::parse(pem.as_bytes()).unwrap(), request);
        assert_eq!(CertificateRequest::parse(request.der()).unwrap(), request);
        assert!(key.is_rsa());
    }

    #[test]
    fn refuses_bad_subjects_and_garbage() {
        let error = CertificateRequest::generate(&CsrSubject::new("not an address")).unwrap_err();
        assert_eq!(error.code(), "email_address");
        let error = CertificateRequest::generate(&CsrSubject::new("a@b.example").common_name(" "))
            .unwrap_err();
        assert_eq!(error.code(), "invalid_input");
        assert_eq!(
            CertificateRequest::parse(b"").unwrap_err().code(),
            "empty_input"
        );
        assert_eq!(
            CertificateRequest::parse(b"garbage").unwrap_err().code(),
            "csr_unreadable"
        );
    }
}
