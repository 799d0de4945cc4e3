//! The renewal pick-up delay: a push certificate renewed in one process (this program
//! started again with `--install`, as `mdmkit push-cert install` would run next to
//! `mdmkit serve`) → the first push presenting the new certificate from the store-backed
//! pusher in this process, both on one SQLite file. The mock APNs server records the serial
//! of the client certificate each push presented. Goal: under 5 s.
//!
//! `cargo bench -p mdmkit-benches --bench push_reload` measures 10 renewals with the default
//! poll interval (2 s) and 10 with 500 ms. Without `--bench` (as `cargo test --all-targets`
//! runs it) it only checks, with one renewal per interval, that everything works.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mdmkit_apns::client::{Endpoint, RetryPolicy};
use mdmkit_apns::mock::{MockConfig, MockServer, TestPki};
use mdmkit_apns::testing::TestCa;
use mdmkit_apns::{
    InstallRequest, PrivateKey, PushCertLifecycle, PushCertificate, StorePusher, StorePusherOptions,
};
use mdmkit_core::push::{PushInfo, PushTarget, Pusher};
use mdmkit_core::store::{AtRestKey, EnrollmentRecord};
use mdmkit_core::EnrollmentId;
use time::OffsetDateTime;

const TOPIC: &str = "com.apple.mgmt.External.7e1f0a52-bench";

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn key() -> BenchResult<AtRestKey> {
    Ok(AtRestKey::from_bytes(&[5; 32])?)
}

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if let Some(position) = args.iter().position(|a| a == "--install") {
        let files = args
            .get(position + 1..position + 4)
            .ok_or("--install DB CERT KEY")?;
        return runtime.block_on(install(&files[0], &files[1], &files[2]));
    }
    let rounds = if args.iter().any(|a| a == "--bench") {
        10
    } else {
        1
    };
    runtime.block_on(measure(rounds))
}

/// The other process: installs the renewal and prints when it was committed (Unix µs).
async fn install(db: &str, certificate: &str, key_pem: &str) -> BenchResult<()> {
    let store = mdmkit_core::store::open(db, key()?).await?;
    let certificate = PushCertificate::from_der(&std::fs::read(certificate)?)?;
    let private_key = PrivateKey::from_pem(&std::fs::read(key_pem)?, None, "push key")?;
    let request = InstallRequest::new(certificate, "mdm@example.com").key(private_key);
    PushCertLifecycle::new(store)
        .install(request, OffsetDateTime::now_utc())
        .await?;
    println!(
        "{}",
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros()
    );
    Ok(())
}

async fn measure(rounds: usize) -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("mdm.db");
    let db_text = db.to_str().ok_or("temporary path is not UTF-8")?.to_owned();
    let apple = TestCa::new("Bench Apple CA");
    let pki = TestPki::generate("com.apple.mgmt.mock")?;
    let mock = MockServer::start(MockConfig::new(
        pki.server_cert_pem.clone(),
        pki.server_key_pem.clone(),
        apple.certificate_pem(),
    ))
    .await?;
    let store = mdmkit_core::store::open(&db_text, key()?).await?;
    let lifecycle = PushCertLifecycle::new(store.clone());
    let first_key = PrivateKey::generate_rsa_2048()?;
    let not_after = OffsetDateTime::now_utc() + time::Duration::days(365);
    let first = apple.issue_push_cert(Some(TOPIC), &first_key, not_after);
    lifecycle
        .install(
            InstallRequest::new(PushCertificate::from_der(&first)?, "mdm@example.com")
                .key(first_key),
            OffsetDateTime::now_utc(),
        )
        .await?;
    let id = EnrollmentId::device("BENCH-DEVICE");
    store
        .put_enrollment(&EnrollmentRecord::new(id.clone()))
        .await?;
    let info = PushInfo::new(vec![0xbe; 32], "bench-magic", TOPIC);
    store.set_push_info(&id, &info).await?;
    let target = PushTarget::new(id, info);

    println!(
        "push_reload: renewal installed by another process on one SQLite file → first push \
         presenting it ({rounds} renewal(s) per poll interval)"
    );
    for poll in [Duration::from_secs(2), Duration::from_millis(500)] {
        let options = StorePusherOptions::new(Endpoint::from_url(&mock.url())?)
            .server_ca_pem(pki.ca_pem.clone())
            .retry(RetryPolicy::new(
                2,
                Duration::from_millis(5),
                Duration::from_millis(10),
            ))
            .poll_interval(poll);
        let pusher = StorePusher::start(store.clone(), options).await?;
        let mut delays = Vec::new();
        for _ in 0..rounds {
            delays.push(renew_once(&apple, &db_text, dir.path(), &pusher, &target, &mock).await?);
        }
        delays.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "  poll {:>5} ms: median {:>7.1} ms, max {:>7.1} ms, min {:>7.1} ms",
            poll.as_millis(),
            ms(delays[delays.len() / 2]),
            ms(delays[delays.len() - 1]),
            ms(delays[0]),
        );
    }
    Ok(())
}

/// One renewal in the other process; returns install committed → first push with it.
async fn renew_once(
    apple: &TestCa,
    db: &str,
    dir: &Path,
    pusher: &StorePusher,
    target: &PushTarget,
    mock: &MockServer,
) -> BenchResult<Duration> {
    let key = PrivateKey::generate_rsa_2048()?;
    let not_after = OffsetDateTime::now_utc() + time::Duration::days(365);
    let der = apple.issue_push_cert(Some(TOPIC), &key, not_after);
    let serial = PushCertificate::from_der(&der)?.serial().to_owned();
    let certificate = dir.join("renewed.der");
    let key_pem = dir.join("renewed.key");
    std::fs::write(&certificate, &der)?;
    std::fs::write(&key_pem, key.to_pem()?)?;
    let child = Command::new(std::env::current_exe()?)
        .arg("--install")
        .arg(db)
        .arg(&certificate)
        .arg(&key_pem)
        .stdout(Stdio::piped())
        .spawn()?;
    // Push as a busy server would while the other process installs.
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    if !output.status.success() {
        return Err("the installing process failed".into());
    }
    let line = BufReader::new(&output.stdout[..])
        .lines()
        .next()
        .ok_or("no time from the installing process")??;
    let installed = UNIX_EPOCH + Duration::from_micros(line.trim().parse()?);
    let started = Instant::now();
    loop {
        let outcome = pusher.push(target).await;
        if !outcome.is_delivered() {
            return Err(format!("push failed: {outcome}").into());
        }
        let presented = mock
            .received()
            .last()
            .and_then(|push| push.client_serial.clone());
        if presented.as_deref() == Some(serial.as_str()) {
            return Ok(SystemTime::now().duration_since(installed)?);
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the renewal was not picked up within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
