//! The records of a `train` run: its config, every member's test metrics, outcome and curve, the test
//! MAE per label, and the table of mean ± sd over seeds per method (`summary.md`).
use crate::config::TrainPlan;
use crate::model::NetworkSpec;
use crate::runtime::RunEnvironment;
use crate::stats::mean_sd;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::RunCommand;

/// Named metric values (e.g. `mae`, `cs5`, `map`, `miou`, `loss`), ordered by name.
pub type Metrics = BTreeMap<String, f64>;

/// The trained parameters of every member (safetensors), read by `eval`.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";
/// Final test metrics of every member: a [`TrainMetrics`].
pub const METRICS_FILE: &str = "metrics.json";
/// `{prefix}{chunk}.safetensors`: a chunk's whole training state while it trains
/// (`train::snapshot`), removed when the run finishes.
pub const SNAPSHOT_PREFIX: &str = "snapshot-chunk-";
/// One [`CurveLine`] per validation of a member (`--eval-every`).
pub const CURVES_FILE: &str = "curves.jsonl";
/// The training split's input statistics (an [`InputStats`]) of a task
/// with `standardise = true`; `eval` applies them to any other data.
pub const STATS_FILE: &str = "input-stats.json";

/// [`STATS_FILE`]: the mean and standard deviation per input channel (axis 1 of `[N, C, …]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputStats {
    pub mean: Vec<f64>,
    /// Population standard deviation (divisor N); a constant channel gets 1.
    pub sd: Vec<f64>,
    /// Training examples the statistics were computed on.
    pub examples: usize,
}

/// [`CONFIG_FILE`] of a `train` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub command: RunCommand,
    pub task_file: PathBuf,
    /// The task file's text (the run's task, whatever happens to the file later).
    pub task_toml: String,
    /// One name per method, in order; members are method-major (`seeds` per method).
    pub methods: Vec<String>,
    /// The seed of every member.
    pub seeds: Vec<u64>,
    pub train: TrainPlan,
    pub network: NetworkSpec,
    /// Examples per pool (`train`, `val`, `test`) of the task's split.
    pub split_sizes: BTreeMap<String, usize>,
    /// The directory the researcher's data were read from (absolute), for tasks that read it.
    #[serde(default)]
    pub data_root: Option<PathBuf>,
    pub environment: RunEnvironment,
    /// `train --init RUN[:METHOD]`: the run the members started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
}

/// [`METRICS_FILE`]: the test metrics of every member of a `train` run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainMetrics {
    /// The pool the metrics were measured on (`test`).
    pub split: String,
    /// Wall time of the training.
    pub seconds: f64,
    /// Per member, in the order of the config's `seeds`.
    pub members: Vec<MemberResult>,
    pub outcomes: Vec<MemberOutcome>,
    /// Per member, the test MAE per true label; ordinal tasks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_label: Option<Vec<Vec<LabelError>>>,
}

/// One line of [`CURVES_FILE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurveLine {
    /// Position of the member in the run (as in `seeds`).
    pub member: usize,
    pub method: String,
    pub seed: u64,
    pub point: CurvePoint,
}

/// Error of the expected label among the examples whose true label falls in one bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelError {
    /// The bin's value (label unit).
    pub label: f64,
    /// Examples whose true label is nearest to this bin.
    pub count: usize,
    /// Mean |expected − true| over them (label unit).
    #[serde(deserialize_with = "crate::rundir::null_as_nan")]
    pub mae: f64,
}

/// One evaluation during training.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    /// Mean training loss since the previous point.
    #[serde(deserialize_with = "crate::rundir::null_as_nan")]
    pub train_loss: f64,
    #[serde(deserialize_with = "crate::rundir::metrics_null_as_nan")]
    pub val: Metrics,
}

/// Why a member stopped early with a non-finite loss.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub step: usize,
    #[serde(deserialize_with = "crate::rundir::null_as_nan")]
    pub loss: f64,
}

/// What happened to one member.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemberOutcome {
    pub failure: Option<Failure>,
    pub curve: Vec<CurvePoint>,
    /// Step of the kept parameters (best validation loss), when validated.
    pub best_step: Option<usize>,
    /// Optimiser steps the member actually took.
    pub steps_run: usize,
}

/// One member's final metrics, labelled by method and seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberResult {
    pub method: String,
    pub seed: u64,
    #[serde(deserialize_with = "crate::rundir::metrics_null_as_nan")]
    pub metrics: Metrics,
    /// Set when the member stopped on a non-finite loss.
    #[serde(default)]
    pub failure: Option<String>,
}

/// `mean ± sd` of `values` over seeds; `n/a (1 seed)` for the sd of one value, `failed` without values.
pub fn mean_sd_cell(values: &[f64]) -> String {
    let (m, s) = mean_sd(values);
    match values.len() {
        0 => "failed".into(),
        1 => format!("{m:.3} ± n/a (1 seed)"),
        _ => format!("{m:.3} ± {s:.3}"),
    }
}

/// A markdown table: one row per method (in first-seen order), `columns` as mean ± sd over seeds.
pub fn members_table(results: &[MemberResult], columns: &[&str]) -> String {
    let mut order: Vec<&str> = vec![];
    let mut by_method: BTreeMap<&str, Vec<&MemberResult>> = BTreeMap::new();
    for r in results {
        if !by_method.contains_key(r.method.as_str()) {
            order.push(&r.method);
        }
        by_method.entry(&r.method).or_default().push(r);
    }
    let mut out =
        format!("| method | seeds | {} |\n|---|---|{}\n", columns.join(" | "), "---|".repeat(columns.len()));
    for method in order {
        let rows = &by_method[method];
        let ok: Vec<&&MemberResult> = rows.iter().filter(|r| r.failure.is_none()).collect();
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                let v: Vec<f64> = ok.iter().filter_map(|r| r.metrics.get(*c).copied()).collect();
                mean_sd_cell(&v)
            })
            .collect();
        let failed = rows.len() - ok.len();
        let seeds = if failed > 0 { format!("{} ({failed} failed)", ok.len()) } else { ok.len().to_string() };
        out.push_str(&format!("| {method} | {seeds} | {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_metrics_with_failed_members_round_trip() {
        let failed =
            MemberOutcome { failure: Some(Failure { step: 3, loss: f64::NAN }), ..Default::default() };
        let member = MemberResult {
            method: "onehot".into(),
            seed: 0,
            metrics: [("mae".to_string(), f64::NAN)].into(),
            failure: Some("non-finite loss NaN at step 3".into()),
        };
        let record = TrainMetrics {
            split: "test".into(),
            seconds: 1.5,
            members: vec![member],
            outcomes: vec![failed],
            per_label: None,
        };
        let text = serde_json::to_string(&record).unwrap();
        let back: TrainMetrics = serde_json::from_str(&text).unwrap();
        assert!(back.members[0].metrics["mae"].is_nan());
        assert!(back.outcomes[0].failure.as_ref().unwrap().loss.is_nan());
        assert_eq!(back.members[0].failure.as_deref(), Some("non-finite loss NaN at step 3"));
        assert!(!text.contains("per_label"));
    }

    #[test]
    fn table_groups_by_method() {
        let r = |method: &str, seed, mae| MemberResult {
            method: method.into(),
            seed,
            metrics: [("mae".to_string(), mae)].into(),
            failure: None,
        };
        let t = members_table(&[r("onehot", 0, 7.0), r("onehot", 1, 9.0), r("dldl", 0, 6.0)], &["mae"]);
        assert!(t.contains("| onehot | 2 | 8.000 ± 1.414 |"), "{t}");
        assert!(t.contains("| dldl | 1 | 6.000 ± n/a (1 seed) |"), "{t}");
        let failed = MemberResult { failure: Some("loss NaN at step 3".into()), ..r("ls", 0, f64::NAN) };
        let t = members_table(&[failed], &["mae"]);
        assert!(t.contains("| ls | 0 (1 failed) | failed |"), "{t}");
    }
}
