//! Run directories: the resolved config, JSON records written atomically, JSONL logs appended
//! and flushed line by line, and the rule that a directory of a different config is never overwritten.
//!
//! Rooms: `records` (every file's name and record type), `lock` (one writer per directory),
//! `compare` (which fields make a different run), `manifest` (the seal of a finished run).
pub mod compare;
pub mod lock;
pub mod manifest;
pub mod records;
pub mod redact;

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use lock::RunLock;
pub use records::CONFIG_FILE;
use records::{SessionRecord, LOCK_FILE, SESSIONS_FILE};
use std::sync::Arc;

/// A run directory on disk; opened for a run, it holds the directory's lock until dropped.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
    _lock: Option<Arc<RunLock>>,
}

impl RunDir {
    /// Opens `root` for a run whose resolved configuration is `config`: creates it when new,
    /// resumes it when its `config.json` is the same, and refuses it when it differs or when
    /// another process holds it. The lock is held as long as the returned directory lives.
    /// Returns the directory and whether it already held this run.
    pub fn open<T: Serialize>(root: &Path, config: &T) -> Result<(RunDir, bool)> {
        let config =
            serde_json::to_value(config).map_err(|e| Error::data(root.join(CONFIG_FILE), e.to_string()))?;
        refuse_foreign(root)?;
        fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        let dir = RunDir { root: root.to_path_buf(), _lock: Some(Arc::new(RunLock::acquire(root)?)) };
        let stored = dir.file(CONFIG_FILE);
        let resumed = stored.exists();
        if resumed {
            let previous: serde_json::Value = dir.read_json(CONFIG_FILE)?;
            let differences = compare::differences(&previous, &config);
            if !differences.is_empty() {
                let list: Vec<String> = differences.iter().map(|d| format!("  {d}")).collect();
                return Err(Error::data(
                    &stored,
                    format!("this run directory holds a run with a different configuration:\n{}\nchoose another --out, or remove the directory", list.join("\n")),
                ));
            }
        } else {
            dir.write_json(CONFIG_FILE, &config)?;
        }
        dir.append_jsonl(SESSIONS_FILE, &session(&config, resumed, std::env::args()))?;
        Ok((dir, resumed))
    }

    /// An existing run directory (for reading).
    pub fn existing(root: &Path) -> Result<RunDir> {
        let dir = RunDir { root: root.to_path_buf(), _lock: None };
        if !dir.file(CONFIG_FILE).exists() {
            return Err(Error::data(root, "is not a run directory (no config.json)"));
        }
        Ok(dir)
    }

    /// An existing run directory to add files to, locked like a run (a running `train` in it, or
    /// another writer, is refused with its pid and host).
    pub fn existing_locked(root: &Path) -> Result<RunDir> {
        let dir = RunDir::existing(root)?;
        Ok(RunDir { _lock: Some(Arc::new(RunLock::acquire(root)?)), ..dir })
    }

    /// Path of `name` inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Writes `value` as pretty JSON through a temporary file and a rename (never half-written).
    pub fn write_json<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        let text =
            serde_json::to_string_pretty(value).map_err(|e| Error::data(self.file(name), e.to_string()))?;
        self.write_text(name, &text)
    }

    /// Writes `text` atomically (temporary file, fsync, rename).
    pub fn write_text(&self, name: &str, text: &str) -> Result<()> {
        let path = self.file(name);
        let tmp = self.file(&format!(".{name}.tmp"));
        let mut f = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(text.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }

    /// Reads JSON written by [`RunDir::write_json`].
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let path = self.file(name);
        let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::data(&path, format!("not valid JSON for this record: {e}")))
    }

    /// Appends one JSON line and flushes it. A torn last line left by a killed writer is cut off
    /// first, so the new line never continues it.
    pub fn append_jsonl<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let path = self.file(name);
        let line = serde_json::to_string(value).map_err(|e| Error::data(&path, e.to_string()))?;
        let mut f = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        cut_torn_tail(&mut f).map_err(|e| Error::io(&path, e))?;
        writeln!(f, "{line}").and_then(|_| f.flush()).map_err(|e| Error::io(&path, e))
    }

    /// Replaces a JSONL file by `values`, one line each, atomically (as [`RunDir::write_text`]).
    pub fn write_jsonl<T: Serialize>(&self, name: &str, values: &[T]) -> Result<()> {
        let lines: Vec<String> = values
            .iter()
            .map(serde_json::to_string)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::data(self.file(name), e.to_string()))?;
        self.write_text(name, &lines.iter().map(|l| format!("{l}\n")).collect::<String>())
    }

    /// All complete lines of a JSONL file (a torn last line from a crash is dropped); none if the
    /// file does not exist. Any other failure to read it (permissions, not UTF-8) is an error.
    pub fn read_jsonl<T: DeserializeOwned>(&self, name: &str) -> Result<Vec<T>> {
        let path = self.file(name);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(Error::data(&path, "is not UTF-8 text (a JSON line per record was expected)"))
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let complete =
            if text.ends_with('\n') { &text[..] } else { &text[..text.rfind('\n').map_or(0, |i| i + 1)] };
        complete
            .lines()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| Error::data(&path, format!("line {}: {e}", i + 1)))
            })
            .collect()
    }
}

/// This process starting (or resuming) a run of `config` with the command line `args`, any
/// password in a storage URL replaced by `***`.
fn session(config: &serde_json::Value, resumed: bool, args: impl Iterator<Item = String>) -> SessionRecord {
    let holder = records::LockHolder::this_process();
    SessionRecord {
        pid: holder.pid,
        host: holder.host,
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        resumed,
        command_line: args.map(|a| redact::redact(&a)).collect(),
        recorded: compare::recorded_part(config),
    }
}

/// Refuses a directory that exists, holds files and is no run directory (nothing of it is touched).
/// A lock and a temporary file of ours mean another process is creating the run at this moment:
/// that is left to the lock, which names the holder.
fn refuse_foreign(root: &Path) -> Result<()> {
    if !root.exists() || root.join(CONFIG_FILE).exists() {
        return Ok(());
    }
    let entries = fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let ours = name == LOCK_FILE || (name.starts_with('.') && name.ends_with(".tmp"));
        if !ours {
            return Err(Error::data(
                root,
                "exists, is not empty and has no config.json; choose another --out",
            ));
        }
    }
    Ok(())
}

/// Truncates `f` after its last newline when it does not end with one (a line torn by a kill).
fn cut_torn_tail(f: &mut fs::File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    f.seek(SeekFrom::Start(len - 1))?;
    f.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut bytes = Vec::new();
    f.seek(SeekFrom::Start(0))?;
    f.read_to_end(&mut bytes)?;
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    f.set_len(keep as u64)
}

pub use crate::stats::null_as_nan;

/// Reads a metric map whose NaN values JSON holds as `null` (see [`null_as_nan`]).
pub fn metrics_null_as_nan<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<crate::rundir::records::Metrics, D::Error> {
    let raw = std::collections::BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(raw.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("dldl-rundir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        p
    }

    #[test]
    fn resumes_same_config_and_refuses_another() {
        let root = temp("refuse");
        let (dir, resumed) = RunDir::open(&root, &serde_json::json!({"seed": 1})).unwrap();
        assert!(!resumed);
        dir.append_jsonl("log.jsonl", &serde_json::json!({"a": 1})).unwrap();
        drop(dir); // releases the lock
        let (_, resumed) = RunDir::open(&root, &serde_json::json!({"seed": 1})).unwrap();
        assert!(resumed);
        let err = RunDir::open(&root, &serde_json::json!({"seed": 2})).unwrap_err();
        assert!(err.to_string().contains("different configuration"), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }

    /// Two processes starting the same new run: the second is told who holds it, even while the
    /// first has written nothing but its lock and a temporary config file.
    #[test]
    fn a_run_being_created_is_refused_with_its_holder() {
        let root = temp("creating");
        fs::create_dir_all(&root).unwrap();
        let _first = RunLock::acquire(&root).unwrap();
        fs::write(root.join(".config.json.tmp"), "{").unwrap();
        let err = RunDir::open(&root, &serde_json::json!({})).unwrap_err().to_string();
        assert!(err.contains("is in use") && err.contains(&format!("pid {}", std::process::id())), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_session_never_records_a_password() {
        let args =
            ["dldl-meta", "search", "--from-optuna", "postgresql://me:s3cret@db/optuna", "--study", "s"];
        let record = session(&serde_json::json!({}), false, args.iter().map(|a| a.to_string()));
        assert_eq!(record.command_line[3], "postgresql://me:***@db/optuna");
        assert!(!serde_json::to_string(&record).unwrap().contains("s3cret"));
    }

    #[test]
    fn only_a_missing_log_means_no_records() {
        let root = temp("unreadable");
        let (dir, _) = RunDir::open(&root, &serde_json::json!({})).unwrap();
        assert!(dir.read_jsonl::<i64>("absent.jsonl").unwrap().is_empty());
        fs::write(dir.file("bytes.jsonl"), b"1\n\xff\xfe\n").unwrap();
        let err = dir.read_jsonl::<i64>("bytes.jsonl").unwrap_err().to_string();
        assert!(err.contains("bytes.jsonl") && err.contains("not UTF-8"), "{err}");
        // A directory where the log should be: reading it fails, and that is not "no records".
        fs::create_dir(dir.file("dir.jsonl")).unwrap();
        let err = dir.read_jsonl::<i64>("dir.jsonl").unwrap_err().to_string();
        assert!(err.contains("dir.jsonl"), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_dropped() {
        let root = temp("torn");
        let (dir, _) = RunDir::open(&root, &serde_json::json!({})).unwrap();
        dir.append_jsonl("t.jsonl", &1).unwrap();
        dir.append_jsonl("t.jsonl", &2).unwrap();
        OpenOptions::new().append(true).open(dir.file("t.jsonl")).unwrap().write_all(b"{\"hal").unwrap();
        assert_eq!(dir.read_jsonl::<i64>("t.jsonl").unwrap(), vec![1, 2]);
        dir.append_jsonl("t.jsonl", &3).unwrap();
        assert_eq!(
            fs::read_to_string(dir.file("t.jsonl")).unwrap(),
            "1\n2\n3\n",
            "the next line does not continue the torn one"
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
