//! Users' own certificates (S/MIME PKCS#12 files) through the service: the portal's
//! certificates tab ([`OwnCerts`], from
//! [`PortalSession::certificates`](crate::PortalSession::certificates)) and the
//! administrators' view ([`UserCerts`], from [`Mdm::user_certs`](crate::Mdm::user_certs)).
//!
//! Every check is the certstore crate's: an upload that is not PKCS#12, has the wrong
//! password, an expired certificate, no private key, or is too large is refused with its
//! own code and nothing is stored; a stored upload re-pushes every configuration using its
//! kind to the owner's devices (when the deployment has an engine).

use std::sync::Arc;

use mdmkit_certstore::{
    CertStore, CertificateEdit, ImportRequest, OwnCertificates, UserCertificate,
};
use mdmkit_core::store::{CertificateKind, CertificatePurpose};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Error, Mdm, Result};

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

    /// Renames one of the user's certificates.
    pub async fn edit(&self, id: &str, name: &str) -> Result<UserCertView> {
        let edit = CertificateEdit::new().with_name(name);
        Ok(self.own.edit(id, &edit).await?.into())
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
