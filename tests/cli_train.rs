//! End-to-end `dldl-meta train` and `eval` on a small image-folder task the test writes itself:
//! a run directory with config, curves, checkpoint and metrics; refusal of a different run; clear errors.
mod common;

use common::{dldl, fixture, path, text};

#[test]
fn train_writes_a_run_directory_and_eval_reads_it() {
    let (root, task) = fixture("ok", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let args = [
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--dist",
        "onehot",
        "--dist",
        "dldl:sigma=1",
        "--seeds",
        "2",
        "--eval-every",
        "10",
        "--chunk",
        "3",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ];
    let result = dldl(&args);
    assert!(result.status.success(), "{}", text(&result));
    let summary = String::from_utf8_lossy(&result.stdout);
    assert!(summary.contains("| onehot | 2 |") && summary.contains("| gaussian:sigma=1 | 2 |"), "{summary}");
    for file in ["config.json", "curves.jsonl", "checkpoint.safetensors", "metrics.json", "summary.md"] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["seeds"], serde_json::json!([0, 1, 0, 1]));
    assert!(config["environment"]["libtorch"].as_str().unwrap().starts_with("2.11.0"));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["members"].as_array().unwrap().len(), 4);
    let curves = std::fs::read_to_string(out.join("curves.jsonl")).unwrap();
    assert_eq!(curves.lines().count(), 4 * 3, "3 evaluations × 4 members");

    // The same command again reports the finished run instead of training twice.
    let again = dldl(&args);
    assert!(again.status.success() && text(&again).contains("already finished"), "{}", text(&again));
    // A different run into the same directory is refused.
    let mut other = args.to_vec();
    other[8] = "dldl:sigma=2";
    let refused = dldl(&other);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("different configuration"), "{}", text(&refused));

    let eval = dldl(&["eval", "--run", path(&out), "--data-dir", path(&data), "--device", "cpu"]);
    assert!(eval.status.success(), "{}", text(&eval));
    assert!(text(&eval).contains(&format!("scored all 120 examples of {}", path(&data))), "{}", text(&eval));
    // Without --data-dir: the run's own test split (20 % of 120), the numbers `train` reported.
    let eval = dldl(&["eval", "--run", path(&out), "--device", "cpu"]);
    assert!(eval.status.success(), "{}", text(&eval));
    assert!(text(&eval).contains("scored the test split of the run (24 of 120 examples)"), "{}", text(&eval));
    let reported = |table: &str| table.lines().find(|l| l.starts_with("| onehot |")).map(str::to_string);
    assert_eq!(reported(&text(&eval)), reported(&summary), "eval of the test split = train's test metrics");
    std::fs::remove_dir_all(&root).unwrap();
}

/// With BatchNorm the checkpoint carries each member's running statistics, and `eval` (which
/// normalises by them) reproduces the test metrics `train` reported; a plain network refuses it.
#[test]
fn batchnorm_runs_keep_their_statistics() {
    let (root, task) = fixture("bn", 0.01);
    let data = root.join("data");
    let normalised = variant(&root, &task, "normalised", |t| {
        t.replace("widths = [4, 8]", "widths = [4, 8]\nbatchnorm = true")
    });
    let out = root.join("run");
    let r = dldl(&[
        "train",
        "--task",
        path(&normalised),
        "--data-dir",
        path(&data),
        "--seeds",
        "2",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let stored = tch::Tensor::read_safetensors(out.join("checkpoint.safetensors")).unwrap();
    let variance = stored
        .iter()
        .find(|(n, _)| n == "layer1.running_var")
        .map(|(_, t)| t.shallow_clone())
        .expect("running variance stored");
    assert_eq!(variance.size(), [2, 8]);
    assert!(
        variance.get(0).not_equal_tensor(&variance.get(1)).any().int64_value(&[]) == 1,
        "each member its own statistics"
    );
    let eval = dldl(&["eval", "--run", path(&out), "--device", "cpu"]);
    assert!(eval.status.success(), "{}", text(&eval));
    let reported = |table: &str| table.lines().find(|l| l.starts_with("| gaussian")).map(str::to_string);
    assert_eq!(reported(&text(&eval)), reported(&String::from_utf8_lossy(&r.stdout)));
    let plain = root.join("plain");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--init",
        path(&out),
        "--steps",
        "2",
        "--out",
        path(&plain),
        "--device",
        "cpu",
    ]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("checkpoint has tensors this network does not (another network, e.g. with BatchNorm): layer0.running_mean, layer0.running_var, layer0.scale, layer1.running_mean"), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn same_seed_gives_the_same_numbers() {
    let (root, task) = fixture("repro", 0.01);
    let data = root.join("data");
    let run = |name: &str| {
        let out = root.join(name);
        let r = dldl(&[
            "train",
            "--task",
            path(&task),
            "--data-dir",
            path(&data),
            "--out",
            path(&out),
            "--device",
            "cpu",
        ]);
        assert!(r.status.success(), "{}", text(&r));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
        m["members"][0]["metrics"].clone()
    };
    assert_eq!(run("a"), run("b"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn bad_settings_are_clear_errors() {
    let (root, task) = fixture("bad", -1.0);
    let data = root.join("data");
    let r =
        dldl(&["train", "--task", path(&task), "--data-dir", path(&data), "--out", path(&root.join("r"))]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("toy.toml") && text(&r).contains("lr"), "{}", text(&r));
    let (root2, task2) = fixture("cuda", 0.01);
    if tch::Cuda::device_count() == 0 {
        let r = dldl(&[
            "train",
            "--task",
            path(&task2),
            "--data-dir",
            path(&root2.join("data")),
            "--out",
            path(&root2.join("r")),
            "--device",
            "cuda",
        ]);
        assert_eq!(r.status.code(), Some(1));
        assert!(text(&r).contains("CUDA device"), "{}", text(&r));
    }
    let r = dldl(&[
        "train",
        "--task",
        path(&task2),
        "--data-dir",
        path(&root2.join("data")),
        "--out",
        path(&root2.join("r")),
        "--dist",
        "dldl:sigma=0",
    ]);
    assert!(text(&r).contains("sigma") && r.status.code() == Some(1), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&root2);
}

/// The toy task with plain SGD at `lr`.
fn sgd_fixture(name: &str, lr: f64) -> (std::path::PathBuf, std::path::PathBuf) {
    let (root, task) = fixture(name, 0.01);
    let toml = std::fs::read_to_string(&task)
        .unwrap()
        .replace("optimiser = \"adam\"", "optimiser = \"sgd\"")
        .replace("lr = 0.01", &format!("lr = {lr:e}"));
    std::fs::write(&task, toml).unwrap();
    (root, task)
}

#[test]
fn a_run_whose_every_member_failed_exits_non_zero_and_eval_refuses_it() {
    let (root, task) = sgd_fixture("all-failed", 1e20);
    let data = root.join("data");
    let out = root.join("run");
    let args = [
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--dist",
        "onehot",
        "--seeds",
        "2",
        "--steps",
        "5",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ];
    let r = dldl(&args);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("every member failed in training (2 of 2"), "{}", text(&r));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert!(
        metrics["members"].as_array().unwrap().iter().all(|m| m["failure"].is_string()),
        "the run directory records the failures"
    );
    let again = dldl(&args);
    assert_eq!(again.status.code(), Some(1), "the finished run is still a failure: {}", text(&again));
    let eval = dldl(&["eval", "--run", path(&out), "--device", "cpu"]);
    assert_eq!(eval.status.code(), Some(1), "{}", text(&eval));
    let message = text(&eval);
    assert!(
        message.contains("skipped member 0 (onehot, seed 0)")
            && message.contains("every member of this run failed"),
        "{message}"
    );
    // Its members cannot start another run: refused before anything is trained or written.
    let warm = root.join("warm");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--init",
        path(&out),
        "--out",
        path(&warm),
        "--device",
        "cpu",
    ]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("member 0 (seed 0) failed in training"), "{}", text(&r));
    assert!(!warm.exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn eval_skips_a_failed_member_and_checks_data_dir() {
    let (root, task) = fixture("eval-skip", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--seeds",
        "2",
        "--steps",
        "5",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    // Record member 1 as failed, as a diverged member is recorded.
    let file = out.join("metrics.json");
    let mut metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    metrics["members"][1]["failure"] = "non-finite loss NaN at step 3".into();
    std::fs::write(&file, metrics.to_string()).unwrap();
    let eval = dldl(&["eval", "--run", path(&out), "--device", "cpu"]);
    assert!(eval.status.success(), "{}", text(&eval));
    assert!(text(&eval).contains("skipped member 1 (gaussian:sigma=1, seed 1)"), "{}", text(&eval));
    assert!(text(&eval).contains("| gaussian:sigma=1 | 1 |"), "one seed left: {}", text(&eval));

    let missing = root.join("nonexistent");
    let eval = dldl(&["eval", "--run", path(&out), "--data-dir", path(&missing), "--device", "cpu"]);
    assert_eq!(eval.status.code(), Some(1), "{}", text(&eval));
    assert!(text(&eval).contains("no such directory"), "{}", text(&eval));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn eval_refuses_data_dir_on_a_task_that_does_not_read_it() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if !repo.join("data/abalone/abalone.csv").exists() {
        eprintln!("skipped: data/abalone is missing (make data)");
        return;
    }
    let root = std::env::temp_dir().join(format!("dldl-train-bundled-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let out = root.join("run");
    let r = dldl(&[
        "train",
        "--task",
        "tasks/age-abalone.toml",
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
    let eval = dldl(&["eval", "--run", path(&out), "--data-dir", "/nonexistent", "--device", "cpu"]);
    assert_eq!(eval.status.code(), Some(1), "{}", text(&eval));
    assert!(text(&eval).contains("does not read the researcher's data"), "{}", text(&eval));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn train_refuses_patience_without_validation_and_a_method_given_twice() {
    let (root, task) = fixture("train-flags", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let base = [
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--out",
        path(&out),
        "--steps",
        "5",
        "--device",
        "cpu",
    ];
    let cases: [(&[&str], &str); 2] = [
        (&["--patience", "2"], "--patience = 2: counts validations: give --eval-every N as well"),
        (
            &["--dist", "onehot", "--dist", "dldl:sigma=1", "--dist", "onehot"],
            "--dist = onehot: is given twice",
        ),
    ];
    for (extra, needle) in cases {
        let r = dldl(&[&base[..], extra].concat());
        assert_eq!(r.status.code(), Some(1), "{extra:?}: {}", text(&r));
        assert!(text(&r).contains(needle), "{extra:?}: {}", text(&r));
        assert!(!out.exists(), "{extra:?}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// `train` with `--init` on the toy task: a task file of the same name in `dir`, `edit` applied.
fn variant(
    root: &std::path::Path,
    task: &std::path::Path,
    dir: &str,
    edit: impl Fn(String) -> String,
) -> std::path::PathBuf {
    std::fs::create_dir_all(root.join(dir)).unwrap();
    let file = root.join(dir).join(task.file_name().unwrap());
    std::fs::write(&file, edit(std::fs::read_to_string(task).unwrap())).unwrap();
    file
}

#[test]
fn warm_starts_begin_from_the_source_and_freeze_keeps_the_features() {
    use dldl_meta::model::Params;
    let (root, task) = fixture("warm", 0.01);
    let data = root.join("data");
    let source = root.join("source");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--dist",
        "onehot",
        "--dist",
        "dldl:sigma=1",
        "--seeds",
        "2",
        "--out",
        path(&source),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let names: Vec<String> = ["layer0", "layer1", "layer2", "layer3"]
        .iter()
        .flat_map(|l| [format!("{l}.weight"), format!("{l}.bias")])
        .collect();
    let load = |run: &std::path::Path| {
        Params::load(&run.join("checkpoint.safetensors"), &names, &[], tch::Device::Cpu).unwrap()
    };

    // The start parameters are the source members', bit for bit (seed index s from member s of the method).
    let mut warm: dldl_meta::train::warm_start::WarmStart =
        format!("{}:dldl:sigma=1", source.display()).parse().unwrap();
    let prepared = dldl_meta::train::setup::PreparedTask::load(
        &task,
        &dldl_meta::data::DataRoots {
            external: data.clone(),
            fetched: root.join("fetched"),
            cache: root.join("cache"),
        },
    )
    .unwrap();
    let refused = warm.load(&task, &prepared.inner.network, 3, tch::Device::Cpu).err().unwrap().to_string();
    assert!(refused.contains("trained 2 seed(s) of this method and this run asks for 3"), "{refused}");
    warm.cycle = true;
    let starts = warm.load(&task, &prepared.inner.network, 3, tch::Device::Cpu).unwrap();
    let stored = load(&source);
    for (s, member) in [(0, 2), (1, 3), (2, 2)] {
        assert_eq!(starts[s].1, dldl_meta::train::warm_start::WarmSource { member, seed: s as u64 % 2 });
        for (a, b) in starts[s].0.tensors.iter().zip(&stored.tensors) {
            assert!(
                a.get(0).equal(&b.get(member as i64)),
                "seed index {s} does not start from source member {member}"
            );
        }
    }

    // With freeze = "features" the convolutions keep the source's weights exactly; the head trains.
    let frozen =
        variant(&root, &task, "frozen", |t| t.replace("lr = 0.01", "lr = 0.01\nfreeze = \"features\""));
    let tuned = root.join("tuned");
    let r = dldl(&[
        "train",
        "--task",
        path(&frozen),
        "--data-dir",
        path(&data),
        "--init",
        &format!("{}:onehot", source.display()),
        "--steps",
        "5",
        "--out",
        path(&tuned),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let after = load(&tuned);
    for (i, name) in names.iter().enumerate() {
        let same = after.tensors[i].get(0).equal(&stored.tensors[i].get(0));
        assert_eq!(same, name.starts_with("layer0") || name.starts_with("layer1"), "{name}: frozen = {same}");
    }
    let config = std::fs::read_to_string(tuned.join("config.json")).unwrap();
    assert!(config.contains("\"freeze\": \"features\"") && config.contains(":onehot\""), "{config}");
    assert!(text(&r).contains("seed index 0 starts from member 0 (seed 0)"), "{}", text(&r));

    // Three seeds from a source of two: refused, or cycled with --init-cycle (and said per seed).
    let cycled = root.join("cycled");
    let three = |extra: &[&str]| {
        let mut args = vec!["train", "--task", path(&task), "--data-dir", path(&data), "--init"];
        let init = format!("{}:onehot", source.display());
        args.push(&init);
        args.extend(["--seeds", "3", "--steps", "2", "--out", path(&cycled), "--device", "cpu"]);
        args.extend(extra);
        dldl(&args)
    };
    let r = three(&[]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("--init-cycle") && !cycled.exists(), "{}", text(&r));
    let r = three(&["--init-cycle"]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("seed index 2 starts from member 0 (seed 0)"), "{}", text(&r));
    // freeze = "features" freezes trained layers only: without --init it is refused.
    let r = dldl(&[
        "train",
        "--task",
        path(&frozen),
        "--data-dir",
        path(&data),
        "--out",
        path(&root.join("cold")),
        "--device",
        "cpu",
    ]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("train.freeze") && text(&r).contains("--init"), "{}", text(&r));
    assert!(!root.join("cold").exists());

    // Refusals name the problem and write nothing.
    let wide = variant(&root, &task, "wide", |t| t.replace("widths = [4, 8]", "widths = [4, 12]"));
    let normalised = variant(&root, &task, "normalised", |t| {
        t.replace("widths = [4, 8]", "widths = [4, 8]\nbatchnorm = true")
    });
    let other = root.join("other.toml");
    std::fs::copy(&task, &other).unwrap();
    let no_checkpoint = root.join("no-checkpoint");
    std::fs::create_dir_all(&no_checkpoint).unwrap();
    std::fs::copy(source.join("config.json"), no_checkpoint.join("config.json")).unwrap();
    let cases = [
        (
            &wide,
            format!("{}:onehot", source.display()),
            "parameter `layer1.weight` has shape [8, 4, 3, 3], this run's network needs [12, 4, 3, 3]",
        ),
        (
            &other,
            format!("{}:onehot", source.display()),
            "was trained on task `toy`; this run's task is `other`",
        ),
        (
            &task,
            source.display().to_string(),
            "trained 2 methods (onehot, gaussian:sigma=1): name one as RUN:METHOD",
        ),
        (&task, format!("{}:dldl:sigma=3", source.display()), "trained no method `dldl:sigma=3`"),
        (&task, format!("{}:onehot", no_checkpoint.display()), "has no checkpoint.safetensors"),
        (&task, format!("{}:onehot", root.join("nowhere").display()), "has no readable config.json"),
        (&normalised, format!("{}:onehot", source.display()), "checkpoint has no tensor layer0.scale"),
    ];
    for (i, (task_file, init, needle)) in cases.iter().enumerate() {
        let out = root.join(format!("refused-{i}"));
        let r = dldl(&[
            "train",
            "--task",
            path(task_file),
            "--data-dir",
            path(&data),
            "--init",
            init,
            "--steps",
            "2",
            "--out",
            path(&out),
            "--device",
            "cpu",
        ]);
        assert_eq!(r.status.code(), Some(1), "{needle}: {}", text(&r));
        assert!(text(&r).contains(needle), "{needle}: {}", text(&r));
        assert!(!out.exists(), "{needle}: the refused run wrote {}", out.display());
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// `trace` records member 0's first steps; `parity.py --replay` trains PyTorch from the same initial
/// weights on the same batches, flips, shifts and dropout masks (with BatchNorm) and lands on our
/// weights to float rounding.
#[test]
fn a_trace_replays_in_pytorch_to_our_weights() {
    let (root, task) = fixture("trace", 0.01);
    let data = root.join("data");
    let options = "widths = [4, 8]\nbatchnorm = true\ndropout = 0.3\nconv_dropout = 0.1";
    let task = variant(&root, &task, "traced", |t| {
        t.replace("widths = [4, 8]", options).replace("lr = 0.01", "lr = 0.01\nhflip = true\nshift = 1")
    });
    let out = root.join("run");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--dist",
        "dldl:sigma=1",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    // 0 breaks the flag's own rule (checked while parsing, exit 2), 31 the run's schedule.
    for (steps, code, rule) in
        [("0", 2, "must be a whole number ≥ 1"), ("31", 1, "must lie in 1..=30 (the run's schedule)")]
    {
        let r = dldl(&["trace", "--run", path(&out), "--steps", steps]);
        assert_eq!(r.status.code(), Some(code), "{}", text(&r));
        assert!(text(&r).contains(rule), "{}", text(&r));
    }
    let r = dldl(&["trace", "--run", path(&out), "--steps", "3"]);
    assert!(r.status.success(), "{}", text(&r));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trace.json")).unwrap()).unwrap();
    assert_eq!(
        (record["steps"].as_u64(), record["dropout_sites"].as_array().map(Vec::len)),
        (Some(3), Some(3))
    );
    let npz = root.join("data.npz");
    let r = dldl(&["data", "show", path(&task), "--data-dir", path(&data), "--export", path(&npz)]);
    assert!(r.status.success(), "{}", text(&r));
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python/parity.py");
    let r = std::process::Command::new(python)
        .args([path(&script), "--run", path(&out), "--data", path(&npz), "--replay"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", text(&r));
    let report = String::from_utf8_lossy(&r.stdout).to_string();
    // Rows `| tensor | largest |ours| | largest |PyTorch − ours| | … |`: every weight within 1e-5.
    let rows: Vec<(String, f64)> = report
        .lines()
        .filter(|l| l.starts_with("| net."))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].to_string(), cells[3].parse().unwrap())
        })
        .collect();
    assert!(rows.iter().any(|(name, _)| name.contains("running_var")), "{report}");
    assert!(rows.len() >= 10 && rows.iter().all(|(_, gap)| *gap < 1e-5), "{report}");
    let _ = std::fs::remove_dir_all(&root);
}
