//! `EKVSSTI1` bundles end to end (spec/sst_bundle.md, DECISIONS.md A16): the live bundle
//! decodes to the same adapter trees as the live `EKVPBBL1` file of the same store, and a
//! damaged bundle is refused with exit 2 and no output.
//!
//! The live files come from `../shared/golden/live/` (beside the repository). Tests that
//! need them fail, never skip, when they are missing.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ekv_snapshot::container::sst::{bundle_bytes, TableOptions};
use ekv_snapshot::container::{encode_key, encode_value};
use proptest::prelude::*;

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn live(name: &str) -> PathBuf {
    let p = shared_dir().join("golden/live").join(name);
    assert!(
        p.is_file(),
        "{} is missing: these tests need shared/ beside the repository",
        p.display()
    );
    p
}

fn decode(input: &Path, output: &Path) -> assert_cmd::assert::Assert {
    // The live S3 workload writes an object named like a sidecar (as tests/live.rs decodes it).
    common::bin("ekv-snapshot")
        .args(["decode", "--quiet", "--rename-collisions", "--input"])
        .arg(input)
        .arg("--output")
        .arg(output)
        .assert()
}

/// Every file under `root` (relative path, bytes), sorted.
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn live_bundle_decodes_to_the_same_adapter_trees_as_the_live_stream() {
    let d = tempfile::tempdir().unwrap();
    let (pbbl, sst) = (d.path().join("pbbl"), d.path().join("sst"));
    decode(&live("live-pbbl.fsm"), &pbbl).code(0);
    decode(&live("live-sst.fsm"), &sst).code(0);
    let mut compared = 0;
    for adapter in ["dynamodb", "s3", "redis", "sqs"] {
        let (a, b) = (pbbl.join(adapter), sst.join(adapter));
        assert_eq!(a.exists(), b.exists(), "{adapter}/ in one tree only");
        if a.exists() {
            let (fa, fb) = (files(&a), files(&b));
            assert!(!fa.is_empty(), "{adapter}/ is empty");
            let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            assert_eq!(names(&fa), names(&fb), "{adapter}/: file lists differ");
            for ((name, x), (_, y)) in fa.iter().zip(&fb) {
                assert!(x == y, "{adapter}/{name} differs");
            }
            compared += 1;
        }
    }
    assert!(compared >= 1, "no adapter tree was decoded");
    // The manifests differ only in the wall time and the input path.
    let manifest = |root: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&fs::read(root.join("MANIFEST.json")).unwrap()).unwrap();
        v["wall_time_iso"] = serde_json::Value::Null;
        v["source"]["fsm_path"] = serde_json::Value::Null;
        v
    };
    assert_eq!(manifest(&pbbl), manifest(&sst));
    let check = Command::new("python3")
        .arg(shared_dir().join("tools/check_redis.py"))
        .arg(live("live-summary.json"))
        .arg(&sst)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && report.contains("DISCREPANCIES: none"),
        "{report}"
    );
}

#[test]
fn inspect_shows_the_bundle_with_every_table_verified() {
    let out = common::bin("ekv-snapshot")
        .args(["inspect", "--json"])
        .arg(live("live-sst.fsm"))
        .assert()
        .code(0);
    let r: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(r["payload_format"], "EKVSSTI1");
    assert_eq!(r["footer"]["status"], "ok");
    let b = &r["sst_bundle"];
    assert_eq!(b["version"], 1);
    assert_eq!(b["entry_count"], r["entries"]);
    assert_eq!(b["applied_index"], 897);
    let t = &b["files"][0];
    assert_eq!(t["name"], "000000.sst");
    assert_eq!(t["verified"], true);
    assert_eq!(t["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(t["entries"], r["entries"]);
    assert_eq!(t["two_level_index"], true);
    assert_eq!(t["largest"], "_meta_last_commit_ts");
    // The same tallies as the EKVPBBL1 form of the same state.
    let out = common::bin("ekv-snapshot")
        .args(["inspect", "--json"])
        .arg(live("live-pbbl.fsm"))
        .assert()
        .code(0);
    let p: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    for k in [
        "entries",
        "live_keys",
        "older_versions",
        "tombstones",
        "raw_rows",
        "families",
    ] {
        assert_eq!(r[k], p[k], "{k}");
    }
}

#[test]
fn damaged_live_bundle_bytes_are_refused_without_output() {
    let bytes = fs::read(live("live-sst.fsm")).unwrap();
    let d = tempfile::tempdir().unwrap();
    let n = bytes.len();
    // The head, the manifest, the first data block, a middle data block, the table's
    // index/properties/footer, the file footer.
    for at in [10, 20, 100, 600, 900, n / 2, n - 200, n - 60, n - 2] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        let snap = d.path().join("bad.fsm");
        fs::write(&snap, &bad).unwrap();
        let out = d.path().join(format!("dump{at}"));
        let a = decode(&snap, &out).code(2);
        assert!(!out.exists(), "byte {at}: output left behind");
        assert!(!a.get_output().stderr.is_empty(), "byte {at}: no error message");
    }
}

/// A small live bundle with Redis strings in two tables (and the raw `_meta_` row).
fn small_bundle() -> Vec<u8> {
    let kv = |user: String, ts: u64, body: &[u8]| {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        encode_key(user.as_bytes(), ts, &mut k);
        encode_value(0, 0, body, &mut v);
        (k, v)
    };
    let mut env = vec![0xFF, 0x01, 0x00];
    env.extend_from_slice(&[b'v'; 50]);
    let first: Vec<_> = (0..120)
        .map(|i| kv(format!("!redis|str|k{i:04}"), 5, &env))
        .collect();
    let second = vec![(b"_meta_last_commit_ts".to_vec(), 9u64.to_le_bytes().to_vec())];
    let opts = TableOptions {
        snappy: true,
        index_partition: Some(2),
    };
    common::live_file(1, 0, &bundle_bytes(&[first, second], opts, 9).unwrap())
}

#[test]
fn small_bundle_decodes() {
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("s.fsm");
    fs::write(&snap, small_bundle()).unwrap();
    let out = d.path().join("dump");
    decode(&snap, &out).code(0);
    assert_eq!(
        fs::read(out.join("redis/db_0/strings/k0007.bin")).unwrap(),
        [b'v'; 50]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any byte of a bundle, changed, is detected: exit 2 and no output.
    #[test]
    fn any_damaged_byte_exits_2_without_output(at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut bytes = small_bundle();
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        let d = tempfile::tempdir().unwrap();
        let snap = d.path().join("s.fsm");
        fs::write(&snap, &bytes).unwrap();
        let out = d.path().join("dump");
        let a = decode(&snap, &out).code(2);
        prop_assert!(!out.exists(), "byte {}: output left behind", i);
        prop_assert!(a.get_output().stdout.is_empty());
    }
}

#[test]
fn inspect_all_reports_every_file_with_its_own_status() {
    let d = tempfile::tempdir().unwrap();
    let good = small_bundle();
    let mut bad_manifest = good.clone();
    bad_manifest[60] ^= 1; // inside the manifest JSON: its digest no longer matches
    let mut bad_table = good.clone();
    let n = bad_table.len();
    bad_table[n - 300] ^= 1; // inside the second table
    fs::write(d.path().join("0000000000000001.fsm"), &good).unwrap();
    fs::write(d.path().join("0000000000000002.fsm"), &bad_manifest).unwrap();
    fs::write(d.path().join("0000000000000003.fsm"), &bad_table).unwrap();
    let out = common::bin("ekv-snapshot")
        .args(["inspect", "--all", "--json"])
        .arg(d.path())
        .assert()
        .code(2);
    let r: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let r = r.as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert!(r[0]["error"].is_null(), "{}", r[0]);
    assert!(
        r[1]["error"]
            .as_str()
            .unwrap()
            .contains("manifest SHA-256 mismatch"),
        "{}",
        r[1]
    );
    assert!(r[2]["error"].as_str().unwrap().contains("000001.sst"), "{}", r[2]);
    assert_eq!(r[2]["sst_bundle"]["files"][0]["verified"], true);
    assert_eq!(r[2]["sst_bundle"]["files"][1]["verified"], false);
}

/// (key, value) of every entry of a snapshot file, values re-framed as stored.
fn all_entries(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    use ekv_snapshot::container::{SnapshotFile, StreamEntry};
    let mut f = SnapshotFile::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(e) = f.next().unwrap() {
        out.push(match e {
            StreamEntry::Raw(r) => (r.key.to_vec(), r.value.to_vec()),
            StreamEntry::Mvcc(m) => {
                let mut v = Vec::new();
                encode_value(u8::from(m.tombstone), m.expire_at, m.body, &mut v);
                (m.encoded_key.to_vec(), v)
            }
        });
    }
    f.finish().unwrap();
    out
}

#[test]
fn live_bundle_holds_exactly_the_entries_of_the_live_stream() {
    let sst = all_entries(&live("live-sst.fsm"));
    let pbbl = all_entries(&live("live-pbbl.fsm"));
    assert_eq!(sst.len(), 4060);
    assert_eq!(sst.len(), pbbl.len());
    for (i, (a, b)) in sst.iter().zip(&pbbl).enumerate() {
        assert_eq!(a.0, b.0, "key of entry {i} differs");
        // The bundle was written at a later Raft index: only `_meta_applied_index` moved.
        if a.0 != b"_meta_applied_index" {
            assert!(a.1 == b.1, "value of entry {i} differs");
        }
    }
}
