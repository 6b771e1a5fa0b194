//! MANIFEST.json tests: the §7.1 example byte for byte, the §7.2 gate, validation, and the
//! behaviours of Go's manifest_test.go.

use serde_json::json;

use super::*;

fn all_scopes() -> Adapters {
    let on = Some(AdapterScope::default());
    Adapters {
        dynamodb: on.clone(),
        s3: on.clone(),
        redis: on.clone(),
        sqs: on,
    }
}

const EXAMPLE: &str = r#"{
  "format_version": 1,
  "phase": "phase0-snapshot-decode",
  "elastickv_version": "dev",
  "cluster_id": "ek-test",
  "snapshot_index": 64,
  "last_commit_ts": 7000,
  "wall_time_iso": "2026-06-01T12:00:00.123456Z",
  "source": {
    "fsm_path": "/data/0000000000000064.fsm"
  },
  "adapters": {
    "dynamodb": {},
    "s3": {},
    "redis": {},
    "sqs": {}
  },
  "exclusions": {
    "include_incomplete_uploads": false,
    "include_orphans": false,
    "preserve_sqs_visibility": false,
    "include_sqs_side_records": false,
    "rename_s3_collisions": true
  },
  "checksum_algorithm": "sha256",
  "checksum_format": "sha256sum",
  "encoded_filename_charset": "rfc3986-unreserved-plus-percent",
  "key_segment_max_bytes": 240,
  "s3_meta_suffix": ".elastickv-meta.json",
  "s3_collision_strategy": "leaf-data-suffix",
  "dynamodb_layout": "per-item"
}
"#;

fn example() -> Manifest {
    let mut m = Manifest::for_decode(all_scopes());
    m.cluster_id = "ek-test".into();
    m.snapshot_index = 64;
    m.last_commit_ts = 7000;
    m.wall_time_iso = "2026-06-01T12:00:00.123456Z".into();
    m.source_fsm_path = Some("/data/0000000000000064.fsm".into());
    m.exclusions.rename_s3_collisions = true;
    m
}

fn p() -> &'static Path {
    Path::new("MANIFEST.json")
}

/// The example as a JSON value, edited by `f`, as bytes.
fn edited(f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(EXAMPLE).unwrap();
    f(v.as_object_mut().unwrap());
    serde_json::to_vec(&v).unwrap()
}

fn invalid(bytes: &[u8], needle: &str) {
    match Manifest::from_bytes(bytes, p()) {
        Err(e @ DumpError::Invalid { .. }) => {
            assert!(e.to_string().contains(needle), "{e} lacks {needle:?}")
        }
        other => panic!("expected Invalid({needle}), got {other:?}"),
    }
}

fn unsupported(bytes: &[u8], want: u64) {
    match Manifest::from_bytes(bytes, p()) {
        Err(DumpError::UnsupportedVersion { version, .. }) => assert_eq!(version, want),
        other => panic!("expected UnsupportedVersion({want}), got {other:?}"),
    }
}

#[test]
fn example_bytes_exact() {
    assert_eq!(String::from_utf8(example().to_bytes().unwrap()).unwrap(), EXAMPLE);
}

#[test]
fn phase0_round_trip() {
    let m = Manifest::from_bytes(EXAMPLE.as_bytes(), p()).unwrap();
    assert_eq!(m, example());
    let mut scoped = example();
    scoped.adapters.redis = Some(AdapterScope {
        databases: vec![0, 3],
        ..Default::default()
    });
    scoped.adapters.s3 = Some(AdapterScope {
        buckets: vec!["b".into()],
        ..Default::default()
    });
    scoped.adapters.sqs = None;
    let back = Manifest::from_bytes(&scoped.to_bytes().unwrap(), p()).unwrap();
    assert_eq!(back, scoped);
}

#[test]
fn defaults_and_omitempty() {
    let m = Manifest::for_decode(Adapters {
        redis: Some(AdapterScope::default()),
        s3: Some(AdapterScope::default()),
        ..Adapters::default()
    });
    assert_eq!(m.checksum_algorithm, "sha256");
    assert_eq!(m.checksum_format, "sha256sum");
    assert_eq!(m.s3_meta_suffix, ".elastickv-meta.json");
    assert_eq!(m.s3_collision_strategy, "leaf-data-suffix");
    assert_eq!(m.dynamodb_layout, "per-item");
    assert_eq!(m.key_segment_max_bytes, 240);
    assert!(is_rfc3339(&m.wall_time_iso), "{}", m.wall_time_iso);
    let text = String::from_utf8(m.to_bytes().unwrap()).unwrap();
    // Excluded adapters are absent, included ones are `{}`.
    assert!(
        text.contains("\"adapters\": {\n    \"s3\": {},\n    \"redis\": {}\n  },"),
        "{text}"
    );
    for absent in [
        "cluster_id",
        "snapshot_index",
        "last_commit_ts",
        "source",
        "live",
        "rename_s3_collisions",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
    assert!(text.contains("\n  \"format_version\": 1,"));
    assert!(text.ends_with("}\n"));
}

#[test]
fn manifest_style_does_not_escape_html() {
    let mut m = example();
    m.cluster_id = "a<b>&c".into();
    let text = String::from_utf8(m.to_bytes().unwrap()).unwrap();
    assert!(text.contains("\"cluster_id\": \"a<b>&c\","), "{text}");
}

#[test]
fn phase1_rules() {
    let mut m = example();
    m.phase = PHASE1.into();
    m.source_fsm_path = None;
    assert!(m.to_bytes().unwrap_err().to_string().contains("requires `live`"));
    m.live = Some(Live {
        read_ts: 0,
        pin_token_sha256: None,
    });
    assert!(m.to_bytes().unwrap_err().to_string().contains("read_ts"));
    m.live = Some(Live {
        read_ts: 9,
        pin_token_sha256: Some("ab".into()),
    });
    let bytes = m.to_bytes().unwrap();
    assert!(String::from_utf8_lossy(&bytes)
        .contains("\"live\": {\n    \"read_ts\": 9,\n    \"pin_token_sha256\": \"ab\"\n  },"));
    assert_eq!(Manifest::from_bytes(&bytes, p()).unwrap(), m);
    m.source_fsm_path = Some("x".into());
    assert!(m
        .to_bytes()
        .unwrap_err()
        .to_string()
        .contains("must not carry `source`"));
    let mut m0 = example();
    m0.live = Some(Live {
        read_ts: 1,
        pin_token_sha256: None,
    });
    assert!(m0
        .to_bytes()
        .unwrap_err()
        .to_string()
        .contains("must not carry `live`"));
    invalid(
        &edited(|o| drop(o.insert("live".into(), json!({"read_ts": 5})))),
        "must not carry `live`",
    );
}

#[test]
fn format_version_gate() {
    unsupported(&edited(|o| drop(o.insert("format_version".into(), json!(2)))), 2);
    unsupported(&edited(|o| drop(o.insert("format_version".into(), json!(0)))), 0);
    unsupported(br#"{"format_version":999,"phase":42}"#, 999);
    invalid(
        &edited(|o| drop(o.remove("format_version"))),
        "format_version is missing",
    );
    invalid(
        &edited(|o| drop(o.insert("format_version".into(), Value::Null))),
        "format_version is missing",
    );
    for bad in [
        json!("1"),
        json!(1.5),
        json!(-1),
        json!(4294967296u64),
        json!(true),
    ] {
        invalid(
            &edited(|o| drop(o.insert("format_version".into(), bad))),
            "format_version",
        );
    }
    invalid(br#"{"format_version":1.0}"#, "format_version");
    let err = Manifest::from_bytes(br#"{"format_version":7}"#, p()).unwrap_err();
    assert_eq!(err.kind(), crate::error_kind::ErrorKind::Data);
    assert!(err.to_string().contains("unsupported format_version 7"), "{err}");
}

#[test]
fn writer_refuses_other_versions() {
    let mut m = example();
    m.format_version = 2;
    assert!(matches!(m.to_bytes(), Err(DumpError::Invalid { .. })));
    m.format_version = 0;
    assert!(matches!(m.to_bytes(), Err(DumpError::Invalid { .. })));
}

#[test]
fn whole_payload_rules() {
    let mut two = EXAMPLE.as_bytes().to_vec();
    two.extend_from_slice(EXAMPLE.as_bytes());
    invalid(&two, "single JSON value");
    invalid(format!("{EXAMPLE}garbage").as_bytes(), "single JSON value");
    invalid(format!("{EXAMPLE}}}").as_bytes(), "single JSON value");
    invalid(b"[1]", "not a JSON object");
    invalid(b"", "single JSON value");
    Manifest::from_bytes(format!("  {EXAMPLE}\n\n ").as_bytes(), p()).unwrap();
}

#[test]
fn unknown_fields_tolerated_and_case_insensitive_names() {
    let bytes = edited(|o| {
        o.insert("future_field".into(), json!({"x": [1, 2]}));
        let v = o.remove("cluster_id").unwrap();
        o.insert("Cluster_ID".into(), v);
    });
    let m = Manifest::from_bytes(&bytes, p()).unwrap();
    assert_eq!(m.cluster_id, "ek-test");
}

#[test]
fn strict_types() {
    invalid(
        &edited(|o| drop(o.insert("snapshot_index".into(), json!("64")))),
        "snapshot_index",
    );
    invalid(
        &edited(|o| drop(o.insert("last_commit_ts".into(), json!(-1)))),
        "last_commit_ts",
    );
    invalid(
        &edited(|o| drop(o.insert("key_segment_max_bytes".into(), json!(1e3)))),
        "key_segment_max_bytes",
    );
    invalid(&edited(|o| drop(o.insert("source".into(), json!("x")))), "source");
    invalid(
        &edited(|o| drop(o.insert("adapters".into(), json!({"redis": {"databases": ["0"]}})))),
        "adapters.redis",
    );
    invalid(
        &edited(|o| drop(o.insert("exclusions".into(), json!({"include_orphans": "no"})))),
        "exclusions.include_orphans",
    );
    // null leaves the zero value.
    let m = Manifest::from_bytes(&edited(|o| drop(o.insert("cluster_id".into(), Value::Null))), p()).unwrap();
    assert_eq!(m.cluster_id, "");
}

#[test]
fn required_and_policy_fields() {
    invalid(
        &edited(|o| drop(o.insert("phase".into(), json!("phase9")))),
        "unknown phase",
    );
    invalid(
        &edited(|o| drop(o.insert("wall_time_iso".into(), json!("yesterday")))),
        "wall_time_iso",
    );
    invalid(
        &edited(|o| drop(o.remove("wall_time_iso"))),
        "wall_time_iso is empty",
    );
    invalid(
        &edited(|o| drop(o.insert("dynamodb_layout".into(), json!("bogus")))),
        "dynamodb_layout",
    );
    invalid(&edited(|o| drop(o.remove("adapters"))), "adapters is missing");
    invalid(
        &edited(|o| drop(o.insert("adapters".into(), Value::Null))),
        "adapters is missing",
    );
    invalid(&edited(|o| drop(o.remove("exclusions"))), "exclusions is missing");
    invalid(
        &edited(|o| drop(o.insert("key_segment_max_bytes".into(), json!(0)))),
        "key_segment_max_bytes",
    );
    for field in [
        "checksum_algorithm",
        "checksum_format",
        "encoded_filename_charset",
        "s3_meta_suffix",
        "s3_collision_strategy",
    ] {
        invalid(&edited(|o| drop(o.insert(field.into(), json!("")))), field);
    }
    let m = Manifest::from_bytes(
        &edited(|o| drop(o.insert("dynamodb_layout".into(), json!("jsonl")))),
        p(),
    )
    .unwrap();
    assert_eq!(m.dynamodb_layout, "jsonl");
    // An adapter pointer that is null is "not included".
    let m = Manifest::from_bytes(
        &edited(|o| drop(o.insert("adapters".into(), json!({"redis": null})))),
        p(),
    )
    .unwrap();
    assert_eq!(m.adapters, Adapters::default());
}

#[test]
fn exclusion_flags_presence() {
    for flag in REQUIRED_EXCLUSION_FLAGS {
        let missing = edited(|o| drop(o["exclusions"].as_object_mut().unwrap().remove(flag)));
        invalid(&missing, flag);
        let null = edited(|o| {
            drop(
                o["exclusions"]
                    .as_object_mut()
                    .unwrap()
                    .insert(flag.into(), Value::Null),
            )
        });
        invalid(&null, flag);
    }
    // rename_s3_collisions is optional (legacy manifests): absent reads as false.
    let legacy = edited(|o| {
        drop(
            o["exclusions"]
                .as_object_mut()
                .unwrap()
                .remove("rename_s3_collisions"),
        )
    });
    assert!(
        !Manifest::from_bytes(&legacy, p())
            .unwrap()
            .exclusions
            .rename_s3_collisions
    );
}

#[test]
fn read_from_root() {
    let d = tempfile::tempdir().unwrap();
    assert!(matches!(Manifest::read(d.path()), Err(DumpError::Io { .. })));
    std::fs::write(d.path().join("MANIFEST.json"), EXAMPLE).unwrap();
    assert_eq!(Manifest::read(d.path()).unwrap(), example());
    std::fs::write(d.path().join("MANIFEST.json"), "{").unwrap();
    let err = Manifest::read(d.path()).unwrap_err();
    assert!(err.to_string().contains("MANIFEST.json"), "{err}");
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("m"), EXAMPLE).unwrap();
    std::fs::remove_file(d.path().join("MANIFEST.json")).unwrap();
    std::os::unix::fs::symlink(other.path().join("m"), d.path().join("MANIFEST.json")).unwrap();
    assert!(matches!(Manifest::read(d.path()), Err(DumpError::Unsafe { .. })));
}

#[test]
fn rfc3339_nano_formatting() {
    assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339_nano(1_780_315_200_123_456_000),
        "2026-06-01T12:00:00.123456Z"
    );
    assert_eq!(rfc3339_nano(1_780_315_200_500_000_000), "2026-06-01T12:00:00.5Z");
    assert_eq!(
        rfc3339_nano(1_780_315_200_000_000_001),
        "2026-06-01T12:00:00.000000001Z"
    );
    assert_eq!(rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
    assert_eq!(rfc3339_nano(i128::MAX), "1970-01-01T00:00:00Z");
}

#[test]
fn rfc3339_parsing() {
    for ok in [
        "2026-06-01T12:00:00Z",
        "2026-06-01T12:00:00.5Z",
        "2026-06-01T12:00:00.123456789Z",
        "2026-06-01T12:00:00+09:00",
        "2024-02-29T23:59:59-00:30",
    ] {
        assert!(is_rfc3339(ok), "{ok}");
    }
    for bad in [
        "",
        "2026-06-01",
        "2026-06-01 12:00:00Z",
        "2026-06-01T12:00:00",
        "2026-06-01T12:00:00.Z",
        "2026-13-01T12:00:00Z",
        "2025-02-29T12:00:00Z",
        "2026-06-01T24:00:00Z",
        "2026-06-01T12:60:00Z",
        "2026-06-01T12:00:60Z",
        "2026-06-01T12:00:00+9:00",
        "2026-06-01T12:00:00Zjunk",
        "2026-06-01t12:00:00z",
    ] {
        assert!(!is_rfc3339(bad), "{bad}");
    }
}
