//! Learned versus fixed label distributions, drawn per family from the library's own target code:
//! 1-D curves at several labels (and σ(l) when learned per label), 2-D heatmaps side by side, P/D/N and
//! mixture bars for one labelled example (with the mixture's label distance), and the segmentation kernel.
use super::figure::{
    colour, headroom, heat, int_tick, legend, padded, tick, DrawResult, Plot, AXIS, FONT, SQUARE, TICK,
    TITLE, WIDE,
};
use crate::config::{DatasetSpec, TaskSpec};
use crate::domain::{ClassSet, Domain, LabelDomain, Labels};
use crate::error::{Error, Result};
use crate::family::{brief, DistributionSpec, GaussianSpec, MixtureSpec};
use crate::label::{LabelDistance, SegmentationSmoothing, DIFFICULT, NEGATIVE, POSITIVE};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use tch::{Device, Kind, Tensor};

/// The two distributions compared, with their legend names.
pub struct Compared {
    pub fixed: DistributionSpec,
    pub learned: DistributionSpec,
    /// The label distance the run recorded for a mixture (what its `distance` resolved to).
    pub label_distance: Option<LabelDistance>,
}

/// A distribution figure: its title and what is drawn.
pub struct DistributionPlot {
    pub title: String,
    pub shape: Shape,
}

/// What is drawn, computed up front (so drawing cannot fail on tensors).
pub enum Shape {
    /// Bins, labels shown, per label: p over bins (fixed, learned); σ(l) when per label.
    /// `names`: per label, the fixed then the learned legend entry.
    Curves {
        bins: Vec<f64>,
        labels: Vec<f64>,
        fixed: Vec<Vec<f64>>,
        learned: Vec<Vec<f64>>,
        sigma: Option<(Vec<f64>, Vec<f64>)>,
        unit: String,
        names: Vec<String>,
    },
    /// Grid axes and the two `[n1][n2]` distributions at one label.
    Heatmaps {
        axis1: Vec<f64>,
        axis2: Vec<f64>,
        axes: (String, String),
        label: (f64, f64),
        fixed: Vec<Vec<f64>>,
        learned: Vec<Vec<f64>>,
        names: [String; 2],
    },
    /// Per class: state and the two target probabilities; for a mixture, its label distance `[C][C]` and name.
    Bars {
        states: Vec<i64>,
        fixed: Vec<f64>,
        learned: Vec<f64>,
        names: [String; 2],
        distance: Option<(Vec<Vec<f64>>, String)>,
    },
    /// Kernels and the class-1 probability of one smoothed map, fixed and learned; the map itself.
    Segmentation { kernels: [Vec<Vec<f64>>; 2], maps: [Vec<Vec<f64>>; 2], names: [String; 2] },
}

fn rows(t: &Tensor) -> Result<Vec<Vec<f64>>> {
    let t = t.to_kind(Kind::Double).to_device(Device::Cpu);
    let (n, m) = (t.size()[0], t.size()[1]);
    let flat = Vec::<f64>::try_from(t.reshape([-1]))?;
    Ok((0..n as usize).map(|i| flat[i * m as usize..(i + 1) * m as usize].to_vec()).collect())
}

fn targets(domain: &Domain, spec: &DistributionSpec, labels: &Labels) -> Result<Tensor> {
    Ok(spec.targets(domain, &spec.phi_tensor(Device::Cpu).to_kind(Kind::Double), labels)?.dist)
}

/// A 24×24 label map: background, a square of class 1 and a disc of class 2.
fn example_map() -> Tensor {
    let mut v = vec![0i64; 24 * 24];
    for i in 0..24 {
        for j in 0..24 {
            if (3..13).contains(&i) && (3..13).contains(&j) {
                v[i * 24 + j] = 1;
            }
            if (i as f64 - 15.0).powi(2) + (j as f64 - 15.0).powi(2) <= 30.0 {
                v[i * 24 + j] = 2;
            }
        }
    }
    Tensor::from_slice(&v).reshape([1, 24, 24])
}

impl DistributionPlot {
    /// Computes the figure for `task`'s label domain; `None` for a family without a figure (one-hot).
    pub fn new(task: &TaskSpec, compared: &Compared, unit: &str) -> Result<Option<Self>> {
        let names = [
            format!("fixed {}", brief(&compared.fixed.to_string())),
            format!("learned {}", brief(&compared.learned.to_string())),
        ];
        let segmentation =
            matches!(task.dataset, DatasetSpec::MnistSegmentation(_) | DatasetSpec::VocSegmentation(_));
        let shape = match &task.labels {
            LabelDomain::Bins(bins) => {
                let values = bins.values().to_vec();
                let n = values.len();
                let labels: Vec<f64> =
                    [0.2, 0.5, 0.8].iter().map(|q| values[((n - 1) as f64 * q).round() as usize]).collect();
                let domain = Domain::Bins(bins.clone());
                let y = Labels::Ordinal(Tensor::from_slice(
                    &labels.iter().map(|v| *v as f32).collect::<Vec<_>>(),
                ));
                let sigma = match (&compared.learned, &compared.fixed) {
                    (DistributionSpec::Gaussian(GaussianSpec { sigma: l }), f) if l.values().len() == n => {
                        let fixed = match f {
                            DistributionSpec::Gaussian(GaussianSpec { sigma })
                                if sigma.values().len() == n =>
                            {
                                sigma.values()
                            }
                            DistributionSpec::Gaussian(GaussianSpec { sigma }) => vec![sigma.values()[0]; n],
                            _ => vec![f64::NAN; n],
                        };
                        Some((fixed, l.values()))
                    }
                    _ => None,
                };
                let index: Vec<usize> =
                    labels.iter().map(|l| values.iter().position(|v| v == l).unwrap_or(0)).collect();
                let legend = |spec: &DistributionSpec, kind: &str, i: usize| match spec {
                    DistributionSpec::Gaussian(GaussianSpec { sigma }) => {
                        let s = sigma.values();
                        format!(
                            "{kind} σ = {}",
                            brief(&format!("{}", if s.len() == n { s[index[i]] } else { s[0] }))
                        )
                    }
                    other => format!("{kind} {}", brief(&other.to_string())),
                };
                let names = (0..labels.len())
                    .flat_map(|i| {
                        [legend(&compared.fixed, "fixed", i), legend(&compared.learned, "learned", i)]
                    })
                    .collect();
                Shape::Curves {
                    bins: values,
                    fixed: rows(&targets(&domain, &compared.fixed, &y)?)?,
                    learned: rows(&targets(&domain, &compared.learned, &y)?)?,
                    labels,
                    sigma,
                    unit: unit.to_string(),
                    names,
                }
            }
            LabelDomain::Grid(grid) => {
                let (a1, a2) = (grid.axis1.values().to_vec(), grid.axis2.values().to_vec());
                let label = (a1[a1.len() / 2], a2[a2.len() / 2]);
                let domain = Domain::Grid(grid.clone());
                let y = Labels::Pose(Tensor::from_slice(&[label.0 as f32, label.1 as f32]).reshape([1, 2]));
                let grid_of = |spec: &DistributionSpec| -> Result<Vec<Vec<f64>>> {
                    rows(&targets(&domain, spec, &y)?.reshape([a1.len() as i64, a2.len() as i64]))
                };
                let axes = match task.dataset {
                    DatasetSpec::MnistPose(_) => ("rotation (degrees)", "scale (%)"),
                    DatasetSpec::Pointing04(_) => ("tilt (degrees)", "pan (degrees)"),
                    _ => ("axis 1 (label units)", "axis 2 (label units)"),
                };
                let axes = (axes.0.to_string(), axes.1.to_string());
                Shape::Heatmaps {
                    fixed: grid_of(&compared.fixed)?,
                    learned: grid_of(&compared.learned)?,
                    axis1: a1,
                    axis2: a2,
                    axes,
                    label,
                    names,
                }
            }
            LabelDomain::Classes(c) if segmentation => {
                let kernel = |spec: &DistributionSpec| -> Result<Vec<Vec<f64>>> {
                    let sigma = Tensor::from_slice(&spec.phi()).to_kind(Kind::Double);
                    rows(&SegmentationSmoothing::new(spec.kernel_shape()?, sigma)?.kernel())
                };
                let domain = Domain::Segmentation { classes: c.len() as i64 };
                let maps = Labels::Segmentation(example_map());
                let map = |spec: &DistributionSpec| -> Result<Vec<Vec<f64>>> {
                    rows(&targets(&domain, spec, &maps)?.get(0).get(1))
                };
                if !matches!(compared.learned, DistributionSpec::Segmentation(_)) {
                    return Ok(None);
                }
                Shape::Segmentation {
                    kernels: [kernel(&compared.fixed)?, kernel(&compared.learned)?],
                    maps: [map(&compared.fixed)?, map(&compared.learned)?],
                    names,
                }
            }
            LabelDomain::Classes(c) => {
                let states: Vec<i64> = (0..c.len())
                    .map(|k| match k {
                        0 | 1 => POSITIVE,
                        2 => DIFFICULT,
                        _ => NEGATIVE,
                    })
                    .collect();
                let n = c.len() as i64;
                // The mixture's distance: the learned one if it is a mixture, else the fixed one.
                let mixture = [&compared.learned, &compared.fixed].into_iter().find_map(|spec| match spec {
                    DistributionSpec::Mixture(MixtureSpec { distance, .. }) => Some(distance.clone()),
                    _ => None,
                });
                let classes = match (&mixture, &compared.label_distance) {
                    (Some(spec), Some(recorded)) => ClassSet::with_resolved(n, spec, recorded.clone()),
                    _ => ClassSet::new(n),
                };
                let distance = mixture
                    .map(|spec| Ok::<_, Error>((rows(&classes.distance(&spec)?.matrix())?, spec.name())))
                    .transpose()?;
                let domain = Domain::Classes(classes);
                let y = Labels::MultiLabel(Tensor::from_slice(&states).reshape([1, n]));
                let one = |spec: &DistributionSpec| -> Result<Vec<f64>> {
                    Ok(rows(&targets(&domain, spec, &y)?)?.remove(0))
                };
                Shape::Bars {
                    fixed: one(&compared.fixed)?,
                    learned: one(&compared.learned)?,
                    states,
                    names,
                    distance,
                }
            }
        };
        let title = Self::title_of(&shape, &task.name);
        Ok(Some(DistributionPlot { title, shape }))
    }

    fn title_of(shape: &Shape, task: &str) -> String {
        match shape {
            Shape::Curves { .. } => format!("{task}: learned vs fixed label distribution at three labels"),
            Shape::Heatmaps { label, .. } => format!(
                "{task}: 2-D label distribution at label ({}, {}) — fixed vs learned",
                label.0, label.1
            ),
            Shape::Bars { .. } => {
                format!("{task}: multi-label target of one example (P, P, D, N…) — fixed vs learned")
            }
            Shape::Segmentation { .. } => {
                format!("{task}: segmentation kernel and smoothed target — fixed vs learned")
            }
        }
    }
}

impl Plot for DistributionPlot {
    fn size(&self) -> (u32, u32) {
        match self.shape {
            Shape::Segmentation { .. } => SQUARE,
            _ => WIDE,
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let root = root.titled(&self.title, (FONT, TITLE))?;
        match &self.shape {
            Shape::Curves { bins, labels, fixed, learned, sigma, unit, names } => {
                let (left, right) = match sigma {
                    Some(_) => {
                        let (l, r) = root.split_horizontally(root.dim_in_pixel().0 * 3 / 5);
                        (l, Some(r))
                    }
                    None => (root.clone(), None),
                };
                let x = padded(bins.iter().copied());
                let y_max = fixed.iter().chain(learned).flatten().fold(0.0f64, |a, b| a.max(*b));
                let mut chart = ChartBuilder::on(&left)
                    .margin(15)
                    .caption("fixed φ dashed, learned φ solid; one colour per true label y", (FONT, AXIS))
                    .x_label_area_size(55)
                    .y_label_area_size(80)
                    .build_cartesian_2d(x, 0.0..y_max * 1.45)?;
                chart
                    .configure_mesh()
                    .x_desc(format!("label ({unit})"))
                    .y_desc("target probability")
                    .x_label_formatter(&tick)
                    .y_label_formatter(&tick)
                    .axis_desc_style((FONT, AXIS))
                    .label_style((FONT, TICK))
                    .draw()?;
                for (i, label) in labels.iter().enumerate() {
                    let c = colour(i);
                    chart
                        .draw_series(LineSeries::new(
                            bins.iter().copied().zip(learned[i].iter().copied()),
                            c.stroke_width(3),
                        ))?
                        .label(format!("y = {label}: {}", names[2 * i + 1]))
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
                    chart
                        .draw_series(DashedLineSeries::new(
                            bins.iter().copied().zip(fixed[i].iter().copied()),
                            8,
                            6,
                            c.stroke_width(2),
                        ))?
                        .label(format!("y = {label}: {}", names[2 * i]))
                        .legend(move |(x, y)| {
                            DashedPathElement::new(vec![(x, y), (x + 24, y)], 5, 3, c.stroke_width(2))
                        });
                }
                legend(&mut chart, SeriesLabelPosition::UpperRight, TICK - 2)?;
                if let (Some((f, l)), Some(right)) = (sigma, right) {
                    let ys = f.iter().chain(l).copied();
                    let mut chart = ChartBuilder::on(&right)
                        .margin(15)
                        .x_label_area_size(55)
                        .y_label_area_size(70)
                        .caption("σ(l): one σ per label", (FONT, AXIS))
                        .build_cartesian_2d(
                            padded(bins.iter().copied()),
                            headroom(padded(ys.chain([0.0])), 0.3),
                        )?;
                    chart
                        .configure_mesh()
                        .x_desc(format!("label ({unit})"))
                        .y_desc(format!("σ ({unit})"))
                        .x_label_formatter(&tick)
                        .y_label_formatter(&tick)
                        .axis_desc_style((FONT, AXIS))
                        .label_style((FONT, TICK))
                        .draw()?;
                    let (c0, c1) = (colour(6), colour(0));
                    chart
                        .draw_series(DashedLineSeries::new(
                            bins.iter().copied().zip(f.iter().copied()),
                            8,
                            6,
                            c0.stroke_width(2),
                        ))?
                        .label("fixed")
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 24, y)], c0.stroke_width(2))
                        });
                    chart
                        .draw_series(LineSeries::new(
                            bins.iter().copied().zip(l.iter().copied()),
                            c1.stroke_width(3),
                        ))?
                        .label("learned")
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 24, y)], c1.stroke_width(3))
                        });
                    legend(&mut chart, SeriesLabelPosition::UpperRight, TICK)?;
                }
            }
            Shape::Heatmaps { axis1, axis2, axes, label, fixed, learned, names } => {
                let vmax = fixed.iter().chain(learned).flatten().fold(0.0f64, |a, b| a.max(*b));
                let root = root.titled(
                    &format!("one colour scale: probability 0 (dark) → {vmax:.3} (yellow); the true label is the centre cell ({}, {})", label.0, label.1),
                    (FONT, AXIS),
                )?;
                let panels = root.split_evenly((1, 2));
                for (k, (grid, name)) in [fixed, learned].iter().zip(names).enumerate() {
                    heatmap(&panels[k], grid, axis1, axis2, vmax, name, (&axes.0, &axes.1), false)?;
                }
            }
            Shape::Bars { states, fixed, learned, names, distance } => {
                let y_max = fixed.iter().chain(learned).fold(0.0f64, |a, b| a.max(*b));
                let n = states.len();
                let (left, right) = match distance {
                    Some(_) => {
                        let (l, r) = root.split_horizontally(root.dim_in_pixel().0 * 3 / 5);
                        (l, Some(r))
                    }
                    None => (root.clone(), None),
                };
                if let (Some(area), Some((matrix, name))) = (&right, distance) {
                    let vmax = matrix.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
                    let labels: Vec<f64> = (0..n).map(|k| k as f64).collect();
                    let title =
                        format!("label distance ({name}): 0 dark → {} yellow", brief(&vmax.to_string()));
                    heatmap(area, matrix, &labels, &labels, vmax, &title, ("class", "class"), true)?;
                }
                let mut chart = ChartBuilder::on(&left)
                    .caption("P = present, D = difficult, N = absent", (FONT, AXIS))
                    .margin(20)
                    .x_label_area_size(60)
                    .y_label_area_size(80)
                    .build_cartesian_2d(-0.6..n as f64 - 0.4, 0.0..y_max * 1.3)?;
                let letter = |s: i64| match s {
                    POSITIVE => "P",
                    DIFFICULT => "D",
                    _ => "N",
                };
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(n)
                    .x_label_formatter(&|x: &f64| {
                        let k = x.round() as usize;
                        if (x - x.round()).abs() < 1e-6 && k < n {
                            format!("{k} ({})", letter(states[k]))
                        } else {
                            String::new()
                        }
                    })
                    .x_desc("class (state of this example)")
                    .y_desc("target probability (sums to 1)")
                    .axis_desc_style((FONT, AXIS))
                    .label_style((FONT, TICK))
                    .draw()?;
                for (j, (values, name)) in [fixed, learned].iter().zip(names).enumerate() {
                    let c = colour(if j == 0 { 6 } else { 0 });
                    let off = if j == 0 { -0.38 } else { 0.0 };
                    chart
                        .draw_series(values.iter().enumerate().map(|(k, v)| {
                            Rectangle::new([(k as f64 + off, 0.0), (k as f64 + off + 0.38, *v)], c.filled())
                        }))?
                        .label(name.clone())
                        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], c.filled()));
                }
                legend(&mut chart, SeriesLabelPosition::UpperRight, TICK)?;
            }
            Shape::Segmentation { kernels, maps, names } => {
                let root =
                    root.titled("top: kernel f; bottom: target P(class 1) of an example map — a square of class 1 touching a disc of class 2", (FONT, AXIS))?;
                let panels = root.split_evenly((2, 2));
                let kmax = kernels.iter().flatten().flatten().fold(0.0f64, |a, b| a.max(*b));
                for (k, kernel) in kernels.iter().enumerate() {
                    let half = (kernel.len() as f64 - 1.0) / 2.0;
                    let axis: Vec<f64> = (0..kernel.len()).map(|i| i as f64 - half).collect();
                    heatmap(
                        &panels[k],
                        kernel,
                        &axis,
                        &axis,
                        kmax,
                        &format!("kernel, {} (max {kmax:.3})", names[k]),
                        ("row offset (pixels)", "column offset (pixels)"),
                        true,
                    )?;
                }
                for (k, map) in maps.iter().enumerate() {
                    let axis: Vec<f64> = (0..map.len()).map(|i| i as f64).collect();
                    heatmap(
                        &panels[2 + k],
                        map,
                        &axis,
                        &axis,
                        1.0,
                        &format!("P(class 1), {} (0 → 1)", names[k]),
                        ("row (pixels)", "column (pixels)"),
                        true,
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// A heatmap of `grid[i][j]` over `a1 × a2` (rows along the y axis), colours scaled to `vmax`.
#[allow(clippy::too_many_arguments)]
fn heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    grid: &[Vec<f64>],
    a1: &[f64],
    a2: &[f64],
    vmax: f64,
    title: &str,
    axes: (&str, &str),
    image_rows: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let step = |a: &[f64]| if a.len() > 1 { a[1] - a[0] } else { 1.0 };
    let (s1, s2) = (step(a1), step(a2));
    let x = a2[0] - s2 / 2.0..a2[a2.len() - 1] + s2 / 2.0;
    let y = a1[0] - s1 / 2.0..a1[a1.len() - 1] + s1 / 2.0;
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .caption(title, (FONT, AXIS - 2))
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    // Image rows run downwards: row r is drawn at y = last − r and labelled r.
    let last = a1[a1.len() - 1] + a1[0];
    let row_label = |y: &f64| if image_rows { int_tick(&(last - y)) } else { tick(y) };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&int_tick)
        .y_label_formatter(&row_label)
        .x_desc(axes.1)
        .y_desc(axes.0)
        .axis_desc_style((FONT, AXIS - 2))
        .label_style((FONT, TICK))
        .draw()?;
    let scale = if vmax > 0.0 { vmax } else { 1.0 };
    chart.draw_series(grid.iter().enumerate().flat_map(|(i, row)| {
        row.iter().enumerate().map(move |(j, v)| {
            let (cx, cy) = (a2[j], if image_rows { last - a1[i] } else { a1[i] });
            Rectangle::new(
                [(cx - s2 / 2.0, cy - s1 / 2.0), (cx + s2 / 2.0, cy + s1 / 2.0)],
                heat(v / scale).filled(),
            )
        })
    }))?;
    Ok(())
}

/// An error when the learned spec cannot be compared with the task's: another family (P/D/N and
/// the mixture compare: both are multi-label targets).
pub fn check_same_family(compared: &Compared) -> Result<()> {
    let multilabel =
        |spec: &DistributionSpec| matches!(spec, DistributionSpec::Pdn(_) | DistributionSpec::Mixture(_));
    let comparable = compared.fixed.name() == compared.learned.name()
        || (multilabel(&compared.fixed) && multilabel(&compared.learned));
    if !comparable {
        return Err(Error::invalid(
            "learned distribution",
            compared.learned.name(),
            format!("is not the task's family {}", compared.fixed.name()),
        ));
    }
    Ok(())
}
