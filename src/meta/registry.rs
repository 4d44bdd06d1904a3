//! The learners of φ, one file each (black_box.rs for grid, random and CMA-ES; hypergradient.rs;
//! pbt.rs; online.rs; es.rs), registered here: the only place a new one is added.
use super::black_box::BlackBox;
use super::es::Es;
use super::hypergradient::LookAhead;
use super::learner::Learner;
use super::online::Online;
use super::pbt::Pbt;
use super::study_spec::SearchMethod;

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
