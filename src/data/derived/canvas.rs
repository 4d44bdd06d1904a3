//! Rendering real 28×28 digits onto square canvases (rotation, scale, position; bilinear) and stacking them.
//! Later digits occlude earlier ones; each digit's visible fraction counts border cuts and occlusion.
use crate::data::mnist::SIDE;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Where and how one digit is drawn: centre in canvas pixels, rotation (degrees, counter-clockwise), scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Centre x (pixels from the left edge).
    pub cx: f32,
    /// Centre y (pixels from the top edge).
    pub cy: f32,
    /// Rotation in degrees, positive = counter-clockwise.
    pub angle: f32,
    /// Canvas pixels per source pixel (1 = the 28-pixel box stays 28 pixels).
    pub scale: f32,
}

/// Render `digit` (28×28) onto a `side × side` layer; zero outside the source.
pub fn render(digit: &[f32], place: &Placement, side: usize) -> Vec<f32> {
    let (sin, cos) = place.angle.to_radians().sin_cos();
    let half = SIDE as f32 / 2.0;
    let mut out = vec![0f32; side * side];
    for y in 0..side {
        let dy = y as f32 + 0.5 - place.cy;
        for x in 0..side {
            let dx = x as f32 + 0.5 - place.cx;
            // Inverse of a counter-clockwise rotation in y-down image coordinates, then of the scale.
            let sx = (cos * dx - sin * dy) / place.scale + half;
            let sy = (sin * dx + cos * dy) / place.scale + half;
            out[y * side + x] = bilinear(digit, sx - 0.5, sy - 0.5);
        }
    }
    out
}

fn bilinear(img: &[f32], x: f32, y: f32) -> f32 {
    if x <= -1.0 || y <= -1.0 || x >= SIDE as f32 || y >= SIDE as f32 {
        return 0.0;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| {
        if xi < 0.0 || yi < 0.0 || xi >= SIDE as f32 || yi >= SIDE as f32 {
            0.0
        } else {
            img[yi as usize * SIDE + xi as usize]
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// How multi-digit canvases are drawn: canvas side, digit count range, digit box size range (pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanvasSpec {
    /// Canvas side in pixels.
    pub side: usize,
    /// Fewest and most digits per canvas.
    pub digits: (usize, usize),
    /// Smallest and largest digit box side in pixels (the 28-pixel box is scaled to it).
    pub digit_size: (f32, f32),
}

/// Ink threshold: a layer pixel above it belongs to the digit's strokes.
pub const INK: f32 = 0.3;
/// Silhouette threshold: a layer pixel above it hides what is below (before a one-pixel dilation).
const SILHOUETTE: f32 = 0.05;

/// A stacked canvas: the pixels, which digit is on top at each pixel, and each digit's visible fraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    /// `side²` grey values in [0, 1].
    pub pixels: Vec<f32>,
    /// Index (into the placed digits) of the digit seen at each pixel.
    pub owner: Vec<Option<usize>>,
    /// Per digit: visible ink pixels / all its ink pixels (as if the canvas were unbounded).
    pub visible: Vec<f32>,
}

/// Draw random placements for one canvas: count, sizes and centres (up to a quarter box outside the canvas,
/// so that some digits are cut by the border).
pub fn random_placements(spec: &CanvasSpec, rng: &mut ChaCha8Rng) -> Vec<Placement> {
    let count = rng.random_range(spec.digits.0..=spec.digits.1);
    (0..count)
        .map(|_| {
            let size = rng.random_range(spec.digit_size.0..=spec.digit_size.1);
            let (lo, hi) = (-size / 4.0, spec.side as f32 + size / 4.0);
            Placement {
                cx: rng.random_range(lo..hi),
                cy: rng.random_range(lo..hi),
                angle: 0.0,
                scale: size / SIDE as f32,
            }
        })
        .collect()
}

/// Stack `digits` (28×28 each) with `places` on a `side` canvas, later ones on top.
pub fn compose(digits: &[&[f32]], places: &[Placement], side: usize) -> Composite {
    let margin = places.iter().map(|p| (p.scale * SIDE as f32 * 0.75).ceil() as usize + 1).max().unwrap_or(0);
    let wide = side + 2 * margin;
    let layers: Vec<Vec<f32>> = digits
        .iter()
        .zip(places)
        .map(|(d, p)| {
            render(d, &Placement { cx: p.cx + margin as f32, cy: p.cy + margin as f32, ..*p }, wide)
        })
        .collect();
    let mut owner = vec![None; wide * wide];
    for (k, layer) in layers.iter().enumerate() {
        for (p, covered) in dilate(layer, wide).into_iter().enumerate() {
            if covered {
                owner[p] = Some(k);
            }
        }
    }
    crop(&layers, &owner, wide, margin, side)
}

/// Pixels whose layer value exceeds the silhouette threshold, dilated by one pixel (4-neighbourhood).
fn dilate(layer: &[f32], wide: usize) -> Vec<bool> {
    let on: Vec<bool> = layer.iter().map(|v| *v > SILHOUETTE).collect();
    let mut out = on.clone();
    for y in 0..wide {
        for x in 0..wide {
            let near = |xx: usize, yy: usize| on[yy * wide + xx];
            let any = (x > 0 && near(x - 1, y))
                || (x + 1 < wide && near(x + 1, y))
                || (y > 0 && near(x, y - 1))
                || (y + 1 < wide && near(x, y + 1));
            out[y * wide + x] |= any;
        }
    }
    out
}

fn crop(layers: &[Vec<f32>], owner: &[Option<usize>], wide: usize, margin: usize, side: usize) -> Composite {
    let mut composite =
        Composite { pixels: vec![0.0; side * side], owner: vec![None; side * side], visible: Vec::new() };
    let mut seen = vec![0usize; layers.len()];
    for y in 0..side {
        for x in 0..side {
            let (p, q) = ((y + margin) * wide + x + margin, y * side + x);
            if let Some(k) = owner[p] {
                composite.pixels[q] = layers[k][p];
                composite.owner[q] = Some(k);
                seen[k] += usize::from(layers[k][p] > INK);
            }
        }
    }
    composite.visible = layers
        .iter()
        .zip(seen)
        .map(|(layer, s)| {
            let total = layer.iter().filter(|v| **v > INK).count();
            if total == 0 {
                0.0
            } else {
                s as f32 / total as f32
            }
        })
        .collect();
    composite
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar() -> Vec<f32> {
        // A vertical bar, columns 13–14, rows 4–23.
        (0..SIDE * SIDE)
            .map(|i| if (13..15).contains(&(i % SIDE)) && (4..24).contains(&(i / SIDE)) { 1.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn identity_render_reproduces_the_digit() {
        let d = bar();
        let out = render(&d, &Placement { cx: 14.0, cy: 14.0, angle: 0.0, scale: 1.0 }, SIDE);
        assert!(out.iter().zip(&d).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn rotating_90_degrees_turns_the_bar_horizontal() {
        let out = render(&bar(), &Placement { cx: 14.0, cy: 14.0, angle: 90.0, scale: 1.0 }, SIDE);
        let row: f32 = (0..SIDE).map(|x| out[13 * SIDE + x] + out[14 * SIDE + x]).sum();
        let col: f32 = (0..SIDE).map(|y| out[y * SIDE + 6]).sum();
        assert!(row > 35.0 && col > 1.5 && col < 2.5, "row {row} col {col}");
    }

    #[test]
    fn border_cut_and_occlusion_reduce_visibility() {
        let d = bar();
        let centred = compose(&[&d], &[Placement { cx: 16.0, cy: 16.0, angle: 0.0, scale: 1.0 }], 32);
        assert!((centred.visible[0] - 1.0).abs() < 1e-6);
        let cut = compose(&[&d], &[Placement { cx: 16.0, cy: 2.0, angle: 0.0, scale: 1.0 }], 32);
        assert!(cut.visible[0] < 0.7, "{:?}", cut.visible);
        let same = Placement { cx: 16.0, cy: 16.0, angle: 0.0, scale: 1.0 };
        let hidden = compose(&[&d, &d], &[same, same], 32);
        assert_eq!(hidden.visible[0], 0.0);
        assert!((hidden.visible[1] - 1.0).abs() < 1e-6);
        assert!(hidden.owner.iter().all(|o| *o != Some(0)));
    }
}
