//! `dldl-meta eval`: evaluates a trained run's checkpoint on another copy of the same kind of data
//! (every example of it), with the run's own task settings.
use anyhow::Context;
use clap::Args;
use dldl_meta::config::TaskSpec;
use dldl_meta::data::{load_task, DataRoots};
use dldl_meta::model::Params;
use dldl_meta::rundir::RunDir;
use dldl_meta::runtime::DeviceChoice;
use dldl_meta::train::evaluate::{evaluate, EvalSpec};
use dldl_meta::train::setup::{standardise_like_training, InnerLoop};
use dldl_meta::train::standardise::STATS_FILE;
use dldl_meta::train::summary::{table, MemberResult};
use dldl_meta::train::{Method, TrainData};
use std::path::PathBuf;

/// Arguments of `dldl-meta eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory written by `dldl-meta train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Directory holding the other copy of the data (same layout as the task's path under it).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

#[derive(serde::Deserialize)]
struct TrainConfig {
    task_file: PathBuf,
    task_toml: String,
    methods: Vec<String>,
    seeds: Vec<u64>,
}

/// Loads the run, evaluates every member on all examples of the data and prints the table.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
    let dir = RunDir::existing(&args.run)?;
    let config: TrainConfig = dir.read_json(dldl_meta::rundir::CONFIG_FILE).context("this run was not written by `dldl-meta train`")?;
    let task = TaskSpec::parse(&config.task_toml, &config.task_file)?;
    let mut dataset = load_task(&task, &DataRoots::from_env(args.data_dir.clone()))?;
    // The training split's statistics, as stored by `train`: never recomputed on this data.
    let stored = task.model.standardise.then(|| dir.read_json(STATS_FILE)).transpose()?;
    standardise_like_training(&task, &mut dataset, stored)?;
    let inner = InnerLoop::from_task(&task, &dataset, 1)?;
    let params = Params::load(&dir.file("checkpoint.safetensors"), &inner.network.param_names(), device)?;
    let per_method = config.seeds.len() / config.methods.len().max(1);
    let methods: Vec<Method> = config.methods.iter().flat_map(|m| std::iter::repeat_n(m, per_method)).map(|m| m.parse()).collect::<Result<_, _>>()?;
    let everything: Vec<i64> = (0..dataset.inputs.size()[0]).collect();
    let sets = vec![everything; methods.len()];
    let data = TrainData { inputs: &dataset.inputs.to_device(device), labels: &dataset.labels, domain: &inner.domain };
    let eval = EvalSpec::for_reference(task.distribution.clone());
    let metrics = evaluate(&inner.network, &params, &data, &methods, &sets, &eval)?;
    let results: Vec<MemberResult> = methods
        .iter()
        .zip(&config.seeds)
        .zip(metrics)
        .map(|((m, seed), metrics)| MemberResult { method: m.to_string(), seed: *seed, metrics, failure: None })
        .collect();
    let columns = inner.domain.headline_metrics();
    println!("{} on {} ({} examples)\n\n{}", args.run.display(), dataset.source, sets[0].len(), table(&results, &columns));
    Ok(())
}
