//! Internal key layouts of the SQS families (dynamodb_sqs.md §2.1), both directions, as small
//! pure functions: builders (used by the encoder) and parsers (used by the decoder).
//!
//! * queue meta / generation / sequence counters: `!sqs|queue|{meta,gen,seq}|b64u(name)`;
//! * queue tombstones: `!sqs|queue|tombstone|b64u(name)‖BE64(gen)`;
//! * message data, visibility, send-age, dedup and group keys, classic
//!   (`<prefix>b64u(queue)‖BE64(gen)‖…`) and partitioned
//!   (`<prefix>p|b64u(queue)|‖BE32(partition)‖BE64(gen)‖…`);
//! * the HT-FIFO partition router (`partition_for`, §2.3);
//! * the adapter's routes ([`ROUTES`]), tagged with [`Kind`].
//!
//! Parsers return a [`KeyError`] saying what was expected, which the decoder wraps into
//! `AdapterError::BadRecord` with the key.

use base64::Engine;

use crate::adapters::Route;

/// Prefix of queue-meta keys.
pub const QUEUE_META_PREFIX: &[u8] = b"!sqs|queue|meta|";
/// Prefix of queue-generation keys.
pub const QUEUE_GEN_PREFIX: &[u8] = b"!sqs|queue|gen|";
/// Prefix of queue-sequence keys.
pub const QUEUE_SEQ_PREFIX: &[u8] = b"!sqs|queue|seq|";
/// Prefix of queue-tombstone keys.
pub const QUEUE_TOMBSTONE_PREFIX: &[u8] = b"!sqs|queue|tombstone|";
/// Prefix of message-data keys.
pub const MSG_DATA_PREFIX: &[u8] = b"!sqs|msg|data|";
/// Prefix of visibility-index keys.
pub const MSG_VIS_PREFIX: &[u8] = b"!sqs|msg|vis|";
/// Prefix of by-age index keys.
pub const MSG_BYAGE_PREFIX: &[u8] = b"!sqs|msg|byage|";
/// Prefix of deduplication keys.
pub const MSG_DEDUP_PREFIX: &[u8] = b"!sqs|msg|dedup|";
/// Prefix of message-group keys.
pub const MSG_GROUP_PREFIX: &[u8] = b"!sqs|msg|group|";

/// The discriminator of partitioned (HT-FIFO) message keys, right after the family prefix.
pub const PARTITIONED: &[u8] = b"p|";

/// Magic of a stored queue meta value (`00 'S' 'Q' 01`).
pub const META_MAGIC: &[u8] = &[0x00, b'S', b'Q', 0x01];
/// Magic of a stored message value (`00 'S' 'M' 01`).
pub const MSG_MAGIC: &[u8] = &[0x00, b'S', b'M', 0x01];

/// The generation every restored queue gets (§2.5).
pub const RESTORE_GENERATION: u64 = 1;
/// The live FIFO deduplication window (§2.2).
pub const DEDUP_WINDOW_MILLIS: i64 = 5 * 60 * 1000;
/// The largest partition count the live adapter accepts.
pub const MAX_PARTITIONS: u32 = 32;

/// The SQS prefixes of the route table (dynamodb_sqs.md §2.1), one per [`Kind`].
pub const ROUTES: &[Route] = &[
    Route::new(QUEUE_META_PREFIX, "sqs", Kind::QueueMeta as u8),
    Route::new(QUEUE_GEN_PREFIX, "sqs", Kind::QueueGeneration as u8),
    Route::new(QUEUE_SEQ_PREFIX, "sqs", Kind::QueueSequence as u8),
    Route::new(QUEUE_TOMBSTONE_PREFIX, "sqs", Kind::QueueTombstone as u8),
    Route::new(MSG_DATA_PREFIX, "sqs", Kind::MessageData as u8),
    Route::new(MSG_VIS_PREFIX, "sqs", Kind::Visibility as u8),
    Route::new(MSG_BYAGE_PREFIX, "sqs", Kind::ByAge as u8),
    Route::new(MSG_DEDUP_PREFIX, "sqs", Kind::Dedup as u8),
    Route::new(MSG_GROUP_PREFIX, "sqs", Kind::Group as u8),
];

/// What an SQS key is: the handler tag of its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A queue-meta row.
    QueueMeta,
    /// A queue-generation row.
    QueueGeneration,
    /// A queue-sequence row.
    QueueSequence,
    /// A queue tombstone.
    QueueTombstone,
    /// A message-data row.
    MessageData,
    /// A visibility-index row.
    Visibility,
    /// A by-age index row.
    ByAge,
    /// A deduplication row.
    Dedup,
    /// A message-group row.
    Group,
}

impl Kind {
    /// Every kind, in route order.
    pub const ALL: [Kind; 9] = [
        Kind::QueueMeta,
        Kind::QueueGeneration,
        Kind::QueueSequence,
        Kind::QueueTombstone,
        Kind::MessageData,
        Kind::Visibility,
        Kind::ByAge,
        Kind::Dedup,
        Kind::Group,
    ];

    /// The kind of a route tag.
    pub fn from_tag(tag: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| *k as u8 == tag)
    }

    /// The route prefix of this kind (for partitioned keys too).
    pub fn prefix(self) -> &'static [u8] {
        match self {
            Kind::QueueMeta => QUEUE_META_PREFIX,
            Kind::QueueGeneration => QUEUE_GEN_PREFIX,
            Kind::QueueSequence => QUEUE_SEQ_PREFIX,
            Kind::QueueTombstone => QUEUE_TOMBSTONE_PREFIX,
            Kind::MessageData => MSG_DATA_PREFIX,
            Kind::Visibility => MSG_VIS_PREFIX,
            Kind::ByAge => MSG_BYAGE_PREFIX,
            Kind::Dedup => MSG_DEDUP_PREFIX,
            Kind::Group => MSG_GROUP_PREFIX,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Segments.

/// `b64u(raw)`: base64 URL alphabet, no padding (the encoding of every key segment).
pub fn b64u(raw: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Append `raw` in `engine`'s base64 to `out`, encoded in place (no temporary string).
pub fn append_base64(engine: &impl Engine, raw: &[u8], out: &mut Vec<u8>) {
    use base64::engine::Config;
    let start = out.len();
    // `None` only for a length beyond memory.
    let len = base64::encoded_len(raw.len(), engine.config().encode_padding()).unwrap_or(0);
    out.resize(start + len, 0);
    let written = engine.encode_slice(raw, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// Append `b64u(raw)` to `out`.
fn push_b64u(out: &mut Vec<u8>, raw: &[u8]) {
    append_base64(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw, out);
}

/// Bytes of `b64u` of `n` bytes (0 only for a length beyond memory: a capacity hint).
fn b64u_len(n: usize) -> usize {
    base64::encoded_len(n, false).unwrap_or(0)
}

/// Why a key segment is not base64url ([`decode_segment`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// The segment is not even UTF-8.
    #[error("segment is not base64url")]
    NotUtf8,
    /// The base64url decoder refused it.
    #[error("{detail}")]
    Base64 {
        /// The decoder's message (`dump::json::decode_base64url_lenient`).
        detail: String,
    },
}

/// Which segment of a key a [`SegmentError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentName {
    /// The queue-name segment.
    Queue,
    /// The message-id segment.
    MessageId,
}

impl std::fmt::Display for SegmentName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SegmentName::Queue => "queue segment",
            SegmentName::MessageId => "message-id segment",
        })
    }
}

/// Why an SQS key does not have its family's layout (the parsers below).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A segment is not base64url.
    #[error("{segment}: {error}")]
    Segment {
        /// Which segment.
        segment: SegmentName,
        /// What is wrong with it.
        error: SegmentError,
    },
    /// A classic data key without a queue segment, generation and message-id segment.
    #[error("queue segment or message-id segment not found")]
    DataSegments,
    /// A partitioned data key with nothing after partition and generation.
    #[error("partitioned data key: no message-id segment after partition and generation")]
    PartitionedMessageId,
    /// A classic side key whose queue segment is not followed by a binary trailer.
    #[error("queue segment not followed by a binary trailer")]
    SideTrailer,
    /// An empty `!sqs|queue|seq|` queue segment.
    #[error("empty queue segment")]
    EmptyQueue,
    /// A partitioned key without a non-empty, `|`-terminated queue segment.
    #[error("partitioned key: no `|`-terminated queue segment")]
    PartitionedQueue,
    /// A partitioned key with fewer than 12 bytes after the queue segment.
    #[error("partitioned key: trailer shorter than partition and generation")]
    PartitionedTrailer,
}

impl KeyError {
    /// `segment` fails with `error`.
    pub fn segment(segment: SegmentName) -> impl FnOnce(SegmentError) -> KeyError {
        move |error| KeyError::Segment { segment, error }
    }
}

/// Decode a key segment as Go's `base64.RawURLEncoding.DecodeString` does.
pub fn decode_segment(seg: &[u8]) -> Result<Vec<u8>, SegmentError> {
    let text = std::str::from_utf8(seg).map_err(|_| SegmentError::NotUtf8)?;
    crate::dump::json::decode_base64url_lenient(text).map_err(|detail| SegmentError::Base64 { detail })
}

fn is_b64u_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Clamp a millisecond timestamp to ≥ 0 for a key (§2.1).
pub fn clamp_millis(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Builders.

fn simple(prefix: &[u8], name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + b64u_len(name.len()));
    k.extend_from_slice(prefix);
    push_b64u(&mut k, name.as_bytes());
    k
}

/// The queue-meta key of queue `name`.
pub fn queue_meta_key(name: &str) -> Vec<u8> {
    simple(QUEUE_META_PREFIX, name)
}

/// The queue-generation key of queue `name`.
pub fn queue_gen_key(name: &str) -> Vec<u8> {
    simple(QUEUE_GEN_PREFIX, name)
}

/// The queue-sequence key of queue `name`.
pub fn queue_seq_key(name: &str) -> Vec<u8> {
    simple(QUEUE_SEQ_PREFIX, name)
}

/// Where a message lives: the classic keyspace, or a partition of the HT-FIFO keyspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A standard or unpartitioned FIFO queue.
    Classic,
    /// A partition of a partitioned FIFO queue.
    Partition(u32),
}

/// `<prefix>` + queue segment + generation, in the lane's shape, with room for `tail` more
/// bytes (each key is built in one allocation).
fn msg_head(prefix: &[u8], queue: &str, lane: Lane, gen: u64, tail: usize) -> Vec<u8> {
    let lane_len = match lane {
        Lane::Classic => 0,
        Lane::Partition(_) => PARTITIONED.len() + 1 + 4,
    };
    let mut k = Vec::with_capacity(prefix.len() + lane_len + b64u_len(queue.len()) + 8 + tail);
    k.extend_from_slice(prefix);
    if let Lane::Partition(_) = lane {
        k.extend_from_slice(PARTITIONED);
    }
    push_b64u(&mut k, queue.as_bytes());
    if let Lane::Partition(p) = lane {
        k.push(b'|');
        k.extend_from_slice(&p.to_be_bytes());
    }
    k.extend_from_slice(&gen.to_be_bytes());
    k
}

/// The message-data key of message `msg_id` of `queue` generation `gen`.
pub fn msg_data_key(queue: &str, lane: Lane, gen: u64, msg_id: &str) -> Vec<u8> {
    let mut k = msg_head(MSG_DATA_PREFIX, queue, lane, gen, b64u_len(msg_id.len()));
    push_b64u(&mut k, msg_id.as_bytes());
    k
}

/// `<prefix>` + queue segment + generation + `BE64(clamp(millis))` + message-id segment.
fn msg_time_key(prefix: &[u8], queue: &str, lane: Lane, gen: u64, millis: i64, msg_id: &str) -> Vec<u8> {
    let mut k = msg_head(prefix, queue, lane, gen, 8 + b64u_len(msg_id.len()));
    k.extend_from_slice(&clamp_millis(millis).to_be_bytes());
    push_b64u(&mut k, msg_id.as_bytes());
    k
}

/// The visibility-index key of message `msg_id`, visible at `visible_at` (ms).
pub fn msg_vis_key(queue: &str, lane: Lane, gen: u64, visible_at: i64, msg_id: &str) -> Vec<u8> {
    msg_time_key(MSG_VIS_PREFIX, queue, lane, gen, visible_at, msg_id)
}

/// The by-age index key of message `msg_id`, sent at `send_ts` (ms).
pub fn msg_byage_key(queue: &str, lane: Lane, gen: u64, send_ts: i64, msg_id: &str) -> Vec<u8> {
    msg_time_key(MSG_BYAGE_PREFIX, queue, lane, gen, send_ts, msg_id)
}

/// Classic dedup keys carry no group; partitioned ones carry `b64u(group)|` before the id.
pub fn msg_dedup_key(queue: &str, lane: Lane, gen: u64, group: &str, dedup_id: &str) -> Vec<u8> {
    let group_len = match lane {
        Lane::Classic => 0,
        Lane::Partition(_) => b64u_len(group.len()) + 1,
    };
    let mut k = msg_head(
        MSG_DEDUP_PREFIX,
        queue,
        lane,
        gen,
        group_len + b64u_len(dedup_id.len()),
    );
    if let Lane::Partition(_) = lane {
        push_b64u(&mut k, group.as_bytes());
        k.push(b'|');
    }
    push_b64u(&mut k, dedup_id.as_bytes());
    k
}

/// The message-group key of `group` in `queue` generation `gen`.
pub fn msg_group_key(queue: &str, lane: Lane, gen: u64, group: &str) -> Vec<u8> {
    let mut k = msg_head(MSG_GROUP_PREFIX, queue, lane, gen, b64u_len(group.len()));
    push_b64u(&mut k, group.as_bytes());
    k
}

/// The tombstone key of `queue` generation `gen`.
pub fn queue_tombstone_key(queue: &str, gen: u64) -> Vec<u8> {
    let mut k = simple(QUEUE_TOMBSTONE_PREFIX, queue);
    k.extend_from_slice(&gen.to_be_bytes());
    k
}

// ---------------------------------------------------------------------------------------
// Parsers (the decoder's, §2.4).

/// The queue segment and lane of a message data key (`rest` = the key after
/// `!sqs|msg|data|`). The message-id segment must be present and base64url.
pub fn parse_data_key(rest: &[u8]) -> Result<(&[u8], Lane), KeyError> {
    if let Some(body) = rest.strip_prefix(PARTITIONED) {
        let (seg, trailer) = partitioned_queue(body)?;
        let id = trailer
            .get(12..)
            .filter(|id| !id.is_empty())
            .ok_or(KeyError::PartitionedMessageId)?;
        decode_segment(id).map_err(KeyError::segment(SegmentName::MessageId))?;
        return Ok((seg, Lane::Partition(be32(trailer))));
    }
    let idx = rest.iter().position(|c| !is_b64u_byte(*c)).unwrap_or(rest.len());
    if idx == 0 || idx + 8 >= rest.len() {
        return Err(KeyError::DataSegments);
    }
    let (seg, trailer) = rest.split_at(idx);
    decode_segment(seg).map_err(KeyError::segment(SegmentName::Queue))?;
    decode_segment(trailer.get(8..).unwrap_or_default())
        .map_err(KeyError::segment(SegmentName::MessageId))?;
    Ok((seg, Lane::Classic))
}

/// The queue segment of a side record key (vis, byage, dedup, group, tombstone; `rest` =
/// the key after its route prefix): a partitioned form needs partition and generation
/// after the queue, a classic one at least one byte after the base64url queue segment.
pub fn parse_side_key(rest: &[u8]) -> Result<&[u8], KeyError> {
    if let Some(body) = rest.strip_prefix(PARTITIONED) {
        return partitioned_queue(body).map(|(seg, _)| seg);
    }
    let idx = rest.iter().position(|c| !is_b64u_byte(*c)).unwrap_or(rest.len());
    if idx == 0 || idx == rest.len() {
        return Err(KeyError::SideTrailer);
    }
    Ok(rest.get(..idx).unwrap_or_default())
}

/// The queue segment of a `!sqs|queue|seq|` key: the whole rest, non-empty, base64url
/// (DECISIONS.md D5: Go's decoder fails on these keys).
pub fn parse_seq_key(rest: &[u8]) -> Result<&[u8], KeyError> {
    if rest.is_empty() {
        return Err(KeyError::EmptyQueue);
    }
    decode_segment(rest).map_err(KeyError::segment(SegmentName::Queue))?;
    Ok(rest)
}

/// `b64u(queue)|` then at least partition (4) and generation (8) bytes.
fn partitioned_queue(body: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let bar = body
        .iter()
        .position(|c| *c == b'|')
        .filter(|i| *i > 0)
        .ok_or(KeyError::PartitionedQueue)?;
    let (seg, rest) = body.split_at(bar);
    decode_segment(seg).map_err(KeyError::segment(SegmentName::Queue))?;
    let trailer = rest.get(1..).unwrap_or_default();
    if trailer.len() < 12 {
        return Err(KeyError::PartitionedTrailer);
    }
    Ok((seg, trailer))
}

fn be32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(..4) {
        a.copy_from_slice(s);
    }
    u32::from_be_bytes(a)
}

// ---------------------------------------------------------------------------------------
// HT-FIFO routing.

/// `FifoThroughputLimit` per queue.
pub const THROUGHPUT_PER_QUEUE: &str = "perQueue";
/// `FifoThroughputLimit` per message group.
pub const THROUGHPUT_PER_GROUP: &str = "perMessageGroupId";
/// `DeduplicationScope` per message group.
pub const DEDUP_SCOPE_GROUP: &str = "messageGroup";
/// `DeduplicationScope` per queue.
pub const DEDUP_SCOPE_QUEUE: &str = "queue";

/// The live `partitionFor`: 0 unless the queue has more than one partition, is not
/// `perQueue` and the group is non-empty; else FNV-1a 32 of the group masked with
/// `partition_count - 1`.
pub fn partition_for(partition_count: u32, throughput_limit: &str, group: &str) -> u32 {
    if partition_count <= 1 || throughput_limit == THROUGHPUT_PER_QUEUE || group.is_empty() {
        return 0;
    }
    let mut h: u32 = 2_166_136_261;
    for b in group.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(16_777_619);
    }
    h & (partition_count - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_built_in_one_allocation_of_their_size() {
        // Every length mod 3 of each segment, both lanes.
        for n in 0..7 {
            let (queue, id, group) = ("q".repeat(n + 1), "m".repeat(n), "g".repeat(n + 2));
            assert_eq!(b64u_len(n), b64u(&vec![0xFB; n]).len());
            let mut pushed = b"x".to_vec();
            push_b64u(&mut pushed, &vec![0xFB; n]);
            assert_eq!(pushed[1..], *b64u(&vec![0xFB; n]).as_bytes());
            for lane in [Lane::Classic, Lane::Partition(3)] {
                for k in [
                    msg_data_key(&queue, lane, 1, &id),
                    msg_vis_key(&queue, lane, 1, 5, &id),
                    msg_byage_key(&queue, lane, 1, 5, &id),
                    msg_dedup_key(&queue, lane, 1, &group, &id),
                    msg_group_key(&queue, lane, 1, &group),
                    queue_meta_key(&queue),
                ] {
                    assert_eq!(k.capacity(), k.len(), "{}", String::from_utf8_lossy(&k));
                }
            }
        }
    }

    #[test]
    fn classic_vectors_of_the_spec() {
        let data = msg_data_key("q", Lane::Classic, 1, "m1");
        assert_eq!(data, b"!sqs|msg|data|cQ\0\0\0\0\0\0\0\x01bTE");
        let vis = msg_vis_key("q", Lane::Classic, 1, 1_700_000_000_500, "m1");
        assert_eq!(
            vis,
            [
                &b"!sqs|msg|vis|cQ"[..],
                &[0, 0, 0, 0, 0, 0, 0, 1],
                &[0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x69, 0xf4],
                b"bTE"
            ]
            .concat()
        );
        let byage = msg_byage_key("q", Lane::Classic, 1, 1_700_000_000_000, "m1");
        assert_eq!(
            byage,
            [
                &b"!sqs|msg|byage|cQ"[..],
                &[0, 0, 0, 0, 0, 0, 0, 1],
                &[0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00],
                b"bTE"
            ]
            .concat()
        );
        let dedup = msg_dedup_key("q", Lane::Classic, 1, "ignored", "d1");
        assert_eq!(
            dedup,
            [&b"!sqs|msg|dedup|cQ"[..], &[0, 0, 0, 0, 0, 0, 0, 1], b"ZDE"].concat()
        );
        // Negative timestamps clamp to 0.
        let neg = msg_vis_key("q", Lane::Classic, 1, -5, "m1");
        assert_eq!(neg.get(23..31), Some(&[0u8; 8][..]));
        assert_eq!(queue_meta_key("q"), b"!sqs|queue|meta|cQ");
        assert_eq!(queue_gen_key("q"), b"!sqs|queue|gen|cQ");
        assert_eq!(queue_seq_key("q"), b"!sqs|queue|seq|cQ");
        assert_eq!(
            queue_tombstone_key("q", 2),
            [&b"!sqs|queue|tombstone|cQ"[..], &[0, 0, 0, 0, 0, 0, 0, 2]].concat()
        );
    }

    #[test]
    fn partitioned_vectors_of_the_spec() {
        let dedup = msg_dedup_key("q", Lane::Partition(1), 1, "g1", "d1");
        assert_eq!(
            dedup,
            b"!sqs|msg|dedup|p|cQ|\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01ZzE|ZDE"
        );
        let data = msg_data_key("q", Lane::Partition(7), 1, "m1");
        assert_eq!(
            data,
            b"!sqs|msg|data|p|cQ|\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x01bTE"
        );
        let group = msg_group_key("q", Lane::Partition(3), 2, "g");
        assert_eq!(
            group,
            b"!sqs|msg|group|p|cQ|\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x02Zw"
        );
    }

    #[test]
    fn data_keys_parse_back() {
        let k = msg_data_key("orders", Lane::Classic, 9, "id-1");
        let rest = k.strip_prefix(MSG_DATA_PREFIX).unwrap();
        assert_eq!(parse_data_key(rest), Ok((&b"b3JkZXJz"[..], Lane::Classic)));
        let k = msg_data_key("orders", Lane::Partition(7), 9, "id-1");
        let rest = k.strip_prefix(MSG_DATA_PREFIX).unwrap();
        assert_eq!(parse_data_key(rest), Ok((&b"b3JkZXJz"[..], Lane::Partition(7))));
    }

    #[test]
    fn malformed_data_keys_are_refused() {
        let id_segment = |e: &KeyError| {
            matches!(
                e,
                KeyError::Segment {
                    segment: SegmentName::MessageId,
                    error: SegmentError::Base64 { .. }
                }
            )
        };
        type Check = fn(&KeyError) -> bool;
        let bad: [(&[u8], Check); 8] = [
            (b"", |e| *e == KeyError::DataSegments),
            // no queue segment
            (b"\0\0\0\0\0\0\0\x01bTE", |e| *e == KeyError::DataSegments),
            // no message id
            (b"cQ\0\0\0\0\0\0\0\x01", |e| *e == KeyError::DataSegments),
            // short generation
            (b"cQ\0\0\0\0", |e| *e == KeyError::DataSegments),
            // message id not base64url (nor UTF-8)
            (b"cQ\0\0\0\0\0\0\0\x01!\xff", |e| {
                *e == KeyError::Segment {
                    segment: SegmentName::MessageId,
                    error: SegmentError::NotUtf8,
                }
            }),
            // partitioned, no message id
            (b"p|cQ|\0\0\0\x01\0\0\0\0\0\0\0\x01", |e| {
                *e == KeyError::PartitionedMessageId
            }),
            // partitioned, empty queue
            (b"p||\0\0\0\x01\0\0\0\0\0\0\0\x01bTE", |e| {
                *e == KeyError::PartitionedQueue
            }),
            // partitioned, no terminator
            (b"p|cQ\0\0\0\x01\0\0\0\0\0\0\0\x01bTE", |e| {
                *e == KeyError::PartitionedQueue
            }),
        ];
        for (k, is) in bad {
            let e = parse_data_key(k).unwrap_err();
            assert!(is(&e), "{k:?}: {e:?}");
        }
        let e = parse_data_key(b"cQ\0\0\0\0\0\0\0\x01!!").unwrap_err();
        assert!(id_segment(&e), "{e:?}");
        assert!(
            e.to_string().starts_with("message-id segment: invalid base64url"),
            "{e}"
        );
        let e = parse_data_key(b"p|cQ|\0\0\0\x01\0\0\0\0\0\0\0\x01!!").unwrap_err();
        assert!(id_segment(&e), "{e:?}");
        // A queue segment of length 1 mod 4 is not base64.
        let e = parse_data_key(b"abcde\0\0\0\0\0\0\0\x01bTE").unwrap_err();
        assert!(
            matches!(
                e,
                KeyError::Segment {
                    segment: SegmentName::Queue,
                    error: SegmentError::Base64 { .. }
                }
            ),
            "{e:?}"
        );
        for (e, text) in [
            (
                KeyError::DataSegments,
                "queue segment or message-id segment not found",
            ),
            (
                KeyError::PartitionedMessageId,
                "partitioned data key: no message-id segment after partition and generation",
            ),
            (
                KeyError::PartitionedQueue,
                "partitioned key: no `|`-terminated queue segment",
            ),
            (
                KeyError::PartitionedTrailer,
                "partitioned key: trailer shorter than partition and generation",
            ),
            (
                KeyError::SideTrailer,
                "queue segment not followed by a binary trailer",
            ),
            (KeyError::EmptyQueue, "empty queue segment"),
            (
                KeyError::Segment {
                    segment: SegmentName::MessageId,
                    error: SegmentError::NotUtf8,
                },
                "message-id segment: segment is not base64url",
            ),
        ] {
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn side_keys_parse_to_their_queue() {
        let keys = [
            (msg_vis_key("q", Lane::Classic, 1, 5, "m"), MSG_VIS_PREFIX),
            (
                msg_byage_key("q", Lane::Partition(1), 1, 5, "m"),
                MSG_BYAGE_PREFIX,
            ),
            (
                msg_dedup_key("q", Lane::Partition(1), 1, "g", "d"),
                MSG_DEDUP_PREFIX,
            ),
            (msg_group_key("q", Lane::Classic, 1, "g"), MSG_GROUP_PREFIX),
            (queue_tombstone_key("q", 3), QUEUE_TOMBSTONE_PREFIX),
        ];
        for (k, p) in keys {
            assert_eq!(parse_side_key(k.strip_prefix(p).unwrap()), Ok(&b"cQ"[..]));
        }
        assert_eq!(parse_side_key(b"cQ"), Err(KeyError::SideTrailer)); // no trailer
        assert_eq!(parse_side_key(b""), Err(KeyError::SideTrailer));
        assert_eq!(
            parse_side_key(b"p|cQ|\0\0\0\x01\0\0\0"),
            Err(KeyError::PartitionedTrailer)
        ); // short trailer
        assert_eq!(parse_seq_key(b"cQ"), Ok(&b"cQ"[..]));
        assert_eq!(parse_seq_key(b""), Err(KeyError::EmptyQueue));
        assert!(matches!(
            parse_seq_key(b"c"),
            Err(KeyError::Segment {
                segment: SegmentName::Queue,
                error: SegmentError::Base64 { .. }
            })
        ));
    }

    #[test]
    fn partition_routing_matches_the_live_vectors() {
        assert_eq!(partition_for(2, "", "g0"), 0);
        assert_eq!(partition_for(2, "", "g1"), 1);
        assert_eq!(partition_for(4, THROUGHPUT_PER_GROUP, "g0"), 2);
        assert_eq!(partition_for(4, THROUGHPUT_PER_QUEUE, "g0"), 0);
        assert_eq!(partition_for(1, "", "g1"), 0);
        assert_eq!(partition_for(8, "", ""), 0);
    }

    #[test]
    fn kinds_round_trip_their_tags() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_tag(k as u8), Some(k));
        }
        assert_eq!(Kind::from_tag(200), None);
    }
}
