//! End-to-end `dldl-meta fewshot` on the small image-folder task: the tables come out with paired
//! differences, a `learned:RUN` method is read, and a run killed with SIGKILL resumes to the same table.
mod common;

use common::{dldl, fixture, path, text};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn args(task: &Path, data: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> =
        ["fewshot", "--task", path(task), "--data-dir", path(data), "--out", path(out), "--device", "cpu"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn run(a: &[String]) -> std::process::Output {
    dldl(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

const EPISODES: &[&str] = &[
    "--shots",
    "1,2",
    "--episodes",
    "6",
    "--chunk",
    "6",
    "--steps",
    "8",
    "--method",
    "onehot",
    "--method",
    "ls:0.1",
    "--method",
    "dldl:sigma=1",
    "--baseline",
    "onehot",
];

#[test]
fn a_killed_fewshot_run_resumes_to_the_same_table() {
    let (root, task) = fixture("fewshot-resume", 0.01);
    let data = root.join("data");
    let whole = root.join("whole");
    let r = run(&args(&task, &data, &whole, EPISODES));
    assert!(r.status.success(), "{}", text(&r));
    let out = text(&r);
    assert!(out.contains("Paired difference method − onehot"), "{out}");
    let records = std::fs::read_to_string(whole.join("records.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 3 * 2 * 6, "one line per method × shots × episode");

    let killed = root.join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dldl-meta"))
        .args(args(&task, &data, &killed, EPISODES))
        .env("DLDL_THREADS", "1")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let lines = |dir: &Path| {
        std::fs::read_to_string(dir.join("records.jsonl")).map(|t| t.lines().count()).unwrap_or(0)
    };
    while lines(&killed) == 0 && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = lines(&killed);
    assert!(partial > 0 && partial < 36, "the run should have been killed part-way ({partial} records)");
    assert!(!killed.join("fewshot.json").exists());
    let r = run(&args(&task, &data, &killed, EPISODES));
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("resuming"), "{}", text(&r));
    assert_eq!(lines(&killed), 36, "no record lost or duplicated");
    let read = |dir: &Path, f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    assert_eq!(read(&whole, "summary.md"), read(&killed, "summary.md"));
    assert!(read(&whole, "fewshot.json") == read(&killed, "fewshot.json"), "fewshot.json differs");

    // A different configuration in the same directory is refused.
    let mut other = args(&task, &data, &killed, EPISODES);
    other.extend(["--seed".to_string(), "5".to_string()]);
    let r = run(&other);
    assert!(!r.status.success() && text(&r).contains("different configuration"), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn learned_runs_and_training_fractions() {
    let (root, task) = fixture("fewshot-learned", 0.01);
    let data = root.join("data");
    let learned = root.join("search");
    std::fs::create_dir_all(&learned).unwrap();
    std::fs::write(
        learned.join("learned.toml"),
        "# learned\n[distribution]\nfamily = \"gaussian\"\nsigma = 0.7\n",
    )
    .unwrap();
    let config = serde_json::json!({"command": "search", "task_file": path(&task), "task_toml": std::fs::read_to_string(&task).unwrap()});
    std::fs::write(learned.join("config.json"), config.to_string()).unwrap();
    let spec = format!("learned:{}", path(&learned));
    let out = root.join("fraction");
    let r = run(&args(
        &task,
        &data,
        &out,
        &[
            "--train-fraction",
            "0.25,1",
            "--episodes",
            "2",
            "--steps",
            "5",
            "--method",
            "onehot",
            "--method",
            &spec,
        ],
    ));
    assert!(r.status.success(), "{}", text(&r));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("fewshot.json")).unwrap()).unwrap();
    assert_eq!(summary["axis"], "train_fraction");
    assert_eq!(summary["methods"][1][1], "gaussian:sigma=0.7");
    let cell = &summary["cells"][3];
    assert_eq!(cell["records"], 2);
    assert_eq!(cell["vs_baseline"]["mae"]["n"], 2);
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(out.join("records.jsonl")).unwrap().lines().next().unwrap(),
    )
    .unwrap();
    assert_eq!(first["train_size"], 18, "25 % of the 72-example training split");

    let missing = run(&args(
        &task,
        &data,
        &root.join("bad"),
        &["--shots", "1", "--episodes", "1", "--method", "learned:/nonexistent"],
    ));
    assert!(!missing.status.success() && text(&missing).contains("learned.toml"), "{}", text(&missing));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_fraction_leaving_fewer_training_examples_than_labels_is_refused_with_the_numbers() {
    let (root, task) = fixture("fewshot-tiny-fraction", 0.01);
    let (data, out) = (root.join("data"), root.join("tiny"));
    let r =
        run(&args(&task, &data, &out, &["--train-fraction", "0.5,1e-9", "--episodes", "1", "--steps", "2"]));
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    let expected = "invalid train fraction = 0.000000001: leaves 1 of the 72 training examples, fewer than the task's 6 labels; give a fraction of at least 6/72 = 0.0834";
    assert!(text(&r).contains("--train-fraction") && text(&r).contains(expected), "{}", text(&r));
    assert!(!out.exists(), "nothing is written for a refused fraction");
    let _ = std::fs::remove_dir_all(&root);
}
