//! The seeded split of a dataset into disjoint train / val / test index sets (the meta-train, meta-val and
//! meta-test pools of episodes); groups (subjects, source-digit blocks) never straddle two pools. Saved as JSON.
use super::pool::Pool;
use crate::config::SplitSpec;
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// Disjoint, sorted index sets covering the dataset, with what produced them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    /// Dataset name.
    pub dataset: String,
    /// Number of examples split.
    pub examples: usize,
    /// The spec (fractions and seed) that produced it.
    pub spec: SplitSpec,
    /// Whether whole groups were assigned (subjects, source-digit blocks).
    pub by_group: bool,
    /// Training indices.
    pub train: Vec<i64>,
    /// Validation indices.
    pub val: Vec<i64>,
    /// Test indices.
    pub test: Vec<i64>,
}

impl Split {
    /// Split `dataset` by `spec`: shuffle its groups with the seed and cut the shuffled order at the
    /// fractions; a dataset that names every example's pool is split as it says.
    pub fn new(dataset: &Dataset, spec: &SplitSpec) -> Result<Self> {
        if let Some(pools) = &dataset.given_pools {
            return Split::given(dataset, spec, pools);
        }
        let groups: Vec<i64> = match &dataset.groups {
            Some(g) => g.clone(),
            None => (0..dataset.len() as i64).collect(),
        };
        let mut members: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (i, g) in groups.iter().enumerate() {
            members.entry(*g).or_default().push(i as i64);
        }
        let mut order: Vec<Vec<i64>> = members.into_values().collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(spec.seed));
        let mut split = Split {
            dataset: dataset.name.clone(),
            examples: dataset.len(),
            spec: spec.clone(),
            by_group: dataset.groups.is_some(),
            train: Vec::new(),
            val: Vec::new(),
            test: Vec::new(),
        };
        split.assign(order);
        split.check()?;
        Ok(split)
    }

    /// The split a dataset names, example by example.
    fn given(dataset: &Dataset, spec: &SplitSpec, pools: &[Pool]) -> Result<Self> {
        let of = |pool: Pool| (0..pools.len() as i64).filter(|&i| pools[i as usize] == pool).collect();
        let split = Split {
            dataset: dataset.name.clone(),
            examples: dataset.len(),
            spec: spec.clone(),
            by_group: false,
            train: of(Pool::Train),
            val: of(Pool::Val),
            test: of(Pool::Test),
        };
        split.check()?;
        Ok(split)
    }

    /// Each group goes to the pool where the middle of its run in the shuffled order falls.
    fn assign(&mut self, order: Vec<Vec<i64>>) {
        let n = self.examples as f64;
        let (cut1, cut2) = (self.spec.train * n, (self.spec.train + self.spec.val) * n);
        let mut seen = 0usize;
        for group in order {
            let middle = seen as f64 + group.len() as f64 / 2.0;
            seen += group.len();
            let pool = if middle < cut1 {
                &mut self.train
            } else if middle < cut2 {
                &mut self.val
            } else {
                &mut self.test
            };
            pool.extend(group);
        }
        for pool in [&mut self.train, &mut self.val, &mut self.test] {
            pool.sort_unstable();
        }
    }

    fn check(&self) -> Result<()> {
        for pool in Pool::ALL {
            if self.pool(pool).is_empty() {
                return Err(Error::data(
                    &self.dataset,
                    format!("the {pool} split is empty ({} examples, fractions {:?}); use more data or other fractions", self.examples, self.spec),
                ));
            }
        }
        Ok(())
    }

    /// The indices of `pool`.
    pub fn pool(&self, pool: Pool) -> &[i64] {
        match pool {
            Pool::Train => &self.train,
            Pool::Val => &self.val,
            Pool::Test => &self.test,
        }
    }

    /// Write the split as JSON (so a run can record exactly which examples it used).
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string(self).map_err(|e| Error::data(path, e.to_string()))?;
        std::fs::write(path, json).map_err(|e| Error::io(path, e))
    }

    /// Read a split written by [`Split::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&text).map_err(|e| Error::data(path, format!("not a split: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Labels;
    use tch::Tensor;

    fn dataset(n: usize) -> Dataset {
        let x = Tensor::zeros([n as i64, 2], (tch::Kind::Float, tch::Device::Cpu));
        Dataset::new(
            "toy",
            x,
            Labels::Ordinal(Tensor::zeros([n as i64], (tch::Kind::Float, tch::Device::Cpu))),
            "test",
        )
        .unwrap()
    }

    fn spec(seed: u64) -> SplitSpec {
        SplitSpec { train: 0.7, val: 0.1, test: 0.2, seed }
    }

    #[test]
    fn pools_are_disjoint_cover_all_and_follow_fractions() {
        let s = Split::new(&dataset(1000), &spec(1)).unwrap();
        let mut all: Vec<i64> = [s.train.clone(), s.val.clone(), s.test.clone()].concat();
        all.sort();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (700, 100, 200));
        assert_eq!(s, Split::new(&dataset(1000), &spec(1)).unwrap());
        assert_ne!(s.train, Split::new(&dataset(1000), &spec(2)).unwrap().train);
    }

    #[test]
    fn groups_stay_in_one_pool_and_json_round_trips() {
        let d = dataset(600).with_groups((0..600).map(|i| i / 6).collect()).unwrap();
        let s = Split::new(&d, &spec(5)).unwrap();
        let pool_of = |i: i64| Pool::ALL.into_iter().find(|p| s.pool(*p).contains(&i)).unwrap();
        for g in 0..100 {
            let first = pool_of(g * 6);
            assert!((1..6).all(|k| pool_of(g * 6 + k) == first));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("split.json");
        s.save(&path).unwrap();
        assert_eq!(Split::load(&path).unwrap(), s);
    }

    #[test]
    fn empty_pool_is_an_error() {
        let err = Split::new(&dataset(2), &spec(0)).unwrap_err().to_string();
        assert!(err.contains("split is empty"), "{err}");
    }
}
