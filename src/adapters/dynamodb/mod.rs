//! The DynamoDB adapter: `dynamodb/<table>/` in the dump tree (dynamodb_sqs.md §1).
//!
//! * `keys.rs`: internal key layouts (item, GSI, meta keys, the ordered key segment) and the
//!   adapter's routes;
//! * `number.rs`: the two readings of an `N` key (ordered key bytes, `big.Rat` file name);
//! * `proto.rs`: the stored protobuf messages, written Go-deterministically;
//! * `public.rs`: the JSON forms of the tree (`_schema.json`, items, jsonl bundle lines);
//! * `decode.rs`: live records → `dynamodb/<table>/…`;
//! * `encode.rs`: `dynamodb/<table>/…` → records.

mod decode;
mod encode;
pub mod keys;
pub(crate) mod number;
pub mod proto;
pub(crate) mod public;

pub use decode::{item_rel_path, part_name, DdbEvent, DynamoDbDecoder, DEFAULT_SORT_BUDGET};
pub use encode::{BundleItemError, DynamoDbEncoder};
pub use public::{AttrAt, ItemJsonError, SchemaJsonError};

use crate::adapters::AdapterError;
use crate::dump::manifest::{Manifest, DYNAMODB_LAYOUT_JSONL, DYNAMODB_LAYOUT_PER_ITEM};

/// How items are laid out in the tree (MANIFEST `dynamodb_layout`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DynamoDbLayout {
    /// One JSON file per item (Go's default).
    #[default]
    PerItem,
    /// Items bundled into `items/data-<part>.jsonl` files (D7).
    Jsonl,
}

impl DynamoDbLayout {
    /// The name in MANIFEST.json and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DynamoDbLayout::PerItem => DYNAMODB_LAYOUT_PER_ITEM,
            DynamoDbLayout::Jsonl => DYNAMODB_LAYOUT_JSONL,
        }
    }

    /// Parse a layout name; `""` is Go's default, per-item.
    pub fn parse(s: &str) -> Result<DynamoDbLayout, LayoutNameError> {
        match s {
            "" | DYNAMODB_LAYOUT_PER_ITEM => Ok(DynamoDbLayout::PerItem),
            DYNAMODB_LAYOUT_JSONL => Ok(DynamoDbLayout::Jsonl),
            other => Err(LayoutNameError {
                name: other.to_owned(),
            }),
        }
    }
}

/// A DynamoDB layout name that is neither `per-item` nor `jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: invalid --dynamodb-bundle-mode (per-item or jsonl)")]
pub struct LayoutNameError {
    /// The name given.
    pub name: String,
}

/// Default largest size of one jsonl bundle part.
pub const DEFAULT_BUNDLE_SIZE: u64 = 64 << 20;

/// The DynamoDB options.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct DynamoDbOptions {
    /// DynamoDB layout: per-item or jsonl.
    #[arg(long = "dynamodb-bundle-mode", default_value = "per-item", value_parser = DynamoDbLayout::parse)]
    pub layout: DynamoDbLayout,
    /// Largest size of one jsonl bundle part, in bytes.
    #[arg(long = "dynamodb-bundle-size", default_value_t = DEFAULT_BUNDLE_SIZE, value_name = "BYTES")]
    pub bundle_size: u64,
}

impl Default for DynamoDbOptions {
    fn default() -> Self {
        DynamoDbOptions {
            layout: DynamoDbLayout::PerItem,
            bundle_size: DEFAULT_BUNDLE_SIZE,
        }
    }
}

impl DynamoDbOptions {
    /// Record the layout in a manifest.
    pub fn to_manifest(&self, m: &mut Manifest) {
        m.dynamodb_layout = self.layout.name().to_owned();
    }

    /// The options a manifest's tree was decoded with (the manifest was validated).
    pub fn from_manifest(m: &Manifest) -> DynamoDbOptions {
        DynamoDbOptions {
            layout: DynamoDbLayout::parse(&m.dynamodb_layout).unwrap_or_default(),
            ..DynamoDbOptions::default()
        }
    }

    /// Whether a tree decoded with these options can be encoded: both layouts can (D7).
    pub fn check_encode(&self) -> Result<(), AdapterError> {
        Ok(())
    }
}

/// How the self-test compares a file of this adapter's subtree (D13): `_schema.json` and the
/// per-item files by parsed JSON value; jsonl bundle parts and `KEYMAP.jsonl` as sets of JSON
/// values (the encoder sorts the records they make by key, so line order carries no meaning).
pub fn compare_rule(rel: &str) -> crate::adapters::CompareRule {
    use crate::adapters::CompareRule;
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if name.ends_with(".json") {
        CompareRule::Json
    } else if name.ends_with(".jsonl") {
        CompareRule::JsonlSet
    } else {
        CompareRule::Bytes
    }
}

#[cfg(test)]
mod compare_tests {
    use super::{compare_rule, DynamoDbLayout, LayoutNameError};
    use crate::adapters::CompareRule;

    #[test]
    fn layout_names_parse_or_are_typed_errors() {
        assert_eq!(DynamoDbLayout::parse(""), Ok(DynamoDbLayout::PerItem));
        assert_eq!(DynamoDbLayout::parse("per-item"), Ok(DynamoDbLayout::PerItem));
        assert_eq!(DynamoDbLayout::parse("jsonl"), Ok(DynamoDbLayout::Jsonl));
        let e = DynamoDbLayout::parse("csv").unwrap_err();
        assert!(matches!(&e, LayoutNameError { name } if name == "csv"));
        assert_eq!(
            e.to_string(),
            "csv: invalid --dynamodb-bundle-mode (per-item or jsonl)"
        );
    }

    #[test]
    fn dynamodb_files_compare_by_their_meaning() {
        assert_eq!(compare_rule("orders/_schema.json"), CompareRule::Json);
        assert_eq!(compare_rule("orders/items/a/b.json"), CompareRule::Json);
        assert_eq!(
            compare_rule("orders/items/data-00000.jsonl"),
            CompareRule::JsonlSet
        );
        assert_eq!(compare_rule("orders/KEYMAP.jsonl"), CompareRule::JsonlSet);
        assert_eq!(compare_rule("orders/items/odd.bin"), CompareRule::Bytes);
    }
}
