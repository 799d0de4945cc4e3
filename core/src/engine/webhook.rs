//! A webhook [`EventSink`]: every event is POSTed as JSON to the application's URL,
//! signed with HMAC-SHA256 (feature `webhook`).
//!
//! The request carries:
//!
//! * `Content-Type: application/json` and a body of the form
//!   `{"id": "<delivery uuid>", "type": "checkin" | "command_result", "enrollment_id": ...,
//!   "at": "<RFC 3339>", ...}` (see [`event_json`]);
//! * `X-Mdmkit-Event`: the `type`; `X-Mdmkit-Delivery`: the `id` (the same on every retry,
//!   so the receiver can drop duplicates);
//! * `X-Mdmkit-Timestamp`: Unix seconds when the request was signed;
//! * `X-Mdmkit-Signature`: `sha256=` and the lowercase hex HMAC-SHA256, keyed with the
//!   shared secret, of `<timestamp>.<body>`. Binding the timestamp lets the receiver refuse
//!   replays older than a tolerance ([`verify_signature`] does both checks).
//!
//! Publishing never blocks or fails the device's request: events go into a bounded queue
//! and one background task delivers them in order, retrying connection failures, 429 and
//! 5xx answers with exponential backoff and jitter. What could not be delivered, and what
//! did not fit in the queue, is counted in [`WebhookStats`] (never silently lost), with the
//! last error's text (never the secret).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_openssl::client::legacy::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openssl::hash::MessageDigest;
use openssl::memcmp;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::ssl::{SslConnector, SslMethod};
use openssl::x509::X509;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::{mpsc, Notify};

use super::events::{Event, EventSink};
use crate::{Error, Result, Secret};

/// The header with the event type.
pub const EVENT_HEADER: &str = "x-mdmkit-event";
/// The header with the delivery id (unchanged across retries).
pub const DELIVERY_HEADER: &str = "x-mdmkit-delivery";
/// The header with the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-mdmkit-timestamp";
/// The header with `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-mdmkit-signature";

/// How a [`WebhookSink`] delivers; [`WebhookSink::builder`] starts from the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookOptions {
    /// How long one request may take (connecting included). Default 10 s.
    pub timeout: Duration,
    /// Attempts per event before it counts as failed. Default 5.
    pub max_attempts: u32,
    /// The first retry's delay; it doubles up to `max_backoff`, with jitter. Default 500 ms.
    pub initial_backoff: Duration,
    /// The longest delay between attempts. Default 30 s.
    pub max_backoff: Duration,
    /// Events waiting for delivery before new ones are dropped (and counted). Default 10,000.
    pub queue_capacity: usize,
    /// Whether the device's plist body goes in the JSON (base64, `body`). Default on. The
    /// bodies carry what the device sent, UnlockToken and BootstrapToken included, which
    /// is why the URL must be https (or loopback http, for tests).
    pub include_bodies: bool,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            queue_capacity: 10_000,
            include_bodies: true,
        }
    }
}

/// What a [`WebhookSink`] has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookStats {
    /// Events the receiver accepted (a 2xx answer).
    pub delivered: u64,
    /// Events given up on: a 4xx answer other than 429, or every attempt failed.
    pub failed: u64,
    /// Events dropped because the queue was full.
    pub dropped: u64,
    /// Attempts that were retried.
    pub retries: u64,
    /// Events queued and not finished yet.
    pub pending: u64,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
}

/// Builds a [`WebhookSink`].
#[derive(Debug)]
pub struct WebhookBuilder {
    url: String,
    secret: Secret,
    options: WebhookOptions,
    trusted: Vec<X509>,
}

impl WebhookBuilder {
    /// Replaces the delivery options.
    pub fn options(mut self, options: WebhookOptions) -> Self {
        self.options = options;
        self
    }

    /// Trusts these CA certificates (PEM, one or more) for the receiver's TLS certificate,
    /// besides the system's.
    pub fn trust_ca_pem(mut self, pem: &[u8]) -> Result<Self> {
        let certificates = X509::stack_from_pem(pem)
            .map_err(|e| Error::Webhook(format!("CA certificates: {e}")))?;
        if certificates.is_empty() {
            return Err(Error::Webhook("no CA certificate in the PEM".into()));
        }
        self.trusted.extend(certificates);
        Ok(self)
    }

    /// Checks the settings and starts the delivery task (call it inside a Tokio runtime).
    pub fn build(self) -> Result<WebhookSink> {
        let uri: hyper::Uri = self
            .url
            .parse()
            .map_err(|e| Error::Webhook(format!("URL {:?}: {e}", self.url)))?;
        let host = uri.host().unwrap_or_default();
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if loopback => {}
            Some("http") => {
                return Err(Error::Webhook(
                    "the URL must be https (http only to a loopback address)".into(),
                ))
            }
            _ => return Err(Error::Webhook(format!("URL {:?}: not http(s)", self.url))),
        }
        if host.is_empty() {
            return Err(Error::Webhook(format!("URL {:?}: no host", self.url)));
        }
        if self.secret.expose().is_empty() {
            return Err(Error::Webhook("the signing secret is empty".into()));
        }
        let options = self.options;
        if options.max_attempts == 0 || options.queue_capacity == 0 {
            return Err(Error::Webhook(
                "max_attempts and queue_capacity must be at least 1".into(),
            ));
        }
        let tls = |e: openssl::error::ErrorStack| Error::Webhook(format!("TLS setup: {e}"));
        let mut ssl = SslConnector::builder(SslMethod::tls_client()).map_err(tls)?;
        for certificate in self.trusted {
            ssl.cert_store_mut().add_cert(certificate).map_err(tls)?;
        }
        // The client speaks HTTP/1.1 only; offer nothing else.
        ssl.set_alpn_protos(b"\x08http/1.1").map_err(tls)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.timeout));
        let connector = HttpsConnector::with_connector(http, ssl).map_err(tls)?;
        let client = Client::builder(TokioExecutor::new()).build(connector);

        let (sender, receiver) = mpsc::channel(options.queue_capacity);
        let shared = Arc::new(Shared::default());
        let worker = Worker {
            client,
            uri,
            secret: self.secret,
            options,
            shared: shared.clone(),
        };
        tokio::spawn(worker.run(receiver));
        Ok(WebhookSink {
            sender,
            options,
            shared,
        })
    }
}

/// Counters shared by the sink and its delivery task.
#[derive(Debug, Default)]
struct Shared {
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    pending: AtomicU64,
    last_error: Mutex<Option<String>>,
    idle: Notify,
}

impl Shared {
    fn finish(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    fn record_error(&self, error: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }
}

/// An [`EventSink`] that POSTs every event, signed, to one URL. Cheap to clone (clones
/// share the queue and the counters).
#[derive(Clone)]
pub struct WebhookSink {
    sender: mpsc::Sender<Delivery>,
    options: WebhookOptions,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// A builder for a sink posting to `url` (https, or http to a loopback address) and
    /// signing with `secret`.
    pub fn builder(url: impl Into<String>, secret: Secret) -> WebhookBuilder {
        WebhookBuilder {
            url: url.into(),
            secret,
            options: WebhookOptions::default(),
            trusted: Vec::new(),
        }
    }

    /// What the sink has done so far.
    pub fn stats(&self) -> WebhookStats {
        let shared = &self.shared;
        WebhookStats {
            delivered: shared.delivered.load(Ordering::Relaxed),
            failed: shared.failed.load(Ordering::Relaxed),
            dropped: shared.dropped.load(Ordering::Relaxed),
            retries: shared.retries.load(Ordering::Relaxed),
            pending: shared.pending.load(Ordering::Acquire),
            last_error: shared
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Waits until every queued event is delivered or given up on, at most `timeout`;
    /// returns whether the queue is empty (for orderly shutdowns and tests).
    pub async fn flush(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.shared.idle.notified();
                if self.shared.pending.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

#[async_trait]
impl EventSink for WebhookSink {
    async fn publish(&self, event: &Event) {
        let id = uuid::Uuid::new_v4().to_string();
        let kind = event_type(event);
        let body = event_json(event, &id, self.options.include_bodies).to_string();
        let delivery = Delivery {
            id,
            kind,
            body: Bytes::from(body),
        };
        self.shared.pending.fetch_add(1, Ordering::AcqRel);
        if self.sender.try_send(delivery).is_err() {
            self.shared.record_error("queue full: event dropped".into());
            self.shared.finish(&self.shared.dropped);
        }
    }
}

/// One event waiting for delivery.
struct Delivery {
    id: String,
    kind: &'static str,
    body: Bytes,
}

/// The delivery task.
struct Worker {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    uri: hyper::Uri,
    secret: Secret,
    options: WebhookOptions,
    shared: Arc<Shared>,
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    Retry(String),
    GiveUp(String),
}

impl Worker {
    async fn run(self, mut receiver: mpsc::Receiver<Delivery>) {
        while let Some(delivery) = receiver.recv().await {
            self.deliver(&delivery).await;
        }
    }

    async fn deliver(&self, delivery: &Delivery) {
        let mut backoff = self.options.initial_backoff;
        for attempt in 1..=self.options.max_attempts {
            match self.attempt(delivery).await {
                Attempt::Delivered => {
                    self.shared.finish(&self.shared.delivered);
                    return;
                }
                Attempt::GiveUp(error) => {
                    self.shared.record_error(error);
                    break;
                }
                Attempt::Retry(error) => {
                    self.shared.record_error(error);
                    if attempt == self.options.max_attempts {
                        break;
                    }
                    self.shared.retries.fetch_add(1, Ordering::Relaxed);
                    // Full jitter on the upper half: between backoff/2 and backoff.
                    let half = backoff / 2;
                    let jitter = half.mul_f64(fastrand::f64());
                    tokio::time::sleep(half + jitter).await;
                    backoff = (backoff * 2).min(self.options.max_backoff);
                }
            }
        }
        self.shared.finish(&self.shared.failed);
    }

    async fn attempt(&self, delivery: &Delivery) -> Attempt {
        let timestamp = OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = match sign(self.secret.expose(), &timestamp, &delivery.body) {
            Ok(signature) => signature,
            Err(error) => return Attempt::GiveUp(format!("signing: {error}")),
        };
        let request = Request::post(self.uri.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "mdmkit-webhook")
            .header(EVENT_HEADER, delivery.kind)
            .header(DELIVERY_HEADER, delivery.id.as_str())
            .header(TIMESTAMP_HEADER, timestamp.as_str())
            .header(SIGNATURE_HEADER, signature)
            .body(Full::new(delivery.body.clone()));
        let request = match request {
            Ok(request) => request,
            Err(error) => return Attempt::GiveUp(format!("request: {error}")),
        };
        let answer = tokio::time::timeout(self.options.timeout, async {
            let response = self.client.request(request).await?;
            let status = response.status();
            // Read the answer so the connection can be reused.
            let _ = response.into_body().collect().await;
            Ok::<_, hyper_util::client::legacy::Error>(status)
        })
        .await;
        match answer {
            Err(_) => Attempt::Retry(format!("no answer within {:?}", self.options.timeout)),
            Ok(Err(error)) => Attempt::Retry(format!("request failed: {error}")),
            Ok(Ok(status)) if status.is_success() => Attempt::Delivered,
            Ok(Ok(status)) if status.as_u16() == 429 || status.is_server_error() => {
                Attempt::Retry(format!("answered {status}"))
            }
            Ok(Ok(status)) => Attempt::GiveUp(format!("answered {status}")),
        }
    }
}

/// The `type` of an event in the JSON and the `X-Mdmkit-Event` header.
fn event_type(event: &Event) -> &'static str {
    match event {
        Event::Checkin { .. } => "checkin",
        Event::CommandResult { .. } => "command_result",
    }
}

/// The JSON document posted for `event` with delivery id `id`:
///
/// * check-in: `{"id", "type": "checkin", "enrollment_id", "message_type", "at", "body"}`;
/// * result: `{"id", "type": "command_result", "enrollment_id", "command_uuid" (null for
///   Idle), "request_type" (null when unknown), "status", "at", "body"}`;
///
/// `at` is RFC 3339; `body` is the device's plist in standard base64, present only when
/// `include_body`.
pub fn event_json(event: &Event, id: &str, include_body: bool) -> serde_json::Value {
    let base64 = |body: &[u8]| base64::engine::general_purpose::STANDARD.encode(body);
    let at = |at: &OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
    let mut json = match event {
        Event::Checkin {
            enrollment_id,
            message_type,
            at: when,
            ..
        } => serde_json::json!({
            "id": id,
            "type": event_type(event),
            "enrollment_id": enrollment_id.as_str(),
            "message_type": message_type,
            "at": at(when),
        }),
        Event::CommandResult {
            enrollment_id,
            command_uuid,
            request_type,
            status,
            at: when,
            ..
        } => serde_json::json!({
            "id": id,
            "type": event_type(event),
            "enrollment_id": enrollment_id.as_str(),
            "command_uuid": command_uuid,
            "request_type": request_type,
            "status": status.as_str(),
            "at": at(when),
        }),
    };
    if include_body {
        let body = match event {
            Event::Checkin { body, .. } | Event::CommandResult { body, .. } => body,
        };
        json["body"] = serde_json::Value::String(base64(body));
    }
    json
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`: the
/// `X-Mdmkit-Signature` value.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> Result<String> {
    let crypto = |e: openssl::error::ErrorStack| Error::Webhook(format!("HMAC: {e}"));
    let key = PKey::hmac(secret).map_err(crypto)?;
    let mut signer = Signer::new(MessageDigest::sha256(), &key).map_err(crypto)?;
    signer.update(timestamp.as_bytes()).map_err(crypto)?;
    signer.update(b".").map_err(crypto)?;
    signer.update(body).map_err(crypto)?;
    Ok(format!(
        "sha256={}",
        hex::encode(signer.sign_to_vec().map_err(crypto)?)
    ))
}

/// For receivers written in Rust: checks a delivery's `X-Mdmkit-Signature` (constant-time)
/// and that its `X-Mdmkit-Timestamp` is within `tolerance` of `now`.
pub fn verify_signature(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<()> {
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| Error::Webhook(format!("timestamp {timestamp:?} is not Unix seconds")))?;
    let age = (now.unix_timestamp() - seconds).unsigned_abs();
    if age > tolerance.as_secs() {
        return Err(Error::Webhook(format!(
            "timestamp is {age} s away from now (tolerance {} s)",
            tolerance.as_secs()
        )));
    }
    let expected = sign(secret, timestamp, body)?;
    if expected.len() != signature.len() || !memcmp::eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(Error::Webhook("signature mismatch".into()));
    }
    Ok(())
}
