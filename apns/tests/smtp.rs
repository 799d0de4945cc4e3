//! The SMTP notifier against a local SMTP server: plain, STARTTLS and SMTPS.

use mdmkit_apns::testing::{SmtpReceiver, SmtpSecurity};
use mdmkit_apns::SmtpNotifier;
use mdmkit_core::notify::{EmailMessage, Notifier};

fn message() -> EmailMessage {
    EmailMessage::new(
        vec!["admin@example.com".into(), "second@example.com".into()],
        "Apple Push certificate expires soon",
        "the Apple Push certificate for topic T expires on 2026-01-01\n.leading dot line",
    )
}

#[tokio::test]
async fn sends_over_plain_smtp() {
    let server = SmtpReceiver::start(SmtpSecurity::Plain);
    let url = format!("smtp://127.0.0.1:{}", server.port());
    let notifier = SmtpNotifier::new(&url, "MDM <mdm@example.com>").unwrap();
    notifier.send(message()).await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.from, "mdm@example.com");
    assert_eq!(mail.to, vec!["admin@example.com", "second@example.com"]);
    assert!(mail
        .data
        .contains("Subject: Apple Push certificate expires soon"));
    assert!(mail.data.contains("the Apple Push certificate for topic T"));
    assert!(mail.data.contains("\r\n.leading dot line"), "{}", mail.data);
    assert!(!mail.over_tls);
}

#[tokio::test]
async fn sends_over_starttls_and_smtps() {
    let server = SmtpReceiver::start(SmtpSecurity::StartTls);
    let url = format!("smtp://127.0.0.1:{}?tls=required", server.port());
    let notifier =
        SmtpNotifier::with_root_certificate(&url, "mdm@example.com", server.ca_pem()).unwrap();
    notifier.send(message()).await.unwrap();
    assert!(server.received()[0].over_tls);

    let server = SmtpReceiver::start(SmtpSecurity::Implicit);
    let url = format!("smtps://127.0.0.1:{}", server.port());
    let notifier =
        SmtpNotifier::with_root_certificate(&url, "mdm@example.com", server.ca_pem()).unwrap();
    notifier.send(message()).await.unwrap();
    assert!(server.received()[0].over_tls);

    // Without the server's CA the TLS handshake must fail: the certificate is checked.
    let notifier = SmtpNotifier::new(&url, "mdm@example.com").unwrap();
    let error = notifier.send(message()).await.unwrap_err();
    assert_eq!(error.code(), "notify_failed");
}

#[tokio::test]
async fn starttls_required_refuses_a_server_without_it() {
    let server = SmtpReceiver::start(SmtpSecurity::Plain);
    let url = format!("smtp://127.0.0.1:{}?tls=required", server.port());
    let notifier =
        SmtpNotifier::with_root_certificate(&url, "mdm@example.com", server.ca_pem()).unwrap();
    assert!(notifier.send(message()).await.is_err());
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn refuses_bad_recipients_and_unreachable_servers() {
    let server = SmtpReceiver::start(SmtpSecurity::Plain);
    let url = format!("smtp://127.0.0.1:{}", server.port());
    let notifier = SmtpNotifier::new(&url, "mdm@example.com").unwrap();
    let bad = EmailMessage::new(vec!["not an address".into()], "s", "b");
    assert_eq!(
        notifier.send_message(&bad).await.unwrap_err().code(),
        "email_address"
    );
    let none = EmailMessage::new(vec![], "s", "b");
    assert_eq!(
        notifier.send_message(&none).await.unwrap_err().code(),
        "invalid_input"
    );

    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let notifier =
        SmtpNotifier::new(&format!("smtp://127.0.0.1:{port}"), "mdm@example.com").unwrap();
    assert_eq!(
        notifier.send_message(&message()).await.unwrap_err().code(),
        "smtp"
    );
}
