//! Sign-in sessions kept in the store, so every server sharing it accepts them and a
//! restart signs nobody out.
//!
//! A session is a [`TokenRecord`] of kind [`TokenKind::Session`] (portal users) or
//! [`TokenKind::AdminSession`] (administrators): the value (256 random bits, base64url)
//! is returned once to the caller, only its SHA-256 is stored. A session expires at a
//! fixed time after sign-in; an expired, ended or unknown session, or one of another kind,
//! is [`Error::NotSignedIn`], alike.

use std::time::Duration;

use mdmkit_core::store::{now_micros, SharedStore, TokenKind, TokenRecord};
use mdmkit_core::Secret;

use crate::ca::random_token;
use crate::enroller::{expiry, token_hash, IssuedToken};
use crate::{Error, Result};

/// How long a session lasts when the caller does not say: twelve hours.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// Starts a session of `kind` for `user_id` (whose existence the caller checked), valid
/// for `lifetime`. The value is in the returned token, once.
pub async fn start_session(
    store: &SharedStore,
    kind: TokenKind,
    user_id: &str,
    lifetime: Duration,
) -> Result<IssuedToken> {
    check_kind(kind)?;
    if lifetime.is_zero() {
        return Err(Error::InvalidInput("session lifetime is zero".into()));
    }
    let value = random_token(32)?;
    let mut record = TokenRecord::new(token_hash(&value), kind, user_id);
    record.created_at = now_micros();
    record.expires_at = Some(expiry(record.created_at, lifetime)?);
    store.put_token(&record).await?;
    Ok(IssuedToken {
        value: Secret::from(value),
        record,
    })
}

/// The stored session of `kind` whose value is `token`; [`Error::NotSignedIn`] when it is
/// unknown, ended, expired or of another kind. An expired session is deleted.
pub async fn find_session(
    store: &SharedStore,
    kind: TokenKind,
    token: &str,
) -> Result<TokenRecord> {
    check_kind(kind)?;
    if token.is_empty() {
        return Err(Error::NotSignedIn);
    }
    let hash = token_hash(token);
    let Some(record) = store.get_token(&hash).await? else {
        return Err(Error::NotSignedIn);
    };
    if record.kind != kind {
        return Err(Error::NotSignedIn);
    }
    if record
        .expires_at
        .is_some_and(|expires| expires <= now_micros())
    {
        store.delete_token(&hash).await?;
        return Err(Error::NotSignedIn);
    }
    Ok(record)
}

/// Ends the session whose value is `token` (of `kind` only); returns whether there was
/// one.
pub async fn end_session(store: &SharedStore, kind: TokenKind, token: &str) -> Result<bool> {
    check_kind(kind)?;
    let hash = token_hash(token);
    match store.get_token(&hash).await? {
        Some(record) if record.kind == kind => Ok(store.delete_token(&hash).await?),
        _ => Ok(false),
    }
}

/// Ends every session of `kind` of `user_id` (a password change, a disabled account);
/// returns how many were ended.
pub async fn end_sessions(store: &SharedStore, kind: TokenKind, user_id: &str) -> Result<u64> {
    check_kind(kind)?;
    let mut ended = 0;
    for record in store.list_tokens(user_id).await? {
        if record.kind == kind && store.delete_token(&record.token_hash).await? {
            ended += 1;
        }
    }
    Ok(ended)
}

fn check_kind(kind: TokenKind) -> Result<()> {
    match kind {
        TokenKind::Session | TokenKind::AdminSession => Ok(()),
        other => Err(Error::InvalidInput(format!(
            "{} tokens are not sessions",
            other.as_str()
        ))),
    }
}
