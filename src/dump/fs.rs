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

/// Clear `O_NONBLOCK` on an open descriptor (set only to open FIFOs safely).
fn clear_nonblock(path: &Path, file: &File) -> Result<(), DumpError> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL take no pointers.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(DumpError::io(path, io::Error::last_os_error()));
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(DumpError::io(path, io::Error::last_os_error()));
    }
    Ok(())
}

/// Write `bytes` to `path` atomically: a `<name>.tmp-<16 hex>` sibling created with `mode`,
/// written, fsynced, renamed over `path`, then the parent directory fsynced. Refuses a
/// `path` that is a symlink or not a regular file.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DumpError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(DumpError::unsafe_path(path, "is a symbolic link"));
        }
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(DumpError::unsafe_path(path, "exists and is not a regular file"));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(DumpError::io(path, e)),
    }
    let name = path
        .file_name()
        .ok_or_else(|| DumpError::unsafe_path(path, "has no file name"))?;
    let dir = parent_of(path);
    let mut tmp_name = name.to_owned();
    tmp_name.push(format!(".tmp-{}", random_hex16()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(|e| open_error(&tmp, e))?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| DumpError::io(&tmp, e))?;
        file.write_all(bytes).map_err(|e| DumpError::io(&tmp, e))?;
        file.sync_all().map_err(|e| DumpError::io(&tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| DumpError::io(path, e))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    fsync_dir(dir)
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

/// Read a whole input file of a dump tree (the rules of [`open_input`]) with one `fstat`
/// and reads straight into a buffer sized from it: `openat`, `fstat`, `read` until end of
/// file, `close`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, DumpError> {
    let (file, len) = open_input_with_len(path)?;
    // The length comes from fstat of the open file, not from its bytes; one spare byte lets
    // the end-of-file read land without a reallocation when the size was exact.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    // `Take` hides the file from std's size probe (an extra statx and lseek per file).
    io::Read::read_to_end(&mut io::Read::take(&file, u64::MAX), &mut bytes)
        .map_err(|e| DumpError::io(path, e))?;
    Ok(bytes)
}

/// [`open_input`], also returning the file's length from the same `fstat`.
fn open_input_with_len(path: &Path) -> Result<(File, u64), DumpError> {
    let (file, meta) = open_regular_nofollow_meta(path)?;
    check_single_link(path, &meta)?;
    Ok((file, meta.len()))
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

/// Open (create or truncate) a sidecar output file with mode 0600: no-follow, refuses a
/// symlink, a hard link (nlink > 1), a FIFO or any non-regular file at `path`. Returns the
/// file and whether it existed before (so a failed write can roll back only what it created).
pub fn open_sidecar(path: &Path) -> Result<(File, bool), DumpError> {
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let (file, existed) = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(flags)
        .open(path)
    {
        Ok(f) => (f, false),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Something is there (possibly a dangling symlink, which create_new also
            // reports as existing): open it without creating, no-follow.
            let f = OpenOptions::new()
                .write(true)
                .custom_flags(flags)
                .open(path)
                .map_err(|e| open_error(path, e))?;
            (f, true)
        }
        Err(e) => return Err(open_error(path, e)),
    };
    check_regular_single_link(path, &file)?;
    file.set_len(0).map_err(|e| DumpError::io(path, e))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| DumpError::io(path, e))?;
    clear_nonblock(path, &file)?;
    Ok((file, existed))
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
