//! Reading run directories (never training): which command wrote each (`search`, `fewshot`, `train`),
//! its task, and the records the figures need, typed.
use crate::config::{DatasetSpec, TaskSpec};
use crate::domain::{LabelDomain, LabelKind};
use crate::error::{Error, Result};
use crate::family::DistributionSpec;
use crate::fewshot::FewshotSpec;
use crate::label::LabelDistance;
use crate::meta::query_loss::QueryLoss;
use crate::rundir::records::{
    read_learned, CurveLine, FewshotConfig, RunCommand, RunHeader, SessionRecord, TrainMetrics, CONFIG_FILE,
    CURVES_FILE, FEWSHOT_SUMMARY_FILE, LABEL_DISTANCE_FILE, METRICS_FILE, RECORDS_FILE, SEARCH_SUMMARY_FILE,
    SESSIONS_FILE, STATE_FILE,
};
use crate::rundir::records::{
    EpisodeRecord, FewshotSummary, LabelError, MemberResult, SearchOutcome, SearchState,
};
use crate::rundir::RunDir;
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
    /// The label distance of a study that learned a mixture.
    pub label_distance: Option<LabelDistance>,
    /// The family the study learned when it was not the task's (its `distribution`).
    pub template: Option<DistributionSpec>,
    /// The φ-free loss its query sets were scored by.
    pub query_loss: QueryLoss,
    /// Inner steps its hypergradient kept on the graph (the look-ahead horizon; 1 for other learners).
    pub unroll: usize,
}

/// A `dldl-meta train` directory.
pub struct TrainRun {
    pub curves: Vec<CurveLine>,
    /// Final test metrics per member, once the run finished.
    pub members: Vec<MemberResult>,
    /// Per member (as `members`), test MAE per true label; ordinal tasks only.
    pub per_label: Option<Vec<Vec<LabelError>>>,
}

/// The study method and family of a search run's config (`/study/method`, `/study/distribution`).
#[derive(Deserialize)]
struct StudyMethod {
    study: StudyHeader,
}

#[derive(Deserialize)]
struct StudyHeader {
    method: String,
    #[serde(default)]
    distribution: Option<DistributionSpec>,
    #[serde(default)]
    query_loss: QueryLoss,
    #[serde(default = "one")]
    unroll: usize,
}

fn one() -> usize {
    1
}

impl Run {
    /// Reads `path`; an error names what is missing.
    pub fn load(path: &Path) -> Result<Run> {
        let dir = RunDir::existing(path)?;
        let header: RunHeader = dir.read_json(CONFIG_FILE)?;
        let task = Some(TaskSpec::parse(&header.task_toml, &header.task_file)?);
        let kind = match header.command {
            RunCommand::Search => {
                let learned = read_learned(&dir)?;
                let outcome = if dir.file(SEARCH_SUMMARY_FILE).exists() {
                    Some(dir.read_json(SEARCH_SUMMARY_FILE)?)
                } else {
                    None
                };
                let StudyHeader { method, distribution: template, query_loss, unroll } =
                    dir.read_json::<StudyMethod>(CONFIG_FILE)?.study;
                let label_distance = match (&task, dir.file(LABEL_DISTANCE_FILE)) {
                    (Some(TaskSpec { labels: LabelDomain::Classes(c), .. }), file) if file.exists() => {
                        Some(LabelDistance::from_csv(&file, c.len() as i64)?)
                    }
                    _ => None,
                };
                RunKind::Search(Box::new(SearchRun {
                    method,
                    state: dir.read_json(STATE_FILE)?,
                    learned,
                    outcome,
                    label_distance,
                    template,
                    query_loss,
                    unroll,
                }))
            }
            RunCommand::Fewshot if !dir.file(FEWSHOT_SUMMARY_FILE).exists() => {
                return Err(incomplete_fewshot(&dir, path)?)
            }
            RunCommand::Fewshot => RunKind::Fewshot(dir.read_json(FEWSHOT_SUMMARY_FILE)?),
            RunCommand::Train => {
                let metrics: Option<TrainMetrics> =
                    if dir.file(METRICS_FILE).exists() { Some(dir.read_json(METRICS_FILE)?) } else { None };
                let (members, per_label) = metrics.map_or((vec![], None), |m| (m.members, m.per_label));
                RunKind::Train(TrainRun { curves: dir.read_jsonl(CURVES_FILE)?, members, per_label })
            }
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
        Ok(Run { name, dir: path.to_path_buf(), task, kind })
    }

    /// The task's name, or the run's.
    pub fn task_name(&self) -> String {
        self.task.as_ref().map_or_else(|| self.name.clone(), |t| t.name.clone())
    }
}

/// The error for a fewshot run stopped before its end: how many records it holds, and the command
/// (its last session's) that finishes it.
fn incomplete_fewshot(dir: &RunDir, path: &Path) -> Result<Error> {
    let config: FewshotConfig<FewshotSpec> = dir.read_json(CONFIG_FILE)?;
    let spec = &config.fewshot;
    let total = spec.settings.len() * spec.episodes * spec.methods.len();
    let records = dir.read_jsonl::<EpisodeRecord>(RECORDS_FILE)?.len();
    let sessions: Vec<SessionRecord> = dir.read_jsonl(SESSIONS_FILE)?;
    let command = match sessions.last() {
        Some(s) => {
            with_out(&s.command_line, path).iter().map(|a| shell_quoted(a)).collect::<Vec<_>>().join(" ")
        }
        None => format!(
            "dldl-meta fewshot --task {} … --out {} (the command that started it)",
            config.task_file.display(),
            path.display()
        ),
    };
    Ok(Error::data(
        path,
        format!("is an incomplete fewshot run ({records} of {total} episode records, no {FEWSHOT_SUMMARY_FILE} yet); the same command resumes and finishes it:\n  {command}"),
    ))
}

/// `command_line` with its `--out` value replaced by `path`, the directory as given now (it may
/// have been moved or copied since the session that recorded the command).
fn with_out(command_line: &[String], path: &Path) -> Vec<String> {
    let now = path.display().to_string();
    let mut args = command_line.to_vec();
    let mut value_of_out = false;
    for arg in &mut args {
        if std::mem::take(&mut value_of_out) {
            *arg = now.clone();
        } else if arg == "--out" {
            value_of_out = true;
        } else if arg.starts_with("--out=") {
            *arg = format!("--out={now}");
        }
    }
    args
}

/// `arg` as a shell word.
fn shell_quoted(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "_-./:=,+@%".contains(c)) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
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
        other => other.to_string(),
    }
}

/// The φ-free query loss a study scored by: MAE in label units (ordinal, pose), 1 − Smooth-AP or
/// 1 − soft IoU (multi-label, segmentation), or KL / cross-entropy in nats.
pub fn query_loss_unit(task: Option<&TaskSpec>, loss: QueryLoss) -> String {
    match (task.map(TaskSpec::label_kind), loss) {
        (None, _) => "as logged".into(),
        (Some(_), QueryLoss::Kl) | (Some(LabelKind::Distribution), _) => "nats".into(),
        (Some(LabelKind::Ordinal | LabelKind::Pose), QueryLoss::Aligned) => {
            format!("MAE, {}", label_unit(task))
        }
        (Some(LabelKind::MultiLabel), QueryLoss::Aligned) => "1 − Smooth-AP".into(),
        (Some(LabelKind::Segmentation), QueryLoss::Aligned) => "1 − soft IoU".into(),
    }
}
