//! One line of `records.jsonl`: a method's metrics on the query set (or test split) of one episode
//! at one point of the sweep, after training on its support set (or training subset).
use super::spec::Setting;
use crate::train::metrics::Metrics;
use serde::{Deserialize, Serialize};

pub use crate::rundir::records::{FEWSHOT_SUMMARY_FILE as SUMMARY_FILE, RECORDS_FILE, TABLE_FILE};

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
