//! An SMTP [`Notifier`] (lettre): plain SMTP, STARTTLS and SMTPS from one URL.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mdmkit_core::notify::{EmailMessage, Notifier};

use crate::error::{Error, Result};

/// How long one SMTP exchange may take before it is abandoned.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends e-mail through an SMTP server given as a URL:
///
/// * `smtp://host[:port]`: plain SMTP (port 25 by default);
/// * `smtp://host[:port]?tls=required`: STARTTLS, refusing a server that does not offer it
///   (port 587 by default); `?tls=opportunistic` uses it when offered;
/// * `smtps://host[:port]`: SMTP inside TLS (port 465 by default).
///
/// `user:password@` before the host logs in. `Debug` never shows the password.
#[derive(Clone)]
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl SmtpNotifier {
    /// A notifier sending through the server at `url` with sender address `from`.
    pub fn new(url: &str, from: &str) -> Result<Self> {
        Self::build(url, from, None)
    }

    /// Like [`new`](Self::new), also trusting the given CA certificate (PEM) for the server's
    /// TLS certificate: for a company mail server with its own CA.
    pub fn with_root_certificate(url: &str, from: &str, ca_pem: &[u8]) -> Result<Self> {
        Self::build(url, from, Some(ca_pem))
    }

    fn build(url: &str, from: &str, ca_pem: Option<&[u8]>) -> Result<Self> {
        let parsed = SmtpUrl::parse(url)?;
        let from: Mailbox =
            from.parse()
                .map_err(|e: lettre::address::AddressError| Error::EmailAddress {
                    address: from.to_owned(),
                    detail: e.to_string(),
                })?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| Error::SmtpUrl(e.to_string()))?
            .timeout(Some(DEFAULT_SMTP_TIMEOUT));
        if let Some(ca_pem) = ca_pem {
            let certificate =
                Certificate::from_pem(ca_pem).map_err(|e| Error::UnreadableCertificate {
                    what: "SMTP CA certificate".into(),
                    detail: e.to_string(),
                })?;
            let parameters = TlsParameters::builder(parsed.host.clone())
                .add_root_certificate(certificate)
                .build()
                .map_err(|e| Error::SmtpUrl(e.to_string()))?;
            builder = match parsed.security {
                Security::Plain => builder,
                Security::StartTlsRequired => builder.tls(Tls::Required(parameters)),
                Security::StartTlsOpportunistic => builder.tls(Tls::Opportunistic(parameters)),
                Security::Implicit => builder.tls(Tls::Wrapper(parameters)),
            };
        }
        Ok(Self {
            transport: builder.build(),
            from,
            server: parsed.display,
        })
    }

    /// The sender address.
    pub fn from_address(&self) -> String {
        self.from.to_string()
    }

    fn message(&self, message: &EmailMessage) -> Result<Message> {
        if message.to.is_empty() {
            return Err(Error::InvalidInput {
                field: "recipients".into(),
                detail: "a message needs at least one recipient".into(),
            });
        }
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(message.subject.clone())
            .header(ContentType::TEXT_PLAIN);
        for to in &message.to {
            let mailbox: Mailbox =
                to.parse()
                    .map_err(|e: lettre::address::AddressError| Error::EmailAddress {
                        address: to.clone(),
                        detail: e.to_string(),
                    })?;
            builder = builder.to(mailbox);
        }
        builder
            .body(message.text_body.clone())
            .map_err(|e| Error::Smtp(e.to_string()))
    }

    /// Sends one message, with this crate's error type.
    pub async fn send_message(&self, message: &EmailMessage) -> Result<()> {
        let email = self.message(message)?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| Error::Smtp(format!("{} ({})", e, self.server)))
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, message: EmailMessage) -> Result<(), mdmkit_core::Error> {
        self.send_message(&message)
            .await
            .map_err(|e| mdmkit_core::Error::Notify(e.to_string()))
    }
}

impl fmt::Debug for SmtpNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpNotifier")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    StartTlsRequired,
    StartTlsOpportunistic,
    Implicit,
}

/// What this crate needs to know of an SMTP URL beyond what lettre reads from it.
struct SmtpUrl {
    host: String,
    security: Security,
    /// The URL without user name or password, for messages.
    display: String,
}

impl SmtpUrl {
    fn parse(url: &str) -> Result<Self> {
        let bad = |detail: &str| {
            Error::SmtpUrl(format!("{detail} (expected smtp://host:port, smtp://host:port?tls=required or smtps://host:port)"))
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let (authority_and_path, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let authority = authority_and_path.split('/').next().unwrap_or("");
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or("").to_owned(),
            None => host_port.split(':').next().unwrap_or("").to_owned(),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let tls = query.and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("tls="))
                .map(str::to_owned)
        });
        let security = match (scheme, tls.as_deref()) {
            ("smtp", None) => Security::Plain,
            ("smtp", Some("required")) => Security::StartTlsRequired,
            ("smtp", Some("opportunistic")) => Security::StartTlsOpportunistic,
            ("smtps", _) => Security::Implicit,
            ("smtp", Some(other)) => return Err(bad(&format!("unknown tls={other}"))),
            (other, _) => return Err(bad(&format!("unknown scheme {other:?}"))),
        };
        let display = match query {
            Some(q) => format!("{scheme}://{host_port}?{q}"),
            None => format!("{scheme}://{host_port}"),
        };
        Ok(Self {
            host,
            security,
            display,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let plain = SmtpUrl::parse("smtp://mail.example.com:2525").unwrap();
        assert_eq!(plain.security, Security::Plain);
        assert_eq!(plain.host, "mail.example.com");
        let starttls = SmtpUrl::parse("smtp://u:p@mail.example.com?tls=required").unwrap();
        assert_eq!(starttls.security, Security::StartTlsRequired);
        assert_eq!(starttls.display, "smtp://mail.example.com?tls=required");
        let implicit = SmtpUrl::parse("smtps://mail.example.com").unwrap();
        assert_eq!(implicit.security, Security::Implicit);
        for bad in [
            "mail.example.com",
            "http://x",
            "smtp://",
            "smtp://h?tls=maybe",
        ] {
            assert_eq!(
                SmtpUrl::parse(bad).err().map(|e| e.code()),
                Some("smtp_url"),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let notifier =
            SmtpNotifier::new("smtp://alice:hunter2@127.0.0.1:2525", "mdm@example.com").unwrap();
        let shown = format!("{notifier:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("127.0.0.1:2525"));
    }

    #[test]
    fn refuses_a_bad_sender() {
        let error = SmtpNotifier::new("smtp://127.0.0.1:2525", "not an address").unwrap_err();
        assert_eq!(error.code(), "email_address");
    }
}
