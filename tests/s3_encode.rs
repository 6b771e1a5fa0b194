//! S3 encoder input checks: every malformed or unsafe input is a typed error naming the file.

use std::path::{Path, PathBuf};

use crate::s3_util::{put, Collect};
use ekv_snapshot::adapters::s3::S3Encoder;
use ekv_snapshot::adapters::{AdapterError, Encoder};
use ekv_snapshot::dump::DumpError;

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
