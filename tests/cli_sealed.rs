//! A finished `train` or `search` run opened again checks its records against the seal written at
//! its end: a cut or missing file is named (exit 1) instead of the stored table being trusted.
mod common;

use common::{dldl, fixture, path, text};
use std::path::Path;

fn cut_in_half(file: &Path) {
    let bytes = std::fs::read(file).unwrap();
    std::fs::write(file, &bytes[..bytes.len() / 2]).unwrap();
}

fn refused_naming(args: &[&str], file: &str) {
    let r = dldl(args);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains(file) && text(&r).contains("since the run finished"), "{}", text(&r));
}

#[test]
fn a_finished_train_run_with_a_cut_checkpoint_is_refused() {
    let (root, task) = fixture("sealed-train", 0.01);
    let data = root.join("data");
    let out = root.join("run");
    let args =
        ["train", "--task", path(&task), "--data-dir", path(&data), "--out", path(&out), "--device", "cpu"];
    let r = dldl(&args);
    assert!(r.status.success(), "{}", text(&r));
    let again = dldl(&args);
    assert!(again.status.success() && text(&again).contains("already finished"), "{}", text(&again));
    cut_in_half(&out.join("checkpoint.safetensors"));
    refused_naming(&args, "checkpoint.safetensors");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_finished_search_with_cut_or_missing_records_is_refused() {
    let (root, task) = fixture("sealed-search", 0.01);
    let data = root.join("data");
    let meta = root.join("grid.toml");
    std::fs::write(
        &meta,
        "method = \"grid\"\nlearn = \"sigma\"\ngrid = [0.5, 2.0]\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = 1\nvalidation_episodes = 2\n[inner]\nsteps = 4\nbatch = 4\nlr = 0.01\n",
    )
    .unwrap();
    let out = root.join("run");
    let args = [
        "search",
        "--task",
        path(&task),
        "--meta",
        path(&meta),
        "--data-dir",
        path(&data),
        "--out",
        path(&out),
        "--device",
        "cpu",
    ];
    let r = dldl(&args);
    assert!(r.status.success(), "{}", text(&r));
    assert!(dldl(&args).status.success(), "an intact finished study reruns");
    let trials = out.join("trials.jsonl");
    let kept = std::fs::read(&trials).unwrap();
    cut_in_half(&trials);
    refused_naming(&args, "trials.jsonl");
    std::fs::write(&trials, kept).unwrap();
    std::fs::remove_file(out.join("state.json")).unwrap();
    refused_naming(&args, "state.json");
    let _ = std::fs::remove_dir_all(&root);
}
