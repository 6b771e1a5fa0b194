//! Read, verify, decode and encode elastickv snapshot files (`.fsm`).
//!
//! A snapshot is a stream of MVCC entries (key, commit timestamp, value) in a container
//! format. This crate turns it into a plain dump tree, one directory per elastickv API
//! (`redis/`, `dynamodb/`, `s3/`, `sqs/`) with `MANIFEST.json`, `KEYMAP.jsonl` and
//! `CHECKSUMS`, and turns such a tree back into a snapshot, byte-compatible with elastickv's
//! own toolkit. The byte-level specification lives in `../shared/spec/`.
//!
//! # Layers and data flow
//!
//! ```text
//! decode:  .fsm ─► container ─► mvcc ─► pipeline::decode ─► adapters::<name> decoder ─► dump tree
//! encode:  dump tree ─► adapters::<name> encoder ─► pipeline::encode (sort, stamp) ─► container ─► .fsm
//! ```
//!
//! * [`ordered`] and [`spill`]: no format knowledge; ordered parallel work and an external
//!   sort with a memory budget, so that no table, bucket or queue is held whole in memory.
//! * [`container`]: the file formats (FSM header, `EKVPBBL1` entry stream, CRC32C footer):
//!   reading entries with bounds checks, and writing them.
//! * [`mvcc`]: the newest live version of each user key, from a key-sorted stream.
//! * [`dump`]: the adapter-agnostic tree: file-name segments, the one JSON writer,
//!   `MANIFEST.json`, `KEYMAP.jsonl`, `CHECKSUMS`, atomic publication.
//! * [`adapters`]: the registry ([`adapters::Adapter`]) and one folder per API, each owning
//!   its key layouts and both directions of the conversion.
//! * [`pipeline`]: decode, encode and inspect, iterating the registry; [`cli`] parses
//!   arguments and maps [`Error::kind`] to exit codes.
//!
//! A module uses only the layers above it in this list. Every layer has one error type;
//! [`Error`] wraps them.
//!
//! # Public API
//!
//! The layer modules above are the public namespaces. Their inner modules are private; each
//! layer's `mod.rs` re-exports what a caller needs (`pipeline::decode_snapshot`,
//! `dump::Manifest`, `container::SnapshotFile`, ...). Three kinds of sub-namespace stay
//! public because their names only make sense qualified: [`dump::json`] (the JSON writer),
//! `container::sst` (the `EKVSSTI1` bundle reader and writer) and, per adapter, `keys` (key
//! and value layouts, for tools that build snapshots) plus a value-format module where the
//! adapter has one ([`adapters::dynamodb::proto`], [`adapters::sqs::values`]).
//!
//! # Example
//!
//! Decode a snapshot into a tree, encode the tree back with the options its `MANIFEST.json`
//! records, decode that again: the same Redis files come out, and encoding them again gives
//! the same snapshot bytes.
//!
//! ```
//! use std::collections::BTreeSet;
//! use std::path::{Path, PathBuf};
//!
//! use ekv_snapshot::adapters::Adapter;
//! use ekv_snapshot::dump::Manifest;
//! use ekv_snapshot::pipeline::{decode_snapshot, encode_snapshot, DecodeOptions, EncodeOptions, NoProgress};
//!
//! /// Tree → snapshot bytes, with the adapters and options the tree's MANIFEST.json lists.
//! fn encode(tree: &Path) -> Result<Vec<u8>, ekv_snapshot::Error> {
//!     let manifest = Manifest::read(tree)?;
//!     let opts = EncodeOptions::from_manifest(tree.to_path_buf(), &manifest, None, None)?;
//!     let mut fsm = Vec::new();
//!     let result = encode_snapshot(&opts, &mut fsm)?;
//!     assert_eq!(result.bytes_written, fsm.len() as u64);
//!     Ok(fsm)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample.fsm");
//! let dir = tempfile::tempdir()?;
//!
//! // Snapshot → tree.
//! let tree = dir.path().join("tree");
//! let decoded = decode_snapshot(&sample, &DecodeOptions::new(&tree), &mut NoProgress)?;
//! assert!(decoded.counters.routed[&Adapter::Redis] > 0);
//!
//! // Tree → snapshot → tree.
//! let fsm = encode(&tree)?;
//! let again = dir.path().join("again.fsm");
//! std::fs::write(&again, &fsm)?;
//! let tree2 = dir.path().join("tree2");
//! decode_snapshot(&again, &DecodeOptions::new(&tree2), &mut NoProgress)?;
//!
//! let files = files_under(&tree.join("redis"))?;
//! assert!(files.contains(Path::new("db_0/strings/greeting.bin")));
//! assert_eq!(files, files_under(&tree2.join("redis"))?);
//! assert_eq!(
//!     std::fs::read(tree.join("redis/db_0/strings/greeting.bin"))?,
//!     std::fs::read(tree2.join("redis/db_0/strings/greeting.bin"))?
//! );
//! assert_eq!(encode(&tree2)?, fsm);
//! # Ok(())
//! # }
//! #
//! # /// Every file under `dir`, by path relative to it.
//! # fn files_under(dir: &Path) -> std::io::Result<BTreeSet<PathBuf>> {
//! #     let mut out = BTreeSet::new();
//! #     let mut todo = vec![dir.to_path_buf()];
//! #     while let Some(d) = todo.pop() {
//! #         for e in std::fs::read_dir(&d)? {
//! #             let p = e?.path();
//! #             if p.is_dir() {
//! #                 todo.push(p);
//! #             } else {
//! #                 out.insert(p.strip_prefix(dir).unwrap_or(&p).to_path_buf());
//! #             }
//! #         }
//! #     }
//! #     Ok(out)
//! # }
//! ```

// Every public item is documented; every type a public signature names is re-exported.
#![warn(missing_docs, unnameable_types)]

pub mod adapters;
// The CLI's doc comments are clap help text (`<index>` is not an HTML tag).
#[allow(rustdoc::invalid_html_tags)]
pub mod cli;
pub mod container;
pub mod dump;
mod error;
mod error_kind;
pub mod mvcc;
pub mod ordered;
pub mod pipeline;
pub mod spill;

pub use error::Error;
pub use error_kind::ErrorKind;

/// The toolkit's version, recorded in MANIFEST.json and ENCODE_INFO.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
