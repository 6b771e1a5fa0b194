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

/// Write a file and wait for it: its own failure.
fn write_now(tree: &mut DumpTree, rel: &str, bytes: &[u8]) -> Result<(), DumpError> {
    tree.write_file(rel, bytes)?;
    tree.settle()
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
        assert_eq!(err.kind(), crate::error_kind::ErrorKind::Usage);
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
    let err = write_now(&mut tree, "dup", b"2").unwrap_err();
    assert!(err.to_string().contains("written twice"), "{err}");
    let f = tree.create_file("dup").unwrap();
    tree.finish_file(f).unwrap();
    assert!(tree.settle().is_err());
    // A file where a directory is needed.
    assert!(write_now(&mut tree, "dup/child", b"").is_err());
}

#[test]
fn refuses_symlink_planted_in_staging() {
    let d = tempfile::tempdir().unwrap();
    let elsewhere = d.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let mut tree = DumpTree::create(&d.path().join("o")).unwrap();
    symlink(&elsewhere, tree.root().join("redis")).unwrap();
    let err = write_now(&mut tree, "redis/x", b"").unwrap_err();
    assert!(matches!(err, DumpError::Unsafe { .. }), "{err}");
    symlink(elsewhere.join("f"), tree.root().join("file")).unwrap();
    assert!(write_now(&mut tree, "file", b"").is_err());
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

/// The CHECKSUMS paths of a published tree.
fn listed_paths(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("CHECKSUMS"))
        .unwrap()
        .lines()
        .map(|l| l.split_once("  ").unwrap().1.to_owned())
        .collect()
}

#[test]
fn checksums_byte_order_not_walk_order() {
    // A directory walk visits `a/` (and `a/b`) as the entry `a`, before `a.txt`; byte order
    // puts `a.txt` (0x2E) before `a/b` (0x2F). CHECKSUMS is byte-sorted, in memory and when
    // the sort spills (budget 0: every record is its own run).
    // A scratch tree (not durable: no syncfs) publishes the same files.
    for (budget, durable) in [(CHECKSUM_SORT_BUDGET, true), (0, true), (0, false)] {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        let options = TreeOptions {
            checksum_budget: budget,
            durable,
            ..TreeOptions::default()
        };
        let mut tree = DumpTree::create_with(&out, &options).unwrap();
        for rel in ["a/b", "a-", "a.txt", "a0", "a/a"] {
            tree.write_file(rel, rel.as_bytes()).unwrap();
        }
        let stats = tree.publish(None).unwrap();
        assert_eq!(stats.files, 6);
        assert_eq!(
            listed_paths(&out),
            ["a-", "a.txt", "a/a", "a/b", "a0"],
            "budget {budget}"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("CHECKSUMS"))
                .unwrap()
                .lines()
                .nth(1),
            Some(format!("{}  a.txt", hex::encode(Sha256::digest(b"a.txt"))).as_str())
        );
    }
}

#[test]
fn spilled_checksums_match_in_memory_ones_and_stay_out_of_the_tree() {
    let build = |budget: usize, scratch: Option<PathBuf>| {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        let options = TreeOptions {
            scratch_dir: scratch,
            checksum_budget: budget,
            ..TreeOptions::default()
        };
        let mut tree = DumpTree::create_with(&out, &options).unwrap();
        // Reverse order across directories, so that the sort has work to do.
        for i in (0..1000u32).rev() {
            let rel = format!("d{}/f{i}", i % 7);
            tree.write_file(&rel, &i.to_le_bytes()).unwrap();
        }
        let stats = tree.publish(None).unwrap();
        let list = std::fs::read(out.join("CHECKSUMS")).unwrap();
        // Only the files written, CHECKSUMS and the 7 directories are in the tree.
        let entries: usize = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    std::fs::read_dir(e.path()).unwrap().count()
                } else {
                    1
                }
            })
            .sum();
        assert_eq!(entries, 1001);
        assert_eq!(stats.files, 1001);
        (list, stats.bytes)
    };
    let scratch = tempfile::tempdir().unwrap();
    let in_memory = build(CHECKSUM_SORT_BUDGET, None);
    // 2 KiB: a few dozen records per run; budget 0 below: one run per record, more than
    // MAX_FAN_IN runs (merge passes).
    let spilled = build(2048, Some(scratch.path().to_owned()));
    assert_eq!(in_memory, spilled);
    // Spill files are anonymous: nothing is left in the scratch directory.
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    let spilled_default_scratch = build(0, None);
    assert_eq!(in_memory, spilled_default_scratch);
}

#[test]
fn unusable_scratch_dir_is_an_error_naming_it() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("no-such-scratch");
    let options = TreeOptions {
        scratch_dir: Some(missing.clone()),
        checksum_budget: 0,
        ..TreeOptions::default()
    };
    let mut tree = DumpTree::create_with(&d.path().join("o"), &options).unwrap();
    // The first record fits the (empty) buffer; the second spills it.
    tree.write_file("x", b"1").unwrap();
    let err = write_now(&mut tree, "y", b"2").unwrap_err();
    assert!(matches!(err, DumpError::Io { .. }), "{err}");
    assert!(err.to_string().contains("no-such-scratch"), "{err}");
    drop(tree);
    assert!(staging_dirs(d.path()).is_empty());
}

#[test]
fn streamed_files_of_every_size_are_written_and_hashed() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let mut tree = DumpTree::create(&out).unwrap();
    let data: Vec<u8> = (0..3 * FILE_BUFFER + 17).map(|i| (i % 251) as u8).collect();
    // Chunk sizes below, at and above the buffer, and a mix.
    let plans: [&[usize]; 5] = [
        &[0],
        &[1, 2, 3],
        &[FILE_BUFFER, 1],
        &[FILE_BUFFER - 1, 2, FILE_BUFFER + 5],
        &[7, 2 * FILE_BUFFER + 3, 100],
    ];
    let mut want = Vec::new();
    for (n, plan) in plans.iter().enumerate() {
        let rel = format!("s/{n}");
        let mut f = tree.create_file(&rel).unwrap();
        let mut at = 0;
        for &len in plan.iter() {
            f.write_all(&data[at..at + len]).unwrap();
            at += len;
        }
        if n == 3 {
            f.flush().unwrap();
            tree.settle().unwrap();
            assert_eq!(std::fs::read(tree.root().join(&rel)).unwrap().len(), at);
        }
        assert_eq!(f.len(), at as u64);
        tree.finish_file(f).unwrap();
        want.push((rel, data[..at].to_vec()));
    }
    tree.publish(None).unwrap();
    let list = std::fs::read_to_string(out.join("CHECKSUMS")).unwrap();
    for (rel, bytes) in &want {
        assert_eq!(&std::fs::read(out.join(rel)).unwrap(), bytes, "{rel}");
        assert!(list.contains(&format!("{}  {rel}\n", hex::encode(Sha256::digest(bytes)))));
    }
}

#[test]
fn directory_cache_follows_changes_and_refuses_swapped_ancestors() {
    let d = tempfile::tempdir().unwrap();
    let elsewhere = d.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = d.path().join("o");
    let mut tree = DumpTree::create(&out).unwrap();
    // Back and forth between directories, and a file at the root in between.
    for rel in ["p/q/1", "p/r/2", "p/q/3", "top", "p/4", "p/q/5"] {
        tree.write_file(rel, rel.as_bytes()).unwrap();
    }
    tree.ensure_dir("p/q/empty").unwrap();
    // A known directory replaced by a symlink behind our back: the cached descriptor of the
    // last directory still points at the real one; a fresh walk refuses the symlink.
    let root = tree.root().to_owned();
    tree.settle().unwrap();
    std::fs::rename(root.join("p/r"), d.path().join("moved")).unwrap();
    symlink(&elsewhere, root.join("p/r")).unwrap();
    let err = write_now(&mut tree, "p/r/6", b"").unwrap_err();
    assert!(matches!(err, DumpError::Unsafe { .. }), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    std::fs::remove_file(root.join("p/r")).unwrap();
    tree.write_file("p/q/7", b"7").unwrap();
    tree.publish(None).unwrap();
    assert_eq!(
        listed_paths(&out),
        ["p/4", "p/q/1", "p/q/3", "p/q/5", "p/q/7", "p/r/2", "top"]
    );
    assert!(out.join("p/q/empty").is_dir());
    assert_eq!(std::fs::read(out.join("p/q/3")).unwrap(), b"p/q/3");
}

#[test]
fn the_known_directory_cache_is_bounded_and_a_forgotten_directory_is_reused() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("dump");
    let mut tree = DumpTree::create(&out).unwrap();
    for i in 0..KNOWN_DIRS_CAP + 10 {
        write_now(&mut tree, &format!("t/items/h{i}/0.json"), b"{}").unwrap();
        assert!(tree.writer.handle().with_state(|w| w.dirs.len()) <= KNOWN_DIRS_CAP);
    }
    // `t/items/h0` was forgotten: it is met again (EEXIST) and a second file lands in it.
    write_now(&mut tree, "t/items/h0/1.json", b"{}").unwrap();
    assert!(write_now(&mut tree, "t/items/h0/1.json", b"{}").is_err());
    tree.publish(None).unwrap();
    assert!(out.join("t/items/h0/0.json").is_file() && out.join("t/items/h0/1.json").is_file());
    let listed = std::fs::read_to_string(out.join("CHECKSUMS"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(listed, KNOWN_DIRS_CAP + 11);
}

#[test]
fn writes_behind_report_their_first_failure_in_order_for_any_thread_count() {
    for threads in [1, 2, 4] {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        let options = TreeOptions {
            threads,
            ..TreeOptions::default()
        };
        let mut tree = DumpTree::create_with(&out, &options).unwrap();
        let root = tree.root().to_owned();
        std::fs::create_dir_all(root.join("x/blocked")).unwrap();
        for i in 0..500 {
            tree.write_file(&format!("a/{i}"), i.to_string().as_bytes())
                .unwrap();
        }
        tree.write_file("x/blocked", b"first failure").unwrap();
        tree.write_file("a/7", b"second failure").unwrap();
        let mut f = tree.create_file("big").unwrap();
        f.write_all(&vec![7; 5 * FILE_BUFFER + 3]).unwrap();
        tree.finish_file(f).unwrap();
        let err = tree.settle().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: refused: written twice in one tree",
                root.join("x/blocked").display()
            ),
            "{threads} threads"
        );
        // Reported once; the later failure was dropped; a failed file is not recorded.
        tree.settle().unwrap();
        std::fs::remove_dir_all(root.join("x")).unwrap();
        tree.publish(None).unwrap();
        let listed = listed_paths(&out);
        assert_eq!(listed.len(), 501, "{threads} threads");
        assert!(!listed.contains(&"x/blocked".to_owned()));
        assert_eq!(std::fs::read(out.join("a/7")).unwrap(), b"7");
        assert_eq!(std::fs::read(out.join("big")).unwrap().len(), 5 * FILE_BUFFER + 3);
    }
}
