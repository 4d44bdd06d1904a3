//! The 1-D Gaussian family: `p_j ∝ N(l_j; μ, σ²)` normalised over ordered bins.
//! σ is a scalar or one value per label (σ(l), looked up at the sample's nearest bin).
use super::bins::Bins;
use super::validate;
use crate::error::{Error, Result};
use tch::Tensor;

/// The width parameter φ of the 1-D Gaussian family; the tensors may require grad.
#[derive(Debug)]
pub enum Sigma {
    /// One σ for every label (a one-element tensor).
    Scalar(Tensor),
    /// σ(l): one value per bin, `[C]`; a sample uses the σ of its nearest bin.
    PerLabel(Tensor),
}

impl Sigma {
    /// The underlying φ tensor.
    pub fn tensor(&self) -> &Tensor {
        match self {
            Sigma::Scalar(t) | Sigma::PerLabel(t) => t,
        }
    }
}

/// Gaussian label distributions over `bins` with width `sigma`.
#[derive(Debug)]
pub struct Gaussian1d<'a> {
    bins: &'a Bins,
    sigma: Sigma,
}

impl<'a> Gaussian1d<'a> {
    /// Checks σ: finite and at least [`validate::MIN_SIGMA_PER_STEP`] × the bin step everywhere, one
    /// value (scalar) or one per bin (per label).
    pub fn new(bins: &'a Bins, sigma: Sigma) -> Result<Self> {
        validate::sigma_tensor_floor("sigma", sigma.tensor(), bins.step(), "bin step")?;
        let n = sigma.tensor().numel();
        match &sigma {
            Sigma::Scalar(_) if n != 1 => {
                return Err(Error::shape("sigma", format!("a scalar sigma has one value, got {n}")))
            }
            Sigma::PerLabel(_) if n != bins.len() => {
                return Err(Error::shape(
                    "sigma",
                    format!("sigma per label needs {} values (one per bin), got {n}", bins.len()),
                ))
            }
            _ => {}
        }
        Ok(Gaussian1d { bins, sigma })
    }

    /// Target distributions `[N, C]` for labels `[N]` (continuous values, not indices).
    pub fn targets(&self, labels: &Tensor) -> Result<Tensor> {
        validate::dims("labels", labels, 1)?;
        let phi = self.sigma.tensor();
        let kind = validate::float_kind(phi);
        let bins = self.bins.tensor(kind, phi.device()).unsqueeze(0);
        let mu = labels.to_kind(kind).to_device(phi.device()).unsqueeze(1);
        let sigma = match &self.sigma {
            Sigma::Scalar(s) => s.reshape([1, 1]),
            Sigma::PerLabel(s) => {
                let nearest = self.bins.nearest_index(labels)?.to_device(phi.device());
                s.index_select(0, &nearest).unsqueeze(1)
            }
        };
        let log_weight = -(bins - mu).square() / (sigma.square() * 2.0);
        Ok(log_weight.softmax(1, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::validate::values;
    use tch::Kind;

    fn scalar(s: f64) -> Sigma {
        Sigma::Scalar(Tensor::from_slice(&[s]))
    }

    #[test]
    fn matches_hand_computed_closed_form() {
        // Bins 0..4, μ = 1.5, σ = 1: weights exp(-(j-1.5)²/2) for j = 0..4.
        let bins = Bins::parse("0:4").unwrap();
        let p = Gaussian1d::new(&bins, scalar(1.0)).unwrap().targets(&Tensor::from_slice(&[1.5f64])).unwrap();
        let w: Vec<f64> = (0..5).map(|j| (-(j as f64 - 1.5f64).powi(2) / 2.0).exp()).collect();
        let z: f64 = w.iter().sum();
        for (got, want) in values(&p).unwrap().iter().zip(w.iter().map(|x| x / z)) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn sums_to_one_and_is_non_negative() {
        let bins = Bins::parse("0:100").unwrap();
        let labels = Tensor::from_slice(&[0.0f64, 32.0, 57.5, 100.0]);
        for s in [0.1, 1.0, 2.0, 10.0, 1000.0] {
            let p = Gaussian1d::new(&bins, scalar(s)).unwrap().targets(&labels).unwrap();
            assert!(values(&p.min()).unwrap()[0] >= 0.0);
            let sums = values(&p.sum_dim_intlist(1, false, Kind::Double)).unwrap();
            assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-12), "{sums:?}");
        }
    }

    #[test]
    fn sigma_to_zero_is_one_hot() {
        let bins = Bins::parse("0:10").unwrap();
        // σ = 0.01, the floor for a bin step of 1, is already exactly one-hot; below it σ is refused.
        let p = Gaussian1d::new(&bins, scalar(0.01))
            .unwrap()
            .targets(&Tensor::from_slice(&[3.0f64, 7.2]))
            .unwrap();
        let refused = Gaussian1d::new(&bins, scalar(1e-4)).unwrap_err().to_string();
        assert!(refused.contains("must be at least 0.01 × the bin step (1) = 0.01"), "{refused}");
        let v = values(&p).unwrap();
        for (i, hot) in [(0usize, 3usize), (1, 7)] {
            for j in 0..11 {
                let want = if j == hot { 1.0 } else { 0.0 };
                assert!((v[i * 11 + j] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn gradient_matches_central_differences() {
        let bins = Bins::parse("0:20").unwrap();
        let labels = Tensor::from_slice(&[4.0f64, 11.3]);
        let probe = Tensor::from_slice(&[
            0.3f64, -1.2, 0.5, 2.0, 0.1, -0.7, 0.9, 1.1, -0.4, 0.2, 0.6, -0.3, 0.8, 1.5, -1.0, 0.4, 0.05,
            -0.2, 0.7, 0.35, -0.9,
        ]);
        let objective = |s: &Tensor| -> Tensor {
            let p =
                Gaussian1d::new(&bins, Sigma::Scalar(s.shallow_clone())).unwrap().targets(&labels).unwrap();
            (p * probe.unsqueeze(0)).sum(Kind::Double)
        };
        let sigma = Tensor::from_slice(&[2.5f64]).set_requires_grad(true);
        let grad = Tensor::run_backward(&[objective(&sigma)], &[&sigma], false, false)[0].double_value(&[0]);
        let h = 1e-6;
        let fd = (objective(&Tensor::from_slice(&[2.5 + h])).double_value(&[])
            - objective(&Tensor::from_slice(&[2.5 - h])).double_value(&[]))
            / (2.0 * h);
        assert!((grad - fd).abs() < 1e-7 * (1.0 + fd.abs()), "autograd {grad} vs finite difference {fd}");
    }

    #[test]
    fn per_label_sigma_uses_the_sigma_of_the_nearest_bin_and_has_exact_gradients() {
        let bins = Bins::parse("0:5").unwrap();
        let sigma_values = [0.5f64, 1.0, 1.5, 2.0, 2.5, 3.0];
        let per = Tensor::from_slice(&sigma_values).set_requires_grad(true);
        let labels = Tensor::from_slice(&[2.0f64, 4.0]);
        let p =
            Gaussian1d::new(&bins, Sigma::PerLabel(per.shallow_clone())).unwrap().targets(&labels).unwrap();
        // Row 0 must equal a scalar σ = 1.5 distribution, row 1 a σ = 2.5 one.
        for (row, s) in [(0i64, 1.5), (1, 2.5)] {
            let single =
                Gaussian1d::new(&bins, scalar(s)).unwrap().targets(&labels.get(row).reshape([1])).unwrap();
            let diff = (p.get(row) - single.get(0)).abs().max().double_value(&[]);
            assert!(diff < 1e-12);
        }
        // d/dσ_j of Σ p·probe is non-zero only for the bins used (2 and 4), and matches differences.
        let probe = Tensor::from_slice(&[1.0f64, -2.0, 0.5, 3.0, -1.0, 0.25]);
        let objective = |p: &Tensor| (p * probe.unsqueeze(0)).sum(Kind::Double);
        let grad = Tensor::run_backward(&[objective(&p)], &[&per], false, false)[0].shallow_clone();
        let g = values(&grad).unwrap();
        for j in 0..6 {
            let h = 1e-6;
            let shifted = |d: f64| {
                let mut v = sigma_values;
                v[j] += d;
                let p = Gaussian1d::new(&bins, Sigma::PerLabel(Tensor::from_slice(&v)))
                    .unwrap()
                    .targets(&labels)
                    .unwrap();
                objective(&p).double_value(&[])
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
            assert!((g[j] - fd).abs() < 1e-7, "bin {j}: {} vs {fd}", g[j]);
            if j != 2 && j != 4 {
                assert_eq!(g[j], 0.0);
            }
        }
    }

    #[test]
    fn invalid_sigma_is_a_typed_error() {
        let bins = Bins::parse("0:5").unwrap();
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = Gaussian1d::new(&bins, scalar(bad)).unwrap_err();
            assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
        }
        assert!(matches!(
            Gaussian1d::new(&bins, Sigma::PerLabel(Tensor::from_slice(&[1.0f64, 2.0]))).unwrap_err(),
            Error::Shape { .. }
        ));
    }
}
