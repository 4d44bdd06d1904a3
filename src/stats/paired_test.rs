//! Paired comparisons that make a win, a loss or a tie defensible: the paired t-test, the Wilcoxon
//! signed-rank test, and an equivalence verdict by two one-sided t-tests (TOST) at a stated margin.
use super::{mean_sd, null_as_nan};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Significance level of every test here.
pub const ALPHA: f64 = 0.05;

/// Largest sample for which the Wilcoxon p-value is exact (as SciPy's `method="auto"`).
const WILCOXON_EXACT_MAX: usize = 50;

/// What a set of paired differences `method − baseline` says, for a metric where `lower` or higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The paired t-test rejects "no difference" and the method is ahead.
    Better,
    /// The paired t-test rejects "no difference" and the method is behind.
    Worse,
    /// No significant difference, and TOST shows the difference lies within ± margin.
    Equivalent,
    /// Neither a significant difference nor equivalence: more episodes are needed.
    Inconclusive,
    /// Fewer than two finite differences: nothing can be said.
    Failed,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Equivalent => "equivalent",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Failed => "failed",
        };
        f.write_str(word)
    }
}

/// The tests of one set of paired differences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedTest {
    /// Finite differences used.
    pub n: usize,
    #[serde(deserialize_with = "null_as_nan")]
    pub mean: f64,
    /// Half-width of the 95 % t confidence interval of the mean (t_{0.975, n−1} · sd / √n).
    #[serde(default, deserialize_with = "null_as_nan")]
    pub ci95: f64,
    /// Two-sided p-value of the paired t-test (H0: mean difference 0).
    #[serde(deserialize_with = "null_as_nan")]
    pub t_p: f64,
    /// Two-sided p-value of the Wilcoxon signed-rank test (zeros dropped).
    #[serde(deserialize_with = "null_as_nan")]
    pub wilcoxon_p: f64,
    /// The equivalence margin δ (in the metric's unit) and the TOST p-value (H0: |mean| ≥ δ).
    pub margin: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub tost_p: f64,
    pub verdict: Verdict,
}

/// A p-value as text: `p = 0.012` (three decimals), or `p < 0.001` below that.
pub fn p_value(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// Runs every test on the finite values of `differences` (method − baseline); `higher_is_better`
/// says which sign is a win; `margin` > 0 is the equivalence margin.
pub fn paired_test(differences: &[f64], margin: f64, higher_is_better: bool) -> PairedTest {
    let d: Vec<f64> = differences.iter().copied().filter(|v| v.is_finite()).collect();
    let n = d.len();
    let mean = mean_sd(&d).0;
    if n < 2 {
        return PairedTest {
            n,
            mean,
            ci95: f64::NAN,
            t_p: f64::NAN,
            wilcoxon_p: f64::NAN,
            margin,
            tost_p: f64::NAN,
            verdict: Verdict::Failed,
        };
    }
    let t_p = t_test_p(&d);
    let tost_p = tost_p(&d, margin);
    let verdict = if t_p < ALPHA {
        if (mean > 0.0) == higher_is_better {
            Verdict::Better
        } else {
            Verdict::Worse
        }
    } else if tost_p < ALPHA {
        Verdict::Equivalent
    } else {
        Verdict::Inconclusive
    };
    PairedTest { n, mean, ci95: t_half_width(&d), t_p, wilcoxon_p: wilcoxon_p(&d), margin, tost_p, verdict }
}

/// Half-width of the 95 % t confidence interval of the mean of the finite values of `differences`
/// (t_{0.975, n−1} · sd / √n); NaN with fewer than two.
pub fn t_half_width(differences: &[f64]) -> f64 {
    let d: Vec<f64> = differences.iter().copied().filter(|v| v.is_finite()).collect();
    if d.len() < 2 {
        return f64::NAN;
    }
    student(d.len()).inverse_cdf(0.975) * mean_se(&d).1
}

/// Mean and standard error of the mean (sample sd / √n) of at least two values.
fn mean_se(d: &[f64]) -> (f64, f64) {
    let (mean, sd) = mean_sd(d);
    (mean, sd / (d.len() as f64).sqrt())
}

/// Student's t with n − 1 degrees of freedom.
fn student(n: usize) -> StudentsT {
    StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("n >= 2 gives a valid Student t")
}

/// Two-sided p-value of the one-sample t-test of the mean against 0.
fn t_test_p(d: &[f64]) -> f64 {
    let (mean, se) = mean_se(d);
    if se == 0.0 {
        return if mean == 0.0 { 1.0 } else { 0.0 };
    }
    2.0 * student(d.len()).sf((mean / se).abs())
}

/// TOST p-value: the larger of the one-sided p-values of H0 mean ≤ −δ and H0 mean ≥ δ.
fn tost_p(d: &[f64], margin: f64) -> f64 {
    let (mean, se) = mean_se(d);
    if se == 0.0 {
        return if mean.abs() < margin { 0.0 } else { 1.0 };
    }
    let t = student(d.len());
    let above_lower = t.sf((mean + margin) / se);
    let below_upper = t.cdf((mean - margin) / se);
    above_lower.max(below_upper)
}

/// Two-sided p-value of the Wilcoxon signed-rank test: zeros dropped, average ranks for ties; up to
/// 50 pairs the exact sign-flip distribution of the rank sum (with the tied ranks as they are), above
/// that the normal approximation with the tie correction. This is SciPy's `wilcoxon` wherever SciPy
/// is exact (no ties, or at most 13 pairs); with ties and 14–50 pairs SciPy approximates instead.
fn wilcoxon_p(d: &[f64]) -> f64 {
    let nonzero: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return 1.0;
    }
    let magnitudes: Vec<f64> = nonzero.iter().map(|v| v.abs()).collect();
    let ranks = average_ranks(&magnitudes);
    let r_plus: f64 = nonzero.iter().zip(&ranks).filter(|(v, _)| **v > 0.0).map(|(_, r)| r).sum();
    if n <= WILCOXON_EXACT_MAX {
        // Average ranks are multiples of ½: count sign flips by twice the rank sum.
        let doubled: Vec<usize> = ranks.iter().map(|r| (2.0 * r).round() as usize).collect();
        let counts = sign_flip_counts(&doubled);
        let observed = (2.0 * r_plus).round() as usize;
        let at_most: f64 = counts[..=observed].iter().sum();
        let at_least: f64 = counts[observed..].iter().sum();
        return (2.0 * at_most.min(at_least) / 2f64.powi(n as i32)).min(1.0);
    }
    let ties: f64 = tie_sizes(&magnitudes).iter().map(|t| t * t * t - t).sum();
    let nf = n as f64;
    let se = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - ties / 48.0).sqrt();
    let z = (r_plus - nf * (nf + 1.0) / 4.0) / se;
    2.0 * Normal::new(0.0, 1.0).expect("standard normal").cdf(-z.abs())
}

/// For each total s, how many of the 2ⁿ sign patterns give the positive weights the sum s.
fn sign_flip_counts(weights: &[usize]) -> Vec<f64> {
    let max: usize = weights.iter().sum();
    let mut counts = vec![0.0; max + 1];
    counts[0] = 1.0;
    for &w in weights {
        for sum in (w..=max).rev() {
            counts[sum] += counts[sum - w];
        }
    }
    counts
}

/// Ranks 1..n of `values` (ascending), ties sharing their average rank.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
            end += 1;
        }
        let average = (start + end) as f64 / 2.0 + 1.0;
        for &i in &order[start..=end] {
            ranks[i] = average;
        }
        start = end + 1;
    }
    ranks
}

/// Sizes of the groups of equal values.
fn tie_sizes(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut sizes = vec![];
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].iter().take_while(|v| **v == sorted[i]).count();
        sizes.push(j as f64);
        i += j;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_below_a_thousandth_read_as_an_inequality() {
        assert_eq!(p_value(0.0123), "p = 0.012");
        assert_eq!(p_value(0.001), "p = 0.001");
        assert_eq!(p_value(0.000_2), "p < 0.001");
    }

    // Reference values from SciPy 1.17.1:
    //   from scipy import stats; import numpy as np
    //   t = stats.ttest_1samp(d, 0.0); w = stats.wilcoxon(d)
    //   lo = stats.ttest_1samp(d, -m, alternative='greater').pvalue
    //   hi = stats.ttest_1samp(d, m, alternative='less').pvalue; tost = max(lo, hi)   # m = 0.05
    // a t=-3.0175282390 p=0.0294998072 wilcoxon_p=0.0625000000 tost_p=0.9827546497
    // b t=0.3973597071 p=0.7029400235 wilcoxon_p=0.7812500000 tost_p=0.0000093933
    // c t=2.9162616584 p=0.0140309914 wilcoxon_p=0.0200195312 tost_p=0.9591750831
    // ties (d = [1,1,-2,3,3,3,4,-1,5,2])  wilcoxon_p=0.0312500000
    //   r = stats.ttest_1samp(d, 0.0).confidence_interval(0.95); (r.high - r.low) / 2
    // a ci95=0.9512696560   c ci95=0.1100645416
    // n60  (d = k·(−1 if k−1 ≡ 0 mod 3 else 1), k = 1..60)  wilcoxon_p=0.0167330716
    const A: [f64; 6] = [-1.0, -2.0, -2.0, -0.5, -1.5, 0.3];
    const B: [f64; 8] = [0.01, -0.02, 0.015, 0.0, -0.005, 0.02, -0.01, 0.005];
    const C: [f64; 12] = [0.4, -0.1, 0.25, 0.3, 0.1, -0.05, 0.2, 0.15, 0.35, 0.05, 0.22, -0.12];

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-8, "{a} vs {b}");
    }

    #[test]
    fn t_test_and_tost_match_scipy() {
        close(t_test_p(&A), 0.0294998072);
        close(t_test_p(&B), 0.7029400235);
        close(t_test_p(&C), 0.0140309914);
        close(tost_p(&A, 0.05), 0.9827546497);
        close(tost_p(&B, 0.05), 0.0000093933);
        close(tost_p(&C, 0.05), 0.9591750831);
        close(paired_test(&A, 0.05, false).ci95, 0.9512696560);
        close(paired_test(&C, 0.05, false).ci95, 0.1100645416);
    }

    #[test]
    fn wilcoxon_matches_scipy_exact_ties_and_normal() {
        close(wilcoxon_p(&A), 0.0625);
        close(wilcoxon_p(&B), 0.78125);
        close(wilcoxon_p(&C), 0.0200195312);
        close(wilcoxon_p(&[1.0, 1.0, -2.0, 3.0, 3.0, 3.0, 4.0, -1.0, 5.0, 2.0]), 0.03125);
        let n60: Vec<f64> = (1..=60).map(|k| if (k - 1) % 3 == 0 { -(k as f64) } else { k as f64 }).collect();
        close(wilcoxon_p(&n60), 0.0167330716);
    }

    #[test]
    fn sign_flip_counts_by_hand() {
        // weights 1, 2, 3: subsets by sum: 0:{} 1:{1} 2:{2} 3:{3},{1,2} 4:{1,3} 5:{2,3} 6:{1,2,3}.
        assert_eq!(sign_flip_counts(&[1, 2, 3]), vec![1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]);
        assert_eq!(average_ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn verdicts_follow_the_tests_and_the_direction() {
        // A: lower MAE with p = 0.029 → better when lower is better, worse when higher is better.
        assert_eq!(paired_test(&A, 0.05, false).verdict, Verdict::Better);
        assert_eq!(paired_test(&A, 0.05, true).verdict, Verdict::Worse);
        // B: no difference and |mean| well inside 0.05 → equivalent; inside 0.001 it is not shown.
        assert_eq!(paired_test(&B, 0.05, false).verdict, Verdict::Equivalent);
        assert_eq!(paired_test(&B, 0.001, false).verdict, Verdict::Inconclusive);
        let one = paired_test(&[0.3, f64::NAN], 0.05, false);
        assert_eq!((one.n, one.verdict), (1, Verdict::Failed));
        assert_eq!(one.verdict.to_string(), "failed");
    }
}
