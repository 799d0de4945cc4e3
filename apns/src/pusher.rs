//! The store-backed pusher: core's [`Pusher`] with its APNs identities taken from the push
//! certificates installed through the [`PushCertLifecycle`], one APNs client per topic.
//!
//! ```no_run
//! # async fn demo(store: mdmkit_core::store::SharedStore) -> mdmkit_apns::Result<()> {
//! use mdmkit_apns::{PushCertLifecycle, StorePusher, StorePusherOptions};
//!
//! let lifecycle = PushCertLifecycle::new(store.clone());
//! let pusher = StorePusher::start(store, StorePusherOptions::production()).await?;
//! pusher.follow(&lifecycle)?; // this process's installs apply at once
//! // Hand `pusher` to the engine: every push goes out with the certificate of the topic
//! // the device enrolled with, and a renewal made by another process is used within the
//! // poll interval (2 s by default), without a restart.
//! # Ok(()) }
//! ```
//!
//! How changes are picked up:
//!
//! * every [`poll_interval`](StorePusherOptions::poll_interval) the pusher lists the store's
//!   push certificates and compares each one's SHA-256 fingerprint with the certificate its
//!   client was built with (one small query; a client is rebuilt only when its certificate
//!   changed). That sees installs, renewals and deletions made by another process (`mdmkit
//!   push-cert install` while `mdmkit serve` runs, another server on the same PostgreSQL
//!   database);
//! * a [`PushCertLifecycle`] this pusher [follows](StorePusher::follow) announces the
//!   changes made through it, and the pusher reloads at once.
//!
//! A push looks its topic's client up when it starts: a push in flight during a renewal
//! finishes on the old connection, the next one opens a connection with the new
//! certificate. A push for a topic without a certificate (never installed, or deleted) is
//! refused before anything is sent, with the reason `topic_not_found: ...`; so is a push
//! whose topic's certificate has expired (`certificate_expired: ...`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use mdmkit_core::push::{
    push_and_mark_invalid, ProgressCallback, PushOutcome, PushProgress, PushResult, PushTarget,
    Pusher,
};
use mdmkit_core::store::{PushCertificateRecord, SharedStore};
use time::OffsetDateTime;
use tokio::sync::{broadcast, Notify};

use crate::client::{ApnsClient, ApnsConfig, ClientIdentity, Endpoint, RetryPolicy};
use crate::error::{Error, Result};
use crate::key::PrivateKey;
use crate::lifecycle::{FollowUp, PushCertLifecycle};
use crate::push_cert::PushCertificate;

/// How often the store is polled for certificate changes, unless configured otherwise.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The shortest poll interval accepted.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How a [`StorePusher`] connects to APNs and watches the store. Build it with
/// [`production`](Self::production), [`sandbox`](Self::sandbox) or [`new`](Self::new) and
/// the setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StorePusherOptions {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// PEM certificates of a private CA to trust for the server (a test server).
    pub server_ca_pem: Option<Vec<u8>>,
    /// Connections per topic (default 1).
    pub connections: usize,
    /// The longest wait for one attempt's answer (default 10 s).
    pub request_timeout: Duration,
    /// The longest wait for a connection to open (default 10 s).
    pub connect_timeout: Duration,
    /// Retries of connection failures, timeouts, 429 and 5xx answers.
    pub retry: RetryPolicy,
    /// Pushes of a bulk push in flight at once (default 4,000).
    pub max_in_flight: usize,
    /// How often the store is polled for installs, renewals and deletions made by other
    /// processes (default 2 s, at least 50 ms).
    pub poll_interval: Duration,
}

impl StorePusherOptions {
    /// Options for `endpoint` with the defaults.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            server_ca_pem: None,
            connections: 1,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_in_flight: 4000,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// Apple's production service.
    pub fn production() -> Self {
        Self::new(Endpoint::Production)
    }

    /// Apple's sandbox service.
    pub fn sandbox() -> Self {
        Self::new(Endpoint::Sandbox)
    }

    /// Trusts a private CA (PEM) for the server.
    pub fn server_ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.server_ca_pem = Some(pem);
        self
    }

    /// Sets the number of connections per topic.
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections;
        self
    }

    /// Sets the request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets how many pushes of a bulk push are in flight at once.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// Sets how often the store is polled for certificate changes.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    fn check(&self) -> Result<()> {
        if self.poll_interval < MIN_POLL_INTERVAL {
            return Err(Error::InvalidConfig(format!(
                "the poll interval must be at least {} ms",
                MIN_POLL_INTERVAL.as_millis()
            )));
        }
        if self.max_in_flight == 0 {
            return Err(Error::InvalidConfig(
                "max_in_flight must be at least 1".into(),
            ));
        }
        // The client checks the rest (connections, attempts) with a throw-away identity
        // only when a certificate is loaded; check them now so a bad option fails at start.
        if self.connections == 0 {
            return Err(Error::InvalidConfig(
                "at least one connection is needed".into(),
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::InvalidConfig(
                "at least one attempt is needed".into(),
            ));
        }
        Ok(())
    }

    fn client_config(&self, identity: ClientIdentity, topic: &str) -> ApnsConfig {
        let mut config = ApnsConfig::new(self.endpoint.clone(), identity)
            .topic(topic)
            .connections(self.connections)
            .request_timeout(self.request_timeout)
            .connect_timeout(self.connect_timeout)
            .retry(self.retry.clone())
            .max_in_flight(self.max_in_flight);
        if let Some(pem) = &self.server_ca_pem {
            config = config.server_ca_pem(pem.clone());
        }
        config
    }
}

/// A topic as the pusher holds it: the certificate it pushes with, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PusherTopic {
    /// The topic.
    pub topic: String,
    /// The serial number of the certificate in use (upper-case hexadecimal).
    pub serial: String,
    /// The end of its validity.
    pub not_after: OffsetDateTime,
    /// When this pusher loaded it.
    pub loaded_at: OffsetDateTime,
    /// Why no client could be built from the stored certificate (its pushes are refused
    /// with this reason), if so.
    pub error: Option<String>,
}

/// One topic's client, or the reason there is none.
#[derive(Clone)]
struct Entry {
    fingerprint: [u8; 32],
    info: PusherTopic,
    client: std::result::Result<ApnsClient, String>,
}

struct Shared {
    store: SharedStore,
    options: StorePusherOptions,
    topics: RwLock<HashMap<String, Entry>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

/// core's [`Pusher`] over the push certificates in the store: one APNs client per topic,
/// each push routed by the topic its enrollment enrolled with, installs, renewals and
/// deletions picked up without restart. Cheap to clone; clones share the clients.
///
/// The background task that polls the store stops when the last clone is dropped.
#[derive(Clone)]
pub struct StorePusher {
    shared: Arc<Shared>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for StorePusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let topics: Vec<String> = self.topics().into_iter().map(|t| t.topic).collect();
        f.debug_struct("StorePusher")
            .field("endpoint", &self.shared.options.endpoint)
            .field("topics", &topics)
            .finish_non_exhaustive()
    }
}

impl StorePusher {
    /// Loads every push certificate of `store` and starts polling it (in the current tokio
    /// runtime). A certificate that cannot be loaded does not stop the others: its pushes
    /// are refused with the reason, see [`topics`](Self::topics).
    pub async fn start(store: SharedStore, options: StorePusherOptions) -> Result<Self> {
        options.check()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::InvalidConfig("the store-backed pusher needs a tokio runtime".into())
        })?;
        let pusher = Self {
            shared: Arc::new(Shared {
                store,
                options,
                topics: RwLock::new(HashMap::new()),
                reloading: tokio::sync::Mutex::new(()),
            }),
            wake: Arc::new(Notify::new()),
        };
        pusher.reload().await?;
        runtime.spawn(watch(
            Arc::downgrade(&pusher.shared),
            pusher.wake.clone(),
            pusher.shared.options.poll_interval,
        ));
        Ok(pusher)
    }

    /// Reloads at once whenever `lifecycle` announces a change (an install, renewal,
    /// edit or deletion made through it in this process), on top of the polling. Call it
    /// within a tokio runtime (refused with `invalid_config` outside one).
    pub fn follow(&self, lifecycle: &PushCertLifecycle) -> Result<()> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::InvalidConfig("following a lifecycle needs a tokio runtime".into())
        })?;
        runtime.spawn(relay(lifecycle.subscribe(), Arc::downgrade(&self.wake)));
        Ok(())
    }

    /// Reads the store's push certificates now and applies what changed: a client for a
    /// new or renewed certificate, none for a deleted one. Returns the topics whose
    /// certificate changed.
    pub async fn reload(&self) -> Result<Vec<String>> {
        self.shared.reload().await
    }

    /// The topics this pusher can push to, with the certificate in use, ordered by topic.
    pub fn topics(&self) -> Vec<PusherTopic> {
        let mut topics: Vec<PusherTopic> = read(&self.shared.topics)
            .values()
            .map(|entry| entry.info.clone())
            .collect();
        topics.sort_by(|a, b| a.topic.cmp(&b.topic));
        topics
    }

    /// Pushes every enrolled device of `topic` (marking invalid tokens in the store): the
    /// synchronisation a renewal of an expired certificate calls for.
    pub async fn synchronise_topic(
        &self,
        topic: &str,
        progress: Option<ProgressCallback>,
    ) -> Result<Vec<PushResult>> {
        let targets = self.shared.store.push_targets_for_topic(topic).await?;
        self.push_and_mark(targets, progress).await
    }

    /// Carries out an install's [`FollowUp`]: after the renewal of an expired certificate,
    /// pushes every device of the topic so that it hears from the server again. The
    /// topic's new certificate is loaded first, so the pushes present it.
    pub async fn synchronise(
        &self,
        follow_up: &FollowUp,
        progress: Option<ProgressCallback>,
    ) -> Result<Vec<PushResult>> {
        match follow_up {
            FollowUp::SynchroniseDevices { targets, .. } => {
                self.reload().await?;
                self.push_and_mark(targets.clone(), progress).await
            }
        }
    }

    async fn push_and_mark(
        &self,
        targets: Vec<PushTarget>,
        progress: Option<ProgressCallback>,
    ) -> Result<Vec<PushResult>> {
        Ok(push_and_mark_invalid(self.shared.store.as_ref(), self, targets, progress).await?)
    }

    /// The client for a target's topic, or the refusal.
    fn route(&self, target: &PushTarget) -> std::result::Result<ApnsClient, PushOutcome> {
        let topics = read(&self.shared.topics);
        let topic = target.push.topic.as_str();
        let entry = if topic.is_empty() {
            // A very old enrollment that did not record its topic: the only certificate,
            // if there is only one.
            match topics.len() {
                1 => topics.values().next(),
                _ => None,
            }
        } else {
            topics.get(topic)
        };
        match entry {
            Some(Entry { info, .. }) if OffsetDateTime::now_utc() >= info.not_after => {
                // APNs would refuse the handshake, after every retry: say why at once.
                let error = Error::Expired {
                    topic: info.topic.clone(),
                    not_after: crate::expiry::rfc3339(info.not_after),
                };
                Err(refusal(&format!(
                    "{}: {error} (renew it at Apple's Push Certificates Portal, then `mdmkit \
                     push-cert install`)",
                    error.code()
                )))
            }
            Some(Entry {
                client: Ok(client), ..
            }) => Ok(client.clone()),
            Some(Entry {
                client: Err(error),
                info,
                ..
            }) => Err(refusal(&format!(
                "invalid_identity: the push certificate for {} cannot be used: {error}",
                info.topic
            ))),
            None => {
                let topic = if topic.is_empty() {
                    "(unknown: the enrollment did not record its topic)".to_owned()
                } else {
                    topic.to_owned()
                };
                let error = Error::TopicNotFound { topic };
                Err(refusal(&format!("{}: {error}", error.code())))
            }
        }
    }
}

fn refusal(reason: &str) -> PushOutcome {
    PushOutcome::Rejected {
        status: 0,
        reason: reason.to_owned(),
        token_invalid: false,
        invalid_since_ms: None,
    }
}

fn read(
    lock: &RwLock<HashMap<String, Entry>>,
) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    async fn reload(&self) -> Result<Vec<String>> {
        let _one_at_a_time = self.reloading.lock().await;
        let records = self.store.list_push_certificates().await?;
        let current: HashMap<String, [u8; 32]> = read(&self.topics)
            .iter()
            .map(|(topic, entry)| (topic.clone(), entry.fingerprint))
            .collect();
        let mut changed = Vec::new();
        let mut fresh = Vec::new();
        for record in &records {
            let fingerprint = openssl::sha::sha256(&record.certificate_der);
            if current.get(&record.topic) != Some(&fingerprint) {
                changed.push(record.topic.clone());
                fresh.push(self.entry(record, fingerprint));
            }
        }
        let gone: Vec<String> = current
            .keys()
            .filter(|topic| !records.iter().any(|r| &r.topic == *topic))
            .cloned()
            .collect();
        if fresh.is_empty() && gone.is_empty() {
            return Ok(changed);
        }
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        for entry in fresh {
            // The old client, if any, lives on in the pushes still using it.
            topics.insert(entry.info.topic.clone(), entry);
        }
        for topic in gone {
            topics.remove(&topic);
            changed.push(topic);
        }
        changed.sort();
        Ok(changed)
    }

    fn entry(&self, record: &PushCertificateRecord, fingerprint: [u8; 32]) -> Entry {
        let serial = crate::push_cert::CertificateFields::read(&record.certificate_der, "")
            .map(|fields| fields.serial)
            .unwrap_or_default();
        let client = self.client(record).map_err(|e| e.to_string());
        Entry {
            fingerprint,
            info: PusherTopic {
                topic: record.topic.clone(),
                serial,
                not_after: record.not_after,
                loaded_at: OffsetDateTime::now_utc(),
                error: client.as_ref().err().cloned(),
            },
            client,
        }
    }

    fn client(&self, record: &PushCertificateRecord) -> Result<ApnsClient> {
        let key = PrivateKey::from_pem(record.private_key.expose(), None, "push certificate key")?;
        let certificate = PushCertificate::from_der(&record.certificate_der)?.with_private_key(key);
        let identity = ClientIdentity::from_push_certificate(&certificate)?;
        ApnsClient::new(self.options.client_config(identity, &record.topic))
    }
}

/// Polls the store, or reloads at once when woken, until the pusher is dropped.
async fn watch(shared: Weak<Shared>, wake: Arc<Notify>, interval: Duration) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = wake.notified() => {}
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        // A store that fails now is asked again at the next tick; the clients loaded
        // stay in use meanwhile.
        let _ = shared.reload().await;
    }
}

/// Wakes the watcher on every change a lifecycle announces.
async fn relay(
    mut changes: broadcast::Receiver<crate::lifecycle::PushCertChange>,
    wake: Weak<Notify>,
) {
    loop {
        let next = changes.recv().await;
        let Some(wake) = wake.upgrade() else {
            return;
        };
        match next {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => wake.notify_one(),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[async_trait]
impl Pusher for StorePusher {
    async fn push(&self, target: &PushTarget) -> PushOutcome {
        match self.route(target) {
            Ok(client) => client.send(target).await,
            Err(refused) => refused,
        }
    }

    /// Pushes all targets concurrently (up to `max_in_flight` at once), each with its
    /// topic's client; every target gets exactly one result, in the order given.
    async fn push_many(
        &self,
        targets: Vec<PushTarget>,
        progress: Option<ProgressCallback>,
    ) -> Vec<PushResult> {
        use futures_util::StreamExt;
        let total = targets.len();
        let mut outcomes: Vec<Option<PushOutcome>> = vec![None; total];
        {
            let targets = &targets;
            let mut finished = futures_util::stream::iter(0..total)
                .map(|index| async move { (index, self.push(&targets[index]).await) })
                .buffer_unordered(self.shared.options.max_in_flight);
            let mut counts = PushProgress::start(total);
            while let Some((index, outcome)) = finished.next().await {
                counts.record(&outcome);
                if let Some(progress) = &progress {
                    progress(counts);
                }
                outcomes[index] = Some(outcome);
            }
        }
        targets
            .into_iter()
            .zip(outcomes)
            .map(|(target, outcome)| {
                let outcome = outcome.unwrap_or_else(|| PushOutcome::Failed {
                    attempts: 0,
                    error: "the push ended without an outcome".into(),
                });
                PushResult::new(target.enrollment_id, outcome)
            })
            .collect()
    }
}
