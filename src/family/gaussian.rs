//! The 1-D Gaussian of DLDL over ordered bins, σ one value or one per bin.
//! Learnable as `sigma` (one σ) or `sigma-per-label` (σ(l), one per bin).
use super::{dense, DistributionSpec, Family, Learn};
use crate::domain::{Domain, LabelKind, Labels, Targets};
use crate::error::Result;
use crate::label::{all_positive, Gaussian1d, Sigma};
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// σ given as one number or as a list (per label for 1-D, (σ_1, σ_2) for 2-D).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SigmaSpec {
    Scalar(f64),
    Vector(Vec<f64>),
}

impl SigmaSpec {
    /// All values, in order.
    pub fn values(&self) -> Vec<f64> {
        match self {
            SigmaSpec::Scalar(s) => vec![*s],
            SigmaSpec::Vector(v) => v.clone(),
        }
    }

    /// One value as a scalar, several as a list.
    pub fn of(values: &[f64]) -> Self {
        if values.len() == 1 {
            SigmaSpec::Scalar(values[0])
        } else {
            SigmaSpec::Vector(values.to_vec())
        }
    }
}

impl fmt::Display for SigmaSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigmaSpec::Scalar(x) => write!(f, "{x}"),
            SigmaSpec::Vector(v) => write!(f, "{}", format!("{v:?}").replace(' ', "")),
        }
    }
}

/// 1-D Gaussian over bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianSpec {
    pub sigma: SigmaSpec,
}

impl Family for GaussianSpec {
    fn name(&self) -> &'static str {
        "gaussian"
    }

    fn label_kinds(&self) -> &'static [LabelKind] {
        &[LabelKind::Ordinal]
    }

    fn phi(&self) -> Vec<f64> {
        self.sigma.values()
    }

    fn validate(&self) -> Result<()> {
        all_positive("sigma", &self.sigma.values())
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gaussian:sigma={}", self.sigma)
    }

    fn targets(&self, domain: &Domain, phi: &Tensor, labels: &Labels) -> Result<Option<Targets>> {
        match (domain, labels) {
            (Domain::Bins(bins), Labels::Ordinal(y)) => {
                let sigma = if phi.numel() == 1 {
                    Sigma::Scalar(phi.shallow_clone())
                } else {
                    Sigma::PerLabel(phi.shallow_clone())
                };
                dense(Gaussian1d::new(bins, sigma)?.targets(y)?)
            }
            _ => Ok(None),
        }
    }

    fn sigmas(&self) -> Vec<f64> {
        self.sigma.values()
    }

    fn sigma_steps(&self, domain: &Domain, n: usize) -> Vec<(f64, &'static str)> {
        match domain {
            Domain::Bins(b) => vec![(b.step(), "bin step"); n],
            _ => vec![],
        }
    }

    fn learned_dim(&self, learn: Learn, domain: &Domain) -> Option<usize> {
        match (learn, domain) {
            (Learn::Sigma, _) => Some(1),
            (Learn::SigmaPerLabel, Domain::Bins(b)) => Some(b.len()),
            _ => None,
        }
    }

    fn learn_hint(&self) -> &'static str {
        " (use sigma or sigma-per-label)"
    }

    fn with_learned(&self, _learn: Learn, learned: &[f64]) -> DistributionSpec {
        DistributionSpec::Gaussian(GaussianSpec { sigma: SigmaSpec::of(learned) })
    }

    fn phi_names(&self, n: usize, labels: Option<&[f64]>) -> Option<Vec<String>> {
        match labels {
            Some(values) if n > 1 && values.len() == n => {
                Some(values.iter().map(|v| format!("σ(y={v})")).collect())
            }
            _ => (n == 1).then(|| vec!["σ".into()]),
        }
    }
}
