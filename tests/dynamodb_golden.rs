//! DynamoDB byte compatibility with the Go tools (fixtures/dynamodb/README.md) and the real
//! snapshot oracle (`../shared/golden/live`, required: a missing file fails the test).

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dynamodb")
}

/// Every file (bytes) and directory of a tree, by relative path.
fn snapshot(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
            if p.is_dir() {
                out.insert(rel, None);
                walk(root, &p, out);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn encode(input: &Path, output: &Path, extra: &[&str]) {
    common::bin("elastickv-snapshot-encode")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(extra)
        .assert()
        .code(0);
}

fn decode(input: &Path, output: &Path, extra: &[&str]) {
    common::bin("elastickv-snapshot-decode")
        .arg("-input")
        .arg(input)
        .arg("-output")
        .arg(output)
        .args(extra)
        .assert()
        .code(0);
}

#[test]
fn our_encoder_writes_the_go_encoders_bytes() {
    let d = tempfile::tempdir().unwrap();
    let ours = d.path().join("ours.fsm");
    encode(&fixtures().join("tree"), &ours, &[]);
    let go = std::fs::read(fixtures().join("go.fsm")).unwrap();
    assert!(
        std::fs::read(&ours).unwrap() == go,
        "encoded bytes differ from Go's go.fsm"
    );
}

#[test]
fn our_decoder_writes_the_go_decoders_tree() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("tree");
    decode(&fixtures().join("go.fsm"), &out, &[]);
    let mut want = snapshot(&fixtures().join("tree/dynamodb"));
    // Go's decoder writes `items/` of an empty table as an empty directory, which git cannot
    // hold: the committed fixture lacks it.
    want.insert("empty/items".to_owned(), None);
    let got = snapshot(&out.join("dynamodb"));
    let only_want: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let only_got: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        only_want.is_empty() && only_got.is_empty(),
        "missing {only_want:?}, extra {only_got:?}"
    );
    for (rel, bytes) in &want {
        assert!(got.get(rel) == Some(bytes), "{rel} differs");
    }
}

#[test]
fn jsonl_layout_round_trips_to_the_same_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let tree = d.path().join("jsonl");
    // 300-byte parts: several parts per table.
    decode(
        &fixtures().join("go.fsm"),
        &tree,
        &["--dynamodb-bundle-mode", "jsonl", "--dynamodb-bundle-size", "300"],
    );
    let manifest = std::fs::read_to_string(tree.join("MANIFEST.json")).unwrap();
    assert!(manifest.contains("\"dynamodb_layout\": \"jsonl\""));
    let parts = snapshot(&tree.join("dynamodb/orders/items"));
    assert!(
        parts.len() > 1
            && parts
                .keys()
                .all(|k| k.starts_with("data-") && k.ends_with(".jsonl"))
    );
    let first = parts.values().next().cloned().flatten().unwrap();
    // Items in key order (DECISIONS.md A26: the empty hash string sorts first), one compact
    // AWS export line each.
    let first_line = String::from_utf8(first)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        first_line,
        r#"{"Item":{"customer":{"S":""},"note":{"S":"empty hash string"},"order_no":{"N":"7"}}}"#
    );
    let ours = d.path().join("from-jsonl.fsm");
    encode(&tree, &ours, &[]);
    assert!(std::fs::read(&ours).unwrap() == std::fs::read(fixtures().join("go.fsm")).unwrap());
}

#[test]
fn jsonl_parts_in_either_line_order_encode_to_the_same_bytes() {
    // The line order changed (path order before session 6, key order now, A26): encode must
    // take any order. Reversing every part's lines gives Go's bytes all the same.
    let d = tempfile::tempdir().unwrap();
    let tree = d.path().join("jsonl");
    decode(
        &fixtures().join("go.fsm"),
        &tree,
        &["--dynamodb-bundle-mode", "jsonl"],
    );
    let mut reversed_any = false;
    for table in std::fs::read_dir(tree.join("dynamodb")).unwrap() {
        let items = table.unwrap().path().join("items");
        for part in std::fs::read_dir(&items).unwrap() {
            let part = part.unwrap().path();
            let text = std::fs::read_to_string(&part).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            reversed_any |= lines.len() > 1;
            lines.reverse();
            std::fs::write(&part, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        }
    }
    assert!(reversed_any);
    let ours = d.path().join("reversed.fsm");
    encode(&tree, &ours, &["--no-verify"]);
    assert!(std::fs::read(&ours).unwrap() == std::fs::read(fixtures().join("go.fsm")).unwrap());
}

#[test]
fn live_snapshot_decodes_to_the_final_state() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let fsm = shared.join("golden/live/live-pbbl.fsm");
    let summary = shared.join("golden/live/live-summary.json");
    let checker = shared.join("tools/check_dynamodb.py");
    for p in [&fsm, &summary, &checker] {
        assert!(
            p.is_file(),
            "{} is missing (the live oracle is required)",
            p.display()
        );
    }
    let d = tempfile::tempdir().unwrap();
    for (name, layout) in [("dump", "per-item"), ("dump-jsonl", "jsonl")] {
        let out = d.path().join(name);
        // DynamoDB alone: the S3 part of this snapshot needs --rename-collisions (S3's own test).
        decode(
            &fsm,
            &out,
            &["-adapter", "dynamodb", "--dynamodb-bundle-mode", layout],
        );
        let check = Command::new("python3")
            .arg(&checker)
            .arg(&summary)
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "check_dynamodb.py failed ({layout}):\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}
