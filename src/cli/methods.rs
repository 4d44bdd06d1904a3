//! Method arguments of the CLI: the library's method names plus `learned:RUN_DIR`, which reads the
//! φ a search wrote to `RUN_DIR/learned.toml` and refuses it for a task it was not learned on.
use anyhow::{bail, Context};
use dldl_meta::config::TaskSpec;
use dldl_meta::family::DistributionSpec;
use dldl_meta::rundir::records::{Learned, LEARNED_FILE};
use dldl_meta::rundir::CONFIG_FILE;
use dldl_meta::train::{LossKind, Method};
use std::path::Path;

/// Parses `onehot`, `ls:EPS`, `dldl:sigma=S`, `l1`, `dldlv2:…`, any distribution spec, or
/// `learned:RUN_DIR` (KL to the learned distribution; the run's task must have the same label
/// domain and family as `task`).
pub fn parse_method(text: &str, task: &TaskSpec) -> anyhow::Result<Method> {
    let method = parse_for_task(text, task)?;
    task.check_sigma_floor(&method.target)
        .with_context(|| format!("method {text:?} on the label domain of {}", task.path.display()))?;
    Ok(method)
}

fn parse_for_task(text: &str, task: &TaskSpec) -> anyhow::Result<Method> {
    match text.strip_prefix("learned:") {
        Some(dir) => {
            let dir = Path::new(dir);
            let target = learned_distribution(dir)?;
            check_learned_task(dir, task)?;
            Ok(Method { target, loss: LossKind::Kl })
        }
        None => text.parse::<Method>().with_context(|| format!("method {text:?}")),
    }
}

/// The `[distribution]` of `RUN_DIR/learned.toml`, validated.
pub fn learned_distribution(dir: &Path) -> anyhow::Result<DistributionSpec> {
    let file = dir.join(LEARNED_FILE);
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("{}: no learned φ here (run `dldl-meta search` first)", file.display()))?;
    let learned: Learned =
        toml::from_str(&text).with_context(|| format!("{}: not a learned.toml", file.display()))?;
    learned.distribution.validate().with_context(|| file.display().to_string())?;
    Ok(learned.distribution)
}

/// The task recorded in `RUN_DIR/config.json` must have `task`'s label domain and family: a φ learned
/// in degrees means nothing in years.
fn check_learned_task(dir: &Path, task: &TaskSpec) -> anyhow::Result<()> {
    let file = dir.join(CONFIG_FILE);
    let unknown = || {
        format!(
            "{}: cannot tell which task the φ of learned:{} was learned on, so it is not applied; \
             give the distribution itself instead (e.g. gaussian:sigma=2)",
            file.display(),
            dir.display()
        )
    };
    let text = std::fs::read_to_string(&file).with_context(unknown)?;
    let config: serde_json::Value = serde_json::from_str(&text).with_context(unknown)?;
    let (Some(toml), Some(path)) = (config["task_toml"].as_str(), config["task_file"].as_str()) else {
        bail!(unknown())
    };
    let learned_on = TaskSpec::parse(toml, Path::new(path)).with_context(unknown)?;
    let describe =
        |t: &TaskSpec| format!("task {} ({}, {} family)", t.name, t.labels.describe(), t.distribution.name());
    if learned_on.labels != task.labels || learned_on.distribution.name() != task.distribution.name() {
        bail!(
            "learned:{}: its φ was learned on {}, which does not match {}: a learned φ applies only to a task with the same label domain and family",
            dir.display(),
            describe(&learned_on),
            describe(task)
        );
    }
    Ok(())
}
