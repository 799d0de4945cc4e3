//! Decoding check-in bodies in Rust: the reference the Python bindings' benchmark
//! (`benches/python_bindings.py`) compares its per-call cost with.
//!
//! With `MDMKIT_BENCH_BODIES=<file>` (bodies as u32-LE length + bytes, as the Python script
//! writes them) it decodes those; otherwise 10,000 TokenUpdate bodies made here. Prints the
//! time per decode. Without `--bench` (as `cargo test --all-targets` runs it) it decodes
//! each body once and checks it.

use std::time::Instant;

use mdmkit_core::{Checkin, PlistFormat};

fn bodies() -> Vec<Vec<u8>> {
    if let Ok(path) = std::env::var("MDMKIT_BENCH_BODIES") {
        let data = std::fs::read(&path).expect("MDMKIT_BENCH_BODIES is readable");
        let mut out = Vec::new();
        let mut at = 0;
        while at + 4 <= data.len() {
            let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            out.push(data[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        return out;
    }
    (0..10_000)
        .map(|i| {
            let mut dict = plist::Dictionary::new();
            dict.insert("MessageType".into(), "TokenUpdate".into());
            dict.insert("UDID".into(), format!("UDID-{i:05}").into());
            dict.insert("Topic".into(), "com.apple.mgmt.External.bench".into());
            dict.insert("Token".into(), plist::Value::Data(vec![i as u8; 32]));
            dict.insert("PushMagic".into(), format!("magic-{i}").into());
            dict.insert("UnlockToken".into(), plist::Value::Data(vec![7; 256]));
            let mut body = Vec::new();
            plist::Value::Dictionary(dict)
                .to_writer_xml(&mut body)
                .unwrap();
            body
        })
        .collect()
}

fn main() {
    let bodies = bodies();
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full { 5 } else { 1 };
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for body in &bodies {
            let checkin = Checkin::decode(body).expect("a valid check-in");
            std::hint::black_box(&checkin);
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    if !full {
        let first = Checkin::decode(&bodies[0]).unwrap();
        assert!(!first.message.encode(PlistFormat::Xml).unwrap().is_empty());
    }
    println!(
        "rust: decoded {} check-ins in {:.1} ms ({:.2} us each)",
        bodies.len(),
        best * 1e3,
        best * 1e6 / bodies.len() as f64
    );
}
