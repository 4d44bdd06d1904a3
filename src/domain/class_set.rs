//! The labels of a multi-label domain: how many, and the distances the mixture family may use on them
//! (index distance and CSV files, each made once on first use; the co-occurrence of the task's training pool).
use crate::error::{Error, Result};
use crate::label::{DistanceSpec, LabelDistance};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tch::Tensor;

/// C independent labels and their distances.
#[derive(Debug, Clone)]
pub struct ClassSet {
    count: i64,
    cooccurrence: Option<LabelDistance>,
    /// Index distance and files, resolved once (targets ask for them at every step).
    resolved: Arc<Mutex<BTreeMap<DistanceSpec, LabelDistance>>>,
}

impl PartialEq for ClassSet {
    /// The same labels with the same co-occurrence (the cache is not part of the domain).
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.cooccurrence == other.cooccurrence
    }
}

impl ClassSet {
    /// `count` labels whose co-occurrence is unknown (no training labels at hand).
    pub fn new(count: i64) -> Self {
        ClassSet { count, cooccurrence: None, resolved: Arc::default() }
    }

    /// `count` labels with the co-occurrence of the training label states `[N, C]`.
    pub fn with_training_states(count: i64, states: &Tensor) -> Result<Self> {
        Ok(ClassSet { cooccurrence: Some(LabelDistance::cooccurrence(states)?), ..ClassSet::new(count) })
    }

    /// `count` labels on which `spec` resolves to `matrix`, as a run directory recorded it (for
    /// index distance `matrix` is not needed and is ignored).
    pub fn with_resolved(count: i64, spec: &DistanceSpec, matrix: LabelDistance) -> Self {
        let set = ClassSet::new(count);
        match spec {
            DistanceSpec::Index => set,
            DistanceSpec::Cooccurrence => ClassSet { cooccurrence: Some(matrix), ..set },
            DistanceSpec::File(_) => {
                set.resolved.lock().map(|mut resolved| resolved.insert(spec.clone(), matrix)).ok();
                set
            }
        }
    }

    /// Number of labels C.
    pub fn count(&self) -> i64 {
        self.count
    }

    /// The distance matrix `spec` names, checked against the C labels.
    pub fn distance(&self, spec: &DistanceSpec) -> Result<LabelDistance> {
        if *spec == DistanceSpec::Cooccurrence {
            return self.cooccurrence.clone().ok_or_else(|| {
                Error::invalid(
                    "distance",
                    "cooccurrence",
                    "needs the task's training labels, which are not loaded here",
                )
            });
        }
        let mut resolved = self.resolved.lock().map_err(|_| {
            Error::invalid("distance", spec.name(), "the distance cache was poisoned by a panic")
        })?;
        if let Some(d) = resolved.get(spec) {
            return Ok(d.clone());
        }
        let d = match spec {
            DistanceSpec::File(path) => LabelDistance::from_csv(path, self.count)?,
            _ => LabelDistance::index(self.count)?, // index: co-occurrence returned above
        };
        resolved.insert(spec.clone(), d.clone());
        Ok(d)
    }
}
