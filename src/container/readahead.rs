//! Where [`PeekReader`](super::PeekReader) gets its bytes: whole blocks read from the file,
//! each with the running CRC32C of every byte before it (the live-file footer, containers.md
//! §3.2), either on the caller's thread ([`BlockSource::inline`]) or by a read-ahead thread
//! ([`BlockSource::read_ahead`]) that reads and checksums the next blocks while the caller
//! walks the entries of the current one.
//!
//! A block is a buffer of `head + block` bytes: the data is read into `[head, head + len)`,
//! and the `head` bytes in front are room for the reader to carry the unconsumed tail of
//! the previous block, so that a peek of up to `head` bytes is always contiguous. A block is
//! filled completely unless the input ends or fails: a short block is the last one.
//!
//! Both sources hand out the same blocks in the same order, so what the reader yields, and
//! every error and offset it reports, does not depend on which one is used. An I/O error is
//! delivered after the bytes read before it; from then on every fetch fails again with the
//! same kind and message (the input is not read again).

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

/// Blocks queued ahead of the reader by the read-ahead thread. The thread sleeps when the
/// queue is full and is woken only once it is down to half: a thread switch costs tens of
/// microseconds on a busy VM, so it should happen once per several blocks, not per block.
const QUEUED_BLOCKS: usize = 8;

/// One block of the input.
#[derive(Debug, Default)]
pub(crate) struct Block {
    /// `head` bytes of room, then the data.
    pub buf: Vec<u8>,
    /// Data bytes, at `buf[head..head + len]`.
    pub len: usize,
    /// File offset of the first data byte.
    pub off: u64,
    /// CRC32C of every byte before `off` (0 when checksums are off).
    pub crc_before: u32,
}

/// Reads blocks from `R` in order, keeping the running CRC32C.
#[derive(Debug)]
struct Filler<R> {
    inner: R,
    head: usize,
    block: usize,
    crc_on: bool,
    crc: u32,
    off: u64,
    /// The input ended (a short block was handed out, or 0 bytes were read).
    done: bool,
    /// An error met after some bytes of a block, returned by the next fetch.
    pending: Option<io::Error>,
    /// A buffer handed back, for reuse.
    spare: Option<Vec<u8>>,
}

impl<R: Read> Filler<R> {
    fn new(inner: R, head: usize, block: usize, crc_on: bool) -> Self {
        Filler {
            inner,
            head,
            block,
            crc_on,
            crc: 0,
            off: 0,
            done: false,
            pending: None,
            spare: None,
        }
    }

    /// The next block, `Ok(None)` at the end of input.
    fn fetch(&mut self) -> io::Result<Option<Block>> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if self.done {
            return Ok(None);
        }
        let size = self.head + self.block;
        let mut buf = match self.spare.take() {
            Some(b) if b.len() == size => b,
            _ => vec![0u8; size],
        };
        let mut len = 0;
        let data = &mut buf[self.head..];
        while len < data.len() {
            match self.inner.read(&mut data[len..]) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(n) => len += n.min(data.len() - len),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if len == 0 => return Err(e),
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        if len == 0 {
            self.spare = Some(buf);
            return Ok(None);
        }
        let crc_before = self.crc;
        if self.crc_on {
            self.crc = crc32c::crc32c_append(self.crc, &buf[self.head..self.head + len]);
        }
        let off = self.off;
        self.off += len as u64;
        Ok(Some(Block {
            buf,
            len,
            off,
            crc_before,
        }))
    }
}

type Fetched = io::Result<Option<Block>>;

/// The consumer's end of a read-ahead thread.
#[derive(Debug)]
struct ReadAhead {
    blocks: Arc<Handoff>,
    spares: Sender<Vec<u8>>,
}

/// The queue from the read-ahead thread to the reader (see [`QUEUED_BLOCKS`]).
#[derive(Debug, Default)]
struct Handoff {
    state: Mutex<Queue>,
    /// Signalled when the reader may pop (a block arrived, or the queue closed).
    filled: Condvar,
    /// Signalled when the thread may push again (the queue is down to half, or closed).
    drained: Condvar,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Fetched>,
    reader_waits: bool,
    thread_waits: bool,
    /// The thread ended (its last item is queued) or the reader was dropped.
    closed: bool,
}

impl Handoff {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue `item`, waiting while the queue is full; `false` if the queue is closed.
    fn push(&self, item: Fetched) -> bool {
        let mut q = self.lock();
        while q.items.len() >= QUEUED_BLOCKS && !q.closed {
            q.thread_waits = true;
            q = self.drained.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        if q.closed {
            return false;
        }
        q.items.push_back(item);
        if q.reader_waits {
            q.reader_waits = false;
            self.filled.notify_one();
        }
        true
    }

    /// The next item, waiting while there is none; `None` once the queue is closed and
    /// empty.
    fn pop(&self) -> Option<Fetched> {
        let mut q = self.lock();
        loop {
            if let Some(item) = q.items.pop_front() {
                if q.thread_waits && q.items.len() <= QUEUED_BLOCKS / 2 {
                    q.thread_waits = false;
                    self.drained.notify_one();
                }
                return Some(item);
            }
            if q.closed {
                return None;
            }
            q.reader_waits = true;
            q = self.filled.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// No more pushes (the thread ended) or pops (the reader is gone): wake whoever waits.
    fn close(&self) {
        let mut q = self.lock();
        q.closed = true;
        self.filled.notify_all();
        self.drained.notify_all();
    }
}

/// Closes the queue when dropped.
struct CloseOnDrop(Arc<Handoff>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.blocks.close();
    }
}

#[derive(Debug)]
enum Kind<R> {
    Inline(Filler<R>),
    Ahead(ReadAhead),
}

/// Blocks of one input, read on this thread or ahead by another (see the module docs).
#[derive(Debug)]
pub(crate) struct BlockSource<R> {
    kind: Kind<R>,
    head: usize,
    /// Kind and message of the I/O error that ended the input, replayed by later fetches.
    failed: Option<(io::ErrorKind, String)>,
}

impl<R: Read> BlockSource<R> {
    /// Blocks read on the caller's thread, when asked for.
    pub fn inline(inner: R, head: usize, block: usize) -> Self {
        BlockSource {
            kind: Kind::Inline(Filler::new(inner, head, block.max(head), true)),
            head,
            failed: None,
        }
    }

    /// Blocks read and checksummed ahead by a thread of their own. Fails only if the thread
    /// cannot be started.
    pub fn read_ahead(inner: R, head: usize, block: usize) -> io::Result<Self>
    where
        R: Send + 'static,
    {
        let blocks = Arc::new(Handoff::default());
        let to_reader = Arc::clone(&blocks);
        let (spares, from_reader) = channel::<Vec<u8>>();
        let mut filler = Filler::new(inner, head, block.max(head), true);
        thread::Builder::new()
            .name("ekv-read-ahead".into())
            .spawn(move || {
                // Closes the queue when the thread ends, even by a panic.
                let queue = CloseOnDrop(to_reader);
                loop {
                    if filler.spare.is_none() {
                        filler.spare = from_reader.try_recv().ok();
                    }
                    let fetched = filler.fetch();
                    let last = !matches!(fetched, Ok(Some(_)));
                    // A closed queue means the reader is gone: stop.
                    if !queue.0.push(fetched) || last {
                        break;
                    }
                }
            })?;
        Ok(BlockSource {
            kind: Kind::Ahead(ReadAhead { blocks, spares }),
            head,
            failed: None,
        })
    }

    /// The room in front of each block's data: the largest contiguous peek.
    pub fn head(&self) -> usize {
        self.head
    }

    /// Turn the running CRC32C off. Only before the first fetch of an inline source (a
    /// read-ahead source always checksums).
    pub fn without_crc(&mut self) {
        if let Kind::Inline(f) = &mut self.kind {
            if f.off == 0 {
                f.crc_on = false;
            }
        }
    }

    /// The next block, `Ok(None)` at the end of input.
    pub fn fetch(&mut self) -> io::Result<Option<Block>> {
        if let Some((kind, msg)) = &self.failed {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        let fetched = match &mut self.kind {
            Kind::Inline(f) => f.fetch(),
            Kind::Ahead(a) => a
                .blocks
                .pop()
                .unwrap_or_else(|| Err(io::Error::other("the read-ahead thread stopped unexpectedly"))),
        };
        if let Err(e) = &fetched {
            self.failed = Some((e.kind(), e.to_string()));
        }
        fetched
    }

    /// Hand back a block's buffer for reuse.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        match &mut self.kind {
            Kind::Inline(f) => f.spare = Some(buf),
            Kind::Ahead(a) => {
                // The thread may have ended (end of input): the buffer is then dropped.
                let _ = a.spares.send(buf);
            }
        }
    }

    /// The inner reader of an inline source (a read-ahead thread owns its reader).
    pub fn into_inner(self) -> Option<R> {
        match self.kind {
            Kind::Inline(f) => Some(f.inner),
            Kind::Ahead(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::test_io::Chunky;

    fn chunky(len: usize, step: usize, fail: bool) -> Chunky {
        Chunky::new(
            (0..len).map(|i| (i * 31 + 7) as u8).collect(),
            step,
            fail.then_some((io::ErrorKind::ConnectionReset, "disk gone")),
        )
    }

    /// Every block (offset, crc before, data) up to the end, then the error if any.
    type Drained = (Vec<(u64, u32, Vec<u8>)>, Option<(io::ErrorKind, String)>);

    fn drain<R: Read>(src: &mut BlockSource<R>, head: usize) -> Drained {
        let mut blocks = Vec::new();
        loop {
            match src.fetch() {
                Ok(Some(b)) => {
                    blocks.push((b.off, b.crc_before, b.buf[head..head + b.len].to_vec()));
                    src.recycle(b.buf);
                }
                Ok(None) => return (blocks, None),
                Err(e) => return (blocks, Some((e.kind(), e.to_string()))),
            }
        }
    }

    #[test]
    fn inline_and_read_ahead_hand_out_the_same_full_blocks() {
        for len in [0, 1, 63, 64, 65, 200, 1000] {
            for step in [1, 7, 64, 4096] {
                let want = chunky(len, 1, false).data;
                let mut inline = BlockSource::inline(chunky(len, step, false), 16, 64);
                let mut ahead = BlockSource::read_ahead(chunky(len, step, false), 16, 64).unwrap();
                let a = drain(&mut inline, 16);
                let b = drain(&mut ahead, 16);
                assert_eq!(a, b, "len {len} step {step}");
                assert_eq!(a.1, None);
                let mut joined = Vec::new();
                for (i, (off, crc, data)) in a.0.iter().enumerate() {
                    assert_eq!(*off, joined.len() as u64);
                    assert_eq!(*crc, crc32c::crc32c(&joined), "crc before block {i}");
                    assert!(data.len() == 64 || i + 1 == a.0.len(), "only the last is short");
                    joined.extend_from_slice(data);
                }
                assert_eq!(joined, want);
                // The end is sticky.
                assert!(inline.fetch().unwrap().is_none());
            }
        }
    }

    #[test]
    fn an_error_follows_the_bytes_read_before_it_and_is_replayed() {
        for len in [0, 10, 64, 100] {
            let mut inline = BlockSource::inline(chunky(len, 3, true), 8, 64);
            let mut ahead = BlockSource::read_ahead(chunky(len, 3, true), 8, 64).unwrap();
            let a = drain(&mut inline, 8);
            let b = drain(&mut ahead, 8);
            assert_eq!(a, b, "len {len}");
            let bytes: usize = a.0.iter().map(|(_, _, d)| d.len()).sum();
            assert_eq!(bytes, len, "every byte before the error is delivered");
            assert_eq!(
                a.1,
                Some((io::ErrorKind::ConnectionReset, "disk gone".to_string()))
            );
            for e in [inline.fetch().unwrap_err(), ahead.fetch().unwrap_err()] {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
                assert_eq!(e.to_string(), "disk gone", "replayed with the same message");
            }
        }
    }

    #[test]
    fn crc_can_be_turned_off_before_the_first_block() {
        let mut src = BlockSource::inline(chunky(100, 100, false), 8, 64);
        src.without_crc();
        let (blocks, _) = drain(&mut src, 8);
        assert!(blocks.iter().all(|(_, crc, _)| *crc == 0));
        assert_eq!(src.into_inner().map(|c| c.at), Some(100));
    }
    /// Sets a flag when dropped (the read-ahead thread drops its reader when it ends).
    struct Flagged(Chunky, Arc<std::sync::atomic::AtomicBool>);

    impl Read for Flagged {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.0.read(out)
        }
    }

    impl Drop for Flagged {
        fn drop(&mut self) {
            self.1.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn dropping_the_reader_ends_a_thread_waiting_on_a_full_queue() {
        let ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut src =
            BlockSource::read_ahead(Flagged(chunky(100_000, 64, false), Arc::clone(&ended)), 8, 64).unwrap();
        assert!(src.fetch().unwrap().is_some());
        // Let the thread fill the queue and wait on it.
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(src);
        let start = std::time::Instant::now();
        while !ended.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(start.elapsed().as_secs() < 10, "the thread did not end");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
