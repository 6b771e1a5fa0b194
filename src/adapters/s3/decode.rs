//! S3 decoder: live records → `s3/<bucket>/…` (s3_tree_pipeline.md §3), the tree of Go's
//! `S3Encoder` (§3.5, §3.6) for single-version input, in a deterministic order.
//!
//! Records arrive sorted by key, so every `!s3|blob|` chunk comes before any bucket meta,
//! chunk ref or manifest, and within a family objects come in `(bucket, generation, object)`
//! order. Bodies are streamed:
//!
//! * each chunk is appended to a *staged* file of the dump tree (written once, never held in
//!   memory) as it arrives; consecutive chunks of one upload share a staged file (a
//!   *chain*), so a body of one part, or of parts 1..N uploaded once each, is one file;
//! * the chains of each object wait in a line (small descriptors: chunk sizes, offsets; kept
//!   under a memory budget, spilled to scratch beyond it, `spool.rs`), read back as the
//!   manifests arrive in the same order; a manifest whose declared parts are
//!   exactly one chain publishes that file by rename. Bodies that are not (offloaded parts
//!   through `!s3|chunkref|` + `!s3|chunkblob|`, re-uploaded part versions interleaved in a
//!   chain) are assembled by copying the declared ranges into a new staged file;
//! * a published body waits (with its sidecar bytes) while a later key could still make it a
//!   directory: key `a` is written as `a.elastickv-leaf-data` when `a/…` follows (§3.3).
//!   Waiting bodies form a stack of nested prefixes, so memory is bounded by key length.
//!
//! Completeness (§3.3 step 5) is checked per declared part; a missing or extra chunk is a
//! data error naming bucket, object and part. Keys a filesystem cannot hold as they are
//! (empty, `.` or `..` segments, NUL, `\`, invalid UTF-8, a segment over 255 bytes) and
//! objects named `_bucket.json` / `KEYMAP.jsonl` at a bucket root are renamed and recorded
//! in the bucket's KEYMAP.jsonl with kind `sha-fallback` (DECISIONS.md D11).

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::keys::{self, ChunkId, ChunkRef, Kind, LiveManifest, ObjectId};
use super::spool::{self, Reader, Spool, Writer};
use super::{hlc, S3Options, KEYMAP_NAME, LEAF_DATA_SUFFIX, META_SUFFIX, USER_DATA_SUFFIX};
use crate::adapters::{AdapterError, Cause, DecodeContext, Decoder, Event, Record, Warning, Warnings};
use crate::dump::filename::{encode_binary_segment, encode_segment};
use crate::dump::json::{self, JsonStyle};
use crate::dump::keymap::{
    KeyMap, KEYMAP_SORT_BUDGET, KIND_META_SUFFIX_RENAME, KIND_S3_LEAF_DATA, KIND_SHA_FALLBACK,
};
use crate::dump::{DumpError, OutFile, Staged, TreeOut};

/// The S3 warning events (Go's log names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Event {
    OrphanChunks,
    StaleGenerationObjects,
}

impl Event for S3Event {
    fn name(self) -> &'static str {
        match self {
            S3Event::OrphanChunks => "s3_orphan_chunks",
            S3Event::StaleGenerationObjects => "s3_stale_generation_objects",
        }
    }
}

/// Longest file name most filesystems hold.
const MAX_NAME: usize = 255;

/// One run of consecutive chunks of one part version inside a chain.
#[derive(Debug)]
struct Seg {
    part_no: u64,
    part_version: u64,
    first_chunk: u64,
    /// Byte offset of the run in the chain's staged file.
    offset: u64,
    sizes: Vec<u64>,
}

impl Seg {
    fn len(&self) -> u64 {
        self.sizes.iter().sum()
    }
    fn next_chunk(&self) -> u64 {
        self.first_chunk + self.sizes.len() as u64
    }
}

/// Chunks of one upload written back to back into one staged file.
#[derive(Debug)]
struct Chain {
    upload_id: Vec<u8>,
    segs: Vec<Seg>,
    len: u64,
    staged: Option<Staged>,
}

/// The chains of one object (its blobs), waiting for its manifest.
#[derive(Debug)]
struct ObjBlobs {
    id: ObjectId,
    chains: Vec<Chain>,
}

impl ObjBlobs {
    fn chunk_count(&self) -> usize {
        self.chains
            .iter()
            .flat_map(|c| &c.segs)
            .map(|s| s.sizes.len())
            .sum()
    }
}

/// A body waiting to learn whether its key is also a prefix.
struct Pending {
    key: Vec<u8>,
    body: Staged,
    sidecar: Vec<u8>,
}

#[derive(Default)]
struct Bucket {
    /// Bucket meta seen: its generation (0 = every generation active).
    active_gen: Option<u64>,
    stale: u64,
    keymap: Option<KeyMap>,
    /// Paths written under a rename (a later plain key landing there is a collision).
    renamed: HashSet<String>,
    pending: Vec<Pending>,
    /// Generation of the objects in `pending`.
    pending_gen: u64,
    uploads: Option<OutFile>,
}

/// Records → `s3/` tree.
pub struct S3Decoder {
    opts: S3Options,
    scratch: PathBuf,
    buckets: BTreeMap<Vec<u8>, Bucket>,
    /// The object whose blobs are arriving, with its open chain file.
    current: Option<(ObjBlobs, Option<OutFile>)>,
    /// Objects whose blobs are complete, in stream order (spilled beyond a budget), and the
    /// next one read back.
    queue: Spool,
    front: Option<ObjBlobs>,
    /// Chunk refs, in stream order, and the next one read back.
    refs: Spool,
    ref_front: Option<(ChunkId, ChunkRef)>,
    chunkblob_dir: Option<PathBuf>,
}

impl S3Decoder {
    /// Set the memory budget of the waiting lines (bytes each; default `spool::BUDGET`).
    pub fn with_budget(mut self, bytes: usize) -> S3Decoder {
        self.queue = Spool::new(bytes, &self.scratch);
        self.refs = Spool::new(bytes, &self.scratch);
        self
    }

    /// A decoder with `opts`, writing to `cx`'s scratch directory.
    pub fn new(opts: &S3Options, cx: &DecodeContext) -> S3Decoder {
        S3Decoder {
            opts: opts.clone(),
            scratch: cx.scratch_dir.clone(),
            buckets: BTreeMap::new(),
            current: None,
            queue: Spool::new(spool::BUDGET, &cx.scratch_dir),
            front: None,
            refs: Spool::new(spool::BUDGET / 4, &cx.scratch_dir),
            ref_front: None,
            chunkblob_dir: None,
        }
    }
}

/// A malformed record: `cause` is a typed parse error ([`keys::KeyError`],
/// [`keys::ValueError`]) or a message.
fn bad(key: &[u8], cause: impl Into<Cause>) -> AdapterError {
    AdapterError::bad_record("s3", key, cause)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn bucket_dir(bucket: &[u8]) -> String {
    format!("s3/{}", encode_segment(bucket).name)
}

fn is_dot(name: &[u8]) -> bool {
    name.is_empty() || name == b"." || name == b".."
}

/// `EncodeSegment(uploadID)_<part16>_<chunk16>_<ver16>.bin`.
fn blob_name(upload_id: &[u8], part_no: u64, chunk_no: u64, part_version: u64) -> String {
    format!(
        "{}_{part_no:016x}_{chunk_no:016x}_{part_version:016x}.bin",
        encode_segment(upload_id).name
    )
}

/// Whether a key can be a path as it is (D11).
fn holdable(key: &[u8]) -> bool {
    std::str::from_utf8(key).is_ok()
        && !key.contains(&0)
        && !key.contains(&b'\\')
        && key
            .split(|&b| b == b'/')
            .all(|s| !is_dot(s) && s.len() <= MAX_NAME - META_SUFFIX.len())
}

impl Decoder for S3Decoder {
    fn handle(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
        r: &Record<'_>,
    ) -> Result<(), AdapterError> {
        let key = r.user_key;
        if r.tag != Kind::Blob as u8 {
            self.end_blobs(out)?;
        }
        match r.tag {
            t if t == Kind::Blob as u8 => self.blob(out, key, r.value),
            t if t == Kind::BucketMeta as u8 => self.bucket_meta(out, key, r.value),
            t if t == Kind::ChunkBlob as u8 => self.chunkblob(key, r.value),
            t if t == Kind::ChunkRef as u8 => {
                let id = keys::parse_chunk_key(key, keys::CHUNKREF_PREFIX).map_err(|e| bad(key, e))?;
                let chunk_ref = keys::parse_chunk_ref(r.value).map_err(|e| bad(key, e))?;
                self.buckets.entry(id.id.bucket.clone()).or_default();
                let mut w = Writer::default();
                w.bytes(&id.id.bucket)
                    .u64(id.id.generation)
                    .bytes(&id.id.object)
                    .bytes(&id.upload_id);
                w.u64(id.part_no)
                    .u64(id.chunk_no)
                    .u64(id.part_version)
                    .bytes(&chunk_ref.sha256)
                    .u64(chunk_ref.size);
                self.refs
                    .push(&order_key(&id.id), &w.0)
                    .map_err(|e| self.spool_error(e))
            }
            t if t == Kind::ObjectManifest as u8 => self.manifest(out, warnings, key, r.value),
            t if t == Kind::UploadMeta as u8 || t == Kind::UploadPart as u8 => {
                self.upload(out, warnings, t, key, r.value)
            }
            // generation counters, GC bookkeeping and the route catalog carry nothing for
            // the dump (§3.2)
            _ => Ok(()),
        }
    }

    fn finalize(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings) -> Result<(), AdapterError> {
        let result = self.finish(out, warnings);
        if let Some(dir) = self.chunkblob_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }
}

impl S3Decoder {
    // ---- blobs -------------------------------------------------------------------------

    fn blob(&mut self, out: &mut dyn TreeOut, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let c = keys::parse_chunk_key(key, keys::BLOB_PREFIX).map_err(|e| bad(key, e))?;
        if is_dot(&c.id.bucket) {
            return Err(bad(key, "bucket name is empty, `.` or `..`"));
        }
        if self.current.as_ref().is_some_and(|(o, _)| o.id != c.id) {
            self.end_blobs(out)?;
        }
        self.buckets.entry(c.id.bucket.clone()).or_default();
        let (obj, file) = self.current.get_or_insert_with(|| {
            (
                ObjBlobs {
                    id: c.id.clone(),
                    chains: Vec::new(),
                },
                None,
            )
        });
        let size = value.len() as u64;
        // The open chain (always the last) takes the chunk when it continues it.
        let last = obj
            .chains
            .last_mut()
            .filter(|ch| ch.upload_id == c.upload_id && file.is_some());
        let fits = last.as_ref().and_then(|ch| ch.segs.last()).map(|s| {
            if s.part_no == c.part_no && s.part_version == c.part_version && s.next_chunk() == c.chunk_no {
                Some(true) // same run
            } else if c.chunk_no == 0 && s.part_no < c.part_no {
                Some(false) // a new part after the last one
            } else {
                None
            }
        });
        match fits.flatten() {
            Some(same_run) => {
                let ch = obj.chains.last_mut().ok_or_else(|| bad(key, "no open chain"))?;
                if same_run {
                    if let Some(s) = ch.segs.last_mut() {
                        s.sizes.push(size);
                    }
                } else {
                    ch.segs.push(Seg {
                        part_no: c.part_no,
                        part_version: c.part_version,
                        first_chunk: 0,
                        offset: ch.len,
                        sizes: vec![size],
                    });
                }
                ch.len += size;
            }
            None => {
                if let Some(f) = file.take() {
                    let staged = out.close_staged(f)?;
                    if let Some(ch) = obj.chains.last_mut() {
                        ch.staged = Some(staged);
                    }
                }
                *file = Some(out.create_staged()?);
                obj.chains.push(Chain {
                    upload_id: c.upload_id.clone(),
                    segs: vec![Seg {
                        part_no: c.part_no,
                        part_version: c.part_version,
                        first_chunk: c.chunk_no,
                        offset: 0,
                        sizes: vec![size],
                    }],
                    len: size,
                    staged: None,
                });
            }
        }
        let f = file.as_mut().ok_or_else(|| bad(key, "no open chain file"))?;
        f.write_all(value)
            .map_err(|e| AdapterError::Dump(DumpError::io("s3 staged body", e)))
    }

    /// Close the object whose blobs were arriving and queue it.
    fn end_blobs(&mut self, out: &mut dyn TreeOut) -> Result<(), AdapterError> {
        if let Some((mut obj, file)) = self.current.take() {
            if let Some(f) = file {
                let staged = out.close_staged(f)?;
                if let Some(ch) = obj.chains.last_mut() {
                    ch.staged = Some(staged);
                }
            }
            let entry = encode_obj(&obj);
            self.queue
                .push(&order_key(&obj.id), &entry)
                .map_err(|e| self.spool_error(e))?;
        }
        Ok(())
    }

    fn spool_error(&self, source: std::io::Error) -> AdapterError {
        AdapterError::Io {
            path: self.scratch.clone(),
            source,
        }
    }

    /// The next object of the blob line, read back.
    fn queue_front(&mut self) -> Result<Option<&ObjBlobs>, AdapterError> {
        if self.front.is_none() {
            if let Some((_, v)) = self.queue.pop().map_err(|e| self.spool_error(e))? {
                self.front = Some(decode_obj(&v).map_err(|e| self.spool_error(e))?);
            }
        }
        Ok(self.front.as_ref())
    }

    /// The next chunk ref, read back.
    fn ref_front(&mut self) -> Result<Option<&(ChunkId, ChunkRef)>, AdapterError> {
        if self.ref_front.is_none() {
            if let Some((_, v)) = self.refs.pop().map_err(|e| self.spool_error(e))? {
                self.ref_front = Some(decode_ref(&v).map_err(|e| self.spool_error(e))?);
            }
        }
        Ok(self.ref_front.as_ref())
    }

    fn discard(out: &mut dyn TreeOut, obj: ObjBlobs) -> Result<(), AdapterError> {
        for ch in obj.chains {
            if let Some(s) = ch.staged {
                out.discard_staged(s)?;
            }
        }
        Ok(())
    }

    // ---- chunk blobs ---------------------------------------------------------------------

    fn chunkblob(&mut self, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let digest = keys::parse_chunkblob_key(key).map_err(|e| bad(key, e))?;
        let actual: [u8; 32] = Sha256::digest(value).into();
        if actual != digest {
            return Err(bad(
                key,
                format!(
                    "chunkblob hash mismatch: content hashes to {}",
                    hex::encode(actual)
                ),
            ));
        }
        let dir = match &self.chunkblob_dir {
            Some(d) => d.clone(),
            None => {
                let d = self
                    .scratch
                    .join(format!("s3-chunkblobs-{}", crate::dump::fs::random_hex16()));
                std::fs::create_dir_all(&d).map_err(|e| DumpError::io(&d, e))?;
                self.chunkblob_dir = Some(d.clone());
                d
            }
        };
        let path = dir.join(hex::encode(digest));
        std::fs::write(&path, value).map_err(|e| DumpError::io(&path, e))?;
        Ok(())
    }

    // ---- bucket meta ---------------------------------------------------------------------

    fn bucket_meta(&mut self, out: &mut dyn TreeOut, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
        let name = keys::parse_bucket_meta_key(key).map_err(|e| bad(key, e))?;
        let meta = keys::parse_bucket_meta(value).map_err(|e| bad(key, e))?;
        if is_dot(&name) {
            return Err(bad(key, "bucket name is empty, `.` or `..`"));
        }
        let public = PublicBucket {
            format_version: 1,
            name: &lossy(&name),
            owner: &meta.owner,
            region: &meta.region,
            acl: &meta.acl,
        };
        out.write_file(
            &format!("{}/_bucket.json", bucket_dir(&name)),
            &json::to_vec(&public, JsonStyle::MARSHAL_INDENT),
        )?;
        self.buckets.entry(name).or_default().active_gen = Some(meta.generation);
        Ok(())
    }

    // ---- manifests -------------------------------------------------------------------------

    fn manifest(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), AdapterError> {
        let id = keys::parse_manifest_key(key).map_err(|e| bad(key, e))?;
        let m = keys::parse_manifest(value).map_err(|e| bad(key, e))?;
        // Objects before this one never got a manifest: orphans.
        while self.queue_front()?.is_some_and(|o| o.id < id) {
            if let Some(o) = self.front.take() {
                self.no_manifest(out, warnings, o)?;
            }
        }
        let blobs = match self.queue_front()? {
            Some(o) if o.id == id => self.front.take(),
            _ => None,
        };
        while self.ref_front()?.is_some_and(|(c, _)| c.id < id) {
            self.ref_front = None;
        }
        let mut refs = Vec::new();
        while self.ref_front()?.is_some_and(|(c, _)| c.id == id) {
            if let Some(r) = self.ref_front.take() {
                refs.push(r);
            }
        }
        let blobs = blobs.unwrap_or(ObjBlobs {
            id: id.clone(),
            chains: Vec::new(),
        });
        let bucket = self.buckets.entry(id.bucket.clone()).or_default();
        let active = is_active(bucket, id.generation);
        if !active {
            bucket.stale += 1;
            if self.opts.include_orphans {
                return self.orphan(out, warnings, blobs);
            }
            return Self::discard(out, blobs);
        }
        let what = |e: String| {
            bad(
                key,
                format!(
                    "bucket {:?} object {:?}: {e}",
                    lossy(&id.bucket),
                    lossy(&id.object)
                ),
            )
        };
        let body = self.assemble(out, &m, blobs, &refs).map_err(|e| match e {
            Assembly::Data(e) => what(e),
            Assembly::Out(e) => e,
        })?;
        let sidecar = json::to_vec(&public_manifest(&m), JsonStyle::MARSHAL_INDENT);
        self.place(out, &id, body, sidecar).map_err(|e| match e {
            Assembly::Data(e) => what(e),
            Assembly::Out(e) => e,
        })
    }

    /// The body of an object: its declared parts' chunks in order, checked complete.
    fn assemble(
        &mut self,
        out: &mut dyn TreeOut,
        m: &LiveManifest,
        blobs: ObjBlobs,
        refs: &[(ChunkId, ChunkRef)],
    ) -> Result<Staged, Assembly> {
        // declared (partNo, partVersion', offloaded) → (count, sizes), in assembly order
        let mut declared: Vec<(u64, u64, bool, u64, Vec<u64>)> = Vec::new();
        for p in m.parts.iter().flatten() {
            let version = if p.offloaded {
                p.chunk_ref_version
            } else {
                p.part_version
            };
            if p.offloaded && p.chunk_sizes.len() as u64 != p.chunk_count {
                return Err(Assembly::Data(format!(
                    "invalid manifest: offloaded part {} declares {} chunks but has {} chunk sizes",
                    p.part_no,
                    p.chunk_count,
                    p.chunk_sizes.len()
                )));
            }
            let entry = (
                p.part_no,
                version,
                p.offloaded,
                p.chunk_count,
                p.chunk_sizes.clone(),
            );
            match declared
                .iter_mut()
                .find(|d| (d.0, d.1, d.2) == (entry.0, entry.1, entry.2))
            {
                Some(d) => *d = entry,
                None => declared.push(entry),
            }
        }
        declared.retain(|d| d.3 > 0);
        declared.sort_by_key(|d| (d.0, d.1, d.2));
        let upload_ok = |u: &[u8]| m.upload_id.is_empty() || u == m.upload_id.as_bytes();
        // Fast path: one chain is exactly the declared parts.
        let exact = |ch: &Chain| {
            upload_ok(&ch.upload_id)
                && ch.segs.len() == declared.len()
                && ch.segs.iter().zip(&declared).all(|(s, d)| {
                    !d.2 && s.part_no == d.0
                        && s.part_version == d.1
                        && s.first_chunk == 0
                        && s.sizes.len() as u64 == d.3
                })
        };
        let mut chains = blobs.chains;
        if declared.is_empty() || chains.iter().any(exact) {
            let body = match chains.iter().position(exact).filter(|_| !declared.is_empty()) {
                Some(i) => chains.swap_remove(i).staged,
                None => None,
            };
            for ch in chains {
                if let Some(s) = ch.staged {
                    out.discard_staged(s).map_err(Assembly::out)?;
                }
            }
            return match body {
                Some(s) => Ok(s),
                None => {
                    let f = out.create_staged().map_err(Assembly::out)?;
                    out.close_staged(f).map_err(Assembly::out)
                }
            };
        }
        // General path: copy the declared runs into a new staged body.
        let mut body = out.create_staged().map_err(Assembly::out)?;
        let result = (|| {
            for (part_no, version, offloaded, count, sizes) in &declared {
                let part = format!(
                    "part {part_no} (version {version}{})",
                    if *offloaded { ", offloaded" } else { "" }
                );
                if *offloaded {
                    for chunk_no in 0..*count {
                        let r = refs.iter().find(|(c, _)| {
                            c.upload_id == m.upload_id.as_bytes()
                                && c.part_no == *part_no
                                && c.part_version == *version
                                && c.chunk_no == chunk_no
                        });
                        let path = r.and_then(|(_, r)| {
                            self.chunkblob_dir.as_ref().map(|d| d.join(hex::encode(r.sha256)))
                        });
                        let (Some((_, r)), Some(path)) = (r, path.filter(|p| p.is_file())) else {
                            return Err(Assembly::Data(format!(
                                "incomplete blob chunks: {part} misses chunk {chunk_no} of {count}"
                            )));
                        };
                        let on_disk = std::fs::metadata(&path)
                            .map_err(|e| Assembly::Out(DumpError::io(&path, e).into()))?
                            .len();
                        if on_disk != r.size || sizes.get(chunk_no as usize) != Some(&r.size) {
                            return Err(Assembly::Data(format!(
                                "invalid chunk ref: {part} chunk {chunk_no} size {} does not match the chunk blob ({on_disk}) or the manifest",
                                r.size
                            )));
                        }
                        let mut f = std::fs::File::open(&path)
                            .map_err(|e| Assembly::Out(DumpError::io(&path, e).into()))?;
                        std::io::copy(&mut f, &mut body)
                            .map_err(|e| Assembly::Out(DumpError::io(&path, e).into()))?;
                    }
                    continue;
                }
                // the runs of this part, by first chunk; they must tile 0..count
                let mut runs: Vec<(&Seg, &Staged)> = chains
                    .iter()
                    .filter(|ch| upload_ok(&ch.upload_id))
                    .flat_map(|ch| {
                        ch.segs
                            .iter()
                            .filter_map(move |s| ch.staged.as_ref().map(|st| (s, st)))
                    })
                    .filter(|(s, _)| s.part_no == *part_no && s.part_version == *version)
                    .collect();
                runs.sort_by_key(|(s, _)| s.first_chunk);
                let mut next = 0u64;
                for (s, staged) in runs {
                    if s.first_chunk != next {
                        return Err(Assembly::Data(format!(
                            "incomplete blob chunks: {part} declares {count} chunks, chunk {} {}",
                            next.min(s.first_chunk),
                            if s.first_chunk > next {
                                "is missing"
                            } else {
                                "appears twice"
                            }
                        )));
                    }
                    out.copy_staged(staged, s.offset, s.len(), &mut body)
                        .map_err(Assembly::out)?;
                    next = s.next_chunk();
                }
                if next != *count {
                    return Err(Assembly::Data(format!(
                        "incomplete blob chunks: {part} declares {count} chunks, found {next}{}",
                        if next > *count { " (extra chunks)" } else { "" }
                    )));
                }
            }
            Ok(())
        })();
        for ch in chains {
            if let Some(s) = ch.staged {
                out.discard_staged(s).map_err(Assembly::out)?;
            }
        }
        let staged = out.close_staged(body).map_err(Assembly::out)?;
        if let Err(e) = result {
            out.discard_staged(staged).map_err(Assembly::out)?;
            return Err(e);
        }
        Ok(staged)
    }

    /// Decide the object's path and publish it, or hold it while it may become a prefix.
    fn place(
        &mut self,
        out: &mut dyn TreeOut,
        id: &ObjectId,
        body: Staged,
        sidecar: Vec<u8>,
    ) -> Result<(), Assembly> {
        let rename_collisions = self.opts.rename_collisions;
        let scratch = self.scratch.clone();
        let bucket = self.buckets.entry(id.bucket.clone()).or_default();
        let dir = bucket_dir(&id.bucket);
        if bucket.pending_gen != id.generation {
            flush_pending(out, bucket, &dir, &scratch, None)?;
            bucket.pending_gen = id.generation;
        }
        let key = &id.object;
        let renamed: Option<(String, &'static str)> = if key.ends_with(META_SUFFIX.as_bytes()) {
            if !rename_collisions {
                return Err(Assembly::Data(format!(
                    "object key collides with the reserved sidecar suffix {META_SUFFIX} (decode with --rename-collisions)"
                )));
            }
            let mut target = d11_name(key).unwrap_or_else(|| lossy(key));
            target.push_str(USER_DATA_SUFFIX);
            Some((
                target,
                if holdable(key) {
                    KIND_META_SUFFIX_RENAME
                } else {
                    KIND_SHA_FALLBACK
                },
            ))
        } else if let Some(target) = d11_name(key) {
            Some((target, KIND_SHA_FALLBACK))
        } else if key == b"_bucket.json" || key == KEYMAP_NAME.as_bytes() {
            Some((format!("{}{USER_DATA_SUFFIX}", lossy(key)), KIND_SHA_FALLBACK))
        } else {
            None
        };
        flush_pending(out, bucket, &dir, &scratch, Some((key, renamed.is_none())))?;
        match renamed {
            Some((target, kind)) => {
                publish(out, bucket, &dir, &target, body, &sidecar)?;
                bucket.renamed.insert(target.clone());
                record_keymap(bucket, &scratch, &target, key, kind)
            }
            None => {
                bucket.pending.push(Pending {
                    key: key.clone(),
                    body,
                    sidecar,
                });
                Ok(())
            }
        }
    }

    // ---- orphans -----------------------------------------------------------------------------

    /// Blobs that no manifest named: an orphan when of the live generation, else stale.
    fn no_manifest(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
        obj: ObjBlobs,
    ) -> Result<(), AdapterError> {
        let bucket = self.buckets.entry(obj.id.bucket.clone()).or_default();
        if !is_active(bucket, obj.id.generation) {
            bucket.stale += 1;
            if !self.opts.include_orphans {
                return Self::discard(out, obj);
            }
        }
        self.orphan(out, warnings, obj)
    }

    fn orphan(
        &mut self,
        out: &mut dyn TreeOut,
        warnings: &mut Warnings,
        obj: ObjBlobs,
    ) -> Result<(), AdapterError> {
        let chunks = obj.chunk_count();
        warnings.push(Warning::new(
            S3Event::OrphanChunks,
            vec![
                ("bucket", lossy(&obj.id.bucket)),
                ("object", lossy(&obj.id.object)),
                ("chunks", chunks.to_string()),
                (
                    "hint",
                    "blob chunks present but no !s3|obj|head record matched".into(),
                ),
            ],
        ));
        if !self.opts.include_orphans || chunks == 0 {
            return Self::discard(out, obj);
        }
        if is_dot(&obj.id.object) {
            let key = keys::manifest_key(&obj.id.bucket, obj.id.generation, &obj.id.object);
            Self::discard(out, obj)?;
            return Err(bad(&key, "orphan object key is empty, `.` or `..`"));
        }
        let dir = format!(
            "{}/_orphans/{}/gen-{}",
            bucket_dir(&obj.id.bucket),
            encode_segment(&obj.id.object).name,
            obj.id.generation
        );
        for ch in &obj.chains {
            let Some(staged) = &ch.staged else { continue };
            for s in &ch.segs {
                let mut offset = s.offset;
                for (i, size) in s.sizes.iter().enumerate() {
                    let name = blob_name(&ch.upload_id, s.part_no, s.first_chunk + i as u64, s.part_version);
                    let mut f = out.create_file(&format!("{dir}/{name}"))?;
                    out.copy_staged(staged, offset, *size, &mut f)?;
                    out.finish_file(f)?;
                    offset += size;
                }
            }
        }
        Self::discard(out, obj)
    }

    // ---- incomplete uploads ------------------------------------------------------------------

    fn upload(
        &mut self,
        out: &mut dyn TreeOut,
        _warnings: &mut Warnings,
        tag: u8,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), AdapterError> {
        if !self.opts.include_incomplete_uploads {
            return Ok(());
        }
        let (prefix, bucket) = if tag == Kind::UploadMeta as u8 {
            (keys::UPLOAD_META_PREFIX, keys::upload_meta_bucket_raw(key))
        } else {
            (keys::UPLOAD_PART_PREFIX, keys::parse_upload_part_bucket(key))
        };
        let bucket = bucket.map_err(|e| bad(key, e))?;
        if is_dot(&bucket) {
            return Err(bad(key, "bucket name is empty, `.` or `..`"));
        }
        let dir = bucket_dir(&bucket);
        let b = self.buckets.entry(bucket).or_default();
        if b.uploads.is_none() {
            b.uploads = Some(out.create_file(&format!("{dir}/_incomplete_uploads/records.jsonl"))?);
        }
        let line = UploadLine {
            prefix: &lossy(prefix),
            key: &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key),
            value: &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, value),
        };
        if let Some(f) = b.uploads.as_mut() {
            f.write_all(&json::to_vec(&line, JsonStyle::JSONL))
                .map_err(|e| DumpError::io(format!("{dir}/_incomplete_uploads/records.jsonl"), e))?;
        }
        Ok(())
    }

    // ---- end of stream -------------------------------------------------------------------------

    fn finish(&mut self, out: &mut dyn TreeOut, warnings: &mut Warnings) -> Result<(), AdapterError> {
        self.end_blobs(out)?;
        while self.queue_front()?.is_some() {
            if let Some(o) = self.front.take() {
                self.no_manifest(out, warnings, o)?;
            }
        }
        let buckets = std::mem::take(&mut self.buckets);
        for (name, mut b) in buckets {
            let dir = bucket_dir(&name);
            if is_dot(&name) {
                return Err(bad(&name, "bucket name is empty, `.` or `..`"));
            }
            out.ensure_dir(&dir)?;
            flush_pending(out, &mut b, &dir, &self.scratch, None).map_err(|e| match e {
                Assembly::Data(e) => bad(&name, e),
                Assembly::Out(e) => e,
            })?;
            if b.stale > 0 {
                warnings.push(Warning::new(
                    S3Event::StaleGenerationObjects,
                    vec![
                        ("bucket", lossy(&name)),
                        ("active_generation", b.active_gen.unwrap_or(0).to_string()),
                        ("stale_count", b.stale.to_string()),
                        ("hint", "stale-gen objects excluded; restore would otherwise emit them under the new bucket".into()),
                    ],
                ));
            }
            if let Some(k) = b.keymap.take() {
                k.write(out, &format!("{dir}/{KEYMAP_NAME}"))?;
            }
            if let Some(f) = b.uploads.take() {
                out.finish_file(f)?;
            }
        }
        Ok(())
    }
}

/// The order objects arrive in: `seg(bucket) ‖ u64BE(gen) ‖ seg(object)`.
fn order_key(id: &ObjectId) -> Vec<u8> {
    let mut k = keys::manifest_key(&id.bucket, id.generation, &id.object);
    k.drain(..keys::OBJ_HEAD_PREFIX.len());
    k
}

fn encode_obj(o: &ObjBlobs) -> Vec<u8> {
    let mut w = Writer::default();
    w.bytes(&o.id.bucket)
        .u64(o.id.generation)
        .bytes(&o.id.object)
        .u64(o.chains.len() as u64);
    for ch in &o.chains {
        w.bytes(&ch.upload_id).u64(ch.len);
        match &ch.staged {
            Some(s) => w.u64(1).bytes(s.rel.as_bytes()).u64(s.len).bytes(&s.digest()),
            None => w.u64(0),
        };
        w.u64(ch.segs.len() as u64);
        for s in &ch.segs {
            w.u64(s.part_no)
                .u64(s.part_version)
                .u64(s.first_chunk)
                .u64(s.offset)
                .u64(s.sizes.len() as u64);
            for &z in &s.sizes {
                w.u64(z);
            }
        }
    }
    w.0
}

fn decode_obj(v: &[u8]) -> std::io::Result<ObjBlobs> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "corrupt S3 spool entry");
    let mut r = Reader(v);
    let id = ObjectId {
        bucket: r.bytes()?,
        generation: r.u64()?,
        object: r.bytes()?,
    };
    let n = r.count(32)?;
    let mut chains = Vec::with_capacity(n);
    for _ in 0..n {
        let upload_id = r.bytes()?;
        let len = r.u64()?;
        let staged = match r.u64()? {
            0 => None,
            _ => {
                let rel = String::from_utf8(r.bytes()?).map_err(|_| bad())?;
                let slen = r.u64()?;
                let digest: [u8; 32] = r.bytes()?.try_into().map_err(|_| bad())?;
                Some(Staged::new(rel, slen, digest))
            }
        };
        let nsegs = r.count(40)?;
        let mut segs = Vec::with_capacity(nsegs);
        for _ in 0..nsegs {
            let (part_no, part_version, first_chunk, offset) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
            let nsizes = r.count(8)?;
            let sizes = (0..nsizes)
                .map(|_| r.u64())
                .collect::<std::io::Result<Vec<u64>>>()?;
            segs.push(Seg {
                part_no,
                part_version,
                first_chunk,
                offset,
                sizes,
            });
        }
        chains.push(Chain {
            upload_id,
            segs,
            len,
            staged,
        });
    }
    Ok(ObjBlobs { id, chains })
}

fn decode_ref(v: &[u8]) -> std::io::Result<(ChunkId, ChunkRef)> {
    let mut r = Reader(v);
    let id = ObjectId {
        bucket: r.bytes()?,
        generation: r.u64()?,
        object: r.bytes()?,
    };
    let upload_id = r.bytes()?;
    let (part_no, chunk_no, part_version) = (r.u64()?, r.u64()?, r.u64()?);
    let sha256: [u8; 32] = r
        .bytes()?
        .try_into()
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "corrupt S3 spool entry"))?;
    let size = r.u64()?;
    Ok((
        ChunkId {
            id,
            upload_id,
            part_no,
            chunk_no,
            part_version,
        },
        ChunkRef { sha256, size },
    ))
}

/// Whether objects of `generation` are the bucket's live ones (§3.4).
fn is_active(b: &Bucket, generation: u64) -> bool {
    match b.active_gen {
        None | Some(0) => true,
        Some(g) => g == generation,
    }
}

/// A failure while assembling or placing a body: a data error (named by the caller) or an
/// output error.
enum Assembly {
    Data(String),
    Out(AdapterError),
}

impl Assembly {
    fn out(e: DumpError) -> Assembly {
        Assembly::Out(e.into())
    }
}

/// The name of a key a filesystem cannot hold as it is (D11): its `EncodeSegment` at the
/// bucket root (the binary form for `""`, `.`, `..`). `None` for a holdable key.
fn d11_name(key: &[u8]) -> Option<String> {
    if holdable(key) {
        return None;
    }
    let seg = encode_segment(key).name;
    if is_dot(seg.as_bytes()) {
        return Some(encode_binary_segment(key).name);
    }
    Some(seg)
}

fn record_keymap(
    b: &mut Bucket,
    scratch: &std::path::Path,
    encoded: &str,
    original: &[u8],
    kind: &'static str,
) -> Result<(), Assembly> {
    b.keymap
        .get_or_insert_with(|| KeyMap::new(KEYMAP_SORT_BUDGET / 8, scratch))
        .record(encoded, original, kind)
        .map_err(|e| Assembly::Out(DumpError::io(scratch, e).into()))
}

/// Publish a body and its sidecar at `name` (bucket-relative).
fn publish(
    out: &mut dyn TreeOut,
    b: &Bucket,
    dir: &str,
    name: &str,
    body: Staged,
    sidecar: &[u8],
) -> Result<(), Assembly> {
    if b.renamed.contains(name) {
        return Err(Assembly::Data(format!(
            "path {name:?} is already taken by a renamed object"
        )));
    }
    let rel = format!("{dir}/{name}");
    out.publish_staged(body, &rel).map_err(|e| match e {
        DumpError::Unsafe { .. } => {
            Assembly::Data(format!("path {name:?} collides with another object: {e}"))
        }
        DumpError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
            Assembly::Data(format!("path {name:?} collides with another object: {e}"))
        }
        e => Assembly::out(e),
    })?;
    out.write_file(&format!("{rel}{META_SUFFIX}"), sidecar)
        .map_err(Assembly::out)
}

/// Publish the waiting bodies that `next` (a key about to be placed; `true` when it will be a
/// path) settles: a waiting key that `next` extends with `/` becomes leaf data, one that
/// `next` has passed is written under its own name. `None` settles all.
fn flush_pending(
    out: &mut dyn TreeOut,
    b: &mut Bucket,
    dir: &str,
    scratch: &std::path::Path,
    next: Option<(&[u8], bool)>,
) -> Result<(), Assembly> {
    while let Some(top) = b.pending.last() {
        let mut slash = top.key.clone();
        slash.push(b'/');
        let leaf = match next {
            Some((k, true)) if k.starts_with(&slash) => true,
            Some((k, _)) if k < slash.as_slice() || k.starts_with(&slash) => return Ok(()),
            _ => false,
        };
        let Some(p) = b.pending.pop() else { break };
        let key = lossy(&p.key);
        if leaf {
            let target = format!("{key}{LEAF_DATA_SUFFIX}");
            publish(out, b, dir, &target, p.body, &p.sidecar)?;
            b.renamed.insert(target.clone());
            record_keymap(b, scratch, &target, &p.key, KIND_S3_LEAF_DATA)?;
        } else {
            publish(out, b, dir, &key, p.body, &p.sidecar)?;
        }
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct PublicBucket<'a> {
    format_version: u32,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    owner: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    region: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    acl: &'a str,
}

/// `<key>.elastickv-meta.json` (`s3PublicManifest`).
#[derive(serde::Serialize)]
struct PublicManifest<'a> {
    format_version: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    etag: &'a str,
    size_bytes: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    last_modified: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    content_type: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    content_encoding: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cache_control: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    content_disposition: &'a str,
    #[serde(skip_serializing_if = "no_metadata", serialize_with = "keys::ser_map")]
    user_metadata: Option<Vec<(String, String)>>,
}

fn no_metadata(m: &Option<Vec<(String, String)>>) -> bool {
    m.as_ref().map_or(true, Vec::is_empty)
}

fn public_manifest(m: &LiveManifest) -> PublicManifest<'_> {
    PublicManifest {
        format_version: 1,
        etag: &m.etag,
        size_bytes: m.size_bytes,
        last_modified: hlc::format_hlc(m.last_modified_hlc),
        content_type: &m.content_type,
        content_encoding: &m.content_encoding,
        cache_control: &m.cache_control,
        content_disposition: &m.content_disposition,
        user_metadata: m.user_metadata.clone(),
    }
}

#[derive(serde::Serialize)]
struct UploadLine<'a> {
    prefix: &'a str,
    key: &'a str,
    value: &'a str,
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
