//! Scale-out through Optuna's storage: `dldl-meta worker` evaluates φs that Optuna's sampler asks for
//! (PostgreSQL or a journal file as the shared ledger), and `search --from-optuna` pulls a study back.
pub mod bridge;
pub mod identity;
pub mod import;
pub mod phi_params;
pub mod settings;
pub mod worker_loop;

pub use bridge::{Bridge, BridgeConfig};
pub use phi_params::{OptunaSpace, Param};
pub use settings::{OptunaSettings, PrunerKind, SamplerKind};
pub use worker_loop::{process_nonce, TrialDone, TrialEvent, Worker, WorkerConfig};
