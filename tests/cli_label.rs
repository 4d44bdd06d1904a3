//! End-to-end tests of `dldl-meta label` and `info` through the built binary:
//! real tables on good input, clear errors (never a panic) on bad input.
use std::process::{Command, Output};

fn dldl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dldl-meta")).args(args).output().expect("binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn gaussian_table_has_the_closed_form_peak() {
    let out = dldl(&["label", "--family", "gaussian", "--bins", "0:100", "--label", "32", "--sigma", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    // p(32) = 1 / Σ_k exp(-k²/8) over k = -32..68 ≈ 0.199471 (= 1/(2√(2π)) to 6 digits).
    let row = text.lines().find(|l| l.trim_start().starts_with("32 ")).expect("row for label 32");
    let p: f64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    let z: f64 = (-32..=68).map(|k: i32| (-(k * k) as f64 / 8.0).exp()).sum();
    assert!((p - 1.0 / z).abs() < 1e-6, "{p} vs {}", 1.0 / z);
}

#[test]
fn every_family_prints_a_distribution() {
    let cases: &[&[&str]] = &[
        &["--family", "onehot", "--bins", "0:10", "--label", "3"],
        &["--family", "smoothing", "--bins", "0:10", "--label", "3", "--epsilon", "0.2"],
        &["--family", "gaussian2d", "--grid=-30:30:10,-30:30:10", "--label=0,10", "--sigma", "8,12"],
        &[
            "--family",
            "pdn",
            "--classes",
            "6",
            "--positive",
            "1,4",
            "--difficult",
            "2",
            "--p-d",
            "0.3",
            "--p-n",
            "0.05",
        ],
        &[
            "--family",
            "mixture",
            "--classes",
            "10",
            "--positive",
            "3",
            "--difficult",
            "7",
            "--sigma",
            "1",
            "--p-d",
            "0.3",
        ],
        &["--family", "segmentation", "--map", "0 0 1/0 1 1/2 v 1", "--kernel", "3", "--sigma", "1"],
    ];
    for case in cases {
        let mut args = vec!["label"];
        args.extend_from_slice(case);
        let out = dldl(&args);
        assert!(out.status.success(), "{case:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout(&out).lines().count() > 3, "{case:?} printed too little");
    }
    let pdn = stdout(&dldl(&[
        "label",
        "--family",
        "pdn",
        "--classes",
        "3",
        "--positive",
        "0",
        "--difficult",
        "1",
        "--p-d",
        "0.5",
    ]));
    // Weights 1, 0.5, 0 → 2/3, 1/3, 0.
    assert!(pdn.contains("0.666667") && pdn.contains("0.333333"), "{pdn}");
}

#[test]
fn the_mixture_reads_a_distance_file() {
    let dir = std::env::temp_dir().join(format!("dldl-label-distance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("d.csv");
    std::fs::write(&file, "0,1,2\n1,0,2\n2,2,0\n").unwrap();
    let args = |f: &std::path::Path| {
        [
            "label",
            "--family",
            "mixture",
            "--classes",
            "3",
            "--positive",
            "0",
            "--sigma",
            "1",
            "--p-d",
            "0.3",
            "--distance",
            f.to_str().unwrap(),
        ]
        .map(String::from)
    };
    let out = dldl(&args(&file).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Mass 1, e^{-1/2}, e^{-2} (distances 0, 1, 2 from the positive class 0 at σ = 1).
    let mass = [1.0, (-0.5f64).exp(), (-2.0f64).exp()];
    let z: f64 = mass.iter().sum();
    let text = stdout(&out);
    for m in mass {
        assert!(text.contains(&format!("{:.6}", m / z)), "{:.6} missing: {text}", m / z);
    }
    std::fs::write(&file, "0,1,2\n1,0,2\n2,-2,0\n").unwrap();
    let out = dldl(&args(&file).iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("d.csv, cell [2][1] (row 3, column 2) = -2")
            && err.contains(">= 0"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let cases: &[(&[&str], &str)] = &[
        (&["--family", "gaussian", "--label", "3", "--sigma", "0"], "sigma"),
        (&["--family", "gaussian", "--label", "3", "--sigma", "nan"], "sigma"),
        (&["--family", "gaussian", "--bins", "10:0", "--label", "3", "--sigma", "1"], "bins"),
        (&["--family", "pdn", "--classes", "4", "--positive", "0", "--p-d", "0.1", "--p-n", "0.2"], "p_n"),
        (&["--family", "segmentation", "--map", "0 1/1 0", "--kernel", "4", "--sigma", "1"], "kernel size"),
        (&["--family", "pdn", "--classes", "3", "--positive", "7"], "--positive"),
        (&["--family", "gaussian", "--sigma", "2"], "--label"),
        (
            &["--family", "pdn", "--classes", "3", "--positive", "2", "--difficult", "2"],
            "class 2 is in both --positive and --difficult",
        ),
        (
            &["--family", "gaussian", "--label", "3", "--sigma", "1e-30"],
            "must be at least 0.01 × the bin step (1) = 0.01",
        ),
        (
            &["--family", "gaussian", "--bins", "0:100:5", "--label", "30", "--sigma", "0.04"],
            "at least 0.01 × the bin step (5) = 0.05",
        ),
        (
            &["--family", "segmentation", "--map", "0 1/1 0", "--kernel", "3", "--sigma", "0.001"],
            "× the pixel (1)",
        ),
    ];
    for (case, needle) in cases {
        let mut args = vec!["label"];
        args.extend_from_slice(case);
        let out = dldl(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case:?} should fail cleanly: {err}");
        assert!(err.contains(needle), "{case:?}: error should name {needle:?}: {err}");
        assert!(!err.contains("panicked"), "{case:?} panicked: {err}");
    }
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["label", "info"] {
        let out = dldl(&[sub, "--help"]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("Usage"), "{sub} --help");
    }
    let label_help = stdout(&dldl(&["label", "--help"]));
    for flag in ["--family", "--bins", "--grid", "--sigma", "--p-d", "--kernel", "--stride", "--padding"] {
        assert!(label_help.contains(flag), "label --help lacks {flag}");
    }
}

#[test]
fn info_reports_the_libtorch_version() {
    let out = dldl(&["info"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("\"libtorch\": \"2.11.0"), "{}", stdout(&out));
}

#[test]
fn labels_outside_the_domain_are_refused_not_clamped() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--family", "gaussian", "--bins", "0:100", "--label", "150", "--sigma", "2"],
            "--label 150: label 150 lies outside the label domain 0..100",
        ),
        (&["--family", "onehot", "--bins", "0:100", "--label", "-3"], "label -3 lies outside"),
        (&["--family", "smoothing", "--bins", "0:100", "--label", "nan"], "label NaN is not a number"),
        (
            &["--family", "gaussian2d", "--grid=-30:30:10,-30:30:10", "--label=0,90", "--sigma", "8"],
            "axis 2: label 90 lies outside the label domain -30..30",
        ),
    ];
    for (case, needle) in cases {
        let mut args = vec!["label"];
        args.extend_from_slice(case);
        let out = dldl(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case:?} should be refused: {}", stdout(&out));
        assert!(err.contains(needle), "{case:?}: expected {needle:?} in {err}");
    }
    // Half a bin step beyond the end still belongs to the last bin.
    let edge = dldl(&["label", "--family", "onehot", "--bins", "0:100", "--label", "100.5"]);
    assert!(edge.status.success(), "{}", String::from_utf8_lossy(&edge.stderr));
}

#[test]
fn a_distribution_that_overflows_is_refused_naming_the_flags_and_prints_nothing() {
    let out = dldl(&[
        "label",
        "--family",
        "gaussian",
        "--bins",
        "0:1e300:1e299",
        "--sigma",
        "1e298",
        "--label",
        "0",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "--bins 0:1e300:1e299 with --sigma 1e298: the distribution is not finite (11 of 11 values"
        ),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "no rows for a refused distribution: {}", stdout(&out));
}
