use super::*;

fn seg_hex(text: &str) -> String {
    hex::encode(ordered_key(text).unwrap())
}

#[test]
fn ordered_key_vectors_of_the_spec() {
    for zero in ["0", "0.0", "-0", "000", "0e5"] {
        assert_eq!(seg_hex(zero), "01", "{zero}");
    }
    assert_eq!(seg_hex("1"), "020201010031");
    for hundred in ["100", "1e2", "+1e2", "1E2", " 100 "] {
        assert_eq!(seg_hex(hundred), "020201030031", "{hundred}");
    }
    assert_eq!(seg_hex("+5"), seg_hex("5"));
    assert_eq!(seg_hex("0.5"), "02010035");
    assert_eq!(seg_hex("0.001"), "0200fefd0031");
    assert_eq!(seg_hex("12.5"), "0202010200313235");
    assert_eq!(seg_hex("-1"), "00fdfefeffce");
    assert_eq!(seg_hex("-12.5"), "00fdfefdffcecdca");
}

#[test]
fn ordered_key_extreme_exponents() {
    // exponent = 1 + i64::MAX wraps to i64::MIN (Go's int64 arithmetic).
    let k = ordered_key("1e9223372036854775807").unwrap();
    assert_eq!(hex::encode(k), "0200f77fffffffffffffff0031");
    assert!(ordered_key("1e9223372036854775808").is_err());
    let big = "9".repeat(400);
    let k = ordered_key(&big).unwrap();
    assert_eq!(k.get(..5), Some(&[0x02, 0x02, 0x02, 0x01, 0x90][..]));
}

#[test]
fn ordered_key_rejects_what_go_rejects() {
    for bad in [
        "", "abc", "1.2.3", "+", "1e", "0x10", "e3", " ", "-", ".", "1_0", "1e1_0", "--1", "1 e2", "1e2.5",
        "Infinity",
    ] {
        assert!(ordered_key(bad).is_err(), "{bad:?}");
    }
    for good in [".5", "5.", "1e+3", "1e-3", "1e 3"] {
        assert!(ordered_key(good).is_ok(), "{good:?}");
    }
}

#[test]
fn ordered_key_sorts_numerically_for_a_sample() {
    let sample = [
        "-1000", "-12.5", "-1", "-0.5", "0", "0.001", "0.5", "1", "12.5", "100", "1e3", "1000.5", "1e20",
    ];
    let keys: Vec<Vec<u8>> = sample.iter().map(|s| ordered_key(s).unwrap()).collect();
    for pair in keys.windows(2) {
        assert!(pair[0] < pair[1]);
    }
}

fn rat(text: &str) -> String {
    match canonical(text) {
        Canonical::Rat(s) => s,
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn canonical_matches_big_rat() {
    for (input, want) in [
        ("1", "1"),
        ("1.0", "1"),
        ("1e0", "1"),
        ("100", "100"),
        ("1e2", "100"),
        ("-0", "0"),
        ("0.5", "1/2"),
        ("5e-1", "1/2"),
        ("1.50", "3/2"),
        ("-12.5", "-25/2"),
        ("0.001", "1/1000"),
        ("0.125", "1/8"),
        ("0.0625", "1/16"),
        ("0.2", "1/5"),
        ("0.04", "1/25"),
        ("007", "7"),
        ("+7", "7"),
        (" 42 ", "42"),
        ("1.", "1"),
        (".5", "1/2"),
        ("0e999999999", "0"),
        ("1e+3", "1000"),
        (
            "123456789012345678901234567890.5",
            "246913578024691357802469135781/2",
        ),
        ("3.14159", "314159/100000"),
        ("1e-30", "1/1000000000000000000000000000000"),
        ("2.5e-20", "1/40000000000000000000"),
    ] {
        assert_eq!(rat(input), want, "{input}");
    }
    assert_eq!(rat("1e1000000").len(), 1_000_001);
}

#[test]
fn canonical_falls_back_to_the_trimmed_text() {
    for (input, want) in [
        ("", ""),
        (" abc ", "abc"),
        ("1e1000001", "1e1000001"),
        ("1e-1000001", "1e-1000001"),
        ("Inf", "Inf"),
        ("NaN", "NaN"),
        (".", "."),
        ("1e", "1e"),
        ("1.2.3", "1.2.3"),
        ("1e9223372036854775808", "1e9223372036854775808"),
    ] {
        assert_eq!(canonical(input), Canonical::Text(want.to_owned()), "{input:?}");
    }
}

#[test]
fn other_big_rat_forms_are_flagged() {
    for input in ["1/2", "0x10", "-0b1", "1_000", "0x1p3", "1p3", "0o7"] {
        assert_eq!(canonical(input), Canonical::Unsupported, "{input}");
    }
}
