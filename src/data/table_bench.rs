//! The load-time benchmark of the `csv` kind (`dldl-meta bench --table ROWSxCOLS`): a seeded table
//! of that size written to a temporary folder and read back by [`super::table::load`] in rounds.
use super::table::{load, FeatureColumns, TableSpec};
use crate::domain::LabelKind;
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::time::Instant;

/// What one table-load benchmark measured.
#[derive(Debug, Clone)]
pub struct TableLoadBench {
    pub rows: usize,
    pub columns: usize,
    pub bytes: u64,
    /// Seconds of each round.
    pub seconds: Vec<f64>,
}

/// Writes a `rows × columns` feature table (plus a label column) of seeded values and times
/// reading it `rounds` times.
pub fn table_load(rows: usize, columns: usize, rounds: u32) -> Result<TableLoadBench> {
    if !(1..=1_000_000).contains(&rows) || !(1..=100_000).contains(&columns) || rows * columns > 200_000_000 {
        return Err(Error::invalid(
            "--table",
            format!("{rows}x{columns}"),
            "needs 1..=1000000 rows, 1..=100000 columns and at most 2·10⁸ values",
        ));
    }
    let path = std::env::temp_dir().join(format!("dldl-table-bench-{}.csv", std::process::id()));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut text: String = (0..columns).map(|j| format!("f{j},")).collect();
    text.push_str("label\n");
    for _ in 0..rows {
        for _ in 0..columns {
            write!(text, "{},", rng.random::<f32>()).map_err(|e| Error::data(&path, e.to_string()))?;
        }
        writeln!(text, "{}", rng.random_range(0..100)).map_err(|e| Error::data(&path, e.to_string()))?;
    }
    std::fs::write(&path, &text).map_err(|e| Error::io(&path, e))?;
    let spec = TableSpec {
        path: path.clone(),
        label: vec!["label".into()],
        features: FeatureColumns::Rest,
        delimiter: b',',
        split: None,
        skip_corrupt: false,
        kind: LabelKind::Ordinal,
    };
    let timed = time_loads(&spec, rounds, [rows as i64, columns as i64]);
    let _ = std::fs::remove_file(&path);
    Ok(TableLoadBench { rows, columns, bytes: text.len() as u64, seconds: timed? })
}

/// Seconds of `rounds` reads of the table, each checked to hold `shape`.
fn time_loads(spec: &TableSpec, rounds: u32, shape: [i64; 2]) -> Result<Vec<f64>> {
    let mut seconds = vec![];
    for _ in 0..rounds {
        let started = Instant::now();
        let dataset = load(spec)?;
        seconds.push(started.elapsed().as_secs_f64());
        if dataset.inputs.size() != shape {
            return Err(Error::shape("table benchmark", format!("read {:?}", dataset.inputs.size())));
        }
    }
    Ok(seconds)
}
