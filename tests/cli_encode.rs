//! The encode CLI contract (s3_tree_pipeline.md §12.2, DECISIONS.md D8), driven through the
//! binaries: `ekv-snapshot encode` and the drop-in `elastickv-snapshot-encode`.

use crate::common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::common::{bin, put, redis_tree};
use serde_json::Value;

fn encode(args: &[&str]) -> assert_cmd::assert::Assert {
    bin("elastickv-snapshot-encode").args(args).assert()
}

/// `elastickv-snapshot-encode --input INPUT --output OUT EXTRA…`
fn run(input: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec![
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    encode(&args)
}

fn sidecar(out: &Path) -> Value {
    let p = format!("{}.encode_info.json", out.display());
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn missing_manifest_exits_1_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("dump");
    fs::create_dir(&input).unwrap();
    let out = d.path().join("out.fsm");
    // Go's single-dash flag spelling.
    encode(&[
        "-input",
        input.to_str().unwrap(),
        "-output",
        out.to_str().unwrap(),
    ])
    .code(1);
    assert!(!out.exists());
}

#[test]
fn missing_input_dir_exits_1() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out.fsm");
    encode(&[
        "--input",
        d.path().join("nope").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ])
    .code(1);
}

#[test]
fn unknown_adapter_exits_1() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let out = d.path().join("out.fsm");
    run(&input, &out, &["--adapter", "redis,bogus"]).code(1);
    run(&input, &out, &["--adapter", " ,"]).code(1);
    assert!(!out.exists());
}

#[test]
fn adapter_data_error_exits_2_without_fsm_or_temp() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    put(
        &input,
        "redis/db_0/hashes/bad.json",
        b"{\"format_version\": 2, \"fields\": []}",
    );
    let out = d.path().join("out.fsm");
    run(&input, &out, &[]).code(2);
    assert!(!out.exists());
    assert!(leftovers(d.path()).is_empty());
    assert!(!Path::new(&format!("{}.encode_info.json", out.display())).exists());
}

#[test]
fn invalid_manifest_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let out = d.path().join("out.fsm");
    put(&input, "MANIFEST.json", b"{not json");
    run(&input, &out, &[]).code(2);
    put(&input, "MANIFEST.json", b"{\"format_version\": 99}");
    run(&input, &out, &[]).code(2);
    assert!(!out.exists());
}

#[test]
fn unsupported_manifest_exclusions_exit_2() {
    for (flag, adapter) in [
        ("include_incomplete_uploads", "s3"),
        ("include_orphans", "s3"),
        ("preserve_sqs_visibility", "sqs"),
        ("include_sqs_side_records", "sqs"),
    ] {
        let d = tempfile::tempdir().unwrap();
        let input = redis_tree(&d.path().join("dump"), 7000);
        let m = common::manifest_json(&["dynamodb", "s3", "redis", "sqs"], 7000)
            .replace(&format!("\"{flag}\": false"), &format!("\"{flag}\": true"));
        put(&input, "MANIFEST.json", m.as_bytes());
        let out = d.path().join("out.fsm");
        run(&input, &out, &[]).code(2);
        assert!(!out.exists(), "{flag}");
        // The same flag is fine when its adapter is not selected.
        run(&input, &out, &["--adapter", "redis"]).code(0);
        let _ = adapter;
    }
}

#[test]
fn adapter_not_in_manifest_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    put(
        &input,
        "MANIFEST.json",
        common::manifest_json(&["s3"], 7000).as_bytes(),
    );
    let out = d.path().join("out.fsm");
    run(&input, &out, &["--adapter", "redis"]).code(2);
    assert!(!out.exists());
}

#[test]
fn last_commit_ts_lower_is_refused_before_writing() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let out = d.path().join("out.fsm");
    fs::write(&out, b"prior").unwrap();
    run(&input, &out, &["--last-commit-ts", "6999"]).code(2);
    assert_eq!(fs::read(&out).unwrap(), b"prior", "prior .fsm preserved");
    assert!(
        !Path::new(&format!("{}.encode_info.json", out.display())).exists(),
        "no sidecar"
    );
}

#[test]
fn last_commit_ts_equal_and_higher_are_stamped() {
    for (arg, want) in [("7000", 7000u64), ("0x2000", 0x2000), ("9000", 9000)] {
        let d = tempfile::tempdir().unwrap();
        let input = redis_tree(&d.path().join("dump"), if want < 7000 { want } else { 7000 });
        let out = d.path().join("node1.fsm");
        run(&input, &out, &["--last-commit-ts", arg]).code(0);
        let bytes = fs::read(&out).unwrap();
        assert_eq!(&bytes[..8], b"EKVPBBL1");
        assert_eq!(u64::from_le_bytes(bytes[8..16].try_into().unwrap()), want);
        let info = sidecar(&out);
        assert_eq!(info["last_commit_ts"], want);
        assert_eq!(info["last_commit_ts_overridden"], true);
    }
}

#[test]
fn sidecar_path_is_derived_from_output_and_distinct_per_output() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let a = d.path().join("node1.fsm");
    let b = d.path().join("node2.fsm");
    run(&input, &a, &[]).code(0);
    run(&input, &b, &["--last-commit-ts", "8000"]).code(0);
    assert!(d.path().join("node1.fsm.encode_info.json").exists());
    assert!(d.path().join("node2.fsm.encode_info.json").exists());
    assert!(!d.path().join("ENCODE_INFO.json").exists());
    let (ia, ib) = (sidecar(&a), sidecar(&b));
    assert_ne!(ia["output_fsm_sha256"], ib["output_fsm_sha256"]);
    assert_eq!(ia["output_fsm_path"], a.to_str().unwrap());
    let sha = sha256_hex(&fs::read(&a).unwrap());
    assert_eq!(ia["output_fsm_sha256"], sha.as_str());
    assert_eq!(ia["manifest_cluster_id"], "ek-test");
    assert_eq!(ia["encoder_key_format_version"], 1);
    assert_eq!(
        ia["adapters_enabled"],
        serde_json::json!(["redis", "dynamodb", "s3", "sqs"])
    );
    assert_eq!(
        ia["self_test"],
        serde_json::json!({"ran": false, "matched": false})
    );
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[test]
fn adapter_error_preserves_prior_fsm_and_sidecar() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let out = d.path().join("out.fsm");
    run(&input, &out, &[]).code(0);
    let (fsm, info) = (
        fs::read(&out).unwrap(),
        fs::read(format!("{}.encode_info.json", out.display())).unwrap(),
    );
    put(
        &input,
        "redis/db_0/sets/bad.json",
        b"{\"format_version\": 1, \"members\": 5}",
    );
    run(&input, &out, &[]).code(2);
    assert_eq!(fs::read(&out).unwrap(), fsm);
    assert_eq!(
        fs::read(format!("{}.encode_info.json", out.display())).unwrap(),
        info
    );
}

#[test]
fn round_trip_self_test_matches() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let out = d.path().join("out.fsm");
    let scratch = d.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    bin("ekv-snapshot")
        .args([
            "encode",
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
        .args(["--self-test", "--scratch-root", scratch.to_str().unwrap()])
        .assert()
        .code(0);
    let info = sidecar(&out);
    assert_eq!(
        info["self_test"],
        serde_json::json!({"ran": true, "matched": true})
    );
    assert!(!Path::new(&format!("{}.mismatch.txt", out.display())).exists());
    assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0, "scratch removed");
}

/// A non-canonical name (`%41` for `A`) decodes back as `A.bin`: a natural self-test mismatch.
fn mismatching_tree(root: &Path) -> std::path::PathBuf {
    let input = redis_tree(root, 7000);
    put(&input, "redis/db_0/strings/%41.bin", b"x");
    input
}

#[test]
fn self_test_mismatch_never_publishes_and_reports() {
    let d = tempfile::tempdir().unwrap();
    let input = mismatching_tree(&d.path().join("dump"));
    let out = d.path().join("out.fsm");
    fs::write(&out, b"stale").unwrap();
    run(&input, &out, &["--self-test"]).code(2);
    // A17 (Go removes the stale .fsm and writes a sidecar): the previous output stays.
    assert_eq!(
        fs::read(&out).unwrap(),
        b"stale",
        "previous .fsm kept, nothing published"
    );
    let mm = fs::read_to_string(format!("{}.mismatch.txt", out.display())).unwrap();
    assert!(
        mm.contains("redis/db_0/strings/%41.bin (missing in scratch)"),
        "{mm}"
    );
    assert!(mm.contains("redis/db_0/strings/A.bin (missing in input)"), "{mm}");
    assert!(!Path::new(&format!("{}.encode_info.json", out.display())).exists());
    assert!(leftovers(d.path()).is_empty());
    // A stale mismatch report is removed at the start of the next run.
    fs::remove_file(input.join("redis/db_0/strings/%41.bin")).unwrap();
    run(&input, &out, &["--self-test"]).code(0);
    assert!(!Path::new(&format!("{}.mismatch.txt", out.display())).exists());
}

#[test]
fn a_directory_at_output_is_refused_before_encoding() {
    let d = tempfile::tempdir().unwrap();
    let input = mismatching_tree(&d.path().join("dump"));
    let out = d.path().join("out.fsm");
    fs::create_dir(&out).unwrap();
    run(&input, &out, &["--self-test"]).code(1);
    assert!(out.is_dir());
}

#[test]
fn a_symlink_at_output_is_refused_and_kept_with_its_target() {
    let d = tempfile::tempdir().unwrap();
    let input = mismatching_tree(&d.path().join("dump"));
    let target = d.path().join("victim");
    fs::write(&target, b"keep").unwrap();
    let out = d.path().join("out.fsm");
    std::os::unix::fs::symlink(&target, &out).unwrap();
    run(&input, &out, &["--self-test"]).code(1);
    assert!(
        fs::symlink_metadata(&out).unwrap().file_type().is_symlink(),
        "link kept"
    );
    assert_eq!(fs::read(&target).unwrap(), b"keep");
}

#[test]
fn sidecar_symlink_is_refused_and_fsm_rolled_back() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let out = d.path().join("out.fsm");
    let victim = d.path().join("victim");
    fs::write(&victim, b"keep").unwrap();
    let side = d.path().join("out.fsm.encode_info.json");
    std::os::unix::fs::symlink(&victim, &side).unwrap();
    run(&input, &out, &[]).code(1);
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    assert!(!out.exists(), ".fsm rolled back");
    assert!(
        fs::symlink_metadata(&side).unwrap().file_type().is_symlink(),
        "link kept"
    );
}

#[test]
fn sidecar_hard_link_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let out = d.path().join("out.fsm");
    let victim = d.path().join("victim");
    fs::write(&victim, b"keep").unwrap();
    let side = d.path().join("out.fsm.encode_info.json");
    fs::hard_link(&victim, &side).unwrap();
    run(&input, &out, &[]).code(1);
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    assert!(!out.exists());
    assert_eq!(fs::metadata(&side).unwrap().nlink(), 2);
}

#[test]
fn published_files_are_mode_0600() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    let out = d.path().join("out.fsm");
    run(&input, &out, &["--self-test"]).code(0);
    for p in [out.clone(), d.path().join("out.fsm.encode_info.json")] {
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o077,
            0,
            "{}",
            p.display()
        );
    }
}

#[test]
fn a_bad_file_of_another_selected_adapter_fails_closed() {
    let d = tempfile::tempdir().unwrap();
    let input = redis_tree(&d.path().join("dump"), 7000);
    put(&input, "dynamodb/orders/_schema.json", b"{}");
    let out = d.path().join("out.fsm");
    run(&input, &out, &[]).code(2);
    assert!(!out.exists());
    run(&input, &out, &["--adapter", "redis"]).code(0);
}
