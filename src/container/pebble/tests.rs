use super::*;
use crate::error_kind::ErrorKind;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// Spec §2.2 worked example: user key `!redis|str|k`, ts 0x0001000000000001, value `v`.
const SPEC_KEY: &str = "21 72 65 64 69 73 7C 73 74 72 7C 6B FF FE FF FF FF FF FF FE";
const SPEC_VALUE: &str = "00 00 00 00 00 00 00 00 00 76";

fn spec_stream() -> Vec<u8> {
    let mut s = hex("454B565042424C31 0200000000000100");
    s.extend(hex("14 00 00 00 00 00 00 00"));
    s.extend(hex(SPEC_KEY));
    s.extend(hex("0A 00 00 00 00 00 00 00"));
    s.extend(hex(SPEC_VALUE));
    s
}

fn entry(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = (key.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(key);
    out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    out.extend_from_slice(value);
    out
}

fn stream(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut s = b"EKVPBBL1".to_vec();
    s.extend_from_slice(&7u64.to_le_bytes());
    for e in entries {
        s.extend_from_slice(e);
    }
    s
}

/// Read every entry; returns (raw count, mvcc count) or the first error.
fn read_all(bytes: &[u8]) -> Result<(usize, usize), ContainerError> {
    let mut r = PebbleStreamReader::new(bytes)?;
    let (mut raw, mut mvcc) = (0, 0);
    while let Some(e) = r.next()? {
        match e {
            StreamEntry::Raw(_) => raw += 1,
            StreamEntry::Mvcc(_) => mvcc += 1,
        }
    }
    Ok((raw, mvcc))
}

#[test]
fn key_and_value_codec_match_spec_bytes() {
    let mut k = Vec::new();
    encode_key(b"!redis|str|k", 0x0001_0000_0000_0001, &mut k);
    assert_eq!(k, hex(SPEC_KEY));
    assert_eq!(
        decode_key(&k),
        Some((&b"!redis|str|k"[..], 0x0001_0000_0000_0001))
    );
    let mut v = Vec::new();
    encode_value(0, 0, b"v", &mut v);
    assert_eq!(v, hex(SPEC_VALUE));
    assert_eq!(decode_key(b"1234567"), None);
    assert_eq!(decode_key(&[0xFF; 8]), Some((&b""[..], 0)));
}

#[test]
fn writer_emits_spec_entry_bytes() {
    let mut w = PebbleStreamWriter::new(Vec::new(), 0x0001_0000_0000_0002).unwrap();
    w.write_mvcc(b"!redis|str|k", 0x0001_0000_0000_0001, 0, 0, b"v")
        .unwrap();
    assert_eq!(w.entries(), 1);
    assert_eq!(w.bytes_written(), 16 + 16 + 20 + 10);
    let out = w.finish().unwrap();
    assert_eq!(out, spec_stream());
}

#[test]
fn reader_decodes_spec_entry() {
    let bytes = spec_stream();
    let mut r = PebbleStreamReader::new(&bytes[..]).unwrap();
    assert_eq!(r.last_commit_ts(), 0x0001_0000_0000_0002);
    let e = r.next().unwrap().unwrap();
    let StreamEntry::Mvcc(m) = e else {
        panic!("expected an MVCC entry, got {e:?}")
    };
    assert_eq!(m.user_key, b"!redis|str|k");
    assert_eq!(m.encoded_key, &hex(SPEC_KEY)[..]);
    assert_eq!(m.commit_ts, 0x0001_0000_0000_0001);
    assert!(!m.tombstone);
    assert_eq!(m.expire_at, 0);
    assert_eq!(m.body, b"v");
    assert_eq!(m.offset, 16);
    assert_eq!(e.encoded_len(), 16 + 20 + 10);
    assert!(r.next().unwrap().is_none());
    assert!(r.next().unwrap().is_none());
    assert!(r.is_done());
    assert_eq!(r.entries(), 1);
    assert_eq!(r.offset(), bytes.len() as u64);
    assert_eq!(r.footer(), None);
}

#[test]
fn tombstone_and_expire_at_decode() {
    let mut k = Vec::new();
    encode_key(b"u", 5, &mut k);
    let mut v = Vec::new();
    encode_value(FLAG_TOMBSTONE, 0x1122_3344_5566_7788, b"", &mut v);
    assert_eq!(v, hex("01 8877665544332211"));
    let bytes = stream(&[entry(&k, &v)]);
    let mut r = PebbleStreamReader::new(&bytes[..]).unwrap();
    let Some(StreamEntry::Mvcc(m)) = r.next().unwrap() else {
        panic!("expected MVCC")
    };
    assert!(m.tombstone);
    assert_eq!(m.expire_at, 0x1122_3344_5566_7788);
    assert_eq!(m.commit_ts, 5);
    assert_eq!(m.body, b"");
}

#[test]
fn d3_raw_operational_rows_by_exact_match() {
    let mut reg = ENCRYPTION_WRITERS_PREFIX.to_vec();
    reg.extend_from_slice(&[0, 0, 0, 1, b'|', 0xAB, 0xCD]);
    assert_eq!(reg.len(), 27);
    let mut entries: Vec<Vec<u8>> = vec![entry(&reg, &[9u8; 12])];
    for k in RAW_META_KEYS {
        entries.push(entry(k, &42u64.to_le_bytes()));
    }
    let bytes = stream(&entries);
    let mut r = PebbleStreamReader::new(&bytes[..]).unwrap();
    let Some(StreamEntry::Raw(raw)) = r.next().unwrap() else {
        panic!("registry row must be raw")
    };
    assert_eq!((raw.key, raw.value, raw.offset), (&reg[..], &[9u8; 12][..], 16));
    for k in RAW_META_KEYS {
        let Some(StreamEntry::Raw(raw)) = r.next().unwrap() else {
            panic!("{k:?} must be raw")
        };
        assert_eq!(raw.key, k);
        assert_eq!(raw.value, 42u64.to_le_bytes());
    }
    assert!(r.next().unwrap().is_none());
}

#[test]
fn near_miss_raw_keys_are_mvcc_decoded() {
    // 28 bytes under the registry prefix: MVCC (user key `!encryption|writers|` + suffix).
    let mut k = Vec::new();
    encode_key(b"!encryption|writers|", 1, &mut k);
    assert_eq!(k.len(), 28);
    assert!(!is_raw_operational_key(&k));
    assert!(!is_raw_operational_key(b"_meta_applied_indexX"));
    assert!(!is_raw_operational_key(b"_meta_applied_inde"));
    // `_meta_applied_index` plus a short value would be raw; with one more byte it is
    // MVCC-framed and its 8-byte value is too short.
    let bytes = stream(&[entry(b"_meta_applied_indexX", &[0; 8])]);
    assert!(matches!(
        read_all(&bytes).unwrap_err(),
        ContainerError::ShortValue { len: 8, .. }
    ));
}

#[test]
fn header_errors() {
    for n in 0..8 {
        let e = PebbleStreamReader::new(&b"EKVPBBL1"[..n]).unwrap_err();
        assert!(
            matches!(e, ContainerError::Truncated { offset: 0, found, .. } if found == n as u64),
            "{e}"
        );
    }
    for n in 8..16 {
        let bytes = stream(&[]);
        let e = PebbleStreamReader::new(&bytes[..n]).unwrap_err();
        assert!(
            matches!(
                e,
                ContainerError::Truncated {
                    offset: 8,
                    what: "EKVPBBL1 last_commit_ts",
                    ..
                }
            ),
            "{e}"
        );
    }
    // Wrong magic wins over shortness once 8 bytes exist.
    let e = PebbleStreamReader::new(&b"EKVTHLC1"[..]).unwrap_err();
    assert!(matches!(e, ContainerError::BadMagic { offset: 0, .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::Data);
    let e = PebbleStreamReader::new(&b"EKVSSTI1\0\0\0\0\0\0\0\0"[..]).unwrap_err();
    assert!(e.to_string().contains("EKVSSTI1"), "{e}");
    let e = PebbleStreamReader::new(&b"EKVMVCC2\x01\0\0\0\0\0\0\0"[..]).unwrap_err();
    assert!(e.to_string().contains("EKVMVCC2"), "{e}");
    // A header alone is a valid empty stream.
    assert_eq!(read_all(&stream(&[])).unwrap(), (0, 0));
}

#[test]
fn truncation_at_every_byte_is_an_error_except_at_boundaries() {
    let mut k1 = Vec::new();
    encode_key(b"a", 1, &mut k1);
    let mut k2 = Vec::new();
    encode_key(b"b", 1, &mut k2);
    let e1 = entry(&k1, &hex("00 0000000000000000 41"));
    let e2 = entry(&k2, &hex("00 0000000000000000 42 43"));
    let full = stream(&[e1.clone(), e2]);
    let boundaries = [16, 16 + e1.len(), full.len()];
    for cut in 16..=full.len() {
        let r = read_all(&full[..cut]);
        if boundaries.contains(&cut) {
            assert!(r.is_ok(), "cut {cut}: {r:?}");
        } else {
            let e = r.unwrap_err();
            assert!(matches!(e, ContainerError::Truncated { .. }), "cut {cut}: {e}");
            assert_eq!(e.kind(), ErrorKind::Data);
        }
    }
    // Where: 0 bytes at valLen is truncation too.
    let cut = 16 + 8 + k1.len();
    let e = read_all(&full[..cut]).unwrap_err();
    assert!(
        matches!(e, ContainerError::Truncated { offset, what: "value length", found: 0, .. } if offset == cut as u64),
        "{e}"
    );
    let e = read_all(&full[..20]).unwrap_err();
    assert!(e.to_string().contains("offset 16"), "{e}");
    assert!(e.to_string().contains("key length"), "{e}");
}

#[test]
fn length_caps_are_inclusive_and_checked_before_reading() {
    // keyLen == cap with no bytes behind it: the cap check passes, then truncation.
    let mut b = stream(&[]);
    b.extend_from_slice(&MAX_ENCODED_KEY_LEN.to_le_bytes());
    assert!(matches!(
        read_all(&b).unwrap_err(),
        ContainerError::Truncated {
            what: "key bytes",
            found: 0,
            ..
        }
    ));
    for big in [MAX_ENCODED_KEY_LEN + 1, u64::MAX] {
        let mut b = stream(&[]);
        b.extend_from_slice(&big.to_le_bytes());
        let e = read_all(&b).unwrap_err();
        assert!(
            matches!(e, ContainerError::KeyTooLarge { offset: 16, len, .. } if len == big),
            "{e}"
        );
    }
    let mut k = Vec::new();
    encode_key(b"k", 1, &mut k);
    let mut b = stream(&[]);
    b.extend_from_slice(&(k.len() as u64).to_le_bytes());
    b.extend_from_slice(&k);
    let mut eq = b.clone();
    eq.extend_from_slice(&MAX_ENCODED_VALUE_LEN.to_le_bytes());
    assert!(matches!(
        read_all(&eq).unwrap_err(),
        ContainerError::Truncated {
            what: "value bytes",
            found: 0,
            ..
        }
    ));
    for big in [MAX_ENCODED_VALUE_LEN + 1, u64::MAX] {
        let mut over = b.clone();
        over.extend_from_slice(&big.to_le_bytes());
        let e = read_all(&over).unwrap_err();
        assert!(
            matches!(e, ContainerError::ValueTooLarge { offset: 33, len, .. } if len == big),
            "{e}"
        );
        assert!(e.to_string().contains("k\\x"), "names the key: {e}");
    }
}

#[test]
fn key_exactly_at_cap_is_accepted() {
    let user = vec![b'x'; (MAX_ENCODED_KEY_LEN - 8) as usize];
    let mut w = PebbleStreamWriter::new(Vec::new(), 1).unwrap();
    w.write_mvcc(&user, 1, 0, 0, b"").unwrap();
    let bytes = w.finish().unwrap();
    let mut r = PebbleStreamReader::new(&bytes[..]).unwrap();
    let Some(StreamEntry::Mvcc(m)) = r.next().unwrap() else {
        panic!("expected MVCC")
    };
    assert_eq!(m.encoded_key.len() as u64, MAX_ENCODED_KEY_LEN);
}

#[test]
fn entry_checks_run_in_spec_order() {
    let mut k = Vec::new();
    encode_key(b"key", 1, &mut k);
    let cases: Vec<(Vec<u8>, Vec<u8>, &str)> = vec![
        // Short key wins over short value.
        (b"abc".to_vec(), vec![0xFF], "short key"),
        (k.clone(), vec![0; 8], "short value"),
        // Reserved wins over encrypted (0x0A = encState 01 + bit 3).
        (k.clone(), hex("0A 0000000000000000"), "reserved"),
        (k.clone(), hex("08 0000000000000000"), "reserved"),
        (k.clone(), hex("04 0000000000000000"), "reserved"),
        (k.clone(), hex("06 0000000000000000"), "reserved"),
        (k.clone(), hex("80 0000000000000000"), "reserved"),
        (k.clone(), hex("02 0000000000000000 01"), "encrypted"),
        // Even a tombstone.
        (k.clone(), hex("03 0000000000000000"), "encrypted"),
    ];
    for (key, value, want) in cases {
        let e = read_all(&stream(&[entry(&key, &value)])).unwrap_err();
        let ok = match want {
            "short key" => matches!(
                e,
                ContainerError::ShortKey {
                    offset: 16,
                    len: 3,
                    ..
                }
            ),
            "short value" => matches!(
                e,
                ContainerError::ShortValue {
                    offset: 16,
                    len: 8,
                    ..
                }
            ),
            "reserved" => matches!(e, ContainerError::ReservedBits { offset: 16, .. }),
            _ => matches!(e, ContainerError::EncryptedEntry { offset: 16, .. }),
        };
        assert!(ok, "{want}: {e}");
        assert_eq!(e.kind(), ErrorKind::Data);
        assert!(e.to_string().contains("offset 16"), "{e}");
    }
}

#[test]
fn errors_stop_the_reader() {
    let bytes = stream(&[entry(b"abc", &[0; 9])]);
    let mut r = PebbleStreamReader::new(&bytes[..]).unwrap();
    assert!(r.next().is_err());
    assert!(r.current().is_none());
    let e = r.next().unwrap_err();
    assert!(matches!(e, ContainerError::AfterError { offset: 16 }), "{e}");
}

#[test]
fn trailer_footer_modes() {
    let mut k = Vec::new();
    encode_key(b"k", 3, &mut k);
    let body = stream(&[entry(&k, &hex("00 0000000000000000"))]);
    let crc = crc32c::crc32c(&body);
    let run = |bytes: &[u8], t: Trailer| -> Result<Option<FooterSeen>, ContainerError> {
        let mut r = PebbleStreamReader::from_peek_reader(PeekReader::new(bytes), t)?;
        while r.next()?.is_some() {}
        Ok(r.footer())
    };
    let mut good = body.clone();
    good.extend_from_slice(&crc.to_be_bytes());
    let mut bad = body.clone();
    bad.extend_from_slice(&(crc ^ 1).to_be_bytes());
    let end = body.len() as u64;
    let seen = |stored| {
        Some(FooterSeen {
            offset: end,
            stored,
            computed: crc,
        })
    };
    assert_eq!(run(&good, Trailer::Footer).unwrap(), seen(crc));
    assert_eq!(run(&good, Trailer::MaybeFooter).unwrap(), seen(crc));
    // Footer mode leaves the mismatch to the verifier.
    assert_eq!(run(&bad, Trailer::Footer).unwrap(), seen(crc ^ 1));
    let e = run(&bad, Trailer::MaybeFooter).unwrap_err();
    assert!(
        matches!(e, ContainerError::TruncatedOrBadFooter { offset, found, computed } if offset == end && found == crc ^ 1 && computed == crc),
        "{e}"
    );
    assert!(matches!(
        run(&good, Trailer::None).unwrap_err(),
        ContainerError::Truncated { found: 4, .. }
    ));
    assert_eq!(run(&body, Trailer::MaybeFooter).unwrap(), None);
    assert_eq!(run(&body, Trailer::None).unwrap(), None);
    assert!(matches!(
        run(&body, Trailer::Footer).unwrap_err(),
        ContainerError::MissingFooter { offset } if offset == end
    ));
}

#[test]
fn writer_rejects_unsorted_duplicate_and_oversized() {
    let mut w = PebbleStreamWriter::new(Vec::new(), 1).unwrap();
    w.write_entry(b"b-------", &[0; 9]).unwrap();
    let e = w.write_entry(b"b-------", &[0; 9]).unwrap_err();
    assert!(e.to_string().contains("duplicate"), "{e}");
    let e = w.write_entry(b"a-------", &[0; 9]).unwrap_err();
    assert!(matches!(e, ContainerError::EncodeOrder { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::Data);
    let user = vec![b'x'; (MAX_ENCODED_KEY_LEN - 7) as usize];
    let e = w.write_mvcc(&user, 1, 0, 0, b"").unwrap_err();
    assert!(
        matches!(
            e,
            ContainerError::EncodeTooLarge {
                what: "encoded key",
                ..
            }
        ),
        "{e}"
    );
    // calloc'd, never touched: the length check runs before any write.
    let huge = vec![0u8; (MAX_ENCODED_VALUE_LEN + 1) as usize];
    let e = w.write_entry(b"c-------", &huge).unwrap_err();
    assert!(
        matches!(
            e,
            ContainerError::EncodeTooLarge {
                what: "encoded value",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(w.entries(), 1);
}

#[test]
fn writer_io_errors_are_usage_errors() {
    #[derive(Debug)]
    struct Full(usize);
    impl std::io::Write for Full {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.0 < b.len() {
                return Err(std::io::Error::other("disk full"));
            }
            self.0 -= b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("flush failed"))
        }
    }
    let e = PebbleStreamWriter::new(Full(3), 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    let mut w = PebbleStreamWriter::new(Full(20), 0).unwrap();
    let e = w.write_entry(b"12345678", &[0; 9]).unwrap_err();
    assert!(matches!(e, ContainerError::Write { .. }), "{e}");
    assert!(w.finish().is_err());
}

#[test]
fn entries_are_lent_in_place_and_large_ones_through_reused_buffers() {
    let mut w = PebbleStreamWriter::new(Vec::new(), 1).unwrap();
    for i in 0u32..1000 {
        w.write_mvcc(format!("key-{i:06}").as_bytes(), 9, 0, 0, &[7u8; 100])
            .unwrap();
    }
    for i in 0u32..3 {
        w.write_mvcc(format!("large-{i}").as_bytes(), 9, 0, 0, &[8u8; 300])
            .unwrap();
    }
    let bytes = w.finish().unwrap();
    let mut r = PebbleStreamReader::from_peek_reader(
        PeekReader::with_capacity(256, &bytes[..]).without_crc(),
        Trailer::None,
    )
    .unwrap();
    let mut large = std::collections::HashSet::new();
    while let Some(StreamEntry::Mvcc(m)) = r.next().unwrap() {
        let (k, b) = (m.encoded_key.as_ptr() as usize, m.body.as_ptr() as usize);
        if m.body.len() == 100 {
            // key ‖ u64le value length ‖ 9-byte value header ‖ body, as in the input
            assert_eq!(b, k + m.encoded_key.len() + 8 + 9, "lent from the input buffer");
        } else {
            large.insert((k, b));
        }
    }
    assert_eq!(r.entries(), 1003);
    assert_eq!(
        large.len(),
        1,
        "the same two buffers are lent for every large entry"
    );
}

/// A reader that returns one byte per call.
struct OneByte<'a>(&'a [u8]);
impl std::io::Read for OneByte<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), out.first_mut()) {
            (Some((b, rest)), Some(o)) => {
                *o = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

type Model = Vec<(Vec<u8>, u64, u8, u64, Vec<u8>)>;

fn arb_entries() -> impl Strategy<Value = Model> {
    proptest::collection::btree_map(
        (proptest::collection::vec(any::<u8>(), 0..24), any::<u64>()),
        (
            prop_oneof![Just(0u8), Just(1u8)],
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..64),
        ),
        0..40,
    )
    .prop_map(|m| {
        let mut v: Model = m
            .into_iter()
            .map(|((k, ts), (f, e, b))| (k, ts, f, e, b))
            .collect();
        v.sort_by_key(|(k, ts, ..)| {
            let mut enc = Vec::new();
            encode_key(k, *ts, &mut enc);
            enc
        });
        v.dedup_by_key(|(k, ts, ..)| {
            let mut enc = Vec::new();
            encode_key(k, *ts, &mut enc);
            enc
        });
        v
    })
}

proptest! {
    #[test]
    fn round_trip(entries in arb_entries(), ts in any::<u64>(), one_byte in any::<bool>()) {
        let mut w = PebbleStreamWriter::new(Vec::new(), ts).unwrap();
        for (k, t, f, e, b) in &entries {
            w.write_mvcc(k, *t, *f, *e, b).unwrap();
        }
        let bytes = w.finish().unwrap();
        let mut got: Model = Vec::new();
        let mut check = |r: &mut PebbleStreamReader<_>| {
            while let Some(e) = r.next().unwrap() {
                match e {
                    StreamEntry::Mvcc(m) => got.push((
                        m.user_key.to_vec(), m.commit_ts, u8::from(m.tombstone), m.expire_at, m.body.to_vec(),
                    )),
                    StreamEntry::Raw(r) => panic!("unexpected raw {:?}", r.key),
                }
            }
        };
        let mut r: PebbleStreamReader<Box<dyn std::io::Read + '_>> = if one_byte {
            PebbleStreamReader::from_peek_reader(
                PeekReader::with_capacity(64, Box::new(OneByte(&bytes)) as Box<dyn std::io::Read>), Trailer::None).unwrap()
        } else {
            PebbleStreamReader::new(Box::new(&bytes[..]) as Box<dyn std::io::Read>).unwrap()
        };
        prop_assert_eq!(r.last_commit_ts(), ts);
        check(&mut r);
        prop_assert_eq!(got, entries);
    }
}

#[test]
fn an_entry_is_framed_only_when_all_of_it_is_there_within_the_caps() {
    let e = entry(b"key-and-ts", b"123456789v");
    let total = e.len();
    assert_eq!(total, 8 + 10 + 8 + 10);
    assert_eq!(frame(&e, total), Some((total, 10)));
    assert_eq!(frame(&[&e[..], b"next"].concat(), 64), Some((total, 10)));
    assert_eq!(frame(&e, total - 1), None, "larger than the capacity");
    for cut in 0..total {
        assert_eq!(frame(&e[..cut], 64), None, "{cut} of {total} bytes");
    }
    let mut long_key = e.clone();
    long_key[..8].copy_from_slice(&(MAX_ENCODED_KEY_LEN + 1).to_le_bytes());
    assert_eq!(frame(&long_key, usize::MAX), None);
    let mut long_value = e.clone();
    long_value[18..26].copy_from_slice(&(MAX_ENCODED_VALUE_LEN + 1).to_le_bytes());
    assert_eq!(frame(&long_value, usize::MAX), None);
}
