//! Decoding one image file into a resized f32 CHW buffer, and decoding many in parallel with rayon.
//! Corrupt files are an error naming the file, or a counted skip when `skip_corrupt` is set.
use crate::config::{Colour, ImageOptions};
use crate::error::{Error, Result};
use ::image::imageops::FilterType;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// How a refused corrupt file or unparsable name can be skipped instead, in a task file. A command
/// with its own flag for it says so instead (`eval --skip-corrupt`).
pub const SKIP_CORRUPT_ADVICE: &str = "set `skip_corrupt = true` in the task's [dataset]";

/// Whether a directory entry at `path` is a file to load: a file, or a symbolic link to one
/// (links are followed), or a broken link, kept so that decoding refuses it as a corrupt file
/// (or skips and counts it with `skip_corrupt`). Directories, and links to them, are not.
pub fn is_listed_file(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.is_file()),
        Err(_) if is_broken_link(path) => Ok(true),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn is_broken_link(path: &Path) -> bool {
    path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) && std::fs::metadata(path).is_err()
}

/// Why `path` cannot be decoded: a broken symbolic link (and its target), or the decoder's error.
fn decode_failure(path: &Path, e: ::image::ImageError) -> Error {
    if is_broken_link(path) {
        let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
        return Error::data(path, format!("broken symbolic link (its target {target} does not exist)"));
    }
    Error::data(path, format!("cannot decode image: {e}"))
}

/// Decode `path`, resize it to `size × size` (triangle filter, antialiased) and return CHW floats in [0, 1].
pub fn decode_file(path: &Path, options: &ImageOptions) -> Result<Vec<f32>> {
    let img = ::image::open(path).map_err(|e| decode_failure(path, e))?;
    let side = options.size;
    let floats = match options.colour {
        Colour::Grey => {
            let grey = ::image::imageops::resize(&img.to_luma8(), side, side, FilterType::Triangle);
            grey.into_raw().into_iter().map(|v| v as f32 / 255.0).collect()
        }
        Colour::Rgb => hwc_to_chw(
            &::image::imageops::resize(&img.to_rgb8(), side, side, FilterType::Triangle).into_raw(),
            3,
        ),
    };
    Ok(floats)
}

/// Interleaved HWC bytes to planar CHW floats in [0, 1].
fn hwc_to_chw(raw: &[u8], channels: usize) -> Vec<f32> {
    let plane = raw.len() / channels;
    let mut out = vec![0f32; raw.len()];
    for (i, v) in raw.iter().enumerate() {
        out[(i % channels) * plane + i / channels] = *v as f32 / 255.0;
    }
    out
}

/// Images decoded in parallel: `[N, C, H, W]` inputs, which of the files were kept, and the skips.
pub struct Decoded {
    /// `[N, C, size, size]` f32 in [0, 1].
    pub inputs: Tensor,
    /// For each row of `inputs`, the index into the file list it came from.
    pub kept: Vec<usize>,
    /// `file: reason` for each skipped corrupt file.
    pub skipped: Vec<String>,
}

/// Decode every file with rayon; the first corrupt file is an error unless `skip_corrupt`.
pub fn decode_all(files: &[PathBuf], options: &ImageOptions) -> Result<Decoded> {
    let results: Vec<Result<Vec<f32>>> = files.par_iter().map(|f| decode_file(f, options)).collect();
    let mut data = Vec::with_capacity(files.len() * options.pixels());
    let (mut kept, mut skipped) = (Vec::new(), Vec::new());
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(pixels) => {
                data.extend_from_slice(&pixels);
                kept.push(i);
            }
            Err(e) if options.skip_corrupt => skipped.push(e.to_string()),
            Err(Error::Data { path, reason }) => {
                let advice = format!(
                    "{reason}; remove the file, or {SKIP_CORRUPT_ADVICE} to skip and count corrupt files"
                );
                return Err(Error::data(path, advice));
            }
            Err(e) => return Err(e),
        }
    }
    let side = options.size as i64;
    let inputs =
        Tensor::from_slice(&data).view([kept.len() as i64, options.colour.channels() as i64, side, side]);
    Ok(Decoded { inputs, kept, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_resizes_grey_and_rgb() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        let img = ::image::RgbImage::from_fn(8, 8, |x, _| {
            if x < 4 {
                ::image::Rgb([255, 0, 0])
            } else {
                ::image::Rgb([0, 0, 255])
            }
        });
        img.save(&path).unwrap();
        let rgb =
            decode_file(&path, &ImageOptions { size: 4, colour: Colour::Rgb, skip_corrupt: false }).unwrap();
        assert_eq!(rgb.len(), 48);
        assert!((rgb[0] - 1.0).abs() < 1e-6 && rgb[16] == 0.0 && (rgb[32 + 3] - 1.0).abs() < 1e-6);
        let grey =
            decode_file(&path, &ImageOptions { size: 4, colour: Colour::Grey, skip_corrupt: false }).unwrap();
        assert_eq!(grey.len(), 16);
        assert!(grey.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn corrupt_file_is_named_or_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.png");
        ::image::GrayImage::from_pixel(4, 4, ::image::Luma([128])).save(&good).unwrap();
        let bad = dir.path().join("bad.jpg");
        std::fs::write(&bad, b"not a jpeg").unwrap();
        let files = vec![good, bad.clone()];
        let err = decode_all(&files, &ImageOptions::default()).err().unwrap().to_string();
        assert!(err.contains("bad.jpg"), "{err}");
        let opts = ImageOptions { skip_corrupt: true, ..ImageOptions::default() };
        let d = decode_all(&files, &opts).unwrap();
        assert_eq!((d.kept.clone(), d.skipped.len()), (vec![0], 1));
        assert_eq!(d.inputs.size(), vec![1, 1, 32, 32]);
    }
}
