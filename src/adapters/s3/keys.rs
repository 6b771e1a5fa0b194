//! Internal key and value layouts of the S3 families (s3_tree_pipeline.md §2), both
//! directions, as small pure functions: the `seg` segment codec (§2.1), the key builders
//! the encoder uses and the strict parsers the decoder uses (§2.2), the binary chunk-ref
//! value (§2.3) and the JSON envelopes of bucket meta and object manifests (§2.3, §4.4).
//!
//! Parsers return `Err(what)`: a sentence saying what was expected, which the decoder wraps
//! into `AdapterError::BadRecord` with the key.

use serde::Serialize;
use serde_json::Value;

use crate::adapters::Route;

/// What an S3 key is: the handler tag of its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A bucket-meta row (`!s3|bucket|meta|`).
    BucketMeta,
    /// A bucket-generation row (`!s3|bucket|gen|`).
    BucketGeneration,
    /// An object manifest (`!s3|obj|head|`).
    ObjectManifest,
    /// A multipart-upload meta row (`!s3|upload|meta|`).
    UploadMeta,
    /// A multipart-upload part row (`!s3|upload|part|`).
    UploadPart,
    /// An object data chunk (`!s3|blob|`).
    Blob,
    /// A chunk reference (`!s3|chunkref|`).
    ChunkRef,
    /// A content-addressed chunk (`!s3|chunkblob|`).
    ChunkBlob,
    /// A garbage-collection marker of an upload (`!s3|gc|upload|`).
    GcUpload,
    /// A route-catalog row (`!s3route|`).
    RouteCatalog,
}

/// The S3 prefixes of the route table (s3_tree_pipeline.md §2.2, §10.3).
pub const ROUTES: &[Route] = &[
    Route::new(BUCKET_META_PREFIX, "s3", Kind::BucketMeta as u8),
    Route::new(BUCKET_GEN_PREFIX, "s3", Kind::BucketGeneration as u8),
    Route::new(OBJ_HEAD_PREFIX, "s3", Kind::ObjectManifest as u8),
    Route::new(UPLOAD_META_PREFIX, "s3", Kind::UploadMeta as u8),
    Route::new(UPLOAD_PART_PREFIX, "s3", Kind::UploadPart as u8),
    Route::new(BLOB_PREFIX, "s3", Kind::Blob as u8),
    Route::new(CHUNKREF_PREFIX, "s3", Kind::ChunkRef as u8),
    Route::new(CHUNKBLOB_PREFIX, "s3", Kind::ChunkBlob as u8),
    Route::new(GC_UPLOAD_PREFIX, "s3", Kind::GcUpload as u8),
    Route::new(ROUTE_PREFIX, "s3", Kind::RouteCatalog as u8),
];

/// Prefix of bucket-meta keys.
pub const BUCKET_META_PREFIX: &[u8] = b"!s3|bucket|meta|";
/// Prefix of bucket-generation keys.
pub const BUCKET_GEN_PREFIX: &[u8] = b"!s3|bucket|gen|";
/// Prefix of object-manifest keys.
pub const OBJ_HEAD_PREFIX: &[u8] = b"!s3|obj|head|";
/// Prefix of upload-meta keys.
pub const UPLOAD_META_PREFIX: &[u8] = b"!s3|upload|meta|";
/// Prefix of upload-part keys.
pub const UPLOAD_PART_PREFIX: &[u8] = b"!s3|upload|part|";
/// Prefix of blob (chunk data) keys.
pub const BLOB_PREFIX: &[u8] = b"!s3|blob|";
/// Prefix of chunk-reference keys.
pub const CHUNKREF_PREFIX: &[u8] = b"!s3|chunkref|";
/// Prefix of content-addressed chunk keys.
pub const CHUNKBLOB_PREFIX: &[u8] = b"!s3|chunkblob|";
/// Prefix of upload GC-marker keys.
pub const GC_UPLOAD_PREFIX: &[u8] = b"!s3|gc|upload|";
/// Prefix of route-catalog keys.
pub const ROUTE_PREFIX: &[u8] = b"!s3route|";

/// The generation, upload id and part number every restored object gets (§4.1).
pub const RESTORE_GENERATION: u64 = 1;
/// The upload id the encoder gives every restored object (its blobs and manifest).
pub const RESTORE_UPLOAD_ID: &[u8] = b"elastickv-restore";
/// The part number of a restored object's single part.
pub const RESTORE_PART_NO: u64 = 1;
/// Canonical chunk size of restored bodies (§4.1).
pub const CHUNK_SIZE: usize = 1 << 20;

/// Append `seg(raw)`: `00` escaped as `00 FF`, then the terminator `00 01` (§2.1).
pub fn push_seg(out: &mut Vec<u8>, raw: &[u8]) {
    for &b in raw {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

/// Read one segment starting at `at`; returns the raw bytes and the offset after the
/// terminator.
pub fn read_seg(key: &[u8], at: usize) -> Result<(Vec<u8>, usize), String> {
    let rest = key.get(at..).ok_or("segment starts past the end of the key")?;
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = rest.get(i) {
        if b != 0 {
            out.push(b);
            i += 1;
            continue;
        }
        match rest.get(i + 1) {
            Some(0xFF) => {
                out.push(0);
                i += 2;
            }
            Some(1) => return Ok((out, at + i + 2)),
            Some(x) => return Err(format!("bad segment escape 00 {x:02x} at byte {}", at + i)),
            None => return Err("segment ends inside an escape".into()),
        }
    }
    Err("segment without its 00 01 terminator".into())
}

fn read_u64(key: &[u8], at: usize, what: &str) -> Result<(u64, usize), String> {
    let b = key
        .get(at..at + 8)
        .ok_or_else(|| format!("key ends before the 8-byte {what}"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok((u64::from_be_bytes(a), at + 8))
}

fn strip(key: &[u8], prefix: &[u8]) -> Result<usize, String> {
    if key.starts_with(prefix) {
        Ok(prefix.len())
    } else {
        Err(format!(
            "key does not start with {}",
            String::from_utf8_lossy(prefix)
        ))
    }
}

fn expect_end(key: &[u8], at: usize) -> Result<(), String> {
    if at == key.len() {
        Ok(())
    } else {
        Err(format!(
            "{} unexpected trailing bytes",
            key.len().saturating_sub(at)
        ))
    }
}

/// `!s3|bucket|meta|seg(bucket)`.
pub fn bucket_meta_key(bucket: &[u8]) -> Vec<u8> {
    let mut k = BUCKET_META_PREFIX.to_vec();
    push_seg(&mut k, bucket);
    k
}

/// `!s3|bucket|gen|seg(bucket)`.
pub fn bucket_gen_key(bucket: &[u8]) -> Vec<u8> {
    let mut k = BUCKET_GEN_PREFIX.to_vec();
    push_seg(&mut k, bucket);
    k
}

/// The bucket of a bucket-meta key (one segment, nothing after it).
pub fn parse_bucket_meta_key(key: &[u8]) -> Result<Vec<u8>, String> {
    let at = strip(key, BUCKET_META_PREFIX)?;
    let (bucket, at) = read_seg(key, at)?;
    expect_end(key, at)?;
    Ok(bucket)
}

/// `(bucket, generation, object)`: the scope of an object (manifest, blob, chunk ref).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    /// The bucket name.
    pub bucket: Vec<u8>,
    /// The bucket generation.
    pub generation: u64,
    /// The object key.
    pub object: Vec<u8>,
}

/// `seg(bucket) ‖ u64BE(gen) ‖ seg(object)`.
fn push_object_id(k: &mut Vec<u8>, bucket: &[u8], generation: u64, object: &[u8]) {
    push_seg(k, bucket);
    k.extend_from_slice(&generation.to_be_bytes());
    push_seg(k, object);
}

fn read_object_id(key: &[u8], at: usize) -> Result<(ObjectId, usize), String> {
    let (bucket, at) = read_seg(key, at)?;
    let (generation, at) = read_u64(key, at, "generation")?;
    let (object, at) = read_seg(key, at)?;
    Ok((
        ObjectId {
            bucket,
            generation,
            object,
        },
        at,
    ))
}

/// `!s3|obj|head|seg(bucket) ‖ u64BE(gen) ‖ seg(object)`.
pub fn manifest_key(bucket: &[u8], generation: u64, object: &[u8]) -> Vec<u8> {
    let mut k = OBJ_HEAD_PREFIX.to_vec();
    push_object_id(&mut k, bucket, generation, object);
    k
}

/// Parse a manifest key (exact end required).
pub fn parse_manifest_key(key: &[u8]) -> Result<ObjectId, String> {
    let at = strip(key, OBJ_HEAD_PREFIX)?;
    let (id, at) = read_object_id(key, at)?;
    expect_end(key, at)?;
    Ok(id)
}

/// One chunk's address: a blob (`!s3|blob|`) or a chunk reference (`!s3|chunkref|`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkId {
    /// The object the chunk belongs to.
    pub id: ObjectId,
    /// The upload id.
    pub upload_id: Vec<u8>,
    /// The part number.
    pub part_no: u64,
    /// The chunk number within the part.
    pub chunk_no: u64,
    /// 0 when the key has no trailer.
    pub part_version: u64,
}

/// `!s3|blob|…` in the unversioned 6-component form the encoder writes (partVersion 0).
pub fn blob_key(
    bucket: &[u8],
    generation: u64,
    object: &[u8],
    upload_id: &[u8],
    part_no: u64,
    chunk_no: u64,
    part_version: u64,
) -> Vec<u8> {
    let mut k = BLOB_PREFIX.to_vec();
    push_object_id(&mut k, bucket, generation, object);
    push_seg(&mut k, upload_id);
    k.extend_from_slice(&part_no.to_be_bytes());
    k.extend_from_slice(&chunk_no.to_be_bytes());
    if part_version != 0 {
        k.extend_from_slice(&part_version.to_be_bytes());
    }
    k
}

/// Parse a blob or chunk-ref key (`prefix` says which): six components and an optional
/// 8-byte partVersion trailer, nothing else.
pub fn parse_chunk_key(key: &[u8], prefix: &[u8]) -> Result<ChunkId, String> {
    let at = strip(key, prefix)?;
    let (id, at) = read_object_id(key, at)?;
    let (upload_id, at) = read_seg(key, at)?;
    let (part_no, at) = read_u64(key, at, "part number")?;
    let (chunk_no, at) = read_u64(key, at, "chunk number")?;
    let part_version = match key.len() - at.min(key.len()) {
        0 => 0,
        8 => read_u64(key, at, "part version")?.0,
        n => return Err(format!("{n} trailing bytes after the chunk number (want 0 or 8)")),
    };
    Ok(ChunkId {
        id,
        upload_id,
        part_no,
        chunk_no,
        part_version,
    })
}

/// The SHA-256 digest named by a `!s3|chunkblob|<64 hex>` key (either hex case, as Go).
pub fn parse_chunkblob_key(key: &[u8]) -> Result<[u8; 32], String> {
    let at = strip(key, CHUNKBLOB_PREFIX)?;
    let hex_digits = key.get(at..).unwrap_or_default();
    if hex_digits.len() != 64 {
        return Err(format!(
            "want 64 hex digits after the prefix, found {}",
            hex_digits.len()
        ));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut out).map_err(|e| format!("bad hex digest: {e}"))?;
    Ok(out)
}

/// The bucket of an `!s3|upload|part|` key (strict parse, exact end).
pub fn parse_upload_part_bucket(key: &[u8]) -> Result<Vec<u8>, String> {
    let at = strip(key, UPLOAD_PART_PREFIX)?;
    let (id, at) = read_object_id(key, at)?;
    let (_upload, at) = read_seg(key, at)?;
    let (_part, at) = read_u64(key, at, "part number")?;
    expect_end(key, at)?;
    Ok(id.bucket)
}

/// The bucket of an `!s3|upload|meta|` key, Go's way (§3.2 quirk): the raw bytes up to the
/// first `00 01`, escapes **not** undone.
pub fn upload_meta_bucket_raw(key: &[u8]) -> Result<Vec<u8>, String> {
    let at = strip(key, UPLOAD_META_PREFIX)?;
    let rest = key.get(at..).unwrap_or_default();
    rest.windows(2)
        .position(|w| w == [0, 1])
        .and_then(|end| rest.get(..end))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "upload meta key without a 00 01 bucket terminator".to_owned())
}

/// What the decoder needs of a chunk-ref value (§2.3): digest and size. The whole value is
/// validated (version 1 or 2, field lengths, replica count, no trailing bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// SHA-256 of the chunk's bytes.
    pub sha256: [u8; 32],
    /// The chunk's size in bytes.
    pub size: u64,
}

/// Parse and validate a chunk-reference value (§2.3); the error says what is wrong.
pub fn parse_chunk_ref(v: &[u8]) -> Result<ChunkRef, String> {
    fn u16_at(v: &[u8], at: usize) -> Result<(usize, usize), String> {
        let b = v
            .get(at..at + 2)
            .ok_or("chunk ref truncated at a 16-bit length")?;
        Ok((usize::from(u16::from_be_bytes([b[0], b[1]])), at + 2))
    }
    fn skip(v: &[u8], at: usize, n: usize) -> Result<usize, String> {
        if v.len() - at.min(v.len()) < n {
            return Err(format!("chunk ref truncated: field of {n} bytes at offset {at}"));
        }
        Ok(at + n)
    }
    if v.len() < 43 {
        return Err(format!("chunk ref of {} bytes, want at least 43", v.len()));
    }
    let version = v.first().copied().unwrap_or(0);
    if version != 1 && version != 2 {
        return Err(format!("chunk ref version {version}, want 1 or 2"));
    }
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(v.get(1..33).unwrap_or(&[0; 32]));
    let (size, at) = read_u64(v, 33, "size")?;
    let (peer_len, at) = u16_at(v, at)?;
    let mut at = skip(v, at, peer_len)?;
    if version == 2 {
        let (count, next) = u16_at(v, at)?;
        at = next;
        if count > (v.len() - at) / 4 {
            return Err(format!("chunk ref replica count {count} exceeds the value"));
        }
        for _ in 0..count * 2 {
            let (n, next) = u16_at(v, at)?;
            at = skip(v, next, n)?;
        }
    }
    expect_end(v, at).map_err(|e| format!("chunk ref: {e}"))?;
    Ok(ChunkRef { sha256, size })
}

// ---- JSON envelopes -------------------------------------------------------------------

/// The fields of a live bucket-meta value the decoder uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketMeta {
    /// The bucket generation.
    pub generation: u64,
    /// The owner.
    pub owner: String,
    /// The region.
    pub region: String,
    /// The ACL.
    pub acl: String,
}

/// A lenient Go-`encoding/json` field reader over a parsed value (exact or ASCII
/// case-insensitive names; `null` = zero value; wrong type = error).
pub(super) struct GoObj<'a>(Option<&'a serde_json::Map<String, Value>>);

impl<'a> GoObj<'a> {
    pub(super) fn new(v: &'a Value, what: &str) -> Result<GoObj<'a>, String> {
        match v {
            Value::Object(m) => Ok(GoObj(Some(m))),
            Value::Null => Ok(GoObj(None)),
            _ => Err(format!("{what} is not a JSON object")),
        }
    }
    pub(super) fn get(&self, name: &str) -> Option<&'a Value> {
        self.0
            .and_then(|m| crate::dump::gofields::get_ci(m, name))
            .filter(|v| !v.is_null())
    }
    pub(super) fn string(&self, name: &str) -> Result<String, String> {
        match self.get(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("field {name}: want a string")),
        }
    }
    pub(super) fn u64(&self, name: &str) -> Result<u64, String> {
        self.get(name).map_or(Ok(0), |v| {
            v.as_u64()
                .ok_or_else(|| format!("field {name}: want an unsigned integer"))
        })
    }
    pub(super) fn i64(&self, name: &str) -> Result<i64, String> {
        self.get(name).map_or(Ok(0), |v| {
            v.as_i64().ok_or_else(|| format!("field {name}: want an integer"))
        })
    }
    pub(super) fn bool(&self, name: &str) -> Result<bool, String> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("field {name}: want a boolean")),
        }
    }
    pub(super) fn u64s(&self, name: &str) -> Result<Vec<u64>, String> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(0),
                    v => v
                        .as_u64()
                        .ok_or_else(|| format!("field {name}: want unsigned integers")),
                })
                .collect(),
            Some(_) => Err(format!("field {name}: want an array")),
        }
    }
    pub(super) fn string_map(&self, name: &str) -> Result<Option<Vec<(String, String)>>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => {
                let mut out: Vec<(String, String)> = Vec::with_capacity(m.len());
                for (k, v) in m {
                    let v = match v {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        _ => return Err(format!("field {name}.{k}: want a string")),
                    };
                    out.push((k.clone(), v));
                }
                // serde_json keeps the last of duplicate names (Go: last wins); Go
                // marshals map keys in byte order.
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Some(out))
            }
            Some(_) => Err(format!("field {name}: want an object")),
        }
    }
}

/// Parse the whole value as exactly one JSON document (Go `json.Unmarshal`).
fn parse_value(v: &[u8]) -> Result<Value, String> {
    crate::dump::json::parse_one(v, false)
}

/// `!s3|bucket|meta|` value (Go `s3LiveBucketMeta`).
pub fn parse_bucket_meta(v: &[u8]) -> Result<BucketMeta, String> {
    let value = parse_value(v)?;
    let o = GoObj::new(&value, "bucket meta")?;
    o.string("bucket_name")?;
    o.u64("created_at_hlc")?;
    Ok(BucketMeta {
        generation: o.u64("generation")?,
        owner: o.string("owner")?,
        region: o.string("region")?,
        acl: o.string("acl")?,
    })
}

/// One part of a live manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LivePart {
    /// The part number.
    pub part_no: u64,
    /// The part's ETag.
    pub etag: String,
    /// The part's size in bytes.
    pub size_bytes: i64,
    /// The number of chunks.
    pub chunk_count: u64,
    /// The size of each chunk.
    pub chunk_sizes: Vec<u64>,
    /// The part version.
    pub part_version: u64,
    /// The chunk-reference version.
    pub chunk_ref_version: u64,
    /// Whether the chunks are chunk references.
    pub offloaded: bool,
}

/// `!s3|obj|head|` value (Go `s3LiveManifest`); field order is the marshal order (§4.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveManifest {
    /// The upload id of the object's data.
    pub upload_id: String,
    /// The object's ETag.
    pub etag: String,
    /// The object's size in bytes.
    pub size_bytes: i64,
    /// Last-modified time as an HLC timestamp.
    pub last_modified_hlc: u64,
    /// `Content-Type`.
    pub content_type: String,
    /// `Content-Encoding`.
    pub content_encoding: String,
    /// `Cache-Control`.
    pub cache_control: String,
    /// `Content-Disposition`.
    pub content_disposition: String,
    /// `None` marshals as `null` (Go nil map); entries sorted by key.
    #[serde(serialize_with = "ser_map")]
    pub user_metadata: Option<Vec<(String, String)>>,
    /// `None` marshals as `null` (Go nil slice).
    pub parts: Option<Vec<LivePart>>,
}

pub(crate) fn ser_map<S: serde::Serializer>(
    m: &Option<Vec<(String, String)>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match m {
        None => s.serialize_none(),
        Some(entries) => {
            let mut map = s.serialize_map(Some(entries.len()))?;
            for (k, v) in entries {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
}

/// Parse an object-manifest value (Go `s3LiveManifest`, read leniently); the error says what is wrong.
pub fn parse_manifest(v: &[u8]) -> Result<LiveManifest, String> {
    let value = parse_value(v)?;
    let o = GoObj::new(&value, "manifest")?;
    let parts = match o.get("parts") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|p| {
                    let p = GoObj::new(p, "manifest part")?;
                    Ok(LivePart {
                        part_no: p.u64("part_no")?,
                        etag: p.string("etag")?,
                        size_bytes: p.i64("size_bytes")?,
                        chunk_count: p.u64("chunk_count")?,
                        chunk_sizes: p.u64s("chunk_sizes")?,
                        part_version: p.u64("part_version")?,
                        chunk_ref_version: p.u64("chunk_ref_version")?,
                        offloaded: p.bool("offloaded")?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
        Some(_) => return Err("field parts: want an array".into()),
    };
    Ok(LiveManifest {
        upload_id: o.string("upload_id")?,
        etag: o.string("etag")?,
        size_bytes: o.i64("size_bytes")?,
        last_modified_hlc: o.u64("last_modified_hlc")?,
        content_type: o.string("content_type")?,
        content_encoding: o.string("content_encoding")?,
        cache_control: o.string("cache_control")?,
        content_disposition: o.string("content_disposition")?,
        user_metadata: o.string_map("user_metadata")?,
        parts,
    })
}

/// The bucket-meta value the encoder writes: compact, all six keys (§4.2).
#[derive(Debug, Serialize)]
pub struct RestoreBucketMeta<'a> {
    /// The bucket name.
    pub bucket_name: &'a str,
    /// The bucket generation.
    pub generation: u64,
    /// Creation time as an HLC timestamp.
    pub created_at_hlc: u64,
    /// The owner.
    pub owner: &'a str,
    /// The region.
    pub region: &'a str,
    /// The ACL.
    pub acl: &'a str,
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
