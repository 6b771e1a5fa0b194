use std::io::Write;
use std::path::Path;

use super::*;
use crate::container::sst::writer::{self, bundle_bytes, TableOptions, TableWriter};
use crate::container::{encode_key, encode_value, Crc32cWriter, FsmHeader, SnapshotFile};
use crate::ErrorKind;

type Kv = (Vec<u8>, Vec<u8>);

fn mvcc(user: &str, ts: u64, body: &[u8]) -> Kv {
    let (mut k, mut v) = (Vec::new(), Vec::new());
    encode_key(user.as_bytes(), ts, &mut k);
    encode_value(0, 0, body, &mut v);
    (k, v)
}

/// Two tables: 300 string keys (several data blocks) and the raw `_meta_` row.
fn tables() -> Vec<Vec<Kv>> {
    let first = (0..300)
        .map(|i| mvcc(&format!("!redis|str|key{i:05}"), 10 + i, &[b'x'; 40]))
        .collect();
    let second = vec![(b"_meta_last_commit_ts".to_vec(), 99u64.to_le_bytes().to_vec())];
    vec![first, second]
}

fn live(body: &[u8]) -> Vec<u8> {
    let mut w = Crc32cWriter::new(Vec::new());
    FsmHeader::v1(5).write_to(&mut w).unwrap();
    w.write_all(body).unwrap();
    w.finish_with_footer().unwrap()
}

/// Every (key, value) of `bytes`, read from memory (spooled tables), then verified.
fn read(bytes: &[u8]) -> Result<Vec<Kv>, ContainerError> {
    let mut f = SnapshotFile::from_reader(bytes, Path::new("b.fsm"), None)?;
    collect(&mut f)
}

/// The same through a file (tables read in passing, tails by position).
fn read_file(bytes: &[u8]) -> Result<Vec<Kv>, ContainerError> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("b.fsm");
    std::fs::write(&p, bytes).unwrap();
    let mut f = SnapshotFile::open(&p)?;
    collect(&mut f)
}

fn collect<R: Read>(f: &mut SnapshotFile<R>) -> Result<Vec<Kv>, ContainerError> {
    let mut out = Vec::new();
    while let Some(e) = f.next()? {
        out.push(match e {
            StreamEntry::Raw(r) => (r.key.to_vec(), r.value.to_vec()),
            StreamEntry::Mvcc(m) => {
                let mut v = Vec::new();
                encode_value(u8::from(m.tombstone), m.expire_at, m.body, &mut v);
                (m.encoded_key.to_vec(), v)
            }
        });
    }
    f.finish()?;
    Ok(out)
}

fn both(bytes: &[u8]) -> Result<Vec<Kv>, ContainerError> {
    let a = read(bytes);
    let b = read_file(bytes);
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y),
        (Err(x), Err(y)) => assert_eq!(x.root().to_string(), y.root().to_string()),
        _ => panic!("spooled and positional reads disagree: {a:?} / {b:?}"),
    }
    a
}

#[test]
fn bundle_round_trips_through_both_read_paths() {
    let t = tables();
    let all: Vec<Kv> = t.iter().flatten().cloned().collect();
    for opts in [
        TableOptions::default(),
        TableOptions {
            snappy: false,
            index_partition: Some(3),
        },
    ] {
        let bare = bundle_bytes(&t, opts, 99).unwrap();
        assert_eq!(both(&bare).unwrap(), all);
        assert_eq!(both(&live(&bare)).unwrap(), all);
    }
}

#[test]
fn info_and_reports_describe_the_bundle() {
    let bytes = live(&bundle_bytes(&tables(), TableOptions::default(), 99).unwrap());
    let mut f = SnapshotFile::from_reader(&bytes[..], Path::new("b.fsm"), None).unwrap();
    assert_eq!(f.info().payload, PayloadFormat::SstIngest);
    assert_eq!(f.info().last_commit_ts, Some(99));
    let rep = f.finish().unwrap();
    assert_eq!(rep.entries, 301);
    assert!(rep.footer.is_some());
    let (m, files) = f.sst().unwrap();
    assert_eq!(m.entry_count, 301);
    assert_eq!(m.applied_index, Some(7));
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|r| r.verified));
    assert_eq!(files[0].entries, 300);
    assert!(files[0].data_blocks > 1, "{files:?}");
    assert_eq!(files[1].entries, 1);
}

use crate::container::PayloadFormat;

/// Rewrite the manifest of a bare bundle (and its digest) with `edit`.
fn with_manifest(bare: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let len = u64::from_be_bytes(bare[8..16].try_into().unwrap()) as usize;
    let mut v: serde_json::Value = serde_json::from_slice(&bare[48..48 + len]).unwrap();
    edit(&mut v);
    let json = serde_json::to_vec(&v).unwrap();
    let mut out = MAGIC_SST_INGEST.to_vec();
    out.extend_from_slice(&(json.len() as u64).to_be_bytes());
    out.extend_from_slice(&Sha256::digest(&json));
    out.extend_from_slice(&json);
    out.extend_from_slice(&bare[48 + len..]);
    out
}

fn root(e: &ContainerError) -> &ContainerError {
    e.root()
}

#[test]
fn manifest_problems_are_refused() {
    let bare = bundle_bytes(&tables(), TableOptions::default(), 99).unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("version", Box::new(|v| v["version"] = 2.into())),
        ("unknown field", Box::new(|v| v["extra"] = 1.into())),
        ("named", Box::new(|v| v["files"][1]["name"] = "000002.sst".into())),
        ("size", Box::new(|v| v["files"][0]["size"] = 0.into())),
        (
            "overlap",
            Box::new(|v| v["files"][1]["smallest"] = v["files"][0]["smallest"].clone()),
        ),
        ("bounds", Box::new(|v| v["files"][0]["largest"] = "".into())),
        ("sha256", Box::new(|v| v["files"][0]["sha256"] = "abc".into())),
        ("total_file_bytes", Box::new(|v| v["total_file_bytes"] = 1.into())),
        (
            "invalid JSON",
            Box::new(|v| v["files"][0]["smallest"] = "!!".into()),
        ),
    ];
    for (what, edit) in cases {
        let e = both(&with_manifest(&bare, edit)).unwrap_err();
        assert!(
            matches!(root(&e), ContainerError::SstManifest { .. }),
            "{what}: {e}"
        );
        assert!(e.to_string().contains(what), "{what}: {e}");
        assert_eq!(e.kind(), ErrorKind::Data);
    }
    let mut bad = bare.clone();
    bad[20] ^= 1;
    let e = both(&bad).unwrap_err();
    assert!(e.to_string().contains("manifest SHA-256 mismatch"), "{e}");
    for len in [0i64, -1, (MANIFEST_MAX_BYTES + 1) as i64] {
        let mut bad = bare.clone();
        bad[8..16].copy_from_slice(&len.to_be_bytes());
        let e = both(&bad).unwrap_err();
        assert!(
            matches!(root(&e), ContainerError::SstManifest { offset: 8, .. }),
            "{e}"
        );
    }
    let e = both(&bare[..40]).unwrap_err();
    assert!(matches!(root(&e), ContainerError::Truncated { .. }), "{e}");
}

#[test]
fn table_digest_count_and_totals_are_checked() {
    let bare = bundle_bytes(&tables(), TableOptions::default(), 99).unwrap();
    let zeros = "0".repeat(64);
    let e = both(&with_manifest(&bare, |v| {
        v["files"][1]["sha256"] = zeros.clone().into()
    }))
    .unwrap_err();
    assert!(
        matches!(root(&e), ContainerError::SstDigest { file, .. } if file == "000001.sst"),
        "{e}"
    );
    let e = both(&with_manifest(&bare, |v| v["entry_count"] = 300.into())).unwrap_err();
    assert!(
        matches!(
            root(&e),
            ContainerError::SstTotals {
                what: "entry_count",
                expected: 300,
                found: 301
            }
        ),
        "{e}"
    );
    let e = both(&with_manifest(&bare, |v| v["uncompressed_bytes"] = 1.into())).unwrap_err();
    assert!(
        matches!(
            root(&e),
            ContainerError::SstTotals {
                what: "uncompressed_bytes",
                ..
            }
        ),
        "{e}"
    );
    let e = both(&with_manifest(&bare, |v| {
        v["files"][0]["smallest"] = "AA==".into()
    }))
    .unwrap_err();
    assert!(e.to_string().contains("smallest"), "{e}");
    let e = both(&with_manifest(&bare, |v| {
        v["files"][0]["largest"] = v["files"][0]["smallest"].clone()
    }))
    .unwrap_err();
    assert!(e.to_string().contains("largest"), "{e}");
}

#[test]
fn what_follows_the_last_table_is_checked() {
    let bare = bundle_bytes(&tables(), TableOptions::default(), 99).unwrap();
    let mut long = bare.clone();
    long.extend_from_slice(b"zzzzz");
    let e = both(&long).unwrap_err();
    assert!(matches!(root(&e), ContainerError::SstTrailing { .. }), "{e}");
    let mut four = bare.clone();
    four.extend_from_slice(b"zzzz");
    let e = both(&four).unwrap_err();
    assert!(
        matches!(root(&e), ContainerError::TruncatedOrBadFooter { .. }),
        "{e}"
    );
    let l = live(&bare);
    let e = both(&l[..l.len() - 2]).unwrap_err();
    assert!(matches!(root(&e), ContainerError::Truncated { .. }), "{e}");
    let e = both(&l[..l.len() - 4]).unwrap_err();
    assert!(matches!(root(&e), ContainerError::MissingFooter { .. }), "{e}");
    let mut bad = l.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let e = both(&bad).unwrap_err();
    assert!(matches!(root(&e), ContainerError::FooterMismatch { .. }), "{e}");
    let e = both(&l[..l.len() - 100]).unwrap_err();
    assert!(matches!(root(&e), ContainerError::Truncated { .. }), "{e}");
}

/// A one-table bundle of raw internal keys and stored values, as given.
fn raw_bundle(rows: &[(Vec<u8>, Vec<u8>)], user_keys: (&[u8], &[u8])) -> Vec<u8> {
    let mut w = TableWriter::new(Vec::new(), TableOptions::default());
    for (k, v) in rows {
        w.add_raw(k, v, 0).unwrap();
    }
    let (body, _) = w.finish().unwrap();
    let m = writer::manifest(
        1,
        None,
        rows.len() as u64,
        0,
        vec![writer::file_meta(0, &body, user_keys.0, user_keys.1)],
    );
    let mut out = Vec::new();
    writer::write_bundle_head(&mut out, &m).unwrap();
    out.extend_from_slice(&body);
    out
}

#[test]
fn entries_an_export_cannot_hold_are_data_errors_naming_file_and_block() {
    let (k, v) = mvcc("!redis|str|a", 5, b"x");
    let ikey = |trailer: u64| {
        let mut ik = k.clone();
        ik.extend_from_slice(&trailer.to_le_bytes());
        ik
    };
    let prefixed = |p: u8| {
        let mut pv = vec![p];
        pv.extend_from_slice(&v);
        pv
    };
    let cases = [
        (ikey(0), v.clone(), "DEL"),
        (ikey(2), v.clone(), "MERGE"),
        (ikey(15), v.clone(), "RANGEDEL"),
        (ikey(0x41), prefixed(0), "obsolete"),
        (ikey(1 | (7 << 8)), prefixed(0), "sequence number 7"),
        (ikey(1), prefixed(0x80), "value-block handle"),
        (ikey(1), Vec::new(), "value prefix"),
        (b"short".to_vec(), Vec::new(), "trailer"),
    ];
    for (ik, sv, what) in cases {
        let e = both(&raw_bundle(&[(ik, sv)], (&k, &k))).unwrap_err();
        assert!(
            matches!(root(&e), ContainerError::SstTable { file, block: "data block", .. } if file == "000000.sst"),
            "{what}: {e}"
        );
        assert!(e.to_string().contains(what), "{what}: {e}");
    }
}
