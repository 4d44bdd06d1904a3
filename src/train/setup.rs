//! From a validated task spec and its loaded dataset to what the inner loop runs: the network
//! bound to the input shape, the resolved training settings, and the label domain.
use crate::config::{ModelKind, TaskSpec, TrainPlan};
use crate::data::Dataset;
use crate::domain::{ClassSet, Domain, LabelDomain, LabelKind};
use crate::error::{Error, Result};
use crate::model::{DropoutSpec, Network, NetworkSpec};
use crate::rundir::records::InputStats;
use tch::Tensor;

/// The inner loop of one task.
#[derive(Debug, Clone)]
pub struct InnerLoop {
    pub network: Network,
    pub train: TrainPlan,
    pub domain: Domain,
}

impl InnerLoop {
    /// Resolves `task` for `dataset` (whose labels must lie on the task's domain) with the training
    /// pool `train` (its size turns epochs into steps; its labels give multi-label co-occurrence).
    pub fn from_task(task: &TaskSpec, dataset: &Dataset, train: &[i64]) -> Result<Self> {
        crate::data::check_labels_in_domain(dataset, &task.labels, &task.path)?;
        let domain = domain_of(task, dataset, train)?;
        let train_size = train.len();
        let widths = |v: &[usize]| v.iter().map(|&w| w as i64).collect::<Vec<_>>();
        let spec = match task.model.kind {
            ModelKind::Cnn => NetworkSpec::Cnn {
                channels: widths(&task.model.widths),
                hidden: widths(&task.model.fc),
                batchnorm: task.model.batchnorm,
            },
            ModelKind::Mlp => NetworkSpec::Mlp { hidden: widths(&task.model.widths) },
            ModelKind::Fcn => {
                NetworkSpec::Fcn { channels: widths(&task.model.widths), batchnorm: task.model.batchnorm }
            }
        };
        let input = &dataset.inputs.size()[1..];
        let network = Network::new(spec, input, domain.outputs()).map_err(|e| in_file(task, "model", e))?;
        let t = &task.train;
        let steps = match (t.steps, t.epochs) {
            (Some(s), _) => s as usize,
            (None, Some(e)) => e as usize * train_size.div_ceil(t.batch.max(1)),
            (None, None) => return Err(Error::config(&task.path, "train.steps", "set steps or epochs")),
        };
        let train = TrainPlan {
            steps,
            batch: t.batch as i64,
            optimiser: t.optimiser,
            lr: t.lr,
            momentum: t.momentum,
            weight_decay: t.weight_decay,
            schedule: t.schedule,
            eval_every: 0,
            patience: 0,
            flip: t.hflip,
            shift: t.shift as i64,
            dropout: DropoutSpec { fc: task.model.dropout, conv: task.model.conv_dropout },
            step_every: t.step_every.unwrap_or(0) as usize,
            gamma: t.gamma,
            warmup_steps: t.warmup_steps as usize,
            freeze: t.freeze,
        };
        train.validate().map_err(|e| in_file(task, "train", e))?;
        if train.freeze == crate::model::Freeze::Features
            && network.trainable(train.freeze).iter().all(|t| !t)
        {
            return Err(Error::config(
                &task.path,
                "train.freeze",
                "\"features\" leaves nothing to train: this network has no fully connected head",
            ));
        }
        Ok(InnerLoop { network, train, domain })
    }
}

/// The training domain of a task's label domain and its dataset's label kind; multi-label classes
/// carry the co-occurrence of the training pool `train`.
pub fn domain_of(task: &TaskSpec, dataset: &Dataset, train: &[i64]) -> Result<Domain> {
    match (&task.labels, dataset.labels.kind()) {
        (LabelDomain::Bins(b), LabelKind::Ordinal) => Ok(Domain::Bins(b.clone())),
        (LabelDomain::Grid(g), LabelKind::Pose) => Ok(Domain::Grid(g.clone())),
        (LabelDomain::Classes(c), LabelKind::MultiLabel) => {
            let states = dataset
                .labels
                .tensor()
                .index_select(0, &Tensor::from_slice(train).to_device(dataset.labels.tensor().device()));
            Ok(Domain::Classes(ClassSet::with_training_states(c.len() as i64, &states)?))
        }
        (LabelDomain::Classes(c), LabelKind::Segmentation) => {
            Ok(Domain::Segmentation { classes: c.len() as i64 })
        }
        (LabelDomain::Classes(c), LabelKind::Distribution) => {
            Ok(Domain::Categories { classes: c.len() as i64 })
        }
        (domain, kind) => Err(Error::config(
            &task.path,
            "labels",
            format!("a {} domain does not fit {kind} labels", domain.describe()),
        )),
    }
}

fn in_file(task: &TaskSpec, section: &str, e: Error) -> Error {
    Error::config(&task.path, section, e.to_string())
}

/// A task ready to train: its spec, dataset (inputs standardised when the task asks), seeded
/// split, inner loop, and the standardisation statistics of its training split.
pub struct PreparedTask {
    pub task: TaskSpec,
    pub dataset: crate::data::Dataset,
    pub split: crate::data::Split,
    pub inner: InnerLoop,
    /// With `standardise = true`: the statistics already applied to `dataset.inputs`.
    pub input_stats: Option<InputStats>,
}

impl PreparedTask {
    /// Reads the task file, loads (or generates) its data from `roots`, splits it, plants the task's
    /// label noise (`[labels.noise]`) in the pools it names, standardises the
    /// inputs by the training split's statistics (when asked) and resolves the inner loop.
    pub fn load(task_file: &std::path::Path, roots: &crate::data::DataRoots) -> Result<Self> {
        let task = TaskSpec::load(task_file)?;
        let mut dataset = crate::data::load_task(&task, roots)?;
        let split = crate::data::Split::new(&dataset, &task.splits)?;
        crate::data::planted::plant_task_noise(&task, &mut dataset, &split)?;
        let train = split.pool(crate::data::Pool::Train);
        let input_stats =
            if task.standardises() { Some(InputStats::of_rows(&dataset.inputs, train)?) } else { None };
        if let Some(stats) = &input_stats {
            dataset.inputs = stats.apply(&dataset.inputs)?;
        }
        let inner = InnerLoop::from_task(&task, &dataset, train)?;
        Ok(PreparedTask { task, dataset, split, inner, input_stats })
    }
}

/// Standardises `dataset` by the statistics a training run stored (`task` must ask for it), so
/// that evaluation on other data never recomputes them.
pub fn standardise_like_training(
    task: &TaskSpec,
    dataset: &mut Dataset,
    stored: Option<InputStats>,
) -> Result<()> {
    match (task.standardises(), stored) {
        (false, _) => Ok(()),
        (true, Some(stats)) => {
            dataset.inputs = stats.apply(&dataset.inputs)?;
            Ok(())
        }
        (true, None) => Err(Error::config(
            &task.path,
            "model.standardise",
            "is true but the run stored no input statistics",
        )),
    }
}
