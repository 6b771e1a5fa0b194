//! The encoders' walk of a dump tree (s3_tree_pipeline.md §6, §8): `lstat` checks that never
//! follow a link, a directory's data files listed in the sorted order of their stems, and
//! the recovery of a raw key from a file stem (the filename segment decoding, or the
//! `KEYMAP.jsonl` record of a SHA-fallback name).
//!
//! The listing is read one entry at a time and its stems sorted through the external sorter,
//! then handed out in rounds of [`SortedStems::per_round`]: memory does not grow with the
//! number of files in a directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::filename::{decode_segment, is_sha_fallback};
use super::fs::{read_dir_unsorted, EntryKind};
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
    /// directory, or when a file name with the suffix is not UTF-8 (so not an encoded
    /// segment). Entries that are not regular files, or lack the suffix, are skipped.
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
            if e.kind != EntryKind::File {
                continue;
            }
            let Some(name) = e.name.to_str() else {
                if e.name.as_encoded_bytes().ends_with(suffix.as_bytes()) {
                    return Err(DumpError::Segment {
                        segment: e.name.to_string_lossy().into_owned(),
                        what: format!("{}: file name is not valid UTF-8", e.path.display()),
                    });
                }
                continue;
            };
            if let Some(stem) = name.strip_suffix(suffix) {
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
        std::fs::create_dir(dir.join("sub.bin")).unwrap();
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
