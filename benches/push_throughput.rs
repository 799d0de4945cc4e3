//! APNs client throughput: MDM pushes per second and CPU microseconds per push, on one and
//! four connections, against the mock APNs server running in another process and, when
//! `MDMKIT_BENCH_NGINX_URL` and `MDMKIT_BENCH_NGINX_CA` are set (`. scripts/nginx.sh`),
//! against nginx (one worker, HTTP/2 over TLS, 200 to every push: a peer no one in the
//! project wrote); and, in the same run, the ceiling: h2load sending the same requests to
//! the same server, its runs alternating with the client's.
//!
//! `cargo bench -p mdmkit-benches --bench push_throughput` measures 100,000 pushes per
//! case. Without `--bench` (as `cargo test --all-targets` runs it) it only checks, with a
//! few hundred pushes, that everything works. Options: `--pushes N`, `--connections N`,
//! `--in-flight N` (the client's pushes in flight per connection, and h2load's `-m`),
//! `--h2load-in-flight N` (h2load's `-m` alone), `--threads N` (the client on N worker
//! threads, h2load with `-t N`); `MDMKIT_BENCH_NO_SUBSCRIBER=1` runs the
//! client without a tracing dispatcher.
//!
//! The mock server process is this same program started with `--serve-mock DIR`: the
//! code of `mdmkit push mock-server`, with the client certificate optional because
//! h2load cannot present one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mdmkit_apns::client::{ApnsClient, ApnsConfig, ClientIdentity, Endpoint, RetryPolicy};
use mdmkit_apns::mock::{ClientCertMode, MockConfig, MockServer, TestPki};
use mdmkit_core::push::{PushInfo, PushSummary, PushTarget, Pusher};
use nix::sys::resource::{getrusage, UsageWho};

const TOPIC: &str = "com.apple.mgmt.External.bench";
/// The stream limit the mock announces, like Apple's.
const STREAMS: u32 = 1000;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--serve-mock") {
        let dir = args
            .get(position + 1)
            .ok_or("--serve-mock needs a directory")?;
        return serve_mock(Path::new(dir));
    }
    // A program that logs installs a tracing subscriber (`mdmkit serve` does); without
    // one, tracing's `log` fallback (turned on in the workspace by sqlx's features) runs for
    // each of h2's spans and events: about 7 % of the client's instructions per push under
    // callgrind, a cost a real program does not pay. `MDMKIT_BENCH_NO_SUBSCRIBER=1` leaves
    // it out to show that cost.
    if std::env::var_os("MDMKIT_BENCH_NO_SUBSCRIBER").is_none() {
        tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())?;
    }
    let full = args.iter().any(|a| a == "--bench");
    // `--pushes N` sets the count per case, e.g. to count instructions per push under
    // callgrind (the difference of two runs takes the setup out).
    let pushes = positive_option(&args, "--pushes")?.unwrap_or(if full { 100_000 } else { 300 });
    // `--connections N` measures that case only (for a profile of it).
    let cases = positive_option(&args, "--connections")?.map_or_else(|| vec![1, 4], |n| vec![n]);
    // `--in-flight N` sets the pushes in flight at once per connection (default: the
    // server's stream limit, as h2load's -m), to show what the count in flight costs.
    let per_connection = positive_option(&args, "--in-flight")?.unwrap_or(STREAMS as usize);
    // `--h2load-in-flight N` sets h2load's -m apart from the client's window (default: the
    // same), to compare the client at a smaller window with h2load at the server's limit.
    let h2load_per_connection =
        positive_option(&args, "--h2load-in-flight")?.unwrap_or(per_connection);
    // `--threads N` runs the client on a runtime of N worker threads and h2load with
    // `-t N` (at most one thread a connection); default 1, a current-thread runtime.
    let threads = positive_option(&args, "--threads")?.unwrap_or(1);
    let dir = std::env::temp_dir().join(format!("mdmkit-bench-push-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let pki = TestPki::generate(TOPIC)?;
    write_pki(&dir, &pki)?;
    let mock = MockProcess::start(&dir)?;
    println!(
        "push_throughput: {pushes} MDM pushes per case, mock APNs server in process {} at {} \
         (SETTINGS_MAX_CONCURRENT_STREAMS {STREAMS})",
        mock.child.id(),
        mock.url
    );
    let mut peers = vec![Peer {
        name: "mock",
        url: mock.url.clone(),
        ca_pem: pki.ca_pem.clone(),
    }];
    match (
        std::env::var("MDMKIT_BENCH_NGINX_URL"),
        std::env::var_os("MDMKIT_BENCH_NGINX_CA"),
    ) {
        (Ok(url), Some(ca)) if !url.is_empty() => {
            println!("  nginx at {url} (scripts/nginx.sh: one worker, HTTP/2 over TLS)");
            peers.push(Peer {
                name: "nginx",
                url,
                ca_pem: std::fs::read(ca)?,
            });
        }
        _ => println!(
            "  nginx: SKIPPED (set MDMKIT_BENCH_NGINX_URL and MDMKIT_BENCH_NGINX_CA, e.g. with \
             `. scripts/nginx.sh`)"
        ),
    }

    // One thread by default, like h2load -t 1: the two clients compete on the same footing.
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    let h2load = h2load_path();
    let body = dir.join("body.json");
    std::fs::write(&body, br#"{"mdm":"bench-magic"}"#)?;
    if h2load.is_none() {
        println!(
            "  h2load: not installed (Debian package nghttp2-client; scripts/h2load.sh \
             installs it): the ceiling is not measured"
        );
    }
    // The machine is shared: client and h2load runs alternate, and the best of the rounds
    // is compared, so that a burst of load elsewhere does not decide the ratio.
    let rounds = if full { 5 } else { 1 };
    let mut summary = Vec::new();
    for peer in &peers {
        for &connections in &cases {
            let mut best_client = (0.0f64, f64::MAX);
            let mut best_h2load = (0.0f64, f64::MAX);
            for round in 1..=rounds {
                let (rate, cpu_us) = runtime.block_on(run_client(
                    &pki,
                    peer,
                    connections,
                    per_connection,
                    pushes,
                ))?;
                print!(
                    "  {}, round {round}, {connections} connection(s): mdmkit {rate:.0} \
                     pushes/s, {cpu_us:.2} CPU µs/push",
                    peer.name
                );
                if rate > best_client.0 {
                    best_client = (rate, cpu_us);
                }
                if let Some(h2load) = &h2load {
                    let (ceiling, h2load_us) = run_h2load(
                        h2load,
                        &peer.url,
                        &body,
                        connections,
                        h2load_per_connection,
                        threads.min(connections),
                        pushes,
                    )?;
                    print!("; h2load {ceiling:.0} requests/s, {h2load_us:.2} CPU µs/request");
                    if ceiling > best_h2load.0 {
                        best_h2load = (ceiling, h2load_us);
                    }
                }
                println!();
            }
            let (rate, cpu_us) = best_client;
            println!(
                "  {}: mdmkit client, {connections} connection(s): {rate:>9.0} pushes/s, \
                 {cpu_us:.2} CPU µs/push (user+system of the client process; best of {rounds})",
                peer.name
            );
            if h2load.is_some() {
                let (ceiling, h2load_us) = best_h2load;
                println!(
                    "  {}: h2load,        {connections} connection(s): {ceiling:>9.0} \
                     requests/s, {h2load_us:.2} CPU µs/request (-m {h2load_per_connection}, best of \
                     {rounds}); mdmkit reaches {:.2}x its rate at {:.2}x its CPU per push",
                    peer.name,
                    rate / ceiling,
                    cpu_us / h2load_us
                );
            }
            summary.push((peer.name, connections, best_client, best_h2load));
        }
    }
    println!(
        "  summary (best of {rounds}, {threads} client thread(s); rate ratio to h2load, CPU \
         ratio to h2load):"
    );
    for (peer, connections, (rate, cpu_us), (ceiling, h2load_us)) in &summary {
        let one = summary
            .iter()
            .find(|(p, c, _, _)| p == peer && *c == 1)
            .map(|(_, _, (one, _), _)| *one);
        let versus_one = match one {
            Some(one) if *connections != 1 => format!("; {:.2}x its rate on 1", rate / one),
            _ => String::new(),
        };
        if h2load.is_some() {
            println!(
                "    {peer:<5} {connections} connection(s): mdmkit {rate:>9.0}/s = {:.2}x h2load \
                 ({ceiling:.0}/s), CPU/push {:.2}x ({cpu_us:.2} vs {h2load_us:.2} µs){versus_one}",
                rate / ceiling,
                cpu_us / h2load_us
            );
        } else {
            println!("    {peer:<5} {connections} connection(s): mdmkit {rate:>9.0}/s, {cpu_us:.2} CPU µs/push{versus_one}");
        }
    }
    drop(mock);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A server the pushes go to, and the CA (PEM) its certificate is checked against.
struct Peer {
    name: &'static str,
    url: String,
    ca_pem: Vec<u8>,
}

fn write_pki(dir: &Path, pki: &TestPki) -> BenchResult<()> {
    for (name, pem) in [
        ("ca.pem", &pki.ca_pem),
        ("server.pem", &pki.server_cert_pem),
        ("server.key", &pki.server_key_pem),
    ] {
        std::fs::write(dir.join(name), pem)?;
    }
    Ok(())
}

/// The mock server process: serves until killed, first line of output is its URL.
fn serve_mock(dir: &Path) -> BenchResult<()> {
    let read = |name: &str| std::fs::read(dir.join(name));
    let config = MockConfig::new(read("server.pem")?, read("server.key")?, read("ca.pem")?)
        .client_cert(ClientCertMode::Optional)
        .record(false);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = MockServer::start(config).await?;
        println!("{}", server.url());
        std::future::pending::<()>().await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

struct MockProcess {
    child: Child,
    url: String,
}

impl MockProcess {
    fn start(dir: &Path) -> BenchResult<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve-mock")
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no standard output")?;
        let mut url = String::new();
        BufReader::new(stdout).read_line(&mut url)?;
        let url = url.trim().to_owned();
        if !url.starts_with("https://") {
            let _ = child.kill();
            return Err(format!("the mock server did not start: {url:?}").into());
        }
        Ok(Self { child, url })
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `--flag N` in `args`, a positive count; `None` when the flag is absent.
fn positive_option(args: &[String], flag: &str) -> BenchResult<Option<usize>> {
    let Some(position) = args.iter().position(|a| a == flag) else {
        return Ok(None);
    };
    args.get(position + 1)
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map(Some)
        .ok_or_else(|| format!("{flag} needs a positive count").into())
}

/// User + system CPU time of this process (`RUSAGE_SELF`) or of its waited-for children
/// (`RUSAGE_CHILDREN`: h2load; the mock server is waited for only at the end).
fn cpu_time_of(who: UsageWho) -> BenchResult<Duration> {
    let usage = getrusage(who)?;
    let to_duration = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().max(0) as u64)
            + Duration::from_micros(t.tv_usec().max(0) as u64)
    };
    Ok(to_duration(usage.user_time()) + to_duration(usage.system_time()))
}

/// Pushes `pushes` distinct devices; returns pushes per second and CPU µs per push.
async fn run_client(
    pki: &TestPki,
    peer: &Peer,
    connections: usize,
    per_connection: usize,
    pushes: usize,
) -> BenchResult<(f64, f64)> {
    let identity = ClientIdentity::from_pem(&pki.client_cert_pem, &pki.client_key_pem)?;
    let config = ApnsConfig::new(Endpoint::from_url(&peer.url)?, identity)
        .server_ca_pem(peer.ca_pem.clone())
        .connections(connections)
        .max_in_flight(connections * per_connection)
        .retry(RetryPolicy::new(
            3,
            Duration::from_millis(10),
            Duration::from_millis(100),
        ));
    let client = ApnsClient::new(config)?;
    let targets = |count: usize| -> Vec<PushTarget> {
        (0..count)
            .map(|n| {
                let mut token = vec![0u8; 32];
                token[24..].copy_from_slice(&(n as u64).to_be_bytes());
                PushTarget::new(
                    format!("DEVICE-{n}").into(),
                    PushInfo::new(token, "bench-magic", TOPIC),
                )
            })
            .collect()
    };
    // Open the connections (and their TLS handshakes) before measuring.
    let warm = client.push_many(targets(connections * 10), None).await;
    if warm.iter().any(|r| !r.outcome.is_delivered()) {
        return Err("warm-up pushes were not delivered".into());
    }
    let batch = targets(pushes);
    let cpu_before = cpu_time_of(UsageWho::RUSAGE_SELF)?;
    let started = Instant::now();
    let results = client.push_many(batch, None).await;
    let elapsed = started.elapsed();
    let cpu = cpu_time_of(UsageWho::RUSAGE_SELF)? - cpu_before;
    let summary = PushSummary::from_results(&results);
    if summary.delivered != pushes {
        return Err(format!("not every push was delivered: {summary}").into());
    }
    Ok((
        pushes as f64 / elapsed.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / pushes as f64,
    ))
}

fn h2load_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("h2load"))
        .find(|candidate| candidate.is_file())
}

/// Runs h2load with the client's requests; returns its requests per second and its CPU µs
/// per request (whole run, connection setup included).
fn run_h2load(
    h2load: &Path,
    url: &str,
    body: &Path,
    connections: usize,
    per_connection: usize,
    threads: usize,
    pushes: usize,
) -> BenchResult<(f64, f64)> {
    let target = format!("{url}/3/device/{}", "00".repeat(32));
    let cpu_before = cpu_time_of(UsageWho::RUSAGE_CHILDREN)?;
    let output = Command::new(h2load)
        .args(["-n", &pushes.to_string()])
        .args(["-c", &connections.to_string()])
        .args(["-t", &threads.to_string()])
        .args(["-m", &per_connection.to_string()])
        .arg("-d")
        .arg(body)
        .args(["-H", "apns-push-type: mdm"])
        .args(["-H", &format!("apns-topic: {TOPIC}")])
        .args(["-H", "apns-priority: 10"])
        .args(["-H", "content-type: application/json"])
        .arg(&target)
        .output()?;
    let cpu = cpu_time_of(UsageWho::RUSAGE_CHILDREN)? - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout);
    if !text.contains(&format!("{pushes} 2xx")) {
        return Err(format!("h2load did not get {pushes} 2xx answers:\n{text}").into());
    }
    // "finished in 1.23s, 81234.56 req/s, 1.23MB/s"
    let rate = text
        .lines()
        .find(|line| line.starts_with("finished in"))
        .and_then(|line| line.split(", ").nth(1))
        .and_then(|part| part.strip_suffix(" req/s"))
        .and_then(|number| number.parse::<f64>().ok())
        .ok_or_else(|| format!("cannot read h2load's rate:\n{text}"))?;
    Ok((rate, cpu.as_secs_f64() * 1e6 / pushes as f64))
}
