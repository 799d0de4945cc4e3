//! Importing user S/MIME certificates: PKCS#12 files per second, modern (AES-256, PBKDF2,
//! SHA-256 MAC) and legacy (3DES/RC2-40, SHA-1 MAC), each checked in full and stored in
//! the memory store.
//!
//! `cargo bench --bench certstore` measures 2,000 imports of each; without `--bench` (as
//! `cargo test --all-targets` runs it) it does a quick smoke run of 200 of each.

use std::sync::Arc;
use std::time::Instant;

use mdmkit_certstore::testing::TestIdentity;
use mdmkit_certstore::{CertStore, ImportRequest};
use mdmkit_core::store::{CertificatePurpose, MemoryStore};

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let count = if full { 2_000 } else { 200 };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let identity = TestIdentity::for_email("bench@example.com");
    let cases = [
        (
            "modern (AES-256-CBC, PBKDF2 2048, HMAC-SHA-256)",
            identity.pkcs12_modern("bench"),
        ),
        (
            "legacy (3DES + RC2-40, SHA-1 MAC)",
            identity.pkcs12_legacy("bench"),
        ),
    ];
    runtime.block_on(async {
        for (label, file) in cases {
            let certs = CertStore::new(Arc::new(MemoryStore::new()));
            certs
                .add_kind("Signing", CertificatePurpose::Signing)
                .await
                .expect("kind");
            // One import first so that OpenSSL's provider loading is not measured.
            certs
                .import(ImportRequest::new("warm", "signing", file.clone()).with_password("bench"))
                .await
                .expect("import");
            let start = Instant::now();
            for i in 0..count {
                let request = ImportRequest::new(format!("user{i}"), "signing", file.clone())
                    .with_password("bench");
                certs.import(request).await.expect("import");
            }
            let elapsed = start.elapsed();
            println!(
                "certstore import {label}: {count} files of {} bytes in {:.3} s: {:.0} imports/s, {:.0} µs each",
                file.len(),
                elapsed.as_secs_f64(),
                f64::from(count) / elapsed.as_secs_f64(),
                elapsed.as_secs_f64() * 1e6 / f64::from(count),
            );
        }
    });
}
