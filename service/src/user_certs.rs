//! Users' own certificates (S/MIME PKCS#12 files) through the service: the portal's
//! certificates tab ([`OwnCerts`], from
//! [`PortalSession::certificates`](crate::PortalSession::certificates)) and the
//! administrators' view ([`UserCerts`], from [`Mdm::user_certs`](crate::Mdm::user_certs)).
//!
//! Every check is the certstore crate's: an upload that is not PKCS#12, has the wrong
//! password, an expired certificate, no private key, or is too large is refused with its
//! own code and nothing is stored; a stored upload re-pushes every configuration using its
//! kind to the owner's devices (when the deployment has an engine).

use std::sync::{Arc, Mutex};

use mdmkit_certstore::{
    CertStore, CertificateEdit, ImportOutcome, ImportRequest, OwnCertificates, ProfileInstaller,
    UserCertificate,
};
use mdmkit_core::engine::Engine;
use mdmkit_core::store::{CertificateKind, CertificatePurpose};
use mdmkit_core::{EnrollmentId, Secret};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{ActionOutcome, Error, Mdm, Result};

/// A certificate kind users may upload ("Signing", "Encryption").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CertKindView {
    /// The kind's id (what uploads take; its name works too).
    pub id: String,
    /// The display name.
    pub name: String,
    /// What it is for: `signing`, `encryption` or `other`.
    pub usage: String,
}

impl From<CertificateKind> for CertKindView {
    fn from(kind: CertificateKind) -> Self {
        Self {
            id: kind.id,
            name: kind.name,
            usage: kind.purpose.as_str().to_owned(),
        }
    }
}

/// A user's certificate, as listed (the file and its password never leave the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UserCertView {
    /// The certificate's id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The kind's id.
    pub kind: String,
    /// The kind's display name.
    pub kind_name: String,
    /// The user who uploaded it.
    pub owner: String,
    /// The certificate's subject.
    pub subject: String,
    /// The certificate's issuer.
    pub issuer: String,
    /// The serial number (hex).
    pub serial: String,
    /// The e-mail addresses it names.
    pub emails: Vec<String>,
    /// When it was uploaded (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
    /// The end of its validity (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whether the stored file still holds the private key.
    pub has_private_key: bool,
}

impl From<UserCertificate> for UserCertView {
    fn from(certificate: UserCertificate) -> Self {
        Self {
            id: certificate.id,
            name: certificate.name,
            kind: certificate.kind_id,
            kind_name: certificate.kind_name,
            owner: certificate.owner,
            subject: certificate.subject,
            issuer: certificate.issuer,
            serial: certificate.serial,
            emails: certificate.emails,
            uploaded_at: certificate.uploaded_at,
            not_after: certificate.expires_at,
            has_private_key: certificate.has_private_key,
        }
    }
}

/// The certificate store of a deployment: re-pushes through the engine when there is one.
fn cert_store(mdm: &Mdm) -> CertStore {
    let certs = CertStore::new(mdm.store().clone());
    match mdm.engine() {
        Ok(engine) => certs.with_installer(Arc::new(engine.clone())),
        Err(_) => certs,
    }
}

/// One configuration re-installed on one enrollment after an upload: the InstallProfile
/// queued and whether it was pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RepushEntry {
    /// The configuration rebuilt with the new certificate.
    pub configuration_id: String,
    /// The enrollment it was queued for.
    pub enrollment_id: String,
    /// The InstallProfile command's CommandUUID, and whether its push was delivered.
    #[serde(flatten)]
    pub outcome: ActionOutcome,
}

/// One re-install that failed (the others still went ahead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RepushFailure {
    /// The configuration.
    pub configuration_id: String,
    /// The enrollment, or `None` when the configuration itself could not be rebuilt.
    pub enrollment_id: Option<String>,
    /// Why, in a sentence.
    pub error: String,
}

/// What an upload did: the stored certificate and the re-push of the configurations
/// using its kind to the owner's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImportReport {
    /// The stored certificate.
    pub certificate: UserCertView,
    /// The InstallProfile commands queued, each with its push.
    pub repushed: Vec<RepushEntry>,
    /// The re-installs that failed.
    pub failed: Vec<RepushFailure>,
    /// How many configurations use the kind but were not re-pushed because the
    /// deployment has no device CA (no engine; `mdmkit init`); 0 otherwise.
    pub not_repushed: usize,
}

/// The engine as the certificate store's installer, keeping each install's push outcome
/// for the [`ImportReport`].
struct ReportingInstaller {
    engine: Engine,
    outcomes: Mutex<Vec<ActionOutcome>>,
}

#[async_trait::async_trait]
impl ProfileInstaller for ReportingInstaller {
    async fn install_profile(
        &self,
        enrollment: &EnrollmentId,
        profile: &[u8],
    ) -> mdmkit_certstore::Result<String> {
        let queued = self
            .engine
            .install_profile(enrollment, profile.to_vec())
            .await?;
        let command_uuid = queued.command_uuid.clone();
        self.outcomes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(ActionOutcome::from(queued));
        Ok(command_uuid)
    }
}

/// Runs an upload through the certificate store with the reporting installer (when the
/// deployment has an engine) and reports it.
async fn import_reported<F, Fut>(mdm: &Mdm, run: F) -> Result<ImportReport>
where
    F: FnOnce(CertStore) -> Fut,
    Fut: std::future::Future<Output = mdmkit_certstore::Result<ImportOutcome>>,
{
    let installer = mdm.engine().ok().map(|engine| {
        Arc::new(ReportingInstaller {
            engine: engine.clone(),
            outcomes: Mutex::new(Vec::new()),
        })
    });
    let mut certs = CertStore::new(mdm.store().clone());
    if let Some(installer) = &installer {
        certs = certs.with_installer(installer.clone());
    }
    let outcome = run(certs.clone()).await?;
    let not_repushed = match installer {
        Some(_) => 0,
        None => certs
            .configurations_using(&outcome.certificate.kind_id)
            .await?
            .len(),
    };
    let outcomes = installer
        .map(|installer| {
            std::mem::take(
                &mut *installer
                    .outcomes
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            )
        })
        .unwrap_or_default();
    let repushed = outcome
        .repush
        .installs
        .into_iter()
        .map(|install| {
            let outcome = outcomes
                .iter()
                .find(|o| o.command_uuid.as_deref() == Some(install.command_uuid.as_str()))
                .cloned()
                .unwrap_or_else(|| ActionOutcome {
                    command_uuid: Some(install.command_uuid.clone()),
                    pushed: false,
                    push: "unknown".to_owned(),
                });
            RepushEntry {
                configuration_id: install.configuration_id,
                enrollment_id: install.enrollment_id.as_str().to_owned(),
                outcome,
            }
        })
        .collect();
    let failed = outcome
        .repush
        .failures
        .into_iter()
        .map(|failure| RepushFailure {
            configuration_id: failure.configuration_id,
            enrollment_id: failure.enrollment_id.map(|id| id.as_str().to_owned()),
            error: failure.error,
        })
        .collect();
    Ok(ImportReport {
        certificate: outcome.certificate.into(),
        repushed,
        failed,
        not_repushed,
    })
}

fn request(
    owner: &str,
    kind: &str,
    pkcs12: Vec<u8>,
    password: &str,
    name: Option<&str>,
) -> ImportRequest {
    let mut request = ImportRequest::new(owner, kind, pkcs12).with_password(password);
    if let Some(name) = name {
        request = request.with_name(name);
    }
    request
}

/// The signed-in portal user's own certificates (the portal's certificates tab). Another
/// user's certificate is answered like a missing one (`unknown_certificate`); every
/// operation is audited (`portal.certificate_*`).
#[derive(Debug, Clone)]
pub struct OwnCerts {
    mdm: Mdm,
    own: OwnCertificates,
}

impl OwnCerts {
    pub(crate) fn new(mdm: Mdm, owner: &str) -> Self {
        let own = cert_store(&mdm).for_owner(owner);
        Self { mdm, own }
    }

    /// The kinds the user may upload.
    pub async fn kinds(&self) -> Result<Vec<CertKindView>> {
        kinds(&self.mdm).await
    }

    /// The user's certificates, oldest upload first.
    pub async fn list(&self) -> Result<Vec<UserCertView>> {
        let list = self.own.list().await?;
        Ok(list.into_iter().map(UserCertView::from).collect())
    }

    /// Uploads a PKCS#12 file of `kind` (id or name) with its password and an optional
    /// display name (default: its first e-mail address, or its subject). Refusals (not
    /// PKCS#12, wrong password, expired, no private key, too large...) have their own
    /// codes and store nothing. Every configuration using the kind is re-pushed to the
    /// user's devices.
    pub async fn add(
        &self,
        kind: &str,
        pkcs12: Vec<u8>,
        password: &str,
        name: Option<&str>,
    ) -> Result<UserCertView> {
        let outcome = self.own.add(kind, pkcs12, Some(password), name).await?;
        Ok(outcome.certificate.into())
    }

    /// [`add`](Self::add) with the whole report: the password may be absent (`None`, not
    /// the same as an empty one), and every re-installed configuration is listed with its
    /// push.
    pub async fn import(
        &self,
        kind: &str,
        pkcs12: Vec<u8>,
        password: Option<&str>,
        name: Option<&str>,
    ) -> Result<ImportReport> {
        let owner = self.own.owner().to_owned();
        import_reported(&self.mdm, |certs| async move {
            certs
                .for_owner(&owner)
                .add(kind, pkcs12, password, name)
                .await
        })
        .await
    }

    /// Renames one of the user's certificates.
    pub async fn edit(&self, id: &str, name: &str) -> Result<UserCertView> {
        let edit = CertificateEdit::new().with_name(name);
        Ok(self.own.edit(id, &edit).await?.into())
    }

    /// Changes the display name and/or the kind (by id or name) of one of the user's
    /// certificates; at least one is needed.
    pub async fn change(
        &self,
        id: &str,
        name: Option<&str>,
        kind: Option<&str>,
    ) -> Result<UserCertView> {
        Ok(self
            .own
            .edit(id, &certificate_edit(name, kind)?)
            .await?
            .into())
    }

    /// Removes the private key of one of the user's certificates, for good.
    pub async fn clear_private_key(&self, id: &str) -> Result<UserCertView> {
        Ok(self.own.clear_private_key(id).await?.into())
    }

    /// Deletes one of the user's certificates; `false` when there was none (or it is
    /// another user's).
    pub async fn delete(&self, id: &str) -> Result<bool> {
        match self.own.delete(id).await {
            Ok(()) => Ok(true),
            Err(mdmkit_certstore::Error::UnknownCertificate(_)) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}

/// Users' certificates and the kinds they may upload, for administrators
/// (`Mdm::user_certs`). Changes are audited with the handle's actor (`certificate.*`;
/// see [`Mdm::acting_as`]).
#[derive(Debug, Clone)]
pub struct UserCerts {
    mdm: Mdm,
}

impl UserCerts {
    pub(crate) fn new(mdm: Mdm) -> Self {
        Self { mdm }
    }

    /// Defines a certificate kind users may upload; `usage` is `signing`, `encryption` or
    /// `other`. Its id is the name in lowercase with other characters than letters and
    /// digits made `-`; an existing one is `kind_exists`.
    pub async fn add_kind(&self, name: &str, usage: &str) -> Result<CertKindView> {
        let purpose = CertificatePurpose::parse(usage).ok_or_else(|| {
            Error::input(format!(
                "certificate usage {usage:?}: expected signing, encryption or other"
            ))
        })?;
        let kind = cert_store(&self.mdm).add_kind(name, purpose).await?;
        self.audit("certificate.kind_add", &kind.id).await?;
        Ok(kind.into())
    }

    /// Every certificate kind, ordered by id.
    pub async fn kinds(&self) -> Result<Vec<CertKindView>> {
        kinds(&self.mdm).await
    }

    /// One user's certificates, oldest upload first.
    pub async fn list(&self, owner: &str) -> Result<Vec<UserCertView>> {
        let list = cert_store(&self.mdm).list(owner).await?;
        Ok(list.into_iter().map(UserCertView::from).collect())
    }

    /// One certificate; `unknown_certificate` when there is none.
    pub async fn get(&self, id: &str) -> Result<UserCertView> {
        Ok(cert_store(&self.mdm).get(id).await?.into())
    }

    /// Uploads a PKCS#12 file for `owner` (the same checks and re-push as the portal's).
    pub async fn add(
        &self,
        owner: &str,
        kind: &str,
        pkcs12: Vec<u8>,
        password: &str,
        name: Option<&str>,
    ) -> Result<UserCertView> {
        let outcome = cert_store(&self.mdm)
            .import(request(owner, kind, pkcs12, password, name))
            .await?;
        self.audit("certificate.add", &outcome.certificate.id)
            .await?;
        Ok(outcome.certificate.into())
    }

    /// Uploads a PKCS#12 file for `owner` and reports the re-push: the password may be
    /// absent (`None`, not the same as an empty one); every configuration using the kind
    /// is re-installed on the owner's devices, each InstallProfile queued and pushed, or
    /// counted in [`ImportReport::not_repushed`] without a device CA.
    pub async fn import(
        &self,
        owner: &str,
        kind: &str,
        pkcs12: Vec<u8>,
        password: Option<&str>,
        name: Option<&str>,
    ) -> Result<ImportReport> {
        let mut request = ImportRequest::new(owner, kind, pkcs12);
        if let Some(password) = password {
            request = request.with_password(password);
        }
        if let Some(name) = name {
            request = request.with_name(name);
        }
        let report = import_reported(
            &self.mdm,
            |certs| async move { certs.import(request).await },
        )
        .await?;
        self.audit("certificate.add", &report.certificate.id)
            .await?;
        Ok(report)
    }

    /// Changes a certificate's display name and/or kind (by id or name); at least one is
    /// needed. Nothing is re-pushed.
    pub async fn change(
        &self,
        id: &str,
        name: Option<&str>,
        kind: Option<&str>,
    ) -> Result<UserCertView> {
        let certificate = cert_store(&self.mdm)
            .edit(id, &certificate_edit(name, kind)?)
            .await?;
        self.audit("certificate.edit", id).await?;
        Ok(certificate.into())
    }

    /// A certificate's PKCS#12 package: with `password`, written anew (AES-256, SHA-256
    /// MAC) under it; without, as stored, under the upload's password. A secret: write it
    /// to a file only its owner reads. Audited (`certificate.export`).
    pub async fn export(&self, id: &str, password: Option<&str>) -> Result<Secret> {
        let package = cert_store(&self.mdm).export(id, password).await?;
        self.audit("certificate.export", id).await?;
        Ok(package)
    }

    /// Renames a certificate.
    pub async fn edit(&self, id: &str, name: &str) -> Result<UserCertView> {
        let edit = CertificateEdit::new().with_name(name);
        let certificate = cert_store(&self.mdm).edit(id, &edit).await?;
        self.audit("certificate.edit", id).await?;
        Ok(certificate.into())
    }

    /// Removes a certificate's private key, for good.
    pub async fn clear_private_key(&self, id: &str) -> Result<UserCertView> {
        let certificate = cert_store(&self.mdm).clear_private_key(id).await?;
        self.audit("certificate.clear_private_key", id).await?;
        Ok(certificate.into())
    }

    /// Deletes a certificate; `false` when there was none.
    pub async fn delete(&self, id: &str) -> Result<bool> {
        let deleted = cert_store(&self.mdm).delete(id).await?;
        if deleted {
            self.audit("certificate.delete", id).await?;
        }
        Ok(deleted)
    }

    async fn audit(&self, action: &str, target: &str) -> Result<()> {
        mdmkit_enrollment::audit_outcome(
            self.mdm.store(),
            self.mdm.actor(),
            action,
            Some(target),
            "ok",
        )
        .await?;
        Ok(())
    }
}

async fn kinds(mdm: &Mdm) -> Result<Vec<CertKindView>> {
    let kinds = cert_store(mdm).list_kinds().await?;
    Ok(kinds.into_iter().map(CertKindView::from).collect())
}

/// The change of a certificate's name and/or kind; neither is `invalid_input`.
fn certificate_edit(name: Option<&str>, kind: Option<&str>) -> Result<CertificateEdit> {
    if name.is_none() && kind.is_none() {
        return Err(Error::input(
            "nothing to change: give a new name and/or a new kind",
        ));
    }
    let mut edit = CertificateEdit::new();
    if let Some(name) = name {
        edit = edit.with_name(name);
    }
    if let Some(kind) = kind {
        edit = edit.with_kind(kind);
    }
    Ok(edit)
}
