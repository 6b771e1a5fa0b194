//! S3 internal key layouts (s3_tree_pipeline.md §2.2) and the adapter's routes.

use crate::adapters::Route;

/// What an S3 key is: the handler tag of its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    BucketMeta,
    BucketGeneration,
    ObjectManifest,
    UploadMeta,
    UploadPart,
    Blob,
    ChunkRef,
    ChunkBlob,
    GcUpload,
    RouteCatalog,
}

/// The S3 prefixes of the route table (s3_tree_pipeline.md §2.2, §10.3).
pub const ROUTES: &[Route] = &[
    Route::new(b"!s3|bucket|meta|", "s3", Kind::BucketMeta as u8),
    Route::new(b"!s3|bucket|gen|", "s3", Kind::BucketGeneration as u8),
    Route::new(b"!s3|obj|head|", "s3", Kind::ObjectManifest as u8),
    Route::new(b"!s3|upload|meta|", "s3", Kind::UploadMeta as u8),
    Route::new(b"!s3|upload|part|", "s3", Kind::UploadPart as u8),
    Route::new(b"!s3|blob|", "s3", Kind::Blob as u8),
    Route::new(b"!s3|chunkref|", "s3", Kind::ChunkRef as u8),
    Route::new(b"!s3|chunkblob|", "s3", Kind::ChunkBlob as u8),
    Route::new(b"!s3|gc|upload|", "s3", Kind::GcUpload as u8),
    Route::new(b"!s3route|", "s3", Kind::RouteCatalog as u8),
];
