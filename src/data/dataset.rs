//! The dataset every loader produces: input tensors, labels of one of four kinds, provenance.
//! Also the load report that counts unparsed names and skipped files, so nothing is dropped silently.
use crate::domain::{LabelKind, Labels};
use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// What a loader could not use: names that did not parse and files skipped as corrupt.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadReport {
    /// File names that did not follow the format's naming rule (not loaded).
    pub unparsed: Vec<String>,
    /// Files that could not be decoded, with the reason (only with `skip_corrupt`).
    pub skipped: Vec<String>,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} names did not parse, {} corrupt files skipped",
            self.unparsed.len(),
            self.skipped.len()
        )?;
        for name in self.unparsed.iter().take(5) {
            write!(f, "\n  unparsed: {name}")?;
        }
        for skip in self.skipped.iter().take(5) {
            write!(f, "\n  skipped: {skip}")?;
        }
        Ok(())
    }
}

/// A dataset in memory: `inputs` row `i` goes with label row `i`.
#[derive(Debug)]
pub struct Dataset {
    /// Short name, e.g. `utkface`.
    pub name: String,
    /// Images `[N, C, H, W]` f32 in [0, 1], or tabular features `[N, F]` f32 standardised.
    pub inputs: Tensor,
    /// The labels.
    pub labels: Labels,
    /// Where the data came from (a path, a registry package or a generator with its seed).
    pub source: String,
    /// Optional group per example (a subject, a source digit block): a split keeps each group in one pool.
    pub groups: Option<Vec<i64>>,
    /// Unparsed names and skipped files.
    pub report: LoadReport,
    /// The file each example came from, when it came from one (empty for generated and tabular data).
    pub files: Vec<String>,
    /// The pool of every example when the data name it (a table's split column): the split follows
    /// it instead of the task's fractions.
    pub given_pools: Option<Vec<super::pool::Pool>>,
}

impl Dataset {
    /// A dataset after checking that inputs and labels agree in length and kind.
    pub fn new(
        name: impl Into<String>,
        inputs: Tensor,
        labels: Labels,
        source: impl Into<String>,
    ) -> Result<Self> {
        let name = name.into();
        check_shapes(&name, &inputs, &labels)?;
        Ok(Dataset {
            name,
            inputs,
            labels,
            source: source.into(),
            groups: None,
            report: LoadReport::default(),
            files: Vec::new(),
            given_pools: None,
        })
    }

    /// The same dataset with a group per example.
    pub fn with_groups(mut self, groups: Vec<i64>) -> Result<Self> {
        if groups.len() != self.len() {
            return Err(Error::shape(
                &self.name,
                format!("{} groups for {} examples", groups.len(), self.len()),
            ));
        }
        self.groups = Some(groups);
        Ok(self)
    }

    /// The same dataset with the file of each example.
    pub fn with_files(mut self, files: Vec<String>) -> Result<Self> {
        if files.len() != self.len() {
            return Err(Error::shape(
                &self.name,
                format!("{} file names for {} examples", files.len(), self.len()),
            ));
        }
        self.files = files;
        Ok(self)
    }

    /// Where example `i` came from: its file, else its index in the source.
    pub fn example_name(&self, i: usize) -> String {
        match self.files.get(i) {
            Some(file) => file.clone(),
            None => format!("{} (example {i})", self.source),
        }
    }

    /// The same dataset with a load report.
    pub fn with_report(mut self, report: LoadReport) -> Self {
        self.report = report;
        self
    }

    /// Number of examples N.
    pub fn len(&self) -> usize {
        self.inputs.size()[0] as usize
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inputs and labels of the examples at `indices` (e.g. an episode's support set).
    pub fn select(&self, indices: &[i64]) -> (Tensor, Labels) {
        let index = Tensor::from_slice(indices).to_device(self.inputs.device());
        (
            self.inputs.index_select(0, &index),
            self.labels.select(&index.to_device(self.labels.tensor().device())),
        )
    }

    /// Smallest and largest label value (ordinal and pose labels; `None` otherwise).
    pub fn label_range(&self) -> Option<(f64, f64)> {
        match &self.labels {
            Labels::Ordinal(t) | Labels::Pose(t) if !self.is_empty() => {
                Some((t.min().double_value(&[]), t.max().double_value(&[])))
            }
            _ => None,
        }
    }
}

fn check_shapes(name: &str, inputs: &Tensor, labels: &Labels) -> Result<()> {
    let n = inputs.size().first().copied().unwrap_or(0);
    let t = labels.tensor();
    let (dims, kind) = match labels.kind() {
        LabelKind::Ordinal => (1, Kind::Float),
        LabelKind::Pose => (2, Kind::Float),
        LabelKind::MultiLabel => (2, Kind::Int64),
        LabelKind::Segmentation => (3, Kind::Int64),
        LabelKind::Distribution => (2, Kind::Float),
    };
    let bad = t.dim() != dims || t.size()[0] != n || t.kind() != kind || inputs.kind() != Kind::Float;
    let pose_bad = labels.kind() == LabelKind::Pose && t.size().get(1) != Some(&2);
    if bad || pose_bad {
        return Err(Error::shape(
            name,
            format!(
                "inputs {:?} ({:?}) and {} labels {:?} ({:?}) do not fit: need f32 inputs, {dims}-d {kind:?} labels, same N",
                inputs.size(),
                inputs.kind(),
                labels.kind(),
                t.size(),
                t.kind()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_lengths_and_kinds() {
        let x = Tensor::zeros([3, 2], (Kind::Float, tch::Device::Cpu));
        assert!(Dataset::new(
            "t",
            x.shallow_clone(),
            Labels::Ordinal(Tensor::zeros([3], (Kind::Float, tch::Device::Cpu))),
            "s"
        )
        .is_ok());
        assert!(Dataset::new(
            "t",
            x.shallow_clone(),
            Labels::Ordinal(Tensor::zeros([4], (Kind::Float, tch::Device::Cpu))),
            "s"
        )
        .is_err());
        assert!(Dataset::new(
            "t",
            x.shallow_clone(),
            Labels::Pose(Tensor::zeros([3, 3], (Kind::Float, tch::Device::Cpu))),
            "s"
        )
        .is_err());
        assert!(Dataset::new(
            "t",
            x,
            Labels::MultiLabel(Tensor::zeros([3, 4], (Kind::Float, tch::Device::Cpu))),
            "s"
        )
        .is_err());
    }

    #[test]
    fn select_picks_rows() {
        let x = Tensor::from_slice(&[0f32, 1., 2., 3.]).view([4, 1]);
        let d =
            Dataset::new("t", x, Labels::Ordinal(Tensor::from_slice(&[10f32, 11., 12., 13.])), "s").unwrap();
        let (xs, ys) = d.select(&[3, 1]);
        assert_eq!(Vec::<f32>::try_from(xs.view([-1])).unwrap(), vec![3.0, 1.0]);
        assert_eq!(Vec::<f32>::try_from(ys.tensor()).unwrap(), vec![13.0, 11.0]);
        assert_eq!(d.label_range(), Some((10.0, 13.0)));
    }
}
