//! Multi-label P/D/N targets: positives weigh 1, difficult classes p_D, negatives p_N, normalised.
//! Learnable as `pdn`: (p_D, p_N) through (logit p_D, logit p_N/p_D), so that 1 > p_D > p_N > 0.
use super::{DistributionSpec, Family, Learn};
use crate::domain::{Domain, LabelKind, Labels, Targets};
use crate::error::Result;
use crate::label::Pdn;
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// P/D/N with p_P = 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdnSpec {
    pub p_d: f64,
    pub p_n: f64,
}

impl Family for PdnSpec {
    fn name(&self) -> &'static str {
        "pdn"
    }

    fn label_kinds(&self) -> &'static [LabelKind] {
        &[LabelKind::MultiLabel]
    }

    fn phi(&self) -> Vec<f64> {
        vec![self.p_d, self.p_n]
    }

    fn validate(&self) -> Result<()> {
        Pdn::check(self.p_d, self.p_n)
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pdn:p_d={},p_n={}", self.p_d, self.p_n)
    }

    fn targets(&self, domain: &Domain, phi: &Tensor, labels: &Labels) -> Result<Option<Targets>> {
        match (domain, labels) {
            (Domain::Classes(_), Labels::MultiLabel(s)) => {
                // Rows without weight (only difficult classes at p_D = 0) are left out of the loss.
                let (dist, valid) =
                    Pdn::from_tensors(&phi.narrow(0, 0, 1), &phi.narrow(0, 1, 1))?.targets_masked(s)?;
                Ok(Some(Targets { dist, valid: Some(valid) }))
            }
            _ => Ok(None),
        }
    }

    fn learned_dim(&self, learn: Learn, _domain: &Domain) -> Option<usize> {
        (learn == Learn::Pdn).then_some(2)
    }

    fn learn_hint(&self) -> &'static str {
        " (use pdn)"
    }

    fn with_learned(&self, _learn: Learn, learned: &[f64]) -> DistributionSpec {
        DistributionSpec::Pdn(PdnSpec { p_d: learned[0], p_n: learned[1] })
    }

    fn phi_names(&self, n: usize, _labels: Option<&[f64]>) -> Option<Vec<String>> {
        (n == 2).then(|| vec!["p_D".into(), "p_N".into()])
    }
}
