//! Check-in round trips per second through the engine: for every device, `Idle` -> the
//! next command -> `Acknowledged` -> an empty answer, with every body signed by the
//! device's identity certificate (`Mdm-Signature`) and verified by the engine.
//!
//! The devices enroll first (Authenticate, TokenUpdate) and one DeviceInformation command
//! is queued to all of them; the signed bodies are prepared before the clock starts, so
//! the figure is the server side only: signature and chain verification, binding check,
//! plist decoding, the queue and the result written to the store. Measured on the memory
//! store and on SQLite (a temporary file), one device after another and with 8 devices
//! at once.
//!
//! `cargo bench --bench engine` measures 10,000 devices. Without `--bench` (as
//! `cargo test --all-targets` runs it) it is a smoke run with 300.

use std::sync::Arc;
use std::time::Instant;

use mdmkit_core::command::DeviceInformation;
use mdmkit_core::engine::{Engine, MdmRequest};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{AtRestKey, MemoryStore, SharedStore, SqliteStore};
use mdmkit_core::{CommandEnvelope, CommandStatus, EnrollmentId};
use mdmkit_tests::{DeviceCa, SimulatedDevice};

const TOPIC: &str = "com.apple.mgmt.External.bench";

type BoxError = Box<dyn std::error::Error>;

/// One device's two signed requests of a round trip.
struct RoundTrip {
    idle: MdmRequest,
    ack: MdmRequest,
}

async fn prepare(store: SharedStore, n: usize) -> Result<(Engine, Vec<RoundTrip>), BoxError> {
    let ca = DeviceCa::new("Bench Device CA")?;
    let engine = Engine::builder(store, Arc::new(RecordingPusher::new()))
        .device_ca(ca.certificate_pem()?)
        .build()?;
    let mut devices = Vec::with_capacity(n);
    for i in 0..n {
        let udid = format!("00008030-{i:016X}");
        let device = SimulatedDevice::new(&udid, TOPIC).with_identity(ca.issue(&udid)?);
        for body in [
            device.authenticate()?,
            device.token_update(&[7; 32], "MAGIC")?,
        ] {
            let response = engine.handle_checkin(device.request(body)?).await;
            if response.status != 200 {
                return Err(format!("enrollment failed: {:?}", response.error).into());
            }
        }
        devices.push(device);
    }
    let ids: Vec<EnrollmentId> = devices
        .iter()
        .map(|d| EnrollmentId::device(&d.udid))
        .collect();
    let outcome = engine
        .enqueue_command_many(&ids, DeviceInformation::new(vec!["OSVersion".into()]), None)
        .await?;
    if outcome.queued.len() != n {
        return Err(format!("queued to {} of {n}", outcome.queued.len()).into());
    }
    let command = engine
        .store()
        .get_command(&outcome.command_uuid)
        .await?
        .ok_or("command missing")?;
    let mut trips = Vec::with_capacity(n);
    for device in &devices {
        let ack = device.answer(
            &command.payload,
            CommandStatus::Acknowledged,
            plist::Dictionary::new(),
        )?;
        trips.push(RoundTrip {
            idle: device.request(device.idle()?)?,
            ack: device.request(ack)?,
        });
    }
    Ok((engine, trips))
}

async fn round_trip(engine: &Engine, trip: RoundTrip) -> Result<(), BoxError> {
    let response = engine.handle_command(trip.idle).await;
    if response.status != 200 || CommandEnvelope::decode(&response.body).is_err() {
        return Err(format!("Idle answered {} {:?}", response.status, response.error).into());
    }
    let response = engine.handle_command(trip.ack).await;
    if response.status != 200 || !response.body.is_empty() {
        return Err(format!("ack answered {} {:?}", response.status, response.error).into());
    }
    Ok(())
}

async fn measure(
    backend: &str,
    store: impl Fn() -> Result<SharedStore, BoxError>,
    n: usize,
) -> Result<(), BoxError> {
    for concurrency in [1usize, 8] {
        let (engine, trips) = prepare(store()?, n).await?;
        let started = Instant::now();
        if concurrency == 1 {
            for trip in trips {
                round_trip(&engine, trip).await?;
            }
        } else {
            let mut lanes: Vec<Vec<RoundTrip>> = (0..concurrency).map(|_| Vec::new()).collect();
            for (i, trip) in trips.into_iter().enumerate() {
                lanes[i % concurrency].push(trip);
            }
            let mut tasks = Vec::new();
            for lane in lanes {
                let engine = engine.clone();
                tasks.push(tokio::spawn(async move {
                    for trip in lane {
                        round_trip(&engine, trip).await.map_err(|e| e.to_string())?;
                    }
                    Ok::<(), String>(())
                }));
            }
            for task in tasks {
                task.await??;
            }
        }
        let elapsed = started.elapsed();
        println!(
            "{backend:<7} {n} devices, {concurrency} at once: {n} round trips (Idle -> command -> \
             Acknowledged, 2 signed requests each) in {:.3} s = {:.0} round trips/s",
            elapsed.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let n = if full { 10_000 } else { 300 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        measure("memory", || Ok(Arc::new(MemoryStore::new())), n).await?;
        let sqlite_runs = std::cell::Cell::new(0);
        // A fresh SQLite file per run, so each starts from an empty queue.
        let stores: Vec<SharedStore> = {
            let mut stores = Vec::new();
            for i in 0..2 {
                let path = dir.path().join(format!("engine-{i}.db"));
                let store = SqliteStore::open(
                    path.to_str().ok_or("temp path")?,
                    AtRestKey::from_bytes(&[1; 32])?,
                )
                .await?;
                stores.push(Arc::new(store) as SharedStore);
            }
            stores
        };
        measure(
            "sqlite",
            || {
                let i = sqlite_runs.get();
                sqlite_runs.set(i + 1);
                stores.get(i).cloned().ok_or_else(|| "no store left".into())
            },
            n,
        )
        .await
    })
}
