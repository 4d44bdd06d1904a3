//! End-to-end regularisation options: a task with dropout, shifts and standardised inputs trains,
//! records its settings, stores the training statistics, and `eval` reads them (never recomputes).
mod common;

use common::{dldl, fixture, path, text};

fn json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn eval_applies_the_stored_training_statistics() {
    let (root, task) = fixture("standardise", 0.01);
    let toml = std::fs::read_to_string(&task).unwrap();
    let toml = toml
        .replace("colour = \"grey\"", "colour = \"grey\"\ndropout = 0.3\nstandardise = true")
        .replace("lr = 0.01", "lr = 0.01\nshift = 2\nhflip = true");
    std::fs::write(&task, toml).unwrap();
    let (data, out) = (root.join("data"), root.join("run"));
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--dist",
        "onehot",
        "--seeds",
        "2",
        "--out",
        path(&out),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let config = json(&out.join("config.json"));
    assert_eq!(
        (config["train"]["dropout"]["fc"].as_f64(), config["train"]["shift"].as_i64()),
        (Some(0.3), Some(2))
    );
    let stats = json(&out.join("input-stats.json"));
    assert_eq!(stats["examples"], 72, "the 60 % training split of 120 images");

    let eval = || dldl(&["eval", "--run", path(&out), "--data-dir", path(&data), "--device", "cpu"]);
    let first = eval();
    assert!(first.status.success(), "{}", text(&first));
    // Other statistics in the run directory change what eval computes.
    let mut tampered = stats.clone();
    tampered["mean"] = serde_json::json!([0.9]);
    std::fs::write(out.join("input-stats.json"), tampered.to_string()).unwrap();
    let second = eval();
    assert!(second.status.success(), "{}", text(&second));
    assert_ne!(String::from_utf8_lossy(&first.stdout), String::from_utf8_lossy(&second.stdout));
    // Without them eval refuses, naming the file.
    std::fs::remove_file(out.join("input-stats.json")).unwrap();
    let missing = eval();
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).contains("input-stats.json"), "{}", text(&missing));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn bad_regularisation_settings_name_the_file_and_field() {
    let (root, task) = fixture("bad-regularisation", 0.01);
    let toml = std::fs::read_to_string(&task).unwrap();
    for (edit, field) in [
        (
            toml.replace("colour = \"grey\"", "colour = \"grey\"\ndropout = 1.0"),
            "field `model.dropout`: must lie in [0, 1)",
        ),
        (
            toml.replace("lr = 0.01", "lr = 0.01\nschedule = \"exponential\""),
            "field `train.schedule`: unknown variant `exponential`",
        ),
    ] {
        std::fs::write(&task, edit).unwrap();
        let out = root.join("r");
        let r = dldl(&[
            "train",
            "--task",
            path(&task),
            "--data-dir",
            path(&root.join("data")),
            "--out",
            path(&out),
            "--device",
            "cpu",
        ]);
        assert_eq!(r.status.code(), Some(1), "{}", text(&r));
        assert!(text(&r).contains("toy.toml") && text(&r).contains(field), "{}", text(&r));
        assert!(!out.exists(), "nothing is written for a bad task file");
    }
    std::fs::remove_dir_all(&root).unwrap();
}
