//! Which language a request gets: the `lang` cookie, then `Accept-Language`.
use crate::domain::Locale;
use http::header::{HeaderMap, HeaderValue, ACCEPT_LANGUAGE, COOKIE};

pub const COOKIE_NAME: &str = "lang";

pub fn from_headers(headers: &HeaderMap) -> Locale {
    let explicit = headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| pair.trim().strip_prefix("lang="));
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Locale::negotiate(explicit, accept)
}

/// `Set-Cookie` that remembers an explicit choice for a year. Not `HttpOnly`:
/// it holds no secret, and the page may read it.
pub fn set_cookie(locale: Locale) -> HeaderValue {
    HeaderValue::from_str(&format!("{COOKIE_NAME}={}; Path=/; Max-Age=31536000; SameSite=Lax", locale.code())).expect("locale codes are valid header text")
}

/// A plain axum handler's refusal: the error's status and its message in
/// the visitor's language, as text.
pub fn refusal(headers: &HeaderMap, error: &crate::error::AppError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let text = crate::i18n::tr(from_headers(headers), error.message_id());
    let status = http::StatusCode::from_u16(error.status()).unwrap_or(http::StatusCode::FORBIDDEN);
    (status, [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(http::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap())).collect()
    }

    #[test]
    fn cookie_beats_accept_language() {
        let h = headers(&[(COOKIE, "sid=abc; lang=ko"), (ACCEPT_LANGUAGE, "ja")]);
        assert_eq!(from_headers(&h), Locale::Ko);
    }

    #[test]
    fn similar_cookie_names_are_not_confused() {
        let h = headers(&[(COOKIE, "xlang=ko; slang=ja"), (ACCEPT_LANGUAGE, "en")]);
        assert_eq!(from_headers(&h), Locale::En);
    }

    #[test]
    fn accept_language_without_cookie() {
        assert_eq!(from_headers(&headers(&[(ACCEPT_LANGUAGE, "ja-JP,ja;q=0.9")])), Locale::Ja);
        assert_eq!(from_headers(&HeaderMap::new()), Locale::En);
    }
}
