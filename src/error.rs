//! The crate-wide error: one enum per layer, wrapped here, and the usage/data split the
//! CLIs map to exit codes (1 and 2, DECISIONS.md D8).

/// What kind of failure an error is, for exit-code mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad flags, a missing input, or an environment failure (I/O on our own output,
    /// permissions, a full disk). Exit code 1.
    Usage,
    /// The input bytes or tree are malformed, corrupt or unsupported. Exit code 2.
    Data,
}

impl ErrorKind {
    /// The process exit code for this kind (D8).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Usage => 1,
            ErrorKind::Data => 2,
        }
    }
}

/// Any error of the library, by layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Container(#[from] crate::container::ContainerError),
    #[error(transparent)]
    Mvcc(#[from] crate::mvcc::MvccError),
    #[error(transparent)]
    Dump(#[from] crate::dump::DumpError),
    #[error(transparent)]
    Adapter(#[from] crate::adapters::AdapterError),
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
