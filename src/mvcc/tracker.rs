//! Newest-version resolution over a stream sorted by the full encoded key
//! `user_key ‖ u64be(!commit_ts)` (containers.md §2.2 "Multiple versions of one user key",
//! §6 gotcha 8; DECISIONS.md D1).
//!
//! The suffix is appended without a separator, so the versions of a user key `K` are not
//! always adjacent: keys that extend `K` (`K ‖ b ‖ …`) can sort between them. Two facts make
//! a bounded-memory resolution possible anyway:
//!
//! * every entry that sorts between two entries of `K` has an encoded key starting with `K`
//!   (if `a < e < b` and `a`, `b` share a prefix, so does `e`);
//! * the first entry of `K` in the stream is its newest version (smallest inverted ts).
//!
//! So the tracker keeps the "open" user keys: those already seen that are a prefix of the
//! latest encoded key. They form a chain of prefixes of that key, stored as lengths in
//! ascending order. On each entry, the keys that are no longer a prefix of the new encoded
//! key are closed for good (no later entry can belong to them). If the entry's user key is
//! still open, the entry is an older version; otherwise it is the newest version and the key
//! is opened. Memory is one key buffer plus one `usize` per open key: bounded by the nesting
//! depth of the user keys (at most the encoded key length), not by the number of keys.
//!
//! The tracker also checks the premise: each MVCC encoded key must be strictly greater than
//! the previous one. Raw rows (§2.6) have no suffix and are not passed to the tracker.

use crate::container::MvccEntry;

use super::{show_key, MvccError};

/// What an MVCC entry is in the logical view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The newest version of its user key, and not a tombstone: the key's current value.
    Live,
    /// The newest version of its user key is a tombstone: the key is deleted.
    Deleted,
    /// An older version of a user key already resolved (including older tombstones).
    Older,
}

/// The state machine that classifies MVCC entries in stream order. See the module docs.
#[derive(Debug, Default, Clone)]
pub struct VersionTracker {
    /// The previous MVCC encoded key.
    prev_key: Vec<u8>,
    /// Offset of the previous MVCC entry; `None` before the first one.
    prev_offset: Option<u64>,
    /// Lengths of the open user keys, strictly ascending; each is a prefix of `prev_key`.
    open: Vec<usize>,
    /// The largest `open.len()` seen.
    max_open: usize,
}

impl VersionTracker {
    /// A tracker that has seen no entry.
    pub fn new() -> VersionTracker {
        VersionTracker::default()
    }

    /// Classify the next MVCC entry of the stream.
    ///
    /// Fails if the entry's encoded key is not strictly above the previous one (the stream
    /// is not sorted, or repeats a key), or if the entry's user key is not its encoded key
    /// minus the 8-byte suffix. After an error the tracker is unchanged.
    #[inline]
    pub fn classify(&mut self, entry: &MvccEntry<'_>) -> Result<Version, MvccError> {
        let enc = entry.encoded_key;
        let user_len = enc.len().checked_sub(8).filter(|&n| {
            let user = entry.user_key;
            // The container lends the user key as a slice of the encoded key: no compare.
            (user.as_ptr() == enc.as_ptr() && user.len() == n) || enc.get(..n) == Some(user)
        });
        let Some(user_len) = user_len else {
            return Err(malformed(entry));
        };

        // One pass gives both the order against the previous key and the common prefix. An
        // open key (a prefix of prev_key) is a prefix of `enc` iff it is no longer than the
        // common prefix of the two keys.
        let common = common_prefix_len(&self.prev_key, enc);
        if let Some(prev_offset) = self.prev_offset {
            // Strictly above: `enc` goes on after the common prefix, and the previous key
            // ends there or goes on with a lower byte.
            let above = match (enc.get(common), self.prev_key.get(common)) {
                (Some(a), Some(b)) => a > b,
                (a, _) => a.is_some(),
            };
            if !above {
                return Err(self.not_above(entry, prev_offset));
            }
        }

        while self.open.last().is_some_and(|&len| len > common) {
            self.open.pop();
        }

        let version = match self.open.binary_search(&user_len) {
            Ok(_) => Version::Older,
            Err(pos) => {
                self.open.insert(pos, user_len);
                self.max_open = self.max_open.max(self.open.len());
                if entry.tombstone {
                    Version::Deleted
                } else {
                    Version::Live
                }
            }
        };

        self.prev_key.truncate(common);
        self.prev_key
            .extend_from_slice(enc.get(common..).unwrap_or_default());
        self.prev_offset = Some(entry.offset);
        Ok(version)
    }

    /// The error of an entry whose encoded key is not strictly above the previous one.
    #[cold]
    #[inline(never)]
    fn not_above(&self, entry: &MvccEntry<'_>, prev_offset: u64) -> MvccError {
        let enc = entry.encoded_key;
        if enc == self.prev_key.as_slice() {
            MvccError::DuplicateKey {
                offset: entry.offset,
                prev_offset,
                key: show_key(enc),
            }
        } else {
            MvccError::NotSorted {
                offset: entry.offset,
                prev_offset,
                key: show_key(enc),
                prev: show_key(&self.prev_key),
            }
        }
    }

    /// How many user keys are open now (the nesting depth at the current key).
    pub fn open_keys(&self) -> usize {
        self.open.len()
    }

    /// The largest number of keys that were open at once.
    pub fn max_open_keys(&self) -> usize {
        self.max_open
    }
}

/// The error of an entry whose user key is not its encoded key without the ts suffix.
#[cold]
#[inline(never)]
fn malformed(entry: &MvccEntry<'_>) -> MvccError {
    MvccError::Malformed {
        offset: entry.offset,
        what: format!(
            "user key {} is not the encoded key {} without its 8-byte ts suffix",
            show_key(entry.user_key),
            show_key(entry.encoded_key)
        ),
    }
}

/// Length of the longest common prefix of `a` and `b`, eight bytes at a time (the keys of a
/// stream share long prefixes; this runs once per entry).
#[inline]
fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut at = 0;
    for (x, y) in wa.zip(wb) {
        let diff = u64::from_le_bytes(x.try_into().unwrap_or_default())
            ^ u64::from_le_bytes(y.try_into().unwrap_or_default());
        if diff != 0 {
            // the lowest set bit is in the first differing byte (little-endian load)
            return at + (diff.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + a[at..n].iter().zip(&b[at..n]).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MVCC entry over a caller-owned encoded key.
    fn entry(enc: &[u8], tombstone: bool, offset: u64) -> MvccEntry<'_> {
        let user_len = enc.len().saturating_sub(8);
        MvccEntry {
            encoded_key: enc,
            user_key: &enc[..user_len],
            commit_ts: 0,
            tombstone,
            expire_at: 0,
            body: b"",
            offset,
        }
    }

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn common_prefix_matches_a_byte_walk(
            a in proptest::collection::vec(0u8..4, 0..40),
            b in proptest::collection::vec(0u8..4, 0..40),
        ) {
            let walk = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            proptest::prop_assert_eq!(common_prefix_len(&a, &b), walk);
            proptest::prop_assert_eq!(common_prefix_len(&b, &a), walk);
        }
    }

    #[test]
    fn common_prefix() {
        assert_eq!(common_prefix_len(b"01234567x", b"01234567y"), 8);
        assert_eq!(common_prefix_len(b"0123456789abcdef", b"0123456789abcdeX"), 15);
        assert_eq!(common_prefix_len(b"", b"abc"), 0);
        assert_eq!(common_prefix_len(b"abc", b"abd"), 2);
        assert_eq!(common_prefix_len(b"ab", b"abc"), 2);
        assert_eq!(common_prefix_len(b"abc", b"abc"), 3);
    }

    #[test]
    fn versions_of_one_key_newest_first() {
        // !redis|str|k at ts 0x0001000000000002 then 0x0001000000000001 (containers.md §2.2).
        let newer = h("217265646973 7C 737472 7C 6B FFFEFFFFFFFFFFFD");
        let older = h("217265646973 7C 737472 7C 6B FFFEFFFFFFFFFFFE");
        let mut t = VersionTracker::new();
        assert_eq!(t.classify(&entry(&newer, false, 16)).unwrap(), Version::Live);
        assert_eq!(t.classify(&entry(&older, false, 53)).unwrap(), Version::Older);
        assert_eq!(t.open_keys(), 1);
    }

    #[test]
    fn newest_tombstone_deletes_and_hides_older_versions() {
        let mut t = VersionTracker::new();
        let v2 = h("6B FFFEFFFFFFFFFFFD");
        let v1 = h("6B FFFEFFFFFFFFFFFE");
        assert_eq!(t.classify(&entry(&v2, true, 16)).unwrap(), Version::Deleted);
        assert_eq!(t.classify(&entry(&v1, false, 41)).unwrap(), Version::Older);
    }

    #[test]
    fn older_tombstone_is_an_older_version() {
        let mut t = VersionTracker::new();
        let v2 = h("6B FFFEFFFFFFFFFFFD");
        let v1 = h("6B FFFEFFFFFFFFFFFE");
        assert_eq!(t.classify(&entry(&v2, false, 16)).unwrap(), Version::Live);
        assert_eq!(t.classify(&entry(&v1, true, 41)).unwrap(), Version::Older);
    }

    #[test]
    fn extension_key_between_versions() {
        // K = "k" at !ts = ..05 and ..09; J = K‖00 at !ts = 00000000000007xx lands between.
        let k_new = h("6B 0000000000000005");
        let j = h("6B 00 0000000000000720");
        let k_old = h("6B 0000000000000009");
        assert!(k_new < j && j < k_old);
        let mut t = VersionTracker::new();
        assert_eq!(t.classify(&entry(&k_new, false, 16)).unwrap(), Version::Live);
        assert_eq!(t.classify(&entry(&j, false, 41)).unwrap(), Version::Live);
        assert_eq!(t.open_keys(), 2);
        assert_eq!(t.classify(&entry(&k_old, false, 67)).unwrap(), Version::Older);
        // J = 6B 00 is still a prefix of K's older encoded key, so it stays open.
        assert_eq!(t.open_keys(), 2);
        let next = h("6C 0000000000000001");
        assert_eq!(t.classify(&entry(&next, false, 93)).unwrap(), Version::Live);
        assert_eq!(t.open_keys(), 1);
    }

    #[test]
    fn realistic_hlc_interleaving() {
        // K = "k" at ts 0x0001000000000002 / ..01; J = K ‖ FFFEFFFFFFFFFFFD (8 bytes) sorts
        // right after K's newest version and before its older one.
        let k2 = h("6B FFFEFFFFFFFFFFFD");
        let j = h("6B FFFEFFFFFFFFFFFD FFFEFFFFFFFFFFFE");
        let k1 = h("6B FFFEFFFFFFFFFFFE");
        // L = K‖FE sorts before all of K; M = K‖FF after all of K.
        let l = h("6B FE FFFEFFFFFFFFFFFE");
        let m = h("6B FF FFFEFFFFFFFFFFFE");
        let mut stream = [&l, &k2, &j, &k1, &m];
        stream.sort();
        assert_eq!(stream, [&l, &k2, &j, &k1, &m]);
        let mut t = VersionTracker::new();
        let got: Vec<Version> = stream
            .iter()
            .enumerate()
            .map(|(i, k)| t.classify(&entry(k, false, i as u64)).unwrap())
            .collect();
        use Version::*;
        assert_eq!(got, [Live, Live, Live, Older, Live]);
    }

    #[test]
    fn shorter_key_nested_inside_a_longer_open_key() {
        // "a" is opened after "a\xff\xfe..." is open: the user key is inserted below it.
        let mut t = VersionTracker::new();
        let long = h("61 0000000000000001 0000000000000000"); // user key 61 00..01 (9 bytes)
        let a_new = h("61 0000000000000001"); // user key 61: its encoded key is a prefix
        let a_old = h("61 0000000000000002");
        // Sorted order: a_new < long (prefix) < a_old.
        assert_eq!(t.classify(&entry(&a_new, false, 1)).unwrap(), Version::Live);
        assert_eq!(t.classify(&entry(&long, false, 2)).unwrap(), Version::Live);
        assert_eq!(t.classify(&entry(&a_old, false, 3)).unwrap(), Version::Older);
    }

    #[test]
    fn out_of_order_is_an_error_naming_both_offsets() {
        let mut t = VersionTracker::new();
        let a = h("62 0000000000000001");
        let b = h("61 0000000000000001");
        t.classify(&entry(&a, false, 16)).unwrap();
        let err = t.classify(&entry(&b, false, 41)).unwrap_err();
        match &err {
            MvccError::NotSorted {
                offset,
                prev_offset,
                key,
                prev,
            } => {
                assert_eq!((*offset, *prev_offset), (41, 16));
                assert_eq!(key, "610000000000000001");
                assert_eq!(prev, "620000000000000001");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("offset 41"));
        // The tracker is unchanged: the next sorted entry still works.
        let c = h("63 0000000000000001");
        assert_eq!(t.classify(&entry(&c, false, 66)).unwrap(), Version::Live);
    }

    #[test]
    fn descending_versions_of_one_key_are_an_error() {
        // Older version first, newer second: would otherwise hide the newest version.
        let mut t = VersionTracker::new();
        t.classify(&entry(&h("6B 0000000000000009"), false, 16)).unwrap();
        let err = t
            .classify(&entry(&h("6B 0000000000000005"), false, 41))
            .unwrap_err();
        assert!(matches!(err, MvccError::NotSorted { offset: 41, .. }));
    }

    #[test]
    fn duplicate_encoded_key_is_an_error() {
        let mut t = VersionTracker::new();
        let a = h("61 0000000000000001");
        t.classify(&entry(&a, false, 16)).unwrap();
        let err = t.classify(&entry(&a, false, 41)).unwrap_err();
        assert!(matches!(
            err,
            MvccError::DuplicateKey {
                offset: 41,
                prev_offset: 16,
                ..
            }
        ));
    }

    #[test]
    fn inconsistent_entry_is_malformed() {
        let mut t = VersionTracker::new();
        let short = h("61 00");
        let err = t.classify(&entry(&short, false, 16)).unwrap_err();
        assert!(matches!(err, MvccError::Malformed { offset: 16, .. }));
        let enc = h("61 0000000000000001");
        let bad = MvccEntry {
            user_key: b"b",
            ..entry(&enc, false, 30)
        };
        let err = t.classify(&bad).unwrap_err();
        assert!(matches!(err, MvccError::Malformed { offset: 30, .. }), "{err}");
        // Nothing was recorded: the first good entry is still the first.
        assert_eq!(t.classify(&entry(&enc, false, 40)).unwrap(), Version::Live);
    }

    #[test]
    fn empty_user_key_is_a_prefix_of_everything() {
        let mut t = VersionTracker::new();
        let e_new = h("0000000000000001");
        let x = h("00 0000000000000180"); // user key 00 sorts between empty's versions
        let e_old = h("0000000000000002");
        assert!(e_new < x && x < e_old);
        assert_eq!(t.classify(&entry(&e_new, false, 1)).unwrap(), Version::Live);
        assert_eq!(t.classify(&entry(&x, false, 2)).unwrap(), Version::Live);
        assert_eq!(t.classify(&entry(&e_old, false, 3)).unwrap(), Version::Older);
    }

    #[test]
    fn depth_stays_bounded_over_many_flat_keys() {
        let mut t = VersionTracker::new();
        for i in 0u32..100_000 {
            for ts in [2u64, 1] {
                let mut enc = format!("!redis|str|key{i:08}").into_bytes();
                enc.extend_from_slice(&(!ts).to_be_bytes());
                let want = if ts == 2 { Version::Live } else { Version::Older };
                assert_eq!(t.classify(&entry(&enc, false, u64::from(i))).unwrap(), want);
            }
        }
        assert!(t.max_open_keys() <= 2, "{}", t.max_open_keys());
    }

    #[test]
    fn depth_follows_nesting() {
        // a, aa, aaa, ... each with a newest version whose suffix starts 0x00 and an older
        // one whose suffix starts 0x62 ('b'): a^(n+1) = a^n ‖ 0x61 sorts between the two
        // versions of a^n, so all keys nest and stay open until the older versions come.
        let depth = 50;
        let mut keys = Vec::new();
        for n in 1..=depth {
            for inv_ts in [1u64, 0x6200_0000_0000_0000] {
                let mut enc = vec![b'a'; n];
                enc.extend_from_slice(&inv_ts.to_be_bytes());
                keys.push((enc, inv_ts == 1));
            }
        }
        keys.sort();
        // Newest versions come first, shortest key first; then the older ones, longest first.
        assert!(keys[..depth].iter().all(|(_, newest)| *newest));
        let mut t = VersionTracker::new();
        for (i, (enc, newest)) in keys.iter().enumerate() {
            let want = if *newest { Version::Live } else { Version::Older };
            assert_eq!(t.classify(&entry(enc, false, i as u64)).unwrap(), want);
        }
        assert_eq!(t.max_open_keys(), depth);
    }
}
