//! Safe file I/O, in one place: atomic write (temp + fsync + rename + directory fsync),
//! no-follow opens, refusal of symlinks, hard links, FIFOs and paths that escape a root.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::DumpError;

/// Write `bytes` to `path` atomically: a `<name>.tmp-<16 hex>` sibling created with `mode`,
/// written, fsynced, renamed over `path`, then the parent directory fsynced. Refuses a
/// `path` that is a symlink or not a regular file.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DumpError> {
    let _ = (path, bytes, mode);
    todo!()
}

/// fsync a directory.
pub fn fsync_dir(dir: &Path) -> Result<(), DumpError> {
    let _ = dir;
    todo!()
}

/// 16 lowercase hex digits from 8 random bytes (temp-file names).
pub fn random_hex16() -> String {
    todo!()
}

/// Open an input file of a dump tree for reading: no-follow, must be a regular file with a
/// link count of 1 (hard links refused), FIFOs refused without blocking.
pub fn open_input(path: &Path) -> Result<File, DumpError> {
    let _ = path;
    todo!()
}

/// Open (create or truncate) a sidecar output file with mode 0600: no-follow, refuses a
/// symlink, a hard link (nlink > 1), a FIFO or any non-regular file at `path`. Returns the
/// file and whether it existed before (so a failed write can roll back only what it created).
pub fn open_sidecar(path: &Path) -> Result<(File, bool), DumpError> {
    let _ = path;
    todo!()
}

/// What a directory listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// One entry of [`list_dir`].
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: std::ffi::OsString,
    pub path: PathBuf,
    pub kind: EntryKind,
}

/// List a directory of a dump tree, sorted by name bytes, without following symlinks.
/// `Ok(None)` when `dir` does not exist; an error when it is a symlink or not a directory.
pub fn list_dir(dir: &Path) -> Result<Option<Vec<DirEntry>>, DumpError> {
    let _ = dir;
    todo!()
}

/// Check that a relative path (`/`-separated) stays inside its root: no absolute path, no
/// `..`, no empty or `.` component, no NUL.
pub fn check_relative(rel: &str) -> Result<(), DumpError> {
    let _ = rel;
    todo!()
}
