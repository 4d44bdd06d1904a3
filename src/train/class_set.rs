//! The labels of a multi-label domain: how many, and the distances the mixture family may use on them
//! (index distance, the co-occurrence of the task's training pool, CSV files read once on first use).
use crate::error::{Error, Result};
use crate::label::{DistanceSpec, LabelDistance};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tch::Tensor;

/// C independent labels and their distances.
#[derive(Debug, Clone)]
pub struct ClassSet {
    count: i64,
    cooccurrence: Option<LabelDistance>,
    files: Arc<Mutex<BTreeMap<PathBuf, LabelDistance>>>,
}

impl PartialEq for ClassSet {
    /// The same labels with the same co-occurrence (the file cache is not part of the domain).
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.cooccurrence == other.cooccurrence
    }
}

impl ClassSet {
    /// `count` labels whose co-occurrence is unknown (no training labels at hand).
    pub fn new(count: i64) -> Self {
        ClassSet { count, cooccurrence: None, files: Arc::default() }
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
            DistanceSpec::File(path) => {
                set.files.lock().map(|mut files| files.insert(path.clone(), matrix)).ok();
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
        match spec {
            DistanceSpec::Index => LabelDistance::index(self.count),
            DistanceSpec::Cooccurrence => self.cooccurrence.clone().ok_or_else(|| {
                Error::invalid("distance", "cooccurrence", "needs the task's training labels, which are not loaded here")
            }),
            DistanceSpec::File(path) => {
                let mut files = self.files.lock().map_err(|_| Error::invalid("distance", path.display(), "the file cache was poisoned by a panic"))?;
                if let Some(d) = files.get(path) {
                    return Ok(d.clone());
                }
                let d = LabelDistance::from_csv(path, self.count)?;
                files.insert(path.clone(), d.clone());
                Ok(d)
            }
        }
    }
}
