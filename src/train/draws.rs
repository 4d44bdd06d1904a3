//! Every member's random draws of a training step (batches, flips, shift offsets, dropout masks)
//! from streams keyed by its seed (and step) alone: the trainer's only randomness, which `trace` records.
use super::batches::BatchSampler;
use super::member::Member;
use crate::config::TrainPlan;
use crate::model::dropout::{draw_mask_values, DropoutSite};
use crate::model::{DropoutStream, Network};

/// Every member's random streams: batches, flips and shifts ([`BatchSampler`]) and dropout masks.
pub struct StepRandomness {
    samplers: Vec<BatchSampler>,
    /// Each member's dropout stream and the network's dropout sites (none without dropout).
    dropout: Vec<DropoutStream>,
    pub sites: Vec<DropoutSite>,
}

impl StepRandomness {
    /// The streams of `members`: each keyed by the member's seed (and its training pool for batches),
    /// never by its position, so members that differ only in φ draw the same (common random numbers).
    pub fn new(net: &Network, spec: &TrainPlan, members: &[Member]) -> Self {
        StepRandomness {
            samplers: members.iter().map(|m| BatchSampler::new(m.train.clone(), m.seed)).collect(),
            dropout: members.iter().map(|m| DropoutStream::new(m.seed)).collect(),
            sites: net.dropout_sites(&spec.dropout),
        }
    }

    /// Moves every stream past `steps` steps (a resumed or segmented run), as drawing them would.
    pub fn skip(&mut self, spec: &TrainPlan, steps: usize) {
        for sampler in &mut self.samplers {
            for _ in 0..steps {
                sampler_step(sampler, spec);
            }
        }
        self.dropout.iter_mut().for_each(|d| d.skip(steps as u64));
    }

    /// Draws one step's randomness from every member's streams.
    pub fn draw(&mut self, spec: &TrainPlan) -> StepDraws {
        let (mut batches, mut flips, mut offsets) = (vec![], vec![], vec![]);
        for sampler in &mut self.samplers {
            let (batch, flip, offset) = sampler_step(sampler, spec);
            batches.push(batch);
            flips.extend(flip);
            offsets.extend(offset);
        }
        let masks = if self.sites.is_empty() {
            vec![]
        } else {
            draw_mask_values(&self.sites, &mut self.dropout, spec.batch)
        };
        StepDraws { batches, flips, offsets, masks }
    }
}

/// One member's batch, flips (when `spec.flip`) and shift offsets (when `spec.shift > 0`) of a step,
/// in the order its stream draws them.
fn sampler_step(sampler: &mut BatchSampler, spec: &TrainPlan) -> (Vec<i64>, Vec<bool>, Vec<i64>) {
    let size = spec.batch as usize;
    let batch = sampler.next_batch(size);
    let flips = if spec.flip { sampler.flips(size) } else { vec![] };
    let offsets = if spec.shift > 0 { sampler.shifts(size, spec.shift) } else { vec![] };
    (batch, flips, offsets)
}

/// The random draws of one step for every member, member-major: batches (dataset indices), flips
/// (one per sample), shift offsets (row and column per sample) and, per dropout site, mask values.
pub struct StepDraws {
    pub batches: Vec<Vec<i64>>,
    pub flips: Vec<bool>,
    pub offsets: Vec<i64>,
    pub masks: Vec<Vec<f32>>,
}
