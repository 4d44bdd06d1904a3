//! Differentiable stand-ins for the headline metrics, used as query losses: 1 − Smooth-AP for
//! multi-label mAP (Brown et al., ECCV 2020) and 1 − soft IoU (soft Jaccard) for segmentation mIoU.
use crate::error::{Error, Result};
use crate::label::{DIFFICULT, POSITIVE, VOID};
use tch::Tensor;

/// Temperature of the Smooth-AP sigmoid, on softmax probabilities (the scores mAP ranks). Brown
/// et al. use 0.01 on cosine similarities in [−1, 1]; as τ → 0 Smooth-AP becomes the exact AP.
pub const SMOOTH_AP_TAU: f64 = 0.01;

/// 1 − mean over classes of Smooth-AP of the scores softmax(logits) `[B, C]` across the batch,
/// with states `[B, C]` (Positive / Difficult / Negative; difficult examples are left out, as mAP
/// leaves them out). Classes without a positive in the batch are skipped; a batch without any
/// positive scores 0.
///
/// For class c with scores s, positives P and counted examples Ω, and G(x) = sigmoid(x / τ):
/// AP_c ≈ (1/|P|) Σ_{i∈P} (1 + Σ_{j∈P, j≠i} G(s_j − s_i)) / (1 + Σ_{j∈Ω, j≠i} G(s_j − s_i)),
/// the rank of i among positives over its rank among all, with the step function smoothed.
pub fn smooth_ap_loss(logits: &Tensor, states: &Tensor, tau: f64) -> Result<Tensor> {
    if logits.dim() != 2 || logits.size() != states.size() {
        return Err(Error::shape(
            "smooth-AP loss",
            format!("logits {:?} vs states {:?}", logits.size(), states.size()),
        ));
    }
    let kind = logits.kind();
    let device = logits.device();
    let states = states.to_device(device);
    // [C, B] scores and masks; d[c, i, j] = s_j − s_i.
    let scores = logits.softmax(1, kind).transpose(0, 1);
    let positive = states.eq(POSITIVE).to_kind(kind).transpose(0, 1);
    let counted = states.ne(DIFFICULT).to_kind(kind).transpose(0, 1);
    let batch = logits.size()[0];
    let diff = scores.unsqueeze(1) - scores.unsqueeze(2);
    let off_diagonal = Tensor::eye(batch, (kind, device)).neg() + 1.0;
    let step = (diff / tau).sigmoid() * off_diagonal.unsqueeze(0) * counted.unsqueeze(1);
    let rank_all = step.sum_dim_intlist(2, false, kind) + 1.0;
    let rank_positive = (&step * positive.unsqueeze(1)).sum_dim_intlist(2, false, kind) + 1.0;
    let per_example = rank_positive / rank_all * &positive;
    let positives = positive.sum_dim_intlist(1, false, kind);
    let present = positives.gt(0.0).to_kind(kind);
    let ap = per_example.sum_dim_intlist(1, false, kind) / positives.clamp_min(1.0);
    let classes = present.sum(kind);
    Ok((&classes - (ap * &present).sum(kind)) / classes.clamp_min(1.0))
}

/// 1 − mean over classes of the soft IoU of softmax(logits) `[B, K, H, W]` against class maps
/// `[B, H, W]` (void pixels left out), over the whole batch: IoU_k = Σ q_k y_k / Σ (q_k + y_k − q_k y_k).
/// Classes absent from the batch's truth are skipped (their IoU is 0 whatever the prediction, with
/// no gradient); a batch with no counted pixel scores 0.
pub fn soft_iou_loss(logits: &Tensor, maps: &Tensor) -> Result<Tensor> {
    let size = logits.size();
    if logits.dim() != 4 || maps.size() != [size[0], size[2], size[3]] {
        return Err(Error::shape(
            "soft-IoU loss",
            format!("logits {size:?} vs class maps {:?}", maps.size()),
        ));
    }
    let (kind, device, classes) = (logits.kind(), logits.device(), size[1]);
    let maps = maps.to_device(device);
    let counted = maps.ne(VOID);
    let within = maps.ge(0).logical_and(&maps.lt(classes));
    if counted.logical_and(&within.logical_not()).any().int64_value(&[]) != 0 {
        return Err(Error::invalid(
            "segmentation labels",
            "class map",
            format!("a counted pixel lies outside 0..{classes}"),
        ));
    }
    let mask = counted.to_kind(kind).unsqueeze(1);
    let truth =
        maps.where_scalarother(&counted, 0).one_hot(classes).permute([0, 3, 1, 2]).to_kind(kind) * &mask;
    let q = logits.softmax(1, kind) * &mask;
    let dims: &[i64] = &[0, 2, 3];
    let intersection = (&q * &truth).sum_dim_intlist(dims, false, kind);
    let union = (&q + &truth - &q * &truth).sum_dim_intlist(dims, false, kind);
    let present = truth.sum_dim_intlist(dims, false, kind).gt(0.0).to_kind(kind);
    let iou = intersection / union.clamp_min(f64::MIN_POSITIVE);
    let classes = present.sum(kind);
    Ok((&classes - (iou * &present).sum(kind)) / classes.clamp_min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::NEGATIVE;
    use crate::train::metrics::average_precision;

    fn scalar(t: &Tensor) -> f64 {
        t.double_value(&[])
    }

    /// Logits whose softmax puts `p` on class 0 of a 2-class row.
    fn two_class_logits(p: &[f64]) -> Tensor {
        let rows: Vec<f64> = p.iter().flat_map(|p| [(p / (1.0 - p)).ln(), 0.0]).collect();
        Tensor::from_slice(&rows).reshape([p.len() as i64, 2])
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn smooth_ap_matches_the_formula_by_hand() {
        // Class 0 scores 0.7, 0.5, 0.6 with examples 0 and 1 positive; class 1 scores 0.3, 0.5, 0.4
        // with example 2 positive.
        let logits = two_class_logits(&[0.7, 0.5, 0.6]);
        let states =
            Tensor::from_slice(&[POSITIVE, NEGATIVE, POSITIVE, NEGATIVE, NEGATIVE, POSITIVE]).reshape([3, 2]);
        let tau = 0.1;
        let g = |x: f64| sigmoid(x / tau);
        // Class 0: i = 0 (s 0.7): positives j = 1 (0.5); all j = 1, 2.
        let ap0_i0 = (1.0 + g(0.5 - 0.7)) / (1.0 + g(0.5 - 0.7) + g(0.6 - 0.7));
        let ap0_i1 = (1.0 + g(0.7 - 0.5)) / (1.0 + g(0.7 - 0.5) + g(0.6 - 0.5));
        // Class 1: the one positive i = 2 (s 0.4) against 0.3 and 0.5.
        let ap1 = 1.0 / (1.0 + g(0.3 - 0.4) + g(0.5 - 0.4));
        let want = 1.0 - ((ap0_i0 + ap0_i1) / 2.0 + ap1) / 2.0;
        let got = scalar(&smooth_ap_loss(&logits, &states, tau).unwrap());
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn smooth_ap_tends_to_the_exact_ap_and_ignores_difficult() {
        // Distinct scores far apart relative to τ: Smooth-AP equals the non-interpolated AP.
        let p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let class0 = [POSITIVE, NEGATIVE, DIFFICULT, POSITIVE, NEGATIVE, POSITIVE];
        let states: Vec<i64> = class0.iter().flat_map(|s| [*s, NEGATIVE]).collect();
        let got = scalar(
            &smooth_ap_loss(&two_class_logits(&p), &Tensor::from_slice(&states).reshape([6, 2]), 1e-4)
                .unwrap(),
        );
        // Ranks among counted examples (difficult 0.7 dropped): positives at 1, 3, 5 → precisions 1, 2/3, 3/5.
        let exact = (1.0 + 2.0 / 3.0 + 3.0 / 5.0) / 3.0;
        assert!((got - (1.0 - exact)).abs() < 1e-9, "{got} vs {}", 1.0 - exact);
        // Here the interpolated mAP of the metrics agrees (precision falls with recall).
        let positive: Vec<bool> = class0.iter().map(|s| *s == POSITIVE).collect();
        let ignore: Vec<bool> = class0.iter().map(|s| *s == DIFFICULT).collect();
        assert!((average_precision(&p, &positive, &ignore).unwrap() - exact).abs() < 1e-12);
    }

    #[test]
    fn smooth_ap_of_a_batch_without_positives_is_zero() {
        let states = Tensor::from_slice(&[NEGATIVE; 4]).reshape([2, 2]);
        assert_eq!(scalar(&smooth_ap_loss(&two_class_logits(&[0.3, 0.6]), &states, 0.1).unwrap()), 0.0);
        assert!(smooth_ap_loss(&two_class_logits(&[0.3]), &states, 0.1).is_err());
    }

    /// Central differences of `loss` in each logit against autograd, in double precision.
    fn check_gradient(logits: &[f64], shape: &[i64], loss: impl Fn(&Tensor) -> Tensor) {
        let x = Tensor::from_slice(logits).reshape(shape).set_requires_grad(true);
        let grad = Tensor::run_backward(&[loss(&x)], &[&x], false, false)[0].flatten(0, -1);
        let h = 1e-6;
        for k in 0..logits.len() {
            let at = |d: f64| {
                let mut v = logits.to_vec();
                v[k] += d;
                scalar(&loss(&Tensor::from_slice(&v).reshape(shape)))
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            let analytic = grad.double_value(&[k as i64]);
            assert!(
                (numeric - analytic).abs() < 1e-6 * (1.0 + numeric.abs()),
                "logit {k}: {analytic} vs {numeric}"
            );
        }
    }

    #[test]
    fn smooth_ap_gradient_matches_finite_differences() {
        let logits = [0.2, -0.4, 1.0, 0.5, -0.3, 0.1, 0.7, -1.2, 0.0, 0.3, 0.9, -0.5];
        let states = Tensor::from_slice(&[
            POSITIVE, NEGATIVE, POSITIVE, DIFFICULT, POSITIVE, NEGATIVE, NEGATIVE, POSITIVE, POSITIVE,
            POSITIVE, NEGATIVE, NEGATIVE,
        ])
        .reshape([4, 3]);
        check_gradient(&logits, &[4, 3], |x| smooth_ap_loss(x, &states, 0.2).unwrap());
    }

    #[test]
    fn soft_iou_matches_the_formula_by_hand() {
        // One image of 1×3 pixels, 2 classes: truth 0, 1, void; q(class 0) = 0.8, 0.3, 0.5.
        let logits = two_class_logits(&[0.8, 0.3, 0.5]).transpose(0, 1).reshape([1, 2, 1, 3]);
        let maps = Tensor::from_slice(&[0i64, 1, VOID]).reshape([1, 1, 3]);
        let iou0 = 0.8 / (0.8 + 0.3 + 1.0 - 0.8);
        let iou1 = 0.7 / (0.2 + 0.7 + 1.0 - 0.7);
        let got = scalar(&soft_iou_loss(&logits, &maps).unwrap());
        assert!((got - (1.0 - (iou0 + iou1) / 2.0)).abs() < 1e-12, "{got}");
        // Only class 0 in the truth: class 1 is skipped.
        let zeros = Tensor::from_slice(&[0i64, 0, VOID]).reshape([1, 1, 3]);
        let want = 1.0 - (0.8 + 0.3) / (0.8 + 0.3 + 2.0 - 1.1);
        assert!((scalar(&soft_iou_loss(&logits, &zeros).unwrap()) - want).abs() < 1e-12);
    }

    #[test]
    fn soft_iou_of_confident_predictions_is_the_hard_iou() {
        // Predicted 0, 0, 1, 1 against truth 0, 1, 1, 1: IoU_0 = 1/2, IoU_1 = 2/3.
        let logits =
            Tensor::from_slice(&[40.0, 40.0, -40.0, -40.0, -40.0, -40.0, 40.0, 40.0]).reshape([1, 2, 1, 4]);
        let maps = Tensor::from_slice(&[0i64, 1, 1, 1]).reshape([1, 1, 4]);
        let got = scalar(&soft_iou_loss(&logits, &maps).unwrap());
        assert!((got - (1.0 - (0.5 + 2.0 / 3.0) / 2.0)).abs() < 1e-12, "{got}");
        let bad = Tensor::from_slice(&[0i64, 1, 7, 1]).reshape([1, 1, 4]);
        assert!(soft_iou_loss(&logits, &bad).is_err());
    }

    #[test]
    fn soft_iou_gradient_matches_finite_differences() {
        let logits = [0.2, -0.4, 1.0, 0.5, -0.3, 0.1, 0.7, -1.2, 0.0, 0.3, 0.9, -0.5];
        let maps = Tensor::from_slice(&[0i64, 2, VOID, 1]).reshape([2, 1, 2]);
        check_gradient(&logits, &[2, 3, 1, 2], |x| soft_iou_loss(x, &maps).unwrap());
    }
}
