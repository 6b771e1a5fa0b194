use std::path::PathBuf;

use super::*;
use crate::adapters::SinkError;

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

fn tree(queue_json: &str, messages: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let q = d.path().join("sqs/dir");
    std::fs::create_dir_all(&q).unwrap();
    std::fs::write(q.join("_queue.json"), queue_json).unwrap();
    if let Some(m) = messages {
        std::fs::write(q.join("messages.jsonl"), m).unwrap();
    }
    let root = d.path().to_path_buf();
    (d, root)
}

fn encode(root: &Path) -> Result<Records, AdapterError> {
    let mut sink = Sink::default();
    let cx = EncodeContext {
        threads: 1,
        scratch_dir: std::env::temp_dir(),
        reader: crate::dump::checksums::TreeReader::unverified(root),
    };
    SqsEncoder::new(&Default::default(), &cx).encode(root, &mut sink)?;
    let mut v = sink.0;
    v.sort();
    Ok(v)
}

fn err_text(queue_json: &str, messages: Option<&str>) -> String {
    let (_d, root) = tree(queue_json, messages);
    match encode(&root) {
        Err(e @ AdapterError::BadFile { .. }) => e.to_string(),
        other => panic!("expected BadFile, got {other:?}"),
    }
}

const FIFO: &str = r#"{"format_version":1,"name":"q.fifo","fifo":true}"#;
const CBD: &str = r#"{"format_version":1,"name":"q.fifo","fifo":true,"content_based_deduplication":true}"#;
const HT: &str = r#"{"format_version":1,"name":"q.fifo","fifo":true,"partition_count":2,"fifo_throughput_limit":"perMessageGroupId"}"#;
const HT_PER_QUEUE: &str = r#"{"format_version":1,"name":"q.fifo","fifo":true,"partition_count":2,"fifo_throughput_limit":"perQueue"}"#;

#[test]
fn queue_files_are_validated_as_go_does() {
    let bad = [
        (
            r#"{"format_version":99,"name":"q"}"#,
            "unsupported format_version 99",
        ),
        (r#"{"name":"q"}"#, "unsupported format_version 0"),
        (r#"{"format_version":1}"#, "empty queue name"),
        (
            r#"{"format_version":1,"name":"q","fifo":true,"fifo_throughput_limit":"x"}"#,
            "fifo_throughput_limit",
        ),
        (
            r#"{"format_version":1,"name":"q","fifo":true,"deduplication_scope":"x"}"#,
            "deduplication_scope",
        ),
        (
            r#"{"format_version":1,"name":"q","fifo":true,"partition_count":3}"#,
            "power of two",
        ),
        (
            r#"{"format_version":1,"name":"q","fifo":true,"partition_count":64}"#,
            "exceeds max",
        ),
        (
            r#"{"format_version":1,"name":"q","partition_count":2}"#,
            "only valid on FIFO",
        ),
        (
            r#"{"format_version":1,"name":"q","fifo_throughput_limit":"perQueue"}"#,
            "only valid on FIFO",
        ),
        (
            r#"{"format_version":1,"name":"q","deduplication_scope":"queue"}"#,
            "only valid on FIFO",
        ),
        (
            r#"{"format_version":1,"name":"q","fifo":true,"partition_count":2,"deduplication_scope":"queue"}"#,
            "incompatible",
        ),
        (
            r#"{"format_version":1,"name":"q","fifo":true,"fifo_throughput_limit":"perMessageGroupId"}"#,
            "requires partition_count",
        ),
        (r#"{"format_version":1,"name":5}"#, "field `name`"),
        ("", "invalid _queue.json"),
    ];
    for (json, want) in bad {
        let text = err_text(json, None);
        assert!(
            text.contains("_queue.json") && text.contains(want),
            "{json}: {text}"
        );
    }
    for n in [2, 4, 8, 16, 32] {
        let json = format!(r#"{{"format_version":1,"name":"q","fifo":true,"partition_count":{n}}}"#);
        let (_d, root) = tree(&json, None);
        assert_eq!(encode(&root).unwrap().len(), 2);
    }
}

#[test]
fn message_gates_name_the_file_and_line() {
    let cases = [
        (
            FIFO,
            "{\"message_id\":\"a\"}\n{\"message_id\":\"\"}",
            "line 2: message missing message_id",
        ),
        (
            FIFO,
            "{\"message_id\":\"a\",\"partition\":2}",
            "line 1: classic queue message",
        ),
        (
            HT,
            "\n{\"message_id\":\"a\"}",
            "line 2: message \"a\" of a partitioned queue",
        ),
        (HT, "{\"message_id\":\"a\",\"partition\":2}", "out of range"),
        (HT_PER_QUEUE, "{\"message_id\":\"a\",\"partition\":1}", "perQueue"),
        (
            HT,
            "{\"message_id\":\"a\",\"message_group_id\":\"g0\",\"partition\":1}",
            "partitionFor",
        ),
        (
            FIFO,
            "{\"message_id\":\"a\",\"body\":{}}",
            "body object missing base64",
        ),
        (
            FIFO,
            "{\"message_id\":\"a\",\"body\":{\"oops\":\"x\"}}",
            "unknown field",
        ),
        (
            FIFO,
            "{\"message_id\":\"a\"}\n[]",
            "line 2: expected a JSON object",
        ),
        (FIFO, "{\"message_id\":", "unexpected end of file"),
        (FIFO, "{\"message_id\":x}", "line 1"),
    ];
    for (q, m, want) in cases {
        let text = err_text(q, Some(m));
        assert!(
            text.contains("messages.jsonl") && text.contains(want),
            "{m}: {text}"
        );
    }
}

#[test]
fn standard_queues_get_data_vis_and_byage_only() {
    let (_d, root) = tree(
        r#"{"format_version":1,"name":"std"}"#,
        Some("{\"message_id\":\"m\",\"body\":\"x\",\"send_timestamp_millis\":5,\"available_at_millis\":-7,\"message_deduplication_id\":\"d\",\"sequence_number\":3}"),
    );
    let recs = encode(&root).unwrap();
    let keys: Vec<Vec<u8>> = recs.iter().map(|r| r.0.clone()).collect();
    assert_eq!(
        keys,
        vec![
            keys::msg_byage_key("std", Lane::Classic, 1, 5, "m"),
            keys::msg_data_key("std", Lane::Classic, 1, "m"),
            keys::msg_vis_key("std", Lane::Classic, 1, 0, "m"),
            keys::queue_gen_key("std"),
            keys::queue_meta_key("std"),
        ]
    );
    assert_eq!(recs[0].1, b"m");
    assert_eq!(recs[3].1, b"1");
}

#[test]
fn fifo_dedup_winners_and_sequence_counter() {
    // Classic: the winner key ignores the group; the strictly latest send wins, ties keep
    // the first line.
    let (_d, root) = tree(
        FIFO,
        Some(concat!(
            "{\"message_id\":\"a\",\"message_group_id\":\"g\",\"message_deduplication_id\":\"d\",\"send_timestamp_millis\":5,\"sequence_number\":1}\n",
            "{\"message_id\":\"b\",\"message_group_id\":\"h\",\"message_deduplication_id\":\"d\",\"send_timestamp_millis\":9,\"sequence_number\":2}\n",
            "{\"message_id\":\"c\",\"message_group_id\":\"h\",\"message_deduplication_id\":\"d\",\"send_timestamp_millis\":9,\"sequence_number\":7}\n",
            "{\"message_id\":\"e\",\"message_group_id\":\"h\",\"send_timestamp_millis\":9,\"sequence_number\":3}\n",
        )),
    );
    let recs = encode(&root).unwrap();
    let dedup: Vec<_> = recs
        .iter()
        .filter(|r| r.0.starts_with(keys::MSG_DEDUP_PREFIX))
        .collect();
    assert_eq!(dedup.len(), 1);
    assert_eq!(
        dedup[0].0,
        keys::msg_dedup_key("q.fifo", Lane::Classic, 1, "", "d")
    );
    assert_eq!(
        dedup[0].1,
        br#"{"message_id":"b","send_timestamp_ms":9,"expires_at_millis":300009,"original_sequence":2}"#
    );
    let seq = recs
        .iter()
        .find(|r| r.0 == keys::queue_seq_key("q.fifo"))
        .unwrap();
    assert_eq!(seq.1, b"7");
    assert!(!recs.iter().any(|r| r.0.starts_with(keys::MSG_GROUP_PREFIX)));

    // Content-based: the id is hex(sha256(body)).
    let (_d, root) = tree(
        CBD,
        Some("{\"message_id\":\"a\",\"body\":\"x\",\"sequence_number\":1}"),
    );
    let recs = encode(&root).unwrap();
    let want = keys::msg_dedup_key(
        "q.fifo",
        Lane::Classic,
        1,
        "",
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
    );
    assert!(recs.iter().any(|r| r.0 == want));

    // An empty FIFO queue has no sequence counter.
    let (_d, root) = tree(FIFO, None);
    assert_eq!(encode(&root).unwrap().len(), 2);
}

#[test]
fn partitioned_dedup_winners_keep_group_and_partition() {
    // g0 → 0 and g1 → 1 with two partitions. Equal send times: the smaller (seq, id) wins.
    let (_d, root) = tree(
        HT,
        Some(concat!(
            "{\"message_id\":\"b\",\"message_group_id\":\"g0\",\"message_deduplication_id\":\"d\",\"send_timestamp_millis\":5,\"sequence_number\":4,\"partition\":0}\n",
            "{\"message_id\":\"a\",\"message_group_id\":\"g0\",\"message_deduplication_id\":\"d\",\"send_timestamp_millis\":5,\"sequence_number\":3,\"partition\":0}\n",
            "{\"message_id\":\"c\",\"message_group_id\":\"g1\",\"message_deduplication_id\":\"d\",\"send_timestamp_millis\":1,\"sequence_number\":1,\"partition\":1}\n",
        )),
    );
    let recs = encode(&root).unwrap();
    let dedup: Vec<_> = recs
        .iter()
        .filter(|r| r.0.starts_with(keys::MSG_DEDUP_PREFIX))
        .collect();
    assert_eq!(dedup.len(), 2);
    assert_eq!(
        dedup[0].0,
        keys::msg_dedup_key("q.fifo", Lane::Partition(0), 1, "g0", "d")
    );
    assert!(dedup[0].1.starts_with(br#"{"message_id":"a""#));
    assert_eq!(
        dedup[1].0,
        keys::msg_dedup_key("q.fifo", Lane::Partition(1), 1, "g1", "d")
    );
    assert!(recs
        .iter()
        .any(|r| r.0 == keys::msg_data_key("q.fifo", Lane::Partition(1), 1, "c")));
    // A classic queue's explicit partition 0 still gives classic keys.
    let (_d, root) = tree(FIFO, Some("{\"message_id\":\"m\",\"partition\":0}"));
    let recs = encode(&root).unwrap();
    assert!(recs
        .iter()
        .any(|r| r.0 == keys::msg_data_key("q.fifo", Lane::Classic, 1, "m")));
}

#[test]
fn the_walk_ignores_files_and_refuses_links() {
    let d = tempfile::tempdir().unwrap();
    assert!(encode(d.path()).unwrap().is_empty()); // no sqs/
    let sqs = d.path().join("sqs");
    std::fs::create_dir_all(sqs.join("q")).unwrap();
    std::fs::write(sqs.join("notes.txt"), "x").unwrap();
    std::fs::write(sqs.join("q/_queue.json"), r#"{"format_version":1,"name":"q"}"#).unwrap();
    std::fs::create_dir_all(sqs.join("q/_internals")).unwrap();
    std::fs::write(sqs.join("q/_internals/side_records.jsonl"), "garbage").unwrap();
    assert_eq!(encode(d.path()).unwrap().len(), 2);
    // `_queue.json` as a directory, or missing, or a symlinked messages file: refused.
    std::fs::create_dir_all(sqs.join("r/_queue.json")).unwrap();
    assert!(encode(d.path()).is_err());
    std::fs::remove_dir(sqs.join("r/_queue.json")).unwrap();
    assert!(encode(d.path()).is_err());
    std::fs::remove_dir(sqs.join("r")).unwrap();
    std::os::unix::fs::symlink(sqs.join("q/_queue.json"), sqs.join("q/messages.jsonl")).unwrap();
    assert!(encode(d.path()).is_err());
    std::fs::remove_file(sqs.join("q/messages.jsonl")).unwrap();
    std::os::unix::fs::symlink(sqs.join("q"), sqs.join("link")).unwrap();
    assert!(matches!(encode(d.path()), Err(AdapterError::BadFile { .. })));
}

/// The records in emission order, with the dedup candidates' budget `budget`.
fn encode_with_budget(root: &Path, budget: usize) -> Result<Records, AdapterError> {
    let mut sink = Sink::default();
    let cx = EncodeContext {
        threads: 1,
        scratch_dir: root.to_path_buf(),
        reader: crate::dump::checksums::TreeReader::unverified(root),
    };
    let mut enc = SqsEncoder::new(&Default::default(), &cx);
    enc.dedup_budget = budget;
    enc.encode(root, &mut sink)?;
    Ok(sink.0)
}

/// The dedup rows a straightforward in-memory fold of Go's rule gives: per dedup key the
/// strictly latest send, ties to the first line (classic) or the smallest (seq, id).
fn dedup_rows_in_memory(
    queue: &str,
    lines: &[(String, String, String, i64, u64, u32)],
    partitioned: bool,
) -> Records {
    let mut rows: std::collections::BTreeMap<Vec<u8>, (i64, u64, String)> = Default::default();
    for (id, group, dedup, send, seq, p) in lines {
        let lane = if partitioned {
            Lane::Partition(*p)
        } else {
            Lane::Classic
        };
        let key = keys::msg_dedup_key(queue, lane, 1, group, dedup);
        let cand = (*send, *seq, id.clone());
        match rows.get_mut(&key) {
            None => {
                rows.insert(key, cand);
            }
            Some(w) => {
                let earlier = partitioned && cand.0 == w.0 && (cand.1, &cand.2) < (w.1, &w.2);
                if cand.0 > w.0 || earlier {
                    *w = cand;
                }
            }
        }
    }
    rows.into_iter()
        .map(|(k, (send, seq, id))| (k, dedup_value(&id, send, seq)))
        .collect()
}

#[test]
fn dedup_candidates_beyond_the_budget_spill_and_give_the_same_winners() {
    for (queue_json, partitioned) in [(FIFO, false), (HT, true)] {
        // 300 messages over 40 dedup ids, send times with ties, groups g0 (partition 0)
        // and g1 (partition 1).
        let mut lines = Vec::new();
        let mut text = String::new();
        for i in 0u64..300 {
            let id = format!("m{:03}", (i * 37) % 300);
            let group = format!("g{}", (i / 3) % 2);
            let dedup = format!("d{}", (i * 13) % 40);
            let send = ((i * 7) % 5) as i64;
            let seq = (i * 11) % 17 + 1;
            let p = ((i / 3) % 2) as u32;
            let partition = if partitioned {
                format!(",\"partition\":{p}")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "{{\"message_id\":\"{id}\",\"message_group_id\":\"{group}\",\"message_deduplication_id\":\"{dedup}\",\"send_timestamp_millis\":{send},\"sequence_number\":{seq}{partition}}}\n"
            ));
            lines.push((id, group, dedup, send, seq, p));
        }
        let (_d, root) = tree(queue_json, Some(&text));
        let want = encode_with_budget(&root, DEDUP_SORT_BUDGET).unwrap();
        let rows: Records = want
            .iter()
            .filter(|r| r.0.starts_with(keys::MSG_DEDUP_PREFIX))
            .cloned()
            .collect();
        assert_eq!(rows, dedup_rows_in_memory("q.fifo", &lines, partitioned));
        // Classic: one row per dedup id; partitioned: per (partition, group, dedup id).
        if partitioned {
            assert!(rows.len() > 40, "{}", rows.len());
        } else {
            assert_eq!(rows.len(), 40);
        }
        for budget in [0, 100, 2000] {
            assert_eq!(
                encode_with_budget(&root, budget).unwrap(),
                want,
                "budget {budget}"
            );
        }
    }
}

/// The typed cause of an encode's error and its text.
fn cause_of(queue_json: &str, messages: Option<&str>) -> (SqsFileError, String) {
    let (_d, root) = tree(queue_json, messages);
    let e = encode(&root).unwrap_err();
    let cause = e.cause::<SqsFileError>().cloned();
    (
        cause.unwrap_or_else(|| panic!("not an SqsFileError: {e:?}")),
        e.to_string(),
    )
}

#[test]
fn errors_are_typed_and_keep_their_messages() {
    let (e, text) = cause_of(
        r#"{"format_version":1,"name":"q","fifo":true,"partition_count":2,"deduplication_scope":"queue"}"#,
        None,
    );
    assert!(
        matches!(e, SqsFileError::Queue(QueueError::QueueScopePartitioned(2))),
        "{e:?}"
    );
    assert!(
        text.ends_with(
            "_queue.json: invalid _queue.json: deduplication_scope \"queue\" is incompatible with partition_count 2"
        ),
        "{text}"
    );
    let (e, _) = cause_of(
        r#"{"format_version":1,"name":"q","fifo":true,"partition_count":64}"#,
        None,
    );
    assert_eq!(
        e.to_string(),
        "invalid _queue.json: partition_count 64 exceeds max 32"
    );
    assert!(matches!(
        e,
        SqsFileError::Queue(QueueError::TooManyPartitions { count: 64, max: 32 })
    ));
    let (e, _) = cause_of(r#"{"format_version":2,"name":"q"}"#, None);
    assert_eq!(e, SqsFileError::Queue(QueueError::FormatVersion(2)));
    let (e, _) = cause_of(
        r#"{"format_version":1,"name":"q","fifo":true,"fifo_throughput_limit":"perMessageGroupId"}"#,
        None,
    );
    assert_eq!(
        e.to_string(),
        "invalid _queue.json: fifo_throughput_limit \"perMessageGroupId\" requires partition_count > 1"
    );

    let (e, text) = cause_of(
        HT,
        Some("{\"message_id\":\"a\",\"message_group_id\":\"g0\",\"partition\":1}"),
    );
    assert!(matches!(
        &e,
        SqsFileError::Message {
            line: 1,
            error: MessageError::WrongPartition {
                partition: 1,
                want: 0,
                ..
            }
        }
    ));
    assert!(
        text.ends_with(
            "messages.jsonl: invalid messages.jsonl: line 1: message \"a\": partition 1 disagrees with partitionFor(\"g0\") = 0"
        ),
        "{text}"
    );
    let (e, _) = cause_of(HT, Some("\n{\"message_id\":\"a\"}"));
    assert_eq!(
        e.to_string(),
        "invalid messages.jsonl: line 2: message \"a\" of a partitioned queue (partition_count 2) has no partition field"
    );
    let (e, _) = cause_of(FIFO, Some("{\"message_id\":\"a\",\"partition\":2}"));
    assert_eq!(
        e.to_string(),
        "invalid messages.jsonl: line 1: classic queue message \"a\" has partition 2"
    );
    let (e, _) = cause_of(FIFO, Some("{\"message_id\":\"\"}"));
    assert!(matches!(
        e,
        SqsFileError::Message {
            line: 1,
            error: MessageError::MissingId
        }
    ));
    let (e, text) = cause_of(FIFO, Some("{\"message_id\":\"a\"}\n[]"));
    assert_eq!(
        e,
        SqsFileError::Message {
            line: 2,
            error: MessageError::Syntax(SyntaxError::NotObject { found: '[' })
        }
    );
    assert!(
        text.ends_with("invalid messages.jsonl: line 2: expected a JSON object, found '['"),
        "{text}"
    );
    let (e, _) = cause_of(FIFO, Some("{\"message_id\":"));
    assert_eq!(
        e,
        SqsFileError::Message {
            line: 1,
            error: MessageError::Syntax(SyntaxError::UnexpectedEof)
        }
    );
    let (e, text) = cause_of(FIFO, Some("{\"message_id\":\"a\",\"body\":{}}"));
    assert_eq!(
        e,
        SqsFileError::Message {
            line: 1,
            error: MessageError::Parse(ValueError::BodyMissingBase64)
        }
    );
    assert!(
        text.ends_with("invalid messages.jsonl: line 1: body object missing base64 field"),
        "{text}"
    );
    let (e, _) = cause_of(FIFO, Some("{\"message_id\":x}"));
    assert!(
        matches!(
            e,
            SqsFileError::Message {
                line: 1,
                error: MessageError::Parse(ValueError::Json { .. })
            }
        ),
        "{e:?}"
    );
    let (e, text) = cause_of(r#"{"format_version":1,"name":5}"#, None);
    assert!(
        matches!(
            e,
            SqsFileError::Queue(QueueError::Parse(ValueError::FieldType { field: "name", .. }))
        ),
        "{e:?}"
    );
    assert!(
        text.ends_with("invalid _queue.json: field `name`: expected a string, found a number"),
        "{text}"
    );
    let (e, _) = cause_of("", None);
    assert!(
        matches!(e, SqsFileError::Queue(QueueError::Parse(ValueError::Json { .. }))),
        "{e:?}"
    );

    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("sqs")).unwrap();
    std::os::unix::fs::symlink(d.path(), d.path().join("sqs/link")).unwrap();
    let e = encode(d.path()).unwrap_err();
    assert!(
        matches!(e.cause::<SqsFileError>(), Some(SqsFileError::Special)),
        "{e:?}"
    );
}

/// The records in emission order with `threads` workers and batches of `batch` bytes.
fn encode_threads(root: &Path, threads: usize, batch: usize) -> Result<Records, String> {
    let mut sink = Sink::default();
    let cx = EncodeContext {
        threads,
        scratch_dir: root.to_path_buf(),
        reader: crate::dump::checksums::TreeReader::unverified(root),
    };
    let mut enc = SqsEncoder::new(&Default::default(), &cx);
    enc.build_batch = batch;
    enc.dedup_budget = 4096;
    enc.encode(root, &mut sink).map_err(|e| e.to_string())?;
    Ok(sink.0)
}

#[test]
fn records_and_first_error_are_the_same_for_any_thread_count_and_batch() {
    let line = |i: usize| {
        format!(
            r#"{{"message_id":"m{i}","body":"b{}","send_timestamp_millis":{},"available_at_millis":{i},"message_group_id":"g{}","sequence_number":{}}}"#,
            i % 13,
            i % 17,
            i % 3,
            i + 1
        )
    };
    let good: Vec<String> = (0..300).map(line).collect();
    let queue = r#"{"format_version":1,"name":"q.fifo","fifo":true,"content_based_deduplication":true,"visibility_timeout_seconds":30,"message_retention_seconds":60,"delay_seconds":0}"#;
    let (_d, root) = tree(queue, Some(&(good.join("\n") + "\n")));
    let one = encode_threads(&root, 1, 1 << 30).unwrap();
    assert_eq!(one.len(), 2 + 300 * 3 + 13 + 1);
    for (threads, batch) in [(1, 1), (2, 500), (3, 4096), (8, 1 << 30)] {
        assert_eq!(
            encode_threads(&root, threads, batch).unwrap(),
            one,
            "{threads} threads, batch {batch}"
        );
    }
    // The first bad line wins, a syntax error after it included.
    let mut bad = good.clone();
    bad[40] = r#"{"message_id":"x","partition":2}"#.to_owned();
    bad[200] = r#"{"body":5}"#.to_owned();
    bad[250] = "{".to_owned();
    let (_d, root) = tree(queue, Some(&bad.join("\n")));
    let want = encode_threads(&root, 1, 1 << 30).unwrap_err();
    assert!(want.contains("line 41"), "{want}");
    for (threads, batch) in [(1, 1), (2, 500), (3, 4096), (8, 1 << 30)] {
        assert_eq!(encode_threads(&root, threads, batch).unwrap_err(), want);
    }
    // A syntax error after good lines: their records first, then the error.
    let (_d, root) = tree(queue, Some(&(good[..100].join("\n") + "\n{")));
    for (threads, batch) in [(1, 1 << 30), (2, 500), (8, 1)] {
        let e = encode_threads(&root, threads, batch).unwrap_err();
        assert!(e.contains("line 101"), "{e}");
    }
}
