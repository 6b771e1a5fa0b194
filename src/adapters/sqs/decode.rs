//! Records → `sqs/` tree (dynamodb_sqs.md §2.4, §3.1; DECISIONS.md D1, D5).
//!
//! Queue meta arrives after its messages (`msg|…` sorts before `queue|…`), so nothing can be
//! written until every record is in. Per queue the decoder keeps only a few counters
//! ([`Queue`]); each message becomes its finished `messages.jsonl` line at once and goes,
//! with its sort key, into one [`ExternalSorter`] together with the side records (when
//! `--include-sqs-side-records` asks for them). The sort key is
//! `queue ‖ kind ‖ (send time, sequence, message id, arrival)` for messages and
//! `queue ‖ kind ‖ arrival` for side records, so [`SqsDecoder::finalize_into`] walks the
//! queues in byte order of their key segment and writes each queue's files in one pass:
//! memory does not grow with the messages of a queue.
//!
//! Messages and side records are staged as they come (with their arrival number) and
//! rendered a batch of [`BATCH_BYTES`] at a time on worker threads
//! ([`map_in_order`]), their results pushed into the sorter in staged order, while the
//! stream goes on staging the next batch: one batch is rendered in the background at a
//! time. The first error of a batch is the first in staged order, so it is the sequential
//! one for any thread count; it is reported when the next batch is handed over, when a
//! record handled at once fails (the staged records came first), at
//! [`Decoder::settle`] (the stream stopped with an error) or at finalize.
//!
//! Differences from Go, all deliberate: records are the newest live version of each key
//! (D1), queues are finished in a fixed order (Go: map order), `!sqs|queue|seq|` counters
//! are dumped as side records instead of failing the decode (D5).

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;
use std::thread::JoinHandle;

use super::keys::{self, KeyError, Kind, Lane, SegmentName};
use super::values::{side_record_line, Message, QueueMeta, ValueError};
use super::SqsOptions;
use crate::adapters::batch::default_threads;
use crate::adapters::{AdapterError, Cause, DecodeContext, Decoder, Event, Record, Warning, Warnings};
use crate::dump::filename::encode_segment;
use crate::dump::{OutFile, TreeOut};
use crate::ordered::map_in_order;
use crate::spill::ExternalSorter;

/// Memory the message sorter may hold before spilling to scratch.
pub const SORT_BUDGET: usize = 32 << 20;

/// Staged bytes (keys and values) handed to the workers at once.
pub const BATCH_BYTES: usize = 4 << 20;

/// Staged records one worker job renders.
const RENDER_CHUNK: usize = 32;

/// Rendered bytes held back for the consumer at most (about; see [`map_in_order`]).
const RENDER_WINDOW: usize = 2 << 20;

const ADAPTER: &str = "sqs";
const SCRATCH: &str = "sqs decoder spill file (scratch)";
const TAG_MESSAGE: u8 = 0;
const TAG_SIDE: u8 = 1;

const HINT_ORPHAN: &str =
    "no !sqs|queue|meta record matched this encoded prefix; messages dropped from the dump";
const HINT_STALE: &str =
    "messages with mismatched queue_generation suppressed; reaper had not finished cleanup at snapshot time";

/// The SQS decoder's warnings (Go's log events, §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqsEvent {
    OrphanMessages,
    StaleGenerationMessagesDropped,
}

impl Event for SqsEvent {
    fn name(self) -> &'static str {
        match self {
            SqsEvent::OrphanMessages => "sqs_orphan_messages",
            SqsEvent::StaleGenerationMessagesDropped => "sqs_stale_generation_messages_dropped",
        }
    }
}

/// Why a live SQS record cannot be decoded (besides its key's layout, [`KeyError`]); the
/// `source` of [`AdapterError::BadRecord`] with the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A route tag that is no SQS [`Kind`].
    #[error("unknown SQS route tag {tag}")]
    Tag {
        /// The tag.
        tag: u8,
    },
    /// The key does not start with its route's prefix.
    #[error("key does not start with {prefix:?}")]
    Prefix {
        /// The route prefix (printable).
        prefix: String,
    },
    /// A queue-generation value that is not a decimal `u64`.
    #[error("generation counter {text:?} is not a decimal u64")]
    Generation {
        /// The value, trimmed (U+FFFD if not UTF-8).
        text: String,
    },
    /// A queue-meta value without its magic.
    #[error("queue meta value without the 00 'S' 'Q' 01 magic")]
    MetaMagic,
    /// A message value without its magic.
    #[error("message value without the 00 'S' 'M' 01 magic")]
    MessageMagic,
    /// A queue-meta value whose JSON is not a queue meta.
    #[error("queue meta: {0}")]
    QueueMeta(ValueError),
    /// A message value whose JSON is not a message.
    #[error("message: {0}")]
    Message(ValueError),
}

/// What the decoder knows about one key segment (`b64u(queue name)`).
#[derive(Debug, Default)]
struct Queue {
    /// The name decoded from the key (raw bytes, as Go names the directory with them) and
    /// the attributes, from the meta record.
    meta: Option<(Vec<u8>, QueueMeta)>,
    /// The generation counter (0 = not seen: no filtering).
    active_gen: u64,
    messages: u64,
    side_records: u64,
}

/// The SQS decoder.
pub struct SqsDecoder {
    options: SqsOptions,
    threads: usize,
    batch_bytes: usize,
    queues: BTreeMap<Vec<u8>, Queue>,
    arrival: u64,
    /// The records being staged.
    staging: Batch,
    /// The sink, when no batch is being rendered (then `rendering` holds it).
    sink: Option<Sink>,
    rendering: Option<JoinHandle<Rendering>>,
    /// The buffers of the batch rendered last, cleared: the next staging buffers.
    spare: Batch,
}

/// One staged record: its kind, arrival number, and key and value in [`Batch::bytes`].
#[derive(Debug, Clone, Copy)]
struct Staged {
    kind: Kind,
    arrival: u64,
    at: usize,
    key_len: usize,
    value_len: usize,
}

/// Staged records, keys and values back to back.
#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    records: Vec<Staged>,
}

impl Batch {
    fn key_value(&self, r: &Staged) -> (&[u8], &[u8]) {
        let key = self.bytes.get(r.at..r.at + r.key_len).unwrap_or_default();
        let end = r.at + r.key_len + r.value_len;
        let value = self.bytes.get(r.at + r.key_len..end).unwrap_or_default();
        (key, value)
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
    }
}

/// A batch rendered in the background: the sink and the batch come back with the outcome.
type Rendering = (Sink, Batch, Result<(), AdapterError>);

/// Where rendered records go: the sorter, and per key segment the messages and side records
/// pushed.
struct Sink {
    scratch_dir: PathBuf,
    budget: usize,
    sorter: Option<ExternalSorter>,
    counts: BTreeMap<Vec<u8>, (u64, u64)>,
    /// Rendered buffers whose records were pushed, cleared, for the next jobs. They are kept
    /// from batch to batch: freeing them let the allocator hand their pages back to the
    /// system, and every batch faulted them in again (a tenth of the decode's CPU time).
    /// At most a window of rendered jobs, plus one per worker, is ever allocated.
    pool: Vec<Rendered>,
}

/// The rendered records of one job, their parts back to back in `bytes`.
#[derive(Default)]
struct Rendered {
    bytes: Vec<u8>,
    records: Vec<RenderedRecord>,
}

/// Where the parts of one rendered record lie in [`Rendered::bytes`].
struct RenderedRecord {
    key: Range<usize>,
    value: Range<usize>,
    seg: Range<usize>,
    is_message: bool,
}

/// `seg` made order-preserving and self-delimiting: `00` → `00 FF`, then `00 01`.
fn push_escaped(out: &mut Vec<u8>, seg: &[u8]) {
    for &b in seg {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

fn bad(key: &[u8], what: impl Into<Cause>) -> AdapterError {
    AdapterError::bad_record(ADAPTER, key, what)
}

impl SqsDecoder {
    /// A decoder with `options`, writing to `cx`'s scratch directory.
    pub fn new(options: &SqsOptions, cx: &DecodeContext) -> SqsDecoder {
        SqsDecoder {
            options: options.clone(),
            threads: default_threads(),
            batch_bytes: BATCH_BYTES,
            queues: BTreeMap::new(),
            arrival: 0,
            staging: Batch::default(),
            sink: Some(Sink {
                scratch_dir: cx.scratch_dir.clone(),
                budget: SORT_BUDGET,
                sorter: None,
                counts: BTreeMap::new(),
                pool: Vec::new(),
            }),
            rendering: None,
            spare: Batch::default(),
        }
    }

    /// A smaller sort budget (tests of the spilling path).
    pub fn with_budget(mut self, budget: usize) -> SqsDecoder {
        if let Some(sink) = self.sink.as_mut() {
            sink.budget = budget;
        }
        self
    }

    /// Render staged records on `n` worker threads (at least 1): the tree, the warnings
    /// and the first error are the same for any `n`.
    pub fn threads(mut self, n: usize) -> SqsDecoder {
        self.threads = n.max(1);
        self
    }

    /// Hand staged records over once they weigh `bytes` (tests of many batches).
    pub fn with_batch_bytes(mut self, bytes: usize) -> SqsDecoder {
        self.batch_bytes = bytes;
        self
    }

    /// Spilled runs so far (for tests of bounded memory; after [`Decoder::settle`]).
    pub fn spilled_runs(&self) -> usize {
        self.sink
            .as_ref()
            .and_then(|s| s.sorter.as_ref())
            .map_or(0, ExternalSorter::spilled_runs)
    }

    /// Wait for the batch being rendered, if any: its first error.
    fn join(&mut self) -> Result<(), AdapterError> {
        let Some(handle) = self.rendering.take() else {
            return Ok(());
        };
        let (sink, mut batch, outcome) = handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        // After an error nothing more is rendered or reported: that error was the first.
        if outcome.is_ok() {
            self.sink = Some(sink);
        }
        // Its buffers stage the batch after the one being staged.
        batch.clear();
        self.spare = batch;
        outcome
    }

    /// Hand the staged records to the background (after the previous batch is done).
    fn dispatch(&mut self) -> Result<(), AdapterError> {
        self.join()?;
        if self.staging.records.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.staging, std::mem::take(&mut self.spare));
        let Some(mut sink) = self.sink.take() else {
            return Ok(()); // an earlier batch failed: its error was reported
        };
        let (options, threads) = (self.options.clone(), self.threads);
        let spawned = std::thread::Builder::new()
            .name("sqs-render".into())
            .spawn(move || {
                let outcome = sink.render(&batch, &options, threads);
                (sink, batch, outcome)
            });
        match spawned {
            Ok(handle) => {
                self.rendering = Some(handle);
                Ok(())
            }
            Err(source) => Err(AdapterError::Io {
                path: PathBuf::from("sqs render thread"),
                source,
            }),
        }
    }

    /// Render everything staged: the first error of the staged records.
    fn flush(&mut self) -> Result<(), AdapterError> {
        self.dispatch()?;
        self.join()
    }

    /// `e` of a record handled at once, unless a staged record (which came first) failed.
    fn fail(&mut self, e: AdapterError) -> AdapterError {
        self.flush().err().unwrap_or(e)
    }

    /// Stage one record; hand the batch over once it holds `batch_bytes`, or before a record
    /// that would take it past them (a longer record is a batch of its own), so that its
    /// byte buffer, reserved once at that size and reused batch after batch, never grows.
    fn stage(&mut self, kind: Kind, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let len = key.len() + value.len();
        if !self.staging.records.is_empty() && self.staging.bytes.len() + len > self.batch_bytes {
            self.dispatch()?;
        }
        let b = &mut self.staging;
        if b.bytes.capacity() < self.batch_bytes.max(len) {
            b.bytes
                .reserve_exact(self.batch_bytes.max(len).saturating_sub(b.bytes.len()));
        }
        b.records.push(Staged {
            kind,
            arrival: self.arrival,
            at: b.bytes.len(),
            key_len: key.len(),
            value_len: value.len(),
        });
        self.arrival += 1;
        b.bytes.extend_from_slice(key);
        b.bytes.extend_from_slice(value);
        if b.bytes.len() >= self.batch_bytes {
            self.dispatch()?;
        }
        Ok(())
    }

    /// Route one live record by its kind.
    pub fn handle_kind(&mut self, kind: Kind, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let Some(rest) = key.strip_prefix(kind.prefix()) else {
            let e = bad(
                key,
                RecordError::Prefix {
                    prefix: String::from_utf8_lossy(kind.prefix()).into_owned(),
                },
            );
            return Err(self.fail(e));
        };
        match kind {
            Kind::QueueMeta => self.queue_meta(key, rest, value).map_err(|e| self.fail(e)),
            Kind::QueueGeneration => {
                // Go's strconv.ParseUint(TrimSpace(v), 10, 64): digits only (no sign).
                let text = std::str::from_utf8(value).unwrap_or("\u{FFFD}").trim();
                let gen: Option<u64> = text.parse().ok().filter(|_| !text.starts_with('+'));
                let Some(gen) = gen else {
                    let e = bad(
                        key,
                        RecordError::Generation {
                            text: text.to_owned(),
                        },
                    );
                    return Err(self.fail(e));
                };
                self.queues.entry(rest.to_vec()).or_default().active_gen = gen;
                Ok(())
            }
            Kind::MessageData => self.stage(kind, key, value),
            _ if !self.options.include_side_records => Ok(()),
            _ => self.stage(kind, key, value),
        }
    }

    fn queue_meta(&mut self, key: &[u8], seg: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let name =
            keys::decode_segment(seg).map_err(|e| bad(key, KeyError::segment(SegmentName::Queue)(e)))?;
        let json = value
            .strip_prefix(keys::META_MAGIC)
            .ok_or_else(|| bad(key, RecordError::MetaMagic))?;
        let mut meta = QueueMeta::from_stored(json).map_err(|e| bad(key, RecordError::QueueMeta(e)))?;
        if meta.name.is_empty() {
            meta.name = String::from_utf8_lossy(&name).into_owned();
        }
        self.queues.entry(seg.to_vec()).or_default().meta = Some((name, meta));
        Ok(())
    }

    /// Write every queue's files (after the last record).
    pub fn finalize_into(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
    ) -> Result<(), AdapterError> {
        self.flush()?;
        let Some(sink) = self.sink.take() else {
            return Ok(()); // a batch failed: its error was reported
        };
        for (seg, (messages, sides)) in sink.counts {
            let q = self.queues.entry(seg).or_default();
            q.messages += messages;
            q.side_records += sides;
        }
        let io = |source| AdapterError::Scratch {
            what: SCRATCH,
            source,
        };
        let mut sorted = match sink.sorter {
            Some(s) => Some(s.finish().map_err(io)?),
            None => None,
        };
        // The current record of the sorted stream, owned (it outlives one queue); its
        // buffers are reused.
        let mut current: Option<(Vec<u8>, Vec<u8>)> = None;
        let mut spare: (Vec<u8>, Vec<u8>) = Default::default();
        let mut advance = |cur: &mut Option<(Vec<u8>, Vec<u8>)>| -> Result<(), AdapterError> {
            let (mut k, mut v) = cur.take().unwrap_or_else(|| std::mem::take(&mut spare));
            if let Some((nk, nv)) = match sorted.as_mut() {
                Some(s) => s.next().map_err(io)?,
                None => None,
            } {
                k.clear();
                k.extend_from_slice(nk);
                v.clear();
                v.extend_from_slice(nv);
                *cur = Some((k, v));
            } else {
                spare = (k, v);
            }
            Ok(())
        };
        advance(&mut current)?;
        let queues = std::mem::take(&mut self.queues);
        let mut head = Vec::new();
        for (seg, q) in &queues {
            head.clear();
            push_escaped(&mut head, seg);
            let mut files = QueueFiles::new(seg, q, self.options.include_side_records);
            if let Some((name, meta)) = &q.meta {
                files.dir = format!("sqs/{}", encode_segment(name).name);
                out.write_file(&format!("{}/_queue.json", files.dir), &meta.public_json())?;
            } else {
                warnings.push(Warning::new(
                    SqsEvent::OrphanMessages,
                    vec![
                        ("encoded_queue", String::from_utf8_lossy(seg).into_owned()),
                        ("buffered_messages", q.messages.to_string()),
                        ("buffered_side_records", q.side_records.to_string()),
                        ("hint", HINT_ORPHAN.to_owned()),
                    ],
                ));
            }
            while let Some((k, v)) = current.as_ref().filter(|(k, _)| k.starts_with(&head)) {
                let tag = k.get(head.len()).copied();
                files.record(out, tag, v)?;
                advance(&mut current)?;
            }
            files.finish(out)?;
            if files.dropped > 0 {
                if let Some((name, _)) = &q.meta {
                    warnings.push(Warning::new(
                        SqsEvent::StaleGenerationMessagesDropped,
                        vec![
                            ("queue", String::from_utf8_lossy(name).into_owned()),
                            ("active_gen", q.active_gen.to_string()),
                            ("dropped", files.dropped.to_string()),
                            ("hint", HINT_STALE.to_owned()),
                        ],
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Sink {
    /// Render `batch` on `threads` workers and push the results in staged order.
    fn render(&mut self, batch: &Batch, options: &SqsOptions, threads: usize) -> Result<(), AdapterError> {
        let jobs: Vec<&[Staged]> = batch.records.chunks(RENDER_CHUNK).collect();
        let pool = std::sync::Mutex::new(std::mem::take(&mut self.pool));
        let give_back = |mut r: Rendered| {
            r.bytes.clear();
            r.records.clear();
            pool.lock().unwrap_or_else(|p| p.into_inner()).push(r);
        };
        let outcome = map_in_order(
            &jobs,
            threads,
            RENDER_WINDOW,
            |job| {
                let taken = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
                let mut r = taken.unwrap_or_default();
                for s in job.iter() {
                    let (key, value) = batch.key_value(s);
                    r.push(s, key, value, options)?;
                }
                Ok(r)
            },
            |r| r.bytes.len(),
            |r| {
                let taken = self.take(&r);
                give_back(r);
                taken
            },
        );
        self.pool = pool.into_inner().unwrap_or_else(|p| p.into_inner());
        outcome
    }

    /// Push one job's rendered records.
    fn take(&mut self, r: &Rendered) -> Result<(), AdapterError> {
        let (budget, dir) = (self.budget, &self.scratch_dir);
        let sorter = self
            .sorter
            .get_or_insert_with(|| ExternalSorter::new(budget, dir));
        for rec in &r.records {
            let part = |range: &Range<usize>| r.bytes.get(range.clone()).unwrap_or_default();
            sorter
                .push(part(&rec.key), part(&rec.value))
                .map_err(|source| AdapterError::Scratch {
                    what: SCRATCH,
                    source,
                })?;
            let seg = part(&rec.seg);
            let counts = match self.counts.get_mut(seg) {
                Some(c) => c,
                None => self.counts.entry(seg.to_vec()).or_default(),
            };
            if rec.is_message {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
        Ok(())
    }
}

impl Rendered {
    /// Render one staged record: its sort key, its sorted value and its key segment.
    fn push(
        &mut self,
        s: &Staged,
        key: &[u8],
        value: &[u8],
        options: &SqsOptions,
    ) -> Result<(), AdapterError> {
        let rest = key.get(s.kind.prefix().len()..).unwrap_or_default();
        let start = self.bytes.len();
        let out = &mut self.bytes;
        let (seg, key_end) = match s.kind {
            Kind::MessageData => message(out, s.arrival, key, rest, value, options)?,
            kind => {
                let seg = if kind == Kind::QueueSequence {
                    keys::parse_seq_key(rest)
                } else {
                    keys::parse_side_key(rest)
                }
                .map_err(|e| bad(key, e))?;
                push_escaped(out, seg);
                out.push(TAG_SIDE);
                out.extend_from_slice(&s.arrival.to_be_bytes());
                let key_end = out.len();
                out.extend_from_slice(&side_record_line(kind.prefix(), key, value));
                (seg, key_end)
            }
        };
        let value_end = self.bytes.len();
        self.bytes.extend_from_slice(seg);
        self.records.push(RenderedRecord {
            key: start..key_end,
            value: key_end..value_end,
            seg: value_end..self.bytes.len(),
            is_message: s.kind == Kind::MessageData,
        });
        Ok(())
    }
}

/// Append a message's sort key and sorted value (generation ‖ `messages.jsonl` line) to
/// `out`: its key segment and where the sort key ends.
fn message<'k>(
    out: &mut Vec<u8>,
    arrival: u64,
    key: &[u8],
    rest: &'k [u8],
    value: &[u8],
    options: &SqsOptions,
) -> Result<(&'k [u8], usize), AdapterError> {
    let (seg, lane) = keys::parse_data_key(rest).map_err(|e| bad(key, e))?;
    let json = value
        .strip_prefix(keys::MSG_MAGIC)
        .ok_or_else(|| bad(key, RecordError::MessageMagic))?;
    let mut m = Message::from_stored(json).map_err(|e| bad(key, RecordError::Message(e)))?;
    if !options.preserve_visibility {
        m.visible_at_millis = 0;
        m.current_receipt_token = None;
        m.receive_count = 0;
        m.first_receive_millis = 0;
    }
    if let Lane::Partition(p) = lane {
        m.partition = Some(p);
    }
    push_escaped(out, seg);
    out.push(TAG_MESSAGE);
    // Signed send time in sortable form.
    let send = (m.send_timestamp_millis as u64) ^ (1 << 63);
    out.extend_from_slice(&send.to_be_bytes());
    out.extend_from_slice(&m.sequence_number.to_be_bytes());
    push_escaped(out, m.message_id.as_bytes());
    out.extend_from_slice(&arrival.to_be_bytes());
    let key_end = out.len();
    out.extend_from_slice(&m.queue_generation.to_be_bytes());
    m.write_dump_line(out);
    Ok((seg, key_end))
}

/// The files of one queue being written.
struct QueueFiles {
    dir: String,
    has_meta: bool,
    active_gen: u64,
    orphan_dir: String,
    include_side_records: bool,
    messages: Option<OutFile>,
    sides: Option<OutFile>,
    dropped: u64,
}

impl QueueFiles {
    fn new(seg: &[u8], q: &Queue, include_side_records: bool) -> Self {
        QueueFiles {
            dir: String::new(),
            has_meta: q.meta.is_some(),
            active_gen: q.active_gen,
            orphan_dir: format!("sqs/{}.orphan", String::from_utf8_lossy(seg)),
            include_side_records,
            messages: None,
            sides: None,
            dropped: 0,
        }
    }

    fn record(&mut self, out: &mut dyn TreeOut, tag: Option<u8>, value: &[u8]) -> Result<(), AdapterError> {
        match tag {
            Some(TAG_MESSAGE) => {
                if !self.has_meta {
                    return Ok(()); // orphan messages are dropped
                }
                let (gen, line) = value.split_at(8.min(value.len()));
                let gen = u64::from_be_bytes(gen.try_into().unwrap_or([0; 8]));
                if self.active_gen != 0 && gen != self.active_gen {
                    self.dropped += 1;
                    return Ok(());
                }
                if self.messages.is_none() {
                    self.messages = Some(out.create_file(&format!("{}/messages.jsonl", self.dir))?);
                }
                write(self.messages.as_mut(), line, &self.dir)
            }
            _ => {
                if !self.include_side_records {
                    return Ok(());
                }
                if let Some(f) = self.messages.take() {
                    out.finish_file(f)?;
                }
                if self.sides.is_none() {
                    let dir = if self.has_meta {
                        &self.dir
                    } else {
                        &self.orphan_dir
                    };
                    self.sides = Some(out.create_file(&format!("{dir}/_internals/side_records.jsonl"))?);
                }
                write(self.sides.as_mut(), value, &self.dir)
            }
        }
    }

    fn finish(&mut self, out: &mut dyn TreeOut) -> Result<(), AdapterError> {
        for f in [self.messages.take(), self.sides.take()].into_iter().flatten() {
            out.finish_file(f)?;
        }
        Ok(())
    }
}

fn write(file: Option<&mut OutFile>, bytes: &[u8], dir: &str) -> Result<(), AdapterError> {
    match file {
        Some(f) => f.write_all(bytes).map_err(|source| AdapterError::Io {
            path: PathBuf::from(dir),
            source,
        }),
        None => Ok(()),
    }
}

impl Decoder for SqsDecoder {
    fn handle(
        &mut self,
        _out: &mut dyn TreeOut,
        _warnings: &mut Warnings,
        record: &Record<'_>,
    ) -> Result<(), AdapterError> {
        match Kind::from_tag(record.tag) {
            Some(kind) => self.handle_kind(kind, record.user_key, record.value),
            None => Err(self.fail(bad(record.user_key, RecordError::Tag { tag: record.tag }))),
        }
    }

    fn finalize(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings) -> Result<(), AdapterError> {
        self.finalize_into(out, warnings)
    }

    fn settle(&mut self) -> Result<(), AdapterError> {
        self.flush()
    }
}

#[cfg(test)]
mod tests;
