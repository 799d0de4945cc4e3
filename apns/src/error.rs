//! The one error type of the apns crate.

/// Everything that can go wrong in mdmkit's APNs crate.
///
/// Every variant has a stable, machine-readable [`code`](Error::code) that bindings map to
/// exception classes and that scripts may match on. The messages are written for the
/// administrator who made the mistake: they say what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input file is empty.
    #[error("the {what} is empty")]
    EmptyInput {
        /// What was expected (for example "push certificate file").
        what: String,
    },

    /// The input is neither PEM, nor DER, nor PKCS#12.
    #[error("the {what} is not a PEM, DER or PKCS#12 certificate: {detail}")]
    UnreadableCertificate {
        /// What was expected (for example "push certificate file").
        what: String,
        /// What the parser said.
        detail: String,
    },

    /// A PKCS#12 file could not be opened with the password given (or without one).
    #[error("cannot open the PKCS#12 file: wrong or missing password")]
    P12BadPassword,

    /// A PKCS#12 file opened but holds no certificate.
    #[error("the PKCS#12 file holds no certificate")]
    P12NoCertificate,

    /// A password contains a NUL character, which PKCS#12 and PEM cannot represent.
    #[error("the password contains a NUL character")]
    InvalidPassword,

    /// The certificate's subject has no UID attribute (OID 0.9.2342.19200300.100.1.1),
    /// so it is not an Apple MDM push certificate.
    #[error(
        "the certificate (subject {subject}) has no UID attribute: it is not an Apple MDM push \
         certificate"
    )]
    NoTopic {
        /// The certificate's subject.
        subject: String,
    },

    /// The certificate's UID attribute does not start with `com.apple.mgmt`, so it is not an
    /// MDM push certificate (it may be an app's push certificate).
    #[error(
        "the certificate's topic {topic:?} does not start with com.apple.mgmt: it is not an \
         Apple MDM push certificate"
    )]
    NotMdmTopic {
        /// The UID found in the certificate.
        topic: String,
    },

    /// A certificate has expired.
    #[error("the certificate for {topic} expired on {not_after}; request a new one")]
    Expired {
        /// The certificate's topic (or subject for a non-push certificate).
        topic: String,
        /// When it expired (RFC 3339).
        not_after: String,
    },

    /// The certificate's public key matches neither a pending key nor the key supplied.
    #[error(
        "the certificate's public key matches no pending certificate request{detail}; upload \
         the certificate issued for a request made here, or supply its private key"
    )]
    KeyMismatch {
        /// Extra detail (for example ", nor the key supplied").
        detail: String,
    },

    /// A certificate is registered for another topic.
    #[error(
        "a push certificate for topic {registered} is registered; the certificate offered has \
         topic {offered}. Renew the registered certificate at Apple's portal instead, or delete \
         it first (then every device enrolled under {registered} must reinstall its enrollment \
         profile)"
    )]
    TopicMismatch {
        /// The topic registered now.
        registered: String,
        /// The topic of the certificate offered.
        offered: String,
    },

    /// No push certificate is registered for the topic (never installed, or deleted): the
    /// one code for a missing topic, whether the lifecycle or a push met it.
    #[error(
        "no push certificate is registered for topic {topic}; install one with `mdmkit \
         push-cert install`"
    )]
    TopicNotFound {
        /// The topic asked for.
        topic: String,
    },

    /// A private key could not be read.
    #[error("cannot read the {what}: {detail}")]
    UnreadableKey {
        /// Which key (for example "vendor key").
        what: String,
        /// What the parser said.
        detail: String,
    },

    /// A private key is encrypted and the password is wrong or missing.
    #[error("cannot decrypt the {what}: wrong or missing password")]
    KeyBadPassword {
        /// Which key.
        what: String,
    },

    /// A key is not an RSA key where Apple requires one.
    #[error("the {what} is not an RSA key")]
    NotRsa {
        /// Which key.
        what: String,
    },

    /// A certificate signing request could not be read or is not self-consistent.
    #[error("cannot read the certificate signing request: {detail}")]
    UnreadableCsr {
        /// What went wrong.
        detail: String,
    },

    /// The vendor's private key does not belong to the vendor certificate.
    #[error("the vendor key does not belong to the vendor certificate")]
    VendorKeyMismatch,

    /// The Apple chain supplied does not certify the vendor certificate.
    #[error("{0}")]
    ChainMismatch(String),

    /// A field given by the caller is not acceptable.
    #[error("invalid {field}: {detail}")]
    InvalidInput {
        /// Which field.
        field: String,
        /// Why.
        detail: String,
    },

    /// OpenSSL failed on an operation that should not fail on valid input.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),

    /// The SMTP URL is not usable.
    #[error("invalid SMTP URL: {0}")]
    SmtpUrl(String),

    /// An e-mail address is not valid.
    #[error("invalid e-mail address {address:?}: {detail}")]
    EmailAddress {
        /// The address.
        address: String,
        /// Why.
        detail: String,
    },

    /// The SMTP server refused the message or could not be reached.
    #[error("sending the e-mail failed: {0}")]
    Smtp(String),

    // The APNs HTTP/2 client and the mock server.
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

    /// An error from mdmkit's core (a store, a notifier).
    #[error(transparent)]
    Core(#[from] mdmkit_core::Error),
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::EmptyInput { .. } => "empty_input",
            Error::UnreadableCertificate { .. } => "certificate_unreadable",
            Error::P12BadPassword => "p12_bad_password",
            Error::P12NoCertificate => "p12_no_certificate",
            Error::InvalidPassword => "invalid_password",
            Error::NoTopic { .. } => "no_topic",
            Error::NotMdmTopic { .. } => "not_mdm_topic",
            Error::Expired { .. } => "certificate_expired",
            Error::KeyMismatch { .. } => "key_mismatch",
            Error::TopicMismatch { .. } => "topic_mismatch",
            Error::TopicNotFound { .. } => "topic_not_found",
            Error::UnreadableKey { .. } => "key_unreadable",
            Error::KeyBadPassword { .. } => "key_bad_password",
            Error::NotRsa { .. } => "key_not_rsa",
            Error::UnreadableCsr { .. } => "csr_unreadable",
            Error::VendorKeyMismatch => "vendor_key_mismatch",
            Error::ChainMismatch(_) => "chain_mismatch",
            Error::InvalidInput { .. } => "invalid_input",
            Error::Crypto(_) => "crypto",
            Error::SmtpUrl(_) => "smtp_url",
            Error::EmailAddress { .. } => "email_address",
            Error::Smtp(_) => "smtp",
            Error::InvalidEndpoint { .. } => "invalid_endpoint",
            Error::InvalidIdentity(_) => "invalid_identity",
            Error::Tls(_) => "tls_failure",
            Error::Connection(_) => "connection_failure",
            Error::Http2(_) => "http2_failure",
            Error::InvalidConfig(_) => "invalid_config",
            Error::InvalidScript(_) => "invalid_script",
            Error::InvalidToken(_) => "invalid_token",
            Error::Core(error) => error.code(),
        }
    }

    pub(crate) fn crypto(error: openssl::error::ErrorStack) -> Self {
        Error::Crypto(error.to_string())
    }
}

impl Error {
    /// Every code [`code`](Error::code) returns for this crate's own errors, for bindings
    /// that map codes to exception classes and tests that check such maps are complete.
    /// Errors of the core crate passed through keep core's codes (`mdmkit_core::Error::CODES`).
    pub const CODES: &'static [&'static str] = &[
        "empty_input",
        "certificate_unreadable",
        "p12_bad_password",
        "p12_no_certificate",
        "invalid_password",
        "no_topic",
        "not_mdm_topic",
        "certificate_expired",
        "key_mismatch",
        "topic_mismatch",
        "topic_not_found",
        "key_unreadable",
        "key_bad_password",
        "key_not_rsa",
        "csr_unreadable",
        "vendor_key_mismatch",
        "chain_mismatch",
        "invalid_input",
        "crypto",
        "smtp_url",
        "email_address",
        "smtp",
        "invalid_endpoint",
        "invalid_identity",
        "tls_failure",
        "connection_failure",
        "http2_failure",
        "invalid_config",
        "invalid_script",
        "invalid_token",
    ];
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod codes_tests {
    /// `CODES` lists exactly the codes `code()` spells out, so a new code cannot be left out.
    #[test]
    fn codes_lists_every_code_of_code_fn() {
        let source = include_str!("error.rs");
        let start = source.find("pub fn code(&self)").unwrap();
        let body = &source[start..start + source[start..].find("\n    }\n").unwrap()];
        let mut spelled: Vec<&str> = body
            .split("=> \"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        spelled.sort_unstable();
        spelled.dedup();
        let mut listed = super::Error::CODES.to_vec();
        listed.sort_unstable();
        assert_eq!(listed, spelled);
    }
}
