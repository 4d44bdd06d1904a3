//! A whole `train` run: methods × seeds on a task trained in populations, evaluated on the test
//! split, and recorded in a run directory (config, curves, checkpoint, metrics, summary table).
use super::evaluate::{evaluate, per_label_errors, EvalSpec};
use super::setup::PreparedTask;
use super::snapshot::SnapshotFiles;
use super::trainer::{
    chunked_done, chunked_total, train_chunks_with_snapshots, ChunkSnapshots, PopulationRun, Segment,
    TrainEvent,
};
use super::warm_start::{WarmSource, WarmStart};
use super::{LossKind, Member, Method, OptimiserState, TrainData, Trainer};
use crate::data::{DataRoots, Pool};
use crate::error::{Error, Result};
use crate::model::Params;
use crate::rundir::records::{members_table, Failure, MemberResult};
use crate::rundir::records::{
    CurveLine, RunCommand, TrainConfig, TrainMetrics, CHECKPOINT_FILE, CURVES_FILE, METRICS_FILE,
    SNAPSHOT_PREFIX, STATS_FILE, TABLE_FILE,
};
use crate::rundir::RunDir;
use crate::runtime::RunEnvironment;
use std::path::PathBuf;
use std::time::Instant;
use tch::{Device, Tensor};

/// What to train and where to record it.
#[derive(Debug, Clone)]
pub struct TrainRunConfig {
    pub task_file: PathBuf,
    pub roots: DataRoots,
    pub device: Device,
    /// The methods to train; empty: the task's own distribution (KL).
    pub methods: Vec<Method>,
    /// Seeds per method: `first_seed`, `first_seed + 1`, …
    pub seeds: u64,
    pub first_seed: u64,
    /// Optimiser steps per member; `None`: the task's.
    pub steps: Option<usize>,
    /// Validate every this many steps (0: only at the end, without a validation split).
    pub eval_every: usize,
    /// Evaluations without improvement before a member stops (0: never).
    pub patience: usize,
    /// Members trained at once (0: all); `None`: [`Trainer::default_chunk`].
    pub chunk: Option<usize>,
    /// The run directory.
    pub out: PathBuf,
    /// Start every member from a trained run's members (`RUN[:METHOD]`) instead of a fresh init.
    pub init: Option<WarmStart>,
    /// Save every chunk's whole training state every this many steps (0: only at a chunk's end), so
    /// a killed run resumes there; the results do not depend on it.
    pub checkpoint_every: usize,
}

/// Progress of a train run.
pub enum TrainRunEvent<'a> {
    /// Training starts: `members` = `methods` × `seeds`, `total` progress steps over all chunks.
    Started { members: usize, methods: usize, seeds: u64, steps: usize, total: u64, device: Device },
    /// `done` of the `total` progress steps.
    Step { done: u64 },
    /// Seed index `seed` of every method starts from the `--init` run's member `source`.
    WarmStart { seed: usize, source: &'a WarmSource },
    /// The chunk of members from `first_member` resumes from its snapshot after `step` steps.
    Resumed { first_member: usize, step: usize, done: u64 },
    /// A member stopped on a non-finite loss.
    Failed { member: usize, method: &'a Method, failure: &'a Failure },
}

/// The result of a train run.
#[derive(Debug, Clone)]
pub struct TrainRunOutcome {
    /// The markdown summary (also in [`TABLE_FILE`]).
    pub summary: String,
    pub metrics: TrainMetrics,
    /// The directory held this run, finished: nothing was trained.
    pub already_finished: bool,
}

impl TrainRunOutcome {
    /// Members that stopped on a non-finite loss, with the reason.
    pub fn failed_members(&self) -> Vec<&MemberResult> {
        self.metrics.members.iter().filter(|m| m.failure.is_some()).collect()
    }
}

/// Everything a train run needs, resolved before the run directory is touched.
struct TrainPlan {
    prepared: PreparedTask,
    methods: Vec<Method>,
    members: Vec<Member>,
    record: TrainConfig,
    /// With `--init`: every member's start parameters, in member order.
    start: Option<Params>,
    /// With `--init`: the source member of each seed index.
    sources: Vec<WarmSource>,
}

/// Runs `config` (or reports it when its directory already holds it finished).
pub fn run_train(
    config: &TrainRunConfig,
    observer: &mut dyn FnMut(TrainRunEvent),
) -> Result<TrainRunOutcome> {
    let plan = TrainPlan::new(config)?;
    for (seed, source) in plan.sources.iter().enumerate() {
        observer(TrainRunEvent::WarmStart { seed, source });
    }
    let (dir, resumed) = RunDir::open(&config.out, &plan.record)?;
    if let Some(stats) = &plan.prepared.input_stats {
        dir.write_json(STATS_FILE, stats)?;
    }
    if resumed && dir.file(TABLE_FILE).exists() {
        return finished(&dir);
    }
    plan.train(config, &dir, observer)
}

/// The outcome recorded in a finished run directory, once its records are checked against its seal.
fn finished(dir: &RunDir) -> Result<TrainRunOutcome> {
    dir.verify_seal()?;
    let path = dir.file(TABLE_FILE);
    let summary = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    Ok(TrainRunOutcome { summary, metrics: dir.read_json(METRICS_FILE)?, already_finished: true })
}

impl TrainPlan {
    /// Loads the task and resolves methods, members and the run's config record.
    fn new(config: &TrainRunConfig) -> Result<Self> {
        let mut prepared = PreparedTask::load(&config.task_file, &config.roots)?;
        let methods = if config.methods.is_empty() {
            vec![Method { target: prepared.task.distribution.clone(), loss: LossKind::Kl }]
        } else {
            config.methods.clone()
        };
        check_flags(config, &methods)?;
        check_methods(&prepared, &methods)?;
        let train = &mut prepared.inner.train;
        train.steps = config.steps.unwrap_or(train.steps);
        train.eval_every = config.eval_every;
        train.patience = config.patience;
        train.validate()?;
        let members = members_of(&prepared, &methods, config);
        let (start, sources) = match &config.init {
            Some(warm) => {
                let per_seed = warm.load(
                    &config.task_file,
                    &prepared.inner.network,
                    config.seeds as usize,
                    config.device,
                )?;
                let start = Params::concat(
                    &methods
                        .iter()
                        .flat_map(|_| per_seed.iter().map(|(p, _)| p.map(Tensor::shallow_clone)))
                        .collect::<Vec<_>>(),
                )?;
                (Some(start), per_seed.into_iter().map(|(_, s)| s).collect())
            }
            None if !prepared.inner.train.freeze.is_none() => {
                return Err(Error::config(
                    &config.task_file,
                    "train.freeze",
                    "freezes layers that only a warm start trains: give --init RUN (a trained run), or remove freeze",
                ))
            }
            None => (None, vec![]),
        };
        let record = TrainConfig {
            command: RunCommand::Train,
            task_file: config.task_file.clone(),
            task_toml: std::fs::read_to_string(&config.task_file)
                .map_err(|e| Error::io(&config.task_file, e))?,
            methods: methods.iter().map(|m| m.to_string()).collect(),
            seeds: members.iter().map(|m| m.seed).collect(),
            train: prepared.inner.train.clone(),
            network: prepared.inner.network.spec().clone(),
            split_sizes: Pool::ALL
                .iter()
                .map(|p| (p.name().to_string(), prepared.split.pool(*p).len()))
                .collect(),
            data_root: prepared.task.dataset.reads_external_data().then(|| {
                std::path::absolute(&config.roots.external).unwrap_or_else(|_| config.roots.external.clone())
            }),
            environment: RunEnvironment::current(config.device),
            init: config.init.as_ref().map(|w| w.to_string()),
        };
        Ok(TrainPlan { prepared, methods, members, record, start, sources })
    }

    /// Trains every member, evaluates it on the test split and writes the run directory.
    fn train(
        &self,
        config: &TrainRunConfig,
        dir: &RunDir,
        observer: &mut dyn FnMut(TrainRunEvent),
    ) -> Result<TrainRunOutcome> {
        let device = config.device;
        let inner = &self.prepared.inner;
        let inputs = self.prepared.dataset.inputs.to_device(device);
        let data =
            TrainData { inputs: &inputs, labels: &self.prepared.dataset.labels, domain: &inner.domain };
        let eval = EvalSpec::for_reference(self.prepared.task.distribution.clone());
        let trainer = Trainer { net: &inner.network, data: &data, spec: &inner.train, eval: &eval, device };
        let chunk = config.chunk.unwrap_or_else(|| trainer.default_chunk());
        let (run, seconds) = self.train_members(&trainer, chunk, config, dir, observer)?;
        dir.write_jsonl(CURVES_FILE, &self.curve_lines(&run, chunk))?;
        run.params.save(&dir.file(CHECKPOINT_FILE))?;
        let metrics = self.test_metrics(&trainer, &run, seconds)?;
        dir.write_json(METRICS_FILE, &metrics)?;
        let summary = format!(
            "{} — test split ({} examples), {} steps × batch {}, {} member(s) trained {} at a time in {seconds:.1} s on {device:?}\n\n{}",
            self.prepared.task.name,
            self.prepared.split.pool(Pool::Test).len(),
            inner.train.steps,
            inner.train.batch,
            self.members.len(),
            if chunk == 0 { self.members.len() } else { chunk.min(self.members.len()) },
            members_table(&metrics.members, &inner.domain.headline_metrics())
        );
        dir.write_text(TABLE_FILE, &summary)?;
        dir.seal(&[CHECKPOINT_FILE, METRICS_FILE, CURVES_FILE, TABLE_FILE])?;
        snapshot_files(config).remove_all()?;
        Ok(TrainRunOutcome { summary, metrics, already_finished: false })
    }

    /// Every validation of every member, in the order an uninterrupted run logs them (chunk by
    /// chunk, step by step, member by member): the final [`CURVES_FILE`], whatever was resumed.
    fn curve_lines(&self, run: &PopulationRun, chunk: usize) -> Vec<CurveLine> {
        let size = if chunk == 0 { self.members.len().max(1) } else { chunk };
        let mut lines: Vec<(usize, usize, CurveLine)> = vec![];
        for (member, outcome) in run.outcomes.iter().enumerate() {
            for point in &outcome.curve {
                let line = CurveLine {
                    member,
                    method: self.members[member].method.to_string(),
                    seed: self.members[member].seed,
                    point: point.clone(),
                };
                lines.push((member / size, point.step, line));
            }
        }
        lines.sort_by_key(|(c, step, line)| (*c, *step, line.member));
        lines.into_iter().map(|(_, _, line)| line).collect()
    }

    /// Trains the members in chunks, logging every validation to [`CURVES_FILE`] as it happens and
    /// snapshotting each chunk; returns the run and its training seconds over every session.
    fn train_members(
        &self,
        trainer: &Trainer,
        chunk: usize,
        config: &TrainRunConfig,
        dir: &RunDir,
        observer: &mut dyn FnMut(TrainRunEvent),
    ) -> Result<(PopulationRun, f64)> {
        let steps = trainer.spec.steps;
        let total = chunked_total(self.members.len(), chunk, steps) as u64;
        observer(TrainRunEvent::Started {
            members: self.members.len(),
            methods: self.methods.len(),
            seeds: self.record.seeds.len() as u64 / self.methods.len() as u64,
            steps,
            total,
            device: trainer.device,
        });
        let mut log_error = None;
        let fresh = self.start.as_ref().map(|p| OptimiserState::new(&p.tensors));
        let segment = Segment { from: 0, until: steps, start: self.start.as_ref().zip(fresh.as_ref()) };
        let started = Instant::now();
        let clock = || started.elapsed().as_secs_f64();
        let files = snapshot_files(config);
        let snapshots = ChunkSnapshots { every: config.checkpoint_every, store: &files, clock: &clock };
        let (run, earlier) = train_chunks_with_snapshots(
            trainer,
            &self.members,
            chunk,
            &segment,
            &snapshots,
            &mut |offset, event| match event {
                TrainEvent::Resumed { step } => observer(TrainRunEvent::Resumed {
                    first_member: offset,
                    step,
                    done: chunked_done(offset, chunk, step, steps) as u64,
                }),
                TrainEvent::Step { step, total } => {
                    observer(TrainRunEvent::Step { done: chunked_done(offset, chunk, step, total) as u64 })
                }
                TrainEvent::Evaluated { member, point } => {
                    let member = offset + member;
                    let line = CurveLine {
                        member,
                        method: self.members[member].method.to_string(),
                        seed: self.members[member].seed,
                        point: point.clone(),
                    };
                    if let Err(e) = dir.append_jsonl(CURVES_FILE, &line) {
                        log_error.get_or_insert(e);
                    }
                }
                TrainEvent::Failed { member, failure } => {
                    let member = offset + member;
                    observer(TrainRunEvent::Failed { member, method: &self.members[member].method, failure })
                }
            },
        )?;
        match log_error {
            Some(e) => Err(e),
            None => Ok((run, earlier + clock())),
        }
    }

    /// Every member's metrics on the test split (and per-label errors for ordinal tasks).
    fn test_metrics(&self, trainer: &Trainer, run: &PopulationRun, seconds: f64) -> Result<TrainMetrics> {
        let test: Vec<Vec<i64>> =
            self.members.iter().map(|_| self.prepared.split.pool(Pool::Test).to_vec()).collect();
        let methods: Vec<Method> = self.members.iter().map(|m| m.method.clone()).collect();
        let metrics = evaluate(trainer.net, &run.params, trainer.data, &methods, &test, trainer.eval)?;
        let members = self
            .members
            .iter()
            .zip(metrics)
            .zip(&run.outcomes)
            .map(|((m, metrics), outcome)| MemberResult {
                method: m.method.to_string(),
                seed: m.seed,
                metrics,
                failure: outcome
                    .failure
                    .as_ref()
                    .map(|f| format!("non-finite loss {} at step {}", f.loss, f.step)),
            })
            .collect();
        let per_label = per_label_errors(trainer.net, &run.params, trainer.data, &test, trainer.eval.chunk)?;
        Ok(TrainMetrics {
            split: Pool::Test.name().to_string(),
            seconds,
            members,
            outcomes: run.outcomes.clone(),
            per_label,
        })
    }
}

/// Where a run keeps its chunks' snapshots while it trains.
fn snapshot_files(config: &TrainRunConfig) -> SnapshotFiles {
    SnapshotFiles { folder: config.out.clone(), prefix: SNAPSHOT_PREFIX.to_string() }
}

/// The rules between the run's own settings: at least one seed, patience only with validations,
/// each method once.
fn check_flags(config: &TrainRunConfig, methods: &[Method]) -> Result<()> {
    if config.seeds == 0 {
        return Err(Error::invalid("--seeds", 0, "must be >= 1"));
    }
    if config.patience > 0 && config.eval_every == 0 {
        return Err(Error::invalid(
            "--patience",
            config.patience,
            "counts validations: give --eval-every N as well",
        ));
    }
    let names: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
    if let Some(twice) = names.iter().enumerate().find_map(|(i, n)| names[..i].contains(n).then_some(n)) {
        return Err(Error::invalid(
            "--dist",
            twice,
            "is given twice; each method trains once per seed (use --seeds for more members)",
        ));
    }
    Ok(())
}

/// Checks that every method trains on this task (its family fits the task's labels and domain)
/// by its loss on one training example, without touching any run directory.
pub fn check_methods(prepared: &PreparedTask, methods: &[Method]) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let Some(first) = prepared.split.pool(Pool::Train).first() else {
        return Err(Error::invalid("training split", 0, "holds no example; check [splits] of the task file"));
    };
    let rows = [*first];
    let data = TrainData {
        inputs: &prepared.dataset.inputs,
        labels: &prepared.dataset.labels,
        domain: &prepared.inner.domain,
    };
    let net = &prepared.inner.network;
    let logits = net.forward(&net.init(&[0], Device::Cpu), &data.gather(&rows, 1, Device::Cpu)?)?.get(0);
    for method in methods {
        let _loss =
            data.loss(method, &method.target.phi_tensor(Device::Cpu), &logits, &rows).map_err(|e| {
                Error::invalid("method", method, format!("cannot train on task {}: {e}", prepared.task.name))
            })?;
    }
    Ok(())
}

/// Methods × seeds, method-major, each on the training pool (and the validation pool when validating).
fn members_of(prepared: &PreparedTask, methods: &[Method], config: &TrainRunConfig) -> Vec<Member> {
    let val = if config.eval_every > 0 { prepared.split.pool(Pool::Val).to_vec() } else { vec![] };
    methods
        .iter()
        .flat_map(|m| (0..config.seeds).map(move |s| (m, config.first_seed + s)))
        .map(|(m, seed)| Member {
            seed,
            method: m.clone(),
            train: prepared.split.pool(Pool::Train).to_vec(),
            val: val.clone(),
        })
        .collect()
}
