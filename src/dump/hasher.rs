//! The SHA-256 of a file being streamed into the tree (the digest of its `CHECKSUMS` line,
//! s3_tree_pipeline.md §8), taken off the writing thread for large files.
//!
//! A [`BodyHasher`] hashes on the caller's thread until [`ASYNC_AFTER`] bytes; from then on
//! the hash state moves to a thread of its own and the bytes follow it in pieces of at most
//! [`PIECE`] bytes through a queue of [`QUEUED_PIECES`], so the writer goes on writing while
//! the previous megabytes are hashed (SHA-256 runs at about 1.5 GB/s with SHA-NI, slower
//! than a tmpfs write). Hashed pieces come back for reuse. The digest is the same either
//! way; memory is bounded by the queue.
//! If the thread cannot be started, hashing simply stays on the caller's thread.

use std::io;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use sha2::{Digest, Sha256};

/// Bytes hashed inline before the hash moves to a thread (small files never pay for one).
pub const ASYNC_AFTER: u64 = 1024 * 1024;
/// Largest piece handed to the hashing thread.
pub const PIECE: usize = 1024 * 1024;
/// Pieces queued for the hashing thread before the writer waits.
pub const QUEUED_PIECES: usize = 4;

enum Msg {
    State(Box<Sha256>),
    Data(Vec<u8>),
}

enum State {
    Inline(Box<Sha256>),
    Thread {
        tx: SyncSender<Msg>,
        /// Pieces hashed, handed back for reuse (no page faults of fresh buffers).
        spares: Receiver<Vec<u8>>,
        handle: JoinHandle<Sha256>,
    },
}

/// SHA-256 of a byte stream, hashed inline while small and by a thread once large.
pub struct BodyHasher {
    state: State,
    bytes: u64,
}

impl std::fmt::Debug for BodyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on = match self.state {
            State::Inline(_) => "inline",
            State::Thread { .. } => "thread",
        };
        f.debug_struct("BodyHasher")
            .field("bytes", &self.bytes)
            .field("on", &on)
            .finish()
    }
}

impl Default for BodyHasher {
    fn default() -> Self {
        Self::new()
    }
}

fn stopped() -> io::Error {
    io::Error::other("the hashing thread stopped unexpectedly")
}

impl BodyHasher {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        BodyHasher {
            state: State::Inline(Box::default()),
            bytes: 0,
        }
    }

    /// Whether the hash runs on a thread of its own now.
    #[cfg(test)]
    pub fn on_thread(&self) -> bool {
        matches!(self.state, State::Thread { .. })
    }

    /// Move the hash to a thread once past [`ASYNC_AFTER`] bytes.
    fn maybe_move(&mut self) {
        if self.bytes < ASYNC_AFTER {
            return;
        }
        let State::Inline(h) = &mut self.state else {
            return;
        };
        let (tx, rx) = sync_channel::<Msg>(QUEUED_PIECES);
        let (back, spares) = channel::<Vec<u8>>();
        let spawned = thread::Builder::new().name("ekv-sha256".into()).spawn(move || {
            let mut h = Sha256::new();
            for msg in rx {
                match msg {
                    Msg::State(s) => h = *s,
                    Msg::Data(d) => {
                        h.update(&d);
                        // The writer may be gone (it dropped an unfinished file).
                        let _ = back.send(d);
                    }
                }
            }
            h
        });
        if let Ok(handle) = spawned {
            let state = std::mem::take(h);
            // The thread is alive until its receiver is dropped, so this send succeeds.
            if tx.send(Msg::State(state)).is_ok() {
                self.state = State::Thread { tx, spares, handle };
            }
        }
    }

    /// Hash `data` (copied, in pieces, when the hash runs on its thread).
    pub fn update(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.state {
            State::Inline(h) => h.update(data),
            State::Thread { tx, spares, .. } => {
                for piece in data.chunks(PIECE) {
                    let mut buf = spares.try_recv().unwrap_or_default();
                    buf.clear();
                    buf.extend_from_slice(piece);
                    tx.send(Msg::Data(buf)).map_err(|_| stopped())?;
                }
            }
        }
        self.bytes += data.len() as u64;
        self.maybe_move();
        Ok(())
    }

    /// The digest of every byte given.
    pub fn finalize(self) -> io::Result<[u8; 32]> {
        match self.state {
            State::Inline(h) => Ok(h.finalize().into()),
            State::Thread { tx, handle, .. } => {
                drop(tx);
                let h = handle.join().map_err(|_| stopped())?;
                Ok(h.finalize().into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 131 + i / 7) as u8).collect()
    }

    #[test]
    fn the_digest_is_sha256_whether_inline_or_on_a_thread() {
        for len in [
            0,
            1,
            1000,
            ASYNC_AFTER as usize - 1,
            ASYNC_AFTER as usize,
            3 * PIECE + 17,
        ] {
            let bytes = data(len);
            let want: [u8; 32] = Sha256::digest(&bytes).into();
            for step in [1usize << 10, 64 << 10, 3 << 20] {
                let mut h = BodyHasher::new();
                for piece in bytes.chunks(step) {
                    h.update(piece).unwrap();
                }
                assert_eq!(h.on_thread(), len as u64 >= ASYNC_AFTER, "len {len}");
                assert_eq!(h.finalize().unwrap(), want, "len {len} step {step}");
            }
        }
    }

    #[test]
    fn an_unfinished_hasher_can_be_dropped() {
        let mut h = BodyHasher::new();
        h.update(&data(2 * PIECE)).unwrap();
        assert!(h.on_thread());
        drop(h);
    }
}
