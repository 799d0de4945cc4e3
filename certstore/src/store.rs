//! The certificate store service: kinds, import, listing, edit, clear private key, delete,
//! export, and the re-push after an import.

use std::sync::Arc;

use mdmkit_core::store::{
    now_micros, CertificateKind, CertificatePurpose, ConfigurationRecord, SharedStore,
    UserCertificateRecord,
};
use mdmkit_core::Secret;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;
use time::OffsetDateTime;

use crate::import::{build_package, check_pkcs12, open_stored, CertificateInfo, ImportLimits};
use crate::repush::{
    rebuild_profile, targets_of, uses_purpose, Identities, InstallFailure, ProfileInstall,
    ProfileInstaller, RepushReport,
};
use crate::{Error, Result};

/// A user's certificate as the portal lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserCertificate {
    /// The certificate's identifier.
    pub id: String,
    /// The portal user who uploaded it.
    pub owner: String,
    /// Its display name.
    pub name: String,
    /// The kind's identifier.
    pub kind_id: String,
    /// The kind's display name (the id when the kind was deleted since).
    pub kind_name: String,
    /// The certificate's subject.
    pub subject: String,
    /// The certificate's issuer.
    pub issuer: String,
    /// The serial number (hex).
    pub serial: String,
    /// The e-mail addresses the certificate names.
    pub emails: Vec<String>,
    /// When it was uploaded.
    pub uploaded_at: OffsetDateTime,
    /// The end of the certificate's validity.
    pub expires_at: OffsetDateTime,
    /// Whether the stored package still holds the private key.
    pub has_private_key: bool,
}

/// An upload: the file, for which user and kind, with its password.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImportRequest {
    /// The portal user uploading.
    pub owner: String,
    /// The kind, by id or name.
    pub kind: String,
    /// The PKCS#12 file.
    pub file: Secret,
    /// The password; `None` when the user gave none (different from an empty one).
    pub password: Option<Secret>,
    /// A display name (default: the certificate's first e-mail address, or its subject).
    pub name: Option<String>,
}

impl ImportRequest {
    /// An upload without password or display name.
    pub fn new(owner: impl Into<String>, kind: impl Into<String>, file: Vec<u8>) -> Self {
        Self {
            owner: owner.into(),
            kind: kind.into(),
            file: Secret::new(file),
            password: None,
            name: None,
        }
    }

    /// Sets the password (an empty string is an empty password, not "no password").
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret::from(password.into()));
        self
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// What an import did: the stored certificate and the re-push that followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOutcome {
    /// The stored certificate.
    pub certificate: UserCertificate,
    /// Which configurations were installed on which enrollments, and what failed.
    pub repush: RepushReport,
}

/// Changes to a certificate's display name and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateEdit {
    /// A new display name.
    pub name: Option<String>,
    /// A new kind, by id or name.
    pub kind: Option<String>,
}

impl CertificateEdit {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the new display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the new kind.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }
}

/// The PKCS#12 store of user-provided e-mail certificates over core's store.
///
/// Everything persists through the store's `UserCertificateStore` (kinds, certificates;
/// packages and passwords are secrets the SQL backends encrypt at rest) and
/// `ConfigurationStore` (which configurations use a kind, and their assignments).
#[derive(Clone)]
pub struct CertStore {
    store: SharedStore,
    limits: ImportLimits,
    installer: Option<Arc<dyn ProfileInstaller>>,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertStore")
            .field("limits", &self.limits)
            .field("installer", &self.installer.is_some())
            .finish_non_exhaustive()
    }
}

impl CertStore {
    /// A store with the default [`ImportLimits`] and no installer (imports re-push
    /// nothing until one is set).
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            limits: ImportLimits::default(),
            installer: None,
        }
    }

    /// The store this certificate store works on.
    pub(crate) fn shared_store(&self) -> &SharedStore {
        &self.store
    }

    /// Sets the upload caps.
    pub fn with_limits(mut self, limits: ImportLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets what installs rebuilt configurations on devices (the engine).
    pub fn with_installer(mut self, installer: Arc<dyn ProfileInstaller>) -> Self {
        self.installer = Some(installer);
        self
    }

    /// Defines a certificate kind users may upload; its id is the name in lowercase with
    /// runs of other characters than letters and digits made one `-`.
    pub async fn add_kind(
        &self,
        name: &str,
        purpose: CertificatePurpose,
    ) -> Result<CertificateKind> {
        let name = name.trim();
        let id = kind_id(name);
        if id.is_empty() {
            return Err(Error::InvalidInput {
                field: "kind name".into(),
                detail: "it needs at least one letter or digit".into(),
            });
        }
        if self.store.get_certificate_kind(&id).await?.is_some() {
            return Err(Error::KindExists(id));
        }
        let kind = CertificateKind::new(id, name, purpose);
        self.store.put_certificate_kind(&kind).await?;
        Ok(kind)
    }

    /// Every certificate kind, ordered by id.
    pub async fn list_kinds(&self) -> Result<Vec<CertificateKind>> {
        Ok(self.store.list_certificate_kinds().await?)
    }

    /// The kind with this id, or else this name (case-insensitive).
    pub async fn find_kind(&self, id_or_name: &str) -> Result<CertificateKind> {
        if let Some(kind) = self.store.get_certificate_kind(id_or_name).await? {
            return Ok(kind);
        }
        self.list_kinds()
            .await?
            .into_iter()
            .find(|kind| kind.name.eq_ignore_ascii_case(id_or_name.trim()))
            .ok_or_else(|| Error::UnknownKind(id_or_name.to_owned()))
    }

    /// The configurations that use certificates of `kind_id` (what an upload of that kind
    /// re-pushes when the store has an installer).
    pub async fn configurations_using(&self, kind_id: &str) -> Result<Vec<ConfigurationRecord>> {
        Ok(self.store.configurations_using_kind(kind_id).await?)
    }

    /// Checks and stores an upload (see [`check_pkcs12`]), then re-pushes every
    /// configuration using its kind to the owner's devices.
    pub async fn import(&self, request: ImportRequest) -> Result<ImportOutcome> {
        if request.owner.trim().is_empty() {
            return Err(Error::InvalidInput {
                field: "user".into(),
                detail: "must not be empty".into(),
            });
        }
        let kind = self.find_kind(&request.kind).await?;
        let password = match &request.password {
            Some(secret) => Some(secret.expose_str().ok_or(Error::InvalidInput {
                field: "password".into(),
                detail: "must be UTF-8".into(),
            })?),
            None => None,
        };
        let checked = check_pkcs12(
            request.file.expose(),
            password,
            &self.limits,
            OffsetDateTime::now_utc(),
        )?;
        let info = &checked.info;
        let name = request
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| info.emails.first().cloned())
            .unwrap_or_else(|| info.subject.clone());
        let id = uuid::Uuid::new_v4().to_string();
        let mut record = UserCertificateRecord::new(
            id,
            request.owner.clone(),
            kind.id.clone(),
            name,
            checked.certificate_der.clone(),
        );
        record.pkcs12 = Some(request.file.clone());
        record.pkcs12_password = request.password.clone();
        record.has_private_key = true;
        record.subject = Some(info.subject.clone());
        record.issuer = Some(info.issuer.clone());
        record.serial = Some(info.serial.clone());
        record.not_after = Some(info.not_after);
        self.store.put_user_certificate(&record).await?;
        let repush = self.repush_kind(&record, &kind).await?;
        Ok(ImportOutcome {
            certificate: self.view(&record).await?,
            repush,
        })
    }

    /// A user's certificates, oldest upload first.
    pub async fn list(&self, owner: &str) -> Result<Vec<UserCertificate>> {
        let mut list = Vec::new();
        for record in self.store.list_user_certificates(owner).await? {
            list.push(self.view(&record).await?);
        }
        Ok(list)
    }

    /// One certificate.
    pub async fn get(&self, id: &str) -> Result<UserCertificate> {
        let record = self.record(id).await?;
        self.view(&record).await
    }

    /// Changes a certificate's display name or kind (nothing is re-pushed).
    pub async fn edit(&self, id: &str, edit: &CertificateEdit) -> Result<UserCertificate> {
        let mut record = self.record(id).await?;
        if let Some(name) = &edit.name {
            if name.trim().is_empty() {
                return Err(Error::InvalidInput {
                    field: "name".into(),
                    detail: "must not be empty".into(),
                });
            }
            record.name = name.trim().to_owned();
        }
        if let Some(kind) = &edit.kind {
            record.kind_id = self.find_kind(kind).await?.id;
        }
        record.updated_at = now_micros();
        self.store.put_user_certificate(&record).await?;
        self.view(&record).await
    }

    /// Removes the private key: the stored package is rewritten with the certificate and
    /// its chain only, under the same password. It cannot be undone; nothing is re-pushed.
    pub async fn clear_private_key(&self, id: &str) -> Result<UserCertificate> {
        let mut record = self.record(id).await?;
        if record.has_private_key {
            let password = stored_password(&record)?;
            let (cert, chain, _key) = unpack(&record, password)?;
            let package = build_package(&cert, chain, None, password, &record.name)?;
            record.pkcs12 = Some(Secret::new(package));
            record.has_private_key = false;
            record.updated_at = now_micros();
            self.store.put_user_certificate(&record).await?;
        }
        self.view(&record).await
    }

    /// Deletes a certificate (nothing is re-pushed). Returns whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self.store.delete_user_certificate(id).await?)
    }

    /// The stored package. With `password`, it is written anew (AES-256, SHA-256 MAC)
    /// under that password; without, it is returned as stored, under the upload's password.
    pub async fn export(&self, id: &str, password: Option<&str>) -> Result<Secret> {
        let record = self.record(id).await?;
        let package = record
            .pkcs12
            .as_ref()
            .ok_or_else(|| Error::UnknownCertificate(id.to_owned()))?;
        let Some(new_password) = password else {
            return Ok(package.clone());
        };
        let (cert, chain, key) = unpack(&record, stored_password(&record)?)?;
        let bytes = build_package(&cert, chain, key.as_ref(), Some(new_password), &record.name)?;
        Ok(Secret::new(bytes))
    }

    async fn record(&self, id: &str) -> Result<UserCertificateRecord> {
        self.store
            .get_user_certificate(id)
            .await?
            .ok_or_else(|| Error::UnknownCertificate(id.to_owned()))
    }

    async fn view(&self, record: &UserCertificateRecord) -> Result<UserCertificate> {
        let info = CertificateInfo::from_der(&record.certificate_der)?;
        let kind_name = self
            .store
            .get_certificate_kind(&record.kind_id)
            .await?
            .map(|kind| kind.name)
            .unwrap_or_else(|| record.kind_id.clone());
        Ok(UserCertificate {
            id: record.id.clone(),
            owner: record.owner.clone(),
            name: record.name.clone(),
            kind_id: record.kind_id.clone(),
            kind_name,
            subject: info.subject,
            issuer: info.issuer,
            serial: info.serial,
            emails: info.emails,
            uploaded_at: record.uploaded_at,
            expires_at: record.not_after.unwrap_or(info.not_after),
            has_private_key: record.has_private_key,
        })
    }

    /// Rebuilds and installs every configuration using `kind` for the owner of `record`.
    async fn repush_kind(
        &self,
        record: &UserCertificateRecord,
        kind: &CertificateKind,
    ) -> Result<RepushReport> {
        let mut report = RepushReport::default();
        let Some(installer) = &self.installer else {
            return Ok(report);
        };
        let store = self.store.as_ref();
        let configurations = store.configurations_using_kind(&kind.id).await?;
        if configurations.is_empty() {
            return Ok(report);
        }
        let owned = store.list_user_certificates(&record.owner).await?;
        let kinds = store.list_certificate_kinds().await?;
        for config in configurations {
            match uses_purpose(&config, kind.purpose) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    report.failures.push(InstallFailure {
                        configuration_id: config.id.clone(),
                        enrollment_id: None,
                        error: error.to_string(),
                    });
                    continue;
                }
            }
            // The newest certificate with a key, among the configuration's kinds, per use;
            // the one just uploaded for its own use.
            let newest = |purpose: CertificatePurpose| {
                if purpose == kind.purpose {
                    return Some(record);
                }
                owned.iter().rev().find(|candidate| {
                    candidate.has_private_key
                        && config.certificate_kinds.contains(&candidate.kind_id)
                        && kinds
                            .iter()
                            .any(|k| k.id == candidate.kind_id && k.purpose == purpose)
                })
            };
            let identities = Identities {
                signing: newest(CertificatePurpose::Signing),
                encryption: newest(CertificatePurpose::Encryption),
            };
            let profile = match rebuild_profile(&config, &identities) {
                Ok(profile) => profile,
                Err(error) => {
                    report.failures.push(InstallFailure {
                        configuration_id: config.id.clone(),
                        enrollment_id: None,
                        error: error.to_string(),
                    });
                    continue;
                }
            };
            for enrollment in targets_of(store, &config.id, &record.owner).await? {
                match installer.install_profile(&enrollment, &profile).await {
                    Ok(command_uuid) => report.installs.push(ProfileInstall {
                        configuration_id: config.id.clone(),
                        enrollment_id: enrollment,
                        command_uuid,
                    }),
                    Err(error) => report.failures.push(InstallFailure {
                        configuration_id: config.id.clone(),
                        enrollment_id: Some(enrollment),
                        error: error.to_string(),
                    }),
                }
            }
        }
        Ok(report)
    }
}

/// A stored package's certificate, other certificates and private key.
type Unpacked = (X509, Option<Stack<X509>>, Option<PKey<Private>>);

/// The certificate, the other certificates and the key of a stored package. OpenSSL lists
/// the certificate among the others once the key is gone; it is taken out by its DER.
fn unpack(record: &UserCertificateRecord, password: Option<&str>) -> Result<Unpacked> {
    let cert = X509::from_der(&record.certificate_der)
        .map_err(|e| Error::UnreadableCertificate(e.to_string()))?;
    let Some(package) = &record.pkcs12 else {
        return Ok((cert, None, None));
    };
    let parsed = open_stored(package.expose(), password)?;
    let mut chain = Stack::new().map_err(|e| Error::Crypto(e.to_string()))?;
    for other in parsed.ca.into_iter().flatten() {
        if other.to_der().ok().as_deref() != Some(record.certificate_der.as_slice()) {
            chain
                .push(other)
                .map_err(|e| Error::Crypto(e.to_string()))?;
        }
    }
    let chain = (!chain.is_empty()).then_some(chain);
    Ok((cert, chain, parsed.pkey))
}

fn stored_password(record: &UserCertificateRecord) -> Result<Option<&str>> {
    match &record.pkcs12_password {
        Some(secret) => Ok(Some(secret.expose_str().ok_or(Error::InvalidInput {
            field: "stored password".into(),
            detail: "not UTF-8".into(),
        })?)),
        None => Ok(None),
    }
}

/// A kind's id from its name: lowercase letters and digits, other runs made one `-`.
fn kind_id(name: &str) -> String {
    let mut id = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            id.extend(c.to_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_owned()
}
