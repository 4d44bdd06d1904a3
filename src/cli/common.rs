//! Flags shared by the subcommands that load a task (the task file, where the researcher's own
//! data lives, and the device), and a finished run's task and data as it trained on them.
use anyhow::Context;
use clap::Args;
use dldl_meta::config::TaskSpec;
use dldl_meta::data::{load_task, DataRoots, Dataset, Pool, Split};
use dldl_meta::rundir::records::{TrainConfig, STATS_FILE};
use dldl_meta::rundir::RunDir;
use dldl_meta::runtime::DeviceChoice;
use dldl_meta::train::setup::{standardise_like_training, InnerLoop};
use std::path::PathBuf;

/// `--task`, `--data-dir`, `--device`.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// Task file (tasks/*.toml).
    #[arg(long)]
    pub task: PathBuf,
    /// Directory of the researcher's own data (UTKFace, VOC, …); default env DLDL_DATA, else ../shared/data.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

impl TaskArgs {
    /// The device asked for; CUDA where there is none is an error.
    pub fn device(&self) -> anyhow::Result<tch::Device> {
        Ok(self.device.parse::<DeviceChoice>()?.resolve()?)
    }

    /// The task file's text, as run directories record it (`task_toml` in config.json).
    pub fn task_toml(&self) -> anyhow::Result<String> {
        std::fs::read_to_string(&self.task).with_context(|| self.task.display().to_string())
    }

    /// The data roots from `--data-dir`, env `DLDL_DATA` or the defaults.
    pub fn roots(&self) -> DataRoots {
        DataRoots::from_env(self.data_dir.clone())
    }
}

/// A `train` run's task, its data standardised as in training, the task's seeded split of that data
/// and the inner loop bound to it.
pub struct TrainedRun {
    pub task: TaskSpec,
    pub dataset: Dataset,
    pub split: Split,
    pub inner: InnerLoop,
}

/// The run's `task` (parsed from its config) on `data_dir` (else the run's own data root),
/// standardised by the statistics the run stored (never recomputed on this data).
pub fn open_train_run(
    dir: &RunDir,
    config: &TrainConfig,
    task: TaskSpec,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<TrainedRun> {
    let mut dataset = load_task(&task, &DataRoots::from_env(data_dir.or(config.data_root.clone())))?;
    let stored = task.standardises().then(|| dir.read_json(STATS_FILE)).transpose()?;
    standardise_like_training(&task, &mut dataset, stored)?;
    let split = Split::new(&dataset, &task.splits)?;
    // The training pool of this data's seeded split: its labels give the mixture's co-occurrence.
    let inner = InnerLoop::from_task(&task, &dataset, split.pool(Pool::Train))?;
    Ok(TrainedRun { task, dataset, split, inner })
}
