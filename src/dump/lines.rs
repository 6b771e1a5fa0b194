//! A bounded line reader with the semantics of Go's `bufio.Scanner` + `ScanLines` (used by
//! the KEYMAP.jsonl and CHECKSUMS readers, s3_tree_pipeline.md §6 and §8): lines end at
//! `\n`, one trailing `\r` is dropped, a final line without `\n` still counts, and a line
//! that does not fit the buffer limit is an error instead of an allocation.

use std::io::{self, BufRead};

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LineError {
    /// The line (plus its `\n`) is longer than the limit.
    #[error("line longer than the limit")]
    TooLong,
    /// The reader failed.
    #[error(transparent)]
    Io(io::Error),
}

/// Reads lines of at most `max` bytes (including the `\n`) from a buffered reader.
pub(crate) struct Lines<R> {
    reader: R,
    max: usize,
    buf: Vec<u8>,
    /// 1-based number of the line last returned.
    pub(crate) number: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R, max: usize) -> Self {
        Lines {
            reader,
            max,
            buf: Vec::new(),
            number: 0,
        }
    }

    /// The next line (its 1-based number, and its bytes without the `\n` and without one
    /// trailing `\r`), `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, LineError> {
        self.buf.clear();
        let mut terminated = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LineError::Io(e)),
            };
            if chunk.is_empty() {
                break;
            }
            let (take, found) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if self.buf.len() + take + usize::from(found) > self.max {
                return Err(LineError::TooLong);
            }
            self.buf.extend_from_slice(chunk.get(..take).unwrap_or(chunk));
            self.reader.consume(take + usize::from(found));
            if found {
                terminated = true;
                break;
            }
        }
        if !terminated && self.buf.is_empty() {
            return Ok(None);
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some((self.number, &self.buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line, or the error and the 1-based number of the line it concerns.
    fn all(input: &[u8], max: usize) -> Result<Vec<Vec<u8>>, (u64, LineError)> {
        let mut lines = Lines::new(io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        loop {
            match lines.next_line() {
                Ok(Some((_, l))) => out.push(l.to_vec()),
                Ok(None) => return Ok(out),
                Err(e) => return Err((lines.number + 1, e)),
            }
        }
    }

    #[test]
    fn splits_like_scan_lines() {
        assert_eq!(all(b"", 10).unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(all(b"a\n", 10).unwrap(), vec![b"a".to_vec()]);
        assert_eq!(all(b"a\r\nb", 10).unwrap(), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(all(b"a\n\n", 10).unwrap(), vec![b"a".to_vec(), b"".to_vec()]);
        assert_eq!(all(b"\n", 10).unwrap(), vec![b"".to_vec()]);
        assert_eq!(all(b"x\r\r\n", 10).unwrap(), vec![b"x\r".to_vec()]);
    }

    #[test]
    fn enforces_the_limit() {
        // 4 bytes + newline fit in 5; a 5-byte unterminated last line fits too.
        assert_eq!(
            all(b"abcd\nabcde", 5).unwrap(),
            vec![b"abcd".to_vec(), b"abcde".to_vec()]
        );
        assert!(matches!(all(b"ok\nabcde\n", 5), Err((2, LineError::TooLong))));
        assert!(matches!(all(b"abcdefghijkl", 5), Err((1, LineError::TooLong))));
    }
}
