//! Dropout for a population: inverted-dropout masks drawn per member from a stream keyed by its seed
//! and the step, applied to the stacked activations during training (never at evaluation).
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

/// Dropout rates, as written in a task's `[model]` section (`dropout`, `conv_dropout`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutSpec {
    /// Probability of zeroing each input of every hidden fully connected layer (for the CNN the
    /// first of them reads the flattened convolution features).
    #[serde(default)]
    pub fc: f64,
    /// Probability of zeroing each output of every convolution block (after its pooling).
    #[serde(default)]
    pub conv: f64,
}

impl DropoutSpec {
    /// Both rates lie in [0, 1).
    pub fn validate(&self) -> Result<()> {
        for (name, rate) in [("dropout", self.fc), ("conv_dropout", self.conv)] {
            if !(0.0..1.0).contains(&rate) {
                return Err(Error::invalid(name, rate, "must lie in [0, 1)"));
            }
        }
        Ok(())
    }

    /// Whether any rate is non-zero.
    pub fn is_active(&self) -> bool {
        self.fc > 0.0 || self.conv > 0.0
    }
}

/// Where a mask multiplies the activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SitePosition {
    /// The output of convolution layer `layer` (after pooling and ReLU for the CNN).
    ConvOutput,
    /// The input of linear layer `layer`.
    LinearInput,
}

/// One place of a network where dropout applies.
#[derive(Debug, Clone, PartialEq)]
pub struct DropoutSite {
    pub layer: usize,
    pub position: SitePosition,
    pub rate: f64,
    /// The shape of one sample's activations there (`[C, H, W]` or `[F]`).
    pub sample_shape: Vec<i64>,
}

/// The masks of one training step: per site a `[P, B, …sample_shape]` tensor of 0 and 1/(1 − rate).
#[derive(Debug)]
pub struct DropoutMasks {
    pub sites: Vec<DropoutSite>,
    pub masks: Vec<Tensor>,
}

impl DropoutMasks {
    /// The mask of `layer` at `position`, if that is a site.
    pub fn at(&self, layer: usize, position: SitePosition) -> Option<&Tensor> {
        self.sites.iter().position(|s| s.layer == layer && s.position == position).map(|i| &self.masks[i])
    }
}

/// One member's random stream for dropout masks, keyed by the member's seed and the training step
/// only (never by its position in a population, its chunk or the population's size): members that
/// share a seed draw the same masks (common random numbers), and step t's masks are the same
/// whether or not the steps before it were drawn.
#[derive(Debug, Clone)]
pub struct DropoutStream {
    seed: u64,
    /// The step whose masks the next draw makes.
    step: u64,
}

impl DropoutStream {
    /// The stream of a member with seed `seed`, at step 0.
    pub fn new(seed: u64) -> Self {
        DropoutStream { seed, step: 0 }
    }

    /// Moves past `steps` steps without drawing their masks.
    pub fn skip(&mut self, steps: u64) {
        self.step += steps;
    }

    /// The generator of the next step's masks (every site of the step draws from it in order).
    fn next_step(&mut self) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0xd409_0a7e);
        rng.set_stream(self.step);
        self.step += 1;
        rng
    }
}

/// `count` mask values from `rng`: 0 with probability `rate`, else 1/(1 − rate).
fn mask(rng: &mut ChaCha8Rng, count: usize, rate: f64) -> Vec<f32> {
    let keep = (1.0 / (1.0 - rate)) as f32;
    let rate = rate as f32;
    (0..count).map(|_| if rng.random::<f32>() < rate { 0.0 } else { keep }).collect()
}

/// Draws the masks of one step for `batch` samples per member, one member per stream, site by site.
pub fn draw_masks(
    sites: &[DropoutSite],
    streams: &mut [DropoutStream],
    batch: i64,
    device: Device,
) -> DropoutMasks {
    let population = streams.len() as i64;
    masks_on(sites, draw_mask_values(sites, streams, batch), batch, population, device)
}

/// The mask values of one step, per site all members' values in member order (no tensors made).
pub fn draw_mask_values(sites: &[DropoutSite], streams: &mut [DropoutStream], batch: i64) -> Vec<Vec<f32>> {
    let mut rngs: Vec<ChaCha8Rng> = streams.iter_mut().map(DropoutStream::next_step).collect();
    sites
        .iter()
        .map(|site| {
            let per_member = (batch * site.sample_shape.iter().product::<i64>()) as usize;
            rngs.iter_mut().flat_map(|rng| mask(rng, per_member, site.rate)).collect()
        })
        .collect()
}

/// [`draw_mask_values`] as `[P, batch, …]` tensors on `device`.
pub fn masks_on(
    sites: &[DropoutSite],
    values: Vec<Vec<f32>>,
    batch: i64,
    population: i64,
    device: Device,
) -> DropoutMasks {
    let masks = sites
        .iter()
        .zip(values)
        .map(|(site, values)| {
            let mut shape = vec![population, batch];
            shape.extend_from_slice(&site.sample_shape);
            Tensor::from_slice(&values).reshape(shape.as_slice()).to_device(device)
        })
        .collect();
    DropoutMasks { sites: sites.to_vec(), masks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn site(rate: f64) -> Vec<DropoutSite> {
        vec![DropoutSite { layer: 0, position: SitePosition::LinearInput, rate, sample_shape: vec![500] }]
    }

    #[test]
    fn masks_follow_seed_and_step_only() {
        let draw =
            |streams: &mut [DropoutStream]| draw_masks(&site(0.3), streams, 4, Device::Cpu).masks.remove(0);
        // Two members with one seed draw one mask (common random numbers); another seed another.
        let masks = draw(&mut [DropoutStream::new(7), DropoutStream::new(7), DropoutStream::new(8)]);
        assert!(masks.get(0).equal(&masks.get(1)), "members with one seed draw different masks");
        assert!(!masks.get(0).equal(&masks.get(2)), "seeds 7 and 8 share a mask");
        // A member alone draws what it draws inside the population, in any position.
        let alone = draw(&mut [DropoutStream::new(8)]);
        assert!(alone.get(0).equal(&masks.get(2)));
        // Each step draws new masks; skipping a step gives what drawing it would have.
        let mut drawn = [DropoutStream::new(7)];
        let first = draw(&mut drawn);
        let second = draw(&mut drawn);
        assert!(!first.equal(&second), "steps 0 and 1 share a mask");
        let mut skipped = DropoutStream::new(7);
        skipped.skip(1);
        assert!(draw(&mut [skipped]).equal(&second));
        // Inverted dropout: values 0 or 1/(1 − p), about p zeros, mean about 1.
        let zeros = masks.eq(0.0).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
        assert!((zeros - 0.3).abs() < 0.05, "share of zeros {zeros}");
        let kept = masks.ne(0.0);
        assert!((masks.masked_select(&kept) - 1.0 / 0.7).abs().max().double_value(&[]) < 1e-6);
    }

    #[test]
    fn rates_outside_zero_one_are_errors() {
        for (fc, conv) in [(1.0, 0.0), (-0.1, 0.0), (0.0, 1.5), (f64::NAN, 0.0)] {
            let err = DropoutSpec { fc, conv }.validate().unwrap_err().to_string();
            assert!(err.contains("must lie in [0, 1)"), "{err}");
        }
        assert!(DropoutSpec { fc: 0.3, conv: 0.0 }.validate().is_ok());
    }
}
