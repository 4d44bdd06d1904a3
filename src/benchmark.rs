//! Inner-loop speed: member-steps per second of the population trainer against sequential
//! training, as useful GFLOP/s next to this machine's sgemm GFLOP/s measured in the same run.
use crate::config::TrainPlan;
use crate::domain::{Domain, Labels};
use crate::error::{Error, Result};
use crate::label::Bins;
use crate::model::{Network, NetworkSpec};
use crate::train::evaluate::EvalSpec;
use crate::train::trainer::{default_chunk, train_chunked, TrainEvent};
use crate::train::{Member, Method, TrainData, Trainer};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Random inputs every configuration trains on; a batch is at most this many examples.
pub const BENCH_EXAMPLES: i64 = 512;
/// The largest population the benchmark stacks (DESIGN's GPU target; about 10 MB of parameters
/// and Adam buffers per member of the UTKFace CNN).
pub const MAX_BENCH_POPULATION: i64 = 256;

/// What to measure.
#[derive(Debug, Clone)]
pub struct InnerBenchSpec {
    pub batches: Vec<i64>,
    pub populations: Vec<i64>,
    /// Member-steps to time per configuration and round (steps = this / P, at least 5).
    pub member_steps: usize,
    pub device: Device,
}

impl InnerBenchSpec {
    /// At least one batch size in `1..=BENCH_EXAMPLES`, one population in
    /// `1..=MAX_BENCH_POPULATION`, and at least one member-step to time.
    pub fn validate(&self) -> Result<()> {
        in_range("batches", &self.batches, BENCH_EXAMPLES, "the benchmark's random examples")?;
        in_range("populations", &self.populations, MAX_BENCH_POPULATION, "the largest population it stacks")?;
        if self.member_steps == 0 {
            return Err(Error::invalid(
                "member-steps",
                0,
                "must be >= 1 (member-steps timed per configuration)",
            ));
        }
        Ok(())
    }
}

/// A non-empty list whose values lie in `1..=max`; `what` says what the bound is.
fn in_range(name: &str, values: &[i64], max: i64, what: &str) -> Result<()> {
    if values.is_empty() {
        return Err(Error::invalid(name, "(none)", "give at least one value"));
    }
    match values.iter().find(|v| !(1..=max).contains(*v)) {
        Some(v) => Err(Error::invalid(name, v, format!("each value must lie in 1..={max} ({max} = {what})"))),
        None => Ok(()),
    }
}

/// One measured configuration: the median over rounds of member-steps per second, each round's
/// rate being P / (median step time), and the slowest and fastest round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    /// `population` (P members stacked), `chunked` (P members in the device's default chunks) or
    /// `sequential` (P members one after another).
    pub mode: String,
    pub batch: i64,
    pub population: i64,
    pub member_steps_per_s: f64,
    pub min_member_steps_per_s: f64,
    pub max_member_steps_per_s: f64,
    pub gflops: f64,
    pub fraction_of_sgemm: f64,
}

/// A whole benchmark run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub sgemm_gflops: f64,
    pub flops_per_member_step: Vec<(i64, f64)>,
    pub rounds: usize,
    pub rows: Vec<BenchRow>,
    pub peak_rss_mb: f64,
}

/// One round's rate of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundRate {
    pub mode: String,
    pub batch: i64,
    pub population: i64,
    pub member_steps_per_s: f64,
}

/// The DESIGN network: 3 conv (32-64-128) + fc 256 on 32×32 grey faces, 101 age bins.
pub fn utkface_network() -> Result<Network> {
    Network::new(
        NetworkSpec::Cnn { channels: vec![32, 64, 128], hidden: vec![256], batchnorm: false },
        &[1, 32, 32],
        101,
    )
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

/// One round: every (batch, population) in `spec` for the population trainer stacked (`population`)
/// and in the default chunks of the device (`chunked`, where P exceeds a chunk) and, per batch,
/// P sequential single-member trainings for the largest P ≤ 4.
pub fn run_round(spec: &InnerBenchSpec) -> Result<Vec<RoundRate>> {
    let net = utkface_network()?;
    let n = BENCH_EXAMPLES;
    let inputs = Tensor::rand([n, 1, 32, 32], (Kind::Float, Device::Cpu)).to_device(spec.device);
    let labels = Labels::Ordinal(Tensor::randint(101, [n], (Kind::Float, Device::Cpu)));
    let domain = Domain::Bins(Bins::parse("0:100")?);
    let data = TrainData { inputs: &inputs, labels: &labels, domain: &domain };
    let mut rates = vec![];
    for &batch in &spec.batches {
        let bench = Bench { net: &net, data: &data, batch, device: spec.device };
        let rate = |mode: &str, population: i64, member_steps_per_s: f64| RoundRate {
            mode: mode.into(),
            batch,
            population,
            member_steps_per_s,
        };
        let chunk = default_chunk(&net, batch, spec.device) as i64;
        for &population in &spec.populations {
            let steps = (spec.member_steps / population.max(1) as usize).max(5);
            rates.push(rate(
                "population",
                population,
                bench.member_steps_per_s(population, population, steps)?,
            ));
            if chunk > 0 && population > chunk {
                rates.push(rate("chunked", population, bench.member_steps_per_s(population, chunk, steps)?));
            }
        }
        let p_seq = spec.populations.iter().copied().filter(|p| *p <= 4).max().unwrap_or(1);
        let steps = (spec.member_steps / p_seq as usize).max(5);
        rates.push(rate("sequential", p_seq, bench.member_steps_per_s(p_seq, 1, steps)?));
    }
    Ok(rates)
}

/// The report of several rounds of [`run_round`]: per configuration the median, minimum and
/// maximum over rounds; `sgemm_gflops` from [`sgemm_gflops`].
pub fn report(rounds: &[Vec<RoundRate>], net: &Network, sgemm_gflops: f64) -> BenchReport {
    let flops_step = |b: i64| 3.0 * net.flops_per_sample() as f64 * b as f64;
    let mut rows: Vec<BenchRow> = vec![];
    for first in rounds.first().into_iter().flatten() {
        let same = |r: &&RoundRate| {
            r.mode == first.mode && r.batch == first.batch && r.population == first.population
        };
        let values: Vec<f64> =
            rounds.iter().flat_map(|round| round.iter().filter(same).map(|r| r.member_steps_per_s)).collect();
        let rate = median(&values);
        let gflops = rate * flops_step(first.batch) / 1e9;
        rows.push(BenchRow {
            mode: first.mode.clone(),
            batch: first.batch,
            population: first.population,
            member_steps_per_s: rate,
            min_member_steps_per_s: values.iter().copied().fold(f64::INFINITY, f64::min),
            max_member_steps_per_s: values.iter().copied().fold(0.0, f64::max),
            gflops,
            fraction_of_sgemm: gflops / sgemm_gflops,
        });
    }
    let mut batches: Vec<i64> = rows.iter().map(|r| r.batch).collect();
    batches.dedup();
    let flops_per_member_step = batches.iter().map(|&b| (b, flops_step(b))).collect();
    BenchReport {
        sgemm_gflops,
        flops_per_member_step,
        rounds: rounds.len(),
        rows,
        peak_rss_mb: peak_rss_mb(),
    }
}

/// The median of `values` (mean of the middle two for an even count; NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// What one configuration trains on.
struct Bench<'a> {
    net: &'a Network,
    data: &'a TrainData<'a>,
    batch: i64,
    device: Device,
}

impl Bench<'_> {
    /// The inner-loop settings: Adam 1e-3 at this batch size for `steps` steps.
    fn settings(&self, steps: usize) -> Result<TrainPlan> {
        let text = format!("steps = {steps}\nbatch = {}\nlr = 0.001\n", self.batch);
        toml::from_str(&text)
            .map_err(|e| Error::invalid("benchmark settings", text.replace('\n', "; "), e.to_string()))
    }

    fn eval(&self) -> Result<EvalSpec> {
        Ok(EvalSpec::for_reference("gaussian:sigma=2".parse()?))
    }

    /// Member-steps per second of `population` members trained `chunk` at a time for `steps`
    /// steps: `chunk` / the median step time, after a warm-up training of 3 steps.
    fn member_steps_per_s(&self, population: i64, chunk: i64, steps: usize) -> Result<f64> {
        let method: Method = "dldl:sigma=2".parse()?;
        let members: Vec<Member> = (0..population as u64)
            .map(|s| Member {
                seed: s,
                method: method.clone(),
                train: (0..BENCH_EXAMPLES).collect(),
                val: vec![],
            })
            .collect();
        let (warm, timed, eval) = (self.settings(3)?, self.settings(steps)?, self.eval()?);
        let trainer =
            |spec| Trainer { net: self.net, data: self.data, spec, eval: &eval, device: self.device };
        train_chunked(&trainer(&warm), &members[..chunk as usize], chunk as usize, &mut |_, _| {})?;
        let mut times = Vec::with_capacity(steps * (population / chunk) as usize);
        let mut last = Instant::now();
        train_chunked(&trainer(&timed), &members, chunk as usize, &mut |_, event| {
            if let TrainEvent::Step { .. } = event {
                times.push(last.elapsed().as_secs_f64());
                last = Instant::now();
            }
        })?;
        Ok(chunk as f64 / median(&times))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn report_takes_the_median_round_per_configuration() {
        let rate = |mode: &str, p: i64, v: f64| RoundRate {
            mode: mode.into(),
            batch: 8,
            population: p,
            member_steps_per_s: v,
        };
        let rounds = vec![
            vec![rate("population", 1, 10.0), rate("sequential", 1, 5.0)],
            vec![rate("population", 1, 30.0), rate("sequential", 1, 7.0)],
            vec![rate("population", 1, 20.0), rate("sequential", 1, 6.0)],
        ];
        let net = utkface_network().unwrap();
        let report = report(&rounds, &net, 100.0);
        assert_eq!(report.rounds, 3);
        let row = &report.rows[0];
        assert_eq!(
            (row.member_steps_per_s, row.min_member_steps_per_s, row.max_member_steps_per_s),
            (20.0, 10.0, 30.0)
        );
        assert_eq!(report.rows[1].member_steps_per_s, 6.0);
        let flops = 3.0 * net.flops_per_sample() as f64 * 8.0;
        assert!((row.gflops - 20.0 * flops / 1e9).abs() < 1e-9);
        assert!((row.fraction_of_sgemm - row.gflops / 100.0).abs() < 1e-12);
    }

    #[test]
    fn sizes_outside_their_range_are_refused() {
        let good = InnerBenchSpec {
            batches: vec![8, 512],
            populations: vec![1, 256],
            member_steps: 1,
            device: Device::Cpu,
        };
        good.validate().unwrap();
        let cases = [
            (InnerBenchSpec { populations: vec![0], ..good.clone() }, "invalid populations = 0"),
            (InnerBenchSpec { populations: vec![257], ..good.clone() }, "invalid populations = 257"),
            (InnerBenchSpec { populations: vec![], ..good.clone() }, "invalid populations = (none)"),
            (InnerBenchSpec { batches: vec![8, -1], ..good.clone() }, "invalid batches = -1"),
            (InnerBenchSpec { batches: vec![513], ..good.clone() }, "1..=512"),
            (InnerBenchSpec { member_steps: 0, ..good.clone() }, "invalid member-steps = 0"),
        ];
        for (spec, needle) in cases {
            let err = spec.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn a_round_measures_every_configuration() {
        let spec = InnerBenchSpec {
            batches: vec![2],
            populations: vec![1, 2],
            member_steps: 5,
            device: Device::Cpu,
        };
        let rates = run_round(&spec).unwrap();
        let keys: Vec<(&str, i64)> = rates.iter().map(|r| (r.mode.as_str(), r.population)).collect();
        assert_eq!(keys, vec![("population", 1), ("population", 2), ("sequential", 2)]);
        assert!(rates.iter().all(|r| r.member_steps_per_s.is_finite() && r.member_steps_per_s > 0.0));
    }
}
