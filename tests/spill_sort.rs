//! Property tests of the external sorter: for random records and random (often tiny)
//! budgets, the output equals a stable in-memory sort by key.

use ekv_snapshot::spill::{ExternalSorter, MAX_FAN_IN};
use proptest::prelude::*;

type Record = (Vec<u8>, Vec<u8>);

fn sort_with_budget(records: &[Record], budget: usize) -> (Vec<Record>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut sorter = ExternalSorter::new(budget, dir.path());
    for (k, v) in records {
        sorter.push(k, v).unwrap();
    }
    let runs = sorter.spilled_runs();
    let mut sorted = sorter.finish().unwrap();
    let mut out = Vec::with_capacity(records.len());
    while let Some((k, v)) = sorted.next().unwrap() {
        out.push((k.to_vec(), v.to_vec()));
    }
    drop(sorted);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "scratch files left behind"
    );
    (out, runs)
}

fn stable_sort(records: &[Record]) -> Vec<Record> {
    let mut want = records.to_vec();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    want
}

/// Keys over a tiny alphabet (many duplicates and prefixes); values tag insertion order.
fn records() -> impl Strategy<Value = Vec<Record>> {
    prop::collection::vec(
        (
            prop::collection::vec(prop::sample::select(vec![0u8, 1, 0x61, 0xFF]), 0..4),
            prop::collection::vec(any::<u8>(), 0..40),
        ),
        0..400,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (k, mut val))| {
                val.extend_from_slice(&(i as u32).to_le_bytes());
                (k, val)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Tiny budgets force one run per few records (and merge passes past 64 runs); larger
    /// ones give a few runs or none.
    #[test]
    fn output_is_a_stable_sort(
        records in records(),
        budget in prop_oneof![0usize..600, 0usize..100_000],
    ) {
        let (out, _) = sort_with_budget(&records, budget);
        prop_assert_eq!(out, stable_sort(&records));
    }
}

/// 10k records: a budget of a few hundred bytes (hundreds of runs, merged in passes) gives
/// the same output as an unlimited budget.
#[test]
fn tiny_budget_equals_unlimited_on_10k_records() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let records: Vec<Record> = (0..10_000u32)
        .map(|i| {
            let r = next();
            let key_len = (r % 12) as usize;
            let key: Vec<u8> = r.to_be_bytes().iter().cycle().take(key_len).copied().collect();
            let mut value = vec![(r >> 8) as u8; (r >> 16) as usize % 30];
            value.extend_from_slice(&i.to_le_bytes());
            (key, value)
        })
        .collect();
    let (unlimited, runs) = sort_with_budget(&records, usize::MAX);
    assert_eq!(runs, 0);
    let (tiny, runs) = sort_with_budget(&records, 300);
    assert!(runs > MAX_FAN_IN * 4, "only {runs} runs");
    assert_eq!(tiny, unlimited);
    assert_eq!(unlimited, stable_sort(&records));
    // Duplicates come out adjacent, in insertion order.
    let dups = unlimited.windows(2).filter(|w| w[0].0 == w[1].0).count();
    assert!(dups > 0);
}
