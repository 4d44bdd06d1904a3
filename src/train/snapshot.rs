//! A population's whole training state after some step (parameters, optimiser buffers, the best
//! parameters so far, curves and patience counters) as one `.safetensors` file, for resuming a kill.
//!
//! The random streams are not stored: they are keyed by seed and step, so a resumed run skips them
//! to the snapshot's step and continues bit-identically (one thread).
use super::member::Member;
use super::optimiser::OptimiserState;
use crate::error::{Error, Result};
use crate::model::Params;
use crate::rundir::records::MemberOutcome;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// The training state of a population after `step` steps.
pub struct TrainSnapshot {
    pub step: usize,
    pub params: Params,
    pub optimiser: OptimiserState,
    /// Each member's parameters at its best validation so far (None before the first validation).
    pub best: Option<Params>,
    pub progress: SnapshotProgress,
}

/// The per-member bookkeeping of a snapshot. Losses are kept as `f64` bit patterns, so infinities
/// (no validation yet) and every digit survive the JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotProgress {
    pub active: Vec<bool>,
    pub outcomes: Vec<MemberOutcome>,
    pub loss_sum_bits: Vec<u64>,
    pub loss_count: Vec<usize>,
    pub best_loss_bits: Vec<u64>,
    pub since_best: Vec<usize>,
}

/// What a snapshot file's JSON header holds beside its tensors.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotHeader {
    step: usize,
    #[serde(alias = "optimizer_step")]
    optimiser_step: i64,
    /// `seed method` of every member, to refuse a snapshot of other members.
    members: Vec<String>,
    names: Vec<String>,
    stat_names: Vec<String>,
    seconds: f64,
    progress: SnapshotProgress,
}

/// The tensor that carries the JSON header (its UTF-8 bytes) inside the file.
const HEADER_TENSOR: &str = "snapshot.header";

/// Where snapshots are kept: one per chunk of members, replaced as training goes on.
pub trait SnapshotStore {
    /// The snapshot of chunk `chunk`, if one was saved.
    fn load(&self, chunk: usize, members: &[Member], device: Device) -> Result<Option<(TrainSnapshot, f64)>>;
    /// Replaces chunk `chunk`'s snapshot; `seconds`: training time so far, over every session.
    fn save(&self, chunk: usize, members: &[Member], snapshot: &TrainSnapshot, seconds: f64) -> Result<()>;
}

/// Snapshots as files `{prefix}{chunk}.safetensors` in a folder (a run directory).
pub struct SnapshotFiles {
    pub folder: PathBuf,
    pub prefix: String,
}

impl SnapshotFiles {
    /// The file of chunk `chunk`.
    pub fn path(&self, chunk: usize) -> PathBuf {
        self.folder.join(format!("{}{chunk}.safetensors", self.prefix))
    }

    /// Removes every chunk's snapshot (a finished run needs none).
    pub fn remove_all(&self) -> Result<()> {
        let entries = std::fs::read_dir(&self.folder).map_err(|e| Error::io(&self.folder, e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&self.folder, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with(&self.prefix) && name.ends_with(".safetensors") {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(())
    }
}

impl SnapshotStore for SnapshotFiles {
    fn load(&self, chunk: usize, members: &[Member], device: Device) -> Result<Option<(TrainSnapshot, f64)>> {
        let path = self.path(chunk);
        if !path.exists() {
            return Ok(None);
        }
        read(&path, members, device).map(Some)
    }

    fn save(&self, chunk: usize, members: &[Member], snapshot: &TrainSnapshot, seconds: f64) -> Result<()> {
        write(&self.path(chunk), members, snapshot, seconds)
    }
}

fn member_names(members: &[Member]) -> Vec<String> {
    members.iter().map(|m| format!("{} {}", m.seed, m.method)).collect()
}

/// Writes `snapshot` through a temporary file, fsync and rename (a kill leaves the previous one).
fn write(path: &Path, members: &[Member], snapshot: &TrainSnapshot, seconds: f64) -> Result<()> {
    let header = SnapshotHeader {
        step: snapshot.step,
        optimiser_step: snapshot.optimiser.step,
        members: member_names(members),
        names: snapshot.params.names.clone(),
        stat_names: snapshot.params.stat_names.clone(),
        seconds,
        progress: snapshot.progress.clone(),
    };
    let json = serde_json::to_vec(&header).map_err(|e| Error::data(path, e.to_string()))?;
    let mut tensors = snapshot.params.named_on_cpu("now.");
    if let Some(best) = &snapshot.best {
        tensors.extend(best.named_on_cpu("best."));
    }
    for (name, buffers) in [("moment1", &snapshot.optimiser.first), ("moment2", &snapshot.optimiser.second)] {
        let on_cpu = buffers
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("{name}.{i}"), t.detach().to_device(Device::Cpu)));
        tensors.extend(on_cpu);
    }
    tensors.push((HEADER_TENSOR.to_string(), Tensor::from_slice(&json)));
    let tmp = path.with_extension("safetensors.tmp");
    Tensor::write_safetensors(&tensors, &tmp)
        .map_err(|e| Error::data(&tmp, format!("cannot write snapshot: {e}")))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Reads a snapshot written by [`write`] for `members`, onto `device`; returns it with the training
/// seconds it records.
fn read(path: &Path, members: &[Member], device: Device) -> Result<(TrainSnapshot, f64)> {
    let damaged = |why: String| {
        Error::data(path, format!("{why}; remove the file to retrain that chunk of members from step 0"))
    };
    let stored = Tensor::read_safetensors(path).map_err(|e| damaged(format!("cannot read snapshot: {e}")))?;
    let find = |name: &str| -> Result<Tensor> {
        stored
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.to_device(device))
            .ok_or_else(|| damaged(format!("snapshot has no tensor {name}")))
    };
    let bytes = Vec::<u8>::try_from(&find(HEADER_TENSOR)?.to_device(Device::Cpu))
        .map_err(|e| damaged(format!("snapshot header: {e}")))?;
    let header: SnapshotHeader =
        serde_json::from_slice(&bytes).map_err(|e| damaged(format!("snapshot header: {e}")))?;
    if header.members != member_names(members) {
        return Err(damaged(format!(
            "snapshot of members [{}], this run trains [{}] (another --chunk?)",
            header.members.join(", "),
            member_names(members).join(", ")
        )));
    }
    let params = |prefix: &str| -> Result<Params> {
        let take = |names: &[String]| -> Result<Vec<Tensor>> {
            names.iter().map(|n| find(&format!("{prefix}{n}"))).collect()
        };
        Ok(Params {
            names: header.names.clone(),
            tensors: take(&header.names)?,
            stat_names: header.stat_names.clone(),
            stats: take(&header.stat_names)?,
        })
    };
    let buffers = |name: &str| -> Result<Vec<Tensor>> {
        (0..header.names.len()).map(|i| find(&format!("{name}.{i}"))).collect()
    };
    let has_best = stored.iter().any(|(n, _)| n.starts_with("best."));
    let snapshot = TrainSnapshot {
        step: header.step,
        params: params("now.")?,
        optimiser: OptimiserState {
            step: header.optimiser_step,
            first: buffers("moment1")?,
            second: buffers("moment2")?,
        },
        best: if has_best { Some(params("best.")?) } else { None },
        progress: header.progress,
    };
    Ok((snapshot, header.seconds))
}
