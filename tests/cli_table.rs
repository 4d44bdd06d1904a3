//! `[dataset] kind = "csv"`: red wine written as a CSV table trains to exactly the numbers of the
//! compiled-in wine task, and a table's standardisation comes from its training split alone.
mod common;

use common::{dldl, text, train_two_seeds, trained_members};
use dldl_meta::data::{DataRoots, Pool};
use dldl_meta::train::setup::PreparedTask;
use std::path::{Path, PathBuf};

fn temp(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("dldl-table-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

#[test]
fn wine_through_the_csv_kind_reproduces_the_compiled_in_task() {
    let root = temp("wine");
    let table = dldl_meta::data::wine::write_csv(&root).unwrap();
    assert_eq!(table, root.join("quality-wine.csv"));
    let train = |task: &str, out: &Path| train_two_seeds(task, &root, &["dldl:sigma=0.5", "onehot"], out);
    let (built_in, csv) = (root.join("built-in"), root.join("csv"));
    train("tasks/quality-wine.toml", &built_in);
    train("tasks/quality-wine-csv.toml", &csv);
    assert_eq!(
        trained_members(&built_in),
        trained_members(&csv),
        "same split, seeds and inputs: the same test metrics"
    );
    assert_eq!(
        std::fs::read_to_string(built_in.join("input-stats.json")).unwrap(),
        std::fs::read_to_string(csv.join("input-stats.json")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// Poisoning every test row (and every validation row) of the table leaves the statistics the
/// inputs are standardised by unchanged, and the training rows' inputs too.
#[test]
fn standardisation_comes_from_the_training_split_only() {
    let root = temp("poison");
    let table = dldl_meta::data::wine::write_csv(&root).unwrap();
    let roots = DataRoots { external: root.clone(), fetched: root.join("f"), cache: root.join("c") };
    let task = Path::new("tasks/quality-wine-csv.toml");
    let clean = PreparedTask::load(task, &roots).unwrap();
    let mut poisoned: Vec<i64> = clean.split.pool(Pool::Test).to_vec();
    poisoned.extend(clean.split.pool(Pool::Val));
    let text = std::fs::read_to_string(&table).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for &row in &poisoned {
        let line = &mut lines[row as usize + 1];
        let quality = line.rsplit(',').next().unwrap().to_string();
        let width = line.split(',').count() - 1;
        *line = format!("{},{quality}", vec!["1e6"; width].join(","));
    }
    std::fs::write(&table, lines.join("\n") + "\n").unwrap();
    let dirty = PreparedTask::load(task, &roots).unwrap();
    assert_eq!(clean.split.pool(Pool::Test), dirty.split.pool(Pool::Test), "the split ignores inputs");
    assert_eq!(clean.input_stats, dirty.input_stats);
    let rows = tch::Tensor::from_slice(clean.split.pool(Pool::Train));
    assert!(clean.dataset.inputs.index_select(0, &rows).equal(&dirty.dataset.inputs.index_select(0, &rows)));
    let _ = std::fs::remove_dir_all(&root);
}

/// `bench --table`: a seeded table of the given size is written and read back (its speed is
/// printed, never asserted); a malformed size is refused by the flag.
#[test]
fn the_table_load_benchmark_reads_its_table_and_refuses_a_bad_size() {
    let r = dldl(&["bench", "--table", "50x7", "--rounds", "2"]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("csv table 50 × 7") && text(&r).contains("median of 2"), "{}", text(&r));
    for bad in ["50", "0x7", "50x", "axb"] {
        let r = dldl(&["bench", "--table", bad, "--rounds", "1"]);
        assert!(!r.status.success() && text(&r).contains("--table"), "{bad}: {}", text(&r));
    }
}

/// A table of given label distributions (the LDL setting): 4 categories, each row's distribution a
/// softmax of a fixed linear map of its 3 features, written by the test. Training to the given
/// distributions (`given`) reaches a lower KL to them on the test pool than one-hot training on
/// each row's most probable category; both report the six LDL measures; few-shot episodes group
/// examples by their most probable category.
#[test]
fn given_distributions_train_and_score_by_the_ldl_measures() {
    let root = temp("given");
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let weights = [[1.5, -1.0, 0.5], [-0.5, 1.5, -1.0], [0.0, -0.5, 1.5], [-1.0, 0.0, -1.0]];
    let mut table = String::from("f1,f2,f3,c1,c2,c3,c4\n");
    for _ in 0..480 {
        let x = [uniform(), uniform(), uniform()];
        let logits: Vec<f64> = weights.iter().map(|w| w.iter().zip(&x).map(|(a, b)| a * b).sum()).collect();
        let total: f64 = logits.iter().map(|z| z.exp()).sum();
        let p: Vec<String> = logits.iter().map(|z| format!("{:.6}", z.exp() / total)).collect();
        table += &format!("{:.6},{:.6},{:.6},{}\n", x[0], x[1], x[2], p.join(","));
    }
    std::fs::write(root.join("ldl.csv"), table).unwrap();
    let task = root.join("ldl.toml");
    std::fs::write(
        &task,
        "description = \"given label distributions over 4 categories\"\n\n\
         [dataset]\nkind = \"csv\"\npath = \"ldl.csv\"\ndistribution = [\"c1\", \"c2\", \"c3\", \"c4\"]\n\n\
         [labels]\nclasses = [\"c1\", \"c2\", \"c3\", \"c4\"]\n\n[distribution]\nfamily = \"given\"\n\n\
         [model]\nkind = \"mlp\"\nwidths = [32]\n\n\
         [train]\nsteps = 150\nbatch = 32\noptimiser = \"adam\"\nlr = 0.01\n\n\
         [splits]\ntrain = 0.6\nval = 0.2\ntest = 0.2\nseed = 0\n\n[episodes]\nshots = 2\nquery = 2\nseed = 0\n",
    )
    .unwrap();
    let run = root.join("run");
    train_two_seeds(common::path(&task), &root, &["given", "onehot"], &run);
    let members = trained_members(&run);
    let kl = |method: &str| -> f64 {
        let rows: Vec<f64> = members
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["method"] == method)
            .map(|m| m["metrics"]["kl"].as_f64().unwrap())
            .collect();
        assert_eq!(rows.len(), 2, "{method}: two seeds");
        rows.iter().sum::<f64>() / 2.0
    };
    for name in ["chebyshev", "clark", "canberra", "kl", "cosine", "intersection", "accuracy"] {
        assert!(members[0]["metrics"][name].as_f64().is_some_and(f64::is_finite), "{name}: {members}");
    }
    assert!(kl("given") < kl("onehot"), "given {} vs one-hot {}", kl("given"), kl("onehot"));
    let fewshot = root.join("fewshot");
    let r = dldl(&[
        "fewshot",
        "--task",
        common::path(&task),
        "--data-dir",
        common::path(&root),
        "--shots",
        "2",
        "--episodes",
        "2",
        "--method",
        "given",
        "--method",
        "onehot",
        "--baseline",
        "given",
        "--steps",
        "20",
        "--out",
        common::path(&fewshot),
        "--device",
        "cpu",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("kl"), "{}", text(&r));
    // A row that is not a distribution is refused by file, line and columns.
    std::fs::write(root.join("ldl.csv"), "f1,f2,f3,c1,c2,c3,c4\n0,0,0,0.5,0.5,0.5,0\n").unwrap();
    let r = dldl(&[
        "train",
        "--task",
        common::path(&task),
        "--data-dir",
        common::path(&root),
        "--out",
        common::path(&root.join("bad")),
    ]);
    assert!(
        !r.status.success()
            && text(&r).contains("ldl.csv")
            && text(&r).contains("line 2: columns `c1` … `c4` sum to 1.5"),
        "{}",
        text(&r)
    );
    let _ = std::fs::remove_dir_all(&root);
}
