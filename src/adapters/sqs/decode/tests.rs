use super::*;
use crate::dump::MemTree;

fn decoder(preserve: bool, side: bool) -> SqsDecoder {
    let o = SqsOptions {
        preserve_visibility: preserve,
        include_side_records: side,
    };
    let cx = DecodeContext {
        scratch_dir: std::env::temp_dir(),
    };
    SqsDecoder::new(&o, &cx)
}

fn feed(d: &mut SqsDecoder, key: &[u8], value: &[u8]) -> Result<(), AdapterError> {
    let rec = Record::routed(key, value).expect("an sqs key");
    d.handle(&mut MemTree::new(), &mut Warnings::new(), &rec)?;
    d.settle()
}

fn meta_value(json: &str) -> Vec<u8> {
    [keys::META_MAGIC, json.as_bytes()].concat()
}

fn msg_value(json: &str) -> Vec<u8> {
    [keys::MSG_MAGIC, json.as_bytes()].concat()
}

#[test]
fn bad_records_are_typed_errors_naming_the_key() {
    use crate::adapters::sqs::values::{FieldType, JsonType};
    use keys::SegmentError;
    let data = keys::msg_data_key("q", Lane::Classic, 1, "m");
    let record = |e: &AdapterError| e.cause::<RecordError>().cloned();
    let layout = |e: &AdapterError| e.cause::<KeyError>().cloned();
    let cases: Vec<(Vec<u8>, Vec<u8>, &str)> = vec![
        (
            keys::queue_meta_key("q"),
            b"{\"name\":\"q\"}".to_vec(),
            "queue meta value without the 00 'S' 'Q' 01 magic",
        ),
        (
            keys::queue_meta_key("q"),
            meta_value("{\"name\":5}"),
            "queue meta: field `name`: expected a string, found a number",
        ),
        (
            b"!sqs|queue|meta|a".to_vec(),
            meta_value("{}"),
            "queue segment: invalid base64url",
        ),
        (
            keys::queue_gen_key("q"),
            b"x1".to_vec(),
            "generation counter \"x1\" is not a decimal u64",
        ),
        (keys::queue_gen_key("q"), b"-1".to_vec(), "generation counter"),
        (keys::queue_gen_key("q"), b"+1".to_vec(), "generation counter"),
        (
            data.clone(),
            b"{}".to_vec(),
            "message value without the 00 'S' 'M' 01 magic",
        ),
        (
            data.clone(),
            msg_value("{\"body\":5}"),
            "message: field `body`: expected a base64 string, found a number",
        ),
        (data, msg_value("not json"), "message: "),
        (
            b"!sqs|msg|data|cQ".to_vec(),
            msg_value("{}"),
            "queue segment or message-id segment not found",
        ),
        (
            b"!sqs|msg|data|p|cQ|\0\0\0\x01".to_vec(),
            msg_value("{}"),
            "partitioned key: trailer shorter than partition and generation",
        ),
    ];
    let mut errors = Vec::new();
    for (k, v, text) in cases {
        let err = feed(&mut decoder(false, false), &k, &v).unwrap_err();
        assert!(
            matches!(&err, AdapterError::BadRecord { adapter: "sqs", source, .. } if source.to_string().starts_with(text)),
            "{err}"
        );
        errors.push(err);
    }
    assert_eq!(record(&errors[0]), Some(RecordError::MetaMagic));
    assert_eq!(
        record(&errors[1]),
        Some(RecordError::QueueMeta(ValueError::FieldType {
            field: "name",
            expected: FieldType::String,
            found: JsonType::Number,
        }))
    );
    assert!(matches!(
        layout(&errors[2]),
        Some(KeyError::Segment {
            segment: SegmentName::Queue,
            error: SegmentError::Base64 { .. }
        })
    ));
    for (e, text) in errors[3..6].iter().zip(["x1", "-1", "+1"]) {
        assert_eq!(
            record(e),
            Some(RecordError::Generation {
                text: text.to_owned()
            })
        );
    }
    assert_eq!(record(&errors[6]), Some(RecordError::MessageMagic));
    assert!(matches!(
        record(&errors[7]),
        Some(RecordError::Message(ValueError::FieldType {
            field: "body",
            expected: FieldType::Bytes,
            found: JsonType::Number,
        }))
    ));
    assert!(matches!(
        record(&errors[8]),
        Some(RecordError::Message(ValueError::Json { .. }))
    ));
    assert_eq!(layout(&errors[9]), Some(KeyError::DataSegments));
    assert_eq!(layout(&errors[10]), Some(KeyError::PartitionedTrailer));
    // Side records are parsed only when they are dumped.
    let trailerless = b"!sqs|msg|vis|cQ";
    assert!(feed(&mut decoder(false, false), trailerless, b"m").is_ok());
    let e = feed(&mut decoder(false, true), trailerless, b"m").unwrap_err();
    assert_eq!(layout(&e), Some(KeyError::SideTrailer));
    let e = feed(&mut decoder(false, true), b"!sqs|queue|seq|", b"1").unwrap_err();
    assert_eq!(layout(&e), Some(KeyError::EmptyQueue));
    let rec = Record {
        user_key: b"!sqs|x",
        value: b"",
        commit_ts: 0,
        expire_at: 0,
        tag: 200,
        prefix_len: 0,
    };
    let e = decoder(false, false)
        .handle(&mut MemTree::new(), &mut Warnings::new(), &rec)
        .unwrap_err();
    assert_eq!(record(&e), Some(RecordError::Tag { tag: 200 }));
    assert_eq!(e.to_string(), "sqs: key !sqs|x: unknown SQS route tag 200");
    // A key handed to the wrong kind.
    let e = decoder(false, false)
        .handle_kind(Kind::QueueMeta, b"!sqs|msg|data|x", b"")
        .unwrap_err();
    assert_eq!(
        record(&e),
        Some(RecordError::Prefix {
            prefix: "!sqs|queue|meta|".to_owned()
        })
    );
    assert!(
        e.to_string()
            .ends_with("key does not start with \"!sqs|queue|meta|\""),
        "{e}"
    );
}

#[test]
fn visibility_is_zeroed_unless_preserved_and_partitions_are_kept() {
    let msg = r#"{"message_id":"m","body":"eA==","send_timestamp_millis":5,"available_at_millis":6,"visible_at_millis":9,"receive_count":2,"first_receive_millis":7,"current_receipt_token":"AQ==","queue_generation":1,"message_group_id":"g","sequence_number":4}"#;
    for preserve in [false, true] {
        let mut d = decoder(preserve, false);
        let mut tree = MemTree::new();
        let mut w = Warnings::new();
        for (k, v) in [
            (
                keys::msg_data_key("q.fifo", Lane::Partition(1), 1, "m"),
                msg_value(msg),
            ),
            (
                keys::queue_meta_key("q.fifo"),
                meta_value(r#"{"name":"","is_fifo":true,"partition_count":2}"#),
            ),
        ] {
            d.handle(&mut tree, &mut w, &Record::routed(&k, &v).unwrap())
                .unwrap();
        }
        d.finalize(&mut tree, &mut w).unwrap();
        assert!(w.is_empty());
        let want = if preserve {
            "{\"message_id\":\"m\",\"body\":\"x\",\"send_timestamp_millis\":5,\"available_at_millis\":6,\"visible_at_millis\":9,\"receive_count\":2,\"first_receive_millis\":7,\"current_receipt_token\":\"AQ==\",\"queue_generation\":1,\"message_group_id\":\"g\",\"sequence_number\":4,\"partition\":1}\n"
        } else {
            "{\"message_id\":\"m\",\"body\":\"x\",\"send_timestamp_millis\":5,\"available_at_millis\":6,\"visible_at_millis\":0,\"receive_count\":0,\"queue_generation\":1,\"message_group_id\":\"g\",\"sequence_number\":4,\"partition\":1}\n"
        };
        assert_eq!(tree.text("sqs/q.fifo/messages.jsonl"), want);
        // The empty JSON name is replaced by the key's.
        assert!(tree
            .text("sqs/q.fifo/_queue.json")
            .contains("\"name\": \"q.fifo\""));
    }
}

#[test]
fn messages_sort_by_send_time_sequence_and_id_and_stale_generations_drop() {
    let mut d = decoder(false, false);
    let mut tree = MemTree::new();
    let mut w = Warnings::new();
    let m = |id: &str, ts: i64, seq: u64, gen: u64| {
        (
            keys::msg_data_key("q", Lane::Classic, gen, id),
            msg_value(&format!(
                r#"{{"message_id":"{id}","body":"","send_timestamp_millis":{ts},"sequence_number":{seq},"queue_generation":{gen}}}"#
            )),
        )
    };
    let recs = vec![
        m("b", 10, 0, 2),
        m("a", 10, 0, 2),
        m("c", 5, 9, 2),
        m("d", 5, 1, 2),
        m("e", -3, 0, 2),
        m("old", 1, 0, 1),
        (keys::queue_gen_key("q"), b" 2\n".to_vec()),
        (keys::queue_meta_key("q"), meta_value(r#"{"name":"q"}"#)),
        (keys::queue_gen_key("gone"), b"4".to_vec()),
    ];
    for (k, v) in &recs {
        d.handle(&mut tree, &mut w, &Record::routed(k, v).unwrap())
            .unwrap();
    }
    d.finalize(&mut tree, &mut w).unwrap();
    let ids: Vec<String> = tree
        .text("sqs/q/messages.jsonl")
        .lines()
        .map(|l| l.split('"').nth(3).unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["e", "d", "c", "a", "b"]);
    let events: Vec<&str> = w.iter().map(|w| w.event).collect();
    // Queues finish in key-segment order: `Z29uZQ` (gone) before `cQ` (q).
    assert_eq!(
        events,
        ["sqs_orphan_messages", "sqs_stale_generation_messages_dropped"]
    );
    assert_eq!(w[1].fields[2], ("dropped", "1".to_owned()));
}

#[test]
fn output_failures_surface_as_errors() {
    let mut d = decoder(false, false);
    let mut tree = MemTree::new();
    tree.fail_on = Some("messages.jsonl".into());
    let mut w = Warnings::new();
    for (k, v) in [
        (
            keys::msg_data_key("q", Lane::Classic, 1, "m"),
            msg_value(r#"{"message_id":"m"}"#),
        ),
        (keys::queue_meta_key("q"), meta_value(r#"{"name":"q"}"#)),
    ] {
        d.handle(&mut tree, &mut w, &Record::routed(&k, &v).unwrap())
            .unwrap();
    }
    assert!(matches!(
        d.finalize(&mut tree, &mut w),
        Err(AdapterError::Dump(_))
    ));
}

#[test]
fn the_queue_directory_is_named_by_the_keys_raw_name_bytes() {
    let mut d = decoder(false, false);
    let mut tree = MemTree::new();
    let mut w = Warnings::new();
    let k = [keys::QUEUE_META_PREFIX, keys::b64u(b"q\xff").as_bytes()].concat();
    let v = meta_value(r#"{"name":"shown"}"#);
    d.handle(&mut tree, &mut w, &Record::routed(&k, &v).unwrap())
        .unwrap();
    d.finalize(&mut tree, &mut w).unwrap();
    assert!(tree.text("sqs/q%FF/_queue.json").contains("\"name\": \"shown\""));
}

/// Records of three queues (one FIFO, one partitioned), messages before metas as in a
/// snapshot; `bad` replaces the value of the message at that index with broken JSON.
fn many_records(bad: &[usize]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut recs = Vec::new();
    for i in 0..400usize {
        let (q, lane) = match i % 3 {
            0 => ("a", Lane::Classic),
            1 => ("b.fifo", Lane::Classic),
            _ => ("c.fifo", Lane::Partition((i % 4) as u32)),
        };
        let id = format!("m{i:04}");
        let json = if bad.contains(&i) {
            format!("{{\"message_id\":\"{id}\",\"body\":{i}}}")
        } else {
            format!(
                r#"{{"message_id":"{id}","body":"PGI+{}","send_timestamp_millis":{},"sequence_number":{},"queue_generation":1,"message_attributes":{{"n":{{"DataType":"Number","StringValue":"{i}"}}}}}}"#,
                "QUJD".repeat(i % 7),
                1000 + (i * 7919) % 97,
                i % 5
            )
        };
        recs.push((keys::msg_data_key(q, lane, 1, &id), msg_value(&json)));
        if i % 50 == 0 {
            recs.push((keys::msg_vis_key(q, lane, 1, i as i64, &id), b"v".to_vec()));
        }
    }
    for q in ["a", "b.fifo", "c.fifo"] {
        recs.push((keys::queue_meta_key(q), meta_value(r#"{"name":""}"#)));
    }
    recs
}

fn run_many(
    recs: &[(Vec<u8>, Vec<u8>)],
    threads: usize,
    batch: usize,
    side: bool,
) -> Result<(MemTree, Vec<String>), AdapterError> {
    let mut d = decoder(false, side)
        .threads(threads)
        .with_batch_bytes(batch)
        .with_budget(16 << 10);
    let mut tree = MemTree::new();
    let mut w = Warnings::new();
    for (k, v) in recs {
        d.handle(&mut tree, &mut w, &Record::routed(k, v).unwrap())?;
    }
    d.finalize(&mut tree, &mut w)?;
    Ok((tree, w.iter().map(|w| format!("{w:?}")).collect()))
}

#[test]
fn tree_warnings_and_first_error_are_the_same_for_any_thread_count_and_batch() {
    for side in [false, true] {
        let recs = many_records(&[]);
        let (one, w1) = run_many(&recs, 1, 1 << 30, side).unwrap();
        assert_eq!(one.text("sqs/a/messages.jsonl").lines().count(), 134);
        assert_eq!(one.file("sqs/a/_internals/side_records.jsonl").is_some(), side);
        for (threads, batch) in [(1, 1), (2, 700), (3, 4096), (8, 1 << 30), (4, 50_000)] {
            let (many, wn) = run_many(&recs, threads, batch, side).unwrap();
            assert_eq!(one.files, many.files, "{threads} threads, batch {batch}");
            assert_eq!(w1, wn);
        }
    }
    // The first bad message in record order is the error, however the batches fall.
    let recs = many_records(&[123, 7, 300]);
    for (threads, batch) in [(1, 1 << 30), (1, 1), (2, 700), (3, 4096), (8, 1 << 30)] {
        let e = run_many(&recs, threads, batch, false).unwrap_err();
        assert!(
            e.to_string().contains("bTAwMDc"),
            "{threads} threads, batch {batch}: {e}"
        );
    }
}

#[test]
fn staging_buffers_are_reused_at_the_batch_size() {
    let recs = many_records(&[]);
    let batch = 700;
    let mut d = decoder(false, true).with_batch_bytes(batch);
    let (mut tree, mut w) = (MemTree::new(), Warnings::new());
    for (k, v) in &recs {
        d.handle(&mut tree, &mut w, &Record::routed(k, v).unwrap())
            .unwrap();
        for staged in [&d.staging, &d.spare] {
            assert!(staged.bytes.capacity() <= batch, "{}", staged.bytes.capacity());
        }
    }
    d.finalize(&mut tree, &mut w).unwrap();
    // A record longer than a batch is a batch of its own.
    let mut d = decoder(false, false).with_batch_bytes(10);
    let (k, v) = &recs[0];
    d.handle(&mut tree, &mut w, &Record::routed(k, v).unwrap())
        .unwrap();
    d.settle().unwrap();
    assert_eq!(d.spare.bytes.capacity(), k.len() + v.len());
}

#[test]
fn rendered_buffers_are_reused_across_batches() {
    let recs = many_records(&[]);
    for threads in [1, 3] {
        let batch = 8192;
        let mut d = decoder(false, true).threads(threads).with_batch_bytes(batch);
        let (mut tree, mut w) = (MemTree::new(), Warnings::new());
        for (k, v) in &recs {
            d.handle(&mut tree, &mut w, &Record::routed(k, v).unwrap())
                .unwrap();
        }
        d.settle().unwrap();
        let sink = d.sink.as_ref().unwrap();
        // One worker takes back the buffer it gave; several hold at most a batch's jobs (its
        // records are over 100 bytes each), not one per job of the decode.
        let most = if threads == 1 {
            1
        } else {
            (batch / 100).div_ceil(RENDER_CHUNK)
        };
        assert!(
            (1..=most).contains(&sink.pool.len()),
            "{threads} threads: {} buffers",
            sink.pool.len()
        );
        assert!(sink
            .pool
            .iter()
            .all(|r| r.bytes.is_empty() && r.records.is_empty()));
        d.finalize(&mut tree, &mut w).unwrap();
    }
}

#[test]
fn a_staged_records_error_wins_over_a_later_one() {
    let bad = msg_value(r#"{"body":5}"#);
    let data = keys::msg_data_key("q", Lane::Classic, 1, "m");
    // A bad meta after a bad message: the message's error, as in record order.
    let mut d = decoder(false, false);
    let mut tree = MemTree::new();
    let mut w = Warnings::new();
    d.handle(&mut tree, &mut w, &Record::routed(&data, &bad).unwrap())
        .unwrap();
    let meta = keys::queue_meta_key("q");
    let e = d
        .handle(&mut tree, &mut w, &Record::routed(&meta, b"x").unwrap())
        .unwrap_err();
    assert!(
        matches!(e.cause::<RecordError>(), Some(RecordError::Message(_))),
        "{e}"
    );
    // Settled (the stream stopped with an error of its own): the staged error.
    let mut d = decoder(false, false);
    d.handle(&mut tree, &mut w, &Record::routed(&data, &bad).unwrap())
        .unwrap();
    assert!(d.settle().is_err());
    // Finalize after a failed batch neither hangs nor panics.
    assert!(d.finalize(&mut tree, &mut w).is_ok());
    // A batch's error is reported once: records staged after it are not rendered, so a
    // later settle does not replace the first error with a later one.
    let mut d = decoder(false, false).with_batch_bytes(1);
    let later = keys::msg_data_key("q", Lane::Classic, 1, "later");
    d.handle(&mut tree, &mut w, &Record::routed(&data, &bad).unwrap())
        .unwrap();
    let e = d
        .handle(&mut tree, &mut w, &Record::routed(&later, &bad).unwrap())
        .unwrap_err();
    assert!(
        e.to_string().contains(&crate::container::display_key(&data)),
        "{e}"
    );
    assert!(d.settle().is_ok());
    assert!(d.finalize(&mut tree, &mut w).is_ok());
}
