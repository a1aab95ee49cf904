//! Cross-site request forgery: a state-changing request must come from a page
//! of this site. Browsers send `Origin` on every cross-origin POST (and on
//! same-origin ones too); we compare it (or, failing that, `Referer`) with the
//! origin of `PAYLINKS_PUBLIC_URL` — scheme, host and port — not with the
//! `Host` header, which a reverse proxy may rewrite and a client may choose.

use axum::{
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The site's own origin, from its public URL: `https://pay.example.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteOrigin {
    scheme: String,
    host: String,
    port: u16,
}

impl SiteOrigin {
    /// `None` for anything that is not an absolute http(s) URL.
    pub fn parse(url: &str) -> Option<SiteOrigin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty() && !a.contains('@'))?;
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']')?;
                (format!("[{host}]"), after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (authority.to_owned(), None),
            },
        };
        let port = match port {
            Some(port) => port.parse().ok()?,
            None => default_port,
        };
        Some(SiteOrigin { scheme, host: host.to_ascii_lowercase(), port })
    }

    /// `localhost`, `127.x.x.x` or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether a request's `Origin` (or `Referer`) is this site. A site on a
    /// loopback address takes any loopback name for itself (`localhost` and
    /// `127.0.0.1` in a developer's browser), with the same scheme and port.
    pub fn admits(&self, source: &str) -> bool {
        match SiteOrigin::parse(source) {
            Some(other) if other == *self => true,
            Some(other) => self.is_loopback() && other.is_loopback() && other.scheme == self.scheme && other.port == self.port,
            None => false,
        }
    }
}

pub async fn same_origin_only(site: std::sync::Arc<SiteOrigin>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) || same_origin(&site, &request) || is_webhook(&request) {
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
    // cookie, so another site cannot make a browser send it. A one-click
    // unsubscribe comes from a mail provider's server and proves itself with
    // its signed token; all it can do is turn one notification off.
    path.starts_with("/webhooks/") || path.starts_with("/api/v1/") || path == "/unsubscribe"
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn same_origin(site: &SiteOrigin, request: &Request) -> bool {
    let headers = request.headers();
    let source = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    source.is_some_and(|source| site.admits(source))
}

#[cfg(test)]
mod tests {
    use super::SiteOrigin;

    #[test]
    fn origins_match_by_scheme_host_and_port() {
        let site = SiteOrigin::parse("https://pay.example.com/shop").unwrap();
        assert!(site.admits("https://pay.example.com"));
        assert!(site.admits("https://PAY.example.com:443/signin?x=1"), "default port, any case, a Referer's path");
        for other in [
            "http://pay.example.com",
            "https://pay.example.com:8443",
            "https://evil.example",
            "null",
            "",
            "https://pay.example.com.evil.example",
            "https://evil.example/https://pay.example.com",
            "https://user@pay.example.com",
        ] {
            assert!(!site.admits(other), "{other}");
        }
    }

    #[test]
    fn a_loopback_site_takes_its_other_loopback_names() {
        let site = SiteOrigin::parse("http://127.0.0.1:3000").unwrap();
        for same in ["http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000"] {
            assert!(site.admits(same), "{same}");
        }
        for other in ["http://localhost:3001", "https://localhost:3000", "http://192.168.1.2:3000", "http://localhost.evil.example:3000"] {
            assert!(!site.admits(other), "{other}");
        }
        let public = SiteOrigin::parse("https://pay.example.com").unwrap();
        assert!(!public.admits("https://localhost"), "only a loopback site takes loopback names");
    }
}
