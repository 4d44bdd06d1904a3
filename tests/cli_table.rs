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
