//! The outer loop: learns the label-distribution parameters φ across task episodes by grid, random,
//! CMA-ES, hypergradient, online, PBT or evolution-strategies search, with a resumable run directory.
pub mod black_box;
pub mod cmaes;
pub mod episodes;
pub mod es;
pub mod hypergradient;
pub mod knots;
pub mod learner;
pub mod objective;
pub mod online;
pub mod optuna;
pub mod pbt;
pub mod population;
pub mod search;
pub mod space;
pub mod study;

pub use search::{SearchEvent, Study};
pub use space::PhiSpace;
pub use study::{Learn, SearchMethod, StudySpec};
