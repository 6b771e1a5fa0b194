//! The decoder's facts (redis.md §4.1–§4.4): every Redis record becomes one or more
//! `(sort key, value)` facts for the external sorter ([`crate::spill::ExternalSorter`]), so
//! that memory stays bounded whatever the snapshot size.
//!
//! A fact's sort key is
//!
//! ```text
//! esc(k) ‖ 00 00 ‖ section ‖ …
//! ```
//!
//! where `esc` doubles every `00` of the user key `k` as `00 FF`, so the byte order of the
//! sort keys equals the byte order of the user keys and all facts of one `k` are adjacent.
//! Sections, in order:
//!
//! * `00` info: what `k` has (a collection, its meta, a legacy zset blob, a string or HLL
//!   with or without an inline TTL slot). Folded into one [`KeyFacts`] per key.
//! * `01` TTL: one per `!redis|ttl|k` row, value `BE64 ms ‖ BE64 seq` (the row's position in
//!   the stream, for the order of the sidecar lines).
//! * `02` element: `family ‖ order`, where family is the [`CollKind`] rank and order is the
//!   element's sort order within its collection (hash field name, `sortable_i64(seq)` of a
//!   list item, set or zset member, `BE64 ms ‖ BE64 seq` of a stream entry).
//!
//! The sorter is stable, so facts with equal sort keys keep their stream order: "last record
//! wins" is "last of a run of equal keys". Info facts come before TTL facts, so the TTL
//! routing of §4.2 is decided knowing every family `k` has (see [`KeyFacts::ttl_owner`]).
//!
//! At finalize one key is held at a time: its [`KeyFacts`] and one element ([`Pending`]);
//! its collection files are written element by element (`collfile.rs`).

use super::keys::be64;

/// Section bytes of the sort key.
pub(super) const SEC_INFO: u8 = 0;
pub(super) const SEC_TTL: u8 = 1;
pub(super) const SEC_ELEM: u8 = 2;

/// The five collection types, in flush order (redis.md §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum CollKind {
    Hash,
    List,
    Set,
    Zset,
    Stream,
}

impl CollKind {
    pub(super) const FLUSH_ORDER: [CollKind; 5] = [
        CollKind::Hash,
        CollKind::List,
        CollKind::Set,
        CollKind::Zset,
        CollKind::Stream,
    ];

    /// The family byte of element facts, and the index of per-kind arrays.
    pub(super) fn index(self) -> usize {
        match self {
            CollKind::Hash => 0,
            CollKind::List => 1,
            CollKind::Set => 2,
            CollKind::Zset => 3,
            CollKind::Stream => 4,
        }
    }

    pub(super) fn from_index(i: u8) -> Option<CollKind> {
        CollKind::FLUSH_ORDER.get(usize::from(i)).copied()
    }
}

/// Append `esc(k) ‖ 00 00` to `out`.
pub(super) fn push_escaped(out: &mut Vec<u8>, k: &[u8]) {
    for &b in k {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Split a fact's sort key into the escaped user key with its terminator and the rest.
/// `None` when the terminator is missing or an escape is invalid.
pub(super) fn split_key(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut i = 0;
    while let Some(&b) = key.get(i) {
        if b == 0 {
            match key.get(i + 1) {
                Some(0) => return Some((key.get(..i + 2)?, key.get(i + 2..)?)),
                Some(0xFF) => i += 2,
                _ => return None,
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The user key of an escaped prefix returned by [`split_key`].
pub(super) fn unescape(prefix: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let body = prefix.strip_suffix(&[0, 0]).unwrap_or(prefix);
    let mut skip = false;
    for &b in body {
        if skip {
            skip = false;
            continue;
        }
        out.push(b);
        skip = b == 0;
    }
}

/// A collection's meta row, as an info fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct MetaInfo {
    /// Declared length (stream: `length`).
    pub declared: u64,
    /// The inline TTL slot, when the meta has one (it owns the TTL, even when 0).
    pub inline_ttl: Option<u64>,
    /// Stream only.
    pub last_ms: u64,
    pub last_seq: u64,
}

/// What one record tells about its user key (section `00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Info {
    /// An element row of a collection; `wide` for a `!zs|mem|` row (the zset saw a wide row).
    Present {
        kind: CollKind,
        wide: bool,
    },
    Meta {
        kind: CollKind,
        meta: MetaInfo,
    },
    /// A `!redis|zset|` legacy blob.
    ZsetLegacy,
    /// A string (`hll` false) or HLL value; `owned` when it has an inline TTL slot.
    Blob {
        hll: bool,
        owned: bool,
    },
}

const T_PRESENT: u8 = 0;
const T_PRESENT_WIDE: u8 = 1;
const T_META: u8 = 2;
const T_ZSET_LEGACY: u8 = 3;
const T_BLOB: u8 = 4;

impl Info {
    /// The fact value: `tag ‖ payload`.
    pub(super) fn encode(self, out: &mut Vec<u8>) {
        out.clear();
        match self {
            Info::Present { kind, wide } => {
                out.push(if wide { T_PRESENT_WIDE } else { T_PRESENT });
                out.push(kind.index() as u8);
            }
            Info::Meta { kind, meta } => {
                out.push(T_META);
                out.push(kind.index() as u8);
                out.push(u8::from(meta.inline_ttl.is_some()));
                for n in [
                    meta.declared,
                    meta.inline_ttl.unwrap_or(0),
                    meta.last_ms,
                    meta.last_seq,
                ] {
                    out.extend_from_slice(&n.to_be_bytes());
                }
            }
            Info::ZsetLegacy => out.push(T_ZSET_LEGACY),
            Info::Blob { hll, owned } => {
                out.extend_from_slice(&[T_BLOB, u8::from(hll), u8::from(owned)]);
            }
        }
    }

    /// Parse a fact value written by [`Info::encode`].
    pub(super) fn decode(v: &[u8]) -> Option<Info> {
        let kind = || v.get(1).and_then(|&i| CollKind::from_index(i));
        match *v.first()? {
            T_PRESENT | T_PRESENT_WIDE if v.len() == 2 => Some(Info::Present {
                kind: kind()?,
                wide: v.first() == Some(&T_PRESENT_WIDE),
            }),
            T_META if v.len() == 3 + 32 => {
                let n = |i: usize| be64(v, 3 + 8 * i);
                Some(Info::Meta {
                    kind: kind()?,
                    meta: MetaInfo {
                        declared: n(0)?,
                        inline_ttl: match v.get(2)? {
                            0 => None,
                            _ => Some(n(1)?),
                        },
                        last_ms: n(2)?,
                        last_seq: n(3)?,
                    },
                })
            }
            T_ZSET_LEGACY if v.len() == 1 => Some(Info::ZsetLegacy),
            T_BLOB if v.len() == 3 => Some(Info::Blob {
                hll: *v.get(1)? != 0,
                owned: *v.get(2)? != 0,
            }),
            _ => None,
        }
    }
}

/// Per-collection state of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Coll {
    pub meta_seen: bool,
    /// Declared length of the base meta (stream: `length`).
    pub declared: u64,
    pub expire_ms: u64,
    pub has_ttl: bool,
    /// The meta had an inline TTL slot: the scan index is ignored.
    pub inline_owned: bool,
    /// zset: a `!zs|mem|` row was seen; legacy-blob members are dropped.
    pub saw_wide: bool,
    /// stream: meta `last_ms` / `last_seq`.
    pub last_ms: u64,
    pub last_seq: u64,
}

/// Who takes a `!redis|ttl|k` row (redis.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TtlOwner {
    /// A string or HLL (`hll`); `owned` when a value had an inline TTL slot (row ignored).
    Blob {
        hll: bool,
        owned: bool,
    },
    Coll(CollKind),
    /// Nothing of `k` takes it: an orphan.
    Orphan,
}

/// Everything the info facts of one key say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct KeyFacts {
    pub colls: [Option<Coll>; 5],
    pub zset_legacy: bool,
    pub string: bool,
    pub hll: bool,
    /// A string or HLL value of `k` had an inline TTL slot.
    pub blob_owned: bool,
}

impl KeyFacts {
    fn coll(&mut self, kind: CollKind) -> &mut Coll {
        self.colls[kind.index()].get_or_insert_with(Coll::default)
    }

    /// Fold one info fact in (facts arrive in stream order: a later meta wins).
    pub(super) fn apply(&mut self, info: Info) {
        match info {
            Info::Present { kind, wide } => self.coll(kind).saw_wide |= wide,
            Info::Meta { kind, meta } => {
                let c = self.coll(kind);
                c.meta_seen = true;
                c.declared = meta.declared;
                if let Some(ms) = meta.inline_ttl {
                    c.expire_ms = ms;
                    c.has_ttl = ms != 0;
                    c.inline_owned = true;
                }
                if kind == CollKind::Stream {
                    c.last_ms = meta.last_ms;
                    c.last_seq = meta.last_seq;
                }
            }
            Info::ZsetLegacy => {
                self.coll(CollKind::Zset);
                self.zset_legacy = true;
            }
            Info::Blob { hll, owned } => {
                if hll {
                    self.hll = true;
                } else {
                    self.string = true;
                }
                self.blob_owned |= owned;
            }
        }
    }

    pub(super) fn get(&self, kind: CollKind) -> Option<&Coll> {
        self.colls[kind.index()].as_ref()
    }

    /// Who takes a TTL row of this key. The family order of a snapshot is fixed (§2.1):
    /// `!hs|` < `!lst|` < `!redis|hll|` < `!redis|str|` < `!redis|ttl|` < `!redis|zset|` <
    /// `!stream|` < `!st|` < `!zs|`. So when the row arrives, the key's kind is the last of
    /// hash, list, HLL, string that it has; with none of those, the row is parked and claimed
    /// by the first zset-from-blob, stream, set or zset-from-wide-rows created after it; with
    /// none of those either, it is an orphan.
    pub(super) fn ttl_owner(&self) -> TtlOwner {
        let has = |k: CollKind| self.colls[k.index()].is_some();
        if self.string || self.hll {
            TtlOwner::Blob {
                hll: !self.string,
                owned: self.blob_owned,
            }
        } else if has(CollKind::List) {
            TtlOwner::Coll(CollKind::List)
        } else if has(CollKind::Hash) {
            TtlOwner::Coll(CollKind::Hash)
        } else if self.zset_legacy {
            TtlOwner::Coll(CollKind::Zset)
        } else if has(CollKind::Stream) {
            TtlOwner::Coll(CollKind::Stream)
        } else if has(CollKind::Set) {
            TtlOwner::Coll(CollKind::Set)
        } else if has(CollKind::Zset) {
            TtlOwner::Coll(CollKind::Zset)
        } else {
            TtlOwner::Orphan
        }
    }

    /// Apply a TTL row's value to its collection owner: an inline slot wins (§4.3).
    pub(super) fn apply_ttl(&mut self, kind: CollKind, ms: u64) {
        let c = self.coll(kind);
        if !c.inline_owned {
            c.expire_ms = ms;
            c.has_ttl = true;
        }
    }
}

/// An element: `a` name / member, `b` value / item / stream entry proto; `n1`, `n2` list
/// seq, zset score bits, stream ms and seq.
#[derive(Debug, Clone, Copy)]
pub(super) struct Elem<'s> {
    pub a: &'s [u8],
    pub b: &'s [u8],
    pub n1: u64,
    pub n2: u64,
}

/// The one element held back at finalize so that, of equal elements, the last wins
/// (redis.md §4.1): hash fields and zset members by name, list items by seq, set members by
/// bytes (duplicates collapse). Stream entries are all kept. Elements of a collection
/// arrive sorted (the sorter is stable), so a duplicate follows its twin.
#[derive(Debug, Default)]
pub(super) struct Pending {
    a: Vec<u8>,
    b: Vec<u8>,
    n1: u64,
    n2: u64,
    full: bool,
}

impl Pending {
    /// Offer the next element of a `kind` collection; `emit` receives the held one when
    /// the new one is not its duplicate.
    pub(super) fn offer<E>(
        &mut self,
        kind: CollKind,
        e: Elem<'_>,
        emit: impl FnOnce(Elem<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let duplicate = self.full
            && match kind {
                CollKind::Hash | CollKind::Set | CollKind::Zset => self.a == e.a,
                CollKind::List => self.n1 == e.n1,
                CollKind::Stream => false,
            };
        let res = if self.full && !duplicate {
            emit(self.view())
        } else {
            Ok(())
        };
        self.a.clear();
        self.a.extend_from_slice(e.a);
        self.b.clear();
        self.b.extend_from_slice(e.b);
        self.n1 = e.n1;
        self.n2 = e.n2;
        self.full = true;
        res
    }

    /// Emit the held element, if any, and hold nothing.
    pub(super) fn flush<E>(&mut self, emit: impl FnOnce(Elem<'_>) -> Result<(), E>) -> Result<(), E> {
        if !std::mem::take(&mut self.full) {
            return Ok(());
        }
        emit(self.view())
    }

    fn view(&self) -> Elem<'_> {
        Elem {
            a: &self.a,
            b: &self.b,
            n1: self.n1,
            n2: self.n2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn esc(k: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        push_escaped(&mut v, k);
        v
    }

    #[test]
    fn escape_pins_bytes_and_splits_back() {
        assert_eq!(esc(b""), vec![0, 0]);
        assert_eq!(esc(&[0x61, 0x00, 0x62]), vec![0x61, 0x00, 0xFF, 0x62, 0x00, 0x00]);
        let mut key = esc(&[0, 0]);
        key.extend_from_slice(&[SEC_ELEM, 3, 0, 0]);
        let (pre, rest) = split_key(&key).unwrap();
        assert_eq!(pre, &[0, 0xFF, 0, 0xFF, 0, 0][..]);
        assert_eq!(rest, &[SEC_ELEM, 3, 0, 0][..]);
        let mut k = Vec::new();
        unescape(pre, &mut k);
        assert_eq!(k, vec![0, 0]);
        assert_eq!(split_key(&[0x61, 0x00, 0x01]), None);
        assert_eq!(split_key(b"abc"), None);
    }

    proptest! {
        #[test]
        fn escaped_order_is_key_order(a in proptest::collection::vec(prop_oneof![Just(0u8), Just(0xFFu8), any::<u8>()], 0..6),
                                      b in proptest::collection::vec(prop_oneof![Just(0u8), Just(0xFFu8), any::<u8>()], 0..6),
                                      ta in proptest::collection::vec(any::<u8>(), 0..3),
                                      tb in proptest::collection::vec(any::<u8>(), 0..3)) {
            let mut ka = esc(&a);
            ka.extend_from_slice(&ta);
            let mut kb = esc(&b);
            kb.extend_from_slice(&tb);
            if a != b {
                prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            }
            let (pre, rest) = split_key(&ka).unwrap();
            prop_assert_eq!(rest, &ta[..]);
            let mut back = Vec::new();
            unescape(pre, &mut back);
            prop_assert_eq!(back, a);
        }

        #[test]
        fn info_round_trips(kind in 0u8..5, wide: bool, declared: u64, inline: Option<u64>, ms: u64, seq: u64, hll: bool, owned: bool, pick in 0u8..4) {
            let kind = CollKind::from_index(kind).unwrap();
            let info = match pick {
                0 => Info::Present { kind, wide },
                1 => Info::Meta { kind, meta: MetaInfo { declared, inline_ttl: inline, last_ms: ms, last_seq: seq } },
                2 => Info::ZsetLegacy,
                _ => Info::Blob { hll, owned },
            };
            let mut v = Vec::new();
            info.encode(&mut v);
            prop_assert_eq!(Info::decode(&v), Some(info));
        }
    }

    #[test]
    fn info_bytes_pinned_and_garbage_refused() {
        let mut v = Vec::new();
        Info::Present {
            kind: CollKind::Zset,
            wide: true,
        }
        .encode(&mut v);
        assert_eq!(v, vec![1, 3]);
        Info::Blob {
            hll: true,
            owned: false,
        }
        .encode(&mut v);
        assert_eq!(v, vec![4, 1, 0]);
        Info::Meta {
            kind: CollKind::List,
            meta: MetaInfo {
                declared: 2,
                inline_ttl: Some(9),
                last_ms: 0,
                last_seq: 0,
            },
        }
        .encode(&mut v);
        assert_eq!(
            hex::encode(&v),
            "020101000000000000000200000000000000090000000000000000\
             0000000000000000"
        );
        for bad in [&[][..], &[0], &[0, 5], &[2, 0, 0], &[3, 0], &[4, 0], &[9]] {
            assert_eq!(Info::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ttl_owner_follows_family_order() {
        let owner = |infos: &[Info]| {
            let mut f = KeyFacts::default();
            for i in infos {
                f.apply(*i);
            }
            f.ttl_owner()
        };
        let p = |kind| Info::Present { kind, wide: false };
        assert_eq!(owner(&[]), TtlOwner::Orphan);
        // Hash < list < hll < string: the last one present owns it.
        assert_eq!(
            owner(&[p(CollKind::Hash), p(CollKind::List)]),
            TtlOwner::Coll(CollKind::List)
        );
        assert_eq!(
            owner(&[
                p(CollKind::Hash),
                Info::Blob {
                    hll: true,
                    owned: false
                }
            ]),
            TtlOwner::Blob {
                hll: true,
                owned: false
            }
        );
        assert_eq!(
            owner(&[
                Info::Blob {
                    hll: true,
                    owned: true
                },
                Info::Blob {
                    hll: false,
                    owned: false
                },
                p(CollKind::Set)
            ]),
            TtlOwner::Blob {
                hll: false,
                owned: true
            }
        );
        assert_eq!(
            owner(&[p(CollKind::Hash), p(CollKind::Set)]),
            TtlOwner::Coll(CollKind::Hash)
        );
        // Claims: zset-from-blob < stream < set < zset-from-wide.
        assert_eq!(
            owner(&[p(CollKind::Zset), p(CollKind::Set), p(CollKind::Stream)]),
            TtlOwner::Coll(CollKind::Stream)
        );
        assert_eq!(
            owner(&[p(CollKind::Stream), Info::ZsetLegacy]),
            TtlOwner::Coll(CollKind::Zset)
        );
        assert_eq!(
            owner(&[p(CollKind::Zset), p(CollKind::Set)]),
            TtlOwner::Coll(CollKind::Set)
        );
        assert_eq!(owner(&[p(CollKind::Zset)]), TtlOwner::Coll(CollKind::Zset));
    }

    #[test]
    fn inline_meta_owns_ttl_and_later_meta_wins() {
        let mut f = KeyFacts::default();
        let meta = |declared, inline_ttl| Info::Meta {
            kind: CollKind::Stream,
            meta: MetaInfo {
                declared,
                inline_ttl,
                last_ms: declared,
                last_seq: 1,
            },
        };
        f.apply(meta(1, None));
        f.apply_ttl(CollKind::Stream, 5);
        assert_eq!(
            f.get(CollKind::Stream).map(|c| (c.expire_ms, c.has_ttl)),
            Some((5, true))
        );
        f.apply(meta(2, Some(0)));
        f.apply_ttl(CollKind::Stream, 7);
        let c = f.get(CollKind::Stream).copied().unwrap();
        assert_eq!((c.declared, c.last_ms, c.expire_ms, c.has_ttl), (2, 2, 0, false));
        assert!(c.meta_seen && c.inline_owned);
    }

    #[test]
    fn pending_dedup_last_wins_and_streams_keep_all() {
        let run = |kind, elems: &[(&[u8], &[u8], u64)]| {
            let mut p = Pending::default();
            let mut got: Vec<(Vec<u8>, Vec<u8>, u64)> = Vec::new();
            for (a, b, n1) in elems {
                let e = Elem { a, b, n1: *n1, n2: 0 };
                p.offer(kind, e, |x| {
                    got.push((x.a.to_vec(), x.b.to_vec(), x.n1));
                    Ok::<(), ()>(())
                })
                .unwrap();
            }
            p.flush(|x| {
                got.push((x.a.to_vec(), x.b.to_vec(), x.n1));
                Ok::<(), ()>(())
            })
            .unwrap();
            // A second flush emits nothing.
            p.flush(|_| Err(())).unwrap();
            got
        };
        let hash: &[(&[u8], &[u8], u64)] = &[(b"x", b"old", 0), (b"x", b"new", 0), (b"y", b"1", 0)];
        assert_eq!(
            run(CollKind::Hash, hash),
            vec![
                (b"x".to_vec(), b"new".to_vec(), 0),
                (b"y".to_vec(), b"1".to_vec(), 0)
            ]
        );
        let list: &[(&[u8], &[u8], u64)] = &[(b"", b"a", 5), (b"", b"b", 5), (b"", b"c", 6)];
        assert_eq!(
            run(CollKind::List, list),
            vec![(b"".to_vec(), b"b".to_vec(), 5), (b"".to_vec(), b"c".to_vec(), 6)]
        );
        let stream: &[(&[u8], &[u8], u64)] = &[(b"", b"p1", 1), (b"", b"p1b", 1)];
        assert_eq!(run(CollKind::Stream, stream).len(), 2);
        assert!(run(CollKind::Set, &[]).is_empty());
        // An emit error is returned.
        let mut p = Pending::default();
        let e = Elem {
            a: b"a",
            b: b"",
            n1: 0,
            n2: 0,
        };
        p.offer(CollKind::Set, e, |_| Err(1)).unwrap();
        let e2 = Elem { a: b"b", ..e };
        assert_eq!(p.offer(CollKind::Set, e2, |_| Err(1)), Err(1));
    }
}
