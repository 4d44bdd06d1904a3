//! Rendering: every figure is drawn once per backend, to `NAME.png` (bitmap) and `NAME.svg`, with one
//! palette, font sizes readable at README width, and small helpers (bands, heatmap colours, ranges).
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// What drawing returns (plotters' errors boxed; mapped to the library's error at the edge).
pub type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Standard sizes (pixels) of the PNGs.
pub const WIDE: (u32, u32) = (1200, 600);
pub const PLAIN: (u32, u32) = (1000, 620);
pub const SQUARE: (u32, u32) = (1100, 1000);

/// Font sizes: title, axis descriptions, tick labels and legends.
pub const TITLE: u32 = 26;
pub const AXIS: u32 = 20;
pub const TICK: u32 = 16;
pub const FONT: &str = "sans-serif";

/// Something that can draw itself on any backend.
pub trait Plot {
    /// Pixels of the PNG (the SVG has the same size).
    fn size(&self) -> (u32, u32);
    /// Draws on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// A written figure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Figure {
    /// File stem (`fewshot-rot-fs`).
    pub name: String,
    pub title: String,
    /// What the figure shows and how to read it.
    pub caption: String,
    pub png: PathBuf,
    pub svg: PathBuf,
    pub size: (u32, u32),
}

/// Draws `plot` to `dir/NAME.png` and `dir/NAME.svg`.
pub fn render<P: Plot>(plot: &P, dir: &Path, name: &str, title: &str, caption: &str) -> Result<Figure> {
    let size = plot.size();
    let png = dir.join(format!("{name}.png"));
    let svg = dir.join(format!("{name}.svg"));
    let fail = |path: &Path, e: Box<dyn std::error::Error>| Error::data(path, format!("drawing {name}: {e}"));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw_on(plot, &root).map_err(|e| fail(&png, e))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw_on(plot, &root).map_err(|e| fail(&svg, e))?;
    }
    Ok(Figure { name: name.into(), title: title.into(), caption: caption.into(), png, svg, size })
}

fn draw_on<P: Plot, DB: DrawingBackend>(plot: &P, root: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    plot.draw(root)?;
    root.present()?;
    Ok(())
}

/// The legend of every figure: at `position`, on a white box with a black border.
pub fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    size: u32,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, size))
        .draw()?;
    Ok(())
}

/// The i-th colour of a colour-blind-friendly palette (Okabe–Ito, then greys).
pub fn colour(i: usize) -> RGBColor {
    const P: [RGBColor; 8] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(120, 120, 120),
        RGBColor(0, 0, 0),
    ];
    P[i % P.len()]
}

/// Viridis-like colour of `t` in [0, 1] (dark purple → yellow).
pub fn heat(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A range covering the finite `values` with 5 % margins (a unit range around a constant).
pub fn padded(values: impl IntoIterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if hi - lo < 1e-12 {
        let d = lo.abs().max(1.0) * 0.05;
        return lo - d..hi + d;
    }
    let m = (hi - lo) * 0.05;
    lo - m..hi + m
}

/// Tick labels without trailing zeros (`20`, `0.25`, not `20.0`).
pub fn tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v)
    } else {
        let t = format!("{v:.4}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Tick labels at whole numbers only (steps, pixels, offsets); other ticks stay blank.
pub fn int_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v)
    } else {
        String::new()
    }
}

/// `range` extended upwards by `fraction` of its span (room for the legend above the data).
pub fn headroom(range: std::ops::Range<f64>, fraction: f64) -> std::ops::Range<f64> {
    let span = range.end - range.start;
    range.start..range.end + span * fraction
}

/// The closed polygon of a band between `lower` and `upper` along `xs`.
pub fn band(xs: &[f64], lower: &[f64], upper: &[f64]) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = xs.iter().zip(upper).map(|(x, y)| (*x, *y)).collect();
    pts.extend(xs.iter().zip(lower).rev().map(|(x, y)| (*x, *y)));
    pts.retain(|(x, y)| x.is_finite() && y.is_finite());
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_colours() {
        let r = padded([1.0, 3.0, f64::NAN]);
        assert!((r.start - 0.9).abs() < 1e-12 && (r.end - 3.1).abs() < 1e-12);
        assert_eq!(padded([2.0, 2.0]), 1.9..2.1);
        assert_eq!(heat(0.0), RGBColor(68, 1, 84));
        assert_eq!(heat(1.0), RGBColor(253, 231, 37));
        assert_eq!(
            (tick(&20.0), tick(&0.25), tick(&-2.0)),
            ("20".to_string(), "0.25".to_string(), "-2".to_string())
        );
        assert_eq!(headroom(0.0..1.0, 0.5), 0.0..1.5);
        assert_eq!(
            band(&[0.0, 1.0], &[0.0, 0.0], &[1.0, 2.0]),
            vec![(0.0, 1.0), (1.0, 2.0), (1.0, 0.0), (0.0, 0.0)]
        );
    }
}
