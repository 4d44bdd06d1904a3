//! Per-label error of a train run (`metrics.json` field `per_label`): test MAE of the expected label
//! versus the true label, mean over seeds per method, above the number of test examples per label
//! (where the error sits: rare labels at the ends of the range versus the well-populated middle).
use super::figure::{colour, headroom, legend, padded, tick, DrawResult, Plot, AXIS, FONT, TICK, TITLE};
use crate::rundir::records::{LabelError, MemberResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// Pixels of the figure: a tall error panel over a short count panel.
pub const SIZE: (u32, u32) = (1000, 760);

/// MAE per true label of one train run.
pub struct PerLabelPlot {
    pub task: String,
    /// Unit of the labels (axis titles).
    pub unit: String,
    /// Per method (first-seen order): (label, mean MAE over seeds) at each label with examples.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// Test examples per label (the same test split for every member).
    pub counts: Vec<(f64, usize)>,
    /// Seeds per method, for the legend.
    pub seeds: Vec<usize>,
}

impl PerLabelPlot {
    /// Groups the members' per-label errors by method; `per_label[i]` belongs to `members[i]`.
    pub fn new(task: String, unit: String, members: &[MemberResult], per_label: &[Vec<LabelError>]) -> Self {
        let mut order: Vec<String> = vec![];
        for m in members {
            if !order.contains(&m.method) {
                order.push(m.method.clone());
            }
        }
        let mut by: BTreeMap<(usize, i64), (f64, Vec<f64>)> = BTreeMap::new();
        let mut counts: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
        let mut seeds = vec![0; order.len()];
        for (m, rows) in members.iter().zip(per_label) {
            let k = order.iter().position(|o| *o == m.method).unwrap_or(0);
            seeds[k] += 1;
            for r in rows {
                let key = (r.label * 1e6).round() as i64;
                let c = counts.entry(key).or_insert((r.label, 0));
                c.1 = c.1.max(r.count);
                if r.mae.is_finite() {
                    by.entry((k, key)).or_insert((r.label, vec![])).1.push(r.mae);
                }
            }
        }
        let series = order
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let pts = by
                    .iter()
                    .filter(|((j, _), _)| *j == k)
                    .map(|(_, (label, v))| (*label, v.iter().sum::<f64>() / v.len() as f64))
                    .collect();
                (name.clone(), pts)
            })
            .collect();
        PerLabelPlot { task, unit, series, counts: counts.into_values().collect(), seeds }
    }

    /// Title of the figure.
    pub fn title(&self) -> String {
        let names: Vec<&str> = self.series.iter().map(|(m, _)| m.as_str()).collect();
        format!("{}: test MAE per true label — {}", self.task, names.join(" vs "))
    }
}

impl Plot for PerLabelPlot {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let root = root.titled(&self.title(), (FONT, TITLE))?;
        let height = root.dim_in_pixel().1;
        let (top, bottom) = root.split_vertically(height * 68 / 100);
        let labels: Vec<f64> = self.counts.iter().map(|c| c.0).collect();
        let step = labels.windows(2).map(|w| w[1] - w[0]).fold(f64::INFINITY, f64::min);
        let half = if step.is_finite() { step / 2.0 } else { 0.5 };
        let x = padded(labels.iter().copied());
        let x = (x.start.min(labels.first().copied().unwrap_or(0.0) - half))
            ..(x.end.max(labels.last().copied().unwrap_or(1.0) + half));
        let ys = self.series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)).chain(std::iter::once(0.0));
        let mut chart = ChartBuilder::on(&top)
            .margin(20)
            .margin_bottom(5)
            .x_label_area_size(30)
            .y_label_area_size(90)
            .build_cartesian_2d(x.clone(), headroom(padded(ys), 0.25))?;
        chart
            .configure_mesh()
            .y_desc(format!("test MAE ({})", self.unit))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .axis_desc_style((FONT, AXIS))
            .label_style((FONT, TICK))
            .draw()?;
        for (i, (method, pts)) in self.series.iter().enumerate() {
            let c = colour(i);
            let n = self.seeds.get(i).copied().unwrap_or(1);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(3)))?
                .label(format!("{method} (mean over {n} seed{})", if n == 1 { "" } else { "s" }))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, TICK)?;
        let most = self.counts.iter().map(|c| c.1).max().unwrap_or(1).max(1) as f64;
        let mut counts = ChartBuilder::on(&bottom)
            .margin(20)
            .margin_top(5)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x, 0.0..most * 1.15)?;
        counts
            .configure_mesh()
            .x_desc(format!("true label ({})", self.unit))
            .y_desc("test examples")
            .y_labels(4)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .axis_desc_style((FONT, AXIS))
            .label_style((FONT, TICK))
            .draw()?;
        let bar = RGBColor(150, 150, 150);
        counts.draw_series(self.counts.iter().map(|(l, n)| {
            Rectangle::new([(l - half * 0.8, 0.0), (l + half * 0.8, *n as f64)], bar.mix(0.45).filled())
        }))?;
        Ok(())
    }
}
