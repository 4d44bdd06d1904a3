//! From a validated task spec to its dataset: dispatch to the loader or generator, with the data roots.
//! Also a cheap probe (no decoding) that says whether a task's data is there and, if not, how to get it.
use super::derived::{CanvasSpec, MultiDigitSpec, PoseSpec, RotationSpec, SegmentationSpec};
use super::image_folder::FolderSpec;
use super::mat::{self, MatSpec};
use super::paths::{DataRoots, FETCH_COMMAND};
use super::table::{self, FeatureColumns, TableSpec};
use super::{
    abalone, cache::TensorCache, derived, image_folder, mnist, pointing04, utkface, voc, voc_mask, wine,
};
use crate::config::{CanvasOptions, DatasetSpec, TableOptions, TaskSpec};
use crate::data::dataset::Dataset;
use crate::domain::LabelDomain;
use crate::error::{Error, Result};
use crate::label::Bins;
use std::path::PathBuf;

/// Load (or generate) the dataset of `task`.
pub fn load_task(task: &TaskSpec, roots: &DataRoots) -> Result<Dataset> {
    let options = task.image_options();
    let side = task.model.input_size as usize;
    match &task.dataset {
        DatasetSpec::Utkface(o) => {
            utkface::load(&roots.external_path(&o.path), &options, &TensorCache::new(&roots.cache))
        }
        DatasetSpec::Abalone(_) => abalone::load(&roots.fetched),
        DatasetSpec::Wine(_) => wine::load(),
        DatasetSpec::MnistRotation(o) => {
            let angles = range(axis(task, 0)?);
            let spec = RotationSpec { count: o.count, seed: o.seed, side, angles, scale: o.scale / 100.0 };
            derived::rotation::generate(&digits(roots)?, &spec)
        }
        DatasetSpec::MnistPose(o) => {
            let spec = PoseSpec {
                count: o.count,
                seed: o.seed,
                side,
                angles: range(axis(task, 0)?),
                scales: range(axis(task, 1)?),
            };
            derived::pose::generate(&digits(roots)?, &spec)
        }
        DatasetSpec::MnistMultidigit(o) => {
            let spec = MultiDigitSpec {
                count: o.count,
                seed: o.seed,
                canvas: canvas(o, side),
                blocks: o.blocks,
                difficult_below: o.difficult_below.unwrap_or(0.5),
            };
            derived::multidigit::generate(&digits(roots)?, &spec)
        }
        DatasetSpec::MnistSegmentation(o) => {
            let spec = SegmentationSpec {
                count: o.count,
                seed: o.seed,
                canvas: canvas(o, side),
                blocks: o.blocks,
                void_from: o.void_from,
            };
            derived::segmentation::generate(&digits(roots)?, &spec)
        }
        DatasetSpec::ImageFolder(o) => {
            let spec = FolderSpec {
                dir: roots.external_path(&o.path),
                csv: PathBuf::from(&o.csv),
                kind: task.label_kind(),
            };
            image_folder::load(&spec, &options)
        }
        DatasetSpec::Pointing04(o) => pointing04::load(&roots.external_path(&o.path), &options),
        DatasetSpec::Voc(o) => voc::load(&roots.external_path(&o.path), class_names(task), &options),
        DatasetSpec::Csv(o) => table::load(&table_spec(task, o, roots)),
        DatasetSpec::Mat(o) => mat::load(&MatSpec {
            path: roots.external_path(&o.path),
            features: o.features.clone(),
            label: o.label_variable().to_string(),
            kind: task.label_kind(),
        }),
        DatasetSpec::VocSegmentation(o) => {
            voc_mask::load(&roots.external_path(&o.path), class_names(task).len(), &options)
        }
    }
}

/// The table of a `csv` task, its columns resolved from the options.
pub fn table_spec(task: &TaskSpec, o: &TableOptions, roots: &DataRoots) -> TableSpec {
    let features = match (&o.features, &o.feature_prefix) {
        (Some(names), _) => FeatureColumns::Named(names.clone()),
        (None, Some(prefix)) => FeatureColumns::Prefix(prefix.clone()),
        (None, None) => FeatureColumns::Rest,
    };
    TableSpec {
        path: roots.external_path(&o.path),
        label: o.label_columns(),
        features,
        delimiter: o.delimiter.as_ref().and_then(|d| d.bytes().next()).unwrap_or(b','),
        split: o.split.clone(),
        skip_corrupt: o.skip_corrupt,
        kind: task.label_kind(),
    }
}

fn digits(roots: &DataRoots) -> Result<mnist::Digits> {
    mnist::load(&mnist::digits_dir(&roots.fetched))
}

fn canvas(o: &CanvasOptions, side: usize) -> CanvasSpec {
    CanvasSpec { side, digits: (o.digits[0], o.digits[1]), digit_size: (o.digit_size[0], o.digit_size[1]) }
}

fn class_names(task: &TaskSpec) -> &[String] {
    match &task.labels {
        LabelDomain::Classes(c) => c,
        _ => &[],
    }
}

/// The 1-D bins, or axis `i` of the grid.
fn axis(task: &TaskSpec, i: usize) -> Result<&Bins> {
    match (&task.labels, i) {
        (LabelDomain::Bins(b), 0) => Ok(b),
        (LabelDomain::Grid(g), 0) => Ok(&g.axis1),
        (LabelDomain::Grid(g), 1) => Ok(&g.axis2),
        _ => {
            Err(Error::config(&task.path, "labels", "this generator needs bins (rotation) or a grid (pose)"))
        }
    }
}

/// The continuous range a generator draws from: first to last bin value.
fn range(bins: &Bins) -> (f32, f32) {
    let v = bins.values();
    (v[0] as f32, v[v.len() - 1] as f32)
}

/// Whether a task's data is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Present, with the number of examples (exact for files and generators).
    Available {
        /// Number of examples.
        examples: usize,
        /// Where it comes from.
        source: String,
    },
    /// Missing, with what is missing and how to get it.
    Missing {
        /// The missing path.
        path: PathBuf,
        /// The command or step that provides it.
        fix: String,
    },
}

/// Probe a task's data without decoding it.
pub fn probe_task(task: &TaskSpec, roots: &DataRoots) -> Result<Availability> {
    let fetch = || FETCH_COMMAND.to_string();
    let present = |examples: usize, source: String| Ok(Availability::Available { examples, source });
    match &task.dataset {
        DatasetSpec::Utkface(o) => {
            let dir = roots.external_path(&o.path);
            match utkface::list(&dir) {
                Ok(l) => present(
                    l.entries.len(),
                    format!("{} (+{} unparsed names)", dir.display(), l.unparsed.len()),
                ),
                Err(_) => Ok(Availability::Missing {
                    path: dir,
                    fix: "copy UTKFace there, or pass --data-dir / set DLDL_DATA".into(),
                }),
            }
        }
        DatasetSpec::Abalone(_) => {
            let path = abalone::csv_path(&roots.fetched);
            match abalone::read(&path) {
                Ok((rows, _)) => present(rows.len(), abalone::SOURCE.into()),
                Err(_) => Ok(Availability::Missing { path, fix: fetch() }),
            }
        }
        DatasetSpec::Wine(_) => present(1599, wine::SOURCE.into()),
        DatasetSpec::MnistRotation(_)
        | DatasetSpec::MnistPose(_)
        | DatasetSpec::MnistMultidigit(_)
        | DatasetSpec::MnistSegmentation(_) => {
            let dir = mnist::digits_dir(&roots.fetched);
            let ready = (0..10).all(|d| dir.join(format!("{d}.json")).is_file());
            match ready {
                true => present(
                    generated_count(&task.dataset),
                    format!("generated from {} (seeded)", mnist::SOURCE),
                ),
                false => Ok(Availability::Missing { path: dir, fix: fetch() }),
            }
        }
        DatasetSpec::ImageFolder(o) => folder_probe(roots.external_path(&o.path)),
        DatasetSpec::Csv(o) => {
            let path = roots.external_path(&o.path);
            match path.is_file() {
                true => present(0, path.display().to_string()),
                false => Ok(Availability::Missing {
                    path,
                    fix: "point [dataset] path at the CSV (relative to --data-dir / DLDL_DATA)".into(),
                }),
            }
        }
        DatasetSpec::Mat(o) => {
            let path = roots.external_path(&o.path);
            match path.is_file() {
                true => present(mat::rows(&path, &o.features).unwrap_or(0), path.display().to_string()),
                false => Ok(Availability::Missing {
                    path,
                    fix: "point [dataset] path at the .mat file (relative to --data-dir / DLDL_DATA)".into(),
                }),
            }
        }
        DatasetSpec::Pointing04(o) | DatasetSpec::Voc(o) | DatasetSpec::VocSegmentation(o) => {
            folder_probe(roots.external_path(&o.path))
        }
    }
}

fn generated_count(spec: &DatasetSpec) -> usize {
    match spec {
        DatasetSpec::MnistRotation(o) => o.count,
        DatasetSpec::MnistPose(o) => o.count,
        DatasetSpec::MnistMultidigit(o) | DatasetSpec::MnistSegmentation(o) => o.count,
        _ => 0,
    }
}

fn folder_probe(dir: PathBuf) -> Result<Availability> {
    if dir.is_dir() {
        let files = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?.count();
        Ok(Availability::Available {
            examples: files,
            source: format!("{} ({files} entries, not decoded)", dir.display()),
        })
    } else {
        Ok(Availability::Missing {
            path: dir,
            fix: "put the data there, or pass --data-dir / set DLDL_DATA".into(),
        })
    }
}
