//! The push certificate lifecycle over core's store: request, install, renew, edit, delete,
//! history, status, topic checks and expiry notices.
//!
//! This is Apple's renewal manual turned into calls:
//!
//! 1. [`create_request`](PushCertLifecycle::create_request) makes the customer's key (kept
//!    encrypted in the store as a pending key) and CSR; the MDM vendor signs the CSR
//!    ([`VendorSigner`]), or [`create_signed_request`](PushCertLifecycle::create_signed_request)
//!    does both when the vendor is the customer.
//! 2. The administrator uploads the signed request at Apple's Push Certificates Portal.
//! 3. [`install`](PushCertLifecycle::install) takes Apple's certificate with the Apple ID and
//!    a note: a first install, or a renewal of the same topic.

use mdmkit_core::notify::Notifier;
use mdmkit_core::store::{
    EnrollmentQuery, PendingCsrKey, PushCertificateAction, PushCertificateEvent,
    PushCertificateRecord, PushTarget, SharedStore,
};
use mdmkit_core::{EnrollmentId, Secret};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use tokio::sync::broadcast;

use crate::csr::{CertificateRequest, CsrSubject};
use crate::error::{Error, Result};
use crate::expiry::{days_remaining, ExpiryStatus, DEFAULT_WARNING_DAYS};
use crate::key::PrivateKey;
use crate::monitor::{Credential, ExpiryMonitor, SentNotice};
use crate::push_cert::PushCertificate;
use crate::vendor::{PushCertUpload, VendorSigner};

pub use crate::monitor::NOTICE_AUDIT_ACTION;

/// How old a pending key may get before [`stale_pending_keys`](PushCertLifecycle::stale_pending_keys)
/// reports it, unless configured otherwise.
pub const DEFAULT_PENDING_KEY_MAX_AGE: Duration = Duration::days(7);

const PAGE: u32 = 500;

/// What to install: Apple's certificate, the Apple ID that obtained it and a note.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    certificate: PushCertificate,
    apple_id: String,
    note: Option<String>,
    key: Option<PrivateKey>,
    renewing: Option<String>,
}

impl InstallRequest {
    /// A certificate obtained with the given Apple ID.
    pub fn new(certificate: PushCertificate, apple_id: impl Into<String>) -> Self {
        Self {
            certificate,
            apple_id: apple_id.into(),
            note: None,
            key: None,
            renewing: None,
        }
    }

    /// The administrator's note (the date obtained is recommended). Without one, the note
    /// kept from the topic's previous certificate (even a deleted one) stays.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The certificate's private key, when it was not made here (no pending key). A key found
    /// in the certificate file (PKCS#12, PEM with key) is used too.
    pub fn key(mut self, key: PrivateKey) -> Self {
        self.key = Some(key);
        self
    }

    /// With [`multiple topics`](PushCertLifecycle::multiple_topics): the topic the tenant has
    /// registered now; the certificate must have that topic.
    pub fn renewing(mut self, topic: impl Into<String>) -> Self {
        self.renewing = Some(topic.into());
        self
    }
}

/// Whether an install was a first install or a renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InstallAction {
    /// The topic had no certificate.
    Installed,
    /// The topic's certificate was replaced; the old one is in the history.
    Renewed,
}

/// What the administrator (or the engine) must do after an install.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FollowUp {
    /// The renewed certificate had already expired: devices did not hear from the server
    /// meanwhile and must be synchronised, with a push to each of these enrollments.
    SynchroniseDevices {
        /// The topic.
        topic: String,
        /// The enrollments to push to.
        targets: Vec<PushTarget>,
    },
}

/// The result of an install.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InstallOutcome {
    /// The topic.
    pub topic: String,
    /// Installed or renewed.
    pub action: InstallAction,
    /// The certificate now registered.
    pub certificate: PushCertificate,
    /// What must happen next, if anything.
    pub follow_up: Option<FollowUp>,
}

/// A change to a topic's certificate, announced to subscribers (an APNs client reloads its
/// TLS identity on it: no restart needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushCertChange {
    /// The topic.
    pub topic: String,
    /// Installed, renewed, edited or deleted.
    pub action: PushCertificateAction,
}

/// A registered certificate as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushCertStatus {
    /// The topic.
    pub topic: String,
    /// Serial number (hex).
    pub serial: String,
    /// Valid until.
    #[serde(serialize_with = "crate::expiry::serialize_rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// Valid, expiring soon or expired.
    pub status: ExpiryStatus,
    /// The Apple ID used at Apple's portal.
    pub apple_id: Option<String>,
    /// The administrator's note.
    pub note: Option<String>,
}

/// A topic whose certificate was deleted, with what is kept of it: its Apple ID and note
/// stay, to be shown and edited until a certificate is installed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletedTopic {
    /// The topic.
    pub topic: String,
    /// When its certificate was deleted.
    #[serde(serialize_with = "crate::expiry::serialize_rfc3339")]
    pub deleted_at: OffsetDateTime,
    /// The serial number of the deleted certificate (hex), when known.
    pub serial: Option<String>,
    /// The Apple ID kept.
    pub apple_id: Option<String>,
    /// The note kept.
    pub note: Option<String>,
}

/// A pending key, as [`stale_pending_keys`](PushCertLifecycle::stale_pending_keys) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingKeyInfo {
    /// Its id (hex SHA-256 of the public key).
    pub id: String,
    /// When it was generated.
    #[serde(serialize_with = "crate::expiry::serialize_rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its age in whole days.
    pub age_days: i64,
}

/// An enrollment that cannot be managed under the registered topics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicMismatchEntry {
    /// The enrollment.
    pub enrollment: String,
    /// The topic it enrolled with; `None` when unknown (very old enrollments).
    pub enrolled_topic: Option<String>,
}

/// The push certificate lifecycle over a store.
#[derive(Clone)]
pub struct PushCertLifecycle {
    store: SharedStore,
    multiple_topics: bool,
    warning_days: u32,
    changes: broadcast::Sender<PushCertChange>,
}

impl std::fmt::Debug for PushCertLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushCertLifecycle")
            .field("multiple_topics", &self.multiple_topics)
            .field("warning_days", &self.warning_days)
            .finish_non_exhaustive()
    }
}

impl PushCertLifecycle {
    /// A lifecycle over `store`, for one topic (one customer): a certificate with another
    /// topic than the registered one is refused.
    pub fn new(store: SharedStore) -> Self {
        let (changes, _) = broadcast::channel(64);
        Self {
            store,
            multiple_topics: false,
            warning_days: DEFAULT_WARNING_DAYS,
            changes,
        }
    }

    /// Allows several topics at once (one per tenant). Each install then names the topic the
    /// tenant has registered with [`InstallRequest::renewing`], or none for a new tenant.
    pub fn multiple_topics(mut self, enabled: bool) -> Self {
        self.multiple_topics = enabled;
        self
    }

    /// Sets how many days before expiry a certificate counts as expiring soon.
    pub fn warning_days(mut self, days: u32) -> Self {
        self.warning_days = days;
        self
    }

    /// Subscribes to certificate changes (install, renewal, edit, deletion).
    pub fn subscribe(&self) -> broadcast::Receiver<PushCertChange> {
        self.changes.subscribe()
    }

    fn announce(&self, topic: &str, action: PushCertificateAction) {
        // Nobody listening is fine: the change is in the store.
        let _ = self.changes.send(PushCertChange {
            topic: topic.to_owned(),
            action,
        });
    }

    /// Step 1: generates the customer's key and CSR, and stores the key as pending (encrypted
    /// at rest by the store) until Apple's certificate is installed.
    pub async fn create_request(&self, subject: &CsrSubject) -> Result<CertificateRequest> {
        let (key, request) = CertificateRequest::generate(subject)?;
        self.store_pending_key(&key).await?;
        Ok(request)
    }

    /// Step 1 when the MDM vendor is also the customer: key, CSR and vendor signature in one
    /// call; the key is stored as pending. Returns the file to upload to Apple.
    pub async fn create_signed_request(
        &self,
        signer: &VendorSigner,
        subject: &CsrSubject,
    ) -> Result<PushCertUpload> {
        let (key, _request, upload) = signer.create_signed_request(subject)?;
        self.store_pending_key(&key).await?;
        Ok(upload)
    }

    async fn store_pending_key(&self, key: &PrivateKey) -> Result<()> {
        let id = key_id(&key.public_key_der()?);
        let pending = PendingCsrKey::new(id, Secret::new(key.to_pem()?));
        self.store.put_pending_csr_key(&pending).await?;
        Ok(())
    }

    /// Pending keys older than `max_age` at `now`: Apple's certificate must be uploaded
    /// promptly, while its key is still here.
    pub async fn stale_pending_keys(
        &self,
        max_age: Duration,
        now: OffsetDateTime,
    ) -> Result<Vec<PendingKeyInfo>> {
        let keys = self.store.list_pending_csr_keys().await?;
        Ok(keys
            .into_iter()
            .filter(|key| now - key.created_at > max_age)
            .map(|key| PendingKeyInfo {
                age_days: (now - key.created_at).whole_days(),
                id: key.id,
                created_at: key.created_at,
            })
            .collect())
    }

    /// Step 3: installs Apple's certificate (a first install or a renewal of the same topic).
    ///
    /// Refused when the certificate has expired at `now`, when its public key matches neither
    /// a pending key nor the key supplied, and when another topic is registered (delete it
    /// first; every device enrolled under it must then reinstall its enrollment profile).
    pub async fn install(
        &self,
        request: InstallRequest,
        now: OffsetDateTime,
    ) -> Result<InstallOutcome> {
        let InstallRequest {
            certificate,
            apple_id,
            note,
            key,
            renewing,
        } = request;
        let topic = certificate.topic().to_owned();
        if certificate.is_expired(now) {
            return Err(Error::Expired {
                topic,
                not_after: crate::expiry::rfc3339(certificate.not_after()),
            });
        }
        if apple_id.trim().is_empty() {
            return Err(Error::InvalidInput {
                field: "Apple ID".into(),
                detail: "give the Apple ID used at Apple's Push Certificates Portal".into(),
            });
        }

        // The topic rule comes before the key: a wrong topic is the more useful message.
        let registered = if self.multiple_topics {
            renewing
        } else {
            self.store
                .list_push_certificates()
                .await?
                .into_iter()
                .map(|record| record.topic)
                .find(|registered| *registered != topic)
        };
        if let Some(registered) = registered {
            if registered != topic {
                return Err(Error::TopicMismatch {
                    registered,
                    offered: topic,
                });
            }
        }

        let (key, pending_id) = self.matching_key(&certificate, key).await?;
        let previous = self.store.get_push_certificate(&topic).await?;
        let kept_note = match (&note, &previous) {
            (Some(_), _) => None,
            (None, Some(previous)) => previous.note.clone(),
            (None, None) => self
                .store
                .push_certificate_history(&topic)
                .await?
                .into_iter()
                .rev()
                .find_map(|event| event.note),
        };
        let note = note.or(kept_note);

        let mut record = PushCertificateRecord::new(
            topic.clone(),
            certificate.der().to_vec(),
            Secret::new(key.to_pem()?),
            certificate.not_after(),
        );
        record.apple_id = Some(apple_id.clone());
        record.note = note.clone();
        if let Some(previous) = &previous {
            record.created_at = previous.created_at;
        }
        self.store.put_push_certificate(&record).await?;

        let action = if previous.is_some() {
            PushCertificateAction::Renewed
        } else {
            PushCertificateAction::Installed
        };
        let mut event = PushCertificateEvent::new(topic.clone(), action);
        event.serial = Some(certificate.serial().to_owned());
        event.not_after = Some(certificate.not_after());
        event.apple_id = Some(apple_id);
        event.note = note;
        self.store.append_push_certificate_event(&event).await?;
        if let Some(id) = pending_id {
            self.store.delete_pending_csr_key(&id).await?;
        }

        let expired_before = previous.as_ref().is_some_and(|p| now >= p.not_after);
        let follow_up = if expired_before {
            Some(FollowUp::SynchroniseDevices {
                topic: topic.clone(),
                targets: self.store.push_targets_for_topic(&topic).await?,
            })
        } else {
            None
        };
        self.announce(&topic, action);
        Ok(InstallOutcome {
            topic,
            action: if previous.is_some() {
                InstallAction::Renewed
            } else {
                InstallAction::Installed
            },
            certificate: certificate.with_private_key(key),
            follow_up,
        })
    }

    /// The private key for `certificate`: the one supplied (or found in its file), else the
    /// pending key with the same public key. Also returns the id a pending key for this
    /// certificate has (whether or not it was used), to delete it once installed.
    async fn matching_key(
        &self,
        certificate: &PushCertificate,
        supplied: Option<PrivateKey>,
    ) -> Result<(PrivateKey, Option<String>)> {
        let public = openssl::x509::X509::from_der(certificate.der())
            .and_then(|c| c.public_key())
            .and_then(|k| k.public_key_to_der())
            .map_err(Error::crypto)?;
        let id = key_id(&public);
        let pending = self.store.get_pending_csr_key(&id).await?;
        let pending_id = pending.as_ref().map(|p| p.id.clone());
        let supplied = supplied.or_else(|| certificate.private_key().cloned());
        if let Some(key) = supplied {
            if certificate.matches_key(&key)? {
                return Ok((key, pending_id));
            }
            return Err(Error::KeyMismatch {
                detail: ", nor the private key supplied with it".into(),
            });
        }
        let Some(pending) = pending else {
            return Err(Error::KeyMismatch {
                detail: String::new(),
            });
        };
        let key = PrivateKey::from_pem(pending.private_key.expose(), None, "pending key")?;
        if !certificate.matches_key(&key)? {
            return Err(Error::KeyMismatch {
                detail: String::new(),
            });
        }
        Ok((key, pending_id))
    }

    /// Changes the Apple ID and/or the note of a registered certificate.
    pub async fn edit(
        &self,
        topic: &str,
        apple_id: Option<String>,
        note: Option<String>,
    ) -> Result<PushCertStatus> {
        let mut record = self.registered(topic).await?;
        if let Some(apple_id) = apple_id {
            record.apple_id = Some(apple_id);
        }
        if let Some(note) = note {
            record.note = Some(note);
        }
        record.updated_at = mdmkit_core::store::now_micros();
        self.store.put_push_certificate(&record).await?;
        let mut event = PushCertificateEvent::new(topic, PushCertificateAction::Edited);
        event.serial = Some(serial_of(&record)?);
        event.not_after = Some(record.not_after);
        event.apple_id = record.apple_id.clone();
        event.note = record.note.clone();
        self.store.append_push_certificate_event(&event).await?;
        self.announce(topic, PushCertificateAction::Edited);
        self.status_of(&record, OffsetDateTime::now_utc())
    }

    /// Deletes a topic's certificate and key: management through that topic stops until a
    /// certificate is installed again. The note is kept (in the history, and for the next
    /// install of the topic); it is returned.
    pub async fn delete(&self, topic: &str) -> Result<Option<String>> {
        let record = self.registered(topic).await?;
        self.store.delete_push_certificate(topic).await?;
        let mut event = PushCertificateEvent::new(topic, PushCertificateAction::Deleted);
        event.serial = Some(serial_of(&record)?);
        event.not_after = Some(record.not_after);
        event.apple_id = record.apple_id.clone();
        event.note = record.note.clone();
        self.store.append_push_certificate_event(&event).await?;
        self.announce(topic, PushCertificateAction::Deleted);
        Ok(record.note)
    }

    /// The topics whose certificate was deleted and not installed again, ordered by topic,
    /// with the Apple ID and note kept for them (the dashboard keeps showing them).
    pub async fn deleted_topics(&self) -> Result<Vec<DeletedTopic>> {
        let mut deleted = Vec::new();
        for last in self.store.latest_push_certificate_events().await? {
            // A deletion may be followed by edits of what is kept: ask the store whether
            // the topic has a certificate rather than trusting the last action.
            if last.action != PushCertificateAction::Deleted
                && self
                    .store
                    .get_push_certificate(&last.topic)
                    .await?
                    .is_some()
            {
                continue;
            }
            let history = self.store.push_certificate_history(&last.topic).await?;
            let Some(deletion) = history
                .iter()
                .rev()
                .find(|event| event.action == PushCertificateAction::Deleted)
            else {
                continue;
            };
            deleted.push(DeletedTopic {
                topic: last.topic.clone(),
                deleted_at: deletion.at,
                serial: deletion.serial.clone(),
                apple_id: last.apple_id,
                note: last.note,
            });
        }
        Ok(deleted)
    }

    /// Changes the Apple ID and/or the note kept for a deleted topic (see
    /// [`deleted_topics`](Self::deleted_topics)); the next install of the topic keeps the
    /// note unless it gives one. Refused with [`Error::TopicNotFound`] for a topic that
    /// never had a certificate; a registered topic is edited with [`edit`](Self::edit).
    pub async fn edit_deleted(
        &self,
        topic: &str,
        apple_id: Option<String>,
        note: Option<String>,
    ) -> Result<DeletedTopic> {
        let Some(mut kept) = self
            .deleted_topics()
            .await?
            .into_iter()
            .find(|deleted| deleted.topic == topic)
        else {
            return Err(Error::TopicNotFound {
                topic: topic.to_owned(),
            });
        };
        if let Some(apple_id) = apple_id {
            kept.apple_id = Some(apple_id);
        }
        if let Some(note) = note {
            kept.note = Some(note);
        }
        let mut event = PushCertificateEvent::new(topic, PushCertificateAction::Edited);
        event.apple_id = kept.apple_id.clone();
        event.note = kept.note.clone();
        self.store.append_push_certificate_event(&event).await?;
        self.announce(topic, PushCertificateAction::Edited);
        Ok(kept)
    }

    /// A topic's history (installs, renewals, edits, deletions), oldest first.
    pub async fn history(&self, topic: &str) -> Result<Vec<PushCertificateEvent>> {
        Ok(self.store.push_certificate_history(topic).await?)
    }

    /// The note kept for a topic: the registered certificate's, else the last one in its
    /// history (after a deletion).
    pub async fn kept_note(&self, topic: &str) -> Result<Option<String>> {
        if let Some(record) = self.store.get_push_certificate(topic).await? {
            return Ok(record.note);
        }
        Ok(self
            .history(topic)
            .await?
            .into_iter()
            .rev()
            .find_map(|event| event.note))
    }

    /// Every registered certificate as the dashboard shows it at `now`, ordered by topic.
    pub async fn status(&self, now: OffsetDateTime) -> Result<Vec<PushCertStatus>> {
        self.store
            .list_push_certificates()
            .await?
            .iter()
            .map(|record| self.status_of(record, now))
            .collect()
    }

    fn status_of(
        &self,
        record: &PushCertificateRecord,
        now: OffsetDateTime,
    ) -> Result<PushCertStatus> {
        Ok(PushCertStatus {
            topic: record.topic.clone(),
            serial: serial_of(record)?,
            not_after: record.not_after,
            days_remaining: days_remaining(record.not_after, now),
            status: ExpiryStatus::at(record.not_after, now, self.warning_days),
            apple_id: record.apple_id.clone(),
            note: record.note.clone(),
        })
    }

    /// The registered certificate of a topic with its private key: what an APNs client
    /// connects with. Read it again after a [`PushCertChange`] to use a renewed certificate.
    pub async fn identity(&self, topic: &str) -> Result<PushCertificate> {
        let record = self.registered(topic).await?;
        let key = PrivateKey::from_pem(record.private_key.expose(), None, "push certificate key")?;
        Ok(PushCertificate::from_der(&record.certificate_der)?.with_private_key(key))
    }

    async fn registered(&self, topic: &str) -> Result<PushCertificateRecord> {
        self.store
            .get_push_certificate(topic)
            .await?
            .ok_or_else(|| Error::TopicNotFound {
                topic: topic.to_owned(),
            })
    }

    /// Enrollments that cannot be managed: their enrolled topic is none of the registered
    /// topics, or is unknown. Ordered by enrollment identifier.
    pub async fn mismatched_enrollments(&self) -> Result<Vec<TopicMismatchEntry>> {
        let topics: Vec<String> = self
            .store
            .list_push_certificates()
            .await?
            .into_iter()
            .map(|record| record.topic)
            .collect();
        let mut mismatched = Vec::new();
        let mut after: Option<EnrollmentId> = None;
        loop {
            let mut query = EnrollmentQuery::all();
            query.after = after.clone();
            query.limit = Some(PAGE);
            let page = self.store.list_enrollments(&query).await?;
            let full = page.len() == PAGE as usize;
            for record in page {
                after = Some(record.id.clone());
                let known = record
                    .enrolled_topic
                    .as_ref()
                    .is_some_and(|topic| topics.contains(topic));
                if !known {
                    mismatched.push(TopicMismatchEntry {
                        enrollment: record.id.to_string(),
                        enrolled_topic: record.enrolled_topic,
                    });
                }
            }
            if !full {
                return Ok(mismatched);
            }
        }
    }

    /// The registered push certificates as credentials for the [`ExpiryMonitor`].
    pub async fn credentials(&self) -> Result<Vec<Credential>> {
        crate::monitor::push_certificate_credentials(self.store.as_ref()).await
    }

    /// Sends the expiry notices due at `now` for the registered push certificates and for
    /// `others` (ADE/DEP server tokens, the vendor certificate), at most once per the
    /// monitor's interval per credential, even with several servers on the store: each is
    /// claimed in the store before it is sent (see
    /// [`monitor::send_due_notices`](crate::monitor::send_due_notices), which does the same
    /// from [`NoticeSettings`](crate::monitor::NoticeSettings)). Each notice sent is recorded
    /// in the store's audit log (action [`NOTICE_AUDIT_ACTION`], target the notice key).
    pub async fn send_due_notices(
        &self,
        monitor: &ExpiryMonitor,
        notifier: &dyn Notifier,
        others: &[Credential],
        now: OffsetDateTime,
    ) -> Result<Vec<SentNotice>> {
        let mut credentials = self.credentials().await?;
        credentials.extend_from_slice(others);
        crate::monitor::send_claimed(self.store.as_ref(), monitor, notifier, &credentials, now)
            .await
    }
}

/// The id of a pending key: the hex SHA-256 of its DER SubjectPublicKeyInfo, so that the
/// certificate Apple returns finds its key.
pub fn key_id(public_key_der: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(public_key_der))
}

fn serial_of(record: &PushCertificateRecord) -> Result<String> {
    Ok(
        crate::push_cert::CertificateFields::read(&record.certificate_der, "stored certificate")?
            .serial,
    )
}
