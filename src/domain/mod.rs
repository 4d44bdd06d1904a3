//! The ground floor of labels: the domain a task declares and the one a network predicts over, the
//! labels of a dataset and their kind, the classes of a multi-label domain, and a batch's targets.
mod class_set;
mod labels;

pub use class_set::ClassSet;
pub use labels::{LabelKind, Labels};

use crate::error::Result;
use crate::label::{Bins, Grid};
use tch::{Kind, Tensor};

/// A validated label domain.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelDomain {
    /// 1-D bins (ages, angles, scores).
    Bins(Bins),
    /// 2-D grid.
    Grid(Grid),
    /// Named classes (multi-label or segmentation).
    Classes(Vec<String>),
}

impl LabelDomain {
    /// Number of labels: bins, grid cells or classes.
    pub fn len(&self) -> usize {
        match self {
            LabelDomain::Bins(b) => b.len(),
            LabelDomain::Grid(g) => g.len(),
            LabelDomain::Classes(c) => c.len(),
        }
    }

    /// Whether the domain has no labels (never true once validated).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A short description such as `117 bins 0..116` or `9×5 grid`.
    pub fn describe(&self) -> String {
        let span = |b: &Bins| format!("{}..{}", b.values()[0], b.values()[b.len() - 1]);
        match self {
            LabelDomain::Bins(b) => format!("{} bins {}", b.len(), span(b)),
            LabelDomain::Grid(g) => {
                format!("{}×{} grid {} × {}", g.axis1.len(), g.axis2.len(), span(&g.axis1), span(&g.axis2))
            }
            LabelDomain::Classes(c) => format!("{} classes", c.len()),
        }
    }
}

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
    /// C categories with a given distribution over them per example (label distribution learning).
    Categories { classes: i64 },
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
    /// The domain a task declares, before its data says whether classes belong to examples or to
    /// pixels: classes count as multi-label (what σ floors and listings need).
    pub fn declared(labels: &LabelDomain) -> Domain {
        match labels {
            LabelDomain::Bins(b) => Domain::Bins(b.clone()),
            LabelDomain::Grid(g) => Domain::Grid(g.clone()),
            LabelDomain::Classes(c) => Domain::Classes(ClassSet::new(c.len() as i64)),
        }
    }

    /// Number of network outputs (per pixel for segmentation).
    pub fn outputs(&self) -> i64 {
        match self {
            Domain::Bins(b) => b.len() as i64,
            Domain::Grid(g) => g.len() as i64,
            Domain::Classes(c) => c.count(),
            Domain::Segmentation { classes } | Domain::Categories { classes } => *classes,
        }
    }

    /// The metrics a summary table shows for this domain.
    pub fn headline_metrics(&self) -> Vec<&'static str> {
        match self {
            Domain::Bins(_) => vec!["mae", "mae_argmax", "cs5", "eps_error"],
            Domain::Grid(_) => vec!["mae", "mae_axis1", "mae_axis2", "accuracy"],
            Domain::Classes(_) => vec!["map"],
            Domain::Segmentation { .. } => vec!["miou", "pixel_acc"],
            Domain::Categories { .. } => {
                vec!["kl", "cosine", "intersection", "chebyshev", "clark", "canberra"]
            }
        }
    }

    /// The domain's kind in words ("1-D bins", "2-D grid", …).
    pub fn name(&self) -> &'static str {
        match self {
            Domain::Bins(_) => "1-D bins",
            Domain::Grid(_) => "2-D grid",
            Domain::Classes(_) => "multi-label classes",
            Domain::Segmentation { .. } => "segmentation",
            Domain::Categories { .. } => "categories",
        }
    }

    /// The label kind this domain predicts.
    pub fn label_kind(&self) -> LabelKind {
        match self {
            Domain::Bins(_) => LabelKind::Ordinal,
            Domain::Grid(_) => LabelKind::Pose,
            Domain::Classes(_) => LabelKind::MultiLabel,
            Domain::Segmentation { .. } => LabelKind::Segmentation,
            Domain::Categories { .. } => LabelKind::Distribution,
        }
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
    fn grid_cells_are_row_major() {
        let grid = Grid::parse("0:2,0:3").unwrap();
        let cells = grid_cell(&grid, &Tensor::from_slice(&[1.0f32, 2.0, 2.0, 0.0]).reshape([2, 2])).unwrap();
        assert_eq!(Vec::<i64>::try_from(&cells).unwrap(), vec![6, 8]);
    }
}
