//! Mean ± sample standard deviation of metrics over seeds, per method, as a plain-text table
//! (printed by `train`, saved as `summary.md`).
use super::metrics::Metrics;
pub use crate::stats::mean_sd;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One member's final metrics, labelled by method and seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberResult {
    pub method: String,
    pub seed: u64,
    #[serde(deserialize_with = "crate::rundir::metrics_null_as_nan")]
    pub metrics: Metrics,
    /// Set when the member stopped on a non-finite loss.
    #[serde(default)]
    pub failure: Option<String>,
}

/// `mean ± sd` of `values` over seeds; `n/a (1 seed)` for the sd of one value, `failed` without values.
pub fn mean_sd_cell(values: &[f64]) -> String {
    let (m, s) = mean_sd(values);
    match values.len() {
        0 => "failed".into(),
        1 => format!("{m:.3} ± n/a (1 seed)"),
        _ => format!("{m:.3} ± {s:.3}"),
    }
}

/// A markdown table: one row per method (in first-seen order), `columns` as mean ± sd over seeds.
pub fn table(results: &[MemberResult], columns: &[&str]) -> String {
    let mut order: Vec<&str> = vec![];
    let mut by_method: BTreeMap<&str, Vec<&MemberResult>> = BTreeMap::new();
    for r in results {
        if !by_method.contains_key(r.method.as_str()) {
            order.push(&r.method);
        }
        by_method.entry(&r.method).or_default().push(r);
    }
    let mut out =
        format!("| method | seeds | {} |\n|---|---|{}\n", columns.join(" | "), "---|".repeat(columns.len()));
    for method in order {
        let rows = &by_method[method];
        let ok: Vec<&&MemberResult> = rows.iter().filter(|r| r.failure.is_none()).collect();
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                let v: Vec<f64> = ok.iter().filter_map(|r| r.metrics.get(*c).copied()).collect();
                mean_sd_cell(&v)
            })
            .collect();
        let failed = rows.len() - ok.len();
        let seeds = if failed > 0 { format!("{} ({failed} failed)", ok.len()) } else { ok.len().to_string() };
        out.push_str(&format!("| {method} | {seeds} | {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_sd_by_hand() {
        let (m, s) = mean_sd(&[1.0, 2.0, 4.0]);
        assert!((m - 7.0 / 3.0).abs() < 1e-12);
        assert!((s - ((16.0 / 9.0 + 1.0 / 9.0 + 25.0 / 9.0) / 2.0f64).sqrt()).abs() < 1e-12);
        assert_eq!(mean_sd(&[3.0]), (3.0, 0.0));
    }

    #[test]
    fn table_groups_by_method() {
        let r = |method: &str, seed, mae| MemberResult {
            method: method.into(),
            seed,
            metrics: [("mae".to_string(), mae)].into(),
            failure: None,
        };
        let t = table(&[r("onehot", 0, 7.0), r("onehot", 1, 9.0), r("dldl", 0, 6.0)], &["mae"]);
        assert!(t.contains("| onehot | 2 | 8.000 ± 1.414 |"), "{t}");
        assert!(t.contains("| dldl | 1 | 6.000 ± n/a (1 seed) |"), "{t}");
        let failed = MemberResult { failure: Some("loss NaN at step 3".into()), ..r("ls", 0, f64::NAN) };
        let t = table(&[failed], &["mae"]);
        assert!(t.contains("| ls | 0 (1 failed) | failed |"), "{t}");
    }
}
