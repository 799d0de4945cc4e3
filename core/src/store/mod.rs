//! Persistence: one async trait per concern, and the backends that implement them all.
//!
//! * [`EnrollmentStore`]: enrollments (device and user channels), devices, push info.
//! * [`CommandQueue`]: queued commands and their results, with Apple's queue semantics.
//! * [`PushCertificateStore`]: APNs push certificates per topic, their history, pending
//!   CSR keys.
//! * [`UserCertificateStore`]: user-provided PKCS#12 certificates and the administrator's
//!   certificate kinds.
//! * [`ConfigurationStore`]: named configurations and their assignments.
//! * [`PortalStore`]: portal users, invitations and tokens, privacy settings, audit log.
//! * [`AdminStore`]: the administrators' accounts (their sessions are tokens of the
//!   [`PortalStore`]).
//! * [`SettingsStore`]: the server's settings (public URLs, device CA, SMTP), secrets sealed.
//! * [`DeclarationStore`]: declarations (Declarative Device Management) in sets, the sets'
//!   assignments to enrollments, the enrollments' status reports and last synced tokens.
//!
//! [`Store`] is all of them at once; every backend implements it: [`MemoryStore`],
//! `SqliteStore` (feature `sqlite`, default) and `PostgresStore` (feature `postgres`,
//! default). `open` (with either feature) picks one from a location string.
//!
//! Conventions shared by every method: `put_*` inserts or replaces the whole record
//! under its key; `get_*` returns `Ok(None)` for an unknown key; `delete_*` returns
//! whether something was deleted; methods that change one field of a record return
//! [`Error::NotFound`](crate::Error::NotFound) when the record does not exist.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{EnrollmentId, Result, Secret};

#[cfg(feature = "testing")]
pub mod conformance;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod crypto;
mod memory;
pub mod model;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod settings_sql;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use crypto::AtRestKey;
pub use memory::MemoryStore;
pub use model::*;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// Enrollments (device and user channels), devices and push info.
#[async_trait]
pub trait EnrollmentStore: Send + Sync {
    /// Inserts or replaces an enrollment (the whole record).
    async fn put_enrollment(&self, record: &EnrollmentRecord) -> Result<()>;

    /// The enrollment with this identifier.
    async fn get_enrollment(&self, id: &EnrollmentId) -> Result<Option<EnrollmentRecord>>;

    /// The enrollments of `ids` that exist, each once (however often its id is listed),
    /// in identifier order; unknown identifiers are simply absent. One round trip for
    /// the whole list (the engine's bulk actions read their targets with it).
    async fn get_enrollments(&self, ids: &[EnrollmentId]) -> Result<Vec<EnrollmentRecord>>;

    /// Enrollments matching the query, ordered by identifier.
    async fn list_enrollments(&self, query: &EnrollmentQuery) -> Result<Vec<EnrollmentRecord>>;

    /// Deletes an enrollment (not its queued commands: purge those with the queue).
    async fn delete_enrollment(&self, id: &EnrollmentId) -> Result<bool>;

    /// Stores the push info of a TokenUpdate (clearing any invalid mark) and enables the
    /// enrollment.
    async fn set_push_info(&self, id: &EnrollmentId, push: &PushInfo) -> Result<()>;

    /// The enrollment's push info, if it sent a TokenUpdate.
    async fn get_push_info(&self, id: &EnrollmentId) -> Result<Option<PushInfo>>;

    /// Marks the push token invalid after APNs answered 410 Unregistered at `at`, so it is
    /// not pushed again until a new TokenUpdate. Only if the stored token is still `token`
    /// (a TokenUpdate may have replaced it meanwhile); returns whether it was marked.
    async fn mark_push_token_invalid(
        &self,
        id: &EnrollmentId,
        token: &[u8],
        at: OffsetDateTime,
    ) -> Result<bool>;

    /// The push info of every enabled enrollment on `topic` whose token is not marked
    /// invalid, ordered by enrollment identifier.
    async fn push_targets_for_topic(&self, topic: &str) -> Result<Vec<PushTarget>>;

    /// The push info of those of `ids` that are enabled and have a token not marked
    /// invalid (the ones a bulk push can reach), ordered by enrollment identifier.
    async fn push_targets_for(&self, ids: &[EnrollmentId]) -> Result<Vec<PushTarget>>;

    /// Enables or disables an enrollment (TokenUpdate, CheckOut).
    async fn set_enabled(&self, id: &EnrollmentId, enabled: bool) -> Result<()>;

    /// Stores or clears the UnlockToken.
    async fn set_unlock_token(&self, id: &EnrollmentId, token: Option<&Secret>) -> Result<()>;

    /// Stores or clears the bootstrap token.
    async fn set_bootstrap_token(&self, id: &EnrollmentId, token: Option<&Secret>) -> Result<()>;

    /// Sets or clears the owner (portal user).
    async fn set_owner(&self, id: &EnrollmentId, owner: Option<&str>) -> Result<()>;

    /// Records that the device contacted the server at `at` (sets `last_seen`; contact is
    /// not an edit, so `updated_at` stays).
    async fn touch_enrollment(&self, id: &EnrollmentId, at: OffsetDateTime) -> Result<()>;

    /// Inserts or replaces a device record.
    async fn put_device(&self, record: &DeviceRecord) -> Result<()>;

    /// The device with this identifier (UDID or User Enrollment EnrollmentID).
    async fn get_device(&self, device_id: &str) -> Result<Option<DeviceRecord>>;

    /// The devices of `device_ids` that exist, each once (however often its identifier
    /// is listed), in identifier order; unknown identifiers are simply absent. One round
    /// trip for the whole list.
    async fn get_devices(&self, device_ids: &[&str]) -> Result<Vec<DeviceRecord>>;
}

/// The command queue and command results, with Apple's semantics.
///
/// Per enrollment, commands are handed out by priority (higher first), then first in
/// first out. A command stays pending until the enrollment reports a final status
/// (Acknowledged, Error, CommandFormatError).
#[async_trait]
pub trait CommandQueue: Send + Sync {
    /// Queues `command` to every enrollment in `targets`, in one transaction: the command
    /// is stored once and referenced per target.
    ///
    /// Enqueueing the same CommandUUID with the same RequestType and payload again is
    /// idempotent (targets already queued stay as they are, new ones are added); with a
    /// different RequestType, payload or priority it is an
    /// [`Error::StoreConflict`](crate::Error::StoreConflict) and nothing changes. An empty
    /// target list is an [`Error::StoreInput`](crate::Error::StoreInput).
    async fn enqueue(&self, command: &QueuedCommand, targets: &[EnrollmentId]) -> Result<()>;

    /// Hands out the next command for an enrollment and marks it delivered, or `None` when
    /// nothing is eligible (see [`NextCommand`]). Concurrent calls never return the same
    /// command while it is delivered and unanswered.
    async fn next_command(
        &self,
        id: &EnrollmentId,
        request: &NextCommand,
    ) -> Result<Option<QueuedCommand>>;

    /// Records a device's result for a command queued to `id`.
    ///
    /// A final status finishes the command for that enrollment; NotNow keeps it queued
    /// (and skipped for the rest of the connection). A result for a command that was not
    /// queued to `id` is [`Error::CommandNotQueued`](crate::Error::CommandNotQueued); an
    /// `Idle` status is [`Error::StoreInput`](crate::Error::StoreInput). A result for a
    /// command already finished replaces the stored result only if it is final too.
    async fn record_result(&self, id: &EnrollmentId, result: &CommandResultRecord) -> Result<()>;

    /// Removes every command still pending for an enrollment (not its finished results),
    /// as a re-Authenticate requires. Returns how many were removed.
    async fn clear_pending(&self, id: &EnrollmentId) -> Result<u64>;

    /// The commands still pending for an enrollment, in the order they will be handed out.
    async fn pending_commands(&self, id: &EnrollmentId) -> Result<Vec<PendingCommand>>;

    /// The stored command with this CommandUUID.
    async fn get_command(&self, command_uuid: &str) -> Result<Option<QueuedCommand>>;

    /// Where a command stands for each of its targets, ordered by enrollment identifier.
    async fn command_status(&self, command_uuid: &str) -> Result<Vec<CommandTargetStatus>>;

    /// Removes every target that finished (final status) before `finished_before`, and
    /// commands left with no target. Returns how many targets were removed.
    async fn purge_finished(&self, finished_before: OffsetDateTime) -> Result<u64>;
}

/// APNs push certificates per topic, their history and pending CSR keys.
#[async_trait]
pub trait PushCertificateStore: Send + Sync {
    /// Inserts or replaces the certificate of `record.topic`.
    async fn put_push_certificate(&self, record: &PushCertificateRecord) -> Result<()>;

    /// The certificate of a topic.
    async fn get_push_certificate(&self, topic: &str) -> Result<Option<PushCertificateRecord>>;

    /// Every installed certificate, ordered by topic.
    async fn list_push_certificates(&self) -> Result<Vec<PushCertificateRecord>>;

    /// Deletes a topic's certificate and key (its history stays).
    async fn delete_push_certificate(&self, topic: &str) -> Result<bool>;

    /// Appends to a topic's history.
    async fn append_push_certificate_event(&self, event: &PushCertificateEvent) -> Result<()>;

    /// A topic's history, oldest first.
    async fn push_certificate_history(&self, topic: &str) -> Result<Vec<PushCertificateEvent>>;

    /// Stores a pending CSR key (replacing one with the same id).
    async fn put_pending_csr_key(&self, key: &PendingCsrKey) -> Result<()>;

    /// The pending CSR key with this id.
    async fn get_pending_csr_key(&self, id: &str) -> Result<Option<PendingCsrKey>>;

    /// Every pending CSR key, oldest first.
    async fn list_pending_csr_keys(&self) -> Result<Vec<PendingCsrKey>>;

    /// Deletes a pending CSR key (once its certificate is installed, or when abandoned).
    async fn delete_pending_csr_key(&self, id: &str) -> Result<bool>;

    /// The last event of every topic that has a history, ordered by topic: what is still
    /// known of a deleted topic (its note and Apple ID), for a dashboard to show and edit.
    async fn latest_push_certificate_events(&self) -> Result<Vec<PushCertificateEvent>>;

    /// Claims the expiry notice `key` at `now`: returns true, and records `now` as the
    /// claim's time, when no claim of `key` was made within `min_interval` before `now`;
    /// false otherwise. Atomic: of several servers sharing the store and claiming at once,
    /// exactly one gets true, so a notice is never sent twice within the interval.
    async fn claim_notice(
        &self,
        key: &str,
        now: OffsetDateTime,
        min_interval: time::Duration,
    ) -> Result<bool>;

    /// Gives back the claim of `key` made at `claimed_at` (its notice could not be sent),
    /// so that the next attempt may send it. Returns false, and changes nothing, when the
    /// claim recorded is not that one.
    async fn release_notice(&self, key: &str, claimed_at: OffsetDateTime) -> Result<bool>;
}

/// User-provided certificates and the administrator's certificate kinds.
#[async_trait]
pub trait UserCertificateStore: Send + Sync {
    /// Inserts or replaces a certificate kind.
    async fn put_certificate_kind(&self, kind: &CertificateKind) -> Result<()>;

    /// The certificate kind with this id.
    async fn get_certificate_kind(&self, id: &str) -> Result<Option<CertificateKind>>;

    /// Every certificate kind, ordered by id.
    async fn list_certificate_kinds(&self) -> Result<Vec<CertificateKind>>;

    /// Deletes a certificate kind.
    async fn delete_certificate_kind(&self, id: &str) -> Result<bool>;

    /// Inserts or replaces a user certificate.
    async fn put_user_certificate(&self, record: &UserCertificateRecord) -> Result<()>;

    /// The user certificate with this id.
    async fn get_user_certificate(&self, id: &str) -> Result<Option<UserCertificateRecord>>;

    /// A user's certificates, oldest upload first.
    async fn list_user_certificates(&self, owner: &str) -> Result<Vec<UserCertificateRecord>>;

    /// Deletes a user certificate.
    async fn delete_user_certificate(&self, id: &str) -> Result<bool>;
}

/// Named configurations and their assignments to users and enrollments.
#[async_trait]
pub trait ConfigurationStore: Send + Sync {
    /// Inserts or replaces a configuration.
    async fn put_configuration(&self, record: &ConfigurationRecord) -> Result<()>;

    /// The configuration with this id.
    async fn get_configuration(&self, id: &str) -> Result<Option<ConfigurationRecord>>;

    /// Every configuration, ordered by id.
    async fn list_configurations(&self) -> Result<Vec<ConfigurationRecord>>;

    /// The configurations that use a user certificate kind, ordered by id.
    async fn configurations_using_kind(&self, kind_id: &str) -> Result<Vec<ConfigurationRecord>>;

    /// Deletes a configuration and its assignments.
    async fn delete_configuration(&self, id: &str) -> Result<bool>;

    /// Assigns a configuration (idempotent: assigning again keeps the first time). The
    /// configuration must exist ([`Error::NotFound`](crate::Error::NotFound)).
    async fn assign_configuration(&self, assignment: &Assignment) -> Result<()>;

    /// Removes an assignment.
    async fn unassign_configuration(
        &self,
        configuration_id: &str,
        target: &AssignmentTarget,
    ) -> Result<bool>;

    /// A configuration's assignments, ordered by target.
    async fn assignments_of_configuration(&self, configuration_id: &str)
        -> Result<Vec<Assignment>>;

    /// The assignments of a target, ordered by configuration id.
    async fn assignments_of_target(&self, target: &AssignmentTarget) -> Result<Vec<Assignment>>;
}

/// Portal users, invitations and tokens, privacy settings, branding and the audit log.
#[async_trait]
pub trait PortalStore: Send + Sync {
    /// Inserts or replaces a portal user. Another user with the same e-mail address is an
    /// [`Error::StoreConflict`](crate::Error::StoreConflict).
    async fn put_portal_user(&self, user: &PortalUser) -> Result<()>;

    /// The portal user with this id.
    async fn get_portal_user(&self, id: &str) -> Result<Option<PortalUser>>;

    /// The portal user with this e-mail address (compared case-insensitively).
    async fn find_portal_user_by_email(&self, email: &str) -> Result<Option<PortalUser>>;

    /// Every portal user, ordered by id.
    async fn list_portal_users(&self) -> Result<Vec<PortalUser>>;

    /// Deletes a portal user and their tokens (not the administrator sessions of an
    /// administrator who happens to have the same id).
    async fn delete_portal_user(&self, id: &str) -> Result<bool>;

    /// Stores a token. One with the same hash already stored is an
    /// [`Error::StoreConflict`](crate::Error::StoreConflict).
    async fn put_token(&self, token: &TokenRecord) -> Result<()>;

    /// The token with this hash.
    async fn get_token(&self, token_hash: &str) -> Result<Option<TokenRecord>>;

    /// Uses a single-use token: marks it used at `at` only if it is unused and not expired
    /// at `at`. Returns the token when this call used it, `None` otherwise (unknown, used,
    /// expired): of two concurrent calls, only one gets it.
    async fn use_token(&self, token_hash: &str, at: OffsetDateTime) -> Result<Option<TokenRecord>>;

    /// A user's tokens, oldest first.
    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenRecord>>;

    /// Deletes a token.
    async fn delete_token(&self, token_hash: &str) -> Result<bool>;

    /// The privacy settings (defaults until first stored).
    async fn get_privacy_settings(&self) -> Result<PrivacySettings>;

    /// Stores the privacy settings.
    async fn put_privacy_settings(&self, settings: &PrivacySettings) -> Result<()>;

    /// The privacy override of a user or an enrollment, if one is stored.
    async fn get_privacy_override(&self, scope: &PrivacyScope) -> Result<Option<PrivacyOverride>>;

    /// Stores (replacing) the privacy override of a user or an enrollment.
    async fn put_privacy_override(
        &self,
        scope: &PrivacyScope,
        settings: &PrivacyOverride,
    ) -> Result<()>;

    /// Deletes the privacy override of a user or an enrollment.
    async fn delete_privacy_override(&self, scope: &PrivacyScope) -> Result<bool>;

    /// The portal's branding, once stored.
    async fn get_branding(&self) -> Result<Option<Branding>>;

    /// Stores (replacing) the portal's branding.
    async fn put_branding(&self, branding: &Branding) -> Result<()>;

    /// Counts a failed sign-in of `account` (a normalised sign-in name) at `at` and
    /// returns the end of its lockout when it is locked. Counting starts again after a
    /// lockout has ended or when the last failure is `lockout` old; the failure that
    /// reaches `max_failures` locks the account until `at + lockout`. Atomic, so several
    /// servers sharing the store count together; accounts that nobody signs in to stop
    /// being kept once their failures and lockout have passed.
    async fn record_sign_in_failure(
        &self,
        account: &str,
        at: OffsetDateTime,
        max_failures: u32,
        lockout: time::Duration,
    ) -> Result<Option<OffsetDateTime>>;

    /// The end of `account`'s lockout, when it is locked at `at`.
    async fn sign_in_locked_until(
        &self,
        account: &str,
        at: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>>;

    /// Forgets `account`'s failed sign-ins (after a successful one).
    async fn clear_sign_in_failures(&self, account: &str) -> Result<()>;

    /// Appends an event to the audit log and returns its id (increasing).
    async fn append_audit_event(&self, event: &AuditEvent) -> Result<i64>;

    /// Audit events matching the query, newest first.
    async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
}

/// The administrators' accounts, apart from the portal's users. Their sessions are
/// [`TokenKind::AdminSession`] tokens of the [`PortalStore`].
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Inserts or replaces an administrator. Another administrator with the same e-mail
    /// address is an [`Error::StoreConflict`](crate::Error::StoreConflict).
    async fn put_admin_user(&self, user: &AdminUserRecord) -> Result<()>;

    /// The administrator with this id.
    async fn get_admin_user(&self, id: &str) -> Result<Option<AdminUserRecord>>;

    /// The administrator with this e-mail address (compared case-insensitively).
    async fn find_admin_user_by_email(&self, email: &str) -> Result<Option<AdminUserRecord>>;

    /// Every administrator, ordered by id.
    async fn list_admin_users(&self) -> Result<Vec<AdminUserRecord>>;

    /// Deletes an administrator and their sessions ([`TokenKind::AdminSession`] tokens).
    async fn delete_admin_user(&self, id: &str) -> Result<bool>;
}

/// The privacy settings that apply to an enrollment owned by `user` (either may be
/// `None`): the enrollment's override, else the user's, else the server-wide settings,
/// field by field. The one place the precedence is decided.
pub async fn effective_privacy<S: PortalStore + ?Sized>(
    store: &S,
    enrollment: Option<&EnrollmentId>,
    user: Option<&str>,
) -> Result<EffectivePrivacy> {
    let server = store.get_privacy_settings().await?;
    let user = match user {
        Some(user) => {
            store
                .get_privacy_override(&PrivacyScope::User(user.to_owned()))
                .await?
        }
        None => None,
    };
    let enrollment = match enrollment {
        Some(id) => {
            store
                .get_privacy_override(&PrivacyScope::Enrollment(id.clone()))
                .await?
        }
        None => None,
    };
    Ok(EffectivePrivacy::resolve(
        &server,
        user.as_ref(),
        enrollment.as_ref(),
    ))
}

/// The server's settings: named values kept in the store so that every process on it (the
/// server, the CLI, the bindings) runs from the same configuration. Names are chosen by the
/// caller (the service layer owns the list); secret values are sealed at rest.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The value stored under `name`.
    async fn get_setting(&self, name: &str) -> Result<Option<SettingValue>>;

    /// Stores `value` under `name`, replacing any value.
    async fn put_setting(&self, name: &str, value: &SettingValue) -> Result<()>;

    /// Deletes the value under `name`; returns whether there was one.
    async fn delete_setting(&self, name: &str) -> Result<bool>;

    /// Every stored setting, ordered by name.
    async fn list_settings(&self) -> Result<Vec<(String, SettingValue)>>;
}

/// Declarative Device Management: declarations grouped in sets, sets assigned to
/// enrollments, and what enrollments report. Declarations are validated (schema and
/// references) before they reach the store; the store keeps them as JSON.
#[async_trait]
pub trait DeclarationStore: Send + Sync {
    /// Inserts or replaces these declarations, all or none (one transaction).
    async fn put_declarations(&self, records: &[DeclarationRecord]) -> Result<()>;

    /// One declaration by Identifier.
    async fn get_declaration(&self, identifier: &str) -> Result<Option<DeclarationRecord>>;

    /// Every declaration, or those of one set, by Identifier.
    async fn list_declarations(&self, set_name: Option<&str>) -> Result<Vec<DeclarationRecord>>;

    /// Deletes a declaration.
    async fn delete_declaration(&self, identifier: &str) -> Result<bool>;

    /// Assigns a set to an enrollment (again: no change).
    async fn assign_declaration_set(&self, set_name: &str, enrollment: &EnrollmentId)
        -> Result<()>;

    /// Removes a set's assignment to an enrollment.
    async fn unassign_declaration_set(
        &self,
        set_name: &str,
        enrollment: &EnrollmentId,
    ) -> Result<bool>;

    /// The sets assigned to an enrollment, by name.
    async fn declaration_sets_of(&self, enrollment: &EnrollmentId) -> Result<Vec<String>>;

    /// The enrollments a set is assigned to.
    async fn enrollments_of_declaration_set(&self, set_name: &str) -> Result<Vec<EnrollmentId>>;

    /// The declarations of every set assigned to an enrollment, by Identifier.
    async fn declarations_for_enrollment(
        &self,
        enrollment: &EnrollmentId,
    ) -> Result<Vec<DeclarationRecord>>;

    /// Stores a status report: a full one replaces every item, an incremental one the
    /// items it carries; the errors are replaced either way.
    async fn record_status(&self, enrollment: &EnrollmentId, update: &StatusUpdate) -> Result<()>;

    /// What an enrollment's status reports said (`None` before its first report).
    async fn get_status(&self, enrollment: &EnrollmentId) -> Result<Option<DeclarativeStatus>>;

    /// Records the DeclarationsToken last sent to an enrollment in a
    /// `DeclarativeManagement` command.
    async fn set_synced_declarations_token(
        &self,
        enrollment: &EnrollmentId,
        token: &str,
    ) -> Result<()>;

    /// The DeclarationsToken last sent to an enrollment.
    async fn synced_declarations_token(&self, enrollment: &EnrollmentId) -> Result<Option<String>>;

    /// Stores (or replaces) the data the server serves for an asset declaration.
    async fn put_asset_data(&self, record: &AssetDataRecord) -> Result<()>;

    /// The data stored for an asset declaration.
    async fn get_asset_data(&self, identifier: &str) -> Result<Option<AssetDataRecord>>;

    /// Deletes the data stored for an asset declaration.
    async fn delete_asset_data(&self, identifier: &str) -> Result<bool>;
}

/// Every store trait at once: what a backend implements and what the engine holds.
pub trait Store:
    EnrollmentStore
    + CommandQueue
    + PushCertificateStore
    + UserCertificateStore
    + ConfigurationStore
    + PortalStore
    + AdminStore
    + SettingsStore
    + DeclarationStore
{
}

impl<T> Store for T where
    T: EnrollmentStore
        + CommandQueue
        + PushCertificateStore
        + UserCertificateStore
        + ConfigurationStore
        + PortalStore
        + AdminStore
        + SettingsStore
        + DeclarationStore
{
}

/// A shared handle on any backend.
pub type SharedStore = Arc<dyn Store>;

/// Opens the store at `location` and applies pending migrations:
///
/// * `postgres://...` or `postgresql://...`: [`PostgresStore`] (feature `postgres`);
/// * `memory:`: a new, empty [`MemoryStore`] (the key is not used);
/// * anything else (`sqlite:...` or a file path): [`SqliteStore`] (feature `sqlite`).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub async fn open(location: &str, key: AtRestKey) -> Result<SharedStore> {
    if location == "memory:" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Arc::new(PostgresStore::connect(location, key).await?));
        #[cfg(not(feature = "postgres"))]
        return Err(crate::Error::StoreInput(
            "this build has no PostgreSQL support (feature `postgres`)".to_owned(),
        ));
    }
    #[cfg(feature = "sqlite")]
    return Ok(Arc::new(SqliteStore::open(location, key).await?));
    #[cfg(not(feature = "sqlite"))]
    return Err(crate::Error::StoreInput(
        "this build has no SQLite support (feature `sqlite`)".to_owned(),
    ));
}

/// Opens the store at `location` like [`open`], for an at-rest key that was just created:
/// an SQL store that already holds data (or another key's check) is refused with
/// [`Error::StoreNotEmpty`](crate::Error::StoreNotEmpty), and nothing is written.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub async fn open_new(location: &str, key: AtRestKey) -> Result<SharedStore> {
    if location == "memory:" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Arc::new(PostgresStore::connect_new(location, key).await?));
        #[cfg(not(feature = "postgres"))]
        return Err(crate::Error::StoreInput(
            "this build has no PostgreSQL support (feature `postgres`)".to_owned(),
        ));
    }
    #[cfg(feature = "sqlite")]
    return Ok(Arc::new(SqliteStore::open_new(location, key).await?));
    #[cfg(not(feature = "sqlite"))]
    return Err(crate::Error::StoreInput(
        "this build has no SQLite support (feature `sqlite`)".to_owned(),
    ));
}

/// Re-seals every secret of the SQL store at `location` (opened with `key`) under
/// `new_key`, in one transaction, and records the new key's check; see
/// [`SqliteStore::rotate_key`]. Returns how many values were re-sealed. Stop the servers
/// using the store first.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub async fn rotate_key(location: &str, key: AtRestKey, new_key: &AtRestKey) -> Result<u64> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let store = PostgresStore::connect(location, key).await?;
            let count = store.rotate_key(new_key).await;
            store.close().await;
            return count;
        }
        #[cfg(not(feature = "postgres"))]
        return Err(crate::Error::StoreInput(
            "this build has no PostgreSQL support (feature `postgres`)".to_owned(),
        ));
    }
    if location == "memory:" {
        return Err(crate::Error::StoreInput(
            "the memory store keeps nothing at rest: there is no key to rotate".to_owned(),
        ));
    }
    #[cfg(feature = "sqlite")]
    {
        let store = SqliteStore::open(location, key).await?;
        let count = store.rotate_key(new_key).await;
        store.close().await;
        count
    }
    #[cfg(not(feature = "sqlite"))]
    Err(crate::Error::StoreInput(
        "this build has no SQLite support (feature `sqlite`)".to_owned(),
    ))
}

/// Opens the SQL store at `location` (see [`open`]), applies pending migrations and
/// returns the schema version the database is now at.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub async fn migrate(location: &str, key: AtRestKey) -> Result<i64> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let store = PostgresStore::connect(location, key).await?;
            let version = store.schema_version().await;
            store.close().await;
            return version;
        }
        #[cfg(not(feature = "postgres"))]
        return Err(crate::Error::StoreInput(
            "this build has no PostgreSQL support (feature `postgres`)".to_owned(),
        ));
    }
    #[cfg(feature = "sqlite")]
    {
        let store = SqliteStore::open(location, key).await?;
        let version = store.schema_version().await;
        store.close().await;
        version
    }
    #[cfg(not(feature = "sqlite"))]
    Err(crate::Error::StoreInput(
        "this build has no SQLite support (feature `sqlite`)".to_owned(),
    ))
}
