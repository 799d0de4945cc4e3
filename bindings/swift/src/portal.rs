//! Administrators, the self-service portal (sign-in, sessions and what a signed-in user may
//! do) and users' certificates: objects over the service's `Admins`, `Portal`,
//! `PortalSession`, `OwnCerts` and `UserCerts`. Every method is async (Swift `async
//! throws`).

use std::sync::Arc;
use std::time::SystemTime;

use crate::mdm::EnrollmentLink;
use crate::records::ActionOutcome;
use crate::Result;

fn date(at: time::OffsetDateTime) -> SystemTime {
    SystemTime::from(at)
}

fn each<T, R: From<T>>(items: Vec<T>) -> Vec<R> {
    items.into_iter().map(R::from).collect()
}

/// A new session: its token is the bearer secret (shown once), so `description` leaves it
/// out.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct SignedIn(mdmkit_service::SignedIn);

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SignedIn(user_id: {:?}, token: <secret>)",
            self.0.user_id
        )
    }
}

#[uniffi::export]
impl SignedIn {
    /// The session's value (secret: set it as a cookie, show it nowhere).
    pub fn token(&self) -> String {
        self.0.token.clone()
    }

    /// The signed-in user's (or administrator's) id.
    pub fn user_id(&self) -> String {
        self.0.user_id.clone()
    }

    /// When the session ends.
    pub fn expires_at(&self) -> SystemTime {
        date(self.0.expires_at)
    }
}

fn signed_in(inner: mdmkit_service::SignedIn) -> Arc<SignedIn> {
    Arc::new(SignedIn(inner))
}

/// An administrator's account (never its password).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AdminUser {
    /// The administrator's id.
    pub id: String,
    /// The e-mail address they sign in with.
    pub email: String,
    /// The display name.
    pub name: Option<String>,
    /// Whether they may sign in.
    pub enabled: bool,
    /// When they were added.
    pub created_at: SystemTime,
}

impl From<mdmkit_service::AdminUser> for AdminUser {
    fn from(a: mdmkit_service::AdminUser) -> Self {
        Self {
            id: a.id,
            email: a.email,
            name: a.name,
            enabled: a.enabled,
            created_at: date(a.created_at),
        }
    }
}

/// The signed-in administrator of a session.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AdminSession {
    /// The administrator's id.
    pub admin_id: String,
    /// Their e-mail address.
    pub email: String,
    /// Their display name.
    pub name: Option<String>,
    /// When the session ends.
    pub expires_at: SystemTime,
}

impl From<mdmkit_service::AdminSession> for AdminSession {
    fn from(a: mdmkit_service::AdminSession) -> Self {
        Self {
            admin_id: a.admin_id,
            email: a.email,
            name: a.name,
            expires_at: date(a.expires_at),
        }
    }
}

/// A portal user's account.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PortalAccount {
    /// The user's id.
    pub id: String,
    /// The e-mail address they sign in with.
    pub email: String,
    /// The display name.
    pub name: Option<String>,
}

impl From<mdmkit_service::PortalAccount> for PortalAccount {
    fn from(a: mdmkit_service::PortalAccount) -> Self {
        Self {
            id: a.id,
            email: a.email,
            name: a.name,
        }
    }
}

/// One of the signed-in user's devices, with what the portal can do to it now.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PortalDevice {
    /// The enrollment's id (what the device operations take).
    pub enrollment_id: String,
    /// The device's name, when known.
    pub name: Option<String>,
    /// Serial number, when known.
    pub serial_number: Option<String>,
    /// Product name or model, when known.
    pub model: Option<String>,
    /// OS version, when known.
    pub os_version: Option<String>,
    /// When it last checked in.
    pub last_seen: Option<SystemTime>,
    /// Whether the enrollment is active.
    pub enabled: bool,
    /// The operations allowed now: `lock`, `unlock`, `locate`, `wipe`, `retire`, `checkin`.
    pub actions: Vec<String>,
}

impl From<mdmkit_service::PortalDeviceView> for PortalDevice {
    fn from(d: mdmkit_service::PortalDeviceView) -> Self {
        Self {
            enrollment_id: d.enrollment_id,
            name: d.name,
            serial_number: d.serial_number,
            model: d.model,
            os_version: d.os_version,
            last_seen: d.last_seen.map(date),
            enabled: d.enabled,
            actions: d.actions,
        }
    }
}

/// A device's last reported location.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DeviceLocation {
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
    /// Horizontal accuracy, metres, when the device sent it.
    pub horizontal_accuracy: Option<f64>,
    /// When the device's answer arrived.
    pub at: SystemTime,
}

impl From<mdmkit_service::DeviceLocation> for DeviceLocation {
    fn from(l: mdmkit_service::DeviceLocation) -> Self {
        Self {
            latitude: l.latitude,
            longitude: l.longitude,
            horizontal_accuracy: l.horizontal_accuracy,
            at: date(l.at),
        }
    }
}

/// The portal's branding, as an administrator set it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
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
    /// When it was last changed.
    pub updated_at: SystemTime,
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

impl From<mdmkit_service::PortalBranding> for PortalBranding {
    fn from(b: mdmkit_service::PortalBranding) -> Self {
        Self {
            name: b.name,
            primary_colour: b.primary_colour,
            accent_colour: b.accent_colour,
            logo: b.logo,
            logo_content_type: b.logo_content_type,
            updated_at: date(b.updated_at),
        }
    }
}

/// A certificate kind users may upload.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CertificateKind {
    /// The kind's id (uploads take it, or its name).
    pub id: String,
    /// The display name.
    pub name: String,
    /// `signing`, `encryption` or `other`.
    pub usage: String,
}

impl From<mdmkit_service::CertKindView> for CertificateKind {
    fn from(k: mdmkit_service::CertKindView) -> Self {
        Self {
            id: k.id,
            name: k.name,
            usage: k.usage,
        }
    }
}

/// A user's certificate as listed (the file and its password never leave the store).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UserCertificate {
    /// The certificate's id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The kind's id.
    pub kind: String,
    /// The kind's display name.
    pub kind_name: String,
    /// The user it belongs to.
    pub owner: String,
    /// The certificate's subject.
    pub subject: String,
    /// The certificate's issuer.
    pub issuer: String,
    /// The serial number (hex).
    pub serial: String,
    /// The e-mail addresses it names.
    pub emails: Vec<String>,
    /// When it was uploaded.
    pub uploaded_at: SystemTime,
    /// The end of its validity.
    pub not_after: SystemTime,
    /// Whether the stored file still holds the private key.
    pub has_private_key: bool,
}

impl From<mdmkit_service::UserCertView> for UserCertificate {
    fn from(c: mdmkit_service::UserCertView) -> Self {
        Self {
            id: c.id,
            name: c.name,
            kind: c.kind,
            kind_name: c.kind_name,
            owner: c.owner,
            subject: c.subject,
            issuer: c.issuer,
            serial: c.serial,
            emails: c.emails,
            uploaded_at: date(c.uploaded_at),
            not_after: date(c.not_after),
            has_private_key: c.has_private_key,
        }
    }
}

/// Administrators' accounts and sessions (`Mdm.admins()`).
#[derive(Debug, uniffi::Object)]
pub struct Admins(pub(crate) mdmkit_service::Admins);

#[uniffi::export(async_runtime = "tokio")]
impl Admins {
    /// Adds an administrator who signs in with `email` and `password` (argon2id).
    pub async fn add(
        &self,
        email: String,
        password: String,
        name: Option<String>,
    ) -> Result<AdminUser> {
        Ok(self.0.add(&email, name.as_deref(), &password).await?.into())
    }

    /// Every administrator, ordered by id.
    pub async fn list(&self) -> Result<Vec<AdminUser>> {
        Ok(each(self.0.list().await?))
    }

    /// One administrator; `not_found` when unknown.
    pub async fn get(&self, id: String) -> Result<AdminUser> {
        Ok(self.0.get(&id).await?.into())
    }

    /// Deletes an administrator and ends their sessions; whether they existed.
    pub async fn delete(&self, id: String) -> Result<bool> {
        Ok(self.0.delete(&id).await?)
    }

    /// Sets an administrator's password and ends every session of theirs.
    pub async fn set_password(&self, id: String, password: String) -> Result<()> {
        Ok(self.0.set_password(&id, &password).await?)
    }

    /// Enables or disables an administrator (disabling ends their sessions).
    pub async fn set_enabled(&self, id: String, enabled: bool) -> Result<AdminUser> {
        Ok(self.0.set_enabled(&id, enabled).await?.into())
    }

    /// Signs an administrator in: a new session (`sign_in_failed`, `rate_limited`).
    pub async fn sign_in(&self, email: String, password: String) -> Result<Arc<SignedIn>> {
        Ok(signed_in(self.0.sign_in(&email, &password).await?))
    }

    /// The signed-in administrator of a session; `not_signed_in` when it ended.
    pub async fn session(&self, token: String) -> Result<AdminSession> {
        Ok(self.0.session(&token).await?.into())
    }

    /// Ends a session (an unknown or ended one is not an error).
    pub async fn sign_out(&self, token: String) -> Result<()> {
        Ok(self.0.sign_out(&token).await?)
    }
}

/// The self-service portal (`Mdm.portal()`): end users' sign-in and sessions.
#[derive(Debug, uniffi::Object)]
pub struct Portal(pub(crate) mdmkit_service::Portal);

#[uniffi::export(async_runtime = "tokio")]
impl Portal {
    /// Signs a portal user in: a new session (`sign_in_failed`; `rate_limited` after five
    /// failures in a row).
    pub async fn sign_in(&self, email: String, password: String) -> Result<Arc<SignedIn>> {
        Ok(signed_in(self.0.sign_in(&email, &password).await?))
    }

    /// Accepts an invitation from its portal link's token: sets the user's first password
    /// and signs them in (`token_invalid` when used, expired, revoked or unknown).
    pub async fn accept_invitation(
        &self,
        token: String,
        password: String,
    ) -> Result<Arc<SignedIn>> {
        Ok(signed_in(
            self.0.accept_invitation(&token, &password).await?,
        ))
    }

    /// The signed-in user of a session (`not_signed_in` when it ended or is unknown).
    pub async fn session(&self, token: String) -> Result<Arc<PortalSession>> {
        Ok(Arc::new(PortalSession(self.0.session(&token).await?)))
    }

    /// Ends a session (an unknown or ended one is not an error).
    pub async fn sign_out(&self, token: String) -> Result<()> {
        Ok(self.0.sign_out(&token).await?)
    }

    /// The portal's branding (no sign-in needed); `nil` until an administrator sets it.
    pub async fn branding(&self) -> Result<Option<PortalBranding>> {
        Ok(self.0.branding().await?.map(Into::into))
    }
}

/// A signed-in portal user: every call checks again that the user is still enabled and, for
/// a device, that it is theirs (another user's device is `device_not_found`, exactly like
/// a missing one).
#[derive(Debug, uniffi::Object)]
pub struct PortalSession(mdmkit_service::PortalSession);

#[uniffi::export(async_runtime = "tokio")]
impl PortalSession {
    /// The signed-in user's id.
    pub fn user_id(&self) -> String {
        self.0.user_id().to_owned()
    }

    /// When the session ends.
    pub fn expires_at(&self) -> SystemTime {
        date(self.0.expires_at())
    }

    /// The user's own certificates (the portal's certificates tab).
    pub fn certificates(&self) -> Arc<OwnCertificates> {
        Arc::new(OwnCertificates(self.0.certificates()))
    }

    /// The signed-in user's account.
    pub async fn user(&self) -> Result<PortalAccount> {
        Ok(self.0.user().await?.into())
    }

    /// Changes the display name and/or e-mail address (`nil` keeps it).
    pub async fn update_account(
        &self,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<PortalAccount> {
        Ok(self
            .0
            .update_account(name.as_deref(), email.as_deref())
            .await?
            .into())
    }

    /// Changes the password (the current one must be given: `sign_in_failed` otherwise).
    /// Every session of the user ends, this one too: the new session is returned.
    pub async fn change_password(&self, current: String, new: String) -> Result<Arc<SignedIn>> {
        Ok(signed_in(self.0.change_password(&current, &new).await?))
    }

    /// The user's devices.
    pub async fn devices(&self) -> Result<Vec<PortalDevice>> {
        Ok(each(self.0.devices().await?))
    }

    /// One of the user's devices (`device_not_found` for another user's).
    pub async fn device(&self, enrollment_id: String) -> Result<PortalDevice> {
        Ok(self.0.device(&enrollment_id).await?.into())
    }

    /// Locks one of the user's devices, with an optional message and phone number.
    pub async fn lock(
        &self,
        enrollment_id: String,
        message: Option<String>,
        phone: Option<String>,
    ) -> Result<ActionOutcome> {
        Ok(self
            .0
            .lock(&enrollment_id, message.as_deref(), phone.as_deref())
            .await?
            .into())
    }

    /// Clears the passcode of one of the user's devices.
    pub async fn unlock(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.unlock(&enrollment_id).await?.into())
    }

    /// Asks one of the user's devices for its location (`location_disabled` when the
    /// privacy settings forbid it).
    pub async fn locate(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.locate(&enrollment_id).await?.into())
    }

    /// The last location the device reported, `nil` when none.
    pub async fn location(&self, enrollment_id: String) -> Result<Option<DeviceLocation>> {
        Ok(self.0.location(&enrollment_id).await?.map(Into::into))
    }

    /// Erases one of the user's devices.
    pub async fn wipe(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.wipe(&enrollment_id).await?.into())
    }

    /// Removes one of the user's devices from management.
    pub async fn retire(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.retire(&enrollment_id).await?.into())
    }

    /// Makes one of the user's devices check in now (a push; nothing queued).
    pub async fn check_in(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.check_in(&enrollment_id).await?.into())
    }

    /// A command's state on one of the user's devices: `queued`, `pushed`,
    /// `acknowledged`, `error` or `not_now`.
    pub async fn command_state(
        &self,
        enrollment_id: String,
        command_uuid: String,
    ) -> Result<String> {
        Ok(self.0.command_state(&enrollment_id, &command_uuid).await?)
    }

    /// A single-use registration link for another device of the user (a secret).
    pub async fn registration_link(&self) -> Result<Arc<EnrollmentLink>> {
        Ok(Arc::new(EnrollmentLink(self.0.registration_link().await?)))
    }

    /// The portal's branding; `nil` until an administrator sets it.
    pub async fn branding(&self) -> Result<Option<PortalBranding>> {
        Ok(self.0.branding().await?.map(Into::into))
    }
}

/// The signed-in user's own certificates (`PortalSession.certificates()`): another user's
/// certificate is `unknown_certificate`, like a missing one.
#[derive(Debug, uniffi::Object)]
pub struct OwnCertificates(mdmkit_service::OwnCerts);

#[uniffi::export(async_runtime = "tokio")]
impl OwnCertificates {
    /// The kinds the user may upload.
    pub async fn kinds(&self) -> Result<Vec<CertificateKind>> {
        Ok(each(self.0.kinds().await?))
    }

    /// The user's certificates, oldest upload first.
    pub async fn list(&self) -> Result<Vec<UserCertificate>> {
        Ok(each(self.0.list().await?))
    }

    /// Uploads a PKCS#12 file of `kind` (id or name) with its password; refusals (not
    /// PKCS#12, wrong password, expired, no private key...) have their own codes and store
    /// nothing.
    pub async fn add(
        &self,
        kind: String,
        pkcs12: Vec<u8>,
        password: String,
        name: Option<String>,
    ) -> Result<UserCertificate> {
        Ok(self
            .0
            .add(&kind, pkcs12, &password, name.as_deref())
            .await?
            .into())
    }

    /// Renames one of the user's certificates.
    pub async fn edit(&self, id: String, name: String) -> Result<UserCertificate> {
        Ok(self.0.edit(&id, &name).await?.into())
    }

    /// Removes the private key of one of the user's certificates, for good.
    pub async fn clear_private_key(&self, id: String) -> Result<UserCertificate> {
        Ok(self.0.clear_private_key(&id).await?.into())
    }

    /// Deletes one of the user's certificates; `false` when there was none.
    pub async fn delete(&self, id: String) -> Result<bool> {
        Ok(self.0.delete(&id).await?)
    }
}

/// Users' certificates and the kinds they may upload, for administrators
/// (`Mdm.userCerts()`).
#[derive(Debug, uniffi::Object)]
pub struct UserCertificates(pub(crate) mdmkit_service::UserCerts);

#[uniffi::export(async_runtime = "tokio")]
impl UserCertificates {
    /// Defines a kind users may upload; `usage`: `signing`, `encryption` or `other`.
    pub async fn add_kind(&self, name: String, usage: String) -> Result<CertificateKind> {
        Ok(self.0.add_kind(&name, &usage).await?.into())
    }

    /// Every kind, ordered by id.
    pub async fn kinds(&self) -> Result<Vec<CertificateKind>> {
        Ok(each(self.0.kinds().await?))
    }

    /// One user's certificates, oldest upload first.
    pub async fn list(&self, owner: String) -> Result<Vec<UserCertificate>> {
        Ok(each(self.0.list(&owner).await?))
    }

    /// One certificate (`unknown_certificate` when there is none).
    pub async fn get(&self, id: String) -> Result<UserCertificate> {
        Ok(self.0.get(&id).await?.into())
    }

    /// Uploads a PKCS#12 file for `owner` (the same checks and re-push as the portal's).
    pub async fn add(
        &self,
        owner: String,
        kind: String,
        pkcs12: Vec<u8>,
        password: String,
        name: Option<String>,
    ) -> Result<UserCertificate> {
        Ok(self
            .0
            .add(&owner, &kind, pkcs12, &password, name.as_deref())
            .await?
            .into())
    }

    /// Renames a certificate.
    pub async fn edit(&self, id: String, name: String) -> Result<UserCertificate> {
        Ok(self.0.edit(&id, &name).await?.into())
    }

    /// Removes a certificate's private key, for good.
    pub async fn clear_private_key(&self, id: String) -> Result<UserCertificate> {
        Ok(self.0.clear_private_key(&id).await?.into())
    }

    /// Deletes a certificate; `false` when there was none.
    pub async fn delete(&self, id: String) -> Result<bool> {
        Ok(self.0.delete(&id).await?)
    }
}

/// A QR code of `url` (a registration link, for a device's camera) as an SVG document.
#[uniffi::export]
pub fn registration_qr_svg(url: String) -> Result<String> {
    Ok(mdmkit_service::registration_qr_svg(&url)?)
}
