//! The result of a few-shot study, computed from its records only: mean ± 95 % CI of every metric per
//! method and point, paired differences against the baseline, and the markdown tables (`summary.md`).
use super::record::EpisodeRecord;
use super::spec::{FewshotSpec, Setting};
use super::stats::{mean_ci, paired_differences, MeanCi};
use crate::meta::objective::headline_metric;
use crate::train::Domain;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One method at one point of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub method: String,
    pub setting: Setting,
    /// Records found, and how many of them failed (left out of the statistics).
    pub records: usize,
    pub failed: usize,
    /// Mean ± CI of every metric over the episodes.
    pub metrics: BTreeMap<String, MeanCi>,
    /// Paired difference method − baseline of every metric, over the episodes both finished.
    pub vs_baseline: BTreeMap<String, MeanCi>,
}

/// What `fewshot.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FewshotSummary {
    pub task: String,
    /// `shots` or `train_fraction`.
    pub axis: String,
    /// The headline metric and its direction.
    pub metric: String,
    pub higher_is_better: bool,
    pub baseline: String,
    /// Method names in the order given, with what each trains (`gaussian:sigma=2.99`).
    pub methods: Vec<(String, String)>,
    pub settings: Vec<Setting>,
    pub episodes: usize,
    /// Method-major, then setting.
    pub cells: Vec<Cell>,
}

/// Summarises `records` of a study (anything not in `spec` is ignored; a duplicate keeps the first).
pub fn summarise(task: &str, spec: &FewshotSpec, domain: &Domain, records: &[EpisodeRecord]) -> FewshotSummary {
    let (metric, higher) = headline_metric(domain);
    let by = |method: &str, setting: &Setting| -> Vec<&EpisodeRecord> {
        let mut seen = BTreeSet::new();
        records.iter().filter(|r| r.method == method && r.setting.same(setting) && seen.insert(r.episode)).collect()
    };
    let values = |rows: &[&EpisodeRecord], name: &str| -> BTreeMap<u64, f64> {
        rows.iter().map(|r| (r.episode, if r.failure.is_some() { f64::NAN } else { r.metrics.get(name).copied().unwrap_or(f64::NAN) })).collect()
    };
    let mut cells = vec![];
    for m in &spec.methods {
        for s in &spec.settings {
            let rows = by(&m.name, s);
            let base = by(&spec.baseline, s);
            let names: BTreeSet<&String> = rows.iter().flat_map(|r| r.metrics.keys()).collect();
            let mut metrics = BTreeMap::new();
            let mut vs_baseline = BTreeMap::new();
            for name in names {
                let mine = values(&rows, name);
                metrics.insert(name.clone(), mean_ci(&mine.values().copied().collect::<Vec<_>>()));
                vs_baseline.insert(name.clone(), mean_ci(&paired_differences(&mine, &values(&base, name))));
            }
            let failed = rows.iter().filter(|r| r.failure.is_some()).count();
            cells.push(Cell { method: m.name.clone(), setting: *s, records: rows.len(), failed, metrics, vs_baseline });
        }
    }
    FewshotSummary {
        task: task.to_string(),
        axis: spec.axis().to_string(),
        metric: metric.to_string(),
        higher_is_better: higher,
        baseline: spec.baseline.clone(),
        methods: spec.methods.iter().map(|m| (m.name.clone(), m.method.to_string())).collect(),
        settings: spec.settings.clone(),
        episodes: spec.episodes,
        cells,
    }
}

impl FewshotSummary {
    /// The cell of `method` at `setting`.
    pub fn cell(&self, method: &str, setting: &Setting) -> Option<&Cell> {
        self.cells.iter().find(|c| c.method == method && c.setting.same(setting))
    }

    /// `better`, `worse` or `tie` of a paired difference (tie: the 95 % CI holds zero).
    pub fn verdict(&self, difference: &MeanCi) -> &'static str {
        if !difference.excludes_zero() {
            "tie"
        } else if (difference.mean > 0.0) == self.higher_is_better {
            "better"
        } else {
            "worse"
        }
    }

    /// The two tables: `metric` mean ± CI per method and point, and paired differences against the baseline.
    pub fn markdown(&self) -> String {
        let what = if self.axis == "shots" { "meta-test episodes (test pool)" } else { "seeded training subsets, evaluated on the test split" };
        let direction = if self.higher_is_better { "higher is better" } else { "lower is better" };
        let header = |first: &str| {
            format!(
                "| {first} | {} |\n|---|{}\n",
                self.settings.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" | "),
                "---|".repeat(self.settings.len())
            )
        };
        let mut out =
            format!("# Few-shot: {}\n\n{} {} per point; {} ({direction}), mean ± 95 % CI (1.96·sd/√n).\n\n", self.task, self.episodes, what, self.metric);
        out.push_str(&header("method"));
        for (name, trains) in &self.methods {
            let cells: Vec<String> = self
                .settings
                .iter()
                .map(|s| match self.cell(name, s) {
                    Some(c) => {
                        let v = c.metrics.get(&self.metric).copied().unwrap_or(mean_ci(&[]));
                        let failed = if c.failed > 0 { format!(" ({} failed)", c.failed) } else { String::new() };
                        format!("{}{failed}", mean_ci_cell(&v))
                    }
                    None => "—".into(),
                })
                .collect();
            out.push_str(&format!("| {} | {} |\n", label(name, trains), cells.join(" | ")));
        }
        out.push_str(&format!(
            "\nPaired difference method − {} on the same episodes ({}), mean ± 95 % CI; better/worse when the CI excludes 0, else tie.\n\n",
            self.baseline, self.metric
        ));
        out.push_str(&header("method"));
        for (name, trains) in self.methods.iter().filter(|(n, _)| *n != self.baseline) {
            let cells: Vec<String> = self
                .settings
                .iter()
                .map(|s| match self.cell(name, s).and_then(|c| c.vs_baseline.get(&self.metric)) {
                    Some(d) => self.difference_cell(d),
                    None => "—".into(),
                })
                .collect();
            out.push_str(&format!("| {} | {} |\n", label(name, trains), cells.join(" | ")));
        }
        out
    }
}

/// `mean ± CI` of a metric; `n/a (1 episode)` for the CI of one value, `failed` without values.
fn mean_ci_cell(v: &MeanCi) -> String {
    match v.n {
        0 => "failed".into(),
        1 => format!("{:.3} ± n/a (1 episode)", v.mean),
        _ => format!("{:.3} ± {:.3}", v.mean, v.ci95),
    }
}

impl FewshotSummary {
    /// A paired difference with its verdict; `failed` when no episode gave both methods a finite value.
    fn difference_cell(&self, d: &MeanCi) -> String {
        match d.n {
            0 => "failed".into(),
            1 => format!("{:+.3} ± n/a (no verdict, n=1)", d.mean),
            _ => format!("{:+.3} ± {:.3} ({}, n={})", d.mean, d.ci95, self.verdict(d), d.n),
        }
    }
}

fn label(name: &str, trains: &str) -> String {
    if name == trains {
        crate::label::brief(name)
    } else {
        format!("{name} ({})", crate::label::brief(trains))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fewshot::spec::{InnerPlan, NamedMethod};
    use crate::label::Bins;

    #[test]
    fn summary_pairs_by_episode_and_states_verdicts() {
        let spec = FewshotSpec {
            settings: vec![Setting::Shots(1)],
            episodes: 3,
            methods: ["onehot", "dldl:sigma=2"].iter().map(|m| NamedMethod { name: m.to_string(), method: m.parse().unwrap() }).collect(),
            baseline: "onehot".into(),
            chunk: 8,
            seed: 0,
            inner: InnerPlan { train: toml::from_str("steps = 1\nbatch = 1\nlr = 0.1\n").unwrap(), epochs: None },
        };
        let rec = |method: &str, episode: u64, mae: f64| EpisodeRecord {
            method: method.into(),
            setting: Setting::Shots(1),
            episode,
            seed: 0,
            train_size: 1,
            steps: 1,
            metrics: [("mae".to_string(), mae)].into(),
            failure: None,
        };
        let records = vec![
            rec("onehot", 0, 10.0),
            rec("onehot", 1, 12.0),
            rec("onehot", 2, 11.0),
            rec("dldl:sigma=2", 2, 9.0),
            rec("dldl:sigma=2", 0, 9.0),
            rec("dldl:sigma=2", 1, 10.0),
            rec("dldl:sigma=2", 1, 99.0),
        ];
        let s = summarise("toy", &spec, &Domain::Bins(Bins::parse("0:5").unwrap()), &records);
        let d = s.cell("dldl:sigma=2", &Setting::Shots(1)).unwrap();
        assert_eq!(d.records, 3, "the duplicate of episode 1 is ignored");
        assert!((d.metrics["mae"].mean - 28.0 / 3.0).abs() < 1e-12);
        // differences −1, −2, −2: mean −5/3, sd √(1/3), ci 1.96·√(1/3)/√3 = 0.6533 → excludes 0, lower MAE is better.
        let diff = d.vs_baseline["mae"];
        assert!((diff.mean + 5.0 / 3.0).abs() < 1e-12 && (diff.ci95 - 1.96 / 3.0).abs() < 1e-12);
        assert_eq!(s.verdict(&diff), "better");
        let md = s.markdown();
        assert!(md.contains("| dldl:sigma=2 (gaussian:sigma=2) | -1.667 ± 0.653 (better, n=3) |"), "{md}");
        assert!(md.contains("| onehot | 11.000 ± 1.132 |"), "{md}");
    }

    #[test]
    fn one_episode_has_no_interval_and_a_failed_method_says_failed() {
        let spec = FewshotSpec {
            settings: vec![Setting::Shots(1)],
            episodes: 1,
            methods: ["onehot", "ls:0.1", "dldl:sigma=2"].iter().map(|m| NamedMethod { name: m.to_string(), method: m.parse().unwrap() }).collect(),
            baseline: "onehot".into(),
            chunk: 8,
            seed: 0,
            inner: InnerPlan { train: toml::from_str("steps = 1\nbatch = 1\nlr = 0.1\n").unwrap(), epochs: None },
        };
        let rec = |method: &str, mae: f64, failure: Option<String>| EpisodeRecord {
            method: method.into(),
            setting: Setting::Shots(1),
            episode: 0,
            seed: 0,
            train_size: 1,
            steps: 1,
            metrics: [("mae".to_string(), mae)].into(),
            failure,
        };
        let records = vec![rec("onehot", 10.0, None), rec("ls:0.1", f64::NAN, Some("loss NaN".into())), rec("dldl:sigma=2", 9.5, None)];
        let md = summarise("toy", &spec, &Domain::Bins(Bins::parse("0:5").unwrap()), &records).markdown();
        assert!(md.contains("| onehot | 10.000 ± n/a (1 episode) |"), "{md}");
        assert!(md.contains("| ls:0.1 (smoothing:epsilon=0.1) | failed (1 failed) |"), "{md}");
        assert!(md.contains("| ls:0.1 (smoothing:epsilon=0.1) | failed |"), "{md}");
        assert!(md.contains("| dldl:sigma=2 (gaussian:sigma=2) | -0.500 ± n/a (no verdict, n=1) |"), "{md}");
        assert!(!md.contains("NaN"), "{md}");
    }
}
