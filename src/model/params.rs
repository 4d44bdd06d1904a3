//! Population parameters as plain tensors `[P, ...]`, named and ordered: the functional form the
//! optimisers update and the outer loop differentiates through; saved as `.safetensors`.
use crate::error::{Error, Result};
use std::path::Path;
use tch::{Device, Tensor};

/// Named parameter tensors; the first axis of every tensor is the population member.
#[derive(Debug)]
pub struct Params {
    pub names: Vec<String>,
    pub tensors: Vec<Tensor>,
}

impl Params {
    /// Number of members P.
    pub fn population(&self) -> i64 {
        self.tensors.first().map_or(0, |t| t.size()[0])
    }

    /// Copies that are leaves of a new autograd graph (requires grad).
    pub fn leaves(&self) -> Params {
        self.map(|t| t.detach().copy().set_requires_grad(true))
    }

    /// Copies with no graph and no grad.
    pub fn detached(&self) -> Params {
        self.map(|t| t.detach().copy())
    }

    /// The same names with each tensor transformed by `f`.
    pub fn map(&self, f: impl Fn(&Tensor) -> Tensor) -> Params {
        Params { names: self.names.clone(), tensors: self.tensors.iter().map(f).collect() }
    }

    /// Members `index` (a list of member positions) as a smaller population.
    pub fn members(&self, index: &[i64]) -> Params {
        let device = self.tensors.first().map_or(Device::Cpu, |t| t.device());
        let idx = Tensor::from_slice(index).to_device(device);
        self.map(|t| t.index_select(0, &idx))
    }

    /// Concatenates populations with the same layout along the member axis.
    pub fn concat(parts: &[Params]) -> Result<Params> {
        let first = parts.first().ok_or_else(|| Error::shape("parameters", "nothing to concatenate"))?;
        if parts.iter().any(|p| p.names != first.names) {
            return Err(Error::shape("parameters", "populations with different layouts"));
        }
        let tensors = cat_members(&parts.iter().map(|p| p.tensors.as_slice()).collect::<Vec<_>>());
        Ok(Params { names: first.names.clone(), tensors })
    }

    /// Writes all tensors to a `.safetensors` file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let named: Vec<(&str, Tensor)> =
            self.names.iter().zip(&self.tensors).map(|(n, t)| (n.as_str(), t.detach().to_device(Device::Cpu))).collect();
        Tensor::write_safetensors(&named, path).map_err(|e| Error::data(path, format!("cannot write checkpoint: {e}")))
    }

    /// Reads a checkpoint written by [`Params::save`], in the order of `names`.
    pub fn load(path: &Path, names: &[String], device: Device) -> Result<Params> {
        let mut stored = Tensor::read_safetensors(path).map_err(|e| Error::data(path, format!("cannot read checkpoint: {e}")))?;
        let tensors = names
            .iter()
            .map(|name| {
                let at = stored.iter().position(|(n, _)| n == name);
                at.map(|i| stored.swap_remove(i).1.to_device(device))
                    .ok_or_else(|| Error::data(path, format!("checkpoint has no tensor {name}")))
            })
            .collect::<Result<_>>()?;
        Ok(Params { names: names.to_vec(), tensors })
    }
}

/// Tensor i of every part concatenated along the member axis, for each i (parts share a layout).
pub fn cat_members(parts: &[&[Tensor]]) -> Vec<Tensor> {
    let count = parts.first().map_or(0, |p| p.len());
    (0..count).map(|i| Tensor::cat(&parts.iter().map(|p| &p[i]).collect::<Vec<_>>(), 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn checkpoints_round_trip_exactly_and_name_missing_tensors() {
        let params = Params {
            names: vec!["a".into(), "b".into()],
            tensors: vec![Tensor::randn([2, 3], (Kind::Float, Device::Cpu)), Tensor::randn([2, 4, 5], (Kind::Float, Device::Cpu))],
        };
        let path = std::env::temp_dir().join(format!("dldl-params-{}.safetensors", std::process::id()));
        params.save(&path).unwrap();
        let back = Params::load(&path, &params.names, Device::Cpu).unwrap();
        assert!(back.tensors.iter().zip(&params.tensors).all(|(a, b)| a.equal(b)));
        let err = Params::load(&path, &["c".to_string()], Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("no tensor c"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }
}
