//! A cache of decoded tensors as safetensors files (plus a JSON sidecar), keyed by a hash of what was decoded.
//! A missing or unreadable entry is a miss (rebuilt and overwritten), never wrong data.
use crate::error::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tch::Tensor;

/// A directory of cache entries `NAME-KEY.safetensors` + `NAME-KEY.json`.
#[derive(Debug, Clone)]
pub struct TensorCache {
    dir: PathBuf,
}

/// Named tensors and the metadata stored with them.
pub struct CacheEntry<M> {
    /// The tensors by name.
    pub tensors: HashMap<String, Tensor>,
    /// The sidecar metadata.
    pub meta: M,
}

impl TensorCache {
    /// A cache in `dir` (created on the first store).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        TensorCache { dir: dir.into() }
    }

    /// A 16-hex-digit key: SHA-256 of the parts, separated so that `["ab","c"]` ≠ `["a","bc"]`.
    pub fn key<S: AsRef<str>>(parts: &[S]) -> String {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part.as_ref().as_bytes());
            hasher.update([0u8]);
        }
        hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// Path of the tensor file of entry `name`/`key`.
    pub fn tensor_path(&self, name: &str, key: &str) -> PathBuf {
        self.dir.join(format!("{name}-{key}.safetensors"))
    }

    fn meta_path(&self, name: &str, key: &str) -> PathBuf {
        self.dir.join(format!("{name}-{key}.json"))
    }

    /// The entry, or `None` when it is absent or unreadable (logged).
    pub fn load<M: DeserializeOwned>(&self, name: &str, key: &str) -> Option<CacheEntry<M>> {
        let (tensor_path, meta_path) = (self.tensor_path(name, key), self.meta_path(name, key));
        if !tensor_path.exists() || !meta_path.exists() {
            return None;
        }
        match read_entry(&tensor_path, &meta_path) {
            Ok(entry) => Some(entry),
            Err(e) => {
                tracing::warn!("ignoring unreadable cache entry ({e}); rebuilding it");
                None
            }
        }
    }

    /// Store an entry atomically (write to temporary files, then rename); returns the tensor file's path.
    /// The temporary files are this writer's own, so runs that build the same entry at once (two
    /// searches started together) each rename a complete file into place and neither fails.
    pub fn store<M: Serialize>(
        &self,
        name: &str,
        key: &str,
        tensors: &[(&str, &Tensor)],
        meta: &M,
    ) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let (tensor_path, meta_path) = (self.tensor_path(name, key), self.meta_path(name, key));
        let tmp_tensors = writer_temporary(&tensor_path);
        Tensor::write_safetensors(tensors, &tmp_tensors)?;
        let json = serde_json::to_vec(meta).map_err(|e| Error::data(&meta_path, e.to_string()))?;
        let tmp_meta = writer_temporary(&meta_path);
        std::fs::write(&tmp_meta, json).map_err(|e| Error::io(&tmp_meta, e))?;
        std::fs::rename(&tmp_tensors, &tensor_path).map_err(|e| Error::io(&tensor_path, e))?;
        std::fs::rename(&tmp_meta, &meta_path).map_err(|e| Error::io(&meta_path, e))?;
        Ok(tensor_path)
    }
}

/// `PATH.PID-N.tmp`: a temporary name no other process or thread uses at the same time.
fn writer_temporary(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    PathBuf::from(name)
}

fn read_entry<M: DeserializeOwned>(tensor_path: &Path, meta_path: &Path) -> Result<CacheEntry<M>> {
    let text = std::fs::read(meta_path).map_err(|e| Error::io(meta_path, e))?;
    let meta = serde_json::from_slice(&text).map_err(|e| Error::data(meta_path, e.to_string()))?;
    let tensors = Tensor::read_safetensors(tensor_path)?.into_iter().collect();
    Ok(CacheEntry { tensors, meta })
}

impl<M> CacheEntry<M> {
    /// Remove and return tensor `name`, or an error naming the entry.
    pub fn take(&mut self, name: &str) -> Result<Tensor> {
        self.tensors.remove(name).ok_or_else(|| Error::data(name, "cache entry lacks this tensor"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corrupt_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TensorCache::new(dir.path().join("c"));
        let key = TensorCache::key(&["a", "b"]);
        assert_ne!(key, TensorCache::key(&["ab", ""]));
        assert!(cache.load::<Vec<String>>("x", &key).is_none());
        let t = Tensor::from_slice(&[1f32, 2., 3.]);
        cache.store("x", &key, &[("t", &t)], &vec!["m".to_string()]).unwrap();
        let mut entry = cache.load::<Vec<String>>("x", &key).unwrap();
        assert_eq!(entry.meta, vec!["m".to_string()]);
        assert_eq!(Vec::<f32>::try_from(&entry.take("t").unwrap()).unwrap(), vec![1., 2., 3.]);
        std::fs::write(cache.tensor_path("x", &key), b"garbage").unwrap();
        assert!(cache.load::<Vec<String>>("x", &key).is_none());
    }

    /// Two searches started together build the same entry at once: every writer succeeds, the entry
    /// reads back whole and no temporary file is left (with one shared temporary name, a writer whose
    /// file another had already renamed away failed).
    #[test]
    fn concurrent_writers_of_one_entry_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TensorCache::new(dir.path().join("c"));
        let key = TensorCache::key(&["same"]);
        let values = || Tensor::arange(4096, (tch::Kind::Float, tch::Device::Cpu));
        let write_five_times = || {
            let t = values();
            (0..5).try_for_each(|_| cache.store("x", &key, &[("t", &t)], &0u8).map(|_| ()))
        };
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..8).map(|_| scope.spawn(write_five_times)).collect();
            for writer in writers {
                writer.join().unwrap().unwrap();
            }
        });
        let mut entry = cache.load::<u8>("x", &key).unwrap();
        assert!(entry.take("t").unwrap().equal(&values()));
        let names: Vec<_> =
            std::fs::read_dir(dir.path().join("c")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "only the entry's two files remain: {names:?}");
    }
}
