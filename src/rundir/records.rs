//! The files of a run directory: each file's name and the record type stored in it, shared by the
//! commands that write them (`train`, `search`, `fewshot`) and those that read them (`eval`, `report`).
use super::RunDir;
use crate::config::TrainPlan;
use crate::error::{Error, Result};
use crate::family::DistributionSpec;
use crate::fewshot::FewshotSpec;
use crate::meta::StudySpec;
use crate::model::NetworkSpec;
use crate::runtime::RunEnvironment;
use crate::train::metrics::LabelError;
use crate::train::summary::MemberResult;
use crate::train::trainer::{CurvePoint, MemberOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

// Every run directory.

/// The resolved configuration ([`TrainConfig`], [`SearchConfig`] or [`FewshotConfig`]); every run
/// directory starts with it.
pub const CONFIG_FILE: &str = "config.json";
/// The markdown table a finished run prints (train, search and fewshot).
pub const TABLE_FILE: &str = "summary.md";
/// The size and SHA-256 of every record a finished run is judged by ([`super::manifest::Manifest`]),
/// written last and checked when the finished run is opened again.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Locked by the one process writing the run; holds its [`LockHolder`].
pub const LOCK_FILE: &str = ".lock";
/// One [`SessionRecord`] per start or resume of the run.
pub const SESSIONS_FILE: &str = "sessions.jsonl";

// `dldl-meta train`.

/// The trained parameters of every member (safetensors), read by `eval`.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";
/// Final test metrics of every member: a [`TrainMetrics`].
pub const METRICS_FILE: &str = "metrics.json";
/// `{prefix}{chunk}.safetensors`: a chunk's whole training state while it trains
/// ([`crate::train::snapshot`]), removed when the run finishes.
pub const SNAPSHOT_PREFIX: &str = "snapshot-chunk-";
/// One [`CurveLine`] per validation of a member (`--eval-every`).
pub const CURVES_FILE: &str = "curves.jsonl";
/// The training split's input statistics ([`crate::train::standardise::InputStats`]) of a task
/// with `standardise = true`; `eval` applies them to any other data.
pub const STATS_FILE: &str = "input-stats.json";

// `dldl-meta search` (record types in `meta::search`).

/// The state after the last completed outer step: a [`crate::meta::search::SearchState`].
pub const STATE_FILE: &str = "state.json";
/// One [`crate::meta::search::Trial`] per φ and episode.
pub const TRIALS_FILE: &str = "trials.jsonl";
/// The learned φ: a [`Learned`] as TOML.
pub const LEARNED_FILE: &str = "learned.toml";
/// The comparison of learned and default φ: a [`crate::meta::search::SearchOutcome`].
pub const SEARCH_SUMMARY_FILE: &str = "summary.json";
/// One [`crate::meta::search::ComparisonEpisode`] per comparison episode: every method's query loss and metric.
pub const COMPARISON_FILE: &str = "comparison.jsonl";
/// The resolved C×C label distance of a study that learns a mixture, as CSV.
pub const LABEL_DISTANCE_FILE: &str = "label-distance.csv";

// `dldl-meta fewshot` (record types in `fewshot`).

/// One [`crate::fewshot::EpisodeRecord`] per method, setting and episode.
pub const RECORDS_FILE: &str = "records.jsonl";
/// The statistics of the records: a [`crate::fewshot::FewshotSummary`].
pub const FEWSHOT_SUMMARY_FILE: &str = "fewshot.json";

/// The command that wrote a run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunCommand {
    Train,
    Search,
    Fewshot,
}

/// What every [`CONFIG_FILE`] begins with: which command wrote it and on which task.
#[derive(Debug, Clone, Deserialize)]
pub struct RunHeader {
    pub command: RunCommand,
    pub task_file: PathBuf,
    pub task_toml: String,
}

/// [`LOCK_FILE`]: the process that holds (or last held) the run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
}

/// One line of [`SESSIONS_FILE`]: a process that started or resumed the run, with the settings
/// that are not compared between sessions (`rundir::compare::NOT_COMPARED`) as it gave them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub pid: u32,
    pub host: String,
    /// Seconds since the Unix epoch.
    pub started_unix: u64,
    pub resumed: bool,
    /// The process's command line, e.g. to repeat it to finish the run.
    pub command_line: Vec<String>,
    /// Not-compared settings by JSON path (`/task_file`, `/environment/threads`, …).
    pub recorded: serde_json::Map<String, serde_json::Value>,
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

/// [`CONFIG_FILE`] of a `search` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchConfig {
    pub command: RunCommand,
    pub task_file: PathBuf,
    pub task_toml: String,
    pub meta_file: PathBuf,
    pub study: StudySpec,
    pub environment: RunEnvironment,
}

/// [`CONFIG_FILE`] of a `fewshot` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FewshotConfig {
    pub command: RunCommand,
    pub task_file: PathBuf,
    pub task_toml: String,
    pub fewshot: FewshotSpec,
    pub environment: RunEnvironment,
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

/// [`LEARNED_FILE`]: the learned φ as a `[distribution]` table.
#[derive(Debug, Serialize, Deserialize)]
pub struct Learned {
    pub distribution: DistributionSpec,
}

/// The learned φ of a search run directory, if it has written one (not validated).
pub fn read_learned(dir: &RunDir) -> Result<Option<DistributionSpec>> {
    let path = dir.file(LEARNED_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let learned: Learned = toml::from_str(&text).map_err(|e| Error::data(&path, e.to_string()))?;
    Ok(Some(learned.distribution))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_metrics_with_failed_members_round_trip() {
        let failed = MemberOutcome {
            failure: Some(crate::train::trainer::Failure { step: 3, loss: f64::NAN }),
            ..Default::default()
        };
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
}
