//! The learnable φ of a study: an unconstrained vector θ mapped differentiably into valid φ
//! (σ = e^θ; p_D = sigmoid(a), p_N = p_D·sigmoid(b)), with box bounds and the spec at a φ.
use super::study::{Learn, StudySpec};
use crate::error::{Error, Result};
use crate::label::{DistributionSpec, SigmaSpec};
use crate::train::Domain;
use tch::Tensor;

/// φ's parametrisation for one study on one task.
#[derive(Debug, Clone, PartialEq)]
pub struct PhiSpace {
    learn: Learn,
    template: DistributionSpec,
    /// Bounds of θ (unconstrained space), one per coordinate.
    lower: Vec<f64>,
    upper: Vec<f64>,
}

fn logit(x: f64) -> f64 {
    (x / (1.0 - x)).ln()
}

impl PhiSpace {
    /// Checks that `learn` fits the task's family and domain, and maps the φ-bounds into θ-bounds.
    pub fn new(study: &StudySpec, template: &DistributionSpec, domain: &Domain) -> Result<Self> {
        let dim = match (study.learn, template, domain) {
            (Learn::Sigma, DistributionSpec::Gaussian { .. } | DistributionSpec::Gaussian2d { .. } | DistributionSpec::Mixture { .. }, _) => 1,
            (Learn::SigmaPerLabel, DistributionSpec::Gaussian { .. }, Domain::Bins(b)) => b.len(),
            (Learn::Sigma2, DistributionSpec::Gaussian2d { .. }, _) => 2,
            (Learn::Pdn, DistributionSpec::Pdn { .. }, _) => 2,
            (Learn::KernelSigma, DistributionSpec::Segmentation { .. }, _) => 1,
            (learn, family, _) => {
                return Err(Error::invalid("learn", format!("{learn:?}"), format!("does not apply to the task's {} family", family.family())))
            }
        };
        let widen = |v: &[f64]| if v.len() == 1 { vec![v[0]; dim] } else { v.to_vec() };
        let (lo, hi) = (widen(&study.lower), widen(&study.upper));
        if lo.len() != dim {
            return Err(Error::invalid("lower/upper", lo.len(), format!("need 1 or {dim} bounds")));
        }
        let to_theta = |v: &[f64]| -> Result<Vec<f64>> {
            match study.learn {
                Learn::Pdn => {
                    if v.iter().any(|x| !(*x > 0.0 && *x < 1.0)) {
                        return Err(Error::invalid("lower/upper", format!("{v:?}"), "pdn bounds (p_D, p_N/p_D) must lie in (0, 1)"));
                    }
                    Ok(v.iter().map(|x| logit(*x)).collect())
                }
                _ => {
                    if v.iter().any(|x| *x <= 0.0) {
                        return Err(Error::invalid("lower/upper", format!("{v:?}"), "σ bounds must be > 0"));
                    }
                    Ok(v.iter().map(|x| x.ln()).collect())
                }
            }
        };
        Ok(PhiSpace { learn: study.learn, template: template.clone(), lower: to_theta(&lo)?, upper: to_theta(&hi)? })
    }

    /// Number of coordinates of θ and φ.
    pub fn dim(&self) -> usize {
        self.lower.len()
    }

    /// θ-space bounds.
    pub fn bounds(&self) -> (&[f64], &[f64]) {
        (&self.lower, &self.upper)
    }

    /// θ clipped into the bounds.
    pub fn clamp(&self, theta: &[f64]) -> Vec<f64> {
        theta.iter().zip(self.lower.iter().zip(&self.upper)).map(|(t, (l, u))| t.clamp(*l, *u)).collect()
    }

    /// The learned coordinates of the template (the task's default φ), or `init` when given.
    pub fn initial_phi(&self, init: Option<&[f64]>) -> Vec<f64> {
        if let Some(v) = init {
            return if v.len() == 1 { vec![v[0]; self.dim()] } else { v.to_vec() };
        }
        let phi = self.template.phi();
        match (self.learn, &self.template) {
            (Learn::Sigma, DistributionSpec::Mixture { sigma, .. }) => vec![*sigma],
            (Learn::Sigma | Learn::KernelSigma, _) => vec![phi[0]],
            (Learn::SigmaPerLabel | Learn::Sigma2, _) => if phi.len() == 1 { vec![phi[0]; self.dim()] } else { phi },
            (Learn::Pdn, _) => phi,
        }
    }

    /// θ for a φ (inverse of [`PhiSpace::phi_of`]).
    pub fn theta_of(&self, phi: &[f64]) -> Result<Vec<f64>> {
        match self.learn {
            Learn::Pdn => match phi {
                [d, n] if *d > 0.0 && *d < 1.0 && *n > 0.0 && n < d => Ok(vec![logit(*d), logit(n / d)]),
                _ => Err(Error::invalid("pdn φ", format!("{phi:?}"), "the learnable form needs 0 < p_N < p_D < 1")),
            },
            _ => {
                if phi.iter().any(|s| !(*s > 0.0 && s.is_finite())) {
                    return Err(Error::invalid("sigma", format!("{phi:?}"), "must be finite and > 0"));
                }
                Ok(phi.iter().map(|s| s.ln()).collect())
            }
        }
    }

    /// φ as a differentiable function of θ (`[d]` → `[d]`).
    pub fn phi_of(&self, theta: &Tensor) -> Tensor {
        match self.learn {
            Learn::Pdn => {
                let p_d = theta.narrow(0, 0, 1).sigmoid();
                let p_n = &p_d * theta.narrow(0, 1, 1).sigmoid();
                Tensor::cat(&[p_d, p_n], 0)
            }
            _ => theta.exp(),
        }
    }

    /// φ as numbers for θ as numbers.
    pub fn phi_values(&self, theta: &[f64]) -> Vec<f64> {
        let t = Tensor::from_slice(theta);
        Vec::<f64>::try_from(&self.phi_of(&t)).unwrap_or_default()
    }

    /// The family with its φ replaced by the learned coordinates `phi`.
    pub fn spec_at(&self, phi: &[f64]) -> DistributionSpec {
        let sigma = |v: &[f64]| if v.len() == 1 { SigmaSpec::Scalar(v[0]) } else { SigmaSpec::Vector(v.to_vec()) };
        match (&self.template, self.learn) {
            (DistributionSpec::Gaussian { .. }, _) => DistributionSpec::Gaussian { sigma: sigma(phi) },
            (DistributionSpec::Gaussian2d { .. }, _) => DistributionSpec::Gaussian2d { sigma: sigma(phi) },
            (DistributionSpec::Mixture { p_d, p_n, .. }, _) => DistributionSpec::Mixture { sigma: phi[0], p_d: *p_d, p_n: *p_n },
            (DistributionSpec::Pdn { .. }, _) => DistributionSpec::Pdn { p_d: phi[0], p_n: phi[1] },
            (DistributionSpec::Segmentation { kernel, stride, padding, .. }, _) => {
                DistributionSpec::Segmentation { sigma: phi[0], kernel: *kernel, stride: *stride, padding: *padding }
            }
            (other, _) => other.clone(),
        }
    }

    /// The full flat φ of the family (the layout `Domain::targets` expects) from the learned coordinates,
    /// differentiable in them.
    pub fn full_phi(&self, learned: &Tensor) -> Tensor {
        match &self.template {
            DistributionSpec::Mixture { p_d, p_n, .. } => {
                let rest = Tensor::from_slice(&[*p_d, *p_n]).to_kind(learned.kind()).to_device(learned.device());
                Tensor::cat(&[learned.shallow_clone(), rest], 0)
            }
            _ => learned.shallow_clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Bins;

    fn study(learn: &str, lower: &str, upper: &str) -> StudySpec {
        toml::from_str(&format!(
            "method = \"hypergradient\"\nlearn = \"{learn}\"\nlower = {lower}\nupper = {upper}\nouter_steps = 1\nepisodes_per_step = 1\n"
        ))
        .unwrap()
    }

    #[test]
    fn theta_and_phi_round_trip_and_bounds_map() {
        let domain = Domain::Bins(Bins::parse("0:4").unwrap());
        let space = PhiSpace::new(&study("sigma-per-label", "[0.5]", "[8.0]"), &"gaussian:sigma=2".parse().unwrap(), &domain).unwrap();
        assert_eq!(space.dim(), 5);
        assert_eq!(space.initial_phi(None), vec![2.0; 5]);
        let theta = space.theta_of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let back = space.phi_values(&theta);
        assert!(back.iter().zip([1.0, 2.0, 3.0, 4.0, 5.0]).all(|(a, b)| (a - b).abs() < 1e-12));
        assert!((space.bounds().0[0] - 0.5f64.ln()).abs() < 1e-12);
        assert_eq!(space.clamp(&[10.0, -10.0, 0.0, 0.0, 0.0])[0], 8f64.ln());
        let pdn = PhiSpace::new(&study("pdn", "[0.01, 0.01]", "[0.99, 0.99]"), &"pdn:p_d=0.3,p_n=0.03".parse().unwrap(), &Domain::Classes(3)).unwrap();
        let phi = pdn.phi_values(&pdn.theta_of(&[0.3, 0.03]).unwrap());
        assert!((phi[0] - 0.3).abs() < 1e-12 && (phi[1] - 0.03).abs() < 1e-12);
    }

    #[test]
    fn mismatched_family_is_an_error() {
        let domain = Domain::Bins(Bins::parse("0:4").unwrap());
        assert!(PhiSpace::new(&study("pdn", "[0.1]", "[0.9]"), &"gaussian:sigma=2".parse().unwrap(), &domain).is_err());
        assert!(PhiSpace::new(&study("sigma", "[0.0]", "[2.0]"), &"gaussian:sigma=2".parse().unwrap(), &domain).is_err());
    }
}
