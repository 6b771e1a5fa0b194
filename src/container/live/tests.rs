use super::*;
use crate::container::header::HeaderLatch;
use crate::container::pebble::PebbleStreamWriter;
use crate::error_kind::ErrorKind;

/// Payload: `EKVPBBL1`, ts 77, three entries (one raw).
fn payload() -> Vec<u8> {
    let mut w = PebbleStreamWriter::new(Vec::new(), 77).unwrap();
    w.write_mvcc(b"!redis|str|a", 5, 0, 0, b"AAAA").unwrap();
    w.write_mvcc(b"!redis|str|b", 6, 1, 0, b"").unwrap();
    w.write_entry(b"_meta_last_commit_ts", &77u64.to_le_bytes())
        .unwrap();
    w.finish().unwrap()
}

/// `header || body || u32be crc32c`.
fn live(header: Option<FsmHeader>, body: &[u8]) -> Vec<u8> {
    let mut w = Crc32cWriter::new(Vec::new());
    if let Some(h) = header {
        h.write_to(&mut w).unwrap();
    }
    w.write_all(body).unwrap();
    w.finish_with_footer().unwrap()
}

fn open<'a>(bytes: &'a [u8], name: &str) -> Result<SnapshotFile<&'a [u8]>, ContainerError> {
    SnapshotFile::from_reader(bytes, Path::new(name), Some(bytes.len() as u64))
}

fn count(f: &mut SnapshotFile<&[u8]>) -> Result<usize, ContainerError> {
    let mut n = 0;
    while f.next()?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[test]
fn d4_snapshot_index_from_path() {
    let cases: &[(&str, Option<u64>)] = &[
        ("fsm-snap/0000000000002710.fsm", Some(10_000)),
        ("0000000000004e20.fsm", Some(20_000)),
        ("0000000000000064.fsm", Some(100)),
        ("00000000000000FF.fsm", Some(255)),
        ("ffffffffffffffff.fsm", Some(u64::MAX)),
        ("123.fsm", Some(123)),
        ("42", Some(42)),
        ("00000000000027100.fsm", Some(27_100)),
        ("99999999999999999999.fsm", None),
        ("snapshot.fsm", None),
        ("0000000000002710.fsm.tmp", None),
        ("000000000000271g.fsm", None),
        (".fsm", None),
    ];
    for (name, want) in cases {
        assert_eq!(snapshot_index_from_path(Path::new(name)), *want, "{name}");
    }
}

#[test]
fn d2_live_v2_file_streams_and_verifies() {
    let latch_header = HeaderLatch::new().decide(1234, 9).header;
    let bytes = live(Some(latch_header), &payload());
    let mut f = open(&bytes, "fsm-snap/000000000000000a.fsm").unwrap();
    let info = f.info().clone();
    assert_eq!(info.header, Some(FsmHeader::v2(1234, 9)));
    assert_eq!(info.framing, Framing::Live);
    assert_eq!(info.payload, PayloadFormat::Pebble);
    assert_eq!(info.last_commit_ts, Some(77));
    assert_eq!(info.footer_present, Some(true));
    assert_eq!(info.snapshot_index, Some(10));
    assert_eq!(info.file_size, Some(bytes.len() as u64));
    assert_eq!(f.current(), None);
    let first = f.next().unwrap().unwrap();
    assert_eq!(first.offset(), 26 + 16, "offsets are file offsets");
    assert_eq!(
        f.current().map(|e| e.offset()),
        Some(42),
        "current lends it again"
    );
    assert_eq!(count(&mut f).unwrap(), 2);
    let report = f.finish().unwrap();
    assert_eq!(f.current(), None, "nothing current after the end");
    let crc = crc32c::crc32c(&bytes[..bytes.len() - 4]);
    assert_eq!(report.footer, Some(crc));
    assert_eq!(report.computed, crc);
    assert_eq!(report.entries, 3);
    assert_eq!(report.bytes, bytes.len() as u64);
    assert_eq!(f.finish().unwrap(), report, "finish is idempotent");
}

#[test]
fn d2_footer_mismatch_is_a_data_error_at_finish() {
    let mut bytes = live(Some(FsmHeader::v1(1)), &payload());
    let n = bytes.len();
    // Flip a bit of the first value body ("AAAA"), which no parser check covers.
    let at = bytes.windows(4).position(|w| w == b"AAAA").unwrap();
    bytes[at] ^= 0x01;
    let mut f = open(&bytes, "x.fsm").unwrap();
    assert_eq!(count(&mut f).unwrap(), 3);
    let e = f.finish().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data);
    let stored = u32::from_be_bytes(bytes[n - 4..].try_into().unwrap());
    let computed = crc32c::crc32c(&bytes[..n - 4]);
    assert!(
        matches!(e.root(), ContainerError::FooterMismatch { offset, expected, computed: c }
            if *offset == (n - 4) as u64 && *expected == stored && *c == computed),
        "{e}"
    );
    let msg = e.to_string();
    assert!(msg.starts_with("x.fsm: "), "{msg}");
    assert!(msg.contains(&format!("{stored:08x}")), "{msg}");
    // The footer itself corrupted.
    let mut bytes = live(Some(FsmHeader::v1(1)), &payload());
    bytes[n - 1] ^= 0xFF;
    assert!(open(&bytes, "y.fsm").unwrap().finish().is_err());
}

#[test]
fn headerless_live_file_and_bare_stream() {
    let body = payload();
    let with_footer = live(None, &body);
    let mut f = open(&with_footer, "0000000000000003.fsm").unwrap();
    assert_eq!(f.info().framing, Framing::Headerless);
    assert_eq!(f.info().footer_present, None, "not known before the end");
    assert_eq!(count(&mut f).unwrap(), 3);
    assert_eq!(f.info().footer_present, Some(true));
    let r = f.finish().unwrap();
    assert_eq!(r.footer, Some(crc32c::crc32c(&body)));

    let mut f = open(&body, "out.fsm").unwrap();
    let r = f.finish().unwrap();
    assert_eq!(f.info().footer_present, Some(false));
    assert_eq!(r.footer, None);
    assert_eq!(r.computed, crc32c::crc32c(&body));
    assert_eq!(r.entries, 3);

    // A headerless file whose last 4 bytes do not match: truncation, named with the file.
    let mut bad = with_footer.clone();
    let n = bad.len();
    bad[n - 2] ^= 0x10;
    let e = open(&bad, "b.fsm").unwrap().finish().unwrap_err();
    assert!(
        matches!(e.root(), ContainerError::TruncatedOrBadFooter { offset, .. } if *offset == body.len() as u64),
        "{e}"
    );
    assert!(e.to_string().starts_with("b.fsm: "), "{e}");
}

#[test]
fn header_requires_footer() {
    let mut bytes = FsmHeader::v1(5).to_bytes();
    bytes.extend_from_slice(&payload());
    let mut f = open(&bytes, "nofooter.fsm").unwrap();
    let e = count(&mut f).unwrap_err();
    assert!(
        matches!(e.root(), ContainerError::MissingFooter { offset } if *offset == bytes.len() as u64),
        "{e}"
    );
    assert!(e.to_string().contains("nofooter.fsm"), "{e}");
}

#[test]
fn empty_payloads() {
    // Header + 0 payload bytes + footer: a valid empty store.
    for h in [FsmHeader::v1(3), FsmHeader::v2(3, 4)] {
        let bytes = live(Some(h), b"");
        let mut f = open(&bytes, "e.fsm").unwrap();
        assert_eq!(f.info().payload, PayloadFormat::Empty);
        assert_eq!(f.info().last_commit_ts, None);
        assert_eq!(f.info().footer_present, Some(true));
        assert!(f.next().unwrap().is_none());
        let r = f.finish().unwrap();
        assert_eq!(r.entries, 0);
        assert_eq!(r.bytes, bytes.len() as u64);
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        let e = open(&bad, "e.fsm").unwrap().finish().unwrap_err();
        assert!(matches!(e.root(), ContainerError::FooterMismatch { .. }), "{e}");
    }
    // Headerless: exactly the footer of nothing (CRC32C("") = 0).
    let f = open(&[0, 0, 0, 0], "h.fsm").unwrap();
    assert_eq!(f.info().payload, PayloadFormat::Empty);
    let e = open(&[0, 0, 0, 1], "h.fsm").unwrap_err();
    assert!(
        matches!(e.root(), ContainerError::TruncatedOrBadFooter { .. }),
        "{e}"
    );
    // A 0-byte file is not a snapshot.
    let e = open(&[], "z.fsm").unwrap_err();
    assert!(
        matches!(e.root(), ContainerError::Truncated { found: 0, .. }),
        "{e}"
    );
}

#[test]
fn short_payloads_are_errors() {
    for n in 1..=7 {
        let bytes = live(Some(FsmHeader::v1(0)), &b"EKVPBBL1"[..n]);
        let e = open(&bytes, "s.fsm").unwrap_err();
        assert!(
            matches!(e.root(), ContainerError::Truncated { offset: 16, found, .. } if *found == n as u64),
            "{n}: {e}"
        );
        assert_eq!(e.kind(), ErrorKind::Data);
    }
    for n in [1, 2, 3, 5, 6, 7] {
        let e = open(&b"EKVPBBL1"[..n], "s.fsm").unwrap_err();
        assert!(matches!(e.root(), ContainerError::Truncated { .. }), "{e}");
    }
    // Header followed by fewer than 4 bytes: no room for the footer.
    let mut bytes = FsmHeader::v1(0).to_bytes();
    bytes.extend_from_slice(&[1, 2]);
    let e = open(&bytes, "s.fsm").unwrap_err();
    assert!(
        matches!(
            e.root(),
            ContainerError::Truncated {
                what: "CRC32C footer",
                ..
            }
        ),
        "{e}"
    );
    let e = open(&FsmHeader::v1(0).to_bytes(), "s.fsm").unwrap_err();
    assert!(
        matches!(e.root(), ContainerError::MissingFooter { offset: 16 }),
        "{e}"
    );
}

#[test]
fn d10_other_payload_formats_are_refused_by_name() {
    // EKVSSTI1 is read now (A16): these 48 bytes are a bundle with a bad manifest length.
    let mut body = b"EKVSSTI1".to_vec();
    body.extend_from_slice(&[0; 40]);
    let e = open(&live(Some(FsmHeader::v2(1, 2)), &body), "f.fsm").unwrap_err();
    assert!(
        matches!(e.root(), ContainerError::SstManifest { offset: 34, .. }),
        "{e}"
    );
    for (magic, name) in [(b"EKVMVCC2", "EKVMVCC2")] {
        let mut body = magic.to_vec();
        body.extend_from_slice(&[0; 40]);
        for h in [Some(FsmHeader::v2(1, 2)), None] {
            let bytes = live(h, &body);
            let e = open(&bytes, "f.fsm").unwrap_err();
            assert!(
                matches!(e.root(), ContainerError::UnsupportedFormat { .. }),
                "{e}"
            );
            assert!(e.to_string().contains(name), "{e}");
            assert_eq!(e.kind(), ErrorKind::Data);
        }
    }
    let e = open(&live(Some(FsmHeader::v1(0)), b"GOBSTUFF12345678"), "g.fsm").unwrap_err();
    assert!(
        matches!(e.root(), ContainerError::BadMagic { offset: 16, .. }),
        "{e}"
    );
    let e = open(b"EKVTHLC7xxxxxxxxxxxxxxxx", "u.fsm").unwrap_err();
    assert!(
        matches!(e.root(), ContainerError::HeaderUnknownMagic { .. }),
        "{e}"
    );
}

#[test]
fn directories_pick_the_newest_and_ignore_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let fsm = dir.path().join(FSM_SNAP_DIR);
    std::fs::create_dir(&fsm).unwrap();
    let bytes = live(Some(FsmHeader::v1(0)), &payload());
    for name in [
        "0000000000000001.fsm",
        "000000000000000a.fsm",
        "0000000000000002.fsm",
    ] {
        std::fs::write(fsm.join(name), &bytes).unwrap();
    }
    std::fs::write(fsm.join("00000000000000ff.fsm.tmp"), b"junk").unwrap();
    std::fs::write(fsm.join("elastickv-etcd-snapshot-123"), b"junk").unwrap();
    std::fs::write(fsm.join("notes.fsm"), b"junk").unwrap();
    std::fs::create_dir(fsm.join("00000000000000fe.fsm")).unwrap();

    let list = list_fsm_snapshots(&fsm).unwrap();
    let idx: Vec<u64> = list.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, [1, 2, 10]);
    // A raft data dir holding fsm-snap/ works too.
    assert_eq!(list_fsm_snapshots(dir.path()).unwrap(), list);
    let newest = newest_fsm_snapshot(&fsm).unwrap();
    assert!(newest.ends_with("000000000000000a.fsm"));
    assert_eq!(resolve_inputs(&fsm, false).unwrap(), vec![newest.clone()]);
    assert_eq!(resolve_inputs(&fsm, true).unwrap().len(), 3);
    assert_eq!(resolve_inputs(&newest, true).unwrap(), vec![newest.clone()]);

    let mut f = SnapshotFile::open(&fsm).unwrap();
    assert_eq!(f.info().snapshot_index, Some(10));
    assert_eq!(f.info().path, newest);
    assert_eq!(f.finish().unwrap().entries, 3);

    let empty = tempfile::tempdir().unwrap();
    for e in [
        newest_fsm_snapshot(empty.path()).unwrap_err(),
        resolve_inputs(empty.path(), true).unwrap_err(),
        SnapshotFile::open(empty.path()).unwrap_err(),
    ] {
        assert!(matches!(e, ContainerError::NoSnapshots { .. }), "{e}");
        assert_eq!(e.kind(), ErrorKind::Usage);
    }
    let missing = empty.path().join("missing.fsm");
    for e in [
        resolve_inputs(&missing, false).unwrap_err(),
        SnapshotFile::open(&missing).unwrap_err(),
        list_fsm_snapshots(&missing).unwrap_err(),
    ] {
        assert!(matches!(e, ContainerError::Open { .. }), "{e}");
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("missing.fsm"), "{e}");
    }
}

#[test]
fn read_errors_name_file_and_offset() {
    #[derive(Debug)]
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("EIO"))
        }
    }
    let e = SnapshotFile::from_reader(Broken, Path::new("io.fsm"), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    let msg = e.to_string();
    assert!(
        msg.contains("io.fsm") && msg.contains("offset 0") && msg.contains("EIO"),
        "{msg}"
    );
}

#[test]
fn crc_writer_counts_bytes() {
    let mut w = Crc32cWriter::new(Vec::new());
    w.write_all(b"123456789").unwrap();
    w.flush().unwrap();
    assert_eq!(w.crc(), 0xE306_9283, "CRC32C check value");
    assert_eq!(w.bytes(), 9);
    let out = w.finish_with_footer().unwrap();
    assert_eq!(&out[9..], &[0xE3, 0x06, 0x92, 0x83]);
}

/// Everything a reader yields for `bytes`: each entry (offset, encoded length), then the
/// footer report or the error, as text.
fn outcome<R: Read>(opened: Result<SnapshotFile<R>, ContainerError>) -> (Vec<(u64, u64)>, String) {
    let mut f = match opened {
        Ok(f) => f,
        Err(e) => return (Vec::new(), format!("{e} / {e:?}")),
    };
    let mut seen = Vec::new();
    loop {
        match f.next() {
            Ok(Some(e)) => seen.push((e.offset(), e.encoded_len())),
            Ok(None) => break,
            Err(e) => return (seen, format!("{e} / {e:?}")),
        }
    }
    let end = match f.finish() {
        Ok(r) => format!("{r:?}"),
        Err(e) => format!("{e} / {e:?}"),
    };
    (seen, end)
}

fn read_ahead_file(bytes: &[u8], block: usize) -> Result<SnapshotFile<io::Cursor<Vec<u8>>>, ContainerError> {
    let path = Path::new("0000000000000001.fsm");
    let input =
        PeekReader::read_ahead_with(io::Cursor::new(bytes.to_vec()), block, block).map_err(|source| {
            ContainerError::Open {
                path: path.to_path_buf(),
                source,
            }
        })?;
    SnapshotFile::sniff(input, path, Some(bytes.len() as u64), None).map_err(|e| e.in_file(path))
}

/// A live file whose entries span 64-byte blocks, some in place, some larger than a block.
fn block_spanning_file() -> Vec<u8> {
    let mut w = PebbleStreamWriter::new(Vec::new(), 77).unwrap();
    for (i, size) in [0usize, 3, 20, 40, 90, 5, 200, 31, 1].into_iter().enumerate() {
        let key = format!("!redis|str|k{i}");
        w.write_mvcc(key.as_bytes(), 5, (i % 2) as u8, 0, &vec![i as u8; size])
            .unwrap();
    }
    w.write_entry(b"_meta_applied_index", &5u64.to_le_bytes())
        .unwrap();
    live(Some(FsmHeader::v2(9, 3)), &w.finish().unwrap())
}

#[test]
fn read_ahead_reports_every_corruption_as_the_inline_reader_does() {
    let good = block_spanning_file();
    let inline = |b: &[u8]| {
        outcome(SnapshotFile::from_reader(
            io::Cursor::new(b.to_vec()),
            Path::new("0000000000000001.fsm"),
            Some(b.len() as u64),
        ))
    };
    let small = |b: &[u8]| {
        outcome(
            SnapshotFile::sniff(
                PeekReader::with_capacity(64, io::Cursor::new(b.to_vec())),
                Path::new("0000000000000001.fsm"),
                Some(b.len() as u64),
                None,
            )
            .map_err(|e| e.in_file("0000000000000001.fsm")),
        )
    };
    let (entries, end) = inline(&good);
    assert_eq!(entries.len(), 10);
    assert!(end.starts_with("FooterReport"), "{end}");
    let mut mismatches = 0;
    let mut variants = vec![good.clone()];
    for at in 0..good.len() {
        let mut flipped = good.clone();
        flipped[at] ^= 0x5A;
        variants.push(flipped);
        variants.push(good[..at].to_vec());
    }
    for bytes in &variants {
        let want = inline(bytes);
        if want.1.contains("FooterMismatch") {
            mismatches += 1;
        }
        for block in [64, 80, 4096] {
            assert_eq!(
                outcome(read_ahead_file(bytes, block)),
                want,
                "block {block}, {} bytes",
                bytes.len()
            );
        }
        assert_eq!(small(bytes), want);
    }
    assert!(
        mismatches > 100,
        "flips inside values are caught by the footer: {mismatches}"
    );
}
