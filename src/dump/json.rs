//! The one Go-compatible JSON writer (s3_tree_pipeline.md §0, redis.md §5.4) and the helpers
//! for reading JSON leniently the way Go's `encoding/json` does.
//!
//! Writing goes through serde with a custom `serde_json::Formatter` that reproduces Go's
//! bytes: HTML escaping (`<` `>` `&` U+2028 U+2029) on or off, `\b` `\f` short escapes,
//! lowercase `\u00xx`, Go float formatting, `MarshalIndent` two-space layout, and the
//! trailing-newline rule of each Go call site. Styles are named after those call sites.

use serde::Serialize;

/// How a Go call site writes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStyle {
    /// Two-space `MarshalIndent` layout (else compact).
    pub indent: bool,
    /// Escape `<`, `>`, `&`, U+2028, U+2029 as `\u…`.
    pub escape_html: bool,
    /// End with `\n` (`json.Encoder`) or not (`json.Marshal*`).
    pub newline: bool,
}

impl JsonStyle {
    /// `json.MarshalIndent(v, "", "  ")`: Redis collection files, S3 `_bucket.json` and meta sidecars.
    pub const MARSHAL_INDENT: JsonStyle = JsonStyle {
        indent: true,
        escape_html: true,
        newline: false,
    };
    /// `json.Marshal`: compact values, stream lines (the caller adds `\n`).
    pub const MARSHAL: JsonStyle = JsonStyle {
        indent: false,
        escape_html: true,
        newline: false,
    };
    /// `json.Encoder` + indent + `SetEscapeHTML(false)`: MANIFEST.json.
    pub const MANIFEST: JsonStyle = JsonStyle {
        indent: true,
        escape_html: false,
        newline: true,
    };
    /// `json.Encoder` + indent, escaping on: `<output>.encode_info.json`.
    pub const ENCODE_INFO: JsonStyle = JsonStyle {
        indent: true,
        escape_html: true,
        newline: true,
    };
    /// `json.Encoder` + `SetEscapeHTML(false)`, compact: one JSONL line (KEYMAP, TTL sidecars).
    pub const JSONL: JsonStyle = JsonStyle {
        indent: false,
        escape_html: false,
        newline: true,
    };
}

/// Serialize `value` in `style`, appending to `out`.
pub fn write_to<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, style: JsonStyle) {
    let _ = (out, value, style);
    todo!()
}

/// Serialize `value` in `style` into a new buffer.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, style: JsonStyle) -> Vec<u8> {
    let mut out = Vec::new();
    write_to(&mut out, value, style);
    out
}

/// Binary-safe value envelope: a JSON string when the bytes are valid UTF-8, otherwise
/// `{"base64":"<base64url, no padding>"}` (redis.md §5.4).
#[derive(Debug, Clone, Copy)]
pub struct Binary<'a>(pub &'a [u8]);

impl Serialize for Binary<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let _ = s;
        todo!()
    }
}

/// Look up a member of a JSON object the way Go's struct decoding does: exact name first,
/// else ASCII case-insensitive; among several matches the last one in document order wins.
pub fn get_ci<'a>(
    obj: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    let _ = (obj, name);
    todo!()
}

/// Parse exactly one JSON value from `bytes`, Go `json.Decoder` style: the value may be
/// followed only by whitespace (`trailing_close_ok` also accepts trailing `]`/`}` as Go's
/// `dec.More()` check does). Invalid UTF-8 inside strings becomes U+FFFD.
pub fn parse_one(bytes: &[u8], trailing_close_ok: bool) -> Result<serde_json::Value, String> {
    let _ = (bytes, trailing_close_ok);
    todo!()
}

/// Go `base64.RawURLEncoding` decoding: no padding, `\r`/`\n` skipped, non-zero trailing
/// bits accepted.
pub fn decode_base64url_lenient(text: &str) -> Result<Vec<u8>, String> {
    let _ = text;
    todo!()
}
