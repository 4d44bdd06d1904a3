//! Digit segmentation canvases: 11 classes per pixel (0 = background, 1 + d = digit d), top digit wins.
//! Pixels of faint ink (inside the optional void band) are void (255), as VOC marks object borders.
use super::canvas::CanvasSpec;
use super::multidigit::{draw_canvases, DrawnCanvas};
use crate::data::dataset::Dataset;
use crate::data::mnist::{Digits, SOURCE};
use crate::domain::Labels;
use crate::error::{Error, Result};
use crate::label::VOID;
use tch::Tensor;

/// Ink at or above this value is the digit's class.
pub const INK_CLASS: f32 = 0.5;

/// The segmentation task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentationSpec {
    /// Number of canvases.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Canvas side, digit count and digit size ranges.
    pub canvas: CanvasSpec,
    /// Number of source-digit blocks (groups).
    pub blocks: usize,
    /// Ink values in `[lo, INK_CLASS)` are void; `None` makes them background.
    pub void_from: Option<f32>,
}

/// The class map of one canvas.
fn class_map(canvas: &DrawnCanvas, void_from: Option<f32>) -> Vec<i64> {
    let c = &canvas.composite;
    c.pixels
        .iter()
        .zip(&c.owner)
        .map(|(&v, owner)| match owner {
            Some(k) if v >= INK_CLASS => 1 + canvas.classes[*k] as i64,
            Some(_) if void_from.is_some_and(|lo| v >= lo) => VOID,
            _ => 0,
        })
        .collect()
}

/// Generate: `[count, 1, side, side]` canvases, `[count, side, side]` class maps (0–10, 255 void).
pub fn generate(digits: &Digits, spec: &SegmentationSpec) -> Result<Dataset> {
    if let Some(lo) = spec.void_from.filter(|lo| !(0.0..INK_CLASS).contains(lo)) {
        return Err(Error::invalid("void_from", lo, format!("must lie in [0, {INK_CLASS})")));
    }
    let drawn = draw_canvases(digits, spec.count, spec.seed, spec.blocks, &spec.canvas)?;
    let pixels: Vec<f32> = drawn.iter().flat_map(|c| c.composite.pixels.iter().copied()).collect();
    let maps: Vec<i64> = drawn.iter().flat_map(|c| class_map(c, spec.void_from)).collect();
    let side = spec.canvas.side as i64;
    let inputs = Tensor::from_slice(&pixels).view([spec.count as i64, 1, side, side]);
    let labels = Labels::Segmentation(Tensor::from_slice(&maps).view([-1, side, side]));
    let source = format!("{SOURCE}, segmentation canvases, seed {}", spec.seed);
    Dataset::new("mnist-segmentation", inputs, labels, source)?
        .with_groups(drawn.iter().map(|c| c.group).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::derived::rotation::tests::toy_digits;

    #[test]
    fn maps_hold_background_digits_and_void() {
        let canvas = CanvasSpec { side: 32, digits: (1, 3), digit_size: (16.0, 22.0) };
        let spec = SegmentationSpec { count: 40, seed: 2, canvas, blocks: 5, void_from: Some(0.2) };
        let d = generate(&toy_digits(30), &spec).unwrap();
        let maps = d.labels.tensor();
        assert_eq!(maps.size(), vec![40, 32, 32]);
        let values: std::collections::BTreeSet<i64> =
            Vec::<i64>::try_from(maps.view([-1])).unwrap().into_iter().collect();
        assert!(
            values.contains(&0) && values.contains(&VOID) && values.iter().any(|v| (1..=10).contains(v)),
            "{values:?}"
        );
        assert!(values.iter().all(|v| (0..=10).contains(v) || *v == VOID));
        // Class pixels carry ink, background pixels almost none.
        let ink = d.inputs.squeeze_dim(1);
        let on = ink.masked_select(&maps.ge(1).logical_and(&maps.le(10)));
        assert!(on.min().double_value(&[]) >= INK_CLASS as f64);
    }
}
