//! The expiry dashboard and the expiry notices, from the store's settings: every credential
//! that expires (push certificates, the MDM vendor certificate, ADE server tokens) with its
//! days remaining, and the e-mail notices due from 60 days before expiry, sent through the
//! stored SMTP settings to the stored administrators' address.

use mdmkit_apns::monitor::{Credential, CredentialKind, CredentialReport, ExpiryMonitor};
use mdmkit_apns::{PushCertLifecycle, SmtpNotifier};
use time::{Duration, OffsetDateTime};

use crate::{settings, Error, Mdm, Result};

/// How often `mdmkit serve` looks for due expiry notices.
pub const NOTICE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The days between two notices for the same credential, as `serve` sends them.
pub const NOTICE_INTERVAL_DAYS: u32 = 7;

/// Credentials the store does not hold, for the dashboard and the notices: the MDM vendor
/// certificate (PEM or DER) and ADE server tokens (name, expiry).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OtherCredentials {
    /// The MDM vendor certificate, PEM or DER.
    pub vendor_certificate: Option<Vec<u8>>,
    /// ADE (DEP) server tokens: name and end of validity.
    pub ade_tokens: Vec<(String, OffsetDateTime)>,
}

impl OtherCredentials {
    fn read(&self) -> Result<Vec<Credential>> {
        let mut credentials = Vec::new();
        if let Some(certificate) = &self.vendor_certificate {
            credentials.push(Credential::vendor_certificate(certificate)?);
        }
        for (name, not_after) in &self.ade_tokens {
            credentials.push(Credential::new(
                CredentialKind::DepServerToken,
                name.clone(),
                *not_after,
            ));
        }
        Ok(credentials)
    }
}

/// One credential on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DashboardEntry {
    /// `push_certificate`, `vendor_certificate` or `dep_server_token`.
    pub kind: String,
    /// The topic, the vendor certificate's subject, or the token's name.
    pub name: String,
    /// End of validity (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// `valid`, `expiring_soon` or `expired`.
    pub status: String,
    /// Whether 60 days or fewer remain (or it expired): time to renew.
    pub renew_now: bool,
    /// The Apple ID to renew it with, when known.
    pub apple_id: Option<String>,
}

impl From<CredentialReport> for DashboardEntry {
    fn from(report: CredentialReport) -> Self {
        Self {
            kind: report.kind.as_str().to_owned(),
            name: report.name,
            not_after: report.not_after,
            days_remaining: report.days_remaining,
            status: report.status.as_str().to_owned(),
            renew_now: report.status.is_urgent(),
            apple_id: report.apple_id,
        }
    }
}

/// A notice that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoticeSent {
    /// The credential (`kind:name`).
    pub key: String,
    /// The e-mail's subject.
    pub subject: String,
}

/// What [`Expiry::send_due_notices_with`] takes beside the credentials: each field, when
/// set, overrides the stored setting for this sending only (`mdmkit push-cert notify`'s
/// flags); unset, the stored one is used.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NoticeOptions {
    /// Days between two notices for the same credential (default
    /// [`NOTICE_INTERVAL_DAYS`]).
    pub interval_days: Option<u32>,
    /// The SMTP server (instead of `smtp_url`): `smtp://host:port`,
    /// `smtp://host:port?tls=required` or `smtps://host:port`, with `user:password@`.
    pub smtp_url: Option<String>,
    /// The sender address (instead of `smtp_from`).
    pub smtp_from: Option<String>,
    /// A PEM CA trusted for the SMTP server (instead of `smtp_ca`).
    pub smtp_ca: Option<Vec<u8>>,
    /// The recipients (instead of `admin_email`).
    pub recipients: Vec<String>,
    /// The organisation named in the notice (instead of `organisation`).
    pub organisation: Option<String>,
    /// The administration site's link in the notice (instead of `console_url`).
    pub console_url: Option<String>,
}

impl Mdm {
    /// Expiry of every credential: the dashboard and the notices.
    pub fn expiry(&self) -> Expiry {
        Expiry { mdm: self.clone() }
    }
}

/// Expiry of a deployment's credentials (`Mdm::expiry`).
#[derive(Debug, Clone)]
pub struct Expiry {
    mdm: Mdm,
}

impl Expiry {
    /// The dashboard: every credential that expires, soonest first, with its days
    /// remaining, status and the 60-day flag.
    ///
    /// Besides the push certificates in the store, it watches the vendor certificate and the
    /// ADE tokens recorded in the settings ([`settings::VENDOR_CERTIFICATE`],
    /// [`settings::ADE_TOKENS`]); `others` adds to them, and replaces a stored one of the
    /// same name.
    pub async fn dashboard(&self, others: &OtherCredentials) -> Result<Vec<DashboardEntry>> {
        let credentials = self.credentials(others).await?;
        Ok(ExpiryMonitor::new()
            .report(&credentials, OffsetDateTime::now_utc())
            .into_iter()
            .map(DashboardEntry::from)
            .collect())
    }

    /// Sends the expiry notices due now through the stored SMTP settings (`smtp_url`,
    /// `smtp_from`, `smtp_ca`) to the stored administrators' address (`admin_email`), with
    /// the organisation's name and the console's link; at most once per `interval_days` per
    /// credential, even with several processes on one store.
    pub async fn send_due_notices(
        &self,
        others: &OtherCredentials,
        interval_days: u32,
    ) -> Result<Vec<NoticeSent>> {
        let options = NoticeOptions {
            interval_days: Some(interval_days),
            ..NoticeOptions::default()
        };
        self.send_due_notices_with(others, &options).await
    }

    /// [`send_due_notices`](Self::send_due_notices) with `options` overriding the stored
    /// SMTP settings, recipients, organisation and link for this sending only. A missing
    /// setting that nothing overrides is `setting_missing`; a bad SMTP URL `smtp_url`.
    pub async fn send_due_notices_with(
        &self,
        others: &OtherCredentials,
        options: &NoticeOptions,
    ) -> Result<Vec<NoticeSent>> {
        let settings = self.mdm.settings();
        let notifier: std::sync::Arc<dyn mdmkit_core::notify::Notifier> = match &options.smtp_url {
            Some(url) => {
                let from = match &options.smtp_from {
                    Some(from) => from.clone(),
                    None => settings.require(settings::SMTP_FROM).await?,
                };
                let ca = match &options.smtp_ca {
                    Some(ca) => Some(ca.clone()),
                    None => settings
                        .get(settings::SMTP_CA)
                        .await?
                        .map(String::into_bytes),
                };
                std::sync::Arc::new(match ca {
                    Some(ca) => SmtpNotifier::with_root_certificate(url, &from, &ca)?,
                    None => SmtpNotifier::new(url, &from)?,
                })
            }
            None => {
                if options.smtp_from.is_some() || options.smtp_ca.is_some() {
                    return Err(crate::Error::input(
                        "a sender or SMTP CA override goes with an SMTP URL",
                    ));
                }
                crate::enroll::notifier(&settings)
                    .await?
                    .ok_or_else(|| settings::missing(settings::SMTP_URL))?
            }
        };
        let interval_days = options.interval_days.unwrap_or(NOTICE_INTERVAL_DAYS);
        let mut monitor =
            ExpiryMonitor::new().notify_interval(Duration::days(i64::from(interval_days.max(1))));
        if options.recipients.is_empty() {
            monitor = monitor.recipient(settings.require(settings::ADMIN_EMAIL).await?);
        }
        for to in &options.recipients {
            monitor = monitor.recipient(to.clone());
        }
        let organisation = match &options.organisation {
            Some(name) => Some(name.clone()),
            None => settings.get(settings::ORGANISATION).await?,
        };
        if let Some(name) = organisation {
            monitor = monitor.company(name);
        }
        let console = match &options.console_url {
            Some(url) => Some(url.clone()),
            None => settings.get(settings::CONSOLE_URL).await?,
        };
        if let Some(console) = console {
            monitor = monitor.admin_url(console);
        }
        let sent = self
            .lifecycle_of_store()
            .send_due_notices(
                &monitor,
                notifier.as_ref(),
                &self.others(others).await?,
                OffsetDateTime::now_utc(),
            )
            .await?;
        Ok(sent
            .into_iter()
            .map(|notice| NoticeSent {
                key: notice.key,
                subject: notice.message.subject,
            })
            .collect())
    }

    /// Sends the due notices now and then every [`NOTICE_CHECK_INTERVAL`], for as long as
    /// the future runs (`mdmkit serve` spawns it), once per week per credential. Without
    /// an administrators' address or SMTP settings it says so once and sends nothing; a
    /// failed round is retried at the next.
    pub async fn run_notices(self) {
        let mut said_off = false;
        loop {
            match self
                .send_due_notices(&OtherCredentials::default(), NOTICE_INTERVAL_DAYS)
                .await
            {
                Ok(sent) if !sent.is_empty() => {
                    let keys: Vec<&str> = sent.iter().map(|notice| notice.key.as_str()).collect();
                    tracing::info!(count = sent.len(), notices = ?keys, "expiry notices sent");
                }
                Ok(_) => {}
                Err(error) if error.code() == "setting_missing" => {
                    if !said_off {
                        tracing::info!(%error, "expiry notices are off");
                        said_off = true;
                    }
                }
                Err(error) => {
                    tracing::warn!(code = error.code(), %error, "expiry notices failed")
                }
            }
            tokio::time::sleep(NOTICE_CHECK_INTERVAL).await;
        }
    }

    /// Every credential watched: the store's push certificates, then [`Expiry::others`].
    async fn credentials(&self, others: &OtherCredentials) -> Result<Vec<Credential>> {
        let mut credentials = self.lifecycle_of_store().credentials().await?;
        credentials.extend(self.others(others).await?);
        Ok(credentials)
    }

    /// The credentials the store holds no certificate for: the settings' vendor
    /// certificate and ADE tokens, with `given` added (a given one replaces a stored one of
    /// the same kind and name).
    async fn others(&self, given: &OtherCredentials) -> Result<Vec<Credential>> {
        let settings = self.mdm.settings();
        let mut stored = OtherCredentials::default();
        if let Some(pem) = settings.get(settings::VENDOR_CERTIFICATE).await? {
            stored.vendor_certificate = Some(pem.into_bytes());
        }
        if let Some(list) = settings.get(settings::ADE_TOKENS).await? {
            stored.ade_tokens =
                settings::parse_expiry_list(&list).map_err(|reason| Error::InvalidSetting {
                    name: settings::ADE_TOKENS.to_owned(),
                    reason,
                })?;
        }
        let given = given.read()?;
        let mut credentials: Vec<Credential> = stored
            .read()?
            .into_iter()
            .filter(|kept| {
                !given
                    .iter()
                    .any(|new| new.kind == kept.kind && new.name == kept.name)
            })
            .collect();
        credentials.extend(given);
        Ok(credentials)
    }

    fn lifecycle_of_store(&self) -> PushCertLifecycle {
        PushCertLifecycle::new(self.mdm.store().clone())
    }
}
