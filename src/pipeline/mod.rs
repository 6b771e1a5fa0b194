//! Whole-snapshot operations: decode, encode, self-test, inspect.

use crate::ErrorKind;

/// The error of the pipeline layer.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Todo(String),
}

impl PipelineError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Data
    }
}
