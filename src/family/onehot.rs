//! One-hot targets (plain cross-entropy): the nearest bin or grid cell, the class map as it is, the
//! most probable category of a given distribution.
//! No φ, nothing to learn.
use super::{dense, DistributionSpec, Family};
use crate::domain::{grid_cell, Domain, LabelKind, Labels, Targets};
use crate::error::Result;
use crate::label::segmentation::one_hot_maps;
use crate::label::{one_hot, VOID};
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// Hard labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnehotSpec {}

impl Family for OnehotSpec {
    fn name(&self) -> &'static str {
        "onehot"
    }

    fn label_kinds(&self) -> &'static [LabelKind] {
        &[LabelKind::Ordinal, LabelKind::Pose, LabelKind::Segmentation, LabelKind::Distribution]
    }

    fn phi(&self) -> Vec<f64> {
        vec![]
    }

    fn validate(&self) -> Result<()> {
        Ok(())
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "onehot")
    }

    fn targets(&self, domain: &Domain, _phi: &Tensor, labels: &Labels) -> Result<Option<Targets>> {
        match (domain, labels) {
            (Domain::Bins(bins), Labels::Ordinal(y)) => {
                dense(one_hot(&bins.nearest_index(y)?, bins.len() as i64)?)
            }
            (Domain::Grid(grid), Labels::Pose(y)) => dense(one_hot(&grid_cell(grid, y)?, grid.len() as i64)?),
            (Domain::Segmentation { classes }, Labels::Segmentation(maps)) => {
                Ok(Some(Targets { dist: one_hot_maps(maps, *classes)?, valid: Some(maps.ne(VOID)) }))
            }
            // The most probable category of a given distribution (single-label learning).
            (Domain::Categories { classes }, Labels::Distribution(p)) => {
                dense(one_hot(&p.argmax(1, false), *classes)?)
            }
            _ => Ok(None),
        }
    }

    fn with_learned(&self, _learn: super::Learn, _learned: &[f64]) -> DistributionSpec {
        DistributionSpec::Onehot(self.clone())
    }
}
