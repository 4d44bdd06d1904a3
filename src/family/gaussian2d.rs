//! The 2-D Gaussian over a pose grid, isotropic (one σ) or anisotropic (σ_1, σ_2).
//! Learnable as `sigma` (one σ) or `sigma2` (both).
use super::{dense, DistributionSpec, Family, Learn, SigmaSpec};
use crate::domain::{Domain, LabelKind, Labels, Targets};
use crate::error::{Error, Result};
use crate::label::{all_positive, Gaussian2d, Sigma2d};
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// 2-D Gaussian over a grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gaussian2dSpec {
    pub sigma: SigmaSpec,
}

impl Family for Gaussian2dSpec {
    fn name(&self) -> &'static str {
        "gaussian2d"
    }

    fn label_kinds(&self) -> &'static [LabelKind] {
        &[LabelKind::Pose]
    }

    fn phi(&self) -> Vec<f64> {
        self.sigma.values()
    }

    fn validate(&self) -> Result<()> {
        let v = self.sigma.values();
        if !(1..=2).contains(&v.len()) {
            return Err(Error::invalid(
                "sigma",
                format!("{v:?}"),
                "2-D sigma is one value or [sigma_1, sigma_2]",
            ));
        }
        all_positive("sigma", &v)
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gaussian2d:sigma={}", self.sigma)
    }

    fn targets(&self, domain: &Domain, phi: &Tensor, labels: &Labels) -> Result<Option<Targets>> {
        match (domain, labels) {
            (Domain::Grid(grid), Labels::Pose(y)) => {
                let sigma = if phi.numel() == 1 {
                    Sigma2d::Isotropic(phi.shallow_clone())
                } else {
                    Sigma2d::Anisotropic(phi.shallow_clone())
                };
                dense(Gaussian2d::new(grid, sigma)?.targets(y)?)
            }
            _ => Ok(None),
        }
    }

    fn sigmas(&self) -> Vec<f64> {
        self.sigma.values()
    }

    /// One σ is measured against the finer axis, (σ_1, σ_2) each against its own.
    fn sigma_steps(&self, domain: &Domain, n: usize) -> Vec<(f64, &'static str)> {
        match domain {
            Domain::Grid(g) if n == 2 => {
                vec![(g.axis1.step(), "grid step"), (g.axis2.step(), "grid step")]
            }
            Domain::Grid(g) => vec![(g.axis1.step().min(g.axis2.step()), "grid step"); n],
            _ => vec![],
        }
    }

    fn learned_dim(&self, learn: Learn, _domain: &Domain) -> Option<usize> {
        match learn {
            Learn::Sigma => Some(1),
            Learn::Sigma2 => Some(2),
            _ => None,
        }
    }

    fn learn_hint(&self) -> &'static str {
        " (use sigma or sigma2)"
    }

    fn with_learned(&self, _learn: Learn, learned: &[f64]) -> DistributionSpec {
        DistributionSpec::Gaussian2d(Gaussian2dSpec { sigma: SigmaSpec::of(learned) })
    }

    fn phi_names(&self, n: usize, _labels: Option<&[f64]>) -> Option<Vec<String>> {
        match n {
            1 => Some(vec!["σ".into()]),
            2 => Some(vec!["σ₁".into(), "σ₂".into()]),
            _ => None,
        }
    }
}
