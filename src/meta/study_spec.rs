//! Study specs (`meta/*.toml`): which φ to learn, the search method, bounds, outer budget, episodes,
//! inner-loop overrides; parsed with unknown fields denied and validated once.
use super::query_loss::QueryLoss;
use crate::config::{Optimiser, Schedule, TrainPlan};
use crate::error::{Error, Result};
pub use crate::family::Learn;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The most candidates (θ + s·ε and θ − s·ε together) one ES step trains.
pub const ES_MAX_CANDIDATES: usize = 64;

/// How φ is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMethod {
    /// Every point of `grid`, each on the same episodes.
    Grid,
    /// Uniform candidates in the (log-)box, fresh episodes per step.
    Random,
    /// CMA-ES over the unconstrained parameters, fresh episodes per generation.
    Cmaes,
    /// Adam on φ with the gradient of the query loss through the last `unroll` inner steps.
    Hypergradient,
    /// Population-based training: `candidates` members train together; every `interval` steps the
    /// worst quarter copies the weights and optimiser state of the best quarter and perturbs φ.
    Pbt,
    /// Online hypergradient: `episodes_per_step` members sharing φ train once; every `interval`
    /// steps φ takes an Adam step along the one-step look-ahead gradient of a query-batch loss.
    Online,
    /// Antithetic evolution strategies: `candidates / 2` mirrored pairs θ ± s·ε (s = `perturbation`)
    /// train the whole schedule on the same episodes; Adam on θ along the estimated gradient.
    Es,
}

/// What black-box learners and PBT rank candidates by on the query sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SelectBy {
    /// The φ-free query loss (`query_loss`).
    #[default]
    Loss,
    /// The task's headline metric (mAP, mIoU, MAE), which the loss may not follow.
    Metric,
}

impl SelectBy {
    /// The default, which run records leave unwritten.
    pub fn is_loss(&self) -> bool {
        *self == SelectBy::Loss
    }
}

impl SearchMethod {
    /// The name a study file uses.
    pub fn name(self) -> &'static str {
        match self {
            SearchMethod::Grid => "grid",
            SearchMethod::Random => "random",
            SearchMethod::Cmaes => "cmaes",
            SearchMethod::Hypergradient => "hypergradient",
            SearchMethod::Pbt => "pbt",
            SearchMethod::Online => "online",
            SearchMethod::Es => "es",
        }
    }
}

impl std::fmt::Display for SearchMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Inner-loop settings that override the task's for this study.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InnerOverride {
    pub steps: Option<usize>,
    pub batch: Option<i64>,
    pub lr: Option<f64>,
    /// `sgd` or `adam`; spelt `optimiser` like the task's `[train]`, `optimiser` accepted too.
    #[serde(rename = "optimiser", alias = "optimizer")]
    pub optimiser: Option<Optimiser>,
    pub momentum: Option<f64>,
    /// `constant`, `cosine` (decay to 0 at the last inner step) or `step` (the task's `step_every`);
    /// unwritten when absent, so earlier run records keep their form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

impl InnerOverride {
    /// `spec` with each given setting replaced.
    pub fn applied_to(&self, spec: &TrainPlan) -> TrainPlan {
        TrainPlan {
            steps: self.steps.unwrap_or(spec.steps),
            batch: self.batch.unwrap_or(spec.batch),
            lr: self.lr.unwrap_or(spec.lr),
            optimiser: self.optimiser.unwrap_or(spec.optimiser),
            momentum: self.momentum.unwrap_or(spec.momentum),
            schedule: self.schedule.unwrap_or(spec.schedule),
            ..spec.clone()
        }
    }
}

/// Full-range episodes: a seeded fraction of the training pool over all labels, trained for the
/// whole schedule, scored on the validation pool (search) or the test pool (final comparison).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullRange {
    /// Fraction of the training pool each episode trains on, in (0, 1].
    pub budget: f64,
    /// Query examples per episode drawn from the scoring pool (0 = the whole pool).
    #[serde(default)]
    pub query: usize,
}

/// A validated study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    /// The file the study was read from (not part of the recorded configuration).
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(default)]
    pub description: String,
    pub method: SearchMethod,
    pub learn: Learn,
    /// The family and starting φ the study learns, in the task file's `[distribution]` form (absent:
    /// the task's own). The final comparison pairs the learned φ against the task's distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<crate::family::DistributionSpec>,
    /// Starting φ (hypergradient, CMA-ES mean); default: the task's own φ.
    #[serde(default)]
    pub init: Option<Vec<f64>>,
    /// Lower bounds of φ (one value, or one per coordinate). For pdn: (p_D, p_N / p_D).
    pub lower: Vec<f64>,
    /// Upper bounds of φ, like `lower`.
    pub upper: Vec<f64>,
    /// `sigma-per-label` on a few knots (label values, strictly increasing, inside the bins): the
    /// learned σs sit at the knots and every bin's σ is their linear interpolation (absent: one σ
    /// per bin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knots: Option<Vec<f64>>,
    /// Grid points (grid method; ES: the points its starting step scores): each a number (scalar
    /// φ) or a list.
    #[serde(default)]
    pub grid: Vec<GridPoint>,
    /// Outer steps (generations for CMA-ES, Adam steps for the hypergradient; ignored by grid).
    pub outer_steps: usize,
    /// Meta-train episodes per outer step (members trained together).
    pub episodes_per_step: usize,
    /// Candidates per step (random; CMA-ES λ, 0 = CMA-ES default; PBT's population; ES: mirrored
    /// candidates, an even number).
    #[serde(default = "default_candidates")]
    pub candidates: usize,
    /// Inner steps kept on the graph for the hypergradient (1 = one-step look-ahead).
    #[serde(default = "one")]
    pub unroll: usize,
    /// Adam learning rate on the unconstrained φ (hypergradient, online, es).
    #[serde(default = "default_outer_lr")]
    pub outer_lr: f64,
    /// ES: the scale s of the mirrored perturbations θ ± s·ε in θ (log σ: 0.2 moves σ by ×1.22);
    /// absent: [`DEFAULT_PERTURBATION`] (unwritten then, so run records of other studies keep
    /// their form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<f64>,
    /// The equivalence margin of the final comparison's verdicts, in the headline metric's unit
    /// (absent: [`crate::stats::default_margin`], 0.05; unwritten then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    /// Meta-validation episodes for the final comparison of learned and default φ.
    #[serde(default = "default_validation")]
    pub validation_episodes: usize,
    /// PBT and online: inner steps between rounds that change φ (exploit/explore, or a hypergradient step).
    #[serde(default)]
    pub interval: usize,
    /// Rank candidates by the query loss (default) or the headline metric (grid, random, CMA-ES, PBT).
    #[serde(default, skip_serializing_if = "SelectBy::is_loss")]
    pub select_by: SelectBy,
    /// The φ-free loss query sets are scored by: `aligned` with the headline metric (default) or `kl`.
    #[serde(default)]
    pub query_loss: QueryLoss,
    /// Full-range episodes instead of the task's window episodes (absent: the task's `[episodes]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_range: Option<FullRange>,
    /// Fixed distributions (`--dist` syntax) scored next to the learned and default φ in the final
    /// comparison, each paired against the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare_with: Vec<String>,
    #[serde(default)]
    pub inner: InnerOverride,
    #[serde(default)]
    pub seed: u64,
    /// Optuna's sampler, pruner and heartbeat for `dldl-meta worker` (absent: the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optuna: Option<crate::meta::optuna::OptunaSettings>,
}

/// One grid point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GridPoint {
    Scalar(f64),
    Vector(Vec<f64>),
}

impl GridPoint {
    /// The point's coordinates.
    pub fn values(&self) -> Vec<f64> {
        match self {
            GridPoint::Scalar(v) => vec![*v],
            GridPoint::Vector(v) => v.clone(),
        }
    }
}

fn default_candidates() -> usize {
    4
}
fn one() -> usize {
    1
}
fn default_outer_lr() -> f64 {
    0.1
}
/// ES's perturbation scale when a study gives none.
pub const DEFAULT_PERTURBATION: f64 = 0.2;
fn default_validation() -> usize {
    16
}

impl StudySpec {
    /// Reads and validates a study file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let spec =
            StudySpec { path: path.to_path_buf(), ..crate::config::from_toml::<StudySpec>(&text, path)? };
        spec.validate(path)?;
        Ok(spec)
    }

    /// The verdicts' equivalence margin (`margin`, default 0.05 in the metric's unit).
    pub fn margin(&self) -> f64 {
        self.margin.unwrap_or_else(crate::stats::default_margin)
    }

    /// ES's perturbation scale s (`perturbation`, default [`DEFAULT_PERTURBATION`]).
    pub fn perturbation(&self) -> f64 {
        self.perturbation.unwrap_or(DEFAULT_PERTURBATION)
    }

    /// The family the study learns: its own `distribution`, else the task's.
    pub fn family<'a>(
        &'a self,
        task: &'a crate::family::DistributionSpec,
    ) -> &'a crate::family::DistributionSpec {
        self.distribution.as_ref().unwrap_or(task)
    }

    /// A `field` of this study's file that breaks `rule`.
    pub fn error(&self, field: &str, rule: impl Into<String>) -> Error {
        Error::config(&self.path, field, rule)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let err = |field: &str, rule: &str| Err(Error::config(PathBuf::from(path), field, rule));
        if self.episodes_per_step == 0 {
            return err("episodes_per_step", "must be >= 1");
        }
        if self.method != SearchMethod::Grid && self.outer_steps == 0 {
            return err("outer_steps", "must be >= 1");
        }
        if self.method == SearchMethod::Grid && self.grid.is_empty() {
            return err("grid", "the grid method needs at least one point");
        }
        if !self.grid.is_empty() && !matches!(self.method, SearchMethod::Grid | SearchMethod::Es) {
            return err(
                "grid",
                &format!(
                    "method \"{}\" reads no grid (only \"grid\", and \"es\" as the points it starts from)",
                    self.method.name()
                ),
            );
        }
        if self.method == SearchMethod::Random && self.candidates == 0 {
            return err("candidates", "must be >= 1");
        }
        if self.method == SearchMethod::Hypergradient && self.unroll == 0 {
            return err("unroll", "0: must be >= 1 (inner steps unrolled per hypergradient)");
        }
        if self.method == SearchMethod::Online && self.interval == 0 {
            return err("interval", "0: the online hypergradient needs an interval >= 1 inner step");
        }
        let outer_lr_ok = self.outer_lr > 0.0 && self.outer_lr.is_finite();
        if matches!(self.method, SearchMethod::Hypergradient | SearchMethod::Online) && !outer_lr_ok {
            return err("outer_lr", &format!("{}: must be finite and > 0", self.outer_lr));
        }
        if self.method == SearchMethod::Es {
            let limit = ES_MAX_CANDIDATES;
            if self.candidates < 2 || !self.candidates.is_multiple_of(2) || self.candidates > limit {
                return err(
                    "candidates",
                    &format!(
                        "ES trains mirrored pairs θ ± s·ε: give an even number from 2 to {limit}, got {}",
                        self.candidates
                    ),
                );
            }
            let scale = self.perturbation();
            if !(scale > 0.0 && scale.is_finite()) {
                return err(
                    "perturbation",
                    &format!("{scale}: must be finite and > 0 (the scale of θ ± s·ε)"),
                );
            }
            if !(self.outer_lr > 0.0 && self.outer_lr.is_finite()) {
                return err("outer_lr", &format!("{}: must be finite and > 0", self.outer_lr));
            }
        }
        if !(self.margin() > 0.0 && self.margin().is_finite()) {
            return err(
                "margin",
                &format!("{}: must be finite and > 0 (in the headline metric's unit)", self.margin()),
            );
        }
        if self.method == SearchMethod::Pbt && self.candidates < 2 {
            return err("candidates", &format!("{}: PBT needs a population of at least 2", self.candidates));
        }
        if self.method == SearchMethod::Pbt && self.interval == 0 {
            return err("interval", "0: PBT needs an interval >= 1 inner step");
        }
        if self.select_by == SelectBy::Metric
            && matches!(self.method, SearchMethod::Hypergradient | SearchMethod::Online)
        {
            return err("select_by", "\"metric\" needs a black-box learner (grid, random, cmaes, pbt, es): the hypergradient follows the differentiable query loss");
        }
        if let Some(f) = &self.full_range {
            if !(f.budget > 0.0 && f.budget <= 1.0) {
                return err(
                    "full_range.budget",
                    "must lie in (0, 1]: the fraction of the training pool each episode trains on",
                );
            }
        }
        if let Some(Err(e)) = self.distribution.as_ref().map(|d| d.validate()) {
            return err("distribution", &e.to_string());
        }
        for (i, text) in self.compare_with.iter().enumerate() {
            if let Err(e) = text.parse::<crate::train::Method>() {
                return err(&format!("compare_with[{i}]"), &format!("{text:?}: {e}"));
            }
        }
        if self.validation_episodes == 0 {
            return err("validation_episodes", "must be >= 1");
        }
        if self.knots.is_some() && self.learn != Learn::SigmaPerLabel {
            return err(
                "knots",
                &format!(
                    "knots place σ(l) on a few labels: they need learn = \"sigma-per-label\", not \"{}\"",
                    self.learn
                ),
            );
        }
        if self.lower.is_empty() || self.lower.len() != self.upper.len() {
            return err("lower/upper", "give the same number of bounds (one, or one per coordinate)");
        }
        if self.lower.iter().zip(&self.upper).any(|(l, u)| !(l.is_finite() && u.is_finite() && l < u)) {
            return err("lower/upper", "each lower bound must be finite and below its upper bound");
        }
        if let Some(optuna) = &self.optuna {
            optuna.validate(path)?;
        }
        Ok(())
    }

    /// The task's inner-loop settings with this study's overrides applied (validated).
    pub fn inner_settings(&self, task: &TrainPlan) -> Result<TrainPlan> {
        let spec = TrainPlan { eval_every: 0, patience: 0, ..self.inner.applied_to(task) };
        spec.validate().map_err(|e| match e {
            Error::InvalidParameter { name, value, rule } => self.error(
                &format!("inner.{name}"),
                format!("{value}: {rule} (the task's [train] with this [inner] applied)"),
            ),
            other => self.error("inner", other.to_string()),
        })?;
        if self.method == SearchMethod::Hypergradient && self.unroll > spec.steps {
            return Err(
                self.error("unroll", format!("{} must be <= the inner steps ({})", self.unroll, spec.steps))
            );
        }
        if matches!(self.method, SearchMethod::Pbt | SearchMethod::Online) && self.interval >= spec.steps {
            return Err(self.error(
                "interval",
                format!(
                    "{} must be below the inner steps ({}): {} needs at least one round that changes φ",
                    self.interval, spec.steps, self.method
                ),
            ));
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STUDY: &str = "method = \"hypergradient\"\nlearn = \"sigma\"\nlower = [0.5]\nupper = [8.0]\n# Budget: 8 × 3 × 60 = 1,440 inner member-steps\nouter_steps = 8\nepisodes_per_step = 3\n[inner]\nsteps = 60\nlr = 0.003\n";

    /// The error of loading `text` as a study file, with the file shown as `meta/study.toml`.
    fn load_error(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.toml");
        std::fs::write(&path, text).unwrap();
        StudySpec::load(&path)
            .unwrap_err()
            .to_string()
            .replace(&path.display().to_string(), "meta/study.toml")
    }

    #[test]
    fn errors_name_the_field_not_the_line_above_it() {
        let e = load_error(&STUDY.replace("outer_steps = 8", "outer_steps = \"eight\""));
        assert!(
            e.contains("meta/study.toml: field `outer_steps`: invalid type")
                && e.contains("(line 6, column 15)"),
            "{e}"
        );
        assert!(!e.contains("Budget"), "{e}");
        let e = load_error(&STUDY.replace("lr = 0.003", "lr = 0.003\nlr = 0.1"));
        assert!(e.contains("field `inner.lr`: duplicate key (line 11, column 1)"), "{e}");
        let e = load_error(&STUDY.replace("method = \"hypergradient\"", "method = \"bayes\""));
        assert!(e.contains("field `method`: unknown variant `bayes`"), "{e}");
    }

    #[test]
    fn bad_budgets_pbt_settings_and_comparison_methods_are_refused() {
        let pbt =
            STUDY.replace("method = \"hypergradient\"", "method = \"pbt\"\ninterval = 10\ncandidates = 4");
        let online =
            STUDY.replace("method = \"hypergradient\"", "method = \"online\"\ninterval = 10\nouter_lr = 0.1");
        for (text, needle) in [
            (format!("{STUDY}[full_range]\nbudget = 0\n"), "field `full_range.budget`: must lie in (0, 1]"),
            (format!("{STUDY}[full_range]\nbudget = 1.5\n"), "field `full_range.budget`: must lie in (0, 1]"),
            (format!("{STUDY}[full_range]\nbudget = 0.1\nwindow = 3\n"), "unknown field `window`"),
            (pbt.replace("candidates = 4", "candidates = 1"), "field `candidates`: 1: PBT needs a population of at least 2"),
            (pbt.replace("interval = 10", "interval = 0"), "field `interval`: 0: PBT needs an interval >= 1"),
            (online.replace("interval = 10", "interval = 0"), "field `interval`: 0: the online hypergradient needs"),
            (online.replace("outer_lr = 0.1", "outer_lr = nan"), "field `outer_lr`: NaN: must be finite and > 0"),
            (STUDY.replace("method = \"hypergradient\"", "method = \"hypergradient\"\nunroll = 0"), "field `unroll`: 0: must be >= 1"),
            (format!("compare_with = [\"dldl:sigma=-1\"]\n{STUDY}"), "field `compare_with[0]`"),
            (format!("select_by = \"metric\"\n{STUDY}"), "field `select_by`: \"metric\" needs a black-box learner"),
            (format!("grid = [1.0, 2.0]\n{STUDY}"), "field `grid`: method \"hypergradient\" reads no grid (only \"grid\", and \"es\" as the points it starts from)"),
            (format!("select_by = \"map\"\n{STUDY}"), "field `select_by`: unknown variant `map`"),
            (format!("knots = [0.0, 5.0]\n{STUDY}"), "field `knots`: knots place σ(l) on a few labels: they need learn = \"sigma-per-label\", not \"sigma\""),
            (format!("query_loss = \"map\"\n{STUDY}"), "field `query_loss`: unknown variant `map`, expected `aligned` or `kl`"),
            (STUDY.replace("[inner]", "[distribution]\nfamily = \"mixture\"\nsigma = 1.0\np_d = 0.2\np_n = 0.5\n[inner]"), "field `distribution`: invalid p_n = 0.5"),
            (STUDY.replace("[inner]", "[distribution]\nfamily = \"mixture\"\nsigma = 1.0\np_d = 0.2\np_n = 0.0\ndistance = \"jaccard\"\n[inner]"), "must be index, cooccurrence or the path"),
        ] {
            let e = load_error(&text);
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let task: TrainPlan = toml::from_str("steps = 60\nbatch = 8\nlr = 0.001\n").unwrap();
        let mut study: StudySpec = toml::from_str(&pbt.replace("interval = 10", "interval = 60")).unwrap();
        study.path = "meta/s.toml".into();
        let e = study.inner_settings(&task).unwrap_err().to_string();
        assert!(e.contains("field `interval`: 60 must be below the inner steps (60)"), "{e}");
    }

    #[test]
    fn inner_errors_name_the_study_file_and_field() {
        let task: TrainPlan = toml::from_str("steps = 100\nbatch = 8\nlr = 0.001\n").unwrap();
        let mut study: StudySpec = toml::from_str(&format!("{STUDY}schedule = \"cosine\"\n")).unwrap();
        study.path = "meta/s.toml".into();
        assert_eq!(study.inner_settings(&task).unwrap().schedule, Schedule::Cosine);
        study.inner.lr = Some(0.0);
        let e = study.inner_settings(&task).unwrap_err().to_string();
        assert!(e.starts_with("meta/s.toml: field `inner.lr`: 0: must be"), "{e}");
        study.inner = InnerOverride { steps: Some(2), ..InnerOverride::default() };
        study.unroll = 5;
        let e = study.inner_settings(&task).unwrap_err().to_string();
        assert!(e.starts_with("meta/s.toml: field `unroll`: 5 must be <= the inner steps (2)"), "{e}");
    }

    #[test]
    fn inner_optimiser_takes_both_spellings_and_names_print_as_written() {
        for spelling in ["optimiser", "optimizer"] {
            let study: StudySpec = toml::from_str(&format!("{STUDY}{spelling} = \"sgd\"\n")).unwrap();
            assert_eq!(study.inner.optimiser, Some(Optimiser::Sgd), "{spelling}");
        }
        assert_eq!(
            (SearchMethod::Cmaes.to_string(), Learn::KernelSigma.to_string()),
            ("cmaes".into(), "kernel-sigma".into())
        );
        assert_eq!(
            serde_json::to_value(Learn::SigmaPerLabel).unwrap(),
            serde_json::json!(Learn::SigmaPerLabel.name())
        );
    }

    /// Settings added since earlier versions are unwritten when absent, so a run directory made
    /// before them compares equal to the same study now and resumes instead of being refused.
    #[test]
    fn new_optional_settings_leave_the_recorded_study_as_it_was() {
        let study: StudySpec = toml::from_str(STUDY).unwrap();
        let json = serde_json::to_value(&study).unwrap();
        for key in ["perturbation", "knots", "margin"] {
            assert!(json.get(key).is_none(), "{key} written: {json}");
        }
        assert!(json["inner"].get("schedule").is_none(), "{json}");
        assert_eq!(study.perturbation(), DEFAULT_PERTURBATION);
        assert_eq!(study.margin(), 0.05);
        let wide: StudySpec = toml::from_str(&format!("margin = 0.5\n{STUDY}")).unwrap();
        assert_eq!(wide.margin(), 0.5);
        let bad: StudySpec = toml::from_str(&format!("margin = 0.0\n{STUDY}")).unwrap();
        let err = bad.validate(std::path::Path::new("meta/s.toml")).unwrap_err().to_string();
        assert!(err.contains("margin") && err.contains("must be finite and > 0"), "{err}");
    }
}
