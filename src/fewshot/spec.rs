//! What a few-shot study evaluates: the sweep (shots K, or fractions of the training split), episodes
//! per point, the named methods and the paired baseline, population chunks, seed, and the inner loop.
use crate::config::TrainPlan;
use crate::error::{Error, Result};
use crate::rundir::records::Setting;
use crate::train::Method;
use serde::{Deserialize, Serialize};

/// `x` rounded up at its third significant digit.
fn round_up(x: f64) -> f64 {
    let scale = 10f64.powf(2.0 - x.log10().floor());
    (x * scale).ceil() / scale
}

/// Training examples of a subset that is `fraction` of a training pool of `pool` examples (≥ 1).
pub fn fraction_size(fraction: f64, pool: usize) -> usize {
    ((fraction * pool as f64).round() as usize).clamp(1, pool.max(1))
}

/// A method under the name the user gave it (`onehot`, `dldl:sigma=2`, `learned:runs/rot-hg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedMethod {
    pub name: String,
    pub method: Method,
}

/// The inner loop of every member: fixed settings, or `epochs` passes over the member's own training
/// set (steps = epochs · ⌈n / batch⌉). The batch never exceeds the training set (K=1 supports are small).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InnerPlan {
    pub train: TrainPlan,
    #[serde(default)]
    pub epochs: Option<u64>,
}

impl InnerPlan {
    /// The settings for a member training on `n` examples.
    pub fn for_size(&self, n: usize) -> TrainPlan {
        let mut spec = self.train.clone();
        spec.batch = spec.batch.min(n.max(1) as i64);
        if let Some(e) = self.epochs {
            spec.steps = (e as usize * n.div_ceil(spec.batch as usize)).max(1);
        }
        spec
    }
}

/// A validated few-shot study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FewshotSpec {
    /// The points of the sweep, all of one kind.
    pub settings: Vec<Setting>,
    /// Episodes per point (seeded subsets per fraction).
    pub episodes: usize,
    pub methods: Vec<NamedMethod>,
    /// Name of the method every other is compared with, paired by episode.
    pub baseline: String,
    /// Members per population (rounded down to whole episodes of all methods, at least one episode).
    pub chunk: usize,
    /// Seeds the episodes, the subsets and the networks.
    pub seed: u64,
    pub inner: InnerPlan,
    /// Equivalence margin δ of the TOST verdict, in the headline metric's unit (> 0).
    #[serde(default = "default_margin")]
    pub margin: f64,
}

pub use crate::stats::default_margin;

impl FewshotSpec {
    /// Checks the rules: points of one kind, K ≥ 1, 0 < fraction ≤ 1, distinct method names, a known baseline.
    pub fn validate(&self) -> Result<()> {
        if self.settings.is_empty() {
            return Err(Error::invalid("settings", "none", "give --shots or --train-fraction"));
        }
        if self.settings.iter().any(|s| s.axis() != self.settings[0].axis()) {
            return Err(Error::invalid(
                "settings",
                format!("{:?}", self.settings),
                "are shots or fractions, not both",
            ));
        }
        for s in &self.settings {
            match s {
                Setting::Shots(0) => return Err(Error::invalid("shots", 0, "must be >= 1")),
                Setting::Fraction(f) if !(f.is_finite() && *f > 0.0 && *f <= 1.0) => {
                    return Err(Error::invalid("train fraction", f, "must satisfy 0 < fraction <= 1"))
                }
                _ => {}
            }
        }
        if self.settings.iter().enumerate().any(|(i, s)| self.settings[..i].iter().any(|t| t.same(s))) {
            return Err(Error::invalid("settings", format!("{:?}", self.settings), "are given twice"));
        }
        if self.episodes == 0 {
            return Err(Error::invalid("episodes", 0, "must be >= 1"));
        }
        if !(self.margin.is_finite() && self.margin > 0.0) {
            return Err(Error::invalid(
                "margin",
                self.margin,
                "must be finite and > 0 (the equivalence margin, in the metric's unit)",
            ));
        }
        if self.methods.is_empty() {
            return Err(Error::invalid("methods", "none", "give at least one --method"));
        }
        let names: Vec<&str> = self.methods.iter().map(|m| m.name.as_str()).collect();
        if names.iter().enumerate().any(|(i, n)| names[..i].contains(n)) {
            return Err(Error::invalid("methods", names.join(", "), "names must be distinct"));
        }
        if !names.contains(&self.baseline.as_str()) {
            return Err(Error::invalid(
                "baseline",
                &self.baseline,
                format!("must be one of the methods: {}", names.join(", ")),
            ));
        }
        self.inner.train.validate()
    }

    /// Refuses a fraction whose subsets of a training pool of `pool` examples hold fewer examples
    /// than the task has labels (`labels` outputs): such a member cannot see every label once.
    pub fn check_fraction_sizes(&self, pool: usize, labels: i64) -> Result<()> {
        for setting in &self.settings {
            let Setting::Fraction(f) = setting else { continue };
            let n = fraction_size(*f, pool);
            if (n as i64) < labels {
                let least = labels as f64 / pool.max(1) as f64;
                let remedy = if least <= 1.0 {
                    format!("give a fraction of at least {labels}/{pool} = {}", round_up(least))
                } else {
                    "the training split itself is smaller".to_string()
                };
                let rule = format!(
                    "leaves {n} of the {pool} training examples, fewer than the task's {labels} labels; {remedy}"
                );
                return Err(Error::invalid("train fraction", f, rule));
            }
        }
        Ok(())
    }

    /// Episodes trained together per population: `chunk / methods`, at least one.
    pub fn episodes_per_chunk(&self) -> usize {
        (self.chunk / self.methods.len().max(1)).max(1)
    }

    /// The sweep axis (`shots` or `train_fraction`).
    pub fn axis(&self) -> &'static str {
        self.settings.first().map_or("shots", Setting::axis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FewshotSpec {
        FewshotSpec {
            settings: vec![Setting::Shots(1), Setting::Shots(5)],
            episodes: 4,
            methods: ["onehot", "dldl:sigma=2"]
                .iter()
                .map(|m| NamedMethod { name: m.to_string(), method: m.parse().unwrap() })
                .collect(),
            baseline: "onehot".into(),
            chunk: 5,
            seed: 0,
            inner: InnerPlan {
                train: toml::from_str("steps = 10\nbatch = 16\nlr = 0.01\n").unwrap(),
                epochs: None,
            },
            margin: 0.05,
        }
    }

    #[test]
    fn validates_and_sizes_chunks() {
        let s = spec();
        s.validate().unwrap();
        assert_eq!(s.episodes_per_chunk(), 2);
        let mut bad = spec();
        bad.baseline = "ls:0.1".into();
        assert!(bad.validate().unwrap_err().to_string().contains("one of the methods"));
        let mut bad = spec();
        bad.settings.push(Setting::Fraction(0.5));
        assert!(bad.validate().is_err());
        let mut bad = spec();
        bad.settings = vec![Setting::Fraction(1.5)];
        assert!(bad.validate().is_err());
    }

    #[test]
    fn fractions_print_with_their_digits_and_leave_every_label_a_training_example() {
        let shown: Vec<String> =
            [1e-9, 0.25, 0.123456, 1.0, 0.0834].iter().map(|f| Setting::Fraction(*f).to_string()).collect();
        assert_eq!(shown, ["0.0000001%", "25%", "12.35%", "100%", "8.34%"]);
        let mut s = spec();
        s.settings = vec![Setting::Fraction(0.5), Setting::Fraction(1e-9)];
        let e = s.check_fraction_sizes(72, 6).unwrap_err().to_string();
        assert_eq!(e, "invalid train fraction = 0.000000001: leaves 1 of the 72 training examples, fewer than the task's 6 labels; give a fraction of at least 6/72 = 0.0834");
        s.settings = vec![Setting::Fraction(0.0834)];
        assert!(s.check_fraction_sizes(72, 6).is_ok());
        assert!(s
            .check_fraction_sizes(4, 6)
            .unwrap_err()
            .to_string()
            .contains("the training split itself is smaller"));
    }

    #[test]
    fn batch_is_capped_and_epochs_count_the_members_set() {
        let mut plan = spec().inner;
        assert_eq!((plan.for_size(5).batch, plan.for_size(5).steps), (5, 10));
        plan.epochs = Some(3);
        assert_eq!(plan.for_size(40).steps, 3 * 3);
        assert_eq!(plan.for_size(40).batch, 16);
    }
}
