//! The inner loop's plan, resolved from a task's `[train]` (and a study's `[inner]`): budget, batch, optimiser,
//! schedule, regularisation, augmentation, evaluation and early stopping; validated once.
use super::optimiser_spec::{Optimiser, OptimiserSpec};
use super::{default_gamma, default_schedule, Schedule};
use crate::error::{Error, Result};
use crate::model::{DropoutSpec, Freeze};
use serde::{Deserialize, Serialize};

/// Everything the inner loop needs besides data, network and targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainPlan {
    /// Optimiser steps per member (one mini-batch each).
    pub steps: usize,
    pub batch: i64,
    #[serde(default = "default_optimiser", alias = "optimizer")]
    pub optimiser: Optimiser,
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
    /// Random shifts of image inputs by up to this many pixels per axis, zero-padded.
    #[serde(default)]
    pub shift: i64,
    /// Dropout rates of the network during training (none at evaluation).
    #[serde(default)]
    pub dropout: DropoutSpec,
    /// Step schedule: steps between decays.
    #[serde(default)]
    pub step_every: usize,
    /// Step schedule: the factor of each decay.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Linear warm-up: lr · (t + 1) / warmup_steps for the first steps (0: none).
    #[serde(default)]
    pub warmup_steps: usize,
    /// Layers that do not train.
    #[serde(default, skip_serializing_if = "Freeze::is_none")]
    pub freeze: Freeze,
}

fn default_optimiser() -> Optimiser {
    Optimiser::Adam
}

impl TrainPlan {
    /// The optimiser these settings describe.
    pub fn optimiser_spec(&self) -> OptimiserSpec {
        let base = match self.optimiser {
            Optimiser::Adam => OptimiserSpec::adam(self.lr),
            Optimiser::AdamW => OptimiserSpec { kind: Optimiser::AdamW, ..OptimiserSpec::adam(self.lr) },
            Optimiser::Sgd => OptimiserSpec::sgd(self.lr, self.momentum),
        };
        OptimiserSpec { weight_decay: self.weight_decay, ..base }
    }

    /// steps ≥ 1, batch ≥ 1, shift ≥ 0, warm-up ≤ steps, a step schedule's `step_every` ≥ 1 and
    /// 0 < gamma ≤ 1, dropout in [0, 1), and the optimiser's own rules.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::invalid("steps", 0, "must be >= 1"));
        }
        if self.batch < 1 {
            return Err(Error::invalid("batch", self.batch, "must be >= 1"));
        }
        if self.shift < 0 {
            return Err(Error::invalid("shift", self.shift, "must be >= 0 pixels"));
        }
        if self.warmup_steps > self.steps {
            return Err(Error::invalid(
                "warmup_steps",
                self.warmup_steps,
                format!("must be <= the {} training steps", self.steps),
            ));
        }
        if self.schedule == Schedule::Step && self.step_every == 0 {
            return Err(Error::invalid("step_every", 0, "must be >= 1 with schedule = \"step\""));
        }
        if !(self.gamma.is_finite() && self.gamma > 0.0 && self.gamma <= 1.0) {
            return Err(Error::invalid("gamma", self.gamma, "must satisfy 0 < gamma <= 1"));
        }
        self.dropout.validate()?;
        self.optimiser_spec().validate()
    }

    /// Learning rate at step `t` (0-based): the linear warm-up, then the schedule over the rest.
    pub fn lr_at(&self, t: usize) -> f64 {
        if t < self.warmup_steps {
            return self.lr * (t + 1) as f64 / self.warmup_steps as f64;
        }
        let (t, span) = ((t - self.warmup_steps) as f64, (self.steps - self.warmup_steps).max(1) as f64);
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::Cosine => 0.5 * self.lr * (1.0 + (std::f64::consts::PI * t / span).cos()),
            Schedule::Step => self.lr * self.gamma.powi((t as usize / self.step_every.max(1)) as i32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_rejects_bad_values() {
        let spec: TrainPlan = toml::from_str("steps = 100\nbatch = 8\nlr = 0.001\n").unwrap();
        assert_eq!(spec.optimiser, Optimiser::Adam);
        spec.validate().unwrap();
        assert!(toml::from_str::<TrainPlan>("steps = 1\nbatch = 8\nlr = 0.1\nlearning_rate = 2\n").is_err());
        for bad in [
            "steps = 0\nbatch = 8\nlr = 0.1",
            "steps = 5\nbatch = 0\nlr = 0.1",
            "steps = 5\nbatch = 8\nlr = -1",
        ] {
            assert!(toml::from_str::<TrainPlan>(bad).unwrap().validate().is_err(), "{bad}");
        }
    }

    fn schedule(extra: &str) -> TrainPlan {
        let spec: TrainPlan = toml::from_str(&format!("steps = 110\nbatch = 8\nlr = 0.2\n{extra}")).unwrap();
        spec.validate().unwrap();
        spec
    }

    #[test]
    fn schedules_follow_their_closed_forms_after_a_linear_warm_up() {
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        // Warm-up over 10 steps: 0.2·(t + 1)/10, reaching lr at the last warm-up step.
        let warm = schedule("warmup_steps = 10\nschedule = \"cosine\"");
        close(warm.lr_at(0), 0.02);
        close(warm.lr_at(4), 0.1);
        close(warm.lr_at(9), 0.2);
        // Then cosine over the remaining 100 steps: 0.1·(1 + cos(π·(t − 10)/100)).
        close(warm.lr_at(10), 0.2);
        close(warm.lr_at(35), 0.1 * (1.0 + (std::f64::consts::PI / 4.0).cos()));
        close(warm.lr_at(60), 0.1);
        // Step decay every 30 steps by 0.5, counted after a 20-step warm-up.
        let step = schedule("schedule = \"step\"\nstep_every = 30\ngamma = 0.5\nwarmup_steps = 20");
        close(step.lr_at(19), 0.2);
        close(step.lr_at(20), 0.2);
        close(step.lr_at(49), 0.2);
        close(step.lr_at(50), 0.1);
        close(step.lr_at(109), 0.2 * 0.25);
        close(schedule("").lr_at(77), 0.2);
    }

    #[test]
    fn bad_schedules_and_rates_are_errors() {
        let parse =
            |extra: &str| toml::from_str::<TrainPlan>(&format!("steps = 10\nbatch = 8\nlr = 0.2\n{extra}"));
        assert!(parse("schedule = \"linear\"").unwrap_err().to_string().contains("unknown variant `linear`"));
        for (extra, name) in [
            ("schedule = \"step\"", "step_every"),
            ("warmup_steps = 11", "warmup_steps"),
            ("gamma = 0.0", "gamma"),
            ("shift = -1", "shift"),
            ("dropout = { fc = 1.0 }", "dropout"),
        ] {
            let err = parse(extra).unwrap().validate().unwrap_err().to_string();
            assert!(err.contains(name), "{extra}: {err}");
        }
    }

    #[test]
    fn cosine_schedule_decays_to_zero() {
        let spec: TrainPlan =
            toml::from_str("steps = 10\nbatch = 8\nlr = 1.0\nschedule = \"cosine\"\n").unwrap();
        assert!((spec.lr_at(0) - 1.0).abs() < 1e-12);
        assert!((spec.lr_at(5) - 0.5).abs() < 1e-12);
        assert!(spec.lr_at(10).abs() < 1e-12);
    }
}
