//! The six LDL measures between predicted and target distributions (Geng's evaluation set):
//! distances Chebyshev, Clark, Canberra, KL (lower is better); similarities Cosine, Intersection.
use super::validate;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Mean of each measure over the samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LdlMeasures {
    pub chebyshev: f64,
    pub clark: f64,
    pub canberra: f64,
    pub kl: f64,
    pub cosine: f64,
    pub intersection: f64,
}

/// The six measures for predictions `q` and targets `p`, both `[N, C]`, averaged over N.
/// Terms with `p_j + q_j = 0` count as 0; KL treats `0 · ln 0` as 0.
pub fn ldl_measures(q: &Tensor, p: &Tensor) -> Result<LdlMeasures> {
    validate::dims("predicted distributions", q, 2)?;
    if q.size() != p.size() {
        return Err(Error::shape(
            "ldl measures",
            format!("predicted {:?} vs target {:?}", q.size(), p.size()),
        ));
    }
    let q = q.detach().to_kind(Kind::Double);
    let p = p.detach().to_kind(Kind::Double);
    let tiny = f64::MIN_POSITIVE;
    let diff = &p - &q;
    let sum = (&p + &q).clamp_min(tiny);
    let per_row = |t: Tensor| t.sum_dim_intlist(1, false, Kind::Double);
    let mean = |t: Tensor| t.mean(Kind::Double).double_value(&[]);
    let chebyshev = diff.abs().amax([1], false);
    let clark = per_row((&diff / &sum).square()).sqrt();
    let canberra = per_row(diff.abs() / &sum);
    let kl = per_row(&p * (p.clamp_min(tiny).log() - q.clamp_min(tiny).log()));
    let norms = per_row(p.square()).sqrt() * per_row(q.square()).sqrt();
    let cosine = per_row(&p * &q) / norms.clamp_min(tiny);
    let intersection = per_row(p.minimum(&q));
    Ok(LdlMeasures {
        chebyshev: mean(chebyshev),
        clark: mean(clark),
        canberra: mean(canberra),
        kl: mean(kl),
        cosine: mean(cosine),
        intersection: mean(intersection),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_hand_computed_values() {
        let p = Tensor::from_slice(&[0.5f64, 0.5, 0.0]).reshape([1, 3]);
        let q = Tensor::from_slice(&[0.25f64, 0.5, 0.25]).reshape([1, 3]);
        let m = ldl_measures(&q, &p).unwrap();
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        close(m.chebyshev, 0.25);
        // Clark: sqrt((0.25/0.75)² + 0 + (0.25/0.25)²).
        close(m.clark, ((1.0f64 / 3.0).powi(2) + 1.0).sqrt());
        close(m.canberra, 0.25 / 0.75 + 1.0);
        close(m.kl, 0.5 * 2f64.ln());
        close(m.cosine, 0.375 / ((0.5f64).sqrt() * (0.375f64).sqrt()));
        close(m.intersection, 0.75);
    }

    #[test]
    fn identical_distributions_are_perfect() {
        let p = Tensor::from_slice(&[0.1f64, 0.0, 0.9, 0.3, 0.3, 0.4]).reshape([2, 3]);
        let m = ldl_measures(&p, &p).unwrap();
        assert!(
            m.chebyshev.abs() < 1e-15
                && m.clark.abs() < 1e-15
                && m.canberra.abs() < 1e-15
                && m.kl.abs() < 1e-15
        );
        assert!((m.cosine - 1.0).abs() < 1e-12 && (m.intersection - 1.0).abs() < 1e-12);
    }
}
