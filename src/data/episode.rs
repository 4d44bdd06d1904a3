//! The seeded episode sampler: K support and Q query examples per label (bin, grid cell or class), over all labels,
//! a contiguous label window or a class subset, drawn from one pool only; (seed, pool, index) fixes the episode.
//!
//! Empty-label rule: a label is *full* in a pool when the pool holds at least K + Q examples of it. An episode
//! only ever requires full labels: without a window it covers every full label; a window start is drawn uniformly
//! among the windows whose labels are all full; a class subset is drawn from the full classes. When no admissible
//! choice exists the sampler is not built, with an error naming the pool, so no episode is ever short.
use super::pool::Pool;
use super::split::Split;
use crate::config::{EpisodeSpec, TaskSpec};
use crate::data::dataset::Dataset;
use crate::domain::{LabelDomain, Labels};
use crate::error::{Error, Result};
use crate::label::{Bins, POSITIVE};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One episode: indices into the dataset, all from one pool.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Episode {
    /// The pool the examples come from.
    pub pool: Pool,
    /// The episode's index within the pool's sequence.
    pub index: u64,
    /// The labels this episode covers, ascending: bin, flattened grid cell (`i·C2 + j`) or class indices
    /// (segmentation: classes 1.., never the background 0).
    pub labels: Vec<usize>,
    /// Support examples, K per label, grouped by label in the order of `labels`.
    pub support: Vec<i64>,
    /// The label each support example was drawn for.
    pub support_labels: Vec<usize>,
    /// Query examples, Q per label.
    pub query: Vec<i64>,
    /// The label each query example was drawn for.
    pub query_labels: Vec<usize>,
}

/// How the labels are arranged, which decides what a window is.
#[derive(Debug, Clone, PartialEq)]
enum Layout {
    Line(usize),
    Grid(usize, usize),
    Classes,
}

/// Per pool: the examples of each label.
#[derive(Debug, Clone)]
struct PoolIndex {
    by_label: Vec<Vec<i64>>,
    /// Window starts (1-D start or 2-D top-left cell) or label choices that are admissible.
    choices: Vec<usize>,
}

/// Samples episodes of one task from its split.
#[derive(Debug, Clone)]
pub struct EpisodeSampler {
    spec: EpisodeSpec,
    layout: Layout,
    /// Labels an episode can require (segmentation leaves out the background).
    groupable: usize,
    pools: Vec<PoolIndex>,
}

impl EpisodeSampler {
    /// Index `dataset` by label for each pool of `split`; an error when some pool admits no episode.
    pub fn new(dataset: &Dataset, task: &TaskSpec, split: &Split) -> Result<Self> {
        super::check_labels_in_domain(dataset, &task.labels, &task.path)?;
        let example_labels = labels_of_examples(dataset, &task.labels)?;
        let (layout, count) = match &task.labels {
            LabelDomain::Bins(b) => (Layout::Line(b.len()), b.len()),
            LabelDomain::Grid(g) => (Layout::Grid(g.axis1.len(), g.axis2.len()), g.len()),
            LabelDomain::Classes(c) => (Layout::Classes, c.len()),
        };
        let groupable = task.grouping_classes().unwrap_or(count);
        let mut sampler =
            EpisodeSampler { spec: task.episodes.clone(), layout, groupable, pools: Vec::new() };
        for pool in Pool::ALL {
            let mut by_label = vec![Vec::new(); count];
            for &i in split.pool(pool) {
                for &label in &example_labels[i as usize] {
                    by_label[label].push(i);
                }
            }
            let choices = sampler.admissible(&by_label);
            if choices.is_empty() {
                return Err(sampler.no_episode(task, pool, &by_label));
            }
            sampler.pools.push(PoolIndex { by_label, choices });
        }
        Ok(sampler)
    }

    fn need(&self) -> usize {
        self.spec.shots + self.spec.query
    }

    fn full(&self, by_label: &[Vec<i64>], label: usize) -> bool {
        by_label[label].len() >= self.need()
    }

    /// Admissible window starts (windowed), or the full labels (otherwise).
    fn admissible(&self, by_label: &[Vec<i64>]) -> Vec<usize> {
        let full = |l: usize| self.full(by_label, l);
        match (&self.layout, self.spec.window) {
            (Layout::Line(n), Some(w)) => (0..=n - w).filter(|&s| (s..s + w).all(full)).collect(),
            (Layout::Grid(n1, n2), Some(w)) => (0..=n1 - w)
                .flat_map(|r| (0..=n2 - w).map(move |c| r * n2 + c))
                .filter(|&start| window_cells(start, *n2, w).into_iter().all(full))
                .collect(),
            _ => (0..by_label.len()).filter(|&l| full(l)).collect(),
        }
    }

    fn no_episode(&self, task: &TaskSpec, pool: Pool, by_label: &[Vec<i64>]) -> Error {
        let full = (0..by_label.len()).filter(|&l| self.full(by_label, l)).count();
        let what = match self.spec.window {
            Some(w) => format!("no window of {w} labels has"),
            None => "no label has".to_string(),
        };
        Error::data(
            &task.path,
            format!(
                "the {pool} pool admits no episode: {what} ≥ {} examples (shots {} + query {}); {full} of {} labels do. \
                 Lower `episodes.shots`/`query`/`window` or give the {pool} split more data",
                self.need(),
                self.spec.shots,
                self.spec.query,
                self.groupable
            ),
        )
    }

    /// The episode of `pool` number `index` under the task's episode seed.
    pub fn episode(&self, pool: Pool, index: u64) -> Result<Episode> {
        self.episode_with_seed(self.spec.seed, pool, index)
    }

    /// The episode of `pool` number `index` under `seed`: the same arguments always give the same episode.
    pub fn episode_with_seed(&self, seed: u64, pool: Pool, index: u64) -> Result<Episode> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream((pool.id() << 56) | (index & ((1 << 56) - 1)));
        let index_of = &self.pools[pool as usize];
        let labels = self.choose_labels(index_of, &mut rng);
        let mut episode = Episode {
            pool,
            index,
            labels,
            support: vec![],
            support_labels: vec![],
            query: vec![],
            query_labels: vec![],
        };
        let mut used = std::collections::HashSet::new();
        for &label in &episode.labels.clone() {
            let mut members: Vec<i64> =
                index_of.by_label[label].iter().copied().filter(|i| !used.contains(i)).collect();
            if members.len() < self.need() {
                return Err(Error::data(
                    pool.name(),
                    format!("episode {index}: label {label} keeps only {} unused examples after overlapping labels took theirs (need {})", members.len(), self.need()),
                ));
            }
            let (picked, _) = members.partial_shuffle(&mut rng, self.need());
            used.extend(picked.iter().copied());
            episode.support.extend_from_slice(&picked[..self.spec.shots]);
            episode.query.extend_from_slice(&picked[self.spec.shots..]);
            episode.support_labels.extend(std::iter::repeat_n(label, self.spec.shots));
            episode.query_labels.extend(std::iter::repeat_n(label, self.spec.query));
        }
        Ok(episode)
    }

    fn choose_labels(&self, pool: &PoolIndex, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let mut labels = match (&self.layout, self.spec.window, self.spec.ways) {
            (Layout::Line(_), Some(w), _) => {
                let start = pool.choices[rng.random_range(0..pool.choices.len())];
                (start..start + w).collect()
            }
            (Layout::Grid(_, n2), Some(w), _) => {
                window_cells(pool.choices[rng.random_range(0..pool.choices.len())], *n2, w)
            }
            (Layout::Classes, _, Some(ways)) => {
                pool.choices.choose_multiple(rng, ways.min(pool.choices.len())).copied().collect()
            }
            _ => pool.choices.clone(),
        };
        labels.sort_unstable();
        labels
    }

    /// Number of full labels (≥ shots + query examples) in `pool`, and of all labels episodes can group by.
    pub fn full_labels(&self, pool: Pool) -> (usize, usize) {
        let by_label = &self.pools[pool as usize].by_label;
        ((0..by_label.len()).filter(|&l| self.full(by_label, l)).count(), self.groupable)
    }
}

/// Cells of the `w × w` window with top-left cell `start` on a grid with `n2` columns.
fn window_cells(start: usize, n2: usize, w: usize) -> Vec<usize> {
    let (r, c) = (start / n2, start % n2);
    (0..w).flat_map(|dr| (0..w).map(move |dc| (r + dr) * n2 + c + dc)).collect()
}

/// The labels each example belongs to: its nearest bin or grid cell, its Positive classes, the most
/// probable category of its given distribution, or the classes in its map.
pub fn labels_of_examples(dataset: &Dataset, domain: &LabelDomain) -> Result<Vec<Vec<usize>>> {
    match (&dataset.labels, domain) {
        (Labels::Ordinal(t), LabelDomain::Bins(bins)) => {
            let values = Vec::<f32>::try_from(t)?;
            values.iter().map(|&v| nearest(bins, v, &dataset.name).map(|b| vec![b])).collect()
        }
        (Labels::Pose(t), LabelDomain::Grid(grid)) => {
            let values = Vec::<f32>::try_from(t.reshape([-1]))?;
            let n2 = grid.axis2.len();
            values
                .chunks(2)
                .map(|p| {
                    Ok(vec![
                        nearest(&grid.axis1, p[0], &dataset.name)? * n2
                            + nearest(&grid.axis2, p[1], &dataset.name)?,
                    ])
                })
                .collect()
        }
        (Labels::MultiLabel(t), LabelDomain::Classes(c)) if t.size()[1] as usize == c.len() => {
            let codes = Vec::<i64>::try_from(t.reshape([-1]))?;
            Ok(codes
                .chunks(c.len())
                .map(|row| (0..c.len()).filter(|&k| row[k] == POSITIVE).collect())
                .collect())
        }
        // A given distribution belongs to its most probable category.
        (Labels::Distribution(t), LabelDomain::Classes(c)) if t.size()[1] as usize == c.len() => {
            Ok(Vec::<i64>::try_from(t.argmax(1, false))?.into_iter().map(|k| vec![k as usize]).collect())
        }
        (Labels::Segmentation(t), LabelDomain::Classes(c)) => {
            let present = segmentation_presence(t, c.len())?;
            Ok(present.chunks(c.len()).map(|row| (1..c.len()).filter(|&k| row[k]).collect()).collect())
        }
        (labels, _) => Err(Error::shape(
            &dataset.name,
            format!("{} labels do not fit the label domain {}", labels.kind(), domain.describe()),
        )),
    }
}

/// Per example and class, whether the class occurs in the map (void ignored).
fn segmentation_presence(maps: &tch::Tensor, classes: usize) -> Result<Vec<bool>> {
    let n = maps.size()[0] as usize;
    let values = Vec::<i64>::try_from(maps.reshape([-1]))?;
    let mut out = vec![false; n * classes];
    for (i, row) in values.chunks(values.len() / n.max(1)).enumerate().take(n) {
        for &v in row {
            if (0..classes as i64).contains(&v) {
                out[i * classes + v as usize] = true;
            }
        }
    }
    Ok(out)
}

/// The nearest bin of `value`; a value more than half a bin step outside the domain is an error.
fn nearest(bins: &Bins, value: f32, dataset: &str) -> Result<usize> {
    bins.bin_of(value as f64).map_err(|e| Error::data(dataset, format!("{e}; widen `labels`")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SplitSpec;
    use std::path::Path;
    use tch::Tensor;

    const TASK: &str = r#"
[dataset]
kind = "wine"
[labels]
bins = "0:9"
[distribution]
family = "gaussian"
sigma = 1.0
[model]
kind = "mlp"
widths = [8]
[train]
steps = 10
batch = 4
optimiser = "sgd"
lr = 0.1
[splits]
train = 0.6
val = 0.2
test = 0.2
seed = 3
[episodes]
shots = 2
query = 3
window = 3
"#;

    fn toy(n: usize) -> Dataset {
        let labels: Vec<f32> = (0..n).map(|i| (i % 10) as f32).collect();
        let x = Tensor::zeros([n as i64, 2], (tch::Kind::Float, tch::Device::Cpu));
        Dataset::new("toy", x, Labels::Ordinal(Tensor::from_slice(&labels)), "t").unwrap()
    }

    fn setup(text: &str, n: usize) -> (Dataset, TaskSpec, Split) {
        let task = TaskSpec::parse(text, Path::new("tasks/toy.toml")).unwrap();
        let d = toy(n);
        let split = Split::new(&d, &SplitSpec { train: 0.6, val: 0.2, test: 0.2, seed: 3 }).unwrap();
        (d, task, split)
    }

    #[test]
    fn episodes_are_deterministic_windowed_and_inside_their_pool() {
        let (d, task, split) = setup(TASK, 400);
        let s = EpisodeSampler::new(&d, &task, &split).unwrap();
        let e = s.episode(Pool::Val, 7).unwrap();
        assert_eq!(e, s.episode(Pool::Val, 7).unwrap());
        assert_eq!(e, EpisodeSampler::new(&d, &task, &split).unwrap().episode(Pool::Val, 7).unwrap());
        assert_ne!(e, s.episode(Pool::Val, 8).unwrap());
        assert_ne!(e.support, s.episode_with_seed(1, Pool::Val, 7).unwrap().support);
        assert_eq!((e.labels.len(), e.support.len(), e.query.len()), (3, 6, 9));
        assert!(e.labels.windows(2).all(|w| w[1] == w[0] + 1));
        let pool: std::collections::HashSet<i64> = split.val.iter().copied().collect();
        assert!(e.support.iter().chain(&e.query).all(|i| pool.contains(i)));
        let mut all = [e.support.clone(), e.query.clone()].concat();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 15, "support and query are disjoint");
        for (i, label) in e.support.iter().zip(&e.support_labels) {
            assert_eq!((*i % 10) as usize, *label);
        }
    }

    #[test]
    fn thin_pool_is_a_clear_error() {
        let (d, task, split) = setup(TASK, 60);
        let err = EpisodeSampler::new(&d, &task, &split).unwrap_err().to_string();
        assert!(err.contains("pool admits no episode") && err.contains("toy.toml"), "{err}");
    }

    #[test]
    fn without_window_every_full_label_is_covered() {
        let (d, task, split) = setup(&TASK.replace("window = 3\n", ""), 400);
        let s = EpisodeSampler::new(&d, &task, &split).unwrap();
        assert_eq!(s.episode(Pool::Train, 0).unwrap().labels, (0..10).collect::<Vec<_>>());
        assert_eq!(s.full_labels(Pool::Train), (10, 10));
    }

    #[test]
    fn nearest_bin_and_out_of_domain() {
        let b = Bins::parse("0:10:2").unwrap();
        assert_eq!(nearest(&b, 2.9, "t").unwrap(), 1);
        assert_eq!(nearest(&b, 3.1, "t").unwrap(), 2);
        assert_eq!(nearest(&b, 10.9, "t").unwrap(), 5);
        assert!(nearest(&b, 11.5, "t").unwrap_err().to_string().contains("outside the label domain"));
    }

    #[test]
    fn grid_windows_are_square_blocks() {
        assert_eq!(window_cells(6, 5, 2), vec![6, 7, 11, 12]);
    }
}
