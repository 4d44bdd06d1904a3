//! The files of a run directory: each file's name and the record type stored in it, shared by the
//! commands that write them (`train`, `search`, `fewshot`) and those that read them (`eval`, `report`).
//!
//! Every persisted record is a plain type here, next to its file's name: `train_run.rs`, `search_run.rs`,
//! `fewshot_run.rs` and `trace_run.rs` hold each command's own; this file those of every run directory.
mod fewshot_run;
mod search_run;
mod trace_run;
mod train_run;

pub use fewshot_run::*;
pub use search_run::*;
pub use trace_run::*;
pub use train_run::*;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

// Every run directory.

/// The resolved configuration ([`TrainConfig`], [`SearchConfig`] or [`FewshotConfig`]); every run
/// directory starts with it.
pub const CONFIG_FILE: &str = "config.json";
/// The markdown table a finished run prints (train, search and fewshot).
pub const TABLE_FILE: &str = "summary.md";
/// The size and SHA-256 of every record a finished run is judged by ([`super::manifest::Manifest`]),
/// written last and checked when the finished run is opened again.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Locked by the one process writing the run; holds its [`LockHolder`].
pub const LOCK_FILE: &str = ".lock";
/// One [`SessionRecord`] per start or resume of the run.
pub const SESSIONS_FILE: &str = "sessions.jsonl";

/// The command that wrote a run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunCommand {
    Train,
    Search,
    Fewshot,
}

/// What every [`CONFIG_FILE`] begins with: which command wrote it and on which task.
#[derive(Debug, Clone, Deserialize)]
pub struct RunHeader {
    pub command: RunCommand,
    pub task_file: PathBuf,
    pub task_toml: String,
}

/// [`LOCK_FILE`]: the process that holds (or last held) the run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
}

/// One line of [`SESSIONS_FILE`]: a process that started or resumed the run, with the settings
/// that are not compared between sessions (`rundir::compare::NOT_COMPARED`) as it gave them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub pid: u32,
    pub host: String,
    /// Seconds since the Unix epoch.
    pub started_unix: u64,
    pub resumed: bool,
    /// The process's command line, e.g. to repeat it to finish the run.
    pub command_line: Vec<String>,
    /// Not-compared settings by JSON path (`/task_file`, `/environment/threads`, …).
    pub recorded: serde_json::Map<String, serde_json::Value>,
}
