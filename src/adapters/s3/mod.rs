//! The S3 adapter: `s3/<bucket>/` in the dump tree (s3_tree_pipeline.md §2–§5).
//!
//! * `keys.rs`: internal key and value layouts of every S3 family and the adapter's routes.
//! * `hlc.rs`: `last_modified` ⇄ HLC.
//! * `decode.rs`: live records → `s3/<bucket>/…` files.
//! * `encode.rs`: `s3/<bucket>/…` files → records.

pub(crate) mod decode;
pub(crate) mod encode;
mod hlc;
pub mod keys;
mod spool;

pub use decode::S3Decoder;
pub use encode::{KeymapRuleError, S3Encoder, S3FileError};

/// Suffix of an object's metadata sidecar.
pub const META_SUFFIX: &str = ".elastickv-meta.json";
/// Suffix of an object body whose key is also a key prefix.
pub const LEAF_DATA_SUFFIX: &str = ".elastickv-leaf-data";
/// Suffix of an object whose key ends with [`META_SUFFIX`] (`--rename-collisions`).
pub const USER_DATA_SUFFIX: &str = ".user-data";
/// A bucket's KEYMAP file.
pub const KEYMAP_NAME: &str = "KEYMAP.jsonl";

use crate::adapters::{parse_go_bool, AdapterError};
use crate::dump::manifest::Manifest;

/// The S3 options.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct S3Options {
    /// Include incomplete S3 multipart uploads.
    #[arg(long = "include-incomplete-uploads", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub include_incomplete_uploads: bool,
    /// Include S3 orphan chunks.
    #[arg(long = "include-orphans", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub include_orphans: bool,
    /// Rename S3 objects that collide with the meta suffix.
    #[arg(long = "rename-collisions", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub rename_collisions: bool,
}

impl S3Options {
    /// Record the options in a manifest (`exclusions`).
    pub fn to_manifest(&self, m: &mut Manifest) {
        m.exclusions.include_incomplete_uploads = self.include_incomplete_uploads;
        m.exclusions.include_orphans = self.include_orphans;
        m.exclusions.rename_s3_collisions = self.rename_collisions;
    }

    /// The options a manifest's tree was decoded with.
    pub fn from_manifest(m: &Manifest) -> S3Options {
        S3Options {
            include_incomplete_uploads: m.exclusions.include_incomplete_uploads,
            include_orphans: m.exclusions.include_orphans,
            rename_collisions: m.exclusions.rename_s3_collisions,
        }
    }

    /// Whether a tree decoded with these options can be encoded (Go refuses trees that hold
    /// incomplete uploads or orphan chunks).
    pub fn check_encode(&self) -> Result<(), AdapterError> {
        if self.include_incomplete_uploads {
            return Err(AdapterError::Unsupported(
                "the dump includes incomplete S3 uploads, which cannot be encoded".into(),
            ));
        }
        if self.include_orphans {
            return Err(AdapterError::Unsupported(
                "the dump includes S3 orphan chunks, which cannot be encoded".into(),
            ));
        }
        Ok(())
    }
}

/// How the self-test compares a file of this adapter's subtree (D13): `_bucket.json` and the
/// object sidecars by parsed JSON value, a bucket's `KEYMAP.jsonl` as a set of JSON values,
/// object bodies byte for byte.
pub fn compare_rule(rel: &str) -> crate::adapters::CompareRule {
    use crate::adapters::CompareRule;
    // Object bodies may have any name: only the adapter's own files are JSON. A user object
    // that collides with one of them is renamed by the decoder (`.user-data`, D11).
    let at_bucket_root = rel.matches('/').count() == 1;
    if (at_bucket_root && rel.ends_with("/_bucket.json")) || rel.ends_with(".elastickv-meta.json") {
        CompareRule::Json
    } else if at_bucket_root && rel.ends_with("/KEYMAP.jsonl") {
        CompareRule::JsonlSet
    } else {
        CompareRule::Bytes
    }
}

#[cfg(test)]
mod compare_tests {
    use super::compare_rule;
    use crate::adapters::CompareRule;

    #[test]
    fn s3_files_compare_by_their_meaning_bodies_by_bytes() {
        assert_eq!(compare_rule("photos/_bucket.json"), CompareRule::Json);
        assert_eq!(
            compare_rule("photos/a/cat.jpg.elastickv-meta.json"),
            CompareRule::Json
        );
        assert_eq!(compare_rule("photos/KEYMAP.jsonl"), CompareRule::JsonlSet);
        assert_eq!(compare_rule("photos/a/_bucket.json"), CompareRule::Bytes);
        assert_eq!(compare_rule("photos/data.json"), CompareRule::Bytes);
        assert_eq!(compare_rule("photos/a/KEYMAP.jsonl"), CompareRule::Bytes);
    }
}
