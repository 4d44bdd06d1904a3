//! Flags shared by the subcommands that load a task: the task file, where the researcher's own
//! data lives, and the device.
use anyhow::Context;
use clap::Args;
use dldl_meta::data::DataRoots;
use dldl_meta::runtime::DeviceChoice;
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
