//! The error type of the core crate.

/// Everything that can go wrong in mdmkit's core.
///
/// Every variant has a stable, machine-readable [`code`](Error::code) that bindings map to
/// exception classes and that applications may match on. Messages name the key path of the
/// offending value (`DeviceLock.Options.PurchaseMethod`) where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is not an XML or binary property list, or is truncated.
    #[error("malformed property list: {0}")]
    MalformedPlist(String),

    /// The body is larger than the configured limit.
    #[error("body of {size} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The size of the body.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// Arrays and dictionaries are nested deeper than the configured limit.
    #[error("property list nested deeper than {limit} levels")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },

    /// A required key is absent.
    #[error("missing required key {path}")]
    MissingKey {
        /// The key path, dot-separated.
        path: String,
    },

    /// A value has the wrong plist type.
    #[error("{path}: expected {expected}, found {found}")]
    WrongType {
        /// The key path, dot-separated (empty for the top level).
        path: String,
        /// The type the schema requires.
        expected: &'static str,
        /// The type that was found.
        found: &'static str,
    },

    /// A value is of the right type but not one the schema allows.
    #[error("{path}: {value:?} is not allowed (allowed: {allowed})")]
    InvalidValue {
        /// The key path, dot-separated.
        path: String,
        /// The value that was found, as text.
        value: String,
        /// The allowed values, comma-separated.
        allowed: String,
    },

    /// A key the schema does not define (reported by strict validation only; decoding keeps
    /// unknown keys).
    #[error("unknown key {path}")]
    UnknownKey {
        /// The key path, dot-separated.
        path: String,
    },

    /// A `RequestType` that is not in Apple's schema.
    #[error("unknown RequestType {0:?}")]
    UnknownRequestType(String),

    /// A check-in `MessageType` that is not in Apple's schema.
    #[error("unknown check-in MessageType {0:?}")]
    UnknownMessageType(String),

    /// A message carries none of the keys that identify its enrollment (UDID, EnrollmentID).
    #[error("message identifies no enrollment (no UDID or EnrollmentID)")]
    MissingEnrollmentId,

    /// A `Status` value that is not one of Apple's command statuses.
    #[error("unknown command status {0:?}")]
    UnknownStatus(String),

    /// A [`Notifier`](crate::notify::Notifier) could not deliver a message.
    #[error("notification not sent: {0}")]
    Notify(String),
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

    /// The at-rest key does not match the key check the store recorded when it was
    /// created (or, for a store from before key checks, does not open its sealed
    /// values): the store was opened with another key, and nothing was written.
    #[error("the at-rest key does not match this store: {0}")]
    StoreKeyMismatch(String),

    /// A new at-rest key was offered for a store that already holds data: a key is
    /// created only for a new, empty store.
    #[error("{0}")]
    StoreNotEmpty(String),

    /// A file holding a secret (a key, a password) can be read or written by others
    /// than its owner (Unix mode bits 0o077), so it is refused.
    #[error("permissions {mode:04o} for '{path}' are too open; it must be readable by its owner only (chmod 600)")]
    SecretFileTooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },

    /// A file holding a secret could not be read, created or written.
    #[error("{0}")]
    SecretFile(String),
    /// The device cannot run the command (platform, version, supervision, enrollment type
    /// or channel).
    #[error("{request_type} is not supported here: {reason}")]
    CommandNotSupported {
        /// The command's RequestType.
        request_type: String,
        /// Why the device cannot run it.
        reason: String,
    },

    /// A value could not be converted from or to JSON.
    #[error("{path}: {message}")]
    Json {
        /// The key path, dot-separated.
        path: String,
        /// What is wrong.
        message: String,
    },

    /// A configuration profile breaks a rule of the profile format (duplicate identifier,
    /// a reference to a missing or unsuitable payload, no payloads, encrypted content).
    #[error("{path}: {message}")]
    Profile {
        /// The payload and key path, as `PayloadType(PayloadIdentifier).Key`.
        path: String,
        /// What is wrong.
        message: String,
    },

    /// A signed profile could not be signed, read or verified (garbled, tampered, untrusted).
    #[error("profile signature: {0}")]
    Signature(String),

    /// A certificate or private key could not be read, or they do not belong together.
    #[error("{0}")]
    Certificate(String),

    /// A certificate's key cannot be used for what is asked (a profile can only be
    /// encrypted to an RSA key).
    #[error("{0}")]
    KeyNotSupported(String),

    /// A profile's `EncryptedPayloadContent` could not be written or read: garbled, not
    /// an EnvelopedData, or not a PayloadContent array once decrypted.
    #[error("profile encryption: {0}")]
    ProfileEncryption(String),

    /// A profile's payloads are not encrypted to the certificate given to decrypt them.
    #[error("{0}")]
    NotRecipient(String),

    /// A property list could not be written.
    #[error("cannot encode property list: {0}")]
    Encode(String),

    /// A device message could not be authenticated: no or a bad `Mdm-Signature`, a
    /// certificate that does not chain to a configured CA, or a certificate that is not
    /// the one bound to the enrollment. The engine answers HTTP 400.
    #[error("device authentication failed: {0}")]
    DeviceAuth(String),

    /// An action needs the device's UnlockToken and none is stored (the device sent none
    /// in its TokenUpdate).
    #[error("no UnlockToken is stored for enrollment {0}")]
    UnlockTokenMissing(String),

    /// An action needs the device's identity certificate and none is stored (the device
    /// authenticated before mdmkit kept certificates, or its certificate was never seen).
    #[error("no identity certificate is stored for enrollment {0}")]
    IdentityCertificateMissing(String),

    /// The enrollment is not managed right now: it has not sent its TokenUpdate yet, or
    /// it checked out.
    #[error("enrollment {0} is not enabled (no TokenUpdate yet, or checked out)")]
    EnrollmentDisabled(String),

    /// A webhook sink's settings are unusable (URL, secret, CA certificates), or a
    /// webhook signature does not verify.
    #[error("webhook: {0}")]
    Webhook(String),

    /// A declaration is malformed beyond its payload's keys: no or an overlong
    /// Identifier, a Type in the wrong category for where it is used, an activation
    /// predicate whose parentheses, brackets, braces or quotes do not balance.
    #[error("declaration {identifier}: {message}")]
    DeclarationInvalid {
        /// The declaration's Identifier (empty when it has none).
        identifier: String,
        /// What is wrong.
        message: String,
    },

    /// A declaration refers to another declaration that does not exist or is of the wrong
    /// type (an activation's StandardConfigurations naming a missing configuration, a
    /// configuration's asset reference naming a missing asset or one of another type).
    /// Nothing is stored.
    #[error("declaration {identifier}: {key} refers to {target:?}, which {reason}")]
    DeclarationReference {
        /// The referring declaration's Identifier.
        identifier: String,
        /// The payload key that holds the reference.
        key: String,
        /// The Identifier it names.
        target: String,
        /// Why it does not fit ("does not exist", "is a com.apple.asset.data, not ...").
        reason: String,
    },

    /// A declarative-management request or status report cannot be used: not JSON,
    /// nested too deep, of the wrong shape, or for an endpoint that does not exist.
    #[error("declarative management: {0}")]
    DeclarativeRequest(String),
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MalformedPlist(_) => "plist_malformed",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::TooDeep { .. } => "plist_too_deep",
            Error::MissingKey { .. } => "missing_key",
            Error::WrongType { .. } => "wrong_type",
            Error::InvalidValue { .. } => "invalid_value",
            Error::UnknownKey { .. } => "unknown_key",
            Error::UnknownRequestType(_) => "unknown_request_type",
            Error::UnknownMessageType(_) => "unknown_message_type",
            Error::MissingEnrollmentId => "missing_enrollment_id",
            Error::UnknownStatus(_) => "unknown_status",
            Error::Notify(_) => "notify_failed",
            Error::NotFound { .. } => "not_found",
            Error::StoreConflict(_) => "store_conflict",
            Error::CommandNotQueued { .. } => "command_not_queued",
            Error::StoreInput(_) => "store_input",
            Error::StoreBackend(_) => "store_backend",
            Error::StoreCrypto(_) => "store_crypto",
            Error::StoreKeyMismatch(_) => "store_key_mismatch",
            Error::StoreNotEmpty(_) => "store_not_empty",
            Error::SecretFileTooOpen { .. } => "secret_file_too_open",
            Error::SecretFile(_) => "secret_file_io",
            Error::CommandNotSupported { .. } => "command_not_supported",
            Error::Json { .. } => "json_invalid",
            Error::Profile { .. } => "profile_invalid",
            Error::Signature(_) => "profile_signature",
            Error::Certificate(_) => "certificate_unreadable",
            Error::KeyNotSupported(_) => "key_not_supported",
            Error::ProfileEncryption(_) => "profile_encryption",
            Error::NotRecipient(_) => "profile_not_recipient",
            Error::Encode(_) => "plist_encode",
            Error::DeviceAuth(_) => "device_auth_failed",
            Error::UnlockTokenMissing(_) => "unlock_token_missing",
            Error::IdentityCertificateMissing(_) => "identity_certificate_missing",
            Error::EnrollmentDisabled(_) => "enrollment_disabled",
            Error::Webhook(_) => "webhook_invalid",
            Error::DeclarationInvalid { .. } => "declaration_invalid",
            Error::DeclarationReference { .. } => "declaration_reference",
            Error::DeclarativeRequest(_) => "declarative_request_invalid",
        }
    }
}

impl Error {
    /// Every code [`code`](Error::code) returns for this crate's own errors, for bindings
    /// that map codes to exception classes and tests that check such maps are complete.
    pub const CODES: &'static [&'static str] = &[
        "plist_malformed",
        "body_too_large",
        "plist_too_deep",
        "missing_key",
        "wrong_type",
        "invalid_value",
        "unknown_key",
        "unknown_request_type",
        "unknown_message_type",
        "missing_enrollment_id",
        "unknown_status",
        "notify_failed",
        "not_found",
        "store_conflict",
        "command_not_queued",
        "store_input",
        "store_backend",
        "store_crypto",
        "command_not_supported",
        "json_invalid",
        "profile_invalid",
        "profile_signature",
        "certificate_unreadable",
        "key_not_supported",
        "profile_encryption",
        "profile_not_recipient",
        "plist_encode",
        "device_auth_failed",
        "unlock_token_missing",
        "identity_certificate_missing",
        "enrollment_disabled",
        "webhook_invalid",
        "store_key_mismatch",
        "store_not_empty",
        "secret_file_too_open",
        "secret_file_io",
        "declaration_invalid",
        "declaration_reference",
        "declarative_request_invalid",
    ];
}

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
