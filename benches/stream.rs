//! Stream reader throughput over an in-memory payload: the bare `EKVPBBL1` reader, and the
//! full `SnapshotFile` path on a live file (FSM header, running CRC32C, footer check).
//!
//! `cargo bench --bench stream`

use std::hint::black_box;
use std::io::Write;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ekv_snapshot::container::{
    Crc32cWriter, FsmHeader, PebbleStreamReader, PebbleStreamWriter, SnapshotFile, StreamEntry,
};

/// ~`size` bytes of mixed entries: 20–40 byte keys, ~100-byte values, a few raw rows.
fn payload(size: usize) -> Vec<u8> {
    let mut w = PebbleStreamWriter::new(Vec::with_capacity(size + 1024), 1 << 40).unwrap();
    let mut seed = 0x1234_5678_9ABC_DEF0u64;
    let mut body = Vec::new();
    let mut i = 0u64;
    while (w.bytes_written() as usize) < size {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        body.clear();
        body.extend((0..(75 + seed % 50)).map(|j| b'a' + ((seed >> (j % 56)) as u8 % 26)));
        let user = format!("!redis|str|key:{i:012}:{}", seed % 1000);
        w.write_mvcc(user.as_bytes(), (1 << 40) - (seed % 1000), 0, 0, &body)
            .unwrap();
        i += 1;
    }
    w.write_entry(b"_meta_applied_index", &7u64.to_le_bytes())
        .unwrap();
    w.finish().unwrap()
}

fn live(payload: &[u8]) -> Vec<u8> {
    let mut w = Crc32cWriter::new(Vec::with_capacity(payload.len() + 64));
    FsmHeader::v2(1, 2).write_to(&mut w).unwrap();
    w.write_all(payload).unwrap();
    w.finish_with_footer().unwrap()
}

fn bench(c: &mut Criterion) {
    let bare = payload(32 << 20);
    let live = live(&bare);
    let mut g = c.benchmark_group("stream");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(bare.len() as u64));
    g.bench_function("pebble_reader_bare", |b| {
        b.iter(|| {
            let mut r = PebbleStreamReader::new(&bare[..]).unwrap();
            let mut n = 0u64;
            while let Some(e) = r.next().unwrap() {
                if let StreamEntry::Mvcc(m) = e {
                    n += m.body.len() as u64;
                }
            }
            black_box(n)
        })
    });
    g.throughput(Throughput::Bytes(live.len() as u64));
    g.bench_function("snapshot_file_live_crc32c", |b| {
        b.iter(|| {
            let mut f = SnapshotFile::from_reader(&live[..], Path::new("bench.fsm"), None).unwrap();
            let mut n = 0u64;
            while let Some(e) = f.next().unwrap() {
                n += e.encoded_len();
            }
            black_box(f.finish().unwrap());
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
