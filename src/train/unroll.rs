//! K inner steps kept on the autograd graph: the targets depend on φ, so the query loss after
//! training is differentiable in φ (the K-step unrolled hypergradient of the outer loop).
use super::member::TrainData;
use super::method::Method;
use super::optimiser::{step, OptimiserState};
use crate::config::OptimiserSpec;
use crate::error::{Error, Result};
use crate::family::DistributionSpec;
use crate::model::{Network, Params, Pass};
use tch::{Device, Tensor};

/// One unrolled inner loop: members train on their own batches with targets of `family` at `phi`.
pub struct Unroll<'a> {
    pub net: &'a Network,
    pub data: &'a TrainData<'a>,
    pub family: &'a DistributionSpec,
    pub optimiser: OptimiserSpec,
}

impl Unroll<'_> {
    /// Trains `params` (P members) through `batches` (one entry per step, each P lists of indices)
    /// with targets from `phi` (`[P, d]`, row p for member p), keeping the graph to `phi`; the
    /// optimiser continues from `state` when given (e.g. after plain training), else starts fresh.
    pub fn train(
        &self,
        params: &Params,
        phi: &Tensor,
        batches: &[Vec<Vec<i64>>],
        state: Option<OptimiserState>,
        device: Device,
    ) -> Result<Params> {
        let population = params.population();
        if phi.dim() != 2 || phi.size()[0] != population {
            return Err(Error::shape("phi", format!("expected [P={population}, d], got {:?}", phi.size())));
        }
        let method = Method { target: self.family.clone(), loss: super::method::LossKind::Kl };
        let current: Vec<Tensor> = params
            .tensors
            .iter()
            .map(|t| if t.requires_grad() { t.shallow_clone() } else { t.detach().set_requires_grad(true) })
            .collect();
        let mut state = state.unwrap_or_else(|| OptimiserState::new(&current));
        // Look-ahead steps leave the running statistics alone, so one copy serves every step.
        let mut now = params.with_tensors(current);
        for step_batches in batches {
            let loss = self.loss(&now, &method, Some(phi), step_batches, Pass::Lookahead, device)?;
            let grads = Tensor::run_backward(&[loss], &now.tensors, true, true);
            (now.tensors, state) = step(&self.optimiser, self.optimiser.lr, &now.tensors, &grads, &state);
        }
        Ok(now)
    }

    /// Σ over members of `method`'s loss on each member's batch; φ row p for member p, or the
    /// method's own fixed φ when `phi` is None. `pass` is [`Pass::Lookahead`] for training steps
    /// (BatchNorm by batch statistics) and [`Pass::Eval`] for query losses.
    pub fn loss(
        &self,
        params: &Params,
        method: &Method,
        phi: Option<&Tensor>,
        batches: &[Vec<i64>],
        pass: Pass,
        device: Device,
    ) -> Result<Tensor> {
        let population = params.population();
        let index: Vec<i64> = batches.iter().flatten().copied().collect();
        if batches.len() as i64 != population || batches.iter().any(|b| b.len() != batches[0].len()) {
            return Err(Error::shape("unrolled batches", "need one equal-sized batch per member"));
        }
        let logits = self.net.forward_pass(params, &self.data.gather(&index, population, device)?, pass)?;
        let mut total: Option<Tensor> = None;
        for (p, batch) in batches.iter().enumerate() {
            let phi_p = match phi {
                Some(phi) => phi.get(p as i64),
                None => method.target.phi_tensor(device),
            };
            let loss = self.data.loss(method, &phi_p, &logits.get(p as i64), batch)?;
            total = Some(match total {
                Some(t) => t + loss,
                None => loss,
            });
        }
        total.ok_or_else(|| Error::shape("unrolled batches", "no members"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OptimiserSpec;
    use crate::domain::Domain;
    use crate::domain::Labels;
    use crate::label::Bins;
    use crate::model::NetworkSpec;
    use tch::Kind;

    /// d(query loss)/dσ at `sigma` by autograd equals a central finite difference (and does not vanish).
    fn sigma_gradient_matches_finite_differences(query_loss: &dyn Fn(&Tensor) -> Tensor, sigma: f64) {
        let phi = Tensor::from_slice(&[sigma]).reshape([1, 1]).set_requires_grad(true);
        let grad = Tensor::run_backward(&[query_loss(&phi)], &[&phi], false, false)[0].double_value(&[0, 0]);
        let at = |s: f64| query_loss(&Tensor::from_slice(&[s]).reshape([1, 1])).double_value(&[]);
        let fd = (at(sigma + 1e-5) - at(sigma - 1e-5)) / 2e-5;
        assert!(grad.abs() > 1e-6, "the hypergradient should not vanish here");
        assert!((grad - fd).abs() < 1e-6 * (1.0 + fd.abs()), "autograd {grad} vs finite difference {fd}");
    }

    /// d(query loss after K SGD steps)/dσ by autograd equals a central finite difference.
    #[test]
    fn unrolled_hypergradient_matches_finite_differences() {
        let inputs = Tensor::linspace(-1.0, 1.0, 24, (Kind::Double, Device::Cpu)).reshape([12, 2]).sin();
        let labels = Labels::Ordinal(Tensor::from_slice(&[
            0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0,
        ]));
        let domain = Domain::Bins(Bins::parse("0:5").unwrap());
        let data = TrainData { inputs: &inputs, labels: &labels, domain: &domain };
        let net = Network::new(NetworkSpec::Mlp { hidden: vec![6] }, &[2], 6).unwrap();
        let init = net.init(&[3], Device::Cpu).map(|t| t.to_kind(Kind::Double));
        let family: DistributionSpec = "gaussian:sigma=1".parse().unwrap();
        let unroll =
            Unroll { net: &net, data: &data, family: &family, optimiser: OptimiserSpec::sgd(0.5, 0.9) };
        let batches: Vec<Vec<Vec<i64>>> =
            vec![vec![vec![0, 1, 2, 3]], vec![vec![4, 5, 6, 7]], vec![vec![0, 2, 4, 6]]];
        let query_method: crate::train::Method = "onehot".parse().unwrap();
        let query = vec![vec![8i64, 9, 10, 11]];
        let query_loss = |phi: &Tensor| -> Tensor {
            let trained = unroll.train(&init, phi, &batches, None, Device::Cpu).unwrap();
            unroll.loss(&trained, &query_method, None, &query, Pass::Eval, Device::Cpu).unwrap()
        };
        sigma_gradient_matches_finite_differences(&query_loss, 1.3);
    }

    /// The same through BatchNorm: look-ahead steps normalise by batch statistics (differentiated
    /// twice), the query by the running ones.
    #[test]
    fn hypergradient_through_batchnorm_matches_finite_differences() {
        let inputs =
            (Tensor::arange(12 * 16, (Kind::Double, Device::Cpu)) * 0.37).sin().reshape([12, 1, 4, 4]);
        let labels = Labels::Ordinal(Tensor::from_slice(&[
            0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0,
        ]));
        let domain = Domain::Bins(Bins::parse("0:5").unwrap());
        let data = TrainData { inputs: &inputs, labels: &labels, domain: &domain };
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![2], hidden: vec![4], batchnorm: true },
            &[1, 4, 4],
            6,
        )
        .unwrap();
        let init = net.init(&[5], Device::Cpu).map(|t| t.to_kind(Kind::Double));
        let family: DistributionSpec = "gaussian:sigma=1".parse().unwrap();
        let unroll =
            Unroll { net: &net, data: &data, family: &family, optimiser: OptimiserSpec::sgd(0.5, 0.9) };
        let batches: Vec<Vec<Vec<i64>>> = vec![vec![vec![0, 1, 2, 3]], vec![vec![4, 5, 6, 7]]];
        let query_method: crate::train::Method = "onehot".parse().unwrap();
        let query_loss = |phi: &Tensor| -> Tensor {
            let trained = unroll.train(&init, phi, &batches, None, Device::Cpu).unwrap();
            unroll
                .loss(&trained, &query_method, None, &[vec![8i64, 9, 10, 11]], Pass::Eval, Device::Cpu)
                .unwrap()
        };
        sigma_gradient_matches_finite_differences(&query_loss, 1.3);
        assert!(
            init.stats[1].equal(&net.init(&[5], Device::Cpu).stats[1].to_kind(Kind::Double)),
            "look-ahead leaves the running statistics"
        );
    }

    /// The same through P/D/N targets to the metric-aligned multi-label query loss (1 − Smooth-AP):
    /// d/dp_D and d/dp_N by autograd equal central finite differences.
    #[test]
    fn smooth_ap_hypergradient_matches_finite_differences() {
        use crate::label::{DIFFICULT as D, NEGATIVE as N, POSITIVE as P};
        let inputs = Tensor::linspace(-1.0, 1.0, 36, (Kind::Double, Device::Cpu)).reshape([12, 3]).sin();
        let states = [
            P, N, D, N, P, P, D, N, P, P, D, N, N, P, N, P, N, D, N, N, P, D, P, N, P, P, N, N, D, P, P, N,
            N, N, P, D,
        ];
        let labels = Labels::MultiLabel(Tensor::from_slice(&states).reshape([12, 3]));
        let domain = Domain::Classes(crate::domain::ClassSet::new(3));
        let data = TrainData { inputs: &inputs, labels: &labels, domain: &domain };
        let net = Network::new(NetworkSpec::Mlp { hidden: vec![5] }, &[3], 3).unwrap();
        let init = net.init(&[7], Device::Cpu).map(|t| t.to_kind(Kind::Double));
        let family: DistributionSpec = "pdn:p_d=0.3,p_n=0.05".parse().unwrap();
        let unroll =
            Unroll { net: &net, data: &data, family: &family, optimiser: OptimiserSpec::sgd(1.0, 0.0) };
        let batches: Vec<Vec<Vec<i64>>> = vec![vec![vec![0, 1, 2, 3, 4, 5]], vec![vec![2, 3, 4, 5, 6, 7]]];
        let query_method = crate::train::Method {
            target: "pdn:p_d=0,p_n=0".parse().unwrap(),
            loss: crate::train::LossKind::SmoothAp { tau: 0.05 },
        };
        let query = vec![vec![6i64, 7, 8, 9, 10, 11]];
        let query_loss = |phi: &Tensor| -> Tensor {
            let trained = unroll.train(&init, phi, &batches, None, Device::Cpu).unwrap();
            unroll.loss(&trained, &query_method, None, &query, Pass::Eval, Device::Cpu).unwrap()
        };
        let at = [0.3, 0.05];
        let phi = Tensor::from_slice(&at).reshape([1, 2]).set_requires_grad(true);
        let grad = Tensor::run_backward(&[query_loss(&phi)], &[&phi], false, false)[0].reshape([2]);
        for k in 0..2 {
            let shifted = |d: f64| {
                let mut v = at;
                v[k] += d;
                query_loss(&Tensor::from_slice(&v).reshape([1, 2])).double_value(&[])
            };
            let fd = (shifted(1e-6) - shifted(-1e-6)) / 2e-6;
            let g = grad.double_value(&[k as i64]);
            assert!(g.abs() > 1e-6, "coordinate {k}: the hypergradient should not vanish here");
            assert!(
                (g - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "coordinate {k}: autograd {g} vs finite difference {fd}"
            );
        }
    }
}
