//! The decode CLI: Go flags, exit codes (D8), atomic publish (D9), live files (D2, D4).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{bare_stream, bin, live_file, redis_str};

fn sample_payload() -> Vec<u8> {
    let hello = redis_str(b"hello");
    let old = redis_str(b"old");
    bare_stream(
        0x1_0000_0005,
        &[
            (b"!redis|str|greeting", 0x1_0000_0001, 0, &hello),
            (b"!redis|str|gone", 0x1_0000_0002, 1, b""),
            (b"!redis|str|gone", 0x1_0000_0001, 0, &old),
            (b"!txn|lock|x", 0x1_0000_0001, 0, b"l"),
            (b"plain-user-key", 0x1_0000_0001, 0, b"v"),
        ],
    )
}

fn decode(args: &[&str]) -> assert_cmd::assert::Assert {
    bin("elastickv-snapshot-decode").args(args).assert()
}

#[test]
fn decodes_a_live_file_and_checksums_verify() {
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("0000000000000064.fsm");
    fs::write(&snap, live_file(1_700_000_000_000, 5, &sample_payload())).unwrap();
    let out = d.path().join("dump");
    decode(&[
        "-input",
        snap.to_str().unwrap(),
        "-output",
        out.to_str().unwrap(),
        "-cluster-id",
        "ek-test",
    ])
    .code(0);
    assert_eq!(
        fs::read(out.join("redis/db_0/strings/greeting.bin")).unwrap(),
        b"hello"
    );
    // D1: a key whose newest version is a tombstone is not resurrected.
    assert!(!out.join("redis/db_0/strings/gone.bin").exists());
    let m: serde_json::Value = serde_json::from_slice(&fs::read(out.join("MANIFEST.json")).unwrap()).unwrap();
    assert_eq!(m["phase"], "phase0-snapshot-decode");
    assert_eq!(m["snapshot_index"], 100, "D4: a 16-hex-digit stem is hex");
    assert_eq!(m["cluster_id"], "ek-test");
    assert_eq!(m["last_commit_ts"], 0x1_0000_0005u64);
    let ok = Command::new("sha256sum")
        .args(["-c", "--quiet", "CHECKSUMS"])
        .current_dir(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    fs::write(out.join("redis/db_0/strings/greeting.bin"), b"hellO").unwrap();
    let bad = Command::new("sha256sum")
        .args(["-c", "--quiet", "CHECKSUMS"])
        .current_dir(&out)
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!bad.success());
}

#[test]
fn unparseable_file_name_omits_snapshot_index() {
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("from-prod.fsm");
    fs::write(&snap, sample_payload()).unwrap();
    let out = d.path().join("dump");
    decode(&[
        "--input",
        snap.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ])
    .code(0);
    let m: serde_json::Value = serde_json::from_slice(&fs::read(out.join("MANIFEST.json")).unwrap()).unwrap();
    assert!(m.get("snapshot_index").is_none());
}

#[test]
fn usage_errors_exit_1() {
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("s.fsm");
    fs::write(&snap, sample_payload()).unwrap();
    let out = d.path().join("dump");
    decode(&["-output", out.to_str().unwrap()]).code(1);
    decode(&["-input", snap.to_str().unwrap()]).code(1);
    decode(&[
        "-input",
        snap.to_str().unwrap(),
        "-output",
        out.to_str().unwrap(),
        "-adapter",
        "redis,bogus",
    ])
    .code(1);
    decode(&[
        "-input",
        snap.to_str().unwrap(),
        "-output",
        out.to_str().unwrap(),
        "-adapter",
        " ,,",
    ])
    .code(1);
    decode(&[
        "-input",
        d.path().join("missing.fsm").to_str().unwrap(),
        "-output",
        out.to_str().unwrap(),
    ])
    .code(1);
    assert!(!out.exists());
}

#[test]
fn existing_non_empty_output_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("s.fsm");
    fs::write(&snap, sample_payload()).unwrap();
    let out = d.path().join("dump");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep"), b"x").unwrap();
    decode(&["-input", snap.to_str().unwrap(), "-output", out.to_str().unwrap()]).code(1);
    assert_eq!(fs::read(out.join("keep")).unwrap(), b"x");
}

fn no_dump_left(parent: &Path, out: &Path) {
    assert!(!out.join("MANIFEST.json").exists());
    assert!(!out.join("CHECKSUMS").exists());
    let names: Vec<String> = fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("partial")),
        "staging left behind: {names:?}"
    );
}

/// A snapshot whose bytes are damaged is refused with exit 2 and leaves no dump behind.
fn refused_without_output(name: &str, bytes: Vec<u8>) {
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join(name);
    fs::write(&snap, bytes).unwrap();
    let out = d.path().join("dump");
    decode(&["-input", snap.to_str().unwrap(), "-output", out.to_str().unwrap()]).code(2);
    no_dump_left(d.path(), &out);
}

#[test]
fn footer_mismatch_exits_2_and_publishes_nothing() {
    let mut bytes = live_file(1, 0, &sample_payload());
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    refused_without_output("0000000000000001.fsm", bytes);
}

#[test]
fn corrupt_stream_exits_2_and_publishes_nothing() {
    let mut bytes = sample_payload();
    bytes.truncate(bytes.len() - 3);
    refused_without_output("s.fsm", bytes);
}

#[test]
fn fsm_snap_directory_picks_the_newest() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("fsm-snap");
    fs::create_dir(&dir).unwrap();
    let old = bare_stream(1, &[(b"!redis|str|k", 1, 0, &redis_str(b"old"))]);
    let new = bare_stream(2, &[(b"!redis|str|k", 2, 0, &redis_str(b"new"))]);
    fs::write(dir.join("0000000000000009.fsm"), live_file(1, 0, &old)).unwrap();
    fs::write(dir.join("000000000000000a.fsm"), live_file(1, 0, &new)).unwrap();
    fs::write(dir.join("x.fsm.tmp"), b"junk").unwrap();
    let out = d.path().join("dump");
    bin("ekv-snapshot")
        .args([
            "decode",
            "--input",
            dir.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .assert()
        .code(0);
    assert_eq!(fs::read(out.join("redis/db_0/strings/k.bin")).unwrap(), b"new");
}

#[test]
fn every_adapter_of_the_sample_is_decoded_none_reported_unsupported() {
    // Every adapter of the registry decodes now (A2): the sample's DynamoDB, S3 and SQS
    // records land in their subtrees, and nothing is reported as not decoded.
    let d = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample.fsm");
    let out = d.path().join("dump");
    let a = decode(&[
        "-input",
        sample.to_str().unwrap(),
        "-output",
        out.to_str().unwrap(),
    ])
    .code(0);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(!err.contains("adapter_not_supported"), "{err}");
    assert!(!err.contains("NOT DECODED"), "{err}");
    for f in [
        "dynamodb/orders/_schema.json",
        "s3/photos/cat.jpg",
        "sqs/jobs/messages.jsonl",
        "redis/db_0/strings/greeting.bin",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

#[test]
fn scratch_root_is_used_outside_the_tree_and_left_empty() {
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("s.fsm");
    fs::write(&snap, sample_payload()).unwrap();
    let scratch = d.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    let out = d.path().join("dump");
    bin("ekv-snapshot")
        .args([
            "decode",
            "--input",
            snap.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
        .args(["--scratch-root", scratch.to_str().unwrap(), "--quiet"])
        .assert()
        .code(0);
    assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0, "D9: scratch removed");
    assert!(!out.join(".scratch").exists(), "D9: no scratch inside the tree");
}
