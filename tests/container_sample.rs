//! The committed `examples/sample.fsm` (written by `examples/make_snapshot.rs`): a live v2
//! file whose footer verifies, sorted by encoded key, holding every family the decoders
//! need with the layouts of redis.md §2.

use std::collections::BTreeMap;
use std::path::Path;

use ekv_snapshot::container::{HeaderVersion, PayloadFormat, SnapshotFile, StreamEntry};

fn sample() -> SnapshotFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample.fsm");
    SnapshotFile::open(&path).unwrap()
}

struct Version {
    ts: u64,
    tombstone: bool,
    body: Vec<u8>,
}

#[test]
fn sample_is_a_valid_live_file_with_every_family() {
    let mut f = sample();
    let info = f.info().clone();
    let h = info.header.unwrap();
    assert_eq!(h.version, HeaderVersion::V2);
    assert_eq!(h.cutover, 42);
    assert_eq!(h.ceiling_ms, (info.last_commit_ts.unwrap() >> 16) + 1);
    assert_eq!(info.payload, PayloadFormat::Pebble);

    let mut prev: Option<Vec<u8>> = None;
    let mut raw = Vec::new();
    let mut keys: BTreeMap<Vec<u8>, Vec<Version>> = BTreeMap::new();
    while let Some(e) = f.next().unwrap() {
        let encoded = match e {
            StreamEntry::Raw(r) => {
                raw.push(r.key.to_vec());
                r.key.to_vec()
            }
            StreamEntry::Mvcc(m) => {
                assert!(m.commit_ts <= info.last_commit_ts.unwrap());
                keys.entry(m.user_key.to_vec()).or_default().push(Version {
                    ts: m.commit_ts,
                    tombstone: m.tombstone,
                    body: m.body.to_vec(),
                });
                m.encoded_key.to_vec()
            }
        };
        if let Some(p) = &prev {
            assert!(p < &encoded, "sorted by encoded key, no duplicates");
        }
        prev = Some(encoded);
    }
    let report = f.finish().unwrap();
    assert!(report.footer.is_some());
    assert_eq!(f.info().footer_present, Some(true));

    assert_eq!(raw.len(), 5);
    assert!(raw
        .iter()
        .any(|k| k.starts_with(b"!encryption|writers|") && k.len() == 27));
    for m in [
        &b"_meta_applied_index"[..],
        b"_meta_last_commit_ts",
        b"_meta_min_retained_ts",
        b"_meta_pending_min_retained_ts",
    ] {
        assert!(raw.iter().any(|k| k == m), "{m:?}");
    }

    for prefix in [
        "!redis|str|",
        "!redis|hll|",
        "!redis|ttl|",
        "!redis|zset|",
        "!hs|meta|",
        "!hs|fld|",
        "!lst|meta|",
        "!lst|itm|",
        "!st|meta|",
        "!st|mem|",
        "!zs|meta|",
        "!zs|mem|",
        "!zs|scr|",
        "!stream|meta|",
        "!stream|entry|",
        "!ddb|",
        "!s3|",
        "!sqs|",
        "!txn|",
        "!dist|",
    ] {
        assert!(
            keys.keys().any(|k| k.starts_with(prefix.as_bytes())),
            "missing {prefix}"
        );
    }

    let newest = |k: &[u8]| {
        let v = &keys[k];
        v.iter().max_by_key(|v| v.ts).unwrap()
    };
    // Strings: new format with and without TTL, legacy.
    assert_eq!(newest(b"!redis|str|greeting").body, b"\xFF\x01\x00hello world");
    let s = &newest(b"!redis|str|session:42").body;
    assert_eq!(&s[..3], b"\xFF\x01\x01");
    assert!(s.len() >= 11);
    assert_eq!(newest(b"!redis|str|legacy").body, b"old-format-value");
    assert_eq!(newest(b"!redis|ttl|legacy").body.len(), 8);
    // Multi-version, newest first in the stream; the tombstoned key.
    let counter = &keys[&b"!redis|str|counter"[..]];
    assert_eq!(counter.len(), 3);
    assert!(counter.windows(2).all(|w| w[0].ts > w[1].ts));
    assert_eq!(counter[0].body, b"\xFF\x01\x003");
    let deleted = &keys[&b"!redis|str|deleted"[..]];
    assert!(deleted[0].tombstone && !deleted[1].tombstone);
    // Collections.
    let mut hs = b"!hs|meta|".to_vec();
    hs.extend_from_slice(&6u32.to_be_bytes());
    hs.extend_from_slice(b"user:1");
    assert_eq!(newest(&hs).body.len(), 16);
    assert_eq!(&newest(&hs).body[..8], &2u64.to_be_bytes());
    assert_eq!(newest(b"!lst|meta|queue").body.len(), 24);
    let mut item0 = b"!lst|itm|queue".to_vec();
    item0.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(newest(&item0).body, b"first");
    let mut zm = b"!zs|mem|".to_vec();
    zm.extend_from_slice(&5u32.to_be_bytes());
    zm.extend_from_slice(b"boardalice");
    assert_eq!(newest(&zm).body, 100f64.to_bits().to_be_bytes());
    // Legacy zset blob: the spec's {alice:100} example.
    assert_eq!(
        newest(b"!redis|zset|old-board").body,
        hex::decode("00525A010A100A05616C6963651100000000000059 40".replace(' ', "")).unwrap()
    );
    // Stream entries carry the 00 52 58 45 01 magic + RedisStreamEntry.
    let entries: Vec<_> = keys
        .iter()
        .filter(|(k, _)| k.starts_with(b"!stream|entry|"))
        .collect();
    assert_eq!(entries.len(), 2);
    for ((k, v), kind) in entries.into_iter().zip(["login", "logout"]) {
        // Key: prefix + len4 + "events" + BE64 ms + BE64 seq; value: magic + protobuf
        // RedisStreamEntry{id = "<ms>-<seq>", fields = ["type", kind]}.
        let ms = u64::from_be_bytes(k[k.len() - 16..k.len() - 8].try_into().unwrap());
        let id = format!("{ms}-0");
        let mut want = vec![0x00, 0x52, 0x58, 0x45, 0x01, 0x0A, id.len() as u8];
        want.extend_from_slice(id.as_bytes());
        want.extend_from_slice(&[0x12, 4]);
        want.extend_from_slice(b"type");
        want.extend_from_slice(&[0x12, kind.len() as u8]);
        want.extend_from_slice(kind.as_bytes());
        assert_eq!(v[0].body, want);
    }
}
