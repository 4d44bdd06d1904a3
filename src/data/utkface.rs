//! UTKFace: ages parsed from `AGE_GENDER_RACE_DATE.jpg.chip.jpg` names, faces decoded with rayon and resized.
//! Decoded tensors are cached (keyed by directory, file list and sizes, size, colour), so a second load is fast.
//! A name that does not parse is refused, or skipped and counted with `skip_corrupt`, like a corrupt image.
use super::cache::TensorCache;
use super::image::{decode_all, is_listed_file, SKIP_CORRUPT_ADVICE};
use crate::config::ImageOptions;
use crate::data::dataset::{Dataset, LoadReport};
use crate::domain::Labels;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// The fields of a UTKFace file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtkName {
    /// Age in years (0–116 in UTKFace).
    pub age: u32,
    /// 0 = male, 1 = female.
    pub gender: u8,
    /// 0–4: White, Black, Asian, Indian, Others.
    pub race: u8,
}

/// Parse `AGE_GENDER_RACE_DATE.jpg[.chip.jpg]`; `None` when any field breaks the naming rule.
pub fn parse_name(name: &str) -> Option<UtkName> {
    let stem = name.strip_suffix(".jpg.chip.jpg").or_else(|| name.strip_suffix(".jpg"))?;
    let fields: Vec<&str> = stem.split('_').collect();
    let [age, gender, race, date] = fields.as_slice() else { return None };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(age) || !digits(date) || age.len() > 3 {
        return None;
    }
    let name = UtkName { age: age.parse().ok()?, gender: gender.parse().ok()?, race: race.parse().ok()? };
    (name.gender <= 1 && name.race <= 4 && gender.len() == 1 && race.len() == 1).then_some(name)
}

/// The images of a directory whose names parse (sorted by name) and the names that did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// Image paths with their parsed names.
    pub entries: Vec<(PathBuf, UtkName)>,
    /// File names that broke the naming rule.
    pub unparsed: Vec<String>,
}

/// List `dir` (symbolic links followed; a broken one is listed, to be refused or skipped as a corrupt
/// file); a missing directory is an error that says how to provide it.
pub fn list(dir: &Path) -> Result<Listing> {
    let read = std::fs::read_dir(dir).map_err(|e| missing_dir(dir, e))?;
    let mut names = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if is_listed_file(&entry.path())? {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let (mut entries, mut unparsed) = (Vec::new(), Vec::new());
    for name in names {
        match parse_name(&name) {
            Some(parsed) => entries.push((dir.join(&name), parsed)),
            None => unparsed.push(name),
        }
    }
    Ok(Listing { entries, unparsed })
}

/// File names that break the naming rule are refused like corrupt images: an age cannot be guessed.
fn unparsed_names(dir: &Path, unparsed: &[String]) -> Error {
    Error::data(
        dir,
        format!(
            "{} file name(s) do not follow UTKFace's AGE_GENDER_RACE_DATE.jpg[.chip.jpg] naming, e.g. `{}`; \
             rename or remove them, or {SKIP_CORRUPT_ADVICE} to skip and count them (as for corrupt images)",
            unparsed.len(),
            unparsed[0]
        ),
    )
}

fn missing_dir(dir: &Path, e: std::io::Error) -> Error {
    Error::data(
        dir,
        format!(
            "cannot read the UTKFace directory ({e}); UTKFace is not on a registry: put its images there, \
             or point `--data-dir` / env DLDL_DATA at the folder that holds `utkface/`"
        ),
    )
}

/// What the cache stores next to the tensors.
#[derive(serde::Serialize, serde::Deserialize)]
struct CacheMeta {
    files: Vec<String>,
    report: LoadReport,
}

/// Load UTKFace from `dir`: `[N, C, size, size]` faces and `[N]` ages, through the cache.
pub fn load(dir: &Path, options: &ImageOptions, cache: &TensorCache) -> Result<Dataset> {
    let listing = list(dir)?;
    if listing.entries.is_empty() {
        return Err(Error::data(
            dir,
            format!("no UTKFace-named images ({} other files)", listing.unparsed.len()),
        ));
    }
    if !listing.unparsed.is_empty() && !options.skip_corrupt {
        return Err(unparsed_names(dir, &listing.unparsed));
    }
    let key = cache_key(dir, &listing, options)?;
    let name = format!("utkface-{}{}", options.size, options.colour.name());
    let (inputs, ages, meta) = match cache.load::<CacheMeta>(&name, &key) {
        Some(mut entry) => (entry.take("inputs")?, entry.take("ages")?, entry.meta),
        None => decode_and_store(&listing, options, cache, (&name, &key))?,
    };
    let source = format!("{} ({} files)", dir.display(), meta.files.len());
    Dataset::new("utkface", inputs, Labels::Ordinal(ages), source)?
        .with_report(meta.report)
        .with_files(meta.files)
}

fn cache_key(dir: &Path, listing: &Listing, options: &ImageOptions) -> Result<String> {
    let canonical = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let mut parts = vec![
        canonical.display().to_string(),
        format!("{}:{}:{}", options.size, options.colour.name(), options.skip_corrupt),
    ];
    for (path, _) in &listing.entries {
        // A broken link has no size; decoding refuses or skips it.
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        parts.push(format!("{}:{bytes}", path.file_name().unwrap_or_default().to_string_lossy()));
    }
    parts.extend(listing.unparsed.iter().cloned());
    Ok(TensorCache::key(&parts))
}

fn decode_and_store(
    listing: &Listing,
    options: &ImageOptions,
    cache: &TensorCache,
    (name, key): (&str, &str),
) -> Result<(Tensor, Tensor, CacheMeta)> {
    let files: Vec<PathBuf> = listing.entries.iter().map(|(p, _)| p.clone()).collect();
    let decoded = decode_all(&files, options)?;
    let ages: Vec<f32> = decoded.kept.iter().map(|&i| listing.entries[i].1.age as f32).collect();
    let ages = Tensor::from_slice(&ages);
    let kept = decoded.kept.iter().map(|&i| listing.entries[i].0.display().to_string()).collect();
    let meta = CacheMeta {
        files: kept,
        report: LoadReport { unparsed: listing.unparsed.clone(), skipped: decoded.skipped },
    };
    cache.store(name, key, &[("inputs", &decoded.inputs), ("ages", &ages)], &meta)?;
    Ok((decoded.inputs, ages, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utkface_names() {
        assert_eq!(
            parse_name("26_1_2_20170116174525125.jpg.chip.jpg"),
            Some(UtkName { age: 26, gender: 1, race: 2 })
        );
        assert_eq!(parse_name("100_0_0_20170112213303693.jpg.chip.jpg").map(|n| n.age), Some(100));
        assert_eq!(parse_name("1_0_4_2016.jpg").map(|n| n.race), Some(4));
        for bad in [
            "39_1_20170116174525125.jpg.chip.jpg",
            "a_1_2_3.jpg.chip.jpg",
            "26_2_2_1.jpg.chip.jpg",
            "26_1_5_1.jpg",
            "26_1_2_1.png",
            "README",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn loads_fixture_through_cache_and_reports_unparsed() {
        let dir = tempfile::tempdir().unwrap();
        let faces = dir.path().join("utk");
        std::fs::create_dir(&faces).unwrap();
        for (i, age) in [3u32, 45, 80].iter().enumerate() {
            let img = ::image::RgbImage::from_pixel(20, 20, ::image::Rgb([(i * 100) as u8, 50, 50]));
            img.save(faces.join(format!("{age}_0_1_2017010{i}.jpg.chip.jpg"))).unwrap();
        }
        std::fs::write(faces.join("notes.txt"), b"x").unwrap();
        let cache = TensorCache::new(dir.path().join("cache"));
        let strict = ImageOptions { size: 8, ..ImageOptions::default() };
        let refused = load(&faces, &strict, &cache).unwrap_err().to_string();
        assert!(
            refused.contains("1 file name(s) do not follow")
                && refused.contains("`notes.txt`")
                && refused.contains("skip_corrupt"),
            "{refused}"
        );
        let options = ImageOptions { size: 8, skip_corrupt: true, ..ImageOptions::default() };
        let first = load(&faces, &options, &cache).unwrap();
        assert_eq!(first.inputs.size(), vec![3, 1, 8, 8]);
        assert_eq!(first.report.unparsed, vec!["notes.txt".to_string()]);
        assert_eq!(first.label_range(), Some((3.0, 80.0)));
        let second = load(&faces, &options, &cache).unwrap();
        assert!(second.inputs.equal(&first.inputs));
        assert_eq!(second.report, first.report);
        let missing = load(&dir.path().join("nope"), &options, &cache).unwrap_err().to_string();
        assert!(missing.contains("nope") && missing.contains("DLDL_DATA"), "{missing}");
    }
}
