//! `mdmkit invite`, `mdmkit invite list`, `mdmkit invite revoke` and the SCEP options of
//! `mdmkit enroll profile`, run as the built binary.

use std::path::Path;
use std::process::{Command, Output};

use mdmkit_apns::testing::{SmtpReceiver, SmtpSecurity};
use mdmkit_core::store::{
    AtRestKey, PortalStore, PushCertificateRecord, PushCertificateStore, SqliteStore,
};

fn mdmkit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn store(dir: &Path) -> SqliteStore {
    let key = AtRestKey::load_or_create(&dir.join("mdmkit.key")).unwrap();
    SqliteStore::open(dir.join("mdmkit.db").to_str().unwrap(), key)
        .await
        .unwrap()
}

/// The invitation id printed by `mdmkit invite` on its last line.
fn invitation_id(stdout: &str) -> String {
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("invitation "), "{stdout}");
    last.split_whitespace().nth(1).unwrap().to_string()
}

const INVITE: [&str; 7] = [
    "invite",
    "--user",
    "carol",
    "--email",
    "carol@example.com",
    "--portal-url",
    "https://portal.example.com/accept",
];

#[test]
fn invite_prints_or_sends_lists_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();

    // Without --smtp (and no stored SMTP settings) the links are printed, and it says
    // they were not sent.
    let output = mdmkit(path, &INVITE);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    assert!(
        printed.starts_with("not sent (no SMTP settings"),
        "{printed}"
    );
    assert!(
        printed.contains("deliver these links to carol@example.com:"),
        "{printed}"
    );
    assert!(printed.contains("https://portal.example.com/accept?token="));
    assert!(printed.contains("https://portal.example.com/enroll?token="));
    let first = invitation_id(&printed);
    assert!(printed
        .lines()
        .last()
        .unwrap()
        .contains(" made for carol@example.com"));

    // Through SMTP.
    let server = SmtpReceiver::start(SmtpSecurity::Plain);
    let smtp = format!("smtp://127.0.0.1:{}", server.port());
    let mut args = INVITE.to_vec();
    args.extend([
        "--registration-url",
        "https://mdm.example.com/enroll",
        "--ttl-hours",
        "2",
        "--smtp",
        &smtp,
        "--from",
        "mdm@example.com",
    ]);
    let output = mdmkit(path, &args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let second = invitation_id(&text(&output.stdout));
    assert!(text(&output.stdout).contains(" sent to carol@example.com"));
    let mails = server.received();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["carol@example.com"]);
    let mail = mails[0].decoded();
    assert!(
        mail.contains("https://mdm.example.com/enroll?token="),
        "{mail}"
    );
    assert!(
        mail.contains("https://portal.example.com/accept?token="),
        "{mail}"
    );

    // A mail server that is down: exit 1, nothing kept.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("smtp://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let mut args = INVITE.to_vec();
    args.extend(["--smtp", &down, "--from", "mdm@example.com"]);
    let output = mdmkit(path, &args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("notify_failed"),
        "{}",
        text(&output.stderr)
    );

    let output = mdmkit(path, &["invite", "list"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listing = text(&output.stdout);
    assert_eq!(listing.lines().count(), 2, "{listing}");
    for id in [&first, &second] {
        let line = listing
            .lines()
            .find(|l| l.starts_with(id.as_str()))
            .unwrap();
        assert!(line.contains("\tcarol\tcarol@example.com\t"), "{line}");
        assert!(line.ends_with("\tpending\tno device"), "{line}");
    }
    let output = mdmkit(path, &["invite", "list", "--user", "nobody"]);
    assert!(output.status.success());
    assert_eq!(text(&output.stdout), "");

    let output = mdmkit(path, &["invite", "revoke", &first]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!("revoked invitation {first}\n")
    );
    let output = mdmkit(path, &["invite", "revoke", &first]);
    assert_eq!(output.status.code(), Some(2));
    let listing = text(&mdmkit(path, &["invite", "list", "--user", "carol"]).stdout);
    assert_eq!(listing.lines().count(), 1);
    assert!(listing.starts_with(second.as_str()));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        // The second invitation's two tokens remain; the revoked one's are gone.
        assert_eq!(
            store(path).await.list_tokens("carol").await.unwrap().len(),
            2
        );
    });

    // Bad input: exit 2.
    for bad in [
        vec![
            "invite",
            "--user",
            "dan",
            "--email",
            "not-an-address",
            "--portal-url",
            "https://p.example",
        ],
        vec![
            "invite",
            "--user",
            "dan",
            "--email",
            "dan@example.com",
            "--portal-url",
            "http://p.example",
        ],
        vec![
            "invite",
            "--user",
            "carol",
            "--email",
            "other@example.com",
            "--portal-url",
            "https://p.example",
        ],
        vec!["invite", "--user", "dan", "--email", "dan@example.com"],
    ] {
        let output = mdmkit(path, &bad);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{bad:?}: {}",
            text(&output.stderr)
        );
    }
}

#[test]
fn enroll_profile_with_an_external_scep_server() {
    use mdmkit_core::profile::{verify, PayloadContent};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let output = mdmkit(
        path,
        &[
            "portal",
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.com",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let push = PushCertificateRecord::new(
            "com.apple.mgmt.External.cli",
            vec![1],
            mdmkit_core::Secret::new(b"k".to_vec()),
            time::OffsetDateTime::now_utc() + time::Duration::days(30),
        );
        store(path).await.put_push_certificate(&push).await.unwrap();
    });
    let external = mdmkit_enrollment::DeviceCa::generate("External CA", 30).unwrap();
    let signer = mdmkit_enrollment::DeviceCa::generate("CLI signer", 30).unwrap();
    for (name, bytes) in [
        ("scep-ca.pem", external.certificate_pem().unwrap()),
        ("sign.pem", signer.certificate_pem().unwrap()),
        (
            "sign.key",
            signer.private_key_pem().unwrap().expose().to_vec(),
        ),
        ("challenge.txt", b"s3cret challenge\n".to_vec()),
    ] {
        write_secret(path.join(name), bytes);
    }
    let args = |key_size: &'static str| {
        vec![
            "enroll",
            "profile",
            "--user",
            "alice",
            "--sign-cert",
            "sign.pem",
            "--sign-key",
            "sign.key",
            "--server-url",
            "https://mdm.example.com/mdm",
            "--topic",
            "com.apple.mgmt.External.cli",
            "--identifier",
            "com.example.mdm.enrollment",
            "--scep-url",
            "https://scep.example.com/scep",
            "--scep-ca-cert",
            "scep-ca.pem",
            "--scep-challenge-file",
            "challenge.txt",
            "--scep-subject",
            "O=Example",
            "--scep-subject",
            "CN=alice",
            "--scep-key-size",
            key_size,
            "-o",
            "enroll.mobileconfig",
        ]
    };
    let output = mdmkit(path, &args("4096"));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("not bound to the user automatically"));
    let signed = std::fs::read(path.join("enroll.mobileconfig")).unwrap();
    let profile = verify(&signed, None).unwrap().profile;
    let scep = profile
        .payloads
        .iter()
        .find_map(|p| match &p.content {
            PayloadContent::SecurityScep(s) => Some(s.payload_content.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(scep.url, "https://scep.example.com/scep");
    assert_eq!(scep.challenge.as_deref(), Some("s3cret challenge"));
    assert_eq!(scep.keysize, Some(4096));
    assert_eq!(scep.key_usage, Some(5));
    assert_eq!(
        scep.subject,
        Some(vec![
            vec![vec!["O".to_string(), "Example".to_string()]],
            vec![vec!["CN".to_string(), "alice".to_string()]],
        ])
    );

    let output = mdmkit(path, &args("1024"));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("key size"),
        "{}",
        text(&output.stderr)
    );
    // The built-in CA options and SCEP exclude each other.
    let mut both = args("2048");
    both.extend(["--ca-cert", "scep-ca.pem", "--ca-key", "sign.key"]);
    assert_eq!(mdmkit(path, &both).status.code(), Some(2));
}

/// Writes a file holding a secret as a careful user would: readable by its owner only
/// (mdmkit refuses secret files that others can read).
fn write_secret(path: impl AsRef<std::path::Path>, bytes: impl AsRef<[u8]>) {
    let path = path.as_ref();
    std::fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}
