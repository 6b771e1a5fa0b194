//! `MANIFEST.json` (s3_tree_pipeline.md §7): schema, field order, the format_version gate
//! and validation, written in the MANIFEST JSON style.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::fs::open_input;
use super::gofields::Fields;
use super::json::{self, JsonStyle};
use super::tree::MANIFEST_NAME;
use super::DumpError;

/// The only manifest format version this toolkit reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// `phase` of a manifest written by a snapshot decode.
pub const PHASE0: &str = "phase0-snapshot-decode";
/// `phase` of a manifest written from a live, pinned cluster.
pub const PHASE1: &str = "phase1-live-pinned";
/// `dynamodb_layout` values.
pub const DYNAMODB_LAYOUT_PER_ITEM: &str = "per-item";
/// `dynamodb_layout` of one JSONL file per table.
pub const DYNAMODB_LAYOUT_JSONL: &str = "jsonl";
/// Largest MANIFEST.json read (a real one is about 1 KiB).
const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// The four exclusion flags that must be present and non-null when `exclusions` is.
const REQUIRED_EXCLUSION_FLAGS: [&str; 4] = [
    "include_incomplete_uploads",
    "include_orphans",
    "preserve_sqs_visibility",
    "include_sqs_side_records",
];

/// One adapter's scope object (`{tables, buckets, databases, queues}`, all omitempty).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdapterScope {
    /// DynamoDB tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// S3 buckets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
    /// Redis databases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<u32>,
    /// SQS queues.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<String>,
}

/// `adapters`: a pointer per adapter; `None` means absent or null.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adapters {
    /// The DynamoDB scope.
    pub dynamodb: Option<AdapterScope>,
    /// The S3 scope.
    pub s3: Option<AdapterScope>,
    /// The Redis scope.
    pub redis: Option<AdapterScope>,
    /// The SQS scope.
    pub sqs: Option<AdapterScope>,
}

/// `exclusions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    /// S3 multipart uploads not completed were kept.
    pub include_incomplete_uploads: bool,
    /// S3 orphan blobs were kept.
    pub include_orphans: bool,
    /// SQS visibility state was kept.
    pub preserve_sqs_visibility: bool,
    /// SQS side records were kept.
    pub include_sqs_side_records: bool,
    /// S3 key collisions were renamed.
    pub rename_s3_collisions: bool,
}

/// `live` (phase 1 only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// The read timestamp of the live dump.
    pub read_ts: u64,
    /// SHA-256 of the pin token, hex.
    pub pin_token_sha256: Option<String>,
}

/// MANIFEST.json, fields in the order Go writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The MANIFEST format version (1).
    pub format_version: u32,
    /// `phase0-snapshot-decode` or `phase1-live`.
    pub phase: String,
    /// The producing toolkit's version.
    pub elastickv_version: String,
    /// The cluster id (may be empty).
    pub cluster_id: String,
    /// The Raft index of the snapshot.
    pub snapshot_index: u64,
    /// The newest commit timestamp in the snapshot (HLC).
    pub last_commit_ts: u64,
    /// When the dump was made (RFC 3339, UTC).
    pub wall_time_iso: String,
    /// `source.fsm_path` (`None`: no `source` object).
    pub source_fsm_path: Option<String>,
    /// The live-dump fields (phase 1 only).
    pub live: Option<Live>,
    /// The adapters in the dump and their scopes.
    pub adapters: Adapters,
    /// What was excluded or kept.
    pub exclusions: Exclusions,
    /// `sha256`.
    pub checksum_algorithm: String,
    /// The CHECKSUMS line format (`sha256sum`).
    pub checksum_format: String,
    /// The file-name segment charset.
    pub encoded_filename_charset: String,
    /// The longest encoded segment before the SHA fallback.
    pub key_segment_max_bytes: u32,
    /// The suffix of S3 metadata sidecar files.
    pub s3_meta_suffix: String,
    /// How S3 key collisions are handled.
    pub s3_collision_strategy: String,
    /// The DynamoDB item layout (`per-item` or `jsonl`).
    pub dynamodb_layout: String,
}

impl Manifest {
    /// A phase-0 decode manifest with every constant field at its Go value, `wall_time_iso`
    /// now, and the given adapter scopes. `elastickv_version` is Go's
    /// default build version `dev`; callers may overwrite any field.
    pub fn for_decode(adapters: Adapters) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            phase: PHASE0.to_owned(),
            elastickv_version: "dev".to_owned(),
            cluster_id: String::new(),
            snapshot_index: 0,
            last_commit_ts: 0,
            wall_time_iso: now_rfc3339_nano(),
            source_fsm_path: None,
            live: None,
            adapters,
            exclusions: Exclusions::default(),
            checksum_algorithm: "sha256".to_owned(),
            checksum_format: "sha256sum".to_owned(),
            encoded_filename_charset: "rfc3986-unreserved-plus-percent".to_owned(),
            key_segment_max_bytes: 240,
            s3_meta_suffix: ".elastickv-meta.json".to_owned(),
            s3_collision_strategy: "leaf-data-suffix".to_owned(),
            dynamodb_layout: DYNAMODB_LAYOUT_PER_ITEM.to_owned(),
        }
    }

    /// Validate and serialize (MANIFEST style: indent, no HTML escaping, trailing newline).
    pub fn to_bytes(&self) -> Result<Vec<u8>, DumpError> {
        self.validate(Path::new(MANIFEST_NAME))?;
        Ok(json::to_vec(&ManifestOut::from(self), JsonStyle::MANIFEST))
    }

    /// Parse with the Go gate and validation (§7.2). `path` is for messages only.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Manifest, DumpError> {
        // 1. exactly one JSON value, an object.
        let value = json::parse_one(bytes, false)
            .map_err(|e| DumpError::invalid(path, format!("not a single JSON value: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(DumpError::invalid(path, "not a JSON object"));
        };
        let top = Fields {
            obj: &obj,
            path,
            prefix: "",
        };
        // 2. the format_version gate, before any other type check.
        let version = match top.get("format_version") {
            None => return Err(DumpError::invalid(path, "format_version is missing or null")),
            Some(v) => v.as_u64().filter(|n| u32::try_from(*n).is_ok()).ok_or_else(|| {
                DumpError::invalid(path, "format_version: expected an unsigned 32-bit integer")
            })?,
        };
        if version != u64::from(FORMAT_VERSION) {
            return Err(DumpError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            });
        }
        // 3. strict typed decode (unknown fields tolerated).
        let source = top.object("source")?;
        let source_fsm_path = match source {
            Some(o) => Some(
                Fields {
                    obj: o,
                    path,
                    prefix: "source",
                }
                .string("fsm_path")?,
            ),
            None => None,
        };
        let live = match top.object("live")? {
            Some(o) => {
                let f = Fields {
                    obj: o,
                    path,
                    prefix: "live",
                };
                let pin = f.string("pin_token_sha256")?;
                Some(Live {
                    read_ts: f.u64("read_ts")?,
                    pin_token_sha256: (!pin.is_empty()).then_some(pin),
                })
            }
            None => None,
        };
        let adapters_obj = top.object("adapters")?;
        let adapters = match adapters_obj {
            Some(o) => {
                let f = Fields {
                    obj: o,
                    path,
                    prefix: "adapters",
                };
                Adapters {
                    dynamodb: read_scope(&f, "dynamodb")?,
                    s3: read_scope(&f, "s3")?,
                    redis: read_scope(&f, "redis")?,
                    sqs: read_scope(&f, "sqs")?,
                }
            }
            None => Adapters::default(),
        };
        let exclusions_obj = top.object("exclusions")?;
        let exclusions = match exclusions_obj {
            Some(o) => {
                let f = Fields {
                    obj: o,
                    path,
                    prefix: "exclusions",
                };
                Exclusions {
                    include_incomplete_uploads: f.bool("include_incomplete_uploads")?,
                    include_orphans: f.bool("include_orphans")?,
                    preserve_sqs_visibility: f.bool("preserve_sqs_visibility")?,
                    include_sqs_side_records: f.bool("include_sqs_side_records")?,
                    rename_s3_collisions: f.bool("rename_s3_collisions")?,
                }
            }
            None => Exclusions::default(),
        };
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            phase: top.string("phase")?,
            elastickv_version: top.string("elastickv_version")?,
            cluster_id: top.string("cluster_id")?,
            snapshot_index: top.u64("snapshot_index")?,
            last_commit_ts: top.u64("last_commit_ts")?,
            wall_time_iso: top.string("wall_time_iso")?,
            source_fsm_path,
            live,
            adapters,
            exclusions,
            checksum_algorithm: top.string("checksum_algorithm")?,
            checksum_format: top.string("checksum_format")?,
            encoded_filename_charset: top.string("encoded_filename_charset")?,
            key_segment_max_bytes: top.u32("key_segment_max_bytes")?,
            s3_meta_suffix: top.string("s3_meta_suffix")?,
            s3_collision_strategy: top.string("s3_collision_strategy")?,
            dynamodb_layout: top.string("dynamodb_layout")?,
        };
        // 4. exclusion-flag presence (exact names, as Go's raw-map check).
        if let Some(Value::Object(ex)) = obj.get("exclusions") {
            for flag in REQUIRED_EXCLUSION_FLAGS {
                if !matches!(ex.get(flag), Some(v) if !v.is_null()) {
                    return Err(DumpError::invalid(
                        path,
                        format!("exclusions.{flag} is missing or null"),
                    ));
                }
            }
        }
        // 5. required fields and phase rules.
        if adapters_obj.is_none() {
            return Err(DumpError::invalid(path, "adapters is missing or null"));
        }
        if exclusions_obj.is_none() {
            return Err(DumpError::invalid(path, "exclusions is missing or null"));
        }
        manifest.validate(path)?;
        Ok(manifest)
    }

    /// The validation shared by the writer and the reader (§7.1 "Read validation").
    fn validate(&self, path: &Path) -> Result<(), DumpError> {
        let bad = |what: String| Err(DumpError::invalid(path, what));
        if self.format_version != FORMAT_VERSION {
            return bad(format!(
                "format_version {} (this toolkit writes {FORMAT_VERSION})",
                self.format_version
            ));
        }
        match self.phase.as_str() {
            PHASE0 => {
                if self.live.is_some() {
                    return bad(format!("phase {PHASE0} must not carry `live`"));
                }
            }
            PHASE1 => {
                match &self.live {
                    None => return bad(format!("phase {PHASE1} requires `live`")),
                    Some(l) if l.read_ts == 0 => return bad("live.read_ts must be non-zero".into()),
                    Some(_) => {}
                }
                if self.source_fsm_path.is_some() {
                    return bad(format!("phase {PHASE1} must not carry `source`"));
                }
            }
            other => {
                return bad(format!(
                    "unknown phase {other:?} (expected {PHASE0:?} or {PHASE1:?})"
                ))
            }
        }
        if self.wall_time_iso.is_empty() {
            return bad("wall_time_iso is empty".into());
        }
        if !is_rfc3339(&self.wall_time_iso) {
            return bad(format!(
                "wall_time_iso {:?} is not an RFC 3339 timestamp",
                self.wall_time_iso
            ));
        }
        for (name, value) in [
            ("checksum_algorithm", &self.checksum_algorithm),
            ("checksum_format", &self.checksum_format),
            ("encoded_filename_charset", &self.encoded_filename_charset),
            ("s3_meta_suffix", &self.s3_meta_suffix),
            ("s3_collision_strategy", &self.s3_collision_strategy),
        ] {
            if value.is_empty() {
                return bad(format!("{name} is empty"));
            }
        }
        if self.key_segment_max_bytes == 0 {
            return bad("key_segment_max_bytes is zero".into());
        }
        if self.dynamodb_layout != DYNAMODB_LAYOUT_PER_ITEM && self.dynamodb_layout != DYNAMODB_LAYOUT_JSONL {
            return bad(format!(
                "dynamodb_layout {:?} (expected {DYNAMODB_LAYOUT_PER_ITEM:?} or {DYNAMODB_LAYOUT_JSONL:?})",
                self.dynamodb_layout
            ));
        }
        Ok(())
    }

    /// Read `<root>/MANIFEST.json` (no-follow, regular file).
    pub fn read(root: &Path) -> Result<Manifest, DumpError> {
        let path = root.join(MANIFEST_NAME);
        let file = open_input(&path)?;
        let mut bytes = Vec::new();
        file.take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| DumpError::io(&path, e))?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(DumpError::invalid(
                &path,
                format!("larger than {MAX_MANIFEST_BYTES} bytes"),
            ));
        }
        Manifest::from_bytes(&bytes, &path)
    }
}

fn read_scope(adapters: &Fields<'_>, name: &str) -> Result<Option<AdapterScope>, DumpError> {
    let Some(o) = adapters.object(name)? else {
        return Ok(None);
    };
    let prefix = format!("adapters.{name}");
    let f = Fields {
        obj: o,
        path: adapters.path,
        prefix: &prefix,
    };
    Ok(Some(AdapterScope {
        tables: f.strings("tables")?,
        buckets: f.strings("buckets")?,
        databases: f.u32s("databases")?,
        queues: f.strings("queues")?,
    }))
}

/// The on-disk shape, in Go field order with Go's omitempty rules.
#[derive(Serialize)]
struct ManifestOut<'a> {
    format_version: u32,
    phase: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    elastickv_version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cluster_id: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    snapshot_index: u64,
    #[serde(skip_serializing_if = "is_zero")]
    last_commit_ts: u64,
    wall_time_iso: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<SourceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<LiveOut<'a>>,
    adapters: AdaptersOut<'a>,
    exclusions: ExclusionsOut,
    checksum_algorithm: &'a str,
    checksum_format: &'a str,
    encoded_filename_charset: &'a str,
    key_segment_max_bytes: u32,
    s3_meta_suffix: &'a str,
    s3_collision_strategy: &'a str,
    dynamodb_layout: &'a str,
}

#[derive(Serialize)]
struct SourceOut<'a> {
    fsm_path: &'a str,
}

#[derive(Serialize)]
struct LiveOut<'a> {
    read_ts: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    pin_token_sha256: &'a str,
}

#[derive(Serialize)]
struct AdaptersOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamodb: Option<&'a AdapterScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s3: Option<&'a AdapterScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<&'a AdapterScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sqs: Option<&'a AdapterScope>,
}

#[derive(Serialize)]
struct ExclusionsOut {
    include_incomplete_uploads: bool,
    include_orphans: bool,
    preserve_sqs_visibility: bool,
    include_sqs_side_records: bool,
    #[serde(skip_serializing_if = "is_false")]
    rename_s3_collisions: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl<'a> From<&'a Manifest> for ManifestOut<'a> {
    fn from(m: &'a Manifest) -> Self {
        ManifestOut {
            format_version: m.format_version,
            phase: &m.phase,
            elastickv_version: &m.elastickv_version,
            cluster_id: &m.cluster_id,
            snapshot_index: m.snapshot_index,
            last_commit_ts: m.last_commit_ts,
            wall_time_iso: &m.wall_time_iso,
            source: m
                .source_fsm_path
                .as_deref()
                .map(|fsm_path| SourceOut { fsm_path }),
            live: m.live.as_ref().map(|l| LiveOut {
                read_ts: l.read_ts,
                pin_token_sha256: l.pin_token_sha256.as_deref().unwrap_or(""),
            }),
            adapters: AdaptersOut {
                dynamodb: m.adapters.dynamodb.as_ref(),
                s3: m.adapters.s3.as_ref(),
                redis: m.adapters.redis.as_ref(),
                sqs: m.adapters.sqs.as_ref(),
            },
            exclusions: ExclusionsOut {
                include_incomplete_uploads: m.exclusions.include_incomplete_uploads,
                include_orphans: m.exclusions.include_orphans,
                preserve_sqs_visibility: m.exclusions.preserve_sqs_visibility,
                include_sqs_side_records: m.exclusions.include_sqs_side_records,
                rename_s3_collisions: m.exclusions.rename_s3_collisions,
            },
            checksum_algorithm: &m.checksum_algorithm,
            checksum_format: &m.checksum_format,
            encoded_filename_charset: &m.encoded_filename_charset,
            key_segment_max_bytes: m.key_segment_max_bytes,
            s3_meta_suffix: &m.s3_meta_suffix,
            s3_collision_strategy: &m.s3_collision_strategy,
            dynamodb_layout: &m.dynamodb_layout,
        }
    }
}

/// Go `time.Format(time.RFC3339Nano)` in UTC of a Unix time in nanoseconds: the fraction
/// has its trailing zeros trimmed and is omitted when zero. Times outside the calendar range
/// of the `time` crate are clamped to the Unix epoch.
pub fn rfc3339_nano(unix_nanos: i128) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(unix_nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// `wall_time_iso` for now.
pub fn now_rfc3339_nano() -> String {
    let nanos = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(0),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(0),
    };
    rfc3339_nano(nanos)
}

/// Whether `s` parses with Go `time.Parse(time.RFC3339Nano, s)`:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` with a valid calendar date and time.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0, 4),
        num(5, 2),
        num(8, 2),
        num(11, 2),
        num(14, 2),
        num(17, 2),
    ) else {
        return false;
    };
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        let digits = b
            .get(i + 1..)
            .unwrap_or_default()
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if digits == 0 {
            return false;
        }
        i += 1 + digits;
    }
    let zone_ok = match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+') | Some(b'-') => {
            i + 6 == b.len()
                && at(i + 3, b':')
                && num(i + 1, 2).is_some_and(|h| h < 24)
                && num(i + 4, 2).is_some_and(|m| m < 60)
        }
        _ => false,
    };
    let Ok(month) = time::Month::try_from(u8::try_from(month).unwrap_or(0)) else {
        return false;
    };
    zone_ok
        && time::Date::from_calendar_date(year as i32, month, u8::try_from(day).unwrap_or(0)).is_ok()
        && hour < 24
        && minute < 60
        && second < 60
}

#[cfg(test)]
mod tests;
