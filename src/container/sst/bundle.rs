//! The `EKVSSTI1` bundle frame (spec/sst_bundle.md §2): magic, u64be manifest length, the
//! manifest's SHA-256, the manifest JSON, then each table's bytes in manifest order.
//!
//! [`SstBundleReader`] streams the entries of every table in order. With a positional
//! handle on the snapshot file (a regular file), each table's footer and index are read by
//! position and its data blocks are read in passing from the sequential stream, which also
//! feeds the table's SHA-256 and the file's running CRC32C; nothing is extracted. Without
//! one (a pipe, bytes in memory) one table at a time is spooled to an anonymous temporary
//! file, its size and SHA-256 checked, and then read by position. Checks: manifest length
//! and digest, manifest fields (Go's `validateSSTIngestManifest`), each table's size and
//! SHA-256, its blocks (see [`super::table`]), its key range against the manifest, its
//! entry count against its properties, the bundle's entry count and uncompressed bytes
//! against the manifest, and what follows the last table (nothing, or the footer).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::table::{BlockHandle, Table};
use crate::container::format::MAGIC_SST_INGEST;
use crate::container::pebble::{classify, Decoded, FooterSeen, Trailer};
use crate::container::peek::PeekReader;
use crate::container::{display_key, ContainerError, StreamEntry};

/// The only manifest version (`sstIngestSnapshotVersion`).
pub const MANIFEST_VERSION: u64 = 1;
/// Largest manifest accepted (`sstIngestManifestMaxBytes`, 64 MiB).
pub const MANIFEST_MAX_BYTES: u64 = 64 << 20;
/// Most tables in a bundle (`sstIngestSnapshotMaxFiles`).
pub const MAX_FILES: usize = 1 << 20;

/// Go's `[]byte` in JSON: standard base64 with padding.
mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

/// One table of the manifest (`pebbleSSTIngestFileMeta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SstFileMeta {
    /// The table's file name.
    pub name: String,
    /// The table's size in bytes.
    pub size: u64,
    /// SHA-256 of the table (hex).
    pub sha256: String,
    /// The smallest encoded key.
    #[serde(with = "b64")]
    pub smallest: Vec<u8>,
    /// The largest encoded key.
    #[serde(with = "b64")]
    pub largest: Vec<u8>,
}

/// The bundle manifest (`pebbleSSTIngestManifest`), fields in Go's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SstManifest {
    /// The manifest version.
    pub version: u64,
    /// The commit timestamp of the export.
    pub last_commit_ts: u64,
    /// The minimum retained MVCC timestamp.
    pub min_retained_ts: u64,
    /// The pending minimum retained timestamp.
    pub pending_min_retained_ts: u64,
    /// The Raft index the export was taken at, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_index: Option<u64>,
    /// The number of entries in all tables.
    pub entry_count: u64,
    /// Key and value bytes of all entries.
    pub uncompressed_bytes: u64,
    /// The size of all tables.
    pub total_file_bytes: u64,
    /// The tables, in key order.
    pub files: Vec<SstFileMeta>,
}

impl SstManifest {
    /// Compact JSON as Go's `json.Marshal` writes it.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parse and validate the manifest JSON found at `offset`.
    pub fn parse(json: &[u8], offset: u64) -> Result<SstManifest, ContainerError> {
        let bad = |problem: String| ContainerError::SstManifest { offset, problem };
        let m: SstManifest = serde_json::from_slice(json).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        m.validate().map_err(bad)?;
        Ok(m)
    }

    /// Go's `validateSSTIngestManifest`: version, file count, names by position, sizes,
    /// key bounds ascending without overlap, digests, and the total size.
    fn validate(&self) -> Result<(), String> {
        if self.version != MANIFEST_VERSION {
            return Err(format!("version {}: expected {MANIFEST_VERSION}", self.version));
        }
        if self.files.len() > MAX_FILES {
            return Err(format!("{} files: at most {MAX_FILES}", self.files.len()));
        }
        let mut total = 0u64;
        let mut prev: Option<&[u8]> = None;
        for (i, f) in self.files.iter().enumerate() {
            let name = format!("{i:06}.sst");
            if f.name != name {
                return Err(format!("file {i} is named {:?}: expected {name:?}", f.name));
            }
            if f.size == 0 || f.size > i64::MAX as u64 {
                return Err(format!("{}: size {} is not positive", f.name, f.size));
            }
            if f.smallest.is_empty() || f.largest.is_empty() || f.smallest > f.largest {
                return Err(format!("{}: invalid key bounds", f.name));
            }
            if prev.is_some_and(|p| p >= f.smallest.as_slice()) {
                return Err(format!("{}: key bounds overlap the previous file's", f.name));
            }
            if hex::decode(&f.sha256).map(|d| d.len()) != Ok(32) {
                return Err(format!("{}: sha256 {:?} is not 64 hex digits", f.name, f.sha256));
            }
            total = total
                .checked_add(f.size)
                .filter(|t| *t <= i64::MAX as u64)
                .ok_or_else(|| "total size overflows int64".to_string())?;
            prev = Some(&f.largest);
        }
        if total != self.total_file_bytes {
            return Err(format!(
                "total_file_bytes {} but the files add up to {total}",
                self.total_file_bytes
            ));
        }
        Ok(())
    }
}

/// What was learned about one table while reading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SstFileReport {
    /// The table's file name.
    pub name: String,
    /// The table's size in bytes.
    pub size: u64,
    /// Offset of the table in the snapshot file.
    pub offset: u64,
    /// Entries read.
    pub entries: u64,
    /// Data blocks read.
    pub data_blocks: u64,
    /// Whether the table has a two-level index.
    pub two_level_index: bool,
    /// Size, SHA-256, blocks, key range and entry count all checked.
    pub verified: bool,
}

#[derive(Debug)]
enum Source {
    /// Data blocks come from the sequential stream; `File` reads the tail by position.
    Bundle,
    /// The table was spooled to this file (size and digest already checked).
    Spool(File),
}

#[derive(Debug)]
struct Open {
    table: Table,
    index: usize,
    start: u64,
    source: Source,
    sha: Sha256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed,
}

/// Streaming reader of an `EKVSSTI1` bundle.
#[derive(Debug)]
pub struct SstBundleReader<R> {
    input: PeekReader<R>,
    trailer: Trailer,
    positional: Option<(File, u64)>,
    manifest: SstManifest,
    files: Vec<SstFileReport>,
    cur: Option<Open>,
    next_file: usize,
    state: State,
    footer: Option<FooterSeen>,
    entries: u64,
    uncompressed: u64,
    current: Option<Decoded>,
    entry_offset: u64,
    raw: Vec<u8>,
}

impl<R: Read> SstBundleReader<R> {
    /// Read the bundle head at the current position of `input` (after any FSM header).
    /// `positional` is a handle on the same file for reads by position (`None`: spool).
    pub fn from_peek_reader(
        mut input: PeekReader<R>,
        trailer: Trailer,
        positional: Option<File>,
    ) -> Result<Self, ContainerError> {
        let offset = input.offset();
        let io = |what: &'static str, offset: u64| move |source| ContainerError::Io { offset, what, source };
        let head = input.peek(48).map_err(io("EKVSSTI1 head", offset))?;
        if head.len() < 48 {
            return Err(ContainerError::Truncated {
                offset,
                what: "EKVSSTI1 head (magic, manifest length, manifest SHA-256)",
                expected: 48,
                found: head.len() as u64,
            });
        }
        let mut h = [0u8; 48];
        h.copy_from_slice(head);
        if h[..8] != MAGIC_SST_INGEST {
            return Err(ContainerError::BadMagic {
                offset,
                expected: "EKVSSTI1",
                found: h[..8].try_into().unwrap_or_default(),
            });
        }
        let len = i64::from_be_bytes(h[8..16].try_into().unwrap_or_default());
        if len <= 0 || len as u64 > MANIFEST_MAX_BYTES {
            return Err(ContainerError::SstManifest {
                offset: offset + 8,
                problem: format!("manifest length {len}: expected 1..={MANIFEST_MAX_BYTES}"),
            });
        }
        input.consume(48);
        let mut json = Vec::new();
        let got = input
            .read_into(&mut json, len as u64)
            .map_err(io("EKVSSTI1 manifest", offset + 48))?;
        if got < len as u64 {
            return Err(ContainerError::Truncated {
                offset: offset + 48,
                what: "EKVSSTI1 manifest",
                expected: len as u64,
                found: got,
            });
        }
        let computed = Sha256::digest(&json);
        if computed.as_slice() != &h[16..48] {
            return Err(ContainerError::SstManifest {
                offset: offset + 16,
                problem: format!(
                    "manifest SHA-256 mismatch: head says {}, computed {}",
                    hex::encode(&h[16..48]),
                    hex::encode(computed)
                ),
            });
        }
        let manifest = SstManifest::parse(&json, offset + 48)?;
        let positional = match positional {
            Some(f) => {
                let size = f.metadata().map_err(io("snapshot file size", offset))?.len();
                Some((f, size))
            }
            None => None,
        };
        let files = manifest
            .files
            .iter()
            .map(|f| SstFileReport {
                name: f.name.clone(),
                size: f.size,
                ..Default::default()
            })
            .collect();
        Ok(SstBundleReader {
            input,
            trailer,
            positional,
            manifest,
            files,
            cur: None,
            next_file: 0,
            state: State::Reading,
            footer: None,
            entries: 0,
            uncompressed: 0,
            current: None,
            entry_offset: offset,
            raw: Vec::new(),
        })
    }

    /// The verified manifest.
    pub fn manifest(&self) -> &SstManifest {
        &self.manifest
    }

    /// One report per table of the manifest (filled in as tables are read).
    pub fn files(&self) -> &[SstFileReport] {
        &self.files
    }

    /// The file offset reached.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// Entries read so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The footer, once the bundle has been read to its end.
    pub fn footer(&self) -> Option<FooterSeen> {
        self.footer
    }

    /// CRC32C of the bytes consumed so far.
    pub fn crc(&mut self) -> u32 {
        self.input.crc()
    }

    /// Read the next entry: `Ok(true)` if there is one (see [`Self::current`]).
    pub fn advance(&mut self) -> Result<bool, ContainerError> {
        self.current = None;
        match self.state {
            State::Done => return Ok(false),
            State::Failed => {
                return Err(ContainerError::AfterError {
                    offset: self.entry_offset,
                })
            }
            State::Reading => {}
        }
        match self.step() {
            Ok(more) => {
                if !more {
                    self.state = State::Done;
                }
                Ok(more)
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }

    /// The entry read by the last successful [`Self::advance`].
    pub fn current(&self) -> Option<StreamEntry<'_>> {
        let t = &self.cur.as_ref()?.table;
        Some(self.current?.entry(t.user_key(), t.value(), self.entry_offset))
    }

    // Kept out of line: inlined into `SnapshotFile::next` it would bloat the EKVPBBL1 path.
    #[inline(never)]
    fn step(&mut self) -> Result<bool, ContainerError> {
        loop {
            let Some(open) = self.cur.as_mut() else {
                if self.next_file < self.manifest.files.len() {
                    self.open_next()?;
                    continue;
                }
                return self.at_end().map(|()| false);
            };
            if open.table.next_entry()? {
                let meta = self.manifest.files.get(open.index);
                let (key, value) = (open.table.user_key(), open.table.value());
                if open.table.entries() == 1 && meta.is_some_and(|m| m.smallest != key) {
                    return Err(open.table.corrupt(
                        super::table::BlockKind::Data,
                        0,
                        format!("first key {} is not the manifest's smallest", display_key(key)),
                    ));
                }
                self.entry_offset = open.table.block_file_offset();
                self.current = Some(classify(key, value, self.entry_offset)?);
                self.entries += 1;
                self.uncompressed = self.uncompressed.saturating_add((key.len() + value.len()) as u64);
                return Ok(true);
            }
            let src = match &open.source {
                Source::Bundle => self.positional.as_ref().map(|(f, _)| f),
                Source::Spool(f) => Some(f),
            };
            let Some(src) = src else {
                return Err(ContainerError::AfterError { offset: open.start });
            };
            match open.table.next_data_block(src)? {
                Some(h) => self.load_block(h)?,
                None => self.close_file()?,
            }
        }
    }

    fn open_next(&mut self) -> Result<(), ContainerError> {
        let index = self.next_file;
        self.next_file += 1;
        let Some(meta) = self.manifest.files.get(index).cloned() else {
            return Ok(());
        };
        let meta = &meta;
        let start = self.input.offset();
        let (table, source, sha) = match &self.positional {
            Some((file, file_size)) => {
                let avail = file_size.saturating_sub(start);
                if avail < meta.size {
                    return Err(ContainerError::Truncated {
                        offset: start,
                        what: "EKVSSTI1 table",
                        expected: meta.size,
                        found: avail,
                    });
                }
                let table = Table::open(file, start, meta.size, start, &meta.name)?;
                (table, Source::Bundle, Sha256::new())
            }
            None => {
                let spool = self.spool(meta, start)?;
                let table = Table::open(&spool, 0, meta.size, start, &meta.name)?;
                (table, Source::Spool(spool), Sha256::new())
            }
        };
        if let Some(r) = self.files.get_mut(index) {
            r.offset = start;
            r.two_level_index = table.props().two_level_index;
        }
        self.cur = Some(Open {
            table,
            index,
            start,
            source,
            sha,
        });
        Ok(())
    }

    /// Copy one table to an anonymous temporary file, checking its size and SHA-256.
    fn spool(&mut self, meta: &SstFileMeta, start: u64) -> Result<File, ContainerError> {
        let scratch_err = |source| ContainerError::Write {
            what: "EKVSSTI1 table spool",
            source,
        };
        let mut spool = tempfile::tempfile().map_err(scratch_err)?;
        let mut sha = Sha256::new();
        let mut werr = None;
        let got = self
            .input
            .consume_upto(meta.size, |c| {
                sha.update(c);
                if werr.is_none() {
                    werr = spool.write_all(c).err();
                }
            })
            .map_err(|source| ContainerError::Io {
                offset: start,
                what: "EKVSSTI1 table",
                source,
            })?;
        if let Some(e) = werr {
            return Err(scratch_err(e));
        }
        if got < meta.size {
            return Err(ContainerError::Truncated {
                offset: start,
                what: "EKVSSTI1 table",
                expected: meta.size,
                found: got,
            });
        }
        check_digest(meta, sha, start)?;
        spool.seek(SeekFrom::Start(0)).map_err(scratch_err)?;
        Ok(spool)
    }

    fn load_block(&mut self, h: BlockHandle) -> Result<(), ContainerError> {
        let Some(open) = self.cur.as_mut() else {
            return Ok(());
        };
        let n = h.len_with_trailer();
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        match &open.source {
            Source::Bundle => {
                let sha = &mut open.sha;
                let got = self
                    .input
                    .consume_upto(n, |c| {
                        sha.update(c);
                        raw.extend_from_slice(c);
                    })
                    .map_err(|source| ContainerError::Io {
                        offset: open.start + h.offset,
                        what: "sstable data block",
                        source,
                    })?;
                if got < n {
                    return Err(ContainerError::Truncated {
                        offset: open.start + h.offset,
                        what: "sstable data block",
                        expected: n,
                        found: got,
                    });
                }
            }
            Source::Spool(f) => {
                raw.resize(n as usize, 0);
                f.read_exact_at(&mut raw, h.offset)
                    .map_err(|source| ContainerError::Io {
                        offset: open.start + h.offset,
                        what: "sstable data block (spool)",
                        source,
                    })?;
            }
        }
        let r = open.table.load_data_block(&raw, h);
        self.raw = raw;
        r
    }

    /// After a table's last data block: read the rest of it through the digest, then check
    /// the digest, the last key and the entry count.
    fn close_file(&mut self) -> Result<(), ContainerError> {
        let Some(mut open) = self.cur.take() else {
            return Ok(());
        };
        let Some(meta) = self.manifest.files.get(open.index) else {
            return Ok(());
        };
        if let Source::Bundle = open.source {
            let rest = meta.size.saturating_sub(open.table.data_end());
            let at = self.input.offset();
            let sha = &mut open.sha;
            let got = self
                .input
                .consume_upto(rest, |c| sha.update(c))
                .map_err(|source| ContainerError::Io {
                    offset: at,
                    what: "EKVSSTI1 table",
                    source,
                })?;
            if got < rest {
                return Err(ContainerError::Truncated {
                    offset: at,
                    what: "EKVSSTI1 table",
                    expected: rest,
                    found: got,
                });
            }
            check_digest(meta, open.sha.clone(), open.start)?;
        }
        let t = &open.table;
        let kind = super::table::BlockKind::Data;
        if t.entries() != t.props().entries {
            return Err(t.corrupt(
                kind,
                0,
                format!(
                    "{} entries read, the properties say {}",
                    t.entries(),
                    t.props().entries
                ),
            ));
        }
        if t.entries() == 0 || t.user_key() != meta.largest.as_slice() {
            return Err(t.corrupt(
                kind,
                t.data_end(),
                format!(
                    "last key {} is not the manifest's largest {}",
                    display_key(t.user_key()),
                    display_key(&meta.largest)
                ),
            ));
        }
        if let Some(r) = self.files.get_mut(open.index) {
            r.entries = t.entries();
            r.data_blocks = t.props().data_blocks;
            r.verified = true;
        }
        Ok(())
    }

    /// After the last table: the totals, then nothing or the footer.
    fn at_end(&mut self) -> Result<(), ContainerError> {
        let offset = self.input.offset();
        for (what, expected, found) in [
            ("entry_count", self.manifest.entry_count, self.entries),
            (
                "uncompressed_bytes",
                self.manifest.uncompressed_bytes,
                self.uncompressed,
            ),
        ] {
            if expected != found {
                return Err(ContainerError::SstTotals {
                    what,
                    expected,
                    found,
                });
            }
        }
        let computed = self.input.crc();
        let tail = self.input.peek(5).map_err(|source| ContainerError::Io {
            offset,
            what: "end of EKVSSTI1 bundle",
            source,
        })?;
        let n = tail.len();
        match (n, self.trailer) {
            (0, Trailer::Footer) => Err(ContainerError::MissingFooter { offset }),
            (0, _) => Ok(()),
            (4, Trailer::Footer | Trailer::MaybeFooter) => {
                let stored = u32::from_be_bytes(tail.try_into().unwrap_or_default());
                let footer = self.trailer.footer(offset, stored, computed)?;
                self.input.consume(4);
                self.footer = Some(footer);
                Ok(())
            }
            (1..=3, Trailer::Footer) => Err(ContainerError::Truncated {
                offset,
                what: "CRC32C footer",
                expected: 4,
                found: n as u64,
            }),
            _ => Err(ContainerError::SstTrailing { offset }),
        }
    }
}

fn check_digest(meta: &SstFileMeta, sha: Sha256, offset: u64) -> Result<(), ContainerError> {
    let computed = hex::encode(sha.finalize());
    if computed != meta.sha256 {
        return Err(ContainerError::SstDigest {
            file: meta.name.clone(),
            offset,
            expected: meta.sha256.clone(),
            computed,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
