//! The portal's "My certificates": the user's own PKCS#12 identities (add, list, rename,
//! clear the private key, delete). Every refusal is shown in the form, in words.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, State};
use axum::http::header::HeaderMap;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::console::percent;
use super::portal::{check_csrf, chrome, failure, signed_in, user, User};
use super::security::csrf_ok;
use super::{
    day, field, html, message, read_upload, see_other, Chrome, Fields, Web, MAX_UPLOAD_BYTES,
};

pub(super) fn routes(router: Router<Web>) -> Router<Web> {
    router
        .route("/portal/certificates", get(page))
        .route(
            "/portal/certificates/add",
            post(add).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/portal/certificates/{id}/edit", post(edit))
        .route(
            "/portal/certificates/{id}/{action}",
            get(confirm_page).post(act),
        )
}

/// A certificate as the page lists it.
struct CertView {
    id: String,
    name: String,
    kind: String,
    subject: String,
    issuer: String,
    serial: String,
    uploaded: String,
    expires: String,
    has_key: bool,
}

#[derive(Template)]
#[template(path = "portal/certificates.html")]
struct CertificatesPage {
    c: Chrome,
    certs: Vec<CertView>,
    /// (id, name) of the kinds the user may upload.
    kinds: Vec<(String, String)>,
    error: Option<String>,
    done: Option<&'static str>,
}

async fn view(
    user: &User,
    c: Chrome,
    status: StatusCode,
    error: Option<String>,
    done: Option<&'static str>,
) -> Response {
    let own = user.session.certificates();
    let (list, kinds) = match (own.list().await, own.kinds().await) {
        (Ok(list), Ok(kinds)) => (list, kinds),
        (Err(error), _) | (_, Err(error)) => return failure(c, error),
    };
    let certs = list
        .into_iter()
        .map(|cert| CertView {
            id: cert.id,
            name: cert.name,
            kind: cert.kind_name,
            subject: cert.subject,
            issuer: cert.issuer,
            serial: cert.serial,
            uploaded: day(&cert.uploaded_at),
            expires: day(&cert.not_after),
            has_key: cert.has_private_key,
        })
        .collect();
    let kinds = kinds.into_iter().map(|k| (k.id, k.name)).collect();
    html(
        status,
        &CertificatesPage {
            c,
            certs,
            kinds,
            error,
            done,
        },
    )
}

async fn page(State(web): State<Web>, headers: HeaderMap, uri: Uri) -> Response {
    let user = signed_in!(web, headers);
    let c = chrome(&web, &headers, Some(&user), "my_certificates", &uri).await;
    let done = match uri.query() {
        Some("done=added") => Some("certificate_added"),
        Some("done=cleared") => Some("key_cleared_done"),
        Some("done=deleted") => Some("certificate_deleted"),
        Some("done=saved") => Some("saved"),
        _ => None,
    };
    view(&user, c, StatusCode::OK, None, done).await
}

/// A refused upload in words (nothing was stored).
fn refusal(c: &Chrome, error: &mdmkit_service::Error) -> String {
    let key = match error.code() {
        "p12_not_pkcs12" => "p12_not_pkcs12",
        "p12_bad_password" | "p12_password_required" | "invalid_password" => "p12_bad_password",
        "p12_too_large" => "p12_too_large",
        "p12_no_private_key" => "p12_no_private_key",
        "certificate_expired" => "p12_expired",
        "certificate_not_yet_valid" => "p12_not_yet_valid",
        "certificate_not_for_email" => "p12_not_for_email",
        _ => return error.to_string(),
    };
    c.t(key).to_owned()
}

async fn add(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    multipart: Multipart,
) -> Response {
    let user = signed_in!(web, headers);
    let c = chrome(&web, &headers, Some(&user), "my_certificates", &uri).await;
    let Ok(upload) = read_upload(multipart).await else {
        let text = c.t("p12_too_large").to_owned();
        return view(&user, c, StatusCode::PAYLOAD_TOO_LARGE, Some(text), None).await;
    };
    check_csrf!(web, user, upload.fields, headers, uri);
    let Some(file) = upload.file else {
        let text = c.t("no_file").to_owned();
        return view(&user, c, StatusCode::BAD_REQUEST, Some(text), None).await;
    };
    let kind = field(&upload.fields, "kind").unwrap_or_default();
    let password = upload.fields.get("password").cloned().unwrap_or_default();
    let name = field(&upload.fields, "name");
    match user
        .session
        .certificates()
        .add(&kind, file, &password, name.as_deref())
        .await
    {
        Ok(_) => see_other("/portal/certificates?done=added"),
        Err(error) => {
            tracing::info!(code = error.code(), "certificate upload refused");
            let text = refusal(&c, &error);
            view(&user, c, StatusCode::BAD_REQUEST, Some(text), None).await
        }
    }
}

async fn edit(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let user = signed_in!(web, headers);
    check_csrf!(web, user, fields, headers, uri);
    let c = chrome(&web, &headers, Some(&user), "my_certificates", &uri).await;
    let name = field(&fields, "name").unwrap_or_default();
    match user.session.certificates().edit(&id, &name).await {
        Ok(_) => see_other("/portal/certificates?done=saved"),
        Err(error) => {
            let text = refusal(&c, &error);
            view(&user, c, StatusCode::BAD_REQUEST, Some(text), None).await
        }
    }
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

/// The question, consequence and button of a certificate action.
fn wording(action: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match action {
        "clear" => Some(("confirm_clear_key", "clear_key_consequence", "clear_key")),
        "delete" => Some(("confirm_delete_cert", "delete_cert_consequence", "delete")),
        _ => None,
    }
}

/// `GET /portal/certificates/{id}/clear|delete`: the confirmation, naming the certificate.
async fn confirm_page(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let user = signed_in!(web, headers);
    let Some((question, consequence, button)) = wording(&action) else {
        let c = chrome(&web, &headers, Some(&user), "not_found", &uri).await;
        return message(
            StatusCode::NOT_FOUND,
            c,
            "not_found",
            "not_found_text",
            None,
        );
    };
    let c = chrome(&web, &headers, Some(&user), button, &uri).await;
    let list = match user.session.certificates().list().await {
        Ok(list) => list,
        Err(error) => return failure(c, error),
    };
    let Some(cert) = list.into_iter().find(|cert| cert.id == id) else {
        return message(
            StatusCode::NOT_FOUND,
            c,
            "not_found",
            "not_found_text",
            None,
        );
    };
    let page = ConfirmPage {
        c,
        question,
        consequence,
        button,
        name: format!("{} ({})", cert.name, cert.kind_name),
        action: format!("/portal/certificates/{}/{action}", percent(&id)),
        back: "/portal/certificates".to_owned(),
    };
    html(StatusCode::OK, &page)
}

/// `POST /portal/certificates/{id}/clear|delete` (confirmed).
async fn act(
    State(web): State<Web>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, action)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Response {
    let user = signed_in!(web, headers);
    check_csrf!(web, user, fields, headers, uri);
    let c = chrome(&web, &headers, Some(&user), "my_certificates", &uri).await;
    if fields.get("confirm").map(String::as_str) != Some("yes") || wording(&action).is_none() {
        return message(
            StatusCode::NOT_FOUND,
            c,
            "not_found",
            "not_found_text",
            None,
        );
    }
    let own = user.session.certificates();
    let done = if action == "clear" {
        own.clear_private_key(&id).await.map(|_| Some("cleared"))
    } else {
        own.delete(&id)
            .await
            .map(|deleted| deleted.then_some("deleted"))
    };
    match done {
        Ok(Some(done)) => see_other(&format!("/portal/certificates?done={done}")),
        Ok(None) => message(
            StatusCode::NOT_FOUND,
            c,
            "not_found",
            "not_found_text",
            None,
        ),
        Err(error) if error.code() == "unknown_certificate" => message(
            StatusCode::NOT_FOUND,
            c,
            "not_found",
            "not_found_text",
            None,
        ),
        Err(error) => {
            let text = refusal(&c, &error);
            view(&user, c, StatusCode::BAD_REQUEST, Some(text), None).await
        }
    }
}
