//! `dldl-meta trace`: records member 0 of a finished `train` run step by step (initial weights, the
//! draws of its first K steps, the weights after them) for `benches/python/parity.py --replay`.
use anyhow::Context;
use clap::Args;
use dldl_meta::config::TaskSpec;
use dldl_meta::rundir::records::{TrainConfig, CONFIG_FILE, TRACE_FILE, TRACE_TENSORS};
use dldl_meta::rundir::RunDir;
use dldl_meta::train::evaluate::EvalSpec;
use dldl_meta::train::step_trace::{trace, write_tensors};
use dldl_meta::train::{Member, TrainData, Trainer};
use std::path::PathBuf;

/// Arguments of `dldl-meta trace`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  dldl-meta trace --run runs/parity/ours --steps 100\n  \
.venv/bin/python benches/python/parity.py --run runs/parity/ours --data runs/parity/data.npz --replay")]
pub struct TraceArgs {
    /// Run directory written by `dldl-meta train` (its first method and first seed are traced).
    #[arg(long)]
    pub run: PathBuf,
    /// Steps to trace, from the start of the run's schedule (1 ..= the run's steps).
    #[arg(long, default_value_t = 100, value_parser = super::values::whole::<usize, 1>)]
    pub steps: usize,
}

/// Writes RUN/trace.safetensors and RUN/trace.json (on the CPU, with the run's own data).
pub fn run(args: &TraceArgs) -> anyhow::Result<()> {
    let dir = RunDir::existing_locked(&args.run)?;
    let config: TrainConfig =
        dir.read_json(CONFIG_FILE).context("this run was not written by `dldl-meta train`")?;
    let task = TaskSpec::parse(&config.task_toml, &config.task_file)?;
    let opened = super::common::open_train_run(&dir, &config, task, None)?;
    let pool = opened.split.pool(dldl_meta::data::Pool::Train).to_vec();
    let (method, seed) = (
        config.methods.first().context("the run records no method")?,
        *config.seeds.first().context("the run records no seed")?,
    );
    let member = Member { seed, method: method.parse()?, train: pool, val: vec![] };
    let data = TrainData {
        inputs: &opened.dataset.inputs,
        labels: &opened.dataset.labels,
        domain: &opened.inner.domain,
    };
    let eval = EvalSpec::for_reference(opened.task.distribution.clone());
    let trainer = Trainer {
        net: &opened.inner.network,
        data: &data,
        spec: &config.train,
        eval: &eval,
        device: tch::Device::Cpu,
    };
    eprintln!("tracing {method}, seed {seed}: {} steps × batch {}…", args.steps, config.train.batch);
    let (tensors, record) = trace(&trainer, &member, args.steps)?;
    write_tensors(&tensors, &dir.file(TRACE_TENSORS))?;
    dir.write_json(TRACE_FILE, &record)?;
    println!("wrote {} and {}", dir.file(TRACE_TENSORS).display(), dir.file(TRACE_FILE).display());
    Ok(())
}
