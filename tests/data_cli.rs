//! The data commands through the built binary: `tasks`, `data check` on missing and corrupted files,
//! `data show` on a bad task file and on a missing data directory.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dldl-meta"))
        .args(args)
        .current_dir(dir)
        .env_remove("DLDL_DATA")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn tasks_lists_every_task_and_says_how_to_get_missing_data() {
    let out = run(&repo(), &["tasks", "--data-dir", "/nonexistent/dldl"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for name in [
        "age-utkface",
        "age-abalone",
        "quality-wine",
        "rotation-mnist",
        "pose-mnist",
        "multilabel-mnist",
        "segment-mnist",
    ] {
        assert!(t.contains(name), "{name} missing from:\n{t}");
    }
    assert!(t.contains("117 bins 0..116") && t.contains("1599"), "{t}");
    assert!(
        t.contains("age-utkface: /nonexistent/dldl/utkface is missing") && t.contains("DLDL_DATA"),
        "{t}"
    );
}

#[test]
fn check_names_missing_and_corrupted_files() {
    let scratch = tempfile::tempdir().unwrap();
    let out = run(scratch.path(), &["data", "check"]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("data/mnist/digits/0.json") && t.contains("missing") && t.contains("make data"),
        "{t}"
    );

    let fetched = repo().join("data");
    if !fetched.join("mnist/digits/9.json").exists() || !fetched.join("abalone/abalone.csv").exists() {
        println!("SKIPPED the corrupted-file half: run `make data` first");
        return;
    }
    let digits = scratch.path().join("data/mnist/digits");
    std::fs::create_dir_all(&digits).unwrap();
    for d in 0..10 {
        std::os::unix::fs::symlink(
            fetched.join(format!("mnist/digits/{d}.json")),
            digits.join(format!("{d}.json")),
        )
        .unwrap();
    }
    std::fs::create_dir_all(scratch.path().join("data/abalone")).unwrap();
    let mut csv = std::fs::read(fetched.join("abalone/abalone.csv")).unwrap();
    csv[100] ^= 1; // one flipped bit, same size
    std::fs::write(scratch.path().join("data/abalone/abalone.csv"), &csv).unwrap();
    let out = run(scratch.path(), &["data", "check"]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("abalone.csv") && t.contains("corrupt (sha256"), "{t}");
    std::fs::write(scratch.path().join("data/abalone/abalone.csv"), &csv[..1000]).unwrap();
    let t = text(&run(scratch.path(), &["data", "check"]));
    assert!(t.contains("corrupt (1000 bytes, expected 216900)"), "{t}");
}

#[test]
fn show_reports_bad_task_fields_and_missing_data() {
    let scratch = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(repo().join("tasks/age-utkface.toml")).unwrap();
    let bad = scratch.path().join("bad.toml");
    std::fs::write(&bad, good.replace("batch = 64", "batch = 0")).unwrap();
    let t = text(&run(&repo(), &["data", "show", bad.to_str().unwrap()]));
    assert!(t.contains("bad.toml: field `train.batch`: must be >= 1"), "{t}");
    std::fs::write(&bad, good.replace("[episodes]", "[episodes]\nshots_per_bin = 3")).unwrap();
    let t = text(&run(&repo(), &["data", "show", bad.to_str().unwrap()]));
    assert!(t.contains("bad.toml: field `episodes.shots_per_bin`: unknown field"), "{t}");
    let t = text(&run(&repo(), &["data", "show", "age-utkface", "--data-dir", "/nonexistent/dldl"]));
    assert!(t.contains("/nonexistent/dldl/utkface") && t.contains("DLDL_DATA"), "{t}");
}
