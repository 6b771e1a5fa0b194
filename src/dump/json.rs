//! The one Go-compatible JSON writer (s3_tree_pipeline.md §0, redis.md §5.4) and the lenient
//! parsing of JSON text the way Go's `encoding/json` reads it (one value, a value sequence,
//! base64url); reading fields of a parsed object is `dump::gofields`.
//!
//! Writing goes through serde with a custom `serde_json::Formatter` that reproduces Go's
//! bytes: HTML escaping (`<` `>` `&`) on or off, U+2028/U+2029 always escaped, `\b` `\f` short escapes,
//! lowercase `\u00xx`, Go float formatting, `MarshalIndent` two-space layout, and the
//! trailing-newline rule of each Go call site. Styles are named after those call sites.

use std::borrow::Cow;
use std::io;

use base64::Engine;
use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};

/// How a Go call site writes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStyle {
    /// Two-space `MarshalIndent` layout (else compact).
    pub indent: bool,
    /// Escape `<`, `>`, `&` as `\u…` (U+2028 and U+2029 are escaped in every style, as Go does).
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
///
/// Serializing to memory cannot fail for the plain data types of this crate; should a
/// `Serialize` impl report an error anyway (e.g. a map with non-string keys), `out` is left
/// as it was and `null` is written instead, so the caller never sees half a value. Use
/// [`try_write_to`] to observe such errors.
pub fn write_to<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, style: JsonStyle) {
    let start = out.len();
    if try_write_to(out, value, style).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
        if style.newline {
            out.push(b'\n');
        }
    }
}

/// Like [`write_to`], but report a serialization error (and leave `out` unchanged).
pub fn try_write_to<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    style: JsonStyle,
) -> Result<(), serde_json::Error> {
    let start = out.len();
    let result = if style.indent {
        let fmt = GoFormatter {
            inner: PrettyFormatter::with_indent(b"  "),
            escape_html: style.escape_html,
        };
        let mut ser = serde_json::Serializer::with_formatter(&mut *out, fmt);
        value.serialize(&mut ser)
    } else {
        let fmt = GoFormatter {
            inner: CompactFormatter,
            escape_html: style.escape_html,
        };
        let mut ser = serde_json::Serializer::with_formatter(&mut *out, fmt);
        value.serialize(&mut ser)
    };
    match result {
        Ok(()) => {
            if style.newline {
                out.push(b'\n');
            }
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// [`write_to`] of a string. A string of printable ASCII that `style` does not escape (no
/// `"`, `\`, nor `<` `>` `&` under HTML escaping) is copied between quotes as it is: the
/// bytes the serializer writes for it, without its per-fragment calls.
pub fn write_str(out: &mut Vec<u8>, s: &str, style: JsonStyle) {
    let plain = s.bytes().all(|b| match b {
        b'"' | b'\\' => false,
        b'<' | b'>' | b'&' => !style.escape_html,
        _ => (0x20..0x7f).contains(&b),
    });
    if !plain {
        return write_to(out, s, style);
    }
    out.reserve(s.len() + 3);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    if style.newline {
        out.push(b'\n');
    }
}

/// Serialize `value` in `style` into a new buffer.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, style: JsonStyle) -> Vec<u8> {
    let mut out = Vec::new();
    write_to(&mut out, value, style);
    out
}

/// A JSON array in Go's `MarshalIndent` layout, written one element at a time, so that an
/// array of any length is written with memory bounded by one element (the Redis collection
/// files, redis.md §5.6–§5.9).
///
/// The array sits at nesting `depth` of the enclosing document: its elements are indented
/// by `depth + 1` levels of two spaces and its `]` by `depth` (an empty array is `[]`). Each
/// element is its own `MarshalIndent` re-indented at every `\n`; JSON strings never hold a
/// raw newline, so this is exact. The bytes equal [`write_to`] of the whole array (pinned by
/// the tests).
#[derive(Debug)]
pub struct IndentedArray {
    depth: usize,
    style: JsonStyle,
    len: u64,
    one: Vec<u8>,
}

impl IndentedArray {
    /// Append `[` to `out` and start an array at nesting `depth`, its elements written in
    /// `style` with `MarshalIndent` layout (the style's `indent` and `newline` are ignored).
    pub fn begin(out: &mut Vec<u8>, depth: usize, style: JsonStyle) -> IndentedArray {
        out.push(b'[');
        IndentedArray {
            depth,
            style: JsonStyle {
                indent: true,
                newline: false,
                ..style
            },
            len: 0,
            one: Vec::new(),
        }
    }

    /// Append the next element to `out` (see [`write_to`] for a value that cannot be JSON).
    pub fn element<T: Serialize + ?Sized>(&mut self, out: &mut Vec<u8>, value: &T) {
        self.one.clear();
        write_to(&mut self.one, value, self.style);
        if self.len > 0 {
            out.push(b',');
        }
        newline_indent(out, self.depth + 1);
        for &b in &self.one {
            if b == b'\n' {
                newline_indent(out, self.depth + 1);
            } else {
                out.push(b);
            }
        }
        self.len += 1;
    }

    /// The elements written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no element has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append the closing `]` to `out`.
    pub fn end(self, out: &mut Vec<u8>) {
        if self.len > 0 {
            newline_indent(out, self.depth);
        }
        out.push(b']');
    }
}

/// `\n` and `depth` levels of two-space indentation.
fn newline_indent(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.resize(out.len() + 2 * depth, b' ');
}

/// Go `encoding/json` formatting of a float64: shortest round-trip digits, `'f'` notation
/// when `1e-6 <= |x| < 1e21` (or `x == 0`), else `'e'` notation with a signed exponent of at
/// least two digits, `e-07` shortened to `e-7`. Non-finite values have no JSON form; they are
/// written as `null` (callers that need `"+inf"` map them first).
pub fn go_f64(x: f64) -> String {
    if !x.is_finite() {
        return "null".to_owned();
    }
    let abs = x.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        format!("{x}")
    } else {
        go_exponent(format!("{x:e}"))
    }
}

/// [`go_f64`] for float32 (Go uses the same thresholds with 32-bit shortest digits).
pub fn go_f32(x: f32) -> String {
    if !x.is_finite() {
        return "null".to_owned();
    }
    let abs = x.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        format!("{x}")
    } else {
        go_exponent(format!("{x:e}"))
    }
}

/// Rust `{:e}` (`1.5e300`, `1e-7`) to Go's exponent form (`1.5e+300`, `1e-7`, `1e+21`).
fn go_exponent(rust: String) -> String {
    match rust.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            if sign == '+' && digits.len() < 2 {
                format!("{mantissa}e+0{digits}")
            } else {
                format!("{mantissa}e{sign}{digits}")
            }
        }
        None => rust,
    }
}

/// The formatter behind every style: a compact or pretty inner formatter for layout, plus
/// Go's string escaping and float formatting.
struct GoFormatter<F> {
    inner: F,
    escape_html: bool,
}

impl<F: Formatter> Formatter for GoFormatter<F> {
    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(go_f32(value).as_bytes())
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(go_f64(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        // Go escapes U+2028 and U+2029 whatever the HTML setting; `<` `>` `&` only with it.
        // Bytes are scanned and the runs between escapes copied whole: U+2028 and U+2029
        // are `E2 80 A8` and `E2 80 A9` in UTF-8.
        let b = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < b.len() {
            let (escape, len): (&[u8], usize) = match b[i] {
                b'<' if self.escape_html => (b"\\u003c", 1),
                b'>' if self.escape_html => (b"\\u003e", 1),
                b'&' if self.escape_html => (b"\\u0026", 1),
                0xE2 if b.get(i + 1) == Some(&0x80) && b.get(i + 2) == Some(&0xA8) => (b"\\u2028", 3),
                0xE2 if b.get(i + 1) == Some(&0x80) && b.get(i + 2) == Some(&0xA9) => (b"\\u2029", 3),
                _ => {
                    i += 1;
                    continue;
                }
            };
            w.write_all(&b[start..i])?;
            w.write_all(escape)?;
            i += len;
            start = i;
        }
        w.write_all(&b[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, w: &mut W, e: CharEscape) -> io::Result<()> {
        // serde_json only asks for `"`, `\` and bytes < 0x20; its forms (short escapes for
        // \b \f \n \r \t, lowercase `\u00xx` otherwise) are Go's (Go >= 1.22).
        CompactFormatter.write_char_escape(w, e)
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
}

/// Binary-safe value envelope: a JSON string when the bytes are valid UTF-8, otherwise
/// `{"base64":"<base64url, no padding>"}` (redis.md §5.4).
#[derive(Debug, Clone, Copy)]
pub struct Binary<'a>(pub &'a [u8]);

impl Serialize for Binary<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(
                    "base64",
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0),
                )?;
                map.end()
            }
        }
    }
}

/// `bytes` as the text Go's decoder reads: invalid UTF-8 becomes U+FFFD (one per byte) and a
/// lone `\uD800`-style surrogate escape becomes U+FFFD. Borrowed when nothing needs repair.
pub(crate) fn go_text(bytes: &[u8]) -> Cow<'_, str> {
    let lossy = go_lossy_utf8(bytes);
    let fixed = match fix_lone_surrogates(&lossy) {
        Cow::Owned(fixed) => Some(fixed),
        Cow::Borrowed(_) => None,
    };
    fixed.map_or(lossy, Cow::Owned)
}

/// Parse exactly one JSON value from `bytes`, Go `json.Decoder` style: the value may be
/// followed only by whitespace (`trailing_close_ok` also accepts trailing `]`/`}` as Go's
/// `dec.More()` check does). Invalid UTF-8 inside strings becomes U+FFFD.
pub(crate) fn parse_one(bytes: &[u8], trailing_close_ok: bool) -> Result<serde_json::Value, String> {
    let text = go_text(bytes);
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
    let value = match stream.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err("no JSON value (empty input)".to_owned()),
    };
    let offset = stream.byte_offset();
    let rest = text.as_bytes().get(offset..).unwrap_or_default();
    match rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        None => Ok(value),
        Some(i) => {
            let c = rest.get(i).copied().unwrap_or(b' ');
            if trailing_close_ok && (c == b']' || c == b'}') {
                Ok(value)
            } else {
                Err(format!(
                    "unexpected data after the JSON value at byte {}",
                    offset + i
                ))
            }
        }
    }
}

/// Parse a sequence of JSON values from `bytes` the way a Go `json.Decoder` loop reads a
/// stream (the Redis stream and TTL sidecar `.jsonl` files): values separated by optional
/// whitespace, not necessarily one per line; whitespace alone (or nothing) is an empty
/// sequence. As in [`parse_one`], invalid UTF-8 becomes U+FFFD (one per byte) and a lone
/// `\uD800`-style surrogate escape becomes U+FFFD, as Go does.
///
/// The values are parsed one at a time as the iterator is advanced; the first error ends the
/// sequence. An error reads `value <n>: <what> at line <l> column <c>` (`n` counts from 1;
/// line and column are positions in the repaired text, so a column after an invalid byte
/// may be off by two per replaced byte).
pub(crate) fn parse_seq(bytes: &[u8]) -> JsonSeq<'_> {
    parse_seq_at(bytes, 0, 0)
}

/// [`parse_seq`] of a piece of a longer sequence that starts at a line start after
/// `values_before` values and `lines_before` lines: errors count values and lines as in the
/// whole sequence.
pub(crate) fn parse_seq_at(bytes: &[u8], values_before: usize, lines_before: usize) -> JsonSeq<'_> {
    let text = go_text(bytes);
    JsonSeq {
        text,
        offset: 0,
        line: lines_before + 1,
        line_start: 0,
        index: values_before,
        done: false,
    }
}

/// The iterator of [`parse_seq`].
#[derive(Debug)]
pub(crate) struct JsonSeq<'a> {
    text: Cow<'a, str>,
    /// Byte offset of the next value (after the previous one).
    offset: usize,
    /// Line number at `offset` (from 1), and the byte offset where that line starts.
    line: usize,
    line_start: usize,
    /// Values returned so far.
    index: usize,
    done: bool,
}

impl JsonSeq<'_> {
    /// Move `offset` to `to`, keeping the line count.
    fn advance(&mut self, to: usize) {
        let skipped = self.text.as_bytes().get(self.offset..to).unwrap_or_default();
        for (i, b) in skipped.iter().enumerate() {
            if *b == b'\n' {
                self.line += 1;
                self.line_start = self.offset + i + 1;
            }
        }
        self.offset = to;
    }
}

impl Iterator for JsonSeq<'_> {
    type Item = Result<serde_json::Value, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.text.get(self.offset..).unwrap_or_default();
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
        let item = stream.next();
        let consumed = stream.byte_offset();
        self.index += 1;
        match item {
            None => {
                self.done = true;
                None
            }
            Some(Ok(v)) => {
                self.advance(self.offset + consumed);
                Some(Ok(v))
            }
            Some(Err(e)) => {
                self.done = true;
                // serde_json positions are relative to `rest`: make them absolute.
                let (line, column) = if e.line() <= 1 {
                    (self.line, self.offset - self.line_start + e.column())
                } else {
                    (self.line + e.line() - 1, e.column())
                };
                let text = e.to_string();
                let what = text
                    .rsplit_once(" at line ")
                    .map_or(text.as_str(), |(what, _)| what);
                Some(Err(format!(
                    "value {}: {what} at line {line} column {column}",
                    self.index
                )))
            }
        }
    }
}

/// Go's replacement of invalid UTF-8: each byte that does not start a valid sequence
/// becomes one U+FFFD (Rust's `from_utf8_lossy` would fold a truncated sequence into one).
fn go_lossy_utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 16);
            let mut rest = bytes;
            loop {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let (good, bad) = rest.split_at(e.valid_up_to());
                        out.push_str(std::str::from_utf8(good).unwrap_or_default());
                        out.push('\u{FFFD}');
                        rest = bad.get(1..).unwrap_or_default();
                    }
                }
            }
            Cow::Owned(out)
        }
    }
}

/// Go turns a `\uXXXX` surrogate escape that is not part of a valid pair into U+FFFD;
/// serde_json rejects it. Rewrite such escapes (inside strings only) as `\ufffd`.
fn fix_lone_surrogates(text: &str) -> Cow<'_, str> {
    if !text.contains("\\u") && !text.contains("\\U") {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let hex4 = |i: usize| -> Option<u32> {
        let s = b.get(i..i + 4)?;
        let s = std::str::from_utf8(s).ok()?;
        u32::from_str_radix(s, 16)
            .ok()
            .filter(|_| s.bytes().all(|c| c.is_ascii_hexdigit()))
    };
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `text` already copied into `out`
    let mut in_string = false;
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        if !in_string {
            if c == b'"' {
                in_string = true;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_string = false;
                i += 1;
            }
            b'\\' => {
                if b.get(i + 1) != Some(&b'u') {
                    i += 2;
                    continue;
                }
                let Some(u) = hex4(i + 2) else {
                    i += 2;
                    continue;
                };
                if !(0xD800..0xE000).contains(&u) {
                    i += 6;
                    continue;
                }
                let pair = (0xD800..0xDC00).contains(&u)
                    && b.get(i + 6) == Some(&b'\\')
                    && b.get(i + 7) == Some(&b'u')
                    && hex4(i + 8).is_some_and(|l| (0xDC00..0xE000).contains(&l));
                if pair {
                    i += 12;
                } else {
                    let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    o.push_str(text.get(copied..i).unwrap_or_default());
                    o.push_str("\\ufffd");
                    i += 6;
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(text.get(copied..).unwrap_or_default());
            Cow::Owned(o)
        }
    }
}

/// Go `base64.RawURLEncoding` decoding: no padding, `\r`/`\n` skipped, non-zero trailing
/// bits accepted.
pub(crate) fn decode_base64url_lenient(text: &str) -> Result<Vec<u8>, String> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    );
    let cleaned: Cow<'_, str> = if text.contains(['\r', '\n']) {
        Cow::Owned(text.chars().filter(|c| *c != '\r' && *c != '\n').collect())
    } else {
        Cow::Borrowed(text)
    };
    ENGINE
        .decode(cleaned.as_bytes())
        .map_err(|e| format!("invalid base64url (no padding): {e}"))
}

#[cfg(test)]
mod tests;
