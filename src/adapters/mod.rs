//! Adapters: one folder per elastickv API, each owning its internal key and value layouts
//! (`keys.rs`, with its `ROUTES`) and both directions of the conversion (`decode.rs`: records
//! → tree, `encode.rs`: tree → records), built from its own options struct (`mod.rs`).
//!
//! This file is the registry, the one place that lists adapters: the [`Adapter`] enum and
//! one `match` per facet (routes, decoder, encoder, encode-time checks, manifest scope, the
//! canonical and finalize orders). The pipelines and `inspect` iterate it and name no
//! adapter. Adding an adapter = its folder + one variant here.
//!
//! Beside it: `route` (the route table built from the adapters' `ROUTES`), `plugin`
//! (the traits, records, warnings and [`AdapterError`]) and `batch` (parallel per-file
//! encoding).

mod batch;
mod plugin;
mod route;

pub mod dynamodb;
pub mod redis;
pub mod s3;
pub mod sqs;

pub(crate) use batch::{default_threads, encode_files, RecordBatch};
pub use plugin::{
    AdapterError, Cause, CompareRule, DecodeContext, Decoder, EncodeContext, Encoder, Event, FileRange,
    Record, RecordSink, SinkError, Warning, Warnings, REFERENCE_MIN,
};
pub use route::Route;
pub(crate) use route::{families, family_index, route, RouteEntry, Router, INTERNAL};

pub(crate) use crate::container::display_key;
use crate::dump::manifest::{AdapterScope, Adapters, Manifest};

/// The adapters, in the canonical order of MANIFEST/ENCODE_INFO (`redis, dynamodb, s3, sqs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Adapter {
    /// The Redis adapter (strings, hashes, lists, sets, zsets, streams, HLL).
    Redis,
    /// The DynamoDB adapter (tables and items).
    DynamoDb,
    /// The S3 adapter (buckets and objects).
    S3,
    /// The SQS adapter (queues and messages).
    Sqs,
}

impl Adapter {
    /// Every adapter, in canonical order (the encoder runs them in this order).
    pub const ALL: [Adapter; 4] = [Adapter::Redis, Adapter::DynamoDb, Adapter::S3, Adapter::Sqs];

    /// The order decoders are finalized in (Go's: dynamodb, s3, redis, sqs).
    pub const FINALIZE_ORDER: [Adapter; 4] = [Adapter::DynamoDb, Adapter::S3, Adapter::Redis, Adapter::Sqs];

    /// The name used on the command line, in MANIFEST.json and as the tree's top directory.
    pub fn name(self) -> &'static str {
        match self {
            Adapter::Redis => "redis",
            Adapter::DynamoDb => "dynamodb",
            Adapter::S3 => "s3",
            Adapter::Sqs => "sqs",
        }
    }

    /// Parse a canonical adapter name.
    pub fn from_name(name: &str) -> Option<Adapter> {
        Adapter::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The adapter's key prefixes (its `keys.rs`).
    pub fn routes(self) -> &'static [Route] {
        match self {
            Adapter::Redis => redis::keys::ROUTES,
            Adapter::DynamoDb => dynamodb::keys::ROUTES,
            Adapter::S3 => s3::keys::ROUTES,
            Adapter::Sqs => sqs::keys::ROUTES,
        }
    }

    /// The adapter's decoder, or `None` when this toolkit does not decode it yet (its records
    /// are then counted and reported, never dropped silently).
    pub fn decoder(self, o: &AdapterOptions, cx: &DecodeContext) -> Option<Box<dyn Decoder>> {
        match self {
            Adapter::Redis => Some(Box::new(redis::RedisDecoder::new(&o.redis, cx))),
            Adapter::DynamoDb => Some(Box::new(dynamodb::DynamoDbDecoder::new(&o.dynamodb, cx))),
            Adapter::S3 => Some(Box::new(s3::S3Decoder::new(&o.s3, cx))),
            Adapter::Sqs => Some(Box::new(sqs::SqsDecoder::new(&o.sqs, cx))),
        }
    }

    /// The adapter's encoder, or `None` when this toolkit does not encode it yet (a subtree
    /// holding files is then refused).
    pub fn encoder(self, o: &AdapterOptions, cx: &EncodeContext) -> Option<Box<dyn Encoder>> {
        match self {
            Adapter::Redis => Some(Box::new(redis::RedisEncoder::new(&o.redis, cx))),
            Adapter::DynamoDb => Some(Box::new(dynamodb::DynamoDbEncoder::new(&o.dynamodb, cx))),
            Adapter::S3 => Some(Box::new(s3::S3Encoder::new(&o.s3, cx))),
            Adapter::Sqs => Some(Box::new(sqs::SqsEncoder::new(&o.sqs, cx))),
        }
    }

    /// Whether a tree decoded with these options can be encoded back.
    pub fn check_encode(self, o: &AdapterOptions) -> Result<(), AdapterError> {
        match self {
            Adapter::Redis => Ok(()),
            Adapter::DynamoDb => o.dynamodb.check_encode(),
            Adapter::S3 => o.s3.check_encode(),
            Adapter::Sqs => o.sqs.check_encode(),
        }
    }

    /// How the self-test compares the file at `rel` (relative to the adapter's directory,
    /// `/`-separated) with its decoded twin (D13).
    pub fn compare_rule(self, rel: &str) -> CompareRule {
        match self {
            Adapter::Redis => redis::compare_rule(rel),
            Adapter::DynamoDb => dynamodb::compare_rule(rel),
            Adapter::S3 => s3::compare_rule(rel),
            Adapter::Sqs => sqs::compare_rule(rel),
        }
    }

    /// The adapter's scope in MANIFEST.json (`None`: not in the dump).
    pub fn scope(self, a: &Adapters) -> &Option<AdapterScope> {
        match self {
            Adapter::Redis => &a.redis,
            Adapter::DynamoDb => &a.dynamodb,
            Adapter::S3 => &a.s3,
            Adapter::Sqs => &a.sqs,
        }
    }

    /// The adapter's scope in MANIFEST.json, for writing.
    pub fn scope_mut(self, a: &mut Adapters) -> &mut Option<AdapterScope> {
        match self {
            Adapter::Redis => &mut a.redis,
            Adapter::DynamoDb => &mut a.dynamodb,
            Adapter::S3 => &mut a.s3,
            Adapter::Sqs => &mut a.sqs,
        }
    }
}

/// The options of every adapter: the decode CLI flattens them into its flags, the library
/// takes them as they are, and MANIFEST.json records them (`exclusions`, `dynamodb_layout`),
/// so an encode reads back the options its tree was decoded with.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct AdapterOptions {
    /// The Redis options.
    #[command(flatten)]
    pub redis: redis::RedisOptions,
    /// The DynamoDB options.
    #[command(flatten)]
    pub dynamodb: dynamodb::DynamoDbOptions,
    /// The S3 options.
    #[command(flatten)]
    pub s3: s3::S3Options,
    /// The SQS options.
    #[command(flatten)]
    pub sqs: sqs::SqsOptions,
}

impl AdapterOptions {
    /// Record the options in a manifest.
    pub fn to_manifest(&self, m: &mut Manifest) {
        self.dynamodb.to_manifest(m);
        self.s3.to_manifest(m);
        self.sqs.to_manifest(m);
    }

    /// The options a manifest's tree was decoded with.
    pub fn from_manifest(m: &Manifest) -> AdapterOptions {
        AdapterOptions {
            redis: redis::RedisOptions::default(),
            dynamodb: dynamodb::DynamoDbOptions::from_manifest(m),
            s3: s3::S3Options::from_manifest(m),
            sqs: sqs::SqsOptions::from_manifest(m),
        }
    }
}

/// A Go `strconv.ParseBool` boolean flag value (`-flag`, `-flag=true`, `-flag=0`…), for the
/// adapters' boolean options.
pub(crate) fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_orders_hold_every_adapter() {
        for a in Adapter::ALL {
            assert_eq!(Adapter::from_name(a.name()), Some(a));
            assert!(Adapter::FINALIZE_ORDER.contains(&a));
            assert!(!a.routes().is_empty());
        }
        assert_eq!(Adapter::from_name("Redis"), None);
        let mut sorted = Adapter::ALL;
        sorted.sort();
        assert_eq!(sorted, Adapter::ALL);
    }

    #[test]
    fn options_survive_the_manifest() {
        let mut o = AdapterOptions::default();
        o.dynamodb.layout = dynamodb::DynamoDbLayout::Jsonl;
        o.s3.include_orphans = true;
        o.s3.rename_collisions = true;
        o.sqs.include_side_records = true;
        let mut m = Manifest::for_decode(Adapters::default());
        o.to_manifest(&mut m);
        assert_eq!(m.dynamodb_layout, "jsonl");
        assert!(m.exclusions.rename_s3_collisions && m.exclusions.include_orphans);
        let back = AdapterOptions::from_manifest(&m);
        assert_eq!(back.dynamodb.layout, o.dynamodb.layout);
        assert_eq!(back.s3, o.s3);
        assert_eq!(back.sqs, o.sqs);
    }

    #[test]
    fn go_bools() {
        assert_eq!(parse_go_bool("T"), Ok(true));
        assert_eq!(parse_go_bool("0"), Ok(false));
        assert!(parse_go_bool("yes").is_err());
    }
}
