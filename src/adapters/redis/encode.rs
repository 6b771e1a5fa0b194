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
use crate::dump::fs::{self, list_dir, open_input, EntryKind};
use crate::dump::json::{decode_base64url_lenient, get_ci, parse_one, parse_seq};
use crate::dump::keymap;
use crate::dump::walk::{lstat, resolve_stem, Node, SortedStems, FILES_PER_ROUND, LISTING_SORT_BUDGET};

/// Tree → records for the Redis adapter.
#[derive(Debug)]
pub struct RedisEncoder {
    threads: usize,
    scratch_dir: PathBuf,
}

impl RedisEncoder {
    /// An encoder reading files with the context's worker threads (`1`: on the calling
    /// thread; the records and the first error are the same for any count), spilling large
    /// directory listings to its scratch directory.
    pub fn new(_options: &RedisOptions, cx: &EncodeContext) -> Self {
        RedisEncoder {
            threads: cx.threads.max(1),
            scratch_dir: cx.scratch_dir.clone(),
        }
    }
}

fn bad_file(path: &Path, what: impl Into<String>) -> AdapterError {
    AdapterError::BadFile {
        path: path.to_path_buf(),
        what: what.into(),
    }
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
        Node::Other(what) => return Err(bad_file(&redis, format!("expected a directory, found {what}"))),
        Node::Dir => {}
    }
    let entries = list_dir(&redis)?.unwrap_or_default();
    let mut dbs = Vec::new();
    for e in entries {
        let Some(n) = e.name.to_str().and_then(parse_db_name) else {
            continue;
        };
        if e.kind != EntryKind::Dir {
            return Err(bad_file(
                &e.path,
                "expected a database directory, found a symlink or a non-directory",
            ));
        }
        dbs.push(n);
    }
    dbs.sort_unstable();
    Ok(dbs)
}

/// Read a whole input file (`dump::fs::read_input`: no-follow, regular, nlink 1).
fn read_input(path: &Path) -> Result<Vec<u8>, AdapterError> {
    Ok(fs::read_input(path)?)
}

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
fn load_ttl_sidecar(path: &Path) -> Result<HashMap<String, u64>, AdapterError> {
    let mut map = HashMap::new();
    if matches!(std::fs::symlink_metadata(path), Err(ref e) if e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(map);
    }
    let bytes = read_input(path)?;
    for (i, v) in parse_seq(&bytes).enumerate() {
        let v = seq_value(path, v)?;
        let (key, ms) = match &v {
            Value::Null => (String::new(), 0),
            Value::Object(o) => {
                let key = match get_ci(o, "key") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => {
                        return Err(bad_file(
                            path,
                            format!("value {}: \"key\" must be a string", i + 1),
                        ))
                    }
                };
                let ms = opt_u64(o, "expire_at_ms")
                    .map_err(|e| bad_file(path, format!("value {}: {e}", i + 1)))?
                    .unwrap_or(0);
                (key, ms)
            }
            _ => return Err(bad_file(path, format!("value {}: expected a JSON object", i + 1))),
        };
        map.insert(key, ms);
    }
    Ok(map)
}

/// A sequence value or the file's parse error.
fn seq_value(path: &Path, v: Result<Value, String>) -> Result<Value, AdapterError> {
    v.map_err(|e| bad_file(path, format!("invalid JSON: {e}")))
}

/// An optional u64 member: missing or `null` → `None`; otherwise a JSON integer in u64.
fn opt_u64(o: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match get_ci(o, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("\"{name}\" must be an unsigned integer, got {n}")),
        Some(other) => Err(format!("\"{name}\" must be an unsigned integer, got {other}")),
    }
}

/// A binary envelope (§6.3 `unmarshalRedisBinaryValue`): a JSON string, or `{"base64":…}`.
/// `what` names the value in an error; it is formatted only then.
fn binary(v: Option<&Value>, what: std::fmt::Arguments<'_>) -> Result<Vec<u8>, String> {
    match v {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Object(o)) => match get_ci(o, "base64") {
            Some(Value::String(s)) => {
                decode_base64url_lenient(s).map_err(|e| format!("{what}: invalid base64url: {e}"))
            }
            _ => Err(format!(
                "{what}: expected a string or {{\"base64\":\"…\"}} with a non-null string"
            )),
        },
        None | Some(Value::Null) => Err(format!(
            "{what}: missing or null (expected a string or {{\"base64\":…}})"
        )),
        Some(other) => Err(format!(
            "{what}: expected a string or {{\"base64\":…}}, got {other}"
        )),
    }
}

/// An optional array member: missing or `null` → empty.
fn opt_array<'v>(o: &'v Map<String, Value>, name: &str) -> Result<&'v [Value], String> {
    match get_ci(o, name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(format!("\"{name}\" must be an array, got {other}")),
    }
}

/// Parse a collection file: one object, `format_version` exactly 1; returns the object and
/// the TTL (`0` = none).
fn collection_doc(path: &Path, bytes: &[u8]) -> Result<(Map<String, Value>, u64), AdapterError> {
    let v = parse_one(bytes, true).map_err(|e| bad_file(path, format!("invalid JSON: {e}")))?;
    let o = match v {
        Value::Object(o) => o,
        Value::Null => Map::new(),
        other => return Err(bad_file(path, format!("expected a JSON object, got {other}"))),
    };
    match get_ci(&o, "format_version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        other => {
            let got = other.map_or("nothing".to_owned(), |v| v.to_string());
            return Err(bad_file(
                path,
                format!("unsupported format_version {got} (expected 1)"),
            ));
        }
    }
    let ms = opt_u64(&o, "expire_at_ms")
        .map_err(|e| bad_file(path, e))?
        .unwrap_or(0);
    Ok((o, ms))
}

fn elem_obj<'v>(v: &'v Value, what: &str, i: usize) -> Result<Option<&'v Map<String, Value>>, String> {
    match v {
        Value::Object(o) => Ok(Some(o)),
        Value::Null => Ok(None),
        other => Err(format!("{what}[{i}]: expected an object, got {other}")),
    }
}

/// A zset score (§6.3): `"+inf"`/`"-inf"`, a JSON number, or `null` (→ 0).
fn score(v: Option<&Value>, i: usize) -> Result<f64, String> {
    match v {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::String(s)) if s == "+inf" => Ok(f64::INFINITY),
        Some(Value::String(s)) if s == "-inf" => Ok(f64::NEG_INFINITY),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if !f.is_nan() => Ok(f),
            _ => Err(format!("members[{i}].score: not a finite number: {n}")),
        },
        Some(other) => Err(format!(
            "members[{i}].score: expected a number, \"+inf\" or \"-inf\", got {other}"
        )),
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
            return Err(bad_file(
                &root.join("redis"),
                format!(
                    "multiple or non-zero Redis databases are not supported (found db_{}); elastickv has one keyspace, only db_0 can be encoded",
                    dbs.iter().map(u32::to_string).collect::<Vec<_>>().join(", db_")
                ),
            ));
        }
        self.encode_db(&root.join("redis").join("db_0"), sink)
    }
}

impl RedisEncoder {
    /// Encode one `db_0` directory (§6.1 `RedisEncoder.Encode`).
    pub fn encode_db(&mut self, db: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        match lstat(db).map_err(AdapterError::Dump)? {
            Node::Missing => return Ok(()),
            Node::Other(what) => return Err(bad_file(db, format!("expected a directory, found {what}"))),
            Node::Dir => {}
        }
        let km_path = db.join("KEYMAP.jsonl");
        let keymap = match std::fs::symlink_metadata(&km_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            _ => {
                // Refuse a non-regular or hard-linked KEYMAP before parsing it.
                drop(open_input(&km_path)?);
                keymap::load(&km_path)?
            }
        };
        let strings_ttl = load_ttl_sidecar(&db.join("strings_ttl.jsonl"))?;
        let hll_ttl = load_ttl_sidecar(&db.join("hll_ttl.jsonl"))?;
        let files = Files {
            threads: self.threads,
            scratch_dir: &self.scratch_dir,
            keymap: &keymap,
            listing_budget: LISTING_SORT_BUDGET,
            per_round: FILES_PER_ROUND,
        };

        files.walk(&db.join("strings"), ".bin", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let body = read_input(path)?;
            let ms = strings_ttl.get(stem).copied().unwrap_or(0);
            ctx.add(path, &[STR_PREFIX, &k].concat(), &build_string_value(&body, ms))
        })?;
        files.walk(&db.join("hll"), ".bin", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let body = read_input(path)?;
            let ms = hll_ttl.get(stem).copied().unwrap_or(0);
            ctx.add(path, &[HLL_PREFIX, &k].concat(), &build_hll_value(&body, ms))?;
            ctx.ttl_row(path, &k, ms)
        })?;
        files.walk(&db.join("hashes"), ".json", sink, |ctx, path, stem| {
            let k = ctx.resolve(path, stem)?;
            let (o, ms) = collection_doc(path, &read_input(path)?)?;
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
            let (o, ms) = collection_doc(path, &read_input(path)?)?;
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
            let (o, ms) = collection_doc(path, &read_input(path)?)?;
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
            let (o, ms) = collection_doc(path, &read_input(path)?)?;
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
            encode_stream(ctx, path, &k)
        })?;
        Ok(())
    }
}

/// Encode one `streams/<s>.jsonl` file (§6.2, §6.3 stream rules).
fn encode_stream(ctx: &mut Ctx<'_>, path: &Path, k: &[u8]) -> Result<(), AdapterError> {
    let bytes = read_input(path)?;
    let mut meta: Option<(i64, u64, u64, u64)> = None;
    let mut entries = 0u64;
    let mut max_id: Option<(u64, u64)> = None;
    for (i, v) in parse_seq(&bytes).enumerate() {
        let n = i + 1;
        let o = match seq_value(path, v)? {
            Value::Object(o) => o,
            Value::Null => Map::new(),
            other => {
                return Err(bad_file(
                    path,
                    format!("value {n}: expected a JSON object, got {other}"),
                ))
            }
        };
        let is_meta = match get_ci(&o, "_meta") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(bad_file(
                    path,
                    format!("value {n}: \"_meta\" must be a boolean, got {other}"),
                ))
            }
        };
        if is_meta {
            if meta.is_some() {
                return Err(bad_file(
                    path,
                    format!("value {n}: a second \"_meta\" record (expected exactly one)"),
                ));
            }
            let length = match get_ci(&o, "length") {
                None | Some(Value::Null) => 0,
                Some(Value::Number(x)) => x.as_i64().ok_or_else(|| {
                    bad_file(path, format!("value {n}: \"length\" must be an integer, got {x}"))
                })?,
                Some(other) => {
                    return Err(bad_file(
                        path,
                        format!("value {n}: \"length\" must be an integer, got {other}"),
                    ))
                }
            };
            let last_ms = opt_u64(&o, "last_ms")
                .map_err(|e| bad_file(path, format!("value {n}: {e}")))?
                .unwrap_or(0);
            let last_seq = opt_u64(&o, "last_seq")
                .map_err(|e| bad_file(path, format!("value {n}: {e}")))?
                .unwrap_or(0);
            let ms = opt_u64(&o, "expire_at_ms")
                .map_err(|e| bad_file(path, format!("value {n}: {e}")))?
                .unwrap_or(0);
            meta = Some((length, last_ms, last_seq, ms));
            continue;
        }
        let id = match get_ci(&o, "id") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(bad_file(
                    path,
                    format!("value {n}: \"id\" must be a string, got {other}"),
                ))
            }
        };
        let Some((ms, seq)) = stream_id(&id) else {
            return Err(bad_file(
                path,
                format!("value {n}: invalid stream id {id:?} (expected <ms>-<seq>)"),
            ));
        };
        let fields = opt_array(&o, "fields").map_err(|e| bad_file(path, format!("value {n}: {e}")))?;
        let mut flat = Vec::with_capacity(fields.len() * 2);
        for (j, f) in fields.iter().enumerate() {
            let f = elem_obj(f, "fields", j).map_err(|e| bad_file(path, format!("value {n}: {e}")))?;
            for part in ["name", "value"] {
                let b = binary(
                    f.and_then(|o| get_ci(o, part)),
                    format_args!("value {n}: fields[{j}].{part}"),
                )
                .map_err(|e| bad_file(path, e))?;
                let s = String::from_utf8(b).map_err(|_| {
                    bad_file(
                        path,
                        format!("value {n}: fields[{j}].{part}: not valid UTF-8 (stream fields are proto3 strings)"),
                    )
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
        return Err(bad_file(path, "no \"_meta\" record (expected exactly one)"));
    };
    if length < 0 {
        return Err(bad_file(path, format!("_meta length {length} is negative")));
    }
    if length as u64 != entries {
        return Err(bad_file(
            path,
            format!("_meta length {length} but the file has {entries} entries"),
        ));
    }
    if let Some((m, s)) = max_id {
        if (m, s) > (last_ms, last_seq) {
            return Err(bad_file(
                path,
                format!("entry id {m}-{s} is after the _meta last id {last_ms}-{last_seq}"),
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
    /// reaching `sink` in stem order ([`encode_files`]); everything else skipped.
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
        std::fs::create_dir(dir.join("sub.bin")).unwrap();
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
