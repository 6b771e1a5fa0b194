//! Byte-exact tests of the five Go JSON styles (s3_tree_pipeline.md §0, redis.md §5.4) and
//! of the lenient reader helpers.

use serde::Serialize;
use serde_json::json;

use super::*;

fn s(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[derive(Serialize)]
struct Sample<'a> {
    name: &'a str,
    list: Vec<u32>,
    empty: Vec<u32>,
    obj: serde_json::Value,
    none: serde_json::Value,
}

fn sample() -> Sample<'static> {
    Sample {
        name: "a<b>&c",
        list: vec![1, 2],
        empty: vec![],
        obj: json!({}),
        none: json!({"k": null}),
    }
}

#[test]
fn style_marshal_indent() {
    let want = "{\n  \"name\": \"a\\u003cb\\u003e\\u0026c\",\n  \"list\": [\n    1,\n    2\n  ],\n  \"empty\": [],\n  \"obj\": {},\n  \"none\": {\n    \"k\": null\n  }\n}";
    assert_eq!(s(to_vec(&sample(), JsonStyle::MARSHAL_INDENT)), want);
}

#[test]
fn style_marshal() {
    let want = r#"{"name":"a\u003cb\u003e\u0026c","list":[1,2],"empty":[],"obj":{},"none":{"k":null}}"#;
    assert_eq!(s(to_vec(&sample(), JsonStyle::MARSHAL)), want);
}

#[test]
fn style_manifest() {
    let want = "{\n  \"name\": \"a<b>&c\",\n  \"list\": [\n    1,\n    2\n  ],\n  \"empty\": [],\n  \"obj\": {},\n  \"none\": {\n    \"k\": null\n  }\n}\n";
    assert_eq!(s(to_vec(&sample(), JsonStyle::MANIFEST)), want);
}

#[test]
fn style_encode_info() {
    let want = "{\n  \"name\": \"a\\u003cb\\u003e\\u0026c\",\n  \"list\": [\n    1,\n    2\n  ],\n  \"empty\": [],\n  \"obj\": {},\n  \"none\": {\n    \"k\": null\n  }\n}\n";
    assert_eq!(s(to_vec(&sample(), JsonStyle::ENCODE_INFO)), want);
}

#[test]
fn style_jsonl() {
    let want = "{\"name\":\"a<b>&c\",\"list\":[1,2],\"empty\":[],\"obj\":{},\"none\":{\"k\":null}}\n";
    assert_eq!(s(to_vec(&sample(), JsonStyle::JSONL)), want);
}

#[test]
fn string_escaping() {
    let input = "q\"b\\n\nr\rt\tB\u{8}F\u{c}x\u{1}\u{1f}d\u{7f}/é\u{2028}\u{2029}<>&";
    assert_eq!(
        s(to_vec(input, JsonStyle::MARSHAL)),
        "\"q\\\"b\\\\n\\nr\\rt\\tB\\bF\\fx\\u0001\\u001fd\u{7f}/é\\u2028\\u2029\\u003c\\u003e\\u0026\""
    );
    assert_eq!(
        s(to_vec(input, JsonStyle::JSONL)),
        "\"q\\\"b\\\\n\\nr\\rt\\tB\\bF\\fx\\u0001\\u001fd\u{7f}/é\\u2028\\u2029<>&\"\n"
    );
    // Map keys go through the same escaping.
    assert_eq!(
        s(to_vec(&json!({"<k>": 1}), JsonStyle::MARSHAL)),
        r#"{"\u003ck\u003e":1}"#
    );
}

#[test]
fn go_float_vectors() {
    let cases: &[(f64, &str)] = &[
        (100.0, "100"),
        (1.5, "1.5"),
        (-0.0, "-0"),
        (0.0, "0"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (9.999999e-7, "9.999999e-7"),
        (1.5e300, "1.5e+300"),
        (5e-324, "5e-324"),
        (123456789012345678.0, "123456789012345680"),
        (-2.5e-10, "-2.5e-10"),
        (0.1, "0.1"),
    ];
    for (x, want) in cases {
        assert_eq!(go_f64(*x), *want, "{x:e}");
        assert_eq!(s(to_vec(x, JsonStyle::MARSHAL)), *want);
    }
    assert_eq!(go_f32(1e21), "1e+21");
    assert_eq!(go_f32(0.5), "0.5");
    assert_eq!(go_f64(f64::INFINITY), "null");
}

#[test]
fn binary_envelope() {
    assert_eq!(
        s(to_vec(&Binary(b"\x80\xff\x01"), JsonStyle::MARSHAL)),
        r#"{"base64":"gP8B"}"#
    );
    assert_eq!(
        s(to_vec(&Binary(b"\xff"), JsonStyle::MARSHAL)),
        r#"{"base64":"_w"}"#
    );
    assert_eq!(
        s(to_vec(&Binary("é<".as_bytes()), JsonStyle::MARSHAL)),
        r#""é\u003c""#
    );
    assert_eq!(s(to_vec(&Binary(b""), JsonStyle::MARSHAL)), r#""""#);
    assert_eq!(
        s(to_vec(
            &vec![Binary(b"\xff"), Binary(b"v")],
            JsonStyle::MARSHAL_INDENT
        )),
        "[\n  {\n    \"base64\": \"_w\"\n  },\n  \"v\"\n]"
    );
}

#[test]
fn write_to_appends_and_failure_writes_null() {
    let mut out = b"x".to_vec();
    write_to(&mut out, &1u8, JsonStyle::JSONL);
    assert_eq!(out, b"x1\n");
    // A map with non-string keys cannot be JSON.
    let mut bad = std::collections::BTreeMap::new();
    bad.insert(vec![1u8], 1);
    let mut out = b"y".to_vec();
    assert!(try_write_to(&mut out, &bad, JsonStyle::MARSHAL).is_err());
    assert_eq!(out, b"y");
    write_to(&mut out, &bad, JsonStyle::MARSHAL);
    assert_eq!(out, b"ynull");
}

#[test]
fn parse_one_trailing_rules() {
    assert_eq!(parse_one(b" {\"a\":1} \n\t", false).unwrap(), json!({"a": 1}));
    assert!(parse_one(b"{\"a\":1} x", false).is_err());
    assert!(parse_one(b"{\"a\":1}{}", false).is_err());
    assert!(parse_one(b"{\"a\":1}}", false).is_err());
    assert_eq!(parse_one(b"{\"a\":1} }garbage", true).unwrap(), json!({"a": 1}));
    assert_eq!(parse_one(b"[1]]", true).unwrap(), json!([1]));
    assert!(parse_one(b"{\"a\":1} x", true).is_err());
    assert!(parse_one(b"", false).is_err());
    assert!(parse_one(b"   ", true).is_err());
    assert!(parse_one(b"{\"a\":", false).is_err());
}

#[test]
fn parse_one_replaces_invalid_utf8_per_byte() {
    let v = parse_one(b"\"a\xffb\xe2\x82c\"", false).unwrap();
    // Go: each invalid byte becomes one U+FFFD (a truncated 3-byte sequence gives two).
    assert_eq!(v, json!("a\u{fffd}b\u{fffd}\u{fffd}c"));
    // Outside a string, invalid bytes are still an error.
    assert!(parse_one(b"\xff", false).is_err());
}

#[test]
fn parse_one_replaces_lone_surrogates() {
    assert_eq!(parse_one(br#""\ud800x""#, false).unwrap(), json!("\u{fffd}x"));
    assert_eq!(parse_one(br#""\udc00""#, false).unwrap(), json!("\u{fffd}"));
    assert_eq!(parse_one(br#""\ud83d\ude00""#, false).unwrap(), json!("😀"));
    assert_eq!(
        parse_one(br#""\ud800\ud800\udc00""#, false).unwrap(),
        json!("\u{fffd}\u{10000}")
    );
    assert_eq!(
        parse_one(br#"{"k\ud800":"\\ud800"}"#, false).unwrap(),
        json!({"k\u{fffd}": "\\ud800"})
    );
}

#[test]
fn floats_parse_correctly_rounded() {
    // serde_json's default float parser gives this one 1 ULP off; with `float_roundtrip`
    // it agrees with Go's strconv.ParseFloat (and Rust's str::parse): a zset score read
    // back must keep its bits.
    let text = "2.461591812365989e143";
    let exact: f64 = text.parse().unwrap();
    assert_eq!(exact.to_bits(), 0x5db4_2fb5_817e_14d7);
    for parsed in [
        parse_one(text.as_bytes(), false).unwrap(),
        parse_seq(format!("{{\"score\":{text}}}").as_bytes())
            .next()
            .unwrap()
            .unwrap()["score"]
            .clone(),
    ] {
        assert_eq!(parsed.as_f64().unwrap().to_bits(), exact.to_bits(), "{parsed}");
    }
    assert_eq!(go_f64(exact), "2.461591812365989e+143");
}

fn seq(bytes: &[u8]) -> Vec<Result<serde_json::Value, String>> {
    parse_seq(bytes).collect()
}

#[test]
fn parse_seq_reads_values_not_lines() {
    assert!(seq(b"").is_empty());
    assert!(seq(b" \n\t\r\n").is_empty());
    let got: Vec<_> = seq(b"{\"a\":1}{\"b\":2}\n\n  [3] 4\n\"x\" null\n{\"c\":\n 5}\n")
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        [
            json!({"a": 1}),
            json!({"b": 2}),
            json!([3]),
            json!(4),
            json!("x"),
            json!(null),
            json!({"c": 5})
        ]
    );
}

#[test]
fn parse_seq_repairs_utf8_and_lone_surrogates_like_parse_one() {
    let got: Vec<_> = seq(b"\"a\xffb\xe2\x82c\"\n\"\\ud800x\"\n\"\\ud83d\\ude00\"")
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        [
            json!("a\u{fffd}b\u{fffd}\u{fffd}c"),
            json!("\u{fffd}x"),
            json!("😀")
        ]
    );
    // Invalid bytes outside strings stay an error.
    let got = seq(b"1\n\xff");
    assert_eq!(got.len(), 2);
    assert!(got[1].as_ref().unwrap_err().starts_with("value 2: "), "{got:?}");
}

#[test]
fn parse_seq_stops_at_the_first_error_with_its_position() {
    let got = seq(b"{\"a\":1}\n{\"b\":2}\n  {\"c\": x}\n{\"d\":4}\n");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[1].as_ref().unwrap(), &json!({"b": 2}));
    let err = got[2].as_ref().unwrap_err();
    assert!(err.starts_with("value 3: expected value"), "{err}");
    assert!(err.ends_with("at line 3 column 9"), "{err}");
    // An error on the same line as the previous value: the column counts from line start.
    let err = seq(b"[1] [2] [3,").pop().unwrap().unwrap_err();
    assert!(err.starts_with("value 3: EOF while parsing a value"), "{err}");
    assert!(err.ends_with("at line 1 column 11"), "{err}");
    // Truncated and trailing garbage.
    assert!(seq(b"{\"a\":1").pop().unwrap().is_err());
    let got = seq(b"{} x");
    assert_eq!((got.len(), got[0].is_ok(), got[1].is_err()), (2, true, true));
    let got = seq(b"{}}");
    assert!(got[1].as_ref().unwrap_err().starts_with("value 2: "), "{got:?}");
}

#[test]
fn base64url_lenient() {
    assert_eq!(decode_base64url_lenient("gP8B").unwrap(), b"\x80\xff\x01");
    assert_eq!(decode_base64url_lenient("").unwrap(), b"");
    assert_eq!(decode_base64url_lenient("gP\r\n8B\n").unwrap(), b"\x80\xff\x01");
    // `_x` has non-zero trailing bits (canonical `_w`); Go accepts it.
    assert_eq!(decode_base64url_lenient("_x").unwrap(), b"\xff");
    for bad in ["gP8B=", "_w==", "a", "a+b/", "!!"] {
        assert!(decode_base64url_lenient(bad).is_err(), "{bad}");
    }
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {

        #[test]
        fn write_str_is_write_to(text in "[ -~<>&\"\\\\\n\u{7f}\u{e9}\u{2028}]{0,12}") {
            for style in [JsonStyle::MARSHAL, JsonStyle::JSONL, JsonStyle::MARSHAL_INDENT, JsonStyle::MANIFEST] {
                let (mut fast, mut general) = (b"x".to_vec(), b"x".to_vec());
                write_str(&mut fast, &text, style);
                write_to(&mut general, &text, style);
                prop_assert_eq!(fast, general);
            }
        }
        #[test]
        fn go_f64_round_trips_and_picks_notation(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(x.is_finite());
            let text = go_f64(x);
            let back: f64 = text.parse().unwrap();
            prop_assert_eq!(back.to_bits(), x.to_bits());
            let abs = x.abs();
            let want_exp = abs != 0.0 && !(1e-6..1e21).contains(&abs);
            prop_assert_eq!(text.contains('e'), want_exp, "{}", text);
            if want_exp {
                let exp = text.split_once('e').unwrap().1;
                prop_assert!(exp.starts_with('+') || exp.starts_with('-'));
                prop_assert!(!exp.starts_with("-0") && !exp.starts_with("+0"), "{}", text);
            } else {
                prop_assert!(!text.ends_with(".0"), "{}", text);
            }
        }

        #[test]
        fn strings_round_trip_in_every_style(s in any::<String>()) {
            for style in [JsonStyle::MARSHAL_INDENT, JsonStyle::MARSHAL, JsonStyle::MANIFEST, JsonStyle::ENCODE_INFO, JsonStyle::JSONL] {
                let bytes = to_vec(&s, style);
                prop_assert_eq!(bytes.ends_with(b"\n"), style.newline);
                if style.escape_html {
                    prop_assert!(!bytes.iter().any(|b| matches!(b, b'<' | b'>' | b'&')));
                }
                prop_assert_eq!(parse_one(&bytes, false).unwrap(), serde_json::Value::String(s.clone()));
            }
        }

        #[test]
        fn binary_envelope_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let v = parse_one(&to_vec(&Binary(&bytes), JsonStyle::MARSHAL_INDENT), false).unwrap();
            let back = match v {
                serde_json::Value::String(s) => s.into_bytes(),
                serde_json::Value::Object(o) => decode_base64url_lenient(o["base64"].as_str().unwrap()).unwrap(),
                other => panic!("{other}"),
            };
            prop_assert_eq!(back, bytes);
        }
    }
}

fn streamed_array(depth: usize, items: &[serde_json::Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut array = IndentedArray::begin(&mut out, depth, JsonStyle::MARSHAL_INDENT);
    for v in items {
        array.element(&mut out, v);
    }
    assert_eq!(array.len(), items.len() as u64);
    assert_eq!(array.is_empty(), items.is_empty());
    array.end(&mut out);
    out
}

#[test]
fn indented_array_pinned_bytes() {
    assert_eq!(s(streamed_array(1, &[])), "[]");
    assert_eq!(
        s(streamed_array(1, &[json!({"a": [1]}), json!("<")])),
        "[\n    {\n      \"a\": [\n        1\n      ]\n    },\n    \"\\u003c\"\n  ]"
    );
}

mod indented_array_props {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn value() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            any::<u64>().prop_map(|n| json!(n)),
            "[a-z<\n é]{0,4}".prop_map(|t| json!(t)),
            proptest::collection::vec(any::<i32>(), 0..3).prop_map(|v| json!({"v": v, "e": {}})),
        ]
    }

    proptest! {
        /// At depth 0 the streamed array is the whole array's `MarshalIndent`; at depth 1
        /// it is the value of a member of a top-level object.
        #[test]
        fn indented_array_equals_whole_array(items in proptest::collection::vec(value(), 0..5)) {
            prop_assert_eq!(streamed_array(0, &items), to_vec(&items, JsonStyle::MARSHAL_INDENT));
            let mut doc = b"{\n  \"a\": ".to_vec();
            doc.extend(streamed_array(1, &items));
            doc.extend_from_slice(b"\n}");
            prop_assert_eq!(doc, to_vec(&json!({"a": items}), JsonStyle::MARSHAL_INDENT));
        }
    }
}
