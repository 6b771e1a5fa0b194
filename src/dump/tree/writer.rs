//! The filesystem side of a [`super::DumpTree`]: the system calls that create its
//! directories and files, run in submission order by an [`crate::ordered::Behind`] worker
//! (or at once on the decoding thread with one thread). Paths come checked
//! ([`super::check_relative`]) from the tree; the bytes come hashed.
//!
//! The directory of the last file stays open, so a file is created with one `openat(dirfd,
//! name, O_CREAT|O_EXCL|O_NOFOLLOW)` instead of a full path walk; a new directory is reached
//! by `openat(O_DIRECTORY|O_NOFOLLOW)` one component at a time from the staging root (which
//! also refuses a symlink planted anywhere on the way), and `mkdirat` is skipped for
//! directories already made.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use super::{c_name, create_file_at, mkdir_at, open_dir_at, KNOWN_DIRS_CAP};
use crate::dump::DumpError;
use crate::spill::ExternalSorter;

/// One filesystem operation of a tree, in the order the decoder made it.
pub(super) enum Op {
    /// Bytes of file `id`: its first chunk names it (`create`, a new file), its last one
    /// (`last`) closes it and, with the file's SHA-256 (`digest`), records it for CHECKSUMS.
    Chunk {
        id: u64,
        create: Option<String>,
        bytes: Vec<u8>,
        last: bool,
        digest: Option<[u8; 32]>,
    },
    /// Make a directory and its parents.
    Dir(String),
    /// Remove a file.
    Remove(String),
}

impl Op {
    /// What the op holds in memory (for the window).
    pub(super) fn weight(&self) -> usize {
        let held = match self {
            Op::Chunk { create, bytes, .. } => bytes.capacity() + create.as_ref().map_or(0, String::len),
            Op::Dir(rel) | Op::Remove(rel) => rel.len(),
        };
        held + 64
    }
}

/// Directory descriptors, open files and the CHECKSUMS records of a staging tree.
pub(super) struct FsWriter {
    pub(super) staging: PathBuf,
    root_fd: OwnedFd,
    /// Relative directories known to exist in the staging tree (created by us): a cache
    /// that saves a `mkdirat` per component, emptied when it reaches [`KNOWN_DIRS_CAP`] so
    /// that memory does not grow with the number of directories (a directory made before
    /// is then met as `EEXIST`, which [`mkdir_at`] accepts).
    pub(super) dirs: HashSet<String>,
    /// The directory of the last file created: its relative path and an open descriptor.
    last_dir: Option<(String, OwnedFd)>,
    /// Reused buffer for NUL-terminated names.
    name_buf: Vec<u8>,
    /// Files written in several chunks, open between them: id, path, file, bytes written.
    open: Vec<(u64, String, File, u64)>,
    /// (relative path, SHA-256) of every file written, sorted by path at publish.
    pub(super) checksums: ExternalSorter,
    /// Where `checksums` spills.
    pub(super) scratch: PathBuf,
    /// Files and bytes recorded.
    pub(super) files: u64,
    pub(super) bytes: u64,
}

impl FsWriter {
    pub(super) fn new(
        staging: PathBuf,
        root_fd: OwnedFd,
        checksums: ExternalSorter,
        scratch: PathBuf,
    ) -> FsWriter {
        FsWriter {
            staging,
            root_fd,
            dirs: HashSet::new(),
            last_dir: None,
            name_buf: Vec::new(),
            open: Vec::new(),
            checksums,
            scratch,
            files: 0,
            bytes: 0,
        }
    }

    /// Record a file written (or moved into place) for CHECKSUMS.
    pub(super) fn record(&mut self, rel: &str, digest: [u8; 32], len: u64) -> Result<(), DumpError> {
        self.checksums
            .push(rel.as_bytes(), &digest)
            .map_err(|e| DumpError::io(&self.scratch, e))?;
        self.files += 1;
        self.bytes += len;
        Ok(())
    }

    /// Run one op ([`crate::ordered::Behind`]'s job).
    pub(super) fn run(&mut self, op: Op) -> Result<(), DumpError> {
        match op {
            Op::Chunk {
                id,
                create,
                bytes,
                last,
                digest,
            } => self.chunk(id, create, &bytes, last, digest),
            Op::Dir(rel) => self.dir_fd(&rel).map(drop),
            Op::Remove(rel) => std::fs::remove_file(self.staging.join(&rel))
                .map_err(|e| DumpError::io(self.staging.join(&rel), e)),
        }
    }

    fn chunk(
        &mut self,
        id: u64,
        create: Option<String>,
        bytes: &[u8],
        last: bool,
        digest: Option<[u8; 32]>,
    ) -> Result<(), DumpError> {
        let (rel, mut file, len) = match create {
            Some(rel) => {
                let file = self.create(&rel)?;
                (rel, file, 0)
            }
            None => match self.open.iter().position(|(i, ..)| *i == id) {
                Some(at) => {
                    let (_, rel, file, len) = self.open.swap_remove(at);
                    (rel, file, len)
                }
                // An earlier chunk failed (reported): the file is not written.
                None => return Ok(()),
            },
        };
        file.write_all(bytes)
            .map_err(|e| DumpError::io(self.staging.join(&rel), e))?;
        let len = len + bytes.len() as u64;
        if !last {
            self.open.push((id, rel, file, len));
            return Ok(());
        }
        drop(file);
        match digest {
            Some(digest) => self.record(&rel, digest, len),
            None => Ok(()),
        }
    }

    /// Create the new file `rel` (parents made; create_new, no-follow, 0600).
    fn create(&mut self, rel: &str) -> Result<File, DumpError> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let parent = self.dir_fd(dir)?;
        let staging = &self.staging;
        let name = c_name(&mut self.name_buf, name).map_err(|e| DumpError::io(staging.join(rel), e))?;
        create_file_at(parent, name, 0o600).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                DumpError::unsafe_path(staging.join(rel), "written twice in one tree")
            }
            _ => DumpError::io(staging.join(rel), e),
        })
    }

    /// Move the file `from` to the new path `to` (parents made; an existing `to` is refused,
    /// never replaced).
    pub(super) fn rename_new(&mut self, from: &str, to: &str) -> Result<(), DumpError> {
        let (dir, name) = to.rsplit_once('/').unwrap_or(("", to));
        let parent = self.dir_fd(dir)?;
        let target = self.staging.join(to);
        let name = c_name(&mut self.name_buf, name)
            .map_err(|e| DumpError::io(&target, e))?
            .to_owned();
        let from_c = std::ffi::CString::new(from.as_bytes())
            .map_err(|_| DumpError::unsafe_path(from, "NUL in a staged name"))?;
        let root = self.root_fd.as_raw_fd();
        // SAFETY: linkat/unlinkat on descriptors we own with NUL-terminated names; linkat
        // fails with EEXIST instead of replacing an existing file.
        if unsafe { libc::linkat(root, from_c.as_ptr(), parent, name.as_ptr(), 0) } != 0 {
            let e = io::Error::last_os_error();
            return Err(match e.kind() {
                io::ErrorKind::AlreadyExists => DumpError::unsafe_path(target, "written twice in one tree"),
                _ => DumpError::io(target, e),
            });
        }
        // SAFETY: as above.
        if unsafe { libc::unlinkat(root, from_c.as_ptr(), 0) } != 0 {
            return Err(DumpError::io(self.staging.join(from), io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Close the cached directory descriptor (before its directory may be removed).
    pub(super) fn forget_last_dir(&mut self) {
        self.last_dir = None;
    }

    /// Open every directory of the checked relative path `dir` (non-empty), top down from
    /// the staging root, creating those not made yet; any component that exists and is not
    /// a real directory (a symlink included) is refused. Returns the last one, open.
    fn open_dirs(&mut self, dir: &str) -> Result<OwnedFd, DumpError> {
        let mut current: Option<OwnedFd> = None;
        let mut end = 0;
        for component in dir.split('/') {
            end += component.len();
            let prefix = dir.get(..end).unwrap_or(dir);
            end += 1; // the '/' after this component
            let parent = current
                .as_ref()
                .map_or(self.root_fd.as_raw_fd(), AsRawFd::as_raw_fd);
            let io_error = |e| DumpError::io(self.staging.join(prefix), e);
            let name = c_name(&mut self.name_buf, component).map_err(io_error)?;
            let known = self.dirs.contains(prefix);
            if !known {
                mkdir_at(parent, name).map_err(io_error)?;
            }
            let fd = open_dir_at(parent, name).map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) | Some(libc::ENOTDIR) => DumpError::unsafe_path(
                    self.staging.join(prefix),
                    "exists in the tree and is not a directory",
                ),
                _ => io_error(e),
            })?;
            if !known {
                if self.dirs.len() >= KNOWN_DIRS_CAP {
                    self.dirs.clear();
                }
                self.dirs.insert(prefix.to_owned());
            }
            current = Some(fd);
        }
        current.ok_or_else(|| DumpError::unsafe_path(dir, "empty path"))
    }

    /// The descriptor of directory `dir` (`""` = the root), from the one-entry cache or by
    /// [`FsWriter::open_dirs`] (which then fills the cache).
    fn dir_fd(&mut self, dir: &str) -> Result<RawFd, DumpError> {
        if dir.is_empty() {
            return Ok(self.root_fd.as_raw_fd());
        }
        if let Some((cached, fd)) = &self.last_dir {
            if cached == dir {
                return Ok(fd.as_raw_fd());
            }
        }
        let fd = self.open_dirs(dir)?;
        let raw = fd.as_raw_fd();
        match &mut self.last_dir {
            Some((cached, slot)) => {
                cached.clear();
                cached.push_str(dir);
                *slot = fd;
            }
            None => self.last_dir = Some((dir.to_owned(), fd)),
        }
        Ok(raw)
    }
}
