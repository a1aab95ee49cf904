//! Shared test harness: throw-away databases on every configured backend, a
//! server on a free port, and an HTTP client (`reqwest`) speaking to it over
//! real sockets; a raw HTTP/1.1 writer is kept only for what a well-behaved
//! client refuses to send (attacks, bodies the server cuts off).
#![allow(dead_code)]

pub mod shop;
pub mod smtp;

use paylinks::server::{config::leptos_options, config::ConfigArgs, AppState};
use paylinks::web::http;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos % 1_000_000_007)
}

/// A fresh SQLite file, plus a fresh PostgreSQL database when
/// `PAYLINKS_TEST_POSTGRES_URL` is set.
pub async fn test_databases() -> Vec<TestDb> {
    let dir = std::env::temp_dir().join("paylinks-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let mut dbs = vec![TestDb { url: format!("sqlite://{}/{}.db", dir.display(), unique_name()), label: "sqlite" }];
    if let Ok(admin_url) = std::env::var("PAYLINKS_TEST_POSTGRES_URL") {
        dbs.push(TestDb { url: fresh_postgres_database(&admin_url).await, label: "postgres" });
    }
    dbs
}

async fn fresh_postgres_database(admin_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("paylinks_test_{}", unique_name());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(admin_url).await.expect("PAYLINKS_TEST_POSTGRES_URL must reach a PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let server = &base[..base.rfind('/').filter(|i| *i > base.find("://").unwrap() + 2).unwrap_or(base.len())];
    format!("{server}/{name}{query}")
}

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start_server(database_url: &str) -> TestServer {
    start_server_with(database_url, "https://komoju.invalid").await
}

/// A server whose KOMOJU connector talks to `komoju_url` (a stub).
pub async fn start_server_with(database_url: &str, komoju_url: &str) -> TestServer {
    start_server_configured(database_url, |args| args.komoju_url = komoju_url.to_owned()).await
}

/// A server with the test defaults changed by `configure`.
pub async fn start_server_configured(database_url: &str, configure: impl FnOnce(&mut ConfigArgs)) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = leptos_options().unwrap();
    let mut args = ConfigArgs {
        bind: Some(addr),
        database_url: database_url.to_owned(),
        public_url: None,
        trusted_proxies: String::new(),
        // High enough for a test's sign-ups; the limit's own test lowers it.
        sign_up_limit: 1_000,
        // Tests pay in bulk from 127.0.0.1; the limits' own test lowers them.
        checkout_rate_limit: 1_000_000,
        checkout_link_rate_limit: 1_000_000,
        lookup_rate_limit: 1_000_000,
        komoju_webhook_max_age_minutes: 3 * 24 * 60,
        metrics_bind: "off".into(),
        max_connections: 4096,
        request_timeout_secs: 15,
        expiry_interval_secs: 0,
        secret_key: Some(paylinks::server::secrets::SecretBox::generate_hex()),
        secret_key_file: "unused".into(),
        komoju_url: "https://komoju.invalid".into(),
        // High enough that only the rate-limit test meets it.
        api_rate_limit: 10_000,
        webhook_concurrency: 8,
        // Retries within the test's patience; receivers listen on 127.0.0.1.
        webhook_retry_base_ms: 200,
        webhook_timeout_secs: 2,
        webhook_allow_private_networks: true,
        // No SMTP: each email becomes a file of this server's own.
        smtp_url: None,
        mail_from: None,
        mail_dir: std::env::temp_dir().join(format!("paylinks-test-mail-{}-{}", std::process::id(), addr.port())),
        email_retry_base_ms: 300,
    };
    configure(&mut args);
    let config = args.settle(&options).unwrap();
    let state = http::build_state(config, options).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = state.clone();
    tokio::spawn(async move {
        http::serve_on(listener, serving, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    TestServer { addr, state, stop: Some(stop) }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Lower-case names; repeated headers joined with "\n".
    pub headers: BTreeMap<String, String>,
    /// The body as text (lossy for binary bodies; see `bytes`).
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

impl TestServer {
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers, "").await
    }

    /// A same-origin form post, as the site's own pages send it.
    pub async fn post_form(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        let origin = self.origin();
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin.as_str())];
        all.extend_from_slice(headers);
        self.request("POST", path, &all, body).await
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A browser with its own cookie jar.
    pub fn browser(&self) -> Browser<'_> {
        Browser { server: self, cookies: BTreeMap::new() }
    }

    /// One request on a new connection.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        self.request_bytes(method, path, headers, body.as_bytes()).await
    }

    pub async fn request_bytes(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        // The server answers an oversized body (413) and closes before it has
        // all arrived; an HTTP client reports that as a failed send.
        if body.len() > 1024 * 1024 {
            return raw_request(self.addr, method, path, headers, body).await.expect("a complete HTTP response");
        }
        send(self.addr, method, path, headers, body).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

/// One client for every test: no redirects followed, no proxy from the
/// environment, no decompression, and a new connection per request (as the
/// tests' separate visitors would open).
fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().pool_max_idle_per_host(0).build().expect("an HTTP client")
    })
}

async fn send(addr: std::net::SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response, reqwest::Error> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let mut request = client().request(method.clone(), format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if method != reqwest::Method::GET && method != reqwest::Method::HEAD {
        request = request.body(body.to_vec());
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let mut joined = BTreeMap::new();
    for (name, value) in response.headers() {
        add_header(&mut joined, name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
    }
    let bytes = response.bytes().await?.to_vec();
    Ok(Response { status, headers: joined, body: String::from_utf8_lossy(&bytes).into_owned(), bytes })
}

/// One request to `addr` on a new connection; `None` when the server is not
/// there or the connection ends before a complete response (a killed server).
pub async fn try_request(addr: std::net::SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<Response> {
    send(addr, method, path, headers, body).await.ok()
}

/// The request written by hand on a raw socket, for what `reqwest` will not
/// send; `None` when the connection ends before a complete response.
pub async fn raw_request(addr: std::net::SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<Response> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.ok()?;
    // The server may answer (e.g. 413) and close before reading everything.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    try_parse_response(&raw, method == "HEAD")
}

/// A response, or `None` when `raw` is cut short (a HEAD answer has no body).
pub fn try_parse_response(raw: &[u8], head_only: bool) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut headers = BTreeMap::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        add_header(&mut headers, name.trim(), value.trim());
    }
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        body = dechunk(&body)?;
    } else if let Some(length) = headers.get("content-length").and_then(|l| l.parse::<usize>().ok()) {
        if body.len() < length && !head_only {
            return None;
        }
    }
    Some(Response { status, headers, body: String::from_utf8_lossy(&body).into_owned(), bytes: body })
}

/// Lower-case names; a repeated header's values joined with "\n" (see [`Response`]).
fn add_header(headers: &mut BTreeMap<String, String>, name: &str, value: &str) {
    headers
        .entry(name.to_ascii_lowercase())
        .and_modify(|v| {
            v.push('\n');
            v.push_str(value);
        })
        .or_insert_with(|| value.to_owned());
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Keeps cookies between requests, like a browser does for one site.
pub struct Browser<'a> {
    pub server: &'a TestServer,
    pub cookies: BTreeMap<String, String>,
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, response: &Response) {
        for line in response.header("set-cookie").unwrap_or_default().lines() {
            let pair = line.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = line.contains("Max-Age=0");
                if value.is_empty() || expired {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let cookie = self.cookie_header();
        let response = self.server.get(path, &[("Cookie", &cookie), ("Accept", "text/html")]).await;
        self.keep_cookies(&response);
        response
    }

    /// Calls a `#[server]` function the way the hydrated app does.
    pub async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        let body = encode_form(form);
        let cookie = self.cookie_header();
        let response = self.server.post_form(&format!("/api/{endpoint}"), &[("Cookie", &cookie)], &body).await;
        self.keep_cookies(&response);
        response
    }

    /// Uploads one file as `multipart/form-data` field `field`.
    pub async fn upload(&mut self, endpoint: &str, field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> Response {
        let boundary = "----paylinks-test-boundary";
        let mut body =
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n")
                .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let cookie = self.cookie_header();
        let origin = self.server.origin();
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let headers = [("Content-Type", content_type.as_str()), ("Origin", origin.as_str()), ("Cookie", cookie.as_str())];
        let response = self.server.request_bytes("POST", &format!("/api/{endpoint}"), &headers, &body).await;
        self.keep_cookies(&response);
        response
    }

    pub fn session(&self) -> Option<&String> {
        self.cookies.get("pl_session")
    }
}

pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The real `paylinks serve` process.
pub struct ServerProcess {
    pub addr: std::net::SocketAddr,
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts it on a free port and waits until it answers `/healthz`.
    pub async fn start(database_url: &str, secret_key: &str) -> ServerProcess {
        ServerProcess::start_with(database_url, secret_key, &[]).await
    }

    /// The same with more settings (`PAYLINKS_…` variables).
    pub async fn start_with(database_url: &str, secret_key: &str, env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::start_at(free_port(), database_url, secret_key, env).await
    }

    /// The same on `addr` (a restarted server takes its old address back).
    // The child is killed and waited for on drop (also when the start-up wait panics).
    #[allow(clippy::zombie_processes)]
    pub async fn start_at(addr: std::net::SocketAddr, database_url: &str, secret_key: &str, env: &[(&str, &str)]) -> ServerProcess {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_paylinks"));
        command
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("DATABASE_URL", database_url)
            .env("PAYLINKS_BIND", addr.to_string())
            .env("PAYLINKS_SECRET_KEY", secret_key)
            .env("PAYLINKS_EXPIRY_INTERVAL", "1")
            .env("PAYLINKS_WEBHOOK_RETRY_BASE_MS", "200")
            .env("PAYLINKS_WEBHOOK_TIMEOUT", "2")
            .env("PAYLINKS_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
            .env("PAYLINKS_SIGN_UP_LIMIT", "100000")
            .env("PAYLINKS_CHECKOUT_RATE_LIMIT", "1000000")
            .env("PAYLINKS_CHECKOUT_LINK_RATE_LIMIT", "1000000")
            .env("PAYLINKS_LOOKUP_RATE_LIMIT", "1000000")
            .env("RUST_LOG", "error")
            .env("PAYLINKS_METRICS_BIND", "off")
            // The caller's settings win over the defaults above.
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null());
        let child = command.spawn().expect("the paylinks binary starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if try_request(addr, "GET", "/healthz", &[], b"").await.is_some_and(|r| r.status == 200) {
                return ServerProcess { child, addr };
            }
            assert!(std::time::Instant::now() < deadline, "the server did not come up on {addr}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// SIGTERM, as systemd or an orchestrator stops it, and waits until it
    /// has exited (after draining what it was doing).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(sent.success(), "kill -TERM");
        self.child.wait().unwrap()
    }

    /// SIGKILL: no shutdown hook, no flush, nothing finishes in flight.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// A browser that keeps its session cookie, whichever server answers.
#[derive(Clone, Default)]
pub struct Visitor {
    pub cookie: String,
}

impl Visitor {
    /// Calls a `#[server]` function on `server`, as a page of that server would.
    pub async fn call(&mut self, server: std::net::SocketAddr, endpoint: &str, form: &[(&str, &str)]) -> Response {
        self.call_from(&format!("http://{server}"), server, endpoint, form).await
    }

    /// The same from a page of `origin` (the public URL servers behind a proxy share).
    pub async fn call_from(&mut self, origin: &str, server: std::net::SocketAddr, endpoint: &str, form: &[(&str, &str)]) -> Response {
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin)];
        if !self.cookie.is_empty() {
            headers.push(("Cookie", self.cookie.as_str()));
        }
        let res = try_request(server, "POST", &format!("/api/{endpoint}"), &headers, encode_form(form).as_bytes()).await.unwrap();
        for line in res.header("set-cookie").unwrap_or_default().lines() {
            if let Some(pair) = line.split(';').next().filter(|p| p.starts_with("pl_session=")) {
                self.cookie = pair.to_owned();
            }
        }
        res
    }
}

/// The application's tables (not the migration ledger or SQLite's own), on either backend.
pub async fn app_tables(pool: &sqlx::AnyPool) -> Vec<String> {
    use sqlx::Row;
    let names: Vec<String> = match sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'").fetch_all(pool).await {
        Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
        Err(_) => sqlx::query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    names.into_iter().filter(|t| !t.starts_with("_sqlx") && !t.starts_with("sqlite_")).collect()
}

/// The single number `sql` selects.
pub async fn count(db: &paylinks::server::db::Db, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql).fetch_one(db.pool()).await.unwrap().get(0)
}

/// Log output captured in memory (a `tracing` writer).
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
