//! [`TreeOut`]: where a decoder writes its part of the dump tree. The pipeline hands every
//! decoder the staging [`DumpTree`]; unit tests hand it a [`MemTree`], so each adapter is
//! testable without a filesystem.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::tree::{DumpTree, Staged, TreeFile};
use super::DumpError;

/// A file of the tree open for streaming writes; hand it back to [`TreeOut::finish_file`].
pub enum OutFile {
    /// A file of a [`DumpTree`].
    Tree(TreeFile),
    /// A file of a [`MemTree`].
    Mem {
        /// The path relative to the tree root.
        rel: String,
        /// The bytes written so far.
        buf: Vec<u8>,
    },
    /// A file of another [`TreeOut`] (e.g. one that only counts bytes).
    Other {
        /// The path relative to the tree root.
        rel: String,
        /// Where the bytes go.
        writer: Box<dyn Write>,
    },
}

impl Write for OutFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            OutFile::Tree(f) => f.write(data),
            OutFile::Mem { buf, .. } => {
                buf.extend_from_slice(data);
                Ok(data.len())
            }
            OutFile::Other { writer, .. } => writer.write(data),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            OutFile::Tree(f) => f.write_all(data),
            OutFile::Mem { buf, .. } => {
                buf.extend_from_slice(data);
                Ok(())
            }
            OutFile::Other { writer, .. } => writer.write_all(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            OutFile::Tree(f) => f.flush(),
            OutFile::Mem { .. } => Ok(()),
            OutFile::Other { writer, .. } => writer.flush(),
        }
    }
}

/// The writes a decoder makes: whole files, streamed files, directories. Paths are
/// relative to the tree root, `/`-separated; writing one path twice is an error.
pub trait TreeOut {
    /// Write a whole file.
    fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError>;
    /// Open a file for streaming writes.
    fn create_file(&mut self, rel: &str) -> Result<OutFile, DumpError>;
    /// Complete a file opened with [`TreeOut::create_file`].
    fn finish_file(&mut self, file: OutFile) -> Result<(), DumpError>;
    /// Make sure a directory exists (parents included).
    fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError>;

    /// Wait for the writes made so far and report the first that failed, once. A tree that
    /// writes behind the caller ([`DumpTree`]) reports a failed write here, not where it was
    /// made; call it through [`first_error`] wherever an error is raised or held while
    /// writing may go on.
    fn settle(&mut self) -> Result<(), DumpError> {
        Ok(())
    }

    /// Open a staged file: a file written before its final path is known, kept out of the
    /// tree until [`TreeOut::publish_staged`] moves it there (no copy) or
    /// [`TreeOut::discard_staged`] drops it. Close it with [`TreeOut::close_staged`].
    fn create_staged(&mut self) -> Result<OutFile, DumpError> {
        Err(DumpError::invalid("", "this tree does not stage files"))
    }
    /// Close a staged file opened with [`TreeOut::create_staged`].
    fn close_staged(&mut self, file: OutFile) -> Result<Staged, DumpError> {
        let _ = file;
        Err(DumpError::invalid("", "this tree does not stage files"))
    }
    /// Move a closed staged file to `rel` (an existing `rel` is an error, never replaced).
    fn publish_staged(&mut self, staged: Staged, rel: &str) -> Result<(), DumpError> {
        let _ = staged;
        Err(DumpError::invalid(rel, "this tree does not stage files"))
    }
    /// Drop a closed staged file.
    fn discard_staged(&mut self, staged: Staged) -> Result<(), DumpError> {
        let _ = staged;
        Ok(())
    }
    /// Copy `len` bytes at `offset` of a closed staged file to `out`.
    fn copy_staged(
        &mut self,
        staged: &Staged,
        offset: u64,
        len: u64,
        out: &mut dyn Write,
    ) -> Result<(), DumpError> {
        let _ = (offset, len, out);
        Err(DumpError::invalid(&staged.rel, "this tree does not stage files"))
    }
}

/// The error to report for `e`, raised now: a write made before it that failed (and was
/// not reported yet) came first and is reported instead. Call it where an error is raised or
/// held while writing may go on, so that the first failure in the order the writes were
/// made is the one reported, whether the tree writes behind the caller or not.
pub fn first_error<E: From<DumpError>>(out: &mut dyn TreeOut, e: E) -> E {
    match out.settle() {
        Err(earlier) => E::from(earlier),
        Ok(()) => e,
    }
}

impl TreeOut for DumpTree {
    fn settle(&mut self) -> Result<(), DumpError> {
        DumpTree::settle(self)
    }
    fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
        DumpTree::write_file(self, rel, bytes)
    }
    fn create_file(&mut self, rel: &str) -> Result<OutFile, DumpError> {
        DumpTree::create_file(self, rel).map(OutFile::Tree)
    }
    fn finish_file(&mut self, file: OutFile) -> Result<(), DumpError> {
        match file {
            OutFile::Tree(f) => DumpTree::finish_file(self, f),
            OutFile::Mem { rel, .. } | OutFile::Other { rel, .. } => {
                Err(DumpError::invalid(rel, "not a file of this tree"))
            }
        }
    }
    fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError> {
        DumpTree::ensure_dir(self, rel)
    }
    fn create_staged(&mut self) -> Result<OutFile, DumpError> {
        DumpTree::create_staged(self).map(OutFile::Tree)
    }
    fn close_staged(&mut self, file: OutFile) -> Result<Staged, DumpError> {
        match file {
            OutFile::Tree(f) => DumpTree::close_staged(self, f),
            OutFile::Mem { rel, .. } | OutFile::Other { rel, .. } => {
                Err(DumpError::invalid(rel, "not a file of this tree"))
            }
        }
    }
    fn publish_staged(&mut self, staged: Staged, rel: &str) -> Result<(), DumpError> {
        DumpTree::publish_staged(self, staged, rel)
    }
    fn discard_staged(&mut self, staged: Staged) -> Result<(), DumpError> {
        DumpTree::discard_staged(self, staged)
    }
    fn copy_staged(
        &mut self,
        staged: &Staged,
        offset: u64,
        len: u64,
        out: &mut dyn Write,
    ) -> Result<(), DumpError> {
        DumpTree::copy_staged(self, staged, offset, len, out)
    }
}

/// An in-memory tree: files by relative path, and the directories asked for.
#[derive(Debug, Default)]
pub struct MemTree {
    /// Finished files.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Directories asked for, in order.
    pub dirs: Vec<String>,
    /// Any write whose path contains this fails with an injected I/O error.
    pub fail_on: Option<String>,
    /// Staged files (closed or open), by staged name.
    pub staged: BTreeMap<String, Vec<u8>>,
    /// Staged files created so far (their names).
    pub staged_seq: u64,
}

impl MemTree {
    /// An empty tree.
    pub fn new() -> MemTree {
        MemTree::default()
    }

    /// A file's bytes.
    pub fn file(&self, rel: &str) -> Option<&[u8]> {
        self.files.get(rel).map(Vec::as_slice)
    }

    /// A file's bytes as text (lossy), `""` when absent.
    pub fn text(&self, rel: &str) -> String {
        self.file(rel)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    fn check(&self, rel: &str) -> Result<(), DumpError> {
        super::fs::check_relative(rel)?;
        if self.files.contains_key(rel) {
            return Err(DumpError::io(rel, io::Error::from(io::ErrorKind::AlreadyExists)));
        }
        match &self.fail_on {
            Some(p) if rel.contains(p.as_str()) => {
                Err(DumpError::io(rel, io::Error::other("injected failure")))
            }
            _ => Ok(()),
        }
    }
}

impl TreeOut for MemTree {
    fn write_file(&mut self, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
        self.check(rel)?;
        self.files.insert(rel.to_owned(), bytes.to_vec());
        Ok(())
    }
    fn create_file(&mut self, rel: &str) -> Result<OutFile, DumpError> {
        self.check(rel)?;
        Ok(OutFile::Mem {
            rel: rel.to_owned(),
            buf: Vec::new(),
        })
    }
    fn finish_file(&mut self, file: OutFile) -> Result<(), DumpError> {
        match file {
            OutFile::Mem { rel, buf } => {
                self.files.insert(rel, buf);
                Ok(())
            }
            OutFile::Tree(f) => Err(DumpError::invalid(f.rel(), "not a file of this tree")),
            OutFile::Other { rel, .. } => Err(DumpError::invalid(rel, "not a file of this tree")),
        }
    }
    fn ensure_dir(&mut self, rel: &str) -> Result<(), DumpError> {
        super::fs::check_relative(rel)?;
        self.dirs.push(rel.to_owned());
        Ok(())
    }
    fn create_staged(&mut self) -> Result<OutFile, DumpError> {
        self.staged_seq += 1;
        Ok(OutFile::Mem {
            rel: format!("{}/{}", super::tree::STAGED_DIR, self.staged_seq),
            buf: Vec::new(),
        })
    }
    fn close_staged(&mut self, file: OutFile) -> Result<Staged, DumpError> {
        match file {
            OutFile::Mem { rel, buf } => {
                use sha2::Digest;
                let staged = Staged::new(rel.clone(), buf.len() as u64, sha2::Sha256::digest(&buf).into());
                self.staged.insert(rel, buf);
                Ok(staged)
            }
            OutFile::Tree(f) => Err(DumpError::invalid(f.rel(), "not a file of this tree")),
            OutFile::Other { rel, .. } => Err(DumpError::invalid(rel, "not a file of this tree")),
        }
    }
    fn publish_staged(&mut self, staged: Staged, rel: &str) -> Result<(), DumpError> {
        self.check(rel)?;
        let bytes = self
            .staged
            .remove(&staged.rel)
            .ok_or_else(|| DumpError::invalid(&staged.rel, "unknown staged file"))?;
        self.files.insert(rel.to_owned(), bytes);
        Ok(())
    }
    fn discard_staged(&mut self, staged: Staged) -> Result<(), DumpError> {
        self.staged.remove(&staged.rel);
        Ok(())
    }
    fn copy_staged(
        &mut self,
        staged: &Staged,
        offset: u64,
        len: u64,
        out: &mut dyn Write,
    ) -> Result<(), DumpError> {
        let bytes = self
            .staged
            .get(&staged.rel)
            .ok_or_else(|| DumpError::invalid(&staged.rel, "unknown staged file"))?;
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(offset + len).ok())
            .and_then(|(a, b)| bytes.get(a..b))
            .ok_or_else(|| DumpError::invalid(&staged.rel, "range past the end of the staged file"))?;
        out.write_all(range).map_err(|e| DumpError::io(&staged.rel, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mem_tree_keeps_files_and_refuses_a_second_write_and_injected_paths() {
        let mut t = MemTree::new();
        t.write_file("a/b.bin", b"x").unwrap();
        let mut f = t.create_file("a/c.json").unwrap();
        f.write_all(b"{}").unwrap();
        t.finish_file(f).unwrap();
        t.ensure_dir("a/d").unwrap();
        assert_eq!(t.file("a/b.bin"), Some(&b"x"[..]));
        assert_eq!(t.text("a/c.json"), "{}");
        assert_eq!(t.dirs, ["a/d"]);
        assert!(matches!(t.write_file("a/b.bin", b"y"), Err(DumpError::Io { .. })));
        assert!(t.write_file("../x", b"").is_err());
        t.fail_on = Some("bad".into());
        assert!(matches!(t.create_file("x/bad.json"), Err(DumpError::Io { .. })));
    }
}
