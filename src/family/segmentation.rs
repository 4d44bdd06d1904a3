//! Segmentation maps smoothed by a K×K Gaussian kernel of width σ_f (pixels), void kept out.
//! Learnable as `kernel-sigma` (σ_f); the kernel size, stride and padding stay fixed.
use super::{DistributionSpec, Family, Learn};
use crate::domain::{Domain, LabelKind, Labels, Targets};
use crate::error::Result;
use crate::label::{all_positive, KernelShape, SegmentationSmoothing};
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// A K×K Gaussian kernel over one-hot class maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentationSpec {
    pub sigma: f64,
    pub kernel: i64,
    #[serde(default = "default_stride")]
    pub stride: i64,
    /// Defaults to (kernel − 1) / 2, which keeps the map size at stride 1.
    #[serde(default)]
    pub padding: Option<i64>,
}

fn default_stride() -> i64 {
    1
}

impl SegmentationSpec {
    /// The kernel's size, stride and padding.
    pub fn kernel_shape(&self) -> Result<KernelShape> {
        KernelShape::new(self.kernel, self.stride, self.padding.unwrap_or((self.kernel.max(1) - 1) / 2))
    }
}

impl Family for SegmentationSpec {
    fn name(&self) -> &'static str {
        "segmentation"
    }

    fn label_kinds(&self) -> &'static [LabelKind] {
        &[LabelKind::Segmentation]
    }

    fn phi(&self) -> Vec<f64> {
        vec![self.sigma]
    }

    fn validate(&self) -> Result<()> {
        all_positive("sigma", &[self.sigma])?;
        self.kernel_shape().map(|_| ())
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segmentation:sigma={},kernel={},stride={}", self.sigma, self.kernel, self.stride)?;
        self.padding.map_or(Ok(()), |p| write!(f, ",padding={p}"))
    }

    fn targets(&self, domain: &Domain, phi: &Tensor, labels: &Labels) -> Result<Option<Targets>> {
        match (domain, labels) {
            (Domain::Segmentation { classes }, Labels::Segmentation(maps)) => {
                let shape = self.kernel_shape()?;
                shape.check_keeps_size()?;
                let t = SegmentationSmoothing::new(shape, phi.shallow_clone())?.targets(maps, *classes)?;
                Ok(Some(Targets { dist: t.dist, valid: Some(t.valid) }))
            }
            _ => Ok(None),
        }
    }

    fn sigmas(&self) -> Vec<f64> {
        vec![self.sigma]
    }

    fn sigma_steps(&self, _domain: &Domain, n: usize) -> Vec<(f64, &'static str)> {
        vec![(1.0, "pixel"); n]
    }

    fn learned_dim(&self, learn: Learn, _domain: &Domain) -> Option<usize> {
        (learn == Learn::KernelSigma).then_some(1)
    }

    fn learn_hint(&self) -> &'static str {
        " (use kernel-sigma)"
    }

    fn with_learned(&self, _learn: Learn, learned: &[f64]) -> DistributionSpec {
        DistributionSpec::Segmentation(SegmentationSpec { sigma: learned[0], ..self.clone() })
    }

    fn phi_names(&self, n: usize, _labels: Option<&[f64]>) -> Option<Vec<String>> {
        (n == 1).then(|| vec!["σ_f (pixels)".into()])
    }
}
