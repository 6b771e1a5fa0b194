//! The Redis adapter: `redis/db_<n>/` in the dump tree (redis.md).
//!
//! * `keys.rs`: internal key and value layouts of every Redis family, both directions.
//! * `decode.rs`: live records → `redis/db_0/…` files.
//! * `encode.rs`: `redis/db_0/…` files → records.

pub mod keys;
