//! Checks shared by the families: φ values that must be finite and positive, or lie in a range.
//! They read φ once (detached, on the CPU), so a bad value is a typed error, never a panic or NaN.
use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// All values of `t`, as f64 on the CPU.
pub(crate) fn values(t: &Tensor) -> Result<Vec<f64>> {
    let flat = t.detach().to_device(Device::Cpu).to_kind(Kind::Double).reshape([-1]);
    Ok(Vec::<f64>::try_from(&flat)?)
}

/// Every value of `t` must be finite and strictly positive.
pub(crate) fn positive(name: &str, t: &Tensor) -> Result<()> {
    all_positive(name, &values(t)?)
}

fn all_positive(name: &str, values: &[f64]) -> Result<()> {
    match values.iter().find(|v| !v.is_finite() || **v <= 0.0) {
        Some(v) => Err(Error::invalid(name, v, "must be finite and > 0")),
        None => Ok(()),
    }
}

/// The single value of a scalar (0-d or one-element) tensor.
pub(crate) fn scalar(name: &str, t: &Tensor) -> Result<f64> {
    single(name, t, &values(t)?)
}

/// [`positive`] and then [`scalar`], reading `t` once.
pub(crate) fn positive_scalar(name: &str, t: &Tensor) -> Result<f64> {
    let v = values(t)?;
    all_positive(name, &v)?;
    single(name, t, &v)
}

fn single(name: &str, t: &Tensor, values: &[f64]) -> Result<f64> {
    match values {
        [x] => Ok(*x),
        _ => Err(Error::shape(name, format!("expected one value, got shape {:?}", t.size()))),
    }
}

/// A floating tensor kind to compute in: `t`'s own if floating, else f32.
pub(crate) fn float_kind(t: &Tensor) -> Kind {
    match t.kind() {
        k @ (Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) => k,
        _ => Kind::Float,
    }
}

/// The smallest positive normal number of `kind`, used to keep logarithms finite.
pub(crate) fn tiny(kind: Kind) -> f64 {
    match kind {
        Kind::Double => f64::MIN_POSITIVE,
        _ => f32::MIN_POSITIVE as f64,
    }
}

/// The most classes a label domain may have: label states, one-hot rows and maps hold one
/// entry per class and example, so a larger count is a typing error long before it is a task.
pub const MAX_CLASSES: i64 = 1_000_000;

/// `classes` (named `name` in the message) must lie in `1..=MAX_CLASSES`.
pub fn check_classes(name: &str, classes: i64) -> Result<()> {
    if (1..=MAX_CLASSES).contains(&classes) {
        return Ok(());
    }
    Err(Error::invalid(name, classes, format!("must lie in 1..={MAX_CLASSES} (the most classes a label domain may have)")))
}

/// `t` must have exactly `dims` dimensions.
pub(crate) fn dims(context: &str, t: &Tensor, dims: usize) -> Result<()> {
    if t.dim() != dims {
        return Err(Error::shape(context, format!("expected {dims} dimensions, got shape {:?}", t.size())));
    }
    Ok(())
}

/// Normalise non-negative weights over `dim`; a slice summing to zero is an error named by `context`.
pub(crate) fn normalise(context: &str, weights: &Tensor, dim: i64) -> Result<Tensor> {
    let total = weights.sum_dim_intlist(dim, true, None);
    let empty = total.le(0.0).any();
    if bool::try_from(&empty)? {
        return Err(Error::invalid(
            context,
            "a sample with all-zero weights",
            "every sample needs at least one label with positive weight",
        ));
    }
    Ok(weights / total)
}
