//! SQS property tests: generated dump trees (standard, FIFO, partitioned queues; any body
//! bytes, attributes, groups, dedup ids) go tree → records → tree unchanged, and records →
//! tree → records is a fixed point; arbitrary bytes in keys, values and dump files give an
//! error or a tree, never a panic.

use std::collections::BTreeMap;
use std::path::Path;

use ekv_snapshot::adapters::sqs::keys::{self, partition_for, ROUTES};
use ekv_snapshot::adapters::sqs::values::{Message, QueueMeta};
use ekv_snapshot::adapters::sqs::{SqsDecoder, SqsEncoder, SqsOptions};
use ekv_snapshot::adapters::{
    DecodeContext, Decoder, EncodeContext, Encoder, Record, RecordSink, SinkError, Warnings,
};
use ekv_snapshot::dump::MemTree;
use proptest::prelude::*;

/// Records as `(user key, user value)` pairs.
type Records = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Default)]
struct Sink(Vec<(Vec<u8>, Vec<u8>)>);

impl RecordSink for Sink {
    fn add(&mut self, k: &[u8], v: &[u8]) -> Result<(), SinkError> {
        self.0.push((k.to_vec(), v.to_vec()));
        Ok(())
    }
}

fn encode(root: &Path) -> Result<Records, String> {
    let cx = EncodeContext {
        threads: 1,
        scratch_dir: std::env::temp_dir(),
        reader: ekv_snapshot::dump::TreeReader::unverified(root),
    };
    let mut sink = Sink::default();
    SqsEncoder::new(&SqsOptions::default(), &cx)
        .encode(root, &mut sink)
        .map_err(|e| e.to_string())?;
    let mut v = sink.0;
    v.sort();
    Ok(v)
}

fn decode(
    recs: &[(Vec<u8>, Vec<u8>)],
    options: &SqsOptions,
    budget: usize,
) -> Result<(MemTree, Warnings), String> {
    let cx = DecodeContext {
        scratch_dir: std::env::temp_dir(),
    };
    let mut d = SqsDecoder::new(options, &cx).with_budget(budget);
    let mut tree = MemTree::new();
    let mut w = Warnings::new();
    for (k, v) in recs {
        let rec = Record::routed(k, v).ok_or("unrouted key")?;
        d.handle(&mut tree, &mut w, &rec).map_err(|e| e.to_string())?;
    }
    d.finalize(&mut tree, &mut w).map_err(|e| e.to_string())?;
    Ok((tree, w))
}

#[derive(Debug, Clone)]
struct Q {
    meta: QueueMeta,
    msgs: Vec<Message>,
}

fn attr() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Canonical as Go stores it: compact, HTML and U+2028/U+2029 escaped.
        ("[A-Za-z.]{1,12}", "\\PC{0,8}").prop_map(|(t, s)| {
            let v = serde_json::json!({"DataType": format!("String{t}"), "StringValue": s});
            ekv_snapshot::dump::json::to_vec(&v, ekv_snapshot::dump::json::JsonStyle::MARSHAL)
        }),
        proptest::collection::vec(any::<u8>(), 1..6).prop_map(|b| {
            use base64::Engine;
            format!(
                r#"{{"DataType":"Binary.x","BinaryValue":"{}"}}"#,
                base64::engine::general_purpose::STANDARD.encode(b)
            )
            .into_bytes()
        }),
    ]
}

fn queue() -> impl Strategy<Value = Q> {
    let kind = prop_oneof![Just(0u8), Just(1u8), Just(2u8)]; // standard, FIFO, partitioned FIFO
    (
        kind,
        "[A-Za-z0-9_-]{1,12}",
        any::<bool>(),
        0i64..100,
        "[a-z<>&\"]{0,6}",
        0u32..3,
    )
        .prop_flat_map(|(kind, name, cbd, vis, policy, pc_log)| {
            let count = if kind == 2 { 2u32 << pc_log } else { 0 };
            let meta = QueueMeta {
                name: if kind == 0 { name } else { format!("{name}.fifo") },
                fifo: kind > 0,
                content_based_deduplication: kind > 0 && cbd,
                visibility_timeout_seconds: vis,
                message_retention_seconds: 345_600,
                maximum_message_size: 262_144,
                redrive_policy: policy,
                partition_count: count,
                fifo_throughput_limit: if kind == 2 {
                    "perMessageGroupId".into()
                } else {
                    String::new()
                },
                ..QueueMeta::default()
            };
            let msg = (
                proptest::collection::vec(any::<u8>(), 0..24),
                proptest::collection::btree_map("[A-Za-z<&]{1,5}", attr(), 0..3),
                -5i64..50,
                0i64..3,
                "[a-c]{0,2}",
                "[a-c]{0,2}",
                0u64..20,
                "[ -~]{0,6}",
            );
            (Just(meta), proptest::collection::vec(msg, 0..6))
        })
        .prop_map(|(meta, raw)| {
            let msgs = raw
                .into_iter()
                .enumerate()
                .map(|(i, (body, attrs, send, delay, group, dedup, seq, sender))| {
                    let fifo = meta.fifo;
                    let group = if fifo { format!("g{group}") } else { String::new() };
                    let partition = (meta.partition_count > 1)
                        .then(|| partition_for(meta.partition_count, &meta.fifo_throughput_limit, &group));
                    Message {
                        message_id: format!("id-{i}"),
                        body: Some(body),
                        md5_of_body: "x".into(),
                        message_attributes: attrs.into_iter().collect(),
                        sender_id: sender,
                        send_timestamp_millis: send,
                        available_at_millis: send + delay,
                        queue_generation: 1,
                        message_group_id: group,
                        message_deduplication_id: if fifo { dedup } else { String::new() },
                        sequence_number: if fifo { seq } else { 0 },
                        partition,
                        ..Message::default()
                    }
                })
                .collect();
            Q { meta, msgs }
        })
}

/// Write the queues as our decoder would, and return the expected files.
fn write_tree(root: &Path, queues: &BTreeMap<String, Q>) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for q in queues.values() {
        let dir = format!(
            "sqs/{}",
            ekv_snapshot::dump::encode_segment(q.meta.name.as_bytes()).name
        );
        files.insert(format!("{dir}/_queue.json"), q.meta.public_json());
        let mut msgs = q.msgs.clone();
        msgs.sort_by(|a, b| {
            (
                a.send_timestamp_millis,
                a.sequence_number,
                a.message_id.as_bytes(),
            )
                .cmp(&(
                    b.send_timestamp_millis,
                    b.sequence_number,
                    b.message_id.as_bytes(),
                ))
        });
        if !msgs.is_empty() {
            let mut lines = Vec::new();
            for m in &msgs {
                m.write_dump_line(&mut lines);
            }
            files.insert(format!("{dir}/messages.jsonl"), lines);
        }
    }
    for (rel, bytes) in &files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    files
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn tree_records_tree(queues in proptest::collection::vec(queue(), 0..4)) {
        let queues: BTreeMap<String, Q> = queues.into_iter().map(|q| (q.meta.name.clone(), q)).collect();
        let d = tempfile::tempdir().unwrap();
        let want = write_tree(d.path(), &queues);
        let recs = encode(d.path()).map_err(TestCaseError::fail)?;
        // Our own stream order: the snapshot is sorted by key.
        let (tree, warnings) = decode(&recs, &SqsOptions::default(), 1 << 20).map_err(TestCaseError::fail)?;
        prop_assert!(warnings.is_empty(), "{:?}", warnings);
        prop_assert_eq!(&tree.files, &want);
        // The smallest sort budget gives the same tree.
        let (small, _) = decode(&recs, &SqsOptions::default(), 0).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&small.files, &want);
        // records → tree → records.
        let d2 = tempfile::tempdir().unwrap();
        for (rel, bytes) in &tree.files {
            let p = d2.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        prop_assert_eq!(encode(d2.path()).map_err(TestCaseError::fail)?, recs);
    }

    #[test]
    fn arbitrary_records_never_panic(
        recs in proptest::collection::vec((0usize..9, proptest::collection::vec(any::<u8>(), 0..40), proptest::collection::vec(any::<u8>(), 0..60)), 0..12),
        flags in (any::<bool>(), any::<bool>()),
    ) {
        let mut v: Vec<(Vec<u8>, Vec<u8>)> = recs
            .into_iter()
            .map(|(r, k, val)| {
                let route = &ROUTES[r % ROUTES.len()];
                let mut key = route.prefix.to_vec();
                key.extend_from_slice(&k);
                // Half the values carry a magic, so the JSON parsers run too.
                let val = match val.first() {
                    Some(b) if b % 2 == 0 => [keys::MSG_MAGIC, &val].concat(),
                    Some(b) if b % 3 == 0 => [keys::META_MAGIC, &val].concat(),
                    _ => val,
                };
                (key, val)
            })
            .collect();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        let options = SqsOptions { preserve_visibility: flags.0, include_side_records: flags.1 };
        let _ = decode(&v, &options, 0);
    }

    #[test]
    fn arbitrary_dump_files_never_panic(
        queue_json in proptest::collection::vec(any::<u8>(), 0..80),
        messages in proptest::collection::vec(any::<u8>(), 0..200),
        valid_queue in any::<bool>(),
    ) {
        let d = tempfile::tempdir().unwrap();
        let q = d.path().join("sqs/q");
        std::fs::create_dir_all(&q).unwrap();
        let qj = if valid_queue {
            br#"{"format_version":1,"name":"q.fifo","fifo":true,"content_based_deduplication":true,"partition_count":2}"#.to_vec()
        } else {
            queue_json
        };
        std::fs::write(q.join("_queue.json"), qj).unwrap();
        std::fs::write(q.join("messages.jsonl"), messages).unwrap();
        let _ = encode(d.path());
    }
}
