//! Library-level encode pipeline: sort budget and spill, duplicate keys, the self-test's
//! corruption detection, and the decode → encode → decode round trip on a Redis tree.

use std::fs;
use std::path::{Path, PathBuf};

use ekv_snapshot::adapters::Adapter;
use ekv_snapshot::dump::Manifest;
use ekv_snapshot::pipeline::NoProgress;
use ekv_snapshot::pipeline::{decode_snapshot, DecodeOptions};
use ekv_snapshot::pipeline::{encode_snapshot, EncodeOptions, DEFAULT_SORT_BUDGET};
use ekv_snapshot::ErrorKind;

use crate::common::{put, redis_tree};

fn options(root: &Path, budget: usize, scratch: &Path) -> EncodeOptions {
    let m = Manifest::read(root).unwrap();
    let mut o =
        EncodeOptions::from_manifest(root.to_path_buf(), &m, Some(vec![Adapter::Redis]), None).unwrap();
    o.sort_budget = budget;
    o.scratch_root = Some(scratch.to_path_buf());
    o
}

/// Many strings and a big hash, so the sort has real work.
fn big_tree(root: &Path) -> PathBuf {
    let root = redis_tree(root, 7000);
    for i in 0..300 {
        put(
            &root,
            &format!("redis/db_0/strings/k{i:04}.bin"),
            format!("value-{i}").as_bytes(),
        );
    }
    // Canonical MarshalIndent layout, so the tree round-trips byte for byte.
    let fields: Vec<String> = (0..200)
        .map(|i| format!("    {{\n      \"name\": \"f{i:03}\",\n      \"value\": \"v{i}\"\n    }}"))
        .collect();
    let hash = format!(
        "{{\n  \"format_version\": 1,\n  \"fields\": [\n{}\n  ],\n  \"expire_at_ms\": null\n}}",
        fields.join(",\n")
    );
    put(&root, "redis/db_0/hashes/big.json", hash.as_bytes());
    root
}

#[test]
fn tiny_sort_budget_spills_and_gives_identical_bytes() {
    let d = tempfile::tempdir().unwrap();
    let root = big_tree(&d.path().join("dump"));
    let mut a = Vec::new();
    let ra = encode_snapshot(&options(&root, DEFAULT_SORT_BUDGET, d.path()), &mut a).unwrap();
    let mut b = Vec::new();
    let rb = encode_snapshot(&options(&root, 512, d.path()), &mut b).unwrap();
    assert_eq!(ra.spilled_runs, 0);
    assert!(
        rb.spilled_runs > 1,
        "a 512-byte budget must spill ({} runs)",
        rb.spilled_runs
    );
    assert_eq!(a, b);
    assert_eq!(ra.sha256, rb.sha256);
    assert_eq!(ra.records, rb.records);
}

#[test]
fn any_thread_count_gives_identical_bytes() {
    let d = tempfile::tempdir().unwrap();
    let root = big_tree(&d.path().join("dump"));
    let run = |threads: usize| {
        let mut o = options(&root, 4096, d.path());
        o.threads = threads;
        let mut out = Vec::new();
        let r = encode_snapshot(&o, &mut out).unwrap();
        (out, r.sha256, r.records)
    };
    let one = run(1);
    assert!(one.2 > 500, "{} records", one.2);
    for threads in [2, 3, 8] {
        assert!(run(threads) == one, "{threads} threads differ from 1");
    }
}

#[test]
fn the_first_bad_file_in_walk_order_is_reported_for_any_thread_count() {
    let d = tempfile::tempdir().unwrap();
    let root = big_tree(&d.path().join("dump"));
    // Two bad files far apart in name order; the walk reports the first one.
    put(&root, "redis/db_0/hashes/a-bad.json", b"{\"format_version\": 2}");
    put(&root, "redis/db_0/hashes/z-bad.json", b"not json");
    for threads in [1, 2, 4] {
        let mut o = options(&root, DEFAULT_SORT_BUDGET, d.path());
        o.threads = threads;
        let err = encode_snapshot(&o, &mut Vec::new()).unwrap_err().to_string();
        assert!(
            err.contains("a-bad.json") && err.contains("format_version"),
            "{threads}: {err}"
        );
    }
}

/// A destination that accepts `limit` bytes, then fails.
struct FailingOutput {
    written: usize,
    limit: usize,
}

impl std::io::Write for FailingOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() > self.limit {
            return Err(std::io::Error::other("disk full (test)"));
        }
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_output_is_reported_as_itself() {
    let d = tempfile::tempdir().unwrap();
    let root = big_tree(&d.path().join("dump"));
    for limit in [0, 100] {
        let mut out = FailingOutput { written: 0, limit };
        let err = encode_snapshot(&options(&root, DEFAULT_SORT_BUDGET, d.path()), &mut out).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("disk full (test)"), "{text}");
        assert_eq!(err.kind(), ErrorKind::Usage, "{text}");
    }
}

#[test]
fn duplicate_encoded_keys_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    let root = redis_tree(&d.path().join("dump"), 7000);
    // `%41` and `A` decode to the same key: two records with one encoded key.
    put(&root, "redis/db_0/strings/A.bin", b"1");
    put(&root, "redis/db_0/strings/%41.bin", b"2");
    let err = encode_snapshot(&options(&root, DEFAULT_SORT_BUDGET, d.path()), &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(err.to_string().contains("duplicate"), "{err}");
}

#[test]
fn lower_last_commit_ts_is_rejected_before_any_byte() {
    let d = tempfile::tempdir().unwrap();
    let root = redis_tree(&d.path().join("dump"), 7000);
    let mut o = options(&root, DEFAULT_SORT_BUDGET, d.path());
    o.last_commit_ts = 6999;
    let mut out = Vec::new();
    let err = encode_snapshot(&o, &mut out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(out.is_empty());
}

#[test]
fn decode_encode_decode_round_trip_is_identical() {
    let d = tempfile::tempdir().unwrap();
    let root = big_tree(&d.path().join("dump"));
    let fsm = d.path().join("a.fsm");
    let mut bytes = Vec::new();
    encode_snapshot(&options(&root, DEFAULT_SORT_BUDGET, d.path()), &mut bytes).unwrap();
    fs::write(&fsm, &bytes).unwrap();
    let tree = d.path().join("tree");
    let mut dopts = DecodeOptions::new(&tree);
    dopts.adapters = vec![Adapter::Redis];
    let r = decode_snapshot(&fsm, &dopts, &mut NoProgress).unwrap();
    assert_eq!(r.last_commit_ts, 7000);
    let diffs = ekv_snapshot::pipeline::diff_subtree(&root.join("redis"), &tree.join("redis"), &|_| {
        ekv_snapshot::adapters::CompareRule::Bytes
    })
    .unwrap();
    assert!(diffs.lines.is_empty(), "{diffs:?}");
    // And the tree re-encodes to the same bytes.
    let mut again = Vec::new();
    encode_snapshot(&options(&tree, DEFAULT_SORT_BUDGET, d.path()), &mut again).unwrap();
    assert_eq!(bytes, again);
}
