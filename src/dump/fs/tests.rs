//! Refusal tests of the safe I/O helpers: symlinks, hard links, FIFOs, `..` escapes.

use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

use super::*;

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn is_unsafe(r: Result<impl Sized, DumpError>, needle: &str) {
    match r {
        Err(e @ DumpError::Unsafe { .. }) => {
            assert!(e.to_string().contains(needle), "{e}");
            assert_eq!(e.kind(), crate::error_kind::ErrorKind::Data);
        }
        Err(e) => panic!("expected Unsafe({needle}), got {e}"),
        Ok(_) => panic!("expected Unsafe({needle}), got Ok"),
    }
}

#[test]
fn atomic_write_creates_replaces_and_sets_mode() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("f.json");
    atomic_write(&p, b"one", 0o600).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"one");
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    atomic_write(&p, b"two", 0o644).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"two");
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o644);
    // No temp file is left behind.
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
}

#[test]
fn atomic_write_refuses_symlink_and_directory() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("target");
    std::fs::write(&target, b"keep").unwrap();
    let link = d.path().join("link");
    symlink(&target, &link).unwrap();
    is_unsafe(atomic_write(&link, b"x", 0o600), "symbolic link");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    is_unsafe(atomic_write(&sub, b"x", 0o600), "not a regular file");
    // A missing parent is an I/O (usage) error, and leaves nothing behind.
    let err = atomic_write(&d.path().join("nope/f"), b"x", 0o600).unwrap_err();
    assert_eq!(err.kind(), crate::error_kind::ErrorKind::Usage);
}

#[test]
fn random_hex16_shape() {
    let a = random_hex16();
    assert_eq!(a.len(), 16);
    assert!(a
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_ne!(a, random_hex16());
}

#[test]
fn open_input_accepts_regular_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("f");
    std::fs::write(&p, b"data").unwrap();
    let mut s = String::new();
    open_input(&p).unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "data");
}

#[test]
fn open_input_refusals() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("f");
    std::fs::write(&p, b"data").unwrap();
    let link = d.path().join("link");
    symlink(&p, &link).unwrap();
    is_unsafe(open_input(&link), "symbolic link");
    let hard = d.path().join("hard");
    std::fs::hard_link(&p, &hard).unwrap();
    is_unsafe(open_input(&hard), "hard links");
    is_unsafe(open_input(&p), "hard links");
    let fifo = d.path().join("fifo");
    mkfifo(&fifo);
    is_unsafe(open_input(&fifo), "not a regular file");
    is_unsafe(open_input(d.path()), "not a regular file");
    let err = open_input(&d.path().join("missing")).unwrap_err();
    assert!(matches!(err, DumpError::Io { .. }), "{err}");
}

#[test]
fn read_input_reads_whole_files_of_any_size_and_refuses_like_open_input() {
    let d = tempfile::tempdir().unwrap();
    for len in [0usize, 1, 31, 32, 4096, 1 << 20, (1 << 20) + 7] {
        let p = d.path().join(format!("f{len}"));
        let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(read_input(&p).unwrap(), bytes, "{len} bytes");
    }
    let p = d.path().join("f1");
    symlink(&p, d.path().join("link")).unwrap();
    is_unsafe(read_input(&d.path().join("link")), "symbolic link");
    std::fs::hard_link(&p, d.path().join("hard")).unwrap();
    is_unsafe(read_input(&p), "hard links");
    let fifo = d.path().join("fifo");
    mkfifo(&fifo);
    is_unsafe(read_input(&fifo), "not a regular file");
    is_unsafe(read_input(d.path()), "not a regular file");
}

#[test]
fn staged_file_replaces_by_rename_never_in_place() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.json");
    std::fs::write(&p, b"old content").unwrap();
    let old_inode = std::fs::metadata(&p).unwrap().ino();
    let mut f = StagedFile::create(&p, 0o600).unwrap();
    f.write_all(b"x").unwrap();
    // Until published, the target is untouched.
    assert_eq!(std::fs::read(&p).unwrap(), b"old content");
    let temp = f.temp_path().to_path_buf();
    publish(vec![f]).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"x");
    assert_ne!(
        std::fs::metadata(&p).unwrap().ino(),
        old_inode,
        "renamed, not rewritten"
    );
    assert!(!temp.exists());
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    // Dropped unpublished: the temporary goes, the target stays.
    let f = StagedFile::create(&p, 0o600).unwrap();
    let temp = f.temp_path().to_path_buf();
    assert!(temp.exists());
    drop(f);
    assert!(!temp.exists());
    assert_eq!(std::fs::read(&p).unwrap(), b"x");
}

#[test]
fn publish_renames_in_order_and_rechecks_targets_first() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    let mut fa = StagedFile::create(&a, 0o600).unwrap();
    fa.write_all(b"A").unwrap();
    let fb = StagedFile::create(&b, 0o600).unwrap();
    // `b` became a directory after staging: nothing is renamed.
    std::fs::create_dir(&b).unwrap();
    is_unsafe(publish(vec![fa, fb]), "directory");
    assert!(!a.exists());
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("b")], "temporaries removed");
}

#[test]
fn staged_file_refusals_leave_the_target_alone() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("target");
    std::fs::write(&target, b"keep").unwrap();
    let link = d.path().join("link");
    symlink(&target, &link).unwrap();
    is_unsafe(StagedFile::create(&link, 0o600), "symbolic link");
    let dangling = d.path().join("dangling");
    symlink(d.path().join("nowhere"), &dangling).unwrap();
    is_unsafe(StagedFile::create(&dangling, 0o600), "symbolic link");
    assert!(!d.path().join("nowhere").exists());
    let hard = d.path().join("hard");
    std::fs::hard_link(&target, &hard).unwrap();
    is_unsafe(StagedFile::create(&hard, 0o600), "hard links");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    let fifo = d.path().join("fifo");
    mkfifo(&fifo);
    is_unsafe(StagedFile::create(&fifo, 0o600), "not a regular file");
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    is_unsafe(StagedFile::create(&sub, 0o600), "directory");
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn stale_temps_of_a_target_are_removed_and_nothing_else() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("out.fsm");
    std::fs::write(d.path().join("out.fsm.tmp-0123456789abcdef"), b"debris").unwrap();
    std::fs::write(d.path().join("out.fsm.tmp-0123"), b"not ours").unwrap();
    std::fs::write(d.path().join("other.fsm.tmp-0123456789abcdef"), b"not ours").unwrap();
    std::fs::create_dir(d.path().join("out.fsm.tmp-fedcba9876543210")).unwrap();
    assert_eq!(remove_stale_temps(&t).unwrap(), 1);
    assert!(!d.path().join("out.fsm.tmp-0123456789abcdef").exists());
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 3);
}

#[test]
fn output_lock_is_exclusive_and_names_the_holder() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out.fsm");
    let held = OutputLock::acquire(&out).unwrap();
    assert_eq!(
        std::fs::read_to_string(&held.path).unwrap().trim(),
        std::process::id().to_string()
    );
    // flock locks belong to the open file description: a second open conflicts, even in
    // the same process.
    match OutputLock::acquire(&out) {
        Err(DumpError::Locked { holder, .. }) => assert_eq!(holder, std::process::id().to_string()),
        other => panic!("{other:?}"),
    }
    let path = held.path.to_path_buf();
    drop(held);
    assert!(!path.exists(), "the holder removes the lock file");
    let again = OutputLock::acquire(&out).unwrap();
    assert!(again.path.exists());
}

#[test]
fn read_input_max_refuses_from_fstat_before_reading() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.bin");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(1 << 40).unwrap(); // sparse 1 TiB: reading it would never end
    drop(f);
    match read_input_max(&p, 1 << 20) {
        Err(DumpError::TooLarge { len, max, .. }) => assert_eq!((len, max), (1 << 40, 1 << 20)),
        other => panic!("{other:?}"),
    }
    std::fs::write(&p, b"12345").unwrap();
    assert_eq!(read_input_max(&p, 5).unwrap(), b"12345");
    assert!(matches!(
        read_input_max(&p, 4),
        Err(DumpError::TooLarge { len: 5, .. })
    ));
}

#[test]
fn data_entries_refuse_links_specials_and_suffixed_directories() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(dir.join("a.bin"), b"").unwrap();
    std::fs::write(dir.join("notes.txt"), b"").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::create_dir(dir.join("dir.bin")).unwrap();
    symlink(dir.join("a.bin"), dir.join("link.bin")).unwrap();
    symlink(dir.join("a.bin"), dir.join("link.txt")).unwrap();
    mkfifo(&dir.join("fifo.bin"));
    let mut seen = Vec::new();
    for e in list_dir(dir).unwrap().unwrap() {
        let name = e.name.to_string_lossy().into_owned();
        match data_file_stem(&e, ".bin") {
            Ok(stem) => seen.push((name, stem.map(str::to_owned))),
            Err(DumpError::Unsafe { path, .. }) => {
                seen.push((name, Some(format!("REFUSED {}", path == e.path))))
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    let r = |s: &str| Some(s.to_owned());
    assert_eq!(
        seen,
        vec![
            ("a.bin".into(), r("a")),
            ("dir.bin".into(), r("REFUSED true")),
            ("fifo.bin".into(), r("REFUSED true")),
            ("link.bin".into(), r("REFUSED true")),
            ("link.txt".into(), r("REFUSED true")),
            ("notes.txt".into(), None),
            ("sub".into(), None),
        ]
    );
}

#[test]
fn list_dir_sorted_no_follow() {
    let d = tempfile::tempdir().unwrap();
    assert!(list_dir(&d.path().join("missing")).unwrap().is_none());
    std::fs::write(d.path().join("b"), b"").unwrap();
    std::fs::write(d.path().join("B"), b"").unwrap();
    std::fs::create_dir(d.path().join("a")).unwrap();
    symlink(d.path().join("a"), d.path().join("c")).unwrap();
    mkfifo(&d.path().join("f"));
    let entries = list_dir(d.path()).unwrap().unwrap();
    let got: Vec<_> = entries
        .iter()
        .map(|e| (e.name.to_str().unwrap(), e.kind.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("B", EntryKind::File),
            ("a", EntryKind::Dir),
            ("b", EntryKind::File),
            ("c", EntryKind::Symlink),
            ("f", EntryKind::Other)
        ]
    );
    assert_eq!(entries[1].path, d.path().join("a"));
    is_unsafe(list_dir(&d.path().join("c")), "symbolic link");
    is_unsafe(list_dir(&d.path().join("b")), "not a directory");
}

#[test]
fn check_relative_rules() {
    for ok in [
        "a",
        "a/b.json",
        "redis/db_0/strings/%00.bin",
        ".hidden",
        "..x/y",
        "a/.b",
    ] {
        check_relative(ok).unwrap();
    }
    for (bad, why) in [
        ("", "empty path"),
        ("/abs", "absolute"),
        ("../x", "escapes"),
        ("a/../../x", "escapes"),
        ("a/..", "escapes"),
        ("a//b", "empty path component"),
        ("a/", "empty path component"),
        ("./a", "`.`"),
        ("a\0b", "NUL"),
    ] {
        is_unsafe(check_relative(bad), why);
    }
}

#[test]
fn fsync_dir_works_and_reports_missing() {
    let d = tempfile::tempdir().unwrap();
    fsync_dir(d.path()).unwrap();
    assert!(fsync_dir(&d.path().join("missing")).is_err());
}

#[test]
fn writeback_writer_passes_every_byte_through_across_chunks() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("out");
    let file = std::fs::File::create(&p).unwrap();
    let len = 2 * WRITEBACK_CHUNK as usize + 12_345;
    let bytes: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let mut w = WritebackWriter::new(&file);
    for piece in bytes.chunks(1_000_003) {
        w.write_all(piece).unwrap();
    }
    w.flush().unwrap();
    // Write-back was started, and what is left for the final fsync is under one chunk.
    assert_eq!(w.written, len as u64);
    assert!(w.started >= WRITEBACK_CHUNK && w.written - w.started < WRITEBACK_CHUNK);
    assert!(std::fs::read(&p).unwrap() == bytes);
}
