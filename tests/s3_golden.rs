//! S3 golden tests against elastickv's Go toolkit (fixtures: tests/fixtures/s3/README.md):
//! our encode gives Go's `.fsm` bytes, our decode of Go's `.fsm` gives the tree.

use crate::s3_util::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[test]
fn encode_of_the_small_tree_is_gos_bytes() {
    let ours = frame(encode_records(&fixtures().join("small")), 7000);
    let go = std::fs::read(fixtures().join("small.fsm")).unwrap();
    assert_eq!(ours, go);
}

#[test]
fn encode_of_the_big_tree_is_gos_bytes() {
    let dir = tempfile::tempdir().unwrap();
    big_tree(dir.path());
    let records = encode_records(dir.path());
    // 1 + 3 + 1 blob chunks, 3 manifests, bucket meta and generation
    assert_eq!(records.len(), 10);
    let ours = frame(records, 7000);
    assert_eq!(ours.len(), 3_672_101);
    let want = std::fs::read_to_string(fixtures().join("big.fsm.sha256")).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&ours)), want.trim());
}

#[test]
fn pipeline_encode_of_the_small_tree_is_gos_fsm() {
    let go = std::fs::read(fixtures().join("small.fsm")).unwrap();
    assert_eq!(encode_s3(&fixtures().join("small")), go);
}

#[test]
fn decode_of_gos_small_fsm_is_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let out = decode_s3(&fixtures().join("small.fsm"), dir.path(), true);
    assert_eq!(s3_files(&out), s3_files(&fixtures().join("small")));
    // nothing but the tree: no staged files left behind
    assert!(!out.join(".staged").exists());
}

/// The big tree under `dir/tree`, with the small fixture's MANIFEST.json.
fn big_tree_with_manifest(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    big_tree(&tree);
    std::fs::write(
        tree.join("MANIFEST.json"),
        std::fs::read(fixtures().join("small/MANIFEST.json")).unwrap(),
    )
    .unwrap();
    tree
}

#[test]
fn decode_of_the_big_fsm_is_the_tree_and_a_fixed_point() {
    let dir = tempfile::tempdir().unwrap();
    let tree = big_tree_with_manifest(dir.path());
    let fsm = dir.path().join("big.fsm");
    let bytes = encode_s3(&tree);
    let want = std::fs::read_to_string(fixtures().join("big.fsm.sha256")).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), want.trim());
    std::fs::write(&fsm, &bytes).unwrap();
    let d1 = dir.path().join("d1");
    std::fs::create_dir(&d1).unwrap();
    let out = decode_s3(&fsm, &d1, true);
    assert_eq!(s3_files(&out), s3_files(&tree));
    // decode → encode → decode
    assert_eq!(encode_s3(&out), bytes);
}

#[test]
fn pipeline_encode_of_the_big_tree_is_gos_bytes_whatever_the_budget_and_threads() {
    use ekv_snapshot::adapters::Adapter;
    use ekv_snapshot::dump::Manifest;
    use ekv_snapshot::pipeline::{encode_snapshot, EncodeOptions, DEFAULT_SORT_BUDGET};
    let dir = tempfile::tempdir().unwrap();
    let tree = big_tree_with_manifest(dir.path());
    let m = Manifest::read(&tree).unwrap();
    let want = std::fs::read_to_string(fixtures().join("big.fsm.sha256")).unwrap();
    // The body chunks travel through the sort as references to the tree's files, spilled
    // like any value when the budget is small.
    for (budget, threads) in [(0, 1), (1 << 10, 2), (DEFAULT_SORT_BUDGET, 4)] {
        let mut o = EncodeOptions::from_manifest(tree.clone(), &m, Some(vec![Adapter::S3]), None).unwrap();
        o.sort_budget = budget;
        o.threads = threads;
        o.scratch_root = Some(dir.path().to_path_buf());
        let mut out = Vec::new();
        let r = encode_snapshot(&o, &mut out).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&out)), want.trim(), "budget {budget}");
        assert_eq!(r.sha256, <[u8; 32]>::from(Sha256::digest(&out)));
        match budget {
            0 => assert!(r.spilled_runs > 1, "{} runs", r.spilled_runs),
            DEFAULT_SORT_BUDGET => assert_eq!(r.spilled_runs, 0),
            _ => {}
        }
    }
}
