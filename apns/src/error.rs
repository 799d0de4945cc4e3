//! The error type of the apns crate.

/// Everything that can go wrong in mdmkit's APNs support.
///
/// Every variant has a stable, machine-readable [`code`](Error::code). A push that APNs
/// refuses is not an error: it is a [`PushOutcome`](mdmkit_core::push::PushOutcome).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An endpoint URL that is not `https://host[:port]`.
    #[error("invalid APNs endpoint {url:?}: {detail}")]
    InvalidEndpoint {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A certificate or private key that cannot be read, or a key that does not match its
    /// certificate.
    #[error("invalid certificate or key: {0}")]
    InvalidIdentity(String),
    /// A push certificate whose subject has no UID attribute, so no topic.
    #[error("the certificate has no topic (UID attribute in its subject)")]
    MissingTopic,
    /// The TLS layer could not be set up or the handshake failed.
    #[error("TLS failure: {0}")]
    Tls(String),
    /// A network connection could not be made or was lost.
    #[error("connection failure: {0}")]
    Connection(String),
    /// The peer broke the HTTP/2 protocol or did not negotiate it.
    #[error("HTTP/2 failure: {0}")]
    Http2(String),
    /// An invalid configuration value (zero connections, zero attempts...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A mock server script that cannot be parsed.
    #[error("invalid mock script: {0}")]
    InvalidScript(String),
    /// A device token that is not hexadecimal.
    #[error("invalid device token {0:?}: expected hexadecimal")]
    InvalidToken(String),
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidEndpoint { .. } => "invalid_endpoint",
            Error::InvalidIdentity(_) => "invalid_identity",
            Error::MissingTopic => "missing_topic",
            Error::Tls(_) => "tls_failure",
            Error::Connection(_) => "connection_failure",
            Error::Http2(_) => "http2_failure",
            Error::InvalidConfig(_) => "invalid_config",
            Error::InvalidScript(_) => "invalid_script",
            Error::InvalidToken(_) => "invalid_token",
        }
    }
}
