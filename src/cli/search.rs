//! `dldl-meta search`: learns φ for a task with a study (meta/*.toml), resumably, and prints the
//! learned φ next to the task's fixed default with their meta-validation metric.
use super::common::TaskArgs;
use super::progress::{phi_text, Progress};
use anyhow::Context;
use clap::Args;
use dldl_meta::data::Pool;
use dldl_meta::family::brief;
use dldl_meta::meta::optuna::bridge::check_storage;
use dldl_meta::meta::optuna::{Bridge, BridgeConfig};
use dldl_meta::meta::{SearchEvent, Study, StudySpec};
use dldl_meta::rundir::records::{RunCommand, SearchConfig, SearchOutcome, LEARNED_FILE, TABLE_FILE};
use dldl_meta::rundir::RunDir;
use dldl_meta::runtime::RunEnvironment;
use dldl_meta::train::setup::PreparedTask;
use dldl_meta::train::TrainData;
use std::path::PathBuf;

/// Arguments of `dldl-meta search`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  dldl-meta search --task tasks/rotation-mnist.toml --meta meta/rotation-hypergradient.toml --out runs/rot-hg\n\
Killed at any moment, the same command resumes from the last completed outer step.\n\n\
Pull a study that `dldl-meta worker`s evaluated in Optuna's storage:\n  \
dldl-meta search --from-optuna postgresql://user@db-host/optuna --study rot-sigma --out runs/rot-optuna"
)]
pub struct SearchArgs {
    #[command(flatten)]
    pub common: Option<TaskArgs>,
    /// Study file (meta/*.toml): method, φ to learn, bounds, budget.
    #[arg(long, required_unless_present = "from_optuna")]
    pub meta: Option<PathBuf>,
    /// Run directory (created, or resumed when it holds the same study).
    #[arg(long)]
    pub out: PathBuf,
    /// Instead of searching, pull the trials of an Optuna study (`dldl-meta worker`) from this storage
    /// into --out: trials.jsonl, state.json, learned.toml = the best trial. Pull again to refresh.
    #[arg(long, value_name = "STORAGE", requires = "study", conflicts_with_all = ["meta", "task"])]
    pub from_optuna: Option<String>,
    /// The study's name in the --from-optuna storage.
    #[arg(long, requires = "from_optuna")]
    pub study: Option<String>,
    /// Python with Optuna, for --from-optuna.
    #[arg(long, env = "DLDL_PYTHON", default_value = ".venv/bin/python")]
    pub python: PathBuf,
}

/// Runs or resumes the study and prints the comparison, or pulls an Optuna study.
pub fn run(args: &SearchArgs) -> anyhow::Result<()> {
    if let (Some(storage), Some(study)) = (&args.from_optuna, &args.study) {
        return pull(args, storage, study);
    }
    let (Some(common), Some(meta)) = (&args.common, &args.meta) else {
        anyhow::bail!("search needs --task and --meta (or --from-optuna)")
    };
    search(args, common, meta)
}

fn pull(args: &SearchArgs, storage: &str, study: &str) -> anyhow::Result<()> {
    let config = BridgeConfig {
        python: args.python.clone(),
        storage: storage.to_string(),
        timeout: std::time::Duration::from_secs(30),
    };
    check_storage(storage, true).context("--from-optuna")?;
    let mut bridge = Bridge::start(&config)?;
    let pulled = dldl_meta::meta::optuna::import::pull(&mut bridge, study, &args.out)?;
    let states: Vec<String> = pulled.states.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!(
        "study {study}: {} → {}\nbest: trial {} with query loss {:.4}: {} (written to {})",
        states.join(", "),
        args.out.display(),
        pulled.best_number,
        pulled.best_loss,
        brief(&pulled.best.to_string()),
        args.out.join(LEARNED_FILE).display()
    );
    Ok(())
}

fn search(args: &SearchArgs, common: &TaskArgs, meta: &std::path::Path) -> anyhow::Result<()> {
    let device = common.device()?;
    let study_spec = StudySpec::load(meta)?;
    let prepared = PreparedTask::load(&common.task, &common.roots())?;
    let config = SearchConfig {
        command: RunCommand::Search,
        task_file: common.task.clone(),
        task_toml: common.task_toml()?,
        meta_file: meta.to_path_buf(),
        study: study_spec.clone(),
        environment: RunEnvironment::current(device),
    };
    let inputs = prepared.dataset.inputs.to_device(device);
    let data =
        TrainData { inputs: &inputs, labels: &prepared.dataset.labels, domain: &prepared.inner.domain };
    let study = Study::new(&prepared, &study_spec, data, device)?;
    // Everything is validated; only now is the run directory created (or resumed).
    let (dir, resumed) = RunDir::open(&args.out, &config)?;
    eprintln!(
        "{} {} search of {} on {} ({} outer steps × {} episodes, {} inner steps each) → {}",
        if resumed { "resuming" } else { "starting" },
        study_spec.method,
        study_spec.learn,
        prepared.task.name,
        study.total_steps(),
        study_spec.episodes_per_step,
        study.inner.steps,
        args.out.display()
    );
    let (metric, _) = dldl_meta::meta::query_loss::headline_metric(&prepared.inner.domain);
    let mut progress = Progress::new("search", study.total_steps() as u64);
    let mut comparing: Option<Progress> = None;
    let outcome = study.run(&dir, &mut |event| match event {
        SearchEvent::Step { done, record, .. } => {
            progress.set(done as u64);
            progress.println(&format!(
                "step {:>3}: φ = {} query loss {:.4} ± {:.4} ({metric} {:.3})",
                record.step + 1,
                phi_text(&record.phi),
                record.loss_mean,
                record.loss_sd,
                record.metric_mean
            ));
        }
        SearchEvent::Validating(Pool::Test) => progress
            .println("comparing learned and default φ on full-range episodes scored on the test pool…"),
        SearchEvent::Validating(_) => {
            progress.println("comparing learned and default φ on meta-validation episodes…")
        }
        SearchEvent::Comparing { done, total } => {
            comparing.get_or_insert_with(|| Progress::new("comparison", total as u64)).set(done as u64)
        }
    })?;
    progress.finish();
    if let Some(bar) = &comparing {
        bar.finish();
    }
    let text = report(
        &outcome,
        &dir,
        dldl_meta::meta::query_loss::query_loss_name(&prepared.inner.domain, study_spec.query_loss),
    );
    print!("{text}");
    dir.write_text(TABLE_FILE, &text)?;
    Ok(())
}

fn report(o: &SearchOutcome, dir: &RunDir, loss_name: &str) -> String {
    format!(
        "learned φ: {} (written to {})\n\n{}",
        brief(&o.learned.distribution),
        dir.file(LEARNED_FILE).display(),
        o.table(loss_name)
    )
}
