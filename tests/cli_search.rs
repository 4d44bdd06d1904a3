//! End-to-end `dldl-meta search` on the small image-folder task: every method runs and writes
//! learned.toml; a run killed with SIGKILL resumes to exactly the φ of an uninterrupted run.
mod common;

use common::{dldl, fixture, path, run_until_killed, text};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
        ("pbt", "method = \"pbt\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 1\ncandidates = 4\ninterval = 2\n"),
        ("es", "method = \"es\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 2\nepisodes_per_step = 2\ncandidates = 4\nperturbation = 0.3\n"),
        ("es-grid", "method = \"es\"\nlearn = \"sigma\"\ngrid = [0.3, 3.0]\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 2\ncandidates = 2\nperturbation = 0.3\n"),
        ("es-knots", "method = \"es\"\nlearn = \"sigma-per-label\"\nknots = [0.0, 2.5, 5.0]\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 2\ncandidates = 2\n"),
        ("online", "method = \"online\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 2\ninterval = 2\nouter_lr = 0.2\n"),
        ("full-range", "method = \"grid\"\nlearn = \"sigma\"\ngrid = [0.5, 2.0]\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 2\ncompare_with = [\"onehot\"]\n[full_range]\nbudget = 0.5\n"),
    ];
    for (name, body) in bodies {
        let meta = study(
            &root,
            name,
            &if body.contains("[full_range]") {
                format!("validation_episodes = 4\n{body}")
            } else {
                format!("{body}{INNER}")
            },
        );
        let out = root.join(format!("run-{name}"));
        let r = dldl(&[
            "search",
            "--task",
            path(&task),
            "--meta",
            &meta,
            "--data-dir",
            path(&data),
            "--out",
            path(&out),
            "--device",
            "cpu",
        ]);
        assert!(r.status.success(), "{name}: {}", text(&r));
        let learned = std::fs::read_to_string(out.join("learned.toml")).unwrap();
        let parsed: toml::Value = toml::from_str(&learned).unwrap();
        assert_eq!(parsed["distribution"]["family"].as_str(), Some("gaussian"), "{name}: {learned}");
        let trials = std::fs::read_to_string(out.join("trials.jsonl")).unwrap();
        assert!(trials.lines().count() >= 4, "{name}: too few trials");
        assert!(text(&r).contains("fixed gaussian:sigma=1"), "{name}: {}", text(&r));
        if name == "full-range" {
            // Each of 2 episodes × 2 points trains on half the 72 training images for the task's 30 steps.
            let trials = std::fs::read_to_string(out.join("trials.jsonl")).unwrap();
            assert_eq!(trials.lines().count(), 4);
            let summary: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
            assert_eq!(summary["compared_on"], "test");
            assert_eq!(summary["others"][0]["evaluated"]["distribution"], "onehot");
            // The query loss is the metric here (MAE of the expected label): its paired difference
            // carries the same mean and the same t interval as the metric's paired test (up to f32 rounding of the loss).
            let close = |a: &serde_json::Value, b: &serde_json::Value| {
                (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-6
            };
            assert!(close(&summary["loss_difference"], &summary["metric_test"]["mean"]), "{summary}");
            assert!(close(&summary["loss_difference_ci95"], &summary["metric_test"]["ci95"]), "{summary}");
            // comparison.jsonl keeps every episode's scores (learned, default, one-hot); the paired
            // differences of summary.json are their means.
            let rows: Vec<serde_json::Value> = std::fs::read_to_string(out.join("comparison.jsonl"))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(rows.len(), 4);
            let metric = |row: &serde_json::Value, m: usize| row["scores"][m]["metric"].as_f64().unwrap();
            for (m, test) in [(0, &summary["metric_test"]), (2, &summary["others"][0]["metric_test"])] {
                let mean = rows.iter().map(|r| metric(r, m) - metric(r, 1)).sum::<f64>() / 4.0;
                assert!((mean - test["mean"].as_f64().unwrap()).abs() < 1e-9, "method {m}: {mean} vs {test}");
            }
            assert_eq!(rows[0]["scores"][1]["distribution"], "gaussian:sigma=1");
            assert_eq!(rows[3]["scores"][2]["distribution"], "onehot");
            assert!(text(&r).contains("Held-out test pool: 4 episodes"), "{}", text(&r));
            // The comparison reports its progress to the end: 3 methods × 4 episodes, 30 steps each.
            assert!(text(&r).contains("comparison: 30/30"), "{}", text(&r));
        }
        if name == "es" {
            // 2 steps × 4 mirrored candidates × 2 episodes; the run ends where Adam ended.
            assert_eq!(trials.lines().count(), 16);
            let state: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap();
            let sigma = state["theta"][0].as_f64().unwrap().exp();
            assert!(
                learned.contains(&format!("sigma = {sigma}"))
                    || (parsed["distribution"]["sigma"].as_float().unwrap() - sigma).abs() < 1e-12,
                "{learned} vs {sigma}"
            );
        }
        if name == "es-grid" {
            // Step 0 scores the 2 grid points on 2 episodes; step 1's mirrored pair is centred on
            // the better one (θ = ln σ; neither side reaches a bound).
            let rows: Vec<serde_json::Value> =
                trials.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            assert_eq!(rows.len(), 2 * 2 + 2 * 2);
            let mean_loss = |step: u64, candidate: u64| {
                let losses: Vec<f64> = (rows.iter())
                    .filter(|r| r["step"] == step && r["candidate"] == candidate)
                    .map(|r| r["query_loss"].as_f64().unwrap())
                    .collect();
                losses.iter().sum::<f64>() / losses.len() as f64
            };
            let phi = |step: u64, candidate: u64| {
                let row = rows.iter().find(|r| r["step"] == step && r["candidate"] == candidate).unwrap();
                row["phi"][0].as_f64().unwrap()
            };
            assert!((phi(0, 0) - 0.3).abs() < 1e-12 && (phi(0, 1) - 3.0).abs() < 1e-12);
            let best = if mean_loss(0, 0) <= mean_loss(0, 1) { phi(0, 0) } else { phi(0, 1) };
            let centre = ((phi(1, 0).ln() + phi(1, 1).ln()) / 2.0).exp();
            assert!((centre - best).abs() < 1e-9, "step 1 centred on {centre}, best grid point {best}");
            assert!(text(&r).contains("(2 outer steps × 2 episodes"), "{}", text(&r));
        }
        if name == "es-knots" {
            // Three σs learned at the knots, one σ per bin (labels 0..=5) written, linear between them.
            let first: serde_json::Value = serde_json::from_str(trials.lines().next().unwrap()).unwrap();
            assert_eq!(first["phi"].as_array().unwrap().len(), 3);
            let sigma: Vec<f64> = parsed["distribution"]["sigma"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_float().unwrap())
                .collect();
            assert_eq!(sigma.len(), 6, "{learned}");
            let state: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap();
            let knot: Vec<f64> =
                state["theta"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap().exp()).collect();
            // Bin 1 lies 0.4 of the way from knot 0 (label 0) to knot 1 (label 2.5); bin 5 is knot 2.
            assert!(
                (sigma[1] - (0.6 * knot[0] + 0.4 * knot[1])).abs() < 1e-9
                    && (sigma[5] - knot[2]).abs() < 1e-9,
                "{sigma:?} from {knot:?}"
            );
        }
        if name == "pbt" {
            // 6 inner steps in rounds of 2: 3 rounds of 4 members; checkpoints removed at the end.
            assert_eq!(std::fs::read_to_string(out.join("trials.jsonl")).unwrap().lines().count(), 12);
            assert!(!std::fs::read_dir(&out).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("population-")));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// Runs `search` with `meta` on the fixture twice: uninterrupted into `whole`, and into `killed`,
/// which is killed with SIGKILL as soon as `ready(killed)` holds and then run again to its end.
/// Returns both directories and the resumed run's output.
fn whole_and_killed(
    root: &Path,
    task: &Path,
    meta: &str,
    ready: impl Fn(&Path) -> bool,
) -> (PathBuf, PathBuf, std::process::Output) {
    let data = root.join("data");
    let args = |out: &Path| -> Vec<String> {
        [
            "search",
            "--task",
            path(task),
            "--meta",
            meta,
            "--data-dir",
            path(&data),
            "--out",
            path(out),
            "--device",
            "cpu",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let whole = root.join("whole");
    let r = dldl(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", text(&r));
    let killed = root.join("killed");
    run_until_killed(&args(&killed), || ready(&killed), Duration::from_secs(60));
    assert!(!killed.join("summary.json").exists(), "the run should have been killed before its end");
    let resumed = dldl(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(resumed.status.success(), "{}", text(&resumed));
    (whole, killed, resumed)
}

#[test]
fn a_killed_search_resumes_to_the_same_phi() {
    let body = format!("method = \"hypergradient\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 8\nepisodes_per_step = 2\nunroll = 2\n{INNER}");
    killed_study_resumes_to_identical_records(
        "search-resume",
        &body,
        &["learned.toml", "trials.jsonl", "summary.json", "comparison.jsonl"],
    );
}

/// A study `body` killed with SIGKILL after its first outer step and rerun ends with `files` equal
/// to an uninterrupted run's.
fn killed_study_resumes_to_identical_records(name: &str, body: &str, files: &[&str]) {
    let (root, task) = fixture(name, 0.01);
    let meta = study(&root, "study", body);
    let (whole, killed, r) = whole_and_killed(&root, &task, &meta, |dir| dir.join("state.json").exists());
    assert!(text(&r).contains("resuming"), "{}", text(&r));
    assert_same_records(&whole, &killed, files);
    let _ = std::fs::remove_dir_all(&root);
}

/// Every record of the resumed run equals the uninterrupted run's, byte for byte (JSON files but
/// for their wall-clock `seconds`).
fn assert_same_records(whole: &Path, killed: &Path, files: &[&str]) {
    for file in files {
        let read = |dir: &Path| {
            std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
        };
        let (mut a, mut b) = (read(whole), read(killed));
        if file.ends_with(".json") {
            let timeless = |text: &str| {
                let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
                value.as_object_mut().unwrap().remove("seconds");
                serde_json::to_string_pretty(&value).unwrap()
            };
            (a, b) = (timeless(&a), timeless(&b));
        }
        assert_eq!(a.lines().count(), b.lines().count(), "{file}: records lost or duplicated");
        for (x, y) in a.lines().zip(b.lines()) {
            assert_eq!(x, y, "{file} differs after the resume");
        }
    }
}

/// ES from a grid: killed after its first outer step (at the earliest, the grid's) and rerun, every
/// record equals the uninterrupted run's.
#[test]
fn a_killed_es_study_resumes_to_identical_records() {
    let body = format!("method = \"es\"\nlearn = \"sigma\"\ngrid = [0.5, 3.0]\nlower = [0.1]\nupper = [10.0]\nouter_steps = 5\nepisodes_per_step = 2\ncandidates = 4\n{INNER}");
    killed_study_resumes_to_identical_records(
        "search-es-resume",
        &body,
        &["learned.toml", "trials.jsonl", "state.json", "summary.json", "comparison.jsonl"],
    );
}

#[test]
fn a_killed_pbt_study_resumes_to_the_same_phi_trajectories() {
    let (root, task) = fixture("search-pbt-resume", 0.01);
    let meta = study(&root, "pbt", "method = \"pbt\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 1\ncandidates = 4\ninterval = 3\nvalidation_episodes = 2\n[inner]\nsteps = 60\nbatch = 4\nlr = 0.01\n");
    let round_two = |dir: &Path| {
        std::fs::read_to_string(dir.join("state.json"))
            .is_ok_and(|s| s.contains("\"step\":2") || s.contains("\"step\": 2"))
    };
    let (whole, killed, _) = whole_and_killed(&root, &task, &meta, round_two);
    let read = |dir: &Path, file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
    assert_eq!(read(&whole, "learned.toml"), read(&killed, "learned.toml"));
    assert_same_records(&whole, &killed, &["trials.jsonl", "lineage.jsonl", "state.json", "summary.json"]);
    assert_eq!(
        read(&whole, "lineage.jsonl").lines().count(),
        19,
        "every round before the last replaces a member"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn bad_study_files_name_the_file_and_field() {
    let (root, task) = fixture("search-bad", 0.01);
    let cases = [
        ("unknown", "method = \"grid\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [1.0]\nouter_steps = 1\nepisodes_per_step = 1\ngrid = [1.0]\nspeed = 3\n", "speed"),
        ("bounds", "method = \"random\"\nlearn = \"sigma\"\nlower = [2.0]\nupper = [1.0]\nouter_steps = 1\nepisodes_per_step = 1\n", "lower"),
        ("family", "method = \"random\"\nlearn = \"pdn\"\nlower = [0.1]\nupper = [0.9]\nouter_steps = 1\nepisodes_per_step = 1\n", "learn"),
        ("es-odd", "method = \"es\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 1\ncandidates = 3\n", "field `candidates`: ES trains mirrored pairs θ ± s·ε: give an even number from 2 to 64, got 3"),
        ("es-large", "method = \"es\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 1\ncandidates = 66\n", "got 66"),
        ("es-scale", "method = \"es\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 1\nperturbation = 0\n", "field `perturbation`: 0: must be finite and > 0"),
    ];
    for (name, body, needle) in cases {
        let meta = study(&root, name, body);
        let r = dldl(&[
            "search",
            "--task",
            path(&task),
            "--meta",
            &meta,
            "--data-dir",
            path(&root.join("data")),
            "--out",
            path(&root.join(name)),
        ]);
        assert_eq!(r.status.code(), Some(1), "{name}: {}", text(&r));
        assert!(text(&r).contains(needle), "{name}: {}", text(&r));
        assert!(!root.join(name).exists(), "{name}: a refused study wrote its run directory");
    }
    let _ = std::fs::remove_dir_all(&root);
}
