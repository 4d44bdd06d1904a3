//! Red wine quality (crate `linfa-datasets`, feature `winequality`, compiled in): 1,599 wines, 11 features.
//! The label is the sensory quality score (3–8), an ordinal label; also written out as a CSV example.
use super::tabular::rows_tensor;
use crate::data::dataset::Dataset;
use crate::domain::Labels;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// Where the source came from.
pub const SOURCE: &str = "crate linfa-datasets 0.8 (winequality-red)";

/// The header of the quality column in [`write_csv`]'s table.
pub const QUALITY_COLUMN: &str = "quality";

/// The wines' features as written (standardised later by the training split), quality scores, and
/// the feature names.
fn rows() -> (Vec<Vec<f64>>, Vec<f32>, Vec<String>) {
    let data = linfa_datasets::winequality();
    let width = data.records.ncols();
    let values: Vec<f64> = data.records.iter().copied().collect();
    let rows = values.chunks(width).map(<[f64]>::to_vec).collect();
    let quality = data.targets.iter().map(|&q| q as f32).collect();
    (rows, quality, data.feature_names().to_vec())
}

/// Load the red wines: `[1599, 11]` features, quality scores.
pub fn load() -> Result<Dataset> {
    let (rows, quality, _) = rows();
    Dataset::new("wine", rows_tensor(&rows, "wine")?, Labels::Ordinal(Tensor::from_slice(&quality)), SOURCE)
}

/// Writes the wines as a CSV table (a header of the feature names and `quality`, every value in
/// full precision) into `dir`, the example a `kind = "csv"` task reads; returns its path.
pub fn write_csv(dir: &Path) -> Result<PathBuf> {
    let (rows, quality, names) = rows();
    let path = dir.join("quality-wine.csv");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut text = names.iter().map(|n| n.replace(' ', "_")).collect::<Vec<_>>().join(",");
    text.push_str(&format!(",{QUALITY_COLUMN}\n"));
    for (row, q) in rows.iter().zip(&quality) {
        let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        text.push_str(&format!("{},{q}\n", values.join(",")));
    }
    let tmp = path.with_extension("csv.partial");
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    Ok(path)
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
