//! The one check that a dataset's ordinal or pose labels lie on its task's label domain, shared by
//! training, evaluation, search, few-shot and `data show`: a label outside it is an error, never clamped.
use crate::data::dataset::Dataset;
use crate::domain::{LabelDomain, Labels};
use crate::error::{Error, Result};
use crate::label::{Bins, OutsideDomain};
use std::path::Path;

/// Every ordinal label of `dataset` on the bins of `domain`, every pose label on its grid (each axis);
/// otherwise an error naming the first offending file (or example), its value, the domain, the task
/// file and how many labels are outside. Given distributions must be over the task's classes;
/// other classes are checked by their families.
pub fn check_labels_in_domain(dataset: &Dataset, domain: &LabelDomain, task_file: &Path) -> Result<()> {
    let (values, axes): (Vec<f32>, Vec<(&Bins, &str)>) = match (&dataset.labels, domain) {
        (Labels::Ordinal(t), LabelDomain::Bins(b)) => (Vec::<f32>::try_from(t)?, vec![(b, "labels.bins")]),
        (Labels::Pose(t), LabelDomain::Grid(g)) => (
            Vec::<f32>::try_from(t.reshape([-1]))?,
            vec![(&g.axis1, "labels.grid[0]"), (&g.axis2, "labels.grid[1]")],
        ),
        (Labels::Distribution(t), LabelDomain::Classes(c)) if t.size()[1] != c.len() as i64 => {
            return Err(Error::data(
                &dataset.source,
                format!(
                    "{} given label distributions are over {} categories; `labels.classes` of {} names {}",
                    t.size()[0],
                    t.size()[1],
                    task_file.display(),
                    c.len()
                ),
            ))
        }
        _ => return Ok(()),
    };
    let width = axes.len();
    for (axis, (bins, field)) in axes.iter().enumerate() {
        let outside: Vec<(usize, OutsideDomain)> = values
            .iter()
            .skip(axis)
            .step_by(width)
            .enumerate()
            .filter_map(|(i, &v)| bins.bin_of(v as f64).err().map(|e| (i, e)))
            .collect();
        if let Some((first, reason)) = outside.first() {
            return Err(Error::data(
                dataset.example_name(*first),
                format!(
                    "{reason}; the domain is `{field}` of {} ({} of {} labels are outside it); widen `{field}` or remove these examples",
                    task_file.display(),
                    outside.len(),
                    values.len() / width
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Grid;
    use tch::Tensor;

    fn ordinal(values: &[f32], files: &[&str]) -> Dataset {
        let inputs = Tensor::zeros([values.len() as i64, 1], (tch::Kind::Float, tch::Device::Cpu));
        let d = Dataset::new("ages", inputs, Labels::Ordinal(Tensor::from_slice(values)), "faces/").unwrap();
        if files.is_empty() {
            d
        } else {
            d.with_files(files.iter().map(|f| f.to_string()).collect()).unwrap()
        }
    }

    #[test]
    fn labels_beyond_the_bins_name_the_file_value_domain_and_count() {
        let bins = LabelDomain::Bins(Bins::parse("0:116").unwrap());
        let task = Path::new("tasks/age.toml");
        assert!(check_labels_in_domain(&ordinal(&[0.0, 116.4, 40.0], &[]), &bins, task).is_ok());
        let bad = ordinal(&[30.0, 210.0, 250.0], &["a.jpg", "210_0_0_1.jpg", "250_0_0_1.jpg"]);
        let message = check_labels_in_domain(&bad, &bins, task).unwrap_err().to_string();
        for needle in [
            "210_0_0_1.jpg: label 210 lies outside the label domain 0..116",
            "`labels.bins` of tasks/age.toml",
            "2 of 3 labels",
        ] {
            assert!(message.contains(needle), "`{needle}` not in: {message}");
        }
        let nan = check_labels_in_domain(&ordinal(&[f32::NAN], &[]), &bins, task).unwrap_err().to_string();
        assert!(nan.contains("faces/ (example 0)") && nan.contains("NaN"), "{nan}");
    }

    #[test]
    fn pose_labels_are_checked_per_axis() {
        let grid = LabelDomain::Grid(Grid::parse("-30:30:10,0:100:50").unwrap());
        let inputs = Tensor::zeros([2, 1], (tch::Kind::Float, tch::Device::Cpu));
        let labels = Labels::Pose(Tensor::from_slice(&[0.0f32, 50.0, 10.0, 180.0]).reshape([2, 2]));
        let d = Dataset::new("pose", inputs, labels, "gen").unwrap();
        let message = check_labels_in_domain(&d, &grid, Path::new("t.toml")).unwrap_err().to_string();
        assert!(
            message.contains("label 180")
                && message.contains("labels.grid[1]")
                && message.contains("(example 1)"),
            "{message}"
        );
    }
}
