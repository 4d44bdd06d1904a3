//! Checks shared by the families: φ values that must be finite and positive, or lie in a range.
//! They read φ once (detached, on the CPU), so a bad value is a typed error, never a panic or NaN.
use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// The smallest σ allowed, as a fraction of the label step (the smallest gap between bins or grid
/// values, one class index for the mixture, one pixel for the segmentation kernel). At σ = step/100
/// the nearest label already takes all the mass (the next one is e^{-5000} smaller), so a smaller σ
/// only changes the target into NaN once σ² underflows in float arithmetic.
pub const MIN_SIGMA_PER_STEP: f64 = 0.01;

/// Every σ in `values` must be finite and at least [`MIN_SIGMA_PER_STEP`] × `step`, the step of `unit`
/// (e.g. "bin step", "pixel").
pub fn sigma_floor(name: &str, values: &[f64], step: f64, unit: &str) -> Result<()> {
    all_positive(name, values)?;
    let floor = MIN_SIGMA_PER_STEP * step;
    match values.iter().find(|v| **v < floor) {
        Some(v) => Err(Error::invalid(
            name,
            v,
            format!("must be at least {MIN_SIGMA_PER_STEP} × the {unit} ({step}) = {floor}; a smaller σ is the one-hot target (use onehot)"),
        )),
        None => Ok(()),
    }
}

/// [`sigma_floor`] for the values of a tensor, read once.
pub(crate) fn sigma_tensor_floor(name: &str, t: &Tensor, step: f64, unit: &str) -> Result<()> {
    sigma_floor(name, &values(t)?, step, unit)
}

/// All values of `t`, as f64 on the CPU.
pub(crate) fn values(t: &Tensor) -> Result<Vec<f64>> {
    let flat = t.detach().to_device(Device::Cpu).to_kind(Kind::Double).reshape([-1]);
    Ok(Vec::<f64>::try_from(&flat)?)
}

/// Every value is finite and > 0.
pub(crate) fn all_positive(name: &str, values: &[f64]) -> Result<()> {
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
    Err(Error::invalid(
        name,
        classes,
        format!("must lie in 1..={MAX_CLASSES} (the most classes a label domain may have)"),
    ))
}

/// `t` must have exactly `dims` dimensions.
pub(crate) fn dims(context: &str, t: &Tensor, dims: usize) -> Result<()> {
    if t.dim() != dims {
        return Err(Error::shape(context, format!("expected {dims} dimensions, got shape {:?}", t.size())));
    }
    Ok(())
}

/// Rows `[N, C]` of `weights` normalised to sum 1, and a `[N]` mask that is `false` for rows
/// without weight (left all-zero, for losses that skip them).
pub(crate) fn normalise_rows_masked(weights: &Tensor) -> (Tensor, Tensor) {
    let total = weights.sum_dim_intlist(1, true, None);
    let valid = total.gt(0.0).squeeze_dim(1);
    (weights / total.clamp_min(tiny(float_kind(weights))), valid)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_floor_is_a_hundredth_of_the_step() {
        assert!(sigma_floor("sigma", &[0.02, 5.0], 2.0, "bin step").is_ok());
        let e = sigma_floor("sigma", &[1e-30], 1.0, "bin step").unwrap_err().to_string();
        assert_eq!(e, "invalid sigma = 0.000000000000000000000000000001: must be at least 0.01 × the bin step (1) = 0.01; a smaller σ is the one-hot target (use onehot)");
        assert!(sigma_floor("sigma", &[0.0199], 2.0, "bin step").is_err());
        assert!(sigma_floor("sigma", &[f64::NAN], 2.0, "bin step").is_err());
    }
}
