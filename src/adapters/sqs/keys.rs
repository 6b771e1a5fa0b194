//! SQS internal key layouts (dynamodb_sqs.md §2.1) and the adapter's routes.

use crate::adapters::Route;

/// What an SQS key is: the handler tag of its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    QueueMeta,
    QueueGeneration,
    QueueSequence,
    QueueTombstone,
    MessageData,
    Visibility,
    ByAge,
    Dedup,
    Group,
}

/// The SQS prefixes of the route table (dynamodb_sqs.md §2.1).
pub const ROUTES: &[Route] = &[
    Route::new(b"!sqs|queue|meta|", "sqs", Kind::QueueMeta as u8),
    Route::new(b"!sqs|queue|gen|", "sqs", Kind::QueueGeneration as u8),
    Route::new(b"!sqs|queue|seq|", "sqs", Kind::QueueSequence as u8),
    Route::new(b"!sqs|queue|tombstone|", "sqs", Kind::QueueTombstone as u8),
    Route::new(b"!sqs|msg|data|", "sqs", Kind::MessageData as u8),
    Route::new(b"!sqs|msg|vis|", "sqs", Kind::Visibility as u8),
    Route::new(b"!sqs|msg|byage|", "sqs", Kind::ByAge as u8),
    Route::new(b"!sqs|msg|dedup|", "sqs", Kind::Dedup as u8),
    Route::new(b"!sqs|msg|group|", "sqs", Kind::Group as u8),
];
