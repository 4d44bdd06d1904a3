//! The multi-label Gaussian mixture over label distances (index, co-occurrence or a file): each
//! class's P/D/N weight spread to the others by exp(−d²/2σ²). Learnable as `sigma` or `mixture` (σ, p_D, p_N).
use super::{DistributionSpec, Family, Learn};
use crate::domain::{Domain, LabelKind, Labels, Targets};
use crate::error::Result;
use crate::label::{all_positive, DistanceSpec, Mixture, Pdn};
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// Gaussian mixture over label distances; `distance` is `index` (the default), `cooccurrence` (of the
/// training pool) or a C×C `.csv` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureSpec {
    pub sigma: f64,
    pub p_d: f64,
    pub p_n: f64,
    #[serde(default, skip_serializing_if = "DistanceSpec::is_index")]
    pub distance: DistanceSpec,
}

impl Family for MixtureSpec {
    fn name(&self) -> &'static str {
        "mixture"
    }

    fn label_kinds(&self) -> &'static [LabelKind] {
        &[LabelKind::MultiLabel]
    }

    fn phi(&self) -> Vec<f64> {
        vec![self.sigma, self.p_d, self.p_n]
    }

    fn validate(&self) -> Result<()> {
        all_positive("sigma", &[self.sigma])?;
        Pdn::check(self.p_d, self.p_n)
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mixture:sigma={},p_d={},p_n={}", self.sigma, self.p_d, self.p_n)?;
        if self.distance.is_index() {
            Ok(())
        } else {
            write!(f, ",distance={}", self.distance.name())
        }
    }

    fn targets(&self, domain: &Domain, phi: &Tensor, labels: &Labels) -> Result<Option<Targets>> {
        match (domain, labels) {
            (Domain::Classes(c), Labels::MultiLabel(s)) => {
                let distance = c.distance(&self.distance)?;
                let pdn = Pdn::from_tensors(&phi.narrow(0, 1, 1), &phi.narrow(0, 2, 1))?;
                // Rows without mass are left out of the loss, as for P/D/N.
                let (dist, valid) = Mixture::new(&distance, phi.narrow(0, 0, 1), pdn)?.targets_masked(s)?;
                Ok(Some(Targets { dist, valid: Some(valid) }))
            }
            _ => Ok(None),
        }
    }

    /// Only the index distance has a known smallest step (1) before its matrix is built; the family
    /// checks σ against other distances when it builds them.
    fn sigmas(&self) -> Vec<f64> {
        if self.distance.is_index() {
            vec![self.sigma]
        } else {
            vec![]
        }
    }

    fn sigma_steps(&self, _domain: &Domain, n: usize) -> Vec<(f64, &'static str)> {
        vec![(1.0, "smallest label distance"); n]
    }

    fn learned_dim(&self, learn: Learn, _domain: &Domain) -> Option<usize> {
        match learn {
            Learn::Sigma => Some(1),
            Learn::Mixture => Some(3),
            _ => None,
        }
    }

    fn learn_hint(&self) -> &'static str {
        " (use sigma or mixture)"
    }

    fn with_learned(&self, learn: Learn, learned: &[f64]) -> DistributionSpec {
        let (p_d, p_n) =
            if learn == Learn::Mixture { (learned[1], learned[2]) } else { (self.p_d, self.p_n) };
        DistributionSpec::Mixture(MixtureSpec {
            sigma: learned[0],
            p_d,
            p_n,
            distance: self.distance.clone(),
        })
    }

    /// Learning σ alone keeps the spec's (p_D, p_N) as constants.
    fn full_phi(&self, learn: Learn, learned: &Tensor) -> Tensor {
        if learn == Learn::Mixture {
            return learned.shallow_clone();
        }
        let rest =
            Tensor::from_slice(&[self.p_d, self.p_n]).to_kind(learned.kind()).to_device(learned.device());
        Tensor::cat(&[learned.shallow_clone(), rest], 0)
    }

    fn phi_names(&self, n: usize, _labels: Option<&[f64]>) -> Option<Vec<String>> {
        match n {
            1 => Some(vec!["σ".into()]),
            3 => Some(vec!["σ".into(), "p_D".into(), "p_N".into()]),
            _ => None,
        }
    }
}
