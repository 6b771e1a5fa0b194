//! Redis records → `redis/db_<n>/` files (redis.md §4 state machine, §5 tree).
//!
//! Records arrive one at a time, newest version per key (DECISIONS.md D1), in snapshot order.
//! Strings and HLLs are written as they arrive (`strings/<enc>.bin`, `hll/<enc>.bin`), and
//! their inline TTLs are appended to `strings_ttl.jsonl` / `hll_ttl.jsonl` in encounter
//! order. Everything else becomes facts (see `state.rs`) pushed into an external sorter
//! ([`ExternalSorter`], [`DEFAULT_SORT_BUDGET`] of memory, spilling to anonymous files in a
//! scratch directory outside the output tree). [`RedisDecoder::finalize_into`] reads the
//! facts back one user key at a time and, for that key:
//!
//! * routes its `!redis|ttl|` rows (§4.2): the owner is fixed by the families the key has,
//!   because the family order of a snapshot is fixed (`KeyFacts::ttl_owner`); a row owned by
//!   a string or HLL without inline TTL becomes a sidecar line, kept in a second small sorter
//!   by stream position and appended after the inline lines; a row nobody owns counts as an
//!   orphan (`redis_orphan_ttl`);
//! * writes its hash, list, set, zset and stream files element by element (`collfile.rs`),
//!   holding back one element for the "last record wins" rules. Each type's files come in
//!   user-key order, as in Go; files of different types are interleaved by key, which
//!   changes nothing in the tree (warnings may come in another order, with the same
//!   content). An error writing a file stops the later files of that type only (§4.5).
//!
//! Then it closes the sidecars, writes `KEYMAP.jsonl` (sorted, D6) and the orphan warning.
//!
//! Memory is bounded by the sorter budgets (the facts; an eighth of it each for the TTL
//! sidecar lines and the KEYMAP records of SHA-fallback names, which are sorted too) and one
//! element — not by the snapshot, the number of long keys or the size of any collection. Go's pendingTTL byte budget (`ErrPendingTTLBufferFull`) has no
//! counterpart: nothing is parked, so there is nothing to bound.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use serde::Serialize;

use super::collfile::{CollFile, ElemError};
use super::keys::*;
use super::state::{
    push_escaped, split_key, unescape, Coll, CollKind, Elem, Info, KeyFacts, MetaInfo, Pending, TtlOwner,
    SEC_ELEM, SEC_INFO, SEC_TTL,
};
use super::RedisOptions;
use crate::adapters::{display_key, AdapterError, DecodeContext, Decoder, Event, Record, Warning, Warnings};
use crate::dump::filename::encode_segment;
use crate::dump::json::{self, JsonStyle};
use crate::dump::keymap::{KeyMap, KIND_SHA_FALLBACK};
use crate::dump::{first_error, OutFile, TreeOut};
use crate::spill::{ExternalSorter, SortedRecords};

/// Default memory budget of the fact sorter (two 8 MiB buffers, one filling while the other
/// is sorted and spilled). Every collection element is a fact, so at any size worth bounding
/// nearly all of them spill (about 600 MiB of facts for a 1 GiB snapshot) whatever the
/// budget: it sets the length of the runs, not what is written to scratch. 16 MiB gives runs
/// of 8 MiB (one merge pass for up to 2 GiB of facts, see `spill::MAX_FAN_IN`) and keeps the
/// decoder's peak RSS under 64 MiB (issue #13) beside the CHECKSUMS sort
/// (`dump::tree::CHECKSUM_SORT_BUDGET`) and the container's read-ahead; twice the budget
/// measured no faster.
pub const DEFAULT_SORT_BUDGET: usize = 16 << 20;

/// Budget of the sorter of index-TTL sidecar lines (a small share of the main budget).
fn ttl_line_budget(budget: usize) -> usize {
    (budget / 8).max(64 << 10)
}

/// The warnings of the Redis decoder, named as Go logs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RedisEvent {
    /// `!redis|ttl|` rows that no key took.
    OrphanTtl,
    /// Stream entries of a key without a stream meta record.
    StreamOrphanEntriesWithoutMeta,
    /// A collection's meta count differs from its elements.
    LengthMismatch(CollKind),
}

impl Event for RedisEvent {
    fn name(self) -> &'static str {
        match self {
            RedisEvent::OrphanTtl => "redis_orphan_ttl",
            RedisEvent::StreamOrphanEntriesWithoutMeta => "redis_stream_orphan_entries_without_meta",
            RedisEvent::LengthMismatch(CollKind::Hash) => "redis_hash_length_mismatch",
            RedisEvent::LengthMismatch(CollKind::List) => "redis_list_length_mismatch",
            RedisEvent::LengthMismatch(CollKind::Set) => "redis_set_length_mismatch",
            RedisEvent::LengthMismatch(CollKind::Zset) => "redis_zset_length_mismatch",
            RedisEvent::LengthMismatch(CollKind::Stream) => "redis_stream_length_mismatch",
        }
    }
}

/// The two TTL sidecars.
#[derive(Debug, Clone, Copy)]
enum Sidecar {
    Strings = 0,
    Hll = 1,
}

impl Sidecar {
    fn name(self) -> &'static str {
        match self {
            Sidecar::Strings => "strings_ttl.jsonl",
            Sidecar::Hll => "hll_ttl.jsonl",
        }
    }
}

/// Records → tree for the Redis adapter (one database).
pub struct RedisDecoder {
    db_dir: String,
    budget: usize,
    scratch_dir: PathBuf,
    /// Facts of every record; `None` once finalize has taken it.
    facts: Option<ExternalSorter>,
    /// Runs the fact sorter spilled (known at finalize).
    spilled_runs: usize,
    /// Stream position of the next record.
    seq: u64,
    /// Scratch buffers for a fact's key and value.
    kbuf: Vec<u8>,
    vbuf: Vec<u8>,
    /// The last presence fact pushed (key ‖ value), so a run of element rows of one
    /// collection pushes it once.
    last_presence: Vec<u8>,
    orphan_ttl: u64,
    sidecars: [Option<BufWriter<OutFile>>; 2],
    /// KEYMAP records of SHA-fallback names, sorted under a share of the budget.
    keymap: Option<KeyMap>,
    finalized: bool,
}

fn bad(key: &[u8], cause: impl Into<crate::adapters::Cause>) -> AdapterError {
    AdapterError::bad_record("redis", key, cause)
}

#[derive(Serialize)]
struct TtlLine<'a> {
    key: &'a str,
    expire_at_ms: u64,
}

impl RedisDecoder {
    /// A decoder writing `redis/db_<options.db>/`, sorting facts under
    /// [`DEFAULT_SORT_BUDGET`] in the context's scratch directory.
    pub fn new(options: &RedisOptions, cx: &DecodeContext) -> Self {
        RedisDecoder {
            db_dir: format!("redis/db_{}", options.db),
            budget: DEFAULT_SORT_BUDGET,
            scratch_dir: cx.scratch_dir.clone(),
            facts: None,
            spilled_runs: 0,
            seq: 0,
            kbuf: Vec::new(),
            vbuf: Vec::new(),
            last_presence: Vec::new(),
            orphan_ttl: 0,
            sidecars: [None, None],
            keymap: None,
            finalized: false,
        }
    }

    /// Memory budget of the fact sorter in bytes (at least 4 KiB; its buffers stay under
    /// twice the budget). The TTL-line sorter of finalize gets an eighth of it.
    pub fn with_sort_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes.max(4 << 10);
        self
    }

    /// User keys whose `!redis|ttl|` rows nothing took (`redis_orphan_ttl` count; counted
    /// at finalize, when each key's families are known).
    pub fn orphan_ttl_count(&self) -> u64 {
        self.orphan_ttl
    }

    /// Runs the fact sorter spilled to scratch (final after finalize).
    pub fn spilled_runs(&self) -> usize {
        self.spilled_runs
            .max(self.facts.as_ref().map_or(0, ExternalSorter::spilled_runs))
    }

    /// Handle one record (see [`Decoder::handle`]): one `match` on the route's tag.
    pub fn handle_record(&mut self, out: &mut dyn TreeOut, record: &Record<'_>) -> Result<(), AdapterError> {
        self.seq += 1;
        let (key, value, rest) = (record.user_key, record.value, record.rest());
        let Some(kind) = Kind::from_tag(record.tag) else {
            return Err(bad(
                key,
                format!("route tag {} names no Redis family", record.tag),
            ));
        };
        match kind {
            Kind::Str => self.blob(out, key, rest, value, false),
            Kind::Hll => self.blob(out, key, rest, value, true),
            Kind::Ttl => {
                let ms = parse_ttl_value(value).map_err(|e| bad(key, e))?;
                self.begin(rest, SEC_TTL);
                self.vbuf.clear();
                self.vbuf.extend_from_slice(&ms.to_be_bytes());
                self.vbuf.extend_from_slice(&self.seq.to_be_bytes());
                self.push_fact()
            }
            Kind::HashMetaDelta
            | Kind::ListMetaDelta
            | Kind::SetMetaDelta
            | Kind::ZsetMetaDelta
            | Kind::ListClaim
            | Kind::ZsetScore => Ok(()),
            Kind::HashMeta => self.count_meta(key, rest, value, CollKind::Hash, "hash"),
            Kind::SetMeta => self.count_meta(key, rest, value, CollKind::Set, "set"),
            Kind::ZsetMeta => self.count_meta(key, rest, value, CollKind::Zset, "zset"),
            Kind::HashField => {
                let (uk, name) = parse_wide(rest, "hash").map_err(|e| bad(key, e))?;
                self.element(uk, CollKind::Hash, false, name, value)
            }
            Kind::SetMember => {
                let (uk, member) = parse_wide(rest, "set").map_err(|e| bad(key, e))?;
                self.element(uk, CollKind::Set, false, member, b"")
            }
            Kind::ZsetMember => {
                let (uk, member) = parse_wide(rest, "zset").map_err(|e| bad(key, e))?;
                let score = parse_zset_score(value).map_err(|e| bad(key, e))?;
                self.element(uk, CollKind::Zset, true, member, &zset_value(score, false))
            }
            Kind::ZsetLegacy => {
                let entries = parse_zset_legacy(value).map_err(|e| bad(key, e))?;
                self.info(rest, Info::ZsetLegacy)?;
                for e in &entries {
                    self.begin(rest, SEC_ELEM);
                    self.kbuf.push(CollKind::Zset.index() as u8);
                    self.kbuf.extend_from_slice(e.member.as_bytes());
                    self.vbuf.clear();
                    self.vbuf.extend_from_slice(&zset_value(e.score, true));
                    self.push_fact()?;
                }
                Ok(())
            }
            Kind::ListMeta => {
                let meta = parse_list_meta(value).map_err(|e| bad(key, e))?;
                let meta = MetaInfo {
                    declared: meta.len,
                    inline_ttl: meta.inline_ttl,
                    ..MetaInfo::default()
                };
                self.info(
                    rest,
                    Info::Meta {
                        kind: CollKind::List,
                        meta,
                    },
                )
            }
            Kind::ListItem => {
                let (uk, seq) = parse_list_item(rest).map_err(|e| bad(key, e))?;
                self.element(uk, CollKind::List, false, &sortable_i64(seq), value)
            }
            Kind::StreamMeta => {
                let (uk, _) = parse_wide(rest, "stream").map_err(|e| bad(key, e))?;
                let m = parse_stream_meta(value).map_err(|e| bad(key, e))?;
                let meta = MetaInfo {
                    declared: m.length,
                    inline_ttl: m.inline_ttl,
                    last_ms: m.last_ms,
                    last_seq: m.last_seq,
                };
                self.info(
                    uk,
                    Info::Meta {
                        kind: CollKind::Stream,
                        meta,
                    },
                )
            }
            Kind::StreamEntry => {
                let (uk, ms, seq) = parse_stream_entry_key(rest).map_err(|e| bad(key, e))?;
                parse_stream_entry(value).map_err(|e| bad(key, e))?;
                let proto = value.get(STREAM_ENTRY_MAGIC.len()..).unwrap_or_default();
                let order = [ms.to_be_bytes(), seq.to_be_bytes()].concat();
                self.element(uk, CollKind::Stream, false, &order, proto)
            }
        }
    }

    /// Write everything that waited for the end (see [`Decoder::finalize`]). A second call
    /// does nothing.
    pub fn finalize_into(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
    ) -> Result<(), AdapterError> {
        if self.finalized {
            return Ok(());
        }
        self.finalized = true;
        let mut first: Option<AdapterError> = None;
        let mut lines = ExternalSorter::new(ttl_line_budget(self.budget), &self.scratch_dir);
        if let Some(facts) = self.facts.take() {
            self.spilled_runs = facts.spilled_runs();
            if let Err(e) = self.replay(out, warnings, facts, &mut lines) {
                hold(&mut first, out, e);
            }
        }
        if let Err(e) = self.append_index_ttl_lines(out, lines) {
            hold(&mut first, out, e);
        }
        for (slot, which) in self.sidecars.iter_mut().zip([Sidecar::Strings, Sidecar::Hll]) {
            if let Some(w) = slot.take() {
                let res = match w.into_inner() {
                    Ok(f) => out.finish_file(f).map_err(AdapterError::from),
                    Err(e) => Err(AdapterError::Io {
                        path: PathBuf::from(format!("{}/{}", self.db_dir, which.name())),
                        source: e.into_error(),
                    }),
                };
                if let Err(e) = res {
                    hold(&mut first, out, e);
                }
            }
        }
        if let Some(keymap) = self.keymap.take() {
            let rel = format!("{}/KEYMAP.jsonl", self.db_dir);
            if let Err(e) = keymap.write(out, &rel) {
                hold(&mut first, out, e.into());
            }
        }
        if self.orphan_ttl > 0 {
            warnings.push(Warning::new(
                RedisEvent::OrphanTtl,
                vec![
                    ("count", self.orphan_ttl.to_string()),
                    (
                        "hint",
                        "TTL records whose user key never appeared in a typed record — possible \
                         store corruption or an unknown type prefix"
                            .to_owned(),
                    ),
                ],
            ));
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    // -- intake ---------------------------------------------------------------------------

    /// The encoded file stem of a user key, recording SHA-fallback names in the KEYMAP.
    fn segment(&mut self, user_key: &[u8]) -> Result<String, AdapterError> {
        let seg = encode_segment(user_key);
        if seg.is_fallback {
            let (budget, scratch) = (ttl_line_budget(self.budget), &self.scratch_dir);
            self.keymap
                .get_or_insert_with(|| KeyMap::new(budget, scratch))
                .record(&seg.name, user_key, KIND_SHA_FALLBACK)
                .map_err(|source| AdapterError::Scratch {
                    what: "redis KEYMAP sort",
                    source,
                })?;
        }
        Ok(seg.name)
    }

    /// Start a fact key: `esc(uk) ‖ 00 00 ‖ section`.
    fn begin(&mut self, uk: &[u8], section: u8) {
        self.kbuf.clear();
        push_escaped(&mut self.kbuf, uk);
        self.kbuf.push(section);
    }

    /// Push `kbuf` / `vbuf` as a fact.
    fn push_fact(&mut self) -> Result<(), AdapterError> {
        let budget = self.budget;
        let facts = self
            .facts
            .get_or_insert_with(|| ExternalSorter::new(budget, &self.scratch_dir));
        facts
            .push(&self.kbuf, &self.vbuf)
            .map_err(|source| AdapterError::Io {
                path: self.scratch_dir.clone(),
                source,
            })
    }

    fn info(&mut self, uk: &[u8], info: Info) -> Result<(), AdapterError> {
        self.begin(uk, SEC_INFO);
        info.encode(&mut self.vbuf);
        self.push_fact()
    }

    /// An element row: its presence (once per run of rows of one collection) and the
    /// element fact `esc(uk) ‖ 00 00 ‖ 02 ‖ family ‖ order` → `value`.
    fn element(
        &mut self,
        uk: &[u8],
        kind: CollKind,
        wide: bool,
        order: &[u8],
        value: &[u8],
    ) -> Result<(), AdapterError> {
        self.begin(uk, SEC_INFO);
        Info::Present { kind, wide }.encode(&mut self.vbuf);
        let same = self.last_presence.len() == self.kbuf.len() + self.vbuf.len()
            && self.last_presence.starts_with(&self.kbuf)
            && self.last_presence.ends_with(&self.vbuf);
        if !same {
            self.push_fact()?;
            self.last_presence.clear();
            self.last_presence.extend_from_slice(&self.kbuf);
            self.last_presence.extend_from_slice(&self.vbuf);
        }
        self.begin(uk, SEC_ELEM);
        self.kbuf.push(kind.index() as u8);
        self.kbuf.extend_from_slice(order);
        self.vbuf.clear();
        self.vbuf.extend_from_slice(value);
        self.push_fact()
    }

    fn blob(
        &mut self,
        out: &mut dyn TreeOut,
        key: &[u8],
        uk: &[u8],
        value: &[u8],
        hll: bool,
    ) -> Result<(), AdapterError> {
        let (version, dir, sidecar) = if hll {
            (HLL_VERSION, "hll", Sidecar::Hll)
        } else {
            (STRING_VERSION, "strings", Sidecar::Strings)
        };
        let env = parse_envelope(value, version).map_err(|e| bad(key, e))?;
        self.info(
            uk,
            Info::Blob {
                hll,
                owned: env.inline_ttl.is_some(),
            },
        )?;
        let seg = self.segment(uk)?;
        out.write_file(&format!("{}/{dir}/{seg}.bin", self.db_dir), env.body)?;
        if let Some(ms) = env.inline_ttl.filter(|&ms| ms != 0) {
            let line = ttl_line(&seg, ms);
            self.write_sidecar(out, sidecar, &line)?;
        }
        Ok(())
    }

    fn count_meta(
        &mut self,
        key: &[u8],
        rest: &[u8],
        value: &[u8],
        kind: CollKind,
        what: &'static str,
    ) -> Result<(), AdapterError> {
        let (uk, _trailing) = parse_wide(rest, what).map_err(|e| bad(key, e))?;
        let meta = parse_count_meta(value, what).map_err(|e| bad(key, e))?;
        let meta = MetaInfo {
            declared: meta.len,
            inline_ttl: meta.inline_ttl,
            ..MetaInfo::default()
        };
        self.info(uk, Info::Meta { kind, meta })
    }

    /// Append one line to a sidecar, creating the file on first use.
    fn write_sidecar(
        &mut self,
        out: &mut dyn TreeOut,
        which: Sidecar,
        line: &[u8],
    ) -> Result<(), AdapterError> {
        let rel = format!("{}/{}", self.db_dir, which.name());
        let slot = &mut self.sidecars[which as usize];
        let w = match slot {
            Some(w) => w,
            None => slot.insert(BufWriter::with_capacity(64 << 10, out.create_file(&rel)?)),
        };
        w.write_all(line).map_err(|source| AdapterError::Io {
            path: rel.into(),
            source,
        })
    }

    // -- finalize -------------------------------------------------------------------------

    /// Read the facts back one user key at a time and write each key's collections,
    /// element by element.
    fn replay(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
        facts: ExternalSorter,
        lines: &mut ExternalSorter,
    ) -> Result<(), AdapterError> {
        let spill_err = |source| AdapterError::Scratch {
            what: "redis decoder spill file (scratch)",
            source,
        };
        let mut sorted: SortedRecords = facts.finish().map_err(spill_err)?;
        let mut w: KeyWriter<OutFile> = KeyWriter::new();
        let mut cur_prefix: Vec<u8> = Vec::new();
        let mut have = false;
        while let Some((k, v)) = sorted.next().map_err(spill_err)? {
            let (prefix, rest) = split_key(k).ok_or_else(|| corrupt(k))?;
            if !have || prefix != cur_prefix.as_slice() {
                if have {
                    self.finish_key(out, warnings, &mut w);
                }
                have = true;
                cur_prefix.clear();
                cur_prefix.extend_from_slice(prefix);
                unescape(prefix, &mut w.key);
            }
            match rest {
                [SEC_INFO] => w.facts.apply(Info::decode(v).ok_or_else(|| corrupt(k))?),
                [SEC_TTL] => {
                    let (ms, seq) = match (be64(v, 0), be64(v, 8)) {
                        (Some(ms), Some(seq)) if v.len() == 16 => (ms, seq),
                        _ => return Err(corrupt(k)),
                    };
                    match w.facts.ttl_owner() {
                        TtlOwner::Blob { owned: true, .. } => {}
                        TtlOwner::Blob { hll, owned: false } => {
                            let which = if hll { Sidecar::Hll } else { Sidecar::Strings };
                            let seg = self.segment(&w.key)?;
                            let mut line = vec![which as u8];
                            line.extend_from_slice(&ttl_line(&seg, ms));
                            lines.push(&seq.to_be_bytes(), &line).map_err(spill_err)?;
                        }
                        TtlOwner::Coll(kind) => w.facts.apply_ttl(kind, ms),
                        TtlOwner::Orphan => w.orphan = true,
                    }
                }
                [SEC_ELEM, fam, order @ ..] => {
                    let kind = CollKind::from_index(*fam).ok_or_else(|| corrupt(k))?;
                    if w.open.as_ref().is_some_and(|o| o.kind != kind) {
                        self.close(out, warnings, &mut w);
                    }
                    if w.open.is_none() {
                        self.open(out, &mut w, kind);
                    }
                    Self::replay_element(out, &mut w, kind, order, v).ok_or_else(|| corrupt(k))?;
                }
                _ => return Err(corrupt(k)),
            }
        }
        if have {
            self.finish_key(out, warnings, &mut w);
        }
        match w.first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Write the collections of the key in `w` that had no element, close the open one,
    /// then reset `w` for the next key.
    fn finish_key(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings, w: &mut KeyWriter<OutFile>) {
        self.close(out, warnings, w);
        for kind in CollKind::FLUSH_ORDER {
            if w.facts.get(kind).is_some() && !w.written[kind.index()] {
                self.open(out, w, kind);
                self.close(out, warnings, w);
            }
        }
        if w.orphan {
            self.orphan_ttl += 1;
        }
        w.facts = KeyFacts::default();
        w.written = [false; 5];
        w.orphan = false;
    }

    /// Start the file of the key's `kind` collection.
    fn open(&mut self, out: &mut dyn TreeOut, w: &mut KeyWriter<OutFile>, kind: CollKind) {
        w.written[kind.index()] = true;
        let mut open = Open {
            kind,
            coll: w.facts.get(kind).copied().unwrap_or_default(),
            rel: String::new(),
            file: None,
            // A write of this type failed: its later keys are not written (§4.5).
            discard: w.failed[kind.index()],
            observed: 0,
        };
        if !open.discard {
            if let Err(e) = self.start_file(out, w, &mut open) {
                open.discard = true;
                w.fail(out, kind, e);
            }
        }
        w.open = Some(open);
    }

    fn start_file(
        &mut self,
        out: &mut dyn TreeOut,
        w: &mut KeyWriter<OutFile>,
        open: &mut Open<OutFile>,
    ) -> Result<(), AdapterError> {
        let (dir, ext) = match open.kind {
            CollKind::Hash => ("hashes", "json"),
            CollKind::List => ("lists", "json"),
            CollKind::Set => ("sets", "json"),
            CollKind::Zset => ("zsets", "json"),
            CollKind::Stream => ("streams", "jsonl"),
        };
        if open.kind == CollKind::Stream {
            if !w.streams_dir {
                w.streams_dir = true;
                out.ensure_dir(&format!("{}/{dir}", self.db_dir))?;
            }
            if !open.coll.meta_seen {
                return Ok(()); // entries counted for the warning, no file
            }
        }
        let seg = self.segment(&w.key)?;
        open.rel = format!("{}/{dir}/{seg}.{ext}", self.db_dir);
        let file = out.create_file(&open.rel)?;
        let file = CollFile::begin(open.kind, file).map_err(|source| AdapterError::Io {
            path: PathBuf::from(&open.rel),
            source,
        })?;
        open.file = Some(file);
        Ok(())
    }

    /// Take one element fact of the open collection; `None` when its bytes are malformed.
    fn replay_element(
        out: &mut dyn TreeOut,
        w: &mut KeyWriter<OutFile>,
        kind: CollKind,
        order: &[u8],
        v: &[u8],
    ) -> Option<()> {
        let e = match kind {
            CollKind::Hash => Elem {
                a: order,
                b: v,
                n1: 0,
                n2: 0,
            },
            CollKind::Set => Elem {
                a: order,
                b: b"",
                n1: 0,
                n2: 0,
            },
            CollKind::List => Elem {
                a: b"",
                b: v,
                n1: be64(order, 0)? ^ (1 << 63),
                n2: 0,
            },
            CollKind::Zset => {
                let bits = be64(v, 0)?;
                let legacy = *v.get(8)? != 0;
                if legacy && w.facts.get(kind).is_some_and(|c| c.saw_wide) {
                    return Some(()); // wide rows supersede the blob (§4.4)
                }
                Elem {
                    a: order,
                    b: b"",
                    n1: bits,
                    n2: 0,
                }
            }
            CollKind::Stream => Elem {
                a: b"",
                b: v,
                n1: be64(order, 0)?,
                n2: be64(order, 8)?,
            },
        };
        let KeyWriter {
            pending, open, key, ..
        } = w;
        let failed = pending.offer(kind, e, |x| emit(open, key, x)).err();
        if let Some(err) = failed {
            w.fail(out, kind, err);
        }
        Some(())
    }

    /// Finish the open collection: its last element, the document's end, its warnings.
    fn close(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings, w: &mut KeyWriter<OutFile>) {
        let KeyWriter {
            pending, open, key, ..
        } = w;
        if let Err(err) = pending.flush(|x| emit(open, key, x)) {
            if let Some(o) = open.as_ref() {
                let kind = o.kind;
                w.fail(out, kind, err);
            }
        }
        let Some(open) = w.open.take() else {
            return;
        };
        if open.discard {
            return;
        }
        let kind = open.kind;
        let coll = open.coll;
        if let Some(file) = open.file {
            let res = file
                .end(&coll)
                .map_err(|source| AdapterError::Io {
                    path: PathBuf::from(&open.rel),
                    source,
                })
                .and_then(|f| out.finish_file(f).map_err(AdapterError::from));
            if let Err(e) = res {
                w.fail(out, kind, e);
                return;
            }
        } else if kind == CollKind::Stream && !coll.meta_seen {
            warnings.push(Warning::new(
                RedisEvent::StreamOrphanEntriesWithoutMeta,
                vec![
                    ("user_key_len", w.key.len().to_string()),
                    ("observed_entries", open.observed.to_string()),
                    (
                        "hint",
                        "!stream|entry| rows arrived without a !stream|meta| row; live read treats \
                         this as a non-existent stream, so the backup skips emitting a file to avoid \
                         resurrecting orphan entries on restore"
                            .to_owned(),
                    ),
                ],
            ));
            return;
        }
        if coll.meta_seen && open.observed != coll.declared {
            // Go's hint texts, verbatim (scripts grep for them).
            let (event, observed_name, hint) = match kind {
                CollKind::Hash => (
                    RedisEvent::LengthMismatch(CollKind::Hash),
                    "observed_fields",
                    "meta record's Len does not match the count of !hs|fld| keys for this user key",
                ),
                CollKind::List => (
                    RedisEvent::LengthMismatch(CollKind::List),
                    "observed_items",
                    "meta record's Len does not match the count of !lst|itm| keys for this user key",
                ),
                CollKind::Set => (
                    RedisEvent::LengthMismatch(CollKind::Set),
                    "observed_members",
                    "meta record's Len does not match the count of !st|mem| keys for this user key",
                ),
                CollKind::Zset => (
                    RedisEvent::LengthMismatch(CollKind::Zset),
                    "observed_members",
                    "meta record's Len does not match the count of !zs|mem| keys for this user key",
                ),
                CollKind::Stream => (
                    RedisEvent::LengthMismatch(CollKind::Stream),
                    "observed_entries",
                    "meta record's Length does not match the count of !stream|entry| keys for this user key",
                ),
            };
            warnings.push(Warning::new(
                event,
                vec![
                    ("user_key_len", w.key.len().to_string()),
                    ("declared_len", coll.declared.to_string()),
                    (observed_name, open.observed.to_string()),
                    ("hint", hint.to_owned()),
                ],
            ));
        }
    }

    /// Append the index-TTL sidecar lines, in the stream order of their `!redis|ttl|` rows.
    fn append_index_ttl_lines(
        &mut self,
        out: &mut dyn TreeOut,
        lines: ExternalSorter,
    ) -> Result<(), AdapterError> {
        let spill_err = |source| AdapterError::Scratch {
            what: "redis decoder TTL-line spill file (scratch)",
            source,
        };
        let mut sorted = lines.finish().map_err(spill_err)?;
        while let Some((k, v)) = sorted.next().map_err(spill_err)? {
            let which = match v.first() {
                Some(0) => Sidecar::Strings,
                Some(1) => Sidecar::Hll,
                _ => return Err(corrupt(k)),
            };
            let line = v.get(1..).unwrap_or_default().to_vec();
            self.write_sidecar(out, which, &line)?;
        }
        Ok(())
    }
}

/// The fact value of a zset member: `BE64 score bits ‖ legacy`.
fn zset_value(score: f64, legacy: bool) -> [u8; 9] {
    let mut v = [0u8; 9];
    v[..8].copy_from_slice(&score.to_bits().to_be_bytes());
    v[8] = u8::from(legacy);
    v
}

/// One sidecar line `{"key":<seg>,"expire_at_ms":<ms>}\n`.
fn ttl_line(seg: &str, ms: u64) -> Vec<u8> {
    json::to_vec(
        &TtlLine {
            key: seg,
            expire_at_ms: ms,
        },
        JsonStyle::JSONL,
    )
}

/// A fact read back from scratch that this decoder did not write.
fn corrupt(fact_key: &[u8]) -> AdapterError {
    AdapterError::Scratch {
        what: "redis decoder spill file (scratch)",
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("malformed fact read back, sort key {}", display_key(fact_key)),
        ),
    }
}

/// Count one element of the open collection and write it (unless its type failed or it is
/// a stream without meta). A write error closes the file for good.
fn emit<F: Write>(open: &mut Option<Open<F>>, key: &[u8], e: Elem<'_>) -> Result<(), AdapterError> {
    let Some(open) = open.as_mut() else {
        return Ok(());
    };
    open.observed += 1;
    let Some(file) = open.file.as_mut() else {
        return Ok(());
    };
    match file.element(&e) {
        Ok(()) => Ok(()),
        Err(err) => {
            open.file = None;
            open.discard = true;
            Err(match err {
                ElemError::Io(source) => AdapterError::Io {
                    path: PathBuf::from(&open.rel),
                    source,
                },
                ElemError::BadEntry(m) => bad(key, m),
            })
        }
    }
}

/// The collection file being written at finalize.
struct Open<F: Write> {
    kind: CollKind,
    coll: Coll,
    rel: String,
    /// `None` for a stream without meta (counted, not written) or after a write error.
    file: Option<CollFile<F>>,
    /// Nothing more is written or warned for this collection.
    discard: bool,
    /// Elements seen (after deduplication).
    observed: u64,
}

/// The state of the key being written at finalize.
struct KeyWriter<F: Write> {
    key: Vec<u8>,
    facts: KeyFacts,
    orphan: bool,
    /// Collections of this key already opened.
    written: [bool; 5],
    open: Option<Open<F>>,
    pending: Pending,
    /// Types whose write failed: their later keys are skipped (redis.md §4.5).
    failed: [bool; 5],
    streams_dir: bool,
    first_error: Option<AdapterError>,
}

impl<F: Write> KeyWriter<F> {
    fn new() -> Self {
        KeyWriter {
            key: Vec::new(),
            facts: KeyFacts::default(),
            orphan: false,
            written: [false; 5],
            open: None,
            pending: Pending::default(),
            failed: [false; 5],
            streams_dir: false,
            first_error: None,
        }
    }

    fn fail(&mut self, out: &mut dyn TreeOut, kind: CollKind, e: AdapterError) {
        self.failed[kind.index()] = true;
        hold(&mut self.first_error, out, e);
    }
}

/// Keep `e` as the first error unless one is kept already; a failed write made before it
/// (the tree writes behind us) is the first error instead (see [`first_error`]).
fn hold(first: &mut Option<AdapterError>, out: &mut dyn TreeOut, e: AdapterError) {
    if first.is_none() {
        *first = Some(first_error(out, e));
    }
}

impl Decoder for RedisDecoder {
    fn handle(
        &mut self,
        out: &mut dyn TreeOut,
        _warnings: &mut Warnings,
        record: &Record<'_>,
    ) -> Result<(), AdapterError> {
        self.handle_record(out, record)
    }

    fn finalize(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings) -> Result<(), AdapterError> {
        self.finalize_into(out, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dump::MemTree;

    fn test_decoder() -> RedisDecoder {
        let cx = DecodeContext {
            scratch_dir: std::env::temp_dir(),
        };
        RedisDecoder::new(&RedisOptions::default(), &cx)
    }

    fn run(tree: &mut MemTree, recs: &[(Vec<u8>, Vec<u8>)]) -> (Result<(), AdapterError>, Warnings) {
        let mut d = test_decoder();
        for (k, v) in recs {
            d.handle_record(tree, &Record::routed(k, v).unwrap()).unwrap();
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
            fail_on: Some("hashes/b".into()),
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
            fail_on: Some("strings/".into()),
            ..MemTree::default()
        };
        let mut d = test_decoder();
        let e = d
            .handle_record(
                &mut t,
                &Record::routed(&[STR_PREFIX, b"k"].concat(), b"v").unwrap(),
            )
            .unwrap_err();
        assert_eq!(e.kind(), crate::error_kind::ErrorKind::Usage);

        let mut t = MemTree {
            fail_on: Some("_ttl.jsonl".into()),
            ..MemTree::default()
        };
        let mut d = test_decoder();
        d.handle_record(
            &mut t,
            &Record::routed(&[HLL_PREFIX, b"k"].concat(), b"raw").unwrap(),
        )
        .unwrap();
        let ttl = 5u64.to_be_bytes();
        // An index TTL line is written at finalize; its failure surfaces there.
        d.handle_record(
            &mut t,
            &Record::routed(&[TTL_PREFIX, b"k"].concat(), &ttl).unwrap(),
        )
        .unwrap();
        let e = d.finalize_into(&mut t, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("hll_ttl.jsonl"), "{e}");
        // An inline TTL line is written at intake.
        let mut d = test_decoder();
        let v = [vec![0xFF, 2, 1], 9u64.to_be_bytes().to_vec()].concat();
        let e = d
            .handle_record(&mut t, &Record::routed(&[HLL_PREFIX, b"j"].concat(), &v).unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("hll_ttl.jsonl"), "{e}");

        let mut t = MemTree {
            fail_on: Some("KEYMAP".into()),
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

    #[test]
    fn malformed_facts_read_back_are_errors_not_panics() {
        let scratch = tempfile::tempdir().unwrap();
        let esc = |k: &[u8], tail: &[u8]| {
            let mut v = Vec::new();
            push_escaped(&mut v, k);
            v.extend_from_slice(tail);
            v
        };
        let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"no terminator".to_vec(), vec![]),
            (vec![b'a', 0, 7, 0, 0, SEC_INFO], vec![]),
            (esc(b"k", &[9]), vec![]),
            (esc(b"k", &[SEC_INFO]), vec![77]),
            (esc(b"k", &[SEC_TTL]), vec![0; 15]),
            (esc(b"k", &[SEC_ELEM, 9]), vec![]),
            (esc(b"k", &[SEC_ELEM, CollKind::List.index() as u8, 1]), vec![]),
            (esc(b"k", &[SEC_ELEM, CollKind::Zset.index() as u8]), vec![0; 8]),
            (esc(b"k", &[SEC_ELEM, CollKind::Stream.index() as u8, 0]), vec![]),
        ];
        for (k, v) in cases {
            let mut facts = ExternalSorter::new(1 << 20, scratch.path());
            facts.push(&k, &v).unwrap();
            let mut lines = ExternalSorter::new(1 << 20, scratch.path());
            let mut d = test_decoder();
            let mut t = MemTree::default();
            let e = d.replay(&mut t, &mut Vec::new(), facts, &mut lines).unwrap_err();
            assert!(e.to_string().contains("malformed fact read back"), "{e}");
            assert_eq!(e.kind(), crate::error_kind::ErrorKind::Usage);
        }
    }

    #[test]
    fn a_failed_type_skips_its_later_keys_streams_and_elements_included() {
        let mut t = MemTree {
            fail_on: Some("streams/a".into()),
            ..MemTree::default()
        };
        let fields = ["f".to_owned(), "v".to_owned()];
        let xmeta = |k: &[u8]| {
            (
                wide_key(STREAM_META_PREFIX, k, b""),
                build_stream_meta(1, 1, 0, 0),
            )
        };
        let recs = vec![
            (stream_entry_key(b"a", 1, 0), build_stream_entry("1-0", &fields)),
            xmeta(b"a"),
            (stream_entry_key(b"b", 1, 0), build_stream_entry("1-0", &fields)),
            xmeta(b"b"),
            hash(b"c"),
        ];
        let (r, w) = run(&mut t, &recs);
        assert!(r.unwrap_err().to_string().contains("streams/a"));
        assert!(!t.files.contains_key("redis/db_0/streams/b.jsonl"));
        assert!(t.files.contains_key("redis/db_0/hashes/c.json"));
        assert!(w.is_empty(), "{w:?}");
    }

    /// A write that fails on the filesystem (paths blocked by directories and a file
    /// planted in the staging tree) is reported as the first error in the order the writes
    /// were made, the same for any thread count, though the tree writes behind the decoder
    /// and the decoder goes on past it. The sequence is the pipeline's (`first_error` where
    /// an error is raised, `settle` at the end).
    #[test]
    fn a_blocked_write_is_the_same_first_error_for_any_thread_count() {
        use crate::dump::{first_error, DumpTree, TreeOptions};
        let string = |k: &[u8]| ([STR_PREFIX, k].concat(), vec![0xFF, 1, 0, b'v']);
        let recs = vec![
            string(b"a"),
            string(b"b"), // blocked: the first failure
            string(b"c"), // blocked too, later
            hash(b"h"),   // its directory is a file: fails at finalize, later still
            string(b"d"),
        ];
        let mut seen = Vec::new();
        for threads in [1, 2, 4] {
            let d = tempfile::tempdir().unwrap();
            let options = TreeOptions {
                threads,
                ..TreeOptions::default()
            };
            let mut tree = DumpTree::create_with(&d.path().join("out"), &options).unwrap();
            let db = tree.root().join("redis/db_0");
            std::fs::create_dir_all(db.join("strings/b.bin")).unwrap();
            std::fs::create_dir_all(db.join("strings/c.bin")).unwrap();
            std::fs::write(db.join("hashes"), b"").unwrap();
            let mut dec = test_decoder();
            let mut outcome = Ok(());
            for (k, v) in &recs {
                let record = Record::routed(k, v).unwrap();
                if let Err(e) = dec.handle_record(&mut tree, &record) {
                    outcome = Err(first_error(&mut tree, e));
                    break;
                }
            }
            let fin = dec.finalize_into(&mut tree, &mut Warnings::new());
            if outcome.is_ok() {
                outcome = fin.map_err(|e| first_error(&mut tree, e));
            }
            let outcome = outcome.and_then(|()| tree.settle().map_err(AdapterError::from));
            let e = outcome.unwrap_err();
            let root = tree.root().display().to_string();
            seen.push((e.to_string().replace(&root, "<staging>"), e.kind()));
            drop(tree);
            assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0, "nothing left");
        }
        assert_eq!(
            seen[0].0,
            "<staging>/redis/db_0/strings/b.bin: refused: written twice in one tree"
        );
        assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
    }
}
