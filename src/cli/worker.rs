//! `dldl-meta worker`: joins (or creates) a study in Optuna's storage and evaluates the φs its
//! sampler asks for, on the same episodes and with the same evaluator as `search`.
use super::common::TaskArgs;
use super::optuna::OptunaArgs;
use super::progress::phi_text;
use anyhow::Context;
use clap::Args;
use dldl_meta::meta::optuna::bridge::check_storage;
use dldl_meta::meta::optuna::identity::study_attrs;
use dldl_meta::meta::optuna::{process_nonce, OptunaSpace, TrialEvent, Worker, WorkerConfig};
use dldl_meta::meta::{Study, StudySpec};
use dldl_meta::rundir::redact::redact;
use dldl_meta::train::setup::PreparedTask;
use dldl_meta::train::TrainData;
use std::path::PathBuf;

/// Arguments of `dldl-meta worker`.
#[derive(Debug, Args)]
#[command(after_help = "Example (one of many workers, e.g. a Slurm array task):\n  \
dldl-meta --threads 1 worker --storage postgresql://user@db-host/optuna --study rot-sigma \\\n      \
--task tasks/rotation-mnist.toml --meta meta/rotation-optuna.toml --trials 10\n\
Each trial is scored on the study's meta-train episodes 0..episodes_per_step (the same for every trial,\n\
so trials compare paired); its query loss per episode is reported to Optuna's pruner. The study's task,\n\
φ space and evaluation are stored with it, and a worker with others is refused. With a heartbeat (RDB\n\
storages), a worker killed mid-trial has its trial failed and re-queued for another worker.")]
pub struct WorkerArgs {
    #[command(flatten)]
    pub common: TaskArgs,
    /// Study file (meta/*.toml): φ to learn, bounds, episodes, inner settings, [optuna] sampler.
    #[arg(long)]
    pub meta: PathBuf,
    #[command(flatten)]
    pub optuna: OptunaArgs,
    /// Trials this worker evaluates before it exits (per worker, like Optuna's n_trials; 0: only
    /// create or check the study).
    #[arg(long, default_value_t = 10, value_parser = super::values::whole::<usize, 0>)]
    pub trials: usize,
    /// Names this worker in its trials (default: the Slurm array index, else the pid). Its sampler's
    /// seed mixes the study's seed, this id and a per-process nonce: a restarted worker, or two with
    /// the same id, draw different φs (the seed is printed and stored with each trial).
    #[arg(long, env = "SLURM_ARRAY_TASK_ID", value_parser = super::values::whole::<u64, 0>)]
    pub worker_id: Option<u64>,
}

/// Runs the worker's trials and prints one line per trial.
pub fn run(args: &WorkerArgs) -> anyhow::Result<()> {
    check_storage(&args.optuna.storage, false).context("--storage")?;
    let device = args.common.device()?;
    let spec = StudySpec::load(&args.meta)?;
    let task_toml = args.common.task_toml()?;
    let prepared = PreparedTask::load(&args.common.task, &args.common.roots())?;
    let inputs = prepared.dataset.inputs.to_device(device);
    let data =
        TrainData { inputs: &inputs, labels: &prepared.dataset.labels, domain: &prepared.inner.domain };
    let evaluator = Study::new(&prepared, &spec, data, device)?;
    let space =
        OptunaSpace::new(&spec, evaluator.space.dim()).with_context(|| args.meta.display().to_string())?;
    let attrs = study_attrs(
        &prepared.task.name,
        &args.common.task,
        &args.meta,
        &task_toml,
        &spec,
        &space,
        &evaluator.inner,
    )?;
    let worker_id = args.worker_id.unwrap_or(std::process::id() as u64);
    let config = WorkerConfig {
        bridge: args.optuna.bridge(),
        study: args.optuna.study.clone(),
        trials: args.trials,
        worker_id,
        nonce: process_nonce(),
    };
    let mut worker = Worker::open(&evaluator, space, attrs, config)?;
    eprintln!(
        "worker {worker_id} (pid {}, sampler seed {}) on study {} at {}: {} trials of {:?} on {} ({} episodes × {} inner steps each)",
        std::process::id(),
        worker.sampler_seed(),
        args.optuna.study,
        redact(&args.optuna.storage),
        args.trials,
        spec.learn,
        prepared.task.name,
        spec.episodes_per_step,
        evaluator.inner.steps
    );
    let (metric, _) = dldl_meta::meta::query_loss::headline_metric(&prepared.inner.domain);
    let done = worker.run(&mut |event| match event {
        TrialEvent::Started { number, phi, retry_of } => {
            let retry = retry_of.map(|n| format!(" (retry of trial {n})")).unwrap_or_default();
            eprintln!("trial {number}{retry}: evaluating φ = {}", phi_text(phi));
        }
        TrialEvent::Finished(t) => {
            let retry = t.retry_of.map(|n| format!(" (retry of trial {n})")).unwrap_or_default();
            let pruned = if t.pruned { " pruned" } else { "" };
            println!(
                "trial {}{retry}: φ = {} query loss {:.4} ({metric} {:.3}){pruned} in {:.1} s",
                t.number,
                phi_text(&t.phi),
                t.loss,
                t.metric,
                t.seconds
            );
        }
    })?;
    eprintln!("worker {worker_id}: {} trials done", done.len());
    Ok(())
}
