//! The inner loop: DLDL training of a population of networks (KL to target distributions), a
//! fused in-place optimiser step, functional optimisers that can be unrolled, predictions, metrics.
pub mod augment;
pub mod batches;
pub mod draws;
pub mod evaluate;
pub mod member;
pub mod method;
pub mod metrics;
pub mod optimiser;
pub mod predict;
pub mod run;
pub mod setup;
pub mod snapshot;
pub mod standardise;

pub mod step_trace;
pub mod surrogates;
pub mod trainer;
pub mod unroll;
pub mod update;
pub mod warm_start;

pub use member::{Member, TrainData};
pub use method::{LossKind, Method};
pub use optimiser::OptimiserState;
pub use trainer::{train_population, PopulationRun, Trainer};
