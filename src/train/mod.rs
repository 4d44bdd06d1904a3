//! The inner loop: DLDL training of a population of networks (KL to target distributions), a
//! fused in-place optimiser step, functional optimisers that can be unrolled, predictions, metrics.
pub mod augment;
pub mod batches;
pub mod draws;
pub mod evaluate;
pub mod metrics;
pub mod objective;
pub mod optimiser;
pub mod predict;
pub mod run;
pub mod setup;
pub mod snapshot;
pub mod standardise;

pub mod surrogates;
pub mod trace;
pub mod trainer;
pub mod unroll;
pub mod update;
pub mod warm_start;

pub use objective::{LossKind, Method};
pub use optimiser::OptimiserState;
pub use trainer::{train_population, Member, PopulationRun, TrainData, Trainer};
