//! Redis records → `redis/db_<n>/` files (redis.md §4 state machine, §5 tree).
//!
//! Records arrive one at a time, newest version per key (DECISIONS.md D1), in snapshot order.
//! Strings and HLLs are written as they arrive (`strings/<enc>.bin`, `hll/<enc>.bin`) and
//! their TTLs are appended to `strings_ttl.jsonl` / `hll_ttl.jsonl` in encounter order.
//! Collections are kept in [`CollState`] until [`Decoder::finalize`], which writes hashes,
//! lists, sets, zsets and streams in that order, each sorted by user key, then closes the
//! sidecars, writes `KEYMAP.jsonl` (sorted, D6) and the orphan-TTL warning.
//!
//! TTL routing (§4.2): a `!redis|ttl|` row goes to the type last seen for its key, unless
//! that key's value had an inline TTL slot; a TTL for a key not seen yet is parked (1 GiB
//! budget by default) and claimed when a set, zset or stream state is created.
//!
//! Memory: the per-key type map (every string/HLL/collection key), the collection state
//! (see `state.rs`), the parked TTLs (bounded by the budget) and the KEYMAP records of
//! SHA-fallback names.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use serde::{Serialize, Serializer};

use super::keys::*;
use super::state::{CollKind, CollState, Flushed};
use crate::adapters::{display_key, AdapterError, Decoder, Record, Warning, Warnings};
use crate::dump::filename::encode_segment;
use crate::dump::json::{self, Binary, JsonStyle};
use crate::dump::keymap::{KeyMap, KIND_SHA_FALLBACK};
use crate::dump::tree::TreeFile;
use crate::dump::{DumpError, DumpTree};

/// Default pendingTTL byte budget (`1 << 30`); each parked key costs `len(key) + 8`.
pub const DEFAULT_PENDING_TTL_BYTE_CAP: u64 = 1 << 30;

/// Where the decoder writes: the [`DumpTree`] in production, an in-memory tree in tests.
pub trait TreeOut {
    /// A file open for streaming writes.
    type File: Write;
    fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError>;
    fn create_file(&mut self, rel: &str) -> Result<Self::File, DumpError>;
    fn finish_file(&mut self, file: Self::File) -> Result<(), DumpError>;
    fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError>;
    fn write_keymap(&mut self, rel: &str, keymap: &KeyMap) -> Result<(), DumpError>;
}

impl TreeOut for DumpTree {
    type File = TreeFile;
    fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
        DumpTree::write_file(self, rel, bytes)
    }
    fn create_file(&mut self, rel: &str) -> Result<TreeFile, DumpError> {
        DumpTree::create_file(self, rel)
    }
    fn finish_file(&mut self, file: TreeFile) -> Result<(), DumpError> {
        DumpTree::finish_file(self, file)
    }
    fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError> {
        DumpTree::ensure_dir(self, rel)
    }
    fn write_keymap(&mut self, rel: &str, keymap: &KeyMap) -> Result<(), DumpError> {
        keymap.write(self, rel)
    }
}

/// The type a key was last seen as (`kindByKey`), with the string/HLL inline-TTL ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Hll,
    Coll(CollKind),
}

#[derive(Debug, Clone, Copy)]
struct KeyInfo {
    kind: Kind,
    /// String/HLL: a new-format value owns the TTL (the scan index is ignored).
    owned: bool,
}

/// The two TTL sidecars.
#[derive(Debug, Clone, Copy)]
enum Sidecar {
    Strings = 0,
    Hll = 1,
}

/// Records → tree for the Redis adapter (one database).
pub struct RedisDecoder<O: TreeOut = DumpTree> {
    db_dir: String,
    pending_cap: u64,
    kinds: HashMap<Box<[u8]>, KeyInfo>,
    colls: CollState,
    pending: HashMap<Box<[u8]>, u64>,
    pending_bytes: u64,
    orphan_ttl: u64,
    pending_overflow: u64,
    sidecars: [Option<BufWriter<O::File>>; 2],
    keymap: KeyMap,
    finalized: bool,
}

impl RedisDecoder<DumpTree> {
    /// A decoder writing `redis/db_0/` of a [`DumpTree`].
    pub fn new() -> Self {
        Self::new_in()
    }
}

impl Default for RedisDecoder<DumpTree> {
    fn default() -> Self {
        Self::new()
    }
}

fn bad(key: &[u8], what: impl Into<String>) -> AdapterError {
    AdapterError::BadRecord {
        adapter: "redis",
        key: display_key(key),
        what: what.into(),
    }
}

/// Go's `json.Marshal` of a zset score: a number, or `"+inf"` / `"-inf"`.
struct Score(f64);

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
struct NameValue<'a> {
    name: Binary<'a>,
    value: Binary<'a>,
}

#[derive(Serialize)]
struct HashFile<'a> {
    format_version: u32,
    fields: Vec<NameValue<'a>>,
    expire_at_ms: Option<u64>,
}

#[derive(Serialize)]
struct ListFile<'a> {
    format_version: u32,
    items: Vec<Binary<'a>>,
    expire_at_ms: Option<u64>,
}

#[derive(Serialize)]
struct SetFile<'a> {
    format_version: u32,
    members: Vec<Binary<'a>>,
    expire_at_ms: Option<u64>,
}

#[derive(Serialize)]
struct ZMember<'a> {
    member: Binary<'a>,
    score: Score,
}

#[derive(Serialize)]
struct ZsetFile<'a> {
    format_version: u32,
    members: Vec<ZMember<'a>>,
    expire_at_ms: Option<u64>,
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

#[derive(Serialize)]
struct TtlLine<'a> {
    key: &'a str,
    expire_at_ms: u64,
}

impl<O: TreeOut> RedisDecoder<O> {
    /// A decoder for any [`TreeOut`], writing `redis/db_0/`.
    pub fn new_in() -> Self {
        RedisDecoder {
            db_dir: "redis/db_0".to_owned(),
            pending_cap: DEFAULT_PENDING_TTL_BYTE_CAP,
            kinds: HashMap::new(),
            colls: CollState::default(),
            pending: HashMap::new(),
            pending_bytes: 0,
            orphan_ttl: 0,
            pending_overflow: 0,
            sidecars: [None, None],
            keymap: KeyMap::default(),
            finalized: false,
        }
    }

    /// Write under `redis/db_<index>/` (negative → 0, as Go's `RedisDBIndex`).
    pub fn with_db_index(mut self, index: i64) -> Self {
        self.db_dir = format!("redis/db_{}", index.max(0));
        self
    }

    /// Set the pendingTTL byte budget (negative → 0 = counter-only mode).
    pub fn with_pending_ttl_byte_cap(mut self, cap: i64) -> Self {
        self.pending_cap = cap.max(0) as u64;
        self
    }

    /// Bytes currently charged to parked TTLs.
    pub fn pending_ttl_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Parked TTLs not claimed yet.
    pub fn pending_ttl_count(&self) -> usize {
        self.pending.len()
    }

    /// TTLs counted as orphans so far (the rest of the parked ones are added at finalize).
    pub fn orphan_ttl_count(&self) -> u64 {
        self.orphan_ttl
    }

    /// Times the pendingTTL budget refused a TTL.
    pub fn pending_ttl_overflow(&self) -> u64 {
        self.pending_overflow
    }

    /// Handle one record (see [`Decoder::handle`]).
    pub fn handle_record(&mut self, out: &mut O, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        if let Some(uk) = key.strip_prefix(STR_PREFIX) {
            self.blob(out, key, uk, value, Kind::String)
        } else if let Some(uk) = key.strip_prefix(HLL_PREFIX) {
            self.blob(out, key, uk, value, Kind::Hll)
        } else if let Some(uk) = key.strip_prefix(TTL_PREFIX) {
            self.ttl(out, key, uk, value)
        } else if key.starts_with(HASH_META_DELTA_PREFIX)
            || key.starts_with(LIST_META_DELTA_PREFIX)
            || key.starts_with(SET_META_DELTA_PREFIX)
            || key.starts_with(ZSET_META_DELTA_PREFIX)
            || key.starts_with(LIST_CLAIM_PREFIX)
            || key.starts_with(ZSET_SCORE_PREFIX)
        {
            Ok(())
        } else if let Some(rest) = key.strip_prefix(HASH_META_PREFIX) {
            self.count_meta(key, rest, value, CollKind::Hash, "hash")
        } else if let Some(rest) = key.strip_prefix(SET_META_PREFIX) {
            self.count_meta(key, rest, value, CollKind::Set, "set")
        } else if let Some(rest) = key.strip_prefix(ZSET_META_PREFIX) {
            self.count_meta(key, rest, value, CollKind::Zset, "zset")
        } else if let Some(rest) = key.strip_prefix(HASH_FIELD_PREFIX) {
            let (uk, name) = parse_wide(rest).map_err(|e| bad(key, format!("invalid hash key: {e}")))?;
            let id = self.coll(key, CollKind::Hash, uk)?;
            self.push(key, CollKind::Hash, id, name, value, 0, 0, false)
        } else if let Some(rest) = key.strip_prefix(SET_MEMBER_PREFIX) {
            let (uk, member) = parse_wide(rest).map_err(|e| bad(key, format!("invalid set key: {e}")))?;
            let id = self.coll(key, CollKind::Set, uk)?;
            self.push(key, CollKind::Set, id, member, b"", 0, 0, false)
        } else if let Some(rest) = key.strip_prefix(ZSET_MEMBER_PREFIX) {
            let (uk, member) = parse_wide(rest).map_err(|e| bad(key, format!("invalid zset key: {e}")))?;
            let score = parse_zset_score(value).map_err(|e| bad(key, e))?;
            let id = self.coll(key, CollKind::Zset, uk)?;
            if let Some(c) = self.colls.coll_mut(CollKind::Zset, id) {
                c.saw_wide = true;
            }
            self.push(key, CollKind::Zset, id, member, b"", score.to_bits(), 0, false)
        } else if let Some(uk) = key.strip_prefix(ZSET_LEGACY_PREFIX) {
            let entries = parse_zset_legacy(value).map_err(|e| bad(key, e))?;
            let id = self.coll(key, CollKind::Zset, uk)?;
            let saw_wide = self
                .colls
                .coll_mut(CollKind::Zset, id)
                .is_some_and(|c| c.saw_wide);
            if !saw_wide {
                for e in &entries {
                    let bits = e.score.to_bits();
                    self.push(key, CollKind::Zset, id, e.member.as_bytes(), b"", bits, 0, true)?;
                }
            }
            Ok(())
        } else if let Some(uk) = key.strip_prefix(LIST_META_PREFIX) {
            if uk.starts_with(b"d|") {
                return Ok(()); // a delta key (redis.md §2.6 ambiguity)
            }
            let meta = parse_list_meta(value).map_err(|e| bad(key, e))?;
            let id = self.coll(key, CollKind::List, uk)?;
            self.apply_meta(CollKind::List, id, meta.len, meta.inline_ttl);
            Ok(())
        } else if let Some(rest) = key.strip_prefix(LIST_ITEM_PREFIX) {
            let (uk, seq) = parse_list_item(rest).map_err(|e| bad(key, e))?;
            let id = self.coll(key, CollKind::List, uk)?;
            self.push(key, CollKind::List, id, b"", value, seq as u64, 0, false)
        } else if let Some(rest) = key.strip_prefix(STREAM_META_PREFIX) {
            let (uk, _) = parse_wide(rest).map_err(|e| bad(key, format!("invalid stream key: {e}")))?;
            let m = parse_stream_meta(value).map_err(|e| bad(key, e))?;
            let id = self.coll(key, CollKind::Stream, uk)?;
            self.apply_meta(CollKind::Stream, id, m.length, m.inline_ttl);
            if let Some(c) = self.colls.coll_mut(CollKind::Stream, id) {
                c.last_ms = m.last_ms;
                c.last_seq = m.last_seq;
            }
            Ok(())
        } else if let Some(rest) = key.strip_prefix(STREAM_ENTRY_PREFIX) {
            let (uk, ms, seq) = parse_stream_entry_key(rest).map_err(|e| bad(key, e))?;
            parse_stream_entry(value).map_err(|e| bad(key, e))?;
            let proto = value.get(STREAM_ENTRY_MAGIC.len()..).unwrap_or_default();
            let id = self.coll(key, CollKind::Stream, uk)?;
            self.push(key, CollKind::Stream, id, b"", proto, ms, seq, false)
        } else {
            Err(bad(key, "not a Redis key: no Redis prefix matches"))
        }
    }

    /// Write everything kept in memory (see [`Decoder::finalize`]). A second call does nothing.
    pub fn finalize_into(&mut self, out: &mut O, warnings: &mut Warnings) -> Result<(), AdapterError> {
        if self.finalized {
            return Ok(());
        }
        self.finalized = true;
        let mut first: Option<AdapterError> = None;
        for kind in CollKind::FLUSH_ORDER {
            if let Err(e) = self.flush_kind(out, warnings, kind) {
                first.get_or_insert(e);
            }
        }
        for slot in &mut self.sidecars {
            if let Some(w) = slot.take() {
                let res = match w.into_inner() {
                    Ok(f) => out.finish_file(f).map_err(AdapterError::from),
                    Err(e) => Err(AdapterError::Io {
                        path: PathBuf::from("redis TTL sidecar"),
                        source: e.into_error(),
                    }),
                };
                if let Err(e) = res {
                    first.get_or_insert(e);
                }
            }
        }
        if !self.keymap.is_empty() {
            let rel = format!("{}/KEYMAP.jsonl", self.db_dir);
            if let Err(e) = out.write_keymap(&rel, &self.keymap) {
                first.get_or_insert(e.into());
            }
        }
        self.orphan_ttl += self.pending.len() as u64;
        self.pending.clear();
        self.pending_bytes = 0;
        if self.orphan_ttl > 0 || self.pending_overflow > 0 {
            let mut fields = vec![
                ("count", self.orphan_ttl.to_string()),
                (
                    "hint",
                    "TTL records whose user key never appeared in a typed record — possible store \
                     corruption or an unknown type prefix"
                        .to_owned(),
                ),
            ];
            if self.pending_overflow > 0 {
                fields.push(("pending_ttl_buffer_overflow", self.pending_overflow.to_string()));
                fields.push(("pending_ttl_buffer_bytes_cap", self.pending_cap.to_string()));
            }
            warnings.push(Warning {
                event: "redis_orphan_ttl",
                fields,
            });
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    // -- intake ---------------------------------------------------------------------------

    /// The encoded file stem of a user key, recording SHA-fallback names in the KEYMAP.
    fn segment(&mut self, user_key: &[u8]) -> String {
        let seg = encode_segment(user_key);
        if seg.is_fallback {
            self.keymap.record(&seg.name, user_key, KIND_SHA_FALLBACK);
        }
        seg.name
    }

    fn blob(
        &mut self,
        out: &mut O,
        key: &[u8],
        uk: &[u8],
        value: &[u8],
        kind: Kind,
    ) -> Result<(), AdapterError> {
        let (version, dir, sidecar) = match kind {
            Kind::Hll => (HLL_VERSION, "hll", Sidecar::Hll),
            _ => (STRING_VERSION, "strings", Sidecar::Strings),
        };
        let env = parse_envelope(value, version).map_err(|e| bad(key, e))?;
        let info = self
            .kinds
            .entry(uk.into())
            .or_insert(KeyInfo { kind, owned: false });
        info.kind = kind;
        info.owned |= env.inline_ttl.is_some();
        let seg = self.segment(uk);
        out.write_file(&format!("{}/{dir}/{seg}.bin", self.db_dir), env.body)?;
        if let Some(ms) = env.inline_ttl.filter(|&ms| ms != 0) {
            self.ttl_line(out, sidecar, &seg, ms)?;
        }
        Ok(())
    }

    fn ttl_line(&mut self, out: &mut O, which: Sidecar, seg: &str, ms: u64) -> Result<(), AdapterError> {
        let name = match which {
            Sidecar::Strings => "strings_ttl.jsonl",
            Sidecar::Hll => "hll_ttl.jsonl",
        };
        let rel = format!("{}/{name}", self.db_dir);
        let slot = &mut self.sidecars[which as usize];
        if slot.is_none() {
            *slot = Some(BufWriter::with_capacity(64 << 10, out.create_file(&rel)?));
        }
        let line = json::to_vec(
            &TtlLine {
                key: seg,
                expire_at_ms: ms,
            },
            JsonStyle::JSONL,
        );
        if let Some(w) = slot.as_mut() {
            w.write_all(&line).map_err(|source| AdapterError::Io {
                path: rel.into(),
                source,
            })?;
        }
        Ok(())
    }

    fn ttl(&mut self, out: &mut O, key: &[u8], uk: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let ms = parse_ttl_value(value).map_err(|e| bad(key, e))?;
        match self.kinds.get(uk).copied() {
            Some(KeyInfo {
                kind: kind @ (Kind::String | Kind::Hll),
                owned,
            }) => {
                if !owned {
                    let which = if kind == Kind::Hll {
                        Sidecar::Hll
                    } else {
                        Sidecar::Strings
                    };
                    let seg = self.segment(uk);
                    self.ttl_line(out, which, &seg, ms)?;
                }
            }
            Some(KeyInfo {
                kind: Kind::Coll(kind),
                ..
            }) => {
                if let Some(id) = self.colls.get(kind, uk) {
                    if let Some(c) = self.colls.coll_mut(kind, id) {
                        if !c.inline_owned {
                            c.expire_ms = ms;
                            c.has_ttl = true;
                        }
                    }
                }
            }
            None => self.park(key, uk, ms)?,
        }
        Ok(())
    }

    fn park(&mut self, key: &[u8], uk: &[u8], ms: u64) -> Result<(), AdapterError> {
        if self.pending_cap == 0 {
            self.orphan_ttl += 1;
            return Ok(());
        }
        if let Some(v) = self.pending.get_mut(uk) {
            *v = ms;
            return Ok(());
        }
        let cost = uk.len() as u64 + 8;
        if self.pending_bytes.saturating_add(cost) > self.pending_cap {
            self.pending_overflow += 1;
            return Err(bad(
                key,
                format!(
                    "pending TTL buffer full: parking this TTL ({cost} bytes) would exceed the \
                     budget of {} bytes ({} bytes in use by {} TTLs whose key has not been seen yet)",
                    self.pending_cap,
                    self.pending_bytes,
                    self.pending.len()
                ),
            ));
        }
        self.pending.insert(uk.into(), ms);
        self.pending_bytes += cost;
        Ok(())
    }

    /// The state of `uk` in `kind`, created if needed (creation registers the kind and, for
    /// sets, zsets and streams, claims a parked TTL).
    fn coll(&mut self, key: &[u8], kind: CollKind, uk: &[u8]) -> Result<u32, AdapterError> {
        let (id, created) = self
            .colls
            .get_or_create(kind, uk)
            .map_err(|_| bad(key, "too many collections of one type (more than 2^32)"))?;
        if created {
            let info = self.kinds.entry(uk.into()).or_insert(KeyInfo {
                kind: Kind::Coll(kind),
                owned: false,
            });
            info.kind = Kind::Coll(kind);
            if matches!(kind, CollKind::Set | CollKind::Zset | CollKind::Stream) {
                if let Some(ms) = self.pending.remove(uk) {
                    self.pending_bytes = self.pending_bytes.saturating_sub(uk.len() as u64 + 8);
                    if let Some(c) = self.colls.coll_mut(kind, id) {
                        c.expire_ms = ms;
                        c.has_ttl = true;
                    }
                }
            }
        }
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        key: &[u8],
        kind: CollKind,
        id: u32,
        a: &[u8],
        b: &[u8],
        n1: u64,
        n2: u64,
        legacy: bool,
    ) -> Result<(), AdapterError> {
        self.colls
            .push(kind, id, a, b, n1, n2, legacy)
            .map_err(|_| bad(key, "element too large for the collection state (4 GiB)"))
    }

    fn apply_meta(&mut self, kind: CollKind, id: u32, len: u64, inline_ttl: Option<u64>) {
        if let Some(c) = self.colls.coll_mut(kind, id) {
            c.meta_seen = true;
            c.declared = len;
            if let Some(ms) = inline_ttl {
                c.expire_ms = ms;
                c.has_ttl = ms != 0;
                c.inline_owned = true;
            }
        }
    }

    fn count_meta(
        &mut self,
        key: &[u8],
        rest: &[u8],
        value: &[u8],
        kind: CollKind,
        what: &str,
    ) -> Result<(), AdapterError> {
        let (uk, _trailing) = parse_wide(rest).map_err(|e| bad(key, format!("invalid {what} key: {e}")))?;
        let meta = parse_count_meta(value, what).map_err(|e| bad(key, e))?;
        let id = self.coll(key, kind, uk)?;
        self.apply_meta(kind, id, meta.len, meta.inline_ttl);
        Ok(())
    }

    // -- flush ----------------------------------------------------------------------------

    fn flush_kind(
        &mut self,
        out: &mut O,
        warnings: &mut Warnings,
        kind: CollKind,
    ) -> Result<(), AdapterError> {
        let (dir, ext) = match kind {
            CollKind::Hash => ("hashes", "json"),
            CollKind::List => ("lists", "json"),
            CollKind::Set => ("sets", "json"),
            CollKind::Zset => ("zsets", "json"),
            CollKind::Stream => ("streams", "jsonl"),
        };
        if kind == CollKind::Stream && self.colls.has_any(kind) {
            out.ensure_dir(&format!("{}/{dir}", self.db_dir))?;
        }
        let db_dir = self.db_dir.clone();
        let mut colls = std::mem::take(&mut self.colls);
        let keymap = &mut self.keymap;
        let res = colls.flush(kind, |f: Flushed<'_>| -> Result<(), AdapterError> {
            let observed = f.elems.len() as u64;
            let expire = f.coll.has_ttl.then_some(f.coll.expire_ms);
            if kind == CollKind::Stream && !f.coll.meta_seen {
                warnings.push(Warning {
                    event: "redis_stream_orphan_entries_without_meta",
                    fields: vec![
                        ("user_key_len", f.key.len().to_string()),
                        ("observed_entries", observed.to_string()),
                        (
                            "hint",
                            "!stream|entry| rows arrived without a !stream|meta| row; live read treats \
                             this as a non-existent stream, so the backup skips emitting a file to avoid \
                             resurrecting orphan entries on restore"
                                .to_owned(),
                        ),
                    ],
                });
                return Ok(());
            }
            if f.coll.meta_seen && observed != f.coll.declared {
                // Go's hint texts, verbatim (scripts grep for them).
                let (event, observed_name, hint) = match kind {
                    CollKind::Hash => ("redis_hash_length_mismatch", "observed_fields", "meta record's Len does not match the count of !hs|fld| keys for this user key"),
                    CollKind::List => ("redis_list_length_mismatch", "observed_items", "meta record's Len does not match the count of !lst|itm| keys for this user key"),
                    CollKind::Set => ("redis_set_length_mismatch", "observed_members", "meta record's Len does not match the count of !st|mem| keys for this user key"),
                    CollKind::Zset => ("redis_zset_length_mismatch", "observed_members", "meta record's Len does not match the count of !zs|mem| keys for this user key"),
                    CollKind::Stream => ("redis_stream_length_mismatch", "observed_entries", "meta record's Length does not match the count of !stream|entry| keys for this user key"),
                };
                warnings.push(Warning {
                    event,
                    fields: vec![
                        ("user_key_len", f.key.len().to_string()),
                        ("declared_len", f.coll.declared.to_string()),
                        (observed_name, observed.to_string()),
                        ("hint", hint.to_owned()),
                    ],
                });
            }
            let seg = encode_segment(f.key);
            if seg.is_fallback {
                keymap.record(&seg.name, f.key, KIND_SHA_FALLBACK);
            }
            let rel = format!("{db_dir}/{dir}/{}.{ext}", seg.name);
            match kind {
                CollKind::Hash => {
                    let file = HashFile {
                        format_version: 1,
                        fields: f
                            .elems
                            .iter()
                            .map(|e| NameValue {
                                name: Binary(e.a),
                                value: Binary(e.b),
                            })
                            .collect(),
                        expire_at_ms: expire,
                    };
                    out.write_file(&rel, &json::to_vec(&file, JsonStyle::MARSHAL_INDENT))?;
                }
                CollKind::List => {
                    let file = ListFile {
                        format_version: 1,
                        items: f.elems.iter().map(|e| Binary(e.b)).collect(),
                        expire_at_ms: expire,
                    };
                    out.write_file(&rel, &json::to_vec(&file, JsonStyle::MARSHAL_INDENT))?;
                }
                CollKind::Set => {
                    let file = SetFile {
                        format_version: 1,
                        members: f.elems.iter().map(|e| Binary(e.a)).collect(),
                        expire_at_ms: expire,
                    };
                    out.write_file(&rel, &json::to_vec(&file, JsonStyle::MARSHAL_INDENT))?;
                }
                CollKind::Zset => {
                    let file = ZsetFile {
                        format_version: 1,
                        members: f
                            .elems
                            .iter()
                            .map(|e| ZMember {
                                member: Binary(e.a),
                                score: Score(f64::from_bits(e.n1)),
                            })
                            .collect(),
                        expire_at_ms: expire,
                    };
                    out.write_file(&rel, &json::to_vec(&file, JsonStyle::MARSHAL_INDENT))?;
                }
                CollKind::Stream => {
                    let file = out.create_file(&rel)?;
                    let mut w = BufWriter::with_capacity(64 << 10, file);
                    let io = |source| AdapterError::Io {
                        path: PathBuf::from(&rel),
                        source,
                    };
                    let mut line = Vec::new();
                    for e in &f.elems {
                        let fields = parse_stream_entry_body(e.b).map_err(|m| bad(f.key, m))?;
                        let rec = StreamLine {
                            id: format!("{}-{}", e.n1, e.n2),
                            fields: fields
                                .chunks_exact(2)
                                .map(|p| NameValue {
                                    name: Binary(p[0].as_bytes()),
                                    value: Binary(p[1].as_bytes()),
                                })
                                .collect(),
                        };
                        line.clear();
                        json::write_to(&mut line, &rec, JsonStyle::MARSHAL);
                        line.push(b'\n');
                        w.write_all(&line).map_err(io)?;
                    }
                    let meta = StreamMetaLine {
                        meta: true,
                        length: f.coll.declared,
                        last_ms: f.coll.last_ms,
                        last_seq: f.coll.last_seq,
                        expire_at_ms: expire,
                    };
                    line.clear();
                    json::write_to(&mut line, &meta, JsonStyle::MARSHAL);
                    line.push(b'\n');
                    w.write_all(&line).map_err(io)?;
                    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
                    out.finish_file(file)?;
                }
            }
            Ok(())
        });
        self.colls = colls;
        res
    }
}

impl Decoder for RedisDecoder<DumpTree> {
    fn handle(
        &mut self,
        tree: &mut DumpTree,
        _warnings: &mut Warnings,
        record: &Record<'_>,
    ) -> Result<(), AdapterError> {
        self.handle_record(tree, record.user_key, record.value)
    }

    fn finalize(&mut self, tree: &mut DumpTree, warnings: &mut Warnings) -> Result<(), AdapterError> {
        self.finalize_into(tree, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// An in-memory tree that can be told to fail writes whose path contains a pattern.
    #[derive(Default)]
    struct MemTree {
        files: BTreeMap<String, Vec<u8>>,
        dirs: Vec<String>,
        fail_on: Option<&'static str>,
    }

    struct MemFile {
        rel: String,
        buf: Vec<u8>,
    }

    impl Write for MemFile {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.buf.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl MemTree {
        fn check(&self, rel: &str) -> Result<(), DumpError> {
            match self.fail_on {
                Some(p) if rel.contains(p) => {
                    Err(DumpError::io(rel, std::io::Error::other("injected failure")))
                }
                _ => Ok(()),
            }
        }
    }

    impl TreeOut for MemTree {
        type File = MemFile;
        fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
            self.check(rel)?;
            self.files.insert(rel.to_owned(), bytes.to_vec());
            Ok(())
        }
        fn create_file(&mut self, rel: &str) -> Result<MemFile, DumpError> {
            self.check(rel)?;
            Ok(MemFile {
                rel: rel.to_owned(),
                buf: Vec::new(),
            })
        }
        fn finish_file(&mut self, f: MemFile) -> Result<(), DumpError> {
            self.files.insert(f.rel, f.buf);
            Ok(())
        }
        fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError> {
            self.dirs.push(rel.to_owned());
            Ok(())
        }
        fn write_keymap(&mut self, rel: &str, keymap: &KeyMap) -> Result<(), DumpError> {
            self.check(rel)?;
            self.files
                .insert(rel.to_owned(), format!("{keymap:?}").into_bytes());
            Ok(())
        }
    }

    fn run(tree: &mut MemTree, recs: &[(Vec<u8>, Vec<u8>)]) -> (Result<(), AdapterError>, Warnings) {
        let mut d: RedisDecoder<MemTree> = RedisDecoder::new_in();
        for (k, v) in recs {
            d.handle_record(tree, k, v).unwrap();
        }
        let mut w = Warnings::new();
        let r = d.finalize_into(tree, &mut w);
        // A second finalize does nothing.
        assert!(d.finalize_into(tree, &mut w).is_ok());
        (r, w)
    }

    fn hash(k: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (wide_key(HASH_META_PREFIX, k, b""), 0u64.to_be_bytes().to_vec())
    }

    #[test]
    fn flush_error_stops_its_type_but_not_the_others() {
        let mut t = MemTree {
            fail_on: Some("hashes/b"),
            ..MemTree::default()
        };
        let recs = vec![
            hash(b"a"),
            hash(b"b"),
            hash(b"c"),
            (wide_key(SET_META_PREFIX, b"s", b""), 0u64.to_be_bytes().to_vec()),
            (
                [STR_PREFIX, b"x"].concat(),
                [vec![0xFF, 1, 1], 9u64.to_be_bytes().to_vec()].concat(),
            ),
            ([TTL_PREFIX, b"orphan"].concat(), 1u64.to_be_bytes().to_vec()),
        ];
        let (r, w) = run(&mut t, &recs);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("hashes/b") && e.contains("injected"), "{e}");
        assert!(t.files.contains_key("redis/db_0/hashes/a.json"));
        assert!(!t.files.contains_key("redis/db_0/hashes/c.json"));
        assert!(t.files.contains_key("redis/db_0/sets/s.json"));
        assert_eq!(
            t.files.get("redis/db_0/strings_ttl.jsonl").map(Vec::as_slice),
            Some(&b"{\"key\":\"x\",\"expire_at_ms\":9}\n"[..])
        );
        assert_eq!(w.last().map(|w| w.event), Some("redis_orphan_ttl"));
    }

    #[test]
    fn intake_and_keymap_errors_surface() {
        let mut t = MemTree {
            fail_on: Some("strings/"),
            ..MemTree::default()
        };
        let mut d: RedisDecoder<MemTree> = RedisDecoder::new_in();
        let e = d
            .handle_record(&mut t, &[STR_PREFIX, b"k"].concat(), b"v")
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Usage);

        let mut t = MemTree {
            fail_on: Some("_ttl.jsonl"),
            ..MemTree::default()
        };
        let mut d: RedisDecoder<MemTree> = RedisDecoder::new_in();
        d.handle_record(&mut t, &[HLL_PREFIX, b"k"].concat(), b"raw")
            .unwrap();
        let ttl = 5u64.to_be_bytes();
        assert!(d
            .handle_record(&mut t, &[TTL_PREFIX, b"k"].concat(), &ttl)
            .is_err());

        let mut t = MemTree {
            fail_on: Some("KEYMAP"),
            ..MemTree::default()
        };
        let (r, _) = run(&mut t, &[hash(&[b'q'; 300])]);
        assert!(r.unwrap_err().to_string().contains("KEYMAP"));

        let mut t = MemTree::default();
        let (r, _) = run(&mut t, &[hash(&[b'q'; 300])]);
        r.unwrap();
        let km = String::from_utf8(t.files["redis/db_0/KEYMAP.jsonl"].clone()).unwrap();
        assert!(km.contains("sha-fallback"), "{km}");
    }

    #[test]
    fn stream_dir_created_even_when_every_stream_is_skipped() {
        let mut t = MemTree::default();
        let fields = ["a".to_owned(), "b".to_owned()];
        let recs = vec![(stream_entry_key(b"s", 1, 0), build_stream_entry("1-0", &fields))];
        let (r, w) = run(&mut t, &recs);
        r.unwrap();
        assert_eq!(t.dirs, vec!["redis/db_0/streams".to_owned()]);
        assert!(t.files.is_empty());
        assert_eq!(w[0].event, "redis_stream_orphan_entries_without_meta");
    }
}
