//! The logical view of an EKVPBBL1 stream: the newest version of each user key, with
//! tombstoned keys removed (DECISIONS.md D1), and raw non-MVCC rows surfaced (D3).
//!
//! The stream layout and why versions of one user key are not contiguous are described in
//! `containers.md` §2.2 ("MVCC key encoding", "Multiple versions of one user key") and §6
//! gotchas 7–8. This layer reads entries through the small [`EntrySource`] trait, so it does
//! not depend on the concrete container reader:
//!
//! * [`VersionTracker`]: the bounded-memory state machine that classifies each
//!   MVCC entry as the live newest version, a deleting tombstone, or an older version;
//! * [`MvccView`]: a lending iterator that pairs a source with a tracker and counts
//!   (every entry classified, or only the visible ones with a [`CurrentEntry`] source);
//! * [`MemorySource`]: an in-memory [`EntrySource`] for tests and small tools.

pub(crate) mod memory;
pub(crate) mod tracker;
pub(crate) mod view;

pub use memory::{MemorySource, OwnedEntry};
pub use tracker::{Version, VersionTracker};
pub use view::{MvccCounters, MvccItem, MvccView};

use crate::container::{ContainerError, StreamEntry};
use crate::error_kind::ErrorKind;

/// A stream of entries in file order, as the EKVPBBL1 reader yields them.
///
/// Each entry borrows the source's buffers and is valid until the next call.
pub trait EntrySource {
    /// The next entry, or `None` at the clean end of the stream.
    fn next_entry(&mut self) -> Result<Option<StreamEntry<'_>>, ContainerError>;
}

/// A source that can lend its current entry again: the one the last
/// [`EntrySource::next_entry`] returned (`None` before the first or after the end).
///
/// With it, [`MvccView::next_visible`] can skip entries for the caller: it classifies an
/// entry, drops that borrow, and borrows the entry again only to return it (a loop that
/// returns the borrow from `next_entry` itself is rejected by today's borrow checker).
pub trait CurrentEntry: EntrySource {
    /// The entry the last call to [`EntrySource::next_entry`] returned.
    fn current_entry(&self) -> Option<StreamEntry<'_>>;
}

impl<S: EntrySource + ?Sized> EntrySource for &mut S {
    #[inline]
    fn next_entry(&mut self) -> Result<Option<StreamEntry<'_>>, ContainerError> {
        (**self).next_entry()
    }
}

impl<S: CurrentEntry + ?Sized> CurrentEntry for &mut S {
    #[inline]
    fn current_entry(&self) -> Option<StreamEntry<'_>> {
        (**self).current_entry()
    }
}

impl<S: EntrySource + ?Sized> EntrySource for Box<S> {
    #[inline]
    fn next_entry(&mut self) -> Result<Option<StreamEntry<'_>>, ContainerError> {
        (**self).next_entry()
    }
}

impl<S: CurrentEntry + ?Sized> CurrentEntry for Box<S> {
    #[inline]
    fn current_entry(&self) -> Option<StreamEntry<'_>> {
        (**self).current_entry()
    }
}

/// The error of the mvcc layer. Every variant names the offset of the entry concerned.
#[derive(Debug, thiserror::Error)]
pub enum MvccError {
    /// The underlying reader failed.
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// An MVCC entry whose encoded key is lower than the previous one: the stream is not
    /// sorted (a producer bug). Continuing could emit a user key twice.
    #[error(
        "entry at offset {offset}: encoded key {key} sorts below the previous MVCC key {prev} \
         (offset {prev_offset}); expected a stream sorted by encoded key"
    )]
    NotSorted {
        /// Byte offset from the start of the file.
        offset: u64,
        /// Byte offset of the previous entry.
        prev_offset: u64,
        /// The offending key, hex (long keys shortened).
        key: String,
        /// The previous key, hex (long keys shortened).
        prev: String,
    },
    /// An MVCC entry whose encoded key equals the previous one (same user key and commit ts).
    #[error(
        "entry at offset {offset}: encoded key {key} repeats the MVCC key at offset \
         {prev_offset}; expected strictly ascending encoded keys"
    )]
    DuplicateKey {
        /// Byte offset from the start of the file.
        offset: u64,
        /// Byte offset of the previous entry.
        prev_offset: u64,
        /// The repeated key, hex (long keys shortened).
        key: String,
    },
    /// An MVCC entry whose parts disagree (the source broke its own contract).
    #[error("entry at offset {offset}: {what}")]
    Malformed {
        /// Byte offset from the start of the file.
        offset: u64,
        /// What was being handled, or what is wrong.
        what: String,
    },
}

impl MvccError {
    /// Usage or data: a failing reader keeps its own kind; everything else is bad input.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MvccError::Container(e) => e.kind(),
            _ => ErrorKind::Data,
        }
    }
}

/// How many key bytes an error message shows before shortening.
const SHOWN_KEY_BYTES: usize = 48;

/// A key as hex for an error message, shortened past [`SHOWN_KEY_BYTES`].
pub(crate) fn show_key(key: &[u8]) -> String {
    match key.get(..SHOWN_KEY_BYTES) {
        Some(head) if key.len() > SHOWN_KEY_BYTES => {
            format!("{}… ({} bytes)", hex::encode(head), key.len())
        }
        _ => hex::encode(key),
    }
}

/// The file reader is a source of entries.
impl<R: std::io::Read> EntrySource for crate::container::SnapshotFile<R> {
    #[inline]
    fn next_entry(&mut self) -> Result<Option<StreamEntry<'_>>, ContainerError> {
        self.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_key_is_hex_and_shortens_long_keys() {
        assert_eq!(show_key(b"k\xff"), "6bff");
        assert_eq!(show_key(&[]), "");
        let long = vec![0xABu8; 100];
        let shown = show_key(&long);
        assert!(shown.starts_with(&"ab".repeat(SHOWN_KEY_BYTES)));
        assert!(shown.ends_with("… (100 bytes)"), "{shown}");
        assert_eq!(show_key(&long[..SHOWN_KEY_BYTES]), "ab".repeat(SHOWN_KEY_BYTES));
    }

    #[test]
    fn errors_are_data_errors_and_name_the_offset() {
        let e = MvccError::NotSorted {
            offset: 52,
            prev_offset: 16,
            key: "6b".into(),
            prev: "6c".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Data);
        let msg = e.to_string();
        assert!(msg.contains("offset 52") && msg.contains("offset 16"), "{msg}");
        let e = MvccError::DuplicateKey {
            offset: 52,
            prev_offset: 16,
            key: "6b".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Data);
        assert!(e.to_string().contains("offset 52"));
        let e = MvccError::Malformed {
            offset: 7,
            what: "x".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Data);
        assert_eq!(e.to_string(), "entry at offset 7: x");
    }
}
