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

    /// A record the caller named does not exist in the store.
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// What kind of record was looked up ("enrollment", "command", ...).
        kind: &'static str,
        /// The identifier that was looked up.
        id: String,
    },

    /// The write contradicts what the store already holds (for example the same
    /// CommandUUID enqueued again with a different payload).
    #[error("store conflict: {0}")]
    StoreConflict(String),

    /// A command result names a command that was never queued to that enrollment.
    #[error("command {command_uuid:?} was not queued to enrollment {enrollment}")]
    CommandNotQueued {
        /// The CommandUUID of the result.
        command_uuid: String,
        /// The enrollment that sent the result.
        enrollment: String,
    },

    /// A value given to the store is not acceptable (an empty target list, an `Idle`
    /// status recorded as a command result, ...).
    #[error("invalid store input: {0}")]
    StoreInput(String),

    /// The database failed, or holds data this version cannot read.
    #[error("store backend error: {0}")]
    StoreBackend(String),

    /// Encrypting or decrypting a secret at rest failed: a wrong or missing key, or
    /// tampered data.
    #[error("store encryption error: {0}")]
    StoreCrypto(String),
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownStatus(_) => "unknown_status",
            Error::NotFound { .. } => "not_found",
            Error::StoreConflict(_) => "store_conflict",
            Error::CommandNotQueued { .. } => "command_not_queued",
            Error::StoreInput(_) => "store_input",
            Error::StoreBackend(_) => "store_backend",
            Error::StoreCrypto(_) => "store_crypto",
        }
    }
}
