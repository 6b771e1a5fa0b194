//! Property tests of the mvcc view (DECISIONS.md D1) against a naive in-memory model, on
//! random multi-version streams whose user keys and inverted timestamps are drawn from a tiny
//! alphabet with 0x00, 0xFE and 0xFF, so that versions of one key really interleave with the
//! keys that extend it (containers.md §2.2 "Multiple versions of one user key").

use std::collections::{BTreeMap, HashSet};

use ekv_snapshot::mvcc::{MemorySource, MvccError, MvccItem, MvccView, OwnedEntry};
use proptest::prelude::*;

const ALPHABET: [u8; 5] = [0x00, 0x01, 0x61, 0xFE, 0xFF];

fn byte() -> impl Strategy<Value = u8> {
    prop::sample::select(ALPHABET.to_vec())
}

/// A user key of 0..=4 alphabet bytes.
fn user_key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(byte(), 0..=4)
}

/// A commit ts whose inverted big-endian bytes are alphabet bytes (so suffixes look like keys).
fn commit_ts() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::array::uniform8(byte()).prop_map(|inv| !u64::from_be_bytes(inv)),
        any::<u64>(),
        Just(0x0001_0000_0000_0001u64),
    ]
}

/// Random versions, unique per (user key, ts).
fn versions() -> impl Strategy<Value = Vec<(Vec<u8>, u64, bool)>> {
    prop::collection::vec((user_key(), commit_ts(), any::<bool>()), 0..60).prop_map(|mut v| {
        let mut seen = HashSet::new();
        v.retain(|(k, ts, _)| seen.insert((k.clone(), *ts)));
        v
    })
}

/// What the view must say about each entry, computed the slow way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Live,
    Deleted,
    Older,
    Raw,
}

/// Build the sorted stream (with raw rows spliced in at the given positions) and the
/// expected class of each entry.
fn build(
    versions: &[(Vec<u8>, u64, bool)],
    raws: &[(usize, Vec<u8>)],
) -> (Vec<OwnedEntry>, Vec<(Class, Vec<u8>)>) {
    let mut mvcc: Vec<OwnedEntry> = versions
        .iter()
        .map(|(k, ts, tomb)| OwnedEntry::mvcc(k, *ts, *tomb, &ts.to_le_bytes()))
        .collect();
    mvcc.sort_by_key(OwnedEntry::stream_key);

    // The model: per user key, the newest ts and whether it is a tombstone.
    let mut newest: BTreeMap<Vec<u8>, (u64, bool)> = BTreeMap::new();
    for (k, ts, tomb) in versions {
        let slot = newest.entry(k.clone()).or_insert((*ts, *tomb));
        if *ts > slot.0 {
            *slot = (*ts, *tomb);
        }
    }

    let mut entries = Vec::new();
    let mut expected = Vec::new();
    let mut raws = raws.to_vec();
    raws.sort_by_key(|(pos, _)| *pos);
    let mut raws = raws.into_iter().peekable();
    for (i, e) in mvcc.into_iter().enumerate() {
        while let Some((_, key)) = raws.next_if(|(pos, _)| *pos <= i) {
            expected.push((Class::Raw, key.clone()));
            entries.push(OwnedEntry::raw(&key, b"raw"));
        }
        if let OwnedEntry::Mvcc {
            user_key, commit_ts, ..
        } = &e
        {
            let (ts, tomb) = newest[user_key];
            let class = match (ts == *commit_ts, tomb) {
                (true, false) => Class::Live,
                (true, true) => Class::Deleted,
                (false, _) => Class::Older,
            };
            expected.push((class, user_key.clone()));
        }
        entries.push(e);
    }
    for (_, key) in raws {
        expected.push((Class::Raw, key.clone()));
        entries.push(OwnedEntry::raw(&key, b"raw"));
    }
    (entries, expected)
}

/// One item of the view, owned: class, user key (or raw key), body (or raw value).
type Item = (Class, Vec<u8>, Vec<u8>);

/// Run the view to the end or to its first error.
fn run(entries: Vec<OwnedEntry>) -> (Vec<Item>, Result<(), MvccError>) {
    let mut view = MvccView::new(MemorySource::new(entries));
    let mut out = Vec::new();
    loop {
        match view.next() {
            Ok(None) => return (out, Ok(())),
            Err(e) => return (out, Err(e)),
            Ok(Some(item)) => out.push(match item {
                MvccItem::Live(e) => (Class::Live, e.user_key.to_vec(), e.body.to_vec()),
                MvccItem::Deleted(e) => (Class::Deleted, e.user_key.to_vec(), e.body.to_vec()),
                MvccItem::Older(e) => (Class::Older, e.user_key.to_vec(), e.body.to_vec()),
                MvccItem::Raw(r) => (Class::Raw, r.key.to_vec(), r.value.to_vec()),
            }),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The view classifies every entry as the model does; the live items are exactly the
    /// newest non-tombstone version of each key, in the order of that version in the stream.
    #[test]
    fn view_matches_model(
        versions in versions(),
        raws in prop::collection::vec((0usize..64, prop::collection::vec(byte(), 0..6)), 0..4),
    ) {
        let (entries, expected) = build(&versions, &raws);
        let n = entries.len();
        let mut view = MvccView::new(MemorySource::new(entries.clone()));
        let (out, res) = run(entries);
        prop_assert!(res.is_ok(), "{:?}", res);
        let got: Vec<(Class, Vec<u8>)> = out.iter().map(|(c, k, _)| (*c, k.clone())).collect();
        prop_assert_eq!(&got, &expected);

        // The live set is the model's newest non-tombstone set, once each, with its value.
        let mut newest: BTreeMap<Vec<u8>, (u64, bool)> = BTreeMap::new();
        for (k, ts, tomb) in &versions {
            let slot = newest.entry(k.clone()).or_insert((*ts, *tomb));
            if *ts > slot.0 {
                *slot = (*ts, *tomb);
            }
        }
        let live: BTreeMap<Vec<u8>, Vec<u8>> = out
            .iter()
            .filter(|(c, _, _)| *c == Class::Live)
            .map(|(_, k, body)| (k.clone(), body.clone()))
            .collect();
        let want: BTreeMap<Vec<u8>, Vec<u8>> = newest
            .iter()
            .filter(|(_, (_, tomb))| !tomb)
            .map(|(k, (ts, _))| (k.clone(), ts.to_le_bytes().to_vec()))
            .collect();
        prop_assert_eq!(live.len(), out.iter().filter(|(c, _, _)| *c == Class::Live).count());
        prop_assert_eq!(live, want);

        // next_visible yields exactly the live and raw items of next, in the same order.
        let mut visible = Vec::new();
        while let Some(item) = view.next_visible().unwrap() {
            visible.push(match item {
                MvccItem::Live(e) => (Class::Live, e.user_key.to_vec(), e.body.to_vec()),
                MvccItem::Raw(r) => (Class::Raw, r.key.to_vec(), r.value.to_vec()),
                other => return Err(TestCaseError::fail(format!("not visible: {other:?}"))),
            });
        }
        let want_visible: Vec<Item> = out
            .iter()
            .filter(|(c, _, _)| matches!(c, Class::Live | Class::Raw))
            .cloned()
            .collect();
        prop_assert_eq!(visible, want_visible);

        // Counters add up.
        let c = view.counters();
        prop_assert_eq!(c.entries, n as u64);
        prop_assert_eq!(c.live_keys + c.tombstoned_keys, newest.len() as u64);
        prop_assert_eq!(c.older_versions, (versions.len() - newest.len()) as u64);
        prop_assert_eq!(c.raw_rows, raws.len() as u64);
        // Open keys form a chain of prefixes of one key of at most 4+8 bytes.
        prop_assert!(view.max_open_keys() <= 13);
    }

    /// A shuffled stream either happens to be sorted, or fails at its first descent; before
    /// failing, no user key is reported live or deleted twice.
    #[test]
    fn unsorted_stream_fails_at_first_descent(
        versions in versions(),
        seed in any::<u64>(),
    ) {
        let (mut entries, _) = build(&versions, &[]);
        // Fisher-Yates with a tiny LCG: deterministic per seed.
        let mut s = seed;
        for i in (1..entries.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (s >> 33) as usize % (i + 1);
            entries.swap(i, j);
        }
        let keys: Vec<Vec<u8>> = entries.iter().map(OwnedEntry::stream_key).collect();
        let first_descent = keys.windows(2).position(|w| w[1] <= w[0]).map(|p| p + 1);
        let offsets = MemorySource::new(entries.clone()).offsets();
        let (out, res) = run(entries);
        match first_descent {
            None => prop_assert!(res.is_ok()),
            Some(at) => {
                prop_assert_eq!(out.len(), at);
                let offset = match res {
                    Err(MvccError::NotSorted { offset, .. })
                    | Err(MvccError::DuplicateKey { offset, .. }) => offset,
                    other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
                };
                prop_assert_eq!(offset, offsets[at]);
            }
        }
        let mut seen = HashSet::new();
        for (c, k, _) in &out {
            if matches!(c, Class::Live | Class::Deleted) {
                prop_assert!(seen.insert(k.clone()), "key {:?} resolved twice", k);
            }
        }
    }
}

/// 100k distinct realistic keys with three versions each: the open-key stack stays tiny.
#[test]
fn open_keys_stay_bounded_over_100k_keys() {
    let mut entries = Vec::new();
    for i in 0u32..100_000 {
        let key = format!("!redis|hash|user:{i}");
        for ts in [
            0x0001_0000_0000_0003u64,
            0x0001_0000_0000_0002,
            0x0001_0000_0000_0001,
        ] {
            entries.push(OwnedEntry::mvcc(key.as_bytes(), ts, false, b""));
        }
    }
    entries.sort_by_key(OwnedEntry::stream_key);
    let mut view = MvccView::new(MemorySource::new(entries));
    let mut live = 0u64;
    while let Some(item) = view.next().unwrap() {
        if item.live().is_some() {
            live += 1;
        }
    }
    assert_eq!(live, 100_000);
    assert_eq!(view.counters().older_versions, 200_000);
    // "user:1" is a prefix of "user:10…": nesting is at most the decimal depth.
    assert!(view.max_open_keys() <= 6, "{}", view.max_open_keys());
}
