//! The result of a few-shot study, computed from its records only: mean ± 95 % CI of every metric per
//! method and point, paired differences and tests against the baseline, and the tables (`summary.md`).
use super::spec::FewshotSpec;
use crate::domain::Domain;
use crate::meta::query_loss::headline_metric;
use crate::rundir::records::{Cell, EpisodeRecord, FewshotSummary, Setting};
use crate::stats::{mean_ci, mean_ci_text, p_value, paired_differences, paired_test, MeanCi, PairedTest};
use std::collections::{BTreeMap, BTreeSet};

/// Summarises `records` of a study (anything not in `spec` is ignored; a duplicate keeps the first).
pub fn summarise(
    task: &str,
    spec: &FewshotSpec,
    domain: &Domain,
    records: &[EpisodeRecord],
) -> FewshotSummary {
    let (metric, higher) = headline_metric(domain);
    let by = |method: &str, setting: &Setting| -> Vec<&EpisodeRecord> {
        let mut seen = BTreeSet::new();
        records
            .iter()
            .filter(|r| r.method == method && r.setting.same(setting) && seen.insert(r.episode))
            .collect()
    };
    let values = |rows: &[&EpisodeRecord], name: &str| -> BTreeMap<u64, f64> {
        rows.iter()
            .map(|r| {
                (
                    r.episode,
                    if r.failure.is_some() {
                        f64::NAN
                    } else {
                        r.metrics.get(name).copied().unwrap_or(f64::NAN)
                    },
                )
            })
            .collect()
    };
    let mut cells = vec![];
    for m in &spec.methods {
        for s in &spec.settings {
            let rows = by(&m.name, s);
            let base = by(&spec.baseline, s);
            let names: BTreeSet<&String> = rows.iter().flat_map(|r| r.metrics.keys()).collect();
            let mut metrics = BTreeMap::new();
            let mut vs_baseline = BTreeMap::new();
            let mut tests = BTreeMap::new();
            for name in names {
                let mine = values(&rows, name);
                metrics.insert(name.clone(), mean_ci(&mine.values().copied().collect::<Vec<_>>()));
                let differences = paired_differences(&mine, &values(&base, name));
                vs_baseline.insert(name.clone(), mean_ci(&differences));
                tests.insert(name.clone(), paired_test(&differences, spec.margin, higher));
            }
            let failed = rows.iter().filter(|r| r.failure.is_some()).count();
            cells.push(Cell {
                method: m.name.clone(),
                setting: *s,
                records: rows.len(),
                failed,
                metrics,
                vs_baseline,
                tests,
            });
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
        margin: spec.margin,
        cells,
    }
}

impl FewshotSummary {
    /// The cell of `method` at `setting`.
    pub fn cell(&self, method: &str, setting: &Setting) -> Option<&Cell> {
        self.cells.iter().find(|c| c.method == method && c.setting.same(setting))
    }

    /// The two tables: `metric` mean ± CI per method and point, and paired differences against the baseline.
    pub fn markdown(&self) -> String {
        let what = if self.axis == "shots" {
            "meta-test episodes (test pool)"
        } else {
            "seeded training subsets, evaluated on the test split"
        };
        let direction = if self.higher_is_better { "higher is better" } else { "lower is better" };
        let header = |first: &str| {
            format!(
                "| {first} | {} |\n|---|{}\n",
                self.settings.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" | "),
                "---|".repeat(self.settings.len())
            )
        };
        let mut out = format!(
            "# Few-shot: {}\n\n{} {} per point; {} ({direction}), mean ± 95 % CI (1.96·sd/√n).\n\n",
            self.task, self.episodes, what, self.metric
        );
        out.push_str(&header("method"));
        for (name, trains) in &self.methods {
            let cells: Vec<String> = self
                .settings
                .iter()
                .map(|s| match self.cell(name, s) {
                    Some(c) => {
                        let v = c.metrics.get(&self.metric).copied().unwrap_or(mean_ci(&[]));
                        let failed =
                            if c.failed > 0 { format!(" ({} failed)", c.failed) } else { String::new() };
                        format!("{}{failed}", mean_ci_text(v.mean, v.ci95, v.n, 3))
                    }
                    None => "—".into(),
                })
                .collect();
            out.push_str(&format!("| {} | {} |\n", label(name, trains), cells.join(" | ")));
        }
        out.push_str(&format!(
            "\nPaired difference method − {} on the same episodes ({}), mean ± 95 % CI. Verdict: better/worse when the paired \
             t-test gives p < 0.05; else equivalent when two one-sided t-tests (TOST) put the difference within ±{} (p < 0.05); \
             else inconclusive. Wilcoxon signed-rank p-values are in fewshot.json.\n\n",
            self.baseline, self.metric, self.margin
        ));
        out.push_str(&header("method"));
        for (name, trains) in self.methods.iter().filter(|(n, _)| *n != self.baseline) {
            let cells: Vec<String> =
                self.settings
                    .iter()
                    .map(|s| {
                        match self.cell(name, s).and_then(|c| {
                            Some((c.vs_baseline.get(&self.metric)?, c.tests.get(&self.metric)?))
                        }) {
                            Some((d, test)) => difference_cell(d, test),
                            None => "—".into(),
                        }
                    })
                    .collect();
            out.push_str(&format!("| {} | {} |\n", label(name, trains), cells.join(" | ")));
        }
        out
    }
}

/// `p = 0.012` as `p=0.012`, for table cells.
fn compact(p: &str) -> String {
    p.replace(' ', "")
}

/// A paired difference with its verdict and the p-value behind it; `failed` when no episode gave
/// both methods a finite value.
fn difference_cell(d: &MeanCi, test: &PairedTest) -> String {
    use crate::stats::Verdict;
    match d.n {
        0 => "failed".into(),
        1 => format!("{:+.3} ± n/a (no verdict, n=1)", d.mean),
        _ => {
            let evidence = match test.verdict {
                Verdict::Better | Verdict::Worse => compact(&p_value(test.t_p)),
                Verdict::Equivalent => format!("TOST {}", compact(&p_value(test.tost_p))),
                Verdict::Inconclusive | Verdict::Failed => {
                    format!("{}, TOST {}", compact(&p_value(test.t_p)), compact(&p_value(test.tost_p)))
                }
            };
            format!("{:+.3} ± {:.3} ({}, {evidence}, n={})", d.mean, d.ci95, test.verdict, d.n)
        }
    }
}

fn label(name: &str, trains: &str) -> String {
    if name == trains {
        crate::family::brief(name)
    } else {
        format!("{name} ({})", crate::family::brief(trains))
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
            methods: ["onehot", "dldl:sigma=2"]
                .iter()
                .map(|m| NamedMethod { name: m.to_string(), method: m.parse().unwrap() })
                .collect(),
            baseline: "onehot".into(),
            chunk: 8,
            seed: 0,
            inner: InnerPlan {
                train: toml::from_str("steps = 1\nbatch = 1\nlr = 0.1\n").unwrap(),
                epochs: None,
            },
            margin: 0.05,
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
        // t = (−5/3)/(√(1/3)/√3) = −5 with 2 degrees of freedom: two-sided p = 0.0377 (SciPy 1.17.1
        // `stats.ttest_1samp([-1, -2, -2], 0).pvalue` = 0.0377495514).
        let test = d.tests["mae"];
        assert!((test.t_p - 0.0377495514).abs() < 1e-9, "{}", test.t_p);
        assert_eq!(test.verdict, crate::stats::Verdict::Better);
        let md = s.markdown();
        assert!(
            md.contains("| dldl:sigma=2 (gaussian:sigma=2) | -1.667 ± 0.653 (better, p=0.038, n=3) |"),
            "{md}"
        );
        assert!(md.contains("| onehot | 11.000 ± 1.132 |"), "{md}");
    }

    #[test]
    fn one_episode_has_no_interval_and_a_failed_method_says_failed() {
        let spec = FewshotSpec {
            settings: vec![Setting::Shots(1)],
            episodes: 1,
            methods: ["onehot", "ls:0.1", "dldl:sigma=2"]
                .iter()
                .map(|m| NamedMethod { name: m.to_string(), method: m.parse().unwrap() })
                .collect(),
            baseline: "onehot".into(),
            chunk: 8,
            seed: 0,
            inner: InnerPlan {
                train: toml::from_str("steps = 1\nbatch = 1\nlr = 0.1\n").unwrap(),
                epochs: None,
            },
            margin: 0.05,
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
        let records = vec![
            rec("onehot", 10.0, None),
            rec("ls:0.1", f64::NAN, Some("loss NaN".into())),
            rec("dldl:sigma=2", 9.5, None),
        ];
        let md = summarise("toy", &spec, &Domain::Bins(Bins::parse("0:5").unwrap()), &records).markdown();
        assert!(md.contains("| onehot | 10.000 ± n/a (1 episode) |"), "{md}");
        assert!(md.contains("| ls:0.1 (smoothing:epsilon=0.1) | failed (1 failed) |"), "{md}");
        assert!(md.contains("| ls:0.1 (smoothing:epsilon=0.1) | failed |"), "{md}");
        assert!(md.contains("| dldl:sigma=2 (gaussian:sigma=2) | -0.500 ± n/a (no verdict, n=1) |"), "{md}");
        assert!(!md.contains("NaN"), "{md}");
    }
}
