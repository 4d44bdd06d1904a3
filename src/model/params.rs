//! Population parameters as plain tensors `[P, ...]`, named and ordered: the functional form the
//! optimisers update and the outer loop differentiates through, with BatchNorm's running statistics
//! beside them; saved as `.safetensors`.
use crate::error::{Error, Result};
use std::path::Path;
use tch::{Device, Tensor};

/// Named parameter tensors and named running statistics (never trained, no gradient); the first
/// axis of every tensor is the population member.
#[derive(Debug)]
pub struct Params {
    pub names: Vec<String>,
    pub tensors: Vec<Tensor>,
    /// BatchNorm's running means and variances `[P, C]` (empty without BatchNorm): a training pass
    /// updates them in place, evaluation normalises by them.
    pub stat_names: Vec<String>,
    pub stats: Vec<Tensor>,
}

impl Params {
    /// Parameters without running statistics.
    pub fn new(names: Vec<String>, tensors: Vec<Tensor>) -> Params {
        Params { names, tensors, stat_names: vec![], stats: vec![] }
    }

    /// The same statistics (copied, so in-place updates of one never reach the other) with other
    /// parameter tensors.
    pub fn with_tensors(&self, tensors: Vec<Tensor>) -> Params {
        Params {
            names: self.names.clone(),
            tensors,
            stat_names: self.stat_names.clone(),
            stats: copies(&self.stats),
        }
    }

    /// Number of members P.
    pub fn population(&self) -> i64 {
        self.tensors.first().map_or(0, |t| t.size()[0])
    }

    /// Copies whose parameters are leaves of a new autograd graph (requires grad).
    pub fn leaves(&self) -> Params {
        self.with_tensors(self.tensors.iter().map(|t| t.detach().copy().set_requires_grad(true)).collect())
    }

    /// Copies with no graph and no grad.
    pub fn detached(&self) -> Params {
        self.map(|t| t.detach().copy())
    }

    /// The same names with each tensor (parameters and statistics) transformed by `f`.
    pub fn map(&self, f: impl Fn(&Tensor) -> Tensor) -> Params {
        Params {
            names: self.names.clone(),
            tensors: self.tensors.iter().map(&f).collect(),
            stat_names: self.stat_names.clone(),
            stats: self.stats.iter().map(&f).collect(),
        }
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
        if parts.iter().any(|p| p.names != first.names || p.stat_names != first.stat_names) {
            return Err(Error::shape("parameters", "populations with different layouts"));
        }
        let tensors = cat_members(&parts.iter().map(|p| p.tensors.as_slice()).collect::<Vec<_>>());
        let stats = cat_members(&parts.iter().map(|p| p.stats.as_slice()).collect::<Vec<_>>());
        Ok(Params { names: first.names.clone(), tensors, stat_names: first.stat_names.clone(), stats })
    }

    /// Every named tensor, parameters then statistics.
    pub fn named(&self) -> impl Iterator<Item = (&String, &Tensor)> {
        self.names.iter().zip(&self.tensors).chain(self.stat_names.iter().zip(&self.stats))
    }

    /// Every tensor (parameters then statistics) detached on the CPU, named `{prefix}{name}`: what
    /// checkpoints, population checkpoints and traces write.
    pub fn named_on_cpu(&self, prefix: &str) -> Vec<(String, Tensor)> {
        self.named().map(|(n, t)| (format!("{prefix}{n}"), t.detach().to_device(Device::Cpu))).collect()
    }

    /// Writes all tensors (parameters and statistics) to a `.safetensors` file.
    pub fn save(&self, path: &Path) -> Result<()> {
        Tensor::write_safetensors(&self.named_on_cpu(""), path)
            .map_err(|e| Error::data(path, format!("cannot write checkpoint: {e}")))
    }

    /// Reads a checkpoint written by [`Params::save`], in the order of `names` and `stat_names`,
    /// which must name every tensor it holds (a checkpoint of another network is refused).
    pub fn load(path: &Path, names: &[String], stat_names: &[String], device: Device) -> Result<Params> {
        Params::from_checkpoint(path, &read_checkpoint(path)?, names, stat_names, device)
    }

    /// [`Params::load`] on the tensors `stored` already read from `path` (named in errors).
    pub fn from_checkpoint(
        path: &Path,
        stored: &[(String, Tensor)],
        names: &[String],
        stat_names: &[String],
        device: Device,
    ) -> Result<Params> {
        let mut extra: Vec<&str> = stored
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !names.iter().chain(stat_names).any(|w| w == n))
            .collect();
        if !extra.is_empty() {
            extra.sort_unstable();
            return Err(Error::data(
                path,
                format!(
                    "checkpoint has tensors this network does not (another network, e.g. with BatchNorm): {}",
                    extra.join(", ")
                ),
            ));
        }
        let take = |wanted: &[String]| -> Result<Vec<Tensor>> {
            let missing = |name: &String| Error::data(path, format!("checkpoint has no tensor {name}"));
            wanted
                .iter()
                .map(|name| {
                    stored
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, t)| t.to_device(device))
                        .ok_or_else(|| missing(name))
                })
                .collect()
        };
        Ok(Params {
            names: names.to_vec(),
            tensors: take(names)?,
            stat_names: stat_names.to_vec(),
            stats: take(stat_names)?,
        })
    }

    /// The last layers of a checkpoint's tensors `stored` as the parameters `names` of a smaller
    /// network (`layer{j}.X` from the checkpoint's `layer{j + k}.X`, k = its layers − this
    /// network's): the head of a CNN as an MLP on the CNN's exported features. `None` when the
    /// checkpoint has no more layers than `names`, or lacks a tensor.
    pub fn head_of(stored: &[(String, Tensor)], names: &[String], device: Device) -> Option<Params> {
        let layers = |names: &mut dyn Iterator<Item = &str>| -> usize {
            names.filter_map(layer_index).max().map_or(0, |l| l + 1)
        };
        let (theirs, ours) = (
            layers(&mut stored.iter().map(|(n, _)| n.as_str())),
            layers(&mut names.iter().map(String::as_str)),
        );
        if theirs <= ours {
            return None;
        }
        let shift = theirs - ours;
        let mut tensors = vec![];
        for name in names {
            let (j, rest) = name.strip_prefix("layer")?.split_once('.')?;
            let source = format!("layer{}.{rest}", j.parse::<usize>().ok()? + shift);
            let (_, t) = stored.iter().find(|(n, _)| *n == source)?;
            tensors.push(t.to_device(device));
        }
        Some(Params::new(names.to_vec(), tensors))
    }
}

/// Every named tensor of a checkpoint written by [`Params::save`].
pub fn read_checkpoint(path: &Path) -> Result<Vec<(String, Tensor)>> {
    Tensor::read_safetensors(path).map_err(|e| Error::data(path, format!("cannot read checkpoint: {e}")))
}

/// `i` of a tensor named `layer{i}.…`.
fn layer_index(name: &str) -> Option<usize> {
    name.strip_prefix("layer")?.split_once('.')?.0.parse().ok()
}

fn copies(tensors: &[Tensor]) -> Vec<Tensor> {
    tensors.iter().map(|t| t.detach().copy()).collect()
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
            tensors: vec![
                Tensor::randn([2, 3], (Kind::Float, Device::Cpu)),
                Tensor::randn([2, 4, 5], (Kind::Float, Device::Cpu)),
            ],
            stat_names: vec!["s".into()],
            stats: vec![Tensor::randn([2, 3], (Kind::Float, Device::Cpu))],
        };
        let path = std::env::temp_dir().join(format!("dldl-params-{}.safetensors", std::process::id()));
        params.save(&path).unwrap();
        let back = Params::load(&path, &params.names, &params.stat_names, Device::Cpu).unwrap();
        assert!(back.tensors.iter().zip(&params.tensors).all(|(a, b)| a.equal(b)));
        assert!(back.stats[0].equal(&params.stats[0]));
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let err = Params::load(&path, &names(&["a", "b", "c"]), &names(&["s"]), Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("no tensor c"), "{err}");
        let err = Params::load(&path, &params.names, &[], Device::Cpu).unwrap_err();
        assert!(
            err.to_string()
                .contains("has tensors this network does not (another network, e.g. with BatchNorm): s"),
            "{err}"
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_head_takes_the_checkpoints_last_layers() {
        let dir = std::env::temp_dir().join(format!("dldl-head-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("checkpoint.safetensors");
        let names: Vec<String> =
            ["layer0.weight", "layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias"]
                .map(String::from)
                .to_vec();
        let tensors: Vec<Tensor> = (0..5).map(|i| Tensor::from_slice(&[i as f32]).reshape([1, 1])).collect();
        Params::new(names, tensors).save(&path).unwrap();
        let head: Vec<String> = ["layer0.weight", "layer0.bias"].map(String::from).to_vec();
        let stored = read_checkpoint(&path).unwrap();
        let loaded = Params::head_of(&stored, &head, Device::Cpu).expect("two layers fewer");
        assert_eq!(loaded.names, head);
        let values: Vec<f32> = loaded.tensors.iter().map(|t| t.double_value(&[0, 0]) as f32).collect();
        assert_eq!(values, vec![3.0, 4.0], "layer2 becomes layer0");
        let same: Vec<String> =
            ["layer0.weight", "layer1.weight", "layer1.bias", "layer2.weight"].map(String::from).to_vec();
        assert!(Params::head_of(&stored, &same, Device::Cpu).is_none(), "no more layers than ours");
        let missing: Vec<String> = ["layer0.scale"].map(String::from).to_vec();
        assert!(Params::head_of(&stored, &missing, Device::Cpu).is_none(), "layer2.scale is not there");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
