//! Filename encoding tests: the spec's examples (s3_tree_pipeline.md §5, redis.md §5.2) and
//! the behaviours of Go's `filename_test.go`.

use proptest::prelude::*;

use super::*;

fn enc(raw: &[u8]) -> String {
    encode_segment(raw).name
}

#[test]
fn spec_examples() {
    assert_eq!(enc(b"session:abc"), "session%3Aabc");
    assert_eq!(enc(b"a/b:c"), "a%2Fb%3Ac");
    assert_eq!(enc("é".as_bytes()), "%C3%A9");
    assert_eq!(
        encode_segment(b""),
        Segment {
            name: String::new(),
            is_fallback: false
        }
    );
}

#[test]
fn passthrough_for_unreserved() {
    for s in ["", "abc", "ABC-xyz_0.9", "...", "-_-"] {
        let seg = encode_segment(s.as_bytes());
        assert_eq!(
            seg,
            Segment {
                name: s.to_owned(),
                is_fallback: false
            }
        );
        assert_eq!(decode_segment(&seg.name).unwrap(), s.as_bytes());
    }
}

#[test]
fn percent_escapes_reserved_bytes_uppercase() {
    assert_eq!(enc(b" "), "%20");
    assert_eq!(enc(b"/"), "%2F");
    assert_eq!(enc(b"|"), "%7C");
    assert_eq!(enc(b"\x00"), "%00");
    assert_eq!(enc(b"\xff"), "%FF");
    assert_eq!(enc(b"+"), "%2B");
    assert_eq!(enc(b"~"), "%7E");
    assert_eq!(enc(b"%"), "%25");
    assert_eq!(enc(&[0xAB, 0xCD]), "%AB%CD");
}

#[test]
fn fallback_250_a() {
    let seg = encode_segment(&[b'a'; 250]);
    assert!(seg.is_fallback);
    assert_eq!(
        seg.name,
        format!("3f3e35e0a775d9b1d5ec2eccca06381c__{}", "a".repeat(64))
    );
    assert!(seg.name.len() <= 240);
    assert!(is_sha_fallback(&seg.name));
    assert!(matches!(
        decode_segment(&seg.name),
        Err(DumpError::Segment { .. })
    ));
}

#[test]
fn fallback_300_k() {
    let seg = encode_segment(&[b'k'; 300]);
    assert!(seg.is_fallback);
    assert_eq!(
        seg.name,
        format!("17b16d8ef494060fefa36a6a41567b8c__{}", "k".repeat(64))
    );
}

#[test]
fn boundary_240_allowed_241_falls_back() {
    let seg = encode_segment(&[b'x'; 240]);
    assert_eq!(
        seg,
        Segment {
            name: "x".repeat(240),
            is_fallback: false
        }
    );
    assert!(encode_segment(&[b'x'; 241]).is_fallback);
    // 80 escaped bytes are exactly 240 characters; 81 are 243.
    let seg = encode_segment(&[0x01; 80]);
    assert!(!seg.is_fallback);
    assert_eq!(seg.name.len(), 240);
    assert!(encode_segment(&[0x01; 81]).is_fallback);
    // 237 plain + one escape = 240; 238 + one escape = 241.
    let mut raw = vec![b'y'; 237];
    raw.push(b' ');
    assert!(!encode_segment(&raw).is_fallback);
    raw.insert(0, b'y');
    assert!(encode_segment(&raw).is_fallback);
}

#[test]
fn fallback_suffix_is_percent_encoded_prefix() {
    let mut raw = b"user:".to_vec();
    raw.extend_from_slice(&[b'z'; 300]);
    let seg = encode_segment(&raw);
    assert!(seg.is_fallback);
    let (_, suffix) = seg.name.split_once("__").unwrap();
    assert_eq!(suffix, format!("user%3A{}", "z".repeat(59)));
    // 64 bytes that all need escaping: 32 + 2 + 192 = 226, the maximum.
    let seg = encode_segment(&[0xEE; 1000]);
    assert_eq!(seg.name.len(), 226);
}

#[test]
fn huge_inputs_fall_back_without_full_expansion() {
    let raw = vec![0u8; 1 << 20];
    assert!(encode_segment(&raw).name.len() <= 240);
    let seg = encode_binary_segment(&raw);
    assert!(seg.is_fallback);
    assert!(seg.name.len() <= 240);
}

#[test]
fn deterministic() {
    assert_eq!(encode_segment(b"k\x00y"), encode_segment(b"k\x00y"));
}

#[test]
fn long_unreserved_ascii_encodes_as_is() {
    let raw = "ab".repeat(100);
    assert_eq!(enc(raw.as_bytes()), raw);
}

#[test]
fn promotion_of_binary_prefix() {
    let seg = encode_segment(b"b64.foo");
    assert!(seg.is_fallback);
    assert!(is_sha_fallback(&seg.name));
    // Case-sensitive: `B64.` is not promoted.
    assert_eq!(
        encode_segment(b"B64.foo"),
        Segment {
            name: "B64.foo".into(),
            is_fallback: false
        }
    );
}

#[test]
fn promotion_of_fallback_shape() {
    let key = format!("{}__suffix", "0123456789abcdef".repeat(2));
    let seg = encode_segment(key.as_bytes());
    assert!(seg.is_fallback);
    assert_ne!(seg.name, key);
    // Uppercase hex looks like a fallback too.
    let key = format!("{}__", "0123456789ABCDEF".repeat(2));
    assert!(encode_segment(key.as_bytes()).is_fallback);
}

#[test]
fn near_fallback_shapes_are_not_fallbacks() {
    let h31 = "a".repeat(31);
    let h32 = "b".repeat(32);
    for s in [
        format!("{h31}__x"),
        format!("{h32}_x"),
        format!("{h32}_"),
        format!("{h32}x_y"),
        format!("{h31}g__"),
    ] {
        assert!(!is_sha_fallback(&s), "{s}");
        let seg = encode_segment(s.as_bytes());
        assert!(!seg.is_fallback, "{s}");
        assert_eq!(decode_segment(&seg.name).unwrap(), s.as_bytes());
    }
    // Exactly 34 characters is the shortest fallback shape.
    assert!(is_sha_fallback(&format!("{h32}__")));
    // Percent-encoded reserved bytes cannot form the shape: `%` is not hex.
    assert!(!is_sha_fallback(&enc(format!("{h31}/__").as_bytes())));
}

#[test]
fn binary_segment_round_trip() {
    for raw in [&b""[..], b"\x00", b"\x80\xff\x01", b"hello world"] {
        let seg = encode_binary_segment(raw);
        assert!(!seg.is_fallback);
        assert!(seg.name.starts_with("b64."));
        assert!(is_binary_segment(&seg.name));
        assert_eq!(decode_segment(&seg.name).unwrap(), raw);
    }
    assert_eq!(encode_binary_segment(b"\x80\xff\x01").name, "b64.gP8B");
    assert_eq!(encode_binary_segment(b"").name, "b64.");
}

#[test]
fn binary_segment_length_boundary() {
    // 177 bytes → 236 characters + 4 = 240 (allowed); 178 → 238 + 4 = 242.
    let seg = encode_binary_segment(&[7u8; 177]);
    assert!(!seg.is_fallback);
    assert_eq!(seg.name.len(), 240);
    assert!(encode_binary_segment(&[7u8; 178]).is_fallback);
    assert!(encode_binary_segment(&[9u8; 200]).is_fallback);
}

#[test]
fn decode_lenient_forms() {
    assert_eq!(decode_segment("%c3%a9").unwrap(), "é".as_bytes());
    assert_eq!(decode_segment("%61b").unwrap(), b"ab");
    // Go's base64 decoder skips CR/LF and accepts non-zero trailing bits.
    assert_eq!(decode_segment("b64.gP\n8B").unwrap(), b"\x80\xff\x01");
    assert_eq!(decode_segment("b64._x").unwrap(), b"\xff");
}

#[test]
fn decode_rejects_truncated_and_non_hex_escapes() {
    for s in ["%", "%1", "a%", "a%F", "%GG", "%1G", "%G1", "%%41"] {
        assert!(matches!(decode_segment(s), Err(DumpError::Segment { .. })), "{s}");
    }
}

#[test]
fn decode_rejects_raw_reserved_bytes() {
    for s in ["a/b", "a:b", "a b", "é", "~"] {
        let err = decode_segment(s).unwrap_err();
        assert!(err.to_string().contains("percent-encoded"), "{err}");
        assert_eq!(err.kind(), crate::error_kind::ErrorKind::Data);
    }
}

#[test]
fn decode_rejects_malformed_binary() {
    for s in ["b64.!!!", "b64.gP8B=", "b64.AA==", "b64.A"] {
        assert!(decode_segment(s).is_err(), "{s}");
    }
}

#[test]
fn decode_rejects_oversized_input() {
    assert!(decode_segment(&"a".repeat(240)).is_ok());
    let err = decode_segment(&"a".repeat(241)).unwrap_err();
    assert!(err.to_string().contains("241 bytes"), "{err}");
}

#[test]
fn decode_refuses_fallback_names() {
    let err = decode_segment(&format!("{}__x", "A".repeat(32))).unwrap_err();
    assert!(err.to_string().contains("KEYMAP"), "{err}");
}

fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'_'), Just(b'.'), Just(b'4'), Just(b'/')],
            0..300
        ),
        "[0-9a-fA-F]{30,34}_{0,3}[a-z%/]{0,5}".prop_map(String::into_bytes),
        "b64\\.[A-Za-z0-9_-]{0,8}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn round_trip_unless_fallback(raw in interesting_bytes()) {
        let seg = encode_segment(&raw);
        prop_assert!(seg.name.len() <= MAX_SEGMENT_BYTES);
        prop_assert_eq!(seg.is_fallback, is_sha_fallback(&seg.name));
        if !seg.is_fallback {
            prop_assert_eq!(decode_segment(&seg.name).unwrap(), raw);
        }
    }

    #[test]
    fn binary_round_trip_unless_fallback(raw in proptest::collection::vec(any::<u8>(), 0..250)) {
        let seg = encode_binary_segment(&raw);
        prop_assert!(seg.name.len() <= MAX_SEGMENT_BYTES);
        if !seg.is_fallback {
            prop_assert_eq!(decode_segment(&seg.name).unwrap(), raw);
        }
    }

    #[test]
    fn encoding_is_injective(a in interesting_bytes(), b in interesting_bytes()) {
        if a != b {
            prop_assert_ne!(encode_segment(&a).name, encode_segment(&b).name);
            prop_assert_ne!(encode_binary_segment(&a).name, encode_binary_segment(&b).name);
            prop_assert_ne!(encode_segment(&a).name, encode_binary_segment(&b).name);
        }
    }
}
