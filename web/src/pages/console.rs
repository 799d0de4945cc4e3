//! The administrators' console (`/console`): dashboard, the Apple Push certificate, users
//! and invitations, devices. Administrators sign in with their own accounts.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::header::{self, HeaderMap};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use mdmkit_service::push_certs::{ExpiryStatus, InstallInput};
use mdmkit_service::{DeviceCounts, OtherCredentials};
use serde::Deserialize;

use super::security::{csrf_ok, csrf_token, read_cookie, set_cookie};
use super::{
    day, field, html, i18n, message, pre_session, read_upload, see_other, when, with_cookie,
    Chrome, Fields, LangQuery, Site, Web, MAX_UPLOAD_BYTES,
};

const SITE: Site = Site::Console;

/// How long an invitation made from the console stays valid by default, in days.
const DEFAULT_INVITATION_DAYS: i64 = 7;

pub(super) fn router() -> Router<Web> {
    Router::new()
        .route("/console", get(|| async { see_other("/console/") }))
        .route("/console/", get(dashboard))
        .route("/console/signin", get(signin_page).post(signin))
        .route("/console/signout", post(signout))
        .route("/console/lang", get(language))
        .route("/console/push", get(push_page))
        .route("/console/push/csr", post(push_csr))
        .route(
            "/console/push/upload",
            post(push_upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/console/push/edit", post(push_edit))
        .route(
            "/console/push/delete",
            get(push_delete_page).post(push_delete),
        )
        .route("/console/users", get(users_page))
        .route("/console/users/invite", post(invite))
        .route("/console/users/resend", post(invite))
        .route("/console/users/revoke", post(revoke))
        .route("/console/devices", get(devices_page))
        .route("/console/devices/{id}", get(device_page))
        .route("/console/devices/{id}/action", post(device_action))
        .route("/console/settings", get(settings_page))
        .route("/console/settings/privacy", post(privacy_update))
        .route("/console/settings/kinds", post(kind_add))
        .route("/console/audit", get(audit_page))
}

/// A signed-in administrator: the session token (the cookie's value), who, and the
/// deployment acting as them (the audit log names the administrator's id, `adm_…`).
struct Admin {
    token: String,
    id: String,
    mdm: mdmkit_service::Mdm,
}

/// The administrator of the request's session cookie, when it is a live session.
async fn admin(web: &Web, headers: &HeaderMap) -> Option<Admin> {
    let token = read_cookie(headers, SITE.session_cookie())?;
    let session = web.mdm.admins().session(&token).await.ok()?;
    Some(Admin {
        token,
        mdm: web.mdm.acting_as(session.admin_id.clone()),
        id: session.admin_id,
    })
}

const NAV: &[(&str, &str)] = &[
    ("/console/", "dashboard"),
    ("/console/push", "push_certificate"),
    ("/console/users", "users"),
    ("/console/devices", "devices"),
    ("/console/settings", "settings"),
    ("/console/audit", "audit_log"),
];

fn chrome(headers: &HeaderMap, admin: Option<&Admin>, title: &'static str, uri: &Uri) -> Chrome {
    Chrome {
        cat: i18n::choose(headers),
        site: SITE,
        title,
        brand: String::new(),
        has_logo: false,
        csrf: admin.map(|a| csrf_token(&a.token)).unwrap_or_default(),
        signed_in: admin.is_some(),
        nav: if admin.is_some() {
            NAV.to_vec()
        } else {
            Vec::new()
        },
        path: uri.path().to_owned(),
        refresh: false,
    }
}

/// The administrator, or the response to send instead (to the sign-in page).
macro_rules! signed_in {
    ($web:expr, $headers:expr) => {
        match admin(&$web, &$headers).await {
            Some(admin) => admin,
            None => return see_other("/console/signin"),
        }
    };
}

/// Refuses (403, nothing done) a form whose CSRF token is not the session's.
macro_rules! check_csrf {
    ($admin:expr, $fields:expr, $headers:expr, $uri:expr) => {
        if !csrf_ok(&$admin.token, $fields.get("_csrf").map(String::as_str)) {
            tracing::warn!("console: a form without its CSRF token was refused");
            return message(
                StatusCode::FORBIDDEN,
                chrome(&$headers, Some(&$admin), "refused", &$uri),
                "refused",
                "csrf_refused",
                None,
            );
        }
    };
}

async fn language(State(web): State<Web>, Query(query): Query<LangQuery>) -> Response {
    super::switch_language(SITE, &web, query).await
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    c: Chrome,
    email: String,
    error: Option<&'static str>,
}

async fn signin_page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    if admin(&web, &headers).await.is_some() {
        return see_other("/console/");
    }
    let (pre, cookie) = pre_session(&headers, SITE, web.secure);
    let mut c = chrome(&headers, None, "console_sign_in", &uri);
    c.csrf = csrf_token(&pre);
    let page = SignInPage {
        c,
        email: String::new(),
        error: None,
    };
    with_cookie(html(StatusCode::OK, &page), cookie)
}

async fn signin(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let (pre, cookie) = pre_session(&headers, SITE, web.secure);
    let mut c = chrome(&headers, None, "console_sign_in", &uri);
    if cookie.is_some() || !csrf_ok(&pre, fields.get("_csrf").map(String::as_str)) {
        return with_cookie(
            message(StatusCode::FORBIDDEN, c, "refused", "csrf_refused", None),
            cookie,
        );
    }
    let email = field(&fields, "email").unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    match web.mdm.admins().sign_in(&email, &password).await {
        Ok(signed_in) => {
            let token = signed_in.token;
            let mut response = see_other("/console/");
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SITE.session_cookie(), &token, SITE.base(), web.secure, None),
            );
            response
        }
        Err(error) => {
            tracing::info!(code = error.code(), "console sign-in refused");
            c.csrf = csrf_token(&pre);
            let page = SignInPage {
                c,
                email,
                error: Some(sign_in_error(error.code())),
            };
            html(StatusCode::UNAUTHORIZED, &page)
        }
    }
}

/// The words of a refused sign-in (the same for an unknown account and a wrong password).
pub(super) fn sign_in_error(code: &str) -> &'static str {
    match code {
        "rate_limited" => "sign_in_locked",
        _ => "sign_in_failed",
    }
}

async fn signout(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    if let Err(error) = admin.mdm.admins().sign_out(&admin.token).await {
        tracing::warn!(code = error.code(), "console sign-out failed");
    }
    let mut response = see_other("/console/signin");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SITE.session_cookie(), "", SITE.base(), web.secure, Some(0)),
    );
    response
}

/// A credential on the dashboard.
struct CredentialView {
    kind: &'static str,
    name: String,
    not_after: String,
    days: i64,
    renew_now: bool,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    credentials: Vec<CredentialView>,
    counts: DeviceCounts,
}

async fn dashboard(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "dashboard", &uri);
    match dashboard_data(&web).await {
        Ok((credentials, counts)) => html(
            StatusCode::OK,
            &DashboardPage {
                c,
                credentials,
                counts,
            },
        ),
        Err(error) => failure(c, error),
    }
}

/// The dashboard's data: the credentials with their expiry and the device counts.
async fn dashboard_data(web: &Web) -> mdmkit_service::Result<(Vec<CredentialView>, DeviceCounts)> {
    let entries = web
        .mdm
        .expiry()
        .dashboard(&OtherCredentials::default())
        .await?;
    let counts = web.mdm.devices().counts().await?;
    let credentials = entries
        .into_iter()
        .map(|entry| CredentialView {
            kind: match entry.kind.as_str() {
                "push_certificate" => "push_certificate",
                "vendor_certificate" => "vendor_certificate",
                "dep_server_token" => "dep_server_token",
                _ => "credential",
            },
            name: entry.name,
            not_after: day(&entry.not_after),
            days: entry.days_remaining,
            renew_now: entry.renew_now,
        })
        .collect();
    Ok((credentials, counts))
}

/// A service error as a page (its code in the log, its words on the page).
fn failure(c: Chrome, error: mdmkit_service::Error) -> Response {
    if error.code() == "not_found" || error.code() == "device_not_found" {
        return message(
            StatusCode::NOT_FOUND,
            c,
            "not_found",
            "not_found_text",
            None,
        );
    }
    tracing::error!(code = error.code(), "console page failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        c,
        "error",
        "error_text",
        Some(error.to_string()),
    )
}

/// A registered push certificate as the page shows it.
struct CertView {
    topic: String,
    serial: String,
    not_after: String,
    days: i64,
    renew_now: bool,
    apple_id: String,
    note: String,
}

#[derive(Template)]
#[template(path = "console/push.html")]
struct PushPage {
    c: Chrome,
    certs: Vec<CertView>,
    error: Option<String>,
    done: Option<String>,
    synchronised: Vec<String>,
}

async fn push_view(
    web: &Web,
    c: Chrome,
    status: StatusCode,
    error: Option<String>,
    done: Option<String>,
    synchronised: Vec<String>,
) -> Response {
    let certs = match web.mdm.push_certs().status().await {
        Ok(certs) => certs,
        Err(error) => return failure(c, error),
    };
    let certs = certs
        .into_iter()
        .map(|cert| CertView {
            topic: cert.topic,
            serial: cert.serial,
            not_after: when(&cert.not_after),
            days: cert.days_remaining,
            renew_now: cert.status != ExpiryStatus::Valid,
            apple_id: cert.apple_id.unwrap_or_default(),
            note: cert.note.unwrap_or_default(),
        })
        .collect();
    html(
        status,
        &PushPage {
            c,
            certs,
            error,
            done,
            synchronised,
        },
    )
}

async fn push_page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "push_certificate", &uri);
    push_view(&web, c, StatusCode::OK, None, None, Vec::new()).await
}

/// Downloads a new certificate request (its key stays in the store, sealed).
async fn push_csr(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    let c = chrome(&headers, Some(&admin), "push_certificate", &uri);
    let email = field(&fields, "email").unwrap_or_default();
    match admin.mdm.push_certs().create_request(&email, None).await {
        Ok(pem) => (
            [
                (header::CONTENT_TYPE, "application/pkcs10"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"mdm-push.csr\"",
                ),
            ],
            pem,
        )
            .into_response(),
        Err(error) => {
            let text = error.to_string();
            push_view(
                &web,
                c,
                StatusCode::BAD_REQUEST,
                Some(text),
                None,
                Vec::new(),
            )
            .await
        }
    }
}

async fn push_upload(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    multipart: Multipart,
) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "push_certificate", &uri);
    let Ok(upload) = read_upload(multipart).await else {
        let text = c.t("upload_too_large").to_owned();
        return push_view(
            &web,
            c,
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(text),
            None,
            Vec::new(),
        )
        .await;
    };
    check_csrf!(admin, upload.fields, headers, uri);
    let Some(file) = upload.file else {
        let text = c.t("no_file").to_owned();
        return push_view(
            &web,
            c,
            StatusCode::BAD_REQUEST,
            Some(text),
            None,
            Vec::new(),
        )
        .await;
    };
    let mut input = InstallInput::new(file, field(&upload.fields, "apple_id").unwrap_or_default());
    input.note = field(&upload.fields, "note");
    match admin.mdm.push_certs().install(input).await {
        Ok(report) => {
            let done = c.tr("push_installed", &report.topic);
            push_view(
                &web,
                c,
                StatusCode::OK,
                None,
                Some(done),
                report.synchronised,
            )
            .await
        }
        Err(error) => {
            tracing::info!(code = error.code(), "push certificate refused");
            let text = error.to_string();
            push_view(
                &web,
                c,
                StatusCode::BAD_REQUEST,
                Some(text),
                None,
                Vec::new(),
            )
            .await
        }
    }
}

async fn push_edit(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    let c = chrome(&headers, Some(&admin), "push_certificate", &uri);
    let topic = field(&fields, "topic").unwrap_or_default();
    let edited = admin
        .mdm
        .push_certs()
        .edit(&topic, field(&fields, "apple_id"), field(&fields, "note"))
        .await;
    match edited {
        Ok(_) => {
            let done = c.t("saved").to_owned();
            push_view(&web, c, StatusCode::OK, None, Some(done), Vec::new()).await
        }
        Err(error) => {
            let text = error.to_string();
            push_view(
                &web,
                c,
                StatusCode::BAD_REQUEST,
                Some(text),
                None,
                Vec::new(),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "console/push_delete.html")]
struct PushDeletePage {
    c: Chrome,
    topic: String,
}

#[derive(Deserialize)]
struct TopicQuery {
    topic: Option<String>,
}

async fn push_delete_page(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<TopicQuery>,
) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "delete_push_title", &uri);
    let page = PushDeletePage {
        c,
        topic: query.topic.unwrap_or_default(),
    };
    html(StatusCode::OK, &page)
}

async fn push_delete(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    let c = chrome(&headers, Some(&admin), "push_certificate", &uri);
    let topic = field(&fields, "topic").unwrap_or_default();
    match admin.mdm.push_certs().delete(&topic).await {
        Ok(_) => {
            let done = c.tr("push_deleted", &topic);
            push_view(&web, c, StatusCode::OK, None, Some(done), Vec::new()).await
        }
        Err(error) => {
            let text = error.to_string();
            push_view(
                &web,
                c,
                StatusCode::BAD_REQUEST,
                Some(text),
                None,
                Vec::new(),
            )
            .await
        }
    }
}

/// An invitation as the page lists it.
struct InvitationView {
    id: String,
    user_id: String,
    email: String,
    created_at: String,
    expires_at: String,
    state: &'static str,
}

/// A new invitation's links, shown once when no mail server is configured.
struct MadeView {
    email: String,
    sent: bool,
    portal_link: String,
    registration_link: String,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    c: Chrome,
    invitations: Vec<InvitationView>,
    made: Option<MadeView>,
    error: Option<String>,
}

async fn users_view(
    web: &Web,
    c: Chrome,
    status: StatusCode,
    made: Option<MadeView>,
    error: Option<String>,
) -> Response {
    let now = time::OffsetDateTime::now_utc();
    let invitations = match web.mdm.enrollment().invitations_list(None).await {
        Ok(list) => list,
        Err(error) => return failure(c, error),
    };
    let invitations = invitations
        .into_iter()
        .map(|inv| InvitationView {
            state: if inv.accepted_at.is_some() {
                "accepted"
            } else if inv.is_expired(now) {
                "expired"
            } else {
                "pending"
            },
            id: inv.id,
            user_id: inv.user_id,
            email: inv.email,
            created_at: when(&inv.created_at),
            expires_at: when(&inv.expires_at),
        })
        .collect();
    html(
        status,
        &UsersPage {
            c,
            invitations,
            made,
            error,
        },
    )
}

async fn users_page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "users", &uri);
    users_view(&web, c, StatusCode::OK, None, None).await
}

/// Invites a user (or sends a new invitation to one already invited: resend).
async fn invite(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    let c = chrome(&headers, Some(&admin), "users", &uri);
    let user = field(&fields, "user").unwrap_or_default();
    let email = field(&fields, "email").unwrap_or_default();
    let days = field(&fields, "days")
        .and_then(|days| days.parse::<i64>().ok())
        .unwrap_or(DEFAULT_INVITATION_DAYS)
        .clamp(1, 90);
    match admin
        .mdm
        .enrollment()
        .invite(
            &user,
            &email,
            std::time::Duration::from_secs(days as u64 * 86_400),
        )
        .await
    {
        Ok(report) => {
            let made = MadeView {
                email: report.invitation.email.clone(),
                sent: report.sent,
                portal_link: report.portal_link.clone(),
                registration_link: report.registration_link.clone(),
            };
            users_view(&web, c, StatusCode::OK, Some(made), None).await
        }
        Err(error) => {
            let text = error.to_string();
            users_view(&web, c, StatusCode::BAD_REQUEST, None, Some(text)).await
        }
    }
}

async fn revoke(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    let c = chrome(&headers, Some(&admin), "users", &uri);
    let id = field(&fields, "id").unwrap_or_default();
    match admin.mdm.enrollment().revoke_invitation(&id).await {
        Ok(_) => see_other("/console/users"),
        Err(error) => {
            let text = error.to_string();
            users_view(&web, c, StatusCode::BAD_REQUEST, None, Some(text)).await
        }
    }
}

/// A device as the console lists it.
struct DeviceView {
    id: String,
    owner: String,
    model: String,
    os: String,
    last_seen: String,
    state: &'static str,
}

impl From<mdmkit_service::Device> for DeviceView {
    fn from(device: mdmkit_service::Device) -> Self {
        Self {
            state: if !device.enabled {
                "device_disabled"
            } else if device.pushable {
                "device_pushable"
            } else {
                "device_enabled"
            },
            id: device.enrollment_id,
            owner: device.owner.unwrap_or_default(),
            model: device.product_name.or(device.model).unwrap_or_default(),
            os: device.os_version.unwrap_or_default(),
            last_seen: device.last_seen.as_ref().map(when).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/devices.html")]
struct DevicesPage {
    c: Chrome,
    devices: Vec<DeviceView>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct PageQuery {
    after: Option<String>,
}

async fn devices_page(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<PageQuery>,
) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "devices", &uri);
    match admin
        .mdm
        .devices()
        .list(None, query.after.as_deref(), 100)
        .await
    {
        Ok(page) => html(
            StatusCode::OK,
            &DevicesPage {
                c,
                devices: page.devices.into_iter().map(DeviceView::from).collect(),
                next: page.next,
            },
        ),
        Err(error) => failure(c, error),
    }
}

/// A command of a device, queued or answered.
struct QueueView {
    uuid: String,
    request_type: String,
    created_at: String,
    status: String,
}

/// A command's result on the device.
struct ResultView {
    uuid: String,
    state: &'static str,
    answer: String,
}

#[derive(Template)]
#[template(path = "console/device.html")]
struct DevicePage {
    c: Chrome,
    d: DeviceView,
    queue: Vec<QueueView>,
    results: Vec<ResultView>,
    actions: Vec<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct CommandQuery {
    cmd: Option<String>,
}

/// The state word of a command: queued, acknowledged, error, not now.
pub(super) fn command_state(status: Option<&str>, delivered: bool) -> &'static str {
    match status {
        Some("Acknowledged") => "acknowledged",
        Some("Error") | Some("CommandFormatError") => "failed",
        Some("NotNow") => "not_now",
        _ if delivered => "sent",
        _ => "queued",
    }
}

async fn device_view(
    web: &Web,
    c: Chrome,
    id: &str,
    command: Option<&str>,
    error: Option<String>,
) -> Response {
    let devices = web.mdm.devices();
    let device = match devices.get(id).await {
        Ok(device) => device,
        Err(error) => return failure(c, error),
    };
    let queue = match devices.queue(id).await {
        Ok(queue) => queue,
        Err(error) => return failure(c, error),
    };
    let mut results = Vec::new();
    if let Some(uuid) = command {
        if let Ok(entries) = devices.command_status(uuid).await {
            results = entries
                .into_iter()
                .filter(|entry| entry.enrollment_id == id)
                .map(|entry| ResultView {
                    state: command_state(entry.status.as_deref(), entry.delivered_at.is_some()),
                    uuid: entry.command_uuid,
                    answer: entry
                        .result
                        .map(|json| json.to_string())
                        .unwrap_or_default(),
                })
                .collect();
        }
    }
    let mut c = c;
    c.refresh = results
        .iter()
        .any(|r| r.state == "queued" || r.state == "sent");
    let queue = queue
        .into_iter()
        .map(|entry| QueueView {
            uuid: entry.command_uuid,
            request_type: entry.request_type,
            created_at: when(&entry.created_at),
            status: entry.status.unwrap_or_default(),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(
        status,
        &DevicePage {
            c,
            d: device.into(),
            queue,
            results,
            actions: mdmkit_service::Devices::action_names(),
            error,
        },
    )
}

async fn device_page(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Query<CommandQuery>,
) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "device", &uri);
    device_view(&web, c, &id, query.cmd.as_deref(), None).await
}

async fn device_action(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    let c = chrome(&headers, Some(&admin), "device", &uri);
    let action = field(&fields, "action").unwrap_or_default();
    let options = field(&fields, "options").unwrap_or_else(|| "{}".to_owned());
    match admin
        .mdm
        .devices()
        .action(&admin.id, &id, &action, options.as_bytes())
        .await
    {
        Ok(outcome) => {
            let target = match outcome.command_uuid {
                Some(uuid) => format!("/console/devices/{}?cmd={}", percent(&id), percent(&uuid)),
                None => format!("/console/devices/{}", percent(&id)),
            };
            see_other(&target)
        }
        Err(error) => {
            let text = error.to_string();
            device_view(&web, c, &id, None, Some(text)).await
        }
    }
}

/// A path segment, percent-encoded.
pub(super) fn percent(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    c: Chrome,
    allow_location: bool,
    allow_app_inventory: bool,
    /// (name, usage) of the certificate kinds.
    kinds: Vec<(String, String)>,
    error: Option<String>,
    done: Option<&'static str>,
}

async fn settings_view(
    web: &Web,
    c: Chrome,
    status: StatusCode,
    error: Option<String>,
    done: Option<&'static str>,
) -> Response {
    let (privacy, kinds) = match (
        web.mdm.privacy().show(None, None).await,
        web.mdm.user_certs().kinds().await,
    ) {
        (Ok(privacy), Ok(kinds)) => (privacy, kinds),
        (Err(error), _) | (_, Err(error)) => return failure(c, error),
    };
    html(
        status,
        &SettingsPage {
            c,
            allow_location: privacy.location.allowed,
            allow_app_inventory: privacy.app_inventory.allowed,
            kinds: kinds.into_iter().map(|k| (k.name, k.usage)).collect(),
            error,
            done,
        },
    )
}

async fn settings_page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "settings", &uri);
    settings_view(&web, c, StatusCode::OK, None, None).await
}

async fn privacy_update(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    let c = chrome(&headers, Some(&admin), "settings", &uri);
    let location = fields.get("location").map(String::as_str) == Some("on");
    let apps = fields.get("app_inventory").map(String::as_str) == Some("on");
    match admin
        .mdm
        .privacy()
        .set_as(&admin.id, None, None, Some(location), Some(apps))
        .await
    {
        Ok(_) => settings_view(&web, c, StatusCode::OK, None, Some("saved")).await,
        Err(error) => {
            let text = error.to_string();
            settings_view(&web, c, StatusCode::BAD_REQUEST, Some(text), None).await
        }
    }
}

async fn kind_add(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let admin = signed_in!(web, headers);
    check_csrf!(admin, fields, headers, uri);
    let c = chrome(&headers, Some(&admin), "settings", &uri);
    let name = field(&fields, "name").unwrap_or_default();
    let usage = field(&fields, "usage").unwrap_or_default();
    match admin.mdm.user_certs().add_kind(&name, &usage).await {
        Ok(_) => settings_view(&web, c, StatusCode::OK, None, Some("saved")).await,
        Err(error) => {
            let text = error.to_string();
            settings_view(&web, c, StatusCode::BAD_REQUEST, Some(text), None).await
        }
    }
}

/// An audit entry as the page lists it.
struct AuditView {
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    c: Chrome,
    entries: Vec<AuditView>,
    next: Option<i64>,
}

#[derive(Deserialize)]
struct AuditQueryParams {
    before: Option<i64>,
}

/// Entries per page of the audit log.
const AUDIT_PAGE: u32 = 100;

async fn audit_page(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<AuditQueryParams>,
) -> Response {
    let admin = signed_in!(web, headers);
    let c = chrome(&headers, Some(&admin), "audit_log", &uri);
    match admin.mdm.audit_log(query.before, AUDIT_PAGE).await {
        Ok(entries) => {
            let next = (entries.len() == AUDIT_PAGE as usize)
                .then(|| entries.last().map(|e| e.id))
                .flatten();
            let entries = entries
                .into_iter()
                .map(|e| AuditView {
                    at: when(&e.at),
                    actor: e.actor,
                    action: e.action,
                    target: e.target.unwrap_or_default(),
                    detail: e.detail.unwrap_or_default(),
                })
                .collect();
            html(StatusCode::OK, &AuditPage { c, entries, next })
        }
        Err(error) => failure(c, error),
    }
}
