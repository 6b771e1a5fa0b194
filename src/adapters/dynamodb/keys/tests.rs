use super::*;
use crate::adapters::dynamodb::proto::{GlobalSecondaryIndex, KeySchema};

fn av(v: Value) -> AttributeValue {
    AttributeValue::new(v)
}

fn schema(hash: &str, range: &str) -> TableSchema {
    TableSchema {
        table_name: "t".into(),
        primary_key: Some(KeySchema {
            hash_key: hash.into(),
            range_key: range.into(),
        }),
        ..TableSchema::default()
    }
}

fn item(attrs: &[(&str, Value)]) -> Item {
    Item {
        attributes: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), av(v.clone())))
            .collect(),
    }
}

#[test]
fn segment_escapes_zero_and_terminates() {
    let mut out = Vec::new();
    push_segment(&mut out, b"a\x00b");
    assert_eq!(out, b"a\x00\xffb\x00\x01");
    let mut out = Vec::new();
    push_segment(&mut out, b"");
    assert_eq!(out, b"\x00\x01");
}

#[test]
fn item_key_vectors_of_the_spec() {
    let s = schema("h", "r");
    let it = item(&[("h", Value::S("a".into())), ("r", Value::B(vec![0, 9]))]);
    let pk = primary_key_segments(&s, &it).unwrap();
    assert_eq!(
        item_key("tbl", 1, &pk),
        b"!ddb|item|dGJs|1|a\x00\x01\x00\xff\x09\x00\x01"
    );
    let s = schema("id", "");
    let it = item(&[("id", Value::S("abc".into()))]);
    let pk = primary_key_segments(&s, &it).unwrap();
    assert_eq!(
        item_key("sessions", 1, &pk),
        b"!ddb|item|c2Vzc2lvbnM|1|abc\x00\x01"
    );
}

#[test]
fn gsi_key_vector_of_the_spec() {
    let mut s = schema("customer", "order");
    s.global_secondary_indexes.insert(
        "by-region".into(),
        GlobalSecondaryIndex {
            key_schema: Some(KeySchema {
                hash_key: "region".into(),
                range_key: String::new(),
            }),
            projection: None,
        },
    );
    let it = item(&[
        ("customer", Value::S("c1".into())),
        ("order", Value::S("o1".into())),
        ("region", Value::S("us".into())),
    ]);
    let pk = primary_key_segments(&s, &it).unwrap();
    let rows = gsi_rows("orders", 1, &s, &it, &pk).unwrap();
    assert_eq!(
        rows,
        vec![b"!ddb|gsi|b3JkZXJz|1|YnktcmVnaW9u|us\x00\x01c1\x00\x01o1\x00\x01".to_vec()]
    );
    assert_eq!(
        item_key("orders", 1, &pk),
        b"!ddb|item|b3JkZXJz|1|c1\x00\x01o1\x00\x01"
    );
}

#[test]
fn gsi_rows_are_sparse_and_typed() {
    let mut s = schema("h", "");
    for (name, hash, range) in [("a", "x", ""), ("b", "x", "y"), ("c", "z", "")] {
        s.global_secondary_indexes.insert(
            name.into(),
            GlobalSecondaryIndex {
                key_schema: Some(KeySchema {
                    hash_key: hash.into(),
                    range_key: range.into(),
                }),
                projection: None,
            },
        );
    }
    let it = item(&[("h", Value::N("1".into())), ("x", Value::B(vec![1]))]);
    let pk = primary_key_segments(&s, &it).unwrap();
    let rows = gsi_rows("t", 1, &s, &it, &pk).unwrap();
    assert_eq!(rows.len(), 1, "only index a has all its attributes");
    let bad = item(&[("h", Value::S("k".into())), ("z", Value::Bool(true))]);
    let pk = primary_key_segments(&s, &bad).unwrap();
    let e = gsi_rows("t", 1, &s, &bad, &pk).unwrap_err();
    assert!(
        matches!(&e, ItemKeyError::Index { index, error } if index == "c" && **error == ItemKeyError::NotKeyKind),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "index \"c\": primary key attribute is not S, N, or B"
    );
}

#[test]
fn primary_key_errors_name_the_attribute() {
    let s = schema("h", "r");
    let e = primary_key_segments(&s, &item(&[("r", Value::S("x".into()))])).unwrap_err();
    assert!(
        matches!(&e, ItemKeyError::Missing { role: KeyRole::Hash, name } if name == "h"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "item missing hash-key attribute \"h\"");
    let e = primary_key_segments(&s, &item(&[("h", Value::S("x".into()))])).unwrap_err();
    assert!(
        matches!(&e, ItemKeyError::Missing { role: KeyRole::Range, name } if name == "r"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "item missing range-key attribute \"r\"");
    let e = primary_key_segments(
        &s,
        &item(&[("h", Value::Bool(true)), ("r", Value::S("x".into()))]),
    )
    .unwrap_err();
    assert!(matches!(e, ItemKeyError::NotKeyKind), "{e:?}");
    assert_eq!(e.to_string(), "primary key attribute is not S, N, or B");
    let e = primary_key_segments(
        &s,
        &item(&[("h", Value::N("1x".into())), ("r", Value::S("x".into()))]),
    )
    .unwrap_err();
    assert!(
        matches!(&e, ItemKeyError::Number { text, .. } if text == "1x"),
        "{e:?}"
    );
    let ItemKeyError::Number { reason, .. } = &e else {
        unreachable!()
    };
    assert_eq!(e.to_string(), format!("number key \"1x\": {reason}"));
}

#[test]
fn item_key_parse() {
    assert_eq!(
        parse_item_key(b"!ddb|item|b3JkZXJz|42|x").unwrap(),
        (&b"b3JkZXJz"[..], 42)
    );
    let generation = |t: &str| KeyError::Generation { text: t.to_owned() };
    for (bad, want) in [
        (&b"!ddb|item|"[..], KeyError::NoTableSeparator),
        (b"!ddb|item|dA|7|", KeyError::NoPrimaryKey),
        (b"!ddb|item||7|x", KeyError::NoTableSeparator),
        (b"!ddb|item|dA||x", KeyError::NoGenerationSeparator),
        (b"!ddb|item|dA|+7|x", generation("+7")),
        (b"!ddb|item|dA|-7|x", generation("-7")),
        (
            b"!ddb|item|dA|18446744073709551616|x",
            generation("18446744073709551616"),
        ),
        (b"!ddb|item|dA|\xff|x", generation("\u{fffd}")),
        (b"!ddb|item|dA", KeyError::NoTableSeparator),
        (b"!ddb|item|dA|7", KeyError::NoGenerationSeparator),
        (b"!ddb|meta|table|dA", KeyError::Prefix { prefix: "!ddb|item|" }),
    ] {
        let e = parse_item_key(bad).unwrap_err();
        assert_eq!(e, want, "{}", String::from_utf8_lossy(bad));
    }
    assert!(matches!(
        parse_item_key(b"!ddb|item|d*|7|x"),
        Err(KeyError::TableSegment { .. })
    ));
    assert!(matches!(
        parse_item_key(b"!ddb|item|\xff|7|x"),
        Err(KeyError::TableSegmentNotText)
    ));
}

#[test]
fn key_error_messages() {
    for (e, text) in [
        (
            KeyError::Prefix { prefix: "!ddb|item|" },
            "key does not start with !ddb|item|",
        ),
        (KeyError::EmptyTableSegment, "empty table segment"),
        (KeyError::TableSegmentNotText, "table segment is not base64url"),
        (
            KeyError::TableSegment { reason: "bad".into() },
            "table segment: bad",
        ),
        (KeyError::NoTableSeparator, "item key missing table/gen separator"),
        (
            KeyError::NoGenerationSeparator,
            "item key missing gen/rest separator",
        ),
        (
            KeyError::Generation { text: "+7".into() },
            "item key generation \"+7\" is not a decimal u64",
        ),
        (KeyError::NoPrimaryKey, "item key missing primary-key payload"),
    ] {
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn table_meta_key_parse() {
    let (seg, name) = parse_table_meta_key(b"!ddb|meta|table|dGJs").unwrap();
    assert_eq!((seg, name.as_slice()), (&b"dGJs"[..], &b"tbl"[..]));
    assert_eq!(
        parse_table_meta_key(b"!ddb|meta|table|").unwrap_err(),
        KeyError::EmptyTableSegment
    );
    assert!(matches!(
        parse_table_meta_key(b"!ddb|meta|table|a"),
        Err(KeyError::TableSegment { .. })
    ));
    assert_eq!(
        parse_table_meta_key(b"!ddb|item|dA").unwrap_err(),
        KeyError::Prefix {
            prefix: "!ddb|meta|table|"
        }
    );
    assert_eq!(table_meta_key("tbl"), b"!ddb|meta|table|dGJs");
    assert_eq!(table_gen_key("tbl"), b"!ddb|meta|gen|dGJs");
}
