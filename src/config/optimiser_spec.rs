//! The optimisers of the inner loop and their hyper-parameters (PyTorch's conventions), validated;
//! the update rules themselves are `train::optimiser`.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The optimisers of the inner loop (`optimiser = "sgd" | "adam" | "adamw"` in files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimiser {
    /// Stochastic gradient descent (with optional momentum).
    Sgd,
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay (Loshchilov & Hutter): p ← p·(1 − lr·wd) before the Adam step.
    AdamW,
}

/// An optimiser and its hyper-parameters (PyTorch's conventions: for SGD and Adam L2 weight decay
/// added to the gradient; for AdamW decoupled decay of the parameters).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimiserSpec {
    pub kind: Optimiser,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl OptimiserSpec {
    /// Adam with PyTorch's defaults and learning rate `lr`.
    pub fn adam(lr: f64) -> Self {
        OptimiserSpec {
            kind: Optimiser::Adam,
            lr,
            momentum: 0.0,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// SGD with `momentum` and learning rate `lr`.
    pub fn sgd(lr: f64, momentum: f64) -> Self {
        OptimiserSpec { kind: Optimiser::Sgd, momentum, ..OptimiserSpec::adam(lr) }
    }

    /// lr > 0, 0 ≤ momentum < 1, weight decay ≥ 0, 0 ≤ β < 1, eps > 0, all finite.
    pub fn validate(&self) -> Result<()> {
        let check = |name: &str, v: f64, ok: bool, rule: &str| {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err(Error::invalid(name, v, rule))
            }
        };
        check("lr", self.lr, self.lr > 0.0, "must be finite and > 0")?;
        check(
            "momentum",
            self.momentum,
            (0.0..1.0).contains(&self.momentum),
            "must satisfy 0 <= momentum < 1",
        )?;
        check("weight_decay", self.weight_decay, self.weight_decay >= 0.0, "must be >= 0")?;
        check("beta1", self.beta1, (0.0..1.0).contains(&self.beta1), "must satisfy 0 <= beta1 < 1")?;
        check("beta2", self.beta2, (0.0..1.0).contains(&self.beta2), "must satisfy 0 <= beta2 < 1")?;
        check("eps", self.eps, self.eps > 0.0, "must be > 0")
    }

    /// The L2 decay added to the gradient (zero for AdamW, whose decay is decoupled).
    pub fn l2_decay(&self) -> f64 {
        if self.kind == Optimiser::AdamW {
            0.0
        } else {
            self.weight_decay
        }
    }

    /// The factor AdamW multiplies the parameters by before its step at learning rate `lr` (1 otherwise).
    pub fn decoupled_factor(&self, lr: f64) -> f64 {
        if self.kind == Optimiser::AdamW {
            1.0 - lr * self.weight_decay
        } else {
            1.0
        }
    }
}
