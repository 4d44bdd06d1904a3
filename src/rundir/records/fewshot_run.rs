//! The records of a `fewshot` run: its config, one line per method, sweep point and episode, and the
//! summary computed from them (`fewshot.json`).
use super::RunCommand;
use crate::runtime::RunEnvironment;
use crate::stats::{MeanCi, PairedTest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::train_run::Metrics;

/// One [`EpisodeRecord`] per method, setting and episode.
pub const RECORDS_FILE: &str = "records.jsonl";
/// The statistics of the records: a [`FewshotSummary`].
pub const FEWSHOT_SUMMARY_FILE: &str = "fewshot.json";

/// [`CONFIG_FILE`] of a `fewshot` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FewshotConfig<Spec> {
    pub command: RunCommand,
    pub task_file: PathBuf,
    pub task_toml: String,
    /// The study as resolved (`fewshot::FewshotSpec`).
    pub fewshot: Spec,
    pub environment: RunEnvironment,
}

/// One point of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    /// K support examples per label on meta-test episodes (the task's episode spec with `shots = K`).
    Shots(usize),
    /// A seeded subset of this fraction of the training split; evaluated on the whole test split.
    Fraction(f64),
}

impl Setting {
    /// The x value of the point (K or the fraction).
    pub fn x(&self) -> f64 {
        match self {
            Setting::Shots(k) => *k as f64,
            Setting::Fraction(f) => *f,
        }
    }

    /// Name of the sweep axis (`shots` or `train_fraction`).
    pub fn axis(&self) -> &'static str {
        match self {
            Setting::Shots(_) => "shots",
            Setting::Fraction(_) => "train_fraction",
        }
    }

    /// Same point (fractions compared to 1e-12, as JSON may round the last bit).
    pub fn same(&self, other: &Setting) -> bool {
        match (self, other) {
            (Setting::Shots(a), Setting::Shots(b)) => a == b,
            (Setting::Fraction(a), Setting::Fraction(b)) => (a - b).abs() <= 1e-12,
            _ => false,
        }
    }

    /// A number mixed into the seeds of this point, so adding points leaves the others' numbers alone.
    pub fn stream(&self) -> u64 {
        match self {
            Setting::Shots(k) => *k as u64,
            Setting::Fraction(f) => (1 << 40) | (f * 1e6).round() as u64,
        }
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Setting::Shots(k) => write!(f, "K={k}"),
            Setting::Fraction(x) => write!(f, "{}%", percent(*x)),
        }
    }
}

/// `fraction` in percent with two decimals, or as many as show its first two significant digits
/// (1e-9 is `0.0000001%`, not `0%`); trailing zeros dropped.
fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    let decimals =
        if p > 0.0 && p.is_finite() { (1.0 - p.log10().floor()).clamp(2.0, 15.0) as usize } else { 2 };
    let text = format!("{p:.decimals$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    text.to_string()
}

/// One method on one episode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpisodeRecord {
    /// The method's name as given (`onehot`, `learned:runs/x`).
    pub method: String,
    pub setting: Setting,
    /// Episode index in the meta-test pool (or subset number).
    pub episode: u64,
    /// Network seed (the same for every method on this episode).
    pub seed: u64,
    /// Training examples and optimiser steps.
    pub train_size: usize,
    pub steps: usize,
    /// Metrics on the query set: the task metrics, the LDL measures, and `loss`, the φ-free query loss.
    #[serde(deserialize_with = "crate::rundir::metrics_null_as_nan")]
    pub metrics: Metrics,
    /// Set when the member stopped on a non-finite loss; its metrics are left out of the summary.
    #[serde(default)]
    pub failure: Option<String>,
}

impl EpisodeRecord {
    /// Whether this record is the result of `method` at `setting` on `episode`.
    pub fn is(&self, method: &str, setting: &Setting, episode: u64) -> bool {
        self.method == method && self.episode == episode && self.setting.same(setting)
    }
}

/// One method at one point of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub method: String,
    pub setting: Setting,
    /// Records found, and how many of them failed (left out of the statistics).
    pub records: usize,
    pub failed: usize,
    /// Mean ± CI of every metric over the episodes.
    pub metrics: BTreeMap<String, MeanCi>,
    /// Paired difference method − baseline of every metric, over the episodes both finished.
    pub vs_baseline: BTreeMap<String, MeanCi>,
    /// The paired t-test, Wilcoxon test and TOST of the same differences, with the verdict.
    #[serde(default)]
    pub tests: BTreeMap<String, PairedTest>,
}

/// What `fewshot.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FewshotSummary {
    pub task: String,
    /// `shots` or `train_fraction`.
    pub axis: String,
    /// The headline metric and its direction.
    pub metric: String,
    pub higher_is_better: bool,
    pub baseline: String,
    /// Method names in the order given, with what each trains (`gaussian:sigma=2.99`).
    pub methods: Vec<(String, String)>,
    pub settings: Vec<Setting>,
    pub episodes: usize,
    /// The equivalence margin of the TOST verdicts, in the headline metric's unit.
    #[serde(default = "crate::stats::default_margin")]
    pub margin: f64,
    /// Method-major, then setting.
    pub cells: Vec<Cell>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_nan_metrics() {
        let r = EpisodeRecord {
            method: "onehot".into(),
            setting: Setting::Fraction(0.25),
            episode: 3,
            seed: 9,
            train_size: 10,
            steps: 5,
            metrics: [("mae".to_string(), f64::NAN), ("loss".to_string(), 1.5)].into(),
            failure: None,
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.contains("\"setting\":{\"fraction\":0.25}"), "{line}");
        let back: EpisodeRecord = serde_json::from_str(&line).unwrap();
        assert!(back.metrics["mae"].is_nan() && back.metrics["loss"] == 1.5);
        assert!(back.is("onehot", &Setting::Fraction(0.25), 3));
        assert!(!back.is("onehot", &Setting::Shots(1), 3));
    }
}
