//! The self-service portal: end users sign in and act on their own devices.
//!
//! Every device operation checks that the device belongs to the signed-in user; another
//! user's device is answered exactly like one that does not exist
//! ([`Error::DeviceNotFound`]) and nothing is queued. Every operation, allowed or not, is
//! written to the audit log (actor = the user id, action `portal.<operation>`, target =
//! the enrollment id, detail = JSON with the outcome).

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use mdmkit_core::command::{command_info, CommandResponse, EraseDevice};
use mdmkit_core::engine::{Engine, LockOptions, Queued};
use mdmkit_core::push::PushOutcome;
use mdmkit_core::store::{
    effective_privacy, now_micros, AuditEvent, AuditQuery, Branding, CommandResultRecord,
    CommandTargetStatus, EnrollmentQuery, EnrollmentRecord, PortalUser, SharedStore,
};
use mdmkit_core::{EnrollmentId, Secret};
use time::OffsetDateTime;

use crate::invite::check_email;
use crate::{Error, Result};

/// Sign-in rate limiting. The failures are counted in the store, so every server sharing
/// it counts together and a restart forgets nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortalConfig {
    /// Failed sign-ins of one account accepted before it is locked out (failures further
    /// apart than `lockout` do not add up).
    pub max_failures: u32,
    /// How long a locked-out account refuses sign-ins (even with the right password).
    pub lockout: Duration,
}

impl Default for PortalConfig {
    /// Five failures, then fifteen minutes.
    fn default() -> Self {
        Self {
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// A signed-in end user. Only [`Portal::sign_in`] (or [`Portal::act_as`], for
/// administrators) makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    user_id: String,
}

impl Session {
    /// The signed-in user's id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

/// One of the user's devices, with what the portal can do to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortalDevice {
    /// The enrollment.
    pub enrollment_id: EnrollmentId,
    /// Serial number, when known.
    pub serial_number: Option<String>,
    /// Model or product name, when known.
    pub model: Option<String>,
    /// OS version, when known.
    pub os_version: Option<String>,
    /// Whether the enrollment is active.
    pub enabled: bool,
    /// The device's name (`DeviceName` of its last DeviceInformation answer), when known.
    pub name: Option<String>,
    /// When the device last checked in.
    pub last_seen: Option<OffsetDateTime>,
    /// The operations this device supports now ("lock", "unlock", "locate", "wipe",
    /// "retire", "checkin").
    pub actions: Vec<&'static str>,
}
/// A device's last reported location (the answer to the last DeviceLocation command that
/// carried one).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LastLocation {
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
    /// Horizontal accuracy, metres, when the device sent it.
    pub horizontal_accuracy: Option<f64>,
    /// When the answer arrived.
    pub at: OffsetDateTime,
    /// The DeviceLocation command it answered.
    pub command_uuid: String,
}

/// How far back in the device's audit trail [`Portal::last_location`] looks for locate
/// commands.
const LOCATION_LOOKBACK: u32 = 200;

/// What an operation's audit event records about its outcome.
trait Audited {
    /// The CommandUUID the operation queued, if any.
    fn command_uuid(&self) -> Option<&str> {
        None
    }
}

impl Audited for Queued {
    fn command_uuid(&self) -> Option<&str> {
        Some(&self.command_uuid)
    }
}

impl Audited for PushOutcome {}

/// The portal service. Cheap to clone.
#[derive(Clone)]
pub struct Portal {
    engine: Engine,
    config: PortalConfig,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Hashes a password with argon2id (default parameters) into a PHC string.
pub fn hash_password(password: &str) -> Result<Secret> {
    if password.is_empty() {
        return Err(Error::InvalidInput("empty password".into()));
    }
    let mut salt = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt)?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| Error::InvalidInput(format!("salt: {e}")))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::InvalidInput(format!("password hashing: {e}")))?;
    Ok(Secret::from(hash.to_string()))
}

/// Checks a password against a PHC hash; argon2 compares the digests in constant time.
pub fn verify_password(password: &str, hash: &Secret) -> bool {
    let Some(text) = hash.expose_str() else {
        return false;
    };
    let Ok(parsed) = PasswordHash::new(text) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Creates a portal user (no password yet); the id and the e-mail address must be unused.
/// Written to the audit log. Needs only the store (administration tools).
pub async fn add_user(
    store: &SharedStore,
    id: &str,
    email: &str,
    name: Option<&str>,
) -> Result<PortalUser> {
    if id.is_empty() {
        return Err(Error::InvalidInput("empty user id".into()));
    }
    check_email(email)?;
    if store.get_portal_user(id).await?.is_some()
        || store.find_portal_user_by_email(email).await?.is_some()
    {
        return Err(
            mdmkit_core::Error::StoreConflict(format!("portal user {id} / {email}")).into(),
        );
    }
    let mut user = PortalUser::new(id, email);
    user.name = name.map(str::to_string);
    store.put_portal_user(&user).await?;
    audit_outcome(store, "admin", "portal.user_add", Some(id), "ok").await?;
    Ok(user)
}

/// Sets a user's password (argon2id) and ends every session of theirs; an empty password
/// is refused. Written to the audit log. Needs only the store (administration tools).
pub async fn set_password(store: &SharedStore, user_id: &str, password: &str) -> Result<()> {
    set_password_as(store, "admin", user_id, password).await
}

pub(crate) async fn set_password_as(
    store: &SharedStore,
    actor: &str,
    user_id: &str,
    password: &str,
) -> Result<()> {
    let mut user =
        store
            .get_portal_user(user_id)
            .await?
            .ok_or_else(|| mdmkit_core::Error::NotFound {
                kind: "portal user",
                id: user_id.to_string(),
            })?;
    user.password_hash = Some(hash_password(password)?);
    user.updated_at = now_micros();
    store.put_portal_user(&user).await?;
    // A new password ends every session signed in with the old one.
    crate::session::end_sessions(store, mdmkit_core::store::TokenKind::Session, user_id).await?;
    audit_outcome(store, actor, "portal.password_change", None, "ok").await?;
    Ok(())
}

/// The `DeviceName` of a DeviceInformation answer (`QueryResponses`, or the stored
/// dictionary of them).
fn device_name(plist_bytes: &[u8]) -> Option<String> {
    let value = plist::Value::from_reader(std::io::Cursor::new(plist_bytes)).ok()?;
    let dict = value.as_dictionary()?;
    let responses = dict
        .get("QueryResponses")
        .and_then(plist::Value::as_dictionary)
        .unwrap_or(dict);
    responses
        .get("DeviceName")
        .and_then(plist::Value::as_string)
        .map(str::to_string)
}

/// The coordinates of a DeviceLocation answer, when it carries them.
fn location_of(result: &CommandResultRecord) -> Option<LastLocation> {
    if result.status != mdmkit_core::CommandStatus::Acknowledged {
        return None;
    }
    let value = plist::Value::from_reader(std::io::Cursor::new(&result.payload)).ok()?;
    let mut keys = value.into_dictionary()?;
    for envelope in [
        "UDID",
        "CommandUUID",
        "Status",
        "ErrorChain",
        "EnrollmentID",
        "UserID",
    ] {
        keys.remove(envelope);
    }
    let CommandResponse::DeviceLocation(answer) =
        CommandResponse::decode("DeviceLocation", keys).ok()?
    else {
        return None;
    };
    Some(LastLocation {
        latitude: answer.latitude?,
        longitude: answer.longitude?,
        horizontal_accuracy: answer.horizontal_accuracy,
        at: result.received_at,
        command_uuid: result.command_uuid.clone(),
    })
}

/// Signs a portal user in by e-mail and password. Wrong e-mail, wrong password, no
/// password set and disabled user are all [`Error::SignInFailed`]; after
/// [`PortalConfig::max_failures`] failures the account answers [`Error::RateLimited`]
/// until the lockout ends, whatever the password. Audited (`portal.sign_in`). Needs only
/// the store.
pub async fn sign_in(
    store: &SharedStore,
    config: &PortalConfig,
    email: &str,
    password: &str,
) -> Result<Session> {
    let key = email.to_ascii_lowercase();
    let user = store.find_portal_user_by_email(email).await?;
    let hash = user
        .as_ref()
        .filter(|user| user.enabled)
        .and_then(|user| user.password_hash.as_ref());
    match check_sign_in(store, config, &key, hash, password).await {
        Ok(()) => {
            let user = user.ok_or(Error::SignInFailed)?;
            audit_outcome(store, &user.id, "portal.sign_in", None, "ok").await?;
            Ok(Session { user_id: user.id })
        }
        Err(error) => {
            let outcome = match &error {
                Error::SignInFailed => "failed",
                other => other.code(),
            };
            audit_outcome(store, email, "portal.sign_in", None, outcome).await?;
            Err(error)
        }
    }
}

/// The rate-limited password check of one sign-in on `account` (a normalised sign-in
/// name, unique to the kind of account: the portal uses the lowercase e-mail address),
/// counted in the store so every server sharing it counts together. `hash` is the
/// account's password hash when the account exists, is enabled and has a password.
///
/// A locked account is [`Error::RateLimited`] whatever the password; a wrong password (or
/// no `hash`) counts a failure and is [`Error::SignInFailed`]; the right one forgets the
/// account's failures. Without a hash the same work as a real check is spent, so timing
/// does not reveal which accounts exist.
pub async fn check_sign_in(
    store: &SharedStore,
    config: &PortalConfig,
    account: &str,
    hash: Option<&Secret>,
    password: &str,
) -> Result<()> {
    not_locked_out(store, account).await?;
    let accepted = match hash {
        Some(hash) => verify_password(password, hash),
        None => {
            let _ = hash_password(if password.is_empty() { "-" } else { password });
            false
        }
    };
    if accepted {
        store.clear_sign_in_failures(account).await?;
        Ok(())
    } else {
        count_failure(store, config, account).await?;
        Err(Error::SignInFailed)
    }
}

/// [`Error::RateLimited`] while the account is locked.
async fn not_locked_out(store: &SharedStore, account: &str) -> Result<()> {
    let now = now_micros();
    match store.sign_in_locked_until(account, now).await? {
        Some(until) => Err(Error::RateLimited {
            retry_after_secs: u64::try_from((until - now).whole_seconds())
                .unwrap_or(0)
                .max(1),
        }),
        None => Ok(()),
    }
}

/// Counts a failed sign-in (or password check) of the account in the store.
async fn count_failure(store: &SharedStore, config: &PortalConfig, account: &str) -> Result<()> {
    let lockout = time::Duration::try_from(config.lockout)
        .map_err(|_| Error::InvalidInput("portal lockout too long".into()))?;
    store
        .record_sign_in_failure(account, now_micros(), config.max_failures, lockout)
        .await?;
    Ok(())
}

/// Appends an audit event with `{"outcome": …}` as its detail (the portal's and the
/// administrators' sign-ins and account changes).
pub async fn audit_outcome(
    store: &SharedStore,
    actor: &str,
    action: &str,
    target: Option<&str>,
    outcome: &str,
) -> Result<()> {
    let mut event = AuditEvent::new(actor, action);
    event.target = target.map(str::to_string);
    event.detail = Some(serde_json::json!({ "outcome": outcome }).to_string());
    store.append_audit_event(&event).await?;
    Ok(())
}

impl Portal {
    /// A portal acting through `engine` (and its store).
    pub fn new(engine: Engine, config: PortalConfig) -> Self {
        Self { engine, config }
    }

    /// Creates a portal user (no password yet); see [`add_user`].
    pub async fn add_user(&self, id: &str, email: &str, name: Option<&str>) -> Result<PortalUser> {
        add_user(self.engine.store(), id, email, name).await
    }

    /// Sets a user's password (argon2id); see [`set_password`].
    pub async fn set_password(&self, user_id: &str, password: &str) -> Result<()> {
        set_password(self.engine.store(), user_id, password).await
    }

    /// Signs a user in by e-mail and password; see [`sign_in`].
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Session> {
        sign_in(self.engine.store(), &self.config, email, password).await
    }

    /// [`Error::RateLimited`] while the account (its lowercase e-mail address) is locked.
    async fn not_locked_out(&self, account: &str) -> Result<()> {
        not_locked_out(self.engine.store(), account).await
    }

    /// Counts a failed sign-in (or password check) of the account in the store.
    async fn count_failure(&self, account: &str) -> Result<()> {
        count_failure(self.engine.store(), &self.config, account).await
    }

    /// A session for an existing, enabled user without a password (the administrator's
    /// `mdmkit portal as U`); every check still applies.
    pub async fn act_as(&self, user_id: &str) -> Result<Session> {
        match self.engine.store().get_portal_user(user_id).await? {
            Some(user) if user.enabled => Ok(Session { user_id: user.id }),
            _ => Err(mdmkit_core::Error::NotFound {
                kind: "portal user",
                id: user_id.to_string(),
            }
            .into()),
        }
    }

    /// Changes the signed-in user's password; the current password must be given (a wrong
    /// one counts as a failed sign-in).
    pub async fn change_password(&self, session: &Session, current: &str, new: &str) -> Result<()> {
        let user = self.current_user(session).await?;
        let key = user.email.to_ascii_lowercase();
        self.not_locked_out(&key).await?;
        let ok = user
            .password_hash
            .as_ref()
            .is_some_and(|hash| verify_password(current, hash));
        if !ok {
            self.count_failure(&key).await?;
            self.audit(&user.id, "portal.password_change", None, "sign_in_failed")
                .await?;
            return Err(Error::SignInFailed);
        }
        set_password_as(self.engine.store(), &user.id, &user.id, new).await
    }

    /// Changes the signed-in user's display name and e-mail address (`None` keeps it).
    /// An e-mail address another user has is a store conflict.
    pub async fn update_account(
        &self,
        session: &Session,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<PortalUser> {
        let store = self.engine.store();
        let mut user = self.current_user(session).await?;
        if let Some(email) = email {
            check_email(email)?;
            if let Some(other) = store.find_portal_user_by_email(email).await? {
                if other.id != user.id {
                    self.audit(&user.id, "portal.account_update", None, "store_conflict")
                        .await?;
                    return Err(mdmkit_core::Error::StoreConflict(format!("e-mail {email}")).into());
                }
            }
            user.email = email.to_string();
        }
        if let Some(name) = name {
            user.name = Some(name.to_string());
        }
        store.put_portal_user(&user).await?;
        self.audit(&user.id, "portal.account_update", None, "ok")
            .await?;
        Ok(user)
    }

    /// A registration link for another device of the signed-in user: a fresh single-use
    /// enrollment token valid for `ttl`, under `links` (the link is a secret: show it to
    /// the user only). Audited as `portal.registration_link`.
    pub async fn registration_link(
        &self,
        session: &Session,
        links: &crate::EnrollmentLinks,
        ttl: Duration,
    ) -> Result<Secret> {
        let user = self.current_user(session).await?;
        let link =
            crate::invite::registration_link(self.engine.store(), links, &user.id, ttl).await?;
        self.audit(&user.id, "portal.registration_link", None, "ok")
            .await?;
        Ok(link)
    }

    async fn current_user(&self, session: &Session) -> Result<PortalUser> {
        match self
            .engine
            .store()
            .get_portal_user(&session.user_id)
            .await?
        {
            Some(user) if user.enabled => Ok(user),
            _ => Err(Error::SignInFailed),
        }
    }

    /// The signed-in user's devices.
    pub async fn devices(&self, session: &Session) -> Result<Vec<PortalDevice>> {
        let store = self.engine.store();
        let mut query = EnrollmentQuery::all();
        query.owner = Some(session.user_id.clone());
        let mut devices = Vec::new();
        for record in store.list_enrollments(&query).await? {
            devices.push(self.portal_device(session, record).await?);
        }
        self.audit(&session.user_id, "portal.devices", None, "ok")
            .await?;
        Ok(devices)
    }

    /// One of the signed-in user's devices; another user's device, or one that does not
    /// exist, is [`Error::DeviceNotFound`].
    pub async fn device(&self, session: &Session, device: &str) -> Result<PortalDevice> {
        let id = self.owned(session, "device", device).await?;
        let record = self
            .engine
            .store()
            .get_enrollment(&id)
            .await?
            .ok_or_else(|| Error::DeviceNotFound(device.to_string()))?;
        self.portal_device(session, record).await
    }

    async fn portal_device(
        &self,
        session: &Session,
        record: EnrollmentRecord,
    ) -> Result<PortalDevice> {
        let store = self.engine.store();
        let device = store.get_device(record.id.device_part()).await?;
        let allow_location = self.location_allowed(session, &record.id).await?;
        let actions = self.actions(&record, allow_location).await;
        Ok(PortalDevice {
            serial_number: device.as_ref().and_then(|d| d.serial_number.clone()),
            model: device
                .as_ref()
                .and_then(|d| d.product_name.clone().or_else(|| d.model.clone())),
            os_version: device.as_ref().and_then(|d| d.os_version.clone()),
            name: device
                .as_ref()
                .and_then(|d| d.device_information.as_deref())
                .and_then(device_name),
            last_seen: record.last_seen,
            enabled: record.enabled,
            enrollment_id: record.id,
            actions,
        })
    }

    /// The last location one of the user's devices reported: the newest answer carrying
    /// coordinates to a DeviceLocation command queued through the portal or the admin
    /// actions (found through the device's audit trail). Refused with
    /// [`Error::LocationDisabled`] when the privacy settings in effect forbid locating it.
    pub async fn last_location(
        &self,
        session: &Session,
        device: &str,
    ) -> Result<Option<LastLocation>> {
        let id = self.owned(session, "location", device).await?;
        if !self.location_allowed(session, &id).await? {
            let error = Error::LocationDisabled;
            self.audit(
                &session.user_id,
                "portal.location",
                Some(id.as_str()),
                error.code(),
            )
            .await?;
            return Err(error);
        }
        let store = self.engine.store();
        let mut query = AuditQuery::default();
        query.target = Some(id.to_string());
        query.limit = Some(LOCATION_LOOKBACK);
        for event in store.list_audit_events(&query).await? {
            if event.action != "portal.locate" && event.action != "device.locate" {
                continue;
            }
            let Some(uuid) = event
                .detail
                .as_deref()
                .and_then(|detail| serde_json::from_str::<serde_json::Value>(detail).ok())
                .and_then(|detail| detail["command_uuid"].as_str().map(str::to_string))
            else {
                continue;
            };
            for status in store.command_status(&uuid).await? {
                if status.enrollment_id != id {
                    continue;
                }
                if let Some(location) = status.result.as_ref().and_then(location_of) {
                    return Ok(Some(location));
                }
            }
        }
        Ok(None)
    }

    /// The state of a command on one of the user's devices; `None` when the command was
    /// not queued to that device.
    pub async fn command_status(
        &self,
        session: &Session,
        device: &str,
        command_uuid: &str,
    ) -> Result<Option<CommandTargetStatus>> {
        let id = self.owned(session, "command_status", device).await?;
        Ok(self
            .engine
            .store()
            .command_status(command_uuid)
            .await?
            .into_iter()
            .find(|status| status.enrollment_id == id))
    }

    async fn actions(&self, record: &EnrollmentRecord, allow_location: bool) -> Vec<&'static str> {
        let Ok(facts) = self.engine.device_facts(&record.id).await else {
            return Vec::new();
        };
        let supports = |request_type: &str| {
            command_info(request_type).is_some_and(|info| info.check(&facts).is_ok())
        };
        let mut actions = Vec::new();
        if record.enabled {
            if supports("DeviceLock") {
                actions.push("lock");
            }
            if supports("ClearPasscode")
                && record.unlock_token.as_ref().is_some_and(|t| !t.is_empty())
            {
                actions.push("unlock");
            }
            if allow_location && supports("DeviceLocation") {
                actions.push("locate");
            }
            if supports("EraseDevice") {
                actions.push("wipe");
            }
            if supports("RemoveProfile")
                && self.engine.config().enrollment_profile_identifier.is_some()
            {
                actions.push("retire");
            }
            if record.push.as_ref().is_some_and(|p| p.is_valid()) {
                actions.push("checkin");
            }
        }
        actions
    }

    /// Locks one of the user's devices.
    pub async fn lock(
        &self,
        session: &Session,
        device: &str,
        options: LockOptions,
    ) -> Result<Queued> {
        let id = self.owned(session, "lock", device).await?;
        let outcome = self.engine.lock(&id, options).await;
        self.finish(session, "lock", &id, outcome).await
    }

    /// Clears the passcode of one of the user's devices.
    pub async fn unlock(&self, session: &Session, device: &str) -> Result<Queued> {
        let id = self.owned(session, "unlock", device).await?;
        let outcome = self.engine.unlock(&id).await;
        self.finish(session, "unlock", &id, outcome).await
    }

    /// Asks one of the user's devices for its location; refused with
    /// [`Error::LocationDisabled`] (nothing queued) when the privacy settings in effect for
    /// the device forbid it (its override, else the user's, else the server's).
    pub async fn locate(&self, session: &Session, device: &str) -> Result<Queued> {
        let id = self.owned(session, "locate", device).await?;
        if !self.location_allowed(session, &id).await? {
            let error = Error::LocationDisabled;
            self.audit(
                &session.user_id,
                "portal.locate",
                Some(id.as_str()),
                error.code(),
            )
            .await?;
            return Err(error);
        }
        let outcome = self.engine.locate(&id).await;
        self.finish(session, "locate", &id, outcome).await
    }

    /// Erases one of the user's devices.
    pub async fn wipe(
        &self,
        session: &Session,
        device: &str,
        options: EraseDevice,
    ) -> Result<Queued> {
        let id = self.owned(session, "wipe", device).await?;
        let outcome = self.engine.wipe(&id, options).await;
        self.finish(session, "wipe", &id, outcome).await
    }

    /// Retires (unenrolls) one of the user's devices.
    pub async fn retire(&self, session: &Session, device: &str) -> Result<Queued> {
        let id = self.owned(session, "retire", device).await?;
        let outcome = self.engine.retire(&id).await;
        self.finish(session, "retire", &id, outcome).await
    }

    /// Makes one of the user's devices check in now (a push).
    pub async fn check_in(&self, session: &Session, device: &str) -> Result<PushOutcome> {
        let id = self.owned(session, "checkin", device).await?;
        let outcome = self.engine.check_in_now(&id).await;
        self.finish(session, "checkin", &id, outcome).await
    }

    /// Whether the privacy settings in effect for one of the user's enrollments allow
    /// locating it.
    async fn location_allowed(&self, session: &Session, id: &EnrollmentId) -> Result<bool> {
        let effective =
            effective_privacy(&**self.engine.store(), Some(id), Some(&session.user_id)).await?;
        Ok(effective.location.allowed)
    }

    /// The portal's branding (name, colours, logo) for its front end; no sign-in needed.
    /// `None` until an administrator sets it ([`set_branding`](crate::set_branding)).
    pub async fn branding(&self) -> Result<Option<Branding>> {
        Ok(self.engine.store().get_branding().await?)
    }

    /// The enrollment if it belongs to the user; otherwise audits the attempt and answers
    /// "not found", as for an enrollment that does not exist.
    async fn owned(
        &self,
        session: &Session,
        operation: &str,
        device: &str,
    ) -> Result<EnrollmentId> {
        let id = EnrollmentId::new(device);
        let record = self.engine.store().get_enrollment(&id).await?;
        if record.is_some_and(|r| r.owner.as_deref() == Some(session.user_id.as_str())) {
            return Ok(id);
        }
        let error = Error::DeviceNotFound(device.to_string());
        self.audit(
            &session.user_id,
            &format!("portal.{operation}"),
            Some(id.as_str()),
            error.code(),
        )
        .await?;
        Err(error)
    }

    async fn finish<T: Audited>(
        &self,
        session: &Session,
        operation: &str,
        id: &EnrollmentId,
        outcome: mdmkit_core::Result<T>,
    ) -> Result<T> {
        let detail = match &outcome {
            Ok(done) => match done.command_uuid() {
                Some(uuid) => serde_json::json!({ "outcome": "ok", "command_uuid": uuid }),
                None => serde_json::json!({ "outcome": "ok" }),
            },
            Err(error) => serde_json::json!({ "outcome": error.code() }),
        };
        let mut event = AuditEvent::new(&session.user_id, format!("portal.{operation}"));
        event.target = Some(id.to_string());
        event.detail = Some(detail.to_string());
        self.engine.store().append_audit_event(&event).await?;
        Ok(outcome?)
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        outcome: &str,
    ) -> Result<()> {
        audit_outcome(self.engine.store(), actor, action, target, outcome).await
    }
}
