//! Distances between the C labels of a multi-label set, for the Gaussian-mixture family: index
//! distance, Jaccard distance of label co-occurrence in training labels, or a C×C CSV file, validated.
use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// The most labels a distance matrix may have: it holds C² values (800 MB in f64 at the limit),
/// and the mixture's kernel as many again.
pub const MAX_DISTANCE_CLASSES: i64 = 10_000;

/// Which distance the mixture uses, as written in a spec (`distance=cooccurrence`) or a task file.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum DistanceSpec {
    /// `|i − j|`: for ordered label sets only.
    #[default]
    Index,
    /// `1 − n_ij / (n_i + n_j − n_ij)` (Jaccard) over the training pool, a label counting as present
    /// when it is Positive or Difficult.
    Cooccurrence,
    /// A C×C CSV file (a path ending in `.csv`).
    File(PathBuf),
}

impl DistanceSpec {
    /// The default (index distance), which specs leave unwritten.
    pub fn is_index(&self) -> bool {
        *self == DistanceSpec::Index
    }

    /// The written form: `index`, `cooccurrence` or the file's path.
    pub fn name(&self) -> String {
        match self {
            DistanceSpec::Index => "index".into(),
            DistanceSpec::Cooccurrence => "cooccurrence".into(),
            DistanceSpec::File(path) => path.display().to_string(),
        }
    }

    /// Parses the written form; anything else is an error that lists the choices.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim() {
            "index" => Ok(DistanceSpec::Index),
            "cooccurrence" => Ok(DistanceSpec::Cooccurrence),
            path if path.to_ascii_lowercase().ends_with(".csv") => {
                Ok(DistanceSpec::File(PathBuf::from(path)))
            }
            other => Err(Error::invalid(
                "distance",
                other,
                "must be index, cooccurrence or the path of a C×C .csv file",
            )),
        }
    }
}

impl Serialize for DistanceSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for DistanceSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DistanceSpec::parse(&text).map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

/// A note when `line` looks separated by something other than commas (semicolons, tabs, spaces).
fn other_separator(line: &str) -> &'static str {
    if line.contains(';') {
        " (this line looks separated by semicolons)"
    } else if line.contains('\t') {
        " (this line looks separated by tabs)"
    } else if line.split_whitespace().count() > line.split(',').count() {
        " (this line looks separated by spaces)"
    } else {
        ""
    }
}

/// Distances `D_ij` between C labels: finite, non-negative, symmetric, zero on the diagonal.
/// The values are plain data (shared, thread-safe); [`LabelDistance::matrix`] makes the tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelDistance {
    values: Arc<Vec<f64>>,
    classes: i64,
}

fn check_classes(classes: i64) -> Result<()> {
    if !(1..=MAX_DISTANCE_CLASSES).contains(&classes) {
        let rule = format!("must lie in 1..={MAX_DISTANCE_CLASSES} for the mixture family (its distance matrix holds classes² values)");
        return Err(Error::invalid("classes", classes, rule));
    }
    Ok(())
}

impl LabelDistance {
    /// Index distance `|i − j|`, for 1 to [`MAX_DISTANCE_CLASSES`] classes.
    pub fn index(classes: i64) -> Result<Self> {
        check_classes(classes)?;
        let c = classes as usize;
        let values = (0..c * c).map(|k| ((k / c) as f64 - (k % c) as f64).abs()).collect();
        Ok(LabelDistance { values: Arc::new(values), classes })
    }

    /// A given row-major `[C, C]` matrix, validated; an error names `source` and the first bad cell.
    pub fn given(values: Vec<f64>, classes: i64, source: &str) -> Result<Self> {
        check_classes(classes)?;
        let c = classes as usize;
        if values.len() != c * c {
            return Err(Error::shape(
                format!("label distance {source}"),
                format!(
                    "{} values for {classes} classes; need {classes}×{classes} = {}",
                    values.len(),
                    c * c
                ),
            ));
        }
        // Values first (a negative cell is named as such, not as asymmetric), then symmetry.
        let at = |i: usize, j: usize| values[i * c + j];
        let first_bad = |rule: &dyn Fn(usize, usize) -> Option<&'static str>| {
            (0..c).flat_map(|i| (0..c).map(move |j| (i, j))).find_map(|(i, j)| rule(i, j).map(|r| (i, j, r)))
        };
        let value_rule = |i: usize, j: usize| match at(i, j) {
            d if !d.is_finite() || d < 0.0 => Some("must be finite and >= 0"),
            d if i == j && d != 0.0 => Some("must be 0 on the diagonal"),
            _ => None,
        };
        let symmetry_rule = |i: usize, j: usize| {
            ((at(i, j) - at(j, i)).abs() > 1e-9 * at(i, j).abs().max(1.0))
                .then_some("must equal the cell across the diagonal (a distance is symmetric)")
        };
        if let Some((i, j, rule)) = first_bad(&value_rule).or_else(|| first_bad(&symmetry_rule)) {
            let mirror = if i == j { String::new() } else { format!(", cell across: {}", at(j, i)) };
            let name = format!("label distance {source}, cell [{i}][{j}] (row {}, column {})", i + 1, j + 1);
            return Err(Error::invalid(name, format!("{}{mirror}", at(i, j)), rule));
        }
        Ok(LabelDistance { values: Arc::new(values), classes })
    }

    /// The Jaccard distance of label co-occurrence, `1 − n_ij / (n_i + n_j − n_ij)`, counted over
    /// `states` `[N, C]` (codes 2/1/0, present = Positive or Difficult). A label never present is at
    /// distance 1 from every other label.
    pub fn cooccurrence(states: &Tensor) -> Result<Self> {
        if states.dim() != 2 {
            return Err(Error::shape("label states", format!("expected [N, C], got {:?}", states.size())));
        }
        let classes = states.size()[1];
        check_classes(classes)?;
        let present = states.to_device(Device::Cpu).gt(0).to_kind(Kind::Double);
        let joint = present.transpose(0, 1).matmul(&present);
        let counts = joint.diagonal(0, 0, 1);
        let union = counts.unsqueeze(1) + counts.unsqueeze(0) - &joint;
        let similarity = joint.f_div(&union.clamp_min(1.0))?;
        let mut distance: Tensor = 1.0 - similarity;
        let _ = distance.fill_diagonal_(0.0, false);
        let values = Vec::<f64>::try_from(distance.reshape([-1]))?;
        LabelDistance::given(values, classes, "(co-occurrence)")
    }

    /// A CSV file of C lines of C numbers (lines starting with `#` are comments), validated.
    pub fn from_csv(path: &Path, classes: i64) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut values = Vec::new();
        let mut rows = 0usize;
        for (number, line) in
            text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() as i64 != classes {
                return Err(Error::data(
                    path,
                    format!(
                        "line {}: {} comma-separated values; the task has {classes} labels, so every row needs {classes}, separated by `,`{}",
                        number + 1,
                        cells.len(),
                        other_separator(line)
                    ),
                ));
            }
            for (column, cell) in cells.iter().enumerate() {
                let v: f64 = cell.parse().map_err(|_| {
                    Error::data(
                        path,
                        format!("line {}, column {}: `{cell}` is not a number", number + 1, column + 1),
                    )
                })?;
                values.push(v);
            }
            rows += 1;
        }
        if rows as i64 != classes {
            return Err(Error::data(path, format!("{rows} rows; the task has {classes} labels, so the matrix needs {classes} rows of {classes} values")));
        }
        LabelDistance::given(values, classes, &path.display().to_string())
    }

    /// Writes the matrix as CSV (the form [`LabelDistance::from_csv`] reads).
    pub fn to_csv(&self) -> String {
        let c = self.classes as usize;
        (0..c)
            .map(|i| {
                self.values[i * c..(i + 1) * c].iter().map(|v| format!("{v}")).collect::<Vec<_>>().join(",")
                    + "\n"
            })
            .collect()
    }

    /// The matrix `[C, C]` as f64 on the CPU.
    pub fn matrix(&self) -> Tensor {
        Tensor::from_slice(&self.values).reshape([self.classes, self.classes])
    }

    /// The row-major values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The smallest positive distance between two labels (1 when there is none).
    pub fn step(&self) -> f64 {
        let smallest = self.values.iter().copied().filter(|d| *d > 0.0).fold(f64::INFINITY, f64::min);
        if smallest.is_finite() {
            smallest
        } else {
            1.0
        }
    }

    /// Number of labels C.
    pub fn classes(&self) -> i64 {
        self.classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooccurrence_is_the_jaccard_distance_of_a_hand_count() {
        // Four samples over labels a, b, c (2 = P, 1 = D, 0 = N):
        //   {a, b}, {a, b(D)}, {a, c}, {c}  →  n_a = 3, n_b = 2, n_c = 2, n_ab = 2, n_ac = 1, n_bc = 0.
        let states = Tensor::from_slice(&[2i64, 2, 0, 2, 1, 0, 2, 0, 2, 0, 0, 2]).reshape([4, 3]);
        let d = LabelDistance::cooccurrence(&states).unwrap();
        let ab = 1.0 - 2.0 / (3.0 + 2.0 - 2.0);
        let ac = 1.0 - 1.0 / (3.0 + 2.0 - 1.0);
        let expected = [0.0, ab, ac, ab, 0.0, 1.0, ac, 1.0, 0.0];
        for (got, want) in d.values().iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{:?} vs {expected:?}", d.values());
        }
        assert!((d.step() - ab).abs() < 1e-12);
        // A label that never occurs is at distance 1 from the others.
        let never =
            LabelDistance::cooccurrence(&Tensor::from_slice(&[2i64, 0, 2, 0]).reshape([2, 2])).unwrap();
        assert_eq!(never.values(), &[0.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn bad_matrices_are_refused_naming_the_cell() {
        let err =
            |values: Vec<f64>, c: i64| LabelDistance::given(values, c, "d.csv").unwrap_err().to_string();
        let e = err(vec![0.0, 1.0, 2.0, 0.0], 2);
        assert!(
            e.contains("d.csv, cell [0][1] (row 1, column 2) = 1, cell across: 2") && e.contains("symmetric"),
            "{e}"
        );
        let e = err(vec![0.0, -1.0, -1.0, 0.0], 2);
        assert!(e.contains("cell [0][1]") && e.contains("finite and >= 0"), "{e}");
        let e = err(vec![0.0, f64::NAN, f64::NAN, 0.0], 2);
        assert!(e.contains("= NaN") && e.contains("finite"), "{e}");
        let e = err(vec![0.5, 1.0, 1.0, 0.0], 2);
        assert!(e.contains("cell [0][0]") && e.contains("0 on the diagonal"), "{e}");
        let e = err(vec![0.0, 1.0, 1.0], 2);
        assert!(e.contains("3 values for 2 classes"), "{e}");
        assert!(
            LabelDistance::given(vec![0.0, 0.0, 0.0, 0.0], 2, "d").is_ok(),
            "identical labels (distance 0) are allowed"
        );
        assert!(LabelDistance::index(0).is_err());
        let e = LabelDistance::index(MAX_DISTANCE_CLASSES + 1).unwrap_err().to_string();
        assert!(e.contains("classes = 10001") && e.contains("1..=10000"), "{e}");
    }

    #[test]
    fn csv_files_are_read_and_checked_with_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let good = write("good.csv", "# digits\n0, 2, 3\n2, 0, 1\n3, 1, 0\n");
        let d = LabelDistance::from_csv(&good, 3).unwrap();
        assert_eq!(d.values(), &[0.0, 2.0, 3.0, 2.0, 0.0, 1.0, 3.0, 1.0, 0.0]);
        assert_eq!(LabelDistance::from_csv(&write("again.csv", &d.to_csv()), 3).unwrap(), d);
        let e = LabelDistance::from_csv(&good, 4).unwrap_err().to_string();
        assert!(
            e.contains("good.csv") && e.contains("line 2: 3 comma-separated values; the task has 4 labels"),
            "{e}"
        );
        let e = LabelDistance::from_csv(&write("spaces.csv", "0 1 2\n1 0 1\n2 1 0\n"), 3)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 1: 1 comma-separated values")
                && e.contains("separated by `,` (this line looks separated by spaces)"),
            "{e}"
        );
        let e = LabelDistance::from_csv(&write("word.csv", "0,x\n1,0\n"), 2).unwrap_err().to_string();
        assert!(e.contains("word.csv: line 1, column 2: `x` is not a number"), "{e}");
        let e = LabelDistance::from_csv(&write("asym.csv", "0,1\n2,0\n"), 2).unwrap_err().to_string();
        assert!(e.contains("asym.csv, cell [0][1] (row 1, column 2)") && e.contains("symmetric"), "{e}");
        let e = LabelDistance::from_csv(&write("short.csv", "0,1\n"), 2).unwrap_err().to_string();
        assert!(e.contains("1 rows; the task has 2 labels"), "{e}");
        let e = LabelDistance::from_csv(&dir.path().join("missing.csv"), 2).unwrap_err().to_string();
        assert!(e.contains("missing.csv"), "{e}");
    }

    #[test]
    fn distance_specs_parse_and_name_themselves() {
        assert_eq!(DistanceSpec::parse("index").unwrap(), DistanceSpec::Index);
        assert_eq!(DistanceSpec::parse("cooccurrence").unwrap(), DistanceSpec::Cooccurrence);
        assert_eq!(DistanceSpec::parse("d/voc.csv").unwrap(), DistanceSpec::File("d/voc.csv".into()));
        let e = DistanceSpec::parse("jaccard").unwrap_err().to_string();
        assert!(e.contains("distance = jaccard") && e.contains("index, cooccurrence"), "{e}");
        for spec in [DistanceSpec::Index, DistanceSpec::Cooccurrence, DistanceSpec::File("a.csv".into())] {
            assert_eq!(DistanceSpec::parse(&spec.name()).unwrap(), spec);
        }
    }
}
