//! The population trainer: P members (each with its seed, method, data pools) trained as one
//! stacked network; NaN members stop with a recorded reason while the others go on.
use super::augment::{flip_where, shift_by};
use super::draws::StepRandomness;
use super::evaluate::{evaluate, EvalSpec};
use super::member::{Member, TrainData};
use super::method::Method;
use super::optimiser::OptimiserState;
use super::snapshot::{SnapshotProgress, SnapshotStore, TrainSnapshot};
use super::update::step_in_place;
use crate::config::TrainPlan;
use crate::error::{Error, Result};
use crate::model::dropout::masks_on;
use crate::model::params::cat_members;
use crate::model::{Network, Params, Pass};
use crate::rundir::records::{CurvePoint, Failure, MemberOutcome};
use tch::{Device, Kind, Tensor};

/// The trained population: kept parameters (best on validation when validated), the optimiser
/// state after the last step (to continue training, e.g. unrolled), and outcomes.
pub struct PopulationRun {
    pub params: Params,
    pub optimiser: OptimiserState,
    pub outcomes: Vec<MemberOutcome>,
}

/// Progress reported while training.
pub enum TrainEvent<'a> {
    /// A snapshot was restored: training continues after `step` steps.
    Resumed {
        step: usize,
    },
    Step {
        step: usize,
        total: usize,
    },
    Evaluated {
        member: usize,
        point: &'a CurvePoint,
    },
    Failed {
        member: usize,
        failure: &'a Failure,
    },
}

/// What every member of a population shares: the network, the data, the inner-loop settings,
/// how validation is evaluated, and the device.
pub struct Trainer<'a> {
    pub net: &'a Network,
    pub data: &'a TrainData<'a>,
    pub spec: &'a TrainPlan,
    pub eval: &'a EvalSpec,
    pub device: Device,
}

/// Trains all `members` together for `t.spec.steps` steps on `t.device`.
pub fn train_population(
    t: &Trainer,
    members: &[Member],
    observer: &mut dyn FnMut(TrainEvent),
) -> Result<PopulationRun> {
    train_segment(t, members, &Segment::whole(t.spec), None, observer)
}

/// Which steps of the whole schedule a call trains, and from what: a run cut into segments (PBT
/// changes φ and copies members between them) equals the uncut run when nothing is changed.
pub struct Segment<'a> {
    /// Steps already taken (batches, flips, shifts and dropout masks of these are skipped).
    pub from: usize,
    /// Train up to (not including) this step; at most the schedule's `steps`.
    pub until: usize,
    /// Parameters and optimiser state after `from` steps (None: fresh members, `from` must be 0).
    pub start: Option<(&'a Params, &'a OptimiserState)>,
}

impl Segment<'_> {
    /// Every step from fresh members.
    pub fn whole(spec: &TrainPlan) -> Segment<'static> {
        Segment { from: 0, until: spec.steps, start: None }
    }
}

/// Snapshots of one population's training: the state to resume from (it replaces the segment's
/// start) and where to save one every `every` steps (0: never) and at the segment's end.
pub struct Checkpoints<'a> {
    pub every: usize,
    pub resume: Option<TrainSnapshot>,
    pub save: &'a mut dyn FnMut(&TrainSnapshot) -> Result<()>,
}

/// [`train_population`] over one [`Segment`]. A member's draws depend on its seed, pool and step
/// only, so it trains the same alone, among others and in any chunk, and resumed from a snapshot.
fn train_segment(
    t: &Trainer,
    members: &[Member],
    segment: &Segment,
    mut checkpoints: Option<&mut Checkpoints>,
    observer: &mut dyn FnMut(TrainEvent),
) -> Result<PopulationRun> {
    let Trainer { net, data, spec, eval, device } = *t;
    spec.validate()?;
    if members.is_empty() {
        return Err(Error::invalid("population", 0, "needs at least one member"));
    }
    if let Some(p) = members.iter().position(|m| m.train.is_empty()) {
        return Err(Error::invalid("training set", format!("member {p}"), "is empty"));
    }
    if spec.shift > 0 && data.inputs.dim() != 4 {
        return Err(Error::invalid(
            "shift",
            spec.shift,
            format!("needs image inputs [N, C, H, W], got {:?}", data.inputs.size()),
        ));
    }
    if segment.from > segment.until
        || segment.until > spec.steps
        || (segment.start.is_none() && segment.from > 0)
    {
        return Err(Error::invalid(
            "segment",
            format!("{}..{}", segment.from, segment.until),
            format!("must lie in 0..={} and start from parameters unless at 0", spec.steps),
        ));
    }
    let mut random = StepRandomness::new(net, spec, members);
    let resume = checkpoints.as_mut().and_then(|c| c.resume.take());
    let resumed = resume.is_some();
    let from = resume.as_ref().map_or(segment.from, |r| r.step);
    if from > segment.until {
        return Err(Error::invalid(
            "snapshot step",
            from,
            format!("lies past the segment's end {}", segment.until),
        ));
    }
    random.skip(spec, from);
    let mut state = match (resume, segment.start) {
        (Some(snapshot), _) => {
            observer(TrainEvent::Resumed { step: from });
            TrainState::resumed(snapshot, random, members, device)?
        }
        (None, Some((params, optimiser))) => {
            let mut state = TrainState::new(params.map(Tensor::shallow_clone), random, members, device);
            state.optimiser = optimiser.deep_copy();
            state
        }
        (None, None) => {
            let seeds: Vec<u64> = members.iter().map(|m| m.seed).collect();
            TrainState::new(net.init(&seeds, device), random, members, device)
        }
    };
    let mut done = from;
    for t in from..segment.until {
        if !state.active.iter().any(|a| *a) {
            break;
        }
        state.step(net, data, members, spec, t, device, observer)?;
        observer(TrainEvent::Step { step: t + 1, total: spec.steps });
        let due = spec.eval_every > 0 && (t + 1) % spec.eval_every == 0;
        if (due || t + 1 == spec.steps) && members.iter().any(|m| !m.val.is_empty()) {
            state.validate(net, data, members, spec, eval, t + 1, observer)?;
        }
        done = t + 1;
        if let Some(c) = checkpoints.as_mut().filter(|c| c.every > 0 && done.is_multiple_of(c.every)) {
            (c.save)(&state.snapshot(done))?;
        }
    }
    // The state at the end, unless a cadence snapshot holds it already or nothing was trained
    // since the snapshot it resumed from.
    let saved = |c: &Checkpoints| c.every > 0 && done.is_multiple_of(c.every) && done > from;
    if let Some(c) = checkpoints.filter(|c| !saved(c) && (done > from || !resumed)) {
        (c.save)(&state.snapshot(done))?;
    }
    Ok(state.finish())
}

/// Bytes of layer outputs (members × batch × [`Network::activation_bytes_per_sample`]) per
/// population at which a CPU trains fastest per member, as measured by `dldl-meta bench` and a
/// replica of the FCN: stacking members pays until the stacked activations leave the caches.
/// For the UTKFace CNN this is P = 18 at B = 8 and P = 2 at B = 64; for the segmentation FCN
/// one member at B = 32 (two are trained together, see [`default_chunk`]).
pub const CPU_ACTIVATION_BYTES_PER_CHUNK: u64 = 32 << 20;

/// Members per population for `net` at batch size `batch` on `device` (0 = all at once): on CPUs
/// as many as keep [`CPU_ACTIVATION_BYTES_PER_CHUNK`], at least two (a lone training member runs
/// its convolutions twice, see [`crate::model::layers::conv_same`]); on GPUs one population.
pub fn default_chunk(net: &Network, batch: i64, device: Device) -> usize {
    match device {
        Device::Cpu => {
            let per_member = batch.max(1) as u64 * net.activation_bytes_per_sample();
            (CPU_ACTIVATION_BYTES_PER_CHUNK / per_member.max(1)).max(2) as usize
        }
        _ => 0,
    }
}

impl Trainer<'_> {
    /// [`default_chunk`] for this trainer's network, batch size and device.
    pub fn default_chunk(&self) -> usize {
        default_chunk(self.net, self.spec.batch, self.device)
    }
}

/// [`train_population`] on consecutive chunks of at most `chunk` members (0 = all at once), joined
/// back in order: the same results, with memory and per-chunk speed bounded (on CPUs small
/// populations can be faster per member than large ones).
pub fn train_chunked(
    t: &Trainer,
    members: &[Member],
    chunk: usize,
    observer: &mut dyn FnMut(usize, TrainEvent),
) -> Result<PopulationRun> {
    train_chunked_segment(t, members, chunk, &Segment::whole(t.spec), observer)
}

/// Steps of a training of `members` in chunks of `chunk` (0 = one chunk), each of `steps`: the
/// total a progress report counts to.
pub fn chunked_total(members: usize, chunk: usize, steps: usize) -> usize {
    steps * if chunk == 0 { 1 } else { members.div_ceil(chunk) }
}

/// Steps done over all chunks when the chunk starting at member `offset` is at `step` of `steps`.
pub fn chunked_done(offset: usize, chunk: usize, step: usize, steps: usize) -> usize {
    (offset / chunk.max(1)) * steps + step
}

/// [`train_chunked`] over one [`Segment`] of the schedule (its start state is cut into the chunks).
pub fn train_chunked_segment(
    t: &Trainer,
    members: &[Member],
    chunk: usize,
    segment: &Segment,
    observer: &mut dyn FnMut(usize, TrainEvent),
) -> Result<PopulationRun> {
    train_chunks(t, members, chunk, segment, None, observer)
}

/// How [`train_chunks_with_snapshots`] keeps each chunk's state: in `store`, every `every` steps.
pub struct ChunkSnapshots<'a> {
    pub every: usize,
    pub store: &'a dyn SnapshotStore,
    /// Training seconds each saved snapshot records (so far this session), added to the resumed ones.
    pub clock: &'a dyn Fn() -> f64,
}

/// [`train_chunked_segment`] that saves each chunk's state to `snapshots.store` every `every`
/// steps and at the chunk's end, and resumes each chunk from its stored snapshot (a finished chunk
/// trains no further). Returns the run and the training seconds recorded by the resumed snapshots.
pub fn train_chunks_with_snapshots(
    t: &Trainer,
    members: &[Member],
    chunk: usize,
    segment: &Segment,
    snapshots: &ChunkSnapshots,
    observer: &mut dyn FnMut(usize, TrainEvent),
) -> Result<(PopulationRun, f64)> {
    let mut earlier = 0.0;
    let run = train_chunks(t, members, chunk, segment, Some((snapshots, &mut earlier)), observer)?;
    Ok((run, earlier))
}

/// The chunk loop of [`train_chunked_segment`], optionally with snapshots (and the resumed
/// seconds they recorded, the largest over the chunks).
fn train_chunks(
    t: &Trainer,
    members: &[Member],
    chunk: usize,
    segment: &Segment,
    mut snapshots: Option<(&ChunkSnapshots, &mut f64)>,
    observer: &mut dyn FnMut(usize, TrainEvent),
) -> Result<PopulationRun> {
    let size = if chunk == 0 { members.len().max(1) } else { chunk };
    let mut runs = vec![];
    for (c, part) in members.chunks(size).enumerate() {
        let offset = c * size;
        let index: Vec<i64> = (offset as i64..(offset + part.len()) as i64).collect();
        let cut =
            segment.start.map(|(params, optimiser)| (params.members(&index), optimiser.members(&index)));
        let part_segment = Segment { start: cut.as_ref().map(|(p, o)| (p, o)), ..*segment };
        let mut observe = |e: TrainEvent| observer(offset, e);
        let run = match snapshots.as_mut() {
            None => train_segment(t, part, &part_segment, None, &mut observe)?,
            Some((s, earlier)) => {
                let resume = s.store.load(c, part, t.device)?;
                let before = resume.as_ref().map_or(0.0, |(_, seconds)| *seconds);
                **earlier = earlier.max(before);
                let mut save =
                    |snapshot: &TrainSnapshot| s.store.save(c, part, snapshot, before + (s.clock)());
                let mut checkpoints = Checkpoints {
                    every: s.every,
                    resume: resume.map(|(snapshot, _)| snapshot),
                    save: &mut save,
                };
                train_segment(t, part, &part_segment, Some(&mut checkpoints), &mut observe)?
            }
        };
        runs.push(run);
    }
    // Each chunk's parameters and buffers are already cut from its graph (`finish`).
    let params =
        Params::concat(&runs.iter().map(|r| r.params.map(Tensor::shallow_clone)).collect::<Vec<_>>())?;
    let buffers = |of: fn(&OptimiserState) -> &Vec<Tensor>| {
        cat_members(&runs.iter().map(|r| of(&r.optimiser).as_slice()).collect::<Vec<_>>())
    };
    let optimiser = OptimiserState {
        step: runs.first().map_or(0, |r| r.optimiser.step),
        first: buffers(|o| &o.first),
        second: buffers(|o| &o.second),
    };
    let outcomes = runs.into_iter().flat_map(|r| r.outcomes).collect();
    Ok(PopulationRun { params, optimiser, outcomes })
}

/// Mutable training state of a population.
struct TrainState {
    params: Params,
    /// Each member's fixed φ on the device, built once.
    phis: Vec<Tensor>,
    optimiser: OptimiserState,
    random: StepRandomness,
    active: Vec<bool>,
    outcomes: Vec<MemberOutcome>,
    loss_sum: Vec<f64>,
    loss_count: Vec<usize>,
    best: Option<Params>,
    best_loss: Vec<f64>,
    since_best: Vec<usize>,
}

impl TrainState {
    fn new(params: Params, random: StepRandomness, members: &[Member], device: Device) -> Self {
        let p = members.len();
        TrainState {
            phis: members.iter().map(|m| m.method.target.phi_tensor(device)).collect(),
            optimiser: OptimiserState::new(&params.tensors),
            params: params.leaves(),
            random,
            active: vec![true; p],
            outcomes: vec![MemberOutcome::default(); p],
            loss_sum: vec![0.0; p],
            loss_count: vec![0; p],
            best: None,
            best_loss: vec![f64::INFINITY; p],
            since_best: vec![0; p],
        }
    }

    /// One optimiser step of every active member.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        net: &Network,
        data: &TrainData,
        members: &[Member],
        spec: &TrainPlan,
        t: usize,
        device: Device,
        observer: &mut dyn FnMut(TrainEvent),
    ) -> Result<()> {
        let population = members.len() as i64;
        let draws = self.random.draw(spec);
        let index: Vec<i64> = draws.batches.iter().flatten().copied().collect();
        let mut x = data.gather(&index, population, device)?;
        if spec.flip {
            x = flip_where(&x, &draws.flips, device);
        }
        if spec.shift > 0 {
            x = shift_by(&x, &draws.offsets, spec.shift);
        }
        let sites = &self.random.sites;
        let masks = (!sites.is_empty()).then(|| masks_on(sites, draws.masks, spec.batch, population, device));
        let batches = draws.batches;
        let logits =
            net.forward_pass(&self.params, &x, Pass::Train { masks: masks.as_ref(), freeze: spec.freeze })?;
        let active: Vec<usize> = (0..members.len()).filter(|&p| self.active[p]).collect();
        let losses = active
            .iter()
            .map(|&p| data.loss(&members[p].method, &self.phis[p], &logits.get(p as i64), &batches[p]))
            .collect::<Result<Vec<Tensor>>>()?;
        let values = Vec::<f64>::try_from(
            &Tensor::stack(&losses, 0).detach().to_device(Device::Cpu).to_kind(Kind::Double),
        )?;
        let mut total: Option<Tensor> = None;
        for ((p, loss), value) in active.into_iter().zip(losses).zip(values) {
            if !value.is_finite() {
                let failure = Failure { step: t + 1, loss: value };
                observer(TrainEvent::Failed { member: p, failure: &failure });
                self.outcomes[p].failure = Some(failure);
                self.active[p] = false;
                continue;
            }
            self.loss_sum[p] += value;
            self.loss_count[p] += 1;
            self.outcomes[p].steps_run += 1;
            total = Some(match total {
                Some(sum) => sum + loss,
                None => loss,
            });
        }
        let Some(total) = total else { return Ok(()) };
        if spec.freeze.is_none() {
            let grads = Tensor::run_backward(&[total], &self.params.tensors, false, false);
            return step_in_place(
                &spec.optimiser_spec(),
                spec.lr_at(t),
                &self.params.tensors,
                &grads,
                &mut self.optimiser,
                &self.active,
            );
        }
        // Only the trainable tensors get gradients and optimiser steps (their buffers are shared views).
        let keep: Vec<usize> =
            net.trainable(spec.freeze).iter().enumerate().filter(|(_, t)| **t).map(|(i, _)| i).collect();
        let pick = |ts: &[Tensor]| keep.iter().map(|&i| ts[i].shallow_clone()).collect::<Vec<_>>();
        let params = pick(&self.params.tensors);
        let grads = Tensor::run_backward(&[total], &params, false, false);
        let mut part = OptimiserState {
            step: self.optimiser.step,
            first: pick(&self.optimiser.first),
            second: pick(&self.optimiser.second),
        };
        step_in_place(&spec.optimiser_spec(), spec.lr_at(t), &params, &grads, &mut part, &self.active)?;
        self.optimiser.step = part.step;
        Ok(())
    }

    /// Evaluates on the validation pools, keeps each member's best parameters, applies patience.
    #[allow(clippy::too_many_arguments)]
    fn validate(
        &mut self,
        net: &Network,
        data: &TrainData,
        members: &[Member],
        spec: &TrainPlan,
        eval: &EvalSpec,
        step: usize,
        observer: &mut dyn FnMut(TrainEvent),
    ) -> Result<()> {
        let methods: Vec<Method> = members.iter().map(|m| m.method.clone()).collect();
        let sets: Vec<Vec<i64>> =
            members.iter().map(|m| if m.val.is_empty() { m.train.clone() } else { m.val.clone() }).collect();
        let current = self.params.detached();
        let metrics = evaluate(net, &current, data, &methods, &sets, eval)?;
        let mut improved = vec![false; members.len()];
        for (p, m) in metrics.into_iter().enumerate() {
            if !self.active[p] || members[p].val.is_empty() {
                continue;
            }
            let loss = m.get("loss").copied().unwrap_or(f64::NAN);
            let point =
                CurvePoint { step, train_loss: self.loss_sum[p] / self.loss_count[p].max(1) as f64, val: m };
            observer(TrainEvent::Evaluated { member: p, point: &point });
            self.outcomes[p].curve.push(point);
            (self.loss_sum[p], self.loss_count[p]) = (0.0, 0);
            if loss < self.best_loss[p] {
                (self.best_loss[p], self.since_best[p], improved[p]) = (loss, 0, true);
                self.outcomes[p].best_step = Some(step);
            } else {
                self.since_best[p] += 1;
                if spec.patience > 0 && self.since_best[p] >= spec.patience {
                    self.active[p] = false;
                }
            }
        }
        let device = self.params.tensors[0].device();
        let mask = member_mask(&improved, device);
        let select =
            |c: &[Tensor], b: &[Tensor]| c.iter().zip(b).map(|(c, b)| select_members(&mask, c, b)).collect();
        self.best = Some(match &self.best {
            Some(best) => Params {
                names: best.names.clone(),
                tensors: select(&current.tensors, &best.tensors),
                stat_names: best.stat_names.clone(),
                stats: select(&current.stats, &best.stats),
            },
            None => current,
        });
        Ok(())
    }

    /// A snapshot after `step` steps, sharing this state's tensors (saved before the next step).
    fn snapshot(&self, step: usize) -> TrainSnapshot {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect();
        let share = |v: &[Tensor]| v.iter().map(Tensor::shallow_clone).collect();
        TrainSnapshot {
            step,
            params: self.params.map(Tensor::shallow_clone),
            optimiser: OptimiserState {
                step: self.optimiser.step,
                first: share(&self.optimiser.first),
                second: share(&self.optimiser.second),
            },
            best: self.best.as_ref().map(|b| b.map(Tensor::shallow_clone)),
            progress: SnapshotProgress {
                active: self.active.clone(),
                outcomes: self.outcomes.clone(),
                loss_sum_bits: bits(&self.loss_sum),
                loss_count: self.loss_count.clone(),
                best_loss_bits: bits(&self.best_loss),
                since_best: self.since_best.clone(),
            },
        }
    }

    /// The state a [`TrainState::snapshot`] recorded, continued with the streams `random`.
    fn resumed(
        snapshot: TrainSnapshot,
        random: StepRandomness,
        members: &[Member],
        device: Device,
    ) -> Result<Self> {
        let TrainSnapshot { params, optimiser, best, progress, .. } = snapshot;
        let p = members.len();
        let lengths = [
            progress.active.len(),
            progress.outcomes.len(),
            progress.loss_sum_bits.len(),
            progress.loss_count.len(),
            progress.best_loss_bits.len(),
            progress.since_best.len(),
        ];
        if params.population() != p as i64 || lengths.iter().any(|&n| n != p) {
            return Err(Error::shape("snapshot", format!("holds another number of members than {p}")));
        }
        let floats = |v: &[u64]| v.iter().map(|b| f64::from_bits(*b)).collect();
        let mut state = TrainState::new(params, random, members, device);
        state.optimiser = optimiser;
        state.best = best;
        state.active = progress.active;
        state.outcomes = progress.outcomes;
        state.loss_sum = floats(&progress.loss_sum_bits);
        state.loss_count = progress.loss_count;
        state.best_loss = floats(&progress.best_loss_bits);
        state.since_best = progress.since_best;
        Ok(state)
    }

    fn finish(self) -> PopulationRun {
        let params = self.best.unwrap_or_else(|| self.params.detached());
        PopulationRun { params, optimiser: self.optimiser.detached(), outcomes: self.outcomes }
    }
}

/// `[P]` booleans on `device`.
fn member_mask(flags: &[bool], device: Device) -> Tensor {
    Tensor::from_slice(flags).to_device(device)
}

/// Member-wise choice: `a` where `mask[p]`, else `b` (tensors `[P, …]`).
fn select_members(mask: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
    let mut shape = vec![-1i64];
    shape.extend(std::iter::repeat_n(1, a.dim() - 1));
    a.where_self(&mask.reshape(shape.as_slice()), b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Domain, Labels};
    use crate::family::DistributionSpec;
    use crate::label::Bins;
    use crate::model::{DropoutSpec, NetworkSpec};
    use crate::train::metrics::OrdinalMetricSpec;

    /// Images whose mean brightness encodes an ordinal label 0..=5, with noise.
    fn toy() -> (Tensor, Labels, Domain) {
        let labels: Vec<f32> = (0..48).map(|i| (i % 6) as f32).collect();
        let y = Tensor::from_slice(&labels);
        let noise = Tensor::linspace(0.0, 47.0 * 64.0, 48 * 64, (Kind::Float, Device::Cpu))
            .sin()
            .reshape([48, 1, 8, 8])
            * 0.3;
        let x = y.reshape([48, 1, 1, 1]) / 5.0 + noise;
        (x, Labels::Ordinal(y), Domain::Bins(Bins::parse("0:5").unwrap()))
    }

    fn spec(steps: usize) -> TrainPlan {
        toml::from_str(&format!("steps = {steps}\nbatch = 6\nlr = 0.01\neval_every = 5\nflip = true\n"))
            .unwrap()
    }

    fn eval_spec() -> EvalSpec {
        EvalSpec {
            chunk: 7,
            ordinal: OrdinalMetricSpec::default(),
            reference: "gaussian:sigma=1".parse::<DistributionSpec>().unwrap(),
        }
    }

    fn member(seed: u64, method: &str, train: Vec<i64>) -> Member {
        Member { seed, method: method.parse().unwrap(), train, val: (36..48).collect() }
    }

    #[test]
    fn population_equals_separate_trainings() {
        population_equals_separate_trainings_with(false);
    }

    /// With BatchNorm, each member's running statistics (kept at its best validation step) too.
    #[test]
    fn population_with_batchnorm_equals_separate_trainings() {
        population_equals_separate_trainings_with(true);
    }

    fn population_equals_separate_trainings_with(batchnorm: bool) {
        let (x, labels, domain) = toy();
        let data = TrainData { inputs: &x, labels: &labels, domain: &domain };
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16], batchnorm },
            &[1, 8, 8],
            6,
        )
        .unwrap();
        let members = vec![
            member(1, "dldl:sigma=1", (0..36).collect()),
            member(2, "onehot", (0..30).collect()),
            member(3, "dldlv2:sigma=2", (6..36).collect()),
        ];
        let (settings, eval) = (spec(20), eval_spec());
        let trainer = Trainer { net: &net, data: &data, spec: &settings, eval: &eval, device: Device::Cpu };
        let together = train_population(&trainer, &members, &mut |_| {}).unwrap();
        for (p, m) in members.iter().enumerate() {
            let alone = train_population(&trainer, std::slice::from_ref(m), &mut |_| {}).unwrap();
            assert_eq!(together.params.stats.len(), if batchnorm { 4 } else { 0 });
            for (a, b) in alone
                .params
                .tensors
                .iter()
                .chain(&alone.params.stats)
                .zip(together.params.tensors.iter().chain(&together.params.stats))
            {
                let diff = (a.get(0) - b.get(p as i64)).abs().max().double_value(&[]);
                assert!(diff < 1e-4, "member {p} differs by {diff}");
            }
            let (ca, cb) = (&alone.outcomes[0].curve, &together.outcomes[p].curve);
            assert_eq!(ca.len(), 4);
            assert!((ca[3].val["mae"] - cb[3].val["mae"]).abs() < 1e-4);
        }
        // Training helps: validation loss falls for the DLDL member.
        let curve = &together.outcomes[0].curve;
        assert!(curve.last().unwrap().val["loss"] < curve[0].val["loss"] + 1e-9);
    }

    /// The largest absolute difference between member `p` of `a` and member `q` of `b`, over every
    /// parameter and running statistic.
    fn member_gap(a: &Params, p: i64, b: &Params, q: i64) -> f64 {
        let (ta, tb) = (a.tensors.iter().chain(&a.stats), b.tensors.iter().chain(&b.stats));
        ta.zip(tb).map(|(s, t)| (s.get(p) - t.get(q)).abs().max().double_value(&[])).fold(0.0, f64::max)
    }

    /// Common random numbers: a member's every draw follows its seed (and pool) and the step, so it
    /// trains bit-identically alone, among 18 others and in any chunking, BatchNorm and dropout on.
    #[test]
    fn a_member_trains_bit_identically_alone_among_others_and_in_any_chunking() {
        tch::set_num_threads(1);
        let (x, labels, domain) = toy();
        let data = TrainData { inputs: &x, labels: &labels, domain: &domain };
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16], batchnorm: true },
            &[1, 8, 8],
            6,
        )
        .unwrap();
        let settings = TrainPlan { shift: 1, dropout: DropoutSpec { fc: 0.5, conv: 0.2 }, ..spec(10) };
        let eval = eval_spec();
        let trainer = Trainer { net: &net, data: &data, spec: &settings, eval: &eval, device: Device::Cpu };
        let target = member(5, "dldl:sigma=1", (0..36).collect());
        let alone = train_population(&trainer, std::slice::from_ref(&target), &mut |_| {}).unwrap();
        let methods = ["onehot", "dldl:sigma=2", "dldlv2:sigma=3"];
        let mut crowd: Vec<Member> =
            (0..18).map(|i| member(20 + i as u64 % 5, methods[i % 3], (i as i64..36).collect())).collect();
        crowd.insert(11, target.clone());
        for chunk in [0, 1, 4, 7] {
            let run = train_chunked(&trainer, &crowd, chunk, &mut |_, _| {}).unwrap();
            assert_eq!(
                member_gap(&alone.params, 0, &run.params, 11),
                0.0,
                "chunks of {chunk}: the member differs from itself alone"
            );
            let (a, b) = (&alone.outcomes[0].curve, &run.outcomes[11].curve);
            assert_eq!(a.len(), b.len());
            for (pa, pb) in a.iter().zip(b) {
                assert_eq!(
                    (pa.train_loss, pa.val["mae"], pa.val["loss"]),
                    (pb.train_loss, pb.val["mae"], pb.val["loss"]),
                    "chunks of {chunk}"
                );
            }
        }
        // Two members with one seed and one φ are one network, dropout and all.
        let twins = vec![target.clone(), target.clone()];
        let run = train_population(&trainer, &twins, &mut |_| {}).unwrap();
        assert_eq!(member_gap(&run.params, 0, &run.params, 1), 0.0);
    }

    /// Members that differ only in φ draw identical batches, flips, shifts and dropout masks.
    #[test]
    fn members_that_differ_only_in_phi_share_every_draw() {
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![4], hidden: vec![8], batchnorm: false },
            &[1, 8, 8],
            6,
        )
        .unwrap();
        let settings = TrainPlan { shift: 1, dropout: DropoutSpec { fc: 0.5, conv: 0.2 }, ..spec(10) };
        let pair = [
            member(5, "dldl:sigma=1", (0..36).collect()),
            member(5, "onehot", (0..36).collect()),
            member(6, "onehot", (0..36).collect()),
        ];
        let mut random = StepRandomness::new(&net, &settings, &pair);
        let b = settings.batch as usize;
        for _ in 0..4 {
            let d = random.draw(&settings);
            assert_eq!(d.batches[0], d.batches[1]);
            assert_ne!(d.batches[0], d.batches[2], "another seed draws other batches");
            assert_eq!(d.flips[..b], d.flips[b..2 * b]);
            assert_eq!(d.offsets[..2 * b], d.offsets[2 * b..4 * b]);
            assert_eq!(d.masks.len(), 2);
            for site in &d.masks {
                let n = site.len() / 3;
                assert_eq!(site[..n], site[n..2 * n]);
                assert_ne!(site[..n], site[2 * n..]);
            }
        }
    }

    #[test]
    fn a_run_cut_into_segments_equals_the_whole_run() {
        for batchnorm in [false, true] {
            a_run_cut_into_segments_equals_the_whole_run_with(batchnorm);
        }
    }

    fn a_run_cut_into_segments_equals_the_whole_run_with(batchnorm: bool) {
        let (x, labels, domain) = toy();
        let data = TrainData { inputs: &x, labels: &labels, domain: &domain };
        let net =
            Network::new(NetworkSpec::Cnn { channels: vec![4], hidden: vec![8], batchnorm }, &[1, 8, 8], 6)
                .unwrap();
        let settings =
            TrainPlan { shift: 1, dropout: DropoutSpec { fc: 0.3, conv: 0.1 }, eval_every: 0, ..spec(12) };
        let eval = eval_spec();
        let trainer = Trainer { net: &net, data: &data, spec: &settings, eval: &eval, device: Device::Cpu };
        let mut members = vec![
            member(3, "dldl:sigma=1", (0..36).collect()),
            member(4, "onehot", (0..30).collect()),
            member(5, "dldl:sigma=2", (6..36).collect()),
        ];
        members.iter_mut().for_each(|m| m.val.clear());
        let whole = train_chunked(&trainer, &members, 2, &mut |_, _| {}).unwrap();
        let first = train_chunked_segment(
            &trainer,
            &members,
            2,
            &Segment { from: 0, until: 5, start: None },
            &mut |_, _| {},
        )
        .unwrap();
        let start = (&first.params, &first.optimiser);
        let rest = train_chunked_segment(
            &trainer,
            &members,
            2,
            &Segment { from: 5, until: 12, start: Some(start) },
            &mut |_, _| {},
        )
        .unwrap();
        for (a, b) in whole
            .params
            .tensors
            .iter()
            .chain(&whole.params.stats)
            .zip(rest.params.tensors.iter().chain(&rest.params.stats))
        {
            assert!(a.equal(b), "segmented training differs");
        }
        for (a, b) in whole.optimiser.second.iter().zip(&rest.optimiser.second) {
            assert!(a.equal(b), "optimiser state differs");
        }
        assert_eq!(rest.optimiser.step, 12);
        // The start state is copied, not trained in place.
        let again = train_chunked_segment(
            &trainer,
            &members,
            2,
            &Segment { from: 5, until: 12, start: Some(start) },
            &mut |_, _| {},
        )
        .unwrap();
        assert!(again.params.tensors[0].equal(&rest.params.tensors[0]));
        let bad = train_chunked_segment(
            &trainer,
            &members,
            2,
            &Segment { from: 3, until: 13, start: Some(start) },
            &mut |_, _| {},
        );
        assert!(bad.err().expect("refused").to_string().contains("segment"));
    }

    #[test]
    fn cpu_chunks_follow_activation_memory_gpus_train_one_population() {
        let (x, labels, domain) = toy();
        let data = TrainData { inputs: &x, labels: &labels, domain: &domain };
        let eval = eval_spec();
        let chunk = |net: &Network, batch: i64, device: Device| {
            let settings = TrainPlan { batch, ..spec(1) };
            Trainer { net, data: &data, spec: &settings, eval: &eval, device }.default_chunk()
        };
        let cnn = Network::new(
            NetworkSpec::Cnn { channels: vec![32, 64, 128], hidden: vec![256], batchnorm: false },
            &[1, 32, 32],
            101,
        )
        .unwrap();
        let fcn =
            Network::new(NetworkSpec::Fcn { channels: vec![32, 64, 64], batchnorm: false }, &[1, 32, 32], 11)
                .unwrap();
        assert_eq!((chunk(&cnn, 8, Device::Cpu), chunk(&cnn, 64, Device::Cpu)), (18, 2));
        assert_eq!((chunk(&fcn, 8, Device::Cpu), chunk(&fcn, 32, Device::Cpu)), (5, 2));
        assert_eq!(chunk(&cnn, 8, Device::Cuda(0)), 0);
    }

    #[test]
    fn same_seed_same_numbers() {
        let (x, labels, domain) = toy();
        let data = TrainData { inputs: &x, labels: &labels, domain: &domain };
        let net = Network::new(NetworkSpec::Mlp { hidden: vec![8] }, &[1, 8, 8], 6);
        assert!(net.is_err(), "an MLP needs flat inputs");
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![4], hidden: vec![8], batchnorm: false },
            &[1, 8, 8],
            6,
        )
        .unwrap();
        let (settings, eval) = (spec(10), eval_spec());
        let trainer = Trainer { net: &net, data: &data, spec: &settings, eval: &eval, device: Device::Cpu };
        let run = || {
            train_population(&trainer, &[member(9, "dldl:sigma=2", (0..36).collect())], &mut |_| {}).unwrap()
        };
        let (a, b) = (run(), run());
        for (x, y) in a.params.tensors.iter().zip(&b.params.tensors) {
            assert!(x.equal(y));
        }
    }

    #[test]
    fn a_nan_member_stops_with_a_reason_and_the_others_go_on() {
        let (x, _, domain) = toy();
        let mut values: Vec<f32> = (0..48).map(|i| (i % 6) as f32).collect();
        values[40] = f32::NAN;
        let labels = Labels::Ordinal(Tensor::from_slice(&values));
        let data = TrainData { inputs: &x, labels: &labels, domain: &domain };
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![4], hidden: vec![8], batchnorm: false },
            &[1, 8, 8],
            6,
        )
        .unwrap();
        let mut healthy = member(1, "dldl:sigma=1", (0..36).collect());
        healthy.val = (0..36).collect();
        let mut sick = member(2, "dldl:sigma=1", vec![40]);
        sick.val = (0..36).collect();
        let mut failures = 0;
        let (settings, eval) = (spec(10), eval_spec());
        let trainer = Trainer { net: &net, data: &data, spec: &settings, eval: &eval, device: Device::Cpu };
        let run = train_population(&trainer, &[healthy, sick], &mut |e| {
            if let TrainEvent::Failed { .. } = e {
                failures += 1
            }
        })
        .unwrap();
        assert_eq!(failures, 1);
        let failure = run.outcomes[1].failure.as_ref().expect("recorded");
        assert_eq!(failure.step, 1);
        assert!(failure.loss.is_nan());
        assert!(run.outcomes[0].failure.is_none());
        assert_eq!(run.outcomes[0].steps_run, 10);
        assert!(run.params.tensors.iter().all(|t| t.get(0).isfinite().all().int64_value(&[]) == 1));
    }
}
