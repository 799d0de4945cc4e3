//! The APNs HTTP/2 client for MDM pushes.
//!
//! ```no_run
//! # async fn demo(cert: &[u8], key: &[u8]) -> Result<(), mdmkit_apns::Error> {
//! use mdmkit_apns::client::{ApnsClient, ApnsConfig, ClientIdentity, Endpoint};
//! use mdmkit_core::push::{PushInfo, PushTarget, Pusher};
//!
//! let identity = ClientIdentity::from_pem(cert, key)?;
//! let client = ApnsClient::new(ApnsConfig::new(Endpoint::Production, identity).connections(4))?;
//! let info = PushInfo::new(vec![0xab; 32], "PushMagic", client.topic());
//! let target = PushTarget::new("UDID-1".into(), info);
//! let outcome = client.push(&target).await;
//! println!("{outcome:?}");
//! # Ok(()) }
//! ```

mod connection;
mod identity;
mod reason;

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use http::uri::{Authority, PathAndQuery, Scheme};
use mdmkit_core::push::{
    ProgressCallback, PushInfo, PushOutcome, PushProgress, PushResult, PushTarget, Pusher,
};

pub use identity::{ClientIdentity, Endpoint};
pub use reason::Reason;

use tokio::time::Sleep;

use crate::Error;
use connection::{Connector, Pool};

/// How failed attempts are retried: bounded exponential backoff with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts per push, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// A policy from its three values.
    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            max_attempts,
            initial_backoff,
            max_backoff,
        }
    }

    /// The wait before attempt `attempt + 1` (after `attempt` failures): the exponential
    /// value, capped, then a random point in its upper half so that many pushes failing at
    /// once do not come back at once.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

impl Default for RetryPolicy {
    /// 5 attempts, waits from 200 ms up to 30 s.
    fn default() -> Self {
        Self::new(5, Duration::from_millis(200), Duration::from_secs(30))
    }
}

/// The configuration of an [`ApnsClient`]; build it with [`ApnsConfig::new`] and the
/// setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApnsConfig {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// The push certificate and key.
    pub identity: ClientIdentity,
    /// PEM certificates of a private CA to trust for the server (a test server); the
    /// system's roots are trusted in any case.
    pub server_ca_pem: Option<Vec<u8>>,
    /// The topic pushes are sent to; by default the certificate's UID.
    pub topic: Option<String>,
    /// Connections kept open to the endpoint (default 1). Each carries as many concurrent
    /// pushes as the server allows (`SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub connections: usize,
    /// The longest wait for one attempt's answer (default 10 s).
    pub request_timeout: Duration,
    /// The longest wait for a connection to open (default 10 s).
    pub connect_timeout: Duration,
    /// The interval of keep-alive PINGs; `None` sends none (default 60 s).
    pub ping_interval: Option<Duration>,
    /// Retries of connection failures, timeouts, 429 and 5xx answers.
    pub retry: RetryPolicy,
    /// When set, pushes carry `apns-expiration`: now plus this delay (zero means "deliver
    /// now or never").
    pub expiration: Option<Duration>,
    /// Pushes of a bulk push in flight at once (default 4,000).
    pub max_in_flight: usize,
}

impl ApnsConfig {
    /// A configuration with the defaults.
    pub fn new(endpoint: Endpoint, identity: ClientIdentity) -> Self {
        Self {
            endpoint,
            identity,
            server_ca_pem: None,
            topic: None,
            connections: 1,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(60)),
            retry: RetryPolicy::default(),
            expiration: None,
            max_in_flight: 4000,
        }
    }

    /// Trusts a private CA (PEM) for the server.
    pub fn server_ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.server_ca_pem = Some(pem);
        self
    }

    /// Pushes to this topic instead of the certificate's UID.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Sets the number of connections.
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

    /// Sets the keep-alive PING interval (`None`: no PINGs).
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sends `apns-expiration` with each push: now plus `delay`.
    pub fn expiration(mut self, delay: Duration) -> Self {
        self.expiration = Some(delay);
        self
    }

    /// Sets how many pushes of a bulk push are in flight at once.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }
}

/// The APNs HTTP/2 client: sends MDM pushes for one push certificate (one topic) over a
/// pool of connections. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct ApnsClient {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    topic: String,
    /// The headers of every push but `apns-expiration`, built once and cloned per request.
    headers: HeaderMap,
    authority: Authority,
    request_timeout: Duration,
    retry: RetryPolicy,
    expiration: Option<Duration>,
    max_in_flight: usize,
}

impl std::fmt::Debug for ApnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsClient")
            .field("topic", &self.inner.topic)
            .field("authority", &self.inner.authority)
            .finish_non_exhaustive()
    }
}

const APNS_PUSH_TYPE: HeaderName = HeaderName::from_static("apns-push-type");
const APNS_TOPIC: HeaderName = HeaderName::from_static("apns-topic");
const APNS_PRIORITY: HeaderName = HeaderName::from_static("apns-priority");
const APNS_EXPIRATION: HeaderName = HeaderName::from_static("apns-expiration");
const APNS_ID: HeaderName = HeaderName::from_static("apns-id");

/// What one attempt came to.
enum Attempt {
    Final(PushOutcome),
    Retry(String),
}

impl ApnsClient {
    /// A client for the configuration. Connections open on the first push.
    pub fn new(config: ApnsConfig) -> Result<Self, Error> {
        if config.connections == 0 {
            return Err(Error::InvalidConfig(
                "at least one connection is needed".into(),
            ));
        }
        if config.retry.max_attempts == 0 {
            return Err(Error::InvalidConfig(
                "at least one attempt is needed".into(),
            ));
        }
        if config.max_in_flight == 0 {
            return Err(Error::InvalidConfig(
                "max_in_flight must be at least 1".into(),
            ));
        }
        let topic = match config.topic {
            Some(topic) if !topic.is_empty() => topic,
            _ => config.identity.topic()?,
        };
        let connector = Connector::new(
            config.endpoint.clone(),
            &config.identity,
            config.server_ca_pem.as_deref(),
            config.connect_timeout,
            config.ping_interval,
        )?;
        let topic_header = HeaderValue::from_str(&topic)
            .map_err(|_| Error::InvalidConfig(format!("topic {topic:?} is not a header value")))?;
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(APNS_PUSH_TYPE, HeaderValue::from_static("mdm"));
        headers.insert(APNS_TOPIC, topic_header);
        headers.insert(APNS_PRIORITY, HeaderValue::from_static("10"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let authority = config.endpoint.authority();
        let authority =
            Authority::from_maybe_shared(Bytes::from(authority.clone())).map_err(|_| {
                Error::InvalidEndpoint {
                    url: authority,
                    detail: "not a valid host and port".into(),
                }
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool: Pool::new(connector, config.connections),
                topic,
                headers,
                authority,
                request_timeout: config.request_timeout,
                retry: config.retry,
                expiration: config.expiration,
                max_in_flight: config.max_in_flight,
            }),
        })
    }

    /// The topic pushes are sent to.
    pub fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// Sends one MDM push, retrying as the policy allows.
    pub async fn send(&self, target: &PushTarget) -> PushOutcome {
        self.inner.send(target).await
    }
}

impl Inner {
    /// One push with a timer of its own (a single push, [`ApnsClient::send`]).
    async fn send(&self, target: &PushTarget) -> PushOutcome {
        let timer = tokio::time::sleep(self.request_timeout);
        tokio::pin!(timer);
        self.send_timed(target, timer.as_mut()).await
    }

    /// One push, retrying as the policy allows; each attempt must be answered within
    /// `request_timeout`, measured by `timer`, which is set again for every attempt.
    ///
    /// A bulk push gives each of its lanes one timer for all the pushes the lane sends,
    /// one after another: setting a registered timer to a later deadline only moves a
    /// number (tokio extends the entry where it stands and re-files it when the old
    /// deadline comes), where a timer per attempt is filed into and taken out of the
    /// runtime's timer wheel for every push.
    async fn send_timed(&self, target: &PushTarget, mut timer: Pin<&mut Sleep>) -> PushOutcome {
        let push = &target.push;
        if !push.topic.is_empty() && push.topic != self.topic {
            // APNs would refuse it (DeviceTokenNotForTopic); the device enrolled with another
            // certificate and must re-enroll.
            return PushOutcome::Rejected {
                status: 0,
                reason: format!("TopicMismatch: the device enrolled with {}", push.topic),
                token_invalid: false,
                invalid_since_ms: None,
            };
        }
        if let Some(since) = push.invalid_since {
            // APNs already said 410 for this token: pushing it again only risks throttling.
            return PushOutcome::Rejected {
                status: 0,
                reason: Reason::Unregistered.as_str().to_owned(),
                token_invalid: true,
                invalid_since_ms: i64::try_from(since.unix_timestamp_nanos() / 1_000_000).ok(),
            };
        }
        if push.token.is_empty() {
            return PushOutcome::Rejected {
                status: 0,
                reason: Reason::MissingDeviceToken.as_str().to_owned(),
                token_invalid: false,
                invalid_since_ms: None,
            };
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            timer
                .as_mut()
                .reset(tokio::time::Instant::now() + self.request_timeout);
            // The answer first, then the deadline, as `tokio::time::timeout` polls them.
            let result = tokio::select! {
                biased;
                result = self.attempt(push) => result,
                () = timer.as_mut() => Attempt::Retry("timed out waiting for the answer".into()),
            };
            match result {
                Attempt::Final(outcome) => return outcome,
                Attempt::Retry(error) => {
                    if attempt >= self.retry.max_attempts {
                        return PushOutcome::Failed {
                            attempts: attempt,
                            error,
                        };
                    }
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
            }
        }
    }

    /// The request of one attempt, `POST https://<authority>/3/device/<hex token>` with
    /// the push headers, and its body: exactly `{"mdm":"<PushMagic>"}`, the PushMagic
    /// escaped as a JSON string.
    fn request(&self, push: &PushInfo) -> Result<(http::Request<()>, Bytes), http::Error> {
        const PREFIX: &[u8] = b"/3/device/";
        let mut path = vec![0; PREFIX.len() + 2 * push.token.len()];
        path[..PREFIX.len()].copy_from_slice(PREFIX);
        // The slice is exactly twice the token's length: encoding cannot fail.
        let _ = hex::encode_to_slice(&push.token, &mut path[PREFIX.len()..]);
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(Scheme::HTTPS);
        uri.authority = Some(self.authority.clone());
        uri.path_and_query = Some(PathAndQuery::from_maybe_shared(Bytes::from(path))?);
        let mut request = http::Request::new(());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = http::Uri::from_parts(uri)?;
        *request.headers_mut() = self.headers.clone();
        if let Some(delay) = self.expiration {
            let at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .saturating_add(delay)
                .as_secs();
            let value = if delay.is_zero() { 0 } else { at };
            request
                .headers_mut()
                .insert(APNS_EXPIRATION, HeaderValue::from(value));
        }
        let magic = push.push_magic.as_str();
        // Exactly the length when the PushMagic needs no escaping (it is a UUID): a Bytes
        // then takes the buffer over without another allocation.
        let mut body = Vec::with_capacity(magic.len() + 10);
        body.extend_from_slice(b"{\"mdm\":");
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, magic);
        body.push(b'}');
        Ok((request, Bytes::from(body)))
    }

    async fn attempt(&self, push: &PushInfo) -> Attempt {
        let (slot, connection) = match self.pool.get().await {
            Ok(found) => found,
            Err(error) => return Attempt::Retry(error.to_string()),
        };
        let generation = connection.generation;
        match self.exchange(connection.sender, push).await {
            Ok(attempt) => attempt,
            Err(error) => {
                // GOAWAY, a reset connection or a dropped one: open a new connection and
                // send the push again there.
                self.pool.discard(slot, generation);
                Attempt::Retry(format!("HTTP/2: {error}"))
            }
        }
    }

    async fn exchange(
        &self,
        sender: h2::client::SendRequest<Bytes>,
        push: &PushInfo,
    ) -> Result<Attempt, h2::Error> {
        let mut sender = sender.ready().await?;
        // Built once a stream is free, for each attempt: neither the request nor a copy of
        // it for retries is kept in the future while it waits.
        let (request, body) = match self.request(push) {
            Ok(built) => built,
            Err(error) => {
                return Ok(Attempt::Final(PushOutcome::Rejected {
                    status: 0,
                    reason: format!("invalid request: {error}"),
                    token_invalid: false,
                    invalid_since_ms: None,
                }))
            }
        };
        let (response, mut stream) = sender.send_request(request, false)?;
        stream.send_data(body, true)?;
        // Neither is needed any more: not kept in this future while it waits.
        drop((sender, stream));
        let response = response.await?;
        let status = response.status().as_u16();
        let apns_id = response
            .headers()
            .get(APNS_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut body = response.into_body();
        let mut answer = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk?;
            let _ = body.flow_control().release_capacity(chunk.len());
            if answer.len() < 64 * 1024 {
                answer.extend_from_slice(&chunk);
            }
        }
        Ok(interpret(status, apns_id, &answer))
    }
}

/// Turns an APNs answer into an outcome or a reason to retry.
fn interpret(status: u16, apns_id: String, body: &[u8]) -> Attempt {
    if status == 200 {
        return Attempt::Final(PushOutcome::Delivered { apns_id });
    }
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let reason = json
        .get("reason")
        .and_then(|r| r.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("HTTP {status}"));
    if status == 429 || status >= 500 {
        return Attempt::Retry(format!("HTTP {status} {reason}"));
    }
    let token_invalid = status == 410;
    Attempt::Final(PushOutcome::Rejected {
        status,
        reason,
        token_invalid,
        invalid_since_ms: if token_invalid {
            json.get("timestamp").and_then(|t| t.as_i64())
        } else {
            None
        },
    })
}

#[async_trait]
impl Pusher for ApnsClient {
    async fn push(&self, target: &PushTarget) -> PushOutcome {
        self.inner.send(target).await
    }

    /// Pushes all targets concurrently (up to `max_in_flight` at once, multiplexed over
    /// the pool's connections); every target gets exactly one result, in the order given.
    async fn push_many(
        &self,
        targets: Vec<PushTarget>,
        progress: Option<ProgressCallback>,
    ) -> Vec<PushResult> {
        use futures_util::stream::{FuturesUnordered, StreamExt};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let total = targets.len();
        let inner = &self.inner;
        let finished =
            std::sync::Mutex::new((vec![None::<PushOutcome>; total], PushProgress::start(total)));
        {
            // One task drives the whole batch through `max_in_flight` lanes (no task per
            // push, and no future allocated per push): each lane takes the next target,
            // sends it, records its outcome and takes the next, with one request timer of
            // its own for all its pushes. The connections' own tasks do the I/O. The lanes
            // borrow the targets, which then give their ids to the results.
            let targets = &targets;
            let progress = &progress;
            let finished = &finished;
            let next = &AtomicUsize::new(0);
            let mut lanes: FuturesUnordered<_> = (0..inner.max_in_flight.min(total))
                .map(|_| async move {
                    let timer = tokio::time::sleep(inner.request_timeout);
                    tokio::pin!(timer);
                    // Each index is taken by exactly one lane.
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(target) = targets.get(index) else {
                            break;
                        };
                        let outcome = inner.send_timed(target, timer.as_mut()).await;
                        let counts = {
                            let mut finished = finished.lock().unwrap_or_else(|e| e.into_inner());
                            finished.1.record(&outcome);
                            finished.0[index] = Some(outcome);
                            finished.1
                        };
                        if let Some(progress) = progress {
                            progress(counts);
                        }
                    }
                })
                .collect();
            while lanes.next().await.is_some() {}
        }
        let (outcomes, _) = finished.into_inner().unwrap_or_else(|e| e.into_inner());
        targets
            .into_iter()
            .zip(outcomes)
            .map(|(target, outcome)| {
                // The lanes take each index once, so every slot is filled; a missing
                // one would still be reported, never dropped.
                let outcome = outcome.unwrap_or_else(|| PushOutcome::Failed {
                    attempts: 0,
                    error: "the push ended without an outcome".into(),
                });
                PushResult::new(target.enrollment_id, outcome)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let policy = RetryPolicy::new(5, Duration::from_millis(100), Duration::from_millis(350));
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(175) && third <= Duration::from_millis(350));
            assert!(policy.backoff(40) <= Duration::from_millis(350));
        }
    }

    #[test]
    fn answers_are_interpreted() {
        assert!(matches!(
            interpret(200, "id".into(), b""),
            Attempt::Final(PushOutcome::Delivered { .. })
        ));
        assert!(matches!(
            interpret(429, String::new(), br#"{"reason":"TooManyRequests"}"#),
            Attempt::Retry(_)
        ));
        assert!(matches!(
            interpret(503, String::new(), b"garbage"),
            Attempt::Retry(_)
        ));
        match interpret(
            410,
            String::new(),
            br#"{"reason":"Unregistered","timestamp":1700000000000}"#,
        ) {
            Attempt::Final(PushOutcome::Rejected {
                status,
                reason,
                token_invalid,
                invalid_since_ms,
            }) => {
                assert_eq!(
                    (status, reason.as_str(), token_invalid),
                    (410, "Unregistered", true)
                );
                assert_eq!(invalid_since_ms, Some(1_700_000_000_000));
            }
            _ => panic!("410 must be a final rejection"),
        }
        match interpret(400, String::new(), b"not json") {
            Attempt::Final(PushOutcome::Rejected { reason, .. }) => assert_eq!(reason, "HTTP 400"),
            _ => panic!("400 must be a final rejection"),
        }
    }
}
