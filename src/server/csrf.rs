//! Cross-site request forgery: a state-changing request must come from a page
//! of this site. Browsers send `Origin` on every cross-origin POST (and on
//! same-origin ones too); we compare it (or, failing that, `Referer`) with the
//! `Host` the request was sent to, which another site cannot choose.

use axum::{
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

pub async fn same_origin_only(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || same_origin(&request) || is_webhook(&request) {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-origin request refused");
        // The app's own error shape, so a page that lost its Origin (a privacy
        // extension) still shows a localized message.
        let body = serde_json::to_string(&crate::error::AppError::Forbidden).unwrap_or_default();
        (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// Payment providers call these from their servers; each request proves
/// itself with a signature instead (see `webhooks`).
fn is_webhook(request: &Request) -> bool {
    let path = request.uri().path();
    // The REST API is authenticated by a secret key in a header, never by a
    // cookie, so another site cannot make a browser send it.
    path.starts_with("/webhooks/") || path.starts_with("/api/v1/")
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn same_origin(request: &Request) -> bool {
    let headers = request.headers();
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    source.and_then(authority).is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// `https://shop.example:8443/path` → `shop.example:8443`.
fn authority(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn authority_of_origins_and_referers() {
        assert_eq!(authority("http://127.0.0.1:3000"), Some("127.0.0.1:3000"));
        assert_eq!(authority("https://pay.example.com/signin?x=1"), Some("pay.example.com"));
        assert_eq!(authority("null"), None);
        assert_eq!(authority("https://"), None);
    }
}
