//! `dldl-meta fewshot`: evaluates fixed and learned label distributions on seeded meta-test episodes
//! (K shots) or seeded fractions of the training split; prints mean ± 95 % CI and paired differences.
use super::common::TaskArgs;
use super::methods::parse_method;
use super::progress::Progress;
use anyhow::{bail, Context};
use clap::Args;
use dldl_meta::fewshot::{FewshotEvent, FewshotSpec, InnerPlan, NamedMethod, Protocol};
use dldl_meta::meta::study_spec::InnerOverride;
use dldl_meta::meta::StudySpec;
use dldl_meta::rundir::records::Setting;
use dldl_meta::rundir::records::{
    FewshotConfig, RunCommand, CONFIG_FILE, FEWSHOT_SUMMARY_FILE, RECORDS_FILE,
};
use dldl_meta::rundir::RunDir;
use dldl_meta::runtime::RunEnvironment;
use dldl_meta::train::run::check_methods;
use dldl_meta::train::setup::PreparedTask;
use dldl_meta::train::{LossKind, Method, TrainData};
use std::path::{Path, PathBuf};

/// Arguments of `dldl-meta fewshot`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  dldl-meta fewshot --task tasks/rotation-mnist.toml --shots 1,2,5,10 --episodes 600 \\\n      --method onehot --method ls:0.1 --method dldl:sigma=10 --method learned:runs/rot-hg --baseline onehot --out runs/rot-fs\n  dldl-meta fewshot --task tasks/age-utkface.toml --train-fraction 0.1,0.25,0.5,1 --episodes 3 \\\n      --method onehot --method dldl:sigma=2 --out runs/utk-fraction\n\
Every method trains on the same seeded episodes with the same network seed per episode (paired).\n\
Killed at any moment, the same command resumes; the run directory refuses a different configuration.\n\
Inner loop: the task's [train] (epochs counted over each member's own training set), overridden by the\n\
[inner] of --meta, else of the first learned run's study, then by --steps/--batch/--lr."
)]
pub struct FewshotArgs {
    #[command(flatten)]
    pub common: TaskArgs,
    /// Shot counts K (support examples per label) of the meta-test episodes, e.g. 1,2,5,10.
    #[arg(long, value_delimiter = ',', conflicts_with = "train_fraction", value_parser = super::values::whole::<usize, 1>)]
    pub shots: Vec<usize>,
    /// Instead of episodes: fractions of the training split (seeded subsets), evaluated on the test split.
    #[arg(long, value_delimiter = ',', value_parser = super::values::fraction)]
    pub train_fraction: Vec<f64>,
    /// Episodes per shot count (seeded subsets per fraction).
    #[arg(long, default_value_t = 600, value_parser = super::values::whole::<usize, 1>)]
    pub episodes: usize,
    /// A method (repeatable): onehot, ls:EPS, dldl:sigma=S, l1, dldlv2:sigma=S, any distribution
    /// spec, or learned:RUN_DIR (the `[distribution]` of RUN_DIR/learned.toml). Default: onehot and the task's distribution.
    #[arg(long = "method", visible_alias = "dist")]
    pub methods: Vec<String>,
    /// The method every other is compared with, paired by episode (default: the first method).
    #[arg(long)]
    pub baseline: Option<String>,
    /// Members trained together per population (rounded down to whole episodes × all methods).
    #[arg(long, default_value_t = 32, value_parser = super::values::whole::<usize, 1>)]
    pub chunk: usize,
    /// Seed of the episodes, subsets and networks (default: the task's episode seed).
    #[arg(long, value_parser = super::values::whole::<u64, 0>)]
    pub seed: Option<u64>,
    /// Study file whose [inner] settings the members use (the inner loop φ was learned with).
    #[arg(long)]
    pub meta: Option<PathBuf>,
    /// Override the inner loop's optimiser steps per member.
    #[arg(long, value_parser = super::values::whole::<usize, 1>)]
    pub steps: Option<usize>,
    /// Override the inner loop's batch size (capped at the training set size).
    #[arg(long, value_parser = super::values::whole::<i64, 1>)]
    pub batch: Option<i64>,
    /// Override the inner loop's learning rate.
    #[arg(long, value_parser = super::values::positive)]
    pub lr: Option<f64>,
    /// Equivalence margin of the verdicts, in the headline metric's unit (e.g. 0.05 years of MAE): a
    /// difference that is not significant is called equivalent when two one-sided t-tests put it within ±margin.
    #[arg(long, default_value_t = dldl_meta::fewshot::spec::default_margin(), value_parser = super::values::positive)]
    pub margin: f64,
    /// Run directory (created, or resumed when it holds the same configuration).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs or resumes the study, prints and saves the tables.
pub fn run(args: &FewshotArgs) -> anyhow::Result<()> {
    let device = args.common.device()?;
    let prepared = PreparedTask::load(&args.common.task, &args.common.roots())?;
    let methods = methods_of(args, &prepared)?;
    let settings: Vec<Setting> = match (args.shots.is_empty(), args.train_fraction.is_empty()) {
        (false, true) => args.shots.iter().map(|k| Setting::Shots(*k)).collect(),
        (true, false) => args.train_fraction.iter().map(|f| Setting::Fraction(*f)).collect(),
        _ => bail!("give --shots K,K,… (meta-test episodes) or --train-fraction F,F,… (subsets of the training split)"),
    };
    let (inner, inner_source) = inner_plan(args, &prepared)?;
    let spec = FewshotSpec {
        settings,
        episodes: args.episodes,
        baseline: args.baseline.clone().unwrap_or_else(|| methods[0].name.clone()),
        methods,
        chunk: args.chunk,
        seed: args.seed.unwrap_or(prepared.task.episodes.seed),
        inner,
        margin: args.margin,
    };
    spec.validate()?;
    let pool = prepared.split.pool(dldl_meta::data::Pool::Train).len();
    spec.check_fraction_sizes(pool, prepared.inner.domain.outputs()).context("--train-fraction")?;
    let config = FewshotConfig {
        command: RunCommand::Fewshot,
        task_file: args.common.task.clone(),
        task_toml: args.common.task_toml()?,
        fewshot: spec.clone(),
        environment: RunEnvironment::current(device),
    };
    let inputs = prepared.dataset.inputs.to_device(device);
    let data =
        TrainData { inputs: &inputs, labels: &prepared.dataset.labels, domain: &prepared.inner.domain };
    let protocol = Protocol::new(&prepared, &spec, data, device)?;
    check_methods(&prepared, &spec.methods.iter().map(|m| m.method.clone()).collect::<Vec<_>>())?;
    // Everything is validated; only now is the run directory created (or resumed).
    let (dir, resumed) = RunDir::open(&args.out, &config)?;
    let t = &spec.inner.train;
    let steps = match spec.inner.epochs {
        Some(e) => format!("{e} epochs over each member's set"),
        None => format!("{} steps", t.steps),
    };
    eprintln!(
        "{} few-shot run on {}: {} method(s) × {} point(s) × {} episode(s), {} episode(s) per population; inner loop {steps}, batch ≤ {}, lr {} ({inner_source}) → {}",
        if resumed { "resuming" } else { "starting" },
        prepared.task.name,
        spec.methods.len(),
        spec.settings.len(),
        spec.episodes,
        spec.episodes_per_chunk(),
        t.batch,
        t.lr,
        args.out.display()
    );
    let mut progress = Progress::new("fewshot", protocol.total_records() as u64);
    let summary = protocol.run(&dir, &mut |event| match event {
        FewshotEvent::Chunk { done, .. } => progress.set(done as u64),
    })?;
    progress.finish();
    print!("{}", summary.markdown());
    println!(
        "\nrecords: {}; summary: {}",
        dir.file(RECORDS_FILE).display(),
        dir.file(FEWSHOT_SUMMARY_FILE).display()
    );
    Ok(())
}

/// The methods as named on the command line; `learned:RUN` reads RUN/learned.toml.
fn methods_of(args: &FewshotArgs, prepared: &PreparedTask) -> anyhow::Result<Vec<NamedMethod>> {
    if args.methods.is_empty() {
        let default = Method { target: prepared.task.distribution.clone(), loss: LossKind::Kl };
        return Ok(vec![
            NamedMethod { name: "onehot".into(), method: "onehot".parse()? },
            NamedMethod { name: default.to_string(), method: default },
        ]);
    }
    args.methods
        .iter()
        .map(|text| {
            Ok(NamedMethod {
                name: text.clone(),
                method: parse_method(text, &prepared.task).with_context(|| format!("--method {text}"))?,
            })
        })
        .collect()
}

/// The inner loop and where its settings came from.
fn inner_plan(args: &FewshotArgs, prepared: &PreparedTask) -> anyhow::Result<(InnerPlan, String)> {
    let task = &prepared.task.train;
    let mut plan = InnerPlan {
        train: prepared.inner.train.clone(),
        epochs: if task.steps.is_none() { task.epochs } else { None },
    };
    let mut source = format!("task {}", prepared.task.path.display());
    let study_inner = match &args.meta {
        Some(meta) => Some((StudySpec::load(meta)?.inner, meta.display().to_string())),
        None => args
            .methods
            .iter()
            .filter_map(|m| m.strip_prefix("learned:"))
            .find_map(|run| study_of(Path::new(run)).map(|i| (i, format!("study of {run}")))),
    };
    let mut apply = |o: &InnerOverride| {
        if o.steps.is_some() {
            plan.epochs = None;
        }
        plan.train = o.applied_to(&plan.train);
    };
    if let Some((o, from)) = study_inner {
        if args.meta.is_none() && o != InnerOverride::default() {
            eprintln!(
                "note: the inner loop takes the [inner] of the {from} ({}), not the task's [train]; pass --meta FILE or --steps/--batch/--lr to choose",
                describe_override(&o)
            );
        }
        apply(&o);
        source = from;
    }
    let flags =
        InnerOverride { steps: args.steps, batch: args.batch, lr: args.lr, ..InnerOverride::default() };
    if flags != InnerOverride::default() {
        apply(&flags);
        source.push_str(" + flags");
    }
    plan.train.validate()?;
    Ok((plan, source))
}

/// The settings an [inner] table sets, e.g. `steps 60, batch 16, lr 0.003`.
fn describe_override(o: &InnerOverride) -> String {
    let name = |v: String| v.trim_matches('"').to_string();
    let optimiser = o.optimiser.map(|v| name(serde_json::to_string(&v).unwrap_or_default()));
    let schedule = o.schedule.map(|v| name(serde_json::to_string(&v).unwrap_or_default()));
    let parts = [
        ("steps", o.steps.map(|v| v.to_string())),
        ("batch", o.batch.map(|v| v.to_string())),
        ("lr", o.lr.map(|v| v.to_string())),
        ("optimiser", optimiser),
        ("momentum", o.momentum.map(|v| v.to_string())),
        ("schedule", schedule),
    ];
    parts
        .iter()
        .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The study's [inner] recorded in a search run's config.json (`/study/inner`), if any.
fn study_of(run: &Path) -> Option<InnerOverride> {
    let text = std::fs::read_to_string(run.join(CONFIG_FILE)).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(config.pointer("/study/inner")?.clone()).ok()
}
