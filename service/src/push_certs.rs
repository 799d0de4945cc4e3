//! Push certificates through the service: the lifecycle of the installed certificates,
//! in owned types.

use mdmkit_apns::{
    CsrSubject, InstallRequest, PrivateKey, PushCertLifecycle, PushCertificate, VendorFiles,
    VendorSigner,
};
use mdmkit_core::store::PushCertificateEvent;
use serde::Serialize;
use time::OffsetDateTime;

pub use mdmkit_apns::lifecycle::{
    DeletedTopic, PendingKeyInfo, PushCertStatus, TopicMismatchEntry,
};
pub use mdmkit_apns::{ExpiryStatus, InstallAction};

use crate::{Error, Mdm, Result};

/// A certificate as read from a file, before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// The push topic (`com.apple.mgmt.External.…`).
    pub topic: String,
    /// The subject.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// The serial number (hex).
    pub serial: String,
    /// Valid from (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// Valid until (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// Valid, expiring soon (60 days or fewer) or expired.
    pub status: ExpiryStatus,
    /// Whether the file carried the private key too.
    pub has_private_key: bool,
}

impl CertificateInfo {
    fn of(certificate: &PushCertificate, now: OffsetDateTime) -> Self {
        Self {
            topic: certificate.topic().to_owned(),
            subject: certificate.subject().to_owned(),
            issuer: certificate.issuer().to_owned(),
            serial: certificate.serial().to_owned(),
            not_before: certificate.not_before(),
            not_after: certificate.not_after(),
            days_remaining: certificate.days_remaining(now),
            status: certificate.status(now),
            has_private_key: certificate.private_key().is_some(),
        }
    }
}

/// What to install: Apple's certificate file, the Apple ID used and a note.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InstallInput {
    /// The certificate: PEM, DER, or PKCS#12 (with `password`).
    pub certificate: Vec<u8>,
    /// The PKCS#12 (or encrypted PEM key) password.
    pub password: Option<String>,
    /// The Apple ID used at Apple's Push Certificates Portal.
    pub apple_id: String,
    /// The administrator's note (the date obtained is recommended).
    pub note: Option<String>,
    /// The private key (PEM), when the CSR was not made here.
    pub key_pem: Option<Vec<u8>>,
}

impl InstallInput {
    /// A certificate file obtained with `apple_id`.
    pub fn new(certificate: Vec<u8>, apple_id: impl Into<String>) -> Self {
        Self {
            certificate,
            apple_id: apple_id.into(),
            ..Self::default()
        }
    }
}

/// The result of an install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InstallReport {
    /// The topic.
    pub topic: String,
    /// `installed` (first install) or `renewed`.
    pub action: InstallAction,
    /// The certificate's serial (hex).
    pub serial: String,
    /// Valid until (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days remaining.
    pub days_remaining: i64,
    /// Whether the previous certificate had expired, so the topic's devices had to be
    /// synchronised (pushed).
    pub synchronise_devices: bool,
    /// After renewing an expired certificate: the enrollments that were pushed so they
    /// synchronise (empty otherwise).
    pub synchronised: Vec<String>,
    /// Of those, the ones whose push was not delivered, with the reason.
    pub not_synchronised: Vec<(String, String)>,
}

/// One entry of a topic's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// `installed`, `renewed`, `edited` or `deleted`.
    pub action: String,
    /// The certificate's serial (hex).
    pub serial: Option<String>,
    /// Its expiry (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// The Apple ID at the time.
    pub apple_id: Option<String>,
    /// The note at the time.
    pub note: Option<String>,
    /// When (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<PushCertificateEvent> for HistoryEntry {
    fn from(event: PushCertificateEvent) -> Self {
        Self {
            action: event.action.as_str().to_owned(),
            serial: event.serial,
            not_after: event.not_after,
            apple_id: event.apple_id,
            note: event.note,
            at: event.at,
        }
    }
}

/// The vendor's signing files, for a vendor-signed request.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct VendorInput {
    /// The MDM vendor certificate (PEM or DER).
    pub certificate: Vec<u8>,
    /// Its private key (PEM).
    pub key: Vec<u8>,
    /// The key's password, when encrypted.
    pub key_password: Option<String>,
    /// Apple's WWDR intermediate (PEM or DER).
    pub wwdr_certificate: Vec<u8>,
    /// Apple's root (PEM or DER).
    pub apple_root_certificate: Vec<u8>,
}

impl std::fmt::Debug for VendorInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorInput").finish_non_exhaustive()
    }
}

/// Everything `push-cert status` shows: the registered certificates, the deleted topics with
/// what is kept of them, certificate requests still waiting for Apple's certificate, and
/// every expiring credential with its 60-day flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PushCertOverview {
    /// The registered certificates, ordered by topic.
    pub certificates: Vec<PushCertStatus>,
    /// Topics whose certificate was deleted.
    pub deleted: Vec<DeletedTopic>,
    /// Pending keys older than the lifecycle's limit (a request that was never completed).
    pub stale_pending_keys: Vec<PendingKeyInfo>,
    /// Every expiring credential (push certificates and the others given), soonest first.
    pub credentials: Vec<crate::DashboardEntry>,
}

/// A topic's Apple ID and note after an edit (of a registered or of a deleted topic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EditedTopic {
    /// The topic.
    pub topic: String,
    /// The Apple ID now.
    pub apple_id: Option<String>,
    /// The note now.
    pub note: Option<String>,
    /// Whether the topic's certificate was deleted (what is kept of it was edited).
    pub deleted: bool,
}

/// The subject of a certificate signing request.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RequestSubject {
    /// The administrator's e-mail address (emailAddress).
    pub email: String,
    /// The organisation (O).
    pub organization: Option<String>,
    /// The common name (CN).
    pub common_name: Option<String>,
}

impl RequestSubject {
    /// A subject with only the e-mail address.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            ..Self::default()
        }
    }
}

/// Push certificates of a deployment (`Mdm::push_certs`).
#[derive(Debug, Clone)]
pub struct PushCerts {
    mdm: Mdm,
}

impl PushCerts {
    pub(crate) fn new(mdm: Mdm) -> Self {
        Self { mdm }
    }

    fn lifecycle(&self) -> &PushCertLifecycle {
        self.mdm.lifecycle()
    }

    /// Reads a certificate file (PEM, DER, or PKCS#12 with its password) without storing
    /// anything.
    pub fn inspect(&self, file: &[u8], password: Option<&str>) -> Result<CertificateInfo> {
        inspect(file, password)
    }

    /// Step 1: a new key (kept, sealed, until Apple's certificate comes back) and its CSR,
    /// as PEM, to be signed by the MDM vendor.
    pub async fn create_request(&self, email: &str, common_name: Option<&str>) -> Result<String> {
        let request = self
            .lifecycle()
            .create_request(&subject(email, common_name))
            .await?;
        Ok(request.to_pem()?)
    }

    /// [`create_request`](Self::create_request) with every field of the subject.
    pub async fn create_request_for(&self, subject: &RequestSubject) -> Result<String> {
        let mut csr_subject = CsrSubject::new(subject.email.clone());
        if let Some(organization) = &subject.organization {
            csr_subject = csr_subject.organization(organization.clone());
        }
        if let Some(common_name) = &subject.common_name {
            csr_subject = csr_subject.common_name(common_name.clone());
        }
        let request = self.lifecycle().create_request(&csr_subject).await?;
        Ok(request.to_pem()?)
    }

    /// The registered and deleted certificates, stale requests and every expiring
    /// credential (with `others`: the vendor certificate, ADE tokens).
    pub async fn overview(&self, others: &crate::OtherCredentials) -> Result<PushCertOverview> {
        let now = OffsetDateTime::now_utc();
        let lifecycle = self.lifecycle();
        Ok(PushCertOverview {
            certificates: lifecycle.status(now).await?,
            deleted: lifecycle.deleted_topics().await?,
            stale_pending_keys: lifecycle
                .stale_pending_keys(mdmkit_apns::lifecycle::DEFAULT_PENDING_KEY_MAX_AGE, now)
                .await?,
            credentials: self.mdm.expiry().dashboard(others).await?,
        })
    }

    /// Changes the Apple ID and/or note of a topic: the registered certificate's, or what is
    /// kept of a deleted one's. `topic_not_found` when the topic never had a certificate.
    pub async fn edit_any(
        &self,
        topic: &str,
        apple_id: Option<String>,
        note: Option<String>,
    ) -> Result<EditedTopic> {
        let deleted = self
            .deleted()
            .await?
            .iter()
            .any(|deleted| deleted.topic == topic);
        if deleted {
            let kept = self.edit_deleted(topic, apple_id, note).await?;
            Ok(EditedTopic {
                topic: kept.topic,
                apple_id: kept.apple_id,
                note: kept.note,
                deleted: true,
            })
        } else {
            let status = self.edit(topic, apple_id, note).await?;
            Ok(EditedTopic {
                topic: status.topic,
                apple_id: status.apple_id,
                note: status.note,
                deleted: false,
            })
        }
    }

    /// Step 1 when the vendor is this deployment: key, CSR and vendor signature at once;
    /// returns the file to upload at Apple's Push Certificates Portal (base64 plist).
    pub async fn create_signed_request(
        &self,
        email: &str,
        common_name: Option<&str>,
        vendor: &VendorInput,
    ) -> Result<String> {
        let signer = VendorSigner::from_files(&VendorFiles {
            vendor_certificate: vendor.certificate.clone(),
            vendor_key: vendor.key.clone(),
            vendor_key_password: vendor.key_password.clone(),
            wwdr_certificate: vendor.wwdr_certificate.clone(),
            apple_root_certificate: vendor.apple_root_certificate.clone(),
        })?;
        let upload = self
            .lifecycle()
            .create_signed_request(&signer, &subject(email, common_name))
            .await?;
        Ok(upload.to_base64()?)
    }

    /// Step 3: installs Apple's certificate (first install or renewal of the same topic).
    /// After renewing an expired certificate, the devices of the topic are pushed so they
    /// synchronise; the report lists them.
    pub async fn install(&self, input: InstallInput) -> Result<InstallReport> {
        let now = OffsetDateTime::now_utc();
        let certificate = PushCertificate::parse(&input.certificate, input.password.as_deref())?;
        let mut request = InstallRequest::new(certificate, input.apple_id);
        if let Some(note) = input.note {
            request = request.note(note);
        }
        if let Some(key) = &input.key_pem {
            request = request.key(PrivateKey::from_pem(
                key,
                input.password.as_deref(),
                "push certificate key",
            )?);
        }
        let outcome = self.lifecycle().install(request, now).await?;
        self.mdm.reload_pusher().await?;
        let mut report = InstallReport {
            topic: outcome.topic.clone(),
            action: outcome.action,
            serial: outcome.certificate.serial().to_owned(),
            not_after: outcome.certificate.not_after(),
            days_remaining: outcome.certificate.days_remaining(now),
            synchronise_devices: outcome.follow_up.is_some(),
            synchronised: Vec::new(),
            not_synchronised: Vec::new(),
        };
        if let Some(mdmkit_apns::FollowUp::SynchroniseDevices { targets, .. }) = outcome.follow_up {
            let pusher = self.mdm.pusher();
            for target in &targets {
                let result = pusher.push(target).await;
                let id = target.enrollment_id.to_string();
                if result.is_delivered() {
                    report.synchronised.push(id);
                } else {
                    report.not_synchronised.push((id, describe(&result)));
                }
            }
        }
        Ok(report)
    }

    /// Every registered certificate with its expiry, days remaining and status (the
    /// dashboard), ordered by topic.
    pub async fn status(&self) -> Result<Vec<PushCertStatus>> {
        Ok(self.lifecycle().status(OffsetDateTime::now_utc()).await?)
    }

    /// The registered topic, when exactly one certificate is installed.
    pub async fn topic(&self) -> Result<String> {
        let status = self.status().await?;
        match status.as_slice() {
            [one] => Ok(one.topic.clone()),
            [] => Err(Error::SettingMissing {
                name: "push certificate".into(),
                hint: "install one with `mdmkit push-cert install`".into(),
            }),
            _ => Err(Error::input(format!(
                "{} push certificates are installed: name the topic",
                status.len()
            ))),
        }
    }

    /// Changes the Apple ID and/or the note of a registered certificate.
    pub async fn edit(
        &self,
        topic: &str,
        apple_id: Option<String>,
        note: Option<String>,
    ) -> Result<PushCertStatus> {
        let status = self.lifecycle().edit(topic, apple_id, note).await?;
        self.mdm.reload_pusher().await?;
        Ok(status)
    }

    /// Deletes a topic's certificate and key: devices of the topic cannot be managed until a
    /// certificate is installed again. The note is kept; it is returned.
    pub async fn delete(&self, topic: &str) -> Result<Option<String>> {
        let note = self.lifecycle().delete(topic).await?;
        self.mdm.reload_pusher().await?;
        Ok(note)
    }

    /// Topics whose certificate was deleted, with the Apple ID and note kept for them.
    pub async fn deleted(&self) -> Result<Vec<DeletedTopic>> {
        Ok(self.lifecycle().deleted_topics().await?)
    }

    /// Changes the Apple ID and/or the note kept for a deleted topic (shown until a
    /// certificate is installed again); `topic_not_found` when the topic was not deleted.
    pub async fn edit_deleted(
        &self,
        topic: &str,
        apple_id: Option<String>,
        note: Option<String>,
    ) -> Result<DeletedTopic> {
        Ok(self.lifecycle().edit_deleted(topic, apple_id, note).await?)
    }

    /// A topic's history, oldest first.
    pub async fn history(&self, topic: &str) -> Result<Vec<HistoryEntry>> {
        Ok(self
            .lifecycle()
            .history(topic)
            .await?
            .into_iter()
            .map(HistoryEntry::from)
            .collect())
    }

    /// Enrollments whose topic differs from every registered certificate's (they must
    /// reinstall their enrollment profile).
    pub async fn mismatched_enrollments(&self) -> Result<Vec<TopicMismatchEntry>> {
        Ok(self.lifecycle().mismatched_enrollments().await?)
    }
}

/// Signs a customer's certificate signing request (PEM or DER) as the MDM vendor: the file
/// to upload at Apple's Push Certificates Portal (base64 plist). Needs no deployment.
pub fn vendor_sign(csr: &[u8], vendor: &VendorInput) -> Result<String> {
    let request = mdmkit_apns::CertificateRequest::parse(csr)?;
    let signer = VendorSigner::from_files(&VendorFiles {
        vendor_certificate: vendor.certificate.clone(),
        vendor_key: vendor.key.clone(),
        vendor_key_password: vendor.key_password.clone(),
        wwdr_certificate: vendor.wwdr_certificate.clone(),
        apple_root_certificate: vendor.apple_root_certificate.clone(),
    })?;
    Ok(signer.sign(&request)?.to_base64()?)
}

/// Reads a certificate file without a deployment (see [`PushCerts::inspect`]).
pub fn inspect(file: &[u8], password: Option<&str>) -> Result<CertificateInfo> {
    let certificate = PushCertificate::parse(file, password)?;
    Ok(CertificateInfo::of(&certificate, OffsetDateTime::now_utc()))
}

fn subject(email: &str, common_name: Option<&str>) -> CsrSubject {
    let subject = CsrSubject::new(email);
    match common_name {
        Some(name) => subject.common_name(name),
        None => subject,
    }
}

/// A push outcome in words, for reports.
pub fn describe(outcome: &mdmkit_core::push::PushOutcome) -> String {
    use mdmkit_core::push::PushOutcome;
    match outcome {
        PushOutcome::Delivered { .. } => "pushed".into(),
        PushOutcome::Rejected {
            status: 0, reason, ..
        } => reason.clone(),
        PushOutcome::Rejected { status, reason, .. } => format!("{reason} ({status})"),
        PushOutcome::Failed { attempts, error } => {
            format!("failed after {attempts} attempt(s): {error}")
        }
        other => format!("{other:?}"),
    }
}
