//! A distribution family and its fixed φ as written in task files (`[distribution]`) and on the
//! command line (`gaussian:sigma=2`); parsed with unknown fields denied and validated once.
use super::distance::DistanceSpec;
use super::pdn::Pdn;
use super::segmentation::KernelShape;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// σ given as one number or as a list (per label for 1-D, (σ_1, σ_2) for 2-D).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SigmaSpec {
    Scalar(f64),
    Vector(Vec<f64>),
}

impl SigmaSpec {
    /// All values, in order.
    pub fn values(&self) -> Vec<f64> {
        match self {
            SigmaSpec::Scalar(s) => vec![*s],
            SigmaSpec::Vector(v) => v.clone(),
        }
    }
}

/// A label-distribution family with its fixed parameters φ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "lowercase", deny_unknown_fields)]
pub enum DistributionSpec {
    /// Hard labels: plain cross-entropy.
    Onehot {},
    /// Uniform label smoothing with weight ε.
    Smoothing { epsilon: f64 },
    /// 1-D Gaussian over bins: σ scalar or one per bin.
    Gaussian { sigma: SigmaSpec },
    /// 2-D Gaussian over a grid: σ or (σ_1, σ_2).
    Gaussian2d { sigma: SigmaSpec },
    /// Multi-label P/D/N with p_P = 1.
    Pdn { p_d: f64, p_n: f64 },
    /// Multi-label Gaussian mixture over label distances (extension A); `distance` is `index`
    /// (the default), `cooccurrence` (of the training pool) or a C×C `.csv` file.
    Mixture {
        sigma: f64,
        p_d: f64,
        p_n: f64,
        #[serde(default, skip_serializing_if = "DistanceSpec::is_index")]
        distance: DistanceSpec,
    },
    /// Segmentation maps smoothed by a K×K Gaussian kernel.
    Segmentation {
        sigma: f64,
        kernel: i64,
        #[serde(default = "default_stride")]
        stride: i64,
        /// Defaults to (kernel − 1) / 2, which keeps the map size at stride 1.
        #[serde(default)]
        padding: Option<i64>,
    },
}

fn default_stride() -> i64 {
    1
}

impl DistributionSpec {
    /// The family's name as written in files.
    pub fn family(&self) -> &'static str {
        match self {
            DistributionSpec::Onehot {} => "onehot",
            DistributionSpec::Smoothing { .. } => "smoothing",
            DistributionSpec::Gaussian { .. } => "gaussian",
            DistributionSpec::Gaussian2d { .. } => "gaussian2d",
            DistributionSpec::Pdn { .. } => "pdn",
            DistributionSpec::Mixture { .. } => "mixture",
            DistributionSpec::Segmentation { .. } => "segmentation",
        }
    }

    /// The continuous parameters φ of the family, flat (σ…; p_D, p_N; σ, p_D, p_N; ε; σ_f).
    pub fn phi(&self) -> Vec<f64> {
        match self {
            DistributionSpec::Onehot {} => vec![],
            DistributionSpec::Smoothing { epsilon } => vec![*epsilon],
            DistributionSpec::Gaussian { sigma } | DistributionSpec::Gaussian2d { sigma } => sigma.values(),
            DistributionSpec::Pdn { p_d, p_n } => vec![*p_d, *p_n],
            DistributionSpec::Mixture { sigma, p_d, p_n, .. } => vec![*sigma, *p_d, *p_n],
            DistributionSpec::Segmentation { sigma, .. } => vec![*sigma],
        }
    }

    /// Checks every value against its rule (the same rules the families enforce).
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid(name, v, "must be finite and > 0"))
            }
        };
        match self {
            DistributionSpec::Onehot {} => Ok(()),
            DistributionSpec::Smoothing { epsilon } if !(epsilon.is_finite() && (0.0..1.0).contains(epsilon)) => {
                Err(Error::invalid("epsilon", epsilon, "must satisfy 0 <= epsilon < 1"))
            }
            DistributionSpec::Smoothing { .. } => Ok(()),
            DistributionSpec::Gaussian { sigma } => sigma.values().iter().try_for_each(|s| positive("sigma", *s)),
            DistributionSpec::Gaussian2d { sigma } => {
                let v = sigma.values();
                if !(1..=2).contains(&v.len()) {
                    return Err(Error::invalid("sigma", format!("{v:?}"), "2-D sigma is one value or [sigma_1, sigma_2]"));
                }
                v.iter().try_for_each(|s| positive("sigma", *s))
            }
            DistributionSpec::Pdn { p_d, p_n } => Pdn::check(*p_d, *p_n),
            DistributionSpec::Mixture { sigma, p_d, p_n, .. } => {
                positive("sigma", *sigma)?;
                Pdn::check(*p_d, *p_n)
            }
            DistributionSpec::Segmentation { sigma, .. } => {
                positive("sigma", *sigma)?;
                self.kernel_shape().map(|_| ())
            }
        }
    }

    /// The kernel shape of the segmentation family (an error for other families).
    pub fn kernel_shape(&self) -> Result<KernelShape> {
        match self {
            DistributionSpec::Segmentation { kernel, stride, padding, .. } => {
                KernelShape::new(*kernel, *stride, padding.unwrap_or((kernel.max(&1) - 1) / 2))
            }
            other => Err(Error::invalid("family", other.family(), "only the segmentation family has a kernel")),
        }
    }
}

/// Parses `FAMILY[:KEY=VALUE,KEY=VALUE]`, e.g. `gaussian:sigma=2`, `pdn:p_d=0.3,p_n=0`,
/// `gaussian2d:sigma=[2,3]`; values are TOML values. The result is validated.
impl FromStr for DistributionSpec {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let (family, rest) = text.split_once(':').unwrap_or((text, ""));
        let mut doc = format!("family = {:?}\n", family.trim());
        for pair in split_outside_brackets(rest) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                Error::invalid("distribution", text, "expected FAMILY:KEY=VALUE,KEY=VALUE (e.g. gaussian:sigma=2)")
            })?;
            doc.push_str(&format!("{} = {}\n", key.trim(), quoted_if_bare(key, value)));
        }
        let spec: DistributionSpec = toml::from_str(&doc).map_err(|e| {
            Error::invalid("distribution", text, format!("{} (families: onehot, smoothing, gaussian, gaussian2d, pdn, mixture, segmentation)", e.message()))
        })?;
        spec.validate()?;
        Ok(spec)
    }
}

/// The value of `key` as TOML: `distance` may be written bare (`distance=cooccurrence`, a path
/// without commas), which is quoted here; other values are TOML already.
fn quoted_if_bare(key: &str, value: &str) -> String {
    let value = value.trim();
    if key.trim() == "distance" && !value.starts_with('"') && !value.starts_with('\'') {
        format!("{value:?}")
    } else {
        value.to_string()
    }
}

/// A spec text short enough for a table cell or a legend: a long list (σ per label) becomes its
/// count and range, and long numbers are rounded to 3 decimals (`sigma=2.988027418834453` → `sigma=2.988`).
pub fn brief(spec: &str) -> String {
    round_numbers(&compress_list(spec))
}

fn compress_list(spec: &str) -> String {
    let Some(open) = spec.find('[') else { return spec.to_string() };
    if spec.chars().count() <= 60 {
        return spec.to_string();
    }
    let close = spec[open..].find(']').map_or(spec.len(), |i| open + i);
    let values: Vec<f64> = spec[open + 1..close].split(',').filter_map(|v| v.trim().parse().ok()).collect();
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    format!("{}[{} values in {}..{}]{}", &spec[..open], values.len(), two_decimals(lo), two_decimals(hi), &spec[(close + 1).min(spec.len())..])
}

fn round_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut number = String::new();
    let flush = |number: &mut String, out: &mut String| {
        match number.parse::<f64>() {
            Ok(v) if number.len() > 5 => out.push_str(&short_number(v)),
            _ => out.push_str(number),
        }
        number.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() || ch == '.' || (ch == 'e' && !number.is_empty()) {
            number.push(ch);
        } else {
            flush(&mut number, &mut out);
            out.push(ch);
        }
    }
    flush(&mut number, &mut out);
    out
}

/// `v` with 2 decimals, or in exponent form when that would show a nonzero value as 0.
fn two_decimals(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.005 { short_number(v) } else { format!("{v:.2}") }
}

/// `v` rounded to 3 decimals, or to 3 significant digits in exponent form when that rounding would
/// show a nonzero value as 0 (`1e-30`, `4.2e-4`).
fn short_number(v: f64) -> String {
    let rounded = (v * 1000.0).round() / 1000.0;
    if rounded != 0.0 || v == 0.0 {
        return format!("{rounded}");
    }
    let text = format!("{v:.2e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    format!("{}e{exponent}", mantissa.trim_end_matches('0').trim_end_matches('.'))
}

/// Splits on commas that are not inside `[...]`; empty pieces are dropped.
fn split_outside_brackets(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0usize, vec![]);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

impl fmt::Display for DistributionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sigma = |s: &SigmaSpec| match s {
            SigmaSpec::Scalar(x) => format!("{x}"),
            SigmaSpec::Vector(v) => format!("{v:?}").replace(' ', ""),
        };
        match self {
            DistributionSpec::Onehot {} => write!(f, "onehot"),
            DistributionSpec::Smoothing { epsilon } => write!(f, "smoothing:epsilon={epsilon}"),
            DistributionSpec::Gaussian { sigma: s } => write!(f, "gaussian:sigma={}", sigma(s)),
            DistributionSpec::Gaussian2d { sigma: s } => write!(f, "gaussian2d:sigma={}", sigma(s)),
            DistributionSpec::Pdn { p_d, p_n } => write!(f, "pdn:p_d={p_d},p_n={p_n}"),
            DistributionSpec::Mixture { sigma, p_d, p_n, distance } => {
                write!(f, "mixture:sigma={sigma},p_d={p_d},p_n={p_n}")?;
                if distance.is_index() { Ok(()) } else { write!(f, ",distance={}", distance.name()) }
            }
            DistributionSpec::Segmentation { sigma, kernel, stride, padding } => {
                write!(f, "segmentation:sigma={sigma},kernel={kernel},stride={stride}")?;
                padding.map_or(Ok(()), |p| write!(f, ",padding={p}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_strings_and_round_trips_through_display() {
        for text in ["onehot", "smoothing:epsilon=0.1", "gaussian:sigma=2", "gaussian:sigma=[1,2,3]", "gaussian2d:sigma=[2,3]", "pdn:p_d=0.3,p_n=0", "mixture:sigma=1,p_d=0.3,p_n=0.01", "mixture:sigma=0.5,p_d=0.3,p_n=0,distance=cooccurrence", "mixture:sigma=2,p_d=0.3,p_n=0,distance=d/voc.csv", "segmentation:sigma=3,kernel=5,stride=1"] {
            let spec: DistributionSpec = text.parse().unwrap();
            let again: DistributionSpec = spec.to_string().parse().unwrap();
            assert_eq!(spec, again, "{text}");
        }
        assert_eq!("gaussian:sigma=2".parse::<DistributionSpec>().unwrap(), DistributionSpec::Gaussian { sigma: SigmaSpec::Scalar(2.0) });
        let quoted: DistributionSpec = "mixture:sigma=1,p_d=0.3,p_n=0,distance=\"cooccurrence\"".parse().unwrap();
        assert_eq!(quoted.to_string(), "mixture:sigma=1,p_d=0.3,p_n=0,distance=cooccurrence");
        assert_eq!("mixture:sigma=1,p_d=0.3,p_n=0,distance=index".parse::<DistributionSpec>().unwrap().to_string(), "mixture:sigma=1,p_d=0.3,p_n=0");
    }

    #[test]
    fn rejects_unknown_fields_families_and_bad_values() {
        for bad in ["gaussian:sigma=2,width=3", "laplace:b=1", "gaussian:sigma=0", "gaussian", "pdn:p_d=0.2,p_n=0.5", "smoothing:epsilon=1", "segmentation:sigma=3,kernel=4", "gaussian2d:sigma=[1,2,3]", "gaussian:sigma", "mixture:sigma=1,p_d=0.3,p_n=0,distance=jaccard"] {
            assert!(bad.parse::<DistributionSpec>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn brief_shortens_long_lists_only() {
        assert_eq!(brief("gaussian:sigma=2"), "gaussian:sigma=2");
        let long = format!("gaussian:sigma=[{}]", (1..=30).map(|i| format!("{i}.5")).collect::<Vec<_>>().join(","));
        assert_eq!(brief(&long), "gaussian:sigma=[30 values in 1.50..30.50]");
        assert_eq!(brief("gaussian:sigma=0.000000000000000000000000000001"), "gaussian:sigma=1e-30");
        assert_eq!(brief("gaussian:sigma=0.00042"), "gaussian:sigma=4.2e-4");
        assert_eq!(brief("gaussian:sigma=0.0004999"), "gaussian:sigma=5e-4");
    }

    #[test]
    fn reads_the_task_file_form() {
        let spec: DistributionSpec = toml::from_str("family = \"segmentation\"\nsigma = 3.0\nkernel = 5\n").unwrap();
        assert_eq!(spec.kernel_shape().unwrap(), KernelShape::new(5, 1, 2).unwrap());
        assert!(toml::from_str::<DistributionSpec>("family = \"onehot\"\nsigma = 1.0\n").is_err());
    }
}
