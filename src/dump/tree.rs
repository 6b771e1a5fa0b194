//! [`DumpTree`]: a dump tree being written. Files go into a staging directory beside the
//! output, are hashed as they are written (so CHECKSUMS needs no second read), and the whole
//! tree is published with one rename after MANIFEST.json and CHECKSUMS are written last.
//! A tree that is dropped unpublished removes its staging directory (DECISIONS.md D9).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::manifest::Manifest;
use super::DumpError;

/// A dump tree being written.
pub struct DumpTree {
    _private: (),
}

/// A file of the tree open for streaming writes; hand it back to [`DumpTree::finish_file`].
pub struct TreeFile {
    _private: (),
}

impl Write for TreeFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = buf;
        todo!()
    }
    fn flush(&mut self) -> io::Result<()> {
        todo!()
    }
}

/// What [`DumpTree::publish`] wrote.
#[derive(Debug, Clone, Default)]
pub struct PublishStats {
    pub files: u64,
    pub bytes: u64,
}

impl DumpTree {
    /// Start a tree that will be published at `output`. `output` must not exist or be an
    /// empty directory (else a usage error naming it); its parent must exist. The staging
    /// directory is `<parent>/.<name>.partial-<16 hex>`.
    pub fn create(output: &Path) -> Result<DumpTree, DumpError> {
        let _ = output;
        todo!()
    }

    /// The staging root (where files are being written).
    pub fn root(&self) -> &Path {
        todo!()
    }

    /// Write a whole file at `rel` (`/`-separated; directories created as needed, mode 0755;
    /// the file gets mode 0600). Writing the same `rel` twice is an error.
    pub fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
        let _ = (rel, bytes);
        todo!()
    }

    /// Open a file at `rel` for streaming writes.
    pub fn create_file(&mut self, rel: &str) -> Result<TreeFile, DumpError> {
        let _ = rel;
        todo!()
    }

    /// Flush, fsync and record the checksum of a file opened with [`DumpTree::create_file`].
    pub fn finish_file(&mut self, file: TreeFile) -> Result<(), DumpError> {
        let _ = file;
        todo!()
    }

    /// Whether a directory `rel` exists in the tree (adapters create theirs lazily).
    pub fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError> {
        let _ = rel;
        todo!()
    }

    /// Write MANIFEST.json (when given) and CHECKSUMS last, fsync, and rename the staging
    /// directory to the output path.
    pub fn publish(self, manifest: Option<&Manifest>) -> Result<PublishStats, DumpError> {
        let _ = manifest;
        todo!()
    }

    /// The final output path.
    pub fn output(&self) -> &PathBuf {
        todo!()
    }
}
