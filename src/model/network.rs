//! The three networks (image CNN, tabular MLP, segmentation FCN) as specs, shapes and a
//! population forward pass over plain parameter tensors.
use super::dropout::{DropoutMasks, DropoutSite, DropoutSpec, SitePosition};
use super::init::{default_bound, uniform};
use super::layers::{channels_last, conv_same, from_grouped, linear, to_grouped, ConvLayout};
use super::params::Params;
use crate::error::{Error, Result};
use rand_chacha::ChaCha8Rng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

/// Which network and its widths, as written in a task's `[model]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum NetworkSpec {
    /// Per width: conv 3×3 + ReLU + 2×2 max-pool; then fc layers `hidden` with ReLU and the output layer.
    Cnn {
        #[serde(default = "default_cnn_channels")]
        channels: Vec<i64>,
        #[serde(default = "default_hidden")]
        hidden: Vec<i64>,
    },
    /// Fully connected layers with ReLU, then the output layer.
    Mlp {
        #[serde(default = "default_mlp_hidden")]
        hidden: Vec<i64>,
    },
    /// Per width: conv 3×3 + ReLU at full resolution; then a 1×1 conv to the classes.
    Fcn {
        #[serde(default = "default_fcn_channels")]
        channels: Vec<i64>,
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

/// One parametrised layer of a network.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layer {
    /// `size×size` convolution applied at `side_h×side_w` resolution.
    Conv { c_in: i64, c_out: i64, size: i64, side_h: i64, side_w: i64 },
    Linear { f_in: i64, f_out: i64 },
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
            NetworkSpec::Cnn { channels, hidden } => channels.iter().chain(hidden).copied().collect(),
            NetworkSpec::Mlp { hidden } => hidden.clone(),
            NetworkSpec::Fcn { channels } => channels.clone(),
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

    /// Fresh parameters for one member per seed, each from its own seeded RNG.
    pub fn init(&self, seeds: &[u64], device: Device) -> Params {
        let members: Vec<Params> = seeds.iter().map(|&s| self.init_member(s, device)).collect();
        Params::concat(&members).expect("members share one layout")
    }

    /// Parameter names in order: `layer{i}.weight`, `layer{i}.bias` per layer.
    pub fn param_names(&self) -> Vec<String> {
        (0..self.layers.len()).flat_map(|i| [format!("layer{i}.weight"), format!("layer{i}.bias")]).collect()
    }

    /// Per parameter tensor (in [`Network::param_names`] order), whether it trains under `freeze`:
    /// `features` freezes the convolutions (every layer but the output for an MLP).
    pub fn trainable(&self, freeze: crate::train::Freeze) -> Vec<bool> {
        let last = self.layers.len().saturating_sub(1);
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, layer)| {
                let trains = match (freeze, layer, &self.spec) {
                    (crate::train::Freeze::None, _, _) => true,
                    (_, Layer::Conv { .. }, _) => false,
                    (_, Layer::Linear { .. }, NetworkSpec::Mlp { .. }) => i == last,
                    (_, Layer::Linear { .. }, _) => true,
                };
                [trains, trains]
            })
            .collect()
    }

    fn init_member(&self, seed: u64, device: Device) -> Params {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut tensors = vec![];
        for layer in &self.layers {
            let (w_shape, b_shape, fan_in) = match *layer {
                Layer::Conv { c_in, c_out, size, .. } => (vec![1, c_out, c_in, size, size], vec![1, c_out], c_in * size * size),
                Layer::Linear { f_in, f_out } => (vec![1, f_in, f_out], vec![1, f_out], f_in),
            };
            let bound = default_bound(fan_in);
            tensors.push(uniform(&mut rng, &w_shape, bound, device));
            tensors.push(uniform(&mut rng, &b_shape, bound, device));
        }
        Params { names: self.param_names(), tensors }
    }

    /// Logits for inputs `[P, B, …input]`: `[P, B, outputs]`, or `[P, B, outputs, H, W]` for fcn
    /// (evaluation: no dropout).
    pub fn forward(&self, params: &Params, x: &Tensor) -> Result<Tensor> {
        self.forward_masked(params, x, None)
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
                    sites.push(DropoutSite { layer: i, position: SitePosition::ConvOutput, rate: spec.conv, sample_shape: vec![c_out, h, w] });
                }
                Layer::Linear { f_in, .. } if spec.fc > 0.0 && i != last => {
                    sites.push(DropoutSite { layer: i, position: SitePosition::LinearInput, rate: spec.fc, sample_shape: vec![f_in] });
                }
                _ => {}
            }
        }
        sites
    }

    /// [`Network::forward`] with the dropout `masks` of a training step multiplied in at their sites.
    pub fn forward_masked(&self, params: &Params, x: &Tensor, masks: Option<&DropoutMasks>) -> Result<Tensor> {
        self.check_input(params, x)?;
        if let Some(m) = masks {
            check_masks(m, &x.size()[..2])?;
        }
        let p = params.population();
        let weight = |i: usize| &params.tensors[2 * i];
        let bias = |i: usize| &params.tensors[2 * i + 1];
        let layout = self.conv_layout(x.device());
        let mut h = if self.input.len() == 3 { to_grouped(x) } else { x.shallow_clone() };
        if layout == ConvLayout::ChannelsLast {
            h = channels_last(&h);
        }
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = match layer {
                Layer::Conv { .. } => {
                    let out = conv_same(&h, weight(i), bias(i), layout);
                    let out = match (&self.spec, i == last) {
                        (NetworkSpec::Fcn { .. }, true) => out,
                        // Pooling before the ReLU gives the same values and gradients (max and
                        // ReLU commute) with the ReLU on a quarter of the elements.
                        (NetworkSpec::Cnn { .. }, _) => out.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false).relu(),
                        _ => out.relu(),
                    };
                    match masks.and_then(|m| m.at(i, SitePosition::ConvOutput)) {
                        Some(mask) => out * grouped_mask(mask, layout),
                        None => out,
                    }
                }
                Layer::Linear { .. } => {
                    if h.dim() == 4 {
                        let b = h.size()[0];
                        h = h.reshape([b, p, -1]).transpose(0, 1);
                    }
                    if let Some(mask) = masks.and_then(|m| m.at(i, SitePosition::LinearInput)) {
                        h = h * mask;
                    }
                    let out = linear(&h, weight(i), bias(i));
                    if i == last { out } else { out.relu() }
                }
            };
        }
        Ok(if matches!(self.spec, NetworkSpec::Fcn { .. }) { from_grouped(&h, p) } else { h })
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
        if params.tensors.len() != 2 * self.layers.len() {
            return Err(Error::shape("network parameters", format!("expected {} tensors, got {}", 2 * self.layers.len(), params.tensors.len())));
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
                Layer::Conv { c_out, side_h, side_w, .. } => c_out * side_h * side_w,
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
                Layer::Conv { c_in, c_out, size, side_h, side_w } => 2 * c_in * c_out * size * size * side_h * side_w,
                Layer::Linear { f_in, f_out } => 2 * f_in * f_out,
            } as u64)
            .sum()
    }
}

/// Every mask is `[P, B, …sample_shape]` of its site.
fn check_masks(masks: &DropoutMasks, population_batch: &[i64]) -> Result<()> {
    for (site, mask) in masks.sites.iter().zip(&masks.masks) {
        let want: Vec<i64> = population_batch.iter().chain(&site.sample_shape).copied().collect();
        if mask.size() != want {
            return Err(Error::shape("dropout mask", format!("layer {} expects {want:?}, got {:?}", site.layer, mask.size())));
        }
    }
    Ok(())
}

/// A `[P, B, C, H, W]` mask in the grouped `[B, P·C, H, W]` layout of the activations.
fn grouped_mask(mask: &Tensor, layout: ConvLayout) -> Tensor {
    let grouped = to_grouped(mask);
    if layout == ConvLayout::ChannelsLast { channels_last(&grouped) } else { grouped }
}

/// The layer list of `spec` for `input` and `outputs`, with shape checks.
fn layers_of(spec: &NetworkSpec, input: &[i64], outputs: i64) -> Result<Vec<Layer>> {
    let image = |what: &str| -> Result<(i64, i64, i64)> {
        match *input {
            [c, h, w] if c >= 1 && h >= 1 && w >= 1 => Ok((c, h, w)),
            _ => Err(Error::shape("model input", format!("{what} needs image inputs [C, H, W], got {input:?}"))),
        }
    };
    let mut layers = vec![];
    match spec {
        NetworkSpec::Cnn { channels, hidden } => {
            let (mut c, mut h, mut w) = image("cnn")?;
            let factor = 1i64 << channels.len();
            if h % factor != 0 || w % factor != 0 {
                return Err(Error::shape("model input", format!("cnn with {} pooling stages needs H and W divisible by {factor}, got {h}×{w}", channels.len())));
            }
            for &c_out in channels {
                layers.push(Layer::Conv { c_in: c, c_out, size: 3, side_h: h, side_w: w });
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
                _ => return Err(Error::shape("model input", format!("mlp needs feature inputs [F], got {input:?}"))),
            };
            for &f_out in hidden {
                layers.push(Layer::Linear { f_in: f, f_out });
                f = f_out;
            }
            layers.push(Layer::Linear { f_in: f, f_out: outputs });
        }
        NetworkSpec::Fcn { channels } => {
            let (mut c, h, w) = image("fcn")?;
            for &c_out in channels {
                layers.push(Layer::Conv { c_in: c, c_out, size: 3, side_h: h, side_w: w });
                c = c_out;
            }
            layers.push(Layer::Conv { c_in: c, c_out: outputs, size: 1, side_h: h, side_w: w });
        }
    }
    Ok(layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezing_features_leaves_the_head_trainable() {
        use crate::train::Freeze;
        let cnn = Network::new(NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16] }, &[1, 8, 8], 6).unwrap();
        assert_eq!(cnn.trainable(Freeze::Features), [false, false, false, false, true, true, true, true]);
        assert!(cnn.trainable(Freeze::None).iter().all(|t| *t));
        let mlp = Network::new(NetworkSpec::Mlp { hidden: vec![6] }, &[2], 3).unwrap();
        assert_eq!(mlp.trainable(Freeze::Features), [false, false, true, true]);
        let fcn = Network::new(NetworkSpec::Fcn { channels: vec![4] }, &[1, 8, 8], 3).unwrap();
        assert!(fcn.trainable(Freeze::Features).iter().all(|t| !t));
    }
    use tch::{Kind, Tensor};

    fn cnn() -> Network {
        Network::new(NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16] }, &[1, 8, 8], 5).unwrap()
    }

    #[test]
    fn population_forward_equals_each_member_alone() {
        for net in [
            cnn(),
            Network::new(NetworkSpec::Mlp { hidden: vec![7, 5] }, &[6], 3).unwrap(),
            Network::new(NetworkSpec::Fcn { channels: vec![4, 4] }, &[1, 6, 5], 3).unwrap(),
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
            h = h.conv2d(&w(i), Some(b(i)), [1, 1], [1, 1], [1, 1], 1).relu().max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
        }
        h = h.flatten(1, -1).matmul(&w(2)) + b(2);
        let textbook = (h.relu().matmul(&w(3)) + b(3)).unsqueeze(0);
        assert!((&ours - &textbook).abs().max().double_value(&[]) < 1e-5);
        let target = Tensor::randn(ours.size().as_slice(), (Kind::Float, Device::Cpu));
        let grads = |out: &Tensor| Tensor::run_backward(&[(out * &target).sum(Kind::Float)], &params.tensors, true, false);
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
        let net = Network::new(NetworkSpec::Cnn { channels: vec![2], hidden: vec![3] }, &[1, 4, 4], 2).unwrap();
        let tensors = vec![
            ((a(18) * 0.5).cos() * 0.5).reshape([1, 2, 1, 3, 3]),
            Tensor::from_slice(&[0.1f32, -0.2]).reshape([1, 2]),
            ((a(24) * 0.3).sin() * 0.4).reshape([1, 8, 3]),
            Tensor::from_slice(&[0.05f32, -0.05, 0.1]).reshape([1, 3]),
            (a(6) * 0.7).cos().reshape([1, 3, 2]),
            Tensor::from_slice(&[0.0f32, 0.1]).reshape([1, 2]),
        ];
        let params = Params { names: net.param_names(), tensors }.leaves();
        let x = (a(32) * 0.37).sin().reshape([1, 2, 1, 4, 4]);
        let sites = net.dropout_sites(&DropoutSpec { fc: 0.5, conv: 0.5 });
        assert_eq!(sites.iter().map(|s| s.sample_shape.clone()).collect::<Vec<_>>(), vec![vec![2, 2, 2], vec![8]]);
        let conv_mask = (a(16).fmod(3).ne(0).to_kind(Kind::Float) * 2.0).reshape([1, 2, 2, 2, 2]);
        let fc_mask = (a(16).fmod(4).ne(1).to_kind(Kind::Float) * 2.0).reshape([1, 2, 8]);
        let masks = DropoutMasks { sites, masks: vec![conv_mask, fc_mask] };
        let out = net.forward_masked(&params, &x, Some(&masks)).unwrap();
        let target = (a(4) * 1.3).cos().reshape([1, 2, 2]);
        let grads = Tensor::run_backward(&[(out * target).sum(Kind::Float)], &params.tensors, false, false);
        let torch: [&[f32]; 6] = [
            &[-0.911868, -0.91414, -0.792688, -0.258883, 0.081223, 0.410335, 0.864922, 0.92887, 0.8671, 0.0, 1.075873, 1.403916, 0.768778, 1.201483, 0.769071, 0.139413, -0.857993, -1.26445],
            &[-0.942972, 1.658476],
            &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.873022, 2.572394, 1.747466, -15.411147, 2.410159, 16.230444, 7.431772, 0.215448, -7.358535, 0.0, 0.0, 0.0, -5.355543, 0.837557, 5.640257, 0.0, 0.0, 0.0],
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
        assert!(!e1.equal(&net.forward_masked(&params, &x, Some(&masks)).unwrap()));
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
        let utk = Network::new(NetworkSpec::Cnn { channels: vec![32, 64, 128], hidden: vec![256] }, &[1, 32, 32], 101).unwrap();
        assert_eq!(utk.flops_per_sample(), 2 * (9 * 32 * 1024 + 32 * 64 * 9 * 256 + 64 * 128 * 9 * 64 + 2048 * 256 + 256 * 101));
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Network::new(NetworkSpec::Cnn { channels: vec![4, 8], hidden: vec![16] }, &[1, 6, 6], 5).is_err());
        assert!(Network::new(NetworkSpec::Mlp { hidden: vec![0] }, &[4], 2).is_err());
        assert!(Network::new(NetworkSpec::Mlp { hidden: vec![3] }, &[1, 4, 4], 2).is_err());
        let net = cnn();
        let params = net.init(&[0], Device::Cpu);
        assert!(net.forward(&params, &Tensor::zeros([1, 3, 1, 4, 4], (Kind::Float, Device::Cpu))).is_err());
        assert!(net.forward(&params, &Tensor::zeros([2, 3, 1, 8, 8], (Kind::Float, Device::Cpu))).is_err());
    }
}
