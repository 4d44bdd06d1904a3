//! A study bound to a prepared task: what every learner scores with (candidate φs trained together on
//! the same episodes and network seeds), logs and records; `study_run.rs` drives it to the end.
use super::episodes::EpisodeSource;
use super::query_loss::{headline_metric, query_method};
use super::space::PhiSpace;
use super::study_spec::{SelectBy, StudySpec};
use crate::config::TrainPlan;
use crate::data::{Episode, Pool};
use crate::error::Result;
use crate::model::Params;
use crate::rundir::records::{MemberOutcome, Metrics, TRIALS_FILE};
use crate::rundir::records::{StepRecord, Trial};
use crate::rundir::RunDir;
use crate::stats::mean_sd;
use crate::train::evaluate::{evaluate, EvalSpec};
use crate::train::setup::PreparedTask;
use crate::train::trainer::{chunked_done, chunked_total, train_chunked, TrainEvent};
use crate::train::{LossKind, Member, Method, TrainData, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::Device;

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

    /// Point `i` of the study's `grid` as θ, clamped into the bounds; a point outside φ's domain is
    /// an error naming it.
    pub(super) fn grid_theta(&self, i: usize) -> Result<Vec<f64>> {
        let values = self.spec.grid[i].values();
        let phi = (self.space.point(&values))
            .map_err(|rule| self.spec.error(&format!("grid[{i}]"), format!("{values:?}: {rule}")))?;
        Ok(self.space.clamp(&self.space.theta_of(&phi)?))
    }

    /// Every point of the study's `grid` as θ ([`Study::grid_theta`]).
    pub(super) fn grid_thetas(&self) -> Result<Vec<Vec<f64>>> {
        (0..self.spec.grid.len()).map(|i| self.grid_theta(i)).collect()
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
    pub(super) fn score_methods(
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
}
