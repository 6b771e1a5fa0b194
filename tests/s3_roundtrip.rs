//! S3 property tests: decode → encode → decode is a fixed point for any set of objects
//! (any chunking, multipart layout, awkward keys), and the decoder never panics on bad input.

use crate::s3_util;

use std::collections::BTreeMap;

use crate::common::bare_stream;
use ekv_snapshot::adapters::s3::keys::{blob_key, bucket_meta_key, manifest_key, ROUTES};
use ekv_snapshot::adapters::s3::{S3Decoder, S3Options};
use ekv_snapshot::adapters::{DecodeContext, Decoder, Record, Warnings};
use ekv_snapshot::dump::MemTree;
use proptest::prelude::*;

/// A key from a small alphabet that still makes prefixes, dots, empty segments, `%`,
/// spaces and non-ASCII.
fn key() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("/"),
            Just("."),
            Just(" "),
            Just("%"),
            Just("é")
        ],
        1..7,
    )
    .prop_map(|parts| parts.concat())
}

/// (key → (body, part sizes of the body, chunk size)).
fn objects() -> impl Strategy<Value = BTreeMap<String, (Vec<u8>, usize, usize)>> {
    proptest::collection::btree_map(
        key(),
        (
            proptest::collection::vec(any::<u8>(), 0..600),
            1usize..4,
            1usize..200,
        ),
        1..8,
    )
}

fn live_records(objs: &BTreeMap<String, (Vec<u8>, usize, usize)>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut recs = vec![(
        bucket_meta_key(b"bk"),
        br#"{"bucket_name":"bk","generation":3,"region":"r"}"#.to_vec(),
    )];
    for (k, (body, nparts, chunk)) in objs {
        let part_len = body.len().div_ceil(*nparts).max(1);
        let mut parts = Vec::new();
        for (p, part) in body.chunks(part_len).enumerate() {
            let mut sizes = Vec::new();
            for (c, bytes) in part.chunks(*chunk).enumerate() {
                recs.push((
                    blob_key(b"bk", 3, k.as_bytes(), b"up", p as u64 + 1, c as u64, 9),
                    bytes.to_vec(),
                ));
                sizes.push(bytes.len());
            }
            parts.push(format!(
                r#"{{"part_no":{},"part_version":9,"chunk_count":{},"chunk_sizes":{:?}}}"#,
                p + 1,
                sizes.len(),
                sizes
            ));
        }
        let m = format!(
            r#"{{"upload_id":"up","etag":"<&>","size_bytes":{},"last_modified_hlc":{},"content_type":"t","user_metadata":{{"k":"v"}},"parts":[{}]}}"#,
            body.len(),
            (1_700_000_000_123u64 << 16) + 5,
            parts.join(",")
        );
        recs.push((manifest_key(b"bk", 3, k.as_bytes()), m.into_bytes()));
    }
    recs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn decode_encode_decode_is_a_fixed_point(objs in objects()) {
        let recs = live_records(&objs);
        let entries: Vec<(&[u8], u64, u8, &[u8])> = recs.iter().map(|(k, v)| (k.as_slice(), 5, 0, v.as_slice())).collect();
        let dir = tempfile::tempdir().unwrap();
        let fsm = dir.path().join("in.fsm");
        std::fs::write(&fsm, bare_stream(9, &entries)).unwrap();
        let d1 = dir.path().join("1");
        std::fs::create_dir(&d1).unwrap();
        let t1 = s3_util::decode_s3(&fsm, &d1, true);
        // every body is there, under its key or a KEYMAP name
        let files = s3_util::s3_files(&t1);
        for (body, _, _) in objs.values() {
            prop_assert!(files.values().any(|f| f == body));
        }
        let bytes = s3_util::encode_s3(&t1);
        let fsm2 = dir.path().join("re.fsm");
        std::fs::write(&fsm2, &bytes).unwrap();
        let d2 = dir.path().join("2");
        std::fs::create_dir(&d2).unwrap();
        let t2 = s3_util::decode_s3(&fsm2, &d2, true);
        prop_assert_eq!(s3_util::s3_files(&t2), files);
        prop_assert_eq!(s3_util::encode_s3(&t2), bytes);
    }

    #[test]
    fn bad_records_never_panic(recs in proptest::collection::vec(
        (0..ROUTES.len(), proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(0xFF), any::<u8>()], 0..60),
         proptest::collection::vec(any::<u8>(), 0..80)), 1..12)) {
        let mut recs: Vec<(Vec<u8>, Vec<u8>)> = recs
            .into_iter()
            .map(|(r, tail, v)| ([ROUTES[r].prefix, &tail].concat(), v))
            .collect();
        recs.sort();
        let dir = tempfile::tempdir().unwrap();
        let opts = S3Options { include_orphans: true, include_incomplete_uploads: true, rename_collisions: true };
        let mut dec = S3Decoder::new(&opts, &DecodeContext { scratch_dir: dir.path().to_path_buf() });
        let mut tree = MemTree::new();
        let mut w = Warnings::new();
        for (k, v) in &recs {
            let r = Record::routed(k, v).unwrap();
            if dec.handle(&mut tree, &mut w, &r).is_err() {
                break;
            }
        }
        let _ = dec.finalize(&mut tree, &mut w);
    }
}
