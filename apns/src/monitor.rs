//! The expiry monitor: every credential that expires (push certificates, ADE/DEP server
//! tokens, the MDM vendor certificate), its days remaining and status, and the e-mail notice
//! sent from 60 days before expiry, at most once per interval per credential.

use std::collections::HashMap;

use mdmkit_core::notify::{EmailMessage, Notifier};
use mdmkit_core::store::{AuditEvent, Store};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::expiry::{days_remaining, rfc3339, ExpiryStatus, DEFAULT_WARNING_DAYS};

/// How often a notice is repeated for the same credential, unless configured otherwise.
pub const DEFAULT_NOTIFY_INTERVAL: Duration = Duration::days(7);

/// What kind of credential expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CredentialKind {
    /// An Apple MDM push certificate (named by its topic).
    PushCertificate,
    /// An ADE/DEP server token from Apple Business/School Manager.
    DepServerToken,
    /// The MDM vendor certificate used to sign customers' push certificate requests.
    VendorCertificate,
}

impl CredentialKind {
    /// The stable name used in JSON and in notification keys.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::PushCertificate => "push_certificate",
            CredentialKind::DepServerToken => "dep_server_token",
            CredentialKind::VendorCertificate => "vendor_certificate",
        }
    }
}

/// One credential with an end of validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Its kind.
    pub kind: CredentialKind,
    /// Its name: the topic of a push certificate, the name of a server token, the subject of
    /// the vendor certificate.
    pub name: String,
    /// When it expires.
    pub not_after: OffsetDateTime,
    /// The Apple ID to renew it with, when known.
    pub apple_id: Option<String>,
}

impl Credential {
    /// A credential of the given kind.
    pub fn new(kind: CredentialKind, name: impl Into<String>, not_after: OffsetDateTime) -> Self {
        Self {
            kind,
            name: name.into(),
            not_after,
            apple_id: None,
        }
    }

    /// The MDM vendor certificate (DER or PEM) as a credential named by its subject.
    pub fn vendor_certificate(certificate: &[u8]) -> Result<Self> {
        let der = crate::push_cert::read_certificate(certificate, "vendor certificate")?
            .to_der()
            .map_err(crate::Error::crypto)?;
        let fields = crate::push_cert::CertificateFields::read(&der, "vendor certificate")?;
        Ok(Self::new(
            CredentialKind::VendorCertificate,
            fields.subject,
            fields.not_after,
        ))
    }

    /// Sets the Apple ID to renew it with.
    pub fn with_apple_id(mut self, apple_id: impl Into<String>) -> Self {
        self.apple_id = Some(apple_id.into());
        self
    }

    /// The key under which notices for this credential are remembered:
    /// `kind:name`, for example `push_certificate:com.apple.mgmt.External.…`.
    pub fn notice_key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.name)
    }
}

/// A credential's state at a given time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialReport {
    /// Its kind.
    pub kind: CredentialKind,
    /// Its name.
    pub name: String,
    /// When it expires.
    #[serde(serialize_with = "crate::expiry::serialize_rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// Valid, expiring soon or expired.
    pub status: ExpiryStatus,
    /// The Apple ID to renew it with, when known.
    pub apple_id: Option<String>,
}

/// A notice that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNotice {
    /// The credential's [`notice key`](Credential::notice_key).
    pub key: String,
    /// The message sent.
    pub message: EmailMessage,
}

/// Lists expiring credentials and sends the notices that are due.
#[derive(Debug, Clone)]
pub struct ExpiryMonitor {
    warning_days: u32,
    notify_interval: Duration,
    recipients: Vec<String>,
    company: Option<String>,
    admin_url: Option<String>,
}

impl Default for ExpiryMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl ExpiryMonitor {
    /// A monitor warning 60 days before expiry and repeating a notice weekly, with no
    /// recipients yet.
    pub fn new() -> Self {
        Self {
            warning_days: DEFAULT_WARNING_DAYS,
            notify_interval: DEFAULT_NOTIFY_INTERVAL,
            recipients: Vec::new(),
            company: None,
            admin_url: None,
        }
    }

    /// Sets how many days before expiry a credential counts as expiring soon (and notices
    /// start).
    pub fn warning_days(mut self, days: u32) -> Self {
        self.warning_days = days;
        self
    }

    /// Sets the shortest time between two notices for the same credential.
    pub fn notify_interval(mut self, interval: Duration) -> Self {
        self.notify_interval = interval;
        self
    }

    /// Adds a recipient of the notices.
    pub fn recipient(mut self, address: impl Into<String>) -> Self {
        self.recipients.push(address.into());
        self
    }

    /// Sets the company name written in the notices.
    pub fn company(mut self, company: impl Into<String>) -> Self {
        self.company = Some(company.into());
        self
    }

    /// Sets the link to the administration site written in the notices.
    pub fn admin_url(mut self, url: impl Into<String>) -> Self {
        self.admin_url = Some(url.into());
        self
    }

    /// The warning threshold in days.
    pub fn warning_threshold(&self) -> u32 {
        self.warning_days
    }

    /// The shortest time between two notices for the same credential.
    pub fn interval(&self) -> Duration {
        self.notify_interval
    }

    /// Every credential's state at `now`, soonest expiry first.
    pub fn report(&self, credentials: &[Credential], now: OffsetDateTime) -> Vec<CredentialReport> {
        let mut reports: Vec<CredentialReport> = credentials
            .iter()
            .map(|credential| CredentialReport {
                kind: credential.kind,
                name: credential.name.clone(),
                not_after: credential.not_after,
                days_remaining: days_remaining(credential.not_after, now),
                status: ExpiryStatus::at(credential.not_after, now, self.warning_days),
                apple_id: credential.apple_id.clone(),
            })
            .collect();
        reports.sort_by(|a, b| a.not_after.cmp(&b.not_after).then(a.name.cmp(&b.name)));
        reports
    }

    /// Whether a notice for `credential` is due at `now`, given when the last one was sent:
    /// it is expiring soon or expired, and no notice went out within the interval.
    pub fn is_due(
        &self,
        credential: &Credential,
        last_sent: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> bool {
        let urgent = ExpiryStatus::at(credential.not_after, now, self.warning_days).is_urgent();
        let quiet = last_sent.is_some_and(|sent| now - sent < self.notify_interval);
        urgent && !quiet
    }

    /// The notice for one credential.
    pub fn notice(&self, credential: &Credential, now: OffsetDateTime) -> EmailMessage {
        let date = rfc3339(credential.not_after);
        let expired = now >= credential.not_after;
        let verb = if expired { "expired" } else { "expires" };
        let renew_with = match &credential.apple_id {
            Some(apple_id) => format!("the Apple ID {apple_id}"),
            None => "the Apple ID that created it".to_owned(),
        };
        let sentence = match credential.kind {
            CredentialKind::PushCertificate => format!(
                "The Apple Push certificate for topic {} {verb} on {date}; renew it with {renew_with} \
                 at Apple's Push Certificates Portal (use Renew, not Create, to keep the topic).",
                credential.name
            ),
            CredentialKind::DepServerToken => format!(
                "The ADE/DEP server token {} {verb} on {date}; renew it in Apple Business \
                 Manager or Apple School Manager with {renew_with}.",
                credential.name
            ),
            CredentialKind::VendorCertificate => format!(
                "The MDM vendor certificate {} {verb} on {date}; renew it at Apple's developer \
                 site with {renew_with}.",
                credential.name
            ),
        };
        let what = match credential.kind {
            CredentialKind::PushCertificate => "Apple Push certificate",
            CredentialKind::DepServerToken => "ADE/DEP server token",
            CredentialKind::VendorCertificate => "MDM vendor certificate",
        };
        let prefix = self
            .company
            .as_ref()
            .map(|c| format!("[{c}] "))
            .unwrap_or_default();
        let subject = format!("{prefix}{what} {verb} on {}", credential.not_after.date());
        let mut body = String::new();
        if let Some(company) = &self.company {
            body.push_str(&format!("Company: {company}\n"));
        }
        body.push_str(&format!(
            "Time: {}\n\n",
            rfc3339(now.replace_nanosecond(0).unwrap_or(now))
        ));
        body.push_str(&sentence);
        body.push('\n');
        if !expired {
            body.push_str(&format!(
                "{} days remain.\n",
                days_remaining(credential.not_after, now)
            ));
        }
        if let Some(url) = &self.admin_url {
            body.push_str(&format!("\nAdministration site: {url}\n"));
        }
        EmailMessage::new(self.recipients.clone(), subject, body)
    }

    /// Sends every notice due at `now` through `notifier`, given the time each credential's
    /// last notice was sent (by [`notice key`](Credential::notice_key)). Returns the notices
    /// sent, for the caller to remember. A failure stops at the first credential that could not
    /// be notified; the notices sent before it are lost to the caller, so callers record as
    /// they go (see `PushCertLifecycle::send_due_notices`).
    pub async fn send_due(
        &self,
        notifier: &dyn Notifier,
        credentials: &[Credential],
        last_sent: &HashMap<String, OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Vec<SentNotice>> {
        let mut sent = Vec::new();
        for credential in self.due(credentials, last_sent, now) {
            let message = self.notice(credential, now);
            notifier.send(message.clone()).await?;
            sent.push(SentNotice {
                key: credential.notice_key(),
                message,
            });
        }
        Ok(sent)
    }

    /// The credentials whose notice is due at `now`.
    pub fn due<'a>(
        &self,
        credentials: &'a [Credential],
        last_sent: &HashMap<String, OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Vec<&'a Credential> {
        credentials
            .iter()
            .filter(|c| self.is_due(c, last_sent.get(&c.notice_key()).copied(), now))
            .collect()
    }
}

/// The audit-log action recorded when an expiry notice is sent (its target is the
/// credential's notice key).
pub const NOTICE_AUDIT_ACTION: &str = "expiry_notice.sent";

/// What the server's own expiry notices need: who receives them, the organisation and the
/// console's link written in them, and the credentials the store does not hold.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NoticeSettings {
    /// The administrators' addresses (at least one).
    pub recipients: Vec<String>,
    /// The organisation's name, written in the subject and the body.
    pub organisation: Option<String>,
    /// The link to the administrators' console.
    pub console_url: Option<String>,
    /// Days before expiry from which notices are sent (default 60).
    pub warning_days: u32,
    /// The shortest time between two notices for one credential (default 7 days), across
    /// every server sharing the store.
    pub interval: Duration,
    /// The MDM vendor certificate (PEM or DER), when this server signs requests.
    pub vendor_certificate: Option<Vec<u8>>,
    /// Other credentials to watch, such as ADE/DEP server tokens
    /// ([`CredentialKind::DepServerToken`]).
    pub others: Vec<Credential>,
}

impl NoticeSettings {
    /// Notices to one administrators' address, with the defaults (from 60 days before
    /// expiry, weekly).
    pub fn new(recipient: impl Into<String>) -> Self {
        Self {
            recipients: vec![recipient.into()],
            organisation: None,
            console_url: None,
            warning_days: DEFAULT_WARNING_DAYS,
            interval: DEFAULT_NOTIFY_INTERVAL,
            vendor_certificate: None,
            others: Vec::new(),
        }
    }

    /// Sets the organisation's name.
    pub fn organisation(mut self, name: impl Into<String>) -> Self {
        self.organisation = Some(name.into());
        self
    }

    /// Sets the console's link.
    pub fn console_url(mut self, url: impl Into<String>) -> Self {
        self.console_url = Some(url.into());
        self
    }

    /// Sets the warning threshold in days.
    pub fn warning_days(mut self, days: u32) -> Self {
        self.warning_days = days;
        self
    }

    /// Sets the interval between two notices for one credential.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Watches the MDM vendor certificate (PEM or DER) too.
    pub fn vendor_certificate(mut self, certificate: Vec<u8>) -> Self {
        self.vendor_certificate = Some(certificate);
        self
    }

    /// Watches another credential too (an ADE/DEP server token).
    pub fn other(mut self, credential: Credential) -> Self {
        self.others.push(credential);
        self
    }

    /// The monitor these settings describe.
    pub fn monitor(&self) -> ExpiryMonitor {
        let mut monitor = ExpiryMonitor::new()
            .warning_days(self.warning_days)
            .notify_interval(self.interval);
        for recipient in &self.recipients {
            monitor = monitor.recipient(recipient.clone());
        }
        if let Some(organisation) = &self.organisation {
            monitor = monitor.company(organisation.clone());
        }
        if let Some(url) = &self.console_url {
            monitor = monitor.admin_url(url.clone());
        }
        monitor
    }
}

/// The push certificates of `store` as credentials (named by topic, with their Apple ID).
pub async fn push_certificate_credentials(store: &dyn Store) -> Result<Vec<Credential>> {
    Ok(store
        .list_push_certificates()
        .await?
        .into_iter()
        .map(|record| {
            let mut credential = Credential::new(
                CredentialKind::PushCertificate,
                record.topic,
                record.not_after,
            );
            credential.apple_id = record.apple_id;
            credential
        })
        .collect())
}

/// Sends the expiry notices due at `now`, as a server does by itself (daily and at
/// start): for the push certificates in `store`, the vendor certificate and the other
/// credentials of `settings`, from `warning_days` before expiry, to the administrators.
///
/// A notice goes out at most once per `settings.interval` per credential, even with
/// several servers on one database: each is claimed in the store
/// ([`claim_notice`](mdmkit_core::store::PushCertificateStore::claim_notice)) before it is
/// sent, and the claim is given back when sending fails, so the next run tries again. Each
/// notice sent is also recorded in the audit log ([`NOTICE_AUDIT_ACTION`]). Returns the
/// notices sent by this call.
pub async fn send_due_notices(
    store: &dyn Store,
    notifier: &dyn Notifier,
    settings: &NoticeSettings,
    now: OffsetDateTime,
) -> Result<Vec<SentNotice>> {
    if settings.recipients.iter().all(|r| r.trim().is_empty()) {
        return Err(Error::InvalidInput {
            field: "administrators' address".into(),
            detail: "expiry notices need an address to go to".into(),
        });
    }
    let mut credentials = push_certificate_credentials(store).await?;
    if let Some(certificate) = &settings.vendor_certificate {
        credentials.push(Credential::vendor_certificate(certificate)?);
    }
    credentials.extend(settings.others.iter().cloned());
    send_claimed(store, &settings.monitor(), notifier, &credentials, now).await
}

/// Sends each due notice of `credentials` that this caller claims in the store.
pub(crate) async fn send_claimed(
    store: &dyn Store,
    monitor: &ExpiryMonitor,
    notifier: &dyn Notifier,
    credentials: &[Credential],
    now: OffsetDateTime,
) -> Result<Vec<SentNotice>> {
    let mut sent = Vec::new();
    for credential in monitor.due(credentials, &HashMap::new(), now) {
        let key = credential.notice_key();
        if !store.claim_notice(&key, now, monitor.interval()).await? {
            continue;
        }
        let message = monitor.notice(credential, now);
        if let Err(error) = notifier.send(message.clone()).await {
            // Not sent: the next run (here or on another server) may try again.
            store.release_notice(&key, now).await?;
            return Err(error.into());
        }
        let mut event = AuditEvent::new("system", NOTICE_AUDIT_ACTION);
        event.at = now;
        event.target = Some(key.clone());
        event.detail = Some(message.subject.clone());
        store.append_audit_event(&event).await?;
        sent.push(SentNotice { key, message });
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 09:30 UTC);

    fn push(days: i64) -> Credential {
        Credential::new(
            CredentialKind::PushCertificate,
            "com.apple.mgmt.External.abc",
            NOW + Duration::days(days),
        )
        .with_apple_id("mdm@example.com")
    }

    #[test]
    fn report_lists_every_kind_soonest_first() {
        let monitor = ExpiryMonitor::new();
        let credentials = vec![
            push(100),
            Credential::new(
                CredentialKind::DepServerToken,
                "Main ABM",
                NOW + Duration::days(10),
            ),
            Credential::new(
                CredentialKind::VendorCertificate,
                "CN=Vendor",
                NOW - Duration::days(1),
            ),
        ];
        let report = monitor.report(&credentials, NOW);
        let kinds: Vec<_> = report
            .iter()
            .map(|r| (r.kind, r.status, r.days_remaining))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (CredentialKind::VendorCertificate, ExpiryStatus::Expired, -1),
                (
                    CredentialKind::DepServerToken,
                    ExpiryStatus::ExpiringSoon,
                    10
                ),
                (CredentialKind::PushCertificate, ExpiryStatus::Valid, 100),
            ]
        );
    }

    #[test]
    fn vendor_certificate_credential() {
        let ca = crate::testing::TestCa::new("WWDR");
        let key = crate::PrivateKey::generate_rsa_2048().unwrap();
        let der = ca.issue_leaf("MDM Vendor: Example", &key, NOW + Duration::days(20));
        let credential = Credential::vendor_certificate(&ca.pem_of(&der)).unwrap();
        assert_eq!(credential.kind, CredentialKind::VendorCertificate);
        assert_eq!(credential.name, "CN=MDM Vendor: Example");
        assert_eq!(credential.not_after, NOW + Duration::days(20));
        assert_eq!(
            Credential::vendor_certificate(b"junk").unwrap_err().code(),
            "certificate_unreadable"
        );
    }

    #[test]
    fn due_from_sixty_days_and_once_per_interval() {
        let monitor = ExpiryMonitor::new().notify_interval(Duration::days(7));
        assert!(!monitor.is_due(&push(61), None, NOW));
        assert!(monitor.is_due(&push(60), None, NOW));
        assert!(monitor.is_due(&push(59), None, NOW));
        assert!(monitor.is_due(&push(-5), None, NOW));
        let sent = Some(NOW - Duration::days(6));
        assert!(!monitor.is_due(&push(30), sent, NOW));
        let sent = Some(NOW - Duration::days(7));
        assert!(monitor.is_due(&push(30), sent, NOW));
    }

    #[test]
    fn notice_names_company_time_topic_date_apple_id_and_link() {
        let monitor = ExpiryMonitor::new()
            .recipient("admin@example.com")
            .company("Example Inc.")
            .admin_url("https://mdm.example.com/admin");
        let message = monitor.notice(&push(30), NOW);
        assert_eq!(message.to, vec!["admin@example.com"]);
        assert_eq!(
            message.subject,
            "[Example Inc.] Apple Push certificate expires on 2026-03-31"
        );
        let body = &message.text_body;
        assert!(body.contains("Company: Example Inc."), "{body}");
        assert!(body.contains("Time: 2026-03-01T09:30:00Z"), "{body}");
        assert!(
            body.contains(
                "The Apple Push certificate for topic com.apple.mgmt.External.abc expires on \
                 2026-03-31T09:30:00Z; renew it with the Apple ID mdm@example.com"
            ),
            "{body}"
        );
        assert!(body.contains("30 days remain."), "{body}");
        assert!(body.contains("https://mdm.example.com/admin"), "{body}");
    }
}
