//! Building, serializing, signing and encrypting a configuration profile of 20 payloads.
//!
//! `cargo bench -p mdmkit-benches --bench profile` measures; `cargo test` runs each case once.

// criterion's macros define undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use mdmkit_core::profile::payloads::{
    Applicationaccess, MobiledevicePasswordpolicy, SecurityPkcs12, SecurityRoot, WebClipManaged,
    WifiManaged, WifiManagedEAPClientConfiguration, WifiManagedEncryptionType,
};
use mdmkit_core::profile::{self, Payload, Profile, SigningIdentity};
use mdmkit_core::Data;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};

/// A profile of 20 payloads: certificates, Wi-Fi networks that reference them, web clips,
/// a passcode policy and restrictions.
fn twenty_payloads() -> Profile {
    let mut profile = Profile::new("com.example.bench").with_display_name("Benchmark");
    let root_uuid = "BENCH-ROOT";
    profile = profile
        .with_payload(
            Payload::new("bench.root", SecurityRoot::new(Data::new(vec![0x30; 900])))
                .with_uuid(root_uuid),
        )
        .with_payload(
            Payload::new(
                "bench.identity",
                SecurityPkcs12::new(Data::new(vec![0x30; 2500])),
            )
            .with_uuid("BENCH-ID"),
        )
        .with_payload(Payload::new(
            "bench.passcode",
            MobiledevicePasswordpolicy::new().with_min_length(8),
        ))
        .with_payload(Payload::new(
            "bench.restrictions",
            Applicationaccess::new().with_allow_camera(false),
        ));
    for i in 0..8 {
        profile = profile.with_payload(Payload::new(
            format!("bench.wifi.{i}"),
            WifiManaged::new()
                .with_ssid_str(format!("Network {i}"))
                .with_encryption_type(WifiManagedEncryptionType::Wpa2)
                .with_payload_certificate_uuid("BENCH-ID")
                .with_eap_client_configuration(
                    WifiManagedEAPClientConfiguration::new(vec![13])
                        .with_payload_certificate_anchor_uuid(vec![root_uuid.into()]),
                ),
        ));
    }
    for i in 0..8 {
        profile = profile.with_payload(Payload::new(
            format!("bench.clip.{i}"),
            WebClipManaged::new(format!("https://app{i}.example.com"), format!("App {i}")),
        ));
    }
    assert_eq!(profile.payloads.len(), 20);
    profile
}

/// A self-signed RSA 2048 certificate and its key, PEM.
fn rsa_certificate(common_name: &str) -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("key");
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", common_name).expect("cn");
    let name = name.build();
    let mut cert = X509::builder().expect("builder");
    cert.set_version(2).expect("version");
    cert.set_subject_name(&name).expect("subject");
    cert.set_issuer_name(&name).expect("issuer");
    cert.set_pubkey(&key).expect("pubkey");
    cert.set_not_before(&Asn1Time::days_from_now(0).expect("time"))
        .expect("nb");
    cert.set_not_after(&Asn1Time::days_from_now(1).expect("time"))
        .expect("na");
    cert.sign(&key, MessageDigest::sha256()).expect("sign");
    (
        cert.build().to_pem().expect("pem"),
        key.private_key_to_pem_pkcs8().expect("key pem"),
    )
}

fn signer() -> SigningIdentity {
    let (cert, key) = rsa_certificate("Bench Signer");
    SigningIdentity::from_bytes(&cert, &key, None).expect("identity")
}

fn bench_profile(c: &mut Criterion) {
    let identity = signer();
    let profile = twenty_payloads();
    let xml = profile.to_xml().expect("valid");
    let signed = profile::sign(&profile, &identity).expect("signed");
    println!(
        "profile of {} payloads: {} bytes of XML, {} bytes signed",
        profile.payloads.len(),
        xml.len(),
        signed.len()
    );
    c.bench_function("profile/build 20 payloads", |b| b.iter(twenty_payloads));
    c.bench_function("profile/validate + serialize 20 payloads", |b| {
        b.iter(|| profile.to_xml().expect("valid"))
    });
    c.bench_function("profile/validate + serialize + sign 20 payloads", |b| {
        b.iter(|| profile::sign(&profile, &identity).expect("signed"))
    });
    c.bench_function("profile/build + serialize + sign 20 payloads", |b| {
        b.iter(|| profile::sign(&twenty_payloads(), &identity).expect("signed"))
    });
    c.bench_function("profile/verify + read 20 payloads", |b| {
        b.iter(|| profile::verify(&signed, None).expect("verified"))
    });

    let (device_cert, device_key) = rsa_certificate("Bench Device");
    let encrypted = profile::encrypt(&profile, &device_cert).expect("encrypted");
    println!(
        "encrypted to an RSA 2048 device certificate (AES-256-CBC): {} bytes of XML",
        encrypted.to_xml().expect("valid").len()
    );
    c.bench_function("profile/validate + encrypt 20 payloads", |b| {
        b.iter(|| profile::encrypt(&profile, &device_cert).expect("encrypted"))
    });
    c.bench_function("profile/decrypt + read 20 payloads", |b| {
        b.iter(|| profile::decrypt(&encrypted, &device_cert, &device_key).expect("decrypted"))
    });
}

criterion_group!(benches, bench_profile);
criterion_main!(benches);
