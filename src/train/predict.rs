//! Predictions from output distributions: the expected label `Σ_j q_j l_j` and the argmax label
//! for ordinal and pose tasks (both are reported), per-pixel classes for segmentation.
use crate::domain::Domain;
use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// Expected label under `q` (`[B, C]`): `[B]` for bins, `[B, 2]` for a grid.
pub fn expectation(domain: &Domain, q: &Tensor) -> Result<Tensor> {
    let device = q.device();
    match domain {
        Domain::Bins(bins) => Ok(q.matmul(&bins.tensor(Kind::Float, device))),
        Domain::Grid(grid) => {
            let (c1, c2) = (grid.axis1.len() as i64, grid.axis2.len() as i64);
            let q = q.reshape([-1, c1, c2]);
            let a = q.sum_dim_intlist(2, false, Kind::Float).matmul(&grid.axis1.tensor(Kind::Float, device));
            let b = q.sum_dim_intlist(1, false, Kind::Float).matmul(&grid.axis2.tensor(Kind::Float, device));
            Ok(Tensor::stack(&[a, b], 1))
        }
        _ => Err(Error::invalid(
            "prediction",
            "expectation",
            "only ordinal (bins) and pose (grid) tasks have an expected label",
        )),
    }
}

/// Label of the most probable bin or cell: `[B]` for bins, `[B, 2]` for a grid.
pub fn argmax_label(domain: &Domain, q: &Tensor) -> Result<Tensor> {
    let best = q.argmax(1, false);
    let device = q.device();
    match domain {
        Domain::Bins(bins) => Ok(bins.tensor(Kind::Float, device).index_select(0, &best)),
        Domain::Grid(grid) => {
            let c2 = grid.axis2.len() as i64;
            let a =
                grid.axis1.tensor(Kind::Float, device).index_select(0, &best.divide_scalar_mode(c2, "floor"));
            let b = grid.axis2.tensor(Kind::Float, device).index_select(0, &best.remainder(c2));
            Ok(Tensor::stack(&[a, b], 1))
        }
        _ => Err(Error::invalid(
            "prediction",
            "argmax label",
            "only ordinal (bins) and pose (grid) tasks have a label value",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::{Bins, Grid};

    #[test]
    fn expectation_and_argmax_by_hand() {
        let domain = Domain::Bins(Bins::parse("10:30:10").unwrap());
        let q = Tensor::from_slice(&[0.2f32, 0.5, 0.3]).reshape([1, 3]);
        assert!((expectation(&domain, &q).unwrap().double_value(&[0]) - 21.0).abs() < 1e-5);
        assert_eq!(argmax_label(&domain, &q).unwrap().double_value(&[0]), 20.0);
        let grid = Domain::Grid(Grid::parse("0:1,0:2").unwrap());
        let q = Tensor::from_slice(&[0.0f32, 0.1, 0.0, 0.2, 0.0, 0.7]).reshape([1, 6]);
        let e = expectation(&grid, &q).unwrap();
        assert!((e.double_value(&[0, 0]) - 0.9).abs() < 1e-6 && (e.double_value(&[0, 1]) - 1.5).abs() < 1e-6);
        let a = argmax_label(&grid, &q).unwrap();
        assert_eq!((a.double_value(&[0, 0]), a.double_value(&[0, 1])), (1.0, 2.0));
    }
}
