//! `mdmkit push`: send MDM pushes through APNs, and run the mock APNs server.
//!
//! APNs tools rather than deployment operations, so they use the apns crate directly:
//! `send`, `device` and `all` push with a certificate and key given as files, to a chosen
//! endpoint (sandbox, port 2197, a test server), to try a certificate before or apart
//! from the installed ones; `mock-server` and `mock-pki` only launch apns's mock APNs
//! server and write its throwaway certificates (for tests, benchmarks and the bindings'
//! benchmarks). A deployment's own pushes go through the service's store-backed pusher
//! (`portal as`, `certs import`, `ddm`, and `serve`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use mdmkit_apns::client::{ApnsClient, ApnsConfig, ClientIdentity, Endpoint, RetryPolicy};
use mdmkit_apns::mock::{ClientCertMode, MockConfig, MockServer, Script, TestPki};
use std::sync::Arc;

use mdmkit_core::push::{
    push_and_mark_invalid, ProgressCallback, PushInfo, PushOutcome, PushProgress, PushSummary,
    PushTarget, Pusher,
};
use mdmkit_core::EnrollmentId;

use crate::store_open::{block_on, open_store, GlobalOpts};
use crate::{read_input, write_secret_output, CliError, CliResult};

/// Push subcommands.
#[derive(Debug, Subcommand)]
pub enum PushCommand {
    /// Sends one MDM push; prints the apns-id, or the reason and exits non-zero.
    Send(SendArgs),
    /// Pushes one enrollment, with the push info the store has for it.
    Device(DeviceArgs),
    /// Pushes every enabled enrollment of the topic whose token is valid, with a progress
    /// bar and a summary; exits non-zero when a push failed after its retries.
    All(AllArgs),
    /// Runs a mock APNs server (HTTP/2 over TLS) until interrupted.
    MockServer(MockServerArgs),
    /// Writes throwaway certificates for the mock server and a client (CA, server, client).
    MockPki(MockPkiArgs),
}

/// Where to connect and with which certificate.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// The push certificate (PEM), presented as the TLS client certificate.
    #[arg(long)]
    cert: String,
    /// The push certificate's private key (PEM).
    #[arg(long)]
    key: String,
    /// The topic to push to (default: the certificate's UID).
    #[arg(long)]
    topic: Option<String>,
    /// A custom endpoint, `https://host[:port]` (a test server, a proxy).
    #[arg(long, conflicts_with = "sandbox")]
    endpoint: Option<String>,
    /// A PEM CA to trust for the server of a custom endpoint.
    #[arg(long, requires = "endpoint")]
    server_ca: Option<String>,
    /// Apple's sandbox (development) service instead of production.
    #[arg(long)]
    sandbox: bool,
    /// Apple's alternative port 2197 instead of 443.
    #[arg(long, conflicts_with = "endpoint")]
    port_2197: bool,
    /// Seconds to wait for an answer to one attempt.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Attempts per push (429, 5xx, timeouts and lost connections are retried with
    /// exponential backoff).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    attempts: u32,
}

impl ConnectionArgs {
    /// Options for another subcommand's push certificate (`serve`), with the defaults.
    pub(crate) fn new(
        cert: String,
        key: String,
        endpoint: Option<String>,
        server_ca: Option<String>,
    ) -> Self {
        Self {
            cert,
            key,
            topic: None,
            endpoint,
            server_ca,
            sandbox: false,
            port_2197: false,
            timeout: 10,
            attempts: 5,
        }
    }
}

/// Arguments of `push send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The device token, hexadecimal.
    #[arg(long)]
    token: String,
    /// The device's PushMagic.
    #[arg(long)]
    magic: String,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// Arguments of `push device`.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// The enrollment identifier (a UDID, or UDID:UserID for a user channel).
    enrollment: String,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// Arguments of `push all`.
#[derive(Debug, Args)]
pub struct AllArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Connections to open to APNs.
    #[arg(long, default_value_t = 1)]
    connections: usize,
}

/// Arguments of `push mock-server`.
#[derive(Debug, Args)]
pub struct MockServerArgs {
    /// The address to listen on, such as 127.0.0.1:2197 (port 0: any free port).
    #[arg(long)]
    listen: SocketAddr,
    /// The CA (PEM) that issued the client certificates.
    #[arg(long)]
    ca: String,
    /// The server certificate (PEM).
    #[arg(long)]
    cert: String,
    /// The server private key (PEM).
    #[arg(long)]
    key: String,
    /// A JSON script of answers and connection behaviours (see docs/apns.md).
    #[arg(long)]
    script: Option<String>,
    /// Accept clients without a certificate (for load generators such as h2load).
    #[arg(long)]
    client_cert_optional: bool,
}

/// Arguments of `push mock-pki`.
#[derive(Debug, Args)]
pub struct MockPkiArgs {
    /// The directory to write ca.pem, server.pem, server.key, client.pem, client.key into.
    #[arg(long)]
    out: PathBuf,
    /// The topic (subject UID) of the client certificate.
    #[arg(long, default_value = "com.apple.mgmt.External.mdmkit-mock")]
    topic: String,
}

/// Runs a push subcommand.
pub fn run(command: PushCommand, global: &GlobalOpts) -> CliResult<()> {
    match command {
        PushCommand::Send(args) => block_on(send(args))?,
        PushCommand::Device(args) => block_on(device(args, global))?,
        PushCommand::All(args) => block_on(all(args, global))?,
        PushCommand::MockServer(args) => block_on(mock_server(args))?,
        PushCommand::MockPki(args) => mock_pki(args),
    }
}

fn apns_error(error: mdmkit_apns::Error) -> CliError {
    CliError::input(format!("{error} [{}]", error.code()))
}

/// Builds a client from the connection options.
pub(crate) fn client(args: &ConnectionArgs, connections: usize) -> CliResult<ApnsClient> {
    let identity = ClientIdentity::from_pem(&read_input(&args.cert)?, &read_input(&args.key)?)
        .map_err(apns_error)?;
    let endpoint = match (&args.endpoint, args.sandbox, args.port_2197) {
        (Some(url), _, _) => Endpoint::from_url(url).map_err(apns_error)?,
        (None, true, false) => Endpoint::Sandbox,
        (None, true, true) => Endpoint::SandboxAlternatePort,
        (None, false, false) => Endpoint::Production,
        (None, false, true) => Endpoint::ProductionAlternatePort,
    };
    let mut config = ApnsConfig::new(endpoint, identity)
        .request_timeout(Duration::from_secs(args.timeout))
        .connections(connections);
    let default_retry = RetryPolicy::default();
    config = config.retry(RetryPolicy::new(
        args.attempts,
        default_retry.initial_backoff,
        default_retry.max_backoff,
    ));
    if let Some(ca) = &args.server_ca {
        config = config.server_ca_pem(read_input(ca)?);
    }
    if let Some(topic) = &args.topic {
        config = config.topic(topic.clone());
    }
    ApnsClient::new(config).map_err(apns_error)
}

fn parse_token(hex: &str) -> CliResult<Vec<u8>> {
    let text = hex.trim();
    match hex::decode(text) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(CliError::input(format!(
            "invalid token {text:?}: expected an even number of hexadecimal digits"
        ))),
    }
}

/// One line describing an outcome that is not a delivery (times in RFC 3339).
fn describe_failure(outcome: &PushOutcome) -> String {
    outcome.to_string()
}

async fn send(args: SendArgs) -> CliResult<()> {
    let token = parse_token(&args.token)?;
    let client = client(&args.connection, 1)?;
    let info = PushInfo::new(token, args.magic, client.topic());
    let target = PushTarget::new("cli".into(), info);
    match client.push(&target).await {
        PushOutcome::Delivered { apns_id } => {
            println!("{apns_id}");
            Ok(())
        }
        other => Err(CliError::failure(describe_failure(&other))),
    }
}

async fn device(args: DeviceArgs, global: &GlobalOpts) -> CliResult<()> {
    let client = client(&args.connection, 1)?;
    let store = open_store(global).await?;
    let id = EnrollmentId::new(args.enrollment);
    let targets = store.push_targets_for(std::slice::from_ref(&id)).await?;
    if targets.is_empty() {
        // Say why the store has nothing to push to.
        let reason = match store.get_push_info(&id).await? {
            None => "has no push token (no TokenUpdate yet) or does not exist",
            Some(info) if !info.is_valid() => "has a push token APNs declared invalid (410)",
            Some(_) => "is disabled (checked out, or not yet enabled by a TokenUpdate)",
        };
        return Err(CliError::input(format!("enrollment {id} {reason}")));
    }
    let results = push_and_mark_invalid(store.as_ref(), &client, targets, None).await?;
    match results.into_iter().next().map(|r| r.outcome) {
        Some(PushOutcome::Delivered { apns_id }) => {
            println!("{apns_id}");
            Ok(())
        }
        Some(other) => Err(CliError::failure(describe_failure(&other))),
        None => Err(CliError::failure("the push had no outcome")),
    }
}

async fn all(args: AllArgs, global: &GlobalOpts) -> CliResult<()> {
    let client = client(&args.connection, args.connections)?;
    let store = open_store(global).await?;
    let targets = store.push_targets_for_topic(client.topic()).await?;
    let bar = indicatif::ProgressBar::new(targets.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} pushes, {msg} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress: ProgressCallback = {
        let bar = bar.clone();
        Arc::new(move |p: PushProgress| {
            bar.set_position(p.done as u64);
            bar.set_message(format!(
                "{} delivered, {} rejected, {} failed",
                p.delivered, p.rejected, p.failed
            ));
        })
    };
    let results = push_and_mark_invalid(store.as_ref(), &client, targets, Some(progress)).await?;
    bar.finish_and_clear();
    let summary = PushSummary::from_results(&results);
    println!("topic {}: {summary}", client.topic());
    if summary.failed > 0 {
        return Err(CliError::failure(format!(
            "{} pushes failed after their retries",
            summary.failed
        )));
    }
    Ok(())
}

async fn mock_server(args: MockServerArgs) -> CliResult<()> {
    let script = match &args.script {
        Some(path) => Script::from_json(&read_input(path)?).map_err(apns_error)?,
        None => Script::default(),
    };
    let mode = if args.client_cert_optional {
        ClientCertMode::Optional
    } else {
        ClientCertMode::Required
    };
    let config = MockConfig::new(
        read_input(&args.cert)?,
        read_input(&args.key)?,
        read_input(&args.ca)?,
    )
    .listen(args.listen)
    .client_cert(mode)
    .script(script)
    .record(false);
    let server = MockServer::start(config).await.map_err(apns_error)?;
    // The first line tells scripts (and the benchmark) where to connect.
    println!("listening on {}", server.url());
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    Ok(())
}

fn mock_pki(args: MockPkiArgs) -> CliResult<()> {
    let pki = TestPki::generate(&args.topic).map_err(apns_error)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::input(format!("cannot create {}: {e}", args.out.display())))?;
    for (name, pem) in [
        ("ca.pem", &pki.ca_pem),
        ("server.pem", &pki.server_cert_pem),
        ("server.key", &pki.server_key_pem),
        ("client.pem", &pki.client_cert_pem),
        ("client.key", &pki.client_key_pem),
    ] {
        let path = args.out.join(name);
        if name.ends_with(".key") {
            write_secret_output(&path, pem)?;
        } else {
            std::fs::write(&path, pem)
                .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    println!(
        "wrote ca.pem server.pem server.key client.pem client.key to {}",
        args.out.display()
    );
    Ok(())
}
