//! Real snapshots written by a live elastickv node (`../shared/golden/live/`, see its README):
//! each adapter's part of the decoded dump must be exactly the final state the workload
//! recorded in `live-summary.json`, as `../shared/tools/check_<adapter>.py` judges it. These
//! tests fail, never skip, when the files are missing.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    for f in [
        "golden/live/live-pbbl.fsm",
        "golden/live/live-summary.json",
        "tools/check_redis.py",
    ] {
        assert!(
            p.join(f).is_file(),
            "{} is missing: the live golden data is required",
            p.join(f).display()
        );
    }
    p
}

/// Decode `snapshot` (a file of `golden/live/`) with extra flags into a new temp dir.
fn decode(snapshot: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let input = shared().join("golden/live").join(snapshot);
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("dump");
    common::bin("ekv-snapshot")
        .args([
            "decode",
            "--quiet",
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .assert()
        .code(0);
    (d, out)
}

/// Run `check_<adapter>.py` on a dump; panics with its report when it finds a difference.
fn check(adapter: &str, dump: &Path) {
    let s = shared();
    let out = Command::new("python3")
        .arg(s.join(format!("tools/check_{adapter}.py")))
        .arg(s.join("golden/live/live-summary.json"))
        .arg(dump)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check_{adapter}.py exit {:?}:\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn live_pbbl_redis_is_the_final_state() {
    // The snapshot holds an S3 object whose key ends with the sidecar suffix: with S3 built,
    // a decode of every adapter needs --rename-collisions (as Go's does).
    let (_d, dump) = decode("live-pbbl.fsm", &["--rename-collisions"]);
    check("redis", &dump);
    // The dump is intact by its own CHECKSUMS.
    let st = Command::new("sha256sum")
        .args(["-c", "--quiet", "CHECKSUMS"])
        .current_dir(&dump)
        .status()
        .unwrap();
    assert!(st.success());
}
