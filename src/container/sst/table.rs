//! The Pebble sstables inside an `EKVSSTI1` bundle (spec/sst_bundle.md §3): table format
//! `PebbleDBv4` with row blocks, as Pebble v2 writes it for a store pinned at
//! `FormatVirtualSSTables`.
//!
//! ```text
//! [data block]* [index blocks] [properties block] [metaindex block] [footer, 53 bytes]
//! block   = contents | u8 compression (0 none, 1 snappy) | u32le masked CRC32C(contents ‖ type)
//! contents: { uvarint shared | uvarint unshared | uvarint value_len | key[shared..] | value }*
//!           u32le restart offset* (MSB: a Pebble flag, masked off) | u32le restart count
//! footer  = u8 checksum type (1 = CRC32C) | metaindex handle | index handle (uvarints),
//!           zero padding | u32le format version (4) | magic F0 9F AA B3 F0 9F AA B3
//! data-block key = user key ‖ u64le (seqnum << 8 | kind); value = u8 prefix ‖ value
//! ```
//!
//! [`Table::open`] reads the footer, metaindex, properties and (top-level) index block by
//! position; data blocks are then handed in by the caller, in file order, through
//! [`Table::next_data_block`] and [`Table::load_data_block`], so a caller can stream them
//! from the bundle. Memory is one data block, one index block and (for a two-level index)
//! one index partition. Every block's checksum is verified before it is decoded; every
//! entry must be a `SET` with sequence number 0 and an in-place value (the only thing the
//! exporter can write, spec §3.4); anything else is a data error naming the table, the
//! block and its offset.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::container::ContainerError;

/// Size of a `PebbleDBv4` (RocksDB-style) footer.
pub const FOOTER_LEN: u64 = 53;
/// Footer magic of Pebble tables (`pebbleDBMagic`).
pub const TABLE_MAGIC: [u8; 8] = [0xf0, 0x9f, 0xaa, 0xb3, 0xf0, 0x9f, 0xaa, 0xb3];
/// Size of a block trailer: compression type and checksum.
pub const BLOCK_TRAILER_LEN: u64 = 5;
/// Checksum type byte of CRC32C.
pub const CHECKSUM_CRC32C: u8 = 1;
/// Block compression types (`CompressionIndicator`).
pub const COMPRESSION_NONE: u8 = 0;
pub const COMPRESSION_SNAPPY: u8 = 1;
/// Internal key kind `SET`.
pub const KIND_SET: u8 = 1;
/// Size of the internal-key trailer.
pub const KEY_TRAILER_LEN: usize = 8;
/// Largest decompressed block accepted: one entry of the largest key and value the store
/// allows, plus framing (a checksummed block claiming more is refused before allocating).
pub const MAX_BLOCK_LEN: u64 = 1_048_584 + 268_435_499 + 1024;
/// Index type property value of a two-level index.
const TWO_LEVEL_INDEX: u32 = 2;
const PROPERTIES_NAME: &[u8] = b"rocksdb.properties";
const BYTEWISE_COMPARATOR: &[u8] = b"leveldb.BytewiseComparator";

/// A block's position: offset and length of its contents (trailer excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHandle {
    pub offset: u64,
    pub length: u64,
}

impl BlockHandle {
    /// Contents and trailer.
    pub fn len_with_trailer(self) -> u64 {
        self.length.saturating_add(BLOCK_TRAILER_LEN)
    }

    fn end(self) -> u64 {
        self.offset.saturating_add(self.len_with_trailer())
    }
}

/// Pebble's masked CRC32C (`internal/crc`): rotate right by 15, add a constant.
pub fn masked_crc32c(contents: &[u8], block_type: u8) -> u32 {
    let c = crc32c::crc32c_append(crc32c::crc32c(contents), &[block_type]);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// An unsigned varint of at most `max_bytes` bytes at `pos`: the value and its length.
fn uvarint(buf: &[u8], pos: usize, max_bytes: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..max_bytes {
        let b = *buf.get(pos + i)?;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A block handle (two uvarints) at the start of `buf`, with the bytes it used.
pub fn decode_handle(buf: &[u8]) -> Option<(BlockHandle, usize)> {
    let (offset, a) = uvarint(buf, 0, 10)?;
    let (length, b) = uvarint(buf, a, 10)?;
    Some((BlockHandle { offset, length }, a + b))
}

/// A decoded row block, iterated entry by entry (key rebuilt from shared prefixes, restart
/// points checked against the entries as they pass).
#[derive(Debug, Default)]
pub struct RowBlock {
    data: Vec<u8>,
    entries_end: usize,
    restart_count: usize,
    next_restart: usize,
    pos: usize,
    key: Vec<u8>,
    value: (usize, usize),
}

impl RowBlock {
    /// Prepare to iterate `self.data`; an error is a problem description.
    fn start(&mut self) -> Result<(), String> {
        let len = self.data.len();
        let count = self
            .data
            .get(len.saturating_sub(4)..)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| format!("block of {len} bytes has no restart count"))?;
        let suffix = (u64::from(count) + 1) * 4;
        if count == 0 || suffix > len as u64 {
            return Err(format!(
                "restart count {count} does not fit a block of {len} bytes (expected 1..={})",
                (len / 4).saturating_sub(1)
            ));
        }
        self.entries_end = len - suffix as usize;
        self.restart_count = count as usize;
        self.next_restart = 0;
        self.pos = 0;
        self.key.clear();
        self.value = (0, 0);
        Ok(())
    }

    fn restart(&self, i: usize) -> Option<usize> {
        let at = self.entries_end + 4 * i;
        let b: [u8; 4] = self.data.get(at..at + 4)?.try_into().ok()?;
        Some((u32::from_le_bytes(b) & 0x7fff_ffff) as usize)
    }

    /// The next entry: `Ok(false)` at the end (the key of the last entry stays readable).
    fn next(&mut self) -> Result<bool, String> {
        let at = self.pos;
        if at >= self.entries_end {
            if self.next_restart != self.restart_count {
                return Err(format!(
                    "restart point {} (offset {:?}) is not the start of an entry",
                    self.next_restart,
                    self.restart(self.next_restart)
                ));
            }
            return Ok(false);
        }
        let bad = |what: &str| format!("entry at block offset {at}: {what}");
        let entries = self.data.get(..self.entries_end).unwrap_or_default();
        let (shared, a) = uvarint(entries, at, 5).ok_or_else(|| bad("bad shared-prefix varint"))?;
        let (unshared, b) = uvarint(entries, at + a, 5).ok_or_else(|| bad("bad key-length varint"))?;
        let (vlen, c) = uvarint(entries, at + a + b, 5).ok_or_else(|| bad("bad value-length varint"))?;
        if self.next_restart < self.restart_count {
            let r = self.restart(self.next_restart).unwrap_or(usize::MAX);
            if r == at {
                if shared != 0 {
                    return Err(bad("a restart point shares a key prefix"));
                }
                self.next_restart += 1;
            } else if r < at {
                return Err(format!(
                    "restart point {} (offset {r}) is not the start of an entry",
                    self.next_restart
                ));
            }
        }
        if shared > self.key.len() as u64 {
            return Err(bad(&format!(
                "shares {shared} key bytes, the previous key has {}",
                self.key.len()
            )));
        }
        let key_start = at + a + b + c;
        let key_end = key_start as u64 + unshared;
        let value_end = key_end + vlen;
        if value_end > self.entries_end as u64 {
            return Err(bad(&format!(
                "key of {unshared} and value of {vlen} bytes overrun the entries ending at {}",
                self.entries_end
            )));
        }
        let (key_end, value_end) = (key_end as usize, value_end as usize);
        self.key.truncate(shared as usize);
        self.key
            .extend_from_slice(self.data.get(key_start..key_end).unwrap_or_default());
        self.value = (key_end, value_end);
        self.pos = value_end;
        Ok(true)
    }

    fn key(&self) -> &[u8] {
        &self.key
    }

    fn value(&self) -> &[u8] {
        self.data.get(self.value.0..self.value.1).unwrap_or_default()
    }
}

/// What a block is, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Footer,
    Metaindex,
    Properties,
    Index,
    TopIndex,
    IndexPartition,
    Data,
}

impl BlockKind {
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Footer => "footer",
            BlockKind::Metaindex => "metaindex block",
            BlockKind::Properties => "properties block",
            BlockKind::Index => "index block",
            BlockKind::TopIndex => "top-level index block",
            BlockKind::IndexPartition => "index partition",
            BlockKind::Data => "data block",
        }
    }
}

/// The properties an export is checked against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableProps {
    pub entries: u64,
    pub data_blocks: u64,
    pub two_level_index: bool,
}

/// One table of a bundle, being read.
#[derive(Debug)]
pub struct Table {
    name: String,
    /// Where table offset 0 is in the file given to positional reads.
    base: u64,
    /// Where table offset 0 is in the snapshot file (for errors).
    shown_base: u64,
    size: u64,
    props: TableProps,
    top: RowBlock,
    lower: RowBlock,
    lower_active: bool,
    data: RowBlock,
    raw: Vec<u8>,
    next_data: u64,
    /// Offset (in the table) of the data block being iterated.
    data_offset: u64,
    data_blocks: u64,
    entries: u64,
    entry_value: (usize, usize),
}

impl Table {
    /// Read the footer, metaindex, properties and index of the table of `size` bytes at
    /// `base` in `src`. `shown_base` is its offset in the snapshot file, for errors.
    pub fn open(
        src: &File,
        base: u64,
        size: u64,
        shown_base: u64,
        name: &str,
    ) -> Result<Table, ContainerError> {
        let mut t = Table {
            name: name.to_owned(),
            base,
            shown_base,
            size,
            props: TableProps::default(),
            top: RowBlock::default(),
            lower: RowBlock::default(),
            lower_active: false,
            data: RowBlock::default(),
            raw: Vec::new(),
            next_data: 0,
            data_offset: 0,
            data_blocks: 0,
            entries: 0,
            entry_value: (0, 0),
        };
        let footer_at = size.checked_sub(FOOTER_LEN).ok_or_else(|| {
            t.corrupt(
                BlockKind::Footer,
                0,
                format!("table of {size} bytes is shorter than its {FOOTER_LEN}-byte footer"),
            )
        })?;
        let mut footer = [0u8; FOOTER_LEN as usize];
        src.read_exact_at(&mut footer, base + footer_at)
            .map_err(|source| ContainerError::Io {
                offset: shown_base + footer_at,
                what: "sstable footer",
                source,
            })?;
        let (metaindex, index) = t.parse_footer(&footer, footer_at)?;
        let mut meta = RowBlock::default();
        t.read_block(src, metaindex, BlockKind::Metaindex, footer_at, &mut meta)?;
        let mut props_handle = None;
        loop {
            match meta.next() {
                Ok(true) => {}
                Ok(false) => break,
                Err(p) => return Err(t.corrupt(BlockKind::Metaindex, metaindex.offset, p)),
            }
            if meta.key() != PROPERTIES_NAME {
                return Err(t.corrupt(
                    BlockKind::Metaindex,
                    metaindex.offset,
                    format!(
                        "meta block {:?} cannot occur in an export (no range deletions, filters, range keys or value blocks are written)",
                        String::from_utf8_lossy(meta.key())
                    ),
                ));
            }
            let h = decode_handle(meta.value()).map(|(h, _)| h).ok_or_else(|| {
                t.corrupt(
                    BlockKind::Metaindex,
                    metaindex.offset,
                    "bad properties block handle",
                )
            })?;
            props_handle = Some(h);
        }
        let props_handle = props_handle.ok_or_else(|| {
            t.corrupt(
                BlockKind::Metaindex,
                metaindex.offset,
                "no rocksdb.properties block",
            )
        })?;
        t.props = t.read_props(src, props_handle, metaindex.offset)?;
        let kind = if t.props.two_level_index {
            BlockKind::TopIndex
        } else {
            BlockKind::Index
        };
        let mut top = std::mem::take(&mut t.top);
        t.read_block(src, index, kind, footer_at, &mut top)?;
        t.top = top;
        Ok(t)
    }

    /// The table's properties.
    pub fn props(&self) -> TableProps {
        self.props
    }

    /// Entries yielded so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Offset (in the table) just past the last data block handed out.
    pub fn data_end(&self) -> u64 {
        self.next_data
    }

    /// Offset of the data block being iterated, in the snapshot file.
    pub fn block_file_offset(&self) -> u64 {
        self.shown_base + self.data_offset
    }

    /// A data error in this table.
    pub fn corrupt(&self, block: BlockKind, offset: u64, problem: impl Into<String>) -> ContainerError {
        ContainerError::SstTable {
            file: self.name.clone(),
            block: block.name(),
            table_offset: offset,
            offset: self.shown_base.saturating_add(offset),
            problem: problem.into(),
        }
    }

    fn parse_footer(
        &self,
        f: &[u8; FOOTER_LEN as usize],
        at: u64,
    ) -> Result<(BlockHandle, BlockHandle), ContainerError> {
        let bad = |p: String| self.corrupt(BlockKind::Footer, at, p);
        let (head, tail) = f.split_at(FOOTER_LEN as usize - 12);
        let (version, magic) = tail.split_at(4);
        if magic != TABLE_MAGIC {
            return Err(bad(format!(
                "bad table magic {}: expected {}",
                hex::encode(magic),
                hex::encode(TABLE_MAGIC)
            )));
        }
        let version = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
        if !(3..=4).contains(&version) {
            return Err(bad(format!(
                "table format PebbleDBv{version}: expected v4 (the store pins FormatVirtualSSTables; v3 is read too, v5+ are columnar)"
            )));
        }
        if head[0] != CHECKSUM_CRC32C {
            return Err(bad(format!(
                "checksum type {}: expected 1 (CRC32C, the writer's default)",
                head[0]
            )));
        }
        let rest = head.get(1..).unwrap_or_default();
        let (metaindex, n) = decode_handle(rest).ok_or_else(|| bad("bad metaindex handle".into()))?;
        let (index, _) =
            decode_handle(rest.get(n..).unwrap_or_default()).ok_or_else(|| bad("bad index handle".into()))?;
        for (what, h) in [("metaindex", metaindex), ("index", index)] {
            if h.end() > at {
                return Err(bad(format!(
                    "{what} handle {}+{} runs past the footer at {at}",
                    h.offset, h.length
                )));
            }
        }
        Ok((metaindex, index))
    }

    /// Read and unpack the block `h` (which must end before `limit`) into `out`.
    fn read_block(
        &mut self,
        src: &File,
        h: BlockHandle,
        kind: BlockKind,
        limit: u64,
        out: &mut RowBlock,
    ) -> Result<(), ContainerError> {
        if h.end() > limit || h.length > MAX_BLOCK_LEN {
            return Err(self.corrupt(
                kind,
                h.offset,
                format!("block of {} bytes runs past offset {limit}", h.length),
            ));
        }
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        raw.resize(h.len_with_trailer() as usize, 0);
        src.read_exact_at(&mut raw, self.base + h.offset)
            .map_err(|source| ContainerError::Io {
                offset: self.shown_base + h.offset,
                what: "sstable block",
                source,
            })?;
        let r = self.unpack(&raw, h, kind, out);
        self.raw = raw;
        r
    }

    /// Verify the trailer of `raw` (contents and trailer of block `h`), decompress into
    /// `out` and prepare it for iteration.
    pub fn unpack(
        &self,
        raw: &[u8],
        h: BlockHandle,
        kind: BlockKind,
        out: &mut RowBlock,
    ) -> Result<(), ContainerError> {
        let bad = |p: String| self.corrupt(kind, h.offset, p);
        let (contents, trailer) = raw.split_at(raw.len().saturating_sub(BLOCK_TRAILER_LEN as usize));
        let &[ctype, c0, c1, c2, c3] = trailer else {
            return Err(bad("block shorter than its trailer".into()));
        };
        let stored = u32::from_le_bytes([c0, c1, c2, c3]);
        let computed = masked_crc32c(contents, ctype);
        if stored != computed {
            return Err(bad(format!(
                "block checksum mismatch: trailer says {stored:08x}, computed {computed:08x}"
            )));
        }
        match ctype {
            COMPRESSION_NONE => {
                out.data.clear();
                out.data.extend_from_slice(contents);
            }
            COMPRESSION_SNAPPY => {
                let len = snap::raw::decompress_len(contents)
                    .map_err(|e| bad(format!("snappy block: {e}")))?;
                if len as u64 > MAX_BLOCK_LEN {
                    return Err(bad(format!("snappy block claims {len} bytes")));
                }
                out.data.clear();
                out.data.resize(len, 0);
                let n = snap::raw::Decoder::new()
                    .decompress(contents, &mut out.data)
                    .map_err(|e| bad(format!("snappy block: {e}")))?;
                out.data.truncate(n);
            }
            other => {
                return Err(bad(format!(
                    "compression type {other} cannot occur in an export (the writer's default profile is Snappy: 0 none or 1 snappy)"
                )))
            }
        }
        out.start().map_err(bad)
    }

    fn read_props(&mut self, src: &File, h: BlockHandle, limit: u64) -> Result<TableProps, ContainerError> {
        let mut block = RowBlock::default();
        self.read_block(src, h, BlockKind::Properties, limit, &mut block)?;
        let mut p = TableProps::default();
        let bad = |t: &Table, what: String| t.corrupt(BlockKind::Properties, h.offset, what);
        let mut seen_entries = false;
        loop {
            match block.next() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(bad(self, e)),
            }
            let (k, v) = (block.key(), block.value());
            let var = || uvarint(v, 0, 10).map(|(n, _)| n);
            match k {
                b"rocksdb.num.entries" => {
                    p.entries = var().ok_or_else(|| bad(self, "bad rocksdb.num.entries".into()))?;
                    seen_entries = true;
                }
                b"rocksdb.num.data.blocks" => {
                    p.data_blocks = var().ok_or_else(|| bad(self, "bad rocksdb.num.data.blocks".into()))?;
                }
                b"rocksdb.block.based.table.index.type" => {
                    let t = <[u8; 4]>::try_from(v)
                        .map(u32::from_le_bytes)
                        .map_err(|_| bad(self, "index type is not 4 bytes".into()))?;
                    p.two_level_index = match t {
                        0 => false,
                        TWO_LEVEL_INDEX => true,
                        t => return Err(bad(self, format!("index type {t}: expected 0 or 2"))),
                    };
                }
                b"rocksdb.comparator" if v != BYTEWISE_COMPARATOR => {
                    return Err(bad(
                        self,
                        format!(
                            "comparator {:?}: expected leveldb.BytewiseComparator",
                            String::from_utf8_lossy(v)
                        ),
                    ));
                }
                b"rocksdb.deleted.keys"
                | b"rocksdb.merge.operands"
                | b"rocksdb.num.range-deletions"
                | b"pebble.num.value-blocks"
                | b"pebble.num.values.in.value-blocks"
                | b"pebble.num.values.in.blob-files"
                | b"pebble.num.range-key-sets"
                | b"pebble.num.range-key-dels"
                | b"pebble.num.range-key-unsets" => {
                    let n = var().ok_or_else(|| bad(self, format!("bad {}", String::from_utf8_lossy(k))))?;
                    if n != 0 {
                        return Err(bad(
                            self,
                            format!(
                                "{} = {n} cannot occur in an export (the exporter writes only SETs)",
                                String::from_utf8_lossy(k)
                            ),
                        ));
                    }
                }
                _ => {}
            }
        }
        if !seen_entries {
            return Err(bad(self, "no rocksdb.num.entries property".into()));
        }
        Ok(p)
    }

    /// The handle of the next data block in file order, or `None` after the last one.
    /// Data blocks are contiguous from offset 0; a handle elsewhere is a data error.
    pub fn next_data_block(&mut self, src: &File) -> Result<Option<BlockHandle>, ContainerError> {
        let index_kind = if self.props.two_level_index {
            BlockKind::IndexPartition
        } else {
            BlockKind::Index
        };
        let value = loop {
            if !self.props.two_level_index || self.lower_active {
                let block = if self.props.two_level_index {
                    &mut self.lower
                } else {
                    &mut self.top
                };
                match block.next() {
                    Ok(true) => break block.value().to_vec(),
                    Ok(false) if self.props.two_level_index => self.lower_active = false,
                    Ok(false) => return self.end_of_data(None),
                    Err(p) => return Err(self.corrupt(index_kind, 0, p)),
                }
            }
            match self.top.next() {
                Ok(true) => {}
                Ok(false) => return self.end_of_data(None),
                Err(p) => return Err(self.corrupt(BlockKind::TopIndex, 0, p)),
            }
            let Some((h, _)) = decode_handle(self.top.value()) else {
                return Err(self.corrupt(BlockKind::TopIndex, 0, "bad index partition handle"));
            };
            let mut lower = std::mem::take(&mut self.lower);
            let limit = self.size - FOOTER_LEN;
            let r = self.read_block(src, h, BlockKind::IndexPartition, limit, &mut lower);
            self.lower = lower;
            r?;
            self.lower_active = true;
        };
        let Some((h, _)) = decode_handle(&value) else {
            return Err(self.corrupt(index_kind, 0, "bad data block handle"));
        };
        if h.offset != self.next_data {
            return Err(self.corrupt(
                BlockKind::Data,
                h.offset,
                format!(
                    "data block handle points at {}: expected {} (data blocks are contiguous from 0)",
                    h.offset, self.next_data
                ),
            ));
        }
        if h.end() > self.size - FOOTER_LEN || h.length > MAX_BLOCK_LEN {
            return Err(self.corrupt(
                BlockKind::Data,
                h.offset,
                format!("data block of {} bytes runs past the table's footer", h.length),
            ));
        }
        self.next_data = h.end();
        self.data_blocks += 1;
        Ok(Some(h))
    }

    fn end_of_data(&self, none: Option<BlockHandle>) -> Result<Option<BlockHandle>, ContainerError> {
        if self.data_blocks != self.props.data_blocks {
            return Err(self.corrupt(
                BlockKind::Index,
                0,
                format!(
                    "the index lists {} data blocks, the properties say {}",
                    self.data_blocks, self.props.data_blocks
                ),
            ));
        }
        Ok(none)
    }

    /// Verify and unpack the data block `h` (its contents and trailer in `raw`), which the
    /// caller read at the handle [`Self::next_data_block`] gave.
    pub fn load_data_block(&mut self, raw: &[u8], h: BlockHandle) -> Result<(), ContainerError> {
        let mut data = std::mem::take(&mut self.data);
        let r = self.unpack(raw, h, BlockKind::Data, &mut data);
        self.data = data;
        self.data_offset = h.offset;
        r
    }

    /// The next entry of the current data block: `Ok(false)` when it is used up. The entry
    /// must be a `SET` with sequence number 0 and an in-place value.
    pub fn next_entry(&mut self) -> Result<bool, ContainerError> {
        match self.data.next() {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(p) => return Err(self.corrupt(BlockKind::Data, self.data_offset, p)),
        }
        let key = self.data.key();
        let Some(split) = key.len().checked_sub(KEY_TRAILER_LEN) else {
            return Err(self.corrupt(
                BlockKind::Data,
                self.data_offset,
                format!("internal key of {} bytes has no 8-byte trailer", key.len()),
            ));
        };
        let mut t = [0u8; 8];
        t.copy_from_slice(key.get(split..).unwrap_or(&[0; 8]));
        let trailer = u64::from_le_bytes(t);
        let (kind, seq) = ((trailer & 0xff) as u8, trailer >> 8);
        if kind != KIND_SET {
            return Err(self.corrupt(
                BlockKind::Data,
                self.data_offset,
                format!(
                    "key kind {} ({kind}) cannot occur in an export (the exporter writes only SET)",
                    kind_name(kind)
                ),
            ));
        }
        if seq != 0 {
            return Err(self.corrupt(
                BlockKind::Data,
                self.data_offset,
                format!("sequence number {seq}: the exporter writes 0"),
            ));
        }
        let (start, end) = self.data.value;
        match self.data.data.get(start).filter(|_| start < end) {
            Some(0) => {}
            Some(p) => {
                return Err(self.corrupt(
                    BlockKind::Data,
                    self.data_offset,
                    format!(
                        "value prefix 0x{p:02x} cannot occur in an export (expected 0x00: in place, no shared key prefix; {})",
                        match p & 0xc0 {
                            0x80 => "this is a value-block handle",
                            0x40 => "this is a blob handle",
                            _ => "unknown bits",
                        }
                    ),
                ))
            }
            None => {
                return Err(self.corrupt(
                    BlockKind::Data,
                    self.data_offset,
                    "SET value without its 1-byte value prefix",
                ))
            }
        }
        self.entry_value = (start + 1, end);
        self.entries += 1;
        Ok(true)
    }

    /// The user key of the current entry (the internal key without its trailer); after the
    /// last entry of the table, the last key.
    pub fn user_key(&self) -> &[u8] {
        let k = self.data.key();
        k.get(..k.len().saturating_sub(KEY_TRAILER_LEN))
            .unwrap_or_default()
    }

    /// The value of the current entry (without its prefix byte).
    pub fn value(&self) -> &[u8] {
        self.data
            .data
            .get(self.entry_value.0..self.entry_value.1)
            .unwrap_or_default()
    }
}

/// Pebble's name of an internal key kind.
fn kind_name(kind: u8) -> &'static str {
    match kind & 0x3f {
        _ if kind & 0x40 != 0 => "obsolete-marked",
        0 => "DEL",
        1 => "SET",
        2 => "MERGE",
        3 => "LOGDATA",
        7 => "SINGLEDEL",
        15 => "RANGEDEL",
        18 => "SETWITHDEL",
        19 => "RANGEKEYSET",
        20 => "RANGEKEYUNSET",
        21 => "RANGEKEYDEL",
        23 => "DELSIZED",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests;
