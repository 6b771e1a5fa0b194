//! `inspect`: what a snapshot holds and whether it is intact, in one streaming pass, like
//! `etcdutl snapshot status`: the layers found (FSM header, payload format, footer), the
//! stream's last commit timestamp, and entry statistics by family, versions and tombstones.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::adapters::{display_key, families, family_index, Router, INTERNAL};
use crate::container::{ContainerError, SnapshotFile};
use crate::dump::manifest::rfc3339_nano;
use crate::mvcc::{MvccError, MvccItem, MvccView};
use crate::Error;

use super::Progress;

/// The FSM header, as found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeaderReport {
    /// The version found.
    pub version: String,
    /// The HLC physical ceiling (ms).
    pub ceiling_ms: u64,
    /// The ceiling as UTC time.
    pub ceiling_utc: String,
    /// The Raft index of the cutover (v2 only; 0 otherwise).
    pub cutover_index: u64,
}

/// A full HLC timestamp split into its parts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HlcReport {
    /// The raw 64-bit HLC.
    pub raw: u64,
    /// Physical part: milliseconds since the epoch.
    pub physical_ms: u64,
    /// Logical part (low 16 bits).
    pub logical: u64,
    /// The physical part as UTC time.
    pub utc: String,
}

impl HlcReport {
    /// Split a raw HLC.
    pub fn new(raw: u64) -> HlcReport {
        let ms = raw >> 16;
        HlcReport {
            raw,
            physical_ms: ms,
            logical: raw & 0xFFFF,
            utc: utc_of_ms(ms),
        }
    }
}

/// The CRC32C footer, as checked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FooterReport {
    /// `ok`, `mismatch`, `absent` (bare stream) or `unchecked` (the stream failed first).
    pub status: String,
    /// The CRC32C stored in the footer, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The value computed from the bytes read.
    pub computed: Option<String>,
}

/// Statistics of one family.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct FamilyReport {
    /// Stream entries (every version, tombstones included).
    pub entries: u64,
    /// User keys alive at the snapshot (newest version not a tombstone).
    pub live_keys: u64,
    /// Bytes of the encoded keys.
    pub key_bytes: u64,
    /// Bytes of the values.
    pub value_bytes: u64,
}

/// The largest entry of the stream.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct LargestEntry {
    /// Key plus value bytes.
    pub bytes: u64,
    /// Byte offset from the start of the file.
    pub offset: u64,
    /// The key concerned, printable.
    pub key: String,
}

/// One table of an `EKVSSTI1` bundle.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SstTableReport {
    /// The table's file name.
    pub name: String,
    /// The table's size in bytes.
    pub size: u64,
    /// Offset of the table in the snapshot file.
    pub offset: u64,
    /// The manifest's SHA-256 (hex).
    pub sha256: String,
    /// Size, SHA-256, block checksums, key range and entry count all checked.
    pub verified: bool,
    /// The smallest key, for display.
    pub smallest: String,
    /// The largest key, for display.
    pub largest: String,
    /// Entries in the table.
    pub entries: u64,
    /// Data blocks in the table.
    pub data_blocks: u64,
    /// Whether the table has a two-level index.
    pub two_level_index: bool,
}

/// The manifest of an `EKVSSTI1` bundle, and its tables.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SstBundleReport {
    /// The manifest version.
    pub version: u64,
    /// The commit timestamp of the export.
    pub last_commit_ts: u64,
    /// The minimum retained MVCC timestamp.
    pub min_retained_ts: u64,
    /// The pending minimum retained timestamp.
    pub pending_min_retained_ts: u64,
    /// The Raft index the export was taken at, if recorded.
    pub applied_index: Option<u64>,
    /// Entries in all tables.
    pub entry_count: u64,
    /// Key and value bytes of all entries.
    pub uncompressed_bytes: u64,
    /// The size of all tables.
    pub total_file_bytes: u64,
    /// The tables.
    pub files: Vec<SstTableReport>,
}

/// Everything `inspect` reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InspectReport {
    /// The file or directory concerned.
    pub path: String,
    /// The file size.
    pub file_bytes: u64,
    /// The snapshot index from the file name.
    pub snapshot_index: Option<u64>,
    /// The FSM header (`None`: a bare stream).
    pub header: Option<HeaderReport>,
    /// The payload format's name.
    pub payload_format: String,
    /// The newest commit timestamp.
    pub last_commit_ts: HlcReport,
    /// The CRC32C footer check.
    pub footer: FooterReport,
    /// Stream entries (every version).
    pub entries: u64,
    /// User keys alive at the snapshot.
    pub live_keys: u64,
    /// Versions shadowed by a newer one.
    pub older_versions: u64,
    /// Live keys whose newest version is a tombstone.
    pub tombstones: u64,
    /// Raw non-MVCC rows.
    pub raw_rows: u64,
    /// Bytes of all keys.
    pub key_bytes: u64,
    /// Bytes of all values.
    pub value_bytes: u64,
    /// The largest entry.
    pub largest_entry: LargestEntry,
    /// Statistics per family.
    pub families: BTreeMap<&'static str, FamilyReport>,
    /// For an `EKVSSTI1` payload: the bundle's manifest and tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sst_bundle: Option<SstBundleReport>,
    /// Why the snapshot is not intact (`None`: intact).
    pub error: Option<String>,
}

impl InspectReport {
    /// Whether the snapshot read cleanly to its end.
    pub fn intact(&self) -> bool {
        self.error.is_none()
    }

    /// The report of a file that is not a readable snapshot at all (`inspect --all` goes
    /// on to the next file).
    pub fn unreadable(path: &Path, file_bytes: u64, error: String) -> InspectReport {
        InspectReport {
            path: path.display().to_string(),
            file_bytes,
            snapshot_index: crate::container::snapshot_index_from_path(path),
            header: None,
            payload_format: "unknown".into(),
            last_commit_ts: HlcReport::new(0),
            footer: FooterReport {
                status: "unchecked".into(),
                stored: None,
                computed: None,
            },
            entries: 0,
            live_keys: 0,
            older_versions: 0,
            tombstones: 0,
            raw_rows: 0,
            key_bytes: 0,
            value_bytes: 0,
            largest_entry: LargestEntry::default(),
            families: BTreeMap::new(),
            sst_bundle: None,
            error: Some(error),
        }
    }
}

fn sst_report(file: &SnapshotFile) -> Option<SstBundleReport> {
    let (m, tables) = file.sst()?;
    Some(SstBundleReport {
        version: m.version,
        last_commit_ts: m.last_commit_ts,
        min_retained_ts: m.min_retained_ts,
        pending_min_retained_ts: m.pending_min_retained_ts,
        applied_index: m.applied_index,
        entry_count: m.entry_count,
        uncompressed_bytes: m.uncompressed_bytes,
        total_file_bytes: m.total_file_bytes,
        files: m
            .files
            .iter()
            .zip(tables)
            .map(|(f, t)| SstTableReport {
                name: f.name.clone(),
                size: f.size,
                offset: t.offset,
                sha256: f.sha256.clone(),
                verified: t.verified,
                smallest: crate::container::display_key(&f.smallest),
                largest: crate::container::display_key(&f.largest),
                entries: t.entries,
                data_blocks: t.data_blocks,
                two_level_index: t.two_level_index,
            })
            .collect(),
    })
}

/// Inspect one file. A malformed stream or a footer mismatch is reported in `error` (with
/// the statistics gathered up to that point); only a file that cannot be opened or is not a
/// snapshot at all is an `Err`.
pub fn inspect(path: &Path, progress: &mut dyn Progress) -> Result<InspectReport, Error> {
    let mut file = SnapshotFile::open(path)?;
    let info = file.info().clone();
    let mut report = InspectReport {
        path: path.display().to_string(),
        file_bytes: info.file_size.unwrap_or(0),
        snapshot_index: info.snapshot_index,
        header: info.header.as_ref().map(|h| HeaderReport {
            version: format!("{:?}", h.version),
            ceiling_ms: h.ceiling_ms,
            ceiling_utc: utc_of_ms(h.ceiling_ms),
            cutover_index: h.cutover,
        }),
        payload_format: info.payload.name().to_owned(),
        last_commit_ts: HlcReport::new(info.last_commit_ts.unwrap_or(0)),
        footer: FooterReport {
            status: "unchecked".into(),
            stored: None,
            computed: None,
        },
        entries: 0,
        live_keys: 0,
        older_versions: 0,
        tombstones: 0,
        raw_rows: 0,
        key_bytes: 0,
        value_bytes: 0,
        largest_entry: LargestEntry::default(),
        families: families().iter().map(|f| (*f, FamilyReport::default())).collect(),
        sst_bundle: None,
        error: None,
    };
    let streamed = walk(&mut file, &mut report, progress);
    match streamed {
        Ok(()) => match file.finish() {
            Ok(f) => {
                report.footer = FooterReport {
                    status: if f.footer.is_some() { "ok" } else { "absent" }.into(),
                    stored: f.footer.map(|v| format!("{v:08x}")),
                    computed: Some(format!("{:08x}", f.computed)),
                };
            }
            Err(e) => {
                if let ContainerError::FooterMismatch {
                    expected, computed, ..
                } = e.root()
                {
                    report.footer = FooterReport {
                        status: "mismatch".into(),
                        stored: Some(format!("{expected:08x}")),
                        computed: Some(format!("{computed:08x}")),
                    };
                }
                report.error = Some(e.to_string());
            }
        },
        Err(e) => report.error = Some(e.to_string()),
    }
    report.sst_bundle = sst_report(&file);
    Ok(report)
}

/// One pass over every entry, counting by family; the MVCC view labels each entry.
fn walk(
    file: &mut SnapshotFile,
    r: &mut InspectReport,
    progress: &mut dyn Progress,
) -> Result<(), MvccError> {
    // Per-family tallies indexed like the registry's family list: the hot loop does no map
    // lookups.
    let mut fams = vec![FamilyReport::default(); families().len()];
    let result = walk_entries(file, r, &mut fams, progress);
    for (fam, f) in families().iter().zip(fams) {
        r.families.insert(fam, f);
    }
    result
}

fn walk_entries(
    file: &mut SnapshotFile,
    r: &mut InspectReport,
    fams: &mut [FamilyReport],
    progress: &mut dyn Progress,
) -> Result<(), MvccError> {
    let mut view = MvccView::new(file);
    let mut router = Router::default();
    let internal = family_index(INTERNAL).unwrap_or(0);
    let res = loop {
        let item = match view.next() {
            Ok(Some(item)) => item,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let (key, klen, vlen, fam) = match &item {
            MvccItem::Raw(raw) => (raw.key, raw.key.len(), raw.value.len(), internal),
            MvccItem::Live(m) | MvccItem::Deleted(m) | MvccItem::Older(m) => (
                m.user_key,
                m.encoded_key.len(),
                m.body.len() + 9,
                router.family(m.user_key),
            ),
        };
        r.entries += 1;
        r.key_bytes += klen as u64;
        r.value_bytes += vlen as u64;
        let f = &mut fams[fam];
        f.entries += 1;
        f.key_bytes += klen as u64;
        f.value_bytes += vlen as u64;
        if matches!(item, MvccItem::Live(_)) {
            f.live_keys += 1;
        }
        let size = item.encoded_len();
        if size > r.largest_entry.bytes {
            r.largest_entry = LargestEntry {
                bytes: size,
                offset: item.offset(),
                key: display_key(key),
            };
        }
        if r.entries % (1 << 16) == 0 {
            progress.update(item.offset(), r.entries);
        }
    };
    let c = view.counters();
    r.live_keys = c.live_keys;
    r.older_versions = c.older_versions;
    r.tombstones = c.tombstoned_keys;
    r.raw_rows = c.raw_rows;
    res
}

fn utc_of_ms(ms: u64) -> String {
    rfc3339_nano(i128::from(ms) * 1_000_000)
}
