//! DumpTree tests: staging, refusals, hashing as written, publish and cleanup.

use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};

use super::*;

fn staging_dirs(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".partial-"))
        .collect()
}

#[test]
fn staging_name_and_publish() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("dump");
    let mut tree = DumpTree::create(&out).unwrap();
    let staging = tree.root().to_owned();
    let name = staging.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with(".dump.partial-"), "{name}");
    assert_eq!(name.len(), ".dump.partial-".len() + 16);
    assert_eq!(tree.output(), &out);
    tree.write_file("redis/db_0/strings/k.bin", b"v").unwrap();
    let mut f = tree.create_file("redis/db_0/hashes/h.json").unwrap();
    assert!(f.is_empty());
    f.write_all(b"{}").unwrap();
    assert_eq!((f.rel(), f.len()), ("redis/db_0/hashes/h.json", 2));
    tree.finish_file(f).unwrap();
    tree.ensure_dir("s3/empty/dir").unwrap();
    assert_eq!((tree.files_written(), tree.bytes_written()), (2, 3));
    let stats = tree.publish(None).unwrap();
    assert_eq!(stats.files, 3);
    assert!(!staging.exists());
    assert_eq!(std::fs::read(out.join("redis/db_0/strings/k.bin")).unwrap(), b"v");
    assert!(out.join("s3/empty/dir").is_dir());
    let mode = std::fs::metadata(out.join("redis/db_0/strings/k.bin"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let list = std::fs::read_to_string(out.join("CHECKSUMS")).unwrap();
    let want = format!(
        "{}  redis/db_0/hashes/h.json\n{}  redis/db_0/strings/k.bin\n",
        hex::encode(Sha256::digest(b"{}")),
        hex::encode(Sha256::digest(b"v"))
    );
    assert_eq!(list, want);
    assert_eq!(stats.bytes, 3 + want.len() as u64);
    assert!(staging_dirs(d.path()).is_empty());
}

#[test]
fn checksums_sorted_bytewise_and_escaped() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let mut tree = DumpTree::create(&out).unwrap();
    for rel in ["sqs/q", "MANIFEST.json", "a\\b", "dynamodb/t", "Z", "a\nb"] {
        tree.write_file(rel, b"").unwrap();
    }
    tree.publish(None).unwrap();
    let list = std::fs::read_to_string(out.join("CHECKSUMS")).unwrap();
    let paths: Vec<&str> = list.lines().map(|l| l.split_once("  ").unwrap().1).collect();
    assert_eq!(
        paths,
        ["MANIFEST.json", "Z", "a\\nb", "a\\\\b", "dynamodb/t", "sqs/q"]
    );
    assert!(list.lines().nth(2).unwrap().starts_with('\\'));
}

#[test]
fn existing_empty_output_dir_is_replaced() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    std::fs::create_dir(&out).unwrap();
    let mut tree = DumpTree::create(&out).unwrap();
    tree.write_file("x", b"1").unwrap();
    tree.publish(None).unwrap();
    assert_eq!(std::fs::read(out.join("x")).unwrap(), b"1");
}

#[test]
fn refuses_unusable_outputs() {
    let d = tempfile::tempdir().unwrap();
    let full = d.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("f"), b"").unwrap();
    let file = d.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let link = d.path().join("link");
    symlink(d.path().join("elsewhere"), &link).unwrap();
    for (p, why) in [
        (&full, "not an empty directory"),
        (&file, "not a directory"),
        (&link, "symbolic link"),
    ] {
        let err = DumpTree::create(p).err().expect("refused");
        assert!(matches!(err, DumpError::Output { .. }), "{err}");
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
        assert!(
            err.to_string().contains(why) && err.to_string().contains(p.to_str().unwrap()),
            "{err}"
        );
    }
    assert!(DumpTree::create(&d.path().join("no/such/parent/out")).is_err());
    assert!(staging_dirs(d.path()).is_empty());
}

#[test]
fn drop_unpublished_removes_staging() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let mut tree = DumpTree::create(&out).unwrap();
    tree.write_file("a/b/c", b"data").unwrap();
    let f = tree.create_file("a/open").unwrap();
    drop(f);
    assert_eq!(staging_dirs(d.path()).len(), 1);
    drop(tree);
    assert!(staging_dirs(d.path()).is_empty());
    assert!(!out.exists());
}

#[test]
fn refuses_bad_paths_duplicates_and_reserved_names() {
    let d = tempfile::tempdir().unwrap();
    let mut tree = DumpTree::create(&d.path().join("o")).unwrap();
    for rel in ["../x", "/abs", "a//b", "", "CHECKSUMS"] {
        assert!(
            matches!(tree.write_file(rel, b""), Err(DumpError::Unsafe { .. })),
            "{rel:?}"
        );
    }
    assert!(tree.ensure_dir("a/../..").is_err());
    tree.write_file("dup", b"1").unwrap();
    let err = tree.write_file("dup", b"2").unwrap_err();
    assert!(err.to_string().contains("written twice"), "{err}");
    assert!(tree.create_file("dup").is_err());
    // A file where a directory is needed.
    assert!(tree.write_file("dup/child", b"").is_err());
}

#[test]
fn refuses_symlink_planted_in_staging() {
    let d = tempfile::tempdir().unwrap();
    let elsewhere = d.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let mut tree = DumpTree::create(&d.path().join("o")).unwrap();
    symlink(&elsewhere, tree.root().join("redis")).unwrap();
    let err = tree.write_file("redis/x", b"").unwrap_err();
    assert!(matches!(err, DumpError::Unsafe { .. }), "{err}");
    symlink(elsewhere.join("f"), tree.root().join("file")).unwrap();
    assert!(tree.write_file("file", b"").is_err());
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn publish_fails_cleanly_when_output_appears() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let mut tree = DumpTree::create(&out).unwrap();
    tree.write_file("x", b"").unwrap();
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("intruder"), b"").unwrap();
    let err = tree.publish(None).unwrap_err();
    assert!(matches!(err, DumpError::Output { .. }), "{err}");
    assert!(staging_dirs(d.path()).is_empty());
    assert!(out.join("intruder").exists());
}
