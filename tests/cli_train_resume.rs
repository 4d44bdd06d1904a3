//! `dldl-meta train` killed with -9 in the middle of a chunk and started again: it says where it
//! resumes, and every record (weights, metrics, curves) equals the uninterrupted run's byte for byte.
mod common;

use common::{dldl, fixture, path, run_until_killed, text};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fixture task with BatchNorm, dropout, flips, a cosine schedule and enough steps to be killed.
fn task_with_every_random_stream(root: &Path, task: &Path) -> PathBuf {
    let text = std::fs::read_to_string(task).unwrap();
    let text = text
        .replace("fc = [16]", "fc = [16]\ndropout = 0.3\nbatchnorm = true")
        .replace("steps = 30", "steps = 400\nschedule = \"cosine\"\nhflip = true");
    let file = root.join("resume.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn train_args(task: &Path, data: &Path, out: &Path) -> Vec<String> {
    [
        "train",
        "--task",
        path(task),
        "--data-dir",
        path(data),
        "--dist",
        "onehot",
        "--dist",
        "dldl:sigma=1",
        "--seeds",
        "2",
        "--chunk",
        "2",
        "--eval-every",
        "25",
        "--patience",
        "3",
        "--checkpoint-every",
        "7",
        "--out",
        path(out),
        "--device",
        "cpu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

/// metrics.json without its wall-clock seconds.
fn timeless_metrics(dir: &Path) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_slice(&read(dir, "metrics.json")).unwrap();
    value.as_object_mut().unwrap().remove("seconds");
    value
}

#[test]
fn a_killed_train_resumes_from_its_snapshot_to_identical_records() {
    let (root, fixture_task) = fixture("train-resume", 0.01);
    let task = task_with_every_random_stream(&root, &fixture_task);
    let data = root.join("data");
    let whole = root.join("whole");
    let args = |out: &Path| train_args(&task, &data, out);
    let r = dldl(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", text(&r));
    assert!(!text(&r).contains("resuming"), "{}", text(&r));
    let snapshots = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("snapshot-"))
            .count()
    };
    assert_eq!(snapshots(&whole), 0, "a finished run keeps no snapshots");

    // Killed once the second chunk (members 2 and 3) has saved a snapshot of its own.
    let killed = root.join("killed");
    let second_chunk = killed.join("snapshot-chunk-1.safetensors");
    run_until_killed(&args(&killed), || second_chunk.exists(), Duration::from_secs(120));
    assert!(!killed.join("summary.md").exists(), "the run should have been killed before its end");

    let r = dldl(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("resuming at step"), "{}", text(&r));
    assert_eq!(read(&whole, "checkpoint.safetensors"), read(&killed, "checkpoint.safetensors"), "weights");
    assert_eq!(timeless_metrics(&whole), timeless_metrics(&killed));
    assert_eq!(
        String::from_utf8(read(&whole, "curves.jsonl")).unwrap(),
        String::from_utf8(read(&killed, "curves.jsonl")).unwrap(),
        "every validation once, in the uninterrupted order"
    );
    assert_eq!(snapshots(&killed), 0);
    let _ = std::fs::remove_dir_all(&root);
}

/// A damaged snapshot is named, with what to do, and nothing is trained on it.
#[test]
fn a_damaged_snapshot_is_refused_by_name() {
    let (root, fixture_task) = fixture("train-resume-damaged", 0.01);
    let task = task_with_every_random_stream(&root, &fixture_task);
    let data = root.join("data");
    let out = root.join("run");
    let args = train_args(&task, &data, &out);
    let snapshot = out.join("snapshot-chunk-0.safetensors");
    run_until_killed(&args, || snapshot.exists(), Duration::from_secs(120));
    let bytes = std::fs::read(&snapshot).unwrap();
    std::fs::write(&snapshot, &bytes[..bytes.len() / 2]).unwrap();
    let r = dldl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(
        text(&r).contains("snapshot-chunk-0.safetensors") && text(&r).contains("remove the file"),
        "{}",
        text(&r)
    );
    assert!(!out.join("summary.md").exists());
    let _ = std::fs::remove_dir_all(&root);
}
