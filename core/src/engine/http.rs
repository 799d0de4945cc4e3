//! The engine over HTTP with axum (feature `axum`): the MDM endpoints, adapted to the
//! sans-IO engine and nothing more.
//!
//! The MDM router serves `PUT /mdm/checkin` (CheckInURL), `PUT /mdm/server` (ServerURL)
//! and `PUT /mdm` (both on one URL), with the body limit of the engine's
//! [`DecodeLimits`](crate::plist_io::DecodeLimits), and the DDM assets the server serves
//! (`GET /mdm/assets/{identifier}`). A TLS layer in front passes the client certificate by
//! inserting a [`PeerCertificate`] extension into the request. The admin JSON API is a
//! front end over the service layer: `mdmkit_web::api`.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};

use super::{Engine, MdmRequest, MdmResponse};

/// The TLS client certificate (DER) of a request, inserted by the TLS layer.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Vec<u8>);

/// The path prefix of the DDM assets the server serves itself: an asset declaration made
/// with [`served_data_asset`](crate::ddm::served_data_asset) points at
/// `<server>/mdm/assets/<Identifier>`.
pub const ASSETS_PATH: &str = "/mdm/assets/";

/// The MDM endpoints: `/mdm/checkin`, `/mdm/server` and `/mdm` (combined), and the DDM
/// assets the server serves (`GET /mdm/assets/{identifier}`, authenticated as MDM
/// requests).
pub fn mdm_router(engine: Engine) -> Router {
    let limit = engine.config().limits.max_body_bytes;
    Router::new()
        .route("/mdm/checkin", any(checkin))
        .route("/mdm/server", any(server))
        .route("/mdm", any(combined))
        .route("/mdm/assets/{identifier}", any(asset))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(engine)
}

fn to_request(
    method: Method,
    headers: &HeaderMap,
    peer: Option<Extension<PeerCertificate>>,
    body: Bytes,
) -> MdmRequest {
    MdmRequest {
        method: method.to_string(),
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                value
                    .to_str()
                    .ok()
                    .map(|v| (name.as_str().to_owned(), v.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
        peer_certificate: peer.map(|Extension(PeerCertificate(der))| der),
    }
}

fn to_response(response: MdmResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut headers = HeaderMap::new();
    for (name, value) in &response.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    (status, headers, response.body).into_response()
}

async fn checkin(
    State(engine): State<Engine>,
    method: Method,
    headers: HeaderMap,
    peer: Option<Extension<PeerCertificate>>,
    body: Bytes,
) -> Response {
    let request = to_request(method, &headers, peer, body);
    to_response(engine.handle_checkin(request).await)
}

async fn server(
    State(engine): State<Engine>,
    method: Method,
    headers: HeaderMap,
    peer: Option<Extension<PeerCertificate>>,
    body: Bytes,
) -> Response {
    let request = to_request(method, &headers, peer, body);
    to_response(engine.handle_command(request).await)
}

async fn asset(
    State(engine): State<Engine>,
    Path(identifier): Path<String>,
    method: Method,
    headers: HeaderMap,
    peer: Option<Extension<PeerCertificate>>,
    body: Bytes,
) -> Response {
    let request = to_request(method, &headers, peer, body);
    to_response(engine.handle_asset(request, &identifier).await)
}

async fn combined(
    State(engine): State<Engine>,
    method: Method,
    headers: HeaderMap,
    peer: Option<Extension<PeerCertificate>>,
    body: Bytes,
) -> Response {
    let request = to_request(method, &headers, peer, body);
    to_response(engine.handle(request).await)
}
