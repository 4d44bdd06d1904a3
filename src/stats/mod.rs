//! The statistics every layer reports with: mean and sample sd, the 95 % mean interval over finite
//! values, paired differences, and the paired tests (t, Wilcoxon, TOST at a margin) with verdicts.
//!
//! Rooms: `mean_ci` (means and intervals), `paired_test` (paired tests and verdicts).
pub mod mean_ci;
pub mod paired_test;

pub use mean_ci::{mean_ci, mean_ci_text, paired_differences, MeanCi};
pub use paired_test::{p_value, paired_test, t_half_width, PairedTest, Verdict, ALPHA};
use serde::{Deserialize, Deserializer};

/// The equivalence margin when none is given: 0.05 in the headline metric's unit.
pub fn default_margin() -> f64 {
    0.05
}

/// Mean and sample standard deviation (0 for a single value; NaN for none).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Reads a number that JSON may hold as `null` (serde_json writes NaN and ±∞ as null) as NaN.
pub fn null_as_nan<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Option::<f64>::deserialize(d).map(|v| v.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_sd_by_hand() {
        let (m, s) = mean_sd(&[1.0, 2.0, 4.0]);
        assert!((m - 7.0 / 3.0).abs() < 1e-12);
        assert!((s - ((16.0 / 9.0 + 1.0 / 9.0 + 25.0 / 9.0) / 2.0f64).sqrt()).abs() < 1e-12);
        assert_eq!(mean_sd(&[3.0]), (3.0, 0.0));
    }
}
