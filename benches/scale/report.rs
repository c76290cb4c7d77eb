//! The scale run's figures: sorted samples, readable units, and the Markdown table of
//! measurements with their targets and verdicts.

use std::fmt::Write as _;

/// Durations in seconds, sorted.
#[derive(Clone, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    pub fn from(mut v: Vec<f64>) -> Samples {
        v.sort_by(f64::total_cmp);
        Samples(v)
    }

    pub fn n(&self) -> usize {
        self.0.len()
    }

    /// Nearest-rank percentile (`q` in 0..=1); NaN when empty. With fewer than 100 samples
    /// the p99 is the slowest one.
    pub fn pct(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = (q * self.0.len() as f64).ceil().max(1.0) as usize;
        self.0[rank.min(self.0.len()) - 1]
    }

    pub fn median(&self) -> f64 {
        let n = self.0.len();
        match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => self.0[n / 2],
            _ => (self.0[n / 2 - 1] + self.0[n / 2]) / 2.0,
        }
    }

    pub fn p99(&self) -> f64 {
        self.pct(0.99)
    }

    /// "median X, p99 Y (n=Z)".
    pub fn summary(&self) -> String {
        format!(
            "median {}, p99 {} (n={})",
            dur(self.median()),
            dur(self.p99()),
            self.n()
        )
    }
}

/// A duration in seconds, in a readable unit.
pub fn dur(s: f64) -> String {
    if s.is_nan() {
        "n/a".into()
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 0.001 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

pub fn mb(bytes: f64) -> String {
    if bytes.is_nan() {
        "n/a".into()
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

pub fn pct(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else {
        format!("{v:.2}%")
    }
}

pub fn ratio(v: f64) -> String {
    format!("{v:.2}x")
}

/// How a figure compares with its target.
pub enum Goal {
    None,
    /// At most this (`strict`: below it).
    AtMost {
        limit: f64,
        strict: bool,
    },
    /// At least this.
    AtLeast(f64),
}

struct Row {
    phase: String,
    what: String,
    result: String,
    target: String,
    verdict: String,
}

#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// A row; `value` is the figure the verdict compares (NaN: not measured), `show` prints
    /// the margin in the figure's unit.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        phase: &str,
        what: &str,
        result: String,
        target: &str,
        value: f64,
        goal: Goal,
        show: impl Fn(f64) -> String,
    ) {
        let verdict = match goal {
            Goal::None => "no target".to_string(),
            _ if value.is_nan() => "NOT MEASURED".to_string(),
            Goal::AtMost { limit, strict } => {
                if (strict && value < limit) || (!strict && value <= limit) {
                    format!("met ({} under)", show(limit - value))
                } else {
                    format!("MISSED by {}", show(value - limit))
                }
            }
            Goal::AtLeast(limit) => {
                if value >= limit {
                    format!("met ({} over)", show(value - limit))
                } else {
                    format!("MISSED by {}", show(limit - value))
                }
            }
        };
        self.rows.push(Row {
            phase: phase.into(),
            what: what.into(),
            result,
            target: target.into(),
            verdict,
        });
    }

    /// A row with no target.
    pub fn info(&mut self, phase: &str, what: &str, result: String) {
        self.add(phase, what, result, "—", f64::NAN, Goal::None, dur);
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("| phase | measurement | result | target | verdict |\n");
        out.push_str("|---|---|---|---|---|\n");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                r.phase, r.what, r.result, r.target, r.verdict
            );
        }
        out
    }
}
