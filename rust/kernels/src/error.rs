//! Per-file errors that always carry the file's name, so a bad image in a dataset of thousands
//! can be found and removed.

use std::fmt;

/// Why an image could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read (missing, permission denied, ...).
    Io,
    /// The file has no bytes.
    Empty,
    /// The bytes are not a format we recognise.
    NotAnImage,
    /// The bytes start like an image but are truncated or corrupt.
    Corrupt,
    /// The declared dimensions exceed the pixel limit (a decompression bomb, or simply too big).
    TooLarge,
}

impl ErrorKind {
    /// A short stable name, used as the reason in skip reports.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Empty => "empty",
            ErrorKind::NotAnImage => "not-an-image",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::TooLarge => "too-large",
        }
    }
}

/// A failure without the file name; decoders return this and callers attach the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// A failure attached to the file (or archive member) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageError {
    pub path: String,
    pub kind: ErrorKind,
    pub message: String,
}

impl ImageError {
    pub fn new(path: impl Into<String>, failure: Failure) -> Self {
        ImageError {
            path: path.into(),
            kind: failure.kind,
            message: failure.message,
        }
    }

    /// The reason without the path, as reported for skipped files.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.kind.name(), self.message)
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.kind.name())
    }
}

impl std::error::Error for ImageError {}
