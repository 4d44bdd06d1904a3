//! Outer-loop trajectories of a search: φ per outer step (with the task's fixed φ dashed), and the
//! query loss per step with a ±1 sd band over the step's episodes, from `state.json`'s history.
use super::figure::{
    band, colour, headroom, int_tick, legend, padded, tick, DrawResult, Plot, AXIS, FONT, TICK, TITLE, WIDE,
};
use crate::family::DistributionSpec;
use crate::rundir::records::StepRecord;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// The trajectory of one search run.
pub struct TrajectoryPlot<'a> {
    pub task: String,
    pub method: String,
    pub history: &'a [StepRecord],
    /// The task's fixed distribution (its φ is drawn dashed).
    pub default: Option<&'a DistributionSpec>,
    /// Axis title of the query loss, with its unit.
    pub loss_axis: String,
    /// Unit of σ-like parameters.
    pub unit: String,
    /// Label values (bins), naming per-label σ.
    pub labels: Option<Vec<f64>>,
    /// The learned φ the search wrote (`learned.toml`), drawn after the last step (a learner's
    /// update after its last step is in no step's record).
    pub learned: Option<Vec<f64>>,
}

/// Names of the φ coordinates of `family` with `n` values (`labels`: the bins, for σ per label).
pub fn phi_names(family: Option<&DistributionSpec>, n: usize, labels: Option<&[f64]>) -> Vec<String> {
    match family {
        Some(spec) => spec.phi_names(n, labels),
        None if n == 1 => vec!["σ".into()],
        None => (0..n).map(|i| format!("φ[{i}]")).collect(),
    }
}

impl TrajectoryPlot<'_> {
    /// Title of the figure.
    pub fn title(&self) -> String {
        format!("{}: outer loop ({}) — φ and meta-train query loss per step", self.task, self.method)
    }
}

impl Plot for TrajectoryPlot<'_> {
    fn size(&self) -> (u32, u32) {
        WIDE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let root = root.titled(&self.title(), (FONT, TITLE))?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        let steps: Vec<f64> = self.history.iter().map(|r| (r.step + 1) as f64).collect();
        let last = steps.last().copied().unwrap_or(1.0);
        let d = self.history.first().map_or(0, |r| r.phi.len());
        let learned = self.learned.as_ref().filter(|l| l.len() == d && d <= 6);
        // The learned φ stands one step after the last, on the φ panel.
        let x_range = 0.5..last + if learned.is_some() { 1.5 } else { 0.5 };
        let names = phi_names(self.default, d, self.labels.as_deref());
        // A scalar fixed σ is compared with every per-label σ.
        let fixed = self
            .default
            .map(|s| s.phi())
            .map(|p| if p.len() == 1 && d > 1 { vec![p[0]; d] } else { p })
            .filter(|p| p.len() == d);

        // φ per step.
        let ys = self
            .history
            .iter()
            .flat_map(|r| r.phi.iter().copied())
            .chain(fixed.iter().flatten().copied())
            .chain(learned.iter().flat_map(|l| l.iter().copied()));
        let entries = if d > 6 { 2 } else { 2 * d };
        let mut chart = ChartBuilder::on(&left)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range.clone(), headroom(padded(ys), 0.15 + 0.07 * entries as f64))?;
        let phi_desc = if names.iter().all(|n| n.starts_with('σ') && !n.contains("pixels")) {
            format!("φ ({})", self.unit)
        } else {
            "φ".to_string()
        };
        chart
            .configure_mesh()
            .x_desc("outer step")
            .y_desc(phi_desc)
            .x_label_formatter(&int_tick)
            .y_label_formatter(&tick)
            .axis_desc_style((FONT, AXIS))
            .label_style((FONT, TICK))
            .draw()?;
        let many = d > 6;
        // A scalar fixed φ replicated over labels is drawn once.
        let shared = fixed.as_ref().is_some_and(|f| d > 1 && f.iter().all(|x| *x == f[0]));
        for (i, name) in names.iter().enumerate() {
            let c = if many { colour(0).mix(0.5).to_rgba() } else { colour(i).to_rgba() };
            let points =
                steps.iter().zip(self.history).map(|(x, r)| (*x, r.phi.get(i).copied().unwrap_or(f64::NAN)));
            let line =
                chart.draw_series(LineSeries::new(points, c.stroke_width(if many { 1 } else { 3 })))?;
            if !many || i == 0 {
                let label = if many {
                    format!("φ per step, one line per label ({d})")
                } else {
                    format!("{name} per step")
                };
                line.label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
            }
        }
        if let Some(l) = learned {
            for (i, v) in l.iter().enumerate() {
                let c = colour(i).to_rgba();
                let marker = chart.draw_series([Cross::new((last + 1.0, *v), 9, c.stroke_width(3))])?;
                if i == 0 {
                    marker
                        .label("learned φ (learned.toml)")
                        .legend(move |(x, y)| Cross::new((x + 12, y), 6, c.stroke_width(3)));
                }
            }
        }
        if let Some(f) = &fixed {
            let lines: Vec<(usize, String)> = if shared {
                vec![(0, "σ (all labels)".to_string())]
            } else if many {
                vec![]
            } else {
                names.iter().cloned().enumerate().collect()
            };
            for (i, name) in lines {
                let c = if shared { colour(7).to_rgba() } else { colour(i).to_rgba() };
                let v = f[i];
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(x_range.start, v), (x_range.end, v)],
                        8,
                        6,
                        c.stroke_width(2),
                    ))?
                    .label(format!("fixed {name} = {v}"))
                    .legend(move |(x, y)| {
                        DashedPathElement::new(vec![(x, y), (x + 24, y)], 5, 3, c.stroke_width(2))
                    });
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, TICK)?;

        // Query loss ± sd.
        let mean: Vec<f64> = self.history.iter().map(|r| r.loss_mean).collect();
        let lower: Vec<f64> = self.history.iter().map(|r| r.loss_mean - r.loss_sd.max(0.0)).collect();
        let upper: Vec<f64> = self.history.iter().map(|r| r.loss_mean + r.loss_sd.max(0.0)).collect();
        let ys = lower.iter().chain(&upper).copied();
        let mut chart = ChartBuilder::on(&right)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range, headroom(padded(ys), 0.3))?;
        chart
            .configure_mesh()
            .x_desc("outer step")
            .y_desc(self.loss_axis.as_str())
            .x_label_formatter(&int_tick)
            .y_label_formatter(&tick)
            .axis_desc_style((FONT, AXIS))
            .label_style((FONT, TICK))
            .draw()?;
        let c = colour(2);
        chart
            .draw_series(std::iter::once(Polygon::new(band(&steps, &lower, &upper), c.mix(0.2).filled())))?
            .label("± 1 sd over the step's episodes")
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 24, y + 6)], c.mix(0.2).filled()));
        chart
            .draw_series(LineSeries::new(steps.iter().zip(&mean).map(|(x, y)| (*x, *y)), c.stroke_width(3)))?
            .label("mean query loss")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        chart.draw_series(steps.iter().zip(&mean).map(|(x, y)| Circle::new((*x, *y), 4, c.filled())))?;
        legend(&mut chart, SeriesLabelPosition::UpperRight, TICK)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg_of(plot: &TrajectoryPlot) -> String {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, plot.size()).into_drawing_area();
            plot.draw(&root).unwrap();
            root.present().unwrap();
        }
        svg
    }

    /// The learned φ (after the last step's update) is drawn one step after the last, with its
    /// legend; without it, or when it has another length than the steps' φ, it is not.
    #[test]
    fn the_learned_phi_follows_the_last_step() {
        let history: Vec<StepRecord> = (0..3)
            .map(|s| StepRecord {
                step: s,
                phi: vec![2.0 + s as f64],
                loss_mean: 1.0,
                loss_sd: 0.1,
                metric_mean: 1.0,
            })
            .collect();
        let plot = |learned: Option<Vec<f64>>| TrajectoryPlot {
            task: "t".into(),
            method: "es".into(),
            history: &history,
            default: None,
            loss_axis: "query loss".into(),
            unit: "years".into(),
            labels: None,
            learned,
        };
        assert!(svg_of(&plot(Some(vec![5.5]))).contains("learned φ (learned.toml)"));
        assert!(!svg_of(&plot(None)).contains("learned φ (learned.toml)"));
        assert!(!svg_of(&plot(Some(vec![5.5, 1.0]))).contains("learned φ (learned.toml)"));
    }
}
