//! `ekv-snapshot inspect`: the report, `--json`, `--all`, and exit codes (0 intact, 2
//! corrupt, 1 usage).

use std::fs;

use crate::common::{bare_stream, bin, live_file, redis_str};
use predicates::str::contains;
use serde_json::Value;

fn payload() -> Vec<u8> {
    bare_stream(
        (1_700_000_000_000u64 << 16) | 3,
        &[
            (b"!redis|str|a", 5, 0, &redis_str(b"new")),
            (b"!redis|str|a", 4, 0, &redis_str(b"old")),
            (b"!redis|str|gone", 5, 1, b""),
            (b"!hs|fld|\0\0\0\x01hf", 5, 0, b"v"),
            (b"!txn|lock|x", 5, 0, b"l"),
            (b"!ddb|item|t|1", 5, 0, b"item"),
            (b"user-key", 5, 0, b"raw value"),
        ],
    )
}

#[test]
fn reports_layers_and_families_as_json() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("0000000000000010.fsm");
    fs::write(&p, live_file(1_700_000_000_123, 7, &payload())).unwrap();
    let out = bin("ekv-snapshot")
        .args(["inspect", "--json", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["snapshot_index"], 16);
    assert_eq!(r["header"]["version"], "V2");
    assert_eq!(r["header"]["ceiling_ms"], 1_700_000_000_123u64);
    assert_eq!(r["header"]["ceiling_utc"], "2023-11-14T22:13:20.123Z");
    assert_eq!(r["header"]["cutover_index"], 7);
    assert_eq!(r["payload_format"], "EKVPBBL1");
    assert_eq!(r["last_commit_ts"]["physical_ms"], 1_700_000_000_000u64);
    assert_eq!(r["last_commit_ts"]["logical"], 3);
    assert_eq!(r["footer"]["status"], "ok");
    assert_eq!(r["entries"], 7);
    assert_eq!(r["live_keys"], 5);
    assert_eq!(r["older_versions"], 1);
    assert_eq!(r["tombstones"], 1);
    assert_eq!(r["families"]["redis_string"]["entries"], 3);
    assert_eq!(r["families"]["redis_string"]["live_keys"], 1);
    assert_eq!(r["families"]["redis_hash"]["live_keys"], 1);
    assert_eq!(r["families"]["internal"]["entries"], 1);
    assert_eq!(r["families"]["dynamodb"]["entries"], 1);
    assert_eq!(r["families"]["unknown"]["entries"], 1);
    assert!(r["largest_entry"]["bytes"].as_u64().unwrap() > 0);
    assert!(r["error"].is_null());
}

#[test]
fn human_report_and_bare_stream() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bare.fsm");
    fs::write(&p, payload()).unwrap();
    bin("ekv-snapshot")
        .args(["inspect", p.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(contains("fsm header        none"))
        .stdout(contains("crc32c footer     absent"))
        .stdout(contains("status            intact"));
}

#[test]
fn footer_mismatch_is_corrupt_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("0000000000000001.fsm");
    let mut b = live_file(1, 0, &payload());
    let n = b.len();
    b[n - 2] ^= 0x10;
    fs::write(&p, b).unwrap();
    let out = bin("ekv-snapshot")
        .args(["inspect", "--json", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["footer"]["status"], "mismatch");
    assert_ne!(r["footer"]["stored"], r["footer"]["computed"]);
    assert!(r["error"].as_str().unwrap().contains("0000000000000001.fsm"));
    assert_eq!(r["entries"], 7, "statistics are still reported");
}

#[test]
fn truncated_stream_is_corrupt_and_names_the_offset() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("cut.fsm");
    let mut b = payload();
    b.truncate(b.len() - 5);
    fs::write(&p, b).unwrap();
    bin("ekv-snapshot")
        .args(["inspect", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stdout(contains("CORRUPT"))
        .stdout(contains("offset"));
}

#[test]
fn usage_errors_exit_1() {
    let d = tempfile::tempdir().unwrap();
    bin("ekv-snapshot")
        .args(["inspect", d.path().join("nope.fsm").to_str().unwrap()])
        .assert()
        .code(1);
    bin("ekv-snapshot")
        .args(["inspect", d.path().to_str().unwrap()])
        .assert()
        .code(1);
    bin("ekv-snapshot").args(["inspect"]).assert().code(1);
}

#[test]
fn all_snapshots_of_a_directory_in_index_order() {
    let d = tempfile::tempdir().unwrap();
    for i in [3u64, 1, 2] {
        fs::write(
            d.path().join(format!("{i:016x}.fsm")),
            live_file(i, 0, &payload()),
        )
        .unwrap();
    }
    let out = bin("ekv-snapshot")
        .args(["inspect", "--json", "--all", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let idx: Vec<u64> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["snapshot_index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [1, 2, 3]);
    // Without --all: the newest only.
    let out = bin("ekv-snapshot")
        .args(["inspect", "--json", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["snapshot_index"], 3);
}

#[test]
fn json_reports_a_header_corruption_as_a_json_error_object() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bad.fsm");
    fs::write(&f, b"EKVTHLC9xxxxxxxxxxxxxxxx").unwrap();
    let a = bin("ekv-snapshot")
        .args(["inspect", "--json", f.to_str().unwrap()])
        .assert()
        .code(2);
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let err = v["error"].as_str().unwrap_or_default();
    assert!(err.contains("EKVTHLC9"), "{v}");
}
