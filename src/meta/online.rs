//! The online hypergradient (the idea of AVDL, ECCV 2020): members that share φ train once, for the whole
//! schedule; every `interval` steps φ takes an Adam step along the one-step look-ahead gradient of a query-batch loss.
use super::learner::Learner;
use super::population::{save_population, Round};
use super::study::Study;
use crate::config::OptimiserSpec;
use crate::data::{Episode, Pool};
use crate::error::{Error, Result};
use crate::model::{Params, Pass};
use crate::rundir::records::{SearchState, StepRecord, Trial, TRIALS_FILE};
use crate::rundir::RunDir;
use crate::train::unroll::Unroll;
use crate::train::{Member, Method, OptimiserState};
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

/// Query examples per member in each look-ahead loss (fewer when the query set is smaller).
const QUERY_BATCH: usize = 256;

/// The online hypergradient (`episodes_per_step` members, a φ step every `interval` steps).
pub struct Online;

impl Learner for Online {
    fn total_steps(&self, study: &Study) -> usize {
        study.inner.steps.div_ceil(study.spec.interval)
    }

    fn step(&self, study: &Study, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        study.online_step(dir, state)
    }

    fn learned_phi(&self, study: &Study, state: &SearchState) -> Vec<f64> {
        study.space.phi_values(&state.theta)
    }
}

impl Study<'_> {
    /// One round: every member trains `interval` more steps at the current φ and is scored on its
    /// query set; before the last round φ then moves along the look-ahead hypergradient.
    fn online_step(&self, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        let round = state.step;
        let phi_now = self.space.phi_values(&state.theta);
        let indices: Vec<u64> = (0..self.spec.episodes_per_step as u64).collect();
        let episodes = self.episodes_of(Pool::Train, &indices)?;
        let members: Vec<Member> = episodes
            .iter()
            .map(|e| Member {
                seed: self.member_seed(Pool::Train, e.index),
                method: self.method_at(&phi_now),
                train: e.support.clone(),
                val: vec![],
            })
            .collect();
        let query: Vec<Vec<i64>> = episodes.iter().map(|e| e.query.clone()).collect();
        let Round { run, scores, until } = self.train_round(dir, state, &members, &query)?;
        for (e, (loss, metric)) in scores.iter().enumerate() {
            dir.append_jsonl(
                TRIALS_FILE,
                &Trial {
                    step: round,
                    candidate: 0,
                    pool: Pool::Train,
                    episode: indices[e],
                    phi: phi_now.clone(),
                    query_loss: *loss,
                    metric: *metric,
                },
            )?;
        }
        if until < self.inner.steps {
            let grad =
                self.lookahead_gradient(&run.params, &run.optimiser, &episodes, &state.theta, round, until)?;
            if grad.iter().any(|g| !g.is_finite()) {
                return Err(Error::invalid(
                    "online hypergradient",
                    format!("{grad:?}"),
                    format!("is not finite in round {round}; lower outer_lr or the inner lr"),
                ));
            }
            self.adam_on_theta(state, &grad);
            save_population(dir, round + 1, &run.params, &run.optimiser)?;
        }
        Ok(self.record(round, &phi_now, &scores))
    }

    /// d/dθ of the mean query-batch loss after one more training step from `params` (the step's
    /// targets built at φ(θ), its learning rate that of inner step `step`), members averaged.
    fn lookahead_gradient(
        &self,
        params: &Params,
        optimiser: &OptimiserState,
        episodes: &[Episode],
        theta: &[f64],
        round: usize,
        step: usize,
    ) -> Result<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.spec.seed ^ 0x0a71_4e00);
        rng.set_stream(round as u64);
        let draw = |pool: &[i64], size: usize, rng: &mut ChaCha8Rng| -> Vec<i64> {
            pool.choose_multiple(rng, size.min(pool.len())).copied().collect()
        };
        let train: Vec<Vec<i64>> =
            episodes.iter().map(|e| draw(&e.support, self.inner.batch as usize, &mut rng)).collect();
        let query: Vec<Vec<i64>> = episodes.iter().map(|e| draw(&e.query, QUERY_BATCH, &mut rng)).collect();
        let family = self.space.spec_at(&self.space.phi_values(theta));
        let theta = Tensor::from_slice(theta).set_requires_grad(true);
        let phi = self.space.full_phi(&self.space.phi_of(&theta).to_kind(Kind::Float).to_device(self.device));
        let rows = phi.unsqueeze(0).expand([episodes.len() as i64, -1], false);
        let lookahead = OptimiserSpec { lr: self.inner.lr_at(step), ..self.inner.optimiser_spec() };
        let unroll = Unroll {
            net: &self.prepared.inner.network,
            data: &self.data,
            family: &family,
            optimiser: lookahead,
        };
        let loss =
            lookahead_loss(&unroll, params, optimiser, &rows, &train, &query, &self.query_objective())?;
        let grad = Tensor::run_backward(&[&loss], &[&theta], false, false)[0].to_kind(Kind::Double);
        Ok(Vec::<f64>::try_from(&grad)?)
    }
}

/// The mean over members of `query_method`'s loss on `query` batches after one training step on
/// `train` batches from `params` and `optimiser`, with targets at φ rows `phi` (`[P, d]`; the graph to φ is kept).
pub fn lookahead_loss(
    unroll: &Unroll,
    params: &Params,
    optimiser: &OptimiserState,
    phi: &Tensor,
    train: &[Vec<i64>],
    query: &[Vec<i64>],
    query_method: &Method,
) -> Result<Tensor> {
    let device = phi.device();
    let trained = unroll.train(params, phi, &[train.to_vec()], Some(optimiser.detached()), device)?;
    Ok(unroll.loss(&trained, query_method, None, query, Pass::Eval, device)? / train.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Domain;
    use crate::domain::Labels;
    use crate::family::DistributionSpec;
    use crate::label::Bins;
    use crate::model::{Network, NetworkSpec};
    use crate::train::TrainData;
    use tch::Device;

    /// d(query loss one Adam step ahead, mid-training)/dσ by autograd equals a central finite
    /// difference (double precision, two members with their own σ).
    #[test]
    fn the_online_hypergradient_matches_finite_differences_of_the_lookahead_loss() {
        let inputs = Tensor::linspace(-1.0, 1.0, 32, (Kind::Double, Device::Cpu)).reshape([16, 2]).sin();
        let labels =
            Labels::Ordinal(Tensor::from_slice(&(0..16).map(|i| (i % 6) as f32).collect::<Vec<_>>()));
        let domain = Domain::Bins(Bins::parse("0:5").unwrap());
        let data = TrainData { inputs: &inputs, labels: &labels, domain: &domain };
        let net = Network::new(NetworkSpec::Mlp { hidden: vec![6] }, &[2], 6).unwrap();
        let params = net.init(&[3, 4], Device::Cpu).map(|t| t.to_kind(Kind::Double));
        // Optimiser state as if two steps had been taken.
        let mut state = OptimiserState::new(&params.tensors);
        state.step = 2;
        state.first = params.tensors.iter().map(|t| t.sin() * 0.01).collect();
        state.second = params.tensors.iter().map(|t| t.cos().square() * 1e-4).collect();
        let family: DistributionSpec = "gaussian:sigma=1".parse().unwrap();
        let unroll = Unroll { net: &net, data: &data, family: &family, optimiser: OptimiserSpec::adam(0.05) };
        let (train, query) =
            (vec![vec![0i64, 1, 2, 3], vec![4, 5, 6, 7]], vec![vec![8i64, 9, 10, 11], vec![12, 13, 14, 15]]);
        let onehot: Method = "onehot".parse().unwrap();
        let loss_at =
            |phi: &Tensor| lookahead_loss(&unroll, &params, &state, phi, &train, &query, &onehot).unwrap();
        let phi = Tensor::from_slice(&[1.3f64, 0.8]).reshape([2, 1]).set_requires_grad(true);
        let grad = Tensor::run_backward(&[loss_at(&phi)], &[&phi], false, false)[0].shallow_clone();
        for (p, sigma) in [(0usize, 1.3), (1, 0.8)] {
            let at = |delta: f64| {
                let mut values = [1.3, 0.8];
                values[p] = sigma + delta;
                loss_at(&Tensor::from_slice(&values).reshape([2, 1])).double_value(&[])
            };
            let fd = (at(1e-6) - at(-1e-6)) / 2e-6;
            let g = grad.double_value(&[p as i64, 0]);
            assert!(g.abs() > 1e-7, "member {p}: the hypergradient should not vanish here");
            assert!(
                (g - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                "member {p}: autograd {g} vs finite difference {fd}"
            );
        }
    }
}
