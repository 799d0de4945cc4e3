//! The HTTP front end of `mdmkit serve`, over the service layer's [`Mdm`].
//!
//! * the MDM endpoints (`PUT /mdm`, `/mdm/checkin`, `/mdm/server`: core's sans-IO engine
//!   behind its axum adapter);
//! * `GET /enroll?token=…`: the signed enrollment profile of an enrollment link
//!   (`application/x-apple-aspen-config`), spending the link's token only once the
//!   profile was built;
//! * `GET /healthz`;
//! * the end users' self-service portal (`/portal`) and the administrators' console
//!   (`/console`): server-rendered pages (see `docs/web.md`);
//! * the admin JSON API ([`api`]: `/admin/…`, `Authorization: Bearer <key>`, its OpenAPI
//!   document at `/api/openapi.json`), on the same address or a separate one.
//!
//! Device client certificates reach the engine in one of two ways: [`serve`] terminates
//! TLS itself (OpenSSL), asking for but not requiring a client certificate; or, behind a
//! reverse proxy, the certificate comes in a header (nginx's `$ssl_client_escaped_cert`)
//! that is honoured only from the configured proxy addresses and removed otherwise.
#![forbid(unsafe_code)]

pub mod api;
mod pages;
mod proxy;
mod tls;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mdmkit_core::Secret;
use mdmkit_service::Mdm;
use serde::Deserialize;

pub use mdmkit_core::engine::http::PeerCertificate;
pub use pages::router as pages_router;

/// The header a reverse proxy puts the device's client certificate in by default (nginx:
/// `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`).
pub const DEFAULT_CLIENT_CERT_HEADER: &str = "x-ssl-client-cert";

/// The media type of an enrollment profile.
pub const ENROLLMENT_PROFILE_TYPE: &str = "application/x-apple-aspen-config";

/// Errors of the web layer (starting the server; requests are answered, never failed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the service layer (its code is passed through).
    #[error(transparent)]
    Service(#[from] mdmkit_service::Error),
    /// The TLS certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// An address cannot be listened on, or the server stopped on an I/O error.
    #[error("{0}")]
    Io(String),
    /// An admin API request without a valid API key (`Authorization: Bearer <key>`).
    #[error("a valid API key is required (Authorization: Bearer <key>)")]
    Unauthorized,
    /// No admin API route has this path.
    #[error("no such endpoint")]
    RouteNotFound,
    /// The admin API route does not take this method.
    #[error("this endpoint does not take that method")]
    MethodNotAllowed,
    /// A path parameter that cannot be read (not UTF-8, undecodable).
    #[error("the path: {0}")]
    PathInvalid(String),
    /// A query string that cannot be read (an unknown parameter, a limit that is not a
    /// number).
    #[error("the query: {0}")]
    QueryInvalid(String),
    /// A request body larger than the admin API takes.
    #[error("the body exceeds {limit} bytes (or could not be read)")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Service(error) => error.code(),
            Error::Tls(_) => "tls_failure",
            Error::Io(_) => "io_failure",
            Error::Unauthorized => "unauthorized",
            Error::RouteNotFound => "not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::PathInvalid(_) => "path_invalid",
            Error::QueryInvalid(_) => "query_invalid",
            Error::BodyTooLarge { .. } => "body_too_large",
        }
    }

    /// The codes of the web layer's own errors.
    pub const CODES: &'static [&'static str] = &[
        "tls_failure",
        "io_failure",
        "unauthorized",
        "not_found",
        "method_not_allowed",
        "path_invalid",
        "query_invalid",
        "body_too_large",
    ];

    /// Every code the web layer answers with: its own and every code of the service layer
    /// (`mdmkit_service::Error::all_codes`), sorted, without repeats.
    pub fn all_codes() -> Vec<&'static str> {
        let mut codes = mdmkit_service::Error::all_codes();
        codes.extend_from_slice(Self::CODES);
        codes.sort_unstable();
        codes.dedup();
        codes
    }
}

/// The web layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How `mdmkit serve` listens.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServeOptions {
    /// Where devices (and, without `admin_listen`, the admin API) are served.
    pub listen: SocketAddr,
    /// A separate address for the admin API; `None`: on `listen`.
    pub admin_listen: Option<SocketAddr>,
    /// The admin API key; `None`: no admin API.
    pub api_key: Option<Secret>,
    /// The server certificate chain and key (PEM) to terminate TLS with; `None`: plain
    /// HTTP (behind a reverse proxy).
    pub tls: Option<(Vec<u8>, Secret)>,
    /// Addresses of reverse proxies whose client-certificate header is honoured.
    pub trusted_proxies: Vec<IpAddr>,
    /// The header those proxies put the client certificate in.
    pub client_cert_header: String,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("listen", &self.listen)
            .field("admin_listen", &self.admin_listen)
            .field("tls", &self.tls.is_some())
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

impl ServeOptions {
    /// Plain HTTP on `listen`, no admin API, no trusted proxy.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            admin_listen: None,
            api_key: None,
            tls: None,
            trusted_proxies: Vec::new(),
            client_cert_header: DEFAULT_CLIENT_CERT_HEADER.to_owned(),
        }
    }
}

/// The addresses a running server listens on, as [`serve`] reports them once bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bound {
    /// The devices' address.
    pub listen: SocketAddr,
    /// The admin API's separate address, if any.
    pub admin: Option<SocketAddr>,
    /// Whether TLS is terminated here.
    pub tls: bool,
}

/// What devices use: the MDM endpoints, the enrollment link and `/healthz`.
pub fn device_router(mdm: &Mdm) -> Result<Router> {
    let engine = mdm.engine()?.clone();
    let pages = Router::new()
        .route("/enroll", get(enroll))
        .route("/healthz", get(healthz))
        .with_state(mdm.clone());
    Ok(mdmkit_core::engine::http::mdm_router(engine).merge(pages))
}

/// The admin JSON API ([`api`]), for requests with `Authorization: Bearer <api_key>`;
/// the audit log names the key `api-key:default`.
pub fn admin_router(mdm: &Mdm, api_key: Secret) -> Result<Router> {
    Ok(api::router(mdm, vec![api::ApiKey::new("default", api_key)]))
}

/// Serves until `shutdown` completes, then lets requests in flight finish. `bound` is
/// called once every address is listening.
pub async fn serve(
    mdm: Mdm,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    bound: impl FnOnce(Bound),
) -> Result<()> {
    let mut devices = device_router(&mdm)?.merge(pages::router(&mdm, options.tls.is_some()).await);
    let mut admin = None;
    if let Some(key) = options.api_key.clone() {
        let router = admin_router(&mdm, key)?;
        match options.admin_listen {
            Some(_) => admin = Some(router),
            None => devices = devices.merge(router),
        }
    }
    let proxies = Arc::new(proxy::TrustedProxies::new(
        options.trusted_proxies.clone(),
        &options.client_cert_header,
    ));
    let devices = devices.layer(axum::middleware::from_fn_with_state(
        proxies.clone(),
        proxy::client_certificate_from_proxy,
    ));

    let listener = bind(options.listen).await?;
    let listen = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?;
    let admin_listener = match (&admin, options.admin_listen) {
        (Some(_), Some(address)) => Some(bind(address).await?),
        _ => None,
    };
    let admin_address = admin_listener
        .as_ref()
        .map(|l| l.local_addr().map_err(|e| Error::Io(e.to_string())))
        .transpose()?;
    bound(Bound {
        listen,
        admin: admin_address,
        tls: options.tls.is_some(),
    });

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let admin_task = match (admin, admin_listener) {
        (Some(router), Some(listener)) => {
            let stop = stopped(stop_rx.clone());
            Some(tokio::spawn(async move {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(stop)
                .await
            }))
        }
        _ => None,
    };
    let served = match options.tls {
        Some((chain, key)) => {
            let acceptor = tls::acceptor(&chain, &key)?;
            tls::serve(listener, acceptor, devices, stopped(stop_rx)).await
        }
        None => axum::serve(
            listener,
            devices.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stopped(stop_rx))
        .await
        .map_err(|e| Error::Io(format!("server stopped: {e}"))),
    };
    if let Some(task) = admin_task {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Io(format!("admin server stopped: {e}"))),
            Err(e) => return Err(Error::Io(format!("admin server failed: {e}"))),
        }
    }
    served
}

async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| Error::Io(format!("cannot listen on {address}: {e}")))
}

#[derive(Deserialize)]
struct EnrollQuery {
    token: Option<String>,
}

/// `GET /enroll?token=…`: the signed enrollment profile, or a short text saying why not.
async fn enroll(State(mdm): State<Mdm>, Query(query): Query<EnrollQuery>) -> Response {
    let Some(token) = query.token.filter(|token| !token.is_empty()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "This link has no enrollment token.",
        );
    };
    match mdm.enrollment().enroll(&token).await {
        Ok(profile) => {
            tracing::info!(user = %profile.user_id, "enrollment profile served");
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, ENROLLMENT_PROFILE_TYPE),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"enroll.mobileconfig\"",
                    ),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                profile.profile,
            )
                .into_response()
        }
        Err(error) if error.code() == "token_invalid" => {
            tracing::warn!(code = error.code(), "enrollment link refused");
            text(
                StatusCode::GONE,
                "This enrollment link is invalid, already used or expired. Ask your administrator for a new one.",
            )
        }
        Err(error) => {
            tracing::error!(code = error.code(), %error, "enrollment profile not built");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "The enrollment profile cannot be made right now. Try again later.",
            )
        }
    }
}

/// `GET /healthz`: 200 when the store answers, 503 otherwise.
async fn healthz(State(mdm): State<Mdm>) -> Response {
    match mdm.settings().list().await {
        Ok(_) => text(StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(
                code = error.code(),
                "health check: the store does not answer"
            );
            text(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}
