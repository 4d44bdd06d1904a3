//! Rotation × scale (2-D, a head-pose analogue on a grid): one real digit per example, rotated and scaled.
//! Labels are (angle in degrees, scale in percent), both drawn uniformly over their ranges.
use super::rotation::warped_digits;
use crate::data::dataset::Dataset;
use crate::data::mnist::{Digits, SOURCE};
use crate::domain::Labels;
use crate::error::{Error, Result};
use rand::Rng;
use tch::Tensor;

/// The rotation × scale task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseSpec {
    /// Number of examples.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Canvas side in pixels.
    pub side: usize,
    /// Angle range in degrees.
    pub angles: (f32, f32),
    /// Scale range in percent (100 = the 28-pixel digit box stays 28 pixels).
    pub scales: (f32, f32),
}

/// Generate: `[count, 1, side, side]` digits, `[count, 2]` (angle°, scale %) labels.
pub fn generate(digits: &Digits, spec: &PoseSpec) -> Result<Dataset> {
    let ((a0, a1), (s0, s1)) = (spec.angles, spec.scales);
    let ordered = |lo: f32, hi: f32| lo < hi;
    if !ordered(a0, a1) || !ordered(s0, s1) || !ordered(0.0, s0) {
        return Err(Error::invalid(
            "pose",
            format!("angles {a0}..{a1}, scales {s0}..{s1}"),
            "need lo < hi and scales > 0",
        ));
    }
    let warped = warped_digits(digits, (spec.count, spec.seed, spec.side), |rng| {
        (rng.random_range(a0..=a1), rng.random_range(s0..=s1) / 100.0)
    })?;
    let labels: Vec<f32> = warped.draws.iter().flat_map(|&(angle, scale)| [angle, scale * 100.0]).collect();
    let source = format!("{SOURCE}, rotated {a0}°..{a1}° × scaled {s0}%..{s1}%, seed {}", spec.seed);
    let labels = Labels::Pose(Tensor::from_slice(&labels).view([-1, 2]));
    Dataset::new("mnist-pose", warped.inputs, labels, source)?.with_groups(warped.groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::derived::rotation::tests::toy_digits;

    #[test]
    fn labels_cover_both_ranges() {
        let spec = PoseSpec { count: 200, seed: 1, side: 32, angles: (-60.0, 60.0), scales: (60.0, 120.0) };
        let d = generate(&toy_digits(30), &spec).unwrap();
        let l = d.labels.tensor();
        let (angle, scale) = (l.select(1, 0), l.select(1, 1));
        assert!(angle.min().double_value(&[]) >= -60.0 && angle.max().double_value(&[]) <= 60.0);
        assert!(scale.min().double_value(&[]) >= 59.99 && scale.max().double_value(&[]) <= 120.01);
        assert!(scale.std(true).double_value(&[]) > 10.0);
    }
}
