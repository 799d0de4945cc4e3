//! Check-in round trips per second through the engine: for every device, `Idle` -> the
//! next command -> `Acknowledged` -> an empty answer, with every body signed by the
//! device's identity certificate (`Mdm-Signature`) and verified by the engine.
//!
//! The devices enroll first (Authenticate, TokenUpdate) and one DeviceInformation command
//! is queued to all of them; the signed bodies are prepared before the clock starts, so
//! the figure is the server side only: signature and chain verification, binding check,
//! plist decoding, the queue and the result written to the store. Measured on the memory
//! store, on SQLite (a temporary file) and, when `MDMKIT_TEST_POSTGRES_URL` is set (see
//! scripts/postgres.sh), on PostgreSQL (a throwaway schema), one device after another and
//! with 8 devices at once; on PostgreSQL also with 2 and 4 engines (each with its own
//! connection pool, 8 devices at once each) on one database.
//!
//! Each case first measures its floor in the same run: the same signed bodies through
//! what no server can skip and nothing else, with no store and no engine: the plist
//! decoded, the CMS signature verified and the signer's chain verified against the device
//! CA (an `X509Store` built once). The engine's rate is printed as a fraction of it.
//!
//! `cargo bench --bench engine` measures 10,000 devices. Without `--bench` (as
//! `cargo test --all-targets` runs it) it is a smoke run with 300. `MDMKIT_BENCH_N` sets
//! another count.

use std::sync::Arc;
use std::time::Instant;

use mdmkit_core::engine::{Engine, MdmRequest, SIGNATURE_HEADER};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{AtRestKey, MemoryStore, PostgresStore, SharedStore, SqliteStore};
use mdmkit_core::{plist_io, CommandEnvelope, DecodeLimits};
use mdmkit_tests::DeviceCa;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509PurposeId, X509};
use sqlx::Connection;

const TOPIC: &str = "com.apple.mgmt.External.bench";
/// Devices sending at once in the concurrent cases (per engine).
const AT_ONCE: usize = 8;

#[path = "support/round_trips.rs"]
mod round_trips;
use round_trips::{BoxError, RoundTrip};

/// Enrolled devices with their signed round trips, and the engines to send them to (one
/// per store; all stores are one database).
struct Prepared {
    engines: Vec<Engine>,
    trips: Vec<RoundTrip>,
    floor: Arc<Floor>,
}

async fn prepare(stores: Vec<SharedStore>, n: usize) -> Result<Prepared, BoxError> {
    let ca = DeviceCa::new("Bench Device CA")?;
    let ca_pem = ca.certificate_pem()?;
    let engines = stores
        .into_iter()
        .map(|store| {
            Engine::builder(store, Arc::new(RecordingPusher::new()))
                .device_ca(ca_pem.clone())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let engine = engines.first().ok_or("no store")?;
    let trips = round_trips::round_trips(engine, &ca, TOPIC, n).await?;
    Ok(Prepared {
        engines,
        trips,
        floor: Arc::new(Floor::new(&ca_pem)?),
    })
}

/// What every request costs at the least: the body decoded, its signature and the
/// signer's chain verified. The CA store is built once, as a server would.
struct Floor {
    store: X509Store,
    limits: DecodeLimits,
}

impl Floor {
    fn new(ca_pem: &[u8]) -> Result<Self, BoxError> {
        let mut builder = X509StoreBuilder::new()?;
        for ca in X509::stack_from_pem(ca_pem)? {
            builder.add_cert(ca)?;
        }
        builder.set_purpose(X509PurposeId::ANY)?;
        Ok(Self {
            store: builder.build(),
            limits: DecodeLimits::DEFAULT,
        })
    }

    fn verify(&self, request: &MdmRequest) -> Result<(), BoxError> {
        let header = request.header(SIGNATURE_HEADER).ok_or("unsigned request")?;
        let der = openssl::base64::decode_block(header.trim())?;
        let pkcs7 = Pkcs7::from_der(&der)?;
        let none = Stack::new()?;
        let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY;
        pkcs7.verify(&none, &self.store, Some(&request.body), None, flags)?;
        let signers = pkcs7.signers(&none, flags)?;
        if signers.is_empty() {
            return Err("no signer".into());
        }
        plist_io::parse_dictionary(&request.body, self.limits)?;
        Ok(())
    }
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

/// The floor's rate, in round trips per second, on `lanes` tasks at once.
async fn floor_rate(
    floor: &Arc<Floor>,
    trips: Vec<RoundTrip>,
    lanes: usize,
) -> Result<(f64, Vec<RoundTrip>), BoxError> {
    let n = trips.len();
    let trips = Arc::new(trips);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let (floor, trips) = (floor.clone(), trips.clone());
        tasks.push(tokio::spawn(async move {
            for trip in trips.iter().skip(lane).step_by(lanes) {
                floor.verify(&trip.idle)?;
                floor.verify(&trip.ack)?;
                // Like an engine's request, each one is its own step of the scheduler.
                tokio::task::yield_now().await;
            }
            Ok::<(), BoxError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let trips = Arc::try_unwrap(trips).map_err(|_| "the trips are still shared")?;
    Ok((rate, trips))
}

/// The engines' rate, in round trips per second, with `lanes` devices at once per engine
/// (the trips dealt out in turn).
async fn engine_rate(
    engines: &[Engine],
    trips: Vec<RoundTrip>,
    lanes: usize,
) -> Result<f64, BoxError> {
    let n = trips.len();
    let total = engines.len() * lanes;
    let mut dealt: Vec<Vec<RoundTrip>> = (0..total).map(|_| Vec::new()).collect();
    for (i, trip) in trips.into_iter().enumerate() {
        dealt[i % total].push(trip);
    }
    let started = Instant::now();
    if total == 1 {
        for trip in dealt.pop().unwrap_or_default() {
            round_trip(&engines[0], trip).await?;
        }
    } else {
        let mut tasks = Vec::new();
        for (i, lane) in dealt.into_iter().enumerate() {
            let engine = engines[i % engines.len()].clone();
            tasks.push(tokio::spawn(async move {
                for trip in lane {
                    round_trip(&engine, trip).await?;
                }
                Ok::<(), BoxError>(())
            }));
        }
        for task in tasks {
            task.await??;
        }
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// One case: prepares `n` devices on fresh stores, measures the floor and the engine(s).
async fn case(
    backend: &str,
    stores: Vec<SharedStore>,
    lanes: usize,
    n: usize,
) -> Result<f64, BoxError> {
    let engines = stores.len();
    let prepared = prepare(stores, n).await?;
    let floor_lanes = if engines == 1 { lanes } else { lanes * engines };
    let (floor, trips) = floor_rate(&prepared.floor, prepared.trips, floor_lanes).await?;
    let rate = engine_rate(&prepared.engines, trips, lanes).await?;
    let who = if engines == 1 {
        format!("{lanes} at once")
    } else {
        format!("{engines} engines, {lanes} at once each")
    };
    println!(
        "{backend:<8} {n} devices, {who}: engine {rate:>6.0} round trips/s; floor \
         {floor:>6.0} (decode + signature + chain only); engine = {:.0}% of the floor",
        100.0 * rate / floor
    );
    Ok(rate / floor)
}

async fn sqlite_store(dir: &std::path::Path, name: &str) -> Result<SharedStore, BoxError> {
    let path = dir.join(format!("{name}.db"));
    let store = SqliteStore::open(
        path.to_str().ok_or("temp path")?,
        AtRestKey::from_bytes(&[1; 32])?,
    )
    .await?;
    Ok(Arc::new(store))
}

async fn postgres(url: &str, n: usize) -> Result<(), BoxError> {
    let mut cases = Vec::new();
    for lanes in [1, AT_ONCE] {
        cases.push((1, lanes));
    }
    for engines in [2, 4] {
        cases.push((engines, AT_ONCE));
    }
    for (i, (engines, lanes)) in cases.into_iter().enumerate() {
        let schema = format!("mdmkit_bench_engine_{}_{i}", std::process::id());
        let mut stores = Vec::new();
        for _ in 0..engines {
            let store =
                PostgresStore::connect_in_schema(url, &schema, AtRestKey::from_bytes(&[1; 32])?)
                    .await?;
            stores.push(Arc::new(store) as SharedStore);
        }
        let result = case("postgres", stores, lanes, n).await;
        let mut connection = sqlx::PgConnection::connect(url).await?;
        sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&mut connection)
            .await?;
        connection.close().await?;
        result?;
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let n = std::env::var("MDMKIT_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if full { 10_000 } else { 300 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(async {
        for lanes in [1, AT_ONCE] {
            case("memory", vec![Arc::new(MemoryStore::new())], lanes, n).await?;
        }
        for lanes in [1, AT_ONCE] {
            let store = sqlite_store(dir.path(), &format!("engine-{lanes}")).await?;
            case("sqlite", vec![store], lanes, n).await?;
        }
        match std::env::var("MDMKIT_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => postgres(&url, n).await,
            _ => {
                println!(
                    "postgres SKIPPED: set MDMKIT_TEST_POSTGRES_URL (e.g. `. scripts/postgres.sh`)"
                );
                Ok(())
            }
        }
    })
}
