//! Tests that need a hook inside the encode, so live beside the code: the self-test catches
//! a corrupted output before it is published (the corruption hook is test-only), and a body
//! changed between the walk and the write of its records is refused.

use std::fs;
use std::path::Path;

use super::*;
use crate::adapters::AdapterOptions;
use crate::pipeline::{decode_snapshot, DecodeOptions, NoProgress};

/// Drop the last byte of the produced stream: the self-test's decode must notice.
fn truncate_one_byte(p: &Path) {
    let f = fs::OpenOptions::new().write(true).open(p).unwrap();
    let n = f.metadata().unwrap().len();
    f.set_len(n - 1).unwrap();
}

/// Flip one bit of a string body in place: the decoded file then differs from the input.
fn flip_greeting(p: &Path) {
    let mut b = fs::read(p).unwrap();
    let at = b.windows(5).position(|w| w == b"hello").unwrap();
    b[at] ^= 0x20;
    fs::write(p, b).unwrap();
}

#[test]
fn corrupted_self_test_buffer_is_detected_and_never_published() {
    for hook in [truncate_one_byte as fn(&Path), flip_greeting] {
        corrupted_buffer_case(hook);
    }
}

fn corrupted_buffer_case(hook: fn(&Path)) {
    let d = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample.fsm");
    let root = d.path().join("dump");
    decode_snapshot(&sample, &DecodeOptions::new(&root), &mut NoProgress).unwrap();
    let manifest = Manifest::read(&root).unwrap();
    let out = d.path().join("out.fsm");
    let opts = EncodeFileOptions {
        encode: EncodeOptions::from_manifest(root.clone(), &manifest, None, None).unwrap(),
        output: out.clone(),
        overridden: false,
        self_test: SelfTestMode::Content,
        manifest,
        input_arg: "dump".into(),
        output_arg: "out.fsm".into(),
        corrupt_for_test: Some(hook),
    };
    let err = encode_to_file(&opts, &mut NoProgress).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Data);
    assert!(!out.exists());
    assert!(d.path().join("out.fsm.mismatch.txt").exists());
    let names: Vec<String> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

/// Walk the S3 tree at `root` into a sorting sink (bodies of 64 KiB and more are not read),
/// run `between`, then write the records.
fn walk_then_write(root: &Path, threads: usize, between: impl FnOnce()) -> Result<Vec<u8>, Error> {
    let reader = TreeReader::unverified(root);
    let cx = EncodeContext {
        threads,
        scratch_dir: root.to_path_buf(),
        reader: reader.clone(),
    };
    let mut progress = NoProgress;
    let mut sink = SortingSink::new(1, DEFAULT_SORT_BUDGET, root, &mut progress)?;
    let mut encoder = Adapter::S3.encoder(&AdapterOptions::default(), &cx).unwrap();
    encoder.encode(root, &mut sink)?;
    between();
    let mut out = Vec::new();
    write_sorted(sink, &reader, &mut out)?;
    Ok(out)
}

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

#[test]
fn a_body_changed_between_the_walk_and_the_write_is_refused_naming_it() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    put(root, "s3/b/_bucket.json", br#"{"format_version":1,"name":"b"}"#);
    let body = root.join("s3/b/o");
    let len = (1 << 20) + 70_000;
    put(root, "s3/b/o", &vec![7u8; len]);
    put(
        root,
        "s3/b/o.elastickv-meta.json",
        format!(r#"{{"format_version":1,"size_bytes":{len}}}"#).as_bytes(),
    );
    let want = walk_then_write(root, 1, || {}).unwrap();
    assert!(want.len() > len, "the body is in the stream");
    // Same size, other bytes; shorter than stamped; replaced by a copy.
    let changes: [&dyn Fn(); 3] = [
        &|| fs::write(&body, vec![8u8; len]).unwrap(),
        &|| fs::write(&body, vec![7u8; len - 1]).unwrap(),
        &|| {
            let copy = root.join("copy");
            fs::write(&copy, vec![7u8; len]).unwrap();
            fs::rename(&copy, &body).unwrap();
        },
    ];
    for (i, change) in changes.iter().enumerate() {
        for threads in [1, 3] {
            put(root, "s3/b/o", &vec![7u8; len]);
            let err = walk_then_write(root, threads, || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                change();
            })
            .unwrap_err();
            match err {
                Error::Dump(DumpError::Changed { path }) => assert_eq!(path, body, "change {i}"),
                other => panic!("change {i}: expected Changed, got {other:?}"),
            }
        }
    }
    put(root, "s3/b/o", &vec![7u8; len]);
    assert!(walk_then_write(root, 2, || {}).unwrap() == want);
}
