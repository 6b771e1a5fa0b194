//! [`MvccView`]: the logical view of an EKVPBBL1 entry stream (DECISIONS.md D1, D3;
//! containers.md §2.2 "Multiple versions of one user key", §2.6, §6 gotchas 7–8).
//!
//! The view is a lending iterator with two ways to step:
//!
//! * [`MvccView::next`] reads one entry from any [`EntrySource`] and returns it with its
//!   place in the logical view ([`MvccItem`]), in stream order. Only [`MvccItem::Live`]
//!   entries carry the state at the snapshot's commit ts; `Deleted` and `Older` entries are
//!   reported so that the caller can count them or show progress, and must otherwise be
//!   ignored:
//!
//!   ```text
//!   while let Some(item) = view.next()? {
//!       match item {
//!           MvccItem::Live(entry) => route(entry),
//!           MvccItem::Raw(row) => count_internal(row),
//!           MvccItem::Deleted(_) | MvccItem::Older(_) => {}
//!       }
//!   }
//!   ```
//!
//! * [`MvccView::next_visible`], when the source also implements [`CurrentEntry`], skips
//!   `Deleted` and `Older` entries itself and yields only `Live` and `Raw` items.
//!
//! Why the first form exists: the entry borrows the source's buffer, and returning that
//! borrow from inside a loop that may go on to read the next entry is rejected by today's
//! borrow checker (the NLL "conditional return" limitation). A skipping loop therefore needs
//! to borrow the entry a second time, on the returning path only, which [`CurrentEntry`]
//! provides.

use crate::container::{MvccEntry, RawEntry, StreamEntry};

use super::tracker::{Version, VersionTracker};
use super::{CurrentEntry, EntrySource, MvccError};

/// One entry of the stream with its place in the logical view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MvccItem<'a> {
    /// The newest version of its user key, not a tombstone: the key's value. Route it.
    Live(MvccEntry<'a>),
    /// The newest version of its user key is this tombstone: the key is deleted. Skip it.
    Deleted(MvccEntry<'a>),
    /// An older version of a key already resolved (a tombstone or not). Skip it.
    Older(MvccEntry<'a>),
    /// A raw non-MVCC operational row (`_meta_*`, `!encryption|writers|…`): internal.
    Raw(RawEntry<'a>),
}

impl MvccItem<'_> {
    /// Offset of the entry in the file.
    pub fn offset(&self) -> u64 {
        match self {
            MvccItem::Live(e) | MvccItem::Deleted(e) | MvccItem::Older(e) => e.offset,
            MvccItem::Raw(r) => r.offset,
        }
    }

    /// Size of the entry on disk (both length prefixes, key and value).
    pub fn encoded_len(&self) -> u64 {
        match *self {
            MvccItem::Live(e) | MvccItem::Deleted(e) | MvccItem::Older(e) => {
                StreamEntry::Mvcc(e).encoded_len()
            }
            MvccItem::Raw(r) => StreamEntry::Raw(r).encoded_len(),
        }
    }

    /// The live MVCC entry, if this is one.
    pub fn live(&self) -> Option<&MvccEntry<'_>> {
        match self {
            MvccItem::Live(e) => Some(e),
            _ => None,
        }
    }
}

/// What the view has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MvccCounters {
    /// Every entry read from the source (MVCC and raw).
    pub entries: u64,
    /// User keys whose newest version is live ([`MvccItem::Live`]).
    pub live_keys: u64,
    /// User keys whose newest version is a tombstone ([`MvccItem::Deleted`]).
    pub tombstoned_keys: u64,
    /// Versions skipped because a newer version of the same key came first
    /// ([`MvccItem::Older`]).
    pub older_versions: u64,
    /// Raw non-MVCC rows ([`MvccItem::Raw`]), counted as internal.
    pub raw_rows: u64,
}

/// The logical view over an [`EntrySource`]. See the module docs.
#[derive(Debug)]
pub struct MvccView<S> {
    source: S,
    tracker: VersionTracker,
    counters: MvccCounters,
}

impl<S: EntrySource> MvccView<S> {
    /// A view over `source`, which must yield entries in stream order.
    pub fn new(source: S) -> MvccView<S> {
        MvccView {
            source,
            tracker: VersionTracker::new(),
            counters: MvccCounters::default(),
        }
    }

    /// The next entry of the stream with its place in the view, or `None` at the end.
    ///
    /// Fails if the source fails, or if an MVCC entry's encoded key is not strictly above
    /// the previous MVCC entry's (a stream that is not sorted could otherwise emit a key
    /// twice).
    #[allow(clippy::should_implement_trait)] // a lending iterator cannot be an Iterator
    #[inline]
    pub fn next(&mut self) -> Result<Option<MvccItem<'_>>, MvccError> {
        let MvccView {
            source,
            tracker,
            counters,
        } = self;
        // A match, not `?`, on the source: the entry is then not copied once per step.
        let m = match source.next_entry() {
            Ok(Some(StreamEntry::Mvcc(m))) => m,
            Ok(Some(StreamEntry::Raw(r))) => {
                counters.raw_rows += 1;
                counters.entries += 1;
                return Ok(Some(MvccItem::Raw(r)));
            }
            Ok(None) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let version = tracker.classify(&m)?;
        counters.entries += 1;
        Ok(Some(match version {
            Version::Live => {
                counters.live_keys += 1;
                MvccItem::Live(m)
            }
            Version::Deleted => {
                counters.tombstoned_keys += 1;
                MvccItem::Deleted(m)
            }
            Version::Older => {
                counters.older_versions += 1;
                MvccItem::Older(m)
            }
        }))
    }

    /// Step once: `None` at the end, else the offset of the entry and whether it is visible
    /// (live or raw).
    fn step(&mut self) -> Result<Option<(u64, bool)>, MvccError> {
        Ok(self.next()?.map(|item| {
            let visible = matches!(item, MvccItem::Live(_) | MvccItem::Raw(_));
            (item.offset(), visible)
        }))
    }

    /// The counters so far.
    pub fn counters(&self) -> MvccCounters {
        self.counters
    }

    /// How many user keys are open now (see [`VersionTracker`]).
    pub fn open_keys(&self) -> usize {
        self.tracker.open_keys()
    }

    /// The largest number of user keys that were open at once: the memory the view needed,
    /// in `usize`s, beyond one key buffer.
    pub fn max_open_keys(&self) -> usize {
        self.tracker.max_open_keys()
    }

    /// The source, for example to ask how many bytes it has read.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Give the source back.
    pub fn into_source(self) -> S {
        self.source
    }
}

impl<S: CurrentEntry> MvccView<S> {
    /// The next visible item ([`MvccItem::Live`] or [`MvccItem::Raw`]), skipping deleted
    /// keys and older versions (still counted), or `None` at the end. Fails as
    /// [`MvccView::next`] does.
    pub fn next_visible(&mut self) -> Result<Option<MvccItem<'_>>, MvccError> {
        loop {
            let Some((offset, visible)) = self.step()? else {
                return Ok(None);
            };
            if visible {
                return match self.source.current_entry() {
                    Some(StreamEntry::Mvcc(m)) if m.offset == offset => Ok(Some(MvccItem::Live(m))),
                    Some(StreamEntry::Raw(r)) if r.offset == offset => Ok(Some(MvccItem::Raw(r))),
                    _ => Err(MvccError::Malformed {
                        offset,
                        what: "the source did not lend its current entry again".into(),
                    }),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::{MemorySource, OwnedEntry};

    fn mvcc(user_key: &[u8], ts: u64, tombstone: bool, body: &[u8]) -> OwnedEntry {
        OwnedEntry::mvcc(user_key, ts, tombstone, body)
    }

    /// Run the view to the end; return (kind letter, user key or raw key) per item.
    fn run(entries: Vec<OwnedEntry>) -> (Vec<(char, Vec<u8>)>, MvccCounters) {
        let mut view = MvccView::new(MemorySource::new(entries));
        let mut out = Vec::new();
        while let Some(item) = view.next().unwrap() {
            out.push(match item {
                MvccItem::Live(e) => ('L', e.user_key.to_vec()),
                MvccItem::Deleted(e) => ('D', e.user_key.to_vec()),
                MvccItem::Older(e) => ('O', e.user_key.to_vec()),
                MvccItem::Raw(r) => ('R', r.key.to_vec()),
            });
        }
        (out, view.counters())
    }

    #[test]
    fn single_version_stream_passes_through_in_order() {
        let entries = vec![
            mvcc(b"!redis|str|a", 0x0001_0000_0000_0001, false, b"1"),
            mvcc(b"!redis|str|b", 0x0001_0000_0000_0001, false, b"2"),
            OwnedEntry::raw(b"_meta_last_commit_ts", &7u64.to_le_bytes()),
        ];
        let (out, c) = run(entries);
        assert_eq!(
            out,
            [
                ('L', b"!redis|str|a".to_vec()),
                ('L', b"!redis|str|b".to_vec()),
                ('R', b"_meta_last_commit_ts".to_vec()),
            ]
        );
        assert_eq!(
            c,
            MvccCounters {
                entries: 3,
                live_keys: 2,
                tombstoned_keys: 0,
                older_versions: 0,
                raw_rows: 1,
            }
        );
    }

    #[test]
    fn live_item_carries_the_newest_body_and_metadata() {
        let mut entries = vec![
            mvcc(b"k", 5, false, b"new"),
            mvcc(b"k", 3, false, b"old"),
            mvcc(b"k\xfe", 4, false, b"ext"),
        ];
        entries.sort_by_key(OwnedEntry::stream_key);
        let mut view = MvccView::new(MemorySource::new(entries));
        let mut lives = Vec::new();
        while let Some(item) = view.next().unwrap() {
            if let Some(e) = item.live() {
                lives.push((e.user_key.to_vec(), e.commit_ts, e.body.to_vec()));
            }
        }
        assert_eq!(
            lives,
            [
                (b"k\xfe".to_vec(), 4, b"ext".to_vec()),
                (b"k".to_vec(), 5, b"new".to_vec()),
            ]
        );
    }

    #[test]
    fn interleaved_versions_with_extension_keys() {
        // K = "k" with realistic HLC ts; K‖FE sorts before K, K‖FF after K; K ‖ (suffix of
        // K's newest) sorts between K's two versions.
        let t2 = 0x0001_0000_0000_0002u64;
        let t1 = 0x0001_0000_0000_0001u64;
        let mut between = b"k".to_vec();
        between.extend_from_slice(&(!t2).to_be_bytes());
        let mut entries = vec![
            mvcc(b"k", t2, false, b"v2"),
            mvcc(b"k", t1, false, b"v1"),
            mvcc(b"k\xfe", t1, false, b"fe"),
            mvcc(b"k\xff", t1, true, b""),
            mvcc(&between, t1, false, b"between"),
        ];
        entries.sort_by_key(OwnedEntry::stream_key);
        let (out, c) = run(entries);
        assert_eq!(
            out,
            [
                ('L', b"k\xfe".to_vec()),
                ('L', b"k".to_vec()),
                ('L', between.clone()),
                ('O', b"k".to_vec()),
                ('D', b"k\xff".to_vec()),
            ]
        );
        assert_eq!((c.live_keys, c.older_versions, c.tombstoned_keys), (3, 1, 1));
    }

    #[test]
    fn tombstoned_key_with_retained_older_version_is_not_resurrected() {
        let mut entries = vec![
            mvcc(b"gone", 9, true, b""),
            mvcc(b"gone", 8, false, b"stale"),
            mvcc(b"gone", 7, false, b"staler"),
        ];
        entries.sort_by_key(OwnedEntry::stream_key);
        let (out, c) = run(entries);
        assert_eq!(out.iter().map(|(k, _)| *k).collect::<String>(), "DOO", "{out:?}");
        assert_eq!(c.live_keys, 0);
        assert_eq!(c.tombstoned_keys, 1);
        assert_eq!(c.older_versions, 2);
    }

    #[test]
    fn raw_rows_do_not_take_part_in_ordering() {
        // A raw row that sorts "wrong" relative to MVCC keys is passed through.
        let entries = vec![
            mvcc(b"b", 1, false, b""),
            OwnedEntry::raw(b"_meta_applied_index", &1u64.to_le_bytes()),
            mvcc(b"c", 1, false, b""),
            OwnedEntry::raw(b"!encryption|writers|\0\0\0\x01|\0\x02", &[0; 12]),
        ];
        let (out, c) = run(entries);
        assert_eq!(out.iter().map(|(k, _)| *k).collect::<String>(), "LRLR", "{out:?}");
        assert_eq!(c.raw_rows, 2);
        assert_eq!(c.entries, 4);
    }

    #[test]
    fn unsorted_stream_fails_at_the_offending_offset() {
        let entries = vec![mvcc(b"b", 1, false, b"x"), mvcc(b"a", 1, false, b"y")];
        let src = MemorySource::new(entries);
        let second = src.offsets()[1];
        let mut view = MvccView::new(src);
        assert!(matches!(view.next().unwrap(), Some(MvccItem::Live(_))));
        let err = view.next().unwrap_err();
        match err {
            MvccError::NotSorted {
                offset, prev_offset, ..
            } => assert_eq!((offset, prev_offset), (second, 16)),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(view.counters().entries, 1);
    }

    #[test]
    fn duplicate_entry_fails() {
        let entries = vec![mvcc(b"a", 1, false, b"x"), mvcc(b"a", 1, false, b"x")];
        let mut view = MvccView::new(MemorySource::new(entries));
        view.next().unwrap();
        assert!(matches!(view.next().unwrap_err(), MvccError::DuplicateKey { .. }));
    }

    #[test]
    fn item_offsets_and_lengths_match_the_source() {
        let entries = vec![
            mvcc(b"!redis|str|k", 0x0001_0000_0000_0001, false, b"v"),
            OwnedEntry::raw(b"_meta_last_commit_ts", &[0; 8]),
        ];
        let mut view = MvccView::new(MemorySource::new(entries));
        let first = view.next().unwrap().unwrap();
        // containers.md §2.2 complete example entry: 16 + 20 + 10 bytes at offset 16.
        assert_eq!((first.offset(), first.encoded_len()), (16, 46));
        let second = view.next().unwrap().unwrap();
        assert_eq!((second.offset(), second.encoded_len()), (62, 16 + 20 + 8));
        assert!(second.live().is_none());
        assert!(view.next().unwrap().is_none());
        assert!(view.next().unwrap().is_none());
        assert_eq!(view.open_keys(), 1);
        assert_eq!(view.max_open_keys(), 1);
        assert_eq!(view.source().offsets().len(), 2);
        let _source: MemorySource = view.into_source();
    }

    #[test]
    fn next_visible_skips_deleted_and_older_entries() {
        let t2 = 0x0001_0000_0000_0002u64;
        let t1 = 0x0001_0000_0000_0001u64;
        let mut entries = vec![
            mvcc(b"k", t2, false, b"v2"),
            mvcc(b"k", t1, false, b"v1"),
            mvcc(b"k\xfe", t1, false, b"fe"),
            mvcc(b"k\xff", t2, true, b""),
            mvcc(b"k\xff", t1, false, b"stale"),
        ];
        entries.sort_by_key(OwnedEntry::stream_key);
        entries.push(OwnedEntry::raw(b"_meta_last_commit_ts", &t2.to_le_bytes()));
        let mut view = MvccView::new(MemorySource::new(entries));
        let mut got = Vec::new();
        while let Some(item) = view.next_visible().unwrap() {
            got.push(match item {
                MvccItem::Live(e) => (e.user_key.to_vec(), e.body.to_vec()),
                MvccItem::Raw(r) => (r.key.to_vec(), r.value.to_vec()),
                other => panic!("not visible: {other:?}"),
            });
        }
        assert_eq!(
            got,
            [
                (b"k\xfe".to_vec(), b"fe".to_vec()),
                (b"k".to_vec(), b"v2".to_vec()),
                (b"_meta_last_commit_ts".to_vec(), t2.to_le_bytes().to_vec()),
            ]
        );
        let c = view.counters();
        assert_eq!((c.entries, c.older_versions, c.tombstoned_keys), (6, 2, 1));
        assert!(view.next_visible().unwrap().is_none());
    }

    #[test]
    fn next_visible_refuses_a_source_that_loses_its_entry() {
        /// Yields entries but never lends them again.
        struct Forgetful(MemorySource);
        impl EntrySource for Forgetful {
            fn next_entry(&mut self) -> Result<Option<StreamEntry<'_>>, crate::container::ContainerError> {
                self.0.next_entry()
            }
        }
        impl CurrentEntry for Forgetful {
            fn current_entry(&self) -> Option<StreamEntry<'_>> {
                None
            }
        }
        let src = Forgetful(MemorySource::new(vec![mvcc(b"a", 1, false, b"")]));
        let mut view = MvccView::new(src);
        let err = view.next_visible().unwrap_err();
        assert!(matches!(err, MvccError::Malformed { offset: 16, .. }), "{err}");
    }

    #[test]
    fn next_visible_passes_order_errors_through() {
        let entries = vec![mvcc(b"b", 1, false, b""), mvcc(b"a", 1, false, b"")];
        let mut view = MvccView::new(MemorySource::new(entries));
        assert!(view.next_visible().unwrap().is_some());
        assert!(matches!(
            view.next_visible().unwrap_err(),
            MvccError::NotSorted { .. }
        ));
    }

    #[test]
    fn view_over_a_borrowed_source() {
        let mut src = MemorySource::new(vec![mvcc(b"a", 1, false, b"")]);
        {
            let mut view = MvccView::new(&mut src);
            assert!(view.next_visible().unwrap().is_some());
        }
        let mut boxed: Box<dyn CurrentEntry> = Box::new(src);
        assert!(boxed.current_entry().is_some());
        let mut view = MvccView::new(&mut boxed);
        assert!(view.next_visible().unwrap().is_none());
        assert!(boxed.next_entry().unwrap().is_none());
    }
}
