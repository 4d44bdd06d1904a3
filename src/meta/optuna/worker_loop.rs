//! One worker of a study in Optuna's storage: ask for φ, score it on the study's meta-train episodes
//! with `search`'s evaluator, report each episode's query loss (for the pruner), record, tell.
use super::bridge::{Bridge, BridgeConfig};
use super::phi_params::OptunaSpace;
use super::settings::{OptunaSettings, PrunerKind, SamplerKind};
use crate::data::Pool;
use crate::error::Result;
use crate::meta::study::Study;
use crate::runtime::RunEnvironment;
use crate::stats::mean_sd;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Instant;

/// Which study a worker joins and how many trials it runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub bridge: BridgeConfig,
    pub study: String,
    /// Trials this worker evaluates (Optuna's `n_trials` of one process).
    pub trials: usize,
    /// Names the worker in its trials' attributes (the Slurm array index, or the pid).
    pub worker_id: u64,
    /// Differs between processes (see [`process_nonce`]): mixed into the sampler's seed, so that a
    /// restarted worker, or two running with the same `worker_id`, never repeat each other's φs.
    pub nonce: u64,
}

/// A number that differs between processes, and between two starts of one command: the pid, the
/// clock and the standard library's per-process random hash keys.
pub fn process_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.finish()
}

/// One query loss and metric of a trial's φ on one meta-train episode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpisodeScore {
    pub episode: u64,
    pub query_loss: Option<f64>,
    pub metric: Option<f64>,
}

/// A finished trial of this worker.
#[derive(Debug, Clone)]
pub struct TrialDone {
    pub number: u64,
    pub phi: Vec<f64>,
    /// Mean query loss over the scored episodes (NaN when an inner training diverged).
    pub loss: f64,
    pub metric: f64,
    pub pruned: bool,
    /// The trial this one re-runs after its worker died.
    pub retry_of: Option<u64>,
    pub seconds: f64,
}

/// Progress of a worker.
pub enum TrialEvent<'a> {
    /// A trial was asked for and is being evaluated.
    Started {
        number: u64,
        phi: &'a [f64],
        retry_of: Option<u64>,
    },
    Finished(&'a TrialDone),
}

#[derive(Deserialize)]
struct Asked {
    #[serde(default)]
    exhausted: bool,
    number: Option<u64>,
    #[serde(default)]
    params: BTreeMap<String, f64>,
    retry_of: Option<u64>,
}

#[derive(Deserialize)]
struct Reported {
    prune: bool,
}

/// A worker bound to an evaluator and an open study.
pub struct Worker<'a> {
    evaluator: &'a Study<'a>,
    space: OptunaSpace,
    settings: OptunaSettings,
    bridge: Bridge,
    config: WorkerConfig,
    sampler_seed: u64,
}

impl<'a> Worker<'a> {
    /// Opens (or creates) the study; refuses it when its task, φ space or evaluation differ from
    /// `attrs` (see `identity::study_attrs`).
    pub fn open(
        evaluator: &'a Study<'a>,
        space: OptunaSpace,
        attrs: Map<String, Value>,
        config: WorkerConfig,
    ) -> Result<Self> {
        let settings = evaluator.spec.optuna.clone().unwrap_or_default();
        let mut bridge = Bridge::start(&config.bridge)?;
        let sampler_seed = sampler_seed(evaluator.spec.seed, config.worker_id, config.nonce);
        let sampler = sampler_request(evaluator, &space, &settings, sampler_seed)?;
        let pruner = match settings.pruner {
            PrunerKind::None => json!({ "kind": "none" }),
            PrunerKind::Wilcoxon => {
                json!({ "kind": "wilcoxon", "p_threshold": settings.p_threshold.unwrap_or(0.1) })
            }
        };
        let _: Value = bridge.call(json!({
            "op": "open",
            "storage": config.bridge.storage,
            "study": config.study,
            "timeout_s": config.bridge.timeout.as_secs().max(1),
            "heartbeat": { "interval_s": settings.heartbeat(), "grace_s": settings.grace(), "max_retry": settings.retries() },
            "create": { "sampler": sampler, "pruner": pruner, "attrs": attrs },
        }))?;
        Ok(Worker { evaluator, space, settings, bridge, config, sampler_seed })
    }

    /// The seed of this worker's sampler.
    pub fn sampler_seed(&self) -> u64 {
        self.sampler_seed
    }

    /// Runs the trials, calling `observer` after each; stops early when a grid is exhausted.
    pub fn run(&mut self, observer: &mut dyn FnMut(TrialEvent)) -> Result<Vec<TrialDone>> {
        let mut done = vec![];
        for _ in 0..self.config.trials {
            let asked: Asked = self.bridge.call(json!({ "op": "ask", "params": self.space.params() }))?;
            let Some(number) = asked.number.filter(|_| !asked.exhausted) else { break };
            match self.evaluate(number, &asked, observer) {
                Ok(trial) => {
                    observer(TrialEvent::Finished(&trial));
                    done.push(trial);
                }
                Err(e) => {
                    let _: Result<Value> =
                        self.bridge.call(json!({ "op": "tell", "number": number, "state": "fail" }));
                    return Err(e);
                }
            }
        }
        Ok(done)
    }

    /// Scores one asked trial, reporting as it goes, and tells Optuna the result.
    fn evaluate(
        &mut self,
        number: u64,
        asked: &Asked,
        observer: &mut dyn FnMut(TrialEvent),
    ) -> Result<TrialDone> {
        let started = Instant::now();
        let phi = self.space.phi_of(&asked.params)?;
        observer(TrialEvent::Started { number, phi: &phi, retry_of: asked.retry_of });
        let episodes: Vec<u64> = (0..self.evaluator.spec.episodes_per_step as u64).collect();
        let per_report = self.settings.episodes_per_report.unwrap_or(episodes.len()).max(1);
        let mut scores: Vec<EpisodeScore> = vec![];
        let mut member_steps = 0u64;
        let mut pruned = false;
        for chunk in episodes.chunks(per_report) {
            let row = self
                .evaluator
                .score(std::slice::from_ref(&phi), Pool::Train, chunk, &mut member_steps)?
                .remove(0);
            for (episode, (loss, metric)) in chunk.iter().zip(row) {
                let reported: Reported = self.bridge.call(
                    json!({ "op": "report", "number": number, "step": episode, "value": finite(loss) }),
                )?;
                pruned |= reported.prune;
                scores.push(EpisodeScore {
                    episode: *episode,
                    query_loss: finite(loss),
                    metric: finite(metric),
                });
            }
            if pruned {
                break;
            }
        }
        let losses: Vec<f64> = scores.iter().map(|s| s.query_loss.unwrap_or(f64::NAN)).collect();
        let metrics: Vec<f64> = scores.iter().map(|s| s.metric.unwrap_or(f64::NAN)).collect();
        let (loss, _) = mean_sd(&losses);
        let (metric, _) = mean_sd(&metrics);
        let seconds = started.elapsed().as_secs_f64();
        let _: Value = self.bridge.call(json!({ "op": "attrs", "number": number, "attrs": {
            "phi": phi,
            "distribution": self.evaluator.space.spec_at(&phi),
            "episodes": scores,
            "member_steps": member_steps,
            "seconds": seconds,
            "worker_id": self.config.worker_id,
            "sampler_seed": self.sampler_seed,
            "environment": RunEnvironment::current(self.evaluator.device),
        }}))?;
        let state = if pruned { "pruned" } else { "complete" };
        let _: Value = self
            .bridge
            .call(json!({ "op": "tell", "number": number, "state": state, "value": finite(loss) }))?;
        Ok(TrialDone { number, phi, loss, metric, pruned, retry_of: asked.retry_of, seconds })
    }
}

/// A sampler seed (< 2³², as numpy takes it) from the study's seed, the worker's id and the
/// process's nonce: no two worker processes share one, whatever their ids.
pub fn sampler_seed(study_seed: u64, worker_id: u64, nonce: u64) -> u64 {
    let mixed = splitmix(splitmix(splitmix(study_seed) ^ worker_id) ^ nonce);
    mixed & 0xffff_ffff
}

/// SplitMix64's finaliser: every input bit moves about half the output bits.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sampler the study file asks for, with `seed`.
fn sampler_request(
    evaluator: &Study,
    space: &OptunaSpace,
    settings: &OptunaSettings,
    seed: u64,
) -> Result<Value> {
    let kind = settings.sampler_for(evaluator.spec.method);
    let mut request = json!({ "kind": kind, "seed": seed, "n_startup_trials": settings.n_startup_trials });
    if kind == SamplerKind::Grid {
        request["grid"] = serde_json::to_value(space.grid(&evaluator.spec.grid)?).unwrap_or(Value::Null);
    }
    Ok(request)
}

/// A finite number, or None (JSON has no NaN).
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
