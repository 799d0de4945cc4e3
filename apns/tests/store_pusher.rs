//! The store-backed pusher against the mock APNs server: certificates installed, renewed
//! and deleted through the lifecycle on one store handle are picked up by a pusher on
//! another handle of the same database (SQLite file, PostgreSQL), without restart; each
//! topic pushes with its own certificate. The mock records the serial of the client
//! certificate each push presented.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mdmkit_apns::client::{Endpoint, RetryPolicy};
use mdmkit_apns::mock::{Answer, MockConfig, MockServer, ReceivedPush, Script, TestPki};
use mdmkit_apns::testing::TestCa;
use mdmkit_apns::{
    FollowUp, InstallRequest, PrivateKey, PushCertLifecycle, PushCertificate, StorePusher,
    StorePusherOptions,
};
use mdmkit_core::push::{PushInfo, PushOutcome, PushTarget, Pusher};
use mdmkit_core::store::{AtRestKey, EnrollmentRecord, MemoryStore, SharedStore};
use mdmkit_core::EnrollmentId;
use time::OffsetDateTime;

const T1: &str = "com.apple.mgmt.External.11111111-1111-1111-1111-111111111111";
const T2: &str = "com.apple.mgmt.External.22222222-2222-2222-2222-222222222222";

/// How long a change made by another handle may take to be used (the goal is under 5 s).
const PICK_UP_LIMIT: Duration = Duration::from_secs(5);

struct World {
    /// Apple's stand-in: issues the push certificates; the mock trusts it for clients.
    apple: TestCa,
    pki: TestPki,
    server: MockServer,
}

async fn world(script: Script) -> World {
    let apple = TestCa::new("Test Apple Push CA");
    // Only its server certificate is used (the push certificates come from `apple`).
    let pki = TestPki::generate("com.apple.mgmt.mock").unwrap();
    let config = MockConfig::new(
        pki.server_cert_pem.clone(),
        pki.server_key_pem.clone(),
        apple.certificate_pem(),
    )
    .script(script);
    let server = MockServer::start(config).await.unwrap();
    World { apple, pki, server }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl World {
    fn options(&self, poll: Duration) -> StorePusherOptions {
        StorePusherOptions::new(Endpoint::from_url(&self.server.url()).unwrap())
            .server_ca_pem(self.pki.ca_pem.clone())
            .retry(RetryPolicy::new(
                2,
                Duration::from_millis(5),
                Duration::from_millis(10),
            ))
            .poll_interval(poll)
    }

    /// Installs (or renews) a certificate for `topic` valid until `not_after` (and from a
    /// year before: keep `not_after` within a year from now for the mock to accept it), through
    /// `lifecycle`, as at `at`. Returns its serial and the install's follow-up.
    async fn install_at(
        &self,
        lifecycle: &PushCertLifecycle,
        topic: &str,
        not_after: OffsetDateTime,
        at: OffsetDateTime,
    ) -> (String, Option<FollowUp>) {
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let der = self.apple.issue_push_cert(Some(topic), &key, not_after);
        let certificate = PushCertificate::from_der(&der).unwrap();
        let serial = certificate.serial().to_owned();
        let request = InstallRequest::new(certificate, "mdm@example.com")
            .note("obtained today")
            .key(key);
        let outcome = lifecycle.install(request, at).await.unwrap();
        (serial, outcome.follow_up)
    }

    async fn install(&self, lifecycle: &PushCertLifecycle, topic: &str) -> String {
        self.install_at(lifecycle, topic, now() + time::Duration::days(365), now())
            .await
            .0
    }

    /// The last push the mock received for a token.
    fn last_for(&self, token: &[u8]) -> Option<ReceivedPush> {
        let hex = hex::encode(token);
        self.server
            .received()
            .into_iter()
            .rev()
            .find(|push| push.token_hex() == Some(hex.as_str()))
    }
}

fn token(n: u8) -> Vec<u8> {
    vec![n; 32]
}

/// Enrolls a device under `topic` in `store`; returns its push target.
async fn enroll(store: &SharedStore, id: &str, n: u8, topic: &str) -> PushTarget {
    let id = EnrollmentId::device(id);
    let mut record = EnrollmentRecord::new(id.clone());
    record.enrolled_topic = Some(topic.to_owned());
    record.enabled = true;
    store.put_enrollment(&record).await.unwrap();
    let info = PushInfo::new(token(n), format!("magic-{n}"), topic);
    store.set_push_info(&id, &info).await.unwrap();
    store
        .push_targets_for(std::slice::from_ref(&id))
        .await
        .unwrap()
        .remove(0)
}

/// Pushes `target` every 20 ms until `done` says the outcome is the one awaited; returns
/// the time it took and the outcome. Fails the test after [`PICK_UP_LIMIT`].
async fn push_until(
    pusher: &StorePusher,
    target: &PushTarget,
    mut done: impl FnMut(&PushOutcome) -> bool,
    what: &str,
) -> (Duration, PushOutcome) {
    let started = Instant::now();
    loop {
        let outcome = pusher.push(target).await;
        if done(&outcome) {
            return (started.elapsed(), outcome);
        }
        assert!(
            started.elapsed() < PICK_UP_LIMIT,
            "{what}: not picked up within {PICK_UP_LIMIT:?}; last outcome {outcome:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn refused_for_missing_topic(outcome: &PushOutcome) -> bool {
    matches!(outcome, PushOutcome::Rejected { status: 0, reason, .. }
        if reason.starts_with("topic_not_found: "))
}

/// The whole scenario over two handles of one database: `serving` runs the pusher,
/// `admin` installs, renews and deletes through its own lifecycle (as `mdmkit push-cert`
/// in another process would). Returns the pick-up delays measured (install → first push
/// presenting the new certificate).
async fn renewals_without_restart(serving: SharedStore, admin: SharedStore) -> Vec<Duration> {
    let world = world(Script::default()).await;
    let lifecycle = PushCertLifecycle::new(admin.clone()).multiple_topics(true);
    let first = world.install(&lifecycle, T1).await;
    let d1 = enroll(&admin, "D1", 1, T1).await;

    let pusher = StorePusher::start(serving.clone(), world.options(Duration::from_secs(1)))
        .await
        .unwrap();
    assert!(pusher.push(&d1).await.is_delivered());
    assert_eq!(
        world.last_for(&token(1)).unwrap().client_serial.as_deref(),
        Some(first.as_str())
    );
    let loaded = pusher.topics();
    assert_eq!(loaded.len(), 1);
    assert_eq!(
        (loaded[0].topic.as_str(), loaded[0].serial.as_str()),
        (T1, first.as_str())
    );

    let mut delays = Vec::new();
    // A renewal (same topic) from the other handle: the next pushes present it.
    let renewed = world.install(&lifecycle, T1).await;
    let installed = Instant::now();
    loop {
        let outcome = pusher.push(&d1).await;
        assert!(outcome.is_delivered(), "{outcome:?}");
        let serial = world.last_for(&token(1)).unwrap().client_serial.unwrap();
        if serial == renewed {
            delays.push(installed.elapsed());
            break;
        }
        assert_eq!(serial, first, "only the old or the new certificate");
        assert!(
            installed.elapsed() < PICK_UP_LIMIT,
            "renewal not picked up within {PICK_UP_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Deleted from the other handle: pushes are refused, saying why.
    lifecycle.delete(T1).await.unwrap();
    let (_, refused) = push_until(&pusher, &d1, refused_for_missing_topic, "deletion").await;
    match refused {
        PushOutcome::Rejected { reason, .. } => {
            assert!(reason.contains(T1), "{reason}");
            assert!(reason.contains("mdmkit push-cert install"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(pusher.topics().is_empty());

    // Installed again: pushes resume with the new certificate.
    let again = world.install(&lifecycle, T1).await;
    let installed = Instant::now();
    push_until(&pusher, &d1, PushOutcome::is_delivered, "install again").await;
    delays.push(installed.elapsed());
    assert_eq!(
        world.last_for(&token(1)).unwrap().client_serial.as_deref(),
        Some(again.as_str())
    );

    // Two topics at once, each device pushed with its own certificate.
    let second_topic = world.install(&lifecycle, T2).await;
    let installed = Instant::now();
    let d2 = enroll(&admin, "D2", 2, T2).await;
    push_until(&pusher, &d2, PushOutcome::is_delivered, "second topic").await;
    delays.push(installed.elapsed());
    let results = pusher.push_many(vec![d1.clone(), d2.clone()], None).await;
    assert!(
        results.iter().all(|r| r.outcome.is_delivered()),
        "{results:?}"
    );
    let p1 = world.last_for(&token(1)).unwrap();
    let p2 = world.last_for(&token(2)).unwrap();
    assert_eq!(p1.client_serial.as_deref(), Some(again.as_str()));
    assert_eq!(p1.header("apns-topic"), Some(T1));
    assert_eq!(p2.client_serial.as_deref(), Some(second_topic.as_str()));
    assert_eq!(p2.header("apns-topic"), Some(T2));
    assert_ne!(p1.connection, p2.connection, "one connection per topic");

    // A device of a topic never installed is refused with the same code.
    let d3 = enroll(&admin, "D3", 3, "com.apple.mgmt.External.not-installed").await;
    assert!(refused_for_missing_topic(&pusher.push(&d3).await));
    delays
}

fn report(backend: &str, delays: &[Duration]) {
    // Printed for the notes (run with --nocapture): install → first push presenting it.
    let shown: Vec<String> = delays
        .iter()
        .map(|d| format!("{} ms", d.as_millis()))
        .collect();
    println!(
        "{backend}: pick-up delays with a 1 s poll: {}",
        shown.join(", ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_handles_renewal_delete_reinstall_two_topics() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("mdm.db");
    let location = location.to_str().unwrap();
    let key = AtRestKey::from_bytes(&[7; 32]).unwrap();
    let serving = mdmkit_core::store::open(location, key.clone())
        .await
        .unwrap();
    let admin = mdmkit_core::store::open(location, key).await.unwrap();
    let delays = renewals_without_restart(serving, admin).await;
    report("SQLite", &delays);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_handles_renewal_delete_reinstall_two_topics() {
    let url = match std::env::var("MDMKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL pusher test (set MDMKIT_TEST_POSTGRES_URL, e.g. with \
                 `. scripts/postgres.sh`)"
            );
            return;
        }
    };
    let schema = format!("mdmkit_pusher_{:016x}", fastrand::u64(..));
    let key = AtRestKey::from_bytes(&[8; 32]).unwrap();
    let serving = mdmkit_core::store::PostgresStore::connect_in_schema(&url, &schema, key.clone())
        .await
        .unwrap();
    let admin = mdmkit_core::store::PostgresStore::connect_in_schema(&url, &schema, key)
        .await
        .unwrap();
    let delays = renewals_without_restart(Arc::new(serving), Arc::new(admin)).await;
    report("PostgreSQL", &delays);
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&mut connection)
        .await
        .unwrap();
}

/// Changes made through a lifecycle the pusher follows apply at once, without waiting
/// for the poll (here a minute).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_a_followed_lifecycle_apply_at_once() {
    let world = world(Script::default()).await;
    let store: SharedStore = Arc::new(MemoryStore::new());
    let lifecycle = PushCertLifecycle::new(store.clone());
    let pusher = StorePusher::start(store.clone(), world.options(Duration::from_secs(60)))
        .await
        .unwrap();
    pusher.follow(&lifecycle).unwrap();
    let d1 = enroll(&store, "D1", 1, T1).await;
    assert!(refused_for_missing_topic(&pusher.push(&d1).await));

    let first = world.install(&lifecycle, T1).await;
    let (took, _) = push_until(&pusher, &d1, PushOutcome::is_delivered, "install").await;
    assert!(took < Duration::from_secs(2), "{took:?}");
    let renewed = world.install(&lifecycle, T1).await;
    assert_ne!(first, renewed);
    let (took, _) = push_until(
        &pusher,
        &d1,
        |_| world.last_for(&token(1)).unwrap().client_serial.as_deref() == Some(&renewed),
        "renewal",
    )
    .await;
    assert!(took < Duration::from_secs(2), "{took:?}");
    lifecycle.delete(T1).await.unwrap();
    let (took, _) = push_until(&pusher, &d1, refused_for_missing_topic, "deletion").await;
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// A push in flight during a renewal finishes on the old connection with the old
/// certificate; the next push presents the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_in_flight_finishes_on_the_old_connection() {
    let mut script = Script::default();
    script
        .push_answers(&hex::encode(token(9)), [Answer::ok().delayed(600)])
        .unwrap();
    let world = world(script).await;
    let store: SharedStore = Arc::new(MemoryStore::new());
    let lifecycle = PushCertLifecycle::new(store.clone());
    let old = world.install(&lifecycle, T1).await;
    let slow = enroll(&store, "SLOW", 9, T1).await;
    let fast = enroll(&store, "FAST", 1, T1).await;
    let pusher = StorePusher::start(store.clone(), world.options(Duration::from_secs(60)))
        .await
        .unwrap();
    let in_flight = tokio::spawn({
        let pusher = pusher.clone();
        async move { pusher.push(&slow).await }
    });
    // Let the slow push reach the server before the renewal.
    let started = Instant::now();
    while world.server.stats().streams == 0 {
        assert!(started.elapsed() < PICK_UP_LIMIT);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let renewed = world.install(&lifecycle, T1).await;
    assert_eq!(pusher.reload().await.unwrap(), vec![T1.to_owned()]);
    assert!(pusher.push(&fast).await.is_delivered());
    assert!(in_flight.await.unwrap().is_delivered());
    let slow_push = world.last_for(&token(9)).unwrap();
    let fast_push = world.last_for(&token(1)).unwrap();
    assert_eq!(slow_push.client_serial.as_deref(), Some(old.as_str()));
    assert_eq!(fast_push.client_serial.as_deref(), Some(renewed.as_str()));
    assert_ne!(slow_push.connection, fast_push.connection);
    // Nothing changed since: a reload finds nothing to do.
    assert!(pusher.reload().await.unwrap().is_empty());
}

/// After renewing an expired certificate, the install's follow-up lists the devices to
/// synchronise; the pusher pushes each of them with the new certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewing_an_expired_certificate_synchronises_its_devices() {
    let world = world(Script::default()).await;
    let store: SharedStore = Arc::new(MemoryStore::new());
    let lifecycle = PushCertLifecycle::new(store.clone());
    world
        .install_at(&lifecycle, T1, now() + time::Duration::days(1), now())
        .await;
    let d1 = enroll(&store, "D1", 1, T1).await;
    let d2 = enroll(&store, "D2", 2, T1).await;
    let pusher = StorePusher::start(store.clone(), world.options(Duration::from_secs(60)))
        .await
        .unwrap();
    // Two days later the first certificate has expired; the renewal is installed then.
    let later = now() + time::Duration::days(2);
    let (renewed, follow_up) = world
        .install_at(&lifecycle, T1, now() + time::Duration::days(300), later)
        .await;
    let follow_up = follow_up.expect("an expired certificate was renewed");
    let results = pusher.synchronise(&follow_up, None).await.unwrap();
    assert_eq!(results.len(), 2);
    assert!(
        results.iter().all(|r| r.outcome.is_delivered()),
        "{results:?}"
    );
    for (target, n) in [(&d1, 1), (&d2, 2)] {
        let push = world.last_for(&token(n)).unwrap();
        assert_eq!(push.client_serial.as_deref(), Some(renewed.as_str()));
        assert_eq!(push.body, format!("{{\"mdm\":\"magic-{n}\"}}").into_bytes());
        assert_eq!(target.push.topic, T1);
    }
    let again = pusher.synchronise_topic(T1, None).await.unwrap();
    assert_eq!(again.len(), 2);
}

/// Bad options are refused at start, with the crate's configuration code.
#[tokio::test]
async fn bad_options_are_refused() {
    let store: SharedStore = Arc::new(MemoryStore::new());
    for options in [
        StorePusherOptions::sandbox().poll_interval(Duration::from_millis(1)),
        StorePusherOptions::sandbox().connections(0),
        StorePusherOptions::sandbox().max_in_flight(0),
    ] {
        let error = StorePusher::start(store.clone(), options)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_config");
    }
}

/// A stored certificate that has expired refuses its pushes at once, saying so, instead of
/// failing the TLS handshake after every retry; a renewal resumes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_refuses_its_pushes_with_the_reason() {
    use mdmkit_core::store::PushCertificateRecord;
    use mdmkit_core::Secret;
    let world = world(Script::default()).await;
    let store: SharedStore = Arc::new(MemoryStore::new());
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let expired_at = now() - time::Duration::days(1);
    let der = world.apple.issue_push_cert(Some(T1), &key, expired_at);
    // Stored as it was installed a year ago (the lifecycle refuses expired installs).
    let record =
        PushCertificateRecord::new(T1, der, Secret::new(key.to_pem().unwrap()), expired_at);
    store.put_push_certificate(&record).await.unwrap();
    let d1 = enroll(&store, "D1", 1, T1).await;
    let pusher = StorePusher::start(store.clone(), world.options(Duration::from_secs(60)))
        .await
        .unwrap();
    match pusher.push(&d1).await {
        PushOutcome::Rejected {
            status: 0, reason, ..
        } => {
            assert!(reason.starts_with("certificate_expired: "), "{reason}");
            assert!(reason.contains(T1), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(world.server.received().is_empty());
    let lifecycle = PushCertLifecycle::new(store.clone());
    let renewed = world.install(&lifecycle, T1).await;
    pusher.reload().await.unwrap();
    assert!(pusher.push(&d1).await.is_delivered());
    assert_eq!(
        world.last_for(&token(1)).unwrap().client_serial.as_deref(),
        Some(renewed.as_str())
    );
}
