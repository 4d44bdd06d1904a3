//! PASCAL VOC segmentation: `SegmentationClass/*.png` masks (palette or grey indices, 255 = void) with their images.
//! Masks are read as raw indices (no palette expansion) and resized by nearest neighbour.
use super::image::decode_all;
use crate::config::ImageOptions;
use crate::data::dataset::{Dataset, LoadReport};
use crate::domain::Labels;
use crate::error::{Error, Result};
use crate::label::VOID;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// A class-index mask: `width × height` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Class index per pixel (255 = void).
    pub indices: Vec<u8>,
}

/// Read an 8-bit palette or grey PNG as class indices.
pub fn read_mask(path: &Path) -> Result<Mask> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let bad = |e: png::DecodingError| Error::data(path, format!("cannot decode PNG mask: {e}"));
    let mut reader = decoder.read_info().map_err(bad)?;
    let info = reader.info();
    let (color, depth) = (info.color_type, info.bit_depth);
    if !matches!(color, png::ColorType::Indexed | png::ColorType::Grayscale) || depth != png::BitDepth::Eight
    {
        return Err(Error::data(
            path,
            format!("a mask must be an 8-bit palette or grey PNG, got {color:?} {depth:?}"),
        ));
    }
    let size = reader.output_buffer_size().ok_or_else(|| Error::data(path, "mask too large"))?;
    let mut buf = vec![0u8; size];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    buf.truncate(frame.buffer_size());
    Ok(Mask { width: frame.width, height: frame.height, indices: buf })
}

/// Nearest-neighbour resize of a mask to `side × side` class indices.
pub fn resize_nearest(mask: &Mask, side: u32) -> Vec<i64> {
    let (w, h, s) = (mask.width as usize, mask.height as usize, side as usize);
    let mut out = Vec::with_capacity(s * s);
    for y in 0..s {
        let sy = ((y as f64 + 0.5) * h as f64 / s as f64) as usize;
        for x in 0..s {
            let sx = ((x as f64 + 0.5) * w as f64 / s as f64) as usize;
            out.push(mask.indices[sy.min(h - 1) * w + sx.min(w - 1)] as i64);
        }
    }
    out
}

/// Mask files under `root/SegmentationClass`, sorted.
fn mask_files(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("SegmentationClass");
    let read =
        std::fs::read_dir(&dir).map_err(|e| Error::data(&dir, format!("cannot read VOC masks: {e}")))?;
    let mut files = Vec::new();
    for entry in read {
        let path = entry.map_err(|e| Error::io(&dir, e))?.path();
        if path.extension().is_some_and(|e| e == "png") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A resized mask whose indices are checked against `classes` (index < classes or 255).
fn checked_mask(path: &Path, side: u32, classes: usize) -> Result<Vec<i64>> {
    let indices = resize_nearest(&read_mask(path)?, side);
    match indices.iter().find(|&&v| v != VOID && v >= classes as i64) {
        Some(v) => {
            Err(Error::data(path, format!("class index {v} is neither < {classes} classes nor 255 (void)")))
        }
        None => Ok(indices),
    }
}

/// Load `root/SegmentationClass/*.png` with `root/JPEGImages/<id>.jpg`: images and `[N, size, size]` class maps.
pub fn load(root: &Path, classes: usize, options: &ImageOptions) -> Result<Dataset> {
    let masks = mask_files(root)?;
    if masks.is_empty() {
        return Err(Error::data(root.join("SegmentationClass"), "no .png masks"));
    }
    let images: Vec<PathBuf> = masks
        .iter()
        .map(|m| root.join("JPEGImages").join(m.with_extension("jpg").file_name().unwrap_or_default()))
        .collect();
    let decoded = decode_all(&images, options)?;
    let mut maps = Vec::with_capacity(decoded.kept.len() * (options.size as usize).pow(2));
    for &i in &decoded.kept {
        maps.extend(checked_mask(&masks[i], options.size, classes)?);
    }
    let side = options.size as i64;
    let labels = Labels::Segmentation(Tensor::from_slice(&maps).view([-1, side, side]));
    let report = LoadReport { unparsed: Vec::new(), skipped: decoded.skipped };
    Ok(Dataset::new("voc-segmentation", decoded.inputs, labels, root.display().to_string())?
        .with_report(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_palette_png(path: &Path, w: u32, h: u32, indices: &[u8]) {
        let file = std::fs::File::create(path).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        let mut palette = vec![0u8; 256 * 3];
        palette[3..6].copy_from_slice(&[128, 0, 0]);
        palette[255 * 3..].copy_from_slice(&[224, 224, 192]);
        enc.set_palette(palette);
        enc.write_header().unwrap().write_image_data(indices).unwrap();
    }

    #[test]
    fn palette_masks_keep_indices_and_void() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("SegmentationClass")).unwrap();
        std::fs::create_dir_all(root.join("JPEGImages")).unwrap();
        // 4x4: left half background, right half class 1, a void column between.
        let mask: Vec<u8> = (0..16)
            .map(|i| match i % 4 {
                0 | 1 => 0,
                2 => 255,
                _ => 1,
            })
            .collect();
        write_palette_png(&root.join("SegmentationClass/a.png"), 4, 4, &mask);
        ::image::RgbImage::from_pixel(4, 4, ::image::Rgb([9, 9, 9]))
            .save(root.join("JPEGImages/a.jpg"))
            .unwrap();
        let options = ImageOptions { size: 4, ..ImageOptions::default() };
        let d = load(root, 2, &options).unwrap();
        assert_eq!(d.labels.tensor().size(), vec![1, 4, 4]);
        assert_eq!(Vec::<i64>::try_from(d.labels.tensor().view([-1])).unwrap()[..4], [0, 0, 255, 1]);
        let err = load(root, 1, &options).unwrap_err().to_string();
        assert!(err.contains("a.png") && err.contains("class index 1"), "{err}");
    }

    #[test]
    fn resize_nearest_halves() {
        let mask = Mask { width: 4, height: 2, indices: vec![1, 1, 2, 2, 3, 3, 4, 4] };
        assert_eq!(resize_nearest(&mask, 2), vec![1, 2, 3, 4]);
    }
}
