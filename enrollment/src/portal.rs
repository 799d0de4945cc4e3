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
use mdmkit_core::command::{command_info, EraseDevice};
use mdmkit_core::engine::{Engine, LockOptions, Queued};
use mdmkit_core::push::PushOutcome;
use mdmkit_core::store::{
    effective_privacy, now_micros, AuditEvent, Branding, EnrollmentQuery, EnrollmentRecord,
    PortalUser, SharedStore,
};
use mdmkit_core::{EnrollmentId, Secret};

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
    /// The operations this device supports now ("lock", "unlock", "locate", "wipe",
    /// "retire", "checkin").
    pub actions: Vec<&'static str>,
}
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
fn verify_password(password: &str, hash: &Secret) -> bool {
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
    audit(store, "admin", "portal.user_add", Some(id), "ok").await?;
    Ok(user)
}

/// Sets a user's password (argon2id); an empty password is refused. Written to the audit
/// log. Needs only the store (administration tools).
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
    store.put_portal_user(&user).await?;
    audit(store, actor, "portal.password_change", None, "ok").await?;
    Ok(())
}

async fn audit(
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

    /// Signs a user in by e-mail and password. Wrong e-mail, wrong password, no password
    /// set and disabled user are all [`Error::SignInFailed`]; after
    /// [`PortalConfig::max_failures`] failures the account answers
    /// [`Error::RateLimited`] until the lockout ends, whatever the password.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Session> {
        let store = self.engine.store();
        let key = email.to_ascii_lowercase();
        if let Err(error) = self.not_locked_out(&key).await {
            self.audit(email, "portal.sign_in", None, error.code())
                .await?;
            return Err(error);
        }
        let user = store.find_portal_user_by_email(email).await?;
        let accepted = match &user {
            Some(user) if user.enabled => user
                .password_hash
                .as_ref()
                .is_some_and(|hash| verify_password(password, hash)),
            _ => {
                // Spend the same work as a real check, so timing does not reveal accounts.
                let _ = hash_password(if password.is_empty() { "-" } else { password });
                false
            }
        };
        match (accepted, user) {
            (true, Some(user)) => {
                store.clear_sign_in_failures(&key).await?;
                self.audit(&user.id, "portal.sign_in", None, "ok").await?;
                Ok(Session { user_id: user.id })
            }
            _ => {
                self.count_failure(&key).await?;
                self.audit(email, "portal.sign_in", None, "failed").await?;
                Err(Error::SignInFailed)
            }
        }
    }

    /// [`Error::RateLimited`] while the account (its lowercase e-mail address) is locked.
    async fn not_locked_out(&self, account: &str) -> Result<()> {
        let now = now_micros();
        match self
            .engine
            .store()
            .sign_in_locked_until(account, now)
            .await?
        {
            Some(until) => Err(Error::RateLimited {
                retry_after_secs: u64::try_from((until - now).whole_seconds())
                    .unwrap_or(0)
                    .max(1),
            }),
            None => Ok(()),
        }
    }

    /// Counts a failed sign-in (or password check) of the account in the store.
    async fn count_failure(&self, account: &str) -> Result<()> {
        let lockout = time::Duration::try_from(self.config.lockout)
            .map_err(|_| Error::InvalidInput("portal lockout too long".into()))?;
        self.engine
            .store()
            .record_sign_in_failure(account, now_micros(), self.config.max_failures, lockout)
            .await?;
        Ok(())
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
            let device = store.get_device(record.id.device_part()).await?;
            let allow_location = self.location_allowed(session, &record.id).await?;
            let actions = self.actions(&record, allow_location).await;
            devices.push(PortalDevice {
                serial_number: device.as_ref().and_then(|d| d.serial_number.clone()),
                model: device
                    .as_ref()
                    .and_then(|d| d.product_name.clone().or_else(|| d.model.clone())),
                os_version: device.as_ref().and_then(|d| d.os_version.clone()),
                enabled: record.enabled,
                enrollment_id: record.id,
                actions,
            });
        }
        self.audit(&session.user_id, "portal.devices", None, "ok")
            .await?;
        Ok(devices)
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

    async fn finish<T>(
        &self,
        session: &Session,
        operation: &str,
        id: &EnrollmentId,
        outcome: mdmkit_core::Result<T>,
    ) -> Result<T> {
        let result = match &outcome {
            Ok(_) => "ok",
            Err(error) => error.code(),
        };
        self.audit(
            &session.user_id,
            &format!("portal.{operation}"),
            Some(id.as_str()),
            result,
        )
        .await?;
        Ok(outcome?)
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        outcome: &str,
    ) -> Result<()> {
        audit(self.engine.store(), actor, action, target, outcome).await
    }
}
