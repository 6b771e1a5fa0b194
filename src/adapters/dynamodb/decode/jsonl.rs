//! The jsonl layout's decode path (D7, DECISIONS.md A26): `items/data-<part>.jsonl`.
//!
//! A line (`{"Item":{…}}`, [`bundle_line`]) depends on the item alone, not on its table's
//! schema, and the stream brings each (table segment, generation) as one run of items in key
//! order. So items are parsed and rendered as they arrive (a batch at a time on worker
//! threads, consumed in arrival order through [`map_in_order`]) and their lines appended to
//! a sequence of staged parts per (segment, generation), written in the output tree
//! ([`TreeOut::create_staged`]): no sort, no scratch copy of the items. At finalize, when
//! the schemas are known:
//!
//! * a schema-less segment's parts are discarded (`ddb_orphan_items`), so are those of a
//!   generation neither active nor migration source (`ddb_stale_generation_items`);
//! * every item of an emitted generation must carry its key attributes as the per-item
//!   layout names files by them (§1.7): a [`KeyCheck`] per generation followed, for every
//!   attribute the first item has, the first item where it is missing or unusable; the
//!   error names that item's key, the hash attribute's before the range attribute's;
//! * when one emitted generation has items, its parts are published in order as
//!   `data-00000.jsonl`, … (lines in key order);
//! * a table being migrated with items in both generations reads its parts back and goes
//!   through the path sort (lines in the per-item layout's path order, of one path the active
//!   generation's line, two lines of one generation naming one file an error, A29).
//!
//! Parts roll over at `--dynamodb-bundle-size` bytes (a longer line gets a part of its own).
//! Memory: one batch of items, its rendered lines, and per (segment, generation) its part
//! handles and key-check state (bounded by the attributes of its first item).

use std::collections::BTreeMap;
use std::io::Write;

use super::{bad, key_segment, orphan_warning, part_name, stale_warning, TableMeta};
use crate::adapters::dynamodb::keys::{ItemKeyError, KeyRole};
use crate::adapters::dynamodb::proto::{self, AttributeValue, TableSchema, Value};
use crate::adapters::dynamodb::public::{bundle_line, item_from_bundle_line};
use crate::adapters::{AdapterError, Warnings};
use crate::dump::json::parse_one;
use crate::dump::tree::Staged;
use crate::dump::{DumpError, OutFile, TreeOut};
use crate::ordered::map_in_order;
use crate::spill::ExternalSorter;

/// Item bytes rendered per batch.
const BATCH_BYTES: usize = 4 << 20;
/// Items per job of a batch.
const CHUNK: usize = 64;
/// Rendered bytes the workers may run ahead of the consumer by.
const WINDOW: usize = 4 << 20;
/// Bytes read back at a time from a staged part (migrating tables).
const READ_BACK: u64 = 1 << 20;

/// A key attribute's first failure in a generation: the item (its arrival number in the
/// generation and its key) and the attribute's value there (`None`: missing).
struct Fault {
    at: u64,
    user_key: Vec<u8>,
    value: Option<AttributeValue>,
}

/// The attribute names of a generation's first item, each with its first fault.
type Candidates = Vec<(String, Option<Fault>)>;

/// Where a batch's item lives: (start, key length, value length).
type Span = (usize, usize, usize);

/// Which attributes every item of a generation so far can be named by (§1.7), started from
/// the first item's attribute names (with that item's key).
#[derive(Default)]
struct KeyCheck {
    first: Option<(Vec<u8>, Candidates)>,
}

impl KeyCheck {
    /// The first item whose `name` attribute cannot name a file, for `role`, as the error
    /// the per-item layout gives; `None` when every item can.
    fn fault(&self, name: &str, role: KeyRole) -> Option<(u64, AdapterError)> {
        let (first_key, cands) = self.first.as_ref()?;
        let Some((_, fault)) = cands.iter().find(|(n, _)| n == name) else {
            let e = ItemKeyError::Missing {
                role,
                name: name.to_owned(),
            };
            return Some((0, bad(first_key, e)));
        };
        let f = fault.as_ref()?;
        let e = match &f.value {
            None => ItemKeyError::Missing {
                role,
                name: name.to_owned(),
            },
            Some(av) => key_segment(av, role).err()?,
        };
        Some((f.at, bad(&f.user_key, e)))
    }

    /// The first item of the generation failing its schema's key attributes.
    fn check(&self, schema: &TableSchema) -> Result<(), AdapterError> {
        let hash = self.fault(schema.hash_key(), KeyRole::Hash);
        let range = match schema.range_key() {
            "" => None,
            r => self.fault(r, KeyRole::Range),
        };
        match (hash, range) {
            (Some((h, e)), Some((r, _))) if h <= r => Err(e),
            (_, Some((_, e))) | (Some((_, e)), None) => Err(e),
            (None, None) => Ok(()),
        }
    }
}

/// Whether `av` can name a file as a key attribute; cheap where it can be, exact through
/// [`key_segment`] otherwise.
fn usable_key(av: &AttributeValue) -> bool {
    match &av.value {
        Some(Value::S(s)) => s != "." && s != "..",
        Some(Value::B(_)) => true,
        Some(Value::N(n))
            if n.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
                && n != "."
                && n != ".." =>
        {
            true
        }
        _ => key_segment(av, KeyRole::Hash).is_ok(),
    }
}

/// The staged parts and checks of one (segment, generation).
#[derive(Default)]
struct Generation {
    items: u64,
    parts: Vec<Staged>,
    keys: KeyCheck,
}

/// A part being written: the file and its size.
struct OpenPart {
    file: OutFile,
    size: u64,
}

/// The rendered lines of a job and the key faults found in it.
struct Lines {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// (candidate index, arrival in the batch, item key, value).
    faults: Vec<(usize, usize, Vec<u8>, Option<AttributeValue>)>,
}

/// Items → staged jsonl parts, per (segment, generation). See the module docs.
pub(super) struct JsonlStage {
    threads: usize,
    bundle_size: u64,
    generations: BTreeMap<(Vec<u8>, u64), Generation>,
    current: Option<(Vec<u8>, u64)>,
    open: Option<OpenPart>,
    /// The batch: user keys and values back to back, and their (start, key len, value len).
    bytes: Vec<u8>,
    spans: Vec<Span>,
}

impl JsonlStage {
    pub(super) fn new(threads: usize, bundle_size: u64) -> JsonlStage {
        JsonlStage {
            threads,
            bundle_size,
            generations: BTreeMap::new(),
            current: None,
            open: None,
            bytes: Vec::new(),
            spans: Vec::new(),
        }
    }

    pub(super) fn set_threads(&mut self, n: usize) {
        self.threads = n;
    }

    /// Take an item of `seg` and `generation` (its user key and stored value).
    pub(super) fn push(
        &mut self,
        out: &mut dyn TreeOut,
        seg: &[u8],
        generation: u64,
        user_key: &[u8],
        value: &[u8],
    ) -> Result<(), AdapterError> {
        if !matches!(&self.current, Some((s, g)) if s == seg && *g == generation) {
            self.flush(out)?;
            self.close_part(out)?;
            self.current = Some((seg.to_vec(), generation));
        }
        self.spans.push((self.bytes.len(), user_key.len(), value.len()));
        self.bytes.extend_from_slice(user_key);
        self.bytes.extend_from_slice(value);
        if self.bytes.len() >= BATCH_BYTES {
            self.flush(out)?;
        }
        Ok(())
    }

    fn close_part(&mut self, out: &mut dyn TreeOut) -> Result<(), AdapterError> {
        let Some(part) = self.open.take() else {
            return Ok(());
        };
        let staged = out.close_staged(part.file)?;
        if let Some(g) = self.current.as_ref().and_then(|c| self.generations.get_mut(c)) {
            g.parts.push(staged);
        }
        Ok(())
    }

    /// Render the batch and append its lines to the current generation's parts.
    fn flush(&mut self, out: &mut dyn TreeOut) -> Result<(), AdapterError> {
        if self.spans.is_empty() {
            return Ok(());
        }
        let Some(current) = self.current.clone() else {
            return Ok(());
        };
        let bytes = std::mem::take(&mut self.bytes);
        let spans = std::mem::take(&mut self.spans);
        let record =
            |&(at, kl, vl): &(usize, usize, usize)| (&bytes[at..at + kl], &bytes[at + kl..at + kl + vl]);
        let g = self.generations.entry(current).or_default();
        if g.keys.first.is_none() {
            // The first item's attribute names are the candidates; a garbled first item
            // is reported by the render below.
            if let Some((k, v)) = spans.first().map(record) {
                if let Ok(item) = proto::parse_item(v) {
                    let names = item.attributes.into_keys().map(|n| (n, None)).collect();
                    g.keys.first = Some((k.to_vec(), names));
                }
            }
        }
        let live: Vec<(usize, String)> = g
            .keys
            .first
            .iter()
            .flat_map(|(_, c)| c.iter().enumerate())
            .filter(|(_, (_, f))| f.is_none())
            .map(|(i, (n, _))| (i, n.clone()))
            .collect();
        let chunks: Vec<(usize, &[Span])> = spans
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, c)| (i * CHUNK, c))
            .collect();
        let base = g.items;
        let (limit, open) = (self.bundle_size, &mut self.open);
        map_in_order(
            &chunks,
            self.threads,
            WINDOW,
            |(first, chunk)| {
                let mut lines = Lines {
                    bytes: Vec::new(),
                    ends: Vec::with_capacity(chunk.len()),
                    faults: Vec::new(),
                };
                for (n, span) in chunk.iter().enumerate() {
                    let (k, v) = record(span);
                    let item = proto::parse_item(v).map_err(|e| bad(k, e))?;
                    for (i, name) in &live {
                        let av = item.attributes.get(name);
                        if !av.is_some_and(usable_key) {
                            lines.faults.push((*i, first + n, k.to_vec(), av.cloned()));
                        }
                    }
                    lines.bytes.extend_from_slice(&bundle_line(&item));
                    lines.ends.push(lines.bytes.len());
                }
                Ok::<_, AdapterError>(lines)
            },
            |l| l.bytes.len() + l.ends.len() * 8 + 64,
            |l| {
                let mut from = 0;
                for &end in &l.ends {
                    let line = &l.bytes[from..end];
                    from = end;
                    let len = line.len() as u64;
                    if open.as_ref().is_some_and(|p| p.size + len > limit) {
                        if let Some(p) = open.take() {
                            g.parts.push(out.close_staged(p.file)?);
                        }
                    }
                    if open.is_none() {
                        *open = Some(OpenPart {
                            file: out.create_staged()?,
                            size: 0,
                        });
                    }
                    if let Some(p) = open.as_mut() {
                        p.file.write_all(line).map_err(|e| DumpError::io(".staged", e))?;
                        p.size += len;
                    }
                }
                g.items += l.ends.len() as u64;
                if let Some((_, cands)) = g.keys.first.as_mut() {
                    for (i, at, user_key, value) in l.faults {
                        if let Some((_, f @ None)) = cands.get_mut(i) {
                            *f = Some(Fault {
                                at: base + at as u64,
                                user_key,
                                value,
                            });
                        }
                    }
                }
                Ok(())
            },
        )?;
        // Keep the batch's allocations for the next one.
        self.bytes = bytes;
        self.bytes.clear();
        self.spans = spans;
        self.spans.clear();
        Ok(())
    }

    /// Publish, discard or path-sort every generation's parts (see the module docs).
    pub(super) fn finish(
        mut self,
        out: &mut dyn TreeOut,
        tables: &BTreeMap<Vec<u8>, TableMeta>,
        dirs: &BTreeMap<&[u8], String>,
        warnings: &mut Warnings,
        paths: &mut ExternalSorter,
    ) -> Result<(), AdapterError> {
        self.flush(out)?;
        self.close_part(out)?;
        let mut generations = std::mem::take(&mut self.generations).into_iter().peekable();
        let mut arrival = 0u64;
        while let Some(((seg, _), _)) = generations.peek() {
            let seg = seg.clone();
            // (generation, its state), generations ascending.
            let mut mine = Vec::new();
            while let Some(((_, n), g)) = generations.next_if(|((s, _), _)| *s == seg) {
                mine.push((n, g));
            }
            let Some(t) = tables.get(&seg) else {
                let count = mine.iter().map(|(_, g)| g.items).sum();
                discard(out, mine)?;
                warnings.push(orphan_warning(&seg, count));
                continue;
            };
            let (active, source) = (t.schema.generation, t.schema.migrating_from_generation);
            let rank = |generation: u64| {
                if generation == active {
                    Some(1u8)
                } else if source != 0 && generation == source {
                    Some(0)
                } else {
                    None
                }
            };
            let (emitted, stale): (Vec<_>, Vec<_>) = mine.into_iter().partition(|(n, _)| rank(*n).is_some());
            for (_, g) in &emitted {
                g.keys.check(&t.schema)?;
            }
            let stale_count: u64 = stale.iter().map(|(_, g)| g.items).sum();
            discard(out, stale)?;
            if stale_count > 0 {
                warnings.push(stale_warning(t, stale_count));
            }
            let dir = dirs.get(seg.as_slice()).map_or("", String::as_str);
            let mut emitted: Vec<_> = emitted.into_iter().filter(|(_, g)| g.items > 0).collect();
            if emitted.len() == 1 {
                if let Some((_, g)) = emitted.pop() {
                    for (n, part) in g.parts.into_iter().enumerate() {
                        out.publish_staged(part, &format!("{dir}/items/{}", part_name(n as u64)))?;
                    }
                }
                continue;
            }
            for (generation, g) in emitted {
                let r = rank(generation).unwrap_or(0);
                for part in g.parts {
                    read_lines(out, &part, |line| {
                        let value = parse_one(line, false).map_err(|e| staged_error(&part, e))?;
                        let item = item_from_bundle_line(&value).map_err(|e| staged_error(&part, e))?;
                        let rel =
                            super::item_rel_path(&t.schema, &item).map_err(|e| staged_error(&part, e))?;
                        let pk = super::path_key(dir, &rel, r, arrival);
                        arrival += 1;
                        paths.push(&pk, line).map_err(|e| staged_error(&part, e))
                    })?;
                    out.discard_staged(part)?;
                }
            }
        }
        Ok(())
    }
}

fn staged_error(part: &Staged, e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Dump(DumpError::invalid(&part.rel, format!("staged jsonl part: {e}")))
}

fn discard(out: &mut dyn TreeOut, gens: Vec<(u64, Generation)>) -> Result<(), AdapterError> {
    for (_, g) in gens {
        for part in g.parts {
            out.discard_staged(part)?;
        }
    }
    Ok(())
}

/// Each line (with its `\n`) of a closed staged part, read back a block at a time.
fn read_lines(
    out: &mut dyn TreeOut,
    part: &Staged,
    mut each: impl FnMut(&[u8]) -> Result<(), AdapterError>,
) -> Result<(), AdapterError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut offset = 0;
    while offset < part.len {
        let len = READ_BACK.min(part.len - offset);
        out.copy_staged(part, offset, len, &mut buf)?;
        offset += len;
        let mut from = 0;
        while let Some(nl) = buf.get(from..).and_then(|b| b.iter().position(|&c| c == b'\n')) {
            each(&buf[from..from + nl + 1])?;
            from += nl + 1;
        }
        buf.drain(..from);
    }
    if !buf.is_empty() {
        each(&buf)?;
    }
    Ok(())
}
