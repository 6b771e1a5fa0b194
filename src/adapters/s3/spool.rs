//! The decoder's two waiting lines — the chain descriptors of every object whose blobs have
//! arrived, and the chunk references — kept under a memory budget: entries go to a
//! [`crate::spill::ExternalSorter`] keyed by the object's key bytes (`seg(bucket) ‖ gen ‖
//! seg(object)`, the order its manifest will arrive in) and a sequence number, and are read
//! back in that order. All entries of a line arrive before the first is read (the snapshot
//! is sorted: `!s3|blob|` < `!s3|chunkref|` < `!s3|obj|head|`).
//!
//! Entries are a compact binary form ([`Writer`] / [`Reader`]); a scratch file that does not
//! parse back is an I/O error (`InvalidData`), never a panic.

use std::io;
use std::path::Path;

use crate::spill::{ExternalSorter, SortedRecords};

/// Memory budget of each line before it spills.
pub const BUDGET: usize = 8 << 20;

/// A FIFO-by-key line of encoded entries.
pub struct Spool {
    sorter: Option<ExternalSorter>,
    sorted: Option<SortedRecords>,
    seq: u64,
    key: Vec<u8>,
}

impl Spool {
    pub fn new(budget: usize, scratch: &Path) -> Spool {
        Spool {
            sorter: Some(ExternalSorter::new(budget, scratch)),
            sorted: None,
            seq: 0,
            key: Vec::new(),
        }
    }

    /// Queue `entry` under the object key `order`. Refused once reading has begun.
    pub fn push(&mut self, order: &[u8], entry: &[u8]) -> io::Result<()> {
        let Some(sorter) = self.sorter.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "record out of order: its family was already consumed",
            ));
        };
        self.key.clear();
        self.key.extend_from_slice(order);
        self.key.extend_from_slice(&self.seq.to_be_bytes());
        self.seq += 1;
        sorter.push(&self.key, entry)
    }

    /// The next entry (its object key and bytes), in object-key order; `None` at the end.
    pub fn pop(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        if let Some(sorter) = self.sorter.take() {
            self.sorted = Some(sorter.finish()?);
        }
        let Some(sorted) = self.sorted.as_mut() else {
            return Ok(None);
        };
        Ok(sorted.next()?.map(|(k, v)| {
            (
                k.get(..k.len().saturating_sub(8)).unwrap_or_default().to_vec(),
                v.to_vec(),
            )
        }))
    }
}

/// Appends the fields of an entry.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
}

/// Reads the fields of an entry back.
pub struct Reader<'a>(pub &'a [u8]);

fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "corrupt S3 spool entry")
}

impl Reader<'_> {
    pub fn u64(&mut self) -> io::Result<u64> {
        let (head, rest) = self.0.split_at_checked(8).ok_or_else(corrupt)?;
        self.0 = rest;
        let mut a = [0u8; 8];
        a.copy_from_slice(head);
        Ok(u64::from_be_bytes(a))
    }
    pub fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = usize::try_from(self.u64()?).map_err(|_| corrupt())?;
        let (head, rest) = self.0.split_at_checked(n).ok_or_else(corrupt)?;
        self.0 = rest;
        Ok(head.to_vec())
    }
    /// A count of items that each take at least `min` bytes (checked before allocating).
    pub fn count(&mut self, min: usize) -> io::Result<usize> {
        let n = usize::try_from(self.u64()?).map_err(|_| corrupt())?;
        if n.saturating_mul(min.max(1)) > self.0.len() {
            return Err(corrupt());
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_in_key_order_then_push_order_even_when_spilled() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::new(64, dir.path());
        for (k, v) in [(&b"b"[..], &b"1"[..]), (b"a", b"2"), (b"b", b"3"), (b"a", b"4")] {
            s.push(k, &[v; 40].concat()).unwrap();
        }
        let mut got = Vec::new();
        while let Some((k, v)) = s.pop().unwrap() {
            got.push((k, v[0]));
        }
        assert_eq!(
            got,
            [
                (b"a".to_vec(), b'2'),
                (b"a".to_vec(), b'4'),
                (b"b".to_vec(), b'1'),
                (b"b".to_vec(), b'3')
            ]
        );
        assert_eq!(s.push(b"c", b"x").unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn readers_refuse_truncated_or_oversized_fields() {
        let mut w = Writer::default();
        w.bytes(b"abc").u64(7);
        let mut r = Reader(&w.0);
        assert_eq!(r.bytes().unwrap(), b"abc");
        assert_eq!(r.u64().unwrap(), 7);
        assert!(r.u64().is_err());
        assert!(Reader(&w.0[..5]).bytes().is_err());
        assert!(Reader(&u64::MAX.to_be_bytes()).count(8).is_err());
    }
}
