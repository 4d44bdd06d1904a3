//! Inner-loop settings as written in a task's `[train]` section: budget, batch, optimiser,
//! schedule, evaluation and early stopping; validated once.
use super::optimizer::{OptimizerKind, OptimizerSpec};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Learning-rate schedule over the training steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    /// Cosine decay from lr to 0 over all steps.
    Cosine,
}

/// Everything the inner loop needs besides data, network and targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// Optimiser steps per member (one mini-batch each).
    pub steps: usize,
    pub batch: i64,
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    pub lr: f64,
    #[serde(default)]
    pub momentum: f64,
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    /// Evaluate on the validation split every this many steps (0: only at the end).
    #[serde(default)]
    pub eval_every: usize,
    /// Stop a member after this many evaluations without a better validation loss (0: never);
    /// the member keeps its best parameters.
    #[serde(default)]
    pub patience: usize,
    /// Random horizontal flips of image inputs (faces).
    #[serde(default)]
    pub flip: bool,
}

fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam
}
fn default_schedule() -> Schedule {
    Schedule::Constant
}

impl TrainSpec {
    /// The optimiser these settings describe.
    pub fn optimizer_spec(&self) -> OptimizerSpec {
        let base = match self.optimizer {
            OptimizerKind::Adam => OptimizerSpec::adam(self.lr),
            OptimizerKind::Sgd => OptimizerSpec::sgd(self.lr, self.momentum),
        };
        OptimizerSpec { weight_decay: self.weight_decay, ..base }
    }

    /// steps ≥ 1, batch ≥ 1, and the optimiser's own rules.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::invalid("steps", 0, "must be >= 1"));
        }
        if self.batch < 1 {
            return Err(Error::invalid("batch", self.batch, "must be >= 1"));
        }
        self.optimizer_spec().validate()
    }

    /// Learning rate at step `t` (0-based).
    pub fn lr_at(&self, t: usize) -> f64 {
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::Cosine => 0.5 * self.lr * (1.0 + (std::f64::consts::PI * t as f64 / self.steps as f64).cos()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_rejects_bad_values() {
        let spec: TrainSpec = toml::from_str("steps = 100\nbatch = 8\nlr = 0.001\n").unwrap();
        assert_eq!(spec.optimizer, OptimizerKind::Adam);
        spec.validate().unwrap();
        assert!(toml::from_str::<TrainSpec>("steps = 1\nbatch = 8\nlr = 0.1\nlearning_rate = 2\n").is_err());
        for bad in ["steps = 0\nbatch = 8\nlr = 0.1", "steps = 5\nbatch = 0\nlr = 0.1", "steps = 5\nbatch = 8\nlr = -1"] {
            assert!(toml::from_str::<TrainSpec>(bad).unwrap().validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn cosine_schedule_decays_to_zero() {
        let spec: TrainSpec = toml::from_str("steps = 10\nbatch = 8\nlr = 1.0\nschedule = \"cosine\"\n").unwrap();
        assert!((spec.lr_at(0) - 1.0).abs() < 1e-12);
        assert!((spec.lr_at(5) - 0.5).abs() < 1e-12);
        assert!(spec.lr_at(10).abs() < 1e-12);
    }
}
