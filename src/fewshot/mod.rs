//! The few-shot protocol: fixed and learned label distributions trained on the same seeded meta-test
//! episodes (or seeded fractions of the training split), logged per episode, summarised as mean ± 95 % CI.
//!
//! Rooms: `spec` (what is evaluated and how), `protocol` (chunked, resumable training), `summary`
//! (the tables and `fewshot.json`); the records are `rundir::records`', the statistics `stats`'.
pub mod protocol;
pub mod spec;
pub mod summary;

pub use protocol::{FewshotEvent, Protocol};

pub use spec::{FewshotSpec, InnerPlan, NamedMethod};
pub use summary::summarise;
