//! The episodes a study scores φ on: the task's window episodes, or full-range episodes (a seeded
//! fraction of the training pool over all labels, scored on the validation or the test pool).
use super::study_spec::FullRange;
use crate::data::{Episode, EpisodeSampler, Pool, Split};
use crate::error::Result;
use crate::train::setup::PreparedTask;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Where a study's episodes come from.
pub enum EpisodeSource {
    /// K support and Q query examples per label of a window (the task's `[episodes]`).
    Window(EpisodeSampler),
    /// A budget of the training pool; queries from the validation pool (search) or test pool (comparison).
    FullRange { spec: FullRange, split: Split },
}

impl EpisodeSource {
    /// The study's episodes on a prepared task: full-range when `full_range` is given.
    pub fn new(prepared: &PreparedTask, full_range: Option<&FullRange>) -> Result<Self> {
        Ok(match full_range {
            Some(spec) => EpisodeSource::FullRange { spec: spec.clone(), split: prepared.split.clone() },
            None => EpisodeSource::Window(EpisodeSampler::new(
                &prepared.dataset,
                &prepared.task,
                &prepared.split,
            )?),
        })
    }

    /// Episode `index` of `pool` under `seed`: the same arguments always give the same episode.
    pub fn episode(&self, seed: u64, pool: Pool, index: u64) -> Result<Episode> {
        match self {
            EpisodeSource::Window(sampler) => sampler.episode_with_seed(seed, pool, index),
            EpisodeSource::FullRange { spec, split } => {
                Ok(full_range_episode(spec, split, seed, pool, index))
            }
        }
    }

    /// Training examples per episode (full-range), from which an epoch-based schedule counts steps.
    pub fn support_size(&self) -> Option<usize> {
        match self {
            EpisodeSource::Window(_) => None,
            EpisodeSource::FullRange { spec, split } => Some(budget_size(spec.budget, split.train.len())),
        }
    }

    /// The pool the final comparison scores on: meta-validation windows, or the held-out test pool.
    pub fn comparison_pool(&self) -> Pool {
        match self {
            EpisodeSource::Window(_) => Pool::Val,
            EpisodeSource::FullRange { .. } => Pool::Test,
        }
    }
}

/// ⌈budget · n⌉ training examples, at least one.
pub fn budget_size(budget: f64, n: usize) -> usize {
    ((budget * n as f64).ceil() as usize).clamp(1, n.max(1))
}

/// Full-range episode `index` of `pool`: its support a seeded `budget` share of the training pool
/// (drawn afresh for every pool and index), its query the validation pool (search episodes, pools
/// train and val) or the test pool (comparison episodes), whole or a seeded subset of `query`.
pub fn full_range_episode(spec: &FullRange, split: &Split, seed: u64, pool: Pool, index: u64) -> Episode {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xf011_7a46);
    rng.set_stream((pool.id() << 56) | (index & ((1 << 56) - 1)));
    let mut support = split.train.clone();
    support.shuffle(&mut rng);
    support.truncate(budget_size(spec.budget, split.train.len()));
    support.sort_unstable();
    let mut query = match pool {
        Pool::Train | Pool::Val => split.val.clone(),
        Pool::Test => split.test.clone(),
    };
    if spec.query > 0 && spec.query < query.len() {
        query.shuffle(&mut rng);
        query.truncate(spec.query);
        query.sort_unstable();
    }
    Episode { pool, index, labels: vec![], support, support_labels: vec![], query, query_labels: vec![] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SplitSpec;

    fn split() -> Split {
        let spec: SplitSpec = toml::from_str("train = 0.6\nval = 0.2\ntest = 0.2\nseed = 0\n").unwrap();
        Split {
            dataset: "toy".into(),
            examples: 100,
            spec,
            by_group: false,
            train: (0..60).collect(),
            val: (60..80).collect(),
            test: (80..100).collect(),
        }
    }

    #[test]
    fn support_is_the_budget_of_the_train_pool_and_queries_never_leave_their_pool() {
        let spec = FullRange { budget: 0.1, query: 0 };
        let (split, e) =
            (split(), full_range_episode(&FullRange { budget: 0.1, query: 0 }, &split(), 3, Pool::Train, 0));
        assert_eq!(e.support.len(), 6);
        assert!(
            e.support.iter().all(|i| split.train.contains(i)) && e.support.windows(2).all(|w| w[0] < w[1])
        );
        assert_eq!(e.query, split.val);
        let test = full_range_episode(&spec, &split, 3, Pool::Test, 0);
        assert_eq!(test.query, split.test);
        assert_ne!(test.support, e.support, "comparison episodes draw their own training subsets");
        let sub = full_range_episode(&FullRange { budget: 0.5, query: 7 }, &split, 3, Pool::Val, 4);
        assert_eq!((sub.support.len(), sub.query.len()), (30, 7));
        assert!(sub.query.iter().all(|i| split.val.contains(i)));
        // Same arguments, same episode; another index, another subset.
        assert_eq!(full_range_episode(&spec, &split, 3, Pool::Train, 0), e);
        assert_ne!(full_range_episode(&spec, &split, 3, Pool::Train, 1).support, e.support);
        assert_eq!((budget_size(1.0, 60), budget_size(1e-9, 60), budget_size(0.25, 10)), (60, 1, 3));
    }
}
