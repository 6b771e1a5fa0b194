//! S3 golden tests against elastickv's Go toolkit (fixtures: tests/fixtures/s3/README.md).

use std::path::{Path, PathBuf};

use ekv_snapshot::adapters::s3::S3Encoder;
use ekv_snapshot::adapters::{Encoder, RecordSink, SinkError};
use sha2::{Digest, Sha256};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/s3")
}

#[derive(Default)]
struct Collect(Vec<(Vec<u8>, Vec<u8>)>);

impl RecordSink for Collect {
    fn add(&mut self, k: &[u8], v: &[u8]) -> Result<(), SinkError> {
        self.0.push((k.to_vec(), v.to_vec()));
        Ok(())
    }
}

/// Our records framed as Go frames them: every record at `ts`, sorted by encoded key.
fn frame(mut records: Vec<(Vec<u8>, Vec<u8>)>, ts: u64) -> Vec<u8> {
    records.sort();
    let mut out = b"EKVPBBL1".to_vec();
    out.extend_from_slice(&ts.to_le_bytes());
    for (k, v) in records {
        let mut key = k;
        key.extend_from_slice(&(!ts).to_be_bytes());
        let mut val = vec![0u8];
        val.extend_from_slice(&0u64.to_le_bytes());
        val.extend_from_slice(&v);
        out.extend_from_slice(&(key.len() as u64).to_le_bytes());
        out.extend_from_slice(&key);
        out.extend_from_slice(&(val.len() as u64).to_le_bytes());
        out.extend_from_slice(&val);
    }
    out
}

fn encode_records(root: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut sink = Collect::default();
    S3Encoder.encode(root, &mut sink).unwrap();
    sink.0
}

/// Body `seed` of the big tree: byte i = (i*31 + seed*7 + (i >> 12)) % 251.
fn big_body(n: usize, seed: usize) -> Vec<u8> {
    (0..n)
        .map(|i| ((i * 31 + seed * 7 + (i >> 12)) % 251) as u8)
        .collect()
}

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// The `big` tree of the README (bodies of 1 MiB, 2.5 MiB and 1 byte).
pub fn big_tree(root: &Path) {
    put(
        root,
        "s3/big/_bucket.json",
        b"{\n  \"format_version\": 1,\n  \"name\": \"big\",\n  \"region\": \"eu-west-1\"\n}",
    );
    put(root, "s3/big/one-mib.bin", &big_body(1 << 20, 1));
    put(root, "s3/big/one-mib.bin.elastickv-meta.json", b"{\n  \"format_version\": 1,\n  \"etag\": \"one\",\n  \"size_bytes\": 1048576,\n  \"last_modified\": \"2024-05-06T07:08:09.01Z\",\n  \"content_type\": \"application/octet-stream\"\n}");
    put(root, "s3/big/nested/two-and-half.bin", &big_body(5 << 19, 2));
    put(root, "s3/big/nested/two-and-half.bin.elastickv-meta.json", b"{\n  \"format_version\": 1,\n  \"etag\": \"twohalf\",\n  \"size_bytes\": 2621440,\n  \"user_metadata\": {\n    \"k\": \"v\"\n  }\n}");
    put(root, "s3/big/tiny", b"x");
    put(
        root,
        "s3/big/tiny.elastickv-meta.json",
        b"{\n  \"format_version\": 1,\n  \"size_bytes\": 1\n}",
    );
}

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
