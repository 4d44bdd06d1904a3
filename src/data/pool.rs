//! The three disjoint pools of a task's examples (train, val, test), which the meta-train,
//! meta-validation and meta-test episodes are drawn from.

/// One of the three disjoint pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pool {
    /// Training split; meta-train episodes.
    Train,
    /// Validation split; meta-validation episodes.
    Val,
    /// Test split; meta-test episodes (never used to learn φ).
    Test,
}

impl Pool {
    /// All pools in order.
    pub const ALL: [Pool; 3] = [Pool::Train, Pool::Val, Pool::Test];

    /// `train`, `val` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Pool::Train => "train",
            Pool::Val => "val",
            Pool::Test => "test",
        }
    }

    /// A number unique to the pool, mixed into episode seeds.
    pub fn id(self) -> u64 {
        self as u64
    }
}

impl std::fmt::Display for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
