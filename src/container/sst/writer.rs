//! Writers for the `EKVSSTI1` bundle and its Pebble tables (spec/sst_bundle.md), for test
//! fixtures and the benchmark generator. They write what the reader accepts and what
//! Pebble v2 reads: `PebbleDBv4` row blocks with restart points and shared prefixes, Snappy
//! blocks when they save an eighth (else uncompressed), masked CRC32C trailers, a single-
//! or two-level index, a properties block, a metaindex and the 53-byte footer. The bytes
//! are not Pebble's own (Pebble picks block boundaries and index separators by its own
//! rules), only the same format.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::bundle::{SstFileMeta, SstManifest, MANIFEST_VERSION};
use super::table::{
    masked_crc32c, BlockHandle, COMPRESSION_NONE, COMPRESSION_SNAPPY, FOOTER_LEN, TABLE_MAGIC,
};
use crate::container::format::MAGIC_SST_INGEST;

/// Target size of a data block (Pebble's default `BlockSize`).
pub const BLOCK_SIZE: usize = 4096;
/// Restart interval of data blocks (Pebble's default).
pub const RESTART_INTERVAL: usize = 16;

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_handle(out: &mut Vec<u8>, h: BlockHandle) {
    put_uvarint(out, h.offset);
    put_uvarint(out, h.length);
}

/// A row block being built.
#[derive(Debug, Default)]
struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    count: usize,
    prev: Vec<u8>,
    interval: usize,
}

impl BlockBuilder {
    fn new(interval: usize) -> Self {
        BlockBuilder {
            interval,
            ..Default::default()
        }
    }

    /// Add an entry; `max_shared` limits the shared prefix (Pebble shares at most the
    /// previous user key, never its trailer).
    fn add(&mut self, key: &[u8], value: &[u8], max_shared: usize) {
        let shared = if self.count % self.interval == 0 {
            self.restarts.push(self.buf.len() as u32);
            0
        } else {
            key.iter()
                .zip(&self.prev)
                .take(max_shared)
                .take_while(|(a, b)| a == b)
                .count()
        };
        put_uvarint(&mut self.buf, shared as u64);
        put_uvarint(&mut self.buf, (key.len() - shared) as u64);
        put_uvarint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.prev.clear();
        self.prev.extend_from_slice(key);
        self.count += 1;
    }

    fn size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// The finished contents; the builder is empty again.
    fn finish(&mut self) -> Vec<u8> {
        if self.restarts.is_empty() {
            self.restarts.push(0);
        }
        let mut out = std::mem::take(&mut self.buf);
        for r in &self.restarts {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        self.restarts.clear();
        self.count = 0;
        self.prev.clear();
        out
    }
}

/// Options of a [`TableWriter`].
#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    /// Try Snappy on every block (kept when it saves an eighth).
    pub snappy: bool,
    /// Index entries per partition of a two-level index (`None`: single-level index).
    pub index_partition: Option<usize>,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            snappy: true,
            index_partition: None,
        }
    }
}

/// Streams one Pebble table to `out`: keys must be added in ascending order.
#[derive(Debug)]
pub struct TableWriter<W: Write> {
    out: W,
    opts: TableOptions,
    offset: u64,
    data: BlockBuilder,
    last_key: Vec<u8>,
    index: Vec<(Vec<u8>, BlockHandle)>,
    entries: u64,
    scratch: Vec<u8>,
}

impl<W: Write> TableWriter<W> {
    /// A table writer on `out` with `opts`.
    pub fn new(out: W, opts: TableOptions) -> Self {
        TableWriter {
            out,
            opts,
            offset: 0,
            data: BlockBuilder::new(RESTART_INTERVAL),
            last_key: Vec::new(),
            index: Vec::new(),
            entries: 0,
            scratch: Vec::new(),
        }
    }

    /// Add `key` as a `SET` with sequence number 0 and an in-place `value`.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let mut ikey = Vec::with_capacity(key.len() + 8);
        ikey.extend_from_slice(key);
        ikey.extend_from_slice(&1u64.to_le_bytes());
        let mut v = Vec::with_capacity(value.len() + 1);
        v.push(0);
        v.extend_from_slice(value);
        self.add_raw(&ikey, &v, key.len())
    }

    /// Add an internal key and a stored value as given (tests use it to write what an
    /// export cannot hold).
    pub fn add_raw(&mut self, internal_key: &[u8], stored_value: &[u8], max_shared: usize) -> io::Result<()> {
        if self.data.count > 0 && self.data.size() + internal_key.len() + stored_value.len() > BLOCK_SIZE {
            self.flush_data()?;
        }
        self.data.add(internal_key, stored_value, max_shared);
        self.last_key.clear();
        self.last_key.extend_from_slice(internal_key);
        self.entries += 1;
        Ok(())
    }

    fn write_block(&mut self, contents: &[u8]) -> io::Result<BlockHandle> {
        let mut ctype = COMPRESSION_NONE;
        let mut body = contents;
        if self.opts.snappy {
            self.scratch
                .resize(snap::raw::max_compress_len(contents.len()), 0);
            let n = snap::raw::Encoder::new()
                .compress(contents, &mut self.scratch)
                .map_err(io::Error::other)?;
            if n < contents.len() - contents.len() / 8 {
                ctype = COMPRESSION_SNAPPY;
                body = &self.scratch[..n];
            }
        }
        let h = BlockHandle {
            offset: self.offset,
            length: body.len() as u64,
        };
        let crc = masked_crc32c(body, ctype);
        self.out.write_all(body)?;
        self.out.write_all(&[ctype])?;
        self.out.write_all(&crc.to_le_bytes())?;
        self.offset += h.len_with_trailer();
        Ok(h)
    }

    fn flush_data(&mut self) -> io::Result<()> {
        let contents = self.data.finish();
        let h = self.write_block(&contents)?;
        self.index.push((self.last_key.clone(), h));
        Ok(())
    }

    fn index_block(entries: &[(Vec<u8>, BlockHandle)]) -> Vec<u8> {
        let mut b = BlockBuilder::new(1);
        let mut v = Vec::new();
        for (k, h) in entries {
            v.clear();
            put_handle(&mut v, *h);
            b.add(k, &v, 0);
        }
        b.finish()
    }

    /// Write the index, properties, metaindex and footer; returns the output and the
    /// table's size.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if self.data.count > 0 {
            self.flush_data()?;
        }
        let index = std::mem::take(&mut self.index);
        let data_blocks = index.len() as u64;
        let (index_handle, two_level) = match self.opts.index_partition {
            Some(n) if n > 0 => {
                let mut top = Vec::new();
                for part in index.chunks(n) {
                    let contents = Self::index_block(part);
                    let h = self.write_block(&contents)?;
                    top.push((part.last().map(|(k, _)| k.clone()).unwrap_or_default(), h));
                }
                (self.write_block(&Self::index_block(&top))?, true)
            }
            _ => (self.write_block(&Self::index_block(&index))?, false),
        };
        let mut props = BlockBuilder::new(RESTART_INTERVAL);
        let var = |n: u64| {
            let mut v = Vec::new();
            put_uvarint(&mut v, n);
            v
        };
        let index_type = if two_level { 2u32 } else { 0 }.to_le_bytes().to_vec();
        let rows: [(&[u8], Vec<u8>); 7] = [
            (b"rocksdb.block.based.table.index.type", index_type),
            (b"rocksdb.comparator", b"leveldb.BytewiseComparator".to_vec()),
            (b"rocksdb.deleted.keys", var(0)),
            (b"rocksdb.merge.operands", var(0)),
            (b"rocksdb.num.data.blocks", var(data_blocks)),
            (b"rocksdb.num.entries", var(self.entries)),
            (b"rocksdb.num.range-deletions", var(0)),
        ];
        for (k, v) in &rows {
            props.add(k, v, usize::MAX);
        }
        let props_handle = self.write_block(&props.finish())?;
        let mut meta = BlockBuilder::new(1);
        let mut v = Vec::new();
        put_handle(&mut v, props_handle);
        meta.add(b"rocksdb.properties", &v, 0);
        let meta_handle = self.write_block(&meta.finish())?;
        let mut footer = vec![super::table::CHECKSUM_CRC32C];
        put_handle(&mut footer, meta_handle);
        put_handle(&mut footer, index_handle);
        footer.resize(FOOTER_LEN as usize - 12, 0);
        footer.extend_from_slice(&4u32.to_le_bytes());
        footer.extend_from_slice(&TABLE_MAGIC);
        self.out.write_all(&footer)?;
        self.offset += FOOTER_LEN;
        self.out.flush()?;
        Ok((self.out, self.offset))
    }
}

/// The manifest entry of a finished table: name by position, size, SHA-256, key range.
pub fn file_meta(index: usize, bytes: &[u8], smallest: &[u8], largest: &[u8]) -> SstFileMeta {
    SstFileMeta {
        name: format!("{index:06}.sst"),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        smallest: smallest.to_vec(),
        largest: largest.to_vec(),
    }
}

/// A manifest for `files`, with the totals filled in.
pub fn manifest(
    last_commit_ts: u64,
    applied_index: Option<u64>,
    entry_count: u64,
    uncompressed_bytes: u64,
    files: Vec<SstFileMeta>,
) -> SstManifest {
    SstManifest {
        version: MANIFEST_VERSION,
        last_commit_ts,
        min_retained_ts: 0,
        pending_min_retained_ts: 0,
        applied_index,
        entry_count,
        uncompressed_bytes,
        total_file_bytes: files.iter().map(|f| f.size).sum(),
        files,
    }
}

/// Write the bundle frame: magic, u64be manifest length, its SHA-256, the manifest JSON.
/// The tables follow, in manifest order, written by the caller.
pub fn write_bundle_head(out: &mut impl Write, manifest: &SstManifest) -> io::Result<()> {
    let json = manifest.to_json();
    out.write_all(&MAGIC_SST_INGEST)?;
    out.write_all(&(json.len() as u64).to_be_bytes())?;
    out.write_all(&Sha256::digest(&json))?;
    out.write_all(&json)
}

/// A whole bare bundle in memory (tests and small fixtures): one table per element of
/// `tables`, each a list of (key, value) in ascending key order.
pub fn bundle_bytes(
    tables: &[Vec<(Vec<u8>, Vec<u8>)>],
    opts: TableOptions,
    last_commit_ts: u64,
) -> io::Result<Vec<u8>> {
    let mut files = Vec::new();
    let mut bodies = Vec::new();
    let (mut entries, mut bytes) = (0u64, 0u64);
    for (i, t) in tables.iter().enumerate() {
        let mut w = TableWriter::new(Vec::new(), opts);
        for (k, v) in t {
            w.add(k, v)?;
            entries += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        let (body, _) = w.finish()?;
        let first = t.first().map(|(k, _)| k.as_slice()).unwrap_or_default();
        let last = t.last().map(|(k, _)| k.as_slice()).unwrap_or_default();
        files.push(file_meta(i, &body, first, last));
        bodies.push(body);
    }
    let m = manifest(last_commit_ts, Some(7), entries, bytes, files);
    let mut out = Vec::new();
    write_bundle_head(&mut out, &m)?;
    for b in bodies {
        out.extend_from_slice(&b);
    }
    Ok(out)
}
