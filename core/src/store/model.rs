//! The records the store traits read and write.
//!
//! Records are `#[non_exhaustive]` structs with public fields: build one with its `new`
//! constructor (required fields only), then set the optional fields. New fields can be
//! added later without breaking callers. Times are UTC timestamps; stores keep them with
//! microsecond precision.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{CommandStatus, EnrollmentId, Secret};

/// The current time, truncated to the microsecond precision every store keeps.
pub fn now_micros() -> OffsetDateTime {
    truncate_to_micros(OffsetDateTime::now_utc())
}

/// A timestamp truncated to the microsecond precision every store keeps.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// Where to push an enrollment: what its last TokenUpdate said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushInfo {
    /// The APNs device token (raw bytes, as `Token` carries them).
    pub token: Vec<u8>,
    /// The `PushMagic` string to send in the push payload.
    pub push_magic: String,
    /// The APNs topic (the push certificate's UID) this enrollment listens on.
    pub topic: String,
    /// When APNs answered 410 Unregistered for this token; `None` while it is valid.
    /// A new TokenUpdate clears it.
    pub invalid_since: Option<OffsetDateTime>,
}

impl PushInfo {
    /// Push info from a TokenUpdate, valid.
    pub fn new(token: Vec<u8>, push_magic: impl Into<String>, topic: impl Into<String>) -> Self {
        Self {
            token,
            push_magic: push_magic.into(),
            topic: topic.into(),
            invalid_since: None,
        }
    }

    /// Whether the token may be pushed to.
    pub fn is_valid(&self) -> bool {
        self.invalid_since.is_none()
    }
}

/// One enrollment: a device channel or a user channel, with what the server knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnrollmentRecord {
    /// The enrollment's identifier.
    pub id: EnrollmentId,
    /// Apple's enrollment type when known ("Device", "User", "UserEnrollmentDevice", ...).
    pub enrollment_type: Option<String>,
    /// The topic the device enrolled with; `None` when unknown (very old enrollments).
    pub enrolled_topic: Option<String>,
    /// Push info from the last TokenUpdate.
    pub push: Option<PushInfo>,
    /// The `UnlockToken` from TokenUpdate (clears the passcode).
    pub unlock_token: Option<Secret>,
    /// The bootstrap token the device escrowed (SetBootstrapToken).
    pub bootstrap_token: Option<Secret>,
    /// Lowercase hex SHA-256 of the device identity certificate bound at Authenticate.
    pub identity_cert_sha256: Option<String>,
    /// The device identity certificate bound at Authenticate (or by
    /// [`Engine::rebind_identity`](crate::engine::Engine::rebind_identity)), DER: what profiles
    /// are encrypted to. `None` for enrollments authenticated before mdmkit kept it.
    pub identity_certificate: Option<Vec<u8>>,
    /// The portal user who owns the device (end user), if any.
    pub owner: Option<String>,
    /// Whether the enrollment may be managed: false after Authenticate until TokenUpdate,
    /// and after CheckOut.
    pub enabled: bool,
    /// The raw plist of the last Authenticate message.
    pub authenticate_message: Option<Vec<u8>>,
    /// The raw plist of the last TokenUpdate message.
    pub token_update_message: Option<Vec<u8>>,
    /// When the device last contacted the server.
    pub last_seen: Option<OffsetDateTime>,
    /// When the record was first written.
    pub created_at: OffsetDateTime,
    /// When the record was last written.
    pub updated_at: OffsetDateTime,
}

impl EnrollmentRecord {
    /// A new, disabled enrollment with nothing known yet.
    pub fn new(id: EnrollmentId) -> Self {
        let now = now_micros();
        Self {
            id,
            enrollment_type: None,
            enrolled_topic: None,
            push: None,
            unlock_token: None,
            bootstrap_token: None,
            identity_cert_sha256: None,
            identity_certificate: None,
            owner: None,
            enabled: false,
            authenticate_message: None,
            token_update_message: None,
            last_seen: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A device (hardware), shared by its device channel and its user channels.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceRecord {
    /// The device identifier: the UDID, or the EnrollmentID of a User Enrollment
    /// (the same string as [`EnrollmentId::device_part`]).
    pub device_id: String,
    /// The serial number, when known.
    pub serial_number: Option<String>,
    /// The model identifier ("iPhone15,2").
    pub model: Option<String>,
    /// The product name.
    pub product_name: Option<String>,
    /// The OS version ("17.4").
    pub os_version: Option<String>,
    /// The OS build version.
    pub build_version: Option<String>,
    /// The raw plist of the last DeviceInformation `QueryResponses`, when stored.
    pub device_information: Option<Vec<u8>>,
    /// When the record was last written.
    pub updated_at: OffsetDateTime,
}

impl DeviceRecord {
    /// A device with nothing known but its identifier.
    pub fn new(device_id: impl Into<String>) -> Self {
        Self {
            device_id: device_id.into(),
            serial_number: None,
            model: None,
            product_name: None,
            os_version: None,
            build_version: None,
            device_information: None,
            updated_at: now_micros(),
        }
    }
}

/// Which enrollments [`EnrollmentStore::list_enrollments`](super::EnrollmentStore::list_enrollments)
/// returns. Every field set narrows the result; results are ordered by identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnrollmentQuery {
    /// Only enrollments owned by this portal user.
    pub owner: Option<String>,
    /// Only enrollments of this device (its device channel and user channels).
    pub device_id: Option<String>,
    /// Only enabled (true) or disabled (false) enrollments.
    pub enabled: Option<bool>,
    /// Only enrollments bound to the device identity certificate with this hash
    /// (lowercase hex SHA-256 of its DER).
    pub identity_cert_sha256: Option<String>,
    /// Only enrollments whose identifier sorts after this one (paging).
    pub after: Option<EnrollmentId>,
    /// At most this many.
    pub limit: Option<u32>,
}

impl EnrollmentQuery {
    /// Every enrollment.
    pub fn all() -> Self {
        Self::default()
    }
}

/// One enrollment to push to, as [`EnrollmentStore::push_targets_for_topic`](super::EnrollmentStore::push_targets_for_topic)
/// lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushTarget {
    /// The enrollment.
    pub enrollment_id: EnrollmentId,
    /// Its push info.
    pub push: PushInfo,
}

impl PushTarget {
    /// Pairs an enrollment with its push info.
    pub fn new(enrollment_id: EnrollmentId, push: PushInfo) -> Self {
        Self {
            enrollment_id,
            push,
        }
    }
}

/// A command to queue: the complete command plist, opaque to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueuedCommand {
    /// The `CommandUUID`.
    pub command_uuid: String,
    /// The `RequestType` ("DeviceLock", ...).
    pub request_type: String,
    /// The complete command plist, as the device receives it.
    pub payload: Vec<u8>,
    /// Higher priorities are handed out first; within one priority, first in first out.
    pub priority: i32,
    /// When the command was first enqueued.
    pub created_at: OffsetDateTime,
}

impl QueuedCommand {
    /// A command of priority 0, created now.
    pub fn new(
        command_uuid: impl Into<String>,
        request_type: impl Into<String>,
        payload: Vec<u8>,
    ) -> Self {
        Self {
            command_uuid: command_uuid.into(),
            request_type: request_type.into(),
            payload,
            priority: 0,
            created_at: now_micros(),
        }
    }

    /// The same command with another creation time.
    pub fn with_created(mut self, created_at: OffsetDateTime) -> Self {
        self.created_at = truncate_to_micros(created_at);
        self
    }

    /// The same command with another priority.
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }
}

/// How to pick the next command for an enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NextCommand {
    /// Skip commands whose last status is NotNow: true while answering a result on the
    /// same connection, false when the device starts a new one with `Idle`.
    pub skip_not_now: bool,
    /// A command handed out but not answered becomes eligible again after this long
    /// (the device may have lost it). Until then no other dequeue returns it, so two
    /// engines dequeuing at once never hand out the same command.
    pub redeliver_after: time::Duration,
    /// The time of the dequeue (now, unless a test pins the clock).
    pub at: OffsetDateTime,
}

impl NextCommand {
    /// The default time after which an unanswered command is handed out again.
    pub const DEFAULT_REDELIVER_AFTER: time::Duration = time::Duration::minutes(5);

    /// The next command for a device that just said `Idle` (a new connection): NotNow
    /// commands are eligible again.
    pub fn after_idle() -> Self {
        Self {
            skip_not_now: false,
            redeliver_after: Self::DEFAULT_REDELIVER_AFTER,
            at: now_micros(),
        }
    }

    /// The next command after the device answered with `status` on this connection:
    /// commands it answered NotNow are skipped unless `status` is `Idle`.
    pub fn after_result(status: CommandStatus) -> Self {
        Self {
            skip_not_now: status != CommandStatus::Idle,
            ..Self::after_idle()
        }
    }

    /// The same request at another time.
    pub fn at(mut self, at: OffsetDateTime) -> Self {
        self.at = truncate_to_micros(at);
        self
    }
}

/// A device's answer to a command, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandResultRecord {
    /// The `CommandUUID` the result answers.
    pub command_uuid: String,
    /// The reported status (never `Idle`).
    pub status: CommandStatus,
    /// The complete result plist as the device sent it.
    pub payload: Vec<u8>,
    /// When the result arrived.
    pub received_at: OffsetDateTime,
}

impl CommandResultRecord {
    /// A result received now.
    pub fn new(command_uuid: impl Into<String>, status: CommandStatus, payload: Vec<u8>) -> Self {
        Self {
            command_uuid: command_uuid.into(),
            status,
            payload,
            received_at: now_micros(),
        }
    }
}

/// One target of a queued command: where it stands for one enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandTargetStatus {
    /// The enrollment the command was queued to.
    pub enrollment_id: EnrollmentId,
    /// The `CommandUUID`.
    pub command_uuid: String,
    /// The last status the enrollment reported; `None` while it has not answered.
    pub status: Option<CommandStatus>,
    /// When the command was handed out to the device, while it awaits an answer.
    pub delivered_at: Option<OffsetDateTime>,
    /// The last result received, if any.
    pub result: Option<CommandResultRecord>,
}

impl CommandTargetStatus {
    /// Whether the command is finished for this enrollment (a final status).
    pub fn is_finished(&self) -> bool {
        self.status.is_some_and(CommandStatus::is_final)
    }
}

/// A command still pending for an enrollment, as [`CommandQueue::pending_commands`](super::CommandQueue::pending_commands)
/// lists them (in the order they will be handed out).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingCommand {
    /// The command.
    pub command: QueuedCommand,
    /// `Some(NotNow)` when the device deferred it, `None` when it has not answered.
    pub status: Option<CommandStatus>,
    /// When the command was handed out, while it awaits an answer.
    pub delivered_at: Option<OffsetDateTime>,
}

/// An APNs push certificate installed for one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushCertificateRecord {
    /// The topic (the certificate's UID, `com.apple.mgmt.External.<uuid>`).
    pub topic: String,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// Its private key (DER or PEM, as the apns crate chose).
    pub private_key: Secret,
    /// The Apple ID used at Apple's Push Certificates Portal.
    pub apple_id: Option<String>,
    /// The administrator's free-text note.
    pub note: Option<String>,
    /// The end of the certificate's validity.
    pub not_after: OffsetDateTime,
    /// When this certificate was first installed for the topic.
    pub created_at: OffsetDateTime,
    /// When the record was last written (renewal, edit).
    pub updated_at: OffsetDateTime,
}

impl PushCertificateRecord {
    /// A record for a certificate installed now.
    pub fn new(
        topic: impl Into<String>,
        certificate_der: Vec<u8>,
        private_key: Secret,
        not_after: OffsetDateTime,
    ) -> Self {
        let now = now_micros();
        Self {
            topic: topic.into(),
            certificate_der,
            private_key,
            apple_id: None,
            note: None,
            not_after: truncate_to_micros(not_after),
            created_at: now,
            updated_at: now,
        }
    }
}

/// What happened to a topic's push certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PushCertificateAction {
    /// First installed.
    Installed,
    /// Replaced by a renewed certificate of the same topic.
    Renewed,
    /// Apple ID or note edited.
    Edited,
    /// Deleted.
    Deleted,
}

impl PushCertificateAction {
    /// A stable name for storage and display.
    pub fn as_str(self) -> &'static str {
        match self {
            PushCertificateAction::Installed => "installed",
            PushCertificateAction::Renewed => "renewed",
            PushCertificateAction::Edited => "edited",
            PushCertificateAction::Deleted => "deleted",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    pub fn parse(name: &str) -> Option<Self> {
        [
            PushCertificateAction::Installed,
            PushCertificateAction::Renewed,
            PushCertificateAction::Edited,
            PushCertificateAction::Deleted,
        ]
        .into_iter()
        .find(|action| action.as_str() == name)
    }
}

/// One entry of a topic's push certificate history (installs, renewals, deletions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushCertificateEvent {
    /// The topic.
    pub topic: String,
    /// What happened.
    pub action: PushCertificateAction,
    /// The certificate's serial number (hex), when there was one.
    pub serial: Option<String>,
    /// The certificate's end of validity, when there was one.
    pub not_after: Option<OffsetDateTime>,
    /// The Apple ID at the time.
    pub apple_id: Option<String>,
    /// The note at the time (kept after a deletion).
    pub note: Option<String>,
    /// When it happened.
    pub at: OffsetDateTime,
}

impl PushCertificateEvent {
    /// An event that happens now.
    pub fn new(topic: impl Into<String>, action: PushCertificateAction) -> Self {
        Self {
            topic: topic.into(),
            action,
            serial: None,
            not_after: None,
            apple_id: None,
            note: None,
            at: now_micros(),
        }
    }
}

/// A private key generated for a push certificate request, waiting for Apple's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingCsrKey {
    /// An identifier chosen by the caller (for example the hex SHA-256 of the public key,
    /// so an uploaded certificate finds its key).
    pub id: String,
    /// The private key.
    pub private_key: Secret,
    /// When the key was generated.
    pub created_at: OffsetDateTime,
}

impl PendingCsrKey {
    /// A key generated now.
    pub fn new(id: impl Into<String>, private_key: Secret) -> Self {
        Self {
            id: id.into(),
            private_key,
            created_at: now_micros(),
        }
    }
}

/// What a user-provided certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CertificatePurpose {
    /// E-mail encryption.
    Encryption,
    /// E-mail signing.
    Signing,
    /// Anything else the administrator defines.
    Other,
}

impl CertificatePurpose {
    /// A stable name for storage and display.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificatePurpose::Encryption => "encryption",
            CertificatePurpose::Signing => "signing",
            CertificatePurpose::Other => "other",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    pub fn parse(name: &str) -> Option<Self> {
        [
            CertificatePurpose::Encryption,
            CertificatePurpose::Signing,
            CertificatePurpose::Other,
        ]
        .into_iter()
        .find(|purpose| purpose.as_str() == name)
    }
}

/// A kind of user-provided certificate the administrator defines ("S/MIME encryption").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateKind {
    /// The kind's identifier.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// What certificates of this kind are for.
    pub purpose: CertificatePurpose,
    /// A description for end users.
    pub description: Option<String>,
}

impl CertificateKind {
    /// A kind with no description.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        purpose: CertificatePurpose,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            purpose,
            description: None,
        }
    }
}

/// A certificate an end user uploaded as PKCS#12.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserCertificateRecord {
    /// The certificate's identifier.
    pub id: String,
    /// The portal user who uploaded it.
    pub owner: String,
    /// The administrator-defined kind it was uploaded as.
    pub kind_id: String,
    /// Its display name.
    pub name: String,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The PKCS#12 package; `None` once the private key was cleared and no package kept.
    pub pkcs12: Option<Secret>,
    /// The PKCS#12 password.
    pub pkcs12_password: Option<Secret>,
    /// Whether the package still holds the private key.
    pub has_private_key: bool,
    /// The certificate's subject, for display.
    pub subject: Option<String>,
    /// The certificate's issuer, for display.
    pub issuer: Option<String>,
    /// The certificate's serial number (hex).
    pub serial: Option<String>,
    /// The end of the certificate's validity.
    pub not_after: Option<OffsetDateTime>,
    /// When it was uploaded.
    pub uploaded_at: OffsetDateTime,
    /// When the record was last written.
    pub updated_at: OffsetDateTime,
}

impl UserCertificateRecord {
    /// A certificate uploaded now, with its private key.
    pub fn new(
        id: impl Into<String>,
        owner: impl Into<String>,
        kind_id: impl Into<String>,
        name: impl Into<String>,
        certificate_der: Vec<u8>,
    ) -> Self {
        let now = now_micros();
        Self {
            id: id.into(),
            owner: owner.into(),
            kind_id: kind_id.into(),
            name: name.into(),
            certificate_der,
            pkcs12: None,
            pkcs12_password: None,
            has_private_key: false,
            subject: None,
            issuer: None,
            serial: None,
            not_after: None,
            uploaded_at: now,
            updated_at: now,
        }
    }
}

/// A named configuration (a profile) the administrator assigns to users and devices.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigurationRecord {
    /// The configuration's identifier.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The profile or template, opaque to the store.
    pub payload: Vec<u8>,
    /// The user certificate kinds it uses (a new upload of one re-pushes it).
    pub certificate_kinds: Vec<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last written.
    pub updated_at: OffsetDateTime,
}

impl ConfigurationRecord {
    /// A configuration using no certificate kinds.
    pub fn new(id: impl Into<String>, name: impl Into<String>, payload: Vec<u8>) -> Self {
        let now = now_micros();
        Self {
            id: id.into(),
            name: name.into(),
            payload,
            certificate_kinds: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// Who a configuration is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AssignmentTarget {
    /// A portal user: every enrollment they own.
    User(String),
    /// One enrollment.
    Enrollment(EnrollmentId),
}

impl AssignmentTarget {
    /// The kind of target, as stored ("user" or "enrollment").
    pub fn kind(&self) -> &'static str {
        match self {
            AssignmentTarget::User(_) => "user",
            AssignmentTarget::Enrollment(_) => "enrollment",
        }
    }

    /// The target's identifier.
    pub fn id(&self) -> &str {
        match self {
            AssignmentTarget::User(id) => id,
            AssignmentTarget::Enrollment(id) => id.as_str(),
        }
    }

    /// Rebuilds a target from [`kind`](Self::kind) and [`id`](Self::id).
    pub fn from_parts(kind: &str, id: &str) -> Option<Self> {
        match kind {
            "user" => Some(AssignmentTarget::User(id.to_owned())),
            "enrollment" => Some(AssignmentTarget::Enrollment(EnrollmentId::new(id))),
            _ => None,
        }
    }
}

/// A configuration assigned to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Assignment {
    /// The configuration.
    pub configuration_id: String,
    /// Who it is assigned to.
    pub target: AssignmentTarget,
    /// When it was assigned.
    pub assigned_at: OffsetDateTime,
}

impl Assignment {
    /// An assignment made now.
    pub fn new(configuration_id: impl Into<String>, target: AssignmentTarget) -> Self {
        Self {
            configuration_id: configuration_id.into(),
            target,
            assigned_at: now_micros(),
        }
    }
}

/// An end user of the self-service portal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortalUser {
    /// The user's identifier.
    pub id: String,
    /// The e-mail address (unique).
    pub email: String,
    /// The display name.
    pub name: Option<String>,
    /// The password hash (a PHC string from the enrollment crate), `None` until set.
    pub password_hash: Option<Secret>,
    /// Whether the user may sign in.
    pub enabled: bool,
    /// When the user was created.
    pub created_at: OffsetDateTime,
    /// When the record was last written.
    pub updated_at: OffsetDateTime,
}

impl PortalUser {
    /// An enabled user with no password yet.
    pub fn new(id: impl Into<String>, email: impl Into<String>) -> Self {
        let now = now_micros();
        Self {
            id: id.into(),
            email: email.into(),
            name: None,
            password_hash: None,
            enabled: true,
            created_at: now,
            updated_at: now,
        }
    }
}

/// An administrator of the deployment (the console and the admin API), kept apart from
/// the portal's end users.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminUserRecord {
    /// The administrator's identifier.
    pub id: String,
    /// The e-mail address (unique among administrators, compared case-insensitively).
    pub email: String,
    /// The display name.
    pub name: Option<String>,
    /// The password hash (a PHC string from the enrollment crate), `None` until set.
    pub password_hash: Option<Secret>,
    /// Whether the administrator may sign in.
    pub enabled: bool,
    /// When the administrator was created.
    pub created_at: OffsetDateTime,
    /// When the record was last written.
    pub updated_at: OffsetDateTime,
}

impl AdminUserRecord {
    /// An enabled administrator with no password yet.
    pub fn new(id: impl Into<String>, email: impl Into<String>) -> Self {
        let now = now_micros();
        Self {
            id: id.into(),
            email: email.into(),
            name: None,
            password_hash: None,
            enabled: true,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A portal user's or an administrator's fields, borrowed: the stores write both kinds of
/// account with one set of functions.
// Only the SQL stores read every field.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) struct AccountView<'a> {
    pub(crate) id: &'a str,
    pub(crate) email: &'a str,
    pub(crate) name: Option<&'a str>,
    pub(crate) password_hash: Option<&'a Secret>,
    pub(crate) enabled: bool,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: OffsetDateTime,
}

/// A portal user's or an administrator's fields as a store read them.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) struct AccountParts {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) name: Option<String>,
    pub(crate) password_hash: Option<Secret>,
    pub(crate) enabled: bool,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: OffsetDateTime,
}

/// Portal users and administrators: records of one shape, kept apart (tables and maps of
/// their own, e-mail addresses unique within each, sessions of their own kind). The stores
/// keep both through one set of functions over this trait.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) trait Account: Clone {
    /// The SQL table of the records.
    const TABLE: &'static str;
    /// Who a record is, in the message about a taken e-mail address.
    const WHO: &'static str;
    /// Whether the account signs in with [`TokenKind::AdminSession`] tokens (deleted with
    /// the account), or owns every other kind.
    const ADMIN: bool;

    /// The record's fields.
    fn view(&self) -> AccountView<'_>;

    /// The record from stored fields.
    fn from_parts(parts: AccountParts) -> Self;

    /// Whether a token of `kind` belongs to this kind of account.
    fn owns_token(kind: TokenKind) -> bool {
        (kind == TokenKind::AdminSession) == Self::ADMIN
    }
}

macro_rules! account {
    ($type:ident, $table:literal, $who:literal, admin = $admin:literal) => {
        impl Account for $type {
            const TABLE: &'static str = $table;
            const WHO: &'static str = $who;
            const ADMIN: bool = $admin;

            fn view(&self) -> AccountView<'_> {
                AccountView {
                    id: &self.id,
                    email: &self.email,
                    name: self.name.as_deref(),
                    password_hash: self.password_hash.as_ref(),
                    enabled: self.enabled,
                    created_at: self.created_at,
                    updated_at: self.updated_at,
                }
            }

            fn from_parts(parts: AccountParts) -> Self {
                Self {
                    id: parts.id,
                    email: parts.email,
                    name: parts.name,
                    password_hash: parts.password_hash,
                    enabled: parts.enabled,
                    created_at: parts.created_at,
                    updated_at: parts.updated_at,
                }
            }
        }
    };
}

account!(
    PortalUser,
    "mdmkit_portal_users",
    "portal user",
    admin = false
);
account!(
    AdminUserRecord,
    "mdmkit_admin_users",
    "administrator",
    admin = true
);

/// What a single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TokenKind {
    /// An enrollment invitation sent to a user (the link to the portal).
    Invitation,
    /// A token that lets a device enroll for a user (registration link).
    Enrollment,
    /// A portal sign-in session.
    Session,
    /// An administrator's sign-in session (the user id is an [`AdminUserRecord`]'s id).
    AdminSession,
    /// A password reset.
    PasswordReset,
    /// Not redeemable: the SHA-256 of a device identity certificate issued through an
    /// enrollment token, recording the user the device is enrolled for (the record's
    /// `used_at` is its issue time).
    DeviceIdentity,
}

impl TokenKind {
    /// A stable name for storage and display.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Invitation => "invitation",
            TokenKind::Enrollment => "enrollment",
            TokenKind::Session => "session",
            TokenKind::AdminSession => "admin_session",
            TokenKind::PasswordReset => "password_reset",
            TokenKind::DeviceIdentity => "device_identity",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    pub fn parse(name: &str) -> Option<Self> {
        [
            TokenKind::Invitation,
            TokenKind::Enrollment,
            TokenKind::Session,
            TokenKind::AdminSession,
            TokenKind::PasswordReset,
            TokenKind::DeviceIdentity,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

/// An invitation, enrollment token or session, stored by the hash of its secret value
/// (the value itself is only ever in the link sent to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRecord {
    /// Hash of the token value (lowercase hex SHA-256), the key.
    pub token_hash: String,
    /// What the token is for.
    pub kind: TokenKind,
    /// The portal user it belongs to.
    pub user_id: String,
    /// The address an invitation was sent to.
    pub email: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was used (single-use tokens).
    pub used_at: Option<OffsetDateTime>,
    /// The invitation a registration token was sent with (the invitation token's hash),
    /// so that revoking the invitation also revokes its registration link.
    pub invitation: Option<String>,
}

impl TokenRecord {
    /// A token created now, never expiring, unused.
    pub fn new(token_hash: impl Into<String>, kind: TokenKind, user_id: impl Into<String>) -> Self {
        Self {
            token_hash: token_hash.into(),
            kind,
            user_id: user_id.into(),
            email: None,
            created_at: now_micros(),
            expires_at: None,
            used_at: None,
            invitation: None,
        }
    }
}

/// The administrator's privacy settings for the portal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PrivacySettings {
    /// Whether end users (and the portal) may see a device's location.
    pub allow_location: bool,
    /// Whether the installed-application inventory may be collected.
    pub allow_app_inventory: bool,
}

/// Whose privacy settings a [`PrivacyOverride`] changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PrivacyScope {
    /// A portal user: every device they own, unless the device has its own override.
    User(String),
    /// One enrollment (device); the most specific scope.
    Enrollment(EnrollmentId),
}

impl PrivacyScope {
    /// The scope's kind as stored: `"user"` or `"enrollment"`.
    pub fn kind(&self) -> &'static str {
        match self {
            PrivacyScope::User(_) => "user",
            PrivacyScope::Enrollment(_) => "enrollment",
        }
    }

    /// The user id or enrollment id.
    pub fn id(&self) -> &str {
        match self {
            PrivacyScope::User(id) => id,
            PrivacyScope::Enrollment(id) => id.as_str(),
        }
    }
}

impl std::fmt::Display for PrivacyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

/// Privacy settings for one user or device that override the server-wide
/// [`PrivacySettings`]; a field left `None` inherits the less specific value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PrivacyOverride {
    /// Whether the device's location may be seen; `None` inherits.
    pub allow_location: Option<bool>,
    /// Whether the installed-application inventory may be collected; `None` inherits.
    pub allow_app_inventory: Option<bool>,
}

impl PrivacyOverride {
    /// Whether the override changes nothing (every field inherits).
    pub fn is_empty(&self) -> bool {
        self.allow_location.is_none() && self.allow_app_inventory.is_none()
    }
}

/// Where an effective privacy value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivacySource {
    /// The device's own override.
    Enrollment,
    /// The owner's override.
    User,
    /// The server-wide settings.
    Server,
}

impl PrivacySource {
    /// `"enrollment"`, `"user"` or `"server"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrivacySource::Enrollment => "enrollment",
            PrivacySource::User => "user",
            PrivacySource::Server => "server",
        }
    }
}

/// One effective privacy setting and the scope it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrivacyValue {
    /// Whether it is allowed.
    pub allowed: bool,
    /// The scope that decided it.
    pub source: PrivacySource,
}

/// The privacy settings that apply to one device or user: the device's override, else the
/// user's override, else the server-wide settings, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EffectivePrivacy {
    /// Whether the device's location may be seen.
    pub location: PrivacyValue,
    /// Whether the installed-application inventory may be collected.
    pub app_inventory: PrivacyValue,
}

impl EffectivePrivacy {
    /// Resolves the settings from the server-wide default and the optional user and
    /// device overrides (the device wins over the user, the user over the server).
    pub fn resolve(
        server: &PrivacySettings,
        user: Option<&PrivacyOverride>,
        enrollment: Option<&PrivacyOverride>,
    ) -> Self {
        let pick = |field: fn(&PrivacyOverride) -> Option<bool>, default: bool| {
            if let Some(allowed) = enrollment.and_then(field) {
                PrivacyValue {
                    allowed,
                    source: PrivacySource::Enrollment,
                }
            } else if let Some(allowed) = user.and_then(field) {
                PrivacyValue {
                    allowed,
                    source: PrivacySource::User,
                }
            } else {
                PrivacyValue {
                    allowed: default,
                    source: PrivacySource::Server,
                }
            }
        };
        Self {
            location: pick(|o| o.allow_location, server.allow_location),
            app_inventory: pick(|o| o.allow_app_inventory, server.allow_app_inventory),
        }
    }
}

/// The portal's branding, stored for its front end. The store keeps it as given;
/// validation (colours, logo format and size) belongs to whoever sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Branding {
    /// The organisation or portal name shown to users.
    pub name: String,
    /// The primary colour, `#RRGGBB`.
    pub primary_colour: Option<String>,
    /// The accent colour, `#RRGGBB`.
    pub accent_colour: Option<String>,
    /// The logo image (PNG, JPEG or SVG bytes).
    pub logo: Option<Vec<u8>>,
    /// The logo's media type (`image/png`, `image/jpeg`, `image/svg+xml`).
    pub logo_content_type: Option<String>,
    /// When it was last stored.
    pub updated_at: OffsetDateTime,
}

impl Branding {
    /// Branding with a name only, updated now.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            primary_colour: None,
            accent_colour: None,
            logo: None,
            logo_content_type: None,
            updated_at: now_micros(),
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// Assigned by the store when appended (0 before).
    pub id: i64,
    /// When it happened.
    pub at: OffsetDateTime,
    /// Who did it ("admin:alice", a portal user id, "system").
    pub actor: String,
    /// What was done ("device.lock", "push_certificate.renew", ...).
    pub action: String,
    /// What it was done to (an enrollment id, a topic, ...).
    pub target: Option<String>,
    /// Free-form details (JSON text by convention).
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An event happening now.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            id: 0,
            at: now_micros(),
            actor: actor.into(),
            action: action.into(),
            target: None,
            detail: None,
        }
    }
}

/// Which audit events [`PortalStore::list_audit_events`](super::PortalStore::list_audit_events)
/// returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Only events by this actor.
    pub actor: Option<String>,
    /// Only events on this target.
    pub target: Option<String>,
    /// Only events with an id below this one (paging backwards).
    pub before_id: Option<i64>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// The value of one server setting (see [`SettingsStore`](super::SettingsStore)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingValue {
    /// A value that is not secret (a URL, a name, an identifier), stored as text.
    Plain(String),
    /// A secret (an SMTP password, a private key): sealed at rest in SQL stores, never
    /// printed.
    Secret(Secret),
}

impl SettingValue {
    /// The plain text, or `None` for a secret.
    pub fn as_plain(&self) -> Option<&str> {
        match self {
            Self::Plain(text) => Some(text),
            Self::Secret(_) => None,
        }
    }

    /// The secret, or `None` for a plain value.
    pub fn as_secret(&self) -> Option<&Secret> {
        match self {
            Self::Plain(_) => None,
            Self::Secret(secret) => Some(secret),
        }
    }
}

/// A stored declaration (Declarative Device Management), validated before it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeclarationRecord {
    /// The declaration's Identifier (unique in the store).
    pub identifier: String,
    /// Its Type (`com.apple.configuration.passcode.settings`).
    pub declaration_type: String,
    /// The set it belongs to; sets are what enrollments are assigned.
    pub set_name: String,
    /// Its ServerToken (derived from its content).
    pub server_token: String,
    /// The whole declaration as a device fetches it (JSON: Type, Identifier, ServerToken,
    /// Payload).
    pub json: String,
    /// When it was last written with a new ServerToken.
    pub updated_at: OffsetDateTime,
}

impl DeclarationRecord {
    /// A record written now.
    pub fn new(
        identifier: impl Into<String>,
        declaration_type: impl Into<String>,
        set_name: impl Into<String>,
        server_token: impl Into<String>,
        json: impl Into<String>,
    ) -> Self {
        Self {
            identifier: identifier.into(),
            declaration_type: declaration_type.into(),
            set_name: set_name.into(),
            server_token: server_token.into(),
            json: json.into(),
            updated_at: now_micros(),
        }
    }
}

/// One status item an enrollment reported (Declarative Device Management).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusItemRecord {
    /// The item's name (`softwareupdate.install-state`).
    pub item: String,
    /// Its value, JSON as the device sent it.
    pub value: String,
    /// When the device last reported it.
    pub reported_at: OffsetDateTime,
}

impl StatusItemRecord {
    /// An item reported now.
    pub fn new(item: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            item: item.into(),
            value: value.into(),
            reported_at: now_micros(),
        }
    }
}

/// What an enrollment's status reports said, merged (Declarative Device Management).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DeclarativeStatus {
    /// The items, by name.
    pub items: Vec<StatusItemRecord>,
    /// The last report's `Errors` array (JSON), `[]` when it had none.
    pub errors: String,
    /// When the last full report came.
    pub full_report_at: Option<OffsetDateTime>,
}

/// A status report to store: a full report replaces every item, an incremental one
/// replaces the items it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusUpdate {
    /// The items it carries.
    pub items: Vec<StatusItemRecord>,
    /// Its `Errors` array (JSON).
    pub errors: String,
    /// Whether it is a full report (`FullReport: true`).
    pub full_report: bool,
    /// When it came.
    pub received_at: OffsetDateTime,
}

impl StatusUpdate {
    /// An update received now.
    pub fn new(items: Vec<StatusItemRecord>, errors: impl Into<String>, full_report: bool) -> Self {
        Self {
            items,
            errors: errors.into(),
            full_report,
            received_at: now_micros(),
        }
    }
}

/// The data of an asset declaration the server itself serves (to devices authenticated as
/// for MDM requests: `Authentication.Type` `MDM`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssetDataRecord {
    /// The asset declaration's Identifier.
    pub identifier: String,
    /// The media type (`application/zip`).
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
    /// Their SHA-256, lowercase hex (the declaration's `Hash-SHA-256`).
    pub sha256: String,
    /// When they were stored.
    pub updated_at: OffsetDateTime,
}

impl AssetDataRecord {
    /// Data stored now, its hash computed.
    pub fn new(
        identifier: impl Into<String>,
        content_type: impl Into<String>,
        data: Vec<u8>,
    ) -> Self {
        Self {
            identifier: identifier.into(),
            content_type: content_type.into(),
            sha256: hex::encode(openssl::sha::sha256(&data)),
            data,
            updated_at: now_micros(),
        }
    }
}
