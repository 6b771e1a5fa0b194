//! [`DumpTree`]: a dump tree being written. Files go into a staging directory beside the
//! output, are hashed as they are written (so CHECKSUMS needs no second read), and the whole
//! tree is published with one rename after MANIFEST.json and CHECKSUMS are written last
//! (s3_tree_pipeline.md §7, §8). A tree that is dropped unpublished removes its staging
//! directory (DECISIONS.md D9), so a failed decode leaves nothing that looks like a dump.
//!
//! Speed (per-file cost dominates small-file trees): the directory of the last file stays
//! open, so a file is created with one `openat(dirfd, name, O_CREAT|O_EXCL|O_NOFOLLOW)`
//! instead of a full path walk; a new directory is reached by `openat(O_DIRECTORY|
//! O_NOFOLLOW)` one component at a time from the staging root (which also refuses a symlink
//! planted anywhere on the way), and `mkdirat` is skipped for directories already made.
//! [`DumpTree::write_file`] writes with one `write_all`; a streamed [`TreeFile`] buffers in a
//! growing `Vec` (no 64 KiB allocation for a small file). Nothing is re-read or fsynced one
//! by one: `publish` makes the whole staging tree durable with one `syncfs` before the rename.
//! Measured with `benches/tree.rs` (20k files of 64 bytes): our user-space time is 1–2 µs a
//! file; the rest (100–600 µs a file on a busy shared disk, `tar -xf` alike) is the kernel's.
//!
//! Memory: the `(path, SHA-256)` pairs for CHECKSUMS go to a [`crate::spill::ExternalSorter`] with a
//! budget of [`CHECKSUM_SORT_BUDGET`] by default; beyond it they spill to anonymous scratch
//! files outside the tree (the output's parent directory unless
//! [`TreeOptions::scratch_dir`] says otherwise), so trees of millions of files stay bounded.

use std::collections::HashSet;
use std::ffi::CStr;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::checksums;
use super::fs::{check_relative, fsync_dir, parent_of, random_hex16, remove_stale_staging, OutputLock};
use super::hasher::BodyHasher;
use super::manifest::Manifest;
use super::DumpError;
use crate::spill::ExternalSorter;

/// The name of the checksum list at the root of a tree.
pub const CHECKSUMS_NAME: &str = "CHECKSUMS";
/// The name of the manifest at the root of a tree.
pub const MANIFEST_NAME: &str = "MANIFEST.json";

/// Most bytes a streamed file buffers before writing.
const FILE_BUFFER: usize = 64 * 1024;

/// Default memory budget of the CHECKSUMS sort: two 4 MiB buffers of about 45 000
/// `(path, SHA-256)` pairs each (a 1 GiB Redis tree of 660 000 files spills some 20 runs,
/// merged in one pass). A share of the decoder's 64 MiB peak RSS target (issue #13) beside
/// the adapters' own sorts; the pairs are written to scratch once whatever the budget.
pub const CHECKSUM_SORT_BUDGET: usize = 8 << 20;

/// The most directories [`DumpTree`] remembers as made (a per-item DynamoDB tree of 1 GiB
/// has 322 000 hash directories: remembering them all cost 30 MiB).
pub const KNOWN_DIRS_CAP: usize = 4096;

/// How a [`DumpTree`] is set up; `Default` is what [`DumpTree::create`] uses.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// Where the CHECKSUMS sort spills (anonymous files, gone on any exit). `None`: the
    /// output's parent directory (the staging directory's parent, never inside the tree).
    pub scratch_dir: Option<PathBuf>,
    /// Memory budget of the CHECKSUMS sort in bytes.
    pub checksum_budget: usize,
    /// Make the tree durable (one `syncfs`) before it is published. Off only for a tree
    /// nobody keeps (the encoder's self-test scratch): a `syncfs` waits for every dirty page
    /// of the filesystem, other processes' included.
    pub durable: bool,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            scratch_dir: None,
            checksum_budget: CHECKSUM_SORT_BUDGET,
            durable: true,
        }
    }
}

/// A dump tree being written.
pub struct DumpTree {
    output: PathBuf,
    staging: PathBuf,
    /// The staging directory, open.
    root_fd: OwnedFd,
    /// Relative directories known to exist in the staging tree (created by us): a cache
    /// that saves a `mkdirat` per component, emptied when it reaches [`KNOWN_DIRS_CAP`] so
    /// that memory does not grow with the number of directories (a directory made before
    /// is then met as `EEXIST`, which [`mkdir_at`] accepts).
    dirs: HashSet<String>,
    /// The directory of the last file created: its relative path and an open descriptor.
    last_dir: Option<(String, OwnedFd)>,
    /// Reused buffer for NUL-terminated names.
    name_buf: Vec<u8>,
    /// (relative path, SHA-256) of every file written, sorted by path at publish.
    checksums: ExternalSorter,
    scratch: PathBuf,
    files: u64,
    bytes: u64,
    published: bool,
    /// Staged files created so far (their names).
    staged_seq: u64,
    /// `<output>.lock`, held until the tree is published or dropped.
    /// [`TreeOptions::durable`].
    durable: bool,
    _lock: OutputLock,
}

/// Where staged files live in the staging tree until published (removed at publish).
pub const STAGED_DIR: &str = ".staged";

/// A closed staged file of a tree: written and hashed, not yet at its final path.
#[derive(Debug, PartialEq, Eq)]
pub struct Staged {
    /// Its path in the staging tree.
    pub rel: String,
    /// Its size.
    pub len: u64,
    digest: [u8; 32],
}

impl Staged {
    /// A staged file's handle from its parts (a tree that keeps staged files by name, see
    /// [`super::MemTree`], or a handle written to scratch and read back).
    pub fn new(rel: String, len: u64, digest: [u8; 32]) -> Staged {
        Staged { rel, len, digest }
    }

    /// The SHA-256 of its bytes.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }
}

/// A file of the tree open for streaming writes; hand it back to [`DumpTree::finish_file`].
pub struct TreeFile {
    rel: String,
    file: File,
    /// Bytes accepted but not yet written (at most [`FILE_BUFFER`]), hashed when written.
    buf: Vec<u8>,
    hasher: BodyHasher,
    bytes: u64,
}

impl TreeFile {
    /// The file's path relative to the tree root.
    pub fn rel(&self) -> &str {
        &self.rel
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    fn write_buffered(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf)?;
            let written = std::mem::take(&mut self.buf);
            self.buf = self.hasher.update_owned(written)?;
        }
        Ok(())
    }
}

impl Write for TreeFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.buf.len() + buf.len() > FILE_BUFFER {
            self.write_buffered()?;
            if buf.len() >= FILE_BUFFER {
                let n = self.file.write(buf)?;
                self.hasher.update(buf.get(..n).unwrap_or(buf))?;
                self.bytes += n as u64;
                return Ok(n);
            }
        }
        self.buf.extend_from_slice(buf);
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    /// Write what is buffered (no fsync: see [`DumpTree::publish`]).
    fn flush(&mut self) -> io::Result<()> {
        self.write_buffered()
    }
}

/// What [`DumpTree::publish`] wrote.
#[derive(Debug, Clone, Default)]
pub struct PublishStats {
    /// Files in the published tree, MANIFEST.json and CHECKSUMS included.
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

fn output_error(path: &Path, what: impl Into<String>) -> DumpError {
    DumpError::Output {
        path: path.to_owned(),
        what: what.into(),
    }
}

/// `name` as a NUL-terminated string in `buf` (checked paths hold no NUL).
fn c_name<'b>(buf: &'b mut Vec<u8>, name: &str) -> io::Result<&'b CStr> {
    buf.clear();
    buf.extend_from_slice(name.as_bytes());
    buf.push(0);
    CStr::from_bytes_with_nul(buf)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in a file name"))
}

/// `openat(parent, name, O_DIRECTORY|O_NOFOLLOW)`: a symlink or a non-directory fails
/// (`ELOOP`/`ENOTDIR`).
fn open_dir_at(parent: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `name` is NUL-terminated and outlives the call; `parent` is a descriptor we
    // hold open.
    let fd = unsafe { libc::openat(parent, name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `mkdirat(parent, name, 0755)`; an existing entry is not an error (the caller opens it
/// no-follow next).
fn mkdir_at(parent: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: as in `open_dir_at`.
    if unsafe { libc::mkdirat(parent, name.as_ptr(), 0o755) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.kind() {
        io::ErrorKind::AlreadyExists => Ok(()),
        _ => Err(e),
    }
}

/// `openat(parent, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, mode)`.
fn create_file_at(parent: RawFd, name: &CStr, mode: libc::mode_t) -> io::Result<File> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: as in `open_dir_at`; the mode argument is read because of O_CREAT.
    let fd = unsafe { libc::openat(parent, name.as_ptr(), flags, libc::c_uint::from(mode)) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as in `open_dir_at`.
    Ok(unsafe { File::from_raw_fd(fd) })
}

impl DumpTree {
    /// Start a tree that will be published at `output`, with [`TreeOptions::default`].
    /// `output` must not exist or be an empty directory (else a usage error naming it); its
    /// parent must exist. The staging directory is `<parent>/.<name>.partial-<16 hex>`.
    pub fn create(output: &Path) -> Result<DumpTree, DumpError> {
        DumpTree::create_with(output, &TreeOptions::default())
    }

    /// [`DumpTree::create`] with explicit options.
    pub fn create_with(output: &Path, options: &TreeOptions) -> Result<DumpTree, DumpError> {
        // A pre-made empty directory keeps its permission bits.
        let mut keep_mode = None;
        match std::fs::symlink_metadata(output) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(output_error(output, "exists and is a symbolic link"));
            }
            Ok(meta) if meta.is_dir() => {
                let mut entries = std::fs::read_dir(output).map_err(|e| DumpError::io(output, e))?;
                if entries.next().is_some() {
                    return Err(output_error(output, "exists and is not an empty directory"));
                }
                keep_mode = Some(meta.permissions().mode() & 0o7777);
            }
            Ok(_) => return Err(output_error(output, "exists and is not a directory")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(DumpError::io(output, e)),
        }
        let name = match output.file_name() {
            Some(n) => n,
            None => return Err(output_error(output, "has no final name component")),
        };
        // One run per output; under the lock, staging directories of killed runs are debris.
        let lock = OutputLock::acquire(output)?;
        remove_stale_staging(output)?;
        let parent = parent_of(output);
        let mut staging_name = std::ffi::OsString::from(".");
        staging_name.push(name);
        staging_name.push(format!(".partial-{}", random_hex16()));
        let staging = parent.join(staging_name);
        DirBuilder::new()
            .mode(keep_mode.unwrap_or(0o755))
            .create(&staging)
            .map_err(|e| DumpError::io(&staging, e))?;
        if let Some(mode) = keep_mode {
            if let Err(e) = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(mode)) {
                let _ = std::fs::remove_dir(&staging);
                return Err(DumpError::io(&staging, e));
            }
        }
        let root = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&staging);
        let root_fd = match root {
            Ok(f) => OwnedFd::from(f),
            Err(e) => {
                let _ = std::fs::remove_dir(&staging);
                return Err(DumpError::io(&staging, e));
            }
        };
        let scratch = match &options.scratch_dir {
            Some(dir) => dir.clone(),
            None => parent.to_owned(),
        };
        Ok(DumpTree {
            output: output.to_owned(),
            staging,
            root_fd,
            dirs: HashSet::new(),
            last_dir: None,
            name_buf: Vec::new(),
            checksums: ExternalSorter::new(options.checksum_budget, &scratch),
            scratch,
            files: 0,
            bytes: 0,
            published: false,
            staged_seq: 0,
            durable: options.durable,
            _lock: lock,
        })
    }

    /// The staging root (where files are being written).
    pub fn root(&self) -> &Path {
        &self.staging
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
    /// [`DumpTree::open_dirs`] (which then fills the cache).
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

    /// Check `rel`, create its parents and open the new file (create_new, no-follow, 0600).
    fn open_new(&mut self, rel: &str) -> Result<File, DumpError> {
        check_relative(rel)?;
        if rel == CHECKSUMS_NAME {
            return Err(DumpError::unsafe_path(
                rel,
                "CHECKSUMS is written by publish only",
            ));
        }
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

    fn record(&mut self, rel: &str, digest: [u8; 32], len: u64) -> Result<(), DumpError> {
        self.checksums
            .push(rel.as_bytes(), &digest)
            .map_err(|e| DumpError::io(&self.scratch, e))?;
        self.files += 1;
        self.bytes += len;
        Ok(())
    }

    /// Write a whole file at `rel` (`/`-separated; directories created as needed, mode 0755;
    /// the file gets mode 0600) with one `write_all`. Writing the same `rel` twice is an
    /// error.
    pub fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
        let mut file = self.open_new(rel)?;
        file.write_all(bytes)
            .map_err(|e| DumpError::io(self.staging.join(rel), e))?;
        drop(file);
        self.record(rel, Sha256::digest(bytes).into(), bytes.len() as u64)
    }

    /// Open a file at `rel` for streaming writes.
    pub fn create_file(&mut self, rel: &str) -> Result<TreeFile, DumpError> {
        let file = self.open_new(rel)?;
        Ok(TreeFile {
            rel: rel.to_owned(),
            file,
            buf: Vec::new(),
            hasher: BodyHasher::new(),
            bytes: 0,
        })
    }

    /// Write what is buffered and record the checksum of a file opened with
    /// [`DumpTree::create_file`]. (Durability comes from the one filesystem sync in
    /// [`DumpTree::publish`].)
    pub fn finish_file(&mut self, mut file: TreeFile) -> Result<(), DumpError> {
        file.write_buffered()
            .map_err(|e| DumpError::io(self.staging.join(&file.rel), e))?;
        let TreeFile {
            rel,
            file: f,
            hasher,
            bytes,
            ..
        } = file;
        drop(f);
        let digest = hasher
            .finalize()
            .map_err(|e| DumpError::io(self.staging.join(&rel), e))?;
        self.record(&rel, digest, bytes)
    }

    /// Open a staged file: written like any file of the tree, under `STAGED_DIR`, and
    /// invisible in it (not in CHECKSUMS, removed at publish) until
    /// [`DumpTree::publish_staged`] renames it to its final path.
    pub fn create_staged(&mut self) -> Result<TreeFile, DumpError> {
        self.staged_seq += 1;
        let rel = format!("{STAGED_DIR}/{}", self.staged_seq);
        self.create_file(&rel)
    }

    /// Close a staged file: its bytes are written, its hash known.
    pub fn close_staged(&mut self, mut file: TreeFile) -> Result<Staged, DumpError> {
        file.write_buffered()
            .map_err(|e| DumpError::io(self.staging.join(&file.rel), e))?;
        let digest = file
            .hasher
            .finalize()
            .map_err(|e| DumpError::io(self.staging.join(&file.rel), e))?;
        Ok(Staged {
            rel: file.rel,
            len: file.bytes,
            digest,
        })
    }

    /// Move a staged file to `rel` (parents created; an existing `rel` is refused, never
    /// replaced) and record its checksum.
    pub fn publish_staged(&mut self, staged: Staged, rel: &str) -> Result<(), DumpError> {
        check_relative(rel)?;
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let parent = self.dir_fd(dir)?;
        let target = self.staging.join(rel);
        let name = c_name(&mut self.name_buf, name)
            .map_err(|e| DumpError::io(&target, e))?
            .to_owned();
        let from = std::ffi::CString::new(staged.rel.as_bytes())
            .map_err(|_| DumpError::unsafe_path(&staged.rel, "NUL in a staged name"))?;
        let root = self.root_fd.as_raw_fd();
        // SAFETY: linkat/unlinkat on descriptors we own with NUL-terminated names; linkat
        // fails with EEXIST instead of replacing an existing file.
        if unsafe { libc::linkat(root, from.as_ptr(), parent, name.as_ptr(), 0) } != 0 {
            let e = io::Error::last_os_error();
            return Err(match e.kind() {
                io::ErrorKind::AlreadyExists => DumpError::unsafe_path(target, "written twice in one tree"),
                _ => DumpError::io(target, e),
            });
        }
        // SAFETY: as above.
        if unsafe { libc::unlinkat(root, from.as_ptr(), 0) } != 0 {
            return Err(DumpError::io(
                self.staging.join(&staged.rel),
                io::Error::last_os_error(),
            ));
        }
        self.record(rel, staged.digest, staged.len)
    }

    /// Remove a staged file that will not be published.
    pub fn discard_staged(&mut self, staged: Staged) -> Result<(), DumpError> {
        std::fs::remove_file(self.staging.join(&staged.rel))
            .map_err(|e| DumpError::io(self.staging.join(&staged.rel), e))
    }

    /// Copy `len` bytes at `offset` of a staged file to `out`.
    pub fn copy_staged(
        &mut self,
        staged: &Staged,
        offset: u64,
        len: u64,
        out: &mut dyn Write,
    ) -> Result<(), DumpError> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.staging.join(&staged.rel);
        let mut f = super::fs::open_regular_nofollow(&path)?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| DumpError::io(&path, e))?;
        let copied = io::copy(&mut f.take(len), out).map_err(|e| DumpError::io(&path, e))?;
        if copied != len {
            return Err(DumpError::invalid(
                &path,
                format!("staged file shorter than {}", offset + len),
            ));
        }
        Ok(())
    }

    /// Make sure the directory `rel` exists in the tree (adapters create theirs lazily);
    /// parents are created as needed, mode 0755.
    pub fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError> {
        check_relative(rel)?;
        self.dir_fd(rel).map(drop)
    }

    /// Write MANIFEST.json (when given) and CHECKSUMS last, sync the staging tree to disk,
    /// and rename the staging directory to the output path (replacing an empty directory).
    pub fn publish(mut self, manifest: Option<&Manifest>) -> Result<PublishStats, DumpError> {
        if let Some(m) = manifest {
            let bytes = m.to_bytes()?;
            self.write_file(MANIFEST_NAME, &bytes)?;
        }
        self.last_dir = None;
        match std::fs::remove_dir_all(self.staging.join(STAGED_DIR)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(DumpError::io(self.staging.join(STAGED_DIR), e))
            }
            _ => {}
        }
        let list_bytes = self.write_checksums()?;
        if self.durable {
            self.sync_staging()?;
        }
        std::fs::rename(&self.staging, &self.output).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOTEMPTY) | Some(libc::EEXIST) | Some(libc::ENOTDIR) | Some(libc::EISDIR) => {
                output_error(
                    &self.output,
                    format!("cannot replace it with the finished tree: {e}"),
                )
            }
            _ => DumpError::io(&self.output, e),
        })?;
        self.published = true;
        fsync_dir(parent_of(&self.output))?;
        Ok(PublishStats {
            files: self.files + 1,
            bytes: self.bytes + list_bytes,
        })
    }

    /// Write CHECKSUMS at the staging root from the sorted records; returns its size.
    fn write_checksums(&mut self) -> Result<u64, DumpError> {
        let sorter = std::mem::replace(&mut self.checksums, ExternalSorter::new(0, &self.scratch));
        let scratch_error = |e| DumpError::io(&self.scratch, e);
        let mut sorted = sorter.finish().map_err(scratch_error)?;
        let list_path = self.staging.join(CHECKSUMS_NAME);
        let name = c_name(&mut self.name_buf, CHECKSUMS_NAME).map_err(|e| DumpError::io(&list_path, e))?;
        let file = create_file_at(self.root_fd.as_raw_fd(), name, 0o644)
            .map_err(|e| DumpError::io(&list_path, e))?;
        let mut out = BufWriter::with_capacity(FILE_BUFFER, file);
        let mut written = 0u64;
        while let Some((rel, digest)) = sorted.next().map_err(scratch_error)? {
            let corrupt = || {
                scratch_error(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the CHECKSUMS sort returned a record that was never pushed",
                ))
            };
            let rel = std::str::from_utf8(rel).map_err(|_| corrupt())?;
            let digest: &[u8; 32] = digest.try_into().map_err(|_| corrupt())?;
            let line = checksums::line(rel, digest);
            out.write_all(&line).map_err(|e| DumpError::io(&list_path, e))?;
            written += line.len() as u64;
        }
        out.into_inner()
            .map_err(|e| DumpError::io(&list_path, e.into_error()))?;
        Ok(written)
    }

    /// Make every file and directory of the staging tree durable.
    fn sync_staging(&self) -> Result<(), DumpError> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: syncfs on a descriptor we own.
            if unsafe { libc::syncfs(self.root_fd.as_raw_fd()) } != 0 {
                return Err(DumpError::io(&self.staging, io::Error::last_os_error()));
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            // SAFETY: sync() takes no arguments.
            unsafe { libc::sync() };
        }
        Ok(())
    }

    /// Files written so far (for progress reporting).
    pub fn files_written(&self) -> u64 {
        self.files
    }

    /// Bytes written so far (for progress reporting).
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// The final output path.
    pub fn output(&self) -> &PathBuf {
        &self.output
    }
}

impl Drop for DumpTree {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests;
