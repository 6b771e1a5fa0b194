//! Internal key and value layouts of the S3 families (s3_tree_pipeline.md §2), both
//! directions, as small pure functions: the `seg` segment codec (§2.1), the key builders
//! the encoder uses and the strict parsers the decoder uses (§2.2), the binary chunk-ref
//! value (§2.3) and the JSON envelopes of bucket meta and object manifests (§2.3, §4.4).
//!
//! Parsers return typed errors ([`KeyError`] for keys, [`ValueError`] for stored values,
//! [`JsonError`] for the JSON readers), which the decoder wraps into
//! `AdapterError::BadRecord` with the key and the encoder into `AdapterError::BadFile` with
//! the file. Their messages are the tool's error text: keep them stable.

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

/// Why an S3 key does not have its family's layout (§2.1, §2.2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeyError {
    /// A segment would start after the end of the key.
    #[error("segment starts past the end of the key")]
    SegmentPastEnd,
    /// `00` followed by neither `FF` (escaped NUL) nor `01` (terminator).
    #[error("bad segment escape 00 {byte:02x} at byte {at}")]
    SegmentEscape {
        /// The byte after the `00`.
        byte: u8,
        /// Offset of the `00` in the key.
        at: usize,
    },
    /// The key ends right after a `00`.
    #[error("segment ends inside an escape")]
    SegmentCutInEscape,
    /// The key ends before the segment's `00 01`.
    #[error("segment without its 00 01 terminator")]
    SegmentUnterminated,
    /// The key ends before an 8-byte big-endian number.
    #[error("key ends before the 8-byte {what}")]
    Truncated {
        /// The number (`generation`, `part number`, `chunk number`, `part version`).
        what: &'static str,
    },
    /// The key lacks its family's prefix.
    #[error("key does not start with {}", String::from_utf8_lossy(prefix))]
    Prefix {
        /// The prefix expected.
        prefix: &'static [u8],
    },
    /// Bytes after the last component of a key with an exact end.
    #[error("{count} unexpected trailing bytes")]
    Trailing {
        /// How many.
        count: usize,
    },
    /// A blob or chunk-ref key whose tail after the chunk number is neither empty nor an
    /// 8-byte part version.
    #[error("{count} trailing bytes after the chunk number (want 0 or 8)")]
    ChunkTrailer {
        /// How many.
        count: usize,
    },
    /// A chunk-blob key without exactly 64 hex digits after the prefix.
    #[error("want 64 hex digits after the prefix, found {found}")]
    DigestLength {
        /// How many bytes follow the prefix.
        found: usize,
    },
    /// A chunk-blob key whose 64 digits are not hex.
    #[error("bad hex digest: {error}")]
    DigestHex {
        /// The hex decoder's complaint.
        error: hex::FromHexError,
    },
    /// An upload-meta key without the `00 01` that ends its bucket.
    #[error("upload meta key without a 00 01 bucket terminator")]
    UploadMetaUnterminated,
}

/// Why a stored S3 value does not parse (§2.3, §4.4): which value, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A `!s3|chunkref|` value.
    #[error("invalid chunk ref: {0}")]
    ChunkRef(ChunkRefError),
    /// A `!s3|bucket|meta|` value.
    #[error("invalid bucket meta: {0}")]
    BucketMeta(JsonError),
    /// A `!s3|obj|head|` value.
    #[error("invalid manifest: {0}")]
    Manifest(JsonError),
}

/// What is wrong with a binary chunk-reference value (§2.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkRefError {
    /// Shorter than the fixed part (version, digest, size, peer length).
    #[error("chunk ref of {len} bytes, want at least 43")]
    Short {
        /// The value's length.
        len: usize,
    },
    /// A version other than 1 or 2.
    #[error("chunk ref version {version}, want 1 or 2")]
    Version {
        /// The version byte.
        version: u8,
    },
    /// The value ends inside a 16-bit length or count.
    #[error("chunk ref truncated at a 16-bit length")]
    LengthCut,
    /// The value ends inside a length-prefixed field.
    #[error("chunk ref truncated: field of {len} bytes at offset {at}")]
    FieldCut {
        /// The field's declared length.
        len: usize,
        /// Offset of the field.
        at: usize,
    },
    /// A replica count larger than the rest of the value can hold.
    #[error("chunk ref replica count {count} exceeds the value")]
    Replicas {
        /// The declared count.
        count: usize,
    },
    /// Bytes after the last field.
    #[error("chunk ref: {count} unexpected trailing bytes")]
    Trailing {
        /// How many.
        count: usize,
    },
}

/// Why a JSON document does not read as its Go struct (lenient `encoding/json` rules).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not exactly one JSON value (the reader's message).
    #[error("{reason}")]
    Syntax {
        /// What the JSON reader says.
        reason: String,
    },
    /// A value that must be an object (or `null`) is not one.
    #[error("{what} is not a JSON object")]
    NotObject {
        /// What the value is (`manifest`, `manifest part`, `_bucket.json`, ...).
        what: &'static str,
    },
    /// A field of the wrong JSON type.
    #[error("field {field}: want {want}")]
    FieldType {
        /// The field's name.
        field: &'static str,
        /// What it must be.
        want: JsonType,
    },
    /// An entry of a string map that is not a string.
    #[error("field {field}.{key}: want a string")]
    MapEntry {
        /// The map field's name.
        field: &'static str,
        /// The entry's key.
        key: String,
    },
}

/// The JSON type a field must have ([`JsonError::FieldType`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// A string.
    String,
    /// A non-negative integer.
    Unsigned,
    /// An integer.
    Integer,
    /// `true` or `false`.
    Bool,
    /// An array of non-negative integers (an element is wrong).
    Unsigneds,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl std::fmt::Display for JsonType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JsonType::String => "a string",
            JsonType::Unsigned => "an unsigned integer",
            JsonType::Integer => "an integer",
            JsonType::Bool => "a boolean",
            JsonType::Unsigneds => "unsigned integers",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        })
    }
}

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
pub fn read_seg(key: &[u8], at: usize) -> Result<(Vec<u8>, usize), KeyError> {
    let rest = key.get(at..).ok_or(KeyError::SegmentPastEnd)?;
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
            Some(&byte) => return Err(KeyError::SegmentEscape { byte, at: at + i }),
            None => return Err(KeyError::SegmentCutInEscape),
        }
    }
    Err(KeyError::SegmentUnterminated)
}

fn read_u64(key: &[u8], at: usize, what: &'static str) -> Result<(u64, usize), KeyError> {
    let b = key.get(at..at + 8).ok_or(KeyError::Truncated { what })?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok((u64::from_be_bytes(a), at + 8))
}

fn strip(key: &[u8], prefix: &'static [u8]) -> Result<usize, KeyError> {
    if key.starts_with(prefix) {
        Ok(prefix.len())
    } else {
        Err(KeyError::Prefix { prefix })
    }
}

/// How many bytes follow `at` (0 when `at` is the end or past it).
fn trailing(key: &[u8], at: usize) -> usize {
    key.len().saturating_sub(at)
}

fn expect_end(key: &[u8], at: usize) -> Result<(), KeyError> {
    if at == key.len() {
        Ok(())
    } else {
        Err(KeyError::Trailing {
            count: trailing(key, at),
        })
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
pub fn parse_bucket_meta_key(key: &[u8]) -> Result<Vec<u8>, KeyError> {
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

fn read_object_id(key: &[u8], at: usize) -> Result<(ObjectId, usize), KeyError> {
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
pub fn parse_manifest_key(key: &[u8]) -> Result<ObjectId, KeyError> {
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
pub fn parse_chunk_key(key: &[u8], prefix: &'static [u8]) -> Result<ChunkId, KeyError> {
    let at = strip(key, prefix)?;
    let (id, at) = read_object_id(key, at)?;
    let (upload_id, at) = read_seg(key, at)?;
    let (part_no, at) = read_u64(key, at, "part number")?;
    let (chunk_no, at) = read_u64(key, at, "chunk number")?;
    let part_version = match trailing(key, at) {
        0 => 0,
        8 => read_u64(key, at, "part version")?.0,
        count => return Err(KeyError::ChunkTrailer { count }),
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
pub fn parse_chunkblob_key(key: &[u8]) -> Result<[u8; 32], KeyError> {
    let at = strip(key, CHUNKBLOB_PREFIX)?;
    let hex_digits = key.get(at..).unwrap_or_default();
    if hex_digits.len() != 64 {
        return Err(KeyError::DigestLength {
            found: hex_digits.len(),
        });
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut out).map_err(|error| KeyError::DigestHex { error })?;
    Ok(out)
}

/// The bucket of an `!s3|upload|part|` key (strict parse, exact end).
pub fn parse_upload_part_bucket(key: &[u8]) -> Result<Vec<u8>, KeyError> {
    let at = strip(key, UPLOAD_PART_PREFIX)?;
    let (id, at) = read_object_id(key, at)?;
    let (_upload, at) = read_seg(key, at)?;
    let (_part, at) = read_u64(key, at, "part number")?;
    expect_end(key, at)?;
    Ok(id.bucket)
}

/// The bucket of an `!s3|upload|meta|` key, Go's way (§3.2 quirk): the raw bytes up to the
/// first `00 01`, escapes **not** undone.
pub fn upload_meta_bucket_raw(key: &[u8]) -> Result<Vec<u8>, KeyError> {
    let at = strip(key, UPLOAD_META_PREFIX)?;
    let rest = key.get(at..).unwrap_or_default();
    rest.windows(2)
        .position(|w| w == [0, 1])
        .and_then(|end| rest.get(..end))
        .map(<[u8]>::to_vec)
        .ok_or(KeyError::UploadMetaUnterminated)
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
pub fn parse_chunk_ref(v: &[u8]) -> Result<ChunkRef, ValueError> {
    parse_chunk_ref_fields(v).map_err(ValueError::ChunkRef)
}

fn parse_chunk_ref_fields(v: &[u8]) -> Result<ChunkRef, ChunkRefError> {
    fn u16_at(v: &[u8], at: usize) -> Result<(usize, usize), ChunkRefError> {
        match v.get(at..at + 2) {
            Some(&[a, b]) => Ok((usize::from(u16::from_be_bytes([a, b])), at + 2)),
            _ => Err(ChunkRefError::LengthCut),
        }
    }
    fn skip(v: &[u8], at: usize, len: usize) -> Result<usize, ChunkRefError> {
        if trailing(v, at) < len {
            return Err(ChunkRefError::FieldCut { len, at });
        }
        Ok(at + len)
    }
    if v.len() < 43 {
        return Err(ChunkRefError::Short { len: v.len() });
    }
    let version = v.first().copied().unwrap_or(0);
    if version != 1 && version != 2 {
        return Err(ChunkRefError::Version { version });
    }
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(v.get(1..33).unwrap_or(&[0; 32]));
    // At least 43 bytes: the size is there.
    let (size, at) = read_u64(v, 33, "size").map_err(|_| ChunkRefError::FieldCut { len: 8, at: 33 })?;
    let (peer_len, at) = u16_at(v, at)?;
    let mut at = skip(v, at, peer_len)?;
    if version == 2 {
        let (count, next) = u16_at(v, at)?;
        at = next;
        if count > (v.len() - at) / 4 {
            return Err(ChunkRefError::Replicas { count });
        }
        for _ in 0..count * 2 {
            let (n, next) = u16_at(v, at)?;
            at = skip(v, next, n)?;
        }
    }
    if at != v.len() {
        return Err(ChunkRefError::Trailing {
            count: trailing(v, at),
        });
    }
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
    pub(super) fn new(v: &'a Value, what: &'static str) -> Result<GoObj<'a>, JsonError> {
        match v {
            Value::Object(m) => Ok(GoObj(Some(m))),
            Value::Null => Ok(GoObj(None)),
            _ => Err(JsonError::NotObject { what }),
        }
    }
    pub(super) fn get(&self, name: &str) -> Option<&'a Value> {
        self.0
            .and_then(|m| crate::dump::gofields::get_ci(m, name))
            .filter(|v| !v.is_null())
    }
    pub(super) fn string(&self, name: &'static str) -> Result<String, JsonError> {
        match self.get(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(wrong_type(name, JsonType::String)),
        }
    }
    pub(super) fn u64(&self, name: &'static str) -> Result<u64, JsonError> {
        self.get(name)
            .map_or(Ok(0), |v| v.as_u64().ok_or(wrong_type(name, JsonType::Unsigned)))
    }
    pub(super) fn i64(&self, name: &'static str) -> Result<i64, JsonError> {
        self.get(name)
            .map_or(Ok(0), |v| v.as_i64().ok_or(wrong_type(name, JsonType::Integer)))
    }
    pub(super) fn bool(&self, name: &'static str) -> Result<bool, JsonError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(wrong_type(name, JsonType::Bool)),
        }
    }
    pub(super) fn u64s(&self, name: &'static str) -> Result<Vec<u64>, JsonError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(0),
                    v => v.as_u64().ok_or(wrong_type(name, JsonType::Unsigneds)),
                })
                .collect(),
            Some(_) => Err(wrong_type(name, JsonType::Array)),
        }
    }
    pub(super) fn string_map(&self, name: &'static str) -> Result<Option<Vec<(String, String)>>, JsonError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => {
                let mut out: Vec<(String, String)> = Vec::with_capacity(m.len());
                for (k, v) in m {
                    let v = match v {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        _ => {
                            return Err(JsonError::MapEntry {
                                field: name,
                                key: k.clone(),
                            })
                        }
                    };
                    out.push((k.clone(), v));
                }
                // serde_json keeps the last of duplicate names (Go: last wins); Go
                // marshals map keys in byte order.
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Some(out))
            }
            Some(_) => Err(wrong_type(name, JsonType::Object)),
        }
    }
}

fn wrong_type(field: &'static str, want: JsonType) -> JsonError {
    JsonError::FieldType { field, want }
}

/// Parse the whole value as exactly one JSON document (Go `json.Unmarshal`).
fn parse_value(v: &[u8]) -> Result<Value, JsonError> {
    crate::dump::json::parse_one(v, false).map_err(|reason| JsonError::Syntax { reason })
}

/// `!s3|bucket|meta|` value (Go `s3LiveBucketMeta`).
pub fn parse_bucket_meta(v: &[u8]) -> Result<BucketMeta, ValueError> {
    parse_bucket_meta_json(v).map_err(ValueError::BucketMeta)
}

fn parse_bucket_meta_json(v: &[u8]) -> Result<BucketMeta, JsonError> {
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
pub fn parse_manifest(v: &[u8]) -> Result<LiveManifest, ValueError> {
    parse_manifest_json(v).map_err(ValueError::Manifest)
}

fn parse_manifest_json(v: &[u8]) -> Result<LiveManifest, JsonError> {
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
                .collect::<Result<Vec<_>, JsonError>>()?,
        ),
        Some(_) => return Err(wrong_type("parts", JsonType::Array)),
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
