//! Warm starts: the members of a new `train` run begin from the trained members of an earlier one
//! (`train --init RUN[:METHOD]`), checked for the same task and the same parameter shapes.
use crate::error::{Error, Result};
use crate::model::params::read_checkpoint;
use crate::model::{Network, Params};
use crate::rundir::records::{
    RunCommand, TrainConfig, TrainMetrics, CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE,
};
use std::path::{Path, PathBuf};
use tch::Device;

/// `RUN[:METHOD]`: a train run directory and, when it trained several methods, which one.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmStart {
    pub run: PathBuf,
    pub method: Option<String>,
    /// More seeds than the source trained may start again from its first members (`--init-cycle`);
    /// otherwise that is refused.
    pub cycle: bool,
}

/// Where one seed of the new run starts: the source run's member at `member` (its seed `seed`).
#[derive(Debug, Clone, PartialEq)]
pub struct WarmSource {
    pub member: usize,
    pub seed: u64,
}

impl std::str::FromStr for WarmStart {
    type Err = Error;

    /// The run is everything before the first `:` (methods contain `:` themselves: `runs/a:dldl:sigma=2`).
    fn from_str(text: &str) -> Result<Self> {
        let (run, method) = match text.split_once(':') {
            Some((run, method)) => (run, Some(method.to_string())),
            None => (text, None),
        };
        if run.is_empty() || method.as_deref() == Some("") {
            return Err(Error::invalid("--init", text, "must be RUN_DIR or RUN_DIR:METHOD"));
        }
        Ok(WarmStart { run: PathBuf::from(run), method, cycle: false })
    }
}

impl std::fmt::Display for WarmStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.method {
            Some(m) => write!(f, "{}:{m}", self.run.display()),
            None => write!(f, "{}", self.run.display()),
        }
    }
}

impl WarmStart {
    /// Start parameters for `seeds` members per method of a run of `task_file` with network `net`,
    /// with the source member each starts from: seed index s from the source's s-th member of the
    /// chosen method (cycling, with `cycle`, when the source has fewer seeds). A source member that
    /// failed in training is refused. Nothing is written.
    pub fn load(
        &self,
        task_file: &Path,
        net: &Network,
        seeds: usize,
        device: Device,
    ) -> Result<Vec<(Params, WarmSource)>> {
        let config = self.source_config()?;
        let path = self.run.join(CHECKPOINT_FILE);
        let names = net.param_names();
        // A network with fewer layers than the source's starts from the source's last layers: a
        // head on the features `dldl-meta features` exported from the source (another task file).
        let stored = if path.exists() { Some(read_checkpoint(&path)?) } else { None };
        let head = match &stored {
            Some(stored) if net.stat_names().is_empty() => Params::head_of(stored, &names, device),
            _ => None,
        };
        let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if head.is_none() && stem(&config.task_file) != stem(task_file) {
            return Err(self.error(format!(
                "was trained on task `{}`; this run's task is `{}`",
                stem(&config.task_file),
                stem(task_file)
            )));
        }
        let chosen = self.members_of_method(&config)?;
        if seeds > chosen.len() && !self.cycle {
            return Err(self.error(format!(
                "trained {} seed(s) of this method and this run asks for {seeds}: give --seeds {} or less, or --init-cycle to start the extra seeds again from the first members",
                chosen.len(),
                chosen.len()
            )));
        }
        let sources: Vec<WarmSource> = (0..seeds)
            .map(|s| chosen[s % chosen.len()])
            .map(|member| WarmSource { member, seed: config.seeds[member] })
            .collect();
        self.refuse_failed(&sources)?;
        let Some(checkpoint) = stored else {
            return Err(self.error(format!("has no {CHECKPOINT_FILE}: its training did not finish")));
        };
        let stored = match head {
            Some(head) => head,
            None => Params::from_checkpoint(&path, &checkpoint, &names, &net.stat_names(), device)?,
        };
        let fresh = net.init(&[0], Device::Cpu);
        for ((name, s), f) in names.iter().zip(&stored.tensors).zip(&fresh.tensors) {
            if s.size()[1..] != f.size()[1..] {
                return Err(self.error(format!(
                    "parameter `{name}` has shape {:?}, this run's network needs {:?}",
                    &s.size()[1..],
                    &f.size()[1..]
                )));
            }
        }
        Ok(sources.into_iter().map(|s| (stored.members(&[s.member as i64]), s)).collect())
    }

    /// Refuses sources whose training stopped on a non-finite loss (their weights are not trained).
    fn refuse_failed(&self, sources: &[WarmSource]) -> Result<()> {
        let path = self.run.join(METRICS_FILE);
        if !path.exists() {
            return Ok(()); // no metrics: the checkpoint check below says the training did not finish
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let metrics: TrainMetrics = serde_json::from_str(&text)
            .map_err(|e| Error::data(&path, format!("not valid JSON for this record: {e}")))?;
        for source in sources {
            if let Some(failure) = metrics.members.get(source.member).and_then(|m| m.failure.as_ref()) {
                return Err(self.error(format!(
                    "member {} (seed {}) failed in training ({failure}); its weights cannot start a run",
                    source.member, source.seed
                )));
            }
        }
        Ok(())
    }

    fn source_config(&self) -> Result<TrainConfig> {
        let path = self.run.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|_| self.error(format!("has no readable {CONFIG_FILE}: not a run directory")))?;
        let config: TrainConfig = serde_json::from_str(&text)
            .map_err(|e| self.error(format!("{CONFIG_FILE} is not a train run's record ({e})")))?;
        if config.command != RunCommand::Train {
            return Err(self.error("is not a train run"));
        }
        Ok(config)
    }

    /// Member positions of the chosen method (members are method-major, equally many seeds each).
    fn members_of_method(&self, config: &TrainConfig) -> Result<Vec<usize>> {
        let per = config.seeds.len() / config.methods.len().max(1);
        let index = match &self.method {
            Some(m) => {
                let wanted = m.parse::<crate::train::Method>()?.to_string();
                config.methods.iter().position(|x| *x == wanted).ok_or_else(|| {
                    self.error(format!("trained no method `{m}`; it trained {}", config.methods.join(", ")))
                })?
            }
            None if config.methods.len() == 1 => 0,
            None => {
                return Err(self.error(format!(
                    "trained {} methods ({}): name one as RUN:METHOD",
                    config.methods.len(),
                    config.methods.join(", ")
                )))
            }
        };
        Ok((index * per..(index + 1) * per).collect())
    }

    fn error(&self, rule: impl Into<String>) -> Error {
        Error::invalid("--init", self.to_string(), rule)
    }
}
