//! `dldl-meta train`: trains methods × seeds on a task as one population, prints mean ± sd of the
//! test metrics and writes a run directory (config, curves, checkpoint, metrics, summary).
use super::common::TaskArgs;
use super::progress::Progress;
use anyhow::Context;
use clap::Args;
use dldl_meta::data::Pool;
use dldl_meta::rundir::RunDir;
use dldl_meta::runtime::RunEnvironment;
use dldl_meta::train::evaluate::{evaluate, per_label_errors, EvalSpec};
use dldl_meta::train::setup::PreparedTask;
use dldl_meta::train::summary::{table, MemberResult};
use dldl_meta::train::trainer::TrainEvent;
use dldl_meta::train::trainer::train_chunked;
use dldl_meta::train::{Member, Method, TrainData, Trainer};
use std::path::PathBuf;
use std::time::Instant;

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

/// Trains, evaluates on the test split, writes the run directory and prints the table.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let device = args.common.device()?;
    let prepared = PreparedTask::load(&args.common.task, &args.common.roots())?;
    let methods = methods_of(args, &prepared)?;
    let mut inner = prepared.inner.clone();
    inner.train.steps = args.steps.unwrap_or(inner.train.steps);
    inner.train.eval_every = args.eval_every;
    inner.train.patience = args.patience;
    inner.train.validate()?;
    let members: Vec<Member> = methods
        .iter()
        .flat_map(|m| (0..args.seeds).map(move |s| (m, args.first_seed + s)))
        .map(|(m, seed)| Member {
            seed,
            method: m.clone(),
            train: prepared.split.pool(Pool::Train).to_vec(),
            val: if args.eval_every > 0 { prepared.split.pool(Pool::Val).to_vec() } else { vec![] },
        })
        .collect();
    let config = serde_json::json!({
        "command": "train",
        "task_file": args.common.task,
        "task_toml": args.common.task_toml()?,
        "methods": methods.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        "seeds": members.iter().map(|m| m.seed).collect::<Vec<_>>(),
        "train": inner.train,
        "network": inner.network.spec(),
        "split_sizes": Pool::ALL.iter().map(|p| (p.name(), prepared.split.pool(*p).len())).collect::<std::collections::BTreeMap<_, _>>(),
        "environment": RunEnvironment::current(device),
    });
    let (dir, resumed) = RunDir::open(&args.out, &config)?;
    if let Some(stats) = &prepared.input_stats {
        dir.write_json(dldl_meta::train::standardise::STATS_FILE, stats)?;
    }
    if resumed && dir.file("summary.md").exists() {
        println!("{} already finished; its summary:\n", args.out.display());
        print!("{}", std::fs::read_to_string(dir.file("summary.md"))?);
        return Ok(());
    }
    let data = TrainData { inputs: &prepared.dataset.inputs.to_device(device), labels: &prepared.dataset.labels, domain: &inner.domain };
    let eval = EvalSpec::for_reference(prepared.task.distribution.clone());
    eprintln!(
        "training {} member(s) ({} method(s) × {} seed(s)) for {} steps on {device:?}",
        members.len(),
        methods.len(),
        args.seeds,
        inner.train.steps
    );
    let started = Instant::now();
    let trainer = Trainer { net: &inner.network, data: &data, spec: &inner.train, eval: &eval, device };
    let chunk = args.chunk.unwrap_or_else(|| trainer.default_chunk());
    let chunks = if chunk == 0 { 1 } else { members.len().div_ceil(chunk) };
    let mut progress = Progress::new("train", (inner.train.steps * chunks) as u64);
    let mut log_error = None;
    let run = train_chunked(&trainer, &members, chunk, &mut |offset, event| match event {
        TrainEvent::Step { step, total } => progress.set(((offset / chunk.max(1)) * total + step) as u64),
        TrainEvent::Evaluated { member, point } => {
            let member = offset + member;
            let line = serde_json::json!({"member": member, "method": members[member].method.to_string(), "seed": members[member].seed, "point": point});
            if let Err(e) = dir.append_jsonl("curves.jsonl", &line) {
                log_error.get_or_insert(e);
            }
        }
        TrainEvent::Failed { member, failure } => {
            let member = offset + member;
            progress.println(&format!("member {member} ({}) stopped: non-finite loss {} at step {}", members[member].method, failure.loss, failure.step))
        }
    })?;
    progress.finish();
    if let Some(e) = log_error {
        return Err(e.into());
    }
    let seconds = started.elapsed().as_secs_f64();
    run.params.save(&dir.file("checkpoint.safetensors"))?;
    let test: Vec<Vec<i64>> = members.iter().map(|_| prepared.split.pool(Pool::Test).to_vec()).collect();
    let all_methods: Vec<Method> = members.iter().map(|m| m.method.clone()).collect();
    let metrics = evaluate(&inner.network, &run.params, &data, &all_methods, &test, &eval)?;
    let results: Vec<MemberResult> = members
        .iter()
        .zip(metrics)
        .zip(&run.outcomes)
        .map(|((m, metrics), outcome)| MemberResult {
            method: m.method.to_string(),
            seed: m.seed,
            metrics,
            failure: outcome.failure.as_ref().map(|f| format!("non-finite loss {} at step {}", f.loss, f.step)),
        })
        .collect();
    let mut record = serde_json::json!({"split": "test", "seconds": seconds, "members": results, "outcomes": run.outcomes});
    if let Some(per_label) = per_label_errors(&inner.network, &run.params, &data, &test, eval.chunk)? {
        record["per_label"] = serde_json::to_value(per_label)?;
    }
    dir.write_json("metrics.json", &record)?;
    let summary = format!(
        "{} — test split ({} examples), {} steps × batch {}, {} member(s) trained {} at a time in {seconds:.1} s on {device:?}\n\n{}",
        prepared.task.name,
        prepared.split.pool(Pool::Test).len(),
        inner.train.steps,
        inner.train.batch,
        members.len(),
        if chunk == 0 { members.len() } else { chunk.min(members.len()) },
        table(&results, &inner.domain.headline_metrics())
    );
    dir.write_text("summary.md", &summary)?;
    print!("{summary}");
    Ok(())
}

fn methods_of(args: &TrainArgs, prepared: &PreparedTask) -> anyhow::Result<Vec<Method>> {
    if args.dists.is_empty() {
        return Ok(vec![Method { target: prepared.task.distribution.clone(), loss: dldl_meta::train::LossKind::Kl }]);
    }
    args.dists.iter().map(|d| super::methods::parse_method(d).with_context(|| format!("--dist {d}"))).collect()
}
