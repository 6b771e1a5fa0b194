use super::*;
use crate::adapters::dynamodb::keys::KeyRole;
use crate::adapters::dynamodb::public::{AttrAt, SchemaJsonError};
use crate::adapters::SinkError;
use crate::dump::DumpError;

/// The records an encode gave (sorted), or its error.
type Outcome = Result<Vec<(Vec<u8>, Vec<u8>)>, AdapterError>;

#[derive(Default)]
struct Sink(Vec<(Vec<u8>, Vec<u8>)>);

impl RecordSink for Sink {
    fn add(&mut self, k: &[u8], v: &[u8]) -> Result<(), SinkError> {
        self.0.push((k.to_vec(), v.to_vec()));
        Ok(())
    }
}

const SCHEMA: &str = r#"{"format_version":1,"table_name":"t","primary_key":{"hash_key":{"name":"h"},"range_key":{"name":"r"}},
  "attribute_definitions":[{"name":"h","type":"S"},{"name":"r","type":"N"}],
  "global_secondary_indexes":[{"name":"g","key_schema":{"hash_key":{"name":"x"}},"projection":{"type":"ALL"}}]}"#;

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn run_with(root: &Path, layout: DynamoDbLayout) -> Outcome {
    let options = DynamoDbOptions {
        layout,
        ..DynamoDbOptions::default()
    };
    let cx = EncodeContext {
        threads: 2,
        scratch_dir: root.to_path_buf(),
        reader: crate::dump::checksums::TreeReader::unverified(root),
    };
    let mut sink = Sink::default();
    DynamoDbEncoder::new(&options, &cx).encode(root, &mut sink)?;
    sink.0.sort();
    Ok(sink.0)
}

fn run(root: &Path) -> Outcome {
    run_with(root, DynamoDbLayout::PerItem)
}

fn tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    put(d.path(), "dynamodb/t/_schema.json", SCHEMA);
    d
}

fn bad_file_containing(r: Outcome, path_end: &str, what: &str) {
    match r {
        Err(AdapterError::BadFile { path, source }) => {
            let w = source.to_string();
            assert!(
                path.ends_with(path_end),
                "{} does not end with {path_end}",
                path.display()
            );
            assert!(w.contains(what), "{w:?} lacks {what:?}");
        }
        other => panic!("expected BadFile({path_end}, {what}), got {other:?}"),
    }
}

/// The error of a refused file, checked to name the file.
fn bad_file_at(r: Outcome, path_end: &str) -> AdapterError {
    match r {
        Err(e @ AdapterError::BadFile { .. }) => {
            assert!(
                matches!(&e, AdapterError::BadFile { path, .. } if path.ends_with(path_end)),
                "{e:?} does not name {path_end}"
            );
            e
        }
        other => panic!("expected BadFile({path_end}), got {other:?}"),
    }
}

#[test]
fn schema_item_and_gsi_records() {
    let d = tree();
    put(
        d.path(),
        "dynamodb/t/items/a/1.json",
        r#"{"h":{"S":"a"},"r":{"N":"1"},"x":{"B":"AA=="}}"#,
    );
    put(
        d.path(),
        "dynamodb/t/items/a/2.json",
        r#"{"h":{"S":"a"},"r":{"N":"2"}}"#,
    );
    put(
        d.path(),
        "dynamodb/t/items/a/notes.txt",
        "ignored as Go ignores it",
    );
    put(d.path(), "dynamodb/stray.txt", "ignored");
    let recs = run(d.path()).unwrap();
    let keys: Vec<&[u8]> = recs.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(
        keys,
        vec![
            b"!ddb|gsi|dA|1|Zw|\x00\xff\x00\x01a\x00\x01\x02\x02\x01\x01\x00\xff1\x00\x01".as_slice(),
            b"!ddb|item|dA|1|a\x00\x01\x02\x02\x01\x01\x00\xff1\x00\x01",
            b"!ddb|item|dA|1|a\x00\x01\x02\x02\x01\x01\x00\xff2\x00\x01",
            b"!ddb|meta|gen|dA",
            b"!ddb|meta|table|dA",
        ]
    );
    assert_eq!(recs[0].1, recs[1].0, "a GSI row points at its item");
    assert_eq!(recs[3].1, b"1");
}

#[test]
fn missing_trees_and_items_are_no_ops() {
    let d = tempfile::tempdir().unwrap();
    assert!(run(d.path()).unwrap().is_empty());
    let d = tree();
    assert_eq!(run(d.path()).unwrap().len(), 2);
}

#[test]
fn schema_is_read_leniently_as_go_reads_it() {
    let d = tempfile::tempdir().unwrap();
    put(
        d.path(),
        "dynamodb/t/_schema.json",
        r#"{"FORMAT_VERSION":1,"Table_Name":"t","primary_key":{"HASH_KEY":{"Name":"h"},"range_key":null},
           "attribute_definitions":[{"name":"h","type":"S"}],"unknown":[1,2],"table_name":"t"} ]"#,
    );
    put(
        d.path(),
        "dynamodb/t/items/a.json",
        r#"{"h":{"S":"dup"},"h":{"S":"a"}}"#,
    );
    let recs = run(d.path()).unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].0, b"!ddb|item|dA|1|a\x00\x01");
}

#[test]
fn schema_errors_name_the_file() {
    type Check = fn(&SchemaJsonError) -> bool;
    let typed: [(String, Check); 6] = [
        (
            SCHEMA.replace("\"format_version\":1", "\"format_version\":99"),
            |e| matches!(e, SchemaJsonError::FormatVersion { version: 99 }),
        ),
        (
            SCHEMA.replace("\"format_version\":1", "\"format_version\":1.0"),
            |e| matches!(e, SchemaJsonError::Field(_)) && e.to_string().contains("format_version"),
        ),
        (
            SCHEMA.replace(
                "{\"name\":\"r\",\"type\":\"N\"}",
                "{\"name\":\"h\",\"type\":\"N\"}",
            ),
            |e| matches!(e, SchemaJsonError::DuplicateAttribute { name } if name == "h"),
        ),
        (
            SCHEMA.replace("}]}", "},{\"name\":\"g\"}]}"),
            |e| matches!(e, SchemaJsonError::DuplicateGsi { name } if name == "g"),
        ),
        ("[]".to_owned(), |e| {
            matches!(e, SchemaJsonError::NotObject { .. })
        }),
        (
            "{} x".to_owned(),
            |e| matches!(e, SchemaJsonError::Json(m) if m.contains("unexpected data")),
        ),
    ];
    for (text, check) in typed {
        let d = tempfile::tempdir().unwrap();
        put(d.path(), "dynamodb/t/_schema.json", &text);
        let e = bad_file_at(run(d.path()), "t/_schema.json");
        let cause = e.cause::<SchemaJsonError>();
        assert!(cause.is_some_and(check), "{e:?}");
    }
    for (text, what) in [
        (
            SCHEMA.replace("\"table_name\":\"t\"", "\"table_name\":\"u\""),
            "encodes to dir",
        ),
        (
            SCHEMA.replace("\"table_name\":\"t\"", "\"table_name\":\"\""),
            "empty table_name",
        ),
        (SCHEMA.replace("{\"name\":\"h\"}", "{}"), "empty primary hash key"),
    ] {
        let d = tempfile::tempdir().unwrap();
        put(d.path(), "dynamodb/t/_schema.json", &text);
        bad_file_containing(run(d.path()), "t/_schema.json", what);
    }
}

#[test]
fn item_errors_name_the_file() {
    type Check = fn(&AdapterError) -> bool;
    fn key(e: &AdapterError) -> Option<ItemKeyError> {
        e.cause::<ItemKeyError>().cloned()
    }
    /// The item JSON error, unwrapped from attribute `z`.
    fn json(e: &AdapterError) -> Option<ItemJsonError> {
        match e.cause::<ItemJsonError>() {
            Some(ItemJsonError::Attribute { at, error }) if *at == AttrAt::Attribute("z".into()) => {
                Some((**error).clone())
            }
            other => other.cloned(),
        }
    }
    let cases: [(&str, Check); 12] = [
        (
            r#"{"r":{"N":"1"}}"#,
            |e| matches!(key(e), Some(ItemKeyError::Missing { role: KeyRole::Hash, name }) if name == "h"),
        ),
        (
            r#"{"h":{"S":"a"}}"#,
            |e| matches!(key(e), Some(ItemKeyError::Missing { role: KeyRole::Range, name }) if name == "r"),
        ),
        (r#"{"h":{"BOOL":true},"r":{"N":"1"}}"#, |e| {
            key(e) == Some(ItemKeyError::NotKeyKind)
        }),
        (
            r#"{"h":{"S":"a"},"r":{"N":"0x10"}}"#,
            |e| matches!(key(e), Some(ItemKeyError::Number { text, .. }) if text == "0x10"),
        ),
        (
            r#"{"h":{"S":"a"},"r":{"N":"1"},"x":{"SS":["a"]}}"#,
            |e| matches!(key(e), Some(ItemKeyError::Index { index, .. }) if index == "g"),
        ),
        (
            r#"{"h":{"S":"a"},"r":{"N":"1"},"z":{"s":"lower-case tag"}}"#,
            |e| matches!(json(e), Some(ItemJsonError::UnknownType { typ }) if typ == "s"),
        ),
        (r#"{"h":{"S":"a"},"r":{"N":"1"},"z":{"S":"a","N":"1"}}"#, |e| {
            json(e) == Some(ItemJsonError::TypeKeys { count: 2 })
        }),
        (r#"{"h":{"S":"a"},"r":{"N":"1"},"z":{"B":"AA"}}"#, |e| {
            matches!(json(e), Some(ItemJsonError::Base64(_)))
        }),
        (
            r#"{"h":{"S":"a"},"r":{"N":"1"},"z":{"N":1}}"#,
            |e| matches!(json(e), Some(ItemJsonError::WrongType { typ, .. }) if typ == "N"),
        ),
        (r#"{"h":{"S":"a"},"r":{"N":"1"},"z":{"L":[1]}}"#, |e| {
            json(e) == Some(ItemJsonError::ListElement)
        }),
        (r#"{"h":{"S":"a"},"r":{"N":"1"},"z":null}"#, |e| {
            json(e)
                == Some(ItemJsonError::AttributeNotObject {
                    at: AttrAt::Attribute("z".into()),
                })
        }),
        (r#"["not an item"]"#, |e| {
            matches!(json(e), Some(ItemJsonError::NotObject { .. }))
        }),
    ];
    for (text, check) in cases {
        let d = tree();
        put(d.path(), "dynamodb/t/items/a/x.json", text);
        let e = bad_file_at(run(d.path()), "items/a/x.json");
        assert!(check(&e), "{text}: {e:?}");
    }
}

#[test]
fn item_under_the_wrong_hash_directory_is_refused() {
    let d = tree();
    put(
        d.path(),
        "dynamodb/t/items/b/1.json",
        r#"{"h":{"S":"a"},"r":{"N":"1"}}"#,
    );
    bad_file_containing(run(d.path()), "items/b/1.json", "items/a/");
    let d = tree();
    put(
        d.path(),
        "dynamodb/t/items/1.json",
        r#"{"h":{"S":"a"},"r":{"N":"1"}}"#,
    );
    bad_file_containing(run(d.path()), "items/1.json", "items/a/");
    // The file name itself is free (Go ignores it).
    let d = tree();
    put(
        d.path(),
        "dynamodb/t/items/a/anything.json",
        r#"{"h":{"S":"a"},"r":{"N":"1.0"}}"#,
    );
    assert_eq!(run(d.path()).unwrap().len(), 3);
}

#[test]
fn deeper_nesting_and_special_files_are_refused() {
    let d = tree();
    put(d.path(), "dynamodb/t/items/a/sub/x.json", "{}");
    bad_file_containing(run(d.path()), "items/a/sub", "nested directory");

    let d = tree();
    put(d.path(), "elsewhere.json", r#"{"h":{"S":"a"},"r":{"N":"1"}}"#);
    std::fs::create_dir_all(d.path().join("dynamodb/t/items/a")).unwrap();
    std::os::unix::fs::symlink(
        d.path().join("elsewhere.json"),
        d.path().join("dynamodb/t/items/a/x.json"),
    )
    .unwrap();
    bad_file_containing(run(d.path()), "items/a/x.json", "symbolic link");

    let d = tree();
    put(
        d.path(),
        "dynamodb/t/items/a/x.json",
        r#"{"h":{"S":"a"},"r":{"N":"1"}}"#,
    );
    std::fs::hard_link(
        d.path().join("dynamodb/t/items/a/x.json"),
        d.path().join("hard.json"),
    )
    .unwrap();
    assert!(matches!(
        run(d.path()),
        Err(AdapterError::Dump(DumpError::Unsafe { .. }))
    ));

    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("dynamodb/t/_schema.json")).unwrap();
    assert!(matches!(run(d.path()), Err(AdapterError::Dump(_))));

    let d = tree();
    put(d.path(), "dynamodb/t/items", "a file, not a directory");
    bad_file_containing(run(d.path()), "t/items", "not a directory");
}

#[test]
fn jsonl_parts_are_read_in_the_jsonl_layout_only() {
    let d = tree();
    put(
        d.path(),
        "dynamodb/t/items/data-00000.jsonl",
        "{\"Item\":{\"h\":{\"S\":\"a\"},\"r\":{\"N\":\"1\"}}}\n{\"Item\":{\"h\":{\"S\":\"b\"},\"r\":{\"N\":\"2\"}}}\n",
    );
    assert_eq!(
        run(d.path()).unwrap().len(),
        2,
        "per-item layout skips .jsonl as Go does"
    );
    assert_eq!(run_with(d.path(), DynamoDbLayout::Jsonl).unwrap().len(), 4);
    put(
        d.path(),
        "dynamodb/t/items/data-00001.jsonl",
        "{\"Item\":{\"h\":{\"S\":\"c\"},\"r\":{\"N\":\"1\"}}}\n{\"item\":{}}\n",
    );
    let e = bad_file_at(run_with(d.path(), DynamoDbLayout::Jsonl), "data-00001.jsonl");
    assert_eq!(
        e.cause::<BundleItemError>(),
        Some(&BundleItemError::Json {
            item: 2,
            error: ItemJsonError::BundleLine
        }),
        "{e:?}"
    );
    assert!(e
        .to_string()
        .ends_with("data-00001.jsonl: item 2: a bundle line must be {\"Item\": {…}}"));
    put(
        d.path(),
        "dynamodb/t/items/data-00001.jsonl",
        "{\"Item\":{\"h\":{\"S\":\"c\"},\"r\":{\"N\":\"1\"}}}\n{\"Item\":{\"r\":{\"N\":\"1\"}}}\n",
    );
    let e = bad_file_at(run_with(d.path(), DynamoDbLayout::Jsonl), "data-00001.jsonl");
    assert!(
        matches!(
            e.cause::<BundleItemError>(),
            Some(BundleItemError::Key {
                item: 2,
                error: ItemKeyError::Missing {
                    role: KeyRole::Hash,
                    ..
                }
            })
        ),
        "{e:?}"
    );
    assert!(e
        .to_string()
        .ends_with("item 2: item missing hash-key attribute \"h\""));
}

/// The records in the order the encoder emits them (unsorted), with a listing budget and
/// round size of our choice.
fn run_small(root: &Path, threads: usize, budget: usize, per_round: usize) -> Outcome {
    let cx = EncodeContext {
        threads,
        scratch_dir: root.to_path_buf(),
        reader: crate::dump::checksums::TreeReader::unverified(root),
    };
    let mut enc = DynamoDbEncoder::new(&DynamoDbOptions::default(), &cx);
    enc.listing_budget = budget;
    enc.per_round = per_round;
    let mut sink = Sink::default();
    enc.encode(root, &mut sink)?;
    Ok(sink.0)
}

#[test]
fn a_listing_larger_than_the_budget_spills_and_gives_the_same_records() {
    let d = tree();
    for h in 0..12 {
        for r in 0..10 {
            put(
                d.path(),
                &format!("dynamodb/t/items/{h}/{r}.json"),
                &format!(r#"{{"h":{{"S":"{h}"}},"r":{{"N":"{r}"}},"x":{{"B":"AA=="}}}}"#),
            );
        }
    }
    let want = run_small(d.path(), 1, LISTING_SORT_BUDGET, FILES_PER_ROUND).unwrap();
    assert_eq!(want.len(), 2 + 120 * 2);
    // Items come in walk order: directory then file name, bytewise ("10" before "2").
    let items: Vec<&[u8]> = want
        .iter()
        .map(|(k, _)| k.as_slice())
        .filter(|k| k.starts_with(b"!ddb|item|"))
        .collect();
    assert!(
        items[0].starts_with(b"!ddb|item|dA|1|0\x00\x01"),
        "{:?}",
        items[0]
    );
    assert!(items[10].starts_with(b"!ddb|item|dA|1|1\x00\x01"));
    assert!(items[20].starts_with(b"!ddb|item|dA|1|10\x00\x01"));
    for (threads, budget, per_round) in [(1, 0, 1), (2, 64, 7), (3, 300, 1000)] {
        let got = run_small(d.path(), threads, budget, per_round).unwrap();
        assert_eq!(
            got, want,
            "threads {threads} budget {budget} per round {per_round}"
        );
    }
}

#[test]
fn the_whole_listing_is_checked_before_any_item_is_read() {
    // A bad item in the first round, a nested directory in the last: the listing error is
    // the one reported, whatever the round size.
    let d = tree();
    put(d.path(), "dynamodb/t/items/a/0.json", "not json");
    for r in 1..5 {
        put(
            d.path(),
            &format!("dynamodb/t/items/b/{r}.json"),
            &format!(r#"{{"h":{{"S":"b"}},"r":{{"N":"{r}"}}}}"#),
        );
    }
    put(d.path(), "dynamodb/t/items/z/sub/x.json", "{}");
    for (budget, per_round) in [(0, 1), (64, 2), (LISTING_SORT_BUDGET, FILES_PER_ROUND)] {
        bad_file_containing(
            run_small(d.path(), 2, budget, per_round),
            "items/z/sub",
            "nested directory",
        );
    }
}

#[test]
fn a_jsonl_part_of_many_pieces_gives_every_record_and_numbers_errors_in_the_part() {
    // About 5 MiB of items: several pieces (cut at `}\n{`) on the worker threads; one
    // item spread over three lines (as `jq` would write it) in the middle.
    let line = |i: usize| {
        format!(
            "{{\"Item\":{{\"h\":{{\"S\":\"k{i:06}\"}},\"r\":{{\"N\":\"1\"}},\"pad\":{{\"S\":\"{}\"}}}}}}\n",
            "p".repeat(1000)
        )
    };
    let n = 5000;
    let mut text: String = (0..n).map(line).collect();
    text.push_str("{\"Item\":\n{\"h\":{\"S\":\"spread\"},\n\"r\":{\"N\":\"2\"}}}\n");
    text.extend((n..2 * n).map(line));
    let d = tree();
    put(d.path(), "dynamodb/t/items/data-00000.jsonl", &text);
    let records = run_with(d.path(), DynamoDbLayout::Jsonl).unwrap();
    // Item records and their generation/meta: one item record per item.
    let items = records
        .iter()
        .filter(|(k, _)| k.starts_with(b"!ddb|item|"))
        .count();
    assert_eq!(items, 2 * n + 1);
    // A malformed value and an item without its key, far into the part: numbered in it.
    let broken = |at: usize, bad: &str| {
        let mut lines: Vec<String> = (0..2 * n).map(line).collect();
        lines[at - 1] = bad.to_owned();
        put(d.path(), "dynamodb/t/items/data-00000.jsonl", &lines.concat());
        run_with(d.path(), DynamoDbLayout::Jsonl).unwrap_err()
    };
    let e = broken(7777, "{\"Item\":{\"h\":{\"S\":\"x\"}} oops}\n");
    assert!(
        e.to_string().contains("value 7777: ") && e.to_string().contains("at line 7777 "),
        "{e}"
    );
    let e = broken(9001, "{\"Item\":{\"r\":{\"N\":\"1\"}}}\n");
    assert!(
        matches!(
            e.cause::<BundleItemError>(),
            Some(BundleItemError::Key { item: 9001, .. })
        ),
        "{e:?}"
    );
}

#[test]
fn a_jsonl_part_that_does_not_match_checksums_is_reported_as_such_even_when_it_is_garbled() {
    let d = tree();
    let good = "{\"Item\":{\"h\":{\"S\":\"a\"},\"r\":{\"N\":\"1\"}}}\n";
    put(d.path(), "dynamodb/t/items/data-00000.jsonl", good);
    let sha = |t: &str| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(t.as_bytes()))
    };
    let list = format!(
        "{}  dynamodb/t/_schema.json\n{}  dynamodb/t/items/data-00000.jsonl\n",
        sha(SCHEMA),
        sha(good)
    );
    put(d.path(), "CHECKSUMS", &list);
    let scratch = tempfile::tempdir().unwrap();
    let encode = |root: &Path| {
        let (reader, _) = TreeReader::new(root, true, scratch.path()).unwrap();
        let cx = EncodeContext {
            threads: 2,
            scratch_dir: scratch.path().to_path_buf(),
            reader,
        };
        let options = DynamoDbOptions {
            layout: DynamoDbLayout::Jsonl,
            ..DynamoDbOptions::default()
        };
        let mut sink = Sink::default();
        DynamoDbEncoder::new(&options, &cx)
            .encode(root, &mut sink)
            .map(|_| sink.0.len())
    };
    assert_eq!(encode(d.path()).unwrap(), 3);
    put(
        d.path(),
        "dynamodb/t/items/data-00000.jsonl",
        "{\"Item\": garbled\n",
    );
    let e = encode(d.path()).unwrap_err();
    assert!(
        matches!(&e, AdapterError::Dump(DumpError::Checksum { path, .. }) if path.ends_with("data-00000.jsonl")),
        "{e:?}"
    );
}
