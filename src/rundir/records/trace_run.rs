//! The record of `dldl-meta trace`: a member's first steps, its tensors in `trace.safetensors` and
//! what else the PyTorch replay needs in `trace.json`.
use serde::{Deserialize, Serialize};

/// The tensors of a trace (`.safetensors`), next to its [`TraceRecord`] (`.json`).
pub const TRACE_TENSORS: &str = "trace.safetensors";
pub const TRACE_FILE: &str = "trace.json";

/// What a trace holds besides its tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    pub method: String,
    pub seed: u64,
    /// Steps traced (the first `steps` of the run's schedule, with the schedule's learning rates).
    pub steps: usize,
    /// Per dropout site (tensor `mask{j}`): where it multiplies and its rate.
    pub dropout_sites: Vec<TraceSite>,
}

/// One dropout site of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSite {
    pub layer: usize,
    /// `conv_output` or `linear_input`.
    pub position: String,
    pub rate: f64,
}
