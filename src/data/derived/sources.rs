//! Which real digits a derived example is drawn from: the digits are split into seeded blocks and every
//! example draws only from its own block, which becomes its group, so a split never shares a digit across pools.
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Source digits partitioned into blocks; example `i` uses block `i mod blocks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceBlocks {
    blocks: Vec<Vec<usize>>,
}

impl SourceBlocks {
    /// Partition digits `0..digits` into `blocks` seeded blocks of near-equal size.
    pub fn new(digits: usize, blocks: usize, seed: u64) -> Result<Self> {
        if blocks == 0 || blocks > digits {
            return Err(Error::invalid(
                "blocks",
                blocks,
                format!("need 1 ≤ blocks ≤ {digits} source digits"),
            ));
        }
        let mut order: Vec<usize> = (0..digits).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let mut parts = vec![Vec::new(); blocks];
        for (i, digit) in order.into_iter().enumerate() {
            parts[i % blocks].push(digit);
        }
        Ok(SourceBlocks { blocks: parts })
    }

    /// The block (group) of example `example`.
    pub fn block_of(&self, example: usize) -> usize {
        example % self.blocks.len()
    }

    /// A digit drawn uniformly from `block`.
    pub fn draw(&self, block: usize, rng: &mut ChaCha8Rng) -> usize {
        let digits = &self.blocks[block];
        digits[rng.random_range(0..digits.len())]
    }
}

/// The generator of example `index` under `seed`: its own ChaCha stream, so examples can be drawn in parallel.
pub fn example_rng(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_partition_the_digits() {
        let b = SourceBlocks::new(10, 3, 1).unwrap();
        let mut all: Vec<usize> = b.blocks.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(b, SourceBlocks::new(10, 3, 1).unwrap());
        assert_ne!(b, SourceBlocks::new(10, 3, 2).unwrap());
        assert!(SourceBlocks::new(3, 4, 0).is_err());
        let mut rng = example_rng(5, 7);
        let d = b.draw(b.block_of(4), &mut rng);
        assert!(b.blocks[1].contains(&d));
    }
}
