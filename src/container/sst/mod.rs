//! The `EKVSSTI1` Pebble SST-ingest bundle (spec/sst_bundle.md; containers.md §2.4), read
//! without Pebble: [`SstBundleReader`] reads the frame, the manifest and the Pebble tables
//! inside it; [`TableWriter`] and [`bundle_bytes`] write both (fixtures and the benchmark generator). The entries
//! come out exactly as from an `EKVPBBL1` stream of the same store, in the same order.

pub(crate) mod bundle;
pub(crate) mod table;
pub(crate) mod writer;

pub use bundle::{SstBundleReader, SstFileMeta, SstFileReport, SstManifest};
pub use writer::{bundle_bytes, file_meta, manifest, write_bundle_head, TableOptions, TableWriter};
