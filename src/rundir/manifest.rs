//! The seal of a finished run: the size and SHA-256 of every record it is judged by, written last,
//! and checked whenever the finished run is opened again, so a damaged file is named, never trusted.
use super::records::MANIFEST_FILE;
use super::RunDir;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One sealed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedFile {
    pub bytes: u64,
    pub sha256: String,
}

/// What [`MANIFEST_FILE`] holds: the sealed files by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub files: BTreeMap<String, SealedFile>,
}

impl RunDir {
    /// Writes the manifest of `files` (those that exist; names inside the directory).
    pub fn seal(&self, files: &[&str]) -> Result<()> {
        let mut manifest = Manifest::default();
        for name in files {
            if self.file(name).exists() {
                manifest.files.insert(name.to_string(), self.fingerprint(name)?);
            }
        }
        self.write_json(MANIFEST_FILE, &manifest)
    }

    /// Checks every file of the manifest (a run finished before manifests existed has none and
    /// passes): a missing, resized or changed file is an error that names it.
    pub fn verify_seal(&self) -> Result<()> {
        if !self.file(MANIFEST_FILE).exists() {
            return Ok(());
        }
        let manifest: Manifest = self.read_json(MANIFEST_FILE)?;
        for (name, sealed) in &manifest.files {
            let path = self.file(name);
            let damaged = |what: String| {
                Error::data(
                    &path,
                    format!("{what} since the run finished ({MANIFEST_FILE} records {} bytes, SHA-256 {}); restore the file, or remove the run directory and run again", sealed.bytes, sealed.sha256),
                )
            };
            if !path.exists() {
                return Err(damaged("is missing".into()));
            }
            let now = self.fingerprint(name)?;
            if now.bytes != sealed.bytes {
                return Err(damaged(format!("has {} bytes", now.bytes)));
            }
            if now.sha256 != sealed.sha256 {
                return Err(damaged("has changed".into()));
            }
        }
        Ok(())
    }

    fn fingerprint(&self, name: &str) -> Result<SealedFile> {
        let path = self.file(name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        Ok(SealedFile { bytes: bytes.len() as u64, sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_cut_or_missing_file_is_named() {
        let root = std::env::temp_dir().join(format!("dldl-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (dir, _) = RunDir::open(&root, &serde_json::json!({})).unwrap();
        dir.write_text("a.txt", "hello").unwrap();
        dir.write_text("b.txt", "world").unwrap();
        dir.seal(&["a.txt", "b.txt", "absent.txt"]).unwrap();
        dir.verify_seal().unwrap();
        dir.write_text("a.txt", "hellO").unwrap();
        let err = dir.verify_seal().unwrap_err().to_string();
        assert!(err.contains("a.txt") && err.contains("has changed"), "{err}");
        dir.write_text("a.txt", "hel").unwrap();
        let err = dir.verify_seal().unwrap_err().to_string();
        assert!(err.contains("a.txt") && err.contains("has 3 bytes"), "{err}");
        dir.write_text("a.txt", "hello").unwrap();
        std::fs::remove_file(dir.file("b.txt")).unwrap();
        let err = dir.verify_seal().unwrap_err().to_string();
        assert!(err.contains("b.txt") && err.contains("is missing"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
