//! `MANIFEST.json` (s3_tree_pipeline.md §7): schema, field order, the format_version gate
//! and validation, written in the MANIFEST JSON style.

use std::path::Path;

use super::DumpError;

/// One adapter's scope object (`{tables, buckets, databases, queues}`, all omitempty).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdapterScope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<String>,
}

/// `adapters`: a pointer per adapter; `None` means absent or null.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adapters {
    pub dynamodb: Option<AdapterScope>,
    pub s3: Option<AdapterScope>,
    pub redis: Option<AdapterScope>,
    pub sqs: Option<AdapterScope>,
}

/// `exclusions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    pub include_incomplete_uploads: bool,
    pub include_orphans: bool,
    pub preserve_sqs_visibility: bool,
    pub include_sqs_side_records: bool,
    pub rename_s3_collisions: bool,
}

/// `live` (phase 1 only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    pub read_ts: u64,
    pub pin_token_sha256: Option<String>,
}

/// MANIFEST.json, fields in the order Go writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub format_version: u32,
    pub phase: String,
    pub elastickv_version: String,
    pub cluster_id: String,
    pub snapshot_index: u64,
    pub last_commit_ts: u64,
    pub wall_time_iso: String,
    /// `source.fsm_path` (`None`: no `source` object).
    pub source_fsm_path: Option<String>,
    pub live: Option<Live>,
    pub adapters: Adapters,
    pub exclusions: Exclusions,
    pub checksum_algorithm: String,
    pub checksum_format: String,
    pub encoded_filename_charset: String,
    pub key_segment_max_bytes: u32,
    pub s3_meta_suffix: String,
    pub s3_collision_strategy: String,
    pub dynamodb_layout: String,
}

impl Manifest {
    /// A phase-0 decode manifest with every constant field at its Go value, `wall_time_iso`
    /// now, and the given adapters enabled (`{}` scopes).
    pub fn for_decode(enabled: &[crate::adapters::Adapter]) -> Manifest {
        let _ = enabled;
        todo!()
    }

    /// Validate and serialize (MANIFEST style: indent, no HTML escaping, trailing newline).
    pub fn to_bytes(&self) -> Result<Vec<u8>, DumpError> {
        todo!()
    }

    /// Parse with the Go gate and validation (§7.2). `path` is for messages only.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Manifest, DumpError> {
        let _ = (bytes, path);
        todo!()
    }

    /// Read `<root>/MANIFEST.json` (no-follow, regular file).
    pub fn read(root: &Path) -> Result<Manifest, DumpError> {
        let _ = root;
        todo!()
    }
}

/// Go `time.Format(time.RFC3339Nano)` in UTC of a Unix time in nanoseconds.
pub fn rfc3339_nano(unix_nanos: i128) -> String {
    let _ = unix_nanos;
    todo!()
}

/// `wall_time_iso` for now.
pub fn now_rfc3339_nano() -> String {
    todo!()
}
