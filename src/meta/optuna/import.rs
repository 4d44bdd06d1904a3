//! `search --from-optuna`: a study's trials pulled from Optuna's storage into a search run directory
//! (config.json, trials.jsonl, state.json, learned.toml), which `report` and `fewshot` read unchanged.
use super::bridge::{check_storage, Bridge};
use super::identity;
use super::worker_loop::EpisodeScore;
use crate::data::Pool;
use crate::error::{Error, Result};
use crate::family::DistributionSpec;
use crate::meta::StudySpec;
use crate::rundir::records::{
    Learned, SearchState, StepRecord, Trial, LEARNED_FILE, STATE_FILE, TRIALS_FILE,
};
use crate::rundir::records::{RunCommand, SearchConfig};
use crate::rundir::RunDir;
use crate::stats::mean_sd;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Every Optuna trial as the storage holds it, one JSON line each (provenance of the import).
pub const OPTUNA_TRIALS_FILE: &str = "optuna_trials.jsonl";

/// The config.json of a pulled study: a search run's, plus where it came from.
#[derive(Debug, Serialize)]
struct PulledConfig {
    #[serde(flatten)]
    search: SearchConfig<StudySpec>,
    optuna: PulledFrom,
}

#[derive(Debug, Serialize)]
struct PulledFrom {
    storage: String,
    study: String,
}

/// One trial as the bridge returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTrial {
    pub number: u64,
    /// complete, pruned, fail, running or waiting.
    pub state: String,
    pub value: Option<f64>,
    pub params: BTreeMap<String, f64>,
    pub user_attrs: Map<String, Value>,
    /// Reported values by step (episode index); null where not finite.
    #[serde(default)]
    pub intermediate: BTreeMap<String, Option<f64>>,
    pub retry_of: Option<u64>,
    /// ISO 8601 start and completion times.
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub complete: Option<String>,
}

#[derive(Deserialize)]
struct Dump {
    trials: Vec<StoredTrial>,
    attrs: Map<String, Value>,
}

/// What an import wrote.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub complete: usize,
    /// Trials per state, for the message.
    pub states: BTreeMap<String, usize>,
    pub best_number: u64,
    pub best: DistributionSpec,
    pub best_loss: f64,
}

/// Reads study `study` through `bridge` and writes the run directory `out`.
pub fn pull(bridge: &mut Bridge, study: &str, out: &Path) -> Result<Pulled> {
    let storage = bridge.storage_label();
    let url = bridge.storage().to_string();
    // Reading a study must not create its storage: a missing file is an error, not an empty study.
    check_storage(&url, true)?;
    let _: Value = bridge.call(json!({ "op": "open", "storage": url, "study": study, "create": null }))?;
    let dump: Dump = bridge.call(json!({ "op": "trials" }))?;
    let attr = |key: &str| {
        dump.attrs.get(key).cloned().ok_or_else(|| {
            Error::data(
                &storage,
                format!(
                    "study {study:?} has no user attribute {key}: it was not created by `dldl-meta worker`"
                ),
            )
        })
    };
    let mut complete: Vec<&StoredTrial> = dump.trials.iter().filter(|t| t.state == "complete").collect();
    complete.sort_by_key(|t| t.number);
    let mut states = BTreeMap::new();
    for t in &dump.trials {
        *states.entry(t.state.clone()).or_insert(0) += 1;
    }
    let best = complete
        .iter()
        .filter(|t| t.value.is_some_and(f64::is_finite))
        .min_by(|a, b| a.value.unwrap_or(f64::MAX).total_cmp(&b.value.unwrap_or(f64::MAX)))
        .ok_or_else(|| {
            Error::data(
                &storage,
                format!("study {study:?} has no complete trial with a finite query loss yet"),
            )
        })?;
    let config = PulledConfig {
        search: SearchConfig {
            command: RunCommand::Search,
            task_file: from_attr(attr(identity::TASK_FILE)?, identity::TASK_FILE, &storage)?,
            task_toml: from_attr(attr(identity::TASK_TOML)?, identity::TASK_TOML, &storage)?,
            meta_file: from_attr(
                attr(identity::META_FILE).unwrap_or(Value::Null),
                identity::META_FILE,
                &storage,
            )
            .unwrap_or_default(),
            study: from_attr(attr(identity::STUDY)?, identity::STUDY, &storage)?,
            // The first complete trial's environment: stable when the study is pulled again
            // (every trial records its own in optuna_trials.jsonl).
            environment: user_attr(complete[0], "environment", &storage)?,
        },
        optuna: PulledFrom { storage: storage.clone(), study: study.to_string() },
    };
    let (dir, _) = RunDir::open(out, &config)?;
    dir.write_jsonl(OPTUNA_TRIALS_FILE, &dump.trials)?;
    let mut records = vec![];
    let mut history = vec![];
    let (mut member_steps, mut seconds) = (0u64, 0.0);
    for (step, t) in complete.iter().enumerate() {
        let phi: Vec<f64> = user_attr(t, "phi", &storage)?;
        let episodes: Vec<EpisodeScore> = user_attr(t, "episodes", &storage)?;
        member_steps += user_attr::<u64>(t, "member_steps", &storage).unwrap_or(0);
        seconds += user_attr::<f64>(t, "seconds", &storage).unwrap_or(0.0);
        for e in &episodes {
            let (query_loss, metric) = (e.query_loss.unwrap_or(f64::NAN), e.metric.unwrap_or(f64::NAN));
            records.push(Trial {
                step,
                candidate: 0,
                pool: Pool::Train,
                episode: e.episode,
                phi: phi.clone(),
                query_loss,
                metric,
            });
        }
        let losses: Vec<f64> = episodes.iter().map(|e| e.query_loss.unwrap_or(f64::NAN)).collect();
        let metrics: Vec<f64> = episodes.iter().map(|e| e.metric.unwrap_or(f64::NAN)).collect();
        let (loss_mean, loss_sd) = mean_sd(&losses);
        history.push(StepRecord { step, phi, loss_mean, loss_sd, metric_mean: mean_sd(&metrics).0 });
    }
    dir.write_jsonl(TRIALS_FILE, &records)?;
    let best_phi: Vec<f64> = user_attr(best, "phi", &storage)?;
    let best_loss = best.value.unwrap_or(f64::NAN);
    let state = SearchState {
        step: complete.len(),
        theta: vec![],
        adam_m: vec![],
        adam_v: vec![],
        cmaes: None,
        best_phi,
        best_loss,
        inner_member_steps: member_steps,
        seconds,
        history,
        pbt: None,
    };
    dir.write_json(STATE_FILE, &state)?;
    let distribution: DistributionSpec = user_attr(best, "distribution", &storage)?;
    let body = toml::to_string(&Learned { distribution: distribution.clone() })
        .map_err(|e| Error::data(dir.file(LEARNED_FILE), e.to_string()))?;
    let header = format!(
        "# φ of Optuna trial {} (best of {} complete) in study {study} at {storage}\n",
        best.number,
        complete.len()
    );
    dir.write_text(LEARNED_FILE, &(header + &body))?;
    Ok(Pulled { complete: complete.len(), states, best_number: best.number, best: distribution, best_loss })
}

/// A study attribute as `T`.
fn from_attr<T: serde::de::DeserializeOwned>(value: Value, key: &str, storage: &str) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| Error::data(storage, format!("study user attribute {key}: {e}")))
}

fn user_attr<T: serde::de::DeserializeOwned>(trial: &StoredTrial, key: &str, storage: &str) -> Result<T> {
    let value = trial.user_attrs.get(key).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value)
        .map_err(|e| Error::data(storage, format!("trial {}: user attribute {key}: {e}", trial.number)))
}
