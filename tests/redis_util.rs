//! Shared helpers of the Redis adapter tests (included by the `redis_*` test files with
//! `#[path]`; as a test target of its own it has nothing to run).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ekv_snapshot::adapters::redis::keys::LayoutError;
use ekv_snapshot::adapters::redis::{RedisDecoder, RedisEncoder, RedisOptions};
use ekv_snapshot::adapters::{
    AdapterError, DecodeContext, Decoder, EncodeContext, Encoder, Record, RecordSink, SinkError, Warnings,
};
use ekv_snapshot::dump::DumpTree;

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

pub type Rec = (Vec<u8>, Vec<u8>);

pub fn rec(k: impl AsRef<[u8]>, v: impl AsRef<[u8]>) -> Rec {
    (k.as_ref().to_vec(), v.as_ref().to_vec())
}

/// The result of decoding records into a published tree.
pub struct Decoded {
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub warnings: Warnings,
    /// The first handler error (records after it are not handled), else the finalize result.
    pub result: Result<(), AdapterError>,
}

impl Decoded {
    pub fn file(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join(rel)).ok()
    }
    pub fn text(&self, rel: &str) -> String {
        String::from_utf8(self.file(rel).unwrap_or_else(|| panic!("{rel} missing"))).unwrap()
    }
    pub fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).exists()
    }
    pub fn events(&self) -> Vec<&'static str> {
        self.warnings.iter().map(|w| w.event).collect()
    }
    pub fn field(&self, event: &str, name: &str) -> Option<String> {
        let w = self.warnings.iter().find(|w| w.event == event)?;
        w.fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }
    pub fn err(&self) -> String {
        match &self.result {
            Ok(()) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }
    /// The typed cause of the error, which must be a Redis layout error.
    pub fn layout(&self) -> LayoutError {
        match &self.result {
            Ok(()) => panic!("expected an error"),
            Err(e) => match e.cause::<LayoutError>() {
                Some(l) => l.clone(),
                None => panic!("not a layout error: {e}"),
            },
        }
    }
    /// Every file under `redis/`, by relative path.
    pub fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        collect(&self.root, &self.root.join("redis"), &mut out);
        out
    }
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

/// A decoder of `redis/db_<db>/` spilling to the OS temp dir.
pub fn decoder_db(db: u32) -> RedisDecoder {
    let cx = DecodeContext {
        scratch_dir: std::env::temp_dir(),
    };
    RedisDecoder::new(&RedisOptions { db }, &cx)
}

/// A decoder of `redis/db_0/`.
pub fn decoder() -> RedisDecoder {
    decoder_db(0)
}

/// A record routed through the registry's table, as the pipeline hands it over.
pub fn routed<'a>(k: &'a [u8], v: &'a [u8]) -> Record<'a> {
    Record::routed(k, v).unwrap_or_else(|| panic!("test key {k:?} has no route"))
}

pub fn decode(records: &[Rec]) -> Decoded {
    decode_with(decoder(), records)
}

pub fn decode_with(mut dec: RedisDecoder, records: &[Rec]) -> Decoded {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("out");
    let mut tree = DumpTree::create(&root).unwrap();
    let mut warnings = Warnings::new();
    let mut result = Ok(());
    for (k, v) in records {
        if let Err(e) = dec.handle_record(&mut tree, &routed(k, v)) {
            result = Err(e);
            break;
        }
    }
    let fin = dec.finalize(&mut tree, &mut warnings);
    if result.is_ok() {
        result = fin;
    }
    tree.publish(None).unwrap();
    Decoded {
        _tmp: tmp,
        root,
        warnings,
        result,
    }
}

/// A sink collecting records.
#[derive(Default)]
pub struct VecSink(pub Vec<Rec>);

impl RecordSink for VecSink {
    fn add(&mut self, user_key: &[u8], user_value: &[u8]) -> Result<(), SinkError> {
        self.0.push((user_key.to_vec(), user_value.to_vec()));
        Ok(())
    }
}

/// Encode a dump root; records sorted by key.
pub fn encode(root: &Path) -> Result<Vec<Rec>, AdapterError> {
    let mut sink = VecSink::default();
    let cx = EncodeContext {
        threads: 2,
        scratch_dir: std::env::temp_dir(),
        reader: ekv_snapshot::dump::TreeReader::unverified(root),
    };
    RedisEncoder::new(&RedisOptions::default(), &cx).encode(root, &mut sink)?;
    sink.0.sort();
    Ok(sink.0)
}

/// Write files (relative path → bytes) under a new temp root.
pub fn tree_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        let p = tmp.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    tmp
}
