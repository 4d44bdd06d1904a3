//! Label distributions of DLDL, each a differentiable function of its parameters φ.
//! Rooms: domains (bins, grids), the families' mathematics (their specs live in `family/`), the baselines, the KL loss, the LDL measures.
mod validate;

pub mod baseline;
pub mod bins;
pub mod distance;
pub mod gaussian;
pub mod gaussian2d;
pub mod loss;
pub mod measures;
pub mod mixture;
pub mod noise;
pub mod pdn;
pub mod segmentation;

pub use baseline::{label_smoothing, one_hot};
pub use bins::{Bins, Grid, OutsideDomain};
pub use distance::{DistanceSpec, LabelDistance, MAX_DISTANCE_CLASSES};
pub use gaussian::{Gaussian1d, Sigma};
pub use gaussian2d::{Gaussian2d, Sigma2d};
pub use loss::{kl_loss, kl_loss_masked, kl_per_sample};
pub use measures::{ldl_measures, LdlMeasures};
pub use mixture::Mixture;
pub use pdn::{Pdn, DIFFICULT, NEGATIVE, POSITIVE};
pub use segmentation::{KernelShape, SegmentationSmoothing, SegmentationTargets, MAX_KERNEL_SIZE, VOID};
pub(crate) use validate::all_positive;
pub use validate::{check_classes, sigma_floor, MAX_CLASSES, MIN_SIGMA_PER_STEP};
