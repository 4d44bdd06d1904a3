//! The three networks (image CNN, tabular MLP, segmentation FCN) as specs, shapes and a
//! population forward pass over plain parameter tensors (optionally BatchNorm per member).
use super::dropout::{DropoutMasks, DropoutSite, DropoutSpec, SitePosition};
use super::init::{default_bound, uniform};
use super::layers::{channels_last, conv_same, from_grouped, linear, to_grouped, ConvLayout};
use super::params::Params;
use crate::error::{Error, Result};
use crate::model::Freeze;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Which network and its widths, as written in a task's `[model]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum NetworkSpec {
    /// Per width: conv 3×3 (+ BatchNorm) + ReLU + 2×2 max-pool; then fc layers `hidden` with ReLU
    /// and the output layer.
    Cnn {
        #[serde(default = "default_cnn_channels")]
        channels: Vec<i64>,
        #[serde(default = "default_hidden")]
        hidden: Vec<i64>,
        /// BatchNorm after every convolution (the convolution's bias becomes BatchNorm's shift).
        #[serde(default)]
        batchnorm: bool,
    },
    /// Fully connected layers with ReLU, then the output layer.
    Mlp {
        #[serde(default = "default_mlp_hidden")]
        hidden: Vec<i64>,
    },
    /// Per width: conv 3×3 (+ BatchNorm) + ReLU at full resolution; then a 1×1 conv to the classes.
    Fcn {
        #[serde(default = "default_fcn_channels")]
        channels: Vec<i64>,
        /// BatchNorm after every 3×3 convolution.
        #[serde(default)]
        batchnorm: bool,
    },
}

fn default_cnn_channels() -> Vec<i64> {
    vec![32, 64, 128]
}
fn default_hidden() -> Vec<i64> {
    vec![256]
}
fn default_mlp_hidden() -> Vec<i64> {
    vec![64, 64]
}
fn default_fcn_channels() -> Vec<i64> {
    vec![32, 32, 32]
}

/// BatchNorm's momentum for the running statistics and its ε (PyTorch's defaults).
pub const BATCHNORM_MOMENTUM: f64 = 0.1;
pub const BATCHNORM_EPS: f64 = 1e-5;

/// One parametrised layer of a network.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layer {
    /// `size×size` convolution applied at `side_h×side_w` resolution, BatchNorm after it when `norm`.
    Conv {
        c_in: i64,
        c_out: i64,
        size: i64,
        side_h: i64,
        side_w: i64,
        norm: bool,
    },
    Linear {
        f_in: i64,
        f_out: i64,
    },
}

impl Layer {
    fn normalised(&self) -> bool {
        matches!(self, Layer::Conv { norm: true, .. })
    }

    /// How many parameter tensors it has: weight and bias, and BatchNorm's scale when normalised.
    fn tensor_count(&self) -> usize {
        2 + self.normalised() as usize
    }

    /// Its parameter names, in the order of [`Layer::tensor_count`].
    fn param_names(&self, i: usize) -> Vec<String> {
        let names = [format!("layer{i}.weight"), format!("layer{i}.bias"), format!("layer{i}.scale")];
        names.into_iter().take(self.tensor_count()).collect()
    }

    /// How many running statistics it keeps: BatchNorm's mean and variance when normalised.
    fn stat_count(&self) -> usize {
        2 * self.normalised() as usize
    }

    /// Its running statistics' names, in the order of [`Layer::stat_count`].
    fn stat_names(&self, i: usize) -> Vec<String> {
        let names = [format!("layer{i}.running_mean"), format!("layer{i}.running_var")];
        names.into_iter().take(self.stat_count()).collect()
    }
}

/// What a forward pass is for.
#[derive(Debug, Clone, Copy)]
pub enum Pass<'a> {
    /// Evaluation: no dropout; BatchNorm normalises by the running statistics.
    Eval,
    /// A training step: `masks` multiplied in at their sites; BatchNorm normalises by each member's
    /// batch statistics and updates the running statistics in place, except in layers `freeze`
    /// holds fixed, which normalise by their running statistics and leave them as they are.
    Train { masks: Option<&'a DropoutMasks>, freeze: Freeze },
    /// A differentiable look-ahead step (unrolled hypergradients): BatchNorm by batch statistics,
    /// the running statistics untouched; no dropout.
    Lookahead,
    /// Evaluation of the backbone only: the output `[P, B, F]` of the layers `freeze = "features"`
    /// holds (the convolutions of a CNN, every hidden layer of an MLP), which enters the head.
    Features,
}

/// How one BatchNorm layer normalises in a pass.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NormMode {
    /// By the batch's statistics, updating the running ones in place.
    BatchUpdating,
    /// By the batch's statistics only.
    Batch,
    /// By the running statistics.
    Running,
}

/// A network spec bound to an input shape and a number of outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    spec: NetworkSpec,
    input: Vec<i64>,
    layers: Vec<Layer>,
}

impl Network {
    /// Checks widths and shapes: images `[C, H, W]` for cnn/fcn (H, W divisible by 2^depth for cnn),
    /// features `[F]` for mlp, all widths ≥ 1, outputs ≥ 1.
    pub fn new(spec: NetworkSpec, input: &[i64], outputs: i64) -> Result<Self> {
        if outputs < 1 {
            return Err(Error::invalid("model outputs", outputs, "must be >= 1"));
        }
        let widths: Vec<i64> = match &spec {
            NetworkSpec::Cnn { channels, hidden, .. } => channels.iter().chain(hidden).copied().collect(),
            NetworkSpec::Mlp { hidden } => hidden.clone(),
            NetworkSpec::Fcn { channels, .. } => channels.clone(),
        };
        if let Some(w) = widths.iter().find(|w| **w < 1) {
            return Err(Error::invalid("model width", w, "every width must be >= 1"));
        }
        let layers = layers_of(&spec, input, outputs)?;
        Ok(Network { spec, input: input.to_vec(), layers })
    }

    /// The spec this network was built from.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    /// Fresh parameters for one member per seed, each from its own seeded RNG; BatchNorm starts
    /// with scale 1, shift 0, running mean 0 and running variance 1.
    pub fn init(&self, seeds: &[u64], device: Device) -> Params {
        let members: Vec<Params> = seeds.iter().map(|&s| self.init_member(s, device)).collect();
        Params::concat(&members).expect("members share one layout")
    }

    /// Parameter names in order: `layer{i}.weight`, `layer{i}.bias` (and `layer{i}.scale` after a
    /// BatchNorm convolution) per layer.
    pub fn param_names(&self) -> Vec<String> {
        self.layers.iter().enumerate().flat_map(|(i, layer)| layer.param_names(i)).collect()
    }

    /// Running-statistics names in order: `layer{i}.running_mean`, `layer{i}.running_var` per
    /// BatchNorm layer (none without BatchNorm).
    pub fn stat_names(&self) -> Vec<String> {
        self.layers.iter().enumerate().flat_map(|(i, layer)| layer.stat_names(i)).collect()
    }

    /// Per parameter tensor (in [`Network::param_names`] order), whether it trains under `freeze`:
    /// `features` freezes the convolutions (every layer but the output for an MLP).
    pub fn trainable(&self, freeze: Freeze) -> Vec<bool> {
        let per_layer = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, layer)| vec![self.layer_trains(i, freeze); layer.tensor_count()]);
        per_layer.flatten().collect()
    }

    /// Whether layer `i` trains under `freeze`.
    fn layer_trains(&self, i: usize, freeze: Freeze) -> bool {
        match (freeze, &self.layers[i], &self.spec) {
            (Freeze::None, _, _) => true,
            (_, Layer::Conv { .. }, _) => false,
            (_, Layer::Linear { .. }, NetworkSpec::Mlp { .. }) => i + 1 == self.layers.len(),
            (_, Layer::Linear { .. }, _) => true,
        }
    }

    fn init_member(&self, seed: u64, device: Device) -> Params {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut tensors, mut stats) = (vec![], vec![]);
        for layer in &self.layers {
            let (w_shape, b_shape, fan_in) = match *layer {
                Layer::Conv { c_in, c_out, size, .. } => {
                    (vec![1, c_out, c_in, size, size], vec![1, c_out], c_in * size * size)
                }
                Layer::Linear { f_in, f_out } => (vec![1, f_in, f_out], vec![1, f_out], f_in),
            };
            let bound = default_bound(fan_in);
            tensors.push(uniform(&mut rng, &w_shape, bound, device));
            if layer.normalised() {
                let (zeros, ones) = (
                    Tensor::zeros(&b_shape, (Kind::Float, device)),
                    Tensor::ones(&b_shape, (Kind::Float, device)),
                );
                tensors.extend([zeros.copy(), ones.copy()]);
                stats.extend([zeros, ones]);
            } else {
                tensors.push(uniform(&mut rng, &b_shape, bound, device));
            }
        }
        Params { names: self.param_names(), tensors, stat_names: self.stat_names(), stats }
    }

    /// Logits for inputs `[P, B, …input]`: `[P, B, outputs]`, or `[P, B, outputs, H, W]` for fcn
    /// (evaluation: no dropout).
    pub fn forward(&self, params: &Params, x: &Tensor) -> Result<Tensor> {
        self.forward_pass(params, x, Pass::Eval)
    }

    /// Where `spec` applies dropout: the input of every hidden linear layer (rate `fc`) and the
    /// output of every convolution block but the FCN's classifier (rate `conv`).
    pub fn dropout_sites(&self, spec: &DropoutSpec) -> Vec<DropoutSite> {
        let last = self.layers.len() - 1;
        let mut sites = vec![];
        for (i, layer) in self.layers.iter().enumerate() {
            match *layer {
                Layer::Conv { c_out, side_h, side_w, .. } if spec.conv > 0.0 && i != last => {
                    let pooled = matches!(self.spec, NetworkSpec::Cnn { .. });
                    let (h, w) = if pooled { (side_h / 2, side_w / 2) } else { (side_h, side_w) };
                    sites.push(DropoutSite {
                        layer: i,
                        position: SitePosition::ConvOutput,
                        rate: spec.conv,
                        sample_shape: vec![c_out, h, w],
                    });
                }
                Layer::Linear { f_in, .. } if spec.fc > 0.0 && i != last => {
                    sites.push(DropoutSite {
                        layer: i,
                        position: SitePosition::LinearInput,
                        rate: spec.fc,
                        sample_shape: vec![f_in],
                    });
                }
                _ => {}
            }
        }
        sites
    }

    /// [`Network::forward`] for the purpose `pass` (training steps: dropout, BatchNorm by batch).
    pub fn forward_pass(&self, params: &Params, x: &Tensor, pass: Pass) -> Result<Tensor> {
        self.check_input(params, x)?;
        let masks = match pass {
            Pass::Train { masks, .. } => masks,
            _ => None,
        };
        if let Some(m) = masks {
            check_masks(m, &x.size()[..2])?;
        }
        let p = params.population();
        let (mut at, mut stat_at) = (0, 0);
        let layout = self.conv_layout(x.device());
        let mut h = if self.input.len() == 3 { to_grouped(x) } else { x.shallow_clone() };
        if layout == ConvLayout::ChannelsLast {
            h = channels_last(&h);
        }
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            if matches!(pass, Pass::Features) && self.layer_trains(i, Freeze::Features) {
                return Ok(flat_members(h, p));
            }
            let (weight, bias) = (&params.tensors[at], &params.tensors[at + 1]);
            at += 2;
            h = match layer {
                Layer::Conv { norm, .. } => {
                    let mut out = conv_same(&h, weight, (!norm).then_some(bias), layout);
                    if *norm {
                        let stats = [&params.stats[stat_at], &params.stats[stat_at + 1]];
                        out = batch_norm(&out, &params.tensors[at], bias, stats, self.norm_mode(pass, i))?;
                        (at, stat_at) = (at + 1, stat_at + 2);
                    }
                    let out = match (&self.spec, i == last) {
                        (NetworkSpec::Fcn { .. }, true) => out,
                        // Pooling before the ReLU gives the same values and gradients (max and
                        // ReLU commute) with the ReLU on a quarter of the elements.
                        (NetworkSpec::Cnn { .. }, _) => {
                            out.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false).relu()
                        }
                        _ => out.relu(),
                    };
                    match masks.and_then(|m| m.at(i, SitePosition::ConvOutput)) {
                        Some(mask) => out * grouped_mask(mask, layout),
                        None => out,
                    }
                }
                Layer::Linear { .. } => {
                    h = flat_members(h, p);
                    if let Some(mask) = masks.and_then(|m| m.at(i, SitePosition::LinearInput)) {
                        // A new tensor, never `*=`: in place would overwrite the activation that
                        // autograd keeps for the previous layer's backward.
                        #[allow(clippy::assign_op_pattern)]
                        {
                            h = h * mask;
                        }
                    }
                    let out = linear(&h, weight, bias);
                    if i == last {
                        out
                    } else {
                        out.relu()
                    }
                }
            };
        }
        Ok(if matches!(self.spec, NetworkSpec::Fcn { .. }) { from_grouped(&h, p) } else { h })
    }

    /// How BatchNorm layer `i` normalises in `pass`.
    fn norm_mode(&self, pass: Pass, i: usize) -> NormMode {
        match pass {
            Pass::Eval | Pass::Features => NormMode::Running,
            Pass::Lookahead => NormMode::Batch,
            Pass::Train { freeze, .. } if !self.layer_trains(i, freeze) => NormMode::Running,
            Pass::Train { .. } => NormMode::BatchUpdating,
        }
    }

    /// Channels-last for the CNN on CPU, where it was measured faster; row-major elsewhere.
    fn conv_layout(&self, device: Device) -> ConvLayout {
        match (&self.spec, device) {
            (NetworkSpec::Cnn { .. }, Device::Cpu) => ConvLayout::ChannelsLast,
            _ => ConvLayout::Contiguous,
        }
    }

    fn check_input(&self, params: &Params, x: &Tensor) -> Result<()> {
        let s = x.size();
        if s.len() != self.input.len() + 2 || s[2..] != self.input[..] || s[0] != params.population() {
            return Err(Error::shape(
                "network input",
                format!("expected [P={}, B, {:?}], got {:?}", params.population(), self.input, s),
            ));
        }
        let tensors: usize = self.layers.iter().map(Layer::tensor_count).sum();
        let stats: usize = self.layers.iter().map(Layer::stat_count).sum();
        if params.tensors.len() != tensors || params.stats.len() != stats {
            return Err(Error::shape(
                "network parameters",
                format!(
                    "expected {tensors} tensors and {stats} running statistics, got {} and {}",
                    params.tensors.len(),
                    params.stats.len()
                ),
            ));
        }
        Ok(())
    }

    /// Bytes of the layer outputs of one sample (float32, before pooling): what a population's
    /// stacked activations cost per member and sample.
    pub fn activation_bytes_per_sample(&self) -> u64 {
        let floats: i64 = self
            .layers
            .iter()
            .map(|l| match *l {
                Layer::Conv { c_out, side_h, side_w, norm, .. } => {
                    c_out * side_h * side_w * if norm { 2 } else { 1 }
                }
                Layer::Linear { f_out, .. } => f_out,
            })
            .sum();
        4 * floats as u64
    }

    /// Forward FLOPs per sample (2 per multiply-add of convolutions and linear maps).
    pub fn flops_per_sample(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| match *l {
                Layer::Conv { c_in, c_out, size, side_h, side_w, .. } => {
                    2 * c_in * c_out * size * size * side_h * side_w
                }
                Layer::Linear { f_in, f_out } => 2 * f_in * f_out,
            } as u64)
            .sum()
    }
}

/// BatchNorm of grouped activations `[B, P·C, H, W]`: channel p·C + c is member p's channel c, so
/// the batch statistics are each member's own; `scale`, `shift` and the running `stats` (mean,
/// variance) are `[P, C]`, updated in place through their flat views under
/// [`NormMode::BatchUpdating`].
fn batch_norm(
    x: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    stats: [&Tensor; 2],
    mode: NormMode,
) -> Result<Tensor> {
    // A view, never a copy: the running statistics must be updated where they are stored.
    let view = |t: &Tensor| {
        t.f_view([-1]).map_err(|e| {
            Error::shape("BatchNorm running statistics", format!("not viewable as a flat tensor: {e}"))
        })
    };
    let [mean, var] = [view(stats[0])?, view(stats[1])?];
    let running = mode != NormMode::Batch;
    let (scale, shift) = (scale.reshape([-1]), shift.reshape([-1]));
    Ok(x.batch_norm(
        Some(&scale),
        Some(&shift),
        running.then_some(&mean),
        running.then_some(&var),
        mode != NormMode::Running,
        BATCHNORM_MOMENTUM,
        BATCHNORM_EPS,
        true,
    ))
}

/// Grouped conv activations `[B, P·C, H, W]` as the `[P, B, C·H·W]` rows a linear layer takes
/// (rows already `[P, B, F]` pass as they are).
fn flat_members(h: Tensor, p: i64) -> Tensor {
    if h.dim() == 4 {
        let b = h.size()[0];
        h.reshape([b, p, -1]).transpose(0, 1)
    } else {
        h
    }
}

/// Every mask is `[P, B, …sample_shape]` of its site.
fn check_masks(masks: &DropoutMasks, population_batch: &[i64]) -> Result<()> {
    for (site, mask) in masks.sites.iter().zip(&masks.masks) {
        let want: Vec<i64> = population_batch.iter().chain(&site.sample_shape).copied().collect();
        if mask.size() != want {
            return Err(Error::shape(
                "dropout mask",
                format!("layer {} expects {want:?}, got {:?}", site.layer, mask.size()),
            ));
        }
    }
    Ok(())
}

/// A `[P, B, C, H, W]` mask in the grouped `[B, P·C, H, W]` layout of the activations.
fn grouped_mask(mask: &Tensor, layout: ConvLayout) -> Tensor {
    let grouped = to_grouped(mask);
    if layout == ConvLayout::ChannelsLast {
        channels_last(&grouped)
    } else {
        grouped
    }
}

/// The layer list of `spec` for `input` and `outputs`, with shape checks.
fn layers_of(spec: &NetworkSpec, input: &[i64], outputs: i64) -> Result<Vec<Layer>> {
    let image = |what: &str| -> Result<(i64, i64, i64)> {
        match *input {
            [c, h, w] if c >= 1 && h >= 1 && w >= 1 => Ok((c, h, w)),
            _ => Err(Error::shape(
                "model input",
                format!("{what} needs image inputs [C, H, W], got {input:?}"),
            )),
        }
    };
    let mut layers = vec![];
    match spec {
        NetworkSpec::Cnn { channels, hidden, batchnorm } => {
            let (mut c, mut h, mut w) = image("cnn")?;
            let factor = 1i64 << channels.len();
            if h % factor != 0 || w % factor != 0 {
                return Err(Error::shape(
                    "model input",
                    format!(
                        "cnn with {} pooling stages needs H and W divisible by {factor}, got {h}×{w}",
                        channels.len()
                    ),
                ));
            }
            for &c_out in channels {
                layers.push(Layer::Conv { c_in: c, c_out, size: 3, side_h: h, side_w: w, norm: *batchnorm });
                (c, h, w) = (c_out, h / 2, w / 2);
            }
            let mut f = c * h * w;
            for &f_out in hidden {
                layers.push(Layer::Linear { f_in: f, f_out });
                f = f_out;
            }
            layers.push(Layer::Linear { f_in: f, f_out: outputs });
        }
        NetworkSpec::Mlp { hidden } => {
            let mut f = match *input {
                [f] if f >= 1 => f,
                _ => {
                    return Err(Error::shape(
                        "model input",
                        format!("mlp needs feature inputs [F], got {input:?}"),
                    ))
                }
            };
            for &f_out in hidden {
                layers.push(Layer::Linear { f_in: f, f_out });
                f = f_out;
            }
            layers.push(Layer::Linear { f_in: f, f_out: outputs });
        }
        NetworkSpec::Fcn { channels, batchnorm } => {
            let (mut c, h, w) = image("fcn")?;
            for &c_out in channels {
                layers.push(Layer::Conv { c_in: c, c_out, size: 3, side_h: h, side_w: w, norm: *batchnorm });
                c = c_out;
            }
            layers.push(Layer::Conv { c_in: c, c_out: outputs, size: 1, side_h: h, side_w: w, norm: false });
        }
    }
    Ok(layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezing_features_leaves_the_head_trainable() {
        use crate::model::Freeze;
        let cnn = Network::new(
            NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16], batchnorm: false },
            &[1, 8, 8],
            6,
        )
        .unwrap();
        assert_eq!(cnn.trainable(Freeze::Features), [false, false, false, false, true, true, true, true]);
        assert!(cnn.trainable(Freeze::None).iter().all(|t| *t));
        let mlp = Network::new(NetworkSpec::Mlp { hidden: vec![6] }, &[2], 3).unwrap();
        assert_eq!(mlp.trainable(Freeze::Features), [false, false, true, true]);
        let fcn =
            Network::new(NetworkSpec::Fcn { channels: vec![4], batchnorm: false }, &[1, 8, 8], 3).unwrap();
        assert!(fcn.trainable(Freeze::Features).iter().all(|t| !t));
        let normalised = Network::new(
            NetworkSpec::Cnn { channels: vec![4], hidden: vec![], batchnorm: true },
            &[1, 8, 8],
            6,
        )
        .unwrap();
        assert_eq!(normalised.trainable(Freeze::Features), [false, false, false, true, true]);
    }
    use tch::{Kind, Tensor};

    /// The backbone's output fed through the head by hand (ReLU between the head's linear layers)
    /// gives the network's logits: `Pass::Features` is exactly what enters the head.
    #[test]
    fn the_backbone_output_is_what_the_head_takes() {
        let nets = [
            (
                Network::new(
                    NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16], batchnorm: true },
                    &[1, 8, 8],
                    5,
                )
                .unwrap(),
                6,
            ),
            (Network::new(NetworkSpec::Mlp { hidden: vec![7, 5] }, &[6], 3).unwrap(), 4),
        ];
        for (net, head_from) in nets {
            let params = net.init(&[1, 2], Device::Cpu);
            let mut shape = vec![2, 3];
            shape.extend_from_slice(&net.input);
            let x = Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu));
            let features = net.forward_pass(&params, &x, Pass::Features).unwrap();
            assert_eq!(features.size()[..2], [2, 3]);
            let head = &params.tensors[head_from..];
            let mut h = features;
            for (k, pair) in head.chunks(2).enumerate() {
                h = super::linear(&h, &pair[0], &pair[1]);
                if 2 * (k + 1) < head.len() {
                    h = h.relu();
                }
            }
            let logits = net.forward(&params, &x).unwrap();
            let diff = (h - logits).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "head(features) differs from the logits by {diff}");
        }
    }

    fn cnn() -> Network {
        Network::new(
            NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16], batchnorm: false },
            &[1, 8, 8],
            5,
        )
        .unwrap()
    }

    #[test]
    fn population_forward_equals_each_member_alone() {
        for net in [
            cnn(),
            Network::new(NetworkSpec::Mlp { hidden: vec![7, 5] }, &[6], 3).unwrap(),
            Network::new(NetworkSpec::Fcn { channels: vec![4, 4], batchnorm: false }, &[1, 6, 5], 3).unwrap(),
        ] {
            let params = net.init(&[1, 2, 3], Device::Cpu);
            let mut shape = vec![3, 4];
            shape.extend_from_slice(&net.input);
            let x = Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu));
            let together = net.forward(&params, &x).unwrap();
            for m in 0..3 {
                let alone = net.forward(&params.members(&[m]), &x.narrow(0, m, 1)).unwrap();
                let diff = (together.narrow(0, m, 1) - alone).abs().max().double_value(&[]);
                assert!(diff < 1e-5, "member {m} differs by {diff}");
            }
            // Member 2 initialised alone equals member 2 of the stacked population.
            let alone = net.init(&[3], Device::Cpu);
            for (a, stacked) in alone.tensors.iter().zip(&params.tensors) {
                assert!(a.get(0).equal(&stacked.get(2)));
            }
        }
    }

    /// Our CNN forward (channels-last on CPU, max-pool before the ReLU) against the textbook
    /// order with plain row-major ops: the same logits and the same parameter gradients.
    #[test]
    fn cnn_forward_and_gradients_equal_the_textbook_order() {
        let net = cnn();
        let params = net.init(&[4], Device::Cpu).leaves();
        // Ties inside pooling windows (a constant region) included.
        let x = Tensor::randn([1, 3, 1, 8, 8], (Kind::Float, Device::Cpu)).clamp_min(0.5);
        let ours = net.forward(&params, &x).unwrap();
        let w = |i: usize| params.tensors[2 * i].get(0);
        let b = |i: usize| params.tensors[2 * i + 1].get(0);
        let mut h = x.get(0);
        for i in 0..2 {
            h = h.conv2d(&w(i), Some(b(i)), [1, 1], [1, 1], [1, 1], 1).relu().max_pool2d(
                [2, 2],
                [2, 2],
                [0, 0],
                [1, 1],
                false,
            );
        }
        h = h.flatten(1, -1).matmul(&w(2)) + b(2);
        let textbook = (h.relu().matmul(&w(3)) + b(3)).unsqueeze(0);
        assert!((&ours - &textbook).abs().max().double_value(&[]) < 1e-5);
        let target = Tensor::randn(ours.size().as_slice(), (Kind::Float, Device::Cpu));
        let grads = |out: &Tensor| {
            Tensor::run_backward(&[(out * &target).sum(Kind::Float)], &params.tensors, true, false)
        };
        for (a, t) in grads(&ours).iter().zip(&grads(&textbook)) {
            let diff = (a - t).abs().max().double_value(&[]);
            assert!(diff < 1e-4, "gradients differ by {diff}");
        }
    }

    /// With fixed dropout masks at both sites of a tiny CNN, logits' gradients against PyTorch
    /// (torch 2.11; our linear weights are `[F_in, F_out]`, used as `x @ w`):
    /// ```python
    /// import torch
    /// import torch.nn.functional as F
    /// a = lambda n: torch.arange(n, dtype=torch.float32)
    /// x = (a(32) * 0.37).sin().reshape(2, 1, 4, 4)
    /// w0 = ((a(18) * 0.5).cos() * 0.5).reshape(2, 1, 3, 3).requires_grad_()
    /// b0 = torch.tensor([0.1, -0.2]).requires_grad_()
    /// w1 = ((a(24) * 0.3).sin() * 0.4).reshape(8, 3).requires_grad_()
    /// b1 = torch.tensor([0.05, -0.05, 0.1]).requires_grad_()
    /// w2 = (a(6) * 0.7).cos().reshape(3, 2).requires_grad_()
    /// b2 = torch.tensor([0.0, 0.1]).requires_grad_()
    /// conv_mask = ((a(16) % 3 != 0).float() * 2).reshape(2, 2, 2, 2)
    /// fc_mask = ((a(16) % 4 != 1).float() * 2).reshape(2, 8)
    /// target = (a(4) * 1.3).cos().reshape(2, 2)
    /// h = F.max_pool2d(F.conv2d(x, w0, b0, padding=1), 2).relu() * conv_mask
    /// h = (h.flatten(1) * fc_mask) @ w1 + b1
    /// out = h.relu() @ w2 + b2
    /// (out * target).sum().backward()
    /// for g in [w0, b0, w1, b1, w2, b2]:
    ///     print([round(v, 6) for v in g.grad.flatten().tolist()])
    /// ```
    #[test]
    fn gradients_with_fixed_dropout_masks_equal_pytorch() {
        let a = |n: i64| Tensor::arange(n, (Kind::Float, Device::Cpu));
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![2], hidden: vec![3], batchnorm: false },
            &[1, 4, 4],
            2,
        )
        .unwrap();
        let tensors = vec![
            ((a(18) * 0.5).cos() * 0.5).reshape([1, 2, 1, 3, 3]),
            Tensor::from_slice(&[0.1f32, -0.2]).reshape([1, 2]),
            ((a(24) * 0.3).sin() * 0.4).reshape([1, 8, 3]),
            Tensor::from_slice(&[0.05f32, -0.05, 0.1]).reshape([1, 3]),
            (a(6) * 0.7).cos().reshape([1, 3, 2]),
            Tensor::from_slice(&[0.0f32, 0.1]).reshape([1, 2]),
        ];
        let params = Params::new(net.param_names(), tensors).leaves();
        let x = (a(32) * 0.37).sin().reshape([1, 2, 1, 4, 4]);
        let sites = net.dropout_sites(&DropoutSpec { fc: 0.5, conv: 0.5 });
        assert_eq!(
            sites.iter().map(|s| s.sample_shape.clone()).collect::<Vec<_>>(),
            vec![vec![2, 2, 2], vec![8]]
        );
        let conv_mask = (a(16).fmod(3).ne(0).to_kind(Kind::Float) * 2.0).reshape([1, 2, 2, 2, 2]);
        let fc_mask = (a(16).fmod(4).ne(1).to_kind(Kind::Float) * 2.0).reshape([1, 2, 8]);
        let masks = DropoutMasks { sites, masks: vec![conv_mask, fc_mask] };
        let out =
            net.forward_pass(&params, &x, Pass::Train { masks: Some(&masks), freeze: Freeze::None }).unwrap();
        let target = (a(4) * 1.3).cos().reshape([1, 2, 2]);
        let grads = Tensor::run_backward(&[(out * target).sum(Kind::Float)], &params.tensors, false, false);
        let torch: [&[f32]; 6] = [
            &[
                -0.911868, -0.91414, -0.792688, -0.258883, 0.081223, 0.410335, 0.864922, 0.92887, 0.8671,
                0.0, 1.075873, 1.403916, 0.768778, 1.201483, 0.769071, 0.139413, -0.857993, -1.26445,
            ],
            &[-0.942972, 1.658476],
            &[
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.873022, 2.572394, 1.747466, -15.411147, 2.410159, 16.230444,
                7.431772, 0.215448, -7.358535, 0.0, 0.0, 0.0, -5.355543, 0.837557, 5.640257, 0.0, 0.0, 0.0,
            ],
            &[-0.207518, 0.255763, 0.294461],
            &[-0.742253, -2.48786, -0.686094, -1.751655, -0.533509, -0.971541],
            &[0.143111, -0.458434],
        ];
        for (i, (g, want)) in grads.iter().zip(torch).enumerate() {
            let diff = (g.flatten(0, -1) - Tensor::from_slice(want)).abs().max().double_value(&[]);
            assert!(diff < 2e-5, "gradient {i} differs from PyTorch by {diff}");
        }
        // Evaluation ignores dropout and is deterministic.
        let (e1, e2) = (net.forward(&params, &x).unwrap(), net.forward(&params, &x).unwrap());
        assert!(e1.equal(&e2));
        assert!(!e1.equal(
            &net.forward_pass(&params, &x, Pass::Train { masks: Some(&masks), freeze: Freeze::None })
                .unwrap()
        ));
    }

    /// BatchNorm in a training step against PyTorch (torch 2.11): gradients of every parameter, the
    /// running statistics after the step, then evaluation by those statistics.
    /// ```python
    /// import torch
    /// import torch.nn.functional as F
    /// a = lambda n: torch.arange(n, dtype=torch.float32)
    /// x = (a(32) * 0.37).sin().reshape(2, 1, 4, 4)
    /// w0 = ((a(18) * 0.5).cos() * 0.5).reshape(2, 1, 3, 3).requires_grad_()
    /// beta = torch.tensor([0.1, -0.2]).requires_grad_()
    /// gamma = torch.tensor([1.2, 0.8]).requires_grad_()
    /// w1 = ((a(24) * 0.3).sin() * 0.4).reshape(8, 3).requires_grad_()
    /// b1 = torch.tensor([0.05, -0.05, 0.1]).requires_grad_()
    /// w2 = (a(6) * 0.7).cos().reshape(3, 2).requires_grad_()
    /// b2 = torch.tensor([0.0, 0.1]).requires_grad_()
    /// mean, var = torch.zeros(2), torch.ones(2)
    /// target = (a(4) * 1.3).cos().reshape(2, 2)
    /// def net(training):
    ///     h = F.batch_norm(F.conv2d(x, w0, None, padding=1), mean, var, gamma, beta, training, 0.1, 1e-5)
    ///     h = F.max_pool2d(h, 2).relu().flatten(1) @ w1 + b1
    ///     return h.relu() @ w2 + b2
    /// out = net(True)
    /// (out * target).sum().backward()
    /// for g in [w0, beta, gamma, w1, b1, w2, b2]:
    ///     print([round(v, 6) for v in g.grad.flatten().tolist()])
    /// print([round(v, 6) for v in mean.tolist()], [round(v, 6) for v in var.tolist()])
    /// with torch.no_grad():
    ///     print([round(v, 6) for v in net(False).flatten().tolist()])
    /// ```
    #[test]
    fn batchnorm_step_and_evaluation_equal_pytorch() {
        let a = |n: i64| Tensor::arange(n, (Kind::Float, Device::Cpu));
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![2], hidden: vec![3], batchnorm: true },
            &[1, 4, 4],
            2,
        )
        .unwrap();
        assert_eq!(net.param_names()[..3], ["layer0.weight", "layer0.bias", "layer0.scale"]);
        let row = |v: &[f32]| Tensor::from_slice(v).reshape([1, -1]);
        let tensors = vec![
            ((a(18) * 0.5).cos() * 0.5).reshape([1, 2, 1, 3, 3]),
            row(&[0.1, -0.2]),
            row(&[1.2, 0.8]),
            ((a(24) * 0.3).sin() * 0.4).reshape([1, 8, 3]),
            row(&[0.05, -0.05, 0.1]),
            (a(6) * 0.7).cos().reshape([1, 3, 2]),
            row(&[0.0, 0.1]),
        ];
        let fresh = net.init(&[0], Device::Cpu);
        let params =
            Params { names: net.param_names(), tensors, stat_names: net.stat_names(), stats: fresh.stats }
                .leaves();
        let x = (a(32) * 0.37).sin().reshape([1, 2, 1, 4, 4]);
        let out = net.forward_pass(&params, &x, Pass::Train { masks: None, freeze: Freeze::None }).unwrap();
        let target = (a(4) * 1.3).cos().reshape([1, 2, 2]);
        let grads = Tensor::run_backward(&[(out * target).sum(Kind::Float)], &params.tensors, false, false);
        let torch: [&[f32]; 7] = [
            &[
                -0.069675, -0.217559, -0.101046, -0.654069, -0.622133, -0.276054, -0.025145, 0.128005,
                0.036144, -0.20452, -0.18081, -0.02393, -0.048205, -0.071001, 0.093214, 0.055686, 0.007336,
                -0.086832,
            ],
            &[-0.706125, 0.944229],
            &[-0.584176, 1.488688],
            &[
                0.0, 0.0, 0.0, 0.570014, 0.140047, -1.224148, -0.147545, 0.534294, -2.730497, -0.592208,
                0.582459, -2.616324, -0.046229, 0.252179, -1.308307, -0.299309, 0.278643, -1.238259,
                -0.400274, 0.14936, -0.463402, 0.0, 0.0, 0.0,
            ],
            &[-0.207518, 0.255763, -1.192724],
            &[0.403852, -0.190098, 0.337603, 0.027537, 0.179331, 0.047971],
            &[0.143111, -0.458434],
        ];
        let close = |t: &Tensor, want: &[f32], what: &str| {
            let diff = (t.flatten(0, -1) - Tensor::from_slice(want)).abs().max().double_value(&[]);
            assert!(diff < 2e-5, "{what} differs from PyTorch by {diff}");
        };
        for (i, (g, want)) in grads.iter().zip(torch).enumerate() {
            close(g, want, &format!("gradient {i}"));
        }
        close(&params.stats[0], &[0.03032, 0.014355], "running mean");
        close(&params.stats[1], &[1.067471, 1.000404], "running variance");
        // Evaluation normalises by the updated running statistics and leaves them unchanged.
        let before = params.stats[1].copy();
        close(&net.forward(&params, &x).unwrap(), &[1.136178, 0.281469, 1.053216, 0.551164], "evaluation");
        assert!(params.stats[1].equal(&before));
        // A look-ahead step normalises by the batch, as a training step does, and updates nothing.
        let lookahead = net.forward_pass(&params, &x, Pass::Lookahead).unwrap();
        let train = net
            .forward_pass(&params.detached(), &x, Pass::Train { masks: None, freeze: Freeze::None })
            .unwrap();
        assert!(params.stats[1].equal(&before));
        assert!((lookahead - train).abs().max().double_value(&[]) < 1e-6);
    }

    /// With BatchNorm each member normalises by its own batch's statistics and keeps its own running
    /// statistics: a stacked training pass equals every member's pass alone.
    #[test]
    fn batchnorm_statistics_are_per_member() {
        for net in [
            Network::new(
                NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16], batchnorm: true },
                &[1, 8, 8],
                5,
            )
            .unwrap(),
            Network::new(NetworkSpec::Fcn { channels: vec![4, 4], batchnorm: true }, &[1, 6, 5], 3).unwrap(),
        ] {
            let stacked = net.init(&[1, 2, 3], Device::Cpu);
            assert_eq!(stacked.stats.len(), 4);
            let mut shape = vec![3, 4];
            shape.extend_from_slice(&net.input);
            // Members see data on different scales, so shared statistics would show.
            let x = Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu))
                * Tensor::from_slice(&[1.0f32, 5.0, 0.2]).reshape([3, 1, 1, 1, 1]);
            let train = Pass::Train { masks: None, freeze: Freeze::None };
            let together = net.forward_pass(&stacked, &x, train).unwrap();
            for m in 0..3 {
                let alone = net.init(&[m as u64 + 1], Device::Cpu);
                let out = net.forward_pass(&alone, &x.narrow(0, m, 1), train).unwrap();
                assert!((together.narrow(0, m, 1) - out).abs().max().double_value(&[]) < 1e-4, "member {m}");
                for (s, a) in stacked.stats.iter().zip(&alone.stats) {
                    assert!(
                        (s.narrow(0, m, 1) - a).abs().max().double_value(&[]) < 1e-5,
                        "member {m}'s running statistics"
                    );
                }
            }
            assert!(
                !stacked.stats[1].equal(&net.init(&[1, 2, 3], Device::Cpu).stats[1]),
                "the training pass updates the running variance"
            );
            // Frozen features normalise by the running statistics and leave them be.
            let before = stacked.stats[0].copy();
            let frozen = net
                .forward_pass(&stacked, &x, Pass::Train { masks: None, freeze: Freeze::Features })
                .unwrap();
            assert_eq!(frozen.size(), together.size());
            assert!(stacked.stats[0].equal(&before));
        }
    }

    #[test]
    fn output_shapes_and_flops() {
        let net = cnn();
        let params = net.init(&[0, 1], Device::Cpu);
        let out = net.forward(&params, &Tensor::zeros([2, 3, 1, 8, 8], (Kind::Float, Device::Cpu))).unwrap();
        assert_eq!(out.size(), vec![2, 3, 5]);
        // conv 1→4 at 8×8, conv 4→8 at 4×4, fc 8·2·2→16, fc 16→5.
        let want = 2 * (9 * 4 * 64 + 4 * 8 * 9 * 16 + 32 * 16 + 16 * 5);
        assert_eq!(net.flops_per_sample(), want as u64);
        // The DESIGN network: 3 conv (32-64-128) + fc 256 on 32×32 grey, 101 bins.
        let utk = Network::new(
            NetworkSpec::Cnn { channels: vec![32, 64, 128], hidden: vec![256], batchnorm: false },
            &[1, 32, 32],
            101,
        )
        .unwrap();
        assert_eq!(
            utk.flops_per_sample(),
            2 * (9 * 32 * 1024 + 32 * 64 * 9 * 256 + 64 * 128 * 9 * 64 + 2048 * 256 + 256 * 101)
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Network::new(
            NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16], batchnorm: false },
            &[1, 6, 6],
            5
        )
        .is_err());
        assert!(Network::new(NetworkSpec::Mlp { hidden: vec![0] }, &[4], 2).is_err());
        assert!(Network::new(NetworkSpec::Mlp { hidden: vec![3] }, &[1, 4, 4], 2).is_err());
        let net = cnn();
        let params = net.init(&[0], Device::Cpu);
        assert!(net.forward(&params, &Tensor::zeros([1, 3, 1, 4, 4], (Kind::Float, Device::Cpu))).is_err());
        assert!(net.forward(&params, &Tensor::zeros([2, 3, 1, 8, 8], (Kind::Float, Device::Cpu))).is_err());
    }
}
