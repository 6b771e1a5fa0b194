//! Tests of the lenient Go-JSON field reader: member lookup as Go's decoder resolves it,
//! optional members and the binary envelope.

use serde_json::json;

use super::*;

#[test]
fn get_ci_matching() {
    let v = json!({"Fields": 1, "other": 2});
    let obj = v.as_object().unwrap();
    assert_eq!(get_ci(obj, "fields"), Some(&json!(1)));
    assert_eq!(get_ci(obj, "OTHER"), Some(&json!(2)));
    assert_eq!(get_ci(obj, "missing"), None);
    let v = json!({"FIELDS": 1, "fields": 2});
    assert_eq!(get_ci(v.as_object().unwrap(), "fields"), Some(&json!(2)));
    // Non-ASCII names fold as Go's do (`json.Unmarshal` of {"ÄB":1} fills a field tagged
    // "äb", checked against Go).
    let v = json!({"ÄB": 1});
    assert_eq!(get_ci(v.as_object().unwrap(), "äb"), Some(&json!(1)));
    // A non-ASCII member can match an ASCII field name (`ſ` folds to `S`), and the last
    // match wins across the ASCII fast path and the folded one.
    let v = json!({"ſort": 1});
    assert_eq!(get_ci(v.as_object().unwrap(), "sort"), Some(&json!(1)));
    let v = json!({"ſort": 1, "SORT": 2});
    assert_eq!(get_ci(v.as_object().unwrap(), "sort"), Some(&json!(2)));
    let v = json!({"SORT": 2, "ſort": 1});
    assert_eq!(get_ci(v.as_object().unwrap(), "sort"), Some(&json!(1)));
    assert_eq!(get_ci(v.as_object().unwrap(), "ſort"), Some(&json!(1)));
    assert_eq!(get_ci(v.as_object().unwrap(), "sorT_"), None);
}

#[test]
fn binary_envelopes() {
    let bin = |v: serde_json::Value| binary(Some(&v));
    assert_eq!(bin(json!("héllo")).unwrap(), "héllo".as_bytes());
    assert_eq!(bin(json!({"base64": "gP8B"})).unwrap(), b"\x80\xff\x01");
    assert_eq!(bin(json!({"BASE64": "_w", "other": 1})).unwrap(), b"\xff");
    assert_eq!(bin(json!({"base64": ""})).unwrap(), b"");
    assert_eq!(binary(None), Err(BinaryError::Missing));
    assert_eq!(bin(json!(null)), Err(BinaryError::Missing));
    for bad in [json!({}), json!({"base64": null}), json!({"base64": 5})] {
        assert_eq!(bin(bad), Err(BinaryError::NoBase64));
    }
    assert!(matches!(
        bin(json!({"base64": "gP8B="})),
        Err(BinaryError::Base64(_))
    ));
    assert_eq!(bin(json!(1)), Err(BinaryError::NotBinary("1".to_owned())));
    assert_eq!(bin(json!([])), Err(BinaryError::NotBinary("[]".to_owned())));
}

#[test]
fn optional_members() {
    let v = json!({"N": 7, "neg": -1, "f": 1.5, "nul": null, "arr": [1], "s": "x"});
    let o = v.as_object().unwrap();
    assert_eq!(opt_u64(o, "n"), Ok(Some(7)));
    assert_eq!(opt_u64(o, "missing"), Ok(None));
    assert_eq!(opt_u64(o, "nul"), Ok(None));
    assert_eq!(opt_u64(o, "neg"), Err(&json!(-1)));
    assert_eq!(opt_u64(o, "f"), Err(&json!(1.5)));
    assert_eq!(opt_u64(o, "s"), Err(&json!("x")));
    assert_eq!(opt_array(o, "ARR"), Ok(&[json!(1)][..]));
    assert_eq!(opt_array(o, "missing"), Ok(&[][..]));
    assert_eq!(opt_array(o, "nul"), Ok(&[][..]));
    assert_eq!(opt_array(o, "s"), Err(&json!("x")));
}

/// Duplicate members that match one field, exactly or by Go's folding: the outputs of Go's
/// `json.Unmarshal` into `struct{ Key string `json:"key"`; Fields string `json:"fields"` }`
/// (checked against Go, elastickv's toolchain): the last match wins; `null` is a no-op for
/// a string field; `ſ` (U+017F) and the Kelvin sign fold to `S` and `K`.
#[test]
fn duplicate_members_resolve_like_go() {
    let obj = |s: &str| match serde_json::from_str::<serde_json::Value>(s).unwrap() {
        serde_json::Value::Object(o) => o,
        _ => unreachable!(),
    };
    let str_of = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or("").to_owned();
    for (input, field, want) in [
        (r#"{"key":"exact","KEY":"upper"}"#, "key", "upper"),
        (r#"{"KEY":"upper","key":"exact"}"#, "key", "exact"),
        (r#"{"Key":"a","KEY":"b"}"#, "key", "b"),
        (r#"{"fieldſ":"longs"}"#, "fields", "longs"),
        (r#"{"fields":"exact","fieldſ":"longs"}"#, "fields", "longs"),
        (r#"{"fieldſ":"longs","fields":"exact"}"#, "fields", "exact"),
        ("{\"\u{212a}ey\":\"kelvin\"}", "key", "kelvin"),
        (r#"{"key":null,"KEY":"upper"}"#, "key", "upper"),
        (r#"{"KEY":"upper","key":null}"#, "key", "upper"),
    ] {
        assert_eq!(str_of(get_nonnull(&obj(input), field)), want, "{input}");
    }
    // `get_ci` keeps the last match, null included (Go's null resets a slice or map field).
    assert_eq!(
        get_ci(&obj(r#"{"KEY":"upper","key":null}"#), "key"),
        Some(&serde_json::Value::Null)
    );
    assert_eq!(go_fold("fieldſ"), "FIELDS");
    assert_eq!(go_fold("ß"), "ß");
}
