//! Uniform label smoothing, (1 − ε) one-hot + ε / C, over bins or grid cells.
//! φ = (ε); the search spaces do not learn it.
use super::{dense, DistributionSpec, Family};
use crate::domain::{grid_cell, Domain, LabelKind, Labels, Targets};
use crate::error::{Error, Result};
use crate::label::label_smoothing;
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// Label smoothing with weight ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmoothingSpec {
    pub epsilon: f64,
}

impl Family for SmoothingSpec {
    fn name(&self) -> &'static str {
        "smoothing"
    }

    fn label_kinds(&self) -> &'static [LabelKind] {
        &[LabelKind::Ordinal, LabelKind::Pose]
    }

    fn phi(&self) -> Vec<f64> {
        vec![self.epsilon]
    }

    fn validate(&self) -> Result<()> {
        if self.epsilon.is_finite() && (0.0..1.0).contains(&self.epsilon) {
            Ok(())
        } else {
            Err(Error::invalid("epsilon", self.epsilon, "must satisfy 0 <= epsilon < 1"))
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "smoothing:epsilon={}", self.epsilon)
    }

    fn targets(&self, domain: &Domain, phi: &Tensor, labels: &Labels) -> Result<Option<Targets>> {
        match (domain, labels) {
            (Domain::Bins(bins), Labels::Ordinal(y)) => {
                dense(label_smoothing(&bins.nearest_index(y)?, bins.len() as i64, phi)?)
            }
            (Domain::Grid(grid), Labels::Pose(y)) => {
                dense(label_smoothing(&grid_cell(grid, y)?, grid.len() as i64, phi)?)
            }
            _ => Ok(None),
        }
    }

    fn with_learned(&self, _learn: super::Learn, _learned: &[f64]) -> DistributionSpec {
        DistributionSpec::Smoothing(self.clone())
    }

    fn phi_names(&self, n: usize, _labels: Option<&[f64]>) -> Option<Vec<String>> {
        (n == 1).then(|| vec!["ε".into()])
    }
}
