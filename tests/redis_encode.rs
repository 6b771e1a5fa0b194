//! Redis encoder: records emitted for each type (redis.md §6.2), the lenient JSON rules and
//! every error of §6.1/§6.3, and decode → encode round trips (the Go tests of §8).

use std::os::unix::fs::symlink;

use crate::redis_util::*;
use ekv_snapshot::adapters::redis::keys::*;
use ekv_snapshot::adapters::redis::{enumerate_dbs, parse_db_name};
use ekv_snapshot::adapters::AdapterError;
use ekv_snapshot::dump::DumpError;

fn enc_files(files: &[(&str, &[u8])]) -> Result<Vec<Rec>, String> {
    let t = tree_with(files);
    encode(t.path()).map_err(|e| e.to_string())
}

fn ttl_rec(k: &[u8], ms: u64) -> Rec {
    rec([TTL_PREFIX, k].concat(), ms.to_be_bytes())
}

/// Decode `records`, re-encode the tree, and check the records come back (sorted).
fn round_trip(records: Vec<Rec>) -> Decoded {
    let d = decode(&records);
    d.result.as_ref().unwrap();
    let got = encode(&d.root).unwrap();
    let mut want = records;
    want.sort();
    assert_eq!(got, want);
    d
}

#[test]
fn string_records_and_round_trip() {
    let got = enc_files(&[
        ("redis/db_0/strings/ab.bin", b"ab"),
        ("redis/db_0/strings/t.bin", b"ab"),
        (
            "redis/db_0/strings_ttl.jsonl",
            b"{\"key\":\"t\",\"expire_at_ms\":72623859790382856}\n",
        ),
    ])
    .unwrap();
    assert_eq!(
        got,
        vec![
            rec(b"!redis|str|ab", h("FF 01 00 61 62")),
            rec(b"!redis|str|t", h("FF 01 01 01 02 03 04 05 06 07 08 61 62")),
        ]
    );
    let d = round_trip(got);
    assert_eq!(
        d.text("redis/db_0/strings_ttl.jsonl"),
        "{\"key\":\"t\",\"expire_at_ms\":72623859790382856}\n"
    );
    // No TTL: no sidecar.
    let d = round_trip(vec![rec(b"!redis|str|x", h("FF 01 00 00 FF"))]);
    assert!(!d.exists("redis/db_0/strings_ttl.jsonl"));
}

#[test]
fn hll_records_and_round_trip() {
    let got = enc_files(&[
        ("redis/db_0/hll/a.bin", b"sk"),
        ("redis/db_0/hll/b.bin", b"sk"),
        (
            "redis/db_0/hll_ttl.jsonl",
            b"{\"key\":\"b\",\"expire_at_ms\":5}\n{\"key\":\"a\",\"expire_at_ms\":0}\n",
        ),
    ])
    .unwrap();
    assert_eq!(
        got,
        vec![
            rec(b"!redis|hll|a", b"sk"),
            rec(b"!redis|hll|b", h("FF 02 01 00 00 00 00 00 00 00 05 73 6B")),
            ttl_rec(b"b", 5),
        ]
    );
    let d = round_trip(got);
    assert_eq!(
        d.text("redis/db_0/hll_ttl.jsonl"),
        "{\"key\":\"b\",\"expire_at_ms\":5}\n"
    );
    let d = round_trip(vec![rec(b"!redis|hll|n", b"raw")]);
    assert!(!d.exists("redis/db_0/hll_ttl.jsonl"));
}

#[test]
fn hash_records_exact() {
    let got = enc_files(&[(
        "redis/db_0/hashes/user%3A42.json",
        b"{\"format_version\":1,\"fields\":[{\"name\":\"age\",\"value\":\"30\"},{\"name\":{\"base64\":\"_w\"},\"value\":\"x\"}],\"expire_at_ms\":9}",
    )])
    .unwrap();
    assert_eq!(
        got,
        vec![
            rec(wide_key(HASH_FIELD_PREFIX, b"user:42", b"age"), b"30"),
            rec(wide_key(HASH_FIELD_PREFIX, b"user:42", b"\xFF"), b"x"),
            rec(
                wide_key(HASH_META_PREFIX, b"user:42", b""),
                h("00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 09")
            ),
            ttl_rec(b"user:42", 9),
        ]
    );
    round_trip(got);
}

#[test]
fn collections_round_trip_with_and_without_ttl() {
    for ms in [0u64, 1788998400000] {
        let mut recs = vec![
            rec(wide_key(HASH_FIELD_PREFIX, b"h", b"\x80name"), h("80 FF 01")),
            rec(wide_key(HASH_META_PREFIX, b"h", b""), build_count_meta(1, ms)),
            rec(wide_key(SET_MEMBER_PREFIX, b"s", b"\xFFbin"), b""),
            rec(wide_key(SET_MEMBER_PREFIX, b"s", b"red"), b""),
            rec(wide_key(SET_META_PREFIX, b"s", b""), build_count_meta(2, ms)),
            rec(list_item_key(b"l", 0), b"first"),
            rec(list_item_key(b"l", 1), b"\xC3"),
            rec(list_meta_key(b"l"), build_list_meta(2, ms)),
        ];
        for (m, sc) in [
            (&b"a"[..], 100.5),
            (b"b", -3.25),
            (b"c", f64::INFINITY),
            (b"d", f64::NEG_INFINITY),
            (b"e", -0.0),
        ] {
            recs.push(rec(wide_key(ZSET_MEMBER_PREFIX, b"z", m), build_zset_score(sc)));
            recs.push(rec(zset_score_key(b"z", sc, m), b""));
        }
        recs.push(rec(
            wide_key(ZSET_META_PREFIX, b"z", b""),
            build_count_meta(5, ms),
        ));
        let fields: Vec<String> = ["f", "v1", "f", "v2"].iter().map(|s| s.to_string()).collect();
        recs.push(rec(
            stream_entry_key(b"x", 5, 0),
            build_stream_entry("5-0", &fields),
        ));
        recs.push(rec(stream_entry_key(b"x", 5, 1), build_stream_entry("5-1", &[])));
        recs.push(rec(
            wide_key(STREAM_META_PREFIX, b"x", b""),
            build_stream_meta(2, 6, 0, ms),
        ));
        recs.push(rec(
            wide_key(STREAM_META_PREFIX, b"empty", b""),
            build_stream_meta(0, 0, 0, 0),
        ));
        if ms != 0 {
            for k in [&b"h"[..], b"s", b"l", b"z", b"x"] {
                recs.push(ttl_rec(k, ms));
            }
        }
        let d = round_trip(recs);
        let want = if ms == 0 {
            "null".to_owned()
        } else {
            ms.to_string()
        };
        assert!(d
            .text("redis/db_0/hashes/h.json")
            .ends_with(&format!("\"expire_at_ms\": {want}\n}}")));
        assert!(d
            .text("redis/db_0/streams/empty.jsonl")
            .starts_with("{\"_meta\":true,\"length\":0"));
    }
}

#[test]
fn collection_ttls_are_inline_in_meta() {
    let body =
        |field: &str, val: &str| format!("{{\"format_version\":1,\"{field}\":{val},\"expire_at_ms\":258}}");
    let t = tree_with(&[
        ("redis/db_0/hashes/h.json", body("fields", "[]").as_bytes()),
        ("redis/db_0/sets/s.json", body("members", "[]").as_bytes()),
        ("redis/db_0/lists/l.json", body("items", "[]").as_bytes()),
        ("redis/db_0/zsets/z.json", body("members", "[]").as_bytes()),
        (
            "redis/db_0/streams/x.jsonl",
            b"{\"_meta\":true,\"length\":0,\"last_ms\":0,\"last_seq\":0,\"expire_at_ms\":258}\n",
        ),
    ]);
    let got = encode(t.path()).unwrap();
    let meta = |k: &[u8]| got.iter().find(|(key, _)| key == k).unwrap().1.clone();
    for (k, len, off) in [
        (wide_key(HASH_META_PREFIX, b"h", b""), 16, 8),
        (wide_key(SET_META_PREFIX, b"s", b""), 16, 8),
        (list_meta_key(b"l"), 32, 24),
        (wide_key(ZSET_META_PREFIX, b"z", b""), 16, 8),
        (wide_key(STREAM_META_PREFIX, b"x", b""), 32, 24),
    ] {
        let v = meta(&k);
        assert_eq!(v.len(), len);
        assert_eq!(&v[off..], &258u64.to_be_bytes());
    }
    assert_eq!(got.iter().filter(|(k, _)| k.starts_with(TTL_PREFIX)).count(), 5);
}

#[test]
fn binary_value_envelopes() {
    let set = |members: &str| {
        enc_files(&[(
            "redis/db_0/sets/s.json",
            format!("{{\"format_version\":1,\"members\":{members}}}").as_bytes(),
        )])
    };
    let member = |r: Vec<Rec>| r[0].0[SET_MEMBER_PREFIX.len() + 5..].to_vec();
    assert_eq!(member(set("[\"hello\"]").unwrap()), b"hello");
    assert_eq!(member(set("[{\"base64\":\"_wA\"}]").unwrap()), h("FF 00"));
    assert_eq!(member(set("[{\"BASE64\":\"_w\\r\\nA\"}]").unwrap()), h("FF 00"));
    assert_eq!(member(set("[{\"base64\":\"\"}]").unwrap()), b"");
    for bad in [
        "[{\"wrong\":\"x\"}]",
        "[{\"base64\":null}]",
        "[null]",
        "[1]",
        "[{\"base64\":\"_w==\"}]",
    ] {
        let e = set(bad).unwrap_err();
        assert!(e.contains("redis/db_0/sets/s.json"), "{bad}: {e}");
    }
}

#[test]
fn lenient_json_rules() {
    // Case-insensitive names, unknown keys ignored, null expire, trailing `}` accepted.
    let got = enc_files(&[(
        "redis/db_0/lists/l.json",
        b"{\"Format_Version\":1,\"ITEMS\":[\"a\"],\"Expire_At_Ms\":null,\"extra\":true}}",
    )])
    .unwrap();
    assert_eq!(
        got,
        vec![
            rec(list_item_key(b"l", 0), b"a"),
            rec(list_meta_key(b"l"), build_list_meta(1, 0))
        ]
    );
    // Null or missing arrays = no elements.
    let got = enc_files(&[(
        "redis/db_0/hashes/h.json",
        b"{\"format_version\":1,\"fields\":null}",
    )])
    .unwrap();
    assert_eq!(
        got,
        vec![rec(wide_key(HASH_META_PREFIX, b"h", b""), build_count_meta(0, 0))]
    );
    // zset scores: null → 0, "+inf", "-inf", numbers; "inf", "+Inf", 1e400 fail.
    let z = |score: &str| {
        enc_files(&[(
            "redis/db_0/zsets/z.json",
            format!("{{\"format_version\":1,\"members\":[{{\"member\":\"m\",\"score\":{score}}}]}}")
                .as_bytes(),
        )])
    };
    let score_of = |r: Vec<Rec>| {
        let v = &r
            .iter()
            .find(|(k, _)| k.starts_with(ZSET_MEMBER_PREFIX))
            .unwrap()
            .1;
        f64::from_bits(u64::from_be_bytes(v[..8].try_into().unwrap()))
    };
    assert_eq!(score_of(z("null").unwrap()), 0.0);
    assert_eq!(score_of(z("\"+inf\"").unwrap()), f64::INFINITY);
    assert_eq!(score_of(z("\"-inf\"").unwrap()), f64::NEG_INFINITY);
    assert_eq!(score_of(z("1.5e3").unwrap()), 1500.0);
    assert_eq!(score_of(z("123456789012345680").unwrap()), 123456789012345680.0);
    for bad in ["\"inf\"", "\"+Inf\"", "1e400", "true"] {
        assert!(z(bad).is_err(), "{bad}");
    }
    // expire_at_ms must be an unsigned integer.
    for bad in ["1e3", "-1", "1.5", "\"5\""] {
        let e = enc_files(&[(
            "redis/db_0/sets/s.json",
            format!("{{\"format_version\":1,\"expire_at_ms\":{bad}}}").as_bytes(),
        )])
        .unwrap_err();
        assert!(e.contains("expire_at_ms"), "{bad}: {e}");
    }
}

#[test]
fn rejects_unknown_format_version_and_trailing_json() {
    for (dir, field) in [
        ("hashes", "fields"),
        ("sets", "members"),
        ("lists", "items"),
        ("zsets", "members"),
    ] {
        for doc in [
            format!("{{\"format_version\":99,\"{field}\":[]}}"),
            format!("{{\"{field}\":[]}}"),
            "{\"format_version\":0}".to_owned(),
            "null".to_owned(),
            "{\"format_version\":1} {\"format_version\":1}".to_owned(),
            "[1]".to_owned(),
        ] {
            let rel = format!("redis/db_0/{dir}/k.json");
            let e = enc_files(&[(&rel, doc.as_bytes())]).unwrap_err();
            assert!(e.contains(&rel), "{doc}: {e}");
        }
    }
}

#[test]
fn stream_rules() {
    let x = |body: &str| enc_files(&[("redis/db_0/streams/x.jsonl", body.as_bytes())]);
    // Entries after the meta, several values on one line, id copied verbatim.
    let got = x("{\"_meta\":true,\"length\":2,\"last_ms\":7,\"last_seq\":0,\"expire_at_ms\":null}\n\
                 {\"id\":\"007-0\",\"fields\":[{\"name\":\"f\",\"value\":\"v\"}]} {\"id\":\"1-5\",\"fields\":null}\n")
        .unwrap();
    assert_eq!(
        got,
        vec![
            rec(stream_entry_key(b"x", 1, 5), build_stream_entry("1-5", &[])),
            rec(
                stream_entry_key(b"x", 7, 0),
                build_stream_entry("007-0", &["f".into(), "v".into()])
            ),
            rec(
                wide_key(STREAM_META_PREFIX, b"x", b""),
                build_stream_meta(2, 7, 0, 0)
            ),
        ]
    );
    let meta = |len: i64, last: &str| {
        let (m, s) = last.split_once('-').unwrap();
        format!("{{\"_meta\":true,\"length\":{len},\"last_ms\":{m},\"last_seq\":{s}}}\n")
    };
    let entry = |id: &str| format!("{{\"id\":\"{id}\",\"fields\":[]}}\n");
    for (body, want) in [
        (
            format!("{}{}", meta(0, "0-0"), meta(0, "0-0")),
            "second \"_meta\"",
        ),
        (
            format!("{}{}", entry("1-0"), meta(0, "1-0")),
            "length 0 but the file has 1",
        ),
        (
            format!("{}{}", entry("5-0"), meta(1, "3-0")),
            "after the _meta last id",
        ),
        (meta(-1, "0-0"), "negative"),
        (entry("1-0"), "no \"_meta\""),
        (format!("{}{}", entry("1"), meta(1, "1-0")), "invalid stream id"),
        (
            format!("{}{}", entry("-1-0"), meta(1, "1-0")),
            "invalid stream id",
        ),
        (
            format!("{}{}", entry("1-+0"), meta(1, "1-0")),
            "invalid stream id",
        ),
        ("[]".to_owned(), "expected a JSON object"),
        ("{\"_meta\":true,\"length\":0".to_owned(), "invalid JSON"),
    ] {
        let e = x(&body).unwrap_err();
        assert!(e.contains(want) && e.contains("streams/x.jsonl"), "{body}: {e}");
    }
    // A base64 field that is not UTF-8 cannot be a proto3 string.
    let e = x(&format!(
        "{{\"id\":\"1-0\",\"fields\":[{{\"name\":{{\"base64\":\"_w\"}},\"value\":\"v\"}}]}}\n{}",
        meta(1, "1-0")
    ))
    .unwrap_err();
    assert!(e.contains("UTF-8"), "{e}");
}

#[test]
fn stream_values_repaired_like_go_and_errors_located() {
    let x = |body: &[u8]| enc_files(&[("redis/db_0/streams/x.jsonl", body)]);
    // Go's json.Decoder: values back to back with no separator; each invalid UTF-8 byte in a
    // string becomes one U+FFFD (a truncated 3-byte sequence gives two); a lone surrogate
    // escape becomes U+FFFD.
    let got = x(b"{\"_meta\":true,\"length\":1,\"last_ms\":1,\"last_seq\":0}{\"id\":\"1-0\",\"fields\":[{\"name\":\"a\xffb\xe2\x82\",\"value\":\"\\ud800x\"}]}")
        .unwrap();
    assert_eq!(
        got[0],
        rec(
            stream_entry_key(b"x", 1, 0),
            build_stream_entry("1-0", &["a\u{fffd}b\u{fffd}\u{fffd}".into(), "\u{fffd}x".into()])
        )
    );
    // The error names the value and its line.
    let e = x(b"{\"_meta\":true,\"length\":0,\"last_ms\":0,\"last_seq\":0}\n\n{\"id\":}\n").unwrap_err();
    assert!(
        e.contains("streams/x.jsonl")
            && e.contains("invalid JSON: value 2: ")
            && e.contains("line 3 column 7"),
        "{e}"
    );
    // TTL sidecars read the same way: two values on a line, the last of a key wins.
    let got = enc_files(&[
        ("redis/db_0/strings/t.bin", b"v"),
        (
            "redis/db_0/strings_ttl.jsonl",
            b"{\"key\":\"t\",\"expire_at_ms\":1} {\"key\":\"t\",\"expire_at_ms\":9}",
        ),
    ])
    .unwrap();
    assert_eq!(
        got,
        vec![rec(b"!redis|str|t", h("FF 01 01 00 00 00 00 00 00 00 09 76"))]
    );
    let e = enc_files(&[("redis/db_0/hll_ttl.jsonl", b"{\"key\":\"t\"} x")]).unwrap_err();
    assert!(e.contains("hll_ttl.jsonl") && e.contains("value 2: "), "{e}");
}

#[test]
fn discovery_rules() {
    // Missing redis/ or db_0: no records.
    assert_eq!(enc_files(&[("other/x", b"")]).unwrap(), vec![]);
    assert_eq!(enc_files(&[("redis/README", b"")]).unwrap(), vec![]);
    // Non-canonical names are ignored.
    for n in [
        "db_01",
        "db_-1",
        "db_",
        "db_x",
        "db_+1",
        "db_99999999999999999999",
    ] {
        assert_eq!(parse_db_name(n), None, "{n}");
    }
    assert_eq!(parse_db_name("db_0"), Some(0));
    assert_eq!(parse_db_name("db_15"), Some(15));
    let t = tree_with(&[
        ("redis/db_01/x", b""),
        ("redis/db_x/y", b""),
        ("redis/db_5/z", b""),
        ("redis/db_1/z", b""),
        ("redis/db_0/z", b""),
    ]);
    assert_eq!(enumerate_dbs(t.path()).unwrap(), vec![0, 1, 5]);
    let e = encode(t.path()).unwrap_err();
    assert!(e.to_string().contains("db_0, db_1, db_5"), "{e}");
    assert_eq!(e.kind(), ekv_snapshot::ErrorKind::Data);
    let t = tree_with(&[("redis/db_3/strings/k.bin", b"v")]);
    assert!(encode(t.path()).is_err());
    // redis/ is a file; db_0 is a file; a canonical db entry is a symlink.
    let t = tree_with(&[("redis", b"")]);
    assert!(enumerate_dbs(t.path()).is_err());
    let t = tree_with(&[("redis/db_0", b"")]);
    assert!(encode(t.path()).unwrap_err().to_string().contains("db_0"));
    let t = tree_with(&[("real/strings/k.bin", b"v"), ("redis/x", b"")]);
    symlink(t.path().join("real"), t.path().join("redis/db_0")).unwrap();
    assert!(encode(t.path()).is_err());
    let t = tree_with(&[("real", b""), ("x/strings/k.bin", b"v")]);
    symlink(t.path().join("x"), t.path().join("redis")).unwrap();
    assert!(encode(t.path()).is_err());
}

#[test]
fn walking_skips_and_refuses() {
    // Temp files, other suffixes and plain directories are skipped.
    let got = enc_files(&[
        ("redis/db_0/strings/k.bin", b"v"),
        ("redis/db_0/strings/.bin.tmp-0123456789abcdef", b"x"),
        ("redis/db_0/strings/k.txt", b"x"),
        ("redis/db_0/strings/d/inner", b"x"),
        ("redis/db_0/hashes/h.jsonl", b"x"),
    ])
    .unwrap();
    assert_eq!(got, vec![rec(b"!redis|str|k", h("FF 01 00 76"))]);
    // D12: a directory named like a data file is refused, naming it.
    let e = enc_files(&[("redis/db_0/strings/d.bin/inner", b"x")]).unwrap_err();
    assert!(e.contains("d.bin") && e.contains("refused"), "{e}");
    // A symlinked subdir.
    let t = tree_with(&[("elsewhere/k.bin", b"v"), ("redis/db_0/hll/a.bin", b"x")]);
    symlink(t.path().join("elsewhere"), t.path().join("redis/db_0/strings")).unwrap();
    assert!(encode(t.path()).unwrap_err().to_string().contains("strings"));
    // A subdir that is a file.
    assert!(enc_files(&[("redis/db_0/zsets", b"")]).is_err());
    // Hard-linked blob, sidecar and KEYMAP.
    for rel in [
        "redis/db_0/strings/k.bin",
        "redis/db_0/strings_ttl.jsonl",
        "redis/db_0/KEYMAP.jsonl",
    ] {
        let t = tree_with(&[(rel, b"")]);
        std::fs::hard_link(t.path().join(rel), t.path().join("link")).unwrap();
        let e = encode(t.path()).unwrap_err().to_string();
        assert!(e.contains(rel.rsplit('/').next().unwrap()), "{rel}: {e}");
    }
    // A sidecar or KEYMAP that is a directory.
    for rel in [
        "redis/db_0/strings_ttl.jsonl/x",
        "redis/db_0/KEYMAP.jsonl/x",
        "redis/db_0/hll_ttl.jsonl/x",
    ] {
        assert!(enc_files(&[(rel, b"")]).is_err(), "{rel}");
    }
    // D12: a symlinked blob is refused naming it (Go skips it: data lost silently).
    let t = tree_with(&[("target", b"v"), ("redis/db_0/strings/real.bin", b"r")]);
    symlink(
        t.path().join("target"),
        t.path().join("redis/db_0/strings/ln.bin"),
    )
    .unwrap();
    let e = encode(t.path()).unwrap_err();
    assert!(matches!(e, AdapterError::Dump(DumpError::Unsafe { .. })), "{e}");
    assert!(e.to_string().contains("ln.bin"), "{e}");
    // Invalid segment names.
    assert!(enc_files(&[("redis/db_0/strings/a b.bin", b"")]).is_err());
    assert!(enc_files(&[("redis/db_0/strings/%G1.bin", b"")]).is_err());
}

#[test]
fn sha_fallback_resolves_via_keymap_and_fails_closed_without() {
    let long = vec![b'k'; 300];
    let d = round_trip(vec![rec([STR_PREFIX, &long[..]].concat(), h("FF 01 00 76"))]);
    assert!(d.exists("redis/db_0/KEYMAP.jsonl"));
    std::fs::remove_file(d.root.join("redis/db_0/KEYMAP.jsonl")).unwrap();
    let e = encode(&d.root).unwrap_err().to_string();
    assert!(e.contains("KEYMAP"), "{e}");
}
