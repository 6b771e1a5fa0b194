//! [`ErrorKind`]: usage or data, the split every layer's error reports and the CLIs map to
//! exit codes 1 and 2 (DECISIONS.md D8). A leaf: it knows no layer.

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
