//! What every page shares for safety: the security headers, cookies, CSRF tokens.

use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The pages' Content-Security-Policy: scripts and styles from this origin only (no inline
/// script, no inline style), images from this origin, forms posting to this origin, never
/// framed.
pub(crate) const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of a served image (the logo): nothing runs, nothing loads, sandboxed.
pub(crate) const IMAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// The name of the pre-session cookie that ties the CSRF token of the sign-in and
/// invitation forms to one browser.
pub(crate) const PRE_SESSION_COOKIE: &str = "mdmkit_pre";

/// Adds the security headers to every page response (a handler that set its own
/// Content-Security-Policy, such as the logo's, keeps it).
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(PAGE_CSP));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// 32 random bytes as hex (a pre-session value).
pub(crate) fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    // OpenSSL's generator fails only when it cannot be seeded; then no value is better
    // than a predictable one, and the form is refused (the token will not match).
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        return String::new();
    }
    hex::encode(bytes)
}

/// The CSRF token of a session (or pre-session) secret: a hash of it, so a page shows the
/// token without showing the secret the cookie holds.
pub(crate) fn csrf_token(secret: &str) -> String {
    let mut input = b"mdmkit-csrf\0".to_vec();
    input.extend_from_slice(secret.as_bytes());
    match openssl::hash::hash(openssl::hash::MessageDigest::sha256(), &input) {
        Ok(digest) => hex::encode(&digest[..20]),
        Err(_) => String::new(),
    }
}

/// Whether a submitted CSRF token is the one of `secret` (constant time).
pub(crate) fn csrf_ok(secret: &str, submitted: Option<&str>) -> bool {
    let expected = csrf_token(secret);
    match submitted {
        Some(given) if !expected.is_empty() && given.len() == expected.len() => {
            openssl::memcmp::eq(given.as_bytes(), expected.as_bytes())
        }
        _ => false,
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure when served over TLS; `max_age`
/// `Some(0)` deletes it, `None` makes a browser-session cookie.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    secure: bool,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    // Names, values and paths are ours (hex, fixed names): always valid header bytes.
    HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""))
}

/// A same-site path to go back to after switching language: an absolute path on this
/// server, never another origin (`//host`, `/\host`, schemes).
pub(crate) fn local_path(candidate: Option<&str>, fallback: &str) -> String {
    match candidate {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.contains(['\r', '\n']) =>
        {
            path.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_token_is_tied_to_its_secret() {
        let token = csrf_token("secret-a");
        assert!(csrf_ok("secret-a", Some(&token)));
        assert!(!csrf_ok("secret-b", Some(&token)));
        assert!(!csrf_ok("secret-a", None));
        assert!(!csrf_ok("secret-a", Some("")));
        assert!(!token.contains("secret"));
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let plain = set_cookie("a", "b", "/portal", false, None);
        assert_eq!(
            plain.to_str().unwrap(),
            "a=b; Path=/portal; HttpOnly; SameSite=Strict"
        );
        let secure = set_cookie("a", "b", "/portal", true, Some(0));
        assert!(secure.to_str().unwrap().ends_with("; Secure; Max-Age=0"));
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/portal/devices"), "/"), "/portal/devices");
        for hostile in ["//evil.example", "https://evil.example", "/\\evil", "x"] {
            assert_eq!(local_path(Some(hostile), "/portal"), "/portal");
        }
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("x=1; lang=ja"));
        assert_eq!(read_cookie(&headers, "lang").as_deref(), Some("ja"));
        assert_eq!(read_cookie(&headers, "y"), None);
    }
}
