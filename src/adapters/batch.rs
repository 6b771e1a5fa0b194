//! Parallel reading of a tree's files for an encoder: [`encode_files`] runs the per-file
//! work (read, parse, build records) on worker threads and replays each file's
//! [`RecordBatch`] into the real sink in file order, so the records and the first error are
//! those of a sequential walk. A value of at least [`REFERENCE_MIN`] bytes read from the
//! batch's own file is kept as a reference ([`RecordSink::add_from_file`]), not as bytes.

use std::path::{Path, PathBuf};

use super::{AdapterError, FileRange, RecordSink, SinkError, REFERENCE_MIN};
use crate::container::display_key;
use crate::dump::FileStamp;

/// The records of one input file, collected away from the real sink so that files can be
/// read and parsed on worker threads (see [`encode_files`]). Adding never fails; the real
/// sink's refusals surface when the batch is replayed, naming the file.
#[derive(Debug)]
pub struct RecordBatch {
    path: PathBuf,
    /// Keys and the values held as bytes, back to back.
    bytes: Vec<u8>,
    /// The records, in the order added.
    records: Vec<Entry>,
}

/// One record of a [`RecordBatch`]: its key's length, its value's length, and where the
/// value lies in the batch's file when it is not held as bytes (offset, stamp,
/// [`FileRange::check_file`]).
#[derive(Debug)]
struct Entry {
    key: usize,
    value: usize,
    at: Option<(u64, FileStamp, bool)>,
}

impl RecordBatch {
    /// An empty batch for the records of `path`.
    pub fn new(path: &Path) -> RecordBatch {
        RecordBatch {
            path: path.to_path_buf(),
            bytes: Vec::new(),
            records: Vec::new(),
        }
    }

    /// An empty batch for the records of `path`, with room for `records` records of `bytes`
    /// bytes of keys and values in all.
    pub fn with_capacity(path: &Path, records: usize, bytes: usize) -> RecordBatch {
        RecordBatch {
            path: path.to_path_buf(),
            bytes: Vec::with_capacity(bytes),
            records: Vec::with_capacity(records),
        }
    }

    /// Bytes held (what the window of [`encode_files`] counts).
    pub fn weight(&self) -> usize {
        self.bytes.len() + self.records.len() * std::mem::size_of::<Entry>() + 64
    }

    /// Add every record, in order, to `sink`.
    pub fn replay(&self, sink: &mut dyn RecordSink) -> Result<(), AdapterError> {
        let mut at = 0;
        for r in &self.records {
            let key = &self.bytes[at..at + r.key];
            at += r.key;
            let added = match r.at {
                Some((offset, stamp, check_file)) => {
                    let source = FileRange {
                        path: &self.path,
                        offset,
                        stamp,
                        check_file,
                    };
                    sink.add_file_range(key, &source, r.value as u64)
                }
                None => {
                    at += r.value;
                    sink.add(key, &self.bytes[at - r.value..at])
                }
            };
            added.map_err(|source| AdapterError::Sink {
                path: self.path.clone(),
                key: display_key(key),
                source,
            })?;
        }
        Ok(())
    }
}

impl RecordSink for RecordBatch {
    fn add(&mut self, user_key: &[u8], user_value: &[u8]) -> Result<(), SinkError> {
        self.bytes.extend_from_slice(user_key);
        self.bytes.extend_from_slice(user_value);
        self.records.push(Entry {
            key: user_key.len(),
            value: user_value.len(),
            at: None,
        });
        Ok(())
    }

    fn add_from_file(
        &mut self,
        user_key: &[u8],
        user_value: &[u8],
        source: &FileRange<'_>,
    ) -> Result<(), SinkError> {
        if user_value.len() < REFERENCE_MIN || source.path != self.path {
            return self.add(user_key, user_value);
        }
        self.add_file_range(user_key, source, user_value.len() as u64)
    }

    /// A range of the batch's own file is kept as it is; of another file, read.
    fn add_file_range(&mut self, user_key: &[u8], source: &FileRange<'_>, len: u64) -> Result<(), SinkError> {
        if source.path != self.path {
            let value = source.read(len).map_err(|e| SinkError::Input(Box::new(e)))?;
            return self.add(user_key, &value);
        }
        self.bytes.extend_from_slice(user_key);
        self.records.push(Entry {
            key: user_key.len(),
            // Too long a length is refused by the real sink on replay.
            value: usize::try_from(len).unwrap_or(usize::MAX),
            at: Some((source.offset, source.stamp, source.check_file)),
        });
        Ok(())
    }
}

/// Bytes of finished, not yet replayed batches that [`encode_files`] lets the workers run
/// ahead by.
pub const ENCODE_WINDOW: usize = 16 << 20;

/// Run `work` on every file job with `threads` workers (read, parse, build the records) and
/// replay the batches into `sink` in job order, on the calling thread: the records reach the
/// sink, and the first error is reported, exactly as in a sequential walk.
pub fn encode_files<J: Sync>(
    jobs: &[J],
    threads: usize,
    work: impl Fn(&J) -> Result<RecordBatch, AdapterError> + Sync,
    sink: &mut dyn RecordSink,
) -> Result<(), AdapterError> {
    crate::ordered::map_in_order(jobs, threads, ENCODE_WINDOW, work, RecordBatch::weight, |batch| {
        batch.replay(sink)
    })
}

/// Worker threads for reading the files of a tree when none is asked for: the machine's
/// parallelism, at most 8 (beyond that the sort on the calling thread is the bottleneck).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_kind::ErrorKind;

    /// Refuses the `n`-th record (from 0), collecting the ones before it.
    struct RefuseAt(usize, Vec<(Vec<u8>, Vec<u8>)>);

    impl RecordSink for RefuseAt {
        fn add(&mut self, k: &[u8], v: &[u8]) -> Result<(), SinkError> {
            if self.1.len() == self.0 {
                return Err(SinkError::KeyTooLarge { len: k.len(), max: 1 });
            }
            self.1.push((k.to_vec(), v.to_vec()));
            Ok(())
        }
    }

    #[test]
    fn a_batch_replays_its_records_in_order_and_names_the_file_on_refusal() {
        let mut batch = RecordBatch::new(Path::new("redis/db_0/hashes/h.json"));
        let records: [(&[u8], &[u8]); 4] =
            [(b"!hs|b", b""), (b"", b"v"), (b"!hs|a", b"\xff\x00"), (b"k", b"")];
        for (k, v) in records {
            batch.add(k, v).unwrap();
        }
        let mut all = RefuseAt(usize::MAX, Vec::new());
        batch.replay(&mut all).unwrap();
        let want: Vec<_> = records.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(all.1, want);
        assert!(batch.weight() >= 12);

        let mut third = RefuseAt(2, Vec::new());
        let err = batch.replay(&mut third).unwrap_err();
        assert_eq!(third.1, want[..2]);
        let text = err.to_string();
        assert!(text.starts_with("redis/db_0/hashes/h.json: key "), "{text}");
        assert!(text.contains("exceeds the limit"), "{text}");
        assert_eq!(err.kind(), ErrorKind::Data);
    }

    #[test]
    fn large_values_of_the_batch_file_are_kept_as_references_and_read_again_on_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body");
        let body: Vec<u8> = (0..REFERENCE_MIN * 2 + 5).map(|i| i as u8).collect();
        std::fs::write(&path, &body).unwrap();
        let (_, stamp) = crate::dump::fs::open_input_stamped(&path).unwrap();
        let mut batch = RecordBatch::new(&path);
        let (big, small) = (
            &body[..REFERENCE_MIN],
            &body[REFERENCE_MIN..REFERENCE_MIN * 2 - 1],
        );
        let at = |offset| FileRange {
            path: &path,
            offset,
            stamp,
            check_file: false,
        };
        batch.add_from_file(b"k0", big, &at(0)).unwrap();
        batch
            .add_from_file(b"k1", small, &at(REFERENCE_MIN as u64))
            .unwrap();
        let other = FileRange {
            path: Path::new("elsewhere"),
            ..at(0)
        };
        batch.add_from_file(b"k2", big, &other).unwrap();
        // The first value is held as a reference, the others as bytes.
        assert!(batch.weight() < 3 * REFERENCE_MIN, "{}", batch.weight());
        // Ranges handed over unread: of the batch's file, kept as a reference whatever
        // their length; of another file, read now.
        let before = batch.weight();
        let tail = REFERENCE_MIN as u64 * 2;
        batch.add_file_range(b"k3", &at(tail), 5).unwrap();
        assert_eq!(batch.weight(), before + 2 + std::mem::size_of::<Entry>());
        let other_path = dir.path().join("other");
        std::fs::write(&other_path, b"xyz").unwrap();
        let (_, other_stamp) = crate::dump::fs::open_input_stamped(&other_path).unwrap();
        let in_other = FileRange {
            path: &other_path,
            offset: 1,
            stamp: other_stamp,
            check_file: false,
        };
        batch.add_file_range(b"k4", &in_other, 2).unwrap();
        let mut all = RefuseAt(usize::MAX, Vec::new());
        batch.replay(&mut all).unwrap();
        let want = vec![
            (b"k0".to_vec(), big.to_vec()),
            (b"k1".to_vec(), small.to_vec()),
            (b"k2".to_vec(), big.to_vec()),
            (b"k3".to_vec(), body[tail as usize..].to_vec()),
            (b"k4".to_vec(), b"yz".to_vec()),
        ];
        assert_eq!(all.1, want);
        // A file changed before the replay is refused, naming it.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, &body).unwrap();
        let err = batch.replay(&mut RefuseAt(usize::MAX, Vec::new())).unwrap_err();
        assert!(
            err.to_string().contains("changed while the tree was being read"),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::Usage);
    }
}
