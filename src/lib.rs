//! dldl-meta: meta-learning the label distributions of Deep Label Distribution Learning.
//! Data flows one way: config → data → episodes → inner loop → outer loop → report.
//!
//! A target distribution and the DLDL loss, differentiable in σ:
//!
//! ```
//! use dldl_meta::label::{kl_loss, Bins, Gaussian1d, Sigma};
//! use tch::{Kind, Tensor};
//!
//! let ages = Bins::parse("0:100")?;
//! let sigma = Tensor::from_slice(&[2.0f32]).set_requires_grad(true);
//! let targets = Gaussian1d::new(&ages, Sigma::Scalar(sigma.shallow_clone()))?
//!     .targets(&Tensor::from_slice(&[32.0f32, 57.0]))?;
//! assert_eq!(targets.size(), vec![2, 101]);
//! // Each row sums to one; the peak sits at the label (p(32) ≈ 1/(2·√(2π)) ≈ 0.1995).
//! assert!((targets.double_value(&[0, 32]) - 0.1995).abs() < 1e-3);
//!
//! let logits = Tensor::zeros([2, 101], (Kind::Float, tch::Device::Cpu));
//! let loss = kl_loss(&logits, &targets)?;
//! let grad = Tensor::run_backward(&[loss], &[&sigma], false, false);
//! assert!(grad[0].double_value(&[0]).is_finite());
//! # Ok::<(), dldl_meta::Error>(())
//! ```
// Validation writes `!(x > 0.0)` on purpose: the negated comparison refuses NaN with the values
// outside the rule, where `x <= 0.0` would let NaN through.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod benchmark;
pub mod config;
pub mod data;
pub mod domain;
pub mod error;
pub mod family;
pub mod fewshot;
pub mod label;
pub mod meta;
pub mod model;
pub mod report;
pub mod rundir;
pub mod runtime;
pub mod stats;
pub mod train;

pub use error::{Error, Result};
