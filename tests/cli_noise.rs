//! Planted label noise end to end: `data show` reports what it changed, `train` records it with
//! the run, and a noise table that breaks a rule is refused before anything is written.
mod common;

use common::{dldl, fixture, path, text};

/// The fixture's task with `noise` appended as its `[labels.noise]` table.
fn noisy_task(root: &std::path::Path, task: &std::path::Path, noise: &str) -> std::path::PathBuf {
    let body = std::fs::read_to_string(task)
        .unwrap()
        .replace("bins = \"0:5:1\"\n", &format!("bins = \"0:5:1\"\n[labels.noise]\n{noise}"));
    let file = root.join("noisy.toml");
    std::fs::write(&file, body).unwrap();
    file
}

#[test]
fn planted_noise_is_shown_recorded_and_its_bad_settings_refused() {
    let (root, task) = fixture("noise", 0.01);
    let data = root.join("data");
    let noisy = noisy_task(&root, &task, "kind = \"flip\"\np = 0.5\npools = [\"train\"]\nseed = 2\n");
    let r = dldl(&["data", "show", path(&noisy), "--data-dir", path(&data)]);
    assert!(r.status.success(), "{}", text(&r));
    // 72 training images; a flip draws one of 6 labels, so about 0.5 · 5/6 of them change.
    let line = text(&r)
        .lines()
        .find(|l| l.starts_with("planted noise, train pool:"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{}", text(&r)));
    let changed: usize = line.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!(line.contains("of 72 labels changed") && (15..=45).contains(&changed), "{line}");
    assert!(!text(&r).contains("planted noise, val pool"), "{}", text(&r));
    let out = root.join("run");
    let r = dldl(&[
        "train",
        "--task",
        path(&noisy),
        "--data-dir",
        path(&data),
        "--dist",
        "dldl:sigma=1",
        "--seeds",
        "1",
        "--out",
        path(&out),
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert!(config.contains("[labels.noise]") && config.contains("p = 0.5"), "{config}");
    for (noise, needle) in [
        (
            "kind = \"flip\"\np = 0.2\npools = [\"test\"]\n",
            "field `labels.noise.pools`: \"test\": only \"train\" and \"val\" can be noised",
        ),
        (
            "kind = \"gaussian\"\nknots = [3.0, 1.0]\nsd = [1.0, 2.0]\n",
            "field `labels.noise.knots`: [3.0, 1.0]: knots must increase strictly",
        ),
        ("kind = \"gaussian\"\nknots = [0.0, 9.0]\nsd = [1.0, 2.0]\n", "knot 9 lies outside the bins [0, 5]"),
        ("kind = \"gaussian\"\nknots = [0.0]\nsd = [-0.5]\n", "sd -0.5 must be finite and >= 0"),
        ("kind = \"flip\"\np = -0.1\n", "flip noise needs a probability p in [0, 1]"),
        ("kind = \"salt\"\n", "unknown variant `salt`"),
    ] {
        let bad = noisy_task(&root, &task, noise);
        let out = root.join("refused");
        let r = dldl(&[
            "train",
            "--task",
            path(&bad),
            "--data-dir",
            path(&data),
            "--dist",
            "dldl:sigma=1",
            "--out",
            path(&out),
        ]);
        assert_eq!(r.status.code(), Some(1), "{noise}: {}", text(&r));
        assert!(text(&r).contains(needle) && text(&r).contains("noisy.toml"), "{noise}: {}", text(&r));
        assert!(!out.exists(), "{noise}: a refused task wrote its run directory");
    }
    let _ = std::fs::remove_dir_all(&root);
}
