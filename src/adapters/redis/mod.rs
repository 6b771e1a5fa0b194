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
