//! Mean ± 95 % confidence half-width (1.96·sd/√n, sample sd) and paired differences of two methods
//! on the same episodes; non-finite values (failed members) are left out and counted.
use super::{mean_sd, null_as_nan};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Mean, sample standard deviation and 95 % CI half-width of `n` finite values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    pub n: usize,
    #[serde(deserialize_with = "null_as_nan")]
    pub mean: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub sd: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub ci95: f64,
}

impl MeanCi {
    /// Whether the interval mean ± ci95 leaves out zero.
    pub fn excludes_zero(&self) -> bool {
        self.n > 1 && self.mean.is_finite() && self.ci95.is_finite() && self.mean.abs() > self.ci95
    }
}

/// `mean ± ci95` to `decimals` as a table cell, from `n` finite values: `failed` without a finite
/// mean, `± n/a (1 episode)` where fewer than two values give no spread.
pub fn mean_ci_text(mean: f64, ci95: f64, n: usize, decimals: usize) -> String {
    if n == 0 || !mean.is_finite() {
        "failed".into()
    } else if n == 1 || !ci95.is_finite() {
        format!("{mean:.decimals$} ± n/a (1 episode)")
    } else {
        format!("{mean:.decimals$} ± {ci95:.decimals$}")
    }
}

/// Mean ± 1.96·sd/√n over the finite values (sd is the sample sd; NaN when none are finite).
pub fn mean_ci(values: &[f64]) -> MeanCi {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (mean, sd) = mean_sd(&finite);
    let n = finite.len();
    let ci95 = if n == 0 { f64::NAN } else { 1.96 * sd / (n as f64).sqrt() };
    MeanCi { n, mean, sd, ci95 }
}

/// Differences `a[k] − b[k]` over the keys both hold with finite values, in key order.
pub fn paired_differences<K: Ord>(a: &BTreeMap<K, f64>, b: &BTreeMap<K, f64>) -> Vec<f64> {
    a.iter().filter_map(|(k, x)| b.get(k).map(|y| x - y)).filter(|d| d.is_finite()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_by_hand() {
        // 2, 4, 6, 8: mean 5, sample variance (9+1+1+9)/3 = 20/3, ci = 1.96·sqrt(20/3)/2.
        let s = mean_ci(&[2.0, 4.0, 6.0, 8.0]);
        assert_eq!(s.n, 4);
        assert!((s.mean - 5.0).abs() < 1e-12);
        assert!((s.sd - (20.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((s.ci95 - 1.96 * 2.581_988_897_471_611 / 2.0).abs() < 1e-9, "{}", s.ci95);
        let with_nan = mean_ci(&[2.0, f64::NAN, 4.0, 6.0, 8.0]);
        assert_eq!(with_nan, s, "a failed member is left out");
        assert_eq!(mean_ci(&[3.0]).ci95, 0.0);
        assert!(mean_ci(&[]).mean.is_nan());
    }

    #[test]
    fn paired_differences_by_hand() {
        let a: BTreeMap<u64, f64> = [(0, 10.0), (1, 12.0), (2, 9.0), (3, f64::NAN), (5, 1.0)].into();
        let b: BTreeMap<u64, f64> = [(0, 11.0), (1, 11.0), (2, 11.0), (3, 4.0), (4, 7.0)].into();
        let d = paired_differences(&a, &b);
        assert_eq!(d, vec![-1.0, 1.0, -2.0], "only episodes both finished, in episode order");
        let s = mean_ci(&d);
        // mean −2/3; deviations −1/3, 5/3, −4/3 → var (1+25+16)/9/2 = 7/3.
        assert!((s.mean + 2.0 / 3.0).abs() < 1e-12);
        assert!((s.ci95 - 1.96 * (7.0f64 / 3.0).sqrt() / 3f64.sqrt()).abs() < 1e-12);
        assert!(!s.excludes_zero());
        let sure = mean_ci(&[-1.0, -1.1, -0.9, -1.0]);
        assert!(sure.excludes_zero());
    }
}
