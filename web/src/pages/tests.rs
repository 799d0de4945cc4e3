//! The pages' security measures, through the router (tower `oneshot`): CSRF, cookie flags,
//! the Content-Security-Policy, "not found" for another user's device, the upload limit.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use mdmkit_core::store::{DeviceRecord, EnrollmentRecord};
use mdmkit_core::EnrollmentId;
use mdmkit_service::{InitOptions, Mdm, MdmConfig};
use tower::ServiceExt;

use super::security::csrf_token;

/// A deployment with a device CA, an administrator, and two portal users (alice owns one
/// device), over a memory store.
pub(crate) async fn deployment() -> Mdm {
    let mdm = Mdm::open(MdmConfig::new("memory:")).await.unwrap();
    let mut options = InitOptions::default();
    options.base_url = Some("http://127.0.0.1:8080".into());
    options.enrollment_profile_id = Some("com.example.mdm".into());
    mdm.enrollment().init(options).await.unwrap();
    let mdm = Mdm::with_store(mdm.store().clone(), MdmConfig::new("memory:"))
        .await
        .unwrap();
    mdm.admins()
        .add("admin@example.com", None, "admin-password-1")
        .await
        .unwrap();
    for (user, email) in [("alice", "alice@example.com"), ("bob", "bob@example.com")] {
        let invitation = mdm
            .enrollment()
            .invite(user, email, std::time::Duration::from_secs(3600))
            .await
            .unwrap();
        let token = invitation
            .portal_link
            .split_once("token=")
            .unwrap()
            .1
            .to_owned();
        mdm.portal()
            .accept_invitation(&token, &format!("{user}-password-1"))
            .await
            .unwrap();
    }
    add_device(&mdm, "alice", "UDID-ALICE-1").await;
    mdm
}

/// An enrolled device of `owner`.
pub(crate) async fn add_device(mdm: &Mdm, owner: &str, udid: &str) {
    let mut record = EnrollmentRecord::new(EnrollmentId::new(udid));
    record.owner = Some(owner.to_owned());
    record.enabled = true;
    mdm.store().put_enrollment(&record).await.unwrap();
    let mut device = DeviceRecord::new(udid);
    device.model = Some("iPhone15,2".into());
    device.os_version = Some("17.4".into());
    mdm.store().put_device(&device).await.unwrap();
}

pub(crate) async fn router(mdm: &Mdm) -> Router {
    super::router(mdm, false).await
}

pub(crate) async fn send(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

fn post(path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// Alice's session cookie.
pub(crate) async fn alice(mdm: &Mdm) -> (String, String) {
    let signed_in = mdm
        .portal()
        .sign_in("alice@example.com", "alice-password-1")
        .await
        .unwrap();
    (
        format!("mdmkit_portal={}", signed_in.token),
        csrf_token(&signed_in.token),
    )
}

#[tokio::test]
async fn every_page_has_the_policy_and_no_inline_script() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    let (cookie, _) = alice(&mdm).await;
    for (path, cookie) in [
        ("/portal/signin", None),
        ("/console/signin", None),
        ("/portal/devices", Some(cookie.as_str())),
        ("/portal/devices/UDID-ALICE-1", Some(cookie.as_str())),
        ("/portal/account", Some(cookie.as_str())),
        ("/portal/certificates", Some(cookie.as_str())),
        ("/portal/register", Some(cookie.as_str())),
    ] {
        let (status, headers, body) = send(&router, get(path, cookie)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!body.contains("<script>"), "{path}: inline script");
        assert!(!body.contains(" style="), "{path}: inline style");
    }
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    let (_, headers, _) = send(&router, get("/portal/signin", None)).await;
    let pre = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Strict"),
        "{pre}"
    );
    assert!(!pre.contains("Secure"), "plain HTTP to loopback: {pre}");
    let value = pre.split(';').next().unwrap().to_owned();
    let secret = value.split_once('=').unwrap().1;
    let body = format!(
        "_csrf={}&email=alice%40example.com&password=alice-password-1",
        csrf_token(secret)
    );
    let (status, headers, _) = send(&router, post("/portal/signin", &value, &body)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(session.starts_with("mdmkit_portal="), "{session}");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
    assert!(session.contains("Path=/portal"));

    // Over TLS the cookies are Secure.
    let secure = super::router(&mdm, true).await;
    let (_, headers, _) = send(&secure, get("/portal/signin", None)).await;
    assert!(headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("; Secure"));
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_nothing_is_done() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    let (cookie, csrf) = alice(&mdm).await;
    for body in ["message=hi".to_owned(), "_csrf=0123&message=hi".to_owned()] {
        let (status, _, _) = send(
            &router,
            post("/portal/devices/UDID-ALICE-1/lock", &cookie, &body),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    assert!(mdm
        .devices()
        .queue("UDID-ALICE-1")
        .await
        .unwrap()
        .is_empty());
    // Another session's token does not do either.
    let bob = mdm
        .portal()
        .sign_in("bob@example.com", "bob-password-1")
        .await
        .unwrap();
    let body = format!("_csrf={}&message=hi", csrf_token(&bob.token));
    let (status, _, _) = send(
        &router,
        post("/portal/devices/UDID-ALICE-1/lock", &cookie, &body),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(mdm
        .devices()
        .queue("UDID-ALICE-1")
        .await
        .unwrap()
        .is_empty());
    // With it, the lock is queued.
    let body = format!("_csrf={csrf}&message=hi");
    let (status, headers, _) = send(
        &router,
        post("/portal/devices/UDID-ALICE-1/lock", &cookie, &body),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap();
    assert!(location.contains("did=lock"), "{location}");
    assert_eq!(mdm.devices().queue("UDID-ALICE-1").await.unwrap().len(), 1);

    // The console's forms too.
    let admin = mdm
        .admins()
        .sign_in("admin@example.com", "admin-password-1")
        .await
        .unwrap();
    let cookie = format!("mdmkit_console={}", admin.token);
    let (status, _, _) = send(
        &router,
        post(
            "/console/users/invite",
            &cookie,
            "user=eve&email=eve%40example.com",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let invited = mdm
        .enrollment()
        .invitations_list(Some("eve"))
        .await
        .unwrap();
    assert!(invited.is_empty());
}

#[tokio::test]
async fn another_users_device_is_not_found_like_a_missing_one() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    let bob = mdm
        .portal()
        .sign_in("bob@example.com", "bob-password-1")
        .await
        .unwrap();
    let cookie = format!("mdmkit_portal={}", bob.token);
    let (theirs, _, theirs_body) =
        send(&router, get("/portal/devices/UDID-ALICE-1", Some(&cookie))).await;
    let (missing, _, missing_body) =
        send(&router, get("/portal/devices/UDID-NONE", Some(&cookie))).await;
    assert_eq!(theirs, StatusCode::NOT_FOUND);
    assert_eq!(missing, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs_body.replace("UDID-ALICE-1", "X"),
        missing_body.replace("UDID-NONE", "X")
    );
    let body = format!("_csrf={}&message=mine", csrf_token(&bob.token));
    let (status, _, _) = send(
        &router,
        post("/portal/devices/UDID-ALICE-1/lock", &cookie, &body),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(mdm
        .devices()
        .queue("UDID-ALICE-1")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn signed_out_pages_go_to_the_sign_in_page() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    for (path, to) in [
        ("/portal/devices", "/portal/signin"),
        ("/console/", "/console/signin"),
        ("/console/push", "/console/signin"),
    ] {
        let (status, headers, _) = send(&router, get(path, None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], to);
    }
}

#[tokio::test]
async fn an_upload_larger_than_the_limit_is_refused_before_it_is_read() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    let admin = mdm
        .admins()
        .sign_in("admin@example.com", "admin-password-1")
        .await
        .unwrap();
    let size = super::MAX_UPLOAD_BYTES + 1024;
    let request = Request::post("/console/push/upload")
        .header(header::COOKIE, format!("mdmkit_console={}", admin.token))
        .header(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=XBOUNDARY",
        )
        .header(header::CONTENT_LENGTH, size.to_string())
        .body(Body::from(vec![b'a'; size]))
        .unwrap();
    let (status, _, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(mdm.push_certs().status().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_language_follows_accept_language_and_the_switch() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    let request = Request::get("/portal/signin")
        .header(header::ACCEPT_LANGUAGE, "ja,en;q=0.5")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = send(&router, request).await;
    assert!(body.contains("<html lang=\"ja\">"));
    assert!(body.contains("サインイン"));
    let (status, headers, _) = send(
        &router,
        get("/portal/lang?to=en&back=//evil.example/", None),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/portal");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("mdmkit_lang=en;"));
    let (_, _, body) = send(&router, get("/portal/signin", Some("mdmkit_lang=en"))).await;
    assert!(body.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn repeated_failed_sign_ins_lock_the_account_out_in_words() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    let pre = "mdmkit_pre=0123456789abcdef";
    let body = format!(
        "_csrf={}&email=alice%40example.com&password=wrong",
        csrf_token("0123456789abcdef")
    );
    let mut last = String::new();
    for _ in 0..6 {
        let (status, _, page) = send(&router, post("/portal/signin", pre, &body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        last = page;
    }
    assert!(last.contains("locked for 15 minutes"), "{last}");
    // Even the right password is refused now.
    let body = format!(
        "_csrf={}&email=alice%40example.com&password=alice-password-1",
        csrf_token("0123456789abcdef")
    );
    let (status, _, _) = send(&router, post("/portal/signin", pre, &body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_dashboard_shows_the_ade_tokens_of_the_settings_in_the_readers_language() {
    let mdm = deployment().await;
    mdm.settings()
        .set(
            mdmkit_service::settings::ADE_TOKENS,
            "Tokyo office=2020-01-01T00:00:00Z",
        )
        .await
        .unwrap();
    let router = router(&mdm).await;
    let admin = mdm
        .admins()
        .sign_in("admin@example.com", "admin-password-1")
        .await
        .unwrap();
    let cookie = format!("mdmkit_console={}", admin.token);
    for (language, kind) in [("ja", "ADE サーバートークン"), ("en", "ADE server token")] {
        let request = Request::get("/console/")
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, language)
            .body(Body::empty())
            .unwrap();
        let (status, _, page) = send(&router, request).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(kind), "{language}: {page}");
        assert!(page.contains("Tokyo office"), "{page}");
    }
}

#[tokio::test]
async fn console_actions_are_audited_with_the_signed_in_administrators_id() {
    let mdm = deployment().await;
    let router = router(&mdm).await;
    let admin = mdm
        .admins()
        .sign_in("admin@example.com", "admin-password-1")
        .await
        .unwrap();
    assert!(admin.user_id.starts_with("adm_"), "{}", admin.user_id);
    let cookie = format!("mdmkit_console={}", admin.token);
    let csrf = csrf_token(&admin.token);
    let forms = [
        (
            "/console/users/invite",
            format!("_csrf={csrf}&user=eve&email=eve%40example.com"),
        ),
        (
            "/console/settings/kinds",
            format!("_csrf={csrf}&name=Signing&usage=signing"),
        ),
        (
            "/console/devices/UDID-ALICE-1/action",
            format!("_csrf={csrf}&action=lock"),
        ),
    ];
    for (path, body) in &forms {
        let (status, _, page) = send(&router, post(path, &cookie, body)).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::SEE_OTHER,
            "{path}: {status} {page}"
        );
    }
    let log = mdm.audit_log(None, 100).await.unwrap();
    for action in ["invitation.create", "certificate.kind_add", "device.lock"] {
        let entry = log
            .iter()
            .find(|entry| entry.action == action)
            .unwrap_or_else(|| panic!("no {action} in {log:?}"));
        assert_eq!(entry.actor, admin.user_id, "{action}");
    }
    // The invitation revoked from the console too.
    let invitation = mdm
        .enrollment()
        .invitations_list(Some("eve"))
        .await
        .unwrap()
        .remove(0);
    let body = format!("_csrf={csrf}&id={}", invitation.id);
    let (status, _, _) = send(&router, post("/console/users/revoke", &cookie, &body)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let log = mdm.audit_log(None, 100).await.unwrap();
    let revoked = log
        .iter()
        .find(|entry| entry.action == "invitation.revoke")
        .expect("revoke audited");
    assert_eq!(revoked.actor, admin.user_id);
    // Through a handle given no actor, the CLI's and a library's default.
    assert_eq!(mdm.actor(), mdmkit_service::DEFAULT_ACTOR);
}
