//! The self-service portal's certificates tab: one user's own certificates.
//!
//! The portal's sessions live in the enrollment crate, which sits beside this one (both
//! depend on core only), so the tab takes the signed-in user's id instead of a session:
//! [`CertStore::for_owner`] is called by the portal once the user is signed in. Another
//! user's certificate is answered exactly like one that does not exist
//! ([`Error::UnknownCertificate`]) and is left untouched. Every operation, allowed or not,
//! is written to the audit log: actor the user, action `portal.certificate_<operation>`,
//! target the certificate id (the kind for an upload that failed), detail JSON with the
//! outcome (`"ok"` or the error's code). Passwords and files never reach the log.

use mdmkit_core::store::AuditEvent;

use crate::{
    CertStore, CertificateEdit, Error, ImportOutcome, ImportRequest, Result, UserCertificate,
};

/// One user's certificates through a [`CertStore`]: the portal's certificates tab. Cheap
/// to clone.
#[derive(Debug, Clone)]
pub struct OwnCertificates {
    certs: CertStore,
    owner: String,
}

impl CertStore {
    /// The certificates tab of `owner`, a signed-in portal user's id (the caller
    /// authenticates the user; every operation is limited to their certificates).
    pub fn for_owner(&self, owner: impl Into<String>) -> OwnCertificates {
        OwnCertificates {
            certs: self.clone(),
            owner: owner.into(),
        }
    }
}

impl OwnCertificates {
    /// The user whose certificates these are.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The user's certificates, oldest upload first.
    pub async fn list(&self) -> Result<Vec<UserCertificate>> {
        let outcome = self.certs.list(&self.owner).await;
        self.audit("list", None, &outcome).await?;
        outcome
    }

    /// Uploads a PKCS#12 file of `kind` (id or name) with its password (`None`: no
    /// password) and an optional display name, through [`CertStore::import`]: the same
    /// checks (wrong password, not PKCS#12... come back as their own errors), and every
    /// configuration using the kind is re-pushed to the user's devices when the store has
    /// an installer.
    pub async fn add(
        &self,
        kind: &str,
        pkcs12: Vec<u8>,
        password: Option<&str>,
        name: Option<&str>,
    ) -> Result<ImportOutcome> {
        let mut request = ImportRequest::new(self.owner.clone(), kind, pkcs12);
        if let Some(password) = password {
            request = request.with_password(password);
        }
        if let Some(name) = name {
            request = request.with_name(name);
        }
        let outcome = self.certs.import(request).await;
        let target = match &outcome {
            Ok(done) => done.certificate.id.clone(),
            Err(_) => format!("kind:{kind}"),
        };
        self.audit("add", Some(&target), &outcome).await?;
        outcome
    }

    /// Changes the display name or kind of one of the user's certificates.
    pub async fn edit(&self, id: &str, edit: &CertificateEdit) -> Result<UserCertificate> {
        let outcome = match self.check(id).await {
            Ok(()) => self.certs.edit(id, edit).await,
            Err(error) => Err(error),
        };
        self.audit("edit", Some(id), &outcome).await?;
        outcome
    }

    /// Removes the private key of one of the user's certificates for good.
    pub async fn clear_private_key(&self, id: &str) -> Result<UserCertificate> {
        let outcome = match self.check(id).await {
            Ok(()) => self.certs.clear_private_key(id).await,
            Err(error) => Err(error),
        };
        self.audit("clear_private_key", Some(id), &outcome).await?;
        outcome
    }

    /// Deletes one of the user's certificates; a missing one (or another user's) is
    /// [`Error::UnknownCertificate`].
    pub async fn delete(&self, id: &str) -> Result<()> {
        let outcome = match self.check(id).await {
            Ok(()) => match self.certs.delete(id).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::UnknownCertificate(id.to_owned())),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        self.audit("delete", Some(id), &outcome).await?;
        outcome
    }

    /// Succeeds only for a certificate of this user; anything else is "unknown".
    async fn check(&self, id: &str) -> Result<()> {
        match self.certs.get(id).await {
            Ok(certificate) if certificate.owner == self.owner => Ok(()),
            Ok(_) | Err(Error::UnknownCertificate(_)) => {
                Err(Error::UnknownCertificate(id.to_owned()))
            }
            Err(error) => Err(error),
        }
    }

    async fn audit<T>(
        &self,
        operation: &str,
        target: Option<&str>,
        outcome: &Result<T>,
    ) -> Result<()> {
        let mut event = AuditEvent::new(&self.owner, format!("portal.certificate_{operation}"));
        event.target = target.map(str::to_owned);
        let code = match outcome {
            Ok(_) => "ok",
            Err(error) => error.code(),
        };
        event.detail = Some(serde_json::json!({ "outcome": code }).to_string());
        self.certs.shared_store().append_audit_event(&event).await?;
        Ok(())
    }
}
