//! Re-push: rebuilding the configurations that use a user's certificates and installing
//! them on the user's devices.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;
use mdmkit_core::profile::{PayloadContent, Profile};
use mdmkit_core::store::{
    AssignmentTarget, CertificatePurpose, ConfigurationRecord, EnrollmentQuery, Store,
    UserCertificateRecord,
};
use mdmkit_core::{Data, EnrollmentId};

use crate::{Error, Result};

/// Installs a configuration profile on an enrollment: queues an InstallProfile command
/// (and pushes) and returns its CommandUUID. The engine implements it.
#[async_trait]
pub trait ProfileInstaller: Send + Sync {
    /// Installs `profile` (a `.mobileconfig`, XML or signed) on `enrollment`.
    async fn install_profile(&self, enrollment: &EnrollmentId, profile: &[u8]) -> Result<String>;
}

/// The engine installs through its `InstallProfile` device action (capability check,
/// queue, push); the push outcome is the engine's business, the CommandUUID is returned.
#[async_trait]
impl ProfileInstaller for mdmkit_core::engine::Engine {
    async fn install_profile(&self, enrollment: &EnrollmentId, profile: &[u8]) -> Result<String> {
        let queued =
            mdmkit_core::engine::Engine::install_profile(self, enrollment, profile.to_vec())
                .await?;
        Ok(queued.command_uuid)
    }
}

/// One profile install made on behalf of a re-push.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProfileInstall {
    /// The configuration that was rebuilt.
    pub configuration_id: String,
    /// The enrollment it was installed on.
    pub enrollment_id: EnrollmentId,
    /// The InstallProfile command's CommandUUID.
    pub command_uuid: String,
}

/// One install that failed during a re-push (the others still went ahead).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallFailure {
    /// The configuration.
    pub configuration_id: String,
    /// The enrollment, or `None` when the configuration itself could not be rebuilt.
    pub enrollment_id: Option<EnrollmentId>,
    /// Why, in a sentence.
    pub error: String,
}

/// What a re-push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepushReport {
    /// The installs queued, by configuration then enrollment.
    pub installs: Vec<ProfileInstall>,
    /// What failed.
    pub failures: Vec<InstallFailure>,
}

/// A [`ProfileInstaller`] that records what it is asked to install and answers with new
/// CommandUUIDs; for tests and dry runs.
#[derive(Debug, Default)]
pub struct RecordingInstaller {
    installs: Mutex<Vec<(EnrollmentId, Vec<u8>, String)>>,
}

impl RecordingInstaller {
    /// An installer that recorded nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything installed so far: enrollment, profile bytes, CommandUUID.
    pub fn installs(&self) -> Vec<(EnrollmentId, Vec<u8>, String)> {
        self.installs
            .lock()
            .map(|list| list.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

#[async_trait]
impl ProfileInstaller for RecordingInstaller {
    async fn install_profile(&self, enrollment: &EnrollmentId, profile: &[u8]) -> Result<String> {
        let command_uuid = uuid::Uuid::new_v4().to_string().to_uppercase();
        let mut list = self
            .installs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        list.push((enrollment.clone(), profile.to_vec(), command_uuid.clone()));
        Ok(command_uuid)
    }
}

/// The user's certificates a configuration is filled with, by use.
#[derive(Debug, Default)]
pub(crate) struct Identities<'a> {
    pub signing: Option<&'a UserCertificateRecord>,
    pub encryption: Option<&'a UserCertificateRecord>,
}

/// The PayloadUUIDs a profile's Mail and Exchange payloads name for S/MIME signing and
/// encryption.
fn smime_references(profile: &Profile) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut signing = BTreeSet::new();
    let mut encryption = BTreeSet::new();
    for payload in &profile.payloads {
        let (sign, encrypt) = match &payload.content {
            PayloadContent::MailManaged(mail) => (
                &mail.smime_signing_certificate_uuid,
                &mail.smime_encryption_certificate_uuid,
            ),
            PayloadContent::EasAccount(eas) => (
                &eas.smime_signing_certificate_uuid,
                &eas.smime_encryption_certificate_uuid,
            ),
            _ => continue,
        };
        signing.extend(sign.iter().cloned());
        encryption.extend(encrypt.iter().cloned());
    }
    (signing, encryption)
}

/// Whether a stored configuration's profile references a PKCS#12 payload for `purpose`;
/// an error when it is not a readable profile.
pub(crate) fn uses_purpose(
    config: &ConfigurationRecord,
    purpose: CertificatePurpose,
) -> Result<bool> {
    let profile = Profile::read(&config.payload).map_err(|e| Error::Configuration {
        configuration: config.id.clone(),
        detail: format!("not a readable profile: {e}"),
    })?;
    let (signing, encryption) = smime_references(&profile);
    let referenced = match purpose {
        CertificatePurpose::Signing => signing,
        CertificatePurpose::Encryption => encryption,
        _ => return Ok(false),
    };
    Ok(profile.payloads.iter().any(|payload| {
        matches!(payload.content, PayloadContent::SecurityPkcs12(_))
            && referenced.contains(&payload.common.uuid)
    }))
}

/// Rebuilds a configuration's profile: each PKCS#12 payload referenced by a Mail or
/// Exchange payload's SMIMESigningCertificateUUID (SMIMEEncryptionCertificateUUID) gets
/// the signing (encryption) certificate's package and password. A reference for a use the
/// user has no certificate for is removed with its PKCS#12 payload (S/MIME for that use is
/// then off), so the rest of the profile still installs. The result is validated.
pub(crate) fn rebuild_profile(
    config: &ConfigurationRecord,
    identities: &Identities<'_>,
) -> Result<Vec<u8>> {
    let invalid = |detail: String| Error::Configuration {
        configuration: config.id.clone(),
        detail,
    };
    let mut profile = Profile::read(&config.payload)
        .map_err(|e| invalid(format!("not a readable profile: {e}")))?;
    let (signing, encryption) = smime_references(&profile);
    let mut dropped = BTreeSet::new();
    for payload in &mut profile.payloads {
        let PayloadContent::SecurityPkcs12(pkcs12) = &mut payload.content else {
            continue;
        };
        let uuid = &payload.common.uuid;
        let identity = if signing.contains(uuid) {
            identities.signing
        } else if encryption.contains(uuid) {
            identities.encryption
        } else {
            continue;
        };
        match identity.and_then(|record| record.pkcs12.as_ref().map(|p| (record, p))) {
            Some((record, package)) => {
                pkcs12.payload_content = Data::from(package.expose().to_vec());
                pkcs12.password = record
                    .pkcs12_password
                    .as_ref()
                    .and_then(|p| p.expose_str())
                    .map(str::to_owned);
                pkcs12.payload_certificate_file_name = Some(format!("{}.p12", record.name));
            }
            None => {
                dropped.insert(uuid.clone());
            }
        }
    }
    if !dropped.is_empty() {
        profile
            .payloads
            .retain(|payload| !dropped.contains(&payload.common.uuid));
        for payload in &mut profile.payloads {
            let (sign, encrypt) = match &mut payload.content {
                PayloadContent::MailManaged(mail) => (
                    &mut mail.smime_signing_certificate_uuid,
                    &mut mail.smime_encryption_certificate_uuid,
                ),
                PayloadContent::EasAccount(eas) => (
                    &mut eas.smime_signing_certificate_uuid,
                    &mut eas.smime_encryption_certificate_uuid,
                ),
                _ => continue,
            };
            for reference in [sign, encrypt] {
                if reference
                    .as_ref()
                    .is_some_and(|uuid| dropped.contains(uuid))
                {
                    *reference = None;
                }
            }
        }
    }
    profile
        .validate()
        .map_err(|e| invalid(format!("invalid once filled: {e}")))?;
    profile
        .to_xml()
        .map_err(|e| invalid(format!("cannot be written: {e}")))
}

/// The enabled enrollments of `owner` a configuration is assigned to: every one of the
/// owner's when it is assigned to the user, or those of its enrollment assignments that
/// the owner owns.
pub(crate) async fn targets_of(
    store: &dyn Store,
    configuration_id: &str,
    owner: &str,
) -> Result<Vec<EnrollmentId>> {
    let mut targets = BTreeSet::new();
    for assignment in store.assignments_of_configuration(configuration_id).await? {
        match &assignment.target {
            AssignmentTarget::User(user) if user == owner => {
                let mut query = EnrollmentQuery::all();
                query.owner = Some(owner.to_owned());
                query.enabled = Some(true);
                for enrollment in store.list_enrollments(&query).await? {
                    targets.insert(enrollment.id);
                }
            }
            AssignmentTarget::Enrollment(id) => {
                if let Some(enrollment) = store.get_enrollment(id).await? {
                    if enrollment.enabled && enrollment.owner.as_deref() == Some(owner) {
                        targets.insert(enrollment.id);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(targets.into_iter().collect())
}
