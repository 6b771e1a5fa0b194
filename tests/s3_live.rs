//! The S3 part of a real snapshot written by a live elastickv node
//! (`../shared/golden/live/`, oracle `live-summary.json`): the decoded tree holds exactly the
//! final S3 state (checked by `../shared/tools/check_s3.py`), and decode → encode → decode is
//! a fixed point. These tests fail, never skip, when the files are missing.

use crate::s3_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use ekv_snapshot::adapters::Adapter;
use ekv_snapshot::pipeline::NoProgress;
use ekv_snapshot::pipeline::{decode_snapshot, DecodeOptions};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn live_fsm() -> PathBuf {
    let p = shared().join("golden/live/live-pbbl.fsm");
    assert!(
        p.is_file(),
        "{} is missing: the live golden files are required",
        p.display()
    );
    p
}

fn decode(dir: &Path, orphans: bool, uploads: bool) -> PathBuf {
    let out = dir.join("dump");
    let mut o = DecodeOptions::new(&out);
    o.adapters = vec![Adapter::S3];
    o.options.s3.rename_collisions = true;
    o.options.s3.include_orphans = orphans;
    o.options.s3.include_incomplete_uploads = uploads;
    o.scratch_root = Some(dir.to_path_buf());
    let r = decode_snapshot(&live_fsm(), &o, &mut NoProgress).unwrap();
    // the one incomplete multipart upload's chunks have no manifest
    assert!(
        r.warnings.iter().any(|w| w.event == "s3_orphan_chunks"),
        "{:?}",
        r.warnings
    );
    out
}

fn check_s3(dump: &Path) {
    let out = Command::new("python3")
        .arg(shared().join("tools/check_s3.py"))
        .arg(shared().join("golden/live/live-summary.json"))
        .arg(dump)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "check_s3.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn live_snapshot_decodes_to_the_final_s3_state() {
    let dir = tempfile::tempdir().unwrap();
    let dump = decode(dir.path(), false, false);
    check_s3(&dump);
    // D11: the folder marker `a/` is kept under a KEYMAP record
    let keymap = std::fs::read_to_string(dump.join("s3/pub1-main/KEYMAP.jsonl")).unwrap();
    assert!(
        keymap.contains(r#"{"encoded":"a%2F","original":"YS8","kind":"sha-fallback"}"#),
        "{keymap}"
    );
}

#[test]
fn live_snapshot_with_orphans_and_incomplete_uploads_matches_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let dump = decode(dir.path(), true, true);
    check_s3(&dump);
    assert!(dump
        .join("s3/pub1-main/_incomplete_uploads/records.jsonl")
        .is_file());
    assert!(dump.join("s3/pub1-main/_orphans").is_dir());
}

#[test]
fn live_tree_decode_encode_decode_is_a_fixed_point() {
    let dir = tempfile::tempdir().unwrap();
    let d1 = dir.path().join("1");
    std::fs::create_dir(&d1).unwrap();
    let dump = decode(&d1, false, false);
    let fsm = dir.path().join("re.fsm");
    let bytes = s3_util::encode_s3(&dump);
    std::fs::write(&fsm, &bytes).unwrap();
    let d2 = dir.path().join("2");
    std::fs::create_dir(&d2).unwrap();
    let again = s3_util::decode_s3(&fsm, &d2, true);
    assert_eq!(s3_util::s3_files(&again), s3_util::s3_files(&dump));
    assert_eq!(s3_util::encode_s3(&again), bytes);
}
