//! Sizes and the server's own cost: the dashboard bundle, start-up time and
//! idle memory.

use crate::report::{Budget, Report, Row};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

fn compressed(path: &Path, program: &str, args: &[&str]) -> Result<usize> {
    let output = Command::new(program).args(args).arg(path).stderr(Stdio::inherit()).output().with_context(|| format!("{program} is missing"))?;
    anyhow::ensure!(output.status.success(), "{program} failed on {}", path.display());
    Ok(output.stdout.len())
}

/// `#[lazy]` functions a page calls right after hydrating (split name
/// prefixes): part of that page's first load. (The link detail draws its QR
/// code then; the webhook delivery log waits for a click.)
const LOADED_AFTER_HYDRATION: &[(&str, &str)] = &[("__link_detail_route", "encode_qr_")];

/// Item 7: the dashboard bundle, raw, gzip -9 and Brotli -q 11. The WASM is
/// split per page (`cargo leptos build --split`) and each split's files are
/// packed into one (`scripts/pack-splits`): a visit fetches the main module
/// and the pack of the page shown (`__wasm_split_manifest.json` names the
/// splits). The budget is for the heaviest page's first load.
pub fn bundle(report: &mut Report, pkg: &Path) -> Result<()> {
    let brotli = |file: &str| -> Result<f64> { Ok(compressed(&pkg.join(file), "brotli", &["-q", "11", "-c"])? as f64 / 1024.0) };
    for file in ["paylinks.wasm", "paylinks.js", "paylinks.css"] {
        let path = pkg.join(file);
        let raw = std::fs::metadata(&path).with_context(|| format!("{} missing: build first", path.display()))?.len() as f64;
        let gzip = compressed(&path, "gzip", &["-9", "-c"])? as f64;
        let label = if file == "paylinks.wasm" { "main module" } else { file };
        report.push(Row::new(
            format!("dashboard {label} (raw {:.0} KB, gzip {:.0} KB), Brotli", raw / 1024.0, gzip / 1024.0),
            brotli(file)?,
            "KB",
            Budget::None,
        ));
    }
    let manifest = std::fs::read_to_string(pkg.join("__wasm_split_manifest.json")).context("no split manifest: build with --split")?;
    let splits: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(&manifest)?;
    let packs = splits
        .keys()
        .map(|split| Ok((split.as_str(), brotli(&format!("split_{split}.pack")).context("no split packs: run scripts/finish-site")?)))
        .collect::<Result<std::collections::BTreeMap<&str, f64>>>()?;
    let main = brotli("paylinks.wasm")?;
    let mut heaviest = (String::from("—"), main);
    for (split, pack) in &packs {
        // A page's pack, with those of the lazy functions it calls as soon as it has hydrated.
        let mut page = main + pack;
        for (shown, lazy) in LOADED_AFTER_HYDRATION {
            if split.starts_with(shown) {
                page += packs.iter().filter(|(name, _)| name.starts_with(lazy)).map(|(_, size)| size).sum::<f64>();
            }
        }
        if page > heaviest.1 {
            heaviest = (split.trim_start_matches("__").to_owned(), page);
        }
    }
    let all: f64 = main + packs.values().sum::<f64>();
    report.push(Row::new(format!("dashboard WASM, main + all {} split packs, Brotli", packs.len()), all, "KB", Budget::None));
    report.push(Row::new(
        format!("dashboard WASM, first load of the heaviest page ({}): main + its pack + what it fetches on hydrating, Brotli", heaviest.0),
        heaviest.1,
        "KB",
        Budget::AtMost(400.0),
    ));
    Ok(())
}
