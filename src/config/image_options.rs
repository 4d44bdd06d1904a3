//! How a task's images are decoded: the colour mode of `[model] colour`, the square side and what a
//! corrupt file does (`[dataset] skip_corrupt`).

/// Colour mode of decoded images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// One luminance channel.
    #[default]
    Grey,
    /// Three channels.
    Rgb,
}

impl Colour {
    /// Number of channels C.
    pub fn channels(self) -> usize {
        match self {
            Colour::Grey => 1,
            Colour::Rgb => 3,
        }
    }

    /// `grey` or `rgb`.
    pub fn name(self) -> &'static str {
        match self {
            Colour::Grey => "grey",
            Colour::Rgb => "rgb",
        }
    }
}

/// How images are decoded: square side, colour mode, and what a corrupt file does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageOptions {
    /// Side of the square the image is resized to (pixels).
    pub size: u32,
    /// Grey or RGB.
    pub colour: Colour,
    /// Skip (and count) corrupt files instead of failing on the first.
    pub skip_corrupt: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions { size: 32, colour: Colour::Grey, skip_corrupt: false }
    }
}

impl ImageOptions {
    /// Floats per decoded image (C·size·size).
    pub fn pixels(&self) -> usize {
        self.colour.channels() * (self.size as usize).pow(2)
    }
}
