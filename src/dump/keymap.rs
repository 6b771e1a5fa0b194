//! `KEYMAP.jsonl` (s3_tree_pipeline.md §6, redis.md §5.3, DECISIONS.md D6): one compact
//! JSON line `{"encoded":…,"original":<base64url nopad>,"kind":…}` per encoded name, sorted
//! by name (Go writes one line per use in map order; we write one per name, sorted).
//!
//! The reader is strict in Go's way: 4 MiB lines, the three exactly-named members present
//! and non-null, `encoded` and `kind` non-empty, `original` valid base64url without padding
//! (Go's lenient decoder), a blank line is an error, the last record of a name wins.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Write};
use std::path::Path;

use base64::Engine;
use serde::Serialize;
use serde_json::Value;

use super::fs::open_input;
use super::gofields::Fields;
use super::json::{self, decode_base64url_lenient, JsonStyle};
use super::lines::{LineError, Lines};
use super::{DumpError, DumpTree};

/// Longest KEYMAP.jsonl line read (Go's scanner buffer).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// One line as written, in Go field order.
#[derive(Serialize)]
struct RecordOut<'a> {
    encoded: &'a str,
    original: String,
    kind: &'a str,
}

/// The kinds of KEYMAP record.
pub const KIND_SHA_FALLBACK: &str = "sha-fallback";
pub const KIND_S3_LEAF_DATA: &str = "s3-leaf-data";
pub const KIND_META_SUFFIX_RENAME: &str = "meta-suffix-rename";

/// KEYMAP records collected while an adapter writes its subtree.
#[derive(Debug, Default)]
pub struct KeyMap {
    records: BTreeMap<String, (Vec<u8>, &'static str)>,
}

impl KeyMap {
    /// Remember that `encoded` stands for `original`.
    pub fn record(&mut self, encoded: &str, original: &[u8], kind: &'static str) {
        self.records
            .insert(encoded.to_owned(), (original.to_vec(), kind));
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Write `rel` (e.g. `redis/db_0/KEYMAP.jsonl`) into the tree if there is any record.
    ///
    /// A record with an empty `encoded` or `kind` is refused before anything is written.
    pub fn write(&self, tree: &mut DumpTree, rel: &str) -> Result<(), DumpError> {
        if self.records.is_empty() {
            return Ok(());
        }
        for (encoded, (_, kind)) in &self.records {
            if encoded.is_empty() || kind.is_empty() {
                return Err(DumpError::invalid(
                    rel,
                    format!(
                        "KEYMAP record with empty encoded name or kind ({encoded:?}, {kind:?})"
                    ),
                ));
            }
        }
        let mut file = tree.create_file(rel)?;
        let mut line = Vec::with_capacity(256);
        for (encoded, (original, kind)) in &self.records {
            line.clear();
            let record = RecordOut {
                encoded,
                original: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(original),
                kind,
            };
            json::write_to(&mut line, &record, JsonStyle::JSONL);
            file.write_all(&line)
                .map_err(|e| DumpError::io(tree.root().join(rel), e))?;
        }
        tree.finish_file(file)
    }

    /// The number of records (one per encoded name).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The original bytes recorded for `encoded`, if any.
    pub fn get(&self, encoded: &str) -> Option<&[u8]> {
        self.records
            .get(encoded)
            .map(|(original, _)| original.as_slice())
    }
}

/// Read a KEYMAP.jsonl strictly (§6 reader rules); last record wins. Map: encoded → original.
pub fn load(path: &Path) -> Result<HashMap<String, Vec<u8>>, DumpError> {
    let file = open_input(path)?;
    let mut lines = Lines::new(BufReader::with_capacity(64 * 1024, file), MAX_LINE);
    let mut map = HashMap::new();
    loop {
        let (n, line) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(map),
            Err(LineError::TooLong) => {
                return Err(DumpError::invalid(
                    path,
                    format!("line {}: longer than {MAX_LINE} bytes", lines.number + 1),
                ))
            }
            Err(LineError::Io(e)) => return Err(DumpError::io(path, e)),
        };
        let (encoded, original) = parse_record(line).map_err(|what| {
            DumpError::invalid(path, format!("line {n}: invalid KEYMAP record: {what}"))
        })?;
        map.insert(encoded, original);
    }
}

/// Parse one KEYMAP line into (encoded, original bytes).
fn parse_record(line: &[u8]) -> Result<(String, Vec<u8>), String> {
    if line.is_empty() {
        return Err("blank line".into());
    }
    let value = json::parse_one(line, false)?;
    let Value::Object(obj) = value else {
        return Err("not a JSON object".into());
    };
    for name in ["encoded", "original", "kind"] {
        match obj.get(name) {
            None => return Err(format!("missing `{name}`")),
            Some(Value::Null) => return Err(format!("`{name}` is null")),
            Some(_) => {}
        }
    }
    let f = Fields {
        obj: &obj,
        path: Path::new(""),
        prefix: "",
    };
    let field = |name: &str| match f.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!(
            "`{name}` must be a string, found {}",
            super::gofields::type_name(v)
        )),
        None => Ok(String::new()),
    };
    let encoded = field("encoded")?;
    let original = field("original")?;
    let kind = field("kind")?;
    if encoded.is_empty() {
        return Err("empty `encoded`".into());
    }
    if kind.is_empty() {
        return Err("empty `kind`".into());
    }
    let original = decode_base64url_lenient(&original).map_err(|e| format!("`original`: {e}"))?;
    Ok((encoded, original))
}

#[cfg(test)]
mod tests;
