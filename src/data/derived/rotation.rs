//! Rotation angle (1-D ordinal): each example is one real digit, centred and rotated by an angle drawn uniformly.
//! Also the shared generator of single warped digits, used by the rotation × scale task too.
use super::canvas::{render, Placement};
use super::sources::{example_rng, SourceBlocks};
use crate::data::dataset::Dataset;
use crate::data::mnist::{Digits, SOURCE};
use crate::domain::Labels;
use crate::error::{Error, Result};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use tch::Tensor;

/// The rotation task: how many examples, the angle range, the canvas and the digit scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotationSpec {
    /// Number of examples.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Canvas side in pixels.
    pub side: usize,
    /// Smallest and largest angle in degrees (drawn uniformly, continuous).
    pub angles: (f32, f32),
    /// Digit scale (canvas pixels per source pixel).
    pub scale: f32,
}

/// Warped single digits: pixels `[count, 1, side, side]`, the drawn (angle, scale) per example, the source digit as group.
pub(crate) struct Warped {
    pub inputs: Tensor,
    pub draws: Vec<(f32, f32)>,
    pub groups: Vec<i64>,
}

/// Draw `count` single-digit examples; `draw` gives (angle°, scale) from the example's own generator.
pub(crate) fn warped_digits(
    digits: &Digits,
    (count, seed, side): (usize, u64, usize),
    draw: impl Fn(&mut ChaCha8Rng) -> (f32, f32) + Sync,
) -> Result<Warped> {
    if count == 0 || side == 0 {
        return Err(Error::invalid("count/size", format!("{count}/{side}"), "must both be ≥ 1"));
    }
    let blocks = SourceBlocks::new(digits.len(), digits.len(), seed)?;
    let examples: Vec<(Vec<f32>, (f32, f32), i64)> = (0..count)
        .into_par_iter()
        .map(|i| {
            let mut rng = example_rng(seed, i);
            let digit = blocks.draw(blocks.block_of(i), &mut rng);
            let (angle, scale) = draw(&mut rng);
            let centre = side as f32 / 2.0;
            let pixels =
                render(digits.image(digit), &Placement { cx: centre, cy: centre, angle, scale }, side);
            (pixels, (angle, scale), digit as i64)
        })
        .collect();
    let pixels: Vec<f32> = examples.iter().flat_map(|e| e.0.iter().copied()).collect();
    let s = side as i64;
    Ok(Warped {
        inputs: Tensor::from_slice(&pixels).view([count as i64, 1, s, s]),
        draws: examples.iter().map(|e| e.1).collect(),
        groups: examples.iter().map(|e| e.2).collect(),
    })
}

/// Generate the rotation dataset: `[count, 1, side, side]` digits, angle labels in degrees.
pub fn generate(digits: &Digits, spec: &RotationSpec) -> Result<Dataset> {
    let (lo, hi) = spec.angles;
    let ordered = |lo: f32, hi: f32| lo < hi;
    if !ordered(lo, hi) || !ordered(0.0, spec.scale) {
        return Err(Error::invalid(
            "rotation",
            format!("angles {lo}..{hi}, scale {}", spec.scale),
            "need lo < hi and scale > 0",
        ));
    }
    let warped = warped_digits(digits, (spec.count, spec.seed, spec.side), |rng| {
        (rng.random_range(lo..=hi), spec.scale)
    })?;
    let angles: Vec<f32> = warped.draws.iter().map(|d| d.0).collect();
    let source = format!("{SOURCE}, rotated {lo}°..{hi}°, seed {}", spec.seed);
    Dataset::new("mnist-rotation", warped.inputs, Labels::Ordinal(Tensor::from_slice(&angles)), source)?
        .with_groups(warped.groups)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::mnist::PIXELS;

    /// Synthetic stand-ins for unit tests only (the real digits are used by the integration tests).
    pub(crate) fn toy_digits(n: usize) -> Digits {
        let mut pixels = vec![0f32; n * PIXELS];
        for i in 0..n {
            for y in 6..22 {
                pixels[i * PIXELS + y * 28 + 12 + i % 4] = 1.0;
            }
        }
        Digits { pixels, labels: (0..n).map(|i| (i % 10) as u8).collect() }
    }

    #[test]
    fn seeded_angles_in_range_and_reproducible() {
        let digits = toy_digits(20);
        let spec = RotationSpec { count: 50, seed: 3, side: 32, angles: (-90.0, 90.0), scale: 1.0 };
        let a = generate(&digits, &spec).unwrap();
        let b = generate(&digits, &spec).unwrap();
        assert!(a.inputs.equal(&b.inputs) && a.labels.tensor().equal(b.labels.tensor()));
        let (lo, hi) = a.label_range().unwrap();
        assert!(lo >= -90.0 && hi <= 90.0 && hi - lo > 90.0);
        assert_eq!(a.inputs.size(), vec![50, 1, 32, 32]);
        let c = generate(&digits, &RotationSpec { seed: 4, ..spec }).unwrap();
        assert!(!a.labels.tensor().equal(c.labels.tensor()));
    }
}
