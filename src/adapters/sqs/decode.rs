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
//! Differences from Go, all deliberate: records are the newest live version of each key
//! (D1), queues are finished in a fixed order (Go: map order), `!sqs|queue|seq|` counters
//! are dumped as side records instead of failing the decode (D5).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use super::keys::{self, KeyError, Kind, Lane, SegmentName};
use super::values::{side_record_line, Message, QueueMeta, ValueError};
use super::SqsOptions;
use crate::adapters::{AdapterError, Cause, DecodeContext, Decoder, Event, Record, Warning, Warnings};
use crate::dump::filename::encode_segment;
use crate::dump::{OutFile, TreeOut};
use crate::spill::ExternalSorter;

/// Memory the message sorter may hold before spilling to scratch.
pub const SORT_BUDGET: usize = 32 << 20;

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
    scratch_dir: PathBuf,
    budget: usize,
    queues: BTreeMap<Vec<u8>, Queue>,
    sorter: Option<ExternalSorter>,
    arrival: u64,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
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
            scratch_dir: cx.scratch_dir.clone(),
            budget: SORT_BUDGET,
            queues: BTreeMap::new(),
            sorter: None,
            arrival: 0,
            key_buf: Vec::new(),
            value_buf: Vec::new(),
        }
    }

    /// A smaller sort budget (tests of the spilling path).
    pub fn with_budget(mut self, budget: usize) -> SqsDecoder {
        self.budget = budget;
        self
    }

    /// Spilled runs so far (for tests of bounded memory).
    pub fn spilled_runs(&self) -> usize {
        self.sorter.as_ref().map_or(0, ExternalSorter::spilled_runs)
    }

    fn push(&mut self) -> Result<(), AdapterError> {
        let (budget, dir) = (self.budget, &self.scratch_dir);
        let sorter = self
            .sorter
            .get_or_insert_with(|| ExternalSorter::new(budget, dir));
        sorter
            .push(&self.key_buf, &self.value_buf)
            .map_err(|source| AdapterError::Scratch {
                what: SCRATCH,
                source,
            })
    }

    /// Route one live record by its kind.
    pub fn handle_kind(&mut self, kind: Kind, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let rest = key.strip_prefix(kind.prefix()).ok_or_else(|| {
            bad(
                key,
                RecordError::Prefix {
                    prefix: String::from_utf8_lossy(kind.prefix()).into_owned(),
                },
            )
        })?;
        match kind {
            Kind::QueueMeta => self.queue_meta(key, rest, value),
            Kind::QueueGeneration => {
                // Go's strconv.ParseUint(TrimSpace(v), 10, 64): digits only (no sign).
                let text = std::str::from_utf8(value).unwrap_or("\u{FFFD}").trim();
                let gen: u64 = text
                    .parse()
                    .ok()
                    .filter(|_| !text.starts_with('+'))
                    .ok_or_else(|| {
                        bad(
                            key,
                            RecordError::Generation {
                                text: text.to_owned(),
                            },
                        )
                    })?;
                self.queues.entry(rest.to_vec()).or_default().active_gen = gen;
                Ok(())
            }
            Kind::MessageData => self.message(key, rest, value),
            Kind::QueueSequence if self.options.include_side_records => {
                let seg = keys::parse_seq_key(rest).map_err(|e| bad(key, e))?;
                self.side(seg.to_vec(), kind, key, value)
            }
            _ if !self.options.include_side_records => Ok(()),
            _ => {
                let seg = keys::parse_side_key(rest).map_err(|e| bad(key, e))?;
                self.side(seg.to_vec(), kind, key, value)
            }
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

    fn message(&mut self, key: &[u8], rest: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let (seg, lane) = keys::parse_data_key(rest).map_err(|e| bad(key, e))?;
        let json = value
            .strip_prefix(keys::MSG_MAGIC)
            .ok_or_else(|| bad(key, RecordError::MessageMagic))?;
        let mut m = Message::from_stored(json).map_err(|e| bad(key, RecordError::Message(e)))?;
        if !self.options.preserve_visibility {
            m.visible_at_millis = 0;
            m.current_receipt_token = None;
            m.receive_count = 0;
            m.first_receive_millis = 0;
        }
        if let Lane::Partition(p) = lane {
            m.partition = Some(p);
        }
        self.key_buf.clear();
        push_escaped(&mut self.key_buf, seg);
        self.key_buf.push(TAG_MESSAGE);
        // Signed send time in sortable form.
        let send = (m.send_timestamp_millis as u64) ^ (1 << 63);
        self.key_buf.extend_from_slice(&send.to_be_bytes());
        self.key_buf.extend_from_slice(&m.sequence_number.to_be_bytes());
        push_escaped(&mut self.key_buf, m.message_id.as_bytes());
        self.key_buf.extend_from_slice(&self.arrival.to_be_bytes());
        self.arrival += 1;
        self.value_buf.clear();
        self.value_buf
            .extend_from_slice(&m.queue_generation.to_be_bytes());
        m.write_dump_line(&mut self.value_buf);
        self.push()?;
        self.queues.entry(seg.to_vec()).or_default().messages += 1;
        Ok(())
    }

    fn side(&mut self, seg: Vec<u8>, kind: Kind, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        self.key_buf.clear();
        push_escaped(&mut self.key_buf, &seg);
        self.key_buf.push(TAG_SIDE);
        self.key_buf.extend_from_slice(&self.arrival.to_be_bytes());
        self.arrival += 1;
        self.value_buf.clear();
        self.value_buf
            .extend_from_slice(&side_record_line(kind.prefix(), key, value));
        self.push()?;
        self.queues.entry(seg).or_default().side_records += 1;
        Ok(())
    }

    /// Write every queue's files (after the last record).
    pub fn finalize_into(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
    ) -> Result<(), AdapterError> {
        let sorter = self.sorter.take();
        let io = |source| AdapterError::Scratch {
            what: SCRATCH,
            source,
        };
        let mut sorted = match sorter {
            Some(s) => Some(s.finish().map_err(io)?),
            None => None,
        };
        // The current record of the sorted stream, owned (it outlives one queue).
        let mut current: Option<(Vec<u8>, Vec<u8>)> = None;
        let mut advance = |cur: &mut Option<(Vec<u8>, Vec<u8>)>| -> Result<(), AdapterError> {
            *cur = match sorted.as_mut() {
                Some(s) => s.next().map_err(io)?.map(|(k, v)| (k.to_vec(), v.to_vec())),
                None => None,
            };
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
        let kind = Kind::from_tag(record.tag)
            .ok_or_else(|| bad(record.user_key, RecordError::Tag { tag: record.tag }))?;
        self.handle_kind(kind, record.user_key, record.value)
    }

    fn finalize(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings) -> Result<(), AdapterError> {
        self.finalize_into(out, warnings)
    }
}

#[cfg(test)]
mod tests;
