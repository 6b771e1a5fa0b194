//! The self-test catches a corrupted output before it is published (the corruption hook is
//! test-only, so this test lives beside the code).

use std::fs;
use std::path::Path;

use super::*;
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
