//! Streaming writers of the Redis collection files (redis.md §5.6–§5.10), one element at a
//! time, so that a collection of any size is written with memory bounded by one element.
//!
//! `hashes/`, `lists/`, `sets/`, `zsets/` files are Go's `json.MarshalIndent(v, "", "  ")`
//! of `{format_version, <fields|items|members>, expire_at_ms}`:
//!
//! ```text
//! {⏎  "format_version": 1,⏎  "fields": [⏎    <elem>,⏎    <elem>⏎  ],⏎  "expire_at_ms": null⏎}
//! ```
//!
//! (an empty array is `[]`); the array is written element by element by
//! [`json::IndentedArray`]. `streams/` files are JSONL: one compact `json.Marshal` line per entry, then the
//! `_meta` line. The tests pin the bytes against whole-document serialization.

use std::io::{self, Write};

use serde::{Serialize, Serializer};

use super::keys::parse_stream_entry_body;
use super::state::{Coll, CollKind, Elem};
use crate::dump::json::{self, Binary, IndentedArray, JsonStyle};

/// Go's `json.Marshal` of a zset score: a number, or `"+inf"` / `"-inf"`.
pub(super) struct Score(pub f64);

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == f64::INFINITY {
            s.serialize_str("+inf")
        } else if self.0 == f64::NEG_INFINITY {
            s.serialize_str("-inf")
        } else {
            s.serialize_f64(self.0)
        }
    }
}

#[derive(Serialize)]
pub(super) struct NameValue<'a> {
    pub name: Binary<'a>,
    pub value: Binary<'a>,
}

#[derive(Serialize)]
pub(super) struct ZMember<'a> {
    pub member: Binary<'a>,
    pub score: Score,
}

#[derive(Serialize)]
struct StreamLine<'a> {
    id: String,
    fields: Vec<NameValue<'a>>,
}

#[derive(Serialize)]
struct StreamMetaLine {
    #[serde(rename = "_meta")]
    meta: bool,
    length: u64,
    last_ms: u64,
    last_seq: u64,
    expire_at_ms: Option<u64>,
}

/// Why an element could not be written.
#[derive(Debug)]
pub(super) enum ElemError {
    Io(io::Error),
    /// A stream entry proto that does not parse.
    BadEntry(super::keys::LayoutError),
}

/// A collection file being written.
pub(super) struct CollFile<W: Write> {
    kind: CollKind,
    out: W,
    /// The element array (unused by a stream file).
    array: IndentedArray,
    buf: Vec<u8>,
}

impl<W: Write> CollFile<W> {
    /// Start the file of a `kind` collection on `out`.
    pub(super) fn begin(kind: CollKind, mut out: W) -> io::Result<CollFile<W>> {
        let name = match kind {
            CollKind::Hash => "fields",
            CollKind::List => "items",
            CollKind::Set | CollKind::Zset => "members",
            CollKind::Stream => "",
        };
        let mut buf = Vec::new();
        if kind != CollKind::Stream {
            write!(buf, "{{\n  \"format_version\": 1,\n  \"{name}\": ")?;
        }
        let array = IndentedArray::begin(&mut buf, 1, JsonStyle::MARSHAL_INDENT);
        if kind != CollKind::Stream {
            out.write_all(&buf)?;
        }
        Ok(CollFile {
            kind,
            out,
            array,
            buf,
        })
    }

    /// Write the next element (elements come sorted and deduplicated).
    pub(super) fn element(&mut self, e: &Elem<'_>) -> Result<(), ElemError> {
        self.buf.clear();
        if self.kind == CollKind::Stream {
            let fields = parse_stream_entry_body(e.b).map_err(ElemError::BadEntry)?;
            let line = StreamLine {
                id: format!("{}-{}", e.n1, e.n2),
                fields: fields
                    .chunks_exact(2)
                    .map(|p| NameValue {
                        name: Binary(p[0].as_bytes()),
                        value: Binary(p[1].as_bytes()),
                    })
                    .collect(),
            };
            json::write_to(&mut self.buf, &line, JsonStyle::MARSHAL);
            self.buf.push(b'\n');
        } else {
            let buf = &mut self.buf;
            match self.kind {
                CollKind::Hash => self.array.element(
                    buf,
                    &NameValue {
                        name: Binary(e.a),
                        value: Binary(e.b),
                    },
                ),
                CollKind::List => self.array.element(buf, &Binary(e.b)),
                CollKind::Set => self.array.element(buf, &Binary(e.a)),
                _ => self.array.element(
                    buf,
                    &ZMember {
                        member: Binary(e.a),
                        score: Score(f64::from_bits(e.n1)),
                    },
                ),
            }
        }
        self.out.write_all(&self.buf).map_err(ElemError::Io)?;
        Ok(())
    }

    /// Close the document with the collection's state; returns the writer.
    pub(super) fn end(mut self, coll: &Coll) -> io::Result<W> {
        let expire = coll.has_ttl.then_some(coll.expire_ms);
        self.buf.clear();
        if self.kind == CollKind::Stream {
            let meta = StreamMetaLine {
                meta: true,
                length: coll.declared,
                last_ms: coll.last_ms,
                last_seq: coll.last_seq,
                expire_at_ms: expire,
            };
            json::write_to(&mut self.buf, &meta, JsonStyle::MARSHAL);
            self.buf.push(b'\n');
        } else {
            self.array.end(&mut self.buf);
            self.buf.extend_from_slice(b",\n  \"expire_at_ms\": ");
            json::write_to(&mut self.buf, &expire, JsonStyle::MARSHAL_INDENT);
            self.buf.extend_from_slice(b"\n}");
        }
        self.out.write_all(&self.buf)?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::redis::keys::build_stream_entry;
    use proptest::prelude::*;

    #[derive(Serialize)]
    struct Doc<T: Serialize> {
        format_version: u32,
        fields: Vec<T>,
        expire_at_ms: Option<u64>,
    }

    fn stream_of(kind: CollKind, elems: &[Elem<'_>], coll: &Coll) -> Vec<u8> {
        let mut f = CollFile::begin(kind, Vec::new()).unwrap();
        for e in elems {
            f.element(e).unwrap();
        }
        f.end(coll).unwrap()
    }

    fn doc<T: Serialize>(arr: Vec<T>, coll: &Coll, name: &str) -> Vec<u8> {
        let d = Doc {
            format_version: 1,
            fields: arr,
            expire_at_ms: coll.has_ttl.then_some(coll.expire_ms),
        };
        let s = String::from_utf8(json::to_vec(&d, JsonStyle::MARSHAL_INDENT)).unwrap();
        s.replacen("\"fields\"", &format!("\"{name}\""), 1).into_bytes()
    }

    #[test]
    fn pinned_bytes_empty_and_one_element() {
        let coll = Coll {
            has_ttl: true,
            expire_ms: 7,
            ..Coll::default()
        };
        assert_eq!(
            stream_of(CollKind::Set, &[], &Coll::default()),
            b"{\n  \"format_version\": 1,\n  \"members\": [],\n  \"expire_at_ms\": null\n}"
        );
        let e = Elem {
            a: b"k",
            b: b"\xFF",
            n1: 0,
            n2: 0,
        };
        assert_eq!(
            String::from_utf8(stream_of(CollKind::Hash, &[e], &coll)).unwrap(),
            "{\n  \"format_version\": 1,\n  \"fields\": [\n    {\n      \"name\": \"k\",\n      \"value\": {\n        \"base64\": \"_w\"\n      }\n    }\n  ],\n  \"expire_at_ms\": 7\n}"
        );
    }

    #[test]
    fn stream_lines_and_bad_entry() {
        let proto = build_stream_entry("1-2", &["f".to_owned(), "<v>".to_owned()]);
        let body = &proto[5..];
        let coll = Coll {
            declared: 1,
            last_ms: 1,
            last_seq: 2,
            ..Coll::default()
        };
        let e = Elem {
            a: b"",
            b: body,
            n1: 1,
            n2: 2,
        };
        assert_eq!(
            String::from_utf8(stream_of(CollKind::Stream, &[e], &coll)).unwrap(),
            "{\"id\":\"1-2\",\"fields\":[{\"name\":\"f\",\"value\":\"\\u003cv\\u003e\"}]}\n\
             {\"_meta\":true,\"length\":1,\"last_ms\":1,\"last_seq\":2,\"expire_at_ms\":null}\n"
        );
        let mut f = CollFile::begin(CollKind::Stream, Vec::new()).unwrap();
        let bad = Elem { b: b"\xFF\xFF", ..e };
        assert!(matches!(f.element(&bad), Err(ElemError::BadEntry(_))));
    }

    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn io_errors_surface() {
        assert!(CollFile::begin(CollKind::Hash, Failing).is_err());
        let f = CollFile::begin(CollKind::Stream, Failing).unwrap();
        assert!(f.end(&Coll::default()).is_err());
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..6),
            "[a-z<>&\"\\\\\n é]{0,5}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #[test]
        fn streamed_equals_whole_document(
            items in proptest::collection::vec((bytes(), bytes(), any::<f64>()), 0..5),
            ttl in proptest::option::of(any::<u64>()),
        ) {
            let coll = Coll { has_ttl: ttl.is_some(), expire_ms: ttl.unwrap_or(0), ..Coll::default() };
            let elems: Vec<Elem<'_>> = items
                .iter()
                .map(|(a, b, s)| Elem { a, b, n1: if s.is_nan() { 0 } else { s.to_bits() }, n2: 0 })
                .collect();
            let nv: Vec<_> = elems.iter().map(|e| NameValue { name: Binary(e.a), value: Binary(e.b) }).collect();
            prop_assert_eq!(stream_of(CollKind::Hash, &elems, &coll), doc(nv, &coll, "fields"));
            let items_doc: Vec<_> = elems.iter().map(|e| Binary(e.b)).collect();
            prop_assert_eq!(stream_of(CollKind::List, &elems, &coll), doc(items_doc, &coll, "items"));
            let members: Vec<_> = elems.iter().map(|e| Binary(e.a)).collect();
            prop_assert_eq!(stream_of(CollKind::Set, &elems, &coll), doc(members, &coll, "members"));
            let z: Vec<_> = elems
                .iter()
                .map(|e| ZMember { member: Binary(e.a), score: Score(f64::from_bits(e.n1)) })
                .collect();
            prop_assert_eq!(stream_of(CollKind::Zset, &elems, &coll), doc(z, &coll, "members"));
        }
    }
}
