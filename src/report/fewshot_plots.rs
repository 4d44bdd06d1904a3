//! Few-shot figures: the headline metric versus shots (or training fraction), one line per method
//! with its 95 % CI band; and the paired difference of each method against the baseline with CI bars.
use super::figure::{
    band, colour, headroom, legend, padded, tick, DrawResult, Plot, AXIS, FONT, PLAIN, TICK, TITLE,
};
use crate::family::brief;
use crate::rundir::records::FewshotSummary;
use crate::stats::MeanCi;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Which of the two figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FewshotFigure {
    Curves,
    Differences,
}

/// A few-shot figure of one run.
pub struct FewshotPlot<'a> {
    pub summary: &'a FewshotSummary,
    /// Axis title of the metric, with its unit.
    pub metric_axis: String,
    pub which: FewshotFigure,
}

impl FewshotPlot<'_> {
    /// Title of the figure.
    pub fn title(&self) -> String {
        let s = self.summary;
        let direction = if s.higher_is_better { "higher is better" } else { "lower is better" };
        match self.which {
            FewshotFigure::Curves => format!(
                "{}: {} vs {} ({direction}), mean ± 95 % CI",
                s.task,
                s.metric.to_uppercase(),
                self.x_name()
            ),
            FewshotFigure::Differences => format!(
                "{}: paired {} difference vs {} ({direction})",
                s.task,
                s.metric.to_uppercase(),
                s.baseline
            ),
        }
    }

    fn x_name(&self) -> &'static str {
        if self.summary.axis == "shots" {
            "shots K"
        } else {
            "training fraction"
        }
    }

    fn x_desc(&self) -> &'static str {
        if self.summary.axis == "shots" {
            "support examples per label K (log scale)"
        } else {
            "fraction of the training split (%)"
        }
    }

    /// The methods drawn and, per method, (x, statistic) points.
    fn series(&self) -> Vec<(String, Vec<(f64, MeanCi)>)> {
        let s = self.summary;
        s.methods
            .iter()
            .filter(|(name, _)| self.which == FewshotFigure::Curves || *name != s.baseline)
            .map(|(name, _)| {
                let pts = s
                    .settings
                    .iter()
                    .filter_map(|setting| {
                        let cell = s.cell(name, setting)?;
                        let stat = match self.which {
                            FewshotFigure::Curves => cell.metrics.get(&s.metric),
                            FewshotFigure::Differences => cell.vs_baseline.get(&s.metric),
                        }?;
                        Some((self.x(setting.x()), *stat))
                    })
                    .filter(|(_, m)| m.mean.is_finite())
                    .collect();
                (name.clone(), pts)
            })
            .collect()
    }

    fn x(&self, raw: f64) -> f64 {
        if self.summary.axis == "shots" {
            raw
        } else {
            raw * 100.0
        }
    }

    fn label(&self, name: &str) -> String {
        match self.summary.methods.iter().find(|(n, _)| n == name) {
            Some((n, trains)) if n != trains => format!("{} = {}", brief(n), brief(trains)),
            _ => name.to_string(),
        }
    }
}

impl Plot for FewshotPlot<'_> {
    fn size(&self) -> (u32, u32) {
        PLAIN
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let series = self.series();
        let xs: Vec<f64> = self.summary.settings.iter().map(|s| self.x(s.x())).collect();
        let ci = |m: &MeanCi| if m.ci95.is_finite() { m.ci95 } else { 0.0 };
        let mut ys: Vec<f64> = series
            .iter()
            .flat_map(|(_, p)| p.iter().flat_map(|(_, m)| [m.mean - ci(m), m.mean + ci(m)]))
            .collect();
        if self.which == FewshotFigure::Differences {
            ys.push(0.0);
        }
        let y_range = headroom(padded(ys), 0.35);
        let y_desc = match self.which {
            FewshotFigure::Curves => self.metric_axis.clone(),
            FewshotFigure::Differences => {
                format!("{} − {}: {}", "method", self.summary.baseline, self.metric_axis)
            }
        };
        let mut builder = ChartBuilder::on(root);
        builder.caption(self.title(), (FONT, TITLE)).margin(20).x_label_area_size(60).y_label_area_size(90);
        let shots = self.summary.axis == "shots";
        let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| (l.min(*x), h.max(*x)));
        let offset = |i: usize, n: usize| -> f64 {
            // Spread the markers of the methods a little around each point so CI bars do not overlap.
            let centred = i as f64 - (n as f64 - 1.0) / 2.0;
            if shots {
                (centred * 0.025).exp()
            } else {
                centred * (hi - lo).max(1.0) * 0.008
            }
        };
        let shift = |x: f64, i: usize, n: usize| if shots { x * offset(i, n) } else { x + offset(i, n) };
        macro_rules! draw_all {
            ($chart:expr) => {{
                let chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(self.x_desc())
                    .y_desc(y_desc.as_str())
                    .axis_desc_style((FONT, AXIS))
                    .label_style((FONT, TICK))
                    .x_label_formatter(&|x: &f64| {
                        if shots {
                            format!("{}", x.round())
                        } else {
                            format!("{x:.0}")
                        }
                    })
                    .y_label_formatter(&tick)
                    .draw()?;
                let n = series.len();
                if self.which == FewshotFigure::Differences {
                    let (a, b) =
                        (if shots { lo / 1.3 } else { lo - 5.0 }, if shots { hi * 1.3 } else { hi + 5.0 });
                    chart
                        .draw_series(LineSeries::new(vec![(a, 0.0), (b, 0.0)], BLACK.stroke_width(2)))?
                        .label("no difference (paired on the same episodes)")
                        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2)));
                }
                for (i, (name, pts)) in series.iter().enumerate() {
                    let c = colour(if self.which == FewshotFigure::Differences { i + 1 } else { i });
                    let px: Vec<f64> = pts.iter().map(|(x, _)| shift(*x, i, n)).collect();
                    if self.which == FewshotFigure::Curves {
                        let lower: Vec<f64> = pts.iter().map(|(_, m)| m.mean - ci(m)).collect();
                        let upper: Vec<f64> = pts.iter().map(|(_, m)| m.mean + ci(m)).collect();
                        chart.draw_series(std::iter::once(Polygon::new(
                            band(&px, &lower, &upper),
                            c.mix(0.15).filled(),
                        )))?;
                    }
                    chart
                        .draw_series(LineSeries::new(
                            px.iter().zip(pts).map(|(x, (_, m))| (*x, m.mean)),
                            c.stroke_width(3),
                        ))?
                        .label(self.label(name))
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
                    chart.draw_series(px.iter().zip(pts).map(|(x, (_, m))| {
                        ErrorBar::new_vertical(
                            *x,
                            m.mean - ci(m),
                            m.mean,
                            m.mean + ci(m),
                            c.stroke_width(2),
                            10,
                        )
                    }))?;
                    chart.draw_series(
                        px.iter().zip(pts).map(|(x, (_, m))| Circle::new((*x, m.mean), 5, c.filled())),
                    )?;
                }
                legend(chart, SeriesLabelPosition::UpperRight, TICK)?;
            }};
        }
        if shots {
            let x_range = (lo / 1.3).max(0.5)..hi * 1.3;
            let mut chart =
                builder.build_cartesian_2d(x_range.log_scale().with_key_points(xs.clone()), y_range)?;
            draw_all!(&mut chart);
        } else {
            let mut chart = builder.build_cartesian_2d((lo - 5.0).max(0.0)..hi + 5.0, y_range)?;
            draw_all!(&mut chart);
        }
        Ok(())
    }
}
