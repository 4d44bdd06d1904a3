//! A population's weights and optimiser state between rounds of a round-based learner (PBT, online
//! hypergradient), checkpointed in the run directory so that a killed study resumes exactly.
use super::study::Study;
use crate::error::{Error, Result};
use crate::model::Params;
use crate::rundir::records::SearchState;
use crate::rundir::RunDir;
use crate::train::trainer::{train_chunked_segment, PopulationRun, Segment};
use crate::train::{Member, OptimiserState, Trainer};
use tch::{Device, Tensor};

/// The population after `round` rounds: weights and optimiser buffers.
pub fn checkpoint_file(round: usize) -> String {
    format!("population-{round}.safetensors")
}

/// Writes the population (then renames it into place, so a kill never leaves half a checkpoint).
pub fn save_population(
    dir: &RunDir,
    round: usize,
    params: &Params,
    optimiser: &OptimiserState,
) -> Result<()> {
    let cpu = |t: &Tensor| t.detach().to_device(Device::Cpu);
    let mut named = params.named_on_cpu("param.");
    named.extend(optimiser.first.iter().enumerate().map(|(i, t)| (format!("first.{i}"), cpu(t))));
    named.extend(optimiser.second.iter().enumerate().map(|(i, t)| (format!("second.{i}"), cpu(t))));
    named.push(("step".into(), Tensor::from_slice(&[optimiser.step])));
    let (path, partial) =
        (dir.file(&checkpoint_file(round)), dir.file(&format!("{}.partial", checkpoint_file(round))));
    Tensor::write_safetensors(&named, &partial)
        .map_err(|e| Error::data(&partial, format!("cannot write the population checkpoint: {e}")))?;
    std::fs::rename(&partial, &path).map_err(|e| Error::io(&path, e))
}

/// Removes the checkpoint a round before `round` (state.json, written after it, no longer needs it).
pub fn remove_previous(dir: &RunDir, round: usize) {
    if round > 0 {
        let _ = std::fs::remove_file(dir.file(&checkpoint_file(round - 1)));
    }
}

/// Removes the population checkpoints once every round is recorded (the comparison trains afresh).
pub fn remove_checkpoints(dir: &RunDir) -> Result<()> {
    let root = dir.file("");
    let entries = std::fs::read_dir(&root).map_err(|e| Error::io(&root, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("population-") && (name.ends_with(".safetensors") || name.ends_with(".partial")) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// What one round of a round-based learner trained: the population after it, each member's
/// (query loss, metric) on its query set (NaN for a member that failed), and the inner step it reached.
pub struct Round {
    pub run: PopulationRun,
    pub scores: Vec<(f64, f64)>,
    pub until: usize,
}

impl Study<'_> {
    /// Trains `members` through round `round` (`interval` steps, from the checkpoint the previous
    /// round saved) and scores member i on `query[i]`; adds the member-steps to `state`.
    pub(super) fn train_round(
        &self,
        dir: &RunDir,
        state: &mut SearchState,
        members: &[Member],
        query: &[Vec<i64>],
    ) -> Result<Round> {
        let round = state.step;
        let (from, until) =
            (round * self.spec.interval, ((round + 1) * self.spec.interval).min(self.inner.steps));
        remove_previous(dir, round);
        let start = if round == 0 { None } else { Some(self.load_population(dir, round)?) };
        let eval = self.eval_spec();
        let net = &self.prepared.inner.network;
        let trainer = Trainer { net, data: &self.data, spec: &self.inner, eval: &eval, device: self.device };
        let segment = Segment { from, until, start: start.as_ref().map(|(p, o)| (p, o)) };
        let run =
            train_chunked_segment(&trainer, members, trainer.default_chunk(), &segment, &mut |_, _| {})?;
        state.inner_member_steps += (members.len() * (until - from)) as u64;
        let scores = self.query_scores(&run.params, &run.outcomes, query)?;
        Ok(Round { run, scores, until })
    }

    /// The population a previous round saved with [`save_population`].
    pub(super) fn load_population(&self, dir: &RunDir, round: usize) -> Result<(Params, OptimiserState)> {
        let path = dir.file(&checkpoint_file(round));
        let stored = Tensor::read_safetensors(&path)
            .map_err(|e| Error::data(&path, format!("cannot read the population checkpoint: {e}")))?;
        let net = &self.prepared.inner.network;
        let (names, stat_names) = (net.param_names(), net.stat_names());
        let take = |key: &str| {
            stored.iter().find(|(n, _)| n == key).map(|(_, t)| t.to_device(self.device)).ok_or_else(|| {
                Error::data(
                    &path,
                    format!(
                        "has no tensor `{key}`: delete the run directory's state.json to restart the study"
                    ),
                )
            })
        };
        let tensors = names.iter().map(|n| take(&format!("param.{n}"))).collect::<Result<Vec<_>>>()?;
        let stats = stat_names.iter().map(|n| take(&format!("param.{n}"))).collect::<Result<Vec<_>>>()?;
        let first = (0..names.len()).map(|i| take(&format!("first.{i}"))).collect::<Result<Vec<_>>>()?;
        let second = (0..names.len()).map(|i| take(&format!("second.{i}"))).collect::<Result<Vec<_>>>()?;
        let step = take("step")?.int64_value(&[0]);
        Ok((Params { names, tensors, stat_names, stats }, OptimiserState { step, first, second }))
    }
}
