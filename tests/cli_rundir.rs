//! End-to-end rules of run directories with the real binary: one writer at a time, nothing created
//! before the inputs are valid, and a refusal that names the fields that differ.
mod common;

use common::{dldl, fixture, path, text};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn train_args<'a>(task: &'a Path, data: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a =
        vec!["train", "--task", path(task), "--data-dir", path(data), "--out", path(out), "--device", "cpu"];
    a.extend_from_slice(extra);
    a
}

/// The output of the binary run with `args`, or `None` (and the process killed) when it runs past `limit`.
fn within(args: &[&str], limit: Duration) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dldl-meta"))
        .args(args)
        .env("DLDL_THREADS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

#[test]
fn a_second_process_on_the_same_run_directory_is_refused_with_the_holders_pid_and_host() {
    let (root, task) = fixture("rundir-lock", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let args = train_args(&task, &data, &out, &["--steps", "1000000"]);
    let mut first = Command::new(env!("CARGO_BIN_EXE_dldl-meta"))
        .args(&args)
        .env("DLDL_THREADS", "1")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !out.join("config.json").exists() && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The second process must end by itself, at once: without the lock it would train as well.
    let second = within(&args, Duration::from_secs(60));
    first.kill().unwrap();
    first.wait().unwrap();
    let second = second.expect("the second process was refused without waiting for the first");
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let message = text(&second);
    assert!(
        message.contains(&format!("pid {}", first.id()))
            && message.contains(&format!("host {}", host.trim())),
        "{message}"
    );
    assert!(message.contains("is in use"), "{message}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_refused_train_command_creates_nothing_and_the_corrected_one_runs() {
    let (root, task) = fixture("rundir-validate-train", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    // A library refusal exits 1, a flag's own rule (checked while parsing) 2.
    let cases: [(&[&str], &str, i32); 2] = [
        (&["--dist", "pdn:p_d=0.3,p_n=0"], "does not apply", 1),
        (&["--seeds", "0"], "--seeds <SEEDS>': must be a whole number ≥ 1", 2),
    ];
    for (extra, needle, code) in cases {
        let r = dldl(&train_args(&task, &data, &out, &[&["--steps", "5"], extra].concat()));
        assert_eq!(r.status.code(), Some(code), "{extra:?}: {}", text(&r));
        assert!(text(&r).contains(needle), "{extra:?}: {}", text(&r));
        assert!(!out.exists(), "{extra:?}: the run directory was created");
    }
    let r = dldl(&train_args(&task, &data, &out, &["--steps", "5", "--dist", "onehot"]));
    assert!(r.status.success(), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_refused_fewshot_or_search_command_creates_nothing_and_the_corrected_one_runs() {
    let (root, task) = fixture("rundir-validate-meta", 0.01);
    let data = root.join("data");
    let out = root.join("fewshot");
    let fewshot = |shots: &str| {
        dldl(&[
            "fewshot",
            "--task",
            path(&task),
            "--data-dir",
            path(&data),
            "--out",
            path(&out),
            "--device",
            "cpu",
            "--shots",
            shots,
            "--episodes",
            "2",
            "--steps",
            "3",
        ])
    };
    let r = fewshot("1000");
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("shots") && !out.exists(), "{}", text(&r));
    let r = fewshot("1");
    assert!(r.status.success(), "{}", text(&r));

    let meta = root.join("study.toml");
    let study = |lr: &str| {
        format!("method = \"grid\"\nlearn = \"sigma\"\ngrid = [1.0]\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 1\nvalidation_episodes = 1\n[inner]\nsteps = 2\nbatch = 4\nlr = {lr}\n")
    };
    let out = root.join("search");
    let search = || {
        dldl(&[
            "search",
            "--task",
            path(&task),
            "--meta",
            path(&meta),
            "--data-dir",
            path(&data),
            "--out",
            path(&out),
            "--device",
            "cpu",
        ])
    };
    std::fs::write(&meta, study("0")).unwrap();
    let r = search();
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("lr") && !out.exists(), "{}", text(&r));
    std::fs::write(&meta, study("0.01")).unwrap();
    let r = search();
    assert!(r.status.success(), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_different_configuration_is_refused_by_name_and_threads_or_path_spelling_are_not_one() {
    let (root, task) = fixture("rundir-differ", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let r = dldl(&train_args(&task, &data, &out, &["--steps", "5", "--dist", "onehot"]));
    assert!(r.status.success(), "{}", text(&r));
    let r = dldl(&train_args(&task, &data, &out, &["--steps", "6", "--dist", "dldl:sigma=1"]));
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    let message = text(&r);
    assert!(message.contains("/train/steps: stored 5, now 6"), "{message}");
    assert!(message.contains(r#"/methods/0: stored "onehot", now "gaussian:sigma=1""#), "{message}");

    // Two threads and another spelling of the same task file: the same run, finished.
    let respelled = root.join(".").join("toy.toml");
    let mut args = vec!["--threads", "2"];
    args.extend(train_args(&respelled, &data, &out, &["--steps", "5", "--dist", "onehot"]));
    let r = dldl(&args);
    assert!(r.status.success() && text(&r).contains("already finished"), "{}", text(&r));
    let sessions = std::fs::read_to_string(out.join("sessions.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(sessions.lines().last().unwrap()).unwrap();
    assert_eq!(sessions.lines().count(), 2, "{sessions}");
    assert_eq!(last["resumed"], true);
    assert_eq!(last["recorded"]["/environment/threads"], 2);
    assert_eq!(last["recorded"]["/task_file"], path(&respelled));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_report_on_a_stopped_fewshot_run_says_it_is_incomplete_and_how_to_finish_it() {
    let (root, task) = fixture("rundir-incomplete", 0.01);
    let data = root.join("data");
    let out = root.join("fewshot");
    let args = [
        "fewshot",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--out",
        path(&out),
        "--device",
        "cpu",
        "--shots",
        "1",
        "--episodes",
        "3",
        "--steps",
        "3",
    ];
    let r = dldl(&args);
    assert!(r.status.success(), "{}", text(&r));
    // What a run killed after its second record leaves: two records, no fewshot.json.
    let records = std::fs::read_to_string(out.join("records.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 6, "2 methods × 3 episodes");
    std::fs::write(
        out.join("records.jsonl"),
        records.lines().take(2).map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    std::fs::remove_file(out.join("fewshot.json")).unwrap();
    let r = dldl(&["report", path(&out), "--out", path(&root.join("report"))]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    let message = text(&r);
    assert!(message.contains("incomplete fewshot run (2 of 6 episode records"), "{message}");
    assert!(
        message.contains(&format!("fewshot --task {}", path(&task)))
            && message.contains(&format!("--out {}", path(&out))),
        "{message}"
    );
    // Moved elsewhere, the directory is resumed under the path the report was given.
    let moved = root.join("moved-fewshot");
    std::fs::rename(&out, &moved).unwrap();
    let r = dldl(&["report", path(&moved), "--out", path(&root.join("report"))]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(
        text(&r).contains(&format!("--out {}", path(&moved)))
            && !text(&r).contains(&format!("--out {}", path(&out))),
        "{}",
        text(&r)
    );
    std::fs::rename(&moved, &out).unwrap();
    let r = dldl(&args);
    assert!(r.status.success() && text(&r).contains("resuming"), "{}", text(&r));
    let r = dldl(&["report", path(&out), "--out", path(&root.join("report"))]);
    assert!(r.status.success(), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}
