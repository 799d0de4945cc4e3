//! The APNs client against the mock server: every answer and fault of the protocol.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mdmkit_apns::client::{ApnsClient, ApnsConfig, ClientIdentity, Endpoint, Reason, RetryPolicy};
use mdmkit_apns::mock::{
    Answer, ClientCertMode, ConnectionPlan, MockConfig, MockServer, Script, TestPki,
};
use mdmkit_core::push::{
    push_and_mark_invalid, ProgressCallback, PushInfo, PushOutcome, PushProgress, PushTarget,
    Pusher,
};
use mdmkit_core::store::{EnrollmentRecord, EnrollmentStore, MemoryStore};

const TOPIC: &str = "com.apple.mgmt.External.5c1b7d4e-test";

struct Setup {
    pki: TestPki,
    server: MockServer,
}

async fn setup(script: Script) -> Setup {
    let pki = TestPki::generate(TOPIC).unwrap();
    let config = MockConfig::new(
        pki.server_cert_pem.clone(),
        pki.server_key_pem.clone(),
        pki.ca_pem.clone(),
    )
    .script(script);
    let server = MockServer::start(config).await.unwrap();
    Setup { pki, server }
}

impl Setup {
    fn config(&self) -> ApnsConfig {
        let identity =
            ClientIdentity::from_pem(&self.pki.client_cert_pem, &self.pki.client_key_pem).unwrap();
        ApnsConfig::new(Endpoint::from_url(&self.server.url()).unwrap(), identity)
            .server_ca_pem(self.pki.ca_pem.clone())
            .retry(RetryPolicy::new(
                4,
                Duration::from_millis(1),
                Duration::from_millis(5),
            ))
    }

    fn client(&self) -> ApnsClient {
        ApnsClient::new(self.config()).unwrap()
    }
}

fn token(n: u32) -> Vec<u8> {
    let mut token = vec![0xd0; 32];
    token[28..].copy_from_slice(&n.to_be_bytes());
    token
}

fn target(n: u32) -> PushTarget {
    PushTarget::new(
        format!("DEVICE-{n}").into(),
        PushInfo::new(token(n), format!("magic-{n}"), TOPIC),
    )
}

fn rejected(outcome: &PushOutcome) -> (u16, &str, bool, Option<i64>) {
    match outcome {
        PushOutcome::Rejected {
            status,
            reason,
            token_invalid,
            invalid_since_ms,
        } => (*status, reason.as_str(), *token_invalid, *invalid_since_ms),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn delivered_push_has_apples_headers_and_body() {
    let setup = setup(Script::default()).await;
    let client = ApnsClient::new(setup.config().expiration(Duration::from_secs(3600))).unwrap();
    assert_eq!(client.topic(), TOPIC);
    let outcome = client.push(&target(1)).await;
    let PushOutcome::Delivered { apns_id } = outcome else {
        panic!("not delivered: {outcome:?}");
    };
    let received = setup.server.received();
    assert_eq!(received.len(), 1);
    let push = &received[0];
    assert_eq!(push.apns_id, apns_id);
    assert_eq!(push.method, "POST");
    assert_eq!(
        push.path,
        format!("/3/device/{}", target(1).push.token_hex())
    );
    assert_eq!(push.body, br#"{"mdm":"magic-1"}"#);
    assert!(push.client_certificate);
    assert_eq!(push.header("apns-push-type"), Some("mdm"));
    assert_eq!(push.header("apns-topic"), Some(TOPIC));
    assert_eq!(push.header("apns-priority"), Some("10"));
    let expiration: u64 = push.header("apns-expiration").unwrap().parse().unwrap();
    assert!(expiration > 1_700_000_000);

    // Without expiration asked, no header.
    setup.client().push(&target(2)).await;
    assert_eq!(setup.server.received()[1].header("apns-expiration"), None);
}

#[tokio::test]
async fn unregistered_410_is_final_and_marks_the_token_invalid_in_the_store() {
    let mut script = Script::default();
    script
        .push_answers(
            &target(1).push.token_hex(),
            [Answer::unregistered(1_700_000_000_123)],
        )
        .unwrap();
    script
        .push_answers(
            &target(2).push.token_hex(),
            [Answer::error(410, "ExpiredToken")],
        )
        .unwrap();
    let setup = setup(script).await;
    let store = MemoryStore::new();
    for n in 1..=3 {
        let target = target(n);
        store
            .put_enrollment(&EnrollmentRecord::new(target.enrollment_id.clone()))
            .await
            .unwrap();
        store
            .set_push_info(&target.enrollment_id, &target.push)
            .await
            .unwrap();
    }
    let client = setup.client();
    let targets = store.push_targets_for_topic(TOPIC).await.unwrap();
    let results = push_and_mark_invalid(&store, &client, targets, None)
        .await
        .unwrap();
    assert_eq!(
        rejected(&results[0].outcome),
        (410, "Unregistered", true, Some(1_700_000_000_123))
    );
    assert_eq!(
        rejected(&results[1].outcome),
        (410, "ExpiredToken", true, None)
    );
    assert!(results[2].outcome.is_delivered());
    // Not retried: one request each.
    assert_eq!(setup.server.received().len(), 3);
    let info = store
        .get_push_info(&"DEVICE-1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        info.invalid_since
            .map(|t| t.unix_timestamp_nanos() / 1_000_000),
        Some(1_700_000_000_123)
    );
    assert!(!store
        .get_push_info(&"DEVICE-2".into())
        .await
        .unwrap()
        .unwrap()
        .is_valid());
    // The next push to the topic reaches only the device whose token is still valid; a
    // target marked invalid is refused without being sent.
    let targets = store.push_targets_for_topic(TOPIC).await.unwrap();
    assert_eq!(targets.len(), 1);
    let marked = PushTarget::new("DEVICE-1".into(), info);
    assert_eq!(rejected(&client.push(&marked).await).0, 0);
    assert_eq!(setup.server.received().len(), 3);
}

#[tokio::test]
async fn client_errors_are_rejections_with_their_reason() {
    let cases = [
        Answer::error(400, "BadDeviceToken"),
        Answer::error(400, "DeviceTokenNotForTopic"),
        Answer::error(403, "BadCertificate"),
        Answer::error(403, "BadCertificateEnvironment"),
        Answer::error(413, "PayloadTooLarge"),
        Answer::error(400, "ABrandNewReason"),
    ];
    let mut script = Script::default();
    for (n, answer) in cases.iter().enumerate() {
        script
            .push_answers(&target(n as u32).push.token_hex(), [answer.clone()])
            .unwrap();
    }
    let setup = setup(script).await;
    let client = setup.client();
    for (n, answer) in cases.iter().enumerate() {
        let outcome = client.push(&target(n as u32)).await;
        let (status, reason, invalid, _) = rejected(&outcome);
        assert_eq!(status, answer.status);
        assert_eq!(Some(reason), answer.reason.as_deref());
        assert!(!invalid);
    }
    assert_eq!(
        Reason::parse("ABrandNewReason"),
        Reason::Other("ABrandNewReason".into())
    );
    assert_eq!(setup.server.received().len(), cases.len(), "no retries");
}

#[tokio::test]
async fn server_checks_requests_like_apns() {
    // An oversized PushMagic makes a payload over 4 KiB: the server answers 413.
    let setup = setup(Script::default()).await;
    let mut big = target(1);
    big.push.push_magic = "m".repeat(5000);
    let outcome = setup.client().push(&big).await;
    assert_eq!(rejected(&outcome).0, 413);
    assert_eq!(rejected(&outcome).1, "PayloadTooLarge");
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let mut script = Script::default();
    script
        .push_answers(
            &target(1).push.token_hex(),
            [Answer::status(429), Answer::ok()],
        )
        .unwrap();
    script
        .push_answers(
            &target(2).push.token_hex(),
            [Answer::status(500), Answer::status(503), Answer::ok()],
        )
        .unwrap();
    script
        .push_answers(
            &target(3).push.token_hex(),
            vec![Answer::error(503, "Shutdown"); 10],
        )
        .unwrap();
    let setup = setup(script).await;
    let client = setup.client();
    assert!(client.push(&target(1)).await.is_delivered());
    assert!(client.push(&target(2)).await.is_delivered());
    match client.push(&target(3)).await {
        PushOutcome::Failed { attempts, error } => {
            assert_eq!(attempts, 4);
            assert!(error.contains("503"), "{error}");
        }
        other => panic!("expected failure, got {other:?}"),
    }
    let received = setup.server.received();
    let count = |n: u32| {
        received
            .iter()
            .filter(|r| r.token_hex() == Some(&target(n).push.token_hex()))
            .count()
    };
    assert_eq!((count(1), count(2), count(3)), (2, 3, 4));
}

#[tokio::test]
async fn goaway_moves_pushes_to_a_new_connection() {
    let mut script = Script::default();
    script.push_connection(ConnectionPlan::goaway_after(5));
    let setup = setup(script).await;
    let targets: Vec<_> = (0..40).map(target).collect();
    let results = setup.client().push_many(targets, None).await;
    assert_eq!(results.len(), 40);
    assert!(
        results.iter().all(|r| r.outcome.is_delivered()),
        "{results:?}"
    );
    assert!(setup.server.stats().connections >= 2);
}

#[tokio::test]
async fn dropped_connection_in_flight_pushes_are_retried() {
    let mut script = Script::default();
    script.default = Answer::ok().delayed(20);
    script.push_connection(ConnectionPlan::drop_after(10));
    let setup = setup(script).await;
    let targets: Vec<_> = (0..30).map(target).collect();
    let results = setup.client().push_many(targets, None).await;
    assert!(
        results.iter().all(|r| r.outcome.is_delivered()),
        "{results:?}"
    );
    let stats = setup.server.stats();
    assert!(stats.connections >= 2);
    // Some streams of the dropped connection were never answered and were sent again.
    assert!(stats.streams > 30, "{stats:?}");
}

#[tokio::test]
async fn stream_limit_of_each_connection_is_followed() {
    let mut script = Script::default();
    script.default = Answer::ok().delayed(30);
    script.push_connection(ConnectionPlan::max_concurrent_streams(3).and_goaway_after(12));
    let setup = setup(script).await;
    let client = setup.client();
    // The first connection allows 3 streams: never more in flight there.
    let results = client.push_many((0..12).map(target).collect(), None).await;
    assert!(results.iter().all(|r| r.outcome.is_delivered()));
    assert_eq!(setup.server.stats().max_in_flight, 3);
    // The next connection allows 1000: the client raises its concurrency with it.
    let results = client
        .push_many((100..160).map(target).collect(), None)
        .await;
    assert!(results.iter().all(|r| r.outcome.is_delivered()));
    let stats = setup.server.stats();
    assert_eq!(stats.connections, 2);
    assert!(stats.max_in_flight > 3, "{stats:?}");
}

#[tokio::test]
async fn slow_answers_time_out_and_fail_after_retries() {
    let mut script = Script::default();
    script.default = Answer::ok().delayed(2_000);
    let setup = setup(script).await;
    let client = ApnsClient::new(
        setup
            .config()
            .request_timeout(Duration::from_millis(50))
            .retry(RetryPolicy::new(
                2,
                Duration::from_millis(1),
                Duration::from_millis(1),
            )),
    )
    .unwrap();
    match client.push(&target(1)).await {
        PushOutcome::Failed { attempts, error } => {
            assert_eq!(attempts, 2);
            assert!(error.contains("timed out"), "{error}");
        }
        other => panic!("expected failure, got {other:?}"),
    }
}

#[tokio::test]
async fn bulk_push_times_out_each_attempt_not_each_lane() {
    // Two lanes. Targets 1 and 2 never answer in time: each attempt times out and the
    // push fails after its two attempts. Then each lane sends six pushes of 60 ms one
    // after another, 360 ms in all, past the 300 ms timeout: delivered, because the
    // lane's timer counts from the start of each attempt, also after it fired.
    let mut script = Script::default();
    script.default = Answer::ok().delayed(60);
    for n in [1, 2] {
        script
            .push_answers(
                &target(n).push.token_hex(),
                [Answer::ok().delayed(3_000), Answer::ok().delayed(3_000)],
            )
            .unwrap();
    }
    let setup = setup(script).await;
    let client = ApnsClient::new(
        setup
            .config()
            .max_in_flight(2)
            .request_timeout(Duration::from_millis(300))
            .retry(RetryPolicy::new(
                2,
                Duration::from_millis(1),
                Duration::from_millis(1),
            )),
    )
    .unwrap();
    let targets: Vec<PushTarget> = (1..=14).map(target).collect();
    let results = client.push_many(targets, None).await;
    assert_eq!(results.len(), 14);
    for (n, result) in (1..=14).zip(&results) {
        assert_eq!(result.enrollment_id, target(n).enrollment_id);
        if n <= 2 {
            match &result.outcome {
                PushOutcome::Failed { attempts, error } => {
                    assert_eq!(*attempts, 2);
                    assert!(error.contains("timed out"), "{error}");
                }
                other => panic!("target {n}: expected a timeout, got {other:?}"),
            }
        } else {
            assert!(result.outcome.is_delivered(), "target {n}: {result:?}");
        }
    }
}

#[tokio::test]
async fn untrusted_client_or_server_certificates_fail() {
    let setup = setup(Script::default()).await;
    let stranger = TestPki::generate(TOPIC).unwrap();
    // A client certificate from another CA: the server refuses the handshake.
    let identity =
        ClientIdentity::from_pem(&stranger.client_cert_pem, &stranger.client_key_pem).unwrap();
    let config = ApnsConfig::new(Endpoint::from_url(&setup.server.url()).unwrap(), identity)
        .server_ca_pem(setup.pki.ca_pem.clone())
        .retry(RetryPolicy::new(
            2,
            Duration::from_millis(1),
            Duration::from_millis(1),
        ));
    let outcome = ApnsClient::new(config).unwrap().push(&target(1)).await;
    assert!(
        matches!(outcome, PushOutcome::Failed { attempts: 2, .. }),
        "{outcome:?}"
    );
    // A server certificate from a CA the client does not trust: every push of a bulk
    // push fails with the TLS error (pushes waiting for the same connection attempt share
    // its error).
    let config = setup.config().server_ca_pem(stranger.ca_pem.clone());
    let results = ApnsClient::new(config)
        .unwrap()
        .push_many((0..200).map(target).collect(), None)
        .await;
    assert_eq!(results.len(), 200);
    for result in results {
        match result.outcome {
            PushOutcome::Failed { error, attempts } => {
                assert!(error.contains("TLS"), "{error}");
                assert_eq!(attempts, 4);
            }
            other => panic!("expected failure, got {other:?}"),
        }
    }
    assert!(setup.server.received().is_empty());
}

/// The server certificate names 127.0.0.1 and localhost: a server reached at another
/// address with it is refused, though its CA is trusted.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn server_certificate_must_name_the_endpoint() {
    let pki = TestPki::generate(TOPIC).unwrap();
    let config = MockConfig::new(
        pki.server_cert_pem.clone(),
        pki.server_key_pem.clone(),
        pki.ca_pem.clone(),
    )
    .listen(([127, 0, 0, 2], 0).into());
    let server = MockServer::start(config).await.unwrap();
    let identity = ClientIdentity::from_pem(&pki.client_cert_pem, &pki.client_key_pem).unwrap();
    let config = ApnsConfig::new(Endpoint::from_url(&server.url()).unwrap(), identity)
        .server_ca_pem(pki.ca_pem.clone())
        .retry(RetryPolicy::new(
            1,
            Duration::from_millis(1),
            Duration::from_millis(1),
        ));
    match ApnsClient::new(config).unwrap().push(&target(1)).await {
        PushOutcome::Failed { error, .. } => assert!(error.contains("TLS"), "{error}"),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    assert!(server.received().is_empty());
    assert_eq!(server.stats().connections, 0);
}

#[tokio::test]
async fn optional_client_certificate_mode_accepts_anyone() {
    let pki = TestPki::generate(TOPIC).unwrap();
    let server = MockServer::start(
        MockConfig::new(
            pki.server_cert_pem.clone(),
            pki.server_key_pem.clone(),
            pki.ca_pem.clone(),
        )
        .client_cert(ClientCertMode::Optional),
    )
    .await
    .unwrap();
    let stranger = TestPki::generate(TOPIC).unwrap();
    let identity =
        ClientIdentity::from_pem(&stranger.client_cert_pem, &stranger.client_key_pem).unwrap();
    // A certificate the server cannot verify is still refused; a trusted one is accepted.
    let bad = ApnsConfig::new(Endpoint::from_url(&server.url()).unwrap(), identity)
        .server_ca_pem(pki.ca_pem.clone())
        .retry(RetryPolicy::new(
            1,
            Duration::from_millis(1),
            Duration::from_millis(1),
        ));
    assert!(!ApnsClient::new(bad)
        .unwrap()
        .push(&target(1))
        .await
        .is_delivered());
    let identity = ClientIdentity::from_pem(&pki.client_cert_pem, &pki.client_key_pem).unwrap();
    let good = ApnsConfig::new(Endpoint::from_url(&server.url()).unwrap(), identity)
        .server_ca_pem(pki.ca_pem.clone());
    assert!(ApnsClient::new(good)
        .unwrap()
        .push(&target(1))
        .await
        .is_delivered());
}

#[tokio::test]
async fn refused_locally_without_sending() {
    let setup = setup(Script::default()).await;
    let client = setup.client();
    let mut other_topic = target(1);
    other_topic.push.topic = "com.apple.mgmt.External.other".into();
    assert_eq!(rejected(&client.push(&other_topic).await).0, 0);
    let mut no_token = target(2);
    no_token.push.token.clear();
    assert_eq!(
        rejected(&client.push(&no_token).await).1,
        "MissingDeviceToken"
    );
    assert!(setup.server.received().is_empty());
}

#[test]
fn bad_configuration_is_an_error() {
    let pki = TestPki::generate(TOPIC).unwrap();
    let identity = ClientIdentity::from_pem(&pki.client_cert_pem, &pki.client_key_pem).unwrap();
    assert_eq!(identity.topic().unwrap(), TOPIC);
    let config = ApnsConfig::new(Endpoint::Sandbox, identity.clone());
    for bad in [
        config.clone().connections(0),
        config.clone().max_in_flight(0),
        config
            .clone()
            .retry(RetryPolicy::new(0, Duration::ZERO, Duration::ZERO)),
    ] {
        assert_eq!(ApnsClient::new(bad).unwrap_err().code(), "invalid_config");
    }
    let bad_ca = config.clone().server_ca_pem(b"not a certificate".to_vec());
    assert_eq!(
        ApnsClient::new(bad_ca).unwrap_err().code(),
        "invalid_identity"
    );
    // A key that is not the certificate's.
    let other = TestPki::generate(TOPIC).unwrap();
    let err = ClientIdentity::from_pem(&pki.client_cert_pem, &other.client_key_pem).unwrap_err();
    assert_eq!(err.code(), "invalid_identity");
    // A certificate without a UID has no topic unless one is given.
    let server_identity =
        ClientIdentity::from_pem(&pki.server_cert_pem, &pki.server_key_pem).unwrap();
    assert_eq!(server_identity.topic().unwrap_err().code(), "no_topic");
    let err = ApnsClient::new(ApnsConfig::new(Endpoint::Sandbox, server_identity.clone()));
    assert_eq!(err.unwrap_err().code(), "no_topic");
    let given = ApnsConfig::new(Endpoint::Sandbox, server_identity).topic("com.example.t");
    assert_eq!(ApnsClient::new(given).unwrap().topic(), "com.example.t");
    assert!(!format!("{identity:?}").contains("PRIVATE"));
}

/// 10,000 pushes with faults drawn from a seeded generator, over connections that GOAWAY,
/// drop, and lower their stream limit: every push ends exactly once, and its outcome
/// agrees with what the server answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_pushes_with_random_faults_are_all_accounted_for() {
    const N: u32 = 10_000;
    let mut rng = fastrand::Rng::with_seed(0x6d646d6b);
    let mut script = Script::default();
    let mut expected = HashMap::new();
    for n in 0..N {
        let (answers, class) = match rng.u32(0..100) {
            0..=69 => (vec![], "delivered"),
            70..=74 => (
                vec![Answer::unregistered(1_700_000_000_000 + n as i64)],
                "410",
            ),
            75..=79 => (vec![Answer::error(400, "BadDeviceToken")], "400"),
            80..=84 => (vec![Answer::status(429), Answer::ok()], "delivered"),
            85..=89 => (vec![Answer::status(500), Answer::ok()], "delivered"),
            90..=94 => (vec![Answer::error(503, "ServiceUnavailable"); 8], "failed"),
            _ => (vec![Answer::error(403, "BadCertificateEnvironment")], "403"),
        };
        script
            .push_answers(&target(n).push.token_hex(), answers)
            .unwrap();
        expected.insert(format!("DEVICE-{n}"), class);
    }
    script.push_connection(ConnectionPlan::goaway_after(1_500));
    script.push_connection(ConnectionPlan::drop_after(2_000));
    script.push_connection(ConnectionPlan::max_concurrent_streams(50));
    script.push_connection(ConnectionPlan::goaway_after(3_000));
    let setup = setup(script).await;
    let client = ApnsClient::new(setup.config().connections(2)).unwrap();
    let last = Arc::new(Mutex::new(PushProgress::start(0)));
    let calls = Arc::new(Mutex::new(0usize));
    let progress: ProgressCallback = {
        let (last, calls) = (last.clone(), calls.clone());
        Arc::new(move |p| {
            *last.lock().unwrap() = p;
            *calls.lock().unwrap() += 1;
        })
    };
    let targets: Vec<_> = (0..N).map(target).collect();
    let results = client.push_many(targets, Some(progress)).await;

    // Exactly once, in order, and counted once by the progress callback.
    assert_eq!(results.len(), N as usize);
    for (n, result) in results.iter().enumerate() {
        assert_eq!(result.enrollment_id.as_str(), format!("DEVICE-{n}"));
    }
    assert_eq!(*calls.lock().unwrap(), N as usize);
    let last = *last.lock().unwrap();
    assert_eq!(last.done, N as usize);
    assert_eq!(last.delivered + last.rejected + last.failed, N as usize);

    // Each outcome agrees with the server's last answer for that token.
    let mut answers: HashMap<String, Vec<(u16, String)>> = HashMap::new();
    for push in setup.server.received() {
        answers
            .entry(push.token_hex().unwrap().to_owned())
            .or_default()
            .push((push.status, push.apns_id.clone()));
    }
    let mut by_class: HashMap<&str, usize> = HashMap::new();
    for (n, result) in results.iter().enumerate() {
        let seen = &answers[&target(n as u32).push.token_hex()];
        let class = match &result.outcome {
            PushOutcome::Delivered { apns_id } => {
                assert!(seen.contains(&(200, apns_id.clone())), "{n}: {seen:?}");
                "delivered"
            }
            PushOutcome::Rejected { status, .. } => {
                assert!(seen.iter().any(|(s, _)| s == status), "{n}: {seen:?}");
                match status {
                    410 => "410",
                    400 => "400",
                    403 => "403",
                    _ => panic!("{n}: unexpected {result:?}"),
                }
            }
            PushOutcome::Failed { attempts, .. } => {
                assert_eq!(*attempts, 4);
                // The server saw at most the four attempts. It may have answered one of
                // them 200 on a connection that then dropped before the answer arrived: the
                // client cannot know, so "failed" is the honest outcome.
                assert!(seen.len() <= 4, "{n}: {seen:?}");
                "failed"
            }
            other => panic!("{n}: unexpected {other:?}"),
        };
        *by_class.entry(class).or_default() += 1;
        // Only pushes whose stream died with a dropped connection may land elsewhere.
        if class != expected[result.enrollment_id.as_str()] {
            assert!(
                seen.len() > 1 || class == "failed",
                "{n}: {class} vs {}",
                expected[result.enrollment_id.as_str()]
            );
        }
    }
    assert!(by_class["delivered"] > 7_000, "{by_class:?}");
    assert!(setup.server.stats().connections >= 5);
}

#[tokio::test]
async fn keep_alive_pings_keep_one_connection() {
    let setup = setup(Script::default()).await;
    let config = setup
        .config()
        .ping_interval(Some(Duration::from_millis(10)));
    let client = ApnsClient::new(config).unwrap();
    assert!(client.push(&target(1)).await.is_delivered());
    // Several PING rounds while idle: answered, so the connection stays.
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(client.push(&target(2)).await.is_delivered());
    assert_eq!(setup.server.stats().connections, 1);
}
