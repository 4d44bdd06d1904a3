//! End-to-end `dldl-meta train` and `eval` on a small image-folder task the test writes itself:
//! a run directory with config, curves, checkpoint and metrics; refusal of a different run; clear errors.
mod common;

use common::{dldl, fixture, path, text};

#[test]
fn train_writes_a_run_directory_and_eval_reads_it() {
    let (root, task) = fixture("ok", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let args = ["train", "--task", path(&task), "--data-dir", path(&data), "--dist", "onehot", "--dist", "dldl:sigma=1", "--seeds", "2", "--eval-every", "10", "--chunk", "3", "--out", path(&out), "--device", "cpu"];
    let result = dldl(&args);
    assert!(result.status.success(), "{}", text(&result));
    let summary = String::from_utf8_lossy(&result.stdout);
    assert!(summary.contains("| onehot | 2 |") && summary.contains("| gaussian:sigma=1 | 2 |"), "{summary}");
    for file in ["config.json", "curves.jsonl", "checkpoint.safetensors", "metrics.json", "summary.md"] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["seeds"], serde_json::json!([0, 1, 0, 1]));
    assert!(config["environment"]["libtorch"].as_str().unwrap().starts_with("2.11.0"));
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
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
    assert!(text(&eval).contains("(120 examples)"), "{}", text(&eval));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn same_seed_gives_the_same_numbers() {
    let (root, task) = fixture("repro", 0.01);
    let data = root.join("data");
    let run = |name: &str| {
        let out = root.join(name);
        let r = dldl(&["train", "--task", path(&task), "--data-dir", path(&data), "--out", path(&out), "--device", "cpu"]);
        assert!(r.status.success(), "{}", text(&r));
        let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
        m["members"][0]["metrics"].clone()
    };
    assert_eq!(run("a"), run("b"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn bad_settings_are_clear_errors() {
    let (root, task) = fixture("bad", -1.0);
    let data = root.join("data");
    let r = dldl(&["train", "--task", path(&task), "--data-dir", path(&data), "--out", path(&root.join("r"))]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("toy.toml") && text(&r).contains("lr"), "{}", text(&r));
    let (root2, task2) = fixture("cuda", 0.01);
    if tch::Cuda::device_count() == 0 {
        let r = dldl(&["train", "--task", path(&task2), "--data-dir", path(&root2.join("data")), "--out", path(&root2.join("r")), "--device", "cuda"]);
        assert_eq!(r.status.code(), Some(1));
        assert!(text(&r).contains("CUDA device"), "{}", text(&r));
    }
    let r = dldl(&["train", "--task", path(&task2), "--data-dir", path(&root2.join("data")), "--out", path(&root2.join("r")), "--dist", "dldl:sigma=0"]);
    assert!(text(&r).contains("sigma") && r.status.code() == Some(1), "{}", text(&r));
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&root2);
}
