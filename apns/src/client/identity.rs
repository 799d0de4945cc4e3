//! The client certificate and key the APNs client authenticates with, and its endpoint.

use std::fmt;

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::push_cert::CertificateFields;
use crate::{Error, PushCertificate};

/// A push certificate with its private key, presented to APNs as the TLS client
/// certificate. `Debug` never shows the key.
#[derive(Clone)]
pub struct ClientIdentity {
    pub(crate) certificate: X509,
    pub(crate) key: PKey<Private>,
}

impl ClientIdentity {
    /// Reads a certificate and its private key, both PEM, and checks that they belong
    /// together.
    pub fn from_pem(certificate_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let certificate = X509::from_pem(certificate_pem)
            .map_err(|e| Error::InvalidIdentity(format!("certificate: {e}")))?;
        let key = PKey::private_key_from_pem(key_pem)
            .map_err(|e| Error::InvalidIdentity(format!("private key: {e}")))?;
        Self::from_parts(certificate, key)
    }

    /// The identity of a push certificate that carries its private key (as
    /// [`PushCertLifecycle::identity`](crate::PushCertLifecycle::identity) returns it):
    /// the one push-identity type of the crate, seen by the TLS layer.
    pub fn from_push_certificate(certificate: &PushCertificate) -> Result<Self, Error> {
        let key = certificate.private_key().ok_or_else(|| {
            Error::InvalidIdentity(format!(
                "the push certificate for {} has no private key",
                certificate.topic()
            ))
        })?;
        let x509 = X509::from_der(certificate.der())
            .map_err(|e| Error::InvalidIdentity(format!("certificate: {e}")))?;
        Self::from_parts(x509, key.pkey().clone())
    }

    fn from_parts(certificate: X509, key: PKey<Private>) -> Result<Self, Error> {
        let public = certificate
            .public_key()
            .map_err(|e| Error::InvalidIdentity(format!("certificate key: {e}")))?;
        if !public.public_eq(&key) {
            return Err(Error::InvalidIdentity(
                "the private key does not belong to the certificate".into(),
            ));
        }
        Ok(Self { certificate, key })
    }

    /// The push topic of the certificate: the UID attribute
    /// (OID 0.9.2342.19200300.100.1.1) of its subject, such as `com.apple.mgmt.External.…`,
    /// read as [`PushCertificate::topic`] reads it. A certificate without one is refused
    /// with [`Error::NoTopic`].
    pub fn topic(&self) -> Result<String, Error> {
        let der = self
            .certificate
            .to_der()
            .map_err(|e| Error::InvalidIdentity(format!("certificate: {e}")))?;
        let fields = CertificateFields::read(&der, "client certificate")?;
        match fields.uid {
            Some(topic) if !topic.is_empty() => Ok(topic),
            _ => Err(Error::NoTopic {
                subject: fields.subject,
            }),
        }
    }

    /// The serial number of the certificate (upper-case hexadecimal, as
    /// [`PushCertificate::serial`] spells it).
    pub fn serial(&self) -> Result<String, Error> {
        let der = self
            .certificate
            .to_der()
            .map_err(|e| Error::InvalidIdentity(format!("certificate: {e}")))?;
        Ok(CertificateFields::read(&der, "client certificate")?.serial)
    }
}

impl TryFrom<&PushCertificate> for ClientIdentity {
    type Error = Error;

    fn try_from(certificate: &PushCertificate) -> Result<Self, Error> {
        Self::from_push_certificate(certificate)
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("subject", &self.certificate.subject_name())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Where the APNs client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// Apple's production service, `api.push.apple.com:443`.
    Production,
    /// Apple's sandbox (development) service, `api.sandbox.push.apple.com:443`.
    Sandbox,
    /// Production on Apple's alternative port 2197 (for networks that block 443).
    ProductionAlternatePort,
    /// Sandbox on Apple's alternative port 2197.
    SandboxAlternatePort,
    /// Any other server speaking APNs' protocol (a test server, a proxy).
    Custom {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
}

impl Endpoint {
    /// Parses `https://host[:port][/]` (port 443 when absent) into a custom endpoint.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let invalid = |detail: &str| Error::InvalidEndpoint {
            url: url.to_owned(),
            detail: detail.to_owned(),
        };
        let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        if uri.scheme_str() != Some("https") {
            return Err(invalid("the scheme must be https"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid("a path or query is not allowed"));
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        Ok(Endpoint::Custom {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(443),
        })
    }

    /// The host name to connect to and verify.
    pub fn host(&self) -> &str {
        match self {
            Endpoint::Production | Endpoint::ProductionAlternatePort => "api.push.apple.com",
            Endpoint::Sandbox | Endpoint::SandboxAlternatePort => "api.sandbox.push.apple.com",
            Endpoint::Custom { host, .. } => host,
        }
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        match self {
            Endpoint::Production | Endpoint::Sandbox => 443,
            Endpoint::ProductionAlternatePort | Endpoint::SandboxAlternatePort => 2197,
            Endpoint::Custom { port, .. } => *port,
        }
    }

    /// The `host:port` authority of request URIs.
    pub(crate) fn authority(&self) -> String {
        if self.host().contains(':') {
            format!("[{}]:{}", self.host(), self.port())
        } else {
            format!("{}:{}", self.host(), self.port())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::Production.authority(), "api.push.apple.com:443");
        assert_eq!(
            Endpoint::SandboxAlternatePort.authority(),
            "api.sandbox.push.apple.com:2197"
        );
        assert_eq!(
            Endpoint::from_url("https://127.0.0.1:8443").unwrap(),
            Endpoint::Custom {
                host: "127.0.0.1".into(),
                port: 8443
            }
        );
        assert_eq!(
            Endpoint::from_url("https://proxy.example/").unwrap().port(),
            443
        );
        for bad in [
            "http://x:1",
            "https://x:1/3/device",
            "not a url",
            "https://",
        ] {
            let err = Endpoint::from_url(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_endpoint", "{bad}");
        }
    }

    #[test]
    fn bad_identity_is_an_error() {
        let err = ClientIdentity::from_pem(b"nope", b"nope").unwrap_err();
        assert_eq!(err.code(), "invalid_identity");
    }
}
