use super::*;
use crate::adapters::display_key;
use crate::adapters::dynamodb::keys::{item_key, primary_key_segments, table_meta_key, KeyError};
use crate::adapters::dynamodb::proto::ValueError;
use crate::adapters::dynamodb::proto::{item_value, schema_value, KeySchema};
use crate::dump::MemTree;
use std::collections::BTreeMap;

fn schema(name: &str, range: &str, generation: u64, migrating: u64) -> TableSchema {
    TableSchema {
        table_name: name.into(),
        attribute_definitions: [("id".to_owned(), "S".to_owned())].into(),
        primary_key: Some(KeySchema {
            hash_key: "id".into(),
            range_key: range.into(),
        }),
        key_encoding_version: 2,
        generation,
        migrating_from_generation: migrating,
        ..TableSchema::default()
    }
}

fn item(id: &str, v: &str) -> Item {
    Item {
        attributes: [
            ("id".to_owned(), AttributeValue::new(Value::S(id.into()))),
            ("v".to_owned(), AttributeValue::new(Value::S(v.into()))),
        ]
        .into(),
    }
}

fn item_rec(table: &str, generation: u64, it: &Item) -> (Vec<u8>, Vec<u8>) {
    let pk = primary_key_segments(&schema(table, "", 1, 0), it).unwrap();
    (item_key(table, generation, &pk), item_value(it))
}

fn decoder(layout: DynamoDbLayout, budget: usize, scratch: &std::path::Path) -> DynamoDbDecoder {
    let options = DynamoDbOptions {
        layout,
        bundle_size: 200,
    };
    let cx = DecodeContext {
        scratch_dir: scratch.to_path_buf(),
    };
    DynamoDbDecoder::with_budget(&options, &cx, budget)
}

/// Feed records (sorted by key, as the stream is) and finalize.
fn run(
    d: &mut DynamoDbDecoder,
    mut records: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<(MemTree, Warnings), AdapterError> {
    records.sort();
    let mut t = MemTree::new();
    let mut w = Warnings::new();
    for (k, v) in &records {
        let r = Record::routed(k, v).unwrap();
        d.handle(&mut t, &mut w, &r)?;
    }
    d.finalize(&mut t, &mut w)?;
    Ok((t, w))
}

fn per_item(scratch: &std::path::Path) -> DynamoDbDecoder {
    decoder(DynamoDbLayout::PerItem, DEFAULT_SORT_BUDGET, scratch)
}

#[test]
fn migration_source_first_active_last_and_stale_generations_warned() {
    let s = tempfile::tempdir().unwrap();
    let recs = vec![
        (table_meta_key("t"), schema_value(&schema("t", "", 3, 2))),
        item_rec("t", 2, &item("a", "old")),
        item_rec("t", 3, &item("a", "new")),
        item_rec("t", 2, &item("b", "source only")),
        item_rec("t", 1, &item("c", "stale")),
        item_rec("t", 4, &item("d", "future")),
    ];
    let (t, w) = run(&mut per_item(s.path()), recs).unwrap();
    assert!(t.text("dynamodb/t/items/a.json").contains("\"new\""));
    assert!(t.text("dynamodb/t/items/b.json").contains("source only"));
    assert!(t.file("dynamodb/t/items/c.json").is_none() && t.file("dynamodb/t/items/d.json").is_none());
    assert_eq!(
        w,
        vec![Warning::new(
            DdbEvent::StaleGenerationItems,
            vec![
                ("table", "t".into()),
                ("active_generation", "3".into()),
                ("migration_source_generation", "2".into()),
                ("stale_count", "2".into()),
                ("hint", STALE_HINT.into()),
            ]
        )]
    );
}

#[test]
fn orphan_items_are_warned_once_per_table_and_not_written() {
    let s = tempfile::tempdir().unwrap();
    let recs = vec![
        item_rec("gone", 1, &item("a", "x")),
        item_rec("gone", 2, &item("b", "x")),
        (table_meta_key("t"), schema_value(&schema("t", "", 1, 0))),
        (b"!ddb|meta|gen|Z29uZQ".to_vec(), b"2".to_vec()),
        (b"!ddb|gsi|dA|1|aQ|x\x00\x01".to_vec(), b"whatever".to_vec()),
    ];
    let (t, w) = run(&mut per_item(s.path()), recs).unwrap();
    assert_eq!(
        w,
        vec![Warning::new(
            DdbEvent::OrphanItems,
            vec![("encoded_table", "Z29uZQ".into()), ("buffered_items", "2".into())]
        )]
    );
    assert_eq!(
        t.files.keys().collect::<Vec<_>>(),
        vec!["dynamodb/t/_schema.json"]
    );
    assert!(t.dirs.contains(&"dynamodb/t/items".to_owned()));
}

#[test]
fn bad_records_are_typed_errors_naming_the_key() {
    let good_schema = schema_value(&schema("t", "", 1, 0));
    let (ik, iv) = item_rec("t", 1, &item("a", "x"));
    type Check = fn(&AdapterError) -> bool;
    fn value(e: &AdapterError) -> Option<ValueError> {
        e.cause::<ValueError>().cloned()
    }
    fn key(e: &AdapterError) -> Option<KeyError> {
        e.cause::<KeyError>().cloned()
    }
    let cases: Vec<(Vec<u8>, Vec<u8>, Check)> = vec![
        (table_meta_key("t"), b"{not a proto}".to_vec(), |e| {
            value(e) == Some(ValueError::SchemaMagic)
        }),
        (
            table_meta_key("t"),
            [b"\x00DS\x01".as_slice(), b"\x0a\x05ab"].concat(),
            |e| matches!(value(e), Some(ValueError::Schema(_))),
        ),
        (b"!ddb|meta|table|".to_vec(), good_schema.clone(), |e| {
            key(e) == Some(KeyError::EmptyTableSegment)
        }),
        (b"!ddb|meta|table|a".to_vec(), good_schema, |e| {
            matches!(key(e), Some(KeyError::TableSegment { .. }))
        }),
        (ik.clone(), b"\x00DS\x01".to_vec(), |e| {
            value(e) == Some(ValueError::ItemMagic)
        }),
        (ik.clone(), iv[..iv.len() - 2].to_vec(), |e| {
            matches!(value(e), Some(ValueError::Item(_)))
        }),
        (
            ik,
            [b"\x00DI\x01".as_slice(), b"\x0a\x06\x0a\x02\xff\xfe\x12\x00"].concat(),
            |e| matches!(value(e), Some(ValueError::Item(_))),
        ),
        (
            b"!ddb|item|dA|x7|k".to_vec(),
            iv.clone(),
            |e| matches!(key(e), Some(KeyError::Generation { text }) if text == "x7"),
        ),
        (
            b"!ddb|item|dA|-1|k".to_vec(),
            iv.clone(),
            |e| matches!(key(e), Some(KeyError::Generation { text }) if text == "-1"),
        ),
        (b"!ddb|item|dA|1|".to_vec(), iv.clone(), |e| {
            key(e) == Some(KeyError::NoPrimaryKey)
        }),
        (b"!ddb|item|".to_vec(), iv, |e| {
            key(e) == Some(KeyError::NoTableSeparator)
        }),
    ];
    for (k, v, check) in cases {
        let s = tempfile::tempdir().unwrap();
        let e = run(&mut per_item(s.path()), vec![(k.clone(), v)]).unwrap_err();
        assert!(
            matches!(&e, AdapterError::BadRecord { key, .. } if *key == display_key(&k)),
            "{e:?}"
        );
        assert!(check(&e), "{e:?}");
    }
}

#[test]
fn items_that_cannot_be_named_fail_at_finalize_naming_the_key() {
    let dot = |s: &str| ItemKeyError::DotSegment {
        role: KeyRole::Hash,
        segment: s.into(),
    };
    for (attrs, want) in [
        (
            vec![("v", Value::S("x".into()))],
            ItemKeyError::Missing {
                role: KeyRole::Hash,
                name: "id".into(),
            },
        ),
        (vec![("id", Value::S(".".into()))], dot(".")),
        (vec![("id", Value::N("..".into()))], dot("..")),
        (
            vec![("id", Value::Bool(true))],
            ItemKeyError::SegmentKind { role: KeyRole::Hash },
        ),
        (
            vec![("id", Value::N("1/2".into()))],
            ItemKeyError::NumberForm {
                role: KeyRole::Hash,
                text: "1/2".into(),
            },
        ),
    ] {
        let it = Item {
            attributes: attrs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), AttributeValue::new(v)))
                .collect(),
        };
        let key = b"!ddb|item|dA|1|k\x00\x01".to_vec();
        // Between two good items (key order a < k < z), in both layouts.
        for layout in [DynamoDbLayout::PerItem, DynamoDbLayout::Jsonl] {
            let s = tempfile::tempdir().unwrap();
            let recs = vec![
                (table_meta_key("t"), schema_value(&schema("t", "", 1, 0))),
                item_rec("t", 1, &item("a", "good")),
                (key.clone(), item_value(&it)),
                item_rec("t", 1, &item("z", "good")),
            ];
            let e = run(&mut decoder(layout, DEFAULT_SORT_BUDGET, s.path()), recs).unwrap_err();
            assert!(
                matches!(&e, AdapterError::BadRecord { key: k, .. } if *k == display_key(&key)),
                "{layout:?}: {e:?}"
            );
            assert_eq!(e.cause::<ItemKeyError>(), Some(&want), "{layout:?}: {e:?}");
        }
    }
}

/// A composite table (`id` S, `r` N) and an item record of it at generation 1.
fn composite_rec(id: &str, r: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
    let mut sc = schema("c", "r", 1, 0);
    sc.attribute_definitions.insert("r".into(), "N".into());
    let it = Item {
        attributes: [
            ("id".to_owned(), AttributeValue::new(Value::S(id.into()))),
            ("r".to_owned(), AttributeValue::new(Value::N(r.into()))),
            ("v".to_owned(), AttributeValue::new(Value::S(v.into()))),
        ]
        .into(),
    };
    let pk = primary_key_segments(&sc, &it).unwrap();
    (item_key("c", 1, &pk), item_value(&it))
}

#[test]
fn jsonl_key_check_names_the_first_faulty_item_hash_before_range() {
    let meta = {
        let mut sc = schema("c", "r", 1, 0);
        sc.attribute_definitions.insert("r".into(), "N".into());
        (table_meta_key("c"), schema_value(&sc))
    };
    let odd = |id: Option<Value>, r: Option<Value>| {
        let mut attributes = BTreeMap::new();
        attributes.insert("v".to_owned(), AttributeValue::new(Value::S("odd".into())));
        if let Some(id) = id {
            attributes.insert("id".to_owned(), AttributeValue::new(id));
        }
        if let Some(r) = r {
            attributes.insert("r".to_owned(), AttributeValue::new(r));
        }
        item_value(&Item { attributes })
    };
    let k = |n: u8| format!("!ddb|item|Yw|1|k{n}\x00\x01").into_bytes();
    type Records = Vec<(Vec<u8>, Vec<u8>)>;
    let cases: Vec<(Records, Vec<u8>, KeyRole)> = vec![
        // Range fault (item 2) before a hash fault (item 3): the range one.
        (
            vec![
                composite_rec("a", "1", "x"),
                (k(2), odd(Some(Value::S("b".into())), Some(Value::Bool(true)))),
                (k(3), odd(None, Some(Value::N("1".into())))),
            ],
            k(2),
            KeyRole::Range,
        ),
        // Both in one item: the hash one.
        (
            vec![composite_rec("a", "1", "x"), (k(2), odd(None, None))],
            k(2),
            KeyRole::Hash,
        ),
        // The first item lacks the range attribute altogether.
        (
            vec![
                (k(1), odd(Some(Value::S("a".into())), None)),
                composite_rec("b", "1", "x"),
            ],
            k(1),
            KeyRole::Range,
        ),
    ];
    for (items, want_key, role) in cases {
        let mut recs = items;
        recs.push(meta.clone());
        for n in [1, 3] {
            let s = tempfile::tempdir().unwrap();
            let e = run(
                &mut decoder(DynamoDbLayout::Jsonl, DEFAULT_SORT_BUDGET, s.path()).threads(n),
                recs.clone(),
            )
            .unwrap_err();
            assert!(
                matches!(&e, AdapterError::BadRecord { key, .. } if *key == display_key(&want_key)),
                "{e:?}"
            );
            let got = match e.cause::<ItemKeyError>() {
                Some(ItemKeyError::Missing { role, .. } | ItemKeyError::SegmentKind { role }) => *role,
                other => panic!("{other:?}"),
            };
            assert_eq!(got, role);
        }
    }
}

#[test]
fn jsonl_lines_are_in_key_order_and_a_migrating_table_in_path_order() {
    // N range keys 9 < 10 in key order; their files sort `10.json` < `9.json`.
    let s = tempfile::tempdir().unwrap();
    let mut sc = schema("c", "r", 1, 0);
    sc.attribute_definitions.insert("r".into(), "N".into());
    let recs = vec![
        (table_meta_key("c"), schema_value(&sc)),
        composite_rec("h", "9", "nine"),
        composite_rec("h", "10", "ten"),
    ];
    let (t, _) = run(
        &mut decoder(DynamoDbLayout::Jsonl, DEFAULT_SORT_BUDGET, s.path()),
        recs,
    )
    .unwrap();
    let part = t.text(&format!("dynamodb/c/items/{}", part_name(0)));
    assert_eq!(
        part,
        concat!(
            "{\"Item\":{\"id\":{\"S\":\"h\"},\"r\":{\"N\":\"9\"},\"v\":{\"S\":\"nine\"}}}\n",
            "{\"Item\":{\"id\":{\"S\":\"h\"},\"r\":{\"N\":\"10\"},\"v\":{\"S\":\"ten\"}}}\n",
        )
    );
    assert!(t.staged.is_empty(), "{:?}", t.staged.keys());
    // Migrating (source 1 and active 2 both hold items): path order, the active line wins.
    let mut sc2 = sc.clone();
    sc2.generation = 2;
    sc2.migrating_from_generation = 1;
    let at = |rec: (Vec<u8>, Vec<u8>), generation: &str| {
        let tail = rec.0.strip_prefix(b"!ddb|item|Yw|1|".as_slice()).unwrap();
        (
            [format!("!ddb|item|Yw|{generation}|").as_bytes(), tail].concat(),
            rec.1,
        )
    };
    let recs = vec![
        (table_meta_key("c"), schema_value(&sc2)),
        at(composite_rec("h", "9", "old nine"), "1"),
        at(composite_rec("h", "10", "old ten"), "1"),
        at(composite_rec("h", "9", "new nine"), "2"),
        at(composite_rec("h", "8", "stale"), "3"),
    ];
    let (t, w) = run(
        &mut decoder(DynamoDbLayout::Jsonl, DEFAULT_SORT_BUDGET, s.path()),
        recs,
    )
    .unwrap();
    let part = t.text(&format!("dynamodb/c/items/{}", part_name(0)));
    assert!(part.contains("old ten") && part.contains("new nine"), "{part}");
    assert!(part.find("old ten") < part.find("new nine"), "{part}");
    assert!(!part.contains("old nine") && !part.contains("stale"), "{part}");
    assert_eq!(w.len(), 1);
    assert!(t.staged.is_empty(), "{:?}", t.staged.keys());
}

#[test]
fn item_path_error_messages() {
    for (e, text) in [
        (
            ItemKeyError::DotSegment {
                role: KeyRole::Range,
                segment: "..".into(),
            },
            "range-key segment \"..\" is a dot path (would escape items dir)",
        ),
        (
            ItemKeyError::SegmentKind { role: KeyRole::Hash },
            "hash key has an unsupported attribute kind",
        ),
        (
            ItemKeyError::NumberForm {
                role: KeyRole::Hash,
                text: "1/2".into(),
            },
            "hash-key number \"1/2\" is in a big.Rat form this decoder does not read (a/b, 0x, _, p)",
        ),
    ] {
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn a_tiny_sort_budget_spills_and_writes_the_same_tree() {
    let mut recs = vec![(table_meta_key("t"), schema_value(&schema("t", "", 2, 1)))];
    // k0..k99 in both generations (the active one wins), k100..k299 in the source only
    for i in 0..400 {
        recs.push(item_rec(
            "t",
            1 + i / 300,
            &item(&format!("k{}", i % 300), &format!("value {i}")),
        ));
    }
    let s = tempfile::tempdir().unwrap();
    let mut small = decoder(DynamoDbLayout::PerItem, 4096, s.path());
    let (a, wa) = run(&mut small, recs.clone()).unwrap();
    let (b, wb) = run(&mut per_item(s.path()), recs).unwrap();
    assert_eq!(a.files, b.files);
    assert_eq!(wa, wb);
    assert_eq!(a.files.len(), 301);
}

#[test]
fn jsonl_parts_hold_at_most_the_bundle_size_and_a_long_line_gets_its_own() {
    let mut recs = vec![(table_meta_key("t"), schema_value(&schema("t", "", 1, 0)))];
    for i in 0..6 {
        recs.push(item_rec("t", 1, &item(&format!("k{i}"), "x")));
    }
    recs.push(item_rec("t", 1, &item("long", &"y".repeat(500))));
    let s = tempfile::tempdir().unwrap();
    let (t, _) = run(
        &mut decoder(DynamoDbLayout::Jsonl, DEFAULT_SORT_BUDGET, s.path()),
        recs,
    )
    .unwrap();
    let parts: Vec<_> = t.files.iter().filter(|(k, _)| k.ends_with(".jsonl")).collect();
    assert!(parts.len() >= 3);
    let mut lines = 0;
    for (name, bytes) in &parts {
        let n = bytes.iter().filter(|&&b| b == b'\n').count();
        lines += n;
        assert!(
            bytes.len() <= 200 || n == 1,
            "{name}: {} bytes in {n} lines",
            bytes.len()
        );
    }
    assert_eq!(lines, 7);
    assert_eq!(parts[0].0, &format!("dynamodb/t/items/{}", part_name(0)));
}

#[test]
fn any_thread_count_gives_the_same_tree_warnings_and_first_error() {
    // Two generations (source 1, active 2), a stale one (3), an orphan table, and enough
    // items for several render jobs.
    let mut recs = vec![(table_meta_key("t"), schema_value(&schema("t", "", 2, 1)))];
    for i in 0..700 {
        recs.push(item_rec(
            "t",
            1 + (i % 3),
            &item(&format!("k{}", i % 500), &format!("value {i}")),
        ));
        recs.push(item_rec("orphan", 1, &item(&format!("o{i}"), "x")));
    }
    let s = tempfile::tempdir().unwrap();
    for layout in [DynamoDbLayout::PerItem, DynamoDbLayout::Jsonl] {
        let (one, w1) = run(&mut decoder(layout, 4096, s.path()).threads(1), recs.clone()).unwrap();
        for n in [2, 4] {
            let (many, wn) = run(&mut decoder(layout, 4096, s.path()).threads(n), recs.clone()).unwrap();
            assert_eq!(one.files, many.files, "{layout:?} with {n} threads");
            assert_eq!(w1, wn);
        }
        assert!(!one.files.is_empty());
        assert_eq!(w1.len(), 2, "{w1:?}");
    }

    // Two garbled items: the first in staged order is the error, for any thread count.
    let (k1, _) = item_rec("t", 2, &item("k0001", "x"));
    let (k2, _) = item_rec("t", 2, &item("k0400", "x"));
    let mut bad = recs.clone();
    for k in [k1.clone(), k2] {
        bad.retain(|(rk, _)| *rk != k);
        bad.push((k, b"\x00DI\x01\xff".to_vec()));
    }
    for (layout, n) in [1, 2, 4]
        .map(|n| (DynamoDbLayout::PerItem, n))
        .into_iter()
        .chain([1, 2, 4].map(|n| (DynamoDbLayout::Jsonl, n)))
    {
        let e = run(&mut decoder(layout, 4096, s.path()).threads(n), bad.clone()).unwrap_err();
        assert!(
            matches!(&e, AdapterError::BadRecord { key, .. } if *key == display_key(&k1)),
            "{layout:?}, {n} threads: {e:?}"
        );
    }
}

#[test]
fn two_items_of_one_generation_naming_one_file_are_an_error_in_both_paths() {
    // Two keys whose items carry the same hash attribute ("a"): both name `a.json`.
    let recs = |generation: u64| {
        let (_, v) = item_rec("t", generation, &item("a", "x"));
        vec![
            (format!("!ddb|item|dA|{generation}|x1").into_bytes(), v.clone()),
            (format!("!ddb|item|dA|{generation}|x2").into_bytes(), v),
        ]
    };
    let s = tempfile::tempdir().unwrap();
    // Written as they come (per item, no migration): the second key is named.
    let mut direct = recs(1);
    direct.push((table_meta_key("t"), schema_value(&schema("t", "", 1, 0))));
    let e = run(&mut per_item(s.path()), direct.clone()).unwrap_err();
    assert!(
        matches!(&e, AdapterError::BadRecord { key, source, .. }
            if *key == display_key(b"!ddb|item|dA|1|x2") && source.to_string().contains("dynamodb/t/items/a.json")),
        "{e:?}"
    );
    // The jsonl layout of a table not being migrated names no file: both lines are kept
    // (nothing is lost), in key order.
    let (t, _) = run(
        &mut decoder(DynamoDbLayout::Jsonl, DEFAULT_SORT_BUDGET, s.path()),
        direct,
    )
    .unwrap();
    assert_eq!(
        t.text(&format!("dynamodb/t/items/{}", part_name(0))),
        "{\"Item\":{\"id\":{\"S\":\"a\"},\"v\":{\"S\":\"x\"}}}\n".repeat(2)
    );
    // Through the path sort (a migrating table, either layout): the file is named.
    let mut migrating = recs(2);
    migrating.push((table_meta_key("t"), schema_value(&schema("t", "", 2, 1))));
    let mut both = migrating.clone();
    both.push(item_rec("t", 1, &item("b", "old")));
    for (d, input) in [
        (
            decoder(DynamoDbLayout::Jsonl, DEFAULT_SORT_BUDGET, s.path()),
            both,
        ),
        (per_item(s.path()), migrating.clone()),
    ] {
        let mut d = d;
        let e = run(&mut d, input).unwrap_err();
        assert!(
            matches!(&e, AdapterError::BadFile { path, .. } if path.as_path() == std::path::Path::new("dynamodb/t/items/a.json")),
            "{e:?}"
        );
        assert!(e.to_string().contains("two items of one generation"), "{e}");
    }
    // One item in each generation of a migrating table: the active one wins, no error.
    let mut across = recs(2);
    across.truncate(1);
    let (k1, v1) = item_rec("t", 1, &item("a", "old"));
    across.extend([
        (k1, v1),
        (table_meta_key("t"), schema_value(&schema("t", "", 2, 1))),
    ]);
    let (t, _) = run(&mut per_item(s.path()), across).unwrap();
    assert!(String::from_utf8_lossy(&t.files["dynamodb/t/items/a.json"]).contains("\"x\""));
}
