//! One entry of an EKVPBBL1 stream as the reader yields it (containers.md §2.2, §2.6):
//! either a raw non-MVCC operational row, recognised by exact key match (DECISIONS.md D3),
//! or an MVCC entry split into user key, commit timestamp and value header.

/// An entry borrowed from the reader's reused buffers (valid until the next call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEntry<'a> {
    /// `_meta_*` or `!encryption|writers|…` row: no ts suffix, no value header.
    Raw(RawEntry<'a>),
    /// An MVCC-framed entry.
    Mvcc(MvccEntry<'a>),
}

/// A raw operational row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEntry<'a> {
    /// The key concerned, printable.
    pub key: &'a [u8],
    /// The raw value (value header included for MVCC rows).
    pub value: &'a [u8],
    /// Byte offset of the entry's key-length prefix in the file.
    pub offset: u64,
}

/// An MVCC entry: `key = user_key ‖ u64be(!commit_ts)`, `value = flags ‖ u64le(expire_at) ‖ body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MvccEntry<'a> {
    /// The full encoded key (user key and suffix).
    pub encoded_key: &'a [u8],
    /// The user key (the 8-byte timestamp suffix removed).
    pub user_key: &'a [u8],
    /// The commit timestamp (full HLC).
    pub commit_ts: u64,
    /// Whether this version deletes the key.
    pub tombstone: bool,
    /// The value header's `expireAt` (HLC; 0 = none).
    pub expire_at: u64,
    /// The value body after the 9-byte header (cleartext: encrypted entries are errors).
    pub body: &'a [u8],
    /// Byte offset of the entry's key-length prefix in the file.
    pub offset: u64,
}

impl StreamEntry<'_> {
    /// Offset of the entry in the file.
    pub fn offset(&self) -> u64 {
        match self {
            StreamEntry::Raw(r) => r.offset,
            StreamEntry::Mvcc(m) => m.offset,
        }
    }

    /// Size of the entry on disk (both length prefixes, key and value).
    pub fn encoded_len(&self) -> u64 {
        let (k, v) = match self {
            StreamEntry::Raw(r) => (r.key.len(), r.value.len()),
            StreamEntry::Mvcc(m) => (m.encoded_key.len(), m.body.len() + 9),
        };
        16 + k as u64 + v as u64
    }
}
