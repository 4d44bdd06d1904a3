//! The Rust end of `scripts/optuna_bridge.py`: one long-lived Python process per worker, one JSON
//! request and one JSON reply per line, every reply awaited with a deadline.
use crate::error::{Error, Result};
use crate::rundir::redact::redact;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

/// The bridge's Python source, embedded so that the binary runs from any directory.
const BRIDGE_SOURCE: &str = include_str!("../../../scripts/optuna_bridge.py");

/// Where the bridge runs and how long its storage may take to answer.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// A Python with Optuna (the project's `.venv/bin/python`).
    pub python: PathBuf,
    /// The storage URL (`postgresql://…`, `sqlite:///…`, or `journal:PATH`).
    pub storage: String,
    /// Deadline of the connection and of every reply.
    pub timeout: Duration,
}

/// A running bridge process.
pub struct Bridge {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
    config: BridgeConfig,
}

/// Seconds Python needs to import Optuna, on top of the storage's own deadline.
const STARTUP_ALLOWANCE: Duration = Duration::from_secs(20);

impl Bridge {
    /// Starts the Python process (after checking the storage URL's scheme).
    pub fn start(config: &BridgeConfig) -> Result<Self> {
        check_storage(&config.storage, false)?;
        if !config.python.exists() {
            return Err(Error::data(
                &config.python,
                "no Python here; `make optuna` installs Optuna into .venv, or pass --python",
            ));
        }
        let mut child = Command::new(&config.python)
            .arg("-c")
            .arg(BRIDGE_SOURCE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(&config.python, e))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, replies) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Bridge { child, stdin, replies, config: config.clone() })
    }

    /// The storage URL (with its password, for the bridge only).
    pub fn storage(&self) -> &str {
        &self.config.storage
    }

    /// The storage URL with any password replaced by `***`.
    pub fn storage_label(&self) -> String {
        redact(&self.config.storage)
    }

    /// Sends `request` (an object with `op`) and returns the reply's fields, or the bridge's error.
    pub fn call<T: DeserializeOwned>(&mut self, request: Value) -> Result<T> {
        let op = request.get("op").and_then(Value::as_str).unwrap_or("?").to_string();
        let deadline = if op == "open" {
            self.config.timeout + STARTUP_ALLOWANCE
        } else {
            self.config.timeout + Duration::from_secs(60)
        };
        let line = serde_json::to_string(&request).map_err(|e| self.error(&op, e.to_string()))?;
        writeln!(self.stdin, "{line}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| self.error(&op, format!("the Optuna bridge is gone ({e})")))?;
        let reply = match self.replies.recv_timeout(deadline) {
            Ok(reply) => reply,
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                return Err(self.error(
                    &op,
                    format!(
                        "no answer within {} s; is the storage reachable from this machine?",
                        deadline.as_secs()
                    ),
                ));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(self.error(&op, "the Optuna bridge exited (its error is printed above)".into()))
            }
        };
        let value: Value = serde_json::from_str(&reply)
            .map_err(|e| self.error(&op, format!("unreadable reply {reply:?}: {e}")))?;
        if value.get("ok") != Some(&Value::Bool(true)) {
            let message = value.get("error").and_then(Value::as_str).unwrap_or("failed without a message");
            return Err(self.error(&op, message.to_string()));
        }
        serde_json::from_value(value).map_err(|e| self.error(&op, format!("unexpected reply {reply}: {e}")))
    }

    fn error(&self, op: &str, reason: String) -> Error {
        Error::data(self.storage_label(), format!("Optuna {op}: {}", redact(&reason)))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{{\"op\":\"close\"}}");
        let _ = self.stdin.flush();
        let grace = std::time::Instant::now();
        while grace.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The storage URLs the bridge opens.
pub const STORAGE_FORMS: &str =
    "postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, sqlite:///PATH (sqlite:////ABSOLUTE/PATH) or journal:PATH";

/// Refuses a storage URL of a scheme the bridge cannot open, and, when `existing` (a study is read,
/// never created), one whose file does not exist.
pub fn check_storage(url: &str, existing: bool) -> Result<()> {
    let file = if let Some(path) = url.strip_prefix("journal:") {
        Some(path)
    } else if let Some(path) = url.strip_prefix("sqlite:///") {
        Some(path)
    } else if url.starts_with("postgresql://") || url.starts_with("postgresql+psycopg2://") {
        None
    } else {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        let rule = format!("the scheme `{scheme}` is not supported; give {STORAGE_FORMS}");
        return Err(Error::invalid("storage", redact(url), rule));
    };
    match file {
        Some("") => Err(Error::invalid("storage", url, "names no file; give journal:PATH or sqlite:///PATH")),
        Some(path) if existing && !std::path::Path::new(path).is_file() => Err(Error::data(
            path,
            format!("the storage file of {} does not exist (nothing was created)", redact(url)),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storages_of_other_schemes_or_missing_files_are_refused() {
        let e = check_storage("redis://me:pw@host/0", false).unwrap_err().to_string();
        assert!(
            e.contains("`redis` is not supported") && e.contains("journal:PATH") && !e.contains("pw"),
            "{e}"
        );
        assert!(check_storage("postgresql://me@db/x", true).is_ok());
        assert!(check_storage("journal:/no/such/dir/study.log", false).is_ok());
        let e = check_storage("journal:/no/such/study.log", true).unwrap_err().to_string();
        assert!(e.contains("/no/such/study.log") && e.contains("does not exist"), "{e}");
        assert!(check_storage("sqlite:////no/such.db", true).is_err());
        assert!(check_storage("journal:", false).is_err());
    }
}
