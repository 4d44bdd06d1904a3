//! What a population trains on: the dataset as the inner loop sees it (inputs, labels, label
//! domain) and one member (its seed, method and pools of dataset indices).
use super::method::Method;
use crate::domain::{Domain, Labels};
use crate::error::{Error, Result};
use tch::{Device, Tensor};

/// A dataset as the inner loop sees it: inputs `[N, …]`, labels, and the label domain.
pub struct TrainData<'a> {
    pub inputs: &'a Tensor,
    pub labels: &'a Labels,
    pub domain: &'a Domain,
}

impl TrainData<'_> {
    /// Inputs at `index` (P·B dataset indices, member-major) as `[P, B, …]` on `device`.
    pub fn gather(&self, index: &[i64], population: i64, device: Device) -> Result<Tensor> {
        let n = self.inputs.size()[0];
        if let Some(bad) = index.iter().find(|&&i| i < 0 || i >= n) {
            return Err(Error::invalid("dataset index", bad, format!("must be in 0..{n}")));
        }
        let idx = Tensor::from_slice(index).to_device(self.inputs.device());
        let x = self.inputs.index_select(0, &idx).to_device(device);
        let mut shape = vec![population, index.len() as i64 / population.max(1)];
        shape.extend_from_slice(&self.inputs.size()[1..]);
        Ok(x.reshape(shape.as_slice()))
    }

    /// `method`'s loss with parameters `phi` for `logits` `[B, …]` of the dataset rows `rows`
    /// (targets, where the loss uses them, built on the logits' device).
    pub fn loss(&self, method: &Method, phi: &Tensor, logits: &Tensor, rows: &[i64]) -> Result<Tensor> {
        let labels = self.labels.select(&Tensor::from_slice(rows)).to_device(logits.device());
        method.loss(self.domain, phi, logits, &labels)
    }
}

/// One member of a population.
#[derive(Debug, Clone)]
pub struct Member {
    /// Seeds the member's initial weights, batch order and flips.
    pub seed: u64,
    pub method: Method,
    /// Dataset indices it trains on.
    pub train: Vec<i64>,
    /// Dataset indices for validation (early stopping); may be empty.
    pub val: Vec<i64>,
}
