//! One-time enrollment tokens and the enrollment of a device for a user.
//!
//! An administrator (or the portal) creates an enrollment token for a user; the device's
//! registration link carries its value. Redeeming it (once, before it expires) issues the
//! device an identity certificate and returns the signed enrollment profile. The
//! certificate's SHA-256 is recorded for the user, so when the device authenticates with
//! it [`Enroller::bind_owner`] (or the [`OwnerBinding`] event sink) makes the user the
//! enrollment's owner and the device appears in that user's portal.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mdmkit_core::engine::{Event, EventSink};
use mdmkit_core::profile::{sign, SigningIdentity};
use mdmkit_core::store::{SharedStore, TokenKind, TokenRecord};
use mdmkit_core::{EnrollmentId, Secret};
use time::OffsetDateTime;

use crate::ca::{random_token, sha256_hex, DeviceCa};
use crate::profile::{enrollment_profile, EnrollmentProfileSettings};
use crate::{Error, Result};

/// A new enrollment token: the secret value (for the registration link; only its hash is
/// stored) and the stored record.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The token value, shown once.
    pub value: Secret,
    /// What the store keeps (keyed by the SHA-256 of the value).
    pub record: TokenRecord,
}

/// A device's signed enrollment profile, made by [`Enroller::enroll`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedEnrollment {
    /// The signed profile (CMS), to serve as `application/x-apple-aspen-config`.
    pub profile: Vec<u8>,
    /// The user the device will belong to.
    pub user_id: String,
    /// Lowercase hex SHA-256 of the device's identity certificate.
    pub identity_sha256: String,
}

/// Makes enrollment tokens and enrollment profiles. `Debug` never shows keys.
#[derive(Clone)]
pub struct Enroller {
    store: SharedStore,
    ca: Arc<DeviceCa>,
    settings: EnrollmentProfileSettings,
    signer: Arc<SigningIdentity>,
}

impl std::fmt::Debug for Enroller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enroller")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The hash a token is stored under: lowercase hex SHA-256 of its value.
pub fn token_hash(value: &str) -> String {
    sha256_hex(value.as_bytes())
}

impl Enroller {
    /// An enroller issuing identities from `ca`, building profiles from `settings` and
    /// signing them with `signer`.
    pub fn new(
        store: SharedStore,
        ca: Arc<DeviceCa>,
        settings: EnrollmentProfileSettings,
        signer: Arc<SigningIdentity>,
    ) -> Self {
        Self {
            store,
            ca,
            settings,
            signer,
        }
    }

    /// Creates a one-time enrollment token for an existing portal user, valid for `ttl`.
    pub async fn create_token(&self, user_id: &str, ttl: Duration) -> Result<IssuedToken> {
        if self.store.get_portal_user(user_id).await?.is_none() {
            return Err(mdmkit_core::Error::NotFound {
                kind: "portal user",
                id: user_id.to_string(),
            }
            .into());
        }
        let ttl = time::Duration::try_from(ttl)
            .map_err(|_| Error::InvalidInput("token lifetime too long".into()))?;
        let value = random_token(32)?;
        let mut record = TokenRecord::new(token_hash(&value), TokenKind::Enrollment, user_id);
        record.expires_at = Some(record.created_at + ttl);
        self.store.put_token(&record).await?;
        Ok(IssuedToken {
            value: Secret::from(value),
            record,
        })
    }

    /// Revokes a token before it is used.
    pub async fn revoke_token(&self, value: &str) -> Result<bool> {
        Ok(self.store.delete_token(&token_hash(value)).await?)
    }

    /// Redeems an enrollment token (once, before it expires): checks that the push topic is
    /// registered, issues the device an identity, records it for the token's user and
    /// returns the signed enrollment profile. A used, expired, unknown or non-enrollment
    /// token is [`Error::TokenInvalid`].
    pub async fn enroll(&self, token: &str) -> Result<SignedEnrollment> {
        let hash = token_hash(token);
        match self.store.get_token(&hash).await? {
            Some(record) if record.kind == TokenKind::Enrollment => {}
            _ => return Err(Error::TokenInvalid),
        }
        if self
            .store
            .get_push_certificate(&self.settings.topic)
            .await?
            .is_none()
        {
            return Err(mdmkit_core::Error::NotFound {
                kind: "push certificate for topic",
                id: self.settings.topic.clone(),
            }
            .into());
        }
        let record = self
            .store
            .use_token(&hash, OffsetDateTime::now_utc())
            .await?
            .ok_or(Error::TokenInvalid)?;
        let identity = self.ca.issue(&format!("mdmkit device {}", &hash[..16]))?;
        let profile = enrollment_profile(&self.settings, &identity, &self.ca.certificate_der()?)?;
        let signed = sign(&profile, &self.signer)?;
        // The identity's fingerprint is recorded as a used token of the user: it is how the
        // device is recognised at Authenticate, and it can never be redeemed.
        let mut binding = TokenRecord::new(
            identity.sha256.clone(),
            TokenKind::Enrollment,
            &record.user_id,
        );
        binding.used_at = Some(binding.created_at);
        self.store.put_token(&binding).await?;
        Ok(SignedEnrollment {
            profile: signed,
            user_id: record.user_id,
            identity_sha256: identity.sha256,
        })
    }

    /// Makes the user an enrolled device's identity was issued for the enrollment's owner.
    /// Returns the owner set, `None` when the identity was not issued through a token (or
    /// the enrollment is unknown).
    pub async fn bind_owner(&self, enrollment: &EnrollmentId) -> Result<Option<String>> {
        bind_owner(&self.store, enrollment).await
    }
}

async fn bind_owner(store: &SharedStore, enrollment: &EnrollmentId) -> Result<Option<String>> {
    let Some(record) = store.get_enrollment(enrollment).await? else {
        return Ok(None);
    };
    let Some(sha256) = record.identity_cert_sha256 else {
        return Ok(None);
    };
    let Some(binding) = store.get_token(&sha256).await? else {
        return Ok(None);
    };
    if binding.kind != TokenKind::Enrollment {
        return Ok(None);
    }
    if record.owner.as_deref() != Some(binding.user_id.as_str()) {
        store.set_owner(enrollment, Some(&binding.user_id)).await?;
    }
    Ok(Some(binding.user_id))
}

/// An [`EventSink`] that binds a device to its user when it authenticates (give it to
/// `EngineBuilder::events`). Failures are ignored: the device's request must not fail,
/// and the next Authenticate or TokenUpdate tries again.
#[derive(Clone)]
pub struct OwnerBinding {
    store: SharedStore,
}

impl std::fmt::Debug for OwnerBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerBinding").finish_non_exhaustive()
    }
}

impl OwnerBinding {
    /// A sink binding owners in `store`.
    pub fn new(store: SharedStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl EventSink for OwnerBinding {
    async fn publish(&self, event: &Event) {
        if let Event::Checkin {
            enrollment_id,
            message_type,
            ..
        } = event
        {
            if message_type == "Authenticate" || message_type == "TokenUpdate" {
                let _ = bind_owner(&self.store, enrollment_id).await;
            }
        }
    }
}
