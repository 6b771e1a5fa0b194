//! The integration tests, one binary: one module per area, sharing the helpers in
//! `common/`, `redis_util.rs` and `s3_util.rs`.
//!
//! `container_alloc.rs` and `redis_decode_memory.rs` are binaries of their own (see
//! Cargo.toml): each installs a counting global allocator, which would count, and be
//! disturbed by, every other test running in the same process.

mod common;
mod redis_util;
mod s3_util;

mod cli_decode;
mod cli_encode;
mod cli_inspect;
mod cli_safety;
mod container_fuzz;
mod container_sample;
mod dump_tree;
mod dynamodb_golden;
mod dynamodb_roundtrip;
mod layers;
mod live;
mod mvcc_view;
mod pipeline_encode;
mod redis_decode;
mod redis_encode;
mod redis_roundtrip;
mod s3_decode;
mod s3_encode;
mod s3_golden;
mod s3_live;
mod s3_roundtrip;
mod spill_sort;
mod sqs_adapter;
mod sqs_cli;
mod sqs_roundtrip;
mod sst_bundle;
