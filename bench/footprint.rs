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

/// Item 7: the dashboard's WASM and JS glue, raw, gzip -9 and Brotli -q 11.
pub fn bundle(report: &mut Report, pkg: &Path) -> Result<()> {
    for (file, budget) in [("paylinks.wasm", Some(400.0)), ("paylinks.js", None), ("paylinks.css", None)] {
        let path = pkg.join(file);
        let raw = std::fs::metadata(&path).with_context(|| format!("{} missing: build first", path.display()))?.len() as f64;
        let gzip = compressed(&path, "gzip", &["-9", "-c"])? as f64;
        let brotli = compressed(&path, "brotli", &["-q", "11", "-c"])? as f64;
        report.push(Row::new(format!("dashboard {file} (raw {:.0} KB, gzip {:.0} KB), Brotli", raw / 1024.0, gzip / 1024.0), brotli / 1024.0, "KB", budget.map_or(Budget::None, Budget::AtMost)));
    }
    Ok(())
}
