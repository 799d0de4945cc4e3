//! The engine over HTTP with axum (feature `axum`): the MDM endpoints, and a small admin
//! JSON API protected by an API key.
//!
//! The MDM router serves `PUT /mdm/checkin` (CheckInURL), `PUT /mdm/server` (ServerURL)
//! and `PUT /mdm` (both on one URL), with the body limit of the engine's
//! [`DecodeLimits`](crate::plist_io::DecodeLimits). A TLS layer in front passes the
//! client certificate by inserting a [`PeerCertificate`] extension into the request.
//!
//! The admin router (all JSON, `Authorization: Bearer <key>`):
//!
//! | method and path | what |
//! | --- | --- |
//! | `GET /admin/devices` | every enrollment |
//! | `GET /admin/devices/{id}` | one enrollment with its device record |
//! | `GET /admin/devices/{id}/queue` | its pending commands |
//! | `POST /admin/devices/{id}/actions/{action}` | a device action (body: its options) |
//! | `POST /admin/devices/{id}/commands` | any typed command (`{"RequestType": ...}`) |
//! | `POST /admin/devices/{id}/push` | a push only |
//! | `GET /admin/commands/{uuid}` | a command's status and results per target |
//!
//! Actions are [`Action`]'s table (parsed strictly by [`Action::parse`]): `lock`
//! (`message`, `phone_number`, `pin`), `unlock`, `enable-lost-mode` (`message`,
//! `phone_number`, `footnote`), `disable-lost-mode`, `locate`, `play-lost-mode-sound`,
//! `wipe` (EraseDevice keys), `retire`, `check-in-now`, `device-information` (`queries`),
//! `install-profile` (`profile`: base64; `encrypt`: true encrypts the payloads to the
//! device's identity certificate), `remove-profile` (`identifier`).
//!
//! The API key is checked before anything else (the path, the body); every answer that
//! is not a success is `{"error": code, "message": text}` (401, 404, 405, 413, 400 for
//! bad paths and bodies, 409 when the device cannot run the action). Every action and
//! command is audited (`device.<action>`, the key's name as the actor).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value as JsonValue};

use super::{Action, ActionOutcome, Engine, MdmRequest, MdmResponse, Queued};
use crate::json::dictionary_to_json;
use crate::plist_io;
use crate::push::PushOutcome;
use crate::store::{EnrollmentQuery, EnrollmentRecord};
use crate::{EnrollmentId, Error, Secret};

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

/// The largest admin request body, in bytes (an `install-profile` carries a base64
/// profile of up to [`MAX_PROFILE_BYTES`](super::MAX_PROFILE_BYTES)).
pub const ADMIN_BODY_LIMIT: usize = 12 * 1024 * 1024;

/// An admin API key and the name the audit log records for it.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// The name recorded as the actor (`api-key:<name>`).
    pub name: String,
    /// The key (`Authorization: Bearer <key>`).
    pub key: Secret,
}

impl ApiKey {
    /// A named key.
    pub fn new(name: impl Into<String>, key: Secret) -> Self {
        Self {
            name: name.into(),
            key,
        }
    }
}

#[derive(Clone)]
struct Admin {
    engine: Engine,
    keys: Arc<Vec<ApiKey>>,
}

/// Who called: the name of the API key that authorized the request.
#[derive(Clone)]
struct Caller(String);

/// The admin JSON API (see the module documentation), accepting only requests with
/// `Authorization: Bearer <api_key>`; the audit log names the key `api-key:default`.
pub fn admin_router(engine: Engine, api_key: Secret) -> Router {
    admin_router_with_keys(engine, vec![ApiKey::new("default", api_key)])
}

/// The admin JSON API accepting any of `keys`; the audit log names the key used.
pub fn admin_router_with_keys(engine: Engine, keys: Vec<ApiKey>) -> Router {
    let state = Admin {
        engine,
        keys: Arc::new(keys),
    };
    Router::new()
        .route("/admin/devices", get(list_devices))
        .route("/admin/devices/{id}", get(show_device))
        .route("/admin/devices/{id}/queue", get(show_queue))
        .route("/admin/devices/{id}/actions/{action}", post(run_action))
        .route("/admin/devices/{id}/commands", post(enqueue_command))
        .route("/admin/devices/{id}/push", post(push_device))
        .route("/admin/commands/{uuid}", get(show_command))
        // Runs before any extractor: no path is decoded and no body read for a caller
        // without a key.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_key,
        ))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// An admin API failure, as `{"error": code, "message": text}`.
struct ApiError(StatusCode, String, String);

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError(status, code.to_owned(), message.into())
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = match &error {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::StoreBackend(_) | Error::StoreCrypto(_) | Error::Encode(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Error::CommandNotSupported { .. }
            | Error::UnlockTokenMissing(_)
            | Error::IdentityCertificateMissing(_)
            | Error::KeyNotSupported(_)
            | Error::EnrollmentDisabled(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError(status, error.code().to_owned(), error.to_string())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "path_invalid",
            rejection.body_text(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1, "message": self.2}))).into_response()
    }
}

type ApiResult = Result<Json<JsonValue>, ApiError>;

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

/// The key's name when the request carries one of the keys.
fn caller(admin: &Admin, headers: &HeaderMap) -> Option<String> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let mut found = None;
    // Every key is compared (in constant time each), so timing does not tell which
    // key matched or how many there are before it.
    for key in admin.keys.iter() {
        let expected = key.key.expose();
        if presented.len() == expected.len() && openssl::memcmp::eq(presented.as_bytes(), expected)
        {
            found = Some(key.name.clone());
        }
    }
    found
}

async fn require_key(State(admin): State<Admin>, mut request: Request, next: Next) -> Response {
    match caller(&admin, request.headers()) {
        Some(name) => {
            request.extensions_mut().insert(Caller(name));
            next.run(request).await
        }
        None => {
            tracing::warn!(
                path = %request.uri().path(),
                "admin API request refused: no valid API key"
            );
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid API key is required (Authorization: Bearer <key>)",
            )
            .into_response()
        }
    }
}

/// The body, at most [`ADMIN_BODY_LIMIT`] bytes (read only after the key was checked).
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, ADMIN_BODY_LIMIT)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body exceeds {ADMIN_BODY_LIMIT} bytes (or could not be read)"),
            )
        })
}

fn time_json(at: Option<time::OffsetDateTime>) -> JsonValue {
    at.and_then(|at| {
        at.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .map_or(JsonValue::Null, JsonValue::String)
}

fn enrollment_json(record: &EnrollmentRecord) -> JsonValue {
    json!({
        "id": record.id.as_str(),
        "enabled": record.enabled,
        "enrollment_type": record.enrollment_type,
        "topic": record.enrolled_topic,
        "owner": record.owner,
        "push_token_valid": record.push.as_ref().map(|p| p.is_valid()),
        "unlock_token": record.unlock_token.is_some(),
        "last_seen": time_json(record.last_seen),
    })
}

fn queued_json(queued: Queued) -> JsonValue {
    json!({
        "command_uuid": queued.command_uuid,
        "push": queued.push.map(|p| outcome_json(&p)),
    })
}

fn outcome_json(outcome: &PushOutcome) -> JsonValue {
    match outcome {
        PushOutcome::Delivered { apns_id } => json!({"delivered": true, "apns_id": apns_id}),
        PushOutcome::Rejected { status, reason, .. } => {
            json!({"delivered": false, "status": status, "reason": reason})
        }
        PushOutcome::Failed { attempts, error } => {
            json!({"delivered": false, "attempts": attempts, "error": error})
        }
    }
}

fn action_json(outcome: ActionOutcome) -> JsonValue {
    match outcome {
        ActionOutcome::Queued(queued) => queued_json(queued),
        ActionOutcome::Pushed(push) => outcome_json(&push),
    }
}

fn plist_json(bytes: &[u8]) -> JsonValue {
    match plist_io::parse_dictionary(bytes, Default::default()) {
        Ok(dict) => JsonValue::Object(dictionary_to_json(&dict)),
        Err(_) => JsonValue::Null,
    }
}

async fn existing(admin: &Admin, id: &EnrollmentId) -> Result<EnrollmentRecord, ApiError> {
    Ok(admin
        .engine
        .store()
        .get_enrollment(id)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "enrollment",
            id: id.to_string(),
        })?)
}

async fn list_devices(State(admin): State<Admin>) -> ApiResult {
    let records = admin
        .engine
        .store()
        .list_enrollments(&EnrollmentQuery::all())
        .await?;
    Ok(Json(JsonValue::Array(
        records.iter().map(enrollment_json).collect(),
    )))
}

async fn show_device(
    State(admin): State<Admin>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = path?;
    let id = EnrollmentId::new(id);
    let store = admin.engine.store();
    let record = existing(&admin, &id).await?;
    let mut value = enrollment_json(&record);
    if let Some(device) = store.get_device(id.device_part()).await? {
        value["device"] = json!({
            "serial_number": device.serial_number,
            "model": device.model,
            "product_name": device.product_name,
            "os_version": device.os_version,
            "build_version": device.build_version,
            "device_information": device.device_information.as_deref().map(plist_json),
        });
    }
    value["pending_commands"] = json!(store.pending_commands(&id).await?.len());
    Ok(Json(value))
}

async fn show_queue(
    State(admin): State<Admin>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = path?;
    let id = EnrollmentId::new(id);
    existing(&admin, &id).await?;
    let pending = admin.engine.store().pending_commands(&id).await?;
    Ok(Json(JsonValue::Array(
        pending
            .iter()
            .map(|p| {
                json!({
                    "command_uuid": p.command.command_uuid,
                    "request_type": p.command.request_type,
                    "status": p.status.map(|s| s.as_str()),
                    "delivered_at": time_json(p.delivered_at),
                    "created_at": time_json(Some(p.command.created_at)),
                })
            })
            .collect(),
    )))
}

async fn show_command(
    State(admin): State<Admin>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(uuid) = path?;
    let store = admin.engine.store();
    let command = store
        .get_command(&uuid)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "command",
            id: uuid.clone(),
        })?;
    let targets = store.command_status(&uuid).await?;
    Ok(Json(json!({
        "command_uuid": command.command_uuid,
        "request_type": command.request_type,
        "command": plist_json(&command.payload),
        "targets": targets.iter().map(|t| json!({
            "enrollment_id": t.enrollment_id.as_str(),
            "status": t.status.map(|s| s.as_str()),
            "delivered_at": time_json(t.delivered_at),
            "result": t.result.as_ref().map(|r| plist_json(&r.payload)),
        })).collect::<Vec<_>>(),
    })))
}

/// Parses and runs one action for the caller, audited; the answer's JSON.
async fn audited(
    admin: &Admin,
    caller: &Caller,
    id: &EnrollmentId,
    name: &str,
    body: &[u8],
) -> ApiResult {
    let actor = format!("api-key:{}", caller.0);
    let action = match Action::parse(name, body) {
        Ok(action) => action,
        Err(error) => {
            let mut event = crate::store::AuditEvent::new(&actor, format!("device.{name}"));
            event.target = Some(id.to_string());
            event.detail = Some(json!({"outcome": "refused", "error": error.code()}).to_string());
            if Action::NAMES.contains(&name) {
                admin.engine.store().append_audit_event(&event).await?;
            }
            return Err(error.into());
        }
    };
    let outcome = admin.engine.run_action_as(&actor, id, action).await?;
    Ok(Json(action_json(outcome)))
}

async fn run_action(
    State(admin): State<Admin>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path((id, action)) = path?;
    if action == "command" {
        // The raw command has its own endpoint.
        return Err(Error::NotFound {
            kind: "action",
            id: action,
        }
        .into());
    }
    let body = read_body(body).await?;
    audited(&admin, &caller, &EnrollmentId::new(id), &action, &body).await
}

async fn enqueue_command(
    State(admin): State<Admin>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(id) = path?;
    let body = read_body(body).await?;
    audited(&admin, &caller, &EnrollmentId::new(id), "command", &body).await
}

async fn push_device(
    State(admin): State<Admin>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(id) = path?;
    let body = read_body(body).await?;
    audited(
        &admin,
        &caller,
        &EnrollmentId::new(id),
        "check-in-now",
        &body,
    )
    .await
}
