//! The command-line form of a distribution (`gaussian:sigma=2`, `pdn:p_d=0.3,p_n=0`), parsed through
//! the task file's TOML form with unknown fields denied; and short forms of spec texts for tables.
use super::DistributionSpec;
use crate::error::{Error, Result};
use std::str::FromStr;

/// Parses `FAMILY[:KEY=VALUE,KEY=VALUE]`, e.g. `gaussian:sigma=2`, `pdn:p_d=0.3,p_n=0`,
/// `gaussian2d:sigma=[2,3]`; values are TOML values. The result is validated.
impl FromStr for DistributionSpec {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let (family, rest) = text.split_once(':').unwrap_or((text, ""));
        let mut doc = format!("family = {:?}\n", family.trim());
        for pair in split_outside_brackets(rest) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                Error::invalid(
                    "distribution",
                    text,
                    "expected FAMILY:KEY=VALUE,KEY=VALUE (e.g. gaussian:sigma=2)",
                )
            })?;
            doc.push_str(&format!("{} = {}\n", key.trim(), quoted_if_bare(key, value)));
        }
        let spec: DistributionSpec = toml::from_str(&doc).map_err(|e| {
            Error::invalid("distribution", text, format!("{} (families: {})", e.message(), families()))
        })?;
        spec.validate()?;
        Ok(spec)
    }
}

/// Every registered family's name, for errors.
fn families() -> String {
    DistributionSpec::examples().iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
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
    format!(
        "{}[{} values in {}..{}]{}",
        &spec[..open],
        values.len(),
        two_decimals(lo),
        two_decimals(hi),
        &spec[(close + 1).min(spec.len())..]
    )
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
    if v != 0.0 && v.abs() < 0.005 {
        short_number(v)
    } else {
        format!("{v:.2}")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_strings_and_round_trips_through_display() {
        for text in [
            "onehot",
            "smoothing:epsilon=0.1",
            "gaussian:sigma=2",
            "gaussian:sigma=[1,2,3]",
            "gaussian2d:sigma=[2,3]",
            "pdn:p_d=0.3,p_n=0",
            "mixture:sigma=1,p_d=0.3,p_n=0.01",
            "mixture:sigma=0.5,p_d=0.3,p_n=0,distance=cooccurrence",
            "mixture:sigma=2,p_d=0.3,p_n=0,distance=d/voc.csv",
            "segmentation:sigma=3,kernel=5,stride=1",
        ] {
            let spec: DistributionSpec = text.parse().unwrap();
            let again: DistributionSpec = spec.to_string().parse().unwrap();
            assert_eq!(spec, again, "{text}");
        }
        assert_eq!(
            "gaussian:sigma=2".parse::<DistributionSpec>().unwrap(),
            DistributionSpec::Gaussian(super::super::GaussianSpec {
                sigma: super::super::SigmaSpec::Scalar(2.0)
            })
        );
        let quoted: DistributionSpec =
            "mixture:sigma=1,p_d=0.3,p_n=0,distance=\"cooccurrence\"".parse().unwrap();
        assert_eq!(quoted.to_string(), "mixture:sigma=1,p_d=0.3,p_n=0,distance=cooccurrence");
        assert_eq!(
            "mixture:sigma=1,p_d=0.3,p_n=0,distance=index".parse::<DistributionSpec>().unwrap().to_string(),
            "mixture:sigma=1,p_d=0.3,p_n=0"
        );
    }

    #[test]
    fn rejects_unknown_fields_families_and_bad_values() {
        for bad in [
            "gaussian:sigma=2,width=3",
            "laplace:b=1",
            "gaussian:sigma=0",
            "gaussian",
            "pdn:p_d=0.2,p_n=0.5",
            "smoothing:epsilon=1",
            "segmentation:sigma=3,kernel=4",
            "gaussian2d:sigma=[1,2,3]",
            "gaussian:sigma",
            "mixture:sigma=1,p_d=0.3,p_n=0,distance=jaccard",
        ] {
            assert!(bad.parse::<DistributionSpec>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn brief_shortens_long_lists_only() {
        assert_eq!(brief("gaussian:sigma=2"), "gaussian:sigma=2");
        let long =
            format!("gaussian:sigma=[{}]", (1..=30).map(|i| format!("{i}.5")).collect::<Vec<_>>().join(","));
        assert_eq!(brief(&long), "gaussian:sigma=[30 values in 1.50..30.50]");
        assert_eq!(brief("gaussian:sigma=0.000000000000000000000000000001"), "gaussian:sigma=1e-30");
        assert_eq!(brief("gaussian:sigma=0.00042"), "gaussian:sigma=4.2e-4");
        assert_eq!(brief("gaussian:sigma=0.0004999"), "gaussian:sigma=5e-4");
    }

    #[test]
    fn reads_the_task_file_form() {
        let spec: DistributionSpec =
            toml::from_str("family = \"segmentation\"\nsigma = 3.0\nkernel = 5\n").unwrap();
        assert_eq!(spec.kernel_shape().unwrap(), crate::label::KernelShape::new(5, 1, 2).unwrap());
        assert!(toml::from_str::<DistributionSpec>("family = \"onehot\"\nsigma = 1.0\n").is_err());
    }
}
