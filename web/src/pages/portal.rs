//! The end users' self-service portal (`/portal`): sign in, accept an invitation, my
//! devices and their actions, my account, register another device; with the portal's
//! branding on every page.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use mdmkit_service::PortalSession;
use serde::Deserialize;

use super::console::{percent, sign_in_error};
use super::security::{csrf_ok, csrf_token, read_cookie, set_cookie, IMAGE_CSP};
use super::{
    field, html, i18n, message, pre_session, see_other, when, with_cookie, Chrome, Fields,
    LangQuery, Site, Web,
};

const SITE: Site = Site::Portal;

/// The cookie that holds an invitation's token between the link and the password form
/// (so the token leaves the address bar, the history and any Referer).
const INVITATION_COOKIE: &str = "mdmkit_invitation";

pub(super) fn router() -> Router<Web> {
    let router = Router::new()
        .route("/portal", get(home))
        .route("/portal/", get(home))
        .route("/portal/signin", get(signin_page).post(signin))
        .route("/portal/signout", post(signout))
        .route("/portal/lang", get(language))
        .route("/portal/logo", get(logo))
        .route("/portal/brand.css", get(brand_css))
        .route("/portal/accept", get(accept_page).post(accept))
        .route("/portal/devices", get(devices_page))
        .route("/portal/devices/{id}", get(device_page))
        .route(
            "/portal/devices/{id}/{action}",
            get(confirm_page).post(device_action),
        )
        .route("/portal/account", get(account_page).post(account_update))
        .route("/portal/account/password", post(password_change))
        .route("/portal/register", get(register_page));
    super::certificates::routes(router)
}

/// A signed-in portal user: the session token (the cookie's value) and the session.
pub(super) struct User {
    pub token: String,
    pub session: PortalSession,
}

/// The user of the request's session cookie, when it is a live session.
pub(super) async fn user(web: &Web, headers: &HeaderMap) -> Option<User> {
    let token = read_cookie(headers, SITE.session_cookie())?;
    let session = web.mdm.portal().session(&token).await.ok()?;
    Some(User { token, session })
}

const NAV: &[(&str, &str)] = &[
    ("/portal/devices", "my_devices"),
    ("/portal/certificates", "my_certificates"),
    ("/portal/register", "register_device"),
    ("/portal/account", "account"),
];

/// The frame of a portal page, with the branding.
pub(super) async fn chrome(
    web: &Web,
    headers: &HeaderMap,
    user: Option<&User>,
    title: &'static str,
    uri: &Uri,
) -> Chrome {
    let cat = i18n::choose(headers);
    let branding = web.mdm.portal().branding().await.ok().flatten();
    Chrome {
        cat,
        site: SITE,
        title,
        brand: branding
            .as_ref()
            .map(|b| b.name.clone())
            .unwrap_or_else(|| cat.get("portal_name").to_owned()),
        has_logo: branding.as_ref().is_some_and(|b| b.logo.is_some()),
        csrf: user.map(|u| csrf_token(&u.token)).unwrap_or_default(),
        signed_in: user.is_some(),
        nav: if user.is_some() {
            NAV.to_vec()
        } else {
            Vec::new()
        },
        path: uri.path().to_owned(),
        refresh: false,
    }
}

/// The user, or the response to send instead (to the sign-in page).
macro_rules! signed_in {
    ($web:expr, $headers:expr) => {
        match user(&$web, &$headers).await {
            Some(user) => user,
            None => return see_other("/portal/signin"),
        }
    };
}
pub(super) use signed_in;

/// Refuses (403, nothing done) a form whose CSRF token is not the session's.
macro_rules! check_csrf {
    ($web:expr, $user:expr, $fields:expr, $headers:expr, $uri:expr) => {
        if !csrf_ok(&$user.token, $fields.get("_csrf").map(String::as_str)) {
            tracing::warn!("portal: a form without its CSRF token was refused");
            let c = chrome(&$web, &$headers, Some(&$user), "refused", &$uri).await;
            return message(StatusCode::FORBIDDEN, c, "refused", "csrf_refused", None);
        }
    };
}
pub(super) use check_csrf;

async fn language(State(web): State<Web>, Query(query): Query<LangQuery>) -> Response {
    super::switch_language(SITE, &web, query).await
}

/// `GET /portal`: the invitation's link (`?token=…`, the portal URL the service sends), or
/// the start page (my devices, or sign in).
async fn home(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Some(token) = query.token.filter(|t| !t.is_empty()) {
        return keep_invitation(&web, &token);
    }
    match user(&web, &headers).await {
        Some(_) => see_other("/portal/devices"),
        None => see_other("/portal/signin"),
    }
}

/// `GET /portal/logo`: the branding's logo as an image of its own (never inlined), with a
/// policy that lets nothing in it run, and no sniffing.
async fn logo(State(web): State<Web>) -> Response {
    let branding = web.mdm.portal().branding().await.ok().flatten();
    let Some((bytes, content_type)) = branding.and_then(|b| Some((b.logo?, b.logo_content_type?)))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = match content_type.as_str() {
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        "image/svg+xml" => "image/svg+xml",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, IMAGE_CSP),
            (header::CONTENT_DISPOSITION, "inline; filename=\"logo\""),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        bytes,
    )
        .into_response()
}

/// A colour if it is `#RRGGBB`.
fn colour(value: Option<&str>) -> Option<&str> {
    value.filter(|v| {
        v.len() == 7 && v.starts_with('#') && v[1..].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// `GET /portal/brand.css`: the branding's colours as a stylesheet (no inline style).
async fn brand_css(State(web): State<Web>) -> Response {
    let branding = web.mdm.portal().branding().await.ok().flatten();
    let mut css = String::from(":root {");
    if let Some(branding) = &branding {
        if let Some(primary) = colour(branding.primary_colour.as_deref()) {
            css.push_str(&format!(" --primary: {primary};"));
        }
        if let Some(accent) = colour(branding.accent_colour.as_deref()) {
            css.push_str(&format!(" --accent: {accent};"));
        }
    }
    css.push_str(" }\n");
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        css,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    c: Chrome,
    email: String,
    error: Option<&'static str>,
}

async fn signin_page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    if user(&web, &headers).await.is_some() {
        return see_other("/portal/devices");
    }
    let (pre, cookie) = pre_session(&headers, SITE, web.secure);
    let mut c = chrome(&web, &headers, None, "sign_in", &uri).await;
    c.csrf = csrf_token(&pre);
    let page = SignInPage {
        c,
        email: String::new(),
        error: None,
    };
    with_cookie(html(StatusCode::OK, &page), cookie)
}

/// The response that starts a session: the cookie, then `to`.
fn start_session(web: &Web, token: &str, to: &str) -> Response {
    let mut response = see_other(to);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SITE.session_cookie(), token, SITE.base(), web.secure, None),
    );
    response
}

async fn signin(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let (pre, cookie) = pre_session(&headers, SITE, web.secure);
    let mut c = chrome(&web, &headers, None, "sign_in", &uri).await;
    if cookie.is_some() || !csrf_ok(&pre, fields.get("_csrf").map(String::as_str)) {
        return with_cookie(
            message(StatusCode::FORBIDDEN, c, "refused", "csrf_refused", None),
            cookie,
        );
    }
    let email = field(&fields, "email").unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    match web.mdm.portal().sign_in(&email, &password).await {
        Ok(signed_in) => start_session(&web, &signed_in.token, "/portal/devices"),
        Err(error) => {
            tracing::info!(code = error.code(), "portal sign-in refused");
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

async fn signout(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let user = signed_in!(web, headers);
    check_csrf!(web, user, fields, headers, uri);
    if let Err(error) = web.mdm.portal().sign_out(&user.token).await {
        tracing::warn!(code = error.code(), "portal sign-out failed");
    }
    let mut response = see_other("/portal/signin");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SITE.session_cookie(), "", SITE.base(), web.secure, Some(0)),
    );
    response
}

#[derive(Template)]
#[template(path = "portal/accept.html")]
struct AcceptPage {
    c: Chrome,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// `GET /portal/accept?token=…` (the invitation's link): keeps the token in a cookie and
/// comes back without it; `GET /portal/accept`: the first-password form.
async fn accept_page(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Some(token) = query.token.filter(|t| !t.is_empty()) {
        let token: String = token
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let mut response = see_other("/portal/accept");
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                INVITATION_COOKIE,
                &token,
                "/portal/accept",
                web.secure,
                Some(3600),
            ),
        );
        return response;
    }
    let (pre, cookie) = pre_session(&headers, SITE, web.secure);
    let mut c = chrome(&web, &headers, None, "accept_title", &uri).await;
    if read_cookie(&headers, INVITATION_COOKIE).is_none() {
        return message(
            StatusCode::GONE,
            c,
            "accept_title",
            "invitation_invalid",
            None,
        );
    }
    c.csrf = csrf_token(&pre);
    with_cookie(html(StatusCode::OK, &AcceptPage { c, error: None }), cookie)
}

/// Keeps an invitation's token in a cookie for the password form, and goes there: the
/// token leaves the address bar, the history and any Referer.
fn keep_invitation(web: &Web, token: &str) -> Response {
    let token: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let mut response = see_other("/portal/accept");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            INVITATION_COOKIE,
            &token,
            "/portal/accept",
            web.secure,
            Some(3600),
        ),
    );
    response
}

async fn accept(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let (pre, cookie) = pre_session(&headers, SITE, web.secure);
    let mut c = chrome(&web, &headers, None, "accept_title", &uri).await;
    if cookie.is_some() || !csrf_ok(&pre, fields.get("_csrf").map(String::as_str)) {
        return with_cookie(
            message(StatusCode::FORBIDDEN, c, "refused", "csrf_refused", None),
            cookie,
        );
    }
    let Some(token) = read_cookie(&headers, INVITATION_COOKIE) else {
        return message(
            StatusCode::GONE,
            c,
            "accept_title",
            "invitation_invalid",
            None,
        );
    };
    c.csrf = csrf_token(&pre);
    let password = fields.get("password").cloned().unwrap_or_default();
    if fields.get("confirm") != Some(&password) {
        let error = Some(c.t("passwords_differ").to_owned());
        return html(StatusCode::BAD_REQUEST, &AcceptPage { c, error });
    }
    match web.mdm.portal().accept_invitation(&token, &password).await {
        Ok(signed_in) => {
            let mut response = start_session(&web, &signed_in.token, "/portal/devices");
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(INVITATION_COOKIE, "", "/portal/accept", web.secure, Some(0)),
            );
            response
        }
        Err(error) if error.code() == "token_invalid" => message(
            StatusCode::GONE,
            c,
            "accept_title",
            "invitation_invalid",
            None,
        ),
        Err(error) => {
            let error = Some(error.to_string());
            html(StatusCode::BAD_REQUEST, &AcceptPage { c, error })
        }
    }
}

/// A device as the portal shows it.
pub(crate) struct DeviceView {
    id: String,
    name: String,
    model: String,
    os: String,
    serial: String,
    last_seen: String,
    actions: Vec<String>,
}

impl DeviceView {
    /// Whether the device offers `action`.
    fn can(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a == action)
    }
}

impl From<mdmkit_service::PortalDeviceView> for DeviceView {
    fn from(device: mdmkit_service::PortalDeviceView) -> Self {
        Self {
            name: device
                .name
                .clone()
                .or_else(|| device.model.clone())
                .unwrap_or_else(|| device.enrollment_id.clone()),
            id: device.enrollment_id,
            model: device.model.unwrap_or_default(),
            os: device.os_version.unwrap_or_default(),
            serial: device.serial_number.unwrap_or_default(),
            last_seen: device.last_seen.as_ref().map(when).unwrap_or_default(),
            actions: device.actions,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/devices.html")]
pub(crate) struct DevicesPage {
    pub(crate) c: Chrome,
    pub(crate) devices: Vec<DeviceView>,
}

async fn devices_page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    let user = signed_in!(web, headers);
    let c = chrome(&web, &headers, Some(&user), "my_devices", &uri).await;
    match user.session.devices().await {
        Ok(devices) => html(
            StatusCode::OK,
            &DevicesPage {
                c,
                devices: devices.into_iter().map(DeviceView::from).collect(),
            },
        ),
        Err(error) => failure(c, error),
    }
}

/// A service error as a page: another user's device and a missing one are the same "not
/// found"; a refusal in words; anything else an error (its code in the log).
pub(super) fn failure(c: Chrome, error: mdmkit_service::Error) -> Response {
    match error.code() {
        "device_not_found" | "not_found" => message(
            StatusCode::NOT_FOUND,
            c,
            "not_found",
            "not_found_text",
            None,
        ),
        code => {
            tracing::error!(code, "portal page failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                c,
                "error",
                "error_text",
                None,
            )
        }
    }
}

/// The state of the last command, as the device page shows it.
struct StateView {
    action: &'static str,
    state: &'static str,
    detail: Option<String>,
}

/// The last location, as the device page shows it.
struct LocationView {
    latitude: String,
    longitude: String,
    accuracy: String,
    at: String,
}

#[derive(Template)]
#[template(path = "portal/device.html")]
struct DevicePage {
    c: Chrome,
    d: DeviceView,
    state: Option<StateView>,
    location: Option<LocationView>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct DeviceQuery {
    /// The CommandUUID of the action just taken.
    cmd: Option<String>,
    /// The action just taken.
    did: Option<String>,
    /// Why the push did not go (for the state line).
    push: Option<String>,
}

/// The action names the portal knows, as string keys.
fn action_key(name: &str) -> Option<&'static str> {
    Some(match name {
        "lock" => "lock",
        "unlock" => "unlock",
        "locate" => "locate",
        "wipe" => "wipe",
        "retire" => "retire",
        "checkin" => "checkin",
        _ => return None,
    })
}

fn state_key(state: &str) -> &'static str {
    match state {
        "queued" => "queued",
        "pushed" => "pushed",
        "acknowledged" => "acknowledged",
        "not_now" => "not_now",
        _ => "failed",
    }
}

async fn device_view(
    web: &Web,
    user: &User,
    mut c: Chrome,
    id: &str,
    query: DeviceQuery,
    error: Option<String>,
) -> Response {
    let device = match user.session.device(id).await {
        Ok(device) => device,
        Err(error) => return failure(c, error),
    };
    let action = query.did.as_deref().and_then(action_key);
    let state = match (action, query.cmd.as_deref()) {
        (Some(action), Some(uuid)) => match user.session.command_state(id, uuid).await {
            Ok(state) => Some(StateView {
                action,
                state: state_key(&state),
                detail: None,
            }),
            Err(_) => None,
        },
        (Some(action), None) => Some(StateView {
            action,
            state: if query.push.as_deref() == Some("pushed") {
                "pushed"
            } else {
                "failed"
            },
            detail: query.push.filter(|p| p != "pushed"),
        }),
        _ => None,
    };
    c.refresh = state
        .as_ref()
        .is_some_and(|s| query.cmd.is_some() && (s.state == "queued" || s.state == "pushed"));
    let location = if device.actions.iter().any(|a| a == "locate") {
        user.session
            .location(id)
            .await
            .ok()
            .flatten()
            .map(|loc| LocationView {
                latitude: format!("{:.6}", loc.latitude),
                longitude: format!("{:.6}", loc.longitude),
                accuracy: loc
                    .horizontal_accuracy
                    .map(|a| format!("{a:.0} m"))
                    .unwrap_or_default(),
                at: when(&loc.at),
            })
    } else {
        None
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let _ = web;
    html(
        status,
        &DevicePage {
            c,
            d: device.into(),
            state,
            location,
            error,
        },
    )
}

async fn device_page(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Query<DeviceQuery>,
) -> Response {
    let user = signed_in!(web, headers);
    let c = chrome(&web, &headers, Some(&user), "device", &uri).await;
    device_view(&web, &user, c, &id, query, None).await
}

#[derive(Template)]
#[template(path = "portal/confirm.html")]
struct ConfirmPage {
    c: Chrome,
    question: &'static str,
    consequence: &'static str,
    button: &'static str,
    name: String,
    action: String,
    back: String,
}

/// `GET /portal/devices/{id}/wipe|retire`: the confirmation, naming the device.
async fn confirm_page(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let user = signed_in!(web, headers);
    let (title, question, consequence) = match action.as_str() {
        "wipe" => ("wipe", "confirm_wipe", "wipe_consequence"),
        "retire" => ("retire", "confirm_retire", "retire_consequence"),
        _ => {
            let c = chrome(&web, &headers, Some(&user), "not_found", &uri).await;
            return message(
                StatusCode::NOT_FOUND,
                c,
                "not_found",
                "not_found_text",
                None,
            );
        }
    };
    let c = chrome(&web, &headers, Some(&user), title, &uri).await;
    match user.session.device(&id).await {
        Ok(device) if device.actions.iter().any(|a| a == &action) => {
            let view = DeviceView::from(device);
            let page = ConfirmPage {
                c,
                question,
                consequence,
                button: title,
                name: view.name,
                action: format!("/portal/devices/{}/{action}", percent(&id)),
                back: format!("/portal/devices/{}", percent(&id)),
            };
            html(StatusCode::OK, &page)
        }
        Ok(_) => message(
            StatusCode::CONFLICT,
            c,
            "refused",
            "action_not_allowed",
            None,
        ),
        Err(error) => failure(c, error),
    }
}

/// `POST /portal/devices/{id}/{action}`: one action, then the device page with its state.
async fn device_action(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, action)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Response {
    let user = signed_in!(web, headers);
    check_csrf!(web, user, fields, headers, uri);
    let c = chrome(&web, &headers, Some(&user), "device", &uri).await;
    let Some(action) = action_key(&action) else {
        return message(
            StatusCode::NOT_FOUND,
            c,
            "not_found",
            "not_found_text",
            None,
        );
    };
    let confirmed = fields.get("confirm").map(String::as_str) == Some("yes");
    let session = &user.session;
    let outcome = match action {
        "lock" => {
            let message = field(&fields, "message");
            let phone = field(&fields, "phone");
            session
                .lock(&id, message.as_deref(), phone.as_deref())
                .await
        }
        "unlock" => session.unlock(&id).await,
        "locate" => session.locate(&id).await,
        "checkin" => session.check_in(&id).await,
        "wipe" if confirmed => session.wipe(&id).await,
        "retire" if confirmed => session.retire(&id).await,
        _ => {
            return see_other(&format!("/portal/devices/{}/{action}", percent(&id)));
        }
    };
    match outcome {
        Ok(outcome) => {
            let mut target = format!("/portal/devices/{}?did={action}", percent(&id));
            match outcome.command_uuid {
                Some(uuid) => target.push_str(&format!("&cmd={}", percent(&uuid))),
                None => target.push_str(&format!("&push={}", percent(&outcome.push))),
            }
            see_other(&target)
        }
        Err(error) if error.code() == "device_not_found" => failure(c, error),
        Err(error) => {
            tracing::info!(code = error.code(), action, "portal action refused");
            let text = refusal(&c, &error);
            let query = DeviceQuery {
                cmd: None,
                did: None,
                push: None,
            };
            device_view(&web, &user, c, &id, query, Some(text)).await
        }
    }
}

/// A refusal in words: the portal's own for the common cases, else the service's.
pub(super) fn refusal(c: &Chrome, error: &mdmkit_service::Error) -> String {
    match error.code() {
        "location_disabled" => c.t("location_disabled").to_owned(),
        "sign_in_failed" => c.t("wrong_current_password").to_owned(),
        "rate_limited" => c.t("sign_in_locked").to_owned(),
        _ => error.to_string(),
    }
}

#[derive(Template)]
#[template(path = "portal/account.html")]
struct AccountPage {
    c: Chrome,
    name: String,
    email: String,
    error: Option<String>,
    done: Option<&'static str>,
}

async fn account_view(
    user: &User,
    c: Chrome,
    status: StatusCode,
    error: Option<String>,
    done: Option<&'static str>,
) -> Response {
    match user.session.user().await {
        Ok(account) => html(
            status,
            &AccountPage {
                c,
                name: account.name.unwrap_or_default(),
                email: account.email,
                error,
                done,
            },
        ),
        Err(error) => failure(c, error),
    }
}

async fn account_page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    let user = signed_in!(web, headers);
    let c = chrome(&web, &headers, Some(&user), "account", &uri).await;
    let done = (uri.query() == Some("changed=1")).then_some("password_changed");
    account_view(&user, c, StatusCode::OK, None, done).await
}

async fn account_update(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let user = signed_in!(web, headers);
    check_csrf!(web, user, fields, headers, uri);
    let c = chrome(&web, &headers, Some(&user), "account", &uri).await;
    let name = field(&fields, "name");
    let email = field(&fields, "email");
    match user
        .session
        .update_account(name.as_deref(), email.as_deref())
        .await
    {
        Ok(_) => account_view(&user, c, StatusCode::OK, None, Some("saved")).await,
        Err(error) => {
            let text = refusal(&c, &error);
            account_view(&user, c, StatusCode::BAD_REQUEST, Some(text), None).await
        }
    }
}

async fn password_change(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let user = signed_in!(web, headers);
    check_csrf!(web, user, fields, headers, uri);
    let c = chrome(&web, &headers, Some(&user), "account", &uri).await;
    let current = fields.get("current").cloned().unwrap_or_default();
    let new = fields.get("new").cloned().unwrap_or_default();
    if fields.get("confirm") != Some(&new) {
        let text = c.t("passwords_differ").to_owned();
        return account_view(&user, c, StatusCode::BAD_REQUEST, Some(text), None).await;
    }
    match user.session.change_password(&current, &new).await {
        Ok(signed_in) => {
            // Every session of the user ended; this browser continues with the new one.
            let mut response = see_other("/portal/account?changed=1");
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(
                    SITE.session_cookie(),
                    &signed_in.token,
                    SITE.base(),
                    web.secure,
                    None,
                ),
            );
            response
        }
        Err(error) => {
            let text = refusal(&c, &error);
            account_view(&user, c, StatusCode::BAD_REQUEST, Some(text), None).await
        }
    }
}

#[derive(Template)]
#[template(path = "portal/register.html")]
struct RegisterPage {
    c: Chrome,
    link: String,
    expires: String,
    qr: String,
}

/// `GET /portal/register`: a new registration link for another device, with its QR code.
async fn register_page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    let user = signed_in!(web, headers);
    let c = chrome(&web, &headers, Some(&user), "register_device", &uri).await;
    let link = match user.session.registration_link().await {
        Ok(link) => link,
        Err(error) => return failure(c, error),
    };
    // The SVG is drawn by the server from the link alone: paths and rectangles, no script.
    let qr = match mdmkit_service::registration_qr_svg(&link.url) {
        Ok(svg) => svg,
        Err(error) => return failure(c, error),
    };
    let qr = qr
        .split_once("<svg")
        .map(|(_, rest)| format!("<svg role=\"img\" aria-label=\"QR\"{rest}"))
        .unwrap_or_default();
    let page = RegisterPage {
        c,
        link: link.url,
        expires: when(&link.expires_at),
        qr,
    };
    let mut response = html(StatusCode::OK, &page);
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
