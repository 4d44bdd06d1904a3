//! An image folder with a CSV of `path,label` (ordinal) or `path,label1,label2` (pose) rows.
//! Paths are relative to the folder; a first row whose labels are not numbers is a header.
use super::image::decode_all;
use crate::config::ImageOptions;
use crate::data::dataset::{Dataset, LoadReport};
use crate::domain::{LabelKind, Labels};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// Where the folder and its CSV are, and which label kind the rows carry.
#[derive(Debug, Clone)]
pub struct FolderSpec {
    /// The image folder.
    pub dir: PathBuf,
    /// The CSV file (absolute, or relative to `dir`).
    pub csv: PathBuf,
    /// `Ordinal` (one label column) or `Pose` (two).
    pub kind: LabelKind,
}

/// Rows of the CSV: image paths and their label values.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// Image paths, resolved against the folder.
    pub files: Vec<PathBuf>,
    /// One `Vec` of label values per row (length 1 or 2).
    pub labels: Vec<Vec<f32>>,
}

/// Read the CSV; every malformed row is an error naming the file and the line.
pub fn read_rows(spec: &FolderSpec) -> Result<Rows> {
    let csv_path = spec.dir.join(&spec.csv);
    let columns = match spec.kind {
        LabelKind::Ordinal => 1,
        LabelKind::Pose => 2,
        other => {
            return Err(Error::invalid(
                "image-folder labels",
                other,
                "an image folder carries ordinal or pose labels",
            ))
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_path(&csv_path)
        .map_err(|e| Error::data(&csv_path, format!("cannot open the label CSV: {e}")))?;
    let mut rows = Rows { files: Vec::new(), labels: Vec::new() };
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::data(&csv_path, format!("line {}: {e}", line + 1)))?;
        match parse_row(&record, columns) {
            Ok((file, labels)) => {
                rows.files.push(spec.dir.join(file));
                rows.labels.push(labels);
            }
            Err(_) if line == 0 => continue,
            Err(rule) => return Err(Error::data(&csv_path, format!("line {}: {rule}", line + 1))),
        }
    }
    if rows.files.is_empty() {
        return Err(Error::data(&csv_path, "no rows"));
    }
    Ok(rows)
}

fn parse_row(record: &csv::StringRecord, columns: usize) -> std::result::Result<(String, Vec<f32>), String> {
    if record.len() != columns + 1 {
        return Err(format!(
            "expected {} fields (path and {columns} label(s)), got {}",
            columns + 1,
            record.len()
        ));
    }
    let labels = (1..=columns)
        .map(|i| record[i].parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect::<Option<Vec<f32>>>()
        .ok_or_else(|| {
            format!("labels must be finite numbers, got {:?}", record.iter().skip(1).collect::<Vec<_>>())
        })?;
    Ok((record[0].to_string(), labels))
}

/// Load the folder: decoded images and their labels (`Ordinal` or `Pose`).
pub fn load(spec: &FolderSpec, options: &ImageOptions) -> Result<Dataset> {
    if !spec.dir.is_dir() {
        return Err(Error::data(
            &spec.dir,
            "image folder not found (point `path` in the task's [dataset] at it)",
        ));
    }
    let rows = read_rows(spec)?;
    let decoded = decode_all(&rows.files, options)?;
    let values: Vec<f32> = decoded.kept.iter().flat_map(|&i| rows.labels[i].clone()).collect();
    let labels = match spec.kind {
        LabelKind::Pose => Labels::Pose(Tensor::from_slice(&values).view([-1, 2])),
        _ => Labels::Ordinal(Tensor::from_slice(&values)),
    };
    let report = LoadReport { unparsed: Vec::new(), skipped: decoded.skipped };
    let files = decoded.kept.iter().map(|&i| rows.files[i].display().to_string()).collect();
    Dataset::new("image-folder", decoded.inputs, labels, source(spec))?.with_report(report).with_files(files)
}

fn source(spec: &FolderSpec) -> String {
    format!("{} ({})", spec.dir.display(), Path::new(&spec.csv).display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(csv: &str) -> (tempfile::TempDir, FolderSpec) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("img")).unwrap();
        for name in ["a", "b", "c"] {
            ::image::GrayImage::from_pixel(10, 10, ::image::Luma([200]))
                .save(dir.path().join(format!("img/{name}.png")))
                .unwrap();
        }
        std::fs::write(dir.path().join("labels.csv"), csv).unwrap();
        let spec =
            FolderSpec { dir: dir.path().to_path_buf(), csv: "labels.csv".into(), kind: LabelKind::Ordinal };
        (dir, spec)
    }

    #[test]
    fn loads_ordinal_and_pose_rows_with_optional_header() {
        let (_dir, spec) = fixture("path,age\nimg/a.png,3\nimg/b.png, 40.5\n# comment\nimg/c.png,7\n");
        let d = load(&spec, &ImageOptions { size: 4, ..ImageOptions::default() }).unwrap();
        assert_eq!(d.inputs.size(), vec![3, 1, 4, 4]);
        assert_eq!(Vec::<f32>::try_from(d.labels.tensor()).unwrap(), vec![3.0, 40.5, 7.0]);
        let (_dir, mut spec) = fixture("img/a.png,-30,15\nimg/c.png,0,90\n");
        spec.kind = LabelKind::Pose;
        let d = load(&spec, &ImageOptions::default()).unwrap();
        assert_eq!(d.labels.tensor().size(), vec![2, 2]);
        assert_eq!(d.label_range(), Some((-30.0, 90.0)));
    }

    #[test]
    fn bad_rows_and_missing_images_are_named() {
        let (_dir, spec) = fixture("img/a.png,3\nimg/b.png,old\n");
        let err = load(&spec, &ImageOptions::default()).unwrap_err().to_string();
        assert!(err.contains("labels.csv") && err.contains("line 2"), "{err}");
        let (_dir, spec) = fixture("img/a.png,3\nimg/zzz.png,4\n");
        let err = load(&spec, &ImageOptions::default()).unwrap_err().to_string();
        assert!(err.contains("zzz.png"), "{err}");
        let skip = ImageOptions { skip_corrupt: true, ..ImageOptions::default() };
        let d = load(&spec, &skip).unwrap();
        assert_eq!((d.len(), d.report.skipped.len()), (1, 1));
    }
}
