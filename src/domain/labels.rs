//! The labels of a dataset in one of four kinds (ordinal, pose, multi-label, segmentation), and the
//! kind alone for checks and listings.
use tch::Tensor;

/// Labels of a dataset, one row per example.
#[derive(Debug)]
pub enum Labels {
    /// `[N]` f32 label values (age in years, angle in degrees, quality score).
    Ordinal(Tensor),
    /// `[N, 2]` f32 label pairs (tilt/pan in degrees, or rotation° and scale %).
    Pose(Tensor),
    /// `[N, C]` i64 per class: 2 = Positive, 1 = Difficult, 0 = Negative.
    MultiLabel(Tensor),
    /// `[N, H, W]` i64 class index per pixel, 255 = void (ignored in loss and metrics).
    Segmentation(Tensor),
    /// `[N, C]` f32 given label distributions over C categories (each row sums to 1).
    Distribution(Tensor),
}

/// The four label kinds, without data (for checks and listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// One real value per example.
    Ordinal,
    /// Two real values per example.
    Pose,
    /// Positive / Difficult / Negative per class.
    MultiLabel,
    /// A class map per example.
    Segmentation,
    /// A given distribution over categories per example.
    Distribution,
}

impl Labels {
    /// The label tensor.
    pub fn tensor(&self) -> &Tensor {
        match self {
            Labels::Ordinal(t)
            | Labels::Pose(t)
            | Labels::MultiLabel(t)
            | Labels::Segmentation(t)
            | Labels::Distribution(t) => t,
        }
    }

    /// Which kind these labels are.
    pub fn kind(&self) -> LabelKind {
        match self {
            Labels::Ordinal(_) => LabelKind::Ordinal,
            Labels::Pose(_) => LabelKind::Pose,
            Labels::MultiLabel(_) => LabelKind::MultiLabel,
            Labels::Segmentation(_) => LabelKind::Segmentation,
            Labels::Distribution(_) => LabelKind::Distribution,
        }
    }

    /// The same labels on `device`.
    pub fn to_device(&self, device: tch::Device) -> Labels {
        let t = self.tensor().to_device(device);
        match self {
            Labels::Ordinal(_) => Labels::Ordinal(t),
            Labels::Pose(_) => Labels::Pose(t),
            Labels::MultiLabel(_) => Labels::MultiLabel(t),
            Labels::Segmentation(_) => Labels::Segmentation(t),
            Labels::Distribution(_) => Labels::Distribution(t),
        }
    }

    /// The labels of the examples at `index` (a `[M]` i64 tensor).
    pub fn select(&self, index: &Tensor) -> Labels {
        let pick = |t: &Tensor| t.index_select(0, index);
        match self {
            Labels::Ordinal(t) => Labels::Ordinal(pick(t)),
            Labels::Pose(t) => Labels::Pose(pick(t)),
            Labels::MultiLabel(t) => Labels::MultiLabel(pick(t)),
            Labels::Segmentation(t) => Labels::Segmentation(pick(t)),
            Labels::Distribution(t) => Labels::Distribution(pick(t)),
        }
    }
}

impl std::fmt::Display for LabelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            LabelKind::Ordinal => "ordinal",
            LabelKind::Pose => "pose",
            LabelKind::MultiLabel => "multi-label",
            LabelKind::Segmentation => "segmentation",
            LabelKind::Distribution => "distribution",
        };
        f.write_str(name)
    }
}
