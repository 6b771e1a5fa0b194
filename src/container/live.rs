//! Whole snapshot files (containers.md §0, §3.1–§3.3, §4; DECISIONS.md D2, D4, D10).
//!
//! Accepted inputs:
//!
//! * a bare `EKVPBBL1` stream (what the encoder writes: no FSM header, no footer);
//! * a live `fsm-snap/<16 hex>.fsm` file: `EKVTHLC1`/`EKVTHLC2` header, store payload,
//!   then a u32be CRC32C footer over every byte before it;
//! * a headerless live file (legacy: payload + footer, no FSM header);
//! * a `fsm-snap/` directory (or a raft data dir holding one): the newest `<index>.fsm` by
//!   default, all of them in index order with [`list_fsm_snapshots`]. `*.fsm.tmp` and
//!   receive spools are ignored.
//!
//! **Telling a footer from a truncated bare stream.** A file with an FSM header must end
//! with a footer ([`Trailer::Footer`]): the payload ends where exactly 4 bytes remain at an
//! entry boundary, and ending without them is an error. A file without a header
//! ([`Trailer::MaybeFooter`]) is a bare stream if it ends cleanly at an entry boundary, and a
//! headerless live file if exactly 4 bytes remain there *and* they equal the CRC32C of every
//! byte before them (a chance match is 1 in 2^32). Any other 4-byte tail is reported as
//! truncation (it is neither a key length nor a valid footer). The limit of this rule: a
//! headerless live file damaged so that it parses as a bare stream (cut at an entry
//! boundary, or a last value length grown by 4 to swallow the footer) is read as a bare
//! stream. Files with an FSM header, which every kvFSM writes, have no such gap.
//!
//! [`SnapshotFile`] computes the CRC32C of every byte while it streams, so a caller learns
//! at the end of one pass ([`SnapshotFile::finish`]) whether the footer matches, before it
//! publishes anything.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::entry::StreamEntry;
use super::format::{PayloadFormat, MAGIC_SST_INGEST};
use super::header::FsmHeader;
use super::pebble::{FooterSeen, PebbleStreamReader, Trailer};
use super::peek::PeekReader;
use super::sst::{SstBundleReader, SstFileReport, SstManifest};
use super::ContainerError;

/// Name of the FSM snapshot directory inside a raft data dir.
pub const FSM_SNAP_DIR: &str = "fsm-snap";

/// The snapshot index encoded in a file name (D4): a stem of exactly 16 hex digits (the
/// live `%016x.fsm` names) is hexadecimal; any other all-digit stem is decimal; anything
/// else has no index.
pub fn snapshot_index_from_path(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    if stem.len() == 16 && stem.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u64::from_str_radix(stem, 16).ok();
    }
    if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) {
        return stem.parse().ok();
    }
    None
}

fn open_err(path: &Path) -> impl FnOnce(io::Error) -> ContainerError + '_ {
    move |source| ContainerError::Open {
        path: path.to_path_buf(),
        source,
    }
}

/// The `<index>.fsm` files of a `fsm-snap/` directory, sorted by index (ascending). A raft
/// data dir whose `fsm-snap/` subdirectory holds the files is accepted too. Names that do
/// not end in `.fsm` (`*.fsm.tmp`, spools) or carry no index are ignored.
pub fn list_fsm_snapshots(dir: &Path) -> Result<Vec<(u64, PathBuf)>, ContainerError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(open_err(dir))? {
        let entry = entry.map_err(open_err(dir))?;
        let path = entry.path();
        let is_fsm = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".fsm"));
        if !is_fsm || !path.is_file() {
            continue;
        }
        if let Some(index) = snapshot_index_from_path(&path) {
            found.push((index, path));
        }
    }
    if found.is_empty() {
        let sub = dir.join(FSM_SNAP_DIR);
        if sub.is_dir() {
            return list_fsm_snapshots(&sub);
        }
    }
    found.sort();
    Ok(found)
}

/// The newest (highest index) snapshot file of a `fsm-snap/` directory.
pub fn newest_fsm_snapshot(dir: &Path) -> Result<PathBuf, ContainerError> {
    list_fsm_snapshots(dir)?
        .pop()
        .map(|(_, p)| p)
        .ok_or_else(|| ContainerError::NoSnapshots {
            path: dir.to_path_buf(),
        })
}

/// The files an input path names: a file itself; a directory's newest snapshot, or all of
/// them in index order when `all` is set.
pub fn resolve_inputs(path: &Path, all: bool) -> Result<Vec<PathBuf>, ContainerError> {
    let meta = std::fs::metadata(path).map_err(open_err(path))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    if all {
        let list: Vec<PathBuf> = list_fsm_snapshots(path)?.into_iter().map(|(_, p)| p).collect();
        if list.is_empty() {
            return Err(ContainerError::NoSnapshots {
                path: path.to_path_buf(),
            });
        }
        Ok(list)
    } else {
        Ok(vec![newest_fsm_snapshot(path)?])
    }
}

/// How the file is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// FSM header, payload and CRC32C footer.
    Live,
    /// No FSM header: a bare stream, or a headerless live file (footer decided at the end).
    Headerless,
}

/// What [`SnapshotFile::open`] learned about a file (and, once known, its footer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The file or directory concerned.
    pub path: PathBuf,
    /// Size from `fstat` (None for a non-file reader).
    pub file_size: Option<u64>,
    /// From the file name (D4).
    pub snapshot_index: Option<u64>,
    /// The FSM header, if the file has one.
    pub header: Option<FsmHeader>,
    /// How the payload is framed.
    pub framing: Framing,
    /// The payload format.
    pub payload: PayloadFormat,
    /// The `EKVPBBL1` header's `lastCommitTS`, or the `EKVSSTI1` manifest's
    /// `last_commit_ts` (None for an empty payload).
    pub last_commit_ts: Option<u64>,
    /// Whether the file ends with a CRC32C footer: known at open for a file with a header
    /// (always true) and for an empty payload, otherwise once the stream has ended.
    pub footer_present: Option<bool>,
}

/// The outcome of a successful [`SnapshotFile::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FooterReport {
    /// The verified footer value, or None for a bare stream (nothing to verify).
    pub footer: Option<u32>,
    /// CRC32C of every byte before the footer (of the whole file for a bare stream).
    pub computed: u32,
    /// Bytes read, footer included.
    pub bytes: u64,
    /// Entries in the stream.
    pub entries: u64,
}

#[derive(Debug)]
enum Body<R> {
    Pebble(PebbleStreamReader<R>),
    Sst(Box<SstBundleReader<R>>),
    Empty {
        input: PeekReader<R>,
        footer: Option<FooterSeen>,
    },
}

/// One snapshot file, opened and sniffed, streaming its entries with a running CRC32C.
#[derive(Debug)]
pub struct SnapshotFile<R = File> {
    info: SnapshotInfo,
    body: Body<R>,
}

impl SnapshotFile<File> {
    /// Open a file, or the newest snapshot of a `fsm-snap/` directory.
    pub fn open(path: &Path) -> Result<Self, ContainerError> {
        let path = if path.is_dir() {
            newest_fsm_snapshot(path)?
        } else {
            path.to_path_buf()
        };
        let file = File::open(&path).map_err(open_err(&path))?;
        let size = file.metadata().map_err(open_err(&path))?.len();
        // A second handle for reads by position (EKVSSTI1 table footers and indexes).
        let positional = file.try_clone().map_err(open_err(&path))?;
        // The file is read and checksummed ahead by a thread of its own.
        let input = PeekReader::read_ahead(file).map_err(open_err(&path))?;
        Self::sniff(input, &path, Some(size), Some(positional)).map_err(|e| e.in_file(&path))
    }
}

impl<R: Read> SnapshotFile<R> {
    /// Sniff the layers of `reader` (named `path` in errors and in the info). An
    /// `EKVSSTI1` bundle read this way spools one table at a time to a temporary file.
    pub fn from_reader(reader: R, path: &Path, file_size: Option<u64>) -> Result<Self, ContainerError> {
        Self::sniff(PeekReader::new(reader), path, file_size, None).map_err(|e| e.in_file(path))
    }

    fn sniff(
        mut input: PeekReader<R>,
        path: &Path,
        file_size: Option<u64>,
        positional: Option<File>,
    ) -> Result<Self, ContainerError> {
        let header = FsmHeader::read(&mut input)?;
        let trailer = if header.is_some() {
            Trailer::Footer
        } else {
            Trailer::MaybeFooter
        };
        let mut info = SnapshotInfo {
            path: path.to_path_buf(),
            file_size,
            snapshot_index: snapshot_index_from_path(path),
            header,
            framing: if header.is_some() {
                Framing::Live
            } else {
                Framing::Headerless
            },
            payload: PayloadFormat::Pebble,
            last_commit_ts: None,
            footer_present: header.map(|_| true),
        };
        let offset = input.offset();
        let head = input.peek(12).map_err(|source| ContainerError::Io {
            offset,
            what: "store payload magic",
            source,
        })?;
        let n = head.len();
        let footer4 = |h: &[u8]| {
            let mut b = [0u8; 4];
            b.copy_from_slice(h.get(..4).unwrap_or(&[0; 4]));
            u32::from_be_bytes(b)
        };
        let empty = match (trailer, n) {
            (Trailer::Footer, 0) => return Err(ContainerError::MissingFooter { offset }),
            (Trailer::Footer, 1..=3) => {
                return Err(ContainerError::Truncated {
                    offset,
                    what: "CRC32C footer",
                    expected: 4,
                    found: n as u64,
                })
            }
            (Trailer::Footer, 5..=11) => {
                return Err(ContainerError::Truncated {
                    offset,
                    what: "store payload magic (payload of 1-7 bytes)",
                    expected: 8,
                    found: n as u64 - 4,
                })
            }
            (Trailer::Footer, 4) => true,
            (_, 4) => {
                let stored = footer4(head);
                let computed = input.crc();
                if stored != computed {
                    return Err(ContainerError::TruncatedOrBadFooter {
                        offset,
                        found: stored,
                        computed,
                    });
                }
                true
            }
            (_, 0..=7) => {
                return Err(ContainerError::Truncated {
                    offset,
                    what: "EKVPBBL1 magic",
                    expected: 8,
                    found: n as u64,
                })
            }
            _ => false,
        };
        if empty {
            let stored = footer4(input.buffered());
            let computed = input.crc();
            input.consume(4);
            info.payload = PayloadFormat::Empty;
            info.footer_present = Some(true);
            return Ok(SnapshotFile {
                info,
                body: Body::Empty {
                    input,
                    footer: Some(FooterSeen {
                        offset,
                        stored,
                        computed,
                    }),
                },
            });
        }
        if input.buffered().get(..8) == Some(&MAGIC_SST_INGEST[..]) {
            let reader = SstBundleReader::from_peek_reader(input, trailer, positional)?;
            info.payload = PayloadFormat::SstIngest;
            info.last_commit_ts = Some(reader.manifest().last_commit_ts);
            return Ok(SnapshotFile {
                info,
                body: Body::Sst(Box::new(reader)),
            });
        }
        let reader = PebbleStreamReader::from_peek_reader(input, trailer)?;
        info.last_commit_ts = Some(reader.last_commit_ts());
        Ok(SnapshotFile {
            info,
            body: Body::Pebble(reader),
        })
    }

    /// What is known about the file.
    pub fn info(&self) -> &SnapshotInfo {
        &self.info
    }

    /// For an `EKVSSTI1` bundle: its manifest, and what each table held as far as read.
    pub fn sst(&self) -> Option<(&SstManifest, &[SstFileReport])> {
        match &self.body {
            Body::Sst(r) => Some((r.manifest(), r.files())),
            _ => None,
        }
    }

    /// The next entry (borrowed until the next call), `Ok(None)` at the end. Errors name
    /// the file and the offset.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next(&mut self) -> Result<Option<StreamEntry<'_>>, ContainerError> {
        let SnapshotFile { info, body } = self;
        // One dispatch: an entry is lent at once; the end or an error is looked at below.
        let (advanced, footer) = match body {
            Body::Pebble(r) => match r.advance() {
                Ok(true) => return Ok(r.current()),
                other => (other, r.footer()),
            },
            Body::Sst(r) => match r.advance() {
                Ok(true) => return Ok(r.current()),
                other => (other, r.footer()),
            },
            Body::Empty { .. } => return Ok(None),
        };
        match advanced {
            Ok(_) => {
                info.footer_present = Some(footer.is_some());
                Ok(None)
            }
            Err(e) => Err(e.in_file(&info.path)),
        }
    }

    /// The entry the last [`Self::next`] returned (None before the first, after the end
    /// or after an error): lends it again without reading (for `mvcc::CurrentEntry`).
    #[inline]
    pub fn current(&self) -> Option<StreamEntry<'_>> {
        match &self.body {
            Body::Pebble(r) => r.current(),
            Body::Sst(r) => r.current(),
            Body::Empty { .. } => None,
        }
    }

    /// Offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        match &self.body {
            Body::Pebble(r) => r.offset(),
            Body::Sst(r) => r.offset(),
            Body::Empty { input, .. } => input.offset(),
        }
    }

    /// Read any entries left, then check the footer: `Ok` with the verified footer (or
    /// none, for a bare stream), or [`ContainerError::FooterMismatch`] naming the expected
    /// and computed CRC32C. Can be called again; it returns the same answer.
    pub fn finish(&mut self) -> Result<FooterReport, ContainerError> {
        while self.next()?.is_some() {}
        let (footer, entries, bytes, computed_all) = match &mut self.body {
            Body::Pebble(r) => {
                let entries = r.entries();
                let offset = r.offset();
                (r.footer(), entries, offset, r.crc())
            }
            Body::Sst(r) => {
                let entries = r.entries();
                let offset = r.offset();
                (r.footer(), entries, offset, r.crc())
            }
            Body::Empty { input, footer } => (*footer, 0, input.offset(), input.crc()),
        };
        match footer {
            Some(f) if f.stored != f.computed => Err(ContainerError::FooterMismatch {
                offset: f.offset,
                expected: f.stored,
                computed: f.computed,
            }
            .in_file(&self.info.path)),
            Some(f) => Ok(FooterReport {
                footer: Some(f.stored),
                computed: f.computed,
                bytes,
                entries,
            }),
            None => Ok(FooterReport {
                footer: None,
                computed: computed_all,
                bytes,
                entries,
            }),
        }
    }
}

/// A writer that keeps the CRC32C of everything written through it, and appends it as the
/// u32be footer of a live file (§3.2) in [`Crc32cWriter::finish_with_footer`].
#[derive(Debug)]
pub struct Crc32cWriter<W: Write> {
    inner: W,
    crc: u32,
    bytes: u64,
}

impl<W: Write> Crc32cWriter<W> {
    /// Wrap `inner`, starting the checksum at zero.
    pub fn new(inner: W) -> Self {
        Crc32cWriter {
            inner,
            crc: 0,
            bytes: 0,
        }
    }

    /// CRC32C of the bytes written so far.
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The inner writer, without a footer (for a bare stream).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// Append the footer (not itself covered), flush, and return the inner writer.
    pub fn finish_with_footer(mut self) -> io::Result<W> {
        self.inner.write_all(&self.crc.to_be_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Crc32cWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = buf.get(..n).unwrap_or(buf);
        self.crc = crc32c::crc32c_append(self.crc, done);
        self.bytes += done.len() as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests;
