//! End-to-end `dldl-meta search` on the small image-folder task: every method runs and writes
//! learned.toml; a run killed with SIGKILL resumes to exactly the φ of an uninterrupted run.
mod common;

use common::{dldl, fixture, path, text};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn study(dir: &Path, name: &str, body: &str) -> String {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, body).unwrap();
    file.to_str().unwrap().to_string()
}

const INNER: &str = "validation_episodes = 4\n[inner]\nsteps = 6\nbatch = 4\nlr = 0.01\n";

#[test]
fn every_method_learns_a_valid_phi() {
    let (root, task) = fixture("search-methods", 0.01);
    let data = root.join("data");
    let bodies = [
        ("grid", "method = \"grid\"\nlearn = \"sigma\"\ngrid = [0.5, 1.0, 2.0]\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 2\n"),
        ("random", "method = \"random\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 2\nepisodes_per_step = 2\ncandidates = 3\n"),
        ("cmaes", "method = \"cmaes\"\nlearn = \"sigma-per-label\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 2\nepisodes_per_step = 2\n"),
        ("hyper", "method = \"hypergradient\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 2\nepisodes_per_step = 2\nunroll = 3\n"),
    ];
    for (name, body) in bodies {
        let meta = study(&root, name, &format!("{body}{INNER}"));
        let out = root.join(format!("run-{name}"));
        let r = dldl(&["search", "--task", path(&task), "--meta", &meta, "--data-dir", path(&data), "--out", path(&out), "--device", "cpu"]);
        assert!(r.status.success(), "{name}: {}", text(&r));
        let learned = std::fs::read_to_string(out.join("learned.toml")).unwrap();
        let parsed: toml::Value = toml::from_str(&learned).unwrap();
        assert_eq!(parsed["distribution"]["family"].as_str(), Some("gaussian"), "{name}: {learned}");
        let trials = std::fs::read_to_string(out.join("trials.jsonl")).unwrap();
        assert!(trials.lines().count() >= 4, "{name}: too few trials");
        assert!(text(&r).contains("fixed gaussian:sigma=1"), "{name}: {}", text(&r));
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_killed_search_resumes_to_the_same_phi() {
    let (root, task) = fixture("search-resume", 0.01);
    let data = root.join("data");
    let meta = study(&root, "hg", &format!("method = \"hypergradient\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 8\nepisodes_per_step = 2\nunroll = 2\n{INNER}"));
    let args = |out: &Path| -> Vec<String> {
        ["search", "--task", path(&task), "--meta", &meta, "--data-dir", path(&data), "--out", path(out), "--device", "cpu"].iter().map(|s| s.to_string()).collect()
    };
    let whole = root.join("whole");
    let r = dldl(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", text(&r));

    let killed = root.join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dldl-meta")).args(args(&killed)).env("DLDL_THREADS", "1").spawn().unwrap();
    let started = Instant::now();
    while !killed.join("state.json").exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(killed.join("state.json")).unwrap()).unwrap();
    assert!(state["step"].as_u64().unwrap() < 8, "the run should have been killed before its end");
    let r = dldl(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("resuming"), "{}", text(&r));
    let learned = |dir: &Path| std::fs::read_to_string(dir.join("learned.toml")).unwrap();
    assert_eq!(learned(&whole), learned(&killed));
    let trials = |dir: &Path| std::fs::read_to_string(dir.join("trials.jsonl")).unwrap().lines().count();
    assert_eq!(trials(&whole), trials(&killed), "no trial lost or duplicated");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn bad_study_files_name_the_file_and_field() {
    let (root, task) = fixture("search-bad", 0.01);
    let cases = [
        ("unknown", "method = \"grid\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [1.0]\nouter_steps = 1\nepisodes_per_step = 1\ngrid = [1.0]\nspeed = 3\n", "speed"),
        ("bounds", "method = \"random\"\nlearn = \"sigma\"\nlower = [2.0]\nupper = [1.0]\nouter_steps = 1\nepisodes_per_step = 1\n", "lower"),
        ("family", "method = \"random\"\nlearn = \"pdn\"\nlower = [0.1]\nupper = [0.9]\nouter_steps = 1\nepisodes_per_step = 1\n", "learn"),
    ];
    for (name, body, needle) in cases {
        let meta = study(&root, name, body);
        let r = dldl(&["search", "--task", path(&task), "--meta", &meta, "--data-dir", path(&root.join("data")), "--out", path(&root.join(name))]);
        assert_eq!(r.status.code(), Some(1), "{name}: {}", text(&r));
        assert!(text(&r).contains(needle), "{name}: {}", text(&r));
    }
    let _ = std::fs::remove_dir_all(&root);
}
