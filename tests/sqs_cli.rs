//! The SQS adapter through the CLIs: the real snapshot of a live elastickv node decodes to
//! exactly its final SQS state (`check_sqs.py` against the workload's oracle), with and
//! without side records (D5); the hand-written fixture tree encodes to Go's `.fsm` byte for
//! byte and Go's `.fsm` decodes back to it; trees Go refuses to encode are refused, naming
//! the flag to drop.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn live(name: &str) -> PathBuf {
    let p = crate_dir().join("../shared/golden/live").join(name);
    assert!(
        p.is_file(),
        "{} is missing (CI lays shared/ beside the repo)",
        p.display()
    );
    p
}

fn check_sqs(dump: &Path) {
    let tool = crate_dir().join("../shared/tools/check_sqs.py");
    assert!(tool.is_file(), "{} is missing", tool.display());
    let out = Command::new("python3")
        .arg(&tool)
        .arg(live("live-summary.json"))
        .arg(dump)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check_sqs.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn decode(input: &Path, output: &Path, extra: &[&str]) {
    common::bin("elastickv-snapshot-decode")
        .args([
            "-input",
            input.to_str().unwrap(),
            "-output",
            output.to_str().unwrap(),
        ])
        .args(["-adapter", "sqs"])
        .args(extra)
        .assert()
        .code(0);
}

#[test]
fn the_live_snapshot_decodes_to_the_final_sqs_state() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("dump");
    decode(&live("live-pbbl.fsm"), &out, &[]);
    check_sqs(&out);
    assert!(!out.join("sqs/pub1-orders.fifo/_internals").exists());
}

#[test]
fn the_live_snapshot_decodes_with_side_records_including_fifo_sequence_counters() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("dump");
    decode(&live("live-pbbl.fsm"), &out, &["-include-sqs-side-records"]);
    check_sqs(&out);
    let side =
        std::fs::read_to_string(out.join("sqs/pub1-orders.fifo/_internals/side_records.jsonl")).unwrap();
    let seq_key = hex::encode(b"!sqs|queue|seq|cHViMS1vcmRlcnMuZmlmbw");
    assert!(
        side.lines()
            .any(|l| l.starts_with("{\"prefix\":\"!sqs|queue|seq|\",\"key_hex\":\"") && l.contains(&seq_key)),
        "{side}"
    );
}

#[test]
fn the_live_snapshot_round_trips_through_encode() {
    let d = tempfile::tempdir().unwrap();
    let (a, fsm, b) = (d.path().join("a"), d.path().join("a.fsm"), d.path().join("b"));
    decode(&live("live-pbbl.fsm"), &a, &[]);
    common::bin("elastickv-snapshot-encode")
        .args(["-input", a.to_str().unwrap(), "-output", fsm.to_str().unwrap()])
        .assert()
        .code(0);
    decode(&fsm, &b, &[]);
    check_sqs(&b);
}

#[test]
fn the_fixture_tree_encodes_to_gos_bytes_and_decodes_back() {
    let fx = crate_dir().join("tests/fixtures/sqs");
    let d = tempfile::tempdir().unwrap();
    let ours = d.path().join("ours.fsm");
    common::bin("elastickv-snapshot-encode")
        .args([
            "-input",
            fx.join("tree").to_str().unwrap(),
            "-output",
            ours.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    assert!(std::fs::read(&ours).unwrap() == std::fs::read(fx.join("tree.go.fsm")).unwrap());
    let out = d.path().join("dump");
    decode(&fx.join("tree.go.fsm"), &out, &[]);
    let diff = Command::new("diff")
        .arg("-r")
        .arg(fx.join("tree/sqs"))
        .arg(out.join("sqs"))
        .output()
        .unwrap();
    assert!(diff.status.success(), "{}", String::from_utf8_lossy(&diff.stdout));
}

/// Go's lenient reading of `messages.jsonl` (null and missing bodies, case-insensitive
/// names, merged attribute maps, raw attribute values) gives Go's bytes.
#[test]
fn a_lenient_tree_encodes_to_gos_bytes() {
    let fx = crate_dir().join("tests/fixtures/sqs");
    let d = tempfile::tempdir().unwrap();
    let ours = d.path().join("ours.fsm");
    common::bin("elastickv-snapshot-encode")
        .args([
            "-input",
            fx.join("lenient").to_str().unwrap(),
            "-output",
            ours.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    assert!(std::fs::read(&ours).unwrap() == std::fs::read(fx.join("lenient.go.fsm")).unwrap());
}

#[test]
fn trees_decoded_with_sqs_state_flags_are_refused_naming_the_flag() {
    for (field, flag) in [
        ("preserve_sqs_visibility", "--preserve-sqs-visibility"),
        ("include_sqs_side_records", "--include-sqs-side-records"),
    ] {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("tree");
        let manifest = common::manifest_json(&["sqs"], 1000)
            .replace(&format!("\"{field}\": false"), &format!("\"{field}\": true"));
        common::put(&root, "MANIFEST.json", manifest.as_bytes());
        common::put(&root, "sqs/q/_queue.json", br#"{"format_version":1,"name":"q"}"#);
        let out = d.path().join("out.fsm");
        let assert = common::bin("elastickv-snapshot-encode")
            .args(["-input", root.to_str().unwrap(), "-output", out.to_str().unwrap()])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            stderr.contains(&format!("decode again without {flag}")),
            "{stderr}"
        );
        assert!(!out.exists());
    }
}

/// D1: one logical view. The newest meta and counter of a re-created queue win (Go: the
/// oldest), a deleted message stays deleted, a message moved to the DLQ is only there.
#[test]
fn d1_newest_versions_deleted_messages_and_dlq_moves() {
    use ekv_snapshot::adapters::sqs::keys::{self, Lane};
    let meta = |delay: u32, gen: u32| {
        let mut v = keys::META_MAGIC.to_vec();
        v.extend_from_slice(
            format!(r#"{{"name":"re","generation":{gen},"delay_seconds":{delay}}}"#).as_bytes(),
        );
        v
    };
    let msg = |id: &str, gen: u64| {
        let mut v = keys::MSG_MAGIC.to_vec();
        v.extend_from_slice(
            format!(
                r#"{{"message_id":"{id}","body":"","send_timestamp_millis":1,"queue_generation":{gen}}}"#
            )
            .as_bytes(),
        );
        v
    };
    let plain = |name: &str| {
        let mut v = keys::META_MAGIC.to_vec();
        v.extend_from_slice(format!(r#"{{"name":"{name}"}}"#).as_bytes());
        v
    };
    let entries: Vec<(Vec<u8>, u64, u8, Vec<u8>)> = vec![
        (keys::queue_meta_key("re"), 20, 0, meta(5, 2)),
        (keys::queue_meta_key("re"), 10, 0, meta(0, 1)),
        (keys::queue_gen_key("re"), 20, 0, b"2".to_vec()),
        (keys::queue_gen_key("re"), 10, 0, b"1".to_vec()),
        (
            keys::msg_data_key("re", Lane::Classic, 1, "m-old"),
            10,
            0,
            msg("m-old", 1),
        ),
        (
            keys::msg_data_key("re", Lane::Classic, 2, "m-new"),
            20,
            0,
            msg("m-new", 2),
        ),
        (
            keys::msg_data_key("re", Lane::Classic, 2, "m-del"),
            18,
            1,
            Vec::new(),
        ),
        (
            keys::msg_data_key("re", Lane::Classic, 2, "m-del"),
            15,
            0,
            msg("m-del", 2),
        ),
        (keys::queue_meta_key("src"), 5, 0, plain("src")),
        (keys::queue_meta_key("dlq"), 5, 0, plain("dlq")),
        (
            keys::msg_data_key("src", Lane::Classic, 1, "m-moved"),
            16,
            1,
            Vec::new(),
        ),
        (
            keys::msg_data_key("src", Lane::Classic, 1, "m-moved"),
            12,
            0,
            msg("m-moved", 1),
        ),
        (
            keys::msg_data_key("dlq", Lane::Classic, 1, "m-moved"),
            16,
            0,
            msg("m-moved", 1),
        ),
    ];
    let refs: Vec<(&[u8], u64, u8, &[u8])> = entries
        .iter()
        .map(|(k, t, f, b)| (k.as_slice(), *t, *f, b.as_slice()))
        .collect();
    let d = tempfile::tempdir().unwrap();
    let snap = d.path().join("s.fsm");
    std::fs::write(&snap, common::bare_stream(30, &refs)).unwrap();
    let out = d.path().join("dump");
    common::bin("elastickv-snapshot-decode")
        .args(["-input", snap.to_str().unwrap(), "-output", out.to_str().unwrap()])
        .assert()
        .code(0)
        .stderr(predicates::str::contains("sqs_stale_generation_messages_dropped"));
    let read = |rel: &str| std::fs::read_to_string(out.join(rel)).unwrap_or_default();
    assert!(read("sqs/re/_queue.json").contains("\"delay_seconds\": 5"));
    let ids = |rel: &str| -> Vec<String> {
        read(rel)
            .lines()
            .map(|l| l.split('"').nth(3).unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(ids("sqs/re/messages.jsonl"), ["m-new"]);
    assert!(!out.join("sqs/src/messages.jsonl").exists());
    assert_eq!(ids("sqs/dlq/messages.jsonl"), ["m-moved"]);
}
