use super::*;
use crate::adapters::s3::keys::{blob_key, bucket_meta_key, manifest_key, push_seg};
use crate::dump::MemTree;

type Recs = Vec<(Vec<u8>, Vec<u8>)>;

fn run(opts: S3Options, recs: Recs) -> (Result<(), AdapterError>, MemTree, Warnings) {
    run_with(opts, recs, spool::BUDGET)
}

fn run_with(opts: S3Options, mut recs: Recs, budget: usize) -> (Result<(), AdapterError>, MemTree, Warnings) {
    recs.sort();
    let dir = tempfile::tempdir().unwrap();
    let mut dec = S3Decoder::new(
        &opts,
        &DecodeContext {
            scratch_dir: dir.path().to_path_buf(),
        },
    )
    .with_budget(budget);
    let mut tree = MemTree::new();
    let mut warnings = Warnings::new();
    let mut result = Ok(());
    for (k, v) in &recs {
        let r = Record::routed(k, v).unwrap();
        if let Err(e) = dec.handle(&mut tree, &mut warnings, &r) {
            result = Err(e);
            break;
        }
    }
    let fin = dec.finalize(&mut tree, &mut warnings);
    (result.and(fin), tree, warnings)
}

fn ok(opts: S3Options, recs: Recs) -> (MemTree, Warnings) {
    let (r, t, w) = run(opts, recs);
    r.unwrap();
    assert!(t.staged.is_empty(), "staged files left: {:?}", t.staged.keys());
    (t, w)
}

fn renaming() -> S3Options {
    S3Options {
        rename_collisions: true,
        ..S3Options::default()
    }
}

fn meta(bucket: &str, generation: u64) -> (Vec<u8>, Vec<u8>) {
    (
        bucket_meta_key(bucket.as_bytes()),
        format!(r#"{{"bucket_name":"{bucket}","generation":{generation},"acl":"private"}}"#).into_bytes(),
    )
}

/// A manifest of `upload` with `parts`: (part_no, part_version, chunk sizes).
fn manifest(
    bucket: &str,
    generation: u64,
    key: &[u8],
    upload: &str,
    parts: &[(u64, u64, &[u64])],
) -> (Vec<u8>, Vec<u8>) {
    let parts: Vec<String> = parts
        .iter()
        .map(|(p, v, sizes)| {
            format!(
                r#"{{"part_no":{p},"part_version":{v},"chunk_count":{},"chunk_sizes":{:?}}}"#,
                sizes.len(),
                sizes
            )
        })
        .collect();
    let size: u64 = 0;
    (
        manifest_key(bucket.as_bytes(), generation, key),
        format!(
            r#"{{"upload_id":"{upload}","etag":"e","size_bytes":{size},"last_modified_hlc":65536,"parts":[{}]}}"#,
            parts.join(",")
        )
        .into_bytes(),
    )
}

fn blob(
    bucket: &str,
    generation: u64,
    key: &[u8],
    upload: &str,
    (part, chunk, version): (u64, u64, u64),
    body: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    (
        blob_key(
            bucket.as_bytes(),
            generation,
            key,
            upload.as_bytes(),
            part,
            chunk,
            version,
        ),
        body.to_vec(),
    )
}

#[test]
fn multipart_body_is_published_from_one_staged_chain() {
    let (t, w) = ok(
        renaming(),
        vec![
            meta("b", 1),
            manifest("b", 1, b"k", "u", &[(1, 3, &[2, 2]), (2, 5, &[1])]),
            blob("b", 1, b"k", "u", (1, 0, 3), b"ab"),
            blob("b", 1, b"k", "u", (1, 1, 3), b"cd"),
            blob("b", 1, b"k", "u", (2, 0, 5), b"e"),
            // an abandoned upload of the same key is not part of the body
            blob("b", 1, b"k", "old", (1, 0, 0), b"zz"),
        ],
    );
    assert_eq!(t.text("s3/b/k"), "abcde");
    assert_eq!(
        t.text("s3/b/k.elastickv-meta.json"),
        "{\n  \"format_version\": 1,\n  \"etag\": \"e\",\n  \"size_bytes\": 0,\n  \"last_modified\": \"1970-01-01T00:00:00.001Z\"\n}"
    );
    assert_eq!(
        t.text("s3/b/_bucket.json"),
        "{\n  \"format_version\": 1,\n  \"name\": \"b\",\n  \"acl\": \"private\"\n}"
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn interleaved_part_versions_take_the_declared_one() {
    let (t, _) = ok(
        renaming(),
        vec![
            manifest("b", 1, b"k", "u", &[(1, 2, &[1, 1])]),
            blob("b", 1, b"k", "u", (1, 0, 1), b"x"),
            blob("b", 1, b"k", "u", (1, 0, 2), b"A"),
            blob("b", 1, b"k", "u", (1, 1, 1), b"y"),
            blob("b", 1, b"k", "u", (1, 1, 2), b"B"),
        ],
    );
    assert_eq!(t.text("s3/b/k"), "AB");
}

#[test]
fn a_missing_or_extra_chunk_is_a_data_error_naming_bucket_object_and_part() {
    for chunks in [&[0u64, 2][..], &[0, 1, 2]] {
        let mut recs = vec![manifest("bk", 1, b"obj", "u", &[(7, 0, &[1, 1])])];
        for &c in chunks {
            recs.push(blob("bk", 1, b"obj", "u", (7, c, 0), b"x"));
        }
        let (r, t, _) = run(renaming(), recs);
        let e = r.unwrap_err();
        let AdapterError::BadRecord { source, .. } = &e else {
            panic!("{e:?}")
        };
        let what = source.to_string();
        assert!(
            what.contains("\"bk\"") && what.contains("\"obj\"") && what.contains("part 7"),
            "{what}"
        );
        assert!(what.contains("incomplete blob chunks"), "{what}");
        assert!(t.file("s3/bk/obj").is_none());
    }
}

fn chunkref(
    bucket: &str,
    key: &[u8],
    upload: &str,
    (part, chunk, version): (u64, u64, u64),
    body: &[u8],
    size: u64,
) -> Recs {
    let digest: [u8; 32] = Sha256::digest(body).into();
    let mut k = keys::CHUNKREF_PREFIX.to_vec();
    k.extend_from_slice(
        &blob_key(bucket.as_bytes(), 1, key, upload.as_bytes(), part, chunk, version)
            [keys::BLOB_PREFIX.len()..],
    );
    let mut v = vec![1u8];
    v.extend_from_slice(&digest);
    v.extend_from_slice(&size.to_be_bytes());
    v.extend_from_slice(&0u16.to_be_bytes());
    vec![
        (k, v),
        (
            [keys::CHUNKBLOB_PREFIX, hex::encode(digest).as_bytes()].concat(),
            body.to_vec(),
        ),
    ]
}

fn offloaded_manifest(sizes: &[u64]) -> (Vec<u8>, Vec<u8>) {
    (
        manifest_key(b"b", 1, b"k"),
        format!(
            r#"{{"upload_id":"u","parts":[{{"part_no":1,"chunk_count":{},"chunk_sizes":{:?},"chunk_ref_version":4,"offloaded":true}}]}}"#,
            sizes.len(),
            sizes
        )
        .into_bytes(),
    )
}

#[test]
fn offloaded_chunks_resolve_through_chunk_refs() {
    let mut recs = vec![offloaded_manifest(&[3, 2])];
    recs.extend(chunkref("b", b"k", "u", (1, 0, 4), b"abc", 3));
    recs.extend(chunkref("b", b"k", "u", (1, 1, 4), b"de", 2));
    let (t, _) = ok(renaming(), recs);
    assert_eq!(t.text("s3/b/k"), "abcde");
    // a ref whose size disagrees with the blob
    let mut recs = vec![offloaded_manifest(&[3])];
    recs.extend(chunkref("b", b"k", "u", (1, 0, 4), b"abc", 4));
    let e = run(renaming(), recs).0.unwrap_err();
    assert!(
        matches!(&e, AdapterError::BadRecord { source, .. } if source.to_string().contains("invalid chunk ref")),
        "{e:?}"
    );
    // a chunk blob whose content does not hash to its key
    let mut bad_blob = chunkref("b", b"k", "u", (1, 0, 4), b"abc", 3);
    bad_blob[1].1 = b"abd".to_vec();
    let e = run(renaming(), bad_blob).0.unwrap_err();
    assert!(
        matches!(&e, AdapterError::BadRecord { source, .. } if source.to_string().contains("hash mismatch")),
        "{e:?}"
    );
    // an offloaded part whose sizes disagree with its count
    let bad = (
        manifest_key(b"b", 1, b"k"),
        br#"{"parts":[{"part_no":1,"chunk_count":2,"chunk_sizes":[1],"offloaded":true}]}"#.to_vec(),
    );
    let e = run(renaming(), vec![bad]).0.unwrap_err();
    assert!(
        matches!(&e, AdapterError::BadRecord { source, .. } if source.to_string().contains("declares 2 chunks")),
        "{e:?}"
    );
}

#[test]
fn a_key_that_is_also_a_prefix_becomes_leaf_data() {
    let mut recs = Vec::new();
    for key in ["a", "a.txt", "a/b", "a/b/c", "z"] {
        recs.push(manifest("b", 1, key.as_bytes(), "u", &[(1, 0, &[1])]));
        recs.push(blob("b", 1, key.as_bytes(), "u", (1, 0, 0), key.as_bytes()));
    }
    let (t, _) = ok(renaming(), recs);
    let files: Vec<&str> = t
        .files
        .keys()
        .map(String::as_str)
        .filter(|f| !f.ends_with(META_SUFFIX))
        .collect();
    assert_eq!(
        files,
        [
            "s3/b/KEYMAP.jsonl",
            "s3/b/a.elastickv-leaf-data",
            "s3/b/a.txt",
            "s3/b/a/b.elastickv-leaf-data",
            "s3/b/a/b/c",
            "s3/b/z"
        ]
    );
    assert_eq!(t.text("s3/b/a.elastickv-leaf-data"), "a");
    assert!(t.file("s3/b/a.elastickv-leaf-data.elastickv-meta.json").is_some());
    assert_eq!(
        t.text("s3/b/KEYMAP.jsonl"),
        "{\"encoded\":\"a.elastickv-leaf-data\",\"original\":\"YQ\",\"kind\":\"s3-leaf-data\"}\n\
         {\"encoded\":\"a/b.elastickv-leaf-data\",\"original\":\"YS9i\",\"kind\":\"s3-leaf-data\"}\n"
    );
}

#[test]
fn a_leaf_data_target_that_is_a_real_key_is_a_collision() {
    let mut recs = Vec::new();
    for key in ["a", "a.elastickv-leaf-data", "a/b"] {
        recs.push(manifest("b", 1, key.as_bytes(), "u", &[]));
    }
    let e = run(renaming(), recs).0.unwrap_err();
    assert!(
        matches!(&e, AdapterError::BadRecord { source, .. } if source.to_string().contains("collides")),
        "{e:?}"
    );
}

#[test]
fn meta_suffix_keys_need_rename_collisions() {
    let recs = vec![manifest("b", 1, b"n.elastickv-meta.json", "u", &[])];
    let e = run(S3Options::default(), recs.clone()).0.unwrap_err();
    assert!(
        matches!(&e, AdapterError::BadRecord { source, .. } if source.to_string().contains("--rename-collisions")),
        "{e:?}"
    );
    let (t, _) = ok(renaming(), recs.clone());
    assert_eq!(t.text("s3/b/n.elastickv-meta.json.user-data"), "");
    assert!(t.text("s3/b/KEYMAP.jsonl").contains("meta-suffix-rename"));
    let mut both = recs;
    both.push(manifest("b", 1, b"n.elastickv-meta.json.user-data", "u", &[]));
    let e = run(renaming(), both).0.unwrap_err();
    assert!(
        matches!(&e, AdapterError::BadRecord { source, .. } if source.to_string().contains("renamed object")),
        "{e:?}"
    );
}

#[test]
fn keys_a_filesystem_cannot_hold_are_renamed_d11() {
    let mut recs = Vec::new();
    for key in [
        &b"x/"[..],
        b"_bucket.json",
        b"KEYMAP.jsonl",
        b"a//b",
        b".",
        b"bad\xff",
        b"x/y",
    ] {
        recs.push(manifest("b", 1, key, "u", &[(1, 0, &[1])]));
        recs.push(blob("b", 1, key, "u", (1, 0, 0), b"1"));
    }
    recs.push(meta("b", 1));
    let (t, _) = ok(renaming(), recs);
    for f in [
        "x%2F",
        "_bucket.json.user-data",
        "KEYMAP.jsonl.user-data",
        "a%2F%2Fb",
        "b64.Lg",
        "bad%FF",
        "x/y",
    ] {
        assert_eq!(t.text(&format!("s3/b/{f}")), "1", "{f}");
    }
    let km = t.text("s3/b/KEYMAP.jsonl");
    assert_eq!(km.lines().count(), 6, "{km}");
    assert!(
        km.contains(r#"{"encoded":"x%2F","original":"eC8","kind":"sha-fallback"}"#),
        "{km}"
    );
    assert!(t.text("s3/b/_bucket.json").contains("\"name\": \"b\""));
}

#[test]
fn stale_generations_are_excluded_or_kept_as_orphans() {
    let recs = vec![
        meta("b", 2),
        manifest("b", 1, b"old", "u", &[(1, 0, &[1])]),
        blob("b", 1, b"old", "u", (1, 0, 0), b"o"),
        manifest("b", 2, b"new", "u", &[(1, 0, &[1])]),
        blob("b", 2, b"new", "u", (1, 0, 0), b"n"),
    ];
    let (t, w) = ok(renaming(), recs.clone());
    assert_eq!(t.text("s3/b/new"), "n");
    assert!(t.file("s3/b/old").is_none());
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].event, "s3_stale_generation_objects");
    assert!(w[0].fields.contains(&("stale_count", "1".into())));
    let opts = S3Options {
        include_orphans: true,
        ..renaming()
    };
    let (t, w) = ok(opts, recs);
    assert_eq!(
        t.text("s3/b/_orphans/old/gen-1/u_0000000000000001_0000000000000000_0000000000000000.bin"),
        "o"
    );
    assert_eq!(
        w.iter().map(|w| w.event).collect::<Vec<_>>(),
        ["s3_orphan_chunks", "s3_stale_generation_objects"]
    );
}

#[test]
fn chunks_without_a_manifest_are_orphans() {
    let recs = vec![
        blob("b", 1, b"lost", "u", (1, 0, 0), b"p"),
        blob("b", 1, b"lost", "u", (1, 1, 0), b"q"),
        manifest("b", 1, b"other", "u", &[]),
    ];
    let (t, w) = ok(renaming(), recs.clone());
    assert!(t.files.keys().all(|f| !f.contains("lost")));
    assert_eq!(w[0].event, "s3_orphan_chunks");
    assert!(w[0].fields.contains(&("chunks", "2".into())));
    let (t, _) = ok(
        S3Options {
            include_orphans: true,
            ..renaming()
        },
        recs,
    );
    assert_eq!(
        t.text("s3/b/_orphans/lost/gen-1/u_0000000000000001_0000000000000001_0000000000000000.bin"),
        "q"
    );
}

#[test]
fn incomplete_uploads_are_copied_verbatim_when_asked() {
    let mut k = keys::UPLOAD_META_PREFIX.to_vec();
    push_seg(&mut k, b"b");
    k.extend_from_slice(&1u64.to_be_bytes());
    push_seg(&mut k, b"o");
    push_seg(&mut k, b"u");
    let recs = vec![(k, b"{\"x\":1}".to_vec())];
    let (t, _) = ok(renaming(), recs.clone());
    assert!(t.files.is_empty());
    let (t, _) = ok(
        S3Options {
            include_incomplete_uploads: true,
            ..renaming()
        },
        recs,
    );
    assert_eq!(
        t.text("s3/b/_incomplete_uploads/records.jsonl"),
        "{\"prefix\":\"!s3|upload|meta|\",\"key\":\"IXMzfHVwbG9hZHxtZXRhfGIAAQAAAAAAAAABbwABdQAB\",\"value\":\"eyJ4IjoxfQ==\"}\n"
    );
}

#[test]
fn malformed_records_are_typed_errors_naming_the_key() {
    let cases: Recs = vec![
        (b"!s3|blob|b\x00\x01short".to_vec(), b"x".to_vec()),
        (blob_key(b".", 1, b"o", b"u", 1, 0, 0), b"x".to_vec()),
        (manifest_key(b"b", 1, b"o"), b"{not json".to_vec()),
        (bucket_meta_key(b"b"), br#"{"generation":"x"}"#.to_vec()),
        ([keys::CHUNKBLOB_PREFIX, b"zz"].concat(), b"x".to_vec()),
    ];
    let mut errors = Vec::new();
    for rec in cases {
        let e = run(renaming(), vec![rec.clone()]).0.unwrap_err();
        assert!(
            matches!(&e, AdapterError::BadRecord { adapter: "s3", key, .. } if !key.is_empty()),
            "{e:?}"
        );
        errors.push(e);
    }
    // the parsers' typed errors are the records' causes
    assert!(matches!(
        errors[0].cause::<keys::KeyError>(),
        Some(keys::KeyError::Truncated { what: "generation" })
    ));
    assert!(matches!(
        errors[2].cause::<keys::ValueError>(),
        Some(keys::ValueError::Manifest(keys::JsonError::Syntax { .. }))
    ));
    assert!(matches!(
        errors[3].cause::<keys::ValueError>(),
        Some(keys::ValueError::BucketMeta(keys::JsonError::FieldType {
            field: "generation",
            ..
        }))
    ));
    assert!(matches!(
        errors[4].cause::<keys::KeyError>(),
        Some(keys::KeyError::DigestLength { found: 2 })
    ));
    let mut bad_ref = chunkref("b", b"k", "u", (1, 0, 4), b"abc", 3);
    bad_ref[0].1.push(0);
    let e = run(renaming(), vec![bad_ref.swap_remove(0)]).0.unwrap_err();
    assert!(
        matches!(
            e.cause::<keys::ValueError>(),
            Some(keys::ValueError::ChunkRef(keys::ChunkRefError::Trailing {
                count: 1
            }))
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .ends_with(": invalid chunk ref: chunk ref: 1 unexpected trailing bytes"),
        "{e}"
    );
}

#[test]
fn spilled_waiting_lines_give_the_same_tree() {
    let mut recs = Vec::new();
    for i in 0..40u64 {
        let key = format!("k{i:02}/o");
        recs.push(manifest("b", 1, key.as_bytes(), "u", &[(1, 0, &[2, 1])]));
        recs.push(blob("b", 1, key.as_bytes(), "u", (1, 0, 0), b"ab"));
        recs.push(blob("b", 1, key.as_bytes(), "u", (1, 1, 0), b"c"));
    }
    recs.push(offloaded_manifest(&[3]));
    recs.extend(chunkref("b", b"k", "u", (1, 0, 4), b"xyz", 3));
    let (r, small, w1) = run_with(renaming(), recs.clone(), 64);
    r.unwrap();
    let (big, w2) = ok(renaming(), recs);
    assert_eq!(small.files, big.files);
    assert_eq!(w1, w2);
    assert_eq!(small.text("s3/b/k"), "xyz");
}
