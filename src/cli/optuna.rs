//! Flags shared by the subcommands that talk to Optuna's storage (`worker`, `search --from-optuna`):
//! the storage URL, the study's name, the Python that runs the bridge and the connection deadline.
use clap::Args;
use dldl_meta::meta::optuna::BridgeConfig;
use std::path::PathBuf;
use std::time::Duration;

/// `--storage`, `--study`, `--python`, `--timeout`.
#[derive(Debug, Args)]
pub struct OptunaArgs {
    /// Optuna storage: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (many machines), journal:PATH
    /// (one machine, or a shared filesystem without NFS locking problems), or sqlite:///PATH (one worker).
    /// Its password is never printed (`***`), nor the value of env DLDL_OPTUNA_STORAGE in --help.
    #[arg(long, env = "DLDL_OPTUNA_STORAGE", hide_env_values = true)]
    pub storage: String,
    /// Name of the study in the storage.
    #[arg(long)]
    pub study: String,
    /// Python with Optuna installed (`make optuna` puts it into .venv).
    #[arg(long, env = "DLDL_PYTHON", default_value = ".venv/bin/python")]
    pub python: PathBuf,
    /// Seconds (≥ 1) the storage may take to answer before the command fails.
    #[arg(long, default_value_t = 30, value_parser = super::values::whole::<u64, 1>)]
    pub timeout: u64,
}

impl OptunaArgs {
    /// The bridge's configuration.
    pub fn bridge(&self) -> BridgeConfig {
        BridgeConfig {
            python: self.python.clone(),
            storage: self.storage.clone(),
            timeout: Duration::from_secs(self.timeout),
        }
    }
}
