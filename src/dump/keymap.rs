//! `KEYMAP.jsonl` (s3_tree_pipeline.md §6, redis.md §5.3, DECISIONS.md D6): one compact
//! JSON line `{"encoded":…,"original":<base64url nopad>,"kind":…}` per encoded name, sorted
//! by name (Go writes one line per use in map order; we write one per name, sorted).
//!
//! The reader is strict in Go's way: 4 MiB lines, the three exactly-named members present
//! and non-null, `encoded` and `kind` non-empty, `original` valid base64url without padding
//! (Go's lenient decoder), a blank line is an error, the last record of a name wins.

use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::path::Path;

use base64::Engine;
use serde::Serialize;
use serde_json::Value;

use super::fs::open_input;
use super::gofields::Fields;
use super::json::{self, decode_base64url_lenient, JsonStyle};
use super::lines::{LineError, Lines};
use super::{DumpError, TreeOut};
use crate::spill::ExternalSorter;

/// Longest KEYMAP.jsonl line read (Go's scanner buffer).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// One line as written, in Go field order.
#[derive(Serialize)]
struct RecordOut<'a> {
    encoded: &'a str,
    original: String,
    kind: &'a str,
}

/// The kinds of KEYMAP record. A name too long for a segment, replaced by its SHA-256.
pub const KIND_SHA_FALLBACK: &str = "sha-fallback";
/// An S3 object whose key is also a prefix of others, stored as a leaf data file.
pub const KIND_S3_LEAF_DATA: &str = "s3-leaf-data";
/// An S3 key ending in the metadata suffix, renamed.
pub const KIND_META_SUFFIX_RENAME: &str = "meta-suffix-rename";

/// Memory budget of a [`KeyMap`]'s sort before it spills (the default one).
pub const KEYMAP_SORT_BUDGET: usize = 8 << 20;

/// KEYMAP records collected while an adapter writes its subtree. They go through the
/// external sorter (key: the encoded name), so memory stays within its budget however many
/// names need a record; [`KeyMap::write`] streams them out sorted, one line per name, the
/// last record of a name winning.
#[derive(Debug)]
pub struct KeyMap {
    sorter: ExternalSorter,
    /// The first record with an empty name or kind: refused by `write`, before any byte.
    invalid: Option<(String, &'static str)>,
}

impl Default for KeyMap {
    /// A KEYMAP sorting under `KEYMAP_SORT_BUDGET` in the OS temporary directory.
    fn default() -> Self {
        KeyMap::new(KEYMAP_SORT_BUDGET, &std::env::temp_dir())
    }
}

impl KeyMap {
    /// A KEYMAP sorting under `budget` bytes, spilling to anonymous files in `scratch_dir`.
    pub fn new(budget: usize, scratch_dir: &Path) -> KeyMap {
        KeyMap {
            sorter: ExternalSorter::new(budget, scratch_dir),
            invalid: None,
        }
    }

    /// Remember that `encoded` stands for `original`. Fails only if the sort cannot spill.
    pub fn record(&mut self, encoded: &str, original: &[u8], kind: &'static str) -> io::Result<()> {
        if (encoded.is_empty() || kind.is_empty()) && self.invalid.is_none() {
            self.invalid = Some((encoded.to_owned(), kind));
        }
        // Value: kind length (a kind is a short constant), kind, original bytes.
        let kind_len = u8::try_from(kind.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("KEYMAP kind {kind:?} too long"),
            )
        })?;
        let mut value = Vec::with_capacity(1 + kind.len() + original.len());
        value.push(kind_len);
        value.extend_from_slice(kind.as_bytes());
        value.extend_from_slice(original);
        self.sorter.push(encoded.as_bytes(), &value)
    }

    /// Whether no record was added.
    pub fn is_empty(&self) -> bool {
        self.sorter.is_empty()
    }

    /// Write `rel` (e.g. `redis/db_0/KEYMAP.jsonl`) into the tree if there is any record.
    ///
    /// A record with an empty `encoded` or `kind` is refused before anything is written.
    pub fn write(self, out: &mut dyn TreeOut, rel: &str) -> Result<(), DumpError> {
        if self.is_empty() {
            return Ok(());
        }
        self.check(rel)?;
        let mut file = out.create_file(rel)?;
        self.write_to(&mut file).map_err(|e| DumpError::io(rel, e))?;
        out.finish_file(file)
    }

    /// Refuse a KEYMAP holding a record with an empty name or kind (`rel` names it).
    pub fn check(&self, rel: &str) -> Result<(), DumpError> {
        match &self.invalid {
            None => Ok(()),
            Some((encoded, kind)) => Err(DumpError::invalid(
                rel,
                format!("KEYMAP record with empty encoded name or kind ({encoded:?}, {kind:?})"),
            )),
        }
    }

    /// Write the lines of KEYMAP.jsonl to `out`: sorted by name, one per name (the last
    /// record wins). Call [`KeyMap::check`] first.
    pub fn write_to(self, out: &mut impl Write) -> io::Result<()> {
        let mut sorted = self.sorter.finish()?;
        let mut line = Vec::with_capacity(256);
        let mut emit = |name: &[u8], value: &[u8]| -> io::Result<()> {
            let corrupt = || io::Error::new(io::ErrorKind::InvalidData, "corrupt KEYMAP sort record");
            let (&kind_len, rest) = value.split_first().ok_or_else(corrupt)?;
            let (kind, original) = rest.split_at_checked(usize::from(kind_len)).ok_or_else(corrupt)?;
            let record = RecordOut {
                encoded: std::str::from_utf8(name).map_err(|_| corrupt())?,
                original: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(original),
                kind: std::str::from_utf8(kind).map_err(|_| corrupt())?,
            };
            line.clear();
            json::write_to(&mut line, &record, JsonStyle::JSONL);
            out.write_all(&line)
        };
        // The record of the current name seen last (equal names are adjacent, in order).
        let mut pending: Option<(Vec<u8>, Vec<u8>)> = None;
        while let Some((k, v)) = sorted.next()? {
            match &mut pending {
                Some((name, value)) if name.as_slice() == k => {
                    value.clear();
                    value.extend_from_slice(v);
                }
                _ => {
                    if let Some((name, value)) = pending.replace((k.to_vec(), v.to_vec())) {
                        emit(&name, &value)?;
                    }
                }
            }
        }
        match pending {
            Some((name, value)) => emit(&name, &value),
            None => Ok(()),
        }
    }
}

/// Read a KEYMAP.jsonl strictly (§6 reader rules); last record wins. Map: encoded → original.
pub fn load(path: &Path) -> Result<HashMap<String, Vec<u8>>, DumpError> {
    let mut map = HashMap::new();
    for_each_record(path, |_, r| {
        map.insert(r.encoded, r.original);
        Ok(())
    })?;
    Ok(map)
}

/// One KEYMAP.jsonl record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The file-name segment.
    pub encoded: String,
    /// The raw key it stands for.
    pub original: Vec<u8>,
    /// Why the name was changed (`sha-fallback`, …).
    pub kind: String,
}

/// Read a KEYMAP.jsonl strictly (§6 reader rules), handing each record and its line number
/// to `each` in file order; an `Err(what)` from `each` stops the read as an invalid line.
pub fn for_each_record(
    path: &Path,
    mut each: impl FnMut(u64, Record) -> Result<(), String>,
) -> Result<(), DumpError> {
    let file = open_input(path)?;
    let mut lines = Lines::new(BufReader::with_capacity(64 * 1024, file), MAX_LINE);
    loop {
        let (n, line) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(()),
            Err(LineError::TooLong) => {
                return Err(DumpError::invalid(
                    path,
                    format!("line {}: longer than {MAX_LINE} bytes", lines.number + 1),
                ))
            }
            Err(LineError::Io(e)) => return Err(DumpError::io(path, e)),
        };
        let record = parse_record(line).map_err(|source| DumpError::Keymap {
            path: path.to_path_buf(),
            line: n,
            source,
        })?;
        each(n, record).map_err(|what| DumpError::invalid(path, format!("line {n}: {what}")))?;
    }
}

/// Why a KEYMAP.jsonl line is not a valid record (s3_tree_pipeline.md §6 reader rules);
/// wrapped into [`DumpError::Keymap`] with the file and line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyMapRecordError {
    /// An empty line.
    #[error("blank line")]
    Blank,
    /// Not valid JSON (the reader's message).
    #[error("{0}")]
    Json(String),
    /// Valid JSON but not an object.
    #[error("not a JSON object")]
    NotObject,
    /// A required member is absent.
    #[error("missing `{0}`")]
    Missing(&'static str),
    /// A required member is `null`.
    #[error("`{0}` is null")]
    Null(&'static str),
    /// A member that is not a string.
    #[error("`{name}` must be a string, found {found}")]
    NotString {
        /// The member.
        name: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// An empty `encoded`.
    #[error("empty `encoded`")]
    EmptyEncoded,
    /// An empty `kind`.
    #[error("empty `kind`")]
    EmptyKind,
    /// An `original` that is not base64url (the decoder's message).
    #[error("`original`: {0}")]
    Original(String),
}

/// Parse one KEYMAP line.
fn parse_record(line: &[u8]) -> Result<Record, KeyMapRecordError> {
    if line.is_empty() {
        return Err(KeyMapRecordError::Blank);
    }
    let value = json::parse_one(line, false).map_err(KeyMapRecordError::Json)?;
    let Value::Object(obj) = value else {
        return Err(KeyMapRecordError::NotObject);
    };
    for name in ["encoded", "original", "kind"] {
        match obj.get(name) {
            None => return Err(KeyMapRecordError::Missing(name)),
            Some(Value::Null) => return Err(KeyMapRecordError::Null(name)),
            Some(_) => {}
        }
    }
    let f = Fields {
        obj: &obj,
        path: Path::new(""),
        prefix: "",
    };
    let field = |name: &'static str| match f.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(KeyMapRecordError::NotString {
            name,
            found: super::gofields::type_name(v),
        }),
        None => Ok(String::new()),
    };
    let encoded = field("encoded")?;
    let original = field("original")?;
    let kind = field("kind")?;
    if encoded.is_empty() {
        return Err(KeyMapRecordError::EmptyEncoded);
    }
    if kind.is_empty() {
        return Err(KeyMapRecordError::EmptyKind);
    }
    let original = decode_base64url_lenient(&original).map_err(KeyMapRecordError::Original)?;
    Ok(Record {
        encoded,
        original,
        kind,
    })
}

#[cfg(test)]
mod tests;
