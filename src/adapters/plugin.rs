//! What an adapter implements and what it is handed: the [`Decoder`] and [`Encoder`] traits,
//! the [`Record`] a decoder receives, the [`RecordSink`] an encoder feeds, the contexts they
//! are built with, [`Warning`]s, and [`AdapterError`], the one error type of this layer.

use std::path::{Path, PathBuf};

use crate::dump::checksums::TreeReader;
use crate::dump::{DumpError, TreeOut};
use crate::error_kind::ErrorKind;

/// One live record handed to a decoder: the newest version of a user key (DECISIONS.md D1).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The user key (MVCC suffix removed), including the adapter prefix.
    pub user_key: &'a [u8],
    /// The value body (MVCC value header removed).
    pub value: &'a [u8],
    /// The version's commit timestamp (full HLC).
    pub commit_ts: u64,
    /// The value header's `expireAt` (HLC; 0 = none). Adapters keep TTLs in their values.
    pub expire_at: u64,
    /// The handler tag of the route that matched (the adapter's own `keys.rs` enum).
    pub tag: u8,
    /// Length of the matched prefix: `user_key[prefix_len..]` is what follows it.
    pub prefix_len: usize,
}

impl<'a> Record<'a> {
    /// The user key after the matched route prefix.
    pub fn rest(&self) -> &'a [u8] {
        self.user_key.get(self.prefix_len..).unwrap_or_default()
    }

    /// A record for `user_key` routed through the registry's table (tests and tools; the
    /// pipeline routes with a `Router`). `None` when no adapter owns the key.
    pub fn routed(user_key: &'a [u8], value: &'a [u8]) -> Option<Record<'a>> {
        let e = super::route(user_key)?;
        e.adapter?;
        Some(Record {
            user_key,
            value,
            commit_ts: 0,
            expire_at: 0,
            tag: e.route.tag,
            prefix_len: e.route.prefix.len(),
        })
    }
}

/// A kind of warning an adapter raises: each adapter names its own in an enum, spelled as
/// the Go decoder's log events (s3_tree_pipeline.md §10.5).
pub trait Event: Copy {
    /// The event name, as Go logs it.
    fn name(self) -> &'static str;
}

/// A warning raised while decoding: the event name and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The event name ([`Event::name`]).
    pub event: &'static str,
    /// The event's fields, in log order.
    pub fields: Vec<(&'static str, String)>,
}

impl Warning {
    /// A warning of `event` with its fields.
    pub fn new(event: impl Event, fields: Vec<(&'static str, String)>) -> Warning {
        Warning {
            event: event.name(),
            fields,
        }
    }
}

/// Where a decoder puts warnings.
pub type Warnings = Vec<Warning>;

/// What every decoder is built with.
#[derive(Debug, Clone)]
pub struct DecodeContext {
    /// Scratch space for sorts that spill (never inside the output tree, D9).
    pub scratch_dir: PathBuf,
}

/// What every encoder is built with.
#[derive(Debug, Clone)]
pub struct EncodeContext {
    /// Worker threads reading and parsing files (at least 1).
    pub threads: usize,
    /// Scratch space for sorts that spill.
    pub scratch_dir: PathBuf,
    /// How the adapter reads the tree's files: size-checked from `fstat` and verified
    /// against CHECKSUMS as they are read (D15). Every file read goes through it.
    pub reader: TreeReader,
}

/// How the encoder's self-test compares a file of an adapter's subtree with the file the
/// decoder writes back for it (DECISIONS.md D13). Each adapter says it for its own paths
/// (`compare_rule` in its `mod.rs`); the pipeline only applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareRule {
    /// Byte for byte (blobs; any file the adapter reads as bytes).
    Bytes,
    /// One JSON value, compared by parsed value (member order, whitespace and escapes
    /// carry no meaning).
    Json,
    /// A sequence of JSON values whose order carries no meaning, compared as a multiset of
    /// parsed values.
    JsonlSet,
}

/// Records → tree, for one adapter. The pipeline calls `handle` for each live record routed
/// to the adapter (in stream order) and `finalize` exactly once at the end, also after an
/// error. All output goes through the [`TreeOut`], under the adapter's own top directory.
pub trait Decoder {
    /// Take one record.
    fn handle(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
        record: &Record<'_>,
    ) -> Result<(), AdapterError>;

    /// Write whatever waited for the end of the stream.
    fn finalize(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings) -> Result<(), AdapterError>;

    /// Finish the work on the records taken so far and report its first error. A decoder
    /// that checks records in batches reports a record's error here at the latest; the
    /// pipeline asks when the stream stops with an error, as such a record came first.
    fn settle(&mut self) -> Result<(), AdapterError> {
        Ok(())
    }
}

/// Receives the records an encoder emits; the pipeline stamps, sorts and frames them.
pub trait RecordSink {
    /// Add one `(user key, user value)` record.
    fn add(&mut self, user_key: &[u8], user_value: &[u8]) -> Result<(), SinkError>;

    /// Add a record whose value was just read from `source` (an input file of the tree,
    /// already checked): a value of at least [`REFERENCE_MIN`] bytes may be kept as the
    /// reference instead of the bytes, and read again when the record is written. By
    /// default the bytes are added as they are.
    fn add_from_file(
        &mut self,
        user_key: &[u8],
        user_value: &[u8],
        source: &FileRange<'_>,
    ) -> Result<(), SinkError> {
        let _ = source;
        self.add(user_key, user_value)
    }

    /// Add a record whose value is the `len` bytes at `source`, not in memory (a value
    /// [`RecordSink::add_from_file`] kept as a reference). By default they are read again,
    /// refused if the file changed since.
    fn add_file_range(&mut self, user_key: &[u8], source: &FileRange<'_>, len: u64) -> Result<(), SinkError> {
        let value = source.read(len).map_err(|e| SinkError::Input(Box::new(e)))?;
        self.add(user_key, &value)
    }

    /// Whether the sink reads every range given to [`RecordSink::add_file_range`] before
    /// the encode ends, checking each file whose ranges are marked
    /// [`FileRange::check_file`] against CHECKSUMS as it reads them (the encode's sorting
    /// sink). An encoder may then hand over the ranges of a large file without reading it;
    /// to any other sink it hands the bytes, read and checked. By default, no.
    fn checks_ranges(&self) -> bool {
        false
    }
}

/// The shortest value a sink may keep as a reference to its input file
/// ([`RecordSink::add_from_file`]): below it, copying the bytes costs less than opening
/// the file again.
pub const REFERENCE_MIN: usize = 64 * 1024;

/// Where a value read from an input file lies: it starts at byte `offset` of the file at
/// `path`, whose stamp was `stamp` when it was read (or opened, for a file not read).
#[derive(Debug, Clone, Copy)]
pub struct FileRange<'a> {
    /// The input file.
    pub path: &'a Path,
    /// Offset of the value's first byte.
    pub offset: u64,
    /// The file's stamp when the value was read.
    pub stamp: crate::dump::FileStamp,
    /// The file was not read nor checked: its ranges, handed over in offset order, cover it
    /// whole, and the sink that reads them checks it against CHECKSUMS
    /// ([`RecordSink::checks_ranges`]).
    pub check_file: bool,
}

impl FileRange<'_> {
    /// Read the `len` bytes again ([`DumpError::Changed`] if the file changed since).
    pub fn read(&self, len: u64) -> Result<Vec<u8>, DumpError> {
        crate::dump::fs::read_unchanged(self.path, &self.stamp, self.offset, len)
    }
}

/// Tree → records, for one adapter. `root` is the dump root (the folder holding MANIFEST.json).
pub trait Encoder {
    /// Emit the records of the adapter's subtree of `root`.
    fn encode(&mut self, root: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError>;
}

/// Why a [`RecordSink`] refused a record.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The key is longer than the container allows.
    #[error("encoded key of {len} bytes exceeds the limit of {max} bytes")]
    KeyTooLarge {
        /// The key's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value is longer than the container allows.
    #[error("encoded value of {len} bytes exceeds the limit of {max} bytes")]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The sink could not spill or write.
    #[error("record sink: {0}")]
    Io(#[from] std::io::Error),
    /// A value kept as a reference could not be read again.
    #[error("reading the value again: {0}")]
    Input(Box<DumpError>),
}

/// What is wrong with a record or a file: an adapter's own typed parse error (match it
/// with [`AdapterError::cause`]), or a plain message (`String` converts into it).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error of the adapter layer. Every variant names the file or the key involved.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// A record in the snapshot is malformed for its family (decode).
    #[error("{adapter}: key {key}: {source}")]
    BadRecord {
        /// The adapter's name.
        adapter: &'static str,
        /// The record's key, printable ([`crate::container::display_key`]).
        key: String,
        /// What is wrong with it.
        source: Cause,
    },
    /// A file of the dump tree is malformed (encode).
    #[error("{}: {source}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: Cause,
    },
    /// The sink refused a record (encode).
    #[error("{}: key {key}: {source}", path.display())]
    Sink {
        /// The file the record came from.
        path: PathBuf,
        /// The record's key, printable.
        key: String,
        /// Why the sink refused it.
        source: SinkError,
    },
    /// What the tree holds cannot be encoded with these options (e.g. a dump that kept
    /// state the encoder cannot restore).
    #[error("{0}")]
    Unsupported(String),
    /// A dump-layer failure (filename, JSON, file I/O).
    #[error(transparent)]
    Dump(#[from] DumpError),
    /// I/O on the adapter's scratch space (a spilled sort), which has no path of its own.
    #[error("{what}: {source}")]
    Scratch {
        /// What the scratch space held (`redis decoder spill file (scratch)`).
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// I/O on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl AdapterError {
    /// A malformed record of `adapter` (decode): `key` is the raw user key.
    pub fn bad_record(adapter: &'static str, key: &[u8], cause: impl Into<Cause>) -> AdapterError {
        AdapterError::BadRecord {
            adapter,
            key: crate::container::display_key(key),
            source: cause.into(),
        }
    }

    /// A malformed file of the dump tree (encode).
    pub fn bad_file(path: impl Into<PathBuf>, cause: impl Into<Cause>) -> AdapterError {
        AdapterError::BadFile {
            path: path.into(),
            source: cause.into(),
        }
    }

    /// The typed cause of a [`AdapterError::BadRecord`] or [`AdapterError::BadFile`], if it
    /// is an `E` (e.g. `e.cause::<redis::keys::LayoutError>()`, then `matches!` on it).
    ///
    /// [`redis::keys::LayoutError`]: crate::adapters::redis::keys::LayoutError
    pub fn cause<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            AdapterError::BadRecord { source, .. } | AdapterError::BadFile { source, .. } => {
                source.downcast_ref::<E>()
            }
            _ => None,
        }
    }

    /// Usage or data (exit code 1 or 2).
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdapterError::BadRecord { .. } | AdapterError::BadFile { .. } | AdapterError::Unsupported(_) => {
                ErrorKind::Data
            }
            AdapterError::Sink {
                source: SinkError::Io(_),
                ..
            } => ErrorKind::Usage,
            AdapterError::Sink {
                source: SinkError::Input(e),
                ..
            } => e.kind(),
            AdapterError::Sink { .. } => ErrorKind::Data,
            AdapterError::Dump(e) => e.kind(),
            AdapterError::Io { .. } | AdapterError::Scratch { .. } => ErrorKind::Usage,
        }
    }
}
