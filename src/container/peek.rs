//! A buffered reader that can peek N bytes without consuming them, used for every layer of
//! one file (containers.md §1.5 and gotcha 4: the FSM header reader must leave the bytes of
//! a headerless stream in place for the payload reader, so both share this reader).
//!
//! It also counts consumed bytes (so errors can name file offsets) and, when enabled, keeps
//! a running CRC32C of every consumed byte (the live-file footer, §3.2). The CRC is folded
//! lazily over whole buffer spans, so small field reads cost nothing extra.

use std::io::{self, Read};

/// Default buffer size (256 KiB).
pub const DEFAULT_BUFFER: usize = 256 * 1024;
/// Smallest buffer accepted (enough for the largest peek the container layer does).
pub const MIN_BUFFER: usize = 64;

/// Buffered reader with guaranteed `peek(n)` for `n` up to the buffer size.
#[derive(Debug)]
pub struct PeekReader<R> {
    inner: R,
    buf: Box<[u8]>,
    /// Next unconsumed byte.
    pos: usize,
    /// End of valid data.
    end: usize,
    /// Start of the consumed bytes not yet folded into `crc`.
    crc_pos: usize,
    crc: u32,
    crc_enabled: bool,
    /// Bytes consumed since the start.
    offset: u64,
}

impl<R: Read> PeekReader<R> {
    /// A reader with the default buffer and CRC32C tracking enabled.
    pub fn new(inner: R) -> Self {
        Self::with_capacity(DEFAULT_BUFFER, inner)
    }

    /// A reader with a buffer of `capacity` bytes (at least `MIN_BUFFER`).
    pub fn with_capacity(capacity: usize, inner: R) -> Self {
        PeekReader {
            inner,
            buf: vec![0u8; capacity.max(MIN_BUFFER)].into_boxed_slice(),
            pos: 0,
            end: 0,
            crc_pos: 0,
            crc: 0,
            crc_enabled: true,
            offset: 0,
        }
    }

    /// Turn the running CRC32C off (for streams that have no footer).
    pub fn without_crc(mut self) -> Self {
        self.crc_enabled = false;
        self
    }

    /// Bytes consumed so far: the file offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// CRC32C of every byte consumed so far (0 when tracking is off).
    pub fn crc(&mut self) -> u32 {
        self.fold_crc();
        self.crc
    }

    /// The buffered, unconsumed bytes.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// The wrapped reader (bytes already buffered are lost to it).
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn fold_crc(&mut self) {
        if self.crc_pos < self.pos {
            if self.crc_enabled {
                self.crc = crc32c::crc32c_append(self.crc, &self.buf[self.crc_pos..self.pos]);
            }
            self.crc_pos = self.pos;
        }
    }

    /// Move the unconsumed bytes to the front of the buffer.
    fn compact(&mut self) {
        self.fold_crc();
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
            self.crc_pos = 0;
        }
    }

    /// Read once from the inner reader into the free space. Returns the bytes read (0 at EOF).
    fn read_more(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() {
            self.compact();
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Up to `n` bytes without consuming them. Fewer than `n` only at end of input.
    /// `n` is capped at the buffer size. A real I/O error is returned as is; the bytes read
    /// before it stay buffered.
    #[inline]
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.pos < n {
            self.fill_to(n)?;
        }
        let take = n.min(self.end - self.pos);
        Ok(&self.buf[self.pos..self.pos + take])
    }

    #[cold]
    fn fill_to(&mut self, n: usize) -> io::Result<()> {
        let n = n.min(self.buf.len());
        if self.buf.len() - self.pos < n {
            self.compact();
        }
        while self.end - self.pos < n {
            if self.read_more()? == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Consume `n` buffered bytes (at most what is buffered).
    #[inline]
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.pos);
        self.pos += n;
        self.offset += n as u64;
    }

    /// Append up to `len` bytes to `out`, growing it only as data actually arrives (a huge
    /// `len` on a short input never allocates more than the input holds). Returns the
    /// number of bytes appended: fewer than `len` only at end of input.
    pub fn read_into(&mut self, out: &mut Vec<u8>, len: u64) -> io::Result<u64> {
        self.consume_upto(len, |chunk| out.extend_from_slice(chunk))
    }

    /// Consume and discard up to `len` bytes; returns how many were skipped.
    pub fn skip(&mut self, len: u64) -> io::Result<u64> {
        self.consume_upto(len, |_| {})
    }

    /// Consume up to `len` bytes, handing each buffered chunk to `sink` before it is
    /// consumed; fewer than `len` only at end of input.
    pub fn consume_upto(&mut self, len: u64, mut sink: impl FnMut(&[u8])) -> io::Result<u64> {
        let mut done = 0u64;
        while done < len {
            if self.pos == self.end && self.read_more()? == 0 {
                break;
            }
            let avail = self.end - self.pos;
            let take = usize::try_from(len - done).map_or(avail, |r| r.min(avail));
            sink(&self.buf[self.pos..self.pos + take]);
            self.consume(take);
            done += take as u64;
        }
        Ok(done)
    }

    /// Consume everything up to the end of input; returns the number of bytes.
    pub fn drain(&mut self) -> io::Result<u64> {
        self.skip(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields its data in chunks of `step` bytes, then an error or EOF.
    struct Chunky {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail: bool,
    }

    impl Read for Chunky {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                if self.fail {
                    return Err(io::Error::other("boom"));
                }
                return Ok(0);
            }
            let n = self.step.min(out.len()).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn chunky(data: &[u8], step: usize, fail: bool) -> Chunky {
        Chunky {
            data: data.to_vec(),
            at: 0,
            step,
            fail,
        }
    }

    #[test]
    fn peek_gathers_across_short_reads_and_does_not_consume() {
        let mut r = PeekReader::with_capacity(64, chunky(b"0123456789", 1, false));
        assert_eq!(r.peek(8).unwrap(), b"01234567");
        assert_eq!(r.offset(), 0);
        assert_eq!(r.peek(3).unwrap(), b"012");
        r.consume(4);
        assert_eq!(r.offset(), 4);
        assert_eq!(r.peek(8).unwrap(), b"456789");
        let mut v = Vec::new();
        assert_eq!(r.read_into(&mut v, 100).unwrap(), 6);
        assert_eq!(v, b"456789");
        assert_eq!(r.peek(8).unwrap(), b"");
    }

    #[test]
    fn peek_error_keeps_bytes_buffered() {
        let mut r = PeekReader::new(chunky(b"EKV", 1, true));
        assert!(r.peek(8).is_err());
        assert_eq!(r.buffered(), b"EKV");
        assert_eq!(r.offset(), 0);
    }

    #[test]
    fn crc_covers_consumed_bytes_across_compactions() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut r = PeekReader::with_capacity(64, chunky(&data, 13, false));
        let mut v = Vec::new();
        let mut total = 0;
        while total < 4000 {
            r.peek(8).unwrap();
            r.consume(5);
            total += 5;
            v.clear();
            total += r.read_into(&mut v, 37).unwrap() as usize;
        }
        assert_eq!(r.offset(), total as u64);
        assert_eq!(r.crc(), crc32c::crc32c(&data[..total]));
        assert_eq!(r.drain().unwrap(), (data.len() - total) as u64);
        assert_eq!(r.crc(), crc32c::crc32c(&data));
    }

    #[test]
    fn without_crc_reports_zero() {
        let mut r = PeekReader::new(&b"abc"[..]).without_crc();
        r.drain().unwrap();
        assert_eq!(r.crc(), 0);
        assert_eq!(r.offset(), 3);
    }

    #[test]
    fn skip_stops_at_eof() {
        let mut r = PeekReader::with_capacity(64, chunky(&[1u8; 200], 50, false));
        assert_eq!(r.skip(150).unwrap(), 150);
        assert_eq!(r.skip(u64::MAX).unwrap(), 50);
        assert_eq!(r.offset(), 200);
        assert_eq!(r.into_inner().at, 200);
    }
}
