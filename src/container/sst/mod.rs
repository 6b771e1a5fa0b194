//! The `EKVSSTI1` Pebble SST-ingest bundle (spec/sst_bundle.md; containers.md §2.4), read
//! without Pebble: [`bundle`] owns the frame and the manifest, [`table`] the Pebble tables
//! inside it, [`writer`] writes both (fixtures and the benchmark generator). The entries
//! come out exactly as from an `EKVPBBL1` stream of the same store, in the same order.

pub mod bundle;
pub mod table;
pub mod writer;

pub use bundle::{SstBundleReader, SstFileMeta, SstFileReport, SstManifest};
