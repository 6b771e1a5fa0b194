//! Filename segment encoding (s3_tree_pipeline.md §5, redis.md §5.2): raw key bytes ↔ one
//! file-name segment. Unreserved bytes `A–Z a–z 0–9 - . _` pass, others become `%HH`
//! (uppercase); longer than 240 bytes, or looking like a fallback / `b64.` name, becomes
//! `<32 hex of sha256>__<percent-encoded first 64 bytes>`, which needs a KEYMAP record.

use super::DumpError;

/// An encoded segment and whether it is an irreversible SHA-256 fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub is_fallback: bool,
}

/// `EncodeSegment`.
pub fn encode_segment(raw: &[u8]) -> Segment {
    let _ = raw;
    todo!()
}

/// `EncodeBinarySegment`: `b64.<base64url-nopad>`, or the SHA fallback when too long.
pub fn encode_binary_segment(raw: &[u8]) -> Segment {
    let _ = raw;
    todo!()
}

/// Whether a segment has the SHA-fallback shape (≥34 chars, 32 hex of either case, `__`).
pub fn is_sha_fallback(segment: &str) -> bool {
    let _ = segment;
    todo!()
}

/// `DecodeSegment`. A SHA-fallback segment is an error here: the caller looks it up in KEYMAP
/// (check [`is_sha_fallback`] first).
pub fn decode_segment(segment: &str) -> Result<Vec<u8>, DumpError> {
    let _ = segment;
    todo!()
}
