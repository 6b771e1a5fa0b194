//! Adapters: one folder per elastickv API (`redis/`, later `dynamodb/`, `s3/`, `sqs/`), each
//! owning its internal key and value layouts (`keys.rs`) and both directions of the
//! conversion (`decode.rs`: records → tree, `encode.rs`: tree → records).
//!
//! This file holds what every adapter plugs into:
//! * the route table ([`ROUTES`], [`route`]): which user-key prefix belongs to which adapter
//!   and family, matched longest prefix first (s3_tree_pipeline.md §10.3, containers.md §5);
//! * the [`Decoder`] and [`Encoder`] traits the pipeline drives, and [`encode_files`], the
//!   parallel per-file walk an encoder hands its files to;
//! * [`AdapterError`], the one error type of this layer.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use crate::container::display_key;
use crate::dump::DumpTree;
use crate::ErrorKind;

pub mod redis;

/// The four adapters, in the canonical order of MANIFEST/ENCODE_INFO (`redis, dynamodb, s3, sqs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Adapter {
    Redis,
    DynamoDb,
    S3,
    Sqs,
}

impl Adapter {
    /// Every adapter, in canonical order.
    pub const ALL: [Adapter; 4] = [Adapter::Redis, Adapter::DynamoDb, Adapter::S3, Adapter::Sqs];

    /// The name used on the command line, in MANIFEST.json and as the tree's top directory.
    pub fn name(self) -> &'static str {
        match self {
            Adapter::Redis => "redis",
            Adapter::DynamoDb => "dynamodb",
            Adapter::S3 => "s3",
            Adapter::Sqs => "sqs",
        }
    }

    /// Parse a canonical adapter name.
    pub fn from_name(name: &str) -> Option<Adapter> {
        Adapter::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether this toolkit decodes and encodes this adapter yet. Records of an adapter that
    /// is not built are counted and reported with one warning, never silently dropped.
    pub fn is_built(self) -> bool {
        matches!(self, Adapter::Redis)
    }
}

/// What a user key is, as far as routing and `inspect` care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    RedisString,
    RedisHash,
    RedisList,
    RedisSet,
    RedisZset,
    RedisStream,
    RedisHll,
    RedisTtl,
    DynamoDb,
    S3,
    Sqs,
    /// Owned by elastickv itself (transactions, routing catalog, encryption registry…).
    Internal,
    /// No route: user data outside the adapters, or a family this toolkit does not know.
    Unknown,
}

impl Family {
    /// Every family, in report order.
    pub const ALL: [Family; 13] = [
        Family::RedisString,
        Family::RedisHash,
        Family::RedisList,
        Family::RedisSet,
        Family::RedisZset,
        Family::RedisStream,
        Family::RedisHll,
        Family::RedisTtl,
        Family::DynamoDb,
        Family::S3,
        Family::Sqs,
        Family::Internal,
        Family::Unknown,
    ];

    /// A stable lower-case name (used by `inspect` and its JSON).
    pub fn name(self) -> &'static str {
        match self {
            Family::RedisString => "redis_string",
            Family::RedisHash => "redis_hash",
            Family::RedisList => "redis_list",
            Family::RedisSet => "redis_set",
            Family::RedisZset => "redis_zset",
            Family::RedisStream => "redis_stream",
            Family::RedisHll => "redis_hll",
            Family::RedisTtl => "redis_ttl",
            Family::DynamoDb => "dynamodb",
            Family::S3 => "s3",
            Family::Sqs => "sqs",
            Family::Internal => "internal",
            Family::Unknown => "unknown",
        }
    }

    /// The adapter that owns this family, if any.
    pub fn adapter(self) -> Option<Adapter> {
        match self {
            Family::RedisString
            | Family::RedisHash
            | Family::RedisList
            | Family::RedisSet
            | Family::RedisZset
            | Family::RedisStream
            | Family::RedisHll
            | Family::RedisTtl => Some(Adapter::Redis),
            Family::DynamoDb => Some(Adapter::DynamoDb),
            Family::S3 => Some(Adapter::S3),
            Family::Sqs => Some(Adapter::Sqs),
            Family::Internal | Family::Unknown => None,
        }
    }
}

/// One prefix of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub prefix: &'static [u8],
    pub family: Family,
}

const fn r(prefix: &'static [u8], family: Family) -> Route {
    Route { prefix, family }
}

/// Prefixes of the adapters not built yet and of elastickv's internal families
/// (s3_tree_pipeline.md §10.3). An adapter's own prefixes live in its `keys.rs`.
const OTHER_ROUTES: &[Route] = &[
    r(b"!ddb|meta|table|", Family::DynamoDb),
    r(b"!ddb|meta|gen|", Family::DynamoDb),
    r(b"!ddb|item|", Family::DynamoDb),
    r(b"!ddb|gsi|", Family::DynamoDb),
    r(b"!s3|bucket|meta|", Family::S3),
    r(b"!s3|obj|head|", Family::S3),
    r(b"!s3|upload|meta|", Family::S3),
    r(b"!s3|upload|part|", Family::S3),
    r(b"!s3|blob|", Family::S3),
    r(b"!s3|chunkref|", Family::S3),
    r(b"!s3|chunkblob|", Family::S3),
    r(b"!s3|bucket|gen|", Family::Internal),
    r(b"!s3|gc|upload|", Family::Internal),
    r(b"!s3route|", Family::Internal),
    r(b"!txn|", Family::Internal),
    r(b"!dist|", Family::Internal),
    r(b"!encryption|", Family::Internal),
    r(b"!sqs|queue|meta|", Family::Sqs),
    r(b"!sqs|queue|gen|", Family::Sqs),
    r(b"!sqs|queue|seq|", Family::Sqs),
    r(b"!sqs|queue|tombstone|", Family::Sqs),
    r(b"!sqs|msg|data|", Family::Sqs),
    r(b"!sqs|msg|vis|", Family::Sqs),
    r(b"!sqs|msg|byage|", Family::Sqs),
    r(b"!sqs|msg|dedup|", Family::Sqs),
    r(b"!sqs|msg|group|", Family::Sqs),
];

/// The whole route table, longest prefix first (stable for equal lengths).
pub fn routes() -> &'static [Route] {
    static TABLE: OnceLock<Vec<Route>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: Vec<Route> = redis::keys::ROUTES.iter().chain(OTHER_ROUTES).copied().collect();
        t.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        t
    })
}

/// The route table split by the byte after `!` (every prefix starts with `!`), each bucket
/// longest prefix first: a lookup compares against a handful of prefixes, not all of them.
fn buckets() -> &'static [Vec<Route>] {
    static BUCKETS: OnceLock<Vec<Vec<Route>>> = OnceLock::new();
    BUCKETS.get_or_init(|| {
        let mut b = vec![Vec::new(); 256];
        for r in routes() {
            if let Some(&c) = r.prefix.get(1) {
                b[usize::from(c)].push(*r);
            }
        }
        b
    })
}

/// The route of a user key: the longest matching prefix, or `None` (an unknown key).
pub fn route(user_key: &[u8]) -> Option<&'static Route> {
    match user_key {
        [b'!', c, ..] => buckets()[usize::from(*c)]
            .iter()
            .find(|r| user_key.starts_with(r.prefix)),
        _ => None,
    }
}

/// Route lookups over a sorted stream: consecutive keys nearly always share their route, so
/// the previous route is tried first. A hit is conclusive only for a route that no longer
/// prefix extends (e.g. `!hs|meta|` is extended by `!hs|meta|d|`); otherwise, and on a miss,
/// the table is searched.
#[derive(Debug, Default)]
pub struct Router {
    last: Option<&'static Route>,
}

impl Router {
    pub fn route(&mut self, user_key: &[u8]) -> Option<&'static Route> {
        if let Some(r) = self.last {
            if user_key.starts_with(r.prefix) && !is_extended(r) {
                return Some(r);
            }
        }
        let r = route(user_key);
        if r.is_some() {
            self.last = r;
        }
        r
    }

    /// The family of a user key (`Unknown` when no prefix matches).
    pub fn family(&mut self, user_key: &[u8]) -> Family {
        self.route(user_key).map_or(Family::Unknown, |r| r.family)
    }
}

/// Whether a longer prefix of the table starts with this route's prefix.
fn is_extended(r: &Route) -> bool {
    static EXTENDED: OnceLock<Vec<&'static [u8]>> = OnceLock::new();
    EXTENDED
        .get_or_init(|| {
            let t = routes();
            t.iter()
                .filter(|a| {
                    t.iter()
                        .any(|b| b.prefix.len() > a.prefix.len() && b.prefix.starts_with(a.prefix))
                })
                .map(|a| a.prefix)
                .collect()
        })
        .contains(&r.prefix)
}

/// The family of a user key (`Unknown` when no prefix matches).
pub fn family_of(user_key: &[u8]) -> Family {
    route(user_key).map_or(Family::Unknown, |r| r.family)
}

/// One live record handed to a decoder: the newest version of a user key (DECISIONS.md D1).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The user key (MVCC suffix removed), including the adapter prefix.
    pub user_key: &'a [u8],
    /// The value body (MVCC value header removed).
    pub value: &'a [u8],
    /// The version's commit timestamp (full HLC).
    pub commit_ts: u64,
    /// The value header's `expireAt` (HLC; 0 = none). Adapters keep TTLs in their values.
    pub expire_at: u64,
    /// Which family the route table assigned.
    pub family: Family,
}

/// A warning raised while decoding, with the Go event name (s3_tree_pipeline.md §10.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub event: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

/// Where a decoder puts warnings.
pub type Warnings = Vec<Warning>;

/// Records → tree, for one adapter. The pipeline calls `handle` for each live record routed
/// to the adapter (in stream order) and `finalize` exactly once at the end, also after an
/// error. All output goes through the [`DumpTree`], under the adapter's own top directory.
pub trait Decoder {
    fn handle(
        &mut self,
        tree: &mut DumpTree,
        warnings: &mut Warnings,
        record: &Record<'_>,
    ) -> Result<(), AdapterError>;

    fn finalize(&mut self, tree: &mut DumpTree, warnings: &mut Warnings) -> Result<(), AdapterError>;
}

/// Receives the records an encoder emits; the pipeline stamps, sorts and frames them.
pub trait RecordSink {
    fn add(&mut self, user_key: &[u8], user_value: &[u8]) -> Result<(), SinkError>;
}

/// Tree → records, for one adapter. `root` is the dump root (the folder holding MANIFEST.json).
pub trait Encoder {
    fn encode(&mut self, root: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError>;
}

/// The records of one input file, collected away from the real sink so that files can be
/// read and parsed on worker threads (see [`encode_files`]). Adding never fails; the real
/// sink's refusals surface when the batch is replayed, naming the file.
#[derive(Debug)]
pub struct RecordBatch {
    path: PathBuf,
    /// Keys and values back to back.
    bytes: Vec<u8>,
    /// `(key length, value length)` per record, in the order added.
    lens: Vec<(usize, usize)>,
}

impl RecordBatch {
    /// An empty batch for the records of `path`.
    pub fn new(path: &Path) -> RecordBatch {
        RecordBatch {
            path: path.to_path_buf(),
            bytes: Vec::new(),
            lens: Vec::new(),
        }
    }

    /// Bytes held (what the window of [`encode_files`] counts).
    pub fn weight(&self) -> usize {
        self.bytes.len() + self.lens.len() * std::mem::size_of::<(usize, usize)>() + 64
    }

    /// Add every record, in order, to `sink`.
    pub fn replay(&self, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        let mut at = 0;
        for &(k, v) in &self.lens {
            let key = &self.bytes[at..at + k];
            let value = &self.bytes[at + k..at + k + v];
            at += k + v;
            sink.add(key, value).map_err(|source| AdapterError::Sink {
                path: self.path.clone(),
                key: display_key(key),
                source,
            })?;
        }
        Ok(())
    }
}

impl RecordSink for RecordBatch {
    fn add(&mut self, user_key: &[u8], user_value: &[u8]) -> Result<(), SinkError> {
        self.bytes.extend_from_slice(user_key);
        self.bytes.extend_from_slice(user_value);
        self.lens.push((user_key.len(), user_value.len()));
        Ok(())
    }
}

/// Bytes of finished, not yet replayed batches that [`encode_files`] lets the workers run
/// ahead by.
pub const ENCODE_WINDOW: usize = 16 << 20;

/// Run `work` on every file job with `threads` workers (read, parse, build the records) and
/// replay the batches into `sink` in job order, on the calling thread: the records reach the
/// sink, and the first error is reported, exactly as in a sequential walk.
pub fn encode_files<J: Sync>(
    jobs: &[J],
    threads: usize,
    work: impl Fn(&J) -> Result<RecordBatch, AdapterError> + Sync,
    sink: &mut dyn RecordSink,
) -> Result<(), AdapterError> {
    crate::ordered::map_in_order(jobs, threads, ENCODE_WINDOW, work, RecordBatch::weight, |batch| {
        batch.replay(sink)
    })
}

/// Worker threads for reading the files of a tree when none is asked for: the machine's
/// parallelism, at most 8 (beyond that the sort on the calling thread is the bottleneck).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// Why a [`RecordSink`] refused a record.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("encoded key of {len} bytes exceeds the limit of {max} bytes")]
    KeyTooLarge { len: usize, max: usize },
    #[error("encoded value of {len} bytes exceeds the limit of {max} bytes")]
    ValueTooLarge { len: usize, max: usize },
    #[error("record sink: {0}")]
    Io(#[from] std::io::Error),
}

/// The error of the adapter layer. Every variant names the file or the key involved.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// A record in the snapshot is malformed for its family (decode).
    #[error("{adapter}: key {key}: {what}")]
    BadRecord {
        adapter: &'static str,
        key: String,
        what: String,
    },
    /// A file of the dump tree is malformed (encode).
    #[error("{}: {what}", path.display())]
    BadFile { path: PathBuf, what: String },
    /// The sink refused a record (encode).
    #[error("{}: key {key}: {source}", path.display())]
    Sink {
        path: PathBuf,
        key: String,
        source: SinkError,
    },
    /// A dump-layer failure (filename, JSON, file I/O).
    #[error(transparent)]
    Dump(#[from] crate::dump::DumpError),
    /// I/O on a named file.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl AdapterError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdapterError::BadRecord { .. } | AdapterError::BadFile { .. } => ErrorKind::Data,
            AdapterError::Sink {
                source: SinkError::Io(_),
                ..
            } => ErrorKind::Usage,
            AdapterError::Sink { .. } => ErrorKind::Data,
            AdapterError::Dump(e) => e.kind(),
            AdapterError::Io { .. } => ErrorKind::Usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refuses the `n`-th record (from 0), collecting the ones before it.
    struct RefuseAt(usize, Vec<(Vec<u8>, Vec<u8>)>);

    impl RecordSink for RefuseAt {
        fn add(&mut self, k: &[u8], v: &[u8]) -> Result<(), SinkError> {
            if self.1.len() == self.0 {
                return Err(SinkError::KeyTooLarge { len: k.len(), max: 1 });
            }
            self.1.push((k.to_vec(), v.to_vec()));
            Ok(())
        }
    }

    #[test]
    fn a_batch_replays_its_records_in_order_and_names_the_file_on_refusal() {
        let mut batch = RecordBatch::new(Path::new("redis/db_0/hashes/h.json"));
        let records: [(&[u8], &[u8]); 4] =
            [(b"!hs|b", b""), (b"", b"v"), (b"!hs|a", b"\xff\x00"), (b"k", b"")];
        for (k, v) in records {
            batch.add(k, v).unwrap();
        }
        let mut all = RefuseAt(usize::MAX, Vec::new());
        batch.replay(&mut all).unwrap();
        let want: Vec<_> = records.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(all.1, want);
        assert!(batch.weight() >= 12);

        let mut third = RefuseAt(2, Vec::new());
        let err = batch.replay(&mut third).unwrap_err();
        assert_eq!(third.1, want[..2]);
        let text = err.to_string();
        assert!(text.starts_with("redis/db_0/hashes/h.json: key "), "{text}");
        assert!(text.contains("exceeds the limit"), "{text}");
        assert_eq!(err.kind(), ErrorKind::Data);
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(family_of(b"!hs|meta|d|\0\0\0\x01k"), Family::RedisHash);
        assert_eq!(family_of(b"!s3|bucket|gen|b"), Family::Internal);
        assert_eq!(family_of(b"!s3|bucket|meta|b"), Family::S3);
        assert_eq!(family_of(b"!txn|lock|x"), Family::Internal);
        assert_eq!(family_of(b"plain"), Family::Unknown);
        assert_eq!(family_of(b"!redis|hash|legacy"), Family::Unknown);
        let t = routes();
        assert!(t.windows(2).all(|w| w[0].prefix.len() >= w[1].prefix.len()));
        assert!(t.iter().all(|r| r.prefix.len() >= 2 && r.prefix[0] == b'!'));
        // The bucketed lookup agrees with a scan of the whole table.
        for r in t {
            let mut k = r.prefix.to_vec();
            k.extend_from_slice(b"key");
            let scan = t.iter().find(|x| k.starts_with(x.prefix)).map(|x| x.family);
            assert_eq!(route(&k).map(|x| x.family), scan);
        }
        assert_eq!(route(b"!"), None);
        assert_eq!(route(b""), None);
        // The router's shortcut never changes an answer, whatever came before.
        let keys: Vec<&[u8]> = vec![
            b"!hs|meta|\0\0\0\x01k",
            b"!hs|meta|d|\0\0\0\x01k",
            b"!hs|meta|\0\0\0\x01k",
            b"!redis|str|a",
            b"!redis|str|b",
            b"plain",
            b"!s3|bucket|gen|b",
            b"!s3|bucket|meta|b",
        ];
        let mut router = Router::default();
        for k in keys.iter().chain(keys.iter().rev()) {
            assert_eq!(router.family(k), family_of(k), "{}", display_key(k));
        }
    }

    #[test]
    fn family_all_is_in_discriminant_order() {
        for (i, f) in Family::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i);
        }
    }
}
