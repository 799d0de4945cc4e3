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

    /// The codes of the service's own errors (a missing or invalid setting, bad input).
    pub const CODES: &'static [&'static str] =
        &["setting_missing", "setting_invalid", "invalid_input"];

    /// Every code a [`Mdm`](crate::Mdm) call can fail with: the service's own and those of
    /// every crate below, sorted, without repeats. Bindings check their table of exception
    /// classes against it, so a new code cannot be forgotten.
    pub fn all_codes() -> Vec<&'static str> {
        let mut codes = [
            Self::CODES,
            mdmkit_core::Error::CODES,
            mdmkit_apns::Error::CODES,
            mdmkit_certstore::Error::CODES,
            mdmkit_enrollment::Error::CODES,
        ]
        .concat();
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    pub(crate) fn input(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }
}

/// The service layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
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
        let mut listed = super::Error::CODES.to_vec();
        listed.sort_unstable();
        assert_eq!(listed, spelled);
        assert!(super::Error::all_codes().contains(&"topic_mismatch"));
    }

    /// docs/errors.md (written by tools/gen_errors_md.py) documents every code.
    #[test]
    fn every_code_is_documented() {
        let table = include_str!("../../docs/errors.md");
        for code in super::Error::all_codes() {
            assert!(
                table.contains(&format!("| `{code}` |")),
                "{code} is not in docs/errors.md: run python3 tools/gen_errors_md.py"
            );
        }
    }
}
