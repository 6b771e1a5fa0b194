//! A buffered reader that can peek N bytes without consuming them, used for every layer of
//! one file (containers.md §1.5 and gotcha 4: the FSM header reader must leave the bytes of
//! a headerless stream in place for the payload reader, so both share this reader).
//!
//! It also counts consumed bytes (so errors can name file offsets) and, when enabled, gives
//! the CRC32C of every consumed byte (the live-file footer, §3.2). The bytes come in blocks
//! from a [`BlockSource`], which checksums each block as it reads it (on a read-ahead thread
//! for [`PeekReader::read_ahead`]); the CRC at the current offset is the checksum before the
//! current block extended over the consumed part of it, computed only when asked.
//!
//! A peek that runs past the end of the current block carries the unconsumed tail into the
//! room in front of the next block's data, so a peek of up to [`PeekReader::capacity`]
//! bytes is one contiguous slice. Bytes a [`PeekReader::take`] consumed stay readable through
//! [`PeekReader::taken`] until the next peek or read, so a caller can lend them without
//! copying.

use std::io::{self, Read};

use super::readahead::{Block, BlockSource};

/// Default peek capacity (256 KiB); blocks of the same size are read.
pub const DEFAULT_BUFFER: usize = 256 * 1024;
/// Block size of a read-ahead reader (256 KiB: blocks stay in cache between the two
/// threads; 1 MiB blocks cost more CPU for the same wall time).
pub const READ_AHEAD_BLOCK: usize = 256 * 1024;
/// Smallest buffer accepted (enough for the largest peek the container layer does).
pub const MIN_BUFFER: usize = 64;

/// Where bytes consumed by [`PeekReader::take`] sit in the current block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Taken {
    block: u64,
    start: usize,
    len: usize,
}

/// Buffered reader with guaranteed `peek(n)` for `n` up to its capacity.
#[derive(Debug)]
pub struct PeekReader<R> {
    source: BlockSource<R>,
    /// The block being read; its carried tail starts before `head`.
    cur: Block,
    /// The block before it (its consumed part is needed for the CRC while the position is
    /// still inside the carried tail).
    prev: Option<Block>,
    /// Next unconsumed byte of `cur.buf`.
    pos: usize,
    /// End of valid data in `cur.buf`.
    end: usize,
    /// The source has no more blocks.
    eof: bool,
    crc_enabled: bool,
    /// Bytes consumed since the start.
    offset: u64,
    /// Blocks made current so far (tells a stale [`Taken`]).
    blocks: u64,
}

impl<R: Read> PeekReader<R> {
    /// A reader with the default capacity and CRC32C tracking enabled, reading on the
    /// caller's thread.
    pub fn new(inner: R) -> Self {
        Self::with_capacity(DEFAULT_BUFFER, inner)
    }

    /// A reader with a peek capacity (and block size) of `capacity` bytes (at least
    /// `MIN_BUFFER`).
    pub fn with_capacity(capacity: usize, inner: R) -> Self {
        let cap = capacity.max(MIN_BUFFER);
        Self::from_source(BlockSource::inline(inner, cap, cap))
    }

    /// A reader whose blocks are read and checksummed ahead by a thread of its own,
    /// with the default peek capacity. What it yields is the same as [`Self::new`]'s. Fails
    /// only if the thread cannot be started.
    pub fn read_ahead(inner: R) -> io::Result<Self>
    where
        R: Send + 'static,
    {
        Self::read_ahead_with(inner, DEFAULT_BUFFER, READ_AHEAD_BLOCK)
    }

    /// [`Self::read_ahead`] with a peek capacity and block size of its own (tests use tiny
    /// blocks to put block boundaries everywhere).
    pub(crate) fn read_ahead_with(inner: R, capacity: usize, block: usize) -> io::Result<Self>
    where
        R: Send + 'static,
    {
        let cap = capacity.max(MIN_BUFFER);
        BlockSource::read_ahead(inner, cap, block.max(cap)).map(Self::from_source)
    }

    fn from_source(source: BlockSource<R>) -> Self {
        PeekReader {
            source,
            cur: Block::default(),
            prev: None,
            pos: 0,
            end: 0,
            eof: false,
            crc_enabled: true,
            offset: 0,
            blocks: 0,
        }
    }

    /// Turn the running CRC32C off (for streams that have no footer).
    pub fn without_crc(mut self) -> Self {
        self.crc_enabled = false;
        self.source.without_crc();
        self
    }

    /// The largest `n` for which `peek(n)` returns `n` bytes before the end of input.
    pub fn capacity(&self) -> usize {
        self.source.head()
    }

    /// Bytes consumed so far: the file offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// CRC32C of every byte consumed so far (0 when tracking is off).
    pub fn crc(&mut self) -> u32 {
        if !self.crc_enabled {
            return 0;
        }
        let head = self.source.head();
        // The position is in the current block's data, or still in the tail carried from
        // the previous one.
        let block = match &self.prev {
            Some(prev) if self.offset < self.cur.off => prev,
            _ => &self.cur,
        };
        let done = usize::try_from(self.offset.saturating_sub(block.off)).unwrap_or(usize::MAX);
        let data = block
            .buf
            .get(head..head + block.len.min(done))
            .unwrap_or_default();
        crc32c::crc32c_append(block.crc_before, data)
    }

    /// The buffered, unconsumed bytes.
    pub fn buffered(&self) -> &[u8] {
        &self.cur.buf[self.pos..self.end]
    }

    /// The wrapped reader, unless a read-ahead thread owns it (bytes already buffered are
    /// lost to it).
    pub fn into_inner(self) -> Option<R> {
        self.source.into_inner()
    }

    /// Make the next block current, carrying the unconsumed bytes (at most the capacity)
    /// in front of its data. `Ok(false)` at the end of input.
    #[cold]
    fn next_block(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let Some(mut next) = self.source.fetch()? else {
            self.eof = true;
            return Ok(false);
        };
        let head = self.source.head();
        let carry = (self.end - self.pos).min(head);
        let start = head - carry;
        next.buf[start..head].copy_from_slice(&self.cur.buf[self.pos..self.pos + carry]);
        self.end = head + next.len;
        self.pos = start;
        self.blocks += 1;
        let old = std::mem::replace(&mut self.cur, next);
        if let Some(stale) = self.prev.replace(old) {
            self.source.recycle(stale.buf);
        }
        Ok(true)
    }

    /// Up to `n` bytes without consuming them. Fewer than `n` only at end of input.
    /// `n` is capped at the capacity. A real I/O error is returned as is; the bytes read
    /// before it stay buffered.
    #[inline]
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.pos < n {
            self.fill_to(n)?;
        }
        let take = n.min(self.end - self.pos);
        Ok(&self.cur.buf[self.pos..self.pos + take])
    }

    #[cold]
    fn fill_to(&mut self, n: usize) -> io::Result<()> {
        let n = n.min(self.source.head());
        while self.end - self.pos < n {
            if !self.next_block()? {
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

    /// Consume `n` buffered bytes (at most what is buffered) and say where they are, for
    /// [`Self::taken`].
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Taken {
        let start = self.pos;
        self.consume(n);
        Taken {
            block: self.blocks,
            start,
            len: self.pos - start,
        }
    }

    /// The bytes of a [`Self::take`], valid until the next peek or read (empty if a block
    /// was read since).
    #[inline]
    pub(crate) fn taken(&self, t: Taken) -> &[u8] {
        self.cur
            .buf
            .get(t.start..t.start + t.len)
            .filter(|_| t.block == self.blocks)
            .unwrap_or_default()
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
            if self.pos == self.end && !self.next_block()? {
                break;
            }
            let avail = self.end - self.pos;
            let take = usize::try_from(len - done).map_or(avail, |r| r.min(avail));
            sink(&self.cur.buf[self.pos..self.pos + take]);
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
    use crate::container::test_io::Chunky;

    fn chunky(data: &[u8], step: usize, fail: bool) -> Chunky {
        Chunky::new(
            data.to_vec(),
            step,
            fail.then_some((io::ErrorKind::Other, "boom")),
        )
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
        assert_eq!(r.into_inner().unwrap().at, 200);
    }
    /// The same checks through an inline and a read-ahead reader of 64-byte blocks.
    fn both(data: &[u8], step: usize) -> [PeekReader<Chunky>; 2] {
        [
            PeekReader::with_capacity(64, chunky(data, step, false)),
            PeekReader::read_ahead_with(chunky(data, step, false), 64, 64).unwrap(),
        ]
    }

    #[test]
    fn a_peek_across_a_block_boundary_is_contiguous_and_the_crc_follows_the_carried_tail() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 13 + 1) as u8).collect();
        for mut r in both(&data, 5) {
            assert_eq!(r.capacity(), 64);
            r.peek(1).unwrap();
            r.consume(60);
            // 4 bytes left in the first block: the peek carries them in front of the next.
            assert_eq!(r.peek(10).unwrap(), &data[60..70]);
            assert_eq!(r.crc(), crc32c::crc32c(&data[..60]), "inside the carried tail");
            r.consume(2);
            assert_eq!(r.crc(), crc32c::crc32c(&data[..62]), "still inside it");
            r.consume(6);
            assert_eq!(r.crc(), crc32c::crc32c(&data[..68]), "past it");
            assert_eq!(r.peek(64).unwrap(), &data[68..132], "a full-capacity peek");
            let t = r.take(64);
            assert_eq!(r.taken(t), &data[68..132], "taken bytes stay readable");
            assert_eq!(r.peek(50).unwrap(), &data[132..182]);
            assert_eq!(r.taken(t), &data[68..132], "until a block is read");
            assert_eq!(r.peek(100).unwrap(), &data[132..232], "at least the capacity");
            assert_eq!(r.taken(t), b"", "a stale take lends nothing");
            r.consume(63);
            assert_eq!(r.offset(), 195);
            assert_eq!(r.crc(), crc32c::crc32c(&data[..195]));
            assert_eq!(r.drain().unwrap(), 805);
            assert_eq!(r.crc(), crc32c::crc32c(&data));
            assert_eq!(r.peek(8).unwrap(), b"");
        }
    }

    #[test]
    fn a_read_ahead_reader_reads_what_an_inline_one_reads() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
        let [mut a, mut b] = both(&data, 13);
        let mut big = PeekReader::read_ahead(chunky(&data, 13, false)).unwrap();
        let (mut va, mut vb, mut vc) = (Vec::new(), Vec::new(), Vec::new());
        let mut n = 1;
        while a.offset() < 4000 {
            for (r, v) in [(&mut a, &mut va), (&mut b, &mut vb), (&mut big, &mut vc)] {
                v.extend_from_slice(r.peek(n % 70).unwrap());
                r.consume(n % 5);
                r.read_into(v, (n * 3) as u64 % 100).unwrap();
            }
            assert_eq!(a.offset(), b.offset());
            assert_eq!(a.offset(), big.offset());
            assert_eq!(a.crc(), b.crc());
            assert_eq!(a.crc(), big.crc());
            n += 1;
        }
        assert_eq!(va, vb);
        assert_eq!(va, vc);
        assert_eq!(a.crc(), crc32c::crc32c(&data[..a.offset() as usize]));
    }

    #[test]
    fn a_read_ahead_error_keeps_bytes_buffered_and_repeats() {
        let mut r = PeekReader::read_ahead_with(chunky(b"EKV", 1, true), 64, 64).unwrap();
        let e = r.peek(8).unwrap_err();
        assert_eq!(e.to_string(), "boom");
        assert_eq!(r.buffered(), b"EKV");
        assert_eq!(r.offset(), 0);
        assert_eq!(r.peek(8).unwrap_err().to_string(), "boom");
        assert!(r.into_inner().is_none(), "the thread owns the reader");
    }
}
