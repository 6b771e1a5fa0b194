use std::io::Write;

use super::*;
use crate::container::sst::writer::{TableOptions, TableWriter};

fn table_bytes(n: usize, opts: TableOptions) -> Vec<u8> {
    let mut w = TableWriter::new(Vec::new(), opts);
    for i in 0..n {
        w.add(format!("key{i:06}").as_bytes(), &[b'v'; 30]).unwrap();
    }
    w.finish().unwrap().0
}

fn file(bytes: &[u8]) -> File {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(bytes).unwrap();
    f
}

fn open(bytes: &[u8]) -> Result<Table, ContainerError> {
    Table::open(&file(bytes), 0, bytes.len() as u64, 1000, "000000.sst")
}

/// Every (user key, value) of a table, reading data blocks by position.
type Kv = (Vec<u8>, Vec<u8>);

fn entries(bytes: &[u8]) -> Result<Vec<Kv>, ContainerError> {
    let f = file(bytes);
    let mut t = Table::open(&f, 0, bytes.len() as u64, 0, "000000.sst")?;
    let mut out = Vec::new();
    while let Some(h) = t.next_data_block(&f)? {
        let mut raw = vec![0; h.len_with_trailer() as usize];
        f.read_exact_at(&mut raw, h.offset).unwrap();
        t.load_data_block(&raw, h)?;
        while t.next_entry()? {
            out.push((t.user_key().to_vec(), t.value().to_vec()));
        }
    }
    Ok(out)
}

fn problem(e: &ContainerError) -> (&'static str, String) {
    match e {
        ContainerError::SstTable { block, problem, .. } => (block, problem.clone()),
        other => panic!("not an SstTable error: {other}"),
    }
}

#[test]
fn masked_crc_matches_pebble() {
    // Pebble's crc.New(b).Update([]byte{t}).Value() for b = "hello", t = 1.
    let c = crc32c::crc32c(b"hello\x01");
    assert_eq!(
        masked_crc32c(b"hello", 1),
        c.rotate_right(15).wrapping_add(0xa282_ead8)
    );
    assert_ne!(masked_crc32c(b"hello", 1), masked_crc32c(b"hello", 0));
}

#[test]
fn tables_read_back_with_every_index_and_compression() {
    for opts in [
        TableOptions::default(),
        TableOptions {
            snappy: false,
            index_partition: None,
        },
        TableOptions {
            snappy: true,
            index_partition: Some(2),
        },
    ] {
        let bytes = table_bytes(500, opts);
        let got = entries(&bytes).unwrap();
        assert_eq!(got.len(), 500);
        assert_eq!(got[7].0, b"key000007");
        assert_eq!(got[7].1, [b'v'; 30]);
        let t = open(&bytes).unwrap();
        assert_eq!(t.props().entries, 500);
        assert_eq!(t.props().two_level_index, opts.index_partition.is_some());
        assert!(t.props().data_blocks > 2);
    }
}

#[test]
fn footer_problems_are_named() {
    let good = table_bytes(10, TableOptions::default());
    let n = good.len();
    let mut bad = good.clone();
    bad[n - 1] ^= 1;
    let (block, p) = problem(&open(&bad).unwrap_err());
    assert_eq!(block, "footer");
    assert!(p.contains("magic"), "{p}");
    for (version, ok) in [(2u32, false), (3, true), (5, false)] {
        let mut b = good.clone();
        b[n - 12..n - 8].copy_from_slice(&version.to_le_bytes());
        match open(&b) {
            Ok(_) => assert!(ok, "v{version}"),
            Err(e) => assert!(!ok && problem(&e).1.contains(&format!("v{version}")), "{e}"),
        }
    }
    let mut b = good.clone();
    b[n - 53] = 3;
    assert!(problem(&open(&b).unwrap_err()).1.contains("checksum type 3"));
    let e = open(&good[..20]).unwrap_err();
    assert!(problem(&e).1.contains("shorter than its 53-byte footer"), "{e}");
    let e = open(&good[1..]).unwrap_err();
    assert!(matches!(e, ContainerError::SstTable { .. }), "{e}");
}

#[test]
fn block_checksums_and_compression_types_are_checked() {
    let good = table_bytes(200, TableOptions::default());
    // A byte inside the first data block.
    let mut bad = good.clone();
    bad[10] ^= 0x40;
    let e = entries(&bad).unwrap_err();
    let (block, p) = problem(&e);
    assert_eq!(block, "data block");
    assert!(p.contains("checksum mismatch"), "{p}");
    assert!(e.to_string().contains("000000.sst"), "{e}");
    // A valid checksum over an unknown compression type.
    let f = file(&good);
    let mut t = Table::open(&f, 0, good.len() as u64, 0, "000000.sst").unwrap();
    let h = t.next_data_block(&f).unwrap().unwrap();
    let mut raw = good[..h.len_with_trailer() as usize].to_vec();
    let body_len = h.length as usize;
    raw[body_len] = 7;
    let crc = masked_crc32c(&raw[..body_len], 7);
    raw[body_len + 1..].copy_from_slice(&crc.to_le_bytes());
    let p = problem(&t.load_data_block(&raw, h).unwrap_err()).1;
    assert!(p.contains("compression type 7"), "{p}");
}

/// A block with a valid trailer around `contents`.
fn sealed(contents: &[u8]) -> Vec<u8> {
    let mut raw = contents.to_vec();
    raw.push(0);
    raw.extend_from_slice(&masked_crc32c(contents, 0).to_le_bytes());
    raw
}

/// Iterate a row block of `contents` to its end: the first problem found.
fn row_block(contents: &[u8]) -> Result<usize, String> {
    let mut b = RowBlock {
        data: contents.to_vec(),
        ..Default::default()
    };
    b.start()?;
    let mut n = 0;
    while b.next()? {
        n += 1;
    }
    Ok(n)
}

#[test]
fn row_block_structure_is_checked() {
    assert_eq!(
        row_block(&[0, 1, 0, b'a', 1, 1, 0, b'b', 0, 0, 0, 0, 1, 0, 0, 0]),
        Ok(2)
    );
    let err = |c: &[u8]| row_block(c).unwrap_err();
    assert!(err(&[1, 2]).contains("no restart count"));
    assert!(err(&[0, 0, 0, 0]).contains("restart count 0"));
    assert!(err(&[9, 0, 0, 0]).contains("restart count 9"));
    // A key running past the entries.
    assert!(err(&[0, 50, 0, 0, 0, 0, 0, 1, 0, 0, 0]).contains("overrun"));
    // A restart point that shares a prefix, and one in the middle of an entry.
    assert!(err(&[3, 1, 0, b'a', 0, 0, 0, 0, 1, 0, 0, 0]).contains("shares a key prefix"));
    assert!(err(&[0, 1, 0, b'a', 1, 0, 0, 0, 1, 0, 0, 0]).contains("not the start of an entry"));
    // A restart point past the last entry.
    assert!(err(&[0, 1, 0, b'a', 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0]).contains("restart point 1"));
    // A second entry sharing more than the first key has.
    assert!(err(&[0, 1, 0, b'a', 5, 1, 0, b'b', 0, 0, 0, 0, 1, 0, 0, 0]).contains("shares 5 key bytes"));
    // A truncated varint.
    assert!(err(&[0x80, 0, 0, 0, 0, 1, 0, 0, 0]).contains("varint"));
    // Through a table, a structure problem is named as a data-block error.
    let good = table_bytes(3, TableOptions::default());
    let f = file(&good);
    let mut t = Table::open(&f, 0, good.len() as u64, 0, "000000.sst").unwrap();
    let h = t.next_data_block(&f).unwrap().unwrap();
    let contents = [0u8, 0, 0, 0];
    let h = BlockHandle {
        offset: h.offset,
        length: contents.len() as u64,
    };
    let (block, p) = problem(&t.load_data_block(&sealed(&contents), h).unwrap_err());
    assert_eq!(block, "data block");
    assert!(p.contains("restart count 0"), "{p}");
}

#[test]
fn data_blocks_must_be_contiguous_and_counted() {
    let good = table_bytes(200, TableOptions::default());
    let f = file(&good);
    let mut t = Table::open(&f, 0, good.len() as u64, 0, "000000.sst").unwrap();
    let first = t.next_data_block(&f).unwrap().unwrap();
    assert_eq!(first.offset, 0);
    // Skip loading the first block: the second handle is where it should be...
    let second = t.next_data_block(&f).unwrap().unwrap();
    assert_eq!(second.offset, first.len_with_trailer());
    // ...and a table whose index is read to the end without loading blocks has counted none.
    while t.next_data_block(&f).unwrap().is_some() {}
    let mut t = Table::open(&f, 0, good.len() as u64, 0, "000000.sst").unwrap();
    t.next_data = 1;
    let p = problem(&t.next_data_block(&f).unwrap_err()).1;
    assert!(p.contains("contiguous"), "{p}");
}

#[test]
fn kind_names_follow_pebble() {
    assert_eq!(kind_name(0), "DEL");
    assert_eq!(kind_name(1), "SET");
    assert_eq!(kind_name(18), "SETWITHDEL");
    assert_eq!(kind_name(23), "DELSIZED");
    assert_eq!(kind_name(0x41), "obsolete-marked");
    assert_eq!(kind_name(60), "unknown");
}
