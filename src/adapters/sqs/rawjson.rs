//! Raw JSON spans, for the one place where Go keeps JSON text as it is: SQS message
//! attributes are `map[string]json.RawMessage` (dynamodb_sqs.md §0.5, §2.2, §2.4), so their
//! values pass through byte for byte, only re-compacted (whitespace dropped, and `<` `>` `&`
//! U+2028 U+2029 escaped when the enclosing Go call escapes HTML).
//!
//! The scanner assumes text that a JSON parser has already accepted (callers validate with
//! `dump::json::parse_one` first); on anything else it answers `None`, never panics.
//! [`ObjectReader`] splits a stream of top-level JSON objects (a `messages.jsonl`) into raw
//! values without reading the whole file.

use std::io::{self, BufRead};

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| is_ws(*c)) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string literal starting at `i` (a `"`).
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// The end (exclusive) of the JSON value starting at `i`.
pub fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !is_ws(*c) && !matches!(c, b',' | b'}' | b']'))
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The members of the object `b` (a whole, valid JSON object): raw key literal (with its
/// quotes) and raw value, in document order.
pub fn object_members(b: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut out = Vec::new();
    if b.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        let ke = string_end(b, i)?;
        let key = b.get(i..ke)?;
        i = skip_ws(b, ke);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let ve = value_end(b, i)?;
        out.push((key, b.get(i..ve)?));
        i = skip_ws(b, ve);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return Some(out),
            _ => return None,
        }
    }
}

/// Go's `compact`: drop whitespace outside strings; with `escape_html`, write `<` `>` `&`
/// and U+2028 U+2029 as `\u` escapes. Every other byte is kept as it is.
pub fn compact(raw: &[u8], escape_html: bool, out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        i += 1;
        if escape_html {
            match c {
                b'<' | b'>' | b'&' => {
                    out.extend_from_slice(format!("\\u00{c:02x}").as_bytes());
                    escaped = false;
                    continue;
                }
                0xE2 if raw.get(i) == Some(&0x80) && matches!(raw.get(i + 1), Some(0xA8 | 0xA9)) => {
                    let last = raw.get(i + 1).copied().unwrap_or(0xA8);
                    out.extend_from_slice(if last == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                    i += 2;
                    escaped = false;
                    continue;
                }
                _ => {}
            }
        }
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if !is_ws(c) {
            out.push(c);
            if c == b'"' {
                in_string = true;
            }
        }
    }
}

/// Why [`ObjectReader`] stopped.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// Not a stream of objects (at the 1-based line given).
    Syntax {
        line: u64,
        what: SyntaxError,
    },
}

/// How a stream is not a sequence of JSON objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// The stream ends inside an object.
    #[error("unexpected end of file inside a JSON object")]
    UnexpectedEof,
    /// A value starts with something other than `{`.
    #[error("expected a JSON object, found {found:?}")]
    NotObject {
        /// The byte found (as a Latin-1 character).
        found: char,
    },
    /// An object longer than the reader's limit.
    #[error("JSON object longer than {max} bytes")]
    TooLong {
        /// The limit, in bytes.
        max: usize,
    },
}

/// Reads a stream of top-level JSON objects separated by whitespace, one raw object at a
/// time (Go's `json.Decoder` loop over `messages.jsonl`: line breaks are not significant).
/// Only the structure is checked here; the caller parses each object.
pub struct ObjectReader<R> {
    reader: R,
    max: usize,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> ObjectReader<R> {
    /// `max`: the largest object accepted, in bytes.
    pub fn new(reader: R, max: usize) -> Self {
        ObjectReader {
            reader,
            max,
            line: 1,
            buf: Vec::new(),
        }
    }

    /// The next object and the line it starts on; `None` at the end.
    pub fn next_object(&mut self) -> Result<Option<(u64, &[u8])>, ReadError> {
        self.buf.clear();
        let mut start_line = self.line;
        let mut started = false;
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Io(e)),
            };
            if chunk.is_empty() {
                if !started {
                    return Ok(None);
                }
                return Err(ReadError::Syntax {
                    line: start_line,
                    what: SyntaxError::UnexpectedEof,
                });
            }
            let mut i = 0;
            if !started {
                while let Some(&c) = chunk.get(i).filter(|c| is_ws(**c)) {
                    if c == b'\n' {
                        self.line += 1;
                    }
                    i += 1;
                }
                let Some(&c) = chunk.get(i) else {
                    self.reader.consume(i);
                    continue;
                };
                if c != b'{' {
                    return Err(ReadError::Syntax {
                        line: self.line,
                        what: SyntaxError::NotObject { found: char::from(c) },
                    });
                }
                started = true;
                start_line = self.line;
            }
            // The object's bytes of this chunk are copied at once, after the scan.
            let begin = i;
            let mut done = false;
            while let Some(&c) = chunk.get(i) {
                i += 1;
                if c == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if c == b'\\' {
                        escaped = true;
                    } else if c == b'"' {
                        in_string = false;
                    }
                    if in_string && !escaped {
                        // Skip the plain bytes of the string.
                        while chunk.get(i).is_some_and(|d| !matches!(d, b'"' | b'\\' | b'\n')) {
                            i += 1;
                        }
                    }
                    continue;
                }
                match c {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            self.buf
                .extend_from_slice(chunk.get(begin..i).unwrap_or_default());
            self.reader.consume(i);
            if self.buf.len() > self.max {
                return Err(ReadError::Syntax {
                    line: start_line,
                    what: SyntaxError::TooLong { max: self.max },
                });
            }
            if done {
                return Ok(Some((start_line, &self.buf)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_raw_values() {
        let text = br#" { "a" : { "x" : "<\"}" , "y":[1, {"z":2}] } ,"b":null, "c":-1.5e3 } "#;
        let m = object_members(text).unwrap();
        let got: Vec<(&[u8], &[u8])> = m;
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, b"\"a\"");
        assert_eq!(got[0].1, br#"{ "x" : "<\"}" , "y":[1, {"z":2}] }"#);
        assert_eq!(got[1], (&b"\"b\""[..], &b"null"[..]));
        assert_eq!(got[2], (&b"\"c\""[..], &b"-1.5e3"[..]));
        assert_eq!(object_members(b"{}").unwrap().len(), 0);
        for bad in [&b"[]"[..], b"{\"a\"}", b"{\"a\":1", b"", b"{\"a\":1 \"b\":2}"] {
            assert!(object_members(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn compact_drops_whitespace_and_escapes_on_request() {
        let raw = "{ \"k\" : \"a b <&> \u{2028}\\\" \" , \"n\" : 1e3 }".as_bytes();
        let mut off = Vec::new();
        compact(raw, false, &mut off);
        assert_eq!(off, "{\"k\":\"a b <&> \u{2028}\\\" \",\"n\":1e3}".as_bytes());
        let mut on = Vec::new();
        compact(raw, true, &mut on);
        assert_eq!(on, br#"{"k":"a b \u003c\u0026\u003e \u2028\" ","n":1e3}"#);
        // Invalid UTF-8 passes through untouched.
        let mut bin = Vec::new();
        compact(b"\"\xff\"", true, &mut bin);
        assert_eq!(bin, b"\"\xff\"");
    }

    #[test]
    fn object_reader_splits_a_stream() {
        let text = b"{\"a\":\"}\\\"{\"}\n\n  {\"b\":[{}]}{\"c\":1}\n";
        assert_eq!(
            split(text, 1 << 16),
            vec![
                (1, b"{\"a\":\"}\\\"{\"}".to_vec()),
                (3, b"{\"b\":[{}]}".to_vec()),
                (3, b"{\"c\":1}".to_vec()),
            ]
        );
        let mut r = ObjectReader::new(&b"{\"a\":1}\n[1]"[..], 1 << 20);
        r.next_object().unwrap();
        assert!(matches!(
            r.next_object(),
            Err(ReadError::Syntax {
                line: 2,
                what: SyntaxError::NotObject { found: '[' }
            })
        ));
        let mut r = ObjectReader::new(&b"{\"a\":"[..], 1 << 20);
        match r.next_object() {
            Err(ReadError::Syntax { line: 1, what }) => {
                assert_eq!(what, SyntaxError::UnexpectedEof);
                assert_eq!(what.to_string(), "unexpected end of file inside a JSON object");
            }
            other => panic!("{other:?}"),
        }
        let mut r = ObjectReader::new(&b"{\"a\":\"0123456789\"}"[..], 8);
        match r.next_object() {
            Err(ReadError::Syntax { what, .. }) => {
                assert_eq!(what, SyntaxError::TooLong { max: 8 });
                assert_eq!(what.to_string(), "JSON object longer than 8 bytes");
            }
            other => panic!("{other:?}"),
        }
        let mut r = ObjectReader::new(&b" x"[..], 8);
        match r.next_object() {
            Err(ReadError::Syntax { what, .. }) => {
                assert_eq!(what.to_string(), "expected a JSON object, found 'x'");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Objects and lines, read through a buffer of `cap` bytes.
    fn split(text: &[u8], cap: usize) -> Vec<(u64, Vec<u8>)> {
        let mut r = ObjectReader::new(io::BufReader::with_capacity(cap, text), 1 << 20);
        let mut got = Vec::new();
        while let Some((line, o)) = r.next_object().unwrap() {
            got.push((line, o.to_vec()));
        }
        got
    }

    #[test]
    fn object_reader_is_the_same_across_buffer_boundaries() {
        let text = b"\n {\"a\":\"x\\\"}{\\n\",\n\"b\":[1,\n{\"c\":\"\\\\\"}]}\n\n{\"d\":\"long string value\"}  {}\n";
        let whole = split(text, 1 << 16);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].0, 2);
        assert_eq!(whole[1], (6, b"{\"d\":\"long string value\"}".to_vec()));
        assert_eq!(whole[2], (6, b"{}".to_vec()));
        for cap in [1, 2, 3, 5, 7, 16] {
            assert_eq!(split(text, cap), whole, "buffer of {cap}");
        }
        // The line of a value that is no object, after a whitespace-only buffer.
        let mut r = ObjectReader::new(io::BufReader::with_capacity(1, &b"{}\n\n  x"[..]), 64);
        r.next_object().unwrap();
        assert!(matches!(
            r.next_object(),
            Err(ReadError::Syntax {
                line: 3,
                what: SyntaxError::NotObject { found: 'x' }
            })
        ));
    }
}
