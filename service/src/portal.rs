//! The self-service portal through the service: end users sign in (sessions kept in the
//! store), then act on their own account and devices through a [`PortalSession`].
//!
//! Every operation is enrollment's [`Portal`](mdmkit_enrollment::Portal)'s: the ownership
//! check (another user's device is answered exactly like a missing one,
//! `device_not_found`), the privacy check of `locate`, and the audit log are its own.

use std::time::Duration;

use mdmkit_core::command::EraseDevice;
use mdmkit_core::engine::LockOptions;
use mdmkit_core::store::TokenKind;
use mdmkit_core::CommandStatus;
use mdmkit_enrollment::{PortalConfig, PortalDevice, Session};
use serde::Serialize;
use time::OffsetDateTime;

use crate::devices::ActionOutcome;
use crate::enroll::EnrollmentLink;
use crate::push_certs::describe;
use crate::sessions::{self, SignedIn};
use crate::{Error, Mdm, Result};

/// How long a registration link made in the portal works: 24 hours.
pub const REGISTRATION_LINK_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A portal user's account, as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PortalAccount {
    /// The user's id.
    pub id: String,
    /// The e-mail address they sign in with.
    pub email: String,
    /// The display name.
    pub name: Option<String>,
}

impl From<mdmkit_core::store::PortalUser> for PortalAccount {
    fn from(user: mdmkit_core::store::PortalUser) -> Self {
        Self {
            id: user.id,
            email: user.email,
            name: user.name,
        }
    }
}

/// One of the signed-in user's devices, with what the portal can do to it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PortalDeviceView {
    /// The enrollment's identifier (what the device operations take).
    pub enrollment_id: String,
    /// The device's name, when known.
    pub name: Option<String>,
    /// Serial number, when known.
    pub serial_number: Option<String>,
    /// Product name or model, when known.
    pub model: Option<String>,
    /// OS version, when known.
    pub os_version: Option<String>,
    /// When it last checked in (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    /// Whether the enrollment is active.
    pub enabled: bool,
    /// The operations allowed now, of `lock`, `unlock`, `locate` (only when the privacy
    /// settings allow it), `wipe`, `retire`, `checkin`.
    pub actions: Vec<String>,
}

impl From<PortalDevice> for PortalDeviceView {
    fn from(device: PortalDevice) -> Self {
        Self {
            enrollment_id: device.enrollment_id.to_string(),
            name: device.name,
            serial_number: device.serial_number,
            model: device.model,
            os_version: device.os_version,
            last_seen: device.last_seen,
            enabled: device.enabled,
            actions: device.actions.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

/// A device's last reported location.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DeviceLocation {
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
    /// Horizontal accuracy, metres, when the device sent it.
    pub horizontal_accuracy: Option<f64>,
    /// When the device's answer arrived (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The portal's branding, for its pages.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PortalBranding {
    /// The organisation or portal name.
    pub name: String,
    /// The primary colour, `#RRGGBB`.
    pub primary_colour: Option<String>,
    /// The accent colour, `#RRGGBB`.
    pub accent_colour: Option<String>,
    /// The logo (PNG, JPEG or SVG bytes).
    pub logo: Option<Vec<u8>>,
    /// The logo's media type (`image/png`, `image/jpeg`, `image/svg+xml`).
    pub logo_content_type: Option<String>,
    /// When it was last changed (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for PortalBranding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalBranding")
            .field("name", &self.name)
            .field("primary_colour", &self.primary_colour)
            .field("accent_colour", &self.accent_colour)
            .field("logo", &self.logo.as_ref().map(Vec::len))
            .field("logo_content_type", &self.logo_content_type)
            .finish_non_exhaustive()
    }
}

/// A Web Clip of the portal for [`Portal::push_web_clip`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct WebClipInput {
    /// The profile's identifier (the same one replaces an earlier Web Clip).
    pub identifier: String,
    /// The portal's address (https); `None`: the `portal_url` setting.
    pub url: Option<String>,
    /// The name under the icon; `None`: the branding's name, else "Portal".
    pub label: Option<String>,
    /// The icon, PNG or JPEG; `None`: the branding logo when it is a PNG.
    pub icon: Option<Vec<u8>>,
    /// Open without Safari's interface.
    pub full_screen: bool,
    /// Whether the user may remove it.
    pub removable: bool,
    /// A certificate (PEM or DER) to sign the profile with, with `signing_key`.
    pub signing_certificate: Option<Vec<u8>>,
    /// The signing certificate's private key (PEM).
    pub signing_key: Option<Vec<u8>>,
}

impl WebClipInput {
    /// A removable, not full-screen Web Clip with this profile identifier, of the stored
    /// portal URL.
    pub fn new(identifier: impl Into<String>) -> Self {
        Self {
            identifier: identifier.into(),
            removable: true,
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for WebClipInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebClipInput")
            .field("identifier", &self.identifier)
            .field("url", &self.url)
            .field("label", &self.label)
            .field("signed", &self.signing_key.is_some())
            .finish_non_exhaustive()
    }
}

/// What [`Portal::push_web_clip`] did, device by device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WebClipOutcome {
    /// Whether the profile was signed.
    pub signed: bool,
    /// The enrollments the InstallProfile was queued to, with its push.
    pub queued: Vec<(String, ActionOutcome)>,
    /// The enrollments left out, with why (not iOS/iPadOS, user channel, disabled).
    pub skipped: Vec<(String, String)>,
    /// The enrollments where queueing failed: id, error code, message.
    pub failed: Vec<(String, String, String)>,
}

/// The self-service portal of a deployment (`Mdm::portal`): sign-in and sessions.
#[derive(Debug, Clone)]
pub struct Portal {
    mdm: Mdm,
}

impl Portal {
    pub(crate) fn new(mdm: Mdm) -> Self {
        Self { mdm }
    }

    /// Signs a portal user in by e-mail and password: a new session. A wrong address or
    /// password, no password yet, or a disabled user is `sign_in_failed`; after five
    /// failures in a row the account is `rate_limited` for fifteen minutes, whatever the
    /// password (counted in the store, so every server counts together).
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<SignedIn> {
        let store = self.mdm.store();
        let session =
            mdmkit_enrollment::sign_in(store, &PortalConfig::default(), email, password).await?;
        sessions::start(&self.mdm, TokenKind::Session, session.user_id()).await
    }

    /// Accepts an invitation from its portal link's token: sets the user's first password
    /// and signs them in. A used, expired, revoked or unknown token is `token_invalid`; an
    /// empty password is `invalid_input` (and leaves the token unspent).
    pub async fn accept_invitation(
        &self,
        invitation_token: &str,
        password: &str,
    ) -> Result<SignedIn> {
        let store = self.mdm.store();
        let user_id =
            mdmkit_enrollment::accept_invitation(store, invitation_token, password).await?;
        sessions::start(&self.mdm, TokenKind::Session, &user_id).await
    }

    /// The signed-in user of a session; `not_signed_in` when the session is unknown, ended
    /// or expired, or its user was deleted or disabled.
    pub async fn session(&self, token: &str) -> Result<PortalSession> {
        let store = self.mdm.store();
        let record = mdmkit_enrollment::find_session(store, TokenKind::Session, token).await?;
        match store.get_portal_user(&record.user_id).await? {
            Some(user) if user.enabled => Ok(PortalSession {
                mdm: self.mdm.clone(),
                user_id: user.id,
                expires_at: record.expires_at.unwrap_or(record.created_at),
            }),
            _ => Err(mdmkit_enrollment::Error::NotSignedIn.into()),
        }
    }

    /// The portal's branding (no sign-in needed); `None` until an administrator sets it.
    pub async fn branding(&self) -> Result<Option<PortalBranding>> {
        branding(&self.mdm).await
    }

    /// Acts as a portal user without a session (administrators' tools, `mdmkit portal
    /// as`): the same ownership checks and audit log as the user's own session. An
    /// unknown or disabled user is `not_found`.
    pub async fn act_as(&self, user_id: &str) -> Result<PortalSession> {
        match self.mdm.store().get_portal_user(user_id).await? {
            Some(user) if user.enabled => Ok(PortalSession {
                mdm: self.mdm.clone(),
                user_id: user.id,
                expires_at: OffsetDateTime::now_utc(),
            }),
            _ => Err(Error::Core(mdmkit_core::Error::NotFound {
                kind: "portal user",
                id: user_id.to_owned(),
            })),
        }
    }

    /// Pushes a Web Clip of the portal (an InstallProfile, signed when `clip` names a
    /// signing identity) to every enabled device-channel enrollment of `user` on iOS or
    /// iPadOS; the others are reported as skipped with the reason. The URL defaults to
    /// the `portal_url` setting, the label to the branding's name (else "Portal"), the
    /// icon to the branding logo when it is a PNG. An unknown user is `not_found`;
    /// audited (`portal.webclip_push`) with the handle's actor.
    pub async fn push_web_clip(&self, user: &str, clip: &WebClipInput) -> Result<WebClipOutcome> {
        let engine = self.mdm.engine()?;
        let url = match &clip.url {
            Some(url) => url.clone(),
            None => {
                self.mdm
                    .settings()
                    .require(crate::settings::PORTAL_URL)
                    .await?
            }
        };
        let label = match &clip.label {
            Some(label) => label.clone(),
            None => self
                .branding()
                .await?
                .map_or_else(|| "Portal".to_owned(), |branding| branding.name),
        };
        let mut settings = mdmkit_enrollment::WebClipSettings::new(&clip.identifier, url, label)
            .with_full_screen(clip.full_screen)
            .with_removable(clip.removable);
        if let Some(icon) = &clip.icon {
            settings = settings.with_icon(icon.clone());
        }
        let signer = match (&clip.signing_certificate, &clip.signing_key) {
            (Some(certificate), Some(key)) => Some(
                mdmkit_core::profile::SigningIdentity::from_bytes(certificate, key, None)?,
            ),
            (None, None) => None,
            _ => {
                return Err(Error::input(
                    "a signing certificate goes with its key, and a key with its certificate",
                ))
            }
        };
        let report = mdmkit_enrollment::push_web_clip(
            engine,
            self.mdm.actor(),
            user,
            &settings,
            signer.as_ref(),
        )
        .await?;
        Ok(WebClipOutcome {
            signed: report.signed,
            queued: report
                .pushes
                .into_iter()
                .map(|(id, queued)| (id.as_str().to_owned(), ActionOutcome::from(queued)))
                .collect(),
            skipped: report
                .skipped
                .into_iter()
                .map(|(id, why)| (id.as_str().to_owned(), why))
                .collect(),
            failed: report
                .failed
                .into_iter()
                .map(|(id, code, message)| (id.as_str().to_owned(), code.to_owned(), message))
                .collect(),
        })
    }

    /// Ends a session (an unknown or ended one is not an error).
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let store = self.mdm.store();
        let actor = mdmkit_enrollment::find_session(store, TokenKind::Session, token)
            .await
            .map(|session| session.user_id)
            .ok();
        let ended = mdmkit_enrollment::end_session(store, TokenKind::Session, token).await?;
        mdmkit_enrollment::audit_outcome(
            store,
            actor.as_deref().unwrap_or("portal"),
            "portal.sign_out",
            None,
            if ended { "ok" } else { "not_signed_in" },
        )
        .await?;
        Ok(())
    }
}

/// A signed-in portal user, from [`Portal::session`]. Every method checks again that the
/// user exists and is enabled (`not_signed_in` otherwise) and, for a device, that it is
/// theirs.
#[derive(Debug, Clone)]
pub struct PortalSession {
    mdm: Mdm,
    user_id: String,
    expires_at: OffsetDateTime,
}

impl PortalSession {
    /// The signed-in user's id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// When the session ends (UTC).
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// The signed-in user's account.
    pub async fn user(&self) -> Result<PortalAccount> {
        match self.mdm.store().get_portal_user(&self.user_id).await? {
            Some(user) if user.enabled => Ok(user.into()),
            _ => Err(mdmkit_enrollment::Error::NotSignedIn.into()),
        }
    }

    /// Changes the signed-in user's display name and e-mail address (`None` keeps it); an
    /// address another user has is `store_conflict`, a malformed one `invalid_input`.
    pub async fn update_account(
        &self,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<PortalAccount> {
        let (portal, session) = self.portal().await?;
        Ok(portal.update_account(&session, name, email).await?.into())
    }

    /// Changes the signed-in user's password: the current one must be given (a wrong one
    /// is `sign_in_failed` and counts towards the lockout). Every session of the user ends,
    /// this one too; the new session is returned.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<SignedIn> {
        let (portal, session) = self.portal().await?;
        portal.change_password(&session, current, new).await?;
        sessions::start(&self.mdm, TokenKind::Session, &self.user_id).await
    }

    /// The signed-in user's devices.
    pub async fn devices(&self) -> Result<Vec<PortalDeviceView>> {
        let (portal, session) = self.portal().await?;
        let devices = portal.devices(&session).await?;
        Ok(devices.into_iter().map(PortalDeviceView::from).collect())
    }

    /// One of the signed-in user's devices; `device_not_found` for another user's device
    /// as for a missing one.
    pub async fn device(&self, enrollment_id: &str) -> Result<PortalDeviceView> {
        let (portal, session) = self.portal().await?;
        Ok(portal.device(&session, enrollment_id).await?.into())
    }

    /// Locks one of the user's devices, with an optional message and phone number shown
    /// on the lock screen.
    pub async fn lock(
        &self,
        enrollment_id: &str,
        message: Option<&str>,
        phone: Option<&str>,
    ) -> Result<ActionOutcome> {
        let (portal, session) = self.portal().await?;
        let mut options = LockOptions::default();
        options.message = message.map(str::to_owned);
        options.phone_number = phone.map(str::to_owned);
        Ok(portal.lock(&session, enrollment_id, options).await?.into())
    }

    /// Clears the passcode of one of the user's devices.
    pub async fn unlock(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let (portal, session) = self.portal().await?;
        Ok(portal.unlock(&session, enrollment_id).await?.into())
    }

    /// Asks one of the user's devices for its location; `location_disabled` (nothing
    /// queued) when the privacy settings in effect for it forbid it.
    pub async fn locate(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let (portal, session) = self.portal().await?;
        Ok(portal.locate(&session, enrollment_id).await?.into())
    }

    /// The last location one of the user's devices reported (the answer to the newest
    /// locate request that carried coordinates), `None` when none did;
    /// `location_disabled` when the privacy settings forbid it.
    pub async fn location(&self, enrollment_id: &str) -> Result<Option<DeviceLocation>> {
        let (portal, session) = self.portal().await?;
        Ok(portal
            .last_location(&session, enrollment_id)
            .await?
            .map(|location| DeviceLocation {
                latitude: location.latitude,
                longitude: location.longitude,
                horizontal_accuracy: location.horizontal_accuracy,
                at: location.at,
            }))
    }

    /// Erases one of the user's devices.
    pub async fn wipe(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let (portal, session) = self.portal().await?;
        Ok(portal
            .wipe(&session, enrollment_id, EraseDevice::new())
            .await?
            .into())
    }

    /// Removes one of the user's devices from management.
    pub async fn retire(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let (portal, session) = self.portal().await?;
        Ok(portal.retire(&session, enrollment_id).await?.into())
    }

    /// Makes one of the user's devices check in now (a push; nothing queued).
    pub async fn check_in(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let (portal, session) = self.portal().await?;
        let outcome = portal.check_in(&session, enrollment_id).await?;
        Ok(ActionOutcome {
            command_uuid: None,
            pushed: outcome.is_delivered(),
            push: describe(&outcome),
        })
    }

    /// The state of a command on one of the user's devices, for the page's status:
    /// `queued` (waiting), `pushed` (handed to the device, not answered yet),
    /// `acknowledged`, `error` (`Error` or `CommandFormatError`) or `not_now`. A command
    /// that was not queued to the device is `not_found`.
    pub async fn command_state(&self, enrollment_id: &str, command_uuid: &str) -> Result<String> {
        let (portal, session) = self.portal().await?;
        let status = portal
            .command_status(&session, enrollment_id, command_uuid)
            .await?
            .ok_or_else(|| {
                Error::Core(mdmkit_core::Error::NotFound {
                    kind: "command",
                    id: command_uuid.to_owned(),
                })
            })?;
        let state = match status.status {
            None if status.delivered_at.is_some() => "pushed",
            None => "queued",
            Some(CommandStatus::Acknowledged) => "acknowledged",
            Some(CommandStatus::NotNow) => "not_now",
            Some(CommandStatus::Idle) => "pushed",
            Some(_) => "error",
        };
        Ok(state.to_owned())
    }

    /// A registration link for another device of the signed-in user (single use, valid
    /// [`REGISTRATION_LINK_TTL`]; a secret: show it to the user only).
    pub async fn registration_link(&self) -> Result<EnrollmentLink> {
        let (portal, session) = self.portal().await?;
        let links = crate::enroll::links(&self.mdm.settings()).await?;
        let expires_at = OffsetDateTime::now_utc()
            + time::Duration::try_from(REGISTRATION_LINK_TTL)
                .map_err(|_| Error::input("registration link lifetime too long"))?;
        let url = portal
            .registration_link(&session, &links, REGISTRATION_LINK_TTL)
            .await?;
        Ok(EnrollmentLink {
            url: url.expose_str().unwrap_or_default().to_owned(),
            user_id: self.user_id.clone(),
            expires_at,
        })
    }

    /// The portal's branding; `None` until an administrator sets it.
    pub async fn branding(&self) -> Result<Option<PortalBranding>> {
        branding(&self.mdm).await
    }

    /// The signed-in user's own certificates (the portal's certificates tab).
    pub fn certificates(&self) -> crate::user_certs::OwnCerts {
        crate::user_certs::OwnCerts::new(self.mdm.clone(), &self.user_id)
    }

    /// Enrollment's portal over the engine, and the session it checks with (the user must
    /// still exist and be enabled).
    async fn portal(&self) -> Result<(mdmkit_enrollment::Portal, Session)> {
        let portal =
            mdmkit_enrollment::Portal::new(self.mdm.engine()?.clone(), PortalConfig::default());
        let session = portal
            .act_as(&self.user_id)
            .await
            .map_err(|error| match error {
                // A deleted or disabled user: the session no longer counts.
                mdmkit_enrollment::Error::Core(mdmkit_core::Error::NotFound { .. }) => {
                    mdmkit_enrollment::Error::NotSignedIn
                }
                other => other,
            })?;
        Ok((portal, session))
    }
}

pub(crate) async fn branding(mdm: &Mdm) -> Result<Option<PortalBranding>> {
    Ok(mdm
        .store()
        .get_branding()
        .await?
        .map(|branding| PortalBranding {
            name: branding.name,
            primary_colour: branding.primary_colour,
            accent_colour: branding.accent_colour,
            logo: branding.logo,
            logo_content_type: branding.logo_content_type,
            updated_at: branding.updated_at,
        }))
}

/// The longest text [`registration_qr_svg`] encodes.
pub const MAX_QR_TEXT: usize = 2048;

/// A QR code of `url` (a registration link, for a device's camera) as an SVG document,
/// drawn by the server; a pure function. An empty text, or one longer than
/// [`MAX_QR_TEXT`], is `invalid_input`.
pub fn registration_qr_svg(url: &str) -> Result<String> {
    if url.is_empty() || url.len() > MAX_QR_TEXT {
        return Err(Error::input(format!(
            "a QR code needs a text of 1 to {MAX_QR_TEXT} bytes"
        )));
    }
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::input(format!("cannot encode the QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}
