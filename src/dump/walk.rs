//! The encoders' walk of a dump tree (s3_tree_pipeline.md §6, §8): `lstat` checks that never
//! follow a link, a directory's data files listed in the sorted order of their stems, and
//! the recovery of a raw key from a file stem (the filename segment decoding, or the
//! `KEYMAP.jsonl` record of a SHA-fallback name).
//!
//! The listing is read one entry at a time and its stems sorted through the external sorter,
//! then handed out in rounds of [`SortedStems::per_round`]: memory does not grow with the
//! number of files in a directory. [`SortedEntries`] does the same for every entry of a
//! directory (name and kind), for the walks that look at each entry themselves.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::filename::{decode_segment, is_sha_fallback};
use super::fs::{data_file_stem, read_dir_unsorted, DirEntry, EntryKind};
use super::DumpError;
use crate::spill::{ExternalSorter, SortedRecords};

/// Memory budget of the sort of one directory's file names.
pub const LISTING_SORT_BUDGET: usize = 8 << 20;

/// Files handed out at a time (a slice of the sorted listing).
pub const FILES_PER_ROUND: usize = 1 << 16;

/// What `lstat` says about a path of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// Nothing there.
    Missing,
    /// A real directory (not a link to one).
    Dir,
    /// Something else, named for messages (`a symlink`, `not a directory`).
    Other(&'static str),
}

/// `lstat` a path of the tree (never follows a link).
pub fn lstat(path: &Path) -> Result<Node, DumpError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Ok(Node::Other("a symlink")),
        Ok(m) if m.is_dir() => Ok(Node::Dir),
        Ok(_) => Ok(Node::Other("not a directory")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Node::Missing),
        Err(e) => Err(DumpError::io(path, e)),
    }
}

/// Recover the raw key of a file stem: a SHA-fallback name through its KEYMAP record, any
/// other name by decoding the segment. `path` names the file in errors.
pub fn resolve_stem(
    path: &Path,
    stem: &str,
    keymap: &HashMap<String, Vec<u8>>,
) -> Result<Vec<u8>, DumpError> {
    if is_sha_fallback(stem) {
        return keymap.get(stem).cloned().ok_or_else(|| DumpError::MissingKeymap {
            path: path.to_path_buf(),
            segment: stem.to_owned(),
        });
    }
    decode_segment(stem)
}

/// The stems of a directory's regular files that end with a suffix, sorted, handed out in
/// rounds.
pub struct SortedStems {
    dir: PathBuf,
    sorted: SortedRecords,
    per_round: usize,
}

impl SortedStems {
    /// List `dir`: `Ok(None)` when it does not exist; an error when it is a symlink or not a
    /// directory. Each entry goes through `dump::fs::data_file_stem` (D12): symlinks,
    /// FIFOs, sockets, devices, directories named with the suffix and non-UTF-8 data file
    /// names are refused naming the path; other files and directories are skipped.
    pub fn list(
        dir: &Path,
        suffix: &str,
        budget: usize,
        scratch: &Path,
    ) -> Result<Option<SortedStems>, DumpError> {
        let Some(entries) = read_dir_unsorted(dir)? else {
            return Ok(None);
        };
        let spill_err = |e| DumpError::io(dir, e);
        let mut stems = ExternalSorter::new(budget, scratch);
        for e in entries {
            let e = e?;
            if let Some(stem) = data_file_stem(&e, suffix)? {
                stems.push(stem.as_bytes(), b"").map_err(spill_err)?;
            }
        }
        Ok(Some(SortedStems {
            dir: dir.to_path_buf(),
            sorted: stems.finish().map_err(spill_err)?,
            per_round: FILES_PER_ROUND,
        }))
    }

    /// Hand out `n` stems at a time (default [`FILES_PER_ROUND`]; at least 1).
    pub fn per_round(mut self, n: usize) -> SortedStems {
        self.per_round = n.max(1);
        self
    }

    /// Fill `round` with the next stems in sorted order; `false` when none is left.
    pub fn next_round(&mut self, round: &mut Vec<String>) -> Result<bool, DumpError> {
        round.clear();
        while round.len() < self.per_round {
            let Some((stem, _)) = self.sorted.next().map_err(|e| DumpError::io(&self.dir, e))? else {
                break;
            };
            // Pushed from a `&str` in `list`.
            round.push(String::from_utf8_lossy(stem).into_owned());
        }
        Ok(!round.is_empty())
    }
}

/// Every entry of a directory (name and kind, never following a link), sorted by name bytes
/// through the external sorter and read back one at a time: the order of
/// `dump::fs::list_dir` without its `Vec` of the whole directory.
pub struct SortedEntries {
    dir: PathBuf,
    sorted: SortedRecords,
}

/// The kind of an entry as one byte of a sorted record.
fn kind_byte(kind: &EntryKind) -> u8 {
    match kind {
        EntryKind::File => b'f',
        EntryKind::Dir => b'd',
        EntryKind::Symlink => b'l',
        EntryKind::Other => b'o',
    }
}

impl SortedEntries {
    /// List `dir`: `Ok(None)` when it does not exist; an error when it is a symlink or not a
    /// directory, or when reading an entry fails (before any entry is handed out).
    pub fn list(dir: &Path, budget: usize, scratch: &Path) -> Result<Option<SortedEntries>, DumpError> {
        let Some(entries) = read_dir_unsorted(dir)? else {
            return Ok(None);
        };
        let spill_err = |e| DumpError::io(dir, e);
        let mut sorter = ExternalSorter::new(budget, scratch);
        for e in entries {
            let e = e?;
            sorter
                .push(e.name.as_encoded_bytes(), &[kind_byte(&e.kind)])
                .map_err(spill_err)?;
        }
        Ok(Some(SortedEntries {
            dir: dir.to_path_buf(),
            sorted: sorter.finish().map_err(spill_err)?,
        }))
    }

    /// The next entry in name order; `None` at the end.
    #[allow(clippy::should_implement_trait)] // fallible: an Iterator would hide the error type
    pub fn next(&mut self) -> Result<Option<DirEntry>, DumpError> {
        let Some((name, kind)) = self.sorted.next().map_err(|e| DumpError::io(&self.dir, e))? else {
            return Ok(None);
        };
        let kind = match kind {
            b"f" => EntryKind::File,
            b"d" => EntryKind::Dir,
            b"l" => EntryKind::Symlink,
            _ => EntryKind::Other,
        };
        let name = std::ffi::OsStr::from_bytes(name).to_os_string();
        Ok(Some(DirEntry {
            path: self.dir.join(&name),
            name,
            kind,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_come_sorted_in_rounds_skipping_other_entries() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("strings");
        std::fs::create_dir(&dir).unwrap();
        // `a%41` sorts before `a.bin` by file name but after `a` by stem.
        let mut want: Vec<String> = (0u32..50).map(|i| format!("k{:03}", i * 7 % 50)).collect();
        want.extend(["a".to_owned(), "a%41".to_owned()]);
        for stem in &want {
            std::fs::write(dir.join(format!("{stem}.bin")), b"").unwrap();
        }
        std::fs::write(dir.join("skipped.txt"), b"").unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        want.sort();
        let mut stems = SortedStems::list(&dir, ".bin", 64, d.path())
            .unwrap()
            .unwrap()
            .per_round(7);
        let (mut all, mut round, mut rounds) = (Vec::new(), Vec::new(), 0);
        while stems.next_round(&mut round).unwrap() {
            assert!(round.len() <= 7);
            all.append(&mut round);
            rounds += 1;
        }
        assert_eq!(all, want);
        assert_eq!(rounds, want.len().div_ceil(7));
        assert!(SortedStems::list(&d.path().join("none"), ".bin", 64, d.path())
            .unwrap()
            .is_none());
    }

    #[test]
    fn sorted_entries_match_list_dir_and_spill_past_a_small_budget() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("objects");
        std::fs::create_dir(&dir).unwrap();
        for i in 0u32..300 {
            std::fs::write(dir.join(format!("o{:03}", i * 7 % 300)), b"").unwrap();
        }
        std::fs::create_dir(dir.join("o150.d")).unwrap();
        std::os::unix::fs::symlink("o001", dir.join("link")).unwrap();
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"\xff")), b"").unwrap();
        let want = crate::dump::fs::list_dir(&dir).unwrap().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        for budget in [0, 256, 1 << 20] {
            let mut sorted = SortedEntries::list(&dir, budget, scratch.path())
                .unwrap()
                .unwrap();
            assert_eq!(sorted.sorted.len(), want.len() as u64);
            let mut got = Vec::new();
            while let Some(e) = sorted.next().unwrap() {
                got.push((e.name, e.path, e.kind));
            }
            let want: Vec<_> = want
                .iter()
                .map(|e| (e.name.clone(), e.path.clone(), e.kind.clone()))
                .collect();
            assert_eq!(got, want, "budget {budget}");
        }
        assert!(SortedEntries::list(&d.path().join("none"), 0, scratch.path())
            .unwrap()
            .is_none());
        assert!(matches!(
            SortedEntries::list(&dir.join("link"), 0, scratch.path()),
            Err(DumpError::Unsafe { .. })
        ));
    }

    #[test]
    fn lstat_never_follows_a_link_and_stems_resolve_through_the_keymap() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(d.path(), d.path().join("link")).unwrap();
        std::fs::write(d.path().join("f"), b"").unwrap();
        assert_eq!(lstat(&d.path().join("link")).unwrap(), Node::Other("a symlink"));
        assert_eq!(
            lstat(&d.path().join("f")).unwrap(),
            Node::Other("not a directory")
        );
        assert_eq!(lstat(d.path()).unwrap(), Node::Dir);
        assert_eq!(lstat(&d.path().join("none")).unwrap(), Node::Missing);
        assert!(matches!(
            SortedStems::list(&d.path().join("link"), ".bin", 64, d.path()),
            Err(DumpError::Unsafe { .. })
        ));

        let mut keymap = HashMap::new();
        let sha = crate::dump::filename::encode_segment(&[b'q'; 300]).name;
        assert!(is_sha_fallback(&sha));
        let p = Path::new("x");
        assert!(matches!(
            resolve_stem(p, &sha, &keymap),
            Err(DumpError::MissingKeymap { .. })
        ));
        keymap.insert(sha.clone(), vec![b'q'; 300]);
        assert_eq!(resolve_stem(p, &sha, &keymap).unwrap(), vec![b'q'; 300]);
        assert_eq!(resolve_stem(p, "a%2Fb", &keymap).unwrap(), b"a/b");
        assert!(matches!(
            resolve_stem(p, "%zz", &keymap),
            Err(DumpError::Segment { .. })
        ));
    }
}
