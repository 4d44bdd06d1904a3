//! Tabular features as an `[N, F]` f32 tensor, exactly as read: tables are standardised later by
//! their training split's statistics (`train::standardise`), never by statistics over every row.
use crate::error::{Error, Result};
use tch::Tensor;

/// `rows` (each of length F) as an `[N, F]` f32 tensor.
pub fn rows_tensor(rows: &[Vec<f64>], context: &str) -> Result<Tensor> {
    let width = rows.first().map(Vec::len).unwrap_or(0);
    if rows.is_empty() || width == 0 || rows.iter().any(|r| r.len() != width) {
        return Err(Error::shape(context, "tabular rows must be non-empty and of equal length"));
    }
    let values: Vec<f32> = rows.iter().flatten().map(|v| *v as f32).collect();
    Ok(Tensor::from_slice(&values).view([rows.len() as i64, width as i64]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_kept_as_written() {
        let t = rows_tensor(&[vec![1.0, 5.0], vec![3.0, 5.5]], "t").unwrap();
        assert_eq!(Vec::<f32>::try_from(t.view([-1])).unwrap(), vec![1.0, 5.0, 3.0, 5.5]);
        assert!(rows_tensor(&[vec![1.0], vec![]], "t").is_err());
    }
}
