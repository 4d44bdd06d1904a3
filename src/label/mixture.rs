//! Extension A: a multi-label distribution as a Gaussian mixture over a label-distance matrix,
//! `p_j ∝ p_N + Σ_i (w_i − p_N) · exp(−D_ij² / 2σ²)` with `w_i` = 1 (P), p_D (D); σ → 0 gives P/D/N.
use super::distance::LabelDistance;
use super::pdn::Pdn;
use super::validate;
use crate::error::{Error, Result};
use tch::Tensor;

/// The mixture family with φ = (σ, p_D, p_N).
#[derive(Debug)]
pub struct Mixture<'a> {
    distance: &'a LabelDistance,
    sigma: Tensor,
    pdn: Pdn,
}

impl<'a> Mixture<'a> {
    /// σ (one value, finite > 0) and the P/D/N weights of the peaks.
    pub fn new(distance: &'a LabelDistance, sigma: Tensor, pdn: Pdn) -> Result<Self> {
        let value = validate::positive_scalar("sigma", &sigma)?;
        validate::sigma_floor("sigma", &[value], distance.step(), "smallest label distance")?;
        Ok(Mixture { distance, sigma, pdn })
    }

    /// Target distributions `[N, C]` for states `[N, C]` (codes 2/1/0).
    pub fn targets(&self, states: &Tensor) -> Result<Tensor> {
        validate::normalise("mixture targets", &self.mass(states)?, 1)
    }

    /// Like [`Mixture::targets`], but a row without any mass (no positive class, only difficult
    /// ones at p_D = 0, and p_N = 0) gets an all-zero row and `false` in the returned `[N]`
    /// validity mask, exactly as [`Pdn::targets_masked`] treats it, for losses that skip it.
    pub fn targets_masked(&self, states: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok(validate::normalise_rows_masked(&self.mass(states)?))
    }

    /// Unnormalised mass `p_N + Σ_i (w_i − p_N)·e^{−D_ij²/2σ²}` per row and class.
    fn mass(&self, states: &Tensor) -> Result<Tensor> {
        if states.dim() == 2 && states.size()[1] != self.distance.classes() {
            return Err(Error::shape(
                "label states",
                format!("{} classes, distance matrix has {}", states.size()[1], self.distance.classes()),
            ));
        }
        let kind = validate::float_kind(&self.sigma);
        let device = self.sigma.device();
        let weights = self.pdn.weights(states)?.to_kind(kind).to_device(device);
        let p_n = self.pdn.p_n().to_kind(kind).to_device(device).reshape([1, 1]);
        let d = self.distance.matrix().to_kind(kind).to_device(device);
        let sigma = self.sigma.to_kind(kind).reshape([1, 1]);
        let kernel = (-d.square() / (sigma.square() * 2.0)).exp();
        Ok((&weights - &p_n).matmul(&kernel) + p_n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::validate::values;
    use tch::Kind;

    fn states() -> Tensor {
        Tensor::from_slice(&[2i64, 0, 0, 1, 0, 0, 2, 0, 0, 2]).reshape([2, 5])
    }

    #[test]
    fn rows_without_positives_are_masked_as_pdn_masks_them() {
        // Row 0 has a positive; row 1 only a difficult class, which p_D = 0 gives no weight.
        let rows = Tensor::from_slice(&[2i64, 0, 0, 0, 0, 0, 0, 1, 0, 0]).reshape([2, 5]);
        let dist = LabelDistance::index(5).unwrap();
        let pdn = || Pdn::explicit(0.0, 0.0).unwrap();
        let mix = Mixture::new(&dist, Tensor::from_slice(&[0.01f64]), pdn()).unwrap();
        assert!(mix.targets(&rows).is_err(), "the unmasked targets refuse a row without mass");
        let (p, valid) = mix.targets_masked(&rows).unwrap();
        let (q, pdn_valid) = pdn().targets_masked(&rows).unwrap();
        assert!(
            valid.equal(&pdn_valid)
                && bool::try_from(&valid.get(0)).unwrap()
                && !bool::try_from(&valid.get(1)).unwrap()
        );
        assert!((&p - &q).abs().max().double_value(&[]) < 1e-12, "σ → 0 gives P/D/N's masked targets");
        // The masked KL loss is the loss of the remaining row alone.
        let logits =
            Tensor::from_slice(&[0.3f64, -0.2, 0.5, 0.1, -0.4, 0.2, 0.0, -0.1, 0.3, 0.6]).reshape([2, 5]);
        let wide = Mixture::new(&dist, Tensor::from_slice(&[1.5f64]), pdn()).unwrap();
        let (p, valid) = wide.targets_masked(&rows).unwrap();
        let masked = crate::label::kl_loss_masked(&logits, &p, &valid).unwrap().double_value(&[]);
        let alone =
            crate::label::kl_loss(&logits.narrow(0, 0, 1), &p.narrow(0, 0, 1)).unwrap().double_value(&[]);
        assert!((masked - alone).abs() < 1e-12, "{masked} vs {alone}");
    }

    #[test]
    fn sigma_to_zero_recovers_pdn() {
        let dist = LabelDistance::index(5).unwrap();
        let mix =
            Mixture::new(&dist, Tensor::from_slice(&[0.01f64]), Pdn::explicit(0.3, 0.05).unwrap()).unwrap();
        let pdn = Pdn::explicit(0.3, 0.05).unwrap().targets(&states()).unwrap();
        let diff = (mix.targets(&states()).unwrap() - pdn).abs().max().double_value(&[]);
        assert!(diff < 1e-12, "max difference {diff}");
    }

    #[test]
    fn matches_hand_computed_values_and_has_no_zeros() {
        // Row [P, N, N, D, N], σ = 1, p_D = 0.5, p_N = 0: weight_j = e^{-j²/2} + 0.5·e^{-(j-3)²/2}.
        let dist = LabelDistance::index(5).unwrap();
        let mix =
            Mixture::new(&dist, Tensor::from_slice(&[1.0f64]), Pdn::explicit(0.5, 0.0).unwrap()).unwrap();
        let p = values(&mix.targets(&states()).unwrap()).unwrap();
        let w: Vec<f64> = (0..5)
            .map(|j| (-(j as f64).powi(2) / 2.0).exp() + 0.5 * (-((j as f64) - 3.0).powi(2) / 2.0).exp())
            .collect();
        let z: f64 = w.iter().sum();
        for j in 0..5 {
            assert!((p[j] - w[j] / z).abs() < 1e-12);
            assert!(p[j] > 0.0);
        }
        assert!((p[5..].iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn matches_a_hand_computation_over_a_given_distance_matrix() {
        // Four labels with D = [[0,1,4,2],[1,0,3,1],[4,3,0,2],[2,1,2,0]], row [P, N, D, N],
        // σ = 1.5, p_D = 0.4, p_N = 0.1: mass_j = 0.1 + 0.9·k(D_0j) + 0.3·k(D_2j), k(d) = e^{-d²/4.5}.
        let d = [0.0, 1.0, 4.0, 2.0, 1.0, 0.0, 3.0, 1.0, 4.0, 3.0, 0.0, 2.0, 2.0, 1.0, 2.0, 0.0];
        let dist = LabelDistance::given(d.to_vec(), 4, "test").unwrap();
        let row = Tensor::from_slice(&[2i64, 0, 1, 0]).reshape([1, 4]);
        let mix =
            Mixture::new(&dist, Tensor::from_slice(&[1.5f64]), Pdn::explicit(0.4, 0.1).unwrap()).unwrap();
        let p = values(&mix.targets(&row).unwrap()).unwrap();
        let k = |x: f64| (-x * x / 4.5).exp();
        let mass: Vec<f64> = (0..4).map(|j| 0.1 + 0.9 * k(d[j]) + 0.3 * k(d[8 + j])).collect();
        let z: f64 = mass.iter().sum();
        for j in 0..4 {
            assert!((p[j] - mass[j] / z).abs() < 1e-12, "{p:?}");
        }
        // σ → 0 gives P/D/N on the same row.
        let sharp =
            Mixture::new(&dist, Tensor::from_slice(&[0.011f64]), Pdn::explicit(0.4, 0.1).unwrap()).unwrap();
        let pdn = Pdn::explicit(0.4, 0.1).unwrap().targets(&row).unwrap();
        assert!((sharp.targets(&row).unwrap() - pdn).abs().max().double_value(&[]) < 1e-12);
    }

    #[test]
    fn gradient_in_the_pdn_weights_matches_central_differences() {
        let dist = LabelDistance::index(5).unwrap();
        let probe = Tensor::from_slice(&[1.0f64, -0.5, 0.25, 2.0, -1.0]).reshape([1, 5]);
        let objective = |p_d: &Tensor, p_n: &Tensor| {
            let mix =
                Mixture::new(&dist, Tensor::from_slice(&[0.8f64]), Pdn::from_tensors(p_d, p_n).unwrap())
                    .unwrap();
            (mix.targets(&states()).unwrap() * &probe).sum(Kind::Double)
        };
        let (p_d, p_n) = (
            Tensor::from_slice(&[0.35f64]).set_requires_grad(true),
            Tensor::from_slice(&[0.05f64]).set_requires_grad(true),
        );
        let grads = Tensor::run_backward(&[objective(&p_d, &p_n)], &[&p_d, &p_n], false, false);
        let at = |d: f64, n: f64| {
            objective(&Tensor::from_slice(&[d]), &Tensor::from_slice(&[n])).double_value(&[])
        };
        let h = 1e-6;
        let fd_d = (at(0.35 + h, 0.05) - at(0.35 - h, 0.05)) / (2.0 * h);
        let fd_n = (at(0.35, 0.05 + h) - at(0.35, 0.05 - h)) / (2.0 * h);
        assert!(
            (grads[0].double_value(&[0]) - fd_d).abs() < 1e-8,
            "{} vs {fd_d}",
            grads[0].double_value(&[0])
        );
        assert!(
            (grads[1].double_value(&[0]) - fd_n).abs() < 1e-8,
            "{} vs {fd_n}",
            grads[1].double_value(&[0])
        );
    }

    #[test]
    fn gradient_in_sigma_matches_central_differences() {
        let dist = LabelDistance::index(5).unwrap();
        let probe = Tensor::from_slice(&[1.0f64, -0.5, 0.25, 2.0, -1.0]).reshape([1, 5]);
        let objective = |s: &Tensor| {
            let mix = Mixture::new(&dist, s.shallow_clone(), Pdn::explicit(0.3, 0.02).unwrap()).unwrap();
            (mix.targets(&states()).unwrap() * &probe).sum(Kind::Double)
        };
        let s = Tensor::from_slice(&[0.9f64]).set_requires_grad(true);
        let grad = Tensor::run_backward(&[objective(&s)], &[&s], false, false)[0].double_value(&[0]);
        let at = |x: f64| objective(&Tensor::from_slice(&[x])).double_value(&[]);
        let fd = (at(0.9 + 1e-6) - at(0.9 - 1e-6)) / 2e-6;
        assert!((grad - fd).abs() < 1e-8, "{grad} vs {fd}");
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let dist = LabelDistance::index(5).unwrap();
        assert!(Mixture::new(&dist, Tensor::from_slice(&[0.0f64]), Pdn::explicit(0.3, 0.0).unwrap()).is_err());
        let mix =
            Mixture::new(&dist, Tensor::from_slice(&[1.0f64]), Pdn::explicit(0.3, 0.0).unwrap()).unwrap();
        assert!(mix.targets(&Tensor::from_slice(&[2i64, 0, 0]).reshape([1, 3])).is_err());
    }
}
