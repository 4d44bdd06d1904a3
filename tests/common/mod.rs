//! Shared fixtures of the end-to-end tests: the binary runner and a small image-folder task
//! (brightness encodes an ordinal label) that each test writes into its own temp directory.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn dldl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dldl-meta"))
        .args(args)
        .env("DLDL_THREADS", "1")
        .output()
        .expect("binary runs")
}

/// Starts the binary with `args` (one thread) and kills it with SIGKILL once `ready()` holds (or
/// after `limit`), as a user's kill -9 would.
pub fn run_until_killed(args: &[String], ready: impl Fn() -> bool, limit: std::time::Duration) {
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_dldl-meta")).args(args).env("DLDL_THREADS", "1").spawn().unwrap();
    let started = std::time::Instant::now();
    while !ready() && started.elapsed() < limit {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// `train --task TASK --data-dir DATA` with `dists`, 2 seeds and 150 steps on the CPU into `out`,
/// which must succeed (the short runs that compare two ways of reading the same table).
pub fn train_two_seeds(task: &str, data: &Path, dists: &[&str], out: &Path) {
    let mut args = vec!["train", "--task", task, "--data-dir", path(data)];
    for d in dists {
        args.extend(["--dist", d]);
    }
    args.extend(["--seeds", "2", "--steps", "150", "--out", path(out), "--device", "cpu"]);
    let r = dldl(&args);
    assert!(r.status.success(), "{task}: {}", text(&r));
}

/// The `members` of a train run's metrics.json.
pub fn trained_members(run: &Path) -> serde_json::Value {
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    metrics["members"].clone()
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// 120 grey 16×16 images whose brightness encodes an ordinal label 0..=5, and a task file for them.
pub fn fixture(name: &str, lr: f64) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("dldl-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let images = root.join("data/faces");
    std::fs::create_dir_all(&images).unwrap();
    let mut csv = String::from("path,label\n");
    for i in 0..120u32 {
        let label = i % 6;
        let img = image::GrayImage::from_fn(16, 16, |x, y| {
            image::Luma([(label * 40 + (x * 7 + y * 3 + i) % 15) as u8])
        });
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

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}
