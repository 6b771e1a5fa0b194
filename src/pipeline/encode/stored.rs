//! The values the encoder's sort carries (s3_tree_pipeline.md §11): a record's value is
//! stored inline, or, when it came from an input file ([`RecordSink::add_from_file`]) and
//! is at least [`REFERENCE_MIN`] bytes long, as a reference to the byte range of that file.
//! The sort then holds and spills about a hundred bytes instead of the value (an S3 body
//! chunk is 1 MiB), and [`Resolver`] reads the range again when the record is written,
//! refusing a file whose [`FileStamp`] changed since it was read and checked. A range of a
//! file the encoder did not read ([`FileRange::check_file`]) is a checked reference: its
//! bytes, as the resolver reads them, go to a [`RangeCheck`] (the file against CHECKSUMS).
//!
//! ```text
//! inline:    0x00 ‖ value
//! reference: 0x01 ‖ u64le offset ‖ u64le len ‖ stamp (FileStamp::LEN bytes) ‖ path bytes
//! checked:   0x02 ‖ the same fields
//! ```
//!
//! A stored value that does not parse (a corrupt scratch file) is an `InvalidData` error;
//! a reference is checked against the file's current stamp before its length sizes a buffer.
//!
//! [`RecordSink::add_from_file`]: crate::adapters::RecordSink::add_from_file
//! [`REFERENCE_MIN`]: crate::adapters::REFERENCE_MIN

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::adapters::FileRange;
use crate::container::pebble;
use crate::dump::fs::open_unchanged;
use crate::dump::{DumpError, FileStamp, RangeCheck, TreeReader};
use crate::Error;

use super::super::PipelineError;

const INLINE: u8 = 0;
const REFERENCE: u8 = 1;
const CHECKED: u8 = 2;

/// What precedes an inline value.
pub const INLINE_HEADER: [u8; 1] = [INLINE];

/// Bytes of a reference before its path.
const REFERENCE_HEAD: usize = 1 + 8 + 8 + FileStamp::LEN;

/// Append the stored form of a reference to the `len` bytes at `source` to `out`.
pub fn reference(source: &FileRange<'_>, len: u64, out: &mut Vec<u8>) {
    out.push(if source.check_file { CHECKED } else { REFERENCE });
    out.extend_from_slice(&source.offset.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&source.stamp.to_bytes());
    out.extend_from_slice(source.path.as_os_str().as_bytes());
}

fn corrupt() -> Error {
    PipelineError::io(
        "sort spill file",
        io::Error::new(io::ErrorKind::InvalidData, "corrupt stored value"),
    )
    .into()
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    u64::from_le_bytes(a)
}

/// Turns stored values back into record values, keeping the file of the last reference
/// open (the chunks of one body are consecutive records), checking the files of checked
/// references against CHECKSUMS.
#[derive(Debug)]
pub struct Resolver {
    open: Option<(PathBuf, FileStamp, File)>,
    check: RangeCheck,
}

impl Resolver {
    /// A resolver checking files against `reader`'s CHECKSUMS.
    pub fn new(reader: TreeReader) -> Resolver {
        Resolver {
            open: None,
            check: RangeCheck::new(reader),
        }
    }

    /// After the last record: check the files whose ranges did not come in order.
    pub fn finish(self) -> Result<(), Error> {
        Ok(self.check.finish()?)
    }

    /// Set `out` to the framed record value (`pebble::encode_value(0, 0, value)`) of
    /// `stored`.
    pub fn frame(&mut self, stored: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        match stored.split_first() {
            Some((&INLINE, value)) => {
                out.clear();
                pebble::encode_value(0, 0, value, out);
                Ok(())
            }
            Some((&(REFERENCE | CHECKED), _)) => self.read_reference(stored, out),
            _ => Err(corrupt()),
        }
    }

    fn read_reference(&mut self, stored: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        let head = stored.get(..REFERENCE_HEAD).ok_or_else(corrupt)?;
        let offset = le_u64(&head[1..9]);
        let len = le_u64(&head[9..17]);
        let mut stamp = [0u8; FileStamp::LEN];
        stamp.copy_from_slice(&head[17..]);
        let stamp = FileStamp::from_bytes(&stamp);
        let path = Path::new(OsStr::from_bytes(&stored[REFERENCE_HEAD..]));
        let file = self.file(path, stamp)?;
        // The file is the one read (same stamp, so same size): the range bounds the buffer.
        if !stamp.holds(offset, len) || len + 9 > pebble::MAX_ENCODED_VALUE_LEN {
            return Err(corrupt());
        }
        let total = usize::try_from(len + 9).map_err(|_| corrupt())?;
        // Reused across records: only growth is zero-filled.
        if out.len() < total {
            out.resize(total, 0);
        } else {
            out.truncate(total);
        }
        let (prefix, body) = out.split_at_mut(9);
        prefix.fill(0);
        file.read_exact_at(body, offset)
            .map_err(|e| Error::from(DumpError::io(path, e)))?;
        if head[0] == CHECKED {
            self.check.update(path, &stamp, offset, body)?;
        }
        Ok(())
    }

    /// The open file at `path`, checked to still have `stamp`.
    fn file(&mut self, path: &Path, stamp: FileStamp) -> Result<&File, Error> {
        let cached = matches!(&self.open, Some((p, s, _)) if p == path && *s == stamp);
        if !cached {
            self.open = None;
            let file = open_unchanged(path, &stamp)?;
            self.open = Some((path.to_path_buf(), stamp, file));
        }
        match &self.open {
            Some((_, _, file)) => Ok(file),
            None => Err(corrupt()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dump::fs::open_input_stamped;
    use sha2::{Digest, Sha256};

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        pebble::encode_value(0, 0, body, &mut v);
        v
    }

    fn stored(path: &Path, offset: u64, len: u64, check_file: bool) -> Vec<u8> {
        let (_, stamp) = open_input_stamped(path).unwrap();
        let mut s = Vec::new();
        let source = FileRange {
            path,
            offset,
            stamp,
            check_file,
        };
        reference(&source, len, &mut s);
        s
    }

    fn stored_reference(path: &Path, offset: u64, len: u64) -> Vec<u8> {
        stored(path, offset, len, false)
    }

    fn unverified(root: &Path) -> Resolver {
        Resolver::new(TreeReader::unverified(root))
    }

    /// Files `a` (`0123456789`) and `b` (`abcdef`) under `root`, and a resolver checking
    /// them against a CHECKSUMS listing `a_listed` and `b_listed` as their bytes.
    fn two_files(root: &Path, a_listed: &[u8], b_listed: &[u8]) -> Resolver {
        std::fs::write(root.join("a"), b"0123456789").unwrap();
        std::fs::write(root.join("b"), b"abcdef").unwrap();
        let mut list = Vec::new();
        for (rel, bytes) in [("a", a_listed), ("b", b_listed)] {
            list.extend(crate::dump::checksums::line(rel, &Sha256::digest(bytes).into()));
        }
        std::fs::write(root.join("CHECKSUMS"), list).unwrap();
        Resolver::new(TreeReader::new(root, true, root).unwrap().0)
    }

    fn checksum_error_path(err: Error) -> PathBuf {
        match err {
            Error::Dump(DumpError::Checksum { path, what }) => {
                assert!(what.starts_with("expected "), "{what}");
                path
            }
            other => panic!("expected a checksum mismatch, got {other:?}"),
        }
    }

    #[test]
    fn a_file_read_in_order_in_checked_ranges_is_checked_at_its_last_byte() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut r = two_files(root, b"0123456789", b"abcdeX");
        let (a, b) = (root.join("a"), root.join("b"));
        let mut out = Vec::new();
        r.frame(&stored(&a, 0, 4, true), &mut out).unwrap();
        assert_eq!(out, framed(b"0123"));
        r.frame(&stored(&a, 4, 6, true), &mut out).unwrap();
        r.frame(&stored(&b, 0, 3, true), &mut out).unwrap();
        // The mismatch shows with the last range of `b`, naming it.
        let err = r.frame(&stored(&b, 3, 3, true), &mut out).unwrap_err();
        assert_eq!(checksum_error_path(err), b);
        // Plain references are not checked.
        let mut r = two_files(root, b"0123456789", b"abcdeX");
        r.frame(&stored_reference(&b, 0, 6), &mut out).unwrap();
        r.finish().unwrap();
        // Unverified, nothing is.
        let mut r = unverified(root);
        r.frame(&stored(&b, 0, 6, true), &mut out).unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn a_file_whose_checked_ranges_come_out_of_order_is_read_whole_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (a, b) = (root.join("a"), root.join("b"));
        let mut out = Vec::new();
        // Interleaved, then a file starting past 0: both checked by `finish`.
        for (a_listed, b_listed, bad) in [
            (&b"0123456789"[..], &b"abcdef"[..], None),
            (b"0123456789", b"abcdeX", Some(&b)),
            (b"012345678X", b"abcdef", Some(&a)),
        ] {
            let mut r = two_files(root, a_listed, b_listed);
            r.frame(&stored(&a, 0, 5, true), &mut out).unwrap();
            r.frame(&stored(&b, 3, 3, true), &mut out).unwrap();
            r.frame(&stored(&a, 5, 5, true), &mut out).unwrap();
            r.frame(&stored(&b, 0, 3, true), &mut out).unwrap();
            match (r.finish(), bad) {
                (Ok(()), None) => {}
                (Err(e), Some(bad)) => assert_eq!(&checksum_error_path(e), bad),
                (got, _) => panic!("{got:?} for {bad:?}"),
            }
        }
        // A file left unfinished is checked whole too, and refused if changed meanwhile.
        let mut r = two_files(root, b"0123456789", b"abcdef");
        r.frame(&stored(&a, 0, 5, true), &mut out).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&a, b"0123").unwrap();
        match r.finish() {
            Err(Error::Dump(DumpError::Changed { path })) => assert_eq!(path, a),
            other => panic!("expected Changed, got {other:?}"),
        }
    }

    #[test]
    fn inline_and_referenced_values_frame_as_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut r = unverified(dir.path());
        let mut out = vec![7u8; 50];
        r.frame(&[&INLINE_HEADER[..], b"abc"].concat(), &mut out).unwrap();
        assert_eq!(out, framed(b"abc"));
        r.frame(&stored_reference(&path, 2, 5), &mut out).unwrap();
        assert_eq!(out, framed(b"23456"));
        r.frame(&stored_reference(&path, 0, 10), &mut out).unwrap();
        assert_eq!(out, framed(b"0123456789"));
        r.frame(&stored_reference(&path, 10, 0), &mut out).unwrap();
        assert_eq!(out, framed(b""));
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body");
        std::fs::write(&path, b"0123456789").unwrap();
        let stored = stored_reference(&path, 0, 4);
        // Same size, new bytes: the change time moves (and the inode, for a replacement).
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"abcdefghij").unwrap();
        let err = unverified(dir.path())
            .frame(&stored, &mut Vec::new())
            .unwrap_err();
        match err {
            Error::Dump(DumpError::Changed { path: p }) => assert_eq!(p, path),
            other => panic!("expected Changed, got {other:?}"),
        }
        std::fs::remove_file(&path).unwrap();
        let err = unverified(dir.path())
            .frame(&stored, &mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("body"), "{err}");
    }

    #[test]
    fn corrupt_stored_values_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body");
        std::fs::write(&path, b"0123456789").unwrap();
        let good = stored_reference(&path, 0, 4);
        let past_end = stored_reference(&path, 8, 4);
        let huge = stored_reference(&path, u64::MAX, 1);
        let mut r = unverified(dir.path());
        for bad in [
            &[][..],
            &[2u8, 1][..],
            &[3u8, 1][..],
            &good[..20],
            &past_end[..],
            &huge[..],
        ] {
            let err = r.frame(bad, &mut Vec::new()).unwrap_err();
            assert!(err.to_string().contains("corrupt stored value"), "{err}");
        }
    }
}
