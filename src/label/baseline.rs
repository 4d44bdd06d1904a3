//! The baselines every comparison needs: one-hot targets (plain cross-entropy) and
//! uniform label smoothing `(1 − ε)·onehot + ε / C`.
use super::validate;
use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// One-hot targets `[N, classes]` (f32) for class indices `[N]`.
pub fn one_hot(index: &Tensor, classes: i64) -> Result<Tensor> {
    validate::dims("class indices", index, 1)?;
    if classes < 1 {
        return Err(Error::invalid("classes", classes, "must be >= 1"));
    }
    let outside = index.lt(0).logical_or(&index.ge(classes)).any();
    if bool::try_from(&outside)? {
        return Err(Error::invalid(
            "class indices",
            "an index outside the classes",
            format!("must be in 0..{classes}"),
        ));
    }
    Ok(index.to_kind(Kind::Int64).one_hot(classes).to_kind(Kind::Float))
}

/// Label smoothing with `0 ≤ ε < 1` (a one-element tensor, which may require grad).
pub fn label_smoothing(index: &Tensor, classes: i64, epsilon: &Tensor) -> Result<Tensor> {
    let eps = validate::scalar("epsilon", epsilon)?;
    if !(eps.is_finite() && (0.0..1.0).contains(&eps)) {
        return Err(Error::invalid("epsilon", eps, "must satisfy 0 <= epsilon < 1"));
    }
    let kind = validate::float_kind(epsilon);
    let hot = one_hot(index, classes)?.to_kind(kind).to_device(epsilon.device());
    let eps = epsilon.to_kind(kind).reshape([1, 1]);
    Ok(&hot * (1.0 - &eps) + eps / classes as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::validate::values;

    #[test]
    fn one_hot_and_smoothing_match_hand_values() {
        let idx = Tensor::from_slice(&[2i64, 0]);
        assert_eq!(values(&one_hot(&idx, 4).unwrap()).unwrap(), vec![0., 0., 1., 0., 1., 0., 0., 0.]);
        let s = values(&label_smoothing(&idx, 4, &Tensor::from_slice(&[0.2f64])).unwrap()).unwrap();
        let want = [0.05, 0.05, 0.85, 0.05, 0.85, 0.05, 0.05, 0.05];
        assert!(s.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{s:?}");
    }

    #[test]
    fn bad_values_are_typed_errors() {
        let idx = Tensor::from_slice(&[4i64]);
        assert!(one_hot(&idx, 4).is_err());
        let ok = Tensor::from_slice(&[1i64]);
        for eps in [-0.1, 1.0, f64::NAN] {
            assert!(label_smoothing(&ok, 4, &Tensor::from_slice(&[eps])).is_err());
        }
    }
}
