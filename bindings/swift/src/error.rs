//! The one error of the component.

/// Every failure of an mdmkit call: the stable `code` (`topic_mismatch`, `not_found`,
/// `unknown_key`... — `docs/errors.md` lists them, [`error_codes`](crate::error_codes)
/// returns them) and a message for people. Messages never carry a secret.
///
/// In Swift: `catch MdmError.Failed(let code, let message)`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum MdmError {
    /// The call was refused or failed.
    #[error("{code}: {message}")]
    Failed {
        /// The stable machine-readable code.
        code: String,
        /// What went wrong, for people.
        message: String,
    },
}

impl MdmError {
    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            MdmError::Failed { code, .. } => code,
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        MdmError::Failed {
            code: "invalid_input".into(),
            message: message.into(),
        }
    }
}

impl From<mdmkit_service::Error> for MdmError {
    fn from(error: mdmkit_service::Error) -> Self {
        MdmError::Failed {
            code: error.code().to_owned(),
            message: error.to_string(),
        }
    }
}

impl From<mdmkit_core::Error> for MdmError {
    fn from(error: mdmkit_core::Error) -> Self {
        MdmError::from(mdmkit_service::Error::from(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_pass_through_unchanged() {
        let error = MdmError::from(mdmkit_core::Error::UnknownRequestType("X".into()));
        assert_eq!(error.code(), "unknown_request_type");
        assert!(error.to_string().starts_with("unknown_request_type: "));
        assert_eq!(MdmError::invalid_input("x").code(), "invalid_input");
    }
}
