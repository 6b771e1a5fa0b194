//! `<output>.encode_info.json` (s3_tree_pipeline.md §9): the provenance sidecar of an
//! encode, written in the ENCODE_INFO JSON style, with its read gate.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::gofields::Fields;
use super::json::{self, JsonStyle};
use super::DumpError;

/// The only ENCODE_INFO format version.
pub const FORMAT_VERSION: u32 = 1;

/// `self_test`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelfTest {
    /// Whether the self-test ran.
    pub ran: bool,
    /// Whether the re-decoded tree matched the input.
    pub matched: bool,
}

/// The sidecar, fields in Go order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncodeInfo {
    /// The ENCODE_INFO format version (1).
    pub format_version: u32,
    /// The toolkit version that encoded.
    pub encoder_version: String,
    /// The key format version written.
    pub encoder_key_format_version: u32,
    /// When the encode ran (RFC 3339, UTC).
    pub wall_time_iso: String,
    /// The dump root, as given.
    pub input_root: String,
    /// The `.fsm` written, as given.
    pub output_fsm_path: String,
    /// SHA-256 of the `.fsm` written, hex.
    pub output_fsm_sha256: String,
    /// The commit timestamp the records were stamped with.
    pub last_commit_ts: u64,
    /// Whether it was given explicitly rather than taken from the MANIFEST.
    pub last_commit_ts_overridden: bool,
    /// The MANIFEST's `last_commit_ts`.
    pub manifest_last_commit_ts: u64,
    /// The MANIFEST's `cluster_id`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest_cluster_id: String,
    /// The adapters encoded, in canonical order.
    pub adapters_enabled: Vec<String>,
    /// The self-test outcome.
    pub self_test: SelfTest,
}

/// `<output>` + `.encode_info.json`.
pub fn sidecar_path(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_owned();
    s.push(".encode_info.json");
    PathBuf::from(s)
}

impl EncodeInfo {
    /// Serialize in the ENCODE_INFO style.
    pub fn to_bytes(&self) -> Vec<u8> {
        json::to_vec(self, JsonStyle::ENCODE_INFO)
    }

    /// Parse with the gate: `format_version` must be exactly 1.
    ///
    /// A missing, `null` or integer `format_version` other than 1 is
    /// [`DumpError::UnsupportedVersion`]; a non-integer one (a string, `1.5`) or any other
    /// type mismatch is [`DumpError::Invalid`]. Unknown fields are ignored; names match
    /// case-insensitively and `null` leaves the zero value, as Go's decoder does.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<EncodeInfo, DumpError> {
        let value = json::parse_one(bytes, false)
            .map_err(|e| DumpError::invalid(path, format!("not a single JSON value: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(DumpError::invalid(path, "not a JSON object"));
        };
        let f = Fields {
            obj: &obj,
            path,
            prefix: "",
        };
        let version = f.u32("format_version")?;
        if version != FORMAT_VERSION {
            return Err(DumpError::UnsupportedVersion {
                path: path.to_owned(),
                version: u64::from(version),
            });
        }
        let self_test = match f.object("self_test")? {
            Some(o) => {
                let st = Fields {
                    obj: o,
                    path,
                    prefix: "self_test",
                };
                SelfTest {
                    ran: st.bool("ran")?,
                    matched: st.bool("matched")?,
                }
            }
            None => SelfTest::default(),
        };
        Ok(EncodeInfo {
            format_version: version,
            encoder_version: f.string("encoder_version")?,
            encoder_key_format_version: f.u32("encoder_key_format_version")?,
            wall_time_iso: f.string("wall_time_iso")?,
            input_root: f.string("input_root")?,
            output_fsm_path: f.string("output_fsm_path")?,
            output_fsm_sha256: f.string("output_fsm_sha256")?,
            last_commit_ts: f.u64("last_commit_ts")?,
            last_commit_ts_overridden: f.bool("last_commit_ts_overridden")?,
            manifest_last_commit_ts: f.u64("manifest_last_commit_ts")?,
            manifest_cluster_id: f.string("manifest_cluster_id")?,
            adapters_enabled: f.strings("adapters_enabled")?,
            self_test,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
  "format_version": 1,
  "encoder_version": "dev",
  "encoder_key_format_version": 1,
  "wall_time_iso": "2026-06-01T12:00:00.5Z",
  "input_root": "/backups/dump",
  "output_fsm_path": "/backups/node1.fsm",
  "output_fsm_sha256": "<64 lowercase hex>",
  "last_commit_ts": 7000,
  "last_commit_ts_overridden": false,
  "manifest_last_commit_ts": 7000,
  "manifest_cluster_id": "ek-test",
  "adapters_enabled": [
    "s3",
    "sqs"
  ],
  "self_test": {
    "ran": true,
    "matched": true
  }
}
"#;

    fn example() -> EncodeInfo {
        EncodeInfo {
            format_version: 1,
            encoder_version: "dev".into(),
            encoder_key_format_version: 1,
            wall_time_iso: "2026-06-01T12:00:00.5Z".into(),
            input_root: "/backups/dump".into(),
            output_fsm_path: "/backups/node1.fsm".into(),
            output_fsm_sha256: "<64 lowercase hex>".into(),
            last_commit_ts: 7000,
            last_commit_ts_overridden: false,
            manifest_last_commit_ts: 7000,
            manifest_cluster_id: "ek-test".into(),
            adapters_enabled: vec!["s3".into(), "sqs".into()],
            self_test: SelfTest {
                ran: true,
                matched: true,
            },
        }
    }

    fn p() -> &'static Path {
        Path::new("node1.fsm.encode_info.json")
    }

    #[test]
    fn example_bytes_exact_with_html_escaping() {
        // The example's placeholder `<64 lowercase hex>` shows the escaping of this style.
        let want = EXAMPLE.replace("<64 lowercase hex>", "\\u003c64 lowercase hex\\u003e");
        assert_eq!(String::from_utf8(example().to_bytes()).unwrap(), want);
    }

    #[test]
    fn round_trip_and_unknown_fields() {
        let info = example();
        assert_eq!(EncodeInfo::from_bytes(&info.to_bytes(), p()).unwrap(), info);
        assert_eq!(EncodeInfo::from_bytes(EXAMPLE.as_bytes(), p()).unwrap(), info);
        let extra = EXAMPLE.replacen("{", "{\"future\": [1, {\"x\": null}],", 1);
        assert_eq!(EncodeInfo::from_bytes(extra.as_bytes(), p()).unwrap(), info);
    }

    #[test]
    fn omitempty_cluster_id() {
        let mut info = example();
        info.manifest_cluster_id.clear();
        let text = String::from_utf8(info.to_bytes()).unwrap();
        assert!(!text.contains("manifest_cluster_id"));
        assert_eq!(EncodeInfo::from_bytes(text.as_bytes(), p()).unwrap(), info);
    }

    #[test]
    fn version_gate() {
        for (doc, want) in [
            (r#"{"format_version": 99}"#, 99),
            (r#"{"format_version": 0}"#, 0),
            (r#"{"format_version": null}"#, 0),
            (r#"{"encoder_version": "dev"}"#, 0),
            (r#"{"format_version": 2, "self_test": 7}"#, 2),
        ] {
            match EncodeInfo::from_bytes(doc.as_bytes(), p()) {
                Err(DumpError::UnsupportedVersion { version, .. }) => {
                    assert_eq!(version, want, "{doc}")
                }
                other => panic!("{doc}: {other:?}"),
            }
        }
        for doc in [
            r#"{"format_version": "1"}"#,
            r#"{"format_version": 1.5}"#,
            r#"{"format_version": -1}"#,
            "{",
            "[]",
        ] {
            match EncodeInfo::from_bytes(doc.as_bytes(), p()) {
                Err(e @ DumpError::Invalid { .. }) => {
                    assert!(e.to_string().contains("encode_info.json"), "{e}")
                }
                other => panic!("{doc}: {other:?}"),
            }
        }
    }

    #[test]
    fn strict_types_after_the_gate() {
        let bad = EXAMPLE.replace("\"last_commit_ts\": 7000", "\"last_commit_ts\": \"7000\"");
        let err = EncodeInfo::from_bytes(bad.as_bytes(), p()).unwrap_err();
        assert!(err.to_string().contains("last_commit_ts"), "{err}");
    }

    #[test]
    fn sidecar_name() {
        assert_eq!(
            sidecar_path(Path::new("out/node1.fsm")),
            Path::new("out/node1.fsm.encode_info.json")
        );
    }
}
