//! The trait every learner of φ implements: its outer steps, what it adds to a fresh state, one step,
//! and the φ it learned. The learners are registered in `registry.rs`.
use super::study::Study;
use crate::error::Result;
use crate::rundir::records::{SearchState, StepRecord};
use crate::rundir::RunDir;

/// One way of learning φ in outer steps that each end with `state.json` written (so a killed study
/// resumes after its last complete step).
pub trait Learner {
    /// Outer steps of the whole study.
    fn total_steps(&self, study: &Study) -> usize;

    /// Adds what this learner needs to a fresh state (e.g. CMA-ES's search distribution).
    fn start(&self, _study: &Study, _state: &mut SearchState) -> Result<()> {
        Ok(())
    }

    /// One outer step: trains, logs its trials, updates `state`, and returns the step's record.
    fn step(&self, study: &Study, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord>;

    /// The φ learned by the end: by default the best one scored.
    fn learned_phi(&self, _study: &Study, state: &SearchState) -> Vec<f64> {
        state.best_phi.clone()
    }
}
