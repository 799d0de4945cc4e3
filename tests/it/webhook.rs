//! The webhook event sink against a real HTTP receiver on loopback: signed JSON for every
//! check-in and result, retries on 5xx/429, no retry on other 4xx, failures and dropped
//! events counted, settings refused with a typed error.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use mdmkit_core::engine::webhook::{
    verify_signature, WebhookOptions, WebhookSink, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};
use mdmkit_core::engine::{Engine, Event, EventSink};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::MemoryStore;
use mdmkit_core::{CommandStatus, EnrollmentId, Error, Secret};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use time::OffsetDateTime;

const SECRET: &[u8] = b"webhook test secret";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct Receiver {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer, in order; 200 once empty.
    script: Mutex<VecDeque<u16>>,
    delay: Mutex<Duration>,
}

async fn hook(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    receiver
        .received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    let delay = *receiver.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// Starts a receiver on loopback; returns it and its URL.
async fn receiver(script: &[u16]) -> (Arc<Receiver>, String) {
    let receiver = Arc::new(Receiver::default());
    receiver.script.lock().unwrap().extend(script);
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, format!("http://{address}/hook"))
}

fn quick() -> WebhookOptions {
    let mut options = WebhookOptions::default();
    options.initial_backoff = Duration::from_millis(10);
    options.max_backoff = Duration::from_millis(40);
    options.timeout = Duration::from_secs(5);
    options
}

fn sink(url: &str, options: WebhookOptions) -> WebhookSink {
    WebhookSink::builder(url, Secret::from(SECRET.to_vec()))
        .options(options)
        .build()
        .unwrap()
}

fn result_event(n: usize) -> Event {
    Event::CommandResult {
        enrollment_id: EnrollmentId::device("WEBHOOK-UDID"),
        command_uuid: Some(format!("CMD-{n}")),
        request_type: Some("DeviceLock".into()),
        status: CommandStatus::Acknowledged,
        body: b"<plist/>".to_vec(),
        at: OffsetDateTime::now_utc(),
    }
}

fn header<'a>(received: &'a Received, name: &str) -> &'a str {
    received.headers[name].to_str().unwrap()
}

#[tokio::test]
async fn every_checkin_and_result_is_posted_signed_in_order() {
    let (receiver, url) = receiver(&[]).await;
    let sink = sink(&url, quick());
    let ca = DeviceCa::new("Webhook Device CA").unwrap();
    let engine = Engine::builder(
        Arc::new(MemoryStore::new()),
        Arc::new(RecordingPusher::new()),
    )
    .device_ca(ca.certificate_pem().unwrap())
    .events(Arc::new(sink.clone()))
    .build()
    .unwrap();
    let device = SimulatedDevice::new("WEBHOOK-UDID-1", "com.apple.mgmt.External.webhook")
        .with_identity(ca.issue("WEBHOOK-UDID-1").unwrap());
    let authenticate = device.authenticate().unwrap();
    let token_update = device.token_update(&[9; 32], "MAGIC").unwrap();
    for body in [authenticate.clone(), token_update.clone()] {
        let response = engine.handle_checkin(device.request(body).unwrap()).await;
        assert_eq!(response.status, 200, "{:?}", response.error);
    }
    let idle = device.idle().unwrap();
    let response = engine
        .handle_command(device.request(idle.clone()).unwrap())
        .await;
    assert_eq!(response.status, 200, "{:?}", response.error);

    assert!(
        sink.flush(Duration::from_secs(10)).await,
        "delivered in time"
    );
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.dropped), (3, 0, 0));
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    let now = OffsetDateTime::now_utc();
    let mut kinds = Vec::new();
    for (got, sent) in received.iter().zip([&authenticate, &token_update, &idle]) {
        verify_signature(
            SECRET,
            header(got, TIMESTAMP_HEADER),
            &got.body,
            header(got, SIGNATURE_HEADER),
            now,
            Duration::from_secs(300),
        )
        .unwrap();
        assert_eq!(header(got, "content-type"), "application/json");
        let json: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(json["id"], header(got, DELIVERY_HEADER));
        assert_eq!(json["type"], header(got, EVENT_HEADER));
        assert_eq!(json["enrollment_id"], "WEBHOOK-UDID-1");
        let body = base64::engine::general_purpose::STANDARD
            .decode(json["body"].as_str().unwrap())
            .unwrap();
        assert_eq!(&body, sent, "the device's body, unchanged");
        kinds.push(format!(
            "{}:{}",
            json["type"].as_str().unwrap(),
            json["message_type"]
                .as_str()
                .or(json["status"].as_str())
                .unwrap()
        ));
    }
    assert_eq!(
        kinds,
        [
            "checkin:Authenticate",
            "checkin:TokenUpdate",
            "command_result:Idle"
        ]
    );
}

#[tokio::test]
async fn server_errors_and_429_are_retried_with_the_same_delivery_id() {
    let (receiver, url) = receiver(&[500, 429, 503]).await;
    let sink = sink(&url, quick());
    sink.publish(&result_event(1)).await;
    assert!(sink.flush(Duration::from_secs(10)).await);
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.retries), (1, 0, 3));
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 4);
    let id = header(&received[0], DELIVERY_HEADER);
    assert!(received.iter().all(|r| header(r, DELIVERY_HEADER) == id));
    // Each attempt is signed afresh; all verify.
    for got in &received {
        verify_signature(
            SECRET,
            header(got, TIMESTAMP_HEADER),
            &got.body,
            header(got, SIGNATURE_HEADER),
            OffsetDateTime::now_utc(),
            Duration::from_secs(300),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn other_client_errors_are_not_retried_and_failures_are_counted() {
    let (receiver, url) = receiver(&[400]).await;
    let sink = sink(&url, quick());
    sink.publish(&result_event(1)).await;
    sink.publish(&result_event(2)).await;
    assert!(sink.flush(Duration::from_secs(10)).await);
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.retries), (1, 1, 0));
    assert!(
        stats.last_error.as_deref().unwrap().contains("400"),
        "{stats:?}"
    );
    assert_eq!(receiver.received.lock().unwrap().len(), 2);

    // Nobody listening: every attempt fails, then the event counts as failed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut options = quick();
    options.max_attempts = 3;
    let sink = self::sink(&format!("http://127.0.0.1:{port}/hook"), options);
    sink.publish(&result_event(3)).await;
    assert!(sink.flush(Duration::from_secs(10)).await);
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.retries), (0, 1, 2));
    assert!(
        stats
            .last_error
            .as_deref()
            .unwrap()
            .contains("request failed"),
        "{stats:?}"
    );
    assert!(!format!("{stats:?}{sink:?}").contains("webhook test secret"));
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_instead_of_blocking_the_device() {
    let (receiver, url) = receiver(&[]).await;
    *receiver.delay.lock().unwrap() = Duration::from_millis(50);
    let mut options = quick();
    options.queue_capacity = 2;
    let sink = sink(&url, options);
    // The receiver takes 50 ms per event; publishing does not wait for it, so most of
    // these find the queue full.
    for n in 0..20 {
        sink.publish(&result_event(n)).await;
    }
    assert!(sink.flush(Duration::from_secs(10)).await);
    let stats = sink.stats();
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(stats.delivered + stats.dropped, 20, "{stats:?}");
    assert_eq!(stats.pending, 0);
    assert_eq!(
        receiver.received.lock().unwrap().len() as u64,
        stats.delivered
    );
}

#[tokio::test]
async fn unusable_settings_and_bad_signatures_are_typed_errors() {
    let build = |url: &str, secret: &[u8]| {
        WebhookSink::builder(url, Secret::from(secret.to_vec()))
            .build()
            .map(|_| ())
    };
    for (url, secret) in [
        ("http://hooks.example.com/mdm", SECRET),
        ("ftp://127.0.0.1/hook", SECRET),
        ("not a url", SECRET),
        ("https://hooks.example.com/mdm", b"".as_slice()),
    ] {
        let error = build(url, secret).unwrap_err();
        assert_eq!(error.code(), "webhook_invalid", "{url}: {error}");
    }
    build("https://hooks.example.com/mdm", SECRET).unwrap();
    build("http://[::1]:9/hook", SECRET).unwrap();
    let error = WebhookSink::builder("https://hooks.example.com", Secret::from(SECRET.to_vec()))
        .trust_ca_pem(b"not a certificate")
        .unwrap_err();
    assert!(matches!(error, Error::Webhook(_)));

    let now = OffsetDateTime::now_utc();
    let timestamp = now.unix_timestamp().to_string();
    let body = br#"{"type":"checkin"}"#;
    let signature = mdmkit_core::engine::webhook::sign(SECRET, &timestamp, body).unwrap();
    let ok = |secret: &[u8], ts: &str, body: &[u8], sig: &str| {
        verify_signature(secret, ts, body, sig, now, Duration::from_secs(300))
    };
    ok(SECRET, &timestamp, body, &signature).unwrap();
    assert!(ok(b"other secret", &timestamp, body, &signature).is_err());
    assert!(ok(SECRET, &timestamp, br#"{"type":"checkout"}"#, &signature).is_err());
    assert!(ok(SECRET, &timestamp, body, "sha256=00").is_err());
    let old = (now.unix_timestamp() - 3600).to_string();
    let old_signature = mdmkit_core::engine::webhook::sign(SECRET, &old, body).unwrap();
    assert!(ok(SECRET, &old, body, &old_signature).is_err(), "replayed");
    assert!(ok(SECRET, "yesterday", body, &signature).is_err());
}
