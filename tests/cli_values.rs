//! End-to-end refusals of values outside their domain: labels beyond a task's bins in `train` and
//! `eval`, study values outside their bounds, searches without a finite score, mismatched learned φ.
mod common;

use common::{dldl, fixture, path, text};
use std::path::Path;

/// Replaces the label of the fixture's first image by `label`.
fn relabel_first(root: &Path, label: &str) {
    let csv = root.join("data/faces/labels.csv");
    let body =
        std::fs::read_to_string(&csv).unwrap().replacen("img000.png,0", &format!("img000.png,{label}"), 1);
    std::fs::write(&csv, body).unwrap();
}

#[test]
fn train_refuses_a_label_beyond_the_bins() {
    let (root, task) = fixture("values-train", 0.01);
    relabel_first(&root, "210");
    let out = root.join("run");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&root.join("data")),
        "--dist",
        "onehot",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    for needle in
        ["img000.png: label 210 lies outside the label domain 0..5", "`labels.bins` of", "1 of 120 labels"]
    {
        assert!(text(&r).contains(needle), "`{needle}` not in: {}", text(&r));
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn eval_refuses_data_whose_labels_leave_the_runs_domain() {
    let (root, task) = fixture("values-eval", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--dist",
        "onehot",
        "--steps",
        "2",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    relabel_first(&root, "-40");
    let e = dldl(&["eval", "--run", path(&out), "--data-dir", path(&data), "--device", "cpu"]);
    assert_eq!(e.status.code(), Some(1), "{}", text(&e));
    assert!(text(&e).contains("img000.png: label -40 lies outside the label domain 0..5"), "{}", text(&e));
    let _ = std::fs::remove_dir_all(&root);
}

fn study(root: &Path, name: &str, body: &str) -> String {
    let file = root.join(format!("{name}.toml"));
    std::fs::write(&file, body).unwrap();
    file.to_str().unwrap().to_string()
}

#[test]
fn a_search_without_a_finite_score_writes_no_learned_phi_and_fails() {
    let (root, task) = fixture("values-nan-search", 0.01);
    let body = "method = \"grid\"\nlearn = \"sigma\"\ngrid = [0.5, 2.0]\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 2\nvalidation_episodes = 2\n[inner]\nsteps = 4\nbatch = 4\nlr = 1e20\noptimiser = \"sgd\"\n";
    let meta = study(&root, "nan", body);
    let out = root.join("run");
    let r = dldl(&[
        "search",
        "--task",
        path(&task),
        "--meta",
        &meta,
        "--data-dir",
        path(&root.join("data")),
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(
        text(&r).contains("none of the 4 trials scored a finite query loss")
            && text(&r).contains("no learned.toml was written"),
        "{}",
        text(&r)
    );
    assert!(!out.join("learned.toml").exists(), "a failed search must not write learned.toml");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn study_values_outside_their_bounds_are_refused_before_training() {
    let (root, task) = fixture("values-bounds", 0.01);
    let head = "lower = [1.0]\nupper = [90.0]\nouter_steps = 1\nepisodes_per_step = 1\n";
    let cases = [
        (
            "init",
            format!("method = \"cmaes\"\nlearn = \"sigma\"\ninit = [500.0]\n{head}"),
            "field `init`: [500.0]: σ = 500 lies outside the bounds [1, 90]",
        ),
        (
            "scalar",
            format!("method = \"hypergradient\"\nlearn = \"sigma\"\ninit = [3.0, 4.0]\n{head}"),
            "field `init`: [3.0, 4.0]: 2 values given; `sigma` takes 1",
        ),
        (
            "grid",
            format!("method = \"grid\"\nlearn = \"sigma\"\ngrid = [2.0, 120.0]\n{head}"),
            "field `grid[1]`: [120.0]: σ = 120 lies outside the bounds [1, 90]",
        ),
        (
            "learn",
            format!("method = \"random\"\nlearn = \"kernel-sigma\"\n{head}"),
            "`kernel-sigma` does not apply",
        ),
    ];
    for (name, body, needle) in cases {
        let meta = study(&root, name, &body);
        let out = root.join(name);
        let r = dldl(&[
            "search",
            "--task",
            path(&task),
            "--meta",
            &meta,
            "--data-dir",
            path(&root.join("data")),
            "--out",
            path(&out),
            "--device",
            "cpu",
        ]);
        assert_eq!(r.status.code(), Some(1), "{name}: {}", text(&r));
        assert!(
            text(&r).contains(&meta) && text(&r).contains(needle),
            "{name}: expected {needle:?} in {}",
            text(&r)
        );
        assert!(!text(&r).contains("KernelSigma") && !text(&r).contains("Cmaes"), "{name}: {}", text(&r));
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// A search run directory written by hand: the task it learned on and its learned φ.
fn learned_run(dir: &Path, task_toml: &str, inner: serde_json::Value) {
    std::fs::create_dir_all(dir).unwrap();
    let config = serde_json::json!({"command": "search", "task_file": "tasks/other.toml", "task_toml": task_toml, "study": {"inner": inner}});
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("learned.toml"), "[distribution]\nfamily = \"gaussian\"\nsigma = 3.7\n").unwrap();
}

#[test]
fn a_learned_phi_from_another_label_domain_is_refused() {
    let (root, task) = fixture("values-learned", 0.01);
    let data = root.join("data");
    let toml = std::fs::read_to_string(&task).unwrap();
    let degrees = root.join("rotation-run");
    learned_run(&degrees, &toml.replace("bins = \"0:5:1\"", "bins = \"-180:180:5\""), serde_json::json!({}));
    let spec = format!("learned:{}", path(&degrees));
    for command in ["train", "fewshot"] {
        let mut args = vec![
            command,
            "--task",
            path(&task),
            "--data-dir",
            path(&data),
            "--method",
            &spec,
            "--out",
            "/nonexistent/never",
            "--device",
            "cpu",
        ];
        if command == "fewshot" {
            args.extend(["--shots", "1", "--episodes", "1"]);
        }
        let r = dldl(&args);
        assert_eq!(r.status.code(), Some(1), "{command}: {}", text(&r));
        let expected = "its φ was learned on task other (73 bins -180..180, gaussian family), which does not match task toy (6 bins 0..5, gaussian family)";
        assert!(text(&r).contains(expected), "{command}: {}", text(&r));
    }
    // A directory without the record of its task cannot be checked, so it is not applied either.
    let unknown = root.join("hand-written");
    std::fs::create_dir_all(&unknown).unwrap();
    std::fs::write(unknown.join("learned.toml"), "[distribution]\nfamily = \"gaussian\"\nsigma = 3.7\n")
        .unwrap();
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--dist",
        &format!("learned:{}", path(&unknown)),
        "--out",
        "/nonexistent/never",
    ]);
    assert!(r.status.code() == Some(1) && text(&r).contains("cannot tell which task"), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn fewshot_says_when_it_takes_the_inner_loop_of_a_learned_runs_study() {
    let (root, task) = fixture("values-learned-inner", 0.01);
    let same = root.join("same-task-run");
    learned_run(
        &same,
        &std::fs::read_to_string(&task).unwrap(),
        serde_json::json!({"steps": 3, "batch": 4, "lr": 0.003}),
    );
    let spec = format!("learned:{}", path(&same));
    let out = root.join("fs");
    let r = dldl(&[
        "fewshot",
        "--task",
        path(&task),
        "--data-dir",
        path(&root.join("data")),
        "--shots",
        "1",
        "--episodes",
        "1",
        "--method",
        "onehot",
        "--method",
        &spec,
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let note = format!("note: the inner loop takes the [inner] of the study of {} (steps 3, batch 4, lr 0.003), not the task's [train]", path(&same));
    assert!(text(&r).contains(&note), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn train_refuses_unparsable_utkface_names_unless_told_to_skip_them() {
    let (root, task) = fixture("values-utk-names", 0.01);
    let faces = root.join("data/utk");
    std::fs::create_dir_all(&faces).unwrap();
    for i in 0..60u32 {
        let age = i % 6;
        image::GrayImage::from_pixel(16, 16, image::Luma([(age * 40) as u8]))
            .save(faces.join(format!("{age}_0_1_2017{i:04}.jpg.chip.jpg")))
            .unwrap();
    }
    std::fs::copy(faces.join("0_0_1_20170000.jpg.chip.jpg"), faces.join("foo.jpg")).unwrap();
    let toml = std::fs::read_to_string(&task)
        .unwrap()
        .replace("kind = \"image-folder\"\npath = \"faces\"", "kind = \"utkface\"\npath = \"utk\"");
    let strict = root.join("utk.toml");
    std::fs::write(&strict, &toml).unwrap();
    let args = |task: &Path, out: &str| -> Vec<String> {
        [
            "train",
            "--task",
            path(task),
            "--data-dir",
            path(&root.join("data")),
            "--steps",
            "2",
            "--out",
            out,
            "--device",
            "cpu",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let out = root.join("run");
    let r = dldl(&args(&strict, path(&out)).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("1 file name(s) do not follow UTKFace's AGE_GENDER_RACE_DATE.jpg[.chip.jpg] naming, e.g. `foo.jpg`"), "{}", text(&r));
    let lenient = root.join("utk-skip.toml");
    std::fs::write(&lenient, toml.replace("path = \"utk\"", "path = \"utk\"\nskip_corrupt = true")).unwrap();
    let r =
        dldl(&args(&lenient, path(&root.join("run-skip"))).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_sigma_below_a_hundredth_of_the_bin_step_is_refused_before_training() {
    let (root, task) = fixture("values-sigma", 0.01);
    let (out, data) = (root.join("run"), root.join("data"));
    for (command, flag) in [("train", "--dist"), ("fewshot", "--dist")] {
        let mut args = vec![
            command,
            "--task",
            path(&task),
            "--data-dir",
            path(&data),
            flag,
            "dldl:sigma=1e-30",
            "--out",
            path(&out),
            "--device",
            "cpu",
        ];
        if command == "fewshot" {
            args.extend(["--shots", "1", "--episodes", "1"]);
        }
        let r = dldl(&args);
        assert_eq!(r.status.code(), Some(1), "{command}: {}", text(&r));
        assert!(text(&r).contains("invalid sigma = 0.000000000000000000000000000001: must be at least 0.01 × the bin step (1) = 0.01"), "{command}: {}", text(&r));
        assert!(!out.exists(), "{command}: nothing is written for a refused σ");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn negative_and_zero_numbers_are_refused_by_the_flags_rule_in_every_subcommand() {
    let whole = |min: u32| format!("must be a whole number ≥ {min}");
    let cases: Vec<(Vec<&str>, &str, &str, String)> = vec![
        (vec!["worker", "--trials", "-1"], "--trials", "-1", whole(0)),
        (vec!["worker", "--timeout", "-5"], "--timeout", "-5", whole(1)),
        (vec!["worker", "--timeout", "0"], "--timeout", "0", whole(1)),
        (vec!["worker", "--worker-id", "-3"], "--worker-id", "-3", whole(0)),
        (vec!["trace", "--steps", "-1"], "--steps", "-1", whole(1)),
        (vec!["train", "--seeds", "-2"], "--seeds", "-2", whole(1)),
        (vec!["train", "--first-seed", "-1"], "--first-seed", "-1", whole(0)),
        (vec!["train", "--eval-every", "-1"], "--eval-every", "-1", whole(0)),
        (vec!["train", "--patience", "-1"], "--patience", "-1", whole(0)),
        (vec!["train", "--chunk", "-1"], "--chunk", "-1", whole(0)),
        (vec!["train", "--steps", "-1"], "--steps", "-1", whole(1)),
        (vec!["fewshot", "--shots", "1,-2"], "--shots", "-2", whole(1)),
        (vec!["fewshot", "--episodes", "-1"], "--episodes", "-1", whole(1)),
        (vec!["fewshot", "--chunk", "-1"], "--chunk", "-1", whole(1)),
        (vec!["fewshot", "--seed", "-1"], "--seed", "-1", whole(0)),
        (vec!["fewshot", "--batch", "-4"], "--batch", "-4", whole(1)),
        (vec!["fewshot", "--lr", "-0.1"], "--lr", "-0.1", "must be a finite number > 0".into()),
        (vec!["fewshot", "--margin", "-0.1"], "--margin", "-0.1", "must be a finite number > 0".into()),
        (
            vec!["fewshot", "--train-fraction", "-0.5"],
            "--train-fraction",
            "-0.5",
            "must be a number with 0 < fraction ≤ 1".into(),
        ),
        (vec!["label", "--classes", "-5"], "--classes", "-5", whole(1)),
        (vec!["label", "--kernel", "-3"], "--kernel", "-3", whole(1)),
        (vec!["label", "--stride", "-1"], "--stride", "-1", whole(1)),
        (vec!["label", "--padding", "-1"], "--padding", "-1", whole(0)),
        (vec!["label", "--positive", "-1"], "--positive", "-1", whole(0)),
        (vec!["label", "--p-d", "-0.3"], "--p-d", "-0.3", "must be a finite number ≥ 0".into()),
        (vec!["label", "--epsilon", "-0.1"], "--epsilon", "-0.1", "must be a finite number ≥ 0".into()),
        (vec!["label", "--min-prob", "-1"], "--min-prob", "-1", "must be a finite number ≥ 0".into()),
        (vec!["bench", "--member-steps", "-1"], "--member-steps", "-1", whole(1)),
        (vec!["bench", "--rounds", "-1"], "--rounds", "-1", whole(1)),
        (vec!["bench", "--batches", "8,-1"], "--batches", "-1", whole(1)),
        (vec!["--threads", "-1", "info"], "--threads", "-1", whole(1)),
    ];
    for (args, flag, value, rule) in cases {
        let r = dldl(&args);
        let message = text(&r);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {message}");
        let expected = format!("invalid value '{value}' for '{flag} <");
        assert!(message.contains(&expected) && message.contains(&rule), "{args:?}: {message}");
        assert!(!message.contains("unexpected argument"), "{args:?}: {message}");
    }
    // A negative number is a value, not a flag, wherever a flag takes one.
    let r = dldl(&["label", "--family", "gaussian", "--bins", "0:10", "--label", "-3", "--sigma", "1"]);
    assert!(text(&r).contains("label -3 lies outside the label domain"), "{}", text(&r));
}

/// 60 UTKFace-named grey images (ages 0..=5) in `root/data/utk`, and the fixture task pointed at them
/// (`extra` added to its [dataset]).
fn utk_task(root: &Path, task: &Path, extra: &str) -> std::path::PathBuf {
    let faces = root.join("data/utk");
    std::fs::create_dir_all(&faces).unwrap();
    for i in 0..60u32 {
        let age = i % 6;
        image::GrayImage::from_pixel(16, 16, image::Luma([(age * 40) as u8]))
            .save(faces.join(format!("{age}_0_1_2017{i:04}.jpg.chip.jpg")))
            .unwrap();
    }
    let toml = std::fs::read_to_string(task).unwrap().replace(
        "kind = \"image-folder\"\npath = \"faces\"",
        &format!("kind = \"utkface\"\npath = \"utk\"{extra}"),
    );
    let file = root.join(format!("utk{}.toml", extra.len()));
    std::fs::write(&file, toml).unwrap();
    file
}

fn train_on(task: &Path, data: &Path, out: &Path) -> std::process::Output {
    let args =
        ["--data-dir", path(data), "--steps", "2", "--out", path(out), "--device", "cpu", "--dist", "onehot"];
    dldl(&[&["train", "--task", path(task)][..], &args].concat())
}

#[test]
fn eval_skips_unparsable_utkface_names_with_its_own_flag_and_counts_them() {
    let (root, task) = fixture("values-eval-skip", 0.01);
    let strict = utk_task(&root, &task, "");
    let run = root.join("run");
    let r = train_on(&strict, &root.join("data"), &run);
    assert!(r.status.success(), "{}", text(&r));
    // Another copy of the data with one name that does not parse.
    let copy = root.join("copy/utk");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(root.join("data/utk")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    std::fs::copy(copy.join("0_0_1_20170000.jpg.chip.jpg"), copy.join("foo.jpg")).unwrap();
    let copies = root.join("copy");
    let eval = |extra: &[&str]| {
        let args = ["eval", "--run", path(&run), "--data-dir", path(&copies), "--device", "cpu"];
        dldl(&[&args[..], extra].concat())
    };
    let r = eval(&[]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(
        text(&r).contains("e.g. `foo.jpg`; rename or remove them, or pass --skip-corrupt to eval")
            && !text(&r).contains("skip_corrupt = true"),
        "{}",
        text(&r)
    );
    let r = eval(&["--skip-corrupt"]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(
        text(&r).contains("--skip-corrupt: 1 names did not parse, 0 corrupt files skipped")
            && text(&r).contains("unparsed: foo.jpg")
            && text(&r).contains("all 60 examples"),
        "{}",
        text(&r)
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[cfg(unix)]
#[test]
fn utkface_follows_symbolic_links_and_refuses_a_broken_one_unless_told_to_skip_it() {
    let (root, task) = fixture("values-utk-links", 0.01);
    let strict = utk_task(&root, &task, "");
    let links = root.join("links/utk");
    std::fs::create_dir_all(&links).unwrap();
    for entry in std::fs::read_dir(root.join("data/utk")).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), links.join(entry.file_name())).unwrap();
    }
    let r = train_on(&strict, &root.join("links"), &root.join("run-links"));
    assert!(r.status.success(), "a folder of links is a folder of images: {}", text(&r));
    let broken = links.join("3_0_1_20179999.jpg.chip.jpg");
    std::os::unix::fs::symlink(root.join("gone.jpg"), &broken).unwrap();
    let r = train_on(&strict, &root.join("links"), &root.join("run-broken"));
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    let expected = format!(
        "{}: broken symbolic link (its target {} does not exist)",
        path(&broken),
        path(&root.join("gone.jpg"))
    );
    assert!(text(&r).contains(&expected) && text(&r).contains("skip_corrupt = true"), "{}", text(&r));
    assert!(!root.join("run-broken").exists());
    let lenient = utk_task(&root, &task, "\nskip_corrupt = true");
    let r = train_on(&lenient, &root.join("links"), &root.join("run-skip"));
    assert!(r.status.success(), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}
