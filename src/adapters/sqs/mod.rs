//! The SQS adapter: `sqs/<queue>/` in the dump tree (dynamodb_sqs.md §2).
//!
//! * `keys.rs`: internal key layouts of every SQS family, both directions, and the routes;
//! * `values.rs`: the stored JSON values and the dump files' JSON, both directions;
//! * `rawjson.rs`: raw JSON spans (message attributes pass through as Go's `RawMessage`);
//! * `decode.rs`: live records → `sqs/<queue>/{_queue.json,messages.jsonl,_internals/}`;
//! * `encode.rs`: `sqs/<queue>/` → records.

mod decode;
mod encode;
pub mod keys;
mod rawjson;
pub mod values;

pub use decode::{RecordError, SqsDecoder, SORT_BUDGET};
pub use encode::{MessageError, QueueError, SqsEncoder, SqsFileError};
pub use rawjson::SyntaxError;

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
                "the dump was decoded with --preserve-sqs-visibility (MANIFEST exclusions.preserve_sqs_visibility): \
                 its SQS visibility state cannot be encoded, as in Go; decode again without --preserve-sqs-visibility"
                    .into(),
            ));
        }
        if self.include_side_records {
            return Err(AdapterError::Unsupported(
                "the dump was decoded with --include-sqs-side-records (MANIFEST exclusions.include_sqs_side_records): \
                 SQS side records cannot be encoded, as in Go; decode again without --include-sqs-side-records"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// How the self-test compares a file of this adapter's subtree (D13): `_queue.json` by parsed
/// JSON value, everything else byte for byte.
pub fn compare_rule(rel: &str) -> crate::adapters::CompareRule {
    use crate::adapters::CompareRule;
    if rel.matches('/').count() == 1 && rel.ends_with("/_queue.json") {
        CompareRule::Json
    } else {
        // `messages.jsonl`: line order feeds the encoder's dedup and sequence checks, so it
        // is compared byte for byte (our decoder writes it in one deterministic order).
        CompareRule::Bytes
    }
}

#[cfg(test)]
mod compare_tests {
    use super::compare_rule;
    use crate::adapters::CompareRule;

    #[test]
    fn sqs_queue_meta_by_value_messages_by_bytes() {
        assert_eq!(compare_rule("jobs/_queue.json"), CompareRule::Json);
        assert_eq!(compare_rule("jobs/messages.jsonl"), CompareRule::Bytes);
        assert_eq!(
            compare_rule("jobs/_internals/side_records.jsonl"),
            CompareRule::Bytes
        );
    }
}
