use super::*;

#[test]
fn item_file_is_go_marshal_indent_of_the_spec_example() {
    let v: Value = serde_json::from_str(
        r#"{"session_id":{"S":"sess-abc123"},"user_id":{"S":"alice"},"count":{"N":"42"},"flags":{"BOOL":true}}"#,
    )
    .unwrap();
    let item = item_from_json(&v).unwrap();
    let want = "{\n  \"count\": {\n    \"N\": \"42\"\n  },\n  \"flags\": {\n    \"BOOL\": true\n  },\n  \"session_id\": {\n    \"S\": \"sess-abc123\"\n  },\n  \"user_id\": {\n    \"S\": \"alice\"\n  }\n}";
    assert_eq!(String::from_utf8(item_file(&item)).unwrap(), want);
}

#[test]
fn value_forms_of_every_kind() {
    let av = |v: Av| {
        let item = Item {
            attributes: [("a".to_owned(), AttributeValue::new(v))].into(),
        };
        String::from_utf8(bundle_line(&item)).unwrap()
    };
    assert_eq!(
        av(Av::B(vec![0xfb, 0xff])),
        "{\"Item\":{\"a\":{\"B\":\"+/8=\"}}}\n"
    );
    assert_eq!(
        av(Av::Ss(StringSet::default())),
        "{\"Item\":{\"a\":{\"SS\":[]}}}\n"
    );
    assert_eq!(
        av(Av::Bs(BinarySet {
            values: vec![vec![1], vec![]]
        })),
        "{\"Item\":{\"a\":{\"BS\":[\"AQ==\",\"\"]}}}\n"
    );
    assert_eq!(av(Av::Null(false)), "{\"Item\":{\"a\":{\"NULL\":false}}}\n");
    assert_eq!(
        av(Av::S("<&>".into())),
        "{\"Item\":{\"a\":{\"S\":\"<&>\"}}}\n",
        "no HTML escaping in bundles"
    );
    let empty = Item {
        attributes: [("a".to_owned(), AttributeValue::default())].into(),
    };
    assert_eq!(
        String::from_utf8(bundle_line(&empty)).unwrap(),
        "{\"Item\":{\"a\":{\"NULL\":true}}}\n"
    );
    // …and item files escape HTML as json.MarshalIndent does.
    let html = Item {
        attributes: [("a".to_owned(), AttributeValue::new(Av::S("<&>".into())))].into(),
    };
    assert!(String::from_utf8(item_file(&html))
        .unwrap()
        .contains("\\u003c\\u0026\\u003e"));
}

#[test]
fn schema_file_of_the_spec_example_and_back() {
    let s = TableSchema {
        table_name: "sessions".into(),
        attribute_definitions: [("session_id".to_owned(), "S".to_owned())].into(),
        primary_key: Some(KeySchema {
            hash_key: "session_id".into(),
            range_key: String::new(),
        }),
        key_encoding_version: 7,
        generation: 9,
        migrating_from_generation: 8,
        ..TableSchema::default()
    };
    let text = schema_file(&s);
    let want = "{\n  \"format_version\": 1,\n  \"table_name\": \"sessions\",\n  \"primary_key\": {\n    \"hash_key\": {\n      \"name\": \"session_id\",\n      \"type\": \"S\"\n    },\n    \"range_key\": {}\n  },\n  \"attribute_definitions\": [\n    {\n      \"name\": \"session_id\",\n      \"type\": \"S\"\n    }\n  ]\n}";
    assert_eq!(String::from_utf8(text.clone()).unwrap(), want);
    let back = schema_from_json(&text, Path::new("_schema.json")).unwrap();
    assert_eq!(
        back,
        TableSchema {
            key_encoding_version: 2,
            generation: 1,
            migrating_from_generation: 0,
            ..s
        }
    );
}

#[test]
fn bundle_lines_must_hold_exactly_an_item() {
    for bad in [
        r#"{"item":{}}"#,
        r#"{"Item":{},"x":1}"#,
        r#"{"Item":null}"#,
        "[]",
        "1",
    ] {
        let v: Value = serde_json::from_str(bad).unwrap();
        let e = item_from_bundle_line(&v).unwrap_err();
        assert_eq!(e, ItemJsonError::BundleLine, "{bad}");
        assert_eq!(e.to_string(), "a bundle line must be {\"Item\": {…}}");
    }
}

#[test]
fn item_json_errors_are_typed_and_placed() {
    let err = |text: &str| item_from_json(&serde_json::from_str(text).unwrap()).unwrap_err();
    let at = |name: &str, e: ItemJsonError| ItemJsonError::Attribute {
        at: AttrAt::Attribute(name.to_owned()),
        error: Box::new(e),
    };
    let cases = [
        (
            "[1]",
            ItemJsonError::NotObject { found: "an array" },
            "item must be a JSON object, found an array",
        ),
        (
            r#"{"z":null}"#,
            ItemJsonError::AttributeNotObject {
                at: AttrAt::Attribute("z".into()),
            },
            "attribute \"z\" is not an object",
        ),
        (
            r#"{"z":{"S":"a","N":"1"}}"#,
            at("z", ItemJsonError::TypeKeys { count: 2 }),
            "attribute \"z\": attribute object must have exactly one type key, got 2",
        ),
        (
            r#"{"z":{}}"#,
            at("z", ItemJsonError::TypeKeys { count: 0 }),
            "attribute \"z\": attribute object must have exactly one type key, got 0",
        ),
        (
            r#"{"z":{"s":"a"}}"#,
            at("z", ItemJsonError::UnknownType { typ: "s".into() }),
            "attribute \"z\": unknown attribute type \"s\"",
        ),
        (
            r#"{"z":{"N":1}}"#,
            at(
                "z",
                ItemJsonError::WrongType {
                    typ: "N".into(),
                    found: "an integer",
                },
            ),
            "",
        ),
        (
            r#"{"z":{"SS":"a"}}"#,
            at("z", ItemJsonError::SetNotArray { typ: "SS" }),
            "attribute \"z\": SS value is not an array",
        ),
        (
            r#"{"z":{"NS":[1]}}"#,
            at("z", ItemJsonError::SetElement),
            "attribute \"z\": set element is not a string",
        ),
        (
            r#"{"z":{"L":[1]}}"#,
            at("z", ItemJsonError::ListElement),
            "attribute \"z\": L element is not an object",
        ),
        (
            r#"{"z":{"M":{"k":1}}}"#,
            at(
                "z",
                ItemJsonError::AttributeNotObject {
                    at: AttrAt::MapEntry("k".into()),
                },
            ),
            "attribute \"z\": M[\"k\"] is not an object",
        ),
        (
            r#"{"z":{"M":{"k":{"BOOL":1}}}}"#,
            at(
                "z",
                ItemJsonError::Attribute {
                    at: AttrAt::MapEntry("k".into()),
                    error: Box::new(ItemJsonError::WrongType {
                        typ: "BOOL".into(),
                        found: "an integer",
                    }),
                },
            ),
            "",
        ),
    ];
    for (text, want, message) in cases {
        let e = err(text);
        assert_eq!(e, want, "{text}");
        if !message.is_empty() {
            assert_eq!(e.to_string(), message, "{text}");
        }
    }
    let e = err(r#"{"z":{"B":"AA"}}"#);
    assert!(
        matches!(&e, ItemJsonError::Attribute { error, .. } if matches!(**error, ItemJsonError::Base64(_))),
        "{e:?}"
    );
    assert!(e
        .to_string()
        .starts_with("attribute \"z\": binary value is not valid base64: "));
    let e = ItemJsonError::WrongType {
        typ: "N".into(),
        found: type_name(&Value::from(1)),
    };
    assert_eq!(
        e.to_string(),
        format!("N value is {}", type_name(&Value::from(1)))
    );
    assert_eq!(ItemJsonError::Empty.to_string(), "empty attribute object");
}

#[test]
fn schema_json_errors_are_typed() {
    let err = |text: &str| schema_from_json(text.as_bytes(), Path::new("_schema.json")).unwrap_err();
    let base = r#"{"format_version":1,"table_name":"t","primary_key":{"hash_key":{"name":"h"}}"#;
    let e = err("{} x");
    assert!(matches!(e, SchemaJsonError::Json(_)), "{e:?}");
    let e = err("[]");
    assert!(matches!(e, SchemaJsonError::NotObject { found } if found == type_name(&Value::Array(vec![]))));
    assert_eq!(
        err("[]").to_string(),
        format!(
            "expected a JSON object, found {}",
            type_name(&Value::Array(vec![]))
        )
    );
    let e = err(r#"{"format_version":"1"}"#);
    assert!(matches!(e, SchemaJsonError::Field(_)), "{e:?}");
    let e = err(r#"{"format_version":2}"#);
    assert!(
        matches!(e, SchemaJsonError::FormatVersion { version: 2 }),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "unsupported format_version 2");
    let e = err(&format!("{base},\"attribute_definitions\":{{}}}}"));
    assert!(
        matches!(
            e,
            SchemaJsonError::NotArray {
                field: "attribute_definitions",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "field `attribute_definitions`: expected an array, found {}",
            type_name(&Value::Object(Map::new()))
        )
    );
    let e = err(&format!("{base},\"global_secondary_indexes\":[1]}}"));
    assert!(
        matches!(
            e,
            SchemaJsonError::NotObjects {
                field: "global_secondary_indexes",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "field `global_secondary_indexes`: expected an array of objects, found {}",
            type_name(&Value::from(1))
        )
    );
    let e = err(&format!(
        "{base},\"attribute_definitions\":[{{\"name\":\"h\"}},{{\"name\":\"h\"}}]}}"
    ));
    assert!(
        matches!(&e, SchemaJsonError::DuplicateAttribute { name } if name == "h"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "duplicate attribute definition \"h\"");
    let e = err(&format!(
        "{base},\"global_secondary_indexes\":[{{\"name\":\"g\"}},{{\"name\":\"g\"}}]}}"
    ));
    assert!(
        matches!(&e, SchemaJsonError::DuplicateGsi { name } if name == "g"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "duplicate GSI name \"g\"");
}

/// The general reader's item for `bytes`, or `None` where it refuses them.
fn general_item(bytes: &[u8]) -> Option<Item> {
    let value = crate::dump::json::parse_one(bytes, true).ok()?;
    item_from_json(&value).ok()
}

#[test]
fn plain_item_reads_the_decoders_form_and_leaves_the_rest_to_the_general_reader() {
    let s = |v: &str| AttributeValue::new(Av::S(v.to_owned()));
    let one = |name: &str, av: AttributeValue| Item {
        attributes: [(name.to_owned(), av)].into(),
    };
    // Read by the typed pass, as the general reader reads them.
    for (text, want) in [
        (&b"{\"a\":{\"S\":\"x\"}}"[..], one("a", s("x"))),
        (b" {\"a\" : {\"S\" : \"\\u00e9\"}}\n\t", one("a", s("\u{e9}"))),
        (b"{\"a\":{\"S\":\"\xff\"}}", one("a", s("\u{fffd}"))),
        (b"{\"a\":{\"S\":\"\\ud800\"}}", one("a", s("\u{fffd}"))),
        (b"{}", Item::default()),
    ] {
        assert_eq!(plain_item(text), Some(want.clone()), "{text:?}");
        assert_eq!(general_item(text), Some(want), "{text:?}");
    }
    // Accepted by the general reader's leniency only: the typed pass steps aside.
    for (text, want) in [
        (
            &b"{\"a\":{\"S\":\"1\"},\"a\":{\"S\":\"2\"}}"[..],
            one("a", s("2")),
        ),
        (b"{\"a\":{\"S\":\"1\",\"S\":\"2\"}}", one("a", s("2"))),
        (b"{\"a\":{\"\\u0053\":\"x\"}}", one("a", s("x"))),
        (b"{\"a\":{\"M\":{\"b\":{\"S\":\"1\"},\"b\":{\"S\":\"2\"}}}}", {
            let m = AttributeValueMap {
                values: [("b".to_owned(), s("2"))].into(),
            };
            one("a", AttributeValue::new(Av::M(m)))
        }),
        (b"null", Item::default()),
        (b"{\"a\":{\"S\":\"x\"}}}", one("a", s("x"))),
    ] {
        assert_eq!(plain_item(text), None, "{text:?}");
        assert_eq!(general_item(text), Some(want), "{text:?}");
    }
    // Refused by both.
    for text in [
        &b"{\"a\":{\"S\":1}}"[..],
        b"{\"a\":{\"X\":\"1\"}}",
        b"{\"a\":{\"S\":\"1\",\"N\":\"1\"}}",
        b"{\"a\":{}}",
        b"{\"a\":{\"B\":\"abc\"}}",
        b"{\"a\":{\"L\":[1]}}",
        b"{\"a\":{\"SS\":[\"x\",2]}}",
        b"{\"a\":{\"S\":\"x\"}} {}",
        b"[]",
        b"",
    ] {
        assert_eq!(plain_item(text), None, "{text:?}");
        assert_eq!(general_item(text), None, "{text:?}");
    }
}

mod plain_item_props {
    use proptest::prelude::*;

    use super::*;

    fn av() -> impl Strategy<Value = AttributeValue> {
        let text = "[a-z<&\"\\\\é\u{2028}\n]{0,5}";
        let bytes = proptest::collection::vec(any::<u8>(), 0..5);
        let leaf = prop_oneof![
            text.prop_map(Av::S),
            "-?[0-9]{1,4}(\\.[0-9]{1,2})?".prop_map(Av::N),
            bytes.clone().prop_map(Av::B),
            any::<bool>().prop_map(Av::Bool),
            any::<bool>().prop_map(Av::Null),
            proptest::collection::vec(text, 0..3).prop_map(|values| Av::Ss(StringSet { values })),
            proptest::collection::vec("[0-9]{1,3}", 0..3).prop_map(|values| Av::Ns(StringSet { values })),
            proptest::collection::vec(bytes, 0..3).prop_map(|values| Av::Bs(BinarySet { values })),
        ]
        .prop_map(AttributeValue::new);
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|values| AttributeValue::new(Av::L(AttributeValueList { values }))),
                proptest::collection::btree_map("[a-c]{0,2}", inner, 0..4)
                    .prop_map(|values| AttributeValue::new(Av::M(AttributeValueMap { values }))),
            ]
        })
    }

    fn item() -> impl Strategy<Value = Item> {
        proptest::collection::btree_map("[a-z ]{0,3}", av(), 0..5).prop_map(|attributes| Item { attributes })
    }

    proptest! {
        /// Every item file the decoder writes is read by the typed pass, to the item written.
        #[test]
        fn written_items_read_back(item in item()) {
            let bytes = item_file(&item);
            prop_assert_eq!(plain_item(&bytes), Some(item.clone()));
            prop_assert_eq!(general_item(&bytes), Some(item));
        }

        /// Whatever the typed pass accepts, even from a damaged file, the general reader
        /// reads to the same item.
        #[test]
        fn accepted_means_same_as_general(
            item in item(),
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), 0..3u8, prop::sample::select(&b"{}[]\":,\\SNMLB01 \xff"[..])),
                1..4,
            ),
        ) {
            let mut bytes = item_file(&item);
            for (at, op, byte) in edits {
                let i = at.index(bytes.len() + 1);
                match op {
                    0 => bytes.insert(i, byte),
                    1 if i < bytes.len() => { bytes.remove(i); }
                    _ if i < bytes.len() => bytes[i] = byte,
                    _ => bytes.push(byte),
                }
            }
            if let Some(got) = plain_item(&bytes) {
                prop_assert_eq!(Some(got), general_item(&bytes), "{:?}", String::from_utf8_lossy(&bytes));
            }
        }
    }
}
