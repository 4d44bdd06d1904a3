//! End-to-end `dldl-meta report` on fixture run directories: real search, fewshot and train runs on the
//! small image-folder task, plus hand-written search runs of the 2-D, P/D/N and segmentation families;
//! every figure exists as PNG (decoding to its expected size) and SVG, and the index names them all.
mod common;

use common::{dldl, fixture, path, text};
use std::path::Path;

/// A finished search directory written by hand: config (with the task's TOML), state history, learned φ.
fn search_dir(dir: &Path, task_file: &str, task_toml: &str, learned: &str, phis: &[Vec<f64>]) {
    std::fs::create_dir_all(dir).unwrap();
    let config = serde_json::json!({"command": "search", "task_file": task_file, "task_toml": task_toml, "study": {"method": "cmaes"}});
    std::fs::write(dir.join("config.json"), serde_json::to_string(&config).unwrap()).unwrap();
    let history: Vec<serde_json::Value> = phis
        .iter()
        .enumerate()
        .map(|(s, phi)| serde_json::json!({"step": s, "phi": phi, "loss_mean": 1.0 / (s as f64 + 1.0), "loss_sd": 0.1, "metric_mean": 0.5}))
        .collect();
    let state = serde_json::json!({"step": phis.len(), "theta": [0.0], "adam_m": [0.0], "adam_v": [0.0], "cmaes": null, "best_phi": phis.last().unwrap(),
        "best_loss": 0.2, "inner_member_steps": 10, "seconds": 1.0, "history": history});
    std::fs::write(dir.join("state.json"), serde_json::to_string(&state).unwrap()).unwrap();
    std::fs::write(dir.join("learned.toml"), format!("[distribution]\n{learned}")).unwrap();
}

fn png_size(p: &Path) -> (u32, u32) {
    let img = image::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (img.width(), img.height())
}

#[test]
fn the_report_draws_every_figure_from_run_directories() {
    let (root, task) = fixture("report", 0.01);
    let data = root.join("data");
    let runs = root.join("runs");
    let common = ["--task", path(&task), "--data-dir", path(&data), "--device", "cpu"];
    let run = |args: &[&str]| {
        let r = dldl(&[args, &common].concat());
        assert!(r.status.success(), "{args:?}: {}", text(&r));
    };
    let meta = root.join("cmaes.toml");
    std::fs::write(&meta, "method = \"cmaes\"\nlearn = \"sigma-per-label\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 3\nepisodes_per_step = 2\nvalidation_episodes = 3\n[inner]\nsteps = 5\nbatch = 4\nlr = 0.01\n").unwrap();
    run(&["search", "--meta", path(&meta), "--out", path(&runs.join("toy-search"))]);
    run(&[
        "fewshot",
        "--shots",
        "1,2",
        "--episodes",
        "3",
        "--steps",
        "5",
        "--method",
        "onehot",
        "--method",
        "dldl:sigma=1",
        "--method",
        &format!("learned:{}", path(&runs.join("toy-search"))),
        "--out",
        path(&runs.join("toy-fs")),
    ]);
    run(&[
        "train",
        "--dist",
        "onehot",
        "--dist",
        "dldl:sigma=1",
        "--seeds",
        "2",
        "--steps",
        "20",
        "--eval-every",
        "5",
        "--out",
        path(&runs.join("toy-train")),
    ]);
    // The ordinal train run records the per-label error of every member: all test examples, once.
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs.join("toy-train/metrics.json")).unwrap()).unwrap();
    let per_label = metrics["per_label"].as_array().expect("metrics.json has per_label");
    assert_eq!(per_label.len(), 4, "one list per member");
    for member in per_label {
        let rows = member.as_array().unwrap();
        assert!(
            !rows.is_empty()
                && rows.iter().all(|r| r["label"].is_f64() && r["mae"].as_f64().is_some_and(|m| m >= 0.0)),
            "{member}"
        );
        assert_eq!(
            rows.iter().map(|r| r["count"].as_u64().unwrap()).sum::<u64>(),
            24,
            "every test example counted once: {member}"
        );
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let toml = |name: &str| std::fs::read_to_string(repo.join("tasks").join(name)).unwrap();
    search_dir(
        &runs.join("pose"),
        "tasks/pose-mnist.toml",
        &toml("pose-mnist.toml"),
        "family = \"gaussian2d\"\nsigma = [8.0, 20.0]\n",
        &[vec![15.0, 10.0], vec![11.0, 16.0], vec![8.0, 20.0]],
    );
    search_dir(
        &runs.join("multi"),
        "tasks/multilabel-mnist.toml",
        &toml("multilabel-mnist.toml"),
        "family = \"pdn\"\np_d = 0.6\np_n = 0.05\n",
        &[vec![0.3, 0.01], vec![0.5, 0.03], vec![0.6, 0.05]],
    );
    // A study that learned the mixture over co-occurrence on the P/D/N task: its config names the
    // family, and the run keeps the resolved distance, which the figure draws as a heat map.
    search_dir(
        &runs.join("mix"),
        "tasks/multilabel-mnist.toml",
        &toml("multilabel-mnist.toml"),
        "family = \"mixture\"\nsigma = 0.45\np_d = 0.3\np_n = 0.003\ndistance = \"cooccurrence\"\n",
        &[vec![0.3, 0.3, 0.003], vec![0.45, 0.3, 0.003]],
    );
    let mixture = serde_json::json!({"family": "mixture", "sigma": 0.3, "p_d": 0.3, "p_n": 0.003, "distance": "cooccurrence"});
    let config = serde_json::json!({"command": "search", "task_file": "tasks/multilabel-mnist.toml", "task_toml": toml("multilabel-mnist.toml"),
        "study": {"method": "grid", "distribution": mixture}});
    std::fs::write(runs.join("mix/config.json"), serde_json::to_string(&config).unwrap()).unwrap();
    let distance: String =
        (0..10)
            .map(|i| {
                (0..10)
                    .map(|j| {
                        if i == j {
                            "0".to_string()
                        } else {
                            format!("{}", 0.85 + 0.01 * ((i + j) % 5) as f64)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
                    + "\n"
            })
            .collect();
    std::fs::write(runs.join("mix/label-distance.csv"), distance).unwrap();
    search_dir(
        &runs.join("seg"),
        "tasks/segment-mnist.toml",
        &toml("segment-mnist.toml"),
        "family = \"segmentation\"\nsigma = 1.2\nkernel = 5\nstride = 1\n",
        &[vec![3.0], vec![2.0], vec![1.2]],
    );
    // Two hypergradient studies of one task that differ in their horizon give the horizon figure.
    for (name, unroll, phis) in [("hg-k1", 1, [10.0, 8.0, 6.5]), ("hg-k20", 20, [10.0, 11.0, 12.5])] {
        search_dir(
            &runs.join(name),
            "tasks/rotation-mnist.toml",
            &toml("rotation-mnist.toml"),
            &format!("family = \"gaussian\"\nsigma = {}\n", phis[2]),
            &phis.map(|p| vec![p]),
        );
        let config = serde_json::json!({"command": "search", "task_file": "tasks/rotation-mnist.toml", "task_toml": toml("rotation-mnist.toml"),
            "study": {"method": "hypergradient", "unroll": unroll}});
        std::fs::write(runs.join(name).join("config.json"), serde_json::to_string(&config).unwrap()).unwrap();
    }

    let out = root.join("report");
    let names = ["toy-search", "toy-fs", "toy-train", "pose", "multi", "mix", "seg", "hg-k1", "hg-k20"];
    let mut args: Vec<String> = vec!["report".into()];
    args.extend(names.iter().map(|n| path(&runs.join(n)).to_string()));
    args.extend(["--out".into(), path(&out).to_string()]);
    let r = dldl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", text(&r));
    let expected = [
        ("distributions-toy-search", (1200, 600)),
        ("trajectory-toy-search", (1200, 600)),
        ("fewshot-toy-fs", (1000, 620)),
        ("fewshot-diff-toy-fs", (1000, 620)),
        ("curves-toy-train", (1000, 620)),
        ("per-label-toy-train", (1000, 760)),
        ("distributions-pose", (1200, 600)),
        ("trajectory-pose", (1200, 600)),
        ("distributions-multi", (1200, 600)),
        ("trajectory-multi", (1200, 600)),
        ("distributions-mix", (1200, 600)),
        ("trajectory-mix", (1200, 600)),
        ("distributions-seg", (1100, 1000)),
        ("trajectory-seg", (1200, 600)),
        ("distributions-hg-k1", (1200, 600)),
        ("distributions-hg-k20", (1200, 600)),
        ("trajectory-hg-k1", (1200, 600)),
        ("trajectory-hg-k20", (1200, 600)),
        ("horizon-rotation-mnist", (1200, 600)),
    ];
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for (name, size) in expected {
        let png = out.join(format!("{name}.png"));
        assert_eq!(png_size(&png), size, "{name}");
        let svg = std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{name}.svg");
        assert!(index.contains(&format!("src=\"{name}.png\"")), "index.html lacks {name}");
        assert!(md.contains(&format!("({name}.png)")), "report.md lacks {name}");
    }
    let pngs = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"))
        .count();
    assert_eq!(pngs, expected.len(), "no unexpected figures");
    // The numbers are in the report: the few-shot table with paired differences, and the train table.
    assert!(
        md.contains("Paired difference method − onehot")
            && md.contains("| dldl:sigma=1 (gaussian:sigma=1) |"),
        "{md}"
    );
    assert!(md.contains("| onehot | 2 |"), "train table: {md}");
    assert!(!md.contains("no train run stores per-label errors"), "the per-label figure is drawn: {md}");
    // The mixture figure compares with the task's P/D/N and draws the recorded distance.
    let svg = std::fs::read_to_string(out.join("distributions-mix.svg")).unwrap();
    assert!(
        svg.contains("label distance (cooccurrence)")
            && svg.contains("fixed pdn:p_d=0.3,p_n=0")
            && svg.contains("learned mixture:sigma=0.45"),
        "distributions-mix.svg"
    );
    // The horizon section lists the learned σ per K; the search axes name the query loss each scored by.
    assert!(
        md.contains("| K | learned σ (degrees) |\n|---|---|\n| 1 | 6.500 |\n| 20 | 12.500 |"),
        "horizon table: {md}"
    );
    assert!(
        std::fs::read_to_string(out.join("trajectory-seg.svg"))
            .unwrap()
            .contains("query loss (1 − soft IoU)"),
        "trajectory-seg.svg"
    );
    assert!(
        std::fs::read_to_string(out.join("trajectory-multi.svg"))
            .unwrap()
            .contains("query loss (1 − Smooth-AP)"),
        "trajectory-multi.svg"
    );
    // Without a train run that stores per-label errors, the report says why that figure is missing.
    let only_search = root.join("report-search");
    let r = dldl(&["report", path(&runs.join("pose")), "--out", path(&only_search)]);
    assert!(r.status.success(), "{}", text(&r));
    let md = std::fs::read_to_string(only_search.join("report.md")).unwrap();
    assert!(md.contains("per-label error") && !only_search.join("per-label-pose.png").exists(), "{md}");
    if std::env::var_os("KEEP_REPORT").is_none() {
        let _ = std::fs::remove_dir_all(&root);
    } else {
        eprintln!("kept {}", out.display());
    }
}

#[test]
fn a_directory_that_is_not_a_run_is_refused() {
    let dir = std::env::temp_dir().join(format!("dldl-report-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let r = dldl(&["report", path(&dir), "--out", path(&dir.join("out"))]);
    assert!(!r.status.success() && text(&r).contains("not a run directory"), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runs_sharing_a_directory_name_get_their_own_figures_and_a_repeated_run_is_reported_once() {
    let (root, task) = fixture("report-names", 0.01);
    let data = root.join("data");
    let (a, b) = (root.join("runs/a/wine0"), root.join("runs/b/wine0"));
    for (dir, dist) in [(&a, "onehot"), (&b, "dldl:sigma=1")] {
        let r = dldl(&[
            "train",
            "--task",
            path(&task),
            "--data-dir",
            path(&data),
            "--dist",
            dist,
            "--steps",
            "2",
            "--out",
            path(dir),
            "--device",
            "cpu",
        ]);
        assert!(r.status.success(), "{}", text(&r));
    }
    let out = root.join("report");
    let r = dldl(&["report", path(&a), path(&b), "--out", path(&out)]);
    assert!(r.status.success(), "{}", text(&r));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for name in ["a-wine0", "b-wine0"] {
        assert!(out.join(format!("per-label-{name}.png")).exists(), "{name}: {}", text(&r));
        assert!(md.contains(&format!("per-label-{name}.png")), "{name}: {md}");
    }
    assert!(!out.join("per-label-wine0.png").exists(), "{}", text(&r));
    let again = root.join("report-again");
    let spelled = format!("{}/", path(&a));
    let r = dldl(&["report", path(&a), &spelled, "--out", path(&again)]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(
        text(&r).contains("is given more than once") && text(&r).contains("it is reported once"),
        "{}",
        text(&r)
    );
    let md = std::fs::read_to_string(again.join("report.md")).unwrap();
    assert_eq!(md.matches("## Train `wine0`").count(), 1, "{md}");
    let _ = std::fs::remove_dir_all(&root);
}
