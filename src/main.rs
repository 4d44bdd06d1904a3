//! The `dldl-meta` command line: parses arguments and hands them to the `cli` rooms.
//! Each subcommand's `--help` explains every flag.
mod cli;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Meta-learn the label distributions of Deep Label Distribution Learning (DLDL).
#[derive(Parser)]
#[command(name = "dldl-meta", version, about, long_about = None)]
struct Cli {
    /// libtorch CPU threads (default: libtorch's choice, usually one per core), at most 4 × the
    /// available cores (a warning above the cores). Use 1 when other processes share the cores:
    /// spinning thread pools slow small batches down badly.
    #[arg(long, global = true, env = "DLDL_THREADS", value_parser = cli::values::whole::<i64, 1>)]
    threads: Option<i64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the target distribution of one label under a family and its parameters φ.
    Label(cli::label::LabelArgs),
    /// Print versions, the libtorch build and the devices this binary can use.
    Info,
    /// List the tasks (tasks/*.toml) with size, label domain and data source; say which data is missing.
    Tasks(cli::tasks::TasksArgs),
    /// Fetch, check or inspect datasets (`data fetch`, `data check`, `data show TASK`).
    Data(cli::data::DataArgs),
    /// Train methods × seeds on a task as one population; print test metrics (mean ± sd).
    Train(cli::train::TrainArgs),
    /// Evaluate a trained run on another copy of the same kind of data.
    Eval(cli::eval::EvalArgs),
    /// Write a trained run's backbone features of every example (with labels and split) as a CSV table.
    Features(cli::features::FeaturesArgs),
    /// Record a run's first training steps (weights, batches, masks) for a step-by-step check against PyTorch.
    Trace(cli::trace::TraceArgs),
    /// Learn φ (σ, P/D/N, kernel width) for a task with a study; resumable.
    Search(cli::search::SearchArgs),
    /// Evaluate the φs an Optuna study asks for (PostgreSQL or journal-file storage): one of many workers.
    Worker(cli::worker::WorkerArgs),
    /// Evaluate fixed and learned distributions on seeded meta-test episodes (K shots) or training fractions; resumable.
    Fewshot(cli::fewshot::FewshotArgs),
    /// Draw figures (PNG + SVG) and write report.md / index.html from run directories; never trains.
    Report(cli::report::ReportArgs),
    /// Measure inner-loop speed: population vs sequential, GFLOP/s vs sgemm, vs PyTorch-Python.
    Bench(cli::bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    dldl_meta::runtime::tune_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let matches = cli::values::allow_negative_numbers(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some(threads) = cli.threads {
        let context = || format!("--threads {threads} (or env DLDL_THREADS)");
        if let Some(warning) = dldl_meta::runtime::set_threads(threads).with_context(context)? {
            tracing::warn!("{warning}");
        }
    }
    match cli.command {
        Command::Label(args) => cli::label::run(&args),
        Command::Info => cli::info::run(),
        Command::Tasks(args) => cli::tasks::run(&args),
        Command::Data(args) => cli::data::run(&args),
        Command::Train(args) => cli::train::run(&args),
        Command::Eval(args) => cli::eval::run(&args),
        Command::Features(args) => cli::features::run(&args),
        Command::Bench(args) => cli::bench::run(&args),
        Command::Trace(args) => cli::trace::run(&args),
        Command::Search(args) => cli::search::run(&args),
        Command::Worker(args) => cli::worker::run(&args),
        Command::Fewshot(args) => cli::fewshot::run(&args),
        Command::Report(args) => cli::report::run(&args),
    }
}
