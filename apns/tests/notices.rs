//! The server's own expiry notices: push certificates from the store, the vendor
//! certificate and ADE server tokens, from 60 days before expiry, once per interval even
//! with two servers on one database (two handles on one SQLite file).

use std::sync::Arc;

use mdmkit_apns::monitor::{send_due_notices, Credential, CredentialKind, NoticeSettings};
use mdmkit_apns::testing::{SmtpReceiver, SmtpSecurity, TestCa};
use mdmkit_apns::{InstallRequest, PrivateKey, PushCertLifecycle, PushCertificate, SmtpNotifier};
use mdmkit_core::store::{AtRestKey, MemoryStore, SharedStore};
use time::{Duration, OffsetDateTime};

const T1: &str = "com.apple.mgmt.External.11111111-1111-1111-1111-111111111111";
const T2: &str = "com.apple.mgmt.External.22222222-2222-2222-2222-222222222222";

async fn install(store: &SharedStore, apple: &TestCa, topic: &str, days: i64) {
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let now = OffsetDateTime::now_utc();
    let der = apple.issue_push_cert(Some(topic), &key, now + Duration::days(days));
    let request =
        InstallRequest::new(PushCertificate::from_der(&der).unwrap(), "mdm@example.com").key(key);
    PushCertLifecycle::new(store.clone())
        .multiple_topics(true)
        .install(request, now)
        .await
        .unwrap();
}

fn settings(apple: &TestCa) -> NoticeSettings {
    let now = OffsetDateTime::now_utc();
    let vendor_key = PrivateKey::generate_rsa_2048().unwrap();
    let vendor = apple.issue_leaf("MDM Vendor: Example", &vendor_key, now + Duration::days(20));
    NoticeSettings::new("admins@example.com")
        .organisation("Example Inc.")
        .console_url("https://mdm.example.com/admin")
        .vendor_certificate(apple.pem_of(&vendor))
        .other(
            Credential::new(
                CredentialKind::DepServerToken,
                "Main ABM token",
                now + Duration::days(10),
            )
            .with_apple_id("abm@example.com"),
        )
        .other(Credential::new(
            CredentialKind::DepServerToken,
            "Far token",
            now + Duration::days(200),
        ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_send_each_notice_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("mdm.db");
    let location = location.to_str().unwrap();
    let key = AtRestKey::from_bytes(&[3; 32]).unwrap();
    let a = mdmkit_core::store::open(location, key.clone())
        .await
        .unwrap();
    let b = mdmkit_core::store::open(location, key).await.unwrap();
    let apple = TestCa::new("Test Apple CA");
    install(&a, &apple, T1, 30).await; // due: 30 days left
    install(&a, &apple, T2, 90).await; // not yet: 90 days left
    let settings = settings(&apple);

    let smtp = SmtpReceiver::start(SmtpSecurity::Plain);
    let notifier = SmtpNotifier::new(
        &format!("smtp://127.0.0.1:{}", smtp.port()),
        "mdm@example.com",
    )
    .unwrap();
    let t0 = OffsetDateTime::now_utc();
    // Both servers run their daily check at the same moment.
    let (from_a, from_b) = tokio::join!(
        send_due_notices(a.as_ref(), &notifier, &settings, t0),
        send_due_notices(b.as_ref(), &notifier, &settings, t0)
    );
    let mut keys: Vec<String> = from_a
        .unwrap()
        .into_iter()
        .chain(from_b.unwrap())
        .map(|notice| notice.key)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "dep_server_token:Main ABM token".to_owned(),
            format!("push_certificate:{T1}"),
            "vendor_certificate:CN=MDM Vendor: Example".to_owned(),
        ]
    );
    let mails = smtp.received();
    assert_eq!(mails.len(), 3);
    for mail in &mails {
        assert_eq!(mail.to, vec!["admins@example.com"]);
        let text = mail.decoded();
        assert!(text.contains("[Example Inc.]"), "{text}");
        assert!(text.contains("Company: Example Inc."), "{text}");
        assert!(text.contains("https://mdm.example.com/admin"), "{text}");
    }
    let push = mails
        .iter()
        .map(|m| m.decoded())
        .find(|m| m.contains("Apple Push certificate"))
        .unwrap();
    assert!(
        push.contains(&format!(
            "The Apple Push certificate for topic {T1} expires on"
        )),
        "{push}"
    );
    assert!(
        push.contains("renew it with the Apple ID mdm@example.com"),
        "{push}"
    );

    // Later the same week, from either server: nothing.
    for (store, later) in [(&a, t0 + Duration::hours(1)), (&b, t0 + Duration::days(6))] {
        let sent = send_due_notices(store.as_ref(), &notifier, &settings, later)
            .await
            .unwrap();
        assert!(sent.is_empty());
    }
    assert_eq!(smtp.received().len(), 3);
    // A week later, again, once.
    let week = t0 + Duration::days(7);
    let (again_a, again_b) = tokio::join!(
        send_due_notices(a.as_ref(), &notifier, &settings, week),
        send_due_notices(b.as_ref(), &notifier, &settings, week)
    );
    assert_eq!(again_a.unwrap().len() + again_b.unwrap().len(), 3);
    assert_eq!(smtp.received().len(), 6);
}

#[tokio::test]
async fn a_notice_that_could_not_be_sent_is_sent_at_the_next_run() {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let apple = TestCa::new("Test Apple CA");
    install(&store, &apple, T1, 5).await;
    let settings = NoticeSettings::new("admins@example.com").organisation("Example Inc.");
    // Nobody listens on this port: sending fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let broken = SmtpNotifier::new(&format!("smtp://127.0.0.1:{port}"), "mdm@example.com").unwrap();
    let now = OffsetDateTime::now_utc();
    let error = send_due_notices(store.as_ref(), &broken, &settings, now)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "notify_failed", "{error}");

    let smtp = SmtpReceiver::start(SmtpSecurity::Plain);
    let working = SmtpNotifier::new(
        &format!("smtp://127.0.0.1:{}", smtp.port()),
        "mdm@example.com",
    )
    .unwrap();
    let sent = send_due_notices(
        store.as_ref(),
        &working,
        &settings,
        now + Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn notices_need_an_address() {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let smtp = SmtpNotifier::new("smtp://127.0.0.1:25", "mdm@example.com").unwrap();
    let settings = NoticeSettings::new("  ");
    let error = send_due_notices(store.as_ref(), &smtp, &settings, OffsetDateTime::now_utc())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_input");
    assert!(
        error.to_string().contains("administrators' address"),
        "{error}"
    );
}
