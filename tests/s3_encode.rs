//! S3 encoder input checks: every malformed or unsafe input is a typed error naming the file;
//! bodies the pipeline reads only as it writes are checked against CHECKSUMS then.

use std::path::{Path, PathBuf};

use crate::s3_util::{big_tree, decode_s3, encode_s3, put, Collect};
use ekv_snapshot::adapters::s3::S3Encoder;
use ekv_snapshot::adapters::{AdapterError, Encoder};
use ekv_snapshot::dump::DumpError;
use sha2::Digest;

const BUCKET: &[u8] = b"{\"format_version\":1,\"name\":\"b\"}";
const SIDECAR: &[u8] = b"{\"format_version\":1,\"size_bytes\":2}";

fn tree() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().to_path_buf();
    put(&root, "s3/b/_bucket.json", BUCKET);
    put(&root, "s3/b/o", b"hi");
    put(&root, "s3/b/o.elastickv-meta.json", SIDECAR);
    (d, root)
}

type Records = Vec<(Vec<u8>, Vec<u8>)>;

fn encode(root: &Path) -> Result<Records, AdapterError> {
    let mut sink = Collect::default();
    S3Encoder::new(
        &Default::default(),
        &ekv_snapshot::adapters::EncodeContext {
            threads: 1,
            scratch_dir: std::env::temp_dir(),
            reader: ekv_snapshot::dump::TreeReader::unverified(root),
        },
    )
    .encode(root, &mut sink)
    .map(|()| sink.0)
}

/// The error's file, for the variants that name one.
fn path_of(e: &AdapterError) -> PathBuf {
    match e {
        AdapterError::BadFile { path, .. } => path.clone(),
        AdapterError::Dump(DumpError::Unsafe { path, .. })
        | AdapterError::Dump(DumpError::Io { path, .. }) => path.clone(),
        e => panic!("unexpected error {e:?}"),
    }
}

#[test]
fn a_valid_tree_encodes_and_no_s3_dir_is_nothing() {
    let (_d, root) = tree();
    assert_eq!(encode(&root).unwrap().len(), 4);
    let empty = tempfile::tempdir().unwrap();
    assert!(encode(empty.path()).unwrap().is_empty());
}

#[test]
fn bad_files_are_bad_file_errors_naming_the_file() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("s3/b/o.elastickv-meta.json", b"{\"format_version\":1,\"size_bytes\":3}", "size_bytes 3 != body length 2"),
        ("s3/b/o.elastickv-meta.json", b"{\"format_version\":2,\"size_bytes\":2}", "unsupported format_version 2"),
        ("s3/b/o.elastickv-meta.json", b"{\"format_version\":1,\"size_bytes\":\"2\"}", "invalid object sidecar"),
        ("s3/b/o.elastickv-meta.json", b"{} x", "invalid object sidecar"),
        ("s3/b/_bucket.json", b"{\"format_version\":1,\"name\":\"other\"}", "encodes to directory"),
        ("s3/b/_bucket.json", b"{\"format_version\":1}", "empty bucket name"),
        ("s3/b/_bucket.json", b"[", "invalid _bucket.json"),
        ("s3/b/KEYMAP.jsonl", b"{\"encoded\":\"o\",\"original\":\"eA\",\"kind\":\"weird\"}\n", "unknown kind"),
        ("s3/b/KEYMAP.jsonl", b"{\"encoded\":\"o\",\"original\":\"eA\",\"kind\":\"sha-fallback\"}\n{\"encoded\":\"o\",\"original\":\"eQ\",\"kind\":\"sha-fallback\"}\n", "duplicate"),
        ("s3/b/KEYMAP.jsonl", b"{\"encoded\":\"missing\",\"original\":\"eA\",\"kind\":\"sha-fallback\"}\n", "orphan keymap record"),
        ("s3/b/KEYMAP.jsonl", b"{\"encoded\":\"o\",\"original\":\"eA\",\"kind\":\"s3-leaf-data\"}\n", "lacks"),
        ("s3/b/_orphans/x/y.elastickv-meta.json", b"{}", "reserved dump directory"),
        ("s3/b/lonely.elastickv-meta.json", SIDECAR, "sidecar without its object body"),
        ("s3/b/nosidecar", b"x", "object body without its sidecar"),
        ("s3/stray-file", b"x", "must be bucket directories"),
    ];
    for (rel, bytes, want) in cases {
        let (_d, root) = tree();
        put(&root, rel, bytes);
        let e = encode(&root).unwrap_err();
        assert!(
            matches!(
                &e,
                AdapterError::BadFile { .. } | AdapterError::Dump(DumpError::Invalid { .. })
            ),
            "{rel}: {e:?}"
        );
        assert!(e.to_string().contains(want), "{rel}: {e}");
        let named = match &e {
            AdapterError::Dump(DumpError::Invalid { path, .. }) => path.clone(),
            e => path_of(e),
        };
        assert!(named.starts_with(&root), "{rel}: {e}");
    }
}

#[test]
fn links_and_special_files_are_refused() {
    let (_d, root) = tree();
    std::os::unix::fs::symlink(root.join("s3/b/o"), root.join("s3/b/link")).unwrap();
    let e = encode(&root).unwrap_err();
    assert!(
        matches!(&e, AdapterError::Dump(DumpError::Unsafe { .. })),
        "{e:?}"
    );
    assert_eq!(path_of(&e), root.join("s3/b/link"));

    let (_d, root) = tree();
    std::fs::hard_link(root.join("s3/b/o"), root.join("o-copy")).unwrap();
    let e = encode(&root).unwrap_err();
    assert!(
        matches!(&e, AdapterError::Dump(DumpError::Unsafe { .. })),
        "{e:?}"
    );
    assert_eq!(path_of(&e), root.join("s3/b/o"));

    let (_d, root) = tree();
    std::fs::remove_file(root.join("s3/b/_bucket.json")).unwrap();
    let e = encode(&root).unwrap_err();
    assert_eq!(path_of(&e), root.join("s3/b/_bucket.json"));
}

#[test]
fn keymap_restores_exact_keys_and_a_user_keymap_object_is_a_body() {
    let (_d, root) = tree();
    put(&root, "s3/b/a%2F", b"");
    put(
        &root,
        "s3/b/a%2F.elastickv-meta.json",
        b"{\"format_version\":1,\"size_bytes\":0}",
    );
    put(
        &root,
        "s3/b/KEYMAP.jsonl",
        b"{\"encoded\":\"a%2F\",\"original\":\"YS8\",\"kind\":\"sha-fallback\"}\n",
    );
    let keys: Vec<Vec<u8>> = encode(&root).unwrap().into_iter().map(|(k, _)| k).collect();
    assert!(keys.contains(&ekv_snapshot::adapters::s3::keys::manifest_key(b"b", 1, b"a/")));
    // KEYMAP.jsonl with a sidecar is a user object, not the tracker
    let (_d, root) = tree();
    put(&root, "s3/b/KEYMAP.jsonl", b"user data");
    put(
        &root,
        "s3/b/KEYMAP.jsonl.elastickv-meta.json",
        b"{\"format_version\":1,\"size_bytes\":9}",
    );
    let keys: Vec<Vec<u8>> = encode(&root).unwrap().into_iter().map(|(k, _)| k).collect();
    assert!(keys.contains(&ekv_snapshot::adapters::s3::keys::manifest_key(
        b"b",
        1,
        b"KEYMAP.jsonl"
    )));
}

// ---- Bodies checked against CHECKSUMS as their records are written (D15, A30) ----

/// Our decode of the README's big tree (bodies of 1 MiB, 2.5 MiB and 1 byte): a tree with
/// CHECKSUMS and MANIFEST.json, under `dir/dump`; and its encode.
fn checked_tree(dir: &Path) -> (PathBuf, Vec<u8>) {
    let tree = dir.join("tree");
    big_tree(&tree);
    std::fs::write(
        tree.join("MANIFEST.json"),
        std::fs::read(crate::s3_util::fixtures().join("small/MANIFEST.json")).unwrap(),
    )
    .unwrap();
    let fsm = dir.join("big.fsm");
    let bytes = encode_s3(&tree);
    std::fs::write(&fsm, &bytes).unwrap();
    (decode_s3(&fsm, dir, true), bytes)
}

fn encode_pipeline(
    root: &Path,
    budget: usize,
    threads: usize,
    verify: bool,
) -> Result<Vec<u8>, ekv_snapshot::Error> {
    use ekv_snapshot::adapters::Adapter;
    use ekv_snapshot::dump::Manifest;
    use ekv_snapshot::pipeline::{encode_snapshot, EncodeOptions};
    let m = Manifest::read(root).unwrap();
    let mut o = EncodeOptions::from_manifest(root.to_path_buf(), &m, Some(vec![Adapter::S3]), None).unwrap();
    o.sort_budget = budget;
    o.threads = threads;
    o.verify = verify;
    o.scratch_root = Some(root.parent().unwrap().to_path_buf());
    let mut out = Vec::new();
    encode_snapshot(&o, &mut out).map(|_| out)
}

/// The checksum error's file and text.
fn checksum_error(e: ekv_snapshot::Error) -> (PathBuf, String) {
    assert_eq!(e.kind(), ekv_snapshot::ErrorKind::Data, "{e}");
    match e {
        ekv_snapshot::Error::Dump(DumpError::Checksum { path, what })
        | ekv_snapshot::Error::Adapter(AdapterError::Dump(DumpError::Checksum { path, what })) => {
            (path, what)
        }
        e => panic!("expected a checksum error, got {e:?}"),
    }
}

/// Overwrite byte `at` of `path` (same size).
fn rot(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 1;
    std::fs::write(path, b).unwrap();
}

const BUDGETS_AND_THREADS: [(usize, usize); 4] = [(0, 1), (0, 4), (1 << 10, 2), (32 << 20, 3)];

#[test]
fn bit_rot_in_a_body_is_found_as_it_is_written_the_first_in_key_order_whatever_the_threads() {
    let d = tempfile::tempdir().unwrap();
    let (root, want) = checked_tree(d.path());
    for (budget, threads) in BUDGETS_AND_THREADS {
        assert_eq!(encode_pipeline(&root, budget, threads, true).unwrap(), want);
    }
    // The last byte of each large body: `nested/…` sorts before `one-mib.bin`.
    rot(&root.join("s3/big/one-mib.bin"), (1 << 20) - 1);
    let (path, what) = checksum_error(encode_pipeline(&root, 0, 2, true).unwrap_err());
    assert!(path.ends_with("s3/big/one-mib.bin"), "{}", path.display());
    assert!(what.starts_with("expected "), "{what}");
    rot(&root.join("s3/big/nested/two-and-half.bin"), (5 << 19) - 1);
    for (budget, threads) in BUDGETS_AND_THREADS {
        let (path, _) = checksum_error(encode_pipeline(&root, budget, threads, true).unwrap_err());
        assert!(
            path.ends_with("s3/big/nested/two-and-half.bin"),
            "{}",
            path.display()
        );
    }
    // --no-verify reads no byte twice and checks none.
    assert!(encode_pipeline(&root, 0, 2, false).is_ok());
}

#[test]
fn a_large_body_not_listed_in_checksums_or_missing_from_the_tree_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (root, _) = checked_tree(d.path());
    // A copy of a large body under a new name, its small sidecar listed, the body not.
    let dir = root.join("s3/big");
    std::fs::copy(dir.join("one-mib.bin"), dir.join("extra.bin")).unwrap();
    let sidecar = std::fs::read(dir.join("one-mib.bin.elastickv-meta.json")).unwrap();
    std::fs::write(dir.join("extra.bin.elastickv-meta.json"), &sidecar).unwrap();
    let line = format!(
        "{}  s3/big/extra.bin.elastickv-meta.json\n",
        hex::encode(sha2::Sha256::digest(&sidecar))
    );
    let mut list = std::fs::read(root.join("CHECKSUMS")).unwrap();
    list.extend_from_slice(line.as_bytes());
    std::fs::write(root.join("CHECKSUMS"), list).unwrap();
    for threads in [1, 3] {
        let (path, what) = checksum_error(encode_pipeline(&root, 0, threads, true).unwrap_err());
        assert!(path.ends_with("s3/big/extra.bin"), "{}", path.display());
        assert!(what.contains("not listed in CHECKSUMS"), "{what}");
    }
    // A listed large body gone (with its sidecar): every listed file was read, or missing.
    std::fs::remove_file(dir.join("extra.bin")).unwrap();
    std::fs::remove_file(dir.join("extra.bin.elastickv-meta.json")).unwrap();
    std::fs::remove_file(dir.join("one-mib.bin")).unwrap();
    std::fs::remove_file(dir.join("one-mib.bin.elastickv-meta.json")).unwrap();
    let (path, what) = checksum_error(encode_pipeline(&root, 0, 2, true).unwrap_err());
    assert!(path.ends_with("s3/big/one-mib.bin"), "{}", path.display());
    assert!(what.contains("missing"), "{what}");
}
