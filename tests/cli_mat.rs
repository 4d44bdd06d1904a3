//! `[dataset] kind = "mat"`: red wine saved by scipy.io.savemat trains to exactly the numbers of
//! the compiled-in wine task, and scipy-written files are read (integer and single classes, 1 × N
//! labels, compression) or refused by file and variable; an LDL benchmark's layout (`features` and
//! N × C `labels` distributions) is read as given distributions. Relies on `.venv/bin/python` with scipy,
//! which `make test` installs.
mod common;

use common::{path, text, train_two_seeds, trained_members};
use dldl_meta::data::mat::{load, MatSpec};
use dldl_meta::domain::{LabelKind, Labels};
use std::path::{Path, PathBuf};

fn temp(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("dldl-mat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// Runs `script` with the project's Python (`sys.argv[1]` is `dir`).
fn python(script: &str, dir: &Path) {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let r = std::process::Command::new(&python).args(["-c", script, path(dir)]).output().unwrap();
    assert!(r.status.success(), "{} (make test installs scipy): {}", python.display(), text(&r));
}

#[test]
fn wine_through_the_mat_kind_reproduces_the_compiled_in_task() {
    let root = temp("wine");
    dldl_meta::data::wine::write_csv(&root).unwrap();
    python(
        "import sys, numpy as np, scipy.io\n\
         d = sys.argv[1]\n\
         t = np.genfromtxt(d + '/quality-wine.csv', delimiter=',', skip_header=1)\n\
         scipy.io.savemat(d + '/quality-wine.mat', {'note': 'red wine', 'features': t[:, :-1],\n\
                          'quality': t[:, -1:].astype(np.int64)}, do_compression=True)\n",
        &root,
    );
    let csv_task = include_str!("../tasks/quality-wine-csv.toml");
    let task = root.join("quality-wine-mat.toml");
    let dataset = "kind = \"mat\"\npath = \"quality-wine.mat\"\nlabel = \"quality\"\n\n[labels]";
    let start = csv_task.find("kind = \"csv\"").unwrap();
    let end = csv_task.find("[labels]").unwrap();
    std::fs::write(&task, format!("{}{dataset}{}", &csv_task[..start], &csv_task[end + 8..])).unwrap();
    let train = |task: &str, out: &Path| train_two_seeds(task, &root, &["dldl:sigma=0.5"], out);
    let (built_in, mat) = (root.join("built-in"), root.join("mat"));
    train("tasks/quality-wine.toml", &built_in);
    train(path(&task), &mat);
    assert_eq!(trained_members(&mat).as_array().map(Vec::len), Some(2), "two seeds trained");
    assert_eq!(
        trained_members(&built_in),
        trained_members(&mat),
        "same split, seeds and inputs: the same test metrics"
    );
    assert_eq!(
        std::fs::read_to_string(built_in.join("input-stats.json")).unwrap(),
        std::fs::read_to_string(mat.join("input-stats.json")).unwrap(),
        "standardised by the training split, as a table"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn scipy_files_are_read_or_refused_by_variable() {
    let root = temp("scipy");
    python(
        "import sys, numpy as np, scipy.io, scipy.sparse\n\
         d = sys.argv[1]\n\
         X = np.array([[1., 2.], [3., 4.], [5., 6.]])\n\
         scipy.io.savemat(d + '/ok.mat', {'features': X, 'age': np.array([30, 41, 52], dtype=np.int32),\n\
                          'x32': X.astype(np.float32), 'u8': np.array([[30], [41], [52]], dtype=np.uint8)})\n\
         scipy.io.savemat(d + '/bad.mat', {'features': X, 'name': 'abc', 'rec': {'a': 1.0},\n\
                          'cell': np.array([[1.0, 'a']], dtype=object), 'z': X[:, :1] + 1j,\n\
                          'sp': scipy.sparse.csc_matrix(X[:, :1]), 'dist': np.full((3, 4), 0.25),\n\
                          'f3': np.zeros((3, 2, 2)), 'nan': np.array([[1.0], [np.nan], [3.0]])})\n",
        &root,
    );
    let spec = |file: &str, features: &str, label: &str| MatSpec {
        path: root.join(file),
        features: features.into(),
        label: label.into(),
        kind: LabelKind::Ordinal,
    };
    for (features, label) in [("features", "age"), ("x32", "u8")] {
        let d = load(&spec("ok.mat", features, label)).unwrap();
        assert_eq!(Vec::<f32>::try_from(d.inputs.view([-1])).unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let Labels::Ordinal(y) = &d.labels else { panic!("ordinal labels") };
        assert_eq!(Vec::<f32>::try_from(y).unwrap(), vec![30.0, 41.0, 52.0], "{label}");
    }
    let cases = [
        ("features", "name", "variable `name` is a char array, not numeric"),
        ("features", "rec", "variable `rec` is a struct array, not numeric"),
        ("features", "cell", "variable `cell` is a cell array, not numeric"),
        ("features", "z", "variable `z` holds complex numbers"),
        ("features", "sp", "variable `sp` is a sparse array"),
        ("features", "dist", "variable `dist`: is 3 × 4: given label distributions"),
        ("f3", "nan", "variable `f3`: is 3 × 2 × 2"),
        ("features", "nan", "variable `nan`: row 2, column 1: NaN is not finite"),
        ("features", "age", "no label variable `age`; it holds: features (double 3 × 2), name (char 1 × 3)"),
    ];
    for (features, label, needle) in cases {
        let err =
            load(&spec("bad.mat", features, label)).err().unwrap_or_else(|| panic!("{needle}: accepted"));
        let err = err.to_string();
        assert!(err.contains("bad.mat") && err.contains(needle), "{needle}: {err}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// The LDL benchmark layout: `features` N × F and `labels` N × C, each row a distribution (scipy
/// writes the file); rows are read in order, and a row that is not a distribution is refused by
/// variable and row.
#[test]
fn ldl_benchmark_distributions_are_read_or_refused() {
    let root = temp("ldl");
    python(
        "import sys, numpy as np, scipy.io\n\
         d = sys.argv[1]\n\
         X = np.array([[1., 2.], [3., 4.]])\n\
         P = np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])\n\
         scipy.io.savemat(d + '/ldl.mat', {'features': X, 'labels': P, 'bad': np.array([[0.5, 0.6, 0.0], [1, 0, 0]]),\n\
                          'neg': np.array([[1.5, -0.5, 0.0], [1, 0, 0]]), 'one': np.array([[1.0], [1.0]])})\n",
        &root,
    );
    let spec = |label: &str| MatSpec {
        path: root.join("ldl.mat"),
        features: "features".into(),
        label: label.into(),
        kind: LabelKind::Distribution,
    };
    let d = load(&spec("labels")).unwrap();
    let Labels::Distribution(p) = &d.labels else { panic!("given distributions") };
    assert_eq!(p.size(), vec![2, 3]);
    assert_eq!(Vec::<f32>::try_from(p.view([-1])).unwrap(), vec![0.5, 0.25, 0.25, 0.1, 0.1, 0.8]);
    for (label, needle) in [
        ("bad", "variable `bad`: row 1: columns `column 1` … `column 3` sum to 1.1"),
        ("neg", "variable `neg`: row 1: column `column 2`: -0.5 is negative"),
        ("one", "variable `one`: is 2 × 1; given distributions need one row per example (2) and at least 2 columns"),
    ] {
        let err = load(&spec(label)).err().unwrap_or_else(|| panic!("{label}: accepted")).to_string();
        assert!(err.contains("ldl.mat") && err.contains(needle), "{needle}: {err}");
    }
    let _ = std::fs::remove_dir_all(&root);
}
