//! The admin JSON API: every route converts its request, calls one function of the
//! service layer's [`Mdm`] and converts the answer. Its OpenAPI document is
//! `docs/openapi.json`, served at `GET /api/openapi.json`; a test checks it against
//! [`routes`], the one table the router is built from.
//!
//! * Authentication: `Authorization: Bearer <key>`, compared in constant time with every
//!   configured [`ApiKey`] before anything else (no path is decoded and no body read for a
//!   caller without one); the key's name is the actor of the audit log (`api-key:<name>`).
//! * Bodies are strict JSON: unknown and duplicate keys and wrong types are refused
//!   (`json_invalid`), at most [`BODY_LIMIT`] bytes (`body_too_large`).
//! * Lists are paged: `?after=<cursor>&limit=<n>` (at most
//!   [`MAX_PAGE`](mdmkit_service::MAX_PAGE)), answered as `{"items": [...], "next": cursor
//!   or null}`.
//! * Every failure is `{"error": {"code": ..., "message": ...}}` with the stable code of
//!   the service's [`Error::code`](mdmkit_service::Error::code) and an HTTP status chosen
//!   by [`status_of`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Extension, Json, Router};
use mdmkit_core::Secret;
use mdmkit_service::push_certs::{InstallInput, VendorInput};
use mdmkit_service::{InvitationEntry, InvitationReport, Mdm, Page};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as JsonValue};

use crate::Error;

/// The largest admin request body, in bytes (an `install-profile` carries a base64
/// profile of up to 8 MiB).
pub const BODY_LIMIT: usize = 12 * 1024 * 1024;

/// The admin API's OpenAPI 3 document (`docs/openapi.json`).
pub const OPENAPI_JSON: &str = include_str!("../../docs/openapi.json");

/// The page size when a list request gives no `limit`.
pub const DEFAULT_LIMIT: u32 = 100;

/// How long enrollment links and invitations work when the request does not say.
pub const DEFAULT_TTL_HOURS: u64 = 72;

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

/// One route of the admin API, as [`routes`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The HTTP method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: &'static str,
    /// The path, with `{name}` for a path parameter (as OpenAPI writes it).
    pub path: &'static str,
    /// Whether the route needs the API key (only the OpenAPI document does not).
    pub authenticated: bool,
}

#[derive(Clone)]
struct Api {
    mdm: Mdm,
    keys: Arc<Vec<ApiKey>>,
}

/// Who called: the audit log's actor (`api-key:<name>`).
#[derive(Clone)]
struct Caller(String);

/// The API's state acting as its caller: what a handler changes through it is audited
/// with the caller's actor (`api-key:<name>`, [`Mdm::acting_as`]); a public route (no
/// key) acts with the handle's own.
struct Acting(Api);

impl axum::extract::FromRequestParts<Api> for Acting {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Api,
    ) -> Result<Self, Self::Rejection> {
        let mut api = state.clone();
        if let Some(Caller(actor)) = parts.extensions.get::<Caller>() {
            api.mdm = api.mdm.acting_as(actor.clone());
        }
        Ok(Acting(api))
    }
}

struct Route {
    info: RouteInfo,
    handler: MethodRouter<Api>,
}

fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, Api>,
    T: 'static,
{
    let (name, filter) = match method {
        Method::GET => ("GET", MethodFilter::GET),
        Method::POST => ("POST", MethodFilter::POST),
        Method::PUT => ("PUT", MethodFilter::PUT),
        Method::PATCH => ("PATCH", MethodFilter::PATCH),
        _ => ("DELETE", MethodFilter::DELETE),
    };
    Route {
        info: RouteInfo {
            method: name,
            path,
            authenticated: true,
        },
        handler: on(filter, handler),
    }
}

/// The one table of routes: the router is built from it, and [`routes`] lists it.
fn table() -> Vec<Route> {
    let mut openapi = route(Method::GET, "/api/openapi.json", openapi);
    openapi.info.authenticated = false;
    vec![
        // Devices, actions, commands.
        route(Method::GET, "/admin/devices", list_devices),
        route(Method::GET, "/admin/devices/{id}", show_device),
        route(Method::GET, "/admin/devices/{id}/queue", show_queue),
        route(
            Method::POST,
            "/admin/devices/{id}/actions/{action}",
            run_action,
        ),
        route(
            Method::POST,
            "/admin/devices/{id}/commands",
            enqueue_command,
        ),
        route(Method::POST, "/admin/devices/{id}/push", push_device),
        route(Method::GET, "/admin/commands/{uuid}", show_command),
        // Push certificates.
        route(Method::GET, "/admin/push-certificates", list_push_certs),
        route(Method::POST, "/admin/push-certificates", install_push_cert),
        route(Method::POST, "/admin/push-certificates/csr", create_csr),
        route(
            Method::POST,
            "/admin/push-certificates/vendor-signed-request",
            create_signed_request,
        ),
        route(
            Method::GET,
            "/admin/push-certificates/mismatched-enrollments",
            list_mismatched,
        ),
        route(
            Method::PATCH,
            "/admin/push-certificates/{topic}",
            edit_push_cert,
        ),
        route(
            Method::DELETE,
            "/admin/push-certificates/{topic}",
            delete_push_cert,
        ),
        route(
            Method::GET,
            "/admin/push-certificates/{topic}/history",
            push_cert_history,
        ),
        route(
            Method::GET,
            "/admin/deleted-push-certificates",
            list_deleted,
        ),
        route(
            Method::PATCH,
            "/admin/deleted-push-certificates/{topic}",
            edit_deleted,
        ),
        route(Method::GET, "/admin/expiry", expiry_dashboard),
        // Enrollment links and invitations.
        route(Method::GET, "/admin/enrollment-links", list_links),
        route(Method::POST, "/admin/enrollment-links", create_link),
        route(Method::DELETE, "/admin/enrollment-links/{id}", revoke_link),
        route(Method::GET, "/admin/invitations", list_invitations),
        route(Method::POST, "/admin/invitations", invite),
        route(
            Method::POST,
            "/admin/invitations/{id}/resend",
            resend_invitation,
        ),
        route(Method::DELETE, "/admin/invitations/{id}", revoke_invitation),
        // Portal users and their certificates.
        route(Method::GET, "/admin/portal-users", list_portal_users),
        route(Method::POST, "/admin/portal-users", add_portal_user),
        route(Method::GET, "/admin/portal-users/{user}", show_portal_user),
        route(
            Method::GET,
            "/admin/portal-users/{user}/certificates",
            list_user_certs,
        ),
        route(
            Method::POST,
            "/admin/portal-users/{user}/certificates",
            add_user_cert,
        ),
        route(Method::GET, "/admin/certificate-kinds", list_cert_kinds),
        route(Method::POST, "/admin/certificate-kinds", add_cert_kind),
        route(Method::GET, "/admin/certificates/{id}", show_user_cert),
        route(Method::PATCH, "/admin/certificates/{id}", rename_user_cert),
        route(Method::DELETE, "/admin/certificates/{id}", delete_user_cert),
        route(
            Method::POST,
            "/admin/certificates/{id}/clear-private-key",
            clear_user_cert_key,
        ),
        // Privacy.
        route(Method::GET, "/admin/privacy", show_privacy),
        route(Method::PATCH, "/admin/privacy", set_privacy),
        route(Method::DELETE, "/admin/privacy", clear_privacy),
        // Settings.
        route(Method::GET, "/admin/settings", list_settings),
        route(Method::PUT, "/admin/settings/{name}", set_setting),
        route(Method::DELETE, "/admin/settings/{name}", unset_setting),
        openapi,
    ]
}

/// Every route of the admin API (the table the router is built from).
pub fn routes() -> Vec<RouteInfo> {
    table().into_iter().map(|route| route.info).collect()
}

/// The admin JSON API accepting any of `keys`; the audit log names the key used.
pub fn router(mdm: &Mdm, keys: Vec<ApiKey>) -> Router {
    let state = Api {
        mdm: mdm.clone(),
        keys: Arc::new(keys),
    };
    let (authenticated, public): (Vec<Route>, Vec<Route>) = table()
        .into_iter()
        .partition(|route| route.info.authenticated);
    let mut router = Router::new();
    for route in authenticated {
        router = router.route(route.info.path, route.handler);
    }
    // Runs before any extractor: no path is decoded and no body read for a caller without
    // a key.
    router = router.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        require_key,
    ));
    for route in public {
        router = router.route(route.info.path, route.handler);
    }
    router
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The HTTP status of an error code: 404 for what does not exist, 409 for what the
/// current state forbids, 401, 413, 429, 502 when a server the deployment relies on
/// (SMTP, APNs) failed, 500 for the store's own failures, 400 for everything else (the
/// request is wrong).
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "unauthorized" => StatusCode::UNAUTHORIZED,
        "not_found"
        | "topic_not_found"
        | "unknown_kind"
        | "unknown_certificate"
        | "device_not_found" => StatusCode::NOT_FOUND,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "body_too_large" | "p12_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "store_conflict"
        | "command_not_supported"
        | "unlock_token_missing"
        | "identity_certificate_missing"
        | "key_not_supported"
        | "enrollment_disabled"
        | "topic_mismatch"
        | "kind_exists"
        | "key_cleared"
        | "key_mismatch"
        | "setting_missing" => StatusCode::CONFLICT,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "smtp" | "notify_failed" | "connection_failure" | "tls_failure" | "http2_failure" => {
            StatusCode::BAD_GATEWAY
        }
        "store_backend" | "store_crypto" | "store_key_mismatch" | "plist_encode" | "crypto"
        | "io_failure" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = status_of(code);
        if status.is_server_error() {
            tracing::error!(code, error = %self, "admin API request failed");
        } else {
            tracing::info!(code, error = %self, "admin API request refused");
        }
        let body = json!({"error": {"code": code, "message": self.to_string()}});
        (status, Json(body)).into_response()
    }
}

impl From<PathRejection> for Error {
    fn from(rejection: PathRejection) -> Self {
        Error::PathInvalid(rejection.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::QueryInvalid(rejection.body_text())
    }
}

impl From<mdmkit_core::Error> for Error {
    fn from(error: mdmkit_core::Error) -> Self {
        Error::Service(error.into())
    }
}

type ApiResult = Result<Json<JsonValue>, Error>;

fn to_json(value: impl Serialize) -> ApiResult {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| json_error("answer", e.to_string()))
}

async fn not_found() -> Error {
    Error::RouteNotFound
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// The key's name when the request carries one of the keys.
fn caller(api: &Api, headers: &HeaderMap) -> Option<String> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let mut found = None;
    // Every key is compared (in constant time each), so timing does not tell which key
    // matched or how many there are before it.
    for key in api.keys.iter() {
        let expected = key.key.expose();
        if presented.len() == expected.len() && openssl::memcmp::eq(presented.as_bytes(), expected)
        {
            found = Some(key.name.clone());
        }
    }
    found
}

async fn require_key(State(api): State<Api>, mut request: Request, next: Next) -> Response {
    match caller(&api, request.headers()) {
        Some(name) => {
            request
                .extensions_mut()
                .insert(Caller(format!("api-key:{name}")));
            next.run(request).await
        }
        None => {
            tracing::warn!(
                path = %request.uri().path(),
                "admin API request refused: no valid API key"
            );
            Error::Unauthorized.into_response()
        }
    }
}

/// The body, at most [`BODY_LIMIT`] bytes (read only after the key was checked).
async fn read_body(body: Body) -> Result<Bytes, Error> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| Error::BodyTooLarge { limit: BODY_LIMIT })
}

/// A strict JSON body: unknown or duplicate keys and wrong types are `json_invalid`; an
/// empty body is `{}`.
async fn json_body<T: DeserializeOwned>(body: Body) -> Result<T, Error> {
    let bytes = read_body(body).await?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes).map_err(|e| json_error("body", e.to_string()))
}

fn json_error(path: &str, message: impl Into<String>) -> Error {
    Error::from(mdmkit_core::Error::Json {
        path: path.to_owned(),
        message: message.into(),
    })
}

/// `?after=&limit=`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    after: Option<String>,
    limit: Option<u32>,
}

impl PageQuery {
    fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }
}

type PageParams = Result<Query<PageQuery>, QueryRejection>;

/// `?after=&limit=&user=` (the lists that can be of one portal user).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPageQuery {
    after: Option<String>,
    limit: Option<u32>,
    user: Option<String>,
}

impl UserPageQuery {
    fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }
}

type UserPageParams = Result<Query<UserPageQuery>, QueryRejection>;

fn page_json<T: Serialize>(page: Page<T>) -> ApiResult {
    to_json(json!({"items": page.items, "next": page.next}))
}

// Devices.

async fn list_devices(Acting(api): Acting, query: UserPageParams) -> ApiResult {
    let Query(q) = query?;
    let page = api
        .mdm
        .devices()
        .list(q.user.as_deref(), q.after.as_deref(), q.limit())
        .await?;
    to_json(json!({"items": page.devices, "next": page.next}))
}

async fn show_device(Acting(api): Acting, path: Result<Path<String>, PathRejection>) -> ApiResult {
    let Path(id) = path?;
    to_json(api.mdm.devices().get(&id).await?)
}

async fn show_queue(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> ApiResult {
    let Path(id) = path?;
    let Query(q) = query?;
    page_json(
        api.mdm
            .devices()
            .queue_page(&id, q.after.as_deref(), q.limit())
            .await?,
    )
}

async fn show_command(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> ApiResult {
    let Path(uuid) = path?;
    let Query(q) = query?;
    page_json(
        api.mdm
            .devices()
            .command_status_page(&uuid, q.after.as_deref(), q.limit())
            .await?,
    )
}

async fn action(api: &Api, caller: &Caller, id: &str, name: &str, body: Body) -> ApiResult {
    let body = read_body(body).await?;
    to_json(api.mdm.devices().action(&caller.0, id, name, &body).await?)
}

async fn run_action(
    Acting(api): Acting,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path((id, name)) = path?;
    if name == "command" {
        // A raw command has its own route.
        return Err(mdmkit_core::Error::NotFound {
            kind: "action",
            id: name,
        }
        .into());
    }
    action(&api, &caller, &id, &name, body).await
}

async fn enqueue_command(
    Acting(api): Acting,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(id) = path?;
    action(&api, &caller, &id, "command", body).await
}

async fn push_device(
    Acting(api): Acting,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(id) = path?;
    action(&api, &caller, &id, "check-in-now", body).await
}

// Push certificates.

async fn list_push_certs(Acting(api): Acting, query: PageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .push_certs()
            .status_page(q.after.as_deref(), q.limit())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsrBody {
    email: String,
    common_name: Option<String>,
}

async fn create_csr(Acting(api): Acting, body: Body) -> ApiResult {
    let body: CsrBody = json_body(body).await?;
    let pem = api
        .mdm
        .push_certs()
        .create_request(&body.email, body.common_name.as_deref())
        .await?;
    to_json(json!({"csr_pem": pem}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedRequestBody {
    email: String,
    common_name: Option<String>,
    vendor_certificate_pem: String,
    vendor_key_pem: String,
    vendor_key_password: Option<String>,
    wwdr_certificate_pem: String,
    apple_root_certificate_pem: String,
}

async fn create_signed_request(Acting(api): Acting, body: Body) -> ApiResult {
    let body: SignedRequestBody = json_body(body).await?;
    let mut vendor = VendorInput::default();
    vendor.certificate = body.vendor_certificate_pem.into_bytes();
    vendor.key = body.vendor_key_pem.into_bytes();
    vendor.key_password = body.vendor_key_password;
    vendor.wwdr_certificate = body.wwdr_certificate_pem.into_bytes();
    vendor.apple_root_certificate = body.apple_root_certificate_pem.into_bytes();
    let request = api
        .mdm
        .push_certs()
        .create_signed_request(&body.email, body.common_name.as_deref(), &vendor)
        .await?;
    to_json(json!({"request_base64": request}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallBody {
    /// The certificate file: PEM text, or base64 of DER or PKCS#12.
    certificate: String,
    password: Option<String>,
    apple_id: String,
    note: Option<String>,
    key_pem: Option<String>,
}

async fn install_push_cert(Acting(api): Acting, body: Body) -> ApiResult {
    let body: InstallBody = json_body(body).await?;
    let certificate = if body.certificate.trim_start().starts_with("-----BEGIN") {
        body.certificate.into_bytes()
    } else {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(body.certificate.trim())
            .map_err(|_| json_error("certificate", "neither PEM text nor base64"))?
    };
    let mut input = InstallInput::new(certificate, body.apple_id);
    input.password = body.password;
    input.note = body.note;
    input.key_pem = body.key_pem.map(String::into_bytes);
    to_json(api.mdm.push_certs().install(input).await?)
}

async fn list_mismatched(Acting(api): Acting, query: PageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .push_certs()
            .mismatched_page(q.after.as_deref(), q.limit())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    apple_id: Option<String>,
    note: Option<String>,
}

async fn edit_push_cert(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(topic) = path?;
    let body: EditBody = json_body(body).await?;
    to_json(
        api.mdm
            .push_certs()
            .edit(&topic, body.apple_id, body.note)
            .await?,
    )
}

async fn delete_push_cert(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(topic) = path?;
    let note = api.mdm.push_certs().delete(&topic).await?;
    to_json(json!({"topic": topic, "deleted": true, "note": note}))
}

async fn push_cert_history(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> ApiResult {
    let Path(topic) = path?;
    let Query(q) = query?;
    page_json(
        api.mdm
            .push_certs()
            .history_page(&topic, q.after.as_deref(), q.limit())
            .await?,
    )
}

async fn list_deleted(Acting(api): Acting, query: PageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .push_certs()
            .deleted_page(q.after.as_deref(), q.limit())
            .await?,
    )
}

async fn edit_deleted(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(topic) = path?;
    let body: EditBody = json_body(body).await?;
    to_json(
        api.mdm
            .push_certs()
            .edit_deleted(&topic, body.apple_id, body.note)
            .await?,
    )
}

async fn expiry_dashboard(Acting(api): Acting, query: PageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .expiry()
            .dashboard_page(q.after.as_deref(), q.limit())
            .await?,
    )
}

// Enrollment links and invitations.

fn ttl(hours: Option<u64>) -> Duration {
    Duration::from_secs(hours.unwrap_or(DEFAULT_TTL_HOURS).saturating_mul(3600))
}

async fn list_links(Acting(api): Acting, query: UserPageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .enrollment()
            .links_page(q.user.as_deref(), q.after.as_deref(), q.limit())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    user_id: String,
    ttl_hours: Option<u64>,
}

async fn create_link(Acting(api): Acting, body: Body) -> ApiResult {
    let body: LinkBody = json_body(body).await?;
    to_json(
        api.mdm
            .enrollment()
            .create_link(&body.user_id, ttl(body.ttl_hours))
            .await?,
    )
}

async fn revoke_link(Acting(api): Acting, path: Result<Path<String>, PathRejection>) -> ApiResult {
    let Path(id) = path?;
    api.mdm.enrollment().revoke_link(&id).await?;
    to_json(json!({"id": id, "revoked": true}))
}

async fn list_invitations(Acting(api): Acting, query: UserPageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .enrollment()
            .invitations_page(q.user.as_deref(), q.after.as_deref(), q.limit())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    user_id: String,
    email: String,
    ttl_hours: Option<u64>,
}

fn invitation_json(report: InvitationReport) -> ApiResult {
    to_json(json!({
        "invitation": InvitationEntry::from(report.invitation),
        "portal_link": report.portal_link,
        "registration_link": report.registration_link,
        "sent": report.sent,
    }))
}

async fn invite(Acting(api): Acting, body: Body) -> ApiResult {
    let body: InviteBody = json_body(body).await?;
    invitation_json(
        api.mdm
            .enrollment()
            .invite(&body.user_id, &body.email, ttl(body.ttl_hours))
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResendBody {
    ttl_hours: Option<u64>,
}

async fn resend_invitation(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(id) = path?;
    let body: ResendBody = json_body(body).await?;
    invitation_json(
        api.mdm
            .enrollment()
            .resend_invitation(&id, ttl(body.ttl_hours))
            .await?,
    )
}

async fn revoke_invitation(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = path?;
    if !api.mdm.enrollment().revoke_invitation(&id).await? {
        return Err(mdmkit_core::Error::NotFound {
            kind: "invitation",
            id,
        }
        .into());
    }
    to_json(json!({"id": id, "revoked": true}))
}

// Portal users and their certificates.

async fn list_portal_users(Acting(api): Acting, query: PageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .portal_users()
            .list(q.after.as_deref(), q.limit())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortalUserBody {
    id: String,
    email: String,
    name: Option<String>,
}

async fn add_portal_user(Acting(api): Acting, body: Body) -> ApiResult {
    let body: PortalUserBody = json_body(body).await?;
    to_json(
        api.mdm
            .portal_users()
            .add(&body.id, &body.email, body.name.as_deref())
            .await?,
    )
}

async fn show_portal_user(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(user) = path?;
    to_json(api.mdm.portal_users().get(&user).await?)
}

async fn list_user_certs(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> ApiResult {
    let Path(user) = path?;
    let Query(q) = query?;
    page_json(
        api.mdm
            .user_certs()
            .list_page(&user, q.after.as_deref(), q.limit())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserCertBody {
    kind: String,
    /// The PKCS#12 file, base64.
    pkcs12: String,
    password: String,
    name: Option<String>,
}

async fn add_user_cert(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(user) = path?;
    let body: UserCertBody = json_body(body).await?;
    use base64::Engine as _;
    let pkcs12 = base64::engine::general_purpose::STANDARD
        .decode(body.pkcs12.trim())
        .map_err(|_| json_error("pkcs12", "not base64"))?;
    to_json(
        api.mdm
            .user_certs()
            .add(
                &user,
                &body.kind,
                pkcs12,
                &body.password,
                body.name.as_deref(),
            )
            .await?,
    )
}

async fn list_cert_kinds(Acting(api): Acting, query: PageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .user_certs()
            .kinds_page(q.after.as_deref(), q.limit())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertKindBody {
    name: String,
    usage: String,
}

async fn add_cert_kind(Acting(api): Acting, body: Body) -> ApiResult {
    let body: CertKindBody = json_body(body).await?;
    to_json(
        api.mdm
            .user_certs()
            .add_kind(&body.name, &body.usage)
            .await?,
    )
}

async fn show_user_cert(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = path?;
    to_json(api.mdm.user_certs().get(&id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    name: String,
}

async fn rename_user_cert(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(id) = path?;
    let body: RenameBody = json_body(body).await?;
    to_json(api.mdm.user_certs().edit(&id, &body.name).await?)
}

async fn clear_user_cert_key(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = path?;
    to_json(api.mdm.user_certs().clear_private_key(&id).await?)
}

async fn delete_user_cert(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = path?;
    if !api.mdm.user_certs().delete(&id).await? {
        return Err(mdmkit_core::Error::NotFound {
            kind: "certificate",
            id,
        }
        .into());
    }
    to_json(json!({"id": id, "deleted": true}))
}

// Privacy.

/// `?user=` or `?device=` (neither: the server-wide settings).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivacyQuery {
    user: Option<String>,
    device: Option<String>,
}

type PrivacyParams = Result<Query<PrivacyQuery>, QueryRejection>;

async fn show_privacy(Acting(api): Acting, query: PrivacyParams) -> ApiResult {
    let Query(q) = query?;
    to_json(
        api.mdm
            .privacy()
            .show(q.user.as_deref(), q.device.as_deref())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivacyBody {
    location: Option<bool>,
    app_inventory: Option<bool>,
}

async fn set_privacy(Acting(api): Acting, query: PrivacyParams, body: Body) -> ApiResult {
    let Query(q) = query?;
    let body: PrivacyBody = json_body(body).await?;
    to_json(
        api.mdm
            .privacy()
            .set(
                q.user.as_deref(),
                q.device.as_deref(),
                body.location,
                body.app_inventory,
            )
            .await?,
    )
}

async fn clear_privacy(Acting(api): Acting, query: PrivacyParams) -> ApiResult {
    let Query(q) = query?;
    let removed = api
        .mdm
        .privacy()
        .clear(q.user.as_deref(), q.device.as_deref())
        .await?;
    to_json(json!({"removed": removed}))
}

// Settings.

async fn list_settings(Acting(api): Acting, query: PageParams) -> ApiResult {
    let Query(q) = query?;
    page_json(
        api.mdm
            .settings()
            .list_page(q.after.as_deref(), q.limit())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingBody {
    value: String,
}

async fn set_setting(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(name) = path?;
    let body: SettingBody = json_body(body).await?;
    api.mdm.settings().set(&name, &body.value).await?;
    to_json(json!({"name": name, "set": true}))
}

async fn unset_setting(
    Acting(api): Acting,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(name) = path?;
    let removed = api.mdm.settings().unset(&name).await?;
    to_json(json!({"name": name, "removed": removed}))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::{routes, OPENAPI_JSON};

    fn document() -> Value {
        serde_json::from_str(OPENAPI_JSON).expect("docs/openapi.json is JSON")
    }

    /// docs/openapi.json names exactly the routes of the table the router is built from.
    #[test]
    fn the_openapi_document_names_every_route_and_no_other() {
        let doc = document();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                documented.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        let routed: BTreeSet<(String, String)> = routes()
            .into_iter()
            .map(|route| (route.method.to_owned(), route.path.to_owned()))
            .collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from docs/openapi.json: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "docs/openapi.json names routes that do not exist: {unrouted:?}"
        );
        // The routes that need no key are the ones the document marks so.
        for route in routes() {
            let operation = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            let public = operation["security"] == serde_json::json!([]);
            assert_eq!(
                public, !route.authenticated,
                "{} {}",
                route.method, route.path
            );
        }
    }

    /// Every error code the document promises is a code the API can answer with.
    #[test]
    fn every_documented_error_code_exists() {
        let codes = crate::Error::all_codes();
        let doc = document();
        let mut seen = 0;
        for item in doc["paths"].as_object().expect("paths").values() {
            for operation in item.as_object().expect("a path item").values() {
                for code in operation["x-error-codes"].as_array().into_iter().flatten() {
                    let code = code.as_str().expect("a code is a string");
                    assert!(codes.contains(&code), "{code} is not an error code");
                    seen += 1;
                }
            }
        }
        assert!(seen > 50, "the document lists error codes");
    }

    /// The web layer's `CODES` lists exactly the codes its `code()` spells out.
    #[test]
    fn codes_lists_every_code_of_code_fn() {
        let source = include_str!("lib.rs");
        let start = source.find("pub fn code(&self)").expect("code()");
        let body = &source[start..start + source[start..].find("\n    }\n").expect("end")];
        let mut spelled: Vec<&str> = body
            .split("=> \"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').expect("quote")])
            .collect();
        spelled.sort_unstable();
        let mut listed = crate::Error::CODES.to_vec();
        listed.sort_unstable();
        assert_eq!(listed, spelled);
    }

    /// Every code maps to a status, and only the deployment's own failures are 5xx.
    #[test]
    fn statuses_of_codes() {
        use axum::http::StatusCode;
        assert_eq!(super::status_of("not_found"), StatusCode::NOT_FOUND);
        assert_eq!(super::status_of("json_invalid"), StatusCode::BAD_REQUEST);
        assert_eq!(super::status_of("unauthorized"), StatusCode::UNAUTHORIZED);
        assert_eq!(
            super::status_of("command_not_supported"),
            StatusCode::CONFLICT
        );
        for code in crate::Error::all_codes() {
            let status = super::status_of(code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code}"
            );
        }
    }
}
