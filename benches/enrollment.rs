//! Enrollment throughput: device identities issued (RSA-2048 key, certificate, PKCS#12) with
//! the signed enrollment profile, per second, and portal sign-ins (argon2id, default
//! parameters) per second, through the memory store.
//!
//! `cargo bench --bench enrollment` measures 200 enrollments and 50 sign-ins; without
//! `--bench` (as `cargo test --all-targets` runs it) it does a quick smoke run of 5 and 3:
//! RSA key generation and argon2 are deliberately slow.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mdmkit_core::engine::Engine;
use mdmkit_core::profile::SigningIdentity;
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{MemoryStore, PushCertificateRecord, SharedStore};
use mdmkit_core::Secret;
use mdmkit_enrollment::{DeviceCa, Enroller, EnrollmentProfileSettings, Portal, PortalConfig};

const TOPIC: &str = "com.apple.mgmt.External.bench";

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (enrollments, sign_ins) = if full { (200, 50) } else { (5, 3) };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store: SharedStore = Arc::new(MemoryStore::new());
        let push = PushCertificateRecord::new(
            TOPIC,
            vec![1],
            Secret::new(b"k".to_vec()),
            time::OffsetDateTime::now_utc() + time::Duration::days(30),
        );
        store.put_push_certificate(&push).await.expect("push cert");
        let ca = Arc::new(DeviceCa::generate("Bench CA", 30).expect("ca"));
        let signer_ca = DeviceCa::generate("Bench signer", 30).expect("signer");
        let signer = SigningIdentity::from_bytes(
            &signer_ca.certificate_pem().expect("pem"),
            signer_ca.private_key_pem().expect("key").expose(),
            None,
        )
        .expect("signer");
        let engine = Engine::builder(store.clone(), Arc::new(RecordingPusher::new()))
            .device_ca(ca.certificate_pem().expect("pem"))
            .build()
            .expect("engine");
        let portal = Portal::new(engine, PortalConfig::default());
        portal
            .add_user("bench", "bench@example.com", None)
            .await
            .expect("user");
        portal
            .set_password("bench", "bench password")
            .await
            .expect("password");
        let settings =
            EnrollmentProfileSettings::new("com.example.bench", "https://mdm.example.com", TOPIC);
        let enroller = Enroller::new(store.clone(), ca, settings, Arc::new(signer));

        let mut tokens = Vec::with_capacity(enrollments);
        for _ in 0..enrollments {
            let token = enroller
                .create_token("bench", Duration::from_secs(3600))
                .await
                .expect("token");
            tokens.push(token.value.expose_str().expect("utf-8").to_owned());
        }
        let start = Instant::now();
        for token in &tokens {
            enroller.enroll(token).await.expect("enroll");
        }
        report(
            "enrollments (token + RSA-2048 identity + PKCS#12 + signed profile)",
            enrollments,
            start.elapsed(),
        );

        let start = Instant::now();
        for _ in 0..sign_ins {
            portal
                .sign_in("bench@example.com", "bench password")
                .await
                .expect("sign in");
        }
        report(
            "portal sign-ins (argon2id, m=19 MiB, t=2)",
            sign_ins,
            start.elapsed(),
        );
    });
}

fn report(what: &str, count: usize, elapsed: Duration) {
    let per_second = count as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
    println!(
        "{what}: {count} in {:.3} s = {per_second:.1}/s ({:.2} ms each)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / count as f64
    );
}
