//! Seeded initialisation of member weights from an explicit RNG (PyTorch's default for conv and
//! linear layers: U(−1/√fan_in, 1/√fan_in)), so member p is the same whether trained alone or stacked.
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// A `shape` tensor of U(−bound, bound) values drawn from `rng`.
pub fn uniform(rng: &mut ChaCha8Rng, shape: &[i64], bound: f64, device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound) as f32).collect();
    Tensor::from_slice(&values).reshape(shape).to_kind(Kind::Float).to_device(device)
}

/// The default bound of a layer with `fan_in` inputs per output.
pub fn default_bound(fan_in: i64) -> f64 {
    1.0 / (fan_in.max(1) as f64).sqrt()
}
