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
        assert!(item_from_bundle_line(&v).is_err(), "{bad}");
    }
}
