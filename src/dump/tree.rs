//! [`DumpTree`]: a dump tree being written. Files go into a staging directory beside the
//! output, are hashed as they are written (so CHECKSUMS needs no second read), and the whole
//! tree is published with one rename after MANIFEST.json and CHECKSUMS are written last
//! (s3_tree_pipeline.md §7, §8). A tree that is dropped unpublished removes its staging
//! directory (DECISIONS.md D9), so a failed decode leaves nothing that looks like a dump.
//!
//! Speed (per-file cost dominates small-file trees): the decoding thread only checks paths,
//! hashes and formats; the system calls that create directories and files (`writer.rs`)
//! run behind it on a worker thread, in the order they were made
//! ([`crate::ordered::Behind`], [`TreeOptions::threads`]), so a tree of many small files
//! is written on two cores. A write's failure is not seen where it is made: it is reported
//! by [`DumpTree::settle`] ([`super::TreeOut::settle`]), which the pipeline and the decoders
//! call wherever they raise or hold an error, so that the first failure in the order the
//! decoder made its writes is the error reported, the same for any thread count. Operations
//! that need the writes done (moving or reading a staged file, publishing) wait for them.
//! Nothing is re-read or fsynced one by one: `publish` makes the whole staging tree durable
//! with one `syncfs` before the rename. Measured with `benches/tree.rs` (20k files of 64
//! bytes): our user-space time is 1–2 µs a file; the rest (100–600 µs a file on a busy
//! shared disk, `tar -xf` alike) is the kernel's.
//!
//! Memory: the `(path, SHA-256)` pairs for CHECKSUMS go to a [`crate::spill::ExternalSorter`] with a
//! budget of [`CHECKSUM_SORT_BUDGET`] by default; beyond it they spill to anonymous scratch
//! files outside the tree (the output's parent directory unless
//! [`TreeOptions::scratch_dir`] says otherwise), so trees of millions of files stay bounded.

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
use crate::ordered::{Behind, Handle};
use crate::spill::ExternalSorter;

mod writer;

use writer::{FsWriter, Op};

/// The name of the checksum list at the root of a tree.
pub const CHECKSUMS_NAME: &str = "CHECKSUMS";
/// The name of the manifest at the root of a tree.
pub const MANIFEST_NAME: &str = "MANIFEST.json";

/// Most bytes a streamed file buffers before handing them to the writer.
const FILE_BUFFER: usize = 64 * 1024;

/// Bytes handed to the writer thread and not yet written, at most (about; see
/// [`crate::ordered::Behind`]): a share of the decoder's 64 MiB peak RSS (issue #13).
pub const WRITE_WINDOW: usize = 2 << 20;

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
    /// Threads writing the tree: with more than one, the files are created and written on
    /// a worker thread behind the caller; with one, on the caller's thread. The tree and
    /// the errors reported are the same either way.
    pub threads: usize,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            scratch_dir: None,
            checksum_budget: CHECKSUM_SORT_BUDGET,
            durable: true,
            threads: 2,
        }
    }
}

/// The runner of a tree's filesystem operations.
type Writer = Behind<FsWriter, Op, DumpError>;

/// A dump tree being written.
pub struct DumpTree {
    output: PathBuf,
    staging: PathBuf,
    /// The staging directory, open (for CHECKSUMS and the final sync).
    root_fd: OwnedFd,
    /// Runs the file system calls, in order (see the module doc).
    writer: Writer,
    /// Streamed files created so far (their ids).
    file_seq: u64,
    /// Reused buffer for NUL-terminated names.
    name_buf: Vec<u8>,
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
/// Its bytes are hashed here and handed to the tree's writer 64 KiB (`FILE_BUFFER`) at a time.
pub struct TreeFile {
    rel: String,
    id: u64,
    /// Bytes accepted but not yet handed over (at most [`FILE_BUFFER`]).
    buf: Vec<u8>,
    hasher: BodyHasher,
    bytes: u64,
    /// Whether a first chunk (which creates the file) was handed over.
    started: bool,
    writer: Handle<FsWriter, Op, DumpError>,
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

    /// Hash what is buffered and hand it to the writer.
    fn hand_over(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.hasher.update(&self.buf)?;
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(FILE_BUFFER));
        self.submit(bytes, false, None);
        Ok(())
    }

    fn submit(&mut self, bytes: Vec<u8>, last: bool, digest: Option<[u8; 32]>) {
        let op = Op::Chunk {
            id: self.id,
            create: (!self.started).then(|| self.rel.clone()),
            bytes,
            last,
            digest,
        };
        self.started = true;
        let weight = op.weight();
        self.writer.submit(op, weight);
    }

    /// Hand over the last chunk (to be recorded for CHECKSUMS when `record`): the file's
    /// path (taken), size and digest.
    fn end(&mut self, record: bool) -> io::Result<Staged> {
        self.hasher.update(&self.buf)?;
        let digest = std::mem::take(&mut self.hasher).finalize()?;
        let bytes = std::mem::take(&mut self.buf);
        self.submit(bytes, true, record.then_some(digest));
        Ok(Staged {
            rel: std::mem::take(&mut self.rel),
            len: self.bytes,
            digest,
        })
    }
}

impl Write for TreeFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.buf.len() >= FILE_BUFFER {
            self.hand_over()?;
        }
        let n = buf.len().min(FILE_BUFFER - self.buf.len());
        self.buf.extend_from_slice(buf.get(..n).unwrap_or(buf));
        self.bytes += n as u64;
        Ok(n)
    }

    /// Hand what is buffered to the writer (no fsync: see [`DumpTree::publish`]).
    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()
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
        let writer_root = match root_fd.try_clone() {
            Ok(fd) => fd,
            Err(e) => {
                let _ = std::fs::remove_dir(&staging);
                return Err(DumpError::io(&staging, e));
            }
        };
        let checksums = ExternalSorter::new(options.checksum_budget, &scratch);
        let writer = Behind::new(
            FsWriter::new(staging.clone(), writer_root, checksums, scratch),
            options.threads,
            WRITE_WINDOW,
            FsWriter::run,
        );
        Ok(DumpTree {
            output: output.to_owned(),
            staging,
            root_fd,
            writer,
            file_seq: 0,
            name_buf: Vec::new(),
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

    /// Check a path the caller may write: inside the tree, not CHECKSUMS.
    fn check_new(rel: &str) -> Result<(), DumpError> {
        check_relative(rel)?;
        if rel == CHECKSUMS_NAME {
            return Err(DumpError::unsafe_path(
                rel,
                "CHECKSUMS is written by publish only",
            ));
        }
        Ok(())
    }

    fn submit(&self, op: Op) {
        let weight = op.weight();
        self.writer.handle().submit(op, weight);
    }

    /// Wait for the writes made so far: the first that failed and was not reported yet
    /// (see the module doc). A path refused by its shape fails at once instead.
    pub fn settle(&mut self) -> Result<(), DumpError> {
        self.writer.handle().settle()
    }

    /// Write a whole file at `rel` (`/`-separated; directories created as needed, mode 0755;
    /// the file gets mode 0600) with one `write_all`. Writing the same `rel` twice is an
    /// error (reported by [`DumpTree::settle`]).
    pub fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
        Self::check_new(rel)?;
        self.file_seq += 1;
        self.submit(Op::Chunk {
            id: self.file_seq,
            create: Some(rel.to_owned()),
            bytes: bytes.to_vec(),
            last: true,
            digest: Some(Sha256::digest(bytes).into()),
        });
        Ok(())
    }

    /// Open a file at `rel` for streaming writes.
    pub fn create_file(&mut self, rel: &str) -> Result<TreeFile, DumpError> {
        Self::check_new(rel)?;
        self.file_seq += 1;
        Ok(TreeFile {
            rel: rel.to_owned(),
            id: self.file_seq,
            buf: Vec::new(),
            hasher: BodyHasher::new(),
            bytes: 0,
            started: false,
            writer: self.writer.handle().clone(),
        })
    }

    /// Hand over what is buffered of a file opened with [`DumpTree::create_file`], close it
    /// and record its checksum. (Durability comes from the one filesystem sync in
    /// [`DumpTree::publish`].)
    pub fn finish_file(&mut self, file: TreeFile) -> Result<(), DumpError> {
        self.close(file, true).map(drop)
    }

    /// Hand over the last chunk of `file` (to be recorded for CHECKSUMS when `record`).
    fn close(&mut self, mut file: TreeFile, record: bool) -> Result<Staged, DumpError> {
        file.end(record)
            .map_err(|e| DumpError::io(self.staging.join(&file.rel), e))
    }

    /// Open a staged file: written like any file of the tree, under `STAGED_DIR`, and
    /// invisible in it (not in CHECKSUMS, removed at publish) until
    /// [`DumpTree::publish_staged`] renames it to its final path.
    pub fn create_staged(&mut self) -> Result<TreeFile, DumpError> {
        self.staged_seq += 1;
        let rel = format!("{STAGED_DIR}/{}", self.staged_seq);
        self.create_file(&rel)
    }

    /// Close a staged file: its bytes are handed over, its hash known.
    pub fn close_staged(&mut self, file: TreeFile) -> Result<Staged, DumpError> {
        self.close(file, false)
    }

    /// Move a staged file to `rel` (parents created; an existing `rel` is refused, never
    /// replaced) and record its checksum. Waits for the writes made before; its own failure
    /// is reported here.
    pub fn publish_staged(&mut self, staged: Staged, rel: &str) -> Result<(), DumpError> {
        check_relative(rel)?;
        self.writer.handle().with_state(|w| {
            w.rename_new(&staged.rel, rel)?;
            w.record(rel, staged.digest, staged.len)
        })
    }

    /// Remove a staged file that will not be published.
    pub fn discard_staged(&mut self, staged: Staged) -> Result<(), DumpError> {
        self.submit(Op::Remove(staged.rel));
        Ok(())
    }

    /// Copy `len` bytes at `offset` of a staged file to `out` (after the writes made before).
    pub fn copy_staged(
        &mut self,
        staged: &Staged,
        offset: u64,
        len: u64,
        out: &mut dyn Write,
    ) -> Result<(), DumpError> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.staging.join(&staged.rel);
        let mut f = self
            .writer
            .handle()
            .with_state(|_| super::fs::open_regular_nofollow(&path))?;
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
        self.submit(Op::Dir(rel.to_owned()));
        Ok(())
    }

    /// Write MANIFEST.json (when given) and CHECKSUMS last, sync the staging tree to disk,
    /// and rename the staging directory to the output path (replacing an empty directory).
    pub fn publish(mut self, manifest: Option<&Manifest>) -> Result<PublishStats, DumpError> {
        // A failed write (not reported yet) is the first error; none: every write is done.
        self.settle()?;
        if let Some(m) = manifest {
            let bytes = m.to_bytes()?;
            self.write_file(MANIFEST_NAME, &bytes)?;
            self.settle()?;
        }
        let (sorter, scratch, files, bytes) = self.writer.handle().with_state(|w| {
            w.forget_last_dir();
            let sorter = std::mem::replace(&mut w.checksums, ExternalSorter::new(0, &w.scratch));
            (sorter, w.scratch.clone(), w.files, w.bytes)
        });
        match std::fs::remove_dir_all(self.staging.join(STAGED_DIR)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(DumpError::io(self.staging.join(STAGED_DIR), e))
            }
            _ => {}
        }
        let list_bytes = self.write_checksums(sorter, &scratch)?;
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
            files: files + 1,
            bytes: bytes + list_bytes,
        })
    }

    /// Write CHECKSUMS at the staging root from the sorted records; returns its size.
    fn write_checksums(&mut self, sorter: ExternalSorter, scratch: &Path) -> Result<u64, DumpError> {
        let scratch_error = |e| DumpError::io(scratch, e);
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

    /// Files written so far (waits for the writes made).
    pub fn files_written(&self) -> u64 {
        self.writer.handle().with_state(|w| w.files)
    }

    /// Bytes written so far (waits for the writes made).
    pub fn bytes_written(&self) -> u64 {
        self.writer.handle().with_state(|w| w.bytes)
    }

    /// The final output path.
    pub fn output(&self) -> &PathBuf {
        &self.output
    }
}

impl Drop for DumpTree {
    fn drop(&mut self) {
        // No write may land after the staging tree is removed.
        self.writer.close();
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests;
