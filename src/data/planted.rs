//! Applies a task's planted label noise (`[labels.noise]`) to the ordinal labels of its noised
//! pools after the split (which the true labels decided), and summarises what changed.
use crate::config::TaskSpec;
use crate::data::{Dataset, Pool, Split};
use crate::domain::{LabelDomain, Labels};
use crate::error::{Error, Result};
use crate::label::noise::{NoiseKind, NoiseSpec};
use crate::label::Bins;
use tch::Tensor;

/// What planting changed in one pool, per label group and in all.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedSummary {
    pub pool: Pool,
    pub labels: usize,
    pub changed: usize,
    /// Per group of bins: (first label, last label, examples, changed, mean |noisy − true|, planted
    /// sd at the group's mean true label for Gaussian noise).
    pub groups: Vec<(f64, f64, usize, usize, f64, Option<f64>)>,
}

/// Plants `task`'s `[labels.noise]` (if any) in `dataset` after the split; what changed per pool.
pub fn plant_task_noise(
    task: &TaskSpec,
    dataset: &mut Dataset,
    split: &Split,
) -> Result<Vec<PlantedSummary>> {
    match (&task.noise, &task.labels) {
        (Some(noise), LabelDomain::Bins(bins)) => plant_noise(dataset, split, noise, bins),
        _ => Ok(vec![]),
    }
}

/// Replaces the labels of the noised pools by their noisy labels; the test pool is never touched.
fn plant_noise(
    dataset: &mut Dataset,
    split: &Split,
    noise: &NoiseSpec,
    bins: &Bins,
) -> Result<Vec<PlantedSummary>> {
    let Labels::Ordinal(tensor) = &dataset.labels else {
        return Err(Error::invalid(
            "labels.noise",
            dataset.labels.kind(),
            "planted noise applies to ordinal labels only",
        ));
    };
    let mut values = Vec::<f64>::try_from(tensor.to_kind(tch::Kind::Double))?;
    let mut summaries = vec![];
    for pool in [Pool::Train, Pool::Val].into_iter().filter(|p| noise.noises(p.name())) {
        let rows = split.pool(pool);
        let pairs: Vec<(f64, f64)> = rows
            .iter()
            .map(|&i| (values[i as usize], noise.noisy(i as u64, values[i as usize], bins)))
            .collect();
        for (&i, (_, noisy)) in rows.iter().zip(&pairs) {
            values[i as usize] = *noisy;
        }
        summaries.push(summarise(pool, &pairs, noise, bins));
    }
    let floats: Vec<f32> = values.iter().map(|v| *v as f32).collect();
    dataset.labels = Labels::Ordinal(Tensor::from_slice(&floats).to_device(tensor.device()));
    Ok(summaries)
}

/// Six groups of equal label width over the bins.
fn summarise(pool: Pool, pairs: &[(f64, f64)], noise: &NoiseSpec, bins: &Bins) -> PlantedSummary {
    let (first, last) = (bins.values()[0], bins.values()[bins.len() - 1]);
    let groups = 6usize.min(bins.len());
    let width = (last - first) / groups as f64;
    let group_of = |y: f64| (((y - first) / width.max(f64::MIN_POSITIVE)) as usize).min(groups - 1);
    let mut rows = vec![];
    for g in 0..groups {
        let members: Vec<&(f64, f64)> = pairs.iter().filter(|(y, _)| group_of(*y) == g).collect();
        let n = members.len();
        let changed = members.iter().filter(|(y, z)| y != z).count();
        let mean_abs = members.iter().map(|(y, z)| (z - y).abs()).sum::<f64>() / n.max(1) as f64;
        let mean_y = members.iter().map(|(y, _)| y).sum::<f64>() / n.max(1) as f64;
        let sd = (noise.kind == NoiseKind::Gaussian && n > 0).then(|| noise.sd_at(mean_y));
        rows.push((first + g as f64 * width, first + (g + 1) as f64 * width, n, changed, mean_abs, sd));
    }
    PlantedSummary {
        pool,
        labels: pairs.len(),
        changed: pairs.iter().filter(|(y, z)| y != z).count(),
        groups: rows,
    }
}

impl std::fmt::Display for PlantedSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let share = 100.0 * self.changed as f64 / self.labels.max(1) as f64;
        writeln!(
            f,
            "planted noise, {} pool: {} of {} labels changed ({share:.1} %)",
            self.pool, self.changed, self.labels
        )?;
        for (lo, hi, n, changed, mean_abs, sd) in &self.groups {
            let sd = sd.map_or(String::new(), |s| format!(", planted sd {s:.2}"));
            writeln!(f, "  labels {lo:.1}–{hi:.1}: {n} examples, {changed} changed, mean |noisy − true| {mean_abs:.2}{sd}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SplitSpec;

    #[test]
    fn only_the_noised_pools_change_and_the_test_pool_keeps_every_label() {
        let y: Vec<f32> = (0..300).map(|i| (i % 11) as f32).collect();
        let mut dataset = Dataset::new(
            "toy",
            Tensor::zeros([300, 2], (tch::Kind::Float, tch::Device::Cpu)),
            Labels::Ordinal(Tensor::from_slice(&y)),
            "test",
        )
        .unwrap();
        let split = Split::new(&dataset, &SplitSpec { train: 0.6, val: 0.2, test: 0.2, seed: 1 }).unwrap();
        let bins = Bins::parse("0:10").unwrap();
        let noise: NoiseSpec = toml::from_str("kind = \"flip\"\np = 0.5\nseed = 4\n").unwrap();
        let summary = plant_noise(&mut dataset, &split, &noise, &bins).unwrap();
        let after = Vec::<f32>::try_from(dataset.labels.tensor()).unwrap();
        for &i in split.pool(Pool::Test).iter().chain(split.pool(Pool::Val)) {
            assert_eq!(after[i as usize], y[i as usize], "example {i} outside the train pool changed");
        }
        let changed = split.pool(Pool::Train).iter().filter(|&&i| after[i as usize] != y[i as usize]).count();
        assert_eq!((summary.len(), summary[0].changed), (1, changed));
        assert!(changed > 50, "{changed}");
        // Every noisy label is the one the spec draws for that example: re-applying gives the same.
        for &i in split.pool(Pool::Train) {
            assert_eq!(after[i as usize] as f64, noise.noisy(i as u64, y[i as usize] as f64, &bins));
        }
    }
}
