//! CHECKSUMS line format and `verify` rules (s3_tree_pipeline.md §8, Go checksums_test.go).

use std::os::unix::fs::symlink;

use super::*;
use crate::dump::DumpTree;

const D0: [u8; 32] = [0u8; 32];

fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A root with the given files and a CHECKSUMS of the given text.
fn root_with(files: &[(&str, &[u8])], list: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        let p = d.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    std::fs::write(d.path().join("CHECKSUMS"), list).unwrap();
    d
}

#[test]
fn line_plain_and_escaped() {
    let zeros = "0".repeat(64);
    assert_eq!(
        line("redis/db_0/strings/k.bin", &D0),
        format!("{zeros}  redis/db_0/strings/k.bin\n").into_bytes()
    );
    assert_eq!(line("x\ny", &D0), format!("\\{zeros}  x\\ny\n").into_bytes());
    assert_eq!(
        line("a\\b\rc", &D0),
        format!("\\{zeros}  a\\\\b\\rc\n").into_bytes()
    );
    let mut d = [0u8; 32];
    d[0] = 0xAB;
    assert!(line("p", &d).starts_with(b"ab00"));
}

#[test]
fn escape_round_trip() {
    for rel in ["x\ny", "a\\b", "c\rd", "\\\\", "plain"] {
        let l = line(rel, &D0);
        let text = l.strip_suffix(b"\n").unwrap();
        let (dg, path) = parse_line(text).unwrap();
        assert_eq!((dg, path.as_slice()), (D0, rel.as_bytes()));
    }
}

#[test]
fn dangling_or_unknown_escape_rejected() {
    let zeros = "0".repeat(64);
    for bad in [format!("\\{zeros}  a\\"), format!("\\{zeros}  a\\x")] {
        assert!(parse_line(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn verify_happy_path_both_separators_and_blank_lines() {
    let list = format!("{}  a/b\n\n{} *c\r\n", digest(b"1"), digest(b"2"));
    let d = root_with(&[("a/b", b"1"), ("c", b"2")], &list);
    assert_eq!(verify(d.path()).unwrap(), 2);
}

#[test]
fn verify_detects_tampering_and_missing_file() {
    let list = format!("{}  a\n", digest(b"1"));
    let d = root_with(&[("a", b"2")], &list);
    let err = verify(d.path()).unwrap_err();
    assert!(
        matches!(err, DumpError::Checksum { .. }) && err.to_string().contains("expected"),
        "{err}"
    );
    let d = root_with(&[], &list);
    let err = verify(d.path()).unwrap_err();
    assert!(
        matches!(err, DumpError::Checksum { .. }) && err.to_string().contains("missing"),
        "{err}"
    );
    let d = root_with(&[("f", b"")], &format!("{}  f/under-a-file\n", digest(b"")));
    assert!(matches!(verify(d.path()), Err(DumpError::Checksum { .. })));
}

#[test]
fn verify_rejects_malformed_lines() {
    let h = digest(b"");
    for list in [
        format!("{}  a\n", h.to_uppercase()),
        format!("{h} a\n"),
        format!("{h}\ta\n"),
        format!("{h}  \n"),
        format!("{h}  .\n"),
        "short\n".to_owned(),
        format!("{}  a\n", &h[..63]),
        format!("{}  {}\n", h, "x".repeat(9000)),
    ] {
        let d = root_with(&[("a", b"")], &list);
        let err = verify(d.path()).unwrap_err();
        assert!(matches!(err, DumpError::Invalid { .. }), "{list:?}: {err}");
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}

#[test]
fn verify_rejects_traversal() {
    let h = digest(b"");
    for p in ["../x", "/etc/passwd", "a/../../x"] {
        let d = root_with(&[("a", b"")], &format!("{h}  {p}\n"));
        let err = verify(d.path()).unwrap_err();
        assert!(matches!(err, DumpError::Unsafe { .. }), "{p}: {err}");
    }
    // A `..` that stays inside is local (Go filepath.IsLocal).
    let d = root_with(&[("a", b"")], &format!("{h}  b/../a\n"));
    assert_eq!(verify(d.path()).unwrap(), 1);
    let d = root_with(&[("a", b"")], &format!("{h}  a/..\n"));
    assert!(matches!(verify(d.path()), Err(DumpError::Invalid { .. })));
}

#[test]
fn verify_rejects_terminal_and_intermediate_symlinks() {
    let h = digest(b"x");
    let d = root_with(&[("real/f", b"x")], &format!("{h}  link\n"));
    symlink(d.path().join("real/f"), d.path().join("link")).unwrap();
    let err = verify(d.path()).unwrap_err();
    assert!(
        matches!(err, DumpError::Unsafe { .. }) && err.to_string().contains("symbolic link"),
        "{err}"
    );
    let d = root_with(&[("real/f", b"x")], &format!("{h}  dir/f\n"));
    symlink(d.path().join("real"), d.path().join("dir")).unwrap();
    assert!(matches!(verify(d.path()), Err(DumpError::Unsafe { .. })));
}

#[test]
fn verify_rejects_empty_lists() {
    for list in ["", "\n\n  \n"] {
        let d = root_with(&[], list);
        let err = verify(d.path()).unwrap_err();
        assert!(err.to_string().contains("lists no files"), "{err}");
    }
    let d = tempfile::tempdir().unwrap();
    assert!(matches!(verify(d.path()), Err(DumpError::Io { .. })));
}

#[test]
fn verify_a_published_tree_of_many_files() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let mut tree = DumpTree::create(&out).unwrap();
    for i in 0..64 {
        tree.write_file(&format!("dir{}/f{i}", i % 4), &vec![i as u8; 70_000])
            .unwrap();
    }
    tree.write_file("odd\nname\\x", b"z").unwrap();
    tree.publish(None).unwrap();
    assert_eq!(verify(&out).unwrap(), 65);
}

proptest::proptest! {
    #[test]
    fn line_parse_round_trip(rel in "[a-z\\\\\n\r/ *é.]{1,40}", d in proptest::array::uniform32(proptest::prelude::any::<u8>())) {
        // `.` names no file: the verifier refuses it as malformed (a separate test pins that).
        proptest::prop_assume!(rel != ".");
        let l = line(&rel, &d);
        let text = l.strip_suffix(b"\n").unwrap();
        // One line only: every newline in the path is escaped.
        proptest::prop_assert!(!text.contains(&b'\n'));
        let (dg, path) = parse_line(text).unwrap();
        proptest::prop_assert_eq!(dg, d);
        proptest::prop_assert_eq!(path, rel.into_bytes());
    }
}

#[test]
fn dot_and_empty_paths_are_malformed() {
    let hex = "ab".repeat(32);
    for p in [".", ""] {
        let l = format!("{hex}  {p}");
        assert!(parse_line(l.as_bytes()).is_err(), "{p:?}");
    }
}

#[test]
fn tree_reader_finds_every_listed_file_across_blocks_and_flags_the_rest() {
    // 3 blocks and a bit of entries: every file is found (first, last, block edges), an
    // unlisted one is refused, a wrong one mismatches, and an unread listed file that is
    // gone is reported missing.
    let n = 3 * BLOCK + 5;
    let files: Vec<(String, Vec<u8>)> = (0..n).map(|i| (format!("a/f{i}"), vec![i as u8; 3])).collect();
    let (d, _scratch, reader) = reader_over(&files);
    for (rel, b) in files.iter().skip(1) {
        assert_eq!(&reader.read(&d.path().join(rel), 100).unwrap(), b);
    }
    std::fs::write(d.path().join("a/extra"), b"x").unwrap();
    assert!(matches!(
        reader.read(&d.path().join("a/extra"), 100),
        Err(DumpError::Checksum { what, .. }) if what.contains("not listed")
    ));
    std::fs::write(d.path().join("a/f7"), b"changed").unwrap();
    assert!(matches!(
        reader.read(&d.path().join("a/f7"), 100),
        Err(DumpError::Checksum { what, .. }) if what.contains("expected")
    ));
    reader.check_none_missing(&["a"]).unwrap();
    std::fs::remove_file(d.path().join("a/f0")).unwrap();
    assert!(matches!(
        reader.check_none_missing(&["a"]),
        Err(DumpError::Checksum { path, .. }) if path.ends_with("a/f0")
    ));
}

/// A verified reader over `files` (with their CHECKSUMS) and the tempdirs holding them.
fn reader_over(files: &[(String, Vec<u8>)]) -> (tempfile::TempDir, tempfile::TempDir, TreeReader) {
    let list: String = files
        .iter()
        .map(|(rel, b)| format!("{}  {rel}\n", digest(b)))
        .collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(r, b)| (r.as_str(), b.as_slice())).collect();
    let d = root_with(&refs, &list);
    let scratch = tempfile::tempdir().unwrap();
    let (reader, v) = TreeReader::new(d.path(), true, scratch.path()).unwrap();
    assert_eq!(v, Verification::Verified);
    (d, scratch, reader)
}

#[test]
fn each_top_directory_is_one_range_and_a_fully_read_one_needs_no_rescan() {
    // Interleaved in CHECKSUMS, the tops' entries still form one range each.
    let files: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("{}/f{i}", ["a", "b", "c"][i % 3]), vec![i as u8]))
        .collect();
    let (d, _s, reader) = reader_over(&files);
    let exp = reader.expected.as_ref().unwrap();
    assert_eq!(exp.starts, vec![0, 67, 134, 200]);
    for (rel, b) in files.iter().filter(|(r, _)| !r.starts_with('b')) {
        assert_eq!(&reader.read(&d.path().join(rel), 10).unwrap(), b);
    }
    assert!(exp.all_seen(0) && !exp.all_seen(1) && exp.all_seen(2));
    // Every file of a/ and c/ was read: no rescan of CHECKSUMS (it is gone, and not missed).
    std::fs::remove_file(d.path().join("CHECKSUMS")).unwrap();
    reader.check_none_missing(&["a", "c", "never-listed"]).unwrap();
    // b/ was not read: the rescan runs (and here cannot open CHECKSUMS).
    assert!(matches!(
        reader.check_none_missing(&["a", "b"]),
        Err(DumpError::Io { path, .. }) if path.ends_with("CHECKSUMS")
    ));
}

#[test]
fn more_than_255_top_directories_share_the_last_number() {
    let files: Vec<(String, Vec<u8>)> = (0..300).map(|i| (format!("t{i}/f"), vec![i as u8])).collect();
    let (d, _s, reader) = reader_over(&files);
    let exp = reader.expected.as_ref().unwrap();
    assert_eq!(exp.tops.number(b"t254/f"), Some(254));
    assert_eq!(exp.tops.number(b"t299/f"), Some(Tops::OTHERS));
    assert_eq!(exp.tops.number(b"t300/f"), Some(Tops::OTHERS));
    for (rel, b) in files.iter().filter(|(r, _)| r != "t3/f" && r != "t280/f") {
        assert_eq!(&reader.read(&d.path().join(rel), 10).unwrap(), b);
    }
    reader.check_none_missing(&["t3", "t280", "t290"]).unwrap();
    std::fs::remove_file(d.path().join("t280/f")).unwrap();
    assert!(matches!(
        reader.check_none_missing(&["t290", "t280"]),
        Err(DumpError::Checksum { path, .. }) if path.ends_with("t280/f")
    ));
    std::fs::create_dir(d.path().join("t300")).unwrap();
    std::fs::write(d.path().join("t300/f"), b"x").unwrap();
    assert!(matches!(
        reader.read(&d.path().join("t300/f"), 10),
        Err(DumpError::Checksum { what, .. }) if what.contains("not listed")
    ));
}
