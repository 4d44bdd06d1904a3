//! The optimiser step of plain training, in place: PyTorch's fused SGD / Adam kernels (one
//! multi-threaded pass per parameter, CPU or CUDA) for the active members of a population.
use super::optimiser::OptimiserState;
use crate::config::{Optimiser, OptimiserSpec};
use crate::error::{Error, Result};
use std::ffi::{c_char, c_int, c_void, CStr};
use tch::Tensor;

extern "C" {
    // csrc/fused_optimizer.cpp
    fn dldl_fused_adam(
        params: *const *mut c_void,
        grads: *const *mut c_void,
        exp_avgs: *const *mut c_void,
        exp_avg_sqs: *const *mut c_void,
        count: c_int,
        step: f64,
        lr: f64,
        beta1: f64,
        beta2: f64,
        weight_decay: f64,
        eps: f64,
        error: *mut c_char,
        error_len: usize,
    ) -> c_int;
    fn dldl_fused_sgd(
        params: *const *mut c_void,
        grads: *const *mut c_void,
        momentum_buffers: *const *mut c_void,
        count: c_int,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
        is_first_step: c_int,
        error: *mut c_char,
        error_len: usize,
    ) -> c_int;
}

/// One optimiser step on `params` and `state` in place, with no autograd graph, for the members
/// (leading axis) marked in `active`; inactive members keep their parameters and buffers. Gives
/// the numbers of [`super::optimiser::step`] followed by a member-wise selection (to float rounding).
/// Lists of different lengths or shapes, or an `active` mask that does not match the members, are
/// errors before anything changes: the shim trusts the lists it is given.
pub fn step_in_place(
    spec: &OptimiserSpec,
    lr: f64,
    params: &[Tensor],
    grads: &[Tensor],
    state: &mut OptimiserState,
    active: &[bool],
) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let buffers = params.iter().chain(&state.first).chain(&state.second);
    if let Some(t) = buffers.clone().find(|t| !t.is_contiguous()) {
        // The fused kernels walk memory linearly: every tensor must be laid out like its gradient.
        return Err(Error::shape(
            "optimiser step",
            format!("parameters and buffers must be contiguous, got strides {:?}", t.stride()),
        ));
    }
    check_lists(params, grads, state, active)?;
    let first_step = state.step == 0;
    state.step += 1;
    let grads: Vec<Tensor> = grads.iter().map(|g| g.contiguous()).collect();
    let decay = spec.decoupled_factor(lr);
    // One view per active member and tensor, all in one call: the kernels vectorise each tensor from
    // its start, so a member's numbers never depend on its position or the population's size.
    let members: Vec<i64> = active.iter().enumerate().filter(|(_, a)| **a).map(|(i, _)| i as i64).collect();
    if members.is_empty() {
        return Ok(());
    }
    let views = |ts: &[Tensor]| {
        members.iter().flat_map(|&m| ts.iter().map(move |t| t.narrow(0, m, 1))).collect::<Vec<_>>()
    };
    let tensors = [views(params), views(&grads), views(&state.first), views(&state.second)];
    if decay != 1.0 {
        // AdamW: decoupled decay of the parameters, then the plain Adam step.
        for p in &tensors[0] {
            _ = p.shallow_clone().f_mul_scalar_(decay)?;
        }
    }
    let [p, g, m, v] = tensors.each_ref().map(|t| handles(t));
    let count = c_int::try_from(p.len()).map_err(|_| {
        Error::shape("optimiser step", format!("{} member tensors, more than one call takes", p.len()))
    })?;
    let mut error = [0 as c_char; 512];
    // SAFETY: each list holds `count` handles of live tensors (`check_lists` made the four
    // lists equally long and `count` fit a C int; tch's `at::Tensor*`, kept alive by `tensors`)
    // for the whole call; the shim catches every C++ exception and writes its message into `error`.
    let failed = unsafe {
        match spec.kind {
            Optimiser::Adam | Optimiser::AdamW => dldl_fused_adam(
                p.as_ptr(),
                g.as_ptr(),
                m.as_ptr(),
                v.as_ptr(),
                count,
                state.step as f64,
                lr,
                spec.beta1,
                spec.beta2,
                spec.l2_decay(),
                spec.eps,
                error.as_mut_ptr(),
                error.len(),
            ),
            Optimiser::Sgd => {
                let first = first_step as c_int;
                dldl_fused_sgd(
                    p.as_ptr(),
                    g.as_ptr(),
                    m.as_ptr(),
                    count,
                    lr,
                    spec.momentum,
                    spec.weight_decay,
                    first,
                    error.as_mut_ptr(),
                    error.len(),
                )
            }
        }
    };
    if failed != 0 {
        // SAFETY: the shim NUL-terminates the message within `error`.
        let message = unsafe { CStr::from_ptr(error.as_ptr()) }.to_string_lossy().into_owned();
        return Err(Error::Torch(tch::TchError::Torch(format!("fused {:?} step: {message}", spec.kind))));
    }
    Ok(())
}

/// The shim reads `count` entries of each list, so a shorter gradient or buffer list would be read
/// past its end: every list must hold one tensor of the parameter's shape per parameter, each
/// parameter one member per `active` flag on its leading axis, and the count must fit a C int.
fn check_lists(params: &[Tensor], grads: &[Tensor], state: &OptimiserState, active: &[bool]) -> Result<()> {
    let fail = |detail: String| Err(Error::shape("optimiser step", detail));
    if c_int::try_from(params.len()).is_err() {
        return fail(format!("{} parameters, more than one call takes", params.len()));
    }
    for (name, list) in [
        ("gradients", grads),
        ("first-moment buffers", &state.first[..]),
        ("second-moment buffers", &state.second[..]),
    ] {
        if list.len() != params.len() {
            return fail(format!("{} {name} for {} parameters", list.len(), params.len()));
        }
        if let Some((i, (p, t))) =
            params.iter().zip(list).enumerate().find(|(_, (p, t))| p.size() != t.size())
        {
            return fail(format!("parameter {i} has shape {:?}, its {name} {:?}", p.size(), t.size()));
        }
    }
    match params.iter().find(|p| p.dim() == 0 || p.size()[0] != active.len() as i64) {
        Some(p) => fail(format!(
            "{} active flags for a parameter of shape {:?} (one flag per member on the leading axis)",
            active.len(),
            p.size()
        )),
        None => Ok(()),
    }
}

/// The tch handles (`at::Tensor*`) of `tensors`, as the shim takes them.
fn handles(tensors: &[Tensor]) -> Vec<*mut c_void> {
    tensors.iter().map(|t| t.as_ptr() as *mut c_void).collect()
}

#[cfg(test)]
mod tests {
    use super::super::optimiser::step;
    use super::*;
    use tch::{Device, Kind};

    /// A population of 3 members with 4·5 parameters each and fixed gradients per step.
    fn setup() -> (Vec<Tensor>, Vec<Vec<Tensor>>) {
        let params = vec![Tensor::linspace(-1.0, 1.0, 60, (Kind::Float, Device::Cpu)).reshape([3, 4, 5])];
        let grads = (0..4)
            .map(|t| {
                vec![(Tensor::linspace(0.0, 7.0, 60, (Kind::Float, Device::Cpu)) + t as f64)
                    .sin()
                    .reshape([3, 4, 5])]
            })
            .collect();
        (params, grads)
    }

    /// Runs both forms for 4 steps with `active` and compares parameters and buffers.
    fn compare(spec: OptimiserSpec, active: &[bool], layout: impl Fn(&Tensor) -> Tensor) {
        let (start, grads) = setup();
        let mut reference: Vec<Tensor> = start.iter().map(|t| t.copy()).collect();
        let mut ref_state = OptimiserState::new(&start);
        let ours: Vec<Tensor> = start.iter().map(|t| layout(&t.copy())).collect();
        let mut state = OptimiserState::new(&ours);
        state.first = state.first.iter().map(&layout).collect();
        state.second = state.second.iter().map(&layout).collect();
        let keep = Tensor::from_slice(active).reshape([3, 1, 1]);
        for (t, g) in grads.iter().enumerate() {
            let (next, next_state) = step(&spec, spec.lr * (1.0 + t as f64), &reference, g, &ref_state);
            reference = next.iter().zip(&reference).map(|(n, r)| n.where_self(&keep, r)).collect();
            ref_state.first =
                next_state.first.iter().zip(&ref_state.first).map(|(n, r)| n.where_self(&keep, r)).collect();
            ref_state.second = next_state
                .second
                .iter()
                .zip(&ref_state.second)
                .map(|(n, r)| n.where_self(&keep, r))
                .collect();
            ref_state.step = next_state.step;
            step_in_place(&spec, spec.lr * (1.0 + t as f64), &ours, g, &mut state, active).unwrap();
        }
        // Buffers that the rule uses: Adam's two moments, SGD's momentum when it has one.
        let mut pairs = vec![(&ours, &reference)];
        match spec.kind {
            Optimiser::Adam | Optimiser::AdamW => {
                pairs.extend([(&state.first, &ref_state.first), (&state.second, &ref_state.second)])
            }
            Optimiser::Sgd if spec.momentum > 0.0 => pairs.push((&state.first, &ref_state.first)),
            Optimiser::Sgd => {}
        }
        for (i, (a, b)) in pairs.into_iter().enumerate() {
            let diff = (&a[0] - &b[0]).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "{:?} {active:?}: tensor {i} differs by {diff}", spec.kind);
        }
        assert_eq!(state.step, 4);
        if !active[1] {
            assert!(ours[0].get(1).equal(&start[0].get(1)), "an inactive member moved");
        }
    }

    #[test]
    fn in_place_equals_the_functional_step() {
        let specs = [
            OptimiserSpec { weight_decay: 0.01, ..OptimiserSpec::adam(0.05) },
            OptimiserSpec { kind: Optimiser::AdamW, weight_decay: 0.1, ..OptimiserSpec::adam(0.05) },
            OptimiserSpec { weight_decay: 0.001, ..OptimiserSpec::sgd(0.02, 0.9) },
            OptimiserSpec::sgd(0.1, 0.0),
        ];
        for spec in specs {
            for active in [[true, true, true], [true, false, true], [false, false, true]] {
                compare(spec, &active, |t| t.shallow_clone());
            }
        }
    }

    #[test]
    fn non_contiguous_parameters_are_an_error_not_wrong_numbers() {
        let (start, grads) = setup();
        let params: Vec<Tensor> =
            start.iter().map(|t| t.transpose(1, 2).contiguous().transpose(1, 2)).collect();
        let mut state = OptimiserState::new(&params);
        let spec = OptimiserSpec::adam(0.1);
        assert!(step_in_place(&spec, spec.lr, &params, &grads[0], &mut state, &[true, true, true]).is_err());
    }

    #[test]
    fn lists_of_other_lengths_or_shapes_are_errors_before_the_shim() {
        let (start, grads) = setup();
        let spec = OptimiserSpec::adam(0.1);
        let two = vec![start[0].copy(), start[0].copy()];
        let mut state = OptimiserState::new(&two);
        let err = step_in_place(&spec, spec.lr, &two, &grads[0], &mut state, &[true; 3]).unwrap_err();
        assert!(err.to_string().contains("1 gradients for 2 parameters"), "{err}");
        let mut short = OptimiserState::new(&start);
        short.second.clear();
        let err = step_in_place(&spec, spec.lr, &start, &grads[0], &mut short, &[true; 3]).unwrap_err();
        assert!(err.to_string().contains("0 second-moment buffers for 1 parameters"), "{err}");
        let mut state = OptimiserState::new(&start);
        let wide = vec![Tensor::zeros([3, 4, 6], (Kind::Float, Device::Cpu))];
        let err = step_in_place(&spec, spec.lr, &start, &wide, &mut state, &[true; 3]).unwrap_err();
        assert!(err.to_string().contains("[3, 4, 6]"), "{err}");
        let err = step_in_place(&spec, spec.lr, &start, &grads[0], &mut state, &[true; 2]).unwrap_err();
        assert!(err.to_string().contains("2 active flags"), "{err}");
        assert_eq!(state.step, 0, "a refused step must not count");
        assert!(start[0].equal(&setup().0[0]), "a refused step must not move the parameters");
    }

    #[test]
    fn errors_inside_the_kernel_come_back_as_messages() {
        // Double gradients for float parameters: libtorch's own check throws inside the shim.
        let (start, grads) = setup();
        let mut state = OptimiserState::new(&start);
        let grads: Vec<Tensor> = grads[0].iter().map(|g| g.to_kind(Kind::Double)).collect();
        let err = step_in_place(&OptimiserSpec::adam(0.1), 0.1, &start, &grads, &mut state, &[true; 3])
            .unwrap_err();
        assert!(matches!(err, Error::Torch(_)) && err.to_string().contains("fused Adam step"), "{err}");
    }
}
