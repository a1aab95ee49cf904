//! The app under test: a real `paylinks serve` process on a free loopback
//! port, with its own database and a copy of the site root.

use anyhow::{bail, Context, Result};
use paylinks::domain::fields::NewPassword;
use paylinks::domain::link::LinkInput;
use paylinks::domain::{Locale, Role};
use paylinks::server::{auth, db::Db, links};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A merchant with one Japanese test-mode link and a dashboard session.
pub struct Shop {
    pub account_id: i64,
    pub link_id: i64,
    pub slug: String,
    pub session: String,
}

/// Creates the shop through the same service functions the app uses.
pub async fn seed_shop(db: &Db, public_url: &str) -> Result<Shop> {
    let password = NewPassword::parse("bench-password-2026").map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = auth::hash_password(&password).await.map_err(app)?;
    let email = format!("bench-{}@example.jp", paylinks::server::ids::random_token()[..8].to_lowercase());
    let account_id = auth::create_account(db, &email, "ベンチ茶舗", &hash, Role::Merchant, Locale::Ja).await.map_err(app)?;
    let account = auth::account_by_id(db, account_id).await.map_err(app)?.context("account vanished")?;
    let account = auth::Merchant::of(account).map_err(app)?;
    let input = LinkInput {
        name: "抹茶セット（2缶）".into(),
        description: "宇治抹茶 30g × 2缶。税込。ご注文から3営業日以内に発送します。未開封に限り到着後8日以内の返品を承ります。".into(),
        amount: "1500".into(),
        currency: "JPY".into(),
        language: "ja".into(),
        ..Default::default()
    }
    .new_link(account.locale, account.time_zone, paylinks::server::db::now_ms())
    .map_err(|e| app(e.into()))?;
    let link = links::create(paylinks::server::Ctx { db, public_url }, &account, &input).await.map_err(app)?;
    let session = auth::create_session(db, account_id).await.map_err(app)?;
    Ok(Shop { account_id, link_id: link.id, slug: link.slug.clone(), session })
}

pub fn app(e: paylinks::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts the server and waits for its first answered request
    /// (`/healthz` 200); returns the time that took.
    pub async fn start(bin: &Path, database_url: &str, site_root: &Path, work: &Path) -> Result<(Server, Duration)> {
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(work.join(format!("server-{port}.log")))?;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let started = Instant::now();
        let child = Command::new(bin)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("PAYLINKS_BIND", format!("127.0.0.1:{port}"))
            .env("PAYLINKS_PUBLIC_URL", &base)
            .env("PAYLINKS_SECRET_KEY", "7".repeat(64))
            .env("LEPTOS_SITE_ROOT", site_root)
            .env("RUST_LOG", "warn")
            .env("PAYLINKS_METRICS_BIND", "off")
            // The load comes from one address onto one link, by design.
            .env("PAYLINKS_CHECKOUT_RATE_LIMIT", "1000000000")
            .env("PAYLINKS_CHECKOUT_LINK_RATE_LIMIT", "1000000000")
            .env("PAYLINKS_LOOKUP_RATE_LIMIT", "1000000000")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let server = Server { child, base };
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await {
                if r.status().is_success() {
                    return Ok((server, started.elapsed()));
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("server did not answer within 30 s (see {})", work.display());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Resident memory of the server process, in bytes.
    pub fn rss(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kb: u64 =
            status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).context("no VmRSS")?;
        Ok(kb * 1024)
    }

    pub fn stop(mut self) {
        // SIGTERM: a graceful stop closes the database cleanly.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A copy of the built site (`target/site`) the benchmark may add files to.
pub fn copy_site(from: &Path, to: &Path) -> Result<PathBuf> {
    let status = Command::new("cp").arg("-r").arg(from).arg(to).status()?;
    anyhow::ensure!(status.success(), "cannot copy {}", from.display());
    Ok(to.to_path_buf())
}
