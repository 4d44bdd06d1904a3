//! Inner-loop learning curves of a train run (`curves.jsonl`): the validation headline metric per
//! optimiser step, mean over seeds per method with a min–max band (DLDL versus one-hot: convergence speed).
use super::figure::{
    band, colour, headroom, legend, padded, tick, DrawResult, Plot, AXIS, FONT, PLAIN, TICK, TITLE,
};
use crate::rundir::records::CurveLine;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// Per method: (step, mean, min, max) over seeds at each evaluation.
pub type Series = Vec<(String, Vec<(f64, f64, f64, f64)>)>;

/// Learning curves of one train run.
pub struct CurvesPlot {
    pub task: String,
    pub metric: String,
    /// Axis title of the metric, with its unit.
    pub metric_axis: String,
    /// Per method (first-seen order): steps and, per step, (mean, min, max) over seeds.
    pub series: Series,
}

/// The metric the curves show: the first of mae, map, miou present, else `loss`.
pub fn curve_metric(lines: &[CurveLine]) -> String {
    ["mae", "map", "miou"]
        .iter()
        .find(|m| lines.iter().any(|l| l.point.val.contains_key(**m)))
        .map_or("loss", |m| *m)
        .to_string()
}

impl CurvesPlot {
    /// Groups the logged points by method and step.
    pub fn new(task: String, metric: String, metric_axis: String, lines: &[CurveLine]) -> Self {
        let mut order: Vec<String> = vec![];
        let mut by: BTreeMap<(String, usize), Vec<f64>> = BTreeMap::new();
        for l in lines {
            if !order.contains(&l.method) {
                order.push(l.method.clone());
            }
            let v = l.point.val.get(&metric).copied().unwrap_or(f64::NAN);
            if v.is_finite() {
                by.entry((l.method.clone(), l.point.step)).or_default().push(v);
            }
        }
        let series = order
            .into_iter()
            .map(|m| {
                let pts = by
                    .iter()
                    .filter(|((method, _), _)| *method == m)
                    .map(|((_, step), v)| {
                        let mean = v.iter().sum::<f64>() / v.len() as f64;
                        let (lo, hi) = v
                            .iter()
                            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
                        (*step as f64, mean, lo, hi)
                    })
                    .collect();
                (m, pts)
            })
            .collect();
        CurvesPlot { task, metric, metric_axis, series }
    }

    /// Title of the figure.
    pub fn title(&self) -> String {
        let names: Vec<&str> = self.series.iter().map(|(m, _)| m.as_str()).collect();
        format!(
            "{}: validation {} during training — {}",
            self.task,
            self.metric.to_uppercase(),
            names.join(" vs ")
        )
    }
}

impl Plot for CurvesPlot {
    fn size(&self) -> (u32, u32) {
        PLAIN
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let xs = self.series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
        let x_max = xs.fold(1.0f64, f64::max);
        let ys = self.series.iter().flat_map(|(_, p)| p.iter().flat_map(|q| [q.2, q.3]));
        let mut chart = ChartBuilder::on(root)
            .caption(self.title(), (FONT, TITLE))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..x_max * 1.02, headroom(padded(ys), 0.2))?;
        chart
            .configure_mesh()
            .x_desc("optimiser step (mini-batches)")
            .y_desc(self.metric_axis.as_str())
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .axis_desc_style((FONT, AXIS))
            .label_style((FONT, TICK))
            .draw()?;
        for (i, (method, pts)) in self.series.iter().enumerate() {
            let c = colour(i);
            let x: Vec<f64> = pts.iter().map(|p| p.0).collect();
            let lo: Vec<f64> = pts.iter().map(|p| p.2).collect();
            let hi: Vec<f64> = pts.iter().map(|p| p.3).collect();
            chart.draw_series(std::iter::once(Polygon::new(band(&x, &lo, &hi), c.mix(0.15).filled())))?;
            chart
                .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), c.stroke_width(3)))?
                .label(format!("{method} (mean over seeds; band: min–max)"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
            chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 4, c.filled())))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, TICK)?;
        Ok(())
    }
}
