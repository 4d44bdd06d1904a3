//! Progress for long work: a bar on a terminal, periodic log lines otherwise (CI, nohup, pipes).
//! Shared by every subcommand that trains.
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
