//! Webhook delivery: events per second from `WebhookSink` to a receiver on loopback
//! (HTTP/1.1, one keep-alive connection, each request signed with HMAC-SHA256), and what
//! one `publish` costs the device's request (the JSON document and the queue, not the
//! delivery).
//!
//! The receiver is an axum server in the same process that answers 200 to every POST.
//! Events are command results with a 1 KiB plist body (sent base64 in the JSON).
//!
//! `cargo bench --bench webhook` delivers 20,000 events. Without `--bench` (as
//! `cargo test --all-targets` runs it) it is a smoke run with 200.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use mdmkit_core::engine::webhook::{WebhookOptions, WebhookSink};
use mdmkit_core::engine::{Event, EventSink};
use mdmkit_core::{CommandStatus, EnrollmentId, Secret};
use time::OffsetDateTime;

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let n: u64 = if full { 20_000 } else { 200 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(n))
}

async fn run(n: u64) -> Result<(), BoxError> {
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut options = WebhookOptions::default();
    options.queue_capacity = n as usize;
    let sink = WebhookSink::builder(url, Secret::from(b"bench secret".to_vec()))
        .options(options)
        .build()?;
    let events: Vec<Event> = (0..n)
        .map(|i| Event::CommandResult {
            enrollment_id: EnrollmentId::device(&format!("BENCH-UDID-{i}")),
            command_uuid: Some(format!("CMD-{i}")),
            request_type: Some("DeviceInformation".into()),
            status: CommandStatus::Acknowledged,
            body: vec![b'x'; 1024],
            at: OffsetDateTime::now_utc(),
        })
        .collect();

    let started = Instant::now();
    for event in &events {
        sink.publish(event).await;
    }
    let published = started.elapsed();
    if !sink.flush(Duration::from_secs(600)).await {
        return Err("the webhook queue did not drain".into());
    }
    let delivered = started.elapsed();
    let stats = sink.stats();
    if stats.delivered != n || received.load(Ordering::Relaxed) != n {
        return Err(format!("not every event was delivered: {stats:?}").into());
    }
    println!(
        "webhook: {n} events, 1 KiB bodies: publish {:.2} µs per event (what the device's \
         request pays); delivered and acknowledged {:.0} events/s ({:.3} s), {} retries",
        published.as_secs_f64() * 1e6 / n as f64,
        n as f64 / delivered.as_secs_f64(),
        delivered.as_secs_f64(),
        stats.retries
    );
    Ok(())
}
