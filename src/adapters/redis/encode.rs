//! `redis/db_0/` files → Redis records (redis.md §6).
//!
//! Discovery (§6.1): a missing `redis/` is a no-op; `redis/` must be a real directory; its
//! canonical `db_<N>` entries (decimal, no leading zeros) must be directories and the set of
//! indices must be ∅ or {0}. Then `KEYMAP.jsonl` and the two TTL sidecars are loaded, and
//! the subdirectories are walked in the fixed order strings, hll, hashes, sets, lists, zsets,
//! streams. Entries that are not regular files or lack the suffix are skipped; files are
//! opened with `dump::fs::open_input` (no-follow, regular, one link).
//!
//! Records (§6.2) go to the [`RecordSink`]; the pipeline sorts them and detects duplicates.
//! JSON is read the lenient Go way (§6.3): case-insensitive names, `null` as zero, trailing
//! `]`/`}` accepted, `format_version` exactly 1 for hashes/sets/lists/zsets.
//!
//! Files are read and parsed on worker threads ([`encode_files`]); their records reach the
//! sink in the sorted order of the stems, so the output and the first error do not depend on
//! the thread count.
//!
//! Memory: one input file (read whole) per worker, the window of finished files, the sorted
//! directory listing's sort budget, plus the TTL sidecar maps and KEYMAP (in proportion to
//! the keys with an expiry or a SHA-fallback name).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::keys::*;
use super::RedisOptions;
use crate::adapters::{
    display_key, encode_files, AdapterError, EncodeContext, Encoder, RecordBatch, RecordSink,
};
use crate::container::pebble;
use crate::dump::checksums::{TreeReader, MAX_JSON_FILE};
use crate::dump::fs::{list_dir, open_input, EntryKind};
use crate::dump::gofields::{self, get_ci, BinaryError};
use crate::dump::json::{parse_one, parse_seq};
use crate::dump::keymap;
use crate::dump::walk::{lstat, resolve_stem, Node, SortedStems, FILES_PER_ROUND, LISTING_SORT_BUDGET};

/// Tree → records for the Redis adapter.
#[derive(Debug)]
pub struct RedisEncoder {
    threads: usize,
    scratch_dir: PathBuf,
    reader: TreeReader,
}

impl RedisEncoder {
    /// An encoder reading files with the context's worker threads (`1`: on the calling
    /// thread; the records and the first error are the same for any count), spilling large
    /// directory listings to its scratch directory.
    pub fn new(_options: &RedisOptions, cx: &EncodeContext) -> Self {
        RedisEncoder {
            threads: cx.threads.max(1),
            scratch_dir: cx.scratch_dir.clone(),
            reader: cx.reader.clone(),
        }
    }
}

/// Why a file of a Redis dump tree cannot be encoded; wrapped into
/// [`AdapterError::BadFile`] with the path. The messages are the encoder's error text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileError {
    /// `redis/` or `db_0/` is not a real directory.
    #[error("expected a directory, found {found}")]
    NotDir {
        /// What it is instead (`a symlink`, `not a directory`).
        found: &'static str,
    },
    /// A canonical `db_<N>` entry that is not a real directory.
    #[error("expected a database directory, found a symlink or a non-directory")]
    NotDbDir,
    /// Databases other than `db_0`.
    #[error(
        "multiple or non-zero Redis databases are not supported (found db_{}); elastickv has one keyspace, only db_0 can be encoded",
        join_dbs(.dbs)
    )]
    Databases {
        /// The database indices found.
        dbs: Vec<u32>,
    },
    /// The file is not valid JSON (the reader's message).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A collection document or stream line that is not an object.
    #[error("expected a JSON object, got {got}")]
    NotObject {
        /// The JSON found.
        got: String,
    },
    /// A TTL sidecar value that is not an object.
    #[error("expected a JSON object")]
    SidecarNotObject,
    /// A TTL sidecar `key` that is not a string.
    #[error("\"key\" must be a string")]
    SidecarKey,
    /// A collection's `format_version` other than 1.
    #[error("unsupported format_version {got} (expected 1)")]
    FormatVersion {
        /// The value found (`nothing` when absent).
        got: String,
    },
    /// A member that must be an unsigned integer.
    #[error("\"{name}\" must be an unsigned integer, got {got}")]
    NotUnsigned {
        /// The member.
        name: &'static str,
        /// The JSON found.
        got: String,
    },
    /// A member that must be an array.
    #[error("\"{name}\" must be an array, got {got}")]
    NotArray {
        /// The member.
        name: &'static str,
        /// The JSON found.
        got: String,
    },
    /// An array element that must be an object.
    #[error("{array}[{index}]: expected an object, got {got}")]
    ElemNotObject {
        /// The array member.
        array: &'static str,
        /// The element's index.
        index: usize,
        /// The JSON found.
        got: String,
    },
    /// A binary envelope `{"base64":…}` whose text is not base64url.
    #[error("{what}: invalid base64url: {reason}")]
    Base64 {
        /// The value (`fields[0].name`).
        what: String,
        /// The decoder's message.
        reason: String,
    },
    /// A binary envelope object without a string `base64` member.
    #[error("{what}: expected a string or {{\"base64\":\"…\"}} with a non-null string")]
    Base64Member {
        /// The value.
        what: String,
    },
    /// A missing or null binary value.
    #[error("{what}: missing or null (expected a string or {{\"base64\":…}})")]
    BinaryMissing {
        /// The value.
        what: String,
    },
    /// A binary value of the wrong JSON type.
    #[error("{what}: expected a string or {{\"base64\":…}}, got {got}")]
    NotBinary {
        /// The value.
        what: String,
        /// The JSON found.
        got: String,
    },
    /// A zset score that is a number but not a finite f64.
    #[error("members[{index}].score: not a finite number: {got}")]
    ScoreNotFinite {
        /// The member's index.
        index: usize,
        /// The number found.
        got: String,
    },
    /// A zset score of the wrong JSON type.
    #[error("members[{index}].score: expected a number, \"+inf\" or \"-inf\", got {got}")]
    ScoreType {
        /// The member's index.
        index: usize,
        /// The JSON found.
        got: String,
    },
    /// A stream line whose `_meta` is not a boolean.
    #[error("\"_meta\" must be a boolean, got {got}")]
    MetaFlag {
        /// The JSON found.
        got: String,
    },
    /// A second `_meta` line in a stream file.
    #[error("a second \"_meta\" record (expected exactly one)")]
    SecondMeta,
    /// A stream `_meta` whose `length` is not an integer.
    #[error("\"length\" must be an integer, got {got}")]
    LengthType {
        /// The JSON found.
        got: String,
    },
    /// A stream entry whose `id` is not a string.
    #[error("\"id\" must be a string, got {got}")]
    IdType {
        /// The JSON found.
        got: String,
    },
    /// A stream entry id that is not `<ms>-<seq>`.
    #[error("invalid stream id {id:?} (expected <ms>-<seq>)")]
    StreamId {
        /// The id found.
        id: String,
    },
    /// A stream field name or value that is not UTF-8.
    #[error("{what}: not valid UTF-8 (stream fields are proto3 strings)")]
    FieldUtf8 {
        /// The value (`fields[0].name`).
        what: String,
    },
    /// A stream file without its `_meta` line.
    #[error("no \"_meta\" record (expected exactly one)")]
    NoMeta,
    /// A stream `_meta` with a negative length.
    #[error("_meta length {length} is negative")]
    NegativeLength {
        /// The length found.
        length: i64,
    },
    /// A stream `_meta` length that differs from the entries in the file.
    #[error("_meta length {length} but the file has {entries} entries")]
    LengthMismatch {
        /// The declared length.
        length: i64,
        /// The entries in the file.
        entries: u64,
    },
    /// A stream entry id after the `_meta` last id.
    #[error("entry id {ms}-{seq} is after the _meta last id {last_ms}-{last_seq}")]
    IdAfterLast {
        /// The entry id's ms.
        ms: u64,
        /// The entry id's seq.
        seq: u64,
        /// `_meta.last_ms`.
        last_ms: u64,
        /// `_meta.last_seq`.
        last_seq: u64,
    },
    /// An error in the `n`th (1-based) value of a JSON sequence file.
    #[error("value {n}: {source}")]
    InValue {
        /// The value's 1-based number.
        n: usize,
        /// What is wrong with it.
        source: Box<FileError>,
    },
}

impl FileError {
    /// This error, in the `n`th value of a sequence file.
    fn in_value(self, n: usize) -> FileError {
        FileError::InValue {
            n,
            source: Box::new(self),
        }
    }
}

fn join_dbs(dbs: &[u32]) -> String {
    dbs.iter().map(u32::to_string).collect::<Vec<_>>().join(", db_")
}

fn bad_file(path: &Path, e: FileError) -> AdapterError {
    AdapterError::bad_file(path, e)
}

/// Parse a canonical `db_<N>` directory name (decimal, no sign, no leading zeros).
pub fn parse_db_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("db_")?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// The database indices under `<root>/redis` (§6.1 `enumerateRedisDBs`), sorted. A missing
/// `redis/` gives an empty list; a symlinked or non-directory `redis/` or canonical `db_<N>`
/// entry is an error.
pub fn enumerate_dbs(root: &Path) -> Result<Vec<u32>, AdapterError> {
    let redis = root.join("redis");
    match lstat(&redis).map_err(AdapterError::Dump)? {
        Node::Missing => return Ok(Vec::new()),
        Node::Other(found) => return Err(bad_file(&redis, FileError::NotDir { found })),
        Node::Dir => {}
    }
    let entries = list_dir(&redis)?.unwrap_or_default();
    let mut dbs = Vec::new();
    for e in entries {
        let Some(n) = e.name.to_str().and_then(parse_db_name) else {
            continue;
        };
        if e.kind != EntryKind::Dir {
            return Err(bad_file(&e.path, FileError::NotDbDir));
        }
        dbs.push(n);
    }
    dbs.sort_unstable();
    Ok(dbs)
}

/// The largest `.bin` file: a value of the format's maximum size (the envelope adds bytes,
/// so the sink still refuses a body just under it). Checked from `fstat` before reading.
pub const MAX_BLOB_FILE: u64 = pebble::MAX_ENCODED_VALUE_LEN;

/// The per-file context: path, KEYMAP, sink.
struct Ctx<'a> {
    keymap: &'a HashMap<String, Vec<u8>>,
    sink: &'a mut dyn RecordSink,
}

impl Ctx<'_> {
    fn add(&mut self, path: &Path, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        self.sink.add(key, value).map_err(|source| AdapterError::Sink {
            path: path.to_path_buf(),
            key: display_key(key),
            source,
        })
    }

    /// Recover the raw key of a file stem (§6.1 `resolveKey`).
    fn resolve(&self, path: &Path, stem: &str) -> Result<Vec<u8>, AdapterError> {
        Ok(resolve_stem(path, stem, self.keymap)?)
    }

    fn ttl_row(&mut self, path: &Path, k: &[u8], ms: u64) -> Result<(), AdapterError> {
        if ms != 0 {
            self.add(path, &[TTL_PREFIX, k].concat(), &build_ttl_value(ms))?;
        }
        Ok(())
    }
}

/// Load a TTL sidecar: a sequence of `{key, expire_at_ms}` values; the last entry of a key wins.
fn load_ttl_sidecar(reader: &TreeReader, path: &Path) -> Result<HashMap<String, u64>, AdapterError> {
    let mut map = HashMap::new();
    if matches!(std::fs::symlink_metadata(path), Err(ref e) if e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(map);
    }
    let bytes = reader.read(path, MAX_JSON_FILE)?;
    for (i, v) in parse_seq(&bytes).enumerate() {
        let v = seq_value(path, v)?;
        let (key, ms) = match &v {
            Value::Null => (String::new(), 0),
            Value::Object(o) => {
                let key = match get_ci(o, "key") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => return Err(bad_file(path, FileError::SidecarKey.in_value(i + 1))),
                };
                let ms = opt_u64(o, "expire_at_ms")
                    .map_err(|e| bad_file(path, e.in_value(i + 1)))?
                    .unwrap_or(0);
                (key, ms)
            }
            _ => return Err(bad_file(path, FileError::SidecarNotObject.in_value(i + 1))),
        };
        map.insert(key, ms);
    }
    Ok(map)
}

/// A sequence value or the file's parse error.
fn seq_value(path: &Path, v: Result<Value, String>) -> Result<Value, AdapterError> {
    v.map_err(|e| bad_file(path, FileError::Json(e)))
}

/// An optional u64 member: missing or `null` → `None`; otherwise a JSON integer in u64.
fn opt_u64(o: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, FileError> {
    gofields::opt_u64(o, name).map_err(|v| FileError::NotUnsigned {
        name,
        got: v.to_string(),
    })
}

/// A binary envelope (§6.3 `unmarshalRedisBinaryValue`): a JSON string, or `{"base64":…}`.
/// `what` names the value in an error; it is formatted only then.
fn binary(v: Option<&Value>, what: std::fmt::Arguments<'_>) -> Result<Vec<u8>, FileError> {
    gofields::binary(v).map_err(|e| {
        let what = what.to_string();
        match e {
            BinaryError::Base64(reason) => FileError::Base64 { what, reason },
            BinaryError::NoBase64 => FileError::Base64Member { what },
            BinaryError::Missing => FileError::BinaryMissing { what },
            BinaryError::NotBinary(got) => FileError::NotBinary { what, got },
        }
    })
}

/// An optional array member: missing or `null` → empty.
fn opt_array<'v>(o: &'v Map<String, Value>, name: &'static str) -> Result<&'v [Value], FileError> {
    gofields::opt_array(o, name).map_err(|v| FileError::NotArray {
        name,
        got: v.to_string(),
    })
}

/// Parse a collection file: one object, `format_version` exactly 1; returns the object and
/// the TTL (`0` = none).
fn collection_doc(path: &Path, bytes: &[u8]) -> Result<(Map<String, Value>, u64), AdapterError> {
    let v = parse_one(bytes, true).map_err(|e| bad_file(path, FileError::Json(e)))?;
    let o = match v {
        Value::Object(o) => o,
        Value::Null => Map::new(),
        other => {
            return Err(bad_file(
                path,
                FileError::NotObject {
                    got: other.to_string(),
                },
            ))
        }
    };
    match get_ci(&o, "format_version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        other => {
            let got = other.map_or("nothing".to_owned(), |v| v.to_string());
            return Err(bad_file(path, FileError::FormatVersion { got }));
        }
    }
    let ms = opt_u64(&o, "expire_at_ms")
        .map_err(|e| bad_file(path, e))?
        .unwrap_or(0);
    Ok((o, ms))
}

fn elem_obj<'v>(
    v: &'v Value,
    array: &'static str,
    index: usize,
) -> Result<Option<&'v Map<String, Value>>, FileError> {
    match v {
        Value::Object(o) => Ok(Some(o)),
        Value::Null => Ok(None),
        other => Err(FileError::ElemNotObject {
            array,
            index,
            got: other.to_string(),
        }),
    }
}

/// A zset score (§6.3): `"+inf"`/`"-inf"`, a JSON number, or `null` (→ 0).
fn score(v: Option<&Value>, index: usize) -> Result<f64, FileError> {
    match v {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::String(s)) if s == "+inf" => Ok(f64::INFINITY),
        Some(Value::String(s)) if s == "-inf" => Ok(f64::NEG_INFINITY),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if !f.is_nan() => Ok(f),
            _ => Err(FileError::ScoreNotFinite {
                index,
                got: n.to_string(),
            }),
        },
        Some(other) => Err(FileError::ScoreType {
            index,
            got: other.to_string(),
        }),
    }
}

/// A stream id `ms-seq`: split at the first `-`, each half an unsigned decimal.
fn stream_id(id: &str) -> Option<(u64, u64)> {
    let (a, b) = id.split_once('-')?;
    let parse = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    Some((parse(a)?, parse(b)?))
}

impl Encoder for RedisEncoder {
    fn encode(&mut self, root: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        let dbs = enumerate_dbs(root)?;
        if dbs.is_empty() {
            return Ok(());
        }
        if dbs != [0] {
            return Err(bad_file(&root.join("redis"), FileError::Databases { dbs }));
        }
        self.encode_db(&root.join("redis").join("db_0"), sink)
    }
}

impl RedisEncoder {
    /// Encode one `db_0` directory (§6.1 `RedisEncoder.Encode`).
    pub fn encode_db(&mut self, db: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        match lstat(db).map_err(AdapterError::Dump)? {
            Node::Missing => return Ok(()),
            Node::Other(found) => return Err(bad_file(db, FileError::NotDir { found })),
            Node::Dir => {}
        }
        let km_path = db.join("KEYMAP.jsonl");
        let keymap = match std::fs::symlink_metadata(&km_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            _ => {
                // Refuse a non-regular or hard-linked KEYMAP before parsing it.
                drop(open_input(&km_path)?);
                self.reader.check_file(&km_path)?;
                keymap::load(&km_path)?
            }
        };
        let strings_ttl = load_ttl_sidecar(&self.reader, &db.join("strings_ttl.jsonl"))?;
        let hll_ttl = load_ttl_sidecar(&self.reader, &db.join("hll_ttl.jsonl"))?;
        let reader = &self.reader;
        let files = Files {
            threads: self.threads,
            scratch_dir: &self.scratch_dir,
            keymap: &keymap,
            listing_budget: LISTING_SORT_BUDGET,
            per_round: FILES_PER_ROUND,
        };

        files.walk(&db.join("strings"), ".bin", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let body = reader.read(path, MAX_BLOB_FILE)?;
            let ms = strings_ttl.get(stem).copied().unwrap_or(0);
            ctx.add(path, &[STR_PREFIX, &k].concat(), &build_string_value(&body, ms))
        })?;
        files.walk(&db.join("hll"), ".bin", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let body = reader.read(path, MAX_BLOB_FILE)?;
            let ms = hll_ttl.get(stem).copied().unwrap_or(0);
            ctx.add(path, &[HLL_PREFIX, &k].concat(), &build_hll_value(&body, ms))?;
            ctx.ttl_row(path, &k, ms)
        })?;
        files.walk(&db.join("hashes"), ".json", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let (o, ms) = collection_doc(path, &reader.read(path, MAX_JSON_FILE)?)?;
            let fields = opt_array(&o, "fields").map_err(|e| bad_file(path, e))?;
            let mut recs = Vec::with_capacity(fields.len());
            for (i, f) in fields.iter().enumerate() {
                let f = elem_obj(f, "fields", i).map_err(|e| bad_file(path, e))?;
                let name = binary(
                    f.and_then(|o| get_ci(o, "name")),
                    format_args!("fields[{i}].name"),
                )
                .map_err(|e| bad_file(path, e))?;
                let value = binary(
                    f.and_then(|o| get_ci(o, "value")),
                    format_args!("fields[{i}].value"),
                )
                .map_err(|e| bad_file(path, e))?;
                recs.push((name, value));
            }
            ctx.add(
                path,
                &wide_key(HASH_META_PREFIX, &k, b""),
                &build_count_meta(recs.len() as u64, ms),
            )?;
            for (name, value) in &recs {
                ctx.add(path, &wide_key(HASH_FIELD_PREFIX, &k, name), value)?;
            }
            ctx.ttl_row(path, &k, ms)
        })?;
        files.walk(&db.join("sets"), ".json", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let (o, ms) = collection_doc(path, &reader.read(path, MAX_JSON_FILE)?)?;
            let members = opt_array(&o, "members").map_err(|e| bad_file(path, e))?;
            let mut recs = Vec::with_capacity(members.len());
            for (i, m) in members.iter().enumerate() {
                recs.push(binary(Some(m), format_args!("members[{i}]")).map_err(|e| bad_file(path, e))?);
            }
            ctx.add(
                path,
                &wide_key(SET_META_PREFIX, &k, b""),
                &build_count_meta(recs.len() as u64, ms),
            )?;
            for m in &recs {
                ctx.add(path, &wide_key(SET_MEMBER_PREFIX, &k, m), b"")?;
            }
            ctx.ttl_row(path, &k, ms)
        })?;
        files.walk(&db.join("lists"), ".json", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let (o, ms) = collection_doc(path, &reader.read(path, MAX_JSON_FILE)?)?;
            let items = opt_array(&o, "items").map_err(|e| bad_file(path, e))?;
            let mut recs = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                recs.push(binary(Some(it), format_args!("items[{i}]")).map_err(|e| bad_file(path, e))?);
            }
            ctx.add(path, &list_meta_key(&k), &build_list_meta(recs.len() as u64, ms))?;
            for (i, it) in recs.iter().enumerate() {
                ctx.add(path, &list_item_key(&k, i as i64), it)?;
            }
            ctx.ttl_row(path, &k, ms)
        })?;
        files.walk(&db.join("zsets"), ".json", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let (o, ms) = collection_doc(path, &reader.read(path, MAX_JSON_FILE)?)?;
            let members = opt_array(&o, "members").map_err(|e| bad_file(path, e))?;
            let mut recs = Vec::with_capacity(members.len());
            for (i, m) in members.iter().enumerate() {
                let m = elem_obj(m, "members", i).map_err(|e| bad_file(path, e))?;
                let member = binary(
                    m.and_then(|o| get_ci(o, "member")),
                    format_args!("members[{i}].member"),
                )
                .map_err(|e| bad_file(path, e))?;
                let s = score(m.and_then(|o| get_ci(o, "score")), i).map_err(|e| bad_file(path, e))?;
                recs.push((member, s));
            }
            ctx.add(
                path,
                &wide_key(ZSET_META_PREFIX, &k, b""),
                &build_count_meta(recs.len() as u64, ms),
            )?;
            for (m, s) in &recs {
                ctx.add(path, &wide_key(ZSET_MEMBER_PREFIX, &k, m), &build_zset_score(*s))?;
                ctx.add(path, &zset_score_key(&k, *s, m), b"")?;
            }
            ctx.ttl_row(path, &k, ms)
        })?;
        files.walk(&db.join("streams"), ".jsonl", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            encode_stream(ctx, reader, path, &k)
        })?;
        Ok(())
    }
}

/// Encode one `streams/<s>.jsonl` file (§6.2, §6.3 stream rules).
fn encode_stream(ctx: &mut Ctx<'_>, reader: &TreeReader, path: &Path, k: &[u8]) -> Result<(), AdapterError> {
    let bytes = reader.read(path, MAX_JSON_FILE)?;
    let mut meta: Option<(i64, u64, u64, u64)> = None;
    let mut entries = 0u64;
    let mut max_id: Option<(u64, u64)> = None;
    for (i, v) in parse_seq(&bytes).enumerate() {
        let n = i + 1;
        let o = match seq_value(path, v)? {
            Value::Object(o) => o,
            Value::Null => Map::new(),
            other => {
                let got = other.to_string();
                return Err(bad_file(path, FileError::NotObject { got }.in_value(n)));
            }
        };
        let is_meta = match get_ci(&o, "_meta") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                let got = other.to_string();
                return Err(bad_file(path, FileError::MetaFlag { got }.in_value(n)));
            }
        };
        if is_meta {
            if meta.is_some() {
                return Err(bad_file(path, FileError::SecondMeta.in_value(n)));
            }
            let length = match get_ci(&o, "length") {
                None | Some(Value::Null) => 0,
                Some(Value::Number(x)) => x.as_i64().ok_or_else(|| {
                    bad_file(path, FileError::LengthType { got: x.to_string() }.in_value(n))
                })?,
                Some(other) => {
                    let got = other.to_string();
                    return Err(bad_file(path, FileError::LengthType { got }.in_value(n)));
                }
            };
            let last_ms = opt_u64(&o, "last_ms")
                .map_err(|e| bad_file(path, e.in_value(n)))?
                .unwrap_or(0);
            let last_seq = opt_u64(&o, "last_seq")
                .map_err(|e| bad_file(path, e.in_value(n)))?
                .unwrap_or(0);
            let ms = opt_u64(&o, "expire_at_ms")
                .map_err(|e| bad_file(path, e.in_value(n)))?
                .unwrap_or(0);
            meta = Some((length, last_ms, last_seq, ms));
            continue;
        }
        let id = match get_ci(&o, "id") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                let got = other.to_string();
                return Err(bad_file(path, FileError::IdType { got }.in_value(n)));
            }
        };
        let Some((ms, seq)) = stream_id(&id) else {
            return Err(bad_file(path, FileError::StreamId { id }.in_value(n)));
        };
        let fields = opt_array(&o, "fields").map_err(|e| bad_file(path, e.in_value(n)))?;
        let mut flat = Vec::with_capacity(fields.len() * 2);
        for (j, f) in fields.iter().enumerate() {
            let f = elem_obj(f, "fields", j).map_err(|e| bad_file(path, e.in_value(n)))?;
            for part in ["name", "value"] {
                let b = binary(
                    f.and_then(|o| get_ci(o, part)),
                    format_args!("fields[{j}].{part}"),
                )
                .map_err(|e| bad_file(path, e.in_value(n)))?;
                let s = String::from_utf8(b).map_err(|_| {
                    let what = format!("fields[{j}].{part}");
                    bad_file(path, FileError::FieldUtf8 { what }.in_value(n))
                })?;
                flat.push(s);
            }
        }
        ctx.add(
            path,
            &stream_entry_key(k, ms, seq),
            &build_stream_entry(&id, &flat),
        )?;
        entries += 1;
        max_id = max_id.max(Some((ms, seq)));
    }
    let Some((length, last_ms, last_seq, ms)) = meta else {
        return Err(bad_file(path, FileError::NoMeta));
    };
    if length < 0 {
        return Err(bad_file(path, FileError::NegativeLength { length }));
    }
    if length as u64 != entries {
        return Err(bad_file(path, FileError::LengthMismatch { length, entries }));
    }
    if let Some((ms, seq)) = max_id {
        if (ms, seq) > (last_ms, last_seq) {
            return Err(bad_file(
                path,
                FileError::IdAfterLast {
                    ms,
                    seq,
                    last_ms,
                    last_seq,
                },
            ));
        }
    }
    ctx.add(
        path,
        &wide_key(STREAM_META_PREFIX, k, b""),
        &build_stream_meta(length as u64, last_ms, last_seq, ms),
    )?;
    ctx.ttl_row(path, k, ms)
}

/// What every file of a walk shares.
struct Files<'a> {
    threads: usize,
    scratch_dir: &'a Path,
    keymap: &'a HashMap<String, Vec<u8>>,
    /// [`LISTING_SORT_BUDGET`] and [`FILES_PER_ROUND`] (smaller in tests).
    listing_budget: usize,
    per_round: usize,
}

impl Files<'_> {
    /// Walk one subdirectory: missing → nothing; symlink or non-directory → error; regular
    /// entries with `suffix` → `each(ctx, path, stem)`, on worker threads, the records
    /// reaching `sink` in stem order ([`encode_files`]); symlinks, specials and directories
    /// named with the suffix refused (`dump::fs::data_file_stem`, D12); other files skipped.
    ///
    /// The listing is read one entry at a time and its stems sorted through the external
    /// sorter, then handed out [`FILES_PER_ROUND`] at a time: memory does not grow with the
    /// number of files in the directory.
    fn walk(
        &self,
        dir: &Path,
        suffix: &str,
        sink: &mut dyn RecordSink,
        each: impl Fn(&mut Ctx<'_>, &Path, &str) -> Result<(), AdapterError> + Sync,
    ) -> Result<(), AdapterError> {
        let Some(stems) = SortedStems::list(dir, suffix, self.listing_budget, self.scratch_dir)? else {
            return Ok(());
        };
        let mut stems = stems.per_round(self.per_round);
        let mut round: Vec<String> = Vec::new();
        while stems.next_round(&mut round)? {
            encode_files(
                &round,
                self.threads,
                |stem| {
                    let path = dir.join(format!("{stem}{suffix}"));
                    let mut batch = RecordBatch::new(&path);
                    let mut ctx = Ctx {
                        keymap: self.keymap,
                        sink: &mut batch,
                    };
                    each(&mut ctx, &path, stem)?;
                    Ok(batch)
                },
                sink,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::RecordSink;
    use crate::adapters::SinkError;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn field_helpers_fail_with_typed_errors_and_stable_messages() {
        let o = obj(serde_json::json!({"Expire_At_Ms": -1, "fields": 3}));
        let e = opt_u64(&o, "expire_at_ms").unwrap_err();
        assert_eq!(
            e,
            FileError::NotUnsigned {
                name: "expire_at_ms",
                got: "-1".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "\"expire_at_ms\" must be an unsigned integer, got -1"
        );
        assert_eq!(opt_u64(&o, "last_ms"), Ok(None));
        let e = opt_array(&o, "fields").unwrap_err();
        assert!(matches!(e, FileError::NotArray { name: "fields", .. }), "{e}");
        assert_eq!(e.to_string(), "\"fields\" must be an array, got 3");

        let e = elem_obj(&Value::from(1), "members", 2).unwrap_err();
        assert!(matches!(
            e,
            FileError::ElemNotObject {
                array: "members",
                index: 2,
                ..
            }
        ));
        assert_eq!(e.to_string(), "members[2]: expected an object, got 1");

        let e = binary(None, format_args!("items[0]")).unwrap_err();
        assert_eq!(
            e,
            FileError::BinaryMissing {
                what: "items[0]".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "items[0]: missing or null (expected a string or {\"base64\":…})"
        );
        let b64 = serde_json::json!({"base64": "a+b/"});
        let e = binary(Some(&b64), format_args!("items[1]")).unwrap_err();
        assert!(
            matches!(&e, FileError::Base64 { what, .. } if what == "items[1]"),
            "{e}"
        );
        assert!(e.to_string().starts_with("items[1]: invalid base64url: "), "{e}");
        let e = binary(Some(&serde_json::json!({"base64": null})), format_args!("m")).unwrap_err();
        assert_eq!(e, FileError::Base64Member { what: "m".into() });
        let e = binary(Some(&Value::from(true)), format_args!("m")).unwrap_err();
        assert_eq!(e.to_string(), "m: expected a string or {\"base64\":…}, got true");
        assert_eq!(binary(Some(&b64), format_args!("x")).ok(), None);
        assert_eq!(
            binary(Some(&Value::from("ab")), format_args!("x")),
            Ok(b"ab".to_vec())
        );

        let e = score(Some(&Value::from("inf")), 4).unwrap_err();
        assert!(matches!(e, FileError::ScoreType { index: 4, .. }));
        assert_eq!(
            e.to_string(),
            "members[4].score: expected a number, \"+inf\" or \"-inf\", got \"inf\""
        );
        assert_eq!(score(Some(&Value::from("-inf")), 0), Ok(f64::NEG_INFINITY));

        let e = FileError::SecondMeta.in_value(3);
        assert!(matches!(&e, FileError::InValue { n: 3, source } if **source == FileError::SecondMeta));
        assert_eq!(
            e.to_string(),
            "value 3: a second \"_meta\" record (expected exactly one)"
        );
        let e = FileError::Databases { dbs: vec![0, 1, 5] };
        assert!(e.to_string().contains("(found db_0, db_1, db_5)"), "{e}");
    }

    #[derive(Default)]
    struct Names(Vec<Vec<u8>>);

    impl RecordSink for Names {
        fn add(&mut self, key: &[u8], _value: &[u8]) -> Result<(), SinkError> {
            self.0.push(key.to_vec());
            Ok(())
        }
    }

    #[test]
    fn a_walk_with_a_spilled_listing_and_many_rounds_visits_every_file_once_in_stem_order() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("strings");
        std::fs::create_dir(&dir).unwrap();
        // Created in scrambled order; `a%41` sorts before `a` by name but after it by stem.
        let mut stems: Vec<String> = (0u32..300).map(|i| format!("k{:03}", i * 7 % 300)).collect();
        stems.extend(["a".to_owned(), "a%41".to_owned()]);
        for stem in &stems {
            std::fs::write(dir.join(format!("{stem}.bin")), b"").unwrap();
        }
        std::fs::write(dir.join("skipped.txt"), b"").unwrap();
        let keymap = HashMap::new();
        for threads in [1, 3] {
            let files = Files {
                threads,
                scratch_dir: d.path(),
                keymap: &keymap,
                listing_budget: 256,
                per_round: 7,
            };
            let mut sink = Names::default();
            files
                .walk(&dir, ".bin", &mut sink, |ctx, path, stem| {
                    assert_eq!(path, dir.join(format!("{stem}.bin")));
                    ctx.add(path, stem.as_bytes(), b"")
                })
                .unwrap();
            let mut want: Vec<Vec<u8>> = stems.iter().map(|s| s.as_bytes().to_vec()).collect();
            want.sort();
            assert_eq!(sink.0, want, "{threads} threads");
        }
    }
}
