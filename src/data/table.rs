//! A researcher's own feature table (`[dataset] kind = "csv"`): a header row, label column(s) and
//! feature columns, every value checked and a bad one named by file, line and column.
//!
//! Features are returned as written; the training split's statistics standardise them later
//! (`standardise`, on by default for tables), so no test row shapes the inputs.
use super::pool::Pool;
use crate::data::dataset::{Dataset, LoadReport};
use crate::domain::{LabelKind, Labels};
use crate::error::{Error, Result};
use std::path::PathBuf;
use tch::Tensor;

/// Which columns are the features.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureColumns {
    /// Every column that is not a label.
    Rest,
    /// These columns, in this order.
    Named(Vec<String>),
    /// Every column whose name starts with the prefix, in file order.
    Prefix(String),
}

/// Where the table is and how to read it.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub path: PathBuf,
    /// One column (ordinal), two (a 2-D label) or one per class (multi-label: 1, 0 or d).
    pub label: Vec<String>,
    pub features: FeatureColumns,
    pub delimiter: u8,
    /// A column naming each row's pool (`train`, `val`, `test`): the split follows it.
    pub split: Option<String>,
    /// Skip (and count) rows with a missing or non-finite value instead of failing.
    pub skip_corrupt: bool,
    pub kind: LabelKind,
}

/// The column positions of labels and features in the header.
struct Layout {
    label: Vec<usize>,
    features: Vec<usize>,
    split: Option<usize>,
    width: usize,
}

/// Reads the table: `[N, F]` f32 features and the labels of `spec.kind`.
pub fn load(spec: &TableSpec) -> Result<Dataset> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .trim(csv::Trim::All)
        .has_headers(true)
        .flexible(true)
        .from_path(&spec.path)
        .map_err(|e| Error::data(&spec.path, format!("cannot open the table: {e}")))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::data(&spec.path, format!("line 1 (the header): {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let layout = layout(spec, &header)?;
    let (mut features, mut labels, mut skipped, mut pools) = (vec![], vec![], vec![], vec![]);
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| Error::data(&spec.path, format!("line {line}: {e}")))?;
        match parse_row(spec, &header, &layout, &record) {
            Ok(row) => {
                features.extend(row.features);
                labels.extend(row.labels);
                pools.extend(row.pool);
            }
            Err(rule) if spec.skip_corrupt => skipped.push(format!("line {line}: {rule}")),
            Err(rule) => {
                return Err(Error::data(
                    &spec.path,
                    format!(
                        "line {line}: {rule} (or set skip_corrupt = true in [dataset] to skip such rows)"
                    ),
                ))
            }
        }
    }
    let rows = labels.len() / layout.label.len().max(1);
    if rows == 0 {
        return Err(Error::data(&spec.path, format!("no usable rows ({} skipped)", skipped.len())));
    }
    let inputs = Tensor::from_slice(&features).view([rows as i64, layout.features.len() as i64]);
    let labels = match spec.kind {
        LabelKind::Ordinal => Labels::Ordinal(Tensor::from_slice(&labels)),
        LabelKind::Pose => Labels::Pose(Tensor::from_slice(&labels).view([-1, 2])),
        LabelKind::Distribution => {
            Labels::Distribution(Tensor::from_slice(&labels).view([rows as i64, layout.label.len() as i64]))
        }
        _ => Labels::MultiLabel(
            Tensor::from_slice(&labels.iter().map(|v| *v as i64).collect::<Vec<_>>())
                .view([rows as i64, layout.label.len() as i64]),
        ),
    };
    let report = LoadReport { unparsed: Vec::new(), skipped };
    let mut dataset =
        Dataset::new("csv", inputs, labels, spec.path.display().to_string())?.with_report(report);
    if layout.split.is_some() {
        dataset.given_pools = Some(pools);
    }
    Ok(dataset)
}

/// Finds the label and feature columns in the header; a missing or doubled name is an error.
fn layout(spec: &TableSpec, header: &[String]) -> Result<Layout> {
    let find = |name: &str, role: &str| {
        let hits: Vec<usize> = (0..header.len()).filter(|&i| header[i] == name).collect();
        match hits.as_slice() {
            [i] => Ok(*i),
            [] => Err(Error::data(
                &spec.path,
                format!("the header has no {role} column `{name}`; it has: {}", header.join(", ")),
            )),
            _ => {
                Err(Error::data(&spec.path, format!("the header names column `{name}` {} times", hits.len())))
            }
        }
    };
    let want = match spec.kind {
        LabelKind::Ordinal => Some(1),
        LabelKind::Pose => Some(2),
        _ => None,
    };
    if want.is_some_and(|n| n != spec.label.len()) || spec.label.is_empty() {
        return Err(Error::invalid(
            "dataset.label",
            format!("{:?}", spec.label),
            format!("this task's labels need {} column(s)", want.unwrap_or(1)),
        ));
    }
    let label = spec.label.iter().map(|n| find(n, "label")).collect::<Result<Vec<_>>>()?;
    let split = spec.split.as_deref().map(|n| find(n, "split")).transpose()?;
    let features: Vec<usize> = match &spec.features {
        FeatureColumns::Rest => {
            (0..header.len()).filter(|i| !label.contains(i) && split != Some(*i)).collect()
        }
        FeatureColumns::Named(names) => names.iter().map(|n| find(n, "feature")).collect::<Result<_>>()?,
        FeatureColumns::Prefix(p) => {
            (0..header.len()).filter(|&i| header[i].starts_with(p.as_str())).collect()
        }
    };
    if let Some(both) = features.iter().find(|i| label.contains(i) || split == Some(**i)) {
        return Err(Error::data(
            &spec.path,
            format!("column `{}` is a feature and also the label or the split", header[*both]),
        ));
    }
    if features.is_empty() {
        return Err(Error::data(&spec.path, "no feature columns (check dataset.features or feature_prefix)"));
    }
    Ok(Layout { label, features, split, width: header.len() })
}

/// One row of the table as read.
struct Row {
    features: Vec<f32>,
    labels: Vec<f32>,
    pool: Option<Pool>,
}

/// One row's features, label values and pool, or the rule it breaks (naming the column).
fn parse_row(
    spec: &TableSpec,
    header: &[String],
    layout: &Layout,
    record: &csv::StringRecord,
) -> std::result::Result<Row, String> {
    if record.len() != layout.width {
        return Err(format!("{} fields, the header has {}", record.len(), layout.width));
    }
    let number = |i: usize| -> std::result::Result<f32, String> {
        let text = &record[i];
        let value: f64 = text.parse().map_err(|_| match text {
            "" => format!("column `{}` is empty", header[i]),
            _ => format!("column `{}`: `{text}` is not a number", header[i]),
        })?;
        if !value.is_finite() || !(value as f32).is_finite() {
            return Err(format!("column `{}`: {text} is not finite", header[i]));
        }
        Ok(value as f32)
    };
    let features = layout.features.iter().map(|&i| number(i)).collect::<std::result::Result<_, _>>()?;
    let labels: std::result::Result<Vec<f32>, String> = match spec.kind {
        LabelKind::MultiLabel => layout.label.iter().map(|&i| state(&record[i], &header[i])).collect(),
        LabelKind::Distribution => layout
            .label
            .iter()
            .map(|&i| number(i))
            .collect::<std::result::Result<Vec<f32>, String>>()
            .and_then(|row| {
                given_distribution(row, &layout.label.iter().map(|&i| header[i].as_str()).collect::<Vec<_>>())
            }),
        _ => layout.label.iter().map(|&i| number(i)).collect(),
    };
    let pool =
        match layout.split {
            None => None,
            Some(i) => Some(Pool::ALL.into_iter().find(|p| p.name() == &record[i]).ok_or_else(|| {
                format!("column `{}`: `{}` must be train, val or test", header[i], &record[i])
            })?),
        };
    Ok(Row { features, labels: labels?, pool })
}

/// How far from 1 the values of a given distribution may sum (they are then rescaled to sum to 1).
pub const DISTRIBUTION_TOLERANCE: f64 = 1e-3;

/// A given label distribution `row` (over the columns `names`) rescaled to sum to 1, or the rule it
/// breaks: a negative value, or a sum farther than [`DISTRIBUTION_TOLERANCE`] from 1.
pub fn given_distribution(row: Vec<f32>, names: &[&str]) -> std::result::Result<Vec<f32>, String> {
    if let Some(i) = row.iter().position(|v| *v < 0.0) {
        return Err(format!(
            "column `{}`: {} is negative (a distribution's values are ≥ 0)",
            names[i], row[i]
        ));
    }
    let sum: f64 = row.iter().map(|v| *v as f64).sum();
    if (sum - 1.0).abs() > DISTRIBUTION_TOLERANCE {
        return Err(format!(
            "columns `{}` … `{}` sum to {sum}, not 1 (tolerance {DISTRIBUTION_TOLERANCE})",
            names[0],
            names[names.len() - 1]
        ));
    }
    Ok(row.into_iter().map(|v| (v as f64 / sum) as f32).collect())
}

/// The cell of a multi-label state (2 positive, 1 difficult, 0 negative), as [`state`] reads it.
pub fn state_cell(state: i64) -> &'static str {
    match state {
        2 => "1",
        1 => "d",
        _ => "0",
    }
}

/// A multi-label cell: `1` positive (2), `d` difficult (1), `0` negative (0).
fn state(text: &str, column: &str) -> std::result::Result<f32, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" => Ok(2.0),
        "d" | "difficult" => Ok(1.0),
        "0" => Ok(0.0),
        _ => Err(format!("column `{column}`: `{text}` must be 1 (positive), d (difficult) or 0 (negative)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        text: &str,
        label: &[&str],
        features: FeatureColumns,
        kind: LabelKind,
    ) -> (tempfile::TempDir, TableSpec) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let spec = TableSpec {
            path,
            label: label.iter().map(|s| s.to_string()).collect(),
            features,
            delimiter: b',',
            split: None,
            skip_corrupt: false,
            kind,
        };
        (dir, spec)
    }

    #[test]
    fn reads_features_and_labels_by_name() {
        let text = "id,f1,age,f2\n1,0.5,30,2\n2,-1,41,4e1\n";
        let (_d, s) =
            spec(text, &["age"], FeatureColumns::Named(vec!["f2".into(), "f1".into()]), LabelKind::Ordinal);
        let d = load(&s).unwrap();
        assert_eq!(Vec::<f32>::try_from(d.inputs.view([-1])).unwrap(), vec![2.0, 0.5, 40.0, -1.0]);
        let Labels::Ordinal(y) = &d.labels else { panic!() };
        assert_eq!(Vec::<f32>::try_from(y).unwrap(), vec![30.0, 41.0]);
        // The rest: id, f1, f2; a prefix: f1, f2 in file order.
        let (_d, s) = spec(text, &["age"], FeatureColumns::Rest, LabelKind::Ordinal);
        assert_eq!(load(&s).unwrap().inputs.size(), vec![2, 3]);
        let (_d, s) = spec(text, &["age"], FeatureColumns::Prefix("f".into()), LabelKind::Ordinal);
        assert_eq!(
            Vec::<f32>::try_from(load(&s).unwrap().inputs.view([-1])).unwrap(),
            vec![0.5, 2.0, -1.0, 40.0]
        );
    }

    #[test]
    fn pose_and_multilabel_columns() {
        let (_d, s) = spec("a,b,x\n10,20,1\n", &["a", "b"], FeatureColumns::Rest, LabelKind::Pose);
        let Labels::Pose(y) = load(&s).unwrap().labels else { panic!() };
        assert_eq!(y.size(), vec![1, 2]);
        let (_d, s) = spec(
            "cat,dog,x\n1,d,0.3\n0,1,0.1\n",
            &["cat", "dog"],
            FeatureColumns::Rest,
            LabelKind::MultiLabel,
        );
        let Labels::MultiLabel(y) = load(&s).unwrap().labels else { panic!() };
        assert_eq!(Vec::<i64>::try_from(y.view([-1])).unwrap(), vec![2, 1, 0, 2]);
    }

    /// Given distributions: read per row, rescaled to sum to 1 (within the tolerance), and every
    /// row that is not a distribution refused by line and columns.
    #[test]
    fn given_distribution_columns() {
        let text = "a,b,c,x\n0.5,0.25,0.25,1\n0.2,0.3,0.5005,2\n";
        let (_d, s) = spec(text, &["a", "b", "c"], FeatureColumns::Rest, LabelKind::Distribution);
        let d = load(&s).unwrap();
        let Labels::Distribution(p) = &d.labels else { panic!("a distribution") };
        let p = Vec::<f32>::try_from(p.view([-1])).unwrap();
        assert_eq!(&p[..3], &[0.5, 0.25, 0.25]);
        let second: f32 = p[3..].iter().sum();
        assert!((second - 1.0).abs() < 1e-6 && (p[5] - 0.5005 / 1.0005).abs() < 1e-6, "{p:?}");
        assert_eq!(Vec::<f32>::try_from(d.inputs.view([-1])).unwrap(), vec![1.0, 2.0]);
        for (text, needle) in [
            ("a,b,x\n0.5,0.6,1\n", "line 2: columns `a` … `b` sum to 1.1"),
            ("a,b,x\n1.5,-0.5,1\n", "line 2: column `b`: -0.5 is negative"),
            ("a,b,x\n0.5,,1\n", "line 2: column `b` is empty"),
        ] {
            let (_d, s) = spec(text, &["a", "b"], FeatureColumns::Rest, LabelKind::Distribution);
            let err = load(&s).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn every_bad_value_names_the_line_and_column() {
        let cases = [
            ("f,age\n1,2\n,3\n", "line 3: column `f` is empty"),
            ("f,age\n1,2\nx,3\n", "line 3: column `f`: `x` is not a number"),
            ("f,age\nnan,2\n", "line 2: column `f`: nan is not finite"),
            ("f,age\ninf,2\n", "line 2: column `f`: inf is not finite"),
            ("f,age\n1e39,2\n", "line 2: column `f`: 1e39 is not finite"),
            ("f,age\n1,2,3\n", "line 2: 3 fields, the header has 2"),
            ("f,years\n1,2\n", "the header has no label column `age`; it has: f, years"),
            ("f,age,age\n1,2,3\n", "names column `age` 2 times"),
            ("age\n1\n", "no feature columns"),
        ];
        for (text, needle) in cases {
            let (_d, s) = spec(text, &["age"], FeatureColumns::Rest, LabelKind::Ordinal);
            let err = load(&s).err().unwrap_or_else(|| panic!("{needle}: accepted")).to_string();
            assert!(err.contains("t.csv") && err.contains(needle), "{needle}: {err}");
        }
        let (_d, s) = spec("cat,x\n2,1\n", &["cat"], FeatureColumns::Rest, LabelKind::MultiLabel);
        assert!(load(&s).unwrap_err().to_string().contains("column `cat`: `2` must be 1 (positive)"));
        let (_d, s) = spec("f,age\n1,2\n", &["age"], FeatureColumns::Rest, LabelKind::Pose);
        assert!(load(&s).unwrap_err().to_string().contains("need 2 column(s)"));
    }

    #[test]
    fn skip_corrupt_counts_the_bad_rows() {
        let (_d, mut s) =
            spec("f,age\n1,2\nx,3\n4,\n5,6\n", &["age"], FeatureColumns::Rest, LabelKind::Ordinal);
        s.skip_corrupt = true;
        let d = load(&s).unwrap();
        assert_eq!(d.inputs.size(), vec![2, 1]);
        assert_eq!(d.report.skipped.len(), 2);
        assert!(d.report.skipped[0].starts_with("line 3"), "{:?}", d.report.skipped);
    }

    #[test]
    fn a_split_column_names_each_rows_pool() {
        let text = "f,age,pool\n1,2,train\n2,3,val\n3,4,test\n4,5,train\n";
        let (_d, mut s) = spec(text, &["age"], FeatureColumns::Rest, LabelKind::Ordinal);
        s.split = Some("pool".into());
        let d = load(&s).unwrap();
        assert_eq!(d.inputs.size(), vec![4, 1], "the split column is no feature");
        assert_eq!(d.given_pools, Some(vec![Pool::Train, Pool::Val, Pool::Test, Pool::Train]));
        let fractions = crate::config::SplitSpec { train: 0.1, val: 0.1, test: 0.8, seed: 3 };
        let split = crate::data::Split::new(&d, &fractions).unwrap();
        assert_eq!(
            (split.train.clone(), split.val.clone(), split.test.clone()),
            (vec![0, 3], vec![1], vec![2])
        );
        std::fs::write(&s.path, "f,age,pool\n1,2,training\n").unwrap();
        let err = load(&s).unwrap_err().to_string();
        assert!(err.contains("line 2: column `pool`: `training` must be train, val or test"), "{err}");
    }

    #[test]
    fn another_delimiter() {
        let (_d, mut s) = spec("f;age\n1,5;2\n", &["age"], FeatureColumns::Rest, LabelKind::Ordinal);
        s.delimiter = b';';
        assert!(load(&s).is_err(), "1,5 is not a number");
        std::fs::write(&s.path, "f;age\n1.5;2\n").unwrap();
        assert_eq!(Vec::<f32>::try_from(load(&s).unwrap().inputs.view([-1])).unwrap(), vec![1.5]);
    }
}
