//! Which φ of a family a study learns (`learn =` in a study file), and the coordinates its bounds
//! are written in: σs as they are, then (p_D, p_N/p_D).
use serde::{Deserialize, Serialize};

/// Which φ of the task's family is learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Learn {
    /// Scalar σ (gaussian, mixture).
    Sigma,
    /// σ(l), one per bin (gaussian).
    SigmaPerLabel,
    /// Anisotropic (σ_1, σ_2) (gaussian2d).
    Sigma2,
    /// (p_D, p_N) (pdn).
    Pdn,
    /// Kernel width σ_f (segmentation).
    KernelSigma,
    /// (σ, p_D, p_N) of the Gaussian mixture.
    Mixture,
}

impl Learn {
    /// The name a study file uses.
    pub fn name(self) -> &'static str {
        match self {
            Learn::Sigma => "sigma",
            Learn::SigmaPerLabel => "sigma-per-label",
            Learn::Sigma2 => "sigma2",
            Learn::Pdn => "pdn",
            Learn::KernelSigma => "kernel-sigma",
            Learn::Mixture => "mixture",
        }
    }

    /// How many leading coordinates of a `dim`-coordinate φ are σs (log scale); the rest are p_D and
    /// p_N/p_D (logits, linear scale).
    pub fn sigma_coordinates(self, dim: usize) -> usize {
        match self {
            Learn::Pdn => 0,
            Learn::Mixture => 1,
            _ => dim,
        }
    }

    /// φ in the coordinates its bounds are written in: the σs as they are, then (p_D, p_N/p_D).
    /// The caller makes sure p_D ≠ 0.
    pub fn bounded_of(self, phi: &[f64]) -> Vec<f64> {
        let mut bounded = phi.to_vec();
        if let [p_d, p_n] = &mut bounded[self.sigma_coordinates(phi.len())..] {
            *p_n /= *p_d;
        }
        bounded
    }

    /// φ from its bounded coordinates (inverse of [`Learn::bounded_of`]).
    pub fn phi_of_bounded(self, bounded: &[f64]) -> Vec<f64> {
        let mut phi = bounded.to_vec();
        if let [p_d, ratio] = &mut phi[self.sigma_coordinates(bounded.len())..] {
            *ratio *= *p_d;
        }
        phi
    }
}

impl std::fmt::Display for Learn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
