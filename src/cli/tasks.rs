//! `dldl-meta tasks`: every task file with its size, label domain, family and data source, and for the ones
//! whose data is missing, the path and the command that gets it.
use anyhow::Context;
use clap::Args;
use dldl_meta::config::TaskSpec;
use dldl_meta::data::{probe_task, Availability, DataRoots};
use std::path::PathBuf;

/// Arguments of `dldl-meta tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Folder of task files (`*.toml`).
    #[arg(long, default_value = "tasks")]
    pub tasks_dir: PathBuf,
    /// Folder of the researcher's own data (holds `utkface/`); default: env DLDL_DATA, else ../shared/data.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// List the tasks.
pub fn run(args: &TasksArgs) -> anyhow::Result<()> {
    let tasks = TaskSpec::load_dir(&args.tasks_dir)
        .with_context(|| format!("reading task files in {}", args.tasks_dir.display()))?;
    anyhow::ensure!(!tasks.is_empty(), "{}: no task files (*.toml) in this folder", args.tasks_dir.display());
    let roots = DataRoots::from_env(args.data_dir.clone());
    println!("{:<18} {:>8}  {:<34} {:<40} source", "task", "examples", "labels", "distribution");
    let mut missing = Vec::new();
    for task in &tasks {
        let (size, source) = match probe_task(task, &roots)? {
            Availability::Available { examples, source } => (examples.to_string(), source),
            Availability::Missing { path, fix } => {
                missing.push(format!("  {}: {} is missing; {fix}", task.name, path.display()));
                ("-".to_string(), "UNAVAILABLE".to_string())
            }
        };
        println!(
            "{:<18} {:>8}  {:<34} {:<40} {source}",
            task.name,
            size,
            task.labels.describe(),
            task.distribution.to_string()
        );
    }
    if missing.is_empty() {
        println!("all {} tasks have their data", tasks.len());
    } else {
        println!("unavailable:\n{}", missing.join("\n"));
    }
    Ok(())
}
