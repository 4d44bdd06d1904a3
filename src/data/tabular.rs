//! Tabular features: per-column standardisation (zero mean, unit variance) into an `[N, F]` f32 tensor.
//! Statistics use all rows; this is label-free, so it leaks no labels across splits.
use crate::error::{Error, Result};
use tch::Tensor;

/// Standardise `rows` (each of length F) column by column; a constant column becomes zeros.
pub fn standardise(rows: &[Vec<f64>], context: &str) -> Result<Tensor> {
    let width = rows.first().map(Vec::len).unwrap_or(0);
    if rows.is_empty() || width == 0 || rows.iter().any(|r| r.len() != width) {
        return Err(Error::shape(context, "tabular rows must be non-empty and of equal length"));
    }
    let n = rows.len() as f64;
    let mut out = vec![0f32; rows.len() * width];
    for col in 0..width {
        let mean = rows.iter().map(|r| r[col]).sum::<f64>() / n;
        let var = rows.iter().map(|r| (r[col] - mean).powi(2)).sum::<f64>() / n;
        let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
        for (i, row) in rows.iter().enumerate() {
            out[i * width + col] = ((row[col] - mean) / sd) as f32;
        }
    }
    Ok(Tensor::from_slice(&out).view([rows.len() as i64, width as i64]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_have_zero_mean_unit_variance() {
        let t = standardise(&[vec![1.0, 5.0], vec![3.0, 5.0], vec![5.0, 5.0]], "t").unwrap();
        let v = Vec::<f32>::try_from(t.view([-1])).unwrap();
        assert!((v[0] + 1.2247).abs() < 1e-3 && v[2].abs() < 1e-6 && (v[4] - 1.2247).abs() < 1e-3);
        assert!(v.iter().skip(1).step_by(2).all(|x| *x == 0.0));
        assert!(standardise(&[vec![1.0], vec![]], "t").is_err());
    }
}
