//! The Rust reference of the bindings' bulk benchmarks.
//!
//! * `fixture STORE KEY N`: a new SQLite deployment (`mdmkit init` with a new device CA)
//!   holding N enabled device enrollments `00008030-<16 hex digits of i>`, each with a push
//!   token on a topic that has no push certificate (pushes fail fast, the same on every
//!   side);
//! * `enqueue STORE KEY N`: times one DeviceInformation command queued to those N devices
//!   through the service's engine (`enqueue_command_many`), the call the Python
//!   `Devices.enqueue_many` and Node `devices.enqueueMany` make, and prints it;
//! * `push STORE KEY N UDID`: N pushes to the enrolled device UDID through the service's
//!   `Devices::check_in_now` (the call the Python `devices.check_in_now` and
//!   `devices_async.check_in_now` make), after the same warm-up (1 + min(200, N) calls):
//!   one call at a time, then all N in flight (each a task spawned on the multi-threaded
//!   runtime, as the binding's awaitables are, then all awaited), and prints both times.
//!   `bindings/python/bench/push_mock.py` runs it on a copy of its store, against the same
//!   mock APNs server and push certificate;
//! * `decode BODIES`: decodes the check-in bodies of the file BODIES (each a u32
//!   little-endian length and the bytes, as `benches/python_bindings.py` and
//!   `benches/node_bindings.mjs` write them) with `Checkin::decode`, the call the bindings'
//!   `decode_checkin`/`decodeCheckin` make, best of 5 rounds, as `benches/checkin_decode.rs`
//!   does (that bench needs the whole bench crate; this binary builds with the bindings'
//!   dependencies only, so a release build of it is quick once the modules' is done).
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

async fn push(store: &str, key: &str, n: usize, udid: &str) -> Result<(), BoxError> {
    let mdm = open(store, key).await?;
    let devices = mdm.devices();
    let first = devices.check_in_now(udid).await?;
    if !first.pushed {
        return Err(format!("the push failed: {:?}", first.push).into());
    }
    for _ in 0..n.min(200) {
        devices.check_in_now(udid).await?;
    }

    let started = Instant::now();
    let mut pushed = 0;
    for _ in 0..n {
        pushed += usize::from(devices.check_in_now(udid).await?.pushed);
    }
    let one = started.elapsed().as_secs_f64() * 1e3;
    check_pushed(pushed, n)?;
    print_push("one call at a time", n, one);

    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let devices = devices.clone();
            let udid = udid.to_owned();
            tokio::spawn(async move { devices.check_in_now(&udid).await })
        })
        .collect();
    let mut pushed = 0;
    for task in tasks {
        pushed += usize::from(task.await??.pushed);
    }
    let all = started.elapsed().as_secs_f64() * 1e3;
    check_pushed(pushed, n)?;
    print_push("all in flight (tokio tasks)", n, all);
    Ok(())
}

fn decode(path: &str) -> Result<(), BoxError> {
    let data = std::fs::read(path)?;
    let mut bodies = Vec::new();
    let mut rest = data.as_slice();
    while let Some((length, tail)) = rest.split_first_chunk::<4>() {
        let length = u32::from_le_bytes(*length) as usize;
        if tail.len() < length {
            return Err(format!("{path}: a body is cut short").into());
        }
        let (body, tail) = tail.split_at(length);
        bodies.push(body);
        rest = tail;
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        for body in &bodies {
            std::hint::black_box(mdmkit_core::Checkin::decode(body)?);
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "rust: decoded {} check-ins in {:.1} ms ({:.2} us each)",
        bodies.len(),
        best * 1e3,
        best * 1e6 / bodies.len() as f64
    );
    Ok(())
}

fn check_pushed(pushed: usize, n: usize) -> Result<(), BoxError> {
    if pushed == n {
        Ok(())
    } else {
        Err(format!("{pushed} of {n} pushes delivered").into())
    }
}

fn print_push(how: &str, n: usize, ms: f64) {
    println!(
        "rust, {how}: {n} pushes in {ms:.1} ms ({:.0} pushes/s, {:.1} us each)",
        n as f64 / ms * 1e3,
        ms * 1e3 / n as f64
    );
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bindings-bench-reference fixture|enqueue STORE KEY N, push STORE KEY N UDID, or decode BODIES";
    if let [what, bodies] = args.as_slice() {
        return match what.as_str() {
            "decode" => decode(bodies),
            _ => Err(usage.into()),
        };
    }
    let (what, store, key, n, udid) = match args.as_slice() {
        [what, store, key, n] => (what, store, key, n, None),
        [what, store, key, n, udid] => (what, store, key, n, Some(udid)),
        _ => return Err(usage.into()),
    };
    let n: usize = n.parse()?;
    let runtime = tokio::runtime::Runtime::new()?;
    match (what.as_str(), udid) {
        ("fixture", None) => runtime.block_on(fixture(store, key, n)),
        ("enqueue", None) => runtime.block_on(enqueue(store, key, n)),
        ("push", Some(udid)) => runtime.block_on(push(store, key, n, udid)),
        _ => Err(usage.into()),
    }
}
