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
use mdmkit_core::store::{now_micros, SharedStore, TokenKind, TokenRecord};
use mdmkit_core::{EnrollmentId, Secret};
use time::OffsetDateTime;

use crate::ca::{random_token, sha256_hex, DeviceCa};
use crate::profile::{
    enrollment_profile, scep_enrollment_profile, EnrollmentProfileSettings, IdentitySource,
};
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

/// A device's enrollment profile, made by [`Enroller::enroll`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedEnrollment {
    /// The profile, to serve as `application/x-apple-aspen-config`: signed (CMS, DER)
    /// when the enroller has a signer, otherwise XML (devices show it as unsigned).
    pub profile: Vec<u8>,
    /// Whether `profile` is signed.
    pub signed: bool,
    /// The user the device will belong to.
    pub user_id: String,
    /// Lowercase hex SHA-256 of the device's identity certificate, when the built-in CA
    /// issued it; `None` with SCEP (the external CA issues the certificate on the device,
    /// so the application binds the enrollment to the user itself, see
    /// [`IdentitySource::Scep`]).
    pub identity_sha256: Option<String>,
}

/// Makes enrollment tokens and enrollment profiles. `Debug` never shows keys.
#[derive(Clone)]
pub struct Enroller {
    store: SharedStore,
    /// `None` only for an enroller made by [`Enroller::scep`].
    ca: Option<Arc<DeviceCa>>,
    settings: EnrollmentProfileSettings,
    signer: Option<Arc<SigningIdentity>>,
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
    /// signing them with `signer` (`None`: profiles are delivered unsigned, as XML).
    /// (When `settings` choose SCEP, `ca` is not used.)
    pub fn new(
        store: SharedStore,
        ca: Arc<DeviceCa>,
        settings: EnrollmentProfileSettings,
        signer: impl Into<Option<Arc<SigningIdentity>>>,
    ) -> Self {
        Self {
            store,
            ca: Some(ca),
            settings,
            signer: signer.into(),
        }
    }

    /// An enroller for profiles whose identity comes from an external SCEP server (no
    /// built-in CA); `settings` must choose [`IdentitySource::Scep`].
    /// `signer` as for [`Enroller::new`].
    pub fn scep(
        store: SharedStore,
        settings: EnrollmentProfileSettings,
        signer: impl Into<Option<Arc<SigningIdentity>>>,
    ) -> Result<Self> {
        if !matches!(settings.identity_source, IdentitySource::Scep(_)) {
            return Err(Error::InvalidInput(
                "Enroller::scep needs settings that choose SCEP".into(),
            ));
        }
        Ok(Self {
            store,
            ca: None,
            settings,
            signer: signer.into(),
        })
    }

    /// Creates a one-time enrollment token for an existing portal user, valid for `ttl`.
    pub async fn create_token(&self, user_id: &str, ttl: Duration) -> Result<IssuedToken> {
        let created_at = now_micros();
        issue_token(
            &self.store,
            TokenKind::Enrollment,
            user_id,
            None,
            None,
            created_at,
            expiry(created_at, ttl)?,
        )
        .await
    }

    /// Revokes a token before it is used.
    pub async fn revoke_token(&self, value: &str) -> Result<bool> {
        Ok(self.store.delete_token(&token_hash(value)).await?)
    }

    /// Redeems an enrollment token (once, before it expires): checks that the push topic is
    /// registered, makes the device's identity (issued by the built-in CA, or the SCEP
    /// payload when the settings choose [`IdentitySource::Scep`]), records a built-in
    /// identity for the token's user and returns the signed enrollment profile. A used,
    /// expired, unknown or non-enrollment token is [`Error::TokenInvalid`].
    ///
    /// The token is spent only once the signed profile exists: a failure to issue the
    /// identity, build or sign the profile leaves it usable.
    pub async fn enroll(&self, token: &str) -> Result<SignedEnrollment> {
        let hash = token_hash(token);
        let now = OffsetDateTime::now_utc();
        let user_id = match self.store.get_token(&hash).await? {
            Some(record)
                if record.kind == TokenKind::Enrollment
                    && record.used_at.is_none()
                    && record.expires_at.is_none_or(|expires| expires > now) =>
            {
                record.user_id
            }
            _ => return Err(Error::TokenInvalid),
        };
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
        let (profile, identity_sha256) = match &self.settings.identity_source {
            IdentitySource::BuiltInCa => {
                let ca = self.ca.as_ref().ok_or_else(|| {
                    Error::InvalidInput("no device CA for built-in identities".into())
                })?;
                let identity = ca.issue(&format!("mdmkit device {}", &hash[..16]))?;
                let profile =
                    enrollment_profile(&self.settings, &identity, &ca.certificate_der()?)?;
                (profile, Some(identity.sha256))
            }
            IdentitySource::Scep(_) => (scep_enrollment_profile(&self.settings)?, None),
        };
        let (bytes, signed) = match &self.signer {
            Some(signer) => (sign(&profile, signer)?, true),
            None => (profile.to_xml()?, false),
        };
        if let Some(sha256) = &identity_sha256 {
            // The identity's fingerprint is recorded for the user: it is how the device is
            // recognised at Authenticate, and it can never be redeemed. It is written before
            // the token is spent, so nothing can fail after that.
            let mut binding = TokenRecord::new(sha256.clone(), TokenKind::DeviceIdentity, &user_id);
            binding.used_at = Some(binding.created_at);
            self.store.put_token(&binding).await?;
        }
        let spent = self
            .store
            .use_token(&hash, OffsetDateTime::now_utc())
            .await?;
        if spent.is_none() {
            // Another request redeemed (or revoked, or outlived) the token meanwhile: the
            // identity is never delivered, so its record goes too.
            if let Some(sha256) = &identity_sha256 {
                self.store.delete_token(sha256).await?;
            }
            return Err(Error::TokenInvalid);
        }
        Ok(SignedEnrollment {
            profile: bytes,
            signed,
            user_id,
            identity_sha256,
        })
    }

    /// Makes the user an enrolled device's identity was issued for the enrollment's owner.
    /// Returns the owner set, `None` when the identity was not issued through a token (or
    /// the enrollment is unknown).
    pub async fn bind_owner(&self, enrollment: &EnrollmentId) -> Result<Option<String>> {
        bind_owner(&self.store, enrollment).await
    }
}

/// `created_at + ttl`, or a clear error when `ttl` does not fit.
pub(crate) fn expiry(created_at: OffsetDateTime, ttl: Duration) -> Result<OffsetDateTime> {
    time::Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| created_at.checked_add(ttl))
        .ok_or_else(|| Error::InvalidInput("token lifetime too long".into()))
}

/// Stores a fresh random single-use token of `kind` for an existing portal user (sent to
/// `email`, made with `invitation`); the value is returned once, only its hash is kept.
pub(crate) async fn issue_token(
    store: &SharedStore,
    kind: TokenKind,
    user_id: &str,
    email: Option<&str>,
    invitation: Option<&str>,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<IssuedToken> {
    if store.get_portal_user(user_id).await?.is_none() {
        return Err(mdmkit_core::Error::NotFound {
            kind: "portal user",
            id: user_id.to_string(),
        }
        .into());
    }
    let value = random_token(32)?;
    let mut record = TokenRecord::new(token_hash(&value), kind, user_id);
    record.email = email.map(str::to_string);
    record.invitation = invitation.map(str::to_string);
    record.created_at = created_at;
    record.expires_at = Some(expires_at);
    store.put_token(&record).await?;
    Ok(IssuedToken {
        value: Secret::from(value),
        record,
    })
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
    if binding.kind != TokenKind::DeviceIdentity {
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

#[cfg(test)]
mod tests {
    use super::*;
    use mdmkit_core::store::{MemoryStore, PushCertificateRecord};
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::x509::{X509NameBuilder, X509};

    const TOPIC: &str = "com.apple.mgmt.External.enroller-unit";

    async fn store_with_user() -> SharedStore {
        let store: SharedStore = Arc::new(MemoryStore::new());
        let push = PushCertificateRecord::new(
            TOPIC,
            vec![1],
            Secret::new(b"key".to_vec()),
            OffsetDateTime::now_utc() + time::Duration::days(30),
        );
        store.put_push_certificate(&push).await.unwrap();
        crate::add_user(&store, "alice", "alice@example.com", None)
            .await
            .unwrap();
        store
    }

    fn rsa_signer() -> SigningIdentity {
        let ca = DeviceCa::generate("Signer", 30).unwrap();
        SigningIdentity::from_bytes(
            &ca.certificate_pem().unwrap(),
            ca.private_key_pem().unwrap().expose(),
            None,
        )
        .unwrap()
    }

    /// An Ed25519 signer: a valid identity that CMS profile signing (PKCS#7) refuses.
    fn ed25519_signer() -> SigningIdentity {
        let key = PKey::generate_ed25519().unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "Ed25519 signer").unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        let now = openssl::asn1::Asn1Time::days_from_now(0).unwrap();
        let later = openssl::asn1::Asn1Time::days_from_now(30).unwrap();
        builder.set_not_before(&now).unwrap();
        builder.set_not_after(&later).unwrap();
        builder.sign(&key, MessageDigest::null()).unwrap();
        SigningIdentity::from_bytes(
            &builder.build().to_pem().unwrap(),
            &key.private_key_to_pem_pkcs8().unwrap(),
            None,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_failed_signature_or_profile_does_not_spend_the_token() {
        let store = store_with_user().await;
        let ca = Arc::new(DeviceCa::generate("Device CA", 30).unwrap());
        let settings =
            EnrollmentProfileSettings::new("com.example.mdm", "https://m.example", TOPIC);
        let failing_signer = Enroller::new(
            store.clone(),
            ca.clone(),
            settings.clone(),
            Arc::new(ed25519_signer()),
        );
        let bad_profile = Enroller::new(
            store.clone(),
            ca.clone(),
            settings.clone().with_check_in_url("ftp://m.example"),
            Arc::new(rsa_signer()),
        );
        let good = Enroller::new(store.clone(), ca, settings, Arc::new(rsa_signer()));
        let token = good
            .create_token("alice", Duration::from_secs(600))
            .await
            .unwrap();
        let value = token.value.expose_str().unwrap();

        let error = failing_signer.enroll(value).await.unwrap_err();
        assert_eq!(error.code(), "profile_signature", "{error}");
        let error = bad_profile.enroll(value).await.unwrap_err();
        assert_eq!(error.code(), "invalid_input", "{error}");
        let stored = store.get_token(&token_hash(value)).await.unwrap().unwrap();
        assert_eq!(stored.used_at, None);
        // No identity was recorded for the failed attempts: only the token itself.
        assert_eq!(store.list_tokens("alice").await.unwrap().len(), 1);

        let signed = good.enroll(value).await.unwrap();
        assert_eq!(signed.user_id, "alice");
        let sha256 = signed.identity_sha256.unwrap();
        assert!(store.get_token(&sha256).await.unwrap().is_some());
        assert!(matches!(good.enroll(value).await, Err(Error::TokenInvalid)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_two_concurrent_redemptions_one_wins_and_one_identity_is_recorded() {
        let store = store_with_user().await;
        let ca = Arc::new(DeviceCa::generate("Device CA", 30).unwrap());
        let settings =
            EnrollmentProfileSettings::new("com.example.mdm", "https://m.example", TOPIC);
        let enroller = Enroller::new(store.clone(), ca, settings, Arc::new(rsa_signer()));
        let token = enroller
            .create_token("alice", Duration::from_secs(600))
            .await
            .unwrap();
        let value = token.value.expose_str().unwrap().to_string();
        let attempts: Vec<_> = (0..2)
            .map(|_| {
                let enroller = enroller.clone();
                let value = value.clone();
                tokio::spawn(async move { enroller.enroll(&value).await })
            })
            .collect();
        let mut won = Vec::new();
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(signed) => won.push(signed),
                Err(error) => assert!(matches!(error, Error::TokenInvalid), "{error}"),
            }
        }
        assert_eq!(won.len(), 1);
        // The token and the winner's identity; the loser's identity was not kept.
        let tokens = store.list_tokens("alice").await.unwrap();
        assert_eq!(tokens.len(), 2);
        let sha256 = won[0].identity_sha256.clone().unwrap();
        assert!(tokens.iter().any(|t| t.token_hash == sha256));
    }
}
