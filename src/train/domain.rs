//! The label domain of a task (bins, grid, classes, segmentation classes) and the targets a
//! family with parameters φ gives for a batch of labels: the bridge from `label` to training.
use super::class_set::ClassSet;
use crate::data::{LabelKind, Labels};
use crate::error::{Error, Result};
use crate::family::DistributionSpec;
use crate::label::{Bins, Grid};
use tch::{Kind, Tensor};

/// What the network predicts over.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// Ordered 1-D bins (ordinal labels).
    Bins(Bins),
    /// A 2-D grid (pose labels).
    Grid(Grid),
    /// Independent classes (multi-label), with the label distances of the mixture family.
    Classes(ClassSet),
    /// Per-pixel classes (segmentation).
    Segmentation { classes: i64 },
}

/// Target distributions for a batch; `valid` marks what counts in the loss: pixels (segmentation,
/// void excluded) or rows (multi-label rows without any weight).
#[derive(Debug)]
pub struct Targets {
    /// `[B, C]`, or `[B, C, H, W]` for segmentation.
    pub dist: Tensor,
    /// `[B, H, W]` booleans for segmentation, `[B]` for multi-label.
    pub valid: Option<Tensor>,
}

impl Domain {
    /// Number of network outputs (per pixel for segmentation).
    pub fn outputs(&self) -> i64 {
        match self {
            Domain::Bins(b) => b.len() as i64,
            Domain::Grid(g) => g.len() as i64,
            Domain::Classes(c) => c.count(),
            Domain::Segmentation { classes } => *classes,
        }
    }

    /// Targets of `family` with parameters `phi` (the flat layout of [`DistributionSpec::phi`],
    /// possibly requiring grad) for `labels`; the result is differentiable in `phi`.
    pub fn targets(&self, family: &DistributionSpec, phi: &Tensor, labels: &Labels) -> Result<Targets> {
        family.family().targets(self, phi, labels)?.ok_or_else(|| {
            Error::invalid(
                "distribution family",
                family.name(),
                format!(
                    "does not apply to {} labels on a {} domain{}",
                    labels.kind(),
                    self.name(),
                    self.hint()
                ),
            )
        })
    }

    /// The metrics a summary table shows for this domain.
    pub fn headline_metrics(&self) -> Vec<&'static str> {
        match self {
            Domain::Bins(_) => vec!["mae", "mae_argmax", "cs5", "eps_error"],
            Domain::Grid(_) => vec!["mae", "mae_axis1", "mae_axis2", "accuracy"],
            Domain::Classes(_) => vec!["map"],
            Domain::Segmentation { .. } => vec!["miou", "pixel_acc"],
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Domain::Bins(_) => "1-D bins",
            Domain::Grid(_) => "2-D grid",
            Domain::Classes(_) => "multi-label classes",
            Domain::Segmentation { .. } => "segmentation",
        }
    }

    /// The label kind this domain predicts.
    pub fn label_kind(&self) -> LabelKind {
        match self {
            Domain::Bins(_) => LabelKind::Ordinal,
            Domain::Grid(_) => LabelKind::Pose,
            Domain::Classes(_) => LabelKind::MultiLabel,
            Domain::Segmentation { .. } => LabelKind::Segmentation,
        }
    }

    fn hint(&self) -> String {
        let note = if matches!(self, Domain::Classes(_)) {
            "; pdn:p_d=0,p_n=0 is the hard multi-label target"
        } else {
            ""
        };
        format!(" (use {}{note})", DistributionSpec::names_for(self.label_kind()))
    }
}

/// The same labels on `device`.
pub fn labels_on(labels: &Labels, device: tch::Device) -> Labels {
    let t = labels.tensor().to_device(device);
    match labels {
        Labels::Ordinal(_) => Labels::Ordinal(t),
        Labels::Pose(_) => Labels::Pose(t),
        Labels::MultiLabel(_) => Labels::MultiLabel(t),
        Labels::Segmentation(_) => Labels::Segmentation(t),
    }
}

/// Flat grid cell (row-major) nearest to each 2-D label `[B, 2]`.
pub fn grid_cell(grid: &Grid, labels: &Tensor) -> Result<Tensor> {
    let a = grid.axis1.nearest_index(&labels.select(1, 0).to_kind(Kind::Double))?;
    let b = grid.axis2.nearest_index(&labels.select(1, 1).to_kind(Kind::Double))?;
    Ok(a * grid.axis2.len() as i64 + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_targets_follow_phi_and_mismatches_are_errors() {
        let domain = Domain::Bins(Bins::parse("0:10").unwrap());
        let spec: DistributionSpec = "gaussian:sigma=1".parse().unwrap();
        let labels = Labels::Ordinal(Tensor::from_slice(&[3.0f32, 7.0]));
        let t = domain.targets(&spec, &Tensor::from_slice(&[1.0f64]), &labels).unwrap();
        assert_eq!(t.dist.size(), vec![2, 11]);
        assert!((t.dist.double_value(&[0, 3]) - t.dist.double_value(&[1, 7])).abs() < 1e-12);
        let wrong: DistributionSpec = "pdn:p_d=0.3,p_n=0".parse().unwrap();
        let err = domain.targets(&wrong, &Tensor::from_slice(&[0.3f64, 0.0]), &labels).unwrap_err();
        assert!(err.to_string().contains("does not apply"), "{err}");
    }

    #[test]
    fn segmentation_targets_must_keep_the_map_size() {
        let domain = Domain::Segmentation { classes: 2 };
        let maps =
            Labels::Segmentation(Tensor::from_slice(&[0i64, 1, 1, 0, 1, 1, 0, 0, 1]).reshape([1, 3, 3]));
        let phi = Tensor::from_slice(&[1.0f64]);
        let same: DistributionSpec = "segmentation:sigma=1,kernel=3,stride=1".parse().unwrap();
        assert_eq!(domain.targets(&same, &phi, &maps).unwrap().dist.size(), vec![1, 2, 3, 3]);
        let strided: DistributionSpec = "segmentation:sigma=1,kernel=3,stride=2".parse().unwrap();
        let err = domain.targets(&strided, &phi, &maps).unwrap_err().to_string();
        assert!(err.contains("stride 2") && err.contains("training needs stride 1"), "{err}");
    }

    #[test]
    fn grid_cells_are_row_major() {
        let grid = Grid::parse("0:2,0:3").unwrap();
        let cells = grid_cell(&grid, &Tensor::from_slice(&[1.0f32, 2.0, 2.0, 0.0]).reshape([2, 2])).unwrap();
        assert_eq!(Vec::<i64>::try_from(&cells).unwrap(), vec![6, 8]);
    }
}
