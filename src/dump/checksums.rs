//! `CHECKSUMS` (s3_tree_pipeline.md §8): `sha256sum` format, one line per regular file,
//! byte-sorted relative paths, GNU escaping of `\n` `\r` `\\` in names; written last.
//!
//! Also the encoder's verified reads (DECISIONS.md D15): [`TreeReader`] checks every file of
//! the tree against CHECKSUMS as it is read ([`RangeCheck`]: a file the encoder reads only
//! as it writes), and [`write_for_tree`] rewrites CHECKSUMS after a deliberate hand edit
//! (`verify --update-checksums`).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::fs::{self as dfs, open_regular_nofollow, EntryKind, FileStamp};
use super::lines::{LineError, Lines};
use super::tree::CHECKSUMS_NAME;
use super::DumpError;
use crate::spill::ExternalSorter;

pub use ranges::RangeCheck;

/// One line of CHECKSUMS for a path and its SHA-256.
pub fn line(rel: &str, digest: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 3 + rel.len());
    let escape = rel.contains(['\n', '\r', '\\']);
    if escape {
        out.push(b'\\');
    }
    out.extend_from_slice(hex::encode(digest).as_bytes());
    out.extend_from_slice(b"  ");
    if escape {
        for b in rel.bytes() {
            match b {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                _ => out.push(b),
            }
        }
    } else {
        out.extend_from_slice(rel.as_bytes());
    }
    out.push(b'\n');
    out
}

/// Longest CHECKSUMS line accepted by [`verify`] (Go's scanner buffer).
const MAX_LINE: usize = 8 * 1024;

/// Verify `<root>/CHECKSUMS` the way `sha256sum -c` (and Go's VerifyChecksums) would; returns
/// the number of files verified.
///
/// Lines: blank lines are skipped; a leading `\` marks the escaped form (only `\n`, `\r`,
/// `\\` escapes); 64 lowercase hex digits, then two spaces or space-asterisk, then a
/// relative path. A path that is absolute or escapes the root, or that passes through a
/// symlink, is refused; a missing file or a digest mismatch fails; so does an empty list.
pub fn verify(root: &Path) -> Result<u64, DumpError> {
    let list_path = root.join(CHECKSUMS_NAME);
    let file = open_regular_nofollow(&list_path)?;
    let mut lines = Lines::new(BufReader::new(file), MAX_LINE);
    let mut verified = 0u64;
    loop {
        let (n, line) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(LineError::TooLong) => {
                return Err(DumpError::invalid(
                    &list_path,
                    format!("line {}: longer than {MAX_LINE} bytes", lines.number + 1),
                ))
            }
            Err(LineError::Io(e)) => return Err(DumpError::io(&list_path, e)),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let malformed = |what: &str| DumpError::invalid(&list_path, format!("line {n}: {what}"));
        let (digest, rel) = parse_line(line).map_err(|what| malformed(&what))?;
        let components = local_components(&rel).map_err(|what| {
            DumpError::unsafe_path(
                root.join(OsStr::from_bytes(&rel)),
                format!("CHECKSUMS line {n}: {what}"),
            )
        })?;
        if components.is_empty() {
            return Err(malformed("path names the root itself"));
        }
        let target = check_no_symlink(root, &components)?;
        let actual = match hash_file(&target) {
            Ok(d) => d,
            Err(DumpError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(DumpError::Checksum {
                    path: target,
                    what: "file is missing".into(),
                });
            }
            Err(e) => return Err(e),
        };
        if actual != digest {
            return Err(DumpError::Checksum {
                path: target,
                what: format!("expected {}, got {}", hex::encode(digest), hex::encode(actual)),
            });
        }
        verified += 1;
    }
    if verified == 0 {
        return Err(DumpError::invalid(&list_path, "lists no files"));
    }
    Ok(verified)
}

/// Split a non-blank line into its digest and (unescaped) path bytes.
fn parse_line(line: &[u8]) -> Result<([u8; 32], Vec<u8>), String> {
    let (escaped, rest) = match line.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    if rest.len() < 67 {
        return Err("too short: expected `<64 hex>  <path>`".into());
    }
    let (hex_part, tail) = rest.split_at(64);
    if !hex_part
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err("expected 64 lowercase hex digits".into());
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut digest).map_err(|e| format!("bad digest: {e}"))?;
    let (sep, path) = tail.split_at(2);
    if sep != b"  " && sep != b" *" {
        return Err("expected two spaces or ` *` after the digest".into());
    }
    let path = if escaped { unescape(path)? } else { path.to_vec() };
    if path.is_empty() || path == b"." {
        return Err(format!("invalid path {:?}", String::from_utf8_lossy(&path)));
    }
    Ok((digest, path))
}

/// Undo GNU escaping: `\\n`, `\\r`, `\\\\` only.
fn unescape(path: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(path.len());
    let mut it = path.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b'\\') => out.push(b'\\'),
            Some(&c) => return Err(format!("invalid escape `\\{}` in path", char::from(c))),
            None => return Err("dangling `\\` at the end of the path".into()),
        }
    }
    Ok(out)
}

/// Lexically clean a `/`-separated relative path (Go `filepath.IsLocal` + `Clean`):
/// absolute paths and `..` that climbs above the root are refused.
fn local_components(rel: &[u8]) -> Result<Vec<&[u8]>, String> {
    if rel.first() == Some(&b'/') {
        return Err("absolute path".into());
    }
    if rel.contains(&0) {
        return Err("NUL byte in path".into());
    }
    let mut out: Vec<&[u8]> = Vec::new();
    for c in rel.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err("path escapes the root".into());
                }
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Refuse a path any of whose components (below `root`) is a symlink; return the full path.
fn check_no_symlink(root: &Path, components: &[&[u8]]) -> Result<PathBuf, DumpError> {
    let mut path = root.to_path_buf();
    for c in components {
        path.push(OsStr::from_bytes(c));
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(DumpError::unsafe_path(
                    &path,
                    "CHECKSUMS path goes through a symbolic link",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(DumpError::Checksum {
                    path,
                    what: "file is missing".into(),
                });
            }
            Err(e) => return Err(DumpError::io(&path, e)),
        }
    }
    Ok(path)
}

/// SHA-256 of a regular file, streamed.
fn hash_file(path: &Path) -> Result<[u8; 32], DumpError> {
    hash_open(&mut open_regular_nofollow(path)?, path)
}

/// SHA-256 of the rest of the open file at `path`, streamed.
fn hash_open(file: &mut File, path: &Path) -> Result<[u8; 32], DumpError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DumpError::io(path, e)),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hasher.finalize().into())
}

/// The digests CHECKSUMS lists, keyed by a 16-byte path key ([`Tops::key`]: the number of
/// the path's top directory, then 15 bytes of the SHA-256 of the path): 48-byte entries
/// sorted by key in an anonymous scratch file (sorted through the external sorter), found
/// through an in-memory index of each [`BLOCK`]-entry block's first key and one positioned
/// read of that block; a bit per entry is set when the file is read. Memory: 16 bytes per
/// block and a bit per file (under 1 MiB for 2.6 million files), where the entries
/// themselves (49 bytes per file in memory) grew with the tree. Keyed by top directory
/// first, each top directory's entries are one range of the table, so "was every file of
/// `redis/` read?" is a scan of its bits, not of CHECKSUMS.
#[derive(Debug)]
struct Expected {
    list_path: PathBuf,
    table: File,
    count: usize,
    index: Vec<[u8; 16]>,
    seen: Vec<AtomicU64>,
    tops: Tops,
    /// `starts[t]..starts[t + 1]`: the entries of top directory number `t`.
    starts: Vec<usize>,
}

/// The top directories CHECKSUMS names, numbered in order of first appearance; the 255th
/// and later share [`Tops::OTHERS`] (a dump has one per adapter plus the root's files).
#[derive(Debug, Default)]
struct Tops(Vec<Vec<u8>>);

impl Tops {
    /// The number shared by every top directory past the 254th.
    const OTHERS: u8 = u8::MAX;

    /// The first `/`-separated component of a cleaned relative path.
    fn top(rel: &[u8]) -> &[u8] {
        rel.split(|&b| b == b'/').next().unwrap_or_default()
    }

    /// The number of `rel`'s top directory, if CHECKSUMS named it.
    fn number(&self, rel: &[u8]) -> Option<u8> {
        let top = Tops::top(rel);
        match self.0.iter().position(|t| t.as_slice() == top) {
            Some(i) => Some(u8::try_from(i).unwrap_or(Tops::OTHERS)),
            None if self.0.len() >= usize::from(Tops::OTHERS) => Some(Tops::OTHERS),
            None => None,
        }
    }

    /// The number of `rel`'s top directory, numbering it if it is new.
    fn add(&mut self, rel: &[u8]) -> u8 {
        if let Some(n) = self.number(rel) {
            return n;
        }
        self.0.push(Tops::top(rel).to_vec());
        u8::try_from(self.0.len() - 1).unwrap_or(Tops::OTHERS)
    }

    /// The table key of `rel` under top directory number `top`.
    fn key(top: u8, rel: &[u8]) -> [u8; 16] {
        let d: [u8; 32] = Sha256::digest(rel).into();
        let mut k = [top; 16];
        if let (Some(tail), Some(hash)) = (k.get_mut(1..), d.get(..15)) {
            tail.copy_from_slice(hash);
        }
        k
    }
}

/// Entries per block of [`Expected`]'s table (3 KiB read per lookup).
const BLOCK: usize = 64;
/// Bytes per entry: the path key and the digest.
const ENTRY: usize = 48;
/// Memory budget of the sort of CHECKSUMS entries.
const EXPECTED_SORT_BUDGET: usize = 8 << 20;

impl Expected {
    /// Sort the `(key, digest)` entries into a table in `scratch`.
    fn build(
        list_path: PathBuf,
        scratch: &Path,
        each: impl FnOnce(&mut dyn FnMut(&[u8], [u8; 32]) -> io::Result<()>) -> Result<(), DumpError>,
    ) -> Result<Expected, DumpError> {
        let scratch_err = |e| DumpError::io(scratch, e);
        let mut sorter = ExternalSorter::new(EXPECTED_SORT_BUDGET, scratch);
        let mut tops = Tops::default();
        each(&mut |rel, digest| sorter.push(&Tops::key(tops.add(rel), rel), &digest))?;
        let mut sorted = sorter.finish().map_err(scratch_err)?;
        let table = tempfile::tempfile_in(scratch).map_err(scratch_err)?;
        let mut out = BufWriter::with_capacity(64 * 1024, &table);
        let (mut count, mut index, mut starts) = (0usize, Vec::new(), Vec::new());
        while let Some((key, digest)) = sorted.next().map_err(scratch_err)? {
            let key: [u8; 16] = key.try_into().map_err(|_| scratch_err(corrupt()))?;
            if count % BLOCK == 0 {
                index.push(key);
            }
            while starts.len() <= usize::from(key[0]) {
                starts.push(count);
            }
            out.write_all(&key).map_err(scratch_err)?;
            out.write_all(digest).map_err(scratch_err)?;
            count += 1;
        }
        out.flush().map_err(scratch_err)?;
        drop(out);
        starts.push(count);
        let seen = (0..count.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
        Ok(Expected {
            list_path,
            table,
            count,
            index,
            seen,
            tops,
            starts,
        })
    }

    /// The entry of `key`: its number and digest.
    fn find(&self, key: &[u8; 16]) -> Result<Option<(usize, [u8; 32])>, DumpError> {
        let Some(block) = self.index.partition_point(|k| k <= key).checked_sub(1) else {
            return Ok(None);
        };
        let first = block * BLOCK;
        let n = BLOCK.min(self.count - first);
        let mut buf = [0u8; BLOCK * ENTRY];
        let bytes = buf.get_mut(..n * ENTRY).unwrap_or_default();
        self.table
            .read_exact_at(bytes, (first * ENTRY) as u64)
            .map_err(|e| DumpError::io(&self.list_path, e))?;
        let entry = |i: usize| bytes.get(i * ENTRY..(i + 1) * ENTRY).unwrap_or_default();
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match entry(mid).get(..16).unwrap_or_default().cmp(key.as_slice()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let digest = entry(mid)
                        .get(16..)
                        .and_then(|d| d.try_into().ok())
                        .unwrap_or_default();
                    return Ok(Some((first + mid, digest)));
                }
            }
        }
        Ok(None)
    }

    fn mark_seen(&self, i: usize) {
        if let Some(word) = self.seen.get(i / 64) {
            word.fetch_or(1 << (i % 64), Ordering::Relaxed);
        }
    }

    fn was_seen(&self, i: usize) -> bool {
        self.seen
            .get(i / 64)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (i % 64)) != 0)
    }

    /// Whether every file CHECKSUMS lists under top directory number `top` was read.
    fn all_seen(&self, top: u8) -> bool {
        let t = usize::from(top);
        let (Some(&start), Some(&end)) = (self.starts.get(t), self.starts.get(t + 1)) else {
            return true; // no entry sorts at or after this number
        };
        (start..end).all(|i| self.was_seen(i))
    }

    /// The table key of a cleaned relative path (`None`: its top directory is not listed).
    fn lookup_key(&self, rel: &[u8]) -> Option<[u8; 16]> {
        self.tops.number(rel).map(|top| Tops::key(top, rel))
    }
}

fn corrupt() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the CHECKSUMS sort returned a record that was never pushed",
    )
}

/// Each non-blank CHECKSUMS line as its digest and cleaned `/`-joined relative path.
fn for_each_line(
    list_path: &Path,
    mut each: impl FnMut(u64, [u8; 32], Vec<u8>) -> Result<(), DumpError>,
) -> Result<(), DumpError> {
    let file = open_regular_nofollow(list_path)?;
    let mut lines = Lines::new(BufReader::new(file), MAX_LINE);
    loop {
        let (n, line) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(()),
            Err(LineError::TooLong) => {
                return Err(DumpError::invalid(
                    list_path,
                    format!("line {}: longer than {MAX_LINE} bytes", lines.number + 1),
                ))
            }
            Err(LineError::Io(e)) => return Err(DumpError::io(list_path, e)),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let malformed = |what: String| DumpError::invalid(list_path, format!("line {n}: {what}"));
        let (digest, rel) = parse_line(line).map_err(malformed)?;
        let components = local_components(&rel).map_err(malformed)?;
        each(n, digest, components.join(&b'/'))?;
    }
}

/// Largest JSON or JSONL file of a dump tree an encoder reads whole (1 GiB): a larger one is
/// refused from its `fstat` size before a byte is read (DECISIONS.md A20).
pub const MAX_JSON_FILE: u64 = 1 << 30;

/// Reads the files of a dump tree for the encoder, each checked against CHECKSUMS as it is
/// read when the tree has one and verification is on (DECISIONS.md D15). Cheap to clone
/// (one shared table).
#[derive(Debug, Clone)]
pub struct TreeReader {
    root: PathBuf,
    expected: Option<Arc<Expected>>,
}

/// A file of the tree being read in pieces ([`TreeReader::open`]): hashed as it is read,
/// refused past its size limit.
#[derive(Debug)]
pub struct StreamedInput {
    path: PathBuf,
    file: File,
    stamp: FileStamp,
    hasher: Option<Sha256>,
    read: u64,
    max: u64,
    /// A read returned 0: the whole file was read.
    at_end: bool,
}

impl StreamedInput {
    /// Read up to `buf.len()` bytes (0 at the end of the file).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, DumpError> {
        let n = loop {
            match self.file.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(DumpError::io(&self.path, e)),
            }
        };
        self.read += n as u64;
        self.at_end |= n == 0 && !buf.is_empty();
        if self.read > self.max {
            return Err(DumpError::TooLarge {
                path: self.path.clone(),
                len: self.read,
                max: self.max,
            });
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(buf.get(..n).unwrap_or_default());
        }
        Ok(n)
    }

    /// Read until `buf` is full or the file ends (Go `io.ReadFull`); returns the bytes read.
    pub fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, DumpError> {
        let mut n = 0;
        while let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) {
            match self.read(rest)? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's stamp when it was opened.
    pub fn stamp(&self) -> FileStamp {
        self.stamp
    }
}

/// Whether an encode checked the tree's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Every file read was checked against CHECKSUMS.
    Verified,
    /// `--no-verify`.
    Skipped,
    /// The tree has no CHECKSUMS: nothing to check against (a warning).
    NoChecksums,
}

impl TreeReader {
    /// A reader that checks nothing (`--no-verify`, tests).
    pub fn unverified(root: &Path) -> TreeReader {
        TreeReader {
            root: root.to_path_buf(),
            expected: None,
        }
    }

    /// A reader for the tree at `root`: with `verify`, loads `<root>/CHECKSUMS` when present
    /// (sorted into a table in `scratch`).
    pub fn new(root: &Path, verify: bool, scratch: &Path) -> Result<(TreeReader, Verification), DumpError> {
        if !verify {
            return Ok((TreeReader::unverified(root), Verification::Skipped));
        }
        let list_path = root.join(CHECKSUMS_NAME);
        match std::fs::symlink_metadata(&list_path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok((TreeReader::unverified(root), Verification::NoChecksums))
            }
            Err(e) => return Err(DumpError::io(&list_path, e)),
            Ok(_) => {}
        }
        let lines = list_path.clone();
        let expected = Expected::build(list_path.clone(), scratch, |push| {
            for_each_line(&lines, |_, digest, rel| {
                push(&rel, digest).map_err(|e| DumpError::io(scratch, e))
            })
        })?;
        if expected.count == 0 {
            return Err(DumpError::invalid(&list_path, "lists no files"));
        }
        Ok((
            TreeReader {
                root: root.to_path_buf(),
                expected: Some(Arc::new(expected)),
            },
            Verification::Verified,
        ))
    }

    /// Whether the files read are checked against CHECKSUMS.
    pub fn verifies(&self) -> bool {
        self.expected.is_some()
    }

    /// Read a whole file of the tree (`dump::fs::read_input_max`: no-follow, regular, one
    /// link, at most `max` bytes by `fstat`) and check it against CHECKSUMS.
    pub fn read(&self, path: &Path, max: u64) -> Result<Vec<u8>, DumpError> {
        let bytes = dfs::read_input_max(path, max)?;
        if self.expected.is_some() {
            self.check(path, Sha256::digest(&bytes).into())?;
        }
        Ok(bytes)
    }

    /// Open a file of the tree to read in pieces (the checks of [`TreeReader::read`]: at
    /// most `max` bytes by `fstat` and as read); hand it back to [`TreeReader::finish`],
    /// which checks what was read against CHECKSUMS.
    pub fn open(&self, path: &Path, max: u64) -> Result<StreamedInput, DumpError> {
        let (file, stamp) = dfs::open_input_stamped(path)?;
        if stamp.len > max {
            return Err(DumpError::TooLarge {
                path: path.to_path_buf(),
                len: stamp.len,
                max,
            });
        }
        Ok(StreamedInput {
            path: path.to_path_buf(),
            file,
            stamp,
            hasher: self.expected.is_some().then(Sha256::new),
            read: 0,
            max,
            at_end: false,
        })
    }

    /// Read the rest of a file opened with [`TreeReader::open`] and check all its bytes
    /// against CHECKSUMS.
    pub fn finish(&self, mut input: StreamedInput) -> Result<(), DumpError> {
        if input.hasher.is_none() {
            return Ok(());
        }
        if !input.at_end {
            let mut buf = vec![0u8; 256 * 1024];
            while input.read(&mut buf)? > 0 {}
        }
        let digest = input
            .hasher
            .take()
            .map(|h| h.finalize().into())
            .unwrap_or_default();
        self.check(&input.path, digest)
    }

    /// Check a file the caller reads by other means (streamed) against CHECKSUMS.
    pub fn check_file(&self, path: &Path) -> Result<(), DumpError> {
        if self.expected.is_some() {
            self.check(path, hash_file(path)?)?;
        }
        Ok(())
    }

    fn check(&self, path: &Path, actual: [u8; 32]) -> Result<(), DumpError> {
        let Some(exp) = &self.expected else {
            return Ok(());
        };
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let found = match exp.lookup_key(rel.as_os_str().as_bytes()) {
            Some(key) => exp.find(&key)?,
            None => None,
        };
        let Some((i, want)) = found else {
            return Err(DumpError::Checksum {
                path: path.to_path_buf(),
                what: "the file is not listed in CHECKSUMS (after a deliberate edit, run `ekv-snapshot verify --update-checksums`)".into(),
            });
        };
        if want != actual {
            return Err(DumpError::Checksum {
                path: path.to_path_buf(),
                what: format!("expected {}, got {}", hex::encode(want), hex::encode(actual)),
            });
        }
        exp.mark_seen(i);
        Ok(())
    }

    /// After the encode: a file CHECKSUMS lists under one of `subtrees` (top directories)
    /// that was never read and no longer exists is a lost file.
    pub fn check_none_missing(&self, subtrees: &[&str]) -> Result<(), DumpError> {
        let Some(exp) = &self.expected else {
            return Ok(());
        };
        // Fast path: every listed file of these subtrees was read (the common case).
        let unread: Vec<&str> = subtrees
            .iter()
            .copied()
            .filter(|s| exp.tops.number(s.as_bytes()).is_some_and(|t| !exp.all_seen(t)))
            .collect();
        if unread.is_empty() {
            return Ok(());
        }
        for_each_line(&exp.list_path, |_, _, rel| {
            if !unread.iter().any(|s| s.as_bytes() == Tops::top(&rel)) {
                return Ok(());
            }
            let read = match exp.lookup_key(&rel) {
                Some(key) => exp.find(&key)?.is_some_and(|(i, _)| exp.was_seen(i)),
                None => false,
            };
            if read {
                return Ok(());
            }
            let path = self.root.join(OsStr::from_bytes(&rel));
            match std::fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => {
                    Err(DumpError::Checksum {
                        path,
                        what: "listed in CHECKSUMS but missing from the tree".into(),
                    })
                }
                _ => Ok(()),
            }
        })
    }
}

/// Rewrite `<root>/CHECKSUMS` for the tree as it is now (every regular file but CHECKSUMS
/// itself, byte-sorted paths), atomically. Symlinks and special files are refused. Returns
/// the number of files listed.
pub fn write_for_tree(root: &Path) -> Result<u64, DumpError> {
    let mut rels = Vec::new();
    collect_files(root, "", &mut rels)?;
    rels.retain(|r| r != CHECKSUMS_NAME);
    rels.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut out = Vec::new();
    for rel in &rels {
        out.extend_from_slice(&line(rel, &hash_file(&root.join(rel))?));
    }
    dfs::atomic_write(&root.join(CHECKSUMS_NAME), &out, 0o644)?;
    Ok(rels.len() as u64)
}

/// Every regular file under `dir` as a `/`-joined relative path; symlinks and specials refused.
pub fn collect_files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), DumpError> {
    let Some(entries) = dfs::list_dir(dir)? else {
        return Ok(());
    };
    for e in entries {
        let name = e
            .name
            .to_str()
            .ok_or_else(|| DumpError::unsafe_path(&e.path, "file name is not valid UTF-8"))?;
        let rel = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        match e.kind {
            EntryKind::File => out.push(rel),
            EntryKind::Dir => collect_files(&e.path, &rel, out)?,
            EntryKind::Symlink => return Err(DumpError::unsafe_path(&e.path, "is a symbolic link")),
            EntryKind::Other => return Err(DumpError::unsafe_path(&e.path, "is a FIFO, socket or device")),
        }
    }
    Ok(())
}

mod ranges;
#[cfg(test)]
mod tests;
