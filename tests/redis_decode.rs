//! Redis decoder: the Go tests of redis.md §8 that apply under DECISIONS.md D1, with
//! byte-exact expected files.

use crate::redis_util::*;
use ekv_snapshot::adapters::redis::keys::*;
use ekv_snapshot::adapters::redis::{RedisDecoder, DEFAULT_SORT_BUDGET};

const DB: &str = "redis/db_0";

fn s(k: &[u8]) -> Vec<u8> {
    [STR_PREFIX, k].concat()
}
fn hll(k: &[u8]) -> Vec<u8> {
    [HLL_PREFIX, k].concat()
}
fn ttl(k: &[u8], ms: u64) -> Rec {
    rec([TTL_PREFIX, k].concat(), ms.to_be_bytes())
}
fn hmeta(k: &[u8], n: u64) -> Rec {
    rec(wide_key(HASH_META_PREFIX, k, b""), n.to_be_bytes())
}
fn hfld(k: &[u8], f: &[u8], v: &[u8]) -> Rec {
    rec(wide_key(HASH_FIELD_PREFIX, k, f), v)
}
fn smeta(k: &[u8], n: u64) -> Rec {
    rec(wide_key(SET_META_PREFIX, k, b""), n.to_be_bytes())
}
fn smem(k: &[u8], m: &[u8]) -> Rec {
    rec(wide_key(SET_MEMBER_PREFIX, k, m), b"")
}
fn zmeta(k: &[u8], n: u64) -> Rec {
    rec(wide_key(ZSET_META_PREFIX, k, b""), n.to_be_bytes())
}
fn zmem(k: &[u8], m: &[u8], score: f64) -> Rec {
    rec(wide_key(ZSET_MEMBER_PREFIX, k, m), build_zset_score(score))
}
fn lmeta(k: &[u8], n: u64) -> Rec {
    rec(list_meta_key(k), build_list_meta(n, 0))
}
fn litm(k: &[u8], seq: i64, v: &[u8]) -> Rec {
    rec(list_item_key(k, seq), v)
}
fn xmeta(k: &[u8], len: u64, last_ms: u64, last_seq: u64) -> Rec {
    rec(
        wide_key(STREAM_META_PREFIX, k, b""),
        build_stream_meta(len, last_ms, last_seq, 0),
    )
}
fn xent(k: &[u8], ms: u64, seq: u64, fields: &[&str]) -> Rec {
    let f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    rec(
        stream_entry_key(k, ms, seq),
        build_stream_entry(&format!("{ms}-{seq}"), &f),
    )
}

// ---- strings and HLL --------------------------------------------------------------------

#[test]
fn string_new_format_no_ttl() {
    let d = decode(&[rec(s(b"greeting"), h("FF 01 00 68 65 6C 6C 6F"))]);
    d.result.as_ref().unwrap();
    assert_eq!(d.file("redis/db_0/strings/greeting.bin").unwrap(), b"hello");
    assert!(!d.exists("redis/db_0/strings_ttl.jsonl"));
}

#[test]
fn string_new_format_with_inline_ttl() {
    let mut v = h("FF 01 01");
    v.extend_from_slice(&1788998400000u64.to_be_bytes());
    v.extend_from_slice(b"tok");
    let d = decode(&[rec(s(b"session:abc"), v)]);
    assert_eq!(d.file("redis/db_0/strings/session%3Aabc.bin").unwrap(), b"tok");
    assert_eq!(
        d.text("redis/db_0/strings_ttl.jsonl"),
        "{\"key\":\"session%3Aabc\",\"expire_at_ms\":1788998400000}\n"
    );
}

#[test]
fn string_legacy_format_written_raw_and_ttl_from_index() {
    let raw = h("00 FF 01 72 61 77");
    let d = decode(&[rec(s(b"k"), &raw), ttl(b"k", 0), ttl(b"k2", 5)]);
    assert_eq!(d.file("redis/db_0/strings/k.bin").unwrap(), raw);
    // A 0 index value for a legacy string is still written.
    assert_eq!(
        d.text("redis/db_0/strings_ttl.jsonl"),
        "{\"key\":\"k\",\"expire_at_ms\":0}\n"
    );
}

#[test]
fn hll_legacy_written_raw_and_index_ttl_routed_to_hll_sidecar() {
    let d = decode(&[
        rec(hll(b"uniques"), b"\x00RS\x01sketch"),
        rec(s(b"plain"), b"v"),
        ttl(b"plain", 7),
        ttl(b"uniques", 9),
    ]);
    assert_eq!(d.file("redis/db_0/hll/uniques.bin").unwrap(), b"\x00RS\x01sketch");
    assert_eq!(
        d.text("redis/db_0/hll_ttl.jsonl"),
        "{\"key\":\"uniques\",\"expire_at_ms\":9}\n"
    );
    assert_eq!(
        d.text("redis/db_0/strings_ttl.jsonl"),
        "{\"key\":\"plain\",\"expire_at_ms\":7}\n"
    );
    assert!(d.warnings.is_empty());
}

#[test]
fn hll_new_format_strips_envelope_and_dedups_ttl() {
    let v = [h("FF 02 01"), 1000u64.to_be_bytes().to_vec(), b"sk".to_vec()].concat();
    let d = decode(&[rec(hll(b"u"), v), ttl(b"u", 1000)]);
    assert_eq!(d.file("redis/db_0/hll/u.bin").unwrap(), b"sk");
    assert_eq!(
        d.text("redis/db_0/hll_ttl.jsonl"),
        "{\"key\":\"u\",\"expire_at_ms\":1000}\n"
    );
}

#[test]
fn hll_new_format_no_ttl_ignores_scan_index() {
    let d = decode(&[rec(hll(b"u"), h("FF 02 00 AA")), ttl(b"u", 1000)]);
    assert_eq!(d.file("redis/db_0/hll/u.bin").unwrap(), h("AA"));
    assert!(!d.exists("redis/db_0/hll_ttl.jsonl"));
    assert!(d.warnings.is_empty());
}

#[test]
fn new_format_string_ttl_not_duplicated_by_scan_index() {
    let v = [h("FF 01 01"), 77u64.to_be_bytes().to_vec(), b"x".to_vec()].concat();
    let d = decode(&[rec(s(b"a"), v), ttl(b"a", 99)]);
    assert_eq!(
        d.text("redis/db_0/strings_ttl.jsonl"),
        "{\"key\":\"a\",\"expire_at_ms\":77}\n"
    );
}

#[test]
fn sidecar_lines_in_encounter_order() {
    let env = |ms: u64| [h("FF 01 01"), ms.to_be_bytes().to_vec()].concat();
    let d = decode(&[
        rec(s(b"b"), env(2)),
        rec(s(b"a"), env(1)),
        rec(s(b"c"), b"legacy"),
        ttl(b"c", 3),
    ]);
    assert_eq!(
        d.text("redis/db_0/strings_ttl.jsonl"),
        "{\"key\":\"b\",\"expire_at_ms\":2}\n{\"key\":\"a\",\"expire_at_ms\":1}\n{\"key\":\"c\",\"expire_at_ms\":3}\n"
    );
}

#[test]
fn rejects_truncated_new_format() {
    let d = decode(&[rec(s(b"k"), h("FF 01"))]);
    assert!(
        d.err().contains("invalid string value: header truncated"),
        "{}",
        d.err()
    );
    assert!(
        matches!(
            d.layout(),
            LayoutError::EnvelopeHeader {
                what: "string",
                version: 1
            }
        ),
        "{}",
        d.err()
    );
    assert!(d.err().contains("!redis|str|k"), "{}", d.err());
    let d = decode(&[rec(s(b"k"), h("FF 01 01 00 00 00"))]);
    assert!(d.err().contains("ttl section truncated"), "{}", d.err());
    assert!(
        matches!(d.layout(), LayoutError::EnvelopeTtl { what: "string", .. }),
        "{}",
        d.err()
    );
    let d = decode(&[rec(hll(b"k"), h("FF 02"))]);
    assert!(d.err().contains("invalid HLL value"), "{}", d.err());
    assert!(
        matches!(
            d.layout(),
            LayoutError::EnvelopeHeader {
                what: "HLL",
                version: 2
            }
        ),
        "{}",
        d.err()
    );
}

#[test]
fn ttl_rejects_bad_length() {
    let d = decode(&[rec([TTL_PREFIX, b"k"].concat(), h("00 01"))]);
    assert!(d.err().contains("invalid TTL value"), "{}", d.err());
    assert!(
        matches!(d.layout(), LayoutError::TtlValue { found: 2 }),
        "{}",
        d.err()
    );
}

#[test]
fn filenames_go_through_encode_segment() {
    let d = decode(&[rec(s(b"a/b:c"), h("FF 01 00")), rec(s(b""), h("FF 01 00 45"))]);
    assert!(d.exists("redis/db_0/strings/a%2Fb%3Ac.bin"));
    // The empty key is legal: a dot-file.
    assert_eq!(d.file("redis/db_0/strings/.bin").unwrap(), b"E");
}

#[test]
fn per_db_index_routes_into_own_directory() {
    let d = decode_with(decoder_db(3), &[rec(s(b"k"), b"v")]);
    assert!(d.exists("redis/db_3/strings/k.bin"));
    let d = decode_with(decoder(), &[rec(s(b"k"), b"v")]);
    assert!(d.exists("redis/db_0/strings/k.bin"));
}

#[test]
fn no_redis_records_no_redis_dir_and_no_keymap_when_reversible() {
    let d = decode(&[]);
    assert!(!d.exists("redis"));
    let d = decode(&[rec(s(b"short"), b"v"), hmeta(b"h", 0)]);
    assert!(!d.exists("redis/db_0/KEYMAP.jsonl"));
    // No-op families create nothing.
    let d = decode(&[
        rec(wide_key(LIST_META_DELTA_PREFIX, b"l", &[0; 12]), [0u8; 16]),
        rec([LIST_CLAIM_PREFIX, b"x"].concat(), b""),
        rec(zset_score_key(b"z", 1.0, b"m"), b""),
    ]);
    d.result.as_ref().unwrap();
    assert!(!d.exists("redis"));
}

#[test]
fn sha_fallback_keymapped() {
    let long = vec![b'k'; 300];
    let v = [h("FF 01 01"), 5u64.to_be_bytes().to_vec(), b"x".to_vec()].concat();
    let d = decode(&[rec(s(&long), v), hmeta(&long, 0)]);
    d.result.as_ref().unwrap();
    let name = format!("17b16d8ef494060fefa36a6a41567b8c__{}", "k".repeat(64));
    assert!(d.exists(&format!("{DB}/strings/{name}.bin")));
    assert!(d.exists(&format!("{DB}/hashes/{name}.json")));
    // D6: one line per encoded name.
    let km = d.text(&format!("{DB}/KEYMAP.jsonl"));
    assert_eq!(km.lines().count(), 1, "{km}");
    assert!(
        km.starts_with(&format!("{{\"encoded\":\"{name}\",\"original\":\"")),
        "{km}"
    );
    assert!(km.ends_with("\",\"kind\":\"sha-fallback\"}\n"), "{km}");
}

// ---- pending TTL ------------------------------------------------------------------------

#[test]
fn orphan_ttl_warns_once_on_finalize() {
    let d = decode(&[ttl(b"nobody", 5), ttl(b"nobody2", 6)]);
    d.result.as_ref().unwrap();
    assert_eq!(d.events(), vec!["redis_orphan_ttl"]);
    assert_eq!(d.field("redis_orphan_ttl", "count").as_deref(), Some("2"));
    assert_eq!(d.field("redis_orphan_ttl", "pending_ttl_buffer_overflow"), None);
    assert!(!d.exists("redis"));
}

#[test]
fn orphan_ttls_counted_at_finalize() {
    let mut dec = decoder();
    let tmp = tempfile::tempdir().unwrap();
    let mut tree = ekv_snapshot::dump::DumpTree::create(&tmp.path().join("o")).unwrap();
    for i in 0..10_000u32 {
        let (k, v) = ttl(format!("k{i}").as_bytes(), 1);
        dec.handle_record(&mut tree, &routed(&k, &v)).unwrap();
    }
    // Nothing is decided before the end: no key's families are known yet.
    assert_eq!(dec.orphan_ttl_count(), 0);
    let mut w = Vec::new();
    ekv_snapshot::adapters::Decoder::finalize(&mut dec, &mut tree, &mut w).unwrap();
    assert_eq!(dec.orphan_ttl_count(), 10_000);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].fields[0], ("count", "10000".to_owned()));
}

// No pending-TTL budget (Go's `ErrPendingTTLBufferFull`): memory is bounded by design, so a
// TTL whose key is not known yet is never refused. These pin the routing rules instead.

#[test]
fn no_pending_ttl_budget_ttl_owner_follows_family_order() {
    let env_inline = |ms: u64| [h("FF 01 01"), ms.to_be_bytes().to_vec(), b"v".to_vec()].concat();
    let d = decode(&[
        // hash and set of one key: the hash (before `!redis|ttl|`) takes it, the set does not claim.
        hfld(b"a", b"f", b"v"),
        // list after hash: the list takes it.
        hmeta(b"b", 0),
        lmeta(b"b", 0),
        // string after hash: a sidecar line; the hash gets nothing.
        hmeta(b"c", 0),
        rec(s(b"c"), b"legacy"),
        // an inline-TTL string owns it: the row is ignored, the hash gets nothing.
        hmeta(b"e", 0),
        rec(s(b"e"), env_inline(3)),
        ttl(b"a", 11),
        ttl(b"b", 12),
        ttl(b"c", 13),
        ttl(b"e", 14),
        smem(b"a", b"m"),
    ]);
    d.result.as_ref().unwrap();
    let ends = |rel: &str, tail: &str| {
        let t = d.text(&format!("{DB}/{rel}"));
        assert!(t.ends_with(tail), "{rel}: {t}");
    };
    ends("hashes/a.json", "\"expire_at_ms\": 11\n}");
    ends("sets/a.json", "\"expire_at_ms\": null\n}");
    ends("hashes/b.json", "\"expire_at_ms\": null\n}");
    ends("lists/b.json", "\"expire_at_ms\": 12\n}");
    ends("hashes/c.json", "\"expire_at_ms\": null\n}");
    ends("hashes/e.json", "\"expire_at_ms\": null\n}");
    assert_eq!(
        d.text(&format!("{DB}/strings_ttl.jsonl")),
        "{\"key\":\"e\",\"expire_at_ms\":3}\n{\"key\":\"c\",\"expire_at_ms\":13}\n"
    );
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn no_pending_ttl_budget_claim_order_blob_stream_set_wide_zset() {
    let blob = build_zset_legacy(&[("m", 1.0)]);
    let d = decode(&[
        ttl(b"p", 1),
        ttl(b"q", 2),
        ttl(b"r", 3),
        ttl(b"t", 4),
        rec([ZSET_LEGACY_PREFIX, b"p"].concat(), &blob),
        xmeta(b"p", 0, 0, 0),
        xmeta(b"q", 0, 0, 0),
        smem(b"q", b"m"),
        smem(b"r", b"m"),
        zmem(b"r", b"m", 1.0),
        zmeta(b"t", 0),
    ]);
    d.result.as_ref().unwrap();
    let ends = |rel: &str, tail: &str| {
        let t = d.text(&format!("{DB}/{rel}"));
        assert!(t.ends_with(tail), "{rel}: {t}");
    };
    // p: the legacy blob's zset claims first, the stream gets nothing.
    ends("zsets/p.json", "\"expire_at_ms\": 1\n}");
    ends("streams/p.jsonl", "\"expire_at_ms\":null}\n");
    // q: the stream before the set.
    ends("streams/q.jsonl", "\"expire_at_ms\":2}\n");
    ends("sets/q.json", "\"expire_at_ms\": null\n}");
    // r: the set before the wide zset.
    ends("sets/r.json", "\"expire_at_ms\": 3\n}");
    ends("zsets/r.json", "\"expire_at_ms\": null\n}");
    // t: a zset from its meta alone claims.
    ends("zsets/t.json", "\"expire_at_ms\": 4\n}");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn no_pending_ttl_budget_claimed_ttl_loses_to_inline_meta_and_repeats_count_once() {
    let meta16 = |ms: u64| [1u64.to_be_bytes(), ms.to_be_bytes()].concat();
    let d = decode(&[
        ttl(b"o", 1),
        ttl(b"o", 2),
        ttl(b"s", 7),
        ttl(b"s", 8),
        ttl(b"z", 9),
        smem(b"s", b"m"),
        smeta(b"s", 1),
        zmem(b"z", b"m", 1.0),
        rec(wide_key(ZSET_META_PREFIX, b"z", b""), meta16(0)),
    ]);
    d.result.as_ref().unwrap();
    // A repeated row: the later one wins (as a re-parked TTL).
    assert!(d
        .text(&format!("{DB}/sets/s.json"))
        .ends_with("\"expire_at_ms\": 8\n}"));
    // The inline slot (0: no TTL) beats the claimed one.
    assert!(d
        .text(&format!("{DB}/zsets/z.json"))
        .ends_with("\"expire_at_ms\": null\n}"));
    // Two rows of one unknown key: one orphan, as Go counts parked keys.
    assert_eq!(d.events(), vec!["redis_orphan_ttl"]);
    assert_eq!(d.field("redis_orphan_ttl", "count").as_deref(), Some("1"));
}

#[test]
fn index_ttl_lines_follow_ttl_row_order_after_inline_lines() {
    let inline = [h("FF 01 01"), 5u64.to_be_bytes().to_vec()].concat();
    // Rows out of key order: the sidecar keeps the row order, not the key order.
    let d = decode(&[
        rec(s(b"a"), b"x"),
        rec(s(b"z"), b"y"),
        rec(s(b"m"), &inline),
        rec(hll(b"h1"), b"x"),
        rec(hll(b"h0"), b"x"),
        ttl(b"z", 1),
        ttl(b"h1", 2),
        ttl(b"a", 3),
        ttl(b"h0", 4),
    ]);
    d.result.as_ref().unwrap();
    assert_eq!(
        d.text(&format!("{DB}/strings_ttl.jsonl")),
        "{\"key\":\"m\",\"expire_at_ms\":5}\n{\"key\":\"z\",\"expire_at_ms\":1}\n{\"key\":\"a\",\"expire_at_ms\":3}\n"
    );
    assert_eq!(
        d.text(&format!("{DB}/hll_ttl.jsonl")),
        "{\"key\":\"h1\",\"expire_at_ms\":2}\n{\"key\":\"h0\",\"expire_at_ms\":4}\n"
    );
}

// ---- hashes -----------------------------------------------------------------------------

#[test]
fn hash_round_trip_basic_exact_bytes() {
    let d = decode(&[
        hfld(b"user:42", b"name", b"alice"),
        hfld(b"user:42", b"age", b"30"),
        hmeta(b"user:42", 2),
    ]);
    d.result.as_ref().unwrap();
    assert_eq!(
        d.text("redis/db_0/hashes/user%3A42.json"),
        "{\n  \"format_version\": 1,\n  \"fields\": [\n    {\n      \"name\": \"age\",\n      \"value\": \"30\"\n    },\n    {\n      \"name\": \"name\",\n      \"value\": \"alice\"\n    }\n  ],\n  \"expire_at_ms\": null\n}"
    );
    assert!(d.warnings.is_empty());
}

#[test]
fn hash_empty_still_emits_file_and_ttl_from_index() {
    let d = decode(&[hmeta(b"h", 0), ttl(b"h", 1788998400000)]);
    assert_eq!(
        d.text("redis/db_0/hashes/h.json"),
        "{\n  \"format_version\": 1,\n  \"fields\": [],\n  \"expire_at_ms\": 1788998400000\n}"
    );
    assert!(!d.exists("redis/db_0/hashes_ttl.jsonl"));
}

#[test]
fn hash_inline_ttl_ignores_stale_scan_index() {
    let meta = [1u64.to_be_bytes(), 500u64.to_be_bytes()].concat();
    let d = decode(&[
        hfld(b"h", b"f", b"v"),
        rec(wide_key(HASH_META_PREFIX, b"h", b""), meta),
        ttl(b"h", 999),
    ]);
    assert!(d
        .text("redis/db_0/hashes/h.json")
        .ends_with("\"expire_at_ms\": 500\n}"));
    // An inline 0 owns the TTL too: "no TTL".
    let meta = [1u64.to_be_bytes(), 0u64.to_be_bytes()].concat();
    let d = decode(&[
        hfld(b"h", b"f", b"v"),
        rec(wide_key(HASH_META_PREFIX, b"h", b""), meta),
        ttl(b"h", 999),
    ]);
    assert!(d
        .text("redis/db_0/hashes/h.json")
        .ends_with("\"expire_at_ms\": null\n}"));
}

#[test]
fn hash_length_mismatch_warns() {
    let d = decode(&[hfld(b"h", b"f", b"v"), hmeta(b"h", 5)]);
    assert_eq!(d.events(), vec!["redis_hash_length_mismatch"]);
    assert_eq!(
        d.field("redis_hash_length_mismatch", "declared_len").as_deref(),
        Some("5")
    );
    assert_eq!(
        d.field("redis_hash_length_mismatch", "observed_fields")
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        d.field("redis_hash_length_mismatch", "user_key_len").as_deref(),
        Some("1")
    );
    assert!(d.field("redis_hash_length_mismatch", "hint").is_some());
    assert!(d.exists("redis/db_0/hashes/h.json"));
}

#[test]
fn hash_binary_names_and_values_use_envelopes() {
    let d = decode(&[
        hfld(b"h", b"", b"e"),
        hfld(b"h", b"%FF", b"lit"),
        hfld(b"h", b"\xFF", &h("80 FF 01")),
    ]);
    let t = d.text("redis/db_0/hashes/h.json");
    assert_eq!(
        t,
        "{\n  \"format_version\": 1,\n  \"fields\": [\n    {\n      \"name\": \"\",\n      \"value\": \"e\"\n    },\n    {\n      \"name\": \"%FF\",\n      \"value\": \"lit\"\n    },\n    {\n      \"name\": {\n        \"base64\": \"_w\"\n      },\n      \"value\": {\n        \"base64\": \"gP8B\"\n      }\n    }\n  ],\n  \"expire_at_ms\": null\n}"
    );
}

#[test]
fn hash_errors() {
    let d = decode(&[rec(wide_key(HASH_META_PREFIX, b"h", b""), [0u8])]);
    assert!(d.err().contains("invalid hash meta"), "{}", d.err());
    assert!(
        matches!(
            d.layout(),
            LayoutError::MetaSize {
                what: "hash",
                found: 1,
                ..
            }
        ),
        "{}",
        d.err()
    );
    let d = decode(&[hmeta(b"h", 1 << 63)]);
    assert!(d.err().contains("invalid hash meta"), "{}", d.err());
    assert!(
        matches!(d.layout(), LayoutError::MetaLength { what: "hash", .. }),
        "{}",
        d.err()
    );
    let d = decode(&[rec([HASH_FIELD_PREFIX, &[0, 0, 0, 10], b"abc"].concat(), b"v")]);
    assert!(d.err().contains("invalid hash key"), "{}", d.err());
    assert!(
        matches!(
            d.layout(),
            LayoutError::WideKeyUserKey {
                what: "hash",
                expected: 10,
                found: 3
            }
        ),
        "{}",
        d.err()
    );
    // A delta key is skipped without error and creates nothing.
    let d = decode(&[rec(wide_key(HASH_META_DELTA_PREFIX, b"h", &[0; 12]), [0u8; 8])]);
    d.result.as_ref().unwrap();
    assert!(!d.exists("redis"));
    // Trailing bytes after the user key of a meta key are ignored.
    let d = decode(&[rec(wide_key(HASH_META_PREFIX, b"h", b"junk"), 0u64.to_be_bytes())]);
    assert!(d.exists("redis/db_0/hashes/h.json"));
    // Count i64::MAX is accepted.
    let d = decode(&[hmeta(b"h", i64::MAX as u64)]);
    d.result.as_ref().unwrap();
}

// ---- lists ------------------------------------------------------------------------------

#[test]
fn list_round_trip_preserves_lpush_order() {
    let d = decode(&[
        litm(b"l", 1, b"e"),
        litm(b"l", -2, b"b"),
        litm(b"l", 0, b"d"),
        litm(b"l", -1, b"c"),
        lmeta(b"l", 4),
    ]);
    assert_eq!(
        d.text("redis/db_0/lists/l.json"),
        "{\n  \"format_version\": 1,\n  \"items\": [\n    \"b\",\n    \"c\",\n    \"d\",\n    \"e\"\n  ],\n  \"expire_at_ms\": null\n}"
    );
}

#[test]
fn list_empty_ttl_mismatch_binary_and_no_meta() {
    let d = decode(&[lmeta(b"l", 0), ttl(b"l", 42)]);
    assert_eq!(
        d.text("redis/db_0/lists/l.json"),
        "{\n  \"format_version\": 1,\n  \"items\": [],\n  \"expire_at_ms\": 42\n}"
    );
    let d = decode(&[litm(b"l", 0, b"\xFF"), lmeta(b"l", 2)]);
    assert_eq!(d.events(), vec!["redis_list_length_mismatch"]);
    assert_eq!(
        d.field("redis_list_length_mismatch", "observed_items").as_deref(),
        Some("1")
    );
    assert!(d.text("redis/db_0/lists/l.json").contains("\"base64\": \"_w\""));
    let d = decode(&[litm(b"l", 0, b"x")]);
    assert!(d.warnings.is_empty());
    assert!(d.exists("redis/db_0/lists/l.json"));
    // 32-byte meta: inline TTL.
    let d = decode(&[
        litm(b"l", 0, b"x"),
        rec(list_meta_key(b"l"), build_list_meta(1, 9)),
        ttl(b"l", 10),
    ]);
    assert!(d
        .text("redis/db_0/lists/l.json")
        .ends_with("\"expire_at_ms\": 9\n}"));
}

#[test]
fn list_errors_and_skips() {
    let d = decode(&[rec(list_meta_key(b"l"), [0u8; 8])]);
    assert!(d.err().contains("invalid list meta"), "{}", d.err());
    assert!(
        matches!(
            d.layout(),
            LayoutError::MetaSize {
                what: "list",
                found: 8,
                ..
            }
        ),
        "{}",
        d.err()
    );
    let d = decode(&[rec(LIST_ITEM_PREFIX, b"")]);
    assert!(d.err().contains("invalid list item key"), "{}", d.err());
    assert!(
        matches!(d.layout(), LayoutError::ListItemKey { found: 0 }),
        "{}",
        d.err()
    );
    // `!lst|meta|d|…` is a delta: no-op, no lists/ dir.
    let d = decode(&[rec(list_meta_key(b"d|x"), build_list_meta(1, 0))]);
    d.result.as_ref().unwrap();
    assert!(!d.exists("redis/db_0/lists"));
    let d = decode(&[
        litm(b"l", 0, b"a"),
        rec(wide_key(LIST_CLAIM_PREFIX, b"l", &sortable_i64(0)), b""),
        lmeta(b"l", 1),
    ]);
    assert!(d.text("redis/db_0/lists/l.json").contains("\"a\""));
    assert!(d.warnings.is_empty());
}

// ---- sets -------------------------------------------------------------------------------

#[test]
fn set_round_trip_basic() {
    let d = decode(&[
        smem(b"s", b"red"),
        smem(b"s", b"blue"),
        smem(b"s", b"green"),
        smeta(b"s", 3),
    ]);
    assert_eq!(
        d.text("redis/db_0/sets/s.json"),
        "{\n  \"format_version\": 1,\n  \"members\": [\n    \"blue\",\n    \"green\",\n    \"red\"\n  ],\n  \"expire_at_ms\": null\n}"
    );
}

#[test]
fn set_empty_ttl_after_rows_mismatch_binary_and_errors() {
    let d = decode(&[smeta(b"s", 0)]);
    assert!(d.text("redis/db_0/sets/s.json").contains("\"members\": []"));
    let d = decode(&[smem(b"s", b"a"), smeta(b"s", 1), ttl(b"s", 8)]);
    assert!(d
        .text("redis/db_0/sets/s.json")
        .ends_with("\"expire_at_ms\": 8\n}"));
    let d = decode(&[smem(b"s", b"\x80"), smeta(b"s", 4)]);
    assert_eq!(
        d.field("redis_set_length_mismatch", "observed_members")
            .as_deref(),
        Some("1")
    );
    assert!(d.text("redis/db_0/sets/s.json").contains("\"base64\": \"gA\""));
    let d = decode(&[smem(b"s", b"a")]);
    assert!(d.warnings.is_empty() && d.exists("redis/db_0/sets/s.json"));
    let d = decode(&[rec(wide_key(SET_META_PREFIX, b"s", b""), [0u8])]);
    assert!(d.err().contains("invalid set meta"));
    assert!(
        matches!(
            d.layout(),
            LayoutError::MetaSize {
                what: "set",
                found: 1,
                ..
            }
        ),
        "{}",
        d.err()
    );
    let d = decode(&[smeta(b"s", 1 << 63)]);
    assert!(d.err().contains("invalid set meta"));
    assert!(
        matches!(d.layout(), LayoutError::MetaLength { what: "set", .. }),
        "{}",
        d.err()
    );
    let d = decode(&[smeta(b"s", i64::MAX as u64)]);
    d.result.as_ref().unwrap();
    let d = decode(&[rec(wide_key(SET_META_DELTA_PREFIX, b"s", &[0; 12]), [0u8; 8])]);
    assert!(!d.exists("redis/db_0/sets"));
}

#[test]
fn set_ttl_arrives_before_rows() {
    let d = decode(&[ttl(b"s", 77), smem(b"s", b"a"), smeta(b"s", 1)]);
    assert!(d
        .text("redis/db_0/sets/s.json")
        .ends_with("\"expire_at_ms\": 77\n}"));
    assert!(d.warnings.is_empty());
}

// ---- zsets ------------------------------------------------------------------------------

#[test]
fn zset_round_trip_basic() {
    let d = decode(&[
        zmem(b"z", b"charlie", 3.0),
        zmem(b"z", b"alice", 100.0),
        zmem(b"z", b"bob", -1.5),
        zmeta(b"z", 3),
    ]);
    assert_eq!(
        d.text("redis/db_0/zsets/z.json"),
        "{\n  \"format_version\": 1,\n  \"members\": [\n    {\n      \"member\": \"alice\",\n      \"score\": 100\n    },\n    {\n      \"member\": \"bob\",\n      \"score\": -1.5\n    },\n    {\n      \"member\": \"charlie\",\n      \"score\": 3\n    }\n  ],\n  \"expire_at_ms\": null\n}"
    );
}

#[test]
fn zset_scores_infinity_negative_zero_and_exponents() {
    let d = decode(&[
        zmem(b"z", b"a", f64::INFINITY),
        zmem(b"z", b"b", f64::NEG_INFINITY),
        zmem(b"z", b"c", -0.0),
        zmem(b"z", b"d", 1e21),
        zmem(b"z", b"e", 1e-7),
    ]);
    let t = d.text("redis/db_0/zsets/z.json");
    for want in [
        "\"score\": \"+inf\"",
        "\"score\": \"-inf\"",
        "\"score\": -0\n",
        "\"score\": 1e+21",
        "\"score\": 1e-7",
    ] {
        assert!(t.contains(want), "{want} in {t}");
    }
}

#[test]
fn zset_empty_ttl_mismatch_binary_noops_and_errors() {
    let d = decode(&[zmeta(b"z", 0), ttl(b"z", 5)]);
    assert_eq!(
        d.text("redis/db_0/zsets/z.json"),
        "{\n  \"format_version\": 1,\n  \"members\": [],\n  \"expire_at_ms\": 5\n}"
    );
    let d = decode(&[zmem(b"z", b"\xFE", 1.0), zmeta(b"z", 2)]);
    assert_eq!(
        d.field("redis_zset_length_mismatch", "observed_members")
            .as_deref(),
        Some("1")
    );
    assert!(d.text("redis/db_0/zsets/z.json").contains("\"base64\": \"_g\""));
    let d = decode(&[zmem(b"z", b"a", 1.0)]);
    assert!(d.warnings.is_empty() && d.exists("redis/db_0/zsets/z.json"));
    let d = decode(&[
        rec(wide_key(ZSET_META_DELTA_PREFIX, b"z", &[0; 12]), b"anything"),
        rec(zset_score_key(b"z", 1.0, b"m"), b""),
    ]);
    d.result.as_ref().unwrap();
    assert!(!d.exists("redis/db_0/zsets"));
    let d = decode(&[rec(wide_key(ZSET_META_PREFIX, b"z", b""), [0u8; 3])]);
    assert!(d.err().contains("invalid zset meta"));
    assert!(
        matches!(
            d.layout(),
            LayoutError::MetaSize {
                what: "zset",
                found: 3,
                ..
            }
        ),
        "{}",
        d.err()
    );
    let d = decode(&[zmeta(b"z", 1 << 63)]);
    assert!(d.err().contains("invalid zset meta"));
    assert!(
        matches!(d.layout(), LayoutError::MetaLength { what: "zset", .. }),
        "{}",
        d.err()
    );
    let d = decode(&[zmeta(b"z", i64::MAX as u64)]);
    d.result.as_ref().unwrap();
    let d = decode(&[rec(wide_key(ZSET_MEMBER_PREFIX, b"z", b"m"), [0u8; 3])]);
    assert!(d.err().contains("invalid zset member"));
    assert!(
        matches!(d.layout(), LayoutError::ZsetScoreSize { found: 3 }),
        "{}",
        d.err()
    );
    let d = decode(&[rec(
        wide_key(ZSET_MEMBER_PREFIX, b"z", b"m"),
        h("7F F8 00 00 00 00 00 00"),
    )]);
    assert!(d.err().contains("NaN"));
    assert!(matches!(d.layout(), LayoutError::ZsetScoreNan), "{}", d.err());
}

#[test]
fn zset_ttl_arrives_before_rows_and_orphans_counted() {
    let d = decode(&[
        ttl(b"other", 1),
        ttl(b"z", 9),
        zmem(b"z", b"a", 1.0),
        zmeta(b"z", 1),
    ]);
    assert!(d
        .text("redis/db_0/zsets/z.json")
        .ends_with("\"expire_at_ms\": 9\n}"));
    assert_eq!(d.events(), vec!["redis_orphan_ttl"]);
    assert_eq!(d.field("redis_orphan_ttl", "count").as_deref(), Some("1"));
}

#[test]
fn zset_legacy_blob() {
    let blob = build_zset_legacy(&[("bob", 2.0), ("alice", 100.0)]);
    let legacy = |b: &[u8]| rec([ZSET_LEGACY_PREFIX, b"z"].concat(), b);
    let d = decode(&[legacy(&blob)]);
    let t = d.text("redis/db_0/zsets/z.json");
    assert!(t.find("alice").unwrap() < t.find("bob").unwrap(), "{t}");
    // Wide rows supersede the blob.
    let d = decode(&[legacy(&blob), zmem(b"z", b"carol", 5.0), zmeta(b"z", 1)]);
    let t = d.text("redis/db_0/zsets/z.json");
    assert!(t.contains("carol") && !t.contains("alice"), "{t}");
    assert!(d.warnings.is_empty());
    // Meta alone keeps the blob members.
    let d = decode(&[legacy(&blob), zmeta(b"z", 2)]);
    assert!(d.text("redis/db_0/zsets/z.json").contains("alice"));
    assert!(d.warnings.is_empty());
    // A blob after wide rows is dropped.
    let d = decode(&[zmem(b"z", b"carol", 5.0), legacy(&blob)]);
    assert!(!d.text("redis/db_0/zsets/z.json").contains("alice"));
    // Blob then TTL (known kind) → inlined; TTL then blob → claimed.
    let d = decode(&[legacy(&blob), ttl(b"z", 3)]);
    assert!(d
        .text("redis/db_0/zsets/z.json")
        .ends_with("\"expire_at_ms\": 3\n}"));
    let d = decode(&[ttl(b"z", 4), legacy(&blob)]);
    assert!(d
        .text("redis/db_0/zsets/z.json")
        .ends_with("\"expire_at_ms\": 4\n}"));
    assert!(d.warnings.is_empty());
    // Errors.
    let d = decode(&[legacy(&blob[1..])]);
    assert!(d.err().contains("invalid zset legacy blob"), "{}", d.err());
    assert!(matches!(d.layout(), LayoutError::ZsetLegacyMagic), "{}", d.err());
    let d = decode(&[legacy(&build_zset_legacy(&[("x", f64::NAN)]))]);
    assert!(d.err().contains("invalid zset legacy blob"), "{}", d.err());
    assert!(
        matches!(d.layout(), LayoutError::ZsetLegacyNan { .. }),
        "{}",
        d.err()
    );
}

// ---- streams ----------------------------------------------------------------------------

#[test]
fn stream_round_trip_basic_exact_bytes() {
    let d = decode(&[
        xent(b"s", 1714400000001, 0, &["user", "alice"]),
        xent(b"s", 1714400000000, 0, &["event", "login"]),
        xmeta(b"s", 2, 1714400000001, 0),
    ]);
    assert_eq!(
        d.text("redis/db_0/streams/s.jsonl"),
        "{\"id\":\"1714400000000-0\",\"fields\":[{\"name\":\"event\",\"value\":\"login\"}]}\n\
         {\"id\":\"1714400000001-0\",\"fields\":[{\"name\":\"user\",\"value\":\"alice\"}]}\n\
         {\"_meta\":true,\"length\":2,\"last_ms\":1714400000001,\"last_seq\":0,\"expire_at_ms\":null}\n"
    );
}

#[test]
fn stream_duplicate_fields_ttl_and_id_format() {
    let d = decode(&[
        ttl(b"s", 11),
        xent(b"s", 1714400000000, 7, &["f", "v1", "f", "v2", "g", "<&>"]),
        xmeta(b"s", 1, 1714400000000, 7),
    ]);
    assert_eq!(
        d.text("redis/db_0/streams/s.jsonl"),
        "{\"id\":\"1714400000000-7\",\"fields\":[{\"name\":\"f\",\"value\":\"v1\"},{\"name\":\"f\",\"value\":\"v2\"},{\"name\":\"g\",\"value\":\"\\u003c\\u0026\\u003e\"}]}\n\
         {\"_meta\":true,\"length\":1,\"last_ms\":1714400000000,\"last_seq\":7,\"expire_at_ms\":11}\n"
    );
    // TTL from the index after the rows; an entry with no fields.
    let d = decode(&[xent(b"s", 1, 0, &[]), xmeta(b"s", 1, 1, 0), ttl(b"s", 12)]);
    assert_eq!(
        d.text("redis/db_0/streams/s.jsonl"),
        "{\"id\":\"1-0\",\"fields\":[]}\n{\"_meta\":true,\"length\":1,\"last_ms\":1,\"last_seq\":0,\"expire_at_ms\":12}\n"
    );
}

#[test]
fn stream_empty_mismatch_orphans_and_trim_cursor() {
    let d = decode(&[xmeta(b"s", 0, 0, 0)]);
    assert_eq!(
        d.text("redis/db_0/streams/s.jsonl"),
        "{\"_meta\":true,\"length\":0,\"last_ms\":0,\"last_seq\":0,\"expire_at_ms\":null}\n"
    );
    let d = decode(&[xent(b"s", 1, 0, &["a", "b"]), xmeta(b"s", 3, 1, 0)]);
    assert_eq!(
        d.field("redis_stream_length_mismatch", "observed_entries")
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        d.field("redis_stream_length_mismatch", "declared_len").as_deref(),
        Some("3")
    );
    let d = decode(&[xent(b"s", 1, 0, &["a", "b"])]);
    assert_eq!(d.events(), vec!["redis_stream_orphan_entries_without_meta"]);
    assert_eq!(
        d.field("redis_stream_orphan_entries_without_meta", "observed_entries")
            .as_deref(),
        Some("1")
    );
    assert!(!d.exists("redis/db_0/streams/s.jsonl"));
    assert!(d.root.join("redis/db_0/streams").is_dir());
    let meta48 = [build_stream_meta(0, 5, 6, 99), vec![0xAA; 16]].concat();
    let d = decode(&[rec(wide_key(STREAM_META_PREFIX, b"s", b""), meta48)]);
    let t = d.text("redis/db_0/streams/s.jsonl");
    assert_eq!(
        t,
        "{\"_meta\":true,\"length\":0,\"last_ms\":5,\"last_seq\":6,\"expire_at_ms\":99}\n"
    );
}

#[test]
fn stream_errors() {
    let meta = |v: Vec<u8>| rec(wide_key(STREAM_META_PREFIX, b"s", b""), v);
    let d = decode(&[meta(vec![0; 3])]);
    assert!(d.err().contains("invalid stream meta"));
    assert!(
        matches!(
            d.layout(),
            LayoutError::MetaSize {
                what: "stream",
                found: 3,
                ..
            }
        ),
        "{}",
        d.err()
    );
    let d = decode(&[meta(build_stream_meta(1 << 63, 0, 0, 0))]);
    assert!(d.err().contains("invalid stream meta"));
    assert!(
        matches!(d.layout(), LayoutError::MetaLength { what: "stream", .. }),
        "{}",
        d.err()
    );
    let d = decode(&[meta(build_stream_meta(i64::MAX as u64, 0, 0, 0))]);
    d.result.as_ref().unwrap();
    let (k, v) = xent(b"s", 1, 0, &["a", "b"]);
    let d = decode(&[rec(&k, &v[1..])]);
    assert!(d.err().contains("invalid stream entry"));
    assert!(matches!(d.layout(), LayoutError::StreamEntryMagic), "{}", d.err());
    let d = decode(&[xent(b"s", 1, 0, &["a"])]);
    assert!(d.err().contains("odd number"));
    assert!(
        matches!(d.layout(), LayoutError::StreamEntryOdd { found: 1 }),
        "{}",
        d.err()
    );
    let d = decode(&[rec(wide_key(STREAM_ENTRY_PREFIX, b"s", &[1, 2, 3, 4]), &v)]);
    assert!(d.err().contains("invalid stream entry key"));
    assert!(
        matches!(d.layout(), LayoutError::StreamEntryKey { found: 4 }),
        "{}",
        d.err()
    );
}

#[test]
fn multiple_streams_and_types_sorted() {
    let d = decode(&[xmeta(b"b", 0, 0, 0), xmeta(b"a", 0, 0, 0), xmeta(b"c", 0, 0, 0)]);
    for k in ["a", "b", "c"] {
        assert!(d.exists(&format!("redis/db_0/streams/{k}.jsonl")));
    }
}

#[test]
fn malformed_is_fatal_but_finalize_still_writes() {
    let d = decode(&[hmeta(b"h", 0), rec(s(b"k"), h("FF 01"))]);
    assert!(d.result.is_err());
    assert!(d.exists("redis/db_0/hashes/h.json"));
    // A key without a route never reaches the decoder; a tag of no Redis route is refused.
    assert!(ekv_snapshot::adapters::Record::routed(b"!alien|x", b"").is_none());
    let mut record = routed(b"!redis|str|k", b"v");
    record.tag = 200;
    let mut dec = decoder();
    let tmp = tempfile::tempdir().unwrap();
    let mut tree = ekv_snapshot::dump::DumpTree::create(&tmp.path().join("o")).unwrap();
    let e = dec.handle_record(&mut tree, &record).unwrap_err();
    assert!(
        matches!(
            &e,
            ekv_snapshot::adapters::AdapterError::BadRecord { adapter: "redis", .. }
        ) && e.to_string().contains("names no Redis family"),
        "{e}"
    );
}

#[test]
fn d6_keymap_sorted_by_encoded_name_one_line_per_name() {
    // Two fallback keys: a string (blob + TTL line) and a set; intake order is the reverse
    // of the encoded-name order for one of them.
    let a = vec![b'z'; 300];
    let b = vec![b'a'; 300];
    let env = [h("FF 01 01"), 5u64.to_be_bytes().to_vec()].concat();
    let d = decode(&[rec(s(&a), &env), rec(s(&b), &env), smem(&a, b"m"), smeta(&a, 1)]);
    d.result.as_ref().unwrap();
    let km = d.text(&format!("{DB}/KEYMAP.jsonl"));
    let names: Vec<&str> = km.lines().map(|l| l.split('"').nth(3).unwrap()).collect();
    assert_eq!(names.len(), 2, "{km}");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    // And the strings_ttl sidecar names the same (fallback) segments.
    assert_eq!(d.text(&format!("{DB}/strings_ttl.jsonl")).lines().count(), 2);
}

// ---- bounded memory -----------------------------------------------------------------------

/// A mixed dataset of `n` keys of every type (binary keys with NUL bytes, SHA-fallback
/// keys, TTLs from the index and inline, length mismatches), in snapshot order.
fn mixed_records(n: u32) -> Vec<Rec> {
    let mut recs = Vec::new();
    for i in 0..n {
        let mut k = format!("key:{i:05}").into_bytes();
        if i % 7 == 0 {
            k.push(0);
            k.push(0xFF);
        }
        if i % 97 == 0 {
            k.extend_from_slice(&[b'L'; 300]);
        }
        let f = |j: u32| format!("f{j}").into_bytes();
        match i % 8 {
            0 => recs.push(rec(s(&k), b"legacy value")),
            1 => recs.push(rec(
                hll(&k),
                [h("FF 02 01"), u64::from(i).to_be_bytes().to_vec(), b"sk".to_vec()].concat(),
            )),
            2 => {
                for j in 0..(i % 5) {
                    recs.push(hfld(&k, &f(j), &f(j * 3)));
                }
                recs.push(hmeta(&k, u64::from(i % 4)));
            }
            3 => {
                for j in 0..(i % 4) {
                    recs.push(litm(&k, i64::from(j) - 1, &f(j)));
                }
                recs.push(lmeta(&k, u64::from(i % 5)));
            }
            4 => {
                for j in 0..(i % 6) {
                    recs.push(smem(&k, &f(j)));
                }
            }
            5 => {
                recs.push(rec(
                    [ZSET_LEGACY_PREFIX, &k].concat(),
                    build_zset_legacy(&[("old", 1.0), ("x", 2.5)]),
                ));
                for j in 0..(i % 3) {
                    recs.push(zmem(&k, &f(j), f64::from(j) / 2.0));
                }
                recs.push(zmeta(&k, u64::from(i % 3)));
            }
            6 => {
                for j in 0..(i % 3) {
                    recs.push(xent(&k, u64::from(j) + 1, 0, &["a", "b"]));
                }
                if i % 5 != 0 {
                    recs.push(xmeta(&k, u64::from(i % 3), 9, 0));
                }
            }
            _ => {}
        }
        if i % 3 == 0 {
            recs.push(ttl(&k, 1_000 + u64::from(i)));
        }
    }
    recs.sort();
    recs
}

/// Decode with a sorter budget; (tree, warnings, spilled runs).
fn decode_budget(recs: &[Rec], budget: usize) -> (Decoded, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("out");
    let mut tree = ekv_snapshot::dump::DumpTree::create(&root).unwrap();
    let cx = ekv_snapshot::adapters::DecodeContext {
        scratch_dir: tmp.path().to_path_buf(),
    };
    let mut dec = RedisDecoder::new(&Default::default(), &cx).with_sort_budget(budget);
    for (k, v) in recs {
        dec.handle_record(&mut tree, &routed(k, v)).unwrap();
    }
    let mut warnings = Vec::new();
    let result = ekv_snapshot::adapters::Decoder::finalize(&mut dec, &mut tree, &mut warnings);
    tree.publish(None).unwrap();
    let runs = dec.spilled_runs();
    // Spill files are anonymous: nothing is left in the scratch directory but the tree.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("out")]);
    (
        Decoded {
            _tmp: tmp,
            root,
            warnings,
            result,
        },
        runs,
    )
}

#[test]
fn tiny_sort_budget_spills_and_gives_a_byte_identical_tree() {
    assert_eq!(DEFAULT_SORT_BUDGET, 16 << 20);
    let recs = mixed_records(2_500);
    let (big, big_runs) = decode_budget(&recs, DEFAULT_SORT_BUDGET);
    let (small, small_runs) = decode_budget(&recs, 4 << 10);
    big.result.as_ref().unwrap();
    small.result.as_ref().unwrap();
    assert_eq!(big_runs, 0);
    // More runs than one merge takes: an intermediate merge pass runs too.
    assert!(small_runs > 64, "{small_runs} runs");
    let (a, b) = (big.tree(), small.tree());
    assert!(a.len() > 1_000, "{} files", a.len());
    assert!(a == b, "trees differ");
    assert_eq!(big.warnings, small.warnings);
    // The dataset exercises every path: mismatches, orphan entries, orphan TTLs, fallbacks.
    let mut events = big.events();
    events.sort();
    events.dedup();
    assert_eq!(
        events,
        vec![
            "redis_hash_length_mismatch",
            "redis_list_length_mismatch",
            "redis_orphan_ttl",
            "redis_stream_orphan_entries_without_meta",
            "redis_zset_length_mismatch",
        ]
    );
    assert!(big.exists(&format!("{DB}/KEYMAP.jsonl")));
    assert!(big.exists(&format!("{DB}/strings_ttl.jsonl")));
    assert!(big.exists(&format!("{DB}/hll_ttl.jsonl")));
}
