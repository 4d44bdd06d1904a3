//! `dldl-meta train`: trains methods × seeds on a task as one population, prints mean ± sd of the
//! test metrics and writes a run directory (config, curves, checkpoint, metrics, summary).
use super::common::TaskArgs;
use super::progress::Progress;
use anyhow::Context;
use clap::Args;
use dldl_meta::train::run::{run_train, TrainRunConfig, TrainRunEvent};
use dldl_meta::train::Method;
use std::path::PathBuf;

/// Arguments of `dldl-meta train`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  dldl-meta train --task tasks/age-utkface.toml --dist onehot --dist dldl:sigma=2 --seeds 3 --out runs/utk")]
pub struct TrainArgs {
    #[command(flatten)]
    pub common: TaskArgs,
    /// A method to train (repeatable): onehot, ls:EPS, l1, dldl:sigma=S, dldlv2:sigma=S[,lambda=L],
    /// any distribution (gaussian:sigma=2, pdn:p_d=0.3,p_n=0, segmentation:sigma=3,kernel=5), or
    /// learned:RUN_DIR (the φ a search wrote to RUN_DIR/learned.toml).
    /// Default: the task's own distribution.
    #[arg(long = "dist")]
    pub dists: Vec<String>,
    /// Seeds per method; all methods × seeds train together as one population.
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// First seed (seeds are FIRST, FIRST+1, …).
    #[arg(long, default_value_t = 0)]
    pub first_seed: u64,
    /// Run directory to write (refused if it holds a different run).
    #[arg(long)]
    pub out: PathBuf,
    /// Override the task's optimiser steps (per member).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Evaluate on the validation split every N steps (0: only at the end); the best step is kept.
    #[arg(long, default_value_t = 0)]
    pub eval_every: usize,
    /// Stop a member after this many evaluations without improvement (0: never).
    #[arg(long, default_value_t = 0)]
    pub patience: usize,
    /// Train at most this many members at once (0: all together). Results are the same. Default:
    /// on CPU as many as keep 32 MiB of activations (fastest per member in `dldl-meta bench`),
    /// all together on GPU.
    #[arg(long)]
    pub chunk: Option<usize>,
}

/// Maps the flags into a [`TrainRunConfig`], runs it and prints the table.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let config = TrainRunConfig {
        task_file: args.common.task.clone(),
        roots: args.common.roots(),
        device: args.common.device()?,
        methods: methods_of(args)?,
        seeds: args.seeds,
        first_seed: args.first_seed,
        steps: args.steps,
        eval_every: args.eval_every,
        patience: args.patience,
        chunk: args.chunk,
        out: args.out.clone(),
    };
    let mut progress = None;
    let outcome = run_train(&config, &mut |event| match event {
        TrainRunEvent::Started { members, methods, seeds, steps, total, device } => {
            eprintln!("training {members} member(s) ({methods} method(s) × {seeds} seed(s)) for {steps} steps on {device:?}");
            progress = Some(Progress::new("train", total));
        }
        TrainRunEvent::Step { done } => progress.iter_mut().for_each(|p| p.set(done)),
        TrainRunEvent::Failed { member, method, failure } => {
            let line = format!("member {member} ({method}) stopped: non-finite loss {} at step {}", failure.loss, failure.step);
            progress.iter_mut().for_each(|p| p.println(&line))
        }
    })?;
    if let Some(p) = progress {
        p.finish();
    }
    if outcome.already_finished {
        println!("{} already finished; its summary:\n", args.out.display());
    }
    print!("{}", outcome.summary);
    Ok(())
}

/// The `--dist` methods (`learned:RUN` read from RUN/learned.toml); none: the task's own.
fn methods_of(args: &TrainArgs) -> anyhow::Result<Vec<Method>> {
    args.dists.iter().map(|d| super::methods::parse_method(d).with_context(|| format!("--dist {d}"))).collect()
}
