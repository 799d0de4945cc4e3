//! The server-rendered pages: the end users' self-service portal (`/portal`) and the
//! administrators' console (`/console`).
//!
//! Handlers are thin: they read the session cookie, check the form's CSRF token, make one
//! service call and render a template (askama: compiled in, autoescaped). Every page has a
//! Content-Security-Policy without inline script or style; the few lines of JavaScript and
//! the stylesheet are compiled into the binary and served from `/static/`.

mod certificates;
mod console;
mod i18n;
mod portal;
mod security;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use askama::Template;
use axum::extract::Multipart;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use mdmkit_service::Mdm;
use serde::Deserialize;
use time::OffsetDateTime;

use i18n::Catalogue;

/// The largest upload (a PKCS#12 file or a push certificate with its form) accepted, in
/// bytes; larger bodies are refused before they are read. Above the certificate store's
/// own limit (256 KiB), so its refusal is the one shown in the form.
pub(crate) const MAX_UPLOAD_BYTES: usize = 512 * 1024;

/// What every handler gets: the deployment and whether cookies must be `Secure`.
#[derive(Clone)]
pub(crate) struct Web {
    pub mdm: Mdm,
    pub secure: bool,
}

/// The portal and the console, with the static assets, for `serve` to merge. Cookies are
/// `Secure` when TLS is terminated here (`tls`) or the portal's public URL is `https://`
/// (TLS terminated by a reverse proxy).
pub async fn router(mdm: &Mdm, tls: bool) -> Router {
    let https = matches!(
        mdm.settings().get(mdmkit_service::settings::PORTAL_URL).await,
        Ok(Some(url)) if url.starts_with("https://")
    );
    let web = Web {
        mdm: mdm.clone(),
        secure: tls || https,
    };
    Router::new()
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .merge(portal::router())
        .merge(console::router())
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(web)
}

const APP_CSS: &[u8] = include_bytes!("../../static/app.css");
const APP_JS: &[u8] = include_bytes!("../../static/app.js");

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Which site a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    Portal,
    Console,
}

impl Site {
    pub fn base(self) -> &'static str {
        match self {
            Site::Portal => "/portal",
            Site::Console => "/console",
        }
    }

    pub fn session_cookie(self) -> &'static str {
        match self {
            Site::Portal => "mdmkit_portal",
            Site::Console => "mdmkit_console",
        }
    }
}

/// The frame of every page: language, branding, navigation, the CSRF token of its forms.
pub(crate) struct Chrome {
    pub cat: &'static Catalogue,
    pub site: Site,
    /// The string key of the page's title.
    pub title: &'static str,
    pub brand: String,
    pub has_logo: bool,
    pub csrf: String,
    pub signed_in: bool,
    /// (href, string key) of the navigation links.
    pub nav: Vec<(&'static str, &'static str)>,
    /// The page's own path (the language switch comes back to it).
    pub path: String,
    /// Reload every few seconds (a command is on its way).
    pub refresh: bool,
}

impl Chrome {
    /// A string in the page's language.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.cat.get(key)
    }

    /// A string with `{}` replaced by `value`.
    pub fn tr(&self, key: &str, value: &str) -> String {
        self.cat.get(key).replacen("{}", value, 1)
    }

    pub fn lang(&self) -> &'static str {
        self.cat.code
    }

    pub fn other_lang(&self) -> &'static str {
        self.cat.other().code
    }

    /// The other language's name, in that language.
    pub fn other_lang_name(&self) -> &str {
        self.cat.other().get("language_name")
    }

    pub fn base(&self) -> &'static str {
        self.site.base()
    }

    pub fn is_portal(&self) -> bool {
        self.site == Site::Portal
    }

    /// The site's name: the portal's branding, or the console's.
    pub fn site_name(&self) -> &str {
        match self.site {
            Site::Portal => &self.brand,
            Site::Console => self.t("console_name"),
        }
    }
}

/// A date and time as pages show it (UTC).
pub(crate) fn when(at: &OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A date as pages show it.
pub(crate) fn day(at: &OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// Renders a template as an HTML response with `status`.
pub(crate) fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page that only says something (not found, refused, an error).
#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub c: Chrome,
    /// The string key of the message.
    pub message: &'static str,
    /// Details in words (an error's explanation).
    pub detail: Option<String>,
}

pub(crate) fn message(
    status: StatusCode,
    mut c: Chrome,
    title: &'static str,
    text: &'static str,
    detail: Option<String>,
) -> Response {
    c.title = title;
    html(
        status,
        &MessagePage {
            c,
            message: text,
            detail,
        },
    )
}

/// A form's fields (urlencoded).
pub(crate) type Fields = HashMap<String, String>;

/// A field's value, trimmed; `None` when absent or empty.
pub(crate) fn field(fields: &Fields, name: &str) -> Option<String> {
    fields
        .get(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A multipart form read whole (the route's body limit applies while it is read): text
/// fields and at most one file.
#[derive(Default)]
pub(crate) struct Upload {
    pub fields: Fields,
    pub file: Option<Vec<u8>>,
}

/// Reads a multipart form; `Err` when it is malformed or larger than the route's limit.
pub(crate) async fn read_upload(mut multipart: Multipart) -> Result<Upload, ()> {
    let mut upload = Upload::default();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                let is_file = field.file_name().is_some();
                let bytes = field.bytes().await.map_err(|_| ())?;
                if is_file {
                    if !bytes.is_empty() {
                        upload.file = Some(bytes.to_vec());
                    }
                } else {
                    upload
                        .fields
                        .insert(name, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            Ok(None) => return Ok(upload),
            Err(_) => return Err(()),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct LangQuery {
    to: Option<String>,
    back: Option<String>,
}

/// `GET …/lang?to=ja&back=/portal/devices`: keeps the language in a cookie, goes back.
pub(crate) async fn switch_language(site: Site, web: &Web, query: LangQuery) -> Response {
    let code = i18n::by_code(query.to.as_deref().unwrap_or("en")).code;
    let back = security::local_path(query.back.as_deref(), site.base());
    let mut response = Redirect::to(&back).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(i18n::LANG_COOKIE, code, "/", web.secure, Some(365 * 86400)),
    );
    response
}

/// The pre-session secret of a browser (for the CSRF token of the sign-in forms), and the
/// cookie to set when it is new.
pub(crate) fn pre_session(
    headers: &HeaderMap,
    site: Site,
    secure: bool,
) -> (String, Option<HeaderValue>) {
    match security::read_cookie(headers, security::PRE_SESSION_COOKIE) {
        Some(value) => (value, None),
        None => {
            let value = security::random_hex();
            let cookie = security::set_cookie(
                security::PRE_SESSION_COOKIE,
                &value,
                site.base(),
                secure,
                None,
            );
            (value, Some(cookie))
        }
    }
}

/// Adds a `Set-Cookie` header when there is one.
pub(crate) fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `303 See Other` to `to`.
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
