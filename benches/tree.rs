//! `DumpTree` per-file cost on small-file trees of 64-byte files written with `write_file`.
//! Two layouts: `flat` puts every file in one directory (Redis strings); `nested` spreads
//! them over directories three levels deep, 100 files each (S3 objects), so the directory
//! changes every 100 files.
//!
//! `write_*` times `create` and the writes (the unpublished tree is removed untimed);
//! `publish_flat` times `publish` alone (CHECKSUMS, one `syncfs`, rename), which on a busy
//! machine mostly measures how much dirty data the whole filesystem holds.
//!
//! `cargo bench --bench tree`; `EKV_TREE_BENCH_FILES=100000` sets the files per tree
//! (default 20000).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ekv_snapshot::dump::DumpTree;
use tempfile::TempDir;

fn files() -> usize {
    std::env::var("EKV_TREE_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn rel(nested: bool, i: usize) -> String {
    if nested {
        let d = i / 100;
        format!("s3/bucket/objects/p{}/q{}/obj-{i:08}", d / 100, d % 100)
    } else {
        format!("redis/db_0/strings/key:{i:08}.bin")
    }
}

/// A tree of `n` files in a new scratch directory, and the time its writing took.
fn build(nested: bool, n: usize) -> (TempDir, DumpTree, Duration) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let body = [b'x'; 64];
    let start = Instant::now();
    let mut tree = DumpTree::create(&scratch.path().join("dump")).expect("create");
    for i in 0..n {
        tree.write_file(&rel(nested, i), &body).expect("write");
    }
    (scratch, tree, start.elapsed())
}

fn bench(c: &mut Criterion) {
    let n = files();
    let mut group = c.benchmark_group("tree");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(100));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(n as u64));
    for (name, nested) in [("flat", false), ("nested", true)] {
        group.bench_function(format!("write_{name}_{n}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let (scratch, tree, took) = build(nested, n);
                        drop((tree, scratch));
                        took
                    })
                    .sum()
            })
        });
    }
    group.bench_function(format!("publish_flat_{n}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let (scratch, tree, _) = build(false, n);
                    let start = Instant::now();
                    tree.publish(None).expect("publish");
                    let took = start.elapsed();
                    drop(scratch);
                    took
                })
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
