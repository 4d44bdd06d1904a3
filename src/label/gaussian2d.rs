//! The 2-D Gaussian family (head pose): `p_jk ∝ N((a_j, b_k); μ, diag(σ_1², σ_2²))` over a grid.
//! Isotropic σ or anisotropic (σ_1, σ_2); the output is flattened row-major over the grid.
use super::bins::{Grid, MAX_BINS};
use super::validate;
use crate::error::{Error, Result};
use tch::Tensor;

/// The width parameter φ of the 2-D family; the tensors may require grad.
#[derive(Debug)]
pub enum Sigma2d {
    /// One σ for both axes (one value).
    Isotropic(Tensor),
    /// (σ_1, σ_2), one per axis (two values).
    Anisotropic(Tensor),
}

impl Sigma2d {
    /// The underlying φ tensor.
    pub fn tensor(&self) -> &Tensor {
        match self {
            Sigma2d::Isotropic(t) | Sigma2d::Anisotropic(t) => t,
        }
    }
}

/// 2-D Gaussian label distributions over `grid`.
#[derive(Debug)]
pub struct Gaussian2d<'a> {
    grid: &'a Grid,
    sigma: Sigma2d,
}

impl<'a> Gaussian2d<'a> {
    /// Checks σ: one value (isotropic) or two (anisotropic), each finite and at least
    /// [`validate::MIN_SIGMA_PER_STEP`] × the step of its axis (the smaller step for an isotropic σ).
    pub fn new(grid: &'a Grid, sigma: Sigma2d) -> Result<Self> {
        let values = validate::values(sigma.tensor())?;
        let steps = match values.len() {
            1 => vec![grid.axis1.step().min(grid.axis2.step())],
            _ => vec![grid.axis1.step(), grid.axis2.step()],
        };
        for (v, step) in values.iter().zip(steps) {
            validate::sigma_floor("sigma", &[*v], step, "grid step")?;
        }
        let (n, want) = match &sigma {
            Sigma2d::Isotropic(t) => (t.numel(), 1),
            Sigma2d::Anisotropic(t) => (t.numel(), 2),
        };
        if n != want {
            return Err(Error::shape("sigma", format!("expected {want} value(s), got {n}")));
        }
        // A grid built from its fields skips `Grid::parse`'s limit; its cells are the targets' width.
        if grid.axis1.len().saturating_mul(grid.axis2.len()) > MAX_BINS {
            let cells = format!("{}×{} cells", grid.axis1.len(), grid.axis2.len());
            return Err(Error::invalid("grid", cells, format!("at most {MAX_BINS} cells")));
        }
        Ok(Gaussian2d { grid, sigma })
    }

    /// Target distributions `[N, C1·C2]` for labels `[N, 2]`.
    pub fn targets(&self, labels: &Tensor) -> Result<Tensor> {
        validate::dims("labels", labels, 2)?;
        if labels.size()[1] != 2 {
            return Err(Error::shape(
                "labels",
                format!("2-D labels need shape [N, 2], got {:?}", labels.size()),
            ));
        }
        let phi = self.sigma.tensor();
        let kind = validate::float_kind(phi);
        let device = phi.device();
        let labels = labels.to_kind(kind).to_device(device);
        let (s1, s2) = match &self.sigma {
            Sigma2d::Isotropic(s) => (s.reshape([1, 1]), s.reshape([1, 1])),
            Sigma2d::Anisotropic(s) => (s.get(0).reshape([1, 1]), s.get(1).reshape([1, 1])),
        };
        let d1 = (self.grid.axis1.tensor(kind, device).unsqueeze(0) - labels.select(1, 0).unsqueeze(1))
            .square()
            / (s1.square() * 2.0);
        let d2 = (self.grid.axis2.tensor(kind, device).unsqueeze(0) - labels.select(1, 1).unsqueeze(1))
            .square()
            / (s2.square() * 2.0);
        let log_weight = -(d1.unsqueeze(2) + d2.unsqueeze(1));
        let n = labels.size()[0];
        Ok(log_weight.reshape([n, -1]).softmax(1, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::validate::values;
    use crate::label::Bins;
    use tch::Kind;

    #[test]
    fn matches_hand_computed_closed_form() {
        let grid = Grid::parse("0:2,10:12").unwrap();
        let sigma = Sigma2d::Anisotropic(Tensor::from_slice(&[1.0f64, 2.0]));
        let p = Gaussian2d::new(&grid, sigma)
            .unwrap()
            .targets(&Tensor::from_slice(&[0.5f64, 11.0]).reshape([1, 2]))
            .unwrap();
        let mut w = vec![];
        for a in 0..3 {
            for b in 10..13 {
                let (da, db) = (a as f64 - 0.5, b as f64 - 11.0);
                w.push((-da * da / 2.0 - db * db / 8.0).exp());
            }
        }
        let z: f64 = w.iter().sum();
        let got = values(&p).unwrap();
        assert_eq!(got.len(), 9);
        for (g, want) in got.iter().zip(w.iter().map(|x| x / z)) {
            assert!((g - want).abs() < 1e-12);
        }
    }

    #[test]
    fn sums_to_one_and_sigma_to_zero_is_one_hot() {
        let grid = Grid::parse("-30:30:10,-60:60:15").unwrap();
        let labels = Tensor::from_slice(&[10.0f64, -15.0, -30.0, 60.0]).reshape([2, 2]);
        let p = Gaussian2d::new(&grid, Sigma2d::Isotropic(Tensor::from_slice(&[7.0f64])))
            .unwrap()
            .targets(&labels)
            .unwrap();
        let sums = values(&p.sum_dim_intlist(1, false, Kind::Double)).unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-12));
        let p = Gaussian2d::new(&grid, Sigma2d::Isotropic(Tensor::from_slice(&[0.1f64])))
            .unwrap()
            .targets(&labels)
            .unwrap();
        // (10, -15) → cell (4, 3); (-30, 60) → cell (0, 8); 9 columns.
        let v = values(&p).unwrap();
        assert!((v[4 * 9 + 3] - 1.0).abs() < 1e-12);
        assert!((v[63 + 8] - 1.0).abs() < 1e-12);
        assert!((v.iter().sum::<f64>() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn gradients_match_central_differences() {
        let grid = Grid::parse("0:6,0:4").unwrap();
        let labels = Tensor::from_slice(&[2.3f64, 1.0, 5.0, 3.6]).reshape([2, 2]);
        let probe = Tensor::arange(35, (Kind::Double, tch::Device::Cpu)).sin().reshape([1, 35]);
        let objective = |s: &Tensor| {
            let p = Gaussian2d::new(&grid, Sigma2d::Anisotropic(s.shallow_clone()))
                .unwrap()
                .targets(&labels)
                .unwrap();
            (p * &probe).sum(Kind::Double)
        };
        let phi = [1.3f64, 0.8];
        let s = Tensor::from_slice(&phi).set_requires_grad(true);
        let grad = values(&Tensor::run_backward(&[objective(&s)], &[&s], false, false)[0]).unwrap();
        for i in 0..2 {
            let at = |d: f64| {
                let mut v = phi;
                v[i] += d;
                objective(&Tensor::from_slice(&v)).double_value(&[])
            };
            let fd = (at(1e-6) - at(-1e-6)) / 2e-6;
            assert!((grad[i] - fd).abs() < 1e-7, "σ_{}: {} vs {fd}", i + 1, grad[i]);
        }
    }

    #[test]
    fn invalid_sigma_and_labels_are_typed_errors() {
        let grid = Grid::parse("0:2,0:2").unwrap();
        assert!(matches!(
            Gaussian2d::new(&grid, Sigma2d::Anisotropic(Tensor::from_slice(&[1.0f64, -1.0]))).unwrap_err(),
            Error::InvalidParameter { .. }
        ));
        assert!(Gaussian2d::new(&grid, Sigma2d::Anisotropic(Tensor::from_slice(&[1.0f64]))).is_err());
        let huge = Grid { axis1: Bins::parse("0:999999").unwrap(), axis2: Bins::parse("0:1").unwrap() };
        let err = Gaussian2d::new(&huge, Sigma2d::Isotropic(Tensor::from_slice(&[1.0f64])))
            .unwrap_err()
            .to_string();
        assert!(err.contains("1000000×2 cells") && err.contains("at most 1000000 cells"), "{err}");
        let g = Gaussian2d::new(&grid, Sigma2d::Isotropic(Tensor::from_slice(&[1.0f64]))).unwrap();
        assert!(g.targets(&Tensor::from_slice(&[1.0f64, 2.0, 3.0])).is_err());
    }
}
