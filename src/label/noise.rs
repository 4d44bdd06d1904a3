//! Planted label noise on 1-D bins (a task's `[labels.noise]`): Gaussian with an sd that is linear
//! in the true label between knots, uniform ±w, or a flip to a random bin; seeded per example.
//!
//! Each noisy label is rounded to the nearest bin and clamped into the bins' range (a draw past the
//! first or last bin lands on it). Example `i` always draws from its own stream of the seed, so the
//! noise does not depend on the order, the pool or which other examples are noised.
use super::Bins;
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The kind of planted noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoiseKind {
    /// y + sd(y)·z, z ~ N(0, 1), sd given at `knots` (`sd`), linear in between, constant beyond.
    Gaussian,
    /// y + u, u ~ U(−width, width).
    Uniform,
    /// With probability `p`, a label drawn uniformly from all bins (possibly y itself).
    Flip,
}

/// `[labels.noise]` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseSpec {
    pub kind: NoiseKind,
    /// Gaussian: the labels at which `sd` is given (strictly increasing, inside the bins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub knots: Vec<f64>,
    /// Gaussian: the sd at each knot (≥ 0), in label units.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sd: Vec<f64>,
    /// Uniform: the half-width w (> 0), in label units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    /// Flip: the probability of a random label, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// The pools whose labels are noised: `train`, `val` (the test pool is never touched).
    #[serde(default = "train_only")]
    pub pools: Vec<String>,
    #[serde(default)]
    pub seed: u64,
}

fn train_only() -> Vec<String> {
    vec!["train".into()]
}

impl NoiseSpec {
    /// Checks the spec against the task's bins; errors name `file` and the `labels.noise` field.
    pub fn validate(&self, bins: &Bins, file: &Path) -> Result<()> {
        let err = |field: &str, rule: String| Err(Error::config(file, format!("labels.noise.{field}"), rule));
        let (first, last) = (bins.values()[0], bins.values()[bins.len() - 1]);
        let extra = match self.kind {
            NoiseKind::Gaussian => self.width.map(|_| "width").or(self.p.map(|_| "p")),
            NoiseKind::Uniform => {
                (!self.knots.is_empty() || !self.sd.is_empty()).then_some("knots/sd").or(self.p.map(|_| "p"))
            }
            NoiseKind::Flip => (!self.knots.is_empty() || !self.sd.is_empty())
                .then_some("knots/sd")
                .or(self.width.map(|_| "width")),
        };
        if let Some(field) = extra {
            return err(field, format!("is not a setting of kind = \"{}\"", self.kind.name()));
        }
        match self.kind {
            NoiseKind::Gaussian => {
                if self.knots.is_empty() || self.knots.len() != self.sd.len() {
                    return err(
                        "knots/sd",
                        format!(
                            "give one sd per knot ({} knots, {} sds; at least one)",
                            self.knots.len(),
                            self.sd.len()
                        ),
                    );
                }
                if let Some(k) = self.knots.iter().find(|k| !(k.is_finite() && **k >= first && **k <= last)) {
                    return err(
                        "knots",
                        format!("{:?}: knot {k} lies outside the bins [{first}, {last}]", self.knots),
                    );
                }
                if let Some(w) = self.knots.windows(2).find(|w| w[1] <= w[0]) {
                    return err(
                        "knots",
                        format!("{:?}: knots must increase strictly ({} then {})", self.knots, w[0], w[1]),
                    );
                }
                if let Some(s) = self.sd.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
                    return err("sd", format!("{:?}: sd {s} must be finite and >= 0", self.sd));
                }
            }
            NoiseKind::Uniform => match self.width {
                Some(w) if w.is_finite() && w > 0.0 => {}
                other => return err("width", format!("{other:?}: uniform noise needs a finite width > 0")),
            },
            NoiseKind::Flip => match self.p {
                Some(p) if (0.0..=1.0).contains(&p) => {}
                other => return err("p", format!("{other:?}: flip noise needs a probability p in [0, 1]")),
            },
        }
        if self.pools.is_empty() {
            return err("pools", "name at least one pool (\"train\", \"val\")".into());
        }
        if let Some(p) = self.pools.iter().find(|p| !matches!(p.as_str(), "train" | "val")) {
            return err(
                "pools",
                format!("{p:?}: only \"train\" and \"val\" can be noised; the test pool is never touched"),
            );
        }
        Ok(())
    }

    /// Whether the pool named `pool` is noised.
    pub fn noises(&self, pool: &str) -> bool {
        self.pools.iter().any(|p| p == pool)
    }

    /// The planted sd at true label `y` (Gaussian; the knots' sd interpolated, constant beyond).
    pub fn sd_at(&self, y: f64) -> f64 {
        let (k, s) = (&self.knots, &self.sd);
        if k.is_empty() {
            return 0.0;
        }
        if y <= k[0] {
            return s[0];
        }
        match k.windows(2).position(|w| y >= w[0] && y < w[1]) {
            Some(j) => s[j] + (s[j + 1] - s[j]) * (y - k[j]) / (k[j + 1] - k[j]),
            None => s[s.len() - 1],
        }
    }

    /// The noisy label of example `index` whose true label is `y`, on `bins`.
    pub fn noisy(&self, index: u64, y: f64, bins: &Bins) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x401_5e5a);
        rng.set_stream(index);
        let drawn = match self.kind {
            NoiseKind::Gaussian => {
                let z: f64 = StandardNormal.sample(&mut rng);
                y + self.sd_at(y) * z
            }
            NoiseKind::Uniform => {
                let w = self.width.unwrap_or(0.0);
                y + rng.random_range(-w..=w)
            }
            NoiseKind::Flip => {
                let (flip, pick): (f64, usize) = (rng.random(), rng.random_range(0..bins.len()));
                if flip < self.p.unwrap_or(0.0) {
                    bins.values()[pick]
                } else {
                    y
                }
            }
        };
        nearest_bin(bins, drawn)
    }
}

impl NoiseKind {
    /// The name a task file uses.
    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::Gaussian => "gaussian",
            NoiseKind::Uniform => "uniform",
            NoiseKind::Flip => "flip",
        }
    }
}

/// The bin nearest to `v` (ties to the lower bin), past either end the end bin.
fn nearest_bin(bins: &Bins, v: f64) -> f64 {
    let values = bins.values();
    let inside = v.clamp(values[0], values[values.len() - 1]);
    values[bins.bin_of(inside).unwrap_or(0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> NoiseSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_sd_interpolates_between_knots_and_labels_land_on_bins_inside_the_domain() {
        let bins = Bins::parse("0:100").unwrap();
        let g = spec("kind = \"gaussian\"\nknots = [10.0, 50.0]\nsd = [1.0, 9.0]\nseed = 3\n");
        // By hand: constant 1 below 10, 1 + 8·(30 − 10)/40 = 5 at 30, 9 from 50 on.
        assert_eq!((g.sd_at(0.0), g.sd_at(30.0), g.sd_at(50.0), g.sd_at(99.0)), (1.0, 5.0, 9.0, 9.0));
        // Seeded per example: the same index draws the same label; the draw is y + sd·z rounded.
        let mut rng = ChaCha8Rng::seed_from_u64(3 ^ 0x401_5e5a);
        rng.set_stream(17);
        let z: f64 = StandardNormal.sample(&mut rng);
        assert_eq!(g.noisy(17, 30.0, &bins), (30.0 + 5.0 * z).round().clamp(0.0, 100.0));
        assert_eq!(g.noisy(17, 30.0, &bins), g.noisy(17, 30.0, &bins));
        // Near the boundary, draws past the first bin land on it: never outside 0..=100.
        let low: Vec<f64> = (0..2000).map(|i| g.noisy(i, 0.0, &bins)).collect();
        assert!(
            low.iter().all(|v| *v >= 0.0 && v.fract() == 0.0)
                && low.iter().filter(|v| **v == 0.0).count() > 1000
        );
        // The spread is the planted sd: at y = 60 (sd 9) the sample sd of y' − y is near 9.
        let d: Vec<f64> = (0..4000).map(|i| g.noisy(i, 60.0, &bins) - 60.0).collect();
        let sd = (d.iter().map(|x| x * x).sum::<f64>() / d.len() as f64).sqrt();
        assert!((sd - 9.0).abs() < 0.4, "sd {sd}");
    }

    #[test]
    fn uniform_and_flip_follow_their_rules() {
        let bins = Bins::parse("0:10").unwrap();
        let u = spec("kind = \"uniform\"\nwidth = 2.0\n");
        let draws: Vec<f64> = (0..3000).map(|i| u.noisy(i, 5.0, &bins)).collect();
        assert!(draws.iter().all(|v| (3.0..=7.0).contains(v)));
        for v in [3.0, 4.0, 5.0, 6.0, 7.0] {
            assert!(draws.contains(&v), "{v} never drawn");
        }
        let f = spec("kind = \"flip\"\np = 0.3\n");
        // Changed share = p · (1 − 1/11): a flip may draw the label itself.
        let changed = (0..20_000).filter(|i| f.noisy(*i, 5.0, &bins) != 5.0).count() as f64 / 20_000.0;
        assert!((changed - 0.3 * 10.0 / 11.0).abs() < 0.015, "{changed}");
        assert!((0..100).all(|i| spec("kind = \"flip\"\np = 0.0\n").noisy(i, 4.0, &bins) == 4.0));
    }

    #[test]
    fn bad_settings_name_the_field_and_rule() {
        let bins = Bins::parse("0:10").unwrap();
        for (text, needle) in [
            (
                "kind = \"gaussian\"\nknots = [5.0, 2.0]\nsd = [1.0, 1.0]\n",
                "labels.noise.knots`: [5.0, 2.0]: knots must increase strictly (5 then 2)",
            ),
            (
                "kind = \"gaussian\"\nknots = [0.0, 12.0]\nsd = [1.0, 1.0]\n",
                "knot 12 lies outside the bins [0, 10]",
            ),
            (
                "kind = \"gaussian\"\nknots = [0.0]\nsd = [-1.0]\n",
                "labels.noise.sd`: [-1.0]: sd -1 must be finite and >= 0",
            ),
            ("kind = \"gaussian\"\nknots = [0.0, 5.0]\nsd = [1.0]\n", "give one sd per knot (2 knots, 1 sds"),
            (
                "kind = \"flip\"\np = 1.5\n",
                "labels.noise.p`: Some(1.5): flip noise needs a probability p in [0, 1]",
            ),
            ("kind = \"uniform\"\nwidth = 0.0\n", "uniform noise needs a finite width > 0"),
            (
                "kind = \"flip\"\np = 0.1\npools = [\"train\", \"test\"]\n",
                "\"test\": only \"train\" and \"val\" can be noised; the test pool is never touched",
            ),
            (
                "kind = \"flip\"\np = 0.1\nwidth = 2.0\n",
                "labels.noise.width`: is not a setting of kind = \"flip\"",
            ),
        ] {
            let e = spec(text).validate(&bins, Path::new("tasks/t.toml")).unwrap_err().to_string();
            assert!(e.contains(needle) && e.starts_with("tasks/t.toml"), "{text}: {e}");
        }
    }
}
