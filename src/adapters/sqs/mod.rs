//! The SQS adapter: `sqs/<queue>/` in the dump tree (dynamodb_sqs.md §2).
//!
//! * `keys.rs`: internal key layouts and the adapter's routes.
//!
//! Decoding and encoding are not built yet: the registry reports its records as
//! `adapter_not_supported` and refuses a subtree holding files.

pub mod keys;

use crate::adapters::{parse_go_bool, AdapterError};
use crate::dump::manifest::Manifest;

/// The SQS options.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct SqsOptions {
    /// Keep SQS visibility state.
    #[arg(long = "preserve-sqs-visibility", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub preserve_visibility: bool,
    /// Emit SQS side records.
    #[arg(long = "include-sqs-side-records", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_parser = parse_go_bool)]
    pub include_side_records: bool,
}

impl SqsOptions {
    /// Record the options in a manifest (`exclusions`).
    pub fn to_manifest(&self, m: &mut Manifest) {
        m.exclusions.preserve_sqs_visibility = self.preserve_visibility;
        m.exclusions.include_sqs_side_records = self.include_side_records;
    }

    /// The options a manifest's tree was decoded with.
    pub fn from_manifest(m: &Manifest) -> SqsOptions {
        SqsOptions {
            preserve_visibility: m.exclusions.preserve_sqs_visibility,
            include_side_records: m.exclusions.include_sqs_side_records,
        }
    }

    /// Whether a tree decoded with these options can be encoded.
    pub fn check_encode(&self) -> Result<(), AdapterError> {
        if self.preserve_visibility {
            return Err(AdapterError::Unsupported(
                "the dump preserves SQS visibility state, which cannot be encoded".into(),
            ));
        }
        if self.include_side_records {
            return Err(AdapterError::Unsupported(
                "the dump includes SQS side records, which cannot be encoded".into(),
            ));
        }
        Ok(())
    }
}

/// How the self-test compares a file of this adapter's subtree (D13): bytes until the
/// adapter is built and says which of its files are JSON or order-free JSONL.
pub fn compare_rule(_rel: &str) -> crate::adapters::CompareRule {
    crate::adapters::CompareRule::Bytes
}
