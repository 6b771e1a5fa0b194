//! [`MemorySource`]: an [`EntrySource`] over entries held in memory, laid out as an
//! EKVPBBL1 stream would be (containers.md §2.2): offsets start after the 16-byte header and
//! advance by each entry's on-disk size, MVCC keys are `user_key ‖ u64be(!commit_ts)`.
//!
//! For tests and small tools that build a stream without writing a file. The source yields
//! entries in the order given; it does not sort them (see [`OwnedEntry::stream_key`]).

use crate::container::{ContainerError, MvccEntry, RawEntry, StreamEntry};

use super::{CurrentEntry, EntrySource};

/// Size of the EKVPBBL1 header that precedes the first entry.
const STREAM_HEADER_LEN: u64 = 16;

/// An owned stream entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedEntry {
    /// A raw non-MVCC row (§2.6): no ts suffix, no value header.
    Raw {
        /// The key as stored.
        key: Vec<u8>,
        /// The value as stored.
        value: Vec<u8>,
    },
    /// An MVCC entry.
    Mvcc {
        /// The user key.
        user_key: Vec<u8>,
        /// The commit timestamp (full HLC).
        commit_ts: u64,
        /// Whether this version deletes the key.
        tombstone: bool,
        /// The value header's `expireAt`.
        expire_at: u64,
        /// The value body (value header removed).
        body: Vec<u8>,
    },
}

impl OwnedEntry {
    /// A raw row.
    pub fn raw(key: &[u8], value: &[u8]) -> OwnedEntry {
        OwnedEntry::Raw {
            key: key.to_vec(),
            value: value.to_vec(),
        }
    }

    /// An MVCC entry without TTL.
    pub fn mvcc(user_key: &[u8], commit_ts: u64, tombstone: bool, body: &[u8]) -> OwnedEntry {
        OwnedEntry::Mvcc {
            user_key: user_key.to_vec(),
            commit_ts,
            tombstone,
            expire_at: 0,
            body: body.to_vec(),
        }
    }

    /// The key the entry has in the stream: the raw key, or the encoded MVCC key
    /// `user_key ‖ u64be(!commit_ts)`. A stream is sorted by this key, bytewise.
    pub fn stream_key(&self) -> Vec<u8> {
        match self {
            OwnedEntry::Raw { key, .. } => key.clone(),
            OwnedEntry::Mvcc {
                user_key, commit_ts, ..
            } => encode_key(user_key, *commit_ts),
        }
    }
}

/// `user_key ‖ u64be(!commit_ts)`.
fn encode_key(user_key: &[u8], commit_ts: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(user_key.len() + 8);
    k.extend_from_slice(user_key);
    k.extend_from_slice(&(!commit_ts).to_be_bytes());
    k
}

/// An entry with its stream key precomputed.
#[derive(Debug, Clone)]
struct Stored {
    entry: OwnedEntry,
    key: Vec<u8>,
    offset: u64,
}

/// An in-memory [`EntrySource`] and [`CurrentEntry`]. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    entries: Vec<Stored>,
    /// Entries returned so far (one past the end once the end was reported).
    next: usize,
}

impl MemorySource {
    /// A source that yields `entries` in this order.
    pub fn new(entries: impl IntoIterator<Item = OwnedEntry>) -> MemorySource {
        let mut offset = STREAM_HEADER_LEN;
        let entries = entries
            .into_iter()
            .map(|entry| {
                let key = entry.stream_key();
                let value_len = match &entry {
                    OwnedEntry::Raw { value, .. } => value.len(),
                    OwnedEntry::Mvcc { body, .. } => body.len() + 9,
                };
                let stored = Stored { entry, key, offset };
                offset += 16 + stored.key.len() as u64 + value_len as u64;
                stored
            })
            .collect();
        MemorySource { entries, next: 0 }
    }

    /// The offset of each entry, in order.
    pub fn offsets(&self) -> Vec<u64> {
        self.entries.iter().map(|s| s.offset).collect()
    }
}

impl EntrySource for MemorySource {
    fn next_entry(&mut self) -> Result<Option<StreamEntry<'_>>, ContainerError> {
        if self.next <= self.entries.len() {
            self.next += 1;
        }
        Ok(MemorySource::current_entry(self))
    }
}

impl CurrentEntry for MemorySource {
    fn current_entry(&self) -> Option<StreamEntry<'_>> {
        let stored = self.entries.get(self.next.checked_sub(1)?)?;
        let entry = match &stored.entry {
            OwnedEntry::Raw { value, .. } => StreamEntry::Raw(RawEntry {
                key: &stored.key,
                value,
                offset: stored.offset,
            }),
            OwnedEntry::Mvcc {
                user_key,
                commit_ts,
                tombstone,
                expire_at,
                body,
            } => StreamEntry::Mvcc(MvccEntry {
                encoded_key: &stored.key,
                user_key,
                commit_ts: *commit_ts,
                tombstone: *tombstone,
                expire_at: *expire_at,
                body,
                offset: stored.offset,
            }),
        };
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_key_matches_the_spec_example() {
        // containers.md §2.2: "!redis|str|k" at ts 0x0001000000000001.
        let e = OwnedEntry::mvcc(b"!redis|str|k", 0x0001_0000_0000_0001, false, b"v");
        assert_eq!(
            hex::encode_upper(e.stream_key()),
            "2172656469737C7374727C6BFFFEFFFFFFFFFFFE"
        );
        assert_eq!(OwnedEntry::raw(b"_meta_x", b"").stream_key(), b"_meta_x");
    }

    #[test]
    fn yields_entries_with_stream_offsets() {
        let mut src = MemorySource::new(vec![
            OwnedEntry::mvcc(b"!redis|str|k", 0x0001_0000_0000_0001, true, b"v"),
            OwnedEntry::raw(b"_meta_applied_index", &5u64.to_le_bytes()),
            OwnedEntry::Mvcc {
                user_key: b"z".to_vec(),
                commit_ts: 3,
                tombstone: false,
                expire_at: 77,
                body: b"body".to_vec(),
            },
        ]);
        // 16 + 20 + 10 = 46 bytes for the spec's complete example entry.
        assert_eq!(src.offsets(), [16, 62, 16 + 46 + 16 + 19 + 8]);
        match src.next_entry().unwrap() {
            Some(StreamEntry::Mvcc(m)) => {
                assert_eq!(m.user_key, b"!redis|str|k");
                assert_eq!(m.commit_ts, 0x0001_0000_0000_0001);
                assert!(m.tombstone);
                assert_eq!(m.body, b"v");
                assert_eq!(StreamEntry::Mvcc(m).encoded_len(), 46);
            }
            other => panic!("unexpected {other:?}"),
        }
        match src.next_entry().unwrap() {
            Some(StreamEntry::Raw(r)) => {
                assert_eq!(r.key, b"_meta_applied_index");
                assert_eq!(r.value, 5u64.to_le_bytes());
                assert_eq!(r.offset, 62);
            }
            other => panic!("unexpected {other:?}"),
        }
        match src.next_entry().unwrap() {
            Some(StreamEntry::Mvcc(m)) => {
                assert_eq!((m.expire_at, m.tombstone, m.body), (77, false, &b"body"[..]));
                assert_eq!(m.encoded_key, encode_key(b"z", 3));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(src.next_entry().unwrap().is_none());
        assert!(src.current_entry().is_none());
        assert!(src.next_entry().unwrap().is_none());
    }

    #[test]
    fn current_entry_lends_the_last_entry_again() {
        let mut src = MemorySource::new(vec![
            OwnedEntry::raw(b"_meta_applied_index", b"1"),
            OwnedEntry::mvcc(b"a", 1, false, b"x"),
        ]);
        assert!(src.current_entry().is_none());
        let first = src.next_entry().unwrap().map(|e| e.offset());
        assert_eq!(first, Some(16));
        assert_eq!(src.current_entry().map(|e| e.offset()), Some(16));
        let second = src.next_entry().unwrap().map(|e| e.offset());
        assert_eq!(src.current_entry().map(|e| e.offset()), second);
        assert!(src.next_entry().unwrap().is_none());
        assert!(src.current_entry().is_none());
    }
}
