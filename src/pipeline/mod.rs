//! Whole-snapshot operations, streaming end to end:
//!
//! * [`decode_snapshot`]: snapshot file → container → MVCC view → prefix dispatch to the adapter
//!   decoders → a dump tree published atomically with MANIFEST.json and CHECKSUMS;
//! * [`encode_snapshot`], [`encode_to_file`]: dump tree → adapter encoders → records stamped with one commit ts, sorted by
//!   encoded key under a memory budget (spilling beyond it), duplicates rejected → a bare
//!   EKVPBBL1 stream;
//! * self-test ([`SelfTestMode`], [`diff_subtree`]): decode produced bytes into scratch and compare adapter subtrees;
//! * [`inspect()`]: what a snapshot holds, by layer and family.

pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod inspect;
pub(crate) mod self_test;

pub use decode::{decode_snapshot, Counters, DecodeOptions, DecodeResult, PipelineEvent};
pub use encode::{
    encode_snapshot, encode_snapshot_with_progress, encode_to_file, EncodeFileOptions, EncodeOptions,
    EncodeOutcome, EncodeResult, DEFAULT_SORT_BUDGET,
};
pub use inspect::{
    inspect, FamilyReport, FooterReport, HeaderReport, HlcReport, InspectReport, LargestEntry,
    SstBundleReport, SstTableReport,
};
pub use self_test::{diff_subtree, SelfTestMode, SelfTestOutcome, SubtreeDiff};

use std::path::PathBuf;

use crate::error_kind::ErrorKind;

/// The error of the pipeline layer.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Options that make no sense together (usage).
    #[error("{0}")]
    InvalidOptions(String),
    /// The input path does not exist or cannot be read (usage).
    #[error("{}: {what}", path.display())]
    Input {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being handled, or what is wrong.
        what: String,
    },
    /// `--last-commit-ts` below the manifest's value.
    #[error("last_commit_ts {requested} is below the manifest's last_commit_ts {manifest}: refusing to move time backwards")]
    LastCommitTsRegression {
        /// The timestamp asked for.
        requested: u64,
        /// The manifest's `last_commit_ts`.
        manifest: u64,
    },
    /// An option the selected adapter cannot honour when encoding.
    #[error("{0}")]
    Unsupported(String),
    /// A selected adapter has no scope in MANIFEST.json.
    #[error("adapter {0:?} is selected but MANIFEST.json has no adapters.{0} scope")]
    AdapterNotInManifest(&'static str),
    /// The self-test decode of the produced bytes did not match the input tree.
    #[error("self-test mismatch (see {})", path.display())]
    SelfTestMismatch {
        /// The file or directory concerned.
        path: PathBuf,
    },
    /// MANIFEST.json lists adapters whose data the tree lacks (A23).
    #[error("MANIFEST.json lists adapters present in the snapshot but not decoded ({0}): this tree lacks their data; pass --allow-partial to encode it anyway")]
    PartialDump(String),
    /// The self-test did not match and its report could not be written either.
    #[error("self-test mismatch (the report could not be written: {why}):\n{report}")]
    SelfTestMismatchUnreported {
        /// Why the report could not be written.
        why: String,
        /// The report.
        report: String,
    },
    /// Our own output path cannot be written safely (a symlink, hard link or FIFO where a
    /// file of ours belongs): an environment problem, not bad input.
    #[error("refusing to write {}: {what}", path.display())]
    UnsafeOutput {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being handled, or what is wrong.
        what: String,
    },
    /// I/O on our own output or scratch (usage/environment).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl PipelineError {
    /// Usage or data (exit code 1 or 2).
    pub fn kind(&self) -> ErrorKind {
        match self {
            PipelineError::InvalidOptions(_)
            | PipelineError::Input { .. }
            | PipelineError::UnsafeOutput { .. }
            | PipelineError::Io { .. } => ErrorKind::Usage,
            PipelineError::LastCommitTsRegression { .. }
            | PipelineError::Unsupported(_)
            | PipelineError::AdapterNotInManifest(_)
            | PipelineError::SelfTestMismatch { .. }
            | PipelineError::PartialDump(_)
            | PipelineError::SelfTestMismatchUnreported { .. } => ErrorKind::Data,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> PipelineError {
        PipelineError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Receives progress of a long run (bytes of input consumed, entries seen).
pub trait Progress {
    /// Called periodically (not for every entry) with running totals.
    fn update(&mut self, bytes: u64, entries: u64);

    /// A new phase of a long run began (e.g. `finalizing` after the stream was read).
    fn phase(&mut self, _name: &str) {}
}

/// A progress sink that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&mut self, _bytes: u64, _entries: u64) {}
}
