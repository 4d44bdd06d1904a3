//! Method arguments of the CLI: the library's method names plus `learned:RUN_DIR`, which reads the
//! φ a search wrote to `RUN_DIR/learned.toml`.
use anyhow::Context;
use dldl_meta::label::DistributionSpec;
use dldl_meta::meta::search::{Learned, LEARNED_FILE};
use dldl_meta::train::{LossKind, Method};
use std::path::Path;

/// Parses `onehot`, `ls:EPS`, `dldl:sigma=S`, `l1`, `dldlv2:…`, any distribution spec, or
/// `learned:RUN_DIR` (KL to the learned distribution).
pub fn parse_method(text: &str) -> anyhow::Result<Method> {
    match text.strip_prefix("learned:") {
        Some(dir) => Ok(Method { target: learned_distribution(Path::new(dir))?, loss: LossKind::Kl }),
        None => text.parse::<Method>().with_context(|| format!("method {text:?}")),
    }
}

/// The `[distribution]` of `RUN_DIR/learned.toml`, validated.
pub fn learned_distribution(dir: &Path) -> anyhow::Result<DistributionSpec> {
    let file = dir.join(LEARNED_FILE);
    let text = std::fs::read_to_string(&file).with_context(|| format!("{}: no learned φ here (run `dldl-meta search` first)", file.display()))?;
    let learned: Learned = toml::from_str(&text).with_context(|| format!("{}: not a learned.toml", file.display()))?;
    learned.distribution.validate().with_context(|| file.display().to_string())?;
    Ok(learned.distribution)
}
