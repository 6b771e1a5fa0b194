//! `KEYMAP.jsonl` (s3_tree_pipeline.md §6, DECISIONS.md D6): one compact JSON line
//! `{"encoded":…,"original":<base64url nopad>,"kind":…}` per encoded name, sorted by name.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{DumpError, DumpTree};

/// The kinds of KEYMAP record.
pub const KIND_SHA_FALLBACK: &str = "sha-fallback";
pub const KIND_S3_LEAF_DATA: &str = "s3-leaf-data";
pub const KIND_META_SUFFIX_RENAME: &str = "meta-suffix-rename";

/// KEYMAP records collected while an adapter writes its subtree.
#[derive(Debug, Default)]
pub struct KeyMap {
    records: BTreeMap<String, (Vec<u8>, &'static str)>,
}

impl KeyMap {
    /// Remember that `encoded` stands for `original`.
    pub fn record(&mut self, encoded: &str, original: &[u8], kind: &'static str) {
        self.records
            .insert(encoded.to_owned(), (original.to_vec(), kind));
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Write `rel` (e.g. `redis/db_0/KEYMAP.jsonl`) into the tree if there is any record.
    pub fn write(&self, tree: &mut DumpTree, rel: &str) -> Result<(), DumpError> {
        let _ = (tree, rel);
        todo!()
    }
}

/// Read a KEYMAP.jsonl strictly (§6 reader rules); last record wins. Map: encoded → original.
pub fn load(path: &Path) -> Result<HashMap<String, Vec<u8>>, DumpError> {
    let _ = path;
    todo!()
}
