//! The error type of the core crate.

/// Everything that can go wrong in mdmkit's core.
///
/// Every variant has a stable, machine-readable [`code`](Error::code) that bindings map to
/// exception classes and that applications may match on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `Status` value that is not one of Apple's command statuses.
    #[error("unknown command status {0:?}")]
    UnknownStatus(String),

    /// A [`Notifier`](crate::notify::Notifier) could not deliver a message.
    #[error("notification not sent: {0}")]
    Notify(String),
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownStatus(_) => "unknown_status",
            Error::Notify(_) => "notify_failed",
        }
    }
}
