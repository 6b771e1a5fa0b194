//! The `EKVPBBL1` native Pebble stream (containers.md §2.2, §2.3, §2.6, gotchas 7, 9–12).
//!
//! ```text
//! "EKVPBBL1" | u64le last_commit_ts | repeat { u64le keyLen | key | u64le valLen | value } | EOF
//! MVCC key   = user_key || u64be(!commit_ts)
//! MVCC value = flags(1) || u64le expire_at || body     flags: bit0 tombstone,
//!              bits1-2 encryption state (00 clear, 01 encrypted, 1x reserved), bits3-7 reserved
//! ```
//!
//! The reader ([`PebbleStreamReader`]) reuses two buffers: `next()` lends an entry borrowed
//! from them, so the steady state allocates nothing. Length prefixes are checked against
//! the caps (key 1,048,584, value 268,435,499; equal is accepted) before any byte is read,
//! and buffers grow only as bytes actually arrive. A clean end is 0 bytes at a key-length
//! boundary; what may follow the last entry (nothing, a live-file footer, or either) is the
//! [`Trailer`]. Raw operational rows (`_meta_*`, `!encryption|writers|…`) are recognised by
//! exact match before MVCC decoding and yielded as [`StreamEntry::Raw`] (D3). MVCC entries
//! are checked in the order of §2.2: short key, short value, reserved bits, encrypted.
//!
//! The writer ([`PebbleStreamWriter`]) emits the header and entries in the order given,
//! refusing keys that are not strictly ascending (the encoder sorts by the full encoded
//! key, gotcha 9).

use std::io::{Read, Write};

use super::entry::{MvccEntry, RawEntry, StreamEntry};
use super::format::check_pebble_magic;
pub use super::format::MAGIC_PEBBLE as PEBBLE_MAGIC;
use super::peek::{PeekReader, Taken};
use super::{display_key, ContainerError};

/// Largest accepted encoded key (`keyLen`): 1 MiB + 8.
pub const MAX_ENCODED_KEY_LEN: u64 = 1_048_584;
/// Largest accepted encoded value (`valLen`): 256 MiB + 9 + 34.
pub const MAX_ENCODED_VALUE_LEN: u64 = 268_435_499;
/// Size of the MVCC timestamp suffix.
pub const TS_SUFFIX_LEN: usize = 8;
/// Size of the MVCC value header.
pub const VALUE_HEADER_LEN: usize = 9;

/// Flag bit: tombstone.
pub const FLAG_TOMBSTONE: u8 = 0x01;
const ENC_STATE_MASK: u8 = 0x06;
const RESERVED_MASK: u8 = 0xF8;

/// The raw `_meta_*` keys of a live store (§2.6), matched exactly.
pub const RAW_META_KEYS: [&[u8]; 4] = [
    b"_meta_applied_index",
    b"_meta_last_commit_ts",
    b"_meta_min_retained_ts",
    b"_meta_pending_min_retained_ts",
];
/// Prefix of the encryption writer-registry rows.
pub const ENCRYPTION_WRITERS_PREFIX: &[u8] = b"!encryption|writers|";
/// Exact length of a writer-registry key: prefix + u32be dek_id + `|` + u16be node id.
pub const ENCRYPTION_WRITERS_KEY_LEN: usize = 27;

/// Whether `key` is a raw (non-MVCC) operational row of a live store.
#[inline]
pub fn is_raw_operational_key(key: &[u8]) -> bool {
    match key.first() {
        Some(b'_') => RAW_META_KEYS.contains(&key),
        _ => key.len() == ENCRYPTION_WRITERS_KEY_LEN && key.starts_with(ENCRYPTION_WRITERS_PREFIX),
    }
}

/// Append `user_key || u64be(!ts)` to `out`.
pub fn encode_key(user_key: &[u8], ts: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(user_key);
    out.extend_from_slice(&(!ts).to_be_bytes());
}

/// Append `flags || u64le(expire_at) || body` to `out`.
pub fn encode_value(flags: u8, expire_at: u64, body: &[u8], out: &mut Vec<u8>) {
    out.push(flags);
    out.extend_from_slice(&expire_at.to_le_bytes());
    out.extend_from_slice(body);
}

/// Split an encoded MVCC key into `(user_key, commit_ts)`; `None` if shorter than 8 bytes.
pub fn decode_key(encoded: &[u8]) -> Option<(&[u8], u64)> {
    let split = encoded.len().checked_sub(TS_SUFFIX_LEN)?;
    let (user, suffix) = encoded.split_at(split);
    let suffix: [u8; 8] = suffix.try_into().ok()?;
    Some((user, !u64::from_be_bytes(suffix)))
}

/// The u64le at the start of `b`, if it holds 8 bytes.
#[inline]
fn le_u64(b: &[u8]) -> Option<u64> {
    b.first_chunk::<8>().map(|b| u64::from_le_bytes(*b))
}

/// The total size and key length of the entry framed at the start of `buf`, when both
/// length prefixes are within their caps and `buf` holds all of the entry, which is at most
/// `cap` bytes (a larger one is read through the reader's own buffers).
#[inline]
fn frame(buf: &[u8], cap: usize) -> Option<(usize, usize)> {
    let klen = le_u64(buf)?;
    if klen > MAX_ENCODED_KEY_LEN {
        return None;
    }
    let v_at = 8 + klen as usize;
    let vlen = le_u64(buf.get(v_at..)?)?;
    if vlen > MAX_ENCODED_VALUE_LEN {
        return None;
    }
    let total = v_at + 8 + vlen as usize;
    (total <= buf.len().min(cap)).then_some((total, v_at - 8))
}

/// What may follow the last entry of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailer {
    /// Nothing: a bare stream (what the encoder writes). 0 bytes at a key boundary ends it.
    None,
    /// Exactly 4 bytes, the u32be CRC32C footer of a live file (a file with an FSM
    /// header). Ending without it is [`ContainerError::MissingFooter`]. A footer that does
    /// not match is reported by whoever verifies it (see [`PebbleStreamReader::footer`]).
    Footer,
    /// A headerless file: either a bare stream (0 bytes at the end) or a headerless live
    /// file whose last 4 bytes, at a key boundary, equal the CRC32C of everything before.
    /// 4 bytes that do not match are [`ContainerError::TruncatedOrBadFooter`].
    MaybeFooter,
}

impl Trailer {
    /// The 4 bytes `stored` met at the end of a payload at `offset`, whose preceding bytes
    /// have the CRC32C `computed`: the footer to record, or, for a headerless file, the error
    /// of 4 bytes that are not its footer. (A mismatch under [`Trailer::Footer`] is reported
    /// by whoever verifies the footer.)
    pub(crate) fn footer(
        self,
        offset: u64,
        stored: u32,
        computed: u32,
    ) -> Result<FooterSeen, ContainerError> {
        if self == Trailer::MaybeFooter && stored != computed {
            return Err(ContainerError::TruncatedOrBadFooter {
                offset,
                found: stored,
                computed,
            });
        }
        Ok(FooterSeen {
            offset,
            stored,
            computed,
        })
    }
}

/// A footer met at the end of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FooterSeen {
    /// Offset of the footer in the file.
    pub offset: u64,
    /// The footer value (u32be).
    pub stored: u32,
    /// CRC32C of every byte before the footer.
    pub computed: u32,
}

/// Classify one entry of the store (the same for every payload format): a raw operational
/// row by exact key match (D3), else an MVCC entry. An entry that is neither is refused by
/// [`refused`], which names what is wrong. `offset` is what errors name.
#[inline]
pub(crate) fn classify(key: &[u8], value: &[u8], offset: u64) -> Result<Decoded, ContainerError> {
    decode(key, value).ok_or_else(|| refused(key, value, offset))
}

/// [`classify`] without the error: `None` for an entry [`refused`] describes.
#[inline]
fn decode(key: &[u8], value: &[u8]) -> Option<Decoded> {
    if is_raw_operational_key(key) {
        return Some(Decoded::Raw);
    }
    match (decode_key(key), value.first_chunk::<9>()) {
        // Only the tombstone bit may be set: encryption state 00 and no reserved bits.
        (Some((user, ts)), Some(&[flags, e0, e1, e2, e3, e4, e5, e6, e7]))
            if flags & (ENC_STATE_MASK | RESERVED_MASK) == 0 =>
        {
            Some(Decoded::Mvcc {
                split: user.len(),
                ts,
                flags,
                expire_at: u64::from_le_bytes([e0, e1, e2, e3, e4, e5, e6, e7]),
            })
        }
        _ => None,
    }
}

/// Why [`decode`] refused an MVCC entry, checked in the order of §2.2: short key, short
/// value, reserved bits, encrypted (what is left once the other three are ruled out).
#[cold]
#[inline(never)]
fn refused(key: &[u8], value: &[u8], offset: u64) -> ContainerError {
    let key_shown = display_key(key);
    if key.len() < TS_SUFFIX_LEN {
        return ContainerError::ShortKey {
            offset,
            len: key.len() as u64,
            key: key_shown,
        };
    }
    let Some(&flags) = value.first().filter(|_| value.len() >= VALUE_HEADER_LEN) else {
        return ContainerError::ShortValue {
            offset,
            len: value.len() as u64,
            key: key_shown,
        };
    };
    let enc_state = (flags & ENC_STATE_MASK) >> 1;
    if flags & RESERVED_MASK != 0 || enc_state >= 2 {
        return ContainerError::ReservedBits {
            offset,
            flags,
            key: key_shown,
        };
    }
    ContainerError::EncryptedEntry {
        offset,
        flags,
        key: key_shown,
    }
}

impl Decoded {
    /// The entry this classification describes, borrowing `key` and `value`.
    #[inline]
    pub(crate) fn entry<'a>(self, key: &'a [u8], value: &'a [u8], offset: u64) -> StreamEntry<'a> {
        match self {
            Decoded::Raw => StreamEntry::Raw(RawEntry { key, value, offset }),
            Decoded::Mvcc {
                split,
                ts,
                flags,
                expire_at,
            } => StreamEntry::Mvcc(MvccEntry {
                encoded_key: key,
                user_key: key.get(..split).unwrap_or_default(),
                commit_ts: ts,
                tombstone: flags & FLAG_TOMBSTONE != 0,
                expire_at,
                body: value.get(VALUE_HEADER_LEN..).unwrap_or_default(),
                offset,
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed,
}

/// How an entry's key and value were classified ([`classify`]); turned back into a borrowed
/// [`StreamEntry`] by [`Decoded::entry`]. Shared with the EKVSSTI1 table reader.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Decoded {
    Raw,
    Mvcc {
        split: usize,
        ts: u64,
        flags: u8,
        expire_at: u64,
    },
}

/// Streaming `EKVPBBL1` reader with reused buffers.
#[derive(Debug)]
pub struct PebbleStreamReader<R> {
    input: PeekReader<R>,
    last_commit_ts: u64,
    trailer: Trailer,
    key: Vec<u8>,
    value: Vec<u8>,
    state: State,
    footer: Option<FooterSeen>,
    entries: u64,
    entry_offset: u64,
    current: Option<Decoded>,
    /// Where the current entry sits in the input's buffer, with its key length, when it
    /// is lent from there (`None`: it was copied into `key` and `value`).
    lent: Option<(Taken, usize)>,
}

impl<R: Read> PebbleStreamReader<R> {
    /// A reader for a bare stream (no footer, no CRC) starting at offset 0 of `reader`.
    pub fn new(reader: R) -> Result<Self, ContainerError> {
        Self::from_peek_reader(PeekReader::new(reader).without_crc(), Trailer::None)
    }

    /// Read the 16-byte stream header at the current position of `input` (for example
    /// right after an FSM header), with `trailer` deciding how the stream may end.
    pub fn from_peek_reader(mut input: PeekReader<R>, trailer: Trailer) -> Result<Self, ContainerError> {
        let offset = input.offset();
        let head = input.peek(16).map_err(|source| ContainerError::Io {
            offset,
            what: "EKVPBBL1 header",
            source,
        })?;
        let Some(magic) = head.get(..8).and_then(|m| <[u8; 8]>::try_from(m).ok()) else {
            return Err(ContainerError::Truncated {
                offset,
                what: "EKVPBBL1 magic",
                expected: 8,
                found: head.len() as u64,
            });
        };
        check_pebble_magic(&magic, offset)?;
        let Some(ts) = head.get(8..16).and_then(|t| <[u8; 8]>::try_from(t).ok()) else {
            return Err(ContainerError::Truncated {
                offset: offset + 8,
                what: "EKVPBBL1 last_commit_ts",
                expected: 8,
                found: head.len().saturating_sub(8) as u64,
            });
        };
        let last_commit_ts = u64::from_le_bytes(ts);
        input.consume(16);
        Ok(PebbleStreamReader {
            input,
            last_commit_ts,
            trailer,
            key: Vec::new(),
            value: Vec::new(),
            state: State::Reading,
            footer: None,
            entries: 0,
            entry_offset: offset + 16,
            current: None,
            lent: None,
        })
    }

    /// The header's `lastCommitTS` (a full HLC timestamp).
    pub fn last_commit_ts(&self) -> u64 {
        self.last_commit_ts
    }

    /// Offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// Entries yielded so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Whether the stream ended cleanly.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The footer met at the end, if any (only after `next()` returned `None`).
    pub fn footer(&self) -> Option<FooterSeen> {
        self.footer
    }

    /// CRC32C of every byte consumed so far (0 for a reader made by [`Self::new`]).
    pub fn crc(&mut self) -> u32 {
        self.input.crc()
    }

    /// The underlying reader.
    pub fn into_inner(self) -> PeekReader<R> {
        self.input
    }

    /// The next entry, borrowed until the next call. `Ok(None)` at the clean end. After an
    /// error every later call fails with [`ContainerError::AfterError`].
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<StreamEntry<'_>>, ContainerError> {
        if self.advance()? {
            Ok(self.current())
        } else {
            Ok(None)
        }
    }

    /// Read the next entry into the reader's buffers: `Ok(true)` if there is one (see
    /// [`Self::current`]), `Ok(false)` at the clean end. The two-step form of [`Self::next`]
    /// for callers that must look at the reader after the end.
    #[inline]
    pub fn advance(&mut self) -> Result<bool, ContainerError> {
        self.current = None;
        match self.state {
            State::Done => return Ok(false),
            State::Failed => {
                return Err(ContainerError::AfterError {
                    offset: self.entry_offset,
                })
            }
            State::Reading => {}
        }
        match self.read_entry() {
            Ok(Some(d)) => {
                self.entries += 1;
                self.current = Some(d);
                Ok(true)
            }
            Ok(None) => {
                self.state = State::Done;
                Ok(false)
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }

    /// The entry read by the last successful [`Self::advance`].
    #[inline]
    pub fn current(&self) -> Option<StreamEntry<'_>> {
        let decoded = self.current?;
        let (key, value) = match self.lent {
            Some((taken, klen)) => {
                let whole = self.input.taken(taken);
                (whole.get(8..8 + klen)?, whole.get(16 + klen..)?)
            }
            None => (&self.key[..], &self.value[..]),
        };
        Some(decoded.entry(key, value, self.entry_offset))
    }

    /// The total size and key length of the next entry when it is well framed (both
    /// lengths within their caps) and all of it is buffered, or can be with a peek of at
    /// most the input's capacity: it can then be read in place. `None` otherwise, and on
    /// any read error or short input: the copying path reads the entry again and reports
    /// what is wrong at the same offset. Consumes nothing.
    #[inline]
    fn whole_entry(&mut self) -> Option<(usize, usize)> {
        match frame(self.input.buffered(), self.input.capacity()) {
            Some(found) => Some(found),
            None => self.whole_entry_peeked(),
        }
    }

    /// [`Self::whole_entry`] for an entry not yet all buffered (once per block).
    #[cold]
    fn whole_entry_peeked(&mut self) -> Option<(usize, usize)> {
        let cap = self.input.capacity();
        let klen = le_u64(self.input.peek(8).ok()?)?;
        if klen > MAX_ENCODED_KEY_LEN {
            return None;
        }
        let v_at = 8 + klen as usize;
        if v_at + 8 > cap {
            return None;
        }
        let vlen = le_u64(self.input.peek(v_at + 8).ok()?.get(v_at..)?)?;
        if vlen > MAX_ENCODED_VALUE_LEN {
            return None;
        }
        let total = v_at + 8 + vlen as usize;
        if total > cap {
            return None;
        }
        frame(self.input.peek(total).ok()?, cap)
    }

    fn io_err(&self, what: &'static str) -> impl FnOnce(std::io::Error) -> ContainerError {
        let offset = self.input.offset();
        move |source| ContainerError::Io { offset, what, source }
    }

    /// Read an 8-byte little-endian length at the current position, or report how many
    /// bytes there were (0..=7) at the end of input.
    #[inline]
    fn read_len(&mut self, what: &'static str) -> Result<Result<u64, usize>, ContainerError> {
        let err = self.io_err(what);
        let head = self.input.peek(8).map_err(err)?;
        match <[u8; 8]>::try_from(head) {
            Ok(b) => {
                self.input.consume(8);
                Ok(Ok(u64::from_le_bytes(b)))
            }
            Err(_) => Ok(Err(head.len())),
        }
    }

    #[inline]
    fn read_entry(&mut self) -> Result<Option<Decoded>, ContainerError> {
        let offset = self.input.offset();
        self.entry_offset = offset;
        let Some((total, klen)) = self.whole_entry() else {
            self.lent = None;
            return self.read_entry_copied(offset);
        };
        let taken = self.input.take(total);
        self.lent = Some((taken, klen));
        let whole = self.input.taken(taken);
        let key = whole.get(8..8 + klen).unwrap_or_default();
        let value = whole.get(16 + klen..).unwrap_or_default();
        // `classify` unrolled: the hot path then carries no 88-byte `Result` through.
        match decode(key, value) {
            Some(d) => Ok(Some(d)),
            None => Err(refused(key, value, offset)),
        }
    }

    /// [`Self::read_entry`] for an entry that cannot be lent in place (larger than the
    /// input's capacity, or ill-framed, or at the end): read into the reader's own buffers,
    /// with every framing error reported.
    #[cold]
    #[inline(never)]
    fn read_entry_copied(&mut self, offset: u64) -> Result<Option<Decoded>, ContainerError> {
        let klen = match self.read_len("key length")? {
            Ok(n) => n,
            Err(found) => return self.at_end(offset, found).map(|()| None),
        };
        if klen > MAX_ENCODED_KEY_LEN {
            return Err(ContainerError::KeyTooLarge {
                offset,
                len: klen,
                max: MAX_ENCODED_KEY_LEN,
            });
        }
        self.key.clear();
        let got = self
            .input
            .read_into(&mut self.key, klen)
            .map_err(self.io_err("key bytes"))?;
        if got < klen {
            return Err(ContainerError::Truncated {
                offset: offset + 8,
                what: "key bytes",
                expected: klen,
                found: got,
            });
        }
        let voffset = self.input.offset();
        let vlen = match self.read_len("value length")? {
            Ok(n) => n,
            Err(found) => {
                return Err(ContainerError::Truncated {
                    offset: voffset,
                    what: "value length",
                    expected: 8,
                    found: found as u64,
                })
            }
        };
        if vlen > MAX_ENCODED_VALUE_LEN {
            return Err(ContainerError::ValueTooLarge {
                offset: voffset,
                len: vlen,
                max: MAX_ENCODED_VALUE_LEN,
                key: display_key(&self.key),
            });
        }
        self.value.clear();
        let got = self
            .input
            .read_into(&mut self.value, vlen)
            .map_err(self.io_err("value bytes"))?;
        if got < vlen {
            return Err(ContainerError::Truncated {
                offset: voffset + 8,
                what: "value bytes",
                expected: vlen,
                found: got,
            });
        }
        classify(&self.key, &self.value, offset).map(Some)
    }

    /// Fewer than 8 bytes at a key-length boundary: the end, a footer, or truncation.
    fn at_end(&mut self, offset: u64, found: usize) -> Result<(), ContainerError> {
        match (found, self.trailer) {
            (0, Trailer::Footer) => Err(ContainerError::MissingFooter { offset }),
            (0, _) => Ok(()),
            (4, Trailer::Footer | Trailer::MaybeFooter) => {
                let mut b = [0u8; 4];
                b.copy_from_slice(self.input.buffered().get(..4).unwrap_or(&[0; 4]));
                let footer = self
                    .trailer
                    .footer(offset, u32::from_be_bytes(b), self.input.crc())?;
                self.input.consume(4);
                self.footer = Some(footer);
                Ok(())
            }
            (found, _) => Err(ContainerError::Truncated {
                offset,
                what: "key length",
                expected: 8,
                found: found as u64,
            }),
        }
    }
}

/// `EKVPBBL1` writer: the header, then entries in strictly ascending encoded-key order.
/// Wrap the output in a `BufWriter`: every entry is four small writes.
#[derive(Debug)]
pub struct PebbleStreamWriter<W: Write> {
    out: W,
    prev: Vec<u8>,
    has_prev: bool,
    entries: u64,
    bytes: u64,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
}

fn write_err(what: &'static str) -> impl FnOnce(std::io::Error) -> ContainerError {
    move |source| ContainerError::Write { what, source }
}

impl<W: Write> PebbleStreamWriter<W> {
    /// Write the 16-byte header.
    pub fn new(mut out: W, last_commit_ts: u64) -> Result<Self, ContainerError> {
        out.write_all(&PEBBLE_MAGIC)
            .and_then(|()| out.write_all(&last_commit_ts.to_le_bytes()))
            .map_err(write_err("EKVPBBL1 header"))?;
        Ok(PebbleStreamWriter {
            out,
            prev: Vec::new(),
            has_prev: false,
            entries: 0,
            bytes: 16,
            key_buf: Vec::new(),
            value_buf: Vec::new(),
        })
    }

    /// Write one entry with an already encoded key and value (MVCC or raw).
    pub fn write_entry(&mut self, key: &[u8], value: &[u8]) -> Result<(), ContainerError> {
        let klen = key.len() as u64;
        let vlen = value.len() as u64;
        if klen > MAX_ENCODED_KEY_LEN {
            return Err(ContainerError::EncodeTooLarge {
                what: "encoded key",
                len: klen,
                max: MAX_ENCODED_KEY_LEN,
                key: display_key(key),
            });
        }
        if vlen > MAX_ENCODED_VALUE_LEN {
            return Err(ContainerError::EncodeTooLarge {
                what: "encoded value",
                len: vlen,
                max: MAX_ENCODED_VALUE_LEN,
                key: display_key(key),
            });
        }
        if self.has_prev {
            match key.cmp(&self.prev[..]) {
                std::cmp::Ordering::Greater => {}
                std::cmp::Ordering::Equal => {
                    return Err(ContainerError::EncodeOrder {
                        key: display_key(key),
                        problem: "duplicate encoded key",
                    })
                }
                std::cmp::Ordering::Less => {
                    return Err(ContainerError::EncodeOrder {
                        key: display_key(key),
                        problem: "encoded key sorts before the previous one",
                    })
                }
            }
        }
        let out = &mut self.out;
        out.write_all(&klen.to_le_bytes())
            .and_then(|()| out.write_all(key))
            .and_then(|()| out.write_all(&vlen.to_le_bytes()))
            .and_then(|()| out.write_all(value))
            .map_err(write_err("EKVPBBL1 entry"))?;
        self.prev.clear();
        self.prev.extend_from_slice(key);
        self.has_prev = true;
        self.entries += 1;
        self.bytes += 16 + klen + vlen;
        Ok(())
    }

    /// Encode and write one MVCC entry.
    pub fn write_mvcc(
        &mut self,
        user_key: &[u8],
        commit_ts: u64,
        flags: u8,
        expire_at: u64,
        body: &[u8],
    ) -> Result<(), ContainerError> {
        let mut key = std::mem::take(&mut self.key_buf);
        let mut value = std::mem::take(&mut self.value_buf);
        key.clear();
        value.clear();
        encode_key(user_key, commit_ts, &mut key);
        encode_value(flags, expire_at, body, &mut value);
        let r = self.write_entry(&key, &value);
        self.key_buf = key;
        self.value_buf = value;
        r
    }

    /// Entries written.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes written (header included).
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Flush and return the output.
    pub fn finish(mut self) -> Result<W, ContainerError> {
        self.out.flush().map_err(write_err("EKVPBBL1 stream"))?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests;
