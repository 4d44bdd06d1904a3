//! Red wine quality (crate `linfa-datasets`, feature `winequality`, compiled in): 1,599 wines, 11 features.
//! The label is the sensory quality score (3–8), an ordinal label.
use super::dataset::{Dataset, Labels};
use super::tabular::standardise;
use crate::error::Result;
use tch::Tensor;

/// Where the source came from.
pub const SOURCE: &str = "crate linfa-datasets 0.8 (winequality-red)";

/// Load the red wines: `[1599, 11]` standardised features, quality scores.
pub fn load() -> Result<Dataset> {
    let data = linfa_datasets::winequality();
    let width = data.records.ncols();
    let values: Vec<f64> = data.records.iter().copied().collect();
    let rows: Vec<Vec<f64>> = values.chunks(width).map(<[f64]>::to_vec).collect();
    let quality: Vec<f32> = data.targets.iter().map(|&q| q as f32).collect();
    Dataset::new("wine", standardise(&rows, "wine")?, Labels::Ordinal(Tensor::from_slice(&quality)), SOURCE)
}

#[cfg(test)]
mod tests {
    #[test]
    fn red_wine_has_1599_rows_and_scores_3_to_8() {
        let d = super::load().unwrap();
        assert_eq!(d.inputs.size(), vec![1599, 11]);
        assert_eq!(d.label_range(), Some((3.0, 8.0)));
    }
}
