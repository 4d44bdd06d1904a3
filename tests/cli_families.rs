//! The Gaussian-mixture multi-label family and the 2-D pose family end to end on small copies of the
//! digit tasks: every learner learns (σ, p_D, p_N) over the co-occurrence distance and (σ₁, σ₂); bad
//! distance files are refused before anything is written.
mod common;

use common::{dldl, path, text};
use dldl_meta::config::TaskSpec;
use dldl_meta::data::{probe_task, Availability, DataRoots};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled digit task `name` with 300 examples and a small network, in `root`; `None` (and a
/// line saying why) when MNIST has not been fetched.
fn small_digit_task(root: &Path, name: &str) -> Option<PathBuf> {
    let original = std::fs::read_to_string(repo().join(format!("tasks/{name}.toml"))).unwrap();
    let small = original
        .replace("count = 10000", "count = 300")
        .replace("widths = [32, 64, 128]", "widths = [4, 8]")
        .replace("fc = [256]", "fc = [16]")
        .replace("epochs = 10", "steps = 4")
        .replace("batch = 64", "batch = 8")
        .replace("blocks = 100", "blocks = 10");
    std::fs::create_dir_all(root).unwrap();
    let task = root.join(format!("{name}-small.toml"));
    std::fs::write(&task, small).unwrap();
    let external = std::env::var_os("DLDL_DATA").map(PathBuf::from);
    match probe_task(&TaskSpec::load(&task).unwrap(), &DataRoots::under(&repo(), external)) {
        Ok(Availability::Available { .. }) => Some(task),
        other => {
            println!("SKIPPED {name} end-to-end: MNIST unavailable ({other:?}); run `make data`");
            None
        }
    }
}

/// The six learners, each with one or two outer steps of a few candidates.
const LEARNERS: [(&str, &str); 6] = [
    ("grid", "method = \"grid\"\nselect_by = \"metric\"\nouter_steps = 1\nepisodes_per_step = 1\n"),
    ("random", "method = \"random\"\nouter_steps = 1\nepisodes_per_step = 1\ncandidates = 2\n"),
    ("cmaes", "method = \"cmaes\"\nouter_steps = 1\nepisodes_per_step = 1\ncandidates = 3\n"),
    (
        "hypergradient",
        "method = \"hypergradient\"\nouter_steps = 2\nepisodes_per_step = 1\nunroll = 2\nouter_lr = 0.2\n",
    ),
    ("pbt", "method = \"pbt\"\nouter_steps = 1\nepisodes_per_step = 1\ncandidates = 4\ninterval = 2\n"),
    ("online", "method = \"online\"\nouter_steps = 1\nepisodes_per_step = 1\ninterval = 2\nouter_lr = 0.2\n"),
];

/// Runs `search` with every learner (`grid` gets `grid`) and the study `rest`; returns each
/// learner's name, run directory, printed output and learned `[distribution]`.
fn search_with_every_learner(
    root: &Path,
    task: &Path,
    grid: &str,
    rest: &str,
) -> Vec<(String, PathBuf, String, toml::Value)> {
    LEARNERS
        .iter()
        .map(|(name, body)| {
            let meta = root.join(format!("{name}.toml"));
            let grid = if *name == "grid" { grid } else { "" };
            std::fs::write(&meta, format!("{body}{grid}{rest}")).unwrap();
            let out = root.join(format!("run-{name}"));
            let r = dldl(&[
                "search",
                "--task",
                path(task),
                "--meta",
                path(&meta),
                "--out",
                path(&out),
                "--device",
                "cpu",
            ]);
            assert!(r.status.success(), "{name}: {}", text(&r));
            let learned: toml::Value =
                toml::from_str(&std::fs::read_to_string(out.join("learned.toml")).unwrap()).unwrap();
            (name.to_string(), out, text(&r), learned["distribution"].clone())
        })
        .collect()
}

/// φ after the hypergradient's second outer step.
fn second_phi(out: &Path) -> Vec<f64> {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap();
    state["history"][1]["phi"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

const MIXTURE: &str = "learn = \"mixture\"\nlower = [0.05, 0.01, 0.001]\nupper = [4.0, 0.95, 0.9]\nvalidation_episodes = 2\nseed = 0\n\
[distribution]\nfamily = \"mixture\"\nsigma = 0.4\np_d = 0.3\np_n = 0.01\ndistance = \"cooccurrence\"\n[full_range]\nbudget = 0.5\n";

#[test]
fn every_learner_learns_the_mixture_over_cooccurrence() {
    let root = std::env::temp_dir().join(format!("dldl-mixture-{}", std::process::id()));
    let Some(task) = small_digit_task(&root, "multilabel-mnist") else { return };
    let grid = "grid = [[0.3, 0.3, 0.01], [0.6, 0.5, 0.05]]\n";
    for (name, out, printed, d) in search_with_every_learner(&root, &task, grid, MIXTURE) {
        assert_eq!(
            (d["family"].as_str(), d["distance"].as_str()),
            (Some("mixture"), Some("cooccurrence")),
            "{name}: {d}"
        );
        let (sigma, p_d, p_n) =
            (d["sigma"].as_float().unwrap(), d["p_d"].as_float().unwrap(), d["p_n"].as_float().unwrap());
        assert!(sigma > 0.0 && 1.0 > p_d && p_d > p_n && p_n > 0.0, "{name}: {d}");
        // The resolved co-occurrence is kept with the run: 10 labels, symmetric, zero diagonal.
        let csv = std::fs::read_to_string(out.join("label-distance.csv")).unwrap();
        let rows: Vec<Vec<f64>> =
            csv.lines().map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
        assert!(
            rows.len() == 10
                && (0..10).all(|i| rows[i][i] == 0.0 && (0..10).all(|j| rows[i][j] == rows[j][i])),
            "{name}: {csv}"
        );
        // The final comparison pairs the learned mixture against the task's own P/D/N.
        assert!(printed.contains("fixed pdn:p_d=0.3,p_n=0"), "{name}: {printed}");
        if name == "hypergradient" {
            // The gradient reaches every coordinate: σ, p_D and p_N all move from the start.
            let phi = second_phi(&out);
            assert!(phi.iter().zip([0.4, 0.3, 0.01]).all(|(a, b)| (a - b).abs() > 1e-6), "{phi:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_pdn_grid_starts_at_its_first_point_and_names_its_query_loss() {
    // The task's P/D/N (p_N = 0) has no learnable form; a grid needs none.
    let root = std::env::temp_dir().join(format!("dldl-pdn-grid-{}", std::process::id()));
    let Some(task) = small_digit_task(&root, "multilabel-mnist") else { return };
    let study = "method = \"grid\"\nlearn = \"pdn\"\ngrid = [[0.3, 0.03]]\nlower = [0.01, 0.001]\nupper = [0.99, 0.99]\nouter_steps = 1\nepisodes_per_step = 1\nvalidation_episodes = 2\n[full_range]\nbudget = 0.5\n";
    // The same study under the default (metric-aligned) query loss and under the KL: the table
    // names the loss it scored by, and 1 − Smooth-AP lies in [0, 1].
    for (query_loss, header) in
        [("", "1 − Smooth-AP"), ("query_loss = \"kl\"\n", "KL to the hard multi-label target")]
    {
        let meta = root.join("pdn-grid.toml");
        std::fs::write(&meta, format!("{query_loss}{study}")).unwrap();
        let out = root.join(if query_loss.is_empty() { "run-aligned" } else { "run-kl" });
        let r = dldl(&[
            "search",
            "--task",
            path(&task),
            "--meta",
            path(&meta),
            "--out",
            path(&out),
            "--device",
            "cpu",
        ]);
        assert!(r.status.success(), "{}", text(&r));
        assert!(
            text(&r).contains("learned pdn:p_d=0.3,p_n=0.03")
                && text(&r).contains(&format!("query loss ({header}")),
            "{}",
            text(&r)
        );
        if query_loss.is_empty() {
            let trials = std::fs::read_to_string(out.join("trials.jsonl")).unwrap();
            for line in trials.lines() {
                let loss =
                    serde_json::from_str::<serde_json::Value>(line).unwrap()["query_loss"].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&loss), "{line}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn every_learner_learns_the_two_pose_sigmas() {
    let root = std::env::temp_dir().join(format!("dldl-pose-sigma2-{}", std::process::id()));
    let Some(task) = small_digit_task(&root, "pose-mnist") else { return };
    let rest = "learn = \"sigma2\"\nlower = [2.0, 2.0]\nupper = [60.0, 40.0]\nvalidation_episodes = 2\nseed = 0\n[full_range]\nbudget = 0.5\n";
    for (name, out, printed, d) in
        search_with_every_learner(&root, &task, "grid = [[7.5, 5.0], [30.0, 20.0]]\n", rest)
    {
        let sigma: Vec<f64> = d["sigma"]
            .as_array()
            .map(|v| v.iter().map(|x| x.as_float().unwrap()).collect())
            .unwrap_or_default();
        assert!(
            d["family"].as_str() == Some("gaussian2d")
                && sigma.len() == 2
                && sigma.iter().all(|s| *s >= 2.0 && *s <= 60.0),
            "{name}: {d}"
        );
        assert!(printed.contains("fixed gaussian2d:sigma=[15.0,10.0]"), "{name}: {printed}");
        if name == "hypergradient" {
            let phi = second_phi(&out);
            assert!(phi.iter().zip([15.0, 10.0]).all(|(a, b)| (a - b).abs() > 1e-6), "both σ move: {phi:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn train_uses_a_distance_file_and_refuses_a_bad_one_before_writing() {
    let root = std::env::temp_dir().join(format!("dldl-mixture-train-{}", std::process::id()));
    let Some(task) = small_digit_task(&root, "multilabel-mnist") else { return };
    // Digits drawn alike (by a hand-made similarity: 1-7, 3-8, 6-9 close) as a 10×10 distance file.
    let close = [(1, 7), (3, 8), (6, 9), (0, 6), (5, 6)];
    let cell = |i: usize, j: usize| {
        if i == j {
            0.0
        } else if close.contains(&(i.min(j), i.max(j))) {
            0.5
        } else {
            1.0
        }
    };
    let csv: String = (0..10)
        .map(|i| (0..10).map(|j| cell(i, j).to_string()).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    let good = root.join("digits.csv");
    std::fs::write(&good, &csv).unwrap();
    let out = root.join("run");
    let spec = |file: &Path| format!("mixture:sigma=0.5,p_d=0.3,p_n=0,distance={}", file.display());
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--dist",
        &spec(&good),
        "--dist",
        "mixture:sigma=0.5,p_d=0.3,p_n=0,distance=cooccurrence",
        "--seeds",
        "1",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("distance=cooccurrence"), "{}", text(&r));
    // An asymmetric file: refused naming the file and the cell, and no run directory is made.
    let bad = root.join("asymmetric.csv");
    std::fs::write(&bad, csv.replacen("0,1,", "0,0.7,", 1)).unwrap();
    let refused = root.join("refused");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--dist",
        &spec(&bad),
        "--seeds",
        "1",
        "--out",
        path(&refused),
        "--device",
        "cpu",
    ]);
    assert!(!r.status.success());
    assert!(
        text(&r).contains("asymmetric.csv, cell [0][1] (row 1, column 2)") && text(&r).contains("symmetric"),
        "{}",
        text(&r)
    );
    assert!(!refused.exists(), "a refused run writes nothing");
    let _ = std::fs::remove_dir_all(&root);
}
