//! Label-distribution families, one file each: the fixed φ as task files write it, the rules on φ,
//! the targets on each label domain, and the φ a study may learn. `DistributionSpec` registers them.
mod gaussian;
mod gaussian2d;
mod given;
mod learn;
mod mixture;
mod onehot;
mod parse;
mod pdn;
mod segmentation;
mod smoothing;

pub use gaussian::{GaussianSpec, SigmaSpec};
pub use gaussian2d::Gaussian2dSpec;
pub use given::GivenSpec;
pub use learn::Learn;
pub use mixture::MixtureSpec;
pub use onehot::OnehotSpec;
pub use parse::brief;
pub use pdn::PdnSpec;
pub use segmentation::SegmentationSpec;
pub use smoothing::SmoothingSpec;

use crate::domain::{Domain, LabelKind, Labels, Targets};
use crate::error::{Error, Result};
use crate::label::KernelShape;
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// What every family answers. A new family is one file implementing this trait, plus its three
/// registration lines in this file (a `DistributionSpec` variant, its arm in
/// [`DistributionSpec::family`] and an example in [`DistributionSpec::examples`]).
pub trait Family {
    /// The name written in files (`family = "gaussian"`).
    fn name(&self) -> &'static str;

    /// The label kinds it gives targets for.
    fn label_kinds(&self) -> &'static [LabelKind];

    /// φ, flat, in the layout [`Family::targets`] reads (σ…; p_D, p_N; σ, p_D, p_N; ε; σ_f).
    fn phi(&self) -> Vec<f64>;

    /// Checks every value against its rule.
    fn validate(&self) -> Result<()>;

    /// The command-line form, `FAMILY:KEY=VALUE,…` (parsed back by `str::parse`).
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// Targets for `labels` on `domain` with the flat φ `phi` (it may require grad: the targets are
    /// differentiable in it); `Ok(None)` when the family has no targets for this domain.
    fn targets(&self, domain: &Domain, phi: &Tensor, labels: &Labels) -> Result<Option<Targets>>;

    /// The σ values of φ that are measured against a label step now (see [`Family::sigma_steps`]).
    fn sigmas(&self) -> Vec<f64> {
        vec![]
    }

    /// The label step under each of `n` σ values, with its unit: σ must be at least
    /// [`crate::label::MIN_SIGMA_PER_STEP`] of it.
    fn sigma_steps(&self, _domain: &Domain, n: usize) -> Vec<(f64, &'static str)> {
        vec![(1.0, "label step"); n]
    }

    /// How many coordinates `learn` gives φ on `domain`; `None` when `learn` does not fit the family.
    fn learned_dim(&self, _learn: Learn, _domain: &Domain) -> Option<usize> {
        None
    }

    /// The `learn` values that fit, for errors (e.g. " (use sigma or sigma2)").
    fn learn_hint(&self) -> &'static str {
        " (onehot and smoothing have no φ to learn)"
    }

    /// The learned coordinates at this family's own φ (where a study without `init` starts): one
    /// learned value takes φ's first, one φ value is widened to `dim`, else φ as it is.
    fn learned_of(&self, dim: usize) -> Vec<f64> {
        let phi = self.phi();
        match (dim, phi.len()) {
            (1, _) => phi.into_iter().take(1).collect(),
            (_, 1) => vec![phi[0]; dim],
            _ => phi,
        }
    }

    /// The family with the `learned` coordinates in place of its own.
    fn with_learned(&self, learn: Learn, learned: &[f64]) -> DistributionSpec;

    /// The full flat φ from the learned coordinates, differentiable in them (the coordinates `learn`
    /// leaves fixed enter as constants).
    fn full_phi(&self, _learn: Learn, learned: &Tensor) -> Tensor {
        learned.shallow_clone()
    }

    /// Names of the `n` values of φ for figures (`labels`: the bins, naming σ per label); `None`
    /// when the family has none for `n` values.
    fn phi_names(&self, _n: usize, _labels: Option<&[f64]>) -> Option<Vec<String>> {
        None
    }
}

/// A label-distribution family with its fixed parameters φ, as written in task files
/// (`[distribution]`, `family = "…"`) and on the command line (`gaussian:sigma=2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum DistributionSpec {
    /// Hard labels: plain cross-entropy.
    Onehot(OnehotSpec),
    /// Uniform label smoothing with weight ε.
    Smoothing(SmoothingSpec),
    /// 1-D Gaussian over bins: σ scalar or one per bin.
    Gaussian(GaussianSpec),
    /// 2-D Gaussian over a grid: σ or (σ_1, σ_2).
    Gaussian2d(Gaussian2dSpec),
    /// Multi-label P/D/N with p_P = 1.
    Pdn(PdnSpec),
    /// Multi-label Gaussian mixture over label distances.
    Mixture(MixtureSpec),
    /// Segmentation maps smoothed by a K×K Gaussian kernel.
    Segmentation(SegmentationSpec),
    /// The dataset's own label distributions over categories.
    Given(GivenSpec),
}

impl DistributionSpec {
    /// The family behind this spec.
    pub fn family(&self) -> &dyn Family {
        match self {
            DistributionSpec::Onehot(f) => f,
            DistributionSpec::Smoothing(f) => f,
            DistributionSpec::Gaussian(f) => f,
            DistributionSpec::Gaussian2d(f) => f,
            DistributionSpec::Pdn(f) => f,
            DistributionSpec::Mixture(f) => f,
            DistributionSpec::Segmentation(f) => f,
            DistributionSpec::Given(f) => f,
        }
    }

    /// One valid spec of every family, in the order errors list them.
    pub fn examples() -> Vec<DistributionSpec> {
        vec![
            DistributionSpec::Onehot(OnehotSpec {}),
            DistributionSpec::Smoothing(SmoothingSpec { epsilon: 0.1 }),
            DistributionSpec::Gaussian(GaussianSpec { sigma: SigmaSpec::Scalar(1.0) }),
            DistributionSpec::Gaussian2d(Gaussian2dSpec { sigma: SigmaSpec::Scalar(1.0) }),
            DistributionSpec::Pdn(PdnSpec { p_d: 0.3, p_n: 0.0 }),
            DistributionSpec::Mixture(MixtureSpec {
                sigma: 1.0,
                p_d: 0.3,
                p_n: 0.0,
                distance: Default::default(),
            }),
            DistributionSpec::Segmentation(SegmentationSpec {
                sigma: 3.0,
                kernel: 5,
                stride: 1,
                padding: None,
            }),
            DistributionSpec::Given(GivenSpec {}),
        ]
    }

    /// The names of the families that give targets for `kind` labels, joined by ", ".
    pub fn names_for(kind: LabelKind) -> String {
        Self::examples()
            .iter()
            .map(|s| s.family())
            .filter(|f| f.label_kinds().contains(&kind))
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The family's name as written in files.
    pub fn name(&self) -> &'static str {
        self.family().name()
    }

    /// The continuous parameters φ of the family, flat.
    pub fn phi(&self) -> Vec<f64> {
        self.family().phi()
    }

    /// Checks every value against its rule.
    pub fn validate(&self) -> Result<()> {
        self.family().validate()
    }

    /// The targets of this family with the flat φ `phi` (the layout of [`DistributionSpec::phi`],
    /// possibly requiring grad) for `labels` on `domain`; the result is differentiable in `phi`.
    pub fn targets(&self, domain: &Domain, phi: &Tensor, labels: &Labels) -> Result<Targets> {
        self.family().targets(domain, phi, labels)?.ok_or_else(|| {
            Error::invalid(
                "distribution family",
                self.name(),
                format!(
                    "does not apply to {} labels on a {} domain{}",
                    labels.kind(),
                    domain.name(),
                    families_hint(domain)
                ),
            )
        })
    }

    /// φ as a float tensor on `device` (the layout [`Family::targets`] reads).
    pub fn phi_tensor(&self, device: tch::Device) -> Tensor {
        Tensor::from_slice(&self.phi()).to_kind(tch::Kind::Float).to_device(device)
    }

    /// Each σ of φ is at least [`crate::label::MIN_SIGMA_PER_STEP`] × its label step on `domain`.
    pub fn check_sigma_floor(&self, domain: &Domain) -> Result<()> {
        let sigmas = self.family().sigmas();
        let steps = self.family().sigma_steps(domain, sigmas.len());
        sigmas
            .iter()
            .zip(steps)
            .try_for_each(|(value, (step, unit))| crate::label::sigma_floor("sigma", &[*value], step, unit))
    }

    /// Names of the `n` values of φ for figures, `φ[i]` where the family has none.
    pub fn phi_names(&self, n: usize, labels: Option<&[f64]>) -> Vec<String> {
        self.family().phi_names(n, labels).unwrap_or_else(|| (0..n).map(|i| format!("φ[{i}]")).collect())
    }

    /// The kernel shape of the segmentation family (an error for other families).
    pub fn kernel_shape(&self) -> Result<KernelShape> {
        match self {
            DistributionSpec::Segmentation(s) => s.kernel_shape(),
            other => Err(Error::invalid("family", other.name(), "only the segmentation family has a kernel")),
        }
    }
}

impl fmt::Display for DistributionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.family().write(f)
    }
}

/// `Some(targets without a validity mask)`.
fn dense(dist: Tensor) -> Result<Option<Targets>> {
    Ok(Some(Targets { dist, valid: None }))
}

/// The families that fit `domain`, for errors.
fn families_hint(domain: &Domain) -> String {
    let note = if matches!(domain, Domain::Classes(_)) {
        "; pdn:p_d=0,p_n=0 is the hard multi-label target"
    } else {
        ""
    };
    format!(" (use {}{note})", DistributionSpec::names_for(domain.label_kind()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Bins;

    #[test]
    fn every_registered_family_round_trips_and_names_its_label_kinds() {
        for spec in DistributionSpec::examples() {
            spec.validate().unwrap();
            let again: DistributionSpec = spec.to_string().parse().unwrap();
            assert_eq!(spec, again);
            assert!(!spec.family().label_kinds().is_empty(), "{}", spec.name());
        }
        assert_eq!(DistributionSpec::names_for(LabelKind::Ordinal), "onehot, smoothing, gaussian");
        assert_eq!(DistributionSpec::names_for(LabelKind::MultiLabel), "pdn, mixture");
        assert_eq!(DistributionSpec::names_for(LabelKind::Segmentation), "onehot, segmentation");
    }

    #[test]
    fn a_family_without_targets_for_a_domain_says_so() {
        let bins = Domain::Bins(Bins::parse("0:4").unwrap());
        let labels = Labels::Ordinal(Tensor::from_slice(&[1.0f32]));
        let pdn = DistributionSpec::Pdn(PdnSpec { p_d: 0.3, p_n: 0.0 });
        assert!(pdn.family().targets(&bins, &Tensor::from_slice(&[0.3f64, 0.0]), &labels).unwrap().is_none());
        let gaussian: DistributionSpec = "gaussian:sigma=1".parse().unwrap();
        assert!(gaussian.family().targets(&bins, &Tensor::from_slice(&[1.0f64]), &labels).unwrap().is_some());
    }

    #[test]
    fn gaussian_targets_follow_phi_and_mismatches_are_errors() {
        let domain = Domain::Bins(Bins::parse("0:10").unwrap());
        let spec: DistributionSpec = "gaussian:sigma=1".parse().unwrap();
        let labels = Labels::Ordinal(Tensor::from_slice(&[3.0f32, 7.0]));
        let t = spec.targets(&domain, &Tensor::from_slice(&[1.0f64]), &labels).unwrap();
        assert_eq!(t.dist.size(), vec![2, 11]);
        assert!((t.dist.double_value(&[0, 3]) - t.dist.double_value(&[1, 7])).abs() < 1e-12);
        let wrong: DistributionSpec = "pdn:p_d=0.3,p_n=0".parse().unwrap();
        let err = wrong.targets(&domain, &Tensor::from_slice(&[0.3f64, 0.0]), &labels).unwrap_err();
        assert!(err.to_string().contains("does not apply"), "{err}");
    }

    #[test]
    fn segmentation_targets_must_keep_the_map_size() {
        let domain = Domain::Segmentation { classes: 2 };
        let maps =
            Labels::Segmentation(Tensor::from_slice(&[0i64, 1, 1, 0, 1, 1, 0, 0, 1]).reshape([1, 3, 3]));
        let phi = Tensor::from_slice(&[1.0f64]);
        let same: DistributionSpec = "segmentation:sigma=1,kernel=3,stride=1".parse().unwrap();
        assert_eq!(same.targets(&domain, &phi, &maps).unwrap().dist.size(), vec![1, 2, 3, 3]);
        let strided: DistributionSpec = "segmentation:sigma=1,kernel=3,stride=2".parse().unwrap();
        let err = strided.targets(&domain, &phi, &maps).unwrap_err().to_string();
        assert!(err.contains("stride 2") && err.contains("training needs stride 1"), "{err}");
    }
}
