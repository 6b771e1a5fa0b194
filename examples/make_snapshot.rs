//! Generate a synthetic elastickv snapshot file.
//!
//! ```text
//! cargo run --release --example make_snapshot -- --out FILE [--size BYTES] [--seed N] [--live|--bare]
//!     [--profile mixed|redis|s3|s3-one|sqs|dynamodb] [--single-version]
//! ```
//!
//! Without `--size` it writes the small SAMPLE committed as `examples/sample.fsm`: keys of
//! every Redis family with valid layouts (redis.md §2), a valid DynamoDB table and item, a few
//! S3/SQS keys with opaque values, internal `!txn|`/`!dist|` rows, raw `_meta_*` and writer-registry rows,
//! multi-version keys and a tombstoned key, sorted by encoded key.
//!
//! With `--size` it streams a benchmark file of about that many bytes, in key order with
//! bounded memory, in one of these profiles:
//!
//! * `mixed` (default): every adapter's prefixes, ~100-byte values, some multi-version keys.
//! * `redis`: only valid Redis data (redis.md §2), all seven types with a realistic mix: many
//!   small strings (50–200 B) and one in 500 large (16 KiB–1 MiB, log-uniform), hashes, lists,
//!   sets and zsets of 5–200 elements, streams, HLLs; ~10% of the keys expire, with the TTL
//!   inline and/or in the `!redis|ttl|` index as the live server writes it; one version per
//!   key except a small share of strings with an older version or a newer tombstone (none
//!   with `--single-version`). See `redis_rows` for the exact shares.
//! * `s3`: one bucket of objects as the live S3 adapter writes them (s3_tree_pipeline.md §2):
//!   1 MiB blob chunks, then the bucket meta, then one manifest per object, object sizes
//!   log-uniform over 1 KiB–64 MiB. See `s3_rows`.
//! * `s3-one`: a single object of `--size` bytes (the bounded-memory check of the S3 body
//!   streaming, both directions).
//! * `sqs`: only valid SQS data (dynamodb_sqs.md §2.1–2.2), as the live adapter writes it:
//!   100 queues, a quarter FIFO (with and without content-based dedup, some partitioned),
//!   messages of 10–200 B text bodies (1% binary, one in 20 in flight), a fifth with attributes, every
//!   message with its visibility and send-age rows, FIFO dedup rows and sequence counters.
//!   Rows are ordered through `spill::ExternalSorter`, so memory stays bounded.
//! * `dynamodb`: only valid DynamoDB data (dynamodb_sqs.md §1): four composite-key tables
//!   (hash `S`, range `N`) of items with 5–20 attributes (strings, numbers, a bool, a map, a
//!   list, a string set; ~800 B each, one in 100 of ~8 KiB), one version per key, their schemas and
//!   generation counters. GSI rows are left out (the decoder skips them).
//!
//! `--live` (default): v2 FSM header + EKVPBBL1 payload + CRC32C footer (containers.md
//! §3.2). `--bare`: the payload alone, as the encoder writes it, and without the raw
//! `_meta_*` rows (the shape elastickv's Go decoder reads). Output is deterministic for a
//! given seed.
//!
//! `--sst-from FILE` writes no new data: it re-exports the entries of FILE (any snapshot
//! this toolkit reads) as a live `EKVSSTI1` bundle (spec/sst_bundle.md), cut into tables the
//! way elastickv's exporter cuts them (a new table after 64 MiB of key + value bytes), with
//! FILE's FSM header. The EKVPBBL1 and EKVSSTI1 forms of one state are then a benchmark pair.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use ekv_snapshot::adapters::dynamodb as ddb;
use ekv_snapshot::container::{
    encode_key, encode_value, is_raw_operational_key, Crc32cWriter, FsmHeader, PebbleStreamWriter,
};

#[derive(Parser, Debug)]
#[command(about = "Generate a synthetic elastickv snapshot (.fsm)")]
struct Args {
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Approximate size of a benchmark file; without it, the small sample is written.
    #[arg(long)]
    size: Option<u64>,
    /// Seed for the generated values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Live-style file: FSM header + payload + CRC32C footer (the default).
    #[arg(long, conflicts_with = "bare")]
    live: bool,
    /// Bare EKVPBBL1 stream (no header, no footer, no raw `_meta_*` rows).
    #[arg(long)]
    bare: bool,
    /// Workload of a `--size` file.
    #[arg(long, value_enum, default_value_t = Profile::Mixed)]
    profile: Profile,
    /// Redis profile: no multi-version keys and no tombstones.
    #[arg(long)]
    single_version: bool,
    /// Re-export this snapshot's entries as an EKVSSTI1 bundle instead of generating data.
    #[arg(long, value_name = "FILE")]
    sst_from: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Profile {
    /// Every adapter's prefixes, ~100-byte values.
    Mixed,
    /// Only Redis data, all seven types.
    Redis,
    /// Only S3 data: one bucket, objects of mixed sizes.
    S3,
    /// Only S3 data: one object of the whole size.
    S3One,
    /// Only SQS data: queues, messages and their side records.
    Sqs,
    /// Only DynamoDB data: valid tables and items (see `dynamodb_rows`).
    Dynamodb,
}

/// SplitMix64: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn fill_text(&mut self, out: &mut Vec<u8>, len: usize) {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789 ";
        for _ in 0..len {
            out.push(ALPHABET[(self.next() % ALPHABET.len() as u64) as usize]);
        }
    }
}

/// Unix ms of the synthetic cluster clock, and HLC timestamps from it.
const BASE_MS: u64 = 1_700_000_000_000;
const fn hlc(ms_offset: u64, logical: u64) -> u64 {
    ((BASE_MS + ms_offset) << 16) | (logical & 0xFFFF)
}

// --- Redis layouts (redis.md §0, §2) ---

fn len4(k: &[u8]) -> [u8; 4] {
    (k.len() as u32).to_be_bytes()
}

fn wide(prefix: &str, k: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut out = prefix.as_bytes().to_vec();
    out.extend_from_slice(&len4(k));
    out.extend_from_slice(k);
    out.extend_from_slice(rest);
    out
}

fn plain(prefix: &str, k: &[u8]) -> Vec<u8> {
    let mut out = prefix.as_bytes().to_vec();
    out.extend_from_slice(k);
    out
}

fn sortable_i64(s: i64) -> [u8; 8] {
    ((s as u64) ^ 0x8000_0000_0000_0000).to_be_bytes()
}

fn sortable_f64(f: f64) -> [u8; 8] {
    let f = if f == 0.0 { 0.0 } else { f };
    let b = f.to_bits();
    let b = if b >> 63 == 0 {
        b ^ 0x8000_0000_0000_0000
    } else {
        !b
    };
    b.to_be_bytes()
}

/// New-format string/HLL envelope: `FF ver flags [BE64 ms] body`.
fn envelope(version: u8, ttl_ms: Option<u64>, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, version, u8::from(ttl_ms.is_some())];
    if let Some(ms) = ttl_ms {
        out.extend_from_slice(&ms.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

fn be64s(vals: &[u64]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_be_bytes()).collect()
}

// --- protobuf (proto3) by hand: varint, length-delimited strings, fixed64 doubles ---

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn pb_bytes(field: u64, data: &[u8], out: &mut Vec<u8>) {
    varint((field << 3) | 2, out);
    varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

fn pb_double(field: u64, v: f64, out: &mut Vec<u8>) {
    varint((field << 3) | 1, out);
    out.extend_from_slice(&v.to_le_bytes());
}

/// `00 52 58 45 01` + RedisStreamEntry{id=1, repeated fields=2}.
fn stream_entry_value(id: &str, fields: &[&str]) -> Vec<u8> {
    let mut out = vec![0x00, 0x52, 0x58, 0x45, 0x01];
    pb_bytes(1, id.as_bytes(), &mut out);
    for f in fields {
        pb_bytes(2, f.as_bytes(), &mut out);
    }
    out
}

/// `00 'R' 'S' 01` + RedisSetValue{repeated members=1} (the live HLL payload).
fn set_value(members: &[&str]) -> Vec<u8> {
    let mut out = vec![0x00, b'R', b'S', 0x01];
    for m in members {
        pb_bytes(1, m.as_bytes(), &mut out);
    }
    out
}

/// `00 'R' 'Z' 01` + RedisZSetValue{repeated RedisZSetEntry{member=1, score=2} entries=1}.
fn zset_blob(entries: &[(&str, f64)]) -> Vec<u8> {
    let mut out = vec![0x00, b'R', b'Z', 0x01];
    for (m, s) in entries {
        let mut e = Vec::new();
        pb_bytes(1, m.as_bytes(), &mut e);
        pb_double(2, *s, &mut e);
        pb_bytes(1, &e, &mut out);
    }
    out
}

/// One entry before encoding.
struct Row {
    key: Vec<u8>,
    value: Vec<u8>,
}

fn mvcc(user_key: Vec<u8>, ts: u64, tombstone: bool, body: &[u8]) -> Row {
    let mut key = Vec::new();
    encode_key(&user_key, ts, &mut key);
    let mut value = Vec::new();
    encode_value(u8::from(tombstone), 0, body, &mut value);
    Row { key, value }
}

fn raw(key: &[u8], value: &[u8]) -> Row {
    Row {
        key: key.to_vec(),
        value: value.to_vec(),
    }
}

/// The small sample: every family, sorted by encoded key.
fn sample_rows(rng: &mut Rng) -> (Vec<Row>, u64) {
    let ts = hlc(60_000, 3);
    let ttl_ms = BASE_MS + 86_400_000;
    let mut rows = Vec::new();
    let mut word = |n: usize| {
        let mut v = Vec::new();
        rng.fill_text(&mut v, n);
        v
    };
    // Strings: new format without and with TTL, legacy (TTL in the index).
    rows.push(mvcc(
        plain("!redis|str|", b"greeting"),
        ts,
        false,
        &envelope(1, None, b"hello world"),
    ));
    rows.push(mvcc(
        plain("!redis|str|", b"session:42"),
        ts,
        false,
        &envelope(1, Some(ttl_ms), &word(24)),
    ));
    rows.push(mvcc(
        plain("!redis|str|", b"legacy"),
        ts,
        false,
        b"old-format-value",
    ));
    rows.push(mvcc(
        plain("!redis|ttl|", b"legacy"),
        ts,
        false,
        &ttl_ms.to_be_bytes(),
    ));
    // Multi-version string (three versions) and a tombstoned key (older live version).
    for (i, v) in [b"1", b"2", b"3"].iter().enumerate() {
        rows.push(mvcc(
            plain("!redis|str|", b"counter"),
            hlc(1_000 * (i as u64 + 1), 0),
            false,
            &envelope(1, None, *v),
        ));
    }
    rows.push(mvcc(
        plain("!redis|str|", b"deleted"),
        hlc(5_000, 0),
        false,
        &envelope(1, None, b"was here"),
    ));
    rows.push(mvcc(plain("!redis|str|", b"deleted"), hlc(6_000, 0), true, b""));
    // HLL (new format) and its TTL index row.
    rows.push(mvcc(
        plain("!redis|hll|", b"visitors"),
        ts,
        false,
        &envelope(2, Some(ttl_ms), &set_value(&["alice", "bob"])),
    ));
    rows.push(mvcc(
        plain("!redis|ttl|", b"visitors"),
        ts,
        false,
        &ttl_ms.to_be_bytes(),
    ));
    // Hash: meta with TTL (16 bytes) + fields; TTL index row. A second hash, no TTL.
    rows.push(mvcc(
        wide("!hs|meta|", b"user:1", b""),
        ts,
        false,
        &be64s(&[2, ttl_ms]),
    ));
    rows.push(mvcc(wide("!hs|fld|", b"user:1", b"name"), ts, false, b"Ada"));
    rows.push(mvcc(
        wide("!hs|fld|", b"user:1", b"email"),
        ts,
        false,
        b"ada@example.com",
    ));
    rows.push(mvcc(
        plain("!redis|ttl|", b"user:1"),
        ts,
        false,
        &ttl_ms.to_be_bytes(),
    ));
    rows.push(mvcc(wide("!hs|meta|", b"config", b""), ts, false, &be64s(&[1])));
    rows.push(mvcc(
        wide("!hs|fld|", b"config", b"mode"),
        hlc(2_000, 0),
        false,
        b"old",
    ));
    rows.push(mvcc(wide("!hs|fld|", b"config", b"mode"), ts, false, b"new"));
    // List: meta (Head 0, Tail 3, Len 3) + items seq 0..2.
    rows.push(mvcc(plain("!lst|meta|", b"queue"), ts, false, &be64s(&[0, 3, 3])));
    for (seq, item) in ["first", "second", "third"].iter().enumerate() {
        let mut k = plain("!lst|itm|", b"queue");
        k.extend_from_slice(&sortable_i64(seq as i64));
        rows.push(mvcc(k, ts, false, item.as_bytes()));
    }
    // Set: meta + members (empty values).
    rows.push(mvcc(wide("!st|meta|", b"tags", b""), ts, false, &be64s(&[2])));
    for m in ["blue", "red"] {
        rows.push(mvcc(wide("!st|mem|", b"tags", m.as_bytes()), ts, false, b""));
    }
    // Zset: meta + members (BE f64) + score index rows.
    let members = [("alice", 100.0f64), ("bob", -3.25), ("carol", 1.5)];
    rows.push(mvcc(
        wide("!zs|meta|", b"board", b""),
        ts,
        false,
        &be64s(&[members.len() as u64]),
    ));
    for (m, s) in members {
        rows.push(mvcc(
            wide("!zs|mem|", b"board", m.as_bytes()),
            ts,
            false,
            &s.to_bits().to_be_bytes(),
        ));
        let mut rest = sortable_f64(s).to_vec();
        rest.extend_from_slice(m.as_bytes());
        rows.push(mvcc(wide("!zs|scr|", b"board", &rest), ts, false, b""));
    }
    // Legacy zset blob.
    rows.push(mvcc(
        plain("!redis|zset|", b"old-board"),
        ts,
        false,
        &zset_blob(&[("alice", 100.0)]),
    ));
    // Stream: meta (Len 2, LastMs, LastSeq) + entries.
    let sms = BASE_MS + 10;
    rows.push(mvcc(
        wide("!stream|meta|", b"events", b""),
        ts,
        false,
        &be64s(&[2, sms + 1, 0]),
    ));
    for (i, fields) in [["type", "login"], ["type", "logout"]].iter().enumerate() {
        let ms = sms + i as u64;
        let mut rest = ms.to_be_bytes().to_vec();
        rest.extend_from_slice(&0u64.to_be_bytes());
        rows.push(mvcc(
            wide("!stream|entry|", b"events", &rest),
            ts,
            false,
            &stream_entry_value(&format!("{ms}-0"), fields),
        ));
    }
    // DynamoDB: one table with one item, as the live adapter writes them (dynamodb_sqs.md §1).
    let (schema, item) = ddb_sample();
    rows.push(mvcc(
        ddb::keys::table_meta_key("orders"),
        ts,
        false,
        &ddb::proto::schema_value(&schema),
    ));
    rows.push(mvcc(b"!ddb|meta|gen|b3JkZXJz".to_vec(), ts, false, b"1"));
    let pk = ddb::keys::primary_key_segments(&schema, &item).expect("the sample item has its hash key");
    rows.push(mvcc(
        ddb::keys::item_key("orders", 1, &pk),
        ts,
        false,
        &ddb::proto::item_value(&item),
    ));
    // Internal rows: plausible prefixes, opaque values.
    for (k, v) in [
        ("!txn|lock|!redis|str|greeting", &b"opaque lock"[..]),
        ("!dist|meta|version", b"opaque route catalog"),
    ] {
        rows.push(mvcc(k.as_bytes().to_vec(), ts, false, v));
    }
    // S3: a bucket (meta, generation) and one object of one chunk (s3_tree_pipeline.md §2).
    {
        use ekv_snapshot::adapters::s3::keys::{blob_key, bucket_gen_key, bucket_meta_key, manifest_key};
        let body = b"not really a jpeg\n";
        let meta = br#"{"bucket_name":"photos","generation":1,"created_at_hlc":0,"region":"us-east-1"}"#;
        let manifest = format!(
            r#"{{"upload_id":"u1","etag":"e1","size_bytes":{n},"last_modified_hlc":{ts},"content_type":"image/jpeg","parts":[{{"part_no":1,"etag":"e1","size_bytes":{n},"chunk_count":1,"chunk_sizes":[{n}]}}]}}"#,
            n = body.len()
        );
        rows.push(mvcc(bucket_meta_key(b"photos"), ts, false, meta));
        rows.push(mvcc(bucket_gen_key(b"photos"), ts, false, &1u64.to_be_bytes()));
        rows.push(mvcc(
            blob_key(b"photos", 1, b"cat.jpg", b"u1", 1, 0, 0),
            ts,
            false,
            body,
        ));
        rows.push(mvcc(
            manifest_key(b"photos", 1, b"cat.jpg"),
            ts,
            false,
            manifest.as_bytes(),
        ));
    }
    // SQS: a standard queue (meta, generation) with one visible message and its side
    // records (dynamodb_sqs.md §2.1).
    {
        use ekv_snapshot::adapters::sqs::keys::{self, Lane};
        use ekv_snapshot::adapters::sqs::values::{Message, QueueMeta};
        let meta = QueueMeta {
            name: "jobs".to_owned(),
            visibility_timeout_seconds: 30,
            message_retention_seconds: 345_600,
            maximum_message_size: 262_144,
            ..QueueMeta::default()
        };
        rows.push(mvcc(
            keys::queue_meta_key("jobs"),
            ts,
            false,
            &meta.stored_value(),
        ));
        rows.push(mvcc(keys::queue_gen_key("jobs"), ts, false, b"1"));
        let (id, send) = ("0001", BASE_MS as i64);
        let m = Message {
            message_id: id.to_owned(),
            body: Some(b"resize photos/cat.jpg".to_vec()),
            md5_of_body: format!("{:x}", 0x5eed_u64),
            send_timestamp_millis: send,
            available_at_millis: send,
            visible_at_millis: send,
            queue_generation: 1,
            ..Message::default()
        };
        rows.push(mvcc(
            keys::msg_data_key("jobs", Lane::Classic, 1, id),
            ts,
            false,
            &m.stored_value(),
        ));
        rows.push(mvcc(
            keys::msg_vis_key("jobs", Lane::Classic, 1, send, id),
            ts,
            false,
            id.as_bytes(),
        ));
        rows.push(mvcc(
            keys::msg_byage_key("jobs", Lane::Classic, 1, send, id),
            ts,
            false,
            id.as_bytes(),
        ));
    }
    // Raw operational rows (D3): no suffix, no value header.
    let mut reg = b"!encryption|writers|".to_vec();
    reg.extend_from_slice(&7u32.to_be_bytes());
    reg.push(b'|');
    reg.extend_from_slice(&0x1234u16.to_be_bytes());
    let mut reg_value = 0xDEAD_BEEF_0000_0001u64.to_be_bytes().to_vec();
    reg_value.extend_from_slice(&[0, 1, 0, 2]);
    rows.push(raw(&reg, &reg_value));
    rows.push(raw(b"_meta_applied_index", &1234u64.to_le_bytes()));
    rows.push(raw(b"_meta_last_commit_ts", &ts.to_le_bytes()));
    rows.push(raw(b"_meta_min_retained_ts", &hlc(0, 0).to_le_bytes()));
    rows.push(raw(b"_meta_pending_min_retained_ts", &0u64.to_le_bytes()));
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    (rows, ts)
}

/// Streams the benchmark workload in key order.
struct Bench<'a, W: Write> {
    w: &'a mut PebbleStreamWriter<W>,
    rng: Rng,
    key: Vec<u8>,
    value: Vec<u8>,
    body: Vec<u8>,
    ts: u64,
}

impl<W: Write> Bench<'_, W> {
    fn put(&mut self, user: &[u8], ts: u64, tombstone: bool, body: &[u8]) -> anyhow::Result<()> {
        self.key.clear();
        encode_key(user, ts, &mut self.key);
        self.value.clear();
        encode_value(u8::from(tombstone), 0, body, &mut self.value);
        self.w.write_entry(&self.key, &self.value)?;
        Ok(())
    }

    fn text(&mut self, n: usize) {
        self.body.clear();
        let jitter = self.rng.below(n as u64 / 2 + 1) as usize;
        self.rng.fill_text(&mut self.body, n * 3 / 4 + jitter);
    }

    /// Emit the user keys of a section until `budget` more bytes are out; `f` writes each one.
    fn section(
        &mut self,
        budget: u64,
        f: impl FnMut(&mut Self, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        fill(self, budget, |b| b.w.bytes_written(), f)
    }
}

/// Call `f(state, 0)`, `f(state, 1)`, … until `written(state)` has grown by `budget` bytes;
/// return the number of calls.
fn fill<S>(
    state: &mut S,
    budget: u64,
    written: impl Fn(&S) -> u64,
    mut f: impl FnMut(&mut S, u64) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let stop = written(state) + budget;
    let mut i = 0;
    while written(state) < stop {
        f(state, i)?;
        i += 1;
    }
    Ok(i)
}

fn bench_rows<W: Write>(
    w: &mut PebbleStreamWriter<W>,
    size: u64,
    seed: u64,
    raw_rows: bool,
) -> anyhow::Result<()> {
    let ts = hlc(3_600_000, 0);
    let mut b = Bench {
        w,
        rng: Rng(seed),
        key: Vec::new(),
        value: Vec::new(),
        body: Vec::new(),
        ts,
    };
    let part = |pct: u64| size / 100 * pct;
    // Sections in ascending prefix order (the writer enforces it).
    b.section(part(10), |b, i| {
        let user = format!("!ddb|item|orders|1|{i:012}");
        b.text(100);
        let body = std::mem::take(&mut b.body);
        let r = b.put(user.as_bytes(), b.ts, false, &body);
        b.body = body;
        r
    })?;
    let mut hashes = 0;
    b.section(part(15), |b, i| {
        hashes = i + 1;
        let k = format!("h:{i:012}");
        for f in 0..8 {
            b.text(100);
            let body = std::mem::take(&mut b.body);
            b.put(
                &wide("!hs|fld|", k.as_bytes(), format!("f{f:02}").as_bytes()),
                b.ts,
                false,
                &body,
            )?;
            b.body = body;
        }
        Ok(())
    })?;
    for i in 0..hashes {
        let k = format!("h:{i:012}");
        b.put(&wide("!hs|meta|", k.as_bytes(), b""), ts, false, &be64s(&[8]))?;
    }
    let mut lists = 0;
    b.section(part(10), |b, i| {
        lists = i + 1;
        let k = format!("l:{i:012}");
        for seq in 0..10i64 {
            b.text(100);
            let body = std::mem::take(&mut b.body);
            let mut user = plain("!lst|itm|", k.as_bytes());
            user.extend_from_slice(&sortable_i64(seq));
            b.put(&user, b.ts, false, &body)?;
            b.body = body;
        }
        Ok(())
    })?;
    for i in 0..lists {
        let k = format!("l:{i:012}");
        b.put(
            &plain("!lst|meta|", k.as_bytes()),
            ts,
            false,
            &be64s(&[0, 10, 10]),
        )?;
    }
    // Strings: every 8th key has an older version, every 50th a newer tombstone.
    b.section(part(25), |b, i| {
        let user = plain("!redis|str|", format!("s:{i:012}").as_bytes());
        if i % 50 == 7 {
            b.put(&user, b.ts, true, b"")?;
        }
        b.text(100);
        let ttl = (i % 10 == 3).then_some(BASE_MS + 86_400_000);
        let body = envelope(1, ttl, &b.body);
        b.put(&user, b.ts - 1, false, &body)?;
        if i % 8 == 0 {
            b.put(&user, b.ts - 65_536, false, &body)?;
        }
        Ok(())
    })?;
    b.section(part(5), |b, i| {
        let user = format!("!s3|obj|head|photos|1|img-{i:012}.jpg");
        b.text(100);
        let body = std::mem::take(&mut b.body);
        let r = b.put(user.as_bytes(), b.ts, false, &body);
        b.body = body;
        r
    })?;
    b.section(part(5), |b, i| {
        let user = format!("!sqs|msg|data|jobs|1|{i:012}");
        b.text(100);
        let body = std::mem::take(&mut b.body);
        let r = b.put(user.as_bytes(), b.ts, false, &body);
        b.body = body;
        r
    })?;
    let mut streams = 0;
    b.section(part(5), |b, i| {
        streams = i + 1;
        let k = format!("x:{i:012}");
        for seq in 0..5u64 {
            let mut rest = BASE_MS.to_be_bytes().to_vec();
            rest.extend_from_slice(&seq.to_be_bytes());
            b.text(60);
            let text = String::from_utf8_lossy(&b.body).into_owned();
            let value = stream_entry_value(&format!("{BASE_MS}-{seq}"), &["payload", &text]);
            b.put(&wide("!stream|entry|", k.as_bytes(), &rest), b.ts, false, &value)?;
        }
        Ok(())
    })?;
    for i in 0..streams {
        let k = format!("x:{i:012}");
        b.put(
            &wide("!stream|meta|", k.as_bytes(), b""),
            ts,
            false,
            &be64s(&[5, BASE_MS, 4]),
        )?;
    }
    let mut sets = 0;
    b.section(part(10), |b, i| {
        sets = i + 1;
        let k = format!("t:{i:012}");
        for m in 0..10 {
            b.body.clear();
            b.body.extend_from_slice(format!("member-{m:03}-").as_bytes());
            let n = 80;
            b.rng.fill_text(&mut b.body, n);
            let member = std::mem::take(&mut b.body);
            b.put(&wide("!st|mem|", k.as_bytes(), &member), b.ts, false, b"")?;
            b.body = member;
        }
        Ok(())
    })?;
    for i in 0..sets {
        let k = format!("t:{i:012}");
        b.put(&wide("!st|meta|", k.as_bytes(), b""), ts, false, &be64s(&[10]))?;
    }
    b.section(part(2), |b, i| {
        let user = format!("!txn|lock|{i:012}");
        b.put(user.as_bytes(), b.ts, false, b"opaque lock record")
    })?;
    let mut zsets = 0;
    b.section(part(10), |b, i| {
        zsets = i + 1;
        let k = format!("z:{i:012}");
        for m in 0..10 {
            let member = format!("member-{m:03}-{:080}", b.rng.below(1_000_000));
            let score = m as f64 * 1.5;
            b.put(
                &wide("!zs|mem|", k.as_bytes(), member.as_bytes()),
                b.ts,
                false,
                &score.to_bits().to_be_bytes(),
            )?;
        }
        Ok(())
    })?;
    for i in 0..zsets {
        let k = format!("z:{i:012}");
        b.put(&wide("!zs|meta|", k.as_bytes(), b""), ts, false, &be64s(&[10]))?;
    }
    // Score index rows are regenerated from a fresh rng stream: members need not match
    // the !zs|mem| rows for a benchmark, only the key order matters.
    for i in 0..zsets {
        let k = format!("z:{i:012}");
        for m in 0..10 {
            let mut rest = sortable_f64(m as f64 * 1.5).to_vec();
            rest.extend_from_slice(format!("member-{m:03}").as_bytes());
            b.put(&wide("!zs|scr|", k.as_bytes(), &rest), ts, false, b"")?;
        }
    }
    if raw_rows {
        write_meta_rows(b.w, ts)?;
    }
    Ok(())
}

/// The raw `_meta_*` rows a live snapshot carries (they sort after every `!` key).
fn write_meta_rows<W: Write>(w: &mut PebbleStreamWriter<W>, ts: u64) -> anyhow::Result<()> {
    for (k, v) in [
        (&b"_meta_applied_index"[..], 99u64),
        (b"_meta_last_commit_ts", ts),
        (b"_meta_min_retained_ts", 0),
    ] {
        w.write_entry(k, &v.to_le_bytes())?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(input) = &args.sst_from {
        return sst::export(input, &args.out);
    }
    let live = !args.bare;
    let file = File::create(&args.out)?;
    let mut out = Crc32cWriter::new(BufWriter::with_capacity(1 << 20, file));
    let mut rng = Rng(args.seed);
    let (rows, last_ts) = match args.size {
        None => sample_rows(&mut rng),
        Some(_) => (Vec::new(), redis::TS),
    };
    if live {
        // v2 header: ceiling = physical part of the last commit + 1 ms, cutover 42.
        FsmHeader::v2((last_ts >> 16) + 1, 42).write_to(&mut out)?;
    }
    let mut w = PebbleStreamWriter::new(out, last_ts)?;
    match args.size {
        None => {
            // A bare stream carries no raw operational rows (the Go decoder rejects them).
            for r in rows.iter().filter(|r| live || !is_raw_operational_key(&r.key)) {
                w.write_entry(&r.key, &r.value)?;
            }
        }
        Some(size) => match args.profile {
            Profile::Mixed => bench_rows(&mut w, size, args.seed, live)?,
            Profile::Redis => redis::redis_rows(&mut w, size, args.seed, live, !args.single_version)?,
            Profile::S3 => s3::s3_rows(&mut w, size, args.seed, false, live)?,
            Profile::S3One => s3::s3_rows(&mut w, size, args.seed, true, live)?,
            Profile::Sqs => sqs::sqs_rows(&mut w, size, args.seed, live)?,
            Profile::Dynamodb => dynamodb_rows(&mut w, size, args.seed)?,
        },
    }
    let entries = w.entries();
    let out = w.finish()?;
    let bytes = out.bytes() + if live { 4 } else { 0 };
    let crc = out.crc();
    let mut inner = if live {
        out.finish_with_footer()?
    } else {
        out.into_inner()
    };
    inner.flush()?;
    eprintln!(
        "wrote {} ({} entries, {} bytes, {}, crc32c {crc:08x})",
        args.out.display(),
        entries,
        bytes,
        if live { "live" } else { "bare" }
    );
    Ok(())
}

/// The `redis` profile: only valid Redis rows (redis.md §2), in encoded-key order.
///
/// Every key's shape (element count, TTL, format variant) and content come from its own
/// generator, seeded by (seed, type, index), so the meta rows, the `!redis|ttl|` index and
/// the zset score index, which sort after the element rows, are re-derived instead of
/// remembered: memory stays bounded by one key.
mod redis {
    use std::io::{self, Write};

    use ekv_snapshot::container::PebbleStreamWriter;

    use super::{
        be64s, envelope, hlc, plain, set_value, sortable_f64, sortable_i64, stream_entry_value, wide,
        write_meta_rows, Rng, BASE_MS,
    };

    /// Commit timestamp of every live version (and the stream header's `last_commit_ts`).
    pub const TS: u64 = hlc(3_600_000, 0);
    /// One key in `LARGE_ONE_IN` strings is large (16 KiB–1 MiB).
    const LARGE_ONE_IN: u64 = 500;
    /// One key in `TTL_ONE_IN` expires.
    const TTL_ONE_IN: u64 = 10;

    /// The seven types, in the order their key names sort (`!redis|ttl|` + name order).
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Zset,
        Str,
        Stream,
        List,
        Set,
        Hash,
        Hll,
    }

    impl Kind {
        /// Key names: fixed width per type and no name a prefix of another, so encoded-key
        /// order equals user-key order.
        fn name(self, i: u64) -> Vec<u8> {
            let t = match self {
                Kind::Zset => "board",
                Kind::Str => "cache",
                Kind::Stream => "events",
                Kind::List => "queue",
                Kind::Set => "tags",
                Kind::Hash => "user",
                Kind::Hll => "uv",
            };
            format!("{t}:{i:010}").into_bytes()
        }
    }

    /// Shape of one key, drawn first from its generator; the rest of the generator is the
    /// key's content.
    struct Shape {
        /// Elements (collections, HLL members, stream entries).
        n: u64,
        /// Absolute expiry in Unix ms.
        ttl: Option<u64>,
        /// A uniform draw in 0..1000 that picks the format variant.
        variant: u64,
        content: Rng,
    }

    fn shape(seed: u64, kind: Kind, i: u64) -> Shape {
        let mut rng = Rng(seed
            .wrapping_mul(0xA076_1D64_78BD_642F)
            .wrapping_add((kind as u64) << 56)
            .wrapping_add(i));
        rng.next();
        // 5..=200 elements, skewed towards small collections.
        let spread = rng.below(196) + 1;
        let n = 5 + rng.below(spread);
        let ttl = (rng.below(TTL_ONE_IN) == 0).then(|| BASE_MS + 3_600_000 + rng.below(30 * 86_400_000));
        let variant = rng.below(1000);
        Shape {
            n,
            ttl,
            variant,
            content: Rng(rng.next()),
        }
    }

    impl Rng {
        /// `len` printable bytes, eight per draw.
        fn fill_fast(&mut self, out: &mut Vec<u8>, len: usize) {
            const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ-_:/.,";
            let mut left = len;
            while left > 0 {
                let r = self.next().to_le_bytes();
                for b in r.iter().take(left) {
                    out.push(ALPHABET[usize::from(*b) % ALPHABET.len()]);
                }
                left = left.saturating_sub(8);
            }
        }

        fn text(&mut self, out: &mut Vec<u8>, min: u64, max: u64) {
            out.clear();
            let n = min + self.below(max - min + 1);
            self.fill_fast(out, n as usize);
        }
    }

    /// Output plus scratch buffers.
    struct Gen<'a, W: Write> {
        w: &'a mut PebbleStreamWriter<W>,
        seed: u64,
        mvcc: bool,
        a: Vec<u8>,
        b: Vec<u8>,
    }

    impl<W: Write> Gen<'_, W> {
        fn put(&mut self, user: &[u8], ts: u64, body: &[u8]) -> anyhow::Result<()> {
            self.w.write_mvcc(user, ts, 0, 0, body)?;
            Ok(())
        }

        fn tombstone(&mut self, user: &[u8], ts: u64) -> anyhow::Result<()> {
            self.w.write_mvcc(user, ts, 1, 0, b"")?;
            Ok(())
        }

        /// Write keys 0.. of a type until `budget` more bytes are out; return the count.
        fn section(
            &mut self,
            budget: u64,
            f: impl FnMut(&mut Self, u64) -> anyhow::Result<()>,
        ) -> anyhow::Result<u64> {
            super::fill(self, budget, |g| g.w.bytes_written(), f)
        }

        /// Meta value: count, plus the inline expiry slot when the key has a TTL (one key
        /// in five of those keeps the legacy 8-byte meta: its TTL is only in the index).
        fn count_meta(&self, s: &Shape) -> Vec<u8> {
            match s.ttl {
                Some(ms) if s.variant >= 200 => be64s(&[s.n, ms]),
                _ => be64s(&[s.n]),
            }
        }

        // --- element rows, one key each ---

        fn hash_fields(&mut self, i: u64) -> anyhow::Result<()> {
            let mut s = shape(self.seed, Kind::Hash, i);
            let k = Kind::Hash.name(i);
            for j in 0..s.n {
                s.content.text(&mut self.b, 10, 120);
                self.a = wide("!hs|fld|", &k, format!("field:{j:03}").as_bytes());
                let (a, b) = (std::mem::take(&mut self.a), std::mem::take(&mut self.b));
                self.put(&a, TS, &b)?;
                (self.a, self.b) = (a, b);
            }
            Ok(())
        }

        /// Lists push at both ends: the head seq is negative for one list in four.
        fn list_head(s: &Shape) -> i64 {
            if s.variant % 4 == 0 {
                -((s.n / 2) as i64)
            } else {
                0
            }
        }

        fn list_items(&mut self, i: u64) -> anyhow::Result<()> {
            let mut s = shape(self.seed, Kind::List, i);
            let k = Kind::List.name(i);
            let head = Self::list_head(&s);
            for j in 0..s.n as i64 {
                s.content.text(&mut self.b, 20, 200);
                let mut user = plain("!lst|itm|", &k);
                user.extend_from_slice(&sortable_i64(head + j));
                let b = std::mem::take(&mut self.b);
                self.put(&user, TS, &b)?;
                self.b = b;
            }
            Ok(())
        }

        /// HLL: new format (inline TTL slot) for four in five, legacy raw payload otherwise.
        fn hll(&mut self, i: u64) -> anyhow::Result<()> {
            let mut s = shape(self.seed, Kind::Hll, i);
            let members: Vec<String> = (0..s.n)
                .map(|_| {
                    s.content.text(&mut self.b, 8, 24);
                    String::from_utf8_lossy(&self.b).into_owned()
                })
                .collect();
            let refs: Vec<&str> = members.iter().map(String::as_str).collect();
            let payload = set_value(&refs);
            let body = if s.variant >= 200 {
                envelope(2, s.ttl, &payload)
            } else {
                payload
            };
            self.put(&plain("!redis|hll|", &Kind::Hll.name(i)), TS, &body)
        }

        /// String variants by `variant`: 0..20 legacy raw value (TTL only in the index),
        /// 20..30 an older version too, 30..35 a newer tombstone; one in `LARGE_ONE_IN` is
        /// large. The multi-version shares apply only with `mvcc`.
        fn string(&mut self, i: u64) -> anyhow::Result<()> {
            let mut s = shape(self.seed, Kind::Str, i);
            let user = plain("!redis|str|", &Kind::Str.name(i));
            if s.content.below(LARGE_ONE_IN) == 0 {
                // Log-uniform in 16 KiB..1 MiB.
                let u = s.content.below(1 << 20) as f64 / f64::from(1u32 << 20);
                let len = (16_384.0 * (6.0 * u).exp2()) as u64;
                s.content.text(&mut self.b, len, len);
            } else {
                s.content.text(&mut self.b, 50, 200);
            }
            let body = if s.variant < 20 {
                self.b.clone()
            } else {
                envelope(1, s.ttl, &self.b)
            };
            if self.mvcc && (30..35).contains(&s.variant) {
                self.tombstone(&user, TS)?;
                return self.put(&user, TS - 1, &body);
            }
            self.put(&user, TS, &body)?;
            if self.mvcc && (20..30).contains(&s.variant) {
                let mut older = body.clone();
                older.reverse();
                self.put(&user, TS - 65_536, &older)?;
            }
            Ok(())
        }

        /// Stream entry ids: `(base + j/2 * step, j % 2)`, strictly increasing.
        fn stream_id(s: &Shape, i: u64, j: u64) -> (u64, u64) {
            let base = BASE_MS + i * 1_000;
            let step = 1 + s.variant % 50;
            (base + j / 2 * step, j % 2)
        }

        fn stream_entries(&mut self, i: u64) -> anyhow::Result<()> {
            let mut s = shape(self.seed, Kind::Stream, i);
            let k = Kind::Stream.name(i);
            const NAMES: [&str; 4] = ["event", "user", "ip", "payload"];
            for j in 0..s.n.min(100) {
                let (ms, seq) = Self::stream_id(&s, i, j);
                let pairs = 1 + s.content.below(4) as usize;
                let mut fields: Vec<String> = Vec::with_capacity(pairs * 2);
                for name in NAMES.iter().take(pairs) {
                    s.content.text(&mut self.b, 5, 60);
                    fields.push((*name).to_owned());
                    fields.push(String::from_utf8_lossy(&self.b).into_owned());
                }
                let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
                let value = stream_entry_value(&format!("{ms}-{seq}"), &refs);
                let mut rest = ms.to_be_bytes().to_vec();
                rest.extend_from_slice(&seq.to_be_bytes());
                self.put(&wide("!stream|entry|", &k, &rest), TS, &value)?;
            }
            Ok(())
        }

        fn set_members(&mut self, i: u64) -> anyhow::Result<()> {
            let mut s = shape(self.seed, Kind::Set, i);
            let k = Kind::Set.name(i);
            for j in 0..s.n {
                s.content.text(&mut self.b, 8, 60);
                let mut member = format!("m{j:03}:").into_bytes();
                member.extend_from_slice(&self.b);
                self.put(&wide("!st|mem|", &k, &member), TS, b"")?;
            }
            Ok(())
        }

        /// Members `p{j:03}:<text>` (sorted by j) and their scores.
        fn zset_members(s: &mut Shape, buf: &mut Vec<u8>) -> Vec<(Vec<u8>, f64)> {
            (0..s.n)
                .map(|j| {
                    s.content.text(buf, 6, 32);
                    let mut member = format!("p{j:03}:").into_bytes();
                    member.extend_from_slice(buf);
                    let score = s.content.below(2_000_000) as f64 / 100.0 - 5_000.0;
                    (member, score)
                })
                .collect()
        }

        fn zset_mem(&mut self, i: u64) -> anyhow::Result<()> {
            let mut s = shape(self.seed, Kind::Zset, i);
            let k = Kind::Zset.name(i);
            for (m, score) in Self::zset_members(&mut s, &mut self.b) {
                self.put(&wide("!zs|mem|", &k, &m), TS, &score.to_bits().to_be_bytes())?;
            }
            Ok(())
        }

        // --- rows that sort after the elements ---

        fn metas(&mut self, kind: Kind, count: u64) -> anyhow::Result<()> {
            for i in 0..count {
                let s = shape(self.seed, kind, i);
                let k = kind.name(i);
                match kind {
                    Kind::Hash => self.put(&wide("!hs|meta|", &k, b""), TS, &self.count_meta(&s))?,
                    Kind::Set => self.put(&wide("!st|meta|", &k, b""), TS, &self.count_meta(&s))?,
                    Kind::Zset => self.put(&wide("!zs|meta|", &k, b""), TS, &self.count_meta(&s))?,
                    Kind::List => {
                        let head = Self::list_head(&s);
                        let mut v = be64s(&[head as u64, (head + s.n as i64) as u64, s.n]);
                        if let (Some(ms), true) = (s.ttl, s.variant >= 200) {
                            v.extend_from_slice(&ms.to_be_bytes());
                        }
                        self.put(&plain("!lst|meta|", &k), TS, &v)?;
                    }
                    Kind::Stream => {
                        let n = s.n.min(100);
                        let (ms, seq) = Self::stream_id(&s, i, n - 1);
                        let mut v = be64s(&[n, ms, seq]);
                        if let (Some(ttl), true) = (s.ttl, s.variant >= 200) {
                            v.extend_from_slice(&ttl.to_be_bytes());
                        }
                        self.put(&wide("!stream|meta|", &k, b""), TS, &v)?;
                    }
                    Kind::Str | Kind::Hll => {}
                }
            }
            Ok(())
        }

        /// `!redis|ttl|` rows of every expiring key, in key-name order (as the live server
        /// writes them: for strings and HLLs too, beside the inline slot). A tombstoned
        /// string has none.
        fn ttl_index(&mut self, counts: &[(Kind, u64)]) -> anyhow::Result<()> {
            for &(kind, count) in counts {
                for i in 0..count {
                    let s = shape(self.seed, kind, i);
                    let deleted = kind == Kind::Str && self.mvcc && (30..35).contains(&s.variant);
                    if let (Some(ms), false) = (s.ttl, deleted) {
                        self.put(&plain("!redis|ttl|", &kind.name(i)), TS, &ms.to_be_bytes())?;
                    }
                }
            }
            Ok(())
        }

        fn zset_scores(&mut self, count: u64) -> anyhow::Result<()> {
            for i in 0..count {
                let mut s = shape(self.seed, Kind::Zset, i);
                let k = Kind::Zset.name(i);
                let mut rows: Vec<Vec<u8>> = Self::zset_members(&mut s, &mut self.b)
                    .into_iter()
                    .map(|(m, score)| {
                        let mut rest = sortable_f64(score).to_vec();
                        rest.extend_from_slice(&m);
                        rest
                    })
                    .collect();
                rows.sort();
                for rest in rows {
                    self.put(&wide("!zs|scr|", &k, &rest), TS, b"")?;
                }
            }
            Ok(())
        }
    }

    /// How many keys a section of `budget` bytes holds, from a dry run into a sink (for the
    /// types whose count the `!redis|ttl|` index needs before their rows are written).
    fn count_for(
        seed: u64,
        mvcc: bool,
        budget: u64,
        f: impl FnMut(&mut Gen<'_, io::Sink>, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let mut w = PebbleStreamWriter::new(io::sink(), TS)?;
        let mut g = Gen {
            w: &mut w,
            seed,
            mvcc,
            a: Vec::new(),
            b: Vec::new(),
        };
        g.section(budget, f)
    }

    /// Write the Redis workload of about `size` bytes. Byte shares: strings 35%, hashes 15%,
    /// zsets 13% (half members, half score index), streams 12%, lists 10%, sets 10%, HLL 5%.
    pub fn redis_rows<W: Write>(
        w: &mut PebbleStreamWriter<W>,
        size: u64,
        seed: u64,
        raw_rows: bool,
        mvcc: bool,
    ) -> anyhow::Result<()> {
        let part = |pct: u64| size / 100 * pct;
        let streams = count_for(seed, mvcc, part(12), |g, i| g.stream_entries(i))?;
        let sets = count_for(seed, mvcc, part(10), |g, i| g.set_members(i))?;
        let zsets = count_for(seed, mvcc, part(13) / 2, |g, i| g.zset_mem(i))?;
        let mut g = Gen {
            w,
            seed,
            mvcc,
            a: Vec::new(),
            b: Vec::new(),
        };
        // Family order: !hs| < !lst| < !redis|hll| < !redis|str| < !redis|ttl| < !stream| < !st| < !zs|.
        let hashes = g.section(part(15), |g, i| g.hash_fields(i))?;
        g.metas(Kind::Hash, hashes)?;
        let lists = g.section(part(10), |g, i| g.list_items(i))?;
        g.metas(Kind::List, lists)?;
        let hlls = g.section(part(5), |g, i| g.hll(i))?;
        let strings = g.section(part(35), |g, i| g.string(i))?;
        g.ttl_index(&[
            (Kind::Zset, zsets),
            (Kind::Str, strings),
            (Kind::Stream, streams),
            (Kind::List, lists),
            (Kind::Set, sets),
            (Kind::Hash, hashes),
            (Kind::Hll, hlls),
        ])?;
        for i in 0..streams {
            g.stream_entries(i)?;
        }
        g.metas(Kind::Stream, streams)?;
        for i in 0..sets {
            g.set_members(i)?;
        }
        g.metas(Kind::Set, sets)?;
        for i in 0..zsets {
            g.zset_mem(i)?;
        }
        g.metas(Kind::Zset, zsets)?;
        g.zset_scores(zsets)?;
        if raw_rows {
            write_meta_rows(g.w, TS)?;
        }
        eprintln!(
            "redis profile: {strings} strings, {hashes} hashes, {lists} lists, {sets} sets, {zsets} zsets, \
             {streams} streams, {hlls} hll"
        );
        Ok(())
    }
}

/// `--sst-from`: an `EKVSSTI1` bundle of another snapshot's entries.
mod sst {
    use std::fs::File;
    use std::io::{self, BufReader, BufWriter, Write};
    use std::path::{Path, PathBuf};

    use ekv_snapshot::container::sst::SstFileMeta;
    use ekv_snapshot::container::sst::{manifest, write_bundle_head, TableOptions, TableWriter};
    use ekv_snapshot::container::{encode_value, Crc32cWriter, FsmHeader, SnapshotFile, StreamEntry};
    use sha2::{Digest, Sha256};

    /// `defaultSSTIngestTargetFileSize`: a table is closed once it holds this many key + value bytes.
    const TARGET_TABLE_BYTES: u64 = 64 << 20;

    /// A writer that hashes what passes through it.
    struct Hashing<W> {
        inner: W,
        sha: Sha256,
    }

    impl<W: Write> Write for Hashing<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.sha.update(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    struct Open {
        w: TableWriter<Hashing<BufWriter<File>>>,
        path: PathBuf,
        smallest: Vec<u8>,
        bytes: u64,
    }

    fn close(
        open: Open,
        index: usize,
        largest: &[u8],
        done: &mut Vec<(PathBuf, SstFileMeta)>,
    ) -> anyhow::Result<()> {
        let (out, size) = open.w.finish()?;
        let sha = hex::encode(out.sha.finalize());
        out.inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        done.push((
            open.path,
            SstFileMeta {
                name: format!("{index:06}.sst"),
                size,
                sha256: sha,
                smallest: open.smallest,
                largest: largest.to_vec(),
            },
        ));
        Ok(())
    }

    fn le64(v: &[u8]) -> u64 {
        v.get(..8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }

    pub fn export(input: &Path, out: &Path) -> anyhow::Result<()> {
        let mut f = SnapshotFile::open(input)?;
        let header = f.info().header;
        let mut last_ts = f.info().last_commit_ts.unwrap_or(0);
        let scratch = tempfile::tempdir()?;
        let (mut done, mut open) = (Vec::new(), None::<Open>);
        let (mut entries, mut bytes) = (0u64, 0u64);
        let (mut applied, mut min_retained, mut pending) = (None, 0, 0);
        let (mut key, mut value) = (Vec::new(), Vec::new());
        while let Some(e) = f.next()? {
            key.clear();
            value.clear();
            match e {
                StreamEntry::Raw(r) => {
                    key.extend_from_slice(r.key);
                    value.extend_from_slice(r.value);
                    match r.key {
                        b"_meta_applied_index" => applied = Some(le64(r.value)),
                        b"_meta_min_retained_ts" => min_retained = le64(r.value),
                        b"_meta_pending_min_retained_ts" => pending = le64(r.value),
                        _ => {}
                    }
                }
                StreamEntry::Mvcc(m) => {
                    key.extend_from_slice(m.encoded_key);
                    encode_value(u8::from(m.tombstone), m.expire_at, m.body, &mut value);
                    last_ts = last_ts.max(m.commit_ts);
                }
            }
            let t = match &mut open {
                Some(t) => t,
                None => {
                    let path = scratch.path().join(format!("{:06}.sst", done.len()));
                    let file = BufWriter::with_capacity(1 << 20, File::create(&path)?);
                    let hashing = Hashing {
                        inner: file,
                        sha: Sha256::new(),
                    };
                    open.insert(Open {
                        w: TableWriter::new(hashing, TableOptions::default()),
                        path,
                        smallest: key.clone(),
                        bytes: 0,
                    })
                }
            };
            t.w.add(&key, &value)?;
            t.bytes += (key.len() + value.len()) as u64;
            entries += 1;
            bytes += (key.len() + value.len()) as u64;
            if t.bytes >= TARGET_TABLE_BYTES {
                if let Some(t) = open.take() {
                    let index = done.len();
                    close(t, index, &key, &mut done)?;
                }
            }
        }
        f.finish()?;
        if let Some(t) = open.take() {
            let index = done.len();
            close(t, index, &key, &mut done)?;
        }
        let (paths, files): (Vec<PathBuf>, Vec<SstFileMeta>) = done.into_iter().unzip();
        let mut m = manifest(last_ts, applied, entries, bytes, files);
        m.min_retained_ts = min_retained;
        m.pending_min_retained_ts = pending;
        let mut w = Crc32cWriter::new(BufWriter::with_capacity(1 << 20, File::create(out)?));
        header
            .unwrap_or_else(|| FsmHeader::v2((last_ts >> 16) + 1, 42))
            .write_to(&mut w)?;
        write_bundle_head(&mut w, &m)?;
        for p in &paths {
            io::copy(&mut BufReader::with_capacity(1 << 20, File::open(p)?), &mut w)?;
        }
        let bytes_out = w.bytes() + 4;
        w.finish_with_footer()?
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        eprintln!(
            "wrote {} (EKVSSTI1, {} tables, {entries} entries, {bytes_out} bytes)",
            out.display(),
            paths.len()
        );
        Ok(())
    }
}

/// The `sqs` profile: valid SQS rows (dynamodb_sqs.md §2.1–2.2) in encoded-key order. The
/// rows are generated queue by queue and ordered by an external sort (bounded memory).
mod sqs {
    use std::io::Write;

    use ekv_snapshot::adapters::sqs::keys::{self, Lane};
    use ekv_snapshot::adapters::sqs::values::{Message, QueueMeta};
    use ekv_snapshot::container::{encode_key, encode_value, PebbleStreamWriter};
    use ekv_snapshot::spill::ExternalSorter;

    use super::{hlc, write_meta_rows, Rng, BASE_MS};

    const TS: u64 = hlc(3_600_000, 0);

    /// Queues of the profile: a quarter are FIFO (every fourth).
    const QUEUES: u64 = 100;

    /// Queue `q`: (name, fifo, content-based dedup, partition count). Every fourth queue is
    /// FIFO; half of those deduplicate by content, and every fourth FIFO queue is
    /// partitioned (4 or 8 partitions).
    fn queue(q: u64) -> (String, bool, bool, u32) {
        let fifo = q % 4 == 3;
        if !fifo {
            return (format!("queue-{q:03}"), false, false, 0);
        }
        let parts = match q % 32 {
            15 => 4,
            31 => 8,
            _ => 0,
        };
        (format!("queue-{q:03}.fifo"), true, q % 8 == 7, parts)
    }

    pub fn sqs_rows<W: Write>(
        w: &mut PebbleStreamWriter<W>,
        size: u64,
        seed: u64,
        raw_rows: bool,
    ) -> anyhow::Result<()> {
        let scratch = std::env::temp_dir();
        let mut sorter = ExternalSorter::new(64 << 20, &scratch);
        let mut rng = Rng(seed);
        let (mut key, mut value) = (Vec::new(), Vec::new());
        let mut push = |user: &[u8], body: &[u8], bytes: &mut u64| -> anyhow::Result<()> {
            key.clear();
            encode_key(user, TS, &mut key);
            value.clear();
            encode_value(0, 0, body, &mut value);
            *bytes += (key.len() + value.len() + 16) as u64;
            sorter.push(&key, &value)?;
            Ok(())
        };
        let mut bytes = 0u64;
        let queues: Vec<_> = (0..QUEUES).map(queue).collect();
        let mut seqs = vec![0u64; queues.len()];
        for (name, fifo, cbd, parts) in queues.iter().cloned() {
            let meta = QueueMeta {
                name: name.to_owned(),
                fifo,
                content_based_deduplication: cbd,
                visibility_timeout_seconds: 30,
                message_retention_seconds: 345_600,
                maximum_message_size: 262_144,
                partition_count: parts,
                fifo_throughput_limit: if parts > 1 {
                    "perMessageGroupId".into()
                } else {
                    String::new()
                },
                deduplication_scope: if parts > 1 {
                    "messageGroup".into()
                } else {
                    String::new()
                },
                ..QueueMeta::default()
            };
            push(&keys::queue_meta_key(&name), &meta.stored_value(), &mut bytes)?;
            push(&keys::queue_gen_key(&name), b"1", &mut bytes)?;
        }
        let mut i = 0u64;
        let mut text = Vec::new();
        while bytes < size {
            let q = (i % QUEUES) as usize;
            let (name, fifo, cbd, parts) = &queues[q];
            let (name, fifo, cbd, parts) = (name.as_str(), *fifo, *cbd, *parts);
            let send = (BASE_MS + i) as i64;
            text.clear();
            let len = 10 + rng.below(190) as usize;
            rng.fill_text(&mut text, len);
            if rng.below(100) == 0 {
                text[0] = 0xff; // a binary body
            }
            let group = if fifo {
                format!("group-{}", rng.below(16))
            } else {
                String::new()
            };
            let lane = if parts > 1 {
                Lane::Partition(keys::partition_for(parts, "perMessageGroupId", &group))
            } else {
                Lane::Classic
            };
            seqs[q] += u64::from(fifo);
            let attrs = if rng.below(5) == 0 {
                vec![
                    (
                        "kind".to_owned(),
                        br#"{"DataType":"String","StringValue":"bench"}"#.to_vec(),
                    ),
                    (
                        "n".to_owned(),
                        format!(r#"{{"DataType":"Number","StringValue":"{i}"}}"#).into_bytes(),
                    ),
                ]
            } else {
                Vec::new()
            };
            let id = format!("{:08x}-{i:016}", rng.below(1 << 32));
            let dedup = if fifo && !cbd {
                format!("d-{i}")
            } else {
                String::new()
            };
            let in_flight = rng.below(20) == 0;
            let m = Message {
                message_id: id.clone(),
                body: Some(text.clone()),
                md5_of_body: format!("{:032x}", rng.next()),
                message_attributes: attrs,
                send_timestamp_millis: send,
                available_at_millis: send,
                // one in 20 in flight: received once, hidden for 30 s, with a receipt token
                visible_at_millis: if in_flight { send + 30_000 } else { send },
                receive_count: i64::from(in_flight),
                first_receive_millis: if in_flight { send } else { 0 },
                current_receipt_token: in_flight.then(|| rng.next().to_be_bytes().repeat(2)),
                queue_generation: 1,
                message_group_id: group.clone(),
                message_deduplication_id: dedup.clone(),
                sequence_number: if fifo { seqs[q] } else { 0 },
                ..Message::default()
            };
            push(
                &keys::msg_data_key(name, lane, 1, &id),
                &m.stored_value(),
                &mut bytes,
            )?;
            push(
                &keys::msg_vis_key(name, lane, 1, m.visible_at_millis, &id),
                id.as_bytes(),
                &mut bytes,
            )?;
            push(
                &keys::msg_byage_key(name, lane, 1, send, &id),
                id.as_bytes(),
                &mut bytes,
            )?;
            if fifo {
                let d = if cbd { format!("{:064x}", i) } else { dedup };
                let v = ekv_snapshot::adapters::sqs::values::dedup_value(&id, send, seqs[q]);
                push(&keys::msg_dedup_key(name, lane, 1, &group, &d), &v, &mut bytes)?;
            }
            i += 1;
        }
        for (q, (name, fifo, ..)) in queues.iter().enumerate() {
            if *fifo && seqs[q] > 0 {
                push(
                    &keys::queue_seq_key(name),
                    seqs[q].to_string().as_bytes(),
                    &mut bytes,
                )?;
            }
        }
        let mut sorted = sorter.finish()?;
        while let Some((k, v)) = sorted.next()? {
            w.write_entry(k, v)?;
        }
        if raw_rows {
            write_meta_rows(w, TS)?;
        }
        eprintln!("sqs profile: {i} messages in {QUEUES} queues");
        Ok(())
    }
}

/// The `s3` profiles: one bucket, every object in one part of 1 MiB chunks, blob rows first,
/// then the bucket rows, then the manifests (their key order). An object's size and bytes
/// come from its own generator (seed, index), so the manifests re-derive what the blobs
/// wrote: memory holds one chunk and the object order (8 bytes an object).
mod s3 {
    use std::io::Write;

    use ekv_snapshot::adapters::s3::keys::{blob_key, bucket_gen_key, bucket_meta_key, manifest_key};
    use ekv_snapshot::container::{encode_key, encode_value, PebbleStreamWriter};

    use super::{redis::TS, write_meta_rows, Rng};

    const CHUNK: u64 = 1 << 20;
    const BUCKET: &[u8] = b"bench-bucket";

    fn object_size(seed: u64, i: u64, one: Option<u64>) -> u64 {
        if let Some(size) = one {
            return size;
        }
        // log-uniform over 1 KiB..64 MiB: 2^(10 + 16u) for u uniform in [0, 1)
        let mut r = Rng(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let u = (r.next() >> 11) as f64 / (1u64 << 53) as f64;
        (1024.0 * 65536f64.powf(u)) as u64
    }

    fn name(i: u64) -> Vec<u8> {
        format!("data/{:03}/object-{i:09}.bin", i % 997).into_bytes()
    }

    /// Write the rows of about `size` bytes (`one`: a single object of `size` bytes).
    pub fn s3_rows<W: Write>(
        w: &mut PebbleStreamWriter<W>,
        size: u64,
        seed: u64,
        one: bool,
        live: bool,
    ) -> anyhow::Result<()> {
        let one = one.then_some(size);
        // objects sorted by name: name(i) sorts by (i % 997, i); count first
        let mut count = 0u64;
        let mut total = 0u64;
        while total < size && (one.is_none() || count == 0) {
            total += object_size(seed, count, one);
            count += 1;
        }
        let mut order: Vec<u64> = (0..count).collect();
        order.sort_by_key(|&i| name(i));
        let mut chunk = Vec::with_capacity(CHUNK as usize);
        for &i in &order {
            let len = object_size(seed, i, one);
            let mut r = Rng(seed.wrapping_add(i));
            let mut no = 0u64;
            let mut left = len;
            while left > 0 {
                let n = left.min(CHUNK);
                chunk.clear();
                while (chunk.len() as u64) < n {
                    let word = r.next().to_le_bytes();
                    let take = (n as usize - chunk.len()).min(8);
                    chunk.extend_from_slice(&word[..take]);
                }
                w.write_entry(
                    &ek(blob_key(BUCKET, 1, &name(i), b"upload-1", 1, no, 0)),
                    &ev(&chunk),
                )?;
                no += 1;
                left -= n;
            }
        }
        w.write_entry(&ek(bucket_gen_key(BUCKET)), &ev(&1u64.to_be_bytes()))?;
        let meta =
            br#"{"bucket_name":"bench-bucket","generation":1,"created_at_hlc":0,"region":"us-east-1"}"#;
        w.write_entry(&ek(bucket_meta_key(BUCKET)), &ev(meta))?;
        for &i in &order {
            let len = object_size(seed, i, one);
            let chunks = len.div_ceil(CHUNK);
            let sizes: Vec<String> = (0..chunks)
                .map(|c| (len - c * CHUNK).min(CHUNK).to_string())
                .collect();
            let m = format!(
                r#"{{"upload_id":"upload-1","etag":"e{i}","size_bytes":{len},"last_modified_hlc":{TS},"content_type":"application/octet-stream","parts":[{{"part_no":1,"etag":"e{i}","size_bytes":{len},"chunk_count":{chunks},"chunk_sizes":[{}]}}]}}"#,
                sizes.join(",")
            );
            w.write_entry(&ek(manifest_key(BUCKET, 1, &name(i))), &ev(m.as_bytes()))?;
        }
        if live {
            write_meta_rows(w, TS)?;
        }
        Ok(())
    }

    fn ek(user_key: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::with_capacity(user_key.len() + 8);
        encode_key(&user_key, TS, &mut out);
        out
    }

    fn ev(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 9);
        encode_value(0, 0, body, &mut out);
        out
    }
}

/// The sample's DynamoDB table (`orders`, hash key `id`) and its one item.
fn ddb_sample() -> (ddb::proto::TableSchema, ddb::proto::Item) {
    use ddb::proto::{AttributeValue, Item, KeySchema, TableSchema, Value};
    let schema = TableSchema {
        table_name: "orders".into(),
        attribute_definitions: [("id".to_owned(), "S".to_owned())].into(),
        primary_key: Some(KeySchema {
            hash_key: "id".into(),
            range_key: String::new(),
        }),
        key_encoding_version: 2,
        generation: 1,
        ..TableSchema::default()
    };
    let item = Item {
        attributes: [
            (
                "id".to_owned(),
                AttributeValue::new(Value::S("order-0001".into())),
            ),
            ("total".to_owned(), AttributeValue::new(Value::N("12.50".into()))),
        ]
        .into(),
    };
    (schema, item)
}

/// The `dynamodb` profile: tables `t0`..`t3`, their items in key order, then the generation
/// counters and schemas (`!ddb|item|` < `!ddb|meta|gen|` < `!ddb|meta|table|`).
fn dynamodb_rows<W: Write>(w: &mut PebbleStreamWriter<W>, size: u64, seed: u64) -> anyhow::Result<()> {
    use ddb::proto::{
        AttributeValue, AttributeValueList, AttributeValueMap, Item, KeySchema, StringSet, TableSchema, Value,
    };
    const TABLES: u64 = 4;
    let ts = hlc(3_600_000, 0);
    let schema = |t: u64| TableSchema {
        table_name: format!("t{t}"),
        attribute_definitions: [
            ("pk".to_owned(), "S".to_owned()),
            ("sk".to_owned(), "N".to_owned()),
        ]
        .into(),
        primary_key: Some(KeySchema {
            hash_key: "pk".into(),
            range_key: "sk".into(),
        }),
        key_encoding_version: 2,
        generation: 1,
        ..TableSchema::default()
    };
    let mut b = Bench {
        w,
        rng: Rng(seed),
        key: Vec::new(),
        value: Vec::new(),
        body: Vec::new(),
        ts,
    };
    let s = |v: String| AttributeValue::new(Value::S(v));
    let n = |v: String| AttributeValue::new(Value::N(v));
    // Table names sort as their base64 segments: t0 "dDA" < t1 "dDE" < t2 "dDI" < t3 "dDM".
    for t in 0..TABLES {
        let sc = schema(t);
        let name = sc.table_name.clone();
        b.section(size / TABLES, |b, i| {
            // Hash keys in order (fixed width), 4 range keys 0..3 per hash key (ordered N).
            let mut item = Item::default();
            item.attributes
                .insert("pk".into(), s(format!("customer-{:010}", i / 4)));
            item.attributes.insert("sk".into(), n(format!("{}", i % 4)));
            let big = b.rng.below(100) == 0;
            b.text(if big { 8000 } else { 400 });
            let text = String::from_utf8_lossy(&b.body).into_owned();
            item.attributes.insert("note".into(), s(text));
            item.attributes.insert("name".into(), s(format!("user {i}")));
            item.attributes.insert(
                "total".into(),
                n(format!("{}.{:02}", b.rng.below(100_000), b.rng.below(100))),
            );
            // 0–15 more attributes: 5–20 in all
            for j in 0..b.rng.below(16) {
                let (name, value) = match j {
                    0 => ("qty".to_owned(), n(format!("{}", b.rng.below(50)))),
                    1 => ("paid".to_owned(), AttributeValue::new(Value::Bool(i % 3 == 0))),
                    2 => (
                        "tags".to_owned(),
                        AttributeValue::new(Value::Ss(StringSet {
                            values: vec!["a".into(), format!("t{}", i % 7)],
                        })),
                    ),
                    3 => (
                        "addr".to_owned(),
                        AttributeValue::new(Value::M(AttributeValueMap {
                            values: [
                                ("city".to_owned(), s("Tokyo".into())),
                                ("zip".to_owned(), n("1000001".into())),
                            ]
                            .into(),
                        })),
                    ),
                    4 => (
                        "hist".to_owned(),
                        AttributeValue::new(Value::L(AttributeValueList {
                            values: vec![n(format!("{i}")), s("created".into())],
                        })),
                    ),
                    j if j % 2 == 0 => (format!("n{j}"), n(format!("-{}.5", b.rng.below(1 << 20)))),
                    j => (format!("s{j}"), s(format!("value {}", b.rng.below(1 << 30)))),
                };
                item.attributes.insert(name, value);
            }
            let pk = ddb::keys::primary_key_segments(&sc, &item).map_err(anyhow::Error::msg)?;
            let key = ddb::keys::item_key(&name, 1, &pk);
            let ts = b.ts;
            b.put(&key, ts, false, &ddb::proto::item_value(&item))
        })?;
    }
    for t in 0..TABLES {
        let name = format!("t{t}");
        b.put(&ddb::keys::table_gen_key(&name), ts, false, b"1")?;
    }
    for t in 0..TABLES {
        let sc = schema(t);
        b.put(
            &ddb::keys::table_meta_key(&sc.table_name),
            ts,
            false,
            &ddb::proto::schema_value(&sc),
        )?;
    }
    Ok(())
}
