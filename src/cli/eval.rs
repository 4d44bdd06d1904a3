//! `dldl-meta eval`: evaluates a trained run's checkpoint with the run's own task settings, on the
//! run's test split by default or on every example of another copy of the data (`--data-dir`).
use super::common::TrainedRun;
use anyhow::{bail, ensure, Context};
use clap::Args;
use dldl_meta::config::TaskSpec;
use dldl_meta::data::image::SKIP_CORRUPT_ADVICE;
use dldl_meta::data::{Dataset, Pool, Split};
use dldl_meta::model::Params;
use dldl_meta::rundir::records::{
    members_table, MemberResult, TrainConfig, TrainMetrics, CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE,
};
use dldl_meta::rundir::RunDir;
use dldl_meta::runtime::DeviceChoice;
use dldl_meta::train::evaluate::{evaluate, EvalSpec};
use dldl_meta::train::{Method, TrainData};
use std::path::PathBuf;

/// Arguments of `dldl-meta eval`.
#[derive(Debug, Args)]
#[command(
    after_help = "Without --data-dir the run's own test split is scored (the split `train` reported);\n\
with --data-dir every example of that other copy of the data is scored. Members that failed in\n\
training are skipped; the command fails when none is left."
)]
pub struct EvalArgs {
    /// Run directory written by `dldl-meta train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Another copy of the run's data (same layout as the task's path under it); all its examples are
    /// scored. Only for tasks that read the researcher's own data (not registry or generated data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Skip corrupt images (and broken links) and file names that do not parse, as
    /// `skip_corrupt = true` in the task's [dataset] would; the skipped files are counted and printed.
    #[arg(long)]
    pub skip_corrupt: bool,
}

/// Loads the run, evaluates every member that trained on the chosen examples and prints the table.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
    let dir = RunDir::existing(&args.run)?;
    let config: TrainConfig =
        dir.read_json(CONFIG_FILE).context("this run was not written by `dldl-meta train`")?;
    let mut task = TaskSpec::parse(&config.task_toml, &config.task_file)?;
    check_data_dir(args, &task)?;
    ensure!(
        !args.skip_corrupt || task.set_skip_corrupt(),
        "--skip-corrupt: task {} reads no image files (its data are fetched, compiled in or generated)",
        task.name
    );
    let recorded: TrainMetrics = dir
        .read_json(METRICS_FILE)
        .with_context(|| format!("{}: the run has not finished (no {METRICS_FILE})", args.run.display()))?;
    let kept = trained_members(&recorded)?;
    // The run's own data unless another copy is given.
    let TrainedRun { task, dataset, split, inner } =
        super::common::open_train_run(&dir, &config, task, args.data_dir.clone()).map_err(advise_flag)?;
    if args.skip_corrupt {
        eprintln!("--skip-corrupt: {}", dataset.report);
    }
    let (rows, scored) = examples(args, &config, &dataset, &split)?;
    let net = &inner.network;
    let params = Params::load(&dir.file(CHECKPOINT_FILE), &net.param_names(), &net.stat_names(), device)?
        .members(&kept.iter().map(|i| *i as i64).collect::<Vec<_>>());
    let methods: Vec<Method> =
        kept.iter().map(|i| recorded.members[*i].method.parse()).collect::<Result<_, _>>()?;
    let sets = vec![rows; kept.len()];
    let data = TrainData {
        inputs: &dataset.inputs.to_device(device),
        labels: &dataset.labels,
        domain: &inner.domain,
    };
    let metrics = evaluate(
        &inner.network,
        &params,
        &data,
        &methods,
        &sets,
        &EvalSpec::for_reference(task.distribution.clone()),
    )?;
    let results: Vec<MemberResult> = kept
        .iter()
        .zip(metrics)
        .map(|(i, metrics)| MemberResult {
            method: recorded.members[*i].method.clone(),
            seed: recorded.members[*i].seed,
            metrics,
            failure: None,
        })
        .collect();
    println!(
        "{} on {}: scored {scored}\n\n{}",
        args.run.display(),
        dataset.source,
        members_table(&results, &inner.domain.headline_metrics())
    );
    Ok(())
}

/// An error that advises `skip_corrupt` in the task file advises `--skip-corrupt` instead: eval reads
/// the task from the run directory, not from a file the researcher edits.
fn advise_flag(e: anyhow::Error) -> anyhow::Error {
    let text = format!("{e:#}");
    if text.contains(SKIP_CORRUPT_ADVICE) {
        anyhow::anyhow!(text.replace(SKIP_CORRUPT_ADVICE, "pass --skip-corrupt to eval"))
    } else {
        e
    }
}

/// `--data-dir` only where the task reads the researcher's data, and only a directory that exists.
fn check_data_dir(args: &EvalArgs, task: &TaskSpec) -> anyhow::Result<()> {
    let Some(data_dir) = &args.data_dir else { return Ok(()) };
    ensure!(
        task.dataset.reads_external_data(),
        "--data-dir {}: task {} does not read the researcher's data (its data are fetched from a registry, compiled in or generated); evaluate without --data-dir",
        data_dir.display(),
        task.name
    );
    ensure!(data_dir.is_dir(), "--data-dir {}: no such directory", data_dir.display());
    Ok(())
}

/// Indices of the members that trained to the end; a line on stderr for each one skipped.
fn trained_members(recorded: &TrainMetrics) -> anyhow::Result<Vec<usize>> {
    for (i, m) in recorded.members.iter().enumerate() {
        if let Some(reason) = &m.failure {
            eprintln!("skipped member {i} ({}, seed {}): it failed in training ({reason})", m.method, m.seed);
        }
    }
    let kept: Vec<usize> =
        (0..recorded.members.len()).filter(|i| recorded.members[*i].failure.is_none()).collect();
    if kept.is_empty() {
        bail!(
            "every member of this run failed in training ({} of {}); there is nothing to evaluate",
            recorded.members.len(),
            recorded.members.len()
        );
    }
    Ok(kept)
}

/// The rows to score and how to name them: the run's test split (recomputed from the task's seeded
/// split and checked against the recorded size), or every example of the `--data-dir` copy.
fn examples(
    args: &EvalArgs,
    config: &TrainConfig,
    dataset: &Dataset,
    split: &Split,
) -> anyhow::Result<(Vec<i64>, String)> {
    let n = dataset.inputs.size()[0];
    if let Some(data_dir) = &args.data_dir {
        return Ok(((0..n).collect(), format!("all {n} examples of {}", data_dir.display())));
    }
    let test = split.pool(Pool::Test).to_vec();
    let recorded = config.split_sizes.get(Pool::Test.name()).copied().unwrap_or(0);
    ensure!(
        recorded == test.len(),
        "{}: the run's test split had {recorded} examples, the data found now give {}; evaluate the data it was trained on, or another copy with --data-dir",
        args.run.display(),
        test.len()
    );
    let scored = format!("the test split of the run ({} of {n} examples)", test.len());
    Ok((test, scored))
}
