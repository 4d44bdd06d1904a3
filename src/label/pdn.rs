//! The multi-label P/D/N family: each class is Positive, Difficult or Negative and gets
//! weight p_P = 1 > p_D ≥ p_N ≥ 0, normalised over the classes.
use super::validate;
use crate::error::{Error, Result};
use tch::Tensor;

/// Label state code of a present (positive) class.
pub const POSITIVE: i64 = 2;
/// Label state code of a difficult (truncated, occluded) class.
pub const DIFFICULT: i64 = 1;
/// Label state code of an absent class.
pub const NEGATIVE: i64 = 0;

/// P/D/N probabilities φ = (p_D, p_N) as two one-element tensors (p_P = 1).
#[derive(Debug)]
pub struct Pdn {
    p_d: Tensor,
    p_n: Tensor,
}

impl Pdn {
    /// Explicit values, checked: `1 > p_D ≥ p_N ≥ 0` (p_D = p_N treats difficult as negative).
    pub fn explicit(p_d: f64, p_n: f64) -> Result<Self> {
        Pdn::check(p_d, p_n)?;
        Ok(Pdn { p_d: Tensor::from_slice(&[p_d]), p_n: Tensor::from_slice(&[p_n]) })
    }

    /// The rule of [`Pdn::explicit`] without building the tensors.
    pub fn check(p_d: f64, p_n: f64) -> Result<()> {
        if !(p_d.is_finite() && (0.0..1.0).contains(&p_d)) {
            return Err(Error::invalid("p_d", p_d, "must satisfy 0 <= p_d < p_P = 1"));
        }
        if !(p_n.is_finite() && p_n >= 0.0 && p_n <= p_d) {
            return Err(Error::invalid(
                "p_n",
                p_n,
                format!("must satisfy 0 <= p_n <= p_d = {p_d} (order p_P > p_D >= p_N)"),
            ));
        }
        Ok(())
    }

    /// φ as tensors (which may carry a graph), checked like [`Pdn::explicit`].
    pub fn from_tensors(p_d: &Tensor, p_n: &Tensor) -> Result<Self> {
        Pdn::check(validate::scalar("p_d", p_d)?, validate::scalar("p_n", p_n)?)?;
        Ok(Pdn { p_d: p_d.reshape([1]), p_n: p_n.reshape([1]) })
    }

    /// The learnable parametrisation: `θ = (a, b)` ↦ `p_D = sigmoid(a)`, `p_N = p_D · sigmoid(b)`,
    /// so every θ gives `1 > p_D > p_N > 0`. `θ` is a `[2]` tensor that may require grad.
    pub fn from_unconstrained(theta: &Tensor) -> Result<Self> {
        if theta.numel() != 2 {
            return Err(Error::shape(
                "pdn theta",
                format!("expected 2 values, got shape {:?}", theta.size()),
            ));
        }
        validate::values(theta)?
            .iter()
            .find(|v| !v.is_finite())
            .map_or(Ok(()), |v| Err(Error::invalid("pdn theta", v, "must be finite")))?;
        let p_d = theta.get(0).sigmoid().reshape([1]);
        let p_n = &p_d * theta.get(1).sigmoid();
        Ok(Pdn { p_d, p_n })
    }

    /// The inverse of [`Pdn::from_unconstrained`] for `1 > p_D > p_N > 0`.
    pub fn unconstrained(p_d: f64, p_n: f64) -> Result<[f64; 2]> {
        Pdn::check(p_d, p_n)?;
        if p_d <= 0.0 || p_n <= 0.0 || p_n >= p_d {
            return Err(Error::invalid("p_n", p_n, "the learnable form needs 0 < p_n < p_d"));
        }
        let logit = |x: f64| (x / (1.0 - x)).ln();
        Ok([logit(p_d), logit(p_n / p_d)])
    }

    /// Current (p_D, p_N) as numbers.
    pub fn values(&self) -> Result<(f64, f64)> {
        Ok((validate::scalar("p_d", &self.p_d)?, validate::scalar("p_n", &self.p_n)?))
    }

    /// p_N as a one-element tensor (part of the autograd graph when learned).
    pub(crate) fn p_n(&self) -> &Tensor {
        &self.p_n
    }

    /// Per-class weights `[N, C]` (1, p_D or p_N) for states `[N, C]` (codes 2/1/0), unnormalised.
    pub(crate) fn weights(&self, states: &Tensor) -> Result<Tensor> {
        check_states(states)?;
        let kind = validate::float_kind(&self.p_d);
        let device = self.p_d.device();
        let states = states.to_device(device);
        let one = Tensor::ones([1], (kind, device));
        let p_d = self.p_d.to_kind(kind).reshape([1]);
        let p_n = self.p_n.to_kind(kind).reshape([1]);
        Ok(one.where_self(&states.eq(POSITIVE), &p_d.where_self(&states.eq(DIFFICULT), &p_n)))
    }

    /// Target distributions `[N, C]` for states `[N, C]`; a row with no positive or difficult class
    /// and p_N = 0 has no distribution and is an error.
    pub fn targets(&self, states: &Tensor) -> Result<Tensor> {
        validate::normalise("pdn targets", &self.weights(states)?, 1)
    }

    /// Like [`Pdn::targets`], but a row without any weight (e.g. only difficult classes at p_D = 0)
    /// gets an all-zero row and `false` in the returned `[N]` validity mask, for losses that skip it.
    pub fn targets_masked(&self, states: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok(validate::normalise_rows_masked(&self.weights(states)?))
    }
}

/// States must be a `[N, C]` integer tensor with codes 0, 1 or 2.
pub(crate) fn check_states(states: &Tensor) -> Result<()> {
    validate::dims("label states", states, 2)?;
    if validate::float_kind(states) == states.kind() {
        return Err(Error::shape("label states", "expected an integer tensor of codes 2/1/0"));
    }
    let bad = states.lt(NEGATIVE).logical_or(&states.gt(POSITIVE)).any();
    if bool::try_from(&bad)? {
        return Err(Error::invalid(
            "label states",
            "a code outside {0,1,2}",
            "use 2 = Positive, 1 = Difficult, 0 = Negative",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::validate::values;
    use tch::Kind;

    fn states(rows: &[&[i64]]) -> Tensor {
        let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_slice(&flat).reshape([rows.len() as i64, -1])
    }

    #[test]
    fn matches_hand_computed_values() {
        let p = Pdn::explicit(0.3, 0.1).unwrap().targets(&states(&[&[2, 1, 0, 2]])).unwrap();
        let z = 1.0 + 0.3 + 0.1 + 1.0;
        let want = [1.0 / z, 0.3 / z, 0.1 / z, 1.0 / z];
        for (g, w) in values(&p).unwrap().iter().zip(want) {
            assert!((g - w).abs() < 1e-12);
        }
    }

    #[test]
    fn order_is_enforced_when_explicit_and_guaranteed_when_learned() {
        assert!(Pdn::explicit(0.3, 0.5).is_err());
        assert!(Pdn::explicit(1.0, 0.0).is_err());
        assert!(Pdn::explicit(-0.1, 0.0).is_err());
        assert!(Pdn::explicit(0.3, f64::NAN).is_err());
        assert!(Pdn::explicit(0.0, 0.0).is_ok());
        for theta in [[-30.0f64, 30.0], [30.0, -30.0], [0.0, 0.0], [5.0, 5.0]] {
            let (d, n) = Pdn::from_unconstrained(&Tensor::from_slice(&theta)).unwrap().values().unwrap();
            assert!(1.0 > d && d >= n && n >= 0.0, "{theta:?} → ({d}, {n})");
        }
        let theta = Pdn::unconstrained(0.3, 0.05).unwrap();
        let (d, n) = Pdn::from_unconstrained(&Tensor::from_slice(&theta)).unwrap().values().unwrap();
        assert!((d - 0.3).abs() < 1e-12 && (n - 0.05).abs() < 1e-12);
    }

    #[test]
    fn gradient_matches_central_differences() {
        let s = states(&[&[2, 1, 0, 0], &[1, 2, 2, 0]]);
        let probe = Tensor::from_slice(&[0.4f64, -1.0, 2.0, 0.3]).reshape([1, 4]);
        let objective = |t: &Tensor| {
            (Pdn::from_unconstrained(t).unwrap().targets(&s).unwrap() * &probe).sum(Kind::Double)
        };
        let theta = [-0.4f64, 0.7];
        let t = Tensor::from_slice(&theta).set_requires_grad(true);
        let grad = values(&Tensor::run_backward(&[objective(&t)], &[&t], false, false)[0]).unwrap();
        for i in 0..2 {
            let at = |d: f64| {
                let mut v = theta;
                v[i] += d;
                objective(&Tensor::from_slice(&v)).double_value(&[])
            };
            let fd = (at(1e-6) - at(-1e-6)) / 2e-6;
            assert!((grad[i] - fd).abs() < 1e-8, "θ_{i}: {} vs {fd}", grad[i]);
        }
    }

    #[test]
    fn rows_without_weight_are_masked_not_errors() {
        let pdn = Pdn::explicit(0.0, 0.0).unwrap();
        let (dist, valid) = pdn.targets_masked(&states(&[&[1, 0, 0], &[2, 1, 0]])).unwrap();
        assert_eq!(Vec::<bool>::try_from(&valid).unwrap(), vec![false, true]);
        assert_eq!(values(&dist).unwrap(), vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_states_are_typed_errors() {
        let pdn = Pdn::explicit(0.3, 0.0).unwrap();
        assert!(pdn.targets(&states(&[&[0, 0, 0]])).is_err(), "no positive and p_N = 0");
        assert!(pdn.targets(&states(&[&[3, 0, 0]])).is_err());
        assert!(pdn.targets(&Tensor::from_slice(&[2i64, 0])).is_err());
        assert!(pdn.targets(&Tensor::from_slice(&[1.0f32, 0.0]).reshape([1, 2])).is_err());
    }
}
