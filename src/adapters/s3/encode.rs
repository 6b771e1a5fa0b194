//! S3 encoder: `s3/<bucket>/…` → records (s3_tree_pipeline.md §4), byte-identical to Go's
//! `S3RecordEncoder`: per bucket the meta and generation records, then per object body its
//! 1 MiB blob chunks and its manifest, all stamped generation 1, upload `elastickv-restore`,
//! part 1.
//!
//! The walk is sorted (Go's is in directory order; the records are sorted later, so only the
//! first error reported can differ). Object directories are listed through
//! `dump::walk::SortedEntries` (sorted through the external sorter), so memory does not grow
//! with the number of objects in one directory; the top-level listing of buckets stays a
//! `list_dir`. A body is read once: a sink that reads file ranges when it writes them
//! (`RecordSink::checks_ranges`, the encode's) gets a body of at least `REFERENCE_MIN`
//! bytes as the ranges of its chunks, sized from its `fstat` length and not read here,
//! the sink checking it against CHECKSUMS as it reads them (`FileRange::check_file`);
//! otherwise the body is read here, hashed for CHECKSUMS as it is read, and handed over one
//! chunk at a time with where it lies in the file (`RecordSink::add_from_file`). The
//! walk queues the objects it meets and encodes them a round at a time on the context's
//! worker threads (`adapters::encode_files`: records replayed in walk order), so the
//! records, and the first error, are those of a sequential walk. Memory: at most a 1 MiB
//! buffer per worker whatever the body's size, and the queue of paths.
//!
//! Input checks, each an error naming the file: `_bucket.json`, KEYMAP.jsonl and sidecars
//! must be one JSON value of the expected shape (§4.2–§4.4); every file read must be a
//! regular file with one link; a body needs its sidecar and (ours, DECISIONS.md A10) a
//! sidecar needs its body; symlinks and special files anywhere are refused (D12).

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::keys::{self, GoObj, JsonError, LiveManifest, LivePart, RestoreBucketMeta};
use super::{hlc, KEYMAP_NAME, LEAF_DATA_SUFFIX, META_SUFFIX};
use crate::adapters::{
    display_key, encode_files, AdapterError, Cause, EncodeContext, Encoder, FileRange, RecordBatch,
    RecordSink, SinkError, REFERENCE_MIN,
};
use crate::dump::checksums::{StreamedInput, TreeReader, MAX_JSON_FILE};
use crate::dump::filename::encode_segment;
use crate::dump::fs::{list_dir, EntryKind};
use crate::dump::json::{self, JsonStyle};
use crate::dump::keymap::{self, KIND_META_SUFFIX_RENAME, KIND_S3_LEAF_DATA, KIND_SHA_FALLBACK};
use crate::dump::walk::{SortedEntries, LISTING_SORT_BUDGET};
use crate::dump::DumpError;

/// Tree → records for `s3/`.
#[derive(Debug)]
pub struct S3Encoder {
    /// Reads the tree's files, checked against CHECKSUMS (D15).
    reader: TreeReader,
    lister: Lister,
    /// Workers reading (and hashing) object bodies.
    threads: usize,
}

impl S3Encoder {
    /// An encoder reading through the context's [`TreeReader`].
    pub fn new(_options: &super::S3Options, cx: &EncodeContext) -> S3Encoder {
        S3Encoder {
            reader: cx.reader.clone(),
            lister: Lister {
                scratch_dir: cx.scratch_dir.clone(),
                budget: LISTING_SORT_BUDGET,
            },
            threads: cx.threads,
        }
    }
}

/// Lists a bucket's directories in name order through the external sorter
/// ([`SortedEntries`]): an object directory may hold any number of files.
#[derive(Debug)]
struct Lister {
    scratch_dir: PathBuf,
    /// Memory budget of one listing ([`LISTING_SORT_BUDGET`]; smaller in tests).
    budget: usize,
}

impl Lister {
    fn list(&self, dir: &Path) -> Result<Option<SortedEntries>, AdapterError> {
        Ok(SortedEntries::list(dir, self.budget, &self.scratch_dir)?)
    }
}

/// Why a JSON file of an `s3/` tree does not read as its Go struct; the `source` of
/// [`AdapterError::BadFile`] with the path. The messages are the encoder's error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3FileError {
    /// `_bucket.json` or an object sidecar (`file` names which) is not valid.
    #[error("invalid {file}: {error}")]
    Json {
        /// `_bucket.json` or `object sidecar`.
        file: &'static str,
        /// What is wrong with it.
        error: JsonError,
    },
}

/// Why a record of a bucket's KEYMAP.jsonl breaks the rules of §4.3 (D11 for
/// `sha-fallback`). The dump layer's reader reports it with the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapRuleError {
    /// A kind other than `s3-leaf-data`, `meta-suffix-rename` and `sha-fallback`.
    #[error("unknown kind {kind:?}")]
    UnknownKind {
        /// The kind given.
        kind: String,
    },
    /// An encoded path the walk could never reach as an object.
    #[error("encoded path {encoded:?} is not a valid object path")]
    EncodedPath {
        /// The encoded path.
        encoded: String,
    },
    /// An empty original key (allowed only for `sha-fallback`).
    #[error("empty original key")]
    EmptyOriginal,
    /// An original key that is not a valid object path.
    #[error("original key {} is not a valid object path", display_key(original))]
    OriginalPath {
        /// The original key.
        original: Vec<u8>,
    },
    /// An original key under `_orphans/` or `_incomplete_uploads/`.
    #[error("original key {} is under a reserved directory", display_key(original))]
    OriginalReserved {
        /// The original key.
        original: Vec<u8>,
    },
    /// Kind `s3-leaf-data` on a path without the leaf-data suffix.
    #[error("kind s3-leaf-data but {encoded:?} lacks {}", LEAF_DATA_SUFFIX)]
    LeafDataSuffix {
        /// The encoded path.
        encoded: String,
    },
    /// Kind `meta-suffix-rename` on an original key without the sidecar suffix.
    #[error("kind meta-suffix-rename but the original lacks {}", META_SUFFIX)]
    MetaSuffix,
    /// Two records for one encoded path.
    #[error("duplicate encoded path {encoded:?}")]
    Duplicate {
        /// The encoded path.
        encoded: String,
    },
}

fn bad_file(path: &Path, cause: impl Into<Cause>) -> AdapterError {
    AdapterError::bad_file(path, cause)
}

/// `_bucket.json` or an object sidecar (`file`) at `path` is not valid.
fn invalid(path: &Path, file: &'static str, error: JsonError) -> AdapterError {
    bad_file(path, S3FileError::Json { file, error })
}

fn add(sink: &mut dyn RecordSink, path: &Path, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
    sink.add(key, value).map_err(sink_error(path, key))
}

/// The sink refused the record `key` of the file at `path`.
fn sink_error<'a>(path: &'a Path, key: &'a [u8]) -> impl FnOnce(SinkError) -> AdapterError + 'a {
    move |source| AdapterError::Sink {
        path: path.to_path_buf(),
        key: display_key(key),
        source,
    }
}

/// Refuse what is neither a directory nor a regular file (D12).
fn refuse_special(path: &Path, kind: &EntryKind) -> Result<(), AdapterError> {
    match kind {
        EntryKind::Symlink => Err(DumpError::unsafe_path(path, "symbolic link in the s3 tree").into()),
        EntryKind::Other => Err(DumpError::unsafe_path(path, "not a regular file or directory").into()),
        EntryKind::File | EntryKind::Dir => Ok(()),
    }
}

/// Parse exactly one JSON value (Go `decodeOneJSON`: a trailing `]`/`}` goes unnoticed).
fn one_json(reader: &TreeReader, path: &Path, what: &'static str) -> Result<serde_json::Value, AdapterError> {
    let bytes = reader.read(path, MAX_JSON_FILE)?;
    json::parse_one(&bytes, true).map_err(|reason| invalid(path, what, JsonError::Syntax { reason }))
}

fn format_version(o: &GoObj<'_>, path: &Path, what: &'static str) -> Result<(), AdapterError> {
    let v = o.u64("format_version").map_err(|e| invalid(path, what, e))?;
    if v > u64::from(u32::MAX) {
        return Err(bad_file(
            path,
            format!("invalid {what}: format_version {v} overflows uint32"),
        ));
    }
    if v != 1 {
        return Err(bad_file(
            path,
            format!("invalid {what}: unsupported format_version {v}"),
        ));
    }
    Ok(())
}

impl Encoder for S3Encoder {
    fn encode(&mut self, root: &Path, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        let dir = root.join("s3");
        let Some(entries) = list_dir(&dir)? else {
            return Ok(());
        };
        for e in entries {
            refuse_special(&e.path, &e.kind)?;
            match e.kind {
                EntryKind::Dir => {
                    let walk = Walk {
                        reader: &self.reader,
                        lister: &self.lister,
                        threads: self.threads,
                        dir: &e.path,
                        bucket: &[],
                        keymap: None,
                    };
                    encode_bucket(walk, e.name.as_bytes(), sink)?
                }
                _ if e.name.as_bytes().starts_with(b"_") => {}
                _ => {
                    return Err(bad_file(
                        &e.path,
                        "not a directory: top-level entries under s3/ must be bucket directories",
                    ))
                }
            }
        }
        Ok(())
    }
}

/// A bucket's KEYMAP.jsonl, when it is the collision tracker: encoded path → original key.
type Keymap = HashMap<String, Vec<u8>>;

/// Encode the bucket at `walk.dir` (`walk.bucket` and `walk.keymap` are set from its files).
fn encode_bucket(walk: Walk<'_>, dir_name: &[u8], sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
    let dir = walk.dir;
    let meta_path = dir.join("_bucket.json");
    let value = one_json(walk.reader, &meta_path, "_bucket.json")?;
    let o = GoObj::new(&value, "_bucket.json").map_err(|e| bad_file(&meta_path, e))?;
    format_version(&o, &meta_path, "_bucket.json")?;
    let field = |name: &'static str| o.string(name).map_err(|e| invalid(&meta_path, "_bucket.json", e));
    let (name, owner, region, acl) = (field("name")?, field("owner")?, field("region")?, field("acl")?);
    for f in ["creation_time_iso", "versioning", "policy_json"] {
        field(f)?;
    }
    if name.is_empty() {
        return Err(bad_file(&meta_path, "invalid _bucket.json: empty bucket name"));
    }
    let want = encode_segment(name.as_bytes()).name;
    if want.as_bytes() != dir_name {
        return Err(bad_file(
            &meta_path,
            format!(
                "invalid _bucket.json: bucket name {name:?} encodes to directory {want:?}, not {:?}",
                String::from_utf8_lossy(dir_name)
            ),
        ));
    }
    let bucket = name.as_bytes();
    let meta = RestoreBucketMeta {
        bucket_name: &name,
        generation: keys::RESTORE_GENERATION,
        created_at_hlc: 0,
        owner: &owner,
        region: &region,
        acl: &acl,
    };
    add(
        sink,
        &meta_path,
        &keys::bucket_meta_key(bucket),
        &json::to_vec(&meta, JsonStyle::MARSHAL),
    )?;
    add(
        sink,
        &meta_path,
        &keys::bucket_gen_key(bucket),
        &keys::RESTORE_GENERATION.to_be_bytes(),
    )?;
    let keymap = load_tracker(dir)?;
    let walk = Walk {
        bucket,
        keymap: keymap.as_ref(),
        ..walk
    };
    let mut pending = Vec::new();
    let walked = walk.walk(&[], &mut pending, sink);
    // The objects met before the walk stopped come first, and so does their error.
    walk.encode_pending(&mut pending, sink).and(walked)
}

fn lstat_regular(path: &Path) -> Result<Option<bool>, AdapterError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m.file_type().is_file())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AdapterError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// §4.3: KEYMAP.jsonl is the tracker iff it is a regular file and
/// `KEYMAP.jsonl.elastickv-meta.json` is not a regular file.
fn load_tracker(dir: &Path) -> Result<Option<Keymap>, AdapterError> {
    let path = dir.join(KEYMAP_NAME);
    if lstat_regular(&path)? != Some(true) {
        return Ok(None);
    }
    let mut sidecar = path.clone().into_os_string();
    sidecar.push(META_SUFFIX);
    if lstat_regular(Path::new(&sidecar))? == Some(true) {
        return Ok(None);
    }
    let mut map = Keymap::new();
    keymap::for_each_record(&path, |_, r| {
        // The dump layer's reader takes the rule's message (it adds the file and line).
        check_keymap_record(&r).map_err(|e| e.to_string())?;
        if map.insert(r.encoded.clone(), r.original).is_some() {
            return Err(KeymapRuleError::Duplicate { encoded: r.encoded }.to_string());
        }
        Ok(())
    })?;
    let mut encoded: Vec<&String> = map.keys().collect();
    encoded.sort();
    for e in encoded {
        if lstat_regular(&dir.join(e))? != Some(true) {
            return Err(bad_file(
                &path,
                format!("orphan keymap record {e:?}: want a regular file"),
            ));
        }
    }
    Ok(Some(map))
}

/// Whether a `/`-separated path has an empty, `.` or `..` segment.
fn has_bad_segment(p: &[u8]) -> bool {
    p.split(|&b| b == b'/')
        .any(|s| s.is_empty() || s == b"." || s == b"..")
}

fn first_segment(p: &[u8]) -> &[u8] {
    p.split(|&b| b == b'/').next().unwrap_or_default()
}

/// The record rules of §4.3, except that a `sha-fallback` original may be any key our
/// decoder renamed because a filesystem cannot hold it (DECISIONS.md D11).
fn check_keymap_record(r: &keymap::Record) -> Result<(), KeymapRuleError> {
    let (enc, orig) = (r.encoded.as_bytes(), r.original.as_slice());
    if ![KIND_S3_LEAF_DATA, KIND_META_SUFFIX_RENAME, KIND_SHA_FALLBACK].contains(&r.kind.as_str()) {
        return Err(KeymapRuleError::UnknownKind { kind: r.kind.clone() });
    }
    let last = enc.rsplit(|&b| b == b'/').next().unwrap_or_default();
    if enc.contains(&b'\\')
        || has_bad_segment(enc)
        || last.ends_with(META_SUFFIX.as_bytes())
        || enc == b"_bucket.json"
        || enc == KEYMAP_NAME.as_bytes()
        || [&b"_orphans"[..], b"_incomplete_uploads"].contains(&first_segment(enc))
    {
        return Err(KeymapRuleError::EncodedPath {
            encoded: r.encoded.clone(),
        });
    }
    if orig.is_empty() && r.kind != KIND_SHA_FALLBACK {
        return Err(KeymapRuleError::EmptyOriginal);
    }
    let d11 = r.kind == KIND_SHA_FALLBACK;
    if !d11 && (orig.contains(&0) || orig.contains(&b'\\') || has_bad_segment(orig)) {
        return Err(KeymapRuleError::OriginalPath {
            original: orig.to_vec(),
        });
    }
    if [&b"_orphans"[..], b"_incomplete_uploads"].contains(&first_segment(orig)) {
        return Err(KeymapRuleError::OriginalReserved {
            original: orig.to_vec(),
        });
    }
    if r.kind == KIND_S3_LEAF_DATA && !enc.ends_with(LEAF_DATA_SUFFIX.as_bytes()) {
        return Err(KeymapRuleError::LeafDataSuffix {
            encoded: r.encoded.clone(),
        });
    }
    if r.kind == KIND_META_SUFFIX_RENAME && !orig.ends_with(META_SUFFIX.as_bytes()) {
        return Err(KeymapRuleError::MetaSuffix);
    }
    Ok(())
}

fn join_rel(rel: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = rel.to_vec();
    if !out.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

/// Objects the walk collects before encoding them together on the workers.
const OBJECTS_PER_ROUND: usize = 1024;

/// An object met by the walk, not yet encoded: its body's path and its `/`-joined path
/// below the bucket directory.
type PendingObject = (PathBuf, Vec<u8>);

/// What the walk of one bucket shares.
struct Walk<'a> {
    reader: &'a TreeReader,
    lister: &'a Lister,
    threads: usize,
    /// The bucket's directory.
    dir: &'a Path,
    bucket: &'a [u8],
    keymap: Option<&'a Keymap>,
}

impl Walk<'_> {
    /// Encode the objects under `rel` (a `/`-separated path below the bucket directory), in
    /// name order. Objects are queued in `pending` and encoded a round at a time
    /// ([`Walk::encode_pending`]); the caller encodes what is left, also after an error of
    /// the walk, which comes after theirs.
    fn walk(
        &self,
        rel: &[u8],
        pending: &mut Vec<PendingObject>,
        sink: &mut dyn RecordSink,
    ) -> Result<(), AdapterError> {
        let here = if rel.is_empty() {
            self.dir.to_path_buf()
        } else {
            self.dir.join(std::ffi::OsStr::from_bytes(rel))
        };
        let Some(mut entries) = self.lister.list(&here)? else {
            return Ok(());
        };
        while let Some(e) = entries.next()? {
            refuse_special(&e.path, &e.kind)?;
            let name = e.name.as_bytes();
            let child = join_rel(rel, name);
            if e.kind == EntryKind::Dir {
                if rel.is_empty() && (name == b"_incomplete_uploads" || name == b"_orphans") {
                    if let Some(p) = find_sidecar(self.lister, &e.path)? {
                        return Err(bad_file(
                            &p,
                            "user object key collides with a reserved dump directory: rename the S3 key before backup",
                        ));
                    }
                    continue;
                }
                self.walk(&child, pending, sink)?;
                continue;
            }
            if rel.is_empty()
                && (name == b"_bucket.json" || (name == KEYMAP_NAME.as_bytes() && self.keymap.is_some()))
            {
                continue;
            }
            if let Some(body) = name.strip_suffix(META_SUFFIX.as_bytes()) {
                let body_path = e.path.with_file_name(std::ffi::OsStr::from_bytes(body));
                if lstat_regular(&body_path)?.is_none() {
                    return Err(bad_file(&e.path, "sidecar without its object body"));
                }
                continue;
            }
            pending.push((e.path, child));
            if pending.len() >= OBJECTS_PER_ROUND {
                self.encode_pending(pending, sink)?;
            }
        }
        Ok(())
    }

    /// Encode the queued objects on the workers (each body read and hashed on one, or
    /// handed over unread when `sink` checks ranges), their records reaching `sink` in
    /// queue order, so the records and the first error are those of encoding them one by
    /// one.
    fn encode_pending(
        &self,
        pending: &mut Vec<PendingObject>,
        sink: &mut dyn RecordSink,
    ) -> Result<(), AdapterError> {
        let unread = sink.checks_ranges();
        let encoded = encode_files(
            pending,
            self.threads,
            |(path, rel)| {
                let mut batch = RecordBatch::new(path);
                let object = Object {
                    path,
                    rel,
                    bucket: self.bucket,
                    keymap: self.keymap,
                };
                encode_object(self.reader, &object, unread, &mut batch)?;
                Ok(batch)
            },
            sink,
        );
        pending.clear();
        encoded
    }
}

/// The first file below `dir` whose name ends with the sidecar suffix.
fn find_sidecar(lister: &Lister, dir: &Path) -> Result<Option<PathBuf>, AdapterError> {
    let Some(mut entries) = lister.list(dir)? else {
        return Ok(None);
    };
    while let Some(e) = entries.next()? {
        if e.kind == EntryKind::Dir {
            if let Some(p) = find_sidecar(lister, &e.path)? {
                return Ok(Some(p));
            }
        } else if e.name.as_bytes().ends_with(META_SUFFIX.as_bytes()) {
            return Ok(Some(e.path));
        }
    }
    Ok(None)
}

/// The sidecar fields the manifest carries (`s3PublicManifest`).
struct Sidecar {
    manifest: LiveManifest,
}

fn read_sidecar(reader: &TreeReader, path: &Path) -> Result<Sidecar, AdapterError> {
    let value = one_json(reader, path, "object sidecar")?;
    let bad = |e: JsonError| invalid(path, "object sidecar", e);
    let o = GoObj::new(&value, "object sidecar").map_err(bad)?;
    format_version(&o, path, "object sidecar")?;
    let s = |name: &'static str| o.string(name).map_err(bad);
    let last_modified = s("last_modified")?;
    Ok(Sidecar {
        manifest: LiveManifest {
            upload_id: String::from_utf8_lossy(keys::RESTORE_UPLOAD_ID).into_owned(),
            etag: s("etag")?,
            size_bytes: o.i64("size_bytes").map_err(bad)?,
            last_modified_hlc: hlc::parse_hlc(&last_modified),
            content_type: s("content_type")?,
            content_encoding: s("content_encoding")?,
            cache_control: s("cache_control")?,
            content_disposition: s("content_disposition")?,
            user_metadata: o.string_map("user_metadata").map_err(bad)?,
            parts: None,
        },
    })
}

/// An object body met by the walk.
struct Object<'a> {
    /// The body's path.
    path: &'a Path,
    /// Its `/`-joined path below the bucket directory.
    rel: &'a [u8],
    bucket: &'a [u8],
    keymap: Option<&'a Keymap>,
}

/// Emit the chunks and manifest of one object. With `unread` (the sink reads and checks
/// ranges), a body of at least [`REFERENCE_MIN`] bytes is not read: its chunks are the
/// ranges its `fstat` length gives.
fn encode_object(
    reader: &TreeReader,
    object: &Object<'_>,
    unread: bool,
    sink: &mut dyn RecordSink,
) -> Result<(), AdapterError> {
    let Object {
        path,
        rel,
        bucket,
        keymap,
    } = *object;
    let key = std::str::from_utf8(rel)
        .ok()
        .and_then(|r| keymap.and_then(|k| k.get(r)))
        .map_or(rel, Vec::as_slice);
    let mut sidecar_path = path.as_os_str().to_owned();
    sidecar_path.push(META_SUFFIX);
    let sidecar_path = PathBuf::from(sidecar_path);
    if lstat_regular(&sidecar_path)?.is_none() {
        return Err(bad_file(path, "object body without its sidecar"));
    }
    let Sidecar { mut manifest } = read_sidecar(reader, &sidecar_path)?;
    let input = reader.open(path, u64::MAX)?;
    let stamp = input.stamp();
    let blob_key = |chunk_no: usize| {
        keys::blob_key(
            bucket,
            keys::RESTORE_GENERATION,
            key,
            keys::RESTORE_UPLOAD_ID,
            keys::RESTORE_PART_NO,
            chunk_no as u64,
            0,
        )
    };
    let mut sizes = Vec::new();
    let mut offset = 0u64;
    if unread && stamp.len >= REFERENCE_MIN as u64 {
        // The sink reads each chunk, and checks the file, as it writes the records.
        let check_file = reader.verifies();
        while offset < stamp.len {
            let n = (stamp.len - offset).min(keys::CHUNK_SIZE as u64);
            let k = blob_key(sizes.len());
            let source = FileRange {
                path,
                offset,
                stamp,
                check_file,
            };
            sink.add_file_range(&k, &source, n)
                .map_err(sink_error(path, &k))?;
            sizes.push(n);
            offset += n;
        }
    } else {
        read_chunks(reader, input, sink, &mut sizes, &blob_key)?;
        offset = sizes.iter().sum();
    }
    if i64::try_from(offset).ok() != Some(manifest.size_bytes) {
        return Err(bad_file(
            path,
            format!(
                "invalid object sidecar: size_bytes {} != body length {offset}",
                manifest.size_bytes
            ),
        ));
    }
    if !sizes.is_empty() {
        manifest.parts = Some(vec![LivePart {
            part_no: keys::RESTORE_PART_NO,
            etag: manifest.etag.clone(),
            size_bytes: manifest.size_bytes,
            chunk_count: sizes.len() as u64,
            chunk_sizes: sizes,
            ..LivePart::default()
        }]);
    }
    let k = keys::manifest_key(bucket, keys::RESTORE_GENERATION, key);
    add(sink, path, &k, &json::to_vec(&manifest, JsonStyle::MARSHAL))
}

/// Read a body, hashed for CHECKSUMS as it goes, and hand each chunk to the sink with where
/// it lies in the file (the sink may read it again rather than keep it); the chunks' sizes
/// go to `sizes`.
fn read_chunks(
    reader: &TreeReader,
    mut input: StreamedInput,
    sink: &mut dyn RecordSink,
    sizes: &mut Vec<u64>,
    blob_key: &dyn Fn(usize) -> Vec<u8>,
) -> Result<(), AdapterError> {
    let stamp = input.stamp();
    let path = input.path().to_path_buf();
    // A short body needs no 1 MiB buffer; one spare byte lets its end read land.
    let len = usize::try_from(stamp.len).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; keys::CHUNK_SIZE.min(len.saturating_add(1))];
    let mut offset = 0u64;
    loop {
        let n = input.read_full(&mut buf)?;
        if n == 0 {
            break;
        }
        let k = blob_key(sizes.len());
        let source = FileRange {
            path: &path,
            offset,
            stamp,
            check_file: false,
        };
        sink.add_from_file(&k, buf.get(..n).unwrap_or_default(), &source)
            .map_err(sink_error(&path, &k))?;
        sizes.push(n as u64);
        offset += n as u64;
        if n < buf.len() {
            break;
        }
    }
    Ok(reader.finish(input)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<(Vec<u8>, Vec<u8>)>);

    impl RecordSink for Collect {
        fn add(&mut self, k: &[u8], v: &[u8]) -> Result<(), SinkError> {
            self.0.push((k.to_vec(), v.to_vec()));
            Ok(())
        }
    }

    fn put(root: &Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn object(root: &Path, rel: &str, body: &[u8]) {
        put(root, rel, body);
        let sidecar = format!(
            r#"{{"format_version":1,"etag":"e","size_bytes":{},"last_modified":"","content_type":"","content_encoding":"","cache_control":"","content_disposition":"","user_metadata":{{}}}}"#,
            body.len()
        );
        put(root, &format!("{rel}{META_SUFFIX}"), sidecar.as_bytes());
    }

    /// Bucket `b`'s `_bucket.json`.
    fn bucket_b(root: &Path) {
        put(
            root,
            "s3/b/_bucket.json",
            br#"{"format_version":1,"name":"b","owner":"","region":"","acl":"","creation_time_iso":"","versioning":"","policy_json":""}"#,
        );
    }

    /// The records in emission order, listing directories with `budget`.
    type Records = Vec<(Vec<u8>, Vec<u8>)>;

    fn encode(root: &Path, budget: usize) -> Result<Records, AdapterError> {
        encode_with(root, budget, 1)
    }

    fn encode_with(root: &Path, budget: usize, threads: usize) -> Result<Records, AdapterError> {
        let cx = EncodeContext {
            threads,
            scratch_dir: root.to_path_buf(),
            reader: TreeReader::unverified(root),
        };
        let mut enc = S3Encoder::new(&Default::default(), &cx);
        enc.lister.budget = budget;
        let mut sink = Collect::default();
        enc.encode(root, &mut sink)?;
        Ok(sink.0)
    }

    #[test]
    fn object_directories_larger_than_the_budget_spill_and_give_the_same_records() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        bucket_b(root);
        for i in 0..60 {
            object(
                root,
                &format!("s3/b/dir/k{:02}", (i * 7) % 60),
                format!("body {i}").as_bytes(),
            );
        }
        object(root, "s3/b/dir/k30.d/inner", b"x");
        object(root, "s3/b/top", b"");
        let want = encode(root, LISTING_SORT_BUDGET).unwrap();
        assert_eq!(
            want.len(),
            2 + 62 * 2 - 1,
            "one chunk and a manifest per non-empty body"
        );
        // Objects in name order: `dir/k00` … `dir/k30`, `dir/k30.d/inner`, `dir/k31` …, `top`.
        let manifests: Vec<String> = want
            .iter()
            .filter(|(k, _)| k.starts_with(b"!s3|obj|"))
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert!(manifests[0].contains("dir/k00"), "{}", manifests[0]);
        assert!(manifests[31].contains("dir/k30.d/inner"), "{}", manifests[31]);
        assert!(manifests[61].contains("top"), "{}", manifests[61]);
        for budget in [0, 200] {
            assert_eq!(encode(root, budget).unwrap(), want, "budget {budget}");
        }
        assert_eq!(encode_with(root, 200, 3).unwrap(), want, "3 threads");
        // The first error is the same too: a sidecar without a body after many objects.
        put(root, &format!("s3/b/dir/k99{META_SUFFIX}"), b"{}");
        for (budget, threads) in [(0, 1), (LISTING_SORT_BUDGET, 1), (LISTING_SORT_BUDGET, 2)] {
            match encode_with(root, budget, threads) {
                Err(AdapterError::BadFile { path, source }) => {
                    assert!(
                        path.ends_with(format!("dir/k99{META_SUFFIX}")),
                        "{}",
                        path.display()
                    );
                    assert_eq!(source.to_string(), "sidecar without its object body");
                }
                other => panic!("expected BadFile, got {other:?}"),
            }
        }
    }

    #[test]
    fn with_workers_an_object_error_before_a_walk_error_is_the_one_reported() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        bucket_b(root);
        for i in 0..20 {
            object(root, &format!("s3/b/k{i:02}"), &vec![i as u8; 70_000]);
        }
        // k05's sidecar lies about the size (found by a worker); a sidecar without a body
        // (found by the walk) comes later.
        object(root, "s3/b/k05", &[5u8; 69_999]);
        put(
            root,
            &format!("s3/b/k05{META_SUFFIX}"),
            &std::fs::read(root.join(format!("s3/b/k06{META_SUFFIX}"))).unwrap(),
        );
        put(root, &format!("s3/b/k10x{META_SUFFIX}"), b"{}");
        for threads in [1, 2, 4] {
            let err = encode_with(root, LISTING_SORT_BUDGET, threads).unwrap_err();
            assert!(err.to_string().contains("k05"), "{threads} threads: {err}");
            assert!(
                err.to_string().contains("size_bytes 70000 != body length 69999"),
                "{err}"
            );
        }
        std::fs::remove_file(root.join("s3/b/k05")).unwrap();
        object(root, "s3/b/k05", &[5u8; 70_000]);
        for threads in [1, 2] {
            let err = encode_with(root, LISTING_SORT_BUDGET, threads).unwrap_err();
            assert!(err.to_string().contains("k10x"), "{err}");
        }
    }
}
