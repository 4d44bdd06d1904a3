//! Runs a few-shot study: fixed chunks of (episodes × all methods) trained as one population each,
//! every method on the same seeded episode with the same network seed (paired); resumable after a kill.
//!
//! Chunks are a fixed partition of the work, so a resumed run trains exactly the populations an
//! uninterrupted run trains: a chunk whose records are all logged is skipped, any other is trained
//! again and only its missing records are appended. The summary is computed from the records alone.
use super::spec::FewshotSpec;
use super::summary::summarise;
use crate::data::{EpisodeSampler, Pool};
use crate::error::{Error, Result};
use crate::meta::query_loss::{query_method, QueryLoss};
use crate::rundir::records::{
    EpisodeRecord, FewshotSummary, Setting, FEWSHOT_SUMMARY_FILE, RECORDS_FILE, TABLE_FILE,
};
use crate::rundir::RunDir;
use crate::train::evaluate::{evaluate, EvalSpec};
use crate::train::setup::PreparedTask;
use crate::train::{train_population, Member, Method, TrainData, Trainer};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::Device;

/// Progress of a few-shot run.
pub enum FewshotEvent<'a> {
    /// A chunk finished (or was found logged); `done` of `total` records exist.
    Chunk { done: usize, total: usize, setting: &'a Setting, episodes: &'a [u64], skipped: bool },
}

/// Training and evaluation sets of one episode.
struct EpisodeSets {
    train: Vec<i64>,
    eval: Vec<i64>,
}

/// One population: some episodes of one point of the sweep, all methods.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub setting: Setting,
    pub episodes: Vec<u64>,
}

/// A few-shot study bound to a prepared task and a device.
pub struct Protocol<'a> {
    pub prepared: &'a PreparedTask,
    pub spec: &'a FewshotSpec,
    pub data: TrainData<'a>,
    pub device: Device,
    /// The meta-test sampler of each shot-count setting (in `spec.settings` order), built once.
    samplers: Vec<Option<EpisodeSampler>>,
}

impl<'a> Protocol<'a> {
    /// Validates the spec against the task (every K admits meta-test episodes).
    pub fn new(
        prepared: &'a PreparedTask,
        spec: &'a FewshotSpec,
        data: TrainData<'a>,
        device: Device,
    ) -> Result<Self> {
        spec.validate()?;
        let samplers = spec
            .settings
            .iter()
            .map(|s| match s {
                Setting::Shots(k) => sampler(prepared, *k).map(Some),
                Setting::Fraction(_) => Ok(None),
            })
            .collect::<Result<_>>()?;
        Ok(Protocol { prepared, spec, data, device, samplers })
    }

    /// The fixed partition of the work into populations, point by point.
    pub fn chunks(&self) -> Vec<Chunk> {
        let per = self.spec.episodes_per_chunk();
        let episodes: Vec<u64> = (0..self.spec.episodes as u64).collect();
        self.spec
            .settings
            .iter()
            .flat_map(|s| episodes.chunks(per).map(move |e| Chunk { setting: *s, episodes: e.to_vec() }))
            .collect()
    }

    /// Records expected in the end.
    pub fn total_records(&self) -> usize {
        self.spec.settings.len() * self.spec.episodes * self.spec.methods.len()
    }

    /// Trains every chunk not yet logged in `dir`, then writes `fewshot.json` and `summary.md` from the records.
    pub fn run(&self, dir: &RunDir, observer: &mut dyn FnMut(FewshotEvent)) -> Result<FewshotSummary> {
        let mut records: Vec<EpisodeRecord> = dir.read_jsonl(RECORDS_FILE)?;
        let total = self.total_records();
        for chunk in self.chunks() {
            let missing = self.missing(&records, &chunk);
            let skipped = missing.is_empty();
            if !skipped {
                for record in self.train_chunk(&chunk)? {
                    if missing.iter().any(|(m, e)| record.is(m, &chunk.setting, *e)) {
                        dir.append_jsonl(RECORDS_FILE, &record)?;
                        records.push(record);
                    }
                }
            }
            let done = records.len().min(total);
            observer(FewshotEvent::Chunk {
                done,
                total,
                setting: &chunk.setting,
                episodes: &chunk.episodes,
                skipped,
            });
        }
        // Read back from the log, so a resumed run and an uninterrupted one summarise the same parsed numbers.
        let records: Vec<EpisodeRecord> = dir.read_jsonl(RECORDS_FILE)?;
        let summary = summarise(&self.prepared.task.name, self.spec, &self.prepared.inner.domain, &records);
        dir.write_json(FEWSHOT_SUMMARY_FILE, &summary)?;
        dir.write_text(TABLE_FILE, &summary.markdown())?;
        Ok(summary)
    }

    /// (method, episode) pairs of `chunk` without a record.
    fn missing(&self, records: &[EpisodeRecord], chunk: &Chunk) -> Vec<(String, u64)> {
        chunk
            .episodes
            .iter()
            .flat_map(|e| self.spec.methods.iter().map(move |m| (m.name.clone(), *e)))
            .filter(|(m, e)| !records.iter().any(|r| r.is(m, &chunk.setting, *e)))
            .collect()
    }

    /// The training and evaluation sets of `episodes` at `setting`.
    fn sets(&self, setting: &Setting, episodes: &[u64]) -> Result<Vec<EpisodeSets>> {
        match setting {
            Setting::Shots(_) => {
                let position = self.spec.settings.iter().position(|s| s == setting);
                let sampler = position
                    .and_then(|i| self.samplers[i].as_ref())
                    .ok_or_else(|| Error::invalid("setting", setting, "is not a shot count of this study"))?;
                episodes
                    .iter()
                    .map(|e| {
                        sampler
                            .episode_with_seed(self.spec.seed, Pool::Test, *e)
                            .map(|ep| EpisodeSets { train: ep.support, eval: ep.query })
                    })
                    .collect()
            }
            Setting::Fraction(f) => {
                let pool = self.prepared.split.pool(Pool::Train);
                let n = ((f * pool.len() as f64).round() as usize).clamp(1, pool.len());
                let test = self.prepared.split.pool(Pool::Test).to_vec();
                Ok(episodes
                    .iter()
                    .map(|e| {
                        let mut rng = self.rng(setting, *e, 0x5b5e7);
                        let mut subset = pool.to_vec();
                        let (picked, _) = subset.partial_shuffle(&mut rng, n);
                        let mut train = picked.to_vec();
                        train.sort_unstable();
                        EpisodeSets { train, eval: test.clone() }
                    })
                    .collect())
            }
        }
    }

    fn rng(&self, setting: &Setting, episode: u64, salt: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.spec.seed ^ salt);
        rng.set_stream((setting.stream() << 20) ^ episode);
        rng
    }

    /// Network seed of an episode: the same for every method, so methods are compared paired.
    pub fn member_seed(&self, setting: &Setting, episode: u64) -> u64 {
        self.rng(setting, episode, 0xfe75_0000).random()
    }

    /// Trains all methods on the chunk's episodes as one population and evaluates each on its query set.
    fn train_chunk(&self, chunk: &Chunk) -> Result<Vec<EpisodeRecord>> {
        let sets = self.sets(&chunk.setting, &chunk.episodes)?;
        let size = sets.first().map_or(1, |s| s.train.len());
        let train = self.spec.inner.for_size(size);
        let mut members = vec![];
        let mut labels = vec![];
        for (e, set) in chunk.episodes.iter().zip(&sets) {
            let seed = self.member_seed(&chunk.setting, *e);
            for m in &self.spec.methods {
                members.push(Member {
                    seed,
                    method: m.method.clone(),
                    train: set.train.clone(),
                    val: vec![],
                });
                labels.push((m.name.clone(), *e, seed, set.eval.clone()));
            }
        }
        let eval = EvalSpec::for_reference(self.prepared.task.distribution.clone());
        let net = &self.prepared.inner.network;
        let run = train_population(
            &Trainer { net, data: &self.data, spec: &train, eval: &eval, device: self.device },
            &members,
            &mut |_| {},
        )?;
        let query: Vec<Method> =
            vec![query_method(&self.prepared.inner.domain, QueryLoss::default()); members.len()];
        let eval_sets: Vec<Vec<i64>> = labels.iter().map(|l| l.3.clone()).collect();
        let metrics = evaluate(net, &run.params, &self.data, &query, &eval_sets, &eval)?;
        Ok(labels
            .into_iter()
            .zip(metrics)
            .zip(&run.outcomes)
            .zip(&members)
            .map(|((((method, episode, seed, _), metrics), outcome), member)| EpisodeRecord {
                method,
                setting: chunk.setting,
                episode,
                seed,
                train_size: member.train.len(),
                steps: train.steps,
                metrics,
                failure: outcome
                    .failure
                    .as_ref()
                    .map(|f| format!("non-finite loss {} at step {}", f.loss, f.step)),
            })
            .collect())
    }
}
/// The meta-test sampler of shot count `k`: the task's episode spec with `shots = k`.
fn sampler(prepared: &PreparedTask, k: usize) -> Result<EpisodeSampler> {
    let mut task = prepared.task.clone();
    task.episodes.shots = k;
    EpisodeSampler::new(&prepared.dataset, &task, &prepared.split)
        .map_err(|e| Error::invalid("shots", k, format!("this task admits no meta-test episode: {e}")))
}
