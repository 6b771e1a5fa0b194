//! Byte-compatibility against the Go reference tools' own outputs, read from
//! `../shared/golden/` when it exists (skipped with a notice otherwise).
//!
//! Expected layout, one folder per case: `<case>/input.fsm` (a snapshot the Go decoder reads)
//! and `<case>/expected/` (the tree `elastickv-snapshot-decode` wrote for it). Each case is
//! decoded with our decoder and compared with `../shared/tools/difftree.py`, which applies the
//! compatibility contract of DECISIONS.md (volatile manifest fields and KEYMAP order aside).
//! When `<case>/expected.fsm` exists too (the Go encoder's output for `<case>/expected/`), our
//! encoder must reproduce it byte for byte.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn golden_root() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/golden");
    p.is_dir().then_some(p)
}

fn cases(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("input.fsm").is_file() && p.join("expected").is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn decode_matches_go_golden_trees() {
    let Some(root) = golden_root() else {
        eprintln!("NOTICE: ../shared/golden is absent: golden compatibility tests skipped");
        return;
    };
    let cases = cases(&root);
    if cases.is_empty() {
        eprintln!("NOTICE: ../shared/golden has no <case>/input.fsm + <case>/expected/: skipped");
        return;
    }
    let difftree = root.join("../tools/difftree.py");
    for case in cases {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("tree");
        common::bin("elastickv-snapshot-decode")
            .args([
                "-input",
                case.join("input.fsm").to_str().unwrap(),
                "-output",
                out.to_str().unwrap(),
            ])
            .assert()
            .code(0);
        let diff = Command::new("python3")
            .arg(&difftree)
            .arg(case.join("expected"))
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            diff.status.success(),
            "{}: trees differ:\n{}",
            case.display(),
            String::from_utf8_lossy(&diff.stdout)
        );
        let go_fsm = case.join("expected.fsm");
        if go_fsm.is_file() {
            let ours = d.path().join("ours.fsm");
            common::bin("elastickv-snapshot-encode")
                .args([
                    "--input",
                    case.join("expected").to_str().unwrap(),
                    "--output",
                    ours.to_str().unwrap(),
                ])
                .assert()
                .code(0);
            assert!(
                std::fs::read(&ours).unwrap() == std::fs::read(&go_fsm).unwrap(),
                "{}: encode differs",
                case.display()
            );
        }
    }
}
