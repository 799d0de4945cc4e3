//! Administrators, the self-service portal (sign-in, sessions and what a signed-in user
//! may do), and users' certificates: thin wrappers over the service's `Admins`, `Portal`,
//! `PortalSession`, `OwnCerts` and `UserCerts`.

use mdmkit_service::{self as service};
use pyo3::prelude::*;

use crate::convert::IntoPy;
use crate::mdm::block;
use crate::records::{
    ActionOutcome, AdminSession, AdminUser, CertificateKind, DeviceLocation, EnrollmentLink,
    PortalAccount, PortalBranding, PortalDevice, SignedIn, UserCertificate,
};

fn each<T, R: From<T>>(items: Vec<T>) -> Vec<R> {
    items.into_iter().map(R::from).collect()
}

/// Administrators' accounts and sessions (`Mdm.admins`).
#[pyclass(module = "mdmkit", frozen, name = "Admins")]
pub struct Admins {
    pub(crate) admins: service::Admins,
}

#[pymethods]
impl Admins {
    /// Adds an administrator who signs in with `email` and `password` (argon2id).
    #[pyo3(signature = (email, password, name=None))]
    fn add(
        &self,
        py: Python<'_>,
        email: String,
        password: String,
        name: Option<String>,
    ) -> PyResult<AdminUser> {
        let a = self.admins.clone();
        block(py, move || async move {
            a.add(&email, name.as_deref(), &password).await
        })
        .map(AdminUser::from)
    }

    /// Every administrator, ordered by id.
    fn list(&self, py: Python<'_>) -> PyResult<Vec<AdminUser>> {
        let a = self.admins.clone();
        block(py, move || async move { a.list().await }).map(each)
    }

    /// One administrator; `NotFound` when unknown.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<AdminUser> {
        let a = self.admins.clone();
        block(py, move || async move { a.get(&id).await }).map(AdminUser::from)
    }

    /// Deletes an administrator and ends their sessions; whether they existed.
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<bool> {
        let a = self.admins.clone();
        block(py, move || async move { a.delete(&id).await })
    }

    /// Sets an administrator's password and ends every session of theirs.
    fn set_password(&self, py: Python<'_>, id: String, password: String) -> PyResult<()> {
        let a = self.admins.clone();
        block(
            py,
            move || async move { a.set_password(&id, &password).await },
        )
    }

    /// Enables or disables an administrator (disabling ends their sessions).
    fn set_enabled(&self, py: Python<'_>, id: String, enabled: bool) -> PyResult<AdminUser> {
        let a = self.admins.clone();
        block(py, move || async move { a.set_enabled(&id, enabled).await }).map(AdminUser::from)
    }

    /// Signs an administrator in: a new session (`SignInFailed`, `RateLimited`).
    fn sign_in(&self, py: Python<'_>, email: String, password: String) -> PyResult<SignedIn> {
        let a = self.admins.clone();
        block(
            py,
            move || async move { a.sign_in(&email, &password).await },
        )
        .map(SignedIn::from)
    }

    /// The signed-in administrator of a session; `NotSignedIn` when it ended.
    fn session(&self, py: Python<'_>, token: String) -> PyResult<AdminSession> {
        let a = self.admins.clone();
        block(py, move || async move { a.session(&token).await }).map(AdminSession::from)
    }

    /// Ends a session (an unknown or ended one is not an error).
    fn sign_out(&self, py: Python<'_>, token: String) -> PyResult<()> {
        let a = self.admins.clone();
        block(py, move || async move { a.sign_out(&token).await })
    }
}

/// The self-service portal: end users' sign-in and sessions (`Mdm.portal`).
#[pyclass(module = "mdmkit", frozen, name = "Portal")]
pub struct Portal {
    pub(crate) portal: service::Portal,
}

#[pymethods]
impl Portal {
    /// Signs a portal user in by e-mail and password: a new session (`SignInFailed`, and
    /// `RateLimited` after five failures in a row).
    fn sign_in(&self, py: Python<'_>, email: String, password: String) -> PyResult<SignedIn> {
        let p = self.portal.clone();
        block(
            py,
            move || async move { p.sign_in(&email, &password).await },
        )
        .map(SignedIn::from)
    }

    /// Accepts an invitation from its portal link's token: sets the user's first password
    /// and signs them in (`TokenInvalid` when used, expired, revoked or unknown).
    fn accept_invitation(
        &self,
        py: Python<'_>,
        token: String,
        password: String,
    ) -> PyResult<SignedIn> {
        let p = self.portal.clone();
        block(py, move || async move {
            p.accept_invitation(&token, &password).await
        })
        .map(SignedIn::from)
    }

    /// The signed-in user of a session (`NotSignedIn` when it ended or is unknown).
    fn session(&self, py: Python<'_>, token: String) -> PyResult<PortalSession> {
        let p = self.portal.clone();
        block(py, move || async move { p.session(&token).await })
            .map(|session| PortalSession { session })
    }

    /// Ends a session (an unknown or ended one is not an error).
    fn sign_out(&self, py: Python<'_>, token: String) -> PyResult<()> {
        let p = self.portal.clone();
        block(py, move || async move { p.sign_out(&token).await })
    }

    /// The portal's branding (no sign-in needed); `None` until an administrator sets it.
    fn branding(&self, py: Python<'_>) -> PyResult<Option<PortalBranding>> {
        let p = self.portal.clone();
        let branding = block(py, move || async move { p.branding().await })?;
        Ok(branding.map(|b| PortalBranding::new(py, b)))
    }
}

/// A signed-in portal user (`Portal.session`): every call checks again that the user is
/// still enabled and, for a device, that it is theirs (another user's device is
/// `DeviceNotFound`, exactly like a missing one).
#[pyclass(module = "mdmkit", frozen, name = "PortalSession")]
pub struct PortalSession {
    session: service::PortalSession,
}

#[pymethods]
impl PortalSession {
    /// The signed-in user's id.
    #[getter]
    fn user_id(&self) -> &str {
        self.session.user_id()
    }

    /// When the session ends (UTC).
    #[getter]
    fn expires_at(&self) -> time::OffsetDateTime {
        self.session.expires_at().to_offset(time::UtcOffset::UTC)
    }

    /// The signed-in user's account.
    fn user(&self, py: Python<'_>) -> PyResult<PortalAccount> {
        let s = self.session.clone();
        block(py, move || async move { s.user().await }).map(PortalAccount::from)
    }

    /// Changes the display name and/or e-mail address (`None` keeps it).
    #[pyo3(signature = (name=None, email=None))]
    fn update_account(
        &self,
        py: Python<'_>,
        name: Option<String>,
        email: Option<String>,
    ) -> PyResult<PortalAccount> {
        let s = self.session.clone();
        block(py, move || async move {
            s.update_account(name.as_deref(), email.as_deref()).await
        })
        .map(PortalAccount::from)
    }

    /// Changes the password (the current one must be given: `SignInFailed` otherwise).
    /// Every session of the user ends, this one too: the new session is returned.
    fn change_password(&self, py: Python<'_>, current: String, new: String) -> PyResult<SignedIn> {
        let s = self.session.clone();
        block(py, move || async move {
            s.change_password(&current, &new).await
        })
        .map(SignedIn::from)
    }

    /// The user's devices.
    fn devices(&self, py: Python<'_>) -> PyResult<Vec<PortalDevice>> {
        let s = self.session.clone();
        block(py, move || async move { s.devices().await }).map(each)
    }

    /// One of the user's devices (`DeviceNotFound` for another user's).
    fn device(&self, py: Python<'_>, enrollment_id: String) -> PyResult<PortalDevice> {
        let s = self.session.clone();
        block(py, move || async move { s.device(&enrollment_id).await }).map(PortalDevice::from)
    }

    /// Locks one of the user's devices, with an optional message and phone number.
    #[pyo3(signature = (enrollment_id, message=None, phone=None))]
    fn lock(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        message: Option<String>,
        phone: Option<String>,
    ) -> PyResult<ActionOutcome> {
        let s = self.session.clone();
        block(py, move || async move {
            s.lock(&enrollment_id, message.as_deref(), phone.as_deref())
                .await
        })
        .map(ActionOutcome::from)
    }

    /// Clears the passcode of one of the user's devices.
    fn unlock(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let s = self.session.clone();
        block(py, move || async move { s.unlock(&enrollment_id).await }).map(ActionOutcome::from)
    }

    /// Asks one of the user's devices for its location (`LocationDisabled` when the
    /// privacy settings forbid it).
    fn locate(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let s = self.session.clone();
        block(py, move || async move { s.locate(&enrollment_id).await }).map(ActionOutcome::from)
    }

    /// The last location the device reported, `None` when none.
    fn location(&self, py: Python<'_>, enrollment_id: String) -> PyResult<Option<DeviceLocation>> {
        let s = self.session.clone();
        block(py, move || async move { s.location(&enrollment_id).await })
            .map(|at| at.map(DeviceLocation::from))
    }

    /// Erases one of the user's devices.
    fn wipe(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let s = self.session.clone();
        block(py, move || async move { s.wipe(&enrollment_id).await }).map(ActionOutcome::from)
    }

    /// Removes one of the user's devices from management.
    fn retire(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let s = self.session.clone();
        block(py, move || async move { s.retire(&enrollment_id).await }).map(ActionOutcome::from)
    }

    /// Makes one of the user's devices check in now (a push; nothing queued).
    fn check_in(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let s = self.session.clone();
        block(py, move || async move { s.check_in(&enrollment_id).await }).map(ActionOutcome::from)
    }

    /// A command's state on one of the user's devices: `queued`, `pushed`,
    /// `acknowledged`, `error` or `not_now`.
    fn command_state(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        command_uuid: String,
    ) -> PyResult<String> {
        let s = self.session.clone();
        block(py, move || async move {
            s.command_state(&enrollment_id, &command_uuid).await
        })
    }

    /// A single-use registration link for another device of the user (a secret).
    fn registration_link(&self, py: Python<'_>) -> PyResult<EnrollmentLink> {
        let s = self.session.clone();
        block(py, move || async move { s.registration_link().await }).map(EnrollmentLink::from)
    }

    /// The portal's branding; `None` until an administrator sets it.
    fn branding(&self, py: Python<'_>) -> PyResult<Option<PortalBranding>> {
        let s = self.session.clone();
        let branding = block(py, move || async move { s.branding().await })?;
        Ok(branding.map(|b| PortalBranding::new(py, b)))
    }

    /// The user's own certificates (the portal's certificates tab).
    #[getter]
    fn certificates(&self) -> OwnCertificates {
        OwnCertificates {
            certs: self.session.certificates(),
        }
    }

    fn __repr__(&self) -> String {
        format!("PortalSession(user_id={:?})", self.session.user_id())
    }
}

/// The signed-in user's own certificates (`PortalSession.certificates`): another user's
/// certificate is `UnknownCertificate`, like a missing one.
#[pyclass(module = "mdmkit", frozen, name = "OwnCertificates")]
pub struct OwnCertificates {
    certs: service::OwnCerts,
}

#[pymethods]
impl OwnCertificates {
    /// The kinds the user may upload.
    fn kinds(&self, py: Python<'_>) -> PyResult<Vec<CertificateKind>> {
        let c = self.certs.clone();
        block(py, move || async move { c.kinds().await }).map(each)
    }

    /// The user's certificates, oldest upload first.
    fn list(&self, py: Python<'_>) -> PyResult<Vec<UserCertificate>> {
        let c = self.certs.clone();
        block(py, move || async move { c.list().await }).map(each)
    }

    /// Uploads a PKCS#12 file of `kind` (id or name) with its password; refusals (not
    /// PKCS#12, wrong password, expired, no private key...) have their own classes and
    /// store nothing.
    #[pyo3(signature = (kind, pkcs12, password, name=None))]
    fn add(
        &self,
        py: Python<'_>,
        kind: String,
        pkcs12: Vec<u8>,
        password: String,
        name: Option<String>,
    ) -> PyResult<UserCertificate> {
        let c = self.certs.clone();
        block(py, move || async move {
            c.add(&kind, pkcs12, &password, name.as_deref()).await
        })
        .map(UserCertificate::from)
    }

    /// Renames one of the user's certificates.
    fn edit(&self, py: Python<'_>, id: String, name: String) -> PyResult<UserCertificate> {
        let c = self.certs.clone();
        block(py, move || async move { c.edit(&id, &name).await }).map(UserCertificate::from)
    }

    /// Removes the private key of one of the user's certificates, for good.
    fn clear_private_key(&self, py: Python<'_>, id: String) -> PyResult<UserCertificate> {
        let c = self.certs.clone();
        block(py, move || async move { c.clear_private_key(&id).await }).map(UserCertificate::from)
    }

    /// Deletes one of the user's certificates; `False` when there was none.
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<bool> {
        let c = self.certs.clone();
        block(py, move || async move { c.delete(&id).await })
    }
}

/// Users' certificates and the kinds they may upload, for administrators
/// (`Mdm.user_certs`).
#[pyclass(module = "mdmkit", frozen, name = "UserCertificates")]
pub struct UserCertificates {
    pub(crate) certs: service::UserCerts,
}

#[pymethods]
impl UserCertificates {
    /// Defines a kind users may upload; `usage`: `signing`, `encryption` or `other`.
    fn add_kind(&self, py: Python<'_>, name: String, usage: String) -> PyResult<CertificateKind> {
        let c = self.certs.clone();
        block(py, move || async move { c.add_kind(&name, &usage).await }).map(CertificateKind::from)
    }

    /// Every kind, ordered by id.
    fn kinds(&self, py: Python<'_>) -> PyResult<Vec<CertificateKind>> {
        let c = self.certs.clone();
        block(py, move || async move { c.kinds().await }).map(each)
    }

    /// One user's certificates, oldest upload first.
    fn list(&self, py: Python<'_>, owner: String) -> PyResult<Vec<UserCertificate>> {
        let c = self.certs.clone();
        block(py, move || async move { c.list(&owner).await }).map(each)
    }

    /// One certificate (`UnknownCertificate` when there is none).
    fn get(&self, py: Python<'_>, id: String) -> PyResult<UserCertificate> {
        let c = self.certs.clone();
        block(py, move || async move { c.get(&id).await }).map(UserCertificate::from)
    }

    /// Uploads a PKCS#12 file for `owner` (the same checks and re-push as the portal's).
    #[pyo3(signature = (owner, kind, pkcs12, password, name=None))]
    fn add(
        &self,
        py: Python<'_>,
        owner: String,
        kind: String,
        pkcs12: Vec<u8>,
        password: String,
        name: Option<String>,
    ) -> PyResult<UserCertificate> {
        let c = self.certs.clone();
        block(py, move || async move {
            c.add(&owner, &kind, pkcs12, &password, name.as_deref())
                .await
        })
        .map(UserCertificate::from)
    }

    /// Renames a certificate.
    fn edit(&self, py: Python<'_>, id: String, name: String) -> PyResult<UserCertificate> {
        let c = self.certs.clone();
        block(py, move || async move { c.edit(&id, &name).await }).map(UserCertificate::from)
    }

    /// Removes a certificate's private key, for good.
    fn clear_private_key(&self, py: Python<'_>, id: String) -> PyResult<UserCertificate> {
        let c = self.certs.clone();
        block(py, move || async move { c.clear_private_key(&id).await }).map(UserCertificate::from)
    }

    /// Deletes a certificate; `False` when there was none.
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<bool> {
        let c = self.certs.clone();
        block(py, move || async move { c.delete(&id).await })
    }
}

/// A QR code of `url` (a registration link) as an SVG document.
#[pyfunction]
pub fn registration_qr_svg(url: &str) -> PyResult<String> {
    service::registration_qr_svg(url).py()
}
