//! The records of a `search` run: its config, every trial, the state to resume from, the learned φ,
//! the final comparison (per episode and its paired tests) and PBT's lineage.
use super::RunCommand;
use crate::data::Pool;
use crate::error::{Error, Result};
use crate::family::DistributionSpec;
use crate::rundir::{null_as_nan, RunDir};
use crate::runtime::RunEnvironment;
use crate::stats::{mean_ci_text, p_value, PairedTest};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The state after the last completed outer step: a [`SearchState`].
pub const STATE_FILE: &str = "state.json";
/// One [`Trial`] per φ and episode.
pub const TRIALS_FILE: &str = "trials.jsonl";
/// The learned φ: a [`Learned`] as TOML.
pub const LEARNED_FILE: &str = "learned.toml";
/// The comparison of learned and default φ: a [`SearchOutcome`].
pub const SEARCH_SUMMARY_FILE: &str = "summary.json";
/// One [`ComparisonEpisode`] per comparison episode: every method's query loss and metric.
pub const COMPARISON_FILE: &str = "comparison.jsonl";
/// The resolved C×C label distance of a study that learns a mixture, as CSV.
pub const LABEL_DISTANCE_FILE: &str = "label-distance.csv";

/// PBT's exploit/explore decisions: one [`LineageRecord`] per replaced member.
pub const LINEAGE_FILE: &str = "lineage.jsonl";

/// [`CONFIG_FILE`] of a `search` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchConfig<Study> {
    pub command: RunCommand,
    pub task_file: PathBuf,
    pub task_toml: String,
    pub meta_file: PathBuf,
    /// The study as resolved (`meta::StudySpec`).
    pub study: Study,
    pub environment: RunEnvironment,
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
/// One φ evaluated on one episode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trial {
    pub step: usize,
    pub candidate: usize,
    pub pool: Pool,
    pub episode: u64,
    pub phi: Vec<f64>,
    #[serde(deserialize_with = "null_as_nan")]
    pub query_loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub metric: f64,
}

/// What one outer step found: the φ it moved to (or its best candidate) and the spread over episodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: usize,
    pub phi: Vec<f64>,
    #[serde(deserialize_with = "null_as_nan")]
    pub loss_mean: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub loss_sd: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub metric_mean: f64,
}

/// Everything needed to continue a study after its last completed step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchState {
    /// Completed outer steps.
    pub step: usize,
    /// Current θ (hypergradient) and Adam's moments on it.
    pub theta: Vec<f64>,
    pub adam_m: Vec<f64>,
    pub adam_v: Vec<f64>,
    /// CMA-ES's search distribution between steps (`meta::cmaes::CmaEs`; opaque here, read by its learner).
    pub cmaes: Option<serde_json::Value>,
    /// Best φ by mean query loss (black-box methods) and its loss.
    pub best_phi: Vec<f64>,
    #[serde(deserialize_with = "null_as_nan")]
    pub best_loss: f64,
    /// Inner-loop member-steps spent so far, and wall seconds.
    pub inner_member_steps: u64,
    pub seconds: f64,
    pub history: Vec<StepRecord>,
    /// PBT's population between rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbt: Option<PbtState>,
}

/// Mean ± 95 % CI of φ on the meta-validation episodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluated {
    pub distribution: String,
    #[serde(deserialize_with = "null_as_nan")]
    pub loss_mean: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub loss_ci95: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub metric_mean: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub metric_ci95: f64,
}

/// The result of a study.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchOutcome {
    pub metric: String,
    pub episodes: usize,
    pub learned: Evaluated,
    pub default: Evaluated,
    /// Paired difference learned − default of the query loss: mean and 95 % t-interval half-width.
    #[serde(deserialize_with = "null_as_nan")]
    pub loss_difference: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub loss_difference_ci95: f64,
    pub inner_member_steps: u64,
    pub seconds: f64,
    /// Paired tests of the headline metric, learned − fixed, on the same episodes (equivalence
    /// margin: the study's `margin`, default 0.05, in the metric's unit).
    #[serde(default)]
    pub metric_test: Option<PairedTest>,
    /// The pool the comparison episodes were scored on (meta-validation windows, or the test pool
    /// for full-range episodes).
    #[serde(default = "validation_pool")]
    pub compared_on: Pool,
    /// The study's `compare_with` methods on the same episodes, each paired against the default.
    #[serde(default)]
    pub others: Vec<Compared>,
}

/// One episode of the final comparison: each method's scores on it, in the order learned, default,
/// `compare_with` (the paired tests of `summary.json` are over these rows; NaN written as null).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComparisonEpisode {
    pub episode: u64,
    /// The network seed every method trained with on this episode.
    pub member_seed: u64,
    pub scores: Vec<MethodScore>,
}

/// One method's query loss and headline metric on one comparison episode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodScore {
    pub distribution: String,
    pub loss: f64,
    pub metric: f64,
}

/// A fixed method scored on the comparison episodes, and its paired test against the default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Compared {
    pub evaluated: Evaluated,
    pub metric_test: PairedTest,
}

fn validation_pool() -> Pool {
    Pool::Val
}

impl SearchOutcome {
    /// Markdown: learned and default φ with query loss and metric (mean ± 95 % CI), then the
    /// paired difference and the compute spent. `loss_unit` names the query loss (e.g. "MAE, degrees").
    pub fn table(&self, loss_unit: &str) -> String {
        let one = self.episodes < 2;
        let n = self.episodes;
        let row = |who: &str, e: &Evaluated| {
            format!(
                "| {who} {} | {} | {} |\n",
                crate::family::brief(&e.distribution),
                mean_ci_text(e.loss_mean, e.loss_ci95, n, 4),
                mean_ci_text(e.metric_mean, e.metric_ci95, n, 3)
            )
        };
        let verdict = |who: &str, t: &PairedTest| {
            if t.n == 0 {
                return format!(
                    "Paired {} difference {who} − fixed: failed (no episode scored both finitely).\n",
                    self.metric
                );
            }
            if t.n < 2 {
                return format!(
                    "Paired {} difference {who} − fixed {:+.4}: no verdict from {} finite episode(s); a verdict needs 2 or more.\n",
                    self.metric, t.mean, t.n
                );
            }
            format!(
                "Paired {} difference {who} − fixed {:+.4} ± {:.4}: {} (t-test {}, Wilcoxon {}, TOST at ±{} {}, n = {}).\n",
                self.metric, t.mean, t.ci95, t.verdict, p_value(t.t_p), p_value(t.wilcoxon_p), t.margin, p_value(t.tost_p), t.n
            )
        };
        let scored_on = match self.compared_on {
            Pool::Test => "Held-out test pool",
            _ => "Meta-validation",
        };
        let mut text = format!(
            "| distribution | query loss ({loss_unit}) ± 95 % CI | {} ± 95 % CI |\n|---|---|---|\n{}{}",
            self.metric,
            row("learned", &self.learned),
            row("fixed", &self.default),
        );
        for other in &self.others {
            text += &row("also", &other.evaluated);
        }
        let difference = if one {
            format!("{:.4} (no interval from one episode)", self.loss_difference)
        } else {
            format!("{:.4} ± {:.4} (95 % t interval)", self.loss_difference, self.loss_difference_ci95)
        };
        text += &format!(
            "\n{scored_on}: {} episode{}; paired query-loss difference learned − fixed {difference}; {} inner member-steps, {:.0} s.\n",
            self.episodes,
            if self.episodes == 1 { "" } else { "s" },
            self.inner_member_steps,
            self.seconds
        );
        if let Some(t) = &self.metric_test {
            text += &verdict("learned", t);
        }
        for other in &self.others {
            text += &verdict(&crate::family::brief(&other.evaluated.distribution), &other.metric_test);
        }
        text
    }
}

/// The population's φs between rounds (its weights and optimiser state are checkpointed by [`save_population`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PbtState {
    /// Each member's θ (unconstrained φ).
    pub thetas: Vec<Vec<f64>>,
}

/// One replaced member: it took `parent`'s weights and optimiser state and a perturbed copy of its φ.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineageRecord {
    pub round: usize,
    /// Inner steps trained when the copy was made.
    pub inner_step: usize,
    pub member: usize,
    pub parent: usize,
    #[serde(deserialize_with = "null_as_nan")]
    pub loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub parent_loss: f64,
    pub phi_before: Vec<f64>,
    pub phi_after: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::paired_test;

    fn outcome(differences: &[f64]) -> SearchOutcome {
        let evaluated = |distribution: &str, mean: f64| Evaluated {
            distribution: distribution.into(),
            loss_mean: mean,
            loss_ci95: if differences.len() < 2 { 0.0 } else { 0.1 },
            metric_mean: mean,
            metric_ci95: if differences.len() < 2 { 0.0 } else { 0.1 },
        };
        SearchOutcome {
            metric: "mae".into(),
            episodes: differences.len(),
            learned: evaluated("gaussian:sigma=3", 5.9178),
            default: evaluated("gaussian:sigma=2", 5.7930),
            loss_difference: 0.1248,
            loss_difference_ci95: if differences.len() < 2 { f64::NAN } else { 0.05 },
            inner_member_steps: 2730,
            seconds: 1.0,
            metric_test: Some(paired_test(differences, 0.1, false)),
            compared_on: Pool::Test,
            others: vec![],
        }
    }

    #[test]
    fn one_comparison_episode_prints_no_spread_and_no_verdict() {
        let one = outcome(&[0.1248]).table("MAE of the expected label");
        assert!(
            one.contains("| learned gaussian:sigma=3 | 5.9178 ± n/a (1 episode) | 5.918 ± n/a (1 episode) |"),
            "{one}"
        );
        assert!(one.contains("Held-out test pool: 1 episode; paired query-loss difference learned − fixed 0.1248 (no interval from one episode)"), "{one}");
        assert!(
            one.contains("+0.1248: no verdict from 1 finite episode(s); a verdict needs 2 or more."),
            "{one}"
        );
        assert!(!one.contains("NaN") && !one.contains("± 0.0000"), "{one}");
        let none = outcome(&[f64::NAN, f64::NAN]).table("MAE of the expected label");
        assert!(
            none.contains("Paired mae difference learned − fixed: failed (no episode scored both finitely)."),
            "{none}"
        );
        let three = outcome(&[0.1, 0.12, 0.15]).table("MAE of the expected label");
        assert!(
            three.contains("| 5.9178 ± 0.1000 | 5.918 ± 0.100 |") && three.contains("3 episodes;"),
            "{three}"
        );
        assert!(three.contains("(t-test p = ") && three.contains("n = 3)."), "{three}");
    }
}
