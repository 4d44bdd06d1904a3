//! SGD (momentum, weight decay), Adam and AdamW as pure functions of (parameters, gradients, state):
//! the same code trains ordinary networks and is differentiated through by the outer loop.
use crate::config::{Optimiser, OptimiserSpec};
use tch::Tensor;

/// Moment buffers (SGD: momentum; Adam: first and second moments) and the step count.
#[derive(Debug)]
pub struct OptimiserState {
    pub step: i64,
    pub first: Vec<Tensor>,
    pub second: Vec<Tensor>,
}

impl OptimiserState {
    /// Zero buffers shaped like `params`.
    pub fn new(params: &[Tensor]) -> Self {
        let zeros = || params.iter().map(|p| p.detach().zeros_like()).collect();
        OptimiserState { step: 0, first: zeros(), second: zeros() }
    }

    /// Deep copies of the buffers, so updating in place leaves `self` untouched.
    pub fn deep_copy(&self) -> Self {
        let copy = |v: &Vec<Tensor>| v.iter().map(|t| t.detach().copy()).collect();
        OptimiserState { step: self.step, first: copy(&self.first), second: copy(&self.second) }
    }

    /// The buffers of members `index` (positions on the member axis) as a smaller population.
    pub fn members(&self, index: &[i64]) -> Self {
        let pick = |v: &Vec<Tensor>| {
            v.iter().map(|t| t.index_select(0, &Tensor::from_slice(index).to_device(t.device()))).collect()
        };
        OptimiserState { step: self.step, first: pick(&self.first), second: pick(&self.second) }
    }

    /// A copy cut from the autograd graph.
    pub fn detached(&self) -> Self {
        let cut = |v: &Vec<Tensor>| v.iter().map(|t| t.detach()).collect();
        OptimiserState { step: self.step, first: cut(&self.first), second: cut(&self.second) }
    }
}

/// One update with learning rate `lr`: returns the new parameters and state. Differentiable when
/// the inputs carry a graph (`create_graph` gradients), so K steps can be unrolled.
pub fn step(
    spec: &OptimiserSpec,
    lr: f64,
    params: &[Tensor],
    grads: &[Tensor],
    state: &OptimiserState,
) -> (Vec<Tensor>, OptimiserState) {
    let t = state.step + 1;
    let mut next = OptimiserState { step: t, first: vec![], second: vec![] };
    let mut updated = Vec::with_capacity(params.len());
    let (l2, decay) = (spec.l2_decay(), spec.decoupled_factor(lr));
    for (i, (p, g)) in params.iter().zip(grads).enumerate() {
        let g = if l2 > 0.0 { g + p * l2 } else { g.shallow_clone() };
        let p = if decay != 1.0 { p * decay } else { p.shallow_clone() };
        let p = &p;
        match spec.kind {
            Optimiser::Sgd => {
                let buf = if spec.momentum > 0.0 { &state.first[i] * spec.momentum + &g } else { g };
                updated.push(p - &buf * lr);
                next.first.push(buf);
                next.second.push(state.second[i].shallow_clone());
            }
            Optimiser::Adam | Optimiser::AdamW => {
                let m = &state.first[i] * spec.beta1 + &g * (1.0 - spec.beta1);
                let v = &state.second[i] * spec.beta2 + g.square() * (1.0 - spec.beta2);
                let m_hat = &m / (1.0 - spec.beta1.powi(t as i32));
                let v_hat = &v / (1.0 - spec.beta2.powi(t as i32));
                // 1e-30 keeps the square root differentiable where a gradient is exactly zero.
                updated.push(p - m_hat * lr / ((v_hat + 1e-30).sqrt() + spec.eps));
                next.first.push(m);
                next.second.push(v);
            }
        }
    }
    (updated, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, OptimizerConfig};
    use tch::{Device, Kind};

    /// Our functional update against tch's own optimisers (libtorch's implementations) on a quadratic.
    fn compare(spec: OptimiserSpec, mut reference: nn::Optimizer, w: &Tensor) {
        let target = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]);
        let loss_of = |p: &Tensor| {
            (p - &target).square().sum(Kind::Float) + p.pow_tensor_scalar(4).sum(Kind::Float) * 0.01
        };
        let mut ours = vec![w.detach().copy()];
        let mut state = OptimiserState::new(&ours);
        for _ in 0..25 {
            let leaf = ours[0].detach().set_requires_grad(true);
            let g = Tensor::run_backward(&[loss_of(&leaf)], &[&leaf], false, false);
            let (next, st) = step(&spec, spec.lr, &[leaf.detach()], &[g[0].detach()], &state);
            ours = next;
            state = st;
            reference.zero_grad();
            loss_of(w).backward();
            reference.step();
        }
        let diff = (&ours[0] - w).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{:?}: differs from libtorch by {diff}", spec.kind);
    }

    fn var_store() -> (nn::VarStore, Tensor) {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[0.3f32, 0.1, -0.4, 2.0]));
        (vs, w)
    }

    #[test]
    fn adam_equals_libtorch_adam() {
        let (vs, w) = var_store();
        let spec = OptimiserSpec { weight_decay: 0.01, ..OptimiserSpec::adam(0.05) };
        let opt = nn::Adam { wd: 0.01, ..Default::default() }.build(&vs, 0.05).unwrap();
        compare(spec, opt, &w);
        drop(vs);
    }

    #[test]
    fn adamw_equals_libtorch_adamw() {
        let (vs, w) = var_store();
        let spec = OptimiserSpec { kind: Optimiser::AdamW, weight_decay: 0.1, ..OptimiserSpec::adam(0.05) };
        let opt = nn::AdamW { wd: 0.1, ..Default::default() }.build(&vs, 0.05).unwrap();
        compare(spec, opt, &w);
        drop(vs);
    }

    /// Two AdamW steps against torch.optim.AdamW (torch 2.11):
    /// ```python
    /// import torch
    /// w = torch.tensor([0.3, 0.1, -0.4, 2.0], requires_grad=True)
    /// opt = torch.optim.AdamW([w], lr=0.05, weight_decay=0.1)
    /// for _ in range(2):
    ///     opt.zero_grad(); ((w - torch.tensor([1.0, -2.0, 0.5, 3.0])) ** 2).sum().backward(); opt.step()
    /// print(w.tolist())  # [0.3966318666934967, -0.000712074339389801, -0.2963595986366272, 2.0797362327575684]
    /// ```
    #[test]
    fn adamw_equals_torch_optim_adamw() {
        let spec = OptimiserSpec { kind: Optimiser::AdamW, weight_decay: 0.1, ..OptimiserSpec::adam(0.05) };
        let target = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]);
        let mut w = vec![Tensor::from_slice(&[0.3f32, 0.1, -0.4, 2.0])];
        let mut state = OptimiserState::new(&w);
        for _ in 0..2 {
            let g = (&w[0] - &target) * 2.0;
            (w, state) = step(&spec, spec.lr, &w, &[g], &state);
        }
        let torch = Tensor::from_slice(&[0.396_631_87_f32, -0.000_712_074_34, -0.296_359_6, 2.079_736_2]);
        let diff = (&w[0] - torch).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "differs from torch.optim.AdamW by {diff}");
    }

    #[test]
    fn sgd_momentum_equals_libtorch_sgd() {
        let (vs, w) = var_store();
        let spec = OptimiserSpec { weight_decay: 0.001, ..OptimiserSpec::sgd(0.02, 0.9) };
        let opt = nn::Sgd { momentum: 0.9, wd: 0.001, ..Default::default() }.build(&vs, 0.02).unwrap();
        compare(spec, opt, &w);
        drop(vs);
    }

    #[test]
    fn invalid_settings_are_errors() {
        assert!(OptimiserSpec::adam(0.0).validate().is_err());
        assert!(OptimiserSpec::adam(f64::NAN).validate().is_err());
        assert!(OptimiserSpec::sgd(0.1, 1.0).validate().is_err());
        assert!(OptimiserSpec::sgd(0.1, 0.9).validate().is_ok());
    }
}
