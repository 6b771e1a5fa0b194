//! The decoder's in-memory collection state (redis.md §4.1), kept compact and behind one
//! small type so it could later spill to disk.
//!
//! Go keeps every hash, list, set, zset and stream in memory until Finalize, because a
//! collection's meta row (and its TTL row) sorts after its element rows. We do the same, but
//! without one allocation per element: element bytes go into a chunked [`Arena`] and each
//! element is one fixed-size [`Elem`] in a per-type `Vec`. At flush time the elements of a
//! type are sorted once by (owner's user key, element order) and walked in runs.
//!
//! Memory is bounded by: the sum of element bytes (field names and values, items, members,
//! stream entry protos) + 40 bytes per element + (user-key bytes + ~80 bytes) per collection.

use std::cmp::Ordering;
use std::collections::HashMap;

/// Smallest arena chunk; a larger element gets a chunk of its own size.
const CHUNK: usize = 4 << 20;

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

    fn index(self) -> usize {
        match self {
            CollKind::Hash => 0,
            CollKind::List => 1,
            CollKind::Set => 2,
            CollKind::Zset => 3,
            CollKind::Stream => 4,
        }
    }
}

/// Per-collection state (no elements, no key).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Coll {
    pub meta_seen: bool,
    /// Declared length of the base meta (stream: `length`).
    pub declared: u64,
    pub expire_ms: u64,
    pub has_ttl: bool,
    /// The meta had an inline TTL slot: the scan index is ignored from then on.
    pub inline_owned: bool,
    /// zset: a `!zs|mem|` row was seen; legacy-blob members are dropped.
    pub saw_wide: bool,
    /// stream: meta `last_ms` / `last_seq`.
    pub last_ms: u64,
    pub last_seq: u64,
}

/// One element: bytes `a` (name / member) and `b` (value / item / proto) in the arena, and
/// two numbers (list seq; zset score bits; stream ms and seq).
#[derive(Debug, Clone, Copy)]
pub(super) struct Elem {
    owner: u32,
    chunk: u32,
    off: u32,
    a_len: u32,
    b_len: u32,
    /// zset: the member came from a legacy blob.
    pub legacy: bool,
    pub n1: u64,
    pub n2: u64,
}

/// Append-only chunked byte store.
#[derive(Debug, Default)]
struct Arena {
    chunks: Vec<Vec<u8>>,
}

impl Arena {
    /// Store `a ‖ b`; returns (chunk, offset), or `None` when an index would overflow u32.
    fn push(&mut self, a: &[u8], b: &[u8]) -> Option<(u32, u32)> {
        let need = a.len().checked_add(b.len())?;
        let fits = self.chunks.last().is_some_and(|c| c.capacity() - c.len() >= need);
        if !fits {
            self.chunks.push(Vec::with_capacity(need.max(CHUNK)));
        }
        let chunk_idx = u32::try_from(self.chunks.len() - 1).ok()?;
        let chunk = self.chunks.last_mut()?;
        let off = u32::try_from(chunk.len()).ok()?;
        u32::try_from(chunk.len() + need).ok()?;
        chunk.extend_from_slice(a);
        chunk.extend_from_slice(b);
        Some((chunk_idx, off))
    }

    fn slice(&self, chunk: u32, off: u32, len: u32) -> &[u8] {
        let start = off as usize;
        self.chunks
            .get(chunk as usize)
            .and_then(|c| c.get(start..start + len as usize))
            .unwrap_or_default()
    }
}

/// The collections of one type.
#[derive(Debug, Default)]
struct Family {
    index: HashMap<Box<[u8]>, u32>,
    colls: Vec<Coll>,
    elems: Vec<Elem>,
}

/// Why the state refused an element.
#[derive(Debug)]
pub(super) struct Full;

/// All collection state of one database.
#[derive(Debug, Default)]
pub(super) struct CollState {
    arena: Arena,
    families: [Family; 5],
}

/// One collection ready to be written: its key, state and elements (sorted, deduplicated
/// per the type's rule).
pub(super) struct Flushed<'s> {
    pub key: &'s [u8],
    pub coll: Coll,
    pub elems: Vec<ElemView<'s>>,
}

/// An element with its bytes resolved.
#[derive(Debug, Clone, Copy)]
pub(super) struct ElemView<'s> {
    pub a: &'s [u8],
    pub b: &'s [u8],
    pub n1: u64,
    pub n2: u64,
}

impl CollState {
    /// The collection id of `key` in `kind`, if it exists.
    pub(super) fn get(&self, kind: CollKind, key: &[u8]) -> Option<u32> {
        self.families[kind.index()].index.get(key).copied()
    }

    /// The collection of `key` in `kind`, created if needed; `true` when created.
    pub(super) fn get_or_create(&mut self, kind: CollKind, key: &[u8]) -> Result<(u32, bool), Full> {
        let fam = &mut self.families[kind.index()];
        if let Some(&id) = fam.index.get(key) {
            return Ok((id, false));
        }
        let id = u32::try_from(fam.colls.len()).map_err(|_| Full)?;
        fam.colls.push(Coll::default());
        fam.index.insert(key.into(), id);
        Ok((id, true))
    }

    pub(super) fn coll_mut(&mut self, kind: CollKind, id: u32) -> Option<&mut Coll> {
        self.families[kind.index()].colls.get_mut(id as usize)
    }

    /// Add an element to collection `id` of `kind`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        kind: CollKind,
        id: u32,
        a: &[u8],
        b: &[u8],
        n1: u64,
        n2: u64,
        legacy: bool,
    ) -> Result<(), Full> {
        let a_len = u32::try_from(a.len()).map_err(|_| Full)?;
        let b_len = u32::try_from(b.len()).map_err(|_| Full)?;
        let (chunk, off) = self.arena.push(a, b).ok_or(Full)?;
        self.families[kind.index()].elems.push(Elem {
            owner: id,
            chunk,
            off,
            a_len,
            b_len,
            legacy,
            n1,
            n2,
        });
        Ok(())
    }

    /// Whether any collection of `kind` exists.
    pub(super) fn has_any(&self, kind: CollKind) -> bool {
        !self.families[kind.index()].colls.is_empty()
    }

    /// Take the collections of `kind` out of the state, sorted by user key, each with its
    /// elements sorted and deduplicated per the rule of the type (redis.md §4.1, §5.6–§5.10):
    /// hash fields and zset members by name (last record wins), list items by signed seq
    /// (last wins), set members by bytes (duplicates collapse), stream entries by (ms, seq)
    /// (all kept). Zset legacy members are dropped once a wide row was seen.
    ///
    /// Calls `each` for every collection in order; stops at its first error.
    pub(super) fn flush<E>(
        &mut self,
        kind: CollKind,
        mut each: impl FnMut(Flushed<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let fam = std::mem::take(&mut self.families[kind.index()]);
        let mut keys: Vec<(Box<[u8]>, u32)> = fam.index.into_iter().collect();
        keys.sort_unstable_by(|x, y| x.0.cmp(&y.0));
        let mut rank = vec![0u32; fam.colls.len()];
        for (pos, (_, id)) in keys.iter().enumerate() {
            if let Some(r) = rank.get_mut(*id as usize) {
                *r = pos as u32;
            }
        }
        let arena = &self.arena;
        let a_of = |e: &Elem| arena.slice(e.chunk, e.off, e.a_len);
        let b_of = |e: &Elem| arena.slice(e.chunk, e.off.saturating_add(e.a_len), e.b_len);
        let rank_of = |e: &Elem| rank.get(e.owner as usize).copied().unwrap_or(0);
        let by_elem = |x: &Elem, y: &Elem| -> Ordering {
            match kind {
                CollKind::Hash | CollKind::Set | CollKind::Zset => a_of(x).cmp(a_of(y)),
                CollKind::List => (x.n1 as i64).cmp(&(y.n1 as i64)),
                CollKind::Stream => (x.n1, x.n2).cmp(&(y.n1, y.n2)),
            }
        };
        let mut elems = fam.elems;
        // Stable: among equal elements, intake order is kept, so "last wins" = last of a run.
        elems.sort_by(|x, y| rank_of(x).cmp(&rank_of(y)).then_with(|| by_elem(x, y)));

        let mut i = 0;
        for (key, id) in &keys {
            let coll = fam.colls.get(*id as usize).copied().unwrap_or_default();
            let start = i;
            while elems.get(i).is_some_and(|e| e.owner == *id) {
                i += 1;
            }
            let run = elems.get(start..i).unwrap_or_default();
            let mut views: Vec<ElemView<'_>> = Vec::with_capacity(run.len());
            for (j, e) in run.iter().enumerate() {
                if kind == CollKind::Zset && coll.saw_wide && e.legacy {
                    continue;
                }
                let dedup_last = kind != CollKind::Stream;
                if dedup_last {
                    // Skip e when the next kept-candidate compares equal (the later one wins).
                    let next_equal = run[j + 1..]
                        .iter()
                        .find(|n| !(kind == CollKind::Zset && coll.saw_wide && n.legacy))
                        .is_some_and(|n| by_elem(e, n) == Ordering::Equal);
                    if next_equal {
                        continue;
                    }
                }
                views.push(ElemView {
                    a: a_of(e),
                    b: b_of(e),
                    n1: e.n1,
                    n2: e.n2,
                });
            }
            each(Flushed {
                key,
                coll,
                elems: views,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_sorts_dedups_and_groups() {
        let mut s = CollState::default();
        let (b, created) = s.get_or_create(CollKind::Hash, b"b").unwrap();
        assert!(created);
        let (a, _) = s.get_or_create(CollKind::Hash, b"a").unwrap();
        assert_eq!(s.get_or_create(CollKind::Hash, b"b").unwrap(), (b, false));
        s.push(CollKind::Hash, b, b"y", b"1", 0, 0, false).unwrap();
        s.push(CollKind::Hash, a, b"x", b"old", 0, 0, false).unwrap();
        s.push(CollKind::Hash, b, b"x", b"2", 0, 0, false).unwrap();
        s.push(CollKind::Hash, a, b"x", b"new", 0, 0, false).unwrap();
        let mut out = Vec::new();
        s.flush(CollKind::Hash, |f| {
            let e: Vec<_> = f.elems.iter().map(|e| (e.a.to_vec(), e.b.to_vec())).collect();
            out.push((f.key.to_vec(), e));
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(
            out,
            vec![
                (b"a".to_vec(), vec![(b"x".to_vec(), b"new".to_vec())]),
                (
                    b"b".to_vec(),
                    vec![(b"x".to_vec(), b"2".to_vec()), (b"y".to_vec(), b"1".to_vec())]
                ),
            ]
        );
        assert!(!s.has_any(CollKind::Hash));
    }

    #[test]
    fn zset_legacy_dropped_after_wide_and_streams_keep_duplicates() {
        let mut s = CollState::default();
        let (z, _) = s.get_or_create(CollKind::Zset, b"z").unwrap();
        s.push(CollKind::Zset, z, b"m", b"", 1, 0, true).unwrap();
        s.push(CollKind::Zset, z, b"n", b"", 2, 0, true).unwrap();
        s.coll_mut(CollKind::Zset, z).unwrap().saw_wide = true;
        s.push(CollKind::Zset, z, b"m", b"", 3, 0, false).unwrap();
        let mut got = Vec::new();
        s.flush(CollKind::Zset, |f| {
            got = f.elems.iter().map(|e| (e.a.to_vec(), e.n1)).collect();
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(got, vec![(b"m".to_vec(), 3)]);

        let (st, _) = s.get_or_create(CollKind::Stream, b"s").unwrap();
        s.push(CollKind::Stream, st, b"", b"p2", 2, 0, false).unwrap();
        s.push(CollKind::Stream, st, b"", b"p1", 1, 5, false).unwrap();
        s.push(CollKind::Stream, st, b"", b"p1b", 1, 5, false).unwrap();
        let mut got = Vec::new();
        s.flush(CollKind::Stream, |f| {
            got = f.elems.iter().map(|e| e.b.to_vec()).collect();
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(got, vec![b"p1".to_vec(), b"p1b".to_vec(), b"p2".to_vec()]);

        let (l, _) = s.get_or_create(CollKind::List, b"l").unwrap();
        for seq in [1i64, -2, 0, -1] {
            s.push(
                CollKind::List,
                l,
                b"",
                seq.to_string().as_bytes(),
                seq as u64,
                0,
                false,
            )
            .unwrap();
        }
        let mut got = Vec::new();
        s.flush(CollKind::List, |f| {
            got = f.elems.iter().map(|e| e.b.to_vec()).collect();
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(
            got,
            vec![b"-2".to_vec(), b"-1".to_vec(), b"0".to_vec(), b"1".to_vec()]
        );
    }

    #[test]
    fn arena_large_element_gets_own_chunk() {
        let mut a = Arena::default();
        let big = vec![7u8; CHUNK + 10];
        let (c0, o0) = a.push(b"x", b"").unwrap();
        let (c1, o1) = a.push(&big, b"y").unwrap();
        assert_eq!((c0, o0), (0, 0));
        assert_eq!((c1, o1), (1, 0));
        assert_eq!(a.slice(c1, o1 + CHUNK as u32 + 10, 1), b"y");
        assert_eq!(a.slice(9, 0, 1), b"");
    }
}
