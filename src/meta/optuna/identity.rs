//! What a study in Optuna's storage is about, stored as its user attributes: the task, the φ space
//! and how φ is scored (compared; a worker that differs is refused), plus the texts the import needs.
use super::phi_params::OptunaSpace;
use crate::config::TrainPlan;
use crate::error::{Error, Result};
use crate::meta::StudySpec;
use serde_json::{json, Map, Value};
use std::path::Path;

/// User-attribute keys of the study.
pub const TASK: &str = "dldl:task";
pub const SPACE: &str = "dldl:space";
pub const EVALUATION: &str = "dldl:evaluation";
pub const TASK_FILE: &str = "dldl:task_file";
pub const TASK_TOML: &str = "dldl:task_toml";
pub const STUDY: &str = "dldl:study";
pub const META_FILE: &str = "dldl:meta_file";

/// The study's user attributes for a worker of `task_file` (its text `task_toml`) and `spec` (read from `meta_file`).
pub fn study_attrs(
    task_name: &str,
    task_file: &Path,
    meta_file: &Path,
    task_toml: &str,
    spec: &StudySpec,
    space: &OptunaSpace,
    inner: &TrainPlan,
) -> Result<Map<String, Value>> {
    let parsed: toml::Value = toml::from_str(task_toml).map_err(|e| Error::data(task_file, e.to_string()))?;
    let task = json!({ "name": task_name, "spec": serde_json::to_value(parsed).map_err(|e| Error::data(task_file, e.to_string()))? });
    let mut attrs = Map::new();
    attrs.insert(TASK.into(), task);
    attrs.insert(SPACE.into(), to_json(space));
    attrs.insert(
        EVALUATION.into(),
        json!({ "episodes": spec.episodes_per_step, "seed": spec.seed, "inner": to_json(inner) }),
    );
    attrs.insert(TASK_FILE.into(), json!(task_file.display().to_string()));
    attrs.insert(TASK_TOML.into(), json!(task_toml));
    attrs.insert(STUDY.into(), to_json(spec));
    attrs.insert(META_FILE.into(), json!(meta_file.display().to_string()));
    Ok(attrs)
}

/// A value of a type that always serialises, as JSON.
fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
