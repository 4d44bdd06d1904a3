//! Runs a study to the end: resumes or starts its state, takes the learner's outer steps with a
//! checkpoint after each, writes the learned φ, compares it with the default and seals the run.
use super::learner::Learner;
use super::query_loss::headline_metric;
use super::registry::learner_for;
use super::study::Study;
use crate::data::Pool;
use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::family::{DistributionSpec, MixtureSpec};
use crate::rundir::records::{
    Compared, ComparisonEpisode, Evaluated, Learned, LineageRecord, MethodScore, SearchOutcome, SearchState,
    StepRecord, Trial, COMPARISON_FILE, LABEL_DISTANCE_FILE, LEARNED_FILE, LINEAGE_FILE, SEARCH_SUMMARY_FILE,
    STATE_FILE, TRIALS_FILE,
};
use crate::rundir::RunDir;
use crate::stats::{mean_ci, paired_test, t_half_width};
use crate::train::{LossKind, Method};
use std::time::Instant;

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

impl Study<'_> {
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
            let loss = mean_ci(&row.iter().map(|r| r.0).collect::<Vec<_>>());
            let metric = mean_ci(&row.iter().map(|r| r.1).collect::<Vec<_>>());
            Evaluated {
                distribution: method.target.to_string(),
                loss_mean: loss.mean,
                loss_ci95: loss.ci95,
                metric_mean: metric.mean,
                metric_ci95: metric.ci95,
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
            loss_difference: mean_ci(&diff).mean,
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
