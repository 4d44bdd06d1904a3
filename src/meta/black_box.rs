//! Black-box learners: grid, random and CMA-ES score candidate φs by training fresh networks on
//! meta-train episodes (all candidates of a step on the same episodes) and keep the best mean query loss
//! (or headline metric, with `select_by = "metric"`).
use super::cmaes::CmaEs;
use super::learner::Learner;
use super::study::Study;
use super::study_spec::SearchMethod;
use crate::data::Pool;
use crate::error::{Error, Result};
use crate::rundir::records::{SearchState, StepRecord};
use crate::rundir::RunDir;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Grid, random or CMA-ES.
pub struct BlackBox(pub SearchMethod);

impl Learner for BlackBox {
    fn total_steps(&self, study: &Study) -> usize {
        match self.0 {
            SearchMethod::Grid => study.spec.grid.len(),
            _ => study.spec.outer_steps,
        }
    }

    fn start(&self, study: &Study, state: &mut SearchState) -> Result<()> {
        if self.0 == SearchMethod::Cmaes {
            let (lo, hi) = study.space.bounds();
            let width = lo.iter().zip(hi).map(|(l, h)| h - l).fold(f64::INFINITY, f64::min);
            let lambda = (study.spec.candidates >= 2).then_some(study.spec.candidates);
            let cma = CmaEs::new(state.theta.clone(), width / 4.0, lo.to_vec(), hi.to_vec(), lambda)
                .map_err(|e| Error::invalid("cmaes", "settings", e.to_string()))?;
            state.cmaes = Some(cmaes_value(&cma)?);
        }
        Ok(())
    }

    /// Grid: the next point on the same episodes; random and CMA-ES: candidates on fresh episodes.
    fn step(&self, study: &Study, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        let s = state.step;
        let episodes: Vec<u64> = match self.0 {
            SearchMethod::Grid => (0..study.spec.episodes_per_step as u64).collect(),
            _ => study.fresh_episodes(s),
        };
        let mut rng =
            ChaCha8Rng::seed_from_u64(study.spec.seed ^ (s as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let thetas: Vec<Vec<f64>> = match self.0 {
            SearchMethod::Grid => vec![study.grid_theta(s)?],
            SearchMethod::Random => {
                let (lo, hi) = study.space.bounds();
                (0..study.spec.candidates)
                    .map(|_| lo.iter().zip(hi).map(|(l, h)| rng.random_range(*l..*h)).collect())
                    .collect()
            }
            _ => cmaes_of(state)?.ask(&mut rng),
        };
        let phis: Vec<Vec<f64>> = thetas.iter().map(|t| study.space.phi_values(t)).collect();
        let scores = study.score(&phis, Pool::Train, &episodes, &mut state.inner_member_steps)?;
        let means = study.log_trials(dir, s, &episodes, &phis, &scores)?;
        if state.cmaes.is_some() {
            let mut cma = cmaes_of(state)?;
            cma.tell(&thetas, &means).map_err(|e| Error::invalid("cmaes", "tell", e.to_string()))?;
            state.cmaes = Some(cmaes_value(&cma)?);
        }
        let best = (0..means.len()).min_by(|a, b| means[*a].total_cmp(&means[*b])).unwrap_or(0);
        if means[best] < state.best_loss {
            state.best_loss = means[best];
            state.best_phi = phis[best].clone();
        }
        Ok(study.record(s, &phis[best], &scores[best]))
    }
}

/// CMA-ES's distribution as the search state stores it.
fn cmaes_value(cma: &CmaEs) -> Result<serde_json::Value> {
    serde_json::to_value(cma).map_err(|e| Error::invalid("cmaes", "state", e.to_string()))
}

/// CMA-ES's distribution from the search state (written by [`cmaes_value`] when the study started).
fn cmaes_of(state: &SearchState) -> Result<CmaEs> {
    let value =
        state.cmaes.clone().ok_or_else(|| Error::invalid("cmaes", "state", "missing from state.json"))?;
    serde_json::from_value(value)
        .map_err(|e| Error::invalid("cmaes", "state", format!("unreadable in state.json: {e}")))
}
