//! Lighthouse (npm, in bench/node_modules) driving Debian's Chromium headless
//! with its default mobile emulation and simulated slow-4G throttling.

use crate::report::{Budget, Report, Row};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

pub struct Scores {
    pub performance: f64,
    pub accessibility: f64,
    pub best_practices: f64,
    /// Audits that did not pass, for the notes.
    pub failing: Vec<String>,
}

fn run_once(bench_dir: &Path, url: &str, cookie: Option<&str>, out: &Path) -> Result<Scores> {
    let mut command = Command::new(bench_dir.join("node_modules/.bin/lighthouse"));
    command
        .arg(url)
        .args(["--quiet", "--output=json", "--only-categories=performance,accessibility,best-practices"])
        .arg("--chrome-flags=--headless=new --no-sandbox --disable-gpu")
        .arg(format!("--output-path={}", out.display()))
        .env("CHROME_PATH", "/usr/bin/chromium");
    if let Some(cookie) = cookie {
        command.arg(format!("--extra-headers={}", serde_json::json!({ "Cookie": cookie })));
    }
    let status = command.status().context("lighthouse is not installed (scripts/setup installs bench/)")?;
    anyhow::ensure!(status.success(), "lighthouse failed on {url}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out)?)?;
    if let Some(error) = json.get("runtimeError") {
        anyhow::bail!("lighthouse could not load {url}: {error}");
    }
    let score = |category: &str| json["categories"][category]["score"].as_f64().map(|s| s * 100.0).context("no score");
    let mut failing = Vec::new();
    if let Some(audits) = json["audits"].as_object() {
        for (id, audit) in audits {
            let binary = matches!(audit["scoreDisplayMode"].as_str(), Some("binary" | "numeric" | "metricSavings"));
            if binary && audit["score"].as_f64().is_some_and(|s| s < 0.9) {
                failing.push(format!("{id} {}", audit["displayValue"].as_str().unwrap_or("")).trim().to_owned());
            }
        }
    }
    Ok(Scores { performance: score("performance")?, accessibility: score("accessibility")?, best_practices: score("best-practices")?, failing })
}

/// Median of three runs per category (Lighthouse's own advice for noisy machines).
/// `budgets`: minimum performance, accessibility and best-practices scores (`None`: reported only).
pub fn audit(report: &mut Report, bench_dir: &Path, work: &Path, name: &str, url: &str, cookie: Option<&str>, budgets: [Option<f64>; 3]) -> Result<()> {
    let mut runs = Vec::new();
    for i in 0..3 {
        runs.push(run_once(bench_dir, url, cookie, &work.join(format!("lighthouse-{}-{i}.json", name.replace(['/', ' '], "_"))))?);
    }
    let median = |f: fn(&Scores) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[1]
    };
    let [performance, accessibility, best_practices] = budgets.map(|b| b.map_or(Budget::None, Budget::AtLeast));
    report.push(Row::new(format!("Lighthouse {name}: performance"), median(|s| s.performance), "", performance));
    report.push(Row::new(format!("Lighthouse {name}: accessibility"), median(|s| s.accessibility), "", accessibility));
    report.push(Row::new(format!("Lighthouse {name}: best practices"), median(|s| s.best_practices), "", best_practices));
    let mut failing: Vec<String> = runs.iter().flat_map(|r| r.failing.clone()).collect();
    failing.sort();
    failing.dedup();
    if !failing.is_empty() {
        report.note(format!("Lighthouse {name}, audits below 90 in some run: {}", failing.join("; ")));
    }
    Ok(())
}
