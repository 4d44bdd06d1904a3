//! The `[optuna]` table of a study file: Optuna's sampler and pruner, the scale of φ's parameters,
//! how many episodes are scored between reports, and the heartbeat that re-queues a dead worker's trial.
use crate::error::{Error, Result};
use crate::meta::study_spec::SearchMethod;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Optuna's samplers a study can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplerKind {
    /// TPE with `constant_liar` (parallel workers do not propose the same point).
    Tpe,
    Cmaes,
    /// Gaussian-process Bayesian optimisation.
    Gp,
    Random,
    /// Every point of the study's `grid` (per parameter; vector points span their product).
    Grid,
}

/// Optuna's pruners a study can ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrunerKind {
    #[default]
    None,
    /// Wilcoxon signed-rank test of the per-episode query losses against the best trial's.
    Wilcoxon,
}

/// The `[optuna]` table (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptunaSettings {
    /// Default: from `method` (grid → grid, random → random, cmaes → cmaes, hypergradient → tpe).
    pub sampler: Option<SamplerKind>,
    /// Random trials before TPE, CMA-ES or GP model the results (Optuna's default when absent).
    pub n_startup_trials: Option<usize>,
    /// Sample φ on a log scale. Default: true for σ, false for P/D/N.
    pub log: Option<bool>,
    #[serde(default)]
    pub pruner: PrunerKind,
    /// WilcoxonPruner's p-value threshold (default 0.1).
    pub p_threshold: Option<f64>,
    /// Episodes trained together between two reports (default: all of a trial's episodes at once;
    /// smaller values let the pruner stop a losing φ before its last episode).
    pub episodes_per_report: Option<usize>,
    /// Seconds between heartbeats of a running trial (default 60; RDB storages only).
    pub heartbeat_interval: Option<u64>,
    /// Seconds without a heartbeat after which a trial is failed and re-queued (default 2 × interval).
    pub grace_period: Option<u64>,
    /// Times a dead worker's trial is re-queued (default 3).
    pub max_retry: Option<usize>,
}

impl OptunaSettings {
    /// Checks every given value; `path` names the study file in errors.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let err = |field: &str, rule: &str| Err(Error::config(path, format!("optuna.{field}"), rule));
        if let Some(p) = self.p_threshold {
            if !(p > 0.0 && p < 1.0) {
                return err("p_threshold", "must lie in (0, 1)");
            }
        }
        if self.episodes_per_report == Some(0) {
            return err("episodes_per_report", "must be >= 1");
        }
        if self.heartbeat_interval == Some(0) {
            return err("heartbeat_interval", "must be >= 1 second");
        }
        if let Some(g) = self.grace_period {
            if g < self.heartbeat() {
                return err("grace_period", "must be at least heartbeat_interval");
            }
        }
        Ok(())
    }

    /// The sampler, or the one that matches the study's `method`.
    pub fn sampler_for(&self, method: SearchMethod) -> SamplerKind {
        self.sampler.unwrap_or(match method {
            SearchMethod::Grid => SamplerKind::Grid,
            SearchMethod::Random => SamplerKind::Random,
            SearchMethod::Cmaes => SamplerKind::Cmaes,
            SearchMethod::Hypergradient | SearchMethod::Pbt | SearchMethod::Online | SearchMethod::Es => {
                SamplerKind::Tpe
            }
        })
    }

    /// Seconds between heartbeats.
    pub fn heartbeat(&self) -> u64 {
        self.heartbeat_interval.unwrap_or(60)
    }

    /// Seconds of silence after which a running trial is failed.
    pub fn grace(&self) -> u64 {
        self.grace_period.unwrap_or(2 * self.heartbeat())
    }

    /// Times a failed trial is re-queued.
    pub fn retries(&self) -> usize {
        self.max_retry.unwrap_or(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_method_and_bad_values_name_their_field() {
        let s = OptunaSettings::default();
        assert_eq!(s.sampler_for(SearchMethod::Hypergradient), SamplerKind::Tpe);
        assert_eq!(s.sampler_for(SearchMethod::Grid), SamplerKind::Grid);
        assert_eq!((s.heartbeat(), s.grace(), s.retries()), (60, 120, 3));
        let bad =
            OptunaSettings { heartbeat_interval: Some(10), grace_period: Some(5), ..Default::default() };
        let e = bad.validate(Path::new("meta/x.toml")).unwrap_err().to_string();
        assert!(e.contains("meta/x.toml") && e.contains("optuna.grace_period"), "{e}");
        let bad = OptunaSettings { p_threshold: Some(1.5), ..Default::default() };
        assert!(bad.validate(Path::new("m.toml")).unwrap_err().to_string().contains("optuna.p_threshold"));
    }
}
