//! Checking a file of the tree against CHECKSUMS (DECISIONS.md D15) from the ranges someone
//! else reads: the encoder reads a large file only when it writes the records referring to
//! it (DECISIONS.md A30), and [`RangeCheck`] hashes what that read returns.
//!
//! A file whose ranges come one after the other from offset 0, none of another file's
//! between them (the chunks of an S3 body, consecutive keys in the sorted output), is hashed
//! as they come and checked when its last byte arrives. Any other file is noted and read
//! again, whole, by [`RangeCheck::finish`], so the check never depends on the order.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::super::fs::{open_unchanged, FileStamp};
use super::super::DumpError;
use super::{hash_open, TreeReader};

/// Checks whole files against CHECKSUMS from their ranges, as they are read.
#[derive(Debug)]
pub struct RangeCheck {
    reader: TreeReader,
    /// The file being hashed, in order.
    current: Option<Hashing>,
    /// Files whose ranges came out of order: hashed whole by [`RangeCheck::finish`].
    out_of_order: Vec<(PathBuf, FileStamp)>,
}

#[derive(Debug)]
struct Hashing {
    path: PathBuf,
    stamp: FileStamp,
    /// Bytes hashed so far: the offset of the range expected next.
    next: u64,
    hasher: Sha256,
}

impl RangeCheck {
    /// Checks against `reader`'s CHECKSUMS (none when it verifies nothing).
    pub fn new(reader: TreeReader) -> RangeCheck {
        RangeCheck {
            reader,
            current: None,
            out_of_order: Vec::new(),
        }
    }

    /// `bytes`, just read at `offset` of the file at `path` (stamped `stamp` when its
    /// ranges were taken); the file is checked when its last byte arrives in order.
    pub fn update(
        &mut self,
        path: &Path,
        stamp: &FileStamp,
        offset: u64,
        bytes: &[u8],
    ) -> Result<(), DumpError> {
        if !self.reader.verifies() {
            return Ok(());
        }
        let in_order =
            matches!(&self.current, Some(h) if h.path == path && h.stamp == *stamp && h.next == offset);
        if !in_order {
            if let Some(h) = self.current.take() {
                self.out_of_order.push((h.path, h.stamp));
            }
            if offset != 0 {
                self.out_of_order.push((path.to_path_buf(), *stamp));
                return Ok(());
            }
            self.current = Some(Hashing {
                path: path.to_path_buf(),
                stamp: *stamp,
                next: 0,
                hasher: Sha256::new(),
            });
        }
        let Some(h) = self.current.as_mut() else {
            return Ok(());
        };
        h.hasher.update(bytes);
        h.next += bytes.len() as u64;
        if h.next >= h.stamp.len {
            if let Some(h) = self.current.take() {
                self.reader.check(&h.path, h.hasher.finalize().into())?;
            }
        }
        Ok(())
    }

    /// Check the files whose ranges did not all come in order (by path), each read again
    /// whole and refused if it changed since its ranges were taken.
    pub fn finish(mut self) -> Result<(), DumpError> {
        if let Some(h) = self.current.take() {
            self.out_of_order.push((h.path, h.stamp));
        }
        self.out_of_order.sort_by(|a, b| a.0.cmp(&b.0));
        self.out_of_order.dedup_by(|a, b| a.0 == b.0);
        for (path, stamp) in &self.out_of_order {
            let mut file = open_unchanged(path, stamp)?;
            self.reader.check(path, hash_open(&mut file, path)?)?;
        }
        Ok(())
    }
}
