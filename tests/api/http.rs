//! The server through real HTTP: pages, language negotiation, server functions.
use crate::common;

use common::{start_server, test_databases};

#[tokio::test]
async fn health_check_reports_a_live_database() {
    for db in test_databases().await {
        let server = start_server(&db.url).await;
        let res = server.get("/healthz", &[]).await;
        assert_eq!((res.status, res.body.as_str()), (200, "ok"), "{}", db.label);
    }
}

#[tokio::test]
async fn landing_page_is_server_rendered_in_the_negotiated_language() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let cases = [
        (vec![], "en", "Payment links that just work"),
        (vec![("Accept-Language", "ja-JP,ja;q=0.9,en;q=0.8")], "ja", "すぐに使える決済リンク"),
        (vec![("Accept-Language", "ko-KR")], "ko", "바로 쓰는 결제 링크"),
        (vec![("Accept-Language", "ja"), ("Cookie", "lang=ko")], "ko", "바로 쓰는 결제 링크"),
        (vec![("Accept-Language", "de, fr;q=0.8")], "en", "Payment links that just work"),
    ];
    for (headers, lang, title) in cases {
        let res = server.get("/", &headers).await;
        assert_eq!(res.status, 200);
        assert!(res.header("content-type").unwrap().starts_with("text/html"));
        assert!(res.body.contains(&format!("<html lang=\"{lang}\"")), "{headers:?}: {}", &res.body[..200.min(res.body.len())]);
        assert!(res.body.contains(&format!("<h1>{title}</h1>")), "{headers:?} lacks {title}");
        assert!(res.body.contains(&format!("<title>{title} | Paylinks</title>")), "{headers:?}: title tag");
        // The hydration script is part of the page.
        assert!(res.body.contains("paylinks.js"), "no hydration script");
    }
}

/// The URL of the bundle's script, as the page's hydration script imports it.
fn bundle_script(page: &str) -> &str {
    let start = page.find("import(\"").expect("the hydration script imports the bundle") + "import(\"".len();
    &page[start..start + page[start..].find('"').unwrap()]
}

#[tokio::test]
async fn the_bundle_is_linked_under_its_version_and_cached_for_a_year() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let page = server.get("/", &[]).await;
    let js = bundle_script(&page.body);
    let Some(versioned) = js.strip_prefix("/pkg/@") else {
        // No site is built (a bare `cargo test`): the plain path, nothing to fetch.
        assert_eq!(js, "/pkg/paylinks.js");
        return;
    };
    assert!(versioned.ends_with("/paylinks.js") && versioned.len() == 16 + "/paylinks.js".len(), "{js}");
    // The split chunks and the WASM are imported relative to the script: the same version prefix.
    assert!(page.body.contains(&js.replace("paylinks.js", "paylinks.wasm")), "the WASM shares the script's prefix");
    for path in [js.to_owned(), js.replace("paylinks.js", "paylinks.wasm")] {
        let res = server.get(&path, &[("Accept-Encoding", "br")]).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("cache-control"), Some("public, max-age=31536000, immutable"), "{path}");
        assert_eq!(res.header("content-encoding"), Some("br"), "{path}: precompressed");
    }
    let stale = server.get(&js.replace(&versioned[..16], "0000000000000000"), &[]).await;
    assert_eq!((stale.status, stale.header("cache-control")), (200, Some("no-cache")), "another build's URL is answered but not kept");
}

/// `scripts/pack-splits`: each lazy split (a route, the QR encoder) is one
/// file holding all its modules, and the loader fetches nothing else.
#[tokio::test]
async fn each_lazy_split_is_one_pack_of_its_modules() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let page = server.get("/", &[]).await;
    let js = bundle_script(&page.body);
    if !js.starts_with("/pkg/@") {
        return; // No site is built (a bare `cargo test`).
    }
    let base = js.trim_end_matches("paylinks.js");
    let loader = server.get(&format!("{base}__wasm_split.______________________.js"), &[]).await;
    assert_eq!(loader.status, 200);
    assert!(loader.body.contains("/* paylinks: packed splits */") && !loader.body.contains(".wasm\""), "the loader fetches packs only");
    let manifest = server.get(&format!("{base}__wasm_split_manifest.json"), &[]).await;
    let splits: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(&manifest.body).unwrap();
    assert!(splits.keys().any(|s| s.starts_with("__link_detail_route")) && splits.keys().any(|s| s.starts_with("encode_qr")), "{splits:?}");
    for (split, files) in &splits {
        let path = format!("{base}split_{split}.pack");
        assert!(loader.body.contains(&format!("inPack(\"{split}\"")), "{split}: its loader reads its pack");
        let compressed = server.get(&path, &[("Accept-Encoding", "br")]).await;
        assert_eq!((compressed.status, compressed.header("content-encoding")), (200, Some("br")), "{path}");
        assert_eq!(compressed.header("cache-control"), Some("public, max-age=31536000, immutable"), "{path}");
        // The pack: u32 count, then (u16 name length, name, u32 size) each, then the modules.
        let pack = server.get(&path, &[]).await.bytes;
        let u32_at = |at: usize| u32::from_le_bytes(pack[at..at + 4].try_into().unwrap()) as usize;
        let mut at = 4;
        let mut index = Vec::new();
        for _ in 0..u32_at(0) {
            let length = u16::from_le_bytes(pack[at..at + 2].try_into().unwrap()) as usize;
            index.push((String::from_utf8(pack[at + 2..at + 2 + length].to_vec()).unwrap(), u32_at(at + 2 + length)));
            at += 6 + length;
        }
        assert_eq!(&index.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(), files, "{split}: the manifest's files, in order");
        for (name, size) in index {
            assert_eq!(&pack[at..at + 4], b"\0asm", "{split}: {name} is a WASM module");
            at += size;
        }
        assert_eq!(at, pack.len(), "{split}: nothing after the last module");
        let single = server.get(&format!("{base}{}.wasm", files[0]), &[]).await;
        assert_eq!(single.status, 404, "{split}: the single files are gone");
    }
}

/// The browser's WASM carries no messages: the page's loader fetches the
/// catalog of the language the page was rendered in, under its version.
#[tokio::test]
async fn the_pages_message_catalog_is_fetched_beside_the_bundle() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let page = server.get("/", &[("Accept-Language", "ko")]).await;
    let start = page.body.find("fetch(\"").expect("the loader fetches the catalog") + "fetch(\"".len();
    let url = &page.body[start..start + page.body[start..].find('"').unwrap()];
    assert_eq!(url, paylinks::i18n::catalog_url(paylinks::domain::Locale::Ko));
    let res = server.get(url, &[("Accept-Encoding", "br")]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(res.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(res.header("content-encoding"), Some("br"), "compressed");
    let ko = server.get(url, &[]).await;
    assert!(ko.body.contains("바로 쓰는 결제 링크"), "the page's language");
    assert!(!ko.body.contains("すぐに使える決済リンク") && !ko.body.contains("Payment links that just work"), "one language only");
    let checkout_only = paylinks::i18n::tr(paylinks::domain::Locale::Ko, "checkout-test-banner");
    assert_ne!(checkout_only, "checkout-test-banner", "a message of the checkout catalog");
    assert!(!ko.body.contains("checkout-test-banner"), "the checkout's messages stay on the server");
    let stale = server.get("/i18n/ko.ftl?v=0000000000000000", &[]).await;
    assert_eq!((stale.status, stale.header("cache-control")), (200, Some("no-cache")));
    for missing in ["/i18n/de.ftl", "/i18n/ko", "/i18n/..%2Fko.ftl"] {
        assert_eq!(server.get(missing, &[]).await.status, 404, "{missing}");
    }
}

#[tokio::test]
async fn sign_in_page_renders_its_form() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let res = server.get("/signin", &[("Accept-Language", "ja")]).await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("Paylinks にログイン"));
    assert!(res.body.contains(r#"<label for="signin-email">メールアドレス</label>"#));
    assert!(res.body.contains(r#"id="signin-password""#));
}

#[tokio::test]
async fn unknown_page_is_a_localized_404() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let res = server.get("/no/such/page", &[("Accept-Language", "ko")]).await;
    assert_eq!(res.status, 404);
    assert!(res.body.contains("페이지를 찾을 수 없습니다"));
}

#[tokio::test]
async fn set_locale_remembers_the_choice_in_a_cookie() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let res = server.post_form("/api/set_locale", &[], "locale=ko").await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body, "\"ko\"");
    let cookie = res.header("set-cookie").expect("a cookie");
    assert!(cookie.starts_with("lang=ko;") && cookie.contains("Path=/") && cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn set_locale_without_javascript_redirects_back() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let referer = format!("http://{}/signin", server.addr);
    let res = server.post_form("/api/set_locale", &[("Accept", "text/html"), ("Referer", &referer)], "locale=ja").await;
    assert_eq!(res.status, 302);
    assert_eq!(res.header("location"), Some(referer.as_str()));
    assert!(res.header("set-cookie").unwrap().starts_with("lang=ja;"));
}

#[tokio::test]
async fn set_locale_refuses_unsupported_languages_and_sets_nothing() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    for body in ["locale=fr", "locale=", "", "locale=JA", "locale=ja%00"] {
        let res = server.post_form("/api/set_locale", &[], body).await;
        assert!((400..500).contains(&res.status), "{body:?} gave {}", res.status);
        assert!(res.header("set-cookie").is_none(), "{body:?} set a cookie");
    }
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    for path in ["/", "/signin", "/healthz", "/no/such/page"] {
        let res = server.get(path, &[]).await;
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(res.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(res.header("referrer-policy"), Some("strict-origin-when-cross-origin"), "{path}");
        assert!(res.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"), "{path}");
        assert!(res.header("strict-transport-security").is_none(), "no HSTS over plain http");
    }
    let res = server.post_form("/api/set_locale", &[], "locale=ja").await;
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn scripts_run_only_from_this_origin_or_with_the_pages_nonce() {
    use common::shop::{link, merchant};
    let db = &test_databases().await[0];
    let server = start_server(&db.url).await;
    let mut shop = merchant(&server, "csp@example.com").await;
    let (id, slug) = link(&mut shop, "Bancha", "500", &[]).await;

    // The checkout has no inline script at all.
    let checkout = server.get(&format!("/pay/{slug}"), &[]).await;
    let policy = checkout.header("content-security-policy").unwrap().to_owned();
    assert!(policy.contains("script-src 'self';") && !policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!checkout.body.contains("<script>") && !checkout.body.contains("<script type=\"module\">"));

    // Dashboard pages: every inline script carries the nonce of its response, a new one each time.
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let page = shop.get(&format!("/dashboard/links/{id}")).await;
        assert_eq!(page.status, 200);
        let policy = page.header("content-security-policy").unwrap().to_owned();
        let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce").to_owned();
        assert!(!policy.contains("unsafe-inline") && policy.contains("'wasm-unsafe-eval'"), "{policy}");
        let scripts: Vec<&str> = page.body.split("<script").skip(1).map(|s| &s[..s.find('>').unwrap()]).collect();
        assert!(!scripts.is_empty());
        for attrs in scripts {
            assert!(attrs.contains(&format!("nonce=\"{nonce}\"")), "a script without this page's nonce: <script{attrs}>");
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);
}
