//! The bytes of a snapshot file (containers.md): the FSM header, the EKVPBBL1 stream, the
//! live-file CRC32C footer, and format sniffing.
//!
//! * [`PeekReader`]: the buffered reader every layer of one file is read through (peek without
//!   consuming, running CRC32C of consumed bytes, file offsets), fed block by block on the
//!   caller's thread or by a read-ahead thread (`readahead`).
//! * [`FsmHeader`], [`HeaderLatch`]: the `EKVTHLC1`/`EKVTHLC2` FSM header and the no-downgrade latch (§1).
//! * [`PayloadFormat`]: the payload magics and sniffing (§2.1, D10).
//! * [`PebbleStreamReader`], [`PebbleStreamWriter`]: the `EKVPBBL1` stream reader and writer, MVCC key/value codec (§2.2, §2.3).
//! * [`sst`]: the `EKVSSTI1` SST-ingest bundle and the Pebble tables in it (§2.4,
//!   spec/sst_bundle.md).
//! * [`SnapshotFile`]: whole files: bare streams, live `fsm-snap/<index>.fsm` files with footer,
//!   `fsm-snap/` directories, snapshot index from the name (§3.2, §4, D2, D4).

pub(crate) mod entry;
pub(crate) mod format;
pub(crate) mod header;
pub(crate) mod live;
pub(crate) mod pebble;
pub(crate) mod peek;
pub(crate) mod readahead;
pub mod sst;
#[cfg(test)]
mod test_io;

pub use entry::{MvccEntry, RawEntry, StreamEntry};
pub use format::PayloadFormat;
pub use header::{FsmHeader, HeaderLatch, HeaderVersion, LatchDecision};
pub use live::{
    list_fsm_snapshots, newest_fsm_snapshot, resolve_inputs, snapshot_index_from_path, Crc32cWriter,
    FooterReport, Framing, SnapshotFile, SnapshotInfo,
};
pub use pebble::{
    decode_key, encode_key, encode_value, is_raw_operational_key, FooterSeen, PebbleStreamReader,
    PebbleStreamWriter, Trailer, MAX_ENCODED_KEY_LEN, MAX_ENCODED_VALUE_LEN, PEBBLE_MAGIC,
};
pub use peek::PeekReader;

use std::path::PathBuf;

use crate::error_kind::ErrorKind;

/// Longest key prefix shown in an error message (keys may be up to 1 MiB).
const KEY_DISPLAY_MAX: usize = 64;

/// Render a key for an error message: printable ASCII as is, other bytes as `\xNN`,
/// truncated after `KEY_DISPLAY_MAX` bytes.
pub fn display_key(key: &[u8]) -> String {
    let mut s = String::with_capacity(key.len().min(KEY_DISPLAY_MAX) + 8);
    for &b in key.iter().take(KEY_DISPLAY_MAX) {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    if key.len() > KEY_DISPLAY_MAX {
        s.push_str(&format!("... ({} bytes)", key.len()));
    }
    s
}

/// The error of the container layer. Every variant names the byte offset (from the start
/// of the file) and what was expected; [`ContainerError::InFile`] adds the file path.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// An error raised while reading or writing a named file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file or directory concerned.
        path: PathBuf,
        #[source]
        /// The underlying error.
        source: Box<ContainerError>,
    },
    /// The input file or directory could not be opened or listed.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The file or directory concerned.
        path: PathBuf,
        #[source]
        /// The underlying error.
        source: std::io::Error,
    },
    /// A directory input holds no `<index>.fsm` file.
    #[error("no snapshot file (<16 hex digits>.fsm) in directory {}", path.display())]
    NoSnapshots {
        /// The file or directory concerned.
        path: PathBuf,
    },
    /// A real I/O error (not an end of file) while reading.
    #[error("I/O error at offset {offset} while reading {what}: {source}")]
    Io {
        /// Byte offset from the start of the file.
        offset: u64,
        /// What was being handled, or what is wrong.
        what: &'static str,
        #[source]
        /// The underlying error.
        source: std::io::Error,
    },
    /// An I/O error while writing.
    #[error("I/O error while writing {what}: {source}")]
    Write {
        /// What was being handled, or what is wrong.
        what: &'static str,
        #[source]
        /// The underlying error.
        source: std::io::Error,
    },
    /// The input ended inside a field.
    #[error("truncated at offset {offset}: expected {expected} bytes of {what}, found {found}")]
    Truncated {
        /// Byte offset from the start of the file.
        offset: u64,
        /// What was being handled, or what is wrong.
        what: &'static str,
        /// What was expected.
        expected: u64,
        /// What was found.
        found: u64,
    },
    /// v2 FSM header length prefix outside 16..=1024 (`ErrSnapshotHeaderInvalidLength`).
    #[error("snapshot header: invalid v2 length prefix {len} at offset 8: expected 16..=1024")]
    HeaderInvalidLength {
        /// The length found.
        len: u16,
    },
    /// `EKVTHLC` followed by an unknown version byte (`ErrSnapshotHeaderUnknownMagic`).
    #[error(
        "snapshot header: unknown EKVTHLC* magic {} at offset 0: expected EKVTHLC1 or EKVTHLC2",
        display_key(magic)
    )]
    HeaderUnknownMagic {
        /// The magic bytes found.
        magic: [u8; 8],
    },
    /// The payload does not start with the expected magic (`ErrSnapshotBadMagic`).
    #[error(
        "bad magic at offset {offset}: expected {expected:?}, found {}",
        display_key(found)
    )]
    BadMagic {
        /// Byte offset from the start of the file.
        offset: u64,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: [u8; 8],
    },
    /// A recognised payload format this tool cannot read (D10).
    #[error(
        "unsupported payload format at offset {offset}: {format} ({description}); only EKVPBBL1 and EKVSSTI1 are supported"
    )]
    UnsupportedFormat {
        /// Byte offset from the start of the file.
        offset: u64,
        /// The format's name.
        format: &'static str,
        /// What the format is.
        description: &'static str,
    },
    /// Encoded key length prefix above 1,048,584 (`ErrSnapshotKeyTooLarge`).
    #[error("snapshot key length {len} at offset {offset} exceeds the limit {max}")]
    KeyTooLarge {
        /// Byte offset from the start of the file.
        offset: u64,
        /// The length found.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Encoded value length prefix above 268,435,499 (`ErrSnapshotValueTooLarge`).
    #[error("snapshot value length {len} at offset {offset} (key {key}) exceeds the limit {max}")]
    ValueTooLarge {
        /// Byte offset from the start of the file.
        offset: u64,
        /// The length found.
        len: u64,
        /// The limit.
        max: u64,
        /// The key concerned, printable.
        key: String,
    },
    /// An encoded key shorter than its 8-byte timestamp suffix (`ErrSnapshotShortKey`).
    #[error("encoded key {key} of entry at offset {offset} is {len} bytes: expected at least 8 (timestamp suffix)")]
    ShortKey {
        /// Byte offset from the start of the file.
        offset: u64,
        /// The length found.
        len: u64,
        /// The key concerned, printable.
        key: String,
    },
    /// A value shorter than its 9-byte value header (`ErrSnapshotShortValue`).
    #[error(
        "value of key {key} in entry at offset {offset} is {len} bytes: expected at least 9 (value header)"
    )]
    ShortValue {
        /// Byte offset from the start of the file.
        offset: u64,
        /// The length found.
        len: u64,
        /// The key concerned, printable.
        key: String,
    },
    /// Reserved flag bits or encryption state 10/11 (`ErrSnapshotEncryptedReserved`).
    #[error("value header of key {key} in entry at offset {offset} has flags 0x{flags:02x}: reserved encryption_state or reserved bits set")]
    ReservedBits {
        /// Byte offset from the start of the file.
        offset: u64,
        /// The value header's flags byte.
        flags: u8,
        /// The key concerned, printable.
        key: String,
    },
    /// Encryption state 01 (`ErrSnapshotEncryptedEntry`).
    #[error("entry at offset {offset} (key {key}) is encrypted (flags 0x{flags:02x}): decryption is not supported")]
    EncryptedEntry {
        /// Byte offset from the start of the file.
        offset: u64,
        /// The value header's flags byte.
        flags: u8,
        /// The key concerned, printable.
        key: String,
    },
    /// A file with an FSM header ended at an entry boundary without its 4-byte footer.
    #[error("missing CRC32C footer at offset {offset}: a file with an EKVTHLC header must end with a 4-byte footer")]
    MissingFooter {
        /// Byte offset from the start of the file.
        offset: u64,
    },
    /// A headerless file ends with 4 bytes that are neither a key length nor a footer
    /// matching the computed CRC32C.
    #[error("truncated at offset {offset}: 4 trailing bytes {found:08x} are neither an 8-byte key length nor a CRC32C footer (computed {computed:08x})")]
    TruncatedOrBadFooter {
        /// Byte offset from the start of the file.
        offset: u64,
        /// What was found.
        found: u32,
        /// The value computed from the bytes read.
        computed: u32,
    },
    /// The footer does not match the CRC32C of the bytes before it (`ErrFSMSnapshotFileCRC`).
    #[error("file CRC32C mismatch (file corrupt): footer at offset {offset} says {expected:08x}, computed {computed:08x}")]
    FooterMismatch {
        /// Byte offset from the start of the file.
        offset: u64,
        /// What was expected.
        expected: u32,
        /// The value computed from the bytes read.
        computed: u32,
    },
    /// `EKVSSTI1`: the manifest's length, digest, JSON or fields are invalid.
    #[error("EKVSSTI1 manifest at offset {offset}: {problem}")]
    SstManifest {
        /// Byte offset of the manifest.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// `EKVSSTI1`: a table of the bundle is corrupt or holds what an export cannot.
    #[error(
        "EKVSSTI1 table {file}: {block} at table offset {table_offset} (file offset {offset}): {problem}"
    )]
    SstTable {
        /// The table's file name.
        file: String,
        /// The part of the table (footer, index, data block, ...).
        block: &'static str,
        /// Byte offset within the table.
        table_offset: u64,
        /// Byte offset from the start of the file.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// `EKVSSTI1`: a table's bytes do not match the manifest's SHA-256.
    #[error("EKVSSTI1 table {file} at offset {offset}: SHA-256 mismatch: manifest says {expected}, computed {computed}")]
    SstDigest {
        /// The table's file name.
        file: String,
        /// Byte offset of the table.
        offset: u64,
        /// The manifest's SHA-256 (hex).
        expected: String,
        /// The SHA-256 computed (hex).
        computed: String,
    },
    /// `EKVSSTI1`: the tables do not add up to the manifest's totals.
    #[error("EKVSSTI1 bundle: manifest {what} is {expected}, the tables hold {found}")]
    SstTotals {
        /// The total (`entry_count`, `total_file_bytes`, ...).
        what: &'static str,
        /// The manifest's value.
        expected: u64,
        /// The sum over the tables.
        found: u64,
    },
    /// `EKVSSTI1`: bytes after the last table other than a 4-byte footer.
    #[error("EKVSSTI1 bundle: trailing bytes at offset {offset} after the last table")]
    SstTrailing {
        /// Byte offset of the first trailing byte.
        offset: u64,
    },
    /// `next()` called again after an error.
    #[error("reader stopped at offset {offset} by an earlier error")]
    AfterError {
        /// Byte offset from the start of the file.
        offset: u64,
    },
    /// Writer: a key or value beyond the format's bounds.
    #[error("cannot encode key {key}: {what} length {len} exceeds the limit {max}")]
    EncodeTooLarge {
        /// What was being handled, or what is wrong.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The limit.
        max: u64,
        /// The key concerned, printable.
        key: String,
    },
    /// Writer: keys must be strictly ascending by encoded bytes, without duplicates.
    #[error("cannot encode key {key}: {problem} (entries must be sorted by encoded key, no duplicates)")]
    EncodeOrder {
        /// The key concerned, printable.
        key: String,
        /// What is wrong with the order.
        problem: &'static str,
    },
}

impl ContainerError {
    /// Usage (environment: open, I/O) or data (the bytes are wrong).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ContainerError::InFile { source, .. } => source.kind(),
            ContainerError::Open { .. }
            | ContainerError::NoSnapshots { .. }
            | ContainerError::Io { .. }
            | ContainerError::Write { .. } => ErrorKind::Usage,
            _ => ErrorKind::Data,
        }
    }

    /// The error without its [`ContainerError::InFile`] wrappers.
    pub fn root(&self) -> &ContainerError {
        match self {
            ContainerError::InFile { source, .. } => source.root(),
            other => other,
        }
    }

    /// Wrap with the file path (no double wrapping).
    pub fn in_file(self, path: impl Into<PathBuf>) -> ContainerError {
        match self {
            e @ ContainerError::InFile { .. } => e,
            e @ ContainerError::Open { .. } => e,
            e @ ContainerError::NoSnapshots { .. } => e,
            e => ContainerError::InFile {
                path: path.into(),
                source: Box::new(e),
            },
        }
    }
}
