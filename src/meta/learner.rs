//! The learners of φ behind one trait: each is a file (black_box.rs for grid, random and CMA-ES;
//! hypergradient.rs; pbt.rs; online.rs; es.rs) registered in [`learner_for`], the only place a new one is added.
use super::black_box::BlackBox;
use super::es::Es;
use super::hypergradient::LookAhead;
use super::online::Online;
use super::pbt::Pbt;
use super::search::Study;
use super::study::SearchMethod;
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

/// The learner of a study's `method`.
pub fn learner_for(method: SearchMethod) -> Box<dyn Learner> {
    match method {
        SearchMethod::Grid | SearchMethod::Random | SearchMethod::Cmaes => Box::new(BlackBox(method)),
        SearchMethod::Hypergradient => Box::new(LookAhead),
        SearchMethod::Pbt => Box::new(Pbt),
        SearchMethod::Online => Box::new(Online),
        SearchMethod::Es => Box::new(Es),
    }
}
