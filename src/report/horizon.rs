//! The look-ahead horizon figure: the scalar φ that hypergradient studies of one task learned,
//! against how many inner steps each kept on the graph (`unroll`), short-horizon bias made visible.
use super::figure::{
    colour, headroom, int_tick, legend, padded, render, tick, DrawResult, Plot, AXIS, FONT, TICK, TITLE, WIDE,
};
use super::index::Section;
use super::runs::{Run, RunKind};
use crate::error::Result;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::path::Path;

/// One hypergradient study at one horizon.
pub struct HorizonRun {
    /// Inner steps kept on the graph (K).
    pub unroll: usize,
    /// The φ each outer step trained with.
    pub trajectory: Vec<f64>,
    /// The φ it returned (`learned.toml`).
    pub learned: f64,
}

/// Studies of one task that differ in their horizon.
pub struct HorizonPlot {
    pub task: String,
    /// Axis title of φ (`σ (degrees)`, `σ_f (pixels)`, …).
    pub axis: String,
    /// Sorted by horizon.
    pub runs: Vec<HorizonRun>,
    /// The task's fixed φ, drawn dashed.
    pub fixed: Option<f64>,
}

impl HorizonPlot {
    /// One figure per task whose finished scalar-φ hypergradient studies use at least two horizons
    /// (the first study at each horizon counts).
    pub fn from_runs(runs: &[Run]) -> Vec<HorizonPlot> {
        let mut plots: Vec<HorizonPlot> = vec![];
        for run in runs {
            let RunKind::Search(s) = &run.kind else { continue };
            let (Some(learned), Some(task)) = (&s.learned, &run.task) else { continue };
            if s.method != "hypergradient" || learned.phi().len() != 1 || s.state.history.is_empty() {
                continue;
            }
            let entry = HorizonRun {
                unroll: s.unroll,
                trajectory: s.state.history.iter().map(|r| r.phi[0]).collect(),
                learned: learned.phi()[0],
            };
            let name = learned.phi_names(1, None).remove(0);
            let axis =
                if name == "σ" { format!("σ ({})", super::runs::label_unit(Some(task))) } else { name };
            let fixed = Some(task.distribution.phi()).filter(|p| p.len() == 1).map(|p| p[0]);
            match plots.iter_mut().find(|p| p.task == task.name) {
                Some(plot) if plot.runs.iter().any(|r| r.unroll == entry.unroll) => {}
                Some(plot) => plot.runs.push(entry),
                None => plots.push(HorizonPlot { task: task.name.clone(), axis, runs: vec![entry], fixed }),
            }
        }
        plots.retain(|p| p.runs.len() >= 2);
        for plot in &mut plots {
            plot.runs.sort_by_key(|r| r.unroll);
        }
        plots
    }

    /// Title of the figure.
    pub fn title(&self) -> String {
        format!("{}: φ learned by the look-ahead hypergradient against its horizon K", self.task)
    }

    /// The report section: the learned φ per K, and the figure drawn into `out`.
    pub fn section(&self, out: &Path) -> Result<Section> {
        let caption = "Left: the φ each outer step trained with, one line per horizon K (inner steps kept on the graph). \
                       Right: the φ each study returned against K. Dashed: the task's fixed value.";
        let figure = render(self, out, &format!("horizon-{}", self.task), &self.title(), caption)?;
        let rows: String =
            self.runs.iter().map(|r| format!("| {} | {:.3} |\n", r.unroll, r.learned)).collect();
        let text = format!("| K | learned {} |\n|---|---|\n{rows}", self.axis);
        Ok(Section { heading: format!("Look-ahead horizon on {}", self.task), text, figures: vec![figure] })
    }
}

impl Plot for HorizonPlot {
    fn size(&self) -> (u32, u32) {
        WIDE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let root = root.titled(&self.title(), (FONT, TITLE))?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        let axis = &self.axis;
        let values = self
            .runs
            .iter()
            .flat_map(|r| r.trajectory.iter().chain(std::iter::once(&r.learned)).copied())
            .chain(self.fixed);
        let y_range = headroom(padded(values), 0.1 + 0.07 * (self.runs.len() + 1) as f64);

        // φ per outer step, one line per horizon.
        let steps = self.runs.iter().map(|r| r.trajectory.len()).max().unwrap_or(1) as f64;
        let mut chart = ChartBuilder::on(&left)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0.5..steps + 0.5, y_range.clone())?;
        chart
            .configure_mesh()
            .x_desc("outer step")
            .y_desc(axis.as_str())
            .x_label_formatter(&int_tick)
            .y_label_formatter(&tick)
            .axis_desc_style((FONT, AXIS))
            .label_style((FONT, TICK))
            .draw()?;
        for (i, run) in self.runs.iter().enumerate() {
            let c = colour(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    run.trajectory.iter().enumerate().map(|(s, v)| ((s + 1) as f64, *v)),
                    c.stroke_width(3),
                ))?
                .label(format!("K = {}", run.unroll))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        }
        if let Some(v) = self.fixed {
            let c = colour(7).to_rgba();
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.5, v), (steps + 0.5, v)],
                    8,
                    6,
                    c.stroke_width(2),
                ))?
                .label(format!("task's fixed value {v}"))
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 24, y)], 5, 3, c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, TICK)?;

        // Learned φ against K (log scale).
        let k_max = self.runs.last().map_or(2.0, |r| r.unroll as f64);
        let mut chart = ChartBuilder::on(&right)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d((0.7..k_max * 1.4).log_scale(), y_range)?;
        chart
            .configure_mesh()
            .x_desc("inner steps on the graph K (log scale)")
            .y_desc(format!("learned {axis}"))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .axis_desc_style((FONT, AXIS))
            .label_style((FONT, TICK))
            .draw()?;
        let points: Vec<(f64, f64)> = self.runs.iter().map(|r| (r.unroll as f64, r.learned)).collect();
        let c = colour(0);
        chart
            .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))?
            .label("returned by the study")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 6, c.filled())))?;
        if let Some(v) = self.fixed {
            let c = colour(7).to_rgba();
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.7, v), (k_max * 1.4, v)],
                    8,
                    6,
                    c.stroke_width(2),
                ))?
                .label(format!("task's fixed value {v}"))
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 24, y)], 5, 3, c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, TICK)?;
        Ok(())
    }
}
