//! `dldl-meta features`: a trained CNN's backbone features of every example, with labels and the
//! run's split, as a CSV table that a `csv` task trains a head on (same split, pool by pool).
mod common;

use common::{dldl, fixture, path, text};

fn split_sizes(run: &std::path::Path) -> serde_json::Value {
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    config["split_sizes"].clone()
}

#[test]
fn exported_features_train_a_head_on_the_runs_own_split() {
    let (root, task) = fixture("features", 0.01);
    let data = root.join("data");
    let run = root.join("run");
    let r = dldl(&[
        "train",
        "--task",
        path(&task),
        "--data-dir",
        path(&data),
        "--steps",
        "20",
        "--out",
        path(&run),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let table = root.join("features.csv");
    let r = dldl(&["features", "--run", path(&run), "--out", path(&table), "--device", "cpu"]);
    assert!(r.status.success(), "{}", text(&r));
    // 16×16 grey → conv 4 → pool → conv 8 → pool: 8 × 4 × 4 = 128 features.
    assert!(text(&r).contains("wrote 120 examples × 128 features of member 0"), "{}", text(&r));
    let csv = std::fs::read_to_string(&table).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!((header[0], header[127], header[128], header[129]), ("f0", "f127", "label", "split"));
    assert_eq!(csv.lines().count(), 121);
    let head_task = root.join("head.toml");
    let head = std::fs::read_to_string(&task)
        .unwrap()
        .replace(
            "kind = \"image-folder\"\npath = \"faces\"",
            "kind = \"csv\"\npath = \"features.csv\"\nlabel = \"label\"\nsplit = \"split\"",
        )
        .replace(
            "kind = \"cnn\"\nwidths = [4, 8]\nfc = [16]\ninput_size = 16\ncolour = \"grey\"",
            "kind = \"mlp\"\nwidths = [16]",
        )
        .replace("train = 0.6\nval = 0.2\ntest = 0.2", "train = 0.3\nval = 0.3\ntest = 0.4");
    std::fs::write(&head_task, head).unwrap();
    let head_run = root.join("head");
    let r = dldl(&[
        "train",
        "--task",
        path(&head_task),
        "--data-dir",
        path(&root),
        "--out",
        path(&head_run),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    assert_eq!(
        split_sizes(&head_run),
        split_sizes(&run),
        "the table's split column, not [splits]' fractions"
    );
    // Refusals: an existing table, a member the run does not have.
    let again = dldl(&["features", "--run", path(&run), "--out", path(&table), "--device", "cpu"]);
    assert!(!again.status.success() && text(&again).contains("exists"), "{}", text(&again));
    let other = root.join("other.csv");
    let r =
        dldl(&["features", "--run", path(&run), "--out", path(&other), "--member", "3", "--device", "cpu"]);
    assert!(
        !r.status.success() && text(&r).contains("--member 3: the run trained 1 member(s)"),
        "{}",
        text(&r)
    );
    assert!(!other.exists());
    let _ = std::fs::remove_dir_all(&root);
}

/// A head trained on the exported features, started from the source run's head (`train --init`
/// with a network of fewer layers takes the source's last layers), matches the frozen-feature warm
/// start of the image task on the same split: the same test metrics, to the last bit (the same
/// batches from the same seed and pools, and features the frozen layers compute alike).
#[test]
fn a_head_on_exported_features_matches_the_frozen_warm_start() {
    let (root, task) = fixture("head-match", 0.01);
    let data = root.join("data");
    let run = root.join("run");
    let train = |task: &std::path::Path,
                 data: &std::path::Path,
                 init: Option<&std::path::Path>,
                 out: &std::path::Path| {
        let mut args = vec!["train", "--task", path(task), "--data-dir", path(data), "--steps", "20"];
        if let Some(init) = init {
            args.extend(["--init", path(init)]);
        }
        args.extend(["--out", path(out), "--device", "cpu"]);
        let r = dldl(&args);
        assert!(r.status.success(), "{}", text(&r));
        text(&r)
    };
    train(&task, &data, None, &run);
    let table = root.join("features.csv");
    let r = dldl(&["features", "--run", path(&run), "--out", path(&table), "--device", "cpu"]);
    assert!(r.status.success(), "{}", text(&r));
    let toy = std::fs::read_to_string(&task).unwrap();
    std::fs::create_dir_all(root.join("frozen")).unwrap();
    let frozen_task = root.join("frozen/toy.toml");
    std::fs::write(&frozen_task, toy.replace("[train]\n", "[train]\nfreeze = \"features\"\n")).unwrap();
    let warm = root.join("warm");
    train(&frozen_task, &data, Some(&run), &warm);
    let head_task = root.join("head.toml");
    let head = toy
        .replace(
            "kind = \"image-folder\"\npath = \"faces\"",
            "kind = \"csv\"\npath = \"features.csv\"\nlabel = \"label\"\nsplit = \"split\"",
        )
        .replace(
            "kind = \"cnn\"\nwidths = [4, 8]\nfc = [16]\ninput_size = 16\ncolour = \"grey\"",
            "kind = \"mlp\"\nwidths = [16]\nstandardise = false",
        );
    std::fs::write(&head_task, head).unwrap();
    let head_run = root.join("head");
    let printed = train(&head_task, &root, Some(&run), &head_run);
    assert!(printed.contains("starts from"), "{printed}");
    let metrics = |run: &std::path::Path| common::trained_members(run)[0]["metrics"].clone();
    let (frozen, on_features) = (metrics(&warm), metrics(&head_run));
    assert!(frozen["mae"].as_f64().is_some_and(f64::is_finite), "{frozen}");
    assert_eq!(frozen, on_features, "frozen warm start and head on features, every test metric");
    // The head warm start is a real start: it differs from a head trained from fresh weights.
    let fresh = root.join("fresh");
    train(&head_task, &root, None, &fresh);
    assert_ne!(metrics(&fresh)["mae"], on_features["mae"]);
    let _ = std::fs::remove_dir_all(&root);
}
