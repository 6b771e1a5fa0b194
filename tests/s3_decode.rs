//! S3 decode through the pipeline on multi-version snapshots: the MVCC view (D1) shows the
//! newest state, and a few whole-snapshot rules.

use std::path::Path;

use crate::common::bare_stream;
use ekv_snapshot::adapters::s3::keys::{blob_key, bucket_meta_key, manifest_key};
use ekv_snapshot::adapters::Adapter;
use ekv_snapshot::pipeline::NoProgress;
use ekv_snapshot::pipeline::{decode_snapshot, DecodeOptions};

const TOMBSTONE: u8 = 1;

fn manifest(upload: &str, etag: &str, size: usize) -> Vec<u8> {
    format!(
        r#"{{"upload_id":"{upload}","etag":"{etag}","size_bytes":{size},"parts":[{{"part_no":1,"chunk_count":1,"chunk_sizes":[{size}]}}]}}"#
    )
    .into_bytes()
}

fn decode(dir: &Path, stream: &[u8]) -> std::path::PathBuf {
    let fsm = dir.join("in.fsm");
    std::fs::write(&fsm, stream).unwrap();
    let out = dir.join("dump");
    let mut o = DecodeOptions::new(&out);
    o.adapters = vec![Adapter::S3];
    o.scratch_root = Some(dir.to_path_buf());
    decode_snapshot(&fsm, &o, &mut NoProgress).unwrap();
    out
}

#[test]
fn d1_overwritten_deleted_and_recreated_show_the_newest_state() {
    let meta1 = br#"{"bucket_name":"bk","generation":1}"#;
    let meta2 = br#"{"bucket_name":"bk","generation":2}"#;
    let (m_old, m_new) = (manifest("u1", "old", 3), manifest("u2", "new", 5));
    let (m_gone, m_gen1) = (manifest("u1", "gone", 1), manifest("u1", "g1", 2));
    let bm = bucket_meta_key(b"bk");
    let (over, over_b1, over_b2) = (
        manifest_key(b"bk", 2, b"over"),
        blob_key(b"bk", 2, b"over", b"u1", 1, 0, 0),
        blob_key(b"bk", 2, b"over", b"u2", 1, 0, 0),
    );
    let (gone, gone_b) = (
        manifest_key(b"bk", 2, b"gone"),
        blob_key(b"bk", 2, b"gone", b"u1", 1, 0, 0),
    );
    let (g1, g1_b) = (
        manifest_key(b"bk", 1, b"first"),
        blob_key(b"bk", 1, b"first", b"u1", 1, 0, 0),
    );
    let stream = bare_stream(
        100,
        &[
            // bucket dropped (gen 1) and re-created (gen 2): the newest meta wins
            (&bm, 10, 0, meta1),
            (&bm, 50, 0, meta2),
            (&g1, 11, 0, &m_gen1),
            (&g1_b, 11, 0, b"g1"),
            // overwritten: new upload, old chunks deleted
            (&over, 60, 0, &m_old),
            (&over, 70, 0, &m_new),
            (&over_b1, 60, 0, b"old"),
            (&over_b1, 70, TOMBSTONE, b""),
            (&over_b2, 70, 0, b"newer"),
            // deleted object: manifest and chunks tombstoned
            (&gone, 60, 0, &m_gone),
            (&gone, 80, TOMBSTONE, b""),
            (&gone_b, 60, 0, b"g"),
            (&gone_b, 80, TOMBSTONE, b""),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let out = decode(dir.path(), &stream);
    let b = out.join("s3/bk");
    assert_eq!(std::fs::read(b.join("over")).unwrap(), b"newer");
    assert!(std::fs::read_to_string(b.join("over.elastickv-meta.json"))
        .unwrap()
        .contains("\"etag\": \"new\""));
    assert!(!b.join("gone").exists());
    assert!(
        !b.join("first").exists(),
        "the first incarnation's object must not come back"
    );
    let mut names: Vec<String> = std::fs::read_dir(&b)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["_bucket.json", "over", "over.elastickv-meta.json"]);
}

#[test]
fn a_failing_s3_decode_publishes_nothing() {
    // a manifest declaring a chunk that is not there
    let stream = bare_stream(
        5,
        &[(&manifest_key(b"bk", 1, b"o"), 1, 0, &manifest("u", "e", 4))],
    );
    let dir = tempfile::tempdir().unwrap();
    let fsm = dir.path().join("in.fsm");
    std::fs::write(&fsm, stream).unwrap();
    let out = dir.path().join("dump");
    let mut o = DecodeOptions::new(&out);
    o.adapters = vec![Adapter::S3];
    o.scratch_root = Some(dir.path().to_path_buf());
    let e = decode_snapshot(&fsm, &o, &mut NoProgress).unwrap_err();
    assert_eq!(e.kind(), ekv_snapshot::ErrorKind::Data);
    assert!(e.to_string().contains("incomplete blob chunks"), "{e}");
    assert!(!out.exists());
}

#[test]
fn d11_reserved_root_names_are_renamed_and_gos_encoder_restores_them() {
    let manifest = br#"{"upload_id":"u","etag":"e","size_bytes":2,"parts":[{"part_no":1,"chunk_count":1,"chunk_sizes":[2]}]}"#;
    let meta = br#"{"bucket_name":"bk","generation":1}"#;
    let mut keys = vec![(bucket_meta_key(b"bk"), &meta[..])];
    for key in [&b"_bucket.json"[..], b"KEYMAP.jsonl", b"plain"] {
        keys.push((manifest_key(b"bk", 1, key), &manifest[..]));
        keys.push((blob_key(b"bk", 1, key, b"u", 1, 0, 0), b"hi"));
    }
    let entries: Vec<(&[u8], u64, u8, &[u8])> =
        keys.iter().map(|(k, v)| (k.as_slice(), 100, 0, *v)).collect();
    let dir = tempfile::tempdir().unwrap();
    let out = decode(dir.path(), &bare_stream(100, &entries));
    let b = out.join("s3/bk");
    assert_eq!(std::fs::read(b.join("_bucket.json.user-data")).unwrap(), b"hi");
    assert!(std::fs::read_to_string(b.join("_bucket.json"))
        .unwrap()
        .contains("\"name\": \"bk\""));
    assert_eq!(
        std::fs::read_to_string(b.join("KEYMAP.jsonl")).unwrap(),
        "{\"encoded\":\"KEYMAP.jsonl.user-data\",\"original\":\"S0VZTUFQLmpzb25s\",\"kind\":\"sha-fallback\"}\n\
         {\"encoded\":\"_bucket.json.user-data\",\"original\":\"X2J1Y2tldC5qc29u\",\"kind\":\"sha-fallback\"}\n"
    );
    // Go's encoder took this tree (fixture); ours gives the same bytes
    let m = ekv_snapshot::dump::Manifest::read(&out).unwrap();
    let o =
        ekv_snapshot::pipeline::EncodeOptions::from_manifest(out.clone(), &m, Some(vec![Adapter::S3]), None)
            .unwrap();
    let mut ours = Vec::new();
    ekv_snapshot::pipeline::encode_snapshot(&o, &mut ours).unwrap();
    let go =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/s3/reserved-names.fsm"))
            .unwrap();
    assert_eq!(ours, go);
}
