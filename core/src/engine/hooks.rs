//! The check-in messages whose answer depends on the application.

use async_trait::async_trait;

use crate::checkin::{
    DeclarativeManagement, GetBootstrapToken, GetBootstrapTokenResponse, GetToken,
    SetBootstrapToken, TokenUpdate, UserAuthenticate,
};
use crate::codec::Data;
use crate::store::SharedStore;
use crate::{EnrollmentId, Result, Secret};

/// How the engine answers a check-in message a hook handled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookReply {
    /// HTTP 200 with an empty body.
    Empty,
    /// HTTP 200 with this plist body.
    Body(Vec<u8>),
    /// HTTP 200 with this JSON body (DeclarativeManagement answers).
    Json(Vec<u8>),
    /// This HTTP status with an empty body (410 declines a user channel; a hook should
    /// never answer 401, which can make a device unenroll).
    Status(u16),
}

/// An `Authenticate` that would bind a different identity certificate to an existing
/// enrollment, for [`CheckinHooks::allow_identity_change`] to decide.
///
/// The engine decides alone when both users are known: an identity issued for the
/// enrollment's owner may re-enroll it, an identity issued for another user never may.
/// Every other case reaches the hook.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityChange {
    /// The enrollment (device channel).
    pub enrollment: EnrollmentId,
    /// The SHA-256 (lowercase hex) of the certificate bound now; `None` when none is.
    pub bound_sha256: Option<String>,
    /// The SHA-256 of the certificate that sent the `Authenticate`.
    pub new_sha256: String,
    /// The enrollment's owner: its `owner`, else the user its bound certificate was
    /// issued for; `None` when neither is known.
    pub owner: Option<String>,
    /// The user the new certificate was issued for (its
    /// [`TokenKind::DeviceIdentity`](crate::store::TokenKind::DeviceIdentity) record);
    /// `None` for an identity with no such record (an external SCEP CA).
    pub issued_for: Option<String>,
}

/// What the engine asks the application while handling check-ins. Every method has a
/// default, so an application implements only what it supports.
///
/// The device was authenticated before any hook is called; the hooks get the store so
/// they can read what the engine recorded.
#[async_trait]
pub trait CheckinHooks: Send + Sync {
    /// An `Authenticate` would bind a new identity certificate to an existing enrollment
    /// and the engine cannot decide from recorded users alone (see [`IdentityChange`]).
    /// Return true to allow it; the engine then drops every secret of the old binding
    /// (UnlockToken, bootstrap token, push token and PushMagic) and the pending queue.
    ///
    /// The default allows it only where nothing is at stake: the enrollment has no bound
    /// certificate, or it has neither an owner nor is the new identity issued for a user
    /// (an external SCEP CA renewing an unowned device). An enrollment with a bound
    /// certificate and an owner is refused, and so is an identity issued for a user
    /// taking over an enrollment with a bound certificate but no known owner.
    async fn allow_identity_change(
        &self,
        _store: &SharedStore,
        change: &IdentityChange,
    ) -> Result<bool> {
        Ok(
            change.bound_sha256.is_none()
                || (change.owner.is_none() && change.issued_for.is_none()),
        )
    }

    /// A user channel asks to be authenticated (macOS network users, Shared iPad). The
    /// default declines it with HTTP 410, which tells the device not to create the user
    /// channel.
    async fn user_authenticate(
        &self,
        _store: &SharedStore,
        _enrollment: &EnrollmentId,
        _message: &UserAuthenticate,
    ) -> Result<HookReply> {
        Ok(HookReply::Status(410))
    }

    /// A user channel sent its first TokenUpdate (there is no Authenticate for user
    /// channels). Return false to refuse it (HTTP 400, nothing stored); the default
    /// accepts it.
    async fn accept_user_channel(
        &self,
        _store: &SharedStore,
        _enrollment: &EnrollmentId,
        _message: &TokenUpdate,
    ) -> Result<bool> {
        Ok(true)
    }

    /// The device asks for a token (`GetToken`, for example a Managed Apple ID token).
    /// The default has none to give: HTTP 404.
    async fn get_token(
        &self,
        _store: &SharedStore,
        _enrollment: &EnrollmentId,
        _message: &GetToken,
    ) -> Result<HookReply> {
        Ok(HookReply::Status(404))
    }

    /// A declarative-management request (`DeclarativeManagement`). The default serves
    /// the declarations the store assigns to the enrollment and stores its status reports
    /// ([`crate::ddm::serve::respond`]): `tokens`, `declaration-items`,
    /// `declaration/<category>/<identifier>` and `status`; anything else is HTTP 404.
    async fn declarative_management(
        &self,
        store: &SharedStore,
        enrollment: &EnrollmentId,
        message: &DeclarativeManagement,
    ) -> Result<HookReply> {
        let data = message.data.as_ref().map(|d| d.as_bytes());
        Ok(
            match crate::ddm::serve::respond(store.as_ref(), enrollment, &message.endpoint, data)
                .await?
            {
                crate::ddm::DeclarativeReply::Json(body) => HookReply::Json(body),
                crate::ddm::DeclarativeReply::Empty => HookReply::Empty,
                crate::ddm::DeclarativeReply::NotFound => HookReply::Status(404),
            },
        )
    }

    /// The device escrows its bootstrap token. The default stores it with the enrollment
    /// (encrypted at rest by the SQL stores).
    async fn set_bootstrap_token(
        &self,
        store: &SharedStore,
        enrollment: &EnrollmentId,
        message: &SetBootstrapToken,
    ) -> Result<HookReply> {
        let token = message
            .bootstrap_token
            .as_ref()
            .map(|data| Secret::new(data.as_bytes().to_vec()));
        store
            .set_bootstrap_token(&device_channel(enrollment), token.as_ref())
            .await?;
        Ok(HookReply::Empty)
    }

    /// The device asks for its escrowed bootstrap token. The default answers the stored
    /// one (an empty answer when there is none).
    async fn get_bootstrap_token(
        &self,
        store: &SharedStore,
        enrollment: &EnrollmentId,
        _message: &GetBootstrapToken,
    ) -> Result<HookReply> {
        let record = store.get_enrollment(&device_channel(enrollment)).await?;
        let mut response = GetBootstrapTokenResponse::new();
        if let Some(token) = record.and_then(|r| r.bootstrap_token) {
            response.bootstrap_token = Some(Data::new(token.expose().to_vec()));
        }
        Ok(HookReply::Body(crate::checkin::response_body(&response)?))
    }
}

/// The hooks' defaults, as documented on [`CheckinHooks`].
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultHooks;

impl CheckinHooks for DefaultHooks {}

/// The device channel an enrollment belongs to.
pub(crate) fn device_channel(enrollment: &EnrollmentId) -> EnrollmentId {
    EnrollmentId::device(enrollment.device_part())
}
