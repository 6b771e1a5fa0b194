//! [`DumpTree`]: a dump tree being written. Files go into a staging directory beside the
//! output, are hashed as they are written (so CHECKSUMS needs no second read), and the whole
//! tree is published with one rename after MANIFEST.json and CHECKSUMS are written last
//! (s3_tree_pipeline.md §7, §8). A tree that is dropped unpublished removes its staging
//! directory (DECISIONS.md D9), so a failed decode leaves nothing that looks like a dump.
//!
//! Speed: files are created with one `open(O_CREAT|O_EXCL|O_NOFOLLOW)` each, written
//! through a buffer, never re-read and never fsynced one by one; `publish` makes the whole
//! staging tree durable with one `syncfs` before the rename.

use std::collections::HashSet;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::checksums;
use super::fs::{check_relative, fsync_dir, parent_of, random_hex16};
use super::manifest::Manifest;
use super::DumpError;

/// The name of the checksum list at the root of a tree.
pub const CHECKSUMS_NAME: &str = "CHECKSUMS";
/// The name of the manifest at the root of a tree.
pub const MANIFEST_NAME: &str = "MANIFEST.json";

/// Write buffer of a streamed file.
const FILE_BUFFER: usize = 64 * 1024;

/// A dump tree being written.
pub struct DumpTree {
    output: PathBuf,
    staging: PathBuf,
    /// Relative directories known to exist in the staging tree (created by us).
    dirs: HashSet<String>,
    /// (relative path, SHA-256) of every file written, in write order.
    // The spill module's external sorter plugs in here when trees outgrow memory.
    records: Vec<(String, [u8; 32])>,
    bytes: u64,
    published: bool,
}

/// A file of the tree open for streaming writes; hand it back to [`DumpTree::finish_file`].
pub struct TreeFile {
    rel: String,
    path: PathBuf,
    out: BufWriter<File>,
    hasher: Sha256,
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
}

impl Write for TreeFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        let written = buf.get(..n).unwrap_or(buf);
        self.hasher.update(written);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
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

impl DumpTree {
    /// Start a tree that will be published at `output`. `output` must not exist or be an
    /// empty directory (else a usage error naming it); its parent must exist. The staging
    /// directory is `<parent>/.<name>.partial-<16 hex>`.
    pub fn create(output: &Path) -> Result<DumpTree, DumpError> {
        match std::fs::symlink_metadata(output) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(output_error(output, "exists and is a symbolic link"));
            }
            Ok(meta) if meta.is_dir() => {
                let mut entries = std::fs::read_dir(output).map_err(|e| DumpError::io(output, e))?;
                if entries.next().is_some() {
                    return Err(output_error(output, "exists and is not an empty directory"));
                }
            }
            Ok(_) => return Err(output_error(output, "exists and is not a directory")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(DumpError::io(output, e)),
        }
        let name = match output.file_name() {
            Some(n) => n,
            None => return Err(output_error(output, "has no final name component")),
        };
        let parent = parent_of(output);
        let mut staging_name = std::ffi::OsString::from(".");
        staging_name.push(name);
        staging_name.push(format!(".partial-{}", random_hex16()));
        let staging = parent.join(staging_name);
        DirBuilder::new()
            .mode(0o755)
            .create(&staging)
            .map_err(|e| DumpError::io(&staging, e))?;
        Ok(DumpTree {
            output: output.to_owned(),
            staging,
            dirs: HashSet::new(),
            records: Vec::new(),
            bytes: 0,
            published: false,
        })
    }

    /// The staging root (where files are being written).
    pub fn root(&self) -> &Path {
        &self.staging
    }

    /// Create the directories above `rel` (which must be a checked relative path).
    fn ensure_parents(&mut self, rel: &str) -> Result<(), DumpError> {
        if let Some((dir, _)) = rel.rsplit_once('/') {
            self.make_dirs(dir)?;
        }
        Ok(())
    }

    /// Create every directory of the checked relative path `dir`, top down, refusing any
    /// component that exists and is not a real directory.
    fn make_dirs(&mut self, dir: &str) -> Result<(), DumpError> {
        if self.dirs.contains(dir) {
            return Ok(());
        }
        let mut end = 0;
        for component in dir.split('/') {
            end += component.len();
            let prefix = dir.get(..end).unwrap_or(dir);
            end += 1; // the '/' after this component
            if self.dirs.contains(prefix) {
                continue;
            }
            let path = self.staging.join(prefix);
            match DirBuilder::new().mode(0o755).create(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let meta = std::fs::symlink_metadata(&path).map_err(|e| DumpError::io(&path, e))?;
                    if !meta.is_dir() {
                        return Err(DumpError::unsafe_path(
                            path,
                            "exists in the tree and is not a directory",
                        ));
                    }
                }
                Err(e) => return Err(DumpError::io(&path, e)),
            }
            self.dirs.insert(prefix.to_owned());
        }
        Ok(())
    }

    /// Check `rel`, create its parents and open the new file (create_new, no-follow, 0600).
    fn open_new(&mut self, rel: &str) -> Result<(PathBuf, File), DumpError> {
        check_relative(rel)?;
        if rel == CHECKSUMS_NAME {
            return Err(DumpError::unsafe_path(
                rel,
                "CHECKSUMS is written by publish only",
            ));
        }
        self.ensure_parents(rel)?;
        let path = self.staging.join(rel);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => DumpError::unsafe_path(&path, "written twice in one tree"),
                _ => DumpError::io(&path, e),
            })?;
        Ok((path, file))
    }

    fn record(&mut self, rel: &str, digest: [u8; 32], len: u64) {
        self.records.push((rel.to_owned(), digest));
        self.bytes += len;
    }

    /// Write a whole file at `rel` (`/`-separated; directories created as needed, mode 0755;
    /// the file gets mode 0600). Writing the same `rel` twice is an error.
    pub fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
        let (path, mut file) = self.open_new(rel)?;
        file.write_all(bytes).map_err(|e| DumpError::io(&path, e))?;
        self.record(rel, Sha256::digest(bytes).into(), bytes.len() as u64);
        Ok(())
    }

    /// Open a file at `rel` for streaming writes.
    pub fn create_file(&mut self, rel: &str) -> Result<TreeFile, DumpError> {
        let (path, file) = self.open_new(rel)?;
        Ok(TreeFile {
            rel: rel.to_owned(),
            path,
            out: BufWriter::with_capacity(FILE_BUFFER, file),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// Flush and record the checksum of a file opened with [`DumpTree::create_file`].
    /// (Durability comes from the one filesystem sync in [`DumpTree::publish`].)
    pub fn finish_file(&mut self, file: TreeFile) -> Result<(), DumpError> {
        let TreeFile {
            rel,
            path,
            out,
            hasher,
            bytes,
        } = file;
        out.into_inner()
            .map_err(|e| DumpError::io(&path, e.into_error()))?;
        self.record(&rel, hasher.finalize().into(), bytes);
        Ok(())
    }

    /// Make sure the directory `rel` exists in the tree (adapters create theirs lazily);
    /// parents are created as needed, mode 0755.
    pub fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError> {
        check_relative(rel)?;
        self.make_dirs(rel)
    }

    /// Write MANIFEST.json (when given) and CHECKSUMS last, sync the staging tree to disk,
    /// and rename the staging directory to the output path (replacing an empty directory).
    pub fn publish(mut self, manifest: Option<&Manifest>) -> Result<PublishStats, DumpError> {
        if let Some(m) = manifest {
            let bytes = m.to_bytes()?;
            self.write_file(MANIFEST_NAME, &bytes)?;
        }
        let mut records = std::mem::take(&mut self.records);
        records.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut list = Vec::with_capacity(records.len() * 100);
        for (rel, digest) in &records {
            list.extend_from_slice(&checksums::line(rel, digest));
        }
        let list_path = self.staging.join(CHECKSUMS_NAME);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&list_path)
            .map_err(|e| DumpError::io(&list_path, e))?;
        file.write_all(&list).map_err(|e| DumpError::io(&list_path, e))?;
        file.sync_all().map_err(|e| DumpError::io(&list_path, e))?;
        drop(file);
        self.sync_staging()?;
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
            files: records.len() as u64 + 1,
            bytes: self.bytes + list.len() as u64,
        })
    }

    /// Make every file and directory of the staging tree durable.
    fn sync_staging(&self) -> Result<(), DumpError> {
        let dir = File::open(&self.staging).map_err(|e| DumpError::io(&self.staging, e))?;
        #[cfg(target_os = "linux")]
        {
            // SAFETY: syncfs on a descriptor we own.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
                return Err(DumpError::io(&self.staging, io::Error::last_os_error()));
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dir.as_raw_fd();
            // SAFETY: sync() takes no arguments.
            unsafe { libc::sync() };
        }
        Ok(())
    }

    /// Files written so far (for progress reporting).
    pub fn files_written(&self) -> u64 {
        self.records.len() as u64
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
