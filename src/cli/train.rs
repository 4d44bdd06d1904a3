//! `dldl-meta train`: trains methods × seeds on a task as one population, prints mean ± sd of the
//! test metrics and writes a run directory (config, curves, checkpoint, metrics, summary).
use super::common::TaskArgs;
use super::progress::Progress;
use anyhow::Context;
use clap::Args;
use dldl_meta::config::TaskSpec;
use dldl_meta::train::run::{run_train, TrainRunConfig, TrainRunEvent};
use dldl_meta::train::warm_start::WarmStart;
use dldl_meta::train::Method;
use std::path::PathBuf;

/// Arguments of `dldl-meta train`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  dldl-meta train --task tasks/age-utkface.toml --dist onehot --dist dldl:sigma=2 --seeds 3 --out runs/utk"
)]
pub struct TrainArgs {
    #[command(flatten)]
    pub common: TaskArgs,
    /// A method to train (repeatable): onehot, ls:EPS, l1, dldl:sigma=S, dldlv2:sigma=S[,lambda=L],
    /// any distribution (gaussian:sigma=2, pdn:p_d=0.3,p_n=0, segmentation:sigma=3,kernel=5), or
    /// learned:RUN_DIR (the φ a search wrote to RUN_DIR/learned.toml). Each method at most once.
    /// Default: the task's own distribution.
    #[arg(long = "dist", visible_alias = "method")]
    pub dists: Vec<String>,
    /// Seeds per method (>= 1); all methods × seeds train together as one population.
    #[arg(long, default_value_t = 1, value_parser = super::values::whole::<u64, 1>)]
    pub seeds: u64,
    /// First seed (seeds are FIRST, FIRST+1, …).
    #[arg(long, default_value_t = 0, value_parser = super::values::whole::<u64, 0>)]
    pub first_seed: u64,
    /// Run directory to write (refused if it holds a different run).
    #[arg(long)]
    pub out: PathBuf,
    /// Override the task's optimiser steps (per member).
    #[arg(long, value_parser = super::values::whole::<usize, 1>)]
    pub steps: Option<usize>,
    /// Evaluate on the validation split every N steps (0: only at the end); the best step is kept.
    #[arg(long, default_value_t = 0, value_parser = super::values::whole::<usize, 0>)]
    pub eval_every: usize,
    /// Stop a member after this many evaluations without improvement (0: never); needs --eval-every.
    #[arg(long, default_value_t = 0, value_parser = super::values::whole::<usize, 0>)]
    pub patience: usize,
    /// Train at most this many members at once (0: all together). Results are the same. Default:
    /// on CPU as many as keep 32 MiB of activations (fastest per member in `dldl-meta bench`),
    /// all together on GPU.
    #[arg(long, value_parser = super::values::whole::<usize, 0>)]
    pub chunk: Option<usize>,
    /// Start every member from a trained run instead of a fresh init: RUN_DIR, or RUN_DIR:METHOD
    /// when it trained several (member with seed index s from that method's s-th member). Same task
    /// and network shapes required; with `freeze = "features"` in the task's [train] only the head trains.
    /// A smaller network (an MLP head on RUN's exported features) starts from RUN's last layers.
    #[arg(long)]
    pub init: Option<String>,
    /// With --init from a run of fewer seeds: the extra seeds start again from its first members
    /// (seed index s from the source's member s mod its seeds); without it that is refused.
    #[arg(long, requires = "init")]
    pub init_cycle: bool,
    /// Save each chunk's whole training state (weights, optimiser, best-so-far, curves) every N
    /// steps, so that a killed run started again with the same command resumes there and ends
    /// with the same results as an uninterrupted one (0: only when a chunk finishes).
    #[arg(long, default_value_t = 200, value_parser = super::values::whole::<usize, 0>)]
    pub checkpoint_every: usize,
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
        init: args
            .init
            .as_deref()
            .map(str::parse::<WarmStart>)
            .transpose()?
            .map(|w| WarmStart { cycle: args.init_cycle, ..w }),
        checkpoint_every: args.checkpoint_every,
    };
    let mut progress = None;
    let outcome = run_train(&config, &mut |event| match event {
        TrainRunEvent::Started { members, methods, seeds, steps, total, device } => {
            eprintln!("training {members} member(s) ({methods} method(s) × {seeds} seed(s)) for {steps} steps on {device:?}");
            progress = Some(Progress::new("train", total));
        }
        TrainRunEvent::WarmStart { seed, source } => eprintln!(
            "seed index {seed} starts from member {} (seed {}) of {}",
            source.member,
            source.seed,
            args.init.as_deref().unwrap_or_default()
        ),
        TrainRunEvent::Step { done } => progress.iter_mut().for_each(|p| p.set(done)),
        TrainRunEvent::Resumed { first_member, step, done } => {
            let line =
                format!("resuming at step {step} (members from {first_member} on, from their snapshot)");
            progress.iter_mut().for_each(|p| {
                p.println(&line);
                p.set(done)
            })
        }
        TrainRunEvent::Failed { member, method, failure } => {
            let line = format!(
                "member {member} ({method}) stopped: non-finite loss {} at step {}",
                failure.loss, failure.step
            );
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
    let failed = outcome.failed_members();
    if failed.len() == outcome.metrics.members.len() {
        let first = failed.first().map_or(String::new(), |m| {
            format!("; e.g. {} seed {}: {}", m.method, m.seed, m.failure.as_deref().unwrap_or_default())
        });
        anyhow::bail!(
            "every member failed in training ({} of {}{first}); {} records what happened (metrics.json). Lower the learning rate ([train] lr of the task file)",
            failed.len(),
            failed.len(),
            args.out.display()
        );
    }
    Ok(())
}

/// The `--dist` methods, checked against the task (`learned:RUN` read from RUN/learned.toml);
/// none: the task's own.
fn methods_of(args: &TrainArgs) -> anyhow::Result<Vec<Method>> {
    if args.dists.is_empty() {
        return Ok(vec![]);
    }
    let task = TaskSpec::load(&args.common.task)?;
    args.dists
        .iter()
        .map(|d| super::methods::parse_method(d, &task).with_context(|| format!("--dist {d}")))
        .collect()
}
