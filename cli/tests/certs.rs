//! `mdmkit certs ...` over an SQLite store, run as the built binary.

use std::path::Path;
use std::process::{Command, Output};

use mdmkit_certstore::testing::{IdentitySpec, TestIdentity};

fn mdmkit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = mdmkit(dir, args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

/// Runs a command that must be refused: non-zero exit, one line on standard error.
fn refused(dir: &Path, args: &[&str]) -> String {
    let output = mdmkit(dir, args);
    assert!(
        !output.status.success(),
        "{args:?} succeeded: {}",
        stdout(&output)
    );
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
    text
}

#[test]
fn kinds_import_list_edit_clear_export_delete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(ok(d, &["certs", "kinds", "add", "Signing", "--use", "signing"]).contains("signing"));
    ok(
        d,
        &["certs", "kinds", "add", "Encryption", "--use", "encryption"],
    );
    let kinds = ok(d, &["certs", "kinds", "list"]);
    assert!(
        kinds.contains("encryption\tEncryption\tencryption"),
        "{kinds}"
    );
    assert!(kinds.contains("signing\tSigning\tsigning"), "{kinds}");
    assert!(
        refused(d, &["certs", "kinds", "add", "signing", "--use", "signing"])
            .contains("already exists")
    );

    let identity = TestIdentity::for_email("alice@example.com");
    std::fs::write(d.join("alice.p12"), identity.pkcs12_legacy("pw")).unwrap();
    write_secret(d.join("pw.txt"), "pw\n");
    let imported = ok(
        d,
        &[
            "certs",
            "import",
            "--user",
            "alice",
            "--kind",
            "Signing",
            "alice.p12",
            "--password-file",
            "pw.txt",
        ],
    );
    assert!(imported.starts_with("imported "), "{imported}");
    let id = imported["imported ".len()..]
        .split(':')
        .next()
        .unwrap()
        .to_owned();

    let list: serde_json::Value =
        serde_json::from_str(&ok(d, &["certs", "list", "--user", "alice", "--json"])).unwrap();
    let entry = &list[0];
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["kind"], "signing");
    assert_eq!(entry["emails"][0], "alice@example.com");
    assert_eq!(entry["has_private_key"], true);
    assert!(entry["subject"]
        .as_str()
        .unwrap()
        .contains("alice@example.com"));
    assert!(ok(d, &["certs", "list", "--user", "alice"]).contains("\tyes\n"));

    assert!(ok(
        d,
        &[
            "certs",
            "edit",
            &id,
            "--name",
            "Work",
            "--kind",
            "encryption"
        ]
    )
    .contains("Work (Encryption)"));

    write_secret(d.join("new.txt"), "fresh");
    ok(
        d,
        &[
            "certs",
            "export",
            &id,
            "-o",
            "out.p12",
            "--password-file",
            "new.txt",
        ],
    );
    assert_owner_only(d.join("out.p12"));
    let exported = openssl::pkcs12::Pkcs12::from_der(&std::fs::read(d.join("out.p12")).unwrap())
        .unwrap()
        .parse2("fresh")
        .unwrap();
    assert!(exported.pkey.is_some());

    ok(d, &["certs", "clear-key", &id]);
    assert!(ok(d, &["certs", "list", "--user", "alice"]).contains("\tcleared\n"));
    ok(d, &["certs", "export", &id, "-o", "cleared.p12"]);
    let cleared = openssl::pkcs12::Pkcs12::from_der(&std::fs::read(d.join("cleared.p12")).unwrap())
        .unwrap()
        .parse2("pw")
        .unwrap();
    assert!(cleared.pkey.is_none());

    ok(d, &["certs", "delete", &id]);
    assert!(ok(d, &["certs", "list", "--user", "alice"]).contains("no certificates"));
    refused(d, &["certs", "delete", &id]);
    refused(d, &["certs", "clear-key", &id]);
}

#[test]
fn every_refusal_is_one_line_and_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["certs", "kinds", "add", "Signing", "--use", "signing"]);
    let identity = TestIdentity::for_email("bob@example.com");
    std::fs::write(d.join("bob.p12"), identity.pkcs12_modern("pw")).unwrap();
    std::fs::write(d.join("cert.pem"), identity.certificate_pem()).unwrap();
    write_secret(d.join("wrong.txt"), "nope");
    let expired = TestIdentity::new(&IdentitySpec::new("bob@example.com").valid_days(-90, -2));
    std::fs::write(d.join("expired.p12"), expired.pkcs12_modern("pw")).unwrap();
    write_secret(d.join("pw.txt"), "pw");
    let import = |file: &str, kind: &str, password: Option<&str>| {
        let mut args = vec!["certs", "import", "--user", "bob", "--kind", kind, file];
        if let Some(p) = password {
            args.extend(["--password-file", p]);
        }
        refused(d, &args)
    };
    assert!(import("cert.pem", "Signing", Some("pw.txt")).contains("the file must be PKCS#12"));
    assert!(import("bob.p12", "Signing", Some("wrong.txt")).contains("wrong password"));
    assert!(import("bob.p12", "Signing", None).contains("protected by a password"));
    assert!(import("expired.p12", "Signing", Some("pw.txt")).contains("expired on"));
    assert!(import("bob.p12", "Nope", Some("pw.txt")).contains("no certificate kind"));
    assert!(import("missing.p12", "Signing", Some("pw.txt")).contains("cannot read"));
    refused(d, &["certs", "edit", "missing", "--name", "x"]);
    refused(d, &["certs", "edit", "missing"]);
    refused(d, &["certs", "export", "missing", "-o", "x.p12"]);
    assert!(ok(d, &["certs", "list", "--user", "bob"]).contains("no certificates"));
}

/// `certs import` re-pushes the configurations using the kind only with `--device-ca`
/// (it then queues InstallProfile to the owner's devices); without it, it says what was
/// not re-pushed.
#[test]
fn import_re_pushes_configurations_with_a_device_ca() {
    use mdmkit_core::profile::payloads::{MailManaged, SecurityPkcs12};
    use mdmkit_core::profile::{Payload, Profile};
    use mdmkit_core::store::{
        Assignment, AssignmentTarget, AtRestKey, CommandQueue, ConfigurationRecord,
        ConfigurationStore, DeviceRecord, EnrollmentRecord, EnrollmentStore, SqliteStore,
    };
    use mdmkit_core::{Data, EnrollmentId};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["certs", "kinds", "add", "Signing", "--use", "signing"]);
    let ca = mdmkit_tests::DeviceCa::new("CLI device CA").unwrap();
    std::fs::write(d.join("device-ca.pem"), ca.certificate_pem().unwrap()).unwrap();
    const SIGNING_UUID: &str = "2F0C3C39-9A53-4B8E-8E7A-0D5E4C1B0001";
    let mail = MailManaged::new(
        mdmkit_core::profile::payloads::MailManagedEmailAccountType::EmailTypeIMAP,
        mdmkit_core::profile::payloads::MailManagedIncomingMailServerAuthentication::EmailAuthPassword,
        "imap.example.com",
        mdmkit_core::profile::payloads::MailManagedOutgoingMailServerAuthentication::EmailAuthPassword,
        "smtp.example.com",
    )
    .with_smime_signing_enabled(true)
    .with_smime_signing_certificate_uuid(SIGNING_UUID);
    let profile = Profile::new("com.example.mail")
        .with_payload(Payload::new("com.example.mail.account", mail))
        .with_payload(
            Payload::new(
                "com.example.mail.signing",
                SecurityPkcs12::new(Data::default()),
            )
            .with_uuid(SIGNING_UUID),
        )
        .to_xml()
        .unwrap();
    let udid = EnrollmentId::device("CERTS-UDID-1");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(async {
        let key = AtRestKey::load_or_create(&d.join("mdmkit.key")).unwrap();
        let store = SqliteStore::open(d.join("mdmkit.db").to_str().unwrap(), key)
            .await
            .unwrap();
        let mut record = EnrollmentRecord::new(udid.clone());
        record.enabled = true;
        record.owner = Some("alice".into());
        store.put_enrollment(&record).await.unwrap();
        let mut device = DeviceRecord::new("CERTS-UDID-1");
        device.product_name = Some("iPhone15,2".into());
        store.put_device(&device).await.unwrap();
        let mut config = ConfigurationRecord::new("mail", "Mail", profile);
        config.certificate_kinds = vec!["signing".into()];
        store.put_configuration(&config).await.unwrap();
        store
            .assign_configuration(&Assignment::new(
                "mail",
                AssignmentTarget::User("alice".into()),
            ))
            .await
            .unwrap();
        store
    });
    let pending = |store: &SqliteStore| {
        runtime
            .block_on(store.pending_commands(&udid))
            .unwrap()
            .len()
    };

    let first = TestIdentity::for_email("alice@example.com");
    std::fs::write(d.join("first.p12"), first.pkcs12_modern("pw")).unwrap();
    write_secret(d.join("pw.txt"), "pw\n");
    let import = |file: &str, device_ca: bool| {
        let mut args = vec![
            "certs",
            "import",
            "--user",
            "alice",
            "--kind",
            "signing",
            "--password-file",
            "pw.txt",
            file,
        ];
        if device_ca {
            args.extend(["--device-ca", "device-ca.pem"]);
        }
        ok(d, &args)
    };
    let text = import("first.p12", false);
    assert!(
        text.contains("1 configuration(s) use this kind and were not re-pushed"),
        "{text}"
    );
    assert_eq!(pending(&store), 0);

    let second = TestIdentity::for_email("alice@example.com");
    std::fs::write(d.join("second.p12"), second.pkcs12_modern("pw")).unwrap();
    let text = import("second.p12", true);
    assert!(
        text.contains("re-pushed mail to CERTS-UDID-1 (command "),
        "{text}"
    );
    assert!(!text.contains("not re-pushed"), "{text}");
    assert_eq!(pending(&store), 1, "InstallProfile queued for the device");

    // A device CA file that is not a certificate is refused before anything is stored.
    std::fs::write(d.join("bad-ca.pem"), "not a certificate").unwrap();
    let output = mdmkit(
        d,
        &[
            "certs",
            "import",
            "--user",
            "alice",
            "--kind",
            "signing",
            "--password-file",
            "pw.txt",
            "second.p12",
            "--device-ca",
            "bad-ca.pem",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let list: serde_json::Value =
        serde_json::from_str(&ok(d, &["certs", "list", "--user", "alice", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "nothing stored");
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

/// Asserts that a file mdmkit wrote holding a secret is readable by its owner only.
fn assert_owner_only(path: impl AsRef<std::path::Path>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path.as_ref())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.as_ref().display());
    }
}
