//! Sign-in sessions, shared by every server on the store: what
//! [`Admins::sign_in`](crate::admins::Admins::sign_in) and
//! [`Portal::sign_in`](crate::portal::Portal::sign_in) return.
//!
//! The session's value is 256 random bits (base64url), returned once in [`SignedIn`]; the
//! store keeps only its SHA-256 ([`TokenKind::Session`](mdmkit_core::store::TokenKind) for
//! portal users, `AdminSession` for administrators). A session ends at a fixed time after
//! sign-in (the `session_hours` setting, unset [`SESSION_LIFETIME`]), at sign-out, when its user's password changes, and when
//! its user is disabled or deleted; an ended session is `not_signed_in`.

use std::time::Duration;

use mdmkit_core::store::TokenKind;
use serde::Serialize;
use time::OffsetDateTime;

use crate::settings::{self, Settings};
use crate::{Error, Mdm, Result};

/// How long a session lasts after sign-in when the `session_hours` setting is unset:
/// twelve hours.
pub const SESSION_LIFETIME: Duration = mdmkit_enrollment::DEFAULT_SESSION_LIFETIME;

/// A new session: its value (the bearer secret, shown once: put it in a cookie), whose it
/// is and when it ends.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SignedIn {
    /// The session's value (secret; `Debug` does not show it).
    pub token: String,
    /// The signed-in user's (or administrator's) id.
    pub user_id: String,
    /// When the session ends (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("token", &"<redacted>")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How long a new session lasts: the `session_hours` setting, else [`SESSION_LIFETIME`].
pub(crate) async fn lifetime(settings: &Settings) -> Result<Duration> {
    match settings.get(settings::SESSION_HOURS).await? {
        Some(hours) => {
            let hours: u64 = hours.trim().parse().map_err(|_| Error::InvalidSetting {
                name: settings::SESSION_HOURS.to_owned(),
                reason: format!("{hours:?} is not a whole number of hours"),
            })?;
            Ok(Duration::from_secs(hours.saturating_mul(3600)))
        }
        None => Ok(SESSION_LIFETIME),
    }
}

/// Starts a session of `kind` for `user_id`, lasting as the settings say.
pub(crate) async fn start(mdm: &Mdm, kind: TokenKind, user_id: &str) -> Result<SignedIn> {
    let lifetime = lifetime(&mdm.settings()).await?;
    let issued = mdmkit_enrollment::start_session(mdm.store(), kind, user_id, lifetime).await?;
    Ok(SignedIn {
        token: issued.value.expose_str().unwrap_or_default().to_owned(),
        user_id: issued.record.user_id,
        expires_at: issued.record.expires_at.unwrap_or(issued.record.created_at),
    })
}
