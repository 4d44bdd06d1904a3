//! Tasks derived from real MNIST digits, all seeded: rotation angle, rotation × scale, multi-digit canvases, segmentation.
//! Rooms: digit warping and compositing (`canvas`), source-digit blocks (`sources`), one generator per task.
pub mod canvas;
pub mod multidigit;
pub mod pose;
pub mod rotation;
pub mod segmentation;
pub mod sources;

pub use canvas::{CanvasSpec, Placement};
pub use multidigit::MultiDigitSpec;
pub use pose::PoseSpec;
pub use rotation::RotationSpec;
pub use segmentation::SegmentationSpec;
