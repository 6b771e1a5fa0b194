//! ekv-snapshot: read, verify, decode and encode elastickv snapshot files.
//!
//! The modules follow the data flow of a decode (and, reversed, an encode):
//!
//! ```text
//! file ─► container ─► mvcc ─► pipeline::decode ─► adapters::*::decode ─► dump
//! dump ─► adapters::*::encode ─► pipeline::encode ─► container (EKVPBBL1)
//! ```
//!
//! A module may use the modules above it in this list, never below:
//! [`ordered`] and [`spill`] (no format knowledge), [`container`], [`mvcc`], [`dump`], [`adapters`],
//! [`pipeline`], [`cli`]. The byte-level specification lives in `../shared/spec/`.

pub mod adapters;
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
