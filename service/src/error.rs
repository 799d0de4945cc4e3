//! The service layer's one error type: the errors of the crates below, with their stable
//! codes passed through unchanged, and the few the service adds (a missing setting).

/// Every error a [`Mdm`](crate::Mdm) call returns.
///
/// [`Error::code`] is the stable machine-readable code: for an error of a crate below it is
/// that crate's code, unchanged (`topic_mismatch`, `p12_bad_password`, `not_found`...), so
/// a binding maps codes, not types. `docs/errors.md` lists every code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the protocol core, the store or the engine.
    #[error(transparent)]
    Core(#[from] mdmkit_core::Error),
    /// An error of push certificates, the lifecycle or the APNs client.
    #[error(transparent)]
    Apns(#[from] mdmkit_apns::Error),
    /// An error of the PKCS#12 store of user certificates.
    #[error(transparent)]
    CertStore(#[from] mdmkit_certstore::Error),
    /// An error of enrollment, invitations or the portal.
    #[error(transparent)]
    Enrollment(#[from] mdmkit_enrollment::Error),
    /// A setting the operation needs is not in the store.
    #[error("the setting {name} is not set: {hint}")]
    SettingMissing {
        /// The setting's name.
        name: String,
        /// How to set it.
        hint: String,
    },
    /// A setting's name is unknown, or its value is not acceptable.
    #[error("setting {name}: {reason}")]
    InvalidSetting {
        /// The setting's name.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// An argument of the call is not acceptable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Core(error) => error.code(),
            Error::Apns(error) => error.code(),
            Error::CertStore(error) => error.code(),
            Error::Enrollment(error) => error.code(),
            Error::SettingMissing { .. } => "setting_missing",
            Error::InvalidSetting { .. } => "setting_invalid",
            Error::InvalidInput(_) => "invalid_input",
        }
    }

    pub(crate) fn input(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }
}

/// The service layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
