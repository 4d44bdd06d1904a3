//! The `dldl-meta` command line: parses arguments and hands them to the `cli` rooms.
//! Each subcommand's `--help` explains every flag.
mod cli;

use clap::{Parser, Subcommand};

/// Meta-learn the label distributions of Deep Label Distribution Learning (DLDL).
#[derive(Parser)]
#[command(name = "dldl-meta", version, about, long_about = None)]
struct Cli {
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
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Label(args) => cli::label::run(&args),
        Command::Info => cli::info::run(),
        Command::Tasks(args) => cli::tasks::run(&args),
        Command::Data(args) => cli::data::run(&args),
    }
}
