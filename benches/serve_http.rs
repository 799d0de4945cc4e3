//! Check-in round trips through `mdmkit serve`'s HTTP stack against the same round trips
//! through the engine in process: what HTTP costs.
//!
//! Two deployments on the memory store are prepared alike: the devices enroll, one
//! DeviceInformation command is queued to all of them, and each device's two signed
//! bodies (`Idle`, then the `Acknowledged` result) are made before the clock starts. The
//! reference runs them through `Engine::handle_command` in process; the measured run sends
//! them to `mdmkit_web::serve` (the router `mdmkit serve` runs: core's MDM adapter, the
//! proxy-header layer, hyper) on loopback, plain HTTP/1.1, over keep-alive connections of
//! a load generator in another process (this program started again), which writes each
//! prepared request and reads its answer; the requests are rendered to a temporary file
//! before the clock starts, and the load generator reports the time from its first
//! connection to its last answer. Both with one device at
//! a time and with 8 at once (8 connections); the ratio HTTP / in process is printed (goal:
//! at least 70 %).
//!
//! `cargo bench --bench serve_http` measures 5,000 devices, best of 3 alternating rounds.
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a smoke run with 200.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mdmkit_core::engine::{Engine, MdmRequest};
use mdmkit_core::push::RecordingPusher;
use mdmkit_core::store::{MemoryStore, SharedStore};
use mdmkit_core::CommandEnvelope;
use mdmkit_service::{settings, Mdm, MdmConfig};
use mdmkit_tests::DeviceCa;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Set in the environment of the load generator's process (this program again).
const CLIENT_ENV: &str = "MDMKIT_BENCH_SERVE_HTTP_CLIENT";

const TOPIC: &str = "com.apple.mgmt.External.bench";

#[path = "support/round_trips.rs"]
mod round_trips;
use round_trips::{BoxError, RoundTrip};

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
    let trips = round_trips::round_trips(mdm.engine()?, &ca, TOPIC, n).await?;
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

/// The raw HTTP/1.1 message of one device request, rendered before the clock starts.
fn http_message(request: &MdmRequest) -> Vec<u8> {
    let mut head = format!(
        "PUT /mdm HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-apple-aspen-mdm\r\n\
         Content-Length: {}\r\n",
        request.body.len()
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(&request.body);
    message
}

/// Writes the round trips' rendered requests to `path` for the load generator: per round
/// trip, the Idle message then the acknowledgement, each as a little-endian u64 length and
/// the bytes.
fn write_requests(path: &Path, trips: &[RoundTrip]) -> Result<(), BoxError> {
    let mut out = Vec::new();
    for trip in trips {
        for request in [&trip.idle, &trip.ack] {
            let message = http_message(request);
            out.extend_from_slice(&(message.len() as u64).to_le_bytes());
            out.extend_from_slice(&message);
        }
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// One round trip as the load generator sends it: the Idle message and the
/// acknowledgement's, rendered.
type Rendered = (Vec<u8>, Vec<u8>);

/// Reads what [`write_requests`] wrote: (Idle, acknowledgement) message pairs.
fn read_requests(path: &Path) -> Result<Vec<Rendered>, BoxError> {
    let data = std::fs::read(path)?;
    let mut messages = Vec::new();
    let mut rest = data.as_slice();
    while !rest.is_empty() {
        let (length, tail) = rest.split_at_checked(8).ok_or("truncated length")?;
        let length = usize::try_from(u64::from_le_bytes(length.try_into()?))?;
        let (message, tail) = tail.split_at_checked(length).ok_or("truncated message")?;
        messages.push(message.to_vec());
        rest = tail;
    }
    if messages.len() % 2 != 0 {
        return Err("an Idle without its acknowledgement".into());
    }
    let mut pairs = Vec::with_capacity(messages.len() / 2);
    let mut messages = messages.into_iter();
    while let (Some(idle), Some(ack)) = (messages.next(), messages.next()) {
        pairs.push((idle, ack));
    }
    Ok(pairs)
}

/// A keep-alive HTTP/1.1 connection of the load generator, sending prepared messages one
/// after another.
struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    async fn open(address: SocketAddr) -> Result<Self, BoxError> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    /// Sends one prepared message; the status and body of the answer.
    async fn send(&mut self, message: &[u8]) -> Result<(u16, Vec<u8>), BoxError> {
        self.stream.get_mut().write_all(message).await?;
        let mut status = None;
        let mut length = 0usize;
        let mut line = Vec::with_capacity(128);
        let mut head_bytes = 0usize;
        loop {
            line.clear();
            let read = self.stream.read_until(b'\n', &mut line).await?;
            head_bytes += read;
            if read == 0 || head_bytes > 16 * 1024 {
                return Err("the connection closed or sent an answer head over 16 KiB".into());
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end();
            if text.is_empty() {
                break;
            }
            if status.is_none() {
                status = text.split(' ').nth(1).and_then(|code| code.parse().ok());
                continue;
            }
            if let Some((name, value)) = text.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                }
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status.ok_or("no status")?, body))
    }
}

async fn over_http(address: SocketAddr, trips: Vec<Rendered>) -> Result<(), BoxError> {
    let mut connection = Connection::open(address).await?;
    for (idle, ack) in trips {
        let (status, body) = connection.send(&idle).await?;
        if status != 200 || CommandEnvelope::decode(&body).is_err() {
            return Err(format!("Idle answered {status} over HTTP").into());
        }
        let (status, body) = connection.send(&ack).await?;
        if status != 200 || !body.is_empty() {
            return Err(format!("ack answered {status} over HTTP").into());
        }
    }
    Ok(())
}

/// The load generator, run in its own process (this program started again with
/// [`CLIENT_ENV`] set): sends the prepared round trips to `address` over `concurrency`
/// connections and prints the seconds it took.
fn load_generator(address: &str, concurrency: usize, path: &Path) -> Result<(), BoxError> {
    let address: SocketAddr = address.parse()?;
    let trips = read_requests(path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(concurrency.min(2))
        .enable_all()
        .build()?;
    let elapsed = runtime.block_on(async {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for lane in lanes(trips, concurrency) {
            tasks.push(tokio::spawn(over_http(address, lane)));
        }
        for task in tasks {
            task.await??;
        }
        Ok::<_, BoxError>(started.elapsed())
    })?;
    println!("{}", elapsed.as_secs_f64());
    Ok(())
}

fn lanes<T>(trips: Vec<T>, concurrency: usize) -> Vec<Vec<T>> {
    let mut lanes: Vec<Vec<T>> = (0..concurrency).map(|_| Vec::new()).collect();
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

/// Round trips per second through `mdmkit_web::serve` on loopback, the load coming from
/// another process.
async fn measure_http(n: usize, concurrency: usize) -> Result<f64, BoxError> {
    let (mdm, trips) = prepare(n).await?;
    let requests = tempfile::NamedTempFile::new()?;
    write_requests(requests.path(), &trips)?;
    drop(trips);
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
    let mut generator = std::process::Command::new(std::env::current_exe()?);
    generator
        .env(CLIENT_ENV, "1")
        .arg(address.to_string())
        .arg(concurrency.to_string())
        .arg(requests.path())
        .stderr(std::process::Stdio::inherit());
    // std's process API, waited on off the runtime's workers (tokio's `process` feature is
    // not enabled in the workspace).
    let output = tokio::task::spawn_blocking(move || generator.output()).await??;
    let _ = stop.send(());
    server.await??;
    if !output.status.success() {
        return Err(format!("the load generator failed: {}", output.status).into());
    }
    let seconds: f64 = String::from_utf8(output.stdout)?.trim().parse()?;
    Ok(n as f64 / seconds)
}

fn main() -> Result<(), BoxError> {
    if std::env::var_os(CLIENT_ENV).is_some() {
        let args: Vec<String> = std::env::args().collect();
        let [_, address, concurrency, path] = args.as_slice() else {
            return Err("usage: <address> <concurrency> <requests file>".into());
        };
        return load_generator(address, concurrency.parse()?, Path::new(path));
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let (n, rounds) = if full { (5_000, 3) } else { (200, 1) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for concurrency in [1usize, 8] {
            // Alternating rounds, the best of each side: the machine's other load shows as
            // slow rounds, not as a skewed ratio.
            let (mut reference, mut http) = (0f64, 0f64);
            for _ in 0..rounds {
                reference = reference.max(measure_in_process(n, concurrency).await?);
                http = http.max(measure_http(n, concurrency).await?);
            }
            println!(
                "check-in round trips (Idle -> command -> Acknowledged, 2 signed requests), {n} \
                 devices, {concurrency} at once, best of {rounds}: in process {reference:.0}/s \
                 (reference), through serve over loopback HTTP/1.1 keep-alive from another \
                 process {http:.0}/s = {:.0} % of in process (goal >= 70 %)",
                100.0 * http / reference
            );
        }
        Ok(())
    })
}
