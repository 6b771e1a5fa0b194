//! The Redis adapter: `redis/db_<n>/` in the dump tree (redis.md).
//!
//! * `keys.rs`: internal key and value layouts of every Redis family, both directions, and
//!   the adapter's routes;
//! * `state.rs`: the decoder's facts (sort keys for the external sorter) and per-key state;
//! * `collfile.rs`: streaming writers of the collection files;
//! * `decode.rs`: live records → `redis/db_0/…` files;
//! * `encode.rs`: `redis/db_0/…` files → records.

mod collfile;
mod decode;
mod encode;
pub mod keys;
mod state;

pub use decode::{RedisDecoder, DEFAULT_SORT_BUDGET};
pub use encode::{enumerate_dbs, parse_db_name, RedisEncoder};

/// The Redis options (no flags: elastickv has one keyspace, written as `db_0`).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct RedisOptions {
    /// The database directory decoded into (`redis/db_<db>/`).
    #[arg(skip)]
    pub db: u32,
}

/// How the self-test compares a file of `redis/` (`rel` relative to it, D13): collection
/// files (`*.json`) by parsed value; KEYMAP.jsonl, the TTL sidecars and stream files as sets
/// of JSON values (the encoder sorts their records by key, so their order carries no
/// meaning; the decoder writes the TTL sidecars in sort order of facts, not of names);
/// string and HLL blobs byte for byte.
pub fn compare_rule(rel: &str) -> crate::adapters::CompareRule {
    use crate::adapters::CompareRule;
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let parent = rel.rsplit('/').nth(1).unwrap_or("");
    if name.ends_with(".json") {
        CompareRule::Json
    } else if matches!(name, "KEYMAP.jsonl" | "strings_ttl.jsonl" | "hll_ttl.jsonl")
        || (parent == "streams" && name.ends_with(".jsonl"))
    {
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
    fn redis_files_compare_by_their_meaning() {
        assert_eq!(compare_rule("db_0/hashes/h.json"), CompareRule::Json);
        assert_eq!(compare_rule("db_0/strings_ttl.jsonl"), CompareRule::JsonlSet);
        assert_eq!(compare_rule("db_0/hll_ttl.jsonl"), CompareRule::JsonlSet);
        assert_eq!(compare_rule("db_0/KEYMAP.jsonl"), CompareRule::JsonlSet);
        assert_eq!(compare_rule("db_0/streams/s.jsonl"), CompareRule::JsonlSet);
        assert_eq!(compare_rule("db_0/strings/a.bin"), CompareRule::Bytes);
        assert_eq!(compare_rule("db_0/strings/a.jsonl"), CompareRule::Bytes);
    }
}
