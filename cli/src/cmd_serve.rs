//! `mdmkit serve`: the reference MDM server: the engine's MDM endpoints and its admin JSON
//! API over HTTP (axum), on the store of `--db`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use mdmkit_core::engine::webhook::WebhookSink;
use mdmkit_core::engine::{http, Engine};
use mdmkit_core::push::{PushOutcome, PushTarget, Pusher};
use mdmkit_core::Secret;

use crate::cmd_push::{client, ConnectionArgs};
use crate::store_open::{open_store, GlobalOpts};
use crate::{print_out, read_input, read_secret_input, CliError, CliResult};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A CA certificate (PEM or DER) that issues device identity certificates; repeat for
    /// several.
    #[arg(long = "device-ca", value_name = "FILE", required = true)]
    device_ca: Vec<String>,
    /// A file holding the admin API key; without it the admin API is off.
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// The PayloadIdentifier of the enrollment profile (what `retire` removes).
    #[arg(long, value_name = "ID")]
    enrollment_profile_id: Option<String>,
    /// The push certificate (PEM); without it nothing is pushed (devices get their
    /// commands at their next check-in).
    #[arg(long, value_name = "FILE", requires = "push_key")]
    push_cert: Option<String>,
    /// The push certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "push_cert")]
    push_key: Option<String>,
    /// A custom APNs endpoint, `https://host[:port]` (the mock server); default: Apple's.
    #[arg(long, value_name = "URL", requires = "push_cert")]
    apns_endpoint: Option<String>,
    /// A PEM CA to trust for the custom APNs endpoint.
    #[arg(long, value_name = "FILE", requires = "apns_endpoint")]
    apns_server_ca: Option<String>,
    /// POST every check-in and command result as signed JSON to this URL (https, or http
    /// to a loopback address).
    #[arg(long, value_name = "URL", requires = "webhook_secret_file")]
    webhook_url: Option<String>,
    /// The file holding the webhook's HMAC-SHA256 secret (first line).
    #[arg(long, value_name = "FILE", requires = "webhook_url")]
    webhook_secret_file: Option<String>,
    /// A PEM CA to trust for the webhook receiver's certificate.
    #[arg(long, value_name = "FILE", requires = "webhook_url")]
    webhook_ca: Option<String>,
}

/// Refuses every push: the server runs without a push certificate.
pub(crate) struct NoPushCertificate;

#[async_trait::async_trait]
impl Pusher for NoPushCertificate {
    async fn push(&self, _target: &PushTarget) -> PushOutcome {
        PushOutcome::Rejected {
            status: 0,
            reason: "NoPushCertificate".into(),
            token_invalid: false,
            invalid_since_ms: None,
        }
    }
}

/// Runs the server until the process is stopped.
pub fn run(args: ServeArgs, global: &GlobalOpts) -> CliResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args, global))
}

async fn serve(args: ServeArgs, global: &GlobalOpts) -> CliResult<()> {
    let pusher: Arc<dyn Pusher> = match (&args.push_cert, &args.push_key) {
        (Some(cert), Some(key)) => {
            let apns = ConnectionArgs::new(
                cert.clone(),
                key.clone(),
                args.apns_endpoint.clone(),
                args.apns_server_ca.clone(),
            );
            Arc::new(client(&apns, 1)?)
        }
        _ => Arc::new(NoPushCertificate),
    };
    let store = open_store(global).await?;
    let mut builder = Engine::builder(store, pusher);
    for path in &args.device_ca {
        builder = builder.device_ca(read_input(path)?);
    }
    if let Some(id) = &args.enrollment_profile_id {
        builder = builder.enrollment_profile_identifier(id.clone());
    }
    if let (Some(url), Some(secret_file)) = (&args.webhook_url, &args.webhook_secret_file) {
        let secret = read_secret_input(secret_file)?;
        let secret = String::from_utf8_lossy(&secret)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let mut webhook = WebhookSink::builder(url.clone(), Secret::new(secret.into_bytes()));
        if let Some(ca) = &args.webhook_ca {
            webhook = webhook.trust_ca_pem(&read_input(ca)?)?;
        }
        builder = builder.events(Arc::new(webhook.build()?));
    }
    let engine = builder
        .build()
        .map_err(|e| CliError::input(format!("--device-ca: {e}")))?;
    let mut app = http::mdm_router(engine.clone());
    if let Some(path) = &args.api_key_file {
        let key = read_secret_input(&path.to_string_lossy())?;
        let key = String::from_utf8_lossy(&key).trim().to_owned();
        if key.len() < 16 {
            return Err(CliError::input(format!(
                "{}: the API key must be at least 16 characters",
                path.display()
            )));
        }
        app = app.merge(http::admin_router(engine, Secret::new(key.into_bytes())));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::failure(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::failure(e.to_string()))?;
    print_out(&format!("listening on http://{addr}\n"));
    axum::serve(listener, app)
        .await
        .map_err(|e| CliError::failure(format!("server stopped: {e}")))
}
