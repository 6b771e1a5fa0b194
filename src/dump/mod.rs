//! The dump tree format, adapter-agnostic (s3_tree_pipeline.md §5–§9):
//!
//! * file-name segments ([`encode_segment`], [`decode_segment`]): raw keys as file names (§5);
//! * [`json`]: the one Go-compatible JSON writer and its styles; `gofields` reads fields of
//!   parsed JSON leniently, as Go's `encoding/json` does;
//! * safe file I/O (atomic write, no-follow opens, path and link checks), crate-internal;
//! * [`DumpTree`]: a tree being written in a staging directory, hashed as written (large
//!   files on a thread of their own, `hasher`),
//!   published atomically with MANIFEST.json and CHECKSUMS; [`TreeOut`] is the seam the
//!   adapter decoders write through ([`MemTree`] in memory);
//! * the tree's metadata files: [`KeyMap`] (`KEYMAP.jsonl`), [`Manifest`] (`MANIFEST.json`),
//!   `CHECKSUMS` ([`TreeReader`], [`verify_checksums`]) and [`EncodeInfo`] (the encoder's
//!   sidecar).

pub(crate) mod checksums;
pub(crate) mod encode_info;
pub(crate) mod filename;
pub(crate) mod fs;
pub(crate) mod gofields;
pub(crate) mod hasher;
pub mod json;
pub(crate) mod keymap;
mod lines;
pub(crate) mod manifest;
mod out;
pub(crate) mod tree;
pub(crate) mod walk;

pub use checksums::{verify as verify_checksums, RangeCheck, StreamedInput, TreeReader, Verification};
pub use encode_info::{EncodeInfo, SelfTest};
pub use filename::{decode_segment, encode_segment, Segment};
pub use fs::FileStamp;
pub use keymap::{load as load_keymap, KeyMap, KeyMapRecordError, KIND_SHA_FALLBACK};
pub use manifest::{AdapterScope, Adapters, Exclusions, Live, Manifest};
pub use out::{first_error, MemTree, OutFile, TreeOut};
pub use tree::{DumpTree, PublishStats, Staged, TreeFile, TreeOptions};

use std::path::PathBuf;

use crate::error_kind::ErrorKind;

/// The error of the dump layer. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// A metadata file (MANIFEST.json, KEYMAP.jsonl, CHECKSUMS, ENCODE_INFO) is malformed.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being handled, or what is wrong.
        what: String,
    },
    /// MANIFEST.json or ENCODE_INFO carries a format_version this toolkit does not read.
    #[error("{}: unsupported format_version {version}", path.display())]
    UnsupportedVersion {
        /// The file or directory concerned.
        path: PathBuf,
        /// The version found.
        version: u64,
    },
    /// A file name that is not a valid encoded segment.
    #[error("invalid encoded segment {segment:?}: {what}")]
    Segment {
        /// The segment concerned.
        segment: String,
        /// What was being handled, or what is wrong.
        what: String,
    },
    /// A KEYMAP.jsonl line that is not a valid record.
    #[error("{}: line {line}: invalid KEYMAP record: {source}", path.display())]
    Keymap {
        /// The KEYMAP.jsonl file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// What is wrong with the line.
        source: keymap::KeyMapRecordError,
    },
    /// A SHA-fallback segment with no KEYMAP.jsonl record.
    #[error("{}: segment {segment:?} is a SHA-256 fallback name and has no KEYMAP.jsonl record", path.display())]
    MissingKeymap {
        /// The file or directory concerned.
        path: PathBuf,
        /// The segment concerned.
        segment: String,
    },
    /// Refused for safety: a symlink, hard link, FIFO, or a path escaping the root.
    #[error("{}: refused: {what}", path.display())]
    Unsafe {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being handled, or what is wrong.
        what: String,
    },
    /// A CHECKSUMS verification failure.
    #[error("{}: checksum mismatch ({what})", path.display())]
    Checksum {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being handled, or what is wrong.
        what: String,
    },
    /// The output path cannot be used (it exists and is not an empty directory, or has no
    /// file name): a usage error.
    #[error("{}: cannot write the dump here: {what}", path.display())]
    Output {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being handled, or what is wrong.
        what: String,
    },
    /// Another run holds the lock of this output (`<output>.lock`): an environment error.
    #[error("{}: another run (pid {holder}) is writing this output; it holds the lock {}", output.display(), lock.display())]
    Locked {
        /// The output the lock guards.
        output: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The pid written by the holder.
        holder: String,
    },
    /// An input file larger than the format allows, refused from its `fstat` size before
    /// any byte is read.
    #[error("{}: {len} bytes, larger than the {max} bytes the format allows for this file", path.display())]
    TooLarge {
        /// The file concerned.
        path: PathBuf,
        /// Its size.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// An input file changed after it was read and checked, before it was read again
    /// (the tree was modified during the run).
    #[error("{}: changed while the tree was being read (size, times or inode differ from when it was read and checked); run again", path.display())]
    Changed {
        /// The file concerned.
        path: PathBuf,
    },
    /// I/O on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl DumpError {
    /// Usage or data (exit code 1 or 2).
    pub fn kind(&self) -> ErrorKind {
        match self {
            DumpError::Io { .. }
            | DumpError::Output { .. }
            | DumpError::Locked { .. }
            | DumpError::Changed { .. } => ErrorKind::Usage,
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
