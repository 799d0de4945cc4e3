//! Check-in round trips through `mdmkit serve`'s HTTP stack against the same round trips
//! through the engine in process: what HTTP costs.
//!
//! Two deployments on the memory store are prepared alike: the devices enroll, one
//! DeviceInformation command is queued to all of them, and each device's two signed
//! bodies (`Idle`, then the `Acknowledged` result) are made before the clock starts. The
//! reference runs them through `Engine::handle_command` in process; the measured run sends
//! them to `mdmkit_web::serve` (the router `mdmkit serve` runs: core's MDM adapter, the
//! proxy-header layer, hyper) on loopback, plain HTTP/1.1, over keep-alive connections of
//! a small client that writes each request and reads its answer. Both with one device at
//! a time and with 8 at once (8 connections); the ratio HTTP / in process is printed (goal:
//! at least 70 %).
//!
//! `cargo bench --bench serve_http` measures 5,000 devices. Without `--bench` (as
//! `cargo test --all-targets` runs it) it is a smoke run with 200.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mdmkit_core::command::DeviceInformation;
use mdmkit_core::engine::{Engine, MdmRequest};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{MemoryStore, SharedStore};
use mdmkit_core::{CommandEnvelope, CommandStatus, EnrollmentId};
use mdmkit_service::{settings, Mdm, MdmConfig};
use mdmkit_tests::{DeviceCa, SimulatedDevice};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const TOPIC: &str = "com.apple.mgmt.External.bench";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One device's two signed requests of a round trip.
struct RoundTrip {
    idle: MdmRequest,
    ack: MdmRequest,
}

/// A deployment with `n` enrolled devices, each with a command queued, and their round
/// trips.
async fn prepare(n: usize) -> Result<(Mdm, Vec<RoundTrip>), BoxError> {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let ca = DeviceCa::new("Bench Device CA")?;
    let config = MdmConfig::new("memory:")
        .pusher(Arc::new(RecordingPusher::new()))
        .setting(
            settings::DEVICE_CA_CERTIFICATE,
            String::from_utf8(ca.certificate_pem()?)?,
        );
    let mdm = Mdm::with_store(store, config).await?;
    let engine = mdm.engine()?.clone();
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
    Ok((mdm, trips))
}

async fn in_process(engine: Engine, trips: Vec<RoundTrip>) -> Result<(), BoxError> {
    for trip in trips {
        let response = engine.handle_command(trip.idle).await;
        if response.status != 200 || CommandEnvelope::decode(&response.body).is_err() {
            return Err(format!("Idle answered {} {:?}", response.status, response.error).into());
        }
        let response = engine.handle_command(trip.ack).await;
        if response.status != 200 || !response.body.is_empty() {
            return Err(format!("ack answered {} {:?}", response.status, response.error).into());
        }
    }
    Ok(())
}

/// A keep-alive HTTP/1.1 connection sending `PUT /mdm` requests one after another.
struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    async fn open(address: SocketAddr) -> Result<Self, BoxError> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
            host: address.to_string(),
        })
    }

    /// Sends one request; the status and body of the answer.
    async fn put(&mut self, request: &MdmRequest) -> Result<(u16, Vec<u8>), BoxError> {
        let mut head = format!(
            "PUT /mdm HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-apple-aspen-mdm\r\n\
             Content-Length: {}\r\n",
            self.host,
            request.body.len()
        );
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut message = head.into_bytes();
        message.extend_from_slice(&request.body);
        self.stream.get_mut().write_all(&message).await?;
        // The head, byte by byte through the buffer, up to the blank line.
        let mut head = Vec::with_capacity(256);
        while !head.ends_with(b"\r\n\r\n") {
            head.push(self.stream.read_u8().await?);
            if head.len() > 16 * 1024 {
                return Err("an answer head over 16 KiB".into());
            }
        }
        let head = String::from_utf8_lossy(&head);
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or("no status")?;
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())
                    .flatten()
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

async fn over_http(address: SocketAddr, trips: Vec<RoundTrip>) -> Result<(), BoxError> {
    let mut connection = Connection::open(address).await?;
    for trip in trips {
        let (status, body) = connection.put(&trip.idle).await?;
        if status != 200 || CommandEnvelope::decode(&body).is_err() {
            return Err(format!("Idle answered {status} over HTTP").into());
        }
        let (status, body) = connection.put(&trip.ack).await?;
        if status != 200 || !body.is_empty() {
            return Err(format!("ack answered {status} over HTTP").into());
        }
    }
    Ok(())
}

fn lanes(trips: Vec<RoundTrip>, concurrency: usize) -> Vec<Vec<RoundTrip>> {
    let mut lanes: Vec<Vec<RoundTrip>> = (0..concurrency).map(|_| Vec::new()).collect();
    for (i, trip) in trips.into_iter().enumerate() {
        lanes[i % concurrency].push(trip);
    }
    lanes
}

/// Round trips per second in process.
async fn measure_in_process(n: usize, concurrency: usize) -> Result<f64, BoxError> {
    let (mdm, trips) = prepare(n).await?;
    let engine = mdm.engine()?.clone();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in lanes(trips, concurrency) {
        tasks.push(tokio::spawn(in_process(engine.clone(), lane)));
    }
    for task in tasks {
        task.await??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Round trips per second through `mdmkit_web::serve` on loopback.
async fn measure_http(n: usize, concurrency: usize) -> Result<f64, BoxError> {
    let (mdm, trips) = prepare(n).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(mdmkit_web::serve(
        mdm,
        mdmkit_web::ServeOptions::new("127.0.0.1:0".parse()?),
        async move {
            let _ = stopped.await;
        },
        move |bound| {
            let _ = bound_tx.send(bound.listen);
        },
    ));
    let address = tokio::time::timeout(Duration::from_secs(10), bound_rx).await??;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in lanes(trips, concurrency) {
        tasks.push(tokio::spawn(over_http(address, lane)));
    }
    for task in tasks {
        task.await??;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(());
    server.await??;
    Ok(rate)
}

fn main() -> Result<(), BoxError> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let n = if full { 5_000 } else { 200 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for concurrency in [1usize, 8] {
            let reference = measure_in_process(n, concurrency).await?;
            let http = measure_http(n, concurrency).await?;
            println!(
                "check-in round trips (Idle -> command -> Acknowledged, 2 signed requests), {n} \
                 devices, {concurrency} at once: in process {reference:.0}/s (reference), \
                 through serve over loopback HTTP/1.1 keep-alive {http:.0}/s = {:.0} % of in \
                 process (goal >= 70 %)",
                100.0 * http / reference
            );
        }
        Ok(())
    })
}
