//! Progress for long work: a bar on a terminal, periodic log lines otherwise (CI, nohup, pipes),
//! and φ as progress lines print it. Shared by every subcommand that trains.
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A progress reporter over `total` units.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    last_log: Instant,
    every: Duration,
}

impl Progress {
    /// A bar when stderr is a terminal, else a log line at most every 15 s.
    pub fn new(label: &str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style =
                ProgressStyle::with_template("{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} (eta {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(label.to_string());
            bar
        });
        Progress { bar, label: label.into(), total, last_log: Instant::now(), every: Duration::from_secs(15) }
    }

    /// Marks `done` units finished.
    pub fn set(&mut self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if self.last_log.elapsed() >= self.every || done == self.total => {
                self.last_log = Instant::now();
                tracing::info!("{}: {done}/{}", self.label, self.total);
            }
            None => {}
        }
    }

    /// Prints a line without breaking the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// φ as a progress line prints it: four significant digits (at least three decimals), and a long
/// φ (one σ per bin) shortened to its first three values and its last.
pub fn phi_text(phi: &[f64]) -> String {
    let parts: Vec<String> = phi.iter().map(|v| significant(*v)).collect();
    if parts.len() > 6 {
        format!("[{} … {}] ({} values)", parts[..3].join(", "), parts[parts.len() - 1], parts.len())
    } else {
        format!("[{}]", parts.join(", "))
    }
}

/// `v` to four significant digits, with at least three decimals (σ = 2.590, p_N = 0.0004000).
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v:.3}");
    }
    let decimals = (3 - v.abs().log10().floor() as i64).clamp(3, 12) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_keeps_four_significant_digits_and_shortens_long_vectors() {
        assert_eq!(phi_text(&[2.59022, 0.5, 0.00041234, 12.0]), "[2.590, 0.5000, 0.0004123, 12.000]");
        assert_eq!(phi_text(&[0.0, f64::NAN]), "[0.000, NaN]");
        let long: Vec<f64> = (1..=8).map(f64::from).collect();
        assert_eq!(phi_text(&long), "[1.000, 2.000, 3.000 … 8.000] (8 values)");
    }
}
