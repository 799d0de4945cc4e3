//! Declarative Device Management on SQLite, each beside the plain decode of the same JSON
//! with serde_json in the same run:
//!
//! * `declaration-items` for an enrollment with 200 assigned declarations (the store
//!   read, the capability filter, the DeclarationsToken and the manifest's JSON);
//! * one status report of 50 items stored (parse, type-check each known item, flatten,
//!   one write transaction).
//!
//! `cargo bench --bench ddm` measures 2,000 requests of each. Without `--bench` (as
//! `cargo test --all-targets` runs it) it is a smoke run of 20. `MDMKIT_BENCH_N` sets
//! another count.

use std::time::{Duration, Instant};

use mdmkit_core::ddm::declarations::{ActivationSimple, ConfigurationPasscodeSettings};
use mdmkit_core::ddm::serve::respond;
use mdmkit_core::ddm::{put_declarations, Declaration, DeclarativeReply};
use mdmkit_core::store::{AtRestKey, SqliteStore, Store};
use mdmkit_core::EnrollmentId;
use serde_json::{json, Value as Json};

fn count() -> usize {
    if let Some(n) = std::env::var("MDMKIT_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        return n;
    }
    if std::env::args().any(|a| a == "--bench") {
        2_000
    } else {
        20
    }
}

fn declarations() -> Vec<Declaration> {
    let mut out = Vec::new();
    let mut configurations = Vec::new();
    for i in 0..199 {
        let identifier = format!("passcode-{i:03}");
        out.push(
            Declaration::new(
                &identifier,
                ConfigurationPasscodeSettings::new()
                    .with_minimum_length(4 + (i % 12))
                    .with_require_complex_passcode(i % 2 == 0),
            )
            .expect("valid"),
        );
        configurations.push(identifier);
    }
    out.push(Declaration::new("activation", ActivationSimple::new(configurations)).expect("valid"));
    out
}

fn status_report() -> Vec<u8> {
    let mut report = json!({
        "StatusItems": {
            "device": {
                "identifier": { "udid": "00008030-0000000000000001", "serial-number": "C02ABCDEF1" },
                "model": { "family": "iPhone", "identifier": "iPhone15,2", "marketing-name": "iPhone 14 Pro", "number": "MQ0G3" },
                "operating-system": { "family": "iOS", "version": "17.4", "build-version": "21E219", "marketing-name": "iOS 17.4" }
            },
            "passcode": { "is-compliant": true, "is-present": true },
            "softwareupdate": { "install-state": "none" }
        },
        "Errors": [],
        "FullReport": false
    });
    // 13 known items above, 37 an application's own (stored as they come).
    for i in 0..37 {
        report["StatusItems"][format!("vendor-item-{i:02}")] = json!(format!("value {i}"));
    }
    report.to_string().into_bytes()
}

fn per_request(elapsed: Duration, n: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n as f64
}

fn report(what: &str, n: usize, store: Duration, plain: Duration) {
    println!(
        "sqlite  {what:<52} n={n:<6} mdmkit {:>9.1} us/request  serde_json decode {:>7.1} us  \
         ratio {:.1}",
        per_request(store, n),
        per_request(plain, n),
        store.as_secs_f64() / plain.as_secs_f64().max(1e-9),
    );
}

fn main() {
    let n = count();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ddm.db");
        let store = SqliteStore::open(
            path.to_str().expect("path"),
            AtRestKey::from_bytes(&[1; 32]).expect("key"),
        )
        .await
        .expect("open");
        let store: &dyn Store = &store;
        let enrollment = EnrollmentId::device("00008030-0000000000000001");
        let declared = put_declarations(store, "bench", &declarations())
            .await
            .expect("declare");
        assert_eq!(declared.records.len(), 200);
        store
            .assign_declaration_set("bench", &enrollment)
            .await
            .expect("assign");

        // declaration-items: the store's answer, then the plain decode of that same JSON.
        let DeclarativeReply::Json(manifest) =
            respond(store, &enrollment, "declaration-items", None)
                .await
                .expect("manifest")
        else {
            panic!("declaration-items answers JSON");
        };
        let start = Instant::now();
        for _ in 0..n {
            let reply = respond(store, &enrollment, "declaration-items", None)
                .await
                .expect("manifest");
            std::hint::black_box(reply);
        }
        let served = start.elapsed();
        let start = Instant::now();
        for _ in 0..n {
            let json: Json = serde_json::from_slice(std::hint::black_box(&manifest)).expect("json");
            std::hint::black_box(json);
        }
        let plain = start.elapsed();
        report(
            &format!(
                "declaration-items, 200 declarations ({} bytes)",
                manifest.len()
            ),
            n,
            served,
            plain,
        );

        // One status report of 50 items, stored.
        let body = status_report();
        let update = mdmkit_core::ddm::parse_status_report(&body).expect("report");
        assert_eq!(update.items.len(), 50);
        let start = Instant::now();
        for _ in 0..n {
            let reply = respond(store, &enrollment, "status", Some(&body))
                .await
                .expect("status");
            std::hint::black_box(reply);
        }
        let stored = start.elapsed();
        let start = Instant::now();
        for _ in 0..n {
            let json: Json = serde_json::from_slice(std::hint::black_box(&body)).expect("json");
            std::hint::black_box(json);
        }
        let plain = start.elapsed();
        report(
            &format!("status report, 50 items stored ({} bytes)", body.len()),
            n,
            stored,
            plain,
        );
        let status = store.get_status(&enrollment).await.expect("status");
        assert_eq!(status.map(|s| s.items.len()), Some(50));
    });
}
