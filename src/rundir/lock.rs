//! One writer per run directory: an exclusive lock on a file inside it, held for the whole run; the
//! lock file names its holder (pid and host), so a second process is refused with both.
use super::records::{LockHolder, LOCK_FILE};
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The held lock of a run directory; released when dropped (or when the process ends, however).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of the run directory `root` (which exists) without waiting, and writes this
    /// process into it; an error names the holder when another process has it.
    pub fn acquire(root: &Path) -> Result<RunLock> {
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::data(
                    root,
                    format!(
                        "is in use: {}; wait for it to end or choose another --out",
                        holder_of(&mut file)
                    ),
                ))
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let holder = serde_json::to_string(&LockHolder::this_process())
            .map_err(|e| Error::data(&path, e.to_string()))?;
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{holder}"))
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(&path, e))?;
        Ok(RunLock { _file: file })
    }
}

/// Who holds the lock, as its lock file says.
fn holder_of(file: &mut File) -> String {
    let mut text = String::new();
    let read = file.rewind().and_then(|_| file.read_to_string(&mut text));
    match read.ok().and_then(|_| serde_json::from_str::<LockHolder>(text.trim()).ok()) {
        Some(h) => format!("another dldl-meta process (pid {} on host {}) is writing to it", h.pid, h.host),
        None => "another dldl-meta process is writing to it (it has not written its pid and host yet)".into(),
    }
}

impl LockHolder {
    /// This process: its pid and the machine's host name.
    pub fn this_process() -> Self {
        LockHolder { pid: std::process::id(), host: host_name() }
    }
}

/// The machine's host name (`unknown` when it cannot be read).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer it is given.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    if rc == 0 && end > 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_and_host_until_it_ends() {
        let root = std::env::temp_dir().join(format!("dldl-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let first = RunLock::acquire(&root).unwrap();
        let err = RunLock::acquire(&root).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id()))
                && err.contains(&format!("host {}", host_name())),
            "{err}"
        );
        drop(first);
        RunLock::acquire(&root).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
    }
}
