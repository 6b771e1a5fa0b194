//! The Redis adapter: `redis/db_<n>/` in the dump tree (redis.md).
//!
//! * `keys.rs`: internal key and value layouts of every Redis family, both directions.
//! * `state.rs`: the decoder's facts (sort keys for the external sorter) and per-key state.
//! * `collfile.rs`: streaming writers of the collection files.
//! * `decode.rs`: live records → `redis/db_0/…` files.
//! * `encode.rs`: `redis/db_0/…` files → records.

mod collfile;
pub mod decode;
pub mod encode;
pub mod keys;
mod state;

pub use decode::{RedisDecoder, TreeOut, DEFAULT_SORT_BUDGET};
pub use encode::RedisEncoder;
