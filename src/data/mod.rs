//! Real datasets, tasks derived from real digit images, the tensor cache, splits and episodes.
//! Rooms: the dataset type, one loader per format, derived generators, fetching, splits, the episode sampler.
pub mod abalone;
pub mod cache;
pub mod dataset;
pub mod derived;
pub mod domain_check;
pub mod episode;
pub mod fetch;
pub mod image;
pub mod image_folder;
pub mod mat;
pub mod mnist;
pub mod paths;
pub mod planted;
pub mod pointing04;
pub mod pool;
pub mod split;
pub mod table;
pub mod table_bench;
pub mod tabular;
pub mod task;
pub mod utkface;
pub mod voc;
pub mod voc_mask;
pub mod wine;

pub use dataset::{Dataset, LoadReport};
pub use domain_check::check_labels_in_domain;
pub use episode::{Episode, EpisodeSampler};

pub use paths::DataRoots;
pub use pool::Pool;
pub use split::Split;
pub use task::{load_task, probe_task, Availability};
