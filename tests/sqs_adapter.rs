//! The SQS adapter against the Go reference's own outputs (tests/fixtures/sqs, README there):
//! our encoder's records equal those of Go's `.fsm` of the hand-written tree, our decoder
//! writes Go's trees for the crafted snapshot (default, preserve-visibility, side records),
//! and decode → encode → decode is a fixed point.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ekv_snapshot::adapters::sqs::{SqsDecoder, SqsEncoder, SqsOptions};
use ekv_snapshot::adapters::{
    AdapterError, DecodeContext, Decoder, EncodeContext, Encoder, Record, RecordSink, SinkError, Warnings,
};
use ekv_snapshot::dump::DumpTree;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sqs")
}

/// The user records of an `EKVPBBL1` stream (one version per key; header and MVCC framing
/// removed), in stream order.
fn fsm_records(bytes: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    assert_eq!(&bytes[..8], b"EKVPBBL1");
    let mut at = 16;
    let mut out = Vec::new();
    let u64le = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
    while at < bytes.len() {
        let kl = u64le(&bytes[at..at + 8]) as usize;
        let key = &bytes[at + 8..at + 8 + kl];
        at += 8 + kl;
        let vl = u64le(&bytes[at..at + 8]) as usize;
        let val = &bytes[at + 8..at + 8 + vl];
        at += 8 + vl;
        assert_eq!(val[0], 0, "tombstones and encrypted values are not used here");
        out.push((key[..kl - 8].to_vec(), val[9..].to_vec()));
    }
    out
}

fn decoder(options: &SqsOptions, scratch: &Path, budget: usize) -> SqsDecoder {
    let cx = DecodeContext {
        scratch_dir: scratch.to_path_buf(),
    };
    SqsDecoder::new(options, &cx).with_budget(budget)
}

/// Decode records into `out/` (a published tree) and return the warnings.
fn decode_records(
    records: &[(Vec<u8>, Vec<u8>)],
    options: SqsOptions,
    out: &Path,
    budget: usize,
) -> Result<Warnings, AdapterError> {
    let scratch = tempfile::tempdir().unwrap();
    let mut dec = decoder(&options, scratch.path(), budget);
    let mut tree = DumpTree::create(out).unwrap();
    let mut warnings = Warnings::new();
    for (k, v) in records {
        dec.handle(&mut tree, &mut warnings, &Record::routed(k, v).unwrap())?;
    }
    dec.finalize(&mut tree, &mut warnings)?;
    tree.publish(None).unwrap();
    Ok(warnings)
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.is_dir() {
        walk(dir, dir, &mut out);
    }
    out
}

fn assert_same_files(want: &Path, got: &Path) {
    let (w, g) = (files(want), files(got));
    assert_eq!(w.keys().collect::<Vec<_>>(), g.keys().collect::<Vec<_>>());
    for (rel, bytes) in &w {
        assert!(
            g[rel] == *bytes,
            "{rel} differs:\nwant {}\ngot  {}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&g[rel])
        );
    }
}

/// Records as `(user key, user value)` pairs.
type Records = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Default)]
struct VecSink(Vec<(Vec<u8>, Vec<u8>)>);

impl RecordSink for VecSink {
    fn add(&mut self, k: &[u8], v: &[u8]) -> Result<(), SinkError> {
        self.0.push((k.to_vec(), v.to_vec()));
        Ok(())
    }
}

fn encode_tree(root: &Path) -> Result<Records, AdapterError> {
    let mut sink = VecSink::default();
    let cx = EncodeContext {
        threads: 1,
        scratch_dir: std::env::temp_dir(),
        reader: ekv_snapshot::dump::TreeReader::unverified(root),
    };
    SqsEncoder::new(&SqsOptions::default(), &cx).encode(root, &mut sink)?;
    let mut recs = sink.0;
    recs.sort();
    Ok(recs)
}

#[test]
fn encode_of_the_hand_written_tree_equals_gos_records() {
    let go = fsm_records(&std::fs::read(fixtures().join("tree.go.fsm")).unwrap());
    let ours = encode_tree(&fixtures().join("tree")).unwrap();
    assert_eq!(ours.len(), go.len());
    for (o, g) in ours.iter().zip(&go) {
        assert!(
            o == g,
            "record differs:\nours {:?} = {}\ngo   {:?} = {}",
            String::from_utf8_lossy(&o.0),
            String::from_utf8_lossy(&o.1),
            String::from_utf8_lossy(&g.0),
            String::from_utf8_lossy(&g.1)
        );
    }
}

#[test]
fn decode_of_gos_fsm_is_the_hand_written_tree() {
    let go = fsm_records(&std::fs::read(fixtures().join("tree.go.fsm")).unwrap());
    let d = tempfile::tempdir().unwrap();
    let warnings = decode_records(&go, SqsOptions::default(), &d.path().join("t"), 1 << 20).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_same_files(&fixtures().join("tree/sqs"), &d.path().join("t/sqs"));
}

#[test]
fn decode_of_the_crafted_snapshot_matches_go_in_every_mode() {
    let recs = fsm_records(&std::fs::read(fixtures().join("crafted/crafted.fsm")).unwrap());
    let modes = [
        ("default", SqsOptions::default()),
        (
            "preserve-visibility",
            SqsOptions {
                preserve_visibility: true,
                ..SqsOptions::default()
            },
        ),
        (
            "side-records",
            SqsOptions {
                include_side_records: true,
                ..SqsOptions::default()
            },
        ),
    ];
    for (dir, options) in modes {
        let d = tempfile::tempdir().unwrap();
        let warnings = decode_records(&recs, options.clone(), &d.path().join("t"), 1 << 20).unwrap();
        assert_same_files(&fixtures().join("crafted").join(dir), &d.path().join("t/sqs"));
        let mut events: Vec<String> = warnings
            .iter()
            .map(|w| format!("{} {:?}", w.event, w.fields.iter().take(3).collect::<Vec<_>>()))
            .collect();
        events.sort();
        let sides = if options.include_side_records { "1" } else { "0" };
        assert_eq!(
            events,
            vec![
                format!(
                    "sqs_orphan_messages [(\"encoded_queue\", \"Z29uZQ\"), (\"buffered_messages\", \"0\"), (\"buffered_side_records\", \"0\")]"
                ),
                format!(
                    "sqs_orphan_messages [(\"encoded_queue\", \"b3JwaA\"), (\"buffered_messages\", \"1\"), (\"buffered_side_records\", \"{sides}\")]"
                ),
                "sqs_stale_generation_messages_dropped [(\"queue\", \"live-q\"), (\"active_gen\", \"3\"), (\"dropped\", \"1\")]".to_owned(),
            ],
            "{dir}"
        );
    }
}

/// D5: Go fails on `!sqs|queue|seq|` with `--include-sqs-side-records`; we dump it.
#[test]
fn d5_fifo_sequence_counters_are_side_records() {
    let recs = fsm_records(&std::fs::read(fixtures().join("crafted/crafted-seq.fsm")).unwrap());
    let d = tempfile::tempdir().unwrap();
    let options = SqsOptions {
        include_side_records: true,
        ..SqsOptions::default()
    };
    decode_records(&recs, options, &d.path().join("t"), 1 << 20).unwrap();
    let side = std::fs::read_to_string(d.path().join("t/sqs/lp.fifo/_internals/side_records.jsonl")).unwrap();
    let want_seq = format!(
        "{{\"prefix\":\"!sqs|queue|seq|\",\"key_hex\":\"{}\",\"value_b64\":\"Mg\"}}\n",
        hex::encode(b"!sqs|queue|seq|bHAuZmlmbw")
    );
    assert!(side.ends_with(&want_seq), "{side}");
    // Everything else is what Go writes for the snapshot without the counter.
    let want = std::fs::read_to_string(
        fixtures().join("crafted/side-records/lp.fifo/_internals/side_records.jsonl"),
    )
    .unwrap();
    assert_eq!(side, want + &want_seq);
}

#[test]
fn decode_encode_decode_is_a_fixed_point_and_spills() {
    let go = fsm_records(&std::fs::read(fixtures().join("tree.go.fsm")).unwrap());
    let d = tempfile::tempdir().unwrap();
    // A tiny budget: the messages go through spilled runs.
    decode_records(&go, SqsOptions::default(), &d.path().join("a"), 512).unwrap();
    let recs = encode_tree(&d.path().join("a")).unwrap();
    assert_eq!(recs, go);
    decode_records(&recs, SqsOptions::default(), &d.path().join("b"), 512).unwrap();
    assert_same_files(&d.path().join("a/sqs"), &d.path().join("b/sqs"));
}

#[test]
fn the_sorter_spills_when_messages_exceed_the_budget() {
    let go = fsm_records(&std::fs::read(fixtures().join("tree.go.fsm")).unwrap());
    let scratch = tempfile::tempdir().unwrap();
    let mut dec = decoder(&SqsOptions::default(), scratch.path(), 512);
    let mut tree = ekv_snapshot::dump::MemTree::new();
    let mut warnings = Warnings::new();
    for (k, v) in &go {
        dec.handle(&mut tree, &mut warnings, &Record::routed(k, v).unwrap())
            .unwrap();
    }
    // Messages are rendered and pushed in batches: settle the last one first.
    dec.settle().unwrap();
    assert!(dec.spilled_runs() > 1, "{}", dec.spilled_runs());
}
