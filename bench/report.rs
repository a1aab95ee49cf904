//! The table `make bench` prints: each figure beside its baseline, the ratio
//! and the budget, and whether the budget is met.

use std::fmt::Write as _;

/// How a figure is judged.
#[derive(Clone, Copy, Debug)]
pub enum Budget {
    /// The figure must be at most this.
    AtMost(f64),
    /// The figure must be at least this.
    AtLeast(f64),
    /// The figure ÷ its baseline must be at least this.
    RatioAtLeast(f64),
    /// The baseline ÷ the figure must be at least this (how many times faster).
    SpeedupAtLeast(f64),
    /// Reported only.
    None,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub figure: String,
    pub value: f64,
    pub unit: &'static str,
    pub baseline: Option<(String, f64)>,
    pub budget: Budget,
}

impl Row {
    pub fn new(figure: impl Into<String>, value: f64, unit: &'static str, budget: Budget) -> Row {
        Row { figure: figure.into(), value, unit, baseline: None, budget }
    }

    pub fn against(mut self, name: impl Into<String>, value: f64) -> Row {
        self.baseline = Some((name.into(), value));
        self
    }

    fn ratio(&self) -> Option<f64> {
        let (_, base) = self.baseline.as_ref()?;
        (*base != 0.0).then(|| self.value / base)
    }

    pub fn passes(&self) -> bool {
        match self.budget {
            Budget::AtMost(max) => self.value <= max,
            Budget::AtLeast(min) => self.value >= min,
            Budget::RatioAtLeast(min) => self.ratio().is_some_and(|r| r >= min),
            Budget::SpeedupAtLeast(min) => self.ratio().is_some_and(|r| r > 0.0 && 1.0 / r >= min),
            Budget::None => true,
        }
    }
}

#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

pub fn number(value: f64, unit: &str) -> String {
    let digits = if value.abs() >= 100.0 || value.fract() == 0.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    };
    let mut text = format!("{value:.digits$}");
    // Thousands separators for big integers (bytes, rows).
    if digits == 0 && value.abs() >= 10_000.0 {
        let raw = text.trim_start_matches('-').to_owned();
        let mut grouped = String::new();
        for (i, c) in raw.chars().enumerate() {
            if i > 0 && (raw.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        text = if value < 0.0 { format!("-{grouped}") } else { grouped };
    }
    if unit.is_empty() {
        text
    } else {
        format!("{text} {unit}")
    }
}

impl Report {
    pub fn push(&mut self, row: Row) {
        let mark = if row.passes() { "ok" } else { "MISSED" };
        eprintln!("[bench] {}: {} {mark}", row.figure, number(row.value, row.unit));
        self.rows.push(row);
    }

    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        eprintln!("[bench] note: {text}");
        self.notes.push(text);
    }

    pub fn failed(&self) -> usize {
        self.rows.iter().filter(|r| !r.passes()).count()
    }

    /// A Markdown table (pasted into BENCHMARKS.md as it is).
    pub fn markdown(&self) -> String {
        let mut out = String::from("| figure | value | baseline (same run) | ratio | budget | |\n|---|---:|---|---:|---|---|\n");
        for row in &self.rows {
            let baseline = row.baseline.as_ref().map(|(name, v)| format!("{name}: {}", number(*v, row.unit))).unwrap_or_default();
            let ratio = row.ratio().map(|r| if r >= 10.0 { format!("{r:.0}×") } else { format!("{r:.2}×") }).unwrap_or_default();
            let ratio = match row.budget {
                Budget::SpeedupAtLeast(_) => row.ratio().map(|r| format!("{:.0}× faster", 1.0 / r)).unwrap_or(ratio),
                _ => ratio,
            };
            let budget = match row.budget {
                Budget::AtMost(v) => format!("≤ {}", number(v, row.unit)),
                Budget::AtLeast(v) => format!("≥ {}", number(v, row.unit)),
                Budget::RatioAtLeast(v) => format!("ratio ≥ {:.0}%", v * 100.0),
                Budget::SpeedupAtLeast(v) => format!("≥ {v:.0}× faster"),
                Budget::None => "—".into(),
            };
            let verdict = match (row.budget, row.passes()) {
                (Budget::None, _) => "",
                (_, true) => "ok",
                (_, false) => "**MISSED**",
            };
            let _ = writeln!(out, "| {} | {} | {baseline} | {ratio} | {budget} | {verdict} |", row.figure, number(row.value, row.unit));
        }
        for note in &self.notes {
            let _ = writeln!(out, "\n- {note}");
        }
        out
    }
}
