use super::*;
use crate::adapters::sqs::keys;

fn line(m: &Message) -> String {
    let mut out = Vec::new();
    m.write_dump_line(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn dump_line_of_the_spec_example() {
    let m = Message {
        message_id: "m1".into(),
        body: Some(b"hello".to_vec()),
        md5_of_body: "5d41402abc4b2a76b9719d911017c592".into(),
        send_timestamp_millis: 1000,
        available_at_millis: 1000,
        queue_generation: 7,
        ..Message::default()
    };
    assert_eq!(
        line(&m),
        "{\"message_id\":\"m1\",\"body\":\"hello\",\"md5_of_body\":\"5d41402abc4b2a76b9719d911017c592\",\"send_timestamp_millis\":1000,\"available_at_millis\":1000,\"visible_at_millis\":0,\"receive_count\":0,\"queue_generation\":7}\n"
    );
}

#[test]
fn dump_line_escapes_html_only_in_the_body_and_wraps_binary_bodies() {
    let m = Message {
        message_id: "<id>".into(),
        body: Some("<a&b>\u{2028}".as_bytes().to_vec()),
        message_attributes: vec![(
            "<k>".into(),
            br#"{ "DataType" : "String", "StringValue":"<\u003e" }"#.to_vec(),
        )],
        partition: Some(0),
        ..Message::default()
    };
    assert_eq!(
        line(&m),
        "{\"message_id\":\"<id>\",\"body\":\"\\u003ca\\u0026b\\u003e\\u2028\",\"message_attributes\":{\"<k>\":{\"DataType\":\"String\",\"StringValue\":\"<\\u003e\"}},\"send_timestamp_millis\":0,\"available_at_millis\":0,\"visible_at_millis\":0,\"receive_count\":0,\"queue_generation\":0,\"partition\":0}\n"
    );
    let bin = Message {
        body: Some(vec![0xff, 0x00, 0xfe]),
        current_receipt_token: Some(vec![]),
        ..Message::default()
    };
    // An empty receipt token is omitted (omitempty), a binary body is {"base64": b64u}.
    assert!(line(&bin)
        .starts_with("{\"message_id\":\"\",\"body\":{\"base64\":\"_wD-\"},\"send_timestamp_millis\""));
}

#[test]
fn stored_value_has_every_always_present_field() {
    let m = Message {
        message_id: "m".into(),
        body: None,
        message_attributes: vec![("a".into(), br#"{"x":"<"}"#.to_vec())],
        sequence_number: 3,
        ..Message::default()
    };
    let v = m.stored_value();
    assert_eq!(&v[..4], keys::MSG_MAGIC);
    assert_eq!(
        std::str::from_utf8(&v[4..]).unwrap(),
        r#"{"message_id":"m","body":null,"md5_of_body":"","message_attributes":{"a":{"x":"\u003c"}},"send_timestamp_millis":0,"available_at_millis":0,"visible_at_millis":0,"receive_count":0,"current_receipt_token":null,"queue_generation":0,"sequence_number":3}"#
    );
    let with_body = Message {
        body: Some(vec![0xff]),
        ..m
    };
    assert!(with_body
        .stored_value()
        .windows(13)
        .any(|w| w == br#""body":"/w==""#));
}

#[test]
fn stored_messages_are_read_as_go_reads_them() {
    let json = br#"{"MESSAGE_ID":"m","body":"aGk=","Receive_Count":2,"sender_id":null,
        "message_attributes":{"a":{"x":1}},"message_attributes":null,
        "Message_Attributes":{"b": { "y" : "\u003c" },"a":{}},"current_receipt_token":"AQ=="}"#;
    let m = Message::from_stored(json).unwrap();
    assert_eq!(m.message_id, "m");
    assert_eq!(m.body.as_deref(), Some(&b"hi"[..]));
    assert_eq!(m.receive_count, 2);
    assert_eq!(m.sender_id, "");
    assert_eq!(m.current_receipt_token.as_deref(), Some(&[1u8][..]));
    // `null` cleared the first map; the third merged into a fresh one, names sorted.
    assert_eq!(
        m.message_attributes,
        vec![
            ("a".into(), b"{}".to_vec()),
            ("b".into(), br#"{ "y" : "\u003c" }"#.to_vec())
        ]
    );
    assert_eq!(Message::from_stored(b"null").unwrap(), Message::default());
    let field = |field, expected, found| ValueError::FieldType {
        field,
        expected,
        found,
    };
    type Check = fn(&ValueError) -> bool;
    let cases: [(&[u8], Check, &str); 8] = [
        (
            b"[]",
            |e| {
                *e == ValueError::NotObject {
                    found: JsonType::Array,
                }
            },
            "expected a JSON object, found an array",
        ),
        // std base64 needs padding
        (
            b"{\"body\":\"aGk\"}",
            |e| matches!(e, ValueError::FieldBase64 { field: "body", .. }),
            "field `body`: invalid base64: ",
        ),
        (
            b"{\"body\":5}",
            |e| matches!(e, ValueError::FieldType { field: "body", .. }),
            "field `body`: expected a base64 string, found a number",
        ),
        (
            b"{\"send_timestamp_millis\":1.5}",
            |e| {
                matches!(
                    e,
                    ValueError::FieldType {
                        expected: FieldType::I64,
                        ..
                    }
                )
            },
            "field `send_timestamp_millis`: expected a 64-bit integer, found a number",
        ),
        (
            b"{\"queue_generation\":-1}",
            |e| {
                matches!(
                    e,
                    ValueError::FieldType {
                        expected: FieldType::U64,
                        ..
                    }
                )
            },
            "field `queue_generation`: expected an unsigned 64-bit integer, found a number",
        ),
        (
            b"{\"message_attributes\":[1]}",
            |e| *e == ValueError::AttributesType,
            "field `message_attributes`: expected an object",
        ),
        (
            b"{\"message_id\":\"m\"",
            |e| matches!(e, ValueError::Json { .. }),
            "",
        ),
        (
            b"{\"message_id\":\"m\"} x",
            |e| matches!(e, ValueError::Json { .. }),
            "unexpected data after the JSON value at byte 19",
        ),
    ];
    for (bad, is, text) in cases {
        let e = Message::from_stored(bad).unwrap_err();
        assert!(is(&e), "{}: {e:?}", String::from_utf8_lossy(bad));
        assert!(e.to_string().starts_with(text), "{e}");
    }
    assert_eq!(
        field("body", FieldType::Bytes, JsonType::Number),
        Message::from_stored(b"{\"body\":5}").unwrap_err()
    );
    // The raw scan of the attributes (after the JSON parser accepted the text).
    assert_eq!(raw_attributes(b"[1]"), Err(ValueError::RawObject));
    assert_eq!(ValueError::RawObject.to_string(), "not a JSON object");
    assert_eq!(
        raw_attributes(b"{\"message_attributes\":{\"a\"}}"),
        Err(ValueError::AttributesObject)
    );
    assert_eq!(ValueError::AttributesObject.to_string(), "bad attributes object");
    assert_eq!(ValueError::KeyNotString.to_string(), "object key is not a string");
    assert_eq!(
        ValueError::AttributeName.to_string(),
        "attribute name is not a string"
    );
}

#[test]
fn dump_bodies_follow_gos_envelope_rules() {
    let body = |raw: &str| Message::from_dump(raw.as_bytes()).map(|m| m.body);
    assert_eq!(body(r#"{"body":"x"}"#), Ok(Some(b"x".to_vec())));
    assert_eq!(body(r#"{"body":null}"#), Ok(Some(Vec::new())));
    assert_eq!(body(r#"{}"#), Ok(None));
    assert_eq!(
        body(r#"{"body":{"base64":"_wD-"}}"#),
        Ok(Some(vec![0xff, 0, 0xfe]))
    );
    assert_eq!(body(r#"{"body":{"BASE64":"_w"}}"#), Ok(Some(vec![0xff])));
    let u32_field = ValueError::FieldType {
        field: "partition",
        expected: FieldType::U32,
        found: JsonType::Number,
    };
    let cases = [
        (r#"{"body":{}}"#, ValueError::BodyMissingBase64),
        (
            r#"{"body":{"oops":"x"}}"#,
            ValueError::BodyField { field: "oops".into() },
        ),
        (
            r#"{"body":{"base64":"_w","extra":1}}"#,
            ValueError::BodyField {
                field: "extra".into(),
            },
        ),
        (r#"{"body":{"base64":null}}"#, ValueError::BodyMissingBase64),
        (
            r#"{"body":{"base64":5}}"#,
            ValueError::BodyBase64Type {
                found: JsonType::Number,
            },
        ),
        (
            r#"{"body":7}"#,
            ValueError::BodyType {
                found: JsonType::Number,
            },
        ),
        (r#"{"partition":-1}"#, u32_field.clone()),
        (r#"{"partition":4294967296}"#, u32_field),
        (
            r#"[]"#,
            ValueError::NotObject {
                found: JsonType::Array,
            },
        ),
    ];
    for (bad, want) in cases {
        assert_eq!(Message::from_dump(bad.as_bytes()), Err(want), "{bad}");
    }
    let e = Message::from_dump(br#"{"body":{"base64":"_w=="}}"#).unwrap_err();
    assert!(matches!(e, ValueError::BodyBase64 { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with("invalid base64url (no padding): "),
        "{e}"
    );
    for (e, text) in [
        (ValueError::BodyMissingBase64, "body object missing base64 field"),
        (
            ValueError::BodyField { field: "x".into() },
            "body object has an unknown field `x`",
        ),
        (
            ValueError::BodyBase64Type {
                found: JsonType::Number,
            },
            "body `base64`: expected a string, found a number",
        ),
        (
            ValueError::BodyType {
                found: JsonType::Bool,
            },
            "body: expected a string or an object, found a boolean",
        ),
        (
            ValueError::FieldType {
                field: "partition",
                expected: FieldType::U32,
                found: JsonType::Null,
            },
            "field `partition`: expected an unsigned 32-bit integer, found null",
        ),
    ] {
        assert_eq!(e.to_string(), text);
    }
    assert_eq!(
        Message::from_dump(br#"{"partition":null}"#).unwrap().partition,
        None
    );
    assert_eq!(
        Message::from_dump(br#"{"partition":3}"#).unwrap().partition,
        Some(3)
    );
}

#[test]
fn queue_meta_both_ways() {
    let stored = br#"{"name":"orders-fifo.fifo","generation":4,"is_fifo":true,"tags":{"a":"b"},
        "visibility_timeout_seconds":30,"message_retention_seconds":345600,"maximum_message_size":262144,
        "throttle":{"send_capacity":1.5}}"#;
    let m = QueueMeta::from_stored(stored).unwrap();
    assert_eq!(
        String::from_utf8(m.public_json()).unwrap(),
        "{\n  \"format_version\": 1,\n  \"name\": \"orders-fifo.fifo\",\n  \"fifo\": true,\n  \"visibility_timeout_seconds\": 30,\n  \"message_retention_seconds\": 345600,\n  \"delay_seconds\": 0,\n  \"maximum_message_size\": 262144\n}"
    );
    let (back, version) = QueueMeta::from_public(&m.public_json()).unwrap();
    assert_eq!((back, version), (m, 1));
    let orders = QueueMeta {
        name: "orders".into(),
        visibility_timeout_seconds: 30,
        message_retention_seconds: 345_600,
        ..QueueMeta::default()
    };
    assert_eq!(
        String::from_utf8(orders.stored_value()[4..].to_vec()).unwrap(),
        r#"{"name":"orders","generation":1,"visibility_timeout_seconds":30,"message_retention_seconds":345600,"delay_seconds":0,"receive_message_wait_seconds":0,"maximum_message_size":0}"#
    );
    let e = QueueMeta::from_stored(br#"{"is_fifo":"yes"}"#).unwrap_err();
    assert_eq!(
        e,
        ValueError::FieldType {
            field: "is_fifo",
            expected: FieldType::Bool,
            found: JsonType::String,
        }
    );
    assert_eq!(
        e.to_string(),
        "field `is_fifo`: expected a boolean, found a string"
    );
    assert!(matches!(
        QueueMeta::from_stored(br#"{"partition_count":4294967296}"#),
        Err(ValueError::FieldType {
            field: "partition_count",
            expected: FieldType::U32,
            found: JsonType::Number,
        })
    ));
    assert!(matches!(
        QueueMeta::from_stored(br#"{"tags":[]"#),
        Err(ValueError::Json { .. })
    ));
    assert_eq!(
        QueueMeta::from_stored(b"\"q\""),
        Err(ValueError::NotObject {
            found: JsonType::String
        })
    );
    let e = QueueMeta::from_public(b"").unwrap_err();
    assert!(matches!(e, ValueError::Json { .. }), "{e:?}");
    assert_eq!(e.to_string(), "no JSON value (empty input)");
    // decodeOneJSON: a trailing `}` after the value is not noticed.
    assert!(QueueMeta::from_public(br#"{"format_version":1}}"#).is_ok());
    assert!(matches!(
        QueueMeta::from_public(br#"{"format_version":1} x"#),
        Err(ValueError::Json { .. })
    ));
}

#[test]
fn dedup_and_side_record_shapes() {
    assert_eq!(
        dedup_value("m", 1000, 0),
        br#"{"message_id":"m","send_timestamp_ms":1000,"expires_at_millis":301000}"#
    );
    assert_eq!(
        dedup_value("m", 1000, 9),
        br#"{"message_id":"m","send_timestamp_ms":1000,"expires_at_millis":301000,"original_sequence":9}"#
    );
    assert_eq!(
        side_record_line(b"!sqs|msg|vis|", b"!k", b"\xff"),
        b"{\"prefix\":\"!sqs|msg|vis|\",\"key_hex\":\"216b\",\"value_b64\":\"_w\"}\n"
    );
}
