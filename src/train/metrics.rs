//! Task metrics from predictions: MAE, ε-error and CS(θ) for ordinal labels; per-axis and joint MAE
//! and accuracy for pose; VOC-style mAP for multi-label; mIoU and pixel accuracy for segmentation.
use crate::label::{Bins, DIFFICULT, POSITIVE};
use crate::rundir::records::{LabelError, Metrics};
use tch::{Kind, Tensor};

/// Settings of the ordinal metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrdinalMetricSpec {
    /// CS(θ): fraction of predictions within θ label units.
    pub cs_threshold: f64,
    /// σ of ε-error `1 − exp(−(ŷ − y)² / 2σ²)` (the data carry no per-image σ).
    pub epsilon_sigma: f64,
}

impl Default for OrdinalMetricSpec {
    fn default() -> Self {
        OrdinalMetricSpec { cs_threshold: 5.0, epsilon_sigma: 2.0 }
    }
}

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.detach().to_device(tch::Device::Cpu).to_kind(Kind::Double).reshape([-1]))
        .unwrap_or_default()
}

/// MAE (expectation and argmax), ε-error and CS(θ) for `[N]` predictions and labels.
pub fn ordinal(expected: &Tensor, argmax: &Tensor, labels: &Tensor, spec: OrdinalMetricSpec) -> Metrics {
    let (e, a, y) = (values(expected), values(argmax), values(labels));
    let n = y.len().max(1) as f64;
    let err: Vec<f64> = e.iter().zip(&y).map(|(p, t)| (p - t).abs()).collect();
    let mut m = Metrics::new();
    m.insert("mae".into(), err.iter().sum::<f64>() / n);
    m.insert("mae_argmax".into(), a.iter().zip(&y).map(|(p, t)| (p - t).abs()).sum::<f64>() / n);
    let s2 = 2.0 * spec.epsilon_sigma * spec.epsilon_sigma;
    m.insert("eps_error".into(), err.iter().map(|d| 1.0 - (-d * d / s2).exp()).sum::<f64>() / n);
    m.insert(
        format!("cs{}", spec.cs_threshold),
        err.iter().filter(|d| **d <= spec.cs_threshold).count() as f64 / n,
    );
    m
}

/// The six LDL measures of predicted distributions `q` `[N, C]` against the given ones `p` (lower
/// is better for chebyshev, clark, canberra and kl; higher for cosine and intersection), and
/// `accuracy`: how often the most probable categories agree.
pub fn given(q: &Tensor, p: &Tensor) -> crate::error::Result<Metrics> {
    let measures = crate::label::ldl_measures(q, p)?;
    let mut m = Metrics::new();
    for (name, value) in [
        ("chebyshev", measures.chebyshev),
        ("clark", measures.clark),
        ("canberra", measures.canberra),
        ("kl", measures.kl),
        ("cosine", measures.cosine),
        ("intersection", measures.intersection),
    ] {
        m.insert(name.into(), value);
    }
    let agree = q.argmax(1, false).eq_tensor(&p.argmax(1, false)).to_kind(Kind::Double).mean(Kind::Double);
    m.insert("accuracy".into(), agree.double_value(&[]));
    Ok(m)
}

/// MAE of the expected labels `[N]` grouped by the bin nearest to each true label `[N]`, in bin
/// order; bins without examples are left out.
pub fn per_label_mae(expected: &Tensor, labels: &Tensor, bins: &Bins) -> Vec<LabelError> {
    let (e, y) = (values(expected), values(labels));
    let index =
        bins.nearest_index(&labels.to_device(tch::Device::Cpu)).map(|t| values(&t)).unwrap_or_default();
    let mut sums = vec![(0usize, 0.0f64); bins.len()];
    for ((p, t), i) in e.iter().zip(&y).zip(&index) {
        let s = &mut sums[*i as usize];
        s.0 += 1;
        s.1 += (p - t).abs();
    }
    bins.values()
        .iter()
        .zip(sums)
        .filter(|(_, (n, _))| *n > 0)
        .map(|(label, (count, sum))| LabelError { label: *label, count, mae: sum / count as f64 })
        .collect()
}

/// Per-axis MAE, joint MAE (mean of both axes) for expectation and argmax, and accuracy (argmax cell
/// equal to the true cell) for `[N, 2]` predictions.
pub fn pose(
    expected: &Tensor,
    argmax: &Tensor,
    labels: &Tensor,
    predicted_cell: &Tensor,
    true_cell: &Tensor,
) -> Metrics {
    let (e, a, y) = (values(expected), values(argmax), values(labels));
    let n = (y.len() / 2).max(1) as f64;
    let axis =
        |p: &[f64], k: usize| p.chunks(2).zip(y.chunks(2)).map(|(p, t)| (p[k] - t[k]).abs()).sum::<f64>() / n;
    let mut m = Metrics::new();
    m.insert("mae_axis1".into(), axis(&e, 0));
    m.insert("mae_axis2".into(), axis(&e, 1));
    m.insert("mae".into(), (axis(&e, 0) + axis(&e, 1)) / 2.0);
    m.insert("mae_argmax".into(), (axis(&a, 0) + axis(&a, 1)) / 2.0);
    let hits = values(&predicted_cell.eq_tensor(true_cell).to_kind(Kind::Double));
    m.insert("accuracy".into(), hits.iter().sum::<f64>() / n);
    m
}

/// Average precision of one class (all-point interpolation, as VOC 2010+): `scores` and
/// `positive` per sample; samples marked `ignore` (difficult) are left out. None without positives.
pub fn average_precision(scores: &[f64], positive: &[bool], ignore: &[bool]) -> Option<f64> {
    let mut ranked: Vec<(f64, bool)> =
        scores.iter().zip(positive).zip(ignore).filter(|(_, i)| !**i).map(|((s, p), _)| (*s, *p)).collect();
    let total = ranked.iter().filter(|(_, p)| *p).count();
    if total == 0 {
        return None;
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut points) = (0usize, vec![]);
    for (k, (_, p)) in ranked.iter().enumerate() {
        if *p {
            tp += 1;
            points.push((tp as f64 / total as f64, tp as f64 / (k + 1) as f64));
        }
    }
    // Precision envelope: best precision at any recall ≥ r, summed over each recall step.
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for i in 0..points.len() {
        let best = points[i..].iter().map(|(_, p)| *p).fold(0.0, f64::max);
        ap += (points[i].0 - prev_recall) * best;
        prev_recall = points[i].0;
    }
    Some(ap)
}

/// mAP over classes with at least one positive: scores `[N, C]`, states `[N, C]` (difficult ignored).
pub fn multilabel(scores: &Tensor, states: &Tensor) -> Metrics {
    let c = scores.size()[1] as usize;
    let (s, st) = (values(scores), values(states));
    let column = |v: &[f64], j: usize| v.iter().skip(j).step_by(c).copied().collect::<Vec<_>>();
    let aps: Vec<f64> = (0..c)
        .filter_map(|j| {
            let states = column(&st, j);
            let positive: Vec<bool> = states.iter().map(|v| *v as i64 == POSITIVE).collect();
            let ignore: Vec<bool> = states.iter().map(|v| *v as i64 == DIFFICULT).collect();
            average_precision(&column(&s, j), &positive, &ignore)
        })
        .collect();
    let mut m = Metrics::new();
    m.insert("map".into(), aps.iter().sum::<f64>() / aps.len().max(1) as f64);
    m
}

/// Mean IoU over classes present in prediction or truth, and pixel accuracy; void pixels ignored.
pub fn segmentation(predicted: &Tensor, truth: &Tensor, classes: i64) -> Metrics {
    let counted = truth.ne(crate::label::VOID);
    let (p, t) = (predicted.masked_select(&counted), truth.masked_select(&counted));
    let pixels = t.numel().max(1) as f64;
    let correct = p.eq_tensor(&t).sum(Kind::Double).double_value(&[]);
    let ious: Vec<f64> = (0..classes)
        .filter_map(|k| {
            let (pk, tk) = (p.eq(k), t.eq(k));
            let union = pk.logical_or(&tk).sum(Kind::Double).double_value(&[]);
            (union > 0.0).then(|| pk.logical_and(&tk).sum(Kind::Double).double_value(&[]) / union)
        })
        .collect();
    let mut m = Metrics::new();
    m.insert("pixel_acc".into(), correct / pixels);
    m.insert("miou".into(), ious.iter().sum::<f64>() / ious.len().max(1) as f64);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinal_metrics_by_hand() {
        let m = ordinal(
            &Tensor::from_slice(&[10.0f32, 22.0, 31.0]),
            &Tensor::from_slice(&[11.0f32, 20.0, 40.0]),
            &Tensor::from_slice(&[10.0f32, 20.0, 30.0]),
            OrdinalMetricSpec { cs_threshold: 1.5, epsilon_sigma: 1.0 },
        );
        assert!((m["mae"] - 1.0).abs() < 1e-9);
        assert!((m["mae_argmax"] - 11.0 / 3.0).abs() < 1e-9);
        assert!((m["cs1.5"] - 2.0 / 3.0).abs() < 1e-9);
        let want = ((1.0 - (-0.0f64).exp()) + (1.0 - (-2.0f64).exp()) + (1.0 - (-0.5f64).exp())) / 3.0;
        assert!((m["eps_error"] - want).abs() < 1e-9);
    }

    #[test]
    fn per_label_mae_by_hand() {
        let bins = Bins::parse("0:20:10").unwrap();
        // True 0, 0, 20, 19 (nearest bin 20); expected 1, 3, 20, 17 → bin 0: |1|,|3| → 2; bin 20: 0, 2 → 1.
        let e = Tensor::from_slice(&[1.0f32, 3.0, 20.0, 17.0]);
        let y = Tensor::from_slice(&[0.0f32, 0.0, 20.0, 19.0]);
        let got = per_label_mae(&e, &y, &bins);
        assert_eq!(
            got,
            vec![
                LabelError { label: 0.0, count: 2, mae: 2.0 },
                LabelError { label: 20.0, count: 2, mae: 1.0 }
            ]
        );
    }

    #[test]
    fn average_precision_by_hand() {
        // Ranked: P, N, P, (difficult skipped), N → precisions at recall ½: 1, at recall 1: 2/3.
        let ap = average_precision(
            &[0.9, 0.8, 0.7, 0.65, 0.6],
            &[true, false, true, false, false],
            &[false, false, false, true, false],
        )
        .unwrap();
        assert!((ap - (0.5 * 1.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
        // A later, higher precision lifts the envelope: P N N P P → recalls ⅓,⅔,1 with precisions 1, ½, ⅗.
        let ap =
            average_precision(&[5., 4., 3., 2., 1.], &[true, false, false, true, true], &[false; 5]).unwrap();
        assert!((ap - (1.0 / 3.0 + 2.0 / 3.0 * 0.6)).abs() < 1e-12);
        assert!(average_precision(&[1.0], &[false], &[false]).is_none());
    }

    #[test]
    fn segmentation_metrics_by_hand() {
        let pred = Tensor::from_slice(&[0i64, 1, 1, 2]).reshape([1, 2, 2]);
        let truth = Tensor::from_slice(&[0i64, 1, 2, 255]).reshape([1, 2, 2]);
        let m = segmentation(&pred, &truth, 3);
        assert!((m["pixel_acc"] - 2.0 / 3.0).abs() < 1e-12);
        // IoU: class 0 = 1, class 1 = ½ (pred {1,2}, truth {1}), class 2 = 0 (pred none, truth {2}).
        assert!((m["miou"] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn pose_metrics_by_hand() {
        let y = Tensor::from_slice(&[0.0f32, 0.0, 10.0, 20.0]).reshape([2, 2]);
        let e = Tensor::from_slice(&[1.0f32, 2.0, 10.0, 18.0]).reshape([2, 2]);
        let m = pose(&e, &y, &y, &Tensor::from_slice(&[3i64, 4]), &Tensor::from_slice(&[3i64, 5]));
        assert!((m["mae_axis1"] - 0.5).abs() < 1e-9 && (m["mae_axis2"] - 2.0).abs() < 1e-9);
        assert!((m["mae"] - 1.25).abs() < 1e-9 && m["mae_argmax"] == 0.0 && m["accuracy"] == 0.5);
    }
}
