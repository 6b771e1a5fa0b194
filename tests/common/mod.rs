//! Fixtures shared by the CLI integration tests: small canonical dump trees written by hand.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// A valid phase-0 MANIFEST.json with the given adapters (`{}` scopes) and last_commit_ts.
pub fn manifest_json(adapters: &[&str], last_commit_ts: u64) -> String {
    let scopes: Vec<String> = adapters.iter().map(|a| format!("    \"{a}\": {{}}")).collect();
    format!(
        r#"{{
  "format_version": 1,
  "phase": "phase0-snapshot-decode",
  "elastickv_version": "test",
  "cluster_id": "ek-test",
  "last_commit_ts": {last_commit_ts},
  "wall_time_iso": "2026-06-01T12:00:00.5Z",
  "source": {{
    "fsm_path": "fixture.fsm"
  }},
  "adapters": {{
{}
  }},
  "exclusions": {{
    "include_incomplete_uploads": false,
    "include_orphans": false,
    "preserve_sqs_visibility": false,
    "include_sqs_side_records": false
  }},
  "checksum_algorithm": "sha256",
  "checksum_format": "sha256sum",
  "encoded_filename_charset": "rfc3986-unreserved-plus-percent",
  "key_segment_max_bytes": 240,
  "s3_meta_suffix": ".elastickv-meta.json",
  "s3_collision_strategy": "leaf-data-suffix",
  "dynamodb_layout": "per-item"
}}
"#,
        scopes.join(",\n")
    )
}

/// Write `rel` under `root`, creating directories.
pub fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

/// A canonical Redis tree (every type, as the decoder writes it) under `root`.
pub fn redis_tree(root: &Path, last_commit_ts: u64) -> PathBuf {
    fs::create_dir_all(root).unwrap();
    put(
        root,
        "MANIFEST.json",
        manifest_json(&["dynamodb", "s3", "redis", "sqs"], last_commit_ts).as_bytes(),
    );
    let db = "redis/db_0";
    put(root, &format!("{db}/strings/greeting.bin"), b"hello");
    put(root, &format!("{db}/strings/session%3Aabc.bin"), b"tok");
    put(
        root,
        &format!("{db}/strings_ttl.jsonl"),
        b"{\"key\":\"session%3Aabc\",\"expire_at_ms\":1788998400000}\n",
    );
    put(root, &format!("{db}/hll/uniques.bin"), b"\x00RS\x01sketch");
    put(
        root,
        &format!("{db}/hashes/user%3A1.json"),
        b"{\n  \"format_version\": 1,\n  \"fields\": [\n    {\n      \"name\": \"age\",\n      \"value\": \"30\"\n    }\n  ],\n  \"expire_at_ms\": null\n}",
    );
    put(
        root,
        &format!("{db}/lists/queue.json"),
        b"{\n  \"format_version\": 1,\n  \"items\": [\n    \"a\",\n    \"b\"\n  ],\n  \"expire_at_ms\": 1788998400000\n}",
    );
    put(
        root,
        &format!("{db}/sets/tags.json"),
        b"{\n  \"format_version\": 1,\n  \"members\": [\n    \"x\",\n    \"y\"\n  ],\n  \"expire_at_ms\": null\n}",
    );
    put(
        root,
        &format!("{db}/zsets/board.json"),
        b"{\n  \"format_version\": 1,\n  \"members\": [\n    {\n      \"member\": \"alice\",\n      \"score\": 100\n    },\n    {\n      \"member\": \"bob\",\n      \"score\": 1.5\n    }\n  ],\n  \"expire_at_ms\": null\n}",
    );
    put(
        root,
        &format!("{db}/streams/events.jsonl"),
        b"{\"id\":\"1714400000000-0\",\"fields\":[{\"name\":\"event\",\"value\":\"login\"}]}\n{\"_meta\":true,\"length\":1,\"last_ms\":1714400000000,\"last_seq\":0,\"expire_at_ms\":null}\n",
    );
    root.to_path_buf()
}

/// Path of a binary built by this package.
pub fn bin(name: &str) -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin(name).unwrap()
}

/// A bare EKVPBBL1 stream built independently of the library: `(user_key, ts, flags, body)`
/// entries, framed and sorted by encoded key.
pub fn bare_stream(last_commit_ts: u64, entries: &[(&[u8], u64, u8, &[u8])]) -> Vec<u8> {
    let mut framed: Vec<(Vec<u8>, Vec<u8>)> = entries
        .iter()
        .map(|(k, ts, flags, body)| {
            let mut key = k.to_vec();
            key.extend_from_slice(&(!ts).to_be_bytes());
            let mut val = vec![*flags];
            val.extend_from_slice(&0u64.to_le_bytes());
            val.extend_from_slice(body);
            (key, val)
        })
        .collect();
    framed.sort();
    let mut out = b"EKVPBBL1".to_vec();
    out.extend_from_slice(&last_commit_ts.to_le_bytes());
    for (k, v) in framed {
        out.extend_from_slice(&(k.len() as u64).to_le_bytes());
        out.extend_from_slice(&k);
        out.extend_from_slice(&(v.len() as u64).to_le_bytes());
        out.extend_from_slice(&v);
    }
    out
}

/// A live `.fsm`: v2 FSM header + payload + big-endian CRC32C footer.
pub fn live_file(ceiling_ms: u64, cutover: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = b"EKVTHLC2".to_vec();
    out.extend_from_slice(&16u16.to_be_bytes());
    out.extend_from_slice(&ceiling_ms.to_be_bytes());
    out.extend_from_slice(&cutover.to_be_bytes());
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A Redis string in the new envelope without TTL.
pub fn redis_str(body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, 0x01, 0x00];
    v.extend_from_slice(body);
    v
}
