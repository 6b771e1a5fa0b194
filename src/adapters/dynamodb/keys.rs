//! DynamoDB internal keys (dynamodb_sqs.md §1.1, §1.4), both directions: the family
//! prefixes and the adapter's routes, the ordered key segment (`00` → `00 FF`, terminator `00 01`), item and GSI key
//! builders for the encoder, and the item / table-meta key parsers for the decoder.
//!
//! Key parsers return a [`KeyError`], key builders an [`ItemKeyError`]; the decoder wraps
//! them into `AdapterError::BadRecord` with the key, the encoder into `BadFile` with the file.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::number;
use super::proto::{AttributeValue, Item, TableSchema, Value};
use crate::adapters::Route;

/// Prefix of table-schema keys.
pub const TABLE_META_PREFIX: &[u8] = b"!ddb|meta|table|";
/// Prefix of table-generation keys.
pub const TABLE_GEN_PREFIX: &[u8] = b"!ddb|meta|gen|";
/// Prefix of item keys.
pub const ITEM_PREFIX: &[u8] = b"!ddb|item|";
/// Prefix of GSI row keys.
pub const GSI_PREFIX: &[u8] = b"!ddb|gsi|";

/// What a DynamoDB key is: the handler tag of its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A table schema row.
    TableMeta,
    /// A table generation row.
    TableGeneration,
    /// An item row.
    Item,
    /// A GSI row (derived from items, not dumped).
    GsiRow,
}

impl Kind {
    /// The kind of a route tag.
    pub fn from_tag(tag: u8) -> Option<Kind> {
        [Kind::TableMeta, Kind::TableGeneration, Kind::Item, Kind::GsiRow]
            .into_iter()
            .find(|k| *k as u8 == tag)
    }
}

/// The DynamoDB prefixes of the route table (dynamodb_sqs.md §1.1).
pub const ROUTES: &[Route] = &[
    Route::new(TABLE_META_PREFIX, "dynamodb", Kind::TableMeta as u8),
    Route::new(TABLE_GEN_PREFIX, "dynamodb", Kind::TableGeneration as u8),
    Route::new(ITEM_PREFIX, "dynamodb", Kind::Item as u8),
    Route::new(GSI_PREFIX, "dynamodb", Kind::GsiRow as u8),
];

/// What is wrong with an internal DynamoDB key (dynamodb_sqs.md §1.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key lacks its family prefix.
    #[error("key does not start with {prefix}")]
    Prefix {
        /// The expected prefix.
        prefix: &'static str,
    },
    /// A table-meta key with nothing after the prefix.
    #[error("empty table segment")]
    EmptyTableSegment,
    /// The table segment is not UTF-8.
    #[error("table segment is not base64url")]
    TableSegmentNotText,
    /// The table segment is not valid base64url.
    #[error("table segment: {reason}")]
    TableSegment {
        /// The base64 reader's message.
        reason: String,
    },
    /// An item key without a non-empty table segment followed by `|`.
    #[error("item key missing table/gen separator")]
    NoTableSeparator,
    /// An item key without a non-empty generation followed by `|`.
    #[error("item key missing gen/rest separator")]
    NoGenerationSeparator,
    /// The generation is not a decimal `u64`.
    #[error("item key generation {text:?} is not a decimal u64")]
    Generation {
        /// The generation text (lossy UTF-8).
        text: String,
    },
    /// Nothing after the generation.
    #[error("item key missing primary-key payload")]
    NoPrimaryKey,
}

/// Which key attribute of an item is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// The hash (partition) key.
    Hash,
    /// The range (sort) key.
    Range,
}

impl std::fmt::Display for KeyRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyRole::Hash => "hash",
            KeyRole::Range => "range",
        })
    }
}

/// Why an item's key attributes give no key or file path (dynamodb_sqs.md §1.4, §1.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemKeyError {
    /// The item lacks a primary key attribute.
    #[error("item missing {role}-key attribute {name:?}")]
    Missing {
        /// Hash or range.
        role: KeyRole,
        /// The attribute's name.
        name: String,
    },
    /// A key attribute that is not S, N or B (internal key).
    #[error("primary key attribute is not S, N, or B")]
    NotKeyKind,
    /// An `N` key attribute that has no ordered key encoding.
    #[error("number key {text:?}: {reason}")]
    Number {
        /// The number's text.
        text: String,
        /// Why it cannot be encoded.
        reason: &'static str,
    },
    /// An index key attribute is unusable.
    #[error("index {index:?}: {error}")]
    Index {
        /// The index's name.
        index: String,
        /// What is wrong with its attribute.
        error: Box<ItemKeyError>,
    },
    /// An `N` key attribute in a `big.Rat` form the file-name reading does not take.
    #[error("{role}-key number {text:?} is in a big.Rat form this decoder does not read (a/b, 0x, _, p)")]
    NumberForm {
        /// Hash or range.
        role: KeyRole,
        /// The number's text.
        text: String,
    },
    /// A key attribute that is not S, N or B (file name).
    #[error("{role} key has an unsupported attribute kind")]
    SegmentKind {
        /// Hash or range.
        role: KeyRole,
    },
    /// A key attribute whose file-name segment is `.` or `..`.
    #[error("{role}-key segment {segment:?} is a dot path (would escape items dir)")]
    DotSegment {
        /// Hash or range.
        role: KeyRole,
        /// The segment.
        segment: String,
    },
}

/// The generation every encoded table, item and GSI row gets (dynamodb_sqs.md §1.9).
pub const RESTORE_GENERATION: u64 = 1;
/// The ordered key encoding the encoder writes (`key_encoding_version`).
pub const ORDERED_KEY_ENCODING: u64 = 2;

/// `b64u(name)`: the table or index segment of a key.
pub fn name_segment(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(name)
}

/// Append `SEG(raw)`: every `00` escaped to `00 FF`, then the `00 01` terminator.
pub fn push_segment(out: &mut Vec<u8>, raw: &[u8]) {
    out.reserve(raw.len() + 2);
    for &b in raw {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

/// The raw key bytes of a primary or index key attribute: S its UTF-8, B its bytes, N the
/// ordered numeric encoding. `Err` for any other kind or a malformed number.
pub fn key_attribute_bytes(av: &AttributeValue) -> Result<Vec<u8>, ItemKeyError> {
    match &av.value {
        Some(Value::S(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::B(b)) => Ok(b.clone()),
        Some(Value::N(n)) => number::ordered_key(n).map_err(|reason| ItemKeyError::Number {
            text: n.clone(),
            reason,
        }),
        _ => Err(ItemKeyError::NotKeyKind),
    }
}

/// `!ddb|meta|table|<b64u(table)>`.
pub fn table_meta_key(table: &str) -> Vec<u8> {
    [TABLE_META_PREFIX, name_segment(table).as_bytes()].concat()
}

/// `!ddb|meta|table|<segment>`, from the segment as it is.
pub fn table_meta_key_raw(segment: &[u8]) -> Vec<u8> {
    [TABLE_META_PREFIX, segment].concat()
}

/// `!ddb|meta|gen|<b64u(table)>`.
pub fn table_gen_key(table: &str) -> Vec<u8> {
    [TABLE_GEN_PREFIX, name_segment(table).as_bytes()].concat()
}

/// `SEG(hash) ‖ SEG(range)?` of an item under `schema`'s primary key; `Err` names the
/// missing or unusable attribute.
pub fn primary_key_segments(schema: &TableSchema, item: &Item) -> Result<Vec<u8>, ItemKeyError> {
    let mut out = Vec::new();
    let hash = schema.hash_key();
    let av = item.attributes.get(hash).ok_or_else(|| ItemKeyError::Missing {
        role: KeyRole::Hash,
        name: hash.to_owned(),
    })?;
    push_segment(&mut out, &key_attribute_bytes(av)?);
    let range = schema.range_key();
    if !range.is_empty() {
        let av = item.attributes.get(range).ok_or_else(|| ItemKeyError::Missing {
            role: KeyRole::Range,
            name: range.to_owned(),
        })?;
        push_segment(&mut out, &key_attribute_bytes(av)?);
    }
    Ok(out)
}

/// `!ddb|item|<b64u(table)>|<gen>|` ‖ primary key segments.
pub fn item_key(table: &str, generation: u64, pk_segments: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ITEM_PREFIX.len() + table.len() * 2 + 24 + pk_segments.len());
    out.extend_from_slice(ITEM_PREFIX);
    out.extend_from_slice(name_segment(table).as_bytes());
    out.extend_from_slice(format!("|{generation}|").as_bytes());
    out.extend_from_slice(pk_segments);
    out
}

/// The GSI rows of one item (§1.9 step 8): for every index (sorted by name) whose key
/// attributes the item has, `(key, item_key)`. Sparse: a missing index attribute gives no
/// row; an index attribute that is not S/N/B is an error.
pub fn gsi_rows(
    table: &str,
    generation: u64,
    schema: &TableSchema,
    item: &Item,
    pk_segments: &[u8],
) -> Result<Vec<Vec<u8>>, ItemKeyError> {
    let mut rows = Vec::new();
    for (index, gsi) in &schema.global_secondary_indexes {
        let ks = gsi.key_schema.clone().unwrap_or_default();
        let Some(hash) = item.attributes.get(&ks.hash_key) else {
            continue;
        };
        let range = if ks.range_key.is_empty() {
            None
        } else {
            match item.attributes.get(&ks.range_key) {
                Some(av) => Some(av),
                None => continue,
            }
        };
        let mut key = Vec::new();
        key.extend_from_slice(GSI_PREFIX);
        key.extend_from_slice(name_segment(table).as_bytes());
        key.extend_from_slice(format!("|{generation}|").as_bytes());
        key.extend_from_slice(name_segment(index).as_bytes());
        key.push(b'|');
        let in_index = |error| ItemKeyError::Index {
            index: index.clone(),
            error: Box::new(error),
        };
        let bytes = key_attribute_bytes(hash).map_err(in_index)?;
        push_segment(&mut key, &bytes);
        if let Some(av) = range {
            let bytes = key_attribute_bytes(av).map_err(in_index)?;
            push_segment(&mut key, &bytes);
        }
        key.extend_from_slice(pk_segments);
        rows.push(key);
    }
    Ok(rows)
}

/// Decode a base64url table segment, Go `RawURLEncoding` style.
fn decode_name_segment(seg: &[u8]) -> Result<Vec<u8>, KeyError> {
    let text = std::str::from_utf8(seg).map_err(|_| KeyError::TableSegmentNotText)?;
    crate::dump::json::decode_base64url_lenient(text).map_err(|reason| KeyError::TableSegment { reason })
}

/// The table segment of a `!ddb|meta|table|` key and the table name it decodes to.
pub fn parse_table_meta_key(key: &[u8]) -> Result<(&[u8], Vec<u8>), KeyError> {
    let seg = key.strip_prefix(TABLE_META_PREFIX).ok_or(KeyError::Prefix {
        prefix: "!ddb|meta|table|",
    })?;
    if seg.is_empty() {
        return Err(KeyError::EmptyTableSegment);
    }
    let name = decode_name_segment(seg)?;
    Ok((seg, name))
}

/// The table segment and generation of `!ddb|item|<tbl>|<gen>|<pk…>` (`parseDDBItemKey`):
/// a non-empty base64url table segment, a decimal generation, and at least one byte of
/// primary key after it.
pub fn parse_item_key(key: &[u8]) -> Result<(&[u8], u64), KeyError> {
    let rest = key
        .strip_prefix(ITEM_PREFIX)
        .ok_or(KeyError::Prefix { prefix: "!ddb|item|" })?;
    let table_end = rest
        .iter()
        .position(|&b| b == b'|')
        .filter(|&i| i > 0)
        .ok_or(KeyError::NoTableSeparator)?;
    let (seg, after) = rest.split_at(table_end);
    decode_name_segment(seg)?;
    let after = after.get(1..).unwrap_or_default();
    let gen_end = after
        .iter()
        .position(|&b| b == b'|')
        .filter(|&i| i > 0)
        .ok_or(KeyError::NoGenerationSeparator)?;
    let gen_text = after.get(..gen_end).unwrap_or_default();
    let generation = std::str::from_utf8(gen_text)
        .ok()
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| KeyError::Generation {
            text: String::from_utf8_lossy(gen_text).into_owned(),
        })?;
    if after.len() == gen_end + 1 {
        return Err(KeyError::NoPrimaryKey);
    }
    Ok((seg, generation))
}

#[cfg(test)]
mod tests;
