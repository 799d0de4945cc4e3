//! `mdmkit serve`: the whole server from the store: the MDM endpoints, the enrollment
//! link, the admin JSON API, with the push certificates installed through the lifecycle.
//! Thin over `mdmkit_web::serve`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use mdmkit_core::engine::webhook::WebhookSink;
use mdmkit_core::push::Pusher;
use mdmkit_core::Secret;
use mdmkit_service::settings;
use mdmkit_web::ServeOptions;

use crate::cmd_push::{client, ConnectionArgs};
use crate::store_open::{open_mdm, GlobalOpts};
use crate::{print_out, read_input, read_secret_input, CliError, CliResult};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address devices reach (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve the admin API on this separate address instead of `--listen`.
    #[arg(long, value_name = "ADDR", requires = "api_key_file")]
    admin_listen: Option<SocketAddr>,
    /// A device CA certificate (PEM) overriding the stored one (`mdmkit init` stores it).
    #[arg(long = "device-ca", value_name = "FILE")]
    device_ca: Option<String>,
    /// A file holding the admin API key (at least 16 characters); without it the admin
    /// API is off.
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// The enrollment profile's PayloadIdentifier, overriding the stored setting.
    #[arg(long, value_name = "ID")]
    enrollment_profile_id: Option<String>,
    /// Terminate TLS here with this certificate chain (PEM); devices' client certificates
    /// are asked for and passed to the engine.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<String>,
    /// The TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<String>,
    /// A reverse proxy whose client-certificate header is believed (repeat for several).
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<IpAddr>,
    /// The header such a proxy puts the URL-encoded PEM client certificate in.
    #[arg(long, value_name = "NAME", default_value = mdmkit_web::DEFAULT_CLIENT_CERT_HEADER)]
    client_cert_header: String,
    /// Push with this certificate (PEM) instead of the ones installed in the store.
    #[arg(long, value_name = "FILE", requires = "push_key")]
    push_cert: Option<String>,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE", requires = "push_cert")]
    push_key: Option<String>,
    /// A custom APNs endpoint, `https://host[:port]` (the mock server), overriding the
    /// stored setting.
    #[arg(long, value_name = "URL")]
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

/// Runs the server until SIGTERM or SIGINT; requests in flight finish.
pub fn run(args: ServeArgs, global: &GlobalOpts) -> CliResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args, global))
}

fn text_file(path: &str) -> CliResult<String> {
    String::from_utf8(read_input(path)?)
        .map_err(|_| CliError::input(format!("{path}: not a text (PEM) file")))
}

async fn serve(args: ServeArgs, global: &GlobalOpts) -> CliResult<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let mut overrides = Vec::new();
    if let Some(path) = &args.device_ca {
        overrides.push((settings::DEVICE_CA_CERTIFICATE, text_file(path)?));
    }
    if let Some(id) = &args.enrollment_profile_id {
        overrides.push((settings::ENROLLMENT_PROFILE_ID, id.clone()));
    }
    if let Some(url) = &args.apns_endpoint {
        overrides.push((settings::APNS_ENDPOINT, url.clone()));
    }
    if let Some(path) = &args.apns_server_ca {
        overrides.push((settings::APNS_SERVER_CA, text_file(path)?));
    }
    let pusher: Option<Arc<dyn Pusher>> = match (&args.push_cert, &args.push_key) {
        (Some(cert), Some(key)) => {
            let apns = ConnectionArgs::new(
                cert.clone(),
                key.clone(),
                args.apns_endpoint.clone(),
                args.apns_server_ca.clone(),
            );
            Some(Arc::new(client(&apns, 1)?))
        }
        _ => None,
    };
    let webhook = match (&args.webhook_url, &args.webhook_secret_file) {
        (Some(url), Some(secret_file)) => {
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
            Some(Arc::new(webhook.build()?))
        }
        _ => None,
    };
    let api_key = match &args.api_key_file {
        Some(path) => {
            let key = read_secret_input(&path.to_string_lossy())?;
            let key = String::from_utf8_lossy(&key).trim().to_owned();
            if key.len() < 16 {
                return Err(CliError::input(format!(
                    "{}: the API key must be at least 16 characters",
                    path.display()
                )));
            }
            Some(Secret::new(key.into_bytes()))
        }
        None => None,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some((read_input(cert)?, Secret::new(read_input(key)?))),
        _ => None,
    };
    let mdm = open_mdm(global, |mut config| {
        for (name, value) in overrides {
            config = config.setting(name, value);
        }
        if let Some(pusher) = pusher {
            config = config.pusher(pusher);
        }
        if let Some(webhook) = webhook {
            config = config.events(webhook);
        }
        config
    })
    .await?;
    tokio::spawn(mdm.expiry().run_notices());
    let mut options = ServeOptions::new(args.listen);
    options.admin_listen = args.admin_listen;
    options.api_key = api_key;
    options.tls = tls;
    options.trusted_proxies = args.trusted_proxies;
    options.client_cert_header = args.client_cert_header;
    mdmkit_web::serve(mdm, options, shutdown_signal(), |bound| {
        let scheme = if bound.tls { "https" } else { "http" };
        let mut line = format!("listening on {scheme}://{}\n", bound.listen);
        if let Some(admin) = bound.admin {
            line.push_str(&format!("admin API on http://{admin}\n"));
        }
        print_out(&line);
    })
    .await?;
    Ok(())
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("stopping: requests in flight finish");
}
