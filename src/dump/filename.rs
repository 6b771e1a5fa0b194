//! Filename segment encoding (s3_tree_pipeline.md §5, redis.md §5.2): raw key bytes ↔ one
//! file-name segment. Unreserved bytes `A–Z a–z 0–9 - . _` pass, others become `%HH`
//! (uppercase); longer than 240 bytes, or looking like a fallback / `b64.` name, becomes
//! `<32 hex of sha256>__<percent-encoded first 64 bytes>`, which needs a KEYMAP record.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::json::decode_base64url_lenient;
use super::DumpError;

/// Longest encoded segment, in bytes (exactly this many is allowed).
pub const MAX_SEGMENT_BYTES: usize = 240;
/// Hex characters of the SHA-256 prefix of a fallback name.
const SHA_PREFIX_HEX: usize = 32;
/// Raw bytes of the key kept (percent-encoded) after the `__` of a fallback name.
const FALLBACK_SUFFIX_RAW: usize = 64;
/// Prefix of a binary (base64url) segment.
pub const BINARY_PREFIX: &str = "b64.";

/// An encoded segment and whether it is an irreversible SHA-256 fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The name concerned.
    pub name: String,
    /// Whether the segment is a SHA-256 fallback name (needs a KEYMAP record).
    pub is_fallback: bool,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encode `raw`, giving up (None) as soon as the output would exceed `limit` bytes.
fn percent_encode(raw: &[u8], limit: usize) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(limit));
    for &b in raw {
        if is_unreserved(b) {
            if out.len() + 1 > limit {
                return None;
            }
            out.push(char::from(b));
        } else {
            if out.len() + 3 > limit {
                return None;
            }
            out.push('%');
            out.push(char::from(UPPER_HEX[usize::from(b >> 4)]));
            out.push(char::from(UPPER_HEX[usize::from(b & 0x0F)]));
        }
    }
    Some(out)
}

/// `<32 lowercase hex of sha256(raw)>__<percent-encoded first 64 bytes of raw>`.
fn sha_fallback(raw: &[u8]) -> Segment {
    let digest = Sha256::digest(raw);
    let mut name = hex::encode(digest);
    name.truncate(SHA_PREFIX_HEX);
    name.push_str("__");
    let prefix = raw.get(..FALLBACK_SUFFIX_RAW).unwrap_or(raw);
    // 64 bytes expand to at most 192 characters: the limit cannot be hit.
    name.push_str(&percent_encode(prefix, usize::MAX).unwrap_or_default());
    Segment {
        name,
        is_fallback: true,
    }
}

/// `EncodeSegment`.
pub fn encode_segment(raw: &[u8]) -> Segment {
    if raw.len() > MAX_SEGMENT_BYTES {
        return sha_fallback(raw);
    }
    match percent_encode(raw, MAX_SEGMENT_BYTES) {
        Some(name) if !is_sha_fallback(&name) && !name.starts_with(BINARY_PREFIX) => Segment {
            name,
            is_fallback: false,
        },
        _ => sha_fallback(raw),
    }
}

/// `EncodeBinarySegment`: `b64.<base64url-nopad>`, or the SHA fallback when too long.
pub fn encode_binary_segment(raw: &[u8]) -> Segment {
    // base64url without padding: 4 characters per 3 bytes, 2 or 3 for a 1- or 2-byte tail.
    let encoded_len = (raw.len() / 3)
        .saturating_mul(4)
        .saturating_add(match raw.len() % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        });
    if encoded_len.saturating_add(BINARY_PREFIX.len()) > MAX_SEGMENT_BYTES {
        return sha_fallback(raw);
    }
    let mut name = String::from(BINARY_PREFIX);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(raw, &mut name);
    if name.len() > MAX_SEGMENT_BYTES {
        return sha_fallback(raw);
    }
    Segment {
        name,
        is_fallback: false,
    }
}

/// Whether a segment has the SHA-fallback shape (≥34 chars, 32 hex of either case, `__`).
pub fn is_sha_fallback(segment: &str) -> bool {
    let b = segment.as_bytes();
    b.len() >= SHA_PREFIX_HEX + 2
        && b.iter().take(SHA_PREFIX_HEX).all(u8::is_ascii_hexdigit)
        && b.get(SHA_PREFIX_HEX..SHA_PREFIX_HEX + 2) == Some(b"__".as_slice())
}

/// Whether a segment is a binary `b64.` segment.
#[cfg(test)]
pub fn is_binary_segment(segment: &str) -> bool {
    segment.starts_with(BINARY_PREFIX)
}

fn segment_error(segment: &str, what: impl Into<String>) -> DumpError {
    DumpError::Segment {
        segment: segment.to_owned(),
        what: what.into(),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `DecodeSegment`. A SHA-fallback segment is an error here: the caller looks it up in KEYMAP
/// (check `is_sha_fallback` first).
pub fn decode_segment(segment: &str) -> Result<Vec<u8>, DumpError> {
    if segment.len() > MAX_SEGMENT_BYTES {
        return Err(segment_error(
            segment,
            format!(
                "{} bytes, longer than the {MAX_SEGMENT_BYTES}-byte maximum",
                segment.len()
            ),
        ));
    }
    if is_sha_fallback(segment) {
        return Err(segment_error(
            segment,
            "a SHA-256 fallback name can only be resolved through KEYMAP.jsonl",
        ));
    }
    if let Some(b64) = segment.strip_prefix(BINARY_PREFIX) {
        return decode_base64url_lenient(b64).map_err(|e| segment_error(segment, e));
    }
    let b = segment.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if is_unreserved(c) {
            out.push(c);
            i += 1;
        } else if c == b'%' {
            let hi = b.get(i + 1).copied().and_then(hex_value);
            let lo = b.get(i + 2).copied().and_then(hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => {
                    return Err(segment_error(
                        segment,
                        format!("bad percent escape at byte {i}: expected %HH"),
                    ))
                }
            }
            i += 3;
        } else {
            return Err(segment_error(
                segment,
                format!("raw byte 0x{c:02X} at byte {i} must be percent-encoded"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
