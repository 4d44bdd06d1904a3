//! Evaluation of every member of a population on its own index set, without gradients:
//! loss, task metrics, and the six LDL measures against a reference target distribution.
use super::member::TrainData;
use super::method::Method;
use super::metrics::{self, OrdinalMetricSpec};
use super::predict::{argmax_label, expectation};
use crate::domain::{grid_cell, Domain, Labels};
use crate::error::{Error, Result};
use crate::family::DistributionSpec;
use crate::label::ldl_measures;
use crate::model::{Network, Params};
use crate::rundir::records::{LabelError, Metrics};
use tch::{Device, Kind, Tensor};

/// How to evaluate.
#[derive(Debug, Clone)]
pub struct EvalSpec {
    /// Samples per member per forward pass.
    pub chunk: i64,
    pub ordinal: OrdinalMetricSpec,
    /// Targets the LDL measures compare predictions with (the task's default distribution).
    pub reference: DistributionSpec,
}

impl EvalSpec {
    /// The default evaluation: 256 samples per member per pass, default ordinal metrics, LDL
    /// measures against `reference`.
    pub fn for_reference(reference: DistributionSpec) -> Self {
        EvalSpec { chunk: 256, ordinal: OrdinalMetricSpec::default(), reference }
    }
}

/// Metrics of each member `p` on `sets[p]` (dataset indices), with its own method's loss.
pub fn evaluate(
    net: &Network,
    params: &Params,
    data: &TrainData,
    methods: &[Method],
    sets: &[Vec<i64>],
    spec: &EvalSpec,
) -> Result<Vec<Metrics>> {
    check_sets(params, sets, methods.len())?;
    let population = params.population() as usize;
    let (probs, loss_sum) = forward_sets(net, params, data, Some(methods), sets, spec.chunk)?;
    (0..population)
        .map(|p| {
            let q = &probs[p];
            let labels = data.labels.select(&Tensor::from_slice(&sets[p]));
            let mut m = task_metrics(data.domain, q, &labels, spec)?;
            m.insert("loss".into(), loss_sum[p] / sets[p].len() as f64);
            Ok(m)
        })
        .collect()
}

/// Expected label of each member `p` on `sets[p]` (dataset indices), in the order of the set, on
/// the CPU: `[N_p]` for bins, `[N_p, 2]` for a grid; an error for other domains.
pub fn expected_labels(
    net: &Network,
    params: &Params,
    data: &TrainData,
    sets: &[Vec<i64>],
    chunk: i64,
) -> Result<Vec<Tensor>> {
    check_sets(params, sets, sets.len())?;
    let (probs, _) = forward_sets(net, params, data, None, sets, chunk)?;
    probs.iter().map(|q| expectation(data.domain, q)).collect()
}

/// Per-label MAE of each member on `sets[p]` for ordinal (bins) tasks; `None` for other domains.
pub fn per_label_errors(
    net: &Network,
    params: &Params,
    data: &TrainData,
    sets: &[Vec<i64>],
    chunk: i64,
) -> Result<Option<Vec<Vec<LabelError>>>> {
    let (Domain::Bins(bins), Labels::Ordinal(y)) = (data.domain, data.labels) else {
        return Ok(None);
    };
    let expected = expected_labels(net, params, data, sets, chunk)?;
    Ok(Some(
        expected
            .iter()
            .zip(sets)
            .map(|(e, s)| {
                metrics::per_label_mae(
                    e,
                    &y.index_select(0, &Tensor::from_slice(s).to_device(y.device())),
                    bins,
                )
            })
            .collect(),
    ))
}

fn check_sets(params: &Params, sets: &[Vec<i64>], methods: usize) -> Result<()> {
    let population = params.population() as usize;
    if sets.len() != population || methods != population {
        return Err(Error::shape(
            "evaluate",
            format!("{population} members, {} index sets, {methods} methods", sets.len()),
        ));
    }
    if let Some(p) = sets.iter().position(|s| s.is_empty()) {
        return Err(Error::invalid("evaluation set", format!("member {p}"), "is empty"));
    }
    Ok(())
}

/// Forward passes without gradients over every member's set in chunks of `chunk` samples per
/// member: per member the softmax probabilities `[N_p, C]` on the CPU and, when `methods` are
/// given, the summed loss of each member's own method.
fn forward_sets(
    net: &Network,
    params: &Params,
    data: &TrainData,
    methods: Option<&[Method]>,
    sets: &[Vec<i64>],
    chunk: i64,
) -> Result<(Vec<Tensor>, Vec<f64>)> {
    let population = params.population() as usize;
    let _guard = tch::no_grad_guard();
    let longest = sets.iter().map(Vec::len).max().unwrap_or(0) as i64;
    let mut probs: Vec<Vec<Tensor>> = (0..population).map(|_| vec![]).collect();
    let mut loss_sum = vec![0.0; population];
    let phis: Vec<Tensor> =
        methods.into_iter().flatten().map(|m| m.target.phi_tensor(data.inputs.device())).collect();
    let mut start = 0;
    while start < longest {
        let len = chunk.min(longest - start);
        // Members with shorter sets repeat their last index; the repeats are dropped below.
        let index: Vec<i64> = sets
            .iter()
            .flat_map(|s| (start..start + len).map(move |i| s[(i as usize).min(s.len() - 1)]))
            .collect();
        let logits = net.forward(params, &data.gather(&index, population as i64, data.inputs.device())?)?;
        for p in 0..population {
            let real = (sets[p].len() as i64 - start).clamp(0, len);
            if real == 0 {
                continue;
            }
            let logits_p = logits.get(p as i64).narrow(0, 0, real);
            if let Some(methods) = methods {
                let rows = &sets[p][start as usize..(start + real) as usize];
                loss_sum[p] +=
                    data.loss(&methods[p], &phis[p], &logits_p, rows)?.double_value(&[]) * real as f64;
            }
            probs[p].push(logits_p.softmax(1, Kind::Float).to_device(Device::Cpu));
        }
        start += len;
    }
    Ok((probs.iter().map(|q| Tensor::cat(q, 0)).collect(), loss_sum))
}

/// Task metrics for probabilities `q` of one member and its labels (CPU).
fn task_metrics(domain: &Domain, q: &Tensor, labels: &Labels, spec: &EvalSpec) -> Result<Metrics> {
    let mut m = match (domain, labels) {
        (Domain::Bins(_), Labels::Ordinal(y)) => {
            metrics::ordinal(&expectation(domain, q)?, &argmax_label(domain, q)?, y, spec.ordinal)
        }
        (Domain::Grid(grid), Labels::Pose(y)) => metrics::pose(
            &expectation(domain, q)?,
            &argmax_label(domain, q)?,
            y,
            &q.argmax(1, false),
            &grid_cell(grid, y)?,
        ),
        (Domain::Classes(_), Labels::MultiLabel(states)) => metrics::multilabel(q, states),
        (Domain::Segmentation { classes }, Labels::Segmentation(maps)) => {
            metrics::segmentation(&q.argmax(1, false), maps, *classes)
        }
        (Domain::Categories { .. }, Labels::Distribution(p)) => return metrics::given(q, p),
        _ => return Err(Error::invalid("labels", labels.kind(), "do not match the task's label domain")),
    };
    if !matches!(domain, Domain::Segmentation { .. }) {
        let reference = spec.reference.targets(domain, &spec.reference.phi_tensor(Device::Cpu), labels)?;
        let measures = ldl_measures(q, &reference.dist)?;
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(measures) {
            for (name, value) in fields {
                m.insert(format!("ldl_{name}"), value.as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    Ok(m)
}
