//! The administrators' accounts (the console and the admin API), apart from the portal's
//! end users: argon2id passwords, sign-in rate-limited in the store like the portal's (on
//! the account key `admin:<lowercase e-mail>`), sessions in the store. Every addition,
//! deletion, password change, sign-in and sign-out is written to the audit log (actions
//! `admin.*`).

use mdmkit_core::store::{now_micros, AdminUserRecord, TokenKind};
use mdmkit_enrollment::PortalConfig;
use serde::Serialize;
use time::OffsetDateTime;

use crate::sessions::{self, SignedIn};
use crate::{Error, Mdm, Result};

/// An administrator (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AdminUser {
    /// The administrator's id.
    pub id: String,
    /// The e-mail address they sign in with.
    pub email: String,
    /// The display name.
    pub name: Option<String>,
    /// Whether they may sign in.
    pub enabled: bool,
    /// When they were added (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<AdminUserRecord> for AdminUser {
    fn from(record: AdminUserRecord) -> Self {
        Self {
            id: record.id,
            email: record.email,
            name: record.name,
            enabled: record.enabled,
            created_at: record.created_at,
        }
    }
}

/// A signed-in administrator, from [`Admins::session`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AdminSession {
    /// The administrator's id.
    pub admin_id: String,
    /// Their e-mail address.
    pub email: String,
    /// Their display name.
    pub name: Option<String>,
    /// When the session ends (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The administrators of a deployment (`Mdm::admins`).
#[derive(Debug, Clone)]
pub struct Admins {
    mdm: Mdm,
}

impl Admins {
    pub(crate) fn new(mdm: Mdm) -> Self {
        Self { mdm }
    }

    /// Adds an administrator who signs in with `email` and `password` (argon2id). An
    /// address another administrator has is `store_conflict`; a malformed address or an
    /// empty password is `invalid_input`.
    pub async fn add(&self, email: &str, name: Option<&str>, password: &str) -> Result<AdminUser> {
        let store = self.mdm.store();
        mdmkit_enrollment::check_email(email)?;
        if store.find_admin_user_by_email(email).await?.is_some() {
            return Err(Error::Core(mdmkit_core::Error::StoreConflict(format!(
                "another administrator has the e-mail address {email:?}"
            ))));
        }
        let mut record = AdminUserRecord::new(new_id()?, email);
        record.name = name.map(str::to_owned).filter(|name| !name.is_empty());
        record.password_hash = Some(mdmkit_enrollment::hash_password(password)?);
        store.put_admin_user(&record).await?;
        self.audit(self.mdm.actor(), "admin.add", Some(&record.id), "ok")
            .await?;
        Ok(record.into())
    }

    /// Every administrator, ordered by id.
    pub async fn list(&self) -> Result<Vec<AdminUser>> {
        let records = self.mdm.store().list_admin_users().await?;
        Ok(records.into_iter().map(AdminUser::from).collect())
    }

    /// One administrator; `not_found` when unknown.
    pub async fn get(&self, id: &str) -> Result<AdminUser> {
        Ok(self.record(id).await?.into())
    }

    /// Deletes an administrator and ends their sessions; returns whether they existed.
    pub async fn delete(&self, id: &str) -> Result<bool> {
        let deleted = self.mdm.store().delete_admin_user(id).await?;
        self.audit(
            self.mdm.actor(),
            "admin.delete",
            Some(id),
            if deleted { "ok" } else { "not_found" },
        )
        .await?;
        Ok(deleted)
    }

    /// Sets an administrator's password (argon2id) and ends every session of theirs;
    /// `not_found` when unknown, `invalid_input` for an empty password.
    pub async fn set_password(&self, id: &str, password: &str) -> Result<()> {
        let mut record = self.record(id).await?;
        record.password_hash = Some(mdmkit_enrollment::hash_password(password)?);
        record.updated_at = now_micros();
        self.mdm.store().put_admin_user(&record).await?;
        mdmkit_enrollment::end_sessions(self.mdm.store(), TokenKind::AdminSession, id).await?;
        self.audit(self.mdm.actor(), "admin.password_change", Some(id), "ok")
            .await
    }

    /// Enables or disables an administrator; disabling ends every session of theirs.
    /// `not_found` when unknown.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<AdminUser> {
        let mut record = self.record(id).await?;
        record.enabled = enabled;
        record.updated_at = now_micros();
        self.mdm.store().put_admin_user(&record).await?;
        if !enabled {
            mdmkit_enrollment::end_sessions(self.mdm.store(), TokenKind::AdminSession, id).await?;
        }
        let action = if enabled {
            "admin.enable"
        } else {
            "admin.disable"
        };
        self.audit(self.mdm.actor(), action, Some(id), "ok").await?;
        Ok(record.into())
    }

    /// Signs an administrator in: a new session. A wrong address or password, or a
    /// disabled administrator, is `sign_in_failed`; after five failures in a row the
    /// account is `rate_limited` for fifteen minutes, whatever the password (counted in
    /// the store, apart from portal accounts).
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<SignedIn> {
        let store = self.mdm.store();
        let account = format!("admin:{}", email.to_lowercase());
        let record = store.find_admin_user_by_email(email).await?;
        let hash = record
            .as_ref()
            .filter(|record| record.enabled)
            .and_then(|record| record.password_hash.as_ref());
        let checked = mdmkit_enrollment::check_sign_in(
            store,
            &PortalConfig::default(),
            &account,
            hash,
            password,
        )
        .await;
        match (checked, record) {
            (Ok(()), Some(record)) => {
                let signed_in =
                    sessions::start(&self.mdm, TokenKind::AdminSession, &record.id).await?;
                self.audit(&record.id, "admin.sign_in", None, "ok").await?;
                Ok(signed_in)
            }
            (Ok(()), None) => Err(mdmkit_enrollment::Error::SignInFailed.into()),
            (Err(error), _) => {
                let outcome = match &error {
                    mdmkit_enrollment::Error::SignInFailed => "failed",
                    other => other.code(),
                };
                self.audit(email, "admin.sign_in", None, outcome).await?;
                Err(error.into())
            }
        }
    }

    /// The signed-in administrator of a session; `not_signed_in` when the session is
    /// unknown, ended or expired, or its administrator was deleted or disabled.
    pub async fn session(&self, token: &str) -> Result<AdminSession> {
        let store = self.mdm.store();
        let session =
            mdmkit_enrollment::find_session(store, TokenKind::AdminSession, token).await?;
        match store.get_admin_user(&session.user_id).await? {
            Some(record) if record.enabled => Ok(AdminSession {
                admin_id: record.id,
                email: record.email,
                name: record.name,
                expires_at: session.expires_at.unwrap_or(session.created_at),
            }),
            _ => Err(mdmkit_enrollment::Error::NotSignedIn.into()),
        }
    }

    /// Ends a session (an unknown or ended one is not an error).
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let store = self.mdm.store();
        let actor = mdmkit_enrollment::find_session(store, TokenKind::AdminSession, token)
            .await
            .map(|session| session.user_id)
            .unwrap_or_else(|_| self.mdm.actor().to_owned());
        let ended = mdmkit_enrollment::end_session(store, TokenKind::AdminSession, token).await?;
        self.audit(
            &actor,
            "admin.sign_out",
            None,
            if ended { "ok" } else { "not_signed_in" },
        )
        .await
    }

    async fn record(&self, id: &str) -> Result<AdminUserRecord> {
        self.mdm.store().get_admin_user(id).await?.ok_or_else(|| {
            Error::Core(mdmkit_core::Error::NotFound {
                kind: "administrator",
                id: id.to_owned(),
            })
        })
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        outcome: &str,
    ) -> Result<()> {
        Ok(
            mdmkit_enrollment::audit_outcome(self.mdm.store(), actor, action, target, outcome)
                .await?,
        )
    }
}

/// A new administrator id: `adm_` and 16 random hex digits.
fn new_id() -> Result<String> {
    let mut bytes = [0u8; 8];
    openssl::rand::rand_bytes(&mut bytes)
        .map_err(|e| Error::input(format!("no random bytes: {e}")))?;
    Ok(format!("adm_{}", hex::encode(bytes)))
}
