//! `mdmkit push`: send MDM pushes through APNs, and run the mock APNs server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use mdmkit_apns::client::{ApnsClient, ApnsConfig, ClientIdentity, Endpoint};
use mdmkit_apns::mock::{ClientCertMode, MockConfig, MockServer, Script, TestPki};
use mdmkit_core::push::{PushInfo, PushOutcome, PushTarget, Pusher};

use crate::cli_error::read_input;
use crate::{CliError, CliResult};

/// Push subcommands.
#[derive(Debug, Subcommand)]
pub enum PushCommand {
    /// Sends one MDM push; prints the apns-id, or the reason and exits non-zero.
    Send(SendArgs),
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
pub fn run(command: PushCommand) -> CliResult<()> {
    match command {
        PushCommand::Send(args) => runtime()?.block_on(send(args)),
        PushCommand::MockServer(args) => runtime()?.block_on(mock_server(args)),
        PushCommand::MockPki(args) => mock_pki(args),
    }
}

fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))
}

fn apns_error(error: mdmkit_apns::Error) -> CliError {
    CliError::input(format!("{error} [{}]", error.code()))
}

/// Builds a client from the connection options.
pub fn client(args: &ConnectionArgs) -> CliResult<ApnsClient> {
    let identity = ClientIdentity::from_pem(&read_input(&args.cert)?, &read_input(&args.key)?)
        .map_err(apns_error)?;
    let endpoint = match (&args.endpoint, args.sandbox, args.port_2197) {
        (Some(url), _, _) => Endpoint::from_url(url).map_err(apns_error)?,
        (None, true, false) => Endpoint::Sandbox,
        (None, true, true) => Endpoint::SandboxAlternatePort,
        (None, false, false) => Endpoint::Production,
        (None, false, true) => Endpoint::ProductionAlternatePort,
    };
    let mut config =
        ApnsConfig::new(endpoint, identity).request_timeout(Duration::from_secs(args.timeout));
    if let Some(ca) = &args.server_ca {
        config = config.server_ca_pem(read_input(ca)?);
    }
    if let Some(topic) = &args.topic {
        config = config.topic(topic.clone());
    }
    ApnsClient::new(config).map_err(apns_error)
}

fn parse_token(hex: &str) -> CliResult<Vec<u8>> {
    let hex = hex.trim();
    if hex.is_empty() || hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CliError::input(format!(
            "invalid token {hex:?}: expected an even number of hexadecimal digits"
        )));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&hex[i..i + 2], 16)
                .map_err(|_| CliError::input(format!("invalid token {hex:?}")))
        })
        .collect()
}

/// One line describing an outcome that is not a delivery.
pub fn describe_failure(outcome: &PushOutcome) -> String {
    match outcome {
        PushOutcome::Delivered { apns_id } => format!("delivered {apns_id}"),
        PushOutcome::Rejected {
            status,
            reason,
            token_invalid,
            invalid_since_ms,
        } => {
            let mut text = format!("rejected: {reason} (HTTP {status})");
            if *token_invalid {
                text.push_str("; the device token is no longer valid");
                if let Some(ms) = invalid_since_ms {
                    text.push_str(&format!(" since {ms} ms after the Unix epoch"));
                }
            }
            text
        }
        PushOutcome::Failed { attempts, error } => {
            format!("failed after {attempts} attempts: {error}")
        }
        other => format!("{other:?}"),
    }
}

async fn send(args: SendArgs) -> CliResult<()> {
    let token = parse_token(&args.token)?;
    let client = client(&args.connection)?;
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
        std::fs::write(&path, pem)
            .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
    }
    println!(
        "wrote ca.pem server.pem server.key client.pem client.key to {}",
        args.out.display()
    );
    Ok(())
}
