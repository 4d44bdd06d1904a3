//! Pointing'04 head poses: tilt and pan parsed from `personnePPSNN±TILT±PAN.jpg` names.
//! The folder may hold the images directly or in one level of `PersonPP/` subfolders; the person is the group.
use super::image::{decode_all, is_listed_file};
use crate::config::ImageOptions;
use crate::data::dataset::{Dataset, LoadReport};
use crate::domain::Labels;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// The fields of a Pointing'04 file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoseName {
    /// Person number (1–15).
    pub person: u32,
    /// Series (1 or 2).
    pub series: u32,
    /// Vertical angle in degrees (−90…90).
    pub tilt: i32,
    /// Horizontal angle in degrees (−90…90).
    pub pan: i32,
}

/// Parse `personne01146-30+15.jpg`; `None` when the name breaks that rule.
pub fn parse_name(name: &str) -> Option<PoseName> {
    let rest = name.strip_prefix("personne")?.strip_suffix(".jpg")?;
    let digits = rest.get(..5).filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
    let angles = &rest[5..];
    let split = angles.get(1..)?.find(['+', '-'])? + 1;
    let (tilt, pan) = (signed(&angles[..split])?, signed(&angles[split..])?);
    let person = digits[..2].parse().ok()?;
    let series = digits[2..3].parse().ok()?;
    (tilt.abs() <= 90 && pan.abs() <= 90).then_some(PoseName { person, series, tilt, pan })
}

fn signed(text: &str) -> Option<i32> {
    let (sign, digits) = text.split_at_checked(1)?;
    if !matches!(sign, "+" | "-") || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i32 = digits.parse().ok()?;
    Some(if sign == "-" { -value } else { value })
}

/// Image files of `dir` and of its immediate subfolders (links followed), sorted by path.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .map_err(|e| Error::data(dir, format!("cannot read the Pointing'04 folder: {e}")))?
    {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).map_err(|e| Error::io(&path, e))? {
                files.push(inner.map_err(|e| Error::io(&path, e))?.path());
            }
        } else {
            files.push(path);
        }
    }
    // Symbolic links followed; a broken one stays, to be refused or skipped as a corrupt file.
    let mut listed = Vec::with_capacity(files.len());
    for file in files {
        if is_listed_file(&file)? {
            listed.push(file);
        }
    }
    listed.sort();
    Ok(listed)
}

/// Load the poses: `[N, C, size, size]` heads, `[N, 2]` (tilt, pan) labels, the person as group.
pub fn load(dir: &Path, options: &ImageOptions) -> Result<Dataset> {
    let (mut parsed, mut unparsed) = (Vec::new(), Vec::new());
    for path in image_files(dir)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        match parse_name(&name) {
            Some(pose) => parsed.push((path, pose)),
            None => unparsed.push(name),
        }
    }
    if parsed.is_empty() {
        return Err(Error::data(
            dir,
            format!("no Pointing'04-named images ({} other files)", unparsed.len()),
        ));
    }
    let files: Vec<PathBuf> = parsed.iter().map(|(p, _)| p.clone()).collect();
    let decoded = decode_all(&files, options)?;
    let poses: Vec<f32> =
        decoded.kept.iter().flat_map(|&i| [parsed[i].1.tilt as f32, parsed[i].1.pan as f32]).collect();
    let groups = decoded.kept.iter().map(|&i| parsed[i].1.person as i64).collect();
    let report = LoadReport { unparsed, skipped: decoded.skipped };
    let labels = Labels::Pose(Tensor::from_slice(&poses).view([-1, 2]));
    Ok(Dataset::new("pointing04", decoded.inputs, labels, dir.display().to_string())?
        .with_groups(groups)?
        .with_report(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!(
            parse_name("personne01146-30+15.jpg"),
            Some(PoseName { person: 1, series: 1, tilt: -30, pan: 15 })
        );
        assert_eq!(
            parse_name("personne15200+0-90.jpg"),
            Some(PoseName { person: 15, series: 2, tilt: 0, pan: -90 })
        );
        assert_eq!(parse_name("personne02100-90+0.jpg").map(|p| p.tilt), Some(-90));
        for bad in [
            "personne0114-30+15.jpg",
            "personne01146-30.jpg",
            "personne01146-30+15.png",
            "person01146+0+0.jpg",
            "personne01146+0+95.jpg",
            "personne01146+0+.jpg",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn loads_subfolders_with_person_groups() {
        let dir = tempfile::tempdir().unwrap();
        for (person, name) in
            [(1, "personne01146-30+15.jpg"), (1, "personne01147+0+0.jpg"), (2, "personne02100+60-45.jpg")]
        {
            let sub = dir.path().join(format!("Person{person:02}"));
            std::fs::create_dir_all(&sub).unwrap();
            ::image::RgbImage::from_pixel(38, 28, ::image::Rgb([10, 20, 30])).save(sub.join(name)).unwrap();
        }
        std::fs::write(dir.path().join("Person01/Front.txt"), b"x").unwrap();
        let d = load(dir.path(), &ImageOptions { size: 16, ..ImageOptions::default() }).unwrap();
        assert_eq!(d.inputs.size(), vec![3, 1, 16, 16]);
        assert_eq!(
            Vec::<f32>::try_from(d.labels.tensor().view([-1])).unwrap(),
            vec![-30., 15., 0., 0., 60., -45.]
        );
        assert_eq!(d.groups, Some(vec![1, 1, 2]));
        assert_eq!(d.report.unparsed, vec!["Front.txt".to_string()]);
    }
}
