//! Administrators, the self-service portal (sign-in, sessions and what a signed-in user may
//! do) and users' certificates: thin wrappers over the service's `Admins`, `Portal`,
//! `PortalSession`, `OwnCerts` and `UserCerts`. Every method returns a Promise; arguments
//! of the wrong type reject with `invalid_input`.

use chrono::{DateTime, Utc};
use napi::bindgen_prelude::{Buffer, PromiseRaw, Unknown};
use napi::Env;
use napi_derive::napi;

use crate::convert::{arg, date, opt_arg, opt_date, text};
use crate::errors::promise;
use crate::mdm::{ActionOutcome, EnrollmentLink};

type Result<T> = mdmkit_service::Result<T>;

fn each<T, R: From<T>>(items: Vec<T>) -> Result<Vec<R>> {
    Ok(items.into_iter().map(R::from).collect())
}

/// A new session: `token` is the bearer secret (shown once; set it as a cookie). A class
/// with getters, so `util.inspect` and `JSON.stringify` never show the token.
#[napi]
pub struct SignedIn {
    inner: mdmkit_service::SignedIn,
}

#[napi]
impl SignedIn {
    /// The session's value (secret).
    #[napi(getter)]
    pub fn token(&self) -> String {
        self.inner.token.clone()
    }

    /// The signed-in user's (or administrator's) id.
    #[napi(getter)]
    pub fn user_id(&self) -> String {
        self.inner.user_id.clone()
    }

    /// When the session ends.
    #[napi(getter)]
    pub fn expires_at(&self) -> DateTime<Utc> {
        date(self.inner.expires_at)
    }
}

fn signed_in(inner: mdmkit_service::SignedIn) -> Result<SignedIn> {
    Ok(SignedIn { inner })
}

/// An administrator's account (never its password).
#[napi(object)]
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
    pub created_at: DateTime<Utc>,
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
#[napi(object)]
pub struct AdminSession {
    /// The administrator's id.
    pub admin_id: String,
    /// Their e-mail address.
    pub email: String,
    /// Their display name.
    pub name: Option<String>,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
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
#[napi(object)]
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
#[napi(object)]
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
    pub last_seen: Option<DateTime<Utc>>,
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
            last_seen: opt_date(d.last_seen),
            enabled: d.enabled,
            actions: d.actions,
        }
    }
}

/// A device's last reported location.
#[napi(object)]
pub struct DeviceLocation {
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
    /// Horizontal accuracy, metres, when the device sent it.
    pub horizontal_accuracy: Option<f64>,
    /// When the device's answer arrived.
    pub at: DateTime<Utc>,
}

/// The portal's branding, as an administrator set it.
#[napi(object)]
pub struct PortalBranding {
    /// The organisation or portal name.
    pub name: String,
    /// The primary colour, `#RRGGBB`.
    pub primary_colour: Option<String>,
    /// The accent colour, `#RRGGBB`.
    pub accent_colour: Option<String>,
    /// The logo (PNG, JPEG or SVG bytes).
    pub logo: Option<Buffer>,
    /// The logo's media type (`image/png`, `image/jpeg`, `image/svg+xml`).
    pub logo_content_type: Option<String>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<mdmkit_service::PortalBranding> for PortalBranding {
    fn from(b: mdmkit_service::PortalBranding) -> Self {
        Self {
            name: b.name,
            primary_colour: b.primary_colour,
            accent_colour: b.accent_colour,
            logo: b.logo.map(Buffer::from),
            logo_content_type: b.logo_content_type,
            updated_at: date(b.updated_at),
        }
    }
}

/// A certificate kind users may upload.
#[napi(object)]
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
#[napi(object)]
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
    pub uploaded_at: DateTime<Utc>,
    /// The end of its validity.
    pub not_after: DateTime<Utc>,
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

/// Administrators' accounts and sessions (`mdm.admins`).
#[napi]
pub struct Admins {
    pub(crate) inner: mdmkit_service::Admins,
}

#[napi]
impl Admins {
    /// Adds an administrator who signs in with `email` and `password` (argon2id).
    #[napi(ts_return_type = "Promise<AdminUser>")]
    pub fn add<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] email: Unknown<'_>,
        #[napi(ts_arg_type = "string")] password: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] name: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, AdminUser>> {
        let a = self.inner.clone();
        let args = (|| -> Result<_> {
            Ok((
                text(&email, "email")?,
                text(&password, "password")?,
                opt_arg::<String>(name, "name")?,
            ))
        })();
        promise(
            env,
            async move {
                let (email, password, name) = args?;
                a.add(&email, name.as_deref(), &password).await
            },
            |user| Ok(AdminUser::from(user)),
        )
    }

    /// Every administrator, ordered by id.
    #[napi(ts_return_type = "Promise<AdminUser[]>")]
    pub fn list<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<AdminUser>>> {
        let a = self.inner.clone();
        promise(env, async move { a.list().await }, each)
    }

    /// One administrator; `not_found` when unknown.
    #[napi(ts_return_type = "Promise<AdminUser>")]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, AdminUser>> {
        let a = self.inner.clone();
        let id = text(&id, "id");
        promise(env, async move { a.get(&id?).await }, |u| Ok(u.into()))
    }

    /// Deletes an administrator and ends their sessions; whether they existed.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn delete<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, bool>> {
        let a = self.inner.clone();
        let id = text(&id, "id");
        promise(env, async move { a.delete(&id?).await }, Ok)
    }

    /// Sets an administrator's password and ends every session of theirs.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_password<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
        #[napi(ts_arg_type = "string")] password: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let a = self.inner.clone();
        let id = text(&id, "id");
        let password = text(&password, "password");
        promise(
            env,
            async move { a.set_password(&id?, &password?).await },
            Ok,
        )
    }

    /// Enables or disables an administrator (disabling ends their sessions).
    #[napi(ts_return_type = "Promise<AdminUser>")]
    pub fn set_enabled<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
        #[napi(ts_arg_type = "boolean")] enabled: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, AdminUser>> {
        let a = self.inner.clone();
        let id = text(&id, "id");
        let enabled = arg::<bool>(enabled, "enabled");
        promise(
            env,
            async move { a.set_enabled(&id?, enabled?).await },
            |u| Ok(u.into()),
        )
    }

    /// Signs an administrator in: a new session (`sign_in_failed`, `rate_limited`).
    #[napi(ts_return_type = "Promise<SignedIn>")]
    pub fn sign_in<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] email: Unknown<'_>,
        #[napi(ts_arg_type = "string")] password: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, SignedIn>> {
        let a = self.inner.clone();
        let email = text(&email, "email");
        let password = text(&password, "password");
        promise(
            env,
            async move { a.sign_in(&email?, &password?).await },
            signed_in,
        )
    }

    /// The signed-in administrator of a session; `not_signed_in` when it ended.
    #[napi(ts_return_type = "Promise<AdminSession>")]
    pub fn session<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] token: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, AdminSession>> {
        let a = self.inner.clone();
        let token = text(&token, "token");
        promise(env, async move { a.session(&token?).await }, |s| {
            Ok(s.into())
        })
    }

    /// Ends a session (an unknown or ended one is not an error).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn sign_out<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] token: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let a = self.inner.clone();
        let token = text(&token, "token");
        promise(env, async move { a.sign_out(&token?).await }, Ok)
    }
}

/// The self-service portal (`mdm.portal`): end users' sign-in and sessions.
#[napi]
pub struct Portal {
    pub(crate) inner: mdmkit_service::Portal,
}

#[napi]
impl Portal {
    /// Signs a portal user in: a new session (`sign_in_failed`; `rate_limited` after five
    /// failures in a row).
    #[napi(ts_return_type = "Promise<SignedIn>")]
    pub fn sign_in<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] email: Unknown<'_>,
        #[napi(ts_arg_type = "string")] password: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, SignedIn>> {
        let p = self.inner.clone();
        let email = text(&email, "email");
        let password = text(&password, "password");
        promise(
            env,
            async move { p.sign_in(&email?, &password?).await },
            signed_in,
        )
    }

    /// Accepts an invitation from its portal link's token: sets the user's first password
    /// and signs them in (`token_invalid` when used, expired, revoked or unknown).
    #[napi(ts_return_type = "Promise<SignedIn>")]
    pub fn accept_invitation<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] token: Unknown<'_>,
        #[napi(ts_arg_type = "string")] password: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, SignedIn>> {
        let p = self.inner.clone();
        let token = text(&token, "token");
        let password = text(&password, "password");
        promise(
            env,
            async move { p.accept_invitation(&token?, &password?).await },
            signed_in,
        )
    }

    /// The signed-in user of a session (`not_signed_in` when it ended or is unknown): what a
    /// backend acting for its user calls with the user's cookie.
    #[napi(ts_return_type = "Promise<PortalSession>")]
    pub fn session<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] token: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, PortalSession>> {
        let p = self.inner.clone();
        let token = text(&token, "token");
        promise(env, async move { p.session(&token?).await }, |inner| {
            Ok(PortalSession { inner })
        })
    }

    /// Ends a session (an unknown or ended one is not an error).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn sign_out<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] token: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let p = self.inner.clone();
        let token = text(&token, "token");
        promise(env, async move { p.sign_out(&token?).await }, Ok)
    }

    /// The portal's branding (no sign-in needed); `null` until an administrator sets it.
    #[napi(ts_return_type = "Promise<PortalBranding | null>")]
    pub fn branding<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Option<PortalBranding>>> {
        let p = self.inner.clone();
        promise(env, async move { p.branding().await }, |b| {
            Ok(b.map(PortalBranding::from))
        })
    }
}

/// A signed-in portal user (`mdm.portal.session(token)`): every call checks again that the
/// user is still enabled and, for a device, that it is theirs (another user's device is
/// `device_not_found`, exactly like a missing one).
#[napi]
pub struct PortalSession {
    inner: mdmkit_service::PortalSession,
}

#[napi]
impl PortalSession {
    /// The signed-in user's id.
    #[napi(getter)]
    pub fn user_id(&self) -> String {
        self.inner.user_id().to_owned()
    }

    /// When the session ends.
    #[napi(getter)]
    pub fn expires_at(&self) -> DateTime<Utc> {
        date(self.inner.expires_at())
    }

    /// The user's own certificates (the portal's certificates tab).
    #[napi(getter)]
    pub fn certificates(&self) -> OwnCertificates {
        OwnCertificates {
            inner: self.inner.certificates(),
        }
    }

    /// The signed-in user's account.
    #[napi(ts_return_type = "Promise<PortalAccount>")]
    pub fn user<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, PortalAccount>> {
        let s = self.inner.clone();
        promise(env, async move { s.user().await }, |a| Ok(a.into()))
    }

    /// Changes the display name and/or e-mail address (absent keeps it).
    #[napi(ts_return_type = "Promise<PortalAccount>")]
    pub fn update_account<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "{ name?: string; email?: string }")] changes: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, PortalAccount>> {
        let s = self.inner.clone();
        let changes = arg::<AccountChanges>(changes, "changes");
        promise(
            env,
            async move {
                let changes = changes?;
                s.update_account(changes.name.as_deref(), changes.email.as_deref())
                    .await
            },
            |a| Ok(a.into()),
        )
    }

    /// Changes the password (the current one must be given: `sign_in_failed` otherwise).
    /// Every session of the user ends, this one too: resolves with the new session.
    #[napi(ts_return_type = "Promise<SignedIn>")]
    pub fn change_password<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] current: Unknown<'_>,
        #[napi(ts_arg_type = "string")] new_password: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, SignedIn>> {
        let s = self.inner.clone();
        let current = text(&current, "current");
        let new_password = text(&new_password, "newPassword");
        promise(
            env,
            async move { s.change_password(&current?, &new_password?).await },
            signed_in,
        )
    }

    /// The user's devices.
    #[napi(ts_return_type = "Promise<PortalDevice[]>")]
    pub fn devices<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Vec<PortalDevice>>> {
        let s = self.inner.clone();
        promise(env, async move { s.devices().await }, each)
    }

    /// One of the user's devices (`device_not_found` for another user's).
    #[napi(ts_return_type = "Promise<PortalDevice>")]
    pub fn device<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, PortalDevice>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        promise(env, async move { s.device(&id?).await }, |d| Ok(d.into()))
    }

    /// Locks one of the user's devices, with an optional message and phone number.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn lock<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        #[napi(ts_arg_type = "{ message?: string; phone?: string } | undefined | null")]
        options: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        let options = opt_arg::<PortalLockOptions>(options, "options");
        promise(
            env,
            async move {
                let (message, phone) = match options? {
                    Some(o) => (o.message, o.phone),
                    None => (None, None),
                };
                s.lock(&id?, message.as_deref(), phone.as_deref()).await
            },
            |o| Ok(o.into()),
        )
    }

    /// Clears the passcode of one of the user's devices.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn unlock<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        promise(env, async move { s.unlock(&id?).await }, |o| Ok(o.into()))
    }

    /// Asks one of the user's devices for its location (`location_disabled` when the
    /// privacy settings forbid it).
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn locate<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        promise(env, async move { s.locate(&id?).await }, |o| Ok(o.into()))
    }

    /// Erases one of the user's devices.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn wipe<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        promise(env, async move { s.wipe(&id?).await }, |o| Ok(o.into()))
    }

    /// Removes one of the user's devices from management.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn retire<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        promise(env, async move { s.retire(&id?).await }, |o| Ok(o.into()))
    }

    /// Makes one of the user's devices check in now (a push; nothing queued).
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn check_in<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        promise(env, async move { s.check_in(&id?).await }, |o| Ok(o.into()))
    }

    /// The last location the device reported, `null` when none.
    #[napi(ts_return_type = "Promise<DeviceLocation | null>")]
    pub fn location<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, Option<DeviceLocation>>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        promise(env, async move { s.location(&id?).await }, |at| {
            Ok(at.map(|l| DeviceLocation {
                latitude: l.latitude,
                longitude: l.longitude,
                horizontal_accuracy: l.horizontal_accuracy,
                at: date(l.at),
            }))
        })
    }

    /// A command's state on one of the user's devices: `queued`, `pushed`,
    /// `acknowledged`, `error` or `not_now`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn command_state<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        #[napi(ts_arg_type = "string")] command_uuid: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let s = self.inner.clone();
        let id = text(&enrollment_id, "enrollmentId");
        let command_uuid = text(&command_uuid, "commandUuid");
        promise(
            env,
            async move { s.command_state(&id?, &command_uuid?).await },
            Ok,
        )
    }

    /// A single-use registration link for another device of the user (a secret).
    #[napi(ts_return_type = "Promise<EnrollmentLink>")]
    pub fn registration_link<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, EnrollmentLink>> {
        let s = self.inner.clone();
        promise(env, async move { s.registration_link().await }, |link| {
            Ok(EnrollmentLink {
                url: link.url,
                user_id: link.user_id,
                expires_at: date(link.expires_at),
            })
        })
    }

    /// The portal's branding; `null` until an administrator sets it.
    #[napi(ts_return_type = "Promise<PortalBranding | null>")]
    pub fn branding<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Option<PortalBranding>>> {
        let s = self.inner.clone();
        promise(env, async move { s.branding().await }, |b| {
            Ok(b.map(PortalBranding::from))
        })
    }
}

/// Changes of `PortalSession.updateAccount`.
#[napi(object)]
pub struct AccountChanges {
    /// The new display name.
    pub name: Option<String>,
    /// The new e-mail address.
    pub email: Option<String>,
}

/// Options of `PortalSession.lock`.
#[napi(object)]
pub struct PortalLockOptions {
    /// Shown on the lock screen.
    pub message: Option<String>,
    /// Shown on the lock screen.
    pub phone: Option<String>,
}

/// The signed-in user's own certificates (`session.certificates`): another user's
/// certificate is `unknown_certificate`, like a missing one.
#[napi]
pub struct OwnCertificates {
    inner: mdmkit_service::OwnCerts,
}

#[napi]
impl OwnCertificates {
    /// The kinds the user may upload.
    #[napi(ts_return_type = "Promise<CertificateKind[]>")]
    pub fn kinds<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Vec<CertificateKind>>> {
        let c = self.inner.clone();
        promise(env, async move { c.kinds().await }, each)
    }

    /// The user's certificates, oldest upload first.
    #[napi(ts_return_type = "Promise<UserCertificate[]>")]
    pub fn list<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Vec<UserCertificate>>> {
        let c = self.inner.clone();
        promise(env, async move { c.list().await }, each)
    }

    /// Uploads a PKCS#12 file of `kind` (id or name) with its password; refusals (not
    /// PKCS#12, wrong password, expired, no private key...) have their own codes and store
    /// nothing.
    #[napi(ts_return_type = "Promise<UserCertificate>")]
    pub fn add<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] kind: Unknown<'_>,
        #[napi(ts_arg_type = "Buffer")] pkcs12: Unknown<'_>,
        #[napi(ts_arg_type = "string")] password: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] name: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, UserCertificate>> {
        let c = self.inner.clone();
        let args = (|| -> Result<_> {
            Ok((
                text(&kind, "kind")?,
                arg::<Buffer>(pkcs12, "pkcs12")?.to_vec(),
                text(&password, "password")?,
                opt_arg::<String>(name, "name")?,
            ))
        })();
        promise(
            env,
            async move {
                let (kind, pkcs12, password, name) = args?;
                c.add(&kind, pkcs12, &password, name.as_deref()).await
            },
            |cert| Ok(cert.into()),
        )
    }

    /// Renames one of the user's certificates.
    #[napi(ts_return_type = "Promise<UserCertificate>")]
    pub fn edit<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
        #[napi(ts_arg_type = "string")] name: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, UserCertificate>> {
        let c = self.inner.clone();
        let id = text(&id, "id");
        let name = text(&name, "name");
        promise(env, async move { c.edit(&id?, &name?).await }, |cert| {
            Ok(cert.into())
        })
    }

    /// Removes the private key of one of the user's certificates, for good.
    #[napi(ts_return_type = "Promise<UserCertificate>")]
    pub fn clear_private_key<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, UserCertificate>> {
        let c = self.inner.clone();
        let id = text(&id, "id");
        promise(
            env,
            async move { c.clear_private_key(&id?).await },
            |cert| Ok(cert.into()),
        )
    }

    /// Deletes one of the user's certificates; `false` when there was none.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn delete<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, bool>> {
        let c = self.inner.clone();
        let id = text(&id, "id");
        promise(env, async move { c.delete(&id?).await }, Ok)
    }
}

/// Users' certificates and the kinds they may upload, for administrators
/// (`mdm.userCerts`).
#[napi]
pub struct UserCertificates {
    pub(crate) inner: mdmkit_service::UserCerts,
}

#[napi]
impl UserCertificates {
    /// Defines a kind users may upload; `usage`: `signing`, `encryption` or `other`.
    #[napi(ts_return_type = "Promise<CertificateKind>")]
    pub fn add_kind<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] name: Unknown<'_>,
        #[napi(ts_arg_type = "string")] usage: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, CertificateKind>> {
        let c = self.inner.clone();
        let name = text(&name, "name");
        let usage = text(&usage, "usage");
        promise(env, async move { c.add_kind(&name?, &usage?).await }, |k| {
            Ok(k.into())
        })
    }

    /// Every kind, ordered by id.
    #[napi(ts_return_type = "Promise<CertificateKind[]>")]
    pub fn kinds<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Vec<CertificateKind>>> {
        let c = self.inner.clone();
        promise(env, async move { c.kinds().await }, each)
    }

    /// One user's certificates, oldest upload first.
    #[napi(ts_return_type = "Promise<UserCertificate[]>")]
    pub fn list<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] owner: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, Vec<UserCertificate>>> {
        let c = self.inner.clone();
        let owner = text(&owner, "owner");
        promise(env, async move { c.list(&owner?).await }, each)
    }

    /// One certificate (`unknown_certificate` when there is none).
    #[napi(ts_return_type = "Promise<UserCertificate>")]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, UserCertificate>> {
        let c = self.inner.clone();
        let id = text(&id, "id");
        promise(
            env,
            async move { c.get(&id?).await },
            |cert| Ok(cert.into()),
        )
    }

    /// Uploads a PKCS#12 file for `owner` (the same checks and re-push as the portal's).
    #[napi(ts_return_type = "Promise<UserCertificate>")]
    pub fn add<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] owner: Unknown<'_>,
        #[napi(ts_arg_type = "string")] kind: Unknown<'_>,
        #[napi(ts_arg_type = "Buffer")] pkcs12: Unknown<'_>,
        #[napi(ts_arg_type = "string")] password: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] name: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, UserCertificate>> {
        let c = self.inner.clone();
        let args = (|| -> Result<_> {
            Ok((
                text(&owner, "owner")?,
                text(&kind, "kind")?,
                arg::<Buffer>(pkcs12, "pkcs12")?.to_vec(),
                text(&password, "password")?,
                opt_arg::<String>(name, "name")?,
            ))
        })();
        promise(
            env,
            async move {
                let (owner, kind, pkcs12, password, name) = args?;
                c.add(&owner, &kind, pkcs12, &password, name.as_deref())
                    .await
            },
            |cert| Ok(cert.into()),
        )
    }

    /// Renames a certificate.
    #[napi(ts_return_type = "Promise<UserCertificate>")]
    pub fn edit<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
        #[napi(ts_arg_type = "string")] name: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, UserCertificate>> {
        let c = self.inner.clone();
        let id = text(&id, "id");
        let name = text(&name, "name");
        promise(env, async move { c.edit(&id?, &name?).await }, |cert| {
            Ok(cert.into())
        })
    }

    /// Removes a certificate's private key, for good.
    #[napi(ts_return_type = "Promise<UserCertificate>")]
    pub fn clear_private_key<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, UserCertificate>> {
        let c = self.inner.clone();
        let id = text(&id, "id");
        promise(
            env,
            async move { c.clear_private_key(&id?).await },
            |cert| Ok(cert.into()),
        )
    }

    /// Deletes a certificate; `false` when there was none.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn delete<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, bool>> {
        let c = self.inner.clone();
        let id = text(&id, "id");
        promise(env, async move { c.delete(&id?).await }, Ok)
    }
}

/// A QR code of `url` (a registration link, for a device's camera) as an SVG document.
#[napi]
pub fn registration_qr_svg(
    #[napi(ts_arg_type = "string")] url: Unknown<'_>,
) -> napi::Result<String, String> {
    let url = text(&url, "url").map_err(|e| crate::errors::sync_error(&e))?;
    mdmkit_service::registration_qr_svg(&url).map_err(|e| crate::errors::sync_error(&e))
}
