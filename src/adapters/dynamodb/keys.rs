//! DynamoDB internal key layouts (dynamodb_sqs.md §1.1) and the adapter's routes.

use crate::adapters::Route;

/// What a DynamoDB key is: the handler tag of its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    TableMeta,
    TableGeneration,
    Item,
    GsiRow,
}

/// The DynamoDB prefixes of the route table (dynamodb_sqs.md §1.1).
pub const ROUTES: &[Route] = &[
    Route::new(b"!ddb|meta|table|", "dynamodb", Kind::TableMeta as u8),
    Route::new(b"!ddb|meta|gen|", "dynamodb", Kind::TableGeneration as u8),
    Route::new(b"!ddb|item|", "dynamodb", Kind::Item as u8),
    Route::new(b"!ddb|gsi|", "dynamodb", Kind::GsiRow as u8),
];
