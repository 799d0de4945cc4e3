//! Configuration profiles: the payloads the product needs, every payload type of the
//! schema, validation, .mobileconfig round trips, platform reports and signing.

mod common;

use std::process::Command;

use common::sample_dictionary;
use mdmkit_core::codec::KeyPath;
use mdmkit_core::profile::payloads::*;
use mdmkit_core::profile::{self, Payload, PayloadContent, Profile, SigningIdentity};
use mdmkit_core::schema::Platform;
use mdmkit_core::Data;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};
use plist::Value;

const P12: &str = "11111111-0000-4000-8000-000000000001";
const ROOT: &str = "11111111-0000-4000-8000-000000000002";

/// A profile with every payload the product builds, wired together by references.
fn full_profile() -> Profile {
    let identity = Payload::new(
        "com.example.identity",
        SecurityPkcs12::new(Data::new(vec![0x30, 0x82, 0x01]))
            .with_password("secret")
            .with_payload_certificate_file_name("device.p12"),
    )
    .with_uuid(P12);
    let root =
        Payload::new("com.example.root", SecurityRoot::new(Data::new(vec![0x30]))).with_uuid(ROOT);
    let pem = Payload::new(
        "com.example.pem",
        SecurityPem::new(Data::new(b"-----BEGIN".to_vec())),
    );
    let scep = Payload::new(
        "com.example.scep",
        SecurityScep::new(
            SecurityScepPayloadContent::new("https://scep.example.com/scep")
                .with_challenge("challenge")
                .with_keysize(2048),
        ),
    );
    let mdm = Payload::new(
        "com.example.mdm",
        Mdm::new(
            P12,
            "com.apple.mgmt.External.1234",
            "https://mdm.example.com/mdm",
        )
        .with_check_in_url("https://mdm.example.com/checkin")
        .with_sign_message(true)
        .with_access_rights(8191)
        .with_check_out_when_removed(true),
    );
    let mail = Payload::new(
        "com.example.mail",
        MailManaged::new(
            MailManagedEmailAccountType::EmailTypeIMAP,
            MailManagedIncomingMailServerAuthentication::EmailAuthPassword,
            "imap.example.com",
            MailManagedOutgoingMailServerAuthentication::EmailAuthPassword,
            "smtp.example.com",
        )
        .with_smime_signing_certificate_uuid(P12)
        .with_smime_encryption_certificate_uuid(P12)
        .with_smime_signing_enabled(true),
    );
    let eas = Payload::new(
        "com.example.eas",
        EasAccount::new()
            .with_host("eas.example.com")
            .with_smime_signing_certificate_uuid(P12),
    );
    let mut eas = eas;
    if let PayloadContent::EasAccount(account) = &mut eas.content {
        account.email_address = Some("amy@example.com".into());
    }
    let wifi = Payload::new(
        "com.example.wifi",
        WifiManaged::new()
            .with_ssid_str("Corp")
            .with_encryption_type(WifiManagedEncryptionType::Wpa2)
            .with_payload_certificate_uuid(P12)
            .with_eap_client_configuration(
                WifiManagedEAPClientConfiguration::new(vec![13])
                    .with_payload_certificate_anchor_uuid(vec![ROOT.into()]),
            ),
    );
    let vpn = Payload::new(
        "com.example.vpn",
        VpnManaged::new(VpnManagedVPNType::Vpn, "Corp VPN").with_vpn(
            VpnManagedVPN::new()
                .with_authentication_method(VpnManagedVPNAuthenticationMethod::Certificate)
                .with_payload_certificate_uuid(P12),
        ),
    );
    let passcode = Payload::new(
        "com.example.passcode",
        MobiledevicePasswordpolicy::new()
            .with_min_length(6)
            .with_max_failed_attempts(10),
    );
    let restrictions = Payload::new(
        "com.example.restrictions",
        Applicationaccess::new().with_allow_camera(false),
    );
    let clip = Payload::new(
        "com.example.clip",
        WebClipManaged::new("https://portal.example.com", "Portal").with_is_removable(false),
    );
    let mut profile = Profile::new("com.example.profile")
        .with_uuid("11111111-0000-4000-8000-0000000000FF")
        .with_display_name("Example")
        .with_organization("Example Corp")
        .with_scope(profile::PayloadScope::System);
    for payload in [
        identity,
        root,
        pem,
        scep,
        mdm,
        mail,
        eas,
        wifi,
        vpn,
        passcode,
        restrictions,
        clip,
    ] {
        profile = profile.with_payload(payload);
    }
    profile
}

#[test]
fn the_schema_has_all_120_payload_types_and_each_round_trips() {
    assert_eq!(PAYLOADS.len(), 120);
    for info in PAYLOADS {
        let dict = sample_dictionary(info.keys);
        let path = KeyPath::named(info.name);
        let content = PayloadContent::from_dictionary(info.name, dict.clone(), &path)
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert!(
            !matches!(content, PayloadContent::Other { .. }),
            "{} is typed",
            info.name
        );
        assert_eq!(content.payload_type(), info.name);
        assert_eq!(content.to_dictionary(), dict, "{}", info.name);
    }
}

#[test]
fn the_listed_payloads_build_validate_and_round_trip_through_mobileconfig() {
    let profile = full_profile();
    profile.validate().unwrap();
    let xml = profile.to_xml().unwrap();
    let text = String::from_utf8(xml.clone()).unwrap();
    for needle in [
        "<key>IdentityCertificateUUID</key>",
        "<key>SMIMESigningCertificateUUID</key>",
        "<key>PayloadCertificateAnchorUUID</key>",
        "<key>PayloadCertificateUUID</key>",
        "<string>com.apple.security.pkcs12</string>",
        "<key>PayloadScope</key>",
        "<string>Configuration</string>",
    ] {
        assert!(text.contains(needle), "{needle} missing");
    }
    let back = Profile::read(&xml).unwrap();
    assert_eq!(back, profile);
    assert!(matches!(back.payloads[4].content, PayloadContent::Mdm(_)));
}

#[test]
fn unknown_payload_types_and_keys_are_kept_unchanged() {
    let mut profile = full_profile();
    let mut keys = plist::Dictionary::new();
    keys.insert("SomeSetting".into(), Value::Integer(3.into()));
    profile = profile.with_payload(Payload::new(
        "com.example.custom",
        PayloadContent::Other {
            payload_type: "com.vendor.custom".into(),
            keys,
        },
    ));
    profile
        .extra
        .insert("VendorTopLevel".into(), Value::Boolean(true));
    let back = Profile::read(&profile.to_xml().unwrap()).unwrap();
    assert_eq!(back, profile);
}

fn expect_invalid(profile: &Profile, code: &str, needle: &str) {
    let err = profile.validate().unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    assert!(
        profile.to_xml().is_err(),
        "nothing is written for an invalid profile"
    );
}

#[test]
fn references_must_point_to_suitable_payloads_of_the_profile() {
    let mut profile = full_profile();
    if let PayloadContent::Mdm(mdm) = &mut profile.payloads[4].content {
        mdm.identity_certificate_uuid = "MISSING".into();
    }
    expect_invalid(
        &profile,
        "profile_invalid",
        "com.apple.mdm(com.example.mdm).IdentityCertificateUUID: no payload in the profile has PayloadUUID \"MISSING\"",
    );

    let mut profile = full_profile();
    if let PayloadContent::MailManaged(mail) = &mut profile.payloads[5].content {
        mail.smime_encryption_certificate_uuid = Some(ROOT.into());
    }
    expect_invalid(
        &profile,
        "profile_invalid",
        "com.apple.mail.managed(com.example.mail).SMIMEEncryptionCertificateUUID: points to com.apple.security.root(com.example.root)",
    );

    let mut profile = full_profile();
    if let PayloadContent::VpnManaged(vpn) = &mut profile.payloads[8].content {
        vpn.vpn.as_mut().unwrap().payload_certificate_uuid = Some(ROOT.into());
    }
    expect_invalid(
        &profile,
        "profile_invalid",
        "com.apple.vpn.managed(com.example.vpn).VPN.PayloadCertificateUUID",
    );

    let mut profile = full_profile();
    if let PayloadContent::WifiManaged(wifi) = &mut profile.payloads[7].content {
        wifi.eap_client_configuration
            .as_mut()
            .unwrap()
            .payload_certificate_anchor_uuid = Some(vec!["NOPE".into()]);
    }
    expect_invalid(
        &profile,
        "profile_invalid",
        "EAPClientConfiguration.PayloadCertificateAnchorUUID.0",
    );
}

#[test]
fn identifiers_uuids_values_and_ranges_are_checked() {
    let mut profile = full_profile();
    profile.payloads[1].common.identifier = "com.example.identity".into();
    expect_invalid(
        &profile,
        "profile_invalid",
        "com.example.identity\" is used twice",
    );

    let mut profile = full_profile();
    profile.payloads[2].common.uuid = P12.into();
    expect_invalid(&profile, "profile_invalid", "PayloadUUID");

    let mut profile = full_profile();
    if let PayloadContent::MobiledevicePasswordpolicy(policy) = &mut profile.payloads[9].content {
        policy.max_failed_attempts = Some(50);
    }
    expect_invalid(
        &profile,
        "invalid_value",
        "com.apple.mobiledevice.passwordpolicy(com.example.passcode).maxFailedAttempts",
    );

    let mut profile = full_profile();
    profile.target_device_type = Some(42);
    expect_invalid(&profile, "invalid_value", "Profile.TargetDeviceType");

    expect_invalid(
        &Profile::new("com.example.empty"),
        "profile_invalid",
        "at least one payload",
    );
}

#[test]
fn bad_mobileconfig_files_get_clear_errors() {
    assert_eq!(
        Profile::read(b"nonsense").unwrap_err().code(),
        "plist_malformed"
    );
    let not_profile =
        br#"<plist><dict><key>PayloadType</key><string>Other</string></dict></plist>"#;
    assert_eq!(
        Profile::read(not_profile).unwrap_err().code(),
        "invalid_value"
    );
    let bad_payload = br#"<plist><dict>
      <key>PayloadType</key><string>Configuration</string>
      <key>PayloadIdentifier</key><string>p</string>
      <key>PayloadUUID</key><string>u</string>
      <key>PayloadContent</key><array><dict>
        <key>PayloadType</key><string>com.apple.webClip.managed</string>
        <key>PayloadIdentifier</key><string>clip</string>
        <key>PayloadUUID</key><string>c</string>
        <key>URL</key><string>https://portal.example.com</string>
        <key>Label</key><integer>1</integer>
      </dict></array>
    </dict></plist>"#;
    let err = Profile::read(bad_payload).unwrap_err();
    assert_eq!(
        err.to_string(),
        "com.apple.webClip.managed(clip).Label: expected string, found integer"
    );
}

#[test]
fn platform_reports_name_unsupported_payloads_and_keys() {
    let profile = full_profile();
    let tv = profile.unsupported_on(Platform::TvOs);
    assert!(
        tv.iter().any(
            |i| i.payload == "com.apple.mail.managed(com.example.mail)" && i.key_path.is_none()
        ),
        "{tv:?}"
    );
    // A key the schema marks as not on macOS, in a payload macOS supports.
    let (info, key) = PAYLOADS
        .iter()
        .filter(|p| p.support(Platform::MacOs).is_some())
        .find_map(|p| {
            p.keys
                .iter()
                .find(|k| k.not_on.contains(&Platform::MacOs) && !k.required)
                .map(|k| (p, k))
        })
        .expect("the schema has such a key");
    let mut dict = sample_dictionary(info.keys);
    dict.retain(|k, _| k == key.name || info.keys.iter().any(|i| i.name == k && i.required));
    let content =
        PayloadContent::from_dictionary(info.name, dict, &KeyPath::named(info.name)).unwrap();
    let profile = Profile::new("p").with_payload(Payload::new("p.one", content));
    let mac = profile.unsupported_on(Platform::MacOs);
    assert!(
        mac.iter().any(|i| i.key_path.as_deref() == Some(key.name)),
        "{mac:?}"
    );
}

fn signer(days: u32) -> (Vec<u8>, Vec<u8>) {
    rsa_certificate("Example Profile Signer", days)
}

/// A self-signed RSA certificate and its key, PEM.
fn rsa_certificate(common_name: &str, days: u32) -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", common_name).unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(days).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    (
        cert.build().to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

#[test]
fn signed_profiles_verify_here_and_with_the_openssl_command_line() {
    let (cert, key) = signer(30);
    let identity = SigningIdentity::from_bytes(&cert, &key, None).unwrap();
    assert!(!format!("{identity:?}").contains("PRIVATE"));
    let profile = full_profile();
    let signed = profile::sign(&profile, &identity).unwrap();
    assert!(profile::is_signed(&signed));

    let verified = profile::verify(&signed, Some(&cert)).unwrap();
    assert_eq!(verified.profile, profile);
    assert!(verified.signer_subject.contains("Example Profile Signer"));
    assert_eq!(Profile::read(&signed).unwrap(), profile);

    let dir = std::env::temp_dir().join(format!("mdmkit-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let signed_path = dir.join("signed.mobileconfig");
    let cert_path = dir.join("signer.pem");
    std::fs::write(&signed_path, &signed).unwrap();
    std::fs::write(&cert_path, &cert).unwrap();
    let output = Command::new("openssl")
        .args(["smime", "-verify", "-inform", "DER", "-in"])
        .arg(&signed_path)
        .arg("-CAfile")
        .arg(&cert_path)
        .args(["-purpose", "any"])
        .output()
        .expect("the openssl command line is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, verified.content);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tampered_garbled_and_untrusted_signatures_are_refused() {
    let (cert, key) = signer(30);
    let identity = SigningIdentity::from_bytes(&cert, &key, None).unwrap();
    let signed = profile::sign(&full_profile(), &identity).unwrap();

    let needle = b"Example Corp";
    let at = signed
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut tampered = signed.clone();
    tampered[at] = b'X';
    assert_eq!(
        profile::verify(&tampered, None).unwrap_err().code(),
        "profile_signature"
    );
    assert!(Profile::read(&tampered).is_err());
    assert_eq!(
        profile::verify(&signed[..signed.len() / 2], None)
            .unwrap_err()
            .code(),
        "profile_signature"
    );
    let (other_cert, other_key) = signer(30);
    assert_eq!(
        profile::verify(&signed, Some(&other_cert))
            .unwrap_err()
            .code(),
        "profile_signature"
    );
    let err = SigningIdentity::from_bytes(&cert, &other_key, None).unwrap_err();
    assert_eq!(err.code(), "certificate_unreadable");
    assert!(SigningIdentity::from_bytes(b"not a cert", &key, None).is_err());
    let _ = other_key;
}

fn ec_certificate() -> Vec<u8> {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "EC device").unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    cert.build().to_der().unwrap()
}

#[test]
fn encrypted_profiles_decrypt_here_and_with_the_openssl_command_line() {
    let (cert, key) = signer(30);
    let profile = full_profile();
    let encrypted = profile::encrypt(&profile, &cert).unwrap();
    assert!(encrypted.is_encrypted());
    assert!(encrypted.payloads.is_empty());
    assert_eq!(encrypted.identifier, profile.identifier);
    assert_eq!(encrypted.uuid, profile.uuid);

    let xml = encrypted.to_xml().unwrap();
    let top = plist::Value::from_reader(std::io::Cursor::new(&xml)).unwrap();
    let top = top.as_dictionary().unwrap();
    assert_eq!(top.get("IsEncrypted"), Some(&Value::Boolean(true)));
    assert!(top.get("PayloadContent").is_none());
    assert!(top
        .get("EncryptedPayloadContent")
        .unwrap()
        .as_data()
        .is_some());
    let needle = b"com.example.identity";
    assert!(!xml.windows(needle.len()).any(|w| w == needle));

    let err = Profile::read(&xml).unwrap_err();
    assert_eq!(err.code(), "profile_invalid");
    assert!(err.to_string().contains("EncryptedPayloadContent"), "{err}");
    assert_eq!(Profile::read_maybe_encrypted(&xml).unwrap(), encrypted);
    assert_eq!(profile::decrypt_bytes(&xml, &cert, &key).unwrap(), profile);
    assert_eq!(profile::decrypt(&encrypted, &cert, &key).unwrap(), profile);

    let envelope = encrypted.encrypted_payload_content.as_ref().unwrap();
    let dir = std::env::temp_dir().join(format!("mdmkit-encrypt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let envelope_path = dir.join("envelope.der");
    let cert_path = dir.join("device.pem");
    let key_path = dir.join("device.key");
    std::fs::write(&envelope_path, envelope.as_bytes()).unwrap();
    std::fs::write(&cert_path, &cert).unwrap();
    std::fs::write(&key_path, &key).unwrap();
    let output = Command::new("openssl")
        .args(["cms", "-decrypt", "-inform", "DER", "-binary", "-in"])
        .arg(&envelope_path)
        .arg("-recip")
        .arg(&cert_path)
        .arg("-inkey")
        .arg(&key_path)
        .output()
        .expect("the openssl command line is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let payloads = plist::Value::from_reader(std::io::Cursor::new(&output.stdout)).unwrap();
    let expected = Value::Array(
        profile
            .payloads
            .iter()
            .map(|p| Value::Dictionary(p.to_dictionary()))
            .collect(),
    );
    assert_eq!(payloads, expected);
    let cipher = Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(&envelope_path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&cipher.stdout).contains("aes-256-cbc"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn encryption_refuses_wrong_keys_garbled_envelopes_and_unusable_certificates() {
    let (cert, key) = signer(30);
    let profile = full_profile();
    let encrypted = profile::encrypt(&profile, &cert).unwrap();

    let (other_cert, other_key) = rsa_certificate("Another device", 30);
    let err = profile::decrypt(&encrypted, &other_cert, &other_key).unwrap_err();
    assert_eq!(err.code(), "profile_not_recipient", "{err}");
    let err = profile::decrypt(&encrypted, &cert, &other_key).unwrap_err();
    assert_eq!(err.code(), "certificate_unreadable", "{err}");
    let err = profile::decrypt(&encrypted, b"not a cert", &key).unwrap_err();
    assert_eq!(err.code(), "certificate_unreadable", "{err}");

    let envelope = encrypted.encrypted_payload_content.clone().unwrap();
    let mut garbled = encrypted.clone();
    let mut bytes = envelope.into_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    bytes[last - 20] ^= 0xff;
    garbled.encrypted_payload_content = Some(Data::new(bytes.clone()));
    let err = profile::decrypt(&garbled, &cert, &key).unwrap_err();
    assert_eq!(err.code(), "profile_encryption", "{err}");
    garbled.encrypted_payload_content = Some(Data::new(bytes[..bytes.len() / 2].to_vec()));
    let err = profile::decrypt(&garbled, &cert, &key).unwrap_err();
    assert_eq!(err.code(), "profile_encryption", "{err}");
    let identity = SigningIdentity::from_bytes(&cert, &key, None).unwrap();
    let not_enveloped = profile::sign(&profile, &identity).unwrap();
    garbled.encrypted_payload_content = Some(Data::new(not_enveloped));
    let err = profile::decrypt(&garbled, &cert, &key).unwrap_err();
    assert_eq!(err.code(), "profile_encryption", "{err}");

    let err = profile::encrypt(&profile, &ec_certificate()).unwrap_err();
    assert_eq!(err.code(), "key_not_supported", "{err}");
    assert!(err.to_string().contains("RSA"), "{err}");
    let err = profile::encrypt(&profile, b"not a cert").unwrap_err();
    assert_eq!(err.code(), "certificate_unreadable", "{err}");
    let err = profile::encrypt(&encrypted, &cert).unwrap_err();
    assert_eq!(err.code(), "profile_invalid", "{err}");
    let err = profile::encrypt(&Profile::new("com.example.empty"), &cert).unwrap_err();
    assert_eq!(err.code(), "profile_invalid", "{err}");

    let mut both = encrypted.clone();
    both.payloads = profile.payloads.clone();
    assert_eq!(both.validate().unwrap_err().code(), "profile_invalid");
    let mut dict = encrypted.to_dictionary();
    dict.insert("IsEncrypted".into(), Value::Boolean(false));
    assert_eq!(
        Profile::from_dictionary(dict).unwrap_err().code(),
        "profile_invalid"
    );
    // A profile that is not encrypted decrypts to itself.
    assert_eq!(profile::decrypt(&profile, &cert, &key).unwrap(), profile);
}

#[test]
fn encrypted_profiles_can_be_signed_and_then_verify_and_decrypt() {
    let (signer_cert, signer_key) = signer(30);
    let identity = SigningIdentity::from_bytes(&signer_cert, &signer_key, None).unwrap();
    let (device_cert, device_key) = rsa_certificate("Example device", 30);
    let profile = full_profile();
    let encrypted = profile::encrypt(&profile, &device_cert).unwrap();
    let signed = profile::sign(&encrypted, &identity).unwrap();

    let verified = profile::verify(&signed, Some(&signer_cert)).unwrap();
    assert_eq!(verified.profile, encrypted);
    assert_eq!(
        profile::decrypt(&verified.profile, &device_cert, &device_key).unwrap(),
        profile
    );
    assert_eq!(
        profile::decrypt_bytes(&signed, &device_cert, &device_key).unwrap(),
        profile
    );
    assert_eq!(
        Profile::read(&signed).unwrap_err().code(),
        "profile_invalid"
    );
}
