use super::*;

fn s(v: &str) -> AttributeValue {
    AttributeValue::new(Value::S(v.to_owned()))
}

fn item(attrs: &[(&str, AttributeValue)]) -> Item {
    Item {
        attributes: attrs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
    }
}

#[test]
fn schema_vector_of_the_spec() {
    let schema = TableSchema {
        table_name: "sessions".into(),
        attribute_definitions: [("id".to_owned(), "S".to_owned())].into(),
        primary_key: Some(KeySchema {
            hash_key: "id".into(),
            range_key: String::new(),
        }),
        key_encoding_version: 2,
        generation: 1,
        ..TableSchema::default()
    };
    let want = hex::decode(
        "00445301 0a0873657373696f6e73 1207 0a026964 120153 1a04 0a026964 2802 3801".replace(' ', ""),
    )
    .unwrap();
    assert_eq!(schema_value(&schema), want);
    assert_eq!(parse_schema(&want).unwrap(), schema);
}

#[test]
fn item_vector_of_the_spec() {
    let it = item(&[("id", s("abc")), ("v", AttributeValue::new(Value::N("7".into())))]);
    let want =
        hex::decode("004449010a0b0a02696412050a036162630a080a01761203120137".replace(' ', "")).unwrap();
    assert_eq!(item_value(&it), want);
    assert_eq!(parse_item(&want).unwrap(), it);
}

#[test]
fn zero_values_are_written_as_go_writes_them() {
    // oneof zero values, empty sets, an empty map key, an empty attribute value message.
    let it = item(&[
        ("", s("")),
        ("b", AttributeValue::new(Value::Bool(false))),
        ("n", AttributeValue::new(Value::Null(false))),
        ("ss", AttributeValue::new(Value::Ss(StringSet::default()))),
        ("x", AttributeValue::default()),
    ]);
    let got = item_value(&it);
    let want = hex::decode(concat!(
        "00444901", "0a06", "0a00", "1202", "0a00", // "" -> {s: ""}
        "0a07", "0a0162", "1202", "2000", // b -> bool false
        "0a07", "0a016e", "1202", "2800", // n -> null false
        "0a08", "0a027373", "1202", "3200", // ss -> empty set
        "0a05", "0a0178", "1200", // x -> empty message
    ))
    .unwrap();
    assert_eq!(got, want);
    assert_eq!(parse_item(&got).unwrap(), it);
}

#[test]
fn schema_map_entries_keep_empty_keys_and_values() {
    let schema = TableSchema {
        attribute_definitions: [(String::new(), String::new())].into(),
        global_secondary_indexes: [(String::new(), GlobalSecondaryIndex::default())].into(),
        ..TableSchema::default()
    };
    let got = schema_value(&schema);
    assert_eq!(hex::encode(&got), "0044530112040a00120022040a001200");
    assert_eq!(parse_schema(&got).unwrap(), schema);
}

#[test]
fn nested_lists_and_maps_round_trip() {
    let inner = AttributeValue::new(Value::M(AttributeValueMap {
        values: [("k".to_owned(), AttributeValue::new(Value::B(vec![0, 1])))].into(),
    }));
    let list = AttributeValue::new(Value::L(AttributeValueList {
        values: vec![
            inner,
            AttributeValue::new(Value::Bs(BinarySet {
                values: vec![vec![], vec![9]],
            })),
        ],
    }));
    let it = item(&[("l", list)]);
    let bytes = item_value(&it);
    assert_eq!(parse_item(&bytes).unwrap(), it);
    // prost agrees with the hand-written length computation.
    assert_eq!(bytes.len() - ITEM_MAGIC.len(), it.go_len());
}

#[test]
fn bad_values_are_errors() {
    let e = parse_item(b"\x00DS\x01").unwrap_err();
    assert_eq!(e, ValueError::ItemMagic);
    assert_eq!(e.to_string(), "item value without the 00 'D' 'I' 01 magic");
    let e = parse_schema(b"").unwrap_err();
    assert_eq!(e, ValueError::SchemaMagic);
    assert_eq!(
        e.to_string(),
        "table schema value without the 00 'D' 'S' 01 magic"
    );
    // truncated length
    let e = parse_item(b"\x00DI\x01\x0a\xff").unwrap_err();
    assert!(matches!(&e, ValueError::Item(d) if e.to_string() == format!("item protobuf: {d}")));
    // invalid UTF-8 key
    assert!(matches!(
        parse_item(b"\x00DI\x01\x0a\x05\x0a\x03\xff\xfe\xfd"),
        Err(ValueError::Item(_))
    ));
    // truncated varint
    let e = parse_schema(b"\x00DS\x01\x38").unwrap_err();
    assert!(matches!(&e, ValueError::Schema(d) if e.to_string() == format!("table schema protobuf: {d}")));
}
