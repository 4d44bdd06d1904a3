//! The binary's subcommands: each room maps its clap arguments into the library's config structs.
//! `anyhow` lives here, at the edge; the library speaks `dldl_meta::Error`.
pub mod bench;
pub mod common;
pub mod data;
pub mod eval;
pub mod features;
pub mod fewshot;
pub mod info;
pub mod label;
pub mod methods;
pub mod optuna;
pub mod progress;
pub mod report;
pub mod search;
pub mod tasks;
pub mod trace;
pub mod train;
pub mod values;
pub mod worker;
