//! Sending e-mail notices (expiry warnings, enrollment invitations) through a pluggable
//! [`Notifier`].
//!
//! Core only defines the message and the trait; the SMTP implementation lives in the apns
//! crate (`mdmkit_apns::SmtpNotifier`), and an application may plug in its own (a mail API,
//! a queue, a test recorder).

use async_trait::async_trait;

/// A plain-text e-mail message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmailMessage {
    /// The recipients' addresses.
    pub to: Vec<String>,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
}

impl EmailMessage {
    /// A message to the given recipients.
    pub fn new(to: Vec<String>, subject: impl Into<String>, text_body: impl Into<String>) -> Self {
        Self {
            to,
            subject: subject.into(),
            text_body: text_body.into(),
        }
    }
}

/// Something that delivers e-mail messages.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one message to all its recipients. An error means that it was not delivered
    /// (to at least one recipient) and may be retried.
    async fn send(&self, message: EmailMessage) -> Result<(), crate::Error>;
}
