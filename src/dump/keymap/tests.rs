//! KEYMAP.jsonl writer and strict reader (s3_tree_pipeline.md §6, Go keymap_test.go).

use super::*;
use crate::dump::DumpTree;

fn load_text(text: &[u8]) -> Result<HashMap<String, Vec<u8>>, DumpError> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("KEYMAP.jsonl");
    std::fs::write(&p, text).unwrap();
    load(&p)
}

fn rejects(text: &[u8], needle: &str) {
    match load_text(text) {
        Err(e @ (DumpError::Invalid { .. } | DumpError::Keymap { .. })) => {
            let msg = e.to_string();
            assert!(
                msg.contains(needle) && msg.contains("KEYMAP.jsonl"),
                "{msg} lacks {needle:?}"
            );
        }
        other => panic!(
            "expected Invalid({needle}) for {:?}, got {other:?}",
            String::from_utf8_lossy(text)
        ),
    }
}

/// The line number and typed error of a KEYMAP whose record is refused.
fn record_error(text: &[u8]) -> (u64, KeyMapRecordError) {
    match load_text(text) {
        Err(DumpError::Keymap { line, source, .. }) => (line, source),
        other => panic!("expected a record error, got {other:?}"),
    }
}

/// Write `km` into a fresh published tree and return the file bytes (None if absent).
fn written(km: KeyMap) -> Option<Vec<u8>> {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let mut tree = DumpTree::create(&out).unwrap();
    km.write(&mut tree, "redis/db_0/KEYMAP.jsonl").unwrap();
    tree.publish(None).unwrap();
    std::fs::read(out.join("redis/db_0/KEYMAP.jsonl")).ok()
}

#[test]
fn writer_exact_bytes_sorted_one_line_per_name() {
    let mut km = KeyMap::default();
    km.record("path/to.elastickv-leaf-data", b"path/to", KIND_S3_LEAF_DATA)
        .unwrap();
    km.record("b<&>", b"\x80\xff\x01", KIND_SHA_FALLBACK).unwrap();
    km.record("a", b"first", KIND_SHA_FALLBACK).unwrap();
    km.record("a", b"", KIND_META_SUFFIX_RENAME).unwrap();
    let text = String::from_utf8(written(km).unwrap()).unwrap();
    assert_eq!(
        text,
        concat!(
            "{\"encoded\":\"a\",\"original\":\"\",\"kind\":\"meta-suffix-rename\"}\n",
            "{\"encoded\":\"b<&>\",\"original\":\"gP8B\",\"kind\":\"sha-fallback\"}\n",
            "{\"encoded\":\"path/to.elastickv-leaf-data\",\"original\":\"cGF0aC90bw\",\"kind\":\"s3-leaf-data\"}\n",
        )
    );
}

#[test]
fn a_spilling_keymap_writes_the_same_bytes_with_the_last_record_of_each_name() {
    let d = tempfile::tempdir().unwrap();
    // 3000 records over 500 names, in scrambled order; the later records of a name win.
    let records: Vec<(String, Vec<u8>)> = (0u32..3000)
        .map(|i| {
            let name = format!("n{:04}", i.wrapping_mul(2_654_435_761) % 500);
            (name, i.to_be_bytes().to_vec())
        })
        .collect();
    let fill = |mut km: KeyMap| {
        for (name, original) in &records {
            km.record(name, original, KIND_SHA_FALLBACK).unwrap();
        }
        km
    };
    let big = written(fill(KeyMap::default())).unwrap();
    let tiny = written(fill(KeyMap::new(512, d.path()))).unwrap();
    assert!(big == tiny);
    let loaded = load_text(&big).unwrap();
    assert_eq!(loaded.len(), 500);
    let mut last = HashMap::new();
    for (name, original) in &records {
        last.insert(name.clone(), original.clone());
    }
    assert_eq!(loaded, last);
    let text = String::from_utf8(big).unwrap();
    let names: Vec<&str> = text.lines().map(|l| &l[12..17]).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, one line per name");
}

#[test]
fn empty_keymap_writes_nothing() {
    let km = KeyMap::default();
    assert!(km.is_empty());
    assert_eq!(written(km), None);
}

#[test]
fn writer_rejects_empty_encoded_or_kind() {
    for (enc, kind) in [("", KIND_SHA_FALLBACK), ("x", "")] {
        let mut km = KeyMap::default();
        km.record(enc, b"o", kind).unwrap();
        let d = tempfile::tempdir().unwrap();
        let mut tree = DumpTree::create(&d.path().join("o")).unwrap();
        let err = km.write(&mut tree, "KEYMAP.jsonl").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}

#[test]
fn round_trip_including_binary_and_empty_originals() {
    let mut km = KeyMap::default();
    let originals: [&[u8]; 5] = [b"k1", b"", b"\x00\xff", b"\xe2\x82", &[7u8; 1000]];
    for (i, o) in originals.iter().enumerate() {
        km.record(&format!("enc{i}"), o, KIND_SHA_FALLBACK).unwrap();
    }
    let loaded = load_text(&written(km).unwrap()).unwrap();
    assert_eq!(loaded.len(), 5);
    for (i, o) in originals.iter().enumerate() {
        assert_eq!(loaded[&format!("enc{i}")], *o);
    }
}

#[test]
fn last_record_wins_and_crlf_accepted() {
    let text = b"{\"encoded\":\"a\",\"original\":\"eA\",\"kind\":\"sha-fallback\"}\r\n{\"encoded\":\"a\",\"original\":\"eQ\",\"kind\":\"k\"}";
    let m = load_text(text).unwrap();
    assert_eq!(m["a"], b"y");
    assert!(load_text(b"").unwrap().is_empty());
}

#[test]
fn reader_accepts_go_lenient_base64_and_unknown_fields() {
    let m = load_text(b"{\"encoded\":\"a\",\"original\":\"_x\",\"kind\":\"x\",\"extra\":1}\n").unwrap();
    assert_eq!(m["a"], b"\xff");
}

#[test]
fn reader_rejects_malformed_json() {
    rejects(b"{\"encoded\":\n", "line 1");
    rejects(b"[1]\n", "not a JSON object");
    assert_eq!(record_error(b"[1]\n"), (1, KeyMapRecordError::NotObject));
    assert!(matches!(
        record_error(b"{\"encoded\":\n"),
        (1, KeyMapRecordError::Json(_))
    ));
    rejects(
        b"{\"encoded\":\"a\",\"original\":\"\",\"kind\":\"k\"} x\n",
        "line 1",
    );
}

#[test]
fn reader_rejects_missing_null_or_empty_fields() {
    rejects(b"{\"original\":\"\",\"kind\":\"k\"}\n", "missing `encoded`");
    rejects(b"{\"encoded\":\"a\",\"kind\":\"k\"}\n", "missing `original`");
    assert_eq!(
        record_error(b"{\"encoded\":\"a\",\"kind\":\"k\"}\n"),
        (1, KeyMapRecordError::Missing("original"))
    );
    rejects(b"{\"encoded\":\"a\",\"original\":\"\"}\n", "missing `kind`");
    // The presence check is case-sensitive.
    rejects(
        b"{\"Encoded\":\"a\",\"original\":\"\",\"kind\":\"k\"}\n",
        "missing `encoded`",
    );
    for f in ["encoded", "original", "kind"] {
        let mut v = serde_json::json!({"encoded": "a", "original": "", "kind": "k"});
        v[f] = Value::Null;
        rejects(format!("{v}\n").as_bytes(), &format!("`{f}` is null"));
        assert!(
            matches!(record_error(format!("{v}\n").as_bytes()), (1, KeyMapRecordError::Null(n)) if n == f)
        );
    }
    rejects(
        b"{\"encoded\":\"\",\"original\":\"\",\"kind\":\"k\"}\n",
        "empty `encoded`",
    );
    assert_eq!(
        record_error(b"{\"encoded\":\"\",\"original\":\"\",\"kind\":\"k\"}\n"),
        (1, KeyMapRecordError::EmptyEncoded)
    );
    rejects(
        b"{\"encoded\":\"a\",\"original\":\"\",\"kind\":\"\"}\n",
        "empty `kind`",
    );
    assert_eq!(
        record_error(b"{\"encoded\":\"a\",\"original\":\"\",\"kind\":\"\"}\n"),
        (1, KeyMapRecordError::EmptyKind)
    );
    rejects(
        b"{\"encoded\":1,\"original\":\"\",\"kind\":\"k\"}\n",
        "must be a string",
    );
    assert!(matches!(
        record_error(b"{\"encoded\":1,\"original\":\"\",\"kind\":\"k\"}\n"),
        (1, KeyMapRecordError::NotString { name: "encoded", .. })
    ));
}

#[test]
fn reader_rejects_bad_base64() {
    rejects(
        b"{\"encoded\":\"a\",\"original\":\"gP8B=\",\"kind\":\"k\"}\n",
        "`original`",
    );
    rejects(
        b"{\"encoded\":\"a\",\"original\":\"a+b/\",\"kind\":\"k\"}\n",
        "`original`",
    );
    assert!(matches!(
        record_error(b"{\"encoded\":\"a\",\"original\":\"a+b/\",\"kind\":\"k\"}\n"),
        (1, KeyMapRecordError::Original(_))
    ));
}

#[test]
fn reader_rejects_blank_lines() {
    let good = "{\"encoded\":\"a\",\"original\":\"\",\"kind\":\"k\"}";
    rejects(
        format!("{good}\n\n{good}\n").as_bytes(),
        "line 2: invalid KEYMAP record: blank line",
    );
    rejects(format!("{good}\n\n").as_bytes(), "line 2");
    assert_eq!(
        record_error(format!("{good}\n\n").as_bytes()),
        (2, KeyMapRecordError::Blank)
    );
    rejects(format!("{good}\n\r\n").as_bytes(), "blank line");
    load_text(format!("{good}\n").as_bytes()).unwrap();
}

#[test]
fn reader_line_limit() {
    // A 1 MiB original (≈1.33 MiB line) is fine.
    let big = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vec![1u8; 1 << 20]);
    let m = load_text(format!("{{\"encoded\":\"a\",\"original\":\"{big}\",\"kind\":\"k\"}}\n").as_bytes())
        .unwrap();
    assert_eq!(m["a"].len(), 1 << 20);
    let huge = "A".repeat(MAX_LINE);
    rejects(
        format!("{{\"encoded\":\"a\",\"original\":\"{huge}\",\"kind\":\"k\"}}\n").as_bytes(),
        "longer than",
    );
}

#[test]
fn reader_refuses_symlink() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("real"), b"").unwrap();
    std::os::unix::fs::symlink(d.path().join("real"), d.path().join("KEYMAP.jsonl")).unwrap();
    assert!(matches!(
        load(&d.path().join("KEYMAP.jsonl")),
        Err(DumpError::Unsafe { .. })
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
    #[test]
    fn write_load_round_trip(entries in proptest::collection::btree_map("[^\n]{1,20}", proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 0..8)) {
        let mut km = KeyMap::default();
        for (enc, orig) in &entries {
            km.record(enc, orig, KIND_SHA_FALLBACK).unwrap();
        }
        let loaded = match written(km) {
            Some(bytes) => load_text(&bytes).unwrap(),
            None => HashMap::new(),
        };
        proptest::prop_assert_eq!(loaded, entries.into_iter().collect::<HashMap<_, _>>());
    }
}
