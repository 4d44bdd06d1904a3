//! dldl-meta: meta-learning the label distributions of Deep Label Distribution Learning.
//! Data flows one way: config → data → episodes → inner loop → outer loop → report.
pub mod benchmark;
pub mod config;
pub mod data;
pub mod error;
pub mod fewshot;
pub mod label;
pub mod meta;
pub mod model;
pub mod report;
pub mod rundir;
pub mod runtime;
pub mod train;

pub use error::{Error, Result};
