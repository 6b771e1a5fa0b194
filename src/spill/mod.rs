//! External sort of byte records under a memory budget, spilling sorted runs to temporary
//! files and merging them. Used by the encoder (records sorted by encoded key) and by
//! CHECKSUMS (lines sorted by path). Knows no format.
//!
//! * [`ExternalSorter`] buffers `(key, value)` records in memory and counts
//!   `key + value + RECORD_OVERHEAD` bytes per record against half the budget. When the
//!   next record would exceed that half, the buffer is handed to a background thread that
//!   sorts it and writes it as one run to an anonymous scratch file in the caller's scratch
//!   directory (the private `run` module owns that layout), while pushing goes on into the
//!   other half. So sorting and writing a run overlap with whatever produces the records.
//! * [`ExternalSorter::finish`] returns [`SortedRecords`]: the buffer sorted in place if
//!   nothing was spilled, otherwise a k-way merge (a binary heap) of the runs, the last
//!   buffer being spilled as a final run first so that the merge holds only read buffers.
//!
//! Order: ascending bytewise by key; equal keys keep their insertion order (a buffer's sort
//! breaks ties by arena offset, runs hold consecutive insertions and are written one after
//! the other, and the merge breaks ties by run number), so a caller finds duplicates as
//! adjacent equal keys.
//!
//! Memory: two buffers (the one being filled, and the one being written), each counting
//! under half the budget (a single record larger than that is buffered alone). A buffer's
//! two allocations (the key/value arena and the index) grow by doubling capped at half the
//! budget each, so the allocated capacity of both stays under twice the budget in the worst
//! case. While merging, each run has one read buffer of `budget / MAX_FAN_IN` bytes clamped
//! to 4–64 KiB, plus its current key; values are read one at a time into a single buffer as
//! their records are returned (a merge of many runs of 1 MiB values holds one value, not one
//! per run). At most [`MAX_FAN_IN`] runs are merged at once;
//! with more, groups of consecutive runs are first merged into longer runs, pass after pass.
//!
//! Scratch files are anonymous (created unlinked, `tempfile::tempfile_in`): nothing is left
//! in the scratch directory on any path, including a crash. All runs of a pass share one file
//! and one descriptor. An error while writing a run in the background is returned by the
//! next `push` or by `finish`.

mod run;

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use run::{RunMeta, RunReader, RunWriter};

/// Bytes counted against the budget for each buffered record on top of its key and value
/// (its slot in the index).
pub const RECORD_OVERHEAD: usize = std::mem::size_of::<Slot>();

/// The most runs merged at once: with the encoder's 32 MiB budget (16 MiB runs) one pass
/// merges up to 4 GiB of records; each run's read buffer is then 64 KiB (16 MiB in all).
pub const MAX_FAN_IN: usize = 256;

/// Smallest and largest read buffer per run during a merge.
const MIN_READ_BUF: usize = 4 * 1024;
const MAX_READ_BUF: usize = 64 * 1024;

/// Where a buffered record lives in the arena (lengths of 32 bits; [`ExternalSorter::push`]
/// refuses longer keys and values), and the chunk of its key the sort compares at its
/// current depth ([`sort_slots`]): 24 bytes.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: usize,
    key_len: u32,
    value_len: u32,
    chunk: u64,
}

impl Slot {
    fn key<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.start..self.start + self.key_len as usize]
    }

    fn value<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let from = self.start + self.key_len as usize;
        &arena[from..from + self.value_len as usize]
    }
}

/// Sorts `(key, value)` records by key under a memory budget. See the module docs.
#[derive(Debug)]
pub struct ExternalSorter {
    /// Counted bytes per buffer: half the budget.
    limit: usize,
    scratch_dir: PathBuf,
    /// Keys and values of the buffered records, back to back.
    arena: Vec<u8>,
    slots: Vec<Slot>,
    /// Bytes of the buffer counted against `limit`.
    used: usize,
    /// Records pushed in all.
    pushed: u64,
    /// The scratch file, once the first run is spilled and while no run is being written.
    writer: Option<RunWriter>,
    /// The run being written in the background.
    pending: Option<JoinHandle<Spilled>>,
    /// The buffers of the last run written, cleared, ready to be filled again.
    spare: Option<(Vec<u8>, Vec<Slot>)>,
    /// Runs started (written or being written).
    spills: usize,
    runs: Vec<RunMeta>,
}

/// What writing one run gives back: the writer, the emptied buffers, and the run.
struct Spilled {
    writer: RunWriter,
    arena: Vec<u8>,
    slots: Vec<Slot>,
    run: io::Result<RunMeta>,
}

impl std::fmt::Debug for Spilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spilled")
            .field("run", &self.run)
            .finish_non_exhaustive()
    }
}

/// Sort one buffer and append it to `writer` as a run; give everything back.
fn write_run(mut writer: RunWriter, mut arena: Vec<u8>, mut slots: Vec<Slot>, limit: usize) -> Spilled {
    sort_slots(&mut slots, &arena);
    let written = slots
        .iter()
        .try_for_each(|slot| writer.write_record(slot.key(&arena), slot.value(&arena)));
    let run = written.map(|()| writer.finish_run());
    slots.clear();
    arena.clear();
    // Give back what a record larger than the limit made the arena grow to.
    arena.shrink_to(limit);
    Spilled {
        writer,
        arena,
        slots,
        run,
    }
}

impl ExternalSorter {
    /// A sorter that keeps at most about `budget_bytes` of records in memory and spills to
    /// anonymous files in `scratch_dir` beyond that. The directory is used only on the first
    /// spill.
    pub fn new(budget_bytes: usize, scratch_dir: &Path) -> ExternalSorter {
        ExternalSorter {
            limit: budget_bytes / 2,
            scratch_dir: scratch_dir.to_path_buf(),
            arena: Vec::new(),
            slots: Vec::new(),
            used: 0,
            pushed: 0,
            writer: None,
            pending: None,
            spare: None,
            spills: 0,
            runs: Vec::new(),
        }
    }

    /// Add a record. Fails if spilling to the scratch directory fails (the sorter must then
    /// be dropped), or with `InvalidInput` for a key or value of 4 GiB or more.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.push_parts(key, &[value])
    }

    /// Add a record whose value is `parts` back to back (a caller's header and payload,
    /// without first copying them together).
    pub fn push_parts(&mut self, key: &[u8], parts: &[&[u8]]) -> io::Result<()> {
        let value_len: usize = parts.iter().map(|p| p.len()).sum();
        let (Ok(key_len), Ok(value_len)) = (u32::try_from(key.len()), u32::try_from(value_len)) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a record of a {}-byte key and a {value_len}-byte value is too large to sort (at most 4 GiB - 1 each)",
                    key.len(),
                ),
            ));
        };
        let data = key.len() + value_len as usize;
        let need = data + RECORD_OVERHEAD;
        if !self.slots.is_empty() && self.used + need > self.limit {
            self.spill()?;
        }
        let len = self.arena.len();
        if self.arena.capacity() - len < data {
            // Grow by doubling, but not past the limit, so capacity tracks the budget.
            let doubled = self.arena.capacity().saturating_mul(2);
            let target = (len + data).max(doubled.min(self.limit));
            self.arena.reserve_exact(target - len);
        }
        self.arena.extend_from_slice(key);
        for part in parts {
            self.arena.extend_from_slice(part);
        }
        if self.slots.len() == self.slots.capacity() {
            let slots = self.slots.len();
            let doubled = self.slots.capacity().saturating_mul(2);
            let target = (slots + 1).max(doubled.min(self.limit / RECORD_OVERHEAD));
            self.slots.reserve_exact(target - slots);
        }
        self.slots.push(Slot {
            start: len,
            key_len,
            value_len,
            chunk: 0,
        });
        self.used += need;
        self.pushed += 1;
        Ok(())
    }

    /// Records pushed so far.
    pub fn len(&self) -> u64 {
        self.pushed
    }

    /// No record pushed yet.
    pub fn is_empty(&self) -> bool {
        self.pushed == 0
    }

    /// Runs spilled to scratch so far (including one being written).
    pub fn spilled_runs(&self) -> usize {
        self.spills
    }

    /// Wait for the run being written, if any; keep its writer and buffers.
    fn settle(&mut self) -> io::Result<()> {
        if let Some(pending) = self.pending.take() {
            let done = pending
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
            self.writer = Some(done.writer);
            self.spare = Some((done.arena, done.slots));
            self.runs.push(done.run?);
        }
        Ok(())
    }

    /// Hand the buffer to a background thread that sorts it and writes it as one run.
    fn spill(&mut self) -> io::Result<()> {
        self.settle()?;
        let writer = match self.writer.take() {
            Some(w) => w,
            None => RunWriter::new(scratch_file(&self.scratch_dir)?),
        };
        let (arena, slots) = self.spare.take().unwrap_or_default();
        let arena = std::mem::replace(&mut self.arena, arena);
        let slots = std::mem::replace(&mut self.slots, slots);
        self.used = 0;
        self.spills += 1;
        let limit = self.limit;
        // A thread that cannot start is an error like a failed write (the sorter is dropped).
        let handle = std::thread::Builder::new()
            .name("spill".into())
            .spawn(move || write_run(writer, arena, slots, limit))?;
        self.pending = Some(handle);
        Ok(())
    }

    /// Stop pushing and read the records back in order.
    pub fn finish(mut self) -> io::Result<SortedRecords> {
        let total = self.pushed;
        self.settle()?;
        if self.runs.is_empty() {
            sort_slots(&mut self.slots, &self.arena);
            return Ok(SortedRecords {
                total,
                inner: Inner::Memory {
                    arena: self.arena,
                    slots: self.slots,
                    next: 0,
                },
            });
        }
        if !self.slots.is_empty() {
            self.spill()?;
            self.settle()?;
        }
        let budget = self.limit * 2;
        let ExternalSorter {
            scratch_dir,
            writer,
            mut runs,
            arena,
            slots,
            spare,
            ..
        } = self;
        drop((arena, slots, spare));
        let buf_len = (budget / MAX_FAN_IN).clamp(MIN_READ_BUF, MAX_READ_BUF);
        let mut file = match writer {
            Some(w) => w.into_file()?,
            None => scratch_file(&scratch_dir)?,
        };
        while runs.len() > MAX_FAN_IN {
            (file, runs) = merge_pass(&file, &runs, &scratch_dir, buf_len)?;
        }
        let merge = Merge::new(&file, &runs, buf_len)?;
        Ok(SortedRecords {
            total,
            inner: Inner::Merge { file, merge },
        })
    }
}

/// Sort the buffered records by key, equal keys in insertion order. Records are appended to
/// the arena in insertion order, so `(start, value_len)` breaks ties the way a stable sort
/// would (two records of one key share a `start` only if the earlier one is empty: empty key,
/// empty value). The unstable sort needs no scratch buffer (a stable sort allocates half the
/// slots again: 8 MiB for the encoder's runs).
///
/// Keys are compared [`CHUNK`] bytes at a time, most significant first (a radix sort whose
/// digits are chunks): the slots are sorted by the chunk of their key at depth 0, cached in
/// the slot, then each group of keys equal so far and not yet ended is sorted by its chunk
/// at the next depth, and so on. The records of one run share long prefixes (an SQS family
/// prefix, queue name and generation: 35 bytes and more), which a whole-key comparison
/// reads again, from the arena, on every comparison; here each depth reads each key once
/// and compares integers. A depth every key of a group shares is skipped without sorting.
/// Groups of at most [`SMALL_GROUP`] keys, and groups past [`MAX_CHUNK_DEPTH`] bytes (which
/// bounds the recursion), are sorted by comparing the rest of their keys.
fn sort_slots(slots: &mut [Slot], arena: &[u8]) {
    sort_group(slots, arena, 0);
}

/// Key bytes per chunk; the chunk's low byte holds how many key bytes are left.
const CHUNK: usize = 7;

/// The depth from which a group's keys are compared whole (bounds the recursion).
const MAX_CHUNK_DEPTH: usize = 32 * CHUNK;

/// Groups this small are sorted by comparing keys.
const SMALL_GROUP: usize = 16;

/// The chunk of `key` at byte `depth`: its [`CHUNK`] bytes there (zero past its end), most
/// significant first, then the number of bytes left, capped at `CHUNK + 1` ("more"). Two
/// keys equal before `depth` compare by chunk as by their bytes from `depth` on, except
/// that equal chunks of `CHUNK + 1` say only "equal so far": a key ending inside the chunk
/// is a prefix of any key whose padding-covered bytes are zero, and sorts first by its
/// smaller count.
fn chunk_at(key: &[u8], depth: usize) -> u64 {
    let rest = key.get(depth..).unwrap_or_default();
    if let Some(head) = rest.first_chunk::<8>() {
        // One load: the key goes on past the chunk.
        return (u64::from_be_bytes(*head) & !0xFF) | (CHUNK as u64 + 1);
    }
    let mut bytes = [0u8; 8];
    let n = rest.len().min(CHUNK);
    bytes[..n].copy_from_slice(&rest[..n]);
    bytes[CHUNK] = rest.len().min(CHUNK + 1) as u8;
    u64::from_be_bytes(bytes)
}

/// Whether a chunk's key goes on past it.
fn continues(chunk: u64) -> bool {
    chunk & 0xFF == CHUNK as u64 + 1
}

/// Sort `slots`, whose keys are equal before `depth`.
fn sort_group(slots: &mut [Slot], arena: &[u8], mut depth: usize) {
    let by_insertion = |a: &Slot, b: &Slot| a.start.cmp(&b.start).then(a.value_len.cmp(&b.value_len));
    loop {
        if slots.len() < 2 {
            return;
        }
        if slots.len() <= SMALL_GROUP || depth >= MAX_CHUNK_DEPTH {
            slots.sort_unstable_by(|a, b| {
                let (ka, kb) = (a.key(arena), b.key(arena));
                ka.get(depth..)
                    .cmp(&kb.get(depth..))
                    .then_with(|| by_insertion(a, b))
            });
            return;
        }
        let first = chunk_at(slots[0].key(arena), depth);
        let mut same = true;
        for slot in slots.iter_mut() {
            slot.chunk = chunk_at(slot.key(arena), depth);
            same &= slot.chunk == first;
        }
        if !same {
            break;
        }
        if !continues(first) {
            // Every key ends here: all equal.
            slots.sort_unstable_by(by_insertion);
            return;
        }
        depth += CHUNK;
    }
    slots.sort_unstable_by_key(|s| s.chunk);
    let mut rest = slots;
    while let Some(head) = rest.first() {
        let chunk = head.chunk;
        let n = rest.iter().position(|s| s.chunk != chunk).unwrap_or(rest.len());
        let (group, tail) = rest.split_at_mut(n);
        if continues(chunk) {
            sort_group(group, arena, depth + CHUNK);
        } else {
            group.sort_unstable_by(by_insertion);
        }
        rest = tail;
    }
}

/// A new anonymous scratch file in `dir`.
fn scratch_file(dir: &Path) -> io::Result<File> {
    tempfile::tempfile_in(dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "creating a spill file in scratch directory {}: {e}",
                dir.display()
            ),
        )
    })
}

/// Merge groups of [`MAX_FAN_IN`] consecutive runs of `file` into one run each, in a new
/// scratch file.
fn merge_pass(
    file: &File,
    runs: &[RunMeta],
    scratch_dir: &Path,
    buf_len: usize,
) -> io::Result<(File, Vec<RunMeta>)> {
    let mut out = RunWriter::new(scratch_file(scratch_dir)?);
    let mut merged = Vec::with_capacity(runs.len().div_ceil(MAX_FAN_IN));
    for group in runs.chunks(MAX_FAN_IN) {
        let mut merge = Merge::new(file, group, buf_len)?;
        while let Some((key, value)) = merge.next(file)? {
            out.write_record(key, value)?;
        }
        merged.push(out.finish_run());
    }
    Ok((out.into_file()?, merged))
}

/// The current record of one run in the merge heap. Ordered so that the max-heap pops the
/// smallest key, and for equal keys the lowest (earliest) run.
#[derive(Debug)]
struct Head {
    key: Vec<u8>,
    run: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Head) -> Ordering {
        other.key.cmp(&self.key).then_with(|| other.run.cmp(&self.run))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

/// A k-way merge of runs of one scratch file (passed to each call, not owned). The heap
/// holds each run's current key only; a value is read when its record is returned, into the
/// one value buffer, so memory does not grow with the number of runs times the value size.
#[derive(Debug)]
struct Merge {
    readers: Vec<RunReader>,
    heap: BinaryHeap<Head>,
    /// The record returned last; its run is advanced on the next call.
    current: Option<Head>,
    /// The value of the record returned last.
    value: Vec<u8>,
}

impl Merge {
    fn new(file: &File, runs: &[RunMeta], buf_len: usize) -> io::Result<Merge> {
        let mut merge = Merge {
            readers: Vec::with_capacity(runs.len()),
            heap: BinaryHeap::with_capacity(runs.len()),
            current: None,
            value: Vec::new(),
        };
        for (number, meta) in runs.iter().enumerate() {
            let mut reader = RunReader::new(*meta, number, buf_len);
            let mut head = Head {
                key: Vec::new(),
                run: number,
            };
            if reader.read_key(file, &mut head.key)? {
                merge.heap.push(head);
            }
            merge.readers.push(reader);
        }
        Ok(merge)
    }

    fn next(&mut self, file: &File) -> io::Result<Option<(&[u8], &[u8])>> {
        if let Some(mut head) = self.current.take() {
            if let Some(reader) = self.readers.get_mut(head.run) {
                if reader.read_key(file, &mut head.key)? {
                    self.heap.push(head);
                }
            }
        }
        self.current = self.heap.pop();
        let Some(head) = &self.current else {
            return Ok(None);
        };
        if let Some(reader) = self.readers.get_mut(head.run) {
            reader.read_value(file, &mut self.value)?;
        }
        Ok(Some((head.key.as_slice(), self.value.as_slice())))
    }

    /// Bytes the merge holds in buffers: the read buffers, the keys and the value.
    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        let keys: usize = self
            .heap
            .iter()
            .chain(&self.current)
            .map(|h| h.key.capacity())
            .sum();
        self.readers.iter().map(RunReader::buf_capacity).sum::<usize>() + keys + self.value.capacity()
    }
}

/// The records of an [`ExternalSorter`], in key order. Scratch files are released on drop.
#[derive(Debug)]
pub struct SortedRecords {
    total: u64,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    /// Nothing was spilled: the sorted buffer.
    Memory {
        arena: Vec<u8>,
        slots: Vec<Slot>,
        next: usize,
    },
    /// A merge of the runs of `file`.
    Merge { file: File, merge: Merge },
}

impl SortedRecords {
    /// The next `(key, value)` record, valid until the next call; `None` at the end. Fails on
    /// a read error or a corrupt scratch file (`InvalidData`).
    #[allow(clippy::should_implement_trait)] // a lending iterator cannot be an Iterator
    pub fn next(&mut self) -> io::Result<Option<(&[u8], &[u8])>> {
        match &mut self.inner {
            Inner::Memory { arena, slots, next } => {
                let Some(slot) = slots.get(*next) else {
                    return Ok(None);
                };
                *next += 1;
                Ok(Some((slot.key(arena), slot.value(arena))))
            }
            Inner::Merge { file, merge } => merge.next(file),
        }
    }

    /// The number of records in all (read or not).
    pub fn len(&self) -> u64 {
        self.total
    }

    /// There are no records.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Record = (Vec<u8>, Vec<u8>);

    fn collect(sorted: &mut SortedRecords) -> Vec<Record> {
        let mut out = Vec::new();
        while let Some((k, v)) = sorted.next().unwrap() {
            out.push((k.to_vec(), v.to_vec()));
        }
        out
    }

    /// Sort `records` with `budget`; return the output and the number of spilled runs.
    fn sort(records: &[Record], budget: usize) -> (Vec<Record>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(budget, dir.path());
        for (k, v) in records {
            s.push(k, v).unwrap();
        }
        assert_eq!(s.len(), records.len() as u64);
        let runs = s.spilled_runs();
        let mut sorted = s.finish().unwrap();
        assert_eq!(sorted.len(), records.len() as u64);
        let out = collect(&mut sorted);
        assert!(sorted.next().unwrap().is_none());
        (out, runs)
    }

    fn stable_sorted(records: &[Record]) -> Vec<Record> {
        let mut want = records.to_vec();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        want
    }

    fn records(n: u32) -> Vec<Record> {
        (0..n)
            .map(|i| {
                let k = (i.wrapping_mul(2_654_435_761) % 97).to_be_bytes().to_vec();
                (k, i.to_le_bytes().to_vec())
            })
            .collect()
    }

    /// Keys over a three-letter alphabet (shared prefixes, keys that are prefixes of others,
    /// zero bytes where the chunk pads, many equal keys), behind no common prefix, one of
    /// 10 bytes (skipped depths), or one past `MAX_CHUNK_DEPTH` (whole-key comparison).
    fn key_strategy() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let tail = proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(0xFF)], 0..20);
        (0..3usize, tail).prop_map(|(prefix, tail)| {
            let mut key = vec![7u8; [0, 10, MAX_CHUNK_DEPTH + 3][prefix]];
            key.extend(tail);
            key
        })
    }

    proptest::proptest! {
        #[test]
        fn any_keys_sort_as_a_stable_sort_by_bytes(
            keys in proptest::collection::vec(key_strategy(), 0..300),
            budget in proptest::prop_oneof![proptest::strategy::Just(1usize << 20), proptest::strategy::Just(2048)],
        ) {
            // Every third value empty: ties of empty records rest on the arena offsets.
            let recs: Vec<Record> = keys
                .into_iter()
                .enumerate()
                .map(|(i, k)| (k, if i % 3 == 0 { vec![] } else { (i as u32).to_be_bytes().to_vec() }))
                .collect();
            let (out, _) = sort(&recs, budget);
            proptest::prop_assert_eq!(out, stable_sorted(&recs));
        }
    }

    #[test]
    fn chunks_order_like_the_bytes_they_cover() {
        // Pairs equal before the depth: a key ending inside the chunk, padding against zero
        // bytes, the length code against a byte of 0xFF.
        let keys: [&[u8]; 9] = [
            b"",
            b"\0",
            b"\0\0",
            b"a",
            b"a\0",
            b"abcdefg",
            b"abcdefg\0",
            b"abcdefh",
            b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        ];
        for a in keys {
            for b in keys {
                let (ca, cb) = (chunk_at(a, 0), chunk_at(b, 0));
                if a.len() > CHUNK && b.len() > CHUNK && a[..CHUNK] == b[..CHUNK] {
                    assert_eq!(ca, cb, "{a:?} {b:?}");
                } else {
                    assert_eq!(ca.cmp(&cb), a.cmp(b), "{a:?} {b:?}");
                }
            }
        }
        assert_eq!(chunk_at(b"xyabc", 2), chunk_at(b"abc", 0));
        assert!(continues(chunk_at(b"abcdefgh", 0)) && !continues(chunk_at(b"abcdefg", 0)));
    }

    #[test]
    fn empty_sorter() {
        let dir = tempfile::tempdir().unwrap();
        let s = ExternalSorter::new(0, dir.path());
        assert!(s.is_empty());
        let mut sorted = s.finish().unwrap();
        assert!(sorted.is_empty());
        assert!(sorted.next().unwrap().is_none());
    }

    #[test]
    fn in_memory_sort_is_stable() {
        let recs: Vec<Record> = [("b", "1"), ("a", "2"), ("b", "3"), ("", "4")]
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        let (out, runs) = sort(&recs, 1 << 20);
        assert_eq!(runs, 0);
        let got: Vec<&[u8]> = out.iter().map(|(_, v)| v.as_slice()).collect();
        assert_eq!(got, [b"4", b"2", b"1", b"3"]);
    }

    #[test]
    fn equal_keys_keep_insertion_order_in_a_large_buffer() {
        // Empty records share their successor's arena offset: ("", "") then ("", "x") must
        // stay in that order, as must many equal keys (a sort large enough to be a real
        // unstable sort, not an insertion sort of a few elements).
        let mut recs: Vec<Record> = vec![(vec![], vec![]), (vec![], b"x".to_vec()), (vec![], vec![])];
        recs.extend((0u32..5000).map(|i| (vec![(i % 7) as u8], i.to_be_bytes().to_vec())));
        recs.push((vec![], vec![]));
        for budget in [1 << 20, 4096] {
            let (out, _) = sort(&recs, budget);
            assert_eq!(out, stable_sorted(&recs), "budget {budget}");
        }
    }

    #[test]
    fn zero_budget_spills_every_record_and_merges_in_passes() {
        let recs = records(1000);
        let (out, runs) = sort(&recs, 0);
        // Every record but the last becomes a run while pushing; the last at finish.
        assert_eq!(runs, 999);
        assert_eq!(out, stable_sorted(&recs));
    }

    #[test]
    fn a_value_pushed_in_parts_is_one_value() {
        let dir = tempfile::tempdir().unwrap();
        for budget in [0, 1 << 20] {
            let mut s = ExternalSorter::new(budget, dir.path());
            s.push_parts(b"b", &[b"x", b"", b"yz"]).unwrap();
            s.push_parts(b"a", &[]).unwrap();
            s.push(b"c", b"w").unwrap();
            let out = collect(&mut s.finish().unwrap());
            let want: Vec<Record> = [("a", ""), ("b", "xyz"), ("c", "w")]
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect();
            assert_eq!(out, want, "budget {budget}");
        }
    }

    #[test]
    fn a_value_of_4_gib_is_refused_before_anything_is_copied() {
        // Zeroed pages from the allocator: reserved, never touched.
        let huge = vec![0u8; 1 << 32];
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(1 << 20, dir.path());
        s.push(b"a", b"1").unwrap();
        let err = s.push(b"k", &huge).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("4294967296-byte value"), "{err}");
        assert_eq!((s.len(), s.arena.len()), (1, 2));
        assert_eq!(
            collect(&mut s.finish().unwrap()),
            [(b"a".to_vec(), b"1".to_vec())]
        );
    }

    #[test]
    fn budget_counts_record_overhead() {
        // Each record is 2 + 2 + overhead bytes: exactly 3 fit in half the budget.
        let per = 4 + RECORD_OVERHEAD;
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(2 * 3 * per, dir.path());
        for i in 0u8..3 {
            s.push(&[0, i], &[1, i]).unwrap();
        }
        assert_eq!(s.spilled_runs(), 0);
        s.push(&[0, 3], &[1, 3]).unwrap();
        assert_eq!(s.spilled_runs(), 1);
    }

    #[test]
    fn allocations_stay_within_the_budget() {
        let budget = 10_000;
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(budget, dir.path());
        for i in 0u32..20_000 {
            let value = vec![0u8; (i % 13) as usize];
            s.push(&i.to_be_bytes(), &value).unwrap();
            assert!(s.used <= budget / 2);
            // The buffer being filled; the one being written obeys the same bound.
            let allocated = s.arena.capacity() + s.slots.capacity() * RECORD_OVERHEAD;
            assert!(allocated <= budget, "{allocated} bytes allocated at record {i}");
        }
        assert!(s.spilled_runs() > 20);
    }

    #[test]
    fn record_larger_than_budget_is_alone_in_its_run() {
        let big = vec![9u8; 100_000];
        let recs = vec![
            (b"m".to_vec(), b"1".to_vec()),
            (b"a".to_vec(), big.clone()),
            (b"z".to_vec(), b"2".to_vec()),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(64, dir.path());
        for (k, v) in &recs {
            s.push(k, v).unwrap();
        }
        assert_eq!(s.spilled_runs(), 2);
        assert!(s.arena.capacity() <= 64, "{}", s.arena.capacity());
        let (out, runs) = sort(&recs, 64);
        assert_eq!(runs, 2);
        assert_eq!(out, stable_sorted(&recs));
    }

    #[test]
    fn merge_holds_one_value_not_one_per_run() {
        // 40 runs of one 100 KB record each (the encoder's 1 MiB S3 chunks, scaled down):
        // holding each run's current value would be 4 MB; the merge holds one.
        let value_len = 100_000;
        let recs: Vec<Record> = (0u8..40)
            .map(|i| (vec![b'k', 39 - i], vec![i; value_len]))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(2 * value_len, dir.path());
        for (k, v) in &recs {
            s.push(k, v).unwrap();
        }
        assert_eq!(s.spilled_runs(), 39);
        let mut sorted = s.finish().unwrap();
        let mut out = Vec::new();
        loop {
            if let Inner::Merge { merge, .. } = &sorted.inner {
                let held = merge.held_bytes();
                assert!(held < value_len + 40 * (MIN_READ_BUF + 64), "{held} bytes held");
            } else {
                panic!("expected a merge");
            }
            match sorted.next().unwrap() {
                Some((k, v)) => out.push((k.to_vec(), v.to_vec())),
                None => break,
            }
        }
        assert_eq!(out, stable_sorted(&recs));
    }

    #[test]
    fn scratch_dir_stays_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(0, dir.path());
        for (k, v) in records(400) {
            s.push(&k, &v).unwrap();
        }
        assert!(s.spilled_runs() > MAX_FAN_IN);
        let count = || std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(count(), 0);
        let mut sorted = s.finish().unwrap();
        assert!(sorted.next().unwrap().is_some());
        assert_eq!(count(), 0);
        drop(sorted);
        assert_eq!(count(), 0);
    }

    #[test]
    fn missing_scratch_dir_fails_on_first_spill_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent");
        let mut s = ExternalSorter::new(0, &missing);
        s.push(b"a", b"1").unwrap();
        let err = s.push(b"b", b"2").unwrap_err();
        assert!(err.to_string().contains("absent"), "{err}");
        // Nothing spilled: an in-memory sort never touches the directory.
        let mut s = ExternalSorter::new(1 << 20, &missing);
        s.push(b"b", b"2").unwrap();
        s.push(b"a", b"1").unwrap();
        let out = collect(&mut s.finish().unwrap());
        assert_eq!(out[0].0, b"a");
    }

    #[test]
    fn dropping_a_sorter_with_runs_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(10, dir.path());
        for (k, v) in records(50) {
            s.push(&k, &v).unwrap();
        }
        assert!(s.spilled_runs() > 0);
        drop(s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn head_order_pops_smallest_key_then_earliest_run() {
        let mut heap = BinaryHeap::new();
        for (key, run) in [(b"b", 0), (b"a", 2), (b"a", 1), (b"c", 0)] {
            heap.push(Head {
                key: key.to_vec(),
                run,
            });
        }
        let order: Vec<(Vec<u8>, usize)> =
            std::iter::from_fn(|| heap.pop().map(|h| (h.key, h.run))).collect();
        assert_eq!(
            order,
            [
                (b"a".to_vec(), 1),
                (b"a".to_vec(), 2),
                (b"b".to_vec(), 0),
                (b"c".to_vec(), 0)
            ]
        );
    }

    #[test]
    fn corrupt_scratch_file_is_an_error_during_merge() {
        use std::io::{Seek, SeekFrom, Write};
        // Records of 4 + 4 bytes, 1000 per run (half the budget): runs of 24,000 bytes, far more than the
        // 4 KiB each reader has loaded when the merge starts.
        let dir = tempfile::tempdir().unwrap();
        let mut s = ExternalSorter::new(2 * 1000 * (8 + RECORD_OVERHEAD), dir.path());
        for (k, v) in records(3000) {
            s.push(&k, &v).unwrap();
        }
        let mut sorted = s.finish().unwrap();
        let Inner::Merge { file, .. } = &mut sorted.inner else {
            panic!("expected a merge");
        };
        // Corrupt the key length of run 0's 900th record.
        file.seek(SeekFrom::Start(24 * 900)).unwrap();
        file.write_all(&u64::MAX.to_le_bytes()).unwrap();
        let err = loop {
            match sorted.next() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("corruption not detected"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().starts_with("spill run 0 at scratch byte 21600:"),
            "{err}"
        );
    }
}
