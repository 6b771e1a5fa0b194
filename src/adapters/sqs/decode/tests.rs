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
    d.handle(&mut MemTree::new(), &mut Warnings::new(), &rec)
}

fn meta_value(json: &str) -> Vec<u8> {
    [keys::META_MAGIC, json.as_bytes()].concat()
}

fn msg_value(json: &str) -> Vec<u8> {
    [keys::MSG_MAGIC, json.as_bytes()].concat()
}

#[test]
fn bad_records_are_typed_errors_naming_the_key() {
    let data = keys::msg_data_key("q", Lane::Classic, 1, "m");
    let cases: Vec<(Vec<u8>, Vec<u8>, &str)> = vec![
        (keys::queue_meta_key("q"), b"{\"name\":\"q\"}".to_vec(), "magic"),
        (
            keys::queue_meta_key("q"),
            meta_value("{\"name\":5}"),
            "queue meta",
        ),
        (b"!sqs|queue|meta|a".to_vec(), meta_value("{}"), "queue segment"),
        (keys::queue_gen_key("q"), b"x1".to_vec(), "generation counter"),
        (keys::queue_gen_key("q"), b"-1".to_vec(), "generation counter"),
        (keys::queue_gen_key("q"), b"+1".to_vec(), "generation counter"),
        (data.clone(), b"{}".to_vec(), "magic"),
        (data.clone(), msg_value("{\"body\":5}"), "message"),
        (data, msg_value("not json"), "message"),
        (b"!sqs|msg|data|cQ".to_vec(), msg_value("{}"), "not found"),
        (
            b"!sqs|msg|data|p|cQ|\0\0\0\x01".to_vec(),
            msg_value("{}"),
            "partitioned",
        ),
    ];
    for (k, v, what) in cases {
        let err = feed(&mut decoder(false, false), &k, &v).unwrap_err();
        assert!(
            matches!(&err, AdapterError::BadRecord { adapter: "sqs", source, .. } if source.to_string().contains(what)),
            "{err}"
        );
    }
    // Side records are parsed only when they are dumped.
    let trailerless = b"!sqs|msg|vis|cQ";
    assert!(feed(&mut decoder(false, false), trailerless, b"m").is_ok());
    assert!(matches!(
        feed(&mut decoder(false, true), trailerless, b"m"),
        Err(AdapterError::BadRecord { .. })
    ));
    assert!(matches!(
        feed(&mut decoder(false, true), b"!sqs|queue|seq|", b"1"),
        Err(AdapterError::BadRecord { .. })
    ));
    let rec = Record {
        user_key: b"!sqs|x",
        value: b"",
        commit_ts: 0,
        expire_at: 0,
        tag: 200,
        prefix_len: 0,
    };
    assert!(matches!(
        decoder(false, false).handle(&mut MemTree::new(), &mut Warnings::new(), &rec),
        Err(AdapterError::BadRecord { .. })
    ));
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
