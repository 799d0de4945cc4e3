//! Server time of two pages, through the router as `serve` mounts it (tower `oneshot`:
//! session lookup, CSRF token, service calls, askama rendering; no network):
//!
//! * `GET /portal/devices` for a user with 50 devices (goal: under 5 ms);
//! * `GET /console/` (the dashboard) with 10,000 enrolled devices (goal: under 50 ms).
//!
//! Beside each, the service calls the handler makes, alone, so the difference is what the
//! page adds (session, branding, rendering). Memory store.
//!
//! `cargo bench --bench web_pages` measures 200 requests of each. Without `--bench` (as
//! `cargo test --all-targets` runs it) it is a smoke run of 5. `MDMKIT_BENCH_N` sets
//! another count.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use mdmkit_core::store::{DeviceRecord, EnrollmentRecord, PushInfo};
use mdmkit_core::EnrollmentId;
use mdmkit_service::{InitOptions, Mdm, MdmConfig, OtherCredentials};
use tower::ServiceExt;

fn count() -> usize {
    if let Some(n) = std::env::var("MDMKIT_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        return n;
    }
    if std::env::args().any(|a| a == "--bench") {
        200
    } else {
        5
    }
}

async fn add_devices(mdm: &Mdm, owner: Option<&str>, prefix: &str, n: usize) {
    for i in 0..n {
        let udid = format!("{prefix}-{i:05}");
        let mut record = EnrollmentRecord::new(EnrollmentId::new(&udid));
        record.owner = owner.map(str::to_owned);
        record.enabled = i % 10 != 0;
        if i % 3 != 0 {
            record.push = Some(PushInfo::new(
                vec![0xAB; 32],
                "push-magic",
                "com.apple.mgmt.External.bench",
            ));
        }
        mdm.store()
            .put_enrollment(&record)
            .await
            .expect("enrollment");
        let mut device = DeviceRecord::new(&udid);
        device.model = Some("iPhone15,2".into());
        device.os_version = Some("17.4".into());
        device.serial_number = Some(format!("SN{i:08}"));
        mdm.store().put_device(&device).await.expect("device");
    }
}

async fn get(router: &Router, path: &str, cookie: &str) -> Duration {
    let request = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request");
    let start = Instant::now();
    let response = router.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let elapsed = start.elapsed();
    assert!(body.len() > 1000);
    elapsed
}

fn report(name: &str, mut times: Vec<Duration>) -> f64 {
    times.sort();
    let mean = times.iter().sum::<Duration>().as_secs_f64() * 1e3 / times.len() as f64;
    let median = times[times.len() / 2].as_secs_f64() * 1e3;
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)].as_secs_f64() * 1e3;
    println!("{name:<52} mean {mean:8.3} ms   median {median:8.3} ms   p95 {p95:8.3} ms");
    median
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = count();
    let mdm = Mdm::open(MdmConfig::new("memory:")).await.expect("open");
    let mut options = InitOptions::default();
    options.base_url = Some("http://127.0.0.1:8080".into());
    options.enrollment_profile_id = Some("com.example.mdm".into());
    mdm.enrollment().init(options).await.expect("init");
    let mdm = Mdm::with_store(mdm.store().clone(), MdmConfig::new("memory:"))
        .await
        .expect("reopen");
    mdm.admins()
        .add("admin@example.com", None, "admin-password-1")
        .await
        .expect("admin");
    let invitation = mdm
        .enrollment()
        .invite("alice", "alice@example.com", Duration::from_secs(3600))
        .await
        .expect("invite");
    let token = invitation
        .portal_link
        .split_once("token=")
        .expect("token")
        .1
        .to_owned();
    mdm.portal()
        .accept_invitation(&token, "alice-password-1")
        .await
        .expect("accept");
    add_devices(&mdm, Some("alice"), "ALICE", 50).await;
    add_devices(&mdm, None, "FLEET", 10_000 - 50).await;

    let router = mdmkit_web::pages_router(&mdm, false).await;
    let alice = mdm
        .portal()
        .sign_in("alice@example.com", "alice-password-1")
        .await
        .expect("sign in");
    let alice_cookie = format!("mdmkit_portal={}", alice.token);
    let admin = mdm
        .admins()
        .sign_in("admin@example.com", "admin-password-1")
        .await
        .expect("admin sign in");
    let admin_cookie = format!("mdmkit_console={}", admin.token);
    let session = mdm.portal().session(&alice.token).await.expect("session");

    println!("web pages, {n} requests each (memory store, 10,000 enrollments, 50 of them alice's)");
    // Warm up.
    get(&router, "/portal/devices", &alice_cookie).await;
    get(&router, "/console/", &admin_cookie).await;

    let mut page = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..n {
        page.push(get(&router, "/portal/devices", &alice_cookie).await);
        let start = Instant::now();
        let devices = session.devices().await.expect("devices");
        calls.push(start.elapsed());
        assert_eq!(devices.len(), 50);
    }
    let page_ms = report("GET /portal/devices (50 devices), whole request", page);
    let call_ms = report("  of which PortalSession::devices() alone", calls);
    println!(
        "  page overhead (session, branding, rendering): {:.3} ms; goal < 5 ms: {}",
        page_ms - call_ms,
        if page_ms < 5.0 { "met" } else { "NOT met" }
    );

    let mut page = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..n {
        page.push(get(&router, "/console/", &admin_cookie).await);
        let start = Instant::now();
        mdm.expiry()
            .dashboard(&OtherCredentials::default())
            .await
            .expect("dashboard");
        let counts = mdm.devices().counts().await.expect("counts");
        calls.push(start.elapsed());
        assert_eq!(counts.total, 10_000);
    }
    let page_ms = report("GET /console/ (10,000 devices), whole request", page);
    let call_ms = report("  of which dashboard() + Devices::counts() alone", calls);
    println!(
        "  page overhead (session, rendering): {:.3} ms; goal < 50 ms: {}",
        page_ms - call_ms,
        if page_ms < 50.0 { "met" } else { "NOT met" }
    );
}
