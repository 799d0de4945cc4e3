//! The Rust reference of the bindings' bulk benchmarks.
//!
//! * `fixture STORE KEY N`: a new SQLite deployment (`mdmkit init` with a new device CA)
//!   holding N enabled device enrollments `00008030-<16 hex digits of i>`, each with a push
//!   token on a topic that has no push certificate (pushes fail fast, the same on every
//!   side);
//! * `enqueue STORE KEY N`: times one DeviceInformation command queued to those N devices
//!   through the service's engine (`enqueue_command_many`), the call the Python
//!   `Devices.enqueue_many` and Node `devices.enqueueMany` make, and prints it.
//!
//! The binding scripts run both on copies of one fixture, so every side starts alike.

use std::time::Instant;

use mdmkit_core::command::DeviceInformation;
use mdmkit_core::store::{DeviceRecord, EnrollmentRecord, PushInfo};
use mdmkit_core::EnrollmentId;
use mdmkit_service::{InitOptions, Mdm, MdmConfig};

type BoxError = Box<dyn std::error::Error>;

/// The enrollment id of device `i` (the scripts make the same list).
fn udid(i: usize) -> String {
    format!("00008030-{i:016X}")
}

async fn open(store: &str, key: &str) -> Result<Mdm, BoxError> {
    Ok(Mdm::open(MdmConfig::new(store).key_hex(key)).await?)
}

async fn fixture(store: &str, key: &str, n: usize) -> Result<(), BoxError> {
    let mdm = open(store, key).await?;
    let mut init = InitOptions::default();
    init.base_url = Some("https://mdm.example.com".into());
    init.enrollment_profile_id = Some("com.example.bench".into());
    mdm.enrollment().init(init).await?;
    for i in 0..n {
        let id = udid(i);
        let mut record = EnrollmentRecord::new(EnrollmentId::device(&id));
        record.enrollment_type = Some("Device".into());
        record.enrolled_topic = Some("com.apple.mgmt.External.bench".into());
        record.push = Some(PushInfo::new(
            vec![7; 32],
            format!("magic-{i}"),
            "com.apple.mgmt.External.bench",
        ));
        record.enabled = true;
        mdm.store().put_enrollment(&record).await?;
        // What the device said at Authenticate: its platform, for the engine's checks.
        let mut device = DeviceRecord::new(id);
        device.model = Some("iPhone".into());
        device.product_name = Some("iPhone15,2".into());
        device.os_version = Some("17.4".into());
        mdm.store().put_device(&device).await?;
    }
    println!("fixture: {n} enrollments in {store}");
    Ok(())
}

async fn enqueue(store: &str, key: &str, n: usize) -> Result<(), BoxError> {
    let mdm = open(store, key).await?;
    let ids: Vec<EnrollmentId> = (0..n).map(|i| EnrollmentId::device(&udid(i))).collect();
    let started = Instant::now();
    let outcome = mdm
        .engine()?
        .enqueue_command_many(&ids, DeviceInformation::new(vec!["OSVersion".into()]), None)
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    if outcome.queued.len() != n {
        let first = outcome
            .refused
            .first()
            .map(|r| format!("{}: {} ({})", r.0, r.1, r.2));
        return Err(format!(
            "queued to {} of {n}; refused: {first:?}",
            outcome.queued.len()
        )
        .into());
    }
    println!(
        "rust: enqueue to {n} devices in {:.1} ms ({:.2} us per device)",
        elapsed * 1e3,
        elapsed * 1e6 / n as f64
    );
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [what, store, key, n] = args.as_slice() else {
        return Err("usage: bindings-bench-reference fixture|enqueue STORE KEY N".into());
    };
    let n: usize = n.parse()?;
    let runtime = tokio::runtime::Runtime::new()?;
    match what.as_str() {
        "fixture" => runtime.block_on(fixture(store, key, n)),
        "enqueue" => runtime.block_on(enqueue(store, key, n)),
        other => Err(format!("unknown step {other:?}").into()),
    }
}
