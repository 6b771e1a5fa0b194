//! The bytes of a snapshot file (containers.md): the FSM header, the EKVPBBL1 stream, the
//! live-file CRC32C footer, and format sniffing.

pub mod entry;

pub use entry::{MvccEntry, RawEntry, StreamEntry};

use crate::ErrorKind;

/// The error of the container layer.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("{0}")]
    Todo(String),
}

impl ContainerError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Data
    }
}
