//! `dynamodb/<table>/` → DynamoDB records (dynamodb_sqs.md §1.9, D7, D12).
//!
//! Per table directory: `_schema.json` gives the schema record (generation 1, ordered key
//! encoding 2) and the generation counter `"1"`; every item gives its item record (ordered
//! key of §1.4) and one GSI row per index whose key attributes it has. Files are read with
//! the context's `TreeReader` (no symlink, regular, one link, size-checked, verified against
//! CHECKSUMS) on the context's worker threads
//! ([`encode_files`]), in sorted path order, so the records and the first error do not
//! depend on the thread count.
//!
//! Item files: `items/<h>.json` and `items/<h>/<r>.json` (any `.json` name; the key comes
//! from the content); a deeper directory is an error; other regular files are skipped as Go
//! skips them; symlinks and special files are refused (D12). One check beyond Go (A27): the
//! directory an item file sits in must be the one the decoder writes it to. With the jsonl
//! layout (D7) the `items/*.jsonl` parts are read too, one `{"Item":{…}}` per line, in any
//! line order; a part is streamed in pieces ([`DynamoDbEncoder::encode_bundle`]), never read
//! whole.
//!
//! Memory does not grow with the number of items: directories are listed through
//! `dump::walk::SortedEntries`, the whole listing of `items/` is checked first and the
//! files to read spooled through the external sorter, then read [`FILES_PER_ROUND`] at a
//! time.

use std::path::{Path, PathBuf};

use super::decode::item_rel_path;
use super::keys::{
    gsi_rows, item_key, primary_key_segments, table_gen_key, table_meta_key, ItemKeyError, RESTORE_GENERATION,
};
use super::proto::{item_value, schema_value, Item, TableSchema};
use super::public::{item_from_bundle_line, item_from_json, plain_item, schema_from_json, ItemJsonError};
use super::{DynamoDbLayout, DynamoDbOptions};
use crate::adapters::batch::ENCODE_WINDOW;
use crate::adapters::{
    display_key, encode_files, AdapterError, Cause, EncodeContext, Encoder, RecordBatch, RecordSink,
};
use crate::dump::checksums::{StreamedInput, TreeReader, MAX_JSON_FILE};
use crate::dump::filename::encode_segment;
use crate::dump::fs::{list_dir, DirEntry, EntryKind};
use crate::dump::json::{parse_one, parse_seq_at};
use crate::dump::walk::{SortedEntries, FILES_PER_ROUND, LISTING_SORT_BUDGET};
use crate::ordered::map_in_order;
use crate::spill::{ExternalSorter, SortedRecords};

/// Tree → records for the DynamoDB adapter.
#[derive(Debug)]
pub struct DynamoDbEncoder {
    layout: DynamoDbLayout,
    threads: usize,
    /// Reads the tree's files, checked against CHECKSUMS (D15).
    reader: TreeReader,
    scratch_dir: PathBuf,
    /// Memory budget of each directory listing and of a table's list of files
    /// ([`LISTING_SORT_BUDGET`]; smaller in tests).
    listing_budget: usize,
    /// Files read per round ([`FILES_PER_ROUND`]; smaller in tests).
    per_round: usize,
}

impl DynamoDbEncoder {
    /// An encoder with `options` and `cx`'s scratch directory and thread count.
    pub fn new(options: &DynamoDbOptions, cx: &EncodeContext) -> DynamoDbEncoder {
        DynamoDbEncoder {
            layout: options.layout,
            threads: cx.threads.max(1),
            reader: cx.reader.clone(),
            scratch_dir: cx.scratch_dir.clone(),
            listing_budget: LISTING_SORT_BUDGET,
            per_round: FILES_PER_ROUND,
        }
    }
}

fn bad_file(path: &Path, what: impl Into<Cause>) -> AdapterError {
    AdapterError::bad_file(path, what)
}

/// A malformed item of a jsonl bundle part, with its 1-based number in the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleItemError {
    /// The line is not an item's JSON.
    #[error("item {item}: {error}")]
    Json {
        /// The item's number in the part.
        item: usize,
        /// What is wrong with it.
        error: ItemJsonError,
    },
    /// The item's key attributes give no key.
    #[error("item {item}: {error}")]
    Key {
        /// The item's number in the part.
        item: usize,
        /// What is wrong with them.
        error: ItemKeyError,
    },
}

/// One file to read: an item file (with the directory under `items/` it sits in) or a
/// jsonl part.
enum Job {
    Item { path: PathBuf, dir: Option<String> },
    Bundle { path: PathBuf },
}

/// A table's files to read, in walk order, spooled through the external sorter (keyed by
/// their position) so that memory does not grow with the number of items: each a tag byte
/// (`i` item file in `items/`, `d` item file in a subdirectory, `b` jsonl part) and the path
/// under `items/`.
struct JobSpool {
    sorter: ExternalSorter,
    items: PathBuf,
}

impl JobSpool {
    fn push(&mut self, tag: u8, rel: &str) -> Result<(), AdapterError> {
        let mut value = Vec::with_capacity(1 + rel.len());
        value.push(tag);
        value.extend_from_slice(rel.as_bytes());
        self.sorter
            .push(&self.sorter.len().to_be_bytes(), &value)
            .map_err(|source| AdapterError::Io {
                path: self.items.clone(),
                source,
            })
    }
}

/// The job a spooled record stands for.
fn job_of(items: &Path, value: &[u8]) -> Job {
    let (tag, rel) = value.split_first().unwrap_or((&b'i', &[]));
    // Pushed from a `&str` in `JobSpool::push`.
    let rel = String::from_utf8_lossy(rel);
    let path = items.join(rel.as_ref());
    match tag {
        b'b' => Job::Bundle { path },
        b'd' => Job::Item {
            path,
            dir: rel.split_once('/').map(|(d, _)| d.to_owned()),
        },
        _ => Job::Item { path, dir: None },
    }
}

fn refuse_special(e: &DirEntry) -> Result<(), AdapterError> {
    match e.kind {
        EntryKind::Symlink => Err(bad_file(&e.path, "is a symbolic link (refused, D12)")),
        EntryKind::Other => Err(bad_file(
            &e.path,
            "is not a regular file or directory (refused, D12)",
        )),
        EntryKind::File | EntryKind::Dir => Ok(()),
    }
}

fn name_of(e: &DirEntry) -> Result<&str, AdapterError> {
    e.name
        .to_str()
        .ok_or_else(|| bad_file(&e.path, "file name is not valid UTF-8"))
}

struct Table {
    name: String,
    schema: TableSchema,
}

impl DynamoDbEncoder {
    fn read_schema(&self, dir: &Path, dir_name: &str) -> Result<Table, AdapterError> {
        let path = dir.join("_schema.json");
        let bytes = self.reader.read(&path, MAX_JSON_FILE)?;
        let schema = schema_from_json(&bytes, &path).map_err(|e| bad_file(&path, e))?;
        let name = schema.table_name.clone();
        if name.is_empty() {
            return Err(bad_file(&path, "empty table_name"));
        }
        let want = encode_segment(name.as_bytes()).name;
        if want != dir_name {
            return Err(bad_file(
                &path,
                format!("table_name {name:?} encodes to dir {want:?}, not {dir_name:?}"),
            ));
        }
        if schema.hash_key().is_empty() {
            return Err(bad_file(&path, "empty primary hash key"));
        }
        Ok(Table { name, schema })
    }

    /// Check the whole `items/` listing (in sorted name order, as `list_dir` gives it) and
    /// spool the files to read, before any of them is read.
    fn jobs(&self, items: &Path) -> Result<SortedRecords, AdapterError> {
        let mut spool = JobSpool {
            sorter: ExternalSorter::new(self.listing_budget, &self.scratch_dir),
            items: items.to_path_buf(),
        };
        let list = |dir: &Path| SortedEntries::list(dir, self.listing_budget, &self.scratch_dir);
        if let Some(mut entries) = list(items)? {
            while let Some(e) = entries.next()? {
                refuse_special(&e)?;
                let name = name_of(&e)?;
                if e.kind == EntryKind::Dir {
                    let Some(mut files) = list(&e.path)? else {
                        continue;
                    };
                    while let Some(f) = files.next()? {
                        refuse_special(&f)?;
                        if f.kind == EntryKind::Dir {
                            return Err(bad_file(
                                &f.path,
                                "unexpected nested directory (items layout is at most 2 levels)",
                            ));
                        }
                        let file = name_of(&f)?;
                        if file.ends_with(".json") {
                            spool.push(b'd', &format!("{name}/{file}"))?;
                        }
                    }
                } else if name.ends_with(".json") {
                    spool.push(b'i', name)?;
                } else if name.ends_with(".jsonl") && self.layout == DynamoDbLayout::Jsonl {
                    spool.push(b'b', name)?;
                }
            }
        }
        spool.sorter.finish().map_err(|source| AdapterError::Io {
            path: items.to_path_buf(),
            source,
        })
    }

    fn encode_table(
        &self,
        dir: &Path,
        dir_name: &str,
        sink: &mut dyn RecordSink,
    ) -> Result<(), AdapterError> {
        let table = self.read_schema(dir, dir_name)?;
        let schema_path = dir.join("_schema.json");
        let sink_err = |key: &[u8], source| AdapterError::Sink {
            path: schema_path.clone(),
            key: display_key(key),
            source,
        };
        let meta = table_meta_key(&table.name);
        sink.add(&meta, &schema_value(&table.schema))
            .map_err(|e| sink_err(&meta, e))?;
        let gen = table_gen_key(&table.name);
        sink.add(&gen, RESTORE_GENERATION.to_string().as_bytes())
            .map_err(|e| sink_err(&gen, e))?;
        let items = dir.join("items");
        match std::fs::symlink_metadata(&items) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(AdapterError::Io {
                    path: items,
                    source: e,
                })
            }
            Ok(m) if !m.is_dir() => return Err(bad_file(&items, "is not a directory")),
            Ok(_) => {}
        }
        let mut spooled = self.jobs(&items)?;
        let mut round = Vec::new();
        loop {
            round.clear();
            while round.len() < self.per_round.max(1) {
                let next = spooled.next().map_err(|source| AdapterError::Io {
                    path: items.clone(),
                    source,
                })?;
                let Some((_, value)) = next else {
                    break;
                };
                round.push(job_of(&items, value));
            }
            if round.is_empty() {
                return Ok(());
            }
            // Runs of item files go through `encode_files`; a jsonl part is streamed.
            let mut rest = round.as_slice();
            while !rest.is_empty() {
                let files = rest.iter().take_while(|j| matches!(j, Job::Item { .. })).count();
                let (items, tail) = rest.split_at(files);
                encode_files(
                    items,
                    self.threads,
                    |job| encode_job(&self.reader, &table, job),
                    sink,
                )?;
                if let Some((Job::Bundle { path }, tail)) = tail.split_first() {
                    self.encode_bundle(&table, path, sink)?;
                    rest = tail;
                } else {
                    rest = tail;
                }
            }
        }
    }

    /// A jsonl part, read in pieces of about [`BUNDLE_PIECE`] bytes cut between two items
    /// (at a `}` `\n` `{`, which no single JSON value holds: a raw newline cannot be in a
    /// string, and values inside a container are separated by `,` or `:`), parsed on the
    /// worker threads and replayed in order. Memory does not grow with the part. A part
    /// that does not match CHECKSUMS is reported as such whatever else is wrong with it.
    fn encode_bundle(
        &self,
        table: &Table,
        path: &Path,
        sink: &mut dyn RecordSink,
    ) -> Result<(), AdapterError> {
        let mut input = self.reader.open(path, MAX_JSON_FILE)?;
        let result = self.encode_bundle_pieces(table, &mut input, sink);
        self.reader.finish(input)?;
        result
    }

    fn encode_bundle_pieces(
        &self,
        table: &Table,
        input: &mut StreamedInput,
        sink: &mut dyn RecordSink,
    ) -> Result<(), AdapterError> {
        let path = input.path().to_path_buf();
        // Parse a piece after `values` values and `lines` lines of the part: its records and
        // how many values and lines it holds.
        let run = |piece: &[u8],
                   values: usize,
                   lines: usize|
         -> Result<(RecordBatch, usize, usize), AdapterError> {
            let mut batch = RecordBatch::new(&path);
            let mut n = 0;
            for value in parse_seq_at(piece, values, lines) {
                n += 1;
                let item = values + n;
                let parsed = item_from_bundle_line(&value.map_err(|e| bad_file(&path, e))?)
                    .map_err(|error| bad_file(&path, BundleItemError::Json { item, error }))?;
                add_item(table, &parsed, &mut batch)
                    .map_err(|error| bad_file(&path, BundleItemError::Key { item, error }))?;
            }
            Ok((batch, n, piece.iter().filter(|&&b| b == b'\n').count()))
        };
        let mut pending: Vec<u8> = Vec::new();
        let mut block = vec![0u8; BUNDLE_PIECE];
        let (mut values, mut lines) = (0usize, 0usize);
        let mut eof = false;
        while !eof {
            let mut pieces: Vec<Vec<u8>> = Vec::new();
            let mut batch_bytes = 0;
            while batch_bytes < BUNDLE_BATCH && !eof {
                let n = input.read(&mut block)?;
                eof = n == 0;
                pending.extend_from_slice(block.get(..n).unwrap_or_default());
                let cut = if eof {
                    pending.len()
                } else {
                    last_item_boundary(&pending)
                };
                if cut == 0 {
                    continue;
                }
                let rest = pending.split_off(cut);
                let piece = std::mem::replace(&mut pending, rest);
                batch_bytes += piece.len();
                pieces.push(piece);
            }
            let jobs: Vec<(usize, &[u8])> = pieces.iter().map(Vec::as_slice).enumerate().collect();
            // Workers number values and lines from the piece's start; the piece whose parse
            // fails is parsed again in order with the part's numbers, for the error.
            map_in_order(
                &jobs,
                self.threads,
                ENCODE_WINDOW,
                |&(i, piece)| Ok::<_, AdapterError>((i, run(piece, 0, 0).ok())),
                |(_, done)| done.as_ref().map_or(0, |(b, _, _)| b.weight()),
                |(i, done)| match done {
                    Some((batch, n, l)) => {
                        values += n;
                        lines += l;
                        batch.replay(sink)
                    }
                    None => {
                        let piece = jobs.get(i).map_or(&[][..], |(_, p)| *p);
                        match run(piece, values, lines) {
                            Err(e) => Err(e),
                            Ok(_) => Err(bad_file(&path, "a jsonl piece parsed differently twice")),
                        }
                    }
                },
            )?;
        }
        Ok(())
    }
}

/// Bytes read from a jsonl part at a time, and the size a piece is cut at.
const BUNDLE_PIECE: usize = 1 << 20;
/// Bytes of a part parsed per batch of pieces.
const BUNDLE_BATCH: usize = 8 << 20;

/// Where the last `}` `\n` `{` of `bytes` ends its newline (0 when there is none).
fn last_item_boundary(bytes: &[u8]) -> usize {
    bytes.windows(3).rposition(|w| w == b"}\n{").map_or(0, |i| i + 2)
}

/// The records of one item: the item and its GSI rows.
fn add_item(table: &Table, item: &Item, batch: &mut RecordBatch) -> Result<(), ItemKeyError> {
    let pk = primary_key_segments(&table.schema, item)?;
    let key = item_key(&table.name, RESTORE_GENERATION, &pk);
    let rows = gsi_rows(&table.name, RESTORE_GENERATION, &table.schema, item, &pk)?;
    // A RecordBatch never refuses; the real sink's refusals surface on replay.
    let _ = batch.add(&key, &item_value(item));
    for row in rows {
        let _ = batch.add(&row, &key);
    }
    Ok(())
}

fn encode_job(reader: &TreeReader, table: &Table, job: &Job) -> Result<RecordBatch, AdapterError> {
    match job {
        Job::Item { path, dir } => {
            let bytes = reader.read(path, MAX_JSON_FILE)?;
            let item = match plain_item(&bytes) {
                Some(item) => item,
                None => {
                    let value = parse_one(&bytes, true).map_err(|e| bad_file(path, e))?;
                    item_from_json(&value).map_err(|e| bad_file(path, e))?
                }
            };
            let mut batch = RecordBatch::new(path);
            add_item(table, &item, &mut batch).map_err(|e| bad_file(path, e))?;
            let rel = item_rel_path(&table.schema, &item).map_err(|e| bad_file(path, e))?;
            let want = rel.rsplit_once('/').map(|(d, _)| d);
            if want != dir.as_deref() {
                return Err(bad_file(
                    path,
                    format!(
                        "item belongs in items/{} (its key), not in items/{} (A27)",
                        want.map_or(String::new(), |d| format!("{d}/")),
                        dir.as_deref().map_or(String::new(), |d| format!("{d}/"))
                    ),
                ));
            }
            Ok(batch)
        }
        // Streamed by `encode_bundle`, never a job of `encode_files`.
        Job::Bundle { path } => Err(bad_file(path, "a jsonl part is not read whole")),
    }
}

impl Encoder for DynamoDbEncoder {
    fn encode(&mut self, root: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        let dir = root.join("dynamodb");
        let Some(entries) = list_dir(&dir)? else {
            return Ok(());
        };
        for e in entries {
            refuse_special(&e)?;
            if e.kind == EntryKind::Dir {
                let name = name_of(&e)?.to_owned();
                self.encode_table(&e.path, &name, sink)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
