//! `sqs/` tree → records (dynamodb_sqs.md §2.5).
//!
//! Every directory under `sqs/` is a queue (its name is not checked; files there are
//! ignored, links and special files refused, D12). Per queue: `_queue.json` is read and
//! validated, then its meta and generation counter are emitted; `messages.jsonl` (optional)
//! is read one JSON object at a time, a batch of [`BUILD_BATCH`] bytes of objects is parsed
//! on worker threads ([`map_in_order`]), and each message emits its data, visibility and
//! send-age records, in file order. The FIFO dedup candidates (one small entry per message with a
//! dedup id) are spilled through the external sorter keyed by their dedup row's key and
//! folded to Go's winners at the end of the queue; only the largest sequence number is held
//! besides, so memory does not grow with the messages. `_internals/` is never read.
//!
//! Queues are read one after the other, not with `adapters::batch::encode_files`: its unit
//! of work is a file whose records are collected whole in memory, and a queue is one file
//! (`messages.jsonl`) of any size. The listing of `sqs/` (one entry per queue) stays a
//! `list_dir`.
//!
//! Restored state follows Go: generation 1 everywhere, visibility reset (the vis row at
//! `available_at_millis`), no group locks, no tombstones, the dedup window restarting from
//! the original send time.

use std::io::BufReader;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::keys::{self, Lane, RESTORE_GENERATION};
use super::rawjson::{ObjectReader, ReadError, SyntaxError};
use super::values::{dedup_value, Message, QueueMeta, ValueError};
use crate::adapters::{display_key, AdapterError, EncodeContext, Encoder, RecordBatch, RecordSink};
use crate::dump::checksums::{TreeReader, MAX_JSON_FILE};
use crate::dump::fs::{list_dir, open_input, EntryKind};
use crate::ordered::map_in_order;
use crate::spill::ExternalSorter;

/// Memory budget of one queue's dedup candidates before they spill to the scratch directory.
pub const DEDUP_SORT_BUDGET: usize = 8 << 20;

/// The largest `messages.jsonl` object accepted (a message is at most 256 KiB of body in
/// SQS; base64 and attributes stay far below this).
pub const MAX_MESSAGE_JSON: usize = 64 << 20;

/// Bytes of `messages.jsonl` objects handed to the workers at once (one object may exceed it).
const BUILD_BATCH: usize = 4 << 20;

/// Objects one worker job builds.
const BUILD_CHUNK: usize = 32;

/// Built records held back for the sink at most (about; see [`map_in_order`]).
const BUILD_WINDOW: usize = 16 << 20;

/// Why a file of an `sqs/` tree cannot be encoded; the `source` of
/// [`AdapterError::BadFile`] with the path. The messages are the encoder's error text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SqsFileError {
    /// `_queue.json` does not hold a valid queue.
    #[error("invalid _queue.json: {0}")]
    Queue(QueueError),
    /// A line of `messages.jsonl` does not hold a valid message.
    #[error("invalid messages.jsonl: line {line}: {error}")]
    Message {
        /// The 1-based line the message starts on.
        line: u64,
        /// What is wrong with it.
        error: MessageError,
    },
    /// An entry of `sqs/` that is a symlink or a special file (D12).
    #[error("not a directory or regular file (refused, D12)")]
    Special,
}

/// What is wrong with a `_queue.json` (§2.5, checks 1-6).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueueError {
    /// Not the JSON of a queue.
    #[error("{0}")]
    Parse(ValueError),
    /// A format version other than 1.
    #[error("unsupported format_version {0}")]
    FormatVersion(u32),
    /// `name` is empty.
    #[error("empty queue name")]
    EmptyName,
    /// An unknown `fifo_throughput_limit`.
    #[error("unsupported fifo_throughput_limit {0:?}")]
    ThroughputLimit(String),
    /// An unknown `deduplication_scope`.
    #[error("unsupported deduplication_scope {0:?}")]
    DedupScope(String),
    /// `partition_count` not a power of two.
    #[error("partition_count {0} must be a power of two")]
    NotPowerOfTwo(u32),
    /// `partition_count` above the maximum.
    #[error("partition_count {count} exceeds max {max}")]
    TooManyPartitions {
        /// The count given.
        count: u32,
        /// [`keys::MAX_PARTITIONS`].
        max: u32,
    },
    /// Partitions on a standard queue.
    #[error("partition_count {0} is only valid on FIFO queues")]
    PartitionsNotFifo(u32),
    /// A throughput limit on a standard queue.
    #[error("fifo_throughput_limit is only valid on FIFO queues")]
    ThroughputNotFifo,
    /// A dedup scope on a standard queue.
    #[error("deduplication_scope is only valid on FIFO queues")]
    ScopeNotFifo,
    /// Queue-wide dedup on a partitioned queue.
    #[error("deduplication_scope \"queue\" is incompatible with partition_count {0}")]
    QueueScopePartitioned(u32),
    /// Per-group throughput on an unpartitioned queue.
    #[error("fifo_throughput_limit \"perMessageGroupId\" requires partition_count > 1")]
    PerGroupUnpartitioned,
}

/// What is wrong with a message of `messages.jsonl`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessageError {
    /// Not a stream of JSON objects.
    #[error("{0}")]
    Syntax(SyntaxError),
    /// Not the JSON of a message.
    #[error("{0}")]
    Parse(ValueError),
    /// No `message_id`.
    #[error("message missing message_id")]
    MissingId,
    /// A non-zero partition on an unpartitioned queue.
    #[error("classic queue message {id:?} has partition {partition}")]
    ClassicPartition {
        /// The message id.
        id: String,
        /// The partition given.
        partition: u32,
    },
    /// No partition on a partitioned queue.
    #[error("message {id:?} of a partitioned queue (partition_count {count}) has no partition field")]
    NoPartition {
        /// The message id.
        id: String,
        /// The queue's partition count.
        count: u32,
    },
    /// A partition not below the queue's count.
    #[error("message {id:?}: partition {partition} out of range for partition_count {count}")]
    PartitionOutOfRange {
        /// The message id.
        id: String,
        /// The partition given.
        partition: u32,
        /// The queue's partition count.
        count: u32,
    },
    /// A non-zero partition on a `perQueue` queue.
    #[error("message {id:?}: partition {partition} on a perQueue queue (must be 0)")]
    PerQueueNonZero {
        /// The message id.
        id: String,
        /// The partition given.
        partition: u32,
    },
    /// A partition other than the one the message group maps to.
    #[error("message {id:?}: partition {partition} disagrees with partitionFor({group:?}) = {want}")]
    WrongPartition {
        /// The message id.
        id: String,
        /// The partition given.
        partition: u32,
        /// The message group.
        group: String,
        /// The group's partition.
        want: u32,
    },
}

/// The SQS encoder.
#[derive(Debug)]
pub struct SqsEncoder {
    /// Reads the tree's files, checked against CHECKSUMS (D15).
    reader: TreeReader,
    scratch_dir: PathBuf,
    /// [`DEDUP_SORT_BUDGET`] (smaller in tests).
    dedup_budget: usize,
    /// Worker threads building message records.
    threads: usize,
    /// [`BUILD_BATCH`] (smaller in tests).
    build_batch: usize,
}

fn add(sink: &mut dyn RecordSink, path: &Path, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
    sink.add(key, value).map_err(|source| AdapterError::Sink {
        path: path.to_path_buf(),
        key: display_key(key),
        source,
    })
}

impl SqsEncoder {
    /// The encoder (its options only gate the encode, see `SqsOptions::check_encode`).
    pub fn new(_options: &super::SqsOptions, cx: &EncodeContext) -> SqsEncoder {
        SqsEncoder {
            reader: cx.reader.clone(),
            scratch_dir: cx.scratch_dir.clone(),
            dedup_budget: DEDUP_SORT_BUDGET,
            threads: cx.threads.max(1),
            build_batch: BUILD_BATCH,
        }
    }
}

impl Encoder for SqsEncoder {
    /// Encode `<root>/sqs/` (nothing when it does not exist).
    fn encode(&mut self, root: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        let dir = root.join("sqs");
        let Some(entries) = list_dir(&dir)? else {
            return Ok(());
        };
        for e in entries {
            match e.kind {
                EntryKind::Dir => self.encode_queue(&e.path, sink)?,
                EntryKind::File => {} // Go ignores files beside the queues
                EntryKind::Symlink | EntryKind::Other => {
                    return Err(AdapterError::bad_file(&e.path, SqsFileError::Special))
                }
            }
        }
        Ok(())
    }
}

/// `_queue.json` read and validated (§2.5, checks 1-6).
pub fn read_queue_meta(reader: &TreeReader, path: &Path) -> Result<QueueMeta, AdapterError> {
    let bytes = reader.read(path, MAX_JSON_FILE)?;
    let invalid = |e: QueueError| AdapterError::bad_file(path, SqsFileError::Queue(e));
    let (meta, version) = QueueMeta::from_public(&bytes).map_err(|e| invalid(QueueError::Parse(e)))?;
    if version != 1 {
        return Err(invalid(QueueError::FormatVersion(version)));
    }
    validate_queue(&meta).map_err(invalid)?;
    if meta.name.is_empty() {
        return Err(invalid(QueueError::EmptyName));
    }
    Ok(meta)
}

fn validate_queue(m: &QueueMeta) -> Result<(), QueueError> {
    if !matches!(
        m.fifo_throughput_limit.as_str(),
        "" | keys::THROUGHPUT_PER_GROUP | keys::THROUGHPUT_PER_QUEUE
    ) {
        return Err(QueueError::ThroughputLimit(m.fifo_throughput_limit.clone()));
    }
    if !matches!(
        m.deduplication_scope.as_str(),
        "" | keys::DEDUP_SCOPE_GROUP | keys::DEDUP_SCOPE_QUEUE
    ) {
        return Err(QueueError::DedupScope(m.deduplication_scope.clone()));
    }
    let n = m.partition_count;
    if n != 0 && !n.is_power_of_two() {
        return Err(QueueError::NotPowerOfTwo(n));
    }
    if n > keys::MAX_PARTITIONS {
        return Err(QueueError::TooManyPartitions {
            count: n,
            max: keys::MAX_PARTITIONS,
        });
    }
    if !m.fifo {
        if n > 1 {
            return Err(QueueError::PartitionsNotFifo(n));
        }
        if !m.fifo_throughput_limit.is_empty() {
            return Err(QueueError::ThroughputNotFifo);
        }
        if !m.deduplication_scope.is_empty() {
            return Err(QueueError::ScopeNotFifo);
        }
    } else {
        if n > 1 && m.deduplication_scope == keys::DEDUP_SCOPE_QUEUE {
            return Err(QueueError::QueueScopePartitioned(n));
        }
        if m.fifo_throughput_limit == keys::THROUGHPUT_PER_GROUP && n <= 1 {
            return Err(QueueError::PerGroupUnpartitioned);
        }
    }
    Ok(())
}

/// The message lane after the partition gates (§2.5 validation).
fn lane_of(meta: &QueueMeta, m: &Message) -> Result<Lane, MessageError> {
    let id = || m.message_id.clone();
    if meta.partition_count <= 1 {
        return match m.partition {
            Some(partition) if partition != 0 => Err(MessageError::ClassicPartition { id: id(), partition }),
            _ => Ok(Lane::Classic),
        };
    }
    let count = meta.partition_count;
    let partition = m
        .partition
        .ok_or_else(|| MessageError::NoPartition { id: id(), count })?;
    if partition >= count {
        return Err(MessageError::PartitionOutOfRange {
            id: id(),
            partition,
            count,
        });
    }
    if meta.fifo_throughput_limit == keys::THROUGHPUT_PER_QUEUE {
        if partition != 0 {
            return Err(MessageError::PerQueueNonZero { id: id(), partition });
        }
        return Ok(Lane::Partition(0));
    }
    let want = keys::partition_for(count, &meta.fifo_throughput_limit, &m.message_group_id);
    if partition != want {
        return Err(MessageError::WrongPartition {
            id: id(),
            partition,
            group: m.message_group_id.clone(),
            want,
        });
    }
    Ok(Lane::Partition(partition))
}

/// The resolved dedup id: explicit, else `hex(sha256(body))` on content-based queues.
fn dedup_id(meta: &QueueMeta, m: &Message) -> Option<String> {
    if !m.message_deduplication_id.is_empty() {
        return Some(m.message_deduplication_id.clone());
    }
    meta.content_based_deduplication
        .then(|| hex::encode(Sha256::digest(m.body.as_deref().unwrap_or_default())))
}

/// A candidate for a dedup row, as spilled: `i64be send ‖ u64be seq ‖ message id`.
fn candidate(send: i64, seq: u64, id: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + id.len());
    v.extend_from_slice(&send.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(id.as_bytes());
    v
}

/// `(send, seq, id)` of a spilled candidate.
fn parse_candidate(v: &[u8]) -> Option<(i64, u64, &[u8])> {
    let (send, rest) = v.split_first_chunk::<8>()?;
    let (seq, id) = rest.split_first_chunk::<8>()?;
    Some((i64::from_be_bytes(*send), u64::from_be_bytes(*seq), id))
}

impl SqsEncoder {
    fn encode_queue(&self, dir: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        let reader = &self.reader;
        let meta_path = dir.join("_queue.json");
        let meta = read_queue_meta(reader, &meta_path)?;
        add(
            sink,
            &meta_path,
            &keys::queue_meta_key(&meta.name),
            &meta.stored_value(),
        )?;
        add(
            sink,
            &meta_path,
            &keys::queue_gen_key(&meta.name),
            RESTORE_GENERATION.to_string().as_bytes(),
        )?;

        let path = dir.join("messages.jsonl");
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()), // empty queue
            _ => {}
        }
        reader.check_file(&path)?;
        let file = open_input(&path)?;
        let invalid = |line: u64, error: MessageError| {
            AdapterError::bad_file(&path, SqsFileError::Message { line, error })
        };
        let partitioned = meta.partition_count > 1;
        // Dedup candidates keyed by their dedup row's key (a function of the dedup identity:
        // partition, group and id on partitioned queues, the id otherwise); the sort is stable,
        // so each key's candidates come back in file order.
        let mut candidates = ExternalSorter::new(self.dedup_budget, &self.scratch_dir);
        let spill_err = |source| AdapterError::Io {
            path: path.clone(),
            source,
        };
        let mut max_seq = 0u64;
        let mut reader = ObjectReader::new(BufReader::with_capacity(1 << 16, file), MAX_MESSAGE_JSON);
        let mut staged = Objects::default();
        // Messages are parsed and their records built on worker threads, a batch of objects
        // at a time; the results go to the sink and the dedup sorter in file order, so the
        // records and the first error are the sequential ones for any thread count.
        let mut flush = |staged: &mut Objects, candidates: &mut ExternalSorter| {
            let jobs: Vec<&[(u64, Range<usize>)]> = staged.spans.chunks(BUILD_CHUNK).collect();
            let build = |job: &&[(u64, Range<usize>)]| {
                let raw_len = match (job.first(), job.last()) {
                    (Some((_, first)), Some((_, last))) => last.end - first.start,
                    _ => 0,
                };
                let mut built = Built::new(&path, job.len(), raw_len);
                for (line, span) in job.iter() {
                    let raw = staged.bytes.get(span.clone()).unwrap_or_default();
                    if let Err(e) = built.message(&meta, &path, *line, raw) {
                        built.error = Some(e);
                        break;
                    }
                }
                Ok::<Built, AdapterError>(built)
            };
            let outcome = map_in_order(&jobs, self.threads, BUILD_WINDOW, build, Built::weight, |built| {
                built.records.replay(sink)?;
                for (key, value) in built
                    .candidates
                    .chunks_exact(2)
                    .map(|kv| (kv[0].as_slice(), kv[1].as_slice()))
                {
                    candidates.push(key, value).map_err(spill_err)?;
                }
                max_seq = max_seq.max(built.max_seq);
                built.error.map_or(Ok(()), Err)
            });
            staged.bytes.clear();
            staged.spans.clear();
            outcome
        };
        loop {
            let (line, raw) = match reader.next_object() {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(ReadError::Io(e)) => {
                    flush(&mut staged, &mut candidates)?;
                    return Err(AdapterError::Io {
                        path: path.clone(),
                        source: e,
                    });
                }
                Err(ReadError::Syntax { line, what }) => {
                    flush(&mut staged, &mut candidates)?;
                    return Err(invalid(line, MessageError::Syntax(what)));
                }
            };
            let at = staged.bytes.len();
            staged.bytes.extend_from_slice(raw);
            staged.spans.push((line, at..staged.bytes.len()));
            if staged.bytes.len() >= self.build_batch {
                flush(&mut staged, &mut candidates)?;
            }
        }
        flush(&mut staged, &mut candidates)?;
        // Per dedup row, Go's winner: the strictly latest send; ties keep the first in Go's
        // iteration order (file order, or for partitioned queues (seq, id) order).
        let mut sorted = candidates.finish().map_err(spill_err)?;
        let corrupt = || {
            spill_err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "dedup candidate shorter than 16 bytes in the spill file",
            ))
        };
        let mut current: Option<(Vec<u8>, Winner)> = None;
        while let Some((key, value)) = sorted.next().map_err(spill_err)? {
            let (send, seq, id) = parse_candidate(value).ok_or_else(corrupt)?;
            match &mut current {
                Some((row, w)) if row.as_slice() == key => {
                    let earlier_in_order =
                        partitioned && send == w.send && (seq, id) < (w.seq, w.id.as_slice());
                    if send > w.send || earlier_in_order {
                        *w = Winner::new(send, seq, id);
                    }
                }
                _ => {
                    if let Some((row, w)) = current.take() {
                        add(sink, &path, &row, &w.dedup_value())?;
                    }
                    current = Some((key.to_vec(), Winner::new(send, seq, id)));
                }
            }
        }
        if let Some((row, w)) = current {
            add(sink, &path, &row, &w.dedup_value())?;
        }
        if meta.fifo && max_seq > 0 {
            add(
                sink,
                &path,
                &keys::queue_seq_key(&meta.name),
                max_seq.to_string().as_bytes(),
            )?;
        }
        Ok(())
    }
}

/// The message owning a dedup row so far.
struct Winner {
    send: i64,
    seq: u64,
    id: Vec<u8>,
}

impl Winner {
    fn new(send: i64, seq: u64, id: &[u8]) -> Winner {
        Winner {
            send,
            seq,
            id: id.to_vec(),
        }
    }

    fn dedup_value(&self) -> Vec<u8> {
        // Spilled from a `&str` in `candidate`.
        dedup_value(&String::from_utf8_lossy(&self.id), self.send, self.seq)
    }
}

/// Staged `messages.jsonl` objects, back to back, with their first line and span.
#[derive(Default)]
struct Objects {
    bytes: Vec<u8>,
    spans: Vec<(u64, Range<usize>)>,
}

/// What a worker builds from a run of messages: their records, their dedup candidates
/// (key, value, key, value, …), the largest sequence number, and the error that stopped
/// the run (after the records of the messages before it).
struct Built {
    records: RecordBatch,
    candidates: Vec<Vec<u8>>,
    max_seq: u64,
    error: Option<AdapterError>,
    /// The stored value being built (reused message after message).
    value: Vec<u8>,
}

impl Built {
    /// For `messages` messages of `raw_len` bytes of `path`: their three records each (data,
    /// visibility and send-age) take about three times their bytes (base64 bodies, keys),
    /// reserved at once.
    fn new(path: &Path, messages: usize, raw_len: usize) -> Built {
        Built {
            records: RecordBatch::with_capacity(path, 3 * messages, 3 * raw_len),
            candidates: Vec::new(),
            max_seq: 0,
            error: None,
            value: Vec::new(),
        }
    }

    fn weight(&self) -> usize {
        self.records.weight() + self.candidates.iter().map(Vec::len).sum::<usize>()
    }

    /// One message (the object on `line`): its data, visibility and send-age records and
    /// its dedup candidate.
    fn message(&mut self, meta: &QueueMeta, path: &Path, line: u64, raw: &[u8]) -> Result<(), AdapterError> {
        let invalid =
            |error: MessageError| AdapterError::bad_file(path, SqsFileError::Message { line, error });
        let m = Message::from_dump(raw).map_err(|e| invalid(MessageError::Parse(e)))?;
        let lane = lane_of(meta, &m).map_err(invalid)?;
        if m.message_id.is_empty() {
            return Err(invalid(MessageError::MissingId));
        }
        let stored = Message {
            visible_at_millis: 0,
            receive_count: 0,
            first_receive_millis: 0,
            current_receipt_token: None,
            queue_generation: RESTORE_GENERATION,
            partition: None,
            ..m
        };
        let (name, id, gen) = (&meta.name, &stored.message_id, RESTORE_GENERATION);
        self.value.clear();
        stored.write_stored_value(&mut self.value);
        let sink: &mut dyn RecordSink = &mut self.records;
        add(sink, path, &keys::msg_data_key(name, lane, gen, id), &self.value)?;
        let vis = keys::msg_vis_key(name, lane, gen, stored.available_at_millis, id);
        add(sink, path, &vis, id.as_bytes())?;
        let byage = keys::msg_byage_key(name, lane, gen, stored.send_timestamp_millis, id);
        add(sink, path, &byage, id.as_bytes())?;
        self.max_seq = self.max_seq.max(stored.sequence_number);
        if !meta.fifo {
            return Ok(());
        }
        let Some(d) = dedup_id(meta, &stored) else {
            return Ok(());
        };
        self.candidates.push(keys::msg_dedup_key(
            &meta.name,
            lane,
            RESTORE_GENERATION,
            &stored.message_group_id,
            &d,
        ));
        self.candidates.push(candidate(
            stored.send_timestamp_millis,
            stored.sequence_number,
            &stored.message_id,
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
