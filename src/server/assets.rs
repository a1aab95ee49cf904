//! Static files of the site root (`target/site`: the dashboard bundle under
//! `/pkg`, `checkout.js`, the icon), held in memory and served with the
//! Brotli/gzip copies made at build time (`scripts/precompress`).
//!
//! Pages link them through [`url`], which appends a content hash (`?v=…`):
//! such a URL names one version forever, so browsers may keep it for a year,
//! and a new build changes the URL. A request without the hash revalidates
//! (`no-cache` + `ETag`).
//!
//! The WASM bundle is the exception: its JavaScript imports its split chunks
//! and itself again by *relative* URL, and a query string is not carried
//! over (the module would be instantiated twice). Its files are linked
//! through [`bundle_url`] instead, with the version of the whole `/pkg`
//! directory in the path (`/pkg/@<version>/paylinks.js`), which relative
//! URLs keep.

use axum::body::{Body, Bytes};
use axum::response::Response;
use http::{header, HeaderMap, Method, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// Files bigger than this are left to the slower on-disk handler.
const MAX_IN_MEMORY: u64 = 16 * 1024 * 1024;

struct Asset {
    content_type: &'static str,
    identity: Stored,
    brotli: Option<Bytes>,
    gzip: Option<Stored>,
    /// First 16 hex digits of the SHA-256 of `identity`.
    version: String,
}

/// A copy of a file held in memory, or read from disk when asked for (the
/// OS keeps it in its page cache). Browsers take the Brotli copy (memory);
/// a file that has one is read from disk for the rare client that takes
/// only gzip or nothing (the WASM bundle alone is some 3 MB uncompressed and
/// 1.2 MB gzip), which keeps the server's resident memory small. A length
/// from disk is not kept: the file is what gets sent, even if the site was
/// rebuilt in place since.
enum Stored {
    Memory(Bytes),
    Disk(std::path::PathBuf),
}

impl Stored {
    /// The body and, when known up front, its length.
    fn body(&self) -> (Body, Option<usize>) {
        match self {
            Stored::Memory(bytes) => (Body::from(bytes.clone()), Some(bytes.len())),
            Stored::Disk(path) => {
                let path = path.clone();
                let read = async move { tokio::fs::read(path).await.map(Bytes::from) };
                (Body::from_stream(futures_util::stream::once(read)), None)
            }
        }
    }
}

#[derive(Default)]
pub struct Assets {
    files: HashMap<String, Asset>,
    /// Hash of every file of `/pkg` (names and contents): the bundle's version.
    bundle_version: String,
}

/// The directory whose files [`bundle_url`] versions as a whole.
const BUNDLE_DIR: &str = "/pkg/";

static LOADED: OnceLock<Assets> = OnceLock::new();

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "wasm" => "application/wasm",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "html" => "text/html; charset=utf-8",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

impl Assets {
    /// Reads every file under `root` (once per process; later calls keep the first).
    pub fn load(root: &Path) -> &'static Assets {
        LOADED.get_or_init(|| {
            let assets = Assets::read(root);
            tracing::debug!(files = assets.files.len(), root = %root.display(), "static files loaded");
            assets
        })
    }

    fn read(root: &Path) -> Assets {
        let mut assets = Assets::default();
        assets.walk(root, root);
        let mut bundle: Vec<(&String, &String)> =
            assets.files.iter().filter(|(url, _)| url.starts_with(BUNDLE_DIR)).map(|(url, a)| (url, &a.version)).collect();
        bundle.sort();
        let mut hash = Sha256::new();
        for (url, version) in bundle {
            hash.update(format!("{url} {version}\n"));
        }
        assets.bundle_version = hex::encode(&hash.finalize()[..8]);
        assets
    }

    fn walk(&mut self, root: &Path, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                self.walk(root, &path);
                continue;
            }
            let name = path.to_string_lossy();
            if name.ends_with(".br") || name.ends_with(".gz") || meta.len() > MAX_IN_MEMORY {
                continue;
            }
            let Ok(identity) = std::fs::read(&path) else { continue };
            let Ok(relative) = path.strip_prefix(root) else { continue };
            let url = format!("/{}", relative.to_string_lossy().replace('\\', "/"));
            // A compressed copy older than its file is stale: ignore it.
            let fresh = |suffix: &str| {
                let copy = std::path::PathBuf::from(format!("{name}.{suffix}"));
                let newer = std::fs::metadata(&copy).and_then(|m| m.modified()).ok()? >= meta.modified().ok()?;
                newer.then_some(copy)
            };
            let version = hex::encode(&Sha256::digest(&identity)[..8]);
            let brotli = fresh("br").and_then(|copy| std::fs::read(copy).ok()).map(Bytes::from);
            let gzip = fresh("gz").and_then(|copy| match brotli {
                Some(_) => Some(Stored::Disk(copy)),
                None => std::fs::read(copy).ok().map(|bytes| Stored::Memory(Bytes::from(bytes))),
            });
            let identity = if brotli.is_some() || gzip.is_some() { Stored::Disk(path.clone()) } else { Stored::Memory(Bytes::from(identity)) };
            let asset = Asset { content_type: content_type(&url), brotli, gzip, identity, version };
            self.files.insert(url, asset);
        }
    }

    /// The response for a GET/HEAD of a static file, or `None` when `path` is not one.
    pub fn respond(&self, method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        // `/pkg/@<bundle version>/<file>`: the file, immutable while the bundle is this one.
        let in_bundle = path.strip_prefix(BUNDLE_DIR).and_then(|rest| rest.strip_prefix('@')).and_then(|rest| rest.split_once('/'));
        let (asset, versioned) = match in_bundle {
            Some((version, file)) => (self.files.get(&format!("{BUNDLE_DIR}{file}"))?, version == self.bundle_version),
            None => {
                let asset = self.files.get(path)?;
                (asset, query.is_some_and(|q| q.split('&').any(|pair| pair == format!("v={}", asset.version))))
            }
        };
        let etag = format!("\"{}\"", asset.version);
        let cache = if versioned { "public, max-age=31536000, immutable" } else { "no-cache" };
        let accepts = |coding: &str| {
            headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|c| {
                let mut parts = c.split(';');
                let name = parts.next().unwrap_or_default().trim();
                let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                name.eq_ignore_ascii_case(coding) && !refused
            })
        };
        let ((body, len), encoding) = match (&asset.brotli, &asset.gzip) {
            (Some(br), _) if accepts("br") => ((Body::from(br.clone()), Some(br.len())), Some("br")),
            (_, Some(gz)) if accepts("gzip") => (gz.body(), Some("gzip")),
            _ => (asset.identity.body(), None),
        };
        let not_modified = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag));
        let mut builder = Response::builder()
            .header(header::CONTENT_TYPE, asset.content_type)
            .header(header::CACHE_CONTROL, cache)
            .header(header::ETAG, &etag)
            .header(header::VARY, "Accept-Encoding");
        if not_modified {
            return builder.status(StatusCode::NOT_MODIFIED).body(Body::empty()).ok();
        }
        if let Some(encoding) = encoding {
            builder = builder.header(header::CONTENT_ENCODING, encoding);
        }
        if let Some(len) = len {
            builder = builder.header(header::CONTENT_LENGTH, len);
        }
        let body = if method == Method::HEAD { Body::empty() } else { body };
        builder.body(body).ok()
    }

    fn version(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(|a| a.version.as_str())
    }
}

/// `path` with its content hash (`/pkg/paylinks.css?v=…`), or as given when
/// the file is unknown (tests without a built site).
pub fn url(path: &str) -> String {
    match LOADED.get().and_then(|assets| assets.version(path)) {
        Some(version) => format!("{path}?v={version}"),
        None => path.to_owned(),
    }
}

/// `file` of the WASM bundle under the bundle's version (`/pkg/@…/paylinks.js`),
/// or plain `/pkg/file` when no site is loaded (tests without a built site).
pub fn bundle_url(file: &str) -> String {
    match LOADED.get().filter(|assets| assets.files.contains_key(&format!("{BUNDLE_DIR}{file}"))) {
        Some(assets) => format!("{BUNDLE_DIR}@{}/{file}", assets.bundle_version),
        None => format!("{BUNDLE_DIR}{file}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn assets(dir: &Path) -> Assets {
        Assets::read(dir)
    }

    fn get(assets: &Assets, path: &str, query: Option<&str>, headers: &[(&'static str, &'static str)]) -> Option<Response> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_static(v));
        }
        assets.respond(&Method::GET, path, query, &map)
    }

    #[test]
    fn serves_precompressed_copies_with_hashed_urls_cached_for_a_year() {
        let dir = std::env::temp_dir().join(format!("paylinks-assets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::write(dir.join("pkg/app.js"), "console.log('hello')").unwrap();
        std::fs::write(dir.join("pkg/app.js.br"), "BROTLI").unwrap();
        std::fs::write(dir.join("pkg/app.js.gz"), "GZIP").unwrap();
        std::fs::write(dir.join("favicon.svg"), "<svg/>").unwrap();
        let assets = assets(&dir);
        let version = assets.version("/pkg/app.js").unwrap().to_owned();
        assert_eq!(version.len(), 16);

        let br = get(&assets, "/pkg/app.js", Some(&format!("v={version}")), &[("accept-encoding", "gzip, deflate, br")]).unwrap();
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(br.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(br.headers()[header::CONTENT_LENGTH], "6");
        assert_eq!(br.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");

        let gz = get(&assets, "/pkg/app.js", None, &[("accept-encoding", "gzip, br;q=0")]).unwrap();
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(gz.headers()[header::CACHE_CONTROL], "no-cache", "an unversioned URL revalidates");
        let read = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let body = read.block_on(axum::body::to_bytes(gz.into_body(), usize::MAX)).unwrap();
        assert_eq!(&body[..], b"GZIP", "beside a Brotli copy, the gzip copy comes from disk");

        let plain = get(&assets, "/pkg/app.js", Some("v=0000000000000000"), &[]).unwrap();
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert!(plain.headers().get(header::CONTENT_LENGTH).is_none(), "the file's length is the one read, not one kept");
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache", "a stale version is not cached for a year");
        let body = read.block_on(axum::body::to_bytes(plain.into_body(), usize::MAX)).unwrap();
        assert_eq!(&body[..], b"console.log('hello')", "the plain file comes from disk");
        std::fs::write(dir.join("pkg/app.js"), "console.log('rebuilt in place')").unwrap();
        let rebuilt = get(&assets, "/pkg/app.js", None, &[]).unwrap();
        let body = read.block_on(axum::body::to_bytes(rebuilt.into_body(), usize::MAX)).unwrap();
        assert_eq!(&body[..], b"console.log('rebuilt in place')");

        let etag: &'static str = Box::leak(format!("\"{version}\"").into_boxed_str());
        let again = get(&assets, "/pkg/app.js", None, &[("if-none-match", etag)]).unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

        assert!(get(&assets, "/pkg/app.js.br", None, &[]).is_none(), "compressed copies are not files of their own");
        assert!(get(&assets, "/missing.js", None, &[]).is_none());
        assert!(assets.respond(&Method::POST, "/favicon.svg", None, &HeaderMap::new()).is_none());
        let icon = get(&assets, "/favicon.svg", None, &[]).unwrap();
        assert_eq!(icon.headers()[header::CONTENT_TYPE], "image/svg+xml");
        let body = read.block_on(axum::body::to_bytes(icon.into_body(), usize::MAX)).unwrap();
        assert_eq!(&body[..], b"<svg/>", "a file without compressed copies is served from memory");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_bundle_is_versioned_as_a_whole_in_the_path() {
        let dir = std::env::temp_dir().join(format!("paylinks-bundle-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::write(dir.join("pkg/app.js"), "import './chunk.js'").unwrap();
        std::fs::write(dir.join("pkg/chunk.js"), "one").unwrap();
        std::fs::write(dir.join("favicon.svg"), "<svg/>").unwrap();
        let first = assets(&dir);
        assert_eq!(first.bundle_version.len(), 16);
        let current = format!("/pkg/@{}/chunk.js", first.bundle_version);
        let chunk = get(&first, &current, None, &[]).unwrap();
        assert_eq!(chunk.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(chunk.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        let stale = get(&first, "/pkg/@0000000000000000/chunk.js", None, &[]).unwrap();
        assert_eq!(stale.headers()[header::CACHE_CONTROL], "no-cache", "another build's path still answers, but is not kept");
        assert!(get(&first, &format!("/pkg/@{}/missing.js", first.bundle_version), None, &[]).is_none());
        assert!(get(&first, "/pkg/@x", None, &[]).is_none());

        // Any file of the bundle changing gives the whole bundle a new version; others do not.
        std::fs::write(dir.join("favicon.svg"), "<svg></svg>").unwrap();
        assert_eq!(assets(&dir).bundle_version, first.bundle_version);
        std::fs::write(dir.join("pkg/chunk.js"), "two").unwrap();
        assert_ne!(assets(&dir).bundle_version, first.bundle_version);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
