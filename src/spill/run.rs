//! Sorted runs in a scratch file: the only on-disk format of the spill layer, private to it.
//!
//! A scratch file is a sequence of runs; a run is a sequence of records, each
//!
//! ```text
//! u64le key_len ‖ u64le value_len ‖ key ‖ value
//! ```
//!
//! The file carries no header and no run table: the writer returns a [`RunMeta`] per run
//! (its byte range, record count and largest key and value lengths), kept in memory. The
//! reader trusts nothing in the file: every length is checked against the run's recorded
//! maxima and byte range before it sizes a buffer, and the record count must match the byte
//! range exactly, so a corrupt or truncated scratch file gives an `InvalidData` error rather
//! than a huge allocation or silent loss.
//!
//! Many runs share one file and one file descriptor: each [`RunReader`] has its own buffer
//! and reads with positioned reads (`pread`), so the number of open files does not grow with
//! the number of runs.

use std::fs::File;
use std::io::{self, BufWriter, Write};

/// Bytes of the per-record length header.
const RECORD_HEADER_LEN: u64 = 16;

/// Where one run lives in its scratch file and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunMeta {
    /// Byte offset of the first record.
    pub start: u64,
    /// Byte offset just past the last record.
    pub end: u64,
    /// Number of records.
    pub records: u64,
    /// Largest key length in the run.
    pub max_key: u64,
    /// Largest value length in the run.
    pub max_value: u64,
}

/// Appends runs to a scratch file through a buffer.
#[derive(Debug)]
pub(crate) struct RunWriter {
    out: BufWriter<File>,
    /// Bytes written so far (the offset of the next record).
    pos: u64,
    /// The run being written.
    run: RunMeta,
}

impl RunWriter {
    /// A writer at the start of `file` (an empty scratch file).
    pub fn new(file: File) -> RunWriter {
        RunWriter {
            out: BufWriter::with_capacity(64 * 1024, file),
            pos: 0,
            run: RunMeta {
                start: 0,
                end: 0,
                records: 0,
                max_key: 0,
                max_value: 0,
            },
        }
    }

    /// Append one record to the current run.
    pub fn write_record(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let (klen, vlen) = (key.len() as u64, value.len() as u64);
        self.out.write_all(&klen.to_le_bytes())?;
        self.out.write_all(&vlen.to_le_bytes())?;
        self.out.write_all(key)?;
        self.out.write_all(value)?;
        self.pos += RECORD_HEADER_LEN + klen + vlen;
        self.run.records += 1;
        self.run.max_key = self.run.max_key.max(klen);
        self.run.max_value = self.run.max_value.max(vlen);
        Ok(())
    }

    /// Close the current run (possibly empty) and start the next one.
    pub fn finish_run(&mut self) -> RunMeta {
        let done = RunMeta {
            end: self.pos,
            ..self.run
        };
        self.run = RunMeta {
            start: self.pos,
            end: self.pos,
            records: 0,
            max_key: 0,
            max_value: 0,
        };
        done
    }

    /// Flush and give the file back for reading.
    pub fn into_file(self) -> io::Result<File> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// Reads one run of a scratch file, record by record. See the module docs.
#[derive(Debug)]
pub(crate) struct RunReader {
    meta: RunMeta,
    /// Number of the run, for error messages.
    number: usize,
    /// File offset of the next byte to load into `buf`.
    pos: u64,
    /// Records not yet read.
    left: u64,
    buf: Vec<u8>,
    /// Unread bytes are `buf[lo..hi]`.
    lo: usize,
    hi: usize,
    /// Length of the value after the key read last, not read yet.
    value_left: Option<usize>,
}

impl RunReader {
    /// A reader of run `number` described by `meta`, with a read buffer of `buf_len` bytes.
    pub fn new(meta: RunMeta, number: usize, buf_len: usize) -> RunReader {
        RunReader {
            meta,
            number,
            pos: meta.start,
            left: meta.records,
            buf: vec![0; buf_len.max(RECORD_HEADER_LEN as usize)],
            lo: 0,
            hi: 0,
            value_left: None,
        }
    }

    /// Capacity of the read buffer.
    #[cfg(test)]
    pub fn buf_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// File offset of the next unread byte.
    fn offset(&self) -> u64 {
        self.pos - (self.hi - self.lo) as u64
    }

    fn corrupt(&self, at: u64, what: impl std::fmt::Display) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("spill run {} at scratch byte {at}: {what}", self.number),
        )
    }

    /// Read the next record into `key` and `value` (resized to fit). `false` at the end of
    /// the run.
    #[cfg(test)]
    pub fn read_record(&mut self, file: &File, key: &mut Vec<u8>, value: &mut Vec<u8>) -> io::Result<bool> {
        if !self.read_key(file, key)? {
            return Ok(false);
        }
        self.read_value(file, value)?;
        Ok(true)
    }

    /// Read the next record's key into `key` (resized to fit), leaving its value unread
    /// until [`RunReader::read_value`], so that a merge holds no value per run. `false` at
    /// the end of the run.
    pub fn read_key(&mut self, file: &File, key: &mut Vec<u8>) -> io::Result<bool> {
        debug_assert!(self.value_left.is_none(), "the previous value is unread");
        let at = self.offset();
        if self.left == 0 {
            if at != self.meta.end {
                return Err(self.corrupt(
                    at,
                    format!(
                        "{} records end here, but the run ends at byte {}",
                        self.meta.records, self.meta.end
                    ),
                ));
            }
            return Ok(false);
        }
        let (mut klen, mut vlen) = ([0u8; 8], [0u8; 8]);
        self.read_exact(file, &mut klen)?;
        self.read_exact(file, &mut vlen)?;
        let (klen, vlen) = (u64::from_le_bytes(klen), u64::from_le_bytes(vlen));
        if klen > self.meta.max_key || vlen > self.meta.max_value {
            return Err(self.corrupt(
                at,
                format!(
                    "record lengths key {klen} / value {vlen} exceed the run's largest \
                     (key {} / value {})",
                    self.meta.max_key, self.meta.max_value
                ),
            ));
        }
        let record_end = (at + RECORD_HEADER_LEN)
            .checked_add(klen)
            .and_then(|n| n.checked_add(vlen));
        if !matches!(record_end, Some(e) if e <= self.meta.end) {
            return Err(self.corrupt(
                at,
                format!(
                    "record of key {klen} / value {vlen} bytes runs past the run's end at \
                     byte {}",
                    self.meta.end
                ),
            ));
        }
        // Both lengths are bounded by records we wrote from memory, so they fit a usize.
        let (klen, vlen) = (to_usize(klen)?, to_usize(vlen)?);
        key.resize(klen, 0);
        self.read_exact(file, key)?;
        self.value_left = Some(vlen);
        self.left -= 1;
        Ok(true)
    }

    /// Read the value of the record whose key [`RunReader::read_key`] returned last into
    /// `value` (resized to fit).
    pub fn read_value(&mut self, file: &File, value: &mut Vec<u8>) -> io::Result<()> {
        let vlen = self.value_left.take().unwrap_or(0);
        value.resize(vlen, 0);
        self.read_exact(file, value)
    }

    /// Fill `out` from the buffer and the file, never reading past the run's end.
    fn read_exact(&mut self, file: &File, mut out: &mut [u8]) -> io::Result<()> {
        while !out.is_empty() {
            if self.lo < self.hi {
                let n = out.len().min(self.hi - self.lo);
                let (head, rest) = out.split_at_mut(n);
                head.copy_from_slice(&self.buf[self.lo..self.lo + n]);
                self.lo += n;
                out = rest;
            } else if out.len() >= self.buf.len() {
                // A read as large as the buffer bypasses it.
                let n = self.load(file, out)?;
                out = &mut out[n..];
            } else {
                let mut buf = std::mem::take(&mut self.buf);
                let loaded = self.load(file, &mut buf);
                self.buf = buf;
                self.lo = 0;
                self.hi = loaded?;
            }
        }
        Ok(())
    }

    /// Read at least one byte of the run at `pos` into `into`; the byte count.
    fn load(&mut self, file: &File, into: &mut [u8]) -> io::Result<usize> {
        let left_in_run = self.meta.end.saturating_sub(self.pos);
        if left_in_run == 0 {
            return Err(self.corrupt(self.pos, "unexpected end of run"));
        }
        let want = into.len().min(usize::try_from(left_in_run).unwrap_or(usize::MAX));
        let n = read_at(file, &mut into[..want], self.pos)?;
        if n == 0 {
            return Err(self.corrupt(
                self.pos,
                format!("scratch file ends before the run's end at byte {}", self.meta.end),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

fn to_usize(n: u64) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("spill record length {n} does not fit in memory"),
        )
    })
}

/// A positioned read that leaves the file's cursor alone.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A positioned read (on Windows it moves the cursor, which no one else uses).
#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::windows::fs::FileExt;
    loop {
        match file.seek_read(buf, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom};

    /// Write `runs` of records to a fresh scratch file; return it and the run metadata.
    fn write_runs(runs: &[&[(&[u8], &[u8])]]) -> (File, Vec<RunMeta>) {
        let mut w = RunWriter::new(tempfile::tempfile().unwrap());
        let mut metas = Vec::new();
        for run in runs {
            for (k, v) in *run {
                w.write_record(k, v).unwrap();
            }
            metas.push(w.finish_run());
        }
        (w.into_file().unwrap(), metas)
    }

    fn read_all(file: &File, meta: RunMeta, buf_len: usize) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut r = RunReader::new(meta, 0, buf_len);
        let (mut k, mut v) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        while r.read_record(file, &mut k, &mut v)? {
            out.push((k.clone(), v.clone()));
        }
        Ok(out)
    }

    #[test]
    fn record_layout_is_pinned() {
        let (mut file, metas) = write_runs(&[&[(b"ab", b"xyz")]]);
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        io::Read::read_to_end(&mut file, &mut bytes).unwrap();
        assert_eq!(
            hex::encode(&bytes),
            "0200000000000000 0300000000000000 6162 78797a".replace(' ', "")
        );
        assert_eq!(
            metas,
            [RunMeta {
                start: 0,
                end: 21,
                records: 1,
                max_key: 2,
                max_value: 3
            }]
        );
    }

    #[test]
    fn runs_round_trip_with_any_buffer_size() {
        let big = vec![7u8; 5000];
        let run_a: &[(&[u8], &[u8])] = &[(b"a", b""), (b"", b"v"), (b"k", &big)];
        let run_b: &[(&[u8], &[u8])] = &[];
        let run_c: &[(&[u8], &[u8])] = &[(&big, b"x")];
        let (file, metas) = write_runs(&[run_a, run_b, run_c]);
        for buf_len in [1, 16, 17, 100, 4096, 1 << 16] {
            let a = read_all(&file, metas[0], buf_len).unwrap();
            assert_eq!(a.len(), 3);
            assert_eq!(a[2].1, big);
            assert_eq!(a[1], (b"".to_vec(), b"v".to_vec()));
            assert!(read_all(&file, metas[1], buf_len).unwrap().is_empty());
            let c = read_all(&file, metas[2], buf_len).unwrap();
            assert_eq!(c, [(big.clone(), b"x".to_vec())]);
        }
    }

    fn overwrite(file: &mut File, at: u64, bytes: &[u8]) {
        file.seek(SeekFrom::Start(at)).unwrap();
        file.write_all(bytes).unwrap();
    }

    #[test]
    fn huge_length_is_refused_before_allocating() {
        let (mut file, metas) = write_runs(&[&[(b"ab", b"xyz")]]);
        overwrite(&mut file, 0, &u64::MAX.to_le_bytes());
        let err = read_all(&file, metas[0], 64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("exceed the run's largest"), "{err}");
    }

    #[test]
    fn length_past_the_run_end_is_refused() {
        // Two records; the first claims a value as long as the run's largest but the run's
        // range cannot hold it.
        let (mut file, metas) = write_runs(&[&[(b"a", b"1"), (b"b", b"22222")]]);
        overwrite(&mut file, 8, &5u64.to_le_bytes()); // first record: value_len 1 -> 5
        let mut r = RunReader::new(metas[0], 3, 64);
        let (mut k, mut v) = (Vec::new(), Vec::new());
        // The first record now swallows 4 bytes of the second; the second is then short.
        assert!(r.read_record(&file, &mut k, &mut v).unwrap());
        let err = r.read_record(&file, &mut k, &mut v).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().starts_with("spill run 3 at scratch byte"),
            "{err}"
        );
    }

    #[test]
    fn truncated_file_is_an_error() {
        let (file, metas) = write_runs(&[&[(b"a", b"1"), (b"b", b"2")]]);
        file.set_len(metas[0].end - 1).unwrap();
        let err = read_all(&file, metas[0], 64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("scratch file ends"), "{err}");
    }

    #[test]
    fn record_count_must_match_the_byte_range() {
        let (file, metas) = write_runs(&[&[(b"a", b"1"), (b"b", b"2")]]);
        let fewer = RunMeta {
            records: 1,
            ..metas[0]
        };
        let err = read_all(&file, fewer, 64).unwrap_err();
        assert!(err.to_string().contains("1 records end here"), "{err}");
        let more = RunMeta {
            records: 3,
            ..metas[0]
        };
        let err = read_all(&file, more, 64).unwrap_err();
        assert!(err.to_string().contains("unexpected end of run"), "{err}");
    }

    #[test]
    fn length_overflow_is_refused() {
        let (mut file, metas) = write_runs(&[&[(b"a", b"1")]]);
        let lying = RunMeta {
            max_key: u64::MAX,
            max_value: u64::MAX,
            ..metas[0]
        };
        overwrite(&mut file, 0, &u64::MAX.to_le_bytes());
        overwrite(&mut file, 8, &u64::MAX.to_le_bytes());
        let err = read_all(&file, lying, 64).unwrap_err();
        assert!(err.to_string().contains("runs past the run's end"), "{err}");
    }
}
