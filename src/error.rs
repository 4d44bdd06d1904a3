//! The library's one error type.
//! Every variant says what was wrong, where, and which rule it broke, so the CLI can print it as is.
use std::fmt::Display;
use std::path::PathBuf;

/// Everything that can go wrong inside `dldl_meta`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A distribution parameter φ, a domain setting or a CLI value broke its rule.
    #[error("invalid {name} = {value}: {rule}")]
    InvalidParameter { name: String, value: String, rule: String },
    /// Tensors whose shapes do not fit together.
    #[error("shape mismatch in {context}: {detail}")]
    Shape { context: String, detail: String },
    /// A field of a config file (task or study TOML) broke its rule.
    #[error("{file}: field `{field}`: {rule}")]
    Config { file: PathBuf, field: String, rule: String },
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Data that is missing, malformed or cannot be decoded.
    #[error("{path}: {reason}")]
    Data { path: PathBuf, reason: String },
    /// An error reported by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A parameter `name` with `value` that breaks `rule`.
    pub fn invalid(name: impl Into<String>, value: impl Display, rule: impl Into<String>) -> Self {
        Error::InvalidParameter { name: name.into(), value: value.to_string(), rule: rule.into() }
    }

    /// Two tensors (or a tensor and a domain) whose shapes disagree.
    pub fn shape(context: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Shape { context: context.into(), detail: detail.into() }
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// Data at `path` that cannot be used, and why.
    pub fn data(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Data { path: path.into(), reason: reason.into() }
    }

    /// A config `field` of `file` that breaks `rule`.
    pub fn config(file: impl Into<PathBuf>, field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Config { file: file.into(), field: field.into(), rule: rule.into() }
    }
}
