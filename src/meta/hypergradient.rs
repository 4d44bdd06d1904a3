//! The look-ahead hypergradient: Adam on θ with the gradient of the query loss through the last
//! `unroll` inner steps of fresh trainings (one-step look-ahead at `unroll = 1`).
use super::learner::Learner;
use super::study::Study;
use crate::config::TrainPlan;
use crate::data::Pool;
use crate::error::{Error, Result};
use crate::model::Pass;
use crate::rundir::records::{SearchState, StepRecord, Trial, TRIALS_FILE};
use crate::rundir::RunDir;
use crate::train::batches::BatchSampler;
use crate::train::trainer::train_chunked;
use crate::train::unroll::Unroll;
use crate::train::{Member, Trainer};
use tch::{Kind, Tensor};

/// K-step look-ahead (`unroll` = K) on fresh episodes every outer step.
pub struct LookAhead;

impl Learner for LookAhead {
    fn total_steps(&self, study: &Study) -> usize {
        study.spec.outer_steps
    }

    fn step(&self, study: &Study, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        let episodes = study.fresh_episodes(state.step);
        study.hypergradient_step(dir, state, &episodes)
    }

    fn learned_phi(&self, study: &Study, state: &SearchState) -> Vec<f64> {
        study.space.phi_values(&state.theta)
    }
}

impl Study<'_> {
    /// One Adam step on θ with the query-loss gradient through the last `unroll` inner steps.
    pub(super) fn hypergradient_step(
        &self,
        dir: &RunDir,
        state: &mut SearchState,
        indices: &[u64],
    ) -> Result<StepRecord> {
        let s = state.step;
        let episodes = self.episodes_of(Pool::Train, indices)?;
        let phi_now = self.space.phi_values(&state.theta);
        let net = &self.prepared.inner.network;
        let seeds: Vec<u64> = episodes.iter().map(|e| self.member_seed(Pool::Train, e.index)).collect();
        let plain = self.inner.steps - self.spec.unroll;
        let (params, optimiser) = if plain > 0 {
            let members: Vec<Member> = episodes
                .iter()
                .zip(&seeds)
                .map(|(e, seed)| Member {
                    seed: *seed,
                    method: self.method_at(&phi_now),
                    train: e.support.clone(),
                    val: vec![],
                })
                .collect();
            let plain_spec = TrainPlan { steps: plain, ..self.inner.clone() };
            let eval = self.eval_spec();
            let trainer =
                Trainer { net, data: &self.data, spec: &plain_spec, eval: &eval, device: self.device };
            let run = train_chunked(&trainer, &members, trainer.default_chunk(), &mut |_, _| {})?;
            (run.params, Some(run.optimiser))
        } else {
            (net.init(&seeds, self.device), None)
        };
        let mut samplers: Vec<BatchSampler> = episodes
            .iter()
            .zip(&seeds)
            .map(|(e, seed)| BatchSampler::new(e.support.clone(), seed ^ 0xa11))
            .collect();
        let batches: Vec<Vec<Vec<i64>>> = (0..self.spec.unroll)
            .map(|_| samplers.iter_mut().map(|b| b.next_batch(self.inner.batch as usize)).collect())
            .collect();
        let theta = Tensor::from_slice(&state.theta).set_requires_grad(true);
        let phi = self.space.full_phi(&self.space.phi_of(&theta).to_kind(Kind::Float).to_device(self.device));
        let rows = phi.unsqueeze(0).expand([episodes.len() as i64, -1], false);
        let family = self.space.spec_at(&phi_now);
        let unroll =
            Unroll { net, data: &self.data, family: &family, optimiser: self.inner.optimiser_spec() };
        let trained = unroll.train(&params, &rows, &batches, optimiser, self.device)?;
        let query_sets: Vec<Vec<i64>> = episodes.iter().map(|e| e.query.clone()).collect();
        let loss =
            unroll.loss(&trained, &self.query_objective(), None, &query_sets, Pass::Eval, self.device)?
                / episodes.len() as f64;
        let grad = Tensor::run_backward(&[&loss], &[&theta], false, false)[0].to_kind(Kind::Double);
        let grad = Vec::<f64>::try_from(&grad)?;
        state.inner_member_steps += (episodes.len() * self.inner.steps) as u64;
        let scores = self.query_scores(&trained.detached(), &[], &query_sets)?;
        for (e, (l, m)) in scores.iter().enumerate() {
            dir.append_jsonl(
                TRIALS_FILE,
                &Trial {
                    step: s,
                    candidate: 0,
                    pool: Pool::Train,
                    episode: indices[e],
                    phi: phi_now.clone(),
                    query_loss: *l,
                    metric: *m,
                },
            )?;
        }
        if grad.iter().any(|g| !g.is_finite()) {
            return Err(Error::invalid(
                "hypergradient",
                format!("{grad:?}"),
                format!("is not finite at outer step {s}; lower outer_lr or the inner lr"),
            ));
        }
        self.adam_on_theta(state, &grad);
        Ok(self.record(s, &phi_now, &scores))
    }

    pub(super) fn adam_on_theta(&self, state: &mut SearchState, grad: &[f64]) {
        let (b1, b2, eps) = (0.9, 0.999, 1e-8);
        let t = (state.step + 1) as i32;
        for (i, g) in grad.iter().enumerate() {
            state.adam_m[i] = b1 * state.adam_m[i] + (1.0 - b1) * g;
            state.adam_v[i] = b2 * state.adam_v[i] + (1.0 - b2) * g * g;
            let m_hat = state.adam_m[i] / (1.0 - b1.powi(t));
            let v_hat = state.adam_v[i] / (1.0 - b2.powi(t));
            state.theta[i] -= self.spec.outer_lr * m_hat / (v_hat.sqrt() + eps);
        }
        state.theta = self.space.clamp(&state.theta);
    }
}
