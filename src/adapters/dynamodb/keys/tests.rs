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
    assert!(gsi_rows("t", 1, &s, &bad, &pk)
        .unwrap_err()
        .contains("index \"c\""));
}

#[test]
fn primary_key_errors_name_the_attribute() {
    let s = schema("h", "r");
    let e = primary_key_segments(&s, &item(&[("r", Value::S("x".into()))])).unwrap_err();
    assert!(e.contains("hash-key attribute \"h\""));
    let e = primary_key_segments(&s, &item(&[("h", Value::S("x".into()))])).unwrap_err();
    assert!(e.contains("range-key attribute \"r\""));
    let e = primary_key_segments(
        &s,
        &item(&[("h", Value::Bool(true)), ("r", Value::S("x".into()))]),
    )
    .unwrap_err();
    assert!(e.contains("not S, N, or B"));
    let e = primary_key_segments(
        &s,
        &item(&[("h", Value::N("1x".into())), ("r", Value::S("x".into()))]),
    )
    .unwrap_err();
    assert!(e.contains("number key"));
}

#[test]
fn item_key_parse() {
    assert_eq!(
        parse_item_key(b"!ddb|item|b3JkZXJz|42|x").unwrap(),
        (&b"b3JkZXJz"[..], 42)
    );
    for bad in [
        &b"!ddb|item|"[..],
        b"!ddb|item|dA|7|",
        b"!ddb|item||7|x",
        b"!ddb|item|dA||x",
        b"!ddb|item|dA|+7|x",
        b"!ddb|item|dA|-7|x",
        b"!ddb|item|dA|18446744073709551616|x",
        b"!ddb|item|d*|7|x",
        b"!ddb|item|dA",
        b"!ddb|item|dA|7",
    ] {
        assert!(parse_item_key(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn table_meta_key_parse() {
    let (seg, name) = parse_table_meta_key(b"!ddb|meta|table|dGJs").unwrap();
    assert_eq!((seg, name.as_slice()), (&b"dGJs"[..], &b"tbl"[..]));
    assert!(parse_table_meta_key(b"!ddb|meta|table|").is_err());
    assert!(parse_table_meta_key(b"!ddb|meta|table|a").is_err());
    assert_eq!(table_meta_key("tbl"), b"!ddb|meta|table|dGJs");
    assert_eq!(table_gen_key("tbl"), b"!ddb|meta|gen|dGJs");
}
