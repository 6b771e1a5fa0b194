//! Test input for the container's readers: a `Read` that hands out its bytes a few at a
//! time and then ends or fails (shared by the `peek` and `readahead` tests).

use std::io::{self, Read};

/// Yields its data at most `step` bytes per read, then EOF or, with `fail`, that error on
/// every later read. `at` is how far it has been read.
pub(crate) struct Chunky {
    pub(crate) data: Vec<u8>,
    pub(crate) at: usize,
    step: usize,
    fail: Option<(io::ErrorKind, &'static str)>,
}

impl Chunky {
    pub(crate) fn new(data: Vec<u8>, step: usize, fail: Option<(io::ErrorKind, &'static str)>) -> Self {
        Chunky {
            data,
            at: 0,
            step,
            fail,
        }
    }
}

impl Read for Chunky {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.data.len() {
            return match self.fail {
                Some((kind, msg)) => Err(io::Error::new(kind, msg)),
                None => Ok(0),
            };
        }
        let n = self.step.min(out.len()).min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
