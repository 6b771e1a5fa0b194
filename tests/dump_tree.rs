//! End-to-end tests of a published dump tree: the CHECKSUMS file is accepted by the system
//! `sha256sum -c` and by our own verifier, covers MANIFEST.json and KEYMAP.jsonl, and both
//! fail after one byte of one file changes.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use ekv_snapshot::dump::{
    encode_segment, load_keymap, verify_checksums, DumpTree, KeyMap, KIND_SHA_FALLBACK,
};
use ekv_snapshot::dump::{AdapterScope, Adapters, Manifest};

fn sha256sum_available() -> bool {
    Command::new("sha256sum")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn sha256sum_check(root: &Path) -> bool {
    Command::new("sha256sum")
        .args(["-c", "--quiet", "--strict", "CHECKSUMS"])
        .current_dir(root)
        .output()
        .expect("run sha256sum")
        .status
        .success()
}

fn build_tree(out: &Path) {
    let mut tree = DumpTree::create(out).unwrap();
    let mut km = KeyMap::default();
    for key in [&b"session:abc"[..], b"plain", &[b'k'; 300], b"\xff\x00bin"] {
        let seg = encode_segment(key);
        if seg.is_fallback {
            km.record(&seg.name, key, KIND_SHA_FALLBACK).unwrap();
        }
        tree.write_file(&format!("redis/db_0/strings/{}.bin", seg.name), key)
            .unwrap();
    }
    let mut f = tree.create_file("redis/db_0/hashes/h.json").unwrap();
    for i in 0..1000 {
        writeln!(f, "line {i}").unwrap();
    }
    tree.finish_file(f).unwrap();
    tree.write_file("redis/db_0/strings/.bin", b"empty key").unwrap();
    km.write(&mut tree, "redis/db_0/KEYMAP.jsonl").unwrap();
    let mut manifest = Manifest::for_decode(redis_only());
    manifest.last_commit_ts = 42;
    tree.publish(Some(&manifest)).unwrap();
}

#[test]
fn published_tree_passes_sha256sum_and_detects_one_changed_byte() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("dump");
    build_tree(&out);

    let list = std::fs::read_to_string(out.join("CHECKSUMS")).unwrap();
    let paths: Vec<&str> = list.lines().map(|l| l.split_once("  ").unwrap().1).collect();
    assert_eq!(paths.first(), Some(&"MANIFEST.json"));
    assert!(paths.contains(&"redis/db_0/KEYMAP.jsonl"));
    assert_eq!(paths.len(), 8);
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted);

    assert_eq!(verify_checksums(&out).unwrap(), 8);
    let m = Manifest::read(&out).unwrap();
    assert_eq!(m.last_commit_ts, 42);
    let km = load_keymap(&out.join("redis/db_0/KEYMAP.jsonl")).unwrap();
    assert_eq!(km.len(), 1);
    assert_eq!(km.values().next().unwrap(), &vec![b'k'; 300]);

    let system = sha256sum_available();
    if system {
        assert!(
            sha256sum_check(&out),
            "sha256sum -c rejected a fresh tree:\n{list}"
        );
    } else {
        println!("sha256sum not found: skipping the system check");
    }

    // Flip one byte of one file.
    let victim = out.join("redis/db_0/hashes/h.json");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    assert!(verify_checksums(&out).unwrap_err().to_string().contains("h.json"));
    if system {
        assert!(!sha256sum_check(&out), "sha256sum -c accepted a changed file");
    }
}

#[test]
fn failed_build_leaves_nothing_behind() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("dump");
    {
        let mut tree = DumpTree::create(&out).unwrap();
        tree.write_file("redis/db_0/strings/a.bin", b"x").unwrap();
        let mut bad = Manifest::for_decode(redis_only());
        bad.dynamodb_layout = "bogus".into();
        assert!(tree.publish(Some(&bad)).is_err());
    }
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn escaped_names_pass_sha256sum() {
    if !sha256sum_available() {
        println!("sha256sum not found: skipping");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("dump");
    let mut tree = DumpTree::create(&out).unwrap();
    tree.write_file("s3/b/new\nline", b"1").unwrap();
    tree.write_file("s3/b/back\\slash", b"2").unwrap();
    tree.write_file("s3/b/cr\rname", b"3").unwrap();
    tree.publish(None).unwrap();
    assert!(sha256sum_check(&out));
    assert_eq!(verify_checksums(&out).unwrap(), 3);
}

fn redis_only() -> Adapters {
    Adapters {
        redis: Some(AdapterScope::default()),
        ..Adapters::default()
    }
}
