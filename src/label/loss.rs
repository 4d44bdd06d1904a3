//! The DLDL loss `KL(p ‖ q)` with `q = softmax(logits)`, computed from logits so that it stays
//! finite where p has zeros or q underflows.
use super::validate;
use crate::error::{Error, Result};
use tch::Tensor;

/// Lowest log-probability used for q: far below any f32 softmax, so it only guards against −∞.
const LOG_Q_FLOOR: f64 = -1.0e4;

/// KL(p_i ‖ q_i) per sample `[N]` for logits and targets `[N, C]`.
pub fn kl_per_sample(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    kl_over(logits, target, 1)
}

/// Mean over the batch of KL(p ‖ q) (Σ over classes, divided by N).
pub fn kl_loss(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    Ok(kl_per_sample(logits, target)?.mean(validate::float_kind(logits)))
}

/// Mean KL over the `valid` positions of dense predictions: logits and targets `[N, C, H, W]`,
/// valid `[N, H, W]` (void and padding positions excluded).
pub fn kl_loss_masked(logits: &Tensor, target: &Tensor, valid: &Tensor) -> Result<Tensor> {
    let per_position = kl_over(logits, target, 1)?;
    if per_position.size() != valid.size() {
        return Err(Error::shape(
            "kl mask",
            format!("loss map {:?} vs mask {:?}", per_position.size(), valid.size()),
        ));
    }
    let kind = validate::float_kind(logits);
    let mask = valid.to_kind(kind);
    Ok((per_position * &mask).sum(kind) / mask.sum(kind).clamp_min(1.0))
}

/// `Σ_k p_k (ln p_k − ln q_k)` over `class_dim`.
fn kl_over(logits: &Tensor, target: &Tensor, class_dim: i64) -> Result<Tensor> {
    if logits.size() != target.size() {
        return Err(Error::shape(
            "kl loss",
            format!("logits {:?} vs targets {:?}", logits.size(), target.size()),
        ));
    }
    let kind = validate::float_kind(logits);
    let log_q = logits.log_softmax(class_dim, kind).clamp_min(LOG_Q_FLOOR);
    let p = target.to_kind(kind);
    let log_p = p.clamp_min(validate::tiny(kind)).log();
    Ok((&p * (log_p - log_q)).sum_dim_intlist(class_dim, false, kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::validate::values;
    use tch::Kind;

    #[test]
    fn matches_hand_computed_kl() {
        let logits = Tensor::from_slice(&[0.0f64, 1.0, 2.0]).reshape([1, 3]);
        let p = [0.2f64, 0.0, 0.8];
        let z: f64 = (0..3).map(|k| (k as f64).exp()).sum();
        let q: Vec<f64> = (0..3).map(|k| (k as f64).exp() / z).collect();
        let want = 0.2 * (0.2f64 / q[0]).ln() + 0.8 * (0.8f64 / q[2]).ln();
        let got = kl_loss(&logits, &Tensor::from_slice(&p).reshape([1, 3])).unwrap().double_value(&[]);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn is_zero_when_q_equals_p_and_mean_over_batch() {
        let p = Tensor::from_slice(&[0.1f64, 0.2, 0.7, 0.5, 0.5, 0.0]).reshape([2, 3]);
        let logits = p.clamp_min(1e-300).log();
        let per = values(&kl_per_sample(&logits, &p).unwrap()).unwrap();
        assert!(per.iter().all(|v| v.abs() < 1e-12), "{per:?}");
    }

    #[test]
    fn finite_loss_and_gradient_when_q_underflows_or_p_has_zeros() {
        for kind in [Kind::Float, Kind::Double] {
            let logits = Tensor::from_slice(&[1000.0f64, 0.0, -1000.0, 50.0])
                .reshape([1, 4])
                .to_kind(kind)
                .set_requires_grad(true);
            let p = Tensor::from_slice(&[0.0f64, 0.5, 0.5, 0.0]).reshape([1, 4]).to_kind(kind);
            let loss = kl_loss(&logits, &p).unwrap();
            let grad = Tensor::run_backward(&[&loss], &[&logits], false, false)[0].shallow_clone();
            assert!(loss.double_value(&[]).is_finite());
            assert!(values(&grad).unwrap().iter().all(|g| g.is_finite()));
        }
    }

    #[test]
    fn gradient_is_softmax_minus_target() {
        // ∂/∂z Σ p (ln p − log_softmax z) = softmax(z) − p for a distribution p.
        let logits = Tensor::from_slice(&[0.3f64, -1.0, 2.0]).reshape([1, 3]).set_requires_grad(true);
        let p = Tensor::from_slice(&[0.25f64, 0.25, 0.5]).reshape([1, 3]);
        let loss = kl_loss(&logits, &p).unwrap();
        let grad = Tensor::run_backward(&[&loss], &[&logits], false, false)[0].shallow_clone();
        let want = logits.detach().softmax(1, Kind::Double) - &p;
        assert!((grad - want).abs().max().double_value(&[]) < 1e-12);
    }

    #[test]
    fn masked_loss_ignores_invalid_positions_and_checks_shapes() {
        let logits = Tensor::zeros([1, 2, 1, 2], (Kind::Double, tch::Device::Cpu));
        let target = Tensor::from_slice(&[1.0f64, 0.0, 0.0, 0.0]).reshape([1, 2, 1, 2]);
        let valid = Tensor::from_slice(&[true, false]).reshape([1, 1, 2]);
        let loss = kl_loss_masked(&logits, &target, &valid).unwrap().double_value(&[]);
        assert!((loss - 2f64.ln()).abs() < 1e-12);
        assert!(kl_loss(&logits.reshape([2, 2]), &target.reshape([1, 4])).is_err());
    }
}
