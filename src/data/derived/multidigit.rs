//! Multi-digit canvases (multi-label over the ten digits): Positive when a digit is clearly visible, Difficult when
//! its visible fraction is under a threshold (cut by the border or occluded, like VOC's truncated objects).
use super::canvas::{compose, random_placements, CanvasSpec, Composite};
use super::sources::{example_rng, SourceBlocks};
use crate::data::dataset::Dataset;
use crate::data::mnist::{Digits, SOURCE};
use crate::domain::Labels;
use crate::error::{Error, Result};
use crate::label::{DIFFICULT, NEGATIVE, POSITIVE};
use rayon::prelude::*;
use tch::Tensor;

/// Below this visible fraction a digit counts as not present at all (nobody could see it).
pub const HIDDEN_BELOW: f32 = 0.05;

/// The multi-digit task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiDigitSpec {
    /// Number of canvases.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Canvas side, digit count and digit size ranges.
    pub canvas: CanvasSpec,
    /// Number of source-digit blocks (groups); each canvas draws its digits from one block.
    pub blocks: usize,
    /// A digit whose visible fraction is under this is Difficult.
    pub difficult_below: f32,
}

/// One drawn canvas: the composite, the class of each placed digit, and its group.
pub(crate) struct DrawnCanvas {
    pub composite: Composite,
    pub classes: Vec<u8>,
    pub group: i64,
}

/// Draw `count` canvases in parallel, each from its own generator and its own source block.
pub(crate) fn draw_canvases(
    digits: &Digits,
    count: usize,
    seed: u64,
    blocks: usize,
    canvas: &CanvasSpec,
) -> Result<Vec<DrawnCanvas>> {
    check_canvas(canvas)?;
    let sources = SourceBlocks::new(digits.len(), blocks, seed)?;
    Ok((0..count)
        .into_par_iter()
        .map(|i| {
            let mut rng = example_rng(seed, i);
            let block = sources.block_of(i);
            let places = random_placements(canvas, &mut rng);
            let chosen: Vec<usize> = places.iter().map(|_| sources.draw(block, &mut rng)).collect();
            let images: Vec<&[f32]> = chosen.iter().map(|&d| digits.image(d)).collect();
            let classes = chosen.iter().map(|&d| digits.labels[d]).collect();
            DrawnCanvas { composite: compose(&images, &places, canvas.side), classes, group: block as i64 }
        })
        .collect())
}

fn check_canvas(canvas: &CanvasSpec) -> Result<()> {
    let ((d0, d1), (s0, s1)) = (canvas.digits, canvas.digit_size);
    if canvas.side == 0 || d0 == 0 || d0 > d1 || s0.is_nan() || s0 <= 0.0 || s0 > s1 {
        return Err(Error::invalid(
            "canvas",
            format!("{canvas:?}"),
            "need side ≥ 1, 1 ≤ min digits ≤ max, 0 < min size ≤ max",
        ));
    }
    Ok(())
}

/// P/D/N codes of one canvas over the ten digit classes (a class takes its best-visible digit).
pub fn codes(classes: &[u8], visible: &[f32], difficult_below: f32) -> [i64; 10] {
    let mut codes = [NEGATIVE; 10];
    for (&class, &v) in classes.iter().zip(visible) {
        let code = if v < HIDDEN_BELOW {
            NEGATIVE
        } else if v < difficult_below {
            DIFFICULT
        } else {
            POSITIVE
        };
        codes[class as usize] = codes[class as usize].max(code);
    }
    codes
}

/// Generate: `[count, 1, side, side]` canvases, `[count, 10]` P/D/N labels, source block as group.
pub fn generate(digits: &Digits, spec: &MultiDigitSpec) -> Result<Dataset> {
    if !(0.0..=1.0).contains(&spec.difficult_below) {
        return Err(Error::invalid("difficult_below", spec.difficult_below, "must lie in [0, 1]"));
    }
    let drawn = draw_canvases(digits, spec.count, spec.seed, spec.blocks, &spec.canvas)?;
    let pixels: Vec<f32> = drawn.iter().flat_map(|c| c.composite.pixels.iter().copied()).collect();
    let labels: Vec<i64> =
        drawn.iter().flat_map(|c| codes(&c.classes, &c.composite.visible, spec.difficult_below)).collect();
    let side = spec.canvas.side as i64;
    let inputs = Tensor::from_slice(&pixels).view([spec.count as i64, 1, side, side]);
    let source = format!(
        "{SOURCE}, {}–{} digits per canvas, seed {}",
        spec.canvas.digits.0, spec.canvas.digits.1, spec.seed
    );
    let labels = Labels::MultiLabel(Tensor::from_slice(&labels).view([-1, 10]));
    Dataset::new("mnist-multidigit", inputs, labels, source)?
        .with_groups(drawn.iter().map(|c| c.group).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::derived::rotation::tests::toy_digits;

    #[test]
    fn codes_follow_visibility() {
        let c = codes(&[3, 3, 5, 7], &[0.2, 0.9, 0.3, 0.01], 0.5);
        assert_eq!((c[3], c[5], c[7], c[0]), (POSITIVE, DIFFICULT, NEGATIVE, NEGATIVE));
    }

    #[test]
    fn canvases_have_difficult_and_positive_digits() {
        let canvas = CanvasSpec { side: 32, digits: (2, 4), digit_size: (14.0, 20.0) };
        let spec = MultiDigitSpec { count: 300, seed: 9, canvas, blocks: 10, difficult_below: 0.5 };
        let d = generate(&toy_digits(50), &spec).unwrap();
        let labels = d.labels.tensor();
        assert_eq!(labels.size(), vec![300, 10]);
        let count = |code: i64| labels.eq(code).sum(tch::Kind::Int64).int64_value(&[]);
        assert!(
            count(POSITIVE) > 300 && count(DIFFICULT) > 20,
            "P {} D {}",
            count(POSITIVE),
            count(DIFFICULT)
        );
        assert_eq!(d.groups.as_ref().unwrap()[13], 3);
    }
}
