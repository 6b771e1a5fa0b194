//! Helpers shared by the S3 integration tests (`s3_golden.rs`, `s3_live.rs`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ekv_snapshot::adapters::s3::S3Encoder;
use ekv_snapshot::adapters::{Adapter, Encoder, RecordSink, SinkError};
use ekv_snapshot::dump::Manifest;
use ekv_snapshot::pipeline::NoProgress;
use ekv_snapshot::pipeline::{decode_snapshot, DecodeOptions};
use ekv_snapshot::pipeline::{encode_snapshot, EncodeOptions};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/s3")
}

#[derive(Default)]
pub struct Collect(pub Vec<(Vec<u8>, Vec<u8>)>);

impl RecordSink for Collect {
    fn add(&mut self, k: &[u8], v: &[u8]) -> Result<(), SinkError> {
        self.0.push((k.to_vec(), v.to_vec()));
        Ok(())
    }
}

/// Our records framed as Go frames them: every record at `ts`, sorted by encoded key.
pub fn frame(mut records: Vec<(Vec<u8>, Vec<u8>)>, ts: u64) -> Vec<u8> {
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

pub fn encode_records(root: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut sink = Collect::default();
    S3Encoder::new(
        &Default::default(),
        &ekv_snapshot::adapters::EncodeContext {
            threads: 1,
            scratch_dir: std::env::temp_dir(),
            reader: ekv_snapshot::dump::TreeReader::unverified(root),
        },
    )
    .encode(root, &mut sink)
    .unwrap();
    sink.0
}

/// Body `seed` of the big tree: byte i = (i*31 + seed*7 + (i >> 12)) % 251.
pub fn big_body(n: usize, seed: usize) -> Vec<u8> {
    (0..n)
        .map(|i| ((i * 31 + seed * 7 + (i >> 12)) % 251) as u8)
        .collect()
}

pub fn put(root: &Path, rel: &str, bytes: &[u8]) {
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

/// Every file under `root/s3`, relative path → bytes.
pub fn s3_files(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, rel: &str, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                out.insert(format!("{r}/"), Vec::new());
                walk(&e.path(), &r, out);
            } else {
                out.insert(r, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(&root.join("s3"), "", &mut out);
    out
}

/// Decode `fsm` (S3 only) into a new tree under `dir`.
pub fn decode_s3(fsm: &Path, dir: &Path, rename: bool) -> PathBuf {
    let out = dir.join("dump");
    let mut o = DecodeOptions::new(&out);
    o.adapters = vec![Adapter::S3];
    o.options.s3.rename_collisions = rename;
    o.scratch_root = Some(dir.to_path_buf());
    decode_snapshot(fsm, &o, &mut NoProgress).unwrap();
    out
}

/// Encode the S3 subtree of `root` through the pipeline.
pub fn encode_s3(root: &Path) -> Vec<u8> {
    let m = Manifest::read(root).unwrap();
    let o = EncodeOptions::from_manifest(root.to_path_buf(), &m, Some(vec![Adapter::S3]), None).unwrap();
    let mut out = Vec::new();
    encode_snapshot(&o, &mut out).unwrap();
    out
}
