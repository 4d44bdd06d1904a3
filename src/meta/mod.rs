//! The outer loop: learns the label-distribution parameters φ across task episodes by grid, random,
//! CMA-ES, hypergradient, online, PBT or evolution-strategies search, with a resumable run directory.
pub mod black_box;
pub mod cmaes;
pub mod episodes;
pub mod es;
pub mod hypergradient;
pub mod knots;
pub mod learner;
pub mod online;
pub mod optuna;
pub mod pbt;
pub mod population;
pub mod query_loss;
pub mod registry;
pub mod space;
pub mod study;
pub mod study_run;
pub mod study_spec;

pub use space::PhiSpace;
pub use study::Study;
pub use study_run::SearchEvent;
pub use study_spec::{Learn, SearchMethod, StudySpec};
