//! The enrollment crate's error type.

/// Everything that can go wrong in enrollment and the self-service portal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from mdmkit-core (store, engine, profile signing...).
    #[error(transparent)]
    Core(#[from] mdmkit_core::Error),
    /// A certificate or key could not be read, made or packaged.
    #[error("certificate error: {0}")]
    Certificate(String),
    /// The enrollment or invitation token is unknown, already used, expired, revoked or
    /// of another kind. The cases are not told apart, so a guesser learns nothing.
    #[error("token is invalid, used or expired")]
    TokenInvalid,
    /// The e-mail address or password is wrong, or the user is disabled.
    #[error("sign-in failed")]
    SignInFailed,
    /// Too many failed sign-ins for this account; try again later.
    #[error("too many failed sign-ins; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until sign-in is accepted again.
        retry_after_secs: u64,
    },
    /// The device does not exist or does not belong to the signed-in user (the two are
    /// answered alike on purpose).
    #[error("device not found: {0}")]
    DeviceNotFound(String),
    /// The session is unknown, ended or expired, or its user can no longer sign in.
    #[error("not signed in")]
    NotSignedIn,
    /// The privacy settings forbid locating devices.
    #[error("location disabled by privacy settings")]
    LocationDisabled,
    /// A caller-supplied value is not acceptable (empty password, bad URL...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl Error {
    /// A stable, machine-readable code for the error (core errors keep core's codes).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Core(inner) => inner.code(),
            Error::Certificate(_) => "certificate_unreadable",
            Error::TokenInvalid => "token_invalid",
            Error::SignInFailed => "sign_in_failed",
            Error::RateLimited { .. } => "rate_limited",
            Error::DeviceNotFound(_) => "device_not_found",
            Error::NotSignedIn => "not_signed_in",
            Error::LocationDisabled => "location_disabled",
            Error::InvalidInput(_) => "invalid_input",
        }
    }
}

impl Error {
    /// Every code [`code`](Error::code) returns for this crate's own errors, for bindings
    /// that map codes to exception classes and tests that check such maps are complete.
    /// Errors of the core crate passed through keep core's codes (`mdmkit_core::Error::CODES`).
    pub const CODES: &'static [&'static str] = &[
        "certificate_unreadable",
        "token_invalid",
        "sign_in_failed",
        "rate_limited",
        "device_not_found",
        "not_signed_in",
        "location_disabled",
        "invalid_input",
    ];
}

impl From<openssl::error::ErrorStack> for Error {
    fn from(error: openssl::error::ErrorStack) -> Self {
        Error::Certificate(error.to_string())
    }
}

/// The crate's result type.
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
