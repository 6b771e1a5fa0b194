//! Bounded memory of the Redis decoder (issue #3): a counting global allocator tracks the
//! live heap while 100k hashes plus one hash of 250k fields (about 110 MB of records) go
//! through a decoder whose sorter budget is 1 MiB; one key in four is long enough to need a
//! KEYMAP line. The decoder's heap must stay within a few
//! budgets, whatever the input size and whatever the size of one collection. The only test
//! of this binary, so no other test allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ekv_snapshot::adapters::redis::keys::*;
use ekv_snapshot::adapters::redis::RedisDecoder;
use ekv_snapshot::adapters::{DecodeContext, Record};
use ekv_snapshot::dump::DumpError;
use ekv_snapshot::dump::{OutFile, TreeOut};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
            grew(new);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A tree that keeps nothing: it counts files and bytes (the KEYMAP's apart).
#[derive(Default)]
struct NullTree {
    files: u64,
    bytes: u64,
    keymap_bytes: u64,
    /// Bytes written to the file open now.
    open: Rc<Cell<u64>>,
}

/// Counts what is written into a shared cell.
struct Counter(Rc<Cell<u64>>);

impl std::io::Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.set(self.0.get() + b.len() as u64);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl TreeOut for NullTree {
    fn write_file(&mut self, _rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
        self.files += 1;
        self.bytes += bytes.len() as u64;
        Ok(())
    }
    fn create_file(&mut self, rel: &str) -> Result<OutFile, DumpError> {
        self.open.set(0);
        Ok(OutFile::Other {
            rel: rel.to_owned(),
            writer: Box::new(Counter(self.open.clone())),
        })
    }
    fn finish_file(&mut self, f: OutFile) -> Result<(), DumpError> {
        let n = self.open.get();
        match f {
            OutFile::Other { rel, .. } if rel.ends_with("KEYMAP.jsonl") => self.keymap_bytes = n,
            _ => {
                self.files += 1;
                self.bytes += n;
            }
        }
        Ok(())
    }
    fn ensure_dir(&mut self, _rel: &str) -> Result<(), DumpError> {
        Ok(())
    }
}

#[test]
fn decoder_heap_stays_within_a_few_budgets_for_100k_keys_and_one_big_hash() {
    const BUDGET: usize = 1 << 20;
    const KEYS: u32 = 100_000;
    let scratch = tempfile::tempdir().unwrap();
    let mut tree = NullTree::default();
    let cx = DecodeContext {
        scratch_dir: scratch.path().to_path_buf(),
    };
    let mut dec = RedisDecoder::new(&Default::default(), &cx).with_sort_budget(BUDGET);
    let (mut key, mut value) = (Vec::new(), Vec::new());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut fed = 0u64;
    let mut values_fed = 0u64;
    for i in 0..KEYS {
        // One key in four is too long for a file name: a SHA-fallback name and a KEYMAP line.
        let uk = match i % 4 {
            0 => format!("user:{i:08}:{}", "x".repeat(300)),
            _ => format!("user:{i:08}"),
        };
        for f in 0..8u8 {
            key.clear();
            key.extend_from_slice(&wide_key(HASH_FIELD_PREFIX, uk.as_bytes(), &[b'f', b'0' + f]));
            value.clear();
            value.resize(80, b'a' + f);
            dec.handle_record(&mut tree, &Record::routed(&key, &value).unwrap())
                .unwrap();
            fed += (key.len() + value.len()) as u64;
            values_fed += value.len() as u64;
        }
        key = wide_key(HASH_META_PREFIX, uk.as_bytes(), b"");
        dec.handle_record(&mut tree, &Record::routed(&key, &8u64.to_be_bytes()).unwrap())
            .unwrap();
        if i % 2 == 0 {
            key = [TTL_PREFIX, uk.as_bytes()].concat();
            dec.handle_record(&mut tree, &Record::routed(&key, &5u64.to_be_bytes()).unwrap())
                .unwrap();
        }
    }
    // One big collection: written element by element, never held.
    for f in 0..250_000u32 {
        key = wide_key(HASH_FIELD_PREFIX, b"zz-big", format!("field{f:08}").as_bytes());
        value.clear();
        value.resize(100, b'v');
        dec.handle_record(&mut tree, &Record::routed(&key, &value).unwrap())
            .unwrap();
        fed += (key.len() + value.len()) as u64;
        values_fed += value.len() as u64;
    }
    let intake_peak = PEAK.load(Ordering::Relaxed) - base;
    let mut warnings = Vec::new();
    dec.finalize_into(&mut tree, &mut warnings).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    println!("fed {fed} bytes; heap peak {intake_peak} at intake, {peak} overall");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(tree.files, u64::from(KEYS) + 1);
    assert!(
        tree.bytes > values_fed,
        "{} bytes written for {values_fed} value bytes fed",
        tree.bytes
    );
    // 25,000 KEYMAP lines of ~450 bytes: about 11 MB, far more than the heap bound below.
    assert!(
        tree.keymap_bytes > 10 * BUDGET as u64,
        "KEYMAP {} bytes",
        tree.keymap_bytes
    );
    assert!(dec.spilled_runs() > 64, "{} runs", dec.spilled_runs());
    // The input is 100 budgets (the big hash alone 30); the heap never holds more than 3.
    assert!(fed > 100 * BUDGET as u64, "fed {fed}");
    assert!(intake_peak < 3 * BUDGET, "intake peak {intake_peak}");
    assert!(peak < 3 * BUDGET, "peak {peak} (intake {intake_peak})");
}
