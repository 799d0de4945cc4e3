//! The one error type of the certstore crate.

/// Everything that can go wrong in mdmkit's certificate store.
///
/// Every variant has a stable, machine-readable [`code`](Error::code). The messages are
/// written for the end user or administrator who made the mistake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The upload is not a PKCS#12 file (PEM, bare DER certificate, anything else).
    #[error("the file must be PKCS#12")]
    NotPkcs12,

    /// The upload is larger than the configured cap.
    #[error("the file is {size} bytes; at most {limit} bytes are accepted")]
    FileTooLarge {
        /// The upload's size.
        size: usize,
        /// The cap.
        limit: usize,
    },

    /// A key derivation or MAC in the file asks for more iterations than the cap allows.
    #[error(
        "the file asks for {iterations} key-derivation iterations; at most {limit} are accepted"
    )]
    TooManyIterations {
        /// The iteration count found (the largest one, or the total).
        iterations: u64,
        /// The cap.
        limit: u64,
    },

    /// The file has no MAC, so its integrity cannot be checked.
    #[error("the PKCS#12 file has no integrity MAC; export it again with a password")]
    P12NoMac,

    /// The file protects its content with an algorithm whose cost cannot be checked before
    /// deriving keys (a key-derivation function other than PBKDF2, an unknown scheme or
    /// content type).
    #[error("the PKCS#12 file uses an unsupported protection: {0}")]
    P12UnsupportedAlgorithm(String),

    /// The password is wrong.
    #[error("cannot open the PKCS#12 file: wrong password")]
    P12BadPassword,

    /// No password was given and the file needs one.
    #[error("the PKCS#12 file is protected by a password; give it")]
    P12PasswordRequired,

    /// The password contains a NUL character, which PKCS#12 cannot represent.
    #[error("the password contains a NUL character")]
    InvalidPassword,

    /// The file holds no private key.
    #[error("the PKCS#12 file holds no private key")]
    P12NoPrivateKey,

    /// The file holds more than one private key.
    #[error("the PKCS#12 file holds {count} private keys; exactly one is accepted")]
    P12SeveralKeys {
        /// How many keys were found.
        count: usize,
    },

    /// The file holds no certificate matching its private key.
    #[error("the PKCS#12 file holds no certificate matching its private key")]
    P12NoMatchingCertificate,

    /// The certificate has expired.
    #[error("the certificate expired on {not_after}")]
    CertificateExpired {
        /// The end of its validity (RFC 3339).
        not_after: String,
    },

    /// The certificate is not valid yet.
    #[error("the certificate is not valid before {not_before}")]
    CertificateNotYetValid {
        /// The start of its validity (RFC 3339).
        not_before: String,
    },

    /// The certificate's extended key usage does not include e-mail protection.
    #[error("the certificate is not for e-mail: its extended key usage lacks emailProtection")]
    NotForEmail,

    /// The certificate or the file could not be read after opening.
    #[error("cannot read the certificate: {0}")]
    UnreadableCertificate(String),

    /// No certificate kind with this id or name.
    #[error("no certificate kind {0:?}")]
    UnknownKind(String),

    /// A certificate kind with this id already exists.
    #[error("a certificate kind {0:?} already exists")]
    KindExists(String),

    /// No user certificate with this id.
    #[error("no certificate {0:?}")]
    UnknownCertificate(String),

    /// The certificate's private key was cleared; it cannot be used for this.
    #[error("the private key of certificate {0:?} was cleared")]
    KeyCleared(String),

    /// An argument is invalid (an empty name, ...).
    #[error("invalid {field}: {detail}")]
    InvalidInput {
        /// Which argument.
        field: String,
        /// What is wrong with it.
        detail: String,
    },

    /// A configuration could not be rebuilt with the certificate (not a profile, invalid
    /// after filling it).
    #[error("configuration {configuration}: {detail}")]
    Configuration {
        /// The configuration's id.
        configuration: String,
        /// What is wrong.
        detail: String,
    },

    /// Installing a profile on a device failed.
    #[error("cannot install configuration {configuration} on {enrollment}: {detail}")]
    Install {
        /// The configuration's id.
        configuration: String,
        /// The enrollment.
        enrollment: String,
        /// What the installer said.
        detail: String,
    },

    /// An OpenSSL operation failed (building a PKCS#12 package).
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),

    /// The store (or another part of mdmkit-core) failed.
    #[error(transparent)]
    Core(#[from] mdmkit_core::Error),
}

impl Error {
    /// A stable, machine-readable name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotPkcs12 => "p12_not_pkcs12",
            Error::FileTooLarge { .. } => "p12_too_large",
            Error::TooManyIterations { .. } => "p12_too_many_iterations",
            Error::P12NoMac => "p12_no_mac",
            Error::P12UnsupportedAlgorithm(_) => "p12_unsupported_algorithm",
            Error::P12BadPassword => "p12_bad_password",
            Error::P12PasswordRequired => "p12_password_required",
            Error::InvalidPassword => "invalid_password",
            Error::P12NoPrivateKey => "p12_no_private_key",
            Error::P12SeveralKeys { .. } => "p12_several_keys",
            Error::P12NoMatchingCertificate => "p12_no_matching_certificate",
            Error::CertificateExpired { .. } => "certificate_expired",
            Error::CertificateNotYetValid { .. } => "certificate_not_yet_valid",
            Error::NotForEmail => "certificate_not_for_email",
            Error::UnreadableCertificate(_) => "certificate_unreadable",
            Error::UnknownKind(_) => "unknown_kind",
            Error::KindExists(_) => "kind_exists",
            Error::UnknownCertificate(_) => "unknown_certificate",
            Error::KeyCleared(_) => "key_cleared",
            Error::InvalidInput { .. } => "invalid_input",
            Error::Configuration { .. } => "configuration_invalid",
            Error::Install { .. } => "install_failed",
            Error::Crypto(_) => "crypto",
            Error::Core(inner) => inner.code(),
        }
    }
}

impl Error {
    /// Every code [`code`](Error::code) returns for this crate's own errors, for bindings
    /// that map codes to exception classes and tests that check such maps are complete.
    /// Errors of the core crate passed through keep core's codes (`mdmkit_core::Error::CODES`).
    pub const CODES: &'static [&'static str] = &[
        "p12_not_pkcs12",
        "p12_too_large",
        "p12_too_many_iterations",
        "p12_no_mac",
        "p12_bad_password",
        "p12_password_required",
        "invalid_password",
        "p12_no_private_key",
        "p12_several_keys",
        "p12_no_matching_certificate",
        "certificate_expired",
        "certificate_not_yet_valid",
        "certificate_not_for_email",
        "certificate_unreadable",
        "unknown_kind",
        "kind_exists",
        "unknown_certificate",
        "key_cleared",
        "invalid_input",
        "configuration_invalid",
        "install_failed",
        "crypto",
        "p12_unsupported_algorithm",
    ];
}

/// The certstore crate's result type.
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
