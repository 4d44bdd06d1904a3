//! Reading run directories (never training): which command wrote each (`search`, `fewshot`, `train`),
//! its task, and the records the figures need, typed.
use crate::config::{DatasetSpec, LabelDomain, TaskSpec};
use crate::error::{Error, Result};
use crate::rundir::metrics_null_as_nan;
use crate::fewshot::{FewshotSummary, SUMMARY_FILE as FEWSHOT_SUMMARY};
use crate::label::DistributionSpec;
use crate::meta::search::{read_learned, SearchOutcome, SearchState, STATE_FILE, SUMMARY_FILE as SEARCH_SUMMARY};
use crate::rundir::null_as_nan;
use crate::rundir::RunDir;
use crate::train::metrics::{LabelError, Metrics};
use crate::train::summary::MemberResult;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A run directory and what it holds.
pub struct Run {
    /// The directory's last path component (used in figure names).
    pub name: String,
    pub dir: PathBuf,
    /// The task it ran on, when its config records one.
    pub task: Option<TaskSpec>,
    pub kind: RunKind,
}

/// The records of each kind of run.
pub enum RunKind {
    Search(Box<SearchRun>),
    Fewshot(FewshotSummary),
    Train(TrainRun),
}

/// A `dldl-meta search` directory.
pub struct SearchRun {
    /// `grid`, `random`, `cmaes` or `hypergradient`.
    pub method: String,
    pub state: SearchState,
    /// The final φ, once the search finished.
    pub learned: Option<DistributionSpec>,
    pub outcome: Option<SearchOutcome>,
}

/// One evaluation point of one member of a `dldl-meta train` run.
#[derive(Debug, Clone, Deserialize)]
pub struct CurveLine {
    pub member: usize,
    pub method: String,
    pub seed: u64,
    pub point: Point,
}

/// An evaluation during training (`CurvePoint` as logged; NaN metrics are `null`).
#[derive(Debug, Clone, Deserialize)]
pub struct Point {
    pub step: usize,
    #[serde(deserialize_with = "null_as_nan")]
    pub train_loss: f64,
    #[serde(deserialize_with = "metrics_null_as_nan")]
    pub val: Metrics,
}

/// A `dldl-meta train` directory.
pub struct TrainRun {
    pub curves: Vec<CurveLine>,
    /// Final test metrics per member, once the run finished.
    pub members: Vec<MemberResult>,
    /// Per member (as `members`), test MAE per true label; ordinal tasks only.
    pub per_label: Option<Vec<Vec<LabelError>>>,
}

#[derive(Deserialize)]
struct TrainMetrics {
    members: Vec<MemberRead>,
    #[serde(default)]
    per_label: Option<Vec<Vec<LabelErrorRead>>>,
}

#[derive(Deserialize)]
struct LabelErrorRead {
    label: f64,
    count: usize,
    #[serde(deserialize_with = "null_as_nan")]
    mae: f64,
}

#[derive(Deserialize)]
struct MemberRead {
    method: String,
    seed: u64,
    #[serde(deserialize_with = "metrics_null_as_nan")]
    metrics: Metrics,
    #[serde(default)]
    failure: Option<String>,
}

impl Run {
    /// Reads `path`; an error names what is missing.
    pub fn load(path: &Path) -> Result<Run> {
        let dir = RunDir::existing(path)?;
        let config: serde_json::Value = dir.read_json(crate::rundir::CONFIG_FILE)?;
        let task = match (config.get("task_toml").and_then(|v| v.as_str()), config.get("task_file").and_then(|v| v.as_str())) {
            (Some(text), Some(file)) => Some(TaskSpec::parse(text, Path::new(file))?),
            _ => None,
        };
        let command = config.get("command").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let kind = match command.as_str() {
            "search" => {
                let learned = read_learned(&dir)?;
                let outcome = if dir.file(SEARCH_SUMMARY).exists() { Some(dir.read_json(SEARCH_SUMMARY)?) } else { None };
                let method = config.pointer("/study/method").and_then(|v| v.as_str()).unwrap_or("search").to_string();
                RunKind::Search(Box::new(SearchRun { method, state: dir.read_json(STATE_FILE)?, learned, outcome }))
            }
            "fewshot" => RunKind::Fewshot(dir.read_json(FEWSHOT_SUMMARY)?),
            "train" => {
                let (members, per_label) = if dir.file("metrics.json").exists() {
                    let read = dir.read_json::<TrainMetrics>("metrics.json")?;
                    let members = read
                        .members
                        .into_iter()
                        .map(|m| MemberResult { method: m.method, seed: m.seed, metrics: m.metrics, failure: m.failure })
                        .collect();
                    let per_label = read.per_label.map(|all| {
                        all.into_iter()
                            .map(|rows| rows.into_iter().map(|r| LabelError { label: r.label, count: r.count, mae: r.mae }).collect())
                            .collect()
                    });
                    (members, per_label)
                } else {
                    (vec![], None)
                };
                RunKind::Train(TrainRun { curves: dir.read_jsonl("curves.jsonl")?, members, per_label })
            }
            other => return Err(Error::data(path, format!("config.json says command {other:?}; the report reads search, fewshot and train runs"))),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
        Ok(Run { name, dir: path.to_path_buf(), task, kind })
    }

    /// The task's name, or the run's.
    pub fn task_name(&self) -> String {
        self.task.as_ref().map_or_else(|| self.name.clone(), |t| t.name.clone())
    }
}

/// Unit of the task's labels, for axis titles.
pub fn label_unit(task: Option<&TaskSpec>) -> &'static str {
    match task.map(|t| &t.dataset) {
        Some(DatasetSpec::Utkface(_) | DatasetSpec::Abalone(_)) => "years",
        Some(DatasetSpec::MnistRotation(_)) => "degrees",
        Some(DatasetSpec::Wine(_)) => "quality points",
        Some(DatasetSpec::MnistPose(_)) => "degrees / %",
        Some(DatasetSpec::Pointing04(_)) => "degrees",
        _ => "label units",
    }
}

/// How a metric is named on an axis, with its unit.
pub fn metric_axis(metric: &str, task: Option<&TaskSpec>) -> String {
    match metric {
        "mae" | "mae_argmax" => format!("MAE ({})", label_unit(task)),
        "map" => "mAP (fraction)".into(),
        "miou" => "mIoU (fraction)".into(),
        "loss" => format!("query loss ({})", query_loss_unit(task)),
        other => other.to_string(),
    }
}

/// The φ-free query loss: MAE in label units (ordinal, pose) or KL / cross-entropy in nats.
pub fn query_loss_unit(task: Option<&TaskSpec>) -> String {
    match task.map(|t| &t.labels) {
        Some(LabelDomain::Bins(_) | LabelDomain::Grid(_)) => format!("MAE, {}", label_unit(task)),
        Some(LabelDomain::Classes(_)) => "nats".into(),
        None => "as logged".into(),
    }
}
