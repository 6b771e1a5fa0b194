//! Safe file I/O, in one place: atomic write (temp + fsync + rename + directory fsync),
//! no-follow opens, refusal of symlinks, hard links, FIFOs and paths that escape a root
//! (redis.md §5.11, s3_tree_pipeline.md §8 verify rules).
//!
//! Every open of a path that comes from a dump tree uses `O_NOFOLLOW` (a symlink in the
//! last component fails with `ELOOP`) and `O_NONBLOCK` (a FIFO does not block the open),
//! then `fstat`s the open descriptor, so the checks and the file read are about the same
//! inode.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::DumpError;

/// The parent directory of `path` (`.` for a bare file name).
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Map an open error of a no-follow open to a refusal where it means one.
fn open_error(path: &Path, e: io::Error) -> DumpError {
    match e.raw_os_error() {
        Some(libc::ELOOP) => DumpError::unsafe_path(path, "is a symbolic link"),
        Some(libc::ENXIO) => DumpError::unsafe_path(path, "is a FIFO or socket with no peer"),
        Some(libc::EISDIR) => DumpError::unsafe_path(path, "is a directory, not a regular file"),
        _ => DumpError::io(path, e),
    }
}

/// Refuse anything but a regular file with a single link.
fn check_regular_single_link(path: &Path, file: &File) -> Result<(), DumpError> {
    let meta = file.metadata().map_err(|e| DumpError::io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(DumpError::unsafe_path(path, "not a regular file"));
    }
    check_single_link(path, &meta)
}

fn check_single_link(path: &Path, meta: &std::fs::Metadata) -> Result<(), DumpError> {
    if meta.nlink() != 1 {
        return Err(DumpError::unsafe_path(
            path,
            format!("has {} hard links (expected 1)", meta.nlink()),
        ));
    }
    Ok(())
}

/// Refuse an output target that must not be replaced: a symlink, a directory, a FIFO,
/// socket or device, or a regular file with more than one link (renaming over a hard link
/// would silently split it from its twin). A missing target is fine.
pub fn check_replaceable(path: &Path) -> Result<(), DumpError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(DumpError::unsafe_path(path, "is a symbolic link")),
        Ok(meta) if meta.is_dir() => Err(DumpError::unsafe_path(path, "is a directory, not a regular file")),
        Ok(meta) if !meta.file_type().is_file() => {
            Err(DumpError::unsafe_path(path, "exists and is not a regular file"))
        }
        Ok(meta) => check_single_link(path, &meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DumpError::io(path, e)),
    }
}

/// The one way this crate writes a file that replaces another: the bytes go to a
/// `<target>.tmp-<16 hex>` sibling (created 0600, no-follow, never an existing file), are
/// fsynced, and the temporary is renamed over the target by [`publish`]; the target is never
/// truncated or written in place. Dropped before it is published, the temporary is removed.
/// A crash leaves at worst a `<target>.tmp-*` file, which [`remove_stale_temps`] clears.
#[derive(Debug)]
pub struct StagedFile {
    temp: PathBuf,
    target: PathBuf,
    file: File,
    mode: u32,
    published: bool,
}

impl StagedFile {
    /// Stage a new version of `target` (published with permission bits `mode`). Refuses a
    /// target [`check_replaceable`] refuses, before anything is created.
    pub fn create(target: &Path, mode: u32) -> Result<StagedFile, DumpError> {
        check_replaceable(target)?;
        let temp = temp_name(target)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)
            .map_err(|e| open_error(&temp, e))?;
        Ok(StagedFile {
            temp,
            target: target.to_path_buf(),
            file,
            mode,
            published: false,
        })
    }

    /// The open temporary, for writing.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the bytes are until published.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Write all of `bytes` to the temporary.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), DumpError> {
        self.file
            .write_all(bytes)
            .map_err(|e| DumpError::io(&self.temp, e))
    }

    /// Set the mode and fsync the data (done by [`publish`] for every file before the first
    /// rename).
    pub fn sync(&self) -> Result<(), DumpError> {
        if self.mode != 0o600 {
            self.file
                .set_permissions(std::fs::Permissions::from_mode(self.mode))
                .map_err(|e| DumpError::io(&self.temp, e))?;
        }
        self.file.sync_all().map_err(|e| DumpError::io(&self.temp, e))
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// `<target>.tmp-<16 hex>`.
fn temp_name(target: &Path) -> Result<PathBuf, DumpError> {
    let name = target
        .file_name()
        .ok_or_else(|| DumpError::unsafe_path(target, "has no file name"))?;
    let mut tmp = name.to_owned();
    tmp.push(format!(".tmp-{}", random_hex16()));
    Ok(parent_of(target).join(tmp))
}

/// Publish staged files as one unit, as far as a filesystem allows: every temporary is
/// fsynced and every target re-checked first, then the temporaries are renamed over their
/// targets in the given order (put the file that vouches for the others last: a crash
/// between two renames leaves the earlier files new and the later ones old, never a
/// truncated file), then each parent directory is fsynced.
pub fn publish(mut files: Vec<StagedFile>) -> Result<(), DumpError> {
    for f in &files {
        f.sync()?;
        check_replaceable(&f.target)?;
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in &mut files {
        std::fs::rename(&f.temp, &f.target).map_err(|e| DumpError::io(&f.target, e))?;
        f.published = true;
        let dir = parent_of(&f.target).to_path_buf();
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for d in &dirs {
        fsync_dir(d)?;
    }
    Ok(())
}

/// Write `bytes` to `path` atomically ([`StagedFile`] + [`publish`]).
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DumpError> {
    let mut f = StagedFile::create(path, mode)?;
    f.write_all(bytes)?;
    publish(vec![f])
}

/// Remove the `<target>.tmp-<16 hex>` temporaries a killed run left beside `target` (regular
/// files only, exact name shape). Call it only while holding the target's [`OutputLock`]:
/// then no live run of ours owns such a file. Returns how many were removed.
pub fn remove_stale_temps(target: &Path) -> Result<usize, DumpError> {
    let Some(name) = target.file_name() else {
        return Ok(0);
    };
    let mut prefix = name.as_bytes().to_vec();
    prefix.extend_from_slice(b".tmp-");
    let dir = parent_of(target);
    let Some(entries) = read_dir_unsorted(dir)? else {
        return Ok(0);
    };
    let mut removed = 0;
    for e in entries {
        let e = e?;
        let Some(tail) = e.name.as_bytes().strip_prefix(prefix.as_slice()) else {
            continue;
        };
        if is_hex16(tail) && e.kind == EntryKind::File {
            match std::fs::remove_file(&e.path) {
                Ok(()) => removed += 1,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(DumpError::io(&e.path, err)),
            }
        }
    }
    Ok(removed)
}

/// Remove the `.<name>.partial-<16 hex>` staging directories a killed decode left beside
/// `output` (directories only, exact name shape). Call it only while holding the output's
/// [`OutputLock`]. Returns how many were removed.
pub fn remove_stale_staging(output: &Path) -> Result<usize, DumpError> {
    let Some(name) = output.file_name() else {
        return Ok(0);
    };
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name.as_bytes());
    prefix.extend_from_slice(b".partial-");
    let Some(entries) = read_dir_unsorted(parent_of(output))? else {
        return Ok(0);
    };
    let mut removed = 0;
    for e in entries {
        let e = e?;
        let Some(tail) = e.name.as_bytes().strip_prefix(prefix.as_slice()) else {
            continue;
        };
        if e.kind == EntryKind::Dir && is_hex16(tail) {
            std::fs::remove_dir_all(&e.path).map_err(|err| DumpError::io(&e.path, err))?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn is_hex16(s: &[u8]) -> bool {
    s.len() == 16 && s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An exclusive lock on an output path: `flock` on `<output>.lock` beside it, held until
/// dropped. A second run on the same output fails at once (it does not wait) with
/// [`DumpError::Locked`] naming the holder's pid, which the holder writes into the lock
/// file. The holder removes the lock file before it lets go of the lock; a run that locked
/// a lock file which was meanwhile removed or replaced (checked by inode after `flock`)
/// tries again, so two runs never both hold "the" lock.
#[derive(Debug)]
pub struct OutputLock {
    file: Option<File>,
    path: PathBuf,
}

impl OutputLock {
    /// `<output>.lock`.
    pub fn path_for(output: &Path) -> PathBuf {
        let mut s = output.as_os_str().to_owned();
        s.push(".lock");
        PathBuf::from(s)
    }

    /// Take the lock of `output`, or fail naming the run that holds it.
    pub fn acquire(output: &Path) -> Result<OutputLock, DumpError> {
        let path = OutputLock::path_for(output);
        for _ in 0..8 {
            if let Some(lock) = OutputLock::try_acquire(output, &path)? {
                return Ok(lock);
            }
        }
        Err(DumpError::Locked {
            output: output.to_path_buf(),
            lock: path,
            holder: "unknown (the lock file keeps being replaced)".into(),
        })
    }

    /// One attempt: `None` when the locked file was no longer the one at `path`.
    fn try_acquire(output: &Path, path: &Path) -> Result<Option<OutputLock>, DumpError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| match e.kind() {
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => DumpError::Output {
                    path: parent_of(output).to_path_buf(),
                    what: format!("the directory is not writable (creating {}: {e})", path.display()),
                },
                _ => open_error(path, e),
            })?;
        check_regular_single_link(path, &file)?;
        // SAFETY: flock on a descriptor we own; no pointers.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(DumpError::io(path, err));
            }
            let mut holder = String::new();
            let _ = io::Read::read_to_string(&mut io::Read::take(&file, 32), &mut holder);
            let holder = holder.trim();
            return Err(DumpError::Locked {
                output: output.to_path_buf(),
                lock: path.to_path_buf(),
                holder: if holder.is_empty() {
                    "unknown".into()
                } else {
                    holder.to_owned()
                },
            });
        }
        let ours = file.metadata().map_err(|e| DumpError::io(path, e))?;
        match std::fs::symlink_metadata(path) {
            Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {}
            // Removed or replaced by the previous holder between our open and our flock.
            _ => return Ok(None),
        }
        file.set_len(0).map_err(|e| DumpError::io(path, e))?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())
            .map_err(|e| DumpError::io(path, e))?;
        Ok(Some(OutputLock {
            file: Some(file),
            path: path.to_path_buf(),
        }))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock, then let go of it.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

/// fsync a directory.
pub fn fsync_dir(dir: &Path) -> Result<(), DumpError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| DumpError::io(dir, e))?;
    file.sync_all().map_err(|e| DumpError::io(dir, e))
}

/// 16 lowercase hex digits from 8 random bytes (temp-file names).
pub fn random_hex16() -> String {
    let mut buf = [0u8; 8];
    if getrandom::fill(&mut buf).is_err() {
        // No OS randomness: fall back to time, pid and a counter (uniqueness, not secrecy,
        // is what a temp name needs; create_new catches the rest).
        use sha2::{Digest, Sha256};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut h = Sha256::new();
        h.update(nanos.to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        for (dst, src) in buf.iter_mut().zip(h.finalize()) {
            *dst = src;
        }
    }
    hex::encode(buf)
}

/// Open an input file of a dump tree for reading: no-follow, must be a regular file with a
/// link count of 1 (hard links refused), FIFOs refused without blocking.
pub fn open_input(path: &Path) -> Result<File, DumpError> {
    Ok(open_input_with_len(path)?.0)
}

/// [`read_input_max`] without a limit (tests).
#[cfg(test)]
pub fn read_input(path: &Path) -> Result<Vec<u8>, DumpError> {
    read_input_max(path, u64::MAX)
}

/// Read a whole input file of a dump tree (the rules of [`open_input`]) with one `fstat`
/// and reads straight into a buffer sized from it (`openat`, `fstat`, `read` until end of
/// file, `close`), refusing a file whose `fstat` size exceeds `max` before reading a byte
/// (so no input size can make the reader allocate beyond the format's limits). A file that
/// grows while it is read is cut at `max + 1` bytes and refused too.
pub fn read_input_max(path: &Path, max: u64) -> Result<Vec<u8>, DumpError> {
    let (file, len) = open_input_with_len(path)?;
    if len > max {
        return Err(DumpError::TooLarge {
            path: path.to_path_buf(),
            len,
            max,
        });
    }
    // The length comes from fstat of the open file, not from its bytes; one spare byte lets
    // the end-of-file read land without a reallocation when the size was exact.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    // `Take` hides the file from std's size probe (an extra statx and lseek per file).
    io::Read::read_to_end(&mut io::Read::take(&file, max.saturating_add(1)), &mut bytes)
        .map_err(|e| DumpError::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(DumpError::TooLarge {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// [`open_input`], also returning the file's length from the same `fstat`.
pub(crate) fn open_input_with_len(path: &Path) -> Result<(File, u64), DumpError> {
    let (file, stamp) = open_input_stamped(path)?;
    Ok((file, stamp.len))
}

/// [`open_input`], also returning the file's [`FileStamp`] from the same `fstat`.
pub(crate) fn open_input_stamped(path: &Path) -> Result<(File, FileStamp), DumpError> {
    let (file, meta) = open_regular_nofollow_meta(path)?;
    check_single_link(path, &meta)?;
    Ok((file, FileStamp::of(&meta)))
}

/// [`open_input`] of a file read earlier, refused as [`DumpError::Changed`] unless its
/// stamp is still `stamp`.
pub(crate) fn open_unchanged(path: &Path, stamp: &FileStamp) -> Result<File, DumpError> {
    let (file, now) = open_input_stamped(path)?;
    if now != *stamp {
        return Err(DumpError::Changed {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// The `len` bytes at `offset` of a file read earlier ([`open_unchanged`]); a range past
/// the end of the file as stamped is refused before anything is allocated.
pub(crate) fn read_unchanged(
    path: &Path,
    stamp: &FileStamp,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, DumpError> {
    let file = open_unchanged(path, stamp)?;
    let past_end = || {
        DumpError::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "range past the end of the file"),
        )
    };
    if !stamp.holds(offset, len) {
        return Err(past_end());
    }
    let mut buf = vec![0u8; usize::try_from(len).map_err(|_| past_end())?];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut buf, offset).map_err(|e| DumpError::io(path, e))?;
    Ok(buf)
}

/// What tells, without reading it, whether an input file is still the one read earlier:
/// device, inode, size, and modification and change times from `fstat`. A write changes
/// the change time (which no user can set back), a replacement the inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Size in bytes.
    pub len: u64,
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    /// Bytes of [`FileStamp::to_bytes`].
    pub const LEN: usize = 56;

    /// The stamp of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            len: meta.len(),
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the `len` bytes at `offset` lie within the file as stamped.
    pub fn holds(&self, offset: u64, len: u64) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len)
    }

    /// Fixed-size little-endian form.
    pub fn to_bytes(&self) -> [u8; FileStamp::LEN] {
        let fields = [
            self.len,
            self.dev,
            self.ino,
            self.mtime.0 as u64,
            self.mtime.1 as u64,
            self.ctime.0 as u64,
            self.ctime.1 as u64,
        ];
        let mut out = [0u8; FileStamp::LEN];
        for (chunk, f) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&f.to_le_bytes());
        }
        out
    }

    /// The stamp [`FileStamp::to_bytes`] wrote.
    pub fn from_bytes(b: &[u8; FileStamp::LEN]) -> FileStamp {
        let mut f = b.chunks_exact(8).map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            u64::from_le_bytes(a)
        });
        let mut next = || f.next().unwrap_or_default();
        FileStamp {
            len: next(),
            dev: next(),
            ino: next(),
            mtime: (next() as i64, next() as i64),
            ctime: (next() as i64, next() as i64),
        }
    }
}

/// Open for reading with `O_NOFOLLOW|O_NONBLOCK` and require a regular file (any link
/// count). `O_NONBLOCK` is there so that opening a FIFO cannot block; it has no effect on
/// reads of a regular file, so it is left set.
pub(crate) fn open_regular_nofollow(path: &Path) -> Result<File, DumpError> {
    Ok(open_regular_nofollow_meta(path)?.0)
}

fn open_regular_nofollow_meta(path: &Path) -> Result<(File, std::fs::Metadata), DumpError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    let meta = file.metadata().map_err(|e| DumpError::io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(DumpError::unsafe_path(path, "not a regular file"));
    }
    Ok((file, meta))
}

/// Bytes after which [`WritebackWriter`] starts the write-back of what it wrote.
pub const WRITEBACK_CHUNK: u64 = 16 << 20;

/// Writes a large output file and, every [`WRITEBACK_CHUNK`] bytes, asks the kernel to start
/// writing the new range to disk (`sync_file_range(SYNC_FILE_RANGE_WRITE)` on Linux, which
/// does not wait). The disk then works while the output is still being produced, and the
/// final `fsync` (still required: this is only a hint, and its errors are ignored) has
/// little left to do. Elsewhere it is a plain writer.
#[derive(Debug)]
pub struct WritebackWriter<'a> {
    file: &'a File,
    written: u64,
    started: u64,
}

impl<'a> WritebackWriter<'a> {
    /// A writer appending to `file`.
    pub fn new(file: &'a File) -> WritebackWriter<'a> {
        WritebackWriter {
            file,
            written: 0,
            started: 0,
        }
    }

    #[cfg(target_os = "linux")]
    fn start_writeback(&mut self) {
        let (Ok(from), Ok(len)) = (
            libc::off64_t::try_from(self.started),
            libc::off64_t::try_from(self.written - self.started),
        ) else {
            return;
        };
        // SAFETY: a hint on a descriptor we hold open; no pointers are passed.
        unsafe { libc::sync_file_range(self.file.as_raw_fd(), from, len, libc::SYNC_FILE_RANGE_WRITE) };
        self.started = self.written;
    }

    #[cfg(not(target_os = "linux"))]
    fn start_writeback(&mut self) {
        self.started = self.written;
    }
}

impl Write for WritebackWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&mut &*self.file).write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_CHUNK {
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a directory listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (FIFO, socket, device).
    Other,
}

/// One entry of [`list_dir`].
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// The name concerned.
    pub name: std::ffi::OsString,
    /// The file or directory concerned.
    pub path: PathBuf,
    /// What the entry is (not following symlinks).
    pub kind: EntryKind,
}

/// List a directory of a dump tree, sorted by name bytes, without following symlinks.
/// `Ok(None)` when `dir` does not exist; an error when it is a symlink or not a directory.
pub fn list_dir(dir: &Path) -> Result<Option<Vec<DirEntry>>, DumpError> {
    let Some(entries) = read_dir_unsorted(dir)? else {
        return Ok(None);
    };
    let mut out = entries.collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(Some(out))
}

/// The entries of a directory of a dump tree in the order the filesystem gives them, one at
/// a time (memory does not grow with the directory), without following symlinks. `Ok(None)`
/// when `dir` does not exist; an error when it is a symlink or not a directory.
pub fn read_dir_unsorted(
    dir: &Path,
) -> Result<Option<impl Iterator<Item = Result<DirEntry, DumpError>> + '_>, DumpError> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(DumpError::unsafe_path(dir, "is a symbolic link, not a directory"));
        }
        Ok(meta) if !meta.is_dir() => return Err(DumpError::unsafe_path(dir, "is not a directory")),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DumpError::io(dir, e)),
    }
    let entries = std::fs::read_dir(dir).map_err(|e| DumpError::io(dir, e))?;
    Ok(Some(entries.map(move |entry| {
        let entry = entry.map_err(|e| DumpError::io(dir, e))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| DumpError::io(&path, e))?;
        let kind = if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        };
        Ok(DirEntry {
            name: entry.file_name(),
            path,
            kind,
        })
    })))
}

/// Classify an entry of an adapter's data directory (DECISIONS.md D12): `Ok(Some(stem))` for
/// a regular file named `<stem><suffix>`; `Ok(None)` for a regular file or directory without
/// the suffix (not data, skipped as Go does); an error naming the path for a symlink, FIFO,
/// socket or device (whatever its name), a directory named with the suffix, and a data file
/// whose name is not UTF-8 (so not an encoded segment). Every adapter's walker calls this,
/// so no adapter skips data silently.
pub fn data_file_stem<'e>(e: &'e DirEntry, suffix: &str) -> Result<Option<&'e str>, DumpError> {
    let has_suffix = e.name.as_bytes().ends_with(suffix.as_bytes());
    match e.kind {
        EntryKind::Symlink => {
            return Err(DumpError::unsafe_path(
                &e.path,
                "is a symbolic link inside the dump tree",
            ))
        }
        EntryKind::Other => {
            return Err(DumpError::unsafe_path(
                &e.path,
                "is a FIFO, socket or device, not a regular file",
            ))
        }
        EntryKind::Dir if has_suffix => {
            return Err(DumpError::unsafe_path(
                &e.path,
                format!("is a directory named like a data file (`{suffix}`)"),
            ))
        }
        EntryKind::Dir => return Ok(None),
        EntryKind::File => {}
    }
    match e.name.to_str() {
        Some(name) => Ok(name.strip_suffix(suffix)),
        None if has_suffix => Err(DumpError::unsafe_path(
            &e.path,
            "file name is not valid UTF-8, so not an encoded segment",
        )),
        None => Ok(None),
    }
}

/// Check that a relative path (`/`-separated) stays inside its root: no absolute path, no
/// `..`, no empty or `.` component, no NUL.
pub fn check_relative(rel: &str) -> Result<(), DumpError> {
    let what = if rel.is_empty() {
        Some("empty path")
    } else if rel.starts_with('/') {
        Some("absolute path")
    } else if rel.contains('\0') {
        Some("NUL byte in path")
    } else {
        rel.split('/').find_map(|c| match c {
            "" => Some("empty path component"),
            "." => Some("`.` path component"),
            ".." => Some("`..` path component escapes the root"),
            _ => None,
        })
    };
    match what {
        Some(what) => Err(DumpError::unsafe_path(rel, what)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
