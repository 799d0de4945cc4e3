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
//! Actions: `lock` (`message`, `phone_number`, `pin`), `unlock`, `enable-lost-mode`
//! (`message`, `phone_number`, `footnote`), `disable-lost-mode`, `locate`,
//! `play-lost-mode-sound`, `wipe` (EraseDevice keys), `retire`, `device-information`
//! (`queries`), `install-profile` (`profile`: base64; `encrypt`: true encrypts the payloads
//! to the device's identity certificate), `remove-profile` (`identifier`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use base64::Engine as _;
use serde_json::{json, Map, Value as JsonValue};

use super::{Engine, LockOptions, LostModeOptions, MdmRequest, MdmResponse, Queued};
use crate::json::{command_from_json, dictionary_to_json};
use crate::plist_io;
use crate::push::PushOutcome;
use crate::store::{EnrollmentQuery, EnrollmentRecord};
use crate::{EnrollmentId, Error, Secret};

/// The TLS client certificate (DER) of a request, inserted by the TLS layer.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Vec<u8>);

/// The MDM endpoints: `/mdm/checkin`, `/mdm/server` and `/mdm` (combined).
pub fn mdm_router(engine: Engine) -> Router {
    let limit = engine.config().limits.max_body_bytes;
    Router::new()
        .route("/mdm/checkin", any(checkin))
        .route("/mdm/server", any(server))
        .route("/mdm", any(combined))
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

#[derive(Clone)]
struct Admin {
    engine: Engine,
    api_key: Arc<Secret>,
}

/// The admin JSON API (see the module documentation), accepting only requests with
/// `Authorization: Bearer <api_key>`.
pub fn admin_router(engine: Engine, api_key: Secret) -> Router {
    let state = Admin {
        engine,
        api_key: Arc::new(api_key),
    };
    Router::new()
        .route("/admin/devices", get(list_devices))
        .route("/admin/devices/{id}", get(show_device))
        .route("/admin/devices/{id}/queue", get(show_queue))
        .route("/admin/devices/{id}/actions/{action}", post(run_action))
        .route("/admin/devices/{id}/commands", post(enqueue_command))
        .route("/admin/devices/{id}/push", post(push_device))
        .route("/admin/commands/{uuid}", get(show_command))
        .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
        .with_state(state)
}

/// An admin API failure, as `{"error": code, "message": text}`.
struct ApiError(StatusCode, String, String);

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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1, "message": self.2}))).into_response()
    }
}

type ApiResult = Result<Json<JsonValue>, ApiError>;

fn authorize(admin: &Admin, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = admin.api_key.expose();
    if presented.len() == expected.len() && openssl::memcmp::eq(presented.as_bytes(), expected) {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized".into(),
            "a valid API key is required (Authorization: Bearer <key>)".into(),
        ))
    }
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

fn plist_json(bytes: &[u8]) -> JsonValue {
    match plist_io::parse_dictionary(bytes, Default::default()) {
        Ok(dict) => JsonValue::Object(dictionary_to_json(&dict)),
        Err(_) => JsonValue::Null,
    }
}

async fn list_devices(State(admin): State<Admin>, headers: HeaderMap) -> ApiResult {
    authorize(&admin, &headers)?;
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
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    authorize(&admin, &headers)?;
    let id = EnrollmentId::new(id);
    let store = admin.engine.store();
    let record = store
        .get_enrollment(&id)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "enrollment",
            id: id.to_string(),
        })?;
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
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    authorize(&admin, &headers)?;
    let pending = admin
        .engine
        .store()
        .pending_commands(&EnrollmentId::new(id))
        .await?;
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
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> ApiResult {
    authorize(&admin, &headers)?;
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

fn body_object(body: &Bytes) -> Result<Map<String, JsonValue>, ApiError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(JsonValue::Object(object)) => Ok(object),
        _ => Err(ApiError(
            StatusCode::BAD_REQUEST,
            "json_invalid".into(),
            "the body must be a JSON object".into(),
        )),
    }
}

fn text(object: &Map<String, JsonValue>, key: &str) -> Result<Option<String>, ApiError> {
    match object.get(key) {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError(
            StatusCode::BAD_REQUEST,
            "json_invalid".into(),
            format!("{key} must be a string"),
        )),
    }
}

async fn run_action(
    State(admin): State<Admin>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    authorize(&admin, &headers)?;
    let id = EnrollmentId::new(id);
    let options = body_object(&body)?;
    let engine = &admin.engine;
    let queued = match action.as_str() {
        "lock" => {
            let lock = LockOptions {
                message: text(&options, "message")?,
                phone_number: text(&options, "phone_number")?,
                pin: text(&options, "pin")?,
            };
            engine.lock(&id, lock).await?
        }
        "unlock" => engine.unlock(&id).await?,
        "enable-lost-mode" => {
            let lost = LostModeOptions {
                message: text(&options, "message")?,
                phone_number: text(&options, "phone_number")?,
                footnote: text(&options, "footnote")?,
            };
            engine.enable_lost_mode(&id, lost).await?
        }
        "disable-lost-mode" => engine.disable_lost_mode(&id).await?,
        "locate" => engine.locate(&id).await?,
        "play-lost-mode-sound" => engine.play_lost_mode_sound(&id).await?,
        "wipe" => {
            let crate::Command::EraseDevice(erase) = command_from_json("EraseDevice", &options)?
            else {
                return Err(Error::UnknownRequestType("EraseDevice".into()).into());
            };
            engine.wipe(&id, erase).await?
        }
        "retire" => engine.retire(&id).await?,
        "device-information" => {
            let queries = match options.get("queries") {
                Some(JsonValue::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => [
                    "DeviceName",
                    "OSVersion",
                    "ProductName",
                    "SerialNumber",
                    "IsSupervised",
                ]
                .map(str::to_owned)
                .to_vec(),
            };
            engine.query_device_information(&id, queries).await?
        }
        "install-profile" => {
            let profile = text(&options, "profile")?.unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(profile.trim())
                .map_err(|e| {
                    ApiError(
                        StatusCode::BAD_REQUEST,
                        "json_invalid".into(),
                        format!("profile must be base64: {e}"),
                    )
                })?;
            match options.get("encrypt") {
                None | Some(JsonValue::Null) | Some(JsonValue::Bool(false)) => {
                    engine.install_profile(&id, bytes).await?
                }
                Some(JsonValue::Bool(true)) => {
                    if crate::profile::is_signed(&bytes) {
                        return Err(ApiError(
                            StatusCode::BAD_REQUEST,
                            "profile_signature".into(),
                            "give the unsigned profile to encrypt (the server holds no signer)"
                                .into(),
                        ));
                    }
                    let profile = crate::profile::Profile::read(&bytes)?;
                    engine
                        .install_profile_encrypted(&id, &profile, None)
                        .await?
                }
                Some(_) => {
                    return Err(ApiError(
                        StatusCode::BAD_REQUEST,
                        "json_invalid".into(),
                        "encrypt must be true or false".into(),
                    ))
                }
            }
        }
        "remove-profile" => {
            let identifier = text(&options, "identifier")?.ok_or_else(|| Error::MissingKey {
                path: "identifier".into(),
            })?;
            engine.remove_profile(&id, &identifier).await?
        }
        other => {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                "unknown_action".into(),
                format!("no action {other:?}"),
            ))
        }
    };
    Ok(Json(queued_json(queued)))
}

async fn enqueue_command(
    State(admin): State<Admin>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    authorize(&admin, &headers)?;
    let object = body_object(&body)?;
    let request_type = text(&object, "RequestType")?.ok_or_else(|| Error::MissingKey {
        path: "RequestType".into(),
    })?;
    let command = command_from_json(&request_type, &object)?;
    let queued = admin
        .engine
        .enqueue_command(&EnrollmentId::new(id), command)
        .await?;
    Ok(Json(queued_json(queued)))
}

async fn push_device(
    State(admin): State<Admin>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    authorize(&admin, &headers)?;
    let outcome = admin.engine.check_in_now(&EnrollmentId::new(id)).await?;
    Ok(Json(outcome_json(&outcome)))
}
