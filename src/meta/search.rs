//! The outer loop of a study: each step scores candidate φs (or takes a hypergradient step) on
//! fresh meta-train episodes, logs every trial, checkpoints its state, and resumes after a kill.
use super::episodes::EpisodeSource;
use super::learner::{learner_for, Learner};
use super::objective::{headline_metric, query_method};
use super::space::PhiSpace;
use super::study::{SelectBy, StudySpec};
use crate::config::TrainPlan;
use crate::data::{Episode, Pool};
use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::family::{DistributionSpec, MixtureSpec};
use crate::model::Params;
use crate::rundir::records::MemberOutcome;
use crate::rundir::records::Metrics;
use crate::rundir::records::{
    Compared, ComparisonEpisode, Evaluated, MethodScore, SearchOutcome, SearchState, StepRecord, Trial,
};
use crate::rundir::records::{LineageRecord, LINEAGE_FILE};
use crate::rundir::RunDir;
use crate::stats::mean_sd;
use crate::stats::{paired_test, t_half_width};
use crate::train::evaluate::{evaluate, EvalSpec};
use crate::train::setup::PreparedTask;
use crate::train::trainer::{chunked_done, chunked_total, train_chunked, TrainEvent};
use crate::train::{LossKind, Member, Method, TrainData, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;
use tch::Device;

use crate::rundir::records::{
    Learned, COMPARISON_FILE, LABEL_DISTANCE_FILE, LEARNED_FILE, SEARCH_SUMMARY_FILE, STATE_FILE, TRIALS_FILE,
};

/// The records a finished study is judged by (`report` reads them), sealed when it ends.
const SEALED_FILES: [&str; 7] = [
    TRIALS_FILE,
    STATE_FILE,
    LEARNED_FILE,
    SEARCH_SUMMARY_FILE,
    COMPARISON_FILE,
    LINEAGE_FILE,
    LABEL_DISTANCE_FILE,
];

/// Progress of a study.
pub enum SearchEvent<'a> {
    Step {
        done: usize,
        total: usize,
        record: &'a StepRecord,
    },
    /// The final comparison starts, on this pool.
    Validating(Pool),
    /// Inner steps of the final comparison done, of `total` (over all its chunks).
    Comparing {
        done: usize,
        total: usize,
    },
}

/// A study bound to a prepared task and a device.
pub struct Study<'a> {
    pub prepared: &'a PreparedTask,
    pub spec: &'a StudySpec,
    pub space: PhiSpace,
    pub inner: TrainPlan,
    pub episodes: EpisodeSource,
    pub data: TrainData<'a>,
    pub device: Device,
}

/// 1.96 · sd / √n.
pub fn ci95(values: &[f64]) -> (f64, f64) {
    let (m, sd) = mean_sd(values);
    (m, 1.96 * sd / (values.len().max(1) as f64).sqrt())
}

impl<'a> Study<'a> {
    /// Builds the study for a prepared task (inputs already on `device`).
    pub fn new(
        prepared: &'a PreparedTask,
        spec: &'a StudySpec,
        data: TrainData<'a>,
        device: Device,
    ) -> Result<Self> {
        let template = spec.family(&prepared.task.distribution);
        if spec.distribution.is_some() {
            // The study's own family must train on this task (fits its labels; its distance resolves).
            let method = Method { target: template.clone(), loss: LossKind::Kl };
            crate::train::run::check_methods(prepared, &[method])
                .map_err(|e| spec.error("distribution", e.to_string()))?;
        }
        let space = PhiSpace::new(spec, template, &prepared.inner.domain)?;
        let episodes = EpisodeSource::new(prepared, spec.full_range.as_ref())?;
        let task_train = match (episodes.support_size(), prepared.task.train.epochs, spec.inner.steps) {
            // Full-range episodes train for the task's epochs over their own (budgeted) training set.
            (Some(n), Some(epochs), None) => TrainPlan {
                steps: epochs as usize * n.div_ceil(prepared.inner.train.batch.max(1) as usize),
                ..prepared.inner.train.clone()
            },
            _ => prepared.inner.train.clone(),
        };
        let inner = spec.inner_settings(&task_train)?;
        Ok(Study { prepared, spec, space, inner, episodes, data, device })
    }

    /// Outer steps of the whole study.
    pub fn total_steps(&self) -> usize {
        learner_for(self.spec.method).total_steps(self)
    }

    /// Runs (or resumes) the study in `dir` to the end, then compares learned and default φ on meta-validation.
    pub fn run(&self, dir: &RunDir, observer: &mut dyn FnMut(SearchEvent)) -> Result<SearchOutcome> {
        if dir.file(SEARCH_SUMMARY_FILE).exists() {
            dir.verify_seal()?;
            return dir.read_json(SEARCH_SUMMARY_FILE);
        }
        self.record_label_distance(dir)?;
        let learner = learner_for(self.spec.method);
        let mut state = self.resume_or_start(dir, learner.as_ref())?;
        while state.step < self.total_steps() {
            let started = Instant::now();
            let record = learner.step(self, dir, &mut state)?;
            state.seconds += started.elapsed().as_secs_f64();
            state.history.push(record);
            state.step += 1;
            dir.write_json(STATE_FILE, &state)?;
            observer(SearchEvent::Step {
                done: state.step,
                total: self.total_steps(),
                record: state.history.last().expect("just pushed"),
            });
        }
        super::population::remove_checkpoints(dir)?;
        self.require_a_finite_score(dir)?;
        let learned = learner.learned_phi(self, &state);
        self.write_learned(dir, &learned)?;
        observer(SearchEvent::Validating(self.episodes.comparison_pool()));
        let outcome = self.compare(dir, &state, &learned, observer)?;
        dir.write_json(SEARCH_SUMMARY_FILE, &outcome)?;
        dir.seal(&SEALED_FILES)?;
        Ok(outcome)
    }

    /// A mixture's resolved label distance (co-occurrence, file or index), kept with the run.
    fn record_label_distance(&self, dir: &RunDir) -> Result<()> {
        if let (DistributionSpec::Mixture(MixtureSpec { distance, .. }), Domain::Classes(classes)) =
            (self.spec.family(&self.prepared.task.distribution), &self.prepared.inner.domain)
        {
            dir.write_text(LABEL_DISTANCE_FILE, &classes.distance(distance)?.to_csv())?;
        }
        Ok(())
    }

    fn resume_or_start(&self, dir: &RunDir, learner: &dyn Learner) -> Result<SearchState> {
        if dir.file(STATE_FILE).exists() {
            let state: SearchState = dir.read_json(STATE_FILE)?;
            let kept: Vec<Trial> =
                dir.read_jsonl::<Trial>(TRIALS_FILE)?.into_iter().filter(|t| t.step < state.step).collect();
            dir.write_jsonl(TRIALS_FILE, &kept)?;
            if dir.file(LINEAGE_FILE).exists() {
                let lineage: Vec<LineageRecord> = dir
                    .read_jsonl::<LineageRecord>(LINEAGE_FILE)?
                    .into_iter()
                    .filter(|l| l.round < state.step)
                    .collect();
                dir.write_jsonl(LINEAGE_FILE, &lineage)?;
            }
            return Ok(state);
        }
        let phi = self.space.start_phi(self.spec)?;
        let theta = self.space.clamp(&self.space.theta_of(&phi)?);
        let d = theta.len();
        let mut state = SearchState {
            step: 0,
            theta,
            adam_m: vec![0.0; d],
            adam_v: vec![0.0; d],
            cmaes: None,
            best_phi: phi,
            best_loss: f64::MAX,
            inner_member_steps: 0,
            seconds: 0.0,
            history: vec![],
            pbt: None,
        };
        learner.start(self, &mut state)?;
        Ok(state)
    }

    pub(super) fn record(&self, step: usize, phi: &[f64], scores: &[(f64, f64)]) -> StepRecord {
        let (loss_mean, loss_sd) = mean_sd(&scores.iter().map(|s| s.0).collect::<Vec<_>>());
        let (metric_mean, _) = mean_sd(&scores.iter().map(|s| s.1).collect::<Vec<_>>());
        StepRecord { step, phi: phi.to_vec(), loss_mean, loss_sd, metric_mean }
    }

    /// Appends one trial per candidate and meta-train episode of step `step` (`scores[candidate][episode]`)
    /// and returns each candidate's mean selection score (a failed episode counts as `f64::MAX`).
    pub(super) fn log_trials(
        &self,
        dir: &RunDir,
        step: usize,
        episodes: &[u64],
        phis: &[Vec<f64>],
        scores: &[Vec<(f64, f64)>],
    ) -> Result<Vec<f64>> {
        let mut means = vec![];
        for (c, row) in scores.iter().enumerate() {
            for (e, (loss, metric)) in row.iter().enumerate() {
                let trial = Trial {
                    step,
                    candidate: c,
                    pool: Pool::Train,
                    episode: episodes[e],
                    phi: phis[c].clone(),
                    query_loss: *loss,
                    metric: *metric,
                };
                dir.append_jsonl(TRIALS_FILE, &trial)?;
            }
            let ranked: Vec<f64> = row.iter().map(|r| self.selection_score(*r)).collect();
            means.push(ranked.iter().sum::<f64>() / ranked.len() as f64);
        }
        Ok(means)
    }

    /// The meta-train episode indices of outer step `step` when every step draws fresh ones:
    /// `episodes_per_step` consecutive indices after those of the steps before it.
    pub(super) fn fresh_episodes(&self, step: usize) -> Vec<u64> {
        let per = self.spec.episodes_per_step as u64;
        (0..per).map(|e| step as u64 * per + e).collect()
    }

    pub(super) fn episodes_of(&self, pool: Pool, indices: &[u64]) -> Result<Vec<Episode>> {
        indices.iter().map(|i| self.episodes.episode(self.spec.seed, pool, *i)).collect()
    }

    /// Network seed of an episode: the same for every candidate, so candidates are compared paired.
    pub(super) fn member_seed(&self, pool: Pool, episode: u64) -> u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.spec.seed);
        rng.set_stream((pool.id() << 56) | episode);
        rng.random()
    }

    pub(super) fn method_at(&self, phi: &[f64]) -> Method {
        Method { target: self.space.spec_at(phi), loss: LossKind::Kl }
    }

    pub(super) fn eval_spec(&self) -> EvalSpec {
        EvalSpec::for_reference(self.prepared.task.distribution.clone())
    }

    /// Query loss and metric of every φ on every episode (`[candidate][episode]`), all trained together.
    /// (Public: `dldl-meta worker` scores Optuna's trials through it, on the same episodes and seeds.)
    pub fn score(
        &self,
        phis: &[Vec<f64>],
        pool: Pool,
        indices: &[u64],
        member_steps: &mut u64,
    ) -> Result<Vec<Vec<(f64, f64)>>> {
        self.score_methods(
            &phis.iter().map(|p| self.method_at(p)).collect::<Vec<_>>(),
            pool,
            indices,
            member_steps,
            &mut |_, _| {},
        )
    }

    /// Adds the inner member-steps it trains to `member_steps`; `progress(done, total)` follows the inner steps.
    fn score_methods(
        &self,
        methods: &[Method],
        pool: Pool,
        indices: &[u64],
        member_steps: &mut u64,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<Vec<(f64, f64)>>> {
        let episodes = self.episodes_of(pool, indices)?;
        let members: Vec<Member> = methods
            .iter()
            .flat_map(|m| episodes.iter().map(move |e| (m, e)))
            .map(|(m, e)| Member {
                seed: self.member_seed(pool, e.index),
                method: m.clone(),
                train: e.support.clone(),
                val: vec![],
            })
            .collect();
        let eval = self.eval_spec();
        let trainer = Trainer {
            net: &self.prepared.inner.network,
            data: &self.data,
            spec: &self.inner,
            eval: &eval,
            device: self.device,
        };
        let chunk = trainer.default_chunk();
        let total = chunked_total(members.len(), chunk, self.inner.steps);
        let run = train_chunked(&trainer, &members, chunk, &mut |offset, event| {
            if let TrainEvent::Step { step, total: steps } = event {
                progress(chunked_done(offset, chunk, step, steps), total);
            }
        })?;
        *member_steps += (members.len() * self.inner.steps) as u64;
        let sets: Vec<Vec<i64>> =
            members.iter().enumerate().map(|(i, _)| episodes[i % episodes.len()].query.clone()).collect();
        let pairs = self.query_scores(&run.params, &run.outcomes, &sets)?;
        Ok(pairs.chunks(episodes.len()).map(|c| c.to_vec()).collect())
    }

    /// (query loss, headline metric) of member i of `params` on `sets[i]`; NaN for a member whose
    /// training failed (`outcomes`, empty when none can have).
    pub(super) fn query_scores(
        &self,
        params: &Params,
        outcomes: &[MemberOutcome],
        sets: &[Vec<i64>],
    ) -> Result<Vec<(f64, f64)>> {
        let methods = vec![self.query_objective(); sets.len()];
        let metrics =
            evaluate(&self.prepared.inner.network, params, &self.data, &methods, sets, &self.eval_spec())?;
        let failed = |i: usize| outcomes.get(i).is_some_and(|o| o.failure.is_some());
        Ok(metrics
            .iter()
            .enumerate()
            .map(|(i, m)| if failed(i) { (f64::NAN, f64::NAN) } else { self.loss_and_metric(m) })
            .collect())
    }

    /// The method whose φ-free loss scores query sets (the study's `query_loss`).
    pub(super) fn query_objective(&self) -> Method {
        query_method(&self.prepared.inner.domain, self.spec.query_loss)
    }

    /// What candidates are ranked by (lower is better): the query loss, or the headline metric turned
    /// so that lower is better; a failed or non-finite score ranks last.
    pub(super) fn selection_score(&self, (loss, metric): (f64, f64)) -> f64 {
        let value = match self.spec.select_by {
            SelectBy::Loss => loss,
            SelectBy::Metric if headline_metric(&self.prepared.inner.domain).1 => -metric,
            SelectBy::Metric => metric,
        };
        if value.is_finite() {
            value
        } else {
            f64::MAX
        }
    }

    /// Query loss and headline metric of one member's evaluation.
    pub(super) fn loss_and_metric(&self, m: &Metrics) -> (f64, f64) {
        let (name, _) = headline_metric(&self.prepared.inner.domain);
        (m.get("loss").copied().unwrap_or(f64::NAN), m.get(name).copied().unwrap_or(f64::NAN))
    }

    /// An error, and no learned φ, when no trial of the study scored a finite query loss: its
    /// "learned" φ would be only the start value.
    fn require_a_finite_score(&self, dir: &RunDir) -> Result<()> {
        let trials = dir.read_jsonl::<Trial>(TRIALS_FILE)?;
        if trials.iter().any(|t| t.query_loss.is_finite()) {
            return Ok(());
        }
        Err(Error::data(
            dir.file(TRIALS_FILE),
            format!(
                "none of the {} trials scored a finite query loss (every inner training diverged or failed), so nothing was learned \
                 and no {LEARNED_FILE} was written; lower the inner learning rate (`[inner] lr` of {}, or the task's `train.lr`)",
                trials.len(),
                self.spec.path.display()
            ),
        ))
    }

    fn write_learned(&self, dir: &RunDir, phi: &[f64]) -> Result<()> {
        let body = toml::to_string(&Learned { distribution: self.space.spec_at(phi) })
            .map_err(|e| Error::data(dir.file(LEARNED_FILE), e.to_string()))?;
        let header = format!(
            "# φ learned by `dldl-meta search` ({}) on task {}\n",
            self.spec.method, self.prepared.task.name
        );
        dir.write_text(LEARNED_FILE, &(header + &body))
    }

    /// The rows of `comparison.jsonl`: `scores[method][episode]` regrouped by episode.
    fn comparison_rows(
        &self,
        methods: &[Method],
        pool: Pool,
        indices: &[u64],
        scores: &[Vec<(f64, f64)>],
    ) -> Vec<ComparisonEpisode> {
        let score = |m: usize, e: usize| MethodScore {
            distribution: methods[m].target.to_string(),
            loss: scores[m][e].0,
            metric: scores[m][e].1,
        };
        (indices.iter().enumerate())
            .map(|(e, &episode)| ComparisonEpisode {
                episode,
                member_seed: self.member_seed(pool, episode),
                scores: (0..methods.len()).map(|m| score(m, e)).collect(),
            })
            .collect()
    }

    /// Learned φ against the task's default on the same comparison episodes (paired): meta-validation
    /// windows, or full-range episodes scored on the test pool; `compare_with` methods ride along.
    /// Every episode's scores go to `comparison.jsonl`.
    fn compare(
        &self,
        dir: &RunDir,
        state: &SearchState,
        learned: &[f64],
        observer: &mut dyn FnMut(SearchEvent),
    ) -> Result<SearchOutcome> {
        let default = Method { target: self.prepared.task.distribution.clone(), loss: LossKind::Kl };
        let others: Vec<Method> = self.spec.compare_with.iter().map(|t| t.parse()).collect::<Result<_>>()?;
        let indices: Vec<u64> = (0..self.spec.validation_episodes as u64).collect();
        let pool = self.episodes.comparison_pool();
        let mut methods = vec![self.method_at(learned), default.clone()];
        methods.extend(others.iter().cloned());
        // Validation is not counted in the search's inner member-steps.
        let mut uncounted = 0;
        let scores = self.score_methods(&methods, pool, &indices, &mut uncounted, &mut |done, total| {
            observer(SearchEvent::Comparing { done, total })
        })?;
        dir.write_jsonl(COMPARISON_FILE, &self.comparison_rows(&methods, pool, &indices, &scores))?;
        let summarise = |method: &Method, row: &[(f64, f64)]| {
            let (loss_mean, loss_ci95) = ci95(&row.iter().map(|r| r.0).collect::<Vec<_>>());
            let (metric_mean, metric_ci95) = ci95(&row.iter().map(|r| r.1).collect::<Vec<_>>());
            Evaluated {
                distribution: method.target.to_string(),
                loss_mean,
                loss_ci95,
                metric_mean,
                metric_ci95,
            }
        };
        let diff: Vec<f64> = scores[0].iter().zip(&scores[1]).map(|(a, b)| a.0 - b.0).collect();
        let (metric, higher_is_better) = headline_metric(&self.prepared.inner.domain);
        let against_default = |row: &[(f64, f64)]| {
            let metric_diff: Vec<f64> = row.iter().zip(&scores[1]).map(|(a, b)| a.1 - b.1).collect();
            paired_test(&metric_diff, self.spec.margin(), higher_is_better)
        };
        Ok(SearchOutcome {
            metric: metric.to_string(),
            episodes: indices.len(),
            compared_on: pool,
            learned: summarise(&self.method_at(learned), &scores[0]),
            default: summarise(&default, &scores[1]),
            loss_difference: ci95(&diff).0,
            // The t interval, as the metric's paired test has (the same numbers when the query loss is the metric).
            loss_difference_ci95: t_half_width(&diff),
            inner_member_steps: state.inner_member_steps,
            seconds: state.seconds,
            metric_test: Some(against_default(&scores[0])),
            others: others
                .iter()
                .zip(&scores[2..])
                .map(|(m, row)| Compared { evaluated: summarise(m, row), metric_test: against_default(row) })
                .collect(),
        })
    }
}
