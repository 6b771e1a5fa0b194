//! Live DynamoDB records → `dynamodb/<table>/` (dynamodb_sqs.md §1.5–1.8, D1, D7).
//!
//! Per-item layout: items reach the stream before their table's schema (`!ddb|item|` sorts
//! before `!ddb|meta|`), so every item is staged in an external sort ([`ExternalSorter`])
//! keyed by (table segment, generation, arrival); schemas (one small message per table) are
//! kept in memory. At the end each table's items are replayed, parsed and rendered on worker
//! threads a batch at a time and consumed in staged order (the first garbled item in that
//! order is the error, for any thread count): the migration-source generation and the
//! active generation are rendered (items of other generations are counted for
//! `ddb_stale_generation_items`, those of schema-less tables for `ddb_orphan_items`). A
//! table that is not being migrated renders one generation, whose items name distinct
//! files: they are written as they come. A migrating table's items are staged again keyed
//! by (output path, generation rank, arrival), so that of two items landing on one path the
//! active generation's wins without writing a path twice. Two items of one generation
//! naming one file are an error (A29; Go keeps the last silently). Memory does not grow
//! with a table's items.
//!
//! Jsonl layout (`--dynamodb-bundle-mode jsonl`, D7): a line needs no schema, so lines are
//! rendered as items arrive into staged `items/data-<part>.jsonl` parts, in key order, and
//! published (or discarded) at finalize; see [`jsonl`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use super::keys::{parse_item_key, parse_table_meta_key, ItemKeyError, KeyRole, Kind};
use super::number::canonical;
use super::proto::{self, AttributeValue, Item, TableSchema, Value};
use super::public::{item_file, schema_file};
use super::{DynamoDbLayout, DynamoDbOptions};
use crate::adapters::batch::default_threads;
use crate::adapters::{AdapterError, Cause, DecodeContext, Decoder, Event, Record, Warning, Warnings};
use crate::dump::filename::{encode_binary_segment, encode_segment};
use crate::dump::{DumpError, OutFile, TreeOut};
use crate::ordered::map_in_order;
use crate::spill::{ExternalSorter, SortedRecords};

mod jsonl;
use jsonl::JsonlStage;

/// Memory budget of each of the two item sorts.
pub const DEFAULT_SORT_BUDGET: usize = 16 << 20;

/// The decoder's warning events (dynamodb_sqs.md §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DdbEvent {
    /// Items of a table whose schema is missing.
    OrphanItems,
    /// Items of a generation other than the table's current one.
    StaleGenerationItems,
}

impl Event for DdbEvent {
    fn name(self) -> &'static str {
        match self {
            DdbEvent::OrphanItems => "ddb_orphan_items",
            DdbEvent::StaleGenerationItems => "ddb_stale_generation_items",
        }
    }
}

const STALE_HINT: &str = "stale-gen rows excluded; restore would otherwise emit them under the new schema";

/// A table schema record, by table segment.
struct TableMeta {
    name: Vec<u8>,
    schema: TableSchema,
}

/// Records → tree for the DynamoDB adapter.
pub struct DynamoDbDecoder {
    options: DynamoDbOptions,
    scratch_dir: PathBuf,
    budget: usize,
    tables: BTreeMap<Vec<u8>, TableMeta>,
    items: Option<ExternalSorter>,
    arrivals: u64,
    /// Worker threads that parse and render staged items at finalize.
    threads: usize,
    /// The jsonl layout's staged parts (`None` in the per-item layout).
    jsonl: Option<JsonlStage>,
}

impl DynamoDbDecoder {
    /// A decoder with `options`, writing to `cx`'s scratch directory.
    pub fn new(options: &DynamoDbOptions, cx: &DecodeContext) -> DynamoDbDecoder {
        DynamoDbDecoder::with_budget(options, cx, DEFAULT_SORT_BUDGET)
    }

    /// A decoder whose item sorts keep about `budget` bytes in memory.
    pub fn with_budget(options: &DynamoDbOptions, cx: &DecodeContext, budget: usize) -> DynamoDbDecoder {
        DynamoDbDecoder {
            options: options.clone(),
            scratch_dir: cx.scratch_dir.clone(),
            budget,
            tables: BTreeMap::new(),
            items: None,
            arrivals: 0,
            threads: default_threads(),
            jsonl: (options.layout == DynamoDbLayout::Jsonl)
                .then(|| JsonlStage::new(default_threads(), options.bundle_size)),
        }
    }

    /// Render staged items on `n` worker threads (at least 1): the tree, the warnings and
    /// the first error are the same for any `n`.
    pub fn threads(mut self, n: usize) -> DynamoDbDecoder {
        self.threads = n.max(1);
        if let Some(j) = self.jsonl.as_mut() {
            j.set_threads(self.threads);
        }
        self
    }

    fn scratch_err(&self, e: std::io::Error) -> AdapterError {
        AdapterError::Io {
            path: self.scratch_dir.clone(),
            source: e,
        }
    }
}

fn bad(key: &[u8], what: impl Into<Cause>) -> AdapterError {
    AdapterError::bad_record("dynamodb", key, what)
}

/// Stage-one sort key: `<segment> | BE64(gen) BE64(arrival)` (a segment holds no `|`).
fn stage_key(seg: &[u8], generation: u64, arrival: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(seg.len() + 17);
    k.extend_from_slice(seg);
    k.push(b'|');
    k.extend_from_slice(&generation.to_be_bytes());
    k.extend_from_slice(&arrival.to_be_bytes());
    k
}

fn split_stage_key(k: &[u8]) -> Option<(&[u8], u64, u64)> {
    let (seg, tail) = k.split_at_checked(k.len().checked_sub(17)?)?;
    let tail = tail.strip_prefix(b"|")?;
    let (g, a) = tail.split_at_checked(8)?;
    Some((
        seg,
        u64::from_be_bytes(g.try_into().ok()?),
        u64::from_be_bytes(a.try_into().ok()?),
    ))
}

/// Stage-one value: `BE32(len(user key)) ‖ user key ‖ stored value`.
fn stage_value(user_key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + user_key.len() + value.len());
    v.extend_from_slice(&(user_key.len() as u32).to_be_bytes());
    v.extend_from_slice(user_key);
    v.extend_from_slice(value);
    v
}

fn split_stage_value(v: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = v.split_at_checked(4)?;
    let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
    rest.split_at_checked(len)
}

/// Staged bytes parsed and rendered per batch at finalize.
const RENDER_BATCH_BYTES: usize = 4 << 20;
/// Staged items per job of a batch.
const RENDER_CHUNK: usize = 64;
/// Rendered bytes the workers may run ahead of the consumer by.
const RENDER_WINDOW: usize = 4 << 20;

/// What finalize needs to render a staged item (shared by the worker threads).
struct RenderContext<'a> {
    tables: &'a BTreeMap<Vec<u8>, TableMeta>,
    dirs: &'a BTreeMap<&'a [u8], String>,
}

/// A staged item after rendering: its table segment and where it goes.
struct Rendered {
    seg: Vec<u8>,
    out: Placement,
}

/// Where a rendered item goes.
enum Placement {
    /// Not written: no schema (orphan), or a generation neither active nor migration
    /// source (stale).
    Skipped,
    /// Straight to its file: the per-item layout of a table that is not being migrated
    /// renders one generation, where no two items share a path, so no path sort is
    /// needed. (A clash would be two keys naming one file: an error naming the key, never
    /// a silent overwrite; the tree creates files with `O_EXCL`.)
    File {
        path: String,
        user_key: Vec<u8>,
        body: Vec<u8>,
    },
    /// Through the path sort: a migrating table's items (of one path, the active
    /// generation's wins).
    Sorted { path_key: Vec<u8>, body: Vec<u8> },
}

impl Rendered {
    fn weight(&self) -> usize {
        self.seg.len()
            + match &self.out {
                Placement::Skipped => 0,
                Placement::File { path, user_key, body } => path.len() + user_key.len() + body.len(),
                Placement::Sorted { path_key, body } => path_key.len() + body.len(),
            }
            + 64
    }
}

impl RenderContext<'_> {
    /// Parse a staged item (every one, so that a garbled item is an error wherever it
    /// belongs) and, when it is written, render its path and body.
    fn render(&self, k: &[u8], v: &[u8]) -> Result<Rendered, AdapterError> {
        let (seg, generation, arrival) =
            split_stage_key(k).ok_or_else(|| bad(k, "corrupt staged item record"))?;
        let (user_key, value) = split_stage_value(v).ok_or_else(|| bad(k, "corrupt staged item record"))?;
        let item = proto::parse_item(value).map_err(|e| bad(user_key, e))?;
        let rendered = |out| Rendered {
            seg: seg.to_vec(),
            out,
        };
        let Some(t) = self.tables.get(seg) else {
            return Ok(rendered(Placement::Skipped));
        };
        let active = t.schema.generation;
        let source = t.schema.migrating_from_generation;
        let rank: u8 = if generation == active {
            1
        } else if source != 0 && generation == source {
            0
        } else {
            return Ok(rendered(Placement::Skipped));
        };
        let rel = item_rel_path(&t.schema, &item).map_err(|e| bad(user_key, e))?;
        let dir = self.dirs.get(seg).map_or("", String::as_str);
        if source == 0 {
            return Ok(rendered(Placement::File {
                path: format!("{dir}/items/{rel}"),
                user_key: user_key.to_vec(),
                body: item_file(&item),
            }));
        }
        Ok(rendered(Placement::Sorted {
            path_key: path_key(dir, &rel, rank, arrival),
            body: item_file(&item),
        }))
    }
}

/// The sort key of an item in the path sort: `<table dir> 00 <item path> 00 rank
/// BE64(arrival)`: the items landing on one path come out together, by generation rank,
/// then arrival.
fn path_key(dir: &str, rel: &str, rank: u8, arrival: u64) -> Vec<u8> {
    let mut pk = Vec::with_capacity(dir.len() + rel.len() + 11);
    pk.extend_from_slice(dir.as_bytes());
    pk.push(0);
    pk.extend_from_slice(rel.as_bytes());
    pk.push(0);
    pk.push(rank);
    pk.extend_from_slice(&arrival.to_be_bytes());
    pk
}

/// The file-name segment of a key attribute (§1.7).
fn key_segment(av: &AttributeValue, role: KeyRole) -> Result<String, ItemKeyError> {
    let seg = match &av.value {
        Some(Value::S(s)) => encode_segment(s.as_bytes()).name,
        Some(Value::N(n)) => canonical(n)
            .text()
            .ok_or_else(|| ItemKeyError::NumberForm {
                role,
                text: n.clone(),
            })
            .map(|t| encode_segment(t.as_bytes()).name)?,
        Some(Value::B(b)) => encode_binary_segment(b).name,
        _ => return Err(ItemKeyError::SegmentKind { role }),
    };
    if seg == "." || seg == ".." {
        return Err(ItemKeyError::DotSegment { role, segment: seg });
    }
    Ok(seg)
}

/// The item's path under `items/` (`<hash>.json` or `<hash>/<range>.json`, an empty hash
/// segment collapsing as Go's `filepath.Join` does).
pub fn item_rel_path(schema: &TableSchema, item: &Item) -> Result<String, ItemKeyError> {
    let attr = |name: &str, role: KeyRole| {
        let av = item.attributes.get(name).ok_or_else(|| ItemKeyError::Missing {
            role,
            name: name.to_owned(),
        })?;
        key_segment(av, role)
    };
    let hash = attr(schema.hash_key(), KeyRole::Hash)?;
    if schema.range_key().is_empty() {
        return Ok(format!("{hash}.json"));
    }
    let range = attr(schema.range_key(), KeyRole::Range)?;
    Ok(if hash.is_empty() {
        format!("{range}.json")
    } else {
        format!("{hash}/{range}.json")
    })
}

impl Decoder for DynamoDbDecoder {
    fn handle(
        &mut self,
        out: &mut dyn TreeOut,
        _w: &mut Warnings,
        record: &Record<'_>,
    ) -> Result<(), AdapterError> {
        let key = record.user_key;
        match Kind::from_tag(record.tag) {
            Some(Kind::TableMeta) => {
                let (seg, name) = parse_table_meta_key(key).map_err(|e| bad(key, e))?;
                let schema = proto::parse_schema(record.value).map_err(|e| bad(key, e))?;
                self.tables.insert(seg.to_vec(), TableMeta { name, schema });
            }
            Some(Kind::Item) => {
                // The item's proto is checked when it is rendered (every staged item is).
                let (seg, generation) = parse_item_key(key).map_err(|e| bad(key, e))?;
                if let Some(j) = self.jsonl.as_mut() {
                    return j.push(out, seg, generation, key, record.value);
                }
                let k = stage_key(seg, generation, self.arrivals);
                self.arrivals += 1;
                let v = stage_value(key, record.value);
                let (budget, dir) = (self.budget, self.scratch_dir.clone());
                let sorter = self
                    .items
                    .get_or_insert_with(|| ExternalSorter::new(budget, &dir));
                sorter
                    .push(&k, &v)
                    .map_err(|e| AdapterError::Io { path: dir, source: e })?;
            }
            Some(Kind::TableGeneration) | Some(Kind::GsiRow) => {}
            None => {
                return Err(bad(
                    key,
                    format!("no DynamoDB family has route tag {}", record.tag),
                ))
            }
        }
        Ok(())
    }

    fn finalize(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings) -> Result<(), AdapterError> {
        let tables = std::mem::take(&mut self.tables);
        // Table directories, and the check that two segments do not name one table.
        let mut dirs: BTreeMap<&[u8], String> = BTreeMap::new();
        let mut seen: BTreeMap<String, &[u8]> = BTreeMap::new();
        for (seg, t) in &tables {
            let dir = format!("dynamodb/{}", encode_segment(&t.name).name);
            if let Some(other) = seen.insert(dir.clone(), seg) {
                return Err(bad(
                    &super::keys::table_meta_key_raw(seg),
                    format!(
                        "table segment names the same table as {:?}",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
            out.write_file(&format!("{dir}/_schema.json"), &schema_file(&t.schema))?;
            out.ensure_dir(&format!("{dir}/items"))?;
            dirs.insert(seg, dir);
        }
        let mut paths = ExternalSorter::new(self.budget, &self.scratch_dir);
        if let Some(stage) = self.jsonl.take() {
            stage.finish(out, &tables, &dirs, warnings, &mut paths)?;
            return self.write_sorted(out, paths);
        }
        let Some(items) = self.items.take() else {
            return Ok(());
        };
        let mut staged = items.finish().map_err(|e| self.scratch_err(e))?;
        let mut current: Option<(Vec<u8>, u64)> = None; // (segment, items counted for warnings)
        let flush = |seg: &[u8], count: u64, warnings: &mut Warnings| match tables.get(seg) {
            None => warnings.push(orphan_warning(seg, count)),
            Some(t) if count > 0 => warnings.push(stale_warning(t, count)),
            Some(_) => {}
        };
        // Staged items are parsed and rendered on worker threads, a batch at a time, and
        // consumed in staged order: counts, warnings and the first error are sequential ones.
        let cx = RenderContext {
            tables: &tables,
            dirs: &dirs,
        };
        // A batch: the staged keys and values back to back, and their (start, key length,
        // value length); jobs are runs of RENDER_CHUNK of them.
        let mut bytes: Vec<u8> = Vec::new();
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        loop {
            bytes.clear();
            spans.clear();
            while bytes.len() < RENDER_BATCH_BYTES {
                let Some((k, v)) = staged.next().map_err(|e| self.scratch_err(e))? else {
                    break;
                };
                spans.push((bytes.len(), k.len(), v.len()));
                bytes.extend_from_slice(k);
                bytes.extend_from_slice(v);
            }
            if spans.is_empty() {
                break;
            }
            let staged_bytes = bytes.as_slice();
            let record = |&(at, kl, vl): &(usize, usize, usize)| {
                (&staged_bytes[at..at + kl], &staged_bytes[at + kl..at + kl + vl])
            };
            let chunks: Vec<&[(usize, usize, usize)]> = spans.chunks(RENDER_CHUNK).collect();
            let scratch = &self.scratch_dir;
            map_in_order(
                &chunks,
                self.threads,
                RENDER_WINDOW,
                |chunk| {
                    chunk
                        .iter()
                        .map(|span| {
                            let (k, v) = record(span);
                            cx.render(k, v)
                        })
                        .collect::<Result<Vec<_>, _>>()
                },
                |done| done.iter().map(Rendered::weight).sum(),
                |done| {
                    for r in done {
                        if !matches!(&current, Some((s, _)) if *s == r.seg) {
                            if let Some((s, n)) = current.take() {
                                flush(&s, n, warnings);
                            }
                            current = Some((r.seg.clone(), 0));
                        }
                        match r.out {
                            Placement::Skipped => {
                                if let Some((_, n)) = current.as_mut() {
                                    *n += 1;
                                }
                            }
                            Placement::File { path, user_key, body } => {
                                out.write_file(&path, &body).map_err(|e| match e {
                                    DumpError::Io { source, .. }
                                        if source.kind() == std::io::ErrorKind::AlreadyExists =>
                                    {
                                        bad(
                                            &user_key,
                                            format!("item names the file {path} of an earlier item of its generation (A29)"),
                                        )
                                    }
                                    e => AdapterError::Dump(e),
                                })?
                            }
                            Placement::Sorted { path_key, body } => {
                                paths.push(&path_key, &body).map_err(|e| AdapterError::Io {
                                    path: scratch.clone(),
                                    source: e,
                                })?
                            }
                        }
                    }
                    Ok(())
                },
            )?;
        }
        if let Some((s, n)) = current.take() {
            flush(&s, n, warnings);
        }
        drop(staged);
        self.write_sorted(out, paths)
    }
}

impl DynamoDbDecoder {
    /// Write the items that went through the path sort.
    fn write_sorted(&self, out: &mut dyn TreeOut, paths: ExternalSorter) -> Result<(), AdapterError> {
        let sorted = paths.finish().map_err(|e| self.scratch_err(e))?;
        write_items(out, sorted, &self.options).map_err(|e| match e {
            WriteError::Out(e) => AdapterError::Dump(e),
            WriteError::Scratch(e) => self.scratch_err(e),
            WriteError::Clash(path) => {
                AdapterError::bad_file(path, "two items of one generation name this file".to_owned())
            }
        })
    }
}

/// `ddb_orphan_items`: `count` items of segment `seg`, which has no schema.
fn orphan_warning(seg: &[u8], count: u64) -> Warning {
    Warning::new(
        DdbEvent::OrphanItems,
        vec![
            ("encoded_table", String::from_utf8_lossy(seg).into_owned()),
            ("buffered_items", count.to_string()),
        ],
    )
}

/// `ddb_stale_generation_items`: `count` items of `t` in neither emitted generation.
fn stale_warning(t: &TableMeta, count: u64) -> Warning {
    Warning::new(
        DdbEvent::StaleGenerationItems,
        vec![
            ("table", String::from_utf8_lossy(&t.name).into_owned()),
            ("active_generation", t.schema.generation.to_string()),
            (
                "migration_source_generation",
                t.schema.migrating_from_generation.to_string(),
            ),
            ("stale_count", count.to_string()),
            ("hint", STALE_HINT.to_owned()),
        ],
    )
}

enum WriteError {
    Out(DumpError),
    Scratch(std::io::Error),
    /// Two items of one generation name this file (`<table dir>/items/<path>`).
    Clash(String),
}

impl From<DumpError> for WriteError {
    fn from(e: DumpError) -> Self {
        WriteError::Out(e)
    }
}

/// Write the winners of the path-sorted items: of the records of one path, the active
/// generation's (rank 1) over the migration source's (rank 0). Two records of one path and
/// one rank are two keys of one generation naming one file: an error, not a silent
/// overwrite (A29).
fn write_items(
    out: &mut dyn TreeOut,
    mut sorted: SortedRecords,
    options: &DynamoDbOptions,
) -> Result<(), WriteError> {
    // Keys are `<table dir> 00 <item path> 00 rank BE64(arrival)`: the path is all but 10
    // bytes, the rank the 9th from the end.
    let mut pending: Option<(Vec<u8>, u8, Vec<u8>)> = None; // (table dir 00 item path, rank, body)
    let mut bundle = Bundle::default();
    let path_of = |k: &[u8]| -> Vec<u8> { k.get(..k.len().saturating_sub(10)).unwrap_or_default().to_vec() };
    let rank_of = |k: &[u8]| {
        k.len()
            .checked_sub(9)
            .and_then(|i| k.get(i))
            .copied()
            .unwrap_or(0)
    };
    loop {
        let next = sorted.next().map_err(WriteError::Scratch)?;
        match (&mut pending, next) {
            (Some((p, rank, body)), Some((k, v))) if *p == path_of(k) => {
                if rank_of(k) == *rank {
                    let (dir, rel) = split_path(p);
                    return Err(WriteError::Clash(format!("{dir}/items/{rel}")));
                }
                *rank = rank_of(k);
                body.clear();
                body.extend_from_slice(v);
            }
            (_, next) => {
                if let Some((p, _, body)) = pending.take() {
                    let (dir, rel) = split_path(&p);
                    match options.layout {
                        DynamoDbLayout::PerItem => out.write_file(&format!("{dir}/items/{rel}"), &body)?,
                        DynamoDbLayout::Jsonl => bundle.push(out, dir, &body, options.bundle_size)?,
                    }
                }
                match next {
                    Some((k, v)) => pending = Some((path_of(k), rank_of(k), v.to_vec())),
                    None => break,
                }
            }
        }
    }
    bundle.close(out)?;
    Ok(())
}

fn split_path(p: &[u8]) -> (&str, &str) {
    let text = std::str::from_utf8(p).unwrap_or_default();
    text.split_once('\0').unwrap_or((text, ""))
}

/// The jsonl part being written: its table directory, file, size and number.
#[derive(Default)]
struct Bundle {
    dir: String,
    file: Option<OutFile>,
    size: u64,
    part: u64,
}

/// The name of a bundle part.
pub fn part_name(part: u64) -> String {
    format!("data-{part:05}.jsonl")
}

impl Bundle {
    fn push(&mut self, out: &mut dyn TreeOut, dir: &str, line: &[u8], limit: u64) -> Result<(), DumpError> {
        let len = line.len() as u64;
        if self.dir != dir {
            self.close(out)?;
            self.dir = dir.to_owned();
            self.part = 0;
        } else if self.file.is_some() && self.size + len > limit {
            self.close(out)?;
            self.part += 1;
        }
        if self.file.is_none() {
            let rel = format!("{}/items/{}", self.dir, part_name(self.part));
            self.file = Some(out.create_file(&rel)?);
            self.size = 0;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(line).map_err(|e| DumpError::io(&self.dir, e))?;
        }
        self.size += len;
        Ok(())
    }

    fn close(&mut self, out: &mut dyn TreeOut) -> Result<(), DumpError> {
        match self.file.take() {
            Some(f) => out.finish_file(f),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
