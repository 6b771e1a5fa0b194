//! The values the encoder's sort carries (s3_tree_pipeline.md §11): a record's value is
//! stored inline, or, when it came from an input file ([`RecordSink::add_from_file`]) and
//! is at least [`REFERENCE_MIN`] bytes long, as a reference to the byte range of that file.
//! The sort then holds and spills about a hundred bytes instead of the value (an S3 body
//! chunk is 1 MiB), and [`Resolver`] reads the range again when the record is written,
//! refusing a file whose [`FileStamp`] changed since it was read and checked.
//!
//! ```text
//! inline:    0x00 ‖ value
//! reference: 0x01 ‖ u64le offset ‖ u64le len ‖ stamp (FileStamp::LEN bytes) ‖ path bytes
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
use crate::dump::{DumpError, FileStamp};
use crate::Error;

use super::super::PipelineError;

const INLINE: u8 = 0;
const REFERENCE: u8 = 1;

/// What precedes an inline value.
pub const INLINE_HEADER: [u8; 1] = [INLINE];

/// Bytes of a reference before its path.
const REFERENCE_HEAD: usize = 1 + 8 + 8 + FileStamp::LEN;

/// Append the stored form of a reference to the `len` bytes at `source` to `out`.
pub fn reference(source: &FileRange<'_>, len: u64, out: &mut Vec<u8>) {
    out.push(REFERENCE);
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
/// open (the chunks of one body are consecutive records).
#[derive(Debug, Default)]
pub struct Resolver {
    open: Option<(PathBuf, FileStamp, File)>,
}

impl Resolver {
    /// Set `out` to the framed record value (`pebble::encode_value(0, 0, value)`) of
    /// `stored`.
    pub fn frame(&mut self, stored: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        match stored.split_first() {
            Some((&INLINE, value)) => {
                out.clear();
                pebble::encode_value(0, 0, value, out);
                Ok(())
            }
            Some((&REFERENCE, _)) => self.read_reference(stored, out),
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
            .map_err(|e| Error::from(DumpError::io(path, e)))
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

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        pebble::encode_value(0, 0, body, &mut v);
        v
    }

    fn stored_reference(path: &Path, offset: u64, len: u64) -> Vec<u8> {
        let (_, stamp) = open_input_stamped(path).unwrap();
        let mut s = Vec::new();
        reference(&FileRange { path, offset, stamp }, len, &mut s);
        s
    }

    #[test]
    fn inline_and_referenced_values_frame_as_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut r = Resolver::default();
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
        let err = Resolver::default().frame(&stored, &mut Vec::new()).unwrap_err();
        match err {
            Error::Dump(DumpError::Changed { path: p }) => assert_eq!(p, path),
            other => panic!("expected Changed, got {other:?}"),
        }
        std::fs::remove_file(&path).unwrap();
        let err = Resolver::default().frame(&stored, &mut Vec::new()).unwrap_err();
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
        let mut r = Resolver::default();
        for bad in [&[][..], &[2u8, 1][..], &good[..20], &past_end[..], &huge[..]] {
            let err = r.frame(bad, &mut Vec::new()).unwrap_err();
            assert!(err.to_string().contains("corrupt stored value"), "{err}");
        }
    }
}
