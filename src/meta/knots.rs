//! σ(l) on a few knots: a study's `knots` (label values) carry the learned σs, and every bin's σ is
//! their piecewise-linear interpolation in the label (constant beyond the first and last knot).
use crate::label::Bins;
use tch::Tensor;

/// The knots of a σ(l) study and each bin's interpolation weights on them.
#[derive(Debug, Clone, PartialEq)]
pub struct Knots {
    labels: Vec<f64>,
    bins: Bins,
    /// Per bin, one weight per knot (at most two non-zero, summing to 1).
    weights: Vec<Vec<f64>>,
}

impl Knots {
    /// Knots at `labels` for the bins `bins`: at least two, finite, strictly increasing, each within
    /// the bins' range; else the rule broken.
    pub fn new(labels: &[f64], bins: &Bins) -> std::result::Result<Self, String> {
        let values = bins.values();
        let (first, last) = (values[0], values[values.len() - 1]);
        if labels.len() < 2 {
            return Err(format!("{labels:?}: give at least two knots (label values)"));
        }
        if let Some(k) = labels.iter().find(|k| !k.is_finite() || **k < first || **k > last) {
            return Err(format!("{labels:?}: knot {k} lies outside the label domain [{first}, {last}]"));
        }
        if let Some(pair) = labels.windows(2).find(|w| w[1] <= w[0]) {
            return Err(format!("{labels:?}: knots must increase strictly ({} then {})", pair[0], pair[1]));
        }
        let weights = values.iter().map(|v| weights_at(labels, *v)).collect();
        Ok(Knots { labels: labels.to_vec(), bins: bins.clone(), weights })
    }

    /// The knots' label values.
    pub fn labels(&self) -> &[f64] {
        &self.labels
    }

    /// Per-bin σ from the σs at the knots.
    pub fn expand(&self, at_knots: &[f64]) -> Vec<f64> {
        self.weights.iter().map(|w| w.iter().zip(at_knots).map(|(w, s)| w * s).sum()).collect()
    }

    /// [`Knots::expand`] of a `[K]` tensor, differentiable in it (`[bins]`).
    pub fn expand_tensor(&self, at_knots: &Tensor) -> Tensor {
        let flat: Vec<f64> = self.weights.iter().flatten().copied().collect();
        let w = Tensor::from_slice(&flat).reshape([self.weights.len() as i64, self.labels.len() as i64]);
        w.to_kind(at_knots.kind()).to_device(at_knots.device()).matmul(at_knots)
    }

    /// The values of a per-bin σ at the knots (each knot reads the bin nearest to it).
    pub fn sample(&self, per_bin: &[f64]) -> Vec<f64> {
        // Knots lie inside the bins (checked in `new`), so each has a nearest bin.
        self.labels
            .iter()
            .map(|k| self.bins.bin_of(*k).ok().and_then(|i| per_bin.get(i).copied()).unwrap_or(f64::NAN))
            .collect()
    }
}

/// The interpolation weights of label `v` on `knots`.
fn weights_at(knots: &[f64], v: f64) -> Vec<f64> {
    let mut w = vec![0.0; knots.len()];
    let last = knots.len() - 1;
    if v <= knots[0] {
        w[0] = 1.0;
    } else if v >= knots[last] {
        w[last] = 1.0;
    } else {
        let j = knots.windows(2).position(|k| v >= k[0] && v < k[1]).unwrap_or(0);
        let t = (v - knots[j]) / (knots[j + 1] - knots[j]);
        (w[j], w[j + 1]) = (1.0 - t, t);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_interpolate_linearly_between_knots_and_hold_beyond_them() {
        let bins = Bins::parse("0:10").unwrap();
        let knots = Knots::new(&[2.0, 6.0, 10.0], &bins).unwrap();
        // By hand: bins 0..2 hold 1; 2→6 rises 1→3 by 0.5 a bin; 6→10 falls 3→2 by 0.25 a bin.
        let sigma = knots.expand(&[1.0, 3.0, 2.0]);
        let hand = [1.0, 1.0, 1.0, 1.5, 2.0, 2.5, 3.0, 2.75, 2.5, 2.25, 2.0];
        assert!(sigma.iter().zip(hand).all(|(a, b)| (a - b).abs() < 1e-12), "{sigma:?}");
        let t = knots.expand_tensor(&Tensor::from_slice(&[1.0, 3.0, 2.0]).set_requires_grad(true));
        assert_eq!(Vec::<f64>::try_from(&t.detach()).unwrap(), sigma);
        // d σ(bin 7) / d σ_knots = its weights (0, 0.75, 0.25).
        let at = Tensor::from_slice(&[1.0, 3.0, 2.0]).set_requires_grad(true);
        let g = Tensor::run_backward(&[knots.expand_tensor(&at).get(7)], &[&at], false, false);
        assert_eq!(Vec::<f64>::try_from(&g[0]).unwrap(), vec![0.0, 0.75, 0.25]);
        assert_eq!(knots.sample(&hand), vec![1.0, 3.0, 2.0]);
    }

    #[test]
    fn knots_out_of_order_outside_the_domain_or_too_few_are_refused() {
        let bins = Bins::parse("0:10").unwrap();
        for (knots, needle) in [
            (vec![2.0, 2.0, 5.0], "must increase strictly (2 then 2)"),
            (vec![5.0, 3.0], "must increase strictly (5 then 3)"),
            (vec![-1.0, 5.0], "knot -1 lies outside the label domain [0, 10]"),
            (vec![1.0, 11.0], "knot 11 lies outside"),
            (vec![f64::NAN, 5.0], "knot NaN lies outside"),
            (vec![4.0], "at least two knots"),
        ] {
            let e = Knots::new(&knots, &bins).unwrap_err();
            assert!(e.contains(needle), "{knots:?}: {e}");
        }
    }
}
