//! The dump tree format, adapter-agnostic (s3_tree_pipeline.md §5–§9):
//!
//! * [`filename`]: segment encoding of raw keys into file names (§5);
//! * [`json`]: the one Go-compatible JSON writer, its styles, and the lenient reader helpers;
//! * [`fs`]: safe file I/O (atomic write, no-follow opens, path and link checks);
//! * [`tree`]: [`DumpTree`], a tree being written in a staging directory, hashed as written,
//!   published atomically with MANIFEST.json and CHECKSUMS;
//! * [`keymap`], [`manifest`], [`checksums`], [`encode_info`]: the tree's metadata files.

pub mod checksums;
pub mod encode_info;
pub mod filename;
pub mod fs;
pub(crate) mod gofields;
pub mod json;
pub mod keymap;
mod lines;
pub mod manifest;
mod out;
pub mod tree;
pub mod walk;

pub use out::{MemTree, OutFile, TreeOut};
pub use tree::DumpTree;

use std::path::PathBuf;

use crate::error_kind::ErrorKind;

/// The error of the dump layer. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// A metadata file (MANIFEST.json, KEYMAP.jsonl, CHECKSUMS, ENCODE_INFO) is malformed.
    #[error("{}: {what}", path.display())]
    Invalid { path: PathBuf, what: String },
    /// MANIFEST.json or ENCODE_INFO carries a format_version this toolkit does not read.
    #[error("{}: unsupported format_version {version}", path.display())]
    UnsupportedVersion { path: PathBuf, version: u64 },
    /// A file name that is not a valid encoded segment.
    #[error("invalid encoded segment {segment:?}: {what}")]
    Segment { segment: String, what: String },
    /// A SHA-fallback segment with no KEYMAP.jsonl record.
    #[error("{}: segment {segment:?} is a SHA-256 fallback name and has no KEYMAP.jsonl record", path.display())]
    MissingKeymap { path: PathBuf, segment: String },
    /// Refused for safety: a symlink, hard link, FIFO, or a path escaping the root.
    #[error("{}: refused: {what}", path.display())]
    Unsafe { path: PathBuf, what: String },
    /// A CHECKSUMS verification failure.
    #[error("{}: checksum mismatch ({what})", path.display())]
    Checksum { path: PathBuf, what: String },
    /// The output path cannot be used (it exists and is not an empty directory, or has no
    /// file name): a usage error.
    #[error("{}: cannot write the dump here: {what}", path.display())]
    Output { path: PathBuf, what: String },
    /// I/O on a named file.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl DumpError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DumpError::Io { .. } | DumpError::Output { .. } => ErrorKind::Usage,
            _ => ErrorKind::Data,
        }
    }

    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> DumpError {
        DumpError::Io {
            path: path.into(),
            source,
        }
    }

    /// A refusal for safety ([`DumpError::Unsafe`]).
    pub fn unsafe_path(path: impl Into<PathBuf>, what: impl Into<String>) -> DumpError {
        DumpError::Unsafe {
            path: path.into(),
            what: what.into(),
        }
    }

    /// A malformed metadata file ([`DumpError::Invalid`]).
    pub fn invalid(path: impl Into<PathBuf>, what: impl Into<String>) -> DumpError {
        DumpError::Invalid {
            path: path.into(),
            what: what.into(),
        }
    }
}
