//! The customer's checkout: throughput against a static file of the same
//! size (wrk, same connections and duration, interleaved rounds), and the
//! bytes a phone downloads on first load.

use crate::report::{Budget, Report, Row};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

pub struct WrkResult {
    pub requests_per_sec: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

pub fn duration_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// Parses `wrk --latency` output.
pub fn parse_wrk(output: &str) -> Result<WrkResult> {
    let requests_per_sec =
        output.lines().find_map(|l| l.trim().strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok()).context("wrk printed no Requests/sec")?;
    let p99_ms = output.lines().find_map(|l| l.trim().strip_prefix("99%")).and_then(duration_ms).context("wrk printed no 99% latency")?;
    let mut errors = 0;
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += rest.trim().parse::<u64>().unwrap_or(1);
        }
        if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            errors += rest.split(',').filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok()).sum::<u64>();
        }
    }
    Ok(WrkResult { requests_per_sec, p99_ms, errors })
}

pub fn wrk(url: &str, connections: u32, seconds: u32) -> Result<WrkResult> {
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", url])
        .output()
        .context("wrk is not installed (apt install wrk; scripts/setup does it)")?;
    if !output.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

/// The baseline's file: a checkout page as rendered, saved under the site
/// root (before the server starts, as it reads its static files at start-up).
pub async fn write_static_copy(base: &str, slug: &str, site_root: &Path) -> Result<()> {
    let html = reqwest::get(format!("{base}/pay/{slug}")).await?.error_for_status()?.bytes().await?;
    std::fs::write(site_root.join("bench-static.html"), &html)?;
    Ok(())
}

/// Item 1: `GET /pay/{slug}` vs the same server sending a static file of the same size.
pub async fn throughput(report: &mut Report, base: &str, slug: &str) -> Result<()> {
    let page_url = format!("{base}/pay/{slug}");
    let html = reqwest::get(&page_url).await?.error_for_status()?.bytes().await?;
    let static_url = format!("{base}/bench-static.html");
    let check = reqwest::get(&static_url).await?;
    anyhow::ensure!(check.status().is_success() && check.bytes().await?.len() == html.len(), "static baseline not served whole");
    // Warm up both, then interleave rounds so drift on a noisy machine hits both alike.
    wrk(&page_url, 32, 2)?;
    wrk(&static_url, 32, 2)?;
    let (mut page, mut file) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        file.push(wrk(&static_url, 32, 5)?);
        page.push(wrk(&page_url, 32, 5)?);
    }
    let errors: u64 = page.iter().chain(&file).map(|r| r.errors).sum();
    let median = |runs: &[WrkResult], f: fn(&WrkResult) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (page_rps, file_rps) = (median(&page, |r| r.requests_per_sec), median(&file, |r| r.requests_per_sec));
    report.push(
        Row::new(format!("checkout GET /pay/{{slug}} ({} B, ja, 32 conns)", html.len()), page_rps, "req/s", Budget::RatioAtLeast(0.5))
            .against("static file, same size", file_rps),
    );
    report.push(Row::new("checkout p99 latency", median(&page, |r| r.p99_ms), "ms", Budget::None).against("static file p99", median(&file, |r| r.p99_ms)));
    report.push(Row::new("checkout load: errors (non-2xx, socket)", errors as f64, "", Budget::AtMost(0.0)));
    // For the analysis: the same page rendered afresh on every request (the
    // form shown again with what the customer typed skips the page cache).
    let typed = format!("{page_url}?email=taro%40example.jp&name=TARO");
    let fresh = wrk(&typed, 32, 5)?;
    report.push(
        Row::new("checkout GET, rendered afresh each request (form refilled)", fresh.requests_per_sec, "req/s", Budget::None)
            .against("static file, same size", file_rps),
    );
    Ok(())
}

/// Compressed size of a response as a browser asking for Brotli gets it.
async fn wire_bytes(client: &reqwest::Client, url: &str) -> Result<(usize, Option<String>)> {
    let response = client.get(url).header("Accept-Encoding", "br, gzip").send().await?.error_for_status()?;
    let encoding = response.headers().get("content-encoding").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok((response.bytes().await?.len(), encoding))
}

/// Every `href`/`src` of a `<link>` or `<script>` in the page.
pub fn subresources(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (tag_start, _) in html.match_indices('<') {
        let rest = &html[tag_start + 1..];
        let Some(end) = rest.find('>') else { continue };
        let tag = &rest[..end];
        let name = tag.split_whitespace().next().unwrap_or("");
        if name != "link" && name != "script" {
            continue;
        }
        for attr in ["href=\"", "src=\""] {
            if let Some(i) = tag.find(attr) {
                let value = &tag[i + attr.len()..];
                if let Some(j) = value.find('"') {
                    found.push((tag.to_owned(), value[..j].to_owned()));
                }
            }
        }
    }
    found
}

/// Item 2: first-load weight of the checkout (HTML + CSS + the optional script).
pub async fn weight(report: &mut Report, base: &str, slug: &str) -> Result<()> {
    let client = reqwest::Client::new();
    let page_url = format!("{base}/pay/{slug}");
    let (html_bytes, encoding) = wire_bytes(&client, &page_url).await?;
    let html = reqwest::get(&page_url).await?.text().await?;
    let (mut css, mut js, mut other) = (0, 0, 0);
    let mut blocking_scripts = 0;
    let mut wasm = false;
    for (tag, url) in subresources(&html) {
        if url.starts_with("http") && !url.starts_with(base) {
            bail!("the checkout loads from another origin: {url}");
        }
        let (bytes, _) = wire_bytes(&client, &format!("{base}{url}")).await?;
        if tag.starts_with("script") {
            js += bytes;
            if !tag.contains("defer") && !tag.contains("async") && !tag.contains("type=\"module\"") {
                blocking_scripts += 1;
            }
        } else if tag.contains("stylesheet") {
            css += bytes;
        } else {
            other += bytes; // icons
        }
        wasm |= url.ends_with(".wasm") || url.contains("/pkg/paylinks.js");
    }
    report.push(Row::new(
        format!("checkout first load: HTML + CSS ({}, JS off)", encoding.as_deref().unwrap_or("identity")),
        (html_bytes + css) as f64 / 1024.0,
        "KB",
        Budget::AtMost(30.0),
    ));
    report.push(Row::new("checkout enhancement script (compressed)", js as f64 / 1024.0, "KB", Budget::AtMost(100.0)));
    report.push(Row::new("checkout render-blocking scripts", blocking_scripts as f64, "", Budget::AtMost(0.0)));
    report.push(Row::new("checkout loads the dashboard WASM (1 = yes)", if wasm { 1.0 } else { 0.0 }, "", Budget::AtMost(0.0)));
    report.note(format!("checkout first load also fetches {other} B of icons; images are not counted (none on this link)"));
    Ok(())
}
