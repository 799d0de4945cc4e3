//! Push certificate throughput: parsing (PEM, DER, PKCS#12), expiry reports over many
//! credentials, and vendor signing of CSRs.
//!
//! `cargo bench --bench push_cert` measures; without `--bench` (as `cargo test --all-targets`
//! runs it) it does a quick smoke run of a few hundred items.

use std::hint::black_box;
use std::time::Instant;

use mdmkit_apns::monitor::{Credential, CredentialKind, ExpiryMonitor};
use mdmkit_apns::testing::TestCa;
use mdmkit_apns::{
    CertificateRequest, CsrSubject, PrivateKey, PushCertificate, VendorFiles, VendorSigner,
};
use time::{Duration, OffsetDateTime};

const TOPIC: &str = "com.apple.mgmt.External.11111111-2222-3333-4444-555555555555";

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let scale = if full { 50 } else { 1 };
    let now = OffsetDateTime::now_utc();

    let ca = TestCa::new("Bench Apple CA");
    let key = PrivateKey::generate_rsa_2048().expect("key");
    let der = ca.issue_push_cert(Some(TOPIC), &key, now + Duration::days(365));
    let pem = ca.pem_of(&der);
    let p12 = TestCa::pkcs12(&der, &key, "pw");

    for (label, bytes, password, count) in [
        ("parse PEM", &pem, None, 400 * scale),
        ("parse DER", &der, None, 400 * scale),
        ("parse PKCS#12", &p12, Some("pw"), 20 * scale),
    ] {
        let started = Instant::now();
        for _ in 0..count {
            let certificate = PushCertificate::parse(black_box(bytes), password).expect("parse");
            black_box(certificate.status(now));
        }
        report(label, count, started);
    }

    let credentials: Vec<Credential> = (0..300 * scale as i64 * 10)
        .map(|i| {
            Credential::new(
                CredentialKind::PushCertificate,
                format!("{TOPIC}.{i}"),
                now + Duration::days(i % 400 - 30),
            )
        })
        .collect();
    let monitor = ExpiryMonitor::new();
    let started = Instant::now();
    let report_rows = monitor.report(black_box(&credentials), now);
    black_box(&report_rows);
    report("expiry report (credentials)", credentials.len(), started);

    let root = TestCa::new("Bench Apple Root CA");
    let wwdr = root.issue_intermediate("Bench WWDR CA");
    let vendor_key = PrivateKey::generate_rsa_2048().expect("key");
    let signer = VendorSigner::from_files(&VendorFiles {
        vendor_certificate: wwdr.issue_leaf("MDM Vendor", &vendor_key, now + Duration::days(300)),
        vendor_key: vendor_key.to_pem().expect("pem"),
        vendor_key_password: None,
        wwdr_certificate: wwdr.certificate_pem(),
        apple_root_certificate: root.certificate_pem(),
    })
    .expect("signer");
    let request =
        CertificateRequest::for_key(&CsrSubject::new("admin@example.com"), &key).expect("csr");
    let count = 20 * scale;
    let started = Instant::now();
    for _ in 0..count {
        let upload = signer.sign(black_box(&request)).expect("sign");
        black_box(upload.to_base64().expect("encode"));
    }
    report("vendor-sign CSR (RSA-2048, plist, base64)", count, started);
}

fn report(label: &str, count: usize, started: Instant) {
    let elapsed = started.elapsed();
    let per_item = elapsed.as_secs_f64() * 1e6 / count.max(1) as f64;
    println!(
        "{label}: {count} items in {:.1} ms, {per_item:.1} µs each",
        elapsed.as_secs_f64() * 1e3
    );
}
