//! Which layers of a network training leaves unchanged: none, or the feature layers under a
//! fine-tuned head (`[train] freeze`).
use serde::{Deserialize, Serialize};

/// Which parameters training leaves unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Freeze {
    /// Every layer trains.
    #[default]
    None,
    /// The feature layers (a CNN's convolutions, an MLP's hidden layers) keep their weights; only
    /// the fully connected head trains (fine-tuning a warm-started backbone).
    Features,
}

impl Freeze {
    pub fn is_none(&self) -> bool {
        *self == Freeze::None
    }
}
