//! Internal key and value layouts of the Redis families (redis.md §2), both directions, as
//! small pure functions: builders (used by the encoder) and parsers (used by the decoder).
//!
//! * string / HLL envelopes `FF 01` / `FF 02` with an optional inline TTL (§2.2, §2.3);
//! * the TTL scan-index value (§2.4);
//! * count meta 8/16 bytes (hash, set, zset; §2.5, §2.7, §2.8), list meta 24/32 (§2.6),
//!   stream meta 24/32/48 (§2.9);
//! * `len4` wide-column keys and their parse rules (§2.5), list item keys (no length prefix,
//!   `sortable_i64`), zset score values (BE f64 bits) and score-index keys (`sortable_f64`);
//! * the legacy zset blob and the stream entry value (magic prefix + protobuf, §2.8, §2.9).
//!
//! Parsers return a [`LayoutError`] saying what was expected and what was found, which the
//! decoder wraps into `AdapterError::BadRecord` with the key.

use prost::Message;

use crate::adapters::Route;

/// What a Redis key is: the handler tag of its route (redis.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `!redis|str|`: a string.
    Str,
    /// `!hs|meta|`: a hash meta.
    HashMeta,
    /// `!hs|meta|d|`: a hash meta delta.
    HashMetaDelta,
    /// `!hs|fld|`: a hash field.
    HashField,
    /// `!lst|meta|`: a list meta.
    ListMeta,
    /// `!lst|meta|d|`: a list meta delta.
    ListMetaDelta,
    /// `!lst|itm|`: a list item.
    ListItem,
    /// `!lst|claim|`: a list claim.
    ListClaim,
    /// `!st|meta|`: a set meta.
    SetMeta,
    /// `!st|meta|d|`: a set meta delta.
    SetMetaDelta,
    /// `!st|mem|`: a set member.
    SetMember,
    /// `!zs|meta|`: a zset meta.
    ZsetMeta,
    /// `!zs|meta|d|`: a zset meta delta.
    ZsetMetaDelta,
    /// `!zs|mem|`: a zset member and its score.
    ZsetMember,
    /// `!zs|scr|`: a zset score-index key.
    ZsetScore,
    /// `!redis|zset|`: a legacy zset blob.
    ZsetLegacy,
    /// `!stream|meta|`: a stream meta.
    StreamMeta,
    /// `!stream|entry|`: a stream entry.
    StreamEntry,
    /// `!redis|hll|`: a HyperLogLog.
    Hll,
    /// `!redis|ttl|`: a TTL scan-index row.
    Ttl,
}

impl Kind {
    const ALL: [Kind; 20] = [
        Kind::Str,
        Kind::HashMeta,
        Kind::HashMetaDelta,
        Kind::HashField,
        Kind::ListMeta,
        Kind::ListMetaDelta,
        Kind::ListItem,
        Kind::ListClaim,
        Kind::SetMeta,
        Kind::SetMetaDelta,
        Kind::SetMember,
        Kind::ZsetMeta,
        Kind::ZsetMetaDelta,
        Kind::ZsetMember,
        Kind::ZsetScore,
        Kind::ZsetLegacy,
        Kind::StreamMeta,
        Kind::StreamEntry,
        Kind::Hll,
        Kind::Ttl,
    ];

    /// The kind a route tag names (`None` for a tag of no Redis route).
    pub fn from_tag(tag: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(tag)).copied()
    }
}

const fn r(prefix: &'static [u8], family: &'static str, kind: Kind) -> Route {
    Route::new(prefix, family, kind as u8)
}

/// The Redis prefixes of the route table (redis.md §3), families in report order.
pub const ROUTES: &[Route] = &[
    r(STR_PREFIX, "redis_string", Kind::Str),
    r(HASH_META_DELTA_PREFIX, "redis_hash", Kind::HashMetaDelta),
    r(HASH_META_PREFIX, "redis_hash", Kind::HashMeta),
    r(HASH_FIELD_PREFIX, "redis_hash", Kind::HashField),
    r(LIST_META_DELTA_PREFIX, "redis_list", Kind::ListMetaDelta),
    r(LIST_META_PREFIX, "redis_list", Kind::ListMeta),
    r(LIST_ITEM_PREFIX, "redis_list", Kind::ListItem),
    r(LIST_CLAIM_PREFIX, "redis_list", Kind::ListClaim),
    r(SET_META_DELTA_PREFIX, "redis_set", Kind::SetMetaDelta),
    r(SET_META_PREFIX, "redis_set", Kind::SetMeta),
    r(SET_MEMBER_PREFIX, "redis_set", Kind::SetMember),
    r(ZSET_META_DELTA_PREFIX, "redis_zset", Kind::ZsetMetaDelta),
    r(ZSET_META_PREFIX, "redis_zset", Kind::ZsetMeta),
    r(ZSET_MEMBER_PREFIX, "redis_zset", Kind::ZsetMember),
    r(ZSET_SCORE_PREFIX, "redis_zset", Kind::ZsetScore),
    r(ZSET_LEGACY_PREFIX, "redis_zset", Kind::ZsetLegacy),
    r(STREAM_META_PREFIX, "redis_stream", Kind::StreamMeta),
    r(STREAM_ENTRY_PREFIX, "redis_stream", Kind::StreamEntry),
    r(HLL_PREFIX, "redis_hll", Kind::Hll),
    r(TTL_PREFIX, "redis_ttl", Kind::Ttl),
];

/// Key prefix of strings.
pub const STR_PREFIX: &[u8] = b"!redis|str|";
/// Key prefix of HyperLogLogs.
pub const HLL_PREFIX: &[u8] = b"!redis|hll|";
/// Key prefix of the TTL scan index.
pub const TTL_PREFIX: &[u8] = b"!redis|ttl|";
/// Key prefix of hash metas.
pub const HASH_META_PREFIX: &[u8] = b"!hs|meta|";
/// Key prefix of hash meta deltas.
pub const HASH_META_DELTA_PREFIX: &[u8] = b"!hs|meta|d|";
/// Key prefix of hash fields.
pub const HASH_FIELD_PREFIX: &[u8] = b"!hs|fld|";
/// Key prefix of list metas.
pub const LIST_META_PREFIX: &[u8] = b"!lst|meta|";
/// Key prefix of list meta deltas.
pub const LIST_META_DELTA_PREFIX: &[u8] = b"!lst|meta|d|";
/// Key prefix of list items.
pub const LIST_ITEM_PREFIX: &[u8] = b"!lst|itm|";
/// Key prefix of list claims.
pub const LIST_CLAIM_PREFIX: &[u8] = b"!lst|claim|";
/// Key prefix of set metas.
pub const SET_META_PREFIX: &[u8] = b"!st|meta|";
/// Key prefix of set meta deltas.
pub const SET_META_DELTA_PREFIX: &[u8] = b"!st|meta|d|";
/// Key prefix of set members.
pub const SET_MEMBER_PREFIX: &[u8] = b"!st|mem|";
/// Key prefix of zset metas.
pub const ZSET_META_PREFIX: &[u8] = b"!zs|meta|";
/// Key prefix of zset meta deltas.
pub const ZSET_META_DELTA_PREFIX: &[u8] = b"!zs|meta|d|";
/// Key prefix of zset members.
pub const ZSET_MEMBER_PREFIX: &[u8] = b"!zs|mem|";
/// Key prefix of zset score-index keys.
pub const ZSET_SCORE_PREFIX: &[u8] = b"!zs|scr|";
/// Key prefix of legacy zset blobs.
pub const ZSET_LEGACY_PREFIX: &[u8] = b"!redis|zset|";
/// Key prefix of stream metas.
pub const STREAM_META_PREFIX: &[u8] = b"!stream|meta|";
/// Key prefix of stream entries.
pub const STREAM_ENTRY_PREFIX: &[u8] = b"!stream|entry|";

/// Magic of the legacy consolidated zset blob (`00 'R' 'Z' 01`).
pub const ZSET_LEGACY_MAGIC: &[u8] = &[0x00, b'R', b'Z', 0x01];
/// Magic of a stream entry value (`00 'R' 'X' 'E' 01`).
pub const STREAM_ENTRY_MAGIC: &[u8] = &[0x00, b'R', b'X', b'E', 0x01];

const I64_MAX: u64 = i64::MAX as u64;

/// Why a Redis key or value does not have its family's layout. The messages are the
/// decoder's error text (users grep them): keep them stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// `FF <version>` without the flags byte.
    #[error("invalid {what} value: header truncated (FF {version:02X} without a flags byte)")]
    EnvelopeHeader {
        /// `string` or `HLL`.
        what: &'static str,
        /// The envelope version byte.
        version: u8,
    },
    /// Flags bit0 (has TTL) set but fewer than 8 TTL bytes follow.
    #[error("invalid {what} value: ttl section truncated (flags bit0 set, {found} of 8 bytes present)")]
    EnvelopeTtl {
        /// `string` or `HLL`.
        what: &'static str,
        /// TTL bytes present.
        found: usize,
    },
    /// A `!redis|ttl|` value that is not 8 bytes.
    #[error("invalid TTL value: expected exactly 8 bytes, got {found}")]
    TtlValue {
        /// The value's length.
        found: usize,
    },
    /// A meta value of none of its family's lengths.
    #[error("invalid {what} meta: expected a value of {expected} bytes, got {found}")]
    MetaSize {
        /// The family (`hash`, `set`, `zset`, `list`, `stream`).
        what: &'static str,
        /// The accepted lengths, as text (`8 or 16`).
        expected: &'static str,
        /// The value's length.
        found: usize,
    },
    /// A meta length above `i64::MAX`.
    #[error("invalid {what} meta: length {len} exceeds int64 max")]
    MetaLength {
        /// The family.
        what: &'static str,
        /// The declared length.
        len: u64,
    },
    /// A wide-column key shorter than its 4-byte user-key length.
    #[error(
        "invalid {what} key: wide-column key truncated: expected a 4-byte user-key length, got {found} bytes"
    )]
    WideKeyLength {
        /// The family (`hash`, `set`, `zset`, `stream`, `stream entry`).
        what: &'static str,
        /// Bytes after the prefix.
        found: usize,
    },
    /// A wide-column key whose user-key length runs past its end.
    #[error("invalid {what} key: wide-column key truncated: user-key length {expected} but only {found} bytes follow")]
    WideKeyUserKey {
        /// The family.
        what: &'static str,
        /// The declared user-key length.
        expected: u64,
        /// Bytes after the length.
        found: u64,
    },
    /// A list item key without its 8-byte sequence number.
    #[error("invalid list item key: expected at least 8 bytes (the seq) after the prefix, got {found}")]
    ListItemKey {
        /// Bytes after the prefix.
        found: usize,
    },
    /// A stream entry key whose tail after the user key is not 16 bytes.
    #[error("invalid stream entry key: expected 16 bytes (ms, seq) after the user key, got {found}")]
    StreamEntryKey {
        /// Bytes after the user key.
        found: usize,
    },
    /// A `!zs|mem|` value that is not 8 bytes.
    #[error("invalid zset member: expected an 8-byte score, got {found} bytes")]
    ZsetScoreSize {
        /// The value's length.
        found: usize,
    },
    /// A `!zs|mem|` score that is NaN.
    #[error("invalid zset member: score is NaN")]
    ZsetScoreNan,
    /// A legacy zset blob without its magic.
    #[error("invalid zset legacy blob: missing magic 00 52 5A 01")]
    ZsetLegacyMagic,
    /// A legacy zset blob whose protobuf does not decode.
    #[error("invalid zset legacy blob: protobuf: {0}")]
    ZsetLegacyProto(#[source] prost::DecodeError),
    /// A legacy zset blob with a NaN score.
    #[error("invalid zset legacy blob: member {member:?} has a NaN score")]
    ZsetLegacyNan {
        /// The member whose score is NaN.
        member: String,
    },
    /// A stream entry value without its magic.
    #[error("invalid stream entry: missing magic 00 52 58 45 01")]
    StreamEntryMagic,
    /// A stream entry whose protobuf does not decode (including invalid UTF-8).
    #[error("invalid stream entry: protobuf: {0}")]
    StreamEntryProto(#[source] prost::DecodeError),
    /// A stream entry with an odd number of field strings.
    #[error("invalid stream entry: odd number of fields ({found}), expected name/value pairs")]
    StreamEntryOdd {
        /// The number of field strings.
        found: usize,
    },
}

// ---------------------------------------------------------------------------------------
// Small integer helpers.

/// `BE64` at `at`, if the eight bytes are there (the one checked big-endian read of the
/// Redis adapter).
pub(super) fn be64(b: &[u8], at: usize) -> Option<u64> {
    let a: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_be_bytes(a))
}

/// `sortable_i64(s)`: BE64 of `s` with the sign bit flipped (redis.md §0).
pub fn sortable_i64(s: i64) -> [u8; 8] {
    ((s as u64) ^ 0x8000_0000_0000_0000).to_be_bytes()
}

/// Inverse of [`sortable_i64`].
pub fn from_sortable_i64(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ 0x8000_0000_0000_0000) as i64
}

/// `sortable_f64(f)`: −0 normalised to +0, then positive values get the sign bit flipped and
/// negative values all bits flipped, big-endian (redis.md §0).
pub fn sortable_f64(f: f64) -> [u8; 8] {
    let f = if f == 0.0 { 0.0 } else { f };
    let b = f.to_bits();
    let b = if b & 0x8000_0000_0000_0000 == 0 {
        b ^ 0x8000_0000_0000_0000
    } else {
        !b
    };
    b.to_be_bytes()
}

// ---------------------------------------------------------------------------------------
// Strings and HLL (§2.2, §2.3).

/// A decoded string or HLL value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enveloped<'a> {
    /// The user value (string) or sketch payload (HLL).
    pub body: &'a [u8],
    /// `None` for a legacy (raw) value; `Some(ms)` for the new format, which owns the TTL
    /// even when `ms` is 0 (= no TTL). Clamped to `i64::MAX`.
    pub inline_ttl: Option<u64>,
}

/// Envelope version byte of strings.
pub const STRING_VERSION: u8 = 0x01;
/// Envelope version byte of HyperLogLogs.
pub const HLL_VERSION: u8 = 0x02;

/// Parse a string (`version` [`STRING_VERSION`]) or HLL ([`HLL_VERSION`]) value.
pub fn parse_envelope(value: &[u8], version: u8) -> Result<Enveloped<'_>, LayoutError> {
    let what = if version == STRING_VERSION {
        "string"
    } else {
        "HLL"
    };
    if value.len() < 2 || value[0] != 0xFF || value[1] != version {
        return Ok(Enveloped {
            body: value,
            inline_ttl: None,
        });
    }
    let Some(&flags) = value.get(2) else {
        return Err(LayoutError::EnvelopeHeader { what, version });
    };
    if flags & 1 == 0 {
        return Ok(Enveloped {
            body: &value[3..],
            inline_ttl: Some(0),
        });
    }
    let Some(ms) = be64(value, 3) else {
        return Err(LayoutError::EnvelopeTtl {
            what,
            found: value.len().saturating_sub(3),
        });
    };
    Ok(Enveloped {
        body: &value[11..],
        inline_ttl: Some(ms.min(I64_MAX)),
    })
}

/// Whether a value is a new-format string with bit0 (has TTL) set.
pub fn has_inline_ttl(value: &[u8]) -> bool {
    value.len() >= 3 && value[0] == 0xFF && value[1] == STRING_VERSION && value[2] & 1 == 1
}

/// Build a new-format envelope: `FF v 00 body`, or `FF v 01 BE64(ms) body` when `ms != 0`.
pub fn build_envelope(version: u8, body: &[u8], ms: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 11);
    v.extend_from_slice(&[0xFF, version]);
    if ms == 0 {
        v.push(0);
    } else {
        v.push(1);
        v.extend_from_slice(&ms.to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

/// The value the encoder emits for a string: always the `FF 01` envelope (§6.2).
pub fn build_string_value(body: &[u8], ms: u64) -> Vec<u8> {
    build_envelope(STRING_VERSION, body, ms)
}

/// The value the encoder emits for an HLL: the raw payload without TTL, else `FF 02 01 BE64 payload`.
pub fn build_hll_value(payload: &[u8], ms: u64) -> Vec<u8> {
    if ms == 0 {
        payload.to_vec()
    } else {
        build_envelope(HLL_VERSION, payload, ms)
    }
}

// ---------------------------------------------------------------------------------------
// TTL scan index (§2.4).

/// Parse a `!redis|ttl|` value: exactly 8 bytes, BE64 ms, clamped to `i64::MAX`.
pub fn parse_ttl_value(value: &[u8]) -> Result<u64, LayoutError> {
    if value.len() != 8 {
        return Err(LayoutError::TtlValue { found: value.len() });
    }
    Ok(be64(value, 0).unwrap_or(0).min(I64_MAX))
}

/// Build a `!redis|ttl|` value.
pub fn build_ttl_value(ms: u64) -> Vec<u8> {
    ms.to_be_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------
// Metas.

/// A decoded collection meta: the declared length and the inline TTL slot, if the layout
/// has one (`Some(0)` = the slot is present and says "no TTL"; not clamped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// The declared length (at most `i64::MAX`).
    pub len: u64,
    /// The inline TTL slot (ms), if the layout has one.
    pub inline_ttl: Option<u64>,
}

fn check_len(len: u64, what: &'static str) -> Result<u64, LayoutError> {
    if len > I64_MAX {
        return Err(LayoutError::MetaLength { what, len });
    }
    Ok(len)
}

/// Parse a hash/set/zset count meta: 8 bytes (count) or 16 (count + BE64 ms).
/// `what` names the type in the message (`hash`, `set`, `zset`).
pub fn parse_count_meta(value: &[u8], what: &'static str) -> Result<Meta, LayoutError> {
    match value.len() {
        8 | 16 => {
            let len = check_len(be64(value, 0).unwrap_or(0), what)?;
            Ok(Meta {
                len,
                inline_ttl: be64(value, 8),
            })
        }
        found => Err(LayoutError::MetaSize {
            what,
            expected: "8 or 16",
            found,
        }),
    }
}

/// Build a count meta: 8 bytes, or 16 with the TTL when `ms != 0`.
pub fn build_count_meta(count: u64, ms: u64) -> Vec<u8> {
    let mut v = count.to_be_bytes().to_vec();
    if ms != 0 {
        v.extend_from_slice(&ms.to_be_bytes());
    }
    v
}

/// Parse a list meta: 24 bytes `Head Tail Len` or 32 with `ExpireAtMs`. Only Len and the
/// TTL are read.
pub fn parse_list_meta(value: &[u8]) -> Result<Meta, LayoutError> {
    match value.len() {
        24 | 32 => {
            let len = check_len(be64(value, 16).unwrap_or(0), "list")?;
            Ok(Meta {
                len,
                inline_ttl: be64(value, 24),
            })
        }
        found => Err(LayoutError::MetaSize {
            what: "list",
            expected: "24 or 32",
            found,
        }),
    }
}

/// Build a list meta with Head 0, Tail = Len = `n`, and the TTL when `ms != 0` (24/32 bytes).
pub fn build_list_meta(n: u64, ms: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(32);
    v.extend_from_slice(&0u64.to_be_bytes());
    v.extend_from_slice(&n.to_be_bytes());
    v.extend_from_slice(&n.to_be_bytes());
    if ms != 0 {
        v.extend_from_slice(&ms.to_be_bytes());
    }
    v
}

/// A decoded stream meta (the trim cursor of the 48-byte form is not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamMeta {
    /// The declared number of entries (at most `i64::MAX`).
    pub length: u64,
    /// The last entry id, milliseconds part.
    pub last_ms: u64,
    /// The last entry id, sequence part.
    pub last_seq: u64,
    /// The inline TTL (ms), in the 32- and 48-byte forms.
    pub inline_ttl: Option<u64>,
}

/// Parse a stream meta: 24, 32 or 48 bytes.
pub fn parse_stream_meta(value: &[u8]) -> Result<StreamMeta, LayoutError> {
    match value.len() {
        24 | 32 | 48 => Ok(StreamMeta {
            length: check_len(be64(value, 0).unwrap_or(0), "stream")?,
            last_ms: be64(value, 8).unwrap_or(0),
            last_seq: be64(value, 16).unwrap_or(0),
            inline_ttl: be64(value, 24),
        }),
        found => Err(LayoutError::MetaSize {
            what: "stream",
            expected: "24, 32 or 48",
            found,
        }),
    }
}

/// Build a stream meta: 24 bytes, or 32 with the TTL when `ms != 0` (never 48).
pub fn build_stream_meta(length: u64, last_ms: u64, last_seq: u64, ms: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(32);
    for x in [length, last_ms, last_seq] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    if ms != 0 {
        v.extend_from_slice(&ms.to_be_bytes());
    }
    v
}

// ---------------------------------------------------------------------------------------
// Keys.

/// `prefix + len4(user_key) + user_key + suffix`: a wide-column key.
pub fn wide_key(prefix: &[u8], user_key: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 4 + user_key.len() + suffix.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(&(user_key.len() as u32).to_be_bytes());
    k.extend_from_slice(user_key);
    k.extend_from_slice(suffix);
    k
}

/// Split what follows a wide-column prefix into (user key, trailing bytes) (§2.5 parse rules):
/// at least 4 bytes, then `ukLen = BE32`, then at least `ukLen` bytes. `what` names the
/// family in the error.
pub fn parse_wide<'k>(rest: &'k [u8], what: &'static str) -> Result<(&'k [u8], &'k [u8]), LayoutError> {
    let Some(head) = rest.get(..4) else {
        return Err(LayoutError::WideKeyLength {
            what,
            found: rest.len(),
        });
    };
    let uk_len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
    let avail = (rest.len() - 4) as u64;
    if avail < uk_len {
        return Err(LayoutError::WideKeyUserKey {
            what,
            expected: uk_len,
            found: avail,
        });
    }
    let (uk, tail) = rest[4..].split_at(uk_len as usize);
    Ok((uk, tail))
}

/// `!lst|itm|` + k + sortable_i64(seq).
pub fn list_item_key(user_key: &[u8], seq: i64) -> Vec<u8> {
    let mut k = Vec::with_capacity(LIST_ITEM_PREFIX.len() + user_key.len() + 8);
    k.extend_from_slice(LIST_ITEM_PREFIX);
    k.extend_from_slice(user_key);
    k.extend_from_slice(&sortable_i64(seq));
    k
}

/// Split what follows `!lst|itm|` into (user key, seq): the last 8 bytes are the seq.
pub fn parse_list_item(rest: &[u8]) -> Result<(&[u8], i64), LayoutError> {
    if rest.len() < 8 {
        return Err(LayoutError::ListItemKey { found: rest.len() });
    }
    let (uk, seq) = rest.split_at(rest.len() - 8);
    let mut a = [0u8; 8];
    a.copy_from_slice(seq);
    Ok((uk, from_sortable_i64(a)))
}

/// `!lst|meta|` + k (no length prefix).
pub fn list_meta_key(user_key: &[u8]) -> Vec<u8> {
    [LIST_META_PREFIX, user_key].concat()
}

/// `!stream|entry|` + len4 + k + BE64 ms + BE64 seq.
pub fn stream_entry_key(user_key: &[u8], ms: u64, seq: u64) -> Vec<u8> {
    let mut tail = [0u8; 16];
    tail[..8].copy_from_slice(&ms.to_be_bytes());
    tail[8..].copy_from_slice(&seq.to_be_bytes());
    wide_key(STREAM_ENTRY_PREFIX, user_key, &tail)
}

/// Split what follows `!stream|entry|` into (user key, ms, seq): exactly 16 bytes must follow
/// the user key.
pub fn parse_stream_entry_key(rest: &[u8]) -> Result<(&[u8], u64, u64), LayoutError> {
    let (uk, tail) = parse_wide(rest, "stream entry")?;
    if tail.len() != 16 {
        return Err(LayoutError::StreamEntryKey { found: tail.len() });
    }
    Ok((uk, be64(tail, 0).unwrap_or(0), be64(tail, 8).unwrap_or(0)))
}

/// `!zs|scr|` + len4 + k + sortable_f64(score) + member.
pub fn zset_score_key(user_key: &[u8], score: f64, member: &[u8]) -> Vec<u8> {
    let mut suffix = Vec::with_capacity(8 + member.len());
    suffix.extend_from_slice(&sortable_f64(score));
    suffix.extend_from_slice(member);
    wide_key(ZSET_SCORE_PREFIX, user_key, &suffix)
}

// ---------------------------------------------------------------------------------------
// Zset scores and the legacy blob (§2.8).

/// Parse a `!zs|mem|` value: exactly 8 bytes, BE f64 bits, not NaN (±Inf and −0 kept).
pub fn parse_zset_score(value: &[u8]) -> Result<f64, LayoutError> {
    if value.len() != 8 {
        return Err(LayoutError::ZsetScoreSize { found: value.len() });
    }
    let f = f64::from_bits(be64(value, 0).unwrap_or(0));
    if f.is_nan() {
        return Err(LayoutError::ZsetScoreNan);
    }
    Ok(f)
}

/// Build a `!zs|mem|` value.
pub fn build_zset_score(score: f64) -> Vec<u8> {
    score.to_bits().to_be_bytes().to_vec()
}

/// `message RedisZSetEntry { string member = 1; double score = 2; }`
#[derive(Clone, PartialEq, Message)]
pub struct RedisZSetEntry {
    /// The member.
    #[prost(string, tag = "1")]
    pub member: String,
    /// Its score.
    #[prost(double, tag = "2")]
    pub score: f64,
}

/// `message RedisZSetValue { repeated RedisZSetEntry entries = 1; }`
#[derive(Clone, PartialEq, Message)]
pub struct RedisZSetValue {
    /// The entries, in blob order.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<RedisZSetEntry>,
}

/// `message RedisStreamEntry { string id = 1; repeated string fields = 2; }`
#[derive(Clone, PartialEq, Message)]
pub struct RedisStreamEntry {
    /// The entry id `ms-seq`.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Field names and values, interleaved.
    #[prost(string, repeated, tag = "2")]
    pub fields: Vec<String>,
}

/// Parse a legacy `!redis|zset|` blob into its entries (in blob order).
pub fn parse_zset_legacy(value: &[u8]) -> Result<Vec<RedisZSetEntry>, LayoutError> {
    let Some(body) = value.strip_prefix(ZSET_LEGACY_MAGIC) else {
        return Err(LayoutError::ZsetLegacyMagic);
    };
    let v = RedisZSetValue::decode(body).map_err(LayoutError::ZsetLegacyProto)?;
    if let Some(e) = v.entries.iter().find(|e| e.score.is_nan()) {
        return Err(LayoutError::ZsetLegacyNan {
            member: e.member.clone(),
        });
    }
    Ok(v.entries)
}

/// Build a legacy zset blob (tests and tools only: the encoder never emits it).
pub fn build_zset_legacy(entries: &[(&str, f64)]) -> Vec<u8> {
    let v = RedisZSetValue {
        entries: entries
            .iter()
            .map(|(m, s)| RedisZSetEntry {
                member: (*m).to_owned(),
                score: *s,
            })
            .collect(),
    };
    let mut out = ZSET_LEGACY_MAGIC.to_vec();
    out.extend_from_slice(&v.encode_to_vec());
    out
}

// ---------------------------------------------------------------------------------------
// Stream entries (§2.9).

/// Parse a stream entry value into its interleaved fields `[n1, v1, n2, v2, …]` (the proto
/// `id` is ignored). Bad magic, a protobuf error (incl. invalid UTF-8) or an odd count fail.
pub fn parse_stream_entry(value: &[u8]) -> Result<Vec<String>, LayoutError> {
    let Some(body) = value.strip_prefix(STREAM_ENTRY_MAGIC) else {
        return Err(LayoutError::StreamEntryMagic);
    };
    parse_stream_entry_body(body)
}

/// Like [`parse_stream_entry`], for the protobuf body after the magic.
pub fn parse_stream_entry_body(body: &[u8]) -> Result<Vec<String>, LayoutError> {
    let e = RedisStreamEntry::decode(body).map_err(LayoutError::StreamEntryProto)?;
    if e.fields.len() % 2 != 0 {
        return Err(LayoutError::StreamEntryOdd {
            found: e.fields.len(),
        });
    }
    Ok(e.fields)
}

/// Build a stream entry value: magic + proto `{id, fields}`.
pub fn build_stream_entry(id: &str, fields: &[String]) -> Vec<u8> {
    let e = RedisStreamEntry {
        id: id.to_owned(),
        fields: fields.to_vec(),
    };
    let mut out = STREAM_ENTRY_MAGIC.to_vec();
    out.extend_from_slice(&e.encode_to_vec());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn sortable_i64_examples() {
        assert_eq!(sortable_i64(0), h("80 00 00 00 00 00 00 00").as_slice());
        assert_eq!(sortable_i64(1), h("80 00 00 00 00 00 00 01").as_slice());
        assert_eq!(sortable_i64(-1), h("7F FF FF FF FF FF FF FF").as_slice());
        assert_eq!(sortable_i64(-2), h("7F FF FF FF FF FF FF FE").as_slice());
    }

    #[test]
    fn sortable_f64_examples() {
        assert_eq!(sortable_f64(1.5), h("BF F8 00 00 00 00 00 00").as_slice());
        assert_eq!(sortable_f64(-3.25), h("3F F5 FF FF FF FF FF FF").as_slice());
        assert_eq!(sortable_f64(0.0), h("80 00 00 00 00 00 00 00").as_slice());
        assert_eq!(sortable_f64(-0.0), h("80 00 00 00 00 00 00 00").as_slice());
        assert_eq!(
            sortable_f64(f64::INFINITY),
            h("FF F0 00 00 00 00 00 00").as_slice()
        );
        assert_eq!(
            sortable_f64(f64::NEG_INFINITY),
            h("00 0F FF FF FF FF FF FF").as_slice()
        );
    }

    #[test]
    fn string_envelope_layouts() {
        // TestRedisEncodeStringInlineValueLayout.
        assert_eq!(build_string_value(b"ab", 0), h("FF 01 00 61 62"));
        assert_eq!(
            build_string_value(b"ab", 0x0102030405060708),
            h("FF 01 01 01 02 03 04 05 06 07 08 61 62")
        );
        let v = h("FF 01 01 01 02 03 04 05 06 07 08 61 62");
        assert_eq!(
            parse_envelope(&v, STRING_VERSION).unwrap(),
            Enveloped {
                body: b"ab",
                inline_ttl: Some(0x0102030405060708)
            }
        );
        assert!(has_inline_ttl(&v));
        assert!(!has_inline_ttl(&h("FF 01 00 61")));
        assert_eq!(
            parse_envelope(&h("FF 01 00 68 69"), STRING_VERSION).unwrap(),
            Enveloped {
                body: b"hi",
                inline_ttl: Some(0)
            }
        );
        // Flag bits other than bit0 are ignored.
        assert_eq!(
            parse_envelope(&h("FF 01 FE 68"), STRING_VERSION).unwrap(),
            Enveloped {
                body: b"h",
                inline_ttl: Some(0)
            }
        );
        // Legacy: no magic.
        let raw = h("00 FF 01 72 61 77");
        assert_eq!(
            parse_envelope(&raw, STRING_VERSION).unwrap(),
            Enveloped {
                body: &raw,
                inline_ttl: None
            }
        );
        // An HLL envelope is a legacy string and vice versa.
        let hll = h("FF 02 00 01");
        assert_eq!(parse_envelope(&hll, STRING_VERSION).unwrap().inline_ttl, None);
        assert_eq!(
            parse_envelope(&hll, HLL_VERSION).unwrap(),
            Enveloped {
                body: &[1],
                inline_ttl: Some(0)
            }
        );
        assert_eq!(parse_envelope(&[0xFF], STRING_VERSION).unwrap().inline_ttl, None);
        assert_eq!(parse_envelope(&[], STRING_VERSION).unwrap().body, b"");
    }

    #[test]
    fn string_envelope_errors_and_clamp() {
        // TestRedisDB_RejectsTruncatedNewFormat.
        let e = parse_envelope(&h("FF 01"), STRING_VERSION).unwrap_err();
        assert_eq!(
            e,
            LayoutError::EnvelopeHeader {
                what: "string",
                version: 1
            }
        );
        assert_eq!(
            e.to_string(),
            "invalid string value: header truncated (FF 01 without a flags byte)"
        );
        let e = parse_envelope(&h("FF 01 01 00 00 01"), STRING_VERSION).unwrap_err();
        assert_eq!(
            e,
            LayoutError::EnvelopeTtl {
                what: "string",
                found: 3
            }
        );
        assert_eq!(
            e.to_string(),
            "invalid string value: ttl section truncated (flags bit0 set, 3 of 8 bytes present)"
        );
        let e = parse_envelope(&h("FF 02 01"), HLL_VERSION).unwrap_err();
        assert!(
            matches!(
                e,
                LayoutError::EnvelopeTtl {
                    what: "HLL",
                    found: 0
                }
            ),
            "{e}"
        );
        let v = h("FF 01 01 FF FF FF FF FF FF FF FF 78");
        assert_eq!(
            parse_envelope(&v, STRING_VERSION).unwrap().inline_ttl,
            Some(9223372036854775807)
        );
    }

    #[test]
    fn hll_values() {
        // TestRedisEncodeHLLTTLIsInlineInValue.
        assert_eq!(build_hll_value(b"sk", 0), b"sk");
        assert_eq!(
            build_hll_value(b"sk", 5),
            h("FF 02 01 00 00 00 00 00 00 00 05 73 6B")
        );
    }

    #[test]
    fn ttl_values() {
        assert_eq!(
            parse_ttl_value(&h("00 00 01 8F 00 00 00 00")).unwrap(),
            0x018F00000000
        );
        assert_eq!(parse_ttl_value(&[0xFF; 8]).unwrap(), i64::MAX as u64);
        let e = parse_ttl_value(&[0, 1]).unwrap_err();
        assert_eq!(e, LayoutError::TtlValue { found: 2 });
        assert_eq!(
            e.to_string(),
            "invalid TTL value: expected exactly 8 bytes, got 2"
        );
        assert_eq!(build_ttl_value(258), h("00 00 00 00 00 00 01 02"));
    }

    #[test]
    fn count_meta() {
        assert_eq!(
            parse_count_meta(&h("00 00 00 00 00 00 00 02"), "hash").unwrap(),
            Meta {
                len: 2,
                inline_ttl: None
            }
        );
        assert_eq!(
            parse_count_meta(&h("00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 00"), "hash").unwrap(),
            Meta {
                len: 2,
                inline_ttl: Some(0)
            }
        );
        // 16-byte TTL is not clamped.
        let v = [vec![0u8; 8], vec![0xFF; 8]].concat();
        assert_eq!(parse_count_meta(&v, "set").unwrap().inline_ttl, Some(u64::MAX));
        assert_eq!(
            parse_count_meta(&(i64::MAX as u64).to_be_bytes(), "zset")
                .unwrap()
                .len,
            i64::MAX as u64
        );
        let e = parse_count_meta(&(1u64 << 63).to_be_bytes(), "hash").unwrap_err();
        assert_eq!(
            e,
            LayoutError::MetaLength {
                what: "hash",
                len: 1 << 63
            }
        );
        assert_eq!(
            e.to_string(),
            "invalid hash meta: length 9223372036854775808 exceeds int64 max"
        );
        let e = parse_count_meta(&[0], "set").unwrap_err();
        assert!(
            matches!(
                e,
                LayoutError::MetaSize {
                    what: "set",
                    expected: "8 or 16",
                    found: 1
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "invalid set meta: expected a value of 8 or 16 bytes, got 1"
        );
        assert_eq!(build_count_meta(2, 0), h("00 00 00 00 00 00 00 02"));
        assert_eq!(
            build_count_meta(2, 7),
            h("00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 07")
        );
    }

    #[test]
    fn list_meta() {
        let v = build_list_meta(3, 0);
        assert_eq!(
            v,
            h("00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 03  00 00 00 00 00 00 00 03")
        );
        assert_eq!(
            parse_list_meta(&v).unwrap(),
            Meta {
                len: 3,
                inline_ttl: None
            }
        );
        let v = build_list_meta(3, 9);
        assert_eq!(v.len(), 32);
        assert_eq!(
            parse_list_meta(&v).unwrap(),
            Meta {
                len: 3,
                inline_ttl: Some(9)
            }
        );
        // Head and Tail are not checked.
        let v = h("FF FF FF FF FF FF FF FE  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 02");
        assert_eq!(parse_list_meta(&v).unwrap().len, 2);
        let e = parse_list_meta(&[0; 8]).unwrap_err();
        assert!(
            matches!(
                e,
                LayoutError::MetaSize {
                    what: "list",
                    found: 8,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "invalid list meta: expected a value of 24 or 32 bytes, got 8"
        );
        let mut v = vec![0u8; 24];
        v[16] = 0x80;
        assert!(matches!(
            parse_list_meta(&v),
            Err(LayoutError::MetaLength { what: "list", .. })
        ));
    }

    #[test]
    fn stream_meta() {
        let v = build_stream_meta(2, 1714400000001, 0, 0);
        assert_eq!(v.len(), 24);
        assert_eq!(
            parse_stream_meta(&v).unwrap(),
            StreamMeta {
                length: 2,
                last_ms: 1714400000001,
                last_seq: 0,
                inline_ttl: None
            }
        );
        let v = build_stream_meta(2, 5, 6, 7);
        assert_eq!(&v[24..], &7u64.to_be_bytes());
        assert_eq!(parse_stream_meta(&v).unwrap().inline_ttl, Some(7));
        // 48 bytes: the trim cursor is accepted and ignored.
        let v48 = [v.clone(), vec![0xAA; 16]].concat();
        assert_eq!(parse_stream_meta(&v48).unwrap(), parse_stream_meta(&v).unwrap());
        let e = parse_stream_meta(&[0; 3]).unwrap_err();
        assert!(
            matches!(
                e,
                LayoutError::MetaSize {
                    what: "stream",
                    found: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "invalid stream meta: expected a value of 24, 32 or 48 bytes, got 3"
        );
        let mut big = vec![0u8; 24];
        big[0] = 0x80;
        assert!(matches!(
            parse_stream_meta(&big),
            Err(LayoutError::MetaLength { what: "stream", .. })
        ));
        let mut max = vec![0u8; 24];
        max[..8].copy_from_slice(&(i64::MAX as u64).to_be_bytes());
        assert_eq!(parse_stream_meta(&max).unwrap().length, i64::MAX as u64);
    }

    #[test]
    fn wide_keys() {
        let k = wide_key(HASH_FIELD_PREFIX, b"user:42", b"age");
        assert_eq!(
            k,
            [b"!hs|fld|".as_slice(), &h("00 00 00 07"), b"user:42", b"age"].concat()
        );
        let rest = &k[HASH_FIELD_PREFIX.len()..];
        assert_eq!(
            parse_wide(rest, "hash").unwrap(),
            (b"user:42".as_slice(), b"age".as_slice())
        );
        // Empty field name and empty user key.
        assert_eq!(
            parse_wide(&h("00 00 00 00"), "hash").unwrap(),
            (b"".as_slice(), b"".as_slice())
        );
        // TestRedisDB_HashRejectsTruncatedFieldKey: ukLen=10 with 3 bytes.
        let e = parse_wide(&[0, 0, 0, 10, b'a', b'b', b'c'], "hash").unwrap_err();
        assert_eq!(
            e,
            LayoutError::WideKeyUserKey {
                what: "hash",
                expected: 10,
                found: 3
            }
        );
        assert_eq!(
            e.to_string(),
            "invalid hash key: wide-column key truncated: user-key length 10 but only 3 bytes follow"
        );
        let e = parse_wide(&[0, 0, 1], "set").unwrap_err();
        assert_eq!(
            e,
            LayoutError::WideKeyLength {
                what: "set",
                found: 3
            }
        );
        assert_eq!(
            e.to_string(),
            "invalid set key: wide-column key truncated: expected a 4-byte user-key length, got 3 bytes"
        );
        assert!(matches!(
            parse_wide(&[0xFF, 0xFF, 0xFF, 0xFF], "zset"),
            Err(LayoutError::WideKeyUserKey { found: 0, .. })
        ));
    }

    #[test]
    fn list_item_keys() {
        let k = list_item_key(b"q", -1);
        assert_eq!(
            k,
            [b"!lst|itm|q".as_slice(), &h("7F FF FF FF FF FF FF FF")].concat()
        );
        assert_eq!(
            parse_list_item(&k[LIST_ITEM_PREFIX.len()..]).unwrap(),
            (b"q".as_slice(), -1)
        );
        assert_eq!(parse_list_item(&sortable_i64(5)).unwrap(), (b"".as_slice(), 5));
        let e = parse_list_item(b"").unwrap_err();
        assert_eq!(e, LayoutError::ListItemKey { found: 0 });
        assert_eq!(
            e.to_string(),
            "invalid list item key: expected at least 8 bytes (the seq) after the prefix, got 0"
        );
        assert_eq!(list_meta_key(b"q"), b"!lst|meta|q");
    }

    #[test]
    fn stream_entry_keys() {
        let k = stream_entry_key(b"s", 1714400000000, 7);
        let rest = &k[STREAM_ENTRY_PREFIX.len()..];
        assert_eq!(
            rest,
            [
                h("00 00 00 01"),
                b"s".to_vec(),
                h("00 00 01 8F 2A 33 F8 00 00 00 00 00 00 00 00 07")
            ]
            .concat()
        );
        assert_eq!(
            parse_stream_entry_key(rest).unwrap(),
            (b"s".as_slice(), 1714400000000, 7)
        );
        // TestRedisDB_StreamRejectsMalformedEntryKey: a 4-byte tail.
        let e = parse_stream_entry_key(&[0, 0, 0, 1, b's', 1, 2, 3, 4]).unwrap_err();
        assert_eq!(e, LayoutError::StreamEntryKey { found: 4 });
        assert_eq!(
            e.to_string(),
            "invalid stream entry key: expected 16 bytes (ms, seq) after the user key, got 4"
        );
        let e = parse_stream_entry_key(&[0, 0]).unwrap_err();
        assert!(
            matches!(
                e,
                LayoutError::WideKeyLength {
                    what: "stream entry",
                    found: 2
                }
            ),
            "{e}"
        );
        assert!(e
            .to_string()
            .starts_with("invalid stream entry key: wide-column key truncated"));
    }

    #[test]
    fn zset_scores() {
        assert_eq!(build_zset_score(100.0), h("40 59 00 00 00 00 00 00"));
        assert_eq!(parse_zset_score(&h("40 59 00 00 00 00 00 00")).unwrap(), 100.0);
        let neg0 = parse_zset_score(&h("80 00 00 00 00 00 00 00")).unwrap();
        assert!(neg0 == 0.0 && neg0.is_sign_negative());
        assert_eq!(
            parse_zset_score(&h("7F F0 00 00 00 00 00 00")).unwrap(),
            f64::INFINITY
        );
        let e = parse_zset_score(&[1, 2, 3]).unwrap_err();
        assert_eq!(e, LayoutError::ZsetScoreSize { found: 3 });
        assert_eq!(
            e.to_string(),
            "invalid zset member: expected an 8-byte score, got 3 bytes"
        );
        let e = parse_zset_score(&h("7F F8 00 00 00 00 00 01")).unwrap_err();
        assert_eq!(e, LayoutError::ZsetScoreNan);
        assert_eq!(e.to_string(), "invalid zset member: score is NaN");
        let k = zset_score_key(b"z", 1.5, b"m");
        assert_eq!(
            k,
            [
                b"!zs|scr|".as_slice(),
                &h("00 00 00 01"),
                b"z",
                &h("BF F8 00 00 00 00 00 00"),
                b"m"
            ]
            .concat()
        );
        assert_eq!(zset_score_key(b"z", -0.0, b"m"), zset_score_key(b"z", 0.0, b"m"));
    }

    #[test]
    fn zset_legacy_blob_spec_bytes() {
        let spec = h("00 52 5A 01 0A 10 0A 05 61 6C 69 63 65 11 00 00 00 00 00 00 59 40");
        assert_eq!(build_zset_legacy(&[("alice", 100.0)]), spec);
        let e = parse_zset_legacy(&spec).unwrap();
        assert_eq!(
            e,
            vec![RedisZSetEntry {
                member: "alice".into(),
                score: 100.0
            }]
        );
        let e = parse_zset_legacy(&spec[1..]).unwrap_err();
        assert_eq!(e, LayoutError::ZsetLegacyMagic);
        assert_eq!(
            e.to_string(),
            "invalid zset legacy blob: missing magic 00 52 5A 01"
        );
        let e = parse_zset_legacy(&[ZSET_LEGACY_MAGIC, &[0x0A, 0x10, 0x0A]].concat()).unwrap_err();
        assert!(matches!(e, LayoutError::ZsetLegacyProto(_)), "{e}");
        assert!(
            e.to_string().starts_with("invalid zset legacy blob: protobuf: "),
            "{e}"
        );
        let nan = build_zset_legacy(&[("x", f64::NAN)]);
        let e = parse_zset_legacy(&nan).unwrap_err();
        assert_eq!(e, LayoutError::ZsetLegacyNan { member: "x".into() });
        assert_eq!(
            e.to_string(),
            "invalid zset legacy blob: member \"x\" has a NaN score"
        );
        // Invalid UTF-8 in a proto3 string is a protobuf error.
        let bad = [ZSET_LEGACY_MAGIC, &[0x0A, 0x03, 0x0A, 0x01, 0xFF]].concat();
        assert!(matches!(
            parse_zset_legacy(&bad),
            Err(LayoutError::ZsetLegacyProto(_))
        ));
        assert_eq!(parse_zset_legacy(ZSET_LEGACY_MAGIC).unwrap(), vec![]);
    }

    #[test]
    fn stream_entry_spec_bytes() {
        let spec = h("00 52 58 45 01 0A 03 31 2D 30 12 01 66 12 01 76");
        assert_eq!(build_stream_entry("1-0", &["f".into(), "v".into()]), spec);
        assert_eq!(
            parse_stream_entry(&spec).unwrap(),
            vec!["f".to_string(), "v".to_string()]
        );
        // Empty elements are written.
        assert_eq!(
            build_stream_entry("1-0", &["".into(), "".into()]),
            h("00 52 58 45 01 0A 03 31 2D 30 12 00 12 00")
        );
        let e = parse_stream_entry(&spec[1..]).unwrap_err();
        assert_eq!(e, LayoutError::StreamEntryMagic);
        assert_eq!(
            e.to_string(),
            "invalid stream entry: missing magic 00 52 58 45 01"
        );
        let odd = build_stream_entry("1-0", &["f".into()]);
        let e = parse_stream_entry(&odd).unwrap_err();
        assert_eq!(e, LayoutError::StreamEntryOdd { found: 1 });
        assert_eq!(
            e.to_string(),
            "invalid stream entry: odd number of fields (1), expected name/value pairs"
        );
        let bad = [STREAM_ENTRY_MAGIC, &[0x12, 0x01, 0xFF]].concat();
        let e = parse_stream_entry(&bad).unwrap_err();
        assert!(matches!(e, LayoutError::StreamEntryProto(_)), "{e}");
        assert!(
            e.to_string().starts_with("invalid stream entry: protobuf: "),
            "{e}"
        );
    }

    proptest! {
        #[test]
        fn sortable_i64_round_trip_and_order(a: i64, b: i64) {
            prop_assert_eq!(from_sortable_i64(sortable_i64(a)), a);
            prop_assert_eq!(a.cmp(&b), sortable_i64(a).cmp(&sortable_i64(b)));
        }

        #[test]
        fn sortable_f64_order(a in proptest::num::f64::ANY, b in proptest::num::f64::ANY) {
            prop_assume!(!a.is_nan() && !b.is_nan());
            let (sa, sb) = (sortable_f64(a), sortable_f64(b));
            match a.partial_cmp(&b) {
                Some(o) => prop_assert_eq!(o, sa.cmp(&sb)),
                None => unreachable!(),
            }
        }

        #[test]
        fn envelope_round_trip(body in proptest::collection::vec(any::<u8>(), 0..64),
                               ms in 0u64..=i64::MAX as u64, hll: bool) {
            let version = if hll { HLL_VERSION } else { STRING_VERSION };
            let v = build_envelope(version, &body, ms);
            let p = parse_envelope(&v, version).unwrap();
            prop_assert_eq!(p.body, body.as_slice());
            prop_assert_eq!(p.inline_ttl, Some(ms));
        }

        #[test]
        fn meta_round_trips(n in 0u64..=i64::MAX as u64, ms: u64, last_ms: u64, last_seq: u64) {
            let m = parse_count_meta(&build_count_meta(n, ms), "hash").unwrap();
            prop_assert_eq!(m, Meta { len: n, inline_ttl: (ms != 0).then_some(ms) });
            let m = parse_list_meta(&build_list_meta(n, ms)).unwrap();
            prop_assert_eq!(m, Meta { len: n, inline_ttl: (ms != 0).then_some(ms) });
            let m = parse_stream_meta(&build_stream_meta(n, last_ms, last_seq, ms)).unwrap();
            prop_assert_eq!(m, StreamMeta { length: n, last_ms, last_seq,
                inline_ttl: (ms != 0).then_some(ms) });
        }

        #[test]
        fn key_round_trips(uk in proptest::collection::vec(any::<u8>(), 0..40),
                           sub in proptest::collection::vec(any::<u8>(), 0..40),
                           seq: i64, ms: u64, sq: u64) {
            let k = wide_key(HASH_FIELD_PREFIX, &uk, &sub);
            let (a, b) = parse_wide(&k[HASH_FIELD_PREFIX.len()..], "hash").unwrap();
            prop_assert_eq!((a, b), (uk.as_slice(), sub.as_slice()));
            let k = list_item_key(&uk, seq);
            let (a, s) = parse_list_item(&k[LIST_ITEM_PREFIX.len()..]).unwrap();
            prop_assert_eq!((a, s), (uk.as_slice(), seq));
            let k = stream_entry_key(&uk, ms, sq);
            let got = parse_stream_entry_key(&k[STREAM_ENTRY_PREFIX.len()..]).unwrap();
            prop_assert_eq!(got, (uk.as_slice(), ms, sq));
        }

        #[test]
        fn proto_round_trips(fields in proptest::collection::vec(".{0,8}", 0..6),
                             id in "[0-9]{1,5}-[0-9]{1,3}",
                             members in proptest::collection::vec((".{0,8}",
                                 proptest::num::f64::ANY), 0..5)) {
            let mut fields = fields;
            if fields.len() % 2 == 1 { fields.pop(); }
            prop_assert_eq!(parse_stream_entry(&build_stream_entry(&id, &fields)).unwrap(), fields);
            let members: Vec<(&str, f64)> = members.iter()
                .filter(|(_, s)| !s.is_nan()).map(|(m, s)| (m.as_str(), *s)).collect();
            let got = parse_zset_legacy(&build_zset_legacy(&members)).unwrap();
            prop_assert_eq!(got.len(), members.len());
            for (g, (m, s)) in got.iter().zip(&members) {
                prop_assert_eq!(&g.member, m);
                // prost, like proto3, omits a zero score (so -0 decodes as +0).
                prop_assert!(g.score == *s && (*s == 0.0 || g.score.to_bits() == s.to_bits()));
            }
        }

        #[test]
        fn zset_score_round_trip(f in proptest::num::f64::ANY) {
            prop_assume!(!f.is_nan());
            prop_assert_eq!(parse_zset_score(&build_zset_score(f)).unwrap().to_bits(), f.to_bits());
        }
    }
}
