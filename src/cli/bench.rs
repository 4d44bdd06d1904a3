//! `dldl-meta bench`: the inner-loop speed benchmark (population vs sequential, GFLOP/s against
//! the machine's sgemm), optionally next to the PyTorch-Python reference run in the same invocation.
use anyhow::Context;
use clap::Args;
use dldl_meta::benchmark::{
    median, report, run_round, sgemm_gflops, utkface_network, BenchReport, InnerBenchSpec,
};
use dldl_meta::runtime::{DeviceChoice, ALLOCATOR_SETTINGS};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments of `dldl-meta bench`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  dldl-meta bench --python --json runs/bench.json")]
pub struct BenchArgs {
    /// Batch sizes (comma separated), each 1..=512 (the benchmark's random examples).
    #[arg(long, value_delimiter = ',', default_value = "8,64", value_parser = super::values::whole::<i64, 1>)]
    pub batches: Vec<i64>,
    /// Population sizes P (comma separated), each 1..=256.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64", value_parser = super::values::whole::<i64, 1>)]
    pub populations: Vec<i64>,
    /// Member-steps timed per configuration and round (>= 1; at least 5 steps are timed).
    #[arg(long, default_value_t = 192, value_parser = super::values::whole::<usize, 1>)]
    pub member_steps: usize,
    /// Rounds over all configurations (and the Python reference); each rate is the median
    /// round, so that a noisy neighbour slowing one round does not decide a ratio.
    #[arg(long, default_value_t = 3, value_parser = super::values::whole::<u32, 1>)]
    pub rounds: u32,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Also run benches/python/inner_loop.py with .venv's torch and print ratios.
    #[arg(long)]
    pub python: bool,
    /// Write the report (and the Python one) as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Instead of the inner loop: time reading a seeded ROWSxCOLS feature table (the `csv`
    /// kind), e.g. 10000x2000, once per round.
    #[arg(long, value_name = "ROWSxCOLS")]
    pub table: Option<String>,
}

/// Runs the benchmark in rounds (ours, then the Python reference, per round) and prints a table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if let Some(size) = &args.table {
        return table(size, args.rounds);
    }
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
    let spec = InnerBenchSpec {
        batches: args.batches.clone(),
        populations: args.populations.clone(),
        member_steps: args.member_steps,
        device,
    };
    spec.validate()?;
    if let Some(path) = &args.json {
        check_writable(path)?;
    }
    let threads = tch::get_num_threads();
    let sgemm = sgemm_gflops(device);
    let (mut ours, mut python) = (vec![], vec![]);
    for round in 1..=args.rounds {
        eprintln!(
            "round {round}/{}: the population trainer on {device:?} with {threads} thread(s)…",
            args.rounds
        );
        ours.push(run_round(&spec)?);
        if args.python {
            python.push(run_python(&args.batches, threads)?);
        }
    }
    let report = report(&ours, &utkface_network()?, sgemm);
    let python = args.python.then(|| python_median(&python));
    print_report(&report, python.as_ref());
    if let Some(path) = &args.json {
        let doc = serde_json::json!({"dldl_meta": report, "python": python});
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("{}", path.display()))?;
    }
    Ok(())
}

/// `--table ROWSxCOLS`: the load time of a seeded table of that size, per round and the median.
fn table(size: &str, rounds: u32) -> anyhow::Result<()> {
    let parse = || -> Option<(usize, usize)> {
        let (r, c) = size.split_once('x')?;
        Some((r.trim().parse().ok()?, c.trim().parse().ok()?))
    };
    let Some((rows, columns)) = parse() else {
        anyhow::bail!("--table {size}: must be ROWSxCOLS, e.g. 10000x2000");
    };
    eprintln!("writing a seeded {rows} × {columns} table, then reading it {rounds} time(s)…");
    let bench = dldl_meta::data::table_bench::table_load(rows, columns, rounds)?;
    let seconds = median(&bench.seconds);
    println!(
        "csv table {rows} × {columns} ({:.1} MB): read in {seconds:.2} s (median of {rounds}; rounds {:?}), {:.1} MB/s",
        bench.bytes as f64 / 1e6,
        bench.seconds.iter().map(|s| (s * 100.0).round() / 100.0).collect::<Vec<_>>(),
        bench.bytes as f64 / 1e6 / seconds
    );
    Ok(())
}

/// `--json PATH` must name a file in an existing directory, checked before minutes of measuring.
fn check_writable(path: &Path) -> anyhow::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    anyhow::ensure!(
        parent.is_dir(),
        "--json {}: directory {} does not exist",
        path.display(),
        parent.display()
    );
    anyhow::ensure!(!path.is_dir(), "--json {}: is a directory, expected a file name", path.display());
    Ok(())
}

/// The Python rounds as one document: the first round's, with each result's rate replaced by
/// the median over rounds (and the rounds' rates kept next to it).
fn python_median(rounds: &[serde_json::Value]) -> serde_json::Value {
    let mut doc = rounds.first().cloned().unwrap_or_default();
    if let Some(results) = doc["results"].as_array_mut() {
        for r in results {
            let rates: Vec<f64> = rounds
                .iter()
                .filter_map(|py| {
                    python_rate(
                        py,
                        r["mode"].as_str().unwrap_or(""),
                        r["batch"].as_i64()?,
                        r["population"].as_i64()?,
                    )
                })
                .collect();
            r["member_steps_per_s"] = serde_json::json!(median(&rates));
            r["round_member_steps_per_s"] = serde_json::json!(rates);
        }
    }
    doc["rounds"] = serde_json::json!(rounds.len());
    doc
}

fn run_python(batches: &[i64], threads: i32) -> anyhow::Result<serde_json::Value> {
    let out = std::env::temp_dir().join(format!("dldl-bench-python-{}.json", std::process::id()));
    let list = batches.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    eprintln!("  the PyTorch-Python reference (.venv/bin/python benches/python/inner_loop.py)…");
    let status = Command::new(".venv/bin/python")
        .envs(ALLOCATOR_SETTINGS.iter().map(|(name, value)| (name, value.to_string())))
        .args([
            "benches/python/inner_loop.py",
            "--batches",
            &list,
            "--population",
            "1,16",
            "--threads",
            &threads.to_string(),
            "--json",
        ])
        .arg(&out)
        .status()
        .context("could not start .venv/bin/python (run `make setup` from the repository root)")?;
    anyhow::ensure!(status.success(), "benches/python/inner_loop.py failed ({status})");
    Ok(serde_json::from_str(&std::fs::read_to_string(&out)?)?)
}

fn python_rate(python: &serde_json::Value, mode: &str, batch: i64, population: i64) -> Option<f64> {
    python["results"].as_array()?.iter().find_map(|r| {
        (r["mode"] == mode && r["batch"] == batch && r["population"] == population)
            .then(|| r["member_steps_per_s"].as_f64())
            .flatten()
    })
}

fn print_report(report: &BenchReport, python: Option<&serde_json::Value>) {
    println!(
        "sgemm: {:.1} GFLOP/s; peak RSS {:.0} MB; median of {} round(s) (slowest–fastest round)",
        report.sgemm_gflops, report.peak_rss_mb, report.rounds
    );
    println!("| mode | B | P | member-steps/s | GFLOP/s | % of sgemm | vs PyTorch sequential | vs PyTorch vmap P=16 |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in &report.rows {
        let ratio = |mode: &str, p: i64| {
            python
                .and_then(|py| python_rate(py, mode, r.batch, p))
                .map_or("–".to_string(), |v| format!("{:.2}×", r.member_steps_per_s / v))
        };
        println!(
            "| {} | {} | {} | {:.1} ({:.1}–{:.1}) | {:.1} | {:.1}% | {} | {} |",
            r.mode,
            r.batch,
            r.population,
            r.member_steps_per_s,
            r.min_member_steps_per_s,
            r.max_member_steps_per_s,
            r.gflops,
            100.0 * r.fraction_of_sgemm,
            ratio("sequential", 1),
            ratio("vmap", 16)
        );
    }
    if let Some(py) = python {
        println!(
            "\nPyTorch-Python reference (torch {}, median of {} round(s)):",
            py["torch"].as_str().unwrap_or("?"),
            py["rounds"]
        );
        for r in py["results"].as_array().into_iter().flatten() {
            let rounds: Vec<String> = r["round_member_steps_per_s"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| format!("{:.1}", v.as_f64().unwrap_or(f64::NAN)))
                .collect();
            let rate = r["member_steps_per_s"].as_f64().unwrap_or(f64::NAN);
            println!(
                "  {} B={} P={}: {rate:.1} member-steps/s (rounds: {})",
                r["mode"].as_str().unwrap_or("?"),
                r["batch"],
                r["population"],
                rounds.join(", ")
            );
        }
    }
}
