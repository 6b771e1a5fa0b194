//! `<output>.encode_info.json` (s3_tree_pipeline.md §9): the provenance sidecar of an
//! encode, written in the ENCODE_INFO JSON style, with its read gate.

use std::path::{Path, PathBuf};

use super::DumpError;

/// `self_test`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelfTest {
    pub ran: bool,
    pub matched: bool,
}

/// The sidecar, fields in Go order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncodeInfo {
    pub format_version: u32,
    pub encoder_version: String,
    pub encoder_key_format_version: u32,
    pub wall_time_iso: String,
    pub input_root: String,
    pub output_fsm_path: String,
    pub output_fsm_sha256: String,
    pub last_commit_ts: u64,
    pub last_commit_ts_overridden: bool,
    pub manifest_last_commit_ts: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest_cluster_id: String,
    pub adapters_enabled: Vec<String>,
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
        todo!()
    }

    /// Parse with the gate: `format_version` must be exactly 1.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<EncodeInfo, DumpError> {
        let _ = (bytes, path);
        todo!()
    }
}
