//! `make bench`: every performance budget of Paylinks in one run, each figure
//! beside the baseline it is judged against (measured in the same run: these
//! machines are noisy). Prints a Markdown table (also written to
//! `target/bench/latest.md`) and exits non-zero when a budget is missed.
//!
//! Environment: `PAYLINKS_BIN` (the release server), `LEPTOS_SITE_ROOT`
//! (default `target/site`), `PAYLINKS_TEST_POSTGRES_URL` (PostgreSQL runs too
//! when set), `BENCH_PAYMENTS` (default 1,000,000), `BENCH_ONLY` (a comma list
//! of parts: startup, checkout, payments, lighthouse, bundle, scale).

mod checkout;
mod footprint;
mod lighthouse;
mod payments;
mod report;
mod scale;
mod server;

use anyhow::{Context, Result};
use paylinks::server::db::Db;
use report::{Budget, Report, Row};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn wanted(part: &str) -> bool {
    match std::env::var("BENCH_ONLY") {
        Ok(only) if !only.trim().is_empty() => only.split(',').any(|p| p.trim() == part),
        _ => true,
    }
}

/// A fresh PostgreSQL database next to the one `url` names.
async fn fresh_postgres(url: &str, name: &str) -> Result<String> {
    let admin = Db::connect(url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(admin.pool()).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await?;
    admin.close().await;
    let (base, _) = url.rsplit_once('/').context("PostgreSQL URL without a database")?;
    Ok(format!("{base}/{name}"))
}

struct Setup {
    bin: PathBuf,
    site: PathBuf,
    bench_dir: PathBuf,
    work: PathBuf,
    payments: i64,
    postgres: Option<String>,
}

/// Everything that runs against one live server on SQLite: start-up, idle
/// memory, checkout throughput and weight, payments, Lighthouse.
async fn sqlite_server(report: &mut Report, setup: &Setup) -> Result<()> {
    if !["startup", "checkout", "payments", "lighthouse"].iter().any(|p| wanted(p)) {
        return Ok(());
    }
    let url = format!("sqlite://{}", setup.work.join("app.db").display());
    let db = Db::connect(&url).await?;
    // The links' URLs are only shown, never fetched: any base will do.
    let shop = server::seed_shop(&db, "http://127.0.0.1").await?;
    let site = server::copy_site(&setup.site, &setup.work.join("site"))?;
    let (probe, _) = server::Server::start(&setup.bin, &url, &site, &setup.work).await?;
    checkout::write_static_copy(&probe.base, &shop.slug, &site).await?;
    probe.stop();
    let (app, startup) = server::Server::start(&setup.bin, &url, &site, &setup.work).await?;
    let cookie = format!("pl_session={}", shop.session);
    if wanted("startup") {
        report.push(Row::new("server start-up to first answered request (SQLite, existing DB)", startup.as_secs_f64() * 1000.0, "ms", Budget::AtMost(300.0)));
        let client = reqwest::Client::new();
        for _ in 0..20 {
            client.get(format!("{}/pay/{}", app.base, shop.slug)).send().await?.error_for_status()?.bytes().await?;
        }
        for path in ["/dashboard/links", "/dashboard/transactions"] {
            client.get(format!("{}{path}", app.base)).header("Cookie", &cookie).send().await?.error_for_status()?.bytes().await?;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        report.push(Row::new("server idle RSS after serving checkout and dashboard", app.rss()? as f64 / 1048576.0, "MB", Budget::AtMost(60.0)));
    }
    if wanted("checkout") {
        checkout::weight(report, &app.base, &shop.slug).await?;
        checkout::throughput(report, &app.base, &shop.slug).await?;
    }
    if wanted("payments") {
        payments::throughput(report, "SQLite", &setup.bin, &url, &db, &app.base, &shop).await?;
    }
    if wanted("lighthouse") {
        let base = &app.base;
        lighthouse::audit(
            report,
            &setup.bench_dir,
            &setup.work,
            "checkout",
            &format!("{base}/pay/{}", shop.slug),
            None,
            [Some(98.0), Some(100.0), Some(95.0)],
        )?;
        for page in ["/dashboard/links".to_owned(), format!("/dashboard/links/{}", shop.link_id), "/dashboard/transactions".to_owned()] {
            lighthouse::audit(report, &setup.bench_dir, &setup.work, &page, &format!("{base}{page}"), Some(&cookie), [Some(90.0), None, None])?;
        }
    }
    if wanted("startup") {
        report.push(Row::new("server RSS after all the load above", app.rss()? as f64 / 1048576.0, "MB", Budget::None));
    }
    app.stop();
    db.close().await;
    Ok(())
}

async fn postgres_server(report: &mut Report, setup: &Setup, postgres: &str) -> Result<()> {
    if !wanted("payments") {
        return Ok(());
    }
    let url = fresh_postgres(postgres, "paylinks_bench_app").await?;
    let db = Db::connect(&url).await?;
    let shop = server::seed_shop(&db, "http://127.0.0.1").await?;
    let (app, _) = server::Server::start(&setup.bin, &url, &setup.site, &setup.work).await?;
    payments::throughput(report, "PostgreSQL", &setup.bin, &url, &db, &app.base, &shop).await?;
    app.stop();
    db.close().await;
    Ok(())
}

async fn scale(report: &mut Report, setup: &Setup) -> Result<()> {
    if !wanted("scale") {
        return Ok(());
    }
    let db = Db::connect(&format!("sqlite://{}", setup.work.join("scale.db").display())).await?;
    scale::run(report, "SQLite", &db, "http://127.0.0.1", setup.payments).await?;
    db.close().await;
    if let Some(postgres) = &setup.postgres {
        let db = Db::connect(&fresh_postgres(postgres, "paylinks_bench_scale").await?).await?;
        scale::run(report, "PostgreSQL", &db, "http://127.0.0.1", setup.payments).await?;
        db.close().await;
    }
    Ok(())
}

async fn run(report: &mut Report) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var_os("PAYLINKS_BIN").map(PathBuf::from).unwrap_or_else(|| root.join("target/release/paylinks"));
    let site = std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from).unwrap_or_else(|| root.join("target/site"));
    let work = std::env::temp_dir().join(format!("paylinks-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let setup = Setup {
        bin,
        site: site.clone(),
        bench_dir: root.join("bench"),
        work: work.clone(),
        payments: std::env::var("BENCH_PAYMENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000),
        postgres: std::env::var("PAYLINKS_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()),
    };
    eprintln!("[bench] work directory {}", work.display());
    if wanted("bundle") {
        footprint::bundle(report, &site.join("pkg"))?;
    }
    sqlite_server(report, &setup).await?;
    if let Some(postgres) = &setup.postgres {
        postgres_server(report, &setup, postgres).await?;
    } else {
        report.note("PostgreSQL not measured: PAYLINKS_TEST_POSTGRES_URL is not set (make bench sets it)");
    }
    scale(report, &setup).await?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

#[tokio::main]
async fn main() {
    let mut report = Report::default();
    let outcome = run(&mut report).await;
    let table = report.markdown();
    println!("{table}");
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&out_dir).and_then(|()| std::fs::write(out_dir.join("latest.md"), &table));
    if let Err(e) = outcome {
        eprintln!("[bench] error: {e:#}");
        std::process::exit(2);
    }
    let failed = report.failed();
    if failed > 0 {
        eprintln!("[bench] {failed} budget(s) missed");
        std::process::exit(1);
    }
    eprintln!("[bench] every budget met");
}
