//! Mini-batches for one member from its own seeded RNG: epoch-wise shuffles of its index pool
//! (as a shuffling data loader does) and, for images, random horizontal flips and shifts.
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Draws batches of dataset indices from one member's pool.
#[derive(Debug, Clone)]
pub struct BatchSampler {
    rng: ChaCha8Rng,
    pool: Vec<i64>,
    order: Vec<i64>,
    position: usize,
}

impl BatchSampler {
    /// A sampler over `pool` seeded by `seed`.
    pub fn new(pool: Vec<i64>, seed: u64) -> Self {
        BatchSampler { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_ba7c), pool, order: vec![], position: 0 }
    }

    /// The next `size` indices; a new shuffled epoch starts whenever the current one runs out.
    pub fn next_batch(&mut self, size: usize) -> Vec<i64> {
        let mut batch = Vec::with_capacity(size);
        while batch.len() < size && !self.pool.is_empty() {
            if self.position == self.order.len() {
                self.order = self.pool.clone();
                self.order.shuffle(&mut self.rng);
                self.position = 0;
            }
            batch.push(self.order[self.position]);
            self.position += 1;
        }
        batch
    }

    /// One fair coin per sample (true = flip horizontally).
    pub fn flips(&mut self, size: usize) -> Vec<bool> {
        (0..size).map(|_| self.rng.random::<bool>()).collect()
    }

    /// Per sample a row and a column offset, each uniform on `-max..=max`.
    pub fn shifts(&mut self, size: usize, max: i64) -> Vec<i64> {
        (0..2 * size).map(|_| self.rng.random_range(-max..=max)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_cover_the_pool_and_seeds_repeat() {
        let mut a = BatchSampler::new((0..10).collect(), 7);
        let mut first: Vec<i64> = a.next_batch(4);
        first.extend(a.next_batch(4));
        first.extend(a.next_batch(2));
        first.sort();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        let mut b = BatchSampler::new((0..10).collect(), 7);
        let mut c = BatchSampler::new((0..10).collect(), 7);
        assert_eq!(b.next_batch(25), c.next_batch(25));
        assert_ne!(
            BatchSampler::new((0..10).collect(), 8).next_batch(10),
            BatchSampler::new((0..10).collect(), 7).next_batch(10)
        );
    }
}
