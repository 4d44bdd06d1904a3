//! dldl-meta: meta-learning the label distributions of Deep Label Distribution Learning.
//! Data flows one way: config → data → episodes → inner loop → outer loop → report.
pub mod config;
pub mod data;
pub mod error;
pub mod label;
pub mod runtime;

pub use error::{Error, Result};
