//! Huge length prefixes never size an allocation: a counting global allocator records the
//! largest single request while the reader meets key/value lengths up to u64::MAX.
//! (One test in this binary, so no other test's allocations interfere.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use ekv_snapshot::container::{ContainerError, FsmHeader, PebbleStreamReader, SnapshotFile};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn huge_lengths_never_allocate() {
    let mut cases: Vec<(Vec<u8>, &str)> = Vec::new();
    for klen in [u64::MAX, 1u64 << 40, 1_048_584] {
        let mut b = b"EKVPBBL1".to_vec();
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&klen.to_le_bytes());
        b.extend_from_slice(b"a few key bytes");
        cases.push((b, "key"));
    }
    for vlen in [u64::MAX, 268_435_499, 268_435_500] {
        let mut b = b"EKVPBBL1".to_vec();
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&9u64.to_le_bytes());
        b.extend_from_slice(b"key-12345");
        b.extend_from_slice(&vlen.to_le_bytes());
        b.extend_from_slice(b"some value bytes");
        cases.push((b, "value"));
    }
    // v2 header with len 0xFFFF.
    let mut v2 = b"EKVTHLC2".to_vec();
    v2.extend_from_slice(&[0xFF, 0xFF]);
    cases.push((v2, "header"));
    let _ = FsmHeader::v1(0); // keep the type in use for the header case below

    LARGEST.store(0, Ordering::Relaxed);
    for (bytes, what) in &cases {
        let mut r = PebbleStreamReader::new(&bytes[..]);
        if let Ok(r) = r.as_mut() {
            assert!(r.next().is_err(), "{what}");
        }
        let e = SnapshotFile::from_reader(&bytes[..], Path::new("a.fsm"), None).and_then(|mut f| f.finish());
        assert!(e.is_err(), "{what}");
        assert!(!matches!(
            e.unwrap_err().root(),
            ContainerError::AfterError { .. }
        ));
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    // The reader's 256 KiB buffer is the largest allocation; nothing sized by a length.
    assert!(largest <= 512 * 1024, "largest allocation {largest} bytes");
}
