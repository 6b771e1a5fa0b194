//! The crate-wide error: one enum per layer, wrapped here; [`Error::kind`] gives the
//! usage/data split the CLIs map to exit codes (1 and 2, DECISIONS.md D8).

use crate::error_kind::ErrorKind;

/// Any error of the library, by layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A container-layer error.
    #[error(transparent)]
    Container(#[from] crate::container::ContainerError),
    /// An MVCC-layer error.
    #[error(transparent)]
    Mvcc(#[from] crate::mvcc::MvccError),
    /// A dump-layer error.
    #[error(transparent)]
    Dump(#[from] crate::dump::DumpError),
    /// An adapter-layer error.
    #[error(transparent)]
    Adapter(#[from] crate::adapters::AdapterError),
    /// A pipeline-layer error.
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
}

impl Error {
    /// Usage or data: decides the exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Container(e) => e.kind(),
            Error::Mvcc(e) => e.kind(),
            Error::Dump(e) => e.kind(),
            Error::Adapter(e) => e.kind(),
            Error::Pipeline(e) => e.kind(),
        }
    }
}
