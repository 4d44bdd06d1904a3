//! End-to-end `dldl-meta train` and `eval` on a small image-folder task the test writes itself:
//! a run directory with config, curves, checkpoint and metrics; refusal of a different run; clear errors.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dldl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dldl-meta")).args(args).env("DLDL_THREADS", "1").output().expect("binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// 60 grey 16×16 images whose brightness encodes an ordinal label 0..=5, and a task file for them.
fn fixture(name: &str, lr: f64) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("dldl-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let images = root.join("data/faces");
    std::fs::create_dir_all(&images).unwrap();
    let mut csv = String::from("path,label\n");
    for i in 0..60u32 {
        let label = i % 6;
        let img = image::GrayImage::from_fn(16, 16, |x, y| image::Luma([(label * 40 + (x * 7 + y * 3 + i) % 15) as u8]));
        let file = format!("img{i:03}.png");
        img.save(images.join(&file)).unwrap();
        csv.push_str(&format!("{file},{label}\n"));
    }
    std::fs::write(images.join("labels.csv"), csv).unwrap();
    let task = root.join("toy.toml");
    std::fs::write(
        &task,
        format!(
            r#"description = "toy brightness task"
[dataset]
kind = "image-folder"
path = "faces"
[labels]
bins = "0:5:1"
[distribution]
family = "gaussian"
sigma = 1.0
[model]
kind = "cnn"
widths = [4, 8]
fc = [16]
input_size = 16
colour = "grey"
[train]
steps = 30
batch = 8
optimiser = "adam"
lr = {lr}
[splits]
train = 0.6
val = 0.2
test = 0.2
seed = 0
[episodes]
shots = 1
query = 1
seed = 0
"#
        ),
    )
    .unwrap();
    (root, task)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_writes_a_run_directory_and_eval_reads_it() {
    let (root, task) = fixture("ok", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let args = ["train", "--task", path(&task), "--data-dir", path(&data), "--dist", "onehot", "--dist", "dldl:sigma=1", "--seeds", "2", "--eval-every", "10", "--out", path(&out), "--device", "cpu"];
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
    assert!(text(&eval).contains("(60 examples)"), "{}", text(&eval));
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
