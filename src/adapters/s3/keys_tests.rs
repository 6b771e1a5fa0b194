use super::*;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn worked_example_keys_match_the_spec_bytes() {
    // s3_tree_pipeline.md §4.5
    assert_eq!(
        bucket_meta_key(b"b"),
        unhex("2173337c6275636b65747c6d6574617c620001")
    );
    assert_eq!(
        manifest_key(b"b", 1, b"o"),
        unhex("2173337c6f626a7c686561647c62000100000000000000016f0001")
    );
    let blob = blob_key(b"b", 1, b"o", RESTORE_UPLOAD_ID, 1, 0, 0);
    assert_eq!(blob.len(), 58);
    assert_eq!(
        blob,
        unhex("2173337c626c6f627c62000100000000000000016f0001656c61737469636b762d726573746f7265000100000000000000010000000000000000")
    );
}

#[test]
fn segments_escape_nul_and_round_trip() {
    let mut k = Vec::new();
    push_seg(&mut k, b"a\0b");
    assert_eq!(k, b"a\0\xffb\0\x01");
    assert_eq!(read_seg(&k, 0).unwrap(), (b"a\0b".to_vec(), k.len()));
    let e = read_seg(b"ab", 0).unwrap_err();
    assert_eq!(e, KeyError::SegmentUnterminated);
    assert_eq!(e.to_string(), "segment without its 00 01 terminator");
    let e = read_seg(b"xa\0\x02", 1).unwrap_err();
    assert_eq!(e, KeyError::SegmentEscape { byte: 2, at: 2 });
    assert_eq!(e.to_string(), "bad segment escape 00 02 at byte 2");
    let e = read_seg(b"a\0", 0).unwrap_err();
    assert_eq!(e, KeyError::SegmentCutInEscape);
    assert_eq!(e.to_string(), "segment ends inside an escape");
    let e = read_seg(b"a", 5).unwrap_err();
    assert_eq!(e, KeyError::SegmentPastEnd);
    assert_eq!(e.to_string(), "segment starts past the end of the key");
}

#[test]
fn blob_keys_take_zero_or_eight_trailing_bytes() {
    let k = blob_key(b"bk", 7, b"x/y", b"up", 2, 3, 9);
    let c = parse_chunk_key(&k, BLOB_PREFIX).unwrap();
    assert_eq!(c.id.bucket, b"bk");
    assert_eq!(c.id.generation, 7);
    assert_eq!(c.id.object, b"x/y");
    assert_eq!(
        (c.upload_id.as_slice(), c.part_no, c.chunk_no, c.part_version),
        (&b"up"[..], 2, 3, 9)
    );
    let unversioned = blob_key(b"bk", 7, b"x/y", b"up", 2, 3, 0);
    assert_eq!(unversioned.len() + 8, k.len());
    assert_eq!(
        parse_chunk_key(&unversioned, BLOB_PREFIX).unwrap().part_version,
        0
    );
    let mut four = unversioned.clone();
    four.extend_from_slice(&[0, 0, 0, 1]);
    let e = parse_chunk_key(&four, BLOB_PREFIX).unwrap_err();
    assert_eq!(e, KeyError::ChunkTrailer { count: 4 });
    assert_eq!(
        e.to_string(),
        "4 trailing bytes after the chunk number (want 0 or 8)"
    );
    let e = parse_chunk_key(&unversioned[..unversioned.len() - 3], BLOB_PREFIX).unwrap_err();
    assert_eq!(e, KeyError::Truncated { what: "chunk number" });
    assert_eq!(e.to_string(), "key ends before the 8-byte chunk number");
    let cut = blob_key(b"bk", 7, b"x/y", b"up", 2, 3, 0);
    let cut = &cut[..BLOB_PREFIX.len() + 4 + 3];
    assert!(matches!(
        parse_chunk_key(cut, BLOB_PREFIX),
        Err(KeyError::Truncated { what: "generation" })
    ));
    // a chunk ref key has the same shape under its own prefix
    let mut r = CHUNKREF_PREFIX.to_vec();
    r.extend_from_slice(&unversioned[BLOB_PREFIX.len()..]);
    assert_eq!(parse_chunk_key(&r, CHUNKREF_PREFIX).unwrap().chunk_no, 3);
    let e = parse_chunk_key(&r, BLOB_PREFIX).unwrap_err();
    assert_eq!(e, KeyError::Prefix { prefix: BLOB_PREFIX });
    assert_eq!(e.to_string(), "key does not start with !s3|blob|");
}

#[test]
fn manifest_and_bucket_keys_require_an_exact_end() {
    let mut k = manifest_key(b"b", 1, b"o");
    assert_eq!(
        parse_manifest_key(&k).unwrap(),
        ObjectId {
            bucket: b"b".to_vec(),
            generation: 1,
            object: b"o".to_vec()
        }
    );
    k.push(0);
    let e = parse_manifest_key(&k).unwrap_err();
    assert_eq!(e, KeyError::Trailing { count: 1 });
    assert_eq!(e.to_string(), "1 unexpected trailing bytes");
    let mut b = bucket_meta_key(b"b\0c");
    assert_eq!(parse_bucket_meta_key(&b).unwrap(), b"b\0c");
    b.push(b'x');
    assert_eq!(parse_bucket_meta_key(&b), Err(KeyError::Trailing { count: 1 }));
    assert_eq!(bucket_gen_key(b"b"), b"!s3|bucket|gen|b\0\x01");
}

#[test]
fn chunkblob_keys_take_64_hex_digits_of_either_case() {
    let lower = [b"!s3|chunkblob|".as_slice(), &[b'a'; 64]].concat();
    assert_eq!(parse_chunkblob_key(&lower).unwrap(), [0xaa; 32]);
    let upper = [b"!s3|chunkblob|".as_slice(), &[b'A'; 64]].concat();
    assert_eq!(parse_chunkblob_key(&upper).unwrap(), [0xaa; 32]);
    let e = parse_chunkblob_key(&lower[..lower.len() - 1]).unwrap_err();
    assert_eq!(e, KeyError::DigestLength { found: 63 });
    assert_eq!(e.to_string(), "want 64 hex digits after the prefix, found 63");
    let bad = [b"!s3|chunkblob|".as_slice(), &[b'g'; 64]].concat();
    let e = parse_chunkblob_key(&bad).unwrap_err();
    assert!(matches!(e, KeyError::DigestHex { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "bad hex digest: Invalid character 'g' at position 0"
    );
}

#[test]
fn upload_meta_bucket_keeps_escapes_as_go_does() {
    let mut k = UPLOAD_META_PREFIX.to_vec();
    push_seg(&mut k, b"a\0b");
    k.extend_from_slice(&1u64.to_be_bytes());
    assert_eq!(upload_meta_bucket_raw(&k).unwrap(), b"a\0\xffb");
    let e = upload_meta_bucket_raw(b"!s3|upload|meta|abc").unwrap_err();
    assert_eq!(e, KeyError::UploadMetaUnterminated);
    assert_eq!(e.to_string(), "upload meta key without a 00 01 bucket terminator");
    let mut p = UPLOAD_PART_PREFIX.to_vec();
    push_object_id(&mut p, b"bk", 1, b"o");
    push_seg(&mut p, b"u");
    p.extend_from_slice(&5u64.to_be_bytes());
    assert_eq!(parse_upload_part_bucket(&p).unwrap(), b"bk");
    p.push(1);
    assert_eq!(parse_upload_part_bucket(&p), Err(KeyError::Trailing { count: 1 }));
}

fn chunk_ref_v(version: u8, peer: &[u8], replicas: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut v = vec![version];
    v.extend_from_slice(&[7; 32]);
    v.extend_from_slice(&5u64.to_be_bytes());
    v.extend_from_slice(&(peer.len() as u16).to_be_bytes());
    v.extend_from_slice(peer);
    if version == 2 {
        v.extend_from_slice(&(replicas.len() as u16).to_be_bytes());
        for (a, b) in replicas {
            v.extend_from_slice(&(a.len() as u16).to_be_bytes());
            v.extend_from_slice(a);
            v.extend_from_slice(&(b.len() as u16).to_be_bytes());
            v.extend_from_slice(b);
        }
    }
    v
}

#[test]
fn chunk_refs_v1_and_v2_parse_and_bad_ones_fail() {
    let want = ChunkRef {
        sha256: [7; 32],
        size: 5,
    };
    assert_eq!(parse_chunk_ref(&chunk_ref_v(1, b"peer", &[])).unwrap(), want);
    assert_eq!(
        parse_chunk_ref(&chunk_ref_v(2, b"", &[(b"n1", b"addr")])).unwrap(),
        want
    );
    let bad = |v: &[u8]| match parse_chunk_ref(v) {
        Err(ValueError::ChunkRef(e)) => e,
        other => panic!("not a chunk ref error: {other:?}"),
    };
    let mut trailing = chunk_ref_v(1, b"p", &[]);
    trailing.push(0);
    let e = bad(&trailing);
    assert_eq!(e, ChunkRefError::Trailing { count: 1 });
    assert_eq!(e.to_string(), "chunk ref: 1 unexpected trailing bytes");
    assert_eq!(
        parse_chunk_ref(&trailing).unwrap_err().to_string(),
        "invalid chunk ref: chunk ref: 1 unexpected trailing bytes"
    );
    let e = bad(&chunk_ref_v(3, b"p", &[]));
    assert_eq!(e, ChunkRefError::Version { version: 3 });
    assert_eq!(e.to_string(), "chunk ref version 3, want 1 or 2");
    let v = chunk_ref_v(1, b"peer", &[]);
    let e = bad(&v[..v.len() - 1]);
    assert_eq!(e, ChunkRefError::FieldCut { len: 4, at: 43 });
    assert_eq!(
        e.to_string(),
        "chunk ref truncated: field of 4 bytes at offset 43"
    );
    let v = chunk_ref_v(2, b"", &[(b"n1", b"addr")]);
    let e = bad(&v[..v.len() - 5]);
    assert_eq!(e, ChunkRefError::LengthCut);
    assert_eq!(e.to_string(), "chunk ref truncated at a 16-bit length");
    let mut huge = chunk_ref_v(2, b"", &[]);
    let n = huge.len();
    huge[n - 2..].copy_from_slice(&u16::MAX.to_be_bytes());
    let e = bad(&huge);
    assert_eq!(e, ChunkRefError::Replicas { count: 65535 });
    assert_eq!(e.to_string(), "chunk ref replica count 65535 exceeds the value");
    let e = bad(&[1; 10]);
    assert_eq!(e, ChunkRefError::Short { len: 10 });
    assert_eq!(e.to_string(), "chunk ref of 10 bytes, want at least 43");
}

#[test]
fn manifests_parse_leniently_like_go() {
    let m = parse_manifest(
        br#"{"Upload_ID":"u","etag":"e","size_bytes":3,"last_modified_hlc":65536,
            "content_type":null,"user_metadata":{"z":"1","a":"2","a":"3"},
            "parts":[{"part_no":1,"chunk_count":1,"chunk_sizes":[3],"offloaded":false}],"x":1}"#,
    )
    .unwrap();
    assert_eq!(m.upload_id, "u");
    assert_eq!(m.size_bytes, 3);
    assert_eq!(m.content_type, "");
    assert_eq!(
        m.user_metadata,
        Some(vec![("a".into(), "3".into()), ("z".into(), "1".into())])
    );
    assert_eq!(m.parts.as_ref().unwrap()[0].chunk_sizes, vec![3]);
    let bad = |v: &[u8]| match parse_manifest(v) {
        Err(ValueError::Manifest(e)) => e,
        other => panic!("not a manifest error: {other:?}"),
    };
    let e = bad(br#"{"size_bytes":"3"}"#);
    assert_eq!(
        e,
        JsonError::FieldType {
            field: "size_bytes",
            want: JsonType::Integer
        }
    );
    assert_eq!(
        ValueError::Manifest(e).to_string(),
        "invalid manifest: field size_bytes: want an integer"
    );
    let e = bad(br#"{"parts":[{"chunk_count":-1}]}"#);
    assert_eq!(
        e,
        JsonError::FieldType {
            field: "chunk_count",
            want: JsonType::Unsigned
        }
    );
    assert_eq!(e.to_string(), "field chunk_count: want an unsigned integer");
    let e = bad(b"[1]");
    assert_eq!(e, JsonError::NotObject { what: "manifest" });
    assert_eq!(e.to_string(), "manifest is not a JSON object");
    let e = bad(br#"{"parts":[7]}"#);
    assert_eq!(
        e,
        JsonError::NotObject {
            what: "manifest part"
        }
    );
    let e = bad(b"{} x");
    assert!(matches!(e, JsonError::Syntax { .. }), "{e:?}");
    assert_eq!(e.to_string(), "unexpected data after the JSON value at byte 3");
    let wrong = [
        (&br#"{"parts":{}}"#[..], "parts", JsonType::Array),
        (br#"{"etag":1}"#, "etag", JsonType::String),
        (br#"{"user_metadata":[]}"#, "user_metadata", JsonType::Object),
        (br#"{"parts":[{"offloaded":1}]}"#, "offloaded", JsonType::Bool),
        (
            br#"{"parts":[{"chunk_sizes":1}]}"#,
            "chunk_sizes",
            JsonType::Array,
        ),
        (
            br#"{"parts":[{"chunk_sizes":[-1]}]}"#,
            "chunk_sizes",
            JsonType::Unsigneds,
        ),
    ];
    for (v, field, want) in wrong {
        assert_eq!(bad(v), JsonError::FieldType { field, want }, "{v:?}");
    }
    assert_eq!(
        bad(br#"{"parts":[{"offloaded":1}]}"#).to_string(),
        "field offloaded: want a boolean"
    );
    assert_eq!(
        bad(br#"{"parts":[{"chunk_sizes":[-1]}]}"#).to_string(),
        "field chunk_sizes: want unsigned integers"
    );
    assert_eq!(bad(br#"{"parts":{}}"#).to_string(), "field parts: want an array");
    assert_eq!(
        bad(br#"{"user_metadata":[]}"#).to_string(),
        "field user_metadata: want an object"
    );
    assert_eq!(bad(br#"{"etag":1}"#).to_string(), "field etag: want a string");
    let e = bad(br#"{"user_metadata":{"k":1}}"#);
    assert_eq!(
        e,
        JsonError::MapEntry {
            field: "user_metadata",
            key: "k".into()
        }
    );
    assert_eq!(e.to_string(), "field user_metadata.k: want a string");
    assert_eq!(parse_manifest(b"null").unwrap(), LiveManifest::default());
}

#[test]
fn restore_manifest_marshals_in_go_field_order_with_nulls() {
    let m = LiveManifest {
        upload_id: "elastickv-restore".into(),
        etag: "<&>".into(),
        size_bytes: 0,
        ..LiveManifest::default()
    };
    let out = crate::dump::json::to_vec(&m, crate::dump::json::JsonStyle::MARSHAL);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"upload_id":"elastickv-restore","etag":"\u003c\u0026\u003e","size_bytes":0,"last_modified_hlc":0,"content_type":"","content_encoding":"","cache_control":"","content_disposition":"","user_metadata":null,"parts":null}"#
    );
}

#[test]
fn bucket_meta_parses_and_rejects_wrong_types() {
    let b = parse_bucket_meta(br#"{"bucket_name":"x","generation":4,"acl":"private"}"#).unwrap();
    assert_eq!(
        b,
        BucketMeta {
            generation: 4,
            acl: "private".into(),
            ..BucketMeta::default()
        }
    );
    let e = parse_bucket_meta(br#"{"generation":"4"}"#).unwrap_err();
    assert_eq!(
        e,
        ValueError::BucketMeta(JsonError::FieldType {
            field: "generation",
            want: JsonType::Unsigned
        })
    );
    assert_eq!(
        e.to_string(),
        "invalid bucket meta: field generation: want an unsigned integer"
    );
    assert!(matches!(
        parse_bucket_meta(b"not json"),
        Err(ValueError::BucketMeta(JsonError::Syntax { .. }))
    ));
}
