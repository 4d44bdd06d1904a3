//! Inner-loop speed: member-steps per second of the population trainer against sequential
//! training, as useful GFLOP/s next to this machine's sgemm GFLOP/s measured in the same run.
use crate::data::Labels;
use crate::error::Result;
use crate::label::Bins;
use crate::model::{Network, NetworkSpec};
use crate::train::evaluate::EvalSpec;
use crate::train::metrics::OrdinalMetricSpec;
use crate::train::{train_population, Domain, Member, TrainData, TrainSpec, Trainer};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// What to measure.
#[derive(Debug, Clone)]
pub struct InnerBenchSpec {
    pub batches: Vec<i64>,
    pub populations: Vec<i64>,
    /// Member-steps to time per configuration (steps = this / P, at least 3).
    pub member_steps: usize,
    pub device: Device,
}

/// One measured configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    /// `population` (P members stacked) or `sequential` (P members one after another).
    pub mode: String,
    pub batch: i64,
    pub population: i64,
    pub member_steps_per_s: f64,
    pub gflops: f64,
    pub fraction_of_sgemm: f64,
}

/// A whole benchmark run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub sgemm_gflops: f64,
    pub flops_per_member_step: Vec<(i64, f64)>,
    pub rows: Vec<BenchRow>,
    pub peak_rss_mb: f64,
}

/// The DESIGN network: 3 conv (32-64-128) + fc 256 on 32×32 grey faces, 101 age bins.
pub fn utkface_network() -> Result<Network> {
    Network::new(NetworkSpec::Cnn { channels: vec![32, 64, 128], hidden: vec![256] }, &[1, 32, 32], 101)
}

/// Best-of-five GFLOP/s of a 1024×1024 float32 matrix product on `device`.
pub fn sgemm_gflops(device: Device) -> f64 {
    let a = Tensor::rand([1024, 1024], (Kind::Float, device));
    let b = Tensor::rand([1024, 1024], (Kind::Float, device));
    let _ = a.mm(&b).sum(Kind::Float).double_value(&[]);
    (0..5)
        .map(|_| {
            let t = Instant::now();
            let mut acc = a.mm(&b);
            for _ in 0..4 {
                acc = a.mm(&b) + acc;
            }
            let _ = acc.sum(Kind::Float).double_value(&[]);
            5.0 * 2.0 * 1024f64.powi(3) / t.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

/// Peak resident memory of this process in MB (Linux), 0 where unknown.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Measures every (batch, population) in `spec` for the population trainer and, per batch,
/// P sequential single-member trainings for the largest P ≤ 4.
pub fn run_inner(spec: &InnerBenchSpec) -> Result<BenchReport> {
    let net = utkface_network()?;
    let n = 512;
    let inputs = Tensor::rand([n, 1, 32, 32], (Kind::Float, Device::Cpu)).to_device(spec.device);
    let labels = Labels::Ordinal(Tensor::randint(101, [n], (Kind::Float, Device::Cpu)));
    let domain = Domain::Bins(Bins::parse("0:100")?);
    let data = TrainData { inputs: &inputs, labels: &labels, domain: &domain };
    let sgemm = sgemm_gflops(spec.device);
    let flops_step = |b: i64| 3.0 * net.flops_per_sample() as f64 * b as f64;
    let mut rows = vec![];
    for &batch in &spec.batches {
        let row = |mode: &str, population: i64, rate: f64| {
            let gflops = rate * flops_step(batch) / 1e9;
            BenchRow { mode: mode.into(), batch, population, member_steps_per_s: rate, gflops, fraction_of_sgemm: gflops / sgemm }
        };
        for &population in &spec.populations {
            let steps = (spec.member_steps / population.max(1) as usize).max(3);
            let rate = time_population(&net, &data, population, batch, steps, spec.device)?;
            rows.push(row("population", population, rate));
        }
        let p_seq = spec.populations.iter().copied().filter(|p| *p <= 4).max().unwrap_or(1);
        let steps = (spec.member_steps / p_seq as usize).max(3);
        let started = Instant::now();
        for _ in 0..p_seq {
            time_population(&net, &data, 1, batch, steps, spec.device)?;
        }
        rows.push(row("sequential", p_seq, (p_seq as usize * steps) as f64 / started.elapsed().as_secs_f64()));
    }
    let flops = spec.batches.iter().map(|&b| (b, flops_step(b))).collect();
    Ok(BenchReport { sgemm_gflops: sgemm, flops_per_member_step: flops, rows, peak_rss_mb: peak_rss_mb() })
}

/// Member-steps per second of one population training (one warm-up run of 2 steps first).
fn time_population(net: &Network, data: &TrainData, population: i64, batch: i64, steps: usize, device: Device) -> Result<f64> {
    let members: Vec<Member> = (0..population as u64)
        .map(|s| Member { seed: s, method: "dldl:sigma=2".parse().expect("valid method"), train: (0..512).collect(), val: vec![] })
        .collect();
    let eval = EvalSpec { chunk: 256, ordinal: OrdinalMetricSpec::default(), reference: "gaussian:sigma=2".parse()? };
    let spec = |steps: usize| -> TrainSpec {
        TrainSpec { steps, ..toml::from_str(&format!("steps = 1\nbatch = {batch}\nlr = 0.001\n")).expect("valid settings") }
    };
    let (warm, timed) = (spec(2), spec(steps));
    train_population(&Trainer { net, data, spec: &warm, eval: &eval, device }, &members, &mut |_| {})?;
    let started = Instant::now();
    train_population(&Trainer { net, data, spec: &timed, eval: &eval, device }, &members, &mut |_| {})?;
    Ok((population as usize * steps) as f64 / started.elapsed().as_secs_f64())
}
